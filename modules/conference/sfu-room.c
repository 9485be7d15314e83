/* conference — the XEP-0521 SFU on a room's worker: each sender's Opus and
 * VP8 or H.264 packets forwarded, without decoding, on the sessions the room placed
 * to each XEP-0521 receiver (one session per sender and receiver,
 * sfu-signal.c), and what those receivers send back (RTCP feedback).
 *
 * Why a file of its own: room-worker.c mixes; this one forwards.  Both run
 * on the room's worker and share the participant's Leg (its list of
 * forwarded sessions); the pure parts used here (sfu-stream.c, rtx-buffer.c,
 * keyframe-requests.c, rtcp-feedback.c) know nothing of sessions.
 *
 * Each forwarded packet is built anew for its receiver: a fixed RTP header
 * under the forwarded session's SSRC and payload type, one RFC 8285
 * element of ours (the audio level, when the sender sends it), and the
 * sender's payload.  Nothing of the sender's own header extensions (its
 * transport-wide sequence numbers, its MID, its RID) reaches the receiver,
 * whose session negotiated none of them.
 *   - Audio: sequence numbers and timestamps are the sender's plus a
 *     per-session offset (random at the start, so the receiver cannot tell
 *     the sender's), re-anchored when the sender's SSRC changes so the
 *     receiver sees one continuous stream.
 *   - Video: a CfSfuStream per forwarded session (VP8 descriptor
 *     rewriting, an H.264 payload as it came; simulcast switching at
 *     keyframes, the layer choose_layer picks).  For a receiver that
 *     took our rtx payload type, what we sent is kept, by our sequence
 *     number, in a retransmission buffer: a NACK from it is answered as
 *     an RFC 4588 retransmission on the rtx SSRC (resend).  PLI and FIR
 *     from the receiver, a receiver
 *     starting, and a stream waiting to switch layers become keyframe
 *     requests toward the sender, merged and rate-limited per sender
 *     (keyframe-requests.c), sent on the room's tick.
 *
 * Thread rule: the room's worker only, except cf_sfu_post_*, which the
 * main thread calls to post jobs there.  A Forward's FwdLeg is the
 * worker's once posted (room.h); its source Participant is dereferenced
 * only while the forward is joined: the main thread posts a forward's
 * leave before its source's (cf_sfu_leaving runs first in cf_room_remove).
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include <belfry/packet.h>

#include "room.h"

#define FWD_RTP_MAX 1500
#define FWD_HEADER_MAX (12 + 12)  /* fixed header, audio level and transport-wide seq */
/* Our video packets' transport-wide sequence number, when stamped: the
 * element (id 3, two bytes) opens the extension block (write_header). */
#define TWCC_ELEMENT_AT 16
/* The estimate before the receiver's first REMB or transport-cc feedback
 * (the highest layer until it says otherwise), and its bounds. */
#define BWE_INITIAL_BPS 10000000
#define BWE_MIN_BPS 50000
#define BWE_MAX_BPS 10000000
/* A simulcast layer is active while its packets keep coming. */
#define LAYER_ACTIVE_US (G_USEC_PER_SEC * 3 / 2)
/* Rooms with at most this many audio senders forward all of them (the
 * default max-talkers: each could be a talker at once). */
#define AUDIO_ALL_SENDERS 3
/* [conference] last-n (conference.c sets it; workers read it). */
static gint last_n = CF_LAST_N_DEFAULT;
/* Packets per receiver the room chose not to send (the talkers' audio,
 * the last N's video): counted so that a reader (the SFU benchmark, an
 * operator) can tell what was withheld from what was lost. */
static BfMetric *m_audio_withheld, *m_video_withheld;
/* NACK answers: packets kept per forwarded video stream, and for how long
 * (a retransmission later than this arrives after the receiver gave up). */
#define FWD_RTX_CAPACITY 512
#define FWD_RTX_AGE_US (G_USEC_PER_SEC)
/* A new audio SSRC from the sender (its client restarted its sender)
 * continues our numbering after this much silence at most. */
#define AUDIO_RESTART_GAP_US (5 * G_USEC_PER_SEC)
/* A sender's one video SSRC changes once the old one was quiet this long. */
#define VIDEO_SSRC_SWITCH_US (G_USEC_PER_SEC)

/* --- Building the packet a receiver gets --- */

/* Writes the fixed header (12 bytes, no CSRC) and, when @level >= 0, a
 * one-byte-header extension block with the audio level under id @level_id,
 * or, with @twcc, one with a transport-wide sequence number (0 here,
 * stamp_twcc writes it once the packet is sure to go) at TWCC_ELEMENT_AT.
 * Returns the header's length. */
static gsize
write_header (guint8 *out, gboolean marker, guint8 pt, guint16 seq, guint32 ts, guint32 ssrc,
              guint8 level_id, gint level_byte, gboolean twcc)
{
  gboolean ext = (level_id != 0 && level_byte >= 0) || twcc;

  out[0] = 0x80 | (ext ? 0x10 : 0);
  out[1] = (guint8) ((pt & 0x7f) | (marker ? 0x80 : 0));
  bf_write_be16 (out + 2, seq);
  bf_write_be32 (out + 4, ts);
  bf_write_be32 (out + 8, ssrc);
  if (!ext)
    return 12;
  /* RFC 8285 §4.2: 0xBEDE, one word of elements, each id and L (length -
   * 1), padding. */
  bf_write_be16 (out + 12, 0xBEDE);
  bf_write_be16 (out + 14, 1);
  if (twcc)
    {
      out[16] = (guint8) (CF_FWD_TWCC_EXT << 4 | 1);
      out[17] = 0;
      out[18] = 0;
    }
  else
    {
      out[16] = (guint8) (level_id << 4);
      out[17] = (guint8) level_byte;
      out[18] = 0;
    }
  out[19] = 0;
  return 20;
}

/* Our next transport-wide sequence number on @f's session into @pkt (one
 * write_header made with @twcc), remembered with its size and send time
 * for the estimate of the receiver's transport-cc feedback. */
static void
stamp_twcc (Forward *f, guint8 *pkt, gsize len, gint64 now)
{
  FwdLeg *fl = &f->leg;

  if (len < 20 || (pkt[0] & 0x10) == 0 || pkt[TWCC_ELEMENT_AT] != (CF_FWD_TWCC_EXT << 4 | 1))
    return;
  bf_write_be16 (pkt + TWCC_ELEMENT_AT + 1, fl->twcc_seq);
  if (fl->bwe != NULL)
    cf_bandwidth_sent (fl->bwe, fl->twcc_seq, len, now);
  fl->twcc_seq++;
}

/* The first packet the session took (its DTLS is done: sends before fail
 * and are counted): the receiver can decode from the next keyframe on, so
 * the sender is asked for one now.  A receive-only peer may send nothing
 * before it gets media, so media_ready (cf_fwd_ready) may never come; this
 * is the start that counts. */
static void
sent_first (Forward *f, gint64 now)
{
  FwdLeg *fl = &f->leg;

  if (fl->ready)
    return;
  fl->ready = TRUE;
  /* Its first sender report on the next tick (cf_sfu_tick). */
  fl->source->leg.forwards_report_due = MIN (fl->source->leg.forwards_report_due,
                                             fl->next_report);
  if (fl->video != NULL)
    {
      fl->keyframes_asked++;
      cf_keyframe_requests_ask (&fl->source->leg.keyframes, now);
    }
}

/* --- Going through a sender's forwards --- */

/* A room's forwards are far more than the caches hold (2,450 in a room of
 * 50, each with its stream, session, transport and SRTP state), so each
 * one's lines are a miss when its turn comes, one after the other.  While
 * one forward is served, the CPU is asked for the per-packet part of the
 * one two ahead (room.h orders FwdLeg for this) and, for video, for the
 * stream of the next (its pointer is in the lines asked for the turn
 * before). */
#define FWD_HOT_FROM G_STRUCT_OFFSET (Forward, session)
#define FWD_HOT_TO G_STRUCT_OFFSET (Forward, leg.video_ssrc)

static inline void
prefetch_ahead (const GPtrArray *forwards, guint i, gboolean video)
{
  if (i + 2 < forwards->len)
    {
      const char *p = g_ptr_array_index (forwards, i + 2);
      for (gsize o = FWD_HOT_FROM; o < FWD_HOT_TO; o += 64)
        __builtin_prefetch (p + o, 1);
      __builtin_prefetch (p + FWD_HOT_TO - 1, 1);
    }
  if (video && i + 1 < forwards->len)
    {
      const Forward *next = g_ptr_array_index (forwards, i + 1);
      if (next->leg.video != NULL && next->leg.video_wanted)
        cf_sfu_stream_prefetch (next->leg.video);
    }
}

/* --- Audio --- */

void
cf_sfu_forward_audio (Participant *source, const BfPacket *packet)
{
  const BfRtpHeader *h = &packet->rtp;
  Leg *l = &source->leg;
  gint level_byte = -1;
  guint8 out[FWD_RTP_MAX];

  if (h->payload_len > FWD_RTP_MAX - FWD_HEADER_MAX)
    return;
  /* Not among the talkers forwarded (cf_sfu_talkers): not sent, as DTX. */
  if (!l->audio_forwarded)
    {
      bf_metric_add (m_audio_withheld, l->n_audio_forwards);
      return;
    }
  if (l->level_ext != 0)
    {
      gsize len = 0;
      const guint8 *e = bf_rtp_header_find_extension (h, packet->data, l->level_ext, &len);
      if (e != NULL && len >= 1)
        level_byte = e[0];
    }
  for (guint i = 0; i < l->forwards->len; i++)
    {
      Forward *f = g_ptr_array_index (l->forwards, i);
      FwdLeg *fl = &f->leg;
      guint16 seq;
      guint32 ts;
      gsize n;

      prefetch_ahead (l->forwards, i, FALSE);
      if (!fl->has_audio)
        continue;
      if (!fl->audio_started || h->ssrc != fl->audio_src_ssrc)
        {
          /* The first packet, or a new stream of the sender: our numbers
           * go on from the last we sent (random at the start), our
           * timestamps by the time that passed. */
          guint16 next_seq = fl->audio_started ? (guint16) (fl->audio_last_seq + 1)
                                               : (guint16) bf_random_u32 ();
          guint32 next_ts = bf_random_u32 ();
          if (fl->audio_started)
            {
              gint64 gap = CLAMP (packet->arrival - fl->audio_last_arrival, 20000,
                                  AUDIO_RESTART_GAP_US);
              next_ts = fl->audio_last_ts + (guint32) (gap * CF_CLOCK / G_USEC_PER_SEC);
            }
          fl->audio_seq_delta = (guint16) (next_seq - h->seq);
          fl->audio_ts_delta = next_ts - h->timestamp;
          fl->audio_src_ssrc = h->ssrc;
          fl->audio_started = TRUE;
        }
      else if (l->audio_resumed)
        /* Forwarded again after its silence: our numbers go on without a
         * gap (DTX: the receiver sees no loss); its timestamps carry the
         * time that passed. */
        fl->audio_seq_delta = (guint16) (fl->audio_last_seq + 1 - h->seq);
      seq = (guint16) (h->seq + fl->audio_seq_delta);
      ts = h->timestamp + fl->audio_ts_delta;
      n = write_header (out, h->marker || l->audio_resumed, CF_FWD_OPUS_PT, seq, ts,
                        fl->audio_ssrc, fl->level_ext, level_byte, FALSE);
      memcpy (out + n, packet->data + h->payload_offset, h->payload_len);
      n += h->payload_len;
      /* The newest only: a reordered packet must not move us back. */
      if ((gint16) (guint16) (seq - fl->audio_last_seq) > 0 || fl->sent_audio == 0)
        {
          fl->audio_last_seq = seq;
          fl->audio_last_ts = ts;
          fl->audio_last_arrival = packet->arrival;
        }
      if (bf_session_send_rtp (f->session, out, n))
        {
          fl->sent_audio++;
          fl->audio_octets += h->payload_len;
          sent_first (f, packet->arrival);
        }
      else
        fl->send_failed++;
    }
  l->audio_resumed = FALSE;
}

/* --- Video --- */

/* The layer @f's stream should carry now: none while its source is out of
 * the last N; of a simulcast sender the highest that both the receiver's
 * estimate fits (bandwidth.c, with its hysteresis: down at once, up after
 * a hold) and its displayed size needs (the lowest layer covering it; no
 * cap while either size is unknown); else its one stream. */
static void
choose_layer (Forward *f, Leg *src, gint64 now)
{
  FwdLeg *fl = &f->leg;
  gint target, cap = -1;
  guint view_w = fl->view_width != 0 ? fl->view_width : G_MAXUINT;
  guint view_h = fl->view_height != 0 ? fl->view_height : G_MAXUINT;

  if (fl->video == NULL)
    return;
  fl->paused = !src->in_last_n;
  if (fl->paused)
    target = -1;
  else if (src->n_layers > 0)
    {
      CfLayer layers[CF_LAYERS_MAX] = { { 0 } };
      guint n = MIN (src->n_layers, CF_LAYERS_MAX);
      for (guint i = 0; i < n; i++)
        {
          layers[i].bitrate_bps = src->layer_bps[i];
          layers[i].width = src->layer_width[i];
          layers[i].height = src->layer_height[i];
          layers[i].active = src->layer_last[i] != 0 && now - src->layer_last[i] < LAYER_ACTIVE_US;
        }
      target = cf_layer_choose (&fl->choice, layers, n, fl->bwe->estimate_bps, view_w, view_h,
                                now);
      if (fl->view_width != 0)
        {
          cap = cf_layer_size_cap (layers, n, view_w, view_h);
          if (cap == (gint) n - 1)
            cap = -1;   /* the top layer: the size holds nothing back */
        }
    }
  else
    target = src->video_ssrc != 0 ? 0 : -1;
  if (target != cf_sfu_stream_get_target (fl->video))
    {
      if (target >= 0 && cf_sfu_stream_get_target (fl->video) >= 0)
        {
          fl->layer_switches++;
          /* Why: the displayed size when it is what holds the layer there
           * (the size cap, and the estimate would allow more), else the
           * estimate. */
          if (cap >= 0 && target == cap)
            g_info ("forwarded session %s: layer %d → %d (displayed %ux%u; layer %d is %ux%u)",
                    fl->sid, cf_sfu_stream_get_target (fl->video), target, fl->view_width,
                    fl->view_height, target, src->layer_width[target],
                    src->layer_height[target]);
          else
            g_info ("forwarded session %s: layer %d → %d (estimate %" G_GUINT64_FORMAT
                    " bit/s%s)", fl->sid, cf_sfu_stream_get_target (fl->video), target,
                    fl->bwe->estimate_bps, fl->view_width != 0 ? ", displayed size allows more"
                    : "");
        }
      /* A new target asks the sender for a keyframe of it: the switch (or
       * the resumption after a pause) happens there. */
      cf_sfu_stream_set_target (fl->video, target, 3);
    }
  fl->video_wanted = cf_sfu_stream_get_target (fl->video) >= 0;
  /* Here, after a new target or a new layer SSRC (set_layers), is where a
   * stream starts waiting for a keyframe: cf_sfu_tick polls the source's
   * streams while one may. */
  if (cf_sfu_stream_waiting (fl->video))
    src->forwards_waiting = TRUE;
}

/* The source SSRCs @f's stream takes from: those it announced (simulcast),
 * else the one video stream seen. */
static void
set_layers (Forward *f, Leg *src)
{
  if (f->leg.video == NULL)
    return;
  if (src->n_layers > 0)
    for (guint i = 0; i < src->n_layers; i++)
      cf_sfu_stream_set_layer_ssrc (f->leg.video, i, src->layers[i]);
  else if (src->video_ssrc != 0)
    cf_sfu_stream_set_layer_ssrc (f->leg.video, 0, src->video_ssrc);
  choose_layer (f, src, g_get_monotonic_time ());
}

/* Each layer's bitrate as it arrives, over windows of a second. */
static void
measure_layer (Leg *l, const BfPacket *packet)
{
  gint64 now = packet->arrival;

  for (guint i = 0; i < l->n_layers; i++)
    if (l->layers[i] == packet->rtp.ssrc)
      {
        l->layer_bytes[i] += packet->len;
        l->layer_last[i] = now;
        break;
      }
  if (l->layer_window == 0)
    l->layer_window = now;
  else if (now - l->layer_window >= G_USEC_PER_SEC)
    {
      gint64 span = now - l->layer_window;
      for (guint i = 0; i < CF_SFU_MAX_LAYERS; i++)
        {
          l->layer_bps[i] = l->layer_bytes[i] * 8 * G_USEC_PER_SEC / (guint64) span;
          l->layer_bytes[i] = 0;
        }
      l->layer_window = now;
    }
}

/* A VP8 keyframe (RFC 6386 §9.1) or H.264 SPS of stream @ssrc says its
 * frame size: the size of that layer (of its one stream) from now on. */
static void
note_layer_size (Leg *l, guint32 ssrc, guint width, guint height)
{
  guint n = l->n_layers > 0 ? MIN (l->n_layers, CF_SFU_MAX_LAYERS) : 1;

  for (guint i = 0; i < n; i++)
    {
      if ((l->n_layers > 0 ? l->layers[i] : l->video_ssrc) != ssrc)
        continue;
      if (l->layer_width[i] != width || l->layer_height[i] != height)
        g_debug ("participant %s: video layer %u is %ux%u", l->sid, i, width, height);
      l->layer_width[i] = width;
      l->layer_height[i] = height;
      return;
    }
}

static CfSfuCodec
sfu_codec (const Leg *l)
{
  return l->video_codec == CF_MCU_CODEC_H264 ? CF_SFU_H264 : CF_SFU_VP8;
}

void
cf_sfu_forward_video (Participant *source, const BfPacket *packet)
{
  const BfRtpHeader *h = &packet->rtp;
  Leg *l = &source->leg;
  CfVp8Descriptor d;
  BfRtpHeader oh;
  guint8 base[FWD_RTP_MAX], out[FWD_RTP_MAX];
  gint64 now = packet->arrival;
  guint withheld = 0;
  gboolean parsed;
  guint64 kept = 0;
  gsize n, prefix;

  if (h->payload_len > FWD_RTP_MAX - FWD_HEADER_MAX)
    return;
  if (l->n_layers == 0 && l->video_ssrc != h->ssrc)
    {
      /* Its one stream; a new SSRC is a sender that restarted, taken once
       * the old one has been quiet for a while (a second stream at once,
       * unannounced simulcast or a stray, is not forwarded). */
      if (l->video_ssrc != 0 && now - l->video_last_arrival < VIDEO_SSRC_SWITCH_US)
        return;
      l->video_ssrc = h->ssrc;
      for (guint i = 0; i < l->forwards->len; i++)
        set_layers (g_ptr_array_index (l->forwards, i), l);
    }
  if (h->ssrc == l->video_ssrc)
    l->video_last_arrival = now;
  if (l->n_layers > 0)
    measure_layer (l, packet);
  /* A keyframe answers the requests toward the sender, the SFU's and the
   * MCU's alike (mcu-room.c asks through the same state): VP8's from its
   * payload header, H.264's an SPS or an IDR's start (h264-packet.h). */
  parsed = cf_sfu_payload_parse (sfu_codec (l), packet->data + h->payload_offset,
                                 h->payload_len, &d);
  if (parsed && d.keyframe)
    cf_keyframe_requests_keyframe (&l->keyframes);
  if (parsed && d.keyframe && d.width != 0 && d.height != 0)
    note_layer_size (l, h->ssrc, d.width, d.height);

  /* The packet as every receiver's stream takes it (the sender's numbers,
   * our header), built and parsed once; each receiver's copy is then
   * rewritten by its stream (cf_sfu_stream_push). */
  n = write_header (base, h->marker, cf_fwd_video_pt (l->video_codec), h->seq, h->timestamp,
                    h->ssrc, 0, -1, TRUE);
  memcpy (base + n, packet->data + h->payload_offset, h->payload_len);
  n += h->payload_len;
  if (!bf_rtp_header_parse (base, n, &oh))
    return;
  /* What a receiver's stream rewrites (rtx-buffer.h): the header and
   * VP8's payload descriptor (H.264: the header only); the rest is the
   * same for all. */
  prefix = oh.payload_offset + (parsed ? d.header_offset : 0);

  for (guint i = 0; i < l->forwards->len; i++)
    {
      Forward *f = g_ptr_array_index (l->forwards, i);
      FwdLeg *fl = &f->leg;
      guint32 src_ssrc;

      prefetch_ahead (l->forwards, i, TRUE);
      if (fl->video == NULL)
        continue;
      /* No layer wanted (out of the last N, or nothing to take yet): the
       * stream would drop the packet untouched, and asks for no keyframe
       * (sfu-stream.h), so it is not even copied, nor the stream read. */
      if (!fl->video_wanted)
        {
          withheld += fl->paused;
          continue;
        }
      memcpy (out, base, n);
      if (cf_sfu_stream_push (fl->video, out, n, &oh, now) == CF_SFU_FORWARD)
        {
          stamp_twcc (f, out, n, now);
          if (fl->rtx != NULL)
            {
              if (kept == 0)
                {
                  if (l->rtx_store == NULL)
                    l->rtx_store = cf_rtx_store_new (FWD_RTX_CAPACITY);
                  kept = cf_rtx_store_keep (l->rtx_store, base, n);
                }
              cf_rtx_buffer_store (fl->rtx, bf_read_be16 (out + 2), out, n, prefix, kept, now);
            }
          if (bf_session_send_rtp (f->session, out, n))
            {
              guint32 ts = bf_read_be32 (out + 4);
              fl->sent_video++;
              fl->video_octets += n - oh.payload_offset;
              if (fl->video_last_sent == 0 || (gint32) (ts - fl->video_last_ts) > 0)
                {
                  fl->video_last_ts = ts;
                  fl->video_last_sent = now;
                }
              sent_first (f, now);
            }
          else
            fl->send_failed++;
        }
      if (cf_sfu_stream_keyframe_request (fl->video, now, &src_ssrc))
        {
          fl->keyframes_asked++;
          cf_keyframe_requests_ask (&l->keyframes, now);
        }
    }
  if (withheld > 0)
    bf_metric_add (m_video_withheld, withheld);
}

/* RFC 3550 §6.4.1: a sender report (with SDES CNAME) for one of our
 * streams on @f; the RTP time of now from the newest packet sent and the
 * time that passed since (both streams on the same wall clock, so a
 * receiver can line them up). */
static void
send_report (Forward *f, guint32 ssrc, guint32 last_ts, gint64 last_sent, guint clock,
             guint64 packets, guint64 octets, gint64 now)
{
  guint8 b[CF_RTCP_REPORT_MAX];
  CfReport r = { 0 };
  gsize n;

  r.ssrc = ssrc;
  r.cname = f->leg.cname;
  r.now = now;
  cf_report_set_sender (&r, last_ts, last_sent, clock, packets, octets, now);
  n = cf_rtcp_build_report (&r, b, sizeof b);
  if (n > 0 && bf_session_send_rtcp (f->session, b, n))
    f->leg.reports_sent++;
}

static void
reports (Forward *f, gint64 now)
{
  FwdLeg *fl = &f->leg;

  if (!fl->ready || now < fl->next_report)
    return;
  /* Every 2 to 3 s (RFC 3550 §6.2: randomised), as the room's own. */
  fl->next_report = now + 2 * G_USEC_PER_SEC + bf_random_u32 () % G_USEC_PER_SEC;
  if (fl->sent_audio > 0)
    send_report (f, fl->audio_ssrc, fl->audio_last_ts, fl->audio_last_arrival, CF_CLOCK,
                 fl->sent_audio, fl->audio_octets, now);
  if (fl->sent_video > 0)
    send_report (f, fl->video_ssrc, fl->video_last_ts, fl->video_last_sent, 90000,
                 fl->sent_video, fl->video_octets, now);
}

void
cf_sfu_tick (Participant *source, gint64 now)
{
  Leg *l = &source->leg;
  /* Each forward visited costs cache misses, and most ticks none of them
   * has anything to do: visited only when a sender report is due, when
   * the layer choice may change (simulcast: the estimates and the layers'
   * activity move every tick; one stream: only the last N, since a new
   * SSRC rechooses at once in cf_sfu_forward_video), or when a stream may
   * still wait for a keyframe. */
  gboolean report = now >= l->forwards_report_due;
  gboolean choose = l->has_video && (l->n_layers > 0 || l->in_last_n != l->forwards_in_last_n);
  gboolean poll = l->has_video && (choose || l->forwards_waiting);
  gint64 report_due = G_MAXINT64;
  gboolean waiting = FALSE;

  if (report || poll)
    for (guint i = 0; i < l->forwards->len; i++)
      {
        Forward *f = g_ptr_array_index (l->forwards, i);
        guint32 ssrc;
        if (report)
          {
            reports (f, now);
            if (f->leg.ready)
              report_due = MIN (report_due, f->leg.next_report);
          }
        if (!poll || f->leg.video == NULL)
          continue;
        if (choose)
          choose_layer (f, l, now);
        if (cf_sfu_stream_keyframe_request (f->leg.video, now, &ssrc))
          {
            f->leg.keyframes_asked++;
            cf_keyframe_requests_ask (&l->keyframes, now);
          }
        waiting = waiting || cf_sfu_stream_waiting (f->leg.video);
      }
  if (report)
    l->forwards_report_due = report_due;
  if (poll)
    {
      l->forwards_in_last_n = l->in_last_n;
      l->forwards_waiting = waiting;
    }
  /* bf_session_request_keyframe sends a PLI or a FIR (what the sender
   * negotiated) for each of its video SSRCs, numbering FIRs itself. */
  if (cf_keyframe_requests_poll (&l->keyframes, now, NULL))
    bf_session_request_keyframe (source->session);
}

/* --- What a receiver sends on a forwarded session --- */

/* RFC 4588 §4: the stored packet @pkt (as sent) again, as a packet of the
 * retransmission stream: its header (marker, timestamp, extensions) with
 * our rtx payload type, sequence number and SSRC, then the original
 * sequence number (OSN) and the original payload (without padding). */
static void
resend (const guint8 *pkt, gsize len, gpointer user_data)
{
  Forward *f = user_data;
  FwdLeg *fl = &f->leg;
  guint8 out[FWD_RTP_MAX];
  BfRtpHeader h;
  gsize n;

  if (!bf_rtp_header_parse (pkt, len, &h) || (gsize) h.payload_offset + 2 + h.payload_len > sizeof out)
    return;
  memcpy (out, pkt, h.payload_offset);
  out[0] &= (guint8) ~0x20;                       /* no padding */
  out[1] = (guint8) ((out[1] & 0x80) | CF_FWD_RTX_PT);
  bf_write_be16 (out + 2, fl->rtx_seq);
  bf_write_be32 (out + 8, fl->rtx_ssrc);
  bf_write_be16 (out + h.payload_offset, h.seq);   /* OSN */
  memcpy (out + h.payload_offset + 2, pkt + h.payload_offset, h.payload_len);
  n = h.payload_offset + 2 + h.payload_len;
  /* A retransmission is a new packet on the transport: a new
   * transport-wide number (the feedback reports each once). */
  stamp_twcc (f, out, n, g_get_monotonic_time ());
  if (bf_session_send_rtp (f->session, out, n))
    {
      fl->rtx_seq++;
      fl->resent++;
    }
}

void
cf_fwd_media (Forward *f, BfPacket *packet)
{
  FwdLeg *fl = &f->leg;
  CfFeedback *fb;
  guint16 seqs[CF_FB_NACK_MAX];
  guint n_seqs = 0;
  gboolean keyframe = FALSE;

  /* The session is 'initiator' only: RTP from the receiver is not ours. */
  if (!fl->joined || !packet->is_rtcp)
    return;
  fl->rtcp_in++;
  fb = cf_room_media_feedback (fl->media);
  if (!cf_rtcp_feedback_read (packet->data, packet->len, fb))
    fl->rtcp_bad++;
  for (guint i = 0; i < fb->n_plis; i++)
    if (fb->plis[i] == fl->video_ssrc)
      keyframe = TRUE;
  for (guint i = 0; i < fb->n_firs; i++)
    if (fb->firs[i].ssrc == fl->video_ssrc && cf_fir_history_is_new (&fl->firs, &fb->firs[i]))
      keyframe = TRUE;
  for (guint i = 0; i < fb->n_nacks; i++)
    if (fb->nacks[i].media_ssrc == fl->video_ssrc)
      seqs[n_seqs++] = fb->nacks[i].seq;
  /* The receiver's bandwidth: its REMB when it sends one (its estimate
   * wins), else ours from its transport-cc feedback. */
  if (fl->bwe != NULL && fb->has_remb)
    {
      fl->bwe->mode = CF_BWE_REMB;
      cf_bandwidth_remb (fl->bwe, fb->remb_bps);
      fl->rembs++;
    }
  if (fl->bwe != NULL && fb->n_twcc > 0 && fl->bwe->mode != CF_BWE_REMB)
    {
      fl->bwe->mode = CF_BWE_TRANSPORT_CC;
      cf_bandwidth_feedback (fl->bwe, fb->twcc, fb->n_twcc, packet->arrival);
      fl->twcc_feedbacks++;
    }
  /* Neither (webrtcbin): the loss its receiver reports of our video. */
  if (fl->bwe != NULL && fl->bwe->mode != CF_BWE_REMB && fl->bwe->mode != CF_BWE_TRANSPORT_CC)
    {
      CfRtcpInfo info = { 0 };
      cf_rtcp_read (packet->data, packet->len, fl->video_ssrc, &info);
      if (info.has_loss)
        {
          gint64 span = packet->arrival - fl->rr_time;
          gint layer = fl->video != NULL ? cf_sfu_stream_get_layer (fl->video) : -1;
          const Leg *src = &fl->source->leg;
          /* What we send: the forwarded layer's rate as it arrives (the
           * first report too), else what went out since the last report. */
          guint64 sent_bps = src->n_layers > 0 && layer >= 0 ? src->layer_bps[layer]
            : fl->rr_time != 0 && span > 0
            ? (fl->video_octets - fl->rr_octets) * 8 * G_USEC_PER_SEC / (guint64) span : 0;
          cf_bandwidth_loss (fl->bwe, info.loss_percent / 100.0, sent_bps, packet->arrival);
          g_debug ("forwarded session %s: %u %% lost of %" G_GUINT64_FORMAT " bit/s of video: "
                   "estimate %" G_GUINT64_FORMAT " bit/s", fl->sid, info.loss_percent, sent_bps,
                   fl->bwe->estimate_bps);
          fl->rr_octets = fl->video_octets;
          fl->rr_time = packet->arrival;
          fl->loss_reports++;
        }
    }
  if (keyframe && fl->video != NULL)
    {
      fl->keyframes_asked++;
      cf_keyframe_requests_ask (&fl->source->leg.keyframes, packet->arrival);
    }
  fl->nacked += n_seqs;
  if (n_seqs > 0 && fl->rtx != NULL && fl->rtx_on)
    cf_rtx_buffer_answer (fl->rtx, fl->source->leg.rtx_store, seqs, n_seqs, packet->arrival, 0,
                          resend, f);
  else
    fl->nacks_unanswerable += n_seqs;
}

void
cf_fwd_ready (Forward *f)
{
  /* Its decoder starts at a keyframe: ask the sender for one now. */
  if (f->leg.joined)
    sent_first (f, g_get_monotonic_time ());
}

/* --- Jobs from the main thread --- */

static void
job_fwd_join (gpointer data)
{
  Forward *f = data;
  FwdLeg *fl = &f->leg;
  Leg *src = &fl->source->leg;

  /* The source left before this ran (its leave job came first): nothing to
   * carry; the main thread ends the session. */
  if (!src->joined)
    return;
  if (fl->has_video)
    {
      fl->video = cf_sfu_stream_new (fl->video_ssrc, 90000, sfu_codec (src));
      /* Copies are kept only for a receiver that can take them back
       * (its answer took rtx): a copy per packet per receiver is the
       * forwarding path's dearest store (cold memory, 768 KB a stream). */
      if (fl->rtx_on)
        fl->rtx = cf_rtx_buffer_new (FWD_RTX_CAPACITY, FWD_RTX_AGE_US);
      fl->bwe = g_new0 (CfBandwidth, 1);
      cf_bandwidth_init (fl->bwe, CF_BWE_NONE, BWE_INITIAL_BPS, BWE_MIN_BPS, BWE_MAX_BPS);
      cf_layer_choice_init (&fl->choice);
    }
  fl->joined = TRUE;
  g_ptr_array_add (src->forwards, f);
  src->n_audio_forwards += fl->has_audio;
  set_layers (f, src);
}

static void
fwd_stop (Forward *f)
{
  FwdLeg *fl = &f->leg;
  const CfSfuStats *vs = fl->video != NULL ? cf_sfu_stream_get_stats (fl->video) : NULL;
  const CfRtxStats *rx = fl->rtx != NULL ? cf_rtx_buffer_stats (fl->rtx) : NULL;

  g_info ("forwarded session %s: sent %" G_GUINT64_FORMAT " audio and %"
          G_GUINT64_FORMAT " video RTP (%" G_GUINT64_FORMAT " failed; video dropped: %"
          G_GUINT64_FORMAT " other layers, %" G_GUINT64_FORMAT " old, %" G_GUINT64_FORMAT
          " malformed), %" G_GUINT64_FORMAT " RTCP in (%" G_GUINT64_FORMAT " malformed), %"
          G_GUINT64_FORMAT " keyframe requests, %" G_GUINT64_FORMAT " NACKed, %"
          G_GUINT64_FORMAT " resent (%" G_GUINT64_FORMAT " no longer held, %" G_GUINT64_FORMAT
          " just resent, %" G_GUINT64_FORMAT " without rtx); %" G_GUINT64_FORMAT
          " sender reports; %"
          G_GUINT64_FORMAT " REMB, %" G_GUINT64_FORMAT " transport-cc feedback, %"
          G_GUINT64_FORMAT " loss reports, %" G_GUINT64_FORMAT " layer switches",
          fl->sid, fl->sent_audio,
          fl->sent_video, fl->send_failed, vs ? vs->dropped_layer : 0, vs ? vs->dropped_old : 0,
          vs ? vs->dropped_malformed : 0, fl->rtcp_in, fl->rtcp_bad, fl->keyframes_asked,
          fl->nacked, fl->resent, rx ? rx->misses : 0, rx ? rx->rate_limited : 0,
          fl->nacks_unanswerable,
          fl->reports_sent, fl->rembs, fl->twcc_feedbacks,
          fl->loss_reports, fl->layer_switches);
  fl->joined = FALSE;
  fl->ready = FALSE;
  g_clear_pointer (&fl->video, cf_sfu_stream_free);
  g_clear_pointer (&fl->rtx, cf_rtx_buffer_free);
  g_clear_pointer (&fl->bwe, g_free);
}

static void
job_fwd_leave (gpointer data)
{
  Forward *f = data;

  if (!f->leg.joined)
    return;
  g_ptr_array_remove (f->leg.source->leg.forwards, f);
  f->leg.source->leg.n_audio_forwards -= f->leg.has_audio;
  fwd_stop (f);
}

/* The source's own leave: any forward still listed (none when the main
 * thread posted their leaves first, as it does) stops here. */
void
cf_sfu_source_left (Participant *source)
{
  Leg *l = &source->leg;

  while (l->forwards != NULL && l->forwards->len > 0)
    {
      Forward *f = g_ptr_array_steal_index (l->forwards, l->forwards->len - 1);
      l->n_audio_forwards -= f->leg.has_audio;
      fwd_stop (f);
    }
}

void
cf_sfu_post_join (RoomMedia *media, Forward *f)
{
  f->leg.media = media;
  bf_worker_invoke (bf_session_get_worker (f->session), job_fwd_join, f, NULL);
}

static void
job_fwd_rtx (gpointer data)
{
  Forward *f = data;

  f->leg.rtx_on = TRUE;
  /* RFC 3550 §5.1 for the retransmission stream too. */
  f->leg.rtx_seq = (guint16) bf_random_u32 ();
  /* Answered after the join (job_fwd_join keeps none until then). */
  if (f->leg.joined && f->leg.video != NULL && f->leg.rtx == NULL)
    f->leg.rtx = cf_rtx_buffer_new (FWD_RTX_CAPACITY, FWD_RTX_AGE_US);
}

/* The receiver's answer has no video we can send (sfu-signal.c said why):
 * its stream goes, so nothing is sent, copied or asked for on its behalf. */
static void
job_fwd_no_video (gpointer data)
{
  Forward *f = data;

  g_clear_pointer (&f->leg.video, cf_sfu_stream_free);
  g_clear_pointer (&f->leg.rtx, cf_rtx_buffer_free);
}

void
cf_sfu_post_answer (Forward *f, gboolean rtx, gboolean video)
{
  /* After the join job (posted when the session was placed), in order. */
  if (!video)
    bf_worker_invoke (bf_session_get_worker (f->session), job_fwd_no_video, f, NULL);
  else if (rtx)
    bf_worker_invoke (bf_session_get_worker (f->session), job_fwd_rtx, f, NULL);
}

typedef struct {
  Forward *f;
  guint width, height;
} DisplayJob;

static void
job_fwd_display (gpointer data)
{
  DisplayJob *job = data;
  FwdLeg *fl = &job->f->leg;

  fl->view_width = job->width;
  fl->view_height = job->height;
  /* At once, not on the next tick: a smaller size takes the lower layer
   * at its next keyframe, a larger one the higher (the estimate
   * permitting). */
  if (fl->joined)
    choose_layer (job->f, &fl->source->leg, g_get_monotonic_time ());
}

void
cf_sfu_post_display (Forward *f, guint width, guint height)
{
  DisplayJob *job = g_new (DisplayJob, 1);

  job->f = f;
  job->width = width;
  job->height = height;
  /* After the join job (posted when the session was placed), in order. */
  bf_worker_invoke (bf_session_get_worker (f->session), job_fwd_display, job, g_free);
}

void
cf_sfu_post_leave (RoomMedia *media, Forward *f)
{
  (void) media;
  bf_worker_invoke (bf_session_get_worker (f->session), job_fwd_leave, f, NULL);
}

/* --- Last-N and the talkers --- */

void
cf_sfu_set_withheld_metrics (BfMetric *audio, BfMetric *video)
{
  m_audio_withheld = audio;
  m_video_withheld = video;
}

void
cf_sfu_set_last_n (guint n)
{
  g_atomic_int_set (&last_n, (gint) CLAMP (n, CF_LAST_N_MIN, CF_LAST_N_MAX));
}

void
cf_sfu_talkers (GPtrArray *by_id, Participant **talkers, guint n_talkers, gint64 now)
{
  g_autofree CfLastNEntry *e = NULL;
  g_autofree Participant **who = NULL;
  guint n = 0, n_audio = 0;

  e = g_new0 (CfLastNEntry, MAX (by_id->len, 1));
  who = g_new0 (Participant *, MAX (by_id->len, 1));
  for (guint i = 0; i < by_id->len; i++)
    {
      Participant *p = g_ptr_array_index (by_id, i);
      if (p == NULL || !p->leg.joined)
        continue;
      for (guint k = 0; k < n_talkers; k++)
        if (talkers[k] == p)
          p->leg.last_spoke = now;
      if (p->leg.pt != 0 && p->leg.recv.started)
        n_audio++;
      if (!p->leg.has_video)
        continue;
      e[n].last_spoke = p->leg.last_spoke;
      e[n].order = p->number;       /* set before the join, then read-only */
      who[n++] = p;
    }
  /* Video: the last N speakers' (choose_layer pauses the others' streams
   * on the next tick; one entering again asks for a keyframe there). */
  cf_last_n_select (e, n, (guint) g_atomic_int_get (&last_n));
  for (guint i = 0; i < n; i++)
    {
      if (who[i]->leg.in_last_n != e[i].selected)
        g_debug ("participant %s: video %s the last N", who[i]->leg.sid,
                 e[i].selected ? "enters" : "leaves");
      who[i]->leg.in_last_n = e[i].selected;
    }
  /* Audio: the talkers' only; with no more senders than the default
   * max-talkers every one could be a talker at once, and all are
   * forwarded (nothing to choose from). */
  for (guint i = 0; i < by_id->len; i++)
    {
      Participant *p = g_ptr_array_index (by_id, i);
      gboolean fwd = n_audio <= AUDIO_ALL_SENDERS;
      if (p == NULL || !p->leg.joined)
        continue;
      for (guint k = 0; k < n_talkers && !fwd; k++)
        fwd = talkers[k] == p;
      if (fwd && !p->leg.audio_forwarded && p->leg.recv.started)
        p->leg.audio_resumed = TRUE;
      p->leg.audio_forwarded = fwd;
    }
}
