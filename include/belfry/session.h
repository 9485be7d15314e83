/* belfry — Jingle RTP sessions as modules see them.
 *
 * A module that sets BfModuleInfo.sessions answers Jingle audio/video calls
 * to its addresses, and may place calls of its own.  The core does the
 * protocol: it parses and validates every Jingle action (XEP-0166/0167/
 * 0176/0320/0338/0339), answers and sends JMI messages (XEP-0353), runs
 * ICE, DTLS and SRTP on a media worker thread, and ends sessions
 * (session-terminate, transport failure, DTLS failure -> <security-error/>).
 * The module decides whether to take a call, what to answer, and what to
 * do with each packet; it never sees XML.
 *
 * Ways to answer an incoming session:
 *   - with an answer of the module's own (session-media.h): read the offer
 *     with bf_session_get_offer(), build the answer, bf_session_accept()
 *     it from offer(); an endpoint such as echo (its own sources)
 *     or a conference (one mixed stream) does this;
 *   - BF_SESSION_ACCEPT from offer(): the core answers with the caller's
 *     own media and no source of ours;
 *   - later (BF_SESSION_DEFER): the module places a second session with
 *     bf_session_place() and, when that one is answered, accepts the first
 *     with bf_session_accept_mirrored(); a relay does this.
 *
 * A module also calls out on its own: bf_session_place_offer() with an
 * offer it built (a conference calling a participant), read the peer's
 * answer with bf_session_get_peer_media(), and change contents of a
 * running session with bf_session_add_content() / bf_session_accept_
 * content().
 *
 * Threads: every hook except media() and media_ready(), and every function
 * except bf_session_send_rtp/rtcp(), bf_session_forward() and
 * bf_session_request_keyframe(), run on the main thread; those run on the
 * session's media worker thread (bf_session_get_linked() on either, with
 * its own rule).  Sessions made with bf_session_place() share the worker of
 * their @mirror, so a module may send on either session from either's
 * media(); a module puts other sessions on one worker itself (the @worker
 * of bf_session_place_offer(), bf_session_set_worker() from offer()).
 * A BfSession pointer stays valid until the ended() hook has returned; data
 * set with bf_session_set_data() is freed after the last media() call, on
 * whichever thread drops the session last.  Work a module posts to the
 * session's worker from ended() (bf_worker_invoke, worker.h: e.g. removing
 * a timer that sends on it) runs before the core lets go of the session
 * there, so until then the session may still be sent to (the sends fail
 * and are counted). */
#pragma once

#include <glib.h>
#include <belfry/packet.h>
#include <belfry/session-media.h>
#include <belfry/stanza.h>

G_BEGIN_DECLS

typedef struct _BfSession BfSession;
typedef struct _BfModule BfModule;
typedef struct _BfWorker BfWorker;   /* worker.h */

/* The disco#info features of an address that takes calls through the
 * session hooks: what the core implements for it (Jingle, RTP audio and
 * video, ICE-UDP, DTLS-SRTP, rtcp-fb, header extensions, sources, BUNDLE,
 * JMI).  For BfModuleInfo.features: { BF_SESSION_DISCO_FEATURES, NULL }. */
#define BF_SESSION_DISCO_FEATURES \
  "urn:xmpp:jingle:1", \
  "urn:xmpp:jingle:apps:rtp:1", \
  "urn:xmpp:jingle:apps:rtp:audio", \
  "urn:xmpp:jingle:apps:rtp:video", \
  "urn:xmpp:jingle:transports:ice-udp:1", \
  "urn:xmpp:jingle:apps:dtls:0", \
  "urn:xmpp:jingle:apps:rtp:rtcp-fb:0", \
  "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0", \
  "urn:xmpp:jingle:apps:rtp:ssma:0", \
  "urn:xmpp:jingle:apps:grouping:0", \
  "urn:xmpp:jingle-message:0"

typedef enum {
  BF_SESSION_DECLINE = 0,  /* session-terminate with <decline/> */
  BF_SESSION_ACCEPT = 1,   /* the core answers now, with the caller's own media
                            * and no source of ours */
  BF_SESSION_DEFER = 2,    /* the module answers later: bf_session_accept_mirrored()
                            * or bf_session_terminate() */
} BfSessionDecision;

/* XEP-0167 §7 informational messages (session-info); RINGING also stands
 * for a XEP-0353 <ringing/> to a proposal of ours. */
typedef enum {
  BF_SESSION_INFO_ACTIVE,
  BF_SESSION_INFO_HOLD,
  BF_SESSION_INFO_UNHOLD,
  BF_SESSION_INFO_MUTE,
  BF_SESSION_INFO_UNMUTE,
  BF_SESSION_INFO_RINGING,
} BfSessionInfo;

typedef struct {
  /* A validated incoming session-initiate.  The module may also end the
   * session from here with bf_session_terminate() (its own reason); the
   * return value is then ignored. */
  BfSessionDecision (*offer) (BfModule *module, BfSession *session);
  /* One unprotected RTP or RTCP packet from the peer, on the worker thread
   * (packet.h: BfPacket).  The core parsed it once: RTP comes with its
   * header view (@packet->rtp) and its content, malformed RTP never comes
   * (dropped and counted, README "Metrics": malformed_rtp).  @packet and
   * what it points to are valid during the call only; @packet->data may be
   * modified in place (bf_rtp_set_*), never grown. */
  void (*media) (BfModule *module, BfSession *session, BfPacket *packet);
  /* The session is over (@reason: a XEP-0166 reason name such as
   * "success" or "failed-transport"); no other hook follows. */
  void (*ended) (BfModule *module, BfSession *session, const char *reason);
  /* A session placed with bf_session_place() was accepted by its peer:
   * bf_session_get_peer() is now the answering full JID.  Optional. */
  void (*answered) (BfModule *module, BfSession *session);
  /* The peer sent session-info (@name: the content a mute/unmute is
   * about, or NULL for the whole session), or rang (JMI <ringing/>).
   * Optional. */
  void (*info) (BfModule *module, BfSession *session, BfSessionInfo info,
                const char *name);
  /* The peer adds a content @name to the session (content-add, XEP-0166
   * §7.2.3, e.g. video to an audio call; BUNDLE'd on a transport the
   * session has, or on one of its own, which the core starts).  The module
   * answers, from here or later: bf_session_accept_content() (its own
   * description), bf_session_accept_content_mirrored() or
   * bf_session_reject_content().  Without this hook a content-add is
   * acknowledged and refused with content-reject. */
  void (*content_added) (BfModule *module, BfSession *session, const char *name);
  /* The peer answered our content-add of @name (bf_session_add_content or
   * bf_session_add_content_mirrored): content-accept (@accepted; its
   * description is then in bf_session_get_peer_media()) or content-reject
   * (the content is gone).  Optional. */
  void (*content_answered) (BfModule *module, BfSession *session, const char *name,
                            gboolean accepted);
  /* The peer removed the content @name (content-remove).  Optional. */
  void (*content_removed) (BfModule *module, BfSession *session, const char *name);
  /* Worker thread: every transport of the session has carried a packet
   * from the peer through SRTP, so the peer has its keys and what is sent
   * to it now arrives.  Runs once, and again when a content added later
   * brings a transport of its own.  What was sent before may have been
   * lost (a relayed call's other leg started earlier): a module relaying
   * video asks the sending side for a keyframe here
   * (bf_session_request_keyframe).  Optional. */
  void (*media_ready) (BfModule *module, BfSession *session);
  /* The peer sent description-info (XEP-0167 §9, "Exchanging Application
   * Parameters"), already acknowledged: @suggested holds the contents it
   * named, each with the payload types and parameters it wrote (e.g. a
   * video's 'width' and 'height': the size it displays the stream at), as
   * the peer wrote them, unchecked against the session's contents; valid
   * during the call only.  Nothing in the session changes.  Optional;
   * API 5 (a module built for 4 has no such field in its struct). */
  void (*description_info) (BfModule *module, BfSession *session,
                            const BfSessionMedia *suggested);
} BfSessionHooks;

/* The peer's JID (full, except for a placed session still being proposed
 * to a bare JID), our own JID in the session (the address that was called,
 * or the @local of bf_session_place), and the session id. */
const char *bf_session_get_peer (BfSession *session);
const char *bf_session_get_local (BfSession *session);
const char *bf_session_get_sid (BfSession *session);
/* The RTCP CNAME (and XEP-0339 cname) belfry uses toward this session's
 * peer for the sources it relays from another session: random, one per
 * session, so that nothing of one leg's identity reaches the other. */
const char *bf_session_get_cname (BfSession *session);
/* TRUE for a session made with bf_session_place(). */
gboolean bf_session_is_outgoing (BfSession *session);

/* Module data for this session. */
void bf_session_set_data (BfSession *session, gpointer data, GDestroyNotify destroy);
gpointer bf_session_get_data (BfSession *session);

/* Main thread: a copy of what the peer of an incoming @session offered in
 * its session-initiate (contents added later are not in it), for the
 * module to choose its answer from; NULL for a session we placed. */
BfSessionMedia *bf_session_get_offer (BfSession *session);

/* Accepts an incoming @session with an answer the module built
 * (session-media.h), from offer() (not yet after BF_SESSION_DEFER):
 * every offered content answered under its own name and media (one the
 * module does not want with BF_SESSION_SENDERS_NONE), with payload types
 * and header extensions chosen among those offered for it, under the
 * offer's numbers (RFC 3264 §6.1), and the module's own sources.  The
 * core adds the transports (ICE-UDP, DTLS-SRTP, the peer's BUNDLE group).
 * FALSE (and @error: G_IO_ERROR_INVALID_ARGUMENT) outside offer(), or if
 * @answer breaks these rules; the session is unchanged then.  The value
 * offer() returns is ignored once this succeeded. */
gboolean bf_session_accept (BfSession *session, const BfSessionMedia *answer, GError **error);
/* As bf_session_accept(), and the session-accept carries @jingle_extra
 * as the last children of its <jingle/>, by the rules of
 * bf_session_place_offer()'s (at most 4, 4096 bytes, namespaces of their
 * own): a room says it is the focus, XEP-0298 <conference-info
 * xmlns='urn:xmpp:coin:1' isfocus='true'/>.  Added without an API version
 * bump. */
gboolean bf_session_accept_full (BfSession *session, const BfSessionMedia *answer,
                                 BfStanza *const *jingle_extra, GError **error);

/* Places a session from @local (a full JID of the component's domain) to
 * @peer, offering what @mirror's caller offered: the same contents, payload
 * types, feedback, header extensions and SSRCs (so SSRCs pass through),
 * with belfry's own candidates and DTLS fingerprint, on @mirror's media
 * worker.  A bare @peer is first rung with a XEP-0353 propose (sid = the
 * proposal id); the session-initiate goes to the resource that proceeds.
 * A reject ends the session with its reason (default "decline"); ending
 * it before the session-initiate went out retracts the proposal.  The
 * session is the core's: the pointer is valid until ended().  NULL (and
 * @error: G_IO_ERROR_NO_SPACE when the relay is full ([media] max-sessions),
 * G_IO_ERROR_INVALID_ARGUMENT for a bad JID or a @mirror that cannot be
 * mirrored) otherwise.
 *
 * The two sessions are linked (bf_session_get_linked): the core forwards
 * between them (bf_session_forward), and on their shared worker each keeps
 * the other alive until it is torn down there, so from either one's
 * media() the other may be sent to even after its ended() (the send then
 * fails and is counted). */
BfSession *bf_session_place (BfModule *module, const char *local, const char *peer,
                             BfSession *mirror, GError **error);

/* The session linked to @session (the one bf_session_place() made from it,
 * or its mirror), or NULL.  A session has at most one link; the core owns
 * it.
 *   - Main thread: NULL once either session has ended, except that a
 *     session still sees its partner during its own ended() hook (so a
 *     relay can end the other one there; the other's ended() then sees
 *     NULL).
 *   - The sessions' worker (media(), media_ready(), work posted there):
 *     the partner from the moment the link reaches the worker (before the
 *     placed session can be answered) until @session's media stops; it
 *     may have ended on the main thread already (sends to it then fail and
 *     are counted). */
BfSession *bf_session_get_linked (BfSession *session);

/* Worker thread only: sends @packet, received on @from, to @from's linked
 * session, as the core translates it.  The core keeps the translation on
 * the worker and replaces it by posting there whenever either session is
 * answered or its contents change (in order with the work that starts the
 * media, so no packet leaves with stale numbers):
 *   - RTP: payload types by codec (name, clock rate, channels) and RFC 8285
 *     header extension ids by URI, rewritten in @packet->data (in place) from
 *     the numbers @from's peer uses to those the linked peer negotiated;
 *     SSRCs pass through.  RTP of a payload type the linked session's peer
 *     did not negotiate (an rtx, red or ulpfec only @from's peer took) is
 *     dropped and counted (logged once, and at the end): Dino plays the
 *     first SSRC of a stream and ignores any later one, so a stray
 *     retransmission stream arriving first would silence it;
 *   - RTCP: as it is (the SSRCs are the same on both sessions); a module
 *     that must hide something in it (the call's SDES/APP privacy)
 *     rewrites @packet first.
 * @packet is the one media() got (its RTP already parsed and checked; the
 * parsed header is kept in step with the rewrite), or a copy of it with
 * other RTCP bytes.  TRUE when it was sent; FALSE without a link, for a
 * payload type dropped as above or a failed send (counted). */
gboolean bf_session_forward (BfSession *from, BfPacket *packet);

/* Accepts a deferred incoming @session with what @answered's peer accepted
 * (codecs under the caller's own payload type numbers, feedback, header
 * extensions, content senders) and announces @answered's peer's SSRCs as
 * ours.  FALSE (and @error) if @session is not waiting for an answer. */
gboolean bf_session_accept_mirrored (BfSession *session, BfSession *answered, GError **error);

/* Places a session from @local (a full JID of the component's domain) to
 * @peer offering @offer, a description the module built (session-media.h:
 * 1 to 8 audio/video contents with distinct names, each with at least one
 * codec, a dynamic payload type always named; parameters, feedback, header
 * extensions and the module's own sources, sent as built), with belfry's
 * candidates and DTLS fingerprint and a BUNDLE group of every content (a
 * peer that ignores it gets a transport per content).  @worker: the media
 * worker the session runs on (bf_session_get_worker() of another session:
 * a room puts every session it places or takes on one), or NULL for the
 * core's choice.  @jingle_extra: NULL, or a NULL-terminated array of at
 * most 4 elements the session-initiate carries as the last children of its
 * <jingle/>, together at most 4096 bytes serialized, each with a namespace
 * of its own and none of Jingle's (urn:xmpp:jingle:...): e.g. XEP-0298
 * <conference-info xmlns='urn:xmpp:coin:1' isfocus='true'/> or the RFC 4575
 * document naming whose stream a XEP-0521 conference sends.  They are
 * copied; the caller keeps its own.  Ringing a bare @peer (XEP-0353),
 * rejects and retractions as for bf_session_place() (both are one path:
 * that one is this with the offer copied from the mirror, plus the link).
 * The peer's answer: the answered() hook, then bf_session_get_peer_media().
 * NULL (and @error: G_IO_ERROR_NO_SPACE when the relay is full,
 * G_IO_ERROR_BUSY while it drains (no new sessions, SIGUSR1),
 * G_IO_ERROR_CLOSED while it stops, G_IO_ERROR_INVALID_ARGUMENT for a
 * module without session hooks, a bad JID, an @offer breaking the rules
 * above, a @worker that is not the relay's, or a bad extra element)
 * otherwise; nothing is sent then.  Not linked to any other session. */
BfSession *bf_session_place_offer (BfModule *module, const char *local, const char *peer,
                                   const BfSessionMedia *offer, BfWorker *worker,
                                   BfStanza *const *jingle_extra, GError **error);

/* Main thread: a copy of what @session's peer describes for each content
 * now in the session, as it wrote it: what it offered (session-initiate,
 * content-add, including a content still waiting for our answer) or
 * answered (session-accept, content-accept, under the numbers of our
 * offer): codecs, parameters, feedback, header extensions, senders, and its
 * sources.  A content removed or rejected is no longer in it.  NULL before
 * the peer described anything (a placed session before answered()); the
 * caller frees it. */
BfSessionMedia *bf_session_get_peer_media (BfSession *session);

/* From offer() only: runs the incoming @session on @worker (another
 * session's, bf_session_get_worker()) instead of the core's choice: a room
 * keeps all its participants on one worker, so its mixer reads and sends
 * on one thread.  bf_session_get_worker() returns @worker from then on.
 * Before bf_session_place() mirrors @session (the placed session takes the
 * worker the mirror has then).  FALSE (and @error: G_IO_ERROR_INVALID_
 * ARGUMENT) elsewhere, for a session already mirrored, or for a worker
 * that is not the relay's; the session is unchanged then. */
gboolean bf_session_set_worker (BfSession *session, BfWorker *worker, GError **error);

/* Main thread, on an accepted (or answered) session: adds content @content
 * of @media (module-built, checked as bf_session_place_offer() checks a
 * content; its name new in the session) with XEP-0166 content-add,
 * created by our role, its sources as built, BUNDLE'd on the session's
 * transport when the peer bundles, else on a transport of its own.  The
 * peer's answer comes to the content_answered() hook (and into
 * bf_session_get_peer_media()).  FALSE (and @error: G_IO_ERROR_INVALID_
 * ARGUMENT when the session is not active or the content is invalid or
 * taken, G_IO_ERROR_NO_SPACE when the session has 16 contents or no
 * transport is left for it); nothing is sent then.  With a peer that does
 * not BUNDLE (Dino), RTP a module sends leaves on the transport of the
 * content that negotiated its payload type (packet-route.h): give an added
 * content payload type numbers no other content of the session uses. */
gboolean bf_session_add_content (BfSession *session, const BfSessionMedia *media,
                                 guint content, GError **error);
/* Main thread: answers contents the peer added (content_added(); read them
 * with bf_session_get_peer_media()) with @answer, the module's description
 * of each, under the added content's name, by the rules bf_session_accept()
 * checks (media as offered; payload types and header extensions among
 * those offered for it, under the offer's numbers): one content-accept per
 * content.  An added content @answer does not name stays waiting
 * (bf_session_reject_content() refuses it).  FALSE (and @error: G_IO_ERROR_
 * INVALID_ARGUMENT) when the session is not active, @answer is empty, or a
 * content in it is not waiting for an answer or breaks those rules;
 * nothing is sent then. */
gboolean bf_session_accept_content (BfSession *session, const BfSessionMedia *answer,
                                    GError **error);

/* Content changes relayed from one session to another (main thread; both
 * sessions accepted).  Add to @session the content @name that @mirror's
 * peer just added (its content_added hook), offered as that peer offered
 * it; accept on @session the content @name its peer added, with what
 * @answered's peer accepted (as bf_session_accept_mirrored does for a
 * whole session); reject or remove a content.  FALSE (and @error) when
 * the content is unknown or in the wrong state, or nothing is in common. */
gboolean bf_session_add_content_mirrored (BfSession *session, BfSession *mirror,
                                          const char *name, GError **error);
gboolean bf_session_accept_content_mirrored (BfSession *session, BfSession *answered,
                                             const char *name, GError **error);
void bf_session_reject_content (BfSession *session, const char *name, const char *reason);
void bf_session_remove_content (BfSession *session, const char *name);

/* Ends a session with a XEP-0166 reason name ("success", "decline",
 * "busy", "timeout"...; unknown names become "general-error") and an
 * optional human text.  A proposal not yet proceeded is retracted instead.
 * The ended() hook runs before this returns.  Idempotent. */
void bf_session_terminate (BfSession *session, const char *reason, const char *text);

/* Sends session-info (@name: the content of a mute/unmute, or NULL).
 * RINGING before the session is accepted only. */
void bf_session_send_info (BfSession *session, BfSessionInfo info, const char *name);

/* Worker thread only: protects and sends one packet to the peer.  FALSE
 * (counted) before DTLS is done, after the end, or for a malformed packet. */
gboolean bf_session_send_rtp (BfSession *session, const guint8 *data, gsize len);
gboolean bf_session_send_rtcp (BfSession *session, const guint8 *data, gsize len);

/* Worker thread only: asks the session's peer for a keyframe of each video
 * stream it sends us (the SSRCs seen on its video payload types), with the
 * request that payload type negotiated: a PLI (RFC 4585 §6.3.1) or a FIR
 * (RFC 5104 §4.3.1); a stream with neither is not asked.  Sent at once:
 * a module forwarding receivers' requests de-duplicates and limits them
 * itself.  The number of requests sent. */
guint bf_session_request_keyframe (BfSession *session);

G_END_DECLS
