/* belfry media: one DTLS 1.2 association for DTLS-SRTP (RFC 5764), over
 * OpenSSL with a memory BIO for what arrives and a send callback for what
 * leaves (one BIO write = one datagram).  Verifies the peer certificate
 * against the signalled fingerprint (RFC 8122 §5) during the handshake,
 * negotiates use_srtp, exports the SRTP keys, drives the retransmission
 * timer on the given GMainContext, and drops OpenSSL's state once the
 * handshake needs no more retransmission (bf_media_dtls_confirm).  Not
 * thread-safe: lives on one worker. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "dtls-cert.h"
#include "media-types.h"

G_BEGIN_DECLS

typedef struct _BfMediaDtls BfMediaDtls;

/* Our DTLS role, from the a=setup / XEP-0320 'setup' negotiation
 * (RFC 4145 §4, RFC 5763 §5): active = DTLS client, passive = server. */
typedef enum {
  BF_MEDIA_DTLS_SETUP_UNKNOWN = 0,
  BF_MEDIA_DTLS_SETUP_ACTIVE,
  BF_MEDIA_DTLS_SETUP_PASSIVE,
} BfMediaDtlsSetup;

/* Our role when we answer an offer whose setup is @offer_setup: "actpass"
 * or "passive" -> active (RFC 5763 §5: the answerer SHOULD be active),
 * "active" -> passive; anything else -> UNKNOWN. */
BfMediaDtlsSetup bf_media_dtls_setup_for_answer (const char *offer_setup);
/* Our role when we offered actpass and the answer says @answer_setup:
 * "active" -> passive, "passive" -> active; anything else -> UNKNOWN. */
BfMediaDtlsSetup bf_media_dtls_setup_from_answer (const char *answer_setup);
const char *bf_media_dtls_setup_name (BfMediaDtlsSetup setup);

typedef struct {
  BfMediaSrtpProfile profile;
  gsize key_len, salt_len;
  guint8 local_key[16], local_salt[14];    /* what we send with */
  guint8 remote_key[16], remote_salt[14];  /* what the peer sends with */
} BfMediaDtlsKeys;

typedef struct {
  /* One datagram to the peer. */
  void (*send) (const guint8 *data, gsize len, gpointer user_data);
  /* Handshake done, peer verified: SRTP keys (wiped after the call). */
  void (*connected) (const BfMediaDtlsKeys *keys, gpointer user_data);
  /* Terminal: BF_MEDIA_ERROR_FINGERPRINT_MISMATCH, _HANDSHAKE, _TIMEOUT or
   * _CLOSED (the peer's close_notify or fatal alert after the handshake). */
  void (*failed) (const GError *error, gpointer user_data);
} BfMediaDtlsCallbacks;

typedef struct {
  BfMediaDtlsSetup setup;
  /* use_srtp offer (client) or preference (server), in order. */
  BfMediaSrtpProfile profiles[BF_MEDIA_SRTP_MAX_PROFILES];
  guint n_profiles;
  guint handshake_timeout_ms;    /* from start to connected */
  guint retransmit_ms;           /* first retransmission; doubles up to 3 s */
  guint mtu;                     /* largest datagram we send */
} BfMediaDtlsParams;

/* @remote_hash / @remote_fingerprint as signalled ("sha-256",
 * "AB:CD:..."); fails with BF_MEDIA_ERROR_INVALID if malformed. */
BfMediaDtls *bf_media_dtls_new (BfMediaCert *cert, const BfMediaDtlsParams *params,
                                const char *remote_hash, const char *remote_fingerprint,
                                GMainContext *context, const BfMediaDtlsCallbacks *callbacks,
                                gpointer user_data, GError **error);
/* The path is up: a client sends its ClientHello; both arm the handshake
 * deadline.  Callbacks may run from inside. */
void bf_media_dtls_start (BfMediaDtls *dtls);
/* One received datagram (first byte 20..63).  FALSE when it was dropped
 * without reaching the DTLS state machine (malformed record framing,
 * finished association) or carried application data (unused here). */
gboolean bf_media_dtls_receive (BfMediaDtls *dtls, const guint8 *data, gsize len);
/* Sends close_notify if connected; the association is finished after. */
void bf_media_dtls_close (BfMediaDtls *dtls);
gboolean bf_media_dtls_is_connected (BfMediaDtls *dtls);
/* The peer has our last flight: an SRTP or SRTCP packet from it
 * authenticated with the exported keys (it sends none before its
 * handshake completed).  The association then releases its OpenSSL state
 * (RFC 6347 §4.2.4: nothing left to retransmit); as the client it does so
 * at once.  Afterwards it still sends our close_notify (built at release)
 * and authenticates the peer's alerts; other records are dropped. */
void bf_media_dtls_confirm (BfMediaDtls *dtls);
/* Connected and its OpenSSL state released (see _confirm). */
gboolean bf_media_dtls_is_released (BfMediaDtls *dtls);
/* Never from inside one of its callbacks. */
void bf_media_dtls_free (BfMediaDtls *dtls);

/* Parses a signalled fingerprint: @hash one of sha-1, sha-224, sha-256,
 * sha-384, sha-512 (case-insensitive); @text hex pairs, colons optional. */
gboolean bf_media_fingerprint_parse (const char *hash, const char *text, const EVP_MD **md,
                                     guint8 digest[EVP_MAX_MD_SIZE], gsize *len,
                                     GError **error);

G_END_DECLS
