#define G_LOG_DOMAIN "belfry-media"
/* belfry media: a worker's shared port (see port-mux.h). */
#include "port-mux.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <gio/gio.h>

#include "ice-agent.h"
#include "rx-batch.h"

/* Request transaction ids a link keeps routable: a few per pair being
 * checked (ice-agent.c bounds the pairs), older ones forgotten. */
#define LINK_TRANSACTIONS 32
/* Each shared socket's kernel buffers, both ways (see open_socket). */
#define SOCKET_BUFFER (4 * 1024 * 1024)

typedef struct {
  BfPortMux *mux;
  guint index;
  int fd;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  BfMediaWatch *watch;
  guint32 overflow_seen;
} Socket;

/* A remote address on one of the sockets: the selected-pair table's key. */
typedef struct {
  guint8 local;
  guint8 family;
  guint16 port;
  guint8 addr[16];
} AddrKey;

typedef struct {
  guint8 id[12];
} TxKey;

struct _BfPortMux {
  Socket sockets[BF_PORT_MUX_MAX_LOCAL];
  guint n_sockets;
  BfMediaSendQueue *queue;
  BfMediaMetrics *metrics;
  /* char* (owned) -> GPtrArray of links: the transports of one BUNDLE
   * offer share their credentials (session-transports.c) */
  GHashTable *by_ufrag;
  GHashTable *by_addr;           /* AddrKey* (link's) -> link */
  GHashTable *by_tx;             /* TxKey* (link's) -> link */
  guint n_links;
  BfMediaCounters counters;      /* the worker's series: dropped_unvalidated, overflow */
  BfMediaCounters flushed;
  BfMediaCountersEntry folded;
  guint64 stun_unknown, selections_refused;
};

struct _BfPortMuxLink {
  /* First: what every packet sent reads (bf_port_mux_link_reserve, the
   * send queue's flush), in one cache line for an IPv4 peer. */
  BfPortMux *mux;
  gboolean selected;
  BfMediaSendDest dest;
  const BfPortMuxCallbacks *callbacks;
  gpointer user_data;
  char *ufrag, *old_ufrag;
  char *remote_ufrag;
  AddrKey key;
  TxKey tx[LINK_TRANSACTIONS];
  gboolean tx_used[LINK_TRANSACTIONS];
  guint tx_next;
};

/* --- keys --- */

static gboolean
addr_key (guint local, const struct sockaddr *sa, socklen_t len, AddrKey *k)
{
  memset (k, 0, sizeof *k);
  k->local = (guint8) local;
  if (sa->sa_family == AF_INET && len >= sizeof (struct sockaddr_in))
    {
      const struct sockaddr_in *s = (const void *) sa;
      k->family = 4;
      k->port = s->sin_port;
      memcpy (k->addr, &s->sin_addr, 4);
      return TRUE;
    }
  if (sa->sa_family == AF_INET6 && len >= sizeof (struct sockaddr_in6))
    {
      const struct sockaddr_in6 *s = (const void *) sa;
      k->family = 6;
      k->port = s->sin6_port;
      memcpy (k->addr, &s->sin6_addr, 16);
      return TRUE;
    }
  return FALSE;
}

static guint
addr_key_hash (gconstpointer p)
{
  const guint8 *b = p;
  guint h = 2166136261u;
  for (gsize i = 0; i < sizeof (AddrKey); i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static gboolean
addr_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (AddrKey)) == 0;
}

static guint
tx_hash (gconstpointer p)
{
  guint h;
  memcpy (&h, p, sizeof h);   /* random bits already */
  return h;
}

static gboolean
tx_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (TxKey)) == 0;
}

/* --- receiving --- */

static gboolean
is_stun (const guint8 *data, gsize len)
{
  return len >= 20 && data[0] <= 3;   /* RFC 7983 §7 */
}

/* The link a request for @ufrag is for: when links share it (a BUNDLE
 * offer's transports, with a peer that does not bundle), the one whose
 * peer's ufrag follows in USERNAME, else the first. */
static BfPortMuxLink *
by_username (BfPortMux *mux, const char *ufrag, const BfIceStunPeek *peek)
{
  GPtrArray *links = g_hash_table_lookup (mux->by_ufrag, ufrag);
  if (links == NULL || links->len == 0)
    return NULL;
  if (links->len > 1 && peek->remote_ufrag)
    for (guint i = 0; i < links->len; i++)
      {
        BfPortMuxLink *l = g_ptr_array_index (links, i);
        if (l->remote_ufrag && strlen (l->remote_ufrag) == peek->remote_ufrag_len
            && memcmp (l->remote_ufrag, peek->remote_ufrag, peek->remote_ufrag_len) == 0)
          return l;
      }
  return g_ptr_array_index (links, 0);
}

static void
add_ufrag (BfPortMuxLink *l, const char *ufrag)
{
  GPtrArray *links = g_hash_table_lookup (l->mux->by_ufrag, ufrag);
  if (links == NULL)
    {
      links = g_ptr_array_new ();
      g_hash_table_insert (l->mux->by_ufrag, g_strdup (ufrag), links);
    }
  g_ptr_array_add (links, l);
}

static void
route_stun (BfPortMux *mux, guint local, guint8 *data, gsize len, const struct sockaddr *from,
            socklen_t from_len)
{
  BfIceStunPeek peek;
  BfPortMuxLink *link = NULL;
  if (bf_ice_stun_peek (data, len, &peek))
    {
      if (peek.cls == 0 && peek.ufrag && peek.ufrag_len > 0 && peek.ufrag_len <= 256)
        {
          char ufrag[257];
          memcpy (ufrag, peek.ufrag, peek.ufrag_len);
          ufrag[peek.ufrag_len] = '\0';
          link = by_username (mux, ufrag, &peek);
        }
      else if (peek.cls >= 2)
        link = g_hash_table_lookup (mux->by_tx, peek.transaction);
    }
  /* Keepalives (Binding indications, RFC 8445 §11) and anything else
   * from a selected address are that link's. */
  AddrKey k;
  if (link == NULL && addr_key (local, from, from_len, &k))
    link = g_hash_table_lookup (mux->by_addr, &k);
  if (link == NULL)
    {
      mux->stun_unknown++;
      return;
    }
  link->callbacks->stun (local, data, len, from, from_len, link->user_data);
}

void
bf_port_mux_input (BfPortMux *mux, guint local, guint8 *data, gsize len,
                   const struct sockaddr *from, socklen_t from_len)
{
  if (local >= mux->n_sockets)
    return;
  if (is_stun (data, len))
    {
      route_stun (mux, local, data, len, from, from_len);
      return;
    }
  AddrKey k;
  BfPortMuxLink *link = addr_key (local, from, from_len, &k)
                          ? g_hash_table_lookup (mux->by_addr, &k) : NULL;
  if (link == NULL)
    {
      mux->counters.dropped_unvalidated++;
      return;
    }
  link->callbacks->receive (data, len, link->user_data);
}

static void
readable (gpointer user_data)
{
  Socket *s = user_data;
  BfPortMux *mux = s->mux;
  bf_media_send_queue_begin (mux->queue);
  for (guint round = 0; round < BF_MEDIA_RX_ROUNDS; round++)
    {
      BfMediaRxBatch *rx = bf_media_rx_batch_prepare ();
      int n = bf_media_rx_batch_read (rx, s->fd);
      if (n <= 0)
        break;
      mux->counters.dropped_overflow += bf_media_rx_batch_overflow (&rx->msg[n - 1].msg_hdr,
                                                                    &s->overflow_seen);
      for (int i = 0; i < n; i++)
        {
          gsize len = rx->msg[i].msg_len;
          if (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC)
            len = BF_MEDIA_RX_BUF;   /* too long: the transport's demux drops it */
          bf_port_mux_input (mux, s->index, rx->buf[i], len,
                             (const struct sockaddr *) &rx->from[i],
                             rx->msg[i].msg_hdr.msg_namelen);
        }
      /* Flush between rounds too: a long wake-up must not hold packets. */
      bf_media_send_queue_flush (mux->queue);
      if (n < BF_MEDIA_RX_BATCH)
        break;
    }
  bf_media_send_queue_end (mux->queue);
}

/* --- the mux --- */

static gboolean
open_socket (Socket *s, const char *address, guint16 port, GError **error)
{
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (address);
  if (ia == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not an IP address",
                   address);
      return FALSE;
    }
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (ia, port);
  struct sockaddr_storage ss;
  memset (&ss, 0, sizeof ss);
  gssize len = g_socket_address_get_native_size (sa);
  if (len <= 0 || !g_socket_address_to_native (sa, &ss, sizeof ss, error))
    return FALSE;
  s->fd = socket (ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0 || bind (s->fd, (struct sockaddr *) &ss, (socklen_t) len) < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot bind %s port %u: %s",
                   address, port, g_strerror (e));
      return FALSE;
    }
  s->addr_len = sizeof s->addr;
  if (getsockname (s->fd, (struct sockaddr *) &s->addr, &s->addr_len) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "getsockname: %s",
                   g_strerror (errno));
      return FALSE;
    }
  bf_media_rx_batch_enable_overflow (s->fd);
  /* One socket carries every call of the worker: the default buffers
   * (~200 KiB) overflowed at 500 calls (0.1-0.3 % lost, tests/bench/
   * bench_call.py).  FORCE goes past net.core.[rw]mem_max where belfry
   * may (CAP_NET_ADMIN); otherwise the kernel caps the plain request. */
  int size = SOCKET_BUFFER;
  if (setsockopt (s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt (s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt (s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    setsockopt (s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  return TRUE;
}

BfPortMux *
bf_port_mux_new (BfMediaLoop *loop, BfMediaSendQueue *queue, BfMediaMetrics *metrics,
                 char **addresses, guint16 port, GError **error)
{
  BfPortMux *mux = g_new0 (BfPortMux, 1);
  mux->queue = queue;
  mux->by_ufrag = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_ptr_array_unref);
  mux->by_addr = g_hash_table_new (addr_key_hash, addr_key_equal);
  mux->by_tx = g_hash_table_new (tx_hash, tx_equal);
  for (guint i = 0; addresses && addresses[i]; i++)
    {
      if (mux->n_sockets >= BF_PORT_MUX_MAX_LOCAL)
        break;
      Socket *s = &mux->sockets[mux->n_sockets];
      s->mux = mux;
      s->index = mux->n_sockets;
      s->fd = -1;
      mux->n_sockets++;
      if (!open_socket (s, addresses[i], port, error))
        {
          bf_port_mux_free (mux);
          return NULL;
        }
      s->watch = bf_media_loop_watch (loop, s->fd, readable, s, error);
      if (s->watch == NULL)
        {
          bf_port_mux_free (mux);
          return NULL;
        }
    }
  if (mux->n_sockets == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no address for the shared port");
      bf_port_mux_free (mux);
      return NULL;
    }
  if (metrics)
    {
      mux->metrics = metrics;
      mux->folded = (BfMediaCountersEntry) { .now = &mux->counters, .flushed = &mux->flushed };
      bf_media_metrics_track (metrics, &mux->folded);
    }
  return mux;
}

void
bf_port_mux_free (BfPortMux *mux)
{
  if (mux == NULL)
    return;
  g_warn_if_fail (mux->n_links == 0);
  if (mux->metrics)
    bf_media_metrics_untrack (mux->metrics, &mux->folded);
  for (guint i = 0; i < mux->n_sockets; i++)
    {
      g_clear_pointer (&mux->sockets[i].watch, bf_media_watch_free);
      if (mux->sockets[i].fd >= 0)
        close (mux->sockets[i].fd);
    }
  g_hash_table_unref (mux->by_ufrag);
  g_hash_table_unref (mux->by_addr);
  g_hash_table_unref (mux->by_tx);
  g_free (mux);
}

guint
bf_port_mux_get_n_locals (BfPortMux *mux)
{
  return mux->n_sockets;
}

void
bf_port_mux_get_local (BfPortMux *mux, guint local, struct sockaddr_storage *addr,
                       socklen_t *len)
{
  g_return_if_fail (local < mux->n_sockets);
  memcpy (addr, &mux->sockets[local].addr, sizeof *addr);
  *len = mux->sockets[local].addr_len;
}

void
bf_port_mux_get_stats (BfPortMux *mux, BfPortMuxStats *stats)
{
  stats->dropped_unvalidated = mux->counters.dropped_unvalidated;
  stats->stun_unknown = mux->stun_unknown;
  stats->selections_refused = mux->selections_refused;
}

/* --- links --- */

BfPortMuxLink *
bf_port_mux_link_new (BfPortMux *mux, const char *ufrag, const BfPortMuxCallbacks *callbacks,
                      BfMediaCounters *counters, gpointer user_data)
{
  if (ufrag == NULL)
    return NULL;
  BfPortMuxLink *l = g_new0 (BfPortMuxLink, 1);
  l->mux = mux;
  l->callbacks = callbacks;
  l->user_data = user_data;
  l->ufrag = g_strdup (ufrag);
  l->dest.counters = counters;
  l->dest.fd = -1;
  add_ufrag (l, ufrag);
  mux->n_links++;
  return l;
}

void
bf_port_mux_link_set_remote_ufrag (BfPortMuxLink *l, const char *ufrag)
{
  g_free (l->remote_ufrag);
  l->remote_ufrag = g_strdup (ufrag);
}

static void
unselect (BfPortMuxLink *l)
{
  if (!l->selected)
    return;
  if (g_hash_table_lookup (l->mux->by_addr, &l->key) == l)
    g_hash_table_remove (l->mux->by_addr, &l->key);
  bf_media_send_queue_forget (l->mux->queue, &l->dest);
  l->selected = FALSE;
}

static void
forget_ufrag (BfPortMuxLink *l, char **ufrag)
{
  GPtrArray *links = *ufrag ? g_hash_table_lookup (l->mux->by_ufrag, *ufrag) : NULL;
  if (links)
    {
      g_ptr_array_remove (links, l);
      if (links->len == 0)
        g_hash_table_remove (l->mux->by_ufrag, *ufrag);
    }
  g_clear_pointer (ufrag, g_free);
}

void
bf_port_mux_link_free (BfPortMuxLink *l)
{
  if (l == NULL)
    return;
  unselect (l);
  forget_ufrag (l, &l->ufrag);
  forget_ufrag (l, &l->old_ufrag);
  g_free (l->remote_ufrag);
  for (guint i = 0; i < LINK_TRANSACTIONS; i++)
    if (l->tx_used[i] && g_hash_table_lookup (l->mux->by_tx, &l->tx[i]) == l)
      g_hash_table_remove (l->mux->by_tx, &l->tx[i]);
  l->mux->n_links--;
  g_free (l);
}

void
bf_port_mux_link_set_ufrag (BfPortMuxLink *l, const char *ufrag)
{
  if (g_strcmp0 (l->ufrag, ufrag) == 0)
    return;
  forget_ufrag (l, &l->old_ufrag);
  l->old_ufrag = g_steal_pointer (&l->ufrag);
  l->ufrag = g_strdup (ufrag);
  add_ufrag (l, ufrag);
}

gboolean
bf_port_mux_link_select (BfPortMuxLink *l, guint local, const struct sockaddr *remote,
                         socklen_t remote_len)
{
  AddrKey k;
  if (local >= l->mux->n_sockets || remote_len > sizeof (struct sockaddr_storage)
      || !addr_key (local, remote, remote_len, &k))
    return FALSE;
  BfPortMuxLink *owner = g_hash_table_lookup (l->mux->by_addr, &k);
  if (owner == l)
    return TRUE;
  if (owner != NULL)
    {
      /* Another call's peer's address, announced by this one's peer (or
       * two peers behind one NAT mapping, which cannot be told apart):
       * the first holder keeps it. */
      l->mux->selections_refused++;
      return FALSE;
    }
  /* After an ICE restart the old pair's packets stop reaching us once the
   * new one is selected. */
  unselect (l);
  l->key = k;
  l->selected = TRUE;
  l->dest.fd = l->mux->sockets[local].fd;
  memset (&l->dest.addr, 0, sizeof l->dest.addr);
  memcpy (&l->dest.addr, remote, remote_len);
  l->dest.addr_len = remote_len;
  g_hash_table_insert (l->mux->by_addr, &l->key, l);
  return TRUE;
}

static void
remember_tx (BfPortMuxLink *l, const guint8 *data, gsize len)
{
  BfIceStunPeek peek;
  if (!bf_ice_stun_peek (data, len, &peek) || peek.cls != 0)
    return;
  BfPortMuxLink *owner = g_hash_table_lookup (l->mux->by_tx, peek.transaction);
  if (owner != NULL)
    return;                       /* a retransmission (or, 2^-96, a clash) */
  guint i = l->tx_next;
  l->tx_next = (l->tx_next + 1) % LINK_TRANSACTIONS;
  if (l->tx_used[i] && g_hash_table_lookup (l->mux->by_tx, &l->tx[i]) == l)
    g_hash_table_remove (l->mux->by_tx, &l->tx[i]);
  memcpy (l->tx[i].id, peek.transaction, sizeof l->tx[i].id);
  l->tx_used[i] = TRUE;
  g_hash_table_insert (l->mux->by_tx, &l->tx[i], l);
}

static gboolean
send_to (BfPortMux *mux, int fd, const struct sockaddr *to, socklen_t to_len, const guint8 *data,
         gsize len)
{
  bf_media_send_queue_flush (mux->queue);   /* keep the order of what this worker sends */
  ssize_t r;
  do
    r = sendto (fd, data, len, MSG_DONTWAIT, to, to_len);
  while (r < 0 && errno == EINTR);
  return r >= 0 && (gsize) r == len;
}

gboolean
bf_port_mux_link_send_stun (BfPortMuxLink *l, guint local, const struct sockaddr *to,
                            socklen_t to_len, const guint8 *data, gsize len)
{
  if (local >= l->mux->n_sockets)
    return FALSE;
  remember_tx (l, data, len);
  return send_to (l->mux, l->mux->sockets[local].fd, to, to_len, data, len);
}

gboolean
bf_port_mux_link_send (BfPortMuxLink *l, const guint8 *data, gsize len)
{
  if (!l->selected)
    return FALSE;
  return send_to (l->mux, l->dest.fd, (const struct sockaddr *) &l->dest.addr, l->dest.addr_len,
                  data, len);
}

guint8 *
bf_port_mux_link_reserve (BfPortMuxLink *l)
{
  if (!l->selected || !bf_media_send_queue_batching (l->mux->queue))
    return NULL;
  return bf_media_send_queue_reserve (l->mux->queue);
}

void
bf_port_mux_link_commit (BfPortMuxLink *l, gsize len, gboolean rtcp)
{
  bf_media_send_queue_commit (l->mux->queue, &l->dest, len, rtcp);
}
