/* Unit tests: which of a session's transports a packet leaves on
 * (relay/packet-route.c), as a session without BUNDLE needs it. */
#include <string.h>
#include <glib.h>

#include "rtp-bytes.h"

#include "packet-route.h"

/* One RTCP packet of @type at @p: @words 32-bit words after the header
 * word, sender SSRC @sender, and @second in the word after it. */
static gsize
rtcp (guint8 *p, guint8 type, guint8 count, guint words, guint32 sender, guint32 second)
{
  memset (p, 0, 4 + 4 * words);
  p[0] = 0x80 | count;
  p[1] = type;
  p[2] = 0;
  p[3] = (guint8) words;
  put32 (p + 4, sender);
  if (words >= 2)
    put32 (p + 8, second);
  return 4 + 4 * words;
}

static void
test_rtp_by_payload_type (void)
{
  BfPacketRoute r;
  bf_packet_route_init (&r);
  bf_packet_route_set_pt (&r, 111, 0);   /* audio transport */
  bf_packet_route_set_pt (&r, 96, 1);    /* video transport */
  guint8 b[12];
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, rtp (b, 111, 1)), ==, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, rtp (b, 96, 2)), ==, 1);
  /* The marker bit is not part of the payload type. */
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, rtp (b, 0x80 | 96, 2)), ==, 1);
  /* Unknown payload type: its SSRC, else the first transport. */
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, rtp (b, 100, 2)), ==, 0);
  bf_packet_route_set_ssrc (&r, 2, 1);
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, rtp (b, 100, 2)), ==, 1);
  /* Too short: the first. */
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, 11), ==, 0);
}

static void
test_rtcp_by_ssrc (void)
{
  BfPacketRoute r;
  bf_packet_route_init (&r);
  guint8 b[256];
  /* Learnt from packets: video SSRC 0xB0 received on transport 1, our
   * own audio SSRC 0xA1 sent on transport 0, video SSRC 0xB1 sent on 1. */
  bf_packet_route_learn (&r, FALSE, b, rtp (b, 96, 0xB0), 1);
  bf_packet_route_learn (&r, FALSE, b, rtp (b, 111, 0xA1), 0);
  bf_packet_route_learn (&r, FALSE, b, rtp (b, 96, 0xB1), 1);

  /* A sender report goes with its sender's stream. */
  gsize n = rtcp (b, 200, 0, 6, 0xB1, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 1);
  n = rtcp (b, 200, 0, 6, 0xA1, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 0);
  /* A PLI about the peer's video, from an SSRC of ours on the audio
   * transport: it follows the stream it is about (media source). */
  n = rtcp (b, 206, 1, 2, 0xA1, 0xB0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 1);
  /* A receiver report: its first report block names the stream. */
  n = rtcp (b, 201, 1, 7, 0xA1, 0xB0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 1);
  /* Compound: an RR with no block from an unknown SSRC, then an SDES
   * about the video sender. */
  gsize first = rtcp (b, 201, 0, 1, 0x999, 0);
  n = first + rtcp (b + first, 202, 1, 2, 0xB1, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 1);
  /* Nothing known: the first transport. */
  n = rtcp (b, 200, 0, 6, 0x777, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 0);
}

static void
test_malformed_rtcp (void)
{
  BfPacketRoute r;
  bf_packet_route_init (&r);
  bf_packet_route_set_ssrc (&r, 0xB0, 2);
  guint8 b[64];
  /* A length word past the end: not read past @len. */
  gsize n = rtcp (b, 206, 1, 2, 0x1, 0xB0);
  b[3] = 200;
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 0);
  /* A receiver report claiming a block it does not carry. */
  n = rtcp (b, 201, 1, 1, 0x1, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, 3), ==, 0);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, NULL, 0), ==, 0);
}

static void
test_ssrc_table_is_bounded (void)
{
  BfPacketRoute r;
  bf_packet_route_init (&r);
  bf_packet_route_set_ssrc (&r, 1, 1);
  bf_packet_route_set_ssrc (&r, 1, 2);   /* moved, not added */
  g_assert_cmpuint (r.n_ssrcs, ==, 1);
  for (guint32 i = 0; i < 10 * BF_PACKET_ROUTE_MAX_SSRCS; i++)
    bf_packet_route_set_ssrc (&r, 1000 + i, i % 3 + 1);
  g_assert_cmpuint (r.n_ssrcs, ==, BF_PACKET_ROUTE_MAX_SSRCS);
  /* The newest are there, the oldest gone (back to the first transport). */
  guint8 b[12];
  guint32 last = 10 * BF_PACKET_ROUTE_MAX_SSRCS - 1;
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, rtp (b, 5, 1000 + last)), ==,
                    last % 3 + 1);
  g_assert_cmpuint (bf_packet_route_lookup (&r, FALSE, b, rtp (b, 5, 1000)), ==, 0);
  /* Indices that do not fit are ignored. */
  bf_packet_route_set_pt (&r, 7, 255);
  bf_packet_route_set_pt (&r, 200, 1);
  g_assert_cmpuint (r.pt[7], ==, 0);
}

/* A FIR names its stream in the FCI (RFC 5104 §4.3.1.1: media source 0):
 * it goes where that stream came from, not to the first transport. */
static void
test_fir_by_fci (void)
{
  BfPacketRoute r;
  bf_packet_route_init (&r);
  bf_packet_route_set_ssrc (&r, 0xbbbb, 1);
  guint8 b[28];
  gsize n = rtcp (b, 206, 4, 4, 0x1234, 0);
  put32 (b + 12, 0xbbbb);
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 1);
  /* The same bytes as a PLI (FMT 1) look at the media source only. */
  b[0] = 0x81;
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, n), ==, 0);
  /* A FIR too short for its FCI is not read past its end. */
  b[0] = 0x84;
  b[3] = 2;
  g_assert_cmpuint (bf_packet_route_lookup (&r, TRUE, b, 12), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/packet-route/rtp-by-payload-type", test_rtp_by_payload_type);
  g_test_add_func ("/packet-route/rtcp-by-ssrc", test_rtcp_by_ssrc);
  g_test_add_func ("/packet-route/malformed-rtcp", test_malformed_rtcp);
  g_test_add_func ("/packet-route/fir-by-fci", test_fir_by_fci);
  g_test_add_func ("/packet-route/ssrc-table-is-bounded", test_ssrc_table_is_bounded);
  return g_test_run ();
}
