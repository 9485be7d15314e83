/* bf_rtp_map_apply (rtp-map-apply.h): payload type and RFC 8285
 * header extension ids rewritten in place, through the one RTP view
 * (packet.h): the packet is parsed and checked whole first, so a
 * malformed one is left untouched. */
#include "build-config.h"

#include "rtp-map-apply.h"

typedef struct {
  const BfRtpMap *map;
  gboolean one_byte;
} MapWalk;

static gboolean
map_extension (guint8 *id_byte, guint8 id, guint8 *elem, gsize len, gpointer user_data)
{
  const MapWalk *walk = user_data;
  guint8 to = walk->map->ext[id];
  (void) elem;
  (void) len;
  if (walk->one_byte)
    {
      /* One-byte form: only ids 1..14 fit, the length nibble stays. */
      if (to >= 1 && to <= 14)
        *id_byte = (guint8) ((to << 4) | (*id_byte & 0x0f));
    }
  else if (to != 0)
    *id_byte = to;
  return TRUE;
}

void
bf_rtp_map_apply_packet (const BfRtpMap *map, BfPacket *packet)
{
  g_return_if_fail (!packet->is_rtcp);
  if (map->identity)
    return;
  bf_rtp_set_payload_type (packet->data, &packet->rtp, map->pt[packet->rtp.payload_type]);
  MapWalk walk = { map, packet->rtp.ext_profile == 0xBEDE };
  bf_rtp_header_foreach_extension (&packet->rtp, packet->data, map_extension, &walk);
}

gboolean
bf_rtp_map_apply (const BfRtpMap *map, guint8 *data, gsize len)
{
  BfPacket packet = { .data = data, .len = len };
  if (!bf_rtp_header_parse (data, len, &packet.rtp))
    return FALSE;
  bf_rtp_map_apply_packet (map, &packet);
  return TRUE;
}
