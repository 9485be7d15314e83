/* belfry — the Jingle session state machine (XEP-0166 §5.1, §6, §7.2).
 *
 * A BfJingleSession is the bookkeeping of one session as seen from the local
 * side: our role, the overall state (PENDING → ACTIVE → ENDED), the contents
 * negotiated so far (with content-add / accept / reject / remove), and the
 * outstanding requests that tie-breaking needs (§7.2.16).  No I/O.
 *
 * For a request that arrives:
 *   1. bf_jingle_parse()            malformed → bad-request
 *   2. look the session up by sid   not found → unknown-session
 *      (bf_jingle_build_error_code (iq, BF_JINGLE_ERROR_UNKNOWN_SESSION, ...))
 *   3. bf_jingle_session_check_incoming()   out-of-order, tie-break, ...
 *   4. bf_jingle_session_apply (..., BF_JINGLE_INCOMING, ...), then ack.
 * For a request we send: bf_jingle_session_apply (..., BF_JINGLE_OUTGOING, ...)
 * before sending it (XEP-0166 §6.7: a session-terminate ends the session
 * as soon as it is sent).
 */
#pragma once

#include "jingle.h"

G_BEGIN_DECLS

typedef enum {
  BF_JINGLE_ROLE_INITIATOR,
  BF_JINGLE_ROLE_RESPONDER,
} BfJingleRole;

typedef enum {
  BF_JINGLE_STATE_PENDING,
  BF_JINGLE_STATE_ACTIVE,
  BF_JINGLE_STATE_ENDED,
} BfJingleState;

typedef enum {
  BF_JINGLE_INCOMING,   /* received from the remote party */
  BF_JINGLE_OUTGOING,   /* sent by us */
} BfJingleDirection;

typedef enum {
  BF_JINGLE_CONTENT_ACTIVE,      /* part of the session (or of its offer) */
  BF_JINGLE_CONTENT_LOCAL_ADD,   /* we sent content-add; awaiting content-accept/reject */
  BF_JINGLE_CONTENT_REMOTE_ADD,  /* the peer sent content-add; awaiting our answer */
} BfJingleContentState;

typedef struct {
  BfJingleCreator creator;
  char *name;
  BfJingleSenders senders;
  BfJingleContentState state;
} BfJingleSessionContent;

typedef struct _BfJingleSession BfJingleSession;

const char *bf_jingle_role_to_string (BfJingleRole role);
const char *bf_jingle_state_to_string (BfJingleState state);

/* A session in the PENDING state with no content yet: apply the
 * session-initiate (incoming for a responder, outgoing for an initiator)
 * to fill it in.  JIDs are full JIDs. */
BfJingleSession *bf_jingle_session_new (BfJingleRole role, const char *sid,
                                        const char *local_jid, const char *remote_jid);
void bf_jingle_session_free (BfJingleSession *session);

BfJingleRole bf_jingle_session_get_role (const BfJingleSession *session);
BfJingleState bf_jingle_session_get_state (const BfJingleSession *session);
const char *bf_jingle_session_get_sid (const BfJingleSession *session);
const char *bf_jingle_session_get_local_jid (const BfJingleSession *session);
const char *bf_jingle_session_get_remote_jid (const BfJingleSession *session);
/* The initiator's and responder's JIDs, whichever side we are. */
const char *bf_jingle_session_get_initiator (const BfJingleSession *session);
const char *bf_jingle_session_get_responder (const BfJingleSession *session);

/* BfJingleSessionContent, in the order they were added. */
const GPtrArray *bf_jingle_session_get_contents (const BfJingleSession *session);
/* Contents that are part of the session (state ACTIVE). */
guint bf_jingle_session_n_active_contents (const BfJingleSession *session);
const BfJingleSessionContent *bf_jingle_session_find_content (const BfJingleSession *session,
                                                             BfJingleCreator creator,
                                                             const char *name);
/* The first content called @name, whoever created it.  XEP-0166 §7.3
 * makes creator and name together unique, but peers get the creator
 * attribute wrong, and a BfJingle's contents are found by name alone
 * (bf_jingle_find_content): this is the session-side lookup that matches
 * them. */
const BfJingleSessionContent *bf_jingle_session_find_content_by_name
  (const BfJingleSession *session, const char *name);

/* Whether a request with @action from @from may be processed now.  Fails
 * with BF_JINGLE_ERROR and:
 *   UNKNOWN_SESSION  the session has ENDED (§6.7), or @from is not the peer;
 *   OUT_OF_ORDER     the action cannot happen in this state or role, e.g.
 *                    session-accept to a responder or in ACTIVE, a second
 *                    session-initiate, content-accept without content-add;
 *   TIE_BREAK        §7.2.16 "existing session": we are the initiator and
 *                    have the same request (content-add, transport-replace)
 *                    outstanding; or both sent session-initiate with the same
 *                    sid and our JID is the lower.
 * Does not change the session. */
gboolean bf_jingle_session_check_incoming (const BfJingleSession *session,
                                           BfJingleAction action, const char *from,
                                           GError **error);

/* Moves the session on for a request received (after check_incoming) or
 * about to be sent: session-initiate registers the contents,
 * session-accept → ACTIVE, session-terminate → ENDED, content-add /
 * content-accept / content-reject / content-remove / content-modify keep
 * the content list, transport-replace / -accept / -reject the outstanding
 * replace.  Checks the same rules as check_incoming (from the sender's
 * side) and that the contents named exist (bad-request otherwise); on
 * failure the session is left unchanged.  A session-accept or
 * content-accept we send must give its DTLS fingerprints setup active or
 * passive (RFC 5763 §5), or it is refused with bad-request.  When we are
 * the responder, an
 * incoming content-add or transport-replace overrules our own outstanding
 * one (§7.2.16), which is dropped. */
gboolean bf_jingle_session_apply (BfJingleSession *session, const BfJingle *jingle,
                                  BfJingleDirection direction, GError **error);

/* §7.2.16 "no existing session": both parties sent session-initiate at
 * the same time.  @ours is our PENDING outgoing session; @their_sid and
 * @from come with the session-initiate just received.  Returns FALSE with
 * TIE_BREAK when ours overrules theirs (our sid is lower in i;octet order,
 * or the sids are equal and our JID is lower): answer theirs with that
 * error.  Returns TRUE when theirs overrules ours (accept theirs; ours will
 * be refused with conflict) or when there is no race at all (@ours is not
 * a pending session we initiated with @from). */
gboolean bf_jingle_session_check_initiate_race (const BfJingleSession *ours,
                                                const char *their_sid, const char *from,
                                                GError **error);

/* Compares JIDs as XMPP does: localpart and domain case-insensitively
 * (ASCII), resource exactly. */
gboolean bf_jingle_jid_equal (const char *a, const char *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfJingleSession, bf_jingle_session_free)

G_END_DECLS
