/* libFuzzer target: H.264 RTP packets as the SFU reads them (RFC 6184
 * mode 1, modules/conference/h264-packet.c) on arbitrary bytes.
 *
 * Input: an RTP payload, copied into a buffer of exactly its size (so ASan
 * sees any read past it).  Checks, for a payload the parse takes:
 *   - the packet type is one NAL unit (1-23), STAP-A (24) or FU-A (28),
 *     and the first unit's type is a single NAL unit type;
 *   - a single NAL unit packet carries one unit, of the packet's type; a
 *     STAP-A at least one, and at most as many as there are 3-byte
 *     size+unit slots; an FU-A none, and never both S and E;
 *   - keyframe is exactly "an SPS, or an IDR starting": an FU-A is one only
 *     at the start of an IDR;
 *   - the parse is pure: the buffer is unchanged, and a second parse gives
 *     the same answer;
 *   - the SPS it reports lies in the payload, of type 7, and its frame
 *     size (h264-sps.c), when read, is within 1..CF_H264_SPS_MAX_SIZE;
 *     the whole input read as one SPS NAL unit too (same bounds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "h264-packet.h"
#include "h264-sps.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  CfH264Packet h, again;
  guint8 *buf = malloc (size ? size : 1);
  gboolean ok;

  guint w = 0, ht = 0;

  memcpy (buf, data, size);
  /* The input as an SPS NAL unit of its own. */
  if (cf_h264_sps_size (buf, size, &w, &ht)
      && (w < 1 || ht < 1 || w > CF_H264_SPS_MAX_SIZE || ht > CF_H264_SPS_MAX_SIZE))
    __builtin_trap ();
  ok = cf_h264_packet_parse (buf, size, &h);
  if (ok && h.has_sps)
    {
      if (h.sps_len < 1 || h.sps_offset + h.sps_len > size || (buf[h.sps_offset] & 0x1f) != 7)
        __builtin_trap ();
      if (cf_h264_sps_size (buf + h.sps_offset, h.sps_len, &w, &ht)
          && (w < 1 || ht < 1 || w > CF_H264_SPS_MAX_SIZE || ht > CF_H264_SPS_MAX_SIZE))
        __builtin_trap ();
    }
  if (memcmp (buf, data, size) != 0)
    __builtin_trap ();
  if (cf_h264_packet_parse (buf, size, &again) != ok)
    __builtin_trap ();
  free (buf);
  if (!ok)
    return 0;
  if (memcmp (&h, &again, sizeof h) != 0)
    __builtin_trap ();

  if (h.nal_type < 1 || h.nal_type > 23)
    __builtin_trap ();
  if (h.keyframe != (h.has_sps || h.idr_start))
    __builtin_trap ();
  if (h.type >= 1 && h.type <= 23)
    {
      if (h.n_units != 1 || h.nal_type != h.type || h.fu_start || h.fu_end)
        __builtin_trap ();
    }
  else if (h.type == 24)
    {
      if (h.n_units < 1 || h.n_units > (size - 1) / 3 || h.fu_start || h.fu_end)
        __builtin_trap ();
    }
  else if (h.type == 28)
    {
      if (h.n_units != 0 || size < 3 || (h.fu_start && h.fu_end) || h.has_sps || h.has_pps
          || h.idr_start != (h.fu_start && h.nal_type == 5))
        __builtin_trap ();
    }
  else
    __builtin_trap ();
  return 0;
}
