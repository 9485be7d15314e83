/* belfry — work and timers on a media worker, for modules.
 *
 * Every session runs on one media worker thread (its ICE, DTLS, SRTP and
 * the module's media() / media_ready() hooks).  A module that keeps state
 * used on that thread — a relay's payload type maps, a conference's mixer —
 * changes it by posting work to the worker, and a module that must act on
 * its own clock there (a conference's 20 ms mixing tick) runs a timer on
 * it.  This is how the main thread talks to a worker: by posting, never by
 * sharing memory that both threads write (docs/architecture.md, "Threads
 * and ownership").
 *
 * Threads: bf_session_get_worker() from any thread; bf_worker_invoke() from
 * the main thread (or any thread); the timer functions, and every callback
 * of this header, on the worker's own thread only.  A worker lives as long
 * as the process: the pointer never dangles.
 *
 * Timers keep absolute deadlines: the n-th tick of a timer started at S
 * with interval I is due at S + n × I, whatever time the previous ticks
 * took, so a 20 ms tick stays on a 20 ms grid (GLib's g_timeout_add re-arms
 * from dispatch time and drifts by the dispatch latency every tick).  When
 * the worker was busy for more than an interval, the ticks it missed are
 * skipped, not run in a burst: the callback runs once, for the latest
 * deadline that is due, and sees how many were skipped.
 *
 * Each work item (bf_worker_invoke) and each timer tick is one send batch:
 * the packets its callback sends (bf_session_send_rtp/rtcp,
 * bf_session_forward) are protected at once but queued, and leave when the
 * callback returns, with one sendmmsg() per destination (a socket and a
 * peer address) instead of one sendto() each; a destination's packets keep
 * their order.  A 20 ms mixing tick that sends one packet to each of N
 * sessions on one socket makes one system call, not N.  A send reports
 * success once queued; a failure of the batched send is counted in the
 * session's transport (send errors), as any other. */
#pragma once

#include <glib.h>
#include <belfry/session.h>

G_BEGIN_DECLS

typedef struct _BfWorker BfWorker;

typedef void (*BfWorkerFunc) (gpointer data);

/* What a timer callback is told about its tick. */
typedef struct {
  gint64 deadline;      /* when this tick was due: S + index × I (monotonic µs,
                         * the clock of g_get_monotonic_time) */
  guint64 index;        /* n, counted from the start; skipped ticks count too */
  guint skipped;        /* ticks skipped just before this one (0 when on time) */
  guint64 missed;       /* ticks skipped since the timer was added */
} BfWorkerTick;

/* G_SOURCE_CONTINUE to keep ticking, G_SOURCE_REMOVE to stop (destroy then
 * runs). */
typedef gboolean (*BfWorkerTimerFunc) (const BfWorkerTick *tick, gpointer data);

/* The worker @session runs on (from the offer() hook on, where
 * bf_session_set_worker() may still change it; a session placed with
 * bf_session_place() shares its mirror's, one placed with
 * bf_session_place_offer() runs on the worker it was given, if any).  Any
 * thread. */
BfWorker *bf_session_get_worker (BfSession *session);

/* Runs @func(@data) once on @worker's thread, always later (even when
 * called there), in posting order with everything else posted to that
 * worker, including the core's own work for its sessions: what a module
 * posts before it calls a function that starts media on the worker (e.g.
 * bf_session_accept_mirrored) is in place before that media flows.
 * @destroy(@data), if set, runs after @func on the worker, or, if the
 * worker stops before @func ran, on the thread that stops it. */
void bf_worker_invoke (BfWorker *worker, BfWorkerFunc func, gpointer data,
                       GDestroyNotify destroy);

/* TRUE on @worker's own thread. */
gboolean bf_worker_is_current (BfWorker *worker);

/* Worker thread only: calls @func every @interval_ms (1 to 60000), the first
 * tick at now + @interval_ms.  @destroy(@data) runs once the timer is over
 * (removed, @func returned G_SOURCE_REMOVE, or the worker stopped).  The
 * timer's id (never 0), for bf_worker_timer_remove(). */
guint bf_worker_timer_add (BfWorker *worker, guint interval_ms, BfWorkerTimerFunc func,
                           gpointer data, GDestroyNotify destroy);
/* Worker thread only: stops the timer @id of @worker (no tick runs after
 * this returns; @destroy runs now unless a tick is running).  An @id that
 * is not a live timer of @worker is ignored. */
void bf_worker_timer_remove (BfWorker *worker, guint id);

G_END_DECLS
