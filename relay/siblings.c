#define G_LOG_DOMAIN "belfry"
/* Takeover of a dead sibling's slot: see siblings.h. */
#include "siblings.h"

#include <string.h>

#include "link-metrics.h"
#include "metrics.h"
#include "sibling-view.h"

#define PING_INTERVAL_MS 1000
#define PING_ID_PREFIX "bf-sib-"

/* Our connections in one sibling's slots (the view's index). */
typedef struct {
  BfLink *extra;          /* the shared domain's; NULL: none */
  BfLink *extra_rooms;    /* the same for [component] rooms-jid */
  BfMetric *up, *taken, *takeovers;
} Slot;

struct _BfSiblings {
  const BfConfig *config;
  gboolean trace;
  BfSendFunc send;
  gpointer send_data;
  BfLinkStanzaFunc on_stanza;
  BfLinkDroppedFunc on_dropped;
  gpointer link_data;
  BfSiblingView *view;    /* every node-jid with ours, sorted: the decisions */
  Slot *slots;            /* one per entry of the view */
  BfLinkTotals retired;   /* the takeover connections already closed */
  BfLink *node_link;      /* ours, carrying the pings; not owned */
  guint collector;
  guint timer;
};

static struct {
  BfMetricFamily *up, *taken, *takeovers;
} fam;

static void
metrics_init (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  BfMetrics *r = bf_metrics_get_default ();
  const char *const sibling[] = { "sibling", NULL };
  fam.up = bf_metrics_add_family (r, BF_METRIC_GAUGE, "belfry_sibling_up",
    "0 while a sibling ([component] siblings) counts as gone (two pings failed), else 1",
    sibling);
  fam.taken = bf_metrics_add_family (r, BF_METRIC_GAUGE, "belfry_sibling_taken_over",
    "1 while this process holds connections in a gone sibling's slots (it is the heir)",
    sibling);
  fam.takeovers = bf_metrics_add_family (r, BF_METRIC_COUNTER,
    "belfry_sibling_takeovers_total", "Times this process took a gone sibling's slots",
    sibling);
  g_once_init_leave (&done, 1);
}

/* The takeover connections' series: those open now and those closed. */
static void
collect (gpointer data)
{
  BfSiblings *w = data;
  BfLinkTotals t = w->retired;
  t.up = 0;
  for (guint i = 0; i < bf_sibling_view_size (w->view); i++)
    {
      bf_link_totals_add (&t, w->slots[i].extra);
      bf_link_totals_add (&t, w->slots[i].extra_rooms);
    }
  bf_link_metrics_set (BF_LINK_ROLE_TAKEOVER, &t);
}

BfSiblings *
bf_siblings_new (const BfConfig *config, gboolean trace, BfSendFunc send, gpointer send_data,
                 BfLinkStanzaFunc on_stanza, BfLinkDroppedFunc on_dropped, gpointer link_data)
{
  g_return_val_if_fail (config->node_jid && config->siblings, NULL);
  metrics_init ();
  BfSiblings *w = g_new0 (BfSiblings, 1);
  w->config = config;
  w->trace = trace;
  w->send = send;
  w->send_data = send_data;
  w->on_stanza = on_stanza;
  w->on_dropped = on_dropped;
  w->link_data = link_data;
  w->view = bf_sibling_view_new (config->node_jid, (const char *const *) config->siblings);
  w->slots = g_new0 (Slot, bf_sibling_view_size (w->view));
  for (guint i = 0; i < bf_sibling_view_size (w->view); i++)
    {
      if (bf_sibling_view_is_self (w->view, i))
        continue;
      const char *jid = bf_sibling_view_jid (w->view, i);
      Slot *s = &w->slots[i];
      s->up = bf_metric_family_get (fam.up, jid, NULL);
      s->taken = bf_metric_family_get (fam.taken, jid, NULL);
      s->takeovers = bf_metric_family_get (fam.takeovers, jid, NULL);
      bf_metric_set (s->up, 1);
      bf_metric_set (s->taken, 0);
    }
  w->collector = bf_metrics_add_collector (bf_metrics_get_default (), collect, w);
  return w;
}

static void
close_links (BfSiblings *w, Slot *s)
{
  bf_link_totals_add (&w->retired, s->extra);
  bf_link_totals_add (&w->retired, s->extra_rooms);
  g_clear_pointer (&s->extra, bf_link_free);
  g_clear_pointer (&s->extra_rooms, bf_link_free);
  bf_metric_set (s->taken, 0);
}

void
bf_siblings_free (BfSiblings *w)
{
  if (w == NULL)
    return;
  g_clear_handle_id (&w->timer, g_source_remove);
  for (guint i = 0; i < bf_sibling_view_size (w->view); i++)
    close_links (w, &w->slots[i]);
  /* The last figures stay: closed with the process, none up. */
  collect (w);
  bf_metrics_remove_collector (bf_metrics_get_default (), w->collector);
  g_free (w->slots);
  bf_sibling_view_free (w->view);
  g_free (w);
}

static void
release (BfSiblings *w, guint i, const char *why)
{
  Slot *s = &w->slots[i];
  if (s->extra == NULL)
    return;
  g_message ("siblings: releasing the shared-domain slot held for %s (%s)",
             bf_sibling_view_jid (w->view, i), why);
  /* Closing the socket is enough: ejabberd_service:terminate unregisters
   * the route and the slot is free for the next connection. */
  close_links (w, s);
}

static BfLink *
open_extra (BfSiblings *w, const char *domain)
{
  BfLink *link = bf_link_new (w->config, domain, w->trace, w->on_stanza, w->link_data);
  bf_link_set_dropped_func (link, w->on_dropped, w->link_data);
  bf_link_start (link);
  return link;
}

/* Opens or closes our connections in each sibling's slots as the view
 * decides.  When two processes' views differ for a moment, both may
 * connect: ejabberd's registration (a Mnesia transaction) gives the slot
 * to one and the other's connection none, which it closes once the views
 * agree again. */
static void
settle (BfSiblings *w)
{
  for (guint i = 0; i < bf_sibling_view_size (w->view); i++)
    {
      if (bf_sibling_view_is_self (w->view, i))
        continue;
      Slot *s = &w->slots[i];
      gboolean gone = bf_sibling_view_is_gone (w->view, i);
      gboolean cover = bf_sibling_view_we_cover (w->view, i);
      bf_metric_set (s->up, !gone);
      if (cover && s->extra == NULL)
        {
          g_message ("siblings: %s is gone: taking a slot of %s for its callers",
                     bf_sibling_view_jid (w->view, i), w->config->jid);
          s->extra = open_extra (w, w->config->jid);
          /* The rooms' domain is balanced over as many slots: the gone
           * process held one of those too. */
          if (w->config->rooms_jid)
            s->extra_rooms = open_extra (w, w->config->rooms_jid);
          bf_metric_set (s->taken, 1);
          bf_metric_add (s->takeovers, 1);
        }
      else if (!cover && s->extra != NULL)
        release (w, i, gone ? "another process covers it" : "it answers again");
    }
}

static void
changed (BfSiblings *w, guint i, BfSiblingChange change, const char *why)
{
  if (change == BF_SIBLING_WENT)
    g_message ("siblings: %s does not answer (%s)", bf_sibling_view_jid (w->view, i), why);
  else if (change == BF_SIBLING_CAME_BACK)
    g_message ("siblings: %s answers again", bf_sibling_view_jid (w->view, i));
  if (change != BF_SIBLING_UNCHANGED)
    settle (w);
}

static gboolean
on_tick (gpointer data)
{
  BfSiblings *w = data;
  if (w->node_link && !bf_link_is_attached (w->node_link))
    {
      bf_sibling_view_forget_pings (w->view);
      return G_SOURCE_CONTINUE;
    }
  for (guint i = 0; i < bf_sibling_view_size (w->view); i++)
    {
      if (bf_sibling_view_is_self (w->view, i))
        continue;
      BfSiblingChange change;
      guint64 n = bf_sibling_view_ping (w->view, i, &change);
      changed (w, i, change, "no answer within a second");
      g_autofree char *id = g_strdup_printf (PING_ID_PREFIX "%" G_GUINT64_FORMAT, n);
      g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
      bf_stanza_set_attr (iq, "type", "get");
      bf_stanza_set_attr (iq, "id", id);
      bf_stanza_set_attr (iq, "from", w->config->node_jid);
      bf_stanza_set_attr (iq, "to", bf_sibling_view_jid (w->view, i));
      bf_stanza_add_child (iq, "ping", BF_NS_PING);
      w->send (w->send_data, iq);
    }
  return G_SOURCE_CONTINUE;
}

void
bf_siblings_set_node_link (BfSiblings *w, BfLink *node_link)
{
  w->node_link = node_link;
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
  gint i;
  BfSiblingChange change = bf_sibling_view_answer (w->view, from, n,
                                                   strcmp (type, "result") == 0, &i);
  if (i >= 0)
    changed (w, (guint) i, change, "its sub-domain has no route");
  /* An answer to a ping we gave up on: ours all the same. */
  return TRUE;
}

guint
bf_siblings_count_taken (BfSiblings *w)
{
  guint n = 0;
  for (guint i = 0; i < bf_sibling_view_size (w->view); i++)
    n += w->slots[i].extra != NULL;
  return n;
}
