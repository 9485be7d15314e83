/* Media transport tests: two BfMediaTransports in one process, on two
 * workers, exchanging credentials, candidates and fingerprints in memory
 * the way the signalling thread will (events go to the main thread, which
 * posts to the other worker).  ICE, DTLS and SRTP are real, on 127.0.0.1,
 * inside a private network namespace (this test re-execs itself under
 * `unshare -n` with only lo up), so no other interface is ever a target. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>

#include "dtls-cert.h"
#include "ice-consent.h"
#include "media-config.h"
#include "transport.h"
#include "worker.h"

#define NETNS_ENV "BF_MEDIA_TEST_NETNS"
#define N_RTP 1000
#define N_RTCP 100
#define RTP_PAYLOAD 160

/* --- the private network namespace --- */

static void
enter_private_netns (int argc, char **argv)
{
  if (g_getenv (NETNS_ENV) == NULL)
    {
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      if (self == NULL)
        {
          g_printerr ("cannot find my own executable\n");
          exit (1);
        }
      g_setenv (NETNS_ENV, "1", TRUE);
      GPtrArray *args = g_ptr_array_new ();
      g_ptr_array_add (args, (char *) "unshare");
      g_ptr_array_add (args, (char *) "-n");
      g_ptr_array_add (args, (char *) "--");
      g_ptr_array_add (args, (char *) "sh");
      g_ptr_array_add (args, (char *) "-c");
      g_ptr_array_add (args, (char *) "ip link set lo up && exec \"$0\" \"$@\"");
      g_ptr_array_add (args, self);
      for (int i = 1; i < argc; i++)
        g_ptr_array_add (args, argv[i]);
      g_ptr_array_add (args, NULL);
      execvp ("unshare", (char **) args->pdata);
      g_printerr ("cannot run unshare -n (needs root and util-linux): %s\n", g_strerror (errno));
      exit (1);
    }
  /* Inside: lo must be the only interface, or this is not what we think. */
  struct if_nameindex *ifs = if_nameindex ();
  for (struct if_nameindex *i = ifs; i && i->if_index != 0; i++)
    if (strcmp (i->if_name, "lo") != 0)
      {
        g_printerr ("interface %s present: not in a private network namespace\n", i->if_name);
        exit (1);
      }
  if_freenameindex (ifs);
}

/* --- running on a worker and waiting --- */

typedef struct {
  BfMediaWorkerFunc func;
  gpointer data;
  GMutex lock;
  GCond cond;
  gboolean done;
} Sync;

static void
sync_run (gpointer p)
{
  Sync *s = p;
  s->func (s->data);
  g_mutex_lock (&s->lock);
  s->done = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
}

static void
run_on (BfMediaWorker *w, BfMediaWorkerFunc func, gpointer data)
{
  Sync s = { .func = func, .data = data };
  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);
  bf_media_worker_invoke (w, sync_run, &s, NULL);
  g_mutex_lock (&s.lock);
  while (!s.done)
    g_cond_wait (&s.cond, &s.lock);
  g_mutex_unlock (&s.lock);
  g_mutex_clear (&s.lock);
  g_cond_clear (&s.cond);
}

static void nop (gpointer data) { }

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*Cond) (gpointer data);

/* Iterates the main (signalling) context until @cond or @timeout_ms. */
static gboolean
wait_until (Cond cond, gpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint id = g_timeout_add (2, tick, NULL);
  gboolean ok;
  while (!(ok = cond (data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return ok;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

static void
sleep_main (guint ms)
{
  wait_until (never, NULL, ms);
}

/* --- one side --- */

typedef struct _Peer Peer;
struct _Peer {
  const char *name;
  BfMediaWorker *worker;
  BfMediaCert *cert;                /* its "process's" certificate */
  BfMediaConfig config;
  gboolean controlling;
  BfMediaDtlsSetup setup;
  char *told_fingerprint;           /* what it is told the other's is (NULL: the truth) */
  guint32 ssrc;
  Peer *other;
  /* Relay tests (worker thread): what arrives is sent on relay_to's
   * transport from inside the receive callback; with echo it is checked,
   * given this peer's SSRC and sent back on its own transport. */
  Peer *relay_to;
  gboolean echo;

  /* worker thread */
  BfMediaTransport *t;
  char *ufrag, *pwd;
  guint8 seen[65536 / 8];
  guint16 next_seq;
  guint32 rtcp_count;
  guint rtp_left, rtcp_left;
  GSource *sender;
  GQueue raw;                        /* GBytes* to send as they are */
  GSource *raw_sender;

  /* written on the worker, read on main */
  gint rtp_rx, rtcp_rx, bad_rx;
  gint out_of_order;                 /* RTP whose seq is not last + 1 */
  guint16 last_seq;

  /* main thread (events) */
  gboolean gathering_done, ice_connected, dtls_connected, ice_failed, dtls_failed;
  gint64 ice_at, dtls_at, failed_at;
  BfMediaSrtpProfile profile;
  GError *error;
  guint n_candidates;
  BfJingleCandidate cands[8];         /* the first ones gathered, for a restart */
};

static BfMediaPool *pool;
static BfMediaCert *cert_a, *cert_b, *cert_other;
static guint consent_timeout_ms = 10000;   /* the vanishing-peer figures below */

static void
base_config (BfMediaConfig *c)
{
  bf_media_config_init (c);
  g_strfreev (c->addresses);
  c->addresses = g_strsplit ("127.0.0.1", ";", -1);
  c->dtls_timeout_ms = 5000;
  c->consent_timeout_ms = consent_timeout_ms;
}

/* On @worker (NULL: the least loaded). */
static Peer *
peer_new_on (BfMediaWorker *worker, const char *name, BfMediaCert *cert, gboolean controlling,
             BfMediaDtlsSetup setup, guint32 ssrc)
{
  Peer *p = g_new0 (Peer, 1);
  p->name = name;
  if (worker)
    bf_media_worker_acquire (worker);
  p->worker = worker ? worker : bf_media_pool_acquire (pool);
  p->cert = cert;
  p->controlling = controlling;
  p->setup = setup;
  p->ssrc = ssrc;
  p->next_seq = 1;
  base_config (&p->config);
  g_queue_init (&p->raw);
  return p;
}

static Peer *
peer_new (const char *name, BfMediaCert *cert, gboolean controlling, BfMediaDtlsSetup setup,
          guint32 ssrc)
{
  return peer_new_on (NULL, name, cert, controlling, setup, ssrc);
}

typedef struct {
  Peer *peer;
  BfMediaEventType type;
  BfJingleCandidate candidate;
  BfMediaSrtpProfile profile;
  GError *error;
  gint64 at;
} EventMsg;

typedef struct {
  Peer *to;
  BfJingleCandidate candidate;
  gboolean done;
} Forward;

static void
forward_candidate (gpointer data)
{
  Forward *f = data;
  if (f->to->t == NULL)
    return;
  if (f->done)
    {
      bf_media_transport_remote_gathering_done (f->to->t);
      return;
    }
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_add_remote_candidate (f->to->t, &f->candidate, &error));
  g_assert_no_error (error);
}

/* On the main thread: what the signalling side does with an event. */
static gboolean
handle_event (gpointer data)
{
  EventMsg *m = data;
  Peer *p = m->peer;
  switch (m->type)
    {
    case BF_MEDIA_EVENT_LOCAL_CANDIDATE:
      {
        if (p->n_candidates < G_N_ELEMENTS (p->cands))
          p->cands[p->n_candidates] = m->candidate;
        p->n_candidates++;
        Forward *f = g_new0 (Forward, 1);
        f->to = p->other;
        f->candidate = m->candidate;
        bf_media_worker_invoke (p->other->worker, forward_candidate, f, g_free);
        break;
      }
    case BF_MEDIA_EVENT_GATHERING_DONE:
      {
        p->gathering_done = TRUE;
        Forward *f = g_new0 (Forward, 1);
        f->to = p->other;
        f->done = TRUE;
        bf_media_worker_invoke (p->other->worker, forward_candidate, f, g_free);
        break;
      }
    case BF_MEDIA_EVENT_ICE_CONNECTED:
      p->ice_connected = TRUE;
      p->ice_at = m->at;
      break;
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
      p->dtls_connected = TRUE;
      p->dtls_at = m->at;
      p->profile = m->profile;
      break;
    case BF_MEDIA_EVENT_ICE_FAILED:
    case BF_MEDIA_EVENT_DTLS_FAILED:
      if (m->type == BF_MEDIA_EVENT_ICE_FAILED)
        p->ice_failed = TRUE;
      else
        p->dtls_failed = TRUE;
      p->failed_at = m->at;
      g_test_message ("%s: %s failed: %s", p->name,
                      m->type == BF_MEDIA_EVENT_ICE_FAILED ? "ICE" : "DTLS", m->error->message);
      if (p->error == NULL)
        p->error = g_steal_pointer (&m->error);
      break;
    }
  return G_SOURCE_REMOVE;
}

static void
event_msg_free (gpointer data)
{
  EventMsg *m = data;
  g_clear_error (&m->error);
  g_free (m);
}

/* On the worker: forward to the signalling (main) thread. */
static void
on_event (BfMediaTransport *t, const BfMediaEvent *ev, gpointer user_data)
{
  Peer *p = user_data;
  g_assert_true (bf_media_worker_is_current (p->worker));
  EventMsg *m = g_new0 (EventMsg, 1);
  m->peer = p;
  m->type = ev->type;
  m->at = g_get_monotonic_time ();
  if (ev->candidate)
    m->candidate = *ev->candidate;
  m->profile = ev->profile;
  if (ev->error)
    m->error = g_error_copy (ev->error);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, handle_event, m, event_msg_free);
}

static guint8
payload_byte (guint16 seq, gsize i)
{
  return (guint8) (seq * 7 + i);
}

/* On the worker: check what arrived. */
static void
on_rtp (BfMediaTransport *t, gboolean is_rtcp, guint8 *data, gsize len, gpointer user_data)
{
  Peer *p = user_data;
  guint32 want = p->other->ssrc;
  if (p->relay_to)
    {
      /* The relay hop: sent on from inside the receive callback (with
       * direct I/O, into the worker's send queue). */
      if (p->relay_to->t == NULL)
        return;
      gboolean ok = is_rtcp ? bf_media_transport_send_rtcp (p->relay_to->t, data, len)
                            : bf_media_transport_send_rtp (p->relay_to->t, data, len);
      if (!ok)
        g_atomic_int_inc (&p->bad_rx);
      return;
    }
  if (is_rtcp)
    {
      guint32 ssrc = (guint32) data[4] << 24 | (guint32) data[5] << 16 | (guint32) data[6] << 8 | data[7];
      guint32 count = (guint32) data[12] << 24 | (guint32) data[13] << 16 | (guint32) data[14] << 8 | data[15];
      guint32 inv = (guint32) data[16] << 24 | (guint32) data[17] << 16 | (guint32) data[18] << 8 | data[19];
      if (len == 20 && data[1] == 204 && ssrc == want && memcmp (data + 8, "bfts", 4) == 0
          && inv == ~count)
        {
          g_atomic_int_inc (&p->rtcp_rx);
          if (p->echo)
            {
              data[4] = p->ssrc >> 24; data[5] = p->ssrc >> 16;
              data[6] = p->ssrc >> 8; data[7] = p->ssrc;
              if (!bf_media_transport_send_rtcp (p->t, data, len))
                g_atomic_int_inc (&p->bad_rx);
            }
        }
      else
        g_atomic_int_inc (&p->bad_rx);
      return;
    }
  guint16 seq = (guint16) (data[2] << 8 | data[3]);
  guint32 ssrc = (guint32) data[8] << 24 | (guint32) data[9] << 16 | (guint32) data[10] << 8 | data[11];
  gboolean ok = len == 12 + RTP_PAYLOAD && ssrc == want && (data[1] & 0x7f) == 96
                && !(p->seen[seq / 8] & (1 << (seq % 8)));
  for (gsize i = 0; ok && i < RTP_PAYLOAD; i++)
    ok = data[12 + i] == payload_byte (seq, i);
  if (ok)
    {
      p->seen[seq / 8] |= (guint8) (1 << (seq % 8));
      if (g_atomic_int_get (&p->rtp_rx) > 0 && seq != (guint16) (p->last_seq + 1))
        g_atomic_int_inc (&p->out_of_order);
      p->last_seq = seq;
      g_atomic_int_inc (&p->rtp_rx);
      if (p->echo)
        {
          data[8] = p->ssrc >> 24; data[9] = p->ssrc >> 16;
          data[10] = p->ssrc >> 8; data[11] = p->ssrc;
          if (!bf_media_transport_send_rtp (p->t, data, len))
            g_atomic_int_inc (&p->bad_rx);
        }
    }
  else
    g_atomic_int_inc (&p->bad_rx);
}

static gsize
build_rtp (Peer *p, guint8 *buf)
{
  guint16 seq = p->next_seq++;
  guint32 ts = (guint32) seq * 960;
  buf[0] = 0x80;
  buf[1] = 96 | (seq % 50 == 0 ? 0x80 : 0);
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  buf[4] = ts >> 24; buf[5] = ts >> 16; buf[6] = ts >> 8; buf[7] = ts;
  buf[8] = p->ssrc >> 24; buf[9] = p->ssrc >> 16; buf[10] = p->ssrc >> 8; buf[11] = p->ssrc;
  for (gsize i = 0; i < RTP_PAYLOAD; i++)
    buf[12 + i] = payload_byte (seq, i);
  return 12 + RTP_PAYLOAD;
}

static gsize
build_rtcp_app (Peer *p, guint8 *buf)
{
  guint32 c = p->rtcp_count++, inv = ~c;
  buf[0] = 0x80;
  buf[1] = 204;            /* APP, RFC 3550 §6.7 */
  buf[2] = 0;
  buf[3] = 4;              /* 5 words - 1 */
  buf[4] = p->ssrc >> 24; buf[5] = p->ssrc >> 16; buf[6] = p->ssrc >> 8; buf[7] = p->ssrc;
  memcpy (buf + 8, "bfts", 4);
  buf[12] = c >> 24; buf[13] = c >> 16; buf[14] = c >> 8; buf[15] = c;
  buf[16] = inv >> 24; buf[17] = inv >> 16; buf[18] = inv >> 8; buf[19] = inv;
  return 20;
}

/* Paced: 10 RTP (+ 1 RTCP) per millisecond, so the receiver's socket
 * buffer never overflows on loopback. */
static gboolean
send_tick (gpointer data)
{
  Peer *p = data;
  guint8 buf[256];
  for (guint i = 0; i < 10 && p->rtp_left > 0; i++)
    {
      gsize n = build_rtp (p, buf);
      g_assert_true (bf_media_transport_send_rtp (p->t, buf, n));
      p->rtp_left--;
    }
  if (p->rtcp_left > 0)
    {
      gsize n = build_rtcp_app (p, buf);
      g_assert_true (bf_media_transport_send_rtcp (p->t, buf, n));
      p->rtcp_left--;
    }
  if (p->rtp_left == 0 && p->rtcp_left == 0)
    {
      g_clear_pointer (&p->sender, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

typedef struct {
  Peer *peer;
  guint rtp, rtcp;
} SendJob;

static void
start_sending_job (gpointer data)
{
  SendJob *j = data;
  Peer *p = j->peer;
  g_assert_null (p->sender);
  p->rtp_left = j->rtp;
  p->rtcp_left = j->rtcp;
  p->sender = g_timeout_source_new (1);
  g_source_set_callback (p->sender, send_tick, p, NULL);
  g_source_attach (p->sender, bf_media_worker_get_context (p->worker));
}

static void
start_sending (Peer *p, guint rtp, guint rtcp)
{
  SendJob j = { p, rtp, rtcp };
  run_on (p->worker, start_sending_job, &j);
}

static gboolean
raw_tick (gpointer data)
{
  Peer *p = data;
  for (guint i = 0; i < 20; i++)
    {
      GBytes *b = g_queue_pop_head (&p->raw);
      if (b == NULL)
        {
          g_clear_pointer (&p->raw_sender, g_source_unref);
          return G_SOURCE_REMOVE;
        }
      gsize len;
      const guint8 *d = g_bytes_get_data (b, &len);
      g_assert_true (bf_media_transport_send_raw (p->t, d, len));
      g_bytes_unref (b);
    }
  return G_SOURCE_CONTINUE;
}

static void
start_raw_job (gpointer data)
{
  Peer *p = data;
  p->raw_sender = g_timeout_source_new (1);
  g_source_set_callback (p->raw_sender, raw_tick, p, NULL);
  g_source_attach (p->raw_sender, bf_media_worker_get_context (p->worker));
}

static void
create_job (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  p->t = bf_media_transport_new (p->worker, &p->config, p->cert, p->controlling, on_event, on_rtp,
                                 p, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p->t);
  bf_media_transport_get_local_credentials (p->t, &p->ufrag, &p->pwd);
  g_assert_nonnull (p->ufrag);
}

static void
gather_job (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_gather (p->t, &error));
  g_assert_no_error (error);
}

static void
remote_job (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_set_remote_credentials (p->t, p->other->ufrag, p->other->pwd,
                                                            &error));
  g_assert_no_error (error);
  const char *fp = p->told_fingerprint ? p->told_fingerprint
                                       : bf_media_cert_get_fingerprint (p->other->cert);
  g_assert_true (bf_media_transport_set_dtls (p->t, p->setup, "sha-256", fp, &error));
  g_assert_no_error (error);
}

static void
free_job (gpointer data)
{
  Peer *p = data;
  if (p->sender)
    {
      g_source_destroy (p->sender);
      g_clear_pointer (&p->sender, g_source_unref);
    }
  if (p->raw_sender)
    {
      g_source_destroy (p->raw_sender);
      g_clear_pointer (&p->raw_sender, g_source_unref);
    }
  g_queue_clear_full (&p->raw, (GDestroyNotify) g_bytes_unref);
  bf_media_transport_free (p->t);
  p->t = NULL;
}

static void
close_job (gpointer data)
{
  Peer *p = data;
  bf_media_transport_close (p->t);
}

typedef struct {
  Peer *peer;
  BfMediaCounters c;
  BfJingleCandidate local, remote;
  gboolean have_pair;
} CountersJob;

static void
counters_job (gpointer data)
{
  CountersJob *j = data;
  bf_media_transport_get_counters (j->peer->t, &j->c);
  j->have_pair = bf_media_transport_get_selected_pair (j->peer->t, &j->local, &j->remote);
}

static BfMediaCounters
counters (Peer *p)
{
  CountersJob j = { .peer = p };
  run_on (p->worker, counters_job, &j);
  return j.c;
}

static void
drain (Peer *a, Peer *b)
{
  /* Events already posted to main may post forwards to the workers:
   * settle both ways twice. */
  for (int i = 0; i < 2; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      run_on (a->worker, nop, NULL);
      run_on (b->worker, nop, NULL);
    }
}

static void
peers_free (Peer *a, Peer *b)
{
  if (a->t)
    run_on (a->worker, free_job, a);
  if (b->t)
    run_on (b->worker, free_job, b);
  drain (a, b);
  Peer *ps[] = { a, b };
  for (int i = 0; i < 2; i++)
    {
      Peer *p = ps[i];
      bf_media_worker_release (p->worker);
      bf_media_config_clear (&p->config);
      g_free (p->ufrag);
      g_free (p->pwd);
      g_free (p->told_fingerprint);
      g_clear_error (&p->error);
      g_free (p);
    }
}

/* Client (controlling, active) and server (controlled, passive). */
static void
make_pair (Peer **a, Peer **b)
{
  *a = peer_new ("A", cert_a, TRUE, BF_MEDIA_DTLS_SETUP_ACTIVE, 0xA0A0A0A0);
  *b = peer_new ("B", cert_b, FALSE, BF_MEDIA_DTLS_SETUP_PASSIVE, 0xB0B0B0B0);
  (*a)->other = *b;
  (*b)->other = *a;
  g_assert_true ((*a)->worker != (*b)->worker);
}

static gboolean
both_gathered (gpointer data)
{
  Peer **p = data;
  return p[0]->gathering_done && p[1]->gathering_done;
}

static gboolean
both_settled (gpointer data)
{
  Peer **p = data;
  for (int i = 0; i < 2; i++)
    if (!p[i]->dtls_connected && !p[i]->dtls_failed && !p[i]->ice_failed)
      return FALSE;
  return TRUE;
}

static gboolean
one_failed (gpointer data)
{
  Peer **p = data;
  return p[0]->dtls_failed || p[0]->ice_failed || p[1]->dtls_failed || p[1]->ice_failed;
}

/* Creates both transports and runs ICE + DTLS.  With @credentials_first
 * false, candidates reach each side before its remote credentials. */
static gint64
connect_pair (Peer *a, Peer *b, gboolean credentials_first)
{
  Peer *both[] = { a, b };
  run_on (a->worker, create_job, a);
  run_on (b->worker, create_job, b);
  gint64 start = g_get_monotonic_time ();
  if (credentials_first)
    {
      run_on (a->worker, remote_job, a);
      run_on (b->worker, remote_job, b);
    }
  run_on (a->worker, gather_job, a);
  run_on (b->worker, gather_job, b);
  g_assert_true (wait_until (both_gathered, both, 5000));
  g_assert_cmpuint (a->n_candidates, >=, 1);
  g_assert_cmpuint (b->n_candidates, >=, 1);
  if (!credentials_first)
    {
      drain (a, b);      /* the candidates are in, held for the credentials */
      start = g_get_monotonic_time ();
      run_on (a->worker, remote_job, a);
      run_on (b->worker, remote_job, b);
    }
  g_assert_true (wait_until (both_settled, both, 15000));
  gint64 end = MAX (a->dtls_at, b->dtls_at);
  return end > start ? end - start : 0;
}

typedef struct {
  Peer *p;
  gint rtp, rtcp;
} RxWant;

static gboolean
received_all (gpointer data)
{
  RxWant *w = data;
  for (int i = 0; i < 2; i++)
    if (g_atomic_int_get (&w[i].p->rtp_rx) < w[i].rtp
        || g_atomic_int_get (&w[i].p->rtcp_rx) < w[i].rtcp)
      return FALSE;
  return TRUE;
}

static void
exchange_media (Peer *a, Peer *b, gint rtp, gint rtcp)
{
  RxWant want[] = { { a, g_atomic_int_get (&a->rtp_rx) + rtp, g_atomic_int_get (&a->rtcp_rx) + rtcp },
                    { b, g_atomic_int_get (&b->rtp_rx) + rtp, g_atomic_int_get (&b->rtcp_rx) + rtcp } };
  start_sending (a, rtp, rtcp);
  start_sending (b, rtp, rtcp);
  if (!wait_until (received_all, want, 20000))
    g_error ("media incomplete: A got %d/%d RTP %d/%d RTCP, B got %d/%d RTP %d/%d RTCP",
             a->rtp_rx, want[0].rtp, a->rtcp_rx, want[0].rtcp,
             b->rtp_rx, want[1].rtp, b->rtcp_rx, want[1].rtcp);
  g_assert_cmpint (g_atomic_int_get (&a->bad_rx), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&b->bad_rx), ==, 0);
}

static guint64
total_dropped (const BfMediaCounters *c)
{
  return c->dropped_demux + c->dropped_unvalidated + c->dropped_not_ready + c->dropped_dtls
         + c->dropped_unprotect + c->dropped_ssrc_limit + c->dropped_malformed_rtp;
}

static void
check_media_counters (Peer *p, guint64 rtp, guint64 rtcp)
{
  BfMediaCounters c = counters (p);
  g_test_message ("%s: in %" G_GUINT64_FORMAT " pkts/%" G_GUINT64_FORMAT " B, out %"
                  G_GUINT64_FORMAT " pkts/%" G_GUINT64_FORMAT " B, dtls in %" G_GUINT64_FORMAT
                  " out %" G_GUINT64_FORMAT, p->name, c.packets_in, c.bytes_in, c.packets_out,
                  c.bytes_out, c.dtls_in, c.dtls_out);
  g_assert_cmpuint (c.rtp_in, ==, rtp);
  g_assert_cmpuint (c.rtcp_in, ==, rtcp);
  g_assert_cmpuint (c.rtp_out, ==, rtp);
  g_assert_cmpuint (c.rtcp_out, ==, rtcp);
  g_assert_cmpuint (total_dropped (&c), ==, 0);
  g_assert_cmpuint (c.srtp_errors, ==, 0);
  g_assert_cmpuint (c.send_errors, ==, 0);
  g_assert_cmpuint (c.packets_in, ==, rtp + rtcp + c.dtls_in);
  g_assert_cmpuint (c.packets_out, ==, rtp + rtcp + c.dtls_out);
  g_assert_cmpuint (c.dtls_in, >=, 1);
  g_assert_cmpuint (c.dtls_out, >=, 1);
  /* Sizes: SRTP adds the tag (16 GCM, 10 AES_CM) and SRTCP the index too. */
  gsize tag = p->profile == BF_MEDIA_SRTP_AEAD_AES_128_GCM ? 16 : 10;
  guint64 media_bytes = rtp * (12 + RTP_PAYLOAD + tag) + rtcp * (20 + 4 + tag);
  g_assert_cmpuint (c.bytes_out, >, media_bytes);
  g_assert_cmpuint (c.bytes_out - media_bytes, <, 8000);   /* the DTLS flights */
}

/* --- tests --- */

static void
test_connect (gconstpointer data)
{
  gboolean aes_cm = GPOINTER_TO_INT (data);
  Peer *a, *b;
  make_pair (&a, &b);
  if (aes_cm)
    {
      /* The server (B) allows only AES_CM: configuration forces it. */
      b->config.srtp_profiles[0] = BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
      b->config.n_srtp_profiles = 1;
      /* And B's host candidate comes from a port range. */
      b->config.port_min = 41000;
      b->config.port_max = 41009;
    }
  gint64 setup_us = connect_pair (a, b, aes_cm);
  g_assert_true (a->dtls_connected && b->dtls_connected);
  g_assert_false (a->ice_failed || b->ice_failed || a->dtls_failed || b->dtls_failed);
  BfMediaSrtpProfile want = aes_cm ? BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80
                                   : BF_MEDIA_SRTP_AEAD_AES_128_GCM;
  g_assert_cmpint (a->profile, ==, want);
  g_assert_cmpint (b->profile, ==, want);
  g_test_message ("ICE+DTLS setup on loopback (%s): %.1f ms (credentials set -> both DTLS "
                  "connected; ICE connected after %.1f ms)", bf_media_srtp_profile_name (want),
                  setup_us / 1000.0,
                  (MAX (a->ice_at, b->ice_at) - (MAX (a->dtls_at, b->dtls_at) - setup_us)) / 1000.0);

  CountersJob j = { .peer = a };
  run_on (a->worker, counters_job, &j);
  g_assert_true (j.have_pair);
  g_assert_cmpstr (j.local.ip, ==, "127.0.0.1");
  g_assert_cmpstr (j.remote.ip, ==, "127.0.0.1");
  if (aes_cm)
    {
      g_assert_cmpuint (j.remote.port, >=, 41000);
      g_assert_cmpuint (j.remote.port, <=, 41009);
    }

  gint64 t0 = g_get_monotonic_time ();
  exchange_media (a, b, N_RTP, N_RTCP);
  g_test_message ("%d RTP + %d RTCP each way in %.0f ms (paced at 10 RTP/ms)", N_RTP, N_RTCP,
                  (g_get_monotonic_time () - t0) / 1000.0);
  check_media_counters (a, N_RTP, N_RTCP);
  check_media_counters (b, N_RTP, N_RTCP);
  for (guint seq = 1; seq <= N_RTP; seq++)
    {
      g_assert_true (a->seen[seq / 8] & (1 << (seq % 8)));
      g_assert_true (b->seen[seq / 8] & (1 << (seq % 8)));
    }
  peers_free (a, b);
}

static gboolean
a_failed (gpointer data)
{
  Peer *a = data;
  return a->ice_failed || a->dtls_failed;
}

static void
test_fingerprint_mismatch (gconstpointer data)
{
  gboolean server_checks = GPOINTER_TO_INT (data);
  Peer *a, *b;
  make_pair (&a, &b);
  Peer *checker = server_checks ? b : a, *victim = server_checks ? a : b;
  checker->told_fingerprint = g_strdup (bf_media_cert_get_fingerprint (cert_other));
  Peer *both[] = { a, b };
  run_on (a->worker, create_job, a);
  run_on (b->worker, create_job, b);
  run_on (a->worker, remote_job, a);
  run_on (b->worker, remote_job, b);
  run_on (a->worker, gather_job, a);
  run_on (b->worker, gather_job, b);
  g_assert_true (wait_until (a_failed, checker, 10000));
  g_assert_true (checker->dtls_failed);
  g_assert_false (checker->dtls_connected);
  g_assert_error (checker->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_FINGERPRINT_MISMATCH);
  /* The other side gets the bad_certificate alert. */
  g_assert_true (wait_until (both_settled, both, 10000));
  g_assert_false (victim->dtls_connected);
  g_assert_true (victim->dtls_failed);
  g_assert_error (victim->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_HANDSHAKE);
  /* No keys: sending is refused, nothing was delivered. */
  BfMediaCounters c = counters (checker);
  g_assert_cmpuint (c.rtp_in + c.rtcp_in, ==, 0);
  peers_free (a, b);
}

static void
test_peer_vanishes (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  connect_pair (a, b, TRUE);
  g_assert_true (a->dtls_connected && b->dtls_connected);
  exchange_media (a, b, 50, 5);
  /* B disappears without a word (no close_notify): only ICE consent
   * freshness (RFC 7675) can tell. */
  run_on (b->worker, free_job, b);
  gint64 gone = g_get_monotonic_time ();
  g_assert_true (wait_until (a_failed, a, 30000));
  double s = (a->failed_at - gone) / 1e6;
  g_test_message ("peer vanished -> ICE failure reported after %.1f s (consent-timeout: "
                  "10 s after the last consent response)", s);
  g_assert_true (a->ice_failed);
  g_assert_false (a->dtls_failed);
  g_assert_error (a->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_ICE);
  g_assert_cmpfloat (s, <, 16.0);
  peers_free (a, b);
}

static gboolean
b_failed (gpointer data)
{
  Peer *b = data;
  return b->dtls_failed || b->ice_failed;
}

static void
test_close_notify (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  connect_pair (a, b, TRUE);
  exchange_media (a, b, 20, 2);
  run_on (a->worker, close_job, a);
  g_assert_true (wait_until (b_failed, b, 3000));
  g_assert_true (b->dtls_failed);
  g_assert_error (b->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CLOSED);
  peers_free (a, b);
}

static void
fill_random (guint8 *buf, gsize len)
{
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8) g_random_int_range (0, 256);
}

typedef struct {
  Peer *p;
  guint64 packets_in;
} InWant;

static gboolean
got_packets (gpointer data)
{
  InWant *w = data;
  return counters (w->p).packets_in >= w->packets_in;
}

static void
test_garbage (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  connect_pair (a, b, TRUE);
  exchange_media (a, b, 100, 10);

  CountersJob j = { .peer = a };
  run_on (a->worker, counters_job, &j);
  g_assert_true (j.have_pair);
  BfMediaCounters before = j.c;

  /* 1. From a plain UDP socket (an address no check validated): libnice
   * answers or drops every datagram itself; nothing reaches the demux. */
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (j.local.port) };
  inet_pton (AF_INET, j.local.ip, &to.sin_addr);
  guint8 buf[1500];
  guint sent = 0;
  for (guint i = 0; i < 1024; i++)
    {
      gsize len = (gsize) g_random_int_range (1, 1400);
      fill_random (buf, len);
      buf[0] = (guint8) i;
      if (i >= 512 && len >= 20)
        {
          /* STUN-shaped: type, length matching, magic cookie. */
          buf[0] = (guint8) (i & 0x01);
          buf[2] = (guint8) ((len - 20) >> 8);
          buf[3] = (guint8) ((len - 20) & 0xfc);
          len = 20 + ((len - 20) & ~(gsize) 3);
          buf[4] = 0x21; buf[5] = 0x12; buf[6] = 0xa4; buf[7] = 0x42;
        }
      if (sendto (fd, buf, len, 0, (struct sockaddr *) &to, sizeof to) == (ssize_t) len)
        sent++;
      if (i % 32 == 31)
        g_usleep (1000);
    }
  close (fd);
  sleep_main (300);
  BfMediaCounters mid = counters (a);
  g_test_message ("%u datagrams from an unvalidated address: %" G_GUINT64_FORMAT
                  " reached the transport (libnice drops them uncounted)", sent,
                  mid.packets_in - before.packets_in);
  g_assert_cmpuint (mid.packets_in, ==, before.packets_in);

  /* 2. From the validated pair (B's own socket, raw): every first-byte
   * class, short and long, plus well-framed DTLS records and RTP/RTCP
   * headers with forged bodies. */
  guint n = 0;
  for (guint round = 0; round < 3; round++)
    for (guint first = 0; first < 256; first++)
      {
        gsize len = round == 0 ? 1 : (gsize) g_random_int_range (2, 1300);
        fill_random (buf, len);
        buf[0] = (guint8) first;
        g_queue_push_tail (&b->raw, g_bytes_new (buf, len));
        n++;
      }
  for (guint i = 0; i < 64; i++)
    {
      gsize body = (gsize) g_random_int_range (0, 200);
      fill_random (buf, 13 + body);
      buf[0] = (guint8) (20 + i % 4);  /* ccs, alert, handshake, application data */
      buf[1] = 254;
      buf[2] = 253;
      buf[3] = 0;
      buf[4] = (guint8) (i % 3);       /* epochs 0, 1, 2 */
      buf[11] = (guint8) (body >> 8);
      buf[12] = (guint8) body;
      g_queue_push_tail (&b->raw, g_bytes_new (buf, 13 + body));
      n++;
    }
  for (guint i = 0; i < 64; i++)
    {
      gsize len = (gsize) g_random_int_range (12, 400);
      fill_random (buf, len);
      buf[0] = 0x80;
      if (i % 2)
        buf[1] = (guint8) (200 + i % 6);   /* SRTCP */
      else
        buf[1] = 96;                        /* SRTP */
      if (i % 4 == 0)
        {
          /* B's real SSRC: only the tag can tell. */
          buf[8] = b->ssrc >> 24; buf[9] = b->ssrc >> 16; buf[10] = b->ssrc >> 8; buf[11] = b->ssrc;
        }
      g_queue_push_tail (&b->raw, g_bytes_new (buf, len));
      n++;
    }
  run_on (b->worker, start_raw_job, b);
  InWant w = { a, mid.packets_in + n };
  if (!wait_until (got_packets, &w, 10000))
    g_error ("only %" G_GUINT64_FORMAT " of %u garbage datagrams arrived",
             counters (a).packets_in - mid.packets_in, n);
  sleep_main (100);
  BfMediaCounters after = counters (a);
  g_assert_cmpuint (after.packets_in - mid.packets_in, ==, n);
  guint64 dropped = total_dropped (&after) - total_dropped (&mid);
  guint64 dtls = after.dtls_in - mid.dtls_in;
  g_test_message ("%u garbage datagrams on the validated pair: demux %" G_GUINT64_FORMAT
                  ", dtls framing %" G_GUINT64_FORMAT ", unprotect %" G_GUINT64_FORMAT
                  ", to OpenSSL (discarded there) %" G_GUINT64_FORMAT, n,
                  after.dropped_demux - mid.dropped_demux, after.dropped_dtls - mid.dropped_dtls,
                  after.dropped_unprotect - mid.dropped_unprotect, dtls);
  g_assert_cmpuint (dropped + dtls, ==, n);
  g_assert_cmpuint (after.rtp_in, ==, mid.rtp_in);
  g_assert_cmpuint (after.rtcp_in, ==, mid.rtcp_in);
  g_assert_cmpuint (after.dropped_unprotect - mid.dropped_unprotect, >=, 64 + 64);
  /* The metrics' drop reasons (media-metrics.c) split it: wrong tags here. */
  g_assert_cmpuint (after.unprotect_auth + after.unprotect_replay + after.unprotect_other
                    - mid.unprotect_auth - mid.unprotect_replay - mid.unprotect_other,
                    ==, after.dropped_unprotect - mid.dropped_unprotect);
  g_assert_cmpuint (after.unprotect_auth - mid.unprotect_auth, >=, 16);
  g_assert_false (a->dtls_failed || a->ice_failed || b->dtls_failed || b->ice_failed);

  /* Still working both ways. */
  exchange_media (a, b, 100, 10);
  g_assert_false (a->dtls_failed || a->ice_failed);
  peers_free (a, b);
}

static void
creds_only_job (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_set_remote_credentials (p->t, p->other->ufrag, p->other->pwd,
                                                            &error));
  g_assert_no_error (error);
}

static void
test_dtls_timeout (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  a->config.dtls_timeout_ms = 1000;
  Peer *both[] = { a, b };
  run_on (a->worker, create_job, a);
  run_on (b->worker, create_job, b);
  /* B never learns its DTLS role nor A's fingerprint: it keeps 8 early
   * datagrams, drops the rest, and A's handshake gets no answer. */
  run_on (a->worker, remote_job, a);
  run_on (b->worker, creds_only_job, b);
  run_on (a->worker, gather_job, a);
  run_on (b->worker, gather_job, b);
  g_assert_true (wait_until (one_failed, both, 5000));
  g_assert_true (a->dtls_failed);
  g_assert_error (a->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_TIMEOUT);
  g_assert_true (a->ice_connected);
  BfMediaCounters c = counters (b);
  g_test_message ("B dropped %" G_GUINT64_FORMAT " early DTLS datagrams beyond its queue",
                  c.dropped_not_ready);
  peers_free (a, b);
}

static void
unreachable_job (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_gather (p->t, &error));
  g_assert_true (bf_media_transport_set_remote_credentials (p->t, "abcd",
                                                            "abcdefghijklmnopqrstuvwxyz", &error));
  /* A port nobody listens on (in the test's own namespace). */
  BfJingleCandidate c = { .foundation = "1", .component = 1, .type = BF_JINGLE_CANDIDATE_HOST,
                         .ip = "127.0.0.1", .port = 1024, .priority = 2130706431 };
  g_assert_true (bf_media_transport_add_remote_candidate (p->t, &c, &error));
  g_assert_no_error (error);
  /* The candidate policy (addr-policy.h): gathering on 127.0.0.1, only
   * loopback peers, and never below port 1024; counted, not used. */
  static const struct { const char *address; guint16 port; } refused[] = {
    { "127.0.0.1", 9 }, { "10.0.0.1", 40000 }, { "198.51.100.1", 40000 },
    { "224.0.0.1", 40000 }, { "255.255.255.255", 40000 }, { "::1", 40000 },
  };
  guint ignored[BF_ADDR_N_REASONS];
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      BfJingleCandidate r = c;
      g_strlcpy (r.ip, refused[i].address, sizeof r.ip);
      r.port = refused[i].port;
      g_assert_false (bf_media_transport_add_remote_candidate (p->t, &r, &error));
      g_assert_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_POLICY);
      g_clear_error (&error);
    }
  bf_media_transport_get_ignored_candidates (p->t, ignored);
  g_assert_cmpuint (ignored[BF_ADDR_REASON_PORT], ==, 1);
  g_assert_cmpuint (ignored[BF_ADDR_SCOPE_PRIVATE], ==, 1);
  g_assert_cmpuint (ignored[BF_ADDR_SCOPE_PUBLIC], ==, 1);
  g_assert_cmpuint (ignored[BF_ADDR_SCOPE_MULTICAST], ==, 1);
  g_assert_cmpuint (ignored[BF_ADDR_SCOPE_BROADCAST], ==, 1);
  g_assert_cmpuint (ignored[BF_ADDR_SCOPE_LOOPBACK], ==, 1);
  BfMediaCounters counted;
  bf_media_transport_get_counters (p->t, &counted);
  g_assert_cmpuint (counted.candidates_ignored, ==, G_N_ELEMENTS (refused));
  /* Refused input. */
  BfJingleCandidate bad = c;
  g_strlcpy (bad.ip, "f00.local", sizeof bad.ip);
  g_assert_false (bf_media_transport_add_remote_candidate (p->t, &bad, &error));
  g_clear_error (&error);
  bad = c;
  bad.foundation[0] = '\0';
  g_assert_false (bf_media_transport_add_remote_candidate (p->t, &bad, &error));
  g_clear_error (&error);
  bad = c;
  bad.component = 2;    /* RTCP without mux: ignored */
  g_assert_true (bf_media_transport_add_remote_candidate (p->t, &bad, &error));
  g_assert_false (bf_media_transport_set_remote_credentials (p->t, "abcd", "short", &error));
  g_clear_error (&error);
  g_assert_false (bf_media_transport_set_remote_credentials (p->t, "efgh",
                                                             "abcdefghijklmnopqrstuvwxyz", &error));
  g_clear_error (&error);
  g_assert_false (bf_media_transport_set_dtls (p->t, BF_MEDIA_DTLS_SETUP_ACTIVE, "md5", "00", &error));
  g_clear_error (&error);
  /* Sending before keys is refused and counted. */
  guint8 rtp[20] = { 0x80, 96 };
  g_assert_false (bf_media_transport_send_rtp (p->t, rtp, sizeof rtp));
  BfMediaCounters k;
  bf_media_transport_get_counters (p->t, &k);
  g_assert_cmpuint (k.send_errors, ==, 1);
}

static void
test_ice_timeout (gconstpointer data)
{
  gboolean end_of_candidates = GPOINTER_TO_INT (data);
  Peer *a, *b;
  make_pair (&a, &b);
  a->config.ice_timeout_ms = end_of_candidates ? 20000 : 1000;
  a->config.stun_max_retransmissions = 3;
  a->config.stun_initial_timeout_ms = 50;
  run_on (a->worker, create_job, a);
  gint64 start = g_get_monotonic_time ();
  run_on (a->worker, unreachable_job, a);
  if (end_of_candidates)
    {
      Forward f = { .to = a, .done = TRUE };
      run_on (a->worker, forward_candidate, &f);
    }
  g_assert_true (wait_until (a_failed, a, 15000));
  g_assert_true (a->ice_failed);
  g_assert_error (a->error, BF_MEDIA_ERROR,
                  (end_of_candidates ? BF_MEDIA_ERROR_ICE : BF_MEDIA_ERROR_TIMEOUT));
  g_test_message ("ICE failure after %.2f s", (a->failed_at - start) / 1e6);
  peers_free (a, b);
}

static void
restart_unconnected_job (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_restart (p->t, "efgh", "bcdefghijklmnopqrstuvwxyza", &error));
  g_assert_no_error (error);
}

/* A peer that never connects cannot hold its session past ice-timeout by
 * restarting ICE again and again (up to MAX_ICE_RESTARTS, each used to give
 * a fresh ice-timeout): before the first connection, a restart keeps the
 * deadline the first credentials set. */
static void
test_restarts_do_not_extend_ice_timeout (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  a->config.ice_timeout_ms = 3000;
  a->config.stun_max_retransmissions = 3;
  a->config.stun_initial_timeout_ms = 50;
  run_on (a->worker, create_job, a);
  gint64 start = g_get_monotonic_time ();
  run_on (a->worker, unreachable_job, a);
  for (int i = 0; i < 5 && !a_failed (a); i++)
    {
      sleep_main (1000);
      if (!a_failed (a))
        run_on (a->worker, restart_unconnected_job, a);
    }
  g_assert_true (wait_until (a_failed, a, 10000));
  double s = (a->failed_at - start) / 1e6;
  g_test_message ("restarted every second, never connected: ICE failure after %.2f s", s);
  g_assert_error (a->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_TIMEOUT);
  g_assert_cmpfloat (s, <, 4.0);
  peers_free (a, b);
}

typedef struct {
  Peer *p;
  BfMediaConfig config;
  GError *error;
} NoAddress;

static void
no_address_job (gpointer data)
{
  NoAddress *n = data;
  BfMediaTransport *t = bf_media_transport_new (n->p->worker, &n->config, cert_a, TRUE, on_event,
                                                NULL, n->p, &n->error);
  g_assert_null (t);
}

static void
bad_address_job (gpointer data)
{
  NoAddress *n = data;
  BfMediaTransport *t = bf_media_transport_new (n->p->worker, &n->config, cert_a, TRUE, on_event,
                                                NULL, n->p, &n->error);
  if (t == NULL)
    return;
  gboolean ok = bf_media_transport_gather (t, &n->error);
  g_assert_false (ok);
  bf_media_transport_free (t);
}

static void
test_no_address (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  NoAddress n = { .p = a };
  bf_media_config_init (&n.config);
  run_on (a->worker, no_address_job, &n);
  g_assert_error (n.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID);
  g_clear_error (&n.error);
  bf_media_config_clear (&n.config);
  /* An address this namespace does not have: refused at creation or at
   * gathering, never silently replaced by another interface. */
  base_config (&n.config);
  g_strfreev (n.config.addresses);
  n.config.addresses = g_strsplit ("192.0.2.77", ";", -1);
  run_on (a->worker, bad_address_job, &n);
  g_assert_error (n.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID);
  g_test_message ("192.0.2.77: %s", n.error->message);
  g_clear_error (&n.error);
  bf_media_config_clear (&n.config);
  drain (a, b);
  peers_free (a, b);
}

/* A relay worker as in a relayed call, with three of its transports in the
 * path: S (another worker) -> A => B -> C, and C's echo back C -> B => A ->
 * S, where "=>" is a send from inside the receive callback (with direct I/O,
 * through the worker's send queue; C's echo too, on the same worker as B's
 * receive).  Every packet must arrive once, in order, authenticated (SRTP
 * unprotected, payload intact), both at C and back at S. */
static void
test_relay_chain (void)
{
  BfMediaWorker *w1 = bf_media_pool_get_worker (pool, 0), *w2 = bf_media_pool_get_worker (pool, 1);
  Peer *s = peer_new_on (w2, "S", cert_a, TRUE, BF_MEDIA_DTLS_SETUP_ACTIVE, 0x51515151);
  Peer *a = peer_new_on (w1, "A", cert_b, FALSE, BF_MEDIA_DTLS_SETUP_PASSIVE, 0xC3C3C3C3);
  Peer *b = peer_new_on (w1, "B", cert_a, TRUE, BF_MEDIA_DTLS_SETUP_ACTIVE, 0x51515151);
  Peer *c = peer_new_on (w1, "C", cert_b, FALSE, BF_MEDIA_DTLS_SETUP_PASSIVE, 0xC3C3C3C3);
  /* SSRCs: S sends 0x5151..., which C expects from its "other" B; C echoes
   * as 0xC3C3..., which S expects from its "other" A. */
  s->other = a; a->other = s;
  b->other = c; c->other = b;
  a->relay_to = b;
  b->relay_to = a;
  c->echo = TRUE;
  connect_pair (s, a, TRUE);
  connect_pair (b, c, TRUE);
  g_assert_true (s->dtls_connected && a->dtls_connected);
  g_assert_true (b->dtls_connected && c->dtls_connected);
  sleep_main (100);                  /* the direct-I/O take-overs */

  RxWant want[] = { { c, N_RTP, N_RTCP }, { s, N_RTP, N_RTCP } };
  start_sending (s, N_RTP, N_RTCP);
  if (!wait_until (received_all, want, 20000))
    g_error ("relay incomplete: C got %d/%d RTP %d/%d RTCP, S got %d/%d RTP %d/%d RTCP",
             c->rtp_rx, N_RTP, c->rtcp_rx, N_RTCP, s->rtp_rx, N_RTP, s->rtcp_rx, N_RTCP);
  sleep_main (200);                  /* nothing more (no duplicates) may come */
  Peer *ends[] = { c, s };
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpint (g_atomic_int_get (&ends[i]->rtp_rx), ==, N_RTP);
      g_assert_cmpint (g_atomic_int_get (&ends[i]->rtcp_rx), ==, N_RTCP);
      g_assert_cmpint (g_atomic_int_get (&ends[i]->out_of_order), ==, 0);
      g_assert_cmpint (g_atomic_int_get (&ends[i]->bad_rx), ==, 0);
    }
  g_assert_cmpint (g_atomic_int_get (&a->bad_rx), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&b->bad_rx), ==, 0);
  Peer *all[] = { s, a, b, c };
  for (int i = 0; i < 4; i++)
    {
      BfMediaCounters k = counters (all[i]);
      g_test_message ("%s: rtp in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT
                      ", stun in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT, all[i]->name,
                      k.rtp_in, k.rtp_out, k.stun_in, k.stun_out);
      g_assert_cmpuint (k.rtp_in, ==, N_RTP);
      g_assert_cmpuint (k.rtp_out, ==, N_RTP);
      g_assert_cmpuint (k.rtcp_in, ==, N_RTCP);
      g_assert_cmpuint (k.rtcp_out, ==, N_RTCP);
      g_assert_cmpuint (total_dropped (&k), ==, 0);
      g_assert_cmpuint (k.send_errors + k.srtp_errors, ==, 0);
    }
  /* Relays first: A and B send on each other from their callbacks. */
  a->relay_to = b->relay_to = NULL;
  peers_free (b, c);
  peers_free (s, a);
}

/* A leg with no media for longer than RFC 7675's 30 s consent expiry (and
 * libnice's 10 s): only consent traffic, which direct-io.c sends and
 * answers, keeps it up; media still flows afterwards. */
static void
test_consent_keeps_session (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  connect_pair (a, b, TRUE);
  g_assert_true (a->dtls_connected && b->dtls_connected);
  exchange_media (a, b, 20, 2);
  BfMediaCounters a0 = counters (a), b0 = counters (b);
  Peer *both[] = { a, b };
  g_assert_false (wait_until (one_failed, both, 38000));
  BfMediaCounters a1 = counters (a), b1 = counters (b);
  g_test_message ("after 38 s idle: A stun in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT
                  ", B stun in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT,
                  a1.stun_in - a0.stun_in, a1.stun_out - a0.stun_out,
                  b1.stun_in - b0.stun_in, b1.stun_out - b0.stun_out);
  /* Each side: its own checks (one per 4-6 s: six or more in 38 s) and
   * answers to the other's; five each leaves room for one in flight. */
  g_assert_cmpuint (a1.stun_out - a0.stun_out, >=, 2 * 5);
  g_assert_cmpuint (a1.stun_in - a0.stun_in, >=, 2 * 5);
  g_assert_cmpuint (b1.stun_out - b0.stun_out, >=, 2 * 5);
  g_assert_cmpuint (b1.stun_in - b0.stun_in, >=, 2 * 5);
  g_assert_cmpuint (a1.packets_in - a0.packets_in, ==, 0);   /* no media, no DTLS */
  g_assert_cmpuint (b1.packets_in - b0.packets_in, ==, 0);
  exchange_media (a, b, 20, 2);
  g_assert_false (a->ice_failed || b->ice_failed || a->dtls_failed || b->dtls_failed);
  peers_free (a, b);
}

/* The shortest consent-timeout (5 s) keeps an idle healthy leg up: checks
 * go out every third of it, not every 4-6 s (which would let the leg
 * expire before its first answer); a vanished peer still ends it soon. */
static void
test_short_consent_timeout (void)
{
  consent_timeout_ms = 5000;
  Peer *a, *b;
  make_pair (&a, &b);
  consent_timeout_ms = 10000;
  connect_pair (a, b, TRUE);
  g_assert_true (a->dtls_connected && b->dtls_connected);
  exchange_media (a, b, 20, 2);
  BfMediaCounters a0 = counters (a);
  Peer *both[] = { a, b };
  g_assert_false (wait_until (one_failed, both, 16000));
  BfMediaCounters a1 = counters (a);
  /* A check every 1.3-2 s: eight or more in 16 s, plus the answers to B's. */
  g_assert_cmpuint (a1.stun_out - a0.stun_out, >=, 2 * 7);
  exchange_media (a, b, 20, 2);
  run_on (b->worker, free_job, b);
  gint64 gone = g_get_monotonic_time ();
  g_assert_true (wait_until (a_failed, a, 15000));
  double s = (a->failed_at - gone) / 1e6;
  g_test_message ("consent-timeout 5 s: peer vanished -> ICE failure after %.1f s", s);
  g_assert_true (a->ice_failed);
  g_assert_cmpfloat (s, <, 8.0);
  peers_free (a, b);
}

/* --- ICE restart, and a peer that moves --- */

typedef struct {
  Peer *p;
  gboolean local_only;               /* restart ourselves; the peer's credentials follow */
} RestartJob;

static void
restart_job (gpointer data)
{
  RestartJob *j = data;
  Peer *p = j->p;
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_restart (p->t, j->local_only ? NULL : p->other->ufrag,
                                             j->local_only ? NULL : p->other->pwd, &error));
  g_assert_no_error (error);
  g_free (p->ufrag);
  g_free (p->pwd);
  bf_media_transport_get_local_credentials (p->t, &p->ufrag, &p->pwd);
}

static void
new_remote_job (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_media_transport_set_remote_credentials (p->t, p->other->ufrag, p->other->pwd,
                                                            &error));
  g_assert_no_error (error);
}

/* The other's candidates again (a restart forgets the remote ones). */
static void
resend_candidates_job (gpointer data)
{
  Peer *p = data;
  for (guint i = 0; i < MIN (p->other->n_candidates, G_N_ELEMENTS (p->other->cands)); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (bf_media_transport_add_remote_candidate (p->t, &p->other->cands[i], &error));
    }
  bf_media_transport_remote_gathering_done (p->t);
}

/* B restarts ICE (a phone on a new network: new credentials, as
 * Conversations sends them), A answers with its own new ones; both keep
 * their DTLS association and SRTP keys, media flows on the new pair, and
 * direct I/O takes it over again (its consent checks run again). */
static void
test_ice_restart (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  connect_pair (a, b, TRUE);
  g_assert_true (a->dtls_connected && b->dtls_connected);
  exchange_media (a, b, 20, 2);
  g_autofree char *a_old = g_strdup (a->ufrag), *b_old = g_strdup (b->ufrag);
  RestartJob jb = { b, TRUE }, ja = { a, FALSE };
  run_on (b->worker, restart_job, &jb);      /* B: new credentials, sent to A */
  run_on (a->worker, restart_job, &ja);      /* A restarts with them: its new ones back */
  run_on (b->worker, new_remote_job, b);
  g_assert_cmpstr (a->ufrag, !=, a_old);
  g_assert_cmpstr (b->ufrag, !=, b_old);
  run_on (a->worker, resend_candidates_job, a);
  run_on (b->worker, resend_candidates_job, b);
  exchange_media (a, b, 20, 2);
  BfMediaCounters a0 = counters (a);
  /* Direct I/O again on A: it runs consent (a check every 4-6 s). */
  sleep_main (7000);
  BfMediaCounters a1 = counters (a);
  g_assert_cmpuint (a1.stun_out - a0.stun_out, >=, 1);
  exchange_media (a, b, 20, 2);
  g_assert_false (a->ice_failed || b->ice_failed || a->dtls_failed || b->dtls_failed);
  g_assert_cmpuint (a1.dropped_unprotect, ==, 0);
  peers_free (a, b);
}

typedef struct {
  Peer *p;
  guint16 port;
} PairPortJob;

static void
pair_port_job (gpointer data)
{
  PairPortJob *j = data;
  BfJingleCandidate local;
  g_assert_true (bf_media_transport_get_selected_pair (j->p->t, &local, NULL));
  j->port = local.port;
}

/* A connectivity check with A's credentials from an address that is not
 * the pair's: the peer moved.  A gives the pair back to libnice (counted),
 * media goes on, and with no new pair nominated (B did not really move)
 * direct I/O takes the old pair over again.  A check with wrong
 * credentials from there is only dropped. */
static void
test_peer_moves (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  connect_pair (a, b, TRUE);
  exchange_media (a, b, 20, 2);
  PairPortJob pj = { a, 0 };
  run_on (a->worker, pair_port_job, &pj);
  g_assert_cmpuint (pj.port, >, 0);

  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
  inet_pton (AF_INET, "127.0.0.3", &from.sin_addr);
  inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
  to.sin_port = htons (pj.port);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &from, sizeof from), ==, 0);
  guint8 buf[1280];
  /* Wrong password first: dropped, nothing handed back. */
  BfIceConsent *bad = bf_ice_consent_new (b->ufrag, b->pwd, a->ufrag, "wrongPassword0123456789ab",
                                          FALSE, 12345);
  gsize n = bf_ice_consent_build_request (bad, buf, sizeof buf);
  g_assert_cmpint (sendto (fd, buf, n, 0, (struct sockaddr *) &to, sizeof to), ==, (gssize) n);
  bf_ice_consent_free (bad);
  sleep_main (300);
  BfMediaCounters c = counters (a);
  g_assert_cmpuint (c.pair_handbacks, ==, 0);
  g_assert_cmpuint (c.dropped_unvalidated, >=, 1);
  /* B's own credentials, from elsewhere. */
  BfIceConsent *moved = bf_ice_consent_new (b->ufrag, b->pwd, a->ufrag, a->pwd, FALSE, 12345);
  n = bf_ice_consent_build_request (moved, buf, sizeof buf);
  g_assert_cmpint (sendto (fd, buf, n, 0, (struct sockaddr *) &to, sizeof to), ==, (gssize) n);
  bf_ice_consent_free (moved);
  close (fd);
  sleep_main (300);
  c = counters (a);
  g_assert_cmpuint (c.pair_handbacks, ==, 1);
  exchange_media (a, b, 20, 2);              /* on libnice's path meanwhile */
  BfMediaCounters c0 = counters (a);
  sleep_main (5000 + 6500);                  /* MOVE_WAIT_MS, then a consent check */
  BfMediaCounters c1 = counters (a);
  g_assert_cmpuint (c1.stun_out - c0.stun_out, >=, 1);   /* direct I/O again */
  exchange_media (a, b, 20, 2);
  g_assert_false (a->ice_failed || b->ice_failed || a->dtls_failed || b->dtls_failed);
  peers_free (a, b);
}

/* Overload sheds at the socket, counted: while A's worker is busy, a burst
 * larger than the socket's receive buffer arrives; what the kernel dropped
 * is dropped_overflow, what got through was read (and dropped as from an
 * unvalidated address): every datagram accounted for. */
static void
sleep_worker (gpointer data)
{
  g_usleep (GPOINTER_TO_UINT (data) * 1000);
}

static void
test_socket_overflow (void)
{
  Peer *a, *b;
  make_pair (&a, &b);
  connect_pair (a, b, TRUE);
  exchange_media (a, b, 20, 2);
  CountersJob j = { .peer = a };
  run_on (a->worker, counters_job, &j);
  g_assert_true (j.have_pair);
  BfMediaCounters before = j.c;

  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (j.local.port) };
  inet_pton (AF_INET, j.local.ip, &to.sin_addr);
  guint8 buf[1000];
  memset (buf, 0x80, sizeof buf);
  bf_media_worker_invoke (a->worker, sleep_worker, GUINT_TO_POINTER (500), NULL);
  g_usleep (50 * 1000);                    /* the worker is asleep now */
  guint sent = 0;
  for (guint i = 0; i < 3000; i++)
    if (sendto (fd, buf, sizeof buf, 0, (struct sockaddr *) &to, sizeof to) == sizeof buf)
      sent++;
  run_on (a->worker, nop, NULL);           /* it woke and read what was queued */
  sleep_main (100);
  /* The kernel reports its drop count with the next datagram it queues. */
  if (sendto (fd, buf, sizeof buf, 0, (struct sockaddr *) &to, sizeof to) == sizeof buf)
    sent++;
  close (fd);
  sleep_main (300);
  BfMediaCounters c = counters (a);
  guint64 overflow = c.dropped_overflow - before.dropped_overflow;
  guint64 read = c.dropped_unvalidated - before.dropped_unvalidated;
  g_test_message ("%u sent during a 500 ms stall: %" G_GUINT64_FORMAT " read, %" G_GUINT64_FORMAT
                  " dropped by the kernel", sent, read, overflow);
  g_assert_cmpuint (overflow, >, 0);
  g_assert_cmpuint (overflow + read, ==, sent);
  exchange_media (a, b, 20, 2);            /* and it goes on */
  peers_free (a, b);
}

int
main (int argc, char **argv)
{
  enter_private_netns (argc, argv);
  g_test_init (&argc, &argv, NULL);

  g_autoptr (GError) error = NULL;
  pool = bf_media_pool_new (2, &error);
  g_assert_no_error (error);
  cert_a = bf_media_cert_new (0, &error);
  cert_b = bf_media_cert_new (0, &error);
  cert_other = bf_media_cert_new (0, &error);
  g_assert_no_error (error);

  g_test_add_data_func ("/media/transport/connect-gcm", GINT_TO_POINTER (FALSE), test_connect);
  g_test_add_data_func ("/media/transport/connect-aes-cm", GINT_TO_POINTER (TRUE), test_connect);
  g_test_add_data_func ("/media/transport/fingerprint-mismatch/client-checks",
                        GINT_TO_POINTER (FALSE), test_fingerprint_mismatch);
  g_test_add_data_func ("/media/transport/fingerprint-mismatch/server-checks",
                        GINT_TO_POINTER (TRUE), test_fingerprint_mismatch);
  g_test_add_func ("/media/transport/close-notify", test_close_notify);
  g_test_add_func ("/media/transport/garbage", test_garbage);
  g_test_add_func ("/media/transport/dtls-timeout", test_dtls_timeout);
  g_test_add_data_func ("/media/transport/ice-timeout", GINT_TO_POINTER (FALSE), test_ice_timeout);
  g_test_add_data_func ("/media/transport/ice-failed-end-of-candidates", GINT_TO_POINTER (TRUE),
                        test_ice_timeout);
  g_test_add_func ("/media/transport/no-address", test_no_address);
  g_test_add_func ("/media/transport/peer-vanishes", test_peer_vanishes);
  g_test_add_func ("/media/transport/ice-restart", test_ice_restart);
  g_test_add_func ("/media/transport/peer-moves", test_peer_moves);
  g_test_add_func ("/media/transport/socket-overflow", test_socket_overflow);
  g_test_add_func ("/media/transport/relay-chain", test_relay_chain);
  g_test_add_func ("/media/transport/consent-keeps-session", test_consent_keeps_session);
  g_test_add_func ("/media/transport/short-consent-timeout", test_short_consent_timeout);
  g_test_add_func ("/media/transport/restarts-do-not-extend-ice-timeout",
                   test_restarts_do_not_extend_ice_timeout);

  int ret = g_test_run ();
  bf_media_pool_free (pool);
  bf_media_cert_unref (cert_a);
  bf_media_cert_unref (cert_b);
  bf_media_cert_unref (cert_other);
  return ret;
}
