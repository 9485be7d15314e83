#define G_LOG_DOMAIN "belfry-media"
/* belfry media: a worker's loop, one epoll set and one timer heap, with the
 * worker's GMainContext iterated only when it has something to do (see
 * worker-loop.h). */
#include "worker-loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <gio/gio.h>

#include "timer-heap.h"

#define MAX_EVENTS 256
/* Timers run per wake-up, at most: one that re-arms itself in the past
 * cannot keep the loop from its sockets. */
#define MAX_TIMERS_PER_WAKEUP 4096
/* GLib's poll flags have the values of epoll's on Linux (POLLIN = EPOLLIN,
 * ...); these are the ones both know. */
#define POLL_MASK (G_IO_IN | G_IO_PRI | G_IO_OUT | G_IO_ERR | G_IO_HUP)

typedef struct _Ctx Ctx;

typedef struct {
  BfMediaWatch *watch;     /* the packet path's watch on this fd, or NULL */
  Ctx *ctx;                /* the context polling it, or NULL */
  gushort glib_events;     /* what that context's sources poll it for */
  gushort glib_revents;    /* what epoll reported since its last check */
  guint32 registered;      /* epoll events registered (0: not in the set) */
} FdEntry;

/* A GMainContext in the loop, between prepare/query and check/dispatch
 * except while it is being dispatched. */
struct _Ctx {
  BfMediaLoop *loop;
  GMainContext *context;
  gint max_priority;
  GPollFD *poll_fds;
  gint n_poll_fds, alloc_poll_fds;
  GArray *registered;      /* int: its fds in the set */
  BfMediaTimer *deadline;  /* its own timeout */
  gboolean prepared;       /* between prepare/query and check */
  gboolean ready;          /* in loop->ready */
  gboolean dispatching;
  gboolean removed;        /* in loop->removed, freed at the end of the turn */
};

struct _BfMediaLoop {
  GMainContext *context;   /* the worker's: posted jobs, module timers */
  int epfd;
  gboolean quit;

  FdEntry *fds;            /* indexed by fd */
  guint n_fds;

  BfMediaTimerHeap timers;

  GHashTable *contexts;    /* GMainContext* -> Ctx* */
  GPtrArray *ready;        /* Ctx*: to check and dispatch this turn */
  GPtrArray *removed;      /* Ctx*: to free at the end of the turn */

  guint64 wakeups, glib_iterations;
};

struct _BfMediaWatch {
  BfMediaLoop *loop;
  int fd;
  BfMediaWatchFunc func;
  gpointer user_data;
};

struct _BfMediaTimer {
  BfMediaTimerEntry entry;
  BfMediaLoop *loop;
  BfMediaTimerFunc func;
  gpointer user_data;
};

static void ctx_prepare (Ctx *c);
static void ctx_free (Ctx *c);

BfMediaLoop *
bf_media_loop_new (GMainContext *context, GError **error)
{
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (epfd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "epoll_create1: %s",
                   g_strerror (e));
      return NULL;
    }
  BfMediaLoop *loop = g_new0 (BfMediaLoop, 1);
  loop->context = g_main_context_ref (context);
  loop->epfd = epfd;
  bf_media_timer_heap_init (&loop->timers);
  loop->contexts = g_hash_table_new (NULL, NULL);
  loop->ready = g_ptr_array_new ();
  loop->removed = g_ptr_array_new ();
  return loop;
}

void
bf_media_loop_free (BfMediaLoop *loop)
{
  if (loop == NULL)
    return;
  for (guint fd = 0; fd < loop->n_fds; fd++)
    g_warn_if_fail (loop->fds[fd].watch == NULL);
  g_warn_if_fail (g_hash_table_size (loop->contexts) == 0);
  bf_media_timer_heap_clear (&loop->timers);
  close (loop->epfd);
  g_free (loop->fds);
  g_hash_table_unref (loop->contexts);
  g_ptr_array_unref (loop->ready);
  g_ptr_array_unref (loop->removed);
  g_main_context_unref (loop->context);
  g_free (loop);
}

/* --- the epoll set --- */

static FdEntry *
entry_for (BfMediaLoop *loop, int fd)
{
  if ((guint) fd >= loop->n_fds)
    {
      guint n = MAX (64u, loop->n_fds);
      while (n <= (guint) fd)
        n *= 2;
      loop->fds = g_renew (FdEntry, loop->fds, n);
      memset (loop->fds + loop->n_fds, 0, (n - loop->n_fds) * sizeof (FdEntry));
      loop->n_fds = n;
    }
  return &loop->fds[fd];
}

/* Makes the set's registration of @fd what its entry wants.  @force: the
 * registration is renewed even if it looks right, because the context's
 * fds may have been closed and their numbers reused behind our back (a
 * closed fd leaves the epoll set by itself). */
static gboolean
update_registration (BfMediaLoop *loop, int fd, gboolean force, GError **error)
{
  FdEntry *e = entry_for (loop, fd);
  guint32 want = (e->watch ? EPOLLIN : 0) | (e->glib_events & POLL_MASK);
  if (want == 0)
    {
      if (e->registered)
        epoll_ctl (loop->epfd, EPOLL_CTL_DEL, fd, NULL);   /* ENOENT/EBADF: closed already */
      e->registered = 0;
      return TRUE;
    }
  if (!force && want == e->registered)
    return TRUE;
  struct epoll_event ev = { .events = want, .data.fd = fd };
  int r = epoll_ctl (loop->epfd, e->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  if (r < 0 && errno == ENOENT)
    r = epoll_ctl (loop->epfd, EPOLL_CTL_ADD, fd, &ev);
  else if (r < 0 && errno == EEXIST)
    r = epoll_ctl (loop->epfd, EPOLL_CTL_MOD, fd, &ev);
  if (r < 0)
    {
      int errsv = errno;
      e->registered = 0;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "epoll_ctl (fd %d): %s",
                   fd, g_strerror (errsv));
      return FALSE;
    }
  e->registered = want;
  return TRUE;
}

BfMediaWatch *
bf_media_loop_watch (BfMediaLoop *loop, int fd, BfMediaWatchFunc func, gpointer user_data,
                     GError **error)
{
  g_return_val_if_fail (fd >= 0 && func != NULL, NULL);
  FdEntry *e = entry_for (loop, fd);
  g_return_val_if_fail (e->watch == NULL, NULL);
  BfMediaWatch *w = g_new (BfMediaWatch, 1);
  *w = (BfMediaWatch) { loop, fd, func, user_data };
  e->watch = w;
  if (!update_registration (loop, fd, TRUE, error))
    {
      loop->fds[fd].watch = NULL;
      g_free (w);
      return NULL;
    }
  return w;
}

void
bf_media_watch_free (BfMediaWatch *w)
{
  if (w == NULL)
    return;
  BfMediaLoop *loop = w->loop;
  g_return_if_fail ((guint) w->fd < loop->n_fds && loop->fds[w->fd].watch == w);
  loop->fds[w->fd].watch = NULL;
  update_registration (loop, w->fd, FALSE, NULL);
  g_free (w);
}

/* --- timers --- */

gint64
bf_media_loop_grid (gint64 deadline)
{
  if (deadline <= 0)
    return deadline;
  return (deadline + BF_MEDIA_LOOP_GRID_US - 1) / BF_MEDIA_LOOP_GRID_US * BF_MEDIA_LOOP_GRID_US;
}

BfMediaTimer *
bf_media_loop_timer_new (BfMediaLoop *loop, BfMediaTimerFunc func, gpointer user_data)
{
  BfMediaTimer *t = g_new (BfMediaTimer, 1);
  *t = (BfMediaTimer) { BF_MEDIA_TIMER_ENTRY_INIT, loop, func, user_data };
  return t;
}

void
bf_media_timer_set (BfMediaTimer *t, gint64 deadline)
{
  bf_media_timer_heap_set (&t->loop->timers, &t->entry, deadline);
}

void
bf_media_timer_stop (BfMediaTimer *t)
{
  bf_media_timer_heap_remove (&t->loop->timers, &t->entry);
}

gboolean
bf_media_timer_is_set (BfMediaTimer *t)
{
  return bf_media_timer_entry_scheduled (&t->entry);
}

void
bf_media_timer_free (BfMediaTimer *t)
{
  if (t == NULL)
    return;
  bf_media_timer_stop (t);
  g_free (t);
}

static void
run_due_timers (BfMediaLoop *loop, gint64 now)
{
  BfMediaTimerEntry *e;
  for (guint i = 0; i < MAX_TIMERS_PER_WAKEUP && (e = bf_media_timer_heap_pop_due (&loop->timers, now)); i++)
    {
      /* entry is the first member */
      BfMediaTimer *t = (BfMediaTimer *) e;
      t->func (t->user_data);
    }
}

/* --- the GMainContexts --- */

static void
ctx_deadline_due (gpointer user_data)
{
  Ctx *c = user_data;
  if (!c->ready && !c->removed)
    {
      c->ready = TRUE;
      g_ptr_array_add (c->loop->ready, c);
    }
}

/* Forgets @c's fds in the set (those another context or nobody polls now
 * stay as they are). */
static void
ctx_unregister (Ctx *c)
{
  BfMediaLoop *loop = c->loop;
  for (guint i = 0; i < c->registered->len; i++)
    {
      int fd = g_array_index (c->registered, int, i);
      FdEntry *e = entry_for (loop, fd);
      if (e->ctx != c)
        continue;
      e->ctx = NULL;
      e->glib_events = 0;
      e->glib_revents = 0;
      update_registration (loop, fd, FALSE, NULL);
    }
  g_array_set_size (c->registered, 0);
}

static void
ctx_prepare (Ctx *c)
{
  BfMediaLoop *loop = c->loop;
  gint timeout = -1;
  g_main_context_prepare (c->context, &c->max_priority);
  for (;;)
    {
      c->n_poll_fds = g_main_context_query (c->context, c->max_priority, &timeout, c->poll_fds,
                                            c->alloc_poll_fds);
      if (c->n_poll_fds <= c->alloc_poll_fds)
        break;
      c->alloc_poll_fds = c->n_poll_fds;
      c->poll_fds = g_renew (GPollFD, c->poll_fds, c->alloc_poll_fds);
    }

  /* The set follows the context's fds: last time's are forgotten, this
   * time's registered anew (renewed: see update_registration), those gone
   * dropped. */
  for (guint i = 0; i < c->registered->len; i++)
    {
      FdEntry *e = entry_for (loop, g_array_index (c->registered, int, i));
      if (e->ctx == c)
        e->glib_events = 0;
    }
  gboolean invalid = FALSE;
  for (gint i = 0; i < c->n_poll_fds; i++)
    {
      GPollFD *p = &c->poll_fds[i];
      p->revents = 0;
      if (p->fd < 0)
        continue;
      FdEntry *e = entry_for (loop, p->fd);
      if (e->ctx != c)
        {
          e->ctx = c;             /* a number another context had closed */
          e->glib_events = 0;
          e->glib_revents = 0;
        }
      e->glib_events |= p->events;
    }
  for (guint i = 0; i < c->registered->len; i++)
    {
      int fd = g_array_index (c->registered, int, i);
      FdEntry *e = entry_for (loop, fd);
      if (e->ctx == c && e->glib_events == 0)
        {
          e->ctx = NULL;
          update_registration (loop, fd, FALSE, NULL);
        }
    }
  g_array_set_size (c->registered, 0);
  for (gint i = 0; i < c->n_poll_fds; i++)
    {
      int fd = c->poll_fds[i].fd;
      if (fd < 0)
        continue;
      g_autoptr (GError) error = NULL;
      if (!update_registration (loop, fd, TRUE, &error))
        {
          /* Not in the set: its source is told it is invalid at the
           * next check (G_IO_NVAL), as poll() would. */
          loop->fds[fd].glib_revents |= G_IO_NVAL;
          invalid = TRUE;
          g_warning ("media loop: %s", error->message);
        }
      g_array_append_val (c->registered, fd);
    }
  if (invalid)
    timeout = 0;
  c->prepared = TRUE;
  if (timeout < 0)
    bf_media_timer_stop (c->deadline);
  else
    {
      /* A context dispatched late by up to a grid step finds its due
       * sources ready at check, as after any late wake-up. */
      gint64 deadline = g_get_monotonic_time () + (gint64) timeout * 1000;
      if (timeout >= BF_MEDIA_LOOP_GRID_MIN_MS && c->context != loop->context)
        deadline = bf_media_loop_grid (deadline);
      bf_media_timer_set (c->deadline, deadline);
    }
}

static void
ctx_check_dispatch (Ctx *c)
{
  BfMediaLoop *loop = c->loop;
  for (gint i = 0; i < c->n_poll_fds; i++)
    {
      GPollFD *p = &c->poll_fds[i];
      if (p->fd >= 0 && (guint) p->fd < loop->n_fds && loop->fds[p->fd].ctx == c)
        p->revents = loop->fds[p->fd].glib_revents & (p->events | G_IO_ERR | G_IO_HUP | G_IO_NVAL);
    }
  for (gint i = 0; i < c->n_poll_fds; i++)
    {
      int fd = c->poll_fds[i].fd;
      if (fd >= 0 && (guint) fd < loop->n_fds && loop->fds[fd].ctx == c)
        loop->fds[fd].glib_revents = 0;
    }
  loop->glib_iterations++;
  c->prepared = FALSE;
  c->dispatching = TRUE;
  if (g_main_context_check (c->context, c->max_priority, c->poll_fds, c->n_poll_fds))
    g_main_context_dispatch (c->context);
  c->dispatching = FALSE;
}

void
bf_media_loop_add_context (BfMediaLoop *loop, GMainContext *context)
{
  g_return_if_fail (!g_hash_table_contains (loop->contexts, context));
  if (!g_main_context_acquire (context))
    g_error ("media loop: a context is owned by another thread");
  Ctx *c = g_new0 (Ctx, 1);
  c->loop = loop;
  c->context = g_main_context_ref (context);
  c->registered = g_array_new (FALSE, FALSE, sizeof (int));
  c->deadline = bf_media_loop_timer_new (loop, ctx_deadline_due, c);
  g_hash_table_insert (loop->contexts, context, c);
  ctx_prepare (c);
}

void
bf_media_loop_remove_context (BfMediaLoop *loop, GMainContext *context)
{
  Ctx *c = g_hash_table_lookup (loop->contexts, context);
  g_return_if_fail (c != NULL);
  g_hash_table_remove (loop->contexts, context);
  c->removed = TRUE;
  ctx_unregister (c);
  bf_media_timer_stop (c->deadline);
  /* Freed at the end of the turn: it may be dispatching right now, or be
   * in this turn's ready list. */
  g_ptr_array_add (loop->removed, c);
}

/* Ends a prepare/query without dispatching: leaves the context checked,
 * as g_main_context_iteration (the drain) and its last unref expect. */
static void
ctx_unprepare (Ctx *c)
{
  if (!c->prepared)
    return;
  for (gint i = 0; i < c->n_poll_fds; i++)
    c->poll_fds[i].revents = 0;
  g_main_context_check (c->context, c->max_priority, c->poll_fds, c->n_poll_fds);
  c->prepared = FALSE;
}

static void
ctx_free (Ctx *c)
{
  ctx_unprepare (c);
  g_main_context_release (c->context);
  g_main_context_unref (c->context);
  bf_media_timer_free (c->deadline);
  g_array_unref (c->registered);
  g_free (c->poll_fds);
  g_free (c);
}

static void
free_removed (BfMediaLoop *loop)
{
  for (guint i = 0; i < loop->removed->len; i++)
    ctx_free (loop->removed->pdata[i]);
  g_ptr_array_set_size (loop->removed, 0);
}

/* Checks, dispatches and prepares again every context that is ready. */
static void
run_ready (BfMediaLoop *loop)
{
  /* Contexts made ready while this runs (a source attached to another
   * one) come next turn: their wake-up fd is readable by then. */
  guint n = loop->ready->len;
  for (guint i = 0; i < n; i++)
    {
      Ctx *c = loop->ready->pdata[i];
      c->ready = FALSE;
      if (c->removed)
        continue;
      ctx_check_dispatch (c);
      if (!c->removed)
        ctx_prepare (c);
    }
  g_ptr_array_remove_range (loop->ready, 0, n);
}

/* --- running --- */

void
bf_media_loop_quit (BfMediaLoop *loop)
{
  loop->quit = TRUE;
}

void
bf_media_loop_run (BfMediaLoop *loop)
{
  struct epoll_event events[MAX_EVENTS];
  loop->quit = FALSE;
  bf_media_loop_add_context (loop, loop->context);
  while (!loop->quit)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 next = loop->ready->len ? now : bf_media_timer_heap_next (&loop->timers);
      int timeout_ms = next == G_MAXINT64 ? -1
                       : next <= now     ? 0
                                         : (int) MIN ((next - now + 999) / 1000, G_MAXINT);
      int n = epoll_wait (loop->epfd, events, MAX_EVENTS, timeout_ms);
      if (n < 0)
        {
          if (errno != EINTR)
            g_error ("media loop: epoll_wait: %s", g_strerror (errno));
          continue;
        }
      loop->wakeups++;
      for (int i = 0; i < n; i++)
        {
          int fd = events[i].data.fd;
          if ((guint) fd >= loop->n_fds)
            continue;
          /* Looked up anew each time: a callback may free watches. */
          FdEntry *e = &loop->fds[fd];
          if (e->ctx && e->glib_events)
            {
              e->glib_revents |= events[i].events & POLL_MASK;
              if (!e->ctx->ready)
                {
                  e->ctx->ready = TRUE;
                  g_ptr_array_add (loop->ready, e->ctx);
                }
            }
          BfMediaWatch *w = e->watch;
          if (w && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            w->func (w->user_data);
        }
      run_due_timers (loop, g_get_monotonic_time ());
      run_ready (loop);
      free_removed (loop);
    }
  /* The contexts stay acquired by this thread (bf_media_loop_drain). */
}

void
bf_media_loop_drain (BfMediaLoop *loop, guint max_iterations)
{
  /* What was posted before the stop and what it completes (a NiceAgent's
   * close in a transport's context, which then removes that context),
   * bounded so a source that re-arms forever cannot hang the caller. */
  for (guint i = 0; i < max_iterations; i++)
    {
      gboolean any = FALSE;
      GList *contexts = g_hash_table_get_values (loop->contexts);
      for (GList *l = contexts; l; l = l->next)
        {
          Ctx *c = l->data;
          if (c->removed)
            continue;
          ctx_unprepare (c);
          c->dispatching = TRUE;
          gboolean dispatched = g_main_context_iteration (c->context, FALSE);
          c->dispatching = FALSE;
          if (dispatched)
            any = TRUE;
          if (!c->removed)
            ctx_prepare (c);
        }
      g_list_free (contexts);
      free_removed (loop);
      if (!any)
        break;
    }
  g_ptr_array_set_size (loop->ready, 0);
  GList *contexts = g_hash_table_get_values (loop->contexts);
  for (GList *l = contexts; l; l = l->next)
    bf_media_loop_remove_context (loop, ((Ctx *) l->data)->context);
  g_list_free (contexts);
  free_removed (loop);
}

guint64
bf_media_loop_get_wakeups (BfMediaLoop *loop)
{
  return loop->wakeups;
}

guint64
bf_media_loop_get_glib_iterations (BfMediaLoop *loop)
{
  return loop->glib_iterations;
}
