/* One forwarded video stream toward one receiver: see sfu-stream.h.
 *
 * Sequence numbers are handled in an extended (64-bit) space.  The source
 * layer's numbers are unwrapped against the highest seen; our numbers are
 * source + offset, where the offset drops by one after each packet the
 * stream drops on purpose (so those leave no gap) and is set afresh at a
 * switch (so the new layer continues our numbering).  The offsets in force
 * since the last switch are kept in a short history, by the source number
 * they start at, so a late (reordered) packet gets the number it would
 * have had in order, and a gap (a real loss) can be mapped back for a
 * NACK.  A late packet that was dropped on purpose leaves its number as a
 * gap (its slot was already given): the receiver may NACK it, and the
 * NACK maps to the source packet, which the room may then not have.
 *
 * Threads: the room's worker only (see the header). */
#include "sfu-stream.h"

#include <string.h>

#include "h264-packet.h"
#include "h264-sps.h"

#define OFFSET_HISTORY 64

typedef struct {
  gint64 from;      /* source extended seq from which... */
  gint64 offset;    /* ...our extended seq = source + offset */
} OffsetChange;

typedef struct {
  gboolean valid;
  guint16 seq;      /* ours */
  guint16 src_seq;
  guint32 src_ssrc;
} NackEntry;

struct CfSfuStream {
  /* Every forwarded packet reads and writes the scalars and the stats, and
   * one entry of each history: the arrays come last, so that a packet
   * touches few cache lines of a stream (a room's worker goes through
   * thousands of them in turn). */
  guint32 ssrc;
  guint32 clock_rate;
  CfSfuCodec codec;
  guint32 layer_ssrc[CF_SFU_MAX_LAYERS];

  gint layer;          /* forwarded now, -1 none */
  gint target;
  guint max_tid;       /* the receiver's maximum temporal layer */
  guint cur_tid;       /* forwarded now: <= max_tid, raised at Y=1 */
  gint64 last_request; /* last keyframe request, monotonic µs */
  gboolean started;    /* anything forwarded yet: there is a past to continue */

  /* Source side of the forwarded layer, since the switch to it (and the
   * offsets in changes[] below). */
  gint64 src_highest;  /* extended seq of the newest packet seen */
  gint64 src_switch;   /* extended seq of the keyframe switched at */
  guint n_changes;
  guint32 ts_offset;
  gboolean have_src_pid;
  guint16 src_pid;     /* newest picture's PictureID in the source... */
  guint src_pid_bits;  /* ...and its width */
  gboolean have_src_tl0;
  guint8 src_tl0;

  /* Our side, continuous across switches. */
  gint64 out_highest;  /* extended seq of the newest packet sent */
  guint32 out_ts;      /* newest timestamp sent... */
  gint64 out_ts_arrival;   /* ...and when its first packet arrived */
  guint16 out_pid;     /* 15-bit, written modulo the packet's width */
  guint8 out_tl0;

  CfSfuStats stats;
  OffsetChange changes[OFFSET_HISTORY];
  NackEntry nack[CF_SFU_NACK_HISTORY];
};

gboolean
cf_sfu_payload_parse (CfSfuCodec codec, const guint8 *payload, gsize len, CfVp8Descriptor *d)
{
  CfH264Packet h;

  if (codec == CF_SFU_VP8)
    return cf_vp8_descriptor_parse (payload, len, d);
  /* H.264: no field of the VP8 descriptor (no PictureID, TL0PICIDX or
   * TID), so the code below leaves the payload alone. */
  memset (d, 0, sizeof *d);
  if (!cf_h264_packet_parse (payload, len, &h))
    return FALSE;
  d->keyframe = h.keyframe;
  /* The frame size of the layer, as a VP8 keyframe gives it (the room's
   * size cap, bandwidth.h). */
  if (h.has_sps && !cf_h264_sps_size (payload + h.sps_offset, h.sps_len, &d->width, &d->height))
    d->width = d->height = 0;
  return TRUE;
}

CfSfuStream *
cf_sfu_stream_new (guint32 ssrc, guint32 clock_rate, CfSfuCodec codec)
{
  CfSfuStream *s = g_new0 (CfSfuStream, 1);

  s->ssrc = ssrc;
  s->clock_rate = clock_rate ? clock_rate : 90000;
  s->codec = codec;
  s->layer = -1;
  s->target = -1;
  s->max_tid = 3;
  s->cur_tid = 3;
  s->last_request = G_MININT64;
  return s;
}

void
cf_sfu_stream_free (CfSfuStream *s)
{
  g_free (s);
}

void
cf_sfu_stream_set_layer_ssrc (CfSfuStream *s, guint layer, guint32 ssrc)
{
  if (layer >= CF_SFU_MAX_LAYERS)
    return;
  if (s->layer == (gint) layer && s->layer_ssrc[layer] != ssrc)
    s->layer = -1;   /* another stream now: wait for its keyframe */
  s->layer_ssrc[layer] = ssrc;
}

void
cf_sfu_stream_set_target (CfSfuStream *s, gint layer, guint max_tid)
{
  if (layer < -1 || layer >= CF_SFU_MAX_LAYERS)
    layer = -1;
  if (layer != s->target)
    s->last_request = G_MININT64;   /* a new wish: ask at once */
  s->target = layer;
  if (layer < 0)
    s->layer = -1;
  s->max_tid = MIN (max_tid, 3);
  if (s->cur_tid > s->max_tid)
    s->cur_tid = s->max_tid;
}

gint
cf_sfu_stream_get_layer (const CfSfuStream *s)
{
  return s->layer;
}

gint
cf_sfu_stream_get_target (const CfSfuStream *s)
{
  return s->target;
}

void
cf_sfu_stream_prefetch (const CfSfuStream *s)
{
  const char *p = (const char *) s;
  /* The scalars, the stats and the first offset changes (a stream
   * between switches has one or two). */
  gsize end = G_STRUCT_OFFSET (CfSfuStream, changes) + 2 * sizeof (OffsetChange);

  for (gsize o = 0; o < end; o += 64)
    __builtin_prefetch (p + o, 1);
  __builtin_prefetch (p + end - 1, 1);
}

gboolean
cf_sfu_stream_waiting (const CfSfuStream *s)
{
  return s->target >= 0 && s->target != s->layer;
}

const CfSfuStats *
cf_sfu_stream_get_stats (const CfSfuStream *s)
{
  return &s->stats;
}

gboolean
cf_sfu_stream_keyframe_request (CfSfuStream *s, gint64 now, guint32 *ssrc)
{
  if (s->target < 0 || s->target == s->layer || s->layer_ssrc[s->target] == 0)
    return FALSE;
  if (s->last_request != G_MININT64 && now - s->last_request < CF_SFU_KEYFRAME_INTERVAL_US)
    return FALSE;
  s->last_request = now;
  s->stats.keyframe_requests++;
  if (ssrc)
    *ssrc = s->layer_ssrc[s->target];
  return TRUE;
}

static gint
layer_of (const CfSfuStream *s, guint32 ssrc)
{
  for (guint i = 0; i < CF_SFU_MAX_LAYERS; i++)
    if (s->layer_ssrc[i] != 0 && s->layer_ssrc[i] == ssrc)
      return (gint) i;
  return -1;
}

static void
push_change (CfSfuStream *s, gint64 from, gint64 offset)
{
  if (s->n_changes == OFFSET_HISTORY)
    {
      /* The oldest goes: packets before the next one are then too late. */
      memmove (s->changes, s->changes + 1, sizeof s->changes[0] * (OFFSET_HISTORY - 1));
      s->n_changes--;
      s->src_switch = MAX (s->src_switch, s->changes[0].from);
    }
  s->changes[s->n_changes].from = from;
  s->changes[s->n_changes].offset = offset;
  s->n_changes++;
}

/* The offset in force for source extended seq @ext; FALSE when older than
 * the history. */
static gboolean
offset_at (const CfSfuStream *s, gint64 ext, gint64 *offset)
{
  for (guint i = s->n_changes; i > 0; i--)
    if (s->changes[i - 1].from <= ext)
      {
        *offset = s->changes[i - 1].offset;
        return TRUE;
      }
  return FALSE;
}

/* The source extended seq our extended seq @out came (or would have come)
 * from: the one packet whose in-force offset maps it there. */
static gboolean
source_of (const CfSfuStream *s, gint64 out, gint64 *ext)
{
  for (guint i = s->n_changes; i > 0; i--)
    {
      const OffsetChange *c = &s->changes[i - 1];
      gint64 src = out - c->offset;
      gint64 until = i < s->n_changes ? s->changes[i].from : s->src_highest + 1;

      if (src >= c->from && src < until)
        {
          *ext = src;
          return TRUE;
        }
    }
  return FALSE;
}

static void
nack_record (CfSfuStream *s, guint16 seq, guint32 src_ssrc, guint16 src_seq)
{
  NackEntry *e = &s->nack[seq % CF_SFU_NACK_HISTORY];

  e->valid = TRUE;
  e->seq = seq;
  e->src_seq = src_seq;
  e->src_ssrc = src_ssrc;
}

gboolean
cf_sfu_stream_nack_lookup (const CfSfuStream *s, guint16 seq, guint32 *src_ssrc, guint16 *src_seq)
{
  const NackEntry *e = &s->nack[seq % CF_SFU_NACK_HISTORY];

  if (!e->valid || e->seq != seq)
    return FALSE;
  /* Older than the history (the slot was reused for a newer number, which
   * the check above catches) or ahead of what was sent. */
  if ((gint16) (guint16) (seq - (guint16) s->out_highest) > 0)
    return FALSE;
  if (src_ssrc)
    *src_ssrc = e->src_ssrc;
  if (src_seq)
    *src_seq = e->src_seq;
  return TRUE;
}

/* Start forwarding layer @layer at its keyframe (@rtp, @d), continuing our
 * numbering, timestamps and picture ids. */
static void
switch_to (CfSfuStream *s, gint layer, const BfRtpHeader *rtp, const CfVp8Descriptor *d,
           gint64 arrival)
{
  /* Any base does for the new layer's extended numbers: ours carry on. */
  gint64 ext = ((gint64) 1 << 32) + rtp->seq;
  gint64 out_ext;
  guint32 out_ts;

  if (s->started)
    {
      gint64 elapsed = arrival - s->out_ts_arrival;
      guint64 step = elapsed > 0 ? (guint64) elapsed * s->clock_rate / G_USEC_PER_SEC : 0;

      /* Never backwards nor equal: the new frame is another frame.  A
       * step past half the timestamp space would read as backwards. */
      step = CLAMP (step, 1, G_MAXINT32);
      out_ext = s->out_highest + 1;
      out_ts = s->out_ts + (guint32) step;
      s->out_pid = (guint16) ((s->out_pid + 1) & 0x7fff);
      s->out_tl0 = (guint8) (s->out_tl0 + 1);
    }
  else
    {
      /* The first layer: its own numbers as they are. */
      out_ext = ext;
      out_ts = rtp->timestamp;
      s->out_pid = d->picture_id;
      s->out_tl0 = d->tl0picidx;
      s->out_highest = out_ext - 1;
    }

  s->layer = layer;
  s->cur_tid = s->max_tid;
  s->src_highest = ext;
  s->src_switch = ext;
  s->n_changes = 0;
  push_change (s, ext, out_ext - ext);
  s->ts_offset = out_ts - rtp->timestamp;
  s->have_src_pid = d->picture_id_bits != 0;
  s->src_pid = d->picture_id;
  s->src_pid_bits = d->picture_id_bits;
  s->have_src_tl0 = d->has_tl0picidx;
  s->src_tl0 = d->tl0picidx;
  s->stats.switches++;
}

/* Signed difference @a - @b of two PictureIDs of @bits bits. */
static gint
pid_delta (guint16 a, guint16 b, guint bits)
{
  guint mask = (1u << bits) - 1;
  guint d = (guint) (a - b) & mask;

  return d >= (1u << (bits - 1)) ? (gint) d - (gint) (1u << bits) : (gint) d;
}

/* Our PictureID for the source's @d: the newest's plus the distance, so
 * pictures the stream dropped leave no hole (the newest source picture
 * advances without ours); a change of width restarts at the next one. */
static guint16
map_picture_id (CfSfuStream *s, const CfVp8Descriptor *d, gboolean dropping)
{
  gint delta;

  if (!s->have_src_pid || d->picture_id_bits != s->src_pid_bits)
    {
      s->have_src_pid = TRUE;
      s->src_pid = d->picture_id;
      s->src_pid_bits = d->picture_id_bits;
      if (!dropping)
        s->out_pid = (guint16) ((s->out_pid + 1) & 0x7fff);
      return s->out_pid;
    }
  delta = pid_delta (d->picture_id, s->src_pid, d->picture_id_bits);
  if (delta <= 0)
    return (guint16) ((s->out_pid + delta) & 0x7fff);
  /* A newer picture. */
  s->src_pid = d->picture_id;
  if (dropping)
    return s->out_pid;
  s->out_pid = (guint16) ((s->out_pid + delta) & 0x7fff);
  return s->out_pid;
}

static guint8
map_tl0picidx (CfSfuStream *s, const CfVp8Descriptor *d)
{
  gint delta;

  if (!s->have_src_tl0)
    {
      s->have_src_tl0 = TRUE;
      s->src_tl0 = d->tl0picidx;
      s->out_tl0 = (guint8) (s->out_tl0 + 1);
      return s->out_tl0;
    }
  delta = (gint8) (guint8) (d->tl0picidx - s->src_tl0);
  if (delta <= 0)
    return (guint8) (s->out_tl0 + delta);
  s->src_tl0 = d->tl0picidx;
  s->out_tl0 = (guint8) (s->out_tl0 + delta);
  return s->out_tl0;
}

CfSfuVerdict
cf_sfu_stream_push (CfSfuStream *s, guint8 *data, gsize len, const BfRtpHeader *rtp,
                    gint64 arrival)
{
  CfVp8Descriptor d;
  guint8 *payload;
  gint layer;
  gint64 ext, offset, out_ext;
  guint32 out_ts;

  if (rtp->payload_offset > len || rtp->payload_len > len - rtp->payload_offset || len < 12)
    {
      s->stats.dropped_malformed++;
      return CF_SFU_DROP_MALFORMED;
    }
  layer = layer_of (s, rtp->ssrc);
  if (layer < 0)
    {
      s->stats.dropped_unknown++;
      return CF_SFU_DROP_UNKNOWN;
    }
  payload = data + rtp->payload_offset;
  if (!cf_sfu_payload_parse (s->codec, payload, rtp->payload_len, &d))
    {
      s->stats.dropped_malformed++;
      return CF_SFU_DROP_MALFORMED;
    }

  if (layer == s->target && layer != s->layer && d.keyframe)
    switch_to (s, layer, rtp, &d, arrival);
  if (layer != s->layer)
    {
      s->stats.dropped_layer++;
      return CF_SFU_DROP_LAYER;
    }

  ext = s->src_highest + (gint16) (guint16) (rtp->seq - (guint16) s->src_highest);
  if (ext - s->src_highest > CF_SFU_MAX_SEQ_JUMP)
    {
      /* The sender restarted its numbering: carry ours on from here. */
      s->n_changes = 0;
      s->src_switch = ext;
      push_change (s, ext, s->out_highest + 1 - ext);
      s->src_highest = ext - 1;
    }
  if (ext < s->src_switch || s->src_highest - ext > CF_SFU_MAX_SEQ_JUMP)
    {
      s->stats.dropped_old++;
      return CF_SFU_DROP_OLD;
    }

  /* Temporal layers: drop above the current maximum; raise it at a
   * layer-sync packet of a layer the receiver may have (a keyframe raised
   * it at the switch). */
  if (d.has_tid && d.tid > s->cur_tid)
    {
      if (d.tid <= s->max_tid && d.layer_sync)
        s->cur_tid = d.tid;
      else
        {
          if (ext > s->src_highest)
            {
              /* In order: the numbers after it close up. */
              gint64 cur;

              if (!offset_at (s, ext, &cur))
                cur = s->changes[s->n_changes - 1].offset;
              s->src_highest = ext;
              if (s->changes[s->n_changes - 1].from == ext && s->n_changes > 1)
                {
                  /* The packet before was dropped too: one change for both. */
                  s->changes[s->n_changes - 1].from = ext + 1;
                  s->changes[s->n_changes - 1].offset = cur - 1;
                }
              else
                push_change (s, ext + 1, cur - 1);
            }
          if (d.picture_id_bits)
            map_picture_id (s, &d, TRUE);
          s->stats.dropped_temporal++;
          return CF_SFU_DROP_TEMPORAL;
        }
    }

  if (!offset_at (s, ext, &offset))
    {
      s->stats.dropped_old++;
      return CF_SFU_DROP_OLD;
    }
  out_ext = ext + offset;
  if (out_ext <= s->out_highest - CF_SFU_NACK_HISTORY)
    {
      s->stats.dropped_old++;
      return CF_SFU_DROP_OLD;
    }
  out_ts = rtp->timestamp + s->ts_offset;

  if (ext > s->src_highest)
    s->src_highest = ext;
  /* Our numbers skipped between the newest sent and this one are real
   * losses of this layer: remember where they came from, for NACKs. */
  if (out_ext > s->out_highest + 1 && out_ext - s->out_highest < CF_SFU_NACK_HISTORY)
    for (gint64 o = s->out_highest + 1; o < out_ext; o++)
      {
        gint64 src;

        if (source_of (s, o, &src))
          nack_record (s, (guint16) o, rtp->ssrc, (guint16) src);
      }
  if (out_ext > s->out_highest)
    s->out_highest = out_ext;
  if ((gint32) (out_ts - s->out_ts) > 0 || !s->started)
    {
      s->out_ts = out_ts;
      s->out_ts_arrival = arrival;
    }
  s->started = TRUE;

  if (d.picture_id_bits)
    cf_vp8_descriptor_set_picture_id (payload, &d, map_picture_id (s, &d, FALSE));
  if (d.has_tl0picidx)
    cf_vp8_descriptor_set_tl0picidx (payload, &d, map_tl0picidx (s, &d));
  bf_write_be16 (data + 2, (guint16) out_ext);
  bf_write_be32 (data + 4, out_ts);
  bf_write_be32 (data + 8, s->ssrc);
  nack_record (s, (guint16) out_ext, rtp->ssrc, rtp->seq);
  s->stats.forwarded++;
  return CF_SFU_FORWARD;
}
