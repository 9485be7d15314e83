/* conference — the retransmission buffer (rtx-buffer.h). */
#include <string.h>

#include "rtx-buffer.h"

typedef struct {
  gboolean valid;
  guint16 seq;
  gint64 stored_at;
  gboolean resent;
  gint64 resent_at;
  gsize len;
} Slot;

struct CfRtxBuffer {
  guint mask;
  gint64 max_age;
  Slot *slots;
  /* The copies: slot i's at i * CF_RTX_PACKET_MAX, one block made with the
   * buffer (its pages are touched as slots fill), so that storing never
   * allocates: a room's worker stores every video packet per receiver,
   * and growing slots one by one had its heap grow (and mprotect) under
   * the forwarding path for the first packets of every stream. */
  guint8 *data;
  CfRtxStats stats;
};

static guint8 *
slot_data (CfRtxBuffer *b, const Slot *s)
{
  return b->data + (gsize) (s - b->slots) * CF_RTX_PACKET_MAX;
}

CfRtxBuffer *
cf_rtx_buffer_new (guint capacity, gint64 max_age_us)
{
  CfRtxBuffer *b;

  g_return_val_if_fail (capacity >= 16 && capacity <= CF_RTX_CAPACITY_MAX, NULL);
  g_return_val_if_fail ((capacity & (capacity - 1)) == 0, NULL);
  b = g_new0 (CfRtxBuffer, 1);
  b->mask = capacity - 1;
  b->max_age = max_age_us;
  b->slots = g_new0 (Slot, capacity);
  b->data = g_malloc ((gsize) capacity * CF_RTX_PACKET_MAX);
  return b;
}

void
cf_rtx_buffer_free (CfRtxBuffer *b)
{
  if (b == NULL)
    return;
  g_free (b->data);
  g_free (b->slots);
  g_free (b);
}

void
cf_rtx_buffer_store (CfRtxBuffer *b, guint16 seq, const guint8 *pkt, gsize len, gint64 now)
{
  /* The capacity divides 65536: a sequence number keeps its slot across wraps. */
  Slot *s = &b->slots[seq & b->mask];

  if (len > CF_RTX_PACKET_MAX || len == 0)
    {
      b->stats.too_big++;
      return;
    }
  memcpy (slot_data (b, s), pkt, len);
  s->len = len;
  s->seq = seq;
  s->valid = TRUE;
  s->stored_at = now;
  s->resent = FALSE;
  b->stats.stored++;
}

guint
cf_rtx_buffer_answer (CfRtxBuffer *b, const guint16 *seqs, guint n, gint64 now, gint64 rtt_us,
                      CfRtxSendFunc send, gpointer user_data)
{
  gint64 interval = rtt_us <= 0 ? 100000 : CLAMP (rtt_us, 10000, 500000);
  guint sent = 0;

  for (guint i = 0; i < n; i++)
    {
      Slot *s = &b->slots[seqs[i] & b->mask];

      if (!s->valid || s->seq != seqs[i] || now - s->stored_at > b->max_age)
        {
          b->stats.misses++;
          continue;
        }
      if (s->resent && now - s->resent_at < interval)
        {
          b->stats.rate_limited++;
          continue;
        }
      s->resent = TRUE;
      s->resent_at = now;
      send (slot_data (b, s), s->len, user_data);
      b->stats.resent++;
      sent++;
    }
  return sent;
}

const CfRtxStats *
cf_rtx_buffer_stats (const CfRtxBuffer *b)
{
  return &b->stats;
}
