/* libFuzzer target: the records a DTLS association takes once it has
 * released its OpenSSL state (relay/media/dtls.c, bf_media_dtls_confirm):
 * from then on dtls.c itself frames every record and authenticates the
 * peer's alerts with the record key it kept, so that is our parser.
 *
 * One pair of associations (a client and a server, wired to each other in
 * memory) is set up once and released on both sides; a pair that ends
 * (an input that authenticates as the peer's close_notify can only be the
 * real one) is set up again.  Input: byte 0 picks the receiver (bit 0) and
 * whether the rest is fed as it is (bit 1 clear) or laid over the peer's
 * real close_notify record by XOR (bit 1 set: a valid header and length,
 * with the fuzzer's changes in the sealed part, the tag or the header);
 * the rest is one datagram.  Checked: no crash, no read past the datagram
 * (it is copied into a buffer of exactly its size), nothing sent back to a
 * stale or forged record, and an association that reports an end reports
 * it once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "dtls.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct _Side Side;
struct _Side {
  BfMediaDtls *d;
  Side *peer;
  GQueue q;
  guint sent, failed;
  gboolean up;
  GBytes *last_sent;
};

static struct {
  BfMediaCert *ca, *cb;
  Side a, b;               /* a: the client, b: the server */
  GBytes *close_from_a, *close_from_b;   /* each side's sealed close_notify */
  gboolean ready;
} pair;

static void
side_send (const guint8 *d, gsize len, gpointer user_data)
{
  Side *s = user_data;
  s->sent++;
  g_clear_pointer (&s->last_sent, g_bytes_unref);
  s->last_sent = g_bytes_new (d, len);
  g_queue_push_tail (&s->peer->q, g_bytes_new (d, len));
}

static void
side_connected (const BfMediaDtlsKeys *keys, gpointer user_data)
{
  ((Side *) user_data)->up = TRUE;
}

static void
side_failed (const GError *error, gpointer user_data)
{
  Side *s = user_data;
  if (++s->failed > 1)
    abort ();             /* an end is reported once */
}

static const BfMediaDtlsCallbacks callbacks = { side_send, side_connected, side_failed };

static void
deliver (void)
{
  for (guint round = 0; round < 64; round++)
    {
      gboolean any = FALSE;
      Side *sides[] = { &pair.a, &pair.b };
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
        return;
    }
}

static void
pair_clear (void)
{
  Side *sides[] = { &pair.a, &pair.b };
  for (int i = 0; i < 2; i++)
    {
      g_clear_pointer (&sides[i]->d, bf_media_dtls_free);
      g_queue_clear_full (&sides[i]->q, (GDestroyNotify) g_bytes_unref);
      g_clear_pointer (&sides[i]->last_sent, g_bytes_unref);
      sides[i]->sent = sides[i]->failed = 0;
      sides[i]->up = FALSE;
    }
  g_clear_pointer (&pair.close_from_a, g_bytes_unref);
  g_clear_pointer (&pair.close_from_b, g_bytes_unref);
  pair.ready = FALSE;
}

/* @from_client's side closes: its sealed close_notify, as sent. */
static GBytes *
capture_close (gboolean from_client)
{
  Side *from = from_client ? &pair.a : &pair.b;
  GBytes *rec;
  bf_media_dtls_close (from->d);
  rec = g_queue_pop_tail (&from->peer->q);
  return rec;
}

/* A fresh pair, handshaken and released on both sides.  With @capture, a
 * first pair is closed from both sides for its close_notify records. */
static gboolean
pair_setup (gboolean capture)
{
  g_autoptr (GError) error = NULL;
  BfMediaDtlsParams pa = { .setup = BF_MEDIA_DTLS_SETUP_ACTIVE, .n_profiles = 1,
                           .profiles = { BF_MEDIA_SRTP_AEAD_AES_128_GCM },
                           .handshake_timeout_ms = 4000, .retransmit_ms = 1000, .mtu = 1200 };
  BfMediaDtlsParams pb = pa;

  pb.setup = BF_MEDIA_DTLS_SETUP_PASSIVE;
  if (pair.ca == NULL)
    {
      pair.ca = bf_media_cert_new (0, &error);
      pair.cb = bf_media_cert_new (0, &error);
      if (pair.ca == NULL || pair.cb == NULL)
        abort ();
    }
  pair.a.peer = &pair.b;
  pair.b.peer = &pair.a;
  pair.a.d = bf_media_dtls_new (pair.ca, &pa, "sha-256", bf_media_cert_get_fingerprint (pair.cb),
                                NULL, &callbacks, &pair.a, &error);
  pair.b.d = bf_media_dtls_new (pair.cb, &pb, "sha-256", bf_media_cert_get_fingerprint (pair.ca),
                                NULL, &callbacks, &pair.b, &error);
  if (pair.a.d == NULL || pair.b.d == NULL)
    abort ();
  bf_media_dtls_start (pair.b.d);
  bf_media_dtls_start (pair.a.d);
  deliver ();
  if (!pair.a.up || !pair.b.up)
    abort ();
  bf_media_dtls_confirm (pair.b.d);
  if (!bf_media_dtls_is_released (pair.a.d) || !bf_media_dtls_is_released (pair.b.d))
    abort ();
  if (capture)
    {
      /* Each side's sealed close_notify, then a new pair for the inputs
       * (their record numbers and keys differ: the captured records stay
       * well-formed, never valid for the new pair, which the XOR mode
       * only needs as a realistic start). */
      GBytes *ca = capture_close (TRUE);
      GBytes *cb = capture_close (FALSE);
      pair_clear ();
      pair.close_from_a = ca;
      pair.close_from_b = cb;
      return pair_setup (FALSE);
    }
  pair.ready = TRUE;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static GBytes *close_a, *close_b;
  if (size < 1 || size > 1501)
    return 0;
  if (close_a == NULL)
    {
      pair_setup (TRUE);
      close_a = g_steal_pointer (&pair.close_from_a);
      close_b = g_steal_pointer (&pair.close_from_b);
      if (close_a == NULL || close_b == NULL)
        abort ();
    }
  if (!pair.ready)
    pair_setup (FALSE);

  Side *to = (data[0] & 1) ? &pair.b : &pair.a;
  gsize n = size - 1;
  guint8 *buf;
  if (data[0] & 2)
    {
      gsize cn;
      const guint8 *c = g_bytes_get_data (to == &pair.b ? close_a : close_b, &cn);
      n = MAX (n, cn);
      buf = g_malloc (n);
      memset (buf, 0, n);
      memcpy (buf, c, cn);
      for (gsize i = 0; i + 1 < size; i++)
        buf[i] ^= data[1 + i];
    }
  else
    buf = g_memdup2 (data + 1, n);

  guint sent_before = to->sent;
  gboolean taken = bf_media_dtls_receive (to->d, buf, n);
  (void) taken;
  /* A released association answers nothing. */
  if (to->sent != sent_before)
    abort ();
  g_free (buf);
  if (pair.a.failed || pair.b.failed)
    pair_clear ();
  return 0;
}
