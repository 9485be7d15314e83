#define G_LOG_DOMAIN "belfry-session"
/* The session manager's operator side (sessions.h "operator control"):
 * listing and ending sessions for the admin commands, the live limit for
 * reload, draining.  Main thread; the packet counts are read on each
 * session's worker, which is where its transports live. */
#include "build-config.h"

#include <string.h>

#include "session-private.h"

void
bf_session_row_free (BfSessionRow *row)
{
  if (row == NULL)
    return;
  g_free (row->sid);
  g_free (row->peer);
  g_free (row->local);
  g_free (row->module);
  g_free (row->state);
  g_free (row);
}

static const char *
state_of (BfSession *s)
{
  switch (s->phase)
    {
    case BF_SESSION_PHASE_PROPOSING:
      return "proposing";
    case BF_SESSION_PHASE_DEFERRED:
      return "waiting for the module";
    case BF_SESSION_PHASE_ACTIVE:
      return "active";
    default:
      /* new, initiating or initiated; accepting (ended ones are not listed) */
      return s->outgoing ? "initiating" : "accepting";
    }
}

/* One listing in progress: each worker job holds a reference; the last
 * one to let go hands the rows to the main context. */
typedef struct {
  gatomicrefcount ref;
  GPtrArray *rows;
  BfSessionRowsFunc done;
  gpointer data;
} Listing;

typedef struct {
  Listing *listing;
  BfSession *session;
  BfSessionRow *row;
} CountJob;

static gboolean
listing_deliver (gpointer data)
{
  Listing *l = data;
  l->done (g_steal_pointer (&l->rows), l->data);
  g_free (l);
  return G_SOURCE_REMOVE;
}

static void
listing_unref (Listing *l)
{
  if (g_atomic_ref_count_dec (&l->ref))
    g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, listing_deliver, l, NULL);
}

/* Worker: the transports are the worker's alone; the row's counts are
 * written here and read on the main thread only after the last job. */
static void
count_on_worker (gpointer data)
{
  CountJob *job = data;
  BfSession *s = job->session;
  if (s->w.torn_down)
    return;
  for (guint i = 0; i < s->w.n_transports && i < MAX_TRANSPORTS; i++)
    {
      BfMediaTransport *t = s->transports[i] ? s->transports[i]->transport : NULL;
      if (t == NULL)
        continue;
      BfMediaCounters c;
      bf_media_transport_get_counters (t, &c);
      job->row->packets_in += c.packets_in;
      job->row->packets_out += c.packets_out;
    }
}

static void
count_job_free (gpointer data)
{
  CountJob *job = data;
  bf_session_unref (job->session);
  listing_unref (job->listing);
  g_free (job);
}

/* The sessions now in the table, each with a reference. */
static GPtrArray *
all_sessions (BfSessions *mgr)
{
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_session_unref);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, mgr->table);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (all, bf_session_ref (value));
  return all;
}

static gint
by_start (gconstpointer a, gconstpointer b)
{
  const BfSession *x = *(BfSession *const *) a, *y = *(BfSession *const *) b;
  return x->started < y->started ? -1 : x->started > y->started;
}

static gboolean
deliver_later (gpointer data)
{
  listing_unref (data);
  return G_SOURCE_REMOVE;
}

void
bf_sessions_list (BfSessions *mgr, guint max, BfSessionRowsFunc done, gpointer data)
{
  Listing *l = g_new0 (Listing, 1);
  g_atomic_ref_count_init (&l->ref);
  l->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_session_row_free);
  l->done = done;
  l->data = data;
  g_autoptr (GPtrArray) all = all_sessions (mgr);
  g_ptr_array_sort (all, by_start);
  for (guint i = 0; i < all->len && i < max; i++)
    {
      BfSession *s = g_ptr_array_index (all, i);
      BfSessionRow *row = g_new0 (BfSessionRow, 1);
      row->sid = g_strdup (s->sid);
      row->peer = g_strdup (s->peer);
      row->local = g_strdup (s->local);
      row->module = g_strdup (bf_module_get_name (s->module));
      row->state = g_strdup (state_of (s));
      row->outgoing = s->outgoing;
      row->since = s->started;
      g_ptr_array_add (l->rows, row);
      if (s->worker == NULL)
        continue;
      CountJob *job = g_new0 (CountJob, 1);
      g_atomic_ref_count_inc (&l->ref);
      job->listing = l;
      job->session = bf_session_ref (s);
      job->row = row;
      bf_media_worker_invoke (s->worker, count_on_worker, job, count_job_free);
    }
  /* Our own reference goes from an idle source, so @done never runs
   * inside this call even when no session has a worker. */
  g_idle_add (deliver_later, l);
}

guint
bf_sessions_end_sid (BfSessions *mgr, const char *sid, const char *reason, const char *text)
{
  BfJingleReasonCondition condition;
  if (!bf_jingle_reason_from_string (reason, &condition))
    condition = BF_JINGLE_REASON_SUCCESS;
  g_autoptr (GPtrArray) all = all_sessions (mgr);
  guint n = 0;
  for (guint i = 0; i < all->len; i++)
    {
      BfSession *s = g_ptr_array_index (all, i);
      if (strcmp (s->sid, sid) == 0 && s->phase != BF_SESSION_PHASE_ENDED)
        {
          bf_session_end (s, condition, text, TRUE);
          n++;
        }
    }
  return n;
}

void
bf_sessions_end_all (BfSessions *mgr, const char *reason, const char *text)
{
  BfJingleReasonCondition condition;
  if (!bf_jingle_reason_from_string (reason, &condition))
    condition = BF_JINGLE_REASON_GONE;
  /* One at a time: ending a session may end its other leg too. */
  for (guint bound = g_hash_table_size (mgr->table) + 1; bound > 0; bound--)
    {
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, mgr->table);
      if (!g_hash_table_iter_next (&it, NULL, &value))
        break;
      bf_session_end (value, condition, text, TRUE);
    }
}

void
bf_sessions_set_max (BfSessions *mgr, guint max_sessions)
{
  mgr->max_sessions = max_sessions;
}

guint
bf_sessions_get_max (BfSessions *mgr)
{
  return mgr->max_sessions;
}

void
bf_sessions_set_draining (BfSessions *mgr, gboolean draining)
{
  mgr->draining = draining;
}

gboolean
bf_sessions_is_draining (BfSessions *mgr)
{
  return mgr->draining;
}

void
bf_sessions_set_empty_func (BfSessions *mgr, GSourceFunc func, gpointer data)
{
  mgr->empty_func = func;
  mgr->empty_data = data;
}

void
bf_sessions_admin_on_session_gone (BfSessions *mgr)
{
  if (mgr->empty_func && g_hash_table_size (mgr->table) == 0)
    g_idle_add (mgr->empty_func, mgr->empty_data);
}
