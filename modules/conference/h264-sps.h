/* The frame size an H.264 sequence parameter set (SPS, NAL unit type 7)
 * announces (ITU-T H.264 §7.3.2.1.1 and §7.4.2.1.1: the picture size in
 * macroblocks, field or frame coding, and the cropping rectangle).
 *
 * Why: the SFU caps the simulcast layer a receiver gets by the size it
 * displays (bandwidth.h), which needs each layer's frame size; a VP8
 * layer's is in its keyframe header (vp8-descriptor.h), an H.264 layer's
 * only in its SPS, which the senders the room takes send in-band before
 * each IDR (h264-packet.h).
 *
 * Read without decoding anything else: the RBSP is unescaped (emulation
 * prevention bytes, §7.4.1) into a bounded buffer, the fields before the
 * size read with a bounded bit reader (Exp-Golomb codes of at most 31
 * leading zero bits, scaling lists of the high profiles, the picture order
 * count cycle of at most 255 entries).  Not written from the H.264 text
 * itself (not in the project's specs folder): from the syntax tables as
 * published, checked against x264's SPSs (tests/unit/test-conference-
 * h264.c).
 *
 * Pure code, no state; every read is bounded by @len (fuzz-conference-h264).
 * Threads: none of its own, callable anywhere (the room's worker uses it). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Beyond this an SPS is refused (16384 pixels: 1024 macroblocks). */
#define CF_H264_SPS_MAX_SIZE 16384

/* TRUE and the cropped frame size in *@width, *@height (1 to
 * CF_H264_SPS_MAX_SIZE each) when @nal[0..@len) is a whole SPS NAL unit
 * (its one-byte header first, type 7) whose fields up to the cropping
 * rectangle are present and within their ranges; FALSE otherwise (the
 * outputs untouched). */
gboolean cf_h264_sps_size (const guint8 *nal, gsize len, guint *width, guint *height);

G_END_DECLS
