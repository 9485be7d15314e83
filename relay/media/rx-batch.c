#define G_LOG_DOMAIN "belfry-media"
/* belfry media: per-thread recvmmsg buffers (see rx-batch.h). */
#include "rx-batch.h"

#include <errno.h>
#include <string.h>

static GPrivate rx_key = G_PRIVATE_INIT (g_free);

BfMediaRxBatch *
bf_media_rx_batch_prepare (void)
{
  BfMediaRxBatch *rx = g_private_get (&rx_key);
  if (rx == NULL)
    {
      rx = g_malloc0 (sizeof *rx);
      g_private_set (&rx_key, rx);
    }
  for (guint i = 0; i < BF_MEDIA_RX_BATCH; i++)
    {
      rx->iov[i].iov_base = rx->buf[i];
      rx->iov[i].iov_len = BF_MEDIA_RX_BUF;
      struct msghdr *h = &rx->msg[i].msg_hdr;
      memset (h, 0, sizeof *h);
      h->msg_name = &rx->from[i];
      h->msg_namelen = sizeof rx->from[i];
      h->msg_iov = &rx->iov[i];
      h->msg_iovlen = 1;
      h->msg_control = rx->control[i].buf;
      h->msg_controllen = sizeof rx->control[i].buf;
    }
  return rx;
}

int
bf_media_rx_batch_read (BfMediaRxBatch *rx, int fd)
{
  int n;
  do
    n = recvmmsg (fd, rx->msg, BF_MEDIA_RX_BATCH, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  /* EAGAIN; ICMP errors are not reported on an unconnected socket */
  return n < 0 ? 0 : n;
}

guint32
bf_media_rx_batch_overflow (struct msghdr *h, guint32 *seen)
{
  guint32 dropped = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (h); c; c = CMSG_NXTHDR (h, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL
        && c->cmsg_len >= CMSG_LEN (sizeof (guint32)))
      {
        guint32 total;
        memcpy (&total, CMSG_DATA (c), sizeof total);
        dropped += (guint32) (total - *seen);
        *seen = total;
      }
  return dropped;
}

void
bf_media_rx_batch_enable_overflow (int fd)
{
  int one = 1;
  if (setsockopt (fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0)
    g_debug ("media: SO_RXQ_OVFL: %s (socket drops not counted)", g_strerror (errno));
}
