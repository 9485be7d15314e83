/* belfry media: a media worker's send queue for direct I/O (direct-io.h).
 *
 * Why: a relayed packet (echo, call) is received and sent again on the same
 * worker, inside the receive callback.  Sending each one with its own
 * sendto() costs a system call per packet; while a receive batch runs,
 * protected packets are instead kept here and leave with one sendmmsg() per
 * socket when the batch ends (or when the queue is full, or when
 * something must leave at once and order matters: see _flush).  Work a
 * module runs on the worker (its timer ticks and posted work items,
 * relay/module-worker.c) is a batch too, so what a mixing tick sends leaves
 * the same way when the tick returns.
 *
 * One queue per worker (bf_media_worker_get_send_queue), used only on that
 * worker's thread: no locks.  Each socket's packets leave in the order they
 * were queued (so each destination's do too); packets for different sockets
 * are independent.  With one socket per transport (the default) that is a
 * sendmmsg per destination; on a worker's shared port ([media] shared-port,
 * port-mux.h) it is one for all the transports behind that socket. */
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include "media-types.h"

G_BEGIN_DECLS

typedef struct _BfMediaSendQueue BfMediaSendQueue;

/* Where queued packets go and what the flush counts (packets_out,
 * bytes_out, rtp_out/rtcp_out, send_errors).  Owned by the sender (a
 * transport's direct I/O); it must call _forget before it goes away. */
typedef struct {
  int fd;
  socklen_t addr_len;
  BfMediaCounters *counters;
  /* Last: the flush reads the scalars and only the first addr_len bytes
   * (one cache line for IPv4 and IPv6 with the rest). */
  struct sockaddr_storage addr;
} BfMediaSendDest;

/* Protected packets longer than this are not queued (sent at once). */
#define BF_MEDIA_SEND_QUEUE_SLOT 1600

BfMediaSendQueue *bf_media_send_queue_new (void);
/* Nothing may be queued (every destination forgotten or flushed). */
void bf_media_send_queue_free (BfMediaSendQueue *queue);

/* A batch (a receive batch, a module's timer tick or work item) starts /
 * ends (nestable); the outermost _end flushes. */
void bf_media_send_queue_begin (BfMediaSendQueue *queue);
void bf_media_send_queue_end (BfMediaSendQueue *queue);
/* TRUE inside a batch: only then may packets be queued. */
gboolean bf_media_send_queue_batching (BfMediaSendQueue *queue);

/* The next free slot (BF_MEDIA_SEND_QUEUE_SLOT bytes) to protect a packet
 * into; flushes first if the queue is full.  Only inside a batch.  Nothing
 * is queued until _commit. */
guint8 *bf_media_send_queue_reserve (BfMediaSendQueue *queue);
/* Queues the reserved slot's first @len bytes for @dest. */
void bf_media_send_queue_commit (BfMediaSendQueue *queue, BfMediaSendDest *dest, gsize len,
                                 gboolean rtcp);

/* Sends everything queued now.  Called by _end, and by a sender before it
 * sends anything at once, so that what one worker sends to one destination
 * keeps its order. */
void bf_media_send_queue_flush (BfMediaSendQueue *queue);
/* Drops what is queued for @dest (it is going away or may no longer send). */
void bf_media_send_queue_forget (BfMediaSendQueue *queue, const BfMediaSendDest *dest);

/* sendmmsg() calls made so far (each sends one socket's packets, as many
 * as it takes): how well sends are batched (tests). */
guint64 bf_media_send_queue_get_sendmmsg_calls (BfMediaSendQueue *queue);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMediaSendQueue, bf_media_send_queue_free)

G_END_DECLS
