/* conference — a per-stream retransmission buffer: copies of the RTP
 * packets the room sent toward one receiver, keyed by the sequence number
 * they were sent with, to answer that receiver's NACKs (RFC 4585 §6.2.1).
 *
 * Why it exists: the SFU rewrites sequence numbers per receiver (layer
 * switches, last-N), so a receiver's NACK names packets of the room's
 * stream toward it, not the sender's: the room answers from its own copies
 * rather than forwarding the NACK.  Bounded by count (a power of two, at
 * most CF_RTX_CAPACITY_MAX) and by age; a packet is resent at most once per
 * RTT-ish interval (a receiver NACKs again before our answer could have
 * arrived), and a NACK for a packet we no longer have is counted as a miss.
 *
 * Thread rule: one owner thread, the room's worker; no locks.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_RTX_CAPACITY_MAX 4096
#define CF_RTX_PACKET_MAX 1500

typedef struct CfRtxBuffer CfRtxBuffer;

typedef struct {
  guint64 stored, resent, misses, rate_limited, too_big;
} CfRtxStats;

/* @capacity: a power of two, 16..CF_RTX_CAPACITY_MAX (e.g. 512);
 * @max_age_us: how long a packet may be answered from (e.g. 1 s). */
CfRtxBuffer *cf_rtx_buffer_new (guint capacity, gint64 max_age_us);
void cf_rtx_buffer_free (CfRtxBuffer *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfRtxBuffer, cf_rtx_buffer_free)

/* Keeps a copy of @pkt (as sent, sequence number @seq) at monotonic µs
 * @now; larger than CF_RTX_PACKET_MAX: not kept (counted). */
void cf_rtx_buffer_store (CfRtxBuffer *b, guint16 seq, const guint8 *pkt, gsize len, gint64 now);

typedef void (*CfRtxSendFunc) (const guint8 *pkt, gsize len, gpointer user_data);

/* Answers a NACK of @n sequence numbers: @send is called with each packet
 * still held (younger than max age) and not resent within the last
 * @rtt_us (clamped to 10..500 ms; 100 ms when <= 0).  Returns how many
 * were sent. */
guint cf_rtx_buffer_answer (CfRtxBuffer *b, const guint16 *seqs, guint n, gint64 now,
                            gint64 rtt_us, CfRtxSendFunc send, gpointer user_data);

const CfRtxStats *cf_rtx_buffer_stats (const CfRtxBuffer *b);

G_END_DECLS
