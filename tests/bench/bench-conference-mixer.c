/* Not a test: what the conference mixer (modules/conference/mixer.c) costs
 * per 20 ms tick, in thread CPU time, on real Opus streams encoded
 * beforehand (the encoding clients are not measured):
 *
 *   build/tests/bench/bench-conference-mixer [seconds] [complexity]
 *
 * Rows: N = 10, 25, 50 with 3 talking and the rest silent (DTX as a
 * WebRTC sender does it: one 1-byte frame, then a comfort-noise update
 * every 400 ms), and N = 50 all talking (K = 3 are mixed, the rest are
 * parsed and buffered, never decoded), and the worst case: N = 50
 * CELT-only senders without levels, 3 talking (each decoded every tick to
 * measure its level).  Each row prints the CPU-us per
 * tick of cf_mixer_tick and of the 20 ms of cf_mixer_push calls before it,
 * and the total as CPU-ms per participant-second (issue 13's budget: 4).
 * Seconds is the simulated time per row (default 20). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include <opus.h>

#include "mixer.h"

#define FRAME CF_MIXER_FRAME
#define LOOP 150                 /* 3 s of frames per participant, replayed */

typedef struct {
  guint8 data[1500];
  guint16 len;                   /* 0: not sent (DTX) */
} Pkt;

typedef struct {
  Pkt pkts[LOOP];
  gint level;
} Stream;

static gint64
thread_cpu_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Speech-like: a tone with 4 Hz syllables and a little noise, or a quiet
 * room; encoded as a browser would (32 kb/s, FEC, DTX). */
static void
stream_encode (Stream *s, gboolean talking, double freq, guint seed, gboolean celt)
{
  int err;
  OpusEncoder *enc = opus_encoder_create (48000, 1, celt ? OPUS_APPLICATION_RESTRICTED_LOWDELAY
                                                         : OPUS_APPLICATION_VOIP, &err);
  g_assert (err == OPUS_OK);
  opus_encoder_ctl (enc, OPUS_SET_BITRATE (32000));
  opus_encoder_ctl (enc, OPUS_SET_INBAND_FEC (1));
  opus_encoder_ctl (enc, OPUS_SET_PACKET_LOSS_PERC (5));
  opus_encoder_ctl (enc, OPUS_SET_DTX (1));
  opus_encoder_ctl (enc, OPUS_SET_COMPLEXITY (1));
  GRand *rand = g_rand_new_with_seed (seed);
  gboolean in_dtx = FALSE;
  guint64 clock = seed * 977;
  for (guint t = 0; t < LOOP; t++)
    {
      gint16 pcm[FRAME];
      for (guint n = 0; n < FRAME; n++, clock++)
        {
          double v = g_rand_double_range (rand, -3, 3);
          if (talking)
            v += 7000 * (0.55 + 0.45 * sin (2 * G_PI * 4 * clock / 48000.0))
                 * sin (2 * G_PI * freq * clock / 48000.0);
          pcm[n] = (gint16) v;
        }
      int len = opus_encode (enc, pcm, FRAME, s->pkts[t].data, sizeof s->pkts[t].data);
      g_assert (len > 0);
      s->pkts[t].len = len;
      if (len <= 2)
        {
          if (in_dtx)
            s->pkts[t].len = 0;
          in_dtx = TRUE;
        }
      else
        in_dtx = FALSE;
    }
  s->level = celt ? -1 : talking ? 20 + (gint) (seed % 15) : 127;
  g_rand_free (rand);
  opus_encoder_destroy (enc);
}

static guint outs;

static void
on_out (guint id, const guint8 *payload, gsize len, gpointer user_data)
{
  outs++;
}

static void
row (const char *what, guint n, guint talking, guint seconds, gint complexity, Stream *talk, Stream *quiet)
{
  CfMixerConfig config;
  cf_mixer_config_init (&config);
  config.complexity = complexity;
  CfMixer *mixer = cf_mixer_new (&config);
  guint ids[64];
  guint16 seq[64];
  guint32 ts[64];
  for (guint i = 0; i < n; i++)
    {
      ids[i] = cf_mixer_add (mixer);
      seq[i] = g_random_int ();
      ts[i] = g_random_int ();
      cf_mixer_set_listener_loss (mixer, ids[i], i % 4 == 0 ? 3 : 0);
    }
  guint ticks = seconds * 50;
  gint64 push_us = 0, tick_us = 0;
  outs = 0;
  for (guint t = 0; t < ticks; t++)
    {
      gint64 a = thread_cpu_us ();
      for (guint i = 0; i < n; i++)
        {
          const Stream *s = i < talking ? &talk[i] : &quiet[i % 8];
          /* Offset each stream so the syllables do not all line up. */
          const Pkt *p = &s->pkts[(t + i * 7) % LOOP];
          guint32 pts = ts[i];
          ts[i] += FRAME;
          if (p->len == 0)
            continue;
          cf_mixer_push (mixer, ids[i], seq[i]++, pts, p->data, p->len, s->level,
                         s->level >= 0 && s->level < 50, (gint64) t * 20000);
        }
      gint64 b = thread_cpu_us ();
      cf_mixer_tick (mixer, (gint64) t * 20000, on_out, NULL);
      gint64 c = thread_cpu_us ();
      push_us += b - a;
      tick_us += c - b;
    }
  CfMixerStats st;
  cf_mixer_get_stats (mixer, &st);
  double per_tick = (double) tick_us / ticks, push_per_tick = (double) push_us / ticks;
  /* 50 ticks a second, shared by n participants. */
  double ms_per_ps = (per_tick + push_per_tick) * 50 / 1000.0 / n;
  g_print ("%-5s N=%-3u talking=%-3u  tick %7.1f us  push %6.1f us  => %.3f CPU-ms per participant-second"
           "  (decodes/tick %.2f, encodes/tick %.2f, frames out/tick %.1f)\n",
           what, n, talking, per_tick, push_per_tick, ms_per_ps,
           (double) st.decoded / ticks, (double) st.encodes / ticks, (double) st.frames_out / ticks);
  if (st.measured)
    g_print ("      (frames decoded only to measure a level: %.1f per tick)\n", (double) st.measured / ticks);
  cf_mixer_free (mixer);
}

int
main (int argc, char **argv)
{
  guint seconds = argc > 1 ? (guint) atoi (argv[1]) : 20;
  gint complexity = argc > 2 ? atoi (argv[2]) : 5;
  if (seconds < 1 || seconds > 600 || complexity < 0 || complexity > 10)
    {
      g_printerr ("usage: %s [seconds 1..600] [complexity 0..10]\n", argv[0]);
      return 2;
    }
  Stream *talk = g_new0 (Stream, 50), *quiet = g_new0 (Stream, 8);
  Stream *celt_talk = g_new0 (Stream, 3), *celt_quiet = g_new0 (Stream, 8);
  for (guint i = 0; i < 50; i++)
    stream_encode (&talk[i], TRUE, 300 + 37 * i, i + 1, FALSE);
  for (guint i = 0; i < 8; i++)
    stream_encode (&quiet[i], FALSE, 0, 100 + i, FALSE);
  for (guint i = 0; i < 3; i++)
    stream_encode (&celt_talk[i], TRUE, 300 + 37 * i, i + 1, TRUE);
  for (guint i = 0; i < 8; i++)
    stream_encode (&celt_quiet[i], FALSE, 0, 100 + i, TRUE);
  g_print ("conference mixer, encoder complexity %d, %u s simulated per row, thread CPU time\n",
           complexity, seconds);
  row ("", 10, 3, seconds, complexity, talk, quiet);
  row ("", 25, 3, seconds, complexity, talk, quiet);
  row ("", 50, 3, seconds, complexity, talk, quiet);
  row ("", 50, 50, seconds, complexity, talk, quiet);
  /* The worst case: senders that give nothing to select by (CELT-only,
   * no RFC 6464 level) are all decoded every tick. */
  row ("CELT", 50, 3, seconds, complexity, celt_talk, celt_quiet);
  g_free (talk);
  g_free (quiet);
  g_free (celt_talk);
  g_free (celt_quiet);
  return 0;
}
