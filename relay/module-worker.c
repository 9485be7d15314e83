/* belfry/worker.h: the modules' view of a media worker — posting work to
 * it and timers with absolute deadlines on it.  A BfWorker is a
 * BfMediaWorker (relay/media/worker.h); this file adds nothing to the
 * worker itself, only a GSource kind on its context.  Each module callback
 * (a work item, a timer tick) runs as one send batch of the worker's send
 * queue (media/send-queue.h), so the packets it sends leave together when
 * it returns. */
#include <belfry/worker.h>

#include "media/send-queue.h"
#include "media/worker.h"

#define TIMER_MAX_INTERVAL_MS 60000

static BfMediaWorker *
media_worker (BfWorker *worker)
{
  return (BfMediaWorker *) worker;
}

/* A module's work item, run as one send batch. */
typedef struct {
  BfMediaWorker *worker;
  BfWorkerFunc func;
  gpointer data;
  GDestroyNotify destroy;
} Work;

static void
work_run (gpointer data)
{
  Work *work = data;
  BfMediaSendQueue *q = bf_media_worker_get_send_queue (work->worker);
  bf_media_send_queue_begin (q);
  work->func (work->data);
  bf_media_send_queue_end (q);
}

static void
work_free (gpointer data)
{
  Work *work = data;
  if (work->destroy)
    work->destroy (work->data);
  g_free (work);
}

void
bf_worker_invoke (BfWorker *worker, BfWorkerFunc func, gpointer data, GDestroyNotify destroy)
{
  g_return_if_fail (worker != NULL && func != NULL);
  Work *work = g_new (Work, 1);
  work->worker = media_worker (worker);
  work->func = func;
  work->data = data;
  work->destroy = destroy;
  bf_media_worker_invoke (work->worker, work_run, work, work_free);
}

gboolean
bf_worker_is_current (BfWorker *worker)
{
  g_return_val_if_fail (worker != NULL, FALSE);
  return bf_media_worker_is_current (media_worker (worker));
}

/* --- timers --- */

typedef struct {
  GSource source;
  gint64 start;            /* monotonic µs: tick n is due at start + n × interval */
  gint64 interval;         /* µs */
  BfMediaSendQueue *queue; /* the worker's: each tick is one send batch */
  guint64 next;            /* the index of the next tick */
  guint64 missed;
  BfWorkerTimerFunc func;
  gpointer data;
  GDestroyNotify destroy;
} Timer;

static gint64
timer_deadline (const Timer *t, guint64 index)
{
  return t->start + (gint64) index * t->interval;
}

static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  (void) callback;
  (void) user_data;
  Timer *t = (Timer *) source;
  gint64 now = g_get_monotonic_time ();
  BfWorkerTick tick = { 0 };
  /* The latest tick that is due.  Late by less than an interval: the one
   * we were armed for.  Later: the ones between are skipped, not run in a
   * burst (a mixer that fell behind catches up by dropping, not by
   * running many ticks back to back). */
  guint64 due = now >= t->start ? (guint64) ((now - t->start) / t->interval) : 0;
  if (due < t->next)
    due = t->next;   /* woken a little early (ms rounding of the poll): still this one */
  tick.skipped = (guint) MIN (due - t->next, G_MAXUINT);
  t->missed += due - t->next;
  tick.index = due;
  tick.deadline = timer_deadline (t, due);
  tick.missed = t->missed;
  t->next = due + 1;
  g_source_set_ready_time (source, timer_deadline (t, t->next));
  bf_media_send_queue_begin (t->queue);
  gboolean again = t->func (&tick, t->data);
  bf_media_send_queue_end (t->queue);
  return again;
}

static void
timer_finalize (GSource *source)
{
  Timer *t = (Timer *) source;
  if (t->destroy)
    t->destroy (t->data);
}

static GSourceFuncs timer_funcs = {
  .dispatch = timer_dispatch,
  .finalize = timer_finalize,
};

guint
bf_worker_timer_add (BfWorker *worker, guint interval_ms, BfWorkerTimerFunc func,
                     gpointer data, GDestroyNotify destroy)
{
  g_return_val_if_fail (worker != NULL && func != NULL, 0);
  g_return_val_if_fail (interval_ms >= 1 && interval_ms <= TIMER_MAX_INTERVAL_MS, 0);
  BfMediaWorker *w = media_worker (worker);
  g_return_val_if_fail (bf_media_worker_is_current (w), 0);

  GSource *source = g_source_new (&timer_funcs, sizeof (Timer));
  Timer *t = (Timer *) source;
  t->start = g_get_monotonic_time ();
  t->interval = (gint64) interval_ms * G_TIME_SPAN_MILLISECOND;
  t->queue = bf_media_worker_get_send_queue (w);
  t->next = 1;
  t->func = func;
  t->data = data;
  t->destroy = destroy;
  g_source_set_static_name (source, "bf-worker-timer");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_ready_time (source, timer_deadline (t, t->next));
  guint id = g_source_attach (source, bf_media_worker_get_context (w));
  g_source_unref (source);
  return id;
}

void
bf_worker_timer_remove (BfWorker *worker, guint id)
{
  g_return_if_fail (worker != NULL);
  BfMediaWorker *w = media_worker (worker);
  g_return_if_fail (bf_media_worker_is_current (w));
  if (id == 0)
    return;
  GSource *source = g_main_context_find_source_by_id (bf_media_worker_get_context (w), id);
  /* Only our own kind: an id of some other source on the worker (the
   * core's) is not the module's to remove. */
  if (source != NULL && source->source_funcs == &timer_funcs && !g_source_is_destroyed (source))
    g_source_destroy (source);
}
