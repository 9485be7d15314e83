/* The SFU's per-receiver forwarding state (modules/conference/sfu-stream.c)
 * on synthetic VP8 streams: three simulcast layers of one sender (1, 2 and
 * 3 packets a frame, 25 frames a second, unrelated sequence, timestamp and
 * PictureID bases: layer 0 with a 7-bit PictureID about to wrap and a
 * sequence number about to wrap, layer 1 a 15-bit one about to wrap), a
 * temporal pattern TID 0,2,1,2 (L1T3, Y on the frames that depend on TID 0
 * only) and keyframes at known frames.  Every forwarded packet is read back
 * and the receiver's view is checked: one SSRC of ours, sequence numbers
 * without gaps but for real losses, timestamps never backwards and stepping
 * by whole frames of wall-clock time, PictureID +1 a picture (modulo its
 * width), TL0PICIDX +1 a TID 0 picture; switches only at keyframes of the
 * target; NACKs mapped back.  Then H.264 (RFC 6184 mode 1): two layers of
 * SPS, PPS, FU-A IDR keyframes and FU-A delta frames, started and switched
 * at the SPS packet only, payloads untouched, numbering continuous. */
#include <string.h>
#include <glib.h>
#include <belfry/packet.h>

#include "sfu-stream.h"
#include "vp8-descriptor.h"

#define OURS 0x0f0f0001u
#define FRAME_US 40000
#define FRAME_TS 3600
#define T0 ((gint64) 1000 * G_USEC_PER_SEC)
#define MAX_FRAMES 128
#define MAX_OUT 2048

static const guint32 layer_ssrc[3] = { 0xa0000001u, 0xb0000002u, 0xc0000003u };

typedef struct {
  guint8 data[64];
  gsize len;
  guint layer;
  guint frame;
  guint16 src_seq;
} Pkt;

typedef struct {
  guint32 ssrc;
  guint16 seq;
  guint32 ts;
  guint16 pid;
  guint pid_bits;
  guint8 tl0;
  guint tid;
  gboolean start;
  gboolean key;
  guint layer;      /* the source's, from the payload */
  guint frame;
  guint16 src_seq;
} Out;

typedef struct {
  guint16 seq;
  guint32 ts;
  guint16 pid;
  guint pid_bits;
  guint8 tl0;
  guint npkts;
  gboolean key[MAX_FRAMES];
} Layer;

typedef struct {
  CfSfuStream *s;
  Layer l[3];
  Out out[MAX_OUT];
  guint n_out;
  CfSfuVerdict last;
} Sim;

static guint
tid_of (guint frame)
{
  static const guint pattern[4] = { 0, 2, 1, 2 };
  return pattern[frame % 4];
}

static void
sim_init (Sim *sim)
{
  memset (sim, 0, sizeof *sim);
  sim->s = cf_sfu_stream_new (OURS, 90000, CF_SFU_VP8);
  sim->l[0] = (Layer) { .seq = 65530, .ts = 0xfffff000u, .pid = 120, .pid_bits = 7, .tl0 = 250, .npkts = 1 };
  sim->l[1] = (Layer) { .seq = 1000, .ts = 12345, .pid = 32760, .pid_bits = 15, .tl0 = 7, .npkts = 2 };
  sim->l[2] = (Layer) { .seq = 30000, .ts = 0x80000000u, .pid = 500, .pid_bits = 15, .tl0 = 100, .npkts = 3 };
  for (guint i = 0; i < 3; i++)
    cf_sfu_stream_set_layer_ssrc (sim->s, i, layer_ssrc[i]);
}

static void
sim_clear (Sim *sim)
{
  cf_sfu_stream_free (sim->s);
}

/* The packets of frame @frame of layer @li into @pkts; returns how many. */
static guint
make_frame (Sim *sim, guint li, guint frame, Pkt *pkts)
{
  Layer *l = &sim->l[li];
  gboolean key = l->key[frame];
  guint tid = key ? 0 : tid_of (frame);
  gboolean sync = !key && (frame % 4 == 1 || frame % 4 == 2);
  guint32 ts = l->ts + frame * FRAME_TS;
  guint16 pid = (guint16) ((l->pid + frame) & ((1u << l->pid_bits) - 1));
  guint8 tl0 = (guint8) (l->tl0 + frame / 4);   /* +1 at each frame 4k (TID 0) */

  for (guint i = 0; i < l->npkts; i++)
    {
      Pkt *p = &pkts[i];
      guint8 *d = p->data;
      gsize n = 0;
      guint16 seq = (guint16) (l->seq + frame * l->npkts + i);

      d[n++] = 0x80;
      d[n++] = (guint8) (96 | (i + 1 == l->npkts ? 0x80 : 0));
      bf_write_be16 (d + n, seq); n += 2;
      bf_write_be32 (d + n, ts); n += 4;
      bf_write_be32 (d + n, layer_ssrc[li]); n += 4;
      d[n++] = (guint8) (0x80 | (i == 0 ? 0x10 : 0));    /* X, S on the first */
      d[n++] = 0xe0;                                      /* I L T */
      if (l->pid_bits == 15)
        {
          d[n++] = (guint8) (0x80 | (pid >> 8));
          d[n++] = (guint8) pid;
        }
      else
        d[n++] = (guint8) pid;
      d[n++] = tl0;
      d[n++] = (guint8) ((tid << 6) | (sync ? 0x20 : 0));
      if (i == 0)
        {
          d[n++] = key ? 0x00 : 0x01;   /* P bit */
          d[n++] = 0;
          d[n++] = 0;
        }
      d[n++] = (guint8) li;
      d[n++] = (guint8) frame;
      p->len = n;
      p->layer = li;
      p->frame = frame;
      p->src_seq = seq;
    }
  return l->npkts;
}

static CfSfuVerdict
push (Sim *sim, Pkt *p, gint64 arrival)
{
  BfRtpHeader h, ho;
  CfVp8Descriptor d;
  CfSfuVerdict v;

  g_assert_true (bf_rtp_header_parse (p->data, p->len, &h));
  v = cf_sfu_stream_push (sim->s, p->data, p->len, &h, arrival);
  sim->last = v;
  if (v != CF_SFU_FORWARD)
    return v;
  g_assert_cmpuint (sim->n_out, <, MAX_OUT);
  g_assert_true (bf_rtp_header_parse (p->data, p->len, &ho));
  g_assert_cmpuint (ho.payload_offset, ==, h.payload_offset);
  g_assert_true (cf_vp8_descriptor_parse (p->data + ho.payload_offset, ho.payload_len, &d));
  sim->out[sim->n_out++] = (Out) {
    .ssrc = ho.ssrc, .seq = ho.seq, .ts = ho.timestamp, .pid = d.picture_id,
    .pid_bits = d.picture_id_bits, .tl0 = d.tl0picidx, .tid = d.tid, .start = d.start,
    .key = d.keyframe, .layer = p->data[p->len - 2], .frame = p->data[p->len - 1],
    .src_seq = p->src_seq,
  };
  return v;
}

/* Frames [@from, @to) of every layer in @mask, arriving together. */
static void
run (Sim *sim, guint from, guint to, guint mask)
{
  for (guint f = from; f < to; f++)
    for (guint li = 0; li < 3; li++)
      if (mask & (1u << li))
        {
          Pkt pkts[3];
          guint n = make_frame (sim, li, f, pkts);

          for (guint i = 0; i < n; i++)
            push (sim, &pkts[i], T0 + (gint64) f * FRAME_US);
        }
}

/* The receiver's view of sim->out: one SSRC, sequence numbers +1 but at
 * the @gaps listed indices (where they jump by 2), timestamps never
 * backwards and stepping by whole frames, PictureID +1 a picture, TL0PICIDX
 * +1 a TID 0 picture and kept otherwise. */
static void
check_continuity (const Sim *sim, const guint *gaps, guint n_gaps)
{
  for (guint i = 1; i < sim->n_out; i++)
    {
      const Out *a = &sim->out[i - 1], *b = &sim->out[i];
      guint16 expect = (guint16) (a->seq + 1);
      guint mask;

      for (guint g = 0; g < n_gaps; g++)
        if (gaps[g] == i)
          expect++;
      g_assert_cmpuint (b->ssrc, ==, OURS);
      g_assert_cmpuint (b->seq, ==, expect);
      g_assert_cmpint ((gint32) (b->ts - a->ts), >=, 0);
      if (b->layer == a->layer)
        g_assert_cmpuint ((b->ts - a->ts) % FRAME_TS, ==, 0);
      else    /* a switch: a new frame, strictly later */
        g_assert_cmpint ((gint32) (b->ts - a->ts), >, 0);
      mask = (a->pid_bits == 7 || b->pid_bits == 7) ? 0x7f : 0x7fff;
      if (b->ts == a->ts)
        {
          g_assert_false (b->start && b->key);
          g_assert_cmpuint (b->pid & mask, ==, a->pid & mask);
          g_assert_cmpuint (b->tl0, ==, a->tl0);
        }
      else
        {
          g_assert_true (b->start);
          g_assert_cmpuint (b->pid & mask, ==, (a->pid + 1) & mask);
          g_assert_cmpuint (b->tl0, ==, (guint8) (a->tl0 + (b->tid == 0 ? 1 : 0)));
        }
    }
  g_assert_cmpuint (sim->out[0].ssrc, ==, OURS);
}

/* The first output index from layer @li, G_MAXUINT if none. */
static guint
first_from (const Sim *sim, guint li)
{
  for (guint i = 0; i < sim->n_out; i++)
    if (sim->out[i].layer == li)
      return i;
  return G_MAXUINT;
}

static void
assert_nack_maps_all (const Sim *sim, guint from)
{
  for (guint i = from; i < sim->n_out; i++)
    {
      guint32 ssrc = 0;
      guint16 seq = 0;

      g_assert_true (cf_sfu_stream_nack_lookup (sim->s, sim->out[i].seq, &ssrc, &seq));
      g_assert_cmpuint (ssrc, ==, layer_ssrc[sim->out[i].layer]);
      g_assert_cmpuint (seq, ==, sim->out[i].src_seq);
    }
}

static void
test_switch_up (void)
{
  Sim sim;
  guint32 ssrc = 0;
  guint i2;

  sim_init (&sim);
  sim.l[0].key[0] = TRUE;
  sim.l[1].key[0] = TRUE;
  sim.l[2].key[0] = TRUE;
  sim.l[2].key[12] = TRUE;
  /* Nothing wanted yet: nothing asked, nothing forwarded. */
  g_assert_false (cf_sfu_stream_keyframe_request (sim.s, T0, &ssrc));
  g_assert_false (cf_sfu_stream_waiting (sim.s));
  run (&sim, 0, 1, 7);
  g_assert_cmpuint (sim.n_out, ==, 0);
  g_assert_cmpint (cf_sfu_stream_get_layer (sim.s), ==, -1);

  cf_sfu_stream_set_target (sim.s, 0, 3);
  g_assert_true (cf_sfu_stream_waiting (sim.s));
  g_assert_true (cf_sfu_stream_keyframe_request (sim.s, T0, &ssrc));
  g_assert_cmpuint (ssrc, ==, layer_ssrc[0]);
  sim.l[0].key[1] = TRUE;
  run (&sim, 1, 6, 7);
  g_assert_cmpint (cf_sfu_stream_get_layer (sim.s), ==, 0);
  /* The keyframe ended the wait: nothing more to ask (the room's tick
   * stops polling on this). */
  g_assert_false (cf_sfu_stream_waiting (sim.s));
  g_assert_false (cf_sfu_stream_keyframe_request (sim.s, T0 + 10 * G_USEC_PER_SEC, &ssrc));
  g_assert_cmpuint (sim.n_out, ==, 5);

  cf_sfu_stream_set_target (sim.s, 2, 3);
  g_assert_true (cf_sfu_stream_waiting (sim.s));
  g_assert_true (cf_sfu_stream_keyframe_request (sim.s, T0 + 6 * FRAME_US, &ssrc));
  g_assert_cmpuint (ssrc, ==, layer_ssrc[2]);
  /* Asked again only after the interval. */
  g_assert_false (cf_sfu_stream_keyframe_request (sim.s, T0 + 6 * FRAME_US + 1000, &ssrc));
  g_assert_true (cf_sfu_stream_keyframe_request (sim.s, T0 + 6 * FRAME_US + CF_SFU_KEYFRAME_INTERVAL_US, &ssrc));
  run (&sim, 6, 30, 7);
  g_assert_cmpint (cf_sfu_stream_get_layer (sim.s), ==, 2);
  g_assert_false (cf_sfu_stream_waiting (sim.s));
  g_assert_false (cf_sfu_stream_keyframe_request (sim.s, T0 + 60 * G_USEC_PER_SEC, &ssrc));

  /* Layer 0 frames 1..12 (its 7-bit PictureID wrapping at 128), then
   * layer 2 from its keyframe at 12: 3 packets a frame. */
  i2 = first_from (&sim, 2);
  g_assert_cmpuint (i2, ==, 12);
  for (guint i = 0; i < i2; i++)
    {
      g_assert_cmpuint (sim.out[i].layer, ==, 0);
      g_assert_cmpuint (sim.out[i].frame, ==, i + 1);
    }
  g_assert_true (sim.out[i2].key);
  g_assert_cmpuint (sim.out[i2].frame, ==, 12);
  g_assert_cmpuint (sim.n_out, ==, 12 + 18 * 3);
  for (guint i = i2; i < sim.n_out; i++)
    g_assert_cmpuint (sim.out[i].layer, ==, 2);
  /* The first frame keeps the source's values, the rest continue them. */
  g_assert_cmpuint (sim.out[0].seq, ==, (guint16) (65530 + 1));
  g_assert_cmpuint (sim.out[0].ts, ==, 0xfffff000u + FRAME_TS);
  /* Layer 0's frame 12 and layer 2's arrived together: one tick later,
   * never the same timestamp nor backwards. */
  g_assert_cmpuint (sim.out[i2].ts - sim.out[i2 - 1].ts, ==, 1);
  g_assert_cmpuint (sim.out[i2 + 3].ts - sim.out[i2].ts, ==, FRAME_TS);
  check_continuity (&sim, NULL, 0);
  assert_nack_maps_all (&sim, 0);
  g_assert_cmpuint (cf_sfu_stream_get_stats (sim.s)->switches, ==, 2);
  sim_clear (&sim);
}

static void
test_switch_down (void)
{
  Sim sim;
  guint i0;

  sim_init (&sim);
  sim.l[2].key[0] = TRUE;
  sim.l[0].key[3] = TRUE;    /* not the target then: ignored */
  sim.l[0].key[9] = TRUE;
  cf_sfu_stream_set_target (sim.s, 2, 3);
  run (&sim, 0, 5, 7);
  cf_sfu_stream_set_target (sim.s, 0, 3);
  /* Until layer 0's keyframe, layer 2 goes on. */
  run (&sim, 5, 20, 7);
  i0 = first_from (&sim, 0);
  g_assert_cmpuint (i0, ==, 9 * 3);
  g_assert_true (sim.out[i0].key);
  g_assert_cmpuint (sim.out[i0].frame, ==, 9);
  for (guint i = i0; i < sim.n_out; i++)
    g_assert_cmpuint (sim.out[i].layer, ==, 0);
  g_assert_cmpuint (sim.n_out, ==, 27 + 11);
  /* 15-bit to 7-bit: the low 7 bits carry on. */
  g_assert_cmpuint (sim.out[i0].pid_bits, ==, 7);
  g_assert_cmpuint (sim.out[i0].pid, ==, (sim.out[i0 - 1].pid + 1) & 0x7f);
  check_continuity (&sim, NULL, 0);
  assert_nack_maps_all (&sim, 0);

  /* And up again to layer 1 (7 → 15 bits, its PictureID wrapping). */
  sim.l[1].key[22] = TRUE;
  cf_sfu_stream_set_target (sim.s, 1, 3);
  run (&sim, 20, 40, 7);
  g_assert_cmpuint (first_from (&sim, 1), ==, 27 + 14);
  g_assert_cmpuint (sim.out[27 + 14].pid_bits, ==, 15);
  check_continuity (&sim, NULL, 0);
  assert_nack_maps_all (&sim, 0);
  sim_clear (&sim);
}

/* Frames of layer @li, in order, packet @skip_frame/@skip_index never
 * sent (-1: none). */
static void
run_one (Sim *sim, guint li, guint from, guint to, guint skip_frame, guint skip_index)
{
  for (guint f = from; f < to; f++)
    {
      Pkt pkts[3];
      guint n = make_frame (sim, li, f, pkts);

      for (guint i = 0; i < n; i++)
        if (f != skip_frame || i != skip_index)
          push (sim, &pkts[i], T0 + (gint64) f * FRAME_US);
    }
}

static void
test_real_loss_kept (void)
{
  Sim sim;
  guint gaps[1];
  guint32 ssrc;
  guint16 seq;
  Pkt late[3];

  sim_init (&sim);
  sim.l[1].key[0] = TRUE;
  cf_sfu_stream_set_target (sim.s, 1, 3);
  run_one (&sim, 1, 0, 8, 3, 1);    /* frame 3's second packet lost */
  g_assert_cmpuint (sim.n_out, ==, 15);
  gaps[0] = 7;
  check_continuity (&sim, gaps, 1);
  /* The gap maps back to the lost packet's source number. */
  g_assert_true (cf_sfu_stream_nack_lookup (sim.s, (guint16) (sim.out[6].seq + 1), &ssrc, &seq));
  g_assert_cmpuint (ssrc, ==, layer_ssrc[1]);
  g_assert_cmpuint (seq, ==, (guint16) (1000 + 3 * 2 + 1));
  /* A number not sent yet maps to nothing. */
  g_assert_false (cf_sfu_stream_nack_lookup (sim.s, (guint16) (sim.out[14].seq + 1), NULL, NULL));

  /* The packet arrives late (a retransmission): it fills its gap. */
  make_frame (&sim, 1, 3, late);
  g_assert_cmpint (push (&sim, &late[1], T0 + 9 * FRAME_US), ==, CF_SFU_FORWARD);
  g_assert_cmpuint (sim.out[15].seq, ==, (guint16) (sim.out[6].seq + 1));
  g_assert_cmpuint (sim.out[15].ts, ==, sim.out[6].ts);
  g_assert_cmpuint (sim.out[15].pid, ==, sim.out[6].pid);
  sim_clear (&sim);
}

static void
test_temporal_layers (void)
{
  Sim sim;
  guint32 ssrc;
  guint16 seq;

  sim_init (&sim);
  sim.l[1].key[0] = TRUE;
  cf_sfu_stream_set_target (sim.s, 1, 0);
  run (&sim, 0, 12, 7);
  /* TID 0 only: frames 0, 4, 8, continuous numbering and PictureIDs. */
  g_assert_cmpuint (sim.n_out, ==, 6);
  for (guint i = 0; i < 6; i++)
    g_assert_cmpuint (sim.out[i].frame, ==, (i / 2) * 4);
  check_continuity (&sim, NULL, 0);
  g_assert_cmpuint (sim.out[2].ts - sim.out[0].ts, ==, 4 * FRAME_TS);
  g_assert_cmpuint (cf_sfu_stream_get_stats (sim.s)->dropped_temporal, ==, 18);

  /* Raised to 1: from the next TID 1 frame with Y (frame 14). */
  cf_sfu_stream_set_target (sim.s, 1, 1);
  run (&sim, 12, 20, 7);
  g_assert_cmpuint (sim.out[6].frame, ==, 12);
  g_assert_cmpuint (sim.out[8].frame, ==, 14);
  g_assert_cmpuint (sim.out[10].frame, ==, 16);
  g_assert_cmpuint (sim.out[12].frame, ==, 18);
  g_assert_cmpuint (sim.n_out, ==, 14);
  check_continuity (&sim, NULL, 0);
  assert_nack_maps_all (&sim, 0);

  /* A real loss just before a dropped picture: the gap maps to the lost
   * packet, not the dropped one.  Frame 20's second packet lost, 21 (TID 2)
   * dropped, 22 forwarded. */
  run_one (&sim, 1, 20, 23, 20, 1);
  g_assert_cmpuint (sim.n_out, ==, 17);
  g_assert_cmpuint (sim.out[15].seq, ==, (guint16) (sim.out[14].seq + 2));
  g_assert_true (cf_sfu_stream_nack_lookup (sim.s, (guint16) (sim.out[14].seq + 1), &ssrc, &seq));
  g_assert_cmpuint (seq, ==, (guint16) (1000 + 20 * 2 + 1));
  sim_clear (&sim);
}

static void
test_reordering (void)
{
  Sim sim;
  Pkt f0[3], f1[3], f2[3], f3[3];

  sim_init (&sim);
  sim.l[1].key[0] = TRUE;
  cf_sfu_stream_set_target (sim.s, 1, 1);   /* frames 1 and 3 (TID 2) dropped */
  make_frame (&sim, 1, 0, f0);
  make_frame (&sim, 1, 1, f1);
  make_frame (&sim, 1, 2, f2);
  make_frame (&sim, 1, 3, f3);
  /* The keyframe's second packet arrives after the dropped frame's. */
  g_assert_cmpint (push (&sim, &f0[0], T0), ==, CF_SFU_FORWARD);
  g_assert_cmpint (push (&sim, &f1[0], T0 + FRAME_US), ==, CF_SFU_DROP_TEMPORAL);
  g_assert_cmpint (push (&sim, &f1[1], T0 + FRAME_US), ==, CF_SFU_DROP_TEMPORAL);
  g_assert_cmpint (push (&sim, &f0[1], T0 + FRAME_US), ==, CF_SFU_FORWARD);
  /* Frame 2's packets swapped. */
  g_assert_cmpint (push (&sim, &f2[1], T0 + 2 * FRAME_US), ==, CF_SFU_FORWARD);
  g_assert_cmpint (push (&sim, &f2[0], T0 + 2 * FRAME_US), ==, CF_SFU_FORWARD);
  g_assert_cmpint (push (&sim, &f3[0], T0 + 3 * FRAME_US), ==, CF_SFU_DROP_TEMPORAL);
  g_assert_cmpint (push (&sim, &f3[1], T0 + 3 * FRAME_US), ==, CF_SFU_DROP_TEMPORAL);
  run_one (&sim, 1, 4, 6, G_MAXUINT, 0);

  /* Sent in this order: f0[0], f0[1], f2[1], f2[0], f4[0], f4[1] (frame
   * 5 is TID 2); numbered as if in order, the drops leaving no gap. */
  g_assert_cmpuint (sim.n_out, ==, 6);
  g_assert_cmpuint (sim.out[1].seq, ==, (guint16) (sim.out[0].seq + 1));
  g_assert_cmpuint (sim.out[2].seq, ==, (guint16) (sim.out[0].seq + 3));
  g_assert_cmpuint (sim.out[3].seq, ==, (guint16) (sim.out[0].seq + 2));
  g_assert_cmpuint (sim.out[3].pid, ==, (sim.out[0].pid + 1) & 0x7fff);
  g_assert_cmpuint (sim.out[2].pid, ==, sim.out[3].pid);
  g_assert_cmpuint (sim.out[4].seq, ==, (guint16) (sim.out[0].seq + 4));
  g_assert_cmpuint (sim.out[4].pid, ==, (sim.out[0].pid + 2) & 0x7fff);
  /* A duplicate-old packet from before the switch point is dropped. */
  {
    Pkt old[3];
    sim.l[1].key[0] = FALSE;
    make_frame (&sim, 1, 0, old);
    old[0].data[2] = (guint8) ((1000 - 1) >> 8);
    old[0].data[3] = (guint8) (1000 - 1);
    g_assert_cmpint (push (&sim, &old[0], T0 + 6 * FRAME_US), ==, CF_SFU_DROP_OLD);
  }
  assert_nack_maps_all (&sim, 0);
  sim_clear (&sim);
}

static void
test_layer_stops (void)
{
  Sim sim;
  guint i1;

  sim_init (&sim);
  sim.l[2].key[0] = TRUE;
  sim.l[1].key[0] = TRUE;
  sim.l[1].key[60] = TRUE;
  cf_sfu_stream_set_target (sim.s, 2, 3);
  run (&sim, 0, 5, 7);
  run (&sim, 5, 60, 3);    /* layer 2 stops */
  cf_sfu_stream_set_target (sim.s, 1, 3);
  run (&sim, 60, 64, 3);
  i1 = first_from (&sim, 1);
  g_assert_cmpuint (i1, ==, 15);
  /* The timestamp carries the 55 frames of silence, from the clock. */
  g_assert_cmpuint (sim.out[i1].ts - sim.out[i1 - 1].ts, ==, 56 * FRAME_TS);
  check_continuity (&sim, NULL, 0);
  sim_clear (&sim);
}

static void
test_pause_and_resume (void)
{
  Sim sim;
  guint32 ssrc;

  sim_init (&sim);
  sim.l[0].key[0] = TRUE;
  sim.l[0].key[10] = TRUE;
  cf_sfu_stream_set_target (sim.s, 0, 3);
  run (&sim, 0, 4, 7);
  g_assert_false (cf_sfu_stream_waiting (sim.s));
  /* Another SSRC for the layer forwarded: its keyframe is waited for. */
  cf_sfu_stream_set_layer_ssrc (sim.s, 0, layer_ssrc[0] + 1);
  g_assert_true (cf_sfu_stream_waiting (sim.s));
  cf_sfu_stream_set_layer_ssrc (sim.s, 0, layer_ssrc[0]);
  cf_sfu_stream_set_target (sim.s, -1, 3);
  g_assert_false (cf_sfu_stream_waiting (sim.s));
  g_assert_false (cf_sfu_stream_keyframe_request (sim.s, T0, &ssrc));
  run (&sim, 4, 8, 7);
  g_assert_cmpuint (sim.n_out, ==, 4);
  cf_sfu_stream_set_target (sim.s, 0, 3);
  g_assert_true (cf_sfu_stream_waiting (sim.s));
  g_assert_true (cf_sfu_stream_keyframe_request (sim.s, T0 + 8 * FRAME_US, &ssrc));
  g_assert_cmpuint (ssrc, ==, layer_ssrc[0]);
  run (&sim, 8, 12, 7);
  g_assert_false (cf_sfu_stream_waiting (sim.s));
  g_assert_cmpuint (sim.n_out, ==, 6);
  g_assert_cmpuint (sim.out[4].frame, ==, 10);
  g_assert_cmpuint (sim.out[4].ts - sim.out[3].ts, ==, 7 * FRAME_TS);
  check_continuity (&sim, NULL, 0);
  sim_clear (&sim);
}

static void
test_nack_history_bounded (void)
{
  Sim sim;
  guint16 first;

  sim_init (&sim);
  sim.l[2].key[0] = TRUE;
  sim.l[2].tl0 = 220;    /* our TL0PICIDX wraps at 256 on the way */
  cf_sfu_stream_set_target (sim.s, 2, 3);
  for (guint round = 0; round < 3; round++)
    {
      /* Frame numbers repeat: the source's sequence numbers move on. */
      run_one (&sim, 2, 0, 100, G_MAXUINT, 0);
      sim.l[2].key[0] = FALSE;
      sim.l[2].seq = (guint16) (sim.l[2].seq + 300);
      sim.l[2].ts += 100 * FRAME_TS;
      sim.l[2].pid = (guint16) ((sim.l[2].pid + 100) & 0x7fff);
      sim.l[2].tl0 += 25;
    }
  g_assert_cmpuint (sim.n_out, ==, 900);
  check_continuity (&sim, NULL, 0);
  g_assert_cmpuint (sim.out[899].tl0, <, 220);
  first = sim.out[0].seq;
  g_assert_false (cf_sfu_stream_nack_lookup (sim.s, first, NULL, NULL));
  assert_nack_maps_all (&sim, 900 - CF_SFU_NACK_HISTORY);
  sim_clear (&sim);
}

static void
test_bad_packets (void)
{
  Sim sim;
  Pkt pkts[3];
  BfRtpHeader h;

  sim_init (&sim);
  sim.l[0].key[0] = TRUE;
  cf_sfu_stream_set_target (sim.s, 0, 3);
  make_frame (&sim, 0, 0, pkts);
  bf_write_be32 (pkts[0].data + 8, 0x12345678);
  g_assert_cmpint (push (&sim, &pkts[0], T0), ==, CF_SFU_DROP_UNKNOWN);
  make_frame (&sim, 0, 0, pkts);
  /* A payload that is only a descriptor. */
  g_assert_true (bf_rtp_header_parse (pkts[0].data, 17, &h));
  g_assert_cmpint (cf_sfu_stream_push (sim.s, pkts[0].data, 17, &h, T0), ==, CF_SFU_DROP_MALFORMED);
  /* A header that does not fit the length given. */
  h.payload_len = 200;
  g_assert_cmpint (cf_sfu_stream_push (sim.s, pkts[0].data, pkts[0].len, &h, T0), ==, CF_SFU_DROP_MALFORMED);
  g_assert_cmpuint (cf_sfu_stream_get_stats (sim.s)->dropped_malformed, ==, 2);
  g_assert_cmpuint (cf_sfu_stream_get_stats (sim.s)->dropped_unknown, ==, 1);
  /* Untouched. */
  g_assert_cmpuint (bf_read_be32 (pkts[0].data + 8), ==, layer_ssrc[0]);
  g_assert_cmpint (push (&sim, &pkts[0], T0), ==, CF_SFU_FORWARD);
  sim_clear (&sim);
}

static void
test_source_seq_jump (void)
{
  Sim sim;

  sim_init (&sim);
  sim.l[1].key[0] = TRUE;
  cf_sfu_stream_set_target (sim.s, 1, 3);
  run_one (&sim, 1, 0, 5, G_MAXUINT, 0);
  sim.l[1].seq = (guint16) (sim.l[1].seq + 20000);   /* the sender restarted */
  run_one (&sim, 1, 5, 10, G_MAXUINT, 0);
  g_assert_cmpuint (sim.n_out, ==, 20);
  check_continuity (&sim, NULL, 0);
  sim_clear (&sim);
}

/* H.264: a frame of layer @li as RFC 6184 mode 1 packets into @pkts: a
 * keyframe is SPS, PPS, then an IDR in two FU-A fragments (start, end);
 * a delta frame a non-IDR slice (1) in two fragments.  The last two
 * payload bytes name the layer and the frame. */
static guint
make_h264_frame (guint li, guint16 seq0, guint32 ts, gboolean key, guint frame, Pkt *pkts)
{
  static const guint8 sps[] = { 0x67, 0x42, 0xe0, 0x1f }, pps[] = { 0x68, 0xce, 0x3c, 0x80 };
  guint n = 0;

  for (guint i = 0; i < (key ? 4u : 2u); i++)
    {
      Pkt *p = &pkts[n];
      guint8 *d = p->data;
      gsize k = 0;
      guint part = key ? i : i + 2;   /* 0 SPS, 1 PPS, 2 FU-A start, 3 FU-A end */
      guint8 type = key ? 5 : 1;

      d[k++] = 0x80;
      d[k++] = (guint8) (102 | (part == 3 ? 0x80 : 0));
      bf_write_be16 (d + k, (guint16) (seq0 + n)); k += 2;
      bf_write_be32 (d + k, ts); k += 4;
      bf_write_be32 (d + k, layer_ssrc[li]); k += 4;
      if (part == 0)
        memcpy (d + k, sps, sizeof sps), k += sizeof sps;
      else if (part == 1)
        memcpy (d + k, pps, sizeof pps), k += sizeof pps;
      else
        {
          d[k++] = 0x7c;                                   /* FU indicator, NRI 3 */
          d[k++] = (guint8) ((part == 2 ? 0x80 : 0x40) | type);
          d[k++] = 0x88;
        }
      d[k++] = (guint8) li;
      d[k++] = (guint8) frame;
      p->len = k;
      p->layer = li;
      p->frame = frame;
      p->src_seq = (guint16) (seq0 + n);
      n++;
    }
  return n;
}

static void
test_h264 (void)
{
  g_autoptr (CfSfuStream) s = cf_sfu_stream_new (OURS, 90000, CF_SFU_H264);
  guint16 seq[2] = { 65533, 4000 };
  guint32 ts[2] = { 0xffffff00u, 777 };
  guint16 last_seq = 0;
  guint32 last_ts = 0;
  guint forwarded = 0, switches_at_sps = 0;

  cf_sfu_stream_set_layer_ssrc (s, 0, layer_ssrc[0]);
  cf_sfu_stream_set_layer_ssrc (s, 1, layer_ssrc[1]);
  cf_sfu_stream_set_target (s, 0, 3);
  for (guint f = 0; f < 40; f++)
    {
      if (f == 20)
        cf_sfu_stream_set_target (s, 1, 3);   /* up, at layer 1's next keyframe */
      for (guint li = 0; li < 2; li++)
        {
          /* Layer 0 keyframes at frames 3 and 30, layer 1 at 25: nothing
           * is forwarded before frame 3, layer 0 up to frame 25. */
          gboolean key = li == 0 ? (f == 3 || f == 30) : f == 25;
          Pkt pkts[4];
          guint n = make_h264_frame (li, seq[li], ts[li], key, f, pkts);

          for (guint i = 0; i < n; i++)
            {
              Pkt *p = &pkts[i];
              guint8 orig[64];
              BfRtpHeader h, ho;
              guint64 switches = cf_sfu_stream_get_stats (s)->switches;
              CfSfuVerdict v;
              guint32 src_ssrc;
              guint16 src_seq;

              memcpy (orig, p->data, p->len);
              g_assert_true (bf_rtp_header_parse (p->data, p->len, &h));
              v = cf_sfu_stream_push (s, p->data, p->len, &h, T0 + (gint64) f * FRAME_US);
              /* Layer 0's frame 25 comes before layer 1's keyframe. */
              gboolean want = li == 0 ? (f >= 3 && f <= 25) : f >= 25;
              if ((v == CF_SFU_FORWARD) != want)
                g_error ("frame %u layer %u packet %u: verdict %d", f, li, i, v);
              if (v != CF_SFU_FORWARD)
                {
                  g_assert_cmpmem (p->data, p->len, orig, p->len);
                  continue;
                }
              if (cf_sfu_stream_get_stats (s)->switches != switches)
                {
                  /* A start or switch: at the keyframe's first packet, the SPS. */
                  g_assert_true (key && i == 0);
                  switches_at_sps++;
                }
              g_assert_true (bf_rtp_header_parse (p->data, p->len, &ho));
              g_assert_cmpuint (ho.ssrc, ==, OURS);
              g_assert_cmpuint (ho.payload_type, ==, 102);
              g_assert_cmpint (ho.marker, ==, h.marker);
              /* The payload as it came: H.264 has nothing to rewrite. */
              g_assert_cmpmem (p->data + 12, p->len - 12, orig + 12, p->len - 12);
              if (forwarded > 0)
                {
                  g_assert_cmpuint (ho.seq, ==, (guint16) (last_seq + 1));
                  g_assert_cmpint ((gint32) (ho.timestamp - last_ts), >=, 0);
                  if (i == 0)
                    g_assert_cmpint ((gint32) (ho.timestamp - last_ts), >, 0);
                }
              g_assert_true (cf_sfu_stream_nack_lookup (s, ho.seq, &src_ssrc, &src_seq));
              g_assert_cmpuint (src_ssrc, ==, layer_ssrc[li]);
              g_assert_cmpuint (src_seq, ==, p->src_seq);
              last_seq = ho.seq;
              last_ts = ho.timestamp;
              forwarded++;
            }
          seq[li] = (guint16) (seq[li] + n);
          ts[li] += FRAME_TS;
        }
    }
  /* Frames 3-25 of layer 0 (2 keyframe packets more at 3), 25-39 of layer 1. */
  g_assert_cmpuint (forwarded, ==, 23 * 2 + 2 + 15 * 2 + 2);
  g_assert_cmpuint (switches_at_sps, ==, 2);
  g_assert_cmpint (cf_sfu_stream_get_layer (s), ==, 1);

  /* An interleaved-mode packet (STAP-B, 25) is refused, untouched. */
  {
    guint8 bad[] = { 0x80, 102, 0, 1, 0, 0, 0, 1, 0xb0, 0, 0, 2, 0x79, 0x00, 0x01, 0x00, 0x01,
                     0x67 };
    BfRtpHeader h;

    bf_write_be32 (bad + 8, layer_ssrc[1]);
    g_assert_true (bf_rtp_header_parse (bad, sizeof bad, &h));
    g_assert_cmpint (cf_sfu_stream_push (s, bad, sizeof bad, &h, T0), ==, CF_SFU_DROP_MALFORMED);
    g_assert_cmpuint (bf_read_be32 (bad + 8), ==, layer_ssrc[1]);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference/sfu-stream/switch-up", test_switch_up);
  g_test_add_func ("/conference/sfu-stream/switch-down", test_switch_down);
  g_test_add_func ("/conference/sfu-stream/real-loss-kept", test_real_loss_kept);
  g_test_add_func ("/conference/sfu-stream/temporal-layers", test_temporal_layers);
  g_test_add_func ("/conference/sfu-stream/reordering", test_reordering);
  g_test_add_func ("/conference/sfu-stream/layer-stops", test_layer_stops);
  g_test_add_func ("/conference/sfu-stream/pause-and-resume", test_pause_and_resume);
  g_test_add_func ("/conference/sfu-stream/nack-history-bounded", test_nack_history_bounded);
  g_test_add_func ("/conference/sfu-stream/bad-packets", test_bad_packets);
  g_test_add_func ("/conference/sfu-stream/source-seq-jump", test_source_seq_jump);
  g_test_add_func ("/conference/sfu-stream/h264", test_h264);
  return g_test_run ();
}
