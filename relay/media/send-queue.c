#define G_LOG_DOMAIN "belfry-media"
/* belfry media: a worker's sendmmsg queue (see send-queue.h). */
#include "send-queue.h"

#include <errno.h>
#include <string.h>

#define SLOTS 128                     /* queued packets, all destinations */

struct _BfMediaSendQueue {
  guint depth;                        /* > 0 inside a batch */
  guint64 sendmmsg_calls;
  guint n;
  BfMediaSendDest *dest[SLOTS];       /* NULL: forgotten or already sent */
  guint16 len[SLOTS];
  gboolean rtcp[SLOTS];
  guint8 buf[SLOTS][BF_MEDIA_SEND_QUEUE_SLOT];
  /* Scratch for one socket's messages, gathered by _flush. */
  struct mmsghdr msg[SLOTS];
  struct iovec iov[SLOTS];
  gboolean msg_rtcp[SLOTS];
  BfMediaSendDest *msg_dest[SLOTS];
};

BfMediaSendQueue *
bf_media_send_queue_new (void)
{
  return g_new0 (BfMediaSendQueue, 1);
}

void
bf_media_send_queue_free (BfMediaSendQueue *q)
{
  if (q == NULL)
    return;
  for (guint i = 0; i < q->n; i++)
    g_warn_if_fail (q->dest[i] == NULL);
  g_free (q);
}

void
bf_media_send_queue_begin (BfMediaSendQueue *q)
{
  q->depth++;
}

void
bf_media_send_queue_end (BfMediaSendQueue *q)
{
  g_return_if_fail (q->depth > 0);
  if (--q->depth == 0)
    bf_media_send_queue_flush (q);
}

gboolean
bf_media_send_queue_batching (BfMediaSendQueue *q)
{
  return q->depth > 0;
}

guint8 *
bf_media_send_queue_reserve (BfMediaSendQueue *q)
{
  g_return_val_if_fail (q->depth > 0, NULL);
  if (q->n == SLOTS)
    bf_media_send_queue_flush (q);
  return q->buf[q->n];
}

void
bf_media_send_queue_commit (BfMediaSendQueue *q, BfMediaSendDest *dest, gsize len,
                            gboolean rtcp)
{
  g_return_if_fail (q->n < SLOTS && len <= BF_MEDIA_SEND_QUEUE_SLOT);
  q->dest[q->n] = dest;
  q->len[q->n] = (guint16) len;
  q->rtcp[q->n] = rtcp;
  q->n++;
}

/* Sends the @m messages gathered for socket @fd, as many per sendmmsg as
 * the socket takes; each is counted for its own destination. */
static void
send_gathered (BfMediaSendQueue *q, int fd, guint m)
{
  guint off = 0;
  while (off < m)
    {
      int r = sendmmsg (fd, q->msg + off, m - off, MSG_DONTWAIT);
      q->sendmmsg_calls++;
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          /* The first message failed: drop it and go on with the rest; a
           * full socket buffer (EAGAIN) would refuse them all. */
          guint lost = (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? m - off : 1;
          for (guint k = off; k < off + lost; k++)
            q->msg_dest[k]->counters->send_errors++;
          off += lost;
          continue;
        }
      for (guint k = off; k < off + (guint) r; k++)
        {
          BfMediaCounters *c = q->msg_dest[k]->counters;
          c->packets_out++;
          c->bytes_out += q->iov[k].iov_len;
          if (q->msg_rtcp[k])
            c->rtcp_out++;
          else
            c->rtp_out++;
        }
      off += (guint) r;
    }
}

void
bf_media_send_queue_flush (BfMediaSendQueue *q)
{
  guint n = q->n;
  q->n = 0;
  for (guint i = 0; i < n; i++)
    {
      BfMediaSendDest *d = q->dest[i];
      if (d == NULL)
        continue;
      /* Gather every packet for @d's socket, in queue order, each with
       * its own destination, length and kind (destinations interleave in
       * the queue; with [media] shared-port many share one socket, and
       * leave with one sendmmsg). */
      int fd = d->fd;
      guint m = 0;
      for (guint j = i; j < n; j++)
        if (q->dest[j] != NULL && q->dest[j]->fd == fd)
          {
            BfMediaSendDest *dj = q->dest[j];
            q->iov[m].iov_base = q->buf[j];
            q->iov[m].iov_len = q->len[j];
            struct msghdr *h = &q->msg[m].msg_hdr;
            memset (h, 0, sizeof *h);
            h->msg_name = &dj->addr;
            h->msg_namelen = dj->addr_len;
            h->msg_iov = &q->iov[m];
            h->msg_iovlen = 1;
            q->msg_rtcp[m] = q->rtcp[j];
            q->msg_dest[m] = dj;
            q->dest[j] = NULL;
            m++;
          }
      send_gathered (q, fd, m);
    }
}

void
bf_media_send_queue_forget (BfMediaSendQueue *q, const BfMediaSendDest *dest)
{
  for (guint i = 0; i < q->n; i++)
    if (q->dest[i] == dest)
      q->dest[i] = NULL;
}

guint64
bf_media_send_queue_get_sendmmsg_calls (BfMediaSendQueue *q)
{
  return q->sendmmsg_calls;
}
