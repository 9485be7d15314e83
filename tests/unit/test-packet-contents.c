/* bf_packet_contents_fill (relay/packet-contents.c): the BfPacket a
 * module's media() hook gets, with the content each packet belongs to
 * (RTP by payload type, RTCP by a transport carrying one content) and
 * malformed RTP refused before any module sees it. */
#include <string.h>
#include <glib.h>

#include "packet-contents.h"

#define SEQ_TS_SSRC 0x12, 0x34,  0x00, 0x00, 0x0B, 0xB8,  0xAA, 0xAA, 0x00, 0x01

/* Two sessions' worth: "audio" (PT 111, 0) and "video" (PT 96, 97).
 * @bundled: both on transport 0; else audio on 0, video on 1. */
static BfPacketContents
contents (gboolean bundled)
{
  static char *names[] = { "audio", "video", NULL };
  BfPacketContents pc = { .names = names, .n_names = 2 };
  pc.pt[111] = pc.pt[0] = 1;
  pc.pt[96] = pc.pt[97] = 2;
  if (!bundled)
    {
      pc.transport[0] = 1;
      pc.transport[1] = 2;
    }
  return pc;
}

static void
test_rtp_by_payload_type (void)
{
  BfPacketContents pc = contents (TRUE);
  guint8 opus[] = { 0x80, 111, SEQ_TS_SSRC,  0xFC, 0xFF };
  guint8 vp8[] = { 0x80, 0x80 | 97, SEQ_TS_SSRC,  0x90 };
  guint8 other[] = { 0x80, 100, SEQ_TS_SSRC };
  BfPacket p;
  g_assert_true (bf_packet_contents_fill (&pc, 0, FALSE, opus, sizeof opus, 42, &p));
  g_assert_cmpstr (p.content, ==, "audio");
  g_assert_true (p.data == opus);
  g_assert_cmpuint (p.len, ==, sizeof opus);
  g_assert_false (p.is_rtcp);
  g_assert_cmpint (p.arrival, ==, 42);
  g_assert_cmpuint (p.rtp.payload_type, ==, 111);
  g_assert_cmpuint (p.rtp.ssrc, ==, 0xAAAA0001);
  g_assert_cmpuint (p.rtp.payload_len, ==, 2);
  /* the transport does not matter for RTP */
  g_assert_true (bf_packet_contents_fill (&pc, 5, FALSE, vp8, sizeof vp8, 43, &p));
  g_assert_cmpstr (p.content, ==, "video");
  g_assert_true (p.rtp.marker);
  /* a payload type no content has */
  g_assert_true (bf_packet_contents_fill (&pc, 0, FALSE, other, sizeof other, 44, &p));
  g_assert_null (p.content);
  /* nothing posted yet */
  BfPacketContents none = { 0 };
  g_assert_true (bf_packet_contents_fill (&none, 0, FALSE, opus, sizeof opus, 45, &p));
  g_assert_null (p.content);
}

static void
test_rtcp_by_transport (void)
{
  guint8 rr[] = { 0x80, 201, 0x00, 0x01,  0xAA, 0xAA, 0x00, 0x01 };
  BfPacket p;
  BfPacketContents split = contents (FALSE);
  g_assert_true (bf_packet_contents_fill (&split, 0, TRUE, rr, sizeof rr, 1, &p));
  g_assert_true (p.is_rtcp);
  g_assert_cmpstr (p.content, ==, "audio");
  g_assert_true (bf_packet_contents_fill (&split, 1, TRUE, rr, sizeof rr, 1, &p));
  g_assert_cmpstr (p.content, ==, "video");
  /* the header view stays zero for RTCP */
  g_assert_cmpuint (p.rtp.ssrc, ==, 0);
  g_assert_cmpuint (p.rtp.payload_offset, ==, 0);
  /* a BUNDLE'd transport carries several: not known */
  BfPacketContents bundled = contents (TRUE);
  g_assert_true (bf_packet_contents_fill (&bundled, 0, TRUE, rr, sizeof rr, 1, &p));
  g_assert_null (p.content);
  /* a transport index out of range */
  g_assert_true (bf_packet_contents_fill (&split, 200, TRUE, rr, sizeof rr, 1, &p));
  g_assert_null (p.content);
}

/* Malformed RTP is refused (the core drops and counts it); RTCP is the
 * module's to check (its translators do). */
static void
test_malformed_rtp_refused (void)
{
  BfPacketContents pc = contents (TRUE);
  BfPacket p;
  guint8 short_pkt[] = { 0x80, 111, 0x12, 0x34 };
  guint8 csrc_past[] = { 0x82, 111, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04 };
  guint8 ext_past[] = { 0x90, 111, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,  0x10, 0xAA, 0x00, 0x00 };
  guint8 pad_zero[] = { 0xA0, 111, SEQ_TS_SSRC,  0xFC, 0x00 };
  g_assert_false (bf_packet_contents_fill (&pc, 0, FALSE, short_pkt, sizeof short_pkt, 1, &p));
  g_assert_false (bf_packet_contents_fill (&pc, 0, FALSE, csrc_past, sizeof csrc_past, 1, &p));
  g_assert_false (bf_packet_contents_fill (&pc, 0, FALSE, ext_past, sizeof ext_past, 1, &p));
  g_assert_false (bf_packet_contents_fill (&pc, 0, FALSE, pad_zero, sizeof pad_zero, 1, &p));
  g_assert_true (bf_packet_contents_fill (&pc, 0, TRUE, short_pkt, sizeof short_pkt, 1, &p));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/packet-contents/rtp-by-payload-type", test_rtp_by_payload_type);
  g_test_add_func ("/packet-contents/rtcp-by-transport", test_rtcp_by_transport);
  g_test_add_func ("/packet-contents/malformed-rtp-refused", test_malformed_rtp_refused);
  return g_test_run ();
}
