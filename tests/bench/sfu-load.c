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
 *    level in a one-byte header extension (id 1), 50 packets a second: a
 *    "talker" voice at -20 dBov, the others silence (-127 dBov, V=0);
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
 *    packet is filler (0x5a), and its last 16 bytes are ours: "SFUB", the
 *    sender's index and the send time (CLOCK_MONOTONIC ns) -- a forwarder
 *    passes the payload on unchanged.  One layer: no simulcast.
 *
 * What a participant receives: every packet on every leg is unprotected
 * (authentication checked: "bad" counts failures, "replay" repeats) and
 * its content verified (audio: one of the tone's Opus frames; video: the
 * filler and a trailer naming the stream's sender: "bad_content"
 * otherwise).  Its sender is the leg's ("rK sender S", ice) or its SSRC's
 * (srtp: SSRCs are 0x30000000 + I for audio, 0x38000000 + I for video).
 * It counts ("ok_audio", "ok_video") when the bench said the room should
 * forward that sender's stream ("expect I A V"), else as "unexpected";
 * "expected" is what the senders sent in the window of those streams x
 * (N-1).  Audio is the window's by arrival, video by its send time (read
 * from the trailer: a packet sent in the window and still in flight at its
 * end is counted when it arrives, before the report).  Latency: arrival
 * (SO_TIMESTAMPNS) - send time of every video packet.

 * During a run the sockets are not polled: a 2 ms timerfd tick drains
 * every readable socket, then sends what is due (as conf-load).
 *
 * Lines in (stdin):
 *   part I [video] [talker] participant I and its send leg sI (ice: "sI
 *                           credentials U P", "sI fingerprint H FP", "sI
 *                           candidate ...", "sI gathering-done"; srtp:
 *                           "sI ready PORT")
 *   recv K I                ice: receive leg rK of participant I (the same
 *                           lines, named rK)
 *   NAME remote-ice U P controlling|controlled   (the room's role)
 *   NAME remote-dtls active|passive HASH FP      (OUR setup)
 *   NAME candidate F C TYPE IP PORT PRIO          (the room's)
 *   sI dest IP PORT         srtp: where participant I sends
 *   expect I A V            the room should forward I's audio (A 1) and
 *                           video (V 1); by default all it sends
 *   rK sender S             ice: leg rK carries participant S's streams
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
#define TRAILER 16               /* "SFUB", the sender's index, the send time */
#define MAX_LAT 200000           /* latency samples kept per window */

enum { MODE_ICE, MODE_SRTP };

typedef struct _Part Part;

/* One socket: a participant's send leg (also its one receive leg in srtp
 * mode) or one of its receive legs. */
typedef struct {
  LoadLeg ll;
  Part *part;
  gboolean is_send;
  gint sender;                       /* ice receive leg: whose streams it carries */
  guint64 w_received, w_ok;
} Sock;

struct _Part {
  guint idx;
  Sock *send;
  gboolean video;
  gboolean talker;                   /* speaks (RFC 6464 voice, -20 dBov) or is silent */
  gboolean fwd_audio, fwd_video;     /* what the room should forward of it ("expect") */
  guint64 w_sa, w_sv;                /* sent in the window */
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
  guint64 w_ok_audio, w_ok_video, w_unexpected, w_bad_content;
  guint8 filler[VIDEO_PACKET];
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
  /* RFC 6464: a talker's voice at -20 dBov, the others silent (no V,
   * -127 dBov): the room's talkers are exactly the load's */
  q[17] = p->talker ? 0x80 | 20 : 127;
  q[18] = q[19] = 0;
  memcpy (q + 20, payload, plen);
  send_packet (p, 20 + plen);
  if (in_window (t))
    {
      L.w_sent_audio++;
      p->w_sa++;
    }
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
      put32 (tr + 4, p->idx);
      put32 (tr + 8, (guint32) ((guint64) now >> 32));
      put32 (tr + 12, (guint32) now);
      send_packet (p, 12 + VIDEO_PACKET);
      /* a video packet is the window's by its send time (the receiver
       * reads it from the trailer) */
      if (in_window (now))
        {
          L.w_sent_video++;
          p->w_sv++;
        }
    }
}

/* --- receiving --- */

/* The RTP payload of an unprotected packet: its offset, or 0 when the
 * header is malformed. */
static gsize
payload_offset (const guint8 *d, gsize len)
{
  gsize off = 12 + 4 * (d[0] & 0x0f);
  if (len < off)
    return 0;
  if (d[0] & 0x10)
    {
      if (len < off + 4)
        return 0;
      off += 4 + 4 * (gsize) get16 (d + off + 2);
    }
  return off <= len ? off : 0;
}

/* Whether @payload is what sender @from sent as @video or audio: a tone
 * frame, or a VP8 packet whose filler and trailer are ours. */
static gboolean
content_ok (const guint8 *payload, gsize plen, gboolean video, guint from)
{
  if (!video)
    {
      for (guint k = 0; k < TONE_FRAMES; k++)
        {
          gsize tlen;
          const guint8 *t = g_bytes_get_data (L.tone[k], &tlen);
          if (tlen == plen && memcmp (t, payload, plen) == 0)
            return TRUE;
        }
      return FALSE;
    }
  /* the descriptor (rewritten by an SFU) and the payload header take at
   * most 14 bytes; the filler after them is the sender's */
  if (plen != VIDEO_PACKET)
    return FALSE;
  return memcmp (payload + 16, L.filler, VIDEO_PACKET - 16 - TRAILER) == 0
         && memcmp (payload + plen - TRAILER, "SFUB", 4) == 0
         && get32 (payload + plen - TRAILER + 4) == from;
}

/* Every packet is unprotected (its authentication checked, and an SRTP
 * context must see every packet to follow the rollover counter) and its
 * content verified; it counts when its sender's stream is one the room
 * should forward ("expect"), else as unexpected. */
static void
handle_media (LoadLeg *leg, guint8 *d, gsize len, gint64 t)
{
  Sock *s = leg->owner;
  gboolean rtcp = len >= 2 && d[1] >= 192 && d[1] <= 223;
  gboolean w = in_window (t);
  if (rtcp)
    {
      if (w)
        L.w_rtcp++;
      return;
    }
  if (w)
    {
      L.w_received++;
      s->w_received++;
    }
  if (len < 12 || (d[0] & 0xc0) != 0x80)
    {
      if (w)
        L.w_bad++;
      return;
    }
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
  guint pt = d[1] & 0x7f;
  gboolean video = pt == PT_VP8;
  guint32 ssrc = get32 (d + 8);
  gint from = s->sender;
  if (L.mode == MODE_SRTP)
    from = (gint) (ssrc - (video ? 0x38000000u : 0x30000000u));
  gsize off = payload_offset (d, len);
  if ((pt != PT_VP8 && pt != PT_OPUS) || from < 0 || (guint) from >= L.n_parts || off == 0
      || !content_ok (d + off, len - off, video, (guint) from))
    {
      if (w)
        L.w_bad_content++;
      return;
    }
  Part *src = L.parts[from];
  gint64 sent = 0;
  if (video)
    {
      const guint8 *tr = d + len - TRAILER;
      sent = (gint64) ((guint64) get32 (tr + 8) << 32 | get32 (tr + 12));
      w = in_window (sent);
    }
  if (!w)
    return;
  if (!(video ? src->fwd_video : src->fwd_audio))
    {
      L.w_unexpected++;
      return;
    }
  s->w_ok++;
  if (!video)
    {
      L.w_ok_audio++;
      return;
    }
  L.w_ok_video++;
  L.lat_seen++;
  if (t > sent && L.n_lat < MAX_LAT)
    L.lat[L.n_lat++] = (guint32) MIN ((t - sent) / 1000, G_MAXUINT32);
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
  guint64 expected = 0;
  guint silent_legs = 0, n = L.n_parts;
  guint silent_from[MAX_PARTS] = { 0 };
  g_autoptr (GString) silent = g_string_new ("");
  /* what the room should have sent: each forwarded stream to the N-1 others */
  for (guint k = 0; k < n; k++)
    {
      Part *p = L.parts[k];
      expected += ((p->fwd_audio ? p->w_sa : 0) + (p->fwd_video ? p->w_sv : 0)) * (n - 1);
    }
  for (guint k = 0; k < L.n_socks; k++)
    {
      Sock *s = L.socks[k];
      gboolean expects;
      if (L.mode == MODE_SRTP)
        expects = TRUE;
      else if (s->is_send || s->sender < 0)
        continue;
      else
        expects = L.parts[s->sender]->fwd_audio || L.parts[s->sender]->fwd_video;
      /* a leg that should have got something and got nothing verified */
      if (expects && s->w_ok == 0)
        {
          silent_legs++;
          if (s->sender >= 0)
            silent_from[s->sender]++;
        }
    }
  /* whose streams the silent legs carry (ice): "I:legs,..." */
  for (guint k = 0; k < n; k++)
    if (silent_from[k] > 0)
      g_string_append_printf (silent, "%s%u:%u", silent->len ? "," : "", k, silent_from[k]);
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
       " expected=%" G_GUINT64_FORMAT " ok_audio=%" G_GUINT64_FORMAT " ok_video=%"
       G_GUINT64_FORMAT " unexpected=%" G_GUINT64_FORMAT " bad_content=%" G_GUINT64_FORMAT
       " silent_legs=%u silent_from=%s rtcp=%" G_GUINT64_FORMAT " bad=%" G_GUINT64_FORMAT " replay=%"
       G_GUINT64_FORMAT " lat_n=%u lat_p50_us=%u"
       " lat_p95_us=%u lat_p99_us=%u lat_max_us=%u target_cpu_ns=%" G_GUINT64_FORMAT
       " load_cpu_ns=%" G_GUINT64_FORMAT " send_fail=%" G_GUINT64_FORMAT,
       secs, L.n_parts, L.n_socks, L.w_sent_audio, L.w_sent_video, L.w_received, expected,
       L.w_ok_audio, L.w_ok_video, L.w_unexpected, L.w_bad_content,
       silent_legs, silent->len ? silent->str : "-", L.w_rtcp, L.w_bad, L.w_replay, L.n_lat, p50, p95, p99, pmax, L.cpu1 - L.cpu0,
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
    L.socks[k]->w_received = L.socks[k]->w_ok = 0;
  for (guint k = 0; k < L.n_parts; k++)
    L.parts[k]->w_sa = L.parts[k]->w_sv = 0;
  L.w_sent_audio = L.w_sent_video = L.w_received = L.w_rtcp = L.w_bad = L.w_replay = 0;
  L.w_ok_audio = L.w_ok_video = L.w_unexpected = L.w_bad_content = 0;
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
  s->sender = -1;
  /* srtp mode: the one leg receives every other participant's streams */
  gboolean big = L.mode == MODE_SRTP;
  if (!load_leg_open (&s->ll, s, name, big ? 1 << 22 : 1 << 18, big))
    {
      say ("%s failed socket %s", name, g_strerror (errno));
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
new_part (guint i, gboolean video, gboolean talker)
{
  if (i != L.n_parts || i >= MAX_PARTS)
    {
      say ("error bad participant index %u", i);
      return;
    }
  Part *p = g_new0 (Part, 1);
  p->idx = i;
  p->video = video;
  p->talker = talker;
  p->fwd_audio = TRUE;
  p->fwd_video = video;
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
  if (s == NULL)
    return;
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
  else if (strcmp (a[0], "sender") == 0 && n == 2 && (guint) atoi (a[1]) < L.n_parts)
    s->sender = atoi (a[1]);
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
  if (strcmp (a[0], "part") == 0 && n >= 2 && n <= 4)
    new_part ((guint) atoi (a[1]), g_strv_contains ((const char *const *) a + 2, "video"),
              g_strv_contains ((const char *const *) a + 2, "talker"));
  else if (strcmp (a[0], "recv") == 0 && n == 3)
    new_recv ((guint) atoi (a[1]), (guint) atoi (a[2]));
  else if (strcmp (a[0], "expect") == 0 && n == 4)
    {
      guint i = (guint) atoi (a[1]);
      if (i < L.n_parts)
        {
          L.parts[i]->fwd_audio = atoi (a[2]) != 0;
          L.parts[i]->fwd_video = atoi (a[3]) != 0;
        }
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
  memset (L.filler, 0x5a, sizeof L.filler);
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
