/* The RTP header view (include/belfry/packet.h, relay/rtp-header.c):
 * RFC 3550 §5.1 fixed header, CSRC list, extension block and padding, and
 * the RFC 8285 §4.2 one-byte / §4.3 two-byte elements, each good packet
 * and each malformed one at its boundary, written out byte by byte. */
#include <string.h>
#include <glib.h>

#include <belfry/packet.h>

#define BYTES(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })

/* Fixed RTP header after byte 1: sequence 0x1234, timestamp 3000, SSRC. */
#define SEQ_TS_SSRC 0x12, 0x34,  0x00, 0x00, 0x0B, 0xB8,  0xAA, 0xAA, 0x00, 0x01

static BfRtpHeader
parse_ok (const guint8 *pkt, gsize len)
{
  BfRtpHeader h;
  memset (&h, 0xEE, sizeof h);
  g_assert_true (bf_rtp_header_parse (pkt, len, &h));
  g_assert_cmpuint ((gsize) h.payload_offset + h.payload_len + h.padding, ==, len);
  if (h.ext_offset != 0)
    g_assert_cmpuint ((gsize) h.ext_offset + h.ext_len, <=, h.payload_offset);
  return h;
}

static void
refused (const guint8 *pkt, gsize len)
{
  BfRtpHeader h;
  g_assert_false (bf_rtp_header_parse (pkt, len, &h));
}

/* --- fixed header, CSRCs --- */

static void
test_fixed (void)
{
  BfRtpHeader h = parse_ok (BYTES (0x80, 0x80 | 111, SEQ_TS_SSRC,  0xFC, 0xFF, 0xFE));
  g_assert_cmpuint (h.payload_type, ==, 111);
  g_assert_true (h.marker);
  g_assert_cmpuint (h.seq, ==, 0x1234);
  g_assert_cmpuint (h.timestamp, ==, 3000);
  g_assert_cmpuint (h.ssrc, ==, 0xAAAA0001);
  g_assert_cmpuint (h.csrc_count, ==, 0);
  g_assert_cmpuint (h.ext_offset, ==, 0);
  g_assert_cmpuint (h.ext_len, ==, 0);
  g_assert_cmpuint (h.ext_profile, ==, 0);
  g_assert_cmpuint (h.payload_offset, ==, 12);
  g_assert_cmpuint (h.payload_len, ==, 3);
  g_assert_cmpuint (h.padding, ==, 0);

  h = parse_ok (BYTES (0x80, 0, SEQ_TS_SSRC));
  g_assert_false (h.marker);
  g_assert_cmpuint (h.payload_len, ==, 0);

  refused (NULL, 0);
  refused (BYTES (0x80));
  refused (BYTES (0x80, 0, 0x12, 0x34,  0x00, 0x00, 0x0B, 0xB8,  0xAA, 0xAA, 0x00));
  refused (BYTES (0x00, 0, SEQ_TS_SSRC));
  refused (BYTES (0x40, 0, SEQ_TS_SSRC));
  refused (BYTES (0xC0, 0, SEQ_TS_SSRC));
}

static void
test_csrc (void)
{
  /* 15 CSRCs and nothing after them: the largest list, exactly fitting */
  guint8 pkt[12 + 60];
  memset (pkt, 0x11, sizeof pkt);
  pkt[0] = 0x8F;
  pkt[1] = 96;
  BfRtpHeader h = parse_ok (pkt, sizeof pkt);
  g_assert_cmpuint (h.csrc_count, ==, 15);
  g_assert_cmpuint (h.payload_offset, ==, 72);
  g_assert_cmpuint (h.payload_len, ==, 0);
  /* one byte short */
  refused (pkt, sizeof pkt - 1);
  h = parse_ok (BYTES (0x81, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,  0xD5));
  g_assert_cmpuint (h.csrc_count, ==, 1);
  g_assert_cmpuint (h.payload_offset, ==, 16);
  refused (BYTES (0x81, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03));
}

/* --- the extension block --- */

static void
test_ext_block (void)
{
  /* an empty block is a block */
  BfRtpHeader h = parse_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x00,  0xD5));
  g_assert_cmpuint (h.ext_profile, ==, 0xBEDE);
  g_assert_cmpuint (h.ext_offset, ==, 16);
  g_assert_cmpuint (h.ext_len, ==, 0);
  g_assert_cmpuint (h.payload_offset, ==, 16);
  /* after the CSRCs; a block reaching the end of the packet */
  h = parse_ok (BYTES (0x91, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,
                       0xBE, 0xDE, 0x00, 0x01,  0x10, 0xAA, 0x00, 0x00));
  g_assert_cmpuint (h.ext_offset, ==, 20);
  g_assert_cmpuint (h.ext_len, ==, 4);
  g_assert_cmpuint (h.payload_len, ==, 0);
  /* the block's own header cut short, its length a word too long */
  refused (BYTES (0x90, 96, SEQ_TS_SSRC));
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00));
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,  0x10, 0xAA, 0x00, 0x00));
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0xFF, 0xFF,  0x10, 0xAA, 0x00, 0x00));
  refused (BYTES (0x91, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,  0xBE, 0xDE));
}

/* Another profile's block is opaque: nothing in it is checked or seen. */
static void
test_ext_opaque (void)
{
  const guint8 pkt[] = { 0x90, 96, SEQ_TS_SSRC,  0x12, 0x34, 0x00, 0x01,  0x1F, 0xFF, 0xFF, 0xFF };
  BfRtpHeader h = parse_ok (pkt, sizeof pkt);
  g_assert_cmpuint (h.ext_profile, ==, 0x1234);
  g_assert_cmpuint (h.ext_len, ==, 4);
  g_assert_null (bf_rtp_header_find_extension (&h, pkt, 1, NULL));
}

/* --- RFC 8285 §4.2, one-byte elements --- */

static void
test_one_byte (void)
{
  /* ssrc-audio-level (1, 1 octet), padding, abs-send-time (2, 3 octets),
   * transport-cc (3, 2 octets), padding, mid (4, 1 octet), padding */
  const guint8 pkt[] = { 0x90, 111, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x04,
                         0x10, 0xAA,  0x00,  0x22, 0x01, 0x02, 0x03,  0x31, 0x00, 0x07,
                         0x00,  0x40, '0',  0x00, 0x00, 0x00,  0xD5 };
  BfRtpHeader h = parse_ok (pkt, sizeof pkt);
  g_assert_cmpuint (h.payload_len, ==, 1);
  gsize len = 99;
  const guint8 *p = bf_rtp_header_find_extension (&h, pkt, 1, &len);
  g_assert_true (p == pkt + 17);
  g_assert_cmpuint (len, ==, 1);
  p = bf_rtp_header_find_extension (&h, pkt, 2, &len);
  g_assert_true (p == pkt + 20);
  g_assert_cmpuint (len, ==, 3);
  p = bf_rtp_header_find_extension (&h, pkt, 4, &len);
  g_assert_true (p == pkt + 28);
  g_assert_cmpuint (len, ==, 1);
  g_assert_cmpint (p[0], ==, '0');
  g_assert_null (bf_rtp_header_find_extension (&h, pkt, 5, &len));
  g_assert_null (bf_rtp_header_find_extension (&h, pkt, 0, &len));
  g_assert_null (bf_rtp_header_find_extension (&h, pkt, 15, &len));

  /* the longest element, 16 octets, exactly filling the block */
  const guint8 full[] = { 0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x05,
                          0x00, 0x00, 0x00,  0x7F,  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                          14, 15, 16 };
  h = parse_ok (full, sizeof full);
  p = bf_rtp_header_find_extension (&h, full, 7, &len);
  g_assert_true (p == full + 20);
  g_assert_cmpuint (len, ==, 16);
  /* one octet more than the block has, at the end and in the middle */
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0x13, 0xAA, 0xBB, 0xCC));
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0x00, 0x00, 0x00, 0x10));
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,
                  0x10, 0xAA, 0x20, 0xBB,  0x00, 0x32, 0xCC, 0x00,  0xDD));
}

/* §4.2: id 15 stops the walk; what follows is not looked at. */
static void
test_one_byte_stop (void)
{
  const guint8 pkt[] = { 0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,
                         0x10, 0xAA, 0xF0, 0x2F,  0x20, 0x00, 0x00, 0x00 };
  BfRtpHeader h = parse_ok (pkt, sizeof pkt);
  g_assert_nonnull (bf_rtp_header_find_extension (&h, pkt, 1, NULL));
  g_assert_null (bf_rtp_header_find_extension (&h, pkt, 2, NULL));
  /* id 0 with a length is neither padding nor an element: it ends the
   * walk too (as libwebrtc reads it), with what follows unchecked */
  const guint8 zero[] = { 0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,
                          0x10, 0xAA, 0x08, 0x2F,  0x20, 0x00, 0x00, 0x00 };
  h = parse_ok (zero, sizeof zero);
  g_assert_nonnull (bf_rtp_header_find_extension (&h, zero, 1, NULL));
  g_assert_null (bf_rtp_header_find_extension (&h, zero, 2, NULL));
  g_assert_null (bf_rtp_header_find_extension (&h, zero, 0, NULL));
}

/* --- RFC 8285 §4.3, two-byte elements --- */

static void
test_two_byte (void)
{
  /* 0x1000: id 20 (2 octets), padding, id 7 (0 octets), id 255 (1 octet),
   * padding */
  const guint8 pkt[] = { 0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x03,
                         20, 2, 0xAA, 0xBB,  0x00, 7, 0, 255,  1, 0xCC, 0x00, 0x00 };
  BfRtpHeader h = parse_ok (pkt, sizeof pkt);
  gsize len = 99;
  const guint8 *p = bf_rtp_header_find_extension (&h, pkt, 20, &len);
  g_assert_true (p == pkt + 18);
  g_assert_cmpuint (len, ==, 2);
  p = bf_rtp_header_find_extension (&h, pkt, 7, &len);
  g_assert_true (p == pkt + 23);
  g_assert_cmpuint (len, ==, 0);
  p = bf_rtp_header_find_extension (&h, pkt, 255, &len);
  g_assert_true (p == pkt + 25);
  g_assert_cmpuint (len, ==, 1);
  /* id 15 is an id like any other in this form */
  const guint8 fifteen[] = { 0x90, 96, SEQ_TS_SSRC,  0x10, 0x0F, 0x00, 0x01,  15, 1, 0xAA, 0x00 };
  h = parse_ok (fifteen, sizeof fifteen);
  g_assert_cmpuint (h.ext_profile, ==, 0x100F);
  p = bf_rtp_header_find_extension (&h, fifteen, 15, &len);
  g_assert_true (p == fifteen + 18);
  /* an element header cut by the block's end; a length past it */
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  0x00, 0x00, 0x00, 20,  0xAA));
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  20, 3, 0xAA, 0xBB,  0xCC));
  refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x02,  20, 0, 7, 5,
                  0xAA, 0xBB, 0xCC, 0xDD));
  /* exactly filling it is fine */
  parse_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  20, 2, 0xAA, 0xBB));
}

/* --- padding (RFC 3550 §5.1: the last octet counts it, itself included) --- */

static void
test_padding (void)
{
  BfRtpHeader h = parse_ok (BYTES (0xA0, 96, SEQ_TS_SSRC,  0xD5, 0xD6, 0x00, 0x02));
  g_assert_cmpuint (h.padding, ==, 2);
  g_assert_cmpuint (h.payload_len, ==, 2);
  /* all of the payload is padding */
  h = parse_ok (BYTES (0xA0, 96, SEQ_TS_SSRC,  0x00, 0x00, 0x03));
  g_assert_cmpuint (h.payload_len, ==, 0);
  h = parse_ok (BYTES (0xA0, 96, SEQ_TS_SSRC,  0x01));
  g_assert_cmpuint (h.padding, ==, 1);
  /* a count of 0, past the payload, into the CSRCs or the block, or no
   * octet to hold it */
  refused (BYTES (0xA0, 96, SEQ_TS_SSRC,  0xD5, 0x00));
  refused (BYTES (0xA0, 96, SEQ_TS_SSRC,  0xD5, 0x03));
  refused (BYTES (0xA0, 96, SEQ_TS_SSRC));
  refused (BYTES (0xA1, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,  0x02));
  refused (BYTES (0xB0, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x00,  0x02));
}

/* Offsets are 16 bits: a longer packet is refused, not misread. */
static void
test_too_long (void)
{
  g_autofree guint8 *pkt = g_malloc0 (G_MAXUINT16 + 1);
  pkt[0] = 0x80;
  BfRtpHeader h;
  g_assert_true (bf_rtp_header_parse (pkt, G_MAXUINT16, &h));
  g_assert_cmpuint (h.payload_len, ==, G_MAXUINT16 - 12);
  g_assert_false (bf_rtp_header_parse (pkt, G_MAXUINT16 + 1, &h));
}

/* --- foreach --- */

typedef struct {
  guint n, stop_after;
  guint8 ids[8];
  gsize lens[8];
  const guint8 *elems[8];
  gboolean rewrite;       /* one-byte: id -> id + 1 */
} Seen;

static gboolean
note (guint8 *id_byte, guint8 id, guint8 *elem, gsize len, gpointer user_data)
{
  Seen *seen = user_data;
  g_assert_cmpuint (seen->n, <, G_N_ELEMENTS (seen->ids));
  seen->ids[seen->n] = id;
  seen->lens[seen->n] = len;
  seen->elems[seen->n] = elem;
  seen->n++;
  if (seen->rewrite)
    *id_byte = (guint8) (((id + 1) << 4) | (*id_byte & 0x0f));
  return seen->n != seen->stop_after;
}

static void
test_foreach (void)
{
  guint8 pkt[] = { 0x90, 111, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x04,
                   0x10, 0xAA,  0x00,  0x22, 0x01, 0x02, 0x03,  0x31, 0x00, 0x07,
                   0x00,  0x40, '0',  0xF0, 0x00, 0x00,  0xD5 };
  BfRtpHeader h = parse_ok (pkt, sizeof pkt);
  Seen seen = { 0 };
  bf_rtp_header_foreach_extension (&h, pkt, note, &seen);
  g_assert_cmpuint (seen.n, ==, 4);
  const guint8 ids[] = { 1, 2, 3, 4 };
  const gsize lens[] = { 1, 3, 2, 1 };
  const gsize at[] = { 17, 20, 24, 28 };
  for (guint i = 0; i < 4; i++)
    {
      g_assert_cmpuint (seen.ids[i], ==, ids[i]);
      g_assert_cmpuint (seen.lens[i], ==, lens[i]);
      g_assert_true (seen.elems[i] == pkt + at[i]);
    }
  /* stopped by the callback */
  Seen two = { .stop_after = 2 };
  bf_rtp_header_foreach_extension (&h, pkt, note, &two);
  g_assert_cmpuint (two.n, == , 2);
  /* ids rewritten on the way (1 -> 2, 2 -> 3...): each element is still
   * seen once, with its own length */
  Seen rw = { .rewrite = TRUE };
  bf_rtp_header_foreach_extension (&h, pkt, note, &rw);
  g_assert_cmpuint (rw.n, ==, 4);
  g_assert_cmpuint (pkt[16], ==, 0x20);
  g_assert_cmpuint (pkt[19], ==, 0x32);
  g_assert_cmpuint (pkt[23], ==, 0x41);
  g_assert_cmpuint (pkt[27], ==, 0x50);
  g_assert_cmpuint (rw.lens[1], ==, 3);

  /* two-byte form */
  guint8 two_byte[] = { 0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x02,
                        20, 2, 0xAA, 0xBB,  0x00, 7, 0, 0x00 };
  h = parse_ok (two_byte, sizeof two_byte);
  Seen tb = { 0 };
  bf_rtp_header_foreach_extension (&h, two_byte, note, &tb);
  g_assert_cmpuint (tb.n, ==, 2);
  g_assert_cmpuint (tb.ids[0], ==, 20);
  g_assert_cmpuint (tb.ids[1], ==, 7);
  g_assert_cmpuint (tb.lens[1], ==, 0);

  /* no block, an opaque block: not called */
  guint8 none[] = { 0x80, 96, SEQ_TS_SSRC };
  h = parse_ok (none, sizeof none);
  Seen nothing = { 0 };
  bf_rtp_header_foreach_extension (&h, none, note, &nothing);
  guint8 opaque[] = { 0x90, 96, SEQ_TS_SSRC,  0x12, 0x34, 0x00, 0x01,  0x10, 0xAA, 0x00, 0x00 };
  h = parse_ok (opaque, sizeof opaque);
  bf_rtp_header_foreach_extension (&h, opaque, note, &nothing);
  g_assert_cmpuint (nothing.n, ==, 0);
}

/* --- setters, byte order --- */

static void
test_setters (void)
{
  guint8 pkt[] = { 0x90, 0x80 | 111, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0x10, 0xAA, 0x00, 0x00,
                   0xD5 };
  BfRtpHeader h = parse_ok (pkt, sizeof pkt);
  bf_rtp_set_payload_type (pkt, &h, 0xFF);   /* 7 bits taken, marker kept */
  g_assert_cmpuint (pkt[1], ==, 0xFF);
  g_assert_cmpuint (h.payload_type, ==, 127);
  bf_rtp_set_payload_type (pkt, &h, 0);
  g_assert_cmpuint (pkt[1], ==, 0x80);
  bf_rtp_set_seq (pkt, &h, 0xBEEF);
  bf_rtp_set_timestamp (pkt, &h, 0x01020304);
  bf_rtp_set_ssrc (pkt, &h, 0xCAFEF00D);
  const guint8 want[] = { 0x90, 0x80,  0xBE, 0xEF,  0x01, 0x02, 0x03, 0x04,  0xCA, 0xFE, 0xF0, 0x0D,
                          0xBE, 0xDE, 0x00, 0x01,  0x10, 0xAA, 0x00, 0x00,  0xD5 };
  g_assert_cmpmem (pkt, sizeof pkt, want, sizeof want);
  g_assert_cmpuint (h.seq, ==, 0xBEEF);
  g_assert_cmpuint (h.timestamp, ==, 0x01020304);
  g_assert_cmpuint (h.ssrc, ==, 0xCAFEF00D);
  /* the view agrees with a fresh parse */
  BfRtpHeader again = parse_ok (pkt, sizeof pkt);
  g_assert_cmpuint (again.payload_type, ==, h.payload_type);
  g_assert_cmpuint (again.seq, ==, h.seq);
  g_assert_cmpuint (again.timestamp, ==, h.timestamp);
  g_assert_cmpuint (again.ssrc, ==, h.ssrc);
  g_assert_cmpuint (again.payload_offset, ==, h.payload_offset);
  g_assert_cmpuint (again.ext_offset, ==, h.ext_offset);
  /* without a header */
  bf_rtp_set_ssrc (pkt, NULL, 1);
  bf_rtp_set_seq (pkt, NULL, 2);
  bf_rtp_set_timestamp (pkt, NULL, 3);
  bf_rtp_set_payload_type (pkt, NULL, 96);
  again = parse_ok (pkt, sizeof pkt);
  g_assert_cmpuint (again.ssrc, ==, 1);
  g_assert_cmpuint (again.seq, ==, 2);
  g_assert_cmpuint (again.timestamp, ==, 3);
  g_assert_cmpuint (again.payload_type, ==, 96);
  g_assert_true (again.marker);
}

static void
test_byte_order (void)
{
  guint8 b[4];
  bf_write_be16 (b, 0xA1B2);
  g_assert_cmpuint (b[0], ==, 0xA1);
  g_assert_cmpuint (b[1], ==, 0xB2);
  g_assert_cmpuint (bf_read_be16 (b), ==, 0xA1B2);
  bf_write_be32 (b, 0xF1E2D3C4);
  g_assert_cmpuint (b[0], ==, 0xF1);
  g_assert_cmpuint (b[3], ==, 0xC4);
  g_assert_cmpuint (bf_read_be32 (b), ==, 0xF1E2D3C4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtp-header/fixed", test_fixed);
  g_test_add_func ("/rtp-header/csrc", test_csrc);
  g_test_add_func ("/rtp-header/ext-block", test_ext_block);
  g_test_add_func ("/rtp-header/ext-opaque", test_ext_opaque);
  g_test_add_func ("/rtp-header/one-byte", test_one_byte);
  g_test_add_func ("/rtp-header/one-byte-stop", test_one_byte_stop);
  g_test_add_func ("/rtp-header/two-byte", test_two_byte);
  g_test_add_func ("/rtp-header/padding", test_padding);
  g_test_add_func ("/rtp-header/too-long", test_too_long);
  g_test_add_func ("/rtp-header/foreach", test_foreach);
  g_test_add_func ("/rtp-header/setters", test_setters);
  g_test_add_func ("/rtp-header/byte-order", test_byte_order);
  return g_test_run ();
}
