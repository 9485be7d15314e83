/* Not a test: one client leg of a load generator (load-leg.h says why
 * and its thread rule). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "load-leg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>

#define BATCH 64
#define ICE_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define CHECK_INTERVAL_US 50000      /* libwebrtc's 48 ms weak ping interval */

LoadCounters load_counters;
gboolean load_legs_tracing;
gboolean load_legs_consent;

static struct {
  BfMediaCert *cert;
  GHashTable *by_ufrag;              /* our ufrag -> LoadLeg */
  int ep;                            /* epoll set of every leg's socket */
  LoadMediaFunc media;
  BfMediaDtlsParams dtls_params;
  gint64 rt_offset;                  /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
  /* receive batch */
  struct mmsghdr in[BATCH];
  struct iovec in_iov[BATCH];
  struct sockaddr_in in_from[BATCH];
  guint8 in_buf[BATCH][LOAD_BUFSZ];
  guint8 in_ctl[BATCH][CMSG_SPACE (sizeof (struct timespec)) + 64];
} S = { .ep = -1 };

static const char *const trace_names[] = {
  "remote-ice", "check-out", "request-in", "use-candidate-in", "response-in", "dtls-start",
  "dtls-in", "dtls-connected", "media-out", "media-in",
};

void
say (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  vprintf (format, ap);
  va_end (ap);
  putchar ('\n');
  fflush (stdout);
}

gboolean
load_read_words (GIOChannel *ch, GMainLoop *loop, GStrv *words)
{
  g_autofree char *line = NULL;
  gsize len;
  *words = NULL;
  GIOStatus st = g_io_channel_read_line (ch, &line, &len, NULL, NULL);
  if (st == G_IO_STATUS_AGAIN)
    return TRUE;
  if (st != G_IO_STATUS_NORMAL || g_str_has_prefix (line, "quit"))
    {
      g_main_loop_quit (loop);
      return FALSE;
    }
  g_strstrip (line);
  if (line[0] != '\0')
    *words = g_strsplit_set (line, " ", -1);
  return TRUE;
}

void
load_leg_trace (LoadLeg *leg, guint what)
{
  if (!load_legs_tracing || (leg->traced & (1u << what)))
    return;
  leg->traced |= 1u << what;
  say ("%s trace %s %" G_GINT64_FORMAT, leg->name, trace_names[what], g_get_monotonic_time ());
}

guint64
load_self_cpu_ns (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (guint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000
         + (guint64) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

guint64
load_watched_cpu_ns (char **files)
{
  guint64 sum = 0;
  for (char **f = files; f && *f; f++)
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

/* --- STUN (RFC 5389) for ICE (RFC 8445) --- */

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

/* Appends MESSAGE-INTEGRITY (HMAC-SHA1 keyed with @key) and FINGERPRINT. */
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

void
load_leg_send (LoadLeg *leg, const struct sockaddr_in *to, const guint8 *data, gsize len)
{
  if (leg->fd < 0
      || sendto (leg->fd, data, len, MSG_DONTWAIT, (const struct sockaddr *) to, sizeof *to)
         != (ssize_t) len)
    load_counters.send_fail++;
}

static void maybe_start_dtls (LoadLeg *leg);

static void
send_check (LoadLeg *leg)
{
  guint8 m[256];
  for (int k = 6; k < 12; k++)
    leg->txid[k] = (guint8) g_random_int ();
  gsize len = stun_header (m, STUN_BINDING_REQUEST, leg->txid);
  char user[600];
  g_snprintf (user, sizeof user, "%s:%s", leg->rufrag, leg->ufrag);
  len = stun_attr (m, len, ATTR_USERNAME, user, strlen (user));
  guint8 prio[4];
  put32 (prio, (110u << 24) | (65535u << 8) | 255u);
  len = stun_attr (m, len, ATTR_PRIORITY, prio, 4);
  guint8 tb[8];
  for (int k = 0; k < 8; k++)
    tb[k] = (guint8) (leg->tiebreaker >> (56 - 8 * k));
  if (leg->controlling)
    {
      len = stun_attr (m, len, ATTR_ICE_CONTROLLING, tb, 8);
      len = stun_attr (m, len, ATTR_USE_CANDIDATE, NULL, 0);
    }
  else
    len = stun_attr (m, len, ATTR_ICE_CONTROLLED, tb, 8);
  len = stun_finish (m, len, leg->rpwd);
  load_leg_send (leg, &leg->remote, m, len);
  leg->checks++;
  load_leg_trace (leg, LOAD_TRACE_CHECK_OUT);
}

static void
ice_ready (LoadLeg *leg)
{
  /* consent's clock starts with the connection (then: answers only) */
  if (leg->consent_last == 0)
    leg->consent_last = g_get_monotonic_time ();
  leg->ice_ok = TRUE;
  if (!leg->ice_reported)
    {
      leg->ice_reported = TRUE;
      say ("%s ice-connected", leg->name);
    }
  maybe_start_dtls (leg);
}

/* A STUN message on @leg's socket. */
static void
handle_stun (LoadLeg *leg, const struct sockaddr_in *from, const guint8 *d, gsize len)
{
  StunMsg s;
  load_counters.stun_in++;
  if (!stun_parse (d, len, &s))
    return;
  if (s.type == STUN_BINDING_REQUEST)
    {
      /* USERNAME = "our-ufrag:their-ufrag" */
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
      if (g_hash_table_lookup (S.by_ufrag, ufrag) != leg)
        return;
      load_leg_trace (leg, LOAD_TRACE_REQUEST_IN);
      if (s.use_candidate)
        load_leg_trace (leg, LOAD_TRACE_USE_CANDIDATE_IN);
      if (!leg->have_remote)
        {
          leg->remote = *from;
          leg->have_remote = TRUE;
        }
      /* Take the role opposite to the peer's (no tie-breaker dance). */
      if (s.controlling && leg->controlling)
        leg->controlling = FALSE;
      else if (s.controlled && !leg->controlling)
        leg->controlling = TRUE;
      guint8 m[256];
      gsize n = stun_header (m, STUN_BINDING_SUCCESS, s.txid);
      guint8 xa[8] = { 0, 1 };
      put16 (xa + 2, ntohs (from->sin_port) ^ (STUN_MAGIC >> 16));
      put32 (xa + 4, ntohl (from->sin_addr.s_addr) ^ STUN_MAGIC);
      n = stun_attr (m, n, ATTR_XOR_MAPPED_ADDRESS, xa, 8);
      n = stun_finish (m, n, leg->pwd);
      load_leg_send (leg, from, m, n);
      leg->answered++;
      if (s.use_candidate && !leg->controlling)
        ice_ready (leg);
      else
        maybe_start_dtls (leg);
      return;
    }
  if (s.type == STUN_BINDING_SUCCESS || s.type == STUN_BINDING_ERROR)
    {
      /* ours: the leg's 6 bytes (load_leg_open's caller named it) */
      if (leg->ended || memcmp (s.txid, leg->txid, 6) != 0)
        return;
      if (s.type == STUN_BINDING_ERROR)
        {
          if (s.error_code == 487)
            leg->controlling = !leg->controlling;
          if (!leg->error_reported)
            {
              leg->error_reported = TRUE;
              say ("%s ice-error %u", leg->name, s.error_code);
            }
          return;
        }
      load_leg_trace (leg, LOAD_TRACE_RESPONSE_IN);
      leg->consent_last = g_get_monotonic_time ();
      /* Writable: our check got its answer.  As a WebRTC peer, either
       * role starts DTLS then, without waiting for the nomination. */
      ice_ready (leg);
    }
}

void
load_leg_check_now (LoadLeg *leg)
{
  if (S.cert == NULL || leg->checks > 0 || leg->ice_ok || leg->rufrag == NULL
      || !leg->have_remote)
    return;
  send_check (leg);
  leg->next_check = g_get_monotonic_time () + CHECK_INTERVAL_US;
}

/* RFC 7675 section 5.1: a check every 4-6 s (randomized, so that legs
 * do not synchronise); consent is lost when none was answered for the
 * timeout. */
static void
consent_step (LoadLeg *leg, gint64 now)
{
  if (leg->consent_expired || !leg->have_remote)
    return;
  if (now - leg->consent_last > LOAD_CONSENT_TIMEOUT_US)
    {
      leg->consent_expired = TRUE;
      say ("%s consent-expired", leg->name);
      return;
    }
  if (leg->consent_next == 0)
    leg->consent_next = now + g_random_int_range (4000, 6001) * (gint64) 1000;
  else if (now >= leg->consent_next)
    {
      send_check (leg);
      leg->consent_next = now + g_random_int_range (4000, 6001) * (gint64) 1000;
    }
}

void
load_leg_ice_step (LoadLeg *leg, gint64 now)
{
  if (leg->ice_ok && load_legs_consent && !leg->ended)
    consent_step (leg, now);
  if (leg->ice_ok || leg->ice_failed || leg->ended || leg->rufrag == NULL)
    return;
  if (now - leg->ice_started > ICE_TIMEOUT_US)
    {
      leg->ice_failed = TRUE;
      say ("%s failed ice no check succeeded (%u sent, %u answered)", leg->name, leg->checks,
           leg->answered);
      return;
    }
  if (leg->have_remote && now >= leg->next_check)
    {
      send_check (leg);
      leg->next_check = now + CHECK_INTERVAL_US;
    }
}

/* --- DTLS --- */

static void
dtls_send (const guint8 *data, gsize len, gpointer user_data)
{
  LoadLeg *leg = user_data;
  if (leg->have_remote)
    load_leg_send (leg, &leg->remote, data, len);
}

static void
dtls_connected (const BfMediaDtlsKeys *keys, gpointer user_data)
{
  LoadLeg *leg = user_data;
  g_autoptr (GError) error = NULL;
  leg->srtp = bf_media_srtp_new (keys->profile, keys->local_key, keys->local_salt,
                                 keys->remote_key, keys->remote_salt, 8, &error);
  load_leg_trace (leg, LOAD_TRACE_DTLS_CONNECTED);
  if (leg->srtp == NULL)
    say ("%s failed srtp %s", leg->name, error->message);
  else
    say ("%s dtls-connected %s", leg->name, bf_media_srtp_profile_name (keys->profile));
}

static void
dtls_failed (const GError *error, gpointer user_data)
{
  LoadLeg *leg = user_data;
  say ("%s failed dtls %d %s", leg->name, error->code, error->message);
}

static const BfMediaDtlsCallbacks dtls_callbacks = { dtls_send, dtls_connected, dtls_failed };

static void
maybe_start_dtls (LoadLeg *leg)
{
  /* Writable (our check was answered), whatever the role and the
   * nomination: when a WebRTC peer starts DTLS.  The relay may not have a
   * working pair of its own yet (its first check is still to come). */
  if (leg->dtls && !leg->dtls_started && leg->ice_ok)
    {
      leg->dtls_started = TRUE;
      load_leg_trace (leg, LOAD_TRACE_DTLS_START);
      bf_media_dtls_start (leg->dtls);
    }
}

/* --- the leg --- */

void
load_legs_init (gboolean ice, LoadMediaFunc media)
{
  g_autoptr (GError) error = NULL;
  crc_init ();
  if (!bf_media_srtp_library_init (&error))
    g_error ("%s", error->message);
  if (ice)
    {
      S.cert = bf_media_cert_new (0, &error);
      g_assert_no_error (error);
    }
  S.by_ufrag = g_hash_table_new (g_str_hash, g_str_equal);
  S.ep = epoll_create1 (EPOLL_CLOEXEC);
  if (S.ep < 0)
    g_error ("epoll: %s", g_strerror (errno));
  S.rt_offset = realtime_offset ();
  S.media = media;
  S.dtls_params = (BfMediaDtlsParams) {
    .profiles = { BF_MEDIA_SRTP_AEAD_AES_128_GCM, BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80 },
    .n_profiles = 2,
    /* set-up is not measured; at bench_sfu's N = 50 a join starts ~100
     * handshakes at once on this one thread, which a busy VM took over
     * 20 s to finish */
    .handshake_timeout_ms = 30000,
    .retransmit_ms = 200,
    .mtu = 1200,
  };
}

BfMediaDtlsParams *
load_legs_dtls_params (void)
{
  return &S.dtls_params;
}

void
load_legs_sync_clock (void)
{
  S.rt_offset = realtime_offset ();
}

int
load_legs_epoll_fd (void)
{
  return S.ep;
}

gboolean
load_leg_open (LoadLeg *leg, gpointer owner, const char *name, int bufsize, gboolean force)
{
  leg->owner = owner;
  g_strlcpy (leg->name, name, sizeof leg->name);
  leg->fd = -1;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  struct sockaddr_in a = { .sin_family = AF_INET };
  inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
  if (!force || setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  if (force && setsockopt (fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof bufsize) < 0)
    setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  int on = 1;
  setsockopt (fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  socklen_t sl = sizeof a;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = leg };
  if (bind (fd, (struct sockaddr *) &a, sizeof a) < 0
      || getsockname (fd, (struct sockaddr *) &a, &sl) < 0
      || epoll_ctl (S.ep, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
      return FALSE;
    }
  leg->fd = fd;
  leg->port = ntohs (a.sin_port);
  leg->early = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  leg->tiebreaker = (guint64) g_random_int () << 32 | g_random_int ();
  return TRUE;
}

static void
random_ice_string (char *out, gsize n)
{
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (gsize i = 0; i < n; i++)
    out[i] = alphabet[g_random_int_range (0, 64)];
  out[n] = '\0';
}

void
load_leg_announce (LoadLeg *leg)
{
  do
    random_ice_string (leg->ufrag, 8);
  while (g_hash_table_contains (S.by_ufrag, leg->ufrag));
  random_ice_string (leg->pwd, 24);
  g_hash_table_insert (S.by_ufrag, leg->ufrag, leg);
  say ("%s credentials %s %s", leg->name, leg->ufrag, leg->pwd);
  say ("%s fingerprint %s %s", leg->name, bf_media_cert_get_fingerprint_hash (S.cert),
       bf_media_cert_get_fingerprint (S.cert));
  say ("%s candidate 1 1 host 127.0.0.1 %u %u", leg->name, leg->port,
       (126u << 24) | (65535u << 8) | 255u);
  say ("%s gathering-done", leg->name);
}

gboolean
load_leg_command (LoadLeg *leg, char **a, guint n)
{
  g_autoptr (GError) error = NULL;
  if (strcmp (a[0], "remote-ice") == 0 && n == 4)
    {
      if (leg->rufrag)
        return TRUE;
      leg->rufrag = g_strdup (a[1]);
      leg->rpwd = g_strdup (a[2]);
      /* our role is the opposite of the relay's */
      leg->controlling = strcmp (a[3], "controlled") == 0;
      leg->ice_started = g_get_monotonic_time ();
      load_leg_trace (leg, LOAD_TRACE_REMOTE_ICE);
      return TRUE;
    }
  if (strcmp (a[0], "remote-dtls") == 0 && n == 4)
    {
      if (leg->dtls)
        return TRUE;
      BfMediaDtlsParams params = S.dtls_params;
      params.setup = strcmp (a[1], "active") == 0 ? BF_MEDIA_DTLS_SETUP_ACTIVE
                                                  : BF_MEDIA_DTLS_SETUP_PASSIVE;
      leg->dtls = bf_media_dtls_new (S.cert, &params, a[2], a[3], NULL, &dtls_callbacks, leg,
                                     &error);
      if (leg->dtls == NULL)
        {
          say ("%s failed dtls-setup %s", leg->name, error->message);
          return TRUE;
        }
      for (guint k = 0; k < leg->early->len; k++)
        {
          gsize len;
          const guint8 *d = g_bytes_get_data (leg->early->pdata[k], &len);
          bf_media_dtls_receive (leg->dtls, d, len);
        }
      g_ptr_array_set_size (leg->early, 0);
      maybe_start_dtls (leg);
      return TRUE;
    }
  if (strcmp (a[0], "candidate") == 0 && n >= 7)
    {
      /* the relay's candidates: IPv4 UDP only; the first one wins */
      struct sockaddr_in to = { .sin_family = AF_INET,
                                .sin_port = htons ((guint16) atoi (a[5])) };
      if (inet_pton (AF_INET, a[4], &to.sin_addr) != 1 || strcmp (a[2], "1") != 0)
        return TRUE;
      if (!leg->have_remote)
        {
          leg->remote = to;
          leg->have_remote = TRUE;
        }
      return TRUE;
    }
  return FALSE;
}

void
load_leg_end (LoadLeg *leg, gboolean graceful)
{
  if (leg->ended)
    return;
  leg->ended = TRUE;
  if (leg->dtls && graceful)
    bf_media_dtls_close (leg->dtls);   /* close_notify, through dtls_send */
  g_clear_pointer (&leg->dtls, bf_media_dtls_free);
  g_clear_pointer (&leg->srtp, bf_media_srtp_free);
  if (S.by_ufrag && g_hash_table_lookup (S.by_ufrag, leg->ufrag) == leg)
    g_hash_table_remove (S.by_ufrag, leg->ufrag);
  if (leg->fd >= 0)
    {
      epoll_ctl (S.ep, EPOLL_CTL_DEL, leg->fd, NULL);
      close (leg->fd);
      leg->fd = -1;
    }
  if (leg->early)
    g_ptr_array_set_size (leg->early, 0);
}

/* --- receiving --- */

/* Arrival time of message @k: the kernel's timestamp on CLOCK_MONOTONIC. */
static gint64
arrival_ns (int k, gint64 fallback)
{
  struct msghdr *h = &S.in[k].msg_hdr;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (h); c; c = CMSG_NXTHDR (h, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
      {
        struct timespec ts;
        memcpy (&ts, CMSG_DATA (c), sizeof ts);
        return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec - S.rt_offset;
      }
  return fallback;
}

/* Reads up to @rounds batches from @leg's socket. */
static void
drain_leg (LoadLeg *leg, int rounds)
{
  for (int round = 0; round < rounds && leg->fd >= 0; round++)
    {
      for (int k = 0; k < BATCH; k++)
        {
          S.in_iov[k] = (struct iovec) { S.in_buf[k], LOAD_BUFSZ };
          S.in[k] = (struct mmsghdr) { .msg_hdr = { .msg_name = &S.in_from[k],
                                                    .msg_namelen = sizeof S.in_from[k],
                                                    .msg_iov = &S.in_iov[k],
                                                    .msg_iovlen = 1,
                                                    .msg_control = S.in_ctl[k],
                                                    .msg_controllen = sizeof S.in_ctl[k] } };
        }
      int r = recvmmsg (leg->fd, S.in, BATCH, MSG_DONTWAIT, NULL);
      if (r <= 0)
        break;
      gint64 now = now_ns ();
      for (int k = 0; k < r && !leg->ended; k++)
        {
          guint8 *d = S.in_buf[k];
          gsize len = S.in[k].msg_len;
          gint64 t = arrival_ns (k, now);
          if (len == 0)
            continue;
          guint8 b = d[0];
          if (b <= 3)
            handle_stun (leg, &S.in_from[k], d, len);
          else if (b >= 20 && b <= 63)
            {
              load_leg_trace (leg, LOAD_TRACE_DTLS_IN);
              if (leg->dtls)
                {
                  if (!bf_media_dtls_receive (leg->dtls, d, len))
                    load_counters.dtls_dropped++;
                }
              else if (leg->early->len < 8)
                g_ptr_array_add (leg->early, g_bytes_new (d, len));
            }
          else if (b >= 128 && b <= 191)
            S.media (leg, d, len, t);
          else
            load_counters.unknown++;
        }
      if (r < BATCH)
        break;
    }
}

void
load_legs_drain (int passes, int rounds)
{
  struct epoll_event ev[256];
  for (int pass = 0; pass < passes; pass++)
    {
      int n = epoll_wait (S.ep, ev, G_N_ELEMENTS (ev), 0);
      for (int k = 0; k < n; k++)
        drain_leg (ev[k].data.ptr, rounds);
      if (n < (int) G_N_ELEMENTS (ev))
        break;
    }
}
