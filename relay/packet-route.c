/* belfry — packet routing among a session's transports (packet-route.h). */
#include "packet-route.h"

#include <string.h>
#include <belfry/packet.h>

#define RTCP_SR 200
#define RTCP_RR 201
#define RTCP_RTPFB 205
#define RTCP_PSFB 206
#define MAX_RTCP_PACKETS 16       /* looked at in one compound packet */

void
bf_packet_route_init (BfPacketRoute *route)
{
  memset (route, 0, sizeof *route);
}

void
bf_packet_route_set_pt (BfPacketRoute *route, guint8 pt, guint transport)
{
  if (pt < 128 && transport < 255)
    route->pt[pt] = (guint8) (transport + 1);
}

static gint
find_ssrc (const BfPacketRoute *route, guint32 ssrc)
{
  for (guint i = 0; i < route->n_ssrcs; i++)
    if (route->ssrcs[i].ssrc == ssrc)
      return (gint) i;
  return -1;
}

void
bf_packet_route_set_ssrc (BfPacketRoute *route, guint32 ssrc, guint transport)
{
  if (transport >= 255)
    return;
  gint i = find_ssrc (route, ssrc);
  if (i < 0)
    {
      if (route->n_ssrcs < BF_PACKET_ROUTE_MAX_SSRCS)
        i = (gint) route->n_ssrcs++;
      else
        {
          i = (gint) route->next;
          route->next = (route->next + 1) % BF_PACKET_ROUTE_MAX_SSRCS;
        }
      route->ssrcs[i].ssrc = ssrc;
    }
  route->ssrcs[i].transport = (guint8) transport;
}

void
bf_packet_route_learn (BfPacketRoute *route, gboolean is_rtcp, const guint8 *data, gsize len,
                       guint transport)
{
  if (is_rtcp && len >= 8)
    bf_packet_route_set_ssrc (route, bf_read_be32 (data + 4), transport);
  else if (!is_rtcp && len >= 12)
    bf_packet_route_set_ssrc (route, bf_read_be32 (data + 8), transport);
}

static gboolean
lookup_ssrc (const BfPacketRoute *route, guint32 ssrc, guint *transport)
{
  gint i = find_ssrc (route, ssrc);
  if (i < 0)
    return FALSE;
  *transport = route->ssrcs[i].transport;
  return TRUE;
}

/* One RTCP packet (RFC 3550 §6.4, RFC 4585 §6.1): the SSRCs it is about,
 * most telling first.  @len is the packet's own length. */
static gboolean
route_rtcp_packet (const BfPacketRoute *route, const guint8 *p, gsize len, guint *transport)
{
  guint8 type = p[1];
  guint count = p[0] & 0x1f;
  if (len < 8)
    return FALSE;
  guint32 sender = bf_read_be32 (p + 4);
  if (type == RTCP_SR)
    {
      /* About its sender's stream first; then the first report block. */
      if (lookup_ssrc (route, sender, transport))
        return TRUE;
      return count > 0 && len >= 28 + 24 && lookup_ssrc (route, bf_read_be32 (p + 28), transport);
    }
  if (type == RTCP_RR)
    return (count > 0 && len >= 8 + 24 && lookup_ssrc (route, bf_read_be32 (p + 8), transport))
           || lookup_ssrc (route, sender, transport);
  /* RFC 5104 §4.3.1.1: a FIR's media source is 0; its FCI names the
   * stream. */
  if (type == RTCP_PSFB && count == 4 && len >= 16
      && lookup_ssrc (route, bf_read_be32 (p + 12), transport))
    return TRUE;
  if (type == RTCP_RTPFB || type == RTCP_PSFB)
    return (len >= 12 && lookup_ssrc (route, bf_read_be32 (p + 8), transport))
           || lookup_ssrc (route, sender, transport);
  return lookup_ssrc (route, sender, transport);   /* SDES, BYE, APP, XR: their source */
}

guint
bf_packet_route_lookup (const BfPacketRoute *route, gboolean is_rtcp, const guint8 *data,
                        gsize len)
{
  guint transport = 0;
  if (!is_rtcp)
    {
      if (len < 12)
        return 0;
      guint8 pt = data[1] & 0x7f;
      if (route->pt[pt])
        return route->pt[pt] - 1u;
      return lookup_ssrc (route, bf_read_be32 (data + 8), &transport) ? transport : 0;
    }
  /* A compound packet: the first of its packets that names a known SSRC. */
  gsize off = 0;
  for (guint n = 0; n < MAX_RTCP_PACKETS && off + 4 <= len; n++)
    {
      gsize plen = (gsize) bf_read_be16 (data + off + 2) * 4 + 4;
      if (plen > len - off)
        break;
      if (route_rtcp_packet (route, data + off, plen, &transport))
        return transport;
      off += plen;
    }
  return 0;
}
