/* Not a test: the load side of tests/bench/bench_echo.py.  N RTP sessions
 * sending SRTP (172 B plain: 12 B header + 160 B payload) at a paced rate
 * (pps per session) or unpaced (pps 0), counting and verifying the echoes.
 *
 *   echo-load belfry      N sessions, each one BfMediaTransport (ICE
 *                         controlling + DTLS-SRTP), all on one media worker;
 *                         signalling by text lines (Python does Jingle):
 *       in:  new I | I remote-credentials U P | I remote-dtls SETUP HASH FP |
 *            I candidate F C TYPE IP PORT PRIO | I end-of-candidates |
 *            I probe SSRC ECHO_SSRC  (50 pps until the first echo) |
 *            I stream SSRC ECHO_SSRC (50 pps until I end; first-echo too) |
 *            I end close|drop  (close: DTLS close_notify first, as a WebRTC
 *                               peer hangs up; drop: vanish, no packet) |
 *            run PPS SECONDS WARMUP [N: the first N sessions] | quit
 *       out: I credentials U P | I fingerprint H FP | I candidate ... |
 *            I gathering-done | I dtls-connected PROFILE | I failed ... |
 *            I first-echo T_US (CLOCK_MONOTONIC) | window-start | window-end K=V... |
 *            I ended sent=N received=N verified=N bad=N
 * tests/soak/test_soak.py starts and ends sessions all along (stream, end);
 * an ended session's index is not reused.
 *   echo-load raw PORT N PPS SECONDS WARMUP PROFILE
 *                         the same load against tests/bench/srtp-forwarder on
 *                         127.0.0.1:PORT: one UDP socket per session, fixed
 *                         per-session keys (see bench_keys), SSRC 0x10000000+I
 *                         out, 0x20000000+I expected back.
 *
 * Each packet is protected with a fresh sequence number (replay protection
 * stays on); every echo is unprotected with the echo leg's key and its SSRC,
 * payload type and session tag are checked; every 16th echo's payload is
 * compared byte for byte with what was sent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>
#include <gio/gio.h>

#include "dtls-cert.h"
#include "load-leg.h"           /* say () */
#include "media-config.h"
#include "srtp-session.h"
#include "transport.h"
#include "worker.h"

#define PAYLOAD 160
#define PT 111
#define MAX_SESSIONS 16384

typedef struct Load Load;

typedef struct {
  Load *load;
  guint index;
  guint32 ssrc, echo_ssrc;         /* echo_ssrc 0: learn from the first echo */
  guint16 seq;
  guint32 counter;
  BfMediaTransport *t;             /* belfry mode */
  int fd;                          /* raw mode */
  BfMediaSrtp *srtp;               /* raw mode */
  gboolean probing, streaming;
  guint probe_source;
  gboolean keyed;
  guint64 sent, received, verified, bad;
} Session;

struct Load {
  gboolean raw;
  BfMediaWorker *worker;
  GMainContext *context;
  BfMediaCert *cert;
  BfMediaConfig config;
  Session *sessions[MAX_SESSIONS];
  guint n, n_active;
  GMainLoop *main_loop;
  /* run */
  gboolean running, measuring;
  double pps;                      /* per session; 0 = unpaced */
  gint64 run_start, window_start, window_end;
  guint64 due_sent;
  guint rr;
  guint64 w_sent, w_received, w_verified, w_bad;
  GMainLoop *raw_loop;
};

static gboolean
print_line (gpointer data)
{
  say ("%s", (const char *) data);
  return G_SOURCE_REMOVE;
}

static void
post_line (Load *l, char *line)
{
  if (l->raw)
    {
      say ("%s", line);
      g_free (line);
    }
  else
    g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, print_line, line, g_free);
}

/* Deterministic payload: session tag, counter, then a pattern. */
static void
fill_payload (guint8 *p, guint index, guint32 counter)
{
  p[0] = index >> 8;
  p[1] = index;
  p[2] = counter >> 24;
  p[3] = counter >> 16;
  p[4] = counter >> 8;
  p[5] = counter;
  for (guint j = 6; j < PAYLOAD; j++)
    p[j] = (guint8) (counter * 7 + j + index);
}

static gsize
build_packet (Session *s, guint8 *buf)
{
  buf[0] = 0x80;
  buf[1] = PT;
  buf[2] = s->seq >> 8;
  buf[3] = s->seq;
  guint32 ts = s->counter * 960;
  buf[4] = ts >> 24;
  buf[5] = ts >> 16;
  buf[6] = ts >> 8;
  buf[7] = ts;
  buf[8] = s->ssrc >> 24;
  buf[9] = s->ssrc >> 16;
  buf[10] = s->ssrc >> 8;
  buf[11] = s->ssrc;
  fill_payload (buf + 12, s->index, s->counter);
  s->seq++;
  s->counter++;
  return 12 + PAYLOAD;
}

static void
send_one (Session *s)
{
  guint8 buf[12 + PAYLOAD + BF_MEDIA_SRTP_OVERHEAD];
  gsize n = build_packet (s, buf);
  gboolean ok;
  if (s->load->raw)
    {
      ok = bf_media_srtp_protect (s->srtp, FALSE, buf, &n, sizeof buf) == BF_MEDIA_SRTP_OK
           && send (s->fd, buf, n, MSG_DONTWAIT) == (ssize_t) n;
    }
  else if (s->t == NULL)
    return;                                            /* ended */
  else
    ok = bf_media_transport_send_rtp (s->t, buf, n);   /* protects a copy */
  if (ok)
    {
      s->sent++;
      if (s->load->measuring)
        s->load->w_sent++;
    }
}

/* A plain echoed RTP packet. */
static void
check_echo (Session *s, const guint8 *d, gsize len)
{
  Load *l = s->load;
  gboolean ok = len == 12 + PAYLOAD && (d[0] & 0xc0) == 0x80 && (d[1] & 0x7f) == PT;
  guint32 ssrc = len >= 12 ? (guint32) d[8] << 24 | d[9] << 16 | d[10] << 8 | d[11] : 0;
  if (ok && s->echo_ssrc == 0 && ssrc != s->ssrc)
    s->echo_ssrc = ssrc;
  ok = ok && ssrc == s->echo_ssrc && ssrc != s->ssrc
       && ((guint) d[12] << 8 | d[13]) == (s->index & 0xffff);
  guint32 counter = ok ? (guint32) d[14] << 24 | d[15] << 16 | d[16] << 8 | d[17] : 0;
  gboolean verified = FALSE;
  if (ok && (counter & 15) == 0)
    {
      guint8 want[PAYLOAD];
      fill_payload (want, s->index, counter);
      ok = memcmp (want, d + 12, PAYLOAD) == 0;
      verified = ok;
    }
  if (!ok)
    {
      s->bad++;
      if (l->measuring)
        l->w_bad++;
      return;
    }
  s->received++;
  s->verified += verified;
  if (l->measuring)
    {
      l->w_received++;
      l->w_verified += verified;
    }
  if (s->probing)
    {
      s->probing = FALSE;
      post_line (l, g_strdup_printf ("%u first-echo %" G_GINT64_FORMAT, s->index,
                                     g_get_monotonic_time ()));
    }
}

/* --- the load loop (on the worker in belfry mode, main thread in raw) --- */

static gboolean
run_tick (gpointer data)
{
  Load *l = data;
  gint64 now = g_get_monotonic_time ();
  if (!l->measuring && l->window_start && now >= l->window_start)
    {
      l->measuring = TRUE;
      post_line (l, g_strdup ("window-start"));
    }
  if (now >= l->window_end)
    {
      l->measuring = FALSE;
      l->running = FALSE;
      guint64 sent = 0, recv = 0, bad = 0, ver = 0;
      for (guint i = 0; i < l->n; i++)
        {
          sent += l->sessions[i]->sent;
          recv += l->sessions[i]->received;
          bad += l->sessions[i]->bad;
          ver += l->sessions[i]->verified;
        }
      post_line (l, g_strdup_printf (
          "window-end seconds=%.3f sent=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT
          " verified=%" G_GUINT64_FORMAT " bad=%" G_GUINT64_FORMAT " total_sent=%" G_GUINT64_FORMAT
          " total_received=%" G_GUINT64_FORMAT " total_verified=%" G_GUINT64_FORMAT
          " total_bad=%" G_GUINT64_FORMAT,
          (now - (l->window_start)) / 1e6, l->w_sent, l->w_received, l->w_verified, l->w_bad,
          sent, recv, ver, bad));
      if (l->raw_loop)
        g_main_loop_quit (l->raw_loop);
      return G_SOURCE_REMOVE;
    }
  guint burst;
  if (l->pps > 0)
    {
      guint64 due = (guint64) ((now - l->run_start) / 1e6 * l->pps * l->n_active);
      burst = due > l->due_sent ? (guint) MIN (due - l->due_sent, 4096) : 0;
      l->due_sent = MAX (due, l->due_sent);
    }
  else
    burst = 32;
  for (guint k = 0; k < burst; k++)
    {
      send_one (l->sessions[l->rr]);
      l->rr = (l->rr + 1) % l->n_active;
    }
  return G_SOURCE_CONTINUE;
}

static void
start_run (Load *l, double pps, double seconds, double warmup, guint n_active)
{
  l->pps = pps;
  l->n_active = n_active == 0 || n_active > l->n ? l->n : n_active;
  l->due_sent = 0;
  l->rr = 0;
  l->w_sent = l->w_received = l->w_verified = l->w_bad = 0;
  l->running = TRUE;
  l->run_start = g_get_monotonic_time ();
  l->window_start = l->run_start + (gint64) (warmup * 1e6);
  l->window_end = l->window_start + (gint64) (seconds * 1e6);
  GSource *src;
  if (pps > 0)
    src = g_timeout_source_new (1);
  else
    {
      /* Unpaced: send whenever nothing else (receiving) is ready. */
      src = g_idle_source_new ();
      g_source_set_priority (src, G_PRIORITY_DEFAULT_IDLE);
    }
  g_source_set_callback (src, run_tick, l, NULL);
  g_source_attach (src, l->context);
  g_source_unref (src);
}

/* --- belfry mode --- */

static void
on_event (BfMediaTransport *t, const BfMediaEvent *ev, gpointer user_data)
{
  Session *s = user_data;
  Load *l = s->load;
  switch (ev->type)
    {
    case BF_MEDIA_EVENT_LOCAL_CANDIDATE:
      post_line (l, g_strdup_printf ("%u candidate %s %u %s %s %u %u", s->index,
                                     ev->candidate->foundation, ev->candidate->component,
                                     bf_jingle_candidate_type_to_string (ev->candidate->type),
                                     ev->candidate->ip, ev->candidate->port,
                                     ev->candidate->priority));
      break;
    case BF_MEDIA_EVENT_GATHERING_DONE:
      post_line (l, g_strdup_printf ("%u gathering-done", s->index));
      break;
    case BF_MEDIA_EVENT_ICE_CONNECTED:
      break;
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
      s->keyed = TRUE;
      post_line (l, g_strdup_printf ("%u dtls-connected %s", s->index,
                                     bf_media_srtp_profile_name (ev->profile)));
      break;
    case BF_MEDIA_EVENT_ICE_FAILED:
    case BF_MEDIA_EVENT_DTLS_FAILED:
      post_line (l, g_strdup_printf ("%u failed %s %d %s", s->index,
                                     ev->type == BF_MEDIA_EVENT_ICE_FAILED ? "ice" : "dtls",
                                     ev->error->code, ev->error->message));
      break;
    }
}

static void
on_rtp (BfMediaTransport *t, gboolean is_rtcp, guint8 *data, gsize len, gpointer user_data)
{
  if (!is_rtcp)
    check_echo (user_data, data, len);
}

static gboolean
probe_tick (gpointer data)
{
  Session *s = data;
  if (!s->probing && !s->streaming)
    {
      s->probe_source = 0;
      return G_SOURCE_REMOVE;
    }
  if (s->keyed)
    send_one (s);
  return G_SOURCE_CONTINUE;
}

typedef struct {
  Load *load;
  char **argv;
} Command;

static void
command_free (gpointer data)
{
  Command *c = data;
  g_strfreev (c->argv);
  g_free (c);
}

static void
run_command (gpointer data)
{
  Command *c = data;
  Load *l = c->load;
  char **a = c->argv;
  guint n = g_strv_length (a);
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;

  if (n >= 2 && strcmp (a[0], "new") == 0)
    {
      guint i = (guint) g_ascii_strtoull (a[1], NULL, 10);
      if (i != l->n || i >= MAX_SESSIONS)
        {
          post_line (l, g_strdup_printf ("%u error bad index", i));
          return;
        }
      Session *s = g_new0 (Session, 1);
      s->load = l;
      s->index = i;
      s->ssrc = 0x10000000u + i;
      s->seq = (guint16) g_random_int ();
      s->fd = -1;
      l->sessions[l->n++] = s;
      s->t = bf_media_transport_new (l->worker, &l->config, l->cert, TRUE, on_event, on_rtp, s,
                                     &error);
      if (s->t == NULL)
        {
          post_line (l, g_strdup_printf ("%u error %s", i, error->message));
          return;
        }
      char *ufrag, *pwd;
      bf_media_transport_get_local_credentials (s->t, &ufrag, &pwd);
      post_line (l, g_strdup_printf ("%u credentials %s %s", i, ufrag, pwd));
      post_line (l, g_strdup_printf ("%u fingerprint %s %s", i,
                                     bf_media_cert_get_fingerprint_hash (l->cert),
                                     bf_media_cert_get_fingerprint (l->cert)));
      g_free (ufrag);
      g_free (pwd);
      if (!bf_media_transport_gather (s->t, &error))
        post_line (l, g_strdup_printf ("%u error %s", i, error->message));
      return;
    }
  if (n >= 4 && strcmp (a[0], "run") == 0)
    {
      start_run (l, g_ascii_strtod (a[1], NULL), g_ascii_strtod (a[2], NULL),
                 g_ascii_strtod (a[3], NULL), n >= 5 ? (guint) atoi (a[4]) : 0);
      return;
    }
  guint i = n >= 2 ? (guint) g_ascii_strtoull (a[0], NULL, 10) : G_MAXUINT;
  if (i >= l->n || l->sessions[i]->t == NULL)
    {
      post_line (l, g_strdup_printf ("error bad command %s", n ? a[0] : ""));
      return;
    }
  Session *s = l->sessions[i];
  a++;
  n--;
  if (strcmp (a[0], "remote-credentials") == 0 && n == 3)
    ok = bf_media_transport_set_remote_credentials (s->t, a[1], a[2], &error);
  else if (strcmp (a[0], "remote-dtls") == 0 && n == 4)
    {
      BfMediaDtlsSetup setup = strcmp (a[1], "active") == 0 ? BF_MEDIA_DTLS_SETUP_ACTIVE
                               : strcmp (a[1], "passive") == 0 ? BF_MEDIA_DTLS_SETUP_PASSIVE
                               : BF_MEDIA_DTLS_SETUP_UNKNOWN;
      ok = bf_media_transport_set_dtls (s->t, setup, a[2], a[3], &error);
    }
  else if (strcmp (a[0], "candidate") == 0 && n >= 7)
    {
      BfJingleCandidate cand;
      bf_jingle_candidate_init (&cand);
      if (!bf_jingle_candidate_type_from_string (a[3], &cand.type))
        cand.type = BF_JINGLE_CANDIDATE_HOST;
      g_strlcpy (cand.foundation, a[1], sizeof cand.foundation);
      cand.component = (guint) g_ascii_strtoull (a[2], NULL, 10);
      g_strlcpy (cand.ip, a[4], sizeof cand.ip);
      cand.port = (guint16) g_ascii_strtoull (a[5], NULL, 10);
      cand.priority = (guint32) g_ascii_strtoull (a[6], NULL, 10);
      ok = bf_media_transport_add_remote_candidate (s->t, &cand, &error);
    }
  else if (strcmp (a[0], "end-of-candidates") == 0)
    bf_media_transport_remote_gathering_done (s->t);
  else if ((strcmp (a[0], "probe") == 0 || strcmp (a[0], "stream") == 0) && n == 3)
    {
      s->ssrc = (guint32) g_ascii_strtoull (a[1], NULL, 0);
      s->echo_ssrc = (guint32) g_ascii_strtoull (a[2], NULL, 0);
      s->probing = TRUE;
      s->streaming = strcmp (a[0], "stream") == 0;
      if (s->probe_source == 0)
        {
          GSource *src = g_timeout_source_new (20);
          g_source_set_callback (src, probe_tick, s, NULL);
          s->probe_source = g_source_attach (src, l->context);
          g_source_unref (src);
        }
    }
  else if (strcmp (a[0], "end") == 0 && n == 2)
    {
      s->probing = s->streaming = FALSE;
      if (s->probe_source)
        g_source_destroy (g_main_context_find_source_by_id (l->context, s->probe_source));
      s->probe_source = 0;
      if (strcmp (a[1], "close") == 0)
        bf_media_transport_close (s->t);
      g_clear_pointer (&s->t, bf_media_transport_free);
      post_line (l, g_strdup_printf ("%u ended sent=%" G_GUINT64_FORMAT " received=%"
                                     G_GUINT64_FORMAT " verified=%" G_GUINT64_FORMAT " bad=%"
                                     G_GUINT64_FORMAT, i, s->sent, s->received, s->verified,
                                     s->bad));
    }
  else
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown command %s", a[0]);
  if (!ok || error)
    post_line (l, g_strdup_printf ("%u error %s", i, error ? error->message : "refused"));
}

static void
destroy_all (gpointer data)
{
  Load *l = data;
  for (guint i = 0; i < l->n; i++)
    if (l->sessions[i]->t)
      {
        bf_media_transport_free (l->sessions[i]->t);
        l->sessions[i]->t = NULL;
      }
}

static gboolean
on_stdin (GIOChannel *ch, GIOCondition cond, gpointer data)
{
  Load *l = data;
  g_autofree char *line = NULL;
  gsize len;
  GIOStatus st = g_io_channel_read_line (ch, &line, &len, NULL, NULL);
  if (st == G_IO_STATUS_AGAIN)
    return G_SOURCE_CONTINUE;
  if (st != G_IO_STATUS_NORMAL || (line && g_str_has_prefix (line, "quit")))
    {
      g_main_loop_quit (l->main_loop);
      return G_SOURCE_REMOVE;
    }
  g_strstrip (line);
  if (*line == '\0')
    return G_SOURCE_CONTINUE;
  Command *c = g_new0 (Command, 1);
  c->load = l;
  c->argv = g_strsplit_set (line, " ", -1);
  bf_media_worker_invoke (l->worker, run_command, c, command_free);
  return G_SOURCE_CONTINUE;
}

static int
belfry_mode (void)
{
  Load *l = g_new0 (Load, 1);
  g_autoptr (GError) error = NULL;
  bf_media_config_init (&l->config);
  g_strfreev (l->config.addresses);
  l->config.addresses = g_strsplit ("127.0.0.1", ",", -1);
  l->config.srtp_profiles[0] = BF_MEDIA_SRTP_AEAD_AES_128_GCM;
  l->config.srtp_profiles[1] = BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
  l->config.n_srtp_profiles = 2;
  const char *prof = g_getenv ("ECHO_LOAD_PROFILES");   /* "AES_CM": only that */
  if (prof && g_ascii_strcasecmp (prof, "AES_CM") == 0)
    {
      l->config.srtp_profiles[0] = BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
      l->config.n_srtp_profiles = 1;
    }
  l->cert = bf_media_cert_new (0, &error);
  g_assert_no_error (error);
  l->worker = bf_media_worker_new ("echo-load", &error);
  g_assert_no_error (error);
  bf_media_worker_acquire (l->worker);
  l->context = bf_media_worker_get_context (l->worker);
  l->main_loop = g_main_loop_new (NULL, FALSE);
  GIOChannel *in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, l);
  g_main_loop_run (l->main_loop);
  bf_media_worker_invoke (l->worker, destroy_all, l, NULL);
  bf_media_worker_release (l->worker);
  bf_media_worker_free (l->worker);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_io_channel_unref (in);
  return 0;
}

/* --- raw mode --- */

/* Session I's keys: leg A (load -> forwarder) and leg B (forwarder -> load),
 * different per leg and per session.  srtp-forwarder.c has the same. */
static void
bench_keys (guint i, guint leg, guint8 key[16], guint8 salt[14])
{
  for (guint j = 0; j < 16; j++)
    key[j] = (guint8) (i * 131 + leg * 71 + j * 13 + 1);
  for (guint j = 0; j < 14; j++)
    salt[j] = (guint8) (i * 37 + leg * 53 + j * 7 + 3);
}

static gboolean
raw_readable (gint fd, GIOCondition cond, gpointer data)
{
  Session *s = data;
  guint8 buf[2048];
  for (guint k = 0; k < 64; k++)
    {
      ssize_t r = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0)
        break;
      gsize n = (gsize) r;
      if (bf_media_srtp_unprotect (s->srtp, FALSE, buf, &n) != BF_MEDIA_SRTP_OK)
        {
          s->bad++;
          if (s->load->measuring)
            s->load->w_bad++;
          continue;
        }
      check_echo (s, buf, n);
    }
  return G_SOURCE_CONTINUE;
}

static int
raw_mode (int argc, char **argv)
{
  if (argc < 8)
    {
      g_printerr ("usage: echo-load raw PORT N PPS SECONDS WARMUP GCM|AES_CM\n");
      return 2;
    }
  Load *l = g_new0 (Load, 1);
  l->raw = TRUE;
  l->context = g_main_context_default ();
  guint port = (guint) atoi (argv[2]), n = (guint) atoi (argv[3]);
  BfMediaSrtpProfile profile = g_ascii_strcasecmp (argv[7], "GCM") == 0
                               ? BF_MEDIA_SRTP_AEAD_AES_128_GCM
                               : BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
  g_autoptr (GError) error = NULL;
  if (!bf_media_srtp_library_init (&error))
    g_error ("%s", error->message);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port) };
  inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
  for (guint i = 0; i < n && i < MAX_SESSIONS; i++)
    {
      Session *s = g_new0 (Session, 1);
      s->load = l;
      s->index = i;
      s->ssrc = 0x10000000u + i;
      s->echo_ssrc = 0x20000000u + i;
      s->seq = (guint16) g_random_int ();
      guint8 ka[16], sa[14], kb[16], sb[14];
      bench_keys (i, 0, ka, sa);
      bench_keys (i, 1, kb, sb);
      s->srtp = bf_media_srtp_new (profile, ka, sa, kb, sb, 8, &error);
      g_assert_no_error (error);
      s->fd = socket (AF_INET, SOCK_DGRAM, 0);
      if (s->fd < 0 || connect (s->fd, (struct sockaddr *) &to, sizeof to) < 0)
        g_error ("socket: %s", g_strerror (errno));
      g_unix_fd_add (s->fd, G_IO_IN, raw_readable, s);
      l->sessions[l->n++] = s;
    }
  l->raw_loop = g_main_loop_new (NULL, FALSE);
  start_run (l, g_ascii_strtod (argv[4], NULL), g_ascii_strtod (argv[5], NULL),
             g_ascii_strtod (argv[6], NULL), 0);
  g_main_loop_run (l->raw_loop);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "raw") == 0)
    return raw_mode (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "belfry") == 0)
    return belfry_mode ();
  g_printerr ("usage: echo-load belfry | echo-load raw PORT N PPS SECONDS WARMUP GCM|AES_CM\n");
  return 2;
}
