/* The component link (XEP-0114): one TCP stream to the XMPP server, its
 * handshake, stanza I/O with a bounded write queue, keepalives, dead-link
 * detection and reconnection with backoff.  While it is down (the server
 * restarts) stanzas sent are held, bounded in count, bytes and age, and go
 * out in order after the next handshake: signalling of calls whose media
 * never stopped catches up.  Lives on the main context. */
#pragma once

#include <belfry/stanza.h>
#include "config.h"
#include "xmlstream.h"

G_BEGIN_DECLS

typedef struct _BfLink BfLink;

/* Called for every stanza the server sends once the link is attached. */
typedef void (*BfLinkStanzaFunc) (gpointer data, const BfStanza *stanza);

/* Called after every accepted handshake, once the held stanzas are queued;
 * @attaches counts handshakes (1 the first time). */
typedef void (*BfLinkAttachedFunc) (gpointer data, guint64 attaches);

typedef struct {
  guint64 connects;        /* connection attempts */
  guint64 attaches;        /* accepted handshakes */
  guint64 stanzas_in;
  guint64 stanzas_out;
  guint64 dropped_out;     /* stanzas dropped: not held, held too long or
                              over the hold limits, or the queue full */
  guint64 held;            /* stanzas held while detached */
  guint64 held_sent;       /* held stanzas sent after a handshake */
  guint64 held_dropped;    /* held stanzas dropped (oldest over a limit, or stale) */
  guint64 stream_errors;   /* stream errors we sent */
  guint64 stanzas_dropped_over_limit; /* skipped by the parser, the stream kept */
} BfLinkStats;

/* @config must outlive the link; the stream attaches as @jid (the
 * config's jid, or its node-jid for a process's second link).  @trace logs
 * every stanza (debug level). */
BfLink *bf_link_new (const BfConfig *config, const char *jid, gboolean trace,
                     BfLinkStanzaFunc on_stanza, gpointer data);
void bf_link_free (BfLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfLink, bf_link_free)

/* Called for a stanza the parser dropped over a limit (xmlstream.h) once
 * the link is attached: @head is enough to bounce it. */
typedef void (*BfLinkDroppedFunc) (gpointer data, const BfStanza *head, BfXmlDropReason reason);
void bf_link_set_dropped_func (BfLink *link, BfLinkDroppedFunc func, gpointer data);

void bf_link_set_attached_func (BfLink *link, BfLinkAttachedFunc func, gpointer data);
void bf_link_start (BfLink *link);
/* Queues a stanza; held while the link is not attached (see above).
 * FALSE (logged and counted) when it is dropped: the write queue is full,
 * holding is off, or the link is shutting down. */
gboolean bf_link_send (BfLink *link, const BfStanza *stanza);
/* Closes the stream with </stream:stream>, waits for the bytes to leave
 * (at most 2 s), then calls @done.  No reconnection afterwards. */
void bf_link_shutdown (BfLink *link, GSourceFunc done, gpointer data);
const BfLinkStats *bf_link_get_stats (BfLink *link);
/* TRUE while the server has accepted our handshake and the stream is up. */
gboolean bf_link_is_attached (BfLink *link);

G_END_DECLS
