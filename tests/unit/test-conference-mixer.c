/* The conference mixer (modules/conference/mixer.c) end to end on real
 * Opus: synthetic tones are encoded with libopus as a client would send
 * them, pushed into the mixer, and what each listener is handed is decoded
 * with libopus and measured (Goertzel power per tone).  Each participant
 * "talks" on its own frequency, so what a listener hears tells whom it
 * hears. */
#include <math.h>
#include <string.h>
#include <glib.h>
#include <opus.h>

#include "mixer.h"
#include "jitter.h"
#include "opus-packet.h"

#define FRAME CF_MIXER_FRAME
#define MAX_P 64
#define MAX_TICKS 400

typedef struct {
  guint id;
  OpusEncoder *enc;           /* the client's encoder */
  OpusDecoder *dec;           /* the client's decoder for what it hears */
  double freq, amp, phase;
  gboolean talking;
  gint level;                 /* RFC 6464 level sent, -1 none */
  gboolean modulate;          /* speech-like syllables (4 Hz) for the SILK VAD */
  guint16 seq;
  guint32 ts;
  gboolean in_dtx;            /* a sender in DTX sends no 1-byte frames after the first */
  guint64 sample_clock;
  guint frame;                /* samples per packet: 960 unless set */
  gboolean digital_silence;   /* no room noise: zeros when not talking */
  guint pending;              /* samples of the current long packet so far */
  /* What it heard, decoded, one row per tick. */
  gint16 heard[MAX_TICKS][FRAME];
  gboolean got[MAX_TICKS];
  const guint8 *payload[MAX_TICKS];
  gsize payload_len[MAX_TICKS];
} Client;

typedef struct {
  CfMixer *mixer;
  Client *c[MAX_P];
  guint n;
  guint tick;
  /* Hooks for the add/remove test. */
  void (*hook) (gpointer, guint);
  gpointer hook_data;
} Room;

static Client *
client_new (Room *room, double freq, double amp)
{
  Client *c = g_new0 (Client, 1);
  int err;
  c->enc = opus_encoder_create (48000, 1, OPUS_APPLICATION_VOIP, &err);
  g_assert_cmpint (err, ==, OPUS_OK);
  opus_encoder_ctl (c->enc, OPUS_SET_BITRATE (32000));
  opus_encoder_ctl (c->enc, OPUS_SET_DTX (1));
  opus_encoder_ctl (c->enc, OPUS_SET_INBAND_FEC (1));
  opus_encoder_ctl (c->enc, OPUS_SET_PACKET_LOSS_PERC (10));
  c->dec = opus_decoder_create (48000, 1, &err);
  g_assert_cmpint (err, ==, OPUS_OK);
  c->freq = freq;
  c->amp = amp;
  c->level = -1;
  c->seq = g_random_int ();
  c->ts = g_random_int ();
  c->id = cf_mixer_add (room->mixer);
  room->c[room->n++] = c;
  return c;
}

static void
client_free (Client *c)
{
  opus_encoder_destroy (c->enc);
  opus_decoder_destroy (c->dec);
  g_free (c);
}

/* The client's next packet (c->frame samples, 20 ms unless set): a tone
 * when talking, near-silence otherwise. */
static gsize
client_encode (Client *c, guint8 *pkt)
{
  guint frame = c->frame ? c->frame : FRAME;
  gint16 pcm[5760];
  for (guint n = 0; n < frame; n++)
    {
      double s = 0;
      if (c->talking)
        {
          double env = 1.0;
          if (c->modulate)
            env = 0.5 + 0.5 * sin (2 * G_PI * 4.0 * c->sample_clock / 48000.0);
          s = c->amp * env * sin (c->phase);
        }
      if (!c->digital_silence)
        s += g_random_double_range (-3, 3);   /* a quiet room */
      c->phase += 2 * G_PI * c->freq / 48000.0;
      c->sample_clock++;
      pcm[n] = (gint16) CLAMP (s, -32768, 32767);
    }
  opus_int32 len = opus_encode (c->enc, pcm, frame, pkt, 1500);
  g_assert_cmpint (len, >, 0);
  return len;
}

/* A client sending 10 ms or 60 ms packets: what 20 ms of its time sends. */
static void
client_send_sized (Room *room, Client *c)
{
  c->pending += FRAME;
  while (c->pending >= c->frame)
    {
      guint8 pkt[1500];
      gsize len = client_encode (c, pkt);
      cf_mixer_push (room->mixer, c->id, c->seq++, c->ts, pkt, len, c->level, c->level < 50, 0);
      c->ts += c->frame;
      c->pending -= c->frame;
    }
}

/* Sends the client's next frame (or nothing in DTX, as senders do). */
static void
client_send (Room *room, Client *c)
{
  if (c->frame && c->frame != FRAME)
    {
      client_send_sized (room, c);
      return;
    }
  guint8 pkt[1500];
  gsize len = client_encode (c, pkt);
  guint32 ts = c->ts;
  c->ts += FRAME;
  if (len <= 2)
    {
      if (c->in_dtx)
        return;
      c->in_dtx = TRUE;
    }
  else
    c->in_dtx = FALSE;
  cf_mixer_push (room->mixer, c->id, c->seq++, ts, pkt, len, c->level,
                 c->level >= 0 && c->level < 50, 0);
}

static Client *
client_by_id (Room *room, guint id)
{
  for (guint i = 0; i < room->n; i++)
    if (room->c[i] && room->c[i]->id == id)
      return room->c[i];
  return NULL;
}

static void
on_out (guint id, const guint8 *payload, gsize len, gpointer user_data)
{
  Room *room = user_data;
  Client *c = client_by_id (room, id);
  g_assert_nonnull (c);
  g_assert_cmpuint (len, >, 0);
  g_assert_cmpuint (len, <=, 1500);
  g_assert_false (c->got[room->tick]);    /* once per tick */
  c->got[room->tick] = TRUE;
  c->payload[room->tick] = payload;
  c->payload_len[room->tick] = len;
  int n = opus_decode (c->dec, payload, len, c->heard[room->tick], FRAME, 0);
  g_assert_cmpint (n, ==, FRAME);
  if (room->hook)
    room->hook (room->hook_data, id);
}

/* One tick: everyone sends, the mixer ticks, listeners without a packet
 * conceal (as a real decoder would). */
static void
room_tick (Room *room)
{
  g_assert_cmpuint (room->tick, <, MAX_TICKS);
  for (guint i = 0; i < room->n; i++)
    if (room->c[i])
      client_send (room, room->c[i]);
  cf_mixer_tick (room->mixer, (gint64) room->tick * 20000, on_out, room);
  for (guint i = 0; i < room->n; i++)
    {
      Client *c = room->c[i];
      if (c && !c->got[room->tick])
        {
          int n = opus_decode (c->dec, NULL, 0, c->heard[room->tick], FRAME, 0);
          g_assert_cmpint (n, ==, FRAME);
        }
    }
  room->tick++;
}

static void
room_run (Room *room, guint ticks)
{
  for (guint i = 0; i < ticks; i++)
    room_tick (room);
}

static Room *
room_new (const CfMixerConfig *config)
{
  Room *room = g_new0 (Room, 1);
  room->mixer = cf_mixer_new (config);
  return room;
}

static void
room_free (Room *room)
{
  for (guint i = 0; i < room->n; i++)
    if (room->c[i])
      client_free (room->c[i]);
  cf_mixer_free (room->mixer);
  g_free (room);
}

/* Power of @freq in what @c heard over ticks [from, to), in dB (full
 * scale sine = 0 dB). */
static double
tone_db (Client *c, guint from, guint to, double freq)
{
  double w = 2 * G_PI * freq / 48000.0, coeff = 2 * cos (w);
  double s1 = 0, s2 = 0;
  guint n = 0;
  for (guint t = from; t < to; t++)
    for (guint i = 0; i < FRAME; i++, n++)
      {
        double s0 = c->heard[t][i] / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
  double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  double amp = 2 * sqrt (power) / n;
  return 20 * log10 (amp + 1e-9);
}

/* As tone_db(), through a Hann window: for short windows among tones
 * close to each other. */
static double
tone_db_hann (Client *c, guint from, guint to, double freq)
{
  double w = 2 * G_PI * freq / 48000.0, coeff = 2 * cos (w);
  double s1 = 0, s2 = 0, wsum = 0;
  guint total = (to - from) * FRAME, n = 0;
  for (guint t = from; t < to; t++)
    for (guint i = 0; i < FRAME; i++, n++)
      {
        double win = 0.5 - 0.5 * cos (2 * G_PI * n / (total - 1));
        double s0 = win * c->heard[t][i] / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
        wsum += win;
      }
  double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return 20 * log10 (2 * sqrt (power) / wsum + 1e-9);
}

static gboolean
is_talker (CfMixer *mixer, guint id)
{
  guint ids[CF_MIXER_MAX_TALKERS];
  guint n = cf_mixer_get_talkers (mixer, ids, G_N_ELEMENTS (ids));
  for (guint i = 0; i < n; i++)
    if (ids[i] == id)
      return TRUE;
  return FALSE;
}

/* ---- Opus packet parsing ---- */

static void
test_opus_parse (void)
{
  CfOpusInfo info;
  /* Code 0, SILK WB 20 ms (config 9), VAD and LBRR set. */
  guint8 silk[] = { 9 << 3, 0xc0, 0x11 };
  g_assert_true (cf_opus_packet_parse (silk, sizeof silk, &info));
  g_assert_cmpint (info.mode, ==, CF_OPUS_SILK);
  g_assert_cmpuint (info.samples, ==, 960);
  g_assert_cmpint (info.vad, ==, 1);
  g_assert_cmpint (info.lbrr, ==, 1);
  silk[1] = 0x3f;
  g_assert_true (cf_opus_packet_parse (silk, sizeof silk, &info));
  g_assert_cmpint (info.vad, ==, 0);
  g_assert_cmpint (info.lbrr, ==, 0);
  /* SILK 60 ms: three VAD flags, then LBRR (bit 4). */
  guint8 silk60[] = { 11 << 3, 0x10, 0 };
  g_assert_true (cf_opus_packet_parse (silk60, sizeof silk60, &info));
  g_assert_cmpuint (info.samples, ==, 2880);
  g_assert_cmpint (info.vad, ==, 0);
  g_assert_cmpint (info.lbrr, ==, 1);
  /* CELT: no flags; a TOC alone is DTX. */
  guint8 celt[] = { 31 << 3, 1, 2, 3 };
  g_assert_true (cf_opus_packet_parse (celt, sizeof celt, &info));
  g_assert_cmpint (info.vad, ==, -1);
  g_assert_false (info.dtx);
  g_assert_true (cf_opus_packet_parse (celt, 1, &info));
  g_assert_true (info.dtx);
  /* R1-R7 violations. */
  g_assert_false (cf_opus_packet_parse (celt, 0, &info));                /* R1 */
  guint8 c1[] = { (31 << 3) | 1, 1, 2, 3 };                              /* R3: odd */
  g_assert_false (cf_opus_packet_parse (c1, sizeof c1, &info));
  guint8 c2[] = { (31 << 3) | 2, 5, 1, 2 };                              /* R4 */
  g_assert_false (cf_opus_packet_parse (c2, sizeof c2, &info));
  guint8 c3[] = { (31 << 3) | 3, 0 };                                    /* R5: M = 0 */
  g_assert_false (cf_opus_packet_parse (c3, sizeof c3, &info));
  guint8 c3long[] = { (11 << 3) | 3, 3, 0, 0, 0 };                       /* R5: 180 ms */
  g_assert_false (cf_opus_packet_parse (c3long, sizeof c3long, &info));
  guint8 c3cbr[] = { (31 << 3) | 3, 2, 1, 2, 3 };                        /* R6: 3 % 2 */
  g_assert_false (cf_opus_packet_parse (c3cbr, sizeof c3cbr, &info));
  guint8 c3pad[] = { (31 << 3) | 3, 0x41, 9, 1 };                        /* padding > rest */
  g_assert_false (cf_opus_packet_parse (c3pad, sizeof c3pad, &info));
  guint8 c3vbr[] = { (9 << 3) | 3, 0x82, 2, 0x80, 1, 0x7f };             /* VBR 2 frames */
  g_assert_true (cf_opus_packet_parse (c3vbr, sizeof c3vbr, &info));
  g_assert_cmpuint (info.frames, ==, 2);
  g_assert_cmpuint (info.first_offset, ==, 3);
  g_assert_cmpuint (info.first_len, ==, 2);
  g_assert_cmpint (info.vad, ==, 1);
}

/* The VAD flag read from real libopus SILK/hybrid packets follows the
 * signal: syllables on, quiet room off. */
static void
test_opus_vad_real (void)
{
  g_autofree Room *room = g_new0 (Room, 1);
  room->mixer = cf_mixer_new (NULL);
  Client *c = client_new (room, 300, 8000);
  c->modulate = TRUE;
  guint voiced_talk = 0, voiced_quiet = 0, frames = 0;
  for (guint t = 0; t < 100; t++)
    {
      c->talking = t < 50;
      guint8 pkt[1500];
      gsize len = client_encode (c, pkt);
      CfOpusInfo info;
      g_assert_true (cf_opus_packet_parse (pkt, len, &info));
      g_assert_cmpint (info.mode, !=, CF_OPUS_CELT);
      frames++;
      if (t >= 5 && t < 50)
        voiced_talk += info.vad == 1;
      if (t >= 60)
        voiced_quiet += info.vad == 1;
    }
  g_assert_cmpuint (voiced_talk, >=, 30);   /* of 45; the syllables have quiet troughs */
  g_assert_cmpuint (voiced_quiet, ==, 0);
  client_free (c);
  cf_mixer_free (room->mixer);
}

/* ---- mixing ---- */

/* Three talk, one listens: each talker hears the other two and not itself
 * (>= 40 dB down), the listener hears all three. */
static void
test_mix_minus (void)
{
  Room *room = room_new (NULL);
  double f[3] = { 440, 820, 1230 };
  Client *t[3];
  for (guint i = 0; i < 3; i++)
    {
      t[i] = client_new (room, f[i], 6000);
      t[i]->talking = TRUE;
      t[i]->level = 20;
    }
  Client *l = client_new (room, 2000, 0);
  room_run (room, 60);
  for (guint i = 0; i < 3; i++)
    {
      double own = tone_db (t[i], 20, 60, f[i]);
      for (guint j = 0; j < 3; j++)
        {
          if (j == i)
            continue;
          double other = tone_db (t[i], 20, 60, f[j]);
          g_assert_cmpfloat (other, >, -20);            /* 6000/32768 is -15 dBFS */
          g_assert_cmpfloat (other - own, >=, 40);
        }
      g_assert_cmpfloat (tone_db (l, 20, 60, f[i]), >, -20);
    }
  room_free (room);
}

/* Three loud in-phase talkers sum beyond full scale: clipped, not
 * wrapped around (a wrapped sum loses most of its fundamental). */
static void
test_saturation (void)
{
  Room *room = room_new (NULL);
  for (guint i = 0; i < 3; i++)
    {
      Client *c = client_new (room, 200, 20000);    /* 0.61 FS each, 1.83 FS summed */
      c->talking = TRUE;
      c->level = 3;
    }
  Client *l = client_new (room, 2000, 0);
  room_run (room, 50);
  double fund = tone_db (l, 20, 50, 200);
  /* A clipped 1.83 FS sine has a fundamental above full scale; wrapped it
   * would be about -10 dB. */
  g_assert_cmpfloat (fund, >, -2);
  gint peak = 0;
  for (guint t = 20; t < 50; t++)
    for (guint n = 0; n < FRAME; n++)
      peak = MAX (peak, ABS (l->heard[t][n]));
  g_assert_cmpint (peak, >, 28000);
  room_free (room);
}

/* K talkers of the loudest; a talker who stops keeps its place for the
 * hangover, then the next loudest takes it. */
static void
test_talkers_hangover (void)
{
  CfMixerConfig config;
  cf_mixer_config_init (&config);
  config.max_talkers = 3;
  config.hangover_ms = 300;
  Room *room = room_new (&config);
  double f[5] = { 400, 650, 900, 1150, 1400 };
  Client *c[5];
  for (guint i = 0; i < 5; i++)
    {
      c[i] = client_new (room, f[i], 5000);
      c[i]->talking = TRUE;
      c[i]->level = 10 + 5 * i;        /* c[0] loudest */
    }
  Client *l = client_new (room, 2000, 0);
  room_run (room, 40);
  guint ids[5];
  g_assert_cmpuint (cf_mixer_get_talkers (room->mixer, ids, 5), ==, 3);
  g_assert_cmpuint (ids[0], ==, c[0]->id);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (is_talker (room->mixer, c[i]->id), ==, i < 3);
  g_assert_cmpfloat (tone_db (l, 15, 40, f[2]), >, -30);
  g_assert_cmpfloat (tone_db (l, 15, 40, f[3]), <, -55);    /* not a talker: not heard */
  g_assert_cmpfloat (tone_db (l, 15, 40, f[4]), <, -55);

  /* c[0] falls silent (quiet room, level 127). */
  c[0]->talking = FALSE;
  c[0]->level = 127;
  room_run (room, 10);                 /* 200 ms, plus the 40 ms jitter buffer */
  g_assert_true (is_talker (room->mixer, c[0]->id));
  g_assert_false (is_talker (room->mixer, c[3]->id));
  room_run (room, 15);                 /* 500 ms: hangover over */
  g_assert_false (is_talker (room->mixer, c[0]->id));
  g_assert_true (is_talker (room->mixer, c[3]->id));
  g_assert_false (is_talker (room->mixer, c[4]->id));
  guint now = room->tick;
  room_run (room, 20);
  g_assert_cmpfloat (tone_db (l, now + 2, now + 20, f[3]), >, -30);
  room_free (room);
}

/* Talker selection from the SILK VAD flag alone (no RFC 6464 level). */
static void
test_talkers_vad (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 8000);
  Client *q[4];
  for (guint i = 0; i < 4; i++)
    q[i] = client_new (room, 700 + 200 * i, 8000);
  a->modulate = TRUE;
  a->talking = TRUE;
  room_run (room, 40);
  guint ids[5];
  g_assert_cmpuint (cf_mixer_get_talkers (room->mixer, ids, 5), ==, 1);
  g_assert_cmpuint (ids[0], ==, a->id);
  g_assert_cmpfloat (tone_db (q[0], 10, 40, 500), >, -35);
  room_free (room);
}

/* A muted participant is never heard, however loud; muting a talker cuts
 * it. */
static void
test_muted (void)
{
  Room *room = room_new (NULL);
  Client *m = client_new (room, 600, 12000);
  Client *b = client_new (room, 1300, 4000);
  Client *l = client_new (room, 2000, 0);
  m->talking = b->talking = TRUE;
  m->level = 0;
  b->level = 30;
  cf_mixer_set_muted (room->mixer, m->id, TRUE);
  room_run (room, 40);
  g_assert_false (is_talker (room->mixer, m->id));
  g_assert_cmpfloat (tone_db (l, 0, 40, 1300), >, -30);
  g_assert_cmpfloat (tone_db (l, 0, 40, 600), <, -55);

  cf_mixer_set_muted (room->mixer, m->id, FALSE);
  room_run (room, 20);
  g_assert_true (is_talker (room->mixer, m->id));
  g_assert_cmpfloat (tone_db (l, 45, 60, 600), >, -25);

  cf_mixer_set_muted (room->mixer, m->id, TRUE);
  g_assert_false (is_talker (room->mixer, m->id));    /* at once */
  guint at = room->tick;
  room_run (room, 20);
  g_assert_false (is_talker (room->mixer, m->id));
  /* Cut at once: after the decoder's own delay (one frame) nothing. */
  g_assert_cmpfloat (tone_db (l, at + 1, at + 20, 600), <, -55);
  /* And the one who muted never hears itself on the way from its own
   * encoder to the shared one: the shared encoder's look-ahead still held
   * its voice in the tick it was cut (heard at -22 dB in e2e before). */
  for (guint t = at - 5; t < at + 20; t++)
    g_assert_cmpfloat (tone_db (m, t, t + 1, 600), <, -45);
  room_free (room);
}

/* Only talkers are decoded: silent (DTX or VAD-off) participants cost no
 * decode. */
static void
test_silent_not_decoded (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  Client *b = client_new (room, 900, 6000);
  a->talking = b->talking = TRUE;
  a->level = b->level = 25;
  for (guint i = 0; i < 8; i++)
    client_new (room, 1000 + 100 * i, 0);   /* quiet room, no level: VAD 0, then DTX */
  room_run (room, 100);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  /* Two talkers, about 98 ticks each after the jitter buffer filled. */
  g_assert_cmpuint (st.decoded, <=, 2 * 100);
  g_assert_cmpuint (st.decoded, >=, 2 * 90);
  g_assert_cmpuint (st.plc + st.fec, ==, 0);
  /* 3 encodes a tick (shared, a's and b's mix-minus). */
  g_assert_cmpuint (st.encodes, <=, 3 * 100);
  g_assert_cmpuint (st.pushed, >, 2 * 100);
  room_free (room);
}

/* A deaf participant (XEP-0521: it gets the senders' own streams) is
 * sent nothing and costs no encoder of its own, while the others still
 * hear it talk. */
static void
test_deaf_talker (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  Client *d = client_new (room, 900, 6000);
  Client *l = client_new (room, 1300, 0);
  a->talking = d->talking = TRUE;
  a->level = d->level = 25;
  cf_mixer_set_deaf (room->mixer, d->id, TRUE);
  room_run (room, 60);
  for (guint t = 0; t < 60; t++)
    g_assert_false (d->got[t]);
  g_assert_cmpfloat (tone_db (l, 20, 60, 900), >, -20);
  g_assert_cmpfloat (tone_db (a, 20, 60, 900), >, -20);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  /* a's mix-minus and the shared one for l: no encoder for d. */
  g_assert_cmpuint (st.encodes, <=, 2 * 60);
  g_assert_cmpuint (st.encodes, >=, 2 * 50);
  room_free (room);
}

/* Nobody hears the mix (a room of XEP-0521 participants) and nothing
 * records it: talkers are still chosen, nothing is decoded or encoded;
 * the first ear back makes the mix run again. */
static void
test_all_deaf_idle (void)
{
  Room *room = room_new (NULL);
  Client *c[3];
  for (guint i = 0; i < 3; i++)
    {
      c[i] = client_new (room, 500 + 400 * i, 6000);
      c[i]->talking = TRUE;
      c[i]->level = 20 + i;
      cf_mixer_set_deaf (room->mixer, c[i]->id, TRUE);
    }
  room_run (room, 40);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.decoded + st.plc + st.fec, ==, 0);
  g_assert_cmpuint (st.encodes, ==, 0);
  g_assert_cmpuint (st.frames_out, ==, 0);
  guint ids[3];
  g_assert_cmpuint (cf_mixer_get_talkers (room->mixer, ids, 3), ==, 3);
  g_assert_cmpuint (ids[0], ==, c[0]->id);           /* loudest first: level 20 */

  cf_mixer_set_deaf (room->mixer, c[2]->id, FALSE);
  room_run (room, 40);
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.decoded, >, 0);
  g_assert_cmpfloat (tone_db (c[2], 60, 80, 500), >, -20);
  g_assert_cmpfloat (tone_db (c[2], 60, 80, 900), >, -20);
  g_assert_cmpfloat (tone_db (c[2], 60, 80, 500) - tone_db (c[2], 60, 80, 1300), >=, 40);
  room_free (room);
}

/* Out-of-order and duplicate packets within the jitter window change
 * nothing; late ones are counted and dropped; a lost packet is recovered
 * from the next one's FEC. */
static void
test_reorder_late_dup (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  a->level = 20;
  a->talking = TRUE;
  Client *l = client_new (room, 2000, 0);
  guint8 pkt[40][1500];
  gsize len[40];
  guint32 ts0 = a->ts;
  guint16 seq0 = a->seq;
  for (guint i = 0; i < 40; i++)
    len[i] = client_encode (a, pkt[i]);
  a->ts += 40 * FRAME;
  a->seq += 40;
  /* Send in swapped pairs, a duplicate of each, packet 20 lost, packet 30
   * 100 ms late. */
  for (guint t = 0; t < 40; t++)
    {
      guint i = t % 2 == 0 ? t + 1 : t - 1;
      if (i != 20 && i != 30)
        for (guint k = 0; k < 2; k++)
          cf_mixer_push (room->mixer, a->id, seq0 + i, ts0 + i * FRAME, pkt[i], len[i], 20, TRUE, 0);
      if (t == 35)
        cf_mixer_push (room->mixer, a->id, seq0 + 30, ts0 + 30 * FRAME, pkt[30], len[30], 20, TRUE, 0);
      cf_mixer_tick (room->mixer, 0, on_out, room);
      if (!l->got[room->tick])
        g_assert_cmpint (opus_decode (l->dec, NULL, 0, l->heard[room->tick], FRAME, 0), ==, FRAME);
      room->tick++;
    }
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.duplicates, ==, 38);
  g_assert_cmpuint (st.late, ==, 1);
  g_assert_cmpuint (st.pushed, ==, 38);
  g_assert_cmpuint (st.fec, ==, 1);          /* 20, from 21's LBRR */
  g_assert_cmpuint (st.plc, ==, 1);          /* 30: 31 carries no FEC for it in time */
  g_assert_cmpfloat (tone_db (l, 5, 38, 500), >, -20);
  room_free (room);
}

/* However fast packets come, the buffer holds a bounded span. */
static void
test_jitter_bound (void)
{
  CfJitter jb;
  cf_jitter_init (&jb, 40);
  guint8 pkt[3] = { 15 << 3, 0x80, 0x55 };   /* hybrid FB 20 ms */
  guint overflow_total = 0;
  for (guint i = 0; i < 500; i++)
    {
      guint overflow;
      CfJitterResult r = cf_jitter_push (&jb, i, 1000 + i * FRAME, pkt, sizeof pkt, -1, FALSE, &overflow);
      g_assert_cmpint (r, ==, CF_JITTER_ACCEPTED);
      overflow_total += overflow;
      g_assert_cmpuint (jb.n, <=, CF_JITTER_MAX_PACKETS);
      CfJitterPacket *newest = jb.order[jb.n - 1];
      g_assert_cmpint (cf_ts_diff (newest->ts + FRAME, jb.play_ts), <=, (gint) jb.max_ahead);
    }
  g_assert_cmpuint (overflow_total, >=, 500 - (40 + CF_JITTER_MAX_EXTRA_MS) / 20);
  /* Sorted, and duplicates refused. */
  guint overflow;
  g_assert_cmpint (cf_jitter_push (&jb, 499, 1000 + 499 * FRAME, pkt, sizeof pkt, -1, FALSE, &overflow),
                   ==, CF_JITTER_DUPLICATE);
  for (guint i = 1; i < jb.n; i++)
    g_assert_cmpint (cf_ts_diff (jb.order[i]->ts, jb.order[i - 1]->ts), >, 0);
  /* Not Opus, too long. */
  guint8 big[CF_JITTER_MAX_BYTES + 1] = { 0 };
  g_assert_cmpint (cf_jitter_push (&jb, 1, 5, big, sizeof big, -1, FALSE, &overflow), ==, CF_JITTER_INVALID);
  g_assert_cmpint (cf_jitter_push (&jb, 1, 5, big, 0, -1, FALSE, &overflow), ==, CF_JITTER_INVALID);
  cf_jitter_clear (&jb);
}

/* Every listener who is not a talker gets the same payload pointer, a
 * talker its own. */
static void
test_shared_payload (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  Client *b = client_new (room, 900, 6000);
  a->talking = b->talking = TRUE;
  a->level = b->level = 20;
  Client *l[6];
  for (guint i = 0; i < 6; i++)
    l[i] = client_new (room, 1000, 0);
  room_run (room, 30);
  guint checked = 0;
  for (guint t = 5; t < 30; t++)
    {
      if (!l[0]->got[t])
        continue;
      for (guint i = 0; i < 6; i++)
        {
          g_assert_true (l[i]->got[t]);
          g_assert_true (l[i]->payload[t] == l[0]->payload[t]);
        }
      g_assert_true (a->got[t] && b->got[t]);
      g_assert_true (a->payload[t] != l[0]->payload[t]);
      g_assert_true (b->payload[t] != l[0]->payload[t]);
      g_assert_true (a->payload[t] != b->payload[t]);
      checked++;
    }
  g_assert_cmpuint (checked, >=, 20);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.encodes, <=, 3 * 30);
  room_free (room);
}

/* How far what @c heard in tick @t is from what @ref heard, in dB
 * relative to @ref's mean power over ticks [from, to) (a syllable's trough
 * is no reference). */
static double
diff_db (Client *c, Client *ref, guint t, guint from, guint to)
{
  double e = 0, p = 0;
  for (guint n = 0; n < FRAME; n++)
    {
      double d = (double) c->heard[t][n] - ref->heard[t][n];
      e += d * d;
    }
  for (guint u = from; u < to; u++)
    for (guint n = 0; n < FRAME; n++)
      p += (double) ref->heard[u][n] * ref->heard[u][n] / (to - from);
  return 10 * log10 ((e + 1e-3) / (p + 1e-3));
}

/* @c speaks in sentences: 240 ms of syllables, 120 ms of pause. */
static void
room_run_speech (Room *room, Client *c, guint ticks)
{
  for (guint i = 0; i < ticks; i++)
    {
      c->talking = room->tick % 18 < 12;
      c->level = c->talking ? 20 : 127;
      room_tick (room);
    }
}

/* A listener who becomes a talker moves from the shared encoder to its own
 * (a copy of the shared state), and back after the hangover.  Compared
 * with a listener who stays on the shared encoder:
 *   - the switch to its own: its voice is digital silence here (only its
 *     RFC 6464 level says it talks), so its mix-minus is the shared mix and
 *     the copied encoder codes what the shared one does, to the codec's
 *     noise (-35 dB and below; an encoder started afresh instead is -2 dB
 *     off for a frame: a click);
 *   - the switch back: after it really talked (its encoder's state went its
 *     own way) and stopped in mid-sentence of the other talker, once on the
 *     shared stream again it decodes the same packets as the listener, and
 *     what its decoder still carries from its own stream stays more than
 *     20 dB below the signal (-30 dB at worst, typically -40, over 30
 *     random seeds): no spike. */
static void
test_switch_no_glitch (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 440, 8000);
  a->modulate = TRUE;                 /* speech-like syllables */
  Client *s = client_new (room, 1700, 6000);
  s->digital_silence = TRUE;
  opus_encoder_ctl (s->enc, OPUS_SET_DTX (0));   /* it sends its silence */
  s->level = 127;
  Client *l = client_new (room, 2000, 0);
  room_run_speech (room, a, 30);
  for (guint t = 10; t < 30; t++)
    g_assert_cmpfloat (diff_db (s, l, t, 10, 30), <, -90);   /* the same packets */

  s->level = 25;
  guint on = room->tick;
  room_run_speech (room, a, 20);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.state_copies, >=, 2);        /* a's at the start, then s's */
  g_assert_true (is_talker (room->mixer, s->id));
  guint switched = 0;
  for (guint t = on; t < on + 20; t++)
    {
      g_assert_true (s->got[t] && l->got[t]);
      if (s->payload[t] == l->payload[t])
        continue;
      /* Its first frames on its own encoder: the two encoders code signals
       * that differ by its near-zero decoded silence, so they differ by
       * the codec's own noise (-35 dB and below), not by a click. */
      if (switched++ < 3)
        g_assert_cmpfloat (diff_db (s, l, t, on, on + 20), <, -25);
    }
  g_assert_cmpuint (switched, >=, 15);

  /* s talks for real, then stops, so that its hangover ends while a is
   * in mid-sentence. */
  s->talking = TRUE;
  room_run_speech (room, a, 40);
  while (room->tick % 18 != 4)
    room_run_speech (room, a, 1);
  s->talking = FALSE;
  s->level = 127;
  guint off = room->tick;
  room_run_speech (room, a, 60);
  g_assert_false (is_talker (room->mixer, s->id));
  guint back = 0;
  double worst = -200;
  for (guint t = off; t < off + 60; t++)
    {
      g_assert_true (s->got[t] && l->got[t]);
      if (s->payload[t] != l->payload[t])
        continue;
      g_assert_true (back > 0 || s->payload[t - 1] != l->payload[t - 1]);
      back++;
      worst = MAX (worst, diff_db (s, l, t, off, off + 60));
    }
  g_assert_cmpuint (back, >=, 20);
  g_assert_cmpfloat (worst, <, -20);
  room_free (room);
}

/* Everyone talks at one level, in spurts that start and stop together
 * (the benchmark's "all talking" room): each spurt the talkers are chosen
 * anew among equals, and nobody ever hears itself, in any frame of the
 * run (the switches to and from its own encoder included). */
static void
test_all_talk_spurts (void)
{
  Room *room = room_new (NULL);
  enum { N = 16, ON = 70, OFF = 25, CYCLES = 4 };
  /* Equal levels tie, and ties keep the older ids: the first three talk.
   * The tones are chosen so that the codec's own distortion of their sum
   * (harmonics, a±b, 2a-b, a+b-c) lands at least 50 Hz from every other
   * tone: with evenly spaced tones a 2a-b product is exactly a listener's
   * own frequency, at -40 dBFS, and reads as a leak that is not one. */
  static const double freq[N] = { 330, 470, 710, 1250, 1530, 1670, 1810, 1950,
                                  2270, 2410, 2550, 2690, 2830, 2970, 3110, 3250 };
  Client *c[N];
  for (guint i = 0; i < N; i++)
    {
      c[i] = client_new (room, freq[i], 6000);
      c[i]->modulate = (i % 2) == 0;
    }
  guint talkers_seen = 0;
  gboolean was[N] = { FALSE };
  for (guint cyc = 0; cyc < CYCLES; cyc++)
    {
      for (guint i = 0; i < N; i++)
        {
          c[i]->talking = TRUE;
          c[i]->level = 20;
        }
      room_run (room, ON);
      for (guint i = 0; i < N; i++)
        {
          if (is_talker (room->mixer, c[i]->id) && !was[i])
            talkers_seen++;
          was[i] = is_talker (room->mixer, c[i]->id);
          c[i]->talking = FALSE;
          c[i]->level = 127;
        }
      room_run (room, OFF);
    }
  g_assert_cmpuint (talkers_seen, >=, 3);
  /* 100 ms Hann windows every 40 ms (a switch's leftover is short), none
   * across the moment everyone starts or stops: a tone cut inside the
   * window spreads over the spectrum (-40 dBFS 140 Hz away), in the
   * analysis, not in the audio. */
  double worst = -200;
  for (guint i = 0; i < N; i++)
    for (guint t = 2; t + 5 <= room->tick; t += 2)
      {
        /* The starts and stops as heard: 3 ticks later (the jitter
         * buffer's 40 ms and the codec's delay), given 4 ticks. */
        gboolean straddles = FALSE;
        for (guint cyc = 0; cyc < CYCLES; cyc++)
          {
            guint start = cyc * (ON + OFF), stop = start + ON;
            if ((t < start + 7 && t + 5 > start) || (t < stop + 7 && t + 5 > stop))
              straddles = TRUE;
          }
        if (straddles)
          continue;
        double own = tone_db_hann (c[i], t, t + 5, c[i]->freq);
        worst = MAX (worst, own);
        if (own > -60)
          g_test_message ("p%u ticks %u-%u own %.1f dB", i, t, t + 5, own);
      }
  g_test_message ("own tone, worst 100 ms window: %.1f dB", worst);
  /* A 6000 tone is -15 dBFS, the others are heard at -21 dBFS each: in
   * 100 ms, the codec's noise in the own bin stays under -55 (measured
   * -56 to -58); a switch's leftover (-30 dB) or the leak a mute once
   * had (-22 dB) would be -37 to -45. */
  g_assert_cmpfloat (worst, <, -15 - 35);
  /* Over each spurt, as the e2e and benchmark checks look (Hann, >= 1 s):
   * 45 dB under. */
  for (guint i = 0; i < N; i++)
    for (guint cyc = 0; cyc < CYCLES; cyc++)
      {
        guint start = cyc * (ON + OFF);
        double own = tone_db_hann (c[i], start + 7, start + ON, c[i]->freq);
        g_test_message ("p%u spurt %u own %.1f dB", i, cyc, own);
        g_assert_cmpfloat (own, <, -15 - 45);
      }
  room_free (room);
}

/* Participants come and go, also from inside the output callback. */
typedef struct {
  Room *room;
  guint remove_id;
  gboolean done;
} ChurnData;

static void
churn_hook (gpointer data, guint id)
{
  ChurnData *d = data;
  if (d->done)
    return;
  d->done = TRUE;
  Client *victim = client_by_id (d->room, d->remove_id);
  cf_mixer_remove (d->room->mixer, d->remove_id);
  for (guint i = 0; i < d->room->n; i++)
    if (d->room->c[i] == victim)
      {
        client_free (victim);
        d->room->c[i] = NULL;
      }
  Client *c = client_new (d->room, 1800, 5000);
  c->talking = TRUE;
  c->level = 40;
}

static void
test_add_remove (void)
{
  Room *room = room_new (NULL);
  Client *c[6];
  for (guint i = 0; i < 6; i++)
    {
      c[i] = client_new (room, 400 + 150 * i, 5000);
      c[i]->talking = i < 4;
      c[i]->level = i < 4 ? 20 + i : 127;
    }
  room_run (room, 20);
  /* A talker leaves between ticks; its id is reused by the next one. */
  guint gone = c[0]->id;
  cf_mixer_remove (room->mixer, gone);
  client_free (c[0]);
  room->c[0] = NULL;
  g_assert_false (is_talker (room->mixer, gone));
  Client *n = client_new (room, 2500, 5000);
  g_assert_cmpuint (n->id, ==, gone);
  room_run (room, 10);
  g_assert_cmpfloat (tone_db (c[5], 10, 20, 400), >, -25);
  g_assert_cmpfloat (tone_db (c[5], 25, 30, 400), <, -50);
  /* From inside a tick: a talker is removed and someone added. */
  ChurnData d = { room, c[1]->id, FALSE };
  room->hook = churn_hook;
  room->hook_data = &d;
  room_run (room, 1);
  room->hook = NULL;
  g_assert_true (d.done);
  room_run (room, 30);
  Client *added = room->c[room->n - 1];
  g_assert_true (added->got[room->tick - 1]);
  g_assert_cmpfloat (tone_db (c[5], room->tick - 20, room->tick, 1800), >, -35);
  /* Everyone leaves. */
  for (guint i = 0; i < room->n; i++)
    if (room->c[i])
      {
        cf_mixer_remove (room->mixer, room->c[i]->id);
        client_free (room->c[i]);
        room->c[i] = NULL;
      }
  cf_mixer_tick (room->mixer, 0, on_out, room);
  g_assert_cmpuint (cf_mixer_get_talkers (room->mixer, (guint[5]) { 0 }, 5), ==, 0);
  room_free (room);
}

/* Nobody talks: after the tail listeners get nothing, and no encodes. */
static void
test_silence_idle (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  Client *l = client_new (room, 2000, 0);
  a->talking = TRUE;
  a->level = 20;
  room_run (room, 20);
  g_assert_true (l->got[19]);
  /* Alone, a's mix-minus is silence: its encoder never starts. */
  for (guint t = 0; t < 20; t++)
    g_assert_false (a->got[t]);
  a->talking = FALSE;
  a->level = 127;
  room_run (room, 60);
  CfMixerStats before;
  cf_mixer_get_stats (room->mixer, &before);
  room_run (room, 20);
  CfMixerStats after;
  cf_mixer_get_stats (room->mixer, &after);
  g_assert_cmpuint (after.encodes, ==, before.encodes);
  g_assert_cmpuint (after.frames_out, ==, before.frames_out);
  g_assert_cmpuint (after.decoded, ==, before.decoded);
  /* And it comes back. */
  a->talking = TRUE;
  a->level = 20;
  room_run (room, 10);
  g_assert_true (l->got[room->tick - 1]);
  room_free (room);
}

/* Within the hangover only someone 10 dB louder takes a talker's place;
 * the talker it replaces while still voiced fades out over one frame, in
 * which it gets its own mix-minus still (never its own voice). */
static void
test_preempt_fade (void)
{
  CfMixerConfig config;
  cf_mixer_config_init (&config);
  config.max_talkers = 1;
  Room *room = room_new (&config);
  Client *a = client_new (room, 500, 6000);
  Client *b = client_new (room, 1100, 6000);
  Client *l = client_new (room, 2000, 0);
  a->talking = TRUE;
  a->level = 30;
  room_run (room, 20);
  g_assert_true (is_talker (room->mixer, a->id));
  /* b, 5 dB louder: not enough. */
  b->talking = TRUE;
  b->level = 25;
  room_run (room, 10);
  g_assert_true (is_talker (room->mixer, a->id));
  g_assert_cmpfloat (tone_db (l, 22, 30, 1100), <, -55);
  /* b, 20 dB louder: takes over while a still talks. */
  b->level = 10;
  guint at = room->tick;
  room_run (room, 10);
  g_assert_true (is_talker (room->mixer, b->id));
  g_assert_false (is_talker (room->mixer, a->id));
  g_assert_cmpfloat (tone_db (l, at + 4, at + 10, 1100), >, -25);
  g_assert_cmpfloat (tone_db (l, at + 5, at + 10, 500), <, -55);
  /* a never heard itself, also not in the fade-out frame. */
  g_assert_cmpfloat (tone_db (a, 5, at + 10, 500), <, -55);
  /* The tick b starts talking (its own encoder), a fades out on its own
   * encoder; from the next, a listens to the shared one. */
  guint sw = at;
  while (sw < at + 10 && b->payload[sw] == l->payload[sw])
    sw++;
  g_assert_cmpuint (sw, <, at + 9);
  g_assert_true (a->got[sw] && a->payload[sw] != l->payload[sw]);
  g_assert_true (a->payload[sw + 1] == l->payload[sw + 1]);
  room_free (room);
}

/* Each encoder's in-band FEC follows its listeners' loss: none without
 * loss, LBRR in the SILK layer once a listener reports some. */
static void
test_fec_follows_loss (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  a->talking = TRUE;
  a->modulate = TRUE;
  a->level = 20;
  Client *l = client_new (room, 2000, 0);
  room_run (room, 30);
  guint lbrr = 0, frames = 0;
  for (guint t = 10; t < 30; t++)
    if (l->got[t])
      {
        CfOpusInfo info;
        g_assert_true (cf_opus_packet_parse (l->payload[t], l->payload_len[t], &info));
        frames++;
        lbrr += info.lbrr == 1;
      }
  g_assert_cmpuint (frames, >=, 15);
  g_assert_cmpuint (lbrr, ==, 0);
  cf_mixer_set_listener_loss (room->mixer, l->id, 20);
  room_run (room, 30);
  lbrr = frames = 0;
  for (guint t = 40; t < 60; t++)
    if (l->got[t])
      {
        CfOpusInfo info;
        g_assert_true (cf_opus_packet_parse (l->payload[t], l->payload_len[t], &info));
        g_assert_cmpint (info.mode, !=, CF_OPUS_CELT);
        frames++;
        lbrr += info.lbrr == 1;
      }
  g_assert_cmpuint (frames, >=, 15);
  g_assert_cmpuint (lbrr, >=, frames / 2);
  room_free (room);
}

/* A sender whose clock runs 4 % fast: its buffer would fill up to the
 * bound (240 ms of latency, then voiced frames skipped); instead unvoiced
 * frames are skipped as the excess appears. */
static void
test_drift (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  client_new (room, 2000, 0);
  a->talking = TRUE;
  for (guint t = 0; t < 375; t++)
    {
      /* Syllables: 10 frames voiced, 5 not. */
      a->level = t % 15 < 10 ? 20 : 127;
      if (t % 25 == 0)
        client_send (room, a);         /* the extra frame */
      room_tick (room);
    }
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.dropped_overflow, ==, 0);
  g_assert_cmpuint (st.late, ==, 0);
  /* 15 extra frames, the first 3 within the slack. */
  g_assert_cmpuint (st.drift_skips, >=, 9);
  g_assert_cmpuint (st.drift_skips, <=, 15);
  room_free (room);
}

/* The worker missed 5 ticks: cf_mixer_skip() keeps the buffers where they
 * belong (no frame dropped for drift later, nothing late: without it the
 * buffers would hold 100 ms too much), and the talker goes on. */
static void
test_skip (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  Client *l = client_new (room, 2000, 0);
  a->talking = TRUE;
  a->modulate = TRUE;
  a->level = 20;
  room_run (room, 30);
  for (guint k = 0; k < 5; k++)
    {
      client_send (room, a);           /* the missed ticks' packets */
      client_send (room, l);
    }
  cf_mixer_skip (room->mixer, 5);
  room_run (room, 80);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.drift_skips, ==, 0);
  g_assert_cmpuint (st.dropped_overflow, ==, 0);
  g_assert_cmpuint (st.late, ==, 0);
  g_assert_true (is_talker (room->mixer, a->id));
  g_assert_cmpfloat (tone_db (l, 35, 110, 500), >, tone_db (l, 5, 30, 500) - 3);
  room_free (room);
}

/* A steady tone (hold music, the e2e tests' 440 Hz) is delivered as it is
 * for as long as it lasts: no encoder DTX turning it into comfort noise. */
static void
test_steady_tone (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 440, 6000);
  Client *l = client_new (room, 2000, 0);
  a->talking = TRUE;
  a->level = 20;
  room_run (room, 300);
  for (guint t = 5; t < 300; t++)
    g_assert_true (l->got[t]);
  g_assert_cmpfloat (tone_db (l, 20, 60, 440), >, -17);
  g_assert_cmpfloat (tone_db (l, 250, 300, 440), >, -17);   /* 6000 is -14.7 dBFS */
  room_free (room);
}

/* CELT-only senders without RFC 6464 levels carry nothing to select by:
 * they are decoded to measure, and the quiet ones are not talkers. */
static void
test_celt_measured (void)
{
  Room *room = room_new (NULL);
  Client *c[3];
  int err;
  for (guint i = 0; i < 3; i++)
    {
      c[i] = client_new (room, 500 + 400 * i, 6000);
      opus_encoder_destroy (c[i]->enc);
      c[i]->enc = opus_encoder_create (48000, 1, OPUS_APPLICATION_RESTRICTED_LOWDELAY, &err);
      g_assert_cmpint (err, ==, OPUS_OK);
    }
  Client *l = client_new (room, 2000, 0);
  c[0]->talking = TRUE;
  room_run (room, 30);
  guint8 pkt[1500];
  CfOpusInfo info;
  g_assert_true (cf_opus_packet_parse (pkt, client_encode (c[1], pkt), &info));
  g_assert_cmpint (info.mode, ==, CF_OPUS_CELT);
  guint ids[5];
  g_assert_cmpuint (cf_mixer_get_talkers (room->mixer, ids, 5), ==, 1);
  g_assert_cmpuint (ids[0], ==, c[0]->id);
  g_assert_cmpfloat (tone_db (l, 10, 30, 500), >, -20);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.measured, >=, 3 * 25);
  c[2]->talking = TRUE;
  room_run (room, 20);
  g_assert_true (is_talker (room->mixer, c[2]->id));
  g_assert_false (is_talker (room->mixer, c[1]->id));
  g_assert_cmpfloat (tone_db (l, 40, 50, 1300), >, -20);
  g_assert_cmpfloat (tone_db (c[0], 40, 50, 500), <, -55);    /* mix-minus still */
  room_free (room);
}

/* Senders of 10 ms and of 60 ms packets are mixed like 20 ms ones: the
 * 10 ms pairs fill one tick, a 60 ms packet is decoded once for three. */
static void
test_frame_sizes (void)
{
  Room *room = room_new (NULL);
  Client *a = client_new (room, 500, 6000);
  Client *b = client_new (room, 1100, 6000);
  Client *l = client_new (room, 2000, 0);
  a->frame = 480;
  b->frame = 2880;
  a->talking = b->talking = TRUE;
  a->level = b->level = 20;
  room_run (room, 60);
  CfMixerStats st;
  cf_mixer_get_stats (room->mixer, &st);
  g_assert_cmpuint (st.plc + st.fec + st.late + st.dropped_overflow + st.invalid, ==, 0);
  /* a: 2 a tick; b: one every 3 ticks, about 56 ticks each. */
  g_assert_cmpuint (st.decoded, <=, 2 * 60 + 60 / 3 + 2);
  g_assert_cmpuint (st.decoded, >=, 2 * 50 + 50 / 3);
  g_assert_cmpfloat (tone_db (l, 10, 60, 500), >, -20);
  g_assert_cmpfloat (tone_db (l, 10, 60, 1100), >, -20);
  g_assert_cmpfloat (tone_db (a, 10, 60, 1100), >, -20);
  g_assert_cmpfloat (tone_db (a, 10, 60, 500), <, -55);
  g_assert_cmpfloat (tone_db (b, 10, 60, 500), >, -20);
  g_assert_cmpfloat (tone_db (b, 10, 60, 1100), <, -55);
  room_free (room);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-mixer/opus-parse", test_opus_parse);
  g_test_add_func ("/conference-mixer/opus-vad-real", test_opus_vad_real);
  g_test_add_func ("/conference-mixer/mix-minus", test_mix_minus);
  g_test_add_func ("/conference-mixer/saturation", test_saturation);
  g_test_add_func ("/conference-mixer/frame-sizes", test_frame_sizes);
  g_test_add_func ("/conference-mixer/talkers-hangover", test_talkers_hangover);
  g_test_add_func ("/conference-mixer/talkers-vad", test_talkers_vad);
  g_test_add_func ("/conference-mixer/celt-measured", test_celt_measured);
  g_test_add_func ("/conference-mixer/preempt-fade", test_preempt_fade);
  g_test_add_func ("/conference-mixer/muted", test_muted);
  g_test_add_func ("/conference-mixer/fec-follows-loss", test_fec_follows_loss);
  g_test_add_func ("/conference-mixer/silent-not-decoded", test_silent_not_decoded);
  g_test_add_func ("/conference-mixer/deaf-talker", test_deaf_talker);
  g_test_add_func ("/conference-mixer/all-deaf-idle", test_all_deaf_idle);
  g_test_add_func ("/conference-mixer/reorder-late-dup", test_reorder_late_dup);
  g_test_add_func ("/conference-mixer/jitter-bound", test_jitter_bound);
  g_test_add_func ("/conference-mixer/drift", test_drift);
  g_test_add_func ("/conference-mixer/skip", test_skip);
  g_test_add_func ("/conference-mixer/shared-payload", test_shared_payload);
  g_test_add_func ("/conference-mixer/switch-no-glitch", test_switch_no_glitch);
  g_test_add_func ("/conference-mixer/all-talk-spurts", test_all_talk_spurts);
  g_test_add_func ("/conference-mixer/add-remove", test_add_remove);
  g_test_add_func ("/conference-mixer/silence-idle", test_silence_idle);
  g_test_add_func ("/conference-mixer/steady-tone", test_steady_tone);
  return g_test_run ();
}
