/* belfry — what the negotiated RTCP feedback (XEP-0293) allows: how a
 * keyframe may be asked of a video sender.  Pure code. */
#include "build-config.h"

#include <string.h>

#include "jingle.h"

/* One list of <rtcp-fb/>: PLI (RFC 4585 §6.3.1, "nack pli") or FIR (RFC
 * 5104 §4.3.1, "ccm fir"), PLI first: it is what every WebRTC stack
 * answers, and FIR needs a sequence number per request. */
static BfJingleKeyframeRequest
from_list (const GPtrArray *rtcp_fb)
{
  BfJingleKeyframeRequest best = BF_JINGLE_KEYFRAME_NONE;
  for (guint i = 0; rtcp_fb && i < rtcp_fb->len; i++)
    {
      const BfJingleRtcpFb *fb = g_ptr_array_index (rtcp_fb, i);
      if (fb->type == NULL || fb->subtype == NULL)
        continue;
      if (g_ascii_strcasecmp (fb->type, "nack") == 0 && g_ascii_strcasecmp (fb->subtype, "pli") == 0)
        return BF_JINGLE_KEYFRAME_PLI;
      if (g_ascii_strcasecmp (fb->type, "ccm") == 0 && g_ascii_strcasecmp (fb->subtype, "fir") == 0)
        best = BF_JINGLE_KEYFRAME_FIR;
    }
  return best;
}

BfJingleKeyframeRequest
bf_jingle_keyframe_request (const BfJingleRtpDescription *rtp, const BfJinglePayloadType *pt)
{
  if (rtp == NULL || pt == NULL || rtp->media == NULL || strcmp (rtp->media, "video") != 0)
    return BF_JINGLE_KEYFRAME_NONE;
  /* XEP-0293 §3: feedback on the description applies to every payload
   * type, beside each one's own. */
  BfJingleKeyframeRequest own = from_list (pt->rtcp_fb);
  BfJingleKeyframeRequest all = from_list (rtp->rtcp_fb);
  return own == BF_JINGLE_KEYFRAME_PLI || all == BF_JINGLE_KEYFRAME_PLI ? BF_JINGLE_KEYFRAME_PLI
                                                                         : MAX (own, all);
}
