/* belfry media: the loop a media worker's thread runs.
 *
 * Why: a worker holds thousands of transports.  Run as a plain GMainLoop,
 * every wake-up walked every GSource of its context and poll()ed every
 * socket (prepare, query, poll, check: the profile showed poll, g_source_ref
 * and g_main_context_check before any packet work), so the cost per packet
 * grew with the calls held, busy or idle.  This loop makes a wake-up cost
 * what is ready:
 *
 * - One epoll set.  The packet path's sockets (direct I/O, direct-io.h) are
 *   watched in it directly (bf_media_loop_watch): level-triggered, a ready
 *   socket's callback runs, nothing else is looked at.
 * - One timer heap (timer-heap.h) for the packet path's timers (consent
 *   checks, the metrics fold): a wake-up runs only the timers that are
 *   due.  Long timers are on a 100 ms grid (bf_media_loop_grid), so that
 *   the idle calls' consent checks and libnice keepalives due in the same
 *   100 ms share one wake-up instead of waking the worker one by one.
 * - GMainContexts run everything else: the worker's own (posted jobs,
 *   module timers) and one per transport (its NiceAgent, DTLS
 *   retransmissions, ICE timeout; bf_media_loop_add_context).  Each
 *   context's poll fds are registered in the same epoll set and its own
 *   timeout is a timer on the heap; a context is iterated (check, dispatch,
 *   prepare, query) only when one of its fds is ready or its timeout is
 *   due, not on every packet, and alone: an iteration costs the sources of
 *   one transport, not of every call on the worker (libnice keeps a
 *   keepalive timer per agent for as long as the agent lives).  Contexts
 *   are created with G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING, so attaching
 *   a source, even from this thread inside a packet callback, signals the
 *   context's wake-up fd (which is in the set) and the new source is seen
 *   at once.
 *
 * Threading: created anywhere, then run, used and freed on one thread (the
 * worker's), which acquires the context for as long as the loop runs.
 * Watches and timers are created, changed and freed on that thread only. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BfMediaLoop BfMediaLoop;
typedef struct _BfMediaWatch BfMediaWatch;
typedef struct _BfMediaTimer BfMediaTimer;

/* @fd is readable (or in error: the callback reads and finds out). */
typedef void (*BfMediaWatchFunc) (gpointer user_data);
/* The timer's deadline passed; it is no longer scheduled (set it again to
 * repeat).  The callback may set, stop or free its own timer. */
typedef void (*BfMediaTimerFunc) (gpointer user_data);

BfMediaLoop *bf_media_loop_new (GMainContext *context, GError **error);
/* No watch or timer may be left. */
void bf_media_loop_free (BfMediaLoop *loop);
/* Runs until bf_media_loop_quit (called from inside the loop: a posted
 * job).  The loop's own context (the one it was created with) is in the
 * loop while it runs. */
void bf_media_loop_run (BfMediaLoop *loop);
void bf_media_loop_quit (BfMediaLoop *loop);
/* After run: iterates every context until none has anything to dispatch
 * (at most @max_iterations rounds), then takes them all out. */
void bf_media_loop_drain (BfMediaLoop *loop, guint max_iterations);

/* Iterates @context as part of the loop (acquiring it) until it is
 * removed; create it with G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING.  Removal
 * may happen from inside the context's own dispatch; the loop lets it go
 * (released, unreferenced) at the end of that turn. */
void bf_media_loop_add_context (BfMediaLoop *loop, GMainContext *context);
void bf_media_loop_remove_context (BfMediaLoop *loop, GMainContext *context);

/* Watches @fd for reading; NULL with @error if epoll refuses it.  One watch
 * per fd.  The fd must stay open until the watch is freed. */
BfMediaWatch *bf_media_loop_watch (BfMediaLoop *loop, int fd, BfMediaWatchFunc func,
                                   gpointer user_data, GError **error);
/* Stops watching (also from inside any callback of this loop, its own
 * included: a freed watch is never called again). */
void bf_media_watch_free (BfMediaWatch *watch);

BfMediaTimer *bf_media_loop_timer_new (BfMediaLoop *loop, BfMediaTimerFunc func,
                                       gpointer user_data);
/* (Re)schedules at @deadline (g_get_monotonic_time() µs). */
void bf_media_timer_set (BfMediaTimer *timer, gint64 deadline);
void bf_media_timer_stop (BfMediaTimer *timer);
gboolean bf_media_timer_is_set (BfMediaTimer *timer);
void bf_media_timer_free (BfMediaTimer *timer);

/* Timers that can wait share wake-ups: the first point at or after
 * @deadline (monotonic µs) on a grid of BF_MEDIA_LOOP_GRID_US.  The
 * packet path's long timers (consent checks, direct-io.c) are set on it,
 * and so are the timeouts of added contexts (not the loop's own) that are
 * BF_MEDIA_LOOP_GRID_MIN_MS or longer (libnice's keepalives, ICE and DTLS
 * deadlines), so that what falls due in one grid step runs in one
 * wake-up.  Shorter timeouts (libnice's pacing, DTLS retransmissions)
 * stay exact. */
#define BF_MEDIA_LOOP_GRID_US 100000
#define BF_MEDIA_LOOP_GRID_MIN_MS 1000
gint64 bf_media_loop_grid (gint64 deadline);

/* Counters for the tests and the metrics fold: wake-ups of the loop, and
 * how many of them iterated the GMainContext. */
guint64 bf_media_loop_get_wakeups (BfMediaLoop *loop);
guint64 bf_media_loop_get_glib_iterations (BfMediaLoop *loop);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMediaTimer, bf_media_timer_free)

G_END_DECLS
