/* libFuzzer target: the RTP header view (include/belfry/packet.h,
 * relay/rtp-header.c), the one walker every packet from a peer goes
 * through before a module sees it.
 *
 * Input: the packet, copied into a buffer of exactly its size (so ASan
 * sees any read or write past it).  Checks, for a packet the parse takes:
 *   - the fields are the packet's bytes, and payload, padding and the
 *     extension block lie within it, in order, adding up to its length;
 *   - foreach sees elements in order, inside the block, not overlapping;
 *     find() gives the first element of each id foreach saw and nothing
 *     for any other id;
 *   - ids rewritten by a foreach callback do not change which elements a
 *     second walk sees, and nothing outside the id bytes changes;
 *   - the setters write what a fresh parse reads back, and nothing else.
 * (Which packets are refused is checked against a reference walk by
 * fuzz-rtp-map.c, whose bf_rtp_map_apply refuses exactly those.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <belfry/packet.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_SEEN 1024

typedef struct {
  const guint8 *base;
  gsize n;
  gsize id_at[MAX_SEEN], at[MAX_SEEN], len[MAX_SEEN];
  guint8 id[MAX_SEEN];
  gboolean one_byte, rewrite;
} Seen;

static gboolean
note (guint8 *id_byte, guint8 id, guint8 *elem, gsize len, gpointer user_data)
{
  Seen *s = user_data;
  if (s->n >= MAX_SEEN)
    abort ();
  s->id_at[s->n] = (gsize) (id_byte - s->base);
  s->at[s->n] = (gsize) (elem - s->base);
  s->len[s->n] = len;
  s->id[s->n] = id;
  s->n++;
  if (s->rewrite)
    {
      if (s->one_byte)
        *id_byte = (guint8) ((((id % 14) + 1) << 4) | (*id_byte & 0x0f));
      else
        *id_byte = (guint8) (id == 255 ? 1 : id + 1);
    }
  return TRUE;
}

/* Field by field: the struct has padding. */
static gboolean
same (const BfRtpHeader *a, const BfRtpHeader *b)
{
  return a->payload_type == b->payload_type && a->marker == b->marker && a->seq == b->seq
         && a->timestamp == b->timestamp && a->ssrc == b->ssrc && a->csrc_count == b->csrc_count
         && a->ext_profile == b->ext_profile && a->ext_offset == b->ext_offset
         && a->ext_len == b->ext_len && a->payload_offset == b->payload_offset
         && a->payload_len == b->payload_len && a->padding == b->padding;
}

static void
check (guint8 *pkt, gsize len)
{
  BfRtpHeader h;
  if (!bf_rtp_header_parse (pkt, len, &h))
    return;
  if (h.payload_type != (pkt[1] & 0x7f) || h.marker != ((pkt[1] & 0x80) != 0)
      || h.seq != bf_read_be16 (pkt + 2) || h.timestamp != bf_read_be32 (pkt + 4)
      || h.ssrc != bf_read_be32 (pkt + 8) || h.csrc_count != (pkt[0] & 0x0f))
    abort ();
  if ((gsize) h.payload_offset + h.payload_len + h.padding != len
      || h.payload_offset < 12 + 4u * h.csrc_count)
    abort ();
  if (((pkt[0] & 0x20) != 0) != (h.padding != 0))
    abort ();
  if (h.ext_offset != 0)
    {
      if (!(pkt[0] & 0x10) || h.ext_offset != 12 + 4u * h.csrc_count + 4
          || (gsize) h.ext_offset + h.ext_len != h.payload_offset
          || h.ext_profile != bf_read_be16 (pkt + h.ext_offset - 4))
        abort ();
    }
  else if ((pkt[0] & 0x10) || h.ext_len != 0 || h.payload_offset != 12 + 4u * h.csrc_count)
    abort ();

  static Seen seen, again;
  memset (&seen, 0, sizeof seen);
  seen.base = pkt;
  bf_rtp_header_foreach_extension (&h, pkt, note, &seen);
  gboolean one_byte = h.ext_profile == 0xBEDE;
  gsize prev_end = h.ext_offset;
  for (gsize i = 0; i < seen.n; i++)
    {
      gsize hlen = one_byte ? 1 : 2;
      if (seen.id_at[i] < prev_end || seen.at[i] != seen.id_at[i] + hlen
          || seen.at[i] + seen.len[i] > (gsize) h.ext_offset + h.ext_len || seen.id[i] == 0
          || (one_byte && (seen.id[i] > 14 || seen.len[i] < 1 || seen.len[i] > 16)))
        abort ();
      prev_end = seen.at[i] + seen.len[i];
    }
  if (seen.n && !(one_byte || (h.ext_profile & 0xFFF0) == 0x1000))
    abort ();
  for (guint id = 0; id < 256; id++)
    {
      gsize flen = 0;
      const guint8 *f = bf_rtp_header_find_extension (&h, pkt, (guint8) id, &flen);
      gsize first = seen.n;
      for (gsize i = 0; i < seen.n && first == seen.n; i++)
        if (seen.id[i] == id)
          first = i;
      if (first == seen.n ? f != NULL : (f != pkt + seen.at[first] || flen != seen.len[first]))
        abort ();
    }

  /* Rewriting ids on the way: the same elements, only id bytes changed. */
  guint8 *before = malloc (len);
  memcpy (before, pkt, len);
  seen.n = 0;
  seen.one_byte = one_byte;
  seen.rewrite = TRUE;
  bf_rtp_header_foreach_extension (&h, pkt, note, &seen);
  memset (&again, 0, sizeof again);
  again.base = pkt;
  bf_rtp_header_foreach_extension (&h, pkt, note, &again);
  if (again.n != seen.n)
    abort ();
  for (gsize i = 0; i < seen.n; i++)
    if (again.at[i] != seen.at[i] || again.len[i] != seen.len[i])
      abort ();
  for (gsize i = 0, k = 0; i < len; i++)
    {
      if (k < seen.n && i == seen.id_at[k])
        {
          k++;
          continue;
        }
      if (pkt[i] != before[i])
        abort ();
    }

  /* Setters: what they write is what a parse reads, nothing else moves. */
  memcpy (before, pkt, len);
  BfRtpHeader w = h;
  bf_rtp_set_payload_type (pkt, &w, (guint8) (h.seq ^ 0xA5));
  bf_rtp_set_seq (pkt, &w, (guint16) ~h.seq);
  bf_rtp_set_timestamp (pkt, &w, h.ssrc);
  bf_rtp_set_ssrc (pkt, &w, h.timestamp);
  BfRtpHeader r;
  if (!bf_rtp_header_parse (pkt, len, &r) || !same (&r, &w) || r.marker != h.marker || memcmp (pkt + 12, before + 12, len - 12) != 0
      || pkt[0] != before[0])
    abort ();
  free (before);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  guint8 *pkt = malloc (size ? size : 1);
  if (size)
    memcpy (pkt, data, size);
  check (pkt, size);
  free (pkt);
  return 0;
}
