/* conference — retransmissions: a source's store and a receiver's buffer (rtx-buffer.h). */
#include <string.h>

#include "rtx-buffer.h"

static gboolean
capacity_ok (guint capacity)
{
  return capacity >= 16 && capacity <= CF_RTX_CAPACITY_MAX && (capacity & (capacity - 1)) == 0;
}

/* --- The store --- */

struct CfRtxStore {
  guint mask;
  guint64 next;            /* the next packet's number; 0 is never one */
  guint64 *no;             /* slot i: the number of the packet there, 0: none */
  guint16 *len;
  /* Slot i's bytes at i * CF_RTX_PACKET_MAX, one block made with the store
   * (its pages are touched as slots fill), so that keeping never
   * allocates under the forwarding path. */
  guint8 *data;
};

CfRtxStore *
cf_rtx_store_new (guint capacity)
{
  CfRtxStore *s;

  g_return_val_if_fail (capacity_ok (capacity), NULL);
  s = g_new0 (CfRtxStore, 1);
  s->mask = capacity - 1;
  s->next = 1;
  s->no = g_new0 (guint64, capacity);
  s->len = g_new0 (guint16, capacity);
  s->data = g_malloc ((gsize) capacity * CF_RTX_PACKET_MAX);
  return s;
}

void
cf_rtx_store_free (CfRtxStore *s)
{
  if (s == NULL)
    return;
  g_free (s->data);
  g_free (s->len);
  g_free (s->no);
  g_free (s);
}

guint64
cf_rtx_store_keep (CfRtxStore *s, const guint8 *pkt, gsize len)
{
  guint64 no;
  guint i;

  if (len == 0 || len > CF_RTX_PACKET_MAX)
    return 0;
  no = s->next++;
  i = (guint) (no & s->mask);
  memcpy (s->data + (gsize) i * CF_RTX_PACKET_MAX, pkt, len);
  s->no[i] = no;
  s->len[i] = (guint16) len;
  return no;
}

const guint8 *
cf_rtx_store_get (const CfRtxStore *s, guint64 no, gsize *len)
{
  guint i = (guint) (no & s->mask);

  if (no == 0 || s->no[i] != no)
    return NULL;
  *len = s->len[i];
  return s->data + (gsize) i * CF_RTX_PACKET_MAX;
}

/* --- A receiver's buffer --- */

typedef struct {
  gboolean valid;
  guint16 seq;
  guint16 len;
  guint8 prefix_len;
  gboolean resent;
  gint64 stored_at;
  gint64 resent_at;
  guint64 no;              /* the rest of it: the store's packet */
  guint8 prefix[CF_RTX_PREFIX_MAX];
} Slot;

struct CfRtxBuffer {
  guint mask;
  gint64 max_age;
  Slot *slots;
  CfRtxStats stats;
};

CfRtxBuffer *
cf_rtx_buffer_new (guint capacity, gint64 max_age_us)
{
  CfRtxBuffer *b;

  g_return_val_if_fail (capacity_ok (capacity), NULL);
  b = g_new0 (CfRtxBuffer, 1);
  b->mask = capacity - 1;
  b->max_age = max_age_us;
  b->slots = g_new0 (Slot, capacity);
  return b;
}

void
cf_rtx_buffer_free (CfRtxBuffer *b)
{
  if (b == NULL)
    return;
  g_free (b->slots);
  g_free (b);
}

void
cf_rtx_buffer_store (CfRtxBuffer *b, guint16 seq, const guint8 *pkt, gsize len,
                     gsize prefix_len, guint64 no, gint64 now)
{
  /* The capacity divides 65536: a sequence number keeps its slot across wraps. */
  Slot *s = &b->slots[seq & b->mask];

  if (no == 0 || len == 0 || len > CF_RTX_PACKET_MAX || prefix_len > CF_RTX_PREFIX_MAX
      || prefix_len > len)
    {
      /* Whatever the slot held is older than this packet: not an answer any more. */
      s->valid = FALSE;
      b->stats.not_kept++;
      return;
    }
  memcpy (s->prefix, pkt, prefix_len);
  s->prefix_len = (guint8) prefix_len;
  s->len = (guint16) len;
  s->no = no;
  s->seq = seq;
  s->valid = TRUE;
  s->stored_at = now;
  s->resent = FALSE;
  b->stats.stored++;
}

guint
cf_rtx_buffer_answer (CfRtxBuffer *b, const CfRtxStore *store, const guint16 *seqs, guint n,
                      gint64 now, gint64 rtt_us, CfRtxSendFunc send, gpointer user_data)
{
  gint64 interval = rtt_us <= 0 ? 100000 : CLAMP (rtt_us, 10000, 500000);
  guint sent = 0;

  for (guint i = 0; i < n; i++)
    {
      Slot *s = &b->slots[seqs[i] & b->mask];
      guint8 pkt[CF_RTX_PACKET_MAX];
      const guint8 *rest;
      gsize rest_len = 0;

      rest = store != NULL && s->valid ? cf_rtx_store_get (store, s->no, &rest_len) : NULL;
      if (rest == NULL || rest_len != s->len || s->seq != seqs[i]
          || now - s->stored_at > b->max_age)
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
      memcpy (pkt, s->prefix, s->prefix_len);
      memcpy (pkt + s->prefix_len, rest + s->prefix_len, s->len - s->prefix_len);
      send (pkt, s->len, user_data);
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
