/* belfry media: the process's ECDSA P-256 DTLS certificate and its
 * fingerprint (RFC 8122 §5, XEP-0320). */
#include "dtls-cert.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <string.h>

#include "media-types.h"

struct _BfMediaCert {
  X509 *x509;
  EVP_PKEY *key;
  char *fingerprint;     /* sha-256, "AB:CD:..." */
  GMutex ctx_lock;       /* guards the two arrays below */
  char *ctx_key[BF_MEDIA_CERT_MAX_CTX];
  SSL_CTX *ctx[BF_MEDIA_CERT_MAX_CTX];
};

static gboolean
openssl_fail (GError **error, const char *what)
{
  char buf[256] = "";
  unsigned long e = ERR_get_error ();
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CRYPTO, "%s failed%s%s", what,
               buf[0] ? ": " : "", buf);
  return FALSE;
}

char *
bf_media_fingerprint_format (const guint8 *digest, gsize len)
{
  static const char hex[] = "0123456789ABCDEF";
  if (len == 0)
    return g_strdup ("");
  char *s = g_malloc (len * 3);
  for (gsize i = 0; i < len; i++)
    {
      s[i * 3] = hex[digest[i] >> 4];
      s[i * 3 + 1] = hex[digest[i] & 0xf];
      s[i * 3 + 2] = (i + 1 < len) ? ':' : '\0';
    }
  return s;
}

static void
cert_clear (BfMediaCert *cert)
{
  X509_free (cert->x509);
  EVP_PKEY_free (cert->key);
  g_free (cert->fingerprint);
  for (guint i = 0; i < BF_MEDIA_CERT_MAX_CTX; i++)
    {
      g_free (cert->ctx_key[i]);
      SSL_CTX_free (cert->ctx[i]);
    }
  g_mutex_clear (&cert->ctx_lock);
}

BfMediaCert *
bf_media_cert_new (guint validity_days, GError **error)
{
  if (validity_days == 0)
    validity_days = 365;
  if (validity_days > 3650)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "certificate validity of %u days is too long", validity_days);
      return NULL;
    }

  BfMediaCert *cert = g_atomic_rc_box_new0 (BfMediaCert);
  g_mutex_init (&cert->ctx_lock);
  ERR_clear_error ();

  cert->key = EVP_EC_gen ("P-256");
  if (cert->key == NULL)
    goto fail_key;

  cert->x509 = X509_new ();
  if (cert->x509 == NULL || !X509_set_version (cert->x509, 2 /* v3 */))
    goto fail_x509;

  /* A random positive 63-bit serial. */
  guint8 serial_bytes[8];
  if (RAND_bytes (serial_bytes, sizeof serial_bytes) != 1)
    goto fail_x509;
  serial_bytes[0] &= 0x7f;
  BIGNUM *serial_bn = BN_bin2bn (serial_bytes, sizeof serial_bytes, NULL);
  gboolean serial_ok = serial_bn != NULL
    && BN_to_ASN1_INTEGER (serial_bn, X509_get_serialNumber (cert->x509)) != NULL;
  BN_free (serial_bn);
  if (!serial_ok)
    goto fail_x509;

  /* Peers check the fingerprint, not the validity (RFC 8827 §6.5), but a
   * clock a little behind ours must not see a future certificate. */
  if (X509_gmtime_adj (X509_getm_notBefore (cert->x509), -24 * 3600) == NULL
      || X509_gmtime_adj (X509_getm_notAfter (cert->x509),
                          (long) validity_days * 24 * 3600) == NULL)
    goto fail_x509;

  X509_NAME *name = X509_get_subject_name (cert->x509);
  if (!X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
                                   (const unsigned char *) "belfry", -1, -1, 0)
      || !X509_set_issuer_name (cert->x509, name)
      || !X509_set_pubkey (cert->x509, cert->key)
      || X509_sign (cert->x509, cert->key, EVP_sha256 ()) == 0)
    goto fail_x509;

  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (!X509_digest (cert->x509, EVP_sha256 (), md, &md_len))
    goto fail_x509;
  cert->fingerprint = bf_media_fingerprint_format (md, md_len);
  return cert;

fail_key:
  openssl_fail (error, "generating the ECDSA P-256 key");
  g_atomic_rc_box_release_full (cert, (GDestroyNotify) cert_clear);
  return NULL;
fail_x509:
  openssl_fail (error, "building the DTLS certificate");
  g_atomic_rc_box_release_full (cert, (GDestroyNotify) cert_clear);
  return NULL;
}

BfMediaCert *
bf_media_cert_ref (BfMediaCert *cert)
{
  return g_atomic_rc_box_acquire (cert);
}

void
bf_media_cert_unref (BfMediaCert *cert)
{
  if (cert)
    g_atomic_rc_box_release_full (cert, (GDestroyNotify) cert_clear);
}

const char *
bf_media_cert_get_fingerprint_hash (BfMediaCert *cert)
{
  return "sha-256";
}

const char *
bf_media_cert_get_fingerprint (BfMediaCert *cert)
{
  return cert->fingerprint;
}

X509 *
bf_media_cert_get_x509 (BfMediaCert *cert)
{
  return cert->x509;
}

EVP_PKEY *
bf_media_cert_get_key (BfMediaCert *cert)
{
  return cert->key;
}

SSL_CTX *
bf_media_cert_get_dtls_ctx (BfMediaCert *cert, const char *key, BfMediaCertCtxBuilder build,
                            GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&cert->ctx_lock);
  guint i = 0;
  for (; i < BF_MEDIA_CERT_MAX_CTX && cert->ctx_key[i]; i++)
    if (strcmp (cert->ctx_key[i], key) == 0)
      {
        SSL_CTX_up_ref (cert->ctx[i]);
        return cert->ctx[i];
      }
  SSL_CTX *ctx = build (cert, key, error);
  if (ctx == NULL || i == BF_MEDIA_CERT_MAX_CTX)
    return ctx;
  cert->ctx_key[i] = g_strdup (key);
  cert->ctx[i] = ctx;
  SSL_CTX_up_ref (ctx);
  return ctx;
}
