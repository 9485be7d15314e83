/* belfry media: the SRTP/SRTCP packet transforms of one direction on
 * OpenSSL: AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2) and
 * AEAD_AES_128_GCM (RFC 7714 §8, §9), keys derived once (RFC 3711 §4.3,
 * key derivation rate 0).
 *
 * Why here and not libsrtp2: Debian's libsrtp2 does its crypto through NSS,
 * whose per-packet key lookups grow with the number of keys in the process
 * (8,000 sessions: ~100x the cost at 100).  Here each direction owns its
 * cipher contexts, keyed once, so a packet costs no lookup and no allocation.
 *
 * This file knows packets' layouts and the crypto only: which SSRC, which
 * index, replay and limits are srtp-session.c's.  Lengths are checked by the
 * caller (each function says what it needs).  Not thread-safe: one owner. */
#pragma once

#include <glib.h>
#include "media-types.h"
#include "srtp-session.h"

G_BEGIN_DECLS

typedef struct _BfSrtpCrypto BfSrtpCrypto;

/* Checks once that OpenSSL has the ciphers (idempotent, thread-safe). */
gboolean bf_srtp_crypto_init (GError **error);

/* The key derivation PRF (RFC 3711 §4.3, key derivation rate 0): @out_len
 * bytes for @label (0..5) from a master key (16 bytes) and salt (@salt_len:
 * 14, or 12 for GCM).  Used by bf_srtp_crypto_new; here for its tests. */
gboolean bf_srtp_crypto_derive (const guint8 *master_key, const guint8 *master_salt,
                                gsize salt_len, guint8 label, guint8 *out, gsize out_len);

/* Derives the session keys of one direction from its master key and salt
 * (bf_media_srtp_key_len / _salt_len bytes).  @encrypt: this direction
 * protects (TRUE) or unprotects (FALSE). */
BfSrtpCrypto *bf_srtp_crypto_new (BfMediaSrtpProfile profile, const guint8 *key,
                                  const guint8 *salt, gboolean encrypt, GError **error);
/* Wipes the keys. */
void bf_srtp_crypto_free (BfSrtpCrypto *c);

/* Bytes an SRTP packet carries after its payload (the tag). */
gsize bf_srtp_crypto_rtp_trailer (const BfSrtpCrypto *c);
/* Bytes an SRTCP packet carries after its payload (tag + E/index word). */
gsize bf_srtp_crypto_rtcp_trailer (const BfSrtpCrypto *c);

/* RTP: @buf[0, @hlen) is the header, [@hlen, @len) the payload; @index is
 * the 48-bit packet index (ROC << 16 | SEQ).  Protect encrypts in place and
 * appends the tag (room for bf_srtp_crypto_rtp_trailer bytes past @len).
 * FALSE only if OpenSSL fails. */
gboolean bf_srtp_crypto_protect_rtp (BfSrtpCrypto *c, guint8 *buf, gsize hlen, gsize len,
                                     guint32 ssrc, guint64 index);
/* @len includes the tag (>= @hlen + trailer).  OK (payload decrypted in
 * place, the caller drops the tag), AUTH_FAIL or FAILED. */
BfMediaSrtpStatus bf_srtp_crypto_unprotect_rtp (BfSrtpCrypto *c, guint8 *buf, gsize hlen,
                                                gsize len, guint32 ssrc, guint64 index);

/* RTCP: @buf[0, 8) is the first header and its sender SSRC, encrypted from
 * byte 8 on (RFC 3711 §3.4).  Protect encrypts with @index (31 bits, E set)
 * and appends the trailer. */
gboolean bf_srtp_crypto_protect_rtcp (BfSrtpCrypto *c, guint8 *buf, gsize len,
                                      guint32 ssrc, guint32 index);
/* The E-bit | SRTCP index word of a protected packet of @len bytes
 * (>= 8 + trailer). */
guint32 bf_srtp_crypto_rtcp_eindex (const BfSrtpCrypto *c, const guint8 *buf, gsize len);
/* @len includes the trailer.  On OK the payload is plain in place (if the
 * E-bit was set) and the plain length is @len - trailer. */
BfMediaSrtpStatus bf_srtp_crypto_unprotect_rtcp (BfSrtpCrypto *c, guint8 *buf, gsize len,
                                                 guint32 ssrc);

G_END_DECLS
