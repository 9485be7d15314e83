/* The media worker's loop (worker-loop.h) and its timer heap (timer-heap.h):
 * the heap orders, moves and removes deadlines; on a real worker thread an
 * fd watch is called when its socket is readable and never after it is
 * freed; timers fire in deadline order and can re-arm or free themselves;
 * a GSource attached from inside a watch callback runs without waiting for
 * anything else to wake the loop; the GMainContext is not iterated for
 * packets on watched sockets (the point of the loop); a libnice-like GLib
 * fd source on the same context still works.  Timing bounds are generous:
 * the machine is shared. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>

#include "timer-heap.h"
#include "worker.h"

#define WAIT_US (10 * G_TIME_SPAN_SECOND)

/* --- the heap, alone --- */

static void
test_heap_order (void)
{
  BfMediaTimerHeap h;
  bf_media_timer_heap_init (&h);
  enum { N = 500 };
  BfMediaTimerEntry e[N];
  GRand *rand = g_rand_new_with_seed (7);
  for (guint i = 0; i < N; i++)
    {
      e[i] = (BfMediaTimerEntry) BF_MEDIA_TIMER_ENTRY_INIT;
      bf_media_timer_heap_set (&h, &e[i], g_rand_int_range (rand, 0, 100000));
    }
  /* Move a third, remove a third. */
  for (guint i = 0; i < N; i += 3)
    bf_media_timer_heap_set (&h, &e[i], g_rand_int_range (rand, 0, 100000));
  for (guint i = 1; i < N; i += 3)
    bf_media_timer_heap_remove (&h, &e[i]);
  for (guint i = 1; i < N; i += 3)
    g_assert_false (bf_media_timer_entry_scheduled (&e[i]));
  guint left = N - (N + 1) / 3;
  g_assert_cmpuint (bf_media_timer_heap_size (&h), ==, left);

  g_assert_null (bf_media_timer_heap_pop_due (&h, -1));
  gint64 last = G_MININT64;
  guint popped = 0;
  BfMediaTimerEntry *x;
  while ((x = bf_media_timer_heap_pop_due (&h, G_MAXINT64 - 1)))
    {
      g_assert_cmpint (x->deadline, >=, last);
      g_assert_false (bf_media_timer_entry_scheduled (x));
      last = x->deadline;
      popped++;
    }
  g_assert_cmpuint (popped, ==, left);
  g_assert_cmpint (bf_media_timer_heap_next (&h), ==, G_MAXINT64);
  bf_media_timer_heap_clear (&h);
  g_rand_free (rand);
}

/* --- on a worker --- */

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
  bf_media_worker_invoke (w, sync_run, &s, NULL);
  g_assert_nonnull (g_async_queue_timeout_pop (done, WAIT_US));
}

typedef struct {
  BfMediaWorker *worker;
  int pair[2];              /* a datagram socketpair: [0] watched, [1] writes */
  BfMediaWatch *watch;
  guint reads;              /* datagrams read by the watch */
  gboolean free_in_callback;
  gboolean attach_in_callback;
  GAsyncQueue *events;      /* to the test thread */
  guint64 glib_before, glib_after;
} WatchFixture;

static gboolean
attached_idle (gpointer data)
{
  WatchFixture *f = data;
  g_async_queue_push (f->events, GINT_TO_POINTER ('i'));
  return G_SOURCE_REMOVE;
}

static void
on_readable (gpointer data)
{
  WatchFixture *f = data;
  char buf[64];
  while (recv (f->pair[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
    f->reads++;
  g_async_queue_push (f->events, GINT_TO_POINTER ('r'));
  if (f->attach_in_callback)
    {
      f->attach_in_callback = FALSE;
      /* From the worker's own thread, inside a watch callback: the loop is
       * in epoll_wait next, so only the context's wake-up fd brings it. */
      GSource *s = g_idle_source_new ();
      g_source_set_callback (s, attached_idle, f, NULL);
      g_source_attach (s, bf_media_worker_get_context (f->worker));
      g_source_unref (s);
    }
  if (f->free_in_callback)
    g_clear_pointer (&f->watch, bf_media_watch_free);
}

static void
add_watch (gpointer data, gpointer unused)
{
  WatchFixture *f = data;
  g_autoptr (GError) error = NULL;
  f->watch = bf_media_loop_watch (bf_media_worker_get_loop (f->worker), f->pair[0], on_readable,
                                  f, &error);
  g_assert_no_error (error);
  f->glib_before = bf_media_loop_get_glib_iterations (bf_media_worker_get_loop (f->worker));
}

static void
read_counters (gpointer data, gpointer unused)
{
  WatchFixture *f = data;
  f->glib_after = bf_media_loop_get_glib_iterations (bf_media_worker_get_loop (f->worker));
}

static void
remove_watch (gpointer data, gpointer unused)
{
  WatchFixture *f = data;
  g_clear_pointer (&f->watch, bf_media_watch_free);
}

static void
wait_event (WatchFixture *f, char want)
{
  gpointer got = g_async_queue_timeout_pop (f->events, WAIT_US);
  g_assert_nonnull (got);
  g_assert_cmpint (GPOINTER_TO_INT (got), ==, want);
}

static void
fixture_init (WatchFixture *f)
{
  memset (f, 0, sizeof *f);
  g_autoptr (GError) error = NULL;
  f->worker = bf_media_worker_new ("test-loop", &error);
  g_assert_no_error (error);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, f->pair), ==, 0);
  f->events = g_async_queue_new ();
}

static void
fixture_clear (WatchFixture *f)
{
  bf_media_worker_free (f->worker);
  close (f->pair[0]);
  close (f->pair[1]);
  g_async_queue_unref (f->events);
}

static void
test_watch (void)
{
  WatchFixture f;
  fixture_init (&f);
  run_on_worker (f.worker, add_watch, &f);

  /* Each datagram wakes the watch; the context is not iterated for them
   * (a few iterations for the posted jobs themselves are allowed). */
  for (guint i = 0; i < 50; i++)
    {
      g_assert_cmpint (send (f.pair[1], "x", 1, 0), ==, 1);
      wait_event (&f, 'r');
    }
  run_on_worker (f.worker, read_counters, &f);
  g_assert_cmpuint (f.glib_after - f.glib_before, <, 10);
  g_assert_cmpuint (f.reads, ==, 50);

  /* Freed: never called again, though the socket is readable. */
  run_on_worker (f.worker, remove_watch, &f);
  g_assert_cmpint (send (f.pair[1], "y", 1, 0), ==, 1);
  g_assert_null (g_async_queue_timeout_pop (f.events, 200 * 1000));
  g_assert_cmpuint (f.reads, ==, 50);
  fixture_clear (&f);
}

static void
test_watch_free_in_callback (void)
{
  WatchFixture f;
  fixture_init (&f);
  f.free_in_callback = TRUE;
  run_on_worker (f.worker, add_watch, &f);
  g_assert_cmpint (send (f.pair[1], "x", 1, 0), ==, 1);
  wait_event (&f, 'r');
  g_assert_cmpint (send (f.pair[1], "y", 1, 0), ==, 1);
  g_assert_null (g_async_queue_timeout_pop (f.events, 200 * 1000));
  fixture_clear (&f);
}

static void
test_attach_from_callback (void)
{
  WatchFixture f;
  fixture_init (&f);
  f.attach_in_callback = TRUE;
  run_on_worker (f.worker, add_watch, &f);
  g_assert_cmpint (send (f.pair[1], "x", 1, 0), ==, 1);
  wait_event (&f, 'r');
  /* Nothing else happens on the worker: the idle runs because attaching
   * woke the loop. */
  wait_event (&f, 'i');
  run_on_worker (f.worker, remove_watch, &f);
  fixture_clear (&f);
}

/* A GLib fd source on the worker's context (as libnice's are during ICE)
 * is dispatched through the loop's epoll set. */
static gboolean
glib_readable (gint fd, GIOCondition cond, gpointer data)
{
  WatchFixture *f = data;
  char buf[64];
  while (recv (fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
    f->reads++;
  g_async_queue_push (f->events, GINT_TO_POINTER ('g'));
  return G_SOURCE_CONTINUE;
}

static void
add_glib_source (gpointer data, gpointer unused)
{
  WatchFixture *f = data;
  GSource *s = g_unix_fd_source_new (f->pair[0], G_IO_IN);
  g_source_set_callback (s, G_SOURCE_FUNC (glib_readable), f, NULL);
  g_source_attach (s, bf_media_worker_get_context (f->worker));
  g_source_unref (s);
}

static void
test_glib_fd_source (void)
{
  WatchFixture f;
  fixture_init (&f);
  run_on_worker (f.worker, add_glib_source, &f);
  for (guint i = 0; i < 5; i++)
    {
      g_assert_cmpint (send (f.pair[1], "x", 1, 0), ==, 1);
      wait_event (&f, 'g');
    }
  g_assert_cmpuint (f.reads, ==, 5);
  fixture_clear (&f);
}

/* --- timers --- */

typedef struct {
  BfMediaWorker *worker;
  BfMediaTimer *timers[4];
  gint64 deadlines[4];
  GArray *fired;            /* int index, in firing order */
  gint64 late_max;          /* how late a timer fired, at most (µs) */
  guint repeats;            /* timer 3 re-arms itself this often */
  GAsyncQueue *done;
} TimerFixture;

static void
on_timer (TimerFixture *f, int i)
{
  gint64 now = g_get_monotonic_time ();
  g_assert_cmpint (now, >=, f->deadlines[i]);
  f->late_max = MAX (f->late_max, now - f->deadlines[i]);
  g_array_append_val (f->fired, i);
  if (i == 3 && ++f->repeats < 5)
    {
      f->deadlines[3] = now + 5000;
      bf_media_timer_set (f->timers[3], f->deadlines[3]);
      return;
    }
  if (i == 3)
    {
      g_clear_pointer (&f->timers[3], bf_media_timer_free);   /* frees itself */
      g_async_queue_push (f->done, GINT_TO_POINTER (1));
    }
}

static void on_t0 (gpointer d) { on_timer (d, 0); }
static void on_t1 (gpointer d) { on_timer (d, 1); }
static void on_t2 (gpointer d) { on_timer (d, 2); }
static void on_t3 (gpointer d) { on_timer (d, 3); }

static void
start_timers (gpointer data, gpointer unused)
{
  TimerFixture *f = data;
  BfMediaLoop *loop = bf_media_worker_get_loop (f->worker);
  BfMediaTimerFunc funcs[4] = { on_t0, on_t1, on_t2, on_t3 };
  gint64 now = g_get_monotonic_time ();
  gint64 offsets[4] = { 30000, 10000, 20000, 40000 };
  for (int i = 0; i < 4; i++)
    {
      f->timers[i] = bf_media_loop_timer_new (loop, funcs[i], f);
      f->deadlines[i] = now + offsets[i];
      bf_media_timer_set (f->timers[i], f->deadlines[i]);
    }
  /* Timer 2 is stopped before it fires; timer 0 moved before timer 1. */
  bf_media_timer_stop (f->timers[2]);
  g_assert_false (bf_media_timer_is_set (f->timers[2]));
  f->deadlines[0] = now + 5000;
  bf_media_timer_set (f->timers[0], f->deadlines[0]);
}

static void
free_timers (gpointer data, gpointer unused)
{
  TimerFixture *f = data;
  for (int i = 0; i < 4; i++)
    g_clear_pointer (&f->timers[i], bf_media_timer_free);
}

static void
test_timers (void)
{
  TimerFixture f = { 0 };
  g_autoptr (GError) error = NULL;
  f.worker = bf_media_worker_new ("test-timers", &error);
  g_assert_no_error (error);
  f.fired = g_array_new (FALSE, FALSE, sizeof (int));
  f.done = g_async_queue_new ();
  run_on_worker (f.worker, start_timers, &f);
  g_assert_nonnull (g_async_queue_timeout_pop (f.done, WAIT_US));
  run_on_worker (f.worker, free_timers, &f);

  int want[] = { 0, 1, 3, 3, 3, 3, 3 };
  g_assert_cmpuint (f.fired->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpint (g_array_index (f.fired, int, i), ==, want[i]);
  g_test_message ("latest timer fired %" G_GINT64_FORMAT " µs after its deadline", f.late_max);
  g_assert_cmpint (f.late_max, <, G_USEC_PER_SEC);
  bf_media_worker_free (f.worker);
  g_array_unref (f.fired);
  g_async_queue_unref (f.done);
}

/* --- placement --- */

static void
fold_traffic (gpointer data, gpointer unused)
{
  BfMediaWorker *w = data;
  BfMediaCounters now = { .packets_in = 5000, .packets_out = 5000 }, flushed = { 0 };
  bf_media_metrics_flush (bf_media_worker_get_metrics (w), &now, &flushed);
}

/* A busy worker gets no new session though it holds fewer: load is the
 * packet rate, not the session count. */
static void
test_pool_by_packet_rate (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaPool *pool = bf_media_pool_new (2, &error);
  g_assert_no_error (error);
  BfMediaWorker *busy = bf_media_pool_get_worker (pool, 0);
  BfMediaWorker *idle = bf_media_pool_get_worker (pool, 1);
  for (int i = 0; i < 3; i++)
    bf_media_worker_acquire (idle);           /* three idle sessions */
  bf_media_worker_acquire (busy);             /* one busy one */
  run_on_worker (busy, fold_traffic, busy);
  gint64 end = g_get_monotonic_time () + WAIT_US;
  while (bf_media_worker_get_packet_rate (busy) == 0 && g_get_monotonic_time () < end)
    g_usleep (20 * 1000);
  g_assert_cmpuint (bf_media_worker_get_packet_rate (busy), ==, 10000);
  /* The rate holds for a second: acquire before the next one is taken. */
  g_assert_true (bf_media_pool_acquire (pool) == idle);
  g_assert_true (bf_media_pool_acquire (pool) == idle);
  g_assert_cmpuint (bf_media_worker_get_load (idle), ==, 5);
  for (int i = 0; i < 5; i++)
    bf_media_worker_release (idle);
  bf_media_worker_release (busy);
  bf_media_pool_free (pool);
}

typedef struct {
  BfMediaWorker *worker;
  guint64 packets;          /* each way */
} Fold;

static void
fold_packets (gpointer data, gpointer unused)
{
  Fold *f = data;
  BfMediaCounters now = { .packets_in = f->packets, .packets_out = f->packets }, flushed = { 0 };
  bf_media_metrics_flush (bf_media_worker_get_metrics (f->worker), &now, &flushed);
}

/* Waits for @w's next rate reading to show traffic: what follows runs
 * within the second that reading holds. */
static void
wait_for_rate (BfMediaWorker *w)
{
  gint64 end = g_get_monotonic_time () + WAIT_US;
  while (bf_media_worker_get_packet_rate (w) == 0 && g_get_monotonic_time () < end)
    g_usleep (5 * 1000);
  g_assert_cmpuint (bf_media_worker_get_packet_rate (w), >, 0);
}

/* A worker whose sessions ended since its last reading is not shunned for
 * their last second: its rate counts only for the sessions it still holds.
 * (Without that, both new sessions went to the other worker.) */
static void
test_pool_ended_sessions_discounted (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaPool *pool = bf_media_pool_new (2, &error);
  g_assert_no_error (error);
  BfMediaWorker *was_busy = bf_media_pool_get_worker (pool, 0);
  BfMediaWorker *other = bf_media_pool_get_worker (pool, 1);
  Fold fold = { was_busy, 5000 };

  for (int i = 0; i < 4; i++)
    bf_media_worker_acquire (was_busy);
  run_on_worker (was_busy, fold_packets, &fold);
  wait_for_rate (was_busy);
  for (int i = 0; i < 4; i++)
    bf_media_worker_release (was_busy);   /* the calls end */
  BfMediaWorker *first = bf_media_pool_acquire (pool);
  BfMediaWorker *second = bf_media_pool_acquire (pool);
  g_assert_true (first != second);
  g_assert_cmpint (bf_media_worker_get_load (was_busy), ==, 1);
  g_assert_cmpint (bf_media_worker_get_load (other), ==, 1);
  bf_media_worker_release (was_busy);
  bf_media_worker_release (other);
  bf_media_pool_free (pool);
}

/* Sessions placed since the last reading weigh at least an audio leg each,
 * even when the sessions measured were nearly idle: two new sessions do not
 * both go to the worker that read 0 (here the other one carries a session
 * at 10 packets a second). */
static void
test_pool_pending_weigh_an_audio_leg (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaPool *pool = bf_media_pool_new (2, &error);
  g_assert_no_error (error);
  BfMediaWorker *empty = bf_media_pool_get_worker (pool, 0);
  BfMediaWorker *quiet = bf_media_pool_get_worker (pool, 1);
  Fold fold = { quiet, 5 };

  bf_media_worker_acquire (quiet);
  run_on_worker (quiet, fold_packets, &fold);
  wait_for_rate (quiet);
  g_assert_cmpuint (bf_media_worker_get_packet_rate (quiet), ==, 10);
  g_assert_true (bf_media_pool_acquire (pool) == empty);
  g_assert_true (bf_media_pool_acquire (pool) == quiet);
  bf_media_worker_release (empty);
  bf_media_worker_release (quiet);
  bf_media_worker_release (quiet);
  bf_media_pool_free (pool);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/timer-heap/order", test_heap_order);
  g_test_add_func ("/worker-loop/watch", test_watch);
  g_test_add_func ("/worker-loop/watch-free-in-callback", test_watch_free_in_callback);
  g_test_add_func ("/worker-loop/attach-from-callback", test_attach_from_callback);
  g_test_add_func ("/worker-loop/glib-fd-source", test_glib_fd_source);
  g_test_add_func ("/worker-loop/timers", test_timers);
  g_test_add_func ("/worker-pool/by-packet-rate", test_pool_by_packet_rate);
  g_test_add_func ("/worker-pool/ended-sessions-discounted", test_pool_ended_sessions_discounted);
  g_test_add_func ("/worker-pool/pending-weigh-an-audio-leg", test_pool_pending_weigh_an_audio_leg);
  return g_test_run ();
}
