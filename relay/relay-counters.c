#define G_LOG_DOMAIN "belfry"
/* belfry — the admin show-counters command (relay.h, admin.h). */
#include "build-config.h"

#include "relay.h"

static void
add_counter (GPtrArray *out, const char *var, const char *label, guint64 value)
{
  g_ptr_array_add (out, g_strdup (var));
  g_ptr_array_add (out, g_strdup (label));
  g_ptr_array_add (out, g_strdup_printf ("%" G_GUINT64_FORMAT, value));
}

void
bf_relay_collect_counters (gpointer data, GPtrArray *out)
{
  BfRelay *relay = data;
  const BfLinkStats *ls = bf_link_get_stats (relay->link);
  const BfRouterStats *rs = bf_router_get_stats (relay->router);
  add_counter (out, "link-connects", "Link: connection attempts", ls->connects);
  add_counter (out, "link-attaches", "Link: accepted handshakes", ls->attaches);
  add_counter (out, "link-stanzas-in", "Link: stanzas in", ls->stanzas_in);
  add_counter (out, "link-stanzas-out", "Link: stanzas out", ls->stanzas_out);
  add_counter (out, "link-dropped-out", "Link: dropped on the way out", ls->dropped_out);
  add_counter (out, "link-stream-errors", "Link: stream errors sent", ls->stream_errors);
  add_counter (out, "router-routed", "Router: stanzas routed", rs->routed);
  add_counter (out, "router-to-modules", "Router: to modules", rs->to_modules);
  add_counter (out, "router-answered", "Router: answered by the core", rs->answered);
  add_counter (out, "router-dropped", "Router: ignored", rs->dropped);
  if (relay->sessions)
    {
      const BfSessionStats *ss = bf_sessions_get_stats (relay->sessions);
      add_counter (out, "sessions", "Sessions: now", bf_sessions_count (relay->sessions));
      add_counter (out, "max-sessions", "Sessions: max-sessions",
                   bf_sessions_get_max (relay->sessions));
      add_counter (out, "sessions-initiated", "Sessions: initiated by peers", ss->initiated);
      add_counter (out, "sessions-placed", "Sessions: placed", ss->placed);
      add_counter (out, "sessions-accepted", "Sessions: accepted", ss->accepted);
      add_counter (out, "sessions-declined", "Sessions: declined", ss->declined);
      add_counter (out, "sessions-busy", "Sessions: refused busy", ss->busy);
      add_counter (out, "sessions-failed", "Sessions: failed", ss->failed);
      add_counter (out, "sessions-ended", "Sessions: ended", ss->ended);
    }
  add_counter (out, "draining", "Draining (1: yes)", relay->draining);
}
