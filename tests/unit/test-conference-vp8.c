/* The VP8 RTP payload descriptor (modules/conference/vp8-descriptor.c),
 * against RFC 7741 §4.2/§4.3 (written from the RFC as published; it is not
 * in the specs folder): every optional field alone and together, 7- and
 * 15-bit PictureIDs, truncation at every byte, keyframe detection from the
 * payload header's P bit, and the in-place rewrite keeping widths and the
 * bits around the fields. */
#include <string.h>
#include <glib.h>

#include "vp8-descriptor.h"

#define BYTES(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })

/* Every proper prefix of a valid packet whose descriptor is @desc_len
 * bytes is refused (a descriptor alone carries no data, too). */
static void
assert_prefixes_refused (const guint8 *data, gsize desc_len)
{
  CfVp8Descriptor d;

  for (gsize n = 0; n <= desc_len; n++)
    g_assert_false (cf_vp8_descriptor_parse (data, n, &d));
}

static void
test_minimal (void)
{
  CfVp8Descriptor d;
  /* X=0 N=1 S=1 PID=3, then partition data. */
  const guint8 *p; gsize n;
  const guint8 pkt[] = { 0x33, 0xaa };

  p = pkt; n = sizeof pkt;
  g_assert_true (cf_vp8_descriptor_parse (p, n, &d));
  g_assert_true (d.non_reference);
  g_assert_true (d.start);
  g_assert_cmpuint (d.partition, ==, 3);
  g_assert_cmpuint (d.picture_id_bits, ==, 0);
  g_assert_false (d.has_tl0picidx);
  g_assert_false (d.has_tid);
  g_assert_false (d.has_keyidx);
  g_assert_cmpuint (d.header_offset, ==, 1);
  g_assert_false (d.keyframe);     /* PID 3: no payload header */
  assert_prefixes_refused (pkt, 1);
  g_assert_false (cf_vp8_descriptor_parse (NULL, 4, &d));
}

static void
test_all_fields_15bit (void)
{
  CfVp8Descriptor d;
  /* X S PID0 | I L T K | M + 0x1234 | TL0 0x56 | TID 2 Y KEYIDX 17 | payload */
  const guint8 pkt[] = { 0x90, 0xf0, 0x80 | 0x12, 0x34, 0x56, (2 << 6) | 0x20 | 17,
                         0x01, 0x02, 0x03 };

  g_assert_true (cf_vp8_descriptor_parse (pkt, sizeof pkt, &d));
  g_assert_false (d.non_reference);
  g_assert_true (d.start);
  g_assert_cmpuint (d.partition, ==, 0);
  g_assert_cmpuint (d.picture_id_bits, ==, 15);
  g_assert_cmpuint (d.picture_id, ==, 0x1234);
  g_assert_cmpuint (d.picture_id_offset, ==, 2);
  g_assert_true (d.has_tl0picidx);
  g_assert_cmpuint (d.tl0picidx, ==, 0x56);
  g_assert_cmpuint (d.tl0picidx_offset, ==, 4);
  g_assert_true (d.has_tid);
  g_assert_cmpuint (d.tid, ==, 2);
  g_assert_true (d.layer_sync);
  g_assert_true (d.has_keyidx);
  g_assert_cmpuint (d.keyidx, ==, 17);
  g_assert_cmpuint (d.header_offset, ==, 6);
  g_assert_false (d.keyframe);    /* P bit 1: an interframe */
  assert_prefixes_refused (pkt, 6);
}

static void
test_fields_alone (void)
{
  CfVp8Descriptor d;

  /* I, 7-bit. */
  g_assert_true (cf_vp8_descriptor_parse (BYTES (0x80, 0x80, 0x7f, 0xff), &d));
  g_assert_cmpuint (d.picture_id_bits, ==, 7);
  g_assert_cmpuint (d.picture_id, ==, 127);
  g_assert_cmpuint (d.header_offset, ==, 3);
  g_assert_false (d.has_tl0picidx);
  /* L alone. */
  g_assert_true (cf_vp8_descriptor_parse (BYTES (0x80, 0x40, 0x09, 0xff), &d));
  g_assert_cmpuint (d.picture_id_bits, ==, 0);
  g_assert_true (d.has_tl0picidx);
  g_assert_cmpuint (d.tl0picidx, ==, 9);
  g_assert_cmpuint (d.header_offset, ==, 3);
  /* T alone: KEYIDX bits are not read as such. */
  g_assert_true (cf_vp8_descriptor_parse (BYTES (0x80, 0x20, 0x5f, 0xff), &d));
  g_assert_true (d.has_tid);
  g_assert_cmpuint (d.tid, ==, 1);
  g_assert_false (d.layer_sync);
  g_assert_false (d.has_keyidx);
  g_assert_cmpuint (d.header_offset, ==, 3);
  /* K alone: TID not read. */
  g_assert_true (cf_vp8_descriptor_parse (BYTES (0x80, 0x10, 0xe5, 0xff), &d));
  g_assert_false (d.has_tid);
  g_assert_true (d.has_keyidx);
  g_assert_cmpuint (d.keyidx, ==, 5);
  /* X with no optional field, reserved bits set: ignored. */
  g_assert_true (cf_vp8_descriptor_parse (BYTES (0xc8, 0x0f, 0xff), &d));
  g_assert_cmpuint (d.header_offset, ==, 2);
  /* Truncated in the 15-bit PictureID. */
  g_assert_false (cf_vp8_descriptor_parse (BYTES (0x80, 0x80, 0x80), &d));
  g_assert_false (cf_vp8_descriptor_parse (BYTES (0x80, 0x80, 0x80, 0x01), &d));
  g_assert_true (cf_vp8_descriptor_parse (BYTES (0x80, 0x80, 0x80, 0x01, 0x00), &d));
}

static void
test_keyframe (void)
{
  CfVp8Descriptor d;
  /* S=1 PID=0, 7-bit PictureID, then a keyframe's 10 first bytes:
   * frame tag (P=0), start code, 640x360 with scale bits set above. */
  const guint8 key[] = { 0x90, 0x80, 0x05,
                         0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a,
                         0x80, 0x42, 0x68, 0xc1 };
  guint8 copy[sizeof key];

  g_assert_true (cf_vp8_descriptor_parse (key, sizeof key, &d));
  g_assert_true (d.keyframe);
  g_assert_cmpuint (d.width, ==, 640);
  g_assert_cmpuint (d.height, ==, 360);
  /* Too short for the size: still a keyframe, size unknown. */
  g_assert_true (cf_vp8_descriptor_parse (key, 6, &d));
  g_assert_true (d.keyframe);
  g_assert_cmpuint (d.width, ==, 0);
  /* Not the start of partition 0, or P=1: not a keyframe. */
  memcpy (copy, key, sizeof key);
  copy[0] = 0x80;    /* S=0 */
  g_assert_true (cf_vp8_descriptor_parse (copy, sizeof copy, &d));
  g_assert_false (d.keyframe);
  copy[0] = 0x91;    /* S=1 PID=1 */
  g_assert_true (cf_vp8_descriptor_parse (copy, sizeof copy, &d));
  g_assert_false (d.keyframe);
  copy[0] = 0x90;
  copy[3] = 0x51;    /* P=1 */
  g_assert_true (cf_vp8_descriptor_parse (copy, sizeof copy, &d));
  g_assert_false (d.keyframe);
  /* A wrong start code: a keyframe by P, no size read. */
  copy[3] = 0x50;
  copy[6] = 0x9c;
  g_assert_true (cf_vp8_descriptor_parse (copy, sizeof copy, &d));
  g_assert_true (d.keyframe);
  g_assert_cmpuint (d.width, ==, 0);
}

static void
test_rewrite (void)
{
  CfVp8Descriptor d;
  guint8 p15[] = { 0x90, 0xf0, 0x80 | 0x12, 0x34, 0x56, 0xa5, 0x01 };
  guint8 p7[] = { 0xb0, 0xe0, 0x05, 0x07, 0x40, 0x01 };
  guint8 bare[] = { 0x10, 0x00 };

  g_assert_true (cf_vp8_descriptor_parse (p15, sizeof p15, &d));
  cf_vp8_descriptor_set_picture_id (p15, &d, 0xfedc);   /* taken modulo 2^15 */
  cf_vp8_descriptor_set_tl0picidx (p15, &d, 0xff);
  g_assert_cmpmem (p15, sizeof p15, ((guint8[]){ 0x90, 0xf0, 0xfe, 0xdc, 0xff, 0xa5, 0x01 }), 7);
  g_assert_true (cf_vp8_descriptor_parse (p15, sizeof p15, &d));
  g_assert_cmpuint (d.picture_id, ==, 0x7edc);
  g_assert_cmpuint (d.tl0picidx, ==, 0xff);

  g_assert_true (cf_vp8_descriptor_parse (p7, sizeof p7, &d));
  cf_vp8_descriptor_set_picture_id (p7, &d, 0x1234);    /* modulo 2^7, M stays 0 */
  g_assert_cmpuint (d.picture_id, ==, 0x34);
  cf_vp8_descriptor_set_tl0picidx (p7, &d, 0x80);
  g_assert_cmpmem (p7, sizeof p7, ((guint8[]){ 0xb0, 0xe0, 0x34, 0x80, 0x40, 0x01 }), 6);

  /* No fields: nothing written. */
  g_assert_true (cf_vp8_descriptor_parse (bare, sizeof bare, &d));
  cf_vp8_descriptor_set_picture_id (bare, &d, 77);
  cf_vp8_descriptor_set_tl0picidx (bare, &d, 77);
  g_assert_cmpmem (bare, sizeof bare, ((guint8[]){ 0x10, 0x00 }), 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference/vp8/minimal", test_minimal);
  g_test_add_func ("/conference/vp8/all-fields-15bit", test_all_fields_15bit);
  g_test_add_func ("/conference/vp8/fields-alone", test_fields_alone);
  g_test_add_func ("/conference/vp8/keyframe", test_keyframe);
  g_test_add_func ("/conference/vp8/rewrite", test_rewrite);
  return g_test_run ();
}
