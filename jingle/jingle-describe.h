/* belfry — RTP description negotiation (XEP-0167 with XEP-0293, 0294,
 * 0339): what belfry can take from a peer, the descriptions a relayed call
 * and an answering endpoint send, built from what the peers said, and the packet
 * translation that follows from them.
 *
 * A relayed call has two legs: the caller's session (we answer it) and the
 * callee's (we place it, offering what the caller offered).  Offer/answer
 * (RFC 3264 §6.1, XEP-0167 §5): each side sends with the payload type
 * numbers the other side listed, so with the caller's numbers offered on
 * and answered back to the caller, only the callee's own answer numbers can
 * differ: the BfRtpMap covers that, and RFC 8285 extension ids likewise.
 * Pure code like the rest of jingle/: no I/O, no session state, any
 * thread. */
#pragma once

#include "jingle.h"
#include "rtp-map.h"

G_BEGIN_DECLS

/* Why belfry cannot take @j, an offer (or the answer to a session it
 * placed), as a reason with a static text in @why; SUCCESS when it can.
 * It needs at least one content (INCOMPATIBLE_PARAMETERS without), each
 * an RTP description (XEP-0167 §4) with at least one payload type over
 * ICE-UDP (XEP-0176): UNSUPPORTED_APPLICATIONS / UNSUPPORTED_TRANSPORTS
 * otherwise (XEP-0166 §7.4); and a DTLS fingerprint (XEP-0320) on some
 * transport, SECURITY_ERROR without one: belfry only speaks DTLS-SRTP. */
BfJingleReasonCondition bf_jingle_check_supported (const BfJingle *j, const char **why);

/* Whether @a and @b are the same encoding: name (case-insensitive, RFC
 * 4855 §3), clock rate and channels; a static payload type without a name
 * (XEP-0167 §5 allows it for RFC 3551's) only as the same number. */
gboolean bf_jingle_describe_same_encoding (const BfJinglePayloadType *a,
                                           const BfJinglePayloadType *b);

/* Appends to @rtp a copy of @o numbered @id: its parameters, feedback,
 * ptime and trr-int. */
BfJinglePayloadType *bf_jingle_describe_copy_payload_type (BfJingleRtpDescription *rtp,
                                                           const BfJinglePayloadType *o,
                                                           guint8 id);

/* A copy of @offer to offer to the callee: codecs, parameters, feedback,
 * header extensions, sources and groups; not SDES crypto (DTLS-SRTP only). */
BfJingleRtpDescription *bf_jingle_describe_mirror_offer (const BfJingleRtpDescription *offer);

/* The answer of an endpoint that takes whatever the caller sends: the
 * same as bf_jingle_describe_mirror_offer() but for the sources and
 * ssrc-groups, which are the caller's own (an endpoint that sends adds
 * sources of its own), with rtcp-mux, and the mixed header extension form
 * (RFC 8285 §6) only where there are header extensions.  The one answer
 * builder behind BF_SESSION_ACCEPT and bf_session_media_copy_content(). */
BfJingleRtpDescription *bf_jingle_describe_answer_as_offered (const BfJingleRtpDescription *offer);

/* Our answer to the caller, who offered @caller_offer, when the callee
 * answered our mirrored offer with @callee_answer: the callee's codecs,
 * each under the number the caller gave it (matched by number and codec,
 * else by codec), the callee's parameters and feedback (an 'apt' follows
 * the renumbering), the callee's header extensions under the caller's ids
 * (those the caller did not offer are left out), the callee's sources and
 * groups.  The result may have no payload type when nothing matched. */
BfJingleRtpDescription *
bf_jingle_describe_mirror_answer (const BfJingleRtpDescription *caller_offer,
                                  const BfJingleRtpDescription *callee_answer);

/* Fills @map for packets that arrive with the numbers of @sent (what we
 * told their sender we receive) and leave with the numbers of @heard (what
 * their receiver told us it receives).  Contents are paired by name. */
void bf_jingle_describe_rtp_map (const BfJingle *sent, const BfJingle *heard, BfRtpMap *map);
/* The same, one content at a time: start with
 * bf_jingle_describe_rtp_map_init(), then add each pair of descriptions of
 * the same content. */
void bf_jingle_describe_rtp_map_init (BfRtpMap *map);
void bf_jingle_describe_rtp_map_add (BfRtpMap *map, const BfJingleRtpDescription *sent,
                                     const BfJingleRtpDescription *heard);

G_END_DECLS
