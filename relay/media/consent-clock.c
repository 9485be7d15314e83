#define G_LOG_DOMAIN "belfry-media"
/* belfry media: the RFC 7675 consent schedule (see consent-clock.h). */
#include "consent-clock.h"

#define STUN_BUF 1280
#define CONSENT_INTERVAL_MS 5000     /* RFC 7675 §5.1, randomised 0.8..1.2 */
#define CONSENT_RFC_TIMEOUT_MS 30000 /* RFC 7675 §5.1 */
#define CONSENT_RETRY_MS 1000        /* shortened expiry only: see consent_tick */

struct _BfConsentClock {
  BfIceConsent *consent;          /* borrowed */
  guint consent_timeout_ms;       /* 0: no checks of ours */
  BfMediaTimer *consent_timer;    /* on the worker's timer heap */
  gint64 consent_last, consent_next;
  const BfConsentClockCallbacks *callbacks;
  gpointer user_data;
};

static void consent_schedule (BfConsentClock *d);

static void
consent_send (BfConsentClock *d)
{
  guint8 buf[STUN_BUF];
  gsize len = bf_ice_consent_build_request (d->consent, buf, sizeof buf);
  if (len > 0)
    d->callbacks->send (buf, len, d->user_data);
}

/* RFC 7675 §5.1: a check every 5 s (randomised 0.8..1.2), never less than
 * 4 s, against a 30 s expiry: five or more chances.  A shortened expiry
 * ([media] consent-timeout, down to 5 s) keeps three chances by checking
 * every third of it: a check every 5 s against a 5 s expiry would let a
 * healthy leg expire before its first answer. */
static guint
consent_interval_ms (const BfConsentClock *d)
{
  return MIN (CONSENT_INTERVAL_MS, d->consent_timeout_ms / 3);
}

/* Consent deadlines are on the worker loop's grid (bf_media_loop_grid):
 * idle calls cost a relay the wake-ups of their consent traffic more than
 * its STUN work.  1,000 calls (1,980 legs) make ~400 checks and ~400
 * answers a second; with a wake-up each the worker spent ~95 µs of CPU
 * per STUN message (README, the idle row).  On the grid, the checks due
 * in one 100 ms step go out in one wake-up and their answers come back
 * together. */
static gint64
consent_at (gint64 t)
{
  return bf_media_loop_grid (t);
}

/* The next check's time from @now: RFC 7675 §5.1's randomised interval,
 * drawn one grid step short of its top so that rounding up to the grid
 * keeps it inside 0.8..1.2 of the base (4-6 s): still uniformly spread
 * over 20 steps, so the checks of calls set up together do not stay in
 * step (the reason §5.1 randomises). */
static gint64
consent_next_check (const BfConsentClock *d, gint64 now)
{
  guint base = consent_interval_ms (d);
  guint lo = base * 8 / 10, hi = base * 12 / 10;
  const guint step_ms = BF_MEDIA_LOOP_GRID_US / 1000;
  if (hi - lo > 2 * step_ms)
    hi -= step_ms;
  /* GLib's generator is enough for a timer spread that is never sent
   * (tests/unit/check-random.py allows this use by name). */
  return consent_at (now + 1000 * (gint64) g_random_int_range (lo, hi + 1));
}

static void
consent_tick (gpointer user_data)
{
  BfConsentClock *d = user_data;
  gint64 now = g_get_monotonic_time ();
  if (now - d->consent_last >= (gint64) d->consent_timeout_ms * 1000)
    {
      d->callbacks->lost (d->user_data);
      return;
    }
  if (now >= d->consent_next)
    {
      consent_send (d);
      /* With a shortened expiry one lost answer costs a third of it: once
       * an answer is overdue, a new check goes out every second. */
      gboolean overdue = now - d->consent_last > consent_interval_ms (d) * 12 / 10 * (gint64) 1000;
      d->consent_next = overdue && d->consent_timeout_ms < CONSENT_RFC_TIMEOUT_MS
                          ? consent_at (now + 1000 * (gint64) MIN (CONSENT_RETRY_MS,
                                                                   consent_interval_ms (d)))
                          : consent_next_check (d, now);
    }
  consent_schedule (d);
}

/* The expiry is checked on the grid too: at most one step (100 ms) after
 * the timeout, never before it (RFC 7675 §5.1: consent expires 30 s after
 * the last answer, "at least"). */
static void
consent_schedule (BfConsentClock *d)
{
  gint64 expiry = consent_at (d->consent_last + (gint64) d->consent_timeout_ms * 1000);
  bf_media_timer_set (d->consent_timer, MIN (d->consent_next, expiry));
}

BfConsentClock *
bf_consent_clock_new (BfMediaLoop *loop, BfIceConsent *consent, guint timeout_ms,
                      const BfConsentClockCallbacks *callbacks, gpointer user_data)
{
  BfConsentClock *d = g_new0 (BfConsentClock, 1);
  d->consent = consent;
  d->callbacks = callbacks;
  d->user_data = user_data;
  d->consent_timer = bf_media_loop_timer_new (loop, consent_tick, d);
  gint64 now = g_get_monotonic_time ();
  d->consent_last = now;
  d->consent_timeout_ms = timeout_ms;
  if (d->consent_timeout_ms)
    {
      d->consent_next = consent_next_check (d, now);
      consent_schedule (d);
    }
  return d;
}

void
bf_consent_clock_free (BfConsentClock *d)
{
  if (d == NULL)
    return;
  bf_media_timer_free (d->consent_timer);
  g_free (d);
}

void
bf_consent_clock_answered (BfConsentClock *d)
{
  d->consent_last = g_get_monotonic_time ();
}
