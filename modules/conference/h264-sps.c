/* An H.264 SPS's frame size: see h264-sps.h. */
#include "h264-sps.h"

/* An SPS is a few dozen bytes; longer ones (VUI, huge scaling lists) have
 * the size well before this. */
#define RBSP_MAX 256

typedef struct {
  const guint8 *b;
  gsize len;       /* bytes */
  gsize pos;       /* bits read */
  gboolean bad;    /* read past the end, or a code out of range */
} Bits;

static guint
bit (Bits *r)
{
  guint v;

  if (r->pos >= r->len * 8)
    {
      r->bad = TRUE;
      return 0;
    }
  v = (r->b[r->pos / 8] >> (7 - r->pos % 8)) & 1;
  r->pos++;
  return v;
}

static guint
bits (Bits *r, guint n)
{
  guint v = 0;

  for (guint i = 0; i < n; i++)
    v = v << 1 | bit (r);
  return v;
}

/* ue(v) (§9.1): at most 31 leading zeros, so the value fits 32 bits. */
static guint32
ue (Bits *r)
{
  guint zeros = 0;

  while (!r->bad && bit (r) == 0)
    if (++zeros > 31)
      {
        r->bad = TRUE;
        return 0;
      }
  if (r->bad)
    return 0;
  return (guint32) ((G_GUINT64_CONSTANT (1) << zeros) - 1 + bits (r, zeros));
}

/* se(v): only skipped here, its range does not matter. */
static void
skip_se (Bits *r)
{
  (void) ue (r);
}

/* scaling_list() (§7.3.2.1.1.1): only read past. */
static void
skip_scaling_list (Bits *r, guint size)
{
  gint last = 8, next = 8;

  for (guint j = 0; j < size && !r->bad; j++)
    {
      if (next != 0)
        {
          guint32 code = ue (r);
          /* se(v): code k is (-1)^(k+1) * ceil(k / 2), -128..127 here. */
          gint delta = (code & 1) ? (gint) ((code + 1) / 2) : -(gint) (code / 2);
          if (code > 255)
            {
              r->bad = TRUE;
              return;
            }
          next = (last + delta + 256) % 256;
        }
      last = next == 0 ? last : next;
    }
}

static gboolean
high_profile (guint profile_idc)
{
  static const guint8 high[] = { 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135 };

  for (guint i = 0; i < G_N_ELEMENTS (high); i++)
    if (profile_idc == high[i])
      return TRUE;
  return FALSE;
}

gboolean
cf_h264_sps_size (const guint8 *nal, gsize len, guint *width, guint *height)
{
  guint8 rbsp[RBSP_MAX];
  gsize n = 0, zeros = 0;
  Bits r = { rbsp, 0, 0, FALSE };
  guint profile_idc, chroma_format_idc = 1, separate_planes = 0;
  guint32 w_mbs, h_units, crop[4] = { 0, 0, 0, 0 };
  guint frame_mbs_only, sub_w, sub_h, crop_x, crop_y;
  guint64 w, h, cw, ch;

  if (nal == NULL || len < 2 || (nal[0] & 0x1f) != 7 || (nal[0] & 0x80) != 0)
    return FALSE;
  /* §7.4.1: 00 00 03 is 00 00 with the 03 dropped. */
  for (gsize i = 1; i < len && n < sizeof rbsp; i++)
    {
      if (zeros >= 2 && nal[i] == 0x03)
        {
          zeros = 0;
          continue;
        }
      zeros = nal[i] == 0 ? zeros + 1 : 0;
      rbsp[n++] = nal[i];
    }
  r.len = n;

  profile_idc = bits (&r, 8);
  (void) bits (&r, 16);                     /* constraint flags, level_idc */
  if (ue (&r) > 31)                         /* seq_parameter_set_id */
    return FALSE;
  if (high_profile (profile_idc))
    {
      chroma_format_idc = ue (&r);
      if (chroma_format_idc > 3)
        return FALSE;
      if (chroma_format_idc == 3)
        separate_planes = bit (&r);
      if (ue (&r) > 6 || ue (&r) > 6)       /* bit depths - 8 */
        return FALSE;
      (void) bit (&r);                      /* qpprime_y_zero_transform_bypass */
      if (bit (&r))                         /* seq_scaling_matrix_present */
        for (guint i = 0; i < (chroma_format_idc != 3 ? 8u : 12u) && !r.bad; i++)
          if (bit (&r))
            skip_scaling_list (&r, i < 6 ? 16 : 64);
    }
  if (ue (&r) > 12)                         /* log2_max_frame_num - 4 */
    return FALSE;
  switch (ue (&r))                          /* pic_order_cnt_type */
    {
    case 0:
      if (ue (&r) > 12)                     /* log2_max_pic_order_cnt_lsb - 4 */
        return FALSE;
      break;
    case 1:
      {
        guint32 cycle;
        (void) bit (&r);                    /* delta_pic_order_always_zero */
        skip_se (&r);                       /* offset_for_non_ref_pic */
        skip_se (&r);                       /* offset_for_top_to_bottom_field */
        cycle = ue (&r);
        if (cycle > 255)
          return FALSE;
        for (guint32 i = 0; i < cycle && !r.bad; i++)
          skip_se (&r);                     /* offset_for_ref_frame */
      }
      break;
    case 2:
      break;
    default:
      return FALSE;
    }
  (void) ue (&r);                           /* max_num_ref_frames */
  (void) bit (&r);                          /* gaps_in_frame_num_value_allowed */
  w_mbs = ue (&r);                          /* pic_width_in_mbs - 1 */
  h_units = ue (&r);                        /* pic_height_in_map_units - 1 */
  frame_mbs_only = bit (&r);
  if (!frame_mbs_only)
    (void) bit (&r);                        /* mb_adaptive_frame_field */
  (void) bit (&r);                          /* direct_8x8_inference */
  if (bit (&r))                             /* frame_cropping */
    for (guint i = 0; i < 4; i++)
      crop[i] = ue (&r);                    /* left, right, top, bottom */
  if (r.bad || w_mbs >= CF_H264_SPS_MAX_SIZE / 16 || h_units >= CF_H264_SPS_MAX_SIZE / 16)
    return FALSE;

  /* §7.4.2.1.1 (Table 6-1): the crop unit follows the chroma format;
   * field coding doubles the height in map units. */
  if (separate_planes || chroma_format_idc == 0)
    sub_w = sub_h = 1;
  else
    {
      sub_w = chroma_format_idc == 3 ? 1 : 2;
      sub_h = chroma_format_idc == 1 ? 2 : 1;
    }
  crop_x = sub_w;
  crop_y = sub_h * (2 - frame_mbs_only);
  w = (guint64) (w_mbs + 1) * 16;
  h = (guint64) (h_units + 1) * 16 * (2 - frame_mbs_only);
  cw = (guint64) crop_x * ((guint64) crop[0] + crop[1]);
  ch = (guint64) crop_y * ((guint64) crop[2] + crop[3]);
  if (cw >= w || ch >= h || h > CF_H264_SPS_MAX_SIZE)
    return FALSE;
  *width = (guint) (w - cw);
  *height = (guint) (h - ch);
  return TRUE;
}
