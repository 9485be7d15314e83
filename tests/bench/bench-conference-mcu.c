/* Benchmark of the MCU (modules/conference/mcu.c): CPU per composited
 * layout at 4 and 9 tiles encoded in VP8 and at 4 tiles in H.264 (x264enc)
 * (640×360, 30 fps), against a bare GStreamer pipeline of the same
 * elements (tee and valve before the encoder included) with
 * no belfry code (the baseline, in the same run), and the cost of one
 * more listener of the shared output.
 *
 * The senders' VP8 is encoded once before any window (two 640×360 30 fps
 * clips at 500 kb/s with motion: a moving ball and scrolling SMPTE bars),
 * then replayed in real time to every source under an SSRC, sequence and
 * timestamp of its own, by this process's main thread: the same replay
 * feeds cf_mcu_push_rtp and the bare pipeline's appsrcs, so the replay's
 * cost is in both and the ratio compares the pipelines.  CPU is this
 * process's (getrusage) over each window.
 *
 * A listener: the MCU's output is one stream, so a listener costs the room
 * one copy of each output packet with its SSRC and sequence rewritten
 * (then SRTP, which bench-srtp measures).  The output callback does that
 * for L listeners and times it.
 *
 * Usage: bench-conference-mcu [--seconds S] [--warmup S] [--rounds N] [--threads]
 * Prints a markdown table.  Run it alone (2 shared cores).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include "mcu.h"

#define CLIP_FRAMES 150            /* 5 s at 30 fps */
#define PT 100

typedef struct {
  GBytes *rtp;
  GstClockTime at;                 /* from the clip's start */
} ClipPacket;

typedef struct {
  GArray *packets;                 /* ClipPacket */
  GstClockTime duration;
  guint16 seq_span;
} Clip;

static GstFlowReturn
clip_sample (GstAppSink *sink, gpointer data)
{
  Clip *clip = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  if (gst_buffer_map (buf, &map, GST_MAP_READ))
    {
      ClipPacket p = { g_bytes_new (map.data, map.size), GST_BUFFER_PTS (buf) };
      g_array_append_val (clip->packets, p);
      gst_buffer_unmap (buf, &map);
    }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static Clip *
clip_encode (const char *pattern)
{
  Clip *clip = g_new0 (Clip, 1);
  clip->packets = g_array_new (FALSE, FALSE, sizeof (ClipPacket));
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc num-buffers=%d %s ! video/x-raw,width=640,height=360,framerate=30/1 "
      "! vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=500000 keyframe-max-dist=60 "
      "lag-in-frames=0 ! rtpvp8pay pt=%d mtu=1200 picture-id-mode=15-bit "
      "! appsink name=out sync=false", CLIP_FRAMES, pattern, PT);
  g_autoptr (GError) error = NULL;
  GstElement *pipe = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "out");
  GstAppSinkCallbacks cbs = { .new_sample = clip_sample };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cbs, clip, NULL);
  gst_object_unref (sink);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
  g_assert_cmpuint (clip->packets->len, >, 0);
  GstClockTime first = g_array_index (clip->packets, ClipPacket, 0).at;
  for (guint i = 0; i < clip->packets->len; i++)
    g_array_index (clip->packets, ClipPacket, i).at -= first;
  clip->duration = (GstClockTime) CLIP_FRAMES * GST_SECOND / 30;
  clip->seq_span = (guint16) clip->packets->len;
  return clip;
}

/* One replayed sender: the clip, looped, under its own SSRC/seq/ts. */
typedef struct {
  Clip *clip;
  guint id;
  guint next;                      /* index in the clip */
  guint loops;
  guint32 ssrc;
  guint16 seq0;
  guint32 ts0;
  GstAppSrc *bare_src;             /* the baseline's appsrc, or NULL */
} Replay;

typedef struct {
  CfMcu *mcu;                      /* or NULL: the bare pipeline */
  Replay *replays;
  guint n;
  gint64 start;
} Feeder;

static void
feed (Feeder *f)
{
  GstClockTime now = (GstClockTime) (g_get_monotonic_time () - f->start) * GST_USECOND;
  guint8 pkt[1500];
  for (guint i = 0; i < f->n; i++)
    {
      Replay *r = &f->replays[i];
      for (;;)
        {
          if (r->next == r->clip->packets->len)
            {
              r->next = 0;
              r->loops++;
            }
          ClipPacket *cp = &g_array_index (r->clip->packets, ClipPacket, r->next);
          GstClockTime at = cp->at + r->loops * r->clip->duration;
          if (at > now)
            break;
          gsize len;
          const guint8 *src = g_bytes_get_data (cp->rtp, &len);
          memcpy (pkt, src, MIN (len, sizeof pkt));
          guint16 seq = (guint16) (r->seq0 + r->loops * r->clip->seq_span + r->next);
          guint32 ts = r->ts0 + (guint32) gst_util_uint64_scale (at, 90000, GST_SECOND);
          pkt[2] = seq >> 8, pkt[3] = seq & 0xff;
          pkt[4] = ts >> 24, pkt[5] = ts >> 16, pkt[6] = ts >> 8, pkt[7] = ts & 0xff;
          pkt[8] = r->ssrc >> 24, pkt[9] = r->ssrc >> 16, pkt[10] = r->ssrc >> 8, pkt[11] = r->ssrc & 0xff;
          if (f->mcu != NULL)
            cf_mcu_push_rtp (f->mcu, r->id, pkt, len);
          else
            gst_app_src_push_buffer (r->bare_src, gst_buffer_new_memdup (pkt, len));
          r->next++;
        }
    }
}

/* The output side: frames counted; L listeners' copies timed. */
typedef struct {
  guint listeners;
  gint frames;
  gint64 fanout_ns;
  guint64 copies;
} Out;

static void
on_output (CfMcuCodec codec, GBytes *const *packets, guint n, gpointer user_data)
{
  Out *o = user_data;
  (void) codec;   /* one codec per run */
  guint8 copy[1500];
  struct timespec a, b;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &a);
  for (guint l = 0; l < o->listeners; l++)
    for (guint i = 0; i < n; i++)
      {
        gsize len;
        const guint8 *p = g_bytes_get_data (packets[i], &len);
        len = MIN (len, sizeof copy);
        memcpy (copy, p, len);
        /* The room's rewrite toward listener l: its SSRC and sequence. */
        guint32 ssrc = 0x10000 + l;
        copy[8] = ssrc >> 24, copy[9] = ssrc >> 16, copy[10] = ssrc >> 8, copy[11] = ssrc & 0xff;
        copy[2] ^= (guint8) l, copy[3] ^= (guint8) (l * 7);
        __asm__ volatile ("" : : "r" (copy) : "memory");
      }
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &b);
  o->fanout_ns += (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  o->copies += (guint64) o->listeners * n;
  for (guint i = 0; i < n; i++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (packets[i], &len);
      if (len >= 2 && (p[1] & 0x80))
        g_atomic_int_inc (&o->frames);
    }
}

static GstPadProbeReturn
count_frames (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  (void) pad;
  (void) info;
  g_atomic_int_inc ((gint *) data);   /* one encoded frame into the payloader */
  return GST_PAD_PROBE_OK;
}

static gint64
cpu_us (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (gint64) ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec
         + (gint64) ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
}


/* --threads: CPU ticks per thread, by name with its digits taken out
 * (GStreamer names a streaming thread after its pad: "rtpjitterbuffer3:src"). */
static gboolean show_threads;

static GHashTable *
thread_ticks (void)
{
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/stat", tid);
      g_autofree char *stat = NULL;
      if (!g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      char *open = strchr (stat, '('), *close = strrchr (stat, ')');
      if (open == NULL || close == NULL)
        continue;
      GString *name = g_string_new (NULL);
      for (char *c = open + 1; c < close; c++)
        if (!g_ascii_isdigit (*c))
          g_string_append_c (name, *c);
      g_auto (GStrv) f = g_strsplit (close + 2, " ", 16);
      if (g_strv_length (f) < 14)
        {
          g_string_free (name, TRUE);
          continue;
        }
      guint64 ticks = g_ascii_strtoull (f[11], NULL, 10) + g_ascii_strtoull (f[12], NULL, 10);
      char *key = g_string_free (name, FALSE);
      guint64 old = GPOINTER_TO_SIZE (g_hash_table_lookup (t, key));
      g_hash_table_replace (t, key, GSIZE_TO_POINTER (old + ticks));
    }
  if (dir != NULL)
    g_dir_close (dir);
  return t;
}

static void
print_thread_delta (const char *what, GHashTable *before, GHashTable *after)
{
  GHashTableIter it;
  gpointer k, v;
  g_printerr ("%s threads (CPU ticks of 10 ms):", what);
  g_hash_table_iter_init (&it, after);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      guint64 d = GPOINTER_TO_SIZE (v) - GPOINTER_TO_SIZE (g_hash_table_lookup (before, k));
      if (d > 0)
        g_printerr (" %s=%" G_GUINT64_FORMAT, (char *) k, d);
    }
  g_printerr ("\n");
}

typedef struct {
  double cpu_ms_per_s;             /* CPU-ms per second of wall time */
  double fps;                      /* output frames per second */
  double fanout_us_per_listener_s; /* µs CPU per listener-second */
  double packets_per_s;            /* output RTP packets per second */
} Result;

/* Feeds for warmup + window, measures over the window. */
static void
run_window (Feeder *f, double warmup, double seconds, gint *frames, double *cpu_ms_s, double *fps)
{
  g_autoptr (GHashTable) threads0 = NULL;
  f->start = g_get_monotonic_time ();
  gint64 measure_at = f->start + (gint64) (warmup * G_USEC_PER_SEC);
  gint64 end = measure_at + (gint64) (seconds * G_USEC_PER_SEC);
  gint64 cpu0 = 0, t0 = 0;
  gint frames0 = 0;
  gboolean measuring = FALSE;
  for (guint guard = 0; guard < 1000000; guard++)
    {
      gint64 now = g_get_monotonic_time ();
      if (!measuring && now >= measure_at)
        {
          measuring = TRUE;
          cpu0 = cpu_us ();
          t0 = now;
          frames0 = g_atomic_int_get (frames);
          if (show_threads)
            threads0 = thread_ticks ();
        }
      if (now >= end)
        break;
      feed (f);
      g_usleep (2000);
    }
  gint64 wall = g_get_monotonic_time () - t0;
  if (show_threads && threads0 != NULL)
    {
      g_autoptr (GHashTable) threads1 = thread_ticks ();
      print_thread_delta (f->mcu != NULL ? "belfry" : "bare", threads0, threads1);
    }
  *cpu_ms_s = (double) (cpu_us () - cpu0) / 1000.0 / ((double) wall / G_USEC_PER_SEC);
  *fps = (double) (g_atomic_int_get (frames) - frames0) / ((double) wall / G_USEC_PER_SEC);
}

static Replay *
make_replays (Clip **clips, guint n)
{
  Replay *r = g_new0 (Replay, n);
  for (guint i = 0; i < n; i++)
    {
      r[i].clip = clips[i % 2];
      r[i].id = i + 1;
      r[i].ssrc = 0x1000 + i;
      r[i].seq0 = (guint16) (i * 1000);
      r[i].ts0 = i * 123456u;
    }
  return r;
}

static Result
run_belfry (Clip **clips, guint n, CfMcuCodec codec, guint listeners, double warmup,
            double seconds)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  cfg.codecs = CF_MCU_CODEC_BIT (codec);   /* the layout in one codec: its row */
  Out out = { .listeners = listeners };
  g_autoptr (GError) error = NULL;
  CfMcu *mcu = cf_mcu_new (&cfg, on_output, NULL, &out, &error);
  g_assert_no_error (error);
  Feeder f = { .mcu = mcu, .replays = make_replays (clips, n), .n = n };
  for (guint i = 0; i < n; i++)
    g_assert_true (cf_mcu_add_source (mcu, i + 1, CF_MCU_CODEC_VP8, PT, 90000));
  /* Every branch built (it has a tile) before the replay starts. */
  for (guint i = 0, tries = 0; i < n && tries < 500; tries++)
    {
      guint x, y, w, h;
      if (cf_mcu_get_tile (mcu, i + 1, &x, &y, &w, &h))
        i++;
      else
        g_usleep (10 * 1000);
    }
  Result res = { 0 };
  run_window (&f, warmup, seconds, &out.frames, &res.cpu_ms_per_s, &res.fps);
  if (listeners > 0)
    res.fanout_us_per_listener_s = (double) out.fanout_ns / 1000.0 / listeners / (warmup + seconds);
  CfMcuStats st;
  cf_mcu_get_stats (mcu, &st);
  res.packets_per_s = (double) st.packets_out / (warmup + seconds);
  if (st.dropped_full + st.dropped_unknown + st.dropped_invalid > 0)
    g_printerr ("belfry %u tiles: dropped %" G_GUINT64_FORMAT " full, %" G_GUINT64_FORMAT
                " unknown, %" G_GUINT64_FORMAT " invalid\n", n, st.dropped_full,
                st.dropped_unknown, st.dropped_invalid);
  cf_mcu_free (mcu);
  g_free (f.replays);
  return res;
}

/* The bare pipeline's output branch: mcu.c's elements and settings for
 * @codec (tee → valve → encoder → payloader), none of its code. */
static const char *
bare_output (CfMcuCodec codec)
{
  if (codec == CF_MCU_CODEC_H264)
    return "! tee ! valve "
           "! x264enc name=enc tune=zerolatency speed-preset=ultrafast pass=cbr bitrate=600 "
           "key-int-max=300 threads=1 bframes=0 ! video/x-h264,profile=constrained-baseline "
           "! rtph264pay pt=96 mtu=1200 config-interval=-1 ! fakesink sync=false async=false ";
  return "! tee ! valve "
         "! vp8enc name=enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=600000 "
         "lag-in-frames=0 error-resilient=default keyframe-max-dist=300 threads=1 "
         "! rtpvp8pay pt=96 mtu=1200 picture-id-mode=15-bit ! fakesink sync=false async=false ";
}

static Result
run_bare (Clip **clips, guint n, CfMcuCodec codec, double warmup, double seconds)
{
  guint cols = 1;
  while (cols * cols < n)
    cols++;
  guint rows = (n + cols - 1) / cols;
  guint tw = (640 / cols) & ~1u, th = (360 / rows) & ~1u;
  GString *d = g_string_new ("compositor name=c background=black start-time-selection=first "
                             "ignore-inactive-pads=true min-upstream-latency=100000000 ");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (d, "sink_%u::xpos=%u sink_%u::ypos=%u sink_%u::width=%u sink_%u::height=%u ",
                            i, (i % cols) * tw, i, (i / cols) * th, i, tw, i, th);
  g_string_append (d, "! video/x-raw,format=I420,width=640,height=360,framerate=30/1,pixel-aspect-ratio=1/1 ");
  g_string_append (d, bare_output (codec));
  for (guint i = 0; i < n; i++)
    g_string_append_printf (d, "appsrc name=s%u is-live=true format=time do-timestamp=true "
                            "caps=application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=%d "
                            "! rtpjitterbuffer latency=50 drop-on-latency=true "
                            "! rtpvp8depay wait-for-keyframe=true request-keyframe=true "
                            "! vp8dec threads=1 ! videoconvert ! c.sink_%u ", i, PT, i);
  g_autoptr (GError) error = NULL;
  GstElement *pipe = gst_parse_launch (d->str, &error);
  g_string_free (d, TRUE);
  g_assert_no_error (error);
  Feeder f = { .mcu = NULL, .replays = make_replays (clips, n), .n = n };
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("s%u", i);
      f.replays[i].bare_src = GST_APP_SRC (gst_bin_get_by_name (GST_BIN (pipe), name));
    }
  gint frames = 0;
  GstElement *enc = gst_bin_get_by_name (GST_BIN (pipe), "enc");
  GstPad *pad = gst_element_get_static_pad (enc, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_frames, &frames, NULL);
  gst_object_unref (pad);
  gst_object_unref (enc);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  Result res = { 0 };
  run_window (&f, warmup, seconds, &frames, &res.cpu_ms_per_s, &res.fps);
  gst_element_set_state (pipe, GST_STATE_NULL);
  for (guint i = 0; i < n; i++)
    gst_object_unref (f.replays[i].bare_src);
  gst_object_unref (pipe);
  g_free (f.replays);
  return res;
}

/* An MCU with sources added that nobody feeds: what it costs idle. */
static double
run_idle (guint n, double seconds)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  Out out = { 0 };
  CfMcu *mcu = cf_mcu_new (&cfg, on_output, NULL, &out, NULL);
  for (guint i = 0; i < n; i++)
    cf_mcu_add_source (mcu, i + 1, CF_MCU_CODEC_VP8, PT, 90000);
  g_usleep (500 * 1000);
  gint64 cpu0 = cpu_us (), t0 = g_get_monotonic_time ();
  g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
  double r = (double) (cpu_us () - cpu0) / 1000.0 / ((double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
  cf_mcu_free (mcu);
  return r;
}

int
main (int argc, char **argv)
{
  double seconds = 5, warmup = 2;
  gint rounds = 1;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "measured window per row (5)", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &warmup, "warm-up before each window (2)", "S" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "rounds of every row (1)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_NONE, &show_threads, "CPU per thread name of each window (stderr)", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- MCU CPU per layout vs a bare pipeline");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  gst_init (&argc, &argv);
  g_printerr ("encoding the senders' clips...\n");
  Clip *clips[2] = {
    clip_encode ("pattern=ball motion=wavy"),
    clip_encode ("pattern=smpte horizontal-speed=4"),
  };

  printf ("| tiles | codec | belfry MCU CPU-ms/s | bare pipeline CPU-ms/s | belfry / bare | output fps (belfry, bare) |\n");
  printf ("|---|---|---|---|---|---|\n");
  /* VP8 at 4 and 9 tiles; H.264 (x264enc) at 4, when installed. */
  struct { guint tiles; CfMcuCodec codec; } rows[] = {
    { 4, CF_MCU_CODEC_VP8 }, { 9, CF_MCU_CODEC_VP8 }, { 4, CF_MCU_CODEC_H264 },
  };
  for (gint round = 0; round < rounds; round++)
    for (guint t = 0; t < G_N_ELEMENTS (rows); t++)
      {
        guint n = rows[t].tiles;
        CfMcuCodec codec = rows[t].codec;
        if (!cf_mcu_codec_available (codec, TRUE))
          {
            printf ("| %u | %s | (not installed) | | | |\n", n, cf_mcu_codec_name (codec));
            continue;
          }
        /* Alternate which runs first: drift in the machine's load favours neither. */
        Result b, bare;
        if (round % 2 == 0)
          {
            b = run_belfry (clips, n, codec, 0, warmup, seconds);
            bare = run_bare (clips, n, codec, warmup, seconds);
          }
        else
          {
            bare = run_bare (clips, n, codec, warmup, seconds);
            b = run_belfry (clips, n, codec, 0, warmup, seconds);
          }
        printf ("| %u | %s | %.0f | %.0f | %.2f | %.1f, %.1f |\n", n, cf_mcu_codec_name (codec),
                b.cpu_ms_per_s, bare.cpu_ms_per_s, b.cpu_ms_per_s / bare.cpu_ms_per_s, b.fps,
                bare.fps);
        fflush (stdout);
      }

  /* Listeners: the 4-tile layout with 0 and 50 listeners' copies. */
  Result l0 = run_belfry (clips, 4, CF_MCU_CODEC_VP8, 0, warmup, seconds);
  Result l50 = run_belfry (clips, 4, CF_MCU_CODEC_VP8, 50, warmup, seconds);
  printf ("\nPer added listener (4 tiles): copy + SSRC/sequence rewrite of each output packet, "
          "%.1f µs CPU per listener-second (timed in the output callback, %.0f packets/s); "
          "whole process with 50 listeners %.0f CPU-ms/s vs %.0f with none "
          "(%.2f CPU-ms/s per listener, within the noise at this length)\n",
          l50.fanout_us_per_listener_s, l50.packets_per_s, l50.cpu_ms_per_s, l0.cpu_ms_per_s,
          (l50.cpu_ms_per_s - l0.cpu_ms_per_s) / 50);
  printf ("Idle (9 sources added, nobody sending): %.2f CPU-ms/s (the pipeline is paused)\n",
          run_idle (9, seconds / 2));
  return 0;
}
