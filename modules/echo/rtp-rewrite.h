/* RTP SSRC rewriting and RTCP translation for the media echo.  The echo
 * sends a caller's own media back to it under the echo's own SSRCs: RTP
 * from the caller gets its SSRC rewritten remote -> local, and the caller's
 * RTCP is translated into what the echo, as the sender of those streams,
 * may send back (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, REMB and
 * transport-wide CC feedback).  Pure code, no I/O, no global state; every
 * packet is hostile and every read is bounded by its length. */
#pragma once

#include <glib.h>
#include <belfry/packet.h>

G_BEGIN_DECLS

#define EC_MAX_SSRCS 32

/* One caller SSRC (remote) and the echo SSRC (local) that replaces it. */
typedef struct {
  guint32 remote;
  guint32 local;
} EcSsrcPair;

/* A bijection remote (caller's) <-> local (echo's).  Zero-initialise it
 * (EcSsrcMap map = { 0 };) and fill it with ec_ssrc_map_add() only: no
 * remote and no local appears twice, no local equals any remote (the echo
 * shares the caller's RTP session, so that would be an SSRC collision),
 * and no local is 0 (0 means "unused" in several feedback headers). */
typedef struct {
  EcSsrcPair pairs[EC_MAX_SSRCS];
  guint n;
} EcSsrcMap;

/* Adds @remote <-> @local.  TRUE when added or when that exact pair is
 * already there; FALSE when the map is full, @local is 0, or either SSRC
 * is already used in another pair or on the other side. */
gboolean ec_ssrc_map_add (EcSsrcMap *map, guint32 remote, guint32 local);
gboolean ec_ssrc_map_to_local (const EcSsrcMap *map, guint32 remote, guint32 *local);
gboolean ec_ssrc_map_to_remote (const EcSsrcMap *map, guint32 local, guint32 *remote);

/* Returns a fresh random SSRC for ec_rtp_rewrite(). */
typedef guint32 (*EcSsrcGenerator) (gpointer data);

/* Validates an RTP packet (bf_rtp_header_parse, packet.h: RFC 3550 §5.1
 * version 2, CSRC list, header extension and its RFC 8285 one-byte /
 * two-byte elements, padding count within the payload) and rewrites its SSRC remote -> local in place.
 * Nothing else is touched (CSRCs neither).  FALSE (drop the packet, the
 * buffer is unchanged) when the packet is malformed, or when its SSRC is
 * unknown and !@add_unknown.  With @add_unknown (and @gen), an unknown SSRC
 * gets a local SSRC from @gen, retried a few times if it collides, and the
 * pair is added to @map; FALSE when the map is full or no usable SSRC came. */
gboolean ec_rtp_rewrite (guint8 *pkt, gsize len, EcSsrcMap *map, gboolean add_unknown,
                         EcSsrcGenerator gen, gpointer gen_data);
/* The same for a packet bf_rtp_header_parse() already accepted into @rtp
 * (the media() hook's): no second parse; @rtp->ssrc is kept in step. */
gboolean ec_rtp_rewrite_parsed (guint8 *pkt, BfRtpHeader *rtp, EcSsrcMap *map,
                                gboolean add_unknown, EcSsrcGenerator gen, gpointer gen_data);

/* Translates an RTCP compound packet from the caller into the compound to
 * send back to it, written to @out (@out_cap >= @len, no overlap with @in).
 * Returns the output length, a multiple of 4 and never more than @len;
 * 0 means nothing to send: either nothing survived, or the compound is
 * malformed (the caller counts those; see below).  @map is only read.
 *
 * Every packet is checked (version 2, length in 32-bit words within the
 * compound, padding only on the last packet with a count within the packet,
 * payload type 192..223, the layout of each type below); anything malformed
 * drops the whole compound.  Padding is removed on output.
 *   SR    sender SSRC remote -> local, report blocks and profile extensions
 *         removed (RC = 0); unknown sender: SR dropped.
 *   RR    dropped (a length-0 RR with RC = 0 is accepted).
 *   SDES  each chunk's SSRC remote -> local, items kept; unknown chunks
 *         dropped; no chunk left: SDES dropped.
 *   BYE   SSRCs remote -> local, unknown ones dropped, reason kept; no SSRC
 *         left: BYE dropped.
 *   RTPFB / PSFB: sender SSRC remote -> local (unknown: the map's first
 *         local; empty map: dropped); media source SSRC local -> remote
 *         (unknown: dropped; 0 kept where the format leaves it unused: FIR,
 *         REMB, TWCC).  Generic NACK (RTPFB 1, at least one FCI entry),
 *         TWCC (RTPFB 15, chunks and deltas checked) and PLI (PSFB 1, no
 *         FCI) keep their FCI; FIR (PSFB 4) maps each FCI SSRC local ->
 *         remote and REMB (PSFB 15 "REMB") each listed SSRC, dropping
 *         unknown entries (none left: dropped).  Other FMTs: dropped.
 *   APP, XR and any other type: dropped.
 * The output may start with a packet other than SR/RR (RFC 5506 reduced
 * size), e.g. when the caller's RR is dropped. */
gsize ec_rtcp_translate (const guint8 *in, gsize len, EcSsrcMap *map, guint8 *out,
                         gsize out_cap);

G_END_DECLS
