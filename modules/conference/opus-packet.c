#include "opus-packet.h"

/* §3.1 Table 2: frame durations in 48 kHz samples by configuration. */
static guint
config_samples (guint config)
{
  static const guint silk[4] = { 480, 960, 1920, 2880 };
  static const guint hybrid[2] = { 480, 960 };
  static const guint celt[4] = { 120, 240, 480, 960 };
  if (config < 12)
    return silk[config & 3];
  if (config < 16)
    return hybrid[config & 1];
  return celt[config & 3];
}

/* §3.2.1: a frame length in one byte (< 252) or two. */
static gboolean
read_length (const guint8 *data, gsize len, gsize *pos, gsize *out)
{
  if (*pos >= len)
    return FALSE;
  guint b0 = data[*pos];
  if (b0 < 252)
    {
      *out = b0;
      *pos += 1;
      return TRUE;
    }
  if (*pos + 1 >= len)
    return FALSE;
  *out = (gsize) data[*pos + 1] * 4 + b0;
  *pos += 2;
  return TRUE;
}

gboolean
cf_opus_packet_parse (const guint8 *data, gsize len, CfOpusInfo *info)
{
  if (len < 1)                                  /* R1 */
    return FALSE;
  guint toc = data[0];
  info->config = toc >> 3;
  info->mode = info->config < 12 ? CF_OPUS_SILK : info->config < 16 ? CF_OPUS_HYBRID : CF_OPUS_CELT;
  info->stereo = (toc & 0x04) != 0;
  info->frame_samples = config_samples (info->config);
  info->vad = -1;
  info->lbrr = -1;
  info->dtx = len <= 2;

  gsize pos = 1;
  switch (toc & 3)
    {
    case 0:
      if (len - 1 > CF_OPUS_MAX_FRAME_BYTES)    /* R2 */
        return FALSE;
      info->frames = 1;
      info->first_offset = 1;
      info->first_len = len - 1;
      break;
    case 1:
      if ((len - 1) % 2 != 0 || (len - 1) / 2 > CF_OPUS_MAX_FRAME_BYTES)   /* R3 */
        return FALSE;
      info->frames = 2;
      info->first_offset = 1;
      info->first_len = (len - 1) / 2;
      break;
    case 2:
      {
        gsize n1;
        if (!read_length (data, len, &pos, &n1) || n1 > len - pos)          /* R4 */
          return FALSE;
        if (n1 > CF_OPUS_MAX_FRAME_BYTES || len - pos - n1 > CF_OPUS_MAX_FRAME_BYTES)
          return FALSE;
        info->frames = 2;
        info->first_offset = pos;
        info->first_len = n1;
        break;
      }
    default:
      {
        if (len < 2)                            /* R6, R7: at least the count byte */
          return FALSE;
        guint fc = data[1];
        pos = 2;
        guint m = fc & 0x3f;
        if (m == 0 || m * info->frame_samples > CF_OPUS_MAX_SAMPLES)         /* R5 */
          return FALSE;
        gsize padding = 0;
        if (fc & 0x40)
          {
            /* §3.2.5: 255 means 254 bytes and another length byte. */
            for (;;)
              {
                if (pos >= len)
                  return FALSE;
                guint p = data[pos++];
                padding += p == 255 ? 254 : p;
                if (p != 255)
                  break;
              }
          }
        if (padding > len - pos)
          return FALSE;
        gsize end = len - padding;
        if (fc & 0x80)
          {
            /* VBR: M-1 lengths, the last frame is the rest (R7). */
            gsize total = 0, first = 0;
            for (guint i = 0; i + 1 < m; i++)
              {
                gsize n;
                if (!read_length (data, end, &pos, &n) || n > CF_OPUS_MAX_FRAME_BYTES)
                  return FALSE;
                if (i == 0)
                  first = n;
                total += n;
                if (total > end - pos)
                  return FALSE;
              }
            gsize last = end - pos - total;
            if (last > CF_OPUS_MAX_FRAME_BYTES)
              return FALSE;
            info->first_len = m == 1 ? last : first;
          }
        else
          {
            /* CBR: M frames of equal length (R6). */
            gsize rest = end - pos;
            if (rest % m != 0 || rest / m > CF_OPUS_MAX_FRAME_BYTES)
              return FALSE;
            info->first_len = rest / m;
          }
        info->frames = m;
        info->first_offset = pos;
        break;
      }
    }
  info->samples = info->frames * info->frame_samples;
  if (info->samples > CF_OPUS_MAX_SAMPLES)
    return FALSE;

  /* §4.2.3: a SILK layer starts with one VAD flag per 20 ms SILK frame
   * (one for 10 and 20 ms Opus frames, two for 40, three for 60) and then
   * the LBRR flag, each a binary symbol of probability 1/2: the leading
   * bits of the range coder's first byte. */
  if (info->mode != CF_OPUS_CELT && info->first_len > 0)
    {
      guint silk_frames = info->frame_samples <= 960 ? 1 : info->frame_samples / 960;
      guint b = data[info->first_offset];
      guint vad_mask = (0xffu << (8 - silk_frames)) & 0xff;
      info->vad = (b & vad_mask) != 0;
      info->lbrr = (b >> (7 - silk_frames)) & 1;
    }
  else if (info->first_len == 0)
    info->vad = 0;
  return TRUE;
}
