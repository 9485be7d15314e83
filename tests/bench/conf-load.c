/* Not a test: the load side of tests/bench/bench_conference.py.  One
 * process plays N participants of one audio conference room, each with
 * its own UDP socket on 127.0.0.1 (a mixer that demultiplexes by address
 * must see one per participant):
 *
 *   conf-load ice     belfry: per participant its own ICE credentials and
 *                     DTLS association (belfry's dtls.c, a certificate of
 *                     its own), the same minimal ICE as call-load.c (both
 *                     are load-leg.c: every binding request answered with
 *                     MESSAGE-INTEGRITY + FINGERPRINT; checks as libwebrtc
 *                     makes them), then SRTP with the DTLS-exported keys
 *                     (srtp-session.c)
 *   conf-load plain   Janus AudioBridge "rtp" participants: plain RTP
 *
 * What a participant sends is what a real Opus client sends (libopus
 * 1.3, 48 kHz mono, OPUS_APPLICATION_VOIP, 20 ms frames, PT 111, the RFC
 * 6464 audio level in a one-byte header extension, id 1):
 *  - a talker: a tone of its own (-20 dBFS, a multiple of 50 Hz so that
 *    a 20 ms frame holds whole cycles), pre-encoded at start (one second,
 *    cycled), level 20 with the voice bit.  In "spurts" mode a talker
 *    talks 1.6 s and is silent 0.4 s, its phase its own (onsets are what
 *    the latency is measured on); in "all" mode it talks all the time;
 *  - a silent participant (and a talker between spurts): libopus with
 *    OPUS_SET_DTX on digital silence (what a client's noise suppression
 *    makes of a quiet room; libopus 1.3 does not enter DTX on even a
 *    +-1 LSB noise floor at 32 kb/s, where it codes CELT), pre-encoded (ten seconds,
 *    cycled), paced as libwebrtc sends it: of the frames of at most 2
 *    bytes (DTX, TOC only) only the first after a real frame is sent; the
 *    encoder's comfort-noise updates (every ~400 ms) are; level 127, no
 *    voice bit.  The RTP timestamp advances 960 a frame, sent or not; the
 *    marker bit is set on the first frame after a gap.
 * Every participant starts at its own phase within the 20 ms (real
 * clients are not synchronised).
 *
 * What a participant receives is counted (packets, sequence gaps: loss;
 * the RTP timestamp span in 20 ms frames: frames the mixer skipped, or
 * left to the receiver's DTX/PLC, without a sequence gap);
 * a "listen"ing participant also decodes it (libopus) into a raw s16le
 * 48 kHz file the driver checks by FFT (every talker heard, its own tone
 * absent), and per 20 ms frame takes the power of each talker's tone
 * (Goertzel): the first frame in which a talker's tone comes back after
 * its silence is that talker's onset at this listener; onset latency =
 * arrival of that packet (SO_TIMESTAMPNS) - the send time of the talker's
 * first speech packet of the spurt.  That is the mixer's added latency
 * (jitter buffer, talker selection, the mix tick) plus two loopback hops.
 *
 * During a run the sockets are not polled: a 2 ms timerfd tick drains
 * every readable socket, then sends what is due (a mixer's sends never
 * wake the load; on loopback the sender pays for waking the receiver).
 *
 * Lines in (stdin):
 *   part I                 participant I's socket (ice: prints "I
 *                          credentials U P", "I fingerprint H FP", "I
 *                          candidate F C TYPE IP PORT PRIO", "I
 *                          gathering-done"; plain: "I ready PORT")
 *   I remote-ice U P controlling|controlled   (the mixer's role)
 *   I remote-dtls active|passive HASH FP      (OUR setup)
 *   I candidate F C TYPE IP PORT PRIO         (the mixer's)
 *   I dest IP PORT                            plain: where I sends
 *   I talker FREQ | I silent                  what I sends (default silent)
 *   I listen FILE                             decode what I receives
 *   watch FILE...          schedstat files summed at the window's edges
 *   start spurts|all       every participant starts sending (after ICE/
 *                          DTLS in ice mode: a participant not keyed yet
 *                          sends once it is)
 *   window SECONDS         a measured window from now: "window-start",
 *                          "window-end", then "window-report K=V ..." (expected: by
 *                          sequence numbers; frames: by RTP timestamps),
 *                          per listener "listener I received=N
 *                          expected=N frames=N onsets=N lat_us=A,B,..." and
 *                          "window-done"
 *   stop | stats | quit
 * Lines out, besides: "ports per-participant max N" first, "I
 * ice-connected", "I dtls-connected PROFILE", "I media-ok" (the first
 * packet from the mixer), "I failed WHAT ...", "error ...". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>
#include <opus.h>

#include "load-leg.h"

#define MAX_PARTS 512
#define BUFSZ LOAD_BUFSZ
#define PT_OPUS 111
#define EXT_ID 1                     /* ssrc-audio-level, as offered */
#define RATE 48000
#define FRAME 960                    /* 20 ms */
#define TONE_FRAMES 50               /* 1 s of tone, cycled */
#define SILENCE_FRAMES 500           /* 10 s of DTX, cycled */
#define TICK_US 2000
#define SPURT_ON_MS 1600
#define SPURT_PERIOD_MS 2000
#define MAX_TALKERS 64
#define MAX_ONSETS 256
#define TONE_AMP 3277.0              /* -20 dBFS */
#define LEVEL_TALK 20                /* RFC 6464: -20 dBov */
#define LEVEL_SILENT 127

enum { MODE_ICE, MODE_PLAIN };

typedef struct {
  GBytes *frame[SILENCE_FRAMES];     /* NULL: not sent (DTX, as libwebrtc) */
} Silence;

typedef struct {
  guint freq;
  GBytes *frame[TONE_FRAMES];
} Tone;

typedef struct {
  guint idx;
  LoadLeg ll;                        /* socket, ICE, DTLS, SRTP */
  /* sending */
  int talker;                        /* index into L.tones, -1: silent */
  guint32 ssrc;
  guint16 seq;
  guint32 ts;
  guint64 frame_no;                  /* frames since start (sent or not) */
  gint64 next_ns;                    /* when the next frame is due */
  gint64 phase_ms;                   /* spurt phase */
  gboolean gap;                      /* the previous frame was not sent */
  gboolean talking;
  gint64 onset_ns;                   /* send time of this spurt's first speech packet */
  guint silence_off;
  /* receiving */
  gboolean got, media_said;
  guint16 last_seq;
  guint64 received, bad;
  guint64 w_received, w_first_ext, w_last_ext, w_ext;
  gboolean w_got;
  guint32 w_first_ts, ts_hi;         /* RTP timestamps in the window: first, highest */
  guint64 w_ts_span;                 /* highest - first, unwrapped */
  guint64 ext_seq;                   /* extended highest sequence */
  /* listening */
  OpusDecoder *dec;
  FILE *pcm;
  gboolean heard[MAX_TALKERS];
  gint64 heard_onset[MAX_TALKERS];   /* the onset already measured */
  guint n_lat;
  guint32 lat_us[MAX_ONSETS];
} Part;

static struct {
  int mode;
  guint ep_src;
  Part *parts[MAX_PARTS];
  guint n_parts;
  guint8 out_buf[BUFSZ];
  Tone tones[MAX_TALKERS];
  guint n_tones;
  Silence silence;
  guint silence_sent;                /* frames of the cycle that are sent */
  gboolean started, all_talk;
  gint64 start_ns;
  int tick_fd;
  guint tick_src;
  /* window */
  gboolean measuring, window_ended;
  gint64 ws_ns, we_ns;
  guint64 cpu0, cpu1, self0, self1;
  guint64 w_sent, w_sent_bytes, w_talk_sent, w_silent_sent;
  char **watch;
  guint64 total_sent, total_received, total_bad;
} L;

/* --- the audio, encoded once at start --- */

static OpusEncoder *
new_encoder (gboolean dtx)
{
  int err;
  OpusEncoder *enc = opus_encoder_create (RATE, 1, OPUS_APPLICATION_VOIP, &err);
  if (enc == NULL)
    g_error ("opus_encoder_create: %s", opus_strerror (err));
  opus_encoder_ctl (enc, OPUS_SET_BITRATE (32000));
  opus_encoder_ctl (enc, OPUS_SET_DTX (dtx ? 1 : 0));
  opus_encoder_ctl (enc, OPUS_SET_INBAND_FEC (1));
  return enc;
}

static GBytes *
encode (OpusEncoder *enc, const opus_int16 *pcm)
{
  guint8 out[1500];
  int n = opus_encode (enc, pcm, FRAME, out, sizeof out);
  if (n < 0)
    g_error ("opus_encode: %s", opus_strerror (n));
  return g_bytes_new (out, n);
}

static int
tone_index (guint freq)
{
  for (guint k = 0; k < L.n_tones; k++)
    if (L.tones[k].freq == freq)
      return (int) k;
  if (L.n_tones >= MAX_TALKERS)
    return -1;
  Tone *t = &L.tones[L.n_tones];
  t->freq = freq;
  OpusEncoder *enc = new_encoder (FALSE);
  opus_int16 pcm[FRAME];
  /* a few frames first so that the cycle starts from a settled encoder */
  for (guint f = 0; f < TONE_FRAMES + 5; f++)
    {
      for (guint s = 0; s < FRAME; s++)
        pcm[s] = (opus_int16) lrint (TONE_AMP * sin (2 * G_PI * freq * (double) (f * FRAME + s) / RATE));
      GBytes *b = encode (enc, pcm);
      if (f >= 5)
        t->frame[f - 5] = b;
      else
        g_bytes_unref (b);
    }
  opus_encoder_destroy (enc);
  return (int) L.n_tones++;
}

/* What libopus with DTX makes of a quiet room's noise floor, kept as
 * libwebrtc sends it (WebRtcOpus_Encode: a frame of at most 2 bytes is
 * sent only when it is the first of a DTX run). */
static void
make_silence (void)
{
  OpusEncoder *enc = new_encoder (TRUE);
  opus_int16 pcm[FRAME];
  gboolean in_dtx = FALSE;
  guint sizes[4] = { 0 };
  for (guint f = 0; f < SILENCE_FRAMES + 50; f++)
    {
      for (guint s = 0; s < FRAME; s++)
        pcm[s] = 0;
      GBytes *b = encode (enc, pcm);
      gsize n = g_bytes_get_size (b);
      gboolean send = n > 2 || !in_dtx;
      in_dtx = n <= 2;
      if (f < 50 || !send)
        {
          g_bytes_unref (b);
          if (f >= 50)
            L.silence.frame[f - 50] = NULL;
          continue;
        }
      L.silence.frame[f - 50] = b;
      L.silence_sent++;
      sizes[MIN (n, 3)]++;
    }
  opus_encoder_destroy (enc);
  say ("silence frames-sent=%u of %u (1-byte %u, 2-byte %u, larger %u)", L.silence_sent,
       SILENCE_FRAMES, sizes[1], sizes[2], sizes[3]);
}

/* --- sending --- */

static gboolean
is_talking (Part *p, gint64 t)
{
  if (p->talker < 0)
    return FALSE;
  if (L.all_talk)
    return TRUE;
  gint64 ms = (t - L.start_ns) / 1000000 + p->phase_ms;
  return ms % SPURT_PERIOD_MS < SPURT_ON_MS;
}

/* The frame due at p->next_ns: sent or (DTX) not. */
static void
send_frame (Part *p, gint64 t)
{
  gboolean talking = is_talking (p, p->next_ns);
  GBytes *b;
  if (talking)
    b = L.tones[p->talker].frame[p->frame_no % TONE_FRAMES];
  else
    b = L.silence.frame[(p->frame_no + p->silence_off) % SILENCE_FRAMES];
  guint32 ts = p->ts;
  p->ts += FRAME;
  p->frame_no++;
  gboolean onset = talking && !p->talking;
  p->talking = talking;
  if (b == NULL || (L.mode == MODE_ICE && p->ll.srtp == NULL) || !p->ll.have_remote)
    {
      p->gap = TRUE;
      return;
    }
  gsize plen;
  const guint8 *payload = g_bytes_get_data (b, &plen);
  guint8 *q = L.out_buf;
  load_rtp_header (q, 0x90,                   /* V=2, X=1 */
                   PT_OPUS | (p->gap || onset ? 0x80 : 0), p->seq++, ts, p->ssrc);
  put16 (q + 12, 0xBEDE);                     /* RFC 8285 one-byte header */
  put16 (q + 14, 1);
  q[16] = EXT_ID << 4;                        /* length 1 */
  q[17] = talking ? (0x80 | LEVEL_TALK) : LEVEL_SILENT;
  q[18] = q[19] = 0;
  memcpy (q + 20, payload, plen);
  gsize len = 20 + plen;
  if (p->ll.srtp && bf_media_srtp_protect (p->ll.srtp, FALSE, q, &len, BUFSZ) != BF_MEDIA_SRTP_OK)
    {
      load_counters.send_fail++;
      return;
    }
  load_leg_send (&p->ll, &p->ll.remote, q, len);
  p->gap = FALSE;
  if (onset)
    p->onset_ns = t;
  L.total_sent++;
  if (L.measuring && t >= L.ws_ns && t < L.we_ns)
    {
      L.w_sent++;
      L.w_sent_bytes += plen;
      if (talking)
        L.w_talk_sent++;
      else
        L.w_silent_sent++;
    }
}

/* --- receiving --- */

static double
goertzel (const opus_int16 *x, int n, double freq)
{
  double w = 2 * G_PI * freq / RATE, c = 2 * cos (w), s1 = 0, s2 = 0;
  for (int i = 0; i < n; i++)
    {
      double s0 = x[i] + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
  return sqrt (s1 * s1 + s2 * s2 - c * s1 * s2);
}

/* A decoded frame at listener @p, arrived at @t: onsets of the talkers. */
static void
listen_frame (Part *p, const opus_int16 *pcm, int n, gint64 t)
{
  if (p->pcm && L.measuring && t >= L.ws_ns && t < L.we_ns)
    fwrite (pcm, sizeof *pcm, n, p->pcm);
  if (L.all_talk || n != FRAME)
    return;
  /* a whole-cycle tone of amplitude A gives A * N / 2; "heard" from -40
   * dBFS (20 dB below what the talker sends), "gone" below -50 dBFS */
  double on = TONE_AMP * 0.1 * FRAME / 2, off = on / sqrt (10);
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *tk = L.parts[k];
      if (tk->talker < 0 || tk == p || tk->talker >= MAX_TALKERS)
        continue;
      double g = goertzel (pcm, n, L.tones[tk->talker].freq);
      int ti = tk->talker;
      if (!p->heard[ti] && g > on)
        {
          p->heard[ti] = TRUE;
          if (tk->onset_ns && p->heard_onset[ti] != tk->onset_ns && t > tk->onset_ns
              && t - tk->onset_ns < 1000000000 && L.measuring && tk->onset_ns >= L.ws_ns
              && tk->onset_ns < L.we_ns && p->n_lat < MAX_ONSETS)
            p->lat_us[p->n_lat++] = (guint32) ((t - tk->onset_ns) / 1000);
          p->heard_onset[ti] = tk->onset_ns;
        }
      else if (p->heard[ti] && g < off)
        p->heard[ti] = FALSE;
    }
}

static void
handle_media (LoadLeg *leg, guint8 *d, gsize len, gint64 t)
{
  Part *p = leg->owner;
  gboolean rtcp = len >= 2 && d[1] >= 192 && d[1] <= 223;
  if (p->ll.srtp)
    {
      if (bf_media_srtp_unprotect (p->ll.srtp, rtcp, d, &len) != BF_MEDIA_SRTP_OK)
        {
          p->bad++;
          L.total_bad++;
          return;
        }
    }
  else if (L.mode == MODE_ICE)
    {
      p->bad++;
      L.total_bad++;
      return;
    }
  if (rtcp)
    return;
  if (len < 12 || (d[0] & 0xc0) != 0x80)
    {
      p->bad++;
      L.total_bad++;
      return;
    }
  gsize off = 12 + 4 * (d[0] & 0x0f);
  if (d[0] & 0x10)
    {
      if (off + 4 > len)
        {
          p->bad++;
          return;
        }
      off += 4 + 4 * get16 (d + off + 2);
    }
  gsize end = len;
  if (d[0] & 0x20)
    {
      if (d[len - 1] == 0 || d[len - 1] > len - 12)
        {
          p->bad++;
          return;
        }
      end = len - d[len - 1];
    }
  if (off > end)
    {
      p->bad++;
      return;
    }
  guint16 seq = get16 (d + 2);
  if (!p->got)
    p->ext_seq = seq;
  else
    {
      gint16 delta = (gint16) (seq - p->last_seq);
      if (delta > 0)
        p->ext_seq += (guint64) delta;
    }
  if (!p->got || (gint16) (seq - p->last_seq) > 0)
    p->last_seq = seq;
  p->got = TRUE;
  p->received++;
  L.total_received++;
  if (!p->media_said)
    {
      p->media_said = TRUE;
      say ("%u media-ok", p->idx);
    }
  if (L.measuring && t >= L.ws_ns && t < L.we_ns)
    {
      guint32 ts = get32 (d + 4);
      if (!p->w_got)
        {
          p->w_got = TRUE;
          p->w_first_ext = p->ext_seq;
          p->w_first_ts = p->ts_hi = ts;
          p->w_ts_span = 0;
        }
      else if ((gint32) (ts - p->ts_hi) > 0)
        {
          p->w_ts_span += ts - p->ts_hi;
          p->ts_hi = ts;
        }
      p->w_last_ext = p->ext_seq;
      p->w_received++;
    }
  if (p->dec)
    {
      opus_int16 pcm[FRAME * 6];
      int n = opus_decode (p->dec, d + off, (opus_int32) (end - off), pcm, FRAME * 6, 0);
      if (n > 0)
        listen_frame (p, pcm, n, t);
    }
}

static gboolean
on_readable (gint fd, GIOCondition cond, gpointer data)
{
  load_legs_drain (16, 16);
  return G_SOURCE_CONTINUE;
}

/* --- the tick: drain, then send what is due --- */

static void
window_report (void)
{
  double secs = (L.we_ns - L.ws_ns) / 1e9;
  guint64 rx = 0, expected = 0, bad = 0, frames = 0;
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      rx += p->w_received;
      bad += p->bad;
      if (p->w_got)
        {
          expected += p->w_last_ext - p->w_first_ext + 1;
          frames += p->w_ts_span / FRAME + 1;
        }
    }
  say ("window-report seconds=%.3f parts=%u sent=%" G_GUINT64_FORMAT " sent_bytes=%" G_GUINT64_FORMAT
       " talk_sent=%" G_GUINT64_FORMAT " silent_sent=%" G_GUINT64_FORMAT
       " received=%" G_GUINT64_FORMAT " expected=%" G_GUINT64_FORMAT " frames=%" G_GUINT64_FORMAT
       " bad=%" G_GUINT64_FORMAT
       " target_cpu_ns=%" G_GUINT64_FORMAT " load_cpu_ns=%" G_GUINT64_FORMAT
       " send_fail=%" G_GUINT64_FORMAT,
       secs, L.n_parts, L.w_sent, L.w_sent_bytes, L.w_talk_sent, L.w_silent_sent, rx, expected,
       frames, bad, L.cpu1 - L.cpu0, L.self1 - L.self0, load_counters.send_fail);
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      if (p->dec == NULL)
        continue;
      if (p->pcm)
        fflush (p->pcm);
      GString *s = g_string_new (NULL);
      for (guint j = 0; j < p->n_lat; j++)
        g_string_append_printf (s, "%s%u", j ? "," : "", p->lat_us[j]);
      say ("listener %u received=%" G_GUINT64_FORMAT " expected=%" G_GUINT64_FORMAT
           " frames=%" G_GUINT64_FORMAT " onsets=%u lat_us=%s", p->idx, p->w_received,
           p->w_got ? p->w_last_ext - p->w_first_ext + 1 : 0,
           p->w_got ? p->w_ts_span / FRAME + 1 : 0, p->n_lat, s->len ? s->str : "-");
      g_string_free (s, TRUE);
    }
  say ("window-done");
}

static gboolean
report_later (gpointer unused)
{
  window_report ();
  L.measuring = FALSE;
  return G_SOURCE_REMOVE;
}

static gboolean
tick (gint fd, GIOCondition cond, gpointer unused)
{
  guint64 expirations;
  if (read (fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
    return G_SOURCE_CONTINUE;
  load_legs_drain (16, 16);
  gint64 t = now_ns ();
  if (L.measuring && !L.window_ended && t >= L.we_ns)
    {
      L.window_ended = TRUE;
      L.cpu1 = load_watched_cpu_ns (L.watch);
      L.self1 = load_self_cpu_ns ();
      say ("window-end");
      /* what was sent last in the window gets 300 ms to arrive */
      g_timeout_add (300, report_later, NULL);
    }
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      /* at most 3 frames of catch-up after the load was not scheduled */
      if (p->next_ns < t - 3 * 20000000)
        {
          guint64 skip = (guint64) ((t - p->next_ns) / 20000000) - 2;
          p->next_ns += (gint64) skip * 20000000;
          p->ts += (guint32) skip * FRAME;
          p->frame_no += skip;
          p->gap = TRUE;
        }
      while (p->next_ns <= t)
        {
          send_frame (p, t);
          p->next_ns += 20000000;
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
start_sending (gboolean all)
{
  if (L.started)
    return;
  L.started = TRUE;
  L.all_talk = all;
  L.start_ns = now_ns ();
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      p->next_ns = L.start_ns + (gint64) g_random_int_range (0, 20000) * 1000;
    }
  L.tick_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec its = { .it_interval = { 0, TICK_US * 1000 }, .it_value = { 0, TICK_US * 1000 } };
  if (L.tick_fd < 0 || timerfd_settime (L.tick_fd, 0, &its, NULL) < 0)
    {
      say ("error timerfd: %s", g_strerror (errno));
      return;
    }
  /* the sockets are drained by the tick from now on */
  if (L.ep_src)
    {
      g_source_remove (L.ep_src);
      L.ep_src = 0;
    }
  L.tick_src = g_unix_fd_add_full (G_PRIORITY_HIGH, L.tick_fd, G_IO_IN, tick, NULL, NULL);
  say ("started");
}

static void
stop_sending (void)
{
  if (L.tick_src)
    g_source_remove (L.tick_src);
  L.tick_src = 0;
  if (L.tick_fd >= 0)
    close (L.tick_fd);
  L.tick_fd = -1;
  L.started = FALSE;
  if (L.ep_src == 0)
    L.ep_src = g_unix_fd_add (load_legs_epoll_fd (), G_IO_IN, on_readable, NULL);
  say ("stopped");
}

static void
start_window (double secs)
{
  if (!L.started || L.measuring || secs <= 0 || secs > 600)
    {
      say ("error bad window");
      return;
    }
  load_legs_sync_clock ();
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      p->w_got = FALSE;
      p->w_received = p->w_first_ext = p->w_last_ext = 0;
      p->n_lat = 0;
    }
  L.w_sent = L.w_sent_bytes = L.w_talk_sent = L.w_silent_sent = 0;
  L.cpu0 = load_watched_cpu_ns (L.watch);
  L.self0 = load_self_cpu_ns ();
  L.cpu1 = L.self1 = 0;
  L.window_ended = FALSE;
  L.ws_ns = now_ns ();
  L.we_ns = L.ws_ns + (gint64) (secs * 1e9);
  L.measuring = TRUE;
  say ("window-start");
}

/* ICE checks until answered (ice mode): looked at every 20 ms. */
static gboolean
housekeeping (gpointer unused)
{
  gint64 now = g_get_monotonic_time ();
  for (guint k = 0; k < L.n_parts && L.mode == MODE_ICE; k++)
    load_leg_ice_step (&L.parts[k]->ll, now);
  return G_SOURCE_CONTINUE;
}

/* --- commands --- */

static void
new_part (guint i)
{
  if (i != L.n_parts || i >= MAX_PARTS)
    {
      say ("error bad participant index %u", i);
      return;
    }
  Part *p = g_new0 (Part, 1);
  p->idx = i;
  p->talker = -1;
  char name[16];
  g_snprintf (name, sizeof name, "%u", i);
  if (!load_leg_open (&p->ll, p, name, 1 << 19, FALSE))
    {
      say ("%u failed socket %s", i, g_strerror (errno));
      g_free (p);
      return;
    }
  /* our checks' transactions: 'C', the index */
  p->ll.txid[0] = 'C';
  put32 (p->ll.txid + 1, i);
  L.parts[L.n_parts++] = p;
  p->ssrc = 0x30000000u + i;
  p->seq = (guint16) g_random_int ();
  p->ts = g_random_int ();
  p->silence_off = g_random_int_range (0, SILENCE_FRAMES);
  p->gap = TRUE;
  if (L.mode == MODE_ICE)
    load_leg_announce (&p->ll);
  else
    say ("%u ready %u", i, p->ll.port);
}

static void
part_command (Part *p, char **a, guint n)
{
  if (load_leg_command (&p->ll, a, n))
    return;
  if (strcmp (a[0], "dest") == 0 && n == 3)
    {
      struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons ((guint16) atoi (a[2])) };
      if (inet_pton (AF_INET, a[1], &to.sin_addr) != 1)
        {
          say ("error bad dest %s", a[1]);
          return;
        }
      p->ll.remote = to;
      p->ll.have_remote = TRUE;
    }
  else if (strcmp (a[0], "talker") == 0 && n == 2)
    {
      guint f = (guint) atoi (a[1]);
      int t = f >= 100 && f <= 16000 ? tone_index (f) : -1;
      if (t < 0)
        say ("error bad talker %s", a[1]);
      p->talker = t;
      p->phase_ms = (gint64) (t * 600) % SPURT_PERIOD_MS;
    }
  else if (strcmp (a[0], "silent") == 0)
    p->talker = -1;
  else if (strcmp (a[0], "listen") == 0 && n == 2)
    {
      int err;
      if (p->dec == NULL)
        p->dec = opus_decoder_create (RATE, 1, &err);
      if (p->pcm)
        fclose (p->pcm);
      p->pcm = fopen (a[1], "wb");
      if (p->dec == NULL || p->pcm == NULL)
        say ("error listen %u: %s", p->idx, g_strerror (errno));
    }
  else
    say ("error unknown participant command %s", a[0]);
}

static gboolean
on_stdin (GIOChannel *ch, GIOCondition cond, gpointer data)
{
  g_auto (GStrv) a = NULL;
  if (!load_read_words (ch, data, &a))
    return G_SOURCE_REMOVE;
  guint n = a ? g_strv_length (a) : 0;
  if (n == 0)
    return G_SOURCE_CONTINUE;
  if (strcmp (a[0], "part") == 0 && n == 2)
    new_part ((guint) atoi (a[1]));
  else if (strcmp (a[0], "watch") == 0)
    {
      g_strfreev (L.watch);
      L.watch = g_strdupv (a + 1);
    }
  else if (strcmp (a[0], "start") == 0 && n == 2)
    start_sending (strcmp (a[1], "all") == 0);
  else if (strcmp (a[0], "stop") == 0)
    stop_sending ();
  else if (strcmp (a[0], "window") == 0 && n == 2)
    start_window (g_ascii_strtod (a[1], NULL));
  else if (strcmp (a[0], "stats") == 0)
    say ("stats parts=%u sent=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT
         " bad=%" G_GUINT64_FORMAT " stun=%" G_GUINT64_FORMAT " unknown=%" G_GUINT64_FORMAT
         " send_fail=%" G_GUINT64_FORMAT, L.n_parts, L.total_sent, L.total_received,
         L.total_bad, load_counters.stun_in, load_counters.unknown, load_counters.send_fail);
  else if (n >= 2 && g_ascii_isdigit (a[0][0]))
    {
      guint i = (guint) atoi (a[0]);
      if (i >= L.n_parts)
        say ("error no participant %u", i);
      else
        part_command (L.parts[i], a + 1, n - 1);
    }
  else
    say ("error bad command %s", a[0]);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  if (argc < 2 || (strcmp (argv[1], "ice") != 0 && strcmp (argv[1], "plain") != 0))
    {
      g_printerr ("usage: conf-load ice|plain (commands on stdin)\n");
      return 2;
    }
  L.mode = strcmp (argv[1], "ice") == 0 ? MODE_ICE : MODE_PLAIN;
  load_legs_init (L.mode == MODE_ICE, handle_media);
  L.tick_fd = -1;
  make_silence ();
  L.ep_src = g_unix_fd_add (load_legs_epoll_fd (), G_IO_IN, on_readable, NULL);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GIOChannel *in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, loop);
  g_timeout_add (20, housekeeping, NULL);
  say ("ports per-participant max-calls %u", MAX_PARTS);
  g_main_loop_run (loop);
  for (guint k = 0; k < L.n_parts; k++)
    if (L.parts[k]->pcm)
      fclose (L.parts[k]->pcm);
  return 0;
}
