/* Unit tests: the Jingle session state machine (jingle/jingle-session.h),
 * XEP-0166 §5.1, §6 and §7.2, driven by parsed requests. */
#include <string.h>
#include <glib.h>

#include <belfry/stanza.h>
#include "xmlstream.h"
#include "jingle.h"
#include "jingle-session.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='t'>"

#define ROMEO "romeo@montague.lit/orchard"
#define JULIET "juliet@capulet.lit/balcony"
#define SID "a73sjjvkla37jfea"

static void
collect (gpointer data, BfStanza *stanza)
{
  g_ptr_array_add (data, stanza);
}

/* Parses one Jingle request with the core's stream parser and jingle/. */
static BfJingle *
jingle (const char *xml)
{
  static const BfXmlStreamCallbacks cb = { NULL, collect, NULL };
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &cb, got);
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_xml_stream_feed (parser, HEADER, strlen (HEADER), &error));
  g_assert_true (bf_xml_stream_feed (parser, xml, strlen (xml), &error));
  g_assert_cmpuint (got->len, ==, 1);
  BfJingle *j = bf_jingle_parse (g_ptr_array_index (got, 0), &error);
  g_assert_no_error (error);
  return j;
}

/* A request with @action and @body inside <jingle/>. */
static BfJingle *
req (const char *action, const char *body)
{
  g_autofree char *xml = g_strdup_printf (
    "<iq from='x@y/z' id='t' to='a@b/c' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
    "action='%s' sid='" SID "'>%s</jingle></iq>", action, body ? body : "");
  return jingle (xml);
}

#define VOICE "<content creator='initiator' name='voice'>" \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>" \
  "<payload-type id='0' name='PCMU'/></description>" \
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>"
#define WEBCAM(creator) "<content creator='" creator "' name='webcam'>" \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>" \
  "<payload-type id='98' name='theora' clockrate='90000'/></description>" \
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>"
#define NAMED(creator, name) "<content creator='" creator "' name='" name "'/>"
#define RINGING "<ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>"
#define SUCCESS "<reason><success/></reason>"

/* check_incoming then apply, both expected to succeed. */
static void
incoming_ok (BfJingleSession *s, const char *action, const char *body)
{
  g_autoptr (BfJingle) j = req (action, body);
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_jingle_session_check_incoming (s, j->action,
                                                   bf_jingle_session_get_remote_jid (s), &error));
  g_assert_no_error (error);
  g_assert_true (bf_jingle_session_apply (s, j, BF_JINGLE_INCOMING, &error));
  g_assert_no_error (error);
}

/* check_incoming fails with @code (and apply would too, leaving @s as is). */
static void
incoming_fails (BfJingleSession *s, const char *action, const char *body, BfJingleErrorCode code)
{
  g_autoptr (BfJingle) j = req (action, body);
  g_autoptr (GError) error = NULL;
  BfJingleState before = bf_jingle_session_get_state (s);
  guint n = bf_jingle_session_get_contents (s)->len;
  g_assert_false (bf_jingle_session_check_incoming (s, j->action,
                                                    bf_jingle_session_get_remote_jid (s), &error));
  g_assert_error (error, BF_JINGLE_ERROR, (gint) code);
  g_clear_error (&error);
  g_assert_false (bf_jingle_session_apply (s, j, BF_JINGLE_INCOMING, &error));
  g_assert_error (error, BF_JINGLE_ERROR, (gint) code);
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, before);
  g_assert_cmpuint (bf_jingle_session_get_contents (s)->len, ==, n);
}

/* check_incoming passes but apply refuses (unknown content ...). */
static void
apply_fails (BfJingleSession *s, const char *action, const char *body, BfJingleDirection dir,
             BfJingleErrorCode code)
{
  g_autoptr (BfJingle) j = req (action, body);
  g_autoptr (GError) error = NULL;
  guint n = bf_jingle_session_get_contents (s)->len;
  g_assert_false (bf_jingle_session_apply (s, j, dir, &error));
  g_assert_error (error, BF_JINGLE_ERROR, (gint) code);
  g_assert_cmpuint (bf_jingle_session_get_contents (s)->len, ==, n);
}

static void
outgoing_ok (BfJingleSession *s, const char *action, const char *body)
{
  g_autoptr (BfJingle) j = req (action, body);
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_jingle_session_apply (s, j, BF_JINGLE_OUTGOING, &error));
  g_assert_no_error (error);
}

static void
outgoing_fails (BfJingleSession *s, const char *action, const char *body, BfJingleErrorCode code)
{
  apply_fails (s, action, body, BF_JINGLE_OUTGOING, code);
}

static const BfJingleSessionContent *
find (BfJingleSession *s, BfJingleCreator creator, const char *name)
{
  return bf_jingle_session_find_content (s, creator, name);
}

/* Juliet's side of XEP-0167 §11.2: initiate, ringing, accept, terminate. */
static void
test_responder_flow (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         JULIET, ROMEO);
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, BF_JINGLE_STATE_PENDING);
  g_assert_cmpstr (bf_jingle_session_get_sid (s), ==, SID);
  g_assert_cmpstr (bf_jingle_session_get_initiator (s), ==, ROMEO);
  g_assert_cmpstr (bf_jingle_session_get_responder (s), ==, JULIET);
  g_assert_cmpstr (bf_jingle_session_get_local_jid (s), ==, JULIET);

  /* nothing but a session-initiate before the session-initiate */
  incoming_fails (s, "transport-info", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  outgoing_fails (s, "session-initiate", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);

  incoming_ok (s, "session-initiate", VOICE);
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, BF_JINGLE_STATE_PENDING);
  g_assert_cmpuint (bf_jingle_session_n_active_contents (s), ==, 1);
  g_assert_nonnull (find (s, BF_JINGLE_CREATOR_INITIATOR, "voice"));

  /* §5.1: every other action may come while PENDING */
  outgoing_ok (s, "session-info", RINGING);
  incoming_ok (s, "transport-info", VOICE);
  incoming_ok (s, "session-info", NULL);
  incoming_ok (s, "description-info", VOICE);
  /* a second session-initiate, and a session-accept to the responder */
  incoming_fails (s, "session-initiate", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  incoming_fails (s, "session-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  /* answers to requests nobody made */
  incoming_fails (s, "content-accept", NAMED ("initiator", "voice"), BF_JINGLE_ERROR_OUT_OF_ORDER);
  incoming_fails (s, "transport-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  outgoing_fails (s, "content-reject", NAMED ("initiator", "voice"), BF_JINGLE_ERROR_OUT_OF_ORDER);

  outgoing_ok (s, "session-accept", VOICE);
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, BF_JINGLE_STATE_ACTIVE);
  outgoing_fails (s, "session-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  incoming_fails (s, "session-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  incoming_ok (s, "session-info", "<hold xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>");

  incoming_ok (s, "session-terminate", SUCCESS);
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, BF_JINGLE_STATE_ENDED);
  /* §6.7: anything after the end is about an unknown session */
  incoming_fails (s, "session-info", NULL, BF_JINGLE_ERROR_UNKNOWN_SESSION);
  incoming_fails (s, "session-terminate", SUCCESS, BF_JINGLE_ERROR_UNKNOWN_SESSION);
  outgoing_fails (s, "session-terminate", SUCCESS, BF_JINGLE_ERROR_OUT_OF_ORDER);
}

/* Romeo's side, who also adds video (XEP-0167 §11.4). */
static void
test_initiator_flow (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, SID,
                                                         ROMEO, JULIET);
  g_assert_cmpstr (bf_jingle_session_get_initiator (s), ==, ROMEO);
  /* the initiator never receives a session-initiate for its session */
  incoming_fails (s, "session-initiate", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  outgoing_ok (s, "session-initiate", VOICE);
  outgoing_fails (s, "session-initiate", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  outgoing_fails (s, "session-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  incoming_ok (s, "session-info", RINGING);
  incoming_ok (s, "session-accept", VOICE);
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, BF_JINGLE_STATE_ACTIVE);
  incoming_fails (s, "session-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);

  /* content-add, content-modify from the responder, content-accept */
  outgoing_ok (s, "content-add", WEBCAM ("initiator"));
  const BfJingleSessionContent *c = find (s, BF_JINGLE_CREATOR_INITIATOR, "webcam");
  g_assert_nonnull (c);
  g_assert_cmpint (c->state, ==, BF_JINGLE_CONTENT_LOCAL_ADD);
  g_assert_cmpuint (bf_jingle_session_n_active_contents (s), ==, 1);
  incoming_ok (s, "content-modify", "<content creator='initiator' name='webcam' "
               "senders='initiator'/>");
  g_assert_cmpint (c->senders, ==, BF_JINGLE_SENDERS_INITIATOR);
  /* our own answer to our own add is out of order */
  outgoing_fails (s, "content-accept", NAMED ("initiator", "webcam"), BF_JINGLE_ERROR_OUT_OF_ORDER);
  /* an accept naming a content that is not pending */
  apply_fails (s, "content-accept", NAMED ("initiator", "voice"), BF_JINGLE_INCOMING,
               BF_JINGLE_ERROR_BAD_REQUEST);
  apply_fails (s, "content-accept", NAMED ("initiator", "nothing"), BF_JINGLE_INCOMING,
               BF_JINGLE_ERROR_BAD_REQUEST);
  incoming_ok (s, "content-accept", "<content creator='initiator' name='webcam' "
               "senders='initiator'/>");
  c = find (s, BF_JINGLE_CREATOR_INITIATOR, "webcam");
  g_assert_cmpint (c->state, ==, BF_JINGLE_CONTENT_ACTIVE);
  g_assert_cmpuint (bf_jingle_session_n_active_contents (s), ==, 2);
  incoming_fails (s, "content-accept", NAMED ("initiator", "webcam"), BF_JINGLE_ERROR_OUT_OF_ORDER);
  incoming_ok (s, "content-modify", "<content creator='initiator' name='webcam' senders='both'/>");
  g_assert_cmpint (c->senders, ==, BF_JINGLE_SENDERS_BOTH);

  /* content-add of an existing content, content-remove of an unknown one */
  apply_fails (s, "content-add", WEBCAM ("initiator"), BF_JINGLE_OUTGOING,
               BF_JINGLE_ERROR_BAD_REQUEST);
  apply_fails (s, "content-remove", NAMED ("initiator", "slides"), BF_JINGLE_INCOMING,
               BF_JINGLE_ERROR_BAD_REQUEST);
  apply_fails (s, "content-modify", "<content name='slides' senders='none'/>", BF_JINGLE_INCOMING,
               BF_JINGLE_ERROR_BAD_REQUEST);
  /* a peer that gets the creator wrong still names a unique content */
  incoming_ok (s, "content-remove", NAMED ("responder", "webcam"));
  g_assert_null (find (s, BF_JINGLE_CREATOR_INITIATOR, "webcam"));
  g_assert_cmpuint (bf_jingle_session_n_active_contents (s), ==, 1);

  /* §6.7: a sent session-terminate ends the session at once */
  outgoing_ok (s, "session-terminate", SUCCESS);
  incoming_fails (s, "transport-info", VOICE, BF_JINGLE_ERROR_UNKNOWN_SESSION);
}

static void
test_content_reject (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         JULIET, ROMEO);
  incoming_ok (s, "session-initiate", VOICE);
  outgoing_ok (s, "session-accept", VOICE);
  incoming_ok (s, "content-add", WEBCAM ("initiator"));
  g_assert_cmpint (find (s, BF_JINGLE_CREATOR_INITIATOR, "webcam")->state, ==,
                   BF_JINGLE_CONTENT_REMOTE_ADD);
  /* the peer cannot answer its own content-add */
  incoming_fails (s, "content-reject", NAMED ("initiator", "webcam"), BF_JINGLE_ERROR_OUT_OF_ORDER);
  outgoing_ok (s, "content-reject", NAMED ("initiator", "webcam"));
  g_assert_null (find (s, BF_JINGLE_CREATOR_INITIATOR, "webcam"));
  g_assert_cmpuint (bf_jingle_session_get_contents (s)->len, ==, 1);

  /* a responder's own content (creator='responder') is another content */
  outgoing_ok (s, "content-add", WEBCAM ("responder"));
  incoming_ok (s, "content-add", WEBCAM ("initiator"));   /* initiator and responder */
  g_assert_cmpuint (bf_jingle_session_get_contents (s)->len, ==, 2);
}

/* By name alone: the first content of that name whoever created it (the
 * relay's lookup, since peers get 'creator' wrong), NULL for no such name. */
static void
test_find_content_by_name (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         JULIET, ROMEO);
  g_assert_null (bf_jingle_session_find_content_by_name (s, "voice"));
  incoming_ok (s, "session-initiate", VOICE);
  outgoing_ok (s, "session-accept", VOICE);
  const BfJingleSessionContent *voice = bf_jingle_session_find_content_by_name (s, "voice");
  g_assert_nonnull (voice);
  g_assert_cmpstr (voice->name, ==, "voice");
  g_assert_cmpint (voice->creator, ==, BF_JINGLE_CREATOR_INITIATOR);
  g_assert_null (bf_jingle_session_find_content_by_name (s, "webcam"));
  g_assert_null (bf_jingle_session_find_content_by_name (s, "VOICE"));   /* exact */

  /* the responder's own webcam, then the initiator's of that name: the
   * first added is found, then, once it is removed, the other */
  outgoing_ok (s, "content-add", WEBCAM ("responder"));
  incoming_ok (s, "content-accept", WEBCAM ("responder"));
  incoming_ok (s, "content-add", WEBCAM ("initiator"));
  const BfJingleSessionContent *webcam = bf_jingle_session_find_content_by_name (s, "webcam");
  g_assert_true (webcam == find (s, BF_JINGLE_CREATOR_RESPONDER, "webcam"));
  g_assert_cmpint (webcam->state, ==, BF_JINGLE_CONTENT_ACTIVE);
  outgoing_ok (s, "content-remove", NAMED ("responder", "webcam"));
  webcam = bf_jingle_session_find_content_by_name (s, "webcam");
  g_assert_true (webcam == find (s, BF_JINGLE_CREATOR_INITIATOR, "webcam"));
  g_assert_cmpint (webcam->state, ==, BF_JINGLE_CONTENT_REMOTE_ADD);
  outgoing_ok (s, "content-reject", NAMED ("initiator", "webcam"));
  g_assert_null (bf_jingle_session_find_content_by_name (s, "webcam"));
}

/* §7.2.16 "existing session": the initiator's action overrules. */
static void
test_tie_break_existing (void)
{
  /* We are the initiator: the responder's crossing content-add gets
   * conflict + tie-break, ours stands. */
  g_autoptr (BfJingleSession) i = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, SID,
                                                         ROMEO, JULIET);
  outgoing_ok (i, "session-initiate", VOICE);
  incoming_ok (i, "session-accept", VOICE);
  outgoing_ok (i, "content-add", WEBCAM ("initiator"));
  incoming_fails (i, "content-add", WEBCAM ("responder"), BF_JINGLE_ERROR_TIE_BREAK);
  g_assert_nonnull (find (i, BF_JINGLE_CREATOR_INITIATOR, "webcam"));
  g_assert_cmpuint (bf_jingle_session_get_contents (i)->len, ==, 2);
  /* the same for transport-replace */
  outgoing_ok (i, "transport-replace", VOICE);
  incoming_fails (i, "transport-replace", VOICE, BF_JINGLE_ERROR_TIE_BREAK);
  incoming_ok (i, "transport-accept", VOICE);
  incoming_fails (i, "transport-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
  /* once answered there is nothing to break */
  incoming_ok (i, "content-accept", NAMED ("initiator", "webcam"));
  incoming_ok (i, "content-add", "<content creator='responder' name='slides'>"
               "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></content>");

  /* We are the responder: the initiator's crossing content-add wins and
   * ours is dropped (the initiator answers it with conflict). */
  g_autoptr (BfJingleSession) r = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         JULIET, ROMEO);
  incoming_ok (r, "session-initiate", VOICE);
  outgoing_ok (r, "session-accept", VOICE);
  outgoing_ok (r, "content-add", WEBCAM ("responder"));
  incoming_ok (r, "content-add", WEBCAM ("initiator"));
  /* only the initiator's webcam is left */
  const GPtrArray *all = bf_jingle_session_get_contents (r);
  g_assert_cmpuint (all->len, ==, 2);
  const BfJingleSessionContent *c = g_ptr_array_index (all, 1);
  g_assert_cmpstr (c->name, ==, "webcam");
  g_assert_cmpint (c->creator, ==, BF_JINGLE_CREATOR_INITIATOR);
  g_assert_cmpint (c->state, ==, BF_JINGLE_CONTENT_REMOTE_ADD);
  outgoing_ok (r, "content-accept", NAMED ("initiator", "webcam"));
  g_assert_cmpuint (bf_jingle_session_n_active_contents (r), ==, 2);
  /* transport-replace: theirs wins, we answer it */
  outgoing_ok (r, "transport-replace", VOICE);
  incoming_ok (r, "transport-replace", VOICE);
  outgoing_ok (r, "transport-reject", VOICE);
  outgoing_fails (r, "transport-accept", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
}

/* §7.2.16 "no existing session": both sent session-initiate. */
static void
test_tie_break_initiate (void)
{
  g_autoptr (BfJingleSession) ours = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, "bbb",
                                                            ROMEO, JULIET);
  g_autoptr (GError) error = NULL;
  /* not initiated yet: no race */
  g_assert_true (bf_jingle_session_check_initiate_race (ours, "aaa", JULIET, &error));
  g_autoptr (BfJingle) si = jingle ("<iq from='x@y/z' id='t' to='a@b/c' type='set'>"
                                    "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' "
                                    "sid='bbb'>" VOICE "</jingle></iq>");
  g_assert_true (bf_jingle_session_apply (ours, si, BF_JINGLE_OUTGOING, &error));
  g_assert_no_error (error);
  /* theirs is lower: theirs overrules, ours will be refused */
  g_assert_true (bf_jingle_session_check_initiate_race (ours, "aaa", JULIET, &error));
  g_assert_no_error (error);
  /* ours is lower ("bbb" < "ccc" in i;octet): theirs gets tie-break */
  g_assert_false (bf_jingle_session_check_initiate_race (ours, "ccc", JULIET, &error));
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_TIE_BREAK);
  g_clear_error (&error);
  /* octets, not characters: 'B' (0x42) sorts before 'b' (0x62) */
  g_assert_true (bf_jingle_session_check_initiate_race (ours, "Bbb", JULIET, &error));
  g_assert_false (bf_jingle_session_check_initiate_race (ours, "bbb\xc3\xa9", JULIET, &error));
  g_clear_error (&error);
  /* the same sid: the lower JID wins (juliet < romeo) */
  g_assert_true (bf_jingle_session_check_initiate_race (ours, "bbb", JULIET, &error));
  /* someone else: no race */
  g_assert_true (bf_jingle_session_check_initiate_race (ours, "ccc", "mercutio@verona.lit/x",
                                                        &error));
  g_assert_no_error (error);

  /* The same sid reaching the session itself.  Romeo (higher JID) loses:
   * he becomes the responder of Juliet's session. */
  g_autoptr (BfJingleSession) romeo = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, SID,
                                                             ROMEO, JULIET);
  outgoing_ok (romeo, "session-initiate", VOICE);
  incoming_ok (romeo, "session-initiate", WEBCAM ("initiator"));
  g_assert_cmpint (bf_jingle_session_get_role (romeo), ==, BF_JINGLE_ROLE_RESPONDER);
  g_assert_cmpstr (bf_jingle_session_get_initiator (romeo), ==, JULIET);
  g_assert_null (find (romeo, BF_JINGLE_CREATOR_INITIATOR, "voice"));
  g_assert_nonnull (find (romeo, BF_JINGLE_CREATOR_INITIATOR, "webcam"));
  outgoing_ok (romeo, "session-accept", WEBCAM ("initiator"));
  /* Juliet (lower JID) wins: Romeo's crossing initiate gets tie-break. */
  g_autoptr (BfJingleSession) juliet = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, SID,
                                                              JULIET, ROMEO);
  outgoing_ok (juliet, "session-initiate", WEBCAM ("initiator"));
  incoming_fails (juliet, "session-initiate", VOICE, BF_JINGLE_ERROR_TIE_BREAK);
  g_assert_cmpint (bf_jingle_session_get_role (juliet), ==, BF_JINGLE_ROLE_INITIATOR);
  /* once accepted, a session-initiate is simply out of order */
  incoming_ok (juliet, "session-accept", WEBCAM ("initiator"));
  incoming_fails (juliet, "session-initiate", VOICE, BF_JINGLE_ERROR_OUT_OF_ORDER);
}

static void
test_senders_and_sids (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         JULIET, ROMEO);
  g_autoptr (BfJingle) si = req ("session-initiate", VOICE);
  g_autoptr (GError) error = NULL;
  /* Only the peer speaks for this session. */
  g_assert_false (bf_jingle_session_check_incoming (s, si->action, "mercutio@verona.lit/x",
                                                    &error));
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNKNOWN_SESSION);
  g_clear_error (&error);
  g_assert_false (bf_jingle_session_check_incoming (s, si->action, "romeo@montague.lit/other",
                                                    &error));
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNKNOWN_SESSION);
  g_clear_error (&error);
  g_assert_false (bf_jingle_session_check_incoming (s, si->action, NULL, &error));
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNKNOWN_SESSION);
  g_clear_error (&error);
  /* the bare part compares without case, the resource with */
  g_assert_true (bf_jingle_session_check_incoming (s, si->action, "Romeo@Montague.LIT/orchard",
                                                   &error));
  g_assert_false (bf_jingle_session_check_incoming (s, si->action, "romeo@montague.lit/Orchard",
                                                    &error));
  g_clear_error (&error);
  g_assert_true (bf_jingle_jid_equal ("a@b", "A@B"));
  g_assert_false (bf_jingle_jid_equal ("a@b", "a@b/r"));
  g_assert_false (bf_jingle_jid_equal ("a@bc", "a@b"));
  g_assert_true (bf_jingle_jid_equal (NULL, NULL));

  /* a request of another session is not applied to this one */
  g_autoptr (BfJingle) other = jingle ("<iq from='x@y/z' id='t' to='a@b/c' type='set'>"
                                       "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' "
                                       "sid='other'>" VOICE "</jingle></iq>");
  g_assert_false (bf_jingle_session_apply (s, other, BF_JINGLE_INCOMING, &error));
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNKNOWN_SESSION);
  g_clear_error (&error);

  g_assert_cmpstr (bf_jingle_role_to_string (BF_JINGLE_ROLE_INITIATOR), ==, "initiator");
  g_assert_cmpstr (bf_jingle_role_to_string (BF_JINGLE_ROLE_RESPONDER), ==, "responder");
  g_assert_cmpstr (bf_jingle_state_to_string (BF_JINGLE_STATE_PENDING), ==, "pending");
  g_assert_cmpstr (bf_jingle_state_to_string (BF_JINGLE_STATE_ACTIVE), ==, "active");
  g_assert_cmpstr (bf_jingle_state_to_string (BF_JINGLE_STATE_ENDED), ==, "ended");
}

static void
test_content_limit (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         JULIET, ROMEO);
  incoming_ok (s, "session-initiate", VOICE);
  for (guint i = 1; i < BF_JINGLE_MAX_CONTENTS; i++)
    {
      g_autofree char *c = g_strdup_printf ("<content creator='initiator' name='extra%u'>"
                                            "<description xmlns='urn:xmpp:jingle:apps:rtp:1' "
                                            "media='audio'/></content>", i);
      g_autofree char *named = g_strdup_printf ("<content creator='initiator' name='extra%u'/>", i);
      incoming_ok (s, "content-add", c);
      outgoing_ok (s, "content-accept", named);
    }
  g_assert_cmpuint (bf_jingle_session_n_active_contents (s), ==, BF_JINGLE_MAX_CONTENTS);
  apply_fails (s, "content-add", WEBCAM ("initiator"), BF_JINGLE_INCOMING,
               BF_JINGLE_ERROR_BAD_REQUEST);
  /* removing one makes room again */
  incoming_ok (s, "content-remove", NAMED ("initiator", "extra3"));
  incoming_ok (s, "content-add", WEBCAM ("initiator"));
}

/* The call a Chromium caller makes through StanzaJS: candidates for both
 * bundled contents arrive by transport-info before our session-accept. */
static void
test_chromium_flow (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         "echo@relay.localhost",
                                                         "alice@localhost/web");
  incoming_ok (s, "session-initiate",
               "<content creator='initiator' name='0'>"
               "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
               "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>"
               "<content creator='initiator' name='1'>"
               "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/>"
               "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>"
               "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'>"
               "<content name='0'/><content name='1'/></group>");
  for (guint i = 0; i < 3; i++)
    {
      incoming_ok (s, "transport-info", "<content creator='initiator' name='1'>"
                   "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>");
      incoming_ok (s, "transport-info", "<content creator='initiator' name='0'>"
                   "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>");
    }
  outgoing_ok (s, "session-accept", "<content creator='initiator' name='0'>"
               "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
               "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>"
               "<content creator='initiator' name='1' senders='initiator'>"
               "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/>"
               "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>");
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, BF_JINGLE_STATE_ACTIVE);
  g_assert_cmpint (find (s, BF_JINGLE_CREATOR_INITIATOR, "1")->senders, ==,
                   BF_JINGLE_SENDERS_INITIATOR);
  /* candidates for a content the session never had are tolerated too */
  incoming_ok (s, "transport-info", "<content creator='initiator' name='2'>"
               "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>");
}

/* RFC 5763 §5: an answer's fingerprint says active or passive. */
#define ANSWER(setup) "<content creator='initiator' name='voice'>" \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>" \
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>" \
  "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-1' " setup ">" \
  "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33</fingerprint>" \
  "</transport></content>"

static void
test_answer_setup (void)
{
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, SID,
                                                         JULIET, ROMEO);
  incoming_ok (s, "session-initiate", ANSWER ("setup='actpass'"));
  outgoing_fails (s, "session-accept", ANSWER ("setup='actpass'"), BF_JINGLE_ERROR_BAD_REQUEST);
  outgoing_fails (s, "session-accept", ANSWER (""), BF_JINGLE_ERROR_BAD_REQUEST);
  g_assert_cmpint (bf_jingle_session_get_state (s), ==, BF_JINGLE_STATE_PENDING);
  outgoing_ok (s, "session-accept", ANSWER ("setup='active'"));
  incoming_ok (s, "content-add", WEBCAM ("initiator"));
  g_autoptr (BfJingle) j = req ("content-accept", "<content creator='initiator' name='webcam'>"
                                "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>"
                                "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-1' "
                                "setup='actpass'>00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                "00:11:22:33</fingerprint></transport></content>");
  g_autoptr (GError) error = NULL;
  g_assert_false (bf_jingle_session_apply (s, j, BF_JINGLE_OUTGOING, &error));
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST);
  g_assert_nonnull (strstr (error->message, "active or passive"));
  g_assert_cmpint (find (s, BF_JINGLE_CREATOR_INITIATOR, "webcam")->state, ==,
                   BF_JINGLE_CONTENT_REMOTE_ADD);
  /* the peer's answers are taken as they come */
  g_autoptr (BfJingleSession) i = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, SID,
                                                         ROMEO, JULIET);
  outgoing_ok (i, "session-initiate", ANSWER ("setup='actpass'"));
  incoming_ok (i, "session-accept", ANSWER ("setup='actpass'"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jingle-session/responder-flow", test_responder_flow);
  g_test_add_func ("/jingle-session/initiator-flow", test_initiator_flow);
  g_test_add_func ("/jingle-session/content-reject", test_content_reject);
  g_test_add_func ("/jingle-session/tie-break/existing", test_tie_break_existing);
  g_test_add_func ("/jingle-session/tie-break/initiate", test_tie_break_initiate);
  g_test_add_func ("/jingle-session/senders-and-sids", test_senders_and_sids);
  g_test_add_func ("/jingle-session/content-limit", test_content_limit);
  g_test_add_func ("/jingle-session/find-content-by-name", test_find_content_by_name);
  g_test_add_func ("/jingle-session/chromium-flow", test_chromium_flow);
  g_test_add_func ("/jingle-session/answer-setup", test_answer_setup);
  return g_test_run ();
}
