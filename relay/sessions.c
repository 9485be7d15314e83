#define G_LOG_DOMAIN "belfry-session"
/* The session manager (sessions.h).
 *
 * Lifetime: a BfSession is reference-counted because two threads hold it:
 * the main thread (signalling, in the manager's table until it ends) and
 * its media worker (the transport's callbacks).  The transport itself is
 * created, used and freed on the worker only; everything else of the
 * session is touched on the main thread only, except the SSRC table,
 * which is written before the worker ever sees the session, and the w_
 * fields, which are the worker's.
 *
 * Two kinds of session: incoming (a peer's session-initiate; we answer,
 * at once or when the module says so) and outgoing (bf_session_place: we
 * offer, after a XEP-0353 proposal when the peer is a bare JID).  The two
 * legs of a relayed call are linked (session-forward.c): on their shared
 * worker each holds a reference to the other until its own teardown, so a
 * packet received on one leg can always be forwarded to the other. */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "random.h"
#include "jingle-describe.h"
#include "session-media-private.h"
#include "session-private.h"

BfSession *
bf_session_ref (BfSession *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

void
bf_session_unref (BfSession *s)
{
  if (!g_atomic_ref_count_dec (&s->ref))
    return;
  if (s->data_destroy)
    s->data_destroy (s->data);
  /* A session dropped without bf_session_end (a refused initiate) leaves the
   * gauge here (atomic: this may run on a worker). */
  bf_core_metrics_session_state (s->module, &s->metric_state, NULL);
  g_free (s->key);
  g_free (s->sid);
  g_free (s->peer);
  g_free (s->local);
  g_free (s->cname);
  g_strfreev (s->w.contents.names);
  g_free (s->propose_msg_id);
  bf_jingle_session_free (s->js);
  bf_jingle_free (s->theirs);
  bf_jingle_free (s->ours);
  bf_session_transports_free (s);
  g_free (s);
}

void
bf_session_set_phase (BfSession *s, BfSessionPhase phase)
{
  if (!bf_session_phase_allowed (s->phase, phase))
    {
      g_critical ("session %s: no transition from %s to %s", s->sid,
                  bf_session_phase_to_string (s->phase), bf_session_phase_to_string (phase));
      return;
    }
  s->phase = phase;
}

/* --- the public session API (getters) --- */

const char *
bf_session_get_cname (BfSession *session)
{
  return session->cname;
}

const char *
bf_session_get_peer (BfSession *session)
{
  return session->peer;
}

const char *
bf_session_get_local (BfSession *session)
{
  return session->local;
}

const char *
bf_session_get_sid (BfSession *session)
{
  return session->sid;
}

gboolean
bf_session_is_outgoing (BfSession *session)
{
  return session->outgoing;
}

/* belfry/worker.h: a BfWorker is the session's BfMediaWorker
 * (module-worker.c); set before offer() and changed only from there
 * (bf_session_set_worker), before anything was posted to it. */
BfWorker *
bf_session_get_worker (BfSession *session)
{
  return (BfWorker *) session->worker;
}

void
bf_session_set_data (BfSession *session, gpointer data, GDestroyNotify destroy)
{
  if (session->data_destroy && session->data != data)
    session->data_destroy (session->data);
  session->data = data;
  session->data_destroy = destroy;
}

gpointer
bf_session_get_data (BfSession *session)
{
  return session->data;
}

gboolean
bf_session_send_rtp (BfSession *session, const guint8 *data, gsize len)
{
  g_return_val_if_fail (session->worker && bf_media_worker_is_current (session->worker), FALSE);
  BfMediaTransport *t = session->w.torn_down ? NULL
                                           : bf_session_worker_transport_for (session, FALSE, data, len);
  return t && bf_media_transport_send_rtp (t, data, len);
}

gboolean
bf_session_send_rtcp (BfSession *session, const guint8 *data, gsize len)
{
  g_return_val_if_fail (session->worker && bf_media_worker_is_current (session->worker), FALSE);
  BfMediaTransport *t = session->w.torn_down ? NULL
                                           : bf_session_worker_transport_for (session, TRUE, data, len);
  return t && bf_media_transport_send_rtcp (t, data, len);
}

guint
bf_session_request_keyframe (BfSession *session)
{
  g_return_val_if_fail (session->worker && bf_media_worker_is_current (session->worker), 0);
  guint sent = 0;
  for (guint i = 0; !session->w.torn_down && i < session->w.video.n; i++)
    {
      guint8 buf[BF_VIDEO_SOURCES_REQUEST_MAX];
      gsize n = bf_video_sources_request (&session->w.video, i, buf);
      if (n > 0 && bf_session_send_rtcp (session, buf, n))
        sent++;
    }
  if (sent)
    g_debug ("session %s: asked the peer for keyframes of %u video streams", session->sid, sent);
  return sent;
}

/* --- signalling helpers (main thread) --- */

void
bf_sessions_send_stanza (BfSessions *mgr, const BfStanza *stanza)
{
  if (mgr->send)
    mgr->send (mgr->send_data, stanza);
}

static gboolean
is_identity_parameter (const char *name)
{
  static const char *const names[] = { "cname", "msid", "label", "mslabel", NULL };
  return name && g_strv_contains (names, name);
}

/* A relayed call's sources (XEP-0339) come from the other leg: its
 * cname, msid (and Plan B's label, mslabel) name the other party's
 * endpoint and tracks.  They are replaced by this leg's own: our cname
 * (also what the call module puts in the RTCP SDES it relays) and one
 * stream of ours with a track per content. */
static void
own_sources (BfSession *s, BfJingle *j)
{
  for (guint i = 0; i < j->contents->len; i++)
    {
      BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->rtp == NULL)
        continue;
      g_autofree char *track = g_strconcat (s->cname, "-", c->name, NULL);
      g_autofree char *msid = g_strconcat (s->cname, " ", track, NULL);
      for (guint k = 0; k < c->rtp->sources->len; k++)
        {
          BfJingleSource *src = g_ptr_array_index (c->rtp->sources, k);
          gboolean had_msid = FALSE, had_label = FALSE;
          for (guint m = src->parameters->len; m-- > 0;)
            {
              const BfJingleParameter *p = g_ptr_array_index (src->parameters, m);
              if (!is_identity_parameter (p->name))
                continue;
              had_msid |= strcmp (p->name, "msid") == 0;
              had_label |= strcmp (p->name, "label") == 0 || strcmp (p->name, "mslabel") == 0;
              g_ptr_array_remove_index (src->parameters, m);
            }
          bf_jingle_parameters_add (src->parameters, "cname", s->cname);
          if (had_msid)
            bf_jingle_parameters_add (src->parameters, "msid", msid);
          if (had_label)
            {
              bf_jingle_parameters_add (src->parameters, "mslabel", s->cname);
              bf_jingle_parameters_add (src->parameters, "label", track);
            }
        }
    }
}

/* The answer to one of our Jingle requests (iq-tracker.h).  An error ends
 * the session, or, for our session-initiate to a full JID that is not
 * there, falls back to a proposal.  A result, or no answer in time, needs
 * nothing. */
static void
jingle_answered (BfSession *s, const BfStanza *answer, gboolean initiate)
{
  if (answer == NULL || g_strcmp0 (bf_stanza_get_attr (answer, "type"), "error") != 0)
    return;
  /* Still the session with that peer (the tracker checked the answer
   * comes from where the request went; a session that left the table or
   * changed peer has cancelled its requests, this is a second guard). */
  if (g_strcmp0 (bf_stanza_get_attr (answer, "from"), s->peer) != 0
      || g_hash_table_lookup (s->mgr->table, s->key) != s)
    return;
  if (initiate && s->may_propose && s->phase == BF_SESSION_PHASE_INITIATED
      && bf_sessions_initiate_bounced (answer))
    bf_session_fall_back_to_proposal (s);
  else
    bf_session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "the peer refused our request", FALSE);
}

static void
on_jingle_answer (gpointer data, const BfStanza *answer)
{
  jingle_answered (data, answer, FALSE);
}

static void
on_initiate_answer (gpointer data, const BfStanza *answer)
{
  jingle_answered (data, answer, TRUE);
}

static void
send_jingle_request (BfSession *s, BfJingle *j, BfIqAnswerFunc on_answer)
{
  if (s->linked)
    own_sources (s, j);
  /* The entry holds a reference; bf_session_end cancels it. */
  g_autofree char *id = bf_iq_tracker_add (s->mgr->iqs, s->peer, on_answer, bf_session_ref (s),
                                           (GDestroyNotify) bf_session_unref);
  g_autoptr (BfStanza) iq = bf_jingle_build (j, s->local, s->peer, id);
  bf_sessions_send_stanza (s->mgr, iq);
}

void
bf_session_send_jingle (BfSession *s, BfJingle *j)
{
  send_jingle_request (s, j, on_jingle_answer);
}

void
bf_session_send_initiate (BfSession *s, BfJingle *j)
{
  send_jingle_request (s, j, on_initiate_answer);
}

void
bf_session_send_jmi (BfSession *s, const BfJmi *jmi)
{
  /* One id per message (RFC 6120 §8.1.3).  The propose's is random and
   * kept in a table: a bounce or a receipt names it (never parsed). */
  g_autofree char *id = NULL;
  if (jmi->type == BF_JMI_PROPOSE)
    {
      if (s->propose_msg_id)
        g_hash_table_remove (s->mgr->propose_msgs, s->propose_msg_id);
      g_free (s->propose_msg_id);
      s->propose_msg_id = g_strdup_printf ("bf-p-%016" G_GINT64_MODIFIER "x", bf_random_u64 ());
      g_hash_table_insert (s->mgr->propose_msgs, s->propose_msg_id, s);
      id = g_strdup (s->propose_msg_id);
    }
  else
    id = g_strdup_printf ("bf-m-%s-%s", s->sid, bf_jmi_type_to_string (jmi->type));
  g_autoptr (BfStanza) m = bf_jmi_build (jmi, s->local, s->peer, id);
  bf_sessions_send_stanza (s->mgr, m);
}

/* Incoming: our session-accept, once our candidates are known. */
static void
send_accept (BfSession *s)
{
  BfSessions *mgr = s->mgr;
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, s->sid);
  j->initiator = g_strdup (s->theirs->initiator ? s->theirs->initiator : s->peer);
  j->responder = g_strdup (s->local);
  BfJingleSetup setup = s->dtls_setup == BF_MEDIA_DTLS_SETUP_ACTIVE ? BF_JINGLE_SETUP_ACTIVE
                                                                    : BF_JINGLE_SETUP_PASSIVE;
  for (guint i = 0; i < s->theirs->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->theirs->contents, i);
      /* Every way of accepting (bf_session_accept, BF_SESSION_ACCEPT
       * through it, bf_session_accept_mirrored) answered every content. */
      const BfJingleContent *mine = bf_jingle_find_content (s->ours, oc->name);
      g_return_if_fail (mine != NULL);
      BfJingleContent *c = bf_jingle_add_content (j, oc->creator, oc->name);
      c->senders = mine->senders;
      bf_jingle_content_take_rtp (c, bf_jingle_describe_mirror_offer (mine->rtp));
      bf_session_add_ice (s, c, setup);
    }
  bf_jingle_copy_groups (j, s->theirs);
  bf_jingle_copy_extra (j, s->ours);
  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
    {
      g_warning ("session %s: cannot accept: %s", s->sid, error->message);
      bf_session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "internal error", TRUE);
      return;
    }
  bf_session_send_jingle (s, j);
  BF_SETUP_TRACE ("%s", s->sid, "accept-out");
  bf_session_set_phase (s, BF_SESSION_PHASE_ACTIVE);
  mgr->stats.accepted++;
  g_message ("session %s with %s accepted (%u contents, %u transports)", s->sid, s->peer,
             s->theirs->contents->len, s->n_transports);
}

#define HANGUP_GRACE_MS 2000

static gboolean
on_hangup_grace (gpointer data)
{
  BfSession *s = data;
  s->hangup_grace = 0;
  if (s->phase != BF_SESSION_PHASE_ENDED)
    {
      g_message ("session %s: no session-terminate from %s after it closed its media", s->sid,
                 s->peer);
      bf_session_end (s, BF_JINGLE_REASON_GONE, "the peer closed its media", TRUE);
    }
  return G_SOURCE_REMOVE;
}

gboolean
bf_session_on_worker_news (gpointer data)
{
  BfSessionWorkerNews *n = data;
  BfSession *s = n->session;
  if (s->mgr == NULL || s->phase == BF_SESSION_PHASE_ENDED || n->transport >= s->n_transports
      || !s->transports[n->transport]->in_use)
    return G_SOURCE_REMOVE;   /* news of a transport dropped since */
  switch (n->type)
    {
    case BF_MEDIA_EVENT_GATHERING_DONE:
      {
        BF_SETUP_TRACE ("%s", s->sid, "gathered-news");
        gboolean restarted = n->restarted;
        bf_session_transports_on_gathered (s, n);
        if (restarted || s->phase == BF_SESSION_PHASE_ENDED || !bf_session_transports_gathered (s))
          break;
        if (s->outgoing)
          bf_session_maybe_send_initiate (s);
        else if (s->phase == BF_SESSION_PHASE_ACCEPTING)
          send_accept (s);
        break;
      }
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
      BF_SETUP_TRACE ("%s", s->sid, "dtls-news");
      if (s->setup_start)
        {
          bf_core_metrics_setup_time (s->module, g_get_monotonic_time () - s->setup_start);
          s->setup_start = 0;
          bf_core_metrics_session_state (s->module, &s->metric_state,
                                         BF_SESSION_STATE_ESTABLISHED);
        }
      if (s->n_transports > 1)
        g_message ("session %s: media secured on transport %u (%s)", s->sid, n->transport,
                   bf_media_srtp_profile_name (n->profile));
      else
        g_message ("session %s: media secured (%s)", s->sid,
                   bf_media_srtp_profile_name (n->profile));
      break;
    case BF_MEDIA_EVENT_DTLS_FAILED:
      if (g_error_matches (n->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CLOSED))
        {
          /* A close_notify is how a WebRTC peer hangs up: its
           * session-terminate (with the reason to pass on) follows over
           * XMPP, usually within milliseconds.  Wait for it, briefly. */
          g_message ("session %s: %s closed its media; waiting for its session-terminate",
                     s->sid, s->peer);
          if (s->hangup_grace == 0)
            s->hangup_grace = g_timeout_add_full (G_PRIORITY_DEFAULT, HANGUP_GRACE_MS,
                                                  on_hangup_grace, bf_session_ref (s),
                                                  (GDestroyNotify) bf_session_unref);
          break;
        }
      G_GNUC_FALLTHROUGH;
    case BF_MEDIA_EVENT_ICE_FAILED:
      {
        g_warning ("session %s with %s failed: %s", s->sid, s->peer,
                   n->error ? n->error->message : "transport failure");
        s->mgr->stats.failed++;
        bf_core_metrics_transport_failed (s->module,
                                          n->type == BF_MEDIA_EVENT_DTLS_FAILED ? "dtls" : "ice",
                                          n->error);
        /* Any DTLS failure (a fingerprint mismatch above all) is a security
         * error; an ICE failure is the transport's. */
        bf_session_end (s, n->type == BF_MEDIA_EVENT_DTLS_FAILED ? BF_JINGLE_REASON_SECURITY_ERROR
                                                               : BF_JINGLE_REASON_FAILED_TRANSPORT,
                        n->error ? n->error->message : NULL, TRUE);
        break;
      }
    default:
      break;
    }
  return G_SOURCE_REMOVE;
}

/* Ends a session on the main thread: tells the peer (@notify_peer) with a
 * session-terminate, or a JMI retract for a proposal nobody took yet, or
 * nothing when nothing was sent; then the module's ended(), the worker
 * teardown.  Idempotent. */
void
bf_session_end (BfSession *s, BfJingleReasonCondition reason, const char *text, gboolean notify_peer)
{
  BfSessionPhase was = s->phase;
  if (was == BF_SESSION_PHASE_ENDED)
    return;
  bf_session_set_phase (s, BF_SESSION_PHASE_ENDED);
  BfSessions *mgr = s->mgr;
  bf_session_ref (s);
  g_clear_handle_id (&s->hangup_grace, g_source_remove);
  if (notify_peer && was == BF_SESSION_PHASE_PROPOSING)
    {
      /* XEP-0353 §3.3: the proposer withdraws. */
      g_autoptr (BfJmi) retract = bf_jmi_new (BF_JMI_RETRACT, s->sid);
      bf_jmi_set_reason (retract, reason, text);
      bf_session_send_jmi (s, retract);
    }
  else if (notify_peer && (!s->outgoing || was == BF_SESSION_PHASE_INITIATED
                           || was == BF_SESSION_PHASE_ACTIVE))
    {
      g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_TERMINATE, s->sid);
      bf_jingle_set_reason (j, reason, text);
      bf_session_send_jingle (s, j);
    }
  g_message ("session %s with %s ended: %s", s->sid, s->peer, bf_jingle_reason_to_string (reason));
  mgr->stats.ended++;
  bf_core_metrics_session_ended (s->module, bf_jingle_reason_to_string (reason));
  bf_core_metrics_session_state (s->module, &s->metric_state, NULL);
  if (s->outgoing)
    g_hash_table_remove (mgr->proposals, s->sid);
  if (s->propose_msg_id)
    g_hash_table_remove (mgr->propose_msgs, s->propose_msg_id);
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->ended)
    info->sessions->ended (s->module, s, bf_jingle_reason_to_string (reason));
  bf_session_forward_unlink (s);
  /* After ended(): what the module posted there runs first (session.h
   * promises it; jobs run in posting order). */
  if (s->worker)
    bf_media_worker_invoke (s->worker, bf_session_worker_teardown, bf_session_ref (s),
                            (GDestroyNotify) bf_session_unref);
  else
    mgr->live_on_workers--;
  g_hash_table_remove (mgr->table, s->key);
  bf_iq_tracker_cancel (mgr->iqs, s);
  bf_sessions_admin_on_session_gone (mgr);
  bf_session_unref (s);
}

void
bf_sessions_ack (BfSessions *mgr, const BfStanza *iq)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  bf_sessions_send_stanza (mgr, reply);
}

static char *
bare_lower (const char *jid)
{
  g_autofree char *local = NULL, *domain = NULL;
  if (jid == NULL || !bf_jid_split (jid, &local, &domain, NULL))
    return NULL;
  g_autofree char *bare = local ? g_strconcat (local, "@", domain, NULL) : g_strdup (domain);
  return g_utf8_strdown (bare, -1);
}

/* The live sessions @jid's bare JID opened (its own session-initiates, to
 * any module).  A leg we place for a relayed call is not counted: it exists
 * only beside the caller's session, which is.  Linear in the sessions
 * (bounded by max-sessions), once per new session. */
guint
bf_sessions_opened_by (BfSessions *mgr, const char *jid)
{
  g_autofree char *bare = bare_lower (jid);
  if (bare == NULL)
    return 0;
  guint n = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, mgr->table);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      BfSession *o = value;
      if (o->outgoing || o->phase == BF_SESSION_PHASE_ENDED)
        continue;
      g_autofree char *b = bare_lower (o->peer);
      n += g_strcmp0 (b, bare) == 0;
    }
  return n;
}

/* Whether one more session from @jid (which holds @held) is over
 * [limits] max-sessions-per-jid; counts and logs the refusal. */
gboolean
bf_sessions_over_jid_limit (BfSessions *mgr, const char *jid, guint held)
{
  if (mgr->max_per_jid == 0 || held < mgr->max_per_jid)
    return FALSE;
  mgr->stats.busy_per_jid++;
  g_message ("%s holds %u sessions already ([limits] max-sessions-per-jid = %u): refused "
             "(%" G_GUINT64_FORMAT " so far)", jid, held, mgr->max_per_jid,
             mgr->stats.busy_per_jid);
  return TRUE;
}

BfSession *
bf_session_new (BfSessions *mgr, BfModule *module, const char *sid, const char *peer,
                const char *local)
{
  BfSession *s = g_new0 (BfSession, 1);
  g_atomic_ref_count_init (&s->ref);
  s->mgr = mgr;
  s->module = module;
  s->sid = g_strdup (sid);
  s->peer = g_strdup (peer);
  s->local = g_strdup (local);
  s->cname = g_strdup_printf ("bf%016" G_GINT64_MODIFIER "x", bf_random_u64 ());
  /* The sender of our keyframe requests: random, like the cname. */
  guint32 own_ssrc;
  do
    own_ssrc = bf_random_u32 ();
  while (own_ssrc == 0);
  bf_video_sources_init (&s->w.video, own_ssrc);
  s->key = g_strconcat (peer, "\n", sid, NULL);
  s->started = g_get_real_time ();
  g_hash_table_insert (mgr->table, s->key, s);
  mgr->live_on_workers++;
  s->setup_start = g_get_monotonic_time ();
  bf_core_metrics_session_started (module, &s->metric_state);
  return s;
}

/* BF_SESSION_ACCEPT: the answer a module that takes whatever the caller
 * sends would build (bf_session_media_copy_content of every content, no
 * source of ours), accepted as a module's answer is, so that there is one
 * way an answer is made and checked. */
static gboolean
accept_as_offered (BfSession *s)
{
  g_autoptr (BfSessionMedia) offer = bf_session_media_new_from_jingle (s->theirs);
  g_autoptr (BfSessionMedia) answer = bf_session_media_new ();
  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    bf_session_media_copy_content (answer, offer, c);
  g_autoptr (GError) error = NULL;
  if (!bf_session_accept (s, answer, &error))
    {
      g_warning ("session %s: cannot accept: %s", s->sid, error->message);
      bf_session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "internal error", TRUE);
      return FALSE;
    }
  return TRUE;
}

static void
handle_initiate (BfSessions *mgr, BfModule *module, const BfStanza *iq, BfJingle *j)
{
  const char *from = bf_stanza_get_attr (iq, "from");
  const char *to = bf_stanza_get_attr (iq, "to");
  BfSession *s = bf_session_new (mgr, module, j->sid, from, to);
  s->theirs = j;
  s->js = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, j->sid, to, from);
  mgr->stats.initiated++;

  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_INCOMING, &error))
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      bf_sessions_send_stanza (mgr, reply);
      bf_session_set_phase (s, BF_SESSION_PHASE_ENDED);   /* nothing to terminate */
      mgr->live_on_workers--;
      g_hash_table_remove (mgr->table, s->key);
      return;
    }
  bf_sessions_ack (mgr, iq);
  BF_SETUP_TRACE ("%s", s->sid, "initiate-in");

  const char *why = NULL;
  BfJingleReasonCondition bad = bf_jingle_check_supported (j, &why);
  if (bad == BF_JINGLE_REASON_SUCCESS)
    {
      /* One transport per BUNDLE group, and one per content outside any
       * (Dino's way). */
      bf_session_transports_assign_offer (s, j);
      if (!bf_session_transports_check (s, j, &why))
        bad = BF_JINGLE_REASON_SECURITY_ERROR;
    }
  if (bad != BF_JINGLE_REASON_SUCCESS)
    {
      g_message ("session %s from %s refused: %s", s->sid, from, why);
      bf_session_end (s, bad, why, TRUE);
      return;
    }
  g_autofree char *media_why = NULL;
  bad = bf_sessions_check_proposed_media (mgr, from, j, &media_why);   /* XEP-0353: what was proposed */
  if (bad != BF_JINGLE_REASON_SUCCESS)
    {
      g_message ("session %s from %s refused: %s", s->sid, from, media_why);
      bf_session_end (s, bad, media_why, TRUE);
      return;
    }
  if (mgr->draining)
    {
      mgr->stats.busy++;
      g_message ("session %s from %s refused: draining", s->sid, from);
      bf_session_end (s, BF_JINGLE_REASON_BUSY, "the relay is draining", TRUE);
      return;
    }
  if (g_hash_table_size (mgr->table) > mgr->max_sessions)
    {
      mgr->stats.busy++;
      g_message ("session %s from %s refused: %u sessions already (max-sessions)", s->sid, from,
                 mgr->max_sessions);
      bf_session_end (s, BF_JINGLE_REASON_BUSY, "too many sessions", TRUE);
      return;
    }
  /* Fair use: one account cannot take every slot (s itself is counted). */
  guint held = bf_sessions_opened_by (mgr, from);
  if (bf_sessions_over_jid_limit (mgr, from, held > 0 ? held - 1 : 0))
    {
      g_message ("session %s from %s refused: busy (per-JID limit)", s->sid, from);
      bf_session_end (s, BF_JINGLE_REASON_BUSY, "too many sessions from this account", TRUE);
      return;
    }

  guint n_sources = 0;
  for (guint i = 0; i < j->contents->len; i++)
    n_sources += ((BfJingleContent *) g_ptr_array_index (j->contents, i))->rtp->sources->len;
  const BfJingleFingerprint *fp = bf_jingle_first_fingerprint (j);
  /* No 'setup' (XEP-0320 requires one; some clients omit it): treat the
   * offer as actpass, the offerer's usual role. */
  s->dtls_setup = bf_media_dtls_setup_for_answer (fp->setup == BF_JINGLE_SETUP_UNSET
                                                  ? "actpass"
                                                  : bf_jingle_setup_to_string (fp->setup));
  g_message ("session %s from %s to %s: %u contents, %u SSRCs, %u transports%s", s->sid, from,
             to, j->contents->len, n_sources, s->n_transports,
             s->bundled ? " (BUNDLE)" : "");
  /* The worker is chosen before the module decides, so that a session it
   * places for this one can share it. */
  s->worker = bf_media_pool_acquire (mgr->pool);

  const BfModuleInfo *info = bf_module_get_info_struct (module);
  BfSessionDecision decision = BF_SESSION_ACCEPT;
  bf_session_ref (s);
  if (info->sessions->offer)
    decision = info->sessions->offer (module, s);
  if (s->phase == BF_SESSION_PHASE_ENDED)
    ;   /* the module ended it itself */
  else if (s->phase == BF_SESSION_PHASE_ACCEPTING)
    bf_session_transports_start (s, s->theirs);   /* accepted with its own answer */
  else if (decision == BF_SESSION_DECLINE)
    {
      mgr->stats.declined++;
      bf_session_end (s, BF_JINGLE_REASON_DECLINE, NULL, TRUE);
    }
  else if (decision == BF_SESSION_DEFER)
    bf_session_set_phase (s, BF_SESSION_PHASE_DEFERRED);
  else if (accept_as_offered (s))
    bf_session_transports_start (s, s->theirs);
  bf_session_unref (s);
}

static const BfSessionInfo info_kinds[] = {
  [BF_JINGLE_INFO_ACTIVE] = BF_SESSION_INFO_ACTIVE,
  [BF_JINGLE_INFO_HOLD] = BF_SESSION_INFO_HOLD,
  [BF_JINGLE_INFO_UNHOLD] = BF_SESSION_INFO_UNHOLD,
  [BF_JINGLE_INFO_MUTE] = BF_SESSION_INFO_MUTE,
  [BF_JINGLE_INFO_UNMUTE] = BF_SESSION_INFO_UNMUTE,
  [BF_JINGLE_INFO_RINGING] = BF_SESSION_INFO_RINGING,
};

void
bf_session_tell_info (BfSession *s, BfSessionInfo kind, const char *name)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->info)
    info->sessions->info (s->module, s, kind, name);
}

/* description-info (j: parsed, every content with an RTP description,
 * bounded as any description is: jingle-parse.c) to the module, if it
 * takes it. */
static void
tell_description_info (BfSession *s, const BfJingle *j)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->description_info == NULL || s->phase == BF_SESSION_PHASE_ENDED)
    return;
  g_autoptr (BfSessionMedia) suggested = bf_session_media_new_from_jingle (j);
  info->sessions->description_info (s->module, s, suggested);
}

/* Trickled candidates for a session whose transport does not exist yet
 * (the module has not answered): added to the offer's, which the worker
 * reads when it starts; bounded like a single transport. */
static void
keep_candidates (BfSession *s, const BfJingle *j)
{
  if (!bf_jingle_merge_candidates (s->theirs, j))
    g_debug ("session %s: trickled candidate dropped (limit)", s->sid);
}

static gboolean
handle_jingle_iq (BfSessions *mgr, BfModule *module, const BfStanza *iq)
{
  g_autoptr (GError) error = NULL;
  BfJingle *j = bf_jingle_parse (iq, &error);
  if (j == NULL)
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      bf_sessions_send_stanza (mgr, reply);
      return TRUE;
    }
  const char *from = bf_stanza_get_attr (iq, "from");
  g_autofree char *key = g_strconcat (from, "\n", j->sid, NULL);
  BfSession *s = g_hash_table_lookup (mgr->table, key);
  if (j->action == BF_JINGLE_ACTION_SESSION_INITIATE && s == NULL)
    {
      handle_initiate (mgr, module, iq, j);   /* takes j */
      return TRUE;
    }
  g_autoptr (BfJingle) owned = j;
  if (s == NULL || s->js == NULL)
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error_code (iq, BF_JINGLE_ERROR_UNKNOWN_SESSION,
                                                               NULL);
      bf_sessions_send_stanza (mgr, reply);
      return TRUE;
    }
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_INCOMING, &error))
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      bf_sessions_send_stanza (mgr, reply);
      return TRUE;
    }
  bf_session_ref (s);   /* hooks below may end it */
  switch (j->action)
    {
    case BF_JINGLE_ACTION_CONTENT_ADD:
      bf_sessions_ack (mgr, iq);
      bf_session_handle_content_add (s, j);
      break;
    case BF_JINGLE_ACTION_CONTENT_ACCEPT:
    case BF_JINGLE_ACTION_CONTENT_REJECT:
      bf_sessions_ack (mgr, iq);
      bf_session_handle_content_answer (s, j);
      break;
    case BF_JINGLE_ACTION_CONTENT_REMOVE:
      bf_sessions_ack (mgr, iq);
      bf_session_handle_content_remove (s, j);
      break;
    case BF_JINGLE_ACTION_SESSION_ACCEPT:
      bf_sessions_ack (mgr, iq);
      bf_session_handle_accept (s, g_steal_pointer (&owned));
      break;
    case BF_JINGLE_ACTION_TRANSPORT_INFO:
      bf_sessions_ack (mgr, iq);
      if (s->phase == BF_SESSION_PHASE_DEFERRED)
        keep_candidates (s, j);   /* no transport yet: it starts with them */
      else if (s->worker)
        bf_session_handle_transport_info (s, j);   /* candidates, or an ICE restart */
      break;
    case BF_JINGLE_ACTION_TRANSPORT_REPLACE:
      bf_sessions_ack (mgr, iq);
      if (s->phase == BF_SESSION_PHASE_DEFERRED || s->worker == NULL)
        bf_session_reject_transport_replace (s, j);
      else
        bf_session_handle_transport_replace (s, j);
      break;
    case BF_JINGLE_ACTION_SESSION_TERMINATE:
      bf_sessions_ack (mgr, iq);
      bf_session_end (s, j->reason ? j->reason->condition : BF_JINGLE_REASON_SUCCESS, NULL, FALSE);
      break;
    case BF_JINGLE_ACTION_SESSION_INFO:
      bf_sessions_ack (mgr, iq);
      if (j->info.kind != BF_JINGLE_INFO_NONE && (guint) j->info.kind < G_N_ELEMENTS (info_kinds))
        bf_session_tell_info (s, info_kinds[j->info.kind], j->info.name);
      break;
    case BF_JINGLE_ACTION_CONTENT_MODIFY:
      /* XEP-0166 §7.2.6: the senders change (Dino sends it when it answers
       * a video call audio-only: libdino/src/service/call_peer_state.vala
       * accept()); the state machine keeps them.  Media is forwarded as it
       * comes, so there is nothing else to do; an iq error would end the
       * call in Conversations. */
      bf_sessions_ack (mgr, iq);
      g_message ("session %s: %s modifies the senders of %u contents", s->sid, s->peer,
                 j->contents->len);
      break;
    case BF_JINGLE_ACTION_DESCRIPTION_INFO:
      /* XEP-0167 §9: parameters the peer suggests (a video's displayed
       * size); acked first, whatever the module makes of them. */
      bf_sessions_ack (mgr, iq);
      tell_description_info (s, j);
      break;
    case BF_JINGLE_ACTION_SECURITY_INFO:
      /* §7.2.9: informational; nothing here depends on it. */
      bf_sessions_ack (mgr, iq);
      break;
    default:
      {
        /* What is left (a session-initiate that won the §7.2.16 race of the
         * same sid): not supported by this endpoint. */
        g_autoptr (BfStanza) reply = bf_stanza_new_error (iq, "cancel", "feature-not-implemented",
                                                          "this action is not supported here");
        bf_sessions_send_stanza (mgr, reply);
      }
      break;
    }
  bf_session_unref (s);
  return TRUE;
}

static gboolean
handle_jmi (BfSessions *mgr, const BfStanza *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJmi) jmi = bf_jmi_parse (message, &error);
  if (jmi == NULL)
    {
      g_debug ("ignored a JMI message: %s", error ? error->message : "?");
      return TRUE;
    }
  if (jmi->type != BF_JMI_PROPOSE)
    bf_sessions_handle_jmi_answer (mgr, message, jmi);
  else
    bf_sessions_handle_jmi_propose (mgr, message, jmi);   /* receipt, ringing, proceed */
  return TRUE;
}

gboolean
bf_sessions_handle_stanza (gpointer data, BfModule *module, const BfStanza *stanza)
{
  BfSessions *mgr = data;
  const char *kind = bf_stanza_get_name (stanza);
  /* 'from' and 'to' are well-formed JIDs here: the router drops the rest
   * before any module sees it (bf_router_route). */
  const char *id = bf_stanza_get_attr (stanza, "id");
  const char *type = bf_stanza_get_attr (stanza, "type");
  gboolean has_jingle = strcmp (kind, "iq") == 0
                        && bf_stanza_find_child (stanza, "jingle", BF_NS_JINGLE) != NULL;
  if (strcmp (kind, "iq") == 0
      && (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0))
    {
      /* Answers to our own Jingle requests (bf_session_send_jingle), which rarely
       * repeat the <jingle/>; any other answer carrying one is a stale or
       * forged one, dropped here. */
      return bf_iq_tracker_answer (mgr->iqs, stanza) || has_jingle;
    }
  if (has_jingle)
    return handle_jingle_iq (mgr, module, stanza);
  if (strcmp (kind, "message") != 0)
    return FALSE;
  if (g_strcmp0 (type, "error") == 0)
    {
      /* Our proposal bounced (no such user, server unreachable). */
      BfSession *s = id ? g_hash_table_lookup (mgr->propose_msgs, id) : NULL;
      if (s)
        {
          /* Only the callee's address bounces it (its server answers in its
           * name, RFC 6120 §8.3.1): anyone else who learnt the id may not
           * end the call. */
          g_autofree char *fb = bare_lower (bf_stanza_get_attr (stanza, "from"));
          g_autofree char *pb = s ? bare_lower (s->peer) : NULL;
          gboolean proposing = s && s->phase == BF_SESSION_PHASE_PROPOSING;
          if (proposing && g_strcmp0 (fb, pb) != 0)
            {
              mgr->jmi_ignored++;
              g_message ("session %s: ignored a bounce of our proposal from %s (not %s; %"
                         G_GUINT64_FORMAT " JMI messages ignored so far)", s->sid,
                         bf_stanza_get_attr (stanza, "from"), s->peer, mgr->jmi_ignored);
            }
          else if (proposing)
            {
              g_message ("session %s: the proposal to %s bounced", s->sid, s->peer);
              bf_session_end (s, BF_JINGLE_REASON_GONE, NULL, FALSE);
            }
          return TRUE;
        }
      return FALSE;
    }
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, stanza);
  while (bf_stanza_iter_next (&it, &child))
    if (g_strcmp0 (bf_stanza_get_ns (child), BF_NS_JINGLE_MESSAGE) == 0)
      return handle_jmi (mgr, stanza);
  /* XEP-0184 receipts (for our proposals: the callee rings) are never
   * answered, not even with an error. */
  if (bf_jmi_receipt_id (stanza))
    {
      bf_sessions_handle_jmi_receipt (mgr, stanza);
      return TRUE;
    }
  return FALSE;
}

/* --- what modules ask (session.h) --- */

gboolean
bf_session_accept_mirrored (BfSession *session, BfSession *answered, GError **error)
{
  BfSession *s = session;
  if (s->phase != BF_SESSION_PHASE_DEFERRED || answered->theirs == NULL || !answered->outgoing)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s is not waiting for an answer", s->sid);
      return FALSE;
    }
  g_autoptr (BfJingle) ours = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, s->sid);
  for (guint i = 0; i < s->theirs->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->theirs->contents, i);
      const BfJingleContent *ac = bf_jingle_find_content (answered->theirs, oc->name);
      if (ac == NULL || ac->rtp == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "the answer has no content '%s'", oc->name);
          return FALSE;
        }
      BfJingleRtpDescription *rtp = bf_jingle_describe_mirror_answer (oc->rtp, ac->rtp);
      if (rtp->payload_types->len == 0)
        {
          bf_jingle_rtp_description_free (rtp);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "no codec of content '%s' in common", oc->name);
          return FALSE;
        }
      BfJingleContent *c = bf_jingle_add_content (ours, oc->creator, oc->name);
      c->senders = ac->senders;
      bf_jingle_content_take_rtp (c, rtp);
    }
  s->ours = g_steal_pointer (&ours);
  bf_session_set_phase (s, BF_SESSION_PHASE_ACCEPTING);
  s->setup_start = g_get_monotonic_time ();   /* the ringing was not setup */
  /* Before the media starts: what each peer takes is known now. */
  bf_session_forward_post_maps (s);
  bf_session_transports_start (s, s->theirs);
  return TRUE;
}

BfSessionMedia *
bf_session_get_offer (BfSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  if (session->outgoing || session->theirs == NULL)
    return NULL;
  return bf_session_media_new_from_jingle (session->theirs);
}

BfSessionMedia *
bf_session_get_peer_media (BfSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  /* theirs: the peer's session-initiate or session-accept, with the
   * contents it added or accepted since and without those removed. */
  if (session->theirs == NULL)
    return NULL;
  return bf_session_media_new_from_jingle (session->theirs);
}

gboolean
bf_sessions_has_worker (BfSessions *mgr, BfMediaWorker *worker)
{
  for (guint i = 0; i < bf_media_pool_get_size (mgr->pool); i++)
    if (bf_media_pool_get_worker (mgr->pool, i) == worker)
      return TRUE;
  return FALSE;
}

gboolean
bf_session_set_worker (BfSession *session, BfWorker *worker, GError **error)
{
  BfSession *s = session;
  g_return_val_if_fail (s != NULL && worker != NULL, FALSE);
  /* From offer() only (phase NEW): nothing has been posted to the worker
   * handle_initiate chose, and no session is linked to this one (a session
   * placed mirroring it shares its worker). */
  if (s->outgoing || s->phase != BF_SESSION_PHASE_NEW || s->linked)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s: a worker is chosen from offer() only, before placing "
                   "a session that mirrors it", s->sid);
      return FALSE;
    }
  BfMediaWorker *w = (BfMediaWorker *) worker;
  if (!bf_sessions_has_worker (s->mgr, w))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "that worker is not one of the relay's");
      return FALSE;
    }
  if (w != s->worker)
    {
      bf_media_worker_acquire (w);
      bf_media_worker_release (s->worker);
      s->worker = w;
    }
  return TRUE;
}

gboolean
bf_session_accept (BfSession *session, const BfSessionMedia *answer, GError **error)
{
  return bf_session_accept_full (session, answer, NULL, error);
}

gboolean
bf_session_accept_full (BfSession *session, const BfSessionMedia *answer,
                        BfStanza *const *jingle_extra, GError **error)
{
  BfSession *s = session;
  g_return_val_if_fail (s != NULL && answer != NULL, FALSE);
  /* From offer() only (phase NEW): handle_initiate starts the transports
   * once it returns. */
  if (s->outgoing || s->theirs == NULL || s->phase != BF_SESSION_PHASE_NEW)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s: an answer of the module's own is accepted from offer() only",
                   s->sid);
      return FALSE;
    }
  if (!bf_session_media_check_answer (answer, s->theirs, error))
    return FALSE;
  const BfJingle *aj = bf_session_media_get_jingle (answer);
  g_autoptr (BfJingle) ours = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, s->sid);
  for (guint i = 0; i < s->theirs->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->theirs->contents, i);
      const BfJingleContent *ac = bf_jingle_find_content (aj, oc->name);
      if (ac == NULL)
        continue;   /* not RTP: the offer check refused the session before */
      BfJingleContent *c = bf_jingle_add_content (ours, oc->creator, oc->name);
      c->senders = ac->senders;
      bf_jingle_content_take_rtp (c, bf_session_media_answer_rtp (oc->rtp, ac->rtp));
    }
  g_autoptr (GError) extra_error = NULL;
  if (!bf_jingle_set_extra (ours, jingle_extra, &extra_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "session %s: %s", s->sid,
                   extra_error->message);
      return FALSE;
    }
  s->ours = g_steal_pointer (&ours);
  bf_session_set_phase (s, BF_SESSION_PHASE_ACCEPTING);
  return TRUE;
}

void
bf_session_terminate (BfSession *session, const char *reason, const char *text)
{
  BfJingleReasonCondition condition;
  if (reason == NULL || !bf_jingle_reason_from_string (reason, &condition))
    condition = BF_JINGLE_REASON_GENERAL_ERROR;
  bf_session_end (session, condition, text, TRUE);
}

static const BfJingleInfoKind jingle_info_kinds[] = {
  [BF_SESSION_INFO_ACTIVE] = BF_JINGLE_INFO_ACTIVE,
  [BF_SESSION_INFO_HOLD] = BF_JINGLE_INFO_HOLD,
  [BF_SESSION_INFO_UNHOLD] = BF_JINGLE_INFO_UNHOLD,
  [BF_SESSION_INFO_MUTE] = BF_JINGLE_INFO_MUTE,
  [BF_SESSION_INFO_UNMUTE] = BF_JINGLE_INFO_UNMUTE,
  [BF_SESSION_INFO_RINGING] = BF_JINGLE_INFO_RINGING,
};

void
bf_session_send_info (BfSession *session, BfSessionInfo info, const char *name)
{
  BfSession *s = session;
  /* Outgoing: nothing before our session-initiate (the peer would not
   * know the sid). */
  if (s->phase == BF_SESSION_PHASE_ENDED || s->js == NULL
      || (guint) info >= G_N_ELEMENTS (jingle_info_kinds)
      || (s->outgoing && s->phase != BF_SESSION_PHASE_INITIATED
          && s->phase != BF_SESSION_PHASE_ACTIVE))
    return;
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INFO, s->sid);
  j->info.kind = jingle_info_kinds[info];
  const BfJingleSessionContent *sc
    = name ? bf_jingle_session_find_content_by_name (s->js, name) : NULL;
  j->info.creator = sc ? sc->creator : BF_JINGLE_CREATOR_INITIATOR;
  j->info.name = g_strdup (name);
  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
    {
      g_debug ("session %s: session-info not sent: %s", s->sid, error->message);
      return;
    }
  bf_session_send_jingle (s, j);
}

/* --- the manager --- */

void
bf_sessions_set_node_domain (BfSessions *mgr, const char *node_domain)
{
  g_free (mgr->node_domain);
  mgr->node_domain = g_strdup (node_domain);
}

void
bf_sessions_set_rooms_domain (BfSessions *mgr, const char *rooms_domain)
{
  g_free (mgr->rooms_domain);
  mgr->rooms_domain = g_strdup (rooms_domain);
}

BfSessions *
bf_sessions_new (const char *domain, BfSendFunc send, gpointer send_data,
                 BfMediaPool *pool, BfMediaCert *cert, const BfMediaConfig *media,
                 guint max_sessions)
{
  BfSessions *mgr = g_new0 (BfSessions, 1);
  mgr->domain = g_strdup (domain);
  mgr->send = send;
  mgr->send_data = send_data;
  mgr->pool = pool;
  mgr->cert = cert;
  bf_media_config_copy (&mgr->media, media);   /* initialises the copy */
  mgr->max_sessions = max_sessions;
  mgr->table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) bf_session_unref);
  mgr->proposals = g_hash_table_new (g_str_hash, g_str_equal);
  mgr->propose_msgs = g_hash_table_new (g_str_hash, g_str_equal);
  mgr->proceeded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  mgr->iqs = bf_iq_tracker_new (CLAMP (max_sessions * IQ_PENDING_PER_SESSION, 1024, 1 << 20),
                                IQ_TIMEOUT_MS);
  return mgr;
}

void
bf_sessions_set_max_per_jid (BfSessions *sessions, guint max)
{
  sessions->max_per_jid = max;
}

guint
bf_sessions_count (BfSessions *sessions)
{
  return g_hash_table_size (sessions->table);
}

const BfSessionStats *
bf_sessions_get_stats (BfSessions *sessions)
{
  return &sessions->stats;
}

void
bf_sessions_free (BfSessions *mgr)
{
  if (mgr == NULL)
    return;
  mgr->stopping = TRUE;
  /* One at a time: ending a session may end its other leg too. */
  for (;;)
    {
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, mgr->table);
      if (!g_hash_table_iter_next (&it, NULL, &value))
        break;
      bf_session_end (value, BF_JINGLE_REASON_GONE, "the relay is stopping", TRUE);
    }
  /* The workers tell the main context when each session is torn down;
   * wait for them (bounded), so no transport outlives the manager. */
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (mgr->live_on_workers > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (mgr->live_on_workers > 0)
    {
      /* Their late news would find a freed manager: leave it allocated. */
      g_warning ("%u sessions still on their workers at exit", mgr->live_on_workers);
      return;
    }
  g_hash_table_unref (mgr->table);
  g_hash_table_unref (mgr->proposals);
  g_hash_table_unref (mgr->propose_msgs);
  g_hash_table_unref (mgr->proceeded);
  bf_iq_tracker_free (mgr->iqs);
  bf_media_config_clear (&mgr->media);
  g_free (mgr->domain);
  g_free (mgr->node_domain);
  g_free (mgr->rooms_domain);
  g_free (mgr);
}
