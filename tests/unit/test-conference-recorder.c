/* The room recorder (modules/conference/recorder.c): RTP in, a WebM file
 * out that GstDiscoverer reads with the tracks and duration it should
 * have, a continuous timeline over gaps in audio and video, and hostile
 * input counted, never a crash.
 *
 * The RTP comes from GStreamer itself (audiotestsrc ! opusenc !
 * rtpopuspay, videotestsrc ! vp8enc ! rtpvp8pay into an appsink), so the
 * packets are what real encoders and payloaders make. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <gst/rtp/gstrtpbuffer.h>

#include "recorder.h"

/* Every RTP packet a launch line ending in "appsink name=sink" makes. */
static GPtrArray *
collect_rtp (const char *launch)
{
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GstElement *sink;

  g_assert_no_error (error);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (sink, "sync", FALSE, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (guint i = 0; i < 100000; i++)
    {
      GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND);
      if (sample == NULL)
        break;
      GstBuffer *b = gst_sample_get_buffer (sample);
      GstMapInfo map;
      gst_buffer_map (b, &map, GST_MAP_READ);
      g_ptr_array_add (out, g_bytes_new (map.data, map.size));
      gst_buffer_unmap (b, &map);
      gst_sample_unref (sample);
    }
  g_assert_true (gst_app_sink_is_eos (GST_APP_SINK (sink)));
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_assert_cmpuint (out->len, >, 0);
  return out;
}

/* @n 20 ms Opus RTP packets of a 440 Hz tone, 960 apart. */
static GPtrArray *
opus_packets (guint n)
{
  g_autofree char *launch = g_strdup_printf (
      "audiotestsrc num-buffers=%u samplesperbuffer=960 freq=440 ! "
      "audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 ! "
      "rtpopuspay pt=%d ! appsink name=sink", n + 1, CF_RECORDER_PT_OPUS);
  GPtrArray *all = collect_rtp (launch);
  /* opusenc's first packet is shorter (its pre-skip): the room's are all
   * 20 ms, so leave it out. */
  g_ptr_array_remove_index (all, 0);
  g_ptr_array_set_size (all, MIN (all->len, n));
  return all;
}

/* VP8 RTP of @n frames at 25 fps, a keyframe every 10. */
static GPtrArray *
vp8_packets (guint n)
{
  g_autofree char *launch = g_strdup_printf (
      "videotestsrc num-buffers=%u ! video/x-raw,width=320,height=240,framerate=25/1 ! "
      "vp8enc deadline=1 keyframe-max-dist=10 ! rtpvp8pay pt=%d mtu=1200 ! appsink name=sink",
      n, CF_RECORDER_PT_VP8);
  return collect_rtp (launch);
}

static guint32
rtp_ts (GBytes *packet)
{
  const guint8 *d = g_bytes_get_data (packet, NULL);
  return (guint32) d[4] << 24 | (guint32) d[5] << 16 | (guint32) d[6] << 8 | d[7];
}

static gboolean
push_audio (CfRecorder *rec, GBytes *packet)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (packet, &len);
  return cf_recorder_push_audio (rec, d, len);
}

static gboolean
push_video (CfRecorder *rec, GBytes *packet)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (packet, &len);
  return cf_recorder_push_video (rec, d, len);
}

/* A copy of Opus packet @p with its timestamp moved by @shift. */
static GBytes *
shifted (GBytes *p, guint32 shift)
{
  gsize len;
  const guint8 *src = g_bytes_get_data (p, &len);
  guint8 *d = g_memdup2 (src, len);
  guint32 ts = rtp_ts (p) + shift;
  d[4] = ts >> 24;
  d[5] = ts >> 16;
  d[6] = ts >> 8;
  d[7] = ts;
  return g_bytes_new_take (d, len);
}

typedef struct {
  gboolean audio, video;
  GstClockTime duration;
} Found;

static Found
discover (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstDiscoverer) disc = gst_discoverer_new (10 * GST_SECOND, &error);
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autoptr (GstDiscovererInfo) info = NULL;
  Found f = { 0 };

  g_assert_no_error (error);
  info = gst_discoverer_discover_uri (disc, uri, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gst_discoverer_info_get_result (info), ==, GST_DISCOVERER_OK);
  GList *a = gst_discoverer_info_get_audio_streams (info);
  GList *v = gst_discoverer_info_get_video_streams (info);
  f.audio = a != NULL;
  f.video = v != NULL;
  gst_discoverer_stream_info_list_free (a);
  gst_discoverer_stream_info_list_free (v);
  f.duration = gst_discoverer_info_get_duration (info);
  return f;
}

static char *
temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("belfry-rec-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

/* A recorder of room "test" writing @file in a new temporary directory
 * (@dir, for remove_dir; @path, the file's). */
static CfRecorder *
recorder_in_temp_dir (const char *file, gboolean video, char **dir, char **path)
{
  g_autoptr (GError) error = NULL;
  *dir = temp_dir ();
  *path = g_build_filename (*dir, file, NULL);
  CfRecorder *rec = cf_recorder_new (*path, "test", video, &error);
  g_assert_no_error (error);
  return rec;
}

/* Finishes @rec (asserting it wrote the file out), reads its last stats
 * into @st and frees it. */
static void
finish_recording (CfRecorder *rec, CfRecorderStats *st)
{
  g_assert_true (cf_recorder_finish (rec, 5000));
  cf_recorder_get_stats (rec, st);
  cf_recorder_free (rec);
}

static void
assert_duration (GstClockTime got, double want_s)
{
  double s = (double) got / GST_SECOND;
  g_test_message ("duration %.3f s, expected %.3f s", s, want_s);
  g_assert_cmpfloat (s, >=, want_s * 0.9);
  g_assert_cmpfloat (s, <=, want_s * 1.1);
}

/* 1 s of tone, 2 s without a packet, 1 s of tone, pushed at the room's
 * pace (20 ms apart, wall clock): the file lasts the 4 s of wall time,
 * the hole written as silence, filled in once the next packet shows it
 * (no tick: the push alone fills it). */
static void
test_audio_gap (void)
{
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr (GPtrArray) tone = opus_packets (100);
  CfRecorderStats st;
  CfRecorder *rec;
  GStatBuf sb;
  gint64 start = g_get_monotonic_time ();

  g_assert_cmpuint (tone->len, ==, 100);
  rec = recorder_in_temp_dir ("gap.webm", FALSE, &dir, &path);
  g_assert_nonnull (rec);
  g_assert_cmpint (g_stat (path, &sb), ==, 0);
  g_assert_cmpint (sb.st_mode & 0777, ==, 0640);
  for (guint i = 0; i < 50; i++)
    {
      g_assert_true (push_audio (rec, tone->pdata[i]));
      g_usleep (20000);
    }
  g_usleep (2 * G_USEC_PER_SEC);
  /* The same clock 2 s on: 100 ticks of 960. */
  for (guint i = 50; i < 100; i++)
    {
      g_autoptr (GBytes) p = shifted (tone->pdata[i], 100 * 960);
      g_assert_true (push_audio (rec, p));
      g_usleep (20000);
    }
  double wall = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  finish_recording (rec, &st);
  g_assert_cmpuint (st.audio_packets, ==, 100);
  g_assert_cmpuint (st.silence_frames, ==, 100);
  g_assert_cmpuint (st.dropped, ==, 0);

  Found f = discover (path);
  g_assert_true (f.audio);
  g_assert_false (f.video);
  /* The timeline is the room clock's (4 s), which is the wall time the
   * pushes took, give or take the sleeps' overshoot. */
  assert_duration (f.duration, 4.0);
  g_assert_cmpfloat (wall, <, 4.0 * 1.1);
  remove_dir (dir);
}

/* The worker's ticks fill a silence as it happens; late and duplicate
 * packets are dropped, counted. */
static void
test_tick_fills (void)
{
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr (GPtrArray) tone = opus_packets (50);
  CfRecorderStats st;
  CfRecorder *rec = recorder_in_temp_dir ("tick.webm", FALSE, &dir, &path);
  guint32 ts0 = rtp_ts (tone->pdata[0]);

  for (guint i = 0; i < 25; i++)
    {
      g_assert_true (push_audio (rec, tone->pdata[i]));
      cf_recorder_tick (rec, rtp_ts (tone->pdata[i]) + 960);
    }
  /* A duplicate and an old packet. */
  g_assert_false (push_audio (rec, tone->pdata[24]));
  g_assert_false (push_audio (rec, tone->pdata[3]));
  /* 3 s of ticks with nothing: silence as they go. */
  for (guint i = 25; i < 175; i++)
    cf_recorder_tick (rec, ts0 + (i + 1) * 960);
  cf_recorder_get_stats (rec, &st);
  g_assert_cmpuint (st.silence_frames, ==, 150);
  for (guint i = 25; i < 50; i++)
    {
      g_autoptr (GBytes) p = shifted (tone->pdata[i], 150 * 960);
      g_assert_true (push_audio (rec, p));
    }
  finish_recording (rec, &st);
  g_assert_cmpuint (st.audio_packets, ==, 50);
  g_assert_cmpuint (st.silence_frames, ==, 150);
  g_assert_cmpuint (st.late, ==, 2);
  Found f = discover (path);
  g_assert_true (f.audio);
  assert_duration (f.duration, 4.0);
  remove_dir (dir);
}

/* Audio and video; the video stops for 2 s while the audio goes on (the
 * muxer must not wait for it: GAPs), then comes back (from a keyframe):
 * both tracks, the whole duration. */
static void
test_video (void)
{
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr (GPtrArray) tone = opus_packets (200);
  g_autoptr (GPtrArray) video = vp8_packets (50);
  CfRecorderStats st;
  CfRecorder *rec = recorder_in_temp_dir ("av.webm", TRUE, &dir, &path);
  guint32 vts0 = rtp_ts (video->pdata[0]);
  guint v = 0;

  g_assert_true (cf_recorder_wants_keyframe (rec));
  /* 4 s of audio; video for the first second (25 frames) and the last
   * (the other 25, 3 s of RTP time on), nothing in between. */
  for (guint i = 0; i < 200; i++)
    {
      g_assert_true (push_audio (rec, tone->pdata[i]));
      /* Video up to this tick's time: 90 kHz, 20 ms = 1800. */
      gint64 until = (gint64) i * 1800;
      while (v < video->len)
        {
          gint64 rel = (gint32) (rtp_ts (video->pdata[v]) - vts0);
          gboolean second_half = rel >= 25 * 3600;
          if (second_half)
            rel += 2 * 90000;
          if (rel > until)
            break;
          if (second_half)
            {
              g_autoptr (GBytes) p = shifted (video->pdata[v], 2 * 90000);
              push_video (rec, p);
            }
          else
            push_video (rec, video->pdata[v]);
          v++;
        }
      cf_recorder_tick (rec, rtp_ts (tone->pdata[i]) + 960);
    }
  finish_recording (rec, &st);
  g_test_message ("video packets %" G_GUINT64_FORMAT ", gaps %" G_GUINT64_FORMAT
                  ", skipped %" G_GUINT64_FORMAT, st.video_packets, st.video_gaps,
                  st.video_skipped);
  g_assert_cmpuint (st.audio_packets, ==, 200);
  g_assert_cmpuint (st.video_packets, >, 0);
  g_assert_cmpuint (st.video_gaps, >, 0);
  g_assert_cmpuint (st.dropped, ==, 0);
  Found f = discover (path);
  g_assert_true (f.audio);
  g_assert_true (f.video);
  assert_duration (f.duration, 4.0);
  remove_dir (dir);
}

/* Garbage, truncated and foreign packets: counted, never a crash, and the
 * file still plays. */
static void
test_garbage (void)
{
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr (GPtrArray) tone = opus_packets (50);
  CfRecorderStats st;
  CfRecorder *rec = recorder_in_temp_dir ("junk.webm", TRUE, &dir, &path);
  guint8 junk[2000];
  guint invalid = 0;

  g_assert_false (cf_recorder_push_audio (rec, NULL, 0));
  invalid++;
  for (guint i = 0; i < 200; i++)
    {
      gsize len = g_random_int_range (0, sizeof junk);
      for (gsize k = 0; k < len; k++)
        junk[k] = g_random_int ();
      if (len > 1)
        junk[1] = (junk[1] & 0x80) | (i % 2 ? 17 : CF_RECORDER_PT_VP8);   /* mostly a wrong PT */
      if (!cf_recorder_push_audio (rec, junk, len))
        invalid++;
      cf_recorder_push_video (rec, junk, len);
    }
  /* A header only, no payload; an oversized one. */
  {
    gsize len;
    const guint8 *d = g_bytes_get_data (tone->pdata[0], &len);
    g_assert_false (cf_recorder_push_audio (rec, d, 12));
    g_assert_false (cf_recorder_push_audio (rec, junk, sizeof junk));
    invalid += 2;
  }
  for (guint i = 0; i < tone->len; i++)
    g_assert_true (push_audio (rec, tone->pdata[i]));
  finish_recording (rec, &st);
  g_assert_cmpuint (st.invalid + st.late, >=, invalid);
  g_assert_cmpuint (st.audio_packets, ==, 50);
  Found f = discover (path);
  g_assert_true (f.audio);
  remove_dir (dir);
}

/* A write error (the file may not grow past 4 KB: a full disk's EFBIG)
 * ends the recording with one warning: pushes are refused from then on,
 * finish returns at once, nothing crashes or hangs. */
static void
test_write_error (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "full.webm", NULL);
  g_autoptr (GPtrArray) tone = opus_packets (400);
  g_autoptr (GError) error = NULL;
  struct rlimit old, small = { 4096, 4096 };
  CfRecorder *rec;
  gint64 deadline;
  guint refused = 0;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  small.rlim_max = old.rlim_max;
  /* Past the limit write() fails with EFBIG instead of killing us. */
  signal (SIGXFSZ, SIG_IGN);
  rec = cf_recorder_new (path, "full", FALSE, &error);
  g_assert_no_error (error);
  g_test_expect_message ("belfry-conference", G_LOG_LEVEL_WARNING,
                         "room full: the recording stopped: *");
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (guint i = 0; i < tone->len; i++)
    {
      if (!push_audio (rec, tone->pdata[i]))
        refused++;
      g_usleep (2000);
    }
  while (!cf_recorder_failed (rec) && g_get_monotonic_time () < deadline)
    g_usleep (10000);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);
  g_assert_true (cf_recorder_failed (rec));
  g_assert_cmpuint (refused, >, 0);
  g_assert_false (push_audio (rec, tone->pdata[0]));
  gint64 t = g_get_monotonic_time ();
  g_assert_false (cf_recorder_finish (rec, 5000));
  g_assert_cmpint (g_get_monotonic_time () - t, <, G_USEC_PER_SEC);
  cf_recorder_free (rec);
  g_test_assert_expected_messages ();
  signal (SIGXFSZ, SIG_DFL);
  remove_dir (dir);
}

/* Never overwrites; names are safe for a filesystem. */
static void
test_files (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "taken.webm", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) t = g_date_time_new_utc (2026, 12, 5, 23, 4, 5);
  g_autofree char *name = NULL;
  g_autofree char *content = NULL;

  g_assert_true (g_file_set_contents (path, "mine", -1, NULL));
  g_assert_null (cf_recorder_new (path, "test", FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_true (g_file_get_contents (path, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "mine");

  name = cf_recorder_file_name ("/d", "team", t);
  g_assert_cmpstr (name, ==, "/d/team-20261205T230405Z.webm");
  g_free (name);
  name = cf_recorder_file_name ("/d", "../é t/x", t);
  g_assert_cmpstr (name, ==, "/d/_.____t_x-20261205T230405Z.webm");
  g_free (name);
  name = cf_recorder_file_name ("/d", "", t);
  g_assert_cmpstr (name, ==, "/d/room-20261205T230405Z.webm");
  remove_dir (dir);
}

/* In the ASan build: unwind every malloc fully, so LeakSanitizer sees that
 * the one block GLib leaks on purpose (its first quark table, replaced once
 * GStreamer's quarks outgrow it) was allocated while libglib loaded
 * (tests/lsan.supp: _dl_init); the fast unwinder stops inside libglib.
 * ASAN_OPTIONS, when it names the flag, still wins.  Unused elsewhere. */
const char *__asan_default_options (void);
const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference/recorder/audio-gap", test_audio_gap);
  g_test_add_func ("/conference/recorder/tick-fills", test_tick_fills);
  g_test_add_func ("/conference/recorder/video", test_video);
  g_test_add_func ("/conference/recorder/garbage", test_garbage);
  g_test_add_func ("/conference/recorder/write-error", test_write_error);
  g_test_add_func ("/conference/recorder/files", test_files);
  return g_test_run ();
}
