#define G_LOG_DOMAIN "belfry"
/* belfry: the process.  Reads the configuration, loads the modules,
 * attaches to the XMPP server and runs until SIGTERM or SIGINT.
 *
 * Signals (README "Operating belfry"): SIGTERM/SIGINT stop (every session
 * first gets session-terminate <gone/>), SIGHUP reloads the configuration
 * (reload.h), SIGUSR1 drains: no new sessions, exit when the last one ends
 * or after [component] drain-timeout.
 *
 * Exit status: 0 after a signal-initiated stop or a drain, 2 for a
 * configuration error (nothing is started), 1 for any other fatal error. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "admin.h"
#include "config.h"
#include "core-metrics.h"
#include "fd-limit.h"
#include "link.h"
#include "log.h"
#include "metrics-http.h"
#include "modules.h"
#include "reload.h"
#include "router.h"
#include "sessions.h"
#include "dtls-cert.h"
#include "media-config.h"
#include "srtp-session.h"
#include "worker.h"

enum { EXIT_OK = 0, EXIT_FATAL = 1, EXIT_CONFIG = 2 };

#define SHUTDOWN_GRACE_MS 2000

/* The process's one owner of everything. */
typedef struct {
  BfConfig *config;
  BfModules *modules;
  BfRouter *router;
  BfLink *link;
  BfMediaConfig media;
  guint max_sessions;
  guint max_sessions_per_jid;  /* [limits]; 0: none */
  BfMediaCert *cert;
  BfMediaPool *pool;
  BfSessions *sessions;
  char *metrics_listen;        /* [metrics] listen; NULL: off */
  BfMetricsHttp *metrics;
  GMainLoop *loop;
  gboolean stopping;
  guint signal_ids[4];
  /* operator control */
  BfAdmin *admin;
  char **admin_jids;               /* read at start, until the admin takes them */
  BfReload *reload;
  gboolean verbose;                /* --verbose: debug stays on whatever the file says */
  guint drain_timeout;             /* seconds ([component] drain-timeout) */
  gboolean draining;
  guint drain_timer;
} BfRelay;

static void
on_link_stanza (gpointer data, const BfStanza *stanza)
{
  BfRelay *relay = data;
  bf_router_route (relay->router, stanza);
}

static void
on_link_dropped (gpointer data, const BfStanza *head, BfXmlDropReason reason)
{
  BfRelay *relay = data;
  bf_router_drop_over_limit (relay->router, head, bf_xml_drop_reason_to_string (reason));
}

/* After a reconnect (the server restarted): media never stopped, the held
 * stanzas are on their way; the modules re-announce what the server
 * forgot. */
static void
on_link_attached (gpointer data, guint64 attaches)
{
  BfRelay *relay = data;
  if (attaches < 2)
    return;
  guint sessions = relay->sessions ? bf_sessions_count (relay->sessions) : 0;
  guint presences = bf_modules_reannounce (relay->modules);
  g_message ("re-attached (handshake %" G_GUINT64_FORMAT "): %u session%s kept running, "
             "presence re-announced to %u contact%s", attaches, sessions,
             sessions == 1 ? "" : "s", presences, presences == 1 ? "" : "s");
}

static gboolean
send_to_link (gpointer data, const BfStanza *stanza)
{
  BfRelay *relay = data;
  return relay->link != NULL && bf_link_send (relay->link, stanza);
}

static gboolean
on_stopped (gpointer data)
{
  BfRelay *relay = data;
  g_main_loop_quit (relay->loop);
  return G_SOURCE_REMOVE;
}

/* Ends every session while the link can still carry the terminates, then
 * closes the link.  The manager itself lives on until relay_clear(): the
 * router still offers it what arrives meanwhile (new sessions get <busy/>). */
static void
stop (BfRelay *relay, const char *why)
{
  if (relay->stopping)
    return;
  relay->stopping = TRUE;
  g_clear_handle_id (&relay->drain_timer, g_source_remove);
  guint n = relay->sessions ? bf_sessions_count (relay->sessions) : 0;
  g_message ("stopping (%s): ending %u session%s", why, n, n == 1 ? "" : "s");
  if (relay->sessions)
    {
      bf_sessions_set_empty_func (relay->sessions, NULL, NULL);
      bf_sessions_set_draining (relay->sessions, TRUE);
      /* XEP-0166 <gone/>: the party is going away. */
      bf_sessions_end_all (relay->sessions, "gone", "the relay is stopping");
    }
  bf_link_shutdown (relay->link, on_stopped, relay);
  /* Whatever the server does, we are gone within the grace period. */
  g_timeout_add (SHUTDOWN_GRACE_MS, on_stopped, relay);
}

static gboolean
on_signal (gpointer data)
{
  BfRelay *relay = data;
  if (relay->stopping)
    {
      g_message ("second signal: stopping now");
      g_main_loop_quit (relay->loop);
      return G_SOURCE_CONTINUE;
    }
  stop (relay, "signal");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_drained (gpointer data)
{
  BfRelay *relay = data;
  if (relay->draining && !relay->stopping
      && (relay->sessions == NULL || bf_sessions_count (relay->sessions) == 0))
    {
      g_message ("drain: the last session ended");
      stop (relay, "drained");
    }
  return G_SOURCE_REMOVE;
}

static gboolean
on_drain_timeout (gpointer data)
{
  BfRelay *relay = data;
  relay->drain_timer = 0;
  g_message ("drain: drain-timeout (%u s) reached with %u session%s running", relay->drain_timeout,
             bf_sessions_count (relay->sessions),
             bf_sessions_count (relay->sessions) == 1 ? "" : "s");
  stop (relay, "drain-timeout");
  return G_SOURCE_REMOVE;
}

/* SIGUSR1 and the drain command: no new sessions; exit 0 once the last
 * running one ends, or after drain-timeout.  Returns the sessions left. */
static guint
start_drain (gpointer data)
{
  BfRelay *relay = data;
  guint n = relay->sessions ? bf_sessions_count (relay->sessions) : 0;
  if (relay->draining || relay->stopping)
    return n;
  relay->draining = TRUE;
  g_message ("drain: taking no new sessions; %u running; exiting when the last one ends "
             "(drain-timeout %u s)", n, relay->drain_timeout);
  if (relay->sessions)
    {
      bf_sessions_set_draining (relay->sessions, TRUE);
      bf_sessions_set_empty_func (relay->sessions, on_drained, relay);
    }
  if (n == 0)
    g_idle_add (on_drained, relay);
  else
    relay->drain_timer = g_timeout_add_seconds (relay->drain_timeout, on_drain_timeout, relay);
  return n;
}

static gboolean
on_drain_signal (gpointer data)
{
  start_drain (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload_signal (gpointer data)
{
  BfRelay *relay = data;
  if (!relay->stopping)
    bf_reload_run (relay->reload);
  return G_SOURCE_CONTINUE;
}

/* --- what SIGHUP changes live (reload.h) --- */

static gboolean
reload_component (gpointer data, BfModuleConfig *group, gboolean apply, GPtrArray *changes,
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
reload_admin (gpointer data, BfModuleConfig *group, gboolean apply, GPtrArray *changes,
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
reload_media (gpointer data, BfModuleConfig *group, gboolean apply, GPtrArray *changes,
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
reload_limits (gpointer data, BfModuleConfig *group, gboolean apply, GPtrArray *changes,
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
reload_metrics (gpointer data, BfModuleConfig *group, gboolean apply, GPtrArray *changes,
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

static void
add_counter (GPtrArray *out, const char *var, const char *label, guint64 value)
{
  g_ptr_array_add (out, g_strdup (var));
  g_ptr_array_add (out, g_strdup (label));
  g_ptr_array_add (out, g_strdup_printf ("%" G_GUINT64_FORMAT, value));
}

/* The show-counters command (admin.h). */
static void
collect_counters (gpointer data, GPtrArray *out)
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

static gboolean
read_admin_config (BfRelay *relay, GError **error)
{
  g_autoptr (BfModuleConfig) group = bf_config_group_new (relay->config, "admin");
  return bf_admin_read_config (group, &relay->admin_jids, error)
         && bf_config_group_check_unknown (group, error);
}

/* [media]: the transport settings and max-sessions; checked even when no
 * loaded module takes calls, so a typo never waits for the first call. */
static gboolean
read_media_config (BfRelay *relay, GError **error)
{
  g_autoptr (BfModuleConfig) group = bf_config_group_new (relay->config, "media");
  gint64 max = 0;
  if (!bf_media_config_read (&relay->media, group, error)
      || !bf_config_get_int (group, "max-sessions", 1000, 1, 100000, &max, error)
      || !bf_config_group_check_unknown (group, error))
    return FALSE;
  relay->max_sessions = (guint) max;
  return TRUE;
}

static gboolean
takes_sessions (BfModules *modules)
{
  for (guint i = 0; i < bf_modules_count (modules); i++)
    if (bf_module_get_info_struct (bf_modules_nth (modules, i))->sessions)
      return TRUE;
  return FALSE;
}

static gboolean
start_media (BfRelay *relay, GError **error)
{
  if (!bf_media_srtp_library_init (error))
    return FALSE;
  bf_media_config_default_addresses (&relay->media);
  g_autofree char *addresses = g_strjoinv (", ", relay->media.addresses);
  if (relay->media.addresses[0] == NULL)
    g_warning ("[media] addresses: none configured and none found: calls will fail");
  relay->cert = bf_media_cert_new (365, error);
  if (relay->cert == NULL)
    return FALSE;
  relay->pool = bf_media_pool_new (relay->media.workers, error);
  if (relay->pool == NULL)
    return FALSE;
  relay->sessions = bf_sessions_new (relay->config->jid, send_to_link, relay,
                                     relay->pool, relay->cert, &relay->media,
                                     relay->max_sessions);
  bf_sessions_set_max_per_jid (relay->sessions, relay->max_sessions_per_jid);
  bf_router_set_session_hook (relay->router, bf_sessions_handle_stanza, relay->sessions);
  bf_admin_set_sessions (relay->admin, relay->sessions);
  g_message ("media: %u worker%s, ICE on %s, DTLS fingerprint %s %s",
             bf_media_pool_get_size (relay->pool),
             bf_media_pool_get_size (relay->pool) == 1 ? "" : "s", addresses,
             bf_media_cert_get_fingerprint_hash (relay->cert),
             bf_media_cert_get_fingerprint (relay->cert));
  return TRUE;
}

static void
relay_clear (BfRelay *relay)
{
  for (guint i = 0; i < G_N_ELEMENTS (relay->signal_ids); i++)
    if (relay->signal_ids[i])
      g_source_remove (relay->signal_ids[i]);
  bf_core_metrics_unwatch ();
  g_clear_pointer (&relay->metrics, bf_metrics_http_free);
  g_clear_pointer (&relay->metrics_listen, g_free);
  g_clear_handle_id (&relay->drain_timer, g_source_remove);
  if (relay->admin)
    bf_admin_set_sessions (relay->admin, NULL);
  if (relay->router)
    bf_router_set_session_hook (relay->router, NULL, NULL);
  /* Sessions, then modules: their shutdown may still send through the link. */
  g_clear_pointer (&relay->sessions, bf_sessions_free);
  g_clear_pointer (&relay->reload, bf_reload_free);
  g_clear_pointer (&relay->admin, bf_admin_free);
  g_clear_pointer (&relay->admin_jids, g_strfreev);
  g_clear_pointer (&relay->pool, bf_media_pool_free);
  g_clear_pointer (&relay->cert, bf_media_cert_unref);
  bf_media_config_clear (&relay->media);
  g_clear_pointer (&relay->modules, bf_modules_free);
  g_clear_pointer (&relay->router, bf_router_free);
  g_clear_pointer (&relay->link, bf_link_free);
  g_clear_pointer (&relay->config, bf_config_free);
  g_clear_pointer (&relay->loop, g_main_loop_unref);
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean check_only = FALSE, show_version = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file", "FILE" },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &check_only,
      "Check the configuration (and load the modules), print any problem and exit", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &show_version, "Print the version and exit", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Debug logging, with every stanza", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- Jingle media relay for XMPP servers");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "belfry: %s (try --help)\n", error->message);
      return EXIT_CONFIG;
    }
  if (show_version)
    {
      printf ("belfry %s\n", BF_VERSION);
      return EXIT_OK;
    }
  if (config_path == NULL)
    {
      fprintf (stderr, "belfry: no configuration file: use --config FILE\n");
      return EXIT_CONFIG;
    }

  bf_log_init (verbose);
  BfRelay relay = { 0 };
  bf_media_config_init (&relay.media);
  relay.config = bf_config_load (config_path, &error);
  if (relay.config == NULL)
    {
      fprintf (stderr, "belfry: configuration error: %s\n", error->message);
      relay_clear (&relay);
      return EXIT_CONFIG;
    }
  /* Every part that sends is built with the link's send function (send.h);
   * it sends nothing before the link exists (send_to_link). */
  relay.modules = bf_modules_new (relay.config, send_to_link, &relay);
  if (!bf_modules_load_all (relay.modules, &error))
    {
      fprintf (stderr, "belfry: configuration error: %s\n", error->message);
      relay_clear (&relay);
      return EXIT_CONFIG;
    }
  if (!read_media_config (&relay, &error) || !read_admin_config (&relay, &error)
      || !bf_metrics_read_config (relay.config, &relay.metrics_listen, &error))
    {
      fprintf (stderr, "belfry: configuration error: %s\n", error->message);
      relay_clear (&relay);
      return EXIT_CONFIG;
    }
  if (check_only)
    {
      printf ("%s: OK (component %s, %u module%s)\n", config_path, relay.config->jid,
              bf_modules_count (relay.modules), bf_modules_count (relay.modules) == 1 ? "" : "s");
      relay_clear (&relay);
      return EXIT_OK;
    }

  g_message ("belfry %s starting as %s", BF_VERSION, relay.config->jid);
  bf_raise_fd_limit ();
  relay.loop = g_main_loop_new (NULL, FALSE);
  bf_core_metrics_init ();   /* its families first in a scrape, the workers' after */
  relay.router = bf_router_new (relay.config->jid, relay.modules, send_to_link, &relay);
  relay.verbose = verbose;
  relay.drain_timeout = relay.config->drain_timeout;
  relay.max_sessions_per_jid = relay.config->max_sessions_per_jid;
  if (relay.config->debug_log)
    bf_log_set_debug (TRUE);
  relay.admin = bf_admin_new (relay.config->jid, send_to_link, &relay);
  bf_admin_set_jids (relay.admin, g_steal_pointer (&relay.admin_jids));
  bf_admin_set_counters_func (relay.admin, collect_counters, &relay);
  bf_admin_set_drain_func (relay.admin, start_drain, &relay);
  bf_router_set_domain_iq_hook (relay.router, bf_admin_handle_iq, relay.admin);
  relay.reload = bf_reload_new (relay.config, relay.modules);
  static const char *const component_keys[] = { "log-level", "drain-timeout", NULL };
  static const char *const admin_keys[] = { "jids", NULL };
  static const char *const media_keys[] = { "max-sessions", NULL };
  bf_reload_register (relay.reload, "component", component_keys, reload_component, &relay);
  bf_reload_register (relay.reload, "admin", admin_keys, reload_admin, &relay);
  bf_reload_register (relay.reload, "media", media_keys, reload_media, &relay);
  static const char *const limits_keys[] = { "max-sessions-per-jid", NULL };
  bf_reload_register (relay.reload, "limits", limits_keys, reload_limits, &relay);
  static const char *const metrics_keys[] = { "listen", NULL };
  bf_reload_register (relay.reload, "metrics", metrics_keys, reload_metrics, &relay);
  relay.link = bf_link_new (relay.config, verbose, on_link_stanza, &relay);
  bf_link_set_dropped_func (relay.link, on_link_dropped, &relay);
  bf_link_set_attached_func (relay.link, on_link_attached, &relay);
  if (takes_sessions (relay.modules) && !start_media (&relay, &error))
    {
      g_critical ("cannot start the media side: %s", error->message);
      relay_clear (&relay);
      return EXIT_FATAL;
    }
  if (!bf_modules_start (relay.modules, &error))
    {
      g_critical ("%s", error->message);
      relay_clear (&relay);
      return EXIT_FATAL;
    }
  bf_core_metrics_watch (relay.link, relay.router, relay.pool);
  relay.metrics = bf_metrics_http_new (bf_metrics_get_default ());
  if (relay.metrics_listen && !bf_metrics_http_restart (relay.metrics, relay.metrics_listen, &error))
    {
      g_critical ("cannot serve metrics: %s", error->message);
      relay_clear (&relay);
      return EXIT_FATAL;
    }
  relay.signal_ids[0] = g_unix_signal_add (SIGTERM, on_signal, &relay);
  relay.signal_ids[1] = g_unix_signal_add (SIGINT, on_signal, &relay);
  relay.signal_ids[2] = g_unix_signal_add (SIGHUP, on_reload_signal, &relay);
  relay.signal_ids[3] = g_unix_signal_add (SIGUSR1, on_drain_signal, &relay);
  bf_link_start (relay.link);
  g_main_loop_run (relay.loop);

  const BfLinkStats *ls = bf_link_get_stats (relay.link);
  const BfRouterStats *rs = bf_router_get_stats (relay.router);
  g_message ("stopped: %" G_GUINT64_FORMAT " connection attempts, %" G_GUINT64_FORMAT
             " handshakes, %" G_GUINT64_FORMAT " stanzas in, %" G_GUINT64_FORMAT
             " out, %" G_GUINT64_FORMAT " dropped on the way out (%" G_GUINT64_FORMAT
             " held while detached, %" G_GUINT64_FORMAT " of them dropped), %" G_GUINT64_FORMAT
             " stream errors sent; router: %" G_GUINT64_FORMAT " to modules, %" G_GUINT64_FORMAT
             " answered, %" G_GUINT64_FORMAT " ignored",
             ls->connects, ls->attaches, ls->stanzas_in, ls->stanzas_out, ls->dropped_out,
             ls->held, ls->held_dropped, ls->stream_errors, rs->to_modules, rs->answered, rs->dropped);
  g_message ("stanzas dropped: %" G_GUINT64_FORMAT " over a limit (stream kept), %"
             G_GUINT64_FORMAT " with a missing or malformed address",
             rs->dropped_over_limit, rs->dropped_bad_address);
  relay_clear (&relay);
  return EXIT_OK;
}
