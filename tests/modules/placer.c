/* placer — a test module for the integration tests (tests/integration/
 * test_module_api.py): it uses each module API 5 call of session.h on
 * command and reports what it got, so that a test can check both the
 * stanzas a peer receives and what the module sees.  Built from
 * include/belfry/ alone, as a module outside the tree would be.
 *
 * Serves placer@<domain>.  Commands come as chat message bodies; every
 * report goes back to whoever sent the last command:
 *
 *   place <jid> <how>   bf_session_place_offer from placer@<domain>/room:
 *                       audio (opus 111, PCMU 0, audio-level id 1, source
 *                       11111) and video (VP8 96 with nack pli, source
 *                       22222); <how>: plain, coin (a XEP-0298/RFC 4575
 *                       <conference-info/> naming the commander), pinned
 *                       (on the room's worker), and the refusals empty,
 *                       nsextra, bigextra, manyextra, badlocal, badworker.
 *                       Reports "placed <sid>" or "refused <how>: <why>".
 *   add <sid> <name> [bad]   bf_session_add_content: audio PCMU 0 with
 *                       source 33333 (bad: no codec).
 *   setworker <sid>     bf_session_set_worker outside offer().
 *   media <sid>         bf_session_get_peer_media.
 *   end <sid>           bf_session_terminate.
 *
 * Calls to placer@<domain> are answered with the offer's own contents and
 * a source of ours each; the first one's worker is the "room", and each
 * later call is pinned to it from offer() (bf_session_set_worker).  A
 * content the peer adds is accepted with a module-built answer
 * (bf_session_accept_content) when its name starts with "take", else
 * rejected; refusals of bad answers are tried first and reported.  A
 * description-info is reported with each content's width and height
 * parameters, as the peer wrote them (API 5).
 *
 * Threads: everything here runs on the main thread (no media() work). */
#define G_LOG_DOMAIN "belfry-placer"

#include <string.h>

#include <belfry/module.h>
#include <belfry/worker.h>

#define NS_CONFERENCE_INFO "urn:ietf:params:xml:ns:conference-info"

typedef struct {
  BfModule *module;
  char *controller;     /* full JID of the last commander */
  BfWorker *room;       /* the first incoming session's worker */
  GHashTable *sessions; /* sid -> BfSession* (until its ended()) */
} Placer;

static Placer *
placer (BfModule *module)
{
  return bf_module_get_data (module);
}

static void
report (BfModule *module, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
report (BfModule *module, const char *fmt, ...)
{
  Placer *p = placer (module);
  if (p->controller == NULL)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *text = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autoptr (BfStanza) m = bf_stanza_new ("message", NULL);
  g_autofree char *from = g_strconcat ("placer@", bf_module_get_domain (module), NULL);
  bf_stanza_set_attr (m, "from", from);
  bf_stanza_set_attr (m, "to", p->controller);
  bf_stanza_set_attr (m, "type", "chat");
  bf_stanza_add_text_child (m, "body", NULL, text);
  bf_module_send (module, m);
}

/* "name/kind/senders codecs=111:opus,0:PCMU ssrcs=1,2; ..." */
static char *
summary (const BfSessionMedia *m)
{
  if (m == NULL)
    return g_strdup ("none");
  GString *s = g_string_new (NULL);
  for (guint c = 0; c < bf_session_media_get_n_contents (m); c++)
    {
      g_string_append_printf (s, "%s%s/%s/%d codecs=", c ? "; " : "",
                              bf_session_media_get_content_name (m, c),
                              bf_session_media_get_content_kind (m, c),
                              (int) bf_session_media_get_content_senders (m, c));
      for (guint i = 0; i < bf_session_media_get_n_codecs (m, c); i++)
        {
          BfSessionCodec codec;
          bf_session_media_get_codec (m, c, i, &codec);
          g_string_append_printf (s, "%s%u:%s", i ? "," : "", codec.id,
                                  codec.name ? codec.name : "");
        }
      g_string_append (s, " ssrcs=");
      for (guint i = 0; i < bf_session_media_get_n_sources (m, c); i++)
        g_string_append_printf (s, "%s%u", i ? "," : "", bf_session_media_get_source (m, c, i));
    }
  return g_string_free (s, FALSE);
}

/* --- placing --- */

static BfSessionMedia *
build_offer (void)
{
  BfSessionMedia *m = bf_session_media_new ();
  guint a = bf_session_media_add_content (m, "audio", "audio", BF_SESSION_SENDERS_BOTH);
  const BfSessionCodec opus = { 111, "opus", 48000, 2 }, pcmu = { 0, "PCMU", 8000, 1 };
  bf_session_media_add_codec (m, a, &opus);
  bf_session_media_add_codec_parameter (m, a, 111, "useinbandfec", "1");
  bf_session_media_add_codec (m, a, &pcmu);
  bf_session_media_add_header_extension (m, a, 1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  bf_session_media_add_source (m, a, 11111, "placer-cname", "placer-stream placer-audio");
  guint v = bf_session_media_add_content (m, "video", "video", BF_SESSION_SENDERS_INITIATOR);
  const BfSessionCodec vp8 = { 96, "VP8", 90000, 1 };
  bf_session_media_add_codec (m, v, &vp8);
  bf_session_media_add_codec_feedback (m, v, 96, "nack", "pli");
  bf_session_media_add_source (m, v, 22222, "placer-cname", NULL);
  return m;
}

static void
cmd_place (BfModule *module, const char *peer, const char *how)
{
  Placer *p = placer (module);
  g_autoptr (BfSessionMedia) offer = g_str_equal (how, "empty") ? bf_session_media_new ()
                                                                 : build_offer ();
  g_autofree char *local = g_strconcat ("placer@",
                                        g_str_equal (how, "badlocal") ? "elsewhere.example"
                                                                      : bf_module_get_domain (module),
                                        "/room", NULL);
  BfWorker *worker = NULL;
  if (g_str_equal (how, "pinned"))
    worker = p->room;
  else if (g_str_equal (how, "badworker"))
    worker = (BfWorker *) p;   /* not a worker of the relay's */
  g_autoptr (GPtrArray) extra = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  if (g_str_equal (how, "coin") || g_str_equal (how, "manyextra"))
    {
      guint n = g_str_equal (how, "coin") ? 1 : 5;
      for (guint i = 0; i < n; i++)
        {
          BfStanza *info = bf_stanza_new ("conference-info", NS_CONFERENCE_INFO);
          bf_stanza_set_attr (info, "isfocus", "true");
          BfStanza *user = bf_stanza_add_child (info, "user", NULL);
          g_autofree char *entity = g_strconcat ("xmpp:", p->controller, NULL);
          bf_stanza_set_attr (user, "entity", entity);
          g_ptr_array_add (extra, info);
        }
    }
  else if (g_str_equal (how, "nsextra"))
    {
      /* A <reason/> smuggled in as an extra: Jingle's own namespace. */
      BfStanza *reason = bf_stanza_new ("reason", "urn:xmpp:jingle:1");
      bf_stanza_add_child (reason, "decline", NULL);
      g_ptr_array_add (extra, reason);
    }
  else if (g_str_equal (how, "bigextra"))
    {
      BfStanza *big = bf_stanza_new ("conference-info", NS_CONFERENCE_INFO);
      g_autofree char *text = g_strnfill (5000, 'x');
      bf_stanza_add_text_child (big, "display-text", NULL, text);
      g_ptr_array_add (extra, big);
    }
  g_ptr_array_add (extra, NULL);
  g_autoptr (GError) error = NULL;
  BfSession *s = bf_session_place_offer (module, local, peer, offer, worker,
                                         (BfStanza *const *) extra->pdata, &error);
  if (s == NULL)
    {
      report (module, "refused %s: %s", how, error->message);
      return;
    }
  g_hash_table_insert (p->sessions, g_strdup (bf_session_get_sid (s)), s);
  report (module, "placed %s same-worker=%d", bf_session_get_sid (s),
          p->room != NULL && bf_session_get_worker (s) == p->room);
}

static void
cmd_add (BfModule *module, BfSession *s, const char *name, gboolean bad)
{
  g_autoptr (BfSessionMedia) m = bf_session_media_new ();
  guint c = bf_session_media_add_content (m, name, "audio", BF_SESSION_SENDERS_BOTH);
  if (!bad)
    {
      const BfSessionCodec pcmu = { 0, "PCMU", 8000, 1 };
      bf_session_media_add_codec (m, c, &pcmu);
      bf_session_media_add_source (m, c, 33333, "placer-cname", NULL);
    }
  g_autoptr (GError) error = NULL;
  if (bf_session_add_content (s, m, c, &error))
    report (module, "added %s %s", bf_session_get_sid (s), name);
  else
    report (module, "refused add: %s", error->message);
}

static gboolean
placer_handle (BfModule *module, const BfStanza *stanza)
{
  Placer *p = placer (module);
  const char *body = bf_stanza_find_child_text (stanza, "body", NULL);
  if (!g_str_equal (bf_stanza_get_name (stanza), "message") || body == NULL)
    return FALSE;
  g_free (p->controller);
  p->controller = g_strdup (bf_stanza_get_attr (stanza, "from"));
  g_auto (GStrv) w = g_strsplit (body, " ", 4);
  guint n = g_strv_length (w);
  BfSession *s = n >= 2 ? g_hash_table_lookup (p->sessions, w[1]) : NULL;
  if (n == 3 && g_str_equal (w[0], "place"))
    cmd_place (module, w[1], w[2]);
  else if (s == NULL)
    report (module, "unknown command or session: %s", body);
  else if ((n == 3 || n == 4) && g_str_equal (w[0], "add"))
    cmd_add (module, s, w[2], n == 4 && g_str_equal (w[3], "bad"));
  else if (n == 2 && g_str_equal (w[0], "setworker"))
    {
      g_autoptr (GError) error = NULL;
      if (bf_session_set_worker (s, bf_session_get_worker (s), &error))
        report (module, "setworker ok");
      else
        report (module, "refused setworker: %s", error->message);
    }
  else if (n == 2 && g_str_equal (w[0], "media"))
    {
      g_autoptr (BfSessionMedia) m = bf_session_get_peer_media (s);
      g_autofree char *text = summary (m);
      report (module, "media %s %s", w[1], text);
    }
  else if (n == 2 && g_str_equal (w[0], "end"))
    bf_session_terminate (s, "success", NULL);
  else
    report (module, "unknown command: %s", body);
  return TRUE;
}

/* --- session hooks --- */

static BfSessionDecision
placer_offer (BfModule *module, BfSession *session)
{
  Placer *p = placer (module);
  const char *sid = bf_session_get_sid (session);
  g_autoptr (GError) error = NULL;
  BfWorker *before = bf_session_get_worker (session);
  if (g_str_has_prefix (sid, "asis"))
    {
      /* The core's own answer: the caller's media, no source of ours. */
      report (module, "offer %s as-offered", sid);
      g_hash_table_insert (p->sessions, g_strdup (sid), session);
      return BF_SESSION_ACCEPT;
    }
  if (p->room == NULL)
    {
      p->room = before;
      report (module, "offer %s room", sid);
    }
  else
    {
      /* Not a worker of the relay's: refused, nothing changed. */
      gboolean bad = bf_session_set_worker (session, (BfWorker *) p, &error);
      gboolean kept = bf_session_get_worker (session) == before;
      g_clear_error (&error);
      gboolean ok = bf_session_set_worker (session, p->room, &error);
      report (module, "offer %s pinned=%d before-same=%d after-same=%d badworker=%d,%d", sid,
              ok, before == p->room, bf_session_get_worker (session) == p->room, bad, kept);
      g_clear_error (&error);
    }
  g_autoptr (BfSessionMedia) offer = bf_session_get_offer (session);
  g_autoptr (BfSessionMedia) answer = bf_session_media_new ();
  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    {
      guint a = bf_session_media_copy_content (answer, offer, c);
      bf_session_media_add_source (answer, a, 55555 + c, bf_session_get_cname (session), NULL);
    }
  if (!bf_session_accept (session, answer, &error))
    {
      report (module, "accept failed %s: %s", sid, error->message);
      return BF_SESSION_DECLINE;
    }
  g_hash_table_insert (p->sessions, g_strdup (sid), session);
  return BF_SESSION_ACCEPT;
}

static void
placer_media (BfModule *module, BfSession *session, BfPacket *packet)
{
  (void) module;
  (void) session;
  (void) packet;
}

static void
placer_answered (BfModule *module, BfSession *session)
{
  g_autoptr (BfSessionMedia) m = bf_session_get_peer_media (session);
  g_autofree char *text = summary (m);
  report (module, "answered %s %s", bf_session_get_sid (session), text);
}

static void
placer_content_answered (BfModule *module, BfSession *session, const char *name,
                         gboolean accepted)
{
  g_autoptr (BfSessionMedia) m = bf_session_get_peer_media (session);
  g_autofree char *text = summary (m);
  report (module, "content-answered %s %s %s %s", bf_session_get_sid (session), name,
          accepted ? "accepted" : "rejected", text);
}

/* The index of content @name in @m, or -1. */
static int
find_content (const BfSessionMedia *m, const char *name)
{
  for (guint c = 0; c < bf_session_media_get_n_contents (m); c++)
    if (g_str_equal (bf_session_media_get_content_name (m, c), name))
      return (int) c;
  return -1;
}

static void
placer_content_added (BfModule *module, BfSession *session, const char *name)
{
  const char *sid = bf_session_get_sid (session);
  if (!g_str_has_prefix (name, "take"))
    {
      bf_session_reject_content (session, name, "decline");
      report (module, "content-added %s %s rejected", sid, name);
      return;
    }
  g_autoptr (BfSessionMedia) peer = bf_session_get_peer_media (session);
  int c = find_content (peer, name);
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL;
  /* Refusals first: a content that is not waiting, a codec not offered. */
  g_autoptr (BfSessionMedia) nope = bf_session_media_new ();
  const BfSessionCodec pcmu = { 0, "PCMU", 8000, 1 }, foo = { 99, "foo", 8000, 1 };
  bf_session_media_add_codec (nope, bf_session_media_add_content (nope, "nope", "audio", 0),
                              &pcmu);
  gboolean r1 = bf_session_accept_content (session, nope, &e1);
  g_autoptr (BfSessionMedia) bad = bf_session_media_new ();
  bf_session_media_add_codec (bad, bf_session_media_add_content (bad, name, "audio", 0), &foo);
  gboolean r2 = bf_session_accept_content (session, bad, &e2);
  g_autoptr (BfSessionMedia) answer = bf_session_media_new ();
  if (c >= 0)
    {
      guint a = bf_session_media_copy_content (answer, peer, (guint) c);
      bf_session_media_add_source (answer, a, 44444, bf_session_get_cname (session), NULL);
    }
  gboolean ok = c >= 0 && bf_session_accept_content (session, answer, &e3);
  report (module, "content-added %s %s accept=%d notwaiting=%d:%s badcodec=%d:%s%s%s", sid, name,
          ok, r1, e1 ? e1->message : "", r2, e2 ? e2->message : "", e3 ? " error=" : "",
          e3 ? e3->message : "");
}

/* "description-info <sid> video:96:640x360; ..." ('-' for an absent one). */
static void
placer_description_info (BfModule *module, BfSession *session, const BfSessionMedia *suggested)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint c = 0; c < bf_session_media_get_n_contents (suggested); c++)
    for (guint i = 0; i < bf_session_media_get_n_codecs (suggested, c); i++)
      {
        BfSessionCodec codec;
        bf_session_media_get_codec (suggested, c, i, &codec);
        const char *w = bf_session_media_get_codec_parameter (suggested, c, codec.id, "width");
        const char *h = bf_session_media_get_codec_parameter (suggested, c, codec.id, "height");
        g_string_append_printf (s, "%s%s:%u:%sx%s", s->len ? "; " : "",
                                bf_session_media_get_content_name (suggested, c), codec.id,
                                w ? w : "-", h ? h : "-");
      }
  report (module, "description-info %s %s", bf_session_get_sid (session), s->str);
}

static void
placer_ended (BfModule *module, BfSession *session, const char *reason)
{
  Placer *p = placer (module);
  report (module, "ended %s %s", bf_session_get_sid (session), reason);
  g_hash_table_remove (p->sessions, bf_session_get_sid (session));
}

/* --- module --- */

static void
placer_free (gpointer data)
{
  Placer *p = data;
  g_free (p->controller);
  g_hash_table_unref (p->sessions);
  g_free (p);
}

static gboolean
placer_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  (void) config;
  (void) error;
  Placer *p = g_new0 (Placer, 1);
  p->module = module;
  p->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  bf_module_set_data (module, p, placer_free);
  return TRUE;
}

static const BfSessionHooks placer_sessions = {
  .offer = placer_offer,
  .media = placer_media,
  .ended = placer_ended,
  .answered = placer_answered,
  .content_added = placer_content_added,
  .content_answered = placer_content_answered,
  .description_info = placer_description_info,
};

static const char *const placer_localparts[] = { "placer", NULL };
static const char *const placer_features[] = { BF_SESSION_DISCO_FEATURES, NULL };

static const BfModuleInfo placer_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "placer",
  .description = "Module API 5 test module",
  .localparts = placer_localparts,
  .features = placer_features,
  .init = placer_init,
  .handle_stanza = placer_handle,
  .sessions = &placer_sessions,
};

BF_MODULE_DEFINE (placer_info)
