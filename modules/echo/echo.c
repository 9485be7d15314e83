#define G_LOG_DOMAIN "belfry-echo"
/* The echo module: echo@<domain> answers Jingle audio/video calls and
 * returns every RTP packet to the caller under the echo's own SSRCs (a
 * WebRTC stack drops packets that carry its own sending SSRC), with RTCP
 * translated to match (rtp-rewrite.c): sender reports under our SSRCs,
 * feedback (PLI, FIR, NACK, REMB) mapped back to the caller's own streams
 * so that video recovers.  Chat messages are echoed too. */
#include <string.h>
#include <gmodule.h>
#include <belfry/module.h>

#include "rtp-rewrite.h"

/* RTCP compounds are small; anything larger is not echoed. */
#define ECHO_RTCP_MAX 1500

typedef struct {
  EcSsrcMap map;                 /* worker thread only, once media flows */
  guint8 rtcp_out[ECHO_RTCP_MAX];
  guint64 rtp_echoed, rtcp_echoed, dropped;
} EchoSession;

static guint32
random_ssrc (gpointer data)
{
  (void) data;
  return bf_random_u32 ();   /* published: from the CSPRNG */
}

static BfSessionDecision
echo_offer (BfModule *module, BfSession *session)
{
  (void) module;
  EchoSession *es = g_new0 (EchoSession, 1);
  guint32 remote, local;
  for (guint i = 0; bf_session_get_ssrc (session, i, &remote, &local); i++)
    if (!ec_ssrc_map_add (&es->map, remote, local))
      g_warning ("session %s: SSRC %u not echoed (map full or clashing)",
                 bf_session_get_sid (session), remote);
  bf_session_set_data (session, es, g_free);
  return BF_SESSION_ACCEPT;
}

static void
echo_media (BfModule *module, BfSession *session, gboolean is_rtcp, guint8 *data, gsize len)
{
  (void) module;
  EchoSession *es = bf_session_get_data (session);
  if (is_rtcp)
    {
      gsize n = len <= sizeof es->rtcp_out
                ? ec_rtcp_translate (data, len, &es->map, es->rtcp_out, sizeof es->rtcp_out) : 0;
      if (n > 0 && bf_session_send_rtcp (session, es->rtcp_out, n))
        es->rtcp_echoed++;
      else if (n == 0)
        es->dropped++;
      return;
    }
  /* An SSRC the caller did not announce (webrtcbin announces late) gets a
   * local one of its own. */
  if (ec_rtp_rewrite (data, len, &es->map, TRUE, random_ssrc, NULL)
      && bf_session_send_rtp (session, data, len))
    es->rtp_echoed++;
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

static gboolean
echo_handle (BfModule *module, const BfStanza *stanza)
{
  if (strcmp (bf_stanza_get_name (stanza), "presence") == 0)
    return echo_presence (module, stanza);
  if (strcmp (bf_stanza_get_name (stanza), "message") != 0)
    return FALSE;
  const char *type = bf_stanza_get_attr (stanza, "type");
  /* Never answer errors: two echoes could bounce them forever. */
  if (g_strcmp0 (type, "error") == 0)
    return TRUE;
  const char *body = bf_stanza_find_child_text (stanza, "body", NULL);
  const char *from = bf_stanza_get_attr (stanza, "from");
  if (body == NULL || from == NULL)
    return TRUE;   /* chat states, receipts...: nothing to echo */

  g_autoptr (BfStanza) reply = bf_stanza_new_reply (stanza, type);
  bf_stanza_add_text_child (reply, "body", NULL, body);
  const char *thread = bf_stanza_find_child_text (stanza, "thread", NULL);
  if (thread)
    bf_stanza_add_text_child (reply, "thread", NULL, thread);
  bf_module_send (module, reply);
  return TRUE;
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
  .handle_stanza = echo_handle,
  .sessions = &echo_sessions,
};

BF_MODULE_DEFINE (echo_info)
