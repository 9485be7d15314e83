/* belfry media: SRTP/SRTCP protection for one leg (RFC 3711, RFC 7714;
 * OpenSSL's ciphers, srtp-crypto.h says why not libsrtp2).
 *
 * One session per direction: outbound keyed with our write key,
 * inbound with the peer's (RFC 5764 §4.2); rtcp-mux means RTP and RTCP of
 * one SSRC share a stream.  Replay protection is on in both directions.
 * Not thread-safe: lives on its transport's worker. */
#pragma once

#include <glib.h>
#include "media-types.h"

G_BEGIN_DECLS

typedef struct _BfMediaSrtp BfMediaSrtp;

typedef enum {
  BF_MEDIA_SRTP_OK,
  BF_MEDIA_SRTP_MALFORMED,   /* too short / not RTP or RTCP */
  BF_MEDIA_SRTP_AUTH_FAIL,   /* authentication tag wrong */
  BF_MEDIA_SRTP_REPLAY,      /* replayed or too old */
  BF_MEDIA_SRTP_SSRC_LIMIT,  /* a new SSRC beyond max_ssrcs */
  BF_MEDIA_SRTP_FAILED,      /* anything else (index space spent, OpenSSL) */
} BfMediaSrtpStatus;

/* Bytes protect may add: tag + the SRTCP index word, with room to spare
 * (kept from libsrtp2's MKI allowance so callers' buffers stay valid). */
#define BF_MEDIA_SRTP_OVERHEAD (16 + 128 + 4)

/* Master key and salt lengths for @profile (0 for NONE). */
gsize bf_media_srtp_key_len (BfMediaSrtpProfile profile);
gsize bf_media_srtp_salt_len (BfMediaSrtpProfile profile);

/* Fetches the ciphers once per process (idempotent, thread-safe). */
gboolean bf_media_srtp_library_init (GError **error);

/* @tx_key/@tx_salt protect what we send, @rx_key/@rx_salt check what we
 * receive.  At most @max_ssrcs distinct SSRCs per direction (bounds
 * the per-SSRC state against a peer inventing SSRCs). */
BfMediaSrtp *bf_media_srtp_new (BfMediaSrtpProfile profile,
                                const guint8 *tx_key, const guint8 *tx_salt,
                                const guint8 *rx_key, const guint8 *rx_salt,
                                guint max_ssrcs, GError **error);
void bf_media_srtp_free (BfMediaSrtp *srtp);

/* In place.  @buf holds *@len bytes and has room for @capacity bytes
 * (at least *@len + BF_MEDIA_SRTP_OVERHEAD to be safe). */
BfMediaSrtpStatus bf_media_srtp_protect (BfMediaSrtp *srtp, gboolean rtcp,
                                         guint8 *buf, gsize *len, gsize capacity);
/* In place; on success *@len is the plain length. */
BfMediaSrtpStatus bf_media_srtp_unprotect (BfMediaSrtp *srtp, gboolean rtcp,
                                           guint8 *buf, gsize *len);

G_END_DECLS
