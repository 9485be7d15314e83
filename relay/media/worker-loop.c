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

typedef struct {
  BfMediaWatch *watch;     /* the packet path's watch on this fd, or NULL */
  gushort glib_events;     /* what the context's sources poll it for */
  gushort glib_revents;    /* what epoll reported since the last check */
  guint32 registered;      /* epoll events registered (0: not in the set) */
} FdEntry;

struct _BfMediaLoop {
  GMainContext *context;
  int epfd;
  gboolean quit;

  FdEntry *fds;            /* indexed by fd */
  guint n_fds;

  BfMediaTimerHeap timers;

  /* The context between prepare/query and check/dispatch. */
  gboolean prepared;
  gint max_priority;
  GPollFD *poll_fds;
  gint n_poll_fds, alloc_poll_fds;
  GArray *glib_registered; /* int: fds registered for the context last time */
  gint64 glib_deadline;    /* when the context's own timeout is due */

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
  loop->glib_registered = g_array_new (FALSE, FALSE, sizeof (int));
  return loop;
}

void
bf_media_loop_free (BfMediaLoop *loop)
{
  if (loop == NULL)
    return;
  for (guint fd = 0; fd < loop->n_fds; fd++)
    g_warn_if_fail (loop->fds[fd].watch == NULL);
  bf_media_timer_heap_clear (&loop->timers);
  close (loop->epfd);
  g_free (loop->fds);
  g_free (loop->poll_fds);
  g_array_unref (loop->glib_registered);
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

/* --- the GMainContext --- */

static void
glib_prepare (BfMediaLoop *loop)
{
  gint timeout = -1;
  g_main_context_prepare (loop->context, &loop->max_priority);
  for (;;)
    {
      loop->n_poll_fds = g_main_context_query (loop->context, loop->max_priority, &timeout,
                                               loop->poll_fds, loop->alloc_poll_fds);
      if (loop->n_poll_fds <= loop->alloc_poll_fds)
        break;
      loop->alloc_poll_fds = loop->n_poll_fds;
      loop->poll_fds = g_renew (GPollFD, loop->poll_fds, loop->alloc_poll_fds);
    }
  loop->glib_deadline = timeout < 0 ? G_MAXINT64 : g_get_monotonic_time () + (gint64) timeout * 1000;

  /* The set follows the context's fds: forget last time's, add this
   * time's (renewed: see update_registration), drop those gone. */
  GArray *prev = loop->glib_registered;
  for (guint i = 0; i < prev->len; i++)
    entry_for (loop, g_array_index (prev, int, i))->glib_events = 0;
  for (gint i = 0; i < loop->n_poll_fds; i++)
    {
      GPollFD *p = &loop->poll_fds[i];
      if (p->fd < 0)
        continue;
      entry_for (loop, p->fd)->glib_events |= p->events;
      p->revents = 0;
    }
  for (guint i = 0; i < prev->len; i++)
    {
      int fd = g_array_index (prev, int, i);
      if (loop->fds[fd].glib_events == 0)
        update_registration (loop, fd, FALSE, NULL);
    }
  g_array_set_size (prev, 0);
  for (gint i = 0; i < loop->n_poll_fds; i++)
    {
      int fd = loop->poll_fds[i].fd;
      if (fd < 0)
        continue;
      g_autoptr (GError) error = NULL;
      if (!update_registration (loop, fd, TRUE, &error))
        {
          /* Not in the set: its source is told it is invalid at the
           * next check (G_IO_NVAL), as poll() would. */
          loop->fds[fd].glib_revents |= G_IO_NVAL;
          loop->glib_deadline = 0;
          g_warning ("media loop: %s", error->message);
          continue;
        }
      g_array_append_val (prev, fd);
    }
  loop->prepared = TRUE;
}

static void
glib_check_dispatch (BfMediaLoop *loop)
{
  for (gint i = 0; i < loop->n_poll_fds; i++)
    {
      GPollFD *p = &loop->poll_fds[i];
      if (p->fd >= 0 && (guint) p->fd < loop->n_fds)
        p->revents = loop->fds[p->fd].glib_revents & (p->events | G_IO_ERR | G_IO_HUP | G_IO_NVAL);
    }
  for (gint i = 0; i < loop->n_poll_fds; i++)
    if (loop->poll_fds[i].fd >= 0 && (guint) loop->poll_fds[i].fd < loop->n_fds)
      loop->fds[loop->poll_fds[i].fd].glib_revents = 0;
  loop->prepared = FALSE;
  loop->glib_iterations++;
  if (g_main_context_check (loop->context, loop->max_priority, loop->poll_fds, loop->n_poll_fds))
    g_main_context_dispatch (loop->context);
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
  if (!g_main_context_acquire (loop->context))
    g_error ("media loop: the worker's context is owned by another thread");
  loop->quit = FALSE;
  while (!loop->quit)
    {
      if (!loop->prepared)
        glib_prepare (loop);
      gint64 now = g_get_monotonic_time ();
      gint64 next = MIN (loop->glib_deadline, bf_media_timer_heap_next (&loop->timers));
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
      gboolean glib_ready = FALSE;
      for (int i = 0; i < n; i++)
        {
          int fd = events[i].data.fd;
          if ((guint) fd >= loop->n_fds)
            continue;
          /* Looked up anew each time: a callback may free watches. */
          FdEntry *e = &loop->fds[fd];
          if (e->glib_events)
            {
              e->glib_revents |= events[i].events & POLL_MASK;
              glib_ready = TRUE;
            }
          BfMediaWatch *w = e->watch;
          if (w && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            w->func (w->user_data);
        }
      now = g_get_monotonic_time ();
      run_due_timers (loop, now);
      if (glib_ready || now >= loop->glib_deadline)
        glib_check_dispatch (loop);
    }
  /* Leave the context checked, as g_main_context_iteration expects it. */
  if (loop->prepared)
    glib_check_dispatch (loop);
  g_main_context_release (loop->context);
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
