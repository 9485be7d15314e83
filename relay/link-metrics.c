/* Metrics of the component connections by role: see link-metrics.h. */
#include "link-metrics.h"

#include "metrics.h"

static struct {
  BfMetricFamily *up, *connects, *attaches, *reconnects;
} fam;

static void
init (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  BfMetrics *r = bf_metrics_get_default ();
  const char *const role[] = { "role", NULL };
  fam.up = bf_metrics_add_family (r, BF_METRIC_GAUGE, "belfry_component_links_up",
    "Component connections attached now, by role (shared: [component] jid; node: node-jid; "
    "rooms: rooms-jid; takeover: held in gone siblings' slots)", role);
  fam.connects = bf_metrics_add_family (r, BF_METRIC_COUNTER,
    "belfry_component_link_connects_total", "Connection attempts, by role", role);
  fam.attaches = bf_metrics_add_family (r, BF_METRIC_COUNTER,
    "belfry_component_link_attaches_total", "Handshakes the XMPP server accepted, by role", role);
  fam.reconnects = bf_metrics_add_family (r, BF_METRIC_COUNTER,
    "belfry_component_link_reconnects_total",
    "Attaches after a connection's first one (it was lost and came back), by role", role);
  g_once_init_leave (&done, 1);
}

void
bf_link_totals_add (BfLinkTotals *t, BfLink *link)
{
  if (link == NULL)
    return;
  const BfLinkStats *s = bf_link_get_stats (link);
  t->up += bf_link_is_attached (link);
  t->connects += s->connects;
  t->attaches += s->attaches;
  t->reconnects += s->attaches > 1 ? s->attaches - 1 : 0;
}

void
bf_link_metrics_set (const char *role, const BfLinkTotals *t)
{
  init ();
  bf_metric_set (bf_metric_family_get (fam.up, role, NULL), t->up);
  bf_metric_set (bf_metric_family_get (fam.connects, role, NULL), (gint64) t->connects);
  bf_metric_set (bf_metric_family_get (fam.attaches, role, NULL), (gint64) t->attaches);
  bf_metric_set (bf_metric_family_get (fam.reconnects, role, NULL), (gint64) t->reconnects);
}
