/* conference — retransmissions (RFC 4585 §6.2.1, RFC 4588): what the room
 * sent toward each receiver of a video stream, to answer that receiver's
 * NACKs.
 *
 * Why it exists: the SFU rewrites sequence numbers per receiver (layer
 * switches, last-N), so a receiver's NACK names packets of the room's
 * stream toward it, not the sender's: the room answers from what it kept
 * rather than forwarding the NACK.
 *
 * Why two parts: every receiver of a stream gets the same packet but for
 * its first bytes (the RTP header and the VP8 payload descriptor, which
 * cf_sfu_stream_push rewrites in place; the length never changes).  The
 * source's CfRtxStore keeps each packet once, as built for all; each
 * receiver's CfRtxBuffer keeps only its own first bytes and which stored
 * packet the rest is.  A copy per packet per receiver (768 KB a receiver
 * and a cold kilobyte written per packet sent) became one per packet.
 *
 * Bounded by count (a power of two, at most CF_RTX_CAPACITY_MAX) and by
 * age; a packet is resent at most once per RTT-ish interval (a receiver
 * NACKs again before our answer could have arrived); a NACK for a packet
 * no longer held (aged, overwritten here or in the store) counts as a miss.
 *
 * Thread rule: one owner thread, the room's worker; no locks.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_RTX_CAPACITY_MAX 4096
#define CF_RTX_PACKET_MAX 1500
/* The most of a packet's first bytes a receiver's buffer keeps. */
#define CF_RTX_PREFIX_MAX 64

/* --- A source's packets, kept once --- */

typedef struct CfRtxStore CfRtxStore;

/* @capacity: a power of two, 16..CF_RTX_CAPACITY_MAX. */
CfRtxStore *cf_rtx_store_new (guint capacity);
void cf_rtx_store_free (CfRtxStore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfRtxStore, cf_rtx_store_free)

/* Keeps a copy of @pkt over the oldest; returns its number (never 0), or
 * 0 when it is empty or larger than CF_RTX_PACKET_MAX (not kept). */
guint64 cf_rtx_store_keep (CfRtxStore *s, const guint8 *pkt, gsize len);
/* The packet kept as @no and its length, or NULL once it was overwritten. */
const guint8 *cf_rtx_store_get (const CfRtxStore *s, guint64 no, gsize *len);

/* --- What one receiver was sent --- */

typedef struct CfRtxBuffer CfRtxBuffer;

typedef struct {
  guint64 stored, resent, misses, rate_limited;
  guint64 not_kept;        /* stored with a prefix too long or no packet in the store */
} CfRtxStats;

/* @capacity: a power of two, 16..CF_RTX_CAPACITY_MAX (e.g. 512);
 * @max_age_us: how long a packet may be answered from (e.g. 1 s). */
CfRtxBuffer *cf_rtx_buffer_new (guint capacity, gint64 max_age_us);
void cf_rtx_buffer_free (CfRtxBuffer *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfRtxBuffer, cf_rtx_buffer_free)

/* Records @pkt as sent with sequence number @seq at monotonic µs @now:
 * its first @prefix_len bytes (at most CF_RTX_PREFIX_MAX) are its own, the
 * rest is @store's packet @no (of the same length) from @prefix_len on. */
void cf_rtx_buffer_store (CfRtxBuffer *b, guint16 seq, const guint8 *pkt, gsize len,
                          gsize prefix_len, guint64 no, gint64 now);

typedef void (*CfRtxSendFunc) (const guint8 *pkt, gsize len, gpointer user_data);

/* Answers a NACK of @n sequence numbers: @send is called with each packet
 * still held (younger than max age, its rest still in @store: the store
 * the packets were recorded against) and not resent within the last
 * @rtt_us (clamped to 10..500 ms; 100 ms when <= 0), rebuilt as it was
 * sent.  Returns how many were sent. */
guint cf_rtx_buffer_answer (CfRtxBuffer *b, const CfRtxStore *store, const guint16 *seqs,
                            guint n, gint64 now, gint64 rtt_us, CfRtxSendFunc send,
                            gpointer user_data);

const CfRtxStats *cf_rtx_buffer_stats (const CfRtxBuffer *b);

G_END_DECLS
