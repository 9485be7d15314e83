#define G_LOG_DOMAIN "belfry-session"
/* Contents added and removed while a session runs (XEP-0166 §7.2.3-§7.2.5):
 * the peer's content-add/-accept/-reject/-remove, and the module's calls:
 * contents it adds or accepts with descriptions of its own, or relays
 * from another session (one path for both). */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "jingle-describe.h"
#include "session-media-private.h"
#include "session-private.h"

/* --- contents added and removed while the session runs --- */

#define MAX_CONTENT_CHANGES 64   /* per session: a peer cannot grow state forever */

/* Keeps a copy of @c's description in @into (ours or theirs). */
static void
store_content (BfJingle **into, const char *sid, const BfJingleContent *c)
{
  if (*into == NULL)
    *into = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, sid);
  BfJingleContent *n = bf_jingle_add_content (*into, c->creator, c->name);
  n->senders = c->senders;
  bf_jingle_content_take_rtp (n, bf_jingle_describe_mirror_offer (c->rtp));
}

/* Sends a content action about one content: @rtp (taken) and our ICE
 * transport for content-add/-accept (held until that transport has
 * gathered, for a content on a transport of its own), @reason for
 * content-reject. */
static gboolean
send_content_action (BfSession *s, BfJingleAction action, BfJingleCreator creator,
                     const char *name, BfJingleSenders senders, BfJingleRtpDescription *rtp,
                     gint reason, GError **error)
{
  g_autoptr (BfJingle) j = bf_jingle_new (action, s->sid);
  BfJingleContent *c = bf_jingle_add_content (j, creator, name);
  c->senders = senders;
  if (rtp)
    bf_jingle_content_take_rtp (c, rtp);
  if (reason >= 0)
    bf_jingle_set_reason (j, (BfJingleReasonCondition) reason, NULL);
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, error))
    return FALSE;
  if (rtp)
    bf_session_transports_send_or_hold (s, g_steal_pointer (&j));
  else
    bf_session_send_jingle (s, j);
  return TRUE;
}

static void
refuse_content (BfSession *s, const BfJingleContent *c, BfJingleReasonCondition reason,
                const char *why)
{
  g_autoptr (GError) error = NULL;
  g_message ("session %s: content '%s' from %s refused: %s", s->sid, c->name, s->peer, why);
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_REJECT, c->creator, c->name, c->senders,
                            NULL, reason, &error))
    g_debug ("session %s: content-reject not sent: %s", s->sid, error->message);
}

void
bf_session_handle_content_add (BfSession *s, const BfJingle *j)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfSessionTransport *st = NULL;
      /* XEP-0166 §7.2.3: a content we cannot take is answered with
       * content-reject, never an iq error (Conversations ends the call on
       * any iq error to its Jingle requests: JingleRtpConnection.java). */
      if (info->sessions->content_added == NULL)
        refuse_content (s, c, BF_JINGLE_REASON_FAILED_APPLICATION,
                        "this address takes no new contents");
      else if (c->description_kind != BF_JINGLE_DESCRIPTION_RTP || c->rtp->payload_types->len == 0)
        refuse_content (s, c, BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS,
                        "only RTP audio/video is supported");
      else if (s->content_changes >= MAX_CONTENT_CHANGES)
        refuse_content (s, c, BF_JINGLE_REASON_FAILED_APPLICATION, "too many content changes");
      else if (bf_session_transport_of (s, c->name) != NULL
               || (st = bf_session_transport_for_new_content (s, c)) == NULL)
        refuse_content (s, c, BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS,
                        "a new content needs ICE-UDP credentials (or too many transports)");
      else
        {
          /* BUNDLE'd onto a running transport: its candidates, if any; on a
           * transport of its own (a peer without BUNDLE, such as Dino):
           * that transport starts now, ours is signalled in our answer. */
          if (!st->started)
            {
              st->started = TRUE;
              bf_session_post_setup (st, j);
            }
          else
            bf_session_post_candidates (st, j);
          s->content_changes++;
          store_content (&s->theirs, s->sid, c);
          bf_session_transports_update_route (s);
          g_message ("session %s: %s adds content '%s' (%s)", s->sid, s->peer, c->name,
                     c->rtp->media);
          info->sessions->content_added (s->module, s, c->name);
          if (s->phase == BF_SESSION_PHASE_ENDED)
            return;
        }
    }
}

void
bf_session_handle_content_answer (BfSession *s, const BfJingle *j)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      gboolean accepted = j->action == BF_JINGLE_ACTION_CONTENT_ACCEPT
                          && c->description_kind == BF_JINGLE_DESCRIPTION_RTP
                          && c->rtp->payload_types->len > 0;
      BfSessionTransport *st = bf_session_transport_of (s, c->name);
      if (accepted)
        {
          store_content (&s->theirs, s->sid, c);
          bf_session_transports_update_route (s);
          /* A content we added on a transport of its own: the peer's side
           * of that transport is in its answer, unless the peer put it on
           * a transport we have already (BUNDLE'd it). */
          if (st && st->in_use && !st->remote_set && !bf_session_transports_rebundle (s, c))
            bf_session_post_remote (st, j);
          else if (st && st->in_use)
            bf_session_post_candidates (st, j);
        }
      else
        {
          bf_jingle_remove_content (s->ours, c->name);
          bf_session_transports_drop_content (s, c->name);
        }
      g_message ("session %s: %s %s content '%s'", s->sid, s->peer,
                 accepted ? "accepted" : "rejected", c->name);
      bf_session_forward_post_maps (s);
      if (info->sessions->content_answered)
        info->sessions->content_answered (s->module, s, c->name, accepted);
      if (s->phase == BF_SESSION_PHASE_ENDED)
        return;
    }
}

void
bf_session_handle_content_remove (BfSession *s, const BfJingle *j)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      bf_jingle_remove_content (s->theirs, c->name);
      bf_jingle_remove_content (s->ours, c->name);
      bf_session_transports_drop_content (s, c->name);
      s->content_changes++;
      g_message ("session %s: %s removes content '%s'", s->sid, s->peer, c->name);
      bf_session_forward_post_maps (s);
      if (info->sessions->content_removed)
        info->sessions->content_removed (s->module, s, c->name);
      if (s->phase == BF_SESSION_PHASE_ENDED)
        return;
    }
}

static gboolean
content_ready (BfSession *s, GError **error)
{
  if (s->phase == BF_SESSION_PHASE_ENDED || s->js == NULL
      || bf_jingle_session_get_state (s->js) != BF_JINGLE_STATE_ACTIVE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s is not active", s->sid);
      return FALSE;
    }
  return TRUE;
}

/* Our role's creator: a content we add (for ourselves, or standing for
 * the other party of a relayed call) is created by our side. */
static BfJingleCreator
our_creator (BfSession *s)
{
  return s->outgoing ? BF_JINGLE_CREATOR_INITIATOR : BF_JINGLE_CREATOR_RESPONDER;
}

/* content-add of @rtp (copied) as content @name: the one path for what the
 * module built and for what it mirrors. */
static gboolean
add_content (BfSession *s, const char *name, BfJingleSenders senders,
             const BfJingleRtpDescription *rtp, GError **error)
{
  /* What a peer's parser takes in one stanza (ours refuses more), so the
   * session-accept or the next content-add stays readable. */
  if (bf_jingle_session_get_contents (s->js)->len >= BF_JINGLE_MAX_CONTENTS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "session %s has %u contents already", s->sid, BF_JINGLE_MAX_CONTENTS);
      return FALSE;
    }
  if (!bf_session_transport_for_our_content (s, name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "no transport for content '%s' of session %s", name, s->sid);
      return FALSE;
    }
  BfJingleCreator creator = our_creator (s);
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_ADD, creator, name, senders,
                            bf_jingle_describe_mirror_offer (rtp), -1, error))
    {
      bf_session_transports_drop_content (s, name);
      return FALSE;
    }
  BfJingleContent copy = { .creator = creator, .name = (char *) name, .senders = senders,
                           .rtp = (BfJingleRtpDescription *) rtp };
  store_content (&s->ours, s->sid, &copy);
  s->content_changes++;
  bf_session_transports_update_route (s);
  g_message ("session %s: adding content '%s' (%s) for %s", s->sid, name, rtp->media, s->peer);
  return TRUE;
}

/* content-accept of the peer's content @sc with @rtp (taken). */
static gboolean
accept_content (BfSession *s, const BfJingleSessionContent *sc, BfJingleSenders senders,
                BfJingleRtpDescription *rtp, GError **error)
{
  BfJingleContent copy = { .creator = sc->creator, .name = sc->name, .senders = senders,
                           .rtp = rtp };
  store_content (&s->ours, s->sid, &copy);
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_ACCEPT, sc->creator, sc->name, senders,
                            rtp, -1, error))
    {
      bf_jingle_remove_content (s->ours, sc->name);
      return FALSE;
    }
  bf_session_transports_update_route (s);
  bf_session_forward_post_maps (s);
  return TRUE;
}

/* The peer's content @name, added and not answered yet; NULL otherwise. */
static const BfJingleSessionContent *
waiting_content (BfSession *s, const char *name)
{
  const BfJingleSessionContent *sc = bf_jingle_session_find_content_by_name (s->js, name);
  if (sc == NULL || sc->state != BF_JINGLE_CONTENT_REMOTE_ADD || s->theirs == NULL
      || bf_jingle_find_content (s->theirs, name) == NULL)
    return NULL;
  return sc;
}

gboolean
bf_session_add_content (BfSession *session, const BfSessionMedia *media, guint content,
                        GError **error)
{
  BfSession *s = session;
  g_return_val_if_fail (s != NULL && media != NULL, FALSE);
  if (!content_ready (s, error) || !bf_session_media_check_content (media, content, error))
    return FALSE;
  const BfJingleContent *c = g_ptr_array_index (bf_session_media_get_jingle (media)->contents,
                                                content);
  if (bf_jingle_session_find_content_by_name (s->js, c->name) != NULL
      || (s->ours && bf_jingle_find_content (s->ours, c->name))
      || (s->theirs && bf_jingle_find_content (s->theirs, c->name)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s has a content '%s' already", s->sid, c->name);
      return FALSE;
    }
  return add_content (s, c->name, c->senders, c->rtp, error);
}

gboolean
bf_session_add_content_mirrored (BfSession *session, BfSession *mirror, const char *name,
                                 GError **error)
{
  BfSession *s = session;
  if (!content_ready (s, error))
    return FALSE;
  const BfJingleContent *src = mirror->theirs ? bf_jingle_find_content (mirror->theirs, name) : NULL;
  if (src == NULL || src->rtp == NULL
      || bf_jingle_session_find_content_by_name (s->js, name) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no new content '%s' to add to session %s", name, s->sid);
      return FALSE;
    }
  return add_content (s, name, src->senders, src->rtp, error);
}

gboolean
bf_session_accept_content (BfSession *session, const BfSessionMedia *answer, GError **error)
{
  BfSession *s = session;
  g_return_val_if_fail (s != NULL && answer != NULL, FALSE);
  if (!content_ready (s, error))
    return FALSE;
  const BfJingle *aj = bf_session_media_get_jingle (answer);
  if (aj->contents->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the answer has no content");
      return FALSE;
    }
  /* The offer it answers: the peer's added contents it names, each of
   * which must be waiting; checked as a session's answer is. */
  g_autoptr (BfJingle) offer = bf_jingle_new (BF_JINGLE_ACTION_CONTENT_ADD, s->sid);
  for (guint i = 0; i < aj->contents->len; i++)
    {
      const BfJingleContent *ac = g_ptr_array_index (aj->contents, i);
      if (waiting_content (s, ac->name) == NULL || bf_jingle_find_content (offer, ac->name))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "no content '%s' waiting for an answer in session %s", ac->name, s->sid);
          return FALSE;
        }
      const BfJingleContent *oc = bf_jingle_find_content (s->theirs, ac->name);
      BfJingleContent *c = bf_jingle_add_content (offer, oc->creator, oc->name);
      bf_jingle_content_take_rtp (c, bf_jingle_describe_mirror_offer (oc->rtp));
    }
  if (!bf_session_media_check_answer (answer, offer, error))
    return FALSE;
  for (guint i = 0; i < aj->contents->len; i++)
    {
      const BfJingleContent *ac = g_ptr_array_index (aj->contents, i);
      const BfJingleContent *oc = bf_jingle_find_content (offer, ac->name);
      if (!accept_content (s, waiting_content (s, ac->name), ac->senders,
                           bf_session_media_answer_rtp (oc->rtp, ac->rtp), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
bf_session_accept_content_mirrored (BfSession *session, BfSession *answered, const char *name,
                                    GError **error)
{
  BfSession *s = session;
  if (!content_ready (s, error))
    return FALSE;
  const BfJingleSessionContent *sc = waiting_content (s, name);
  const BfJingleContent *answer = answered->theirs ? bf_jingle_find_content (answered->theirs, name)
                                                   : NULL;
  if (sc == NULL || answer == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no content '%s' waiting for an answer in session %s", name, s->sid);
      return FALSE;
    }
  const BfJingleContent *offer = bf_jingle_find_content (s->theirs, name);
  BfJingleRtpDescription *rtp = bf_jingle_describe_mirror_answer (offer->rtp, answer->rtp);
  if (rtp->payload_types->len == 0)
    {
      bf_jingle_rtp_description_free (rtp);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "no codec of content '%s' in common", name);
      return FALSE;
    }
  return accept_content (s, sc, answer->senders, rtp, error);
}

void
bf_session_reject_content (BfSession *session, const char *name, const char *reason)
{
  BfSession *s = session;
  BfJingleReasonCondition condition;
  const BfJingleSessionContent *sc
    = s->js ? bf_jingle_session_find_content_by_name (s->js, name) : NULL;
  if (s->phase == BF_SESSION_PHASE_ENDED || sc == NULL || sc->state != BF_JINGLE_CONTENT_REMOTE_ADD)
    return;
  if (reason == NULL || !bf_jingle_reason_from_string (reason, &condition))
    condition = BF_JINGLE_REASON_GENERAL_ERROR;
  g_autoptr (GError) error = NULL;
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_REJECT, sc->creator, name, sc->senders,
                            NULL, condition, &error))
    g_debug ("session %s: content-reject not sent: %s", s->sid, error->message);
  bf_jingle_remove_content (s->theirs, name);
  bf_session_transports_drop_content (s, name);
  bf_session_forward_post_maps (s);
}

void
bf_session_remove_content (BfSession *session, const char *name)
{
  BfSession *s = session;
  const BfJingleSessionContent *sc
    = s->js ? bf_jingle_session_find_content_by_name (s->js, name) : NULL;
  if (s->phase == BF_SESSION_PHASE_ENDED || sc == NULL)
    return;
  g_autoptr (GError) error = NULL;
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_REMOVE, sc->creator, name, sc->senders,
                            NULL, -1, &error))
    g_debug ("session %s: content-remove not sent: %s", s->sid, error->message);
  bf_jingle_remove_content (s->theirs, name);
  bf_jingle_remove_content (s->ours, name);
  bf_session_transports_drop_content (s, name);
  bf_session_forward_post_maps (s);
}
