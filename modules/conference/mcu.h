/* conference — the MCU: one composited picture of a room's video senders,
 * encoded once and shared by every listener that cannot take an SFU
 * stream per participant (issue 14, "The MCU for every client").
 *
 * Why it exists: an ordinary 1:1 client takes one video stream; the MCU
 * decodes each visible participant's VP8 or H.264 (RTP pushed from
 * belfry's packet path), places them in one layout with the active speaker
 * emphasised, and encodes that layout once per codec (VP8 and/or H.264,
 * real-time settings) into RTP that the room forwards to each MCU listener
 * of that codec under its own SSRC/sequence (the room's job: each codec's
 * output is one stream).  Not a parser of its own: RTP is
 * checked for length and version only, the jitter buffer and the
 * depayloader drop the rest, and the decoder ignores what it cannot decode.
 *
 * Pipeline (one GstPipeline per layout):
 *   per source: appsrc (live, do-timestamp, bounded) → rtpjitterbuffer
 *               (50 ms) → rtpvp8depay (wait for keyframe) → vp8dec, or
 *               rtph264depay (wait for keyframe) → avdec_h264 (openh264dec
 *               when libav is missing) (errors ignored) → videoconvert →
 *               compositor sink pad
 *   output:     compositor (black, live) → I420 WxH@fps → tee, then per
 *               codec (one after the other on the compositor's thread):
 *               valve (closed while no listener of the codec: no encode) →
 *                 vp8enc (deadline 1, CBR, lag 0, error-resilient) →
 *                 rtpvp8pay (15-bit PictureID), or
 *                 x264enc (tune zerolatency, speed-preset ultrafast, CBR,
 *                 constrained baseline, no B-frames) → rtph264pay (mode 1,
 *                 SPS/PPS before every IDR)
 *               → appsink → CfMcuOutput / cf_mcu_pull_packets
 * The compositor scales each source to its tile (pad width/height), so a
 * layout change is pad properties only, no renegotiation.
 *
 * Layout (documented in the README's conference section): with no speaker
 * (or one not among the sources) a grid of ceil(sqrt(n)) columns in the
 * order sources were added; with a speaker and n ≥ 2, "one big + strip":
 * the speaker's tile is 3/4 of the output's width and height, centred at
 * the top, the others in one row under it (at most 4 across at full
 * strip height, smaller when more), in the order added.  cf_mcu_get_tile
 * says where a source is.
 *
 * Codecs: one compositor, one encoder per codec in cfg.codecs (the room
 * asks for H.264 only when cf_mcu_codec_available says this machine has
 * x264enc and an H.264 decoder: gstreamer1.0-plugins-ugly, -libav); a
 * codec's encoder runs only while cf_mcu_set_codec_active says someone
 * takes it.  A keyframe request forces one in every active encoder (one
 * rate limit for all: a join of an H.264 listener also gives the VP8
 * listeners a keyframe, which costs a little bandwidth and nothing else).
 *
 * Idle: the pipeline runs (PLAYING) only while some source pushed RTP in
 * the last idle_timeout_ms; then it is PAUSED (no decode, no compose, no
 * encode: nothing burns CPU) and the next push resumes it and forces a
 * keyframe.
 *
 * Thread rule: the API is for one owner thread (the room's worker), except
 * cf_mcu_push_rtp and cf_mcu_get_stats, which any thread may call: they
 * never block (a short lock around a table lookup and appsrc's queue).
 * Everything GStreamer does (building and tearing down source branches,
 * state changes, the bus, keyframe requests) runs on GStreamer's streaming
 * threads and on one control thread of the MCU's own (`bf-mcu`), never on
 * the caller's; add/remove/speaker/keyframe only post a job there.  The
 * callbacks (CfMcuOutput, CfMcuEvents) run on those threads: they must
 * only queue (e.g. post to the room's worker).  cf_mcu_free blocks until
 * the pipeline is stopped and no callback runs any more.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_MCU_ERROR (cf_mcu_error_quark ())
GQuark cf_mcu_error_quark (void);

typedef enum {
  CF_MCU_ERROR_CODEC,      /* a codec this build cannot encode */
  CF_MCU_ERROR_CONFIG,     /* a size, rate or bitrate out of range */
  CF_MCU_ERROR_PIPELINE,   /* an element missing, or the pipeline would not start */
} CfMcuError;

typedef enum {
  CF_MCU_CODEC_VP8,
  CF_MCU_CODEC_H264,       /* RFC 6184 packetization-mode 1, constrained baseline */
  CF_MCU_N_CODECS
} CfMcuCodec;

#define CF_MCU_CODEC_BIT(c) (1u << (c))

/* "VP8", "H.264": for logs. */
const char *cf_mcu_codec_name (CfMcuCodec codec);
/* Whether this machine has the GStreamer elements to encode (@encode) or
 * decode @codec (checked once, then cached; a missing element is logged
 * once, naming the Debian package).  Any thread.  While cf_mcu_prepare's
 * thread runs, FALSE at once for what it has not checked yet (it never
 * waits); without cf_mcu_prepare, the first check initialises GStreamer
 * on the caller's thread. */
gboolean cf_mcu_codec_available (CfMcuCodec codec, gboolean encode);
/* Initialises GStreamer and checks every codec both ways on a thread of
 * its own, once per process: the first H.264 offer would otherwise read
 * (or rebuild) GStreamer's registry on the signalling thread (20 ms, or
 * 0.6-0.8 s with no registry cache).  Main thread, from the module's
 * start (not init: --check-config needs no GStreamer); _join (main
 * thread) waits for that thread, at the module's end. */
void cf_mcu_prepare (void);
void cf_mcu_prepare_join (void);

typedef struct {
  guint codecs;            /* CF_MCU_CODEC_BIT of each encoder wanted (not 0) */
  guint width, height;     /* output picture, even, 64..1920 × 64..1080 */
  guint fps;               /* 1..60 */
  guint bitrate_kbps;      /* target, CBR, 50..8000 */
  guint8 payload_type;     /* of the output RTP, every codec's (the room
                              rewrites it per listener) */
  guint keyframe_max_frames; /* a keyframe at least every N frames (0: 10 s) */
  guint jitter_latency_ms; /* per source (0: 50) */
  guint max_queue_packets; /* per source appsrc queue (0: 256), full: dropped + counted */
  guint idle_timeout_ms;   /* pause after this long without RTP (0: 1000) */
  guint keyframe_min_interval_ms; /* forced keyframes at most this often (0: 300) */
  guint max_out_queue;     /* packets held for cf_mcu_pull_packets (0: 1024; pull mode only) */
} CfMcuConfig;

/* VP8 only, 640×360 at 30 fps, 600 kb/s, payload type 96; the other
 * fields 0 (defaults). */
void cf_mcu_config_init (CfMcuConfig *cfg);

typedef struct _CfMcu CfMcu;

/* The encoded layout's RTP packets of @codec, in order, one call per
 * encoded frame (the packets of one frame: the room sends them in one
 * batch).  On a GStreamer streaming thread (one per codec): take a ref of
 * what you keep and return. */
typedef void (*CfMcuOutput) (CfMcuCodec codec, GBytes *const *packets, guint n_packets,
                             gpointer user_data);

typedef struct {
  /* The source's decoder lost sync (loss or a broken frame): the room
   * should ask that sender for a keyframe (PLI).  GStreamer thread. */
  void (*source_keyframe) (guint source_id, gpointer user_data);
  /* A source's branch failed and was removed (a g_warning names it); the
   * layout goes on without it.  Control thread. */
  void (*source_failed) (guint source_id, gpointer user_data);
  /* The pipeline failed as a whole (the output branch): the MCU stops
   * producing; the room should free it (never from inside this call) and
   * may make a new one.  Control thread. */
  void (*fatal) (const GError *error, gpointer user_data);
} CfMcuEvents;

/* @out may be NULL: then packets are held (bounded, oldest dropped and
 * counted) until cf_mcu_pull_packets.  @events may be NULL.  The pipeline
 * is built and started PAUSED; it plays once RTP arrives. */
CfMcu *cf_mcu_new (const CfMcuConfig *cfg, CfMcuOutput out, const CfMcuEvents *events,
                   gpointer user_data, GError **error);
void cf_mcu_free (CfMcu *mcu);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfMcu, cf_mcu_free)

/* A participant's VP8 or H.264 stream, @id the room's own number for it
 * (never a JID: it is what logs name; not 0).  FALSE if @id is taken, the
 * layout holds CF_MCU_MAX_SOURCES, or @codec cannot be decoded here
 * (cf_mcu_codec_available).  The control thread builds its branch and
 * lays the tiles out again soon after (cf_mcu_get_tile says when); the
 * tile is black until its first keyframe decodes, so the room asks the
 * sender for one (PLI) when it adds it.  Packets pushed before the branch
 * is built are dropped (counted as unknown). */
#define CF_MCU_MAX_SOURCES 16
gboolean cf_mcu_add_source (CfMcu *mcu, guint id, CfMcuCodec codec, guint8 payload_type,
                            guint clock_rate);
/* FALSE if unknown.  Its tile goes at once; the others are laid out again. */
gboolean cf_mcu_remove_source (CfMcu *mcu, guint id);

/* One RTP packet of source @id (copied; the caller keeps @rtp).  Never
 * blocks.  FALSE when dropped: unknown source, not RTP (shorter than 12
 * bytes, version not 2, longer than 1500 bytes), or the source's queue
 * full; each counted in the stats. */
gboolean cf_mcu_push_rtp (CfMcu *mcu, guint id, const guint8 *rtp, gsize len);

/* Emphasise @id (the audio mixer's loudest talker); 0 or an unknown id: no
 * emphasis (the grid).  Unchanged: nothing happens. */
void cf_mcu_set_speaker (CfMcu *mcu, guint id);

/* Whether @codec's encoder runs (a codec not in cfg.codecs: ignored).
 * All of cfg.codecs are active from the start; the room turns off a codec
 * nobody takes (its encoder then gets no frame and burns no CPU) and on
 * again when a listener of it joins (then asks for a keyframe). */
void cf_mcu_set_codec_active (CfMcu *mcu, CfMcuCodec codec, gboolean active);

/* A listener needs a keyframe (a PLI or FIR, a join).  Forced at most once
 * per keyframe_min_interval_ms; a request inside the interval is held and
 * forced when the interval ends (so none is lost, many become one). */
void cf_mcu_request_keyframe (CfMcu *mcu);

/* Pull mode (@out NULL): move @codec's packets produced so far into @into
 * (GBytes, owned by @into: make it with g_ptr_array_new_with_free_func
 * (g_bytes_unref)).  Returns the number moved.  Any thread. */
guint cf_mcu_pull_packets (CfMcu *mcu, CfMcuCodec codec, GPtrArray *into);

/* Where source @id's tile is in the current layout (what the compositor
 * was last told).  FALSE if unknown. */
gboolean cf_mcu_get_tile (CfMcu *mcu, guint id, guint *x, guint *y, guint *w, guint *h);

typedef struct {
  guint64 pushed;            /* packets accepted into a source queue */
  guint64 dropped_invalid;   /* not RTP by length or version */
  guint64 dropped_unknown;   /* no such source (or not started yet) */
  guint64 dropped_full;      /* the source's queue was full */
  guint64 packets_out;       /* RTP packets of the layout produced */
  guint64 frames_out;        /* encoded frames, every codec's */
  guint64 frames_out_codec[CF_MCU_N_CODECS];
  guint64 out_dropped;       /* pull mode: oldest dropped, the caller did not pull */
  guint64 keyframes_requested;
  guint64 keyframes_forced;  /* force-key-unit events sent to the encoder */
  guint64 sources_failed;
  guint64 resumes;           /* PAUSED → PLAYING on RTP */
  guint64 pauses;            /* PLAYING → PAUSED when idle */
  gboolean playing;
} CfMcuStats;

void cf_mcu_get_stats (CfMcu *mcu, CfMcuStats *stats);

/* For tests: make source @id's branch fail as a real element error would
 * (an error message posted by its decoder onto the bus); @id 0: the
 * output branch (its first encoder), a fatal error. */
void cf_mcu_inject_source_error (CfMcu *mcu, guint id);

G_END_DECLS
