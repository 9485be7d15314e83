/* belfry/worker.h on a real media worker thread: work posted from the main
 * thread runs in order; timers keep absolute deadlines, skip (and count)
 * the ticks a busy worker missed instead of bursting, and stop on remove;
 * what a tick or a work item sends leaves in one sendmmsg when it returns.
 * Timing bounds are generous (the test machine is shared); the exact
 * checks are on deadlines, which do not depend on load. */
#include <string.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include <belfry/worker.h>

#include "send-queue.h"
#include "worker.h"

#define WAIT_US (10 * G_TIME_SPAN_SECOND)

static BfWorker *
as_worker (BfMediaWorker *w)
{
  return (BfWorker *) w;
}

/* Runs @func(@data) on the worker and waits for it (bounded). */
typedef struct {
  GFunc func;
  gpointer data;
  GAsyncQueue *done;
} Sync;

static void
sync_run (gpointer data)
{
  Sync *s = data;
  s->func (s->data, NULL);
  g_async_queue_push (s->done, GINT_TO_POINTER (1));
}

static void
run_on_worker (BfMediaWorker *w, GFunc func, gpointer data)
{
  g_autoptr (GAsyncQueue) done = g_async_queue_new ();
  Sync s = { func, data, done };
  bf_worker_invoke (as_worker (w), sync_run, &s, NULL);
  g_assert_nonnull (g_async_queue_timeout_pop (done, WAIT_US));
}

/* --- invoke --- */

typedef struct {
  GArray *ran;          /* worker: the values in the order they ran */
  gint destroyed;       /* atomic */
  gboolean on_worker;   /* worker: every func ran on the worker's thread */
  BfMediaWorker *w;
} InvokeState;

typedef struct {
  InvokeState *st;
  guint value;
} InvokeItem;

static void
invoke_func (gpointer data)
{
  InvokeItem *item = data;
  if (!bf_worker_is_current (as_worker (item->st->w)))
    item->st->on_worker = FALSE;
  g_array_append_val (item->st->ran, item->value);
}

static void
invoke_destroy (gpointer data)
{
  InvokeItem *item = data;
  g_atomic_int_inc (&item->st->destroyed);
  g_free (item);
}

#define N_INVOKE 2000

static void
test_invoke_order (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaWorker *w = bf_media_worker_new ("test-invoke", &error);
  g_assert_no_error (error);
  InvokeState st = { g_array_new (FALSE, FALSE, sizeof (guint)), 0, TRUE, w };
  g_assert_false (bf_worker_is_current (as_worker (w)));
  for (guint i = 0; i < N_INVOKE; i++)
    {
      InvokeItem *item = g_new (InvokeItem, 1);
      item->st = &st;
      item->value = i;
      bf_worker_invoke (as_worker (w), invoke_func, item, invoke_destroy);
    }
  /* Stopping the worker runs what was posted before, then destroys. */
  bf_media_worker_free (w);
  g_assert_true (st.on_worker);
  g_assert_cmpuint (st.ran->len, ==, N_INVOKE);
  for (guint i = 0; i < N_INVOKE; i++)
    g_assert_cmpuint (g_array_index (st.ran, guint, i), ==, i);
  g_assert_cmpint (g_atomic_int_get (&st.destroyed), ==, N_INVOKE);
  g_array_unref (st.ran);
}

/* --- timers --- */

#define MAX_TICKS 256

typedef struct {
  BfMediaWorker *w;
  guint interval_ms;
  guint stop_at;              /* index at which the callback returns REMOVE */
  guint block_at;             /* index at which the callback sleeps block_us (0: never) */
  gint64 block_us;
  guint snapshot;             /* n, copied on the worker by count_ticks */
  gint64 added_before, added_after;   /* around bf_worker_timer_add */
  guint id;
  guint n;                    /* callbacks run */
  BfWorkerTick ticks[MAX_TICKS];
  gint64 ran_at[MAX_TICKS];   /* monotonic µs when each callback ran */
  gboolean on_worker;
  GAsyncQueue *destroyed;     /* one push when destroy runs */
} TimerState;

static gboolean
timer_cb (const BfWorkerTick *tick, gpointer data)
{
  TimerState *st = data;
  gint64 now = g_get_monotonic_time ();
  if (!bf_worker_is_current (as_worker (st->w)))
    st->on_worker = FALSE;
  g_assert_cmpuint (st->n, <, MAX_TICKS);
  st->ticks[st->n] = *tick;
  st->ran_at[st->n] = now;
  st->n++;
  if (st->block_at && tick->index == st->block_at)
    g_usleep (st->block_us);   /* the worker is busy: nothing else runs on it */
  return tick->index >= st->stop_at ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void
timer_destroy (gpointer data)
{
  TimerState *st = data;
  g_async_queue_push (st->destroyed, GINT_TO_POINTER (1));
}

static void
add_timer (gpointer data, gpointer unused)
{
  (void) unused;
  TimerState *st = data;
  st->added_before = g_get_monotonic_time ();
  st->id = bf_worker_timer_add (as_worker (st->w), st->interval_ms, timer_cb, st, timer_destroy);
  st->added_after = g_get_monotonic_time ();
}

static void
timer_state_init (TimerState *st, BfMediaWorker *w, guint interval_ms, guint stop_at)
{
  *st = (TimerState) { 0 };
  st->w = w;
  st->interval_ms = interval_ms;
  st->stop_at = stop_at;
  st->on_worker = TRUE;
  st->destroyed = g_async_queue_new ();
}

/* Every deadline lies on the grid start + index × interval, start being
 * the time of bf_worker_timer_add. */
static void
assert_on_grid (const TimerState *st)
{
  gint64 interval = (gint64) st->interval_ms * 1000;
  gint64 start = st->ticks[0].deadline - (gint64) st->ticks[0].index * interval;
  g_assert_cmpint (start, >=, st->added_before);
  g_assert_cmpint (start, <=, st->added_after);
  for (guint i = 0; i < st->n; i++)
    {
      g_assert_cmpint (st->ticks[i].deadline, ==, start + (gint64) st->ticks[i].index * interval);
      /* Never early. */
      g_assert_cmpint (st->ran_at[i], >=, st->ticks[i].deadline);
      if (i > 0)
        g_assert_cmpuint (st->ticks[i].index, ==,
                          st->ticks[i - 1].index + 1 + st->ticks[i].skipped);
    }
}

static void
remove_timer (gpointer data, gpointer unused)
{
  (void) unused;
  TimerState *st = data;
  bf_worker_timer_remove (as_worker (st->w), st->id);
}

#define N_TICKS 50

static void
test_timer_deadlines (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaWorker *w = bf_media_worker_new ("test-timer", &error);
  g_assert_no_error (error);
  TimerState st;
  timer_state_init (&st, w, 20, N_TICKS);
  run_on_worker (w, add_timer, &st);
  g_assert_cmpuint (st.id, !=, 0);
  /* 50 × 20 ms = 1 s; destroy runs once the callback returned REMOVE. */
  g_assert_nonnull (g_async_queue_timeout_pop (st.destroyed, WAIT_US));
  g_assert_true (st.on_worker);

  /* The first at start + interval (unless the machine was so busy that it
   * was skipped already). */
  g_assert_cmpuint (st.ticks[0].index, ==, 1 + st.ticks[0].skipped);
  g_assert_cmpuint (st.ticks[st.n - 1].index, ==, N_TICKS);
  assert_on_grid (&st);
  /* Every index from 1 to 50 ran or was counted as skipped (none is, on a
   * machine that is not overloaded; either way the grid holds). */
  g_assert_cmpuint (st.n + st.ticks[st.n - 1].missed, ==, N_TICKS);
  /* Dispatch lateness does not accumulate: the last ticks run close to
   * start + n × 20 ms.  Re-arming from dispatch time (g_timeout_add)
   * would add each tick's lateness (at least the poll's ms rounding) to
   * all later ones, tens of ms by the 50th.  The best of the last ten is
   * checked, so that one scheduling hiccup of a shared machine does not
   * fail the test; an accumulated drift makes every one of them late. */
  gint64 last_late = st.ran_at[st.n - 1] - st.ticks[st.n - 1].deadline;
  gint64 worst = 0, sum = 0, best_of_last = G_MAXINT64;
  for (guint i = 0; i < st.n; i++)
    {
      gint64 late = st.ran_at[i] - st.ticks[i].deadline;
      worst = MAX (worst, late);
      sum += late;
      if (i + 10 >= st.n)
        best_of_last = MIN (best_of_last, late);
    }
  g_test_message ("50 ticks of 20 ms: last %.2f ms late, best of the last ten %.2f ms, "
                  "mean %.2f ms, worst %.2f ms, %" G_GUINT64_FORMAT " skipped", last_late / 1e3,
                  best_of_last / 1e3, sum / 1e3 / st.n, worst / 1e3,
                  st.ticks[st.n - 1].missed);
  g_assert_cmpuint (st.n, >=, 10);
  g_assert_cmpint (best_of_last, <, 5 * 1000);

  /* The timer is gone: its id no longer names a live timer, and removing
   * it is harmless. */
  run_on_worker (w, remove_timer, &st);
  g_assert_null (g_async_queue_try_pop (st.destroyed));   /* destroy ran once */
  bf_media_worker_free (w);
  g_async_queue_unref (st.destroyed);
}

static void
test_timer_skips_missed (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaWorker *w = bf_media_worker_new ("test-timer", &error);
  g_assert_no_error (error);
  TimerState st;
  timer_state_init (&st, w, 20, 16);
  st.block_at = 3;
  st.block_us = 100 * 1000;
  run_on_worker (w, add_timer, &st);
  g_assert_nonnull (g_async_queue_timeout_pop (st.destroyed, WAIT_US));
  assert_on_grid (&st);

  /* Find the tick that ran after the 100 ms block. */
  guint i = 0;
  while (i < st.n && st.ticks[i].index != 3)
    i++;
  g_assert_cmpuint (i + 1, <, st.n);
  const BfWorkerTick *after = &st.ticks[i + 1];
  /* Blocked from tick 3 (due at 60 ms) until at least 160 ms: ticks 4 to 7
   * were due meanwhile; they are skipped and counted, and one callback
   * runs, for the latest deadline due. */
  g_test_message ("after a 100 ms block: tick %" G_GUINT64_FORMAT " ran, %u skipped",
                  after->index, after->skipped);
  g_assert_cmpuint (after->skipped, >=, 4);
  g_assert_cmpuint (after->skipped, <=, 8);   /* generous: a slow wake-up */
  g_assert_cmpuint (after->missed, >=, after->skipped);
  /* It is the latest due (less than an interval old when dispatched; two
   * here, for the time between the dispatch and the callback's clock
   * reading on a loaded machine).  A burst would run tick 4, 100 ms late. */
  g_assert_cmpint (st.ran_at[i + 1] - after->deadline, <, 2 * st.interval_ms * 1000);
  /* No burst: the next callback waits for its own deadline, at least an
   * interval later. */
  g_assert_cmpuint (i + 2, <, st.n);
  g_assert_cmpuint (st.ticks[i + 2].index, >, after->index);
  g_assert_cmpint (st.ran_at[i + 2], >=, after->deadline + st.interval_ms * 1000);
  /* Ran + skipped = every tick up to the last. */
  g_assert_cmpuint (st.n + st.ticks[st.n - 1].missed, ==, st.ticks[st.n - 1].index);

  bf_media_worker_free (w);
  g_async_queue_unref (st.destroyed);
}

static void
remove_unknown (gpointer data, gpointer unused)
{
  (void) unused;
  TimerState *st = data;
  bf_worker_timer_remove (as_worker (st->w), 0);
  bf_worker_timer_remove (as_worker (st->w), st->id + 1000);
}

static void
count_ticks (gpointer data, gpointer out)
{
  (void) out;
  TimerState *st = data;
  st->snapshot = st->n;
}

static void
test_timer_remove (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaWorker *w = bf_media_worker_new ("test-timer", &error);
  g_assert_no_error (error);
  TimerState st;
  timer_state_init (&st, w, 10, G_MAXUINT);
  run_on_worker (w, add_timer, &st);
  run_on_worker (w, remove_unknown, &st);   /* ignored: the timer goes on */
  /* Let it tick a few times (bounded wait). */
  for (guint i = 0; i < 100; i++)
    {
      run_on_worker (w, count_ticks, &st);
      if (st.snapshot >= 3)
        break;
      g_usleep (10 * 1000);
    }
  g_assert_cmpuint (st.snapshot, >=, 3);
  g_assert_null (g_async_queue_try_pop (st.destroyed));

  run_on_worker (w, remove_timer, &st);
  /* destroy ran during the remove, on the worker, before the sync returned */
  g_assert_nonnull (g_async_queue_try_pop (st.destroyed));
  run_on_worker (w, count_ticks, &st);
  guint at_remove = st.snapshot;
  g_usleep (100 * 1000);   /* ten intervals */
  run_on_worker (w, count_ticks, &st);
  g_assert_cmpuint (st.snapshot, ==, at_remove);
  /* Removing again is harmless, and destroy does not run twice. */
  run_on_worker (w, remove_timer, &st);
  g_assert_null (g_async_queue_try_pop (st.destroyed));

  bf_media_worker_free (w);
  g_async_queue_unref (st.destroyed);
}

/* A timer still ticking when the worker stops: destroy runs then. */
static void
test_timer_worker_stops (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaWorker *w = bf_media_worker_new ("test-timer", &error);
  g_assert_no_error (error);
  TimerState st;
  timer_state_init (&st, w, 20, G_MAXUINT);
  run_on_worker (w, add_timer, &st);
  bf_media_worker_free (w);
  g_assert_nonnull (g_async_queue_try_pop (st.destroyed));
  g_async_queue_unref (st.destroyed);
}

/* --- a module callback is one send batch --- */

#define N_BATCH 10

typedef struct {
  BfMediaWorker *w;
  BfMediaSendDest dest;
  BfMediaCounters counters;
  gboolean batching;          /* seen inside the callback */
  guint64 calls_inside;       /* sendmmsg calls after queueing, inside it */
  guint64 calls_before;
  guint64 calls_after;        /* read on the worker once it returned */
  GAsyncQueue *done;
} BatchState;

/* Sends N_BATCH packets the way a transport's direct I/O does inside a
 * batch (media/direct-io.c: reserve a slot, protect into it, commit).
 * Outside a batch there is no slot to reserve: it sends at once. */
static void
send_burst (BatchState *st)
{
  BfMediaSendQueue *q = bf_media_worker_get_send_queue (st->w);
  st->batching = bf_media_send_queue_batching (q);
  st->calls_before = bf_media_send_queue_get_sendmmsg_calls (q);
  for (guint i = 0; st->batching && i < N_BATCH; i++)
    {
      guint8 *slot = bf_media_send_queue_reserve (q);
      memset (slot, (int) i, 100);
      bf_media_send_queue_commit (q, &st->dest, 100, FALSE);
    }
  st->calls_inside = bf_media_send_queue_get_sendmmsg_calls (q);
}

static gboolean
burst_tick (const BfWorkerTick *tick, gpointer data)
{
  (void) tick;
  send_burst (data);
  return G_SOURCE_REMOVE;
}

static void
burst_done (gpointer data)
{
  BatchState *st = data;
  g_async_queue_push (st->done, GINT_TO_POINTER (1));
}

static void
burst_work (gpointer data)
{
  send_burst (data);
}

static void
add_burst_timer (gpointer data, gpointer unused)
{
  (void) unused;
  BatchState *st = data;
  g_assert_cmpuint (bf_worker_timer_add (as_worker (st->w), 5, burst_tick, st, burst_done), !=, 0);
}

static void
read_calls (gpointer data, gpointer unused)
{
  (void) unused;
  BatchState *st = data;
  st->calls_after = bf_media_send_queue_get_sendmmsg_calls (bf_media_worker_get_send_queue (st->w));
}

/* Counts the datagrams waiting on @fd (non-blocking). */
static guint
drain (int fd)
{
  guint n = 0;
  guint8 buf[2048];
  for (guint i = 0; i < 1000; i++)
    {
      ssize_t r = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0)
        {
          g_assert_true (errno == EAGAIN || errno == EWOULDBLOCK);
          break;
        }
      g_assert_cmpint (r, ==, 100);
      n++;
    }
  return n;
}

static void
assert_one_sendmmsg (BatchState *st, int rx)
{
  g_assert_true (st->batching);
  /* Nothing left while the callback ran ... */
  g_assert_cmpuint (st->calls_inside, ==, st->calls_before);
  /* ... and everything in one call once it returned. */
  run_on_worker (st->w, read_calls, st);
  g_assert_cmpuint (st->calls_after, ==, st->calls_before + 1);
  g_assert_cmpuint (st->counters.packets_out, ==, N_BATCH);
  g_assert_cmpuint (st->counters.send_errors, ==, 0);
  /* Loopback delivers at once; the bounded wait covers a loaded machine. */
  guint got = 0;
  for (guint i = 0; i < 100 && got < N_BATCH; i++)
    {
      got += drain (rx);
      if (got < N_BATCH)
        g_usleep (10 * 1000);
    }
  g_assert_cmpuint (got, ==, N_BATCH);
}

static void
test_batch_scope (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaWorker *w = bf_media_worker_new ("test-batch", &error);
  g_assert_no_error (error);
  int rx = socket (AF_INET, SOCK_DGRAM, 0);
  int tx = socket (AF_INET, SOCK_DGRAM, 0);
  g_assert_cmpint (rx, >=, 0);
  g_assert_cmpint (tx, >=, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  g_assert_cmpint (bind (rx, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (getsockname (rx, (struct sockaddr *) &a, &alen), ==, 0);

  BatchState st = { .w = w, .done = g_async_queue_new () };
  st.dest.fd = tx;
  memcpy (&st.dest.addr, &a, sizeof a);
  st.dest.addr_len = sizeof a;
  st.dest.counters = &st.counters;

  /* A timer tick. */
  run_on_worker (w, add_burst_timer, &st);
  g_assert_nonnull (g_async_queue_timeout_pop (st.done, WAIT_US));
  assert_one_sendmmsg (&st, rx);

  /* A work item posted from the main thread. */
  st.counters = (BfMediaCounters) { 0 };
  bf_worker_invoke (as_worker (w), burst_work, &st, burst_done);
  g_assert_nonnull (g_async_queue_timeout_pop (st.done, WAIT_US));
  assert_one_sendmmsg (&st, rx);

  bf_media_worker_free (w);
  close (rx);
  close (tx);
  g_async_queue_unref (st.done);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/worker/invoke-order", test_invoke_order);
  g_test_add_func ("/worker/timer/deadlines", test_timer_deadlines);
  g_test_add_func ("/worker/timer/skips-missed", test_timer_skips_missed);
  g_test_add_func ("/worker/timer/remove", test_timer_remove);
  g_test_add_func ("/worker/timer/worker-stops", test_timer_worker_stops);
  g_test_add_func ("/worker/batch-scope", test_batch_scope);
  return g_test_run ();
}
