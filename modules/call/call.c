#define G_LOG_DOMAIN "belfry-call"
/* The call module: belfry as the media anchor of a 1:1 Jingle call.
 *
 * Alice calls bob\40example.org@relay.example.org (XEP-0106: Bob's JID
 * escaped as the localpart).  Her session (leg A) is held unanswered while
 * the module places leg B to Bob from alice\40example.org@relay.example.org
 * /<random> (her bare JID only: Bob never learns her resource), offering
 * what Alice offered with belfry's own candidates and fingerprint.  When
 * Bob answers, Alice is answered with what Bob accepted.  Each leg has its
 * own ICE, DTLS and SRTP; both share one media worker, where the core
 * forwards every packet from one leg onto the other without decoding it
 * (bf_session_forward: SSRCs pass through; payload types and header
 * extension ids are renumbered when the legs differ, by maps the core
 * keeps; the legs are the core's link, bf_session_get_linked).  This
 * module keeps the signalling only.  Ringing, hold, mute and the end of
 * either leg are carried to the other.  Nothing that names one party
 * reaches the other: leg B comes from a random resource, each leg gets its
 * own cname and msid (the core's), and relayed RTCP loses its SDES items
 * but a rewritten CNAME, and its APP packets (rtcp-privacy.c). */
#include <string.h>
#include <gio/gio.h>
#include <gmodule.h>
#include <belfry/module.h>
#include <belfry/rate-limit.h>

#include "jid-escape.h"
#include "rtcp-privacy.h"

#define MAX_JID 3071   /* RFC 7622 §3.1: 1023 per part, 3 parts */

/* Callers whose placed-call rate is tracked; beyond it, buckets that are
 * full again (idle callers) are forgotten first. */
#define RATE_TABLE_MAX 4096

typedef struct {
  BfModule *module;
  guint ring_timeout;              /* seconds */
  char **allow_domains;            /* NULL: anyone */
  guint max_calls_per_jid;
  guint max_calls_per_minute;      /* 0: no limit */
  GHashTable *per_jid;             /* caller bare JID (lower case) -> live calls */
  /* A token bucket per caller bare JID (lower case): max-calls-per-minute
   * tokens, refilled evenly over the minute; a placed call takes one. */
  BfRateLimiter *rate;
  guint next_id;
  guint64 n_calls, n_answered, n_refused, n_timeouts, n_rate_limited, n_loops;
} CallModule;

/* One relayed call: main-thread signalling state, except @rtcp.  The legs
 * are the core's link (bf_session_get_linked): the call keeps the caller's
 * leg only, to find the other from the ring timeout. */
typedef struct {
  gatomicrefcount ref;             /* one per leg */
  guint id;
  CallModule *cm;
  char *caller;                    /* bare, lower case: the per_jid key */
  BfSession *a;                    /* the caller's leg, until its ended() */
  gboolean counted_out, answered;
  guint ring_source;
  gint64 started_us;
  /* Worker thread only (call_media); read when the call is freed, after
   * the worker is done with both legs. */
  CallRtcpPrivacyStats rtcp;
} Call;

static Call *
call_ref (Call *c)
{
  g_atomic_ref_count_inc (&c->ref);
  return c;
}

static void
call_unref (gpointer data)
{
  Call *c = data;
  if (!g_atomic_ref_count_dec (&c->ref))
    return;
  /* Both legs are gone: their worker is done with the call. */
  const CallRtcpPrivacyStats *rtcp = &c->rtcp;
  if (rtcp->sdes_items_dropped || rtcp->app_dropped || rtcp->malformed)
    g_message ("call %u: RTCP kept private: %" G_GUINT64_FORMAT " SDES items other than CNAME "
               "and %" G_GUINT64_FORMAT " APP packets removed, %" G_GUINT64_FORMAT
               " compounds dropped (malformed or too large)", c->id, rtcp->sdes_items_dropped,
               rtcp->app_dropped, rtcp->malformed);
  g_free (c->caller);
  g_free (c);
}

static gboolean
domain_allowed (CallModule *cm, const char *domain)
{
  return bf_domain_list_contains ((const char *const *) cm->allow_domains, domain);
}

static void
count_out (Call *c)
{
  if (c->counted_out)
    return;
  c->counted_out = TRUE;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (c->cm->per_jid, c->caller));
  if (n <= 1)
    g_hash_table_remove (c->cm->per_jid, c->caller);
  else
    g_hash_table_insert (c->cm->per_jid, g_strdup (c->caller), GUINT_TO_POINTER (n - 1));
}

static gboolean
on_ring_timeout (gpointer data)
{
  Call *c = data;
  c->ring_source = 0;
  c->cm->n_timeouts++;
  g_message ("call %u: no answer within %u s", c->id, c->cm->ring_timeout);
  BfSession *b = c->a ? bf_session_get_linked (c->a) : NULL;
  if (b)
    bf_session_terminate (b, "timeout", NULL);   /* -> ended(B) ends A */
  return G_SOURCE_REMOVE;
}

/* Whether a localpart is an escaped JID (XEP-0106 "\\40" for '@'): the
 * address of a call relay (this one or another), not a user. */
static gboolean
is_relay_localpart (const char *local)
{
  g_autofree char *lower = local ? g_ascii_strdown (local, -1) : NULL;
  return lower != NULL && strstr (lower, "\\40") != NULL;
}

/* Takes a token from @caller's bucket; FALSE when it is empty. */
static gboolean
rate_take (CallModule *cm, const char *caller)
{
  switch (bf_rate_limiter_take (cm->rate, caller, NULL))
    {
    case BF_RATE_LIMITED:
      return FALSE;
    case BF_RATE_TABLE_FULL:
      /* Every tracked caller is calling right now.  The new one is not
       * tracked (logged); max-calls-per-jid still holds. */
      g_message ("%u callers rate-tracked: %s is not", RATE_TABLE_MAX, caller);
      return TRUE;
    case BF_RATE_OK:
    default:
      return TRUE;
    }
}

/* The relay's domain or a sub-domain of it (another process's node-jid,
 * README "Running several relays"). */
static gboolean
is_relay_domain (BfModule *module, const char *domain)
{
  const char *ours = bf_module_get_domain (module);
  gsize dl = strlen (domain), ol = strlen (ours);
  return g_ascii_strcasecmp (domain, ours) == 0
         || (dl > ol + 1 && domain[dl - ol - 1] == '.'
             && g_ascii_strcasecmp (domain + dl - ol, ours) == 0);
}

/* The callee's JID from the address that was called; NULL (and @why) when
 * it is not one this relay may call. */
static char *
callee_of (CallModule *cm, const char *local, const char **why)
{
  g_autofree char *lp = NULL, *domain = NULL;
  if (!bf_jid_split (local, &lp, &domain, NULL) || lp == NULL)
    {
      *why = "not a callable address";
      return NULL;
    }
  g_autofree char *callee = call_jid_unescape (lp, MAX_JID);
  g_autofree char *cl = NULL, *cd = NULL;
  if (callee == NULL || !bf_jid_split (callee, &cl, &cd, NULL) || cl == NULL)
    {
      *why = "the address is not an escaped user JID (user\\40domain@relay)";
      return NULL;
    }
  if (is_relay_domain (cm->module, cd))
    {
      *why = "the callee is an address of this relay";
      return NULL;
    }
  /* Relay to relay (ours or another's): each hop would re-escape the
   * caller, and no per-caller limit would see the real one. */
  if (is_relay_localpart (cl))
    {
      *why = "the callee is the address of a call relay (relay-to-relay calls are refused)";
      return NULL;
    }
  return g_steal_pointer (&callee);
}

static BfSessionDecision
call_offer (BfModule *module, BfSession *a)
{
  CallModule *cm = bf_module_get_data (module);
  const char *why = NULL;
  g_autofree char *callee = callee_of (cm, bf_session_get_local (a), &why);
  g_autofree char *user = NULL, *domain = NULL;
  bf_jid_split (bf_session_get_peer (a), &user, &domain, NULL);
  if (callee == NULL)
    {
      cm->n_refused++;
      g_message ("session %s from %s to %s refused: %s", bf_session_get_sid (a),
                 bf_session_get_peer (a), bf_session_get_local (a), why);
      bf_session_terminate (a, "decline", why);
      return BF_SESSION_DECLINE;
    }
  if (user != NULL && (is_relay_domain (module, domain)
                       || is_relay_localpart (user)))
    {
      /* A relay placing a call through us: its caller is hidden behind it,
       * so no limit of ours would apply to that person. */
      cm->n_refused++;
      cm->n_loops++;
      g_message ("session %s from %s refused: the caller is a call relay's address "
                 "(relay-to-relay calls are refused)", bf_session_get_sid (a),
                 bf_session_get_peer (a));
      bf_session_terminate (a, "decline", "calls from a call relay are refused");
      return BF_SESSION_DECLINE;
    }
  if (user == NULL || !domain_allowed (cm, domain))
    {
      cm->n_refused++;
      g_message ("session %s from %s refused: callers from %s may not use this relay "
                 "([call] allow-domains)", bf_session_get_sid (a), bf_session_get_peer (a), domain);
      bf_session_terminate (a, "decline", "this relay does not serve your domain");
      return BF_SESSION_DECLINE;
    }
  g_autofree char *caller_bare = g_strconcat (user, "@", domain, NULL);
  g_autofree char *key = g_utf8_strdown (caller_bare, -1);
  guint live = GPOINTER_TO_UINT (g_hash_table_lookup (cm->per_jid, key));
  if (live >= cm->max_calls_per_jid)
    {
      cm->n_refused++;
      g_message ("session %s from %s refused: %u calls already ([call] max-calls-per-jid)",
                 bf_session_get_sid (a), bf_session_get_peer (a), live);
      bf_session_terminate (a, "busy", "too many calls from this account");
      return BF_SESSION_DECLINE;
    }
  /* Last, so that only calls really placed use up the rate. */
  if (!rate_take (cm, key))
    {
      cm->n_refused++;
      cm->n_rate_limited++;
      g_message ("session %s from %s refused: more than %u calls a minute "
                 "([call] max-calls-per-minute; %" G_GUINT64_FORMAT " refused so far)",
                 bf_session_get_sid (a), bf_session_get_peer (a), cm->max_calls_per_minute,
                 cm->n_rate_limited);
      /* XEP-0166 §7.4 <decline/>: the relay, as the responder, refuses by
       * its policy.  <busy/> would tell the caller the callee is on
       * another call; the text says why and for how long. */
      bf_session_terminate (a, "decline", "too many calls a minute from this account");
      return BF_SESSION_DECLINE;
    }

  /* Leg B comes from Alice's bare JID, escaped, with a resource of ours,
   * on this process's own sub-domain when it has one: Bob's answers must
   * come back to the process that holds leg A. */
  g_autofree char *escaped = call_jid_escape (caller_bare);
  g_autofree char *from = g_strdup_printf ("%s@%s/%08x%08x", escaped, bf_module_get_node_domain (module),
                                           bf_random_u32 (), bf_random_u32 ());
  g_autoptr (GError) error = NULL;
  BfSession *b = bf_session_place (module, from, callee, a, &error);
  if (b == NULL)
    {
      cm->n_refused++;
      g_message ("session %s from %s: cannot call %s: %s", bf_session_get_sid (a),
                 bf_session_get_peer (a), callee, error->message);
      bf_session_terminate (a, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)
                                 ? "busy" : "general-error", NULL);
      return BF_SESSION_DECLINE;
    }
  Call *c = g_new0 (Call, 1);
  g_atomic_ref_count_init (&c->ref);
  c->id = ++cm->next_id;
  c->cm = cm;
  c->caller = g_steal_pointer (&key);
  c->a = a;
  c->started_us = g_get_monotonic_time ();
  bf_session_set_data (a, c, call_unref);
  bf_session_set_data (b, call_ref (c), call_unref);
  g_hash_table_insert (cm->per_jid, g_strdup (c->caller), GUINT_TO_POINTER (live + 1));
  /* Milliseconds: g_timeout_add_seconds may fire up to 250 ms early. */
  c->ring_source = g_timeout_add (cm->ring_timeout * 1000, on_ring_timeout, c);
  cm->n_calls++;
  g_message ("call %u: %s -> %s (legs %s, %s)", c->id, bf_session_get_peer (a), callee,
             bf_session_get_sid (a), bf_session_get_sid (b));
  return BF_SESSION_DEFER;
}

static void
call_answered (BfModule *module, BfSession *b)
{
  (void) module;
  Call *c = bf_session_get_data (b);
  BfSession *a = bf_session_get_linked (b);
  if (c == NULL || a == NULL)
    return;
  g_clear_handle_id (&c->ring_source, g_source_remove);
  g_autoptr (GError) error = NULL;
  if (!bf_session_accept_mirrored (a, b, &error))
    {
      g_message ("call %u: the answer cannot be relayed: %s", c->id, error->message);
      bf_session_terminate (b, "incompatible-parameters", NULL);   /* ends A too */
      return;
    }
  c->answered = TRUE;
  c->cm->n_answered++;
  g_message ("call %u: answered by %s after %.1f s", c->id, bf_session_get_peer (b),
             (g_get_monotonic_time () - c->started_us) / 1e6);
}

static void
call_info (BfModule *module, BfSession *from, BfSessionInfo info, const char *name)
{
  (void) module;
  BfSession *to = bf_session_get_linked (from);
  if (to == NULL)
    return;
  if (info == BF_SESSION_INFO_RINGING && !bf_session_is_outgoing (from))
    return;   /* only the callee rings */
  bf_session_send_info (to, info, name);
}

/* Worker: the core forwards; RTCP is made private first. */
static void
call_media (BfModule *module, BfSession *from, BfPacket *packet)
{
  (void) module;
  Call *c = bf_session_get_data (from);
  BfSession *to = bf_session_get_linked (from);
  if (G_UNLIKELY (c == NULL || to == NULL))
    return;
  /* Reports and feedback (NACK, PLI, FIR, REMB, transport-cc) are right
   * for the other side as they are; SDES and APP are not
   * (rtcp-privacy.h). */
  if (packet->is_rtcp && call_rtcp_needs_privacy (packet->data, packet->len))
    {
      guint8 out[CALL_RTCP_OUT_MAX];
      gsize n = call_rtcp_privacy (packet->data, packet->len, bf_session_get_cname (to), out,
                                   sizeof out, &c->rtcp);
      if (n == 0)
        return;
      BfPacket private = *packet;
      private.data = out;
      private.len = n;
      bf_session_forward (from, &private);
      return;
    }
  bf_session_forward (from, packet);
}

/* One leg can now take media: whatever its other leg's peer sent before
 * was dropped (the legs connect one after the other), the first keyframe
 * with it, and a sender makes the next one only when asked.  Without this
 * the callee of a relayed video call could show nothing for seconds,
 * until its own decoder complained. */
static void
call_media_ready (BfModule *module, BfSession *ready)
{
  (void) module;
  BfSession *other = bf_session_get_linked (ready);
  if (other)
    bf_session_request_keyframe (other);
}

static const char *
party (BfSession *leg)
{
  return bf_session_is_outgoing (leg) ? "callee" : "caller";
}

/* Content changes go across: the other party gets the content-add, and
 * its answer is the answer to the one who added.  The core renumbers the
 * new contents' packets as they are answered. */
static void
call_content_added (BfModule *module, BfSession *from, const char *name)
{
  (void) module;
  Call *c = bf_session_get_data (from);
  BfSession *to = bf_session_get_linked (from);
  if (c == NULL)
    {
      bf_session_reject_content (from, name, "failed-application");
      return;
    }
  g_autoptr (GError) error = NULL;
  if (to == NULL || !c->answered || !bf_session_add_content_mirrored (to, from, name, &error))
    {
      g_message ("call %u: content '%s' not relayed: %s", c->id, name,
                 error ? error->message : "the call is not connected");
      bf_session_reject_content (from, name, "failed-application");
      return;
    }
  g_message ("call %u: the %s adds content '%s'", c->id, party (from), name);
}

static void
call_content_answered (BfModule *module, BfSession *answered, const char *name,
                       gboolean accepted)
{
  (void) module;
  Call *c = bf_session_get_data (answered);
  BfSession *adder = bf_session_get_linked (answered);
  if (c == NULL || adder == NULL)
    return;
  g_autoptr (GError) error = NULL;
  if (!accepted)
    bf_session_reject_content (adder, name, "decline");
  else if (!bf_session_accept_content_mirrored (adder, answered, name, &error))
    {
      g_message ("call %u: content '%s' cannot be relayed: %s", c->id, name, error->message);
      bf_session_reject_content (adder, name, "incompatible-parameters");
      bf_session_remove_content (answered, name);
    }
}

static void
call_content_removed (BfModule *module, BfSession *from, const char *name)
{
  (void) module;
  BfSession *to = bf_session_get_linked (from);
  if (to)
    bf_session_remove_content (to, name);
}

static void
call_ended (BfModule *module, BfSession *session, const char *reason)
{
  (void) module;
  Call *c = bf_session_get_data (session);
  if (c == NULL)
    return;   /* refused before a call existed */
  if (session == c->a)
    c->a = NULL;
  g_clear_handle_id (&c->ring_source, g_source_remove);
  count_out (c);
  /* The first leg to end ends the other; that one's ended() sees no
   * link any more. */
  BfSession *other = bf_session_get_linked (session);
  if (other == NULL)
    return;
  g_message ("call %u: the %s ended it: %s", c->id, party (session), reason);
  bf_session_terminate (other, reason, NULL);
}

/* The full JID a relay address is online as.  Clients take caps from a
 * presence's sender and disco that JID (Conversations: XmppConnectionService
 * .java fetchCaps() queries the presence's 'from'); Monal only looks at caps
 * on presence from a resource (xmpp.m: "presenceNode.fromResource"). */
#define PRESENCE_RESOURCE "belfry"

/* Presence of the relay addresses: a roster entry for
 * bob\\40example.org@relay.example.org gets subscribed and sees it available
 * (as .../belfry) with XEP-0115 caps naming Jingle RTP, ICE-UDP, DTLS, audio,
 * video and JMI, which is what Conversations verifies before it offers a
 * call button (xmpp/jingle/RtpCapability.java: the caps ver must match the
 * disco#info of node#ver, which the router answers on every resource).  It
 * says nothing about Bob's own presence (that stays between Bob and his
 * contacts). */
static gboolean
call_handle (BfModule *module, const BfStanza *stanza)
{
  CallModule *cm = bf_module_get_data (module);
  if (g_strcmp0 (bf_stanza_get_name (stanza), "presence") != 0)
    return FALSE;   /* iq and message: the core's defaults */
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
  const char *why = NULL;
  g_autofree char *callee = callee_of (cm, address, &why);
  gboolean served = callee != NULL && fl != NULL && domain_allowed (cm, fd);
  if (g_strcmp0 (type, "subscribe") == 0)
    {
      bf_module_send_presence (module, address, user, served ? "subscribed" : "unsubscribed");
      if (served)
        bf_module_send_presence (module, online, user, NULL);
    }
  else if (g_strcmp0 (type, "unsubscribe") == 0)
    bf_module_send_presence (module, address, user, "unsubscribed");
  else if (served && (type == NULL || g_strcmp0 (type, "probe") == 0))
    bf_module_send_presence (module, online, type ? user : from, NULL);
  return TRUE;   /* unavailable, subscribed, errors...: nothing to say */
}

static char *
domains_text (char **domains)
{
  return domains ? g_strjoinv (", ", domains) : g_strdup ("anyone");
}

/* SIGHUP (module.h): the limits and allow-domains change for calls placed
 * from now on; calls running keep going.  All or nothing.  (Unknown keys
 * are not checked here: init() did, and a restart will.) */
static gboolean
call_reload (BfModule *module, BfConfigGroup *config, GError **error)
{
  CallModule *cm = bf_module_get_data (module);
  gint64 ring, per_jid, per_minute;
  g_auto (GStrv) domains = NULL;
  if (!bf_config_get_int (config, "ring-timeout", 45, 1, 600, &ring, error)
      || !bf_config_get_int (config, "max-calls-per-jid", 4, 1, 1000, &per_jid, error)
      || !bf_config_get_int (config, "max-calls-per-minute", 30, 0, 100000, &per_minute, error)
      || !bf_config_get_domain_list (config, "allow-domains", bf_module_get_server_domain (module),
                                     &domains, error))
    return FALSE;
  g_autofree char *was = domains_text (cm->allow_domains), *now = domains_text (domains);
  if (strcmp (was, now) != 0)
    g_message ("reload: [call] allow-domains: %s → %s", was, now);
  if ((guint) ring != cm->ring_timeout)
    g_message ("reload: [call] ring-timeout: %u → %u s", cm->ring_timeout, (guint) ring);
  if ((guint) per_jid != cm->max_calls_per_jid)
    g_message ("reload: [call] max-calls-per-jid: %u → %u", cm->max_calls_per_jid,
               (guint) per_jid);
  if ((guint) per_minute != cm->max_calls_per_minute)
    g_message ("reload: [call] max-calls-per-minute: %u → %u", cm->max_calls_per_minute,
               (guint) per_minute);
  g_strfreev (cm->allow_domains);
  cm->allow_domains = g_steal_pointer (&domains);
  cm->max_calls_per_minute = (guint) per_minute;
  bf_rate_limiter_set_rate (cm->rate, cm->max_calls_per_minute, cm->max_calls_per_minute);
  cm->ring_timeout = (guint) ring;
  cm->max_calls_per_jid = (guint) per_jid;
  return TRUE;
}

static gboolean
call_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  CallModule *cm = g_new0 (CallModule, 1);
  cm->module = module;
  cm->per_jid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  bf_module_set_data (module, cm, NULL);
  gint64 v;
  if (!bf_config_get_int (config, "ring-timeout", 45, 1, 600, &v, error))
    return FALSE;
  cm->ring_timeout = (guint) v;
  if (!bf_config_get_int (config, "max-calls-per-jid", 4, 1, 1000, &v, error))
    return FALSE;
  cm->max_calls_per_jid = (guint) v;
  if (!bf_config_get_int (config, "max-calls-per-minute", 30, 0, 100000, &v, error))
    return FALSE;
  cm->max_calls_per_minute = (guint) v;
  cm->rate = bf_rate_limiter_new (cm->max_calls_per_minute, cm->max_calls_per_minute,
                                  RATE_TABLE_MAX);
  bf_module_set_reload_func (module, call_reload);
  /* Default: the users of the server that hosts us. */
  return bf_config_get_domain_list (config, "allow-domains", bf_module_get_server_domain (module),
                                    &cm->allow_domains, error);
}

static gboolean
call_start (BfModule *module, GError **error)
{
  (void) error;
  CallModule *cm = bf_module_get_data (module);
  g_autofree char *domains = cm->allow_domains ? g_strjoinv (", ", cm->allow_domains)
                                               : g_strdup ("anyone");
  g_message ("call relay on *@%s: callers from %s, ring timeout %u s, %u calls per JID, "
             "%u placed a minute", bf_module_get_domain (module), domains, cm->ring_timeout,
             cm->max_calls_per_jid, cm->max_calls_per_minute);
  return TRUE;
}

static void
call_shutdown (BfModule *module)
{
  CallModule *cm = bf_module_get_data (module);
  if (cm == NULL)
    return;
  if (cm->n_calls)
    g_message ("calls: %" G_GUINT64_FORMAT " placed, %" G_GUINT64_FORMAT " answered, %"
               G_GUINT64_FORMAT " unanswered (ring timeout), %" G_GUINT64_FORMAT " refused (%"
               G_GUINT64_FORMAT " over the rate, %" G_GUINT64_FORMAT " from a relay)",
               cm->n_calls, cm->n_answered, cm->n_timeouts, cm->n_refused, cm->n_rate_limited,
               cm->n_loops);
  g_hash_table_unref (cm->per_jid);
  bf_rate_limiter_free (cm->rate);
  g_strfreev (cm->allow_domains);
  g_free (cm);
  bf_module_set_data (module, NULL, NULL);
}

static const BfSessionHooks call_sessions = {
  .offer = call_offer,
  .media = call_media,
  .ended = call_ended,
  .answered = call_answered,
  .info = call_info,
  .content_added = call_content_added,
  .content_answered = call_content_answered,
  .content_removed = call_content_removed,
  .media_ready = call_media_ready,
};

static const char *const call_localparts[] = { BF_MODULE_ANY_LOCALPART, NULL };
static const char *const call_features[] = {
  BF_SESSION_DISCO_FEATURES,
  BF_NS_CAPS,   /* XEP-0115 §7: an entity that sends caps says so */
  NULL
};
static const BfDiscoIdentity call_identity = { "component", "generic", "Call relay" };

static const BfModuleInfo call_info_struct = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "call",
  .description = "Call relay (call user\\40domain@this-address)",
  .localparts = call_localparts,
  .identity = &call_identity,
  .features = call_features,
  .init = call_init,
  .start = call_start,
  .shutdown = call_shutdown,
  .handle_stanza = call_handle,
  .sessions = &call_sessions,
};

BF_MODULE_DEFINE (call_info_struct)
