/* belfry media: the transport of one Jingle session leg (XEP-0176 ICE-UDP +
 * XEP-0320 DTLS-SRTP): one NiceAgent (full ICE, RFC 8445, trickle), one
 * stream, one component (rtcp-mux, RFC 5761; BUNDLE puts audio and video on
 * this one transport), DTLS 1.2 over the selected pair, SRTP/SRTCP.
 *
 * Threading: a transport belongs to one media worker.  Create it, call
 * every function and free it on that worker's thread (post there with
 * bf_media_worker_invoke).  All callbacks run on that thread too; the owner
 * forwards what the signalling thread needs by posting to it.  A callback
 * must not free the transport: post the free to the worker instead.
 *
 * Receive path: libnice delivers a datagram (only from the remote address
 * of a validated pair: libnice drops everything else before we see it,
 * without a counter), the first byte demultiplexes it (RFC 7983 §7): 0-3
 * STUN (libnice's), 20-63 DTLS, 128-191 SRTP/SRTCP (RTCP when the second
 * byte is 192-223, RFC 5761 §4), the rest is dropped and counted.  SRTP is
 * unprotected in place and handed to the RTP callback; nothing is copied.
 *
 * Direct I/O (direct-io.h): once DTLS is up on a selected UDP pair that is
 * not relayed, the transport stops libnice's reading and reads the pair's
 * socket itself (recvmmsg); datagrams from any other address are dropped
 * (dropped_unvalidated); STUN checks are answered and RFC 7675 consent is
 * run there (stun_in/stun_out, never in packets_in/out).  Packets sent from
 * inside a receive callback of a transport in direct I/O (on the same
 * worker: an echo, a relayed call) are protected into the worker's send
 * queue (send-queue.h) and leave with one sendmmsg per destination when
 * that receive batch ends; elsewhere they leave at once.
 * BELFRY_MEDIA_DIRECT_IO=0 in the environment keeps libnice's path.
 *
 * Shared port ([media] shared-port, media-config.h): no NiceAgent, no
 * socket and no context of its own; ICE is belfry's (ice-agent.h) on the
 * worker's shared sockets (port-mux.h, shared-ice.h), whose receive path
 * works like direct I/O's from the first check on.  The same API and
 * events; host candidates only. */
#pragma once

#include <glib.h>

#include "dtls-cert.h"
#include "dtls.h"
#include "jingle-candidate.h"
#include "media-config.h"
#include "media-types.h"
#include "worker.h"

G_BEGIN_DECLS

typedef struct _BfMediaTransport BfMediaTransport;

/* Candidates are BfJingleCandidate (jingle-candidate.h, header-only: this
 * library does not link jingle/).  What the transport uses of one: a UDP
 * candidate of component 1 (others are ignored: rtcp-mux), its foundation,
 * type, ip, port, priority and rel-addr/rel-port.  Local ones come with
 * protocol "udp", generation 0, no id, network or tcptype. */

typedef enum {
  BF_MEDIA_EVENT_LOCAL_CANDIDATE,  /* .candidate: send it (trickle) */
  BF_MEDIA_EVENT_GATHERING_DONE,   /* no more local candidates */
  BF_MEDIA_EVENT_ICE_CONNECTED,    /* a pair works: DTLS starts when it can */
  BF_MEDIA_EVENT_ICE_FAILED,       /* .error: BF_MEDIA_ERROR_ICE or _TIMEOUT (terminal) */
  BF_MEDIA_EVENT_DTLS_CONNECTED,   /* .profile: SRTP keyed, media may flow */
  BF_MEDIA_EVENT_DTLS_FAILED,      /* .error: _FINGERPRINT_MISMATCH (-> <security-error/>),
                                    * _HANDSHAKE, _TIMEOUT, _CLOSED, _CRYPTO (terminal) */
} BfMediaEventType;

typedef struct {
  BfMediaEventType type;
  const BfJingleCandidate *candidate;
  BfMediaSrtpProfile profile;
  const GError *error;
} BfMediaEvent;

typedef void (*BfMediaEventFunc) (BfMediaTransport *transport, const BfMediaEvent *event,
                                  gpointer user_data);
/* An unprotected RTP or RTCP packet; @data is writable and valid only
 * during the call. */
typedef void (*BfMediaRtpFunc) (BfMediaTransport *transport, gboolean is_rtcp,
                                guint8 *data, gsize len, gpointer user_data);

/* BfMediaCounters (media-types.h): what get_counters reports. */

/* On @worker's thread.  @config is copied; @cert is referenced.  Fails if
 * no local address is configured or libnice refuses one. */
BfMediaTransport *bf_media_transport_new (BfMediaWorker *worker, const BfMediaConfig *config,
                                          BfMediaCert *cert, gboolean controlling,
                                          BfMediaEventFunc on_event, BfMediaRtpFunc on_rtp,
                                          gpointer user_data, GError **error);
/* Silent on the wire (see _close); never from inside a callback. */
void bf_media_transport_free (BfMediaTransport *transport);

/* Starts gathering; LOCAL_CANDIDATE events may fire before it returns. */
gboolean bf_media_transport_gather (BfMediaTransport *transport, GError **error);
/* The ICE ufrag and password to signal (g_free both). */
void bf_media_transport_get_local_credentials (BfMediaTransport *transport,
                                               char **ufrag, char **pwd);
/* Starts the ice_timeout clock.  Setting different credentials again (an
 * ICE restart) is refused. */
gboolean bf_media_transport_set_remote_credentials (BfMediaTransport *transport,
                                                    const char *ufrag, const char *pwd,
                                                    GError **error);
/* Before gathering: our credentials, chosen by the caller (RFC 8839
 * §5.4 characters; ufrag 4..256, pwd 22..256).  Several transports of one
 * BUNDLE offer share theirs: see session-transports.c. */
gboolean bf_media_transport_set_local_credentials (BfMediaTransport *transport,
                                                   const char *ufrag, const char *pwd,
                                                   GError **error);
/* An ICE restart (RFC 8445 §9, XEP-0176 §5.9), by the peer (@ufrag/@pwd:
 * its new credentials) or by us (NULL: set_remote_credentials takes the
 * peer's new ones later); libnice's stream restarts (new local
 * credentials: get them again; local candidates stay), the remote
 * candidates start anew, and ice_timeout runs again.  DTLS and SRTP go on
 * over the new pair; direct I/O stops until the new pair is nominated,
 * then takes that one over. */
gboolean bf_media_transport_restart (BfMediaTransport *transport, const char *ufrag,
                                     const char *pwd, GError **error);
/* Any time, also before the credentials (then held until they come).  A
 * candidate the remote candidate policy refuses (addr-policy.h, [media]
 * addresses and allow-peer-networks) is counted and not used: FALSE with
 * BF_MEDIA_ERROR_POLICY. */
gboolean bf_media_transport_add_remote_candidate (BfMediaTransport *transport,
                                                  const BfJingleCandidate *candidate,
                                                  GError **error);
/* The remote candidates the policy refused so far, by reason (a
 * BfAddrScope, or BF_ADDR_REASON_PORT). */
void bf_media_transport_get_ignored_candidates (BfMediaTransport *transport,
                                                guint counts[BF_ADDR_N_REASONS]);
/* The peer's end-of-candidates: from now on ICE failure is final. */
void bf_media_transport_remote_gathering_done (BfMediaTransport *transport);
/* Our DTLS role (see bf_media_dtls_setup_for_answer/_from_answer) and the
 * peer's fingerprint; once.  The handshake starts when ICE is connected. */
gboolean bf_media_transport_set_dtls (BfMediaTransport *transport, BfMediaDtlsSetup setup,
                                      const char *remote_hash, const char *remote_fingerprint,
                                      GError **error);

/* Protect and send one packet (copied: @data is not modified).  FALSE if
 * not keyed yet, not a valid RTP/RTCP packet, or not sent (counted).  In a
 * receive batch of direct I/O (see above) TRUE means protected and queued:
 * a socket error at the end of the batch is counted in send_errors. */
gboolean bf_media_transport_send_rtp (BfMediaTransport *transport, const guint8 *data, gsize len);
gboolean bf_media_transport_send_rtcp (BfMediaTransport *transport, const guint8 *data, gsize len);
/* Sends @data as it is on the selected pair: for tests and diagnostics. */
gboolean bf_media_transport_send_raw (BfMediaTransport *transport, const guint8 *data, gsize len);

/* Graceful end: DTLS close_notify to the peer.  Media stops. */
void bf_media_transport_close (BfMediaTransport *transport);

void bf_media_transport_get_counters (BfMediaTransport *transport, BfMediaCounters *counters);
/* Counts an RTP packet it delivered that its session dropped as malformed
 * (packet.h: bf_rtp_header_parse refused it). */
void bf_media_transport_count_malformed_rtp (BfMediaTransport *transport);
BfMediaSrtpProfile bf_media_transport_get_srtp_profile (BfMediaTransport *transport);
/* FALSE before a pair is selected. */
gboolean bf_media_transport_get_selected_pair (BfMediaTransport *transport,
                                               BfJingleCandidate *local, BfJingleCandidate *remote);
BfMediaWorker *bf_media_transport_get_worker (BfMediaTransport *transport);

G_END_DECLS
