/* conference — keyframe requests toward one sender's stream, de-duplicated
 * and rate-limited.
 *
 * Why it exists: in an SFU every receiver of a stream may ask for a
 * keyframe (PLI or FIR) at once (a join, a layer switch, loss); forwarding
 * each would make the sender encode a keyframe per receiver.  Requests
 * within an interval become one, at most one is sent per min_interval
 * (e.g. 300 ms) per source stream, and a request still pending (no
 * keyframe seen) is re-sent after a timeout, at most CF_KEYFRAME_RETRIES
 * times; the caller says when a keyframe of the stream was seen.  It also
 * keeps the room's FIR command number for the stream (RFC 5104 §4.3.1.2:
 * new request, new number; a re-send keeps it).
 *
 * Thread rule: one owner thread, the room's worker; plain struct, no locks.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_KEYFRAME_RETRIES 5

typedef struct {
  gint64 min_interval;     /* µs between two requests sent */
  gint64 timeout;          /* µs without a keyframe before a re-send */
  gboolean pending;        /* asked for, no keyframe seen since */
  gboolean unsent;         /* the pending request waits for the rate limit */
  gboolean ever_sent;
  gint64 last_sent;
  guint retries;           /* re-sends of the pending request */
  guint8 fir_seq;          /* the number of the last request sent */
  guint64 asked, sent, merged, resent, given_up;
} CfKeyframeRequests;

void cf_keyframe_requests_init (CfKeyframeRequests *k, gint64 min_interval_us, gint64 timeout_us);

/* A receiver asked for a keyframe (a PLI, or a FIR new per
 * cf_fir_history_is_new) at monotonic µs @now. */
void cf_keyframe_requests_ask (CfKeyframeRequests *k, gint64 now);

/* Whether to send a request to the sender now (call on each tick and
 * after _ask).  TRUE: send one (PLI, or FIR numbered ->fir_seq);
 * @repeat (may be NULL) says it re-sends the last request. */
gboolean cf_keyframe_requests_poll (CfKeyframeRequests *k, gint64 now, gboolean *repeat);

/* A keyframe of the stream was seen: the pending request is answered. */
void cf_keyframe_requests_keyframe (CfKeyframeRequests *k);

G_END_DECLS
