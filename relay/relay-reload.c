#define G_LOG_DOMAIN "belfry"
/* belfry — what SIGHUP changes live in the core's own groups (relay.h).
 * Each reader checks its whole group as at start (so a typo is caught at
 * the reload, not at the next restart) and applies what can change
 * without a restart, saying what changed. */
#include "build-config.h"

#include <string.h>

#include "log.h"
#include "relay.h"

static gboolean
reload_component (gpointer data, BfConfigGroup *group, gboolean apply, GPtrArray *changes,
                  GError **error)
{
  BfRelay *relay = data;
  gint64 timeout;
  g_autofree char *level = bf_config_get_string (group, "log-level", "info", error);
  if (level == NULL || !bf_config_get_int (group, "drain-timeout", 3600, 1, 7 * 24 * 3600,
                                           &timeout, error))
    return FALSE;   /* bf_config_load checked both: not reached */
  if (!apply)
    return TRUE;
  gboolean debug = relay->verbose || strcmp (level, "debug") == 0;
  if (debug != bf_log_get_debug ())
    g_ptr_array_add (changes, g_strdup_printf ("[component] log-level: %s → %s",
                                               debug ? "info" : "debug", debug ? "debug" : "info"));
  bf_log_set_debug (debug);
  if ((guint) timeout != relay->drain_timeout)
    g_ptr_array_add (changes, g_strdup_printf ("[component] drain-timeout: %u → %u s",
                                               relay->drain_timeout, (guint) timeout));
  relay->drain_timeout = (guint) timeout;
  return TRUE;
}

static gboolean
reload_admin (gpointer data, BfConfigGroup *group, gboolean apply, GPtrArray *changes,
              GError **error)
{
  BfRelay *relay = data;
  g_auto (GStrv) jids = NULL;
  if (!bf_admin_read_config (group, &jids, error) || !bf_config_group_check_unknown (group, error))
    return FALSE;
  if (!apply)
    return TRUE;
  guint before = bf_admin_count_jids (relay->admin), after = g_strv_length (jids);
  gboolean same = bf_admin_has_jids (relay->admin, (const char *const *) jids);
  bf_admin_set_jids (relay->admin, g_steal_pointer (&jids));
  /* The count is what the log shows of the change; JIDs are personal. */
  if (!same)
    g_ptr_array_add (changes, g_strdup_printf ("[admin] jids: %u → %u entr%s", before, after,
                                               after == 1 ? "y" : "ies"));
  return TRUE;
}

static gboolean
reload_media (gpointer data, BfConfigGroup *group, gboolean apply, GPtrArray *changes,
              GError **error)
{
  BfRelay *relay = data;
  /* The whole group is checked as at start, so a typo is caught now
   * rather than at the next restart; only max-sessions changes live. */
  BfMediaConfig check;
  bf_media_config_init (&check);
  gint64 max = 0;
  gboolean ok = bf_media_config_read (&check, group, error)
                && bf_config_get_int (group, "max-sessions", 1000, 1, 100000, &max, error)
                && bf_config_group_check_unknown (group, error);
  bf_media_config_clear (&check);
  if (!ok || !apply)
    return ok;
  if ((guint) max != relay->max_sessions)
    g_ptr_array_add (changes, g_strdup_printf ("[media] max-sessions: %u → %u",
                                               relay->max_sessions, (guint) max));
  relay->max_sessions = (guint) max;
  if (relay->sessions)
    bf_sessions_set_max (relay->sessions, relay->max_sessions);
  return TRUE;
}

/* [limits] max-sessions-per-jid (the rest of [limits] shapes the running
 * link's parser and queue: a restart). */
static gboolean
reload_limits (gpointer data, BfConfigGroup *group, gboolean apply, GPtrArray *changes,
               GError **error)
{
  BfRelay *relay = data;
  gint64 v;
  if (!bf_config_get_int (group, "max-sessions-per-jid", 8, 0, 100000, &v, error))
    return FALSE;
  if (!apply || (guint) v == relay->max_sessions_per_jid)
    return TRUE;
  g_ptr_array_add (changes, g_strdup_printf ("[limits] max-sessions-per-jid: %u → %u",
                                             relay->max_sessions_per_jid, (guint) v));
  relay->max_sessions_per_jid = (guint) v;
  if (relay->sessions)
    bf_sessions_set_max_per_jid (relay->sessions, relay->max_sessions_per_jid);
  return TRUE;
}

/* [metrics] listen: a new address is bound at once; one that cannot be
 * (port in use) leaves the running listener serving, logged. */
static gboolean
reload_metrics (gpointer data, BfConfigGroup *group, gboolean apply, GPtrArray *changes,
                GError **error)
{
  BfRelay *relay = data;
  g_autofree char *listen = NULL;
  gboolean ok = bf_metrics_read_group (group, &listen, error);
  if (!ok || !apply)
    return ok;
  if (g_strcmp0 (listen, relay->metrics_listen) == 0)
    return TRUE;
  g_autoptr (GError) local = NULL;
  if (relay->metrics && !bf_metrics_http_restart (relay->metrics, listen, &local))
    {
      g_warning ("reload: [metrics] listen: %s; still serving on %s", local->message,
                 relay->metrics_listen ? relay->metrics_listen : "(off)");
      return TRUE;
    }
  g_ptr_array_add (changes, g_strdup_printf ("[metrics] listen: %s → %s",
                                             relay->metrics_listen ? relay->metrics_listen : "off",
                                             listen ? listen : "off"));
  g_free (relay->metrics_listen);
  relay->metrics_listen = g_steal_pointer (&listen);
  return TRUE;
}

void
bf_relay_register_reloads (BfRelay *relay)
{
  static const char *const component_keys[] = { "log-level", "drain-timeout", NULL };
  static const char *const admin_keys[] = { "jids", NULL };
  static const char *const media_keys[] = { "max-sessions", NULL };
  static const char *const limits_keys[] = { "max-sessions-per-jid", NULL };
  static const char *const metrics_keys[] = { "listen", NULL };
  bf_reload_register (relay->reload, "component", component_keys, reload_component, relay);
  bf_reload_register (relay->reload, "admin", admin_keys, reload_admin, relay);
  bf_reload_register (relay->reload, "media", media_keys, reload_media, relay);
  bf_reload_register (relay->reload, "limits", limits_keys, reload_limits, relay);
  bf_reload_register (relay->reload, "metrics", metrics_keys, reload_metrics, relay);
}
