/* The conference audio mixer: see mixer.h for the design. */
#include "mixer.h"

#include <math.h>
#include <string.h>
#include <opus.h>

#include "jitter.h"

#define Q15 32768
#define MAX_LOSS 30                 /* beyond, FEC costs the primary coding more than it saves */
#define PLC_MAX_FRAMES 5            /* then a missing stream is silence */
#define PRIVATE_HOLD_TICKS 2        /* a muted talker on its own encoder: > the look-ahead */
#define INCUMBENT_BONUS 10.0f       /* dB of loudness a talker is ahead by */
#define VOICED_LEVEL 50             /* RFC 6464: louder than -50 dBov is voice */
#define VAD_LOUDNESS 90.0f          /* a SILK VAD flag without a level: -37 dBov */
#define MEASURED_VOICE_LEVEL 45     /* a decoded frame louder than -45 dBov is voice */
/* Drift: a buffer holding this much more than its target (beyond the
 * frame being played) for DRIFT_TICKS ticks loses one unvoiced frame. */
#define DRIFT_SLACK (3 * CF_MIXER_FRAME)
#define DRIFT_TICKS 25

/* An Opus encoder with what decides whether it runs and what it hands out. */
typedef struct {
  OpusEncoder *st;          /* opus_encoder_get_size (1) bytes, position-independent */
  gint loss;                /* OPUS_SET_PACKET_LOSS_PERC applied */
  guint silent_ticks;       /* ticks its input has been digital silence */
  gboolean idle;            /* stopped after CF_MIXER_SILENT_TAIL frames of silence */
  gint len;                 /* this tick's payload, 0: nothing to hand out */
  guint8 packet[CF_JITTER_MAX_BYTES];
} Encoder;

typedef struct {
  guint id;
  gboolean removed;         /* inside a tick: freed at its end */
  gboolean fresh;           /* added inside a tick: takes part from the next */
  gboolean muted;
  guint listener_loss;
  CfJitter jb;
  OpusDecoder *dec;         /* made the first time it talks */

  /* Selection. */
  float score;              /* smoothed loudness, 0..127 */
  guint64 last_voiced_tick;
  gboolean ever_voiced;
  gboolean voiced_now;
  guint excess_ticks;       /* ticks its buffer has run DRIFT_SLACK over target */
  gboolean talker;          /* selected this tick */
  gboolean was_talker;      /* selected last tick */
  gboolean contributor;     /* in this tick's sum (talker, or fading out) */
  gboolean was_contributor;
  gboolean private_enc;     /* listened to its own encoder last tick */
  gboolean own_enc;         /* listens to its own encoder this tick */
  /* Ticks it stays on its own encoder, adding nothing, after being cut
   * at once (muted while talking): the shared encoder's look-ahead still
   * holds the last tick's sum, its voice in it, so moving it to the
   * shared stream at once let it hear itself for ~20 ms (e2e mute test,
   * -22 dB). */
  guint private_hold;
  gint gain_from, gain_to;  /* Q15, over this tick's frame */
  /* Hears nothing from the mixer (an XEP-0521 participant, which gets each
   * sender's own stream, or a caller that only sends): it may talk, but
   * needs no encoder of its own and keeps the shared one from running. */
  gboolean deaf;

  /* Decoding (contributors only): the packet decoded last, whole. */
  guint32 cache_ts;
  guint cache_len;
  guint plc_run;
  gint16 cache[CF_OPUS_MAX_SAMPLES];
  guint64 dec_tick;         /* the last tick its decoder ran (0: never) */
  gboolean window_ready;    /* window[] holds this tick's decoded frame */
  gint16 window[CF_MIXER_FRAME];
  gint32 contrib[CF_MIXER_FRAME];   /* this tick's gain-applied signal */

  Encoder *enc;             /* its mix-minus encoder, made the first time it talks */
} Participant;

struct _CfMixer {
  CfMixerConfig config;
  guint hangover_ticks;
  gsize enc_size;
  GPtrArray *parts;         /* Participant * by id, NULL: free id */
  guint n_parts;
  gboolean in_tick;
  gboolean keep_shared;     /* encode the whole mix every tick (a recording) */
  guint64 tick;
  Encoder shared;
  gint32 mix[CF_MIXER_FRAME];
  gint16 pcm[CF_MIXER_FRAME];
  guint talkers[CF_MIXER_MAX_TALKERS];
  guint n_talkers;
  CfMixerStats stats;
};

void
cf_mixer_config_init (CfMixerConfig *config)
{
  config->max_talkers = 3;
  config->jitter_ms = 40;
  config->hangover_ms = 300;
  config->complexity = 5;
  config->bitrate = 32000;
}

static void
encoder_setup (CfMixer *mixer, Encoder *enc)
{
  enc->st = g_malloc (mixer->enc_size);
  int err = opus_encoder_init (enc->st, CF_MIXER_RATE, 1, OPUS_APPLICATION_VOIP);
  g_assert (err == OPUS_OK);
  opus_encoder_ctl (enc->st, OPUS_SET_BITRATE (mixer->config.bitrate));
  opus_encoder_ctl (enc->st, OPUS_SET_COMPLEXITY (mixer->config.complexity));
  opus_encoder_ctl (enc->st, OPUS_SET_SIGNAL (OPUS_SIGNAL_VOICE));
  opus_encoder_ctl (enc->st, OPUS_SET_INBAND_FEC (1));
  opus_encoder_ctl (enc->st, OPUS_SET_DTX (0));   /* see mixer.h */
  opus_encoder_ctl (enc->st, OPUS_SET_PACKET_LOSS_PERC (0));
  enc->loss = 0;
  enc->idle = TRUE;         /* nothing to say until somebody talks */
  enc->silent_ticks = CF_MIXER_SILENT_TAIL;
}

static void
encoder_set_loss (Encoder *enc, gint loss)
{
  if (enc->loss != loss)
    {
      opus_encoder_ctl (enc->st, OPUS_SET_PACKET_LOSS_PERC (loss));
      enc->loss = loss;
    }
}

/* Encodes @pcm unless the encoder has gone idle on silence; sets enc->len
 * to what is handed out (0: nothing). */
static void
encoder_run (CfMixer *mixer, Encoder *enc, const gint16 *pcm, gboolean silent)
{
  enc->len = 0;
  if (silent)
    {
      if (enc->idle)
        return;
      if (++enc->silent_ticks > CF_MIXER_SILENT_TAIL)
        {
          enc->idle = TRUE;
          return;
        }
    }
  else
    {
      enc->silent_ticks = 0;
      enc->idle = FALSE;
    }
  opus_int32 n = opus_encode (enc->st, pcm, CF_MIXER_FRAME, enc->packet, sizeof enc->packet);
  mixer->stats.encodes++;
  if (n > 0)
    enc->len = n;
}

CfMixer *
cf_mixer_new (const CfMixerConfig *config)
{
  CfMixer *mixer = g_new0 (CfMixer, 1);
  cf_mixer_config_init (&mixer->config);
  if (config)
    {
      CfMixerConfig *c = &mixer->config;
      if (config->max_talkers)
        c->max_talkers = CLAMP (config->max_talkers, CF_MIXER_MIN_TALKERS, CF_MIXER_MAX_TALKERS);
      if (config->jitter_ms)
        c->jitter_ms = CLAMP (config->jitter_ms, 20, 200);
      if (config->hangover_ms)
        c->hangover_ms = CLAMP (config->hangover_ms, 20, 5000);
      if (config->complexity >= 0)
        c->complexity = CLAMP (config->complexity, 0, 10);
      if (config->bitrate)
        c->bitrate = CLAMP (config->bitrate, 6000, 128000);
    }
  mixer->hangover_ticks = mixer->config.hangover_ms / 20;
  mixer->enc_size = opus_encoder_get_size (1);
  mixer->parts = g_ptr_array_new ();
  encoder_setup (mixer, &mixer->shared);
  return mixer;
}

static void
encoder_free (Encoder *enc)
{
  if (enc)
    g_free (enc->st);
}

static void
participant_free (Participant *p)
{
  cf_jitter_clear (&p->jb);
  if (p->dec)
    opus_decoder_destroy (p->dec);
  if (p->enc)
    {
      encoder_free (p->enc);
      g_free (p->enc);
    }
  g_free (p);
}

void
cf_mixer_free (CfMixer *mixer)
{
  if (!mixer)
    return;
  for (guint i = 0; i < mixer->parts->len; i++)
    if (mixer->parts->pdata[i])
      participant_free (mixer->parts->pdata[i]);
  g_ptr_array_unref (mixer->parts);
  encoder_free (&mixer->shared);
  g_free (mixer);
}

static Participant *
lookup (CfMixer *mixer, guint id)
{
  if (id >= mixer->parts->len)
    return NULL;
  Participant *p = mixer->parts->pdata[id];
  return p && !p->removed ? p : NULL;
}

guint
cf_mixer_add (CfMixer *mixer)
{
  Participant *p = g_new0 (Participant, 1);
  cf_jitter_init (&p->jb, mixer->config.jitter_ms);
  p->fresh = mixer->in_tick;
  p->gain_to = Q15;
  guint id;
  for (id = 0; id < mixer->parts->len; id++)
    if (!mixer->parts->pdata[id])
      break;
  if (id == mixer->parts->len)
    g_ptr_array_add (mixer->parts, p);
  else
    mixer->parts->pdata[id] = p;
  p->id = id;
  mixer->n_parts++;
  return id;
}

static void
drop_talker (CfMixer *mixer, guint id)
{
  for (guint i = 0; i < mixer->n_talkers; i++)
    if (mixer->talkers[i] == id)
      {
        memmove (&mixer->talkers[i], &mixer->talkers[i + 1], (mixer->n_talkers - i - 1) * sizeof (guint));
        mixer->n_talkers--;
        return;
      }
}

void
cf_mixer_remove (CfMixer *mixer, guint id)
{
  Participant *p = lookup (mixer, id);
  if (!p)
    return;
  drop_talker (mixer, id);
  mixer->n_parts--;
  if (mixer->in_tick)
    {
      p->removed = TRUE;
      return;
    }
  mixer->parts->pdata[id] = NULL;
  participant_free (p);
}

void
cf_mixer_set_muted (CfMixer *mixer, guint id, gboolean muted)
{
  Participant *p = lookup (mixer, id);
  if (!p)
    return;
  p->muted = muted;
  if (muted)
    {
      /* Only one that was in the sum has its voice in the shared encoder's
       * look-ahead (and an encoder of its own to stay on). */
      if (p->contributor)
        p->private_hold = PRIVATE_HOLD_TICKS;
      drop_talker (mixer, id);    /* cut from the next tick; not listed from now on */
    }
}

void
cf_mixer_set_deaf (CfMixer *mixer, guint id, gboolean deaf)
{
  Participant *p = lookup (mixer, id);
  if (p)
    p->deaf = deaf;
}

void
cf_mixer_set_listener_loss (CfMixer *mixer, guint id, guint percent)
{
  Participant *p = lookup (mixer, id);
  if (p)
    p->listener_loss = MIN (percent, 100);
}

void
cf_mixer_push (CfMixer *mixer, guint id, guint16 seq, guint32 timestamp,
               const guint8 *payload, gsize len, gint audio_level, gboolean voice, gint64 now_us)
{
  Participant *p = lookup (mixer, id);
  if (!p || !payload)
    return;
  guint overflow = 0;
  switch (cf_jitter_push (&p->jb, seq, timestamp, payload, len, audio_level, voice, &overflow))
    {
    case CF_JITTER_ACCEPTED:
      mixer->stats.pushed++;
      break;
    case CF_JITTER_LATE:
      mixer->stats.late++;
      break;
    case CF_JITTER_DUPLICATE:
      mixer->stats.duplicates++;
      break;
    case CF_JITTER_INVALID:
      mixer->stats.invalid++;
      break;
    }
  mixer->stats.dropped_overflow += overflow;
}

static void decode_window (CfMixer *mixer, Participant *p);

/* How loud a buffered packet says it is (0..127, 127 - dBov), and whether
 * it is voice, without decoding; -1: it cannot say. */
static float
packet_loudness (const CfJitterPacket *pk, gboolean *voiced)
{
  if (pk->info.dtx)
    {
      *voiced = FALSE;
      return 0;
    }
  if (pk->level >= 0)
    {
      *voiced = pk->voice || pk->level < VOICED_LEVEL;
      return 127 - pk->level;
    }
  if (pk->info.vad >= 0)
    {
      *voiced = pk->info.vad == 1;
      return *voiced ? VAD_LOUDNESS : 0;
    }
  *voiced = FALSE;          /* CELT-only: no flag to go by; measured instead */
  return -1;
}

/* The level of a decoded frame, 0..127 (-dBov, RFC 6464's scale). */
static gint
frame_level (const gint16 *pcm)
{
  gint64 sum = 0;
  for (guint n = 0; n < CF_MIXER_FRAME; n++)
    sum += (gint32) pcm[n] * pcm[n];
  double ms = (double) sum / CF_MIXER_FRAME / (32768.0 * 32768.0);
  if (ms <= 1e-13)
    return 127;
  return (gint) CLAMP (-10 * log10 (ms), 0, 127);
}

/* Voiced within the hangover. */
static gboolean
recent (CfMixer *mixer, Participant *p)
{
  return p->ever_voiced && mixer->tick - p->last_voiced_tick <= mixer->hangover_ticks;
}

/* This tick's voice activity of @p, from the packets its window overlaps. */
static void
analyse (CfMixer *mixer, Participant *p)
{
  float loud = 0;
  gboolean voiced = FALSE, measure = FALSE;
  p->window_ready = FALSE;
  if (p->jb.started)
    {
      guint32 t0 = p->jb.play_ts, t1 = t0 + CF_MIXER_FRAME;
      guint i;
      if (cf_jitter_find (&p->jb, t0, &i))
        for (; i < p->jb.n && cf_ts_diff (p->jb.order[i]->ts, t1) < 0; i++)
          {
            gboolean v;
            float l = packet_loudness (p->jb.order[i], &v);
            measure |= l < 0;
            loud = MAX (loud, l);
            voiced |= v;
          }
    }
  if (measure)
    {
      /* Neither a level nor a VAD flag (a CELT-only sender without RFC
       * 6464): decoded to be heard at all.  The frame is kept for the
       * mix if it talks. */
      decode_window (mixer, p);
      mixer->stats.measured++;
      gint level = frame_level (p->window);
      voiced = level < MEASURED_VOICE_LEVEL;
      loud = MAX (loud, 127 - level);
    }
  p->voiced_now = voiced;
  if (!voiced)
    return;             /* the score holds through the hangover */
  if (!recent (mixer, p))
    p->score = loud;    /* a new turn: no memory of an old one */
  else
    p->score += (loud - p->score) * (loud > p->score ? 0.5f : 0.125f);   /* fast attack, slow release */
  p->last_voiced_tick = mixer->tick;
  p->ever_voiced = TRUE;
}

/* A sender whose clock runs faster than the ticks (or ticks that run
 * slow: a GLib timeout drifts late) fills its buffer: latency would grow
 * until the bound skips frames, voiced or not.  Instead, once the excess
 * has lasted DRIFT_TICKS, one unvoiced frame is skipped (a DTX gap or a
 * pause costs nothing audible). */
static void
trim_drift (CfMixer *mixer, Participant *p)
{
  CfJitter *jb = &p->jb;
  if (!jb->started || jb->n == 0)
    {
      p->excess_ticks = 0;
      return;
    }
  const CfJitterPacket *newest = jb->order[jb->n - 1];
  gint32 span = cf_ts_diff (newest->ts + newest->info.samples, jb->play_ts);
  if (span <= (gint32) (jb->depth + CF_MIXER_FRAME + DRIFT_SLACK))
    {
      p->excess_ticks = 0;
      return;
    }
  if (++p->excess_ticks < DRIFT_TICKS || p->voiced_now)
    return;
  cf_jitter_advance (jb, CF_MIXER_FRAME);
  p->excess_ticks = 0;
  mixer->stats.drift_skips++;
  analyse (mixer, p);       /* the frame played instead */
}

static gboolean
eligible (CfMixer *mixer, Participant *p)
{
  return !p->muted && recent (mixer, p);
}

static void
select_talkers (CfMixer *mixer)
{
  guint k = mixer->config.max_talkers;
  Participant *best[CF_MIXER_MAX_TALKERS];
  float prio[CF_MIXER_MAX_TALKERS];
  guint n = 0;
  for (guint i = 0; i < mixer->parts->len; i++)
    {
      Participant *p = mixer->parts->pdata[i];
      if (!p || p->removed || p->fresh)
        continue;
      p->was_talker = p->talker;
      p->talker = FALSE;
      if (!eligible (mixer, p))
        continue;
      float pr = p->score + (p->was_talker ? INCUMBENT_BONUS : 0);
      /* Insertion into the top k, loudest first; ties keep the older id. */
      guint j = n;
      while (j > 0 && prio[j - 1] < pr)
        j--;
      if (j >= k)
        continue;
      guint last = MIN (n, k - 1);
      memmove (&best[j + 1], &best[j], (last - j) * sizeof best[0]);
      memmove (&prio[j + 1], &prio[j], (last - j) * sizeof prio[0]);
      best[j] = p;
      prio[j] = pr;
      if (n < k)
        n++;
    }
  mixer->n_talkers = n;
  for (guint j = 0; j < n; j++)
    {
      best[j]->talker = TRUE;
      mixer->talkers[j] = best[j]->id;
    }
}

/* @p's decoder, continuous if it ran last tick, else (packets went by
 * undecoded) reset; made the first time it is needed: a listener who never
 * talks holds none. */
static void
decoder_ready (CfMixer *mixer, Participant *p)
{
  if (!p->dec)
    {
      int err;
      p->dec = opus_decoder_create (CF_MIXER_RATE, 1, &err);
      g_assert (err == OPUS_OK);
    }
  else if (p->dec_tick + 1 < mixer->tick)
    opus_decoder_ctl (p->dec, OPUS_RESET_STATE);
  if (p->dec_tick + 1 < mixer->tick)
    {
      p->cache_len = 0;
      p->plc_run = 0;
    }
}

/* Decodes what @p plays in [t0, t0 + 960) into p->window: cached
 * samples of the packet decoded last, the packets the window covers, FEC
 * or PLC for lost frames, silence for DTX gaps. */
static void
decode_window (CfMixer *mixer, Participant *p)
{
  CfJitter *jb = &p->jb;
  guint32 t0 = jb->play_ts, t1 = t0 + CF_MIXER_FRAME;
  guint32 pos = t0;
  gint16 *pcm = p->window;
  if (p->window_ready)
    return;
  decoder_ready (mixer, p);
  p->dec_tick = mixer->tick;
  p->window_ready = TRUE;
  memset (pcm, 0, sizeof p->window);
  guint16 last_seq = jb->last_seq;
  gboolean have_last = jb->have_last, last_dtx = jb->last_dtx;
  guint guard = 0;

  while (cf_ts_diff (t1, pos) > 0 && guard++ < 64)
    {
      gint32 off = cf_ts_diff (pos, t0);
      gint32 room = cf_ts_diff (t1, pos);
      if (p->cache_len > 0 && cf_ts_diff (pos, p->cache_ts) >= 0
          && cf_ts_diff (pos, p->cache_ts) < (gint32) p->cache_len)
        {
          gint32 from = cf_ts_diff (pos, p->cache_ts);
          gint32 n = MIN (room, (gint32) p->cache_len - from);
          memcpy (&pcm[off], &p->cache[from], n * sizeof (gint16));
          pos += n;
          continue;
        }
      guint idx;
      CfJitterPacket *pk = cf_jitter_find (jb, pos, &idx);
      if (pk && cf_ts_diff (pk->ts, pos) <= 0)
        {
          /* The packet covering pos: decode it whole. */
          int n = opus_decode (p->dec, pk->data, pk->len, p->cache, CF_OPUS_MAX_SAMPLES, 0);
          p->cache_ts = pk->ts;
          if (n <= 0)
            {
              n = pk->info.samples;
              memset (p->cache, 0, n * sizeof (gint16));
            }
          else
            mixer->stats.decoded++;
          p->cache_len = n;
          p->plc_run = 0;
          have_last = TRUE;
          last_seq = pk->seq;
          last_dtx = pk->info.dtx;
          continue;
        }
      /* A gap up to the next packet or the window's end. */
      guint32 gap_end = pk && cf_ts_diff (pk->ts, t1) < 0 ? pk->ts : t1;
      gint32 gap = cf_ts_diff (gap_end, pos);
      gboolean lost;
      if (pk)
        lost = have_last && (guint16) (pk->seq - last_seq) > 1;
      else
        lost = have_last && !last_dtx && p->plc_run < PLC_MAX_FRAMES;
      if (lost && gap % 120 == 0)
        {
          int n;
          if (pk && gap_end == pk->ts && pk->info.lbrr == 1 && (guint) gap >= pk->info.frame_samples)
            {
              n = opus_decode (p->dec, pk->data, pk->len, &pcm[off], gap, 1);
              mixer->stats.fec++;
            }
          else
            {
              n = opus_decode (p->dec, NULL, 0, &pcm[off], gap, 0);
              mixer->stats.plc++;
            }
          if (n != gap)
            memset (&pcm[off], 0, gap * sizeof (gint16));
          p->plc_run++;
        }
      /* else: DTX or a stream that stopped: silence (already zero). */
      pos = gap_end;
    }
}

/* Gain-applied contribution of @p from mixer->pcm, ramped over the frame. */
static void
apply_gain (CfMixer *mixer, Participant *p)
{
  const gint16 *pcm = p->window;
  gint g0 = p->gain_from, g1 = p->gain_to;
  if (g0 == Q15 && g1 == Q15)
    {
      for (guint n = 0; n < CF_MIXER_FRAME; n++)
        p->contrib[n] = pcm[n];
      return;
    }
  for (guint n = 0; n < CF_MIXER_FRAME; n++)
    {
      gint64 g = g0 + (gint64) (g1 - g0) * (n + 1) / CF_MIXER_FRAME;
      p->contrib[n] = (gint32) ((pcm[n] * g) >> 15);
    }
}

static inline gint16
saturate (gint32 v)
{
  return (gint16) CLAMP (v, G_MININT16, G_MAXINT16);
}

void
cf_mixer_tick (CfMixer *mixer, gint64 now_us, CfMixerOutputFunc out, gpointer user_data)
{
  GPtrArray *parts = mixer->parts;
  mixer->in_tick = TRUE;
  mixer->tick++;

  /* 1. Activity of everyone, no decoding; 2. the talkers. */
  for (guint i = 0; i < parts->len; i++)
    {
      Participant *p = parts->pdata[i];
      if (p)
        {
          p->fresh = FALSE;
          analyse (mixer, p);
          trim_drift (mixer, p);
        }
    }
  select_talkers (mixer);

  /* Nobody hears the mix (a room of XEP-0521 participants, each getting
   * the senders' own streams) and nothing records it: the talkers are
   * chosen (the room's last-N and layout read them) but nothing is
   * decoded, summed or encoded.  A decoder skipped this way is reset the
   * next time it runs (decoder_ready). */
  gboolean any_ear = mixer->keep_shared;
  for (guint i = 0; i < parts->len && !any_ear; i++)
    {
      Participant *p = parts->pdata[i];
      any_ear = p != NULL && !p->deaf && !p->removed;
    }

  /* 3. Contributors: the talkers, and those dropped while still voiced
   * (one fade-out frame); a muted one is cut at once. */
  guint n_contrib = 0;
  gint shared_loss = 0;
  gboolean any_listener = FALSE;
  memset (mixer->mix, 0, sizeof mixer->mix);
  for (guint i = 0; i < parts->len; i++)
    {
      Participant *p = parts->pdata[i];
      if (!p)
        continue;
      p->was_contributor = p->contributor;
      p->contributor = p->talker
          || (p->was_talker && !p->muted && mixer->tick - p->last_voiced_tick <= 1);
      p->own_enc = p->contributor && !p->deaf;
      if (!any_ear)
        {
          p->own_enc = FALSE;
          p->private_hold = 0;
          continue;
        }
      if (!p->contributor && p->private_hold > 0 && !p->deaf)
        {
          /* Cut, but still on its own encoder: hears the sum, adds nothing. */
          p->private_hold--;
          p->own_enc = TRUE;
          memset (p->contrib, 0, sizeof p->contrib);
          continue;
        }
      if (!p->contributor && p->deaf)
        continue;
      if (!p->contributor)
        {
          if (p->listener_loss > (guint) shared_loss)
            shared_loss = MIN (p->listener_loss, MAX_LOSS);
          any_listener = TRUE;
          continue;
        }
      if (!p->was_contributor)
        p->gain_from = 0;
      else
        p->gain_from = p->gain_to;
      p->gain_to = p->talker ? Q15 : 0;
      decode_window (mixer, p);
      apply_gain (mixer, p);
      for (guint n = 0; n < CF_MIXER_FRAME; n++)
        mixer->mix[n] += p->contrib[n];
      n_contrib++;
    }

  /* 4. Encoders.  A new contributor's encoder continues the shared
   * stream its listener decoded so far: a copy of the shared state, taken
   * before the shared encoder codes this tick. */
  for (guint i = 0; i < parts->len; i++)
    {
      Participant *p = parts->pdata[i];
      if (!p || !p->own_enc)
        continue;
      if (!p->private_enc)
        {
          if (!p->enc)
            {
              p->enc = g_new0 (Encoder, 1);
              p->enc->st = g_malloc (mixer->enc_size);
            }
          guint8 *st = (guint8 *) p->enc->st;
          memcpy (st, mixer->shared.st, mixer->enc_size);
          gint loss = mixer->shared.loss;
          memcpy (p->enc, &mixer->shared, G_STRUCT_OFFSET (Encoder, len));
          p->enc->st = (OpusEncoder *) st;
          p->enc->loss = loss;
          mixer->stats.state_copies++;
        }
      encoder_set_loss (p->enc, MIN (p->listener_loss, MAX_LOSS));
      for (guint n = 0; n < CF_MIXER_FRAME; n++)
        mixer->pcm[n] = saturate (mixer->mix[n] - p->contrib[n]);
      /* Silent when nobody else is in the sum: a talker is in it itself, a
       * muted one still on its own encoder is not. */
      encoder_run (mixer, p->enc, mixer->pcm, n_contrib <= (p->contributor ? 1u : 0u));
    }
  if (any_listener || mixer->keep_shared)
    {
      encoder_set_loss (&mixer->shared, shared_loss);
      for (guint n = 0; n < CF_MIXER_FRAME; n++)
        mixer->pcm[n] = saturate (mixer->mix[n]);
      encoder_run (mixer, &mixer->shared, mixer->pcm, n_contrib == 0);
    }
  else
    mixer->shared.len = 0;

  /* 5. Out, then everyone's playout moves on. */
  guint n_ids = parts->len;
  for (guint i = 0; i < n_ids; i++)
    {
      Participant *p = parts->pdata[i];
      if (!p || p->removed || p->fresh)
        continue;
      p->private_enc = p->own_enc;
      if (p->deaf)
        continue;
      const Encoder *enc = p->own_enc ? p->enc : &mixer->shared;
      if (enc->len > 0)
        {
          mixer->stats.frames_out++;
          out (p->id, enc->packet, enc->len, user_data);
        }
    }
  for (guint i = 0; i < parts->len; i++)
    {
      Participant *p = parts->pdata[i];
      if (!p)
        continue;
      if (p->removed)
        {
          parts->pdata[i] = NULL;
          participant_free (p);
          continue;
        }
      if (!p->fresh)
        cf_jitter_advance (&p->jb, CF_MIXER_FRAME);
    }
  mixer->in_tick = FALSE;
}

void
cf_mixer_skip (CfMixer *mixer, guint frames)
{
  g_return_if_fail (!mixer->in_tick);
  frames = MIN (frames, 50);
  if (frames == 0)
    return;
  mixer->tick += frames;
  for (guint i = 0; i < mixer->parts->len; i++)
    {
      Participant *p = mixer->parts->pdata[i];
      if (p)
        cf_jitter_advance (&p->jb, frames * CF_MIXER_FRAME);
    }
}

void
cf_mixer_set_keep_shared (CfMixer *mixer, gboolean keep)
{
  mixer->keep_shared = keep;
}

const guint8 *
cf_mixer_get_shared (CfMixer *mixer, gsize *len)
{
  *len = mixer->shared.len;
  return mixer->shared.len > 0 ? mixer->shared.packet : NULL;
}

guint
cf_mixer_get_talkers (CfMixer *mixer, guint *ids, guint max)
{
  guint n = MIN (max, mixer->n_talkers);
  memcpy (ids, mixer->talkers, n * sizeof (guint));
  return n;
}

void
cf_mixer_get_stats (CfMixer *mixer, CfMixerStats *stats)
{
  *stats = mixer->stats;
}
