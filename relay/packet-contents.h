/* belfry — which content a packet from a session's peer belongs to, and
 * the BfPacket (include/belfry/packet.h) its module's media() hook gets.
 *
 * Why: the core parses each packet once, on the worker, and tells the
 * module the content it is about; the worker never reads the session's
 * descriptions (the main thread goes on changing them), so the main
 * thread copies what this needs into a BfPacketContents and posts it.
 * RTP goes by payload type (each content negotiated its own numbers,
 * XEP-0167 §4); RTCP has none, so it goes by the transport it came on
 * when that carries one content only, and is NULL on a BUNDLE'd one.
 *
 * Pure code: no I/O.  One owner: the session's media worker. */
#pragma once

#include <glib.h>
#include <belfry/packet.h>

G_BEGIN_DECLS

#define BF_PACKET_CONTENTS_MAX_TRANSPORTS 8

typedef struct {
  char **names;            /* the session's contents, NULL-terminated; NULL: none */
  guint n_names;
  guint8 pt[128];          /* payload type -> index in names + 1; 0: none */
  guint8 transport[BF_PACKET_CONTENTS_MAX_TRANSPORTS];
                           /* transport -> its one content's index + 1;
                            * 0: none, or several (BUNDLE) */
} BfPacketContents;

/* Fills @packet for the @len bytes at @data that came on @transport, at
 * @arrival: content, and for RTP the header view.  FALSE for RTP that
 * bf_rtp_header_parse() refuses (drop it, and count it). */
gboolean bf_packet_contents_fill (const BfPacketContents *contents, guint transport,
                                  gboolean is_rtcp, guint8 *data, gsize len, gint64 arrival,
                                  BfPacket *packet);

G_END_DECLS
