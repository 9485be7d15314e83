/* Not a test: the load side of tests/bench/bench_sfu.py.  One process
 * plays the N participants of one SFU room (video conference, forwarded
 * without decoding), each sending one audio and (some of them) one video
 * stream and receiving every other participant's streams:
 *
 *   sfu-load ice    belfry's XEP-0521 SFU: a participant's own streams go
 *                   out on its send leg ("sI", the session it placed to
 *                   the room); what it receives comes on one receive leg
 *                   per other sender ("rK": the sessions the room placed
 *                   to it, XEP-0521).  Every leg has its own socket, ICE
 *                   credentials and DTLS association (load-leg.c, as
 *                   conf-load/call-load), then SRTP with the DTLS keys.
 *   sfu-load srtp   the baseline, srtp-forwarder fanout: one leg per
 *                   participant that sends and receives everything, SRTP
 *                   keys bench_keys (I, 0) out, (I, 1) in, as the
 *                   forwarder has them.
 *
 * What a participant sends (the issue 14 benchmark's synthetic sender):
 *  - audio: Opus from libopus (48 kHz mono, 32 kb/s, 20 ms frames of a
 *    tone, one second pre-encoded and cycled), PT 111, the RFC 6464 audio
 *    level in a one-byte header extension (id 1), 50 packets a second;
 *  - video (a participant told "video"): VP8 RTP (PT 96) at 30 frames a
 *    second, a keyframe every 60 frames (2 s) of KEY_PACKETS packets, the
 *    other frames DELTA_PACKETS packets, every packet ~1000 bytes
 *    (~0.75 Mb/s, ~97 packets a second).  The payload descriptor is RFC
 *    7741's (written from our knowledge of the RFC, which is not in
 *    /work/shared/specs): X=1, S=1 and PID 0 on a frame's first packet,
 *    I=1 with a 15-bit PictureID (M=1), no TL0PICIDX/TID/KEYIDX; a frame's
 *    first packet starts with the VP8 payload header (RFC 6386 §9.1: the
 *    3-byte frame tag, P=0 on a keyframe, show_frame=1, and on a keyframe
 *    the start code 9d 01 2a and 640x360); the marker bit is on a frame's
 *    last packet, the RTP timestamp advances 3000 a frame.  The rest of a
 *    packet is filler, and its last 12 bytes are ours: "SFUB" and the send
 *    time (CLOCK_MONOTONIC ns) -- a forwarder passes the payload on
 *    unchanged, so a receiver reads the latency out of it.  One layer: no
 *    simulcast (see bench_sfu.py).
 *
 * What a participant receives is counted from the RTP header, which SRTP
 * leaves in clear (packets, per SSRC and leg the extended sequence
 * numbers: loss), on every leg; a "sample"d participant also unprotects
 * what it receives (authentication checked: "bad" counts failures) and
 * takes the latency of every video packet: its arrival (SO_TIMESTAMPNS)
 * - the send time in its payload.  Unprotecting only a sample keeps the
 * load's own CPU down (at N = 50 it receives ~160,000 packets a second).
 *
 * During a run the sockets are not polled: a 2 ms timerfd tick drains
 * every readable socket, then sends what is due (as conf-load).
 *
 * Lines in (stdin):
 *   part I [video]          participant I and its send leg sI (ice: "sI
 *                           credentials U P", "sI fingerprint H FP", "sI
 *                           candidate ...", "sI gathering-done"; srtp:
 *                           "sI ready PORT")
 *   recv K I                ice: receive leg rK of participant I (the same
 *                           lines, named rK)
 *   NAME remote-ice U P controlling|controlled   (the room's role)
 *   NAME remote-dtls active|passive HASH FP      (OUR setup)
 *   NAME candidate F C TYPE IP PORT PRIO          (the room's)
 *   sI dest IP PORT         srtp: where participant I sends
 *   sample I                participant I unprotects and measures latency
 *   watch FILE...           schedstat files summed at the window's edges
 *   start                   every participant starts sending (a leg not
 *                           keyed yet sends once it is)
 *   window SECONDS          "window-start", "window-end", "window-report
 *                           K=V ..." and "window-done"
 *   stop | stats | quit
 * Lines out, besides: "ports per-leg max-calls N" first, "NAME
 * ice-connected", "NAME dtls-connected PROFILE", "NAME failed WHAT ...",
 * "error ...".
 *
 * Thread rule: one thread (the GLib main loop), as load-leg.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>
#include <opus.h>

#include "load-leg.h"

#define MAX_PARTS 256
#define MAX_SOCKS 8192
#define BUFSZ LOAD_BUFSZ
#define PT_OPUS 111
#define PT_VP8 96
#define EXT_ID 1
#define RATE 48000
#define FRAME 960
#define TONE_FRAMES 50
#define TICK_US 2000
#define AUDIO_NS 20000000
#define VIDEO_NS 33333333
#define KEY_EVERY 60             /* frames: a keyframe every 2 s */
#define KEY_PACKETS 15
#define DELTA_PACKETS 3
#define VIDEO_PACKET 1000        /* RTP payload bytes of a video packet */
#define TRAILER 12               /* "SFUB" + send time */
#define MAX_LAT 200000           /* latency samples kept per window */

enum { MODE_ICE, MODE_SRTP };

typedef struct {
  guint16 last_seq;
  guint64 ext;
  gboolean w_got;
  guint64 w_first, w_last, w_received;
} Stream;

typedef struct _Part Part;

/* One socket: a participant's send leg (also its one receive leg in srtp
 * mode) or one of its receive legs. */
typedef struct {
  LoadLeg ll;
  Part *part;
  gboolean is_send;
  GHashTable *streams;               /* SSRC -> Stream* */
  guint64 w_received;
} Sock;

struct _Part {
  guint idx;
  Sock *send;
  gboolean video, sample;
  guint32 a_ssrc, v_ssrc;
  guint16 a_seq, v_seq;
  guint32 a_ts, v_ts;
  guint64 a_frame, v_frame;
  guint16 picture_id;
  gint64 a_next, v_next;
};

static struct {
  int mode;
  guint ep_src;
  Part *parts[MAX_PARTS];
  guint n_parts;
  Sock *socks[MAX_SOCKS];
  guint n_socks;
  GHashTable *by_name;               /* name -> Sock* */
  GBytes *tone[TONE_FRAMES];
  guint8 out[BUFSZ];
  gboolean started;
  int tick_fd;
  guint tick_src;
  gboolean measuring, window_ended;
  gint64 ws_ns, we_ns;
  guint64 cpu0, cpu1, self0, self1;
  guint64 w_sent_audio, w_sent_video, w_received, w_rtcp, w_bad, w_replay;
  guint32 *lat;
  guint n_lat;
  guint64 lat_seen;
  char **watch;
} L;

static void
bench_keys (guint i, guint leg, guint8 key[16], guint8 salt[14])
{
  /* as srtp-forwarder.c */
  for (guint j = 0; j < 16; j++)
    key[j] = (guint8) (i * 131 + leg * 71 + j * 13 + 1);
  for (guint j = 0; j < 14; j++)
    salt[j] = (guint8) (i * 37 + leg * 53 + j * 7 + 3);
}

static gboolean
in_window (gint64 t)
{
  return L.measuring && t >= L.ws_ns && t < L.we_ns;
}

/* --- sending --- */

static void
make_tone (void)
{
  int err;
  OpusEncoder *enc = opus_encoder_create (RATE, 1, OPUS_APPLICATION_VOIP, &err);
  if (enc == NULL)
    g_error ("opus_encoder_create: %s", opus_strerror (err));
  opus_encoder_ctl (enc, OPUS_SET_BITRATE (32000));
  opus_int16 pcm[FRAME];
  guint8 buf[1500];
  for (guint f = 0; f < TONE_FRAMES + 5; f++)
    {
      for (guint s = 0; s < FRAME; s++)
        pcm[s] = (opus_int16) lrint (3277.0 * sin (2 * G_PI * 650 * (double) (f * FRAME + s) / RATE));
      int n = opus_encode (enc, pcm, FRAME, buf, sizeof buf);
      if (n < 0)
        g_error ("opus_encode: %s", opus_strerror (n));
      if (f >= 5)
        L.tone[f - 5] = g_bytes_new (buf, n);
    }
  opus_encoder_destroy (enc);
}

static gboolean
can_send (Part *p)
{
  return p->send->ll.srtp != NULL && p->send->ll.have_remote;
}

static void
send_packet (Part *p, gsize len)
{
  if (bf_media_srtp_protect (p->send->ll.srtp, FALSE, L.out, &len, BUFSZ) != BF_MEDIA_SRTP_OK)
    {
      load_counters.send_fail++;
      return;
    }
  load_leg_send (&p->send->ll, &p->send->ll.remote, L.out, len);
}

static void
send_audio (Part *p, gint64 t)
{
  guint32 ts = p->a_ts;
  p->a_ts += FRAME;
  gsize plen;
  const guint8 *payload = g_bytes_get_data (L.tone[p->a_frame++ % TONE_FRAMES], &plen);
  if (!can_send (p))
    return;
  guint8 *q = L.out;
  load_rtp_header (q, 0x90, PT_OPUS, p->a_seq++, ts, p->a_ssrc);
  put16 (q + 12, 0xBEDE);
  put16 (q + 14, 1);
  q[16] = EXT_ID << 4;
  q[17] = 0x80 | 20;               /* voice, -20 dBov */
  q[18] = q[19] = 0;
  memcpy (q + 20, payload, plen);
  send_packet (p, 20 + plen);
  if (in_window (t))
    L.w_sent_audio++;
}

/* One video frame: its packets, back to back (as a pacer-less sender). */
static void
send_video_frame (Part *p, gint64 t)
{
  gboolean key = p->v_frame % KEY_EVERY == 0;
  guint n = key ? KEY_PACKETS : DELTA_PACKETS;
  guint32 ts = p->v_ts;
  guint16 pid = p->picture_id;
  p->v_ts += 3000;
  p->v_frame++;
  p->picture_id = (p->picture_id + 1) & 0x7fff;
  if (!can_send (p))
    return;
  for (guint k = 0; k < n; k++)
    {
      guint8 *q = L.out;
      load_rtp_header (q, 0x80, PT_VP8 | (k == n - 1 ? 0x80 : 0), p->v_seq++, ts, p->v_ssrc);
      guint8 *d = q + 12;
      d[0] = 0x80 | (k == 0 ? 0x10 : 0);   /* X, S on the first packet, PID 0 */
      d[1] = 0x80;                          /* I */
      d[2] = 0x80 | (pid >> 8);             /* M: 15-bit PictureID */
      d[3] = pid & 0xff;
      gsize off = 4;
      if (k == 0)
        {
          /* RFC 6386 §9.1 frame tag: P (bit 0) 0 on a keyframe, version 0,
           * show_frame (bit 4), first partition size (19 bits): 500 */
          guint32 size0 = 500;
          guint32 tag = (key ? 0 : 1) | 0x10 | (size0 << 5);
          d[off++] = tag & 0xff;
          d[off++] = (tag >> 8) & 0xff;
          d[off++] = (tag >> 16) & 0xff;
          if (key)
            {
              d[off++] = 0x9d;
              d[off++] = 0x01;
              d[off++] = 0x2a;
              d[off++] = 640 & 0xff;
              d[off++] = 640 >> 8;
              d[off++] = 360 & 0xff;
              d[off++] = 360 >> 8;
            }
        }
      memset (d + off, 0x5a, VIDEO_PACKET - off - TRAILER);
      guint8 *tr = d + VIDEO_PACKET - TRAILER;
      memcpy (tr, "SFUB", 4);
      gint64 now = now_ns ();
      put32 (tr + 4, (guint32) ((guint64) now >> 32));
      put32 (tr + 8, (guint32) now);
      send_packet (p, 12 + VIDEO_PACKET);
      if (in_window (t))
        L.w_sent_video++;
    }
}

/* --- receiving --- */

static void
handle_media (LoadLeg *leg, guint8 *d, gsize len, gint64 t)
{
  Sock *s = leg->owner;
  gboolean rtcp = len >= 2 && d[1] >= 192 && d[1] <= 223;
  if (rtcp)
    {
      if (in_window (t))
        L.w_rtcp++;
      return;
    }
  if (len < 12 || (d[0] & 0xc0) != 0x80)
    {
      if (in_window (t))
        L.w_bad++;
      return;
    }
  guint32 ssrc = get32 (d + 8);
  guint16 seq = get16 (d + 2);
  Stream *st = g_hash_table_lookup (s->streams, GUINT_TO_POINTER (ssrc));
  if (st == NULL)
    {
      if (g_hash_table_size (s->streams) >= 4 * MAX_PARTS)
        return;
      st = g_new0 (Stream, 1);
      st->last_seq = seq;
      st->ext = 0x10000u + seq;
      g_hash_table_insert (s->streams, GUINT_TO_POINTER (ssrc), st);
    }
  else
    {
      gint16 delta = (gint16) (seq - st->last_seq);
      if (delta > 0)
        {
          st->ext += (guint64) delta;
          st->last_seq = seq;
        }
    }
  gboolean w = in_window (t);
  if (w)
    {
      guint64 ext = st->ext - (guint16) (st->last_seq - seq);
      if (!st->w_got)
        {
          st->w_got = TRUE;
          st->w_first = st->w_last = ext;
        }
      st->w_first = MIN (st->w_first, ext);
      st->w_last = MAX (st->w_last, ext);
      st->w_received++;
      s->w_received++;
      L.w_received++;
    }
  /* a sampled receiver unprotects everything from its first packet: its
   * SRTP context must see a stream's sequence numbers wrap (the rollover
   * counter), also before the window */
  if (!s->part->sample)
    return;
  BfMediaSrtpStatus status = leg->srtp ? bf_media_srtp_unprotect (leg->srtp, FALSE, d, &len)
                                        : BF_MEDIA_SRTP_FAILED;
  if (status != BF_MEDIA_SRTP_OK)
    {
      /* a replay is a retransmission (same sequence number) */
      if (w && status == BF_MEDIA_SRTP_REPLAY)
        L.w_replay++;
      else if (w)
        L.w_bad++;
      return;
    }
  if (!w)
    return;
  if (len >= 12 + TRAILER && memcmp (d + len - TRAILER, "SFUB", 4) == 0)
    {
      gint64 sent = (gint64) ((guint64) get32 (d + len - 8) << 32 | get32 (d + len - 4));
      L.lat_seen++;
      if (t > sent && L.n_lat < MAX_LAT)
        L.lat[L.n_lat++] = (guint32) MIN ((t - sent) / 1000, G_MAXUINT32);
    }
}

static gboolean
on_readable (gint fd, GIOCondition cond, gpointer data)
{
  load_legs_drain (16, 16);
  return G_SOURCE_CONTINUE;
}

/* --- the window --- */

static int
cmp_u32 (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static void
window_report (void)
{
  double secs = (L.we_ns - L.ws_ns) / 1e9;
  guint64 expected = 0, rx = 0, streams = 0;
  guint silent_legs = 0;
  for (guint k = 0; k < L.n_socks; k++)
    {
      Sock *s = L.socks[k];
      GHashTableIter it;
      gpointer v;
      g_hash_table_iter_init (&it, s->streams);
      while (g_hash_table_iter_next (&it, NULL, &v))
        {
          Stream *st = v;
          if (!st->w_got)
            continue;
          expected += st->w_last - st->w_first + 1;
          rx += st->w_received;
          streams++;
        }
      /* a receive leg that got nothing: its sender's streams did not come */
      if ((!s->is_send || L.mode == MODE_SRTP) && s->w_received == 0)
        silent_legs++;
    }
  guint32 p50 = 0, p95 = 0, p99 = 0, pmax = 0;
  if (L.n_lat > 0)
    {
      qsort (L.lat, L.n_lat, sizeof *L.lat, cmp_u32);
      p50 = L.lat[L.n_lat / 2];
      p95 = L.lat[(guint) (0.95 * (L.n_lat - 1))];
      p99 = L.lat[(guint) (0.99 * (L.n_lat - 1))];
      pmax = L.lat[L.n_lat - 1];
    }
  say ("window-report seconds=%.3f parts=%u legs=%u sent_audio=%" G_GUINT64_FORMAT
       " sent_video=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT
       " expected=%" G_GUINT64_FORMAT " streams=%" G_GUINT64_FORMAT " silent_legs=%u"
       " rtcp=%" G_GUINT64_FORMAT " bad=%" G_GUINT64_FORMAT " replay=%" G_GUINT64_FORMAT " lat_n=%u lat_p50_us=%u"
       " lat_p95_us=%u lat_p99_us=%u lat_max_us=%u target_cpu_ns=%" G_GUINT64_FORMAT
       " load_cpu_ns=%" G_GUINT64_FORMAT " send_fail=%" G_GUINT64_FORMAT,
       secs, L.n_parts, L.n_socks, L.w_sent_audio, L.w_sent_video, rx, expected, streams,
       silent_legs, L.w_rtcp, L.w_bad, L.w_replay, L.n_lat, p50, p95, p99, pmax, L.cpu1 - L.cpu0,
       L.self1 - L.self0, load_counters.send_fail);
  say ("window-done");
}

static gboolean
report_later (gpointer unused)
{
  window_report ();
  L.measuring = FALSE;
  return G_SOURCE_REMOVE;
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
  for (guint k = 0; k < L.n_socks; k++)
    {
      Sock *s = L.socks[k];
      s->w_received = 0;
      GHashTableIter it;
      gpointer v;
      g_hash_table_iter_init (&it, s->streams);
      while (g_hash_table_iter_next (&it, NULL, &v))
        {
          Stream *st = v;
          st->w_got = FALSE;
          st->w_received = 0;
        }
    }
  L.w_sent_audio = L.w_sent_video = L.w_received = L.w_rtcp = L.w_bad = L.w_replay = 0;
  L.n_lat = 0;
  L.lat_seen = 0;
  L.cpu0 = load_watched_cpu_ns (L.watch);
  L.self0 = load_self_cpu_ns ();
  L.cpu1 = L.self1 = 0;
  L.window_ended = FALSE;
  L.ws_ns = now_ns ();
  L.we_ns = L.ws_ns + (gint64) (secs * 1e9);
  L.measuring = TRUE;
  say ("window-start");
}

/* --- the tick: drain, then send what is due --- */

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
      g_timeout_add (300, report_later, NULL);
    }
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      /* at most 3 packets' worth of catch-up after the load was not
       * scheduled (the rest skipped, timestamps moving on) */
      if (p->a_next < t - 3 * AUDIO_NS)
        {
          guint64 skip = (guint64) ((t - p->a_next) / AUDIO_NS) - 2;
          p->a_next += (gint64) skip * AUDIO_NS;
          p->a_ts += (guint32) skip * FRAME;
          p->a_frame += skip;
        }
      while (p->a_next <= t)
        {
          send_audio (p, t);
          p->a_next += AUDIO_NS;
        }
      if (!p->video)
        continue;
      if (p->v_next < t - 3 * VIDEO_NS)
        {
          guint64 skip = (guint64) ((t - p->v_next) / VIDEO_NS) - 2;
          p->v_next += (gint64) skip * VIDEO_NS;
          p->v_ts += (guint32) skip * 3000;
          p->v_frame += skip;
        }
      while (p->v_next <= t)
        {
          send_video_frame (p, t);
          p->v_next += VIDEO_NS;
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
start_sending (void)
{
  if (L.started)
    return;
  L.started = TRUE;
  gint64 now = now_ns ();
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      /* every participant its own phase (clients are not synchronised) */
      p->a_next = now + (gint64) g_random_int_range (0, 20000) * 1000;
      p->v_next = now + (gint64) g_random_int_range (0, 33000) * 1000;
      /* keyframes every 2 s, each sender at a phase of its own (not all
       * senders' keyframe bursts at once) */
      p->v_frame = (guint64) g_random_int_range (0, KEY_EVERY);
    }
  L.tick_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec its = { .it_interval = { 0, TICK_US * 1000 }, .it_value = { 0, TICK_US * 1000 } };
  if (L.tick_fd < 0 || timerfd_settime (L.tick_fd, 0, &its, NULL) < 0)
    {
      say ("error timerfd: %s", g_strerror (errno));
      return;
    }
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

static gboolean
housekeeping (gpointer unused)
{
  gint64 now = g_get_monotonic_time ();
  for (guint k = 0; k < L.n_socks && L.mode == MODE_ICE; k++)
    load_leg_ice_step (&L.socks[k]->ll, now);
  return G_SOURCE_CONTINUE;
}

/* --- commands --- */

static Sock *
new_sock (Part *p, const char *name, gboolean is_send)
{
  if (L.n_socks >= MAX_SOCKS || g_hash_table_contains (L.by_name, name))
    {
      say ("error bad leg %s", name);
      return NULL;
    }
  Sock *s = g_new0 (Sock, 1);
  s->part = p;
  s->is_send = is_send;
  s->streams = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  /* srtp mode: the one leg receives every other participant's streams */
  gboolean big = L.mode == MODE_SRTP;
  if (!load_leg_open (&s->ll, s, name, big ? 1 << 22 : 1 << 18, big))
    {
      say ("%s failed socket %s", name, g_strerror (errno));
      g_hash_table_unref (s->streams);
      g_free (s);
      return NULL;
    }
  /* our checks' transactions: 'S', the leg's index */
  s->ll.txid[0] = 'S';
  put32 (s->ll.txid + 1, L.n_socks);
  L.socks[L.n_socks++] = s;
  g_hash_table_insert (L.by_name, g_strdup (name), s);
  return s;
}

static void
new_part (guint i, gboolean video)
{
  if (i != L.n_parts || i >= MAX_PARTS)
    {
      say ("error bad participant index %u", i);
      return;
    }
  Part *p = g_new0 (Part, 1);
  p->idx = i;
  p->video = video;
  char name[16];
  g_snprintf (name, sizeof name, "s%u", i);
  p->send = new_sock (p, name, TRUE);
  if (p->send == NULL)
    {
      g_free (p);
      return;
    }
  L.parts[L.n_parts++] = p;
  p->a_ssrc = 0x30000000u + i;
  p->v_ssrc = 0x38000000u + i;
  p->a_seq = (guint16) g_random_int ();
  p->v_seq = (guint16) g_random_int ();
  p->a_ts = g_random_int ();
  p->v_ts = g_random_int ();
  p->picture_id = g_random_int () & 0x7fff;
  if (L.mode == MODE_ICE)
    load_leg_announce (&p->send->ll);
  else
    {
      guint8 tk[16], ts_[14], rk[16], rs[14];
      bench_keys (i, 0, tk, ts_);
      bench_keys (i, 1, rk, rs);
      g_autoptr (GError) error = NULL;
      p->send->ll.srtp = bf_media_srtp_new (BF_MEDIA_SRTP_AEAD_AES_128_GCM, tk, ts_, rk, rs,
                                            4 * MAX_PARTS, &error);
      if (p->send->ll.srtp == NULL)
        say ("error srtp %s", error->message);
      say ("s%u ready %u", i, p->send->ll.port);
    }
}

static void
new_recv (guint k, guint i)
{
  if (L.mode != MODE_ICE || i >= L.n_parts)
    {
      say ("error bad recv %u %u", k, i);
      return;
    }
  char name[16];
  g_snprintf (name, sizeof name, "r%u", k);
  Sock *s = new_sock (L.parts[i], name, FALSE);
  if (s != NULL)
    load_leg_announce (&s->ll);
}

static void
sock_command (Sock *s, char **a, guint n)
{
  if (load_leg_command (&s->ll, a, n))
    return;
  if (strcmp (a[0], "dest") == 0 && n == 3)
    {
      struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons ((guint16) atoi (a[2])) };
      if (inet_pton (AF_INET, a[1], &to.sin_addr) != 1)
        {
          say ("error bad dest %s", a[1]);
          return;
        }
      s->ll.remote = to;
      s->ll.have_remote = TRUE;
    }
  else
    say ("error unknown leg command %s", a[0]);
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
  Sock *s;
  if (strcmp (a[0], "part") == 0 && (n == 2 || n == 3))
    new_part ((guint) atoi (a[1]), n == 3 && strcmp (a[2], "video") == 0);
  else if (strcmp (a[0], "recv") == 0 && n == 3)
    new_recv ((guint) atoi (a[1]), (guint) atoi (a[2]));
  else if (strcmp (a[0], "sample") == 0 && n == 2)
    {
      guint i = (guint) atoi (a[1]);
      if (i < L.n_parts)
        L.parts[i]->sample = TRUE;
      else
        say ("error no participant %u", i);
    }
  else if (strcmp (a[0], "watch") == 0)
    {
      g_strfreev (L.watch);
      L.watch = g_strdupv (a + 1);
    }
  else if (strcmp (a[0], "start") == 0)
    start_sending ();
  else if (strcmp (a[0], "stop") == 0)
    stop_sending ();
  else if (strcmp (a[0], "window") == 0 && n == 2)
    start_window (g_ascii_strtod (a[1], NULL));
  else if (strcmp (a[0], "stats") == 0)
    say ("stats parts=%u legs=%u stun=%" G_GUINT64_FORMAT " unknown=%" G_GUINT64_FORMAT
         " send_fail=%" G_GUINT64_FORMAT, L.n_parts, L.n_socks, load_counters.stun_in,
         load_counters.unknown, load_counters.send_fail);
  else if (n >= 2 && (s = g_hash_table_lookup (L.by_name, a[0])) != NULL)
    sock_command (s, a + 1, n - 1);
  else
    say ("error bad command %s", a[0]);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  if (argc < 2 || (strcmp (argv[1], "ice") != 0 && strcmp (argv[1], "srtp") != 0))
    {
      g_printerr ("usage: sfu-load ice|srtp (commands on stdin)\n");
      return 2;
    }
  L.mode = strcmp (argv[1], "ice") == 0 ? MODE_ICE : MODE_SRTP;
  load_legs_init (L.mode == MODE_ICE, handle_media);
  L.by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  L.lat = g_new (guint32, MAX_LAT);
  L.tick_fd = -1;
  /* a socket per leg: N = 50 is 2,500 legs */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  make_tone ();
  L.ep_src = g_unix_fd_add (load_legs_epoll_fd (), G_IO_IN, on_readable, NULL);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GIOChannel *in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, loop);
  g_timeout_add (20, housekeeping, NULL);
  getrlimit (RLIMIT_NOFILE, &rl);
  say ("ports per-leg max-calls %u", (guint) MIN (rl.rlim_cur - 16, MAX_SOCKS));
  g_main_loop_run (loop);
  return 0;
}
