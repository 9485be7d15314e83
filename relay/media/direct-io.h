/* belfry media: direct I/O on a selected ICE pair.
 *
 * Why: libnice reads one datagram per wake-up and per system call, and
 * sends one per call; at media rates that, not SRTP, is what a worker
 * spends its time on.  Once DTLS is up on a selected UDP pair that is not
 * relayed, the transport hands the pair to this: it takes the pair's socket
 * from libnice (libnice's sockets are moved to a GMainContext nobody runs,
 * so libnice no longer reads), reads up to 64 datagrams per recvmmsg, and
 * sends on that socket itself.
 *
 * - Receiving: datagrams from any address other than the pair's remote one
 *   are dropped and counted (dropped_unvalidated), as libnice did silently;
 *   STUN is answered or consumed here (ice-consent.h; stun_in/stun_out);
 *   everything else goes to the receive callback.  Each wake-up is a batch
 *   of the worker's send queue (send-queue.h): what the callbacks send on
 *   any direct-I/O transport of this worker leaves with sendmmsg when the
 *   batch ends.
 * - Consent (RFC 7675): with a consent timeout, Binding requests go to the
 *   peer every 4-6 s (§5.1; with a timeout shorter than the RFC's 30 s,
 *   every 1 s once an answer is overdue) and consent is lost when none was
 *   answered for that long: nothing is sent any more and consent_lost is
 *   called.  Both deadlines are on the worker loop's 100 ms grid
 *   (bf_media_loop_grid): the checks of many pairs share a wake-up.  The agent must not run its own consent on a pair taken over:
 *   its checks' answers no longer reach it (transport.c creates such agents
 *   without it).
 *
 * Threading: like its transport, on one worker; callbacks run there.
 * BELFRY_MEDIA_DIRECT_IO=0 (or false) in the environment turns it off. */
#pragma once

#include <glib.h>
#include <nice/agent.h>

#include "media-types.h"
#include "worker.h"

G_BEGIN_DECLS

typedef struct _BfMediaDirectIo BfMediaDirectIo;

typedef struct {
  /* One datagram from the pair's remote address that is not STUN of ours
   * (@data writable, valid during the call), inside a send-queue batch. */
  void (*receive) (guint8 *data, gsize len, gpointer user_data);
  /* Consent expired: terminal, nothing is sent or answered any more. */
  void (*consent_lost) (gpointer user_data);
  /* An authenticated connectivity check came from another address than
   * the pair's: the peer moved (a phone changing networks without an ICE
   * restart: Conversations gathers continually and trickles the new
   * candidates under the same credentials).  Called once; the owner hands
   * the pair back to libnice, which answers the check's retransmission
   * and lets the peer nominate the new pair.  Not to free @dio from. */
  void (*peer_moved) (gpointer user_data);
} BfMediaDirectIoCallbacks;

typedef struct {
  const char *remote_ufrag, *remote_pwd;
  gboolean controlling;            /* our ICE role */
  guint consent_timeout_ms;        /* 0: no consent checks (the peer's are
                                    * still answered) */
} BfMediaDirectIoParams;

/* FALSE when BELFRY_MEDIA_DIRECT_IO says so (read once). */
gboolean bf_media_direct_io_enabled (void);

/* Takes over @agent's selected pair of @stream_id/@component_id, on
 * @worker's thread.  NULL (and libnice keeps the pair) when there is no
 * selected pair or it is relayed or TCP.  @counters (the transport's) and
 * @callbacks must outlive the result. */
BfMediaDirectIo *bf_media_direct_io_new (BfMediaWorker *worker, NiceAgent *agent,
                                         guint stream_id, guint component_id,
                                         const BfMediaDirectIoParams *params,
                                         BfMediaCounters *counters,
                                         const BfMediaDirectIoCallbacks *callbacks,
                                         gpointer user_data);
/* Stops reading and sending; libnice's sockets stay parked (the agent is
 * being closed).  Not from inside its own callbacks. */
void bf_media_direct_io_free (BfMediaDirectIo *dio);

/* Sends @data now, after what the worker has queued (order is kept).
 * FALSE if consent is lost or the socket refused (the caller counts). */
gboolean bf_media_direct_io_send (BfMediaDirectIo *dio, const guint8 *data, gsize len);

/* Inside a receive batch of this worker: a slot of the worker's send queue
 * (BF_MEDIA_SEND_QUEUE_SLOT bytes) to build a packet in, queued by
 * _commit.  NULL outside a batch or once consent is lost: send at once. */
guint8 *bf_media_direct_io_reserve (BfMediaDirectIo *dio);
void bf_media_direct_io_commit (BfMediaDirectIo *dio, gsize len, gboolean rtcp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMediaDirectIo, bf_media_direct_io_free)

G_END_DECLS
