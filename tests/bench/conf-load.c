/* Not a test: the load side of tests/bench/bench_conference.py.  One
 * process plays N participants of one audio conference room, each with
 * its own UDP socket on 127.0.0.1 (a mixer that demultiplexes by address
 * must see one per participant):
 *
 *   conf-load ice     belfry: per participant its own ICE credentials and
 *                     DTLS association (belfry's dtls.c, a certificate of
 *                     its own), the same minimal ICE as call-load.c (every
 *                     binding request answered with MESSAGE-INTEGRITY +
 *                     FINGERPRINT; checks as libwebrtc makes them), then
 *                     SRTP with the DTLS-exported keys (srtp-session.c)
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
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <opus.h>

#include "dtls-cert.h"
#include "dtls.h"
#include "media-types.h"
#include "srtp-session.h"

#define MAX_PARTS 512
#define BATCH 64
#define BUFSZ 2048
#define PT_OPUS 111
#define EXT_ID 1                     /* ssrc-audio-level, as offered */
#define RATE 48000
#define FRAME 960                    /* 20 ms */
#define TONE_FRAMES 50               /* 1 s of tone, cycled */
#define SILENCE_FRAMES 500           /* 10 s of DTX, cycled */
#define TICK_US 2000
#define ICE_TIMEOUT_US (20 * G_USEC_PER_SEC)
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
  int fd;
  guint16 port;
  /* ICE */
  char ufrag[9], pwd[25];
  char *rufrag, *rpwd;
  gboolean controlling;
  struct sockaddr_in remote;
  gboolean have_remote;
  guint8 txid[12];
  guint64 tiebreaker;
  gint64 next_check, ice_started;
  guint checks;
  gboolean ice_ok, ice_reported, ice_failed;
  BfMediaDtls *dtls;
  gboolean dtls_started;
  GPtrArray *early;
  BfMediaSrtp *srtp;
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
  int ep;
  guint ep_src;
  BfMediaCert *cert;
  Part *parts[MAX_PARTS];
  guint n_parts;
  GHashTable *by_ufrag;
  guint8 out_buf[BUFSZ];
  struct mmsghdr in[BATCH];
  struct iovec in_iov[BATCH];
  struct sockaddr_in in_from[BATCH];
  guint8 in_buf[BATCH][BUFSZ];
  guint8 in_ctl[BATCH][CMSG_SPACE (sizeof (struct timespec)) + 64];
  gint64 rt_offset;
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
  guint64 total_sent, total_received, total_bad, send_fail, stun_in, unknown;
} L;

static void
say (const char *format, ...) G_GNUC_PRINTF (1, 2);
static void
say (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  vprintf (format, ap);
  va_end (ap);
  putchar ('\n');
  fflush (stdout);
}

static inline gint64
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void
put16 (guint8 *p, guint v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static inline void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static inline guint
get16 (const guint8 *p)
{
  return (guint) p[0] << 8 | p[1];
}

static inline guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static guint64
self_cpu_ns (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (guint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000
         + (guint64) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static guint64
watched_cpu_ns (void)
{
  guint64 sum = 0;
  for (char **f = L.watch; f && *f; f++)
    {
      char buf[128];
      FILE *fp = fopen (*f, "r");
      if (fp == NULL)
        continue;
      if (fgets (buf, sizeof buf, fp))
        sum += g_ascii_strtoull (buf, NULL, 10);
      fclose (fp);
    }
  return sum;
}

static gint64
realtime_offset (void)
{
  gint64 best = G_MAXINT64, off = 0;
  for (int k = 0; k < 5; k++)
    {
      struct timespec a, r, b;
      clock_gettime (CLOCK_MONOTONIC, &a);
      clock_gettime (CLOCK_REALTIME, &r);
      clock_gettime (CLOCK_MONOTONIC, &b);
      gint64 an = (gint64) a.tv_sec * 1000000000 + a.tv_nsec;
      gint64 bn = (gint64) b.tv_sec * 1000000000 + b.tv_nsec;
      gint64 rn = (gint64) r.tv_sec * 1000000000 + r.tv_nsec;
      if (bn - an < best)
        {
          best = bn - an;
          off = rn - (an + bn) / 2;
        }
    }
  return off;
}

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

/* --- STUN (RFC 5389) for ICE (RFC 8445): as call-load.c --- */

#define STUN_MAGIC 0x2112A442u
#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_BINDING_ERROR 0x0111
#define ATTR_USERNAME 0x0006
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_ERROR_CODE 0x0009
#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_PRIORITY 0x0024
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_FINGERPRINT 0x8028
#define ATTR_ICE_CONTROLLED 0x8029
#define ATTR_ICE_CONTROLLING 0x802A

static guint32 crc_table[256];

static void
crc_init (void)
{
  for (guint32 i = 0; i < 256; i++)
    {
      guint32 c = i;
      for (int k = 0; k < 8; k++)
        c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      crc_table[i] = c;
    }
}

static guint32
crc32_buf (const guint8 *p, gsize n)
{
  guint32 c = 0xFFFFFFFFu;
  for (gsize i = 0; i < n; i++)
    c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static gsize
stun_attr (guint8 *m, gsize len, guint type, const void *value, gsize vlen)
{
  put16 (m + len, type);
  put16 (m + len + 2, (guint) vlen);
  if (vlen)
    memcpy (m + len + 4, value, vlen);
  gsize padded = (vlen + 3) & ~(gsize) 3;
  memset (m + len + 4 + vlen, 0, padded - vlen);
  return len + 4 + padded;
}

static gsize
stun_finish (guint8 *m, gsize len, const char *key)
{
  guint8 mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  put16 (m + 2, (guint) (len - 20 + 24));
  HMAC (EVP_sha1 (), key, (int) strlen (key), m, len, mac, &mac_len);
  len = stun_attr (m, len, ATTR_MESSAGE_INTEGRITY, mac, 20);
  put16 (m + 2, (guint) (len - 20 + 8));
  guint8 fp[4];
  put32 (fp, crc32_buf (m, len) ^ 0x5354554Eu);
  return stun_attr (m, len, ATTR_FINGERPRINT, fp, 4);
}

static gsize
stun_header (guint8 *m, guint type, const guint8 txid[12])
{
  put16 (m, type);
  put16 (m + 2, 0);
  put32 (m + 4, STUN_MAGIC);
  memcpy (m + 8, txid, 12);
  return 20;
}

typedef struct {
  guint type;
  const guint8 *txid;
  const guint8 *username;
  gsize username_len;
  gboolean use_candidate, controlling, controlled;
  guint error_code;
} StunMsg;

static gboolean
stun_parse (const guint8 *d, gsize len, StunMsg *s)
{
  memset (s, 0, sizeof *s);
  if (len < 20 || (d[0] & 0xc0) || get32 (d + 4) != STUN_MAGIC)
    return FALSE;
  gsize mlen = get16 (d + 2);
  if (mlen + 20 > len || (mlen & 3))
    return FALSE;
  s->type = get16 (d);
  s->txid = d + 8;
  gsize off = 20;
  while (off + 4 <= 20 + mlen)
    {
      guint at = get16 (d + off), al = get16 (d + off + 2);
      const guint8 *v = d + off + 4;
      if (off + 4 + al > 20 + mlen)
        return FALSE;
      switch (at)
        {
        case ATTR_USERNAME:
          s->username = v;
          s->username_len = al;
          break;
        case ATTR_USE_CANDIDATE:
          s->use_candidate = TRUE;
          break;
        case ATTR_ICE_CONTROLLING:
          s->controlling = TRUE;
          break;
        case ATTR_ICE_CONTROLLED:
          s->controlled = TRUE;
          break;
        case ATTR_ERROR_CODE:
          if (al >= 4)
            s->error_code = (v[2] & 7) * 100 + v[3];
          break;
        default:
          break;
        }
      off += 4 + ((al + 3) & ~3u);
    }
  return TRUE;
}

static void
send_to (Part *p, const struct sockaddr_in *to, const guint8 *data, gsize len)
{
  if (p->fd < 0
      || sendto (p->fd, data, len, MSG_DONTWAIT, (const struct sockaddr *) to, sizeof *to)
         != (ssize_t) len)
    L.send_fail++;
}

static void maybe_start_dtls (Part *p);

static void
send_check (Part *p)
{
  guint8 m[256];
  p->txid[0] = 'C';
  put32 (p->txid + 1, p->idx);
  for (int k = 5; k < 12; k++)
    p->txid[k] = (guint8) g_random_int ();
  gsize len = stun_header (m, STUN_BINDING_REQUEST, p->txid);
  char user[600];
  g_snprintf (user, sizeof user, "%s:%s", p->rufrag, p->ufrag);
  len = stun_attr (m, len, ATTR_USERNAME, user, strlen (user));
  guint8 prio[4];
  put32 (prio, (110u << 24) | (65535u << 8) | 255u);
  len = stun_attr (m, len, ATTR_PRIORITY, prio, 4);
  guint8 tb[8];
  for (int k = 0; k < 8; k++)
    tb[k] = (guint8) (p->tiebreaker >> (56 - 8 * k));
  if (p->controlling)
    {
      len = stun_attr (m, len, ATTR_ICE_CONTROLLING, tb, 8);
      len = stun_attr (m, len, ATTR_USE_CANDIDATE, NULL, 0);
    }
  else
    len = stun_attr (m, len, ATTR_ICE_CONTROLLED, tb, 8);
  len = stun_finish (m, len, p->rpwd);
  send_to (p, &p->remote, m, len);
  p->checks++;
}

static void
ice_ready (Part *p)
{
  p->ice_ok = TRUE;
  if (!p->ice_reported)
    {
      p->ice_reported = TRUE;
      say ("%u ice-connected", p->idx);
    }
  maybe_start_dtls (p);
}

static void
handle_stun (Part *p, const struct sockaddr_in *from, const guint8 *d, gsize len)
{
  StunMsg s;
  L.stun_in++;
  if (!stun_parse (d, len, &s))
    return;
  if (s.type == STUN_BINDING_REQUEST)
    {
      if (s.username == NULL)
        return;
      const guint8 *colon = memchr (s.username, ':', s.username_len);
      if (colon == NULL)
        return;
      char ufrag[64];
      gsize ul = (gsize) (colon - s.username);
      if (ul >= sizeof ufrag)
        return;
      memcpy (ufrag, s.username, ul);
      ufrag[ul] = '\0';
      if (g_hash_table_lookup (L.by_ufrag, ufrag) != p)
        return;
      if (!p->have_remote)
        {
          p->remote = *from;
          p->have_remote = TRUE;
        }
      if (s.controlling && p->controlling)
        p->controlling = FALSE;
      else if (s.controlled && !p->controlling)
        p->controlling = TRUE;
      guint8 m[256];
      gsize n = stun_header (m, STUN_BINDING_SUCCESS, s.txid);
      guint8 xa[8] = { 0, 1 };
      put16 (xa + 2, ntohs (from->sin_port) ^ (STUN_MAGIC >> 16));
      put32 (xa + 4, ntohl (from->sin_addr.s_addr) ^ STUN_MAGIC);
      n = stun_attr (m, n, ATTR_XOR_MAPPED_ADDRESS, xa, 8);
      n = stun_finish (m, n, p->pwd);
      send_to (p, from, m, n);
      if (s.use_candidate && !p->controlling)
        ice_ready (p);
      else
        maybe_start_dtls (p);
      return;
    }
  if (s.type == STUN_BINDING_SUCCESS || s.type == STUN_BINDING_ERROR)
    {
      if (memcmp (s.txid, p->txid, 5) != 0)
        return;
      if (s.type == STUN_BINDING_ERROR)
        {
          if (s.error_code == 487)
            p->controlling = !p->controlling;
          return;
        }
      ice_ready (p);
    }
}

/* --- DTLS --- */

static void
dtls_send (const guint8 *data, gsize len, gpointer user_data)
{
  Part *p = user_data;
  if (p->have_remote)
    send_to (p, &p->remote, data, len);
}

static void
dtls_connected (const BfMediaDtlsKeys *keys, gpointer user_data)
{
  Part *p = user_data;
  g_autoptr (GError) error = NULL;
  p->srtp = bf_media_srtp_new (keys->profile, keys->local_key, keys->local_salt,
                               keys->remote_key, keys->remote_salt, 8, &error);
  if (p->srtp == NULL)
    say ("%u failed srtp %s", p->idx, error->message);
  else
    say ("%u dtls-connected %s", p->idx, bf_media_srtp_profile_name (keys->profile));
}

static void
dtls_failed (const GError *error, gpointer user_data)
{
  Part *p = user_data;
  say ("%u failed dtls %d %s", p->idx, error->code, error->message);
}

static const BfMediaDtlsCallbacks dtls_callbacks = { dtls_send, dtls_connected, dtls_failed };

static void
maybe_start_dtls (Part *p)
{
  if (p->dtls && !p->dtls_started && p->ice_ok)
    {
      p->dtls_started = TRUE;
      bf_media_dtls_start (p->dtls);
    }
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
  if (b == NULL || (L.mode == MODE_ICE && p->srtp == NULL) || !p->have_remote)
    {
      p->gap = TRUE;
      return;
    }
  gsize plen;
  const guint8 *payload = g_bytes_get_data (b, &plen);
  guint8 *q = L.out_buf;
  q[0] = 0x90;                                /* V=2, X=1 */
  q[1] = PT_OPUS | (p->gap || onset ? 0x80 : 0);
  put16 (q + 2, p->seq++);
  put32 (q + 4, ts);
  put32 (q + 8, p->ssrc);
  put16 (q + 12, 0xBEDE);                     /* RFC 8285 one-byte header */
  put16 (q + 14, 1);
  q[16] = EXT_ID << 4;                        /* length 1 */
  q[17] = talking ? (0x80 | LEVEL_TALK) : LEVEL_SILENT;
  q[18] = q[19] = 0;
  memcpy (q + 20, payload, plen);
  gsize len = 20 + plen;
  if (p->srtp && bf_media_srtp_protect (p->srtp, FALSE, q, &len, BUFSZ) != BF_MEDIA_SRTP_OK)
    {
      L.send_fail++;
      return;
    }
  send_to (p, &p->remote, q, len);
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
handle_media (Part *p, guint8 *d, gsize len, gint64 t)
{
  gboolean rtcp = len >= 2 && d[1] >= 192 && d[1] <= 223;
  if (p->srtp)
    {
      if (bf_media_srtp_unprotect (p->srtp, rtcp, d, &len) != BF_MEDIA_SRTP_OK)
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

static gint64
arrival_ns (int k, gint64 fallback)
{
  struct msghdr *h = &L.in[k].msg_hdr;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (h); c; c = CMSG_NXTHDR (h, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
      {
        struct timespec ts;
        memcpy (&ts, CMSG_DATA (c), sizeof ts);
        return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec - L.rt_offset;
      }
  return fallback;
}

static void
drain_part (Part *p)
{
  for (int round = 0; round < 16 && p->fd >= 0; round++)
    {
      for (int k = 0; k < BATCH; k++)
        {
          L.in_iov[k] = (struct iovec) { L.in_buf[k], BUFSZ };
          L.in[k] = (struct mmsghdr) { .msg_hdr = { .msg_name = &L.in_from[k],
                                                    .msg_namelen = sizeof L.in_from[k],
                                                    .msg_iov = &L.in_iov[k],
                                                    .msg_iovlen = 1,
                                                    .msg_control = L.in_ctl[k],
                                                    .msg_controllen = sizeof L.in_ctl[k] } };
        }
      int r = recvmmsg (p->fd, L.in, BATCH, MSG_DONTWAIT, NULL);
      if (r <= 0)
        break;
      gint64 now = now_ns ();
      for (int k = 0; k < r; k++)
        {
          guint8 *d = L.in_buf[k];
          gsize len = L.in[k].msg_len;
          gint64 t = arrival_ns (k, now);
          if (len == 0)
            continue;
          guint8 b = d[0];
          if (b <= 3)
            handle_stun (p, &L.in_from[k], d, len);
          else if (b >= 20 && b <= 63)
            {
              if (p->dtls)
                bf_media_dtls_receive (p->dtls, d, len);
              else if (p->early->len < 8)
                g_ptr_array_add (p->early, g_bytes_new (d, len));
            }
          else if (b >= 128 && b <= 191)
            handle_media (p, d, len, t);
          else
            L.unknown++;
        }
      if (r < BATCH)
        break;
    }
}

static void
drain_ready (void)
{
  struct epoll_event ev[256];
  for (int pass = 0; pass < 16; pass++)
    {
      int n = epoll_wait (L.ep, ev, G_N_ELEMENTS (ev), 0);
      for (int k = 0; k < n; k++)
        drain_part (ev[k].data.ptr);
      if (n < (int) G_N_ELEMENTS (ev))
        break;
    }
}

static gboolean
on_readable (gint fd, GIOCondition cond, gpointer data)
{
  drain_ready ();
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
       frames, bad, L.cpu1 - L.cpu0, L.self1 - L.self0, L.send_fail);
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
  drain_ready ();
  gint64 t = now_ns ();
  if (L.measuring && !L.window_ended && t >= L.we_ns)
    {
      L.window_ended = TRUE;
      L.cpu1 = watched_cpu_ns ();
      L.self1 = self_cpu_ns ();
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
    L.ep_src = g_unix_fd_add (L.ep, G_IO_IN, on_readable, NULL);
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
  L.rt_offset = realtime_offset ();
  for (guint k = 0; k < L.n_parts; k++)
    {
      Part *p = L.parts[k];
      p->w_got = FALSE;
      p->w_received = p->w_first_ext = p->w_last_ext = 0;
      p->n_lat = 0;
    }
  L.w_sent = L.w_sent_bytes = L.w_talk_sent = L.w_silent_sent = 0;
  L.cpu0 = watched_cpu_ns ();
  L.self0 = self_cpu_ns ();
  L.cpu1 = L.self1 = 0;
  L.window_ended = FALSE;
  L.ws_ns = now_ns ();
  L.we_ns = L.ws_ns + (gint64) (secs * 1e9);
  L.measuring = TRUE;
  say ("window-start");
}

/* ICE checks every 20 ms until answered (ice mode, before the run's tick). */
static gboolean
housekeeping (gpointer unused)
{
  gint64 now = g_get_monotonic_time ();
  for (guint k = 0; k < L.n_parts && L.mode == MODE_ICE; k++)
    {
      Part *p = L.parts[k];
      if (p->ice_ok || p->ice_failed || p->rufrag == NULL || !p->have_remote)
        continue;
      if (now - p->ice_started > ICE_TIMEOUT_US)
        {
          p->ice_failed = TRUE;
          say ("%u failed ice no check succeeded (%u sent)", p->idx, p->checks);
          continue;
        }
      if (now >= p->next_check)
        {
          send_check (p);
          p->next_check = now + 50000;
        }
    }
  return G_SOURCE_CONTINUE;
}

/* --- commands --- */

static void
random_ice_string (char *out, gsize n)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (gsize i = 0; i < n; i++)
    out[i] = alphabet[g_random_int_range (0, 64)];
  out[n] = '\0';
}

static int
open_socket (guint16 *port)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = { .sin_family = AF_INET };
  inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
  int size = 1 << 19;
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  int on = 1;
  setsockopt (fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  socklen_t sl = sizeof a;
  if (bind (fd, (struct sockaddr *) &a, sizeof a) < 0
      || getsockname (fd, (struct sockaddr *) &a, &sl) < 0)
    {
      close (fd);
      return -1;
    }
  *port = ntohs (a.sin_port);
  return fd;
}

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
  p->fd = open_socket (&p->port);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };
  if (p->fd < 0 || epoll_ctl (L.ep, EPOLL_CTL_ADD, p->fd, &ev) < 0)
    {
      say ("%u failed socket %s", i, g_strerror (errno));
      g_free (p);
      return;
    }
  L.parts[L.n_parts++] = p;
  p->early = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  p->ssrc = 0x30000000u + i;
  p->seq = (guint16) g_random_int ();
  p->ts = g_random_int ();
  p->tiebreaker = (guint64) g_random_int () << 32 | g_random_int ();
  p->silence_off = g_random_int_range (0, SILENCE_FRAMES);
  p->gap = TRUE;
  if (L.mode == MODE_ICE)
    {
      do
        random_ice_string (p->ufrag, 8);
      while (g_hash_table_contains (L.by_ufrag, p->ufrag));
      random_ice_string (p->pwd, 24);
      g_hash_table_insert (L.by_ufrag, p->ufrag, p);
      say ("%u credentials %s %s", i, p->ufrag, p->pwd);
      say ("%u fingerprint %s %s", i, bf_media_cert_get_fingerprint_hash (L.cert),
           bf_media_cert_get_fingerprint (L.cert));
      say ("%u candidate 1 1 host 127.0.0.1 %u %u", i, p->port,
           (126u << 24) | (65535u << 8) | 255u);
      say ("%u gathering-done", i);
    }
  else
    say ("%u ready %u", i, p->port);
}

static void
part_command (Part *p, char **a, guint n)
{
  g_autoptr (GError) error = NULL;
  if (strcmp (a[0], "remote-ice") == 0 && n == 4)
    {
      if (p->rufrag)
        return;
      p->rufrag = g_strdup (a[1]);
      p->rpwd = g_strdup (a[2]);
      p->controlling = strcmp (a[3], "controlled") == 0;
      p->ice_started = g_get_monotonic_time ();
    }
  else if (strcmp (a[0], "remote-dtls") == 0 && n == 4)
    {
      if (p->dtls)
        return;
      BfMediaDtlsParams params = {
        .setup = strcmp (a[1], "active") == 0 ? BF_MEDIA_DTLS_SETUP_ACTIVE
                                              : BF_MEDIA_DTLS_SETUP_PASSIVE,
        .profiles = { BF_MEDIA_SRTP_AEAD_AES_128_GCM, BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80 },
        .n_profiles = 2,
        .handshake_timeout_ms = 20000,
        .retransmit_ms = 200,
        .mtu = 1200,
      };
      p->dtls = bf_media_dtls_new (L.cert, &params, a[2], a[3], NULL, &dtls_callbacks, p, &error);
      if (p->dtls == NULL)
        {
          say ("%u failed dtls-setup %s", p->idx, error->message);
          return;
        }
      for (guint k = 0; k < p->early->len; k++)
        {
          gsize len;
          const guint8 *d = g_bytes_get_data (p->early->pdata[k], &len);
          bf_media_dtls_receive (p->dtls, d, len);
        }
      g_ptr_array_set_size (p->early, 0);
      maybe_start_dtls (p);
    }
  else if (strcmp (a[0], "candidate") == 0 && n >= 7)
    {
      struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons ((guint16) atoi (a[5])) };
      if (inet_pton (AF_INET, a[4], &to.sin_addr) != 1 || strcmp (a[2], "1") != 0)
        return;
      if (!p->have_remote)
        {
          p->remote = to;
          p->have_remote = TRUE;
        }
    }
  else if (strcmp (a[0], "dest") == 0 && n == 3)
    {
      struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons ((guint16) atoi (a[2])) };
      if (inet_pton (AF_INET, a[1], &to.sin_addr) != 1)
        {
          say ("error bad dest %s", a[1]);
          return;
        }
      p->remote = to;
      p->have_remote = TRUE;
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
  GMainLoop *loop = data;
  g_autofree char *line = NULL;
  gsize len;
  GIOStatus st = g_io_channel_read_line (ch, &line, &len, NULL, NULL);
  if (st == G_IO_STATUS_AGAIN)
    return G_SOURCE_CONTINUE;
  if (st != G_IO_STATUS_NORMAL || g_str_has_prefix (line, "quit"))
    {
      g_main_loop_quit (loop);
      return G_SOURCE_REMOVE;
    }
  g_strstrip (line);
  g_auto (GStrv) a = g_strsplit_set (line, " ", -1);
  guint n = g_strv_length (a);
  if (n == 0 || a[0][0] == '\0')
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
         L.total_bad, L.stun_in, L.unknown, L.send_fail);
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
  crc_init ();
  g_autoptr (GError) error = NULL;
  if (!bf_media_srtp_library_init (&error))
    g_error ("%s", error->message);
  if (L.mode == MODE_ICE)
    {
      L.cert = bf_media_cert_new (0, &error);
      g_assert_no_error (error);
    }
  L.by_ufrag = g_hash_table_new (g_str_hash, g_str_equal);
  L.tick_fd = -1;
  L.ep = epoll_create1 (EPOLL_CLOEXEC);
  if (L.ep < 0)
    g_error ("epoll: %s", g_strerror (errno));
  L.rt_offset = realtime_offset ();
  make_silence ();
  L.ep_src = g_unix_fd_add (L.ep, G_IO_IN, on_readable, NULL);
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
