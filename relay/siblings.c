#define G_LOG_DOMAIN "belfry"
/* Takeover of a dead sibling's slot: see siblings.h. */
#include "siblings.h"

#include <string.h>

#define PING_INTERVAL_MS 1000
/* Consecutive failed pings (an error, or no answer by the next ping)
 * before a sibling counts as gone: one failure may be a restart of its
 * link, two are a second apart. */
#define FAILURES_FOR_GONE 2
#define PING_ID_PREFIX "bf-sib-"

typedef struct {
  char *jid;              /* its node-jid */
  gboolean self;
  gboolean gone;
  guint failures;
  guint64 pending;        /* the ping awaiting an answer; 0: none */
  BfLink *extra;          /* our connection holding its slot; NULL: none */
  BfLink *extra_rooms;    /* the same for [component] rooms-jid */
} Sibling;

struct _BfSiblings {
  const BfConfig *config;
  gboolean trace;
  BfSendFunc send;
  gpointer send_data;
  BfLinkStanzaFunc on_stanza;
  BfLinkDroppedFunc on_dropped;
  gpointer link_data;
  GArray *all;            /* Sibling, every node-jid with ours, sorted */
  guint64 next_id;
  guint timer;
};

static void
sibling_clear (gpointer p)
{
  Sibling *s = p;
  g_free (s->jid);
  g_clear_pointer (&s->extra, bf_link_free);
  g_clear_pointer (&s->extra_rooms, bf_link_free);
}

static gint
by_jid (gconstpointer a, gconstpointer b)
{
  return g_ascii_strcasecmp (((const Sibling *) a)->jid, ((const Sibling *) b)->jid);
}

BfSiblings *
bf_siblings_new (const BfConfig *config, gboolean trace, BfSendFunc send, gpointer send_data,
                 BfLinkStanzaFunc on_stanza, BfLinkDroppedFunc on_dropped, gpointer link_data)
{
  g_return_val_if_fail (config->node_jid && config->siblings, NULL);
  BfSiblings *w = g_new0 (BfSiblings, 1);
  w->config = config;
  w->trace = trace;
  w->send = send;
  w->send_data = send_data;
  w->on_stanza = on_stanza;
  w->on_dropped = on_dropped;
  w->link_data = link_data;
  w->all = g_array_new (FALSE, TRUE, sizeof (Sibling));
  g_array_set_clear_func (w->all, sibling_clear);
  Sibling me = { .jid = g_strdup (config->node_jid), .self = TRUE };
  g_array_append_val (w->all, me);
  for (guint i = 0; config->siblings[i]; i++)
    {
      Sibling s = { .jid = g_strdup (config->siblings[i]) };
      g_array_append_val (w->all, s);
    }
  g_array_sort (w->all, by_jid);
  return w;
}

void
bf_siblings_free (BfSiblings *w)
{
  if (w == NULL)
    return;
  g_clear_handle_id (&w->timer, g_source_remove);
  g_array_unref (w->all);
  g_free (w);
}

static Sibling *
at (BfSiblings *w, guint i)
{
  return &g_array_index (w->all, Sibling, i % w->all->len);
}

/* Whether we cover gone sibling @i: the first live process after it in
 * the sorted list.  Every process computes the same answer from the same
 * pings, so one survivor, not all, opens a connection for each slot; when
 * their views differ for a moment, ejabberd's registration (a Mnesia
 * transaction) gives the slot to one and the other's connection none,
 * which it closes once the views agree again. */
static gboolean
we_cover (BfSiblings *w, guint i)
{
  for (guint k = 1; k < w->all->len; k++)
    {
      Sibling *s = at (w, i + k);
      if (s->self)
        return TRUE;
      if (!s->gone)
        return FALSE;
    }
  return FALSE;
}

static void
release (Sibling *s, const char *why)
{
  if (s->extra == NULL)
    return;
  g_message ("siblings: releasing the shared-domain slot held for %s (%s)", s->jid, why);
  /* Closing the socket is enough: ejabberd_service:terminate unregisters
   * the route and the slot is free for the next connection. */
  g_clear_pointer (&s->extra, bf_link_free);
  g_clear_pointer (&s->extra_rooms, bf_link_free);
}

static BfLink *
open_extra (BfSiblings *w, const char *domain)
{
  BfLink *link = bf_link_new (w->config, domain, w->trace, w->on_stanza, w->link_data);
  bf_link_set_dropped_func (link, w->on_dropped, w->link_data);
  bf_link_start (link);
  return link;
}

static void
settle (BfSiblings *w)
{
  for (guint i = 0; i < w->all->len; i++)
    {
      Sibling *s = at (w, i);
      if (s->self)
        continue;
      gboolean cover = s->gone && we_cover (w, i);
      if (cover && s->extra == NULL)
        {
          g_message ("siblings: %s is gone: taking a slot of %s for its callers",
                     s->jid, w->config->jid);
          s->extra = open_extra (w, w->config->jid);
          /* The rooms' domain is balanced over as many slots: the gone
           * process held one of those too. */
          if (w->config->rooms_jid)
            s->extra_rooms = open_extra (w, w->config->rooms_jid);
        }
      else if (!cover && s->extra != NULL)
        release (s, s->gone ? "another process covers it" : "it answers again");
    }
}

static void
failed (BfSiblings *w, Sibling *s, const char *why)
{
  s->pending = 0;
  if (++s->failures == FAILURES_FOR_GONE && !s->gone)
    {
      s->gone = TRUE;
      g_message ("siblings: %s does not answer (%s)", s->jid, why);
      settle (w);
    }
}

static gboolean
on_tick (gpointer data)
{
  BfSiblings *w = data;
  for (guint i = 0; i < w->all->len; i++)
    {
      Sibling *s = at (w, i);
      if (s->self)
        continue;
      if (s->pending)
        failed (w, s, "no answer within a second");
      s->pending = ++w->next_id;
      g_autofree char *id = g_strdup_printf (PING_ID_PREFIX "%" G_GUINT64_FORMAT, s->pending);
      g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
      bf_stanza_set_attr (iq, "type", "get");
      bf_stanza_set_attr (iq, "id", id);
      bf_stanza_set_attr (iq, "from", w->config->node_jid);
      bf_stanza_set_attr (iq, "to", s->jid);
      bf_stanza_add_child (iq, "ping", BF_NS_PING);
      w->send (w->send_data, iq);
    }
  return G_SOURCE_CONTINUE;
}

void
bf_siblings_start (BfSiblings *w)
{
  if (w->timer == 0)
    w->timer = g_timeout_add (PING_INTERVAL_MS, on_tick, w);
}

gboolean
bf_siblings_handle_stanza (BfSiblings *w, const BfStanza *stanza)
{
  const char *id = bf_stanza_get_attr (stanza, "id");
  const char *type = bf_stanza_get_attr (stanza, "type");
  const char *from = bf_stanza_get_attr (stanza, "from");
  const char *to = bf_stanza_get_attr (stanza, "to");
  /* Only what is addressed to our node-jid: it comes on the node-jid's
   * link, never on an extra link that settle() may close. */
  if (strcmp (bf_stanza_get_name (stanza), "iq") != 0 || id == NULL || from == NULL
      || to == NULL || g_ascii_strcasecmp (to, w->config->node_jid) != 0
      || !g_str_has_prefix (id, PING_ID_PREFIX)
      || (g_strcmp0 (type, "result") != 0 && g_strcmp0 (type, "error") != 0))
    return FALSE;
  guint64 n = g_ascii_strtoull (id + strlen (PING_ID_PREFIX), NULL, 10);
  for (guint i = 0; i < w->all->len; i++)
    {
      Sibling *s = at (w, i);
      if (s->self || n == 0 || s->pending != n || g_ascii_strcasecmp (s->jid, from) != 0)
        continue;
      if (strcmp (type, "error") == 0)
        {
          failed (w, s, "its sub-domain has no route");
          return TRUE;
        }
      s->pending = 0;
      s->failures = 0;
      if (s->gone)
        {
          s->gone = FALSE;
          g_message ("siblings: %s answers again", s->jid);
          settle (w);
        }
      return TRUE;
    }
  /* An answer to a ping we gave up on: ours all the same. */
  return TRUE;
}

guint
bf_siblings_count_taken (BfSiblings *w)
{
  guint n = 0;
  for (guint i = 0; i < w->all->len; i++)
    n += at (w, i)->extra != NULL;
  return n;
}
