#define G_LOG_DOMAIN "belfry-proxy65"
/* The proxy65 module: the component's domain is a XEP-0065 SOCKS5
 * bytestreams proxy.  Clients discover it (disco, bytestreams query), both
 * parties CONNECT with the stream's SHA-1 hash, the requester activates the
 * stream with an iq, and from then on the two sockets are spliced to each
 * other in the kernel (splice-pair.c) on one of the module's relay threads
 * (p65-pool.c).  Everything else (accepting, SOCKS5, activation, limits,
 * counters, logs) runs on the main thread; a relay thread reports each
 * stream's end back here (on_stream_done).
 *
 * Every client socket has one owner at a time: its P65Conn until
 * activation, then the stream's P65Pair on its relay thread (which takes it
 * only when its pipes could be made).  Nobody else closes it.
 * Unauthenticated clients cost a bounded number of descriptors
 * (max-pending, max-pending-per-address, the handshake and connect
 * timeouts); when the process runs out anyway, accepting pauses instead of
 * spinning on the listening socket. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <gmodule.h>
#include <belfry/metrics.h>
#include <belfry/module.h>

#include "p65-pool.h"
#include "proxy65-stats.h"
#include "socks5.h"
#include "splice-pair.h"

#define NS_BYTESTREAMS "http://jabber.org/protocol/bytestreams"
#define ACCEPTS_PER_WAKEUP 64
/* Connections still in the SOCKS5 handshake beyond max-pending that are
 * tolerated before new ones are closed at accept. */
#define HANDSHAKE_SLACK 64
/* Out of descriptors (or kernel memory) at accept: stop watching the
 * listening socket for this long, doubling while it lasts.  The waiting
 * connections stay in the kernel's backlog meanwhile. */
#define ACCEPT_PAUSE_MIN_MS 100
#define ACCEPT_PAUSE_MAX_MS 1600
/* Lines about refusals that a flood repeats (at accept, accept errors) are
 * logged at most once per this many seconds, with a count of the rest. */
#define FLOOD_LOG_INTERVAL_S 10

typedef struct _P65 P65;
typedef struct _P65Entry P65Entry;

typedef enum { CONN_GREETING, CONN_REQUEST, CONN_WAITING } ConnState;

typedef struct {
  P65 *p;
  int fd;
  guint watch_id;
  ConnState state;
  guint8 buf[P65_SOCKS5_MAX_REPLY];
  gsize have;
  gsize need;
  char hash[P65_HASH_LEN + 1];     /* lower-cased: the key */
  char dst_addr[P65_HASH_LEN + 1]; /* as the client sent it: echoed in the reply */
  gint64 created;
  P65Entry *entry;
  char peer[64];
  char *addr_key;                  /* counted in P65.per_addr */
} P65Conn;

/* One stream hash, from its first CONNECT until its stream ends: an
 * activated hash is remembered so that nobody joins or re-activates it. */
struct _P65Entry {
  char hash[P65_HASH_LEN + 1];
  P65Conn *target;      /* first CONNECT for the hash */
  P65Conn *requester;   /* second */
  gboolean activated;
};

/* Main thread only: the stream's pair is its relay thread's. */
typedef struct {
  P65 *p;
  char hash[P65_HASH_LEN + 1];
  char *requester;
  char *requester_bare;
  char *target;
  gint64 started;
} P65Stream;

/* One line now and then about something a flood repeats. */
typedef struct {
  gint64 next;          /* monotonic time before which lines are held back */
  guint64 held;         /* occurrences not logged since the last line */
} FloodLog;

struct _P65 {
  BfModule *module;
  /* configuration */
  GInetSocketAddress *listen;
  char *advertise_host;
  guint16 advertise_port;
  char **allow_domains;        /* NULL: anyone */
  guint connect_timeout, idle_timeout;
  guint handshake_timeout;
  guint max_streams, max_streams_per_jid, max_pending, max_pending_per_address;
  guint threads;               /* relay threads */
  P65PairLimits pair_limits;
  P65Pool *pool;
  /* state */
  int listen_fd;
  guint listen_id;
  guint timer_id;
  GHashTable *conns;           /* P65Conn* set */
  GHashTable *entries;         /* hash -> P65Entry* */
  GHashTable *streams;         /* P65Stream* set */
  GHashTable *per_jid;         /* requester bare JID -> active streams */
  GHashTable *per_addr;        /* address key -> conns (pending) from it */
  guint waiting;               /* conns in CONN_WAITING */
  /* accepting paused (out of descriptors): one episode until it works again */
  guint resume_id;
  guint pause_ms;
  gint64 paused_since;
  guint64 pause_failures;      /* accept failures in this episode */
  gboolean pause_logged;       /* its start was logged: so is its end */
  FloodLog accept_log, refuse_log, timeout_log, gone_log;
  /* counters (bytes: of closed streams) */
  BfProxy65Stats stats;
  BfMetric *m_streams, *m_open, *m_bytes;   /* include/belfry/metrics.h */
  /* the rest of `stats` as metrics, published by the 1 s timer */
  BfMetric *m_connections, *m_refused[BF_PROXY65_REFUSED_N], *m_iq_refused, *m_relay_failures,
           *m_idle_timeouts, *m_accept_errors, *m_accept_pauses, *m_pending, *m_paused;
  BfProxy65Stats published;    /* what the metrics already hold */
};

/* TRUE when a line may be logged now; *held then says how many were not
 * since the previous one. */
static gboolean
flood_log_allow (FloodLog *fl, guint64 *held)
{
  gint64 now = g_get_monotonic_time ();
  if (now < fl->next)
    {
      fl->held++;
      return FALSE;
    }
  *held = fl->held;
  fl->held = 0;
  fl->next = now + FLOOD_LOG_INTERVAL_S * G_USEC_PER_SEC;
  return TRUE;
}

static char *
short_hash (const char *hash)
{
  return g_strndup (hash, 8);
}

/* --- connections before activation --- */

static void
conn_free (P65Conn *c)
{
  P65 *p = c->p;
  if (c->watch_id)
    g_source_remove (c->watch_id);
  if (c->fd >= 0)
    close (c->fd);
  if (c->state == CONN_WAITING)
    p->waiting--;
  if (c->addr_key)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (p->per_addr, c->addr_key));
      if (n > 1)
        g_hash_table_insert (p->per_addr, g_steal_pointer (&c->addr_key), GUINT_TO_POINTER (n - 1));
      else
        g_hash_table_remove (p->per_addr, c->addr_key);
      g_free (c->addr_key);
    }
  if (c->entry)
    {
      P65Entry *e = c->entry;
      if (e->target == c)
        e->target = NULL;
      if (e->requester == c)
        e->requester = NULL;
      if (e->target == NULL && e->requester == NULL && !e->activated)
        g_hash_table_remove (p->entries, e->hash);
    }
  g_free (c);
}

static void
conn_drop (P65Conn *c)
{
  g_hash_table_remove (c->p->conns, c);   /* frees through conn_free */
}

static void
conn_refuse (P65Conn *c, BfProxy65Refusal reason, const guint8 *reply, gsize reply_len,
             const char *why)
{
  c->p->stats.refused[reason]++;
  g_message ("refused SOCKS5 connection from %s: %s", c->peer, why);
  if (reply_len)
    (void) send (c->fd, reply, reply_len, MSG_NOSIGNAL | MSG_DONTWAIT);
  conn_drop (c);
}

static void
conn_got_request (P65Conn *c)
{
  P65 *p = c->p;
  guint8 reply[P65_SOCKS5_MAX_REPLY];
  if (p->waiting >= p->max_pending)
    {
      gsize n = p65_socks5_build_reply (P65_REP_GENERAL_FAILURE, NULL, reply);
      conn_refuse (c, BF_PROXY65_REFUSED_MAX_PENDING, reply, n,
                   "too many connections waiting for activation (max-pending)");
      return;
    }
  P65Entry *e = g_hash_table_lookup (p->entries, c->hash);
  if (e && (e->activated || (e->target && e->requester)))
    {
      gsize n = p65_socks5_build_reply (P65_REP_NOT_ALLOWED, NULL, reply);
      g_autofree char *h = short_hash (c->hash);
      g_autofree char *why = g_strdup_printf ("stream %s already %s", h,
                                              e->activated ? "activated" : "has both parties");
      conn_refuse (c, BF_PROXY65_REFUSED_TAKEN, reply, n, why);
      return;
    }
  if (e == NULL)
    {
      e = g_new0 (P65Entry, 1);
      memcpy (e->hash, c->hash, sizeof e->hash);
      g_hash_table_insert (p->entries, e->hash, e);
    }
  /* Prosody's rule, which clients expect: the first is the target. */
  if (e->target == NULL && e->requester == NULL)
    e->target = c;
  else if (e->target == NULL)
    e->target = c;
  else
    e->requester = c;
  c->entry = e;
  c->state = CONN_WAITING;
  p->waiting++;
  gsize n = p65_socks5_build_reply (P65_REP_SUCCEEDED, c->dst_addr, reply);
  if (send (c->fd, reply, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t) n)
    {
      g_message ("SOCKS5 connection from %s went away before its reply", c->peer);
      conn_drop (c);
      return;
    }
  g_autofree char *h = short_hash (c->hash);
  g_debug ("stream %s: %s connected from %s", h, e->requester == c ? "requester" : "target",
           c->peer);
}

/* Reads only what the current message still lacks, so bytes a client sends
 * after its request stay in the socket until the stream is relayed. */
static gboolean
on_conn_readable (int fd, GIOCondition cond, gpointer data)
{
  P65Conn *c = data;
  (void) cond;
  if (c->state == CONN_WAITING)
    {
      char probe;
      ssize_t n = recv (fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        {
          g_autofree char *h = short_hash (c->hash);
          g_message ("stream %s: a party from %s left before activation", h, c->peer);
          c->watch_id = 0;
          conn_drop (c);
          return G_SOURCE_REMOVE;
        }
      if (n > 0)
        {
          /* Early data: leave it queued; connect-timeout still applies. */
          c->watch_id = 0;
          return G_SOURCE_REMOVE;
        }
      return G_SOURCE_CONTINUE;
    }

  ssize_t n = recv (fd, c->buf + c->have, c->need - c->have, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    {
      /* What a connect-and-close flood repeats: now and then, counted. */
      guint64 held;
      c->p->stats.refused[BF_PROXY65_REFUSED_HANDSHAKE]++;
      if (flood_log_allow (&c->p->gone_log, &held))
        g_message ("refused SOCKS5 connection from %s: closed during the handshake (%"
                   G_GUINT64_FORMAT " more since the previous such line)", c->peer, held);
      c->watch_id = 0;
      conn_drop (c);
      return G_SOURCE_REMOVE;
    }
  if (n < 0)
    return G_SOURCE_CONTINUE;
  c->have += (gsize) n;
  if (c->have < c->need)
    return G_SOURCE_CONTINUE;

  const char *why = NULL;
  gsize need = 0;
  if (c->state == CONN_GREETING)
    {
      guint8 reply[2];
      P65Socks5Result r = p65_socks5_parse_greeting (c->buf, c->have, &need, reply, &why);
      switch (r)
        {
        case P65_SOCKS5_MORE:
          c->need = need;
          return G_SOURCE_CONTINUE;
        case P65_SOCKS5_CLOSE:
          c->watch_id = 0;
          conn_refuse (c, BF_PROXY65_REFUSED_HANDSHAKE, NULL, 0, why);
          return G_SOURCE_REMOVE;
        case P65_SOCKS5_REFUSE:
          c->watch_id = 0;
          conn_refuse (c, BF_PROXY65_REFUSED_HANDSHAKE, reply, 2, why);
          return G_SOURCE_REMOVE;
        case P65_SOCKS5_OK:
          if (send (fd, reply, 2, MSG_NOSIGNAL | MSG_DONTWAIT) != 2)
            {
              c->watch_id = 0;
              conn_drop (c);
              return G_SOURCE_REMOVE;
            }
          c->state = CONN_REQUEST;
          c->have = 0;
          c->need = 5;
          return G_SOURCE_CONTINUE;
        }
    }
  guint8 rep;
  P65Socks5Result r = p65_socks5_parse_request (c->buf, c->have, &need, c->hash, &rep, &why);
  switch (r)
    {
    case P65_SOCKS5_MORE:
      c->need = need;
      return G_SOURCE_CONTINUE;
    case P65_SOCKS5_CLOSE:
      c->watch_id = 0;
      conn_refuse (c, BF_PROXY65_REFUSED_HANDSHAKE, NULL, 0, why);
      return G_SOURCE_REMOVE;
    case P65_SOCKS5_REFUSE:
      {
        guint8 reply[P65_SOCKS5_MAX_REPLY];
        gsize len = p65_socks5_build_reply (rep, NULL, reply);
        c->watch_id = 0;
        conn_refuse (c, BF_PROXY65_REFUSED_HANDSHAKE, reply, len, why);
        return G_SOURCE_REMOVE;
      }
    case P65_SOCKS5_OK:
      break;
    }
  /* XEP-0065 §6.3.2: BND.ADDR repeats DST.ADDR as sent (any case). */
  memcpy (c->dst_addr, c->buf + 5, P65_HASH_LEN);
  c->dst_addr[P65_HASH_LEN] = '\0';
  /* conn_got_request may drop c: keep the watch id straight first.  The
   * watch stays, to notice a party that leaves while waiting. */
  conn_got_request (c);
  return G_SOURCE_CONTINUE;
}

/* Who counts as one address for max-pending-per-address: an IPv4 address
 * (IPv4-mapped ones too), or an IPv6 /64, the usual share of one
 * subscriber (else one host could use 2^64 addresses). */
static char *
address_key (const struct sockaddr_storage *ss, char peer[64])
{
  char text[INET6_ADDRSTRLEN];
  if (ss->ss_family == AF_INET)
    {
      const struct sockaddr_in *sin = (const struct sockaddr_in *) ss;
      inet_ntop (AF_INET, &sin->sin_addr, text, sizeof text);
      g_strlcpy (peer, text, 64);
      return g_strdup (text);
    }
  if (ss->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) ss;
      inet_ntop (AF_INET6, &sin6->sin6_addr, text, sizeof text);
      g_strlcpy (peer, text, 64);
      if (IN6_IS_ADDR_V4MAPPED (&sin6->sin6_addr))
        {
          inet_ntop (AF_INET, &sin6->sin6_addr.s6_addr[12], text, sizeof text);
          return g_strdup (text);
        }
      struct in6_addr prefix = sin6->sin6_addr;
      memset (prefix.s6_addr + 8, 0, 8);
      inet_ntop (AF_INET6, &prefix, text, sizeof text);
      return g_strdup_printf ("%s/64", text);
    }
  g_strlcpy (peer, "?", 64);
  return g_strdup ("?");
}

/* A connection turned away before it was ours to track: close it now.  A
 * flood repeats this, so it is logged now and then, with a count. */
static void
refuse_at_accept (P65 *p, int cfd, BfProxy65Refusal reason, const char *peer, const char *why)
{
  p->stats.refused[reason]++;
  close (cfd);
  guint64 held;
  if (flood_log_allow (&p->refuse_log, &held))
    g_message ("refused SOCKS5 connection from %s: %s (%" G_GUINT64_FORMAT
               " more refused at accept since the previous such line)", peer, why, held);
}

static gboolean on_accept (int fd, GIOCondition cond, gpointer data);

static gboolean
on_accept_resume (gpointer data)
{
  P65 *p = data;
  p->resume_id = 0;
  p->listen_id = g_unix_fd_add (p->listen_fd, G_IO_IN, on_accept, p);
  return G_SOURCE_REMOVE;
}

static guint64
fd_limit (void)
{
  struct rlimit rl;
  return getrlimit (RLIMIT_NOFILE, &rl) == 0 ? (guint64) rl.rlim_cur : 0;
}

/* accept(2) failed for want of something that comes back when others let
 * go of it (descriptors, kernel memory).  The listening socket stays
 * readable, so watching it would spin: stop watching for a moment, longer
 * while it lasts; the clients wait in the backlog meanwhile.  One line
 * when an episode starts (or now and then while it lasts), one when it
 * ends. */
static void
accept_pause (P65 *p, int err)
{
  gint64 now = g_get_monotonic_time ();
  guint64 held;
  p->pause_failures++;
  if (!p->stats.accept_paused)
    {
      p->stats.accept_paused = TRUE;
      p->stats.accept_pauses++;
      p->paused_since = now;
      p->pause_ms = ACCEPT_PAUSE_MIN_MS;
      p->pause_logged = flood_log_allow (&p->accept_log, &held);
      if (p->pause_logged)
        g_warning ("accept: %s: pausing SOCKS5 accepts (%u pending, %u streams; limit %"
                   G_GUINT64_FORMAT " descriptors; %" G_GUINT64_FORMAT
                   " more pauses since the previous such line)", g_strerror (err),
                   g_hash_table_size (p->conns), g_hash_table_size (p->streams), fd_limit (),
                   held);
    }
  else
    {
      p->pause_ms = MIN (p->pause_ms * 2, ACCEPT_PAUSE_MAX_MS);
      if (flood_log_allow (&p->accept_log, &held))
        g_warning ("accept: %s: SOCKS5 accepts still paused after %.0f s (%" G_GUINT64_FORMAT
                   " failed attempts)", g_strerror (err),
                   (now - p->paused_since) / (double) G_USEC_PER_SEC, p->pause_failures);
    }
  p->resume_id = g_timeout_add (p->pause_ms, on_accept_resume, p);
}

static void
accept_works (P65 *p)
{
  if (!p->stats.accept_paused)
    return;
  p->stats.accept_paused = FALSE;
  if (p->pause_logged)
    g_message ("accepting SOCKS5 connections again after %.1f s (%" G_GUINT64_FORMAT
               " failed attempts)",
               (g_get_monotonic_time () - p->paused_since) / (double) G_USEC_PER_SEC,
               p->pause_failures);
  p->pause_failures = 0;
}

static gboolean
on_accept (int fd, GIOCondition cond, gpointer data)
{
  P65 *p = data;
  (void) cond;
  for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++)
    {
      struct sockaddr_storage ss;
      socklen_t sl = sizeof ss;
      int cfd = accept4 (fd, (struct sockaddr *) &ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (cfd < 0)
        {
          int e = errno;
          if (e == EAGAIN || e == EWOULDBLOCK)
            {
              accept_works (p);
              break;
            }
          /* That one connection is gone (accept(2): Linux passes its
           * pending network error on); the next may be fine. */
          if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == ENETDOWN
              || e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH
              || e == EOPNOTSUPP || e == ENETUNREACH)
            {
              if (e != EINTR)
                p->stats.accept_errors++;
              continue;
            }
          /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything that would come
           * back at once: never spin on it. */
          p->stats.accept_errors++;
          accept_pause (p, e);
          p->listen_id = 0;
          return G_SOURCE_REMOVE;
        }
      accept_works (p);
      p->stats.connections++;
      char peer[64];
      g_autofree char *key = address_key (&ss, peer);
      if (g_hash_table_size (p->conns) >= p->max_pending + HANDSHAKE_SLACK)
        {
          refuse_at_accept (p, cfd, BF_PROXY65_REFUSED_MAX_PENDING, peer,
                            "too many pending connections (max-pending)");
          continue;
        }
      guint from_addr = GPOINTER_TO_UINT (g_hash_table_lookup (p->per_addr, key));
      if (from_addr >= p->max_pending_per_address)
        {
          refuse_at_accept (p, cfd, BF_PROXY65_REFUSED_PER_ADDRESS, peer,
                            "too many pending connections from this address "
                            "(max-pending-per-address)");
          continue;
        }
      /* From here on the P65Conn owns cfd. */
      P65Conn *c = g_new0 (P65Conn, 1);
      c->p = p;
      c->fd = cfd;
      c->state = CONN_GREETING;
      c->need = 2;
      c->created = g_get_monotonic_time ();
      g_strlcpy (c->peer, peer, sizeof c->peer);
      g_hash_table_insert (p->per_addr, g_strdup (key), GUINT_TO_POINTER (from_addr + 1));
      c->addr_key = g_steal_pointer (&key);
      c->watch_id = g_unix_fd_add (cfd, G_IO_IN, on_conn_readable, c);
      g_hash_table_add (p->conns, c);
    }
  return G_SOURCE_CONTINUE;
}

/* --- activated streams --- */

static void
stream_free (P65Stream *s)
{
  P65 *p = s->p;
  bf_metric_gauge_add (p->m_open, -1);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (p->per_jid, s->requester_bare));
  if (count > 1)
    g_hash_table_insert (p->per_jid, g_strdup (s->requester_bare), GUINT_TO_POINTER (count - 1));
  else
    g_hash_table_remove (p->per_jid, s->requester_bare);
  g_hash_table_remove (p->entries, s->hash);
  g_free (s->requester);
  g_free (s->requester_bare);
  g_free (s->target);
  g_free (s);
}

/* A relay thread freed the stream's pair (p65-pool.h): count and log it. */
static void
on_stream_done (const P65PoolDone *done, gpointer data)
{
  P65 *p = data;
  P65Stream *s = done->stream;
  guint64 t2r = done->a_to_b;    /* the pair is (target, requester) */
  guint64 r2t = done->b_to_a;
  const char *reason = done->reason;
  if (done->idle)
    p->stats.idle_timeouts++;
  p->stats.bytes += t2r + r2t;
  bf_metric_add (p->m_bytes, t2r + r2t);
  double secs = (g_get_monotonic_time () - s->started) / (double) G_USEC_PER_SEC;
  g_autofree char *h = short_hash (s->hash);
  g_message ("stream %s closed: %s; %" G_GUINT64_FORMAT " bytes requester->target, %"
             G_GUINT64_FORMAT " bytes target->requester, %.1f s", h, reason, r2t, t2r, secs);
  g_hash_table_remove (p->streams, s);   /* frees through stream_free */
}

/* --- the XMPP side --- */

static gboolean
domain_allowed (P65 *p, const char *jid)
{
  g_autofree char *domain = NULL;
  if (!bf_jid_split (jid, NULL, &domain, NULL))
    return FALSE;
  return bf_domain_list_contains ((const char *const *) p->allow_domains, domain);
}

static void
iq_refuse (P65 *p, const BfStanza *iq, const char *type, const char *cond, const char *why)
{
  p->stats.iq_refused++;
  gboolean is_set = g_strcmp0 (bf_stanza_get_attr (iq, "type"), "set") == 0;
  g_message ("refused %s from %s: %s (%s)", is_set ? "activation" : "streamhost request",
             bf_stanza_get_attr (iq, "from"), why, cond);
  bf_module_send_error (p->module, iq, type, cond, why);
}

static void
answer_streamhost (P65 *p, const BfStanza *iq)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  BfStanza *q = bf_stanza_add_child (reply, "query", NS_BYTESTREAMS);
  BfStanza *sh = bf_stanza_add_child (q, "streamhost", NULL);
  g_autofree char *port = g_strdup_printf ("%u", p->advertise_port);
  /* The activation goes to this JID: this process's own sub-domain when
   * several share the domain, so it reaches the process that holds both
   * SOCKS5 connections. */
  bf_stanza_set_attr (sh, "jid", bf_module_get_node_domain (p->module));
  bf_stanza_set_attr (sh, "host", p->advertise_host);
  bf_stanza_set_attr (sh, "port", port);
  bf_module_send (p->module, reply);
}

static void
activate (P65 *p, const BfStanza *iq, BfStanza *query)
{
  const char *from = bf_stanza_get_attr (iq, "from");
  const char *sid = bf_stanza_get_attr (query, "sid");
  const char *target_raw = bf_stanza_find_child_text (query, "activate", NULL);
  g_autofree char *target = target_raw ? g_strstrip (g_strdup (target_raw)) : NULL;
  g_autofree char *bare_local = NULL, *bare_domain = NULL;

  if (sid == NULL || *sid == '\0' || target == NULL || *target == '\0')
    {
      iq_refuse (p, iq, "modify", "bad-request", "activation needs a sid and an <activate/> JID");
      return;
    }
  if (!bf_jid_split (target, NULL, NULL, NULL)
      || !bf_jid_split (from, &bare_local, &bare_domain, NULL))
    {
      iq_refuse (p, iq, "modify", "bad-request", "malformed JID");
      return;
    }
  /* XEP-0065 §6.3.5: the hash of SID + requester JID (the iq's sender) +
   * target JID must be one the proxy holds connections for. */
  g_autofree char *input = g_strconcat (sid, from, target, NULL);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA1, input, -1);
  P65Entry *e = g_hash_table_lookup (p->entries, hash);
  if (e == NULL)
    {
      iq_refuse (p, iq, "cancel", "item-not-found", "no connections for this stream");
      return;
    }
  if (e->activated)
    {
      iq_refuse (p, iq, "cancel", "not-allowed", "the stream is already activated");
      return;
    }
  if (e->target == NULL || e->requester == NULL)
    {
      iq_refuse (p, iq, "cancel", "not-allowed", "only one party is connected");
      return;
    }
  g_autofree char *bare = bare_local ? g_strconcat (bare_local, "@", bare_domain, NULL)
                                     : g_strdup (bare_domain);
  if (g_hash_table_size (p->streams) >= p->max_streams)
    {
      iq_refuse (p, iq, "wait", "resource-constraint", "too many streams (max-streams)");
      return;
    }
  if (GPOINTER_TO_UINT (g_hash_table_lookup (p->per_jid, bare)) >= p->max_streams_per_jid)
    {
      iq_refuse (p, iq, "wait", "resource-constraint",
                 "too many streams for this JID (max-streams-per-jid)");
      return;
    }

  P65Stream *s = g_new0 (P65Stream, 1);
  s->p = p;
  memcpy (s->hash, hash, sizeof s->hash);
  s->started = g_get_monotonic_time ();
  /* The pair takes both sockets only if it can be built (pipes); until
   * then the two P65Conns own them, so a failure leaves both parties
   * connected and waiting: the requester may try again. */
  g_autoptr (GError) error = NULL;
  guint thread = 0;
  if (!p65_pool_relay (p->pool, e->target->fd, e->requester->fd, &p->pair_limits, s, &thread,
                       &error))
    {
      g_free (s);
      p->stats.relay_failures++;
      g_warning ("cannot relay stream: %s", error->message);
      iq_refuse (p, iq, "wait", "resource-constraint", "the proxy cannot relay now");
      return;
    }
  s->requester = g_strdup (from);
  s->requester_bare = g_steal_pointer (&bare);
  s->target = g_strdup (target);

  /* Ownership moved: the conns let go of their sockets without closing
   * them; the entry stays, marked, so that nobody joins or re-activates. */
  P65Conn *conns[2] = { e->target, e->requester };
  e->target = e->requester = NULL;
  e->activated = TRUE;
  for (int i = 0; i < 2; i++)
    {
      conns[i]->fd = -1;
      conns[i]->entry = NULL;
      conn_drop (conns[i]);
    }
  g_hash_table_add (p->streams, s);
  bf_metric_add (p->m_streams, 1);
  bf_metric_gauge_add (p->m_open, 1);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (p->per_jid, s->requester_bare));
  g_hash_table_insert (p->per_jid, g_strdup (s->requester_bare), GUINT_TO_POINTER (count + 1));
  p->stats.streams_total++;
  g_autofree char *h = short_hash (hash);
  g_message ("stream %s activated by %s for %s (relay thread %u)", h, from, target, thread);
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  bf_module_send (p->module, reply);
}

static gboolean
p65_handle (BfModule *module, const BfStanza *stanza)
{
  P65 *p = bf_module_get_data (module);
  if (strcmp (bf_stanza_get_name (stanza), "iq") != 0)
    return FALSE;
  const char *type = bf_stanza_get_attr (stanza, "type");
  BfStanza *query = bf_stanza_find_child (stanza, "query", NS_BYTESTREAMS);
  if (query == NULL)
    return FALSE;
  if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
    return TRUE;
  const char *from = bf_stanza_get_attr (stanza, "from");
  if (from == NULL || !domain_allowed (p, from))
    {
      iq_refuse (p, stanza, "auth", "forbidden", "this proxy does not serve your domain");
      return TRUE;
    }
  if (g_strcmp0 (type, "get") == 0)
    answer_streamhost (p, stanza);
  else if (bf_stanza_find_child (query, "activate", NULL))
    activate (p, stanza, query);
  else
    iq_refuse (p, stanza, "modify", "bad-request", "a bytestreams set must carry <activate/>");
  return TRUE;
}

/* --- timers --- */

/* Adds what the counters gained since the last call to the metrics: the
 * hot paths only bump a plain field, and a scrape never reads module state. */
static void
publish_stats (P65 *p)
{
#define PUBLISH(metric, field) \
  G_STMT_START { bf_metric_add (metric, p->stats.field - p->published.field); \
                 p->published.field = p->stats.field; } G_STMT_END
  PUBLISH (p->m_connections, connections);
  for (int i = 0; i < BF_PROXY65_REFUSED_N; i++)
    PUBLISH (p->m_refused[i], refused[i]);
  PUBLISH (p->m_iq_refused, iq_refused);
  PUBLISH (p->m_relay_failures, relay_failures);
  PUBLISH (p->m_idle_timeouts, idle_timeouts);
  PUBLISH (p->m_accept_errors, accept_errors);
  PUBLISH (p->m_accept_pauses, accept_pauses);
#undef PUBLISH
  bf_metric_set (p->m_pending, g_hash_table_size (p->conns));
  bf_metric_set (p->m_paused, p->stats.accept_paused);
}

static gboolean
on_timer (gpointer data)
{
  P65 *p = data;
  publish_stats (p);
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer key;
  GPtrArray *expired = g_ptr_array_new ();
  g_hash_table_iter_init (&it, p->conns);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      P65Conn *c = key;
      guint limit = c->state == CONN_WAITING ? p->connect_timeout
                                             : MIN (p->connect_timeout, p->handshake_timeout);
      if (now - c->created >= (gint64) limit * G_USEC_PER_SEC)
        g_ptr_array_add (expired, c);
    }
  for (guint i = 0; i < expired->len; i++)
    {
      P65Conn *c = g_ptr_array_index (expired, i);
      if (c->state == CONN_WAITING)
        {
          p->stats.refused[BF_PROXY65_REFUSED_CONNECT_TIMEOUT]++;
          g_message ("refused SOCKS5 connection from %s: not activated within %u s "
                     "(connect-timeout)", c->peer, p->connect_timeout);
        }
      else
        {
          /* Slow or silent clients (slowloris): a flood of them must not
           * flood the log too. */
          guint64 held;
          gboolean hs = p->handshake_timeout < p->connect_timeout;
          p->stats.refused[BF_PROXY65_REFUSED_HANDSHAKE_TIMEOUT]++;
          if (flood_log_allow (&p->timeout_log, &held))
            g_message ("refused SOCKS5 connection from %s: not through the handshake within "
                       "%u s (%s; %" G_GUINT64_FORMAT " more since the previous such line)",
                       c->peer, hs ? p->handshake_timeout : p->connect_timeout,
                       hs ? "handshake-timeout" : "connect-timeout", held);
        }
      conn_drop (c);
    }
  /* Idle streams are ended by their relay thread (p65-pool.c). */
  g_ptr_array_unref (expired);
  return G_SOURCE_CONTINUE;
}

/* --- configuration --- */

static gboolean
read_uint (BfConfigGroup *config, const char *key, gint64 def, gint64 min, gint64 max,
           guint *out, GError **error)
{
  gint64 v;
  if (!bf_config_get_int (config, key, def, min, max, &v, error))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

static gboolean
p65_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  P65 *p = g_new0 (P65, 1);
  p->module = module;
  p->listen_fd = -1;
  p->conns = g_hash_table_new_full (g_direct_hash, g_direct_equal, (GDestroyNotify) conn_free, NULL);
  p->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  p->streams = g_hash_table_new_full (g_direct_hash, g_direct_equal, (GDestroyNotify) stream_free, NULL);
  p->per_jid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  p->per_addr = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  bf_module_set_data (module, p, NULL);
  p->m_streams = bf_module_metric_counter_new (module, "streams_total", "Streams activated");
  p->m_open = bf_module_metric_gauge_new (module, "streams_open", "Streams relaying now");
  p->m_connections = bf_module_metric_counter_new (module, "connections_total",
                                                   "SOCKS5 connections accepted");
  static const char *const refusal_names[] = BF_PROXY65_REFUSAL_NAMES;
  for (int i = 0; i < BF_PROXY65_REFUSED_N; i++)
    {
      g_autofree char *name = g_strdup_printf ("refused_%s_total", refusal_names[i]);
      g_strdelimit (name, "-", '_');
      g_autofree char *help = g_strdup_printf ("SOCKS5 connections closed before relaying: %s",
                                               refusal_names[i]);
      p->m_refused[i] = bf_module_metric_counter_new (module, name, help);
    }
  p->m_iq_refused = bf_module_metric_counter_new (module, "iq_refused_total",
                                                  "Streamhost queries and activations refused");
  p->m_relay_failures = bf_module_metric_counter_new (module, "relay_failures_total",
                                                      "Activations refused for want of descriptors");
  p->m_idle_timeouts = bf_module_metric_counter_new (module, "idle_timeouts_total",
                                                     "Streams closed by idle-timeout");
  p->m_accept_errors = bf_module_metric_counter_new (module, "accept_errors_total",
                                                     "accept(2) failures");
  p->m_accept_pauses = bf_module_metric_counter_new (module, "accept_pauses_total",
                                                     "Episodes of accepting paused (EMFILE, ENFILE, ...)");
  p->m_pending = bf_module_metric_gauge_new (module, "pending",
                                             "SOCKS5 connections not (yet) relayed");
  p->m_paused = bf_module_metric_gauge_new (module, "accept_paused",
                                            "1 while accepting is paused (out of descriptors)");
  p->m_bytes = bf_module_metric_counter_new (module, "bytes_total",
                                             "Bytes relayed (both ways), counted as each stream closes");

  g_autofree char *listen = bf_config_get_string (config, "listen", "[::]:7777", error);
  if (listen == NULL)
    return FALSE;
  g_autofree char *lhost = NULL;
  guint16 lport = 0;
  g_autoptr (GInetAddress) laddr = NULL;
  if (!bf_parse_host_port (listen, 0, &lhost, &lport, NULL)
      || (laddr = g_inet_address_new_from_string (lhost)) == NULL)
    {
      bf_config_set_error (config, error, "listen",
                           "'%s' is not address:port (an IP address; IPv6 in brackets)", listen);
      return FALSE;
    }
  p->listen = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (laddr, lport));

  g_autofree char *advertise = bf_config_get_string (config, "advertise", NULL, error);
  if (advertise == NULL && error && *error)
    return FALSE;
  if (advertise)
    {
      /* A host name is fine here: clients resolve it. */
      if (!bf_parse_host_port (advertise, 0, &p->advertise_host, &p->advertise_port, NULL))
        {
          bf_config_set_error (config, error, "advertise", "'%s' is not host:port", advertise);
          return FALSE;
        }
    }
  else if (g_inet_address_get_is_any (laddr))
    {
      bf_config_set_error (config, error, "advertise",
                           "missing: 'listen = %s' is a wildcard address, so clients must be "
                           "told where to connect (advertise = host:port)", listen);
      return FALSE;
    }
  else
    {
      p->advertise_host = g_steal_pointer (&lhost);
      p->advertise_port = lport;
    }

  /* Default: the users of the server that hosts us. */
  if (!bf_config_get_domain_list (config, "allow-domains", bf_module_get_server_domain (module),
                                  &p->allow_domains, error))
    return FALSE;

  gint64 v;
  if (!read_uint (config, "connect-timeout", 30, 1, 3600, &p->connect_timeout, error)
      || !read_uint (config, "idle-timeout", 300, 1, 86400, &p->idle_timeout, error)
      || !read_uint (config, "max-streams", 1000, 1, 100000, &p->max_streams, error)
      || !read_uint (config, "max-streams-per-jid", 16, 1, 100000, &p->max_streams_per_jid, error)
      || !read_uint (config, "handshake-timeout", 10, 1, 3600, &p->handshake_timeout, error)
      || !read_uint (config, "max-pending", 2000, 2, 100000, &p->max_pending, error)
      || !read_uint (config, "max-pending-per-address", 32, 1, 100000,
                     &p->max_pending_per_address, error)
      || !read_uint (config, "threads", MIN (g_get_num_processors (), 64), 1, 64, &p->threads,
                     error))
    return FALSE;
  if (!bf_config_get_int (config, "max-bytes", 0, 0, G_MAXINT64, &v, error))
    return FALSE;
  p->pair_limits.max_bytes = (guint64) v;
  if (!bf_config_get_int (config, "bandwidth", 0, 0, G_MAXINT64, &v, error))
    return FALSE;
  p->pair_limits.bandwidth = (guint64) v;
  return TRUE;
}

static gboolean
p65_start (BfModule *module, GError **error)
{
  P65 *p = bf_module_get_data (module);
  GSocketFamily family = g_socket_address_get_family (G_SOCKET_ADDRESS (p->listen));
  g_autofree char *where = g_inet_address_to_string (g_inet_socket_address_get_address (p->listen));
  guint16 port = g_inet_socket_address_get_port (p->listen);
  int fd = socket (family == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "socket: %s",
                   g_strerror (errno));
      return FALSE;
    }
  int one = 1, zero = 0;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == G_SOCKET_FAMILY_IPV6)
    setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);   /* [::] takes IPv4 too */
  struct sockaddr_storage ss;
  if (!g_socket_address_to_native (G_SOCKET_ADDRESS (p->listen), &ss, sizeof ss, error))
    {
      close (fd);
      return FALSE;
    }
  socklen_t sl = family == G_SOCKET_FAMILY_IPV6 ? sizeof (struct sockaddr_in6)
                                                : sizeof (struct sockaddr_in);
  if (bind (fd, (struct sockaddr *) &ss, sl) < 0 || listen (fd, 512) < 0)
    {
      int e = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot listen on %s port %u: %s",
                   where, port, g_strerror (e));
      return FALSE;
    }
  p->pool = p65_pool_new (p->threads, p->idle_timeout, on_stream_done, p, error);
  if (p->pool == NULL)
    {
      close (fd);
      return FALSE;
    }
  p->listen_fd = fd;
  p->listen_id = g_unix_fd_add (fd, G_IO_IN, on_accept, p);
  p->timer_id = g_timeout_add_seconds (1, on_timer, p);
  g_message ("SOCKS5 bytestreams proxy listening on %s port %u, advertised as %s:%u; "
             "%u relay thread%s", where, port, p->advertise_host, p->advertise_port, p->threads,
             p->threads == 1 ? "" : "s");
  return TRUE;
}

static void
p65_shutdown (BfModule *module)
{
  P65 *p = bf_module_get_data (module);
  if (p == NULL)
    return;
  if (p->listen_fd >= 0)
    {
      guint64 refused = 0;
      for (int i = 0; i < BF_PROXY65_REFUSED_N; i++)
        refused += p->stats.refused[i];
      g_message ("stopping: %" G_GUINT64_FORMAT " connections, %" G_GUINT64_FORMAT
                 " streams activated, %" G_GUINT64_FORMAT " bytes relayed, %" G_GUINT64_FORMAT
                 " SOCKS5 refusals, %" G_GUINT64_FORMAT " iq refusals, %" G_GUINT64_FORMAT
                 " idle timeouts, %" G_GUINT64_FORMAT " accept pauses; %u streams still open",
                 p->stats.connections, p->stats.streams_total, p->stats.bytes, refused,
                 p->stats.iq_refused, p->stats.idle_timeouts, p->stats.accept_pauses,
                 g_hash_table_size (p->streams));
    }
  if (p->listen_id)
    g_source_remove (p->listen_id);
  if (p->resume_id)
    g_source_remove (p->resume_id);
  if (p->timer_id)
    g_source_remove (p->timer_id);
  if (p->listen_fd >= 0)
    close (p->listen_fd);
  /* Joins the relay threads (they close the streams' sockets) and delivers
   * the ends they reported before: then the streams are ours alone. */
  g_clear_pointer (&p->pool, p65_pool_free);
  g_hash_table_destroy (p->streams);
  g_hash_table_destroy (p->conns);     /* empties entries as it goes */
  g_hash_table_destroy (p->entries);
  g_hash_table_destroy (p->per_jid);
  g_hash_table_destroy (p->per_addr);   /* after conns: they count themselves out */
  g_clear_object (&p->listen);
  g_free (p->advertise_host);
  g_strfreev (p->allow_domains);
  g_free (p);
  bf_module_set_data (module, NULL, NULL);
}

static const char *const p65_namespaces[] = { NS_BYTESTREAMS, NULL };
static const BfDiscoIdentity p65_identities[] = {
  { "proxy", "bytestreams", "SOCKS5 Bytestreams Proxy" },
  { NULL, NULL, NULL },
};

static const BfModuleInfo p65_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "proxy65",
  .description = "SOCKS5 bytestreams proxy (XEP-0065)",
  .domain_identities = p65_identities,
  .domain_namespaces = p65_namespaces,
  .init = p65_init,
  .start = p65_start,
  .shutdown = p65_shutdown,
  .handle_stanza = p65_handle,
};

BF_MODULE_DEFINE (p65_info)
