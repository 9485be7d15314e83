#define G_LOG_DOMAIN "belfry"
/* belfry: the process.  Reads the configuration, loads the modules,
 * attaches to the XMPP server and runs until SIGTERM or SIGINT.
 *
 * Exit status: 0 after a signal-initiated stop, 2 for a configuration
 * error (nothing is started), 1 for any other fatal error. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>

#include "config.h"
#include "link.h"
#include "log.h"
#include "modules.h"
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
  BfMediaCert *cert;
  BfMediaPool *pool;
  BfSessions *sessions;
  GMainLoop *loop;
  gboolean stopping;
  guint signal_ids[2];
} BfRelay;

static void
on_link_stanza (gpointer data, const BfStanza *stanza)
{
  BfRelay *relay = data;
  bf_router_route (relay->router, stanza);
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
  relay->stopping = TRUE;
  g_message ("stopping");
  /* Calls end with a session-terminate while the link can still carry it. */
  g_clear_pointer (&relay->sessions, bf_sessions_free);
  bf_link_shutdown (relay->link, on_stopped, relay);
  /* Whatever the server does, we are gone within the grace period. */
  g_timeout_add (SHUTDOWN_GRACE_MS, on_stopped, relay);
  return G_SOURCE_CONTINUE;
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
  relay->sessions = bf_sessions_new (relay->config->jid, relay->modules, relay->pool,
                                     relay->cert, &relay->media, relay->max_sessions);
  bf_router_set_session_hook (relay->router, bf_sessions_handle_stanza, relay->sessions);
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
  /* Sessions, then modules: their shutdown may still send through the link. */
  g_clear_pointer (&relay->sessions, bf_sessions_free);
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
  relay.modules = bf_modules_new (relay.config);
  if (!bf_modules_load_all (relay.modules, &error))
    {
      fprintf (stderr, "belfry: configuration error: %s\n", error->message);
      relay_clear (&relay);
      return EXIT_CONFIG;
    }
  if (!read_media_config (&relay, &error))
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
  relay.loop = g_main_loop_new (NULL, FALSE);
  relay.router = bf_router_new (relay.config->jid, relay.modules);
  relay.link = bf_link_new (relay.config, verbose, on_link_stanza, &relay);
  bf_link_set_attached_func (relay.link, on_link_attached, &relay);
  bf_modules_set_send_func (relay.modules, send_to_link, &relay);
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
  relay.signal_ids[0] = g_unix_signal_add (SIGTERM, on_signal, &relay);
  relay.signal_ids[1] = g_unix_signal_add (SIGINT, on_signal, &relay);
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
  relay_clear (&relay);
  return EXIT_OK;
}
