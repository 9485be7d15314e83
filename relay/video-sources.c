/* belfry — the video streams a session's peer sends us (video-sources.h). */
#include "build-config.h"

#include <string.h>
#include <belfry/packet.h>

#include "video-sources.h"

#define RTCP_RR 201
#define RTCP_PSFB 206
#define PSFB_PLI 1
#define PSFB_FIR 4

void
bf_video_sources_init (BfVideoSources *v, guint32 own_ssrc)
{
  memset (v, 0, sizeof *v);
  v->own_ssrc = own_ssrc;
}

void
bf_video_sources_set_methods (BfVideoSources *v, const guint8 method[128])
{
  memcpy (v->method, method, sizeof v->method);
}

void
bf_video_sources_learn (BfVideoSources *v, const guint8 *rtp, gsize len)
{
  if (len < 12 || (rtp[0] >> 6) != 2)
    return;
  guint8 method = v->method[rtp[1] & 0x7f];
  if (method == BF_JINGLE_KEYFRAME_NONE)
    return;
  guint32 ssrc = bf_read_be32 (rtp + 8);
  for (guint i = 0; i < v->n; i++)
    if (v->ssrc[i] == ssrc)
      {
        v->ssrc_method[i] = method;
        return;
      }
  guint slot = v->n < BF_VIDEO_SOURCES_MAX ? v->n++ : v->next++ % BF_VIDEO_SOURCES_MAX;
  v->ssrc[slot] = ssrc;
  v->ssrc_method[slot] = method;
}

gsize
bf_video_sources_request (BfVideoSources *v, guint index, guint8 *buf)
{
  if (index >= v->n)
    return 0;
  /* RFC 3550 §6.4.2: an empty receiver report heads the compound. */
  buf[0] = 0x80;
  buf[1] = RTCP_RR;
  buf[2] = 0;
  buf[3] = 1;
  bf_write_be32 (buf + 4, v->own_ssrc);
  guint8 *fb = buf + 8;
  if (v->ssrc_method[index] == BF_JINGLE_KEYFRAME_PLI)
    {
      /* RFC 4585 §6.3.1: no FCI; the media source names the stream. */
      fb[0] = 0x80 | PSFB_PLI;
      fb[1] = RTCP_PSFB;
      fb[2] = 0;
      fb[3] = 2;
      bf_write_be32 (fb + 4, v->own_ssrc);
      bf_write_be32 (fb + 8, v->ssrc[index]);
      return 8 + 12;
    }
  /* RFC 5104 §4.3.1.1: the media source is 0; the FCI names the stream,
   * with a sequence number that changes with each new request. */
  fb[0] = 0x80 | PSFB_FIR;
  fb[1] = RTCP_PSFB;
  fb[2] = 0;
  fb[3] = 4;
  bf_write_be32 (fb + 4, v->own_ssrc);
  bf_write_be32 (fb + 8, 0);
  bf_write_be32 (fb + 12, v->ssrc[index]);
  fb[16] = v->fir_seq++;
  fb[17] = fb[18] = fb[19] = 0;
  return 8 + 20;
}
