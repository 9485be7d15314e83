#define G_LOG_DOMAIN "belfry-media"
/* belfry media: DTLS 1.2 for DTLS-SRTP over OpenSSL 3.0.
 *
 * Records leave through a BIO whose every write is handed to the transport
 * as one datagram.  OpenSSL fragments handshake messages to the MTU we set
 * and, during the handshake, packs records into a buffering BIO that it
 * flushes before a datagram would exceed the MTU and at the end of each
 * flight: each flush reaches us as one write, so datagram boundaries are
 * kept (a plain memory BIO would run a whole flight together).  Records
 * arrive through a memory BIO, one datagram at a time.  Timers
 * (retransmission, handshake deadline) are GSources on the worker's
 * context. */
#include "dtls.h"

#include <string.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/srtp.h>
#include <openssl/x509.h>

#include "srtp-session.h"

/* Forward secrecy and AEAD only: ECDSA first (our certificate), RSA for
 * peers whose certificate is RSA (GStreamer's default) when they are the
 * server.  No CBC suites: OpenSSL 3.0 negotiates encrypt-then-MAC for
 * them and then treats a record with a bad MAC as fatal, so one forged
 * datagram on the path would end the association (measured; RFC 6347
 * §4.1.2.7 says to discard it). */
#define CIPHERS \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:" \
  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
#define GROUPS "X25519:P-256:P-384"
#define MAX_RETRANSMIT_US (3 * G_USEC_PER_SEC)
/* RFC 5764 §4.2 */
#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

/* One direction's record protection after the handshake (RFC 5246 §6.3
 * key block, AEAD suites only: no MAC key), kept once the SSL is released
 * (see release() below). */
typedef struct {
  const EVP_CIPHER *cipher;
  gboolean chacha;          /* RFC 7905 nonce; else RFC 5288 (explicit nonce) */
  gsize key_len, iv_len;
  guint8 key[32], iv[12];
} RecordKey;

/* type, version, epoch + sequence, length, explicit nonce, alert, tag */
#define CLOSE_RECORD_MAX (13 + 8 + 2 + 16)

typedef enum {
  STATE_NEW,
  STATE_HANDSHAKING,
  STATE_CONNECTED,
  STATE_DONE,        /* failed or closed: ignores everything */
} State;

struct _BfMediaDtls {
  BfMediaDtlsParams params;
  SSL_CTX *ctx;             /* shared: the certificate's (bf_media_cert_get_dtls_ctx) */
  SSL *ssl;                 /* owns both BIOs; NULL once released */
  BIO *rbio;
  GMainContext *context;
  GSource *retransmit;
  GSource *deadline;
  State state;
  const EVP_MD *md;
  guint8 fingerprint[EVP_MAX_MD_SIZE];
  gsize fingerprint_len;
  gboolean verified;        /* the peer certificate matched */
  gboolean mismatch;        /* ... or did not */
  BfMediaDtlsCallbacks cb;
  gpointer user_data;
  /* After the handshake (release()): */
  gboolean confirmed;       /* the peer has our last flight (bf_media_dtls_confirm) */
  gboolean keep_ssl;        /* the key check failed: the SSL stays to the end */
  gboolean capturing;       /* the send BIO fills close_record instead of sending */
  guint8 close_record[CLOSE_RECORD_MAX];   /* our close_notify, built at release */
  gsize close_record_len;
  RecordKey peer_key;       /* to authenticate the peer's alerts once released */
  gsize min_protected;      /* min_protected_record(), kept once released */
};

/* --- setup roles --- */

BfMediaDtlsSetup
bf_media_dtls_setup_for_answer (const char *offer_setup)
{
  if (offer_setup == NULL)
    return BF_MEDIA_DTLS_SETUP_UNKNOWN;
  if (g_ascii_strcasecmp (offer_setup, "actpass") == 0
      || g_ascii_strcasecmp (offer_setup, "passive") == 0)
    return BF_MEDIA_DTLS_SETUP_ACTIVE;
  if (g_ascii_strcasecmp (offer_setup, "active") == 0)
    return BF_MEDIA_DTLS_SETUP_PASSIVE;
  return BF_MEDIA_DTLS_SETUP_UNKNOWN;
}

BfMediaDtlsSetup
bf_media_dtls_setup_from_answer (const char *answer_setup)
{
  if (answer_setup == NULL)
    return BF_MEDIA_DTLS_SETUP_UNKNOWN;
  if (g_ascii_strcasecmp (answer_setup, "active") == 0)
    return BF_MEDIA_DTLS_SETUP_PASSIVE;
  if (g_ascii_strcasecmp (answer_setup, "passive") == 0)
    return BF_MEDIA_DTLS_SETUP_ACTIVE;
  return BF_MEDIA_DTLS_SETUP_UNKNOWN;
}

const char *
bf_media_dtls_setup_name (BfMediaDtlsSetup setup)
{
  switch (setup)
    {
    case BF_MEDIA_DTLS_SETUP_ACTIVE:
      return "active";
    case BF_MEDIA_DTLS_SETUP_PASSIVE:
      return "passive";
    default:
      return "unknown";
    }
}

/* --- fingerprints --- */

gboolean
bf_media_fingerprint_parse (const char *hash, const char *text, const EVP_MD **md,
                            guint8 digest[EVP_MAX_MD_SIZE], gsize *len, GError **error)
{
  static const struct { const char *name; const EVP_MD *(*md) (void); } hashes[] = {
    { "sha-1", EVP_sha1 }, { "sha-224", EVP_sha224 }, { "sha-256", EVP_sha256 },
    { "sha-384", EVP_sha384 }, { "sha-512", EVP_sha512 },
  };
  *md = NULL;
  for (gsize i = 0; hash && i < G_N_ELEMENTS (hashes); i++)
    if (g_ascii_strcasecmp (hash, hashes[i].name) == 0)
      *md = hashes[i].md ();
  if (*md == NULL)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "unsupported fingerprint hash '%.32s'", hash ? hash : "(none)");
      return FALSE;
    }
  gsize want = (gsize) EVP_MD_get_size (*md), n = 0;
  const char *p = text ? text : "";
  while (*p)
    {
      if (*p == ':' && n > 0 && p[1] != '\0')
        p++;
      if (!g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]) || n >= want)
        {
          g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                       "malformed %s fingerprint", hash);
          return FALSE;
        }
      digest[n++] = (guint8) (g_ascii_xdigit_value (p[0]) << 4 | g_ascii_xdigit_value (p[1]));
      p += 2;
    }
  if (n != want)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "%s fingerprint has %zu bytes, not %zu", hash, n, want);
      return FALSE;
    }
  *len = n;
  return TRUE;
}

/* --- the sending BIO --- */

static int
send_bio_write (BIO *bio, const char *data, int len)
{
  BfMediaDtls *d = BIO_get_data (bio);
  if (d != NULL && d->capturing)
    {
      /* One record, at release: kept for bf_media_dtls_close(). */
      if (len > 0 && (gsize) len <= sizeof d->close_record)
        {
          memcpy (d->close_record, data, (gsize) len);
          d->close_record_len = (gsize) len;
        }
      return len;
    }
  if (d != NULL && len > 0)
    d->cb.send ((const guint8 *) data, (gsize) len, d->user_data);
  return len;
}

static long
send_bio_ctrl (BIO *bio, int cmd, long num, void *ptr)
{
  BfMediaDtls *d = BIO_get_data (bio);
  switch (cmd)
    {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return d ? (long) d->params.mtu : 1200;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return 28;   /* IPv4 + UDP; the MTU we set is already net of it */
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
    default:
      return 0;
    }
}

static int
send_bio_create (BIO *bio)
{
  BIO_set_init (bio, 1);
  return 1;
}

static gpointer
send_bio_method_once (gpointer unused)
{
  /* An immutable method table, built once per process and never freed
   * (like OpenSSL's own BIO_s_mem()). */
  BIO_METHOD *m = BIO_meth_new (BIO_get_new_index () | BIO_TYPE_SOURCE_SINK,
                                "belfry DTLS datagram sender");
  if (m == NULL)
    return NULL;
  BIO_meth_set_write (m, send_bio_write);
  BIO_meth_set_ctrl (m, send_bio_ctrl);
  BIO_meth_set_create (m, send_bio_create);
  return m;
}

static BIO_METHOD *
send_bio_method (void)
{
  static GOnce once = G_ONCE_INIT;
  return g_once (&once, send_bio_method_once, NULL);
}

/* --- errors --- */

static void
openssl_error_text (char *buf, gsize size)
{
  unsigned long e = ERR_peek_last_error ();
  buf[0] = '\0';
  if (e)
    ERR_error_string_n (e, buf, size);
  ERR_clear_error ();
}

static void
stop_timers (BfMediaDtls *d)
{
  if (d->retransmit)
    {
      g_source_destroy (d->retransmit);
      g_clear_pointer (&d->retransmit, g_source_unref);
    }
  if (d->deadline)
    {
      g_source_destroy (d->deadline);
      g_clear_pointer (&d->deadline, g_source_unref);
    }
}

static void
fail (BfMediaDtls *d, BfMediaError code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
fail (BfMediaDtls *d, BfMediaError code, const char *format, ...)
{
  if (d->state == STATE_DONE)
    return;
  d->state = STATE_DONE;
  stop_timers (d);
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autoptr (GError) error = g_error_new_literal (BF_MEDIA_ERROR, (gint) code, msg);
  d->cb.failed (error, d->user_data);
}

/* --- peer verification (RFC 5763 §5, RFC 8122 §5) --- */

/* Replaces chain validation: a self-signed certificate is expected, and the
 * only thing that authenticates it is the fingerprint from signalling. */
static int
verify_certificate (X509_STORE_CTX *store, void *unused)
{
  SSL *ssl = X509_STORE_CTX_get_ex_data (store, SSL_get_ex_data_X509_STORE_CTX_idx ());
  BfMediaDtls *d = ssl ? SSL_get_app_data (ssl) : NULL;
  if (d == NULL)
    return 0;
  X509 *peer = X509_STORE_CTX_get0_cert (store);
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;

  if (peer != NULL && X509_digest (peer, d->md, md, &md_len)
      && (gsize) md_len == d->fingerprint_len
      && CRYPTO_memcmp (md, d->fingerprint, md_len) == 0)
    {
      d->verified = TRUE;
      return 1;
    }
  d->mismatch = TRUE;
  X509_STORE_CTX_set_error (store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

/* --- retransmission (RFC 6347 §4.2.4) --- */

static unsigned int
retransmit_backoff (SSL *ssl, unsigned int timer_us)
{
  BfMediaDtls *d = SSL_get_app_data (ssl);
  if (timer_us == 0)
    return d->params.retransmit_ms * 1000;
  return MIN ((guint64) timer_us * 2, MAX_RETRANSMIT_US);
}

static void rearm_retransmit (BfMediaDtls *d);

/* After the handshake the record buffers are freed (handshake_done).  The
 * DTLS read path sets both up again when it needs them, the DTLS write
 * path does not (OpenSSL 3.0: a write with no buffer crashes): so before
 * anything that may write -- close_notify, a retransmission timer -- a
 * read on the empty BIO (WANT_READ) sets them up. */
static void
restore_buffers (BfMediaDtls *d)
{
  guint8 unused;
  if (d->state != STATE_CONNECTED)
    return;
  ERR_clear_error ();
  (void) SSL_read (d->ssl, &unused, 0);
  ERR_clear_error ();
}

static gboolean
on_retransmit (gpointer user_data)
{
  BfMediaDtls *d = user_data;
  g_clear_pointer (&d->retransmit, g_source_unref);
  restore_buffers (d);
  if (d->state == STATE_HANDSHAKING)
    BF_SETUP_TRACE ("%p", d->user_data, "dtls-retransmit");
  ERR_clear_error ();
  if (DTLSv1_handle_timeout (d->ssl) < 0)
    {
      char buf[256];
      openssl_error_text (buf, sizeof buf);
      fail (d, BF_MEDIA_ERROR_TIMEOUT, "DTLS peer stopped answering (%s)",
            buf[0] ? buf : "too many retransmissions");
      return G_SOURCE_REMOVE;
    }
  rearm_retransmit (d);
  return G_SOURCE_REMOVE;
}

static void
rearm_retransmit (BfMediaDtls *d)
{
  struct timeval tv = { 0, 0 };
  if (d->retransmit)
    {
      g_source_destroy (d->retransmit);
      g_clear_pointer (&d->retransmit, g_source_unref);
    }
  if (d->state == STATE_DONE || DTLSv1_get_timeout (d->ssl, &tv) != 1)
    return;
  guint ms = (guint) MIN ((guint64) tv.tv_sec * 1000 + ((guint64) tv.tv_usec + 999) / 1000,
                          (guint64) G_MAXUINT);
  d->retransmit = g_timeout_source_new (ms);
  g_source_set_callback (d->retransmit, on_retransmit, d, NULL);
  g_source_set_static_name (d->retransmit, "bf-media-dtls-retransmit");
  g_source_attach (d->retransmit, d->context);
}

static gboolean
on_deadline (gpointer user_data)
{
  BfMediaDtls *d = user_data;
  g_clear_pointer (&d->deadline, g_source_unref);
  fail (d, BF_MEDIA_ERROR_TIMEOUT, "DTLS handshake did not complete within %u ms",
        d->params.handshake_timeout_ms);
  return G_SOURCE_REMOVE;
}

static void
arm_deadline (BfMediaDtls *d)
{
  if (d->deadline || d->state == STATE_DONE || d->state == STATE_CONNECTED)
    return;
  d->deadline = g_timeout_source_new (d->params.handshake_timeout_ms);
  g_source_set_callback (d->deadline, on_deadline, d, NULL);
  g_source_set_static_name (d->deadline, "bf-media-dtls-deadline");
  g_source_attach (d->deadline, d->context);
}

/* --- handshake --- */

static void
handshake_done (BfMediaDtls *d)
{
  const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile (d->ssl);
  BfMediaSrtpProfile profile = BF_MEDIA_SRTP_NONE;
  if (p != NULL && p->id == SRTP_AEAD_AES_128_GCM)
    profile = BF_MEDIA_SRTP_AEAD_AES_128_GCM;
  else if (p != NULL && p->id == SRTP_AES128_CM_SHA1_80)
    profile = BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
  if (profile == BF_MEDIA_SRTP_NONE)
    {
      fail (d, BF_MEDIA_ERROR_HANDSHAKE, "no common SRTP profile (use_srtp, RFC 5764 section 4.1.2)");
      return;
    }
  /* The verify callback ran and accepted (it is the only way in, but an
   * unverified peer must never get keys). */
  if (!d->verified || SSL_get0_peer_certificate (d->ssl) == NULL)
    {
      fail (d, BF_MEDIA_ERROR_FINGERPRINT_MISMATCH, "peer certificate not verified");
      return;
    }

  BfMediaDtlsKeys keys = { .profile = profile };
  gsize k = keys.key_len = bf_media_srtp_key_len (profile);
  gsize s = keys.salt_len = bf_media_srtp_salt_len (profile);
  guint8 material[2 * (16 + 14)];
  /* RFC 5764 §4.2: client_write_SRTP_master_key | server_write_SRTP_master_key
   * | client_write_SRTP_master_salt | server_write_SRTP_master_salt. */
  if (SSL_export_keying_material (d->ssl, material, 2 * (k + s), EXPORTER_LABEL,
                                  strlen (EXPORTER_LABEL), NULL, 0, 0) != 1)
    {
      char buf[256];
      openssl_error_text (buf, sizeof buf);
      fail (d, BF_MEDIA_ERROR_CRYPTO, "exporting the SRTP keys failed: %s", buf);
      return;
    }
  const guint8 *client_key = material, *server_key = material + k;
  const guint8 *client_salt = material + 2 * k, *server_salt = material + 2 * k + s;
  gboolean client = d->params.setup == BF_MEDIA_DTLS_SETUP_ACTIVE;
  memcpy (keys.local_key, client ? client_key : server_key, k);
  memcpy (keys.local_salt, client ? client_salt : server_salt, s);
  memcpy (keys.remote_key, client ? server_key : client_key, k);
  memcpy (keys.remote_salt, client ? server_salt : client_salt, s);
  OPENSSL_cleanse (material, sizeof material);

  d->state = STATE_CONNECTED;
  if (d->deadline)
    {
      g_source_destroy (d->deadline);
      g_clear_pointer (&d->deadline, g_source_unref);
    }
  /* Nothing is pending once the last flight is out: the record buffers
   * go now rather than at the next read. */
  SSL_free_buffers (d->ssl);
  d->cb.connected (&keys, d->user_data);
  OPENSSL_cleanse (&keys, sizeof keys);
}

static void
drive_handshake (BfMediaDtls *d)
{
  ERR_clear_error ();
  int r = SSL_do_handshake (d->ssl);
  if (r == 1)
    {
      handshake_done (d);
    }
  else
    {
      int e = SSL_get_error (d->ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        {
          char buf[256];
          openssl_error_text (buf, sizeof buf);
          if (d->mismatch)
            fail (d, BF_MEDIA_ERROR_FINGERPRINT_MISMATCH,
                  "peer certificate does not match the signalled fingerprint");
          else
            fail (d, BF_MEDIA_ERROR_HANDSHAKE, "DTLS handshake failed: %s",
                  buf[0] ? buf : "unknown error");
          return;
        }
    }
  rearm_retransmit (d);
}

/* After the handshake: let OpenSSL see retransmitted flights, alerts and
 * close_notify.  FALSE if the datagram carried application data. */
static gboolean
read_connected (BfMediaDtls *d)
{
  guint8 buf[2048];
  gboolean app_data = FALSE;
  for (int i = 0; i < 8; i++)
    {
      ERR_clear_error ();
      int r = SSL_read (d->ssl, buf, sizeof buf);
      if (r > 0)
        {
          app_data = TRUE;    /* no data channels here: discarded */
          continue;
        }
      int e = SSL_get_error (d->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        break;
      char text[256];
      openssl_error_text (text, sizeof text);
      if (e == SSL_ERROR_ZERO_RETURN)
        fail (d, BF_MEDIA_ERROR_CLOSED, "peer closed DTLS (close_notify)");
      else
        fail (d, BF_MEDIA_ERROR_CLOSED, "DTLS association ended: %s",
              text[0] ? text : "fatal error");
      return TRUE;
    }
  rearm_retransmit (d);
  /* The read set the record buffers up again (a retransmitted flight, an
   * alert): ~33 KiB this association keeps no longer than the datagram. */
  SSL_free_buffers (d->ssl);
  return !app_data;
}

/* The smallest protected record the negotiated AEAD suite can produce:
 * explicit nonce + tag (RFC 5288 §3: 8 + 16 for AES-GCM; RFC 7905 §2:
 * 16 for ChaCha20-Poly1305). */
static gsize
min_protected_record (BfMediaDtls *d)
{
  const SSL_CIPHER *c = SSL_get_current_cipher (d->ssl);
  if (c != NULL && SSL_CIPHER_get_cipher_nid (c) == NID_chacha20_poly1305)
    return 16;
  return 24;
}

/* RFC 6347 §4.1: a datagram is one or more whole records: type (20..25),
 * version {254, x}, epoch, sequence, length.  Anything else never reaches
 * OpenSSL.  Nor does a protected record (epoch >= 1) too short to hold
 * the AEAD nonce and tag: OpenSSL 3.0 fails the whole association on one
 * (measured) where RFC 6347 §4.1.2.7 wants it discarded. */
static gboolean
framing_ok (BfMediaDtls *d, const guint8 *data, gsize len)
{
  gsize off = 0, min_protected = 0;
  if (len == 0)
    return FALSE;
  while (off < len)
    {
      if (len - off < 13)
        return FALSE;
      const guint8 *h = data + off;
      if (h[0] < 20 || h[0] > 25 || h[1] != 254)
        return FALSE;
      gsize rlen = ((gsize) h[11] << 8) | h[12];
      if (rlen > len - off - 13)
        return FALSE;
      if (h[3] != 0 || h[4] != 0)
        {
          if (min_protected == 0)
            min_protected = d->ssl ? min_protected_record (d) : d->min_protected;
          if (rlen < min_protected)
            return FALSE;
        }
      off += 13 + rlen;
    }
  return TRUE;
}

/* --- release after the handshake ---
 *
 * An established association holds ~40 KiB in OpenSSL (the SSL, the
 * handshake buffer kept for retransmissions, the peer certificate,
 * session) for three things: answering a retransmitted peer flight, our
 * close_notify, and the peer's alerts.  RFC 6347 §4.2.4: only the side
 * that sent the last flight (the server, no resumption here) must answer
 * a retransmission of the peer's last flight, and only until the peer has
 * ours.  So the SSL goes:
 * - at once when the peer sent the last flight (we are the client): any
 *   later handshake record is a stale duplicate, nothing to answer;
 * - otherwise once the peer proved it has our last flight: the transport
 *   calls bf_media_dtls_confirm() on the first SRTP or SRTCP packet from
 *   it that authenticates, and a peer sends SRTP only once its handshake
 *   is complete, i.e. after our Finished reached it.  A handshake record
 *   arriving later is then a duplicate the network delayed.
 * What stays: our close_notify, built and sealed by OpenSSL at release
 * (the next sequence number of epoch 1: nothing else is sent after it),
 * and the peer's record key, derived from the master secret, with which
 * alerts (close_notify, fatal ones) are still authenticated as OpenSSL
 * would.  Every other record after the release is dropped (FALSE: the
 * transport counts it in dropped_dtls).  The derivation is checked on our
 * own close_notify (sealed by OpenSSL, opened with our derived write key):
 * if that fails the SSL is kept, as before. */

static gboolean
record_key_init (RecordKey *k, const SSL_CIPHER *c)
{
  memset (k, 0, sizeof *k);
  switch (c ? SSL_CIPHER_get_cipher_nid (c) : NID_undef)
    {
    case NID_aes_128_gcm:
      k->cipher = EVP_aes_128_gcm ();
      k->key_len = 16;
      k->iv_len = 4;
      break;
    case NID_aes_256_gcm:
      k->cipher = EVP_aes_256_gcm ();
      k->key_len = 32;
      k->iv_len = 4;
      break;
    case NID_chacha20_poly1305:
      k->cipher = EVP_chacha20_poly1305 ();
      k->chacha = TRUE;
      k->key_len = 32;
      k->iv_len = 12;
      break;
    default:
      return FALSE;   /* not one of CIPHERS: keep the SSL */
    }
  return k->cipher != NULL;
}

/* RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion",
 * server_random + client_random) = client_write_key, server_write_key,
 * client_write_IV, server_write_IV (AEAD: no MAC keys). */
static gboolean
derive_record_keys (SSL *ssl, RecordKey *ours, RecordKey *peers)
{
  static const char label[] = "key expansion";
  const SSL_CIPHER *c = SSL_get_current_cipher (ssl);
  const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest (c) : NULL;
  RecordKey client, server;
  if (md == NULL || !record_key_init (&client, c) || !record_key_init (&server, c))
    return FALSE;
  guint8 master[SSL_MAX_MASTER_KEY_LENGTH], seed[sizeof label - 1 + 2 * SSL3_RANDOM_SIZE];
  guint8 block[2 * (32 + 12)];
  gsize master_len = SSL_SESSION_get_master_key (SSL_get_session (ssl), master, sizeof master);
  memcpy (seed, label, sizeof label - 1);
  if (master_len == 0
      || SSL_get_server_random (ssl, seed + sizeof label - 1, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE
      || SSL_get_client_random (ssl, seed + sizeof label - 1 + SSL3_RANDOM_SIZE,
                                SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE)
    return FALSE;
  gsize kl = client.key_len, il = client.iv_len;
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
  EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new (kdf) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) EVP_MD_get0_name (md), 0),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SECRET, master, master_len),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SEED, seed, sizeof seed),
    OSSL_PARAM_construct_end (),
  };
  gboolean ok = kctx != NULL && EVP_KDF_derive (kctx, block, 2 * (kl + il), params) == 1;
  EVP_KDF_CTX_free (kctx);
  EVP_KDF_free (kdf);
  if (ok)
    {
      memcpy (client.key, block, kl);
      memcpy (server.key, block + kl, kl);
      memcpy (client.iv, block + 2 * kl, il);
      memcpy (server.iv, block + 2 * kl + il, il);
      gboolean is_client = !SSL_is_server (ssl);
      *ours = is_client ? client : server;
      *peers = is_client ? server : client;
    }
  OPENSSL_cleanse (master, sizeof master);
  OPENSSL_cleanse (block, sizeof block);
  OPENSSL_cleanse (&client, sizeof client);
  OPENSSL_cleanse (&server, sizeof server);
  return ok;
}

/* Opens one protected record (RFC 5288 §3 / RFC 7905 §2; additional data
 * RFC 5246 §6.2.3.3 with DTLS's epoch + sequence, RFC 6347 §4.1.2.1):
 * @h its 13-byte header, the fragment follows.  The plaintext (at most
 * @cap bytes) goes to @out. */
static gboolean
open_record (const RecordKey *k, const guint8 *h, guint8 *out, gsize cap, gsize *out_len)
{
  gsize len = ((gsize) h[11] << 8) | h[12];
  const guint8 *frag = h + 13, *ct = frag;
  guint8 nonce[12], aad[13];
  gsize ct_len;
  if (k->chacha)
    {
      if (len < 16)
        return FALSE;
      memcpy (nonce, k->iv, 12);
      for (int i = 0; i < 8; i++)
        nonce[4 + i] ^= h[3 + i];
      ct_len = len - 16;
    }
  else
    {
      if (len < 24)
        return FALSE;
      memcpy (nonce, k->iv, 4);
      memcpy (nonce + 4, frag, 8);
      ct += 8;
      ct_len = len - 24;
    }
  if (ct_len > cap)
    return FALSE;
  memcpy (aad, h + 3, 8);
  aad[8] = h[0];
  aad[9] = h[1];
  aad[10] = h[2];
  aad[11] = (guint8) (ct_len >> 8);
  aad[12] = (guint8) ct_len;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0, m = 0;
  gboolean ok = ctx != NULL
                && EVP_DecryptInit_ex (ctx, k->cipher, NULL, k->key, nonce) == 1
                && EVP_DecryptUpdate (ctx, NULL, &n, aad, sizeof aad) == 1
                && EVP_DecryptUpdate (ctx, out, &n, ct, (int) ct_len) == 1
                && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, 16,
                                        (void *) (ct + ct_len)) == 1
                && EVP_DecryptFinal_ex (ctx, out + n, &m) == 1;
  EVP_CIPHER_CTX_free (ctx);
  if (ok)
    *out_len = (gsize) (n + m);
  return ok;
}

/* The captured close_notify: one alert record {warning, close_notify}
 * that our derived write key opens. */
static gboolean
close_record_checks (BfMediaDtls *d, const RecordKey *ours)
{
  guint8 alert[8];
  gsize n = 0;
  const guint8 *h = d->close_record;
  return d->close_record_len >= 13 && h[0] == 21
         && 13 + (((gsize) h[11] << 8) | h[12]) == d->close_record_len
         && open_record (ours, h, alert, sizeof alert, &n) && n == 2 && alert[0] == 1
         && alert[1] == 0;
}

static void
free_ssl (BfMediaDtls *d)
{
  /* The send BIO must not call back into a half-freed owner. */
  BIO *w = SSL_get_wbio (d->ssl);
  if (w)
    BIO_set_data (w, NULL);
  g_clear_pointer (&d->ssl, SSL_free);
  d->rbio = NULL;
}

static void
release (BfMediaDtls *d)
{
  if (d->ssl == NULL || d->keep_ssl || d->state != STATE_CONNECTED)
    return;
  RecordKey ours;
  if (!derive_record_keys (d->ssl, &ours, &d->peer_key))
    {
      d->keep_ssl = TRUE;
      g_debug ("media: DTLS record keys not derived: the association keeps its SSL");
      return;
    }
  d->min_protected = min_protected_record (d);
  restore_buffers (d);
  ERR_clear_error ();
  d->capturing = TRUE;
  SSL_shutdown (d->ssl);
  d->capturing = FALSE;
  ERR_clear_error ();
  gboolean ok = close_record_checks (d, &ours);
  OPENSSL_cleanse (&ours, sizeof ours);
  if (!ok)
    {
      /* OpenSSL sealed the record, so it is still what close() sends; the
       * SSL stays to read the peer's alerts. */
      d->keep_ssl = TRUE;
      OPENSSL_cleanse (&d->peer_key, sizeof d->peer_key);
      g_warning ("media: DTLS record key check failed: the association keeps its SSL");
      return;
    }
  stop_timers (d);
  free_ssl (d);
  g_clear_pointer (&d->ctx, SSL_CTX_free);
}

void
bf_media_dtls_confirm (BfMediaDtls *d)
{
  d->confirmed = TRUE;
  release (d);
}

gboolean
bf_media_dtls_is_released (BfMediaDtls *d)
{
  return d->state == STATE_CONNECTED && d->ssl == NULL;
}

/* Released: the peer's alerts, authenticated with its record key, end the
 * association as OpenSSL's read would; everything else is dropped. */
static gboolean
read_released (BfMediaDtls *d, const guint8 *data, gsize len)
{
  gboolean any = FALSE;
  for (gsize off = 0; off < len && d->state == STATE_CONNECTED;)
    {
      const guint8 *h = data + off;
      gsize rlen = ((gsize) h[11] << 8) | h[12];
      guint8 alert[8];
      gsize n = 0;
      off += 13 + rlen;
      /* epoch 1: the only one after a handshake without renegotiation */
      if (h[0] != 21 || h[3] != 0 || h[4] != 1
          || !open_record (&d->peer_key, h, alert, sizeof alert, &n) || n != 2)
        continue;
      any = TRUE;
      if (alert[1] == 0)
        fail (d, BF_MEDIA_ERROR_CLOSED, "peer closed DTLS (close_notify)");
      else if (alert[0] == 2)
        fail (d, BF_MEDIA_ERROR_CLOSED, "DTLS association ended: fatal alert %u", alert[1]);
    }
  return any;
}

gboolean
bf_media_dtls_receive (BfMediaDtls *d, const guint8 *data, gsize len)
{
  if (d->state == STATE_DONE || len > 65535 || !framing_ok (d, data, len))
    return FALSE;
  if (d->ssl == NULL)
    return read_released (d, data, len);
  /* One datagram in, consumed entirely by the call below (DTLS reads a
   * whole datagram per record-layer read); reset in case it was not. */
  BIO_reset (d->rbio);
  if (BIO_write (d->rbio, data, (int) len) != (int) len)
    return FALSE;
  gboolean ok = TRUE;
  if (d->state == STATE_CONNECTED)
    ok = read_connected (d);
  else
    {
      if (d->state == STATE_NEW)
        {
          /* A ClientHello before our start(): the path works. */
          d->state = STATE_HANDSHAKING;
          arm_deadline (d);
        }
      drive_handshake (d);
    }
  if (d->state != STATE_DONE && BIO_ctrl_pending (d->rbio) > 0)
    BIO_reset (d->rbio);
  /* We are the client, or the peer already proved it has our flight. */
  if (d->state == STATE_CONNECTED
      && (d->confirmed || SSL_is_server (d->ssl) == SSL_session_reused (d->ssl)))
    release (d);
  return ok;
}

void
bf_media_dtls_start (BfMediaDtls *d)
{
  if (d->state != STATE_NEW)
    return;
  d->state = STATE_HANDSHAKING;
  arm_deadline (d);
  if (d->params.setup == BF_MEDIA_DTLS_SETUP_ACTIVE)
    drive_handshake (d);
}

void
bf_media_dtls_close (BfMediaDtls *d)
{
  if (d->state == STATE_CONNECTED && d->close_record_len > 0)
    d->cb.send (d->close_record, d->close_record_len, d->user_data);  /* built at release */
  else if (d->state == STATE_CONNECTED)
    {
      restore_buffers (d);
      ERR_clear_error ();
      SSL_shutdown (d->ssl);     /* close_notify through the send BIO */
      ERR_clear_error ();
    }
  d->state = STATE_DONE;
  stop_timers (d);
}

gboolean
bf_media_dtls_is_connected (BfMediaDtls *d)
{
  return d->state == STATE_CONNECTED;
}

void
bf_media_dtls_free (BfMediaDtls *d)
{
  if (d == NULL)
    return;
  stop_timers (d);
  if (d->ssl)
    free_ssl (d);
  SSL_CTX_free (d->ctx);
  OPENSSL_cleanse (d->fingerprint, sizeof d->fingerprint);
  OPENSSL_cleanse (&d->peer_key, sizeof d->peer_key);
  g_free (d);
}

static gboolean
srtp_profiles_string (const BfMediaDtlsParams *p, GString *out, GError **error)
{
  for (guint i = 0; i < p->n_profiles && i < BF_MEDIA_SRTP_MAX_PROFILES; i++)
    {
      const char *name = NULL;
      if (p->profiles[i] == BF_MEDIA_SRTP_AEAD_AES_128_GCM)
        name = "SRTP_AEAD_AES_128_GCM";
      else if (p->profiles[i] == BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80)
        name = "SRTP_AES128_CM_SHA1_80";
      if (name == NULL)
        continue;
      if (out->len)
        g_string_append_c (out, ':');
      g_string_append (out, name);
    }
  if (out->len == 0)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "no SRTP profile configured");
      return FALSE;
    }
  return TRUE;
}

/* The context every association with this certificate and these SRTP
 * profiles shares (bf_media_cert_get_dtls_ctx): nothing in it is per
 * association -- the verify callback finds its BfMediaDtls through the
 * SSL being verified. */
static SSL_CTX *
build_ctx (BfMediaCert *cert, const char *profiles, GError **error)
{
  ERR_clear_error ();
  SSL_CTX *ctx = SSL_CTX_new (DTLS_method ());
  if (ctx == NULL
      || !SSL_CTX_set_min_proto_version (ctx, DTLS1_2_VERSION)
      || !SSL_CTX_set_max_proto_version (ctx, DTLS1_2_VERSION)
      || SSL_CTX_use_certificate (ctx, bf_media_cert_get_x509 (cert)) != 1
      || SSL_CTX_use_PrivateKey (ctx, bf_media_cert_get_key (cert)) != 1
      || SSL_CTX_check_private_key (ctx) != 1
      || SSL_CTX_set_cipher_list (ctx, CIPHERS) != 1
      || SSL_CTX_set1_groups_list (ctx, GROUPS) != 1
      /* Returns 0 on success (sic). */
      || SSL_CTX_set_tlsext_use_srtp (ctx, profiles) != 0)
    {
      char buf[256];
      openssl_error_text (buf, sizeof buf);
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CRYPTO, "setting up DTLS failed: %s",
                   buf[0] ? buf : "unknown error");
      SSL_CTX_free (ctx);
      return NULL;
    }
  SSL_CTX_set_options (ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET
                            | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* The record layer's read and write buffers (~16 KiB each) are released
   * whenever they are empty: after the handshake an association only sees
   * an occasional retransmitted flight, alert or close_notify. */
  SSL_CTX_set_mode (ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode (ctx, SSL_SESS_CACHE_OFF);
  /* Both sides demand the other's certificate (RFC 5763 §5). */
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  SSL_CTX_set_cert_verify_callback (ctx, verify_certificate, NULL);
  return ctx;
}

BfMediaDtls *
bf_media_dtls_new (BfMediaCert *cert, const BfMediaDtlsParams *params,
                   const char *remote_hash, const char *remote_fingerprint,
                   GMainContext *context, const BfMediaDtlsCallbacks *callbacks,
                   gpointer user_data, GError **error)
{
  g_return_val_if_fail (cert && params && callbacks && callbacks->send
                        && callbacks->connected && callbacks->failed, NULL);
  if (params->setup != BF_MEDIA_DTLS_SETUP_ACTIVE && params->setup != BF_MEDIA_DTLS_SETUP_PASSIVE)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "DTLS setup role unknown");
      return NULL;
    }
  g_autoptr (GString) profiles = g_string_new (NULL);
  if (!srtp_profiles_string (params, profiles, error))
    return NULL;

  BfMediaDtls *d = g_new0 (BfMediaDtls, 1);
  d->params = *params;
  if (d->params.handshake_timeout_ms == 0)
    d->params.handshake_timeout_ms = 10000;
  if (d->params.retransmit_ms == 0)
    d->params.retransmit_ms = 200;
  if (d->params.mtu < 576 || d->params.mtu > 1500)
    d->params.mtu = 1200;
  d->context = context;
  d->cb = *callbacks;
  d->user_data = user_data;
  if (!bf_media_fingerprint_parse (remote_hash, remote_fingerprint, &d->md, d->fingerprint,
                                   &d->fingerprint_len, error))
    {
      g_free (d);
      return NULL;
    }

  ERR_clear_error ();
  BIO *wbio = NULL;
  BIO_METHOD *method = send_bio_method ();
  d->ctx = bf_media_cert_get_dtls_ctx (cert, profiles->str, build_ctx, error);
  if (d->ctx == NULL)
    {
      bf_media_dtls_free (d);
      return NULL;
    }
  if (method == NULL)
    goto fail;
  d->ssl = SSL_new (d->ctx);
  d->rbio = BIO_new (BIO_s_mem ());
  wbio = BIO_new (method);
  if (d->ssl == NULL || d->rbio == NULL || wbio == NULL)
    {
      BIO_free (d->rbio);
      BIO_free (wbio);
      d->rbio = NULL;
      goto fail;
    }
  BIO_set_mem_eof_return (d->rbio, -1);
  BIO_set_data (wbio, d);
  SSL_set_bio (d->ssl, d->rbio, wbio);
  SSL_set_app_data (d->ssl, d);
  SSL_set_mtu (d->ssl, d->params.mtu);
  DTLS_set_timer_cb (d->ssl, retransmit_backoff);
  if (d->params.setup == BF_MEDIA_DTLS_SETUP_ACTIVE)
    SSL_set_connect_state (d->ssl);
  else
    SSL_set_accept_state (d->ssl);
  return d;

fail:
  {
    char buf[256];
    openssl_error_text (buf, sizeof buf);
    g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CRYPTO, "setting up DTLS failed: %s",
                 buf[0] ? buf : "unknown error");
    bf_media_dtls_free (d);
    return NULL;
  }
}
