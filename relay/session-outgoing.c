#define G_LOG_DOMAIN "belfry-session"
/* Sessions belfry places (bf_session_place): the XEP-0353 proposal to a
 * bare JID, the session-initiate to the resource that proceeds (or to a
 * full JID directly, falling back to a proposal if it is not there), the
 * peer's session-accept. */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "session-describe.h"
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

/* Our session-initiate to a full JID came back as "no such resource". */
gboolean
initiate_bounced (BfSession *s, const BfStanza *iq)
{
  g_autofree char *prefix = g_strdup_printf ("bf-j%u-", s->initiate_serial);
  if (!g_str_has_prefix (bf_stanza_get_attr (iq, "id"), prefix))
    return FALSE;
  BfStanza *err = bf_stanza_find_child (iq, "error", NULL);
  return err && (bf_stanza_find_child (err, "service-unavailable", BF_NS_STANZAS)
                 || bf_stanza_find_child (err, "item-not-found", BF_NS_STANZAS)
                 || bf_stanza_find_child (err, "recipient-unavailable", BF_NS_STANZAS));
}

/* The resource was not there (gone, or its case lost: servers lower-case
 * the localpart that carried it, XEP-0106 cannot keep it): ring every
 * device of the bare JID instead (XEP-0353), once. */
void
fall_back_to_proposal (BfSession *s)
{
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (s->peer, &local, &domain, NULL))
    return;
  g_message ("session %s: %s is not there; proposing to %s@%s instead", s->sid, s->peer, local,
             domain);
  s->may_propose = FALSE;
  g_autofree char *bare = g_strconcat (local, "@", domain, NULL);
  set_peer (s, bare);
  g_clear_pointer (&s->js, bf_jingle_session_free);
  s->initiate_sent = FALSE;
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
      set_rtp (c, bf_describe_mirror_offer (oc->rtp));
      add_ice (s, c, BF_JINGLE_SETUP_ACTPASS);
    }
  copy_groups (j, s->ours);
  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
    {
      g_warning ("session %s: cannot initiate: %s", s->sid, error->message);
      session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "internal error", FALSE);
      return;
    }
  send_jingle (s, j);
  s->initiate_sent = TRUE;
  s->initiate_serial = s->iq_serial;
  g_message ("session %s to %s initiated (%u contents, %u transports)", s->sid, s->peer,
             s->ours->contents->len, s->n_transports);
}

void
maybe_send_initiate (BfSession *s)
{
  if (s->outgoing && transports_gathered (s) && !s->proposing && !s->initiate_sent && !s->ended)
    send_initiate (s);
}

/* Outgoing: the peer accepted. */
void
handle_accept (BfSession *s, BfJingle *j)
{
  const char *why = NULL;
  BfJingleReasonCondition bad = check_description (j, &why);
  if (bad == BF_JINGLE_REASON_SUCCESS)
    {
      /* The answer says whether the contents share a transport: a BUNDLE
       * group in it merges them; a peer that ignores our group (Dino)
       * keeps one per content, as we offered. */
      transports_apply_answer (s, j);
      if (!transports_check (s, j, &why))
        bad = BF_JINGLE_REASON_SECURITY_ERROR;
    }
  if (bad != BF_JINGLE_REASON_SUCCESS)
    {
      g_message ("session %s to %s: answer refused: %s", s->sid, s->peer, why);
      bf_jingle_free (j);
      session_end (s, bad, why, TRUE);
      return;
    }
  s->theirs = j;
  const BfJingleFingerprint *fp = first_fingerprint (j);
  /* RFC 5763 §5: an answer without 'setup' is active. */
  s->dtls_setup = bf_media_dtls_setup_from_answer (fp->setup == BF_JINGLE_SETUP_UNSET
                                                   ? "active"
                                                   : bf_jingle_setup_to_string (fp->setup));
  g_message ("session %s to %s answered (%u contents%s)", s->sid, s->peer, j->contents->len,
             s->bundled ? ", BUNDLE" : "");
  s->mgr->stats.accepted++;
  /* The module learns of the answer before the worker does: whatever it
   * prepares for the media path is in place before media can flow. */
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  session_ref (s);
  if (info->sessions->answered)
    info->sessions->answered (s->module, s);
  for (guint i = 0; i < s->n_transports && !s->ended; i++)
    if (s->transports[i]->in_use)
      post_remote (s->transports[i], s->theirs);
  if (!s->ended)
    transports_update_route (s);
  session_unref (s);
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

/* The callee answered our proposal (XEP-0353 §3.2). */
void
handle_jmi_answer (BfSessions *mgr, const BfStanza *message, BfJmi *jmi)
{
  BfSession *s = g_hash_table_lookup (mgr->proposals, jmi->id);
  const char *from = bf_stanza_get_attr (message, "from");
  if (s == NULL || s->ended || from == NULL || !s->proposing || !bare_equal (from, s->peer))
    return;   /* late, foreign or for a proposal already taken: nothing to do */
  switch (jmi->type)
    {
    case BF_JMI_RINGING:
      tell_info (s, BF_SESSION_INFO_RINGING, NULL);
      break;
    case BF_JMI_PROCEED:
      {
        g_autofree char *resource = NULL;
        if (!bf_jid_split (from, NULL, NULL, &resource) || resource == NULL)
          return;
        /* From now on the session is with that resource. */
        set_peer (s, from);
        s->proposing = FALSE;
        s->js = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, s->sid, s->local, s->peer);
        g_message ("session %s: %s proceeds", s->sid, s->peer);
        maybe_send_initiate (s);
        break;
      }
    case BF_JMI_REJECT:
      s->proposing = FALSE;   /* nothing to retract */
      session_end (s, jmi->reason ? jmi->reason->condition : BF_JINGLE_REASON_DECLINE, NULL,
                   FALSE);
      break;
    default:
      break;
    }
}

/* XEP-0353 §3.1: rings every device of s->peer (a bare JID). */
static void
send_proposal (BfSession *s)
{
  s->proposing = TRUE;
  g_hash_table_insert (s->mgr->proposals, s->sid, s);
  g_autoptr (BfJmi) propose = bf_jmi_new (BF_JMI_PROPOSE, s->sid);
  for (guint i = 0; i < s->ours->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (s->ours->contents, i);
      bf_jmi_add_description (propose, BF_NS_JINGLE_RTP, c->rtp->media);
    }
  send_jmi (s, propose);
  g_message ("session %s: proposed to %s from %s", s->sid, s->peer, s->local);
}

BfSession *
bf_session_place (BfModule *module, const char *local, const char *peer, BfSession *mirror,
                  GError **error)
{
  BfSessions *mgr = bf_module_get_sessions (module);
  g_return_val_if_fail (mgr != NULL && mirror != NULL, NULL);
  g_autofree char *pl = NULL, *pd = NULL, *pr = NULL, *ll = NULL, *ld = NULL, *lr = NULL;
  if (!bf_jid_split (peer, &pl, &pd, &pr))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not a JID", peer);
      return NULL;
    }
  if (!bf_jid_split (local, &ll, &ld, &lr) || lr == NULL || g_ascii_strcasecmp (ld, mgr->domain) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not a full JID of %s", local, mgr->domain);
      return NULL;
    }
  if (mirror->ended || mirror->theirs == NULL || mirror->worker == NULL || mirror->linked
      || mirror->theirs->contents->len > MAX_TRANSPORTS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s cannot be mirrored", mirror->sid);
      return NULL;
    }
  if (g_hash_table_size (mgr->table) >= mgr->max_sessions)
    {
      mgr->stats.busy++;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%u sessions already (max-sessions)",
                   mgr->max_sessions);
      return NULL;
    }
  g_autofree char *sid = g_strdup_printf ("bf%08x%08x", g_random_int (), g_random_int ());
  BfSession *s = session_new (mgr, module, sid, peer, local);
  s->outgoing = TRUE;
  s->ours = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, sid);
  for (guint i = 0; i < mirror->theirs->contents->len; i++)
    {
      const BfJingleContent *mc = g_ptr_array_index (mirror->theirs->contents, i);
      BfJingleContent *c = bf_jingle_add_content (s->ours, BF_JINGLE_CREATOR_INITIATOR, mc->name);
      c->senders = mc->senders;
      set_rtp (c, bf_describe_mirror_offer (mc->rtp));
    }
  copy_groups (s->ours, mirror->theirs);
  transports_assign_own (s, s->ours);
  s->linked = session_ref (mirror);
  mirror->linked = session_ref (s);
  s->worker = mirror->worker;
  bf_media_worker_acquire (s->worker);
  mgr->stats.placed++;
  if (pr == NULL)
    send_proposal (s);   /* a bare JID: ring every device first */
  else
    {
      s->js = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, s->sid, s->local, s->peer);
      s->may_propose = TRUE;
      g_message ("session %s: calling %s from %s", s->sid, peer, local);
    }
  transports_start (s, NULL);
  return s;
}
