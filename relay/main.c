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

#include "core-metrics.h"
#include "fd-limit.h"
#include "log.h"
#include "relay.h"
#include "srtp-session.h"

enum { EXIT_OK = 0, EXIT_FATAL = 1, EXIT_CONFIG = 2 };

#define SHUTDOWN_GRACE_MS 2000

static void
on_link_stanza (gpointer data, const BfStanza *stanza)
{
  BfRelay *relay = data;
  if (relay->siblings && bf_siblings_handle_stanza (relay->siblings, stanza))
    return;
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

/* What is sent from the node-jid or the rooms' domain leaves on that
 * domain's own link (the server may accept it on either when all are
 * hosts of one listener, but need not when they are not); everything else
 * on the domain's. */
static gboolean
send_to_link (gpointer data, const BfStanza *stanza)
{
  BfRelay *relay = data;
  BfLink *link = relay->link;
  g_autofree char *domain = NULL;
  const char *from = bf_stanza_get_attr (stanza, "from");
  if ((relay->node_link || relay->rooms_link) && from
      && bf_jid_split (from, NULL, &domain, NULL))
    {
      if (relay->node_link && g_ascii_strcasecmp (domain, relay->config->node_jid) == 0)
        link = relay->node_link;
      else if (relay->rooms_link && g_ascii_strcasecmp (domain, relay->config->rooms_jid) == 0)
        link = relay->rooms_link;
    }
  return link != NULL && bf_link_send (link, stanza);
}

/* With siblings, the shared domain's connection (and the rooms') waits
 * this long after the node-jid's has attached: a sibling that took our
 * slots while we were gone sees our node-jid answer its next ping (within
 * a second) and closes its extra connections, so the slots are free when
 * ours arrive (ejabberd gives a connection a slot only at its
 * registration). */
#define SIBLINGS_SETTLE_MS 2500

static gboolean
start_shared_link (gpointer data)
{
  BfRelay *relay = data;
  relay->link_delay = 0;
  bf_link_start (relay->link);
  if (relay->rooms_link)
    bf_link_start (relay->rooms_link);
  return G_SOURCE_REMOVE;
}

static void
on_node_link_attached (gpointer data, guint64 attaches)
{
  BfRelay *relay = data;
  if (attaches != 1 || relay->stopping)
    return;
  bf_siblings_start (relay->siblings);
  relay->link_delay = g_timeout_add (SIBLINGS_SETTLE_MS, start_shared_link, relay);
}

static gboolean
on_stopped (gpointer data)
{
  BfRelay *relay = data;
  g_main_loop_quit (relay->loop);
  return G_SOURCE_REMOVE;
}

/* Each link's shutdown is done: quit once both have closed their streams. */
static gboolean
on_link_stopped (gpointer data)
{
  BfRelay *relay = data;
  if (relay->links_closing > 0 && --relay->links_closing == 0)
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
  /* The slots we hold for gone siblings: closed with the process. */
  g_clear_pointer (&relay->siblings, bf_siblings_free);
  g_clear_handle_id (&relay->link_delay, g_source_remove);
  relay->links_closing = 1 + (relay->node_link != NULL) + (relay->rooms_link != NULL);
  bf_link_shutdown (relay->link, on_link_stopped, relay);
  if (relay->node_link)
    bf_link_shutdown (relay->node_link, on_link_stopped, relay);
  if (relay->rooms_link)
    bf_link_shutdown (relay->rooms_link, on_link_stopped, relay);
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
    /* Not g_timeout_add_seconds: GLib rounds its expiry to a per-process
     * mark within the second, up to 250 ms early, and the sessions must
     * not be ended before the drain-timeout an operator set. */
    relay->drain_timer = g_timeout_add ((guint) relay->drain_timeout * 1000, on_drain_timeout,
                                        relay);
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

static gboolean
read_admin_config (BfRelay *relay, GError **error)
{
  g_autoptr (BfConfigGroup) group = bf_config_group_new (relay->config, "admin");
  return bf_admin_read_config (group, &relay->admin_jids, error)
         && bf_config_group_check_unknown (group, error);
}

/* [media]: the transport settings and max-sessions; checked even when no
 * loaded module takes calls, so a typo never waits for the first call. */
static gboolean
read_media_config (BfRelay *relay, GError **error)
{
  g_autoptr (BfConfigGroup) group = bf_config_group_new (relay->config, "media");
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
  bf_sessions_set_node_domain (relay->sessions, relay->config->node_jid);
  bf_sessions_set_rooms_domain (relay->sessions, relay->config->rooms_jid);
  bf_router_set_session_hook (relay->router, bf_sessions_handle_stanza, relay->sessions);
  bf_admin_set_sessions (relay->admin, relay->sessions);
  bf_modules_set_sessions (relay->modules, relay->sessions);
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
  if (relay->modules)
    bf_modules_set_sessions (relay->modules, NULL);
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
  g_clear_pointer (&relay->siblings, bf_siblings_free);
  g_clear_handle_id (&relay->link_delay, g_source_remove);
  g_clear_pointer (&relay->link, bf_link_free);
  g_clear_pointer (&relay->node_link, bf_link_free);
  g_clear_pointer (&relay->rooms_link, bf_link_free);
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
  bf_router_set_node_domain (relay.router, relay.config->node_jid);
  bf_router_set_rooms_domain (relay.router, relay.config->rooms_jid);
  relay.verbose = verbose;
  relay.drain_timeout = relay.config->drain_timeout;
  relay.max_sessions_per_jid = relay.config->max_sessions_per_jid;
  if (relay.config->debug_log)
    bf_log_set_debug (TRUE);
  relay.admin = bf_admin_new (relay.config->jid, send_to_link, &relay);
  bf_admin_set_jids (relay.admin, g_steal_pointer (&relay.admin_jids));
  bf_admin_set_counters_func (relay.admin, bf_relay_collect_counters, &relay);
  bf_admin_set_drain_func (relay.admin, start_drain, &relay);
  bf_router_set_domain_iq_hook (relay.router, bf_admin_handle_iq, relay.admin);
  relay.reload = bf_reload_new (relay.config, relay.modules);
  bf_relay_register_reloads (&relay);
  relay.link = bf_link_new (relay.config, relay.config->jid, verbose, on_link_stanza, &relay);
  bf_link_set_dropped_func (relay.link, on_link_dropped, &relay);
  bf_link_set_attached_func (relay.link, on_link_attached, &relay);
  if (relay.config->node_jid)
    {
      /* This process's own sub-domain: what it places comes back here. */
      relay.node_link = bf_link_new (relay.config, relay.config->node_jid, verbose,
                                     on_link_stanza, &relay);
      bf_link_set_dropped_func (relay.node_link, on_link_dropped, &relay);
    }
  if (relay.config->rooms_jid)
    {
      /* The rooms' domain: every participant of a room reaches the one
       * process hosting it (ejabberd balances it by the room). */
      relay.rooms_link = bf_link_new (relay.config, relay.config->rooms_jid, verbose,
                                      on_link_stanza, &relay);
      bf_link_set_dropped_func (relay.rooms_link, on_link_dropped, &relay);
    }
  if (relay.config->siblings)
    {
      relay.siblings = bf_siblings_new (relay.config, verbose, send_to_link, &relay,
                                        on_link_stanza, on_link_dropped, &relay);
      bf_siblings_set_node_link (relay.siblings, relay.node_link);
      bf_link_set_attached_func (relay.node_link, on_node_link_attached, &relay);
    }
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
  bf_core_metrics_watch_links (relay.node_link, relay.rooms_link);
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
  if (relay.siblings == NULL)
    bf_link_start (relay.link);
  if (relay.node_link)
    bf_link_start (relay.node_link);
  if (relay.rooms_link && relay.siblings == NULL)
    bf_link_start (relay.rooms_link);
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
