/* belfry media: when to send RFC 7675 consent checks on a selected pair and
 * when consent is lost.
 *
 * Why: two owners of a selected pair run consent freshness: direct I/O on
 * a transport's own socket (direct-io.c) and a transport on its worker's
 * shared port (shared-ice.c).  The schedule (a randomised check every
 * 4-6 s, every third of a shortened expiry; on the worker loop's 100 ms
 * grid so that many calls' checks share a wake-up) is this one.
 *
 * Threading: on its worker; the callbacks run there from the timer. */
#pragma once

#include <glib.h>

#include "ice-consent.h"
#include "worker-loop.h"

G_BEGIN_DECLS

typedef struct _BfConsentClock BfConsentClock;

typedef struct {
  /* A consent request to send on the pair. */
  void (*send) (const guint8 *data, gsize len, gpointer user_data);
  /* Consent expired (terminal: the clock stops). */
  void (*lost) (gpointer user_data);
} BfConsentClockCallbacks;

/* @consent builds the requests (borrowed: it must outlive the clock).
 * @timeout_ms 0: no checks of ours, never lost.  Consent counts as fresh
 * from now. */
BfConsentClock *bf_consent_clock_new (BfMediaLoop *loop, BfIceConsent *consent, guint timeout_ms,
                                      const BfConsentClockCallbacks *callbacks,
                                      gpointer user_data);
void bf_consent_clock_free (BfConsentClock *clock);
/* An answer to one of our requests came (BF_ICE_STUN_CONSENT). */
void bf_consent_clock_answered (BfConsentClock *clock);

G_END_DECLS
