/* The VP8 RTP payload descriptor (RFC 7741 §4.2): see vp8-descriptor.h.
 * Written from RFC 7741 as published (not in the specs folder).
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   | (OPTIONAL; M=1: 15 bits, one more byte)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *
 * Reserved bits are ignored (§4.2: receivers MUST ignore them). */
#include "vp8-descriptor.h"

#include <string.h>

gboolean
cf_vp8_descriptor_parse (const guint8 *payload, gsize len, CfVp8Descriptor *d)
{
  gsize off = 1;

  memset (d, 0, sizeof *d);
  if (payload == NULL || len < 1)
    return FALSE;

  d->non_reference = (payload[0] & 0x20) != 0;
  d->start = (payload[0] & 0x10) != 0;
  d->partition = payload[0] & 0x07;

  if (payload[0] & 0x80)
    {
      guint8 ext;

      if (len < off + 1)
        return FALSE;
      ext = payload[off++];
      if (ext & 0x80)    /* I */
        {
          if (len < off + 1)
            return FALSE;
          d->picture_id_offset = off;
          if (payload[off] & 0x80)    /* M: 15-bit PictureID */
            {
              if (len < off + 2)
                return FALSE;
              d->picture_id_bits = 15;
              d->picture_id = (guint16) (((payload[off] & 0x7f) << 8) | payload[off + 1]);
              off += 2;
            }
          else
            {
              d->picture_id_bits = 7;
              d->picture_id = payload[off] & 0x7f;
              off += 1;
            }
        }
      if (ext & 0x40)    /* L */
        {
          if (len < off + 1)
            return FALSE;
          d->has_tl0picidx = TRUE;
          d->tl0picidx_offset = off;
          d->tl0picidx = payload[off++];
        }
      if (ext & 0x30)    /* T or K: one byte carries TID/Y and KEYIDX */
        {
          if (len < off + 1)
            return FALSE;
          if (ext & 0x20)
            {
              d->has_tid = TRUE;
              d->tid = payload[off] >> 6;
              d->layer_sync = (payload[off] & 0x20) != 0;
            }
          if (ext & 0x10)
            {
              d->has_keyidx = TRUE;
              d->keyidx = payload[off] & 0x1f;
            }
          off += 1;
        }
    }

  /* A descriptor with nothing after it carries no VP8 data (§4.1: a
   * packet holds at least one byte of a partition). */
  if (len <= off)
    return FALSE;
  d->header_offset = off;

  /* The payload header (RFC 7741 §4.3) is present only at the start of
   * partition 0; its first byte's low bit is P, the inverse key frame
   * flag (RFC 6386 §9.1). */
  if (d->start && d->partition == 0 && (payload[off] & 0x01) == 0)
    {
      const guint8 *h = payload + off;

      d->keyframe = TRUE;
      /* 3-byte frame tag, start code 9d 01 2a, 16-bit little-endian
       * width and height with a 2-bit scale above 14 bits. */
      if (len - off >= 10 && h[3] == 0x9d && h[4] == 0x01 && h[5] == 0x2a)
        {
          d->width = (guint) (h[6] | (h[7] << 8)) & 0x3fff;
          d->height = (guint) (h[8] | (h[9] << 8)) & 0x3fff;
        }
    }
  return TRUE;
}

void
cf_vp8_descriptor_set_picture_id (guint8 *payload, CfVp8Descriptor *d, guint16 picture_id)
{
  guint8 *p = payload + d->picture_id_offset;

  if (d->picture_id_bits == 15)
    {
      picture_id &= 0x7fff;
      p[0] = (guint8) (0x80 | (picture_id >> 8));
      p[1] = (guint8) picture_id;
    }
  else if (d->picture_id_bits == 7)
    {
      picture_id &= 0x7f;
      p[0] = (guint8) picture_id;
    }
  else
    return;
  d->picture_id = picture_id;
}

void
cf_vp8_descriptor_set_tl0picidx (guint8 *payload, CfVp8Descriptor *d, guint8 tl0picidx)
{
  if (!d->has_tl0picidx)
    return;
  payload[d->tl0picidx_offset] = tl0picidx;
  d->tl0picidx = tl0picidx;
}
