/* The Jingle session state machine (jingle-session.h). */
#include <string.h>

#include "jingle-session.h"
#include "jingle-private.h"

typedef enum {
  REPLACE_NONE,
  REPLACE_LOCAL,    /* we sent transport-replace, awaiting transport-accept/reject */
  REPLACE_REMOTE,   /* the peer did */
} ReplacePending;

struct _BfJingleSession {
  BfJingleRole role;
  BfJingleState state;
  char *sid;
  char *local_jid;
  char *remote_jid;
  gboolean initiated;        /* the session-initiate has been applied */
  GPtrArray *contents;       /* BfJingleSessionContent */
  ReplacePending replace;
};

const char *
bf_jingle_role_to_string (BfJingleRole role)
{
  return role == BF_JINGLE_ROLE_INITIATOR ? "initiator" : "responder";
}

const char *
bf_jingle_state_to_string (BfJingleState state)
{
  switch (state)
    {
    case BF_JINGLE_STATE_PENDING: return "pending";
    case BF_JINGLE_STATE_ACTIVE: return "active";
    case BF_JINGLE_STATE_ENDED: return "ended";
    default: return NULL;
    }
}

static void
session_content_free (BfJingleSessionContent *c)
{
  g_free (c->name);
  g_free (c);
}

BfJingleSession *
bf_jingle_session_new (BfJingleRole role, const char *sid, const char *local_jid,
                       const char *remote_jid)
{
  g_return_val_if_fail (sid != NULL && local_jid != NULL && remote_jid != NULL, NULL);
  BfJingleSession *s = g_new0 (BfJingleSession, 1);
  s->role = role;
  s->state = BF_JINGLE_STATE_PENDING;
  s->sid = g_strdup (sid);
  s->local_jid = g_strdup (local_jid);
  s->remote_jid = g_strdup (remote_jid);
  s->contents = g_ptr_array_new_with_free_func ((GDestroyNotify) session_content_free);
  s->replace = REPLACE_NONE;
  return s;
}

void
bf_jingle_session_free (BfJingleSession *session)
{
  if (session == NULL)
    return;
  g_free (session->sid);
  g_free (session->local_jid);
  g_free (session->remote_jid);
  g_ptr_array_unref (session->contents);
  g_free (session);
}

BfJingleRole
bf_jingle_session_get_role (const BfJingleSession *session)
{
  return session->role;
}

BfJingleState
bf_jingle_session_get_state (const BfJingleSession *session)
{
  return session->state;
}

const char *
bf_jingle_session_get_sid (const BfJingleSession *session)
{
  return session->sid;
}

const char *
bf_jingle_session_get_local_jid (const BfJingleSession *session)
{
  return session->local_jid;
}

const char *
bf_jingle_session_get_remote_jid (const BfJingleSession *session)
{
  return session->remote_jid;
}

const char *
bf_jingle_session_get_initiator (const BfJingleSession *session)
{
  return session->role == BF_JINGLE_ROLE_INITIATOR ? session->local_jid : session->remote_jid;
}

const char *
bf_jingle_session_get_responder (const BfJingleSession *session)
{
  return session->role == BF_JINGLE_ROLE_RESPONDER ? session->local_jid : session->remote_jid;
}

const GPtrArray *
bf_jingle_session_get_contents (const BfJingleSession *session)
{
  return session->contents;
}

guint
bf_jingle_session_n_active_contents (const BfJingleSession *session)
{
  guint n = 0;
  for (guint i = 0; i < session->contents->len; i++)
    if (((BfJingleSessionContent *) g_ptr_array_index (session->contents, i))->state
        == BF_JINGLE_CONTENT_ACTIVE)
      n++;
  return n;
}

/* Exact (creator, name) first (§7.3: the pair is unique); failing that, a
 * name that only one content has, for peers that get 'creator' wrong. */
static gint
find_index (const BfJingleSession *session, BfJingleCreator creator, const char *name)
{
  gint by_name = -1;
  guint n_by_name = 0;
  for (guint i = 0; i < session->contents->len; i++)
    {
      const BfJingleSessionContent *c = g_ptr_array_index (session->contents, i);
      if (strcmp (c->name, name) != 0)
        continue;
      if (c->creator == creator)
        return (gint) i;
      by_name = (gint) i;
      n_by_name++;
    }
  return n_by_name == 1 ? by_name : -1;
}

const BfJingleSessionContent *
bf_jingle_session_find_content (const BfJingleSession *session, BfJingleCreator creator,
                                const char *name)
{
  g_return_val_if_fail (session != NULL && name != NULL, NULL);
  gint i = find_index (session, creator, name);
  return i < 0 ? NULL : g_ptr_array_index (session->contents, i);
}

const BfJingleSessionContent *
bf_jingle_session_find_content_by_name (const BfJingleSession *session, const char *name)
{
  g_return_val_if_fail (session != NULL, NULL);
  for (guint i = 0; i < session->contents->len; i++)
    {
      const BfJingleSessionContent *sc = g_ptr_array_index (session->contents, i);
      if (g_strcmp0 (sc->name, name) == 0)
        return sc;
    }
  return NULL;
}

static gboolean
has_contents_in_state (const BfJingleSession *session, BfJingleContentState state)
{
  for (guint i = 0; i < session->contents->len; i++)
    if (((BfJingleSessionContent *) g_ptr_array_index (session->contents, i))->state == state)
      return TRUE;
  return FALSE;
}

static gboolean
ascii_equal_n (const char *a, const char *b, gsize n)
{
  return g_ascii_strncasecmp (a, b, n) == 0;
}

gboolean
bf_jingle_jid_equal (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  const char *sa = strchr (a, '/'), *sb = strchr (b, '/');
  gsize la = sa ? (gsize) (sa - a) : strlen (a);
  gsize lb = sb ? (gsize) (sb - b) : strlen (b);
  if (la != lb || !ascii_equal_n (a, b, la))
    return FALSE;
  return g_strcmp0 (sa, sb) == 0;
}

static gboolean
out_of_order (GError **error, const char *action, const char *why)
{
  g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_OUT_OF_ORDER, "%s %s", action, why);
  return FALSE;
}

static gboolean
tie_break (GError **error, const char *action)
{
  g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_TIE_BREAK,
               "%s crossed our own; the initiator's request wins (XEP-0166 7.2.16)", action);
  return FALSE;
}

/* The rules of §5.1 and §7.2 for @action sent in @direction. */
static gboolean
check_rules (const BfJingleSession *s, BfJingleAction action, BfJingleDirection direction,
             GError **error)
{
  const char *name = bf_jingle_action_to_string (action);
  if (name == NULL)
    return bf_jingle_bad_request (error, "unknown Jingle action");
  gboolean incoming = direction == BF_JINGLE_INCOMING;

  if (s->state == BF_JINGLE_STATE_ENDED)
    {
      /* §6.7: after a session-terminate, requests get unknown-session. */
      if (incoming)
        {
          g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNKNOWN_SESSION,
                       "session %s has ended", s->sid);
          return FALSE;
        }
      return out_of_order (error, name, "after the session ended");
    }

  BfJingleRole sender = incoming
    ? (s->role == BF_JINGLE_ROLE_INITIATOR ? BF_JINGLE_ROLE_RESPONDER : BF_JINGLE_ROLE_INITIATOR)
    : s->role;

  if (action == BF_JINGLE_ACTION_SESSION_INITIATE)
    {
      if (!s->initiated)
        {
          if (sender != BF_JINGLE_ROLE_INITIATOR)
            return out_of_order (error, name, "from the responder");
          return TRUE;
        }
      /* §7.2.16, both sent session-initiate with the same sid: "the action
       * sent by the lower of the JabberIDs MUST overrule the other". */
      if (incoming && s->role == BF_JINGLE_ROLE_INITIATOR && s->state == BF_JINGLE_STATE_PENDING)
        {
          if (strcmp (s->local_jid, s->remote_jid) < 0)
            return tie_break (error, name);
          return TRUE;
        }
      return out_of_order (error, name, "for a session already initiated");
    }

  if (!s->initiated)
    return out_of_order (error, name, "before session-initiate");

  switch (action)
    {
    case BF_JINGLE_ACTION_SESSION_ACCEPT:
      if (sender != BF_JINGLE_ROLE_RESPONDER)
        return out_of_order (error, name, "from the initiator");
      if (s->state != BF_JINGLE_STATE_PENDING)
        return out_of_order (error, name, "for a session already active");
      return TRUE;

    case BF_JINGLE_ACTION_CONTENT_ACCEPT:
    case BF_JINGLE_ACTION_CONTENT_REJECT:
      /* §7.2.1, §7.2.4: only in answer to the other side's content-add. */
      if (!has_contents_in_state (s, incoming ? BF_JINGLE_CONTENT_LOCAL_ADD
                                              : BF_JINGLE_CONTENT_REMOTE_ADD))
        return out_of_order (error, name, "without a content-add to answer");
      return TRUE;

    case BF_JINGLE_ACTION_TRANSPORT_ACCEPT:
    case BF_JINGLE_ACTION_TRANSPORT_REJECT:
      /* §7.2.12, §7.2.14 */
      if (s->replace != (incoming ? REPLACE_LOCAL : REPLACE_REMOTE))
        return out_of_order (error, name, "without a transport-replace to answer");
      return TRUE;

    case BF_JINGLE_ACTION_CONTENT_ADD:
      /* §7.2.16 "existing session": the initiator's action overrules. */
      if (incoming && s->role == BF_JINGLE_ROLE_INITIATOR
          && has_contents_in_state (s, BF_JINGLE_CONTENT_LOCAL_ADD))
        return tie_break (error, name);
      return TRUE;

    case BF_JINGLE_ACTION_TRANSPORT_REPLACE:
      if (incoming && s->role == BF_JINGLE_ROLE_INITIATOR && s->replace == REPLACE_LOCAL)
        return tie_break (error, name);
      return TRUE;

    default:
      /* §5.1: everything else may come in PENDING and ACTIVE alike. */
      return TRUE;
    }
}

gboolean
bf_jingle_session_check_incoming (const BfJingleSession *session, BfJingleAction action,
                                  const char *from, GError **error)
{
  g_return_val_if_fail (session != NULL, FALSE);
  /* A request about this sid from anyone but the peer is about a session
   * the sender does not have with us. */
  if (!bf_jingle_jid_equal (from, session->remote_jid))
    {
      g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNKNOWN_SESSION,
                   "no session %s with %s", session->sid, from ? from : "(no sender)");
      return FALSE;
    }
  return check_rules (session, action, BF_JINGLE_INCOMING, error);
}

gboolean
bf_jingle_session_check_initiate_race (const BfJingleSession *ours, const char *their_sid,
                                       const char *from, GError **error)
{
  g_return_val_if_fail (ours != NULL && their_sid != NULL, FALSE);
  if (ours->role != BF_JINGLE_ROLE_INITIATOR || ours->state != BF_JINGLE_STATE_PENDING
      || !ours->initiated || !bf_jingle_jid_equal (from, ours->remote_jid))
    return TRUE;
  /* RFC 4790 §9.3 i;octet: compare the bytes as unsigned values, which is
   * what strcmp() does. */
  int cmp = strcmp (ours->sid, their_sid);
  if (cmp == 0)
    cmp = strcmp (ours->local_jid, ours->remote_jid);
  if (cmp < 0)
    return tie_break (error, "session-initiate");
  return TRUE;
}

static BfJingleSessionContent *
content_new (const BfJingleContent *c, BfJingleContentState state)
{
  BfJingleSessionContent *sc = g_new0 (BfJingleSessionContent, 1);
  sc->creator = c->creator;
  sc->name = g_strdup (c->name);
  sc->senders = c->senders;
  sc->state = state;
  return sc;
}

/* Removes the contents in @state; returns how many. */
static guint
remove_in_state (BfJingleSession *s, BfJingleContentState state)
{
  guint n = 0;
  for (guint i = s->contents->len; i-- > 0;)
    if (((BfJingleSessionContent *) g_ptr_array_index (s->contents, i))->state == state)
      {
        g_ptr_array_remove_index (s->contents, i);
        n++;
      }
  return n;
}

/* Every content of @j must be known, and in @state unless @state < 0. */
static gboolean
check_known (const BfJingleSession *s, const BfJingle *j, gint state, GError **error)
{
  const char *action = bf_jingle_action_to_string (j->action);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      gint k = find_index (s, c->creator, c->name);
      if (k < 0)
        return bf_jingle_bad_request (error, "%s: no content '%s' in this session", action,
                                      c->name);
      const BfJingleSessionContent *sc = g_ptr_array_index (s->contents, k);
      if (state >= 0 && sc->state != (BfJingleContentState) state)
        return bf_jingle_bad_request (error, "%s: content '%s' has no pending content-add",
                                      action, c->name);
    }
  return TRUE;
}

/* RFC 5763 §5: the answerer's setup is "active" or "passive", never
 * "actpass" (Chromium refuses such an answer; without any setup StanzaJS
 * drops the fingerprint, see reference/test-servers.md). */
static gboolean
check_answer_setup (const BfJingle *j, GError **error)
{
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice && c->ice->fingerprint && c->ice->fingerprint->setup != BF_JINGLE_SETUP_ACTIVE
          && c->ice->fingerprint->setup != BF_JINGLE_SETUP_PASSIVE)
        return bf_jingle_bad_request (error, "%s: the fingerprint of content '%s' must have "
                                      "setup active or passive",
                                      bf_jingle_action_to_string (j->action), c->name);
    }
  return TRUE;
}

gboolean
bf_jingle_session_apply (BfJingleSession *session, const BfJingle *jingle,
                         BfJingleDirection direction, GError **error)
{
  g_return_val_if_fail (session != NULL && jingle != NULL, FALSE);
  BfJingleSession *s = session;
  gboolean incoming = direction == BF_JINGLE_INCOMING;
  if (g_strcmp0 (jingle->sid, s->sid) != 0)
    {
      g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNKNOWN_SESSION,
                   "request for session %s applied to session %s",
                   jingle->sid ? jingle->sid : "(none)", s->sid);
      return FALSE;
    }
  if (!check_rules (s, jingle->action, direction, error))
    return FALSE;
  if (!incoming && (jingle->action == BF_JINGLE_ACTION_SESSION_ACCEPT
                    || jingle->action == BF_JINGLE_ACTION_CONTENT_ACCEPT)
      && !check_answer_setup (jingle, error))
    return FALSE;

  switch (jingle->action)
    {
    case BF_JINGLE_ACTION_SESSION_INITIATE:
      if (jingle->contents->len > BF_JINGLE_MAX_CONTENTS)
        return bf_jingle_bad_request (error, "more than %u contents in a session",
                                      BF_JINGLE_MAX_CONTENTS);
      if (s->initiated)
        {
          /* Lost the same-sid race of §7.2.16: the peer is the initiator. */
          s->role = BF_JINGLE_ROLE_RESPONDER;
          g_ptr_array_set_size (s->contents, 0);
          s->replace = REPLACE_NONE;
        }
      for (guint i = 0; i < jingle->contents->len; i++)
        g_ptr_array_add (s->contents, content_new (g_ptr_array_index (jingle->contents, i),
                                                   BF_JINGLE_CONTENT_ACTIVE));
      s->initiated = TRUE;
      break;

    case BF_JINGLE_ACTION_SESSION_ACCEPT:
      /* §7.2.8: implicitly a content-accept; the answer's senders stand. */
      for (guint i = 0; i < jingle->contents->len; i++)
        {
          const BfJingleContent *c = g_ptr_array_index (jingle->contents, i);
          gint k = find_index (s, c->creator, c->name);
          if (k >= 0)
            ((BfJingleSessionContent *) g_ptr_array_index (s->contents, k))->senders = c->senders;
        }
      s->state = BF_JINGLE_STATE_ACTIVE;
      break;

    case BF_JINGLE_ACTION_SESSION_TERMINATE:
      s->state = BF_JINGLE_STATE_ENDED;
      break;

    case BF_JINGLE_ACTION_CONTENT_ADD:
      {
        /* We are the responder and both added at once: ours is overruled
         * (§7.2.16) and the initiator answers it with conflict. */
        guint overruled = 0;
        if (incoming && s->role == BF_JINGLE_ROLE_RESPONDER)
          for (guint i = 0; i < s->contents->len; i++)
            if (((BfJingleSessionContent *) g_ptr_array_index (s->contents, i))->state
                == BF_JINGLE_CONTENT_LOCAL_ADD)
              overruled++;
        if (s->contents->len - overruled + jingle->contents->len > BF_JINGLE_MAX_CONTENTS)
          return bf_jingle_bad_request (error, "more than %u contents in a session",
                                        BF_JINGLE_MAX_CONTENTS);
        for (guint i = 0; i < jingle->contents->len; i++)
          {
            const BfJingleContent *c = g_ptr_array_index (jingle->contents, i);
            for (guint k = 0; k < s->contents->len; k++)
              {
                const BfJingleSessionContent *sc = g_ptr_array_index (s->contents, k);
                if (sc->creator == c->creator && strcmp (sc->name, c->name) == 0
                    && !(overruled && sc->state == BF_JINGLE_CONTENT_LOCAL_ADD))
                  return bf_jingle_bad_request (error, "content-add: content '%s' exists "
                                                "already", c->name);
              }
            for (guint k = 0; k < i; k++)
              if (strcmp (((BfJingleContent *) g_ptr_array_index (jingle->contents, k))->name,
                          c->name) == 0
                  && ((BfJingleContent *) g_ptr_array_index (jingle->contents, k))->creator
                     == c->creator)
                return bf_jingle_bad_request (error, "content-add: content '%s' appears twice",
                                              c->name);
          }
        if (overruled)
          remove_in_state (s, BF_JINGLE_CONTENT_LOCAL_ADD);
        for (guint i = 0; i < jingle->contents->len; i++)
          g_ptr_array_add (s->contents,
                           content_new (g_ptr_array_index (jingle->contents, i),
                                        incoming ? BF_JINGLE_CONTENT_REMOTE_ADD
                                                 : BF_JINGLE_CONTENT_LOCAL_ADD));
        break;
      }

    case BF_JINGLE_ACTION_CONTENT_ACCEPT:
    case BF_JINGLE_ACTION_CONTENT_REJECT:
      {
        BfJingleContentState pending = incoming ? BF_JINGLE_CONTENT_LOCAL_ADD
                                                : BF_JINGLE_CONTENT_REMOTE_ADD;
        if (!check_known (s, jingle, (gint) pending, error))
          return FALSE;
        for (guint i = 0; i < jingle->contents->len; i++)
          {
            const BfJingleContent *c = g_ptr_array_index (jingle->contents, i);
            gint k = find_index (s, c->creator, c->name);
            if (k < 0)
              continue;   /* named twice in the request: done already */
            BfJingleSessionContent *sc = g_ptr_array_index (s->contents, k);
            if (sc->state != pending)
              continue;
            if (jingle->action == BF_JINGLE_ACTION_CONTENT_ACCEPT)
              {
                sc->state = BF_JINGLE_CONTENT_ACTIVE;
                sc->senders = c->senders;
              }
            else
              g_ptr_array_remove_index (s->contents, k);
          }
        break;
      }

    case BF_JINGLE_ACTION_CONTENT_REMOVE:
      if (!check_known (s, jingle, -1, error))
        return FALSE;
      for (guint i = 0; i < jingle->contents->len; i++)
        {
          const BfJingleContent *c = g_ptr_array_index (jingle->contents, i);
          gint k = find_index (s, c->creator, c->name);
          if (k >= 0)
            g_ptr_array_remove_index (s->contents, k);
        }
      break;

    case BF_JINGLE_ACTION_CONTENT_MODIFY:
      if (!check_known (s, jingle, -1, error))
        return FALSE;
      for (guint i = 0; i < jingle->contents->len; i++)
        {
          const BfJingleContent *c = g_ptr_array_index (jingle->contents, i);
          ((BfJingleSessionContent *) g_ptr_array_index (s->contents,
                                                         find_index (s, c->creator, c->name)))
            ->senders = c->senders;
        }
      break;

    case BF_JINGLE_ACTION_TRANSPORT_REPLACE:
      if (!check_known (s, jingle, -1, error))
        return FALSE;
      /* An incoming one while ours is outstanding means we are the
       * responder (check_rules refused it otherwise): theirs wins. */
      s->replace = incoming ? REPLACE_REMOTE : REPLACE_LOCAL;
      break;

    case BF_JINGLE_ACTION_TRANSPORT_ACCEPT:
    case BF_JINGLE_ACTION_TRANSPORT_REJECT:
      s->replace = REPLACE_NONE;
      break;

    case BF_JINGLE_ACTION_TRANSPORT_INFO:
    case BF_JINGLE_ACTION_DESCRIPTION_INFO:
    case BF_JINGLE_ACTION_SECURITY_INFO:
    case BF_JINGLE_ACTION_SESSION_INFO:
    default:
      /* Not checked against the content list: Chromium sends candidates for
       * bundled-away contents, possibly before our session-accept. */
      break;
    }
  return TRUE;
}
