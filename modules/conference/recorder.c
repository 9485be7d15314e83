/* conference — a room's recording to WebM with GStreamer (recorder.h says
 * why it is shaped this way).
 *
 * Pipeline (GStreamer's threads: one streaming thread per appsrc, the
 * muxer and fdsink run on whichever pushes):
 *   appsrc (Opus RTP) ! rtpopusdepay ! opusparse ! webmmux ! fdsink
 *   appsrc (VP8 RTP)  ! rtpvp8depay ! webmmux
 *
 * Thread rule: see recorder.h.  The owner thread keeps the timeline state
 * (no lock); GStreamer's threads post to the bus, whose sync handler sets
 * the atomic flags and signals the condition finish() waits on.
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>

#include <belfry/module.h>

#include "recorder.h"
#include "vp8-descriptor.h"

#define AUDIO_CLOCK 48000
#define VIDEO_CLOCK 90000
#define FRAME_SAMPLES 960             /* 20 ms: the room's tick */
/* Silence filled in at most this far in one call (a minute): the room
 * ticks every 20 ms, so more means a caller that stopped ticking; the
 * timeline then jumps (the player sees a hole) rather than the caller
 * queueing thousands of frames at once. */
#define MAX_FILL_FRAMES 3000
#define MAX_NAME 64

/* An Opus packet of 20 ms of silence: TOC config 31 (CELT-only, fullband,
 * 20 ms), mono, one frame (code 0), and a CELT frame whose range coder
 * bytes decode to the silence flag (RFC 6716 §4.3: the first symbol,
 * "silence", set).  Widely used as the canonical Opus silence frame. */
static const guint8 opus_silence[] = { 0xf8, 0xff, 0xfe };

struct _CfRecorder {
  char *label;
  char *path;
  int fd;
  gboolean with_video;
  GstElement *pipeline;
  GstAppSrc *audio_src, *video_src;

  /* Owner thread: the audio timeline, in samples since the first packet. */
  gboolean audio_started;
  guint32 audio_last_ts;       /* RTP timestamp of the last packet taken */
  gint64 audio_last_rel;       /* ... and its place on the timeline */
  gint64 audio_next;           /* the first sample not yet written */
  guint16 audio_seq;           /* ours: silence frames go between packets */
  guint32 audio_ssrc;

  /* Owner thread: the video timeline. */
  gboolean video_running;      /* a keyframe came and no hole since */
  guint32 video_first_ts, video_last_ts;
  gint64 video_last_rel;       /* 90 kHz units since video_first_ts (unwrapped) */
  GstClockTime video_base;     /* PTS of video_first_ts */
  GstClockTime video_last_pts;
  gint64 video_last_at;        /* audio timeline (samples) of the last video packet */

  CfRecorderStats stats;
  gboolean finished;

  /* Shared with GStreamer's threads. */
  gint failed;                 /* atomic */
  GMutex lock;
  GCond cond;
  gboolean eos;                /* under lock */
  gboolean error;              /* under lock */
};

char *
cf_recorder_file_name (const char *dir, const char *name, GDateTime *utc)
{
  GString *safe = g_string_new (NULL);
  g_autofree char *stamp = g_date_time_format (utc, "%Y%m%dT%H%M%SZ");
  g_autofree char *base = NULL;

  /* Bytes, not characters: a UTF-8 name becomes underscores, which any
   * filesystem takes; no '/', no leading '.' (hidden), nothing a shell or
   * a player's playlist would read specially. */
  for (const char *c = name; *c != '\0' && safe->len < MAX_NAME; c++)
    {
      gboolean keep = g_ascii_isalnum (*c) || *c == '-' || *c == '_'
                      || (*c == '.' && safe->len > 0);
      g_string_append_c (safe, keep ? *c : '_');
    }
  if (safe->len == 0)
    g_string_append (safe, "room");
  base = g_strdup_printf ("%s-%s.webm", safe->str, stamp);
  g_string_free (safe, TRUE);
  return g_build_filename (dir, base, NULL);
}

/* --- GStreamer's threads --- */

static GstBusSyncReply
on_bus (GstBus *bus, GstMessage *message, gpointer data)
{
  CfRecorder *rec = data;

  (void) bus;
  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr (GError) err = NULL;
        gst_message_parse_error (message, &err, NULL);
        if (g_atomic_int_compare_and_exchange (&rec->failed, 0, 1))
          g_warning ("room %s: the recording stopped: %s (%s)", rec->label,
                     err != NULL ? err->message : "pipeline error",
                     GST_OBJECT_NAME (GST_MESSAGE_SRC (message)));
        g_mutex_lock (&rec->lock);
        rec->error = TRUE;
        g_cond_broadcast (&rec->cond);
        g_mutex_unlock (&rec->lock);
        break;
      }
    case GST_MESSAGE_EOS:
      g_mutex_lock (&rec->lock);
      rec->eos = TRUE;
      g_cond_broadcast (&rec->cond);
      g_mutex_unlock (&rec->lock);
      break;
    default:
      break;
    }
  /* Nobody pops this bus: every message ends here (a sync handler that
   * drops a message unrefs it). */
  gst_message_unref (message);
  return GST_BUS_DROP;
}

/* --- Set-up --- */

static GstAppSrc *
make_src (const char *name, const char *caps, guint64 max_buffers)
{
  GstElement *src = gst_element_factory_make ("appsrc", name);
  g_autoptr (GstCaps) c = gst_caps_from_string (caps);

  if (src == NULL)
    return NULL;
  /* Time format, our own PTS, no clock wait: as fast as packets come.
   * block=FALSE: a push never waits (the owner checks the level first and
   * drops, so max-buffers is the bound). */
  g_object_set (src, "caps", c, "format", GST_FORMAT_TIME, "is-live", FALSE,
                "do-timestamp", FALSE, "block", FALSE, "max-buffers", max_buffers,
                "max-bytes", (guint64) 0, "stream-type", GST_APP_STREAM_TYPE_STREAM, NULL);
  return GST_APP_SRC (src);
}

static gboolean
link_many (GError **error, GstElement *first, ...)
{
  va_list ap;
  GstElement *prev = first, *next;
  gboolean ok = TRUE;

  va_start (ap, first);
  while (ok && (next = va_arg (ap, GstElement *)) != NULL)
    {
      ok = gst_element_link (prev, next);
      if (!ok)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot link %s to %s",
                     GST_OBJECT_NAME (prev), GST_OBJECT_NAME (next));
      prev = next;
    }
  va_end (ap);
  return ok;
}

static GstElement *
make (const char *factory, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, NULL);

  if (e == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "the GStreamer element %s is missing (gstreamer1.0-plugins-good/base)", factory);
  return e;
}

static gboolean
build (CfRecorder *rec, GError **error)
{
  GstElement *depay, *parse, *mux, *sink, *vdepay;
  GstBin *bin;

  rec->pipeline = gst_pipeline_new ("recorder");
  bin = GST_BIN (rec->pipeline);
  rec->audio_src = make_src ("audio",
                             "application/x-rtp,media=(string)audio,clock-rate=(int)48000,"
                             "encoding-name=(string)OPUS,payload=(int)111",
                             CF_RECORDER_MAX_AUDIO_QUEUE);
  if (rec->audio_src == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the GStreamer element appsrc is missing (gstreamer1.0-plugins-base)");
      return FALSE;
    }
  gst_bin_add (bin, GST_ELEMENT (rec->audio_src));
  /* Each element is the bin's once made: freed with the pipeline. */
  if (!(depay = make ("rtpopusdepay", error)) || !gst_bin_add (bin, depay)
      || !(parse = make ("opusparse", error)) || !gst_bin_add (bin, parse)
      || !(mux = make ("webmmux", error)) || !gst_bin_add (bin, mux)
      || !(sink = make ("fdsink", error)) || !gst_bin_add (bin, sink))
    return FALSE;
  /* Not streamable: at the end the muxer seeks back (fdsink on a regular
   * file) and writes the Duration and the cues, which is what
   * gst-discoverer-1.0 reads.  A streamable file (no Duration) made
   * matroskademux guess from a cluster it found searching back from the
   * end: 0.72 s for a room of 11 s with a video track, some runs.  A file
   * cut short (belfry killed) still plays as far as it got: its segment
   * size stays "unknown" and readers estimate the duration from its
   * clusters, which short clusters (100 ms of audio; with video, from a
   * keyframe, at most 1 s) keep close to the truth. */
  g_object_set (mux, "streamable", FALSE, "min-cluster-duration", (gint64) 100 * GST_MSECOND,
                "max-cluster-duration", (gint64) GST_SECOND, NULL);
  /* No clock to wait for: the buffers' own timestamps are the timeline. */
  g_object_set (sink, "fd", rec->fd, "sync", FALSE, "async", FALSE, NULL);
  if (!link_many (error, GST_ELEMENT (rec->audio_src), depay, parse, mux, sink, NULL))
    return FALSE;
  if (!rec->with_video)
    return TRUE;
  rec->video_src = make_src ("video",
                             "application/x-rtp,media=(string)video,clock-rate=(int)90000,"
                             "encoding-name=(string)VP8,payload=(int)96",
                             CF_RECORDER_MAX_VIDEO_QUEUE);
  if (rec->video_src == NULL)
    return FALSE;
  gst_bin_add (bin, GST_ELEMENT (rec->video_src));
  if (!(vdepay = make ("rtpvp8depay", error)) || !gst_bin_add (bin, vdepay))
    return FALSE;
  return link_many (error, GST_ELEMENT (rec->video_src), vdepay, mux, NULL);
}

CfRecorder *
cf_recorder_new (const char *path, const char *label, gboolean with_video, GError **error)
{
  CfRecorder *rec;
  GstBus *bus;
  int fd;

  if (!gst_init_check (NULL, NULL, error))
    return NULL;
  /* Never overwrite: a file of that name is someone's recording. */
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot create %s: %s",
                   path, g_strerror (saved));
      return NULL;
    }
  /* The mode asked for, whatever the umask. */
  fchmod (fd, 0640);

  rec = g_new0 (CfRecorder, 1);
  rec->label = g_strdup (label);
  rec->path = g_strdup (path);
  rec->fd = fd;
  rec->with_video = with_video;
  /* Kernel randomness, like every SSRC belfry picks: the recording's
   * stream must not reveal the state of a guessable generator. */
  rec->audio_ssrc = bf_random_u32 ();
  rec->video_last_pts = GST_CLOCK_TIME_NONE;
  g_mutex_init (&rec->lock);
  g_cond_init (&rec->cond);
  if (!build (rec, error))
    {
      cf_recorder_free (rec);
      g_unlink (path);
      return NULL;
    }
  bus = gst_pipeline_get_bus (GST_PIPELINE (rec->pipeline));
  gst_bus_set_sync_handler (bus, on_bus, rec, NULL);
  gst_object_unref (bus);
  if (gst_element_set_state (rec->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the recording pipeline did not start");
      cf_recorder_free (rec);
      g_unlink (path);
      return NULL;
    }
  g_info ("room %s: recording to %s%s", label, path, with_video ? " (audio and video)" : "");
  return rec;
}

/* --- The owner thread --- */

gboolean
cf_recorder_failed (CfRecorder *rec)
{
  return g_atomic_int_get (&rec->failed) != 0;
}

static gboolean
queue_full (GstAppSrc *src, guint64 max)
{
  return gst_app_src_get_current_level_buffers (src) >= max;
}

static GstClockTime
audio_pts (gint64 samples)
{
  return gst_util_uint64_scale_int ((guint64) samples, GST_SECOND, AUDIO_CLOCK);
}

/* One Opus payload at @at (samples on the timeline), as RTP of ours. */
static gboolean
queue_audio (CfRecorder *rec, gint64 at, const guint8 *payload, gsize len)
{
  GstBuffer *buffer;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  if (queue_full (rec->audio_src, CF_RECORDER_MAX_AUDIO_QUEUE))
    {
      rec->stats.dropped++;
      return FALSE;
    }
  buffer = gst_rtp_buffer_new_allocate ((guint) len, 0, 0);
  gst_rtp_buffer_map (buffer, GST_MAP_WRITE, &rtp);
  gst_rtp_buffer_set_payload_type (&rtp, CF_RECORDER_PT_OPUS);
  /* Our own sequence: the silence frames filled in sit between packets. */
  gst_rtp_buffer_set_seq (&rtp, rec->audio_seq++);
  gst_rtp_buffer_set_timestamp (&rtp, (guint32) at);
  gst_rtp_buffer_set_ssrc (&rtp, rec->audio_ssrc);
  memcpy (gst_rtp_buffer_get_payload (&rtp), payload, len);
  gst_rtp_buffer_unmap (&rtp);
  GST_BUFFER_PTS (buffer) = audio_pts (at);
  GST_BUFFER_DURATION (buffer) = audio_pts (FRAME_SAMPLES);
  gst_app_src_push_buffer (rec->audio_src, buffer);   /* takes it */
  return TRUE;
}

/* Silence from audio_next up to @until (samples). */
static void
fill_silence (CfRecorder *rec, gint64 until)
{
  guint n = 0;

  while (rec->audio_next + FRAME_SAMPLES <= until && n < MAX_FILL_FRAMES)
    {
      if (!queue_audio (rec, rec->audio_next, opus_silence, sizeof opus_silence))
        break;   /* full: the timeline jumps here, counted as dropped */
      rec->audio_next += FRAME_SAMPLES;
      rec->stats.silence_frames++;
      n++;
    }
  /* Left over (a full queue, or more than MAX_FILL_FRAMES): a hole. */
  if (rec->audio_next + FRAME_SAMPLES <= until)
    rec->audio_next = until - (until - rec->audio_next) % FRAME_SAMPLES;
}

/* FALSE when @data cannot be an RTP packet of payload type @pt. */
static gboolean
check_rtp (const guint8 *data, gsize len, guint8 pt)
{
  /* RFC 3550 §5.1, the fixed header; gst_rtp_buffer_map() checks the
   * rest (CSRC list, extension, padding) before anything is read. */
  return data != NULL && len > 12 && len <= CF_RECORDER_MAX_RTP && (data[0] >> 6) == 2
         && (data[1] & 0x7f) == pt;
}

gboolean
cf_recorder_push_audio (CfRecorder *rec, const guint8 *data, gsize len)
{
  g_autoptr (GstBuffer) buffer = NULL;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  guint32 ts;
  gint64 rel;
  gboolean ok;

  if (rec->finished || cf_recorder_failed (rec))
    return FALSE;
  if (!check_rtp (data, len, CF_RECORDER_PT_OPUS))
    {
      rec->stats.invalid++;
      return FALSE;
    }
  buffer = gst_buffer_new_memdup (data, len);
  if (!gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    {
      rec->stats.invalid++;
      return FALSE;
    }
  ts = gst_rtp_buffer_get_timestamp (&rtp);
  if (gst_rtp_buffer_get_payload_len (&rtp) == 0)
    {
      gst_rtp_buffer_unmap (&rtp);
      rec->stats.invalid++;
      return FALSE;
    }
  if (!rec->audio_started)
    {
      rec->audio_started = TRUE;
      rec->audio_last_ts = ts;
      rec->audio_last_rel = 0;
    }
  /* Unwrapped against the last packet: the room clock never jumps back. */
  rel = rec->audio_last_rel + (gint32) (ts - rec->audio_last_ts);
  if (rel < rec->audio_next)
    {
      gst_rtp_buffer_unmap (&rtp);
      rec->stats.late++;
      return FALSE;
    }
  rec->audio_last_ts = ts;
  rec->audio_last_rel = rel;
  fill_silence (rec, rel);
  ok = queue_audio (rec, rel, gst_rtp_buffer_get_payload (&rtp),
                    gst_rtp_buffer_get_payload_len (&rtp));
  gst_rtp_buffer_unmap (&rtp);
  /* Taken or dropped, this frame's time is spent. */
  rec->audio_next = rel + FRAME_SAMPLES;
  if (ok)
    rec->stats.audio_packets++;
  return ok;
}

static GstClockTime
video_pts (CfRecorder *rec, gint64 rel)
{
  return rec->video_base + gst_util_uint64_scale_int ((guint64) MAX (rel, 0), GST_SECOND,
                                                      VIDEO_CLOCK);
}

gboolean
cf_recorder_push_video (CfRecorder *rec, const guint8 *data, gsize len)
{
  g_autoptr (GstBuffer) buffer = NULL;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  CfVp8Descriptor d;
  guint32 ts;
  gint64 rel;
  gboolean parsed;

  if (rec->finished || cf_recorder_failed (rec) || rec->video_src == NULL)
    return FALSE;
  if (!check_rtp (data, len, CF_RECORDER_PT_VP8))
    {
      rec->stats.invalid++;
      return FALSE;
    }
  buffer = gst_buffer_new_memdup (data, len);
  if (!gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp))
    {
      rec->stats.invalid++;
      return FALSE;
    }
  ts = gst_rtp_buffer_get_timestamp (&rtp);
  parsed = cf_vp8_descriptor_parse (gst_rtp_buffer_get_payload (&rtp),
                                    gst_rtp_buffer_get_payload_len (&rtp), &d);
  gst_rtp_buffer_unmap (&rtp);
  if (!parsed)
    {
      rec->stats.invalid++;
      return FALSE;
    }
  if (!rec->video_running)
    {
      /* A delta frame without the frames before it decodes to garbage. */
      if (!d.keyframe)
        {
          rec->stats.video_skipped++;
          return FALSE;
        }
      rec->video_running = TRUE;
      rec->video_first_ts = rec->video_last_ts = ts;
      rec->video_last_rel = 0;
      /* The picture starts where the sound is now, and never before the
       * last one written. */
      GstClockTime now = audio_pts (rec->audio_next);
      if (GST_CLOCK_TIME_IS_VALID (rec->video_last_pts) && rec->video_last_pts >= now)
        now = rec->video_last_pts + GST_MSECOND;
      rec->video_base = now;
    }
  rel = rec->video_last_rel + (gint32) (ts - rec->video_last_ts);
  if (rel < rec->video_last_rel - VIDEO_CLOCK)
    {
      /* Over a second back: not this stream's timeline. */
      rec->stats.late++;
      return FALSE;
    }
  if (queue_full (rec->video_src, CF_RECORDER_MAX_VIDEO_QUEUE))
    {
      rec->stats.dropped++;
      /* A lost packet breaks the frame and what follows: start again at a
       * keyframe. */
      rec->video_running = FALSE;
      return FALSE;
    }
  if (rel > rec->video_last_rel)
    {
      rec->video_last_rel = rel;
      rec->video_last_ts = ts;
    }
  buffer = gst_buffer_make_writable (g_steal_pointer (&buffer));
  GST_BUFFER_PTS (buffer) = video_pts (rec, rel);
  rec->video_last_pts = GST_BUFFER_PTS (buffer);
  rec->video_last_at = rec->audio_next;
  gst_app_src_push_buffer (rec->video_src, g_steal_pointer (&buffer));
  rec->stats.video_packets++;
  return TRUE;
}

void
cf_recorder_tick (CfRecorder *rec, guint32 audio_timestamp)
{
  gint64 rel;

  if (rec->finished || cf_recorder_failed (rec) || !rec->audio_started)
    return;
  rel = rec->audio_last_rel + (gint32) (audio_timestamp - rec->audio_last_ts);
  fill_silence (rec, rel);
  if (rec->video_src == NULL)
    return;
  /* A stopped video track: a GAP up to now tells the muxer not to wait
   * for it; video that comes back starts at a keyframe. */
  /* Before its first frame the track waits longer: a GAP that reaches the
   * muxer ahead of any video buffer (the composite is often slower to
   * start than the mix) made GStreamer complain of a segment of no format
   * (gst_segment_to_running_time, 1 run in 10); only a track with no
   * video at all for CF_RECORDER_VIDEO_FIRST_MS gets GAPs from the start,
   * so the muxer never stalls for good. */
  guint hold_ms = rec->stats.video_packets > 0 ? CF_RECORDER_VIDEO_HOLD_MS
                                               : CF_RECORDER_VIDEO_FIRST_MS;
  if (rec->audio_next - rec->video_last_at >= (gint64) hold_ms * AUDIO_CLOCK / 1000)
    {
      GstClockTime from = GST_CLOCK_TIME_IS_VALID (rec->video_last_pts) ? rec->video_last_pts : 0;
      GstClockTime to = audio_pts (rec->audio_next);
      if (to > from)
        {
          gst_element_send_event (GST_ELEMENT (rec->video_src),
                                  gst_event_new_gap (from, to - from));
          rec->stats.video_gaps++;
          rec->video_last_pts = to;
        }
      rec->video_last_at = rec->audio_next;
      rec->video_running = FALSE;
    }
}

gboolean
cf_recorder_wants_keyframe (CfRecorder *rec)
{
  return rec->video_src != NULL && !rec->video_running && !rec->finished;
}

void
cf_recorder_get_stats (CfRecorder *rec, CfRecorderStats *stats)
{
  *stats = rec->stats;
}

/* --- The end --- */

gboolean
cf_recorder_finish (CfRecorder *rec, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean done;

  if (rec->finished)
    return FALSE;
  rec->finished = TRUE;
  gst_app_src_end_of_stream (rec->audio_src);
  if (rec->video_src != NULL)
    gst_app_src_end_of_stream (rec->video_src);
  g_mutex_lock (&rec->lock);
  while (!rec->eos && !rec->error)
    if (!g_cond_wait_until (&rec->cond, &rec->lock, deadline))
      break;
  done = rec->eos && !rec->error;
  g_mutex_unlock (&rec->lock);
  gst_element_set_state (rec->pipeline, GST_STATE_NULL);
  if (!done && !cf_recorder_failed (rec))
    g_warning ("room %s: the recording did not end within %u ms: %s may miss its last second",
               rec->label, timeout_ms, rec->path);
  g_info ("room %s: recording ended: %" G_GUINT64_FORMAT " audio packets, %" G_GUINT64_FORMAT
          " silence frames, %" G_GUINT64_FORMAT " video packets, %" G_GUINT64_FORMAT
          " dropped, %" G_GUINT64_FORMAT " invalid", rec->label, rec->stats.audio_packets,
          rec->stats.silence_frames, rec->stats.video_packets, rec->stats.dropped,
          rec->stats.invalid);
  return done;
}

void
cf_recorder_free (CfRecorder *rec)
{
  if (rec == NULL)
    return;
  if (rec->pipeline != NULL)
    {
      gst_element_set_state (rec->pipeline, GST_STATE_NULL);
      GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (rec->pipeline));
      gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
      gst_object_unref (bus);
      gst_object_unref (rec->pipeline);
    }
  if (rec->fd >= 0)
    close (rec->fd);
  g_mutex_clear (&rec->lock);
  g_cond_clear (&rec->cond);
  g_free (rec->label);
  g_free (rec->path);
  g_free (rec);
}

static gpointer
close_thread (gpointer data)
{
  CfRecorder *rec = data;

  cf_recorder_finish (rec, CF_RECORDER_CLOSE_TIMEOUT_MS);
  cf_recorder_free (rec);
  return NULL;
}

void
cf_recorder_close (CfRecorder *rec)
{
  if (rec == NULL)
    return;
  g_thread_unref (g_thread_new ("bf-rec-close", close_thread, rec));
}

gboolean
cf_recorder_has_video (CfRecorder *rec)
{
  return rec->with_video;
}
