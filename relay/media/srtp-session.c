/* belfry media: SRTP/SRTCP sessions (RFC 3711, RFC 7714) on OpenSSL.
 *
 * This file is the API and the per-SSRC state: the stream table bounded
 * by max_ssrcs, the index and rollover counter estimate (RFC 3711 §3.3.1,
 * Appendix A), replay windows (§3.3.2) and the SRTCP index.  The crypto is
 * srtp-crypto.c's (why not libsrtp2: see srtp-crypto.h).
 *
 * Session keys do not depend on the SSRC (key derivation rate 0), so one
 * BfSrtpCrypto per direction serves all of its SSRCs; a stream is only its
 * counters. */
#include "srtp-session.h"

#include <string.h>
#include <openssl/crypto.h>

#include "srtp-crypto.h"

/* Largest tag (GCM) + the SRTCP index word; the rest is slack kept from
 * libsrtp's MKI allowance so callers' buffers stay valid. */
G_STATIC_ASSERT (BF_MEDIA_SRTP_OVERHEAD >= 16 + 4);

/* Replay window, in packets, for SRTP and SRTCP alike (RFC 3711 §3.3.2
 * leaves the size to us; 64 or 128 is short for video bursts). */
#define REPLAY_WINDOW 1024
/* The window's bits in a ring of 64-bit words, index i at bit i % 64 of
 * word (i / 64) % REPLAY_WORDS: moving the top clears the words it enters
 * instead of shifting all of them (every packet sent or received moves
 * it).  One word more than the window needs, so the word the top enters
 * held only indices already outside the window (RFC 6479 §2). */
#define REPLAY_WORDS (REPLAY_WINDOW / 64 + 1)

#define MAX_RTP_INDEX ((G_GUINT64_CONSTANT (1) << 48) - 1)
#define MAX_RTCP_INDEX 0x7fffffffu

typedef struct {
  guint64 top;                  /* highest index accepted (0 at first) */
  guint64 seen[REPLAY_WORDS];   /* the ring: index i accepted (within the window) */
} Replay;

typedef struct {
  Replay rtp;         /* 48-bit index: ROC << 16 | SEQ */
  Replay rtcp;        /* inbound: the 31-bit SRTCP index */
  guint32 rtcp_next;  /* outbound: the next SRTCP index to send */
} Stream;

/* The SSRCs a direction holds without an allocation of their own: a
 * session's audio, video and retransmission streams, and one more.  A
 * forwarding worker protects for thousands of sessions in turn; a
 * separate array would be one more cache miss per packet. */
#define INLINE_SSRCS 4

/* One direction: its keys and its SSRCs' streams (rtcp-mux: an SSRC's RTP
 * and RTCP share the entry). */
typedef struct {
  BfSrtpCrypto *crypto;
  guint32 *ssrcs;     /* ssrcs[i] owns streams[i]; compact for the scan */
  Stream *streams;
  guint n, alloc, max;
  guint last;         /* the last hit: one compare in the usual case */
  guint32 inline_ssrcs[INLINE_SSRCS];   /* ssrcs while alloc <= INLINE_SSRCS */
} Direction;

struct _BfMediaSrtp {
  BfMediaSrtpProfile profile;
  Direction tx, rx;
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

gboolean
bf_media_srtp_library_init (GError **error)
{
  return bf_srtp_crypto_init (error);
}

/* --- replay windows --- */

static inline guint
replay_word (guint64 index)
{
  return (guint) ((index / 64) % REPLAY_WORDS);
}

static gboolean
replay_seen (const Replay *r, guint64 index)
{
  if (index > r->top)
    return FALSE;
  if (r->top - index >= REPLAY_WINDOW)
    return TRUE;              /* too old to tell: refused as a replay */
  return (r->seen[replay_word (index)] >> (index % 64)) & 1;
}

/* @index: above the top, or within the window (replay_seen said no). */
static void
replay_add (Replay *r, guint64 index)
{
  if (index > r->top)
    {
      /* The words after the top's, up to @index's, held only indices
       * now out of the window (or none yet). */
      guint64 from = r->top / 64, to = index / 64;
      if (to - from >= REPLAY_WORDS)
        memset (r->seen, 0, sizeof r->seen);
      else
        for (guint64 w = from + 1; w <= to; w++)
          r->seen[w % REPLAY_WORDS] = 0;
      r->top = index;
    }
  r->seen[replay_word (index)] |= G_GUINT64_CONSTANT (1) << (index % 64);
}

/* RFC 3711 §3.3.1 and Appendix A: the index of @seq is the one closest to
 * the highest index so far (s_l, ROC).  While the stream is young (ROC 0,
 * s_l <= 2^15) the guess is ROC 0: a sequence number far above s_l then is
 * a stream starting there, not one from ROC -1. */
static guint64
estimate_index (const Replay *r, guint16 seq)
{
  if (r->top <= 32768)
    return seq;
  guint64 roc = r->top >> 16;
  guint32 s_l = (guint32) (r->top & 0xffff);
  if (s_l < 32768)
    {
      if ((guint32) seq > s_l + 32768)
        roc--;
    }
  else if (s_l - 32768 > (guint32) seq)
    roc++;
  return (roc << 16) | seq;
}

/* --- the stream table --- */

static Stream *
stream_find (Direction *d, guint32 ssrc)
{
  if (d->n > 0 && d->ssrcs[d->last] == ssrc)
    return &d->streams[d->last];
  for (guint i = 0; i < d->n; i++)
    if (d->ssrcs[i] == ssrc)
      {
        d->last = i;
        return &d->streams[i];
      }
  return NULL;
}

/* Only after the packet was protected or authenticated: forged SSRCs
 * cost nothing.  The caller checked the bound. */
static Stream *
stream_add (Direction *d, guint32 ssrc, const Stream *initial)
{
  if (d->n == d->alloc)
    {
      guint alloc = MIN (MAX (INLINE_SSRCS, d->alloc * 2), d->max);
      if (alloc > INLINE_SSRCS && d->ssrcs == d->inline_ssrcs)
        {
          d->ssrcs = g_new (guint32, alloc);
          memcpy (d->ssrcs, d->inline_ssrcs, d->n * sizeof *d->ssrcs);
        }
      else if (alloc > INLINE_SSRCS)
        d->ssrcs = g_renew (guint32, d->ssrcs, alloc);
      d->streams = g_renew (Stream, d->streams, alloc);
      d->alloc = alloc;
    }
  d->last = d->n++;
  d->ssrcs[d->last] = ssrc;
  d->streams[d->last] = *initial;
  return &d->streams[d->last];
}

static void
direction_clear (Direction *d)
{
  bf_srtp_crypto_free (d->crypto);
  if (d->ssrcs != d->inline_ssrcs)
    g_free (d->ssrcs);
  g_free (d->streams);
}

BfMediaSrtp *
bf_media_srtp_new (BfMediaSrtpProfile profile, const guint8 *tx_key, const guint8 *tx_salt,
                   const guint8 *rx_key, const guint8 *rx_salt, guint max_ssrcs,
                   GError **error)
{
  gsize klen = bf_media_srtp_key_len (profile);
  if (klen == 0 || max_ssrcs == 0 || max_ssrcs > 4096)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "bad SRTP parameters (profile %d, max_ssrcs %u)", profile, max_ssrcs);
      return NULL;
    }
  BfMediaSrtp *s = g_new0 (BfMediaSrtp, 1);
  s->profile = profile;
  s->tx.max = s->rx.max = max_ssrcs;
  s->tx.ssrcs = s->tx.inline_ssrcs;
  s->rx.ssrcs = s->rx.inline_ssrcs;
  s->tx.crypto = bf_srtp_crypto_new (profile, tx_key, tx_salt, TRUE, error);
  if (s->tx.crypto != NULL)
    s->rx.crypto = bf_srtp_crypto_new (profile, rx_key, rx_salt, FALSE, error);
  if (s->rx.crypto == NULL)
    {
      bf_media_srtp_free (s);
      return NULL;
    }
  return s;
}

void
bf_media_srtp_free (BfMediaSrtp *s)
{
  if (s == NULL)
    return;
  direction_clear (&s->tx);
  direction_clear (&s->rx);
  g_free (s);
}

/* The SSRC of an RTP packet (RFC 3550 §5.1) and its header's length, after
 * checking that the header (CSRCs, extension) fits in @len; or of an RTCP
 * packet's sender (the header then is its first 8 bytes). */
static gboolean
packet_header (gboolean rtcp, const guint8 *buf, gsize len, guint32 *ssrc, gsize *hlen)
{
  if (len < (rtcp ? 8 : 12) || (buf[0] >> 6) != 2)
    return FALSE;
  if (rtcp)
    {
      *ssrc = ((guint32) buf[4] << 24) | ((guint32) buf[5] << 16)
              | ((guint32) buf[6] << 8) | buf[7];
      *hlen = 8;
      return TRUE;
    }
  gsize h = 12 + 4 * (gsize) (buf[0] & 0x0f);
  if (buf[0] & 0x10)
    {
      if (h + 4 > len)
        return FALSE;
      h += 4 + 4 * (((gsize) buf[h + 2] << 8) | buf[h + 3]);
    }
  if (h > len)
    return FALSE;
  *ssrc = ((guint32) buf[8] << 24) | ((guint32) buf[9] << 16)
          | ((guint32) buf[10] << 8) | buf[11];
  *hlen = h;
  return TRUE;
}

BfMediaSrtpStatus
bf_media_srtp_protect (BfMediaSrtp *s, gboolean rtcp, guint8 *buf, gsize *len, gsize capacity)
{
  guint32 ssrc;
  gsize hlen;
  if (*len > BF_MEDIA_MAX_PACKET_SIZE || capacity < *len + BF_MEDIA_SRTP_OVERHEAD
      || !packet_header (rtcp, buf, *len, &ssrc, &hlen))
    return BF_MEDIA_SRTP_MALFORMED;
  Direction *d = &s->tx;
  Stream *st = stream_find (d, ssrc);
  Stream fresh = { 0 };
  if (st == NULL && d->n >= d->max)
    return BF_MEDIA_SRTP_SSRC_LIMIT;
  Stream *use = st != NULL ? st : &fresh;

  if (rtcp)
    {
      if (use->rtcp_next > MAX_RTCP_INDEX)
        return BF_MEDIA_SRTP_FAILED;        /* index space spent: rekey */
      if (!bf_srtp_crypto_protect_rtcp (d->crypto, buf, *len, ssrc, use->rtcp_next))
        return BF_MEDIA_SRTP_FAILED;
      use->rtcp_next++;
      *len += bf_srtp_crypto_rtcp_trailer (d->crypto);
    }
  else
    {
      /* The sender keeps a window too: a relay forwards packets in the order
       * they came, so an older sequence number is sent late, never twice
       * with the same index (that would reuse the keystream). */
      guint64 index = estimate_index (&use->rtp, ((guint16) buf[2] << 8) | buf[3]);
      if (index > MAX_RTP_INDEX)
        return BF_MEDIA_SRTP_FAILED;
      if (replay_seen (&use->rtp, index))
        return BF_MEDIA_SRTP_REPLAY;
      if (!bf_srtp_crypto_protect_rtp (d->crypto, buf, hlen, *len, ssrc, index))
        return BF_MEDIA_SRTP_FAILED;
      replay_add (&use->rtp, index);
      *len += bf_srtp_crypto_rtp_trailer (d->crypto);
    }
  if (st == NULL)
    stream_add (d, ssrc, &fresh);
  return BF_MEDIA_SRTP_OK;
}

BfMediaSrtpStatus
bf_media_srtp_unprotect (BfMediaSrtp *s, gboolean rtcp, guint8 *buf, gsize *len)
{
  guint32 ssrc;
  gsize hlen;
  Direction *d = &s->rx;
  gsize trailer = rtcp ? bf_srtp_crypto_rtcp_trailer (d->crypto)
                       : bf_srtp_crypto_rtp_trailer (d->crypto);
  if (*len > BF_MEDIA_MAX_PACKET_SIZE + BF_MEDIA_SRTP_OVERHEAD || *len < trailer
      || !packet_header (rtcp, buf, *len - trailer, &ssrc, &hlen))
    return BF_MEDIA_SRTP_MALFORMED;
  /* A stream is created only once a packet of its SSRC authenticates, so
   * forged SSRCs cost nothing; a peer that really sends that many is cut
   * off here. */
  Stream *st = stream_find (d, ssrc);
  Stream fresh = { 0 };
  if (st == NULL && d->n >= d->max)
    return BF_MEDIA_SRTP_SSRC_LIMIT;
  Stream *use = st != NULL ? st : &fresh;

  /* Replay before authentication (RFC 3711 §3.3 step 2 before 5): a
   * replayed packet costs no crypto; the window moves only after. */
  BfMediaSrtpStatus status;
  Replay *window;
  guint64 index;
  if (rtcp)
    {
      index = bf_srtp_crypto_rtcp_eindex (d->crypto, buf, *len) & MAX_RTCP_INDEX;
      window = &use->rtcp;
      if (replay_seen (window, index))
        return BF_MEDIA_SRTP_REPLAY;
      status = bf_srtp_crypto_unprotect_rtcp (d->crypto, buf, *len, ssrc);
    }
  else
    {
      index = estimate_index (&use->rtp, ((guint16) buf[2] << 8) | buf[3]);
      window = &use->rtp;
      if (index > MAX_RTP_INDEX)
        return BF_MEDIA_SRTP_FAILED;
      if (replay_seen (window, index))
        return BF_MEDIA_SRTP_REPLAY;
      status = bf_srtp_crypto_unprotect_rtp (d->crypto, buf, hlen, *len, ssrc, index);
    }
  if (status != BF_MEDIA_SRTP_OK)
    return status;
  replay_add (window, index);
  if (st == NULL)
    stream_add (d, ssrc, &fresh);
  *len -= trailer;
  return BF_MEDIA_SRTP_OK;
}
