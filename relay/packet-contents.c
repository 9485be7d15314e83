/* belfry — the BfPacket of a packet from a session's peer (packet-contents.h). */
#include "build-config.h"

#include <string.h>

#include "packet-contents.h"

gboolean
bf_packet_contents_fill (const BfPacketContents *pc, guint transport, gboolean is_rtcp,
                         guint8 *data, gsize len, gint64 arrival, BfPacket *packet)
{
  memset (packet, 0, sizeof *packet);
  packet->data = data;
  packet->len = len;
  packet->is_rtcp = is_rtcp;
  packet->arrival = arrival;
  guint8 content;
  if (is_rtcp)
    content = transport < BF_PACKET_CONTENTS_MAX_TRANSPORTS ? pc->transport[transport] : 0;
  else
    {
      if (!bf_rtp_header_parse (data, len, &packet->rtp))
        return FALSE;
      content = pc->pt[packet->rtp.payload_type];
    }
  packet->content = content && content <= pc->n_names ? pc->names[content - 1] : NULL;
  return TRUE;
}
