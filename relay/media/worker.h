/* belfry media workers: threads that each own a GMainContext.
 *
 * docs/architecture.md "Threads and ownership": a session is pinned to one
 * worker, which owns its NiceAgent, DTLS state and SRTP contexts; the
 * signalling thread talks to a worker only by posting to its context
 * (bf_media_worker_invoke).  Nothing on a worker's packet path takes a
 * lock of ours. */
#pragma once

#include <glib.h>
#include <time.h>

#include "media-config.h"
#include "media-metrics.h"
#include "port-mux.h"
#include "send-queue.h"
#include "worker-loop.h"

G_BEGIN_DECLS

typedef struct _BfMediaWorker BfMediaWorker;
typedef struct _BfMediaPool BfMediaPool;

typedef void (*BfMediaWorkerFunc) (gpointer data);

/* Starts a thread named @name running a BfMediaLoop (worker-loop.h) over
 * its own context (the thread-default context on that thread). */
BfMediaWorker *bf_media_worker_new (const char *name, GError **error);
/* Stops the loop, drains what is already queued, joins the thread.  Every
 * transport on it must have been freed.  Never call it on the worker. */
void bf_media_worker_free (BfMediaWorker *worker);

/* Posts @func(@data) to run once on the worker, always asynchronously (even
 * when called on the worker), in posting order; @destroy(@data) runs after
 * it on the worker (or on the caller's thread if the worker is stopping and
 * the call was never dispatched).  Callable from any thread. */
void bf_media_worker_invoke (BfMediaWorker *worker, BfMediaWorkerFunc func,
                             gpointer data, GDestroyNotify destroy);

GMainContext *bf_media_worker_get_context (BfMediaWorker *worker);
/* Its loop, for the packet path's fd watches and timers (worker-loop.h):
 * only on the worker's thread. */
BfMediaLoop *bf_media_worker_get_loop (BfMediaWorker *worker);
/* TRUE on the worker's own thread (cheap: no lock). */
gboolean bf_media_worker_is_current (BfMediaWorker *worker);
const char *bf_media_worker_get_name (BfMediaWorker *worker);
/* The worker's send queue (send-queue.h): only on the worker's thread,
 * like everything on its packet path. */
BfMediaSendQueue *bf_media_worker_get_send_queue (BfMediaWorker *worker);
/* Its shared port ([media] shared-port, port-mux.h), opened at the first
 * call: worker i of the pool binds PORT + i (0: ephemeral) on each of
 * @config's addresses.  Only on the worker's thread; NULL with @error if a
 * socket cannot be bound.  Freed when the worker stops. */
BfPortMux *bf_media_worker_get_port_mux (BfMediaWorker *worker, const BfMediaConfig *config,
                                         GError **error);
/* Its metric series (media-metrics.h): transports on it fold their
 * counters into them, on the worker. */
BfMediaMetrics *bf_media_worker_get_metrics (BfMediaWorker *worker);
/* The thread's CPU-time clock (clock_gettime), for the metrics scrape on
 * the main thread; valid until bf_media_worker_free.  FALSE if unknown. */
gboolean bf_media_worker_get_cpu_clock (BfMediaWorker *worker, clockid_t *clock);
/* Sessions pinned to it (see bf_media_pool_acquire). */
guint bf_media_worker_get_load (BfMediaWorker *worker);
/* Packets it received and sent over the last whole second (any thread). */
guint bf_media_worker_get_packet_rate (BfMediaWorker *worker);

/* N workers ("[media] workers"; 0 = one per core). */
BfMediaPool *bf_media_pool_new (guint n_workers, GError **error);
void bf_media_pool_free (BfMediaPool *pool);
guint bf_media_pool_get_size (BfMediaPool *pool);
BfMediaWorker *bf_media_pool_get_worker (BfMediaPool *pool, guint index);
/* Pins a new session: the least loaded worker by packet rate (sessions
 * pinned since the rate was taken count as average ones; ties by session
 * count), whose session count goes up by one.
 * Both legs of a relayed call share the worker: acquire once, then
 * bf_media_worker_acquire() it again for the second leg. */
BfMediaWorker *bf_media_pool_acquire (BfMediaPool *pool);
void bf_media_worker_acquire (BfMediaWorker *worker);
/* The session is gone. */
void bf_media_worker_release (BfMediaWorker *worker);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMediaWorker, bf_media_worker_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMediaPool, bf_media_pool_free)

G_END_DECLS
