/* The conference audio mixer: Opus payloads in, one 20 ms Opus payload per
 * listener out, mix-minus (nobody hears their own voice).
 *
 * Why it is shaped this way (issue 13: <= 4 CPU-ms per participant-second
 * at 50 people):
 *   - Packets are never decoded on arrival.  cf_mixer_push() only parses
 *     the Opus TOC (opus-packet.h) and files the payload into the
 *     participant's jitter buffer (jitter.h), ordered by RTP timestamp:
 *     late, duplicate and out-of-order packets are handled there, and the
 *     buffer is bounded (CF_JITTER_MAX_PACKETS packets, at most
 *     jitter_ms + CF_JITTER_MAX_EXTRA_MS ahead of playout; beyond that the
 *     oldest frames are skipped and counted as dropped_overflow).  Its
 *     clock is the ticks: a buffer that runs 60 ms over its target for
 *     half a second (a sender's clock faster than the ticks, or ticks
 *     running slow) loses one unvoiced frame (drift_skips); one that keeps
 *     arriving late is re-anchored.  So the room should tick once per
 *     20 ms of monotonic time (not re-arm a 20 ms timeout after each tick,
 *     which drifts late), and report ticks it could not run with
 *     cf_mixer_skip().
 *   - Every tick picks at most K (max_talkers) talkers without decoding
 *     anyone: by the RFC 6464 audio level when the packet carried one, else
 *     by the Opus SILK VAD flag of the frame (first bit of the range coder,
 *     RFC 6716 §4.2.3); a DTX frame (1-2 bytes) is silence.  Only a
 *     CELT-only frame without a level carries nothing to go by: such a
 *     sender (e.g. an encoder in OPUS_APPLICATION_AUDIO at 64 kb/s, without
 *     the audio-level extension) is decoded every tick to measure its
 *     level (stats.measured; the frame is reused if it talks).  A smoothed
 *     loudness (fast attack, slow release, held while silent) ranks
 *     candidates, and a talker stays selected hangover_ms after its last
 *     voiced frame: within that time only someone 10 dB louder than it
 *     takes its place (no flapping in pauses between words).  Muted
 *     participants are never candidates, and a talker muted mid-sentence
 *     is cut at once (no fade-out frame: muted means not heard).
 *   - Only talkers are decoded (and the CELT senders above), with in-band
 *     FEC (the next packet's LBRR) for a lost frame when that packet is
 *     already here, PLC otherwise (a few frames, then silence).  A DTX gap
 *     (sequence numbers continuous, timestamp jump) is silence: not
 *     decoded.  A decoder that skipped packets (a talker newly selected)
 *     is reset first.
 *   - Gains ramp linearly over one frame: 0 -> 1 for a new talker, 1 -> 0
 *     for a talker dropped while it was still voiced by a louder one (that
 *     frame is still decoded, and that participant still gets its own
 *     mix-minus that tick).
 *   - The mix is summed once, in int32; each talker's mix-minus is the sum
 *     minus its own (gain-applied) contribution; saturation to int16
 *     happens once, at the end (clipping, never wrap-around).
 *   - One shared encoder encodes the whole mix once per tick, and every
 *     listener who is not a talker gets that SAME payload pointer.  Each
 *     talker has its own encoder for its mix-minus.  When a listener
 *     becomes a talker, its private encoder is a memcpy of the shared
 *     encoder's state (libopus documents OpusEncoder as position-
 *     independent: opus_encoder_get_size() bytes), so the stream its
 *     decoder follows continues without a discontinuity.  When a talker
 *     goes back to the shared encoder it has been silent for hangover_ms,
 *     so its mix-minus equalled the shared mix and both encoders coded the
 *     same signal.  Measured (test switch-no-glitch, against a listener
 *     who stays on the shared encoder): the switch to its own encoder is
 *     within the codec's noise (-35 dB and below; a fresh encoder instead
 *     of the copy is -2 dB off for a frame: a click); after the switch
 *     back its decoder's leftover from its own stream is -30 dB at worst,
 *     typically -40 dB: no spike.
 *   - Encoders: OPUS_APPLICATION_VOIP, mono 48 kHz, 20 ms, bitrate from the
 *     config (32 kb/s by default), complexity from the config, default 5:
 *     the encodes (K + 1 per tick) are most of the mixer's cost, and
 *     tests/bench/bench-conference-mixer measures a tick at complexity 10
 *     at about 1.8 times that of complexity 5 (~1.1 ms against ~0.6 ms
 *     with 3 talkers on a busy 2-core VM) for little audible gain in
 *     speech at 32 kb/s.  In-band FEC is on; each encoder's
 *     OPUS_SET_PACKET_LOSS_PERC is its listeners' loss figure
 *     (cf_mixer_set_listener_loss): a private encoder its listener's, the
 *     shared one the largest among the listeners it serves (both capped at
 *     30 %).  libopus's DTX is off:
 *     RFC 7587 §6.1 makes usedtx=0 the receiver's default, one encoder
 *     serves listeners whatever they asked for, and libopus's VAD turns a
 *     steady tone (hold music, a test tone) into comfort noise.
 *
 * What listeners get when nobody speaks: while talkers are in their
 * hangover, their (quiet) mix keeps being encoded and sent: the room's own
 * background noise is the comfort noise.  When there is no talker at all,
 * an encoder codes CF_MIXER_SILENT_TAIL frames of digital silence (so
 * every listener's decoder ends on silence, not on concealment of speech)
 * and then stops encoding altogether: listeners get no packets, as from a
 * sender in DTX (the RTP timestamp keeps running in the room, which sets
 * the marker bit on the first packet after the gap).  The same holds for a
 * talker alone in the room: its mix-minus is silence, so it gets nothing.
 *
 * Thread rule: pure code, no sockets, no BfSession, no GMainContext, no
 * global state; one owner thread (the room's media worker) calls every
 * function.  cf_mixer_remove() and cf_mixer_add() may be called from inside
 * the @out callback of cf_mixer_tick(): a removed participant gets no
 * further output in that tick and is freed at its end; an added one takes
 * part from the next tick.  Every call is O(1) or O(participants). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_MIXER_RATE 48000
#define CF_MIXER_FRAME 960                 /* samples per 20 ms tick */
#define CF_MIXER_MIN_TALKERS 1
#define CF_MIXER_MAX_TALKERS 5
#define CF_MIXER_SILENT_TAIL 5             /* frames of silence before an idle encoder stops */

typedef struct _CfMixer CfMixer;

typedef struct {
  guint max_talkers;        /* K, 1..5 (3..5 in practice); 0: 3 */
  guint jitter_ms;          /* target depth of each jitter buffer, 20..200; 0: 40 */
  guint hangover_ms;        /* a talker stays selected this long after its last voiced frame; 0: 300 */
  gint complexity;          /* libopus encoder complexity 0..10; -1: 5 (see above) */
  gint bitrate;             /* bits/s per encoder, 6000..128000; 0: 32000 */
} CfMixerConfig;

/* Fills @config with the defaults above. */
void cf_mixer_config_init (CfMixerConfig *config);

/* NULL: defaults.  Out-of-range values are clamped to the ranges above.
 * Start from cf_mixer_config_init(): a zeroed config means complexity 0. */
CfMixer *cf_mixer_new (const CfMixerConfig *config);
void cf_mixer_free (CfMixer *mixer);

/* A participant: small integer id chosen by the mixer, stable until
 * removed (ids of removed participants are reused). */
guint cf_mixer_add (CfMixer *mixer);
void cf_mixer_remove (CfMixer *mixer, guint id);
/* A muted participant is never a talker (its packets are still buffered,
 * so unmuting needs no resynchronisation). */
void cf_mixer_set_muted (CfMixer *mixer, guint id, gboolean muted);
/* A deaf participant is sent nothing (@out is not called for it): an
 * XEP-0521 participant, which gets each sender's own stream, or a caller
 * that only sends.  It may still talk (it is in the others' mix); it has
 * no mix-minus encoder of its own, and when every participant is deaf and
 * nothing records (cf_mixer_set_keep_shared), a tick chooses the talkers
 * but decodes, sums and encodes nothing. */
void cf_mixer_set_deaf (CfMixer *mixer, guint id, gboolean deaf);
/* From its RTCP RR (fraction lost, in percent): drives in-band FEC and
 * OPUS_SET_PACKET_LOSS_PERC of the encoder it listens to. */
void cf_mixer_set_listener_loss (CfMixer *mixer, guint id, guint percent);

/* One received Opus RTP payload (RFC 7587: 48 kHz timestamps), already
 * parsed by the core; @audio_level: RFC 6464 level 0..127 (-dBov) or -1
 * when the packet has none; @voice: its V bit (FALSE when none).  Payloads
 * that are not valid Opus packets (RFC 6716 §3.2) or longer than 1500
 * bytes (CF_JITTER_MAX_BYTES) are dropped and counted (stats.invalid).
 * Unknown ids are ignored.  The payload is copied. */
void cf_mixer_push (CfMixer *mixer, guint id, guint16 seq, guint32 timestamp,
                    const guint8 *payload, gsize len,
                    gint audio_level, gboolean voice, gint64 now_us);

/* One 20 ms tick: picks the talkers, decodes only them, sums once (int32),
 * and calls @out once per participant that should receive a frame this
 * tick with its 20 ms Opus payload.  Every listener who is not a talker
 * gets the SAME payload pointer (one encode for all of them); a talker its
 * own mix-minus.  Payloads are valid until the next cf_mixer_tick() or
 * cf_mixer_free(). */
typedef void (*CfMixerOutputFunc) (guint id, const guint8 *payload, gsize len, gpointer user_data);
void cf_mixer_tick (CfMixer *mixer, gint64 now_us, CfMixerOutputFunc out, gpointer user_data);

/* Ticks the room's worker could not run (BfWorkerTick.skipped): moves
 * every participant's playout, and the hangover clock, @frames ticks on
 * without mixing, decoding or encoding anything (an overloaded worker
 * should not pay for the ticks it missed), so the jitter buffers do not
 * run that far behind.  Capped at 50 frames (a second) per call; call it
 * before the cf_mixer_tick() of the tick that did run. */
void cf_mixer_skip (CfMixer *mixer, guint frames);

/* The whole mix (everyone who talks, nobody left out), encoded once a
 * tick by the shared encoder, for a recording: with @keep, the shared
 * encoder runs every tick even when every participant is a talker (whose
 * own encoders serve them) or nobody listens; without, it runs only for
 * listeners who are not talkers.  It still stops after
 * CF_MIXER_SILENT_TAIL frames when nobody talks (no packet then).
 * cf_mixer_get_shared(): that payload of the last tick, or NULL (none). */
void cf_mixer_set_keep_shared (CfMixer *mixer, gboolean keep);
const guint8 *cf_mixer_get_shared (CfMixer *mixer, gsize *len);

/* Who talks now (for the room's conference-info / later video layout): up
 * to @max ids, loudest first; returns how many were written. */
guint cf_mixer_get_talkers (CfMixer *mixer, guint *ids, guint max);

typedef struct {
  guint64 pushed;            /* payloads accepted into a jitter buffer */
  guint64 late;              /* arrived after their playout time */
  guint64 dropped_overflow;  /* skipped because a buffer ran too far ahead */
  guint64 decoded;           /* frames decoded (talkers only) */
  guint64 plc;               /* frames concealed */
  guint64 fec;               /* frames recovered from the next packet's in-band FEC */
  guint64 encodes;           /* opus_encode() calls */
  guint64 frames_out;        /* @out calls */
  /* Additions after the agreed shape (appended; the fields above keep
   * their place). */
  guint64 duplicates;        /* a payload with a timestamp already buffered */
  guint64 invalid;           /* not an Opus packet, or too long */
  guint64 state_copies;      /* shared -> private encoder state copies */
  guint64 drift_skips;       /* unvoiced frames skipped: a buffer ran over its target */
  guint64 measured;          /* frames decoded only to measure their level (CELT, no RFC 6464) */
} CfMixerStats;
void cf_mixer_get_stats (CfMixer *mixer, CfMixerStats *stats);

G_END_DECLS
