/* belfry media: the receive buffers of one recvmmsg, and the socket-drop
 * count that comes with each datagram (SO_RXQ_OVFL).
 *
 * Why: both readers of the packet path (a transport's own pair,
 * direct-io.c; a worker's shared port, port-mux.c) read up to
 * BF_MEDIA_RX_BATCH datagrams per system call into the same per-thread
 * scratch: one set per worker thread, not per transport (64 x 4 KiB per
 * session otherwise).
 *
 * Threading: the buffers are the calling thread's; use them within one
 * callback. */
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include "media-types.h"
#include "srtp-session.h"

G_BEGIN_DECLS

#define BF_MEDIA_RX_BATCH 64        /* datagrams per recvmmsg */
#define BF_MEDIA_RX_ROUNDS 4        /* recvmmsg calls per wake-up, at most */
#define BF_MEDIA_RX_BUF (BF_MEDIA_MAX_PACKET_SIZE + BF_MEDIA_SRTP_OVERHEAD + 1)

typedef struct {
  struct mmsghdr msg[BF_MEDIA_RX_BATCH];
  struct iovec iov[BF_MEDIA_RX_BATCH];
  union {
    char buf[CMSG_SPACE (sizeof (guint32))];
    struct cmsghdr align;
  } control[BF_MEDIA_RX_BATCH];
  struct sockaddr_storage from[BF_MEDIA_RX_BATCH];
  guint8 buf[BF_MEDIA_RX_BATCH][BF_MEDIA_RX_BUF];
} BfMediaRxBatch;

/* This thread's buffers, ready for a recvmmsg (every header reset). */
BfMediaRxBatch *bf_media_rx_batch_prepare (void);
/* One recvmmsg on @fd (EINTR retried): the datagrams read, 0 when none. */
int bf_media_rx_batch_read (BfMediaRxBatch *rx, int fd);
/* The socket drops since *@seen, from the SO_RXQ_OVFL count @h carries
 * (updates *@seen). */
guint32 bf_media_rx_batch_overflow (struct msghdr *h, guint32 *seen);
/* Turns SO_RXQ_OVFL on for @fd (a debug line if the kernel refuses). */
void bf_media_rx_batch_enable_overflow (int fd);

G_END_DECLS
