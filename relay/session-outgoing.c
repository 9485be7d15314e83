#define G_LOG_DOMAIN "belfry-session"
/* Sessions belfry places (bf_session_place_offer with a module's offer,
 * bf_session_place with a mirror's, through one place()): the XEP-0353
 * proposal to a bare JID, the session-initiate to the resource that
 * proceeds (or to a full JID directly, falling back to a proposal if it
 * is not there), the peer's session-accept.  And the other way round: a proposal to one of
 * our addresses (receipt, ringing, proceed; the session-initiate that
 * follows must carry the proposal's media).
 *
 * What real clients do here, read from their source, decides the rules:
 * Conversations (xmpp/jingle/JingleConnectionManager.java, JingleRtpConnection.java,
 * generator/MessageGenerator.java, parser/MessageParser.java), Dino
 * (xmpp-vala/src/module/xep/0353_jingle_message_initiation.vala,
 * libdino/src/service/calls.vala), Monal (MLCall.m, MLVoIPProcessor.m,
 * MLMessageProcessor.m), Movim (app/Widgets/Visio/Visio.php). */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "random.h"
#include "jingle-describe.h"
#include "session-media-private.h"
#include "session-private.h"

static void send_proposal (BfSession *s);

/* The session is now with @peer: the manager's table is keyed by it. */
static void
set_peer (BfSession *s, const char *peer)
{
  GHashTable *table = s->mgr->table;
  g_hash_table_steal (table, s->key);
  g_free (s->key);
  g_free (s->peer);
  s->peer = g_strdup (peer);
  s->key = g_strconcat (s->peer, "\n", s->sid, NULL);
  g_hash_table_insert (table, s->key, s);
}

/* @iq, the error answering our session-initiate to a full JID, says "no
 * such resource". */
gboolean
bf_sessions_initiate_bounced (const BfStanza *iq)
{
  BfStanza *err = bf_stanza_find_child (iq, "error", NULL);
  return err && (bf_stanza_find_child (err, "service-unavailable", BF_NS_STANZAS)
                 || bf_stanza_find_child (err, "item-not-found", BF_NS_STANZAS)
                 || bf_stanza_find_child (err, "recipient-unavailable", BF_NS_STANZAS));
}

/* The resource was not there (gone, or its case lost: servers lower-case
 * the localpart that carried it, XEP-0106 cannot keep it): ring every
 * device of the bare JID instead (XEP-0353), once. */
void
bf_session_fall_back_to_proposal (BfSession *s)
{
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (s->peer, &local, &domain, NULL))
    return;
  g_message ("session %s: %s is not there; proposing to %s@%s instead", s->sid, s->peer, local,
             domain);
  s->may_propose = FALSE;
  g_autofree char *bare = g_strconcat (local, "@", domain, NULL);
  set_peer (s, bare);
  /* What we sent the resource is not answered by the bare JID. */
  bf_iq_tracker_cancel (s->mgr->iqs, s);
  g_clear_pointer (&s->js, bf_jingle_session_free);
  send_proposal (s);
}

/* Outgoing: our session-initiate, once the peer's resource and our
 * candidates are known. */
static void
send_initiate (BfSession *s)
{
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, s->sid);
  j->initiator = g_strdup (s->local);
  for (guint i = 0; i < s->ours->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->ours->contents, i);
      BfJingleContent *c = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, oc->name);
      c->senders = oc->senders;
      bf_jingle_content_take_rtp (c, bf_jingle_describe_mirror_offer (oc->rtp));
      bf_session_add_ice (s, c, BF_JINGLE_SETUP_ACTPASS);
    }
  bf_jingle_copy_groups (j, s->ours);
  bf_jingle_copy_extra (j, s->ours);
  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
    {
      g_warning ("session %s: cannot initiate: %s", s->sid, error->message);
      bf_session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "internal error", FALSE);
      return;
    }
  bf_session_send_initiate (s, j);
  BF_SETUP_TRACE ("%s", s->sid, "initiate-out");
  bf_session_set_phase (s, BF_SESSION_PHASE_INITIATED);
  g_message ("session %s to %s initiated (%u contents, %u transports)", s->sid, s->peer,
             s->ours->contents->len, s->n_transports);
}

void
bf_session_maybe_send_initiate (BfSession *s)
{
  if (s->phase == BF_SESSION_PHASE_INITIATING && bf_session_transports_gathered (s))
    send_initiate (s);
}

/* The DTLS role the answer @j takes: one of active or passive, the same
 * on every content (RFC 5763 §5; without 'setup' it is active).  We
 * offered actpass, so an answer saying actpass, or contents that disagree,
 * cannot be followed: Conversations ends such a call with <security-error/>
 * (JingleRtpConnection.java storePeerDtlsSetup(), RtpContentMap.java
 * getDtlsSetup(): "Content map doesn't have distinct DTLS setup"), and so
 * does belfry.  UNSET when refused (@why says why). */
static BfJingleSetup
answer_setup (const BfJingle *j, const char **why)
{
  BfJingleSetup found = BF_JINGLE_SETUP_UNSET;
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice == NULL || c->ice->fingerprint == NULL)
        continue;
      BfJingleSetup setup = c->ice->fingerprint->setup;
      if (setup == BF_JINGLE_SETUP_UNSET)
        setup = BF_JINGLE_SETUP_ACTIVE;
      if (setup == BF_JINGLE_SETUP_ACTPASS)
        {
          *why = "the answer's DTLS setup is actpass; an answer must be active or passive";
          return BF_JINGLE_SETUP_UNSET;
        }
      if (found != BF_JINGLE_SETUP_UNSET && setup != found)
        {
          *why = "the answer's contents disagree on the DTLS setup (active and passive)";
          return BF_JINGLE_SETUP_UNSET;
        }
      found = setup;
    }
  return found;
}

/* Outgoing: the peer accepted. */
void
bf_session_handle_accept (BfSession *s, BfJingle *j)
{
  BF_SETUP_TRACE ("%s", s->sid, "accept-in");
  const char *why = NULL;
  BfJingleReasonCondition bad = bf_jingle_check_supported (j, &why);
  BfJingleSetup setup = BF_JINGLE_SETUP_UNSET;
  if (bad == BF_JINGLE_REASON_SUCCESS && (setup = answer_setup (j, &why)) == BF_JINGLE_SETUP_UNSET)
    bad = BF_JINGLE_REASON_SECURITY_ERROR;
  if (bad == BF_JINGLE_REASON_SUCCESS)
    {
      /* The answer says whether the contents share a transport: a BUNDLE
       * group in it merges them; a peer that ignores our group (Dino)
       * keeps one per content, as we offered. */
      bf_session_transports_apply_answer (s, j);
      if (!bf_session_transports_check (s, j, &why))
        bad = BF_JINGLE_REASON_SECURITY_ERROR;
    }
  if (bad != BF_JINGLE_REASON_SUCCESS)
    {
      g_message ("session %s to %s: answer refused: %s", s->sid, s->peer, why);
      bf_jingle_free (j);
      bf_session_end (s, bad, why, TRUE);
      return;
    }
  s->theirs = j;
  bf_session_set_phase (s, BF_SESSION_PHASE_ACTIVE);
  s->dtls_setup = bf_media_dtls_setup_from_answer (bf_jingle_setup_to_string (setup));
  g_message ("session %s to %s answered (%u contents%s)", s->sid, s->peer, j->contents->len,
             s->bundled ? ", BUNDLE" : "");
  s->mgr->stats.accepted++;
  s->setup_start = g_get_monotonic_time ();   /* the ringing was not setup */
  /* The module learns of the answer before the worker does: whatever it
   * prepares for the media path is in place before media can flow. */
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  bf_session_ref (s);
  bf_session_forward_post_maps (s);
  if (info->sessions->answered)
    info->sessions->answered (s->module, s);
  for (guint i = 0; i < s->n_transports && s->phase != BF_SESSION_PHASE_ENDED; i++)
    if (s->transports[i]->in_use)
      bf_session_post_remote (s->transports[i], s->theirs);
  if (s->phase != BF_SESSION_PHASE_ENDED)
    bf_session_transports_update_route (s);
  bf_session_unref (s);
}

static gboolean
bare_equal (const char *full, const char *bare)
{
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (full, &local, &domain, NULL))
    return FALSE;
  g_autofree char *b = local ? g_strconcat (local, "@", domain, NULL) : g_strdup (domain);
  return bf_jingle_jid_equal (b, bare);
}

/* Why an answer to our proposal from @from to @to is not the callee's;
 * NULL when it is.  As Conversations takes a <proceed/> (JingleConnection
 * Manager.java deliverMessage(): "addressedDirectly", the proposal looked up
 * by from.asBareJid()): from a resource of the bare JID we proposed to, to
 * our own full JID.  Everyone else (another user, the caller's server, a
 * message to our bare address that any server may forge or fan out) is
 * ignored. */
static const char *
jmi_answer_refused (BfSession *s, const char *from, const char *to)
{
  g_autofree char *resource = NULL;
  if (from == NULL || !bf_jid_split (from, NULL, NULL, &resource) || resource == NULL)
    return "not from a full JID";
  if (!bare_equal (from, s->peer))
    return "not from the callee";
  if (to == NULL || !bf_jingle_jid_equal (to, s->local))
    return "not to our full JID";
  return NULL;
}

static void
ignore_jmi (BfSession *s, const char *what, const char *from, const char *to, const char *why)
{
  s->mgr->jmi_ignored++;
  g_message ("session %s: ignored %s from %s to %s: %s (%" G_GUINT64_FORMAT " ignored so far)",
             s->sid, what, from ? from : "(none)", to ? to : "(none)", why, s->mgr->jmi_ignored);
}

/* The callee's device rings: the module hears it once per session, however
 * many devices (and receipts and <ringing/>s) say so. */
static void
rings (BfSession *s)
{
  if (s->rang)
    return;
  s->rang = TRUE;
  bf_session_tell_info (s, BF_SESSION_INFO_RINGING, NULL);
}

/* The callee answered our proposal (XEP-0353 §3.2). */
void
bf_sessions_handle_jmi_answer (BfSessions *mgr, const BfStanza *message, BfJmi *jmi)
{
  BfSession *s = g_hash_table_lookup (mgr->proposals, jmi->id);
  const char *from = bf_stanza_get_attr (message, "from");
  const char *to = bf_stanza_get_attr (message, "to");
  if (s == NULL || s->phase != BF_SESSION_PHASE_PROPOSING)
    return;   /* late, foreign or for a proposal already taken: nothing to do */
  if (jmi->type != BF_JMI_RINGING && jmi->type != BF_JMI_PROCEED && jmi->type != BF_JMI_REJECT)
    return;   /* accept (to the callee's own JID), retract, finish: not ours to take */
  const char *why = jmi_answer_refused (s, from, to);
  if (why)
    {
      g_autofree char *what = g_strdup_printf ("<%s/>", bf_jmi_type_to_string (jmi->type));
      ignore_jmi (s, what, from, to, why);
      return;
    }
  switch (jmi->type)
    {
    case BF_JMI_RINGING:
      rings (s);
      break;
    case BF_JMI_PROCEED:
      {
        /* From now on the session is with that resource. */
        set_peer (s, from);
        bf_session_set_phase (s, BF_SESSION_PHASE_INITIATING);
        s->js = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, s->sid, s->local, s->peer);
        g_message ("session %s: %s proceeds", s->sid, s->peer);
        bf_session_maybe_send_initiate (s);
        break;
      }
    case BF_JMI_REJECT:
      /* not notified: nothing to retract */
      bf_session_end (s, jmi->reason ? jmi->reason->condition : BF_JINGLE_REASON_DECLINE, NULL,
                      FALSE);
      break;
    default:
      break;
    }
}

/* A XEP-0184 receipt for our proposal: Conversations answers the <request/>
 * of a propose as soon as it is delivered, before and besides any JMI
 * <ringing/> (parser/MessageParser.java processMessageReceipts() for JMI
 * messages), and shows "ringing" itself on such a receipt for its own
 * proposals (updateProposedSessionDiscovered(... DISCOVERED)).  The same
 * sender rules as for <proceed/>. */
void
bf_sessions_handle_jmi_receipt (BfSessions *mgr, const BfStanza *message)
{
  const char *id = bf_jmi_receipt_id (message);
  BfSession *s = id ? g_hash_table_lookup (mgr->propose_msgs, id) : NULL;
  if (s == NULL || s->phase != BF_SESSION_PHASE_PROPOSING)
    return;
  const char *from = bf_stanza_get_attr (message, "from");
  const char *to = bf_stanza_get_attr (message, "to");
  const char *why = jmi_answer_refused (s, from, to);
  if (why)
    ignore_jmi (s, "a receipt", from, to, why);
  else
    rings (s);
}

/* --- proposals to us --- */

enum { MEDIA_AUDIO = 1, MEDIA_VIDEO = 2, MEDIA_OTHER = 4 };

static guint
media_bit (const char *media)
{
  if (g_strcmp0 (media, "audio") == 0)
    return MEDIA_AUDIO;
  if (g_strcmp0 (media, "video") == 0)
    return MEDIA_VIDEO;
  return MEDIA_OTHER;
}

static char *
media_names (guint mask)
{
  GString *s = g_string_new (NULL);
  static const char *const names[] = { "audio", "video", "other" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (mask & (1u << i))
      g_string_append_printf (s, "%s%s", s->len ? "+" : "", names[i]);
  if (s->len == 0)
    g_string_append (s, "nothing");
  return g_string_free (s, FALSE);
}

typedef struct {
  guint media;
  gint64 when_us;
} Proceeded;

#define PROCEEDED_MAX 1024
#define PROCEEDED_TTL_US (120 * G_USEC_PER_SEC)   /* Monal: a propose older than 60 s is dead */

/* Bounded: entries whose session-initiate never came are dropped after
 * PROCEEDED_TTL_US; with the table still full, the new one is not kept
 * (its session-initiate is then not checked). */
static void
remember_proceeded (BfSessions *mgr, const char *from, const BfJmi *propose)
{
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, mgr->proceeded);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (now - ((Proceeded *) value)->when_us > PROCEEDED_TTL_US)
      g_hash_table_iter_remove (&it);
  if (g_hash_table_size (mgr->proceeded) >= PROCEEDED_MAX)
    {
      g_message ("proposal %s from %s: %u proposals waiting for their session-initiate; "
                 "its media will not be checked", propose->id, from, PROCEEDED_MAX);
      return;
    }
  Proceeded *p = g_new0 (Proceeded, 1);
  p->when_us = now;
  for (guint i = 0; i < propose->descriptions->len; i++)
    {
      const BfJmiDescription *d = g_ptr_array_index (propose->descriptions, i);
      if (g_strcmp0 (d->ns, BF_NS_JINGLE_RTP) == 0)
        p->media |= media_bit (d->media);
    }
  g_hash_table_replace (mgr->proceeded, g_strconcat (from, "\n", propose->id, NULL), p);
}

/* XEP-0353 §3.2, as the clients expect it from a callee: the XEP-0184
 * receipt when asked for (Conversations' "device found"), then <ringing/>
 * (Monal ends an outgoing call that gets neither ringing nor proceed within
 * 30 s: MLCall.m createDiscoveringTimeoutTimer; Conversations >= 2.13 and
 * Movim ring on it), then <proceed/>, all to the proposer's full JID from
 * the address it proposed to.  We are ready at once: the session-initiate
 * with the proposal's id follows from the proposer. */
void
bf_sessions_handle_jmi_propose (BfSessions *mgr, const BfStanza *message, BfJmi *jmi)
{
  const char *from = bf_stanza_get_attr (message, "from");
  const char *to = bf_stanza_get_attr (message, "to");
  const char *mid = bf_stanza_get_attr (message, "id");
  if (from == NULL || to == NULL)
    return;
  if (bf_sessions_over_jid_limit (mgr, from, bf_sessions_opened_by (mgr, from)))
    {
      /* XEP-0353 §3.2: the callee rejects, busy (as its session-initiate
       * would be answered). */
      g_autoptr (BfJmi) reject = bf_jmi_new (BF_JMI_REJECT, jmi->id);
      bf_jmi_set_reason (reject, BF_JINGLE_REASON_BUSY, "too many sessions from this account");
      g_autofree char *id = g_strdup_printf ("bf-m-%s-reject", jmi->id);
      g_autoptr (BfStanza) m = bf_jmi_build (reject, to, from, id);
      bf_sessions_send_stanza (mgr, m);
      return;
    }
  if (jmi->receipt_request && mid)
    {
      g_autofree char *rid = g_strdup_printf ("bf-m-%s-received", jmi->id);
      g_autoptr (BfStanza) receipt = bf_jmi_build_receipt (to, from, rid, mid);
      bf_sessions_send_stanza (mgr, receipt);
    }
  if (mgr->draining)
    {
      /* XEP-0353 §3.2: no new calls while draining (session-admin.c). */
      g_autoptr (BfJmi) reject = bf_jmi_new (BF_JMI_REJECT, jmi->id);
      bf_jmi_set_reason (reject, BF_JINGLE_REASON_BUSY, "the relay is draining");
      g_autofree char *id = g_strdup_printf ("bf-m-%s-reject", jmi->id);
      g_autoptr (BfStanza) m = bf_jmi_build (reject, to, from, id);
      bf_sessions_send_stanza (mgr, m);
      mgr->stats.busy++;
      g_message ("proposal %s from %s refused: draining", jmi->id, from);
      return;
    }
  static const BfJmiType answers[] = { BF_JMI_RINGING, BF_JMI_PROCEED };
  for (guint i = 0; i < G_N_ELEMENTS (answers); i++)
    {
      g_autoptr (BfJmi) answer = bf_jmi_new (answers[i], jmi->id);
      g_autofree char *id = g_strdup_printf ("bf-m-%s-%s", jmi->id,
                                             bf_jmi_type_to_string (answers[i]));
      g_autoptr (BfStanza) m = bf_jmi_build (answer, to, from, id);
      bf_sessions_send_stanza (mgr, m);
    }
  remember_proceeded (mgr, from, jmi);
}

/* The session-initiate that follows a proposal we proceeded must carry
 * exactly the proposal's media: Conversations ends such a call with
 * <security-error/> ("Your session proposal (Jingle Message Initiation)
 * included media %s but your session-initiate was %s", JingleRtpConnection
 * .java receiveSessionInitiate()), Monal takes video in an audio-only
 * proposal for an attack.  A session-initiate without a proposal is
 * fine (the direct path). */
BfJingleReasonCondition
bf_sessions_check_proposed_media (BfSessions *mgr, const char *from, const BfJingle *j, char **why)
{
  g_autofree char *key = g_strconcat (from, "\n", j->sid, NULL);
  Proceeded *p = g_hash_table_lookup (mgr->proceeded, key);
  if (p == NULL)
    return BF_JINGLE_REASON_SUCCESS;
  guint media = 0;
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      media |= c->rtp ? media_bit (c->rtp->media) : MEDIA_OTHER;
    }
  guint proposed = p->media;
  g_hash_table_remove (mgr->proceeded, key);
  if (media == proposed)
    return BF_JINGLE_REASON_SUCCESS;
  g_autofree char *want = media_names (proposed), *got = media_names (media);
  *why = g_strdup_printf ("the proposal (XEP-0353) was for %s but the session-initiate is %s",
                          want, got);
  return BF_JINGLE_REASON_SECURITY_ERROR;
}

/* XEP-0353 §3.1: rings every device of s->peer (a bare JID). */
static void
send_proposal (BfSession *s)
{
  bf_session_set_phase (s, BF_SESSION_PHASE_PROPOSING);
  g_hash_table_insert (s->mgr->proposals, s->sid, s);
  g_autoptr (BfJmi) propose = bf_jmi_new (BF_JMI_PROPOSE, s->sid);
  /* As Conversations proposes (MessageGenerator.java sessionProposal()): a
   * receipt request, answered by Conversations on delivery, tells us a
   * device rings; <store/> (bf_jmi_build) keeps it for offline devices. */
  propose->receipt_request = TRUE;
  for (guint i = 0; i < s->ours->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (s->ours->contents, i);
      bf_jmi_add_description (propose, BF_NS_JINGLE_RTP, c->rtp->media);
    }
  bf_session_send_jmi (s, propose);
  g_message ("session %s: proposed to %s from %s", s->sid, s->peer, s->local);
}

/* The one way a session is placed (bf_session_place, bf_session_place_
 * offer): checks the JIDs and the room for it, then offers @offer (taken;
 * its groups and extra <jingle/> children are sent as they are) from
 * @local to @peer on @worker (NULL: the pool's choice), linked to @mirror
 * if not NULL.  On failure @offer is freed and nothing changed. */
static BfSession *
place (BfSessions *mgr, BfModule *module, const char *local, const char *peer,
       BfJingle *offer, BfMediaWorker *worker, BfSession *mirror, GError **error)
{
  g_autoptr (BfJingle) ours = offer;
  if (bf_module_get_info_struct (module)->sessions == NULL)
    {
      /* Its session's hooks would have nowhere to go. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "module %s takes no sessions (BfModuleInfo.sessions)",
                   bf_module_get_info_struct (module)->name);
      return NULL;
    }
  if (mgr == NULL || mgr->stopping)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the relay is stopping");
      return NULL;
    }
  g_autofree char *pl = NULL, *pd = NULL, *pr = NULL, *ll = NULL, *ld = NULL, *lr = NULL;
  if (peer == NULL || !bf_jid_split (peer, &pl, &pd, &pr))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not a JID",
                   peer ? peer : "(null)");
      return NULL;
    }
  if (local == NULL || !bf_jid_split (local, &ll, &ld, &lr) || lr == NULL
      || (g_ascii_strcasecmp (ld, mgr->domain) != 0
          && (mgr->node_domain == NULL || g_ascii_strcasecmp (ld, mgr->node_domain) != 0)
          && (mgr->rooms_domain == NULL || g_ascii_strcasecmp (ld, mgr->rooms_domain) != 0)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not a full JID of %s", local ? local : "(null)", mgr->domain);
      return NULL;
    }
  if (g_hash_table_size (mgr->table) >= mgr->max_sessions)
    {
      mgr->stats.busy++;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%u sessions already (max-sessions)",
                   mgr->max_sessions);
      return NULL;
    }
  /* 128 bits from the CSPRNG: a sid is what an answer is matched by. */
  g_autofree char *sid = g_strdup_printf ("bf%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                                          bf_random_u64 (), bf_random_u64 ());
  BfSession *s = bf_session_new (mgr, module, sid, peer, local);
  s->outgoing = TRUE;
  g_free (ours->sid);
  ours->sid = g_strdup (sid);
  s->ours = g_steal_pointer (&ours);
  bf_session_transports_assign_own (s, s->ours);
  if (worker)
    {
      s->worker = worker;   /* one of mgr->pool's: checked by the caller */
      bf_media_worker_acquire (s->worker);
    }
  else
    s->worker = bf_media_pool_acquire (mgr->pool);
  if (mirror)
    bf_session_forward_link (s, mirror);
  mgr->stats.placed++;
  if (pr == NULL)
    send_proposal (s);   /* a bare JID: ring every device first */
  else
    {
      s->js = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, s->sid, s->local, s->peer);
      bf_session_set_phase (s, BF_SESSION_PHASE_INITIATING);
      s->may_propose = TRUE;
      g_message ("session %s: calling %s from %s", s->sid, peer, local);
    }
  bf_session_transports_start (s, NULL);
  return s;
}

BfSession *
bf_session_place (BfModule *module, const char *local, const char *peer, BfSession *mirror,
                  GError **error)
{
  g_return_val_if_fail (module != NULL && mirror != NULL, NULL);
  if (mirror->phase == BF_SESSION_PHASE_ENDED || mirror->theirs == NULL || mirror->worker == NULL
      || mirror->linked || mirror->theirs->contents->len > MAX_TRANSPORTS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s cannot be mirrored", mirror->sid);
      return NULL;
    }
  /* What the mirror's caller offered, groups included, on its worker. */
  BfJingle *offer = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "");
  for (guint i = 0; i < mirror->theirs->contents->len; i++)
    {
      const BfJingleContent *mc = g_ptr_array_index (mirror->theirs->contents, i);
      BfJingleContent *c = bf_jingle_add_content (offer, BF_JINGLE_CREATOR_INITIATOR, mc->name);
      c->senders = mc->senders;
      bf_jingle_content_take_rtp (c, bf_jingle_describe_mirror_offer (mc->rtp));
    }
  bf_jingle_copy_groups (offer, mirror->theirs);
  return place (mirror->mgr, module, local, peer, offer, mirror->worker, mirror, error);
}

BfSession *
bf_session_place_offer (BfModule *module, const char *local, const char *peer,
                        const BfSessionMedia *offer, BfWorker *worker,
                        BfStanza *const *jingle_extra, GError **error)
{
  g_return_val_if_fail (module != NULL && offer != NULL, NULL);
  if (!bf_session_media_check_offer (offer, MAX_TRANSPORTS, error))
    return NULL;
  g_autoptr (BfJingle) ours = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "");
  const BfJingle *oj = bf_session_media_get_jingle (offer);
  BfJingleGroup *bundle = bf_jingle_add_group (ours, "BUNDLE");
  for (guint i = 0; i < oj->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (oj->contents, i);
      BfJingleContent *c = bf_jingle_add_content (ours, BF_JINGLE_CREATOR_INITIATOR, oc->name);
      c->senders = oc->senders;
      bf_jingle_content_take_rtp (c, bf_jingle_describe_mirror_offer (oc->rtp));
      g_ptr_array_add (bundle->contents, g_strdup (oc->name));
    }
  g_autoptr (GError) extra_error = NULL;
  if (!bf_jingle_set_extra (ours, jingle_extra, &extra_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s", extra_error->message);
      return NULL;
    }
  /* The manager through the loader (typed): a module places without
   * holding any session. */
  BfSessions *mgr = bf_module_get_sessions (module);
  if (mgr && mgr->draining)
    {
      /* A new call of the module's own, as a new incoming one, would keep
       * the drain from ending (a relayed call's second leg still goes out:
       * its first leg came before). */
      mgr->stats.busy++;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "the relay is draining");
      return NULL;
    }
  if (worker && mgr && !bf_sessions_has_worker (mgr, (BfMediaWorker *) worker))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "that worker is not one of the relay's");
      return NULL;
    }
  return place (mgr, module, local, peer, g_steal_pointer (&ours), (BfMediaWorker *) worker,
                NULL, error);
}
