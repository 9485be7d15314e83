/* Unit tests: how a keyframe may be asked of a video sender, as Jingle
 * negotiated it (jingle/jingle-feedback.c), and the requests a session
 * sends its peer's video streams (relay/video-sources.c). */
#include <string.h>
#include <glib.h>

#include "rtp-bytes.h"

#include "jingle.h"
#include "video-sources.h"

static void
test_negotiated_request (void)
{
  g_autoptr (BfJingleRtpDescription) video = bf_jingle_rtp_description_new ("video");
  BfJinglePayloadType *vp8 = bf_jingle_rtp_add_payload_type (video, 96, "VP8", 90000, 1);
  BfJinglePayloadType *h264 = bf_jingle_rtp_add_payload_type (video, 102, "H264", 90000, 1);
  BfJinglePayloadType *bare = bf_jingle_rtp_add_payload_type (video, 104, "AV1", 90000, 1);
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "goog-remb", NULL);
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "ccm", "fir");
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "nack", NULL);
  bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "nack", "pli");
  bf_jingle_rtcp_fb_add (h264->rtcp_fb, "ccm", "fir");
  bf_jingle_rtcp_fb_add (bare->rtcp_fb, "nack", NULL);   /* NACK is not a keyframe request */
  g_assert_cmpint (bf_jingle_keyframe_request (video, vp8), ==, BF_JINGLE_KEYFRAME_PLI);
  g_assert_cmpint (bf_jingle_keyframe_request (video, h264), ==, BF_JINGLE_KEYFRAME_FIR);
  g_assert_cmpint (bf_jingle_keyframe_request (video, bare), ==, BF_JINGLE_KEYFRAME_NONE);
  /* XEP-0293 §3: feedback on the description is every payload type's. */
  bf_jingle_rtcp_fb_add (video->rtcp_fb, "NACK", "PLI");
  g_assert_cmpint (bf_jingle_keyframe_request (video, bare), ==, BF_JINGLE_KEYFRAME_PLI);
  g_assert_cmpint (bf_jingle_keyframe_request (video, h264), ==, BF_JINGLE_KEYFRAME_PLI);

  /* Audio never has keyframes, whatever it lists. */
  g_autoptr (BfJingleRtpDescription) audio = bf_jingle_rtp_description_new ("audio");
  BfJinglePayloadType *opus = bf_jingle_rtp_add_payload_type (audio, 111, "opus", 48000, 2);
  bf_jingle_rtcp_fb_add (opus->rtcp_fb, "nack", "pli");
  g_assert_cmpint (bf_jingle_keyframe_request (audio, opus), ==, BF_JINGLE_KEYFRAME_NONE);
  g_assert_cmpint (bf_jingle_keyframe_request (NULL, opus), ==, BF_JINGLE_KEYFRAME_NONE);
}

static void
test_learns_video_streams (void)
{
  BfVideoSources v;
  bf_video_sources_init (&v, 0x11111111);
  guint8 method[128] = { 0 };
  method[96] = BF_JINGLE_KEYFRAME_PLI;
  method[102] = BF_JINGLE_KEYFRAME_FIR;
  bf_video_sources_set_methods (&v, method);
  guint8 b[12];
  bf_video_sources_learn (&v, b, rtp (b, 111, 0xa));          /* audio */
  bf_video_sources_learn (&v, b, rtp (b, 97, 0xb));           /* rtx: no method */
  g_assert_cmpuint (v.n, ==, 0);
  bf_video_sources_learn (&v, b, rtp (b, 0x80 | 96, 0xc));    /* marker bit set */
  bf_video_sources_learn (&v, b, rtp (b, 96, 0xc));
  bf_video_sources_learn (&v, b, rtp (b, 102, 0xd));
  g_assert_cmpuint (v.n, ==, 2);
  /* Malformed: short, or not RTP version 2. */
  bf_video_sources_learn (&v, b, 11);
  b[0] = 0x40;
  bf_video_sources_learn (&v, b, 12);
  g_assert_cmpuint (v.n, ==, 2);
  /* Bounded: a peer sending ever new SSRCs only churns the table. */
  for (guint32 s = 100; s < 100 + 5 * BF_VIDEO_SOURCES_MAX; s++)
    bf_video_sources_learn (&v, b, rtp (b, 96, s));
  g_assert_cmpuint (v.n, ==, BF_VIDEO_SOURCES_MAX);
  guint8 req[BF_VIDEO_SOURCES_REQUEST_MAX];
  g_assert_cmpuint (bf_video_sources_request (&v, BF_VIDEO_SOURCES_MAX, req), ==, 0);
}

static void
test_requests (void)
{
  BfVideoSources v;
  bf_video_sources_init (&v, 0x11111111);
  guint8 method[128] = { 0 };
  method[96] = BF_JINGLE_KEYFRAME_PLI;
  method[102] = BF_JINGLE_KEYFRAME_FIR;
  bf_video_sources_set_methods (&v, method);
  guint8 b[12];
  bf_video_sources_learn (&v, b, rtp (b, 96, 0xcafe));
  bf_video_sources_learn (&v, b, rtp (b, 102, 0xbeef));

  guint8 req[BF_VIDEO_SOURCES_REQUEST_MAX];
  gsize n = bf_video_sources_request (&v, 0, req);
  /* An empty RR (RFC 3550 §6.4.2), then a PLI (RFC 4585 §6.3.1). */
  g_assert_cmpuint (n, ==, 20);
  g_assert_cmphex (req[0], ==, 0x80);
  g_assert_cmpuint (req[1], ==, 201);
  g_assert_cmpuint (req[2] << 8 | req[3], ==, 1);
  g_assert_cmphex (get32 (req + 4), ==, 0x11111111);
  g_assert_cmphex (req[8], ==, 0x81);
  g_assert_cmpuint (req[9], ==, 206);
  g_assert_cmpuint (req[10] << 8 | req[11], ==, 2);
  g_assert_cmphex (get32 (req + 12), ==, 0x11111111);
  g_assert_cmphex (get32 (req + 16), ==, 0xcafe);

  /* A FIR (RFC 5104 §4.3.1.1): media source 0, the stream in the FCI,
   * a new sequence number per request. */
  n = bf_video_sources_request (&v, 1, req);
  g_assert_cmpuint (n, ==, 28);
  g_assert_cmphex (req[8], ==, 0x84);
  g_assert_cmpuint (req[9], ==, 206);
  g_assert_cmpuint (req[10] << 8 | req[11], ==, 4);
  g_assert_cmphex (get32 (req + 16), ==, 0);
  g_assert_cmphex (get32 (req + 20), ==, 0xbeef);
  guint8 seq = req[24];
  g_assert_cmphex (req[25] | req[26] | req[27], ==, 0);
  bf_video_sources_request (&v, 1, req);
  g_assert_cmpuint (req[24], ==, (guint8) (seq + 1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/video-sources/negotiated-request", test_negotiated_request);
  g_test_add_func ("/video-sources/learns-video-streams", test_learns_video_streams);
  g_test_add_func ("/video-sources/requests", test_requests);
  return g_test_run ();
}
