/* Media unit tests without a network: certificate and fingerprints, setup
 * roles, SRTP sessions, the [media] group, workers and the pool. */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "dtls-cert.h"
#include "dtls.h"
#include "ice-consent.h"
#include "media-config.h"
#include "srtp-session.h"
#include "worker.h"

/* --- certificate --- */

static void
test_cert (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfMediaCert) cert = bf_media_cert_new (0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cert);

  EVP_PKEY *key = bf_media_cert_get_key (cert);
  g_assert_true (EVP_PKEY_is_a (key, "EC"));
  g_assert_cmpint (EVP_PKEY_get_bits (key), ==, 256);
  char group[64] = "";
  size_t glen = 0;
  g_assert_true (EVP_PKEY_get_group_name (key, group, sizeof group, &glen));
  g_assert_cmpstr (group, ==, "prime256v1");
  g_assert_cmpint (X509_verify (bf_media_cert_get_x509 (cert), key), ==, 1);

  const char *fp = bf_media_cert_get_fingerprint (cert);
  g_assert_cmpstr (bf_media_cert_get_fingerprint_hash (cert), ==, "sha-256");
  g_assert_cmpuint (strlen (fp), ==, 32 * 3 - 1);
  g_assert_true (g_regex_match_simple ("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", fp, 0, 0));

  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int md_len;
  g_assert_true (X509_digest (bf_media_cert_get_x509 (cert), EVP_sha256 (), md, &md_len));
  g_autofree char *again = bf_media_fingerprint_format (md, md_len);
  g_assert_cmpstr (again, ==, fp);

  /* Two certificates differ. */
  g_autoptr (BfMediaCert) other = bf_media_cert_new (30, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bf_media_cert_get_fingerprint (other), !=, fp);

  /* The reference keeps it alive. */
  BfMediaCert *ref = bf_media_cert_ref (cert);
  bf_media_cert_unref (ref);
}

static void
test_fingerprint_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfMediaCert) cert = bf_media_cert_new (0, &error);
  const EVP_MD *md;
  guint8 digest[EVP_MAX_MD_SIZE];
  gsize len;

  g_assert_true (bf_media_fingerprint_parse ("sha-256", bf_media_cert_get_fingerprint (cert),
                                             &md, digest, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, 32);
  g_autofree char *lower = g_ascii_strdown (bf_media_cert_get_fingerprint (cert), -1);
  g_assert_true (bf_media_fingerprint_parse ("SHA-256", lower, &md, digest, &len, NULL));
  g_assert_true (bf_media_fingerprint_parse ("sha-1", "00112233445566778899AABBCCDDEEFF00112233",
                                             &md, digest, &len, NULL));
  g_assert_cmpuint (len, ==, 20);

  static const struct { const char *hash, *text; } bad[] = {
    { "md5", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF" },
    { NULL, "00" },
    { "sha-1", "00:11" },                                  /* short */
    { "sha-1", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44" }, /* long */
    { "sha-1", "0:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33" },
    { "sha-1", "ZZ:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33" },
    { "sha-1", ":00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33" },
    { "sha-1", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:" },
    { "sha-1", "00::11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33" },
    { "sha-256", "" },
    { "sha-256", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_false (bf_media_fingerprint_parse (bad[i].hash, bad[i].text, &md, digest, &len, &e));
      g_assert_error (e, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID);
    }
}

static void
test_setup_roles (void)
{
  /* RFC 5763 §5 */
  g_assert_cmpint (bf_media_dtls_setup_for_answer ("actpass"), ==, BF_MEDIA_DTLS_SETUP_ACTIVE);
  g_assert_cmpint (bf_media_dtls_setup_for_answer ("passive"), ==, BF_MEDIA_DTLS_SETUP_ACTIVE);
  g_assert_cmpint (bf_media_dtls_setup_for_answer ("active"), ==, BF_MEDIA_DTLS_SETUP_PASSIVE);
  g_assert_cmpint (bf_media_dtls_setup_for_answer ("holdconn"), ==, BF_MEDIA_DTLS_SETUP_UNKNOWN);
  g_assert_cmpint (bf_media_dtls_setup_for_answer (NULL), ==, BF_MEDIA_DTLS_SETUP_UNKNOWN);
  g_assert_cmpint (bf_media_dtls_setup_from_answer ("active"), ==, BF_MEDIA_DTLS_SETUP_PASSIVE);
  g_assert_cmpint (bf_media_dtls_setup_from_answer ("passive"), ==, BF_MEDIA_DTLS_SETUP_ACTIVE);
  g_assert_cmpint (bf_media_dtls_setup_from_answer ("actpass"), ==, BF_MEDIA_DTLS_SETUP_UNKNOWN);
  g_assert_cmpstr (bf_media_dtls_setup_name (BF_MEDIA_DTLS_SETUP_ACTIVE), ==, "active");
  g_assert_cmpint (bf_media_srtp_profile_from_name ("SRTP_AES128_CM_SHA1_80"), ==,
                   BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80);
  g_assert_cmpint (bf_media_srtp_profile_from_name ("AEAD_AES_128_GCM"), ==,
                   BF_MEDIA_SRTP_AEAD_AES_128_GCM);
  g_assert_cmpint (bf_media_srtp_profile_from_name ("F8_128_HMAC_SHA1_80"), ==, BF_MEDIA_SRTP_NONE);
}

/* --- SRTP --- */

static gsize
make_rtp (guint8 *buf, guint16 seq, guint32 ssrc, gsize payload)
{
  buf[0] = 0x80;
  buf[1] = 111;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  memset (buf + 4, 0, 4);
  buf[8] = ssrc >> 24;
  buf[9] = (ssrc >> 16) & 0xff;
  buf[10] = (ssrc >> 8) & 0xff;
  buf[11] = ssrc & 0xff;
  for (gsize i = 0; i < payload; i++)
    buf[12 + i] = (guint8) (seq + i);
  return 12 + payload;
}

static gsize
make_rtcp_rr (guint8 *buf, guint32 ssrc)
{
  buf[0] = 0x80;
  buf[1] = 201;
  buf[2] = 0;
  buf[3] = 1;
  buf[4] = ssrc >> 24;
  buf[5] = (ssrc >> 16) & 0xff;
  buf[6] = (ssrc >> 8) & 0xff;
  buf[7] = ssrc & 0xff;
  return 8;
}

static void
srtp_pair (BfMediaSrtpProfile profile, guint max_ssrcs, BfMediaSrtp **a, BfMediaSrtp **b)
{
  guint8 k1[16], s1[14], k2[16], s2[14];
  for (guint i = 0; i < 16; i++)
    {
      k1[i] = (guint8) i;
      k2[i] = (guint8) (100 + i);
    }
  for (guint i = 0; i < 14; i++)
    {
      s1[i] = (guint8) (50 + i);
      s2[i] = (guint8) (200 + i);
    }
  g_autoptr (GError) error = NULL;
  *a = bf_media_srtp_new (profile, k1, s1, k2, s2, max_ssrcs, &error);
  g_assert_no_error (error);
  *b = bf_media_srtp_new (profile, k2, s2, k1, s1, max_ssrcs, &error);
  g_assert_no_error (error);
}

static void
test_srtp_profile (gconstpointer data)
{
  BfMediaSrtpProfile profile = GPOINTER_TO_INT (data);
  BfMediaSrtp *a, *b;
  srtp_pair (profile, 4, &a, &b);
  guint8 buf[1500], orig[1500];
  gsize n, olen;

  for (guint16 seq = 1; seq < 100; seq++)
    {
      olen = make_rtp (orig, seq, 0x1234, 160);
      memcpy (buf, orig, olen);
      n = olen;
      g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpuint (n, ==, olen + (profile == BF_MEDIA_SRTP_AEAD_AES_128_GCM ? 16 : 10));
      g_assert_true (memcmp (buf + 12, orig + 12, 160) != 0);
      guint8 copy[1500];
      gsize cn = n;
      memcpy (copy, buf, n);
      g_assert_cmpint (bf_media_srtp_unprotect (b, FALSE, buf, &n), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpuint (n, ==, olen);
      g_assert_true (memcmp (buf, orig, olen) == 0);
      /* Replay. */
      g_assert_cmpint (bf_media_srtp_unprotect (b, FALSE, copy, &cn), ==, BF_MEDIA_SRTP_REPLAY);
    }

  /* Tampered. */
  olen = make_rtp (buf, 500, 0x1234, 100);
  n = olen;
  g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_OK);
  buf[20] ^= 1;
  g_assert_cmpint (bf_media_srtp_unprotect (b, FALSE, buf, &n), ==, BF_MEDIA_SRTP_AUTH_FAIL);

  /* RTCP both ways. */
  for (guint i = 0; i < 10; i++)
    {
      n = make_rtcp_rr (buf, 0x5678);
      g_assert_cmpint (bf_media_srtp_protect (b, TRUE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpint (bf_media_srtp_unprotect (a, TRUE, buf, &n), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpuint (n, ==, 8);
    }

  /* Malformed: CSRC count beyond the packet, too short, wrong version,
   * too little room. */
  olen = make_rtp (buf, 600, 0x1234, 4);
  buf[0] |= 0x0f;
  n = olen;
  g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_MALFORMED);
  g_assert_cmpint (bf_media_srtp_unprotect (b, FALSE, buf, &n), ==, BF_MEDIA_SRTP_MALFORMED);
  n = 11;
  g_assert_cmpint (bf_media_srtp_unprotect (b, FALSE, buf, &n), ==, BF_MEDIA_SRTP_MALFORMED);
  olen = make_rtp (buf, 601, 0x1234, 4);
  buf[0] = 0x40;
  n = olen;
  g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_MALFORMED);
  olen = make_rtp (buf, 602, 0x1234, 4);
  n = olen;
  g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, olen + 8), ==, BF_MEDIA_SRTP_MALFORMED);
  /* Extension header that claims more than there is. */
  olen = make_rtp (buf, 603, 0x1234, 8);
  buf[0] |= 0x10;
  buf[14] = 0xff;
  buf[15] = 0xff;
  n = olen;
  g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_MALFORMED);

  /* SSRC limit: 0x1234 and 0x5678 known on a (tx / rx), up to 4 per
   * direction. */
  for (guint32 ssrc = 1; ssrc <= 3; ssrc++)
    {
      n = make_rtp (buf, 1, ssrc, 10);
      g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpint (bf_media_srtp_unprotect (b, FALSE, buf, &n), ==, BF_MEDIA_SRTP_OK);
    }
  n = make_rtp (buf, 1, 99, 10);
  g_assert_cmpint (bf_media_srtp_protect (a, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_SSRC_LIMIT);
  /* A forged packet with a new SSRC does not take a slot on b. */
  BfMediaSrtp *c, *d;
  srtp_pair (profile, 2, &c, &d);
  for (guint32 ssrc = 1000; ssrc < 1100; ssrc++)
    {
      n = make_rtp (buf, 7, ssrc, 40);
      n += 16;
      g_assert_cmpint (bf_media_srtp_unprotect (d, FALSE, buf, &n), ==, BF_MEDIA_SRTP_AUTH_FAIL);
    }
  for (guint32 ssrc = 1; ssrc <= 2; ssrc++)
    {
      n = make_rtp (buf, 1, ssrc, 10);
      g_assert_cmpint (bf_media_srtp_protect (c, FALSE, buf, &n, sizeof buf), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpint (bf_media_srtp_unprotect (d, FALSE, buf, &n), ==, BF_MEDIA_SRTP_OK);
    }

  bf_media_srtp_free (a);
  bf_media_srtp_free (b);
  bf_media_srtp_free (c);
  bf_media_srtp_free (d);
}


/* --- DTLS in memory (no ICE): two associations wired to each other --- */

typedef struct _Side Side;
struct _Side {
  const char *name;
  BfMediaDtls *d;
  Side *peer;
  GQueue q;                 /* datagrams for this side */
  guint drop_out;           /* lose this many of our next datagrams */
  guint sent;
  gboolean up, failed;
  GError *error;
  BfMediaDtlsKeys keys;
  GBytes *last_sent;        /* our latest datagram (test_dtls_release) */
};

static void
side_send (const guint8 *data, gsize len, gpointer user_data)
{
  Side *s = user_data;
  s->sent++;
  g_assert_cmpuint (len, <=, 1200);
  g_clear_pointer (&s->last_sent, g_bytes_unref);
  s->last_sent = g_bytes_new (data, len);
  if (s->drop_out > 0)
    {
      s->drop_out--;
      return;
    }
  g_queue_push_tail (&s->peer->q, g_bytes_new (data, len));
}

static void
side_connected (const BfMediaDtlsKeys *keys, gpointer user_data)
{
  Side *s = user_data;
  s->up = TRUE;
  s->keys = *keys;
}

static void
side_failed (const GError *error, gpointer user_data)
{
  Side *s = user_data;
  g_assert_false (s->failed);
  s->failed = TRUE;
  s->error = g_error_copy (error);
  g_test_message ("%s: %s", s->name, error->message);
}

static const BfMediaDtlsCallbacks side_callbacks = { side_send, side_connected, side_failed };

static gboolean
unit_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Delivers queued datagrams and runs the timers until @done or 5 s. */
static void
pump (Side *a, Side *b, gboolean (*done) (Side *, Side *))
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint id = g_timeout_add (1, unit_tick, NULL);
  while (!done (a, b) && g_get_monotonic_time () < end)
    {
      gboolean any = FALSE;
      Side *sides[] = { a, b };
      for (int i = 0; i < 2; i++)
        {
          GBytes *x;
          while ((x = g_queue_pop_head (&sides[i]->q)) != NULL)
            {
              gsize n;
              const guint8 *d = g_bytes_get_data (x, &n);
              bf_media_dtls_receive (sides[i]->d, d, n);
              g_bytes_unref (x);
              any = TRUE;
            }
        }
      if (!any)
        g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (id);
}

static gboolean
settled (Side *a, Side *b)
{
  return (a->up || a->failed) && (b->up || b->failed);
}

static gboolean
queues_empty (Side *a, Side *b)
{
  return g_queue_is_empty (&a->q) && g_queue_is_empty (&b->q);
}

typedef struct {
  BfMediaCert *ca, *cb;
  Side a, b;       /* a: client (active), b: server (passive) */
} DtlsPair;

static void
dtls_pair_init (DtlsPair *p, const BfMediaSrtpProfile *client_profiles, guint n_client,
                const BfMediaSrtpProfile *server_profiles, guint n_server, guint client_loss)
{
  g_autoptr (GError) error = NULL;
  memset (p, 0, sizeof *p);
  p->ca = bf_media_cert_new (0, &error);
  p->cb = bf_media_cert_new (0, &error);
  g_assert_no_error (error);
  p->a.name = "client";
  p->b.name = "server";
  p->a.peer = &p->b;
  p->b.peer = &p->a;
  g_queue_init (&p->a.q);
  g_queue_init (&p->b.q);
  p->a.drop_out = client_loss;

  BfMediaDtlsParams pa = { .setup = BF_MEDIA_DTLS_SETUP_ACTIVE, .n_profiles = n_client,
                           .handshake_timeout_ms = 4000, .retransmit_ms = 50, .mtu = 1200 };
  memcpy (pa.profiles, client_profiles, n_client * sizeof *client_profiles);
  BfMediaDtlsParams pb = { .setup = BF_MEDIA_DTLS_SETUP_PASSIVE, .n_profiles = n_server,
                           .handshake_timeout_ms = 4000, .retransmit_ms = 50, .mtu = 1200 };
  memcpy (pb.profiles, server_profiles, n_server * sizeof *server_profiles);
  p->a.d = bf_media_dtls_new (p->ca, &pa, "sha-256", bf_media_cert_get_fingerprint (p->cb), NULL,
                              &side_callbacks, &p->a, &error);
  g_assert_no_error (error);
  p->b.d = bf_media_dtls_new (p->cb, &pb, "sha-256", bf_media_cert_get_fingerprint (p->ca), NULL,
                              &side_callbacks, &p->b, &error);
  g_assert_no_error (error);
  bf_media_dtls_start (p->b.d);
  bf_media_dtls_start (p->a.d);
  pump (&p->a, &p->b, settled);
}

static void
dtls_pair_clear (DtlsPair *p)
{
  Side *sides[] = { &p->a, &p->b };
  for (int i = 0; i < 2; i++)
    {
      bf_media_dtls_free (sides[i]->d);
      g_queue_clear_full (&sides[i]->q, (GDestroyNotify) g_bytes_unref);
      g_clear_error (&sides[i]->error);
      g_clear_pointer (&sides[i]->last_sent, g_bytes_unref);
    }
  bf_media_cert_unref (p->ca);
  bf_media_cert_unref (p->cb);
}

static const BfMediaSrtpProfile both_profiles[] = { BF_MEDIA_SRTP_AEAD_AES_128_GCM,
                                                    BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80 };
static const BfMediaSrtpProfile gcm_only[] = { BF_MEDIA_SRTP_AEAD_AES_128_GCM };
static const BfMediaSrtpProfile cm_only[] = { BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80 };

static void
check_keys (DtlsPair *p, BfMediaSrtpProfile want)
{
  g_assert_true (p->a.up && p->b.up);
  g_assert_cmpint (p->a.keys.profile, ==, want);
  g_assert_cmpint (p->b.keys.profile, ==, want);
  gsize k = p->a.keys.key_len, s = p->a.keys.salt_len;
  g_assert_cmpuint (k, ==, 16);
  g_assert_cmpuint (s, ==, want == BF_MEDIA_SRTP_AEAD_AES_128_GCM ? 12 : 14);
  /* RFC 5764 §4.2: what one side writes with, the other reads with. */
  g_assert_true (memcmp (p->a.keys.local_key, p->b.keys.remote_key, k) == 0);
  g_assert_true (memcmp (p->a.keys.remote_key, p->b.keys.local_key, k) == 0);
  g_assert_true (memcmp (p->a.keys.local_salt, p->b.keys.remote_salt, s) == 0);
  g_assert_true (memcmp (p->a.keys.remote_salt, p->b.keys.local_salt, s) == 0);
  g_assert_true (memcmp (p->a.keys.local_key, p->a.keys.remote_key, k) != 0);
  g_assert_true (bf_media_dtls_is_connected (p->a.d));
}

static void
test_dtls_profiles (void)
{
  DtlsPair p;
  dtls_pair_init (&p, both_profiles, 2, both_profiles, 2, 0);
  check_keys (&p, BF_MEDIA_SRTP_AEAD_AES_128_GCM);
  dtls_pair_clear (&p);

  dtls_pair_init (&p, both_profiles, 2, cm_only, 1, 0);
  check_keys (&p, BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80);
  dtls_pair_clear (&p);

  dtls_pair_init (&p, cm_only, 1, both_profiles, 2, 0);
  check_keys (&p, BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80);
  dtls_pair_clear (&p);

  /* Nothing in common: use_srtp is not negotiated, both refuse. */
  dtls_pair_init (&p, gcm_only, 1, cm_only, 1, 0);
  g_assert_true (p.a.failed && p.b.failed);
  g_assert_error (p.a.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_HANDSHAKE);
  g_assert_error (p.b.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_HANDSHAKE);
  dtls_pair_clear (&p);
}

static void
test_dtls_retransmit (void)
{
  /* The client's first three datagrams are lost: its retransmission timer
   * (50 ms, doubling) on the context must carry the handshake through. */
  DtlsPair p;
  gint64 t0 = g_get_monotonic_time ();
  dtls_pair_init (&p, both_profiles, 2, both_profiles, 2, 3);
  check_keys (&p, BF_MEDIA_SRTP_AEAD_AES_128_GCM);
  g_test_message ("handshake with 3 lost datagrams: %.0f ms, client sent %u datagrams",
                  (g_get_monotonic_time () - t0) / 1000.0, p.a.sent);
  g_assert_cmpuint (p.a.sent, >=, 5);
  dtls_pair_clear (&p);

  /* Everything lost: the handshake deadline fires. */
  dtls_pair_init (&p, both_profiles, 2, both_profiles, 2, 1000);
  g_assert_true (p.a.failed);
  g_assert_error (p.a.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_TIMEOUT);
  dtls_pair_clear (&p);
}

static gsize
random_records (guint8 *buf, gsize cap)
{
  gsize off = 0;
  guint n = (guint) g_random_int_range (1, 4);
  for (guint r = 0; r < n; r++)
    {
      gsize body = (gsize) g_random_int_range (0, g_random_boolean () ? 40 : 400);
      if (off + 13 + body > cap)
        break;
      guint8 *h = buf + off;
      for (gsize i = 0; i < 13 + body; i++)
        h[i] = (guint8) g_random_int_range (0, 256);
      h[0] = (guint8) g_random_int_range (20, 26);
      h[1] = 254;
      h[2] = g_random_boolean () ? 253 : 255;
      h[3] = 0;
      h[4] = (guint8) g_random_int_range (0, 4);
      h[11] = (guint8) (body >> 8);
      h[12] = (guint8) body;
      off += 13 + body;
    }
  return off;
}

/* Forged datagrams on an established association (what an attacker who
 * can spoof the validated address can send): none may end it. */
static void
test_dtls_garbage (void)
{
  DtlsPair p;
  dtls_pair_init (&p, both_profiles, 2, both_profiles, 2, 0);
  check_keys (&p, BF_MEDIA_SRTP_AEAD_AES_128_GCM);
  guint8 buf[1500];
  guint accepted = 0, refused = 0;
  for (guint i = 0; i < 4000; i++)
    {
      Side *target = i % 2 ? &p.a : &p.b;
      gsize n;
      if (i % 5 == 0)
        {
          n = (gsize) g_random_int_range (1, 600);
          for (gsize j = 0; j < n; j++)
            buf[j] = (guint8) g_random_int_range (0, 256);
          buf[0] = (guint8) g_random_int_range (20, 64);
        }
      else
        n = random_records (buf, sizeof buf);
      if (bf_media_dtls_receive (target->d, buf, n))
        accepted++;
      else
        refused++;
      pump (&p.a, &p.b, queues_empty);
    }
  g_test_message ("4000 forged datagrams after the handshake: %u went to OpenSSL, %u refused "
                  "by framing", accepted, refused);
  g_assert_false (p.a.failed || p.b.failed);
  g_assert_true (bf_media_dtls_is_connected (p.a.d) && bf_media_dtls_is_connected (p.b.d));

  /* A real close_notify still ends it. */
  bf_media_dtls_close (p.a.d);
  pump (&p.a, &p.b, queues_empty);
  g_assert_true (p.b.failed);
  g_assert_error (p.b.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CLOSED);
  dtls_pair_clear (&p);
}

/* After the handshake OpenSSL's state goes (bf_media_dtls_confirm): the
 * client's at once (the server sent the last flight), the server's once
 * the peer proved it has that flight.  Retransmitted flights are then
 * dropped unanswered, forged records change nothing, and close_notify
 * still leaves and is still authenticated, both ways. */
static void
test_dtls_release (void)
{
  for (int closer = 0; closer < 2; closer++)
    {
      DtlsPair p;
      dtls_pair_init (&p, both_profiles, 2, both_profiles, 2, 0);
      check_keys (&p, BF_MEDIA_SRTP_AEAD_AES_128_GCM);
      g_assert_true (bf_media_dtls_is_released (p.a.d));
      g_assert_false (bf_media_dtls_is_released (p.b.d));
      g_autoptr (GBytes) client_finished = g_bytes_ref (p.a.last_sent);
      g_autoptr (GBytes) server_finished = g_bytes_ref (p.b.last_sent);

      /* Before the proof a duplicate still reaches OpenSSL. */
      gsize n;
      const guint8 *x = g_bytes_get_data (client_finished, &n);
      g_assert_true (bf_media_dtls_receive (p.b.d, x, n));
      g_queue_clear_full (&p.a.q, (GDestroyNotify) g_bytes_unref);

      bf_media_dtls_confirm (p.b.d);
      g_assert_true (bf_media_dtls_is_released (p.b.d));

      /* Now neither answers a stale flight, and neither ends. */
      guint sent = p.b.sent;
      g_assert_false (bf_media_dtls_receive (p.b.d, x, n));
      g_assert_cmpuint (p.b.sent, ==, sent);
      x = g_bytes_get_data (server_finished, &n);
      sent = p.a.sent;
      g_assert_false (bf_media_dtls_receive (p.a.d, x, n));
      g_assert_cmpuint (p.a.sent, ==, sent);

      /* Forged records, an alert with a bad tag among them. */
      guint8 buf[1500];
      for (guint i = 0; i < 1000; i++)
        {
          n = random_records (buf, sizeof buf);
          if (i % 3 == 0)
            buf[0] = 21;
          bf_media_dtls_receive (i % 2 ? p.a.d : p.b.d, buf, n);
        }
      g_assert_false (p.a.failed || p.b.failed);
      g_assert_true (bf_media_dtls_is_connected (p.a.d) && bf_media_dtls_is_connected (p.b.d));

      /* close_notify, built at release, authenticated by the other side. */
      Side *from = closer ? &p.b : &p.a, *to = closer ? &p.a : &p.b;
      bf_media_dtls_close (from->d);
      g_assert_cmpuint (g_queue_get_length (&to->q), ==, 1);
      pump (&p.a, &p.b, queues_empty);
      g_assert_true (to->failed);
      g_assert_error (to->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CLOSED);
      g_assert_false (from->failed);
      dtls_pair_clear (&p);
    }
}

static void
test_dtls_wrong_fingerprint (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfMediaCert) c = bf_media_cert_new (0, &error);
  BfMediaDtlsParams params = { .setup = BF_MEDIA_DTLS_SETUP_ACTIVE, .n_profiles = 1,
                               .profiles = { BF_MEDIA_SRTP_AEAD_AES_128_GCM } };
  Side s = { .name = "x" };
  g_assert_null (bf_media_dtls_new (c, &params, "sha-256", "00:11", NULL, &side_callbacks, &s,
                                    &error));
  g_assert_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID);
  g_clear_error (&error);
  params.setup = BF_MEDIA_DTLS_SETUP_UNKNOWN;
  g_assert_null (bf_media_dtls_new (c, &params, "sha-256", bf_media_cert_get_fingerprint (c), NULL,
                                    &side_callbacks, &s, &error));
  g_assert_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID);
  g_clear_error (&error);
  params.setup = BF_MEDIA_DTLS_SETUP_ACTIVE;
  params.n_profiles = 0;
  g_assert_null (bf_media_dtls_new (c, &params, "sha-256", bf_media_cert_get_fingerprint (c), NULL,
                                    &side_callbacks, &s, &error));
  g_assert_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID);
}

/* One SSL_CTX per certificate and profile list (bf_media_cert_get_dtls_ctx),
 * yet each association checks its own peer's fingerprint. */
static guint ctx_builds;

static SSL_CTX *
count_build (BfMediaCert *cert, const char *key, GError **error)
{
  ctx_builds++;
  return SSL_CTX_new (DTLS_method ());
}

static void
dtls_side_init (Side *s, const char *name, Side *peer, BfMediaCert *own, BfMediaCert *expected,
                BfMediaDtlsSetup setup)
{
  g_autoptr (GError) error = NULL;
  memset (s, 0, sizeof *s);
  s->name = name;
  s->peer = peer;
  g_queue_init (&s->q);
  BfMediaDtlsParams params = { .setup = setup, .n_profiles = 1,
                               .profiles = { BF_MEDIA_SRTP_AEAD_AES_128_GCM },
                               .handshake_timeout_ms = 4000, .retransmit_ms = 50, .mtu = 1200 };
  s->d = bf_media_dtls_new (own, &params, "sha-256", bf_media_cert_get_fingerprint (expected),
                            NULL, &side_callbacks, s, &error);
  g_assert_no_error (error);
}

static void
dtls_side_clear (Side *s)
{
  bf_media_dtls_free (s->d);
  g_queue_clear_full (&s->q, (GDestroyNotify) g_bytes_unref);
  g_clear_error (&s->error);
  g_clear_pointer (&s->last_sent, g_bytes_unref);
}

static void
test_dtls_shared_ctx (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfMediaCert) server = bf_media_cert_new (0, &error);
  g_autoptr (BfMediaCert) c1 = bf_media_cert_new (0, &error);
  g_autoptr (BfMediaCert) c2 = bf_media_cert_new (0, &error);
  g_assert_no_error (error);

  /* The cache: built once per key, a new reference each time; beyond
   * BF_MEDIA_CERT_MAX_CTX keys every call builds its own. */
  SSL_CTX *x = bf_media_cert_get_dtls_ctx (c1, "A", count_build, &error);
  SSL_CTX *y = bf_media_cert_get_dtls_ctx (c1, "A", count_build, &error);
  g_assert_true (x != NULL && x == y);
  g_assert_cmpuint (ctx_builds, ==, 1);
  SSL_CTX *z = bf_media_cert_get_dtls_ctx (c1, "B", count_build, &error);
  g_assert_true (z != NULL && z != x);
  g_assert_cmpuint (ctx_builds, ==, 2);
  SSL_CTX_free (x);
  SSL_CTX_free (y);
  SSL_CTX_free (z);
  for (guint i = 0; i < BF_MEDIA_CERT_MAX_CTX; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i);
      SSL_CTX_free (bf_media_cert_get_dtls_ctx (c2, key, count_build, &error));
    }
  ctx_builds = 0;
  x = bf_media_cert_get_dtls_ctx (c2, "over", count_build, &error);
  y = bf_media_cert_get_dtls_ctx (c2, "over", count_build, &error);
  g_assert_true (x != NULL && y != NULL && x != y);
  g_assert_cmpuint (ctx_builds, ==, 2);
  SSL_CTX_free (x);
  SSL_CTX_free (y);
  g_assert_no_error (error);

  /* Two associations on the server's certificate (one context), both
   * expecting c1: c1's handshake completes, c2's fails on the fingerprint. */
  Side a1, b1, a2, b2;
  dtls_side_init (&a1, "client 1", &b1, c1, server, BF_MEDIA_DTLS_SETUP_ACTIVE);
  dtls_side_init (&b1, "server 1", &a1, server, c1, BF_MEDIA_DTLS_SETUP_PASSIVE);
  dtls_side_init (&a2, "client 2", &b2, c2, server, BF_MEDIA_DTLS_SETUP_ACTIVE);
  dtls_side_init (&b2, "server 2", &a2, server, c1, BF_MEDIA_DTLS_SETUP_PASSIVE);
  bf_media_dtls_start (b1.d);
  bf_media_dtls_start (b2.d);
  bf_media_dtls_start (a1.d);
  bf_media_dtls_start (a2.d);
  pump (&a1, &b1, settled);
  pump (&a2, &b2, settled);
  g_assert_true (a1.up && b1.up);
  g_assert_true (b2.failed);
  g_assert_error (b2.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_FINGERPRINT_MISMATCH);

  /* The record buffers were freed after the handshake: close_notify still
   * leaves and ends the peer's side. */
  bf_media_dtls_close (a1.d);
  pump (&a1, &b1, queues_empty);
  g_assert_true (b1.failed);
  g_assert_error (b1.error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CLOSED);

  dtls_side_clear (&a1);
  dtls_side_clear (&b1);
  dtls_side_clear (&a2);
  dtls_side_clear (&b2);
}

/* --- consent STUN (ice-consent.c): no StunAgent kept per pair --- */

static BfIceStunResult
consent_feed (BfIceConsent *to, const guint8 *data, gsize len, guint8 *reply, gsize *reply_len)
{
  struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons (40000),
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  *reply_len = 0;
  return bf_ice_consent_handle (to, data, len, (const struct sockaddr *) &from, sizeof from,
                                reply, reply_len);
}

static void
test_consent (void)
{
  const char *apwd = "alicePassword0123456789", *bpwd = "bobPassword0123456789ab";
  BfIceConsent *a = bf_ice_consent_new ("aaaa", apwd, "bbbb", bpwd, TRUE, 100);
  BfIceConsent *b = bf_ice_consent_new ("bbbb", bpwd, "aaaa", apwd, FALSE, 100);
  BfIceConsent *other = bf_ice_consent_new ("aaaa", apwd, "bbbb", bpwd, TRUE, 100);
  guint8 req[5][1280], resp[5][1280], buf[1280];
  gsize req_len[5], resp_len[5], n;

  /* A request is answered; the answer is consent once, then forgotten. */
  req_len[0] = bf_ice_consent_build_request (a, req[0], sizeof req[0]);
  g_assert_cmpuint (req_len[0], >, 20);
  g_assert_cmpint (consent_feed (b, req[0], req_len[0], resp[0], &resp_len[0]), ==,
                   BF_ICE_STUN_REPLY);
  g_assert_cmpint (consent_feed (a, resp[0], resp_len[0], buf, &n), ==, BF_ICE_STUN_CONSENT);
  g_assert_cmpint (consent_feed (a, resp[0], resp_len[0], buf, &n), ==, BF_ICE_STUN_IGNORED);

  /* Another pair's transaction is not ours. */
  req_len[0] = bf_ice_consent_build_request (other, req[0], sizeof req[0]);
  consent_feed (b, req[0], req_len[0], resp[0], &resp_len[0]);
  g_assert_cmpint (consent_feed (a, resp[0], resp_len[0], buf, &n), ==, BF_ICE_STUN_IGNORED);

  /* Five requests out: the oldest was given up, the others still count. */
  for (int i = 0; i < 5; i++)
    {
      req_len[i] = bf_ice_consent_build_request (a, req[i], sizeof req[i]);
      g_assert_cmpint (consent_feed (b, req[i], req_len[i], resp[i], &resp_len[i]), ==,
                       BF_ICE_STUN_REPLY);
    }
  g_assert_cmpint (consent_feed (a, resp[0], resp_len[0], buf, &n), ==, BF_ICE_STUN_IGNORED);
  for (int i = 1; i < 5; i++)
    g_assert_cmpint (consent_feed (a, resp[i], resp_len[i], buf, &n), ==, BF_ICE_STUN_CONSENT);

  /* A response keyed with another password fails its integrity check. */
  BfIceConsent *wrong = bf_ice_consent_new ("bbbb", "notBobsPassword01234567", "aaaa", apwd,
                                            FALSE, 100);
  req_len[0] = bf_ice_consent_build_request (a, req[0], sizeof req[0]);
  g_assert_cmpint (consent_feed (wrong, req[0], req_len[0], resp[0], &resp_len[0]), ==,
                   BF_ICE_STUN_IGNORED);
  g_assert_cmpint (consent_feed (b, req[0], req_len[0], resp[0], &resp_len[0]), ==,
                   BF_ICE_STUN_REPLY);
  resp[0][resp_len[0] - 30] ^= 1;     /* inside MESSAGE-INTEGRITY */
  g_assert_cmpint (consent_feed (a, resp[0], resp_len[0], buf, &n), !=, BF_ICE_STUN_CONSENT);

  bf_ice_consent_free (a);
  bf_ice_consent_free (b);
  bf_ice_consent_free (other);
  bf_ice_consent_free (wrong);
}

/* --- [media] --- */

static gboolean
read_media (const char *text, BfMediaConfig *out, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, NULL));
  BfConfig config = { .path = (char *) "media-test.conf", .keyfile = kf };
  g_autoptr (BfConfigGroup) group = bf_config_group_new (&config, "media");
  if (!bf_media_config_read (out, group, error))
    return FALSE;
  return bf_config_group_check_unknown (group, error);
}

static void
test_config (void)
{
  BfMediaConfig c;
  bf_media_config_init (&c);
  g_autoptr (GError) error = NULL;
  g_assert_true (read_media ("[media]\n", &c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.workers, ==, 0);
  g_assert_null (c.addresses[0]);
  g_assert_cmpuint (c.n_srtp_profiles, ==, 2);
  g_assert_cmpint (c.srtp_profiles[0], ==, BF_MEDIA_SRTP_AEAD_AES_128_GCM);
  g_assert_true (c.consent_freshness);
  g_assert_cmpuint (c.consent_timeout_ms, ==, 30000);

  g_assert_true (read_media ("[media]\nworkers = 3\naddresses = 127.0.0.1; ::1\n"
                             "port-range = 40000-40100\n"
                             "stun = 192.0.2.1:19302\n"
                             "turn = turn:u:p@192.0.2.2:3478\n"
                             "srtp-profiles = AES_CM_128_HMAC_SHA1_80\n"
                             "ice-timeout = 5\ndtls-timeout = 3\nconsent-freshness = false\n"
                             "consent-timeout = 12\n"
                             "max-ssrcs = 8\n", &c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.workers, ==, 3);
  g_assert_cmpstr (c.addresses[0], ==, "127.0.0.1");
  g_assert_cmpstr (c.addresses[1], ==, "::1");
  g_assert_cmpuint (c.port_min, ==, 40000);
  g_assert_cmpuint (c.port_max, ==, 40100);
  g_assert_cmpstr (c.stun_server, ==, "192.0.2.1");
  g_assert_cmpuint (c.stun_port, ==, 19302);
  g_assert_cmpstr (c.turn_server, ==, "192.0.2.2");
  g_assert_cmpstr (c.turn_username, ==, "u");
  g_assert_cmpstr (c.turn_password, ==, "p");
  g_assert_cmpuint (c.n_srtp_profiles, ==, 1);
  g_assert_cmpint (c.srtp_profiles[0], ==, BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80);
  g_assert_cmpuint (c.ice_timeout_ms, ==, 5000);
  g_assert_cmpuint (c.dtls_timeout_ms, ==, 3000);
  g_assert_false (c.consent_freshness);
  g_assert_cmpuint (c.consent_timeout_ms, ==, 12000);
  g_assert_cmpuint (c.max_ssrcs, ==, 8);
  g_assert_cmpuint (c.n_allow_peer_networks, ==, 0);
  g_assert_false (c.shared_port_set);

  /* The shared port (opt-in). */
  g_assert_true (read_media ("[media]\nworkers = 2\nshared-port = 65534\n", &c, &error));
  g_assert_no_error (error);
  g_assert_true (c.shared_port_set);
  g_assert_cmpuint (c.shared_port, ==, 65534);
  g_assert_true (read_media ("[media]\nworkers = 2\nshared-port = 0\n", &c, &error));
  g_assert_no_error (error);
  g_assert_true (c.shared_port_set);
  g_assert_cmpuint (c.shared_port, ==, 0);
  g_assert_true (read_media ("[media]\nworkers = 2\n", &c, &error));
  g_assert_false (c.shared_port_set);

  /* The candidate policy's widening (addr-policy.h). */
  g_assert_true (read_media ("[media]\naddresses = 198.51.100.7\n"
                             "allow-peer-networks = 10.0.0.0/8; fd00::/8\n", &c, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.n_allow_peer_networks, ==, 2);
  BfAddrPolicy policy;
  bf_media_config_peer_policy (&c, &policy);
  g_assert_cmpint (bf_addr_policy_check (&policy, "10.9.9.9", 40000, NULL), ==,
                   BF_ADDR_VERDICT_ALLOWED);
  g_assert_cmpint (bf_addr_policy_check (&policy, "192.168.0.1", 40000, NULL), ==,
                   BF_ADDR_VERDICT_SCOPE);
  g_assert_cmpint (bf_addr_policy_check (&policy, "127.0.0.1", 40000, NULL), ==,
                   BF_ADDR_VERDICT_SCOPE);

  static const char *const bad[] = {
    "[media]\nallow-peer-networks = 10.1.2.3/8\n",
    "[media]\nallow-peer-networks = 10.0.0.0/33\n",
    "[media]\nallow-peer-networks = 10.0.0.0/8;intranet\n",
    "[media]\nallow-peer-networks = "
    "1.0.0.0/8;2.0.0.0/8;3.0.0.0/8;4.0.0.0/8;5.0.0.0/8;6.0.0.0/8;7.0.0.0/8;8.0.0.0/8;"
    "9.0.0.0/8;10.0.0.0/8;11.0.0.0/8;12.0.0.0/8;13.0.0.0/8;14.0.0.0/8;15.0.0.0/8;16.0.0.0/8;"
    "17.0.0.0/8;18.0.0.0/8;19.0.0.0/8;20.0.0.0/8;21.0.0.0/8;22.0.0.0/8;23.0.0.0/8;24.0.0.0/8;"
    "25.0.0.0/8;26.0.0.0/8;27.0.0.0/8;28.0.0.0/8;29.0.0.0/8;30.0.0.0/8;31.0.0.0/8;32.0.0.0/8;"
    "33.0.0.0/8\n",
    "[media]\naddresses = eth0\n",
    "[media]\naddresses = 127.0.0.1;example.org\n",
    "[media]\nworkers = -1\n",
    "[media]\nconsent-timeout = 31\n",   /* RFC 7675 §5.1: 30 s at most */
    "[media]\nconsent-timeout = 4\n",
    "[media]\nport-range = 5000\n",
    "[media]\nport-range = 6000-5000\n",
    "[media]\nport-range = 0-5000\n",
    "[media]\nstun = stun.example.org:3478\n",
    "[media]\nstun = 192.0.2.1:99999\n",
    "[media]\nturn = 192.0.2.2\n",
    "[media]\nturn = turn:user@192.0.2.2:3478\n",
    "[media]\nturn = turn:u:p@turn.example.org:3478\n",
    "[media]\nsrtp-profiles = NULL_HMAC_SHA1_80\n",
    "[media]\nsrtp-profiles = AEAD_AES_128_GCM;AEAD_AES_128_GCM\n",
    "[media]\nice-timeout = 0\n",
    "[media]\nstun-initial-timeout-ms = 5\n",
    "[media]\nmystery = 1\n",
    "[media]\nshared-port = 40000\nport-range = 40000-40100\n",
    "[media]\nshared-port = 0\nstun = 192.0.2.1\n",
    "[media]\nshared-port = 0\nturn = turn:u:p@192.0.2.2:3478\n",
    "[media]\nworkers = 3\nshared-port = 65534\n",
    "[media]\nshared-port = 65536\n",
    "[media]\nshared-port = -1\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      BfMediaConfig fresh;
      bf_media_config_init (&fresh);
      g_assert_false (read_media (bad[i], &fresh, &e));
      g_assert_nonnull (e);
      g_test_message ("%s", e->message);
      g_assert_nonnull (strstr (e->message, "media-test.conf"));
      g_assert_nonnull (strstr (e->message, "[media]"));
      if (strstr (bad[i], "allow-peer-networks"))
        g_assert_nonnull (strstr (e->message, "allow-peer-networks"));
      if (strstr (bad[i], "shared-port"))
        g_assert_nonnull (strstr (e->message, "shared-port"));
      /* Left as it was. */
      g_assert_null (fresh.addresses[0]);
      g_assert_cmpuint (fresh.n_srtp_profiles, ==, 2);
      bf_media_config_clear (&fresh);
    }
  bf_media_config_clear (&c);
}

/* --- workers --- */

typedef struct {
  BfMediaWorker *worker;
  GThread *thread;
  GArray *order;
  gint *destroyed;
} Job;

static void
job_run (gpointer data)
{
  Job *j = data;
  g_assert_true (bf_media_worker_is_current (j->worker));
  g_assert_true (g_main_context_get_thread_default () == bf_media_worker_get_context (j->worker));
  j->thread = g_thread_self ();
}

static void
job_destroy (gpointer data)
{
  Job *j = data;
  g_atomic_int_inc (j->destroyed);
}

static void
record (gpointer data)
{
  Job *j = data;
  guint v = j->order->len;
  g_array_append_val (j->order, v);
}

static void
test_worker (void)
{
  g_autoptr (GError) error = NULL;
  BfMediaWorker *w = bf_media_worker_new ("bf-media-test", &error);
  g_assert_no_error (error);
  g_assert_false (bf_media_worker_is_current (w));

  gint destroyed = 0;
  Job j = { .worker = w, .destroyed = &destroyed, .order = g_array_new (FALSE, FALSE, sizeof (guint)) };
  bf_media_worker_invoke (w, job_run, &j, job_destroy);
  for (guint i = 0; i < 100; i++)
    bf_media_worker_invoke (w, record, &j, NULL);
  bf_media_worker_free (w);     /* runs everything posted before it */
  g_assert_cmpint (destroyed, ==, 1);
  g_assert_nonnull (j.thread);
  g_assert_true (j.thread != g_thread_self ());
  g_assert_cmpuint (j.order->len, ==, 100);
  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (g_array_index (j.order, guint, i), ==, i);
  g_array_unref (j.order);
}

static void
test_pool (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfMediaPool) def = bf_media_pool_new (0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bf_media_pool_get_size (def), ==, g_get_num_processors ());

  g_autoptr (BfMediaPool) pool = bf_media_pool_new (3, &error);
  g_assert_no_error (error);
  BfMediaWorker *got[6];
  for (guint i = 0; i < 6; i++)
    got[i] = bf_media_pool_acquire (pool);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (bf_media_worker_get_load (bf_media_pool_get_worker (pool, i)), ==, 2);
  /* Release two on worker 1: it is the least loaded now. */
  BfMediaWorker *w1 = bf_media_pool_get_worker (pool, 1);
  bf_media_worker_release (w1);
  bf_media_worker_release (w1);
  g_assert_true (bf_media_pool_acquire (pool) == w1);
  g_assert_true (bf_media_pool_acquire (pool) == w1);
  bf_media_worker_acquire (w1);   /* a second leg on the same worker */
  g_assert_cmpuint (bf_media_worker_get_load (w1), ==, 3);
  bf_media_worker_release (w1);
  for (guint i = 0; i < 6; i++)
    if (got[i] != w1)
      bf_media_worker_release (got[i]);
  bf_media_worker_release (w1);
  bf_media_worker_release (w1);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (bf_media_worker_get_load (bf_media_pool_get_worker (pool, i)), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/media/cert", test_cert);
  g_test_add_func ("/media/fingerprint-parse", test_fingerprint_parse);
  g_test_add_func ("/media/setup-roles", test_setup_roles);
  g_test_add_data_func ("/media/srtp/gcm", GINT_TO_POINTER (BF_MEDIA_SRTP_AEAD_AES_128_GCM),
                        test_srtp_profile);
  g_test_add_data_func ("/media/srtp/aes-cm",
                        GINT_TO_POINTER (BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80), test_srtp_profile);
  g_test_add_func ("/media/dtls/profiles", test_dtls_profiles);
  g_test_add_func ("/media/dtls/retransmit", test_dtls_retransmit);
  g_test_add_func ("/media/dtls/garbage", test_dtls_garbage);
  g_test_add_func ("/media/dtls/release", test_dtls_release);
  g_test_add_func ("/media/dtls/bad-arguments", test_dtls_wrong_fingerprint);
  g_test_add_func ("/media/dtls/shared-ctx", test_dtls_shared_ctx);
  g_test_add_func ("/media/consent", test_consent);
  g_test_add_func ("/media/config", test_config);
  g_test_add_func ("/media/worker", test_worker);
  g_test_add_func ("/media/pool", test_pool);
  return g_test_run ();
}
