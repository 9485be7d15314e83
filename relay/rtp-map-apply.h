/* belfry — a BfRtpMap (jingle/rtp-map.h) applied to a packet.
 *
 * Why apart from the map: the map is computed from two negotiations, pure
 * Jingle work (jingle-describe.c); applying it reads and rewrites a packet
 * through the one RTP header view (belfry/packet.h, relay/rtp-header.c),
 * which is the core's.  Used by the core's forwarding between linked
 * sessions (session-forward.c).  Pure code, any thread. */
#pragma once

#include <glib.h>
#include <belfry/packet.h>

#include "rtp-map.h"

G_BEGIN_DECLS

/* Rewrites an RTP packet in place by @map.  FALSE for a malformed packet
 * (bf_rtp_header_parse() refuses it, whatever the map; nothing is changed
 * then). */
gboolean bf_rtp_map_apply (const BfRtpMap *map, guint8 *data, gsize len);
/* The same for an RTP packet already parsed (a media() hook's @packet: no
 * second parse); @packet->rtp is kept in step. */
void bf_rtp_map_apply_packet (const BfRtpMap *map, BfPacket *packet);

G_END_DECLS
