/* The proxy65 relay threads: activated streams are relayed off the main
 * thread, spread over a few threads of the module's own, so that many
 * concurrent streams use every core while SOCKS5, activation, limits and
 * accounting stay on the main thread.
 *
 * Threads: p65_pool_new(), p65_pool_relay() and p65_pool_free() on the main
 * thread (the one whose thread-default context p65_pool_new() saw); the
 * done callback runs there too.  Each pool thread ("bf-proxy65-N") runs a
 * GMainContext of its own and owns the pairs handed to it: it starts them,
 * relays them, ends idle ones and frees each one once, on that thread.  The
 * two sides share nothing but a queue of done reports (and the pairs handed
 * over, which the main thread never touches again). */
#pragma once

#include <glib.h>

#include "splice-pair.h"

G_BEGIN_DECLS

typedef struct _P65Pool P65Pool;

/* How a stream ended, reported once per pair that was relayed. */
typedef struct {
  gpointer stream;        /* p65_pool_relay's @stream */
  const char *reason;     /* static text */
  gboolean idle;          /* ended by the idle timeout */
  guint64 a_to_b, b_to_a; /* bytes relayed fd_a -> fd_b and back */
} P65PoolDone;

typedef void (*P65PoolDoneFunc) (const P65PoolDone *done, gpointer data);

/* Starts @threads relay threads.  A pair that moves no byte for
 * @idle_timeout_s seconds is ended (reported with idle set). */
P65Pool *p65_pool_new (guint threads, guint idle_timeout_s, P65PoolDoneFunc done,
                       gpointer data, GError **error);
/* Relays @fd_a and @fd_b to each other (p65_pair_prepare()) on the thread
 * relaying the fewest pairs (its index in *@thread), and reports the end
 * with @stream.  On success
 * the pool owns both descriptors; on failure (FALSE and @error: no pipes,
 * e.g. EMFILE) it has touched neither and the caller still owns them. */
gboolean p65_pool_relay (P65Pool *pool, int fd_a, int fd_b, const P65PairLimits *limits,
                         gpointer stream, guint *thread, GError **error);
guint p65_pool_get_size (P65Pool *pool);
/* Pairs relayed by thread @i now (as the main thread knows it). */
guint p65_pool_get_active (P65Pool *pool, guint i);
/* Stops the threads: each frees the pairs it still relays (unreported),
 * then they are joined; ends reported before that are delivered first. */
void p65_pool_free (P65Pool *pool);

G_END_DECLS
