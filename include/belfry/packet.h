/* belfry — one received RTP or RTCP packet, and the RTP header view.
 *
 * Why: a module's media() hook used to get a bare (is_rtcp, data, len), so
 * every module walked the RTP header and its RFC 8285 extensions itself
 * (two walkers once lived in the tree) and the hook could never grow
 * without breaking modules.  The core parses each packet once, on the
 * worker, into a BfPacket; modules read the fields, and the header view
 * below is the one walker the core, echo and call all use.
 *
 * Every read is bounded by the packet's length: a BfRtpHeader exists only
 * for a packet bf_rtp_header_parse() accepted (RFC 3550 §5.1: version 2,
 * the CSRC list, the extension block and its RFC 8285 elements, the
 * padding count within the payload).
 *
 * Threads: a BfPacket lives on the worker thread, for the duration of the
 * hook it is given to; the view functions are pure and run anywhere. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* RFC 3550 §5.1 fixed header and the offsets of what follows it. */
typedef struct {
  guint8 payload_type;
  gboolean marker;
  guint16 seq;
  guint32 timestamp;
  guint32 ssrc;
  guint8 csrc_count;
  /* The header extension block (RFC 3550 §5.3.1): its profile (0xBEDE for
   * RFC 8285 one-byte elements, 0x100x for two-byte ones; any other is
   * opaque: no elements are seen in it), where its elements start and
   * their length in bytes.  ext_offset 0 (and ext_profile, ext_len 0)
   * without a block; a block may be empty (ext_len 0, ext_offset set). */
  guint16 ext_profile;
  guint16 ext_offset;
  guint16 ext_len;
  /* The payload, without the padding. */
  guint16 payload_offset;
  guint16 payload_len;
  guint8 padding;          /* bytes of padding at the end, count included; 0: none */
} BfRtpHeader;

/* One unprotected packet from a session's peer. */
typedef struct {
  guint8 *data;            /* may be modified in place, never grown */
  gsize len;
  gboolean is_rtcp;
  gint64 arrival;          /* monotonic µs (g_get_monotonic_time) it was
                            * handed to the session, just after SRTP */
  const char *content;     /* the content (XEP-0166 name, the BUNDLE mid) it
                            * belongs to: RTP by its payload type, RTCP by its
                            * transport when that carries one content only;
                            * NULL when not known (RTCP on a BUNDLE'd
                            * transport, a payload type no content has) */
  BfRtpHeader rtp;         /* RTP only: already parsed and checked (the core
                            * drops, and counts, RTP bf_rtp_header_parse()
                            * refuses); all zero for RTCP */
} BfPacket;

/* Parses and checks the RTP packet @data of @len bytes into @header:
 * version 2; the CSRC list, the extension block and (for the RFC 8285
 * profiles) each element within the packet, padding bytes (0) skipped and
 * a one-byte id 15 ending the walk (§4.2: the rest is not looked at), as
 * does a one-byte id 0 with a length (neither padding nor an element); with
 * the P bit, a padding count of 1 or more that fits after the header.
 * FALSE for a malformed packet, and for one over 65535 bytes (no datagram
 * is; the offsets are 16-bit): @header is then undefined. */
gboolean bf_rtp_header_parse (const guint8 *data, gsize len, BfRtpHeader *header);

/* The first RFC 8285 element @id (1..14 one-byte, 1..255 two-byte) of a
 * parsed packet: a pointer to its data and its length in @len (may be
 * NULL; one-byte elements have 1..16 bytes, two-byte ones 0..255), or
 * NULL when the packet has none. */
const guint8 *bf_rtp_header_find_extension (const BfRtpHeader *header, const guint8 *data,
                                            guint8 id, gsize *len);

/* Calls @func for each RFC 8285 element of a parsed packet, in order, with
 * a pointer to its id byte and to its data (@len bytes, which @func may
 * rewrite); stops early when @func returns FALSE.  @func may rewrite the
 * id byte within the element's form: one-byte (profile 0xBEDE), the high
 * nibble only, to an id 1..14; two-byte, to an id 1..255.  Where the next
 * element is was read before @func ran. */
typedef gboolean (*BfRtpExtensionFunc) (guint8 *id_byte, guint8 id, guint8 *elem, gsize len,
                                        gpointer user_data);
void bf_rtp_header_foreach_extension (const BfRtpHeader *header, guint8 *data,
                                      BfRtpExtensionFunc func, gpointer user_data);

/* Writers for the fixed header of a packet bf_rtp_header_parse() accepted
 * (they keep @header, if not NULL, in step).  The payload type keeps the
 * marker bit and takes @pt's low 7 bits. */
void bf_rtp_set_payload_type (guint8 *data, BfRtpHeader *header, guint8 pt);
void bf_rtp_set_seq (guint8 *data, BfRtpHeader *header, guint16 seq);
void bf_rtp_set_timestamp (guint8 *data, BfRtpHeader *header, guint32 timestamp);
void bf_rtp_set_ssrc (guint8 *data, BfRtpHeader *header, guint32 ssrc);

/* Network byte order reads and writes, for RTP and RTCP fields. */
static inline guint16
bf_read_be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static inline guint32
bf_read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline void
bf_write_be16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) (v >> 8);
  p[1] = (guint8) v;
}

static inline void
bf_write_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

G_END_DECLS
