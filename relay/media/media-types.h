/* belfry media transport: the types every media file shares (error domain,
 * SRTP profiles, limits).  Internal to the core: modules will see media
 * through include/belfry/media.h, which wraps these. */
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
  BF_MEDIA_ERROR_CRYPTO,               /* OpenSSL or libsrtp refused (internal) */
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

G_END_DECLS
