/* libFuzzer target: the VP8 payload descriptor (RFC 7741 §4.2,
 * modules/conference/vp8-descriptor.c) on arbitrary bytes.
 *
 * Input: an RTP payload, copied into a buffer of exactly its size (so ASan
 * sees any read or write past it).  Checks, for a payload the parse takes:
 *   - the fields lie inside the descriptor, in order (PictureID,
 *     TL0PICIDX), the descriptor ends before the payload does, and a
 *     keyframe is the start of partition 0; a frame size comes only from
 *     a keyframe with its 10 first bytes present (RFC 6386 §9.1);
 *   - rewriting PictureID and TL0PICIDX with values taken from the input
 *     changes only those bytes (the M bit kept), and a fresh parse reads
 *     the same descriptor with the new values (modulo the field's width). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "vp8-descriptor.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  CfVp8Descriptor d, again;
  guint8 *buf;
  guint16 new_pid;
  guint8 new_tl0;

  buf = malloc (size ? size : 1);
  memcpy (buf, data, size);
  if (!cf_vp8_descriptor_parse (buf, size, &d))
    {
      free (buf);
      return 0;
    }

  if (d.header_offset < 1 || d.header_offset >= size || d.partition > 7)
    __builtin_trap ();
  if (d.picture_id_bits != 0 && d.picture_id_bits != 7 && d.picture_id_bits != 15)
    __builtin_trap ();
  if (d.picture_id_bits
      && (d.picture_id_offset < 2 || d.picture_id_offset + d.picture_id_bits / 8 + 1 > d.header_offset
          || d.picture_id >= (1u << d.picture_id_bits)))
    __builtin_trap ();
  if (d.has_tl0picidx
      && (d.tl0picidx_offset < 2 || d.tl0picidx_offset >= d.header_offset
          || (d.picture_id_bits && d.tl0picidx_offset <= d.picture_id_offset)))
    __builtin_trap ();
  if (d.tid > 3 || d.keyidx > 31 || (d.keyframe && (!d.start || d.partition != 0)))
    __builtin_trap ();
  /* A frame size (the room's layer size, sfu-room.c) only from a
   * keyframe whose 10 first bytes are there, read inside the payload. */
  if (d.width > 0x3fff || d.height > 0x3fff)
    __builtin_trap ();
  if ((d.width || d.height) && (!d.keyframe || size - d.header_offset < 10))
    __builtin_trap ();

  /* Rewrite with values from the input's last bytes (or fixed ones). */
  new_pid = size >= 2 ? (guint16) ((data[size - 1] << 8) | data[size - 2]) : 0x5a5a;
  new_tl0 = size >= 3 ? data[size - 3] ^ 0xff : 0xa5;
  cf_vp8_descriptor_set_picture_id (buf, &d, new_pid);
  cf_vp8_descriptor_set_tl0picidx (buf, &d, new_tl0);
  for (gsize i = 0; i < size; i++)
    {
      gboolean in_pid = d.picture_id_bits
                        && i >= d.picture_id_offset
                        && i < d.picture_id_offset + (d.picture_id_bits == 15 ? 2 : 1);
      gboolean in_tl0 = d.has_tl0picidx && i == d.tl0picidx_offset;

      if (!in_pid && !in_tl0 && buf[i] != data[i])
        __builtin_trap ();
      /* The M bit is the width: kept. */
      if (in_pid && i == d.picture_id_offset && (buf[i] & 0x80) != (data[i] & 0x80))
        __builtin_trap ();
    }
  if (!cf_vp8_descriptor_parse (buf, size, &again))
    __builtin_trap ();
  if (again.picture_id_bits != d.picture_id_bits || again.header_offset != d.header_offset
      || again.has_tl0picidx != d.has_tl0picidx || again.keyframe != d.keyframe
      || again.tid != d.tid || again.keyidx != d.keyidx)
    __builtin_trap ();
  if (d.picture_id_bits
      && again.picture_id != (new_pid & ((1u << d.picture_id_bits) - 1)))
    __builtin_trap ();
  if (d.has_tl0picidx && again.tl0picidx != new_tl0)
    __builtin_trap ();
  free (buf);
  return 0;
}
