/* conference — what runs on a room's worker: the participants' audio into
 * the mixer, the 20 ms tick that sends each listener its mix as RTP, and
 * RTCP both ways (RFC 3550 receiver statistics of what each participant
 * sends us, sender reports of what we send it, its receiver reports
 * steering the loss its encoder plans for).
 *
 * Thread rule: everything here runs on the room's worker (jobs posted with
 * bf_worker_invoke, the timer, the media hooks), except the cf_room_media_
 * post_* functions, which the main thread calls to post those jobs.  See
 * room.h for who owns what.
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include <belfry/packet.h>

#include "mcu-room.h"
#include "recorder.h"
#include "room.h"

/* RTCP: a report to each participant every 2 to 3 s (RFC 3550 §6.2 asks for
 * a randomized interval; for one sender and one receiver per session, a few
 * seconds is what WebRTC stacks send too).  In ticks of 20 ms. */
#define REPORT_TICKS_MIN 100
#define REPORT_TICKS_SPREAD 50
/* The largest RTP packet we build: a 20 ms Opus frame is at most 1275
 * bytes (RFC 6716 §3.4). */
#define RTP_HEADER 12
/* Missed ticks mixed late rather than shed, per tick (room_tick). */
#define CATCH_UP_MAX 2
#define RTP_MAX (RTP_HEADER + 1500)
/* A participant's SSRC changes (a client restarting its sender) are taken
 * once the old one has been quiet this long. */
#define SSRC_SWITCH_US (1 * G_USEC_PER_SEC)

struct _RoomMedia {
  BfWorker *worker;
  char *name;              /* for logs */
  CfMixer *mixer;
  GPtrArray *by_id;        /* Participant*, indexed by mixer id (holes NULL) */
  guint n_legs;
  guint timer;
  guint64 tick_index;      /* of the tick running or last run */
  guint64 prev_tick_index; /* of the one before it: a listener sent to then
                            * is in a talkspurt (no marker) */
  gint64 tick_deadline;
  gboolean behind;          /* the last tick came with ticks skipped */
  guint64 ticks, ticks_skipped, ticks_caught_up, sent, send_failed, oversized;
  /* The room's recording (recorder.h), fed the shared mix every tick. */
  CfRecorder *recorder;
  gint *rec_failed;        /* the main thread's flag for it (room.h) */
  guint16 rec_seq;
  guint32 rec_ts_base;
  /* The composite video (mcu-room.h). */
  CfMcuRoom *mcu;
  /* What a forwarded session's RTCP says (sfu-room.c cf_fwd_media): 20 KB,
   * too big for the worker's stack, read per packet: one, the worker's. */
  CfFeedback *feedback;
};

static void record_tick (RoomMedia *m);

/* --- The tick --- */

static Participant *
participant_of (RoomMedia *m, guint id)
{
  return id < m->by_id->len ? g_ptr_array_index (m->by_id, id) : NULL;
}

/* The mixer's frame for listener @id: one RTP packet under our SSRC for
 * it, its own sequence, the room clock's timestamp. */
static void
on_output (guint id, const guint8 *payload, gsize len, gpointer user_data)
{
  RoomMedia *m = user_data;
  Participant *p = participant_of (m, id);
  guint8 packet[RTP_MAX];
  Leg *l;

  if (p == NULL || !p->leg.joined || !p->leg.ready || !p->leg.listens || p->leg.sfu)
    return;
  l = &p->leg;
  if (len > RTP_MAX - RTP_HEADER)
    {
      m->oversized++;
      return;
    }
  /* RFC 7587 §4.1 / RFC 3551 §4.1: the marker starts a talkspurt, i.e. the
   * first packet after ticks this listener got nothing (DTX, silence). */
  gboolean marker = l->last_sent_tick == 0 || l->last_sent_tick != m->prev_tick_index + 1;
  packet[0] = 0x80;
  packet[1] = (guint8) ((l->pt & 0x7f) | (marker ? 0x80 : 0));
  bf_write_be16 (packet + 2, l->seq);
  /* The room's clock: 960 per tick, so a skipped tick (a busy worker) or a
   * silent stretch leaves the gap the receiver expects. */
  bf_write_be32 (packet + 4, l->ts_base + (guint32) (m->tick_index * CF_SAMPLES_PER_TICK));
  bf_write_be32 (packet + 8, l->ssrc);
  memcpy (packet + RTP_HEADER, payload, len);
  if (bf_session_send_rtp (p->session, packet, RTP_HEADER + len))
    {
      l->seq++;
      l->sent_packets++;
      l->sent_octets += len;
      l->last_sent_tick = m->tick_index + 1;
      m->sent++;
    }
  else
    {
      l->send_failed++;
      m->send_failed++;
    }
}

/* --- RTCP we send: SR (or RR before any RTP) + SDES CNAME --- */

static void
send_report (RoomMedia *m, Participant *p)
{
  Leg *l = &p->leg;
  guint8 b[CF_RTCP_REPORT_MAX];
  CfReport r = { 0 };
  gsize n;

  r.ssrc = l->ssrc;
  r.cname = l->cname;
  r.now = g_get_monotonic_time ();
  r.stats = &l->recv;
  if (l->sent_packets > 0)
    {
      /* The RTP time of this instant on the room's clock. */
      guint32 tick_ts = l->ts_base + (guint32) (m->tick_index * CF_SAMPLES_PER_TICK);
      cf_report_set_sender (&r, tick_ts, m->tick_deadline, CF_CLOCK, l->sent_packets,
                            l->sent_octets, r.now);
    }
  n = cf_rtcp_build_report (&r, b, sizeof b);
  if (n > 0)
    bf_session_send_rtcp (p->session, b, n);
  /* The composite video we send it (mcu-room.c), on the same wall clock:
   * its own SR, so the receiver can line it up with the mix (RFC 3550
   * §6.4.1; one CNAME for both, §6.5.1). */
  if (l->mcu_sent > 0)
    {
      CfReport v = { 0 };
      v.ssrc = l->mcu_ssrc;
      v.cname = l->cname;
      v.now = r.now;
      cf_report_set_sender (&v, l->mcu_last_ts, l->mcu_last_sent, 90000, l->mcu_sent,
                            l->mcu_octets, v.now);
      n = cf_rtcp_build_report (&v, b, sizeof b);
      if (n > 0 && bf_session_send_rtcp (p->session, b, n))
        l->mcu_reports_sent++;
    }
}

/* Mixes the tick of index @index (due at @deadline) and sends it. */
static void
mix_one (RoomMedia *m, guint64 index, gint64 deadline)
{
  m->prev_tick_index = m->tick_index;
  m->tick_index = index;
  m->tick_deadline = deadline;
  cf_mixer_tick (m->mixer, deadline, on_output, m);
  if (m->recorder != NULL)
    record_tick (m);
}

static gboolean
room_tick (const BfWorkerTick *tick, gpointer data)
{
  RoomMedia *m = data;
  guint skipped = tick->skipped, catch_up = 0;

  m->ticks++;
  /* A worker held up now and then (a busy machine: 20-60 ms) mixes the
   * ticks it missed at once, at most CATCH_UP_MAX of them, sent late but
   * whole under their own timestamps: the listeners' jitter buffers take a
   * burst of 60 ms, not a hole.  One that keeps missing ticks (overload)
   * sheds them instead: catching up would make every tick late.  Ticks
   * shed move playout on without mixing them (mixer.h), so the room's
   * clock stays the worker timer's grid. */
  if (skipped > 0 && !m->behind)
    catch_up = MIN (skipped, CATCH_UP_MAX);
  m->behind = skipped > 0;
  m->ticks_skipped += skipped - catch_up;
  m->ticks_caught_up += catch_up;
  if (skipped > catch_up)
    cf_mixer_skip (m->mixer, skipped - catch_up);
  for (guint i = catch_up; i > 0; i--)
    mix_one (m, tick->index - i, tick->deadline - (gint64) i * CF_PTIME_MS * 1000);
  mix_one (m, tick->index, tick->deadline);
  cf_mcu_room_tick (m->mcu, m->mixer, m->by_id, g_get_monotonic_time ());
  /* The SFU's last-N and audio forwarding follow the mixer's talkers. */
  {
    guint ids[CF_MIXER_MAX_TALKERS], n_ids;
    Participant *talkers[CF_MIXER_MAX_TALKERS];
    guint n = 0;
    n_ids = cf_mixer_get_talkers (m->mixer, ids, G_N_ELEMENTS (ids));
    for (guint i = 0; i < n_ids; i++)
      if (participant_of (m, ids[i]) != NULL)
        talkers[n++] = participant_of (m, ids[i]);
    cf_sfu_talkers (m->by_id, talkers, n, g_get_monotonic_time ());
  }
  for (guint i = 0; i < m->by_id->len; i++)
    {
      Participant *p = g_ptr_array_index (m->by_id, i);
      if (p != NULL && p->leg.forwards != NULL && p->leg.forwards->len > 0)
        cf_sfu_tick (p, g_get_monotonic_time ());
      else if (p != NULL && p->leg.mcu_source
               && cf_keyframe_requests_poll (&p->leg.keyframes, g_get_monotonic_time (), NULL))
        /* The MCU's requests toward a sender no XEP-0521 receiver takes
         * (cf_sfu_tick polls the same merged requests otherwise). */
        bf_session_request_keyframe (p->session);
      if (p != NULL && p->leg.ready && tick->index >= p->leg.next_report_tick)
        {
          send_report (m, p);
          p->leg.next_report_tick = tick->index + REPORT_TICKS_MIN
                                    + bf_random_u32 () % REPORT_TICKS_SPREAD;
        }
    }
  return G_SOURCE_CONTINUE;
}

/* --- Receiving --- */

/* The RFC 6464 byte: V (voice) and the level in -dBov. */
static void
read_level (const Leg *l, const BfPacket *packet, gint *level, gboolean *voice)
{
  const guint8 *e;
  gsize len = 0;

  *level = -1;
  *voice = FALSE;
  if (l->level_ext == 0)
    return;
  e = bf_rtp_header_find_extension (&packet->rtp, packet->data, l->level_ext, &len);
  if (e == NULL || len < 1)
    return;
  *voice = (e[0] & 0x80) != 0;
  *level = e[0] & 0x7f;
}

static void
read_rtp (RoomMedia *m, Participant *p, BfPacket *packet)
{
  Leg *l = &p->leg;
  const BfRtpHeader *h = &packet->rtp;
  gint level;
  gboolean voice;

  /* Its video, VP8 or H.264: forwarded to XEP-0521 participants without
   * decoding (sfu-room.c, which also sees its keyframes), and into the
   * composite. */
  if (l->has_video && h->payload_type == l->video_pt && h->payload_len > 0)
    {
      l->video_in++;
      cf_sfu_forward_video (p, packet);
      cf_mcu_room_push_video (m->mcu, p, packet);
      return;
    }
  /* Only the Opus we answered (red, rtx, or a payload type of a content we
   * set to senders 'none' are not the room's). */
  if (h->payload_type != l->pt || h->payload_len == 0)
    {
      l->rtp_other++;
      return;
    }
  /* One stream per participant: a second SSRC at once (an rtx stream of
   * the same payload type, a stray) is not mixed; a new one after a
   * silence is a sender that restarted. */
  if (l->recv.started && h->ssrc != l->recv.ssrc
      && packet->arrival - l->last_arrival < SSRC_SWITCH_US)
    {
      l->rtp_other++;
      return;
    }
  cf_recv_stats_update (&l->recv, h->ssrc, h->seq, h->timestamp, packet->arrival, CF_CLOCK);
  l->last_arrival = packet->arrival;
  l->rtp_in++;

  read_level (l, packet, &level, &voice);
  cf_mixer_push (m->mixer, l->mixer_id, h->seq, h->timestamp,
                 packet->data + h->payload_offset, h->payload_len, level, voice,
                 packet->arrival);
  /* The same packet, as it came, to each XEP-0521 receiver of it (the
   * mixer copied what it keeps), unless it is muted for the room. */
  if (!l->muted && l->forwards->len > 0)
    cf_sfu_forward_audio (p, packet);
}

/* The participant's RTCP: its SR (for the LSR/DLSR of our reports) and its
 * report block about our stream (the loss its decoder sees: in-band FEC in
 * what we encode for it). */
static void
read_rtcp (RoomMedia *m, Participant *p, BfPacket *packet)
{
  Leg *l = &p->leg;
  CfRtcpInfo info;

  l->rtcp_in++;
  if (!cf_rtcp_read (packet->data, packet->len, l->ssrc, &info))
    l->rtcp_bad++;
  if (info.has_sr && l->recv.started && info.sr_ssrc == l->recv.ssrc)
    cf_recv_stats_sender_report (&l->recv, info.sr_ntp_sec, info.sr_ntp_frac, packet->arrival);
  if (info.has_loss)
    cf_mixer_set_listener_loss (m->mixer, l->mixer_id, info.loss_percent);
  /* A PLI or FIR about the composite we send it. */
  cf_mcu_room_rtcp (m->mcu, p, packet);
}

void
cf_leg_media (Participant *p, BfSession *session, BfPacket *packet)
{
  (void) session;
  /* Before the join ran, or after the leave (a packet read between our
   * leave job and the core's teardown): not the room's. */
  if (p == NULL || !p->leg.joined)
    return;
  if (packet->is_rtcp)
    read_rtcp (p->leg.media, p, packet);
  else
    read_rtp (p->leg.media, p, packet);
}

void
cf_leg_ready (Participant *p)
{
  if (p != NULL)
    p->leg.ready = TRUE;
}

/* --- Jobs from the main thread --- */

static void
job_join (gpointer data)
{
  Participant *p = data;
  Leg *l = &p->leg;
  RoomMedia *m = l->media;

  l->mixer_id = cf_mixer_add (m->mixer);
  cf_mixer_set_deaf (m->mixer, l->mixer_id, !l->listens);
  if (l->mixer_id >= m->by_id->len)
    g_ptr_array_set_size (m->by_id, l->mixer_id + 1);
  g_ptr_array_index (m->by_id, l->mixer_id) = p;
  /* RFC 3550 §5.1: random initial sequence number and timestamp. */
  l->seq = (guint16) bf_random_u32 ();
  l->ts_base = bf_random_u32 ();
  l->forwards = g_ptr_array_new ();
  /* A receiver's request reaches the sender at most every 300 ms, and is
   * asked again after 1 s without a keyframe. */
  cf_keyframe_requests_init (&l->keyframes, 300 * 1000, G_USEC_PER_SEC);
  l->joined = TRUE;
  /* The first report soon (1 to 2 s): a receiver learns our SSRC's timing
   * early. */
  l->next_report_tick = m->tick_index + 50 + bf_random_u32 () % 50;
  m->n_legs++;
  /* One timer per room, running while it has participants. */
  if (m->timer == 0)
    {
      m->timer = bf_worker_timer_add (m->worker, CF_PTIME_MS, room_tick, m, NULL);
      g_info ("room %s: the %u ms mixing tick started on the room's worker", m->name,
              CF_PTIME_MS);
    }
  cf_mcu_room_join (m->mcu, p);
}

static void
job_leave (gpointer data)
{
  Participant *p = data;
  Leg *l = &p->leg;
  RoomMedia *m = l->media;

  if (!l->joined)
    return;
  cf_sfu_source_left (p);
  cf_mcu_room_leave (m->mcu, p);
  g_clear_pointer (&l->forwards, g_ptr_array_unref);
  g_clear_pointer (&l->rtx_store, cf_rtx_store_free);
  cf_mixer_remove (m->mixer, l->mixer_id);
  if (l->mixer_id < m->by_id->len)
    g_ptr_array_index (m->by_id, l->mixer_id) = NULL;
  l->joined = FALSE;
  g_info ("room %s: call %s: received %" G_GUINT64_FORMAT " Opus RTP (and %" G_GUINT64_FORMAT
          " other RTP, not mixed), %" G_GUINT64_FORMAT " %s RTP and %" G_GUINT64_FORMAT
          " RTCP (%" G_GUINT64_FORMAT " malformed); sent %" G_GUINT64_FORMAT " RTP (%"
          G_GUINT64_FORMAT " failed); %" G_GUINT64_FORMAT " keyframe requests sent to it (%"
          G_GUINT64_FORMAT " re-sent, %" G_GUINT64_FORMAT " given up with no keyframe seen)",
          m->name, l->sid, l->rtp_in, l->rtp_other, l->video_in,
          cf_mcu_codec_name (l->video_codec), l->rtcp_in, l->rtcp_bad,
          l->sent_packets, l->send_failed, l->keyframes.sent + l->keyframes.resent,
          l->keyframes.resent, l->keyframes.given_up);
  if (--m->n_legs == 0 && m->timer != 0)
    {
      bf_worker_timer_remove (m->worker, m->timer);
      m->timer = 0;
      g_info ("room %s: the mixing tick stopped after %" G_GUINT64_FORMAT " ticks (%"
              G_GUINT64_FORMAT " mixed late and %" G_GUINT64_FORMAT " skipped: a busy worker), %"
              G_GUINT64_FORMAT " packets sent", m->name, m->ticks, m->ticks_caught_up,
              m->ticks_skipped, m->sent);
    }
}

typedef struct {
  Participant *p;
  gboolean muted;
} MuteJob;

static void
job_mute (gpointer data)
{
  MuteJob *job = data;

  if (job->p->leg.joined)
    {
      job->p->leg.muted = job->muted;
      cf_mixer_set_muted (job->p->leg.media->mixer, job->p->leg.mixer_id, job->muted);
    }
}

static void
job_video_mute (gpointer data)
{
  MuteJob *job = data;

  if (job->p->leg.joined)
    cf_mcu_room_video_mute (job->p->leg.media->mcu, job->p, job->muted);
}

static void
job_sfu (gpointer data)
{
  Participant *p = data;

  if (p->leg.joined)
    {
      p->leg.sfu = TRUE;
      cf_mcu_room_sfu (p->leg.media->mcu, p);
      cf_mixer_set_deaf (p->leg.media->mixer, p->leg.mixer_id, TRUE);
    }
}

static void
job_stop (gpointer data)
{
  RoomMedia *m = data;

  if (m->timer != 0)
    bf_worker_timer_remove (m->worker, m->timer);
  m->timer = 0;
}

/* After job_stop, or on the thread that stops the worker (belfry exits). */
static void
room_media_free (gpointer data)
{
  RoomMedia *m = data;

  if (m->mixer != NULL)
    {
      CfMixerStats s;
      cf_mixer_get_stats (m->mixer, &s);
      g_info ("room %s: mixer: %" G_GUINT64_FORMAT " packets in (%" G_GUINT64_FORMAT
              " late, %" G_GUINT64_FORMAT " over a jitter buffer), %" G_GUINT64_FORMAT
              " decoded, %" G_GUINT64_FORMAT " concealed, %" G_GUINT64_FORMAT " from FEC, %"
              G_GUINT64_FORMAT " encodes for %" G_GUINT64_FORMAT " frames out, %" G_GUINT64_FORMAT
              " invalid, %" G_GUINT64_FORMAT " skipped for drift",
              m->name, s.pushed, s.late, s.dropped_overflow, s.decoded, s.plc, s.fec, s.encodes,
              s.frames_out, s.invalid, s.drift_skips);
      cf_mixer_free (m->mixer);
    }
  g_clear_pointer (&m->mcu, cf_mcu_room_free);
  g_clear_pointer (&m->recorder, cf_recorder_close);
  g_clear_pointer (&m->rec_failed, g_atomic_rc_box_release);
  g_ptr_array_unref (m->by_id);
  g_free (m->feedback);
  g_free (m->name);
  g_free (m);
}

RoomMedia *
cf_room_media_new (BfWorker *worker, const CfMixerConfig *config,
                   const CfCompositeConfig *composite, const char *name)
{
  RoomMedia *m = g_new0 (RoomMedia, 1);

  m->worker = worker;
  m->name = g_strdup (name);
  /* Made here on the main thread, used only on the worker from now on
   * (the post that follows orders it). */
  m->mixer = cf_mixer_new (config);
  m->by_id = g_ptr_array_new ();
  m->mcu = cf_mcu_room_new (name, composite);
  m->feedback = g_new0 (CfFeedback, 1);
  return m;
}

CfFeedback *
cf_room_media_feedback (RoomMedia *media)
{
  return media->feedback;
}

void
cf_room_media_post_join (RoomMedia *media, Participant *p)
{
  p->leg.media = media;
  bf_worker_invoke (media->worker, job_join, p, NULL);
}

void
cf_room_media_post_leave (RoomMedia *media, Participant *p)
{
  bf_worker_invoke (media->worker, job_leave, p, NULL);
}

static void
post_mute_job (RoomMedia *media, Participant *p, gboolean muted, BfWorkerFunc func)
{
  MuteJob *job = g_new0 (MuteJob, 1);

  job->p = p;
  job->muted = muted;
  bf_worker_invoke (media->worker, func, job, g_free);
}

void
cf_room_media_post_mute (RoomMedia *media, Participant *p, gboolean muted)
{
  post_mute_job (media, p, muted, job_mute);
}

void
cf_room_media_post_video_mute (RoomMedia *media, Participant *p, gboolean muted)
{
  post_mute_job (media, p, muted, job_video_mute);
}

void
cf_room_media_post_sfu (RoomMedia *media, Participant *p)
{
  bf_worker_invoke (media->worker, job_sfu, p, NULL);
}

void
cf_room_media_post_free (RoomMedia *media)
{
  bf_worker_invoke (media->worker, job_stop, media, room_media_free);
}

/* --- Recording (recorder.h) --- */

/* The tick's shared mix (the whole room, encoded once: mixer.h) to the
 * recorder as RTP on the room's clock; a tick without one (nobody talks)
 * becomes silence there.  A recorder that failed is let go: the room goes
 * on unrecorded (recorder.c logged why). */
static void
record_tick (RoomMedia *m)
{
  guint8 packet[RTP_MAX];
  guint32 ts = m->rec_ts_base + (guint32) (m->tick_index * CF_SAMPLES_PER_TICK);
  gsize len = 0;
  const guint8 *payload = cf_mixer_get_shared (m->mixer, &len);

  if (payload != NULL && len <= RTP_MAX - RTP_HEADER)
    {
      packet[0] = 0x80;
      packet[1] = CF_RECORDER_PT_OPUS;
      bf_write_be16 (packet + 2, m->rec_seq++);
      bf_write_be32 (packet + 4, ts);
      bf_write_be32 (packet + 8, 0);
      memcpy (packet + RTP_HEADER, payload, len);
      cf_recorder_push_audio (m->recorder, packet, RTP_HEADER + len);
    }
  cf_recorder_tick (m->recorder, ts + CF_SAMPLES_PER_TICK);
  if (cf_recorder_failed (m->recorder))
    {
      cf_mcu_room_set_recorder (m->mcu, NULL);
      g_clear_pointer (&m->recorder, cf_recorder_close);
      cf_mixer_set_keep_shared (m->mixer, FALSE);
      g_atomic_int_set (m->rec_failed, 1);
      g_clear_pointer (&m->rec_failed, g_atomic_rc_box_release);
    }
}

typedef struct {
  RoomMedia *m;
  CfRecorder *rec;
  gint *failed;
} RecordJob;

static void
job_record (gpointer data)
{
  RecordJob *job = data;
  RoomMedia *m = job->m;

  cf_mcu_room_set_recorder (m->mcu, NULL);
  g_clear_pointer (&m->recorder, cf_recorder_close);
  g_clear_pointer (&m->rec_failed, g_atomic_rc_box_release);
  m->recorder = g_steal_pointer (&job->rec);
  m->rec_failed = g_steal_pointer (&job->failed);
  /* With a video track, the composite is its video (mcu-room.h). */
  cf_mcu_room_set_recorder (m->mcu, m->recorder);
  /* The shared encoder runs every tick while recording, even when every
   * participant talks (each then has its own mix-minus encoder). */
  cf_mixer_set_keep_shared (m->mixer, m->recorder != NULL);
  m->rec_seq = (guint16) bf_random_u32 ();
  m->rec_ts_base = bf_random_u32 ();
}

static void
record_job_free (gpointer data)
{
  RecordJob *job = data;

  /* Not run (the worker stopped first): the recorder still ends. */
  g_clear_pointer (&job->rec, cf_recorder_close);
  g_clear_pointer (&job->failed, g_atomic_rc_box_release);
  g_free (job);
}

void
cf_room_media_post_record (RoomMedia *media, CfRecorder *rec, gint *failed)
{
  RecordJob *job = g_new0 (RecordJob, 1);

  g_return_if_fail ((rec == NULL) == (failed == NULL));
  job->m = media;
  job->rec = rec;
  job->failed = failed != NULL ? g_atomic_rc_box_acquire (failed) : NULL;
  bf_worker_invoke (media->worker, job_record, job, record_job_free);
}
