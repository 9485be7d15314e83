/* conference — keyframe requests toward a sender (keyframe-requests.h). */
#include <string.h>

#include "keyframe-requests.h"

void
cf_keyframe_requests_init (CfKeyframeRequests *k, gint64 min_interval_us, gint64 timeout_us)
{
  memset (k, 0, sizeof *k);
  k->min_interval = min_interval_us;
  k->timeout = MAX (timeout_us, min_interval_us);
}

void
cf_keyframe_requests_ask (CfKeyframeRequests *k, gint64 now)
{
  (void) now;
  k->asked++;
  if (k->pending)
    {
      /* One keyframe answers everyone who asked before it. */
      k->merged++;
      return;
    }
  k->pending = TRUE;
  k->unsent = TRUE;
  k->retries = 0;
}

gboolean
cf_keyframe_requests_poll (CfKeyframeRequests *k, gint64 now, gboolean *repeat)
{
  if (repeat != NULL)
    *repeat = FALSE;
  if (!k->pending)
    return FALSE;
  if (k->unsent)
    {
      if (k->ever_sent && now - k->last_sent < k->min_interval)
        return FALSE;
      k->unsent = FALSE;
      k->ever_sent = TRUE;
      k->last_sent = now;
      k->fir_seq++;
      k->sent++;
      return TRUE;
    }
  if (now - k->last_sent < k->timeout)
    return FALSE;
  if (k->retries == CF_KEYFRAME_RETRIES)
    {
      /* A sender that never answers is not asked forever: the next
       * receiver's request starts anew. */
      k->pending = FALSE;
      k->given_up++;
      return FALSE;
    }
  k->retries++;
  k->last_sent = now;
  k->resent++;
  if (repeat != NULL)
    *repeat = TRUE;
  return TRUE;
}

void
cf_keyframe_requests_keyframe (CfKeyframeRequests *k)
{
  k->pending = FALSE;
  k->unsent = FALSE;
  k->retries = 0;
}
