/* belfry media: a media worker's shared UDP port ([media] shared-port).
 *
 * Why: with a socket per leg, one recvmmsg returns one call's packets and
 * one sendmmsg sends one session's; an SFU receiver with 50 streams costs
 * 50 sendmmsg per packet round, and every idle call a socket.  Here a
 * worker has one socket per configured address (bound to the shared
 * port), and every transport of the worker (its ICE runs in ice-agent.c on
 * these sockets) sits behind it: one recvmmsg returns packets of many
 * calls, and what a batch sends leaves in one sendmmsg per socket (the
 * worker's send queue groups by socket, send-queue.h).  mediasoup's
 * WebRtcServer and the Jitsi videobridge's single-port harvester work so.
 *
 * Demultiplexing (RFC 7983 §7 first, then):
 * - STUN requests by the local ufrag in USERNAME (each link registers its
 *   own, random; the generation before an ICE restart too; links of one
 *   BUNDLE offer share one, told apart by the peer's ufrag after the
 *   colon); responses by the transaction id of a request the link sent;
 *   other STUN (keepalive indications) by the selected address.
 * - Everything else by the remote address of a link's *selected* pair
 *   only; an unknown source is dropped and counted (dropped_unvalidated,
 *   metric unvalidated_source, in the worker's own series).
 * - A remote peer can announce any address (another call's peer's, say):
 *   two links never hold one remote address as selected; a second
 *   selection of a held address is refused and counted
 *   (selections_refused).
 *
 * Threading: created, used and freed on its worker's thread only (see
 * worker.h); links too.  The callbacks run there, inside a batch of the
 * worker's send queue. */
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include "media-metrics.h"
#include "media-types.h"
#include "send-queue.h"
#include "worker-loop.h"

G_BEGIN_DECLS

typedef struct _BfPortMux BfPortMux;
typedef struct _BfPortMuxLink BfPortMuxLink;

#define BF_PORT_MUX_MAX_LOCAL 16

typedef struct {
  /* A datagram from the selected remote address that is not STUN (@data
   * writable, valid during the call). */
  void (*receive) (guint8 *data, gsize len, gpointer user_data);
  /* A STUN message for this link, from @from on socket @local. */
  void (*stun) (guint local, const guint8 *data, gsize len, const struct sockaddr *from,
                socklen_t from_len, gpointer user_data);
} BfPortMuxCallbacks;

typedef struct {
  guint64 dropped_unvalidated;   /* not STUN, from no link's selected address */
  guint64 stun_unknown;          /* STUN for no link (unknown ufrag or transaction) */
  guint64 selections_refused;    /* a remote address another link holds */
} BfPortMuxStats;

/* Binds one socket per address in @addresses (IP literals) to @port (0:
 * an ephemeral port each), watched in @loop; what is received is a batch
 * of @queue.  Registers its counters with @metrics (may be NULL). */
BfPortMux *bf_port_mux_new (BfMediaLoop *loop, BfMediaSendQueue *queue,
                            BfMediaMetrics *metrics, char **addresses, guint16 port,
                            GError **error);
/* Every link must be gone. */
void bf_port_mux_free (BfPortMux *mux);
guint bf_port_mux_get_n_locals (BfPortMux *mux);
/* The bound address of socket @local (for the host candidates). */
void bf_port_mux_get_local (BfPortMux *mux, guint local, struct sockaddr_storage *addr,
                            socklen_t *len);
void bf_port_mux_get_stats (BfPortMux *mux, BfPortMuxStats *stats);

/* A transport's place behind the mux: requests for @ufrag reach it.
 * @counters (the transport's) count its packets in and out and must
 * outlive the link. */
BfPortMuxLink *bf_port_mux_link_new (BfPortMux *mux, const char *ufrag,
                                     const BfPortMuxCallbacks *callbacks,
                                     BfMediaCounters *counters, gpointer user_data);
void bf_port_mux_link_free (BfPortMuxLink *link);
/* New local credentials (chosen, or an ICE restart): requests for @ufrag
 * reach the link; the previous one still does (the old pair's consent)
 * until the next call. */
void bf_port_mux_link_set_ufrag (BfPortMuxLink *link, const char *ufrag);
/* The peer's ufrag: tells apart links that share a local one. */
void bf_port_mux_link_set_remote_ufrag (BfPortMuxLink *link, const char *ufrag);
/* Non-STUN from @remote on socket @local reaches the link, and _send goes
 * there.  FALSE (counted in selections_refused) if another link holds
 * @remote. */
gboolean bf_port_mux_link_select (BfPortMuxLink *link, guint local,
                                  const struct sockaddr *remote, socklen_t remote_len);
/* Sends one STUN message (ICE checks, answers) from socket @local; the
 * transaction id of a request is remembered so that its response comes
 * back here.  After what the worker has queued (order is kept). */
gboolean bf_port_mux_link_send_stun (BfPortMuxLink *link, guint local,
                                     const struct sockaddr *to, socklen_t to_len,
                                     const guint8 *data, gsize len);
/* To the selected address, now (after what is queued).  FALSE without a
 * selection or if the socket refused (the caller counts). */
gboolean bf_port_mux_link_send (BfPortMuxLink *link, const guint8 *data, gsize len);
/* Inside a batch of the worker's send queue: a slot to build a packet in
 * (BF_MEDIA_SEND_QUEUE_SLOT bytes), queued by _commit; NULL outside a
 * batch or without a selection: send at once. */
guint8 *bf_port_mux_link_reserve (BfPortMuxLink *link);
void bf_port_mux_link_commit (BfPortMuxLink *link, gsize len, gboolean rtcp);

/* For the fuzz target and tests: one datagram as the receive path sees it
 * (@data writable). */
void bf_port_mux_input (BfPortMux *mux, guint local, guint8 *data, gsize len,
                        const struct sockaddr *from, socklen_t from_len);

G_END_DECLS
