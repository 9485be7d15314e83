/* belfry — Jingle RTP sessions as modules see them.
 *
 * A module that sets BfModuleInfo.sessions answers Jingle audio/video calls
 * to its addresses.  The core does the protocol: it parses and validates
 * every Jingle action (XEP-0166/0167/0176/0320/0338/0339), answers JMI
 * proposals (XEP-0353), runs ICE, DTLS and SRTP on a media worker thread,
 * accepts the session with the caller's own payload types and with one
 * local SSRC per remote SSRC (announced as XEP-0339 sources), and ends it
 * (session-terminate, transport failure, DTLS failure -> <security-error/>).
 * The module decides whether to take a call and what to do with each
 * packet; it never sees XML.
 *
 * Threads: offer() and ended() run on the main thread; media() runs on the
 * session's media worker thread, where bf_session_send_rtp/rtcp() must be
 * called.  Data set with bf_session_set_data() is freed after the last
 * media() call, on whichever thread drops the session last. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BfSession BfSession;
typedef struct _BfModule BfModule;

typedef struct {
  /* A validated incoming session-initiate.  TRUE takes the call; FALSE
   * declines it (session-terminate with <decline/>). */
  gboolean (*offer) (BfModule *module, BfSession *session);
  /* One unprotected RTP or RTCP packet from the peer, on the worker thread.
   * @data may be modified in place; it is valid during the call only. */
  void (*media) (BfModule *module, BfSession *session, gboolean is_rtcp,
                 guint8 *data, gsize len);
  /* The session is over (@reason: a XEP-0166 reason name such as
   * "success" or "failed-transport"); no offer/ended call follows. */
  void (*ended) (BfModule *module, BfSession *session, const char *reason);
} BfSessionHooks;

/* The caller's full JID and the session id. */
const char *bf_session_get_peer (BfSession *session);
const char *bf_session_get_sid (BfSession *session);

/* The SSRCs the peer announced, each with the local SSRC the core
 * announced in return (same content, same ssrc-group shape).  Index from 0
 * to bf_session_get_n_ssrcs() - 1. */
guint bf_session_get_n_ssrcs (BfSession *session);
gboolean bf_session_get_ssrc (BfSession *session, guint index, guint32 *remote,
                              guint32 *local);

/* Module data for this session. */
void bf_session_set_data (BfSession *session, gpointer data, GDestroyNotify destroy);
gpointer bf_session_get_data (BfSession *session);

/* Worker thread only: protects and sends one packet to the peer.  FALSE
 * (counted) before DTLS is done, after the end, or for a malformed packet. */
gboolean bf_session_send_rtp (BfSession *session, const guint8 *data, gsize len);
gboolean bf_session_send_rtcp (BfSession *session, const guint8 *data, gsize len);

G_END_DECLS
