/* belfry media: SRTP/SRTCP sessions over libsrtp2 (RFC 3711, RFC 7714).
 *
 * Debian's libsrtp2 does its crypto with NSS; AEAD_AES_128_GCM costs a
 * third of AES_CM_128_HMAC_SHA1_80 per packet there, hence the profile
 * order everywhere else.  */
#include "srtp-session.h"

#include <string.h>
#include <openssl/crypto.h>
#include <nss.h>
#include <srtp2/srtp.h>

G_STATIC_ASSERT (BF_MEDIA_SRTP_OVERHEAD >= SRTP_MAX_TRAILER_LEN + 4);

/* Replay window for RTP (RFC 3711 §3.3.2 leaves the size to us; libsrtp's
 * default of 128 is short for video bursts). */
#define REPLAY_WINDOW 1024

typedef struct {
  guint32 *ssrcs;
  guint n;
  guint max;
  guint last;     /* index of the last hit: one compare in the usual case */
} SsrcSet;

struct _BfMediaSrtp {
  BfMediaSrtpProfile profile;
  srtp_t tx;
  srtp_t rx;
  SsrcSet tx_ssrcs;
  SsrcSet rx_ssrcs;
};

gsize
bf_media_srtp_key_len (BfMediaSrtpProfile profile)
{
  switch (profile)
    {
    case BF_MEDIA_SRTP_AEAD_AES_128_GCM:
    case BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80:
      return 16;
    default:
      return 0;
    }
}

gsize
bf_media_srtp_salt_len (BfMediaSrtpProfile profile)
{
  switch (profile)
    {
    case BF_MEDIA_SRTP_AEAD_AES_128_GCM:
      return 12;            /* RFC 7714 §12 */
    case BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80:
      return 14;            /* RFC 3711 §8.2 */
    default:
      return 0;
    }
}

static gpointer
library_init_once (gpointer unused)
{
  /* Debian's libsrtp2 does its crypto through NSS and, finding NSS not
   * initialised, initialises it with NSS_NoDB_Init, which optimises for
   * space: the softoken then keeps its keys in 32 hash buckets, and an
   * SRTP packet's key lookup walks a chain that grows with every session
   * in the process (measured: 14 µs a packet with 2,000 sessions, 208 µs
   * with 8,000, against 0.8 µs with 100).  Initialised here first, without
   * that flag, it uses 1,024 buckets (3.3 µs at 2,000, 13 µs at 8,000). */
  if (!NSS_IsInitialized ()
      && NSS_Initialize ("", "", "", "",
                         NSS_INIT_READONLY | NSS_INIT_NOCERTDB | NSS_INIT_NOMODDB
                           | NSS_INIT_FORCEOPEN | NSS_INIT_NOROOTINIT) != SECSuccess)
    g_warning ("media: NSS_Initialize failed; libsrtp2 initialises NSS itself");
  return GINT_TO_POINTER ((gint) srtp_init ());
}

gboolean
bf_media_srtp_library_init (GError **error)
{
  /* libsrtp keeps one process-wide crypto kernel; initialise it once and
   * keep it for the process's life (no srtp_shutdown: other users may share
   * the library). */
  static GOnce once = G_ONCE_INIT;
  srtp_err_status_t st = (srtp_err_status_t) GPOINTER_TO_INT (g_once (&once, library_init_once, NULL));
  if (st != srtp_err_status_ok)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CRYPTO,
                   "srtp_init failed (libsrtp status %d)", (int) st);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ssrc_set_has (SsrcSet *set, guint32 ssrc)
{
  if (set->n > 0 && set->ssrcs[set->last] == ssrc)
    return TRUE;
  for (guint i = 0; i < set->n; i++)
    if (set->ssrcs[i] == ssrc)
      {
        set->last = i;
        return TRUE;
      }
  return FALSE;
}

static void
ssrc_set_add (SsrcSet *set, guint32 ssrc)
{
  if (set->n < set->max)
    {
      set->last = set->n;
      set->ssrcs[set->n++] = ssrc;
    }
}

static BfMediaSrtpStatus
map_status (srtp_err_status_t st)
{
  switch (st)
    {
    case srtp_err_status_ok:
      return BF_MEDIA_SRTP_OK;
    case srtp_err_status_auth_fail:
      return BF_MEDIA_SRTP_AUTH_FAIL;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return BF_MEDIA_SRTP_REPLAY;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      return BF_MEDIA_SRTP_MALFORMED;
    default:
      return BF_MEDIA_SRTP_FAILED;
    }
}

static gboolean
set_policy (srtp_policy_t *p, BfMediaSrtpProfile profile, guint8 *key_salt,
            gboolean inbound)
{
  memset (p, 0, sizeof *p);
  switch (profile)
    {
    case BF_MEDIA_SRTP_AEAD_AES_128_GCM:
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&p->rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&p->rtcp);
      break;
    case BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&p->rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&p->rtcp);
      break;
    default:
      return FALSE;
    }
  p->ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  p->key = key_salt;
  p->window_size = REPLAY_WINDOW;
  p->allow_repeat_tx = 0;
  p->next = NULL;
  return TRUE;
}

BfMediaSrtp *
bf_media_srtp_new (BfMediaSrtpProfile profile, const guint8 *tx_key, const guint8 *tx_salt,
                   const guint8 *rx_key, const guint8 *rx_salt, guint max_ssrcs,
                   GError **error)
{
  gsize klen = bf_media_srtp_key_len (profile), slen = bf_media_srtp_salt_len (profile);
  if (klen == 0 || max_ssrcs == 0 || max_ssrcs > 4096)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "bad SRTP parameters (profile %d, max_ssrcs %u)", profile, max_ssrcs);
      return NULL;
    }
  if (!bf_media_srtp_library_init (error))
    return NULL;

  /* libsrtp wants key || salt in one buffer and copies it. */
  guint8 key_salt[32 + 16];
  srtp_policy_t policy;
  BfMediaSrtp *s = g_new0 (BfMediaSrtp, 1);
  s->profile = profile;

  memcpy (key_salt, tx_key, klen);
  memcpy (key_salt + klen, tx_salt, slen);
  set_policy (&policy, profile, key_salt, FALSE);
  srtp_err_status_t st = srtp_create (&s->tx, &policy);
  if (st == srtp_err_status_ok)
    {
      memcpy (key_salt, rx_key, klen);
      memcpy (key_salt + klen, rx_salt, slen);
      set_policy (&policy, profile, key_salt, TRUE);
      st = srtp_create (&s->rx, &policy);
    }
  OPENSSL_cleanse (key_salt, sizeof key_salt);
  if (st != srtp_err_status_ok)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CRYPTO,
                   "srtp_create failed (libsrtp status %d)", (int) st);
      bf_media_srtp_free (s);
      return NULL;
    }
  s->tx_ssrcs.max = s->rx_ssrcs.max = max_ssrcs;
  s->tx_ssrcs.ssrcs = g_new (guint32, max_ssrcs);
  s->rx_ssrcs.ssrcs = g_new (guint32, max_ssrcs);
  return s;
}

void
bf_media_srtp_free (BfMediaSrtp *s)
{
  if (s == NULL)
    return;
  if (s->tx)
    srtp_dealloc (s->tx);
  if (s->rx)
    srtp_dealloc (s->rx);
  g_free (s->tx_ssrcs.ssrcs);
  g_free (s->rx_ssrcs.ssrcs);
  g_free (s);
}

/* The SSRC of an RTP packet (RFC 3550 §5.1) after checking that its header
 * (CSRCs, extension) fits in @len; or of an RTCP packet's sender. */
static gboolean
packet_ssrc (gboolean rtcp, const guint8 *buf, gsize len, guint32 *ssrc)
{
  if (rtcp)
    {
      if (len < 8 || (buf[0] >> 6) != 2)
        return FALSE;
      *ssrc = ((guint32) buf[4] << 24) | ((guint32) buf[5] << 16)
              | ((guint32) buf[6] << 8) | buf[7];
      return TRUE;
    }
  if (len < 12 || (buf[0] >> 6) != 2)
    return FALSE;
  gsize hlen = 12 + 4 * (gsize) (buf[0] & 0x0f);
  if (buf[0] & 0x10)
    {
      if (hlen + 4 > len)
        return FALSE;
      hlen += 4 + 4 * (((gsize) buf[hlen + 2] << 8) | buf[hlen + 3]);
    }
  if (hlen > len)
    return FALSE;
  *ssrc = ((guint32) buf[8] << 24) | ((guint32) buf[9] << 16)
          | ((guint32) buf[10] << 8) | buf[11];
  return TRUE;
}

BfMediaSrtpStatus
bf_media_srtp_protect (BfMediaSrtp *s, gboolean rtcp, guint8 *buf, gsize *len, gsize capacity)
{
  guint32 ssrc;
  if (*len > BF_MEDIA_MAX_PACKET_SIZE || capacity < *len + BF_MEDIA_SRTP_OVERHEAD
      || !packet_ssrc (rtcp, buf, *len, &ssrc))
    return BF_MEDIA_SRTP_MALFORMED;
  gboolean known = ssrc_set_has (&s->tx_ssrcs, ssrc);
  if (!known && s->tx_ssrcs.n >= s->tx_ssrcs.max)
    return BF_MEDIA_SRTP_SSRC_LIMIT;

  int n = (int) *len;
  srtp_err_status_t st = rtcp ? srtp_protect_rtcp (s->tx, buf, &n)
                              : srtp_protect (s->tx, buf, &n);
  if (st != srtp_err_status_ok)
    return map_status (st);
  if (!known)
    ssrc_set_add (&s->tx_ssrcs, ssrc);
  *len = (gsize) n;
  return BF_MEDIA_SRTP_OK;
}

BfMediaSrtpStatus
bf_media_srtp_unprotect (BfMediaSrtp *s, gboolean rtcp, guint8 *buf, gsize *len)
{
  guint32 ssrc;
  if (*len > BF_MEDIA_MAX_PACKET_SIZE + BF_MEDIA_SRTP_OVERHEAD
      || !packet_ssrc (rtcp, buf, *len, &ssrc))
    return BF_MEDIA_SRTP_MALFORMED;
  /* libsrtp clones a per-SSRC stream from the template only once a packet
   * authenticates, so forged SSRCs cost nothing; a peer that really sends
   * that many is cut off here. */
  gboolean known = ssrc_set_has (&s->rx_ssrcs, ssrc);
  if (!known && s->rx_ssrcs.n >= s->rx_ssrcs.max)
    return BF_MEDIA_SRTP_SSRC_LIMIT;

  int n = (int) *len;
  srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp (s->rx, buf, &n)
                              : srtp_unprotect (s->rx, buf, &n);
  if (st != srtp_err_status_ok)
    return map_status (st);
  if (!known)
    ssrc_set_add (&s->rx_ssrcs, ssrc);
  *len = (gsize) n;
  return BF_MEDIA_SRTP_OK;
}
