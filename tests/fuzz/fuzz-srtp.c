/* libFuzzer target: SRTP/SRTCP on OpenSSL (relay/media/srtp-session.c,
 * srtp-crypto.c), the first code every datagram from a peer meets.
 *
 * Input: byte 0 picks the profile (bit 0), RTP or RTCP (bit 1) and which
 * byte to flip later (the rest); the remaining bytes are one packet.
 * Checks, with fresh sessions keyed alike on both ends:
 *   - unprotect of the packet as it came, copied into a buffer of exactly
 *     its size (so ASan sees any read or write past it), never grows it;
 *   - protect of the packet as plain text, in a buffer of exactly its size
 *     plus BF_MEDIA_SRTP_OVERHEAD, either refuses it or adds exactly the
 *     profile's trailer; the peer then gets the same plain text back, and
 *     the same packet with one bit flipped is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "srtp-session.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const guint8 key_a[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const guint8 key_b[16] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
static const guint8 salt_a[14] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
                                   0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad };
static const guint8 salt_b[14] = { 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
                                   0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd };

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1 || size > BF_MEDIA_MAX_PACKET_SIZE + BF_MEDIA_SRTP_OVERHEAD + 1)
    return 0;
  BfMediaSrtpProfile profile = (data[0] & 1) ? BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80
                                             : BF_MEDIA_SRTP_AEAD_AES_128_GCM;
  gboolean rtcp = (data[0] & 2) != 0;
  gsize trailer = (profile == BF_MEDIA_SRTP_AEAD_AES_128_GCM ? 16 : 10) + (rtcp ? 4 : 0);
  const guint8 *pkt = data + 1;
  gsize n = size - 1;

  BfMediaSrtp *a = bf_media_srtp_new (profile, key_a, salt_a, key_b, salt_b, 4, NULL);
  BfMediaSrtp *b = bf_media_srtp_new (profile, key_b, salt_b, key_a, salt_a, 4, NULL);
  if (a == NULL || b == NULL)
    abort ();

  guint8 *buf = g_malloc (MAX (n, 1));
  memcpy (buf, pkt, n);
  gsize len = n;
  BfMediaSrtpStatus st = bf_media_srtp_unprotect (b, rtcp, buf, &len);
  if (st == BF_MEDIA_SRTP_OK && len > n)
    abort ();
  g_free (buf);

  if (n <= BF_MEDIA_MAX_PACKET_SIZE)
    {
      gsize cap = n + BF_MEDIA_SRTP_OVERHEAD;
      buf = g_malloc (cap);
      memcpy (buf, pkt, n);
      len = n;
      st = bf_media_srtp_protect (a, rtcp, buf, &len, cap);
      if (st == BF_MEDIA_SRTP_OK)
        {
          if (len != n + trailer)
            abort ();
          guint8 *copy = g_memdup2 (buf, len);
          gsize flip = (data[0] >> 2) % len;
          copy[flip] ^= 0x01;
          gsize clen = len;
          if (bf_media_srtp_unprotect (b, rtcp, copy, &clen) == BF_MEDIA_SRTP_OK)
            abort ();
          g_free (copy);
          gsize plen = len;
          if (bf_media_srtp_unprotect (b, rtcp, buf, &plen) != BF_MEDIA_SRTP_OK
              || plen != n || memcmp (buf, pkt, n) != 0)
            abort ();
        }
      else if (st != BF_MEDIA_SRTP_MALFORMED)
        abort ();     /* fresh sessions: no replay, no SSRC limit */
      g_free (buf);
    }
  bf_media_srtp_free (a);
  bf_media_srtp_free (b);
  return 0;
}
