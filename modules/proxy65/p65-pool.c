/* The proxy65 relay threads (p65-pool.h): why they exist and who owns what
 * is said there.  How a pair travels:
 *
 *   main: p65_pool_relay   pipes made here, so a failure is the caller's to
 *                          answer (<resource-constraint/>) with its sockets
 *                          intact; then the least-loaded thread is chosen
 *                          and an "adopt" job is posted to its context.
 *   pool: adopt            p65_pair_start() on the thread's context; the
 *                          pair is in the thread's table from here on.
 *   pool: pair done / idle the pair leaves the table and is freed (both
 *                          sockets and pipes closed, once, here); a report
 *                          goes on the queue and the eventfd wakes main.
 *   main: on_reports       each report updates the thread's load and goes
 *                          to the module's callback (accounting, logs).
 *
 * The counters stay plain main-thread fields: the pool threads only fill
 * reports, and the main thread folds them in. */
#define G_LOG_DOMAIN "belfry-proxy65"

#include <errno.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <gio/gio.h>
#include <glib-unix.h>

#include "p65-pool.h"

typedef struct _PoolThread PoolThread;

/* One pair on its way to, or on, a pool thread. */
typedef struct {
  PoolThread *t;
  P65Pair *pair;
  gpointer stream;
  gboolean adopted;   /* in t->pairs: the thread owns it */
} PoolPair;

struct _PoolThread {
  P65Pool *pool;
  guint index;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GHashTable *pairs;    /* PoolPair* set: the thread's only */
  gboolean stopping;    /* the thread's: adopt no more */
  guint active;         /* main thread's count: handed over, not yet reported */
};

struct _P65Pool {
  guint n;
  PoolThread *threads;
  guint next;                 /* round-robin start among equally loaded */
  gint64 idle_timeout_us;
  P65PoolDoneFunc done;
  gpointer done_data;
  GAsyncQueue *reports;       /* ThreadReport*, pool threads -> main */
  int wake_fd;                /* eventfd: reports are waiting */
  guint wake_id;
};

typedef struct {
  P65PoolDone done;
  PoolThread *t;
} ThreadReport;

/* --- on a pool thread --- */

/* Frees @pp's pair here, on its thread, and reports the end to main. */
static void
pair_finish (PoolPair *pp, const char *reason, gboolean idle)
{
  PoolThread *t = pp->t;
  ThreadReport *r = g_new0 (ThreadReport, 1);
  r->t = t;
  r->done.stream = pp->stream;
  r->done.reason = reason;
  r->done.idle = idle;
  r->done.a_to_b = p65_pair_get_bytes (pp->pair, TRUE);
  r->done.b_to_a = p65_pair_get_bytes (pp->pair, FALSE);
  g_hash_table_remove (t->pairs, pp);   /* frees pp and its pair */
  g_async_queue_push (t->pool->reports, r);
  guint64 one = 1;
  /* Only EAGAIN (the counter is full: main is awake anyway) can fail. */
  (void) !write (t->pool->wake_fd, &one, sizeof one);
}

static void
on_pair_done (P65Pair *pair, const char *reason, gpointer data)
{
  (void) pair;
  pair_finish (data, reason, FALSE);
}

static void
pool_pair_free (PoolPair *pp)
{
  p65_pair_free (pp->pair);
  g_free (pp);
}

static gboolean
adopt (gpointer data)
{
  PoolPair *pp = data;
  if (pp->t->stopping)
    return G_SOURCE_REMOVE;   /* adopt_dropped frees it */
  pp->adopted = TRUE;
  g_hash_table_add (pp->t->pairs, pp);
  p65_pair_start (pp->pair);
  return G_SOURCE_REMOVE;
}

/* The adopt job's destroy notify: a pair whose job never ran (the pool
 * stopped first) was never started and is freed wherever this runs. */
static void
adopt_dropped (gpointer data)
{
  PoolPair *pp = data;
  if (!pp->adopted)
    pool_pair_free (pp);
}

static gboolean
on_idle_check (gpointer data)
{
  PoolThread *t = data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GPtrArray) expired = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, t->pairs);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      PoolPair *pp = key;
      if (now - p65_pair_get_last_activity (pp->pair) >= t->pool->idle_timeout_us)
        g_ptr_array_add (expired, pp);
    }
  for (guint i = 0; i < expired->len; i++)
    pair_finish (g_ptr_array_index (expired, i), "idle-timeout", TRUE);
  return G_SOURCE_CONTINUE;
}

static gboolean
stop_thread (gpointer data)
{
  PoolThread *t = data;
  /* Unreported: the module frees what is left of its streams itself. */
  t->stopping = TRUE;
  g_hash_table_remove_all (t->pairs);
  g_main_loop_quit (t->loop);
  return G_SOURCE_REMOVE;
}

static gpointer
thread_main (gpointer data)
{
  PoolThread *t = data;
  g_main_context_push_thread_default (t->context);
  GSource *idle = g_timeout_source_new_seconds (1);
  g_source_set_callback (idle, on_idle_check, t, NULL);
  g_source_set_static_name (idle, "proxy65 idle check");
  g_source_attach (idle, t->context);
  g_main_loop_run (t->loop);
  g_source_destroy (idle);
  g_source_unref (idle);
  g_main_context_pop_thread_default (t->context);
  return NULL;
}

/* --- on the main thread --- */

static gboolean
on_reports (int fd, GIOCondition cond, gpointer data)
{
  P65Pool *pool = data;
  (void) cond;
  guint64 count;
  (void) !read (fd, &count, sizeof count);
  ThreadReport *r;
  while ((r = g_async_queue_try_pop (pool->reports)) != NULL)
    {
      r->t->active--;
      pool->done (&r->done, pool->done_data);
      g_free (r);
    }
  return G_SOURCE_CONTINUE;
}

P65Pool *
p65_pool_new (guint threads, guint idle_timeout_s, P65PoolDoneFunc done, gpointer data,
              GError **error)
{
  g_return_val_if_fail (threads > 0, NULL);
  int fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "eventfd: %s", g_strerror (e));
      return NULL;
    }
  P65Pool *pool = g_new0 (P65Pool, 1);
  pool->n = threads;
  pool->idle_timeout_us = (gint64) idle_timeout_s * G_USEC_PER_SEC;
  pool->done = done;
  pool->done_data = data;
  pool->reports = g_async_queue_new ();
  pool->wake_fd = fd;
  pool->wake_id = g_unix_fd_add (fd, G_IO_IN, on_reports, pool);
  pool->threads = g_new0 (PoolThread, threads);
  for (guint i = 0; i < threads; i++)
    {
      PoolThread *t = &pool->threads[i];
      t->pool = pool;
      t->index = i;
      t->context = g_main_context_new ();
      t->loop = g_main_loop_new (t->context, FALSE);
      t->pairs = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                        (GDestroyNotify) pool_pair_free, NULL);
      g_autofree char *name = g_strdup_printf ("bf-proxy65-%u", i);
      t->thread = g_thread_try_new (name, thread_main, t, error);
      if (t->thread == NULL)
        {
          /* Stop the ones that run; this one's context and table go too. */
          g_hash_table_destroy (t->pairs);
          g_main_loop_unref (t->loop);
          g_main_context_unref (t->context);
          pool->n = i;
          p65_pool_free (pool);
          return NULL;
        }
    }
  return pool;
}

gboolean
p65_pool_relay (P65Pool *pool, int fd_a, int fd_b, const P65PairLimits *limits,
                gpointer stream, guint *thread, GError **error)
{
  /* The least-loaded thread; among equals, the one after the last pick. */
  PoolThread *t = NULL;
  for (guint k = 0; k < pool->n; k++)
    {
      PoolThread *c = &pool->threads[(pool->next + k) % pool->n];
      if (t == NULL || c->active < t->active)
        t = c;
    }
  PoolPair *pp = g_new0 (PoolPair, 1);
  pp->pair = p65_pair_prepare (fd_a, fd_b, limits, on_pair_done, pp, error);
  if (pp->pair == NULL)
    {
      g_free (pp);
      return FALSE;
    }
  pp->t = t;
  pp->stream = stream;
  pool->next = (t->index + 1) % pool->n;
  t->active++;
  *thread = t->index;
  g_main_context_invoke_full (t->context, G_PRIORITY_DEFAULT, adopt, pp, adopt_dropped);
  return TRUE;
}

guint
p65_pool_get_size (P65Pool *pool)
{
  return pool->n;
}

guint
p65_pool_get_active (P65Pool *pool, guint i)
{
  return i < pool->n ? pool->threads[i].active : 0;
}

void
p65_pool_free (P65Pool *pool)
{
  if (pool == NULL)
    return;
  for (guint i = 0; i < pool->n; i++)
    g_main_context_invoke (pool->threads[i].context, stop_thread, &pool->threads[i]);
  for (guint i = 0; i < pool->n; i++)
    {
      PoolThread *t = &pool->threads[i];
      g_thread_join (t->thread);
      g_hash_table_destroy (t->pairs);   /* empty: stop_thread ran on the thread */
      g_main_loop_unref (t->loop);
      /* Destroys adopt jobs that never ran (adopt_dropped frees their pairs). */
      g_main_context_unref (t->context);
    }
  /* Ends that happened before the stop still count. */
  on_reports (pool->wake_fd, G_IO_IN, pool);
  g_source_remove (pool->wake_id);
  close (pool->wake_fd);
  g_async_queue_unref (pool->reports);
  g_free (pool->threads);
  g_free (pool);
}
