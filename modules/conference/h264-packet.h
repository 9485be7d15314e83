/* What the SFU reads of an H.264 RTP packet (RFC 6184, packetization
 * mode 1, non-interleaved) without decoding it: which NAL units it carries
 * or starts, and whether it starts a keyframe.
 *
 * Why: a forwarded H.264 stream (sfu-stream.h) starts or switches layers
 * only at a keyframe, and a keyframe request toward an H.264 sender
 * (keyframe-requests.h) is answered once one is seen; both need to tell a
 * keyframe from a delta frame in the packets as they pass.  An IDR
 * picture (NAL type 5) is what decodes on its own; the senders that
 * matter (libwebrtc, x264 through rtph264pay, OpenH264) send the SPS (7)
 * and PPS (8) in-band right before it, in packets of their own or in one
 * STAP-A, with the IDR's RTP timestamp.  A decoder needs them first, so
 * a packet with an SPS counts as starting a keyframe, and so does an
 * IDR's first packet (for parameter sets sent out of band): a stream
 * switches at the first of them, the SPS when it is in-band.  An encoder
 * that repeats its SPS before delta frames would make a switch start one
 * picture early (a decoder error until the next IDR); the senders above
 * do not.
 *
 * Packetizations read: a single NAL unit packet (types 1-23), STAP-A (24:
 * 16-bit sizes, each unit present whole) and FU-A (28: an IDR counts at
 * its fragment with the start bit).  The interleaved mode's types (STAP-B
 * 25, MTAP 26/27, FU-B 29) and the undefined ones (0, 30, 31) are refused:
 * the room negotiates mode 1 only (conference.c, sfu-signal.c).
 *
 * Pure code, no state; every read is bounded by @len (fuzz-conference-h264).
 * Threads: none of its own, callable anywhere (the room's worker uses it). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint8 type;              /* the packet's: 1-23 one NAL unit, 24 STAP-A, 28 FU-A */
  guint8 nal_type;          /* the first NAL unit it carries or (FU-A) fragments */
  guint n_units;            /* NAL units carried whole (an FU-A: 0) */
  gboolean fu_start, fu_end;/* FU-A: the fragment's S and E bits */
  gboolean has_sps;         /* an SPS (7) whole in it... */
  gsize sps_offset, sps_len;/* ...the first one's bytes (NAL header first) */
  gboolean has_pps;         /* a PPS (8) whole in it */
  gboolean idr_start;       /* an IDR slice (5) whole, or its first fragment */
  gboolean keyframe;        /* has_sps or idr_start: the packet starts a keyframe */
} CfH264Packet;

/* TRUE and @h filled when @payload[0..@len) (an RTP payload, without the
 * RTP header and padding) is a well-formed mode-1 packet: a NAL unit
 * header of a type above, every STAP-A unit non-empty, within the payload
 * and itself a single NAL unit type, an FU-A with its two headers, one
 * byte of fragment at least and not both S and E.  FALSE (and @h
 * undefined) otherwise. */
gboolean cf_h264_packet_parse (const guint8 *payload, gsize len, CfH264Packet *h);

G_END_DECLS
