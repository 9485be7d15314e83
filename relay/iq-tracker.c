/* Pending iq requests (iq-tracker.h). */
#include <string.h>

#include "iq-tracker.h"
#include "random.h"

typedef struct {
  char *id;
  char *to;
  gint64 deadline;            /* monotonic, µs */
  BfIqAnswerFunc func;
  gpointer data;
  GDestroyNotify destroy;
  GList link;                 /* in the tracker's queue; data: this entry */
} Pending;

struct _BfIqTracker {
  guint max_pending;
  gint64 timeout;             /* µs */
  GHashTable *by_id;          /* id -> Pending* (owned through the queue) */
  GQueue queue;               /* Pending, oldest first: the timeout is the same
                               * for all, so this is also deadline order */
  GMainContext *context;
  GSource *timer;             /* armed for the oldest deadline, or NULL */
  BfIqTrackerStats stats;
};

static void
pending_free (Pending *p)
{
  if (p->destroy)
    p->destroy (p->data);
  g_free (p->id);
  g_free (p->to);
  g_free (p);
}

/* Takes @p out of the table and the queue; the caller frees it. */
static void
unlink_pending (BfIqTracker *t, Pending *p)
{
  g_hash_table_remove (t->by_id, p->id);
  g_queue_unlink (&t->queue, &p->link);
}

/* Gives @p up: unlinked first, so its func may add and cancel freely. */
static void
give_up (BfIqTracker *t, Pending *p)
{
  unlink_pending (t, p);
  p->func (p->data, NULL);
  pending_free (p);
}

static void arm_timer (BfIqTracker *t);

static gboolean
on_timer (gpointer data)
{
  BfIqTracker *t = data;
  g_clear_pointer (&t->timer, g_source_unref);
  gint64 now = g_get_monotonic_time ();
  /* Bounded: each round removes one request, and those added by a func
   * meanwhile are due a whole timeout later. */
  Pending *p;
  while ((p = g_queue_peek_head (&t->queue)) != NULL && p->deadline <= now)
    {
      t->stats.timed_out++;
      give_up (t, p);
    }
  arm_timer (t);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (BfIqTracker *t)
{
  Pending *p = g_queue_peek_head (&t->queue);
  if (t->timer != NULL || p == NULL)
    return;
  gint64 wait_ms = (p->deadline - g_get_monotonic_time () + 999) / 1000;
  t->timer = g_timeout_source_new ((guint) CLAMP (wait_ms, 0, G_MAXUINT));
  g_source_set_callback (t->timer, on_timer, t, NULL);
  g_source_attach (t->timer, t->context);
}

BfIqTracker *
bf_iq_tracker_new (guint max_pending, guint timeout_ms)
{
  g_return_val_if_fail (max_pending > 0, NULL);
  BfIqTracker *t = g_new0 (BfIqTracker, 1);
  t->max_pending = max_pending;
  t->timeout = (gint64) timeout_ms * 1000;
  t->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&t->queue);
  t->context = g_main_context_ref_thread_default ();
  return t;
}

void
bf_iq_tracker_free (BfIqTracker *tracker)
{
  if (tracker == NULL)
    return;
  if (tracker->timer)
    {
      g_source_destroy (tracker->timer);
      g_source_unref (tracker->timer);
    }
  Pending *p;
  while ((p = g_queue_peek_head (&tracker->queue)) != NULL)
    {
      unlink_pending (tracker, p);
      pending_free (p);
    }
  g_hash_table_unref (tracker->by_id);
  g_main_context_unref (tracker->context);
  g_free (tracker);
}

static char *
new_id (BfIqTracker *t)
{
  for (;;)
    {
      /* A repeat of 128 random bits does not happen; the check only keeps
       * the table's invariant obviously true. */
      guint64 r[2];
      bf_random_bytes (r, sizeof r);
      char *id = g_strdup_printf ("bf-%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                                  r[0], r[1]);
      if (!g_hash_table_contains (t->by_id, id))
        return id;
      g_free (id);
    }
}

char *
bf_iq_tracker_add (BfIqTracker *tracker, const char *to, BfIqAnswerFunc func, gpointer data,
                   GDestroyNotify destroy)
{
  g_return_val_if_fail (tracker != NULL && to != NULL && func != NULL, NULL);
  if (g_queue_get_length (&tracker->queue) >= tracker->max_pending)
    {
      /* Forgotten, not answered: its func must not run inside this call
       * (the caller may be in the middle of sending). */
      Pending *oldest = g_queue_peek_head (&tracker->queue);
      unlink_pending (tracker, oldest);
      pending_free (oldest);
      tracker->stats.evicted++;
    }
  Pending *p = g_new0 (Pending, 1);
  p->id = new_id (tracker);
  p->to = g_strdup (to);
  p->deadline = g_get_monotonic_time () + tracker->timeout;
  p->func = func;
  p->data = data;
  p->destroy = destroy;
  p->link.data = p;
  g_hash_table_insert (tracker->by_id, p->id, p);
  g_queue_push_tail_link (&tracker->queue, &p->link);
  arm_timer (tracker);
  return g_strdup (p->id);
}

gboolean
bf_iq_tracker_answer (BfIqTracker *tracker, const BfStanza *iq)
{
  const char *type = bf_stanza_get_attr (iq, "type");
  const char *id = bf_stanza_get_attr (iq, "id");
  if (id == NULL || strcmp (bf_stanza_get_name (iq), "iq") != 0
      || (g_strcmp0 (type, "result") != 0 && g_strcmp0 (type, "error") != 0))
    return FALSE;
  Pending *p = g_hash_table_lookup (tracker->by_id, id);
  if (p == NULL)
    return FALSE;
  /* The router has checked 'from' is a well-formed JID; it must be the
   * one we asked, as we wrote it (the server answers in the recipient's
   * name, RFC 6120 §8.3.1, so an error comes from there too). */
  if (g_strcmp0 (bf_stanza_get_attr (iq, "from"), p->to) != 0)
    {
      tracker->stats.wrong_sender++;
      return FALSE;
    }
  tracker->stats.answered++;
  unlink_pending (tracker, p);
  p->func (p->data, iq);
  pending_free (p);
  return TRUE;
}

guint
bf_iq_tracker_cancel (BfIqTracker *tracker, gpointer data)
{
  /* Collected first: a destroy may cancel or add in turn. */
  GPtrArray *gone = g_ptr_array_new ();
  for (GList *l = tracker->queue.head; l; l = l->next)
    if (((Pending *) l->data)->data == data)
      g_ptr_array_add (gone, l->data);
  for (guint i = 0; i < gone->len; i++)
    unlink_pending (tracker, g_ptr_array_index (gone, i));
  guint n = gone->len;
  for (guint i = 0; i < n; i++)
    pending_free (g_ptr_array_index (gone, i));
  g_ptr_array_unref (gone);
  return n;
}

guint
bf_iq_tracker_count (BfIqTracker *tracker)
{
  return g_queue_get_length (&tracker->queue);
}

const BfIqTrackerStats *
bf_iq_tracker_get_stats (BfIqTracker *tracker)
{
  return &tracker->stats;
}
