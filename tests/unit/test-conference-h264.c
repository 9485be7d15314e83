/* H.264 RTP packets as the SFU reads them (modules/conference/h264-packet.c),
 * against RFC 6184 §5.6-5.8 (mode 1): single NAL units of each kind that
 * matters, STAP-A with SPS+PPS (libwebrtc's way) and with an IDR, FU-A
 * start / middle / end fragments of an IDR and of a delta slice, and the
 * malformed: truncation at every byte, empty or overrunning STAP-A units,
 * nested aggregation, S and E together, the interleaved mode's types.
 * And the frame size of an SPS (h264-sps.c) against x264's SPSs of each
 * profile and coding that matters, in packets as the SFU reads them. */
#include <string.h>
#include <glib.h>

#include "h264-packet.h"
#include "h264-sps.h"
#include "sfu-stream.h"

#define BYTES(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })

static void
test_single (void)
{
  CfH264Packet h;

  /* SPS (0x67: NRI 3, type 7): starts a keyframe. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x67, 0x42, 0xe0, 0x1f), &h));
  g_assert_cmpuint (h.type, ==, 7);
  g_assert_cmpuint (h.nal_type, ==, 7);
  g_assert_cmpuint (h.n_units, ==, 1);
  g_assert_true (h.has_sps && !h.has_pps && !h.idr_start && h.keyframe);
  /* PPS alone: not the start (the SPS is). */
  g_assert_true (cf_h264_packet_parse (BYTES (0x68, 0xce, 0x3c, 0x80), &h));
  g_assert_true (h.has_pps && !h.keyframe);
  /* An IDR slice whole. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x65, 0x88, 0x84), &h));
  g_assert_true (h.idr_start && h.keyframe);
  /* A delta slice (1), SEI (6): not keyframes. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x41, 0x9a, 0x02), &h));
  g_assert_false (h.keyframe);
  g_assert_true (cf_h264_packet_parse (BYTES (0x06, 0x05), &h));
  g_assert_false (h.keyframe);
  /* One byte (the header alone) is a NAL unit still. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x09), &h));
  g_assert_cmpuint (h.nal_type, ==, 9);
  /* The forbidden bit does not matter here. */
  g_assert_true (cf_h264_packet_parse (BYTES (0xe5, 0x00), &h));
  g_assert_true (h.keyframe);
  g_assert_false (cf_h264_packet_parse (NULL, 3, &h));
  g_assert_false (cf_h264_packet_parse ((const guint8 *) "", 0, &h));
}

static void
test_stap_a (void)
{
  CfH264Packet h;
  /* STAP-A (0x78) of SPS (4 bytes) and PPS (2 bytes). */
  const guint8 sps_pps[] = { 0x78, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f,
                             0x00, 0x02, 0x68, 0xce };

  g_assert_true (cf_h264_packet_parse (sps_pps, sizeof sps_pps, &h));
  g_assert_cmpuint (h.type, ==, 24);
  g_assert_cmpuint (h.nal_type, ==, 7);
  g_assert_cmpuint (h.n_units, ==, 2);
  g_assert_true (h.has_sps && h.has_pps && h.keyframe && !h.idr_start);
  /* Every proper prefix cuts a unit or a size, but the one that ends with
   * the SPS: a STAP-A of that one unit. */
  for (gsize n = 0; n < sizeof sps_pps; n++)
    g_assert_cmpint (cf_h264_packet_parse (sps_pps, n, &h), ==, n == 7);
  g_assert_true (cf_h264_packet_parse (sps_pps, 7, &h));
  g_assert_cmpuint (h.n_units, ==, 1);

  /* SEI then an IDR. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x01, 0x06, 0x00, 0x02, 0x65, 0x88),
                                       &h));
  g_assert_true (h.idr_start && h.keyframe);
  g_assert_cmpuint (h.nal_type, ==, 6);
  /* Two delta slices: not a keyframe. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x01, 0x41, 0x00, 0x01, 0x41), &h));
  g_assert_false (h.keyframe);

  /* A zero size, a size past the end, a nested STAP-A or FU-A, type 0. */
  g_assert_false (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x00, 0x67), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x05, 0x67, 0x42), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x18, 0xff, 0xff, 0x67, 0x42), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x01, 0x18), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x02, 0x1c, 0x85), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x01, 0x00), &h));
  /* A dangling size byte after a good unit. */
  g_assert_false (cf_h264_packet_parse (BYTES (0x18, 0x00, 0x01, 0x67, 0x00), &h));
}

static void
test_fu_a (void)
{
  CfH264Packet h;

  /* FU indicator 0x7c (NRI 3, 28), FU header S + type 5: an IDR starts. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x7c, 0x85, 0x88, 0x84), &h));
  g_assert_cmpuint (h.type, ==, 28);
  g_assert_cmpuint (h.nal_type, ==, 5);
  g_assert_cmpuint (h.n_units, ==, 0);
  g_assert_true (h.fu_start && !h.fu_end && h.idr_start && h.keyframe);
  /* Its middle and end: not the start. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x7c, 0x05, 0x11), &h));
  g_assert_false (h.fu_start || h.fu_end || h.keyframe);
  g_assert_true (cf_h264_packet_parse (BYTES (0x7c, 0x45, 0x11), &h));
  g_assert_true (h.fu_end && !h.keyframe);
  /* A delta slice's start. */
  g_assert_true (cf_h264_packet_parse (BYTES (0x5c, 0x81, 0x9a), &h));
  g_assert_true (h.fu_start && !h.keyframe);
  /* Too short (no fragment byte), S and E together, a fragment of an
   * aggregation or of type 0. */
  g_assert_false (cf_h264_packet_parse (BYTES (0x7c, 0x85), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x7c), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x7c, 0xc5, 0x88), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x7c, 0x98, 0x88), &h));
  g_assert_false (cf_h264_packet_parse (BYTES (0x7c, 0x80, 0x88), &h));
}

/* x264's SPSs (gst-launch-1.0 videotestsrc ! x264enc, the profile and
 * size below), with their emulation prevention bytes (00 00 03). */
static const struct {
  const char *what, *hex;
  guint width, height;
} x264_sps[] = {
  { "constrained baseline 240x136", "6742c015d903c4fe5c05a830303528000003000800000301e478b17240",
    240, 136 },
  { "constrained baseline 640x360 (cropped from 640x368)",
    "6742c01ed900a02ff97016a0c0c0d4a0000003002000000791e2c5c9", 640, 360 },
  { "high 1280x720", "6764001facd9405005bb016a02020280000003008000001e478c18cb", 1280, 720 },
  { "high 4:4:4 320x180 (cropped, crop unit 1)",
    "67f4000d919b282833f1b80b50606064000003000400000300f23c50a658", 320, 180 },
  { "high, interlaced 720x480 (field macroblock pairs)",
    "6764001eacd940b43db016a0c0c0d4a0000003002000000791e2c5b2c0", 720, 480 },
};

static gsize
unhex (const char *hex, guint8 *out, gsize max)
{
  gsize n = strlen (hex) / 2;
  g_assert_cmpuint (n, <=, max);
  for (gsize i = 0; i < n; i++)
    out[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
  return n;
}

static void
test_sps_size (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (x264_sps); i++)
    {
      guint8 nal[64];
      gsize n = unhex (x264_sps[i].hex, nal, sizeof nal);
      guint w = 0, h = 0;
      g_test_message ("%s", x264_sps[i].what);
      g_assert_true (cf_h264_sps_size (nal, n, &w, &h));
      g_assert_cmpuint (w, ==, x264_sps[i].width);
      g_assert_cmpuint (h, ==, x264_sps[i].height);
      /* Cut anywhere before the cropping fields: refused, outputs kept. */
      for (gsize cut = 0; cut < 8; cut++)
        {
          guint w2 = 7, h2 = 7;
          g_assert_false (cf_h264_sps_size (nal, cut, &w2, &h2));
          g_assert_cmpuint (w2, ==, 7);
          g_assert_cmpuint (h2, ==, 7);
        }
    }
}

static void
test_sps_refused (void)
{
  guint8 nal[64];
  gsize n = unhex (x264_sps[2].hex, nal, sizeof nal);
  guint w = 7, h = 7;

  /* Not an SPS (a PPS header), the forbidden bit, nothing after the header. */
  nal[0] = 0x68;
  g_assert_false (cf_h264_sps_size (nal, n, &w, &h));
  nal[0] = 0xe7;
  g_assert_false (cf_h264_sps_size (nal, n, &w, &h));
  nal[0] = 0x67;
  g_assert_false (cf_h264_sps_size (nal, 1, &w, &h));
  g_assert_false (cf_h264_sps_size (NULL, 0, &w, &h));
  /* An Exp-Golomb code of 32 and more leading zeros: refused, not read
   * past (seq_parameter_set_id starts at byte 4). */
  {
    guint8 zeros[16] = { 0x67, 0x42, 0xc0, 0x1e };
    g_assert_false (cf_h264_sps_size (zeros, sizeof zeros, &w, &h));
  }
  g_assert_cmpuint (w, ==, 7);
  g_assert_cmpuint (h, ==, 7);
}

/* An SPS in a packet, alone or in a STAP-A with the PPS: the packet says
 * where it is, and the SFU's parse (sfu-stream.c) reads its size. */
static void
test_sps_in_packets (void)
{
  guint8 sps[64], stap[96];
  gsize n = unhex (x264_sps[1].hex, sps, sizeof sps);
  const guint8 pps[] = { 0x68, 0xcb, 0x83, 0xcb, 0x20 };
  CfH264Packet h;
  CfVp8Descriptor d;
  gsize off = 0;

  g_assert_true (cf_h264_packet_parse (sps, n, &h));
  g_assert_true (h.has_sps);
  g_assert_cmpuint (h.sps_offset, ==, 0);
  g_assert_cmpuint (h.sps_len, ==, n);
  stap[off++] = 0x78;
  stap[off++] = 0;
  stap[off++] = sizeof pps;
  memcpy (stap + off, pps, sizeof pps);
  off += sizeof pps;
  stap[off++] = 0;
  stap[off++] = (guint8) n;
  memcpy (stap + off, sps, n);
  off += n;
  g_assert_true (cf_h264_packet_parse (stap, off, &h));
  g_assert_true (h.has_sps && h.has_pps && h.keyframe);
  g_assert_cmpuint (h.sps_offset, ==, 3 + sizeof pps + 2);
  g_assert_cmpuint (h.sps_len, ==, n);
  g_assert_true (cf_sfu_payload_parse (CF_SFU_H264, stap, off, &d));
  g_assert_true (d.keyframe);
  g_assert_cmpuint (d.width, ==, 640);
  g_assert_cmpuint (d.height, ==, 360);
  /* The PPS alone: no size. */
  g_assert_true (cf_sfu_payload_parse (CF_SFU_H264, pps, sizeof pps, &d));
  g_assert_cmpuint (d.width, ==, 0);
}

static void
test_refused_types (void)
{
  CfH264Packet h;

  /* 0 and 30-31 undefined; STAP-B 25, MTAP16 26, MTAP24 27, FU-B 29: the
   * interleaved mode's, never negotiated here. */
  const guint8 types[] = { 0, 25, 26, 27, 29, 30, 31 };
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      guint8 pkt[] = { (guint8) (0x60 | types[i]), 0x85, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f };
      g_assert_false (cf_h264_packet_parse (pkt, sizeof pkt, &h));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference/h264/single", test_single);
  g_test_add_func ("/conference/h264/stap-a", test_stap_a);
  g_test_add_func ("/conference/h264/fu-a", test_fu_a);
  g_test_add_func ("/conference/h264/refused-types", test_refused_types);
  g_test_add_func ("/conference/h264/sps-size", test_sps_size);
  g_test_add_func ("/conference/h264/sps-refused", test_sps_refused);
  g_test_add_func ("/conference/h264/sps-in-packets", test_sps_in_packets);
  return g_test_run ();
}
