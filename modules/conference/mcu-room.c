/* conference — the room side of the MCU.  See mcu-room.h (why, when it
 * runs, thread rule). */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include <belfry/packet.h>

#include "mcu.h"
#include "mcu-room.h"

/* The composite: 640×360, 15 fps (a room's worker shares the machine with
 * the mixer: half the default rate halves decode and encode), 500 kb/s. */
#define MCU_RTP_MAX 1500
/* The layout's speaker changes at most this often (a room where two talk
 * at once would otherwise flap between them). */
#define SPEAKER_HOLD_US (1 * G_USEC_PER_SEC)
/* A source's branch is built on the MCU's control thread soon after the
 * add; a keyframe that came before it was dropped, so the sender is asked
 * again this long after. */
#define ASK_AGAIN_US (700 * 1000)

/* What the MCU's callbacks queue (its threads), drained on the tick. */
typedef struct {
  gint ref;
  GMutex lock;
  GArray *keyframes;       /* guint source ids */
  GArray *failed;          /* guint source ids */
  gboolean fatal;
} Box;

struct _CfMcuRoom {
  char *name;
  CfCompositeConfig composite;
  CfMcu *mcu;
  Box *box;                /* the current MCU's */
  gboolean fatal;          /* no composite in this room any more */
  GPtrArray *senders;      /* Participant* whose leg has_video */
  GPtrArray *listeners;    /* Participant* whose leg video_listens */
  CfRecorder *recorder;    /* the worker's; NULL or with a video track */
  guint16 rec_seq;
  guint speaker;           /* source id told to the MCU */
  gint64 speaker_changed;
  GPtrArray *out;          /* pulled packets (reused) */
  GPtrArray *freeing;      /* GThread* freeing an MCU no longer needed: joined at the end */
  guint64 created, packets_out;
};

static Box *
box_new (void)
{
  Box *b = g_new0 (Box, 1);

  b->ref = 1;
  g_mutex_init (&b->lock);
  b->keyframes = g_array_new (FALSE, FALSE, sizeof (guint));
  b->failed = g_array_new (FALSE, FALSE, sizeof (guint));
  return b;
}

static void
box_unref (Box *b)
{
  if (!g_atomic_int_dec_and_test (&b->ref))
    return;
  g_array_unref (b->keyframes);
  g_array_unref (b->failed);
  g_mutex_clear (&b->lock);
  g_free (b);
}

/* Bounded: a decoder that keeps losing sync asks on every frame. */
#define BOX_MAX 64

static void
on_source_keyframe (guint id, gpointer user_data)
{
  Box *b = user_data;

  g_mutex_lock (&b->lock);
  if (b->keyframes->len < BOX_MAX)
    g_array_append_val (b->keyframes, id);
  g_mutex_unlock (&b->lock);
}

static void
on_source_failed (guint id, gpointer user_data)
{
  Box *b = user_data;

  g_mutex_lock (&b->lock);
  if (b->failed->len < BOX_MAX)
    g_array_append_val (b->failed, id);
  g_mutex_unlock (&b->lock);
}

static void
on_fatal (const GError *error, gpointer user_data)
{
  Box *b = user_data;

  (void) error;   /* mcu.c logged it */
  g_mutex_lock (&b->lock);
  b->fatal = TRUE;
  g_mutex_unlock (&b->lock);
}

static const CfMcuEvents mcu_events = { on_source_keyframe, on_source_failed, on_fatal };

/* cf_mcu_free blocks until the pipeline stopped: never on the worker. */
typedef struct {
  CfMcu *mcu;
  Box *box;
} Freeing;

static gpointer
free_thread (gpointer data)
{
  Freeing *f = data;

  cf_mcu_free (f->mcu);
  box_unref (f->box);
  g_free (f);
  return NULL;
}

static void
drop_mcu (CfMcuRoom *mr, const char *why)
{
  Freeing *f;
  CfMcuStats s;

  if (mr->mcu == NULL)
    return;
  cf_mcu_get_stats (mr->mcu, &s);
  g_info ("room %s: the MCU stops (%s): %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
          " packets out, %" G_GUINT64_FORMAT " in (%" G_GUINT64_FORMAT " unknown, %"
          G_GUINT64_FORMAT " full), %" G_GUINT64_FORMAT " keyframes forced",
          mr->name, why, s.frames_out, s.packets_out, s.pushed, s.dropped_unknown,
          s.dropped_full, s.keyframes_forced);
  f = g_new0 (Freeing, 1);
  f->mcu = g_steal_pointer (&mr->mcu);
  f->box = g_steal_pointer (&mr->box);
  g_ptr_array_add (mr->freeing, g_thread_new ("bf-mcu-free", free_thread, f));
  for (guint i = 0; i < mr->senders->len; i++)
    ((Participant *) g_ptr_array_index (mr->senders, i))->leg.mcu_source = FALSE;
  for (guint i = 0; i < mr->listeners->len; i++)
    ((Participant *) g_ptr_array_index (mr->listeners, i))->leg.mcu_started = FALSE;
  mr->speaker = 0;
}

static guint
n_sending (CfMcuRoom *mr)
{
  guint n = 0;

  for (guint i = 0; i < mr->senders->len; i++)
    {
      const Leg *l = &((Participant *) g_ptr_array_index (mr->senders, i))->leg;
      n += l->mcu_sending && !l->video_muted;
    }
  return n;
}

static guint
n_listening (CfMcuRoom *mr)
{
  guint n = 0;

  for (guint i = 0; i < mr->listeners->len; i++)
    n += !((Participant *) g_ptr_array_index (mr->listeners, i))->leg.sfu;
  return n;
}

static void
add_source (CfMcuRoom *mr, Participant *p, gint64 now)
{
  Leg *l = &p->leg;

  if (l->mcu_source || l->mcu_failed || !l->mcu_sending || l->video_muted)
    return;
  if (!cf_mcu_add_source (mr->mcu, p->number, l->video_codec, l->video_pt, 90000))
    {
      g_message ("room %s: call %s: its %s video is not in the composite (the layout is "
                 "full: %u sources, or no decoder)", mr->name, l->sid,
                 cf_mcu_codec_name (l->video_codec), CF_MCU_MAX_SOURCES);
      l->mcu_failed = TRUE;
      return;
    }
  l->mcu_source = TRUE;
  /* Its tile is black until a keyframe decodes (mcu.h). */
  cf_keyframe_requests_ask (&l->keyframes, now);
  l->mcu_keyframes_asked++;
  l->mcu_ask_again = now + ASK_AGAIN_US;
}

/* Whether anyone takes @codec's encoding: an ordinary listener that
 * negotiated it, or (VP8) the recorder, whose file is WebM. */
static gboolean
codec_taken (CfMcuRoom *mr, CfMcuCodec codec)
{
  if (codec == CF_MCU_CODEC_VP8 && mr->recorder != NULL)
    return TRUE;
  for (guint i = 0; i < mr->listeners->len; i++)
    {
      const Leg *l = &((Participant *) g_ptr_array_index (mr->listeners, i))->leg;
      if (!l->sfu && l->video_codec == codec)
        return TRUE;
    }
  return FALSE;
}

/* Makes the MCU when it is needed and not there, frees it when it is
 * there and not needed (mcu-room.h, "When the MCU runs"); runs only the
 * encoders someone takes. */
static void
update (CfMcuRoom *mr)
{
  gboolean needed = n_sending (mr) > 0 && (n_listening (mr) > 0 || mr->recorder != NULL);
  gint64 now = g_get_monotonic_time ();
  g_autoptr (GError) error = NULL;
  CfMcuConfig cfg;

  if (!needed)
    {
      drop_mcu (mr, "no video sender, or nobody takes the composite");
      return;
    }
  if (mr->fatal)
    return;
  if (mr->mcu == NULL)
    {
      cf_mcu_config_init (&cfg);
      cfg.width = mr->composite.width;
      cfg.height = mr->composite.height;
      cfg.fps = mr->composite.fps;
      cfg.bitrate_kbps = mr->composite.kbps;
      cfg.payload_type = CF_FWD_VP8_PT;   /* rewritten per listener */
      /* H.264 whenever this machine can (conference.c answers it only
       * then): a listener of it may join later, and a closed encoder
       * costs nothing. */
      if (cf_mcu_codec_available (CF_MCU_CODEC_H264, TRUE))
        cfg.codecs |= CF_MCU_CODEC_BIT (CF_MCU_CODEC_H264);
      mr->box = box_new ();
      mr->mcu = cf_mcu_new (&cfg, NULL, &mcu_events, mr->box, &error);
      if (mr->mcu == NULL)
        {
          g_warning ("room %s: no composite video (the MCU would not start: %s); audio goes "
                     "on", mr->name, error->message);
          g_clear_pointer (&mr->box, box_unref);
          mr->fatal = TRUE;
          return;
        }
      /* mcu.c passes the box to its callbacks until cf_mcu_free returns:
       * the freeing thread holds that reference. */
      mr->created++;
      g_info ("room %s: the MCU starts (%u×%u, %u fps, %u kb/s, VP8%s) for %u video senders",
              mr->name, cfg.width, cfg.height, cfg.fps, cfg.bitrate_kbps,
              (cfg.codecs & CF_MCU_CODEC_BIT (CF_MCU_CODEC_H264)) ? " and H.264" : "",
              n_sending (mr));
    }
  for (guint k = 0; k < CF_MCU_N_CODECS; k++)
    cf_mcu_set_codec_active (mr->mcu, k, codec_taken (mr, k));
  for (guint i = 0; i < mr->senders->len; i++)
    add_source (mr, g_ptr_array_index (mr->senders, i), now);
}

CfMcuRoom *
cf_mcu_room_new (const char *name, const CfCompositeConfig *composite)
{
  CfMcuRoom *mr = g_new0 (CfMcuRoom, 1);

  mr->name = g_strdup (name);
  mr->composite = *composite;
  mr->senders = g_ptr_array_new ();
  mr->listeners = g_ptr_array_new ();
  mr->out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  mr->freeing = g_ptr_array_new ();
  mr->rec_seq = (guint16) bf_random_u32 ();
  return mr;
}

void
cf_mcu_room_free (CfMcuRoom *mr)
{
  /* Its participants may be gone already (belfry exits: their leave jobs
   * never ran): forgotten, not touched. */
  g_ptr_array_set_size (mr->senders, 0);
  g_ptr_array_set_size (mr->listeners, 0);
  drop_mcu (mr, "the room ended");
  /* The room ends (or belfry exits): its pipelines are stopped before it
   * is gone (a GStreamer thread running while the process exits crashes
   * it).  A pipeline stops in tens of ms; once per room. */
  for (guint i = 0; i < mr->freeing->len; i++)
    g_thread_join (g_ptr_array_index (mr->freeing, i));
  g_ptr_array_unref (mr->freeing);
  g_ptr_array_unref (mr->senders);
  g_ptr_array_unref (mr->listeners);
  g_ptr_array_unref (mr->out);
  g_free (mr->name);
  g_free (mr);
}

void
cf_mcu_room_join (CfMcuRoom *mr, Participant *p)
{
  Leg *l = &p->leg;

  if (l->has_video)
    g_ptr_array_add (mr->senders, p);
  if (l->video_listens)
    {
      /* RFC 3550 §5.1: random initial sequence number and timestamp. */
      l->mcu_seq = (guint16) bf_random_u32 ();
      l->mcu_ts_offset = bf_random_u32 ();
      g_ptr_array_add (mr->listeners, p);
    }
  if (l->has_video || l->video_listens)
    update (mr);
}

void
cf_mcu_room_leave (CfMcuRoom *mr, Participant *p)
{
  Leg *l = &p->leg;
  gboolean changed = FALSE;

  if (g_ptr_array_remove (mr->senders, p))
    {
      if (l->mcu_source && mr->mcu != NULL)
        cf_mcu_remove_source (mr->mcu, p->number);
      l->mcu_source = FALSE;
      if (mr->speaker == p->number)
        mr->speaker = 0;
      changed = TRUE;
    }
  if (g_ptr_array_remove (mr->listeners, p))
    {
      if (l->mcu_sent > 0)
        g_info ("room %s: call %s: %" G_GUINT64_FORMAT " composite RTP sent, %" G_GUINT64_FORMAT
                " SRs for it", mr->name, l->sid, l->mcu_sent, l->mcu_reports_sent);
      changed = TRUE;
    }
  if (changed)
    update (mr);
}

void
cf_mcu_room_sfu (CfMcuRoom *mr, Participant *p)
{
  (void) p;   /* its leg's sfu flag is set: it is no listener any more */
  update (mr);
}

void
cf_mcu_room_video_mute (CfMcuRoom *mr, Participant *p, gboolean muted)
{
  Leg *l = &p->leg;

  if (l->video_muted == muted)
    return;
  l->video_muted = muted;
  if (muted && l->mcu_source && mr->mcu != NULL)
    cf_mcu_remove_source (mr->mcu, p->number);
  if (muted)
    {
      l->mcu_source = FALSE;
      if (mr->speaker == p->number)
        mr->speaker = 0;
    }
  update (mr);
}

void
cf_mcu_room_set_recorder (CfMcuRoom *mr, CfRecorder *rec)
{
  mr->recorder = rec != NULL && cf_recorder_has_video (rec) ? rec : NULL;
  update (mr);
  if (mr->mcu != NULL && mr->recorder != NULL)
    cf_mcu_request_keyframe (mr->mcu);
}

void
cf_mcu_room_push_video (CfMcuRoom *mr, Participant *p, const BfPacket *packet)
{
  Leg *l = &p->leg;

  /* A sender counts from its first video packet: a room whose callers
   * offer video but send none runs no MCU (nor loads GStreamer). */
  if (!l->mcu_sending)
    {
      l->mcu_sending = TRUE;
      update (mr);
    }
  if (mr->mcu == NULL || !l->mcu_source)
    return;
  /* One stream per source: its lowest simulcast layer (a tile is small),
   * or the one SSRC the SFU path took (sfu-room.c). */
  if (l->n_layers > 0 ? packet->rtp.ssrc != l->layers[0] : packet->rtp.ssrc != l->video_ssrc)
    return;
  cf_mcu_push_rtp (mr->mcu, p->number, packet->data, packet->len);
}

void
cf_mcu_room_rtcp (CfMcuRoom *mr, Participant *p, const BfPacket *packet)
{
  CfFeedback fb;
  gboolean wants = FALSE;

  if (mr->mcu == NULL || !p->leg.video_listens)
    return;
  if (!cf_rtcp_feedback_read (packet->data, packet->len, &fb))
    return;
  for (guint i = 0; i < fb.n_plis; i++)
    wants |= fb.plis[i] == p->leg.mcu_ssrc;
  for (guint i = 0; i < fb.n_firs; i++)
    wants |= fb.firs[i].ssrc == p->leg.mcu_ssrc;
  /* Rate-limited inside the MCU: many requests become one keyframe. */
  if (wants)
    cf_mcu_request_keyframe (mr->mcu);
}

static Participant *
sender_of (CfMcuRoom *mr, guint id)
{
  for (guint i = 0; i < mr->senders->len; i++)
    {
      Participant *p = g_ptr_array_index (mr->senders, i);
      if (p->number == id)
        return p;
    }
  return NULL;
}

/* What the MCU's threads queued since the last tick. */
static void
drain_events (CfMcuRoom *mr, gint64 now)
{
  g_autoptr (GArray) keyframes = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GArray) failed = g_array_new (FALSE, FALSE, sizeof (guint));
  gboolean fatal;

  g_mutex_lock (&mr->box->lock);
  g_array_append_vals (keyframes, mr->box->keyframes->data, mr->box->keyframes->len);
  g_array_append_vals (failed, mr->box->failed->data, mr->box->failed->len);
  g_array_set_size (mr->box->keyframes, 0);
  g_array_set_size (mr->box->failed, 0);
  fatal = mr->box->fatal;
  g_mutex_unlock (&mr->box->lock);

  for (guint i = 0; i < keyframes->len; i++)
    {
      Participant *p = sender_of (mr, g_array_index (keyframes, guint, i));
      if (p != NULL)
        {
          cf_keyframe_requests_ask (&p->leg.keyframes, now);
          p->leg.mcu_keyframes_asked++;
        }
    }
  for (guint i = 0; i < failed->len; i++)
    {
      Participant *p = sender_of (mr, g_array_index (failed, guint, i));
      if (p != NULL)
        {
          g_message ("room %s: call %s: its video failed in the MCU and left the composite",
                     mr->name, p->leg.sid);
          p->leg.mcu_source = FALSE;
          p->leg.mcu_failed = TRUE;
        }
    }
  if (fatal)
    {
      g_warning ("room %s: the MCU failed: no composite video in this room from now on "
                 "(audio goes on)", mr->name);
      mr->fatal = TRUE;
      drop_mcu (mr, "failed");
    }
}

/* The loudest current talker that sends video, held at least
 * SPEAKER_HOLD_US. */
static void
follow_speaker (CfMcuRoom *mr, CfMixer *mixer, GPtrArray *by_mixer_id, gint64 now)
{
  guint ids[4];
  guint n = cf_mixer_get_talkers (mixer, ids, G_N_ELEMENTS (ids));
  guint speaker = mr->speaker;

  if (now - mr->speaker_changed < SPEAKER_HOLD_US)
    return;
  for (guint i = 0; i < n; i++)
    {
      Participant *p = ids[i] < by_mixer_id->len ? g_ptr_array_index (by_mixer_id, ids[i]) : NULL;
      if (p != NULL && p->leg.mcu_source)
        {
          speaker = p->number;
          break;
        }
    }
  /* Nobody talks: the last speaker stays emphasised (a layout that jumps
   * back to the grid at every pause is restless). */
  if (speaker != mr->speaker)
    {
      mr->speaker = speaker;
      mr->speaker_changed = now;
      cf_mcu_set_speaker (mr->mcu, speaker);
    }
}

/* One composite packet to listener @p under its SSRC, sequence and
 * timestamp offset (the MCU's timestamps are continuous: so are ours).  A
 * new CfMcu (the room made one again) starts a timeline of its own: the
 * offset is set again so that our timestamps go on from the last one sent
 * by the time that passed (RFC 3550 §5.1: one clock per SSRC). */
static void
send_to (CfMcuRoom *mr, Participant *p, const guint8 *data, gsize len, gint64 now)
{
  Leg *l = &p->leg;
  guint8 pkt[MCU_RTP_MAX];

  if (l->mcu_generation != mr->created)
    {
      l->mcu_generation = mr->created;
      if (l->mcu_sent > 0)
        l->mcu_ts_offset = l->mcu_last_ts
                           + (guint32) ((now - l->mcu_last_sent) * 90000 / G_USEC_PER_SEC)
                           - bf_read_be32 (data + 4);
    }

  memcpy (pkt, data, len);
  pkt[1] = (guint8) ((pkt[1] & 0x80) | (l->video_pt & 0x7f));
  bf_write_be16 (pkt + 2, l->mcu_seq);
  bf_write_be32 (pkt + 4, bf_read_be32 (data + 4) + l->mcu_ts_offset);
  bf_write_be32 (pkt + 8, l->mcu_ssrc);
  if (bf_session_send_rtp (p->session, pkt, len))
    {
      l->mcu_seq++;
      l->mcu_sent++;
      BfRtpHeader h;
      /* RFC 3550 §6.4.1: payload octets, not the header. */
      if (bf_rtp_header_parse (pkt, len, &h))
        l->mcu_octets += h.payload_len;
      l->mcu_last_ts = bf_read_be32 (pkt + 4);
      l->mcu_last_sent = now;
    }
}

static void fan_out (CfMcuRoom *mr, CfMcuCodec codec, gint64 now);

void
cf_mcu_room_tick (CfMcuRoom *mr, CfMixer *mixer, GPtrArray *by_mixer_id, gint64 now)
{
  if (mr->mcu == NULL)
    return;
  drain_events (mr, now);
  if (mr->mcu == NULL)
    return;
  for (guint i = 0; i < mr->senders->len; i++)
    {
      Leg *l = &((Participant *) g_ptr_array_index (mr->senders, i))->leg;
      if (l->mcu_ask_again != 0 && now >= l->mcu_ask_again)
        {
          l->mcu_ask_again = 0;
          cf_keyframe_requests_ask (&l->keyframes, now);
          l->mcu_keyframes_asked++;
        }
    }
  follow_speaker (mr, mixer, by_mixer_id, now);

  /* A listener whose keys are ready gets a keyframe to start from. */
  for (guint i = 0; i < mr->listeners->len; i++)
    {
      Participant *p = g_ptr_array_index (mr->listeners, i);
      if (p->leg.ready && !p->leg.sfu && !p->leg.mcu_started)
        {
          p->leg.mcu_started = TRUE;
          cf_mcu_request_keyframe (mr->mcu);
        }
    }
  if (mr->recorder != NULL && cf_recorder_wants_keyframe (mr->recorder))
    cf_mcu_request_keyframe (mr->mcu);

  for (guint c = 0; c < CF_MCU_N_CODECS; c++)
    fan_out (mr, c, now);
}

/* @codec's packets since the last tick to each listener of that codec
 * (and VP8's to the recorder). */
static void
fan_out (CfMcuRoom *mr, CfMcuCodec codec, gint64 now)
{
  g_ptr_array_set_size (mr->out, 0);
  cf_mcu_pull_packets (mr->mcu, codec, mr->out);
  for (guint k = 0; k < mr->out->len; k++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (mr->out, k), &len);
      if (len < 12 || len > MCU_RTP_MAX)
        continue;
      mr->packets_out++;
      for (guint i = 0; i < mr->listeners->len; i++)
        {
          Participant *p = g_ptr_array_index (mr->listeners, i);
          if (p->leg.ready && !p->leg.sfu && p->leg.mcu_started && p->leg.video_codec == codec)
            send_to (mr, p, data, len, now);
        }
      if (mr->recorder != NULL && codec == CF_MCU_CODEC_VP8)
        {
          guint8 pkt[MCU_RTP_MAX];
          memcpy (pkt, data, len);
          pkt[1] = (guint8) ((pkt[1] & 0x80) | CF_RECORDER_PT_VP8);
          bf_write_be16 (pkt + 2, mr->rec_seq++);
          cf_recorder_push_video (mr->recorder, pkt, len);
        }
    }
  g_ptr_array_set_size (mr->out, 0);
}
