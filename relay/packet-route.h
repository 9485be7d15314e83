/* belfry — which of a session's transports an RTP or RTCP packet leaves on.
 *
 * Why: a peer that does not BUNDLE (Dino: one ICE-UDP transport per
 * content, no XEP-0338 group) gives a session one transport per content,
 * but modules send to a session, not to a content.  RTP goes by payload
 * type: each content negotiated its own numbers (XEP-0167 §4; clients keep
 * them distinct across contents, as SDP does across m-lines).  RTCP has no
 * payload type, so it goes by SSRC: the transport the SSRC was announced on
 * (XEP-0339), or last seen on, received from the peer or sent to it.  RTCP
 * about a stream (a receiver report, NACK, PLI) follows the stream it is
 * about; a sender report follows its sender.  Anything unknown goes on the
 * first transport.  A BUNDLE'd session has one transport and never asks.
 *
 * Pure code: no I/O.  One owner: the session's media worker. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BF_PACKET_ROUTE_MAX_SSRCS 64

typedef struct {
  guint32 ssrc;
  guint8 transport;
} BfPacketRouteSsrc;

typedef struct {
  guint8 pt[128];                 /* transport index + 1; 0: unknown */
  guint n_ssrcs;
  guint next;                     /* the entry replaced next when full */
  BfPacketRouteSsrc ssrcs[BF_PACKET_ROUTE_MAX_SSRCS];
} BfPacketRoute;

void bf_packet_route_init (BfPacketRoute *route);
/* @transport: an index below 255. */
void bf_packet_route_set_pt (BfPacketRoute *route, guint8 pt, guint transport);
/* Known SSRCs are moved; a full table replaces its entries in turn
 * (bounded: a peer sending ever new SSRCs only churns it). */
void bf_packet_route_set_ssrc (BfPacketRoute *route, guint32 ssrc, guint transport);
/* Notes the SSRC a packet carries (RTP: its own; RTCP: the first
 * packet's sender) as being on @transport.  Malformed packets are
 * ignored. */
void bf_packet_route_learn (BfPacketRoute *route, gboolean is_rtcp, const guint8 *data,
                            gsize len, guint transport);
/* The transport index for a packet to send: 0 when nothing is known. */
guint bf_packet_route_lookup (const BfPacketRoute *route, gboolean is_rtcp, const guint8 *data,
                              gsize len);

G_END_DECLS
