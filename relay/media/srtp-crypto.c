/* belfry media: SRTP/SRTCP transforms on OpenSSL (RFC 3711, RFC 7714).
 * See srtp-crypto.h for why this is not libsrtp2. */

/* HMAC-SHA1 from precomputed inner and outer SHA-1 states (RFC 2104 §4):
 * OpenSSL 3.0's EVP_MAC re-initialises HMAC by duplicating digest contexts,
 * two allocations per packet; a SHA_CTX copy is a memcpy.  The low-level
 * SHA-1 calls are deprecated in 3.0, not removed, and run the same code. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "srtp-crypto.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#define CM_TAG_LEN 10       /* HMAC_SHA1_80 (RFC 3711 §5.2) */
#define GCM_TAG_LEN 16      /* AEAD_AES_128_GCM (RFC 7714 §14.1) */
#define EINDEX_LEN 4        /* E-bit | SRTCP index */
#define AUTH_KEY_LEN 20     /* n_a for HMAC-SHA1 (RFC 3711 §8.2) */

/* Key derivation labels (RFC 3711 §4.3.1, §4.3.2). */
enum {
  LABEL_RTP_ENC = 0, LABEL_RTP_AUTH = 1, LABEL_RTP_SALT = 2,
  LABEL_RTCP_ENC = 3, LABEL_RTCP_AUTH = 4, LABEL_RTCP_SALT = 5,
};

/* The keyed transform of one of RTP or RTCP. */
typedef struct {
  EVP_CIPHER_CTX *cipher;   /* keyed once; each packet sets only the IV */
  guint8 salt[14];          /* session salt: 14 bytes (CM), 12 (GCM) */
  SHA_CTX inner, outer;     /* CM: SHA-1 after (k_a ^ ipad), (k_a ^ opad) */
} Transform;

struct _BfSrtpCrypto {
  BfMediaSrtpProfile profile;
  gboolean encrypt;
  Transform rtp, rtcp;
};

static EVP_CIPHER *aes_ctr, *aes_gcm;   /* fetched once, for the process */

static gpointer
init_once (gpointer unused)
{
  /* Explicit fetches: EVP_aes_128_*() would look the provider's
   * implementation up again at each context's init. */
  aes_ctr = EVP_CIPHER_fetch (NULL, "AES-128-CTR", NULL);
  aes_gcm = EVP_CIPHER_fetch (NULL, "AES-128-GCM", NULL);
  return GINT_TO_POINTER (aes_ctr != NULL && aes_gcm != NULL);
}

gboolean
bf_srtp_crypto_init (GError **error)
{
  static GOnce once = G_ONCE_INIT;
  if (!GPOINTER_TO_INT (g_once (&once, init_once, NULL)))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CRYPTO,
                   "OpenSSL has no AES-128-CTR or AES-128-GCM");
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_gcm (const BfSrtpCrypto *c)
{
  return c->profile == BF_MEDIA_SRTP_AEAD_AES_128_GCM;
}

/* RFC 3711 §4.3.1/§4.3.3: with key_derivation_rate 0, r = 0 and
 * x = (label << 48) XOR master_salt; the session key is the AES-CM
 * keystream for IV x * 2^16 under the master key.  RFC 7714 keeps this
 * PRF for AEAD_AES_128_GCM; its 96-bit master salt fills the first 96 of
 * the 112 bits, the rest zero (as libsrtp2 and browsers do: the tests
 * compare with libsrtp2 byte for byte, the e2e tests talk to Chromium). */
gboolean
bf_srtp_crypto_derive (const guint8 *master_key, const guint8 *master_salt, gsize salt_len, guint8 label,
        guint8 *out, gsize out_len)
{
  guint8 iv[16] = { 0 };
  memcpy (iv, master_salt, salt_len);
  iv[7] ^= label;
  memset (out, 0, out_len);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0, ok = ctx != NULL && bf_srtp_crypto_init (NULL)
                  && EVP_EncryptInit_ex2 (ctx, aes_ctr, master_key, iv, NULL)
                  && EVP_EncryptUpdate (ctx, out, &n, out, (int) out_len)
                  && (gsize) n == out_len;
  EVP_CIPHER_CTX_free (ctx);
  OPENSSL_cleanse (iv, sizeof iv);
  return ok;
}

static void
hmac_precompute (Transform *t, const guint8 *auth_key)
{
  guint8 pad[SHA_CBLOCK];
  memset (pad, 0x36, sizeof pad);
  for (guint i = 0; i < AUTH_KEY_LEN; i++)
    pad[i] ^= auth_key[i];
  SHA1_Init (&t->inner);
  SHA1_Update (&t->inner, pad, sizeof pad);
  memset (pad, 0x5c, sizeof pad);
  for (guint i = 0; i < AUTH_KEY_LEN; i++)
    pad[i] ^= auth_key[i];
  SHA1_Init (&t->outer);
  SHA1_Update (&t->outer, pad, sizeof pad);
  OPENSSL_cleanse (pad, sizeof pad);
}

static gboolean
transform_init (BfSrtpCrypto *c, Transform *t, const guint8 *key, const guint8 *salt,
                gboolean rtcp)
{
  gsize salt_len = bf_media_srtp_salt_len (c->profile);
  guint8 enc_key[16], auth_key[AUTH_KEY_LEN];
  gboolean ok = bf_srtp_crypto_derive (key, salt, salt_len, rtcp ? LABEL_RTCP_ENC : LABEL_RTP_ENC,
                        enc_key, sizeof enc_key)
                && bf_srtp_crypto_derive (key, salt, salt_len, rtcp ? LABEL_RTCP_SALT : LABEL_RTP_SALT,
                           t->salt, salt_len);
  if (ok && !is_gcm (c))
    {
      ok = bf_srtp_crypto_derive (key, salt, salt_len, rtcp ? LABEL_RTCP_AUTH : LABEL_RTP_AUTH,
                   auth_key, sizeof auth_key);
      if (ok)
        hmac_precompute (t, auth_key);
    }
  if (ok)
    {
      t->cipher = EVP_CIPHER_CTX_new ();
      ok = t->cipher != NULL
           && EVP_CipherInit_ex2 (t->cipher, is_gcm (c) ? aes_gcm : aes_ctr, enc_key, NULL,
                                  c->encrypt ? 1 : 0, NULL);
    }
  OPENSSL_cleanse (enc_key, sizeof enc_key);
  OPENSSL_cleanse (auth_key, sizeof auth_key);
  return ok;
}

BfSrtpCrypto *
bf_srtp_crypto_new (BfMediaSrtpProfile profile, const guint8 *key, const guint8 *salt,
                    gboolean encrypt, GError **error)
{
  if (profile != BF_MEDIA_SRTP_AEAD_AES_128_GCM
      && profile != BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "unsupported SRTP profile %d", profile);
      return NULL;
    }
  if (!bf_srtp_crypto_init (error))
    return NULL;
  BfSrtpCrypto *c = g_new0 (BfSrtpCrypto, 1);
  c->profile = profile;
  c->encrypt = encrypt;
  if (!transform_init (c, &c->rtp, key, salt, FALSE)
      || !transform_init (c, &c->rtcp, key, salt, TRUE))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CRYPTO,
                   "OpenSSL refused the SRTP session keys");
      bf_srtp_crypto_free (c);
      return NULL;
    }
  return c;
}

void
bf_srtp_crypto_free (BfSrtpCrypto *c)
{
  if (c == NULL)
    return;
  /* EVP_CIPHER_CTX_free cleanses the key schedule itself. */
  EVP_CIPHER_CTX_free (c->rtp.cipher);
  EVP_CIPHER_CTX_free (c->rtcp.cipher);
  OPENSSL_cleanse (c, sizeof *c);
  g_free (c);
}

gsize
bf_srtp_crypto_rtp_trailer (const BfSrtpCrypto *c)
{
  return is_gcm (c) ? GCM_TAG_LEN : CM_TAG_LEN;
}

gsize
bf_srtp_crypto_rtcp_trailer (const BfSrtpCrypto *c)
{
  return (is_gcm (c) ? GCM_TAG_LEN : CM_TAG_LEN) + EINDEX_LEN;
}

static inline void
put32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static inline guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* AES-CM (RFC 3711 §4.1.1): IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR
 * (i * 2^16), i the 48-bit index (SRTCP: the 31-bit one). */
static gboolean
cm_crypt (Transform *t, guint8 *data, gsize len, guint32 ssrc, guint64 index)
{
  if (len == 0)
    return TRUE;
  guint8 iv[16] = { 0 };
  memcpy (iv, t->salt, 14);
  iv[4] ^= (guint8) (ssrc >> 24);
  iv[5] ^= (guint8) (ssrc >> 16);
  iv[6] ^= (guint8) (ssrc >> 8);
  iv[7] ^= (guint8) ssrc;
  for (guint k = 0; k < 6; k++)
    iv[8 + k] ^= (guint8) (index >> (40 - 8 * k));
  int n = 0;
  return EVP_CipherInit_ex2 (t->cipher, NULL, NULL, iv, -1, NULL)
         && EVP_CipherUpdate (t->cipher, data, &n, data, (int) len)
         && (gsize) n == len;
}

/* HMAC-SHA1 over @a then @b (RFC 3711 §4.2: the authenticated portion, then
 * the ROC for SRTP); the first CM_TAG_LEN bytes into @tag. */
static void
cm_tag (Transform *t, const guint8 *a, gsize a_len, const guint8 *b, gsize b_len,
        guint8 *tag)
{
  SHA_CTX ctx = t->inner;
  guint8 md[SHA_DIGEST_LENGTH];
  SHA1_Update (&ctx, a, a_len);
  if (b_len > 0)
    SHA1_Update (&ctx, b, b_len);
  SHA1_Final (md, &ctx);
  ctx = t->outer;
  SHA1_Update (&ctx, md, sizeof md);
  SHA1_Final (md, &ctx);
  memcpy (tag, md, CM_TAG_LEN);
  OPENSSL_cleanse (&ctx, sizeof ctx);
}

/* AES-GCM with a 12-byte IV (already salted), AAD in up to two pieces,
 * the data in place; encrypt writes the tag to @tag, decrypt checks it. */
static gboolean
gcm_crypt (Transform *t, gboolean encrypt, const guint8 *iv, const guint8 *aad1,
           gsize aad1_len, const guint8 *aad2, gsize aad2_len, guint8 *data, gsize len,
           guint8 *tag)
{
  int n = 0;
  if (!EVP_CipherInit_ex2 (t->cipher, NULL, NULL, iv, -1, NULL)
      || !EVP_CipherUpdate (t->cipher, NULL, &n, aad1, (int) aad1_len)
      || (aad2_len > 0 && !EVP_CipherUpdate (t->cipher, NULL, &n, aad2, (int) aad2_len))
      || (len > 0 && !EVP_CipherUpdate (t->cipher, data, &n, data, (int) len)))
    return FALSE;
  /* The tag as a parameter of the provider's GCM, directly: OpenSSL 3's
   * EVP_CIPHER_CTX_ctrl would build the same parameter from the ctrl
   * number on every packet. */
  OSSL_PARAM param[2] = {
    OSSL_PARAM_octet_string (OSSL_CIPHER_PARAM_AEAD_TAG, tag, GCM_TAG_LEN), OSSL_PARAM_END
  };
  if (!encrypt && !EVP_CIPHER_CTX_set_params (t->cipher, param))
    return FALSE;
  /* Decrypt: Final fails when the tag is wrong (compared in constant time
   * by OpenSSL's GCM). */
  guint8 none[GCM_TAG_LEN];   /* GCM's final writes no bytes */
  if (EVP_CipherFinal_ex (t->cipher, none, &n) <= 0)
    return FALSE;
  return !encrypt || EVP_CIPHER_CTX_get_params (t->cipher, param) > 0;
}

/* RFC 7714 §8.1: 0x0000 || SSRC || ROC || SEQ, XOR the session salt;
 * §9.1 for SRTCP: 0x0000 || SSRC || 0x0000 || 0 || SRTCP index. */
static void
gcm_iv (const Transform *t, guint32 ssrc, guint32 hi, guint16 lo, guint8 iv[12])
{
  iv[0] = iv[1] = 0;
  put32 (iv + 2, ssrc);
  put32 (iv + 6, hi);
  iv[10] = (guint8) (lo >> 8);
  iv[11] = (guint8) lo;
  for (guint k = 0; k < 12; k++)
    iv[k] ^= t->salt[k];
}

gboolean
bf_srtp_crypto_protect_rtp (BfSrtpCrypto *c, guint8 *buf, gsize hlen, gsize len, guint32 ssrc,
                            guint64 index)
{
  guint8 roc[4];
  put32 (roc, (guint32) (index >> 16));
  if (is_gcm (c))
    {
      guint8 iv[12];
      gcm_iv (&c->rtp, ssrc, (guint32) (index >> 16), (guint16) index, iv);
      return gcm_crypt (&c->rtp, TRUE, iv, buf, hlen, NULL, 0, buf + hlen, len - hlen, buf + len);
    }
  if (!cm_crypt (&c->rtp, buf + hlen, len - hlen, ssrc, index))
    return FALSE;
  cm_tag (&c->rtp, buf, len, roc, sizeof roc, buf + len);
  return TRUE;
}

BfMediaSrtpStatus
bf_srtp_crypto_unprotect_rtp (BfSrtpCrypto *c, guint8 *buf, gsize hlen, gsize len,
                              guint32 ssrc, guint64 index)
{
  gsize plen = len - bf_srtp_crypto_rtp_trailer (c);
  if (is_gcm (c))
    {
      guint8 iv[12];
      gcm_iv (&c->rtp, ssrc, (guint32) (index >> 16), (guint16) index, iv);
      return gcm_crypt (&c->rtp, FALSE, iv, buf, hlen, NULL, 0, buf + hlen, plen - hlen,
                        buf + plen) ? BF_MEDIA_SRTP_OK : BF_MEDIA_SRTP_AUTH_FAIL;
    }
  guint8 roc[4], tag[CM_TAG_LEN];
  put32 (roc, (guint32) (index >> 16));
  cm_tag (&c->rtp, buf, plen, roc, sizeof roc, tag);
  /* Authenticate before decrypting (RFC 3711 §3.3 step 5 before 6). */
  if (CRYPTO_memcmp (tag, buf + plen, CM_TAG_LEN) != 0)
    return BF_MEDIA_SRTP_AUTH_FAIL;
  return cm_crypt (&c->rtp, buf + hlen, plen - hlen, ssrc, index) ? BF_MEDIA_SRTP_OK
                                                                   : BF_MEDIA_SRTP_FAILED;
}

gboolean
bf_srtp_crypto_protect_rtcp (BfSrtpCrypto *c, guint8 *buf, gsize len, guint32 ssrc,
                             guint32 index)
{
  guint8 eindex[EINDEX_LEN];
  put32 (eindex, 0x80000000u | (index & 0x7fffffffu));
  if (is_gcm (c))
    {
      /* RFC 7714 §9.2: AAD = the first 8 bytes || E/index word; the tag
       * follows the cipher text, the word follows the tag. */
      guint8 iv[12];
      gcm_iv (&c->rtcp, ssrc, 0, 0, iv);
      put32 (iv + 8, get32 (iv + 8) ^ (index & 0x7fffffffu));
      /* gcm_iv salted the zero index already: XOR in the index now. */
      if (!gcm_crypt (&c->rtcp, TRUE, iv, buf, 8, eindex, sizeof eindex, buf + 8, len - 8,
                      buf + len))
        return FALSE;
      memcpy (buf + len + GCM_TAG_LEN, eindex, sizeof eindex);
      return TRUE;
    }
  /* RFC 3711 §3.4: encrypt from byte 8, append E/index, then the tag over
   * everything before it. */
  if (!cm_crypt (&c->rtcp, buf + 8, len - 8, ssrc, index & 0x7fffffffu))
    return FALSE;
  memcpy (buf + len, eindex, sizeof eindex);
  cm_tag (&c->rtcp, buf, len + EINDEX_LEN, NULL, 0, buf + len + EINDEX_LEN);
  return TRUE;
}

guint32
bf_srtp_crypto_rtcp_eindex (const BfSrtpCrypto *c, const guint8 *buf, gsize len)
{
  return get32 (buf + len - (is_gcm (c) ? EINDEX_LEN : EINDEX_LEN + CM_TAG_LEN));
}

BfMediaSrtpStatus
bf_srtp_crypto_unprotect_rtcp (BfSrtpCrypto *c, guint8 *buf, gsize len, guint32 ssrc)
{
  guint32 eindex = bf_srtp_crypto_rtcp_eindex (c, buf, len);
  gboolean encrypted = (eindex & 0x80000000u) != 0;
  guint32 index = eindex & 0x7fffffffu;
  gsize plen = len - bf_srtp_crypto_rtcp_trailer (c);
  if (is_gcm (c))
    {
      guint8 iv[12], word[EINDEX_LEN];
      gcm_iv (&c->rtcp, ssrc, 0, 0, iv);
      put32 (iv + 8, get32 (iv + 8) ^ index);
      put32 (word, eindex);
      /* E clear (RFC 7714 §9.3): everything is AAD, nothing encrypted. */
      gboolean ok = encrypted
                    ? gcm_crypt (&c->rtcp, FALSE, iv, buf, 8, word, sizeof word, buf + 8,
                                 plen - 8, buf + plen)
                    : gcm_crypt (&c->rtcp, FALSE, iv, buf, plen, word, sizeof word, NULL, 0,
                                 buf + plen);
      return ok ? BF_MEDIA_SRTP_OK : BF_MEDIA_SRTP_AUTH_FAIL;
    }
  guint8 tag[CM_TAG_LEN];
  cm_tag (&c->rtcp, buf, plen + EINDEX_LEN, NULL, 0, tag);
  if (CRYPTO_memcmp (tag, buf + plen + EINDEX_LEN, CM_TAG_LEN) != 0)
    return BF_MEDIA_SRTP_AUTH_FAIL;
  if (encrypted && !cm_crypt (&c->rtcp, buf + 8, plen - 8, ssrc, index))
    return BF_MEDIA_SRTP_FAILED;
  return BF_MEDIA_SRTP_OK;
}
