/* The VP8 RTP payload descriptor (RFC 7741 §4.2), what the SFU reads and
 * rewrites of a VP8 packet without decoding it: the X/N/S/PID byte, the
 * I/L/T/K extension with a 7- or 15-bit PictureID, TL0PICIDX, and the
 * TID/Y/KEYIDX byte; where the VP8 payload header starts and whether the
 * packet starts a keyframe (S=1, PID=0 and the payload header's P bit 0,
 * RFC 7741 §4.3 and RFC 6386 §9.1).  RFC 7741 is not in the project's
 * specs folder: this follows the RFC as published, from knowledge of it.
 *
 * Why: a forwarding SFU (sfu-stream.h) switches layers only at a keyframe,
 * drops temporal layers by TID, and keeps PictureID and TL0PICIDX
 * continuous for the receiver across switches: it needs these fields and
 * their offsets in the packet, and an in-place rewrite that keeps each
 * field's width (a 7-bit PictureID stays 7 bits: the packet never grows).
 *
 * Pure code, no state; every read is bounded by @len (fuzz-conference-vp8).
 * Threads: none of its own, callable anywhere (the room's worker uses it). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gboolean non_reference;   /* N: the frame may be discarded without affecting others */
  gboolean start;           /* S: the packet starts a VP8 partition */
  guint partition;          /* PID, 0..7 */

  guint picture_id_bits;    /* 0 (no PictureID), 7 or 15 (M bit) */
  guint16 picture_id;
  gsize picture_id_offset;  /* its first byte in the payload (the one with M) */

  gboolean has_tl0picidx;
  guint8 tl0picidx;
  gsize tl0picidx_offset;

  gboolean has_tid;         /* T: TID and Y are meaningful */
  guint8 tid;               /* 0..3 */
  gboolean layer_sync;      /* Y */
  gboolean has_keyidx;      /* K */
  guint8 keyidx;            /* 0..31 */

  gsize header_offset;      /* the descriptor's length: the VP8 payload
                             * header (or partition data) starts here, and
                             * at least one byte of it is present */
  gboolean keyframe;        /* S=1, PID=0 and the payload header's P bit is 0 */
  guint width, height;      /* a keyframe's frame size (14 bits each, RFC 6386
                             * §9.1) when its 10 first bytes are present with
                             * the start code; 0 otherwise */
} CfVp8Descriptor;

/* TRUE and @d filled when @payload[0..@len) (an RTP payload, without the
 * RTP header and padding) holds a complete descriptor followed by at
 * least one byte; FALSE (and @d undefined) otherwise. */
gboolean cf_vp8_descriptor_parse (const guint8 *payload, gsize len, CfVp8Descriptor *d);

/* Rewrite the PictureID / TL0PICIDX of a payload @d was parsed from, in
 * place, keeping the field's width: @picture_id is taken modulo 2^7 or
 * 2^15 (the M bit kept).  No-ops when the packet has no such field.  @d
 * is kept in step. */
void cf_vp8_descriptor_set_picture_id (guint8 *payload, CfVp8Descriptor *d, guint16 picture_id);
void cf_vp8_descriptor_set_tl0picidx (guint8 *payload, CfVp8Descriptor *d, guint8 tl0picidx);

G_END_DECLS
