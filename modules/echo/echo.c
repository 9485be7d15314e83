#define G_LOG_DOMAIN "belfry-echo"
/* The echo module: echo@<domain> answers Jingle audio/video calls and
 * returns every RTP packet to the caller under the echo's own SSRCs (a
 * WebRTC stack drops packets that carry its own sending SSRC), with RTCP
 * translated to match (rtp-rewrite.c): sender reports under our SSRCs,
 * feedback (PLI, FIR, NACK, REMB) mapped back to the caller's own streams
 * so that video recovers.  Chat messages are echoed too, within a rate per
 * sender, and never to what looks like another bot's automatic reply (two
 * echoes must not talk to each other forever). */
#include <string.h>
#include <gmodule.h>
#include <belfry/module.h>
#include <belfry/rate-limit.h>

#include "rtp-rewrite.h"

#define NS_HINTS "urn:xmpp:hints"   /* XEP-0334 */
#define NS_DELAY "urn:xmpp:delay"   /* XEP-0203 */

/* Senders whose message rate is tracked; beyond it, idle ones (bucket full
 * again) are forgotten first, and a new sender with the table still full
 * is not answered. */
#define RATE_TABLE_MAX 4096

typedef struct {
  guint max_per_minute;            /* 0: no limit */
  /* A token bucket per sender bare JID (lower case), refilled at
   * max-messages-per-minute evenly over the minute and holding 10 s worth
   * (a sixth, at least one): a burst is short, so a loop with another bot
   * (each answer a new message) stops after a few exchanges, the first
   * message the echo drops ending it. */
  BfRateLimiter *rate;
  guint64 echoed, not_answered, rate_limited;
} EchoModule;

/* The cname of the echo's sources in its answer (XEP-0339). */
#define ECHO_CNAME "belfry"

/* RTCP compounds are small; anything larger is not echoed. */
#define ECHO_RTCP_MAX 1500

/* Contents whose RTP is counted apiece (more are counted together). */
#define ECHO_MAX_CONTENTS 8

typedef struct {
  EcSsrcMap map;                 /* worker thread only, once media flows */
  guint8 rtcp_out[ECHO_RTCP_MAX];
  guint64 rtp_echoed, rtcp_echoed, dropped;
  /* Set in offer(), before media flows, then only read; the counts are
   * the worker's, logged when the data is freed (after the last media()). */
  char *sid;
  char *content_names[ECHO_MAX_CONTENTS];
  guint64 content_rtp[ECHO_MAX_CONTENTS + 1];   /* the last: no content or another */
} EchoSession;

/* After the last media(): what the session echoed, by content (the
 * packet's content, packet.h), for the log. */
static void
echo_session_free (EchoSession *es)
{
  g_autoptr (GString) by = g_string_new (NULL);
  for (guint i = 0; i < ECHO_MAX_CONTENTS && es->content_names[i]; i++)
    g_string_append_printf (by, "%s%s %" G_GUINT64_FORMAT, by->len ? ", " : "",
                            es->content_names[i], es->content_rtp[i]);
  g_string_append_printf (by, "%sother %" G_GUINT64_FORMAT, by->len ? ", " : "",
                          es->content_rtp[ECHO_MAX_CONTENTS]);
  g_info ("echo session %s: echoed %" G_GUINT64_FORMAT " RTP (by content: %s) and %"
          G_GUINT64_FORMAT " RTCP, dropped %" G_GUINT64_FORMAT, es->sid, es->rtp_echoed, by->str,
          es->rtcp_echoed, es->dropped);
  for (guint i = 0; i < ECHO_MAX_CONTENTS; i++)
    g_free (es->content_names[i]);
  g_free (es->sid);
  g_free (es);
}

static void
count_content (EchoSession *es, const char *content)
{
  guint i = 0;
  while (i < ECHO_MAX_CONTENTS && es->content_names[i]
         && g_strcmp0 (es->content_names[i], content) != 0)
    i++;
  es->content_rtp[i < ECHO_MAX_CONTENTS && es->content_names[i] ? i : ECHO_MAX_CONTENTS]++;
}

static guint32
random_ssrc (gpointer data)
{
  (void) data;
  return bf_random_u32 ();   /* published: from the CSPRNG */
}

/* The echo's SSRC for the caller's @remote: the one it has, else a new
 * random one that is nobody's yet (0 when the map is full). */
static guint32
local_for (EcSsrcMap *map, guint32 remote)
{
  guint32 local;
  if (ec_ssrc_map_to_local (map, remote, &local))
    return local;
  for (guint tries = 0; tries < 8; tries++)
    if (ec_ssrc_map_add (map, remote, local = random_ssrc (NULL)))
      return local;
  return 0;
}

/* The answer: every content as the caller offered it (it gets back what it
 * sends, so whatever it can send it can receive), and for each of its
 * sources one of the echo's, in the same ssrc-groups (an rtx stream stays
 * paired with its media stream: XEP-0339 §3.2), with the cname the
 * echo's RTCP carries and an msid per content. */
static BfSessionMedia *
echo_answer (BfSession *session, EchoSession *es)
{
  g_autoptr (BfSessionMedia) offer = bf_session_get_offer (session);
  BfSessionMedia *answer = bf_session_media_new ();
  const char *sid = bf_session_get_sid (session);
  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    {
      guint k = bf_session_media_copy_content (answer, offer, c);
      if (c < ECHO_MAX_CONTENTS)
        es->content_names[c] = g_strdup (bf_session_media_get_content_name (offer, c));
      g_autofree char *msid = g_strdup_printf ("belfry-%s belfry-%s-%s", sid, sid,
                                               bf_session_media_get_content_name (offer, c));
      for (guint i = 0; i < bf_session_media_get_n_sources (offer, c); i++)
        {
          guint32 remote = bf_session_media_get_source (offer, c, i);
          guint32 local = local_for (&es->map, remote);
          if (local == 0)
            {
              g_warning ("session %s: SSRC %u not echoed (map full or clashing)", sid, remote);
              continue;
            }
          bf_session_media_add_source (answer, k, local, ECHO_CNAME, msid);
        }
      const guint32 *ssrcs;
      guint n;
      const char *semantics;
      for (guint g = 0;
           (semantics = bf_session_media_get_source_group (offer, c, g, &ssrcs, &n)) != NULL; g++)
        {
          g_autoptr (GArray) mine = g_array_sized_new (FALSE, FALSE, sizeof (guint32), n);
          for (guint q = 0; q < n; q++)
            {
              guint32 local;
              if (ec_ssrc_map_to_local (&es->map, ssrcs[q], &local))
                g_array_append_val (mine, local);
            }
          if (n > 0 && mine->len == n)
            bf_session_media_add_source_group (answer, k, semantics,
                                               (const guint32 *) mine->data, n);
        }
    }
  return answer;
}

static BfSessionDecision
echo_offer (BfModule *module, BfSession *session)
{
  (void) module;
  EchoSession *es = g_new0 (EchoSession, 1);
  es->sid = g_strdup (bf_session_get_sid (session));
  bf_session_set_data (session, es, (GDestroyNotify) echo_session_free);
  g_autoptr (BfSessionMedia) answer = echo_answer (session, es);
  g_autoptr (GError) error = NULL;
  if (!bf_session_accept (session, answer, &error))
    {
      g_warning ("session %s: cannot answer: %s", bf_session_get_sid (session), error->message);
      return BF_SESSION_DECLINE;
    }
  return BF_SESSION_ACCEPT;   /* ignored: accepted above */
}

static void
echo_media (BfModule *module, BfSession *session, BfPacket *packet)
{
  (void) module;
  EchoSession *es = bf_session_get_data (session);
  if (packet->is_rtcp)
    {
      gsize n = packet->len <= sizeof es->rtcp_out
                ? ec_rtcp_translate (packet->data, packet->len, &es->map, es->rtcp_out,
                                     sizeof es->rtcp_out) : 0;
      if (n > 0 && bf_session_send_rtcp (session, es->rtcp_out, n))
        es->rtcp_echoed++;
      else if (n == 0)
        es->dropped++;
      return;
    }
  /* An SSRC the caller did not announce (webrtcbin announces late) gets a
   * local one of its own. */
  if (ec_rtp_rewrite_parsed (packet->data, &packet->rtp, &es->map, TRUE, random_ssrc, NULL)
      && bf_session_send_rtp (session, packet->data, packet->len))
    {
      es->rtp_echoed++;
      count_content (es, packet->content);
    }
  else
    es->dropped++;
}

static void
echo_ended (BfModule *module, BfSession *session, const char *reason)
{
  (void) module;
  (void) reason;
  g_info ("echo session %s with %s over", bf_session_get_sid (session),
          bf_session_get_peer (session));
}

static const BfSessionHooks echo_sessions = {
  .offer = echo_offer,
  .media = echo_media,
  .ended = echo_ended,
};

#define ECHO_FEATURE "urn:belfry:echo:0"

/* The full JID echo@ is online as: clients look for caps on presence
 * from a resource (Monal queries caps only then: xmpp.m, "presenceNode
 * .fromResource"), and disco that same full JID (the router answers every
 * resource of the address). */
#define PRESENCE_RESOURCE "belfry"

/* Presence: echo@ in a roster is subscribed to and online with XEP-0115
 * caps naming Jingle RTP, ICE-UDP, DTLS, audio and video, which is what
 * Conversations needs to verify (the caps ver against the disco#info of
 * node#ver, on the JID that sent the presence) before it offers a call
 * button (xmpp/jingle/RtpCapability.java, services/XmppConnectionService
 * .java fetchCaps()).  Anyone may subscribe: the echo serves everybody. */
static gboolean
echo_presence (BfModule *module, const BfStanza *stanza)
{
  const char *type = bf_stanza_get_attr (stanza, "type");
  const char *from = bf_stanza_get_attr (stanza, "from");
  const char *to = bf_stanza_get_attr (stanza, "to");
  g_autofree char *fl = NULL, *fd = NULL, *tl = NULL, *td = NULL;
  if (from == NULL || to == NULL || !bf_jid_split (from, &fl, &fd, NULL)
      || !bf_jid_split (to, &tl, &td, NULL) || tl == NULL)
    return TRUE;
  g_autofree char *user = fl ? g_strconcat (fl, "@", fd, NULL) : g_strdup (fd);
  g_autofree char *address = g_strconcat (tl, "@", td, NULL);
  g_autofree char *online = g_strconcat (address, "/" PRESENCE_RESOURCE, NULL);
  if (g_strcmp0 (type, "subscribe") == 0)
    {
      /* RFC 6121 §3.1.5: the approval from the bare JID, then presence. */
      bf_module_send_presence (module, address, user, "subscribed");
      bf_module_send_presence (module, online, user, NULL);
    }
  else if (g_strcmp0 (type, "unsubscribe") == 0)
    bf_module_send_presence (module, address, user, "unsubscribed");
  else if (type == NULL || g_strcmp0 (type, "probe") == 0)
    bf_module_send_presence (module, online, type ? user : from, NULL);
  return TRUE;   /* unavailable, subscribed, errors...: nothing to say */
}

/* Whether @stanza is one no automatic reply may answer: an error (two
 * echoes would bounce them forever), a groupchat or headline message (a
 * room or a feed: RFC 6121 §5.2.2, nobody to talk back to), one delayed
 * (XEP-0203: history or offline storage, not someone typing now), or one
 * with a XEP-0334 no-store hint, which this echo puts on its own replies:
 * another belfry echo (or a bot that copies hints) stops there. */
static gboolean
is_not_to_answer (const BfStanza *stanza)
{
  const char *type = bf_stanza_get_attr (stanza, "type");
  return g_strcmp0 (type, "error") == 0 || g_strcmp0 (type, "groupchat") == 0
         || g_strcmp0 (type, "headline") == 0
         || bf_stanza_find_child (stanza, "delay", NS_DELAY) != NULL
         || bf_stanza_find_child (stanza, "no-store", NS_HINTS) != NULL
         || bf_stanza_find_child (stanza, "no-permanent-store", NS_HINTS) != NULL;
}

/* Takes a token from the bucket of @from's bare JID; FALSE when it is
 * empty (or the table is full of senders talking right now). */
static gboolean
rate_take (EchoModule *em, const char *from)
{
  if (em->max_per_minute == 0)
    return TRUE;
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (from, &local, &domain, NULL))
    return FALSE;
  g_autofree char *bare = local ? g_strconcat (local, "@", domain, NULL) : g_strdup (domain);
  g_autofree char *key = g_utf8_strdown (bare, -1);
  gboolean first_refusal;
  BfRateResult r = bf_rate_limiter_take (em->rate, key, &first_refusal);
  if (r == BF_RATE_LIMITED && first_refusal)
    g_message ("messages from %s: more than %u a minute ([echo] max-messages-per-minute); "
               "not echoed until the rate drops", bare, em->max_per_minute);
  /* BF_RATE_TABLE_FULL: a new sender while every tracked one is talking
   * is not answered either. */
  return r == BF_RATE_OK;
}

static gboolean
echo_handle (BfModule *module, const BfStanza *stanza)
{
  EchoModule *em = bf_module_get_data (module);
  if (strcmp (bf_stanza_get_name (stanza), "presence") == 0)
    return echo_presence (module, stanza);
  if (strcmp (bf_stanza_get_name (stanza), "message") != 0)
    return FALSE;
  const char *type = bf_stanza_get_attr (stanza, "type");
  const char *body = bf_stanza_find_child_text (stanza, "body", NULL);
  const char *from = bf_stanza_get_attr (stanza, "from");
  if (body == NULL || from == NULL)
    return TRUE;   /* chat states, receipts...: nothing to echo */
  if (is_not_to_answer (stanza))
    {
      em->not_answered++;
      return TRUE;
    }
  if (!rate_take (em, from))
    {
      em->rate_limited++;
      return TRUE;
    }

  g_autoptr (BfStanza) reply = bf_stanza_new_reply (stanza, type);
  bf_stanza_add_text_child (reply, "body", NULL, body);
  const char *thread = bf_stanza_find_child_text (stanza, "thread", NULL);
  if (thread)
    bf_stanza_add_text_child (reply, "thread", NULL, thread);
  /* The marker of an automatic reply (see is_not_to_answer()); also keeps
   * the echo out of the user's archive. */
  bf_stanza_add_child (reply, "no-store", NS_HINTS);
  bf_stanza_add_child (reply, "no-permanent-store", NS_HINTS);
  bf_module_send (module, reply);
  em->echoed++;
  return TRUE;
}

static gboolean
echo_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  EchoModule *em = g_new0 (EchoModule, 1);
  bf_module_set_data (module, em, NULL);
  gint64 v;
  /* 5 in 10 s: a person typing never meets it, a bot loop stops at once. */
  if (!bf_config_get_int (config, "max-messages-per-minute", 30, 0, 100000, &v, error))
    return FALSE;
  em->max_per_minute = (guint) v;
  em->rate = bf_rate_limiter_new (em->max_per_minute, MAX (1.0, em->max_per_minute / 6.0),
                                  RATE_TABLE_MAX);
  return TRUE;
}

static void
echo_shutdown (BfModule *module)
{
  EchoModule *em = bf_module_get_data (module);
  if (em == NULL)
    return;
  if (em->echoed || em->not_answered || em->rate_limited)
    g_message ("echo messages: %" G_GUINT64_FORMAT " echoed, %" G_GUINT64_FORMAT
               " not answered (automatic, delayed, error, groupchat or headline), %"
               G_GUINT64_FORMAT " over the rate", em->echoed, em->not_answered,
               em->rate_limited);
  bf_rate_limiter_free (em->rate);
  g_free (em);
  bf_module_set_data (module, NULL, NULL);
}

static const char *const echo_localparts[] = { "echo", NULL };
static const char *const echo_features[] = {
  ECHO_FEATURE,
  BF_SESSION_DISCO_FEATURES,
  BF_NS_CAPS,   /* XEP-0115 §7: an entity that sends caps says so */
  NULL
};
static const BfDiscoIdentity echo_identity = { "component", "generic", "Echo test" };

static const BfModuleInfo echo_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "echo",
  .description = "Echo test",
  .localparts = echo_localparts,
  .identity = &echo_identity,
  .features = echo_features,
  .init = echo_init,
  .shutdown = echo_shutdown,
  .handle_stanza = echo_handle,
  .sessions = &echo_sessions,
};

BF_MODULE_DEFINE (echo_info)
