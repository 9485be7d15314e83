/* conference — last-N: which senders' video a room forwards to its
 * XEP-0521 receivers ([conference] last-n), and which senders' audio.
 *
 * Why it exists: a room of many senders cannot send every receiver every
 * sender's video (each is a stream to decode and a share of the
 * receiver's bandwidth).  The N senders that spoke most recently (the
 * mixer's talker selection says who speaks, each tick) keep their video
 * forwarded; the others' video streams are paused (nothing sent, the
 * session kept) until they speak again.  Ties (senders that never spoke,
 * or that stopped at the same tick) go to the one that joined first, so
 * the choice is stable while nobody speaks.
 *
 * Audio needs no ranking: the mixer's current talkers (at most
 * max-talkers) are the ones a receiver hears; the room forwards the audio
 * of those only, others' audio is not sent (the receiver's jitter buffer
 * takes the gap as DTX silence).
 *
 * Pure code, no sessions; thread rule: one owner thread, the room's
 * worker.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_LAST_N_MIN 1
#define CF_LAST_N_MAX 50
#define CF_LAST_N_DEFAULT 8

typedef struct {
  gint64 last_spoke;       /* monotonic µs of the last tick it was a talker; 0: never */
  guint64 order;           /* its order of joining (lower: earlier) */
  gboolean selected;       /* out: in the last N */
} CfLastNEntry;

/* Marks the @n (at most) entries of @e[0..@len) that spoke most recently
 * as selected, the others not; ties by order of joining. */
void cf_last_n_select (CfLastNEntry *e, guint len, guint n);

G_END_DECLS
