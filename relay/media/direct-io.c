#define G_LOG_DOMAIN "belfry-media"
/* belfry media: direct I/O on a selected pair (see direct-io.h). */
#include "direct-io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <gio/gio.h>
#include <glib-unix.h>

#include "consent-clock.h"
#include "ice-consent.h"
#include "rx-batch.h"
#include "send-queue.h"
#include "srtp-session.h"

#define STUN_BUF 1280

struct _BfMediaDirectIo {
  /* First: what every packet sent reads (_reserve, _commit, the send
   * queue's flush), in one cache line for an IPv4 peer. */
  BfMediaSendQueue *queue;        /* the worker's */
  gboolean lost;                  /* consent expired: terminal */
  BfMediaSendDest dest;           /* the socket's fd and the remote candidate */

  BfMediaWorker *worker;
  BfMediaCounters *counters;      /* the transport's */
  const BfMediaDirectIoCallbacks *callbacks;
  gpointer user_data;

  GSocket *socket;                /* the selected pair's (libnice's) */
  BfMediaWatch *rx_watch;         /* in the worker's epoll set */
  gboolean moved;                 /* peer_moved was called */

  BfIceConsent *consent;
  BfConsentClock *consent_clock;  /* on the worker's timer heap */
  guint32 overflow_seen;          /* the socket's SO_RXQ_OVFL count so far */
};

gboolean
bf_media_direct_io_enabled (void)
{
  static gsize once;
  static gboolean enabled;
  if (g_once_init_enter (&once))
    {
      const char *e = g_getenv ("BELFRY_MEDIA_DIRECT_IO");
      enabled = !(e && (g_str_equal (e, "0") || g_ascii_strcasecmp (e, "false") == 0));
      g_once_init_leave (&once, 1);
    }
  return enabled;
}

/* --- sending --- */

static gboolean
send_now (BfMediaDirectIo *d, const guint8 *data, gsize len)
{
  if (d->lost)
    return FALSE;                 /* consent lost: no more sending (RFC 7675) */
  bf_media_send_queue_flush (d->queue);   /* keep the order of what this worker sends */
  ssize_t r;
  do
    r = sendto (d->dest.fd, data, len, MSG_DONTWAIT, (struct sockaddr *) &d->dest.addr,
                d->dest.addr_len);
  while (r < 0 && errno == EINTR);
  return r >= 0 && (gsize) r == len;
}

gboolean
bf_media_direct_io_send (BfMediaDirectIo *d, const guint8 *data, gsize len)
{
  return send_now (d, data, len);
}

guint8 *
bf_media_direct_io_reserve (BfMediaDirectIo *d)
{
  if (d->lost || !bf_media_send_queue_batching (d->queue))
    return NULL;
  return bf_media_send_queue_reserve (d->queue);
}

void
bf_media_direct_io_commit (BfMediaDirectIo *d, gsize len, gboolean rtcp)
{
  bf_media_send_queue_commit (d->queue, &d->dest, len, rtcp);
}

static void
stun_send (BfMediaDirectIo *d, const guint8 *data, gsize len)
{
  if (send_now (d, data, len))
    d->counters->stun_out++;
  else
    d->counters->send_errors++;
}

/* --- consent (RFC 7675, consent-clock.h) --- */

static void
consent_send (const guint8 *data, gsize len, gpointer user_data)
{
  stun_send (user_data, data, len);
}

static void
consent_lost (gpointer user_data)
{
  BfMediaDirectIo *d = user_data;
  d->lost = TRUE;
  bf_media_send_queue_forget (d->queue, &d->dest);
  d->callbacks->consent_lost (d->user_data);
}

static const BfConsentClockCallbacks consent_callbacks = {
  .send = consent_send,
  .lost = consent_lost,
};

/* --- receiving --- */

static gboolean
same_address (const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr_storage *b)
{
  if (a->ss_family != b->ss_family)
    return FALSE;
  if (a->ss_family == AF_INET)
    {
      const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;
      return alen >= sizeof *x && x->sin_port == y->sin_port
             && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
  if (a->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;
      return alen >= sizeof *x && x->sin6_port == y->sin6_port
             && memcmp (&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
  return FALSE;
}

/* TRUE when @data was STUN for us (answered or consumed). */
static gboolean
take_stun (BfMediaDirectIo *d, const guint8 *data, gsize len,
           const struct sockaddr_storage *from, socklen_t from_len)
{
  guint8 reply[STUN_BUF];
  gsize reply_len = 0;
  switch (bf_ice_consent_handle (d->consent, data, len, (const struct sockaddr *) from, from_len,
                                 reply, &reply_len))
    {
    case BF_ICE_STUN_NOT_STUN:
      return FALSE;               /* as libnice did: the demux drops it */
    case BF_ICE_STUN_REPLY:
      d->counters->stun_in++;
      if (!d->lost)
        stun_send (d, reply, reply_len);
      return TRUE;
    case BF_ICE_STUN_CONSENT:
      d->counters->stun_in++;
      bf_consent_clock_answered (d->consent_clock);
      return TRUE;
    case BF_ICE_STUN_IGNORED:
    default:
      d->counters->stun_in++;
      return TRUE;
    }
}

static void
readable (gpointer user_data)
{
  BfMediaDirectIo *d = user_data;
  bf_media_send_queue_begin (d->queue);
  for (guint round = 0; round < BF_MEDIA_RX_ROUNDS; round++)
    {
      BfMediaRxBatch *rx = bf_media_rx_batch_prepare ();
      int n = bf_media_rx_batch_read (rx, d->dest.fd);
      if (n <= 0)
        break;
      /* Overload sheds at the socket: what the kernel dropped because the
       * worker did not read in time is counted (the count is the socket's
       * total, carried by each datagram). */
      d->counters->dropped_overflow += bf_media_rx_batch_overflow (&rx->msg[n - 1].msg_hdr,
                                                                   &d->overflow_seen);
      for (int i = 0; i < n; i++)
        {
          guint8 *data = rx->buf[i];
          gsize len = rx->msg[i].msg_len;
          socklen_t from_len = rx->msg[i].msg_hdr.msg_namelen;
          gboolean truncated = (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
          if (!same_address (&rx->from[i], from_len, &d->dest.addr))
            {
              /* A check with our credentials from elsewhere: the peer
               * moved.  It is not answered here (libnice, taking the
               * socket back, answers its retransmission and learns the
               * address); everything else from there is dropped, as
               * libnice did (nice_component_verify_remote_candidate), and
               * counted. */
              guint8 reply[STUN_BUF];
              gsize reply_len = 0;
              if (!d->moved && !d->lost && len >= 1 && data[0] <= 3 && !truncated
                  && bf_ice_consent_handle (d->consent, data, len,
                                            (const struct sockaddr *) &rx->from[i], from_len,
                                            reply, &reply_len) == BF_ICE_STUN_REPLY)
                {
                  d->moved = TRUE;
                  d->counters->stun_in++;
                  d->callbacks->peer_moved (d->user_data);
                  continue;
                }
              d->counters->dropped_unvalidated++;
              continue;
            }
          if (len >= 1 && data[0] <= 3 && !truncated
              && take_stun (d, data, len, &rx->from[i], from_len))
            continue;
          if (truncated)
            len = BF_MEDIA_RX_BUF;   /* too long: the demux drops it */
          d->callbacks->receive (data, len, d->user_data);
        }
      /* Flush between rounds too: a long wake-up must not hold packets. */
      bf_media_send_queue_flush (d->queue);
      if (n < BF_MEDIA_RX_BATCH)
        break;
    }
  bf_media_send_queue_end (d->queue);
}

/* --- take-over --- */

/* libnice's sockets are moved to this context, which nobody iterates,
 * while a transport reads its pair itself. */
static GMainContext *
parked_context (void)
{
  static GMainContext *parked;
  if (g_once_init_enter (&parked))
    g_once_init_leave (&parked, g_main_context_new ());
  return parked;
}

BfMediaDirectIo *
bf_media_direct_io_new (BfMediaWorker *worker, NiceAgent *agent, guint stream_id,
                        guint component_id, const BfMediaDirectIoParams *params,
                        BfMediaCounters *counters, const BfMediaDirectIoCallbacks *callbacks,
                        gpointer user_data)
{
  g_return_val_if_fail (bf_media_worker_is_current (worker), NULL);
  NiceCandidate *lc = NULL, *rc = NULL;
  if (!nice_agent_get_selected_pair (agent, stream_id, component_id, &lc, &rc))
    return NULL;
  /* NULL for relayed and TCP pairs: those stay on libnice's path. */
  g_autoptr (GSocket) socket = nice_agent_get_selected_socket (agent, stream_id, component_id);
  if (socket == NULL)
    return NULL;
  g_autofree gchar *ufrag = NULL, *pwd = NULL;
  if (!nice_agent_get_local_credentials (agent, stream_id, &ufrag, &pwd))
    return NULL;

  BfMediaDirectIo *d = g_new0 (BfMediaDirectIo, 1);
  d->worker = worker;
  d->queue = bf_media_worker_get_send_queue (worker);
  d->counters = counters;
  d->callbacks = callbacks;
  d->user_data = user_data;
  d->dest.fd = g_socket_get_fd (socket);
  nice_address_copy_to_sockaddr (&rc->addr, (struct sockaddr *) &d->dest.addr);
  d->dest.addr_len = d->dest.addr.ss_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                        : sizeof (struct sockaddr_in);
  d->dest.counters = counters;
  d->socket = g_steal_pointer (&socket);
  d->consent = bf_ice_consent_new (ufrag, pwd, params->remote_ufrag, params->remote_pwd,
                                   params->controlling, lc->priority);
  memset (pwd, 0, strlen (pwd));

  bf_media_rx_batch_enable_overflow (d->dest.fd);
  BfMediaLoop *loop = bf_media_worker_get_loop (worker);
  g_autoptr (GError) error = NULL;
  d->rx_watch = bf_media_loop_watch (loop, d->dest.fd, readable, d, &error);
  if (d->rx_watch == NULL)
    {
      g_warning ("media: no direct I/O: %s", error->message);   /* libnice's path stays */
      bf_ice_consent_free (d->consent);
      g_clear_object (&d->socket);
      g_free (d);
      return NULL;
    }
  /* libnice stops reading: its sockets go to a context nobody runs. */
  nice_agent_attach_recv (agent, stream_id, component_id, parked_context (), NULL, NULL);
  d->consent_clock = bf_consent_clock_new (loop, d->consent, params->consent_timeout_ms,
                                           &consent_callbacks, d);
  g_debug ("media: direct I/O on fd %d", d->dest.fd);
  return d;
}

void
bf_media_direct_io_free (BfMediaDirectIo *d)
{
  if (d == NULL)
    return;
  bf_consent_clock_free (d->consent_clock);
  bf_media_watch_free (d->rx_watch);
  bf_media_send_queue_forget (d->queue, &d->dest);
  bf_ice_consent_free (d->consent);
  g_clear_object (&d->socket);
  g_free (d);
}
