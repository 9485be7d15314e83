/* belfry — how RTP packets received on one session are renumbered to be
 * sent on another (a relayed call's two legs).
 *
 * Why: each peer of a relayed call numbers payload types and RFC 8285
 * header extensions as it negotiated them; the legs can differ (the callee
 * answers with numbers of its own).  The map is computed from the two
 * negotiations (jingle-describe.h) and applied to every forwarded packet
 * by the core (relay/rtp-map-apply.h, relay/session-forward.c).  Not module API: modules forward
 * with bf_session_forward() (belfry/session.h).
 *
 * Pure code like the rest of jingle/: no I/O, no state, any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Payload types by codec (name, clock rate, channels) and header extension
 * ids by URI; an entry maps to itself when there is nothing to change. */
typedef struct {
  gboolean identity;       /* nothing to rewrite at all */
  guint8 pt[128];
  guint8 ext[256];         /* one-byte ids use 1..14, two-byte 1..255 */
} BfRtpMap;

G_END_DECLS
