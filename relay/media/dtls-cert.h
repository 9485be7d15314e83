/* belfry media: the process's DTLS certificate.
 *
 * One ECDSA P-256 self-signed certificate per process, created once by the
 * process's owner object (BfRelay) and passed to every transport; no global
 * state.  Immutable after creation, so transports on any worker may use it
 * at once; reference counted so a transport can outlive its creator's
 * handle. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>
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

/* "AB:CD:.." for @len bytes (upper case). */
char *bf_media_fingerprint_format (const guint8 *digest, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMediaCert, bf_media_cert_unref)

G_END_DECLS
