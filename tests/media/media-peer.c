/* A helper for interop checks (not a test by itself): one BfMediaTransport
 * driven by text lines on stdin, reporting on stdout.  The main thread plays
 * the signalling thread; the transport lives on one media worker.
 *
 *   media-peer [--controlling] [--address IP] [--profiles GCM,AES_CM]
 *
 * out: credentials UFRAG PWD | fingerprint sha-256 FP | candidate FOUNDATION
 *      COMPONENT TYPE IP PORT PRIORITY | gathering-done | ice-connected |
 *      dtls-connected PROFILE | failed ice|dtls CODE MESSAGE | stats K=V...
 * in:  remote-credentials UFRAG PWD | remote-dtls SETUP HASH FP (SETUP is
 *      ours: active|passive) | candidate ... (as above) | end-of-candidates |
 *      echo SSRC (send received RTP back under SSRC, RTCP dropped) | stats |
 *      quit
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <gio/gio.h>

#include "dtls-cert.h"
#include "media-config.h"
#include "transport.h"
#include "worker.h"

typedef struct {
  BfMediaWorker *worker;
  BfMediaTransport *t;
  BfMediaCert *cert;
  BfMediaConfig config;
  gboolean controlling;
  guint32 echo_ssrc;      /* 0: off (worker only) */
  GMainLoop *loop;
} Peer;

static void
say (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  vprintf (format, ap);
  va_end (ap);
  putchar ('\n');
  fflush (stdout);
}

static gboolean
print_line (gpointer data)
{
  say ("%s", (const char *) data);
  return G_SOURCE_REMOVE;
}

/* From the worker: hand a line to the main thread. */
static void
post_line (char *line)
{
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, print_line, line, g_free);
}

static void
on_event (BfMediaTransport *t, const BfMediaEvent *ev, gpointer user_data)
{
  switch (ev->type)
    {
    case BF_MEDIA_EVENT_LOCAL_CANDIDATE:
      post_line (g_strdup_printf ("candidate %s %u %s %s %u %u", ev->candidate->foundation,
                                  ev->candidate->component,
                                  bf_jingle_candidate_type_to_string (ev->candidate->type),
                                  ev->candidate->ip, ev->candidate->port,
                                  ev->candidate->priority));
      break;
    case BF_MEDIA_EVENT_GATHERING_DONE:
      post_line (g_strdup ("gathering-done"));
      break;
    case BF_MEDIA_EVENT_ICE_CONNECTED:
      post_line (g_strdup ("ice-connected"));
      break;
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
      post_line (g_strdup_printf ("dtls-connected %s", bf_media_srtp_profile_name (ev->profile)));
      break;
    case BF_MEDIA_EVENT_ICE_FAILED:
    case BF_MEDIA_EVENT_DTLS_FAILED:
      post_line (g_strdup_printf ("failed %s %d %s",
                                  ev->type == BF_MEDIA_EVENT_ICE_FAILED ? "ice" : "dtls",
                                  ev->error->code, ev->error->message));
      break;
    }
}

static void
on_rtp (BfMediaTransport *t, gboolean is_rtcp, guint8 *data, gsize len, gpointer user_data)
{
  Peer *p = user_data;
  if (is_rtcp || p->echo_ssrc == 0)
    return;
  /* Back to the sender under our own SSRC (a peer decodes nothing it
   * thinks it sent itself). */
  data[8] = p->echo_ssrc >> 24;
  data[9] = p->echo_ssrc >> 16;
  data[10] = p->echo_ssrc >> 8;
  data[11] = p->echo_ssrc;
  bf_media_transport_send_rtp (t, data, len);
}

typedef struct {
  Peer *peer;
  char **argv;
} Command;

static void
command_free (gpointer data)
{
  Command *c = data;
  g_strfreev (c->argv);
  g_free (c);
}

static gboolean
parse_candidate (char **a, BfJingleCandidate *c)
{
  bf_jingle_candidate_init (c);
  if (g_strv_length (a) < 7 || !bf_jingle_candidate_type_from_string (a[3], &c->type))
    return FALSE;
  g_strlcpy (c->foundation, a[1], sizeof c->foundation);
  c->component = (guint) g_ascii_strtoull (a[2], NULL, 10);
  g_strlcpy (c->ip, a[4], sizeof c->ip);
  c->port = (guint16) g_ascii_strtoull (a[5], NULL, 10);
  c->priority = (guint32) g_ascii_strtoull (a[6], NULL, 10);
  return TRUE;
}

static void
run_command (gpointer data)
{
  Command *c = data;
  Peer *p = c->peer;
  char **a = c->argv;
  guint n = g_strv_length (a);
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;

  if (n == 0 || p->t == NULL)
    return;
  if (strcmp (a[0], "remote-credentials") == 0 && n == 3)
    ok = bf_media_transport_set_remote_credentials (p->t, a[1], a[2], &error);
  else if (strcmp (a[0], "remote-dtls") == 0 && n == 4)
    {
      BfMediaDtlsSetup setup = strcmp (a[1], "active") == 0 ? BF_MEDIA_DTLS_SETUP_ACTIVE
                               : strcmp (a[1], "passive") == 0 ? BF_MEDIA_DTLS_SETUP_PASSIVE
                               : BF_MEDIA_DTLS_SETUP_UNKNOWN;
      ok = bf_media_transport_set_dtls (p->t, setup, a[2], a[3], &error);
    }
  else if (strcmp (a[0], "candidate") == 0)
    {
      BfJingleCandidate cand;
      if (!parse_candidate (a, &cand))
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad candidate line");
      ok = error == NULL && bf_media_transport_add_remote_candidate (p->t, &cand, &error);
    }
  else if (strcmp (a[0], "end-of-candidates") == 0)
    bf_media_transport_remote_gathering_done (p->t);
  else if (strcmp (a[0], "echo") == 0 && n == 2)
    p->echo_ssrc = (guint32) g_ascii_strtoull (a[1], NULL, 0);
  else if (strcmp (a[0], "stats") == 0)
    {
      BfMediaCounters k;
      bf_media_transport_get_counters (p->t, &k);
      post_line (g_strdup_printf (
          "stats packets_in=%" G_GUINT64_FORMAT " packets_out=%" G_GUINT64_FORMAT
          " rtp_in=%" G_GUINT64_FORMAT " rtcp_in=%" G_GUINT64_FORMAT " rtp_out=%" G_GUINT64_FORMAT
          " rtcp_out=%" G_GUINT64_FORMAT " dtls_in=%" G_GUINT64_FORMAT " dtls_out=%" G_GUINT64_FORMAT
          " dropped_demux=%" G_GUINT64_FORMAT " dropped_unprotect=%" G_GUINT64_FORMAT
          " dropped_not_ready=%" G_GUINT64_FORMAT " dropped_dtls=%" G_GUINT64_FORMAT
          " srtp_errors=%" G_GUINT64_FORMAT " send_errors=%" G_GUINT64_FORMAT,
          k.packets_in, k.packets_out, k.rtp_in, k.rtcp_in, k.rtp_out, k.rtcp_out, k.dtls_in,
          k.dtls_out, k.dropped_demux, k.dropped_unprotect, k.dropped_not_ready, k.dropped_dtls,
          k.srtp_errors, k.send_errors));
    }
  else
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown command %s", a[0]);
  if (!ok || error)
    post_line (g_strdup_printf ("error %s", error ? error->message : "refused"));
}

static void
create (gpointer data)
{
  Peer *p = data;
  g_autoptr (GError) error = NULL;
  p->t = bf_media_transport_new (p->worker, &p->config, p->cert, p->controlling, on_event, on_rtp,
                                 p, &error);
  if (p->t == NULL)
    {
      post_line (g_strdup_printf ("error %s", error->message));
      return;
    }
  char *ufrag, *pwd;
  bf_media_transport_get_local_credentials (p->t, &ufrag, &pwd);
  post_line (g_strdup_printf ("credentials %s %s", ufrag, pwd));
  post_line (g_strdup_printf ("fingerprint %s %s", bf_media_cert_get_fingerprint_hash (p->cert),
                              bf_media_cert_get_fingerprint (p->cert)));
  g_free (ufrag);
  g_free (pwd);
  if (!bf_media_transport_gather (p->t, &error))
    post_line (g_strdup_printf ("error %s", error->message));
}

static void
destroy (gpointer data)
{
  Peer *p = data;
  bf_media_transport_free (p->t);
  p->t = NULL;
}

static gboolean
on_stdin (GIOChannel *ch, GIOCondition cond, gpointer data)
{
  Peer *p = data;
  g_autofree char *line = NULL;
  gsize len;
  GIOStatus st = g_io_channel_read_line (ch, &line, &len, NULL, NULL);
  if (st == G_IO_STATUS_AGAIN)
    return G_SOURCE_CONTINUE;
  if (st != G_IO_STATUS_NORMAL || (line && g_str_has_prefix (line, "quit")))
    {
      g_main_loop_quit (p->loop);
      return G_SOURCE_REMOVE;
    }
  g_strstrip (line);
  Command *c = g_new0 (Command, 1);
  c->peer = p;
  c->argv = g_strsplit_set (line, " ", -1);
  bf_media_worker_invoke (p->worker, run_command, c, command_free);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  gboolean controlling = FALSE;
  char *address = NULL, *profiles = NULL;
  GOptionEntry entries[] = {
    { "controlling", 0, 0, G_OPTION_ARG_NONE, &controlling, "ICE controlling", NULL },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "gather on (127.0.0.1)", "IP" },
    { "profiles", 0, 0, G_OPTION_ARG_STRING, &profiles, "SRTP profiles (GCM,AES_CM)", "LIST" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) oc = g_option_context_new ("- belfry media transport peer");
  g_option_context_add_main_entries (oc, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (oc, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  Peer p = { .controlling = controlling };
  bf_media_config_init (&p.config);
  g_strfreev (p.config.addresses);
  p.config.addresses = g_strsplit (address ? address : "127.0.0.1", ",", -1);
  if (profiles)
    {
      g_auto (GStrv) names = g_strsplit (profiles, ",", -1);
      p.config.n_srtp_profiles = 0;
      for (guint i = 0; names[i] && p.config.n_srtp_profiles < BF_MEDIA_SRTP_MAX_PROFILES; i++)
        p.config.srtp_profiles[p.config.n_srtp_profiles++] =
            g_ascii_strcasecmp (names[i], "GCM") == 0 ? BF_MEDIA_SRTP_AEAD_AES_128_GCM
                                                      : BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
    }
  p.cert = bf_media_cert_new (0, &error);
  p.worker = bf_media_worker_new ("bf-media-peer", &error);
  g_assert_no_error (error);
  bf_media_worker_acquire (p.worker);
  p.loop = g_main_loop_new (NULL, FALSE);

  GIOChannel *in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &p);
  bf_media_worker_invoke (p.worker, create, &p, NULL);
  g_main_loop_run (p.loop);

  bf_media_worker_invoke (p.worker, destroy, &p, NULL);
  bf_media_worker_release (p.worker);
  bf_media_worker_free (p.worker);       /* runs destroy first */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_io_channel_unref (in);
  g_main_loop_unref (p.loop);
  bf_media_cert_unref (p.cert);
  bf_media_config_clear (&p.config);
  g_free (address);
  g_free (profiles);
  return 0;
}
