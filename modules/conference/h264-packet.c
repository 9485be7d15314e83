/* H.264 RTP packets (RFC 6184 §5.6-5.8, mode 1): see h264-packet.h.
 *
 *   NAL unit header (§5.3):  |F|NRI|  Type   |
 *   STAP-A (§5.7.1):         header(24), then { 16-bit size, NAL unit }...
 *   FU-A (§5.8):             indicator(28) | S | E | R | Type of the unit |
 *
 * The forbidden (F) bit is not checked: a packet with it set is the
 * receiver's decoder's business (§5.3 lets it discard or conceal), and
 * the SFU forwards it as it came. */
#include "h264-packet.h"

#include <string.h>

#define NAL_IDR 5
#define NAL_SPS 7
#define NAL_PPS 8
#define NAL_STAP_A 24
#define NAL_FU_A 28

static void
saw_unit (CfH264Packet *h, guint8 type, gsize off, gsize size)
{
  if (type == NAL_SPS && !h->has_sps)
    {
      h->sps_offset = off;
      h->sps_len = size;
    }
  if (h->n_units == 0 && h->type == NAL_STAP_A)
    h->nal_type = type;
  h->n_units++;
  if (type == NAL_SPS)
    h->has_sps = TRUE;
  else if (type == NAL_PPS)
    h->has_pps = TRUE;
  else if (type == NAL_IDR)
    h->idr_start = TRUE;
}

gboolean
cf_h264_packet_parse (const guint8 *payload, gsize len, CfH264Packet *h)
{
  memset (h, 0, sizeof *h);
  if (payload == NULL || len < 1)
    return FALSE;
  h->type = payload[0] & 0x1f;

  if (h->type >= 1 && h->type <= 23)
    {
      h->nal_type = h->type;
      saw_unit (h, h->type, 0, len);
    }
  else if (h->type == NAL_STAP_A)
    {
      gsize off = 1;

      /* At least one unit (§5.7.1: "one or more"), each whole. */
      if (len < off + 2)
        return FALSE;
      while (off < len)
        {
          gsize size;
          guint8 type;

          if (len - off < 2)
            return FALSE;
          size = (gsize) payload[off] << 8 | payload[off + 1];
          off += 2;
          if (size == 0 || size > len - off)
            return FALSE;
          type = payload[off] & 0x1f;
          if (type < 1 || type > 23)
            return FALSE;
          saw_unit (h, type, off, size);
          off += size;
        }
    }
  else if (h->type == NAL_FU_A)
    {
      if (len < 3)
        return FALSE;
      h->fu_start = (payload[1] & 0x80) != 0;
      h->fu_end = (payload[1] & 0x40) != 0;
      h->nal_type = payload[1] & 0x1f;
      /* §5.8: a unit is never sent whole in one FU; an FU never carries
       * an aggregation or another fragment. */
      if ((h->fu_start && h->fu_end) || h->nal_type < 1 || h->nal_type > 23)
        return FALSE;
      if (h->fu_start && h->nal_type == NAL_IDR)
        h->idr_start = TRUE;
    }
  else
    return FALSE;

  h->keyframe = h->has_sps || h->idr_start;
  return TRUE;
}
