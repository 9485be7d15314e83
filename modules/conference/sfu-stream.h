/* One forwarded video stream toward one receiver, in the SFU: the sender's
 * simulcast layers (one SSRC each, layer 0 the lowest) come in, the
 * currently selected layer goes out, rewritten in place so the receiver
 * sees one continuous VP8 or H.264 stream of one SSRC of ours.
 *
 * Why: a receiver's decoder and jitter buffer know nothing of simulcast.
 * When the room changes the layer a receiver gets (bandwidth, last-N, the
 * layout), the switch must happen at a keyframe of the new layer (anything
 * else is undecodable until one comes, so the stream asks for one), and
 * the receiver must see no seam:
 *   - SSRC: always ours;
 *   - sequence numbers: continuous, with no gaps for the packets dropped
 *     on purpose (other layers, dropped temporal layers) but with the gaps
 *     of real losses of the forwarded layer kept, so the receiver's NACKs
 *     still name them; cf_sfu_stream_nack_lookup maps a NACKed sequence
 *     number back to the source layer's (bounded history) for the room's
 *     retransmission buffer;
 *   - RTP timestamps: continuous and never backwards across a switch: the
 *     new layer's offset comes from the wall-clock time since the last
 *     forwarded frame, so the receiver's jitter buffer sees the real
 *     timing (layers of one sender have unrelated timestamp bases);
 *   - VP8 PictureID (7 or 15 bits, its width per packet kept) and
 *     TL0PICIDX: continuous across switches and across dropped pictures.
 * Temporal layers above the receiver's maximum TID are dropped (raised
 * again at a layer-sync packet, Y=1, or a keyframe).  H.264 (RFC 6184
 * mode 1) has none of the VP8 fields: only SSRC, sequence numbers and
 * timestamps are rewritten, and a keyframe is a packet with the SPS or an
 * IDR's first (h264-packet.h); the payload is never touched.
 *
 * Pure code: no sockets, no main loop, no BfSession.  The caller hands each
 * RTP packet (already parsed by bf_rtp_header_parse, as a BfPacket is) and
 * its arrival time; the stream rewrites it in place or says drop.
 * Threads: one owner thread, the room's worker; no locking. */
#pragma once

#include <glib.h>
#include <belfry/packet.h>

#include "vp8-descriptor.h"

G_BEGIN_DECLS

#define CF_SFU_MAX_LAYERS 4
#define CF_SFU_NACK_HISTORY 512               /* our sequence numbers remembered */
#define CF_SFU_KEYFRAME_INTERVAL_US (G_USEC_PER_SEC / 2)  /* between two requests */
#define CF_SFU_MAX_SEQ_JUMP 3000              /* a larger jump restarts the numbering */

typedef struct CfSfuStream CfSfuStream;

/* The codec of a sender's video, as forwarded without decoding. */
typedef enum {
  CF_SFU_VP8,              /* RFC 7741 */
  CF_SFU_H264,             /* RFC 6184, packetization-mode 1 */
} CfSfuCodec;

typedef enum {
  CF_SFU_FORWARD,          /* send it: rewritten in place */
  CF_SFU_DROP_LAYER,       /* not the forwarded layer (or none is yet) */
  CF_SFU_DROP_TEMPORAL,    /* a temporal layer above the target */
  CF_SFU_DROP_OLD,         /* too old, before the switch, or a duplicate */
  CF_SFU_DROP_MALFORMED,   /* no valid VP8 descriptor, or no mode-1 H.264 packet */
  CF_SFU_DROP_UNKNOWN,     /* an SSRC that is none of the layers' */
} CfSfuVerdict;

typedef struct {
  guint64 forwarded;
  guint64 dropped_layer;
  guint64 dropped_temporal;
  guint64 dropped_old;
  guint64 dropped_malformed;
  guint64 dropped_unknown;
  guint64 switches;
  guint64 keyframe_requests;
} CfSfuStats;

/* What the stream reads of an RTP payload of @codec: TRUE and @d filled
 * when it is well formed (vp8-descriptor.h; for H.264 only ->keyframe,
 * ->header_offset 0 and, from an SPS in the packet, ->width and ->height
 * (h264-sps.h) are set, the rest is zero: nothing of the payload is
 * rewritten).  The room reads each packet once this way for what all
 * receivers share (keyframes seen, the part a stream rewrites). */
gboolean cf_sfu_payload_parse (CfSfuCodec codec, const guint8 *payload, gsize len,
                               CfVp8Descriptor *d);

/* @ssrc is ours (what the receiver sees), @clock_rate the video clock
 * (90000), @codec the sender's. */
CfSfuStream *cf_sfu_stream_new (guint32 ssrc, guint32 clock_rate, CfSfuCodec codec);
void cf_sfu_stream_free (CfSfuStream *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfSfuStream, cf_sfu_stream_free)

/* The source SSRC of simulcast layer @layer (0 the lowest; 0 SSRC: none). */
void cf_sfu_stream_set_layer_ssrc (CfSfuStream *s, guint layer, guint32 ssrc);

/* The layer this receiver should get (-1: none, forwarding stops at once)
 * and the highest temporal layer (TID) it should get (3: all).  The
 * stream switches at the target's next keyframe and asks for one
 * (cf_sfu_stream_keyframe_request). */
void cf_sfu_stream_set_target (CfSfuStream *s, gint layer, guint max_tid);

/* One RTP packet @data[0..@len) of the sender, @rtp its parsed header,
 * @arrival monotonic µs.  CF_SFU_FORWARD: @data has been rewritten (SSRC,
 * sequence, timestamp; VP8's PictureID, TL0PICIDX) and goes to the receiver;
 * anything else: drop it. */
CfSfuVerdict cf_sfu_stream_push (CfSfuStream *s, guint8 *data, gsize len,
                                 const BfRtpHeader *rtp, gint64 arrival);

/* TRUE, with the source SSRC to send a PLI (RFC 4585 §6.3.1) or FIR to,
 * when a switch waits for a keyframe and none was asked for within
 * CF_SFU_KEYFRAME_INTERVAL_US of @now; the request counts as made.  The
 * room calls it after each push and on its tick. */
gboolean cf_sfu_stream_keyframe_request (CfSfuStream *s, gint64 now, guint32 *ssrc);

/* The source (SSRC, sequence number) behind our sequence number @seq, for
 * a NACK (RFC 4585 §6.2.1) from the receiver: a packet forwarded, or one
 * of the forwarded layer lost before reaching us (a gap we kept), among
 * the last CF_SFU_NACK_HISTORY.  FALSE when unknown. */
gboolean cf_sfu_stream_nack_lookup (const CfSfuStream *s, guint16 seq,
                                    guint32 *src_ssrc, guint16 *src_seq);

/* The layer forwarded now (-1: none) and the target. */
gint cf_sfu_stream_get_layer (const CfSfuStream *s);
gint cf_sfu_stream_get_target (const CfSfuStream *s);
/* Asks the CPU for the lines _push reads first (all but its histories'
 * entries), ahead of the push: the room goes through thousands of
 * streams in turn, each one's lines a cache miss otherwise. */
void cf_sfu_stream_prefetch (const CfSfuStream *s);
/* A target it does not forward yet: cf_sfu_stream_keyframe_request may
 * still ask for a keyframe.  Only _set_target and _set_layer_ssrc make a
 * stream wait; a keyframe of the target (or no target) ends it. */
gboolean cf_sfu_stream_waiting (const CfSfuStream *s);
const CfSfuStats *cf_sfu_stream_get_stats (const CfSfuStream *s);

G_END_DECLS
