/* Two connected sockets relayed to each other with splice(2) through a pipe
 * per direction: the bytes never enter user space.  Back-pressure both
 * ways (a direction reads only when its pipe is empty), half-close (EOF on
 * one side becomes shutdown(SHUT_WR) on the other once the pipe is
 * drained), an optional byte budget and bandwidth cap.
 *
 * Threads: p65_pair_prepare() on any thread builds a pair that watches
 * nothing yet (and may be handed to another thread as it is);
 * p65_pair_start() on the thread that will own it attaches it to that
 * thread's thread-default main context, and from then on everything (its
 * callback, p65_pair_free, the getters) happens on that thread only.
 * p65_pair_new() is both at once. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _P65Pair P65Pair;

/* Called once, when the pair is over: both directions closed cleanly, an
 * error, or a limit.  @reason is static text.  The callee may free @pair. */
typedef void (*P65PairDoneFunc) (P65Pair *pair, const char *reason, gpointer data);

typedef struct {
  gsize pipe_size;        /* bytes per direction in flight; 0: 1 MiB */
  guint64 max_bytes;      /* both directions summed; 0: unlimited */
  guint64 bandwidth;      /* bytes/s per direction; 0: unlimited */
} P65PairLimits;

/* On success the pair owns both (non-blocking) descriptors and
 * p65_pair_free() closes them.  On failure (NULL and @error: no pipe, e.g.
 * EMFILE) it has touched neither: the caller still owns and must close
 * them, once. */
P65Pair *p65_pair_new (int fd_a, int fd_b, const P65PairLimits *limits,
                       P65PairDoneFunc done, gpointer data, GError **error);
/* As p65_pair_new, with the same ownership rule, but not watching yet:
 * nothing moves until p65_pair_start().  An unstarted pair may be freed on
 * any thread. */
P65Pair *p65_pair_prepare (int fd_a, int fd_b, const P65PairLimits *limits,
                           P65PairDoneFunc done, gpointer data, GError **error);
/* Starts relaying on the calling thread's thread-default main context. */
void p65_pair_start (P65Pair *pair);
void p65_pair_free (P65Pair *pair);

guint64 p65_pair_get_bytes (P65Pair *pair, gboolean a_to_b);
/* g_get_monotonic_time() of the last byte moved (or of creation). */
gint64 p65_pair_get_last_activity (P65Pair *pair);

G_END_DECLS
