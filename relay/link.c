#define G_LOG_DOMAIN "belfry-link"
/* The component link (link.h). */
#include "build-config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <gio/gio.h>

#include "link.h"
#include "xmlstream.h"

#define READ_SIZE 16384
#define BACKOFF_MIN 1.0
#define BACKOFF_MAX 30.0
#define CONNECT_TIMEOUT_S 10
#define HANDSHAKE_TIMEOUT_S 15
#define CLOSE_TIMEOUT_MS 2000

typedef enum {
  LINK_IDLE,          /* waiting to (re)connect */
  LINK_CONNECTING,    /* TCP connect in progress */
  LINK_OPENING,       /* our header sent, waiting for the server's */
  LINK_HANDSHAKING,   /* handshake sent, waiting for <handshake/> */
  LINK_ATTACHED,
  LINK_STOPPED,       /* shut down for good */
} LinkState;

/* A stanza sent while the link was down, serialized. */
typedef struct {
  gint64 at;                    /* monotonic µs when it was sent */
  char name[16];                /* element name, for messages */
  gsize len;
  char data[];
} Held;

/* One TCP connection.  Async callbacks hold a reference and check that the
 * link still owns it before acting: a dropped connection's late callbacks
 * then do nothing. */
typedef struct {
  BfLink *link;                 /* NULL once the link let go of it */
  GSocketConnection *sock;
  GCancellable *cancel;
  GString *inflight;            /* bytes handed to the kernel-side write */
  gboolean writing;
  gboolean closing;             /* no more reads; close when the queue is empty */
  guint close_timeout_id;
  char buf[READ_SIZE];
} Conn;

struct _BfLink {
  const BfConfig *config;
  char *jid;                    /* the domain this stream attaches as */
  char *server_label;           /* "host:port", for messages */
  gboolean trace;
  BfLinkStanzaFunc on_stanza;
  gpointer on_stanza_data;
  BfLinkDroppedFunc on_dropped;
  gpointer on_dropped_data;

  LinkState state;
  Conn *conn;
  GSocketClient *client;
  BfXmlStream *xml;
  GString *outq;                /* queued, not yet in flight */
  GQueue held;                  /* Held *, oldest first: sent while detached */
  gsize held_bytes;
  guint64 held_dropped_logged;  /* held_dropped when last reported */
  BfLinkAttachedFunc on_attached;
  gpointer on_attached_data;

  double backoff;
  guint reconnect_id;
  guint tick_id;
  gint64 attempt_at, last_rx, last_tx, ping_sent_at;
  gboolean ping_outstanding;
  guint ping_serial;
  char *ping_id;

  /* Set by parser callbacks, acted on once the feed returns. */
  gboolean stop_reading;
  gboolean server_closed;

  GSourceFunc shutdown_done;
  gpointer shutdown_data;
  gboolean shutting_down;

  BfLinkStats stats;
};

static void connect_now (BfLink *link);
static void finish_connection (BfLink *link);
static void close_gracefully (BfLink *link, const char *stream_error);

static Conn *
conn_new (BfLink *link)
{
  Conn *c = g_rc_box_new0 (Conn);
  c->link = link;
  c->cancel = g_cancellable_new ();
  c->inflight = g_string_new (NULL);
  return c;
}

static void
conn_clear (Conn *c)
{
  g_clear_object (&c->sock);
  g_clear_object (&c->cancel);
  g_string_free (c->inflight, TRUE);
}

static Conn *
conn_ref (Conn *c)
{
  return g_rc_box_acquire (c);
}

static void
conn_unref (Conn *c)
{
  g_rc_box_release_full (c, (GDestroyNotify) conn_clear);
}

static gboolean
conn_current (Conn *c)
{
  return c->link != NULL && c->link->conn == c;
}

static const char *
server_name (BfLink *link)
{
  return link->server_label;
}

/* --- writing --- */

static void on_written (GObject *source, GAsyncResult *res, gpointer data);

static void
kick_write (BfLink *link)
{
  Conn *c = link->conn;
  if (c == NULL || c->sock == NULL || c->writing || link->outq->len == 0)
    return;
  /* Swap buffers: everything queued goes out in one write. */
  GString *tmp = c->inflight;
  c->inflight = link->outq;
  link->outq = tmp;
  g_string_truncate (link->outq, 0);
  c->writing = TRUE;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c->sock));
  g_output_stream_write_all_async (out, c->inflight->str, c->inflight->len, G_PRIORITY_DEFAULT,
                                   c->cancel, on_written, conn_ref (c));
}

static void
on_written (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error);
  if (!conn_current (c))
    {
      conn_unref (c);
      return;
    }
  BfLink *link = c->link;
  c->writing = FALSE;
  g_string_truncate (c->inflight, 0);
  if (!ok)
    {
      g_warning ("writing to %s failed: %s", server_name (link), error->message);
      conn_unref (c);
      finish_connection (link);
      return;
    }
  if (link->outq->len > 0)
    kick_write (link);
  else if (c->closing)
    {
      conn_unref (c);
      finish_connection (link);
      return;
    }
  conn_unref (c);
}

static gboolean
queue_raw (BfLink *link, const char *data, gsize len)
{
  Conn *c = link->conn;
  if (c == NULL || c->sock == NULL || c->closing)
    return FALSE;
  if (link->outq->len + c->inflight->len + len > link->config->write_queue_size)
    return FALSE;
  g_string_append_len (link->outq, data, len);
  link->last_tx = g_get_monotonic_time ();
  kick_write (link);
  return TRUE;
}

static gboolean
send_stanza (BfLink *link, const BfStanza *stanza)
{
  g_autoptr (GString) out = g_string_sized_new (256);
  bf_stanza_serialize (stanza, BF_NS_COMPONENT, out);
  if (link->trace)
    g_debug ("SEND: %s", out->str);
  if (!queue_raw (link, out->str, out->len))
    {
      link->stats.dropped_out++;
      g_warning ("the write queue to %s is full (%" G_GSIZE_FORMAT " bytes): dropped a <%s/>",
                 server_name (link), link->config->write_queue_size, bf_stanza_get_name (stanza));
      return FALSE;
    }
  link->stats.stanzas_out++;
  return TRUE;
}

/* --- holding while detached --- */

static void
held_drop_oldest (BfLink *link, const char *why)
{
  Held *h = g_queue_pop_head (&link->held);
  link->held_bytes -= h->len;
  link->stats.held_dropped++;
  link->stats.dropped_out++;
  g_info ("dropped a held <%s/> (%s)", h->name, why);
  g_free (h);
}

/* Drops what was held longer than hold-while-detached: a peer has given
 * up on it, and signalling that old would only confuse. */
static void
held_prune (BfLink *link)
{
  gint64 oldest = g_get_monotonic_time () - (gint64) link->config->hold_time * G_USEC_PER_SEC;
  while (!g_queue_is_empty (&link->held) && ((Held *) g_queue_peek_head (&link->held))->at < oldest)
    held_drop_oldest (link, "held too long");
}

static gboolean
hold_stanza (BfLink *link, const BfStanza *stanza)
{
  const char *name = bf_stanza_get_name (stanza);
  if (link->config->hold_time == 0 || link->shutting_down || link->state == LINK_STOPPED)
    {
      link->stats.dropped_out++;
      g_info ("not attached to the server: dropped a <%s/> for %s", name,
              bf_stanza_get_attr (stanza, "to"));
      return FALSE;
    }
  g_autoptr (GString) out = g_string_sized_new (256);
  bf_stanza_serialize (stanza, BF_NS_COMPONENT, out);
  if (out->len > link->config->write_queue_size)
    {
      link->stats.dropped_out++;
      g_warning ("not attached to the server: a <%s/> of %" G_GSIZE_FORMAT " bytes is larger "
                 "than the write queue: dropped", name, out->len);
      return FALSE;
    }
  held_prune (link);
  /* Bounded: the oldest goes first, so what arrives after the handshake is
   * the latest state of each session. */
  while (link->held.length >= link->config->hold_stanzas
         || link->held_bytes + out->len > link->config->write_queue_size)
    held_drop_oldest (link, "over the hold limit");
  Held *h = g_malloc (sizeof (Held) + out->len);
  h->at = g_get_monotonic_time ();
  g_strlcpy (h->name, name, sizeof h->name);
  h->len = out->len;
  memcpy (h->data, out->str, out->len);
  g_queue_push_tail (&link->held, h);
  link->held_bytes += h->len;
  link->stats.held++;
  if (link->trace)
    g_debug ("HOLD: %s", out->str);
  return TRUE;
}

/* After the handshake: the held stanzas go out first, in the order they
 * were sent. */
static void
flush_held (BfLink *link)
{
  held_prune (link);
  guint sent = 0;
  while (!g_queue_is_empty (&link->held))
    {
      Held *h = g_queue_pop_head (&link->held);
      link->held_bytes -= h->len;
      if (queue_raw (link, h->data, h->len))
        {
          sent++;
          link->stats.held_sent++;
          link->stats.stanzas_out++;
        }
      else
        {
          link->stats.held_dropped++;
          link->stats.dropped_out++;
          g_warning ("the write queue to %s is full: dropped a held <%s/>", server_name (link),
                     h->name);
        }
      g_free (h);
    }
  guint64 dropped = link->stats.held_dropped - link->held_dropped_logged;
  link->held_dropped_logged = link->stats.held_dropped;
  if (sent > 0 || dropped > 0)
    g_message ("sent %u stanza%s held while detached (%" G_GUINT64_FORMAT " dropped: held too "
               "long or over the limits)", sent, sent == 1 ? "" : "s", dropped);
}

static void
held_clear (BfLink *link)
{
  g_queue_clear_full (&link->held, g_free);
  link->held_bytes = 0;
}

gboolean
bf_link_send (BfLink *link, const BfStanza *stanza)
{
  g_return_val_if_fail (link != NULL && stanza != NULL, FALSE);
  if (link->state != LINK_ATTACHED || link->conn->closing)
    return hold_stanza (link, stanza);
  return send_stanza (link, stanza);
}

/* --- connection life cycle --- */

static gboolean
on_reconnect_timer (gpointer data)
{
  BfLink *link = data;
  link->reconnect_id = 0;
  connect_now (link);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (BfLink *link)
{
  /* Jitter keeps a fleet of relays from reconnecting in lock step.  GLib's
   * generator is enough: a delay is never sent, nothing to predict
   * (tests/unit/check-random.py allows this use by name). */
  double delay = link->backoff * g_random_double_range (0.8, 1.2);
  link->backoff = MIN (link->backoff * 2, BACKOFF_MAX);
  link->state = LINK_IDLE;
  g_message ("reconnecting in %.1f s", delay);
  link->reconnect_id = g_timeout_add ((guint) (delay * 1000), on_reconnect_timer, link);
}

/* Forgets the current connection at once. */
static void
drop_connection (BfLink *link)
{
  Conn *c = link->conn;
  if (c == NULL)
    return;
  link->conn = NULL;
  c->link = NULL;
  g_cancellable_cancel (c->cancel);
  if (c->close_timeout_id)
    {
      g_source_remove (c->close_timeout_id);
      c->close_timeout_id = 0;
    }
  if (c->sock)
    g_io_stream_close (G_IO_STREAM (c->sock), NULL, NULL);
  conn_unref (c);
  g_string_truncate (link->outq, 0);
  bf_xml_stream_reset (link->xml);
  link->ping_outstanding = FALSE;
}

static gboolean
call_shutdown_done (gpointer data)
{
  BfLink *link = data;
  GSourceFunc done = link->shutdown_done;
  link->shutdown_done = NULL;
  if (done)
    done (link->shutdown_data);
  return G_SOURCE_REMOVE;
}

/* The connection is over: reconnect, or report the shutdown complete. */
static void
finish_connection (BfLink *link)
{
  drop_connection (link);
  if (link->shutting_down)
    {
      link->state = LINK_STOPPED;
      call_shutdown_done (link);
      return;
    }
  schedule_reconnect (link);
}

static gboolean
on_close_timeout (gpointer data)
{
  Conn *c = data;
  c->close_timeout_id = 0;
  if (conn_current (c))
    {
      g_info ("the server did not take our closing bytes within %d ms", CLOSE_TIMEOUT_MS);
      finish_connection (c->link);
    }
  return G_SOURCE_REMOVE;
}

/* Sends an optional stream error and </stream:stream>, then closes once
 * the bytes are out (or after CLOSE_TIMEOUT_MS). */
static void
close_gracefully (BfLink *link, const char *stream_error)
{
  Conn *c = link->conn;
  if (c == NULL || c->sock == NULL)
    {
      finish_connection (link);
      return;
    }
  if (c->closing)
    return;
  g_autoptr (GString) tail = g_string_new (NULL);
  if (stream_error)
    {
      g_string_append_printf (tail, "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                              "</stream:error>", stream_error);
      link->stats.stream_errors++;
    }
  g_string_append (tail, "</stream:stream>");
  /* The queue limit must not stop the closing tag. */
  g_string_append_len (link->outq, tail->str, tail->len);
  c->closing = TRUE;
  link->stop_reading = TRUE;
  c->close_timeout_id = g_timeout_add_full (G_PRIORITY_DEFAULT, CLOSE_TIMEOUT_MS, on_close_timeout,
                                            conn_ref (c), (GDestroyNotify) conn_unref);
  if (c->writing)
    return;
  kick_write (link);
}

/* --- reading --- */

static void on_read (GObject *source, GAsyncResult *res, gpointer data);

static void
start_read (BfLink *link)
{
  Conn *c = link->conn;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c->sock));
  g_input_stream_read_async (in, c->buf, sizeof c->buf, G_PRIORITY_DEFAULT, c->cancel, on_read,
                             conn_ref (c));
}

static void
on_read (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);
  if (!conn_current (c) || c->closing)
    {
      conn_unref (c);
      return;
    }
  BfLink *link = c->link;
  conn_unref (c);
  if (n < 0)
    {
      g_warning ("the connection to %s was lost: %s", server_name (link), error->message);
      finish_connection (link);
      return;
    }
  if (n == 0)
    {
      g_warning ("the server at %s closed the connection", server_name (link));
      finish_connection (link);
      return;
    }
  link->last_rx = g_get_monotonic_time ();
  link->ping_outstanding = FALSE;
  /* The server may keep Nagle's algorithm on (Prosody does by default): its
   * next stanza then waits until what it sent before is acknowledged, and
   * our delayed ACK takes up to 40 ms when we have nothing to send back (a
   * call's session-initiate waited for it: tests/bench/bench_call_setup.py).
   * Acknowledge at once; Linux drops TCP_QUICKACK by itself, so per read. */
  g_socket_set_option (g_socket_connection_get_socket (c->sock), IPPROTO_TCP, TCP_QUICKACK, 1,
                       NULL);

  g_autoptr (GError) parse_error = NULL;
  if (!bf_xml_stream_feed (link->xml, c->buf, (gsize) n, &parse_error))
    {
      const char *cond = bf_xml_stream_error_condition (parse_error->code);
      g_warning ("bad stream from %s: %s; sending <%s/> and reconnecting", server_name (link),
                 parse_error->message, cond);
      close_gracefully (link, cond);
      return;
    }
  if (link->conn != c || c->closing)
    return;
  if (link->server_closed)
    {
      g_warning ("the server at %s closed the stream", server_name (link));
      close_gracefully (link, NULL);
      return;
    }
  if (link->stop_reading)
    {
      close_gracefully (link, NULL);
      return;
    }
  start_read (link);
}

/* --- stream events (called from inside bf_xml_stream_feed) --- */

static void
on_stream_open (gpointer data, const BfStanza *header)
{
  BfLink *link = data;
  if (link->state != LINK_OPENING)
    return;
  const char *id = bf_stanza_get_attr (header, "id");
  if (id == NULL || *id == '\0')
    {
      g_warning ("the server at %s sent a stream header without an id", server_name (link));
      close_gracefully (link, "invalid-id");
      return;
    }
  /* XEP-0114 §3: SHA-1 of the stream id followed by the secret, in hex. */
  g_autofree char *input = g_strconcat (id, link->config->secret, NULL);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA1, input, -1);
  memset (input, 0, strlen (input));
  g_autofree char *handshake = g_strconcat ("<handshake>", digest, "</handshake>", NULL);
  if (link->trace)
    g_debug ("SEND: <handshake>(redacted)</handshake>");
  queue_raw (link, handshake, strlen (handshake));
  link->state = LINK_HANDSHAKING;
}

static void
handle_stream_error (BfLink *link, const BfStanza *error)
{
  const char *cond = "undefined-condition";
  const char *text = NULL;
  BfStanzaIter iter;
  BfStanza *child;
  bf_stanza_iter_init (&iter, error);
  while (bf_stanza_iter_next (&iter, &child))
    {
      if (g_strcmp0 (bf_stanza_get_ns (child), "urn:ietf:params:xml:ns:xmpp-streams") != 0)
        continue;
      if (strcmp (bf_stanza_get_name (child), "text") == 0)
        text = bf_stanza_get_text (child);
      else
        cond = bf_stanza_get_name (child);
    }
  const char *jid = link->jid;
  if (strcmp (cond, "not-authorized") == 0)
    g_warning ("the server refused the component secret for %s (not-authorized): check "
               "'secret' in [component] against the server's component configuration", jid);
  else if (strcmp (cond, "conflict") == 0)
    g_warning ("the server says another component is already connected as %s (conflict)", jid);
  else if (strcmp (cond, "host-unknown") == 0)
    g_warning ("the server does not know the component %s (host-unknown): check its "
               "component configuration", jid);
  else
    g_warning ("the server sent a stream error: %s%s%s", cond, text ? ": " : "",
               text ? text : "");
  link->stop_reading = TRUE;
}

static void
on_xml_stanza (gpointer data, BfStanza *stanza)
{
  BfLink *link = data;
  g_autoptr (BfStanza) owned = stanza;   /* freed whichever way we return */
  (void) owned;
  const char *name = bf_stanza_get_name (stanza);
  const char *ns = bf_stanza_get_ns (stanza);

  if (link->stop_reading)
    return;
  if (link->trace)
    {
      g_autofree char *text = bf_stanza_to_string (stanza);
      g_debug ("RECV: %s", text);
    }
  if (strcmp (name, "error") == 0 && g_strcmp0 (ns, BF_NS_STREAMS) == 0)
    {
      handle_stream_error (link, stanza);
      return;
    }
  if (link->state != LINK_ATTACHED)
    {
      if (strcmp (name, "handshake") == 0 && g_strcmp0 (ns, BF_NS_COMPONENT) == 0
          && link->state == LINK_HANDSHAKING)
        {
          link->state = LINK_ATTACHED;
          link->backoff = BACKOFF_MIN;
          link->stats.attaches++;
          g_message ("attached to %s as %s", server_name (link), link->jid);
          flush_held (link);
          if (link->on_attached)
            link->on_attached (link->on_attached_data, link->stats.attaches);
          return;
        }
      g_warning ("the server at %s sent <%s/> before accepting the handshake", server_name (link),
                 name);
      close_gracefully (link, "not-authorized");
      return;
    }
  link->stats.stanzas_in++;
  if (link->ping_id && strcmp (name, "iq") == 0
      && g_strcmp0 (bf_stanza_get_attr (stanza, "id"), link->ping_id) == 0)
    {
      /* Any answer, even an error, proves the server is there. */
      g_clear_pointer (&link->ping_id, g_free);
      return;
    }
  link->on_stanza (link->on_stanza_data, stanza);
}

/* One sender's stanza over a limit: the stream stays up (xmlstream.h). */
static void
on_xml_dropped (gpointer data, const BfStanza *head, BfXmlDropReason reason)
{
  BfLink *link = data;
  if (link->stop_reading)
    return;
  if (link->state != LINK_ATTACHED)
    {
      /* Before the handshake only the server speaks: its own fault. */
      g_warning ("the server at %s sent an over-limit <%s/> (%s) before accepting the handshake",
                 server_name (link), bf_stanza_get_name (head),
                 bf_xml_drop_reason_to_string (reason));
      close_gracefully (link, "policy-violation");
      return;
    }
  link->stats.stanzas_dropped_over_limit++;
  if (link->on_dropped)
    link->on_dropped (link->on_dropped_data, head, reason);
}

static void
on_stream_close (gpointer data)
{
  BfLink *link = data;
  link->server_closed = TRUE;
}

/* --- connecting --- */

static void
on_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  GSocketConnection *sock = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
                                                                    res, &error);
  if (!conn_current (c))
    {
      g_clear_object (&sock);
      conn_unref (c);
      return;
    }
  BfLink *link = c->link;
  conn_unref (c);
  if (sock == NULL)
    {
      g_warning ("cannot connect to %s: %s", server_name (link), error->message);
      finish_connection (link);
      return;
    }
  c->sock = sock;
  GSocket *socket = g_socket_connection_get_socket (sock);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_keepalive (socket, TRUE);

  link->state = LINK_OPENING;
  link->stop_reading = FALSE;
  link->server_closed = FALSE;
  link->last_rx = link->last_tx = g_get_monotonic_time ();
  bf_xml_stream_reset (link->xml);
  g_autofree char *header = g_strdup_printf (
      "<?xml version='1.0'?><stream:stream xmlns='" BF_NS_COMPONENT "' "
      "xmlns:stream='" BF_NS_STREAMS "' to='%s'>", link->jid);
  queue_raw (link, header, strlen (header));
  start_read (link);
}

static void
connect_now (BfLink *link)
{
  g_return_if_fail (link->conn == NULL);
  link->state = LINK_CONNECTING;
  link->attempt_at = g_get_monotonic_time ();
  link->stats.connects++;
  g_message ("connecting to %s", server_name (link));
  link->conn = conn_new (link);
  g_socket_client_connect_to_host_async (link->client, link->config->host, link->config->port,
                                         link->conn->cancel, on_connected, conn_ref (link->conn));
}

/* --- liveness --- */

static void
send_ping (BfLink *link)
{
  g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
  g_free (link->ping_id);
  link->ping_id = g_strdup_printf ("bf-ping-%u", ++link->ping_serial);
  bf_stanza_set_attr (iq, "type", "get");
  bf_stanza_set_attr (iq, "id", link->ping_id);
  bf_stanza_set_attr (iq, "from", link->jid);
  bf_stanza_set_attr (iq, "to", link->config->ping_target);
  bf_stanza_add_child (iq, "ping", BF_NS_PING);
  /* Whitespace first: servers that only watch for bytes see them too. */
  queue_raw (link, " ", 1);
  send_stanza (link, iq);
  link->ping_sent_at = g_get_monotonic_time ();
  link->ping_outstanding = TRUE;
}

static gboolean
on_tick (gpointer data)
{
  BfLink *link = data;
  gint64 now = g_get_monotonic_time ();
  gint64 s = G_USEC_PER_SEC;
  if (link->state != LINK_ATTACHED && !g_queue_is_empty (&link->held))
    held_prune (link);
  switch (link->state)
    {
    case LINK_CONNECTING:
      if (now - link->attempt_at > CONNECT_TIMEOUT_S * s)
        {
          g_warning ("connecting to %s timed out after %d s", server_name (link), CONNECT_TIMEOUT_S);
          finish_connection (link);
        }
      break;
    case LINK_OPENING:
    case LINK_HANDSHAKING:
      if (now - link->attempt_at > HANDSHAKE_TIMEOUT_S * s && !link->conn->closing)
        {
          g_warning ("the server at %s did not complete the handshake within %d s",
                     server_name (link), HANDSHAKE_TIMEOUT_S);
          finish_connection (link);
        }
      break;
    case LINK_ATTACHED:
      if (link->conn->closing)
        break;
      if (link->ping_outstanding)
        {
          if (now - link->ping_sent_at >= (gint64) link->config->ping_timeout * s)
            {
              g_warning ("no answer from %s for %u s after a ping: the link is dead, replacing it",
                         server_name (link), link->config->ping_timeout);
              finish_connection (link);
            }
        }
      else if (now - link->last_rx >= (gint64) link->config->keepalive_interval * s)
        send_ping (link);
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

/* --- public --- */

BfLink *
bf_link_new (const BfConfig *config, const char *jid, gboolean trace,
             BfLinkStanzaFunc on_stanza, gpointer data)
{
  BfLink *link = g_new0 (BfLink, 1);
  link->config = config;
  link->jid = g_strdup (jid);
  link->server_label = g_strdup_printf ("%s:%u", config->host, config->port);
  link->trace = trace;
  link->on_stanza = on_stanza;
  link->on_stanza_data = data;
  link->backoff = BACKOFF_MIN;
  link->outq = g_string_new (NULL);
  link->client = g_socket_client_new ();
  /* The server is named explicitly: no proxy lookup (which would also
   * drag in dconf and libproxy). */
  g_socket_client_set_enable_proxy (link->client, FALSE);
  static const BfXmlStreamCallbacks callbacks = { on_stream_open, on_xml_stanza, on_stream_close };
  link->xml = bf_xml_stream_new (&config->limits, &callbacks, link);
  bf_xml_stream_set_dropped_func (link->xml, on_xml_dropped);
  return link;
}

void
bf_link_set_dropped_func (BfLink *link, BfLinkDroppedFunc func, gpointer data)
{
  link->on_dropped = func;
  link->on_dropped_data = data;
}

void
bf_link_set_attached_func (BfLink *link, BfLinkAttachedFunc func, gpointer data)
{
  link->on_attached = func;
  link->on_attached_data = data;
}

void
bf_link_start (BfLink *link)
{
  g_return_if_fail (link->state == LINK_IDLE && link->conn == NULL);
  /* Fine-grained enough that a timeout of N s fires within N + 0.25 s. */
  link->tick_id = g_timeout_add (250, on_tick, link);
  connect_now (link);
}

void
bf_link_shutdown (BfLink *link, GSourceFunc done, gpointer data)
{
  link->shutting_down = TRUE;
  link->shutdown_done = done;
  link->shutdown_data = data;
  if (link->reconnect_id)
    {
      g_source_remove (link->reconnect_id);
      link->reconnect_id = 0;
    }
  if (link->conn && link->conn->sock && !link->conn->closing)
    {
      g_message ("closing the stream to %s", server_name (link));
      close_gracefully (link, NULL);
      return;
    }
  if (link->conn && link->conn->closing)
    return;   /* already on its way out; finish_connection will report */
  drop_connection (link);
  link->state = LINK_STOPPED;
  if (!g_queue_is_empty (&link->held))
    g_message ("stopping while detached: %u held stanza%s never sent", link->held.length,
               link->held.length == 1 ? "" : "s");
  held_clear (link);
  g_idle_add (call_shutdown_done, link);
}

const BfLinkStats *
bf_link_get_stats (BfLink *link)
{
  return &link->stats;
}

gboolean
bf_link_is_attached (BfLink *link)
{
  return link->state == LINK_ATTACHED;
}

void
bf_link_free (BfLink *link)
{
  if (link == NULL)
    return;
  drop_connection (link);
  if (link->reconnect_id)
    g_source_remove (link->reconnect_id);
  if (link->tick_id)
    g_source_remove (link->tick_id);
  g_idle_remove_by_data (link);
  g_clear_object (&link->client);
  bf_xml_stream_free (link->xml);
  g_string_free (link->outq, TRUE);
  held_clear (link);
  g_free (link->ping_id);
  g_free (link->server_label);
  g_free (link->jid);
  g_free (link);
}
