#define G_LOG_DOMAIN "belfry-media"
/* belfry media workers: one thread each, running a BfMediaLoop (an epoll
 * set, a timer heap and the worker's GMainContext, worker-loop.h); a pool
 * pins sessions to the least loaded one. */
#include "worker.h"

#include <pthread.h>

#include "media-metrics.h"
#include "media-types.h"

struct _BfMediaWorker {
  char *name;
  GMainContext *context;
  BfMediaLoop *loop;
  GThread *thread;
  gint load;                /* atomic: sessions pinned here */
  gint packet_rate;         /* atomic: packets in + out over the last second */
  gint load_at_rate;        /* atomic: load when packet_rate was taken */
  BfMediaTimer *rate_timer; /* the worker's: takes packet_rate */
  BfMediaTimer *fold_timer; /* the worker's: folds the transports' counters */
  guint64 rate_packets;     /* the worker's: metrics' packets at the last take */
  GMutex start_lock;        /* only for the start hand-shake */
  GCond start_cond;
  gboolean started;
  BfMediaSendQueue *send_queue;  /* touched only on the thread */
  BfMediaMetrics *metrics;       /* series the thread adds to (media-metrics.h) */
  clockid_t cpu_clock;           /* the thread's CPU clock; set before started */
  gboolean have_cpu_clock;
  guint index;                   /* in its pool: the shared port's offset */
  BfPortMux *port_mux;           /* touched only on the thread; NULL until used */
};

struct _BfMediaPool {
  GPtrArray *workers;       /* BfMediaWorker*, fixed after creation */
};

typedef struct {
  BfMediaWorkerFunc func;
  gpointer data;
  GDestroyNotify destroy;
} Invocation;

static gboolean
invocation_dispatch (gpointer user_data)
{
  Invocation *inv = user_data;
  inv->func (inv->data);
  return G_SOURCE_REMOVE;
}

static void
invocation_free (gpointer user_data)
{
  Invocation *inv = user_data;
  if (inv->destroy)
    inv->destroy (inv->data);
  g_free (inv);
}

/* The transports' counters, on whole seconds (media-metrics.h). */
static void
fold (gpointer user_data)
{
  BfMediaWorker *w = user_data;
  bf_media_metrics_fold (w->metrics);
  bf_media_timer_set (w->fold_timer, bf_media_metrics_next_fold ());
}

/* Half an interval after the transports' fold, so that it reads what
 * they folded. */
static void
schedule_rate (BfMediaWorker *w)
{
  bf_media_timer_set (w->rate_timer, bf_media_metrics_next_fold ()
                                       + BF_MEDIA_METRICS_FLUSH_SECONDS * G_USEC_PER_SEC / 2);
}

static void
take_rate (gpointer user_data)
{
  BfMediaWorker *w = user_data;
  guint64 packets = bf_media_metrics_get_packets (w->metrics);
  g_atomic_int_set (&w->packet_rate, (gint) MIN (packets - w->rate_packets, (guint64) G_MAXINT));
  g_atomic_int_set (&w->load_at_rate, g_atomic_int_get (&w->load));
  w->rate_packets = packets;
  bf_media_metrics_fold_loop (w->metrics, bf_media_loop_get_wakeups (w->loop),
                              bf_media_loop_get_glib_iterations (w->loop));
  schedule_rate (w);
}

static gpointer
worker_main (gpointer user_data)
{
  BfMediaWorker *w = user_data;

  g_main_context_push_thread_default (w->context);
  /* Read by the metrics scrape (core-metrics.c) while the thread lives. */
  w->have_cpu_clock = pthread_getcpuclockid (pthread_self (), &w->cpu_clock) == 0;
  g_mutex_lock (&w->start_lock);
  w->started = TRUE;
  g_cond_signal (&w->start_cond);
  g_mutex_unlock (&w->start_lock);

  w->rate_timer = bf_media_loop_timer_new (w->loop, take_rate, w);
  schedule_rate (w);
  w->fold_timer = bf_media_loop_timer_new (w->loop, fold, w);
  bf_media_timer_set (w->fold_timer, bf_media_metrics_next_fold ());
  bf_media_loop_run (w->loop);
  g_clear_pointer (&w->rate_timer, bf_media_timer_free);
  g_clear_pointer (&w->fold_timer, bf_media_timer_free);

  /* Drain: run what was posted before the stop and whatever it completes
   * (e.g. a NiceAgent's close_async), bounded so a source that re-arms
   * forever cannot hang the join. */
  bf_media_loop_drain (w->loop, 1000);
  /* Its links went with the transports; its watches must go before the
   * loop does. */
  g_clear_pointer (&w->port_mux, bf_port_mux_free);
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

BfMediaWorker *
bf_media_worker_new (const char *name, GError **error)
{
  BfMediaWorker *w = g_new0 (BfMediaWorker, 1);
  w->name = g_strdup (name ? name : "bf-media");
  /* Ownerless polling: a source attached from the worker's own thread
   * (inside a packet callback) also signals the wake-up fd, which the
   * loop watches instead of iterating the context on every wake-up. */
  w->context = g_main_context_new_with_flags (G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
  w->loop = bf_media_loop_new (w->context, error);
  if (w->loop == NULL)
    {
      g_main_context_unref (w->context);
      g_free (w->name);
      g_free (w);
      return NULL;
    }
  w->send_queue = bf_media_send_queue_new ();
  w->metrics = bf_media_metrics_new (w->name);
  g_mutex_init (&w->start_lock);
  g_cond_init (&w->start_cond);

  w->thread = g_thread_try_new (w->name, worker_main, w, error);
  if (w->thread == NULL)
    {
      bf_media_loop_free (w->loop);
      g_main_context_unref (w->context);
      bf_media_send_queue_free (w->send_queue);
      bf_media_metrics_free (w->metrics);
      g_mutex_clear (&w->start_lock);
      g_cond_clear (&w->start_cond);
      g_free (w->name);
      g_free (w);
      return NULL;
    }
  /* Wait until the loop's thread exists, so that is_current() and the
   * thread-default context are right before anything is posted. */
  g_mutex_lock (&w->start_lock);
  while (!w->started)
    g_cond_wait (&w->start_cond, &w->start_lock);
  g_mutex_unlock (&w->start_lock);
  return w;
}

static gboolean
quit_loop (gpointer user_data)
{
  bf_media_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
bf_media_worker_free (BfMediaWorker *w)
{
  if (w == NULL)
    return;
  g_return_if_fail (!bf_media_worker_is_current (w));
  if (g_atomic_int_get (&w->load) != 0)
    g_warning ("media worker %s stopped with %d sessions pinned", w->name,
               g_atomic_int_get (&w->load));

  /* Quit from inside the loop, after everything posted before this call
   * (sources of equal priority run in attach order). */
  GSource *s = g_idle_source_new ();
  g_source_set_priority (s, G_PRIORITY_DEFAULT);
  g_source_set_callback (s, quit_loop, w->loop, NULL);
  g_source_attach (s, w->context);
  g_source_unref (s);

  g_thread_join (w->thread);
  bf_media_loop_free (w->loop);
  g_main_context_unref (w->context);
  /* The thread is gone: freeing it here is its last use. */
  bf_media_send_queue_free (w->send_queue);
  bf_media_metrics_free (w->metrics);
  g_mutex_clear (&w->start_lock);
  g_cond_clear (&w->start_cond);
  g_free (w->name);
  g_free (w);
}

void
bf_media_worker_invoke (BfMediaWorker *w, BfMediaWorkerFunc func, gpointer data,
                        GDestroyNotify destroy)
{
  g_return_if_fail (w != NULL && func != NULL);
  Invocation *inv = g_new (Invocation, 1);
  inv->func = func;
  inv->data = data;
  inv->destroy = destroy;
  GSource *s = g_idle_source_new ();
  g_source_set_priority (s, G_PRIORITY_DEFAULT);
  g_source_set_callback (s, invocation_dispatch, inv, invocation_free);
  g_source_set_static_name (s, "bf-media-invoke");
  g_source_attach (s, w->context);
  g_source_unref (s);
}

GMainContext *
bf_media_worker_get_context (BfMediaWorker *w)
{
  return w->context;
}

BfMediaLoop *
bf_media_worker_get_loop (BfMediaWorker *w)
{
  g_return_val_if_fail (bf_media_worker_is_current (w), NULL);
  return w->loop;
}

gboolean
bf_media_worker_is_current (BfMediaWorker *w)
{
  return w->thread == g_thread_self ();
}

BfPortMux *
bf_media_worker_get_port_mux (BfMediaWorker *w, const BfMediaConfig *config, GError **error)
{
  g_return_val_if_fail (bf_media_worker_is_current (w), NULL);
  g_return_val_if_fail (config->shared_port_set, NULL);
  if (w->port_mux == NULL)
    {
      /* media-config.c checked that PORT + workers - 1 fits. */
      guint16 port = config->shared_port ? (guint16) (config->shared_port + w->index) : 0;
      w->port_mux = bf_port_mux_new (w->loop, w->send_queue, w->metrics, config->addresses,
                                     port, error);
    }
  return w->port_mux;
}

BfMediaSendQueue *
bf_media_worker_get_send_queue (BfMediaWorker *w)
{
  g_return_val_if_fail (bf_media_worker_is_current (w), NULL);
  return w->send_queue;
}

const char *
bf_media_worker_get_name (BfMediaWorker *w)
{
  return w->name;
}

BfMediaMetrics *
bf_media_worker_get_metrics (BfMediaWorker *w)
{
  return w->metrics;
}

gboolean
bf_media_worker_get_cpu_clock (BfMediaWorker *w, clockid_t *clock)
{
  *clock = w->cpu_clock;
  return w->have_cpu_clock;
}

guint
bf_media_worker_get_load (BfMediaWorker *w)
{
  return (guint) g_atomic_int_get (&w->load);
}

void
bf_media_worker_acquire (BfMediaWorker *w)
{
  g_atomic_int_inc (&w->load);
}

void
bf_media_worker_release (BfMediaWorker *w)
{
  g_return_if_fail (g_atomic_int_get (&w->load) > 0);
  g_atomic_int_add (&w->load, -1);
}

BfMediaPool *
bf_media_pool_new (guint n_workers, GError **error)
{
  if (n_workers == 0)
    n_workers = g_get_num_processors ();
  if (n_workers > 1024)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "%u media workers is too many", n_workers);
      return NULL;
    }
  BfMediaPool *pool = g_new0 (BfMediaPool, 1);
  pool->workers = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_media_worker_free);
  for (guint i = 0; i < n_workers; i++)
    {
      /* Thread names are limited to 15 bytes on Linux. */
      g_autofree char *name = g_strdup_printf ("bf-media-%u", i);
      BfMediaWorker *w = bf_media_worker_new (name, error);
      if (w == NULL)
        {
          bf_media_pool_free (pool);
          return NULL;
        }
      w->index = i;
      g_ptr_array_add (pool->workers, w);
    }
  return pool;
}

void
bf_media_pool_free (BfMediaPool *pool)
{
  if (pool == NULL)
    return;
  g_ptr_array_unref (pool->workers);
  g_free (pool);
}

guint
bf_media_pool_get_size (BfMediaPool *pool)
{
  return pool->workers->len;
}

BfMediaWorker *
bf_media_pool_get_worker (BfMediaPool *pool, guint index)
{
  g_return_val_if_fail (index < pool->workers->len, NULL);
  return pool->workers->pdata[index];
}

guint
bf_media_worker_get_packet_rate (BfMediaWorker *w)
{
  return (guint) g_atomic_int_get (&w->packet_rate);
}

/* Packets a second a new session is assumed to carry, at the least. */
#define MIN_SESSION_RATE 100.0

BfMediaWorker *
bf_media_pool_acquire (BfMediaPool *pool)
{
  /* Called from the signalling thread only, so picking and incrementing
   * need not be one atomic step: workers' loads only ever go down behind
   * our back (release may run anywhere).
   *
   * Sessions cost what they carry (an idle call next to nothing, a video
   * call many times an audio one), so a worker's load is its packet rate
   * over the last second.  Sessions pinned since that rate was taken carry
   * nothing yet: each counts as the pool's average session, or a burst of
   * new calls would all land on the worker that was least busy a moment
   * ago.  Equal scores (no media anywhere) go by session count. */
  guint n = pool->workers->len;
  double total_rate = 0, total_load = 0;
  for (guint i = 0; i < n; i++)
    {
      BfMediaWorker *w = pool->workers->pdata[i];
      total_rate += g_atomic_int_get (&w->packet_rate);
      total_load += g_atomic_int_get (&w->load_at_rate);
    }
  /* At least an audio leg's worth (50 packets a second each way): with no
   * session, or only idle ones, at the last reading, pending sessions would
   * otherwise weigh nothing, and a burst of new ones would all go to the
   * worker that happened to read 0 (while another still showed the tail of
   * sessions that had just ended). */
  double per_session = MAX (total_load > 0 ? total_rate / total_load : 0, MIN_SESSION_RATE);
  BfMediaWorker *best = NULL;
  double best_score = G_MAXDOUBLE;
  gint best_load = G_MAXINT;
  for (guint i = 0; i < n; i++)
    {
      BfMediaWorker *w = pool->workers->pdata[i];
      gint load = g_atomic_int_get (&w->load);
      gint at_rate = g_atomic_int_get (&w->load_at_rate);
      gint pending = MAX (0, load - at_rate);
      /* Sessions that ended since the reading take their share with them
       * (each the worker's average), so a worker whose calls just ended
       * is not shunned for the tail of their last second. */
      double rate = g_atomic_int_get (&w->packet_rate);
      if (at_rate > 0 && load < at_rate)
        rate = rate * load / at_rate;
      double score = rate + pending * per_session;
      if (score < best_score || (score == best_score && load < best_load))
        {
          best = w;
          best_score = score;
          best_load = load;
        }
    }
  bf_media_worker_acquire (best);
  return best;
}
