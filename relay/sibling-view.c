/* What a process knows of its siblings: see sibling-view.h. */
#include "sibling-view.h"

typedef struct {
  char *jid;              /* its node-jid */
  gboolean self;
  gboolean gone;
  guint failures;
  guint64 pending;        /* the ping awaiting an answer; 0: none */
} Sibling;

struct _BfSiblingView {
  GArray *all;            /* Sibling, every node-jid with ours, sorted */
  guint64 next_id;
};

static void
sibling_clear (gpointer p)
{
  g_free (((Sibling *) p)->jid);
}

static gint
by_jid (gconstpointer a, gconstpointer b)
{
  return g_ascii_strcasecmp (((const Sibling *) a)->jid, ((const Sibling *) b)->jid);
}

BfSiblingView *
bf_sibling_view_new (const char *self, const char *const *siblings)
{
  g_return_val_if_fail (self != NULL && siblings != NULL, NULL);
  BfSiblingView *v = g_new0 (BfSiblingView, 1);
  v->all = g_array_new (FALSE, TRUE, sizeof (Sibling));
  g_array_set_clear_func (v->all, sibling_clear);
  Sibling me = { .jid = g_strdup (self), .self = TRUE };
  g_array_append_val (v->all, me);
  for (guint i = 0; siblings[i]; i++)
    {
      Sibling s = { .jid = g_strdup (siblings[i]) };
      g_array_append_val (v->all, s);
    }
  g_array_sort (v->all, by_jid);
  return v;
}

void
bf_sibling_view_free (BfSiblingView *v)
{
  if (v == NULL)
    return;
  g_array_unref (v->all);
  g_free (v);
}

static Sibling *
at (const BfSiblingView *v, guint i)
{
  return &g_array_index (v->all, Sibling, i % v->all->len);
}

guint
bf_sibling_view_size (const BfSiblingView *v)
{
  return v->all->len;
}

const char *
bf_sibling_view_jid (const BfSiblingView *v, guint i)
{
  return at (v, i)->jid;
}

gboolean
bf_sibling_view_is_self (const BfSiblingView *v, guint i)
{
  return at (v, i)->self;
}

gboolean
bf_sibling_view_is_gone (const BfSiblingView *v, guint i)
{
  return at (v, i)->gone;
}

static BfSiblingChange
failed (Sibling *s)
{
  s->pending = 0;
  if (++s->failures >= BF_SIBLING_FAILURES_FOR_GONE && !s->gone)
    {
      s->gone = TRUE;
      return BF_SIBLING_WENT;
    }
  return BF_SIBLING_UNCHANGED;
}

guint64
bf_sibling_view_ping (BfSiblingView *v, guint i, BfSiblingChange *change)
{
  Sibling *s = at (v, i);
  *change = BF_SIBLING_UNCHANGED;
  g_return_val_if_fail (!s->self, 0);
  if (s->pending)
    *change = failed (s);
  s->pending = ++v->next_id;
  return s->pending;
}

void
bf_sibling_view_forget_pings (BfSiblingView *v)
{
  for (guint i = 0; i < v->all->len; i++)
    at (v, i)->pending = 0;
}

BfSiblingChange
bf_sibling_view_answer (BfSiblingView *v, const char *from, guint64 id, gboolean ok, gint *index)
{
  if (index)
    *index = -1;
  if (id == 0 || from == NULL)
    return BF_SIBLING_UNCHANGED;
  for (guint i = 0; i < v->all->len; i++)
    {
      Sibling *s = at (v, i);
      /* An answer to a ping we gave up on (counted as a failure at the
       * next ping) counts no more. */
      if (s->self || s->pending != id || g_ascii_strcasecmp (s->jid, from) != 0)
        continue;
      if (index)
        *index = (gint) i;
      if (!ok)
        return failed (s);
      s->pending = 0;
      s->failures = 0;
      if (!s->gone)
        return BF_SIBLING_UNCHANGED;
      s->gone = FALSE;
      return BF_SIBLING_CAME_BACK;
    }
  return BF_SIBLING_UNCHANGED;
}

gint
bf_sibling_view_heir (const BfSiblingView *v, guint i)
{
  if (!at (v, i)->gone)
    return -1;
  for (guint k = 1; k < v->all->len; k++)
    if (!at (v, i + k)->gone)
      return (gint) ((i + k) % v->all->len);
  return -1;
}

gboolean
bf_sibling_view_we_cover (const BfSiblingView *v, guint i)
{
  gint heir = bf_sibling_view_heir (v, i);
  return heir >= 0 && at (v, (guint) heir)->self;
}
