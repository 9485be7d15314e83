/* belfry — Jingle (XEP-0166) stanzas as data: parse an <iq/> carrying a
 * <jingle/> element into a BfJingle, validate it, and build one back.
 *
 * Covered: the session actions of XEP-0166, RTP descriptions (XEP-0167 with
 * 0293 rtcp-fb, 0294 rtp-hdrext, 0339 sources, SDES <encryption/>), ICE-UDP
 * transports (XEP-0176) with DTLS fingerprints (XEP-0320), content groups
 * (XEP-0338) and RTP session-info payloads (XEP-0167 §8).  Descriptions and
 * transports in other namespaces are kept as "unsupported" with their
 * namespace, so the caller can answer with the right reason.
 *
 * Everything here is pure: no sockets, no threads, no global state.  The
 * structures are plain and public: a module reads them directly and builds
 * new ones with the constructors below.  Strings are owned UTF-8 (a
 * candidate's are fixed-size arrays: jingle-candidate.h); arrays are
 * GPtrArrays that own their elements.
 */
#pragma once

#include <glib.h>
#include <belfry/stanza.h>

#include "jingle-candidate.h"

G_BEGIN_DECLS

#define BF_NS_JINGLE              "urn:xmpp:jingle:1"
#define BF_NS_JINGLE_ERRORS       "urn:xmpp:jingle:errors:1"
#define BF_NS_JINGLE_RTP          "urn:xmpp:jingle:apps:rtp:1"
#define BF_NS_JINGLE_RTP_INFO     "urn:xmpp:jingle:apps:rtp:info:1"
/* The namespace XEP-0166's own Example 30 uses for <ringing/>; accepted. */
#define BF_NS_JINGLE_RTP_INFO_OLD "urn:xmpp:jingle:apps:rtp:1:info"
#define BF_NS_JINGLE_RTP_ERRORS   "urn:xmpp:jingle:apps:rtp:errors:1"
#define BF_NS_JINGLE_RTCP_FB      "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
#define BF_NS_JINGLE_HDREXT       "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
#define BF_NS_JINGLE_SSMA         "urn:xmpp:jingle:apps:rtp:ssma:0"
#define BF_NS_JINGLE_GROUPING     "urn:xmpp:jingle:apps:grouping:0"
#define BF_NS_JINGLE_ICE_UDP      "urn:xmpp:jingle:transports:ice-udp:1"
#define BF_NS_JINGLE_DTLS         "urn:xmpp:jingle:apps:dtls:0"

/* Limits on what one stanza may carry.  Anything above is refused with
 * bad-request: a peer never needs more, and memory stays bounded. */
#define BF_JINGLE_MAX_CONTENTS        16
#define BF_JINGLE_MAX_PAYLOAD_TYPES   64   /* per description */
#define BF_JINGLE_MAX_CANDIDATES      32   /* per transport */
#define BF_JINGLE_MAX_PARAMETERS      32   /* per payload type, source, rtcp-fb, hdrext */
#define BF_JINGLE_MAX_RTCP_FB         32   /* per payload type, and per description */
#define BF_JINGLE_MAX_HDREXTS         32   /* per description */
#define BF_JINGLE_MAX_SOURCES         64   /* per description */
#define BF_JINGLE_MAX_SSRC_GROUPS     32   /* per description */
#define BF_JINGLE_MAX_GROUP_SOURCES   16   /* ssrcs in one ssrc-group */
#define BF_JINGLE_MAX_CRYPTO          16   /* SDES <crypto/> per description */
#define BF_JINGLE_MAX_GROUPS          8    /* XEP-0338 groups per jingle */
#define BF_JINGLE_MAX_GROUP_CONTENTS  16   /* content names in one group */
#define BF_JINGLE_MAX_STRING          1024 /* bytes in any attribute we keep */
#define BF_JINGLE_MAX_TEXT            4096 /* bytes of a reason's <text/> */
#define BF_JINGLE_MAX_SID             256  /* bytes of a session id */
/* Extra children of a <jingle/> we build (bf_jingle_set_extra): how many,
 * and their serialized size together. */
#define BF_JINGLE_MAX_EXTRA           4
#define BF_JINGLE_MAX_EXTRA_BYTES     4096

/* --- errors --- */

#define BF_JINGLE_ERROR (bf_jingle_error_quark ())
GQuark bf_jingle_error_quark (void);

/* Each code maps to one stanza error (see BfJingleErrorInfo). */
typedef enum {
  BF_JINGLE_ERROR_BAD_REQUEST,      /* modify / bad-request */
  BF_JINGLE_ERROR_OUT_OF_ORDER,     /* wait / unexpected-request + out-of-order */
  BF_JINGLE_ERROR_TIE_BREAK,        /* cancel / conflict + tie-break */
  BF_JINGLE_ERROR_UNKNOWN_SESSION,  /* cancel / item-not-found + unknown-session */
  BF_JINGLE_ERROR_UNSUPPORTED_INFO, /* modify / feature-not-implemented + unsupported-info */
} BfJingleErrorCode;

/* What to answer for an error: the RFC 6120 §8.3 error type and defined
 * condition, plus the XEP-0166 §10 condition in urn:xmpp:jingle:errors:1
 * (NULL for none).  Static strings. */
typedef struct {
  const char *type;
  const char *condition;
  const char *jingle_condition;
} BfJingleErrorInfo;

/* Fills @info for an error of the BF_JINGLE_ERROR domain; any other error
 * (or NULL) is answered as cancel / internal-server-error. */
void bf_jingle_error_get_info (const GError *error, BfJingleErrorInfo *info);
void bf_jingle_error_code_get_info (BfJingleErrorCode code, BfJingleErrorInfo *info);

/* The <iq type='error'/> answering @iq: from/to swapped, same id, the
 * request's payload copied, and <error/> with the condition, the error's
 * message as <text/>, and the Jingle-specific condition. */
BfStanza *bf_jingle_build_error (const BfStanza *iq, const GError *error);
/* The same for a code and text chosen by the caller, e.g. unknown-session
 * after a failed session lookup (XEP-0166 §6.7, Example 29). */
BfStanza *bf_jingle_build_error_code (const BfStanza *iq, BfJingleErrorCode code,
                                      const char *text);

/* --- enumerations --- */

/* XEP-0166 §7.2: every defined action. */
typedef enum {
  BF_JINGLE_ACTION_CONTENT_ACCEPT,
  BF_JINGLE_ACTION_CONTENT_ADD,
  BF_JINGLE_ACTION_CONTENT_MODIFY,
  BF_JINGLE_ACTION_CONTENT_REJECT,
  BF_JINGLE_ACTION_CONTENT_REMOVE,
  BF_JINGLE_ACTION_DESCRIPTION_INFO,
  BF_JINGLE_ACTION_SECURITY_INFO,
  BF_JINGLE_ACTION_SESSION_ACCEPT,
  BF_JINGLE_ACTION_SESSION_INFO,
  BF_JINGLE_ACTION_SESSION_INITIATE,
  BF_JINGLE_ACTION_SESSION_TERMINATE,
  BF_JINGLE_ACTION_TRANSPORT_ACCEPT,
  BF_JINGLE_ACTION_TRANSPORT_INFO,
  BF_JINGLE_ACTION_TRANSPORT_REJECT,
  BF_JINGLE_ACTION_TRANSPORT_REPLACE,
} BfJingleAction;

const char *bf_jingle_action_to_string (BfJingleAction action);
gboolean bf_jingle_action_from_string (const char *s, BfJingleAction *action);

typedef enum {
  BF_JINGLE_CREATOR_INITIATOR,
  BF_JINGLE_CREATOR_RESPONDER,
} BfJingleCreator;

const char *bf_jingle_creator_to_string (BfJingleCreator creator);
gboolean bf_jingle_creator_from_string (const char *s, BfJingleCreator *creator);

typedef enum {
  BF_JINGLE_SENDERS_BOTH,
  BF_JINGLE_SENDERS_INITIATOR,
  BF_JINGLE_SENDERS_RESPONDER,
  BF_JINGLE_SENDERS_NONE,
} BfJingleSenders;

const char *bf_jingle_senders_to_string (BfJingleSenders senders);
gboolean bf_jingle_senders_from_string (const char *s, BfJingleSenders *senders);

/* XEP-0166 §7.4, Table 3. */
typedef enum {
  BF_JINGLE_REASON_ALTERNATIVE_SESSION,
  BF_JINGLE_REASON_BUSY,
  BF_JINGLE_REASON_CANCEL,
  BF_JINGLE_REASON_CONNECTIVITY_ERROR,
  BF_JINGLE_REASON_DECLINE,
  BF_JINGLE_REASON_EXPIRED,
  BF_JINGLE_REASON_FAILED_APPLICATION,
  BF_JINGLE_REASON_FAILED_TRANSPORT,
  BF_JINGLE_REASON_GENERAL_ERROR,
  BF_JINGLE_REASON_GONE,
  BF_JINGLE_REASON_INCOMPATIBLE_PARAMETERS,
  BF_JINGLE_REASON_MEDIA_ERROR,
  BF_JINGLE_REASON_SECURITY_ERROR,
  BF_JINGLE_REASON_SUCCESS,
  BF_JINGLE_REASON_TIMEOUT,
  BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS,
  BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS,
} BfJingleReasonCondition;

const char *bf_jingle_reason_to_string (BfJingleReasonCondition condition);
gboolean bf_jingle_reason_from_string (const char *s, BfJingleReasonCondition *condition);

/* XEP-0320: the DTLS role in a fingerprint's 'setup' (RFC 4145). */
typedef enum {
  BF_JINGLE_SETUP_UNSET,     /* attribute absent */
  BF_JINGLE_SETUP_ACTPASS,
  BF_JINGLE_SETUP_ACTIVE,
  BF_JINGLE_SETUP_PASSIVE,
} BfJingleSetup;

const char *bf_jingle_setup_to_string (BfJingleSetup setup); /* NULL for UNSET */

/* XEP-0167 §8 session-info payloads. */
typedef enum {
  BF_JINGLE_INFO_NONE,      /* empty session-info: a ping (XEP-0166 §6.8) */
  BF_JINGLE_INFO_ACTIVE,
  BF_JINGLE_INFO_HOLD,
  BF_JINGLE_INFO_UNHOLD,
  BF_JINGLE_INFO_MUTE,
  BF_JINGLE_INFO_UNMUTE,
  BF_JINGLE_INFO_RINGING,
} BfJingleInfoKind;

typedef enum {
  BF_JINGLE_DESCRIPTION_NONE,         /* the content has no <description/> */
  BF_JINGLE_DESCRIPTION_RTP,          /* urn:xmpp:jingle:apps:rtp:1 */
  BF_JINGLE_DESCRIPTION_UNSUPPORTED,  /* any other namespace, kept in description_ns */
} BfJingleDescriptionKind;

typedef enum {
  BF_JINGLE_TRANSPORT_NONE,
  BF_JINGLE_TRANSPORT_ICE_UDP,        /* urn:xmpp:jingle:transports:ice-udp:1 */
  BF_JINGLE_TRANSPORT_UNSUPPORTED,    /* any other namespace, kept in transport_ns */
} BfJingleTransportKind;

/* --- the model --- */

/* <parameter name= value=/>; @value is NULL when the attribute is absent
 * (XEP-0293, 0294 and 0339 allow that). */
typedef struct {
  char *name;
  char *value;
} BfJingleParameter;

/* XEP-0293 <rtcp-fb type= subtype=/> */
typedef struct {
  char *type;
  char *subtype;               /* NULL when absent */
  GPtrArray *parameters;       /* BfJingleParameter */
} BfJingleRtcpFb;

/* XEP-0167 <payload-type/> */
typedef struct {
  guint8 id;                   /* 0-127 */
  char *name;                  /* NULL when absent */
  guint32 clockrate;           /* 0: absent */
  guint8 channels;             /* 1 when absent */
  guint32 ptime;               /* 0: absent */
  guint32 maxptime;            /* 0: absent */
  GPtrArray *parameters;       /* BfJingleParameter */
  GPtrArray *rtcp_fb;          /* BfJingleRtcpFb */
  gboolean has_trr_int;        /* XEP-0293 <rtcp-fb-trr-int/> */
  guint32 trr_int;
} BfJinglePayloadType;

/* XEP-0294 <rtp-hdrext/> */
typedef struct {
  guint16 id;                  /* 1-65535 */
  char *uri;
  BfJingleSenders senders;     /* BOTH when absent */
  GPtrArray *parameters;       /* BfJingleParameter */
} BfJingleHdrext;

/* XEP-0339 <source ssrc=/> */
typedef struct {
  guint32 ssrc;
  GPtrArray *parameters;       /* BfJingleParameter */
} BfJingleSource;

/* XEP-0339 <ssrc-group semantics=/> */
typedef struct {
  char *semantics;
  GArray *ssrcs;               /* guint32 */
} BfJingleSsrcGroup;

/* XEP-0167 §7 SDES <crypto/> */
typedef struct {
  char *crypto_suite;
  char *key_params;
  char *session_params;        /* NULL when absent */
  char *tag;
} BfJingleCrypto;

typedef struct {
  char *media;                 /* "audio", "video", ... */
  gboolean has_ssrc;
  guint32 ssrc;
  GPtrArray *payload_types;    /* BfJinglePayloadType, in order of preference */
  GPtrArray *rtcp_fb;          /* BfJingleRtcpFb applying to every payload type */
  gboolean has_trr_int;
  guint32 trr_int;
  GPtrArray *hdrexts;          /* BfJingleHdrext */
  gboolean extmap_allow_mixed;
  GPtrArray *sources;          /* BfJingleSource */
  GPtrArray *ssrc_groups;      /* BfJingleSsrcGroup */
  gboolean rtcp_mux;
  gboolean rtcp_reduced_size;  /* <rtcp-reduced-size/>, as StanzaJS writes it */
  char *bandwidth_type;        /* NULL when there is no <bandwidth/> */
  char *bandwidth;
  gboolean has_encryption;
  gboolean encryption_required;
  GPtrArray *crypto;           /* BfJingleCrypto */
} BfJingleRtpDescription;

/* XEP-0176 <candidate/>: BfJingleCandidate, in jingle-candidate.h (shared with
 * relay/media). */

/* XEP-0320 <fingerprint/> */
typedef struct {
  char *hash;                  /* "sha-256" ..., lower case */
  BfJingleSetup setup;
  char *value;                 /* "AB:CD:...", upper case, length checked against hash */
} BfJingleFingerprint;

typedef struct {
  char *ufrag;                 /* NULL when absent (then pwd is too) */
  char *pwd;
  GPtrArray *candidates;       /* BfJingleCandidate */
  BfJingleFingerprint *fingerprint;  /* NULL when absent */
  /* XEP-0176 §5.7 <remote-candidate/> */
  gboolean has_remote_candidate;
  guint remote_component;
  char *remote_ip;
  guint16 remote_port;
} BfJingleIceTransport;

typedef struct {
  BfJingleCreator creator;     /* INITIATOR when absent */
  char *name;
  BfJingleSenders senders;     /* BOTH when absent */
  char *disposition;           /* NULL for the default, "session" */
  BfJingleDescriptionKind description_kind;
  char *description_ns;        /* namespace of the <description/>, NULL for NONE */
  BfJingleRtpDescription *rtp; /* for RTP, else NULL */
  BfJingleTransportKind transport_kind;
  char *transport_ns;
  BfJingleIceTransport *ice;   /* for ICE_UDP, else NULL */
} BfJingleContent;

typedef struct {
  BfJingleReasonCondition condition;
  char *text;                  /* NULL when absent */
  char *alternative_sid;       /* <alternative-session><sid/>, NULL when absent */
  /* An extra element in another namespace (§7.4), e.g. XEP-0167's
   * <invalid-crypto xmlns='urn:xmpp:jingle:apps:rtp:errors:1'/>. */
  char *detail_ns;
  char *detail_name;
} BfJingleReason;

/* XEP-0338 <group semantics=/> */
typedef struct {
  char *semantics;             /* "BUNDLE", "LS", ... */
  GPtrArray *contents;         /* char*: content names */
} BfJingleGroup;

typedef struct {
  BfJingleInfoKind kind;
  BfJingleCreator creator;     /* mute / unmute */
  char *name;                  /* mute / unmute: NULL for every content */
} BfJingleInfo;

typedef struct {
  BfJingleAction action;
  char *sid;
  char *initiator;             /* NULL when absent */
  char *responder;             /* NULL when absent */
  GPtrArray *contents;         /* BfJingleContent */
  BfJingleReason *reason;      /* NULL when absent */
  GPtrArray *groups;           /* BfJingleGroup */
  BfJingleInfo info;           /* session-info payload */
  /* BfStanza*: elements of other namespaces built as children of the
   * <jingle/> after everything else (bf_jingle_set_extra), e.g. XEP-0298
   * <conference-info/>.  Built only: the parser leaves it empty. */
  GPtrArray *extra;
} BfJingle;

/* --- construction and destruction --- */

BfJingle *bf_jingle_new (BfJingleAction action, const char *sid);
void bf_jingle_free (BfJingle *jingle);
/* Adds a content with no description nor transport and returns it. */
BfJingleContent *bf_jingle_add_content (BfJingle *jingle, BfJingleCreator creator,
                                        const char *name);
BfJingleContent *bf_jingle_find_content (const BfJingle *jingle, const char *name);
/* Removes (and frees) the first content called @name; FALSE when there is
 * none.  @jingle may be NULL (no content at all). */
gboolean bf_jingle_remove_content (BfJingle *jingle, const char *name);
BfJingleReason *bf_jingle_set_reason (BfJingle *jingle, BfJingleReasonCondition condition,
                                      const char *text);
BfJingleGroup *bf_jingle_add_group (BfJingle *jingle, const char *semantics);
/* Appends a copy of each XEP-0338 group of @from (semantics and content
 * names) to @to's: an answer or a mirrored offer keeps the BUNDLE group of
 * what it answers or mirrors (XEP-0338 §2, the SDP a=group mapping). */
void bf_jingle_copy_groups (BfJingle *to, const BfJingle *from);
/* Makes copies of the NULL-terminated @extra (NULL: none) the extra
 * children of @jingle's <jingle/> (XEP-0298 <conference-info/> on a
 * session-initiate, XEP-0521), replacing any it had.  Refused with
 * BF_JINGLE_ERROR_BAD_REQUEST, @jingle unchanged: more than
 * BF_JINGLE_MAX_EXTRA elements, over BF_JINGLE_MAX_EXTRA_BYTES serialized
 * together, an element with no namespace of its own (it would take
 * Jingle's), or one in a namespace of Jingle's (urn:xmpp:jingle:...):
 * what those say (contents, groups, reasons, session-info) is the model's
 * to build, never an opaque extra's. */
gboolean bf_jingle_set_extra (BfJingle *jingle, BfStanza *const *extra, GError **error);
/* Appends copies of @from's extra children to @to's. */
void bf_jingle_copy_extra (BfJingle *to, const BfJingle *from);

BfJingleContent *bf_jingle_content_new (BfJingleCreator creator, const char *name);
void bf_jingle_content_free (BfJingleContent *content);
/* Gives the content an empty RTP description / ICE-UDP transport (replacing
 * any it had) and returns it. */
BfJingleRtpDescription *bf_jingle_content_set_rtp (BfJingleContent *content, const char *media);
/* Gives the content @rtp (taken), replacing any description it had, and
 * returns it. */
BfJingleRtpDescription *bf_jingle_content_take_rtp (BfJingleContent *content,
                                                    BfJingleRtpDescription *rtp);
BfJingleIceTransport *bf_jingle_content_set_ice (BfJingleContent *content,
                                                 const char *ufrag, const char *pwd);

BfJingleRtpDescription *bf_jingle_rtp_description_new (const char *media);
void bf_jingle_rtp_description_free (BfJingleRtpDescription *rtp);
BfJinglePayloadType *bf_jingle_rtp_add_payload_type (BfJingleRtpDescription *rtp, guint8 id,
                                                     const char *name, guint32 clockrate,
                                                     guint8 channels);
/* The payload type numbered @id in @rtp, or NULL. */
BfJinglePayloadType *bf_jingle_rtp_find_payload_type (const BfJingleRtpDescription *rtp,
                                                      guint8 id);
BfJingleParameter *bf_jingle_parameters_add (GPtrArray *parameters, const char *name,
                                             const char *value);
BfJingleRtcpFb *bf_jingle_rtcp_fb_add (GPtrArray *rtcp_fb, const char *type, const char *subtype);
BfJingleHdrext *bf_jingle_rtp_add_hdrext (BfJingleRtpDescription *rtp, guint16 id,
                                          const char *uri, BfJingleSenders senders);
BfJingleSource *bf_jingle_rtp_add_source (BfJingleRtpDescription *rtp, guint32 ssrc);
BfJingleSsrcGroup *bf_jingle_rtp_add_ssrc_group (BfJingleRtpDescription *rtp,
                                                 const char *semantics,
                                                 const guint32 *ssrcs, guint n_ssrcs);

BfJingleIceTransport *bf_jingle_ice_transport_new (const char *ufrag, const char *pwd);
void bf_jingle_ice_transport_free (BfJingleIceTransport *ice);
/* Adds a candidate with generation 0, no id, network, rel-addr/port.
 * @foundation and @ip fit BF_JINGLE_CANDIDATE_TOKEN_MAX and _ADDRESS_MAX
 * (NULL otherwise); @protocol is "udp" or "tcp" (NULL: "udp"). */
BfJingleCandidate *bf_jingle_ice_add_candidate (BfJingleIceTransport *ice, guint component,
                                                const char *foundation, const char *ip,
                                                guint16 port, guint32 priority,
                                                const char *protocol,
                                                BfJingleCandidateType type);
/* Appends a copy of @c. */
BfJingleCandidate *bf_jingle_ice_append_candidate (BfJingleIceTransport *ice,
                                                   const BfJingleCandidate *c);
BfJingleFingerprint *bf_jingle_ice_set_fingerprint (BfJingleIceTransport *ice, const char *hash,
                                                    BfJingleSetup setup, const char *value);
/* The first DTLS fingerprint (XEP-0320) on any content's ICE-UDP transport
 * of @jingle, NULL when none has one.  A peer has one certificate for the
 * session, so one transport's fingerprint stands for all of them: clients
 * put it on the first content only, or on every content (XEP-0320 §1). */
const BfJingleFingerprint *bf_jingle_first_fingerprint (const BfJingle *jingle);
/* Adds the candidates of @from's ICE-UDP transports (trickled in a
 * transport-info, XEP-0176 §5.5) to the transport of @into's content of
 * the same name; contents that either side lacks, or that have no ICE-UDP
 * transport, are skipped.  Stops at the first candidate that would take a
 * transport of @into over BF_JINGLE_MAX_CANDIDATES, dropping the rest of
 * @from: returns FALSE when it did. */
gboolean bf_jingle_merge_candidates (BfJingle *into, const BfJingle *from);

/* How a keyframe may be asked of whoever sends @pt of the video
 * description @rtp, as negotiated there (XEP-0293 <rtcp-fb/> on the
 * payload type or the whole description): a PLI (RFC 4585 §6.3.1) where
 * "nack pli" is, a FIR (RFC 5104 §4.3.1) where only "ccm fir" is, NONE for
 * audio or when neither was negotiated. */
typedef enum {
  BF_JINGLE_KEYFRAME_NONE = 0,
  BF_JINGLE_KEYFRAME_FIR = 1,
  BF_JINGLE_KEYFRAME_PLI = 2,
} BfJingleKeyframeRequest;

BfJingleKeyframeRequest bf_jingle_keyframe_request (const BfJingleRtpDescription *rtp,
                                                    const BfJinglePayloadType *pt);

/* Deep structural equality (NULL equals NULL). */
gboolean bf_jingle_equal (const BfJingle *a, const BfJingle *b);

/* --- parsing and building --- */

/* Parses and validates an <iq type='set'/> holding a <jingle/> element.  On
 * failure returns NULL with a BF_JINGLE_ERROR whose message is the text to
 * send back (see bf_jingle_build_error()): BAD_REQUEST for anything
 * malformed or over a limit, UNSUPPORTED_INFO for a session-info payload
 * that is not one of XEP-0167 §8 (XEP-0166 §6.8).  Unknown description and
 * transport namespaces are not errors (see BfJingleDescriptionKind). */
BfJingle *bf_jingle_parse (const BfStanza *iq, GError **error);

/* The <iq type='set'/> for @jingle; @from, @to and @id may be NULL. */
BfStanza *bf_jingle_build (const BfJingle *jingle, const char *from, const char *to,
                           const char *id);

/* Validators shared with the session layer and with modules that build. */
gboolean bf_jingle_check_ice_credentials (const char *ufrag, const char *pwd, GError **error);
gboolean bf_jingle_check_fingerprint (const char *hash, const char *value, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfJingle, bf_jingle_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfJingleContent, bf_jingle_content_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfJingleRtpDescription, bf_jingle_rtp_description_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfJingleIceTransport, bf_jingle_ice_transport_free)

G_END_DECLS
