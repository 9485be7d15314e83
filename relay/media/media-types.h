/* belfry media transport: the types every media file shares (error domain,
 * SRTP profiles, limits).  Internal to the core: modules see media only
 * through the session API (belfry/session.h, packet.h, worker.h). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BF_MEDIA_ERROR (bf_media_error_quark ())
GQuark bf_media_error_quark (void);

typedef enum {
  BF_MEDIA_ERROR_INVALID,              /* bad argument, configuration or state */
  BF_MEDIA_ERROR_ICE,                  /* ICE failed: no working pair, consent lost */
  BF_MEDIA_ERROR_FINGERPRINT_MISMATCH, /* peer certificate != signalled fingerprint:
                                        * the caller answers <security-error/> */
  BF_MEDIA_ERROR_HANDSHAKE,            /* DTLS handshake failed (alert, no SRTP profile...) */
  BF_MEDIA_ERROR_TIMEOUT,              /* ICE or DTLS did not complete in time */
  BF_MEDIA_ERROR_CLOSED,               /* the peer closed DTLS (close_notify) */
  BF_MEDIA_ERROR_CRYPTO,               /* OpenSSL refused (internal) */
  BF_MEDIA_ERROR_POLICY,               /* a remote candidate the candidate policy refuses */
} BfMediaError;

/* DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2). */
typedef enum {
  BF_MEDIA_SRTP_NONE = 0,
  BF_MEDIA_SRTP_AEAD_AES_128_GCM,         /* 0x0007; key 16, salt 12, tag 16 */
  BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80,  /* 0x0001; key 16, salt 14, tag 10 */
} BfMediaSrtpProfile;

#define BF_MEDIA_SRTP_MAX_PROFILES 2

/* The SDP/Jingle name ("AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"). */
const char *bf_media_srtp_profile_name (BfMediaSrtpProfile profile);
/* BF_MEDIA_SRTP_NONE when unknown. Also accepts OpenSSL's names. */
BfMediaSrtpProfile bf_media_srtp_profile_from_name (const char *name);

/* Largest unprotected RTP/RTCP packet sent or delivered; larger datagrams
 * are dropped and counted.  Loopback allows 64 KiB, real paths ~1500. */
#define BF_MEDIA_MAX_PACKET_SIZE 4096

/* What a transport counts (bf_media_transport_get_counters); here because
 * the direct-I/O files update them too. */
typedef struct {
  guint64 packets_in, bytes_in;     /* every datagram libnice handed us (direct
                                     * I/O: every non-STUN one from the pair) */
  guint64 packets_out, bytes_out;   /* every datagram we sent */
  guint64 rtp_in, rtcp_in;          /* unprotected and delivered */
  guint64 rtp_out, rtcp_out;        /* protected and sent */
  guint64 dtls_in, dtls_out;        /* DTLS datagrams processed / sent */
  guint64 dropped_demux;            /* first byte not DTLS/SRTP, STUN libnice
                                     * did not take, too short or too long */
  guint64 dropped_unvalidated;      /* arrived after ICE failed (no valid pair);
                                     * direct I/O: from another address */
  guint64 dropped_not_ready;        /* SRTP before keys; DTLS over the early queue */
  guint64 dropped_dtls;             /* malformed DTLS framing, DTLS after the end,
                                     * application data */
  guint64 dropped_unprotect;        /* SRTP/SRTCP authentication, replay, malformed */
  guint64 unprotect_auth;           /* of dropped_unprotect: the tag was wrong */
  guint64 unprotect_replay;         /* of dropped_unprotect: replayed or too old */
  guint64 unprotect_other;          /* of dropped_unprotect: malformed, anything else */
  guint64 dropped_ssrc_limit;       /* a new SSRC beyond max_ssrcs (both directions) */
  guint64 dropped_overflow;         /* direct I/O: the kernel dropped them at the
                                     * socket, its receive buffer full (the worker
                                     * behind: overload; SO_RXQ_OVFL) */
  guint64 dropped_malformed_rtp;    /* through SRTP, but not RTP its session could
                                     * parse (bf_media_transport_count_malformed_rtp) */
  guint64 srtp_errors;              /* send: protect refused (not RTP, too long...) */
  guint64 send_errors;              /* send: not keyed yet, or the socket refused */
  guint64 stun_in, stun_out;        /* direct I/O: valid STUN we took / sent
                                     * ourselves (checks, consent) */
  guint64 pair_handbacks;           /* direct I/O gave the pair back to libnice
                                     * (the peer checked from a new address) */
  guint64 candidates_ignored;       /* remote candidates the candidate policy
                                     * refused (addr-policy.h) */
} BfMediaCounters;

/* One step of a call's set-up, as a debug record (--verbose): "trace KEY
 * STEP T_US", T_US on CLOCK_MONOTONIC (g_get_monotonic_time), the clock the
 * benchmark's load and driver stamp with too: tests/bench/bench_call_setup.py
 * --trace lays the steps of both legs on one timeline.  KEY is a
 * session id or a transport's address. */
#define BF_SETUP_TRACE(key_format, key, step) \
  g_debug ("trace " key_format " %s %" G_GINT64_FORMAT, key, step, g_get_monotonic_time ())

G_END_DECLS
