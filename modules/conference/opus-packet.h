/* What the mixer reads of an Opus packet without decoding it: the TOC
 * byte's mode and frame duration (RFC 6716 §3.1), the framing of codes
 * 0-3 with every length rule of §3.2 (R1-R7; a packet breaking one is
 * refused), and, for SILK and hybrid frames, the first frame's voice
 * activity (VAD) and LBRR (in-band FEC) flags.  Those are the first
 * symbols of the range coder, each coded with probability 1/2 (§4.2.3,
 * §4.2.4), so they are the leading bits of the frame's first byte.  Pure
 * code, no state; every read is bounded by @len (fuzz-conference-opus). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_OPUS_MAX_FRAME_BYTES 1275    /* §3.2.1 R2 */
#define CF_OPUS_MAX_SAMPLES 5760        /* 120 ms at 48 kHz, §3.2.5 R5 */

typedef enum {
  CF_OPUS_SILK,
  CF_OPUS_HYBRID,
  CF_OPUS_CELT,
} CfOpusMode;

typedef struct {
  guint config;          /* TOC bits 7..3, 0..31 */
  CfOpusMode mode;
  gboolean stereo;
  guint frame_samples;   /* one frame's duration at 48 kHz */
  guint frames;          /* 1..48 */
  guint samples;         /* the packet's duration at 48 kHz: frames * frame_samples */
  gsize first_offset;    /* the first frame's bytes: payload[first_offset, +first_len) */
  gsize first_len;
  gint vad;              /* first frame: 1 voice, 0 none, -1 unknown (CELT-only, empty frame) */
  gint lbrr;             /* first frame: 1 it carries FEC for the previous frame, 0 not, -1 unknown */
  gboolean dtx;          /* 1-2 bytes: a DTX frame (no audio coded) */
} CfOpusInfo;

/* TRUE and @info filled when @data[0..@len) is a well-formed Opus packet;
 * FALSE (and @info undefined) otherwise. */
gboolean cf_opus_packet_parse (const guint8 *data, gsize len, CfOpusInfo *info);

G_END_DECLS
