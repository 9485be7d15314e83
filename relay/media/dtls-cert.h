/* belfry media: the process's DTLS certificate.
 *
 * One ECDSA P-256 self-signed certificate per process, created once by the
 * process's owner object (BfRelay) and passed to every transport; no global
 * state.  Immutable after creation, so transports on any worker may use it
 * at once; reference counted so a transport can outlive its creator's
 * handle.  It also keeps the DTLS contexts (SSL_CTX) built for it, one
 * per SRTP profile list: an SSL_CTX costs ~8 KiB and ~0.1 ms to build, and
 * every association with the same certificate and profiles can share one
 * (OpenSSL makes SSL_new on a configured context safe from any thread);
 * the cache's lock is taken only when a transport starts DTLS. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

G_BEGIN_DECLS

typedef struct _BfMediaCert BfMediaCert;

/* Generates a fresh key pair and certificate (valid from one day ago for
 * @validity_days days; 0 means 365). */
BfMediaCert *bf_media_cert_new (guint validity_days, GError **error);
BfMediaCert *bf_media_cert_ref (BfMediaCert *cert);
void bf_media_cert_unref (BfMediaCert *cert);

/* The XEP-0320 / RFC 8122 fingerprint: hash "sha-256" and the digest of the
 * DER certificate as upper-case hex pairs joined by colons ("AB:01:..."). */
const char *bf_media_cert_get_fingerprint_hash (BfMediaCert *cert);
const char *bf_media_cert_get_fingerprint (BfMediaCert *cert);

/* Borrowed; for the DTLS code. */
X509 *bf_media_cert_get_x509 (BfMediaCert *cert);
EVP_PKEY *bf_media_cert_get_key (BfMediaCert *cert);

/* Builds a configured SSL_CTX for @cert and the SRTP profile list @key
 * (NULL and @error set on failure). */
typedef SSL_CTX *(*BfMediaCertCtxBuilder) (BfMediaCert *cert, const char *key, GError **error);

/* The shared SSL_CTX for (@cert, @key): built by @build the first time,
 * afterwards the same one; a new reference (SSL_CTX_free it).  At most
 * BF_MEDIA_CERT_MAX_CTX keys are kept; beyond that each call builds a
 * context of its own (a configuration has one or two profile lists). */
#define BF_MEDIA_CERT_MAX_CTX 4
SSL_CTX *bf_media_cert_get_dtls_ctx (BfMediaCert *cert, const char *key,
                                     BfMediaCertCtxBuilder build, GError **error);

/* "AB:CD:.." for @len bytes (upper case). */
char *bf_media_fingerprint_format (const guint8 *digest, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMediaCert, bf_media_cert_unref)

G_END_DECLS
