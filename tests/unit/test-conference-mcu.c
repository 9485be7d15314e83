/* Unit tests of the MCU (modules/conference/mcu.c) on real GStreamer.
 *
 * Each sender is a GStreamer pipeline of the test's own (a solid colour
 * from videotestsrc → vp8enc → rtpvp8pay → appsink) whose RTP packets are
 * pushed into the MCU as the room would; the MCU's output RTP is decoded
 * by another pipeline of the test (appsrc → rtpvp8depay → vp8dec → RGB
 * appsink) and the colours read at the tiles' centres.  Timing margins are
 * generous (a shared 2-core machine): each wait is bounded, ≤ 8 s.
 */
#include <string.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include "mcu.h"

#define W 640
#define H 360
#define WAIT_US (8 * G_USEC_PER_SEC)

typedef struct { guint8 r, g, b; } Rgb;

static const Rgb RED = { 255, 0, 0 }, GREEN = { 0, 255, 0 }, BLUE = { 0, 0, 255 },
                 YELLOW = { 255, 255, 0 }, BLACK = { 0, 0, 0 };

static guint32
argb (Rgb c)
{
  return 0xff000000u | (guint32) c.r << 16 | (guint32) c.g << 8 | c.b;
}

/* ---- a sender ------------------------------------------------------ */

typedef struct {
  GstElement *pipe;
  CfMcu *mcu;
  guint id;
  gint stopped;
  gint64 push_from;          /* monotonic µs: packets before are not pushed */
} Sender;

static GstFlowReturn
sender_sample (GstAppSink *sink, gpointer data)
{
  Sender *s = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (sample == NULL)
    return GST_FLOW_OK;
  GstMapInfo map;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  if (!g_atomic_int_get (&s->stopped) && g_get_monotonic_time () >= s->push_from
      && gst_buffer_map (buf, &map, GST_MAP_READ))
    {
      cf_mcu_push_rtp (s->mcu, s->id, map.data, map.size);
      gst_buffer_unmap (buf, &map);
    }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* A VP8 sender, or an H.264 one as Chromium's (constrained baseline,
 * packetization mode 1, SPS/PPS before each IDR). */
static Sender *
sender_new_codec (CfMcu *mcu, CfMcuCodec codec, guint id, Rgb colour, guint keyframe_dist,
                  gint64 push_from)
{
  Sender *s = g_new0 (Sender, 1);
  s->mcu = mcu;
  s->id = id;
  s->push_from = push_from;
  g_autofree char *enc = codec == CF_MCU_CODEC_VP8
      ? g_strdup_printf ("vp8enc name=enc deadline=1 cpu-used=16 keyframe-max-dist=%u "
                         "target-bitrate=200000 ! rtpvp8pay pt=100 mtu=1200 picture-id-mode=15-bit",
                         keyframe_dist)
      : g_strdup_printf ("x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max=%u "
                         "bitrate=200 threads=1 ! video/x-h264,profile=constrained-baseline "
                         "! rtph264pay pt=100 mtu=1200 config-interval=-1", keyframe_dist);
  g_autofree char *desc = g_strdup_printf (
      "videotestsrc is-live=true pattern=solid-color foreground-color=0x%08x "
      "! video/x-raw,width=320,height=180,framerate=15/1 ! %s ! appsink name=out sync=false",
      argb (colour), enc);
  g_autoptr (GError) error = NULL;
  s->pipe = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (s->pipe), "out");
  GstAppSinkCallbacks cbs = { .new_sample = sender_sample };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cbs, s, NULL);
  gst_object_unref (sink);
  g_assert_true (cf_mcu_add_source (mcu, id, codec, 100, 90000));
  g_assert_cmpint (gst_element_set_state (s->pipe, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  return s;
}

static Sender *
sender_new_full (CfMcu *mcu, guint id, Rgb colour, guint keyframe_dist, gint64 push_from)
{
  return sender_new_codec (mcu, CF_MCU_CODEC_VP8, id, colour, keyframe_dist, push_from);
}

static Sender *
sender_new (CfMcu *mcu, guint id, Rgb colour)
{
  return sender_new_full (mcu, id, colour, 15, 0);
}

/* What the room does on a PLI toward a sender: its encoder makes a keyframe. */
static void
sender_keyframe (Sender *s)
{
  GstElement *enc = gst_bin_get_by_name (GST_BIN (s->pipe), "enc");
  GstPad *pad = gst_element_get_static_pad (enc, "src");
  gst_pad_send_event (pad, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
  gst_object_unref (pad);
  gst_object_unref (enc);
}

static void
sender_stop (Sender *s)
{
  g_atomic_int_set (&s->stopped, 1);
  gst_element_set_state (s->pipe, GST_STATE_NULL);
}

static void
sender_free (Sender *s)
{
  sender_stop (s);
  gst_object_unref (s->pipe);
  g_free (s);
}

/* ---- the receiver of the MCU's output ------------------------------ */

typedef struct {
  CfMcuCodec codec;          /* what it decodes (the MCU's other codec is not its) */
  GstElement *pipe;
  GstElement *src, *sink;
  gint64 last_keyframe;      /* monotonic µs of the last keyframe's first packet */
  gint packets;
  GMutex lock;
} Receiver;

/* RFC 7741 §4.2 (from memory: not in the specs folder): the payload
 * descriptor, then on a partition start with PID 0 the VP8 payload header,
 * whose first bit (P, inverse keyframe) is 0 on a keyframe. */
static gboolean
is_keyframe_start (const guint8 *p, gsize len)
{
  if (len < 13)
    return FALSE;
  gsize off = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10)
    {
      if (len < off + 4)
        return FALSE;
      off += 4 + 4 * (gsize) (p[off + 2] << 8 | p[off + 3]);
    }
  if (len <= off)
    return FALSE;
  guint8 d = p[off++];
  if (!(d & 0x10) || (d & 0x07) != 0)
    return FALSE;
  if (d & 0x80)
    {
      if (len <= off)
        return FALSE;
      guint8 x = p[off++];
      if (x & 0x80)
        {
          if (len <= off)
            return FALSE;
          off += (p[off] & 0x80) ? 2 : 1;
        }
      if (x & 0x40)
        off++;
      if (x & 0x30)
        off++;
    }
  return len > off && (p[off] & 0x01) == 0;
}

static void
receiver_out (CfMcuCodec codec, GBytes *const *packets, guint n, gpointer user_data)
{
  Receiver *r = user_data;
  if (codec != r->codec)
    return;
  for (guint i = 0; i < n; i++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (packets[i], &len);
      if (is_keyframe_start (p, len))
        {
          g_mutex_lock (&r->lock);
          r->last_keyframe = g_get_monotonic_time ();
          g_mutex_unlock (&r->lock);
        }
      g_atomic_int_inc (&r->packets);
      gst_app_src_push_buffer (GST_APP_SRC (r->src), gst_buffer_new_memdup (p, len));
    }
}

static Receiver *
receiver_new_codec (CfMcuCodec codec)
{
  Receiver *r = g_new0 (Receiver, 1);
  r->codec = codec;
  g_mutex_init (&r->lock);
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = g_strdup_printf (
      "appsrc name=in is-live=true format=time do-timestamp=true "
      "caps=application/x-rtp,media=video,encoding-name=%s,clock-rate=90000,payload=96 "
      "! %s ! videoconvert ! video/x-raw,format=RGB "
      "! appsink name=frames sync=false max-buffers=2 drop=true",
      codec == CF_MCU_CODEC_VP8 ? "VP8" : "H264",
      codec == CF_MCU_CODEC_VP8 ? "rtpvp8depay ! vp8dec" : "rtph264depay ! avdec_h264");
  r->pipe = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  r->src = gst_bin_get_by_name (GST_BIN (r->pipe), "in");
  r->sink = gst_bin_get_by_name (GST_BIN (r->pipe), "frames");
  gst_element_set_state (r->pipe, GST_STATE_PLAYING);
  return r;
}

static Receiver *
receiver_new (void)
{
  return receiver_new_codec (CF_MCU_CODEC_VP8);
}

static void
receiver_free (Receiver *r)
{
  gst_element_set_state (r->pipe, GST_STATE_NULL);
  gst_object_unref (r->src);
  gst_object_unref (r->sink);
  gst_object_unref (r->pipe);
  g_mutex_clear (&r->lock);
  g_free (r);
}

typedef struct {
  gint x, y;
  Rgb want;
} Probe;

static gboolean
near (Rgb a, Rgb b)
{
  return ABS ((gint) a.r - b.r) < 60 && ABS ((gint) a.g - b.g) < 60 && ABS ((gint) a.b - b.b) < 60;
}

/* The mean of a 5×5 square at (x, y) of an RGB frame. */
static Rgb
pixel (const guint8 *data, gint stride, gint x, gint y)
{
  guint sr = 0, sg = 0, sb = 0;
  for (gint dy = -2; dy <= 2; dy++)
    for (gint dx = -2; dx <= 2; dx++)
      {
        const guint8 *p = data + (y + dy) * stride + (x + dx) * 3;
        sr += p[0], sg += p[1], sb += p[2];
      }
  return (Rgb) { (guint8) (sr / 25), (guint8) (sg / 25), (guint8) (sb / 25) };
}

/* Waits until one decoded frame shows every probe's colour. */
static gboolean
wait_colours (Receiver *r, const Probe *probes, guint n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  Rgb last[8] = { 0 };
  while (g_get_monotonic_time () < deadline)
    {
      GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (r->sink), 200 * GST_MSECOND);
      if (sample == NULL)
        continue;
      GstCaps *caps = gst_sample_get_caps (sample);
      GstStructure *st = gst_caps_get_structure (caps, 0);
      gint w = 0, h = 0;
      gst_structure_get_int (st, "width", &w);
      gst_structure_get_int (st, "height", &h);
      g_assert_cmpint (w, ==, W);
      g_assert_cmpint (h, ==, H);
      GstMapInfo map;
      GstBuffer *buf = gst_sample_get_buffer (sample);
      gboolean all = gst_buffer_map (buf, &map, GST_MAP_READ);
      gint stride = GST_ROUND_UP_4 (W * 3);
      for (guint i = 0; all && i < n; i++)
        {
          last[i] = pixel (map.data, stride, probes[i].x, probes[i].y);
          all = near (last[i], probes[i].want);
        }
      if (map.data != NULL)
        gst_buffer_unmap (buf, &map);
      gst_sample_unref (sample);
      if (all)
        return TRUE;
    }
  for (guint i = 0; i < n; i++)
    g_test_message ("probe (%d,%d) wants %u,%u,%u, last read %u,%u,%u", probes[i].x, probes[i].y,
                    probes[i].want.r, probes[i].want.g, probes[i].want.b, last[i].r, last[i].g, last[i].b);
  return FALSE;
}

/* Pull mode: pulls the MCU's packets into @got until it holds @n (or
 * WAIT_US passed), and asserts it does. */
static void
pull_at_least (CfMcu *mcu, GPtrArray *got, guint n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  while (got->len < n && g_get_monotonic_time () < deadline)
    {
      g_usleep (50 * 1000);
      cf_mcu_pull_packets (mcu, CF_MCU_CODEC_VP8, got);
    }
  g_assert_cmpuint (got->len, >=, n);
}

/* Pull mode: feeds @r the MCU's pulled packets until one decoded frame
 * shows every probe's colour (wait_colours for an MCU without an output
 * callback); FALSE if none did within WAIT_US. */
static gboolean
pull_until_colours_report (CfMcu *mcu, Receiver *r, const Probe *probes, guint n, gint64 wait_us,
                           gboolean report)
{
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gint64 deadline = g_get_monotonic_time () + wait_us;
  gboolean all = FALSE;
  guint decoded = 0;
  Rgb last[8] = { { 0 } };
  while (!all && g_get_monotonic_time () < deadline)
    {
      g_usleep (50 * 1000);
      g_ptr_array_set_size (got, 0);
      cf_mcu_pull_packets (mcu, r->codec, got);
      for (guint i = 0; i < got->len; i++)
        {
          gsize len;
          const guint8 *p = g_bytes_get_data (got->pdata[i], &len);
          gst_app_src_push_buffer (GST_APP_SRC (r->src), gst_buffer_new_memdup (p, len));
        }
      GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (r->sink), 0);
      if (sample == NULL)
        continue;
      GstMapInfo map;
      GstBuffer *buf = gst_sample_get_buffer (sample);
      if (gst_buffer_map (buf, &map, GST_MAP_READ))
        {
          decoded++;
          all = TRUE;
          for (guint i = 0; i < n && i < G_N_ELEMENTS (last); i++)
            {
              last[i] = pixel (map.data, GST_ROUND_UP_4 (W * 3), probes[i].x, probes[i].y);
              all = all && near (last[i], probes[i].want);
            }
          gst_buffer_unmap (buf, &map);
        }
      gst_sample_unref (sample);
    }
  /* What a failure saw, for its log: no frame decoded at all (no keyframe
   * reached the listener) reads differently from a tile of the wrong colour. */
  if (!all && report)
    for (guint i = 0; i < n && i < G_N_ELEMENTS (last); i++)
      g_test_message ("%u frames decoded; probe %u at (%d,%d): last %u,%u,%u, want %u,%u,%u",
                      decoded, i, probes[i].x, probes[i].y, last[i].r, last[i].g, last[i].b,
                      probes[i].want.r, probes[i].want.g, probes[i].want.b);
  return all;
}

static gboolean
pull_until_colours (CfMcu *mcu, Receiver *r, const Probe *probes, guint n)
{
  return pull_until_colours_report (mcu, r, probes, n, WAIT_US, TRUE);
}

/* As a listener does: pulls, and asks for a keyframe (its PLI) each second
 * it has not seen the colours (a receiver that started on a frame it could
 * not decode waits for the next keyframe, 10 s away unasked). */
static gboolean
pull_until_colours_pli (CfMcu *mcu, Receiver *r, const Probe *probes, guint n)
{
  guint tries = WAIT_US / G_USEC_PER_SEC;
  for (guint i = 0; i < tries; i++)
    {
      if (pull_until_colours_report (mcu, r, probes, n, G_USEC_PER_SEC, i + 1 == tries))
        return TRUE;
      cf_mcu_request_keyframe (mcu);
    }
  return FALSE;
}

static CfMcu *
mcu_new (CfMcuConfig *cfg, Receiver *r, const CfMcuEvents *events, gpointer ud)
{
  g_autoptr (GError) error = NULL;
  CfMcu *mcu = cf_mcu_new (cfg, r != NULL ? receiver_out : NULL, events, r != NULL ? (gpointer) r : ud, &error);
  g_assert_no_error (error);
  g_assert_nonnull (mcu);
  return mcu;
}

static void
assert_tile (CfMcu *mcu, guint id, guint x, guint y, guint w, guint h)
{
  guint tx = 0, ty = 0, tw = 0, th = 0;
  g_assert_true (cf_mcu_get_tile (mcu, id, &tx, &ty, &tw, &th));
  g_assert_cmpuint (tx, ==, x);
  g_assert_cmpuint (ty, ==, y);
  g_assert_cmpuint (tw, ==, w);
  g_assert_cmpuint (th, ==, h);
}

/* ---- tests --------------------------------------------------------- */

/* Two senders: a grid of two columns, each colour in its half. */
static void
test_two_sources (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  Receiver *r = receiver_new ();
  CfMcu *mcu = mcu_new (&cfg, r, NULL, NULL);
  Sender *a = sender_new (mcu, 1, RED), *b = sender_new (mcu, 2, GREEN);
  Probe probes[] = { { 160, 180, RED }, { 480, 180, GREEN } };
  g_assert_true (wait_colours (r, probes, G_N_ELEMENTS (probes)));
  assert_tile (mcu, 1, 0, 0, 320, 360);
  assert_tile (mcu, 2, 320, 0, 320, 360);
  CfMcuStats st;
  cf_mcu_get_stats (mcu, &st);
  g_assert_true (st.playing);
  g_assert_cmpuint (st.frames_out, >, 0);
  g_assert_cmpuint (st.dropped_invalid, ==, 0);
  sender_free (a);
  sender_free (b);
  cf_mcu_free (mcu);
  receiver_free (r);
}

/* Four senders: a 2×2 grid; a speaker gets the big tile (3/4, top centre)
 * and the others the strip under it; another speaker moves the emphasis;
 * no speaker is the grid again. */
static void
test_four_sources_speaker (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  Receiver *r = receiver_new ();
  CfMcu *mcu = mcu_new (&cfg, r, NULL, NULL);
  Sender *s[4] = {
    sender_new (mcu, 1, RED), sender_new (mcu, 2, GREEN),
    sender_new (mcu, 3, BLUE), sender_new (mcu, 4, YELLOW),
  };
  Probe grid[] = { { 160, 90, RED }, { 480, 90, GREEN }, { 160, 270, BLUE }, { 480, 270, YELLOW } };
  g_assert_true (wait_colours (r, grid, 4));
  assert_tile (mcu, 4, 320, 180, 320, 180);

  cf_mcu_set_speaker (mcu, 3);
  Probe blue_big[] = { { 320, 135, BLUE }, { 40, 135, BLACK }, { 600, 135, BLACK },
                       { 160, 315, RED }, { 320, 315, GREEN }, { 480, 315, YELLOW } };
  g_assert_true (wait_colours (r, blue_big, G_N_ELEMENTS (blue_big)));
  assert_tile (mcu, 3, 80, 0, 480, 270);
  assert_tile (mcu, 1, 80, 270, 160, 90);
  assert_tile (mcu, 2, 240, 270, 160, 90);
  assert_tile (mcu, 4, 400, 270, 160, 90);

  cf_mcu_set_speaker (mcu, 1);
  Probe red_big[] = { { 320, 135, RED }, { 160, 315, GREEN }, { 320, 315, BLUE }, { 480, 315, YELLOW } };
  g_assert_true (wait_colours (r, red_big, G_N_ELEMENTS (red_big)));

  cf_mcu_set_speaker (mcu, 0);
  g_assert_true (wait_colours (r, grid, 4));
  for (guint i = 0; i < 4; i++)
    sender_free (s[i]);
  cf_mcu_free (mcu);
  receiver_free (r);
}

/* Removing a source takes its tile away; the one left fills the picture. */
static void
test_remove_source (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  Receiver *r = receiver_new ();
  CfMcu *mcu = mcu_new (&cfg, r, NULL, NULL);
  Sender *a = sender_new (mcu, 1, RED), *b = sender_new (mcu, 2, BLUE);
  Probe two[] = { { 160, 180, RED }, { 480, 180, BLUE } };
  g_assert_true (wait_colours (r, two, 2));
  g_assert_true (cf_mcu_remove_source (mcu, 2));
  g_assert_false (cf_mcu_remove_source (mcu, 2));
  Probe one[] = { { 160, 180, RED }, { 480, 180, RED }, { 320, 20, RED } };
  g_assert_true (wait_colours (r, one, 3));
  assert_tile (mcu, 1, 0, 0, 640, 360);
  guint x, y, w, h;
  g_assert_false (cf_mcu_get_tile (mcu, 2, &x, &y, &w, &h));
  /* b still sends: its packets are counted, not composed. */
  CfMcuStats before, after;
  cf_mcu_get_stats (mcu, &before);
  g_usleep (300 * 1000);
  cf_mcu_get_stats (mcu, &after);
  g_assert_cmpuint (after.dropped_unknown, >, before.dropped_unknown);
  sender_free (a);
  sender_free (b);
  cf_mcu_free (mcu);
  receiver_free (r);
}

/* A keyframe request produces a keyframe within 500 ms; requests inside
 * the minimum interval become one more, forced when the interval ends. */
static void
test_keyframe (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  cfg.keyframe_max_frames = 3000;    /* no periodic keyframe in the test's time */
  Receiver *r = receiver_new ();
  CfMcu *mcu = mcu_new (&cfg, r, NULL, NULL);
  Sender *a = sender_new (mcu, 1, GREEN);
  Probe probes[] = { { 320, 180, GREEN } };
  g_assert_true (wait_colours (r, probes, 1));
  g_usleep (G_USEC_PER_SEC);          /* past the keyframes of the start */

  for (guint round = 0; round < 3; round++)
    {
      g_mutex_lock (&r->lock);
      gint64 before = r->last_keyframe;
      g_mutex_unlock (&r->lock);
      g_assert_cmpint (g_get_monotonic_time () - before, >, 400 * 1000);
      gint64 asked = g_get_monotonic_time ();
      cf_mcu_request_keyframe (mcu);
      gint64 got = 0;
      while (g_get_monotonic_time () - asked < 2 * G_USEC_PER_SEC)
        {
          g_mutex_lock (&r->lock);
          if (r->last_keyframe > asked)
            got = r->last_keyframe;
          g_mutex_unlock (&r->lock);
          if (got != 0)
            break;
          g_usleep (5 * 1000);
        }
      g_assert_cmpint (got, !=, 0);
      g_test_message ("keyframe %" G_GINT64_FORMAT " ms after the request", (got - asked) / 1000);
      g_assert_cmpint (got - asked, <, 500 * 1000);
      g_usleep (600 * 1000);
    }

  CfMcuStats st0, st1;
  cf_mcu_get_stats (mcu, &st0);
  cf_mcu_request_keyframe (mcu);
  cf_mcu_request_keyframe (mcu);
  cf_mcu_request_keyframe (mcu);
  g_usleep (100 * 1000);
  cf_mcu_get_stats (mcu, &st1);
  g_assert_cmpuint (st1.keyframes_requested - st0.keyframes_requested, ==, 3);
  g_assert_cmpuint (st1.keyframes_forced - st0.keyframes_forced, ==, 1);
  g_usleep (700 * 1000);              /* the interval (300 ms) ended: the held one */
  cf_mcu_get_stats (mcu, &st1);
  g_assert_cmpuint (st1.keyframes_forced - st0.keyframes_forced, ==, 2);
  sender_free (a);
  cf_mcu_free (mcu);
  receiver_free (r);
}

/* Garbage pushed: counted and dropped; valid-looking garbage on a real
 * source goes to the jitter buffer and depayloader, which drop it; the
 * picture stays.  A flood is bounded by the source's queue. */
static void
test_garbage (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  cfg.max_queue_packets = 4;
  Receiver *r = receiver_new ();
  CfMcu *mcu = mcu_new (&cfg, r, NULL, NULL);
  Sender *a = sender_new (mcu, 1, BLUE);
  Probe probes[] = { { 320, 180, BLUE } };
  g_assert_true (wait_colours (r, probes, 1));

  CfMcuStats st0, st1;
  cf_mcu_get_stats (mcu, &st0);
  guint8 pkt[1600];
  g_assert_false (cf_mcu_push_rtp (mcu, 1, NULL, 0));
  g_assert_false (cf_mcu_push_rtp (mcu, 1, pkt, 0));
  memset (pkt, 0, sizeof pkt);
  g_assert_false (cf_mcu_push_rtp (mcu, 1, pkt, 11));   /* short */
  g_assert_false (cf_mcu_push_rtp (mcu, 1, pkt, 100));  /* version 0 */
  pkt[0] = 0x80;
  g_assert_false (cf_mcu_push_rtp (mcu, 1, pkt, 1501)); /* too long */
  g_assert_false (cf_mcu_push_rtp (mcu, 99, pkt, 100)); /* unknown source */
  cf_mcu_get_stats (mcu, &st1);
  g_assert_cmpuint (st1.dropped_invalid - st0.dropped_invalid, ==, 5);
  g_assert_cmpuint (st1.dropped_unknown - st0.dropped_unknown, ==, 1);

  /* 20000 RTP v2 packets of random bytes (any flags, sequence, timestamp,
   * CSRC count, extension, payload) on the live source, as fast as the
   * test can push: each is accepted or dropped as the queue is full. */
  GRand *rand = g_rand_new_with_seed (1414);
  guint total = 20000;
  cf_mcu_get_stats (mcu, &st0);
  for (guint i = 0; i < total; i++)
    {
      gsize len = 12 + g_rand_int_range (rand, 0, 1300);
      for (gsize j = 0; j < len; j++)
        pkt[j] = (guint8) g_rand_int (rand);
      pkt[0] = (pkt[0] & 0x3f) | 0x80;
      pkt[1] = (pkt[1] & 0x80) | 100;  /* the source's payload type */
      cf_mcu_push_rtp (mcu, 1, pkt, len);
    }
  g_rand_free (rand);
  cf_mcu_get_stats (mcu, &st1);
  guint64 accepted = st1.pushed - st0.pushed, full = st1.dropped_full - st0.dropped_full;
  g_test_message ("garbage: %" G_GUINT64_FORMAT " accepted, %" G_GUINT64_FORMAT " dropped (queue full)",
                  accepted, full);
  g_assert_cmpuint (full, >, 0);
  /* The sender pushes too, in between: at least the garbage is counted. */
  g_assert_cmpuint (accepted + full, >=, total);
  /* The picture comes back (the sender's next keyframe, ≤ 1 s). */
  g_assert_true (wait_colours (r, probes, 1));
  sender_free (a);
  cf_mcu_free (mcu);
  receiver_free (r);
}

static gint64
cpu_us (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (gint64) ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec
         + (gint64) ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
}

/* No source: no frame.  Senders gone quiet: the pipeline pauses after
 * idle_timeout, produces nothing and uses (almost) no CPU; the next RTP
 * resumes it.  Pull mode (no output callback) holds the packets. */
static void
test_idle (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  cfg.idle_timeout_ms = 400;
  CfMcu *mcu = mcu_new (&cfg, NULL, NULL, NULL);
  g_usleep (G_USEC_PER_SEC);
  CfMcuStats st;
  cf_mcu_get_stats (mcu, &st);
  g_assert_false (st.playing);
  g_assert_cmpuint (st.frames_out, ==, 0);

  Sender *a = sender_new (mcu, 1, RED);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  pull_at_least (mcu, got, 50);
  cf_mcu_get_stats (mcu, &st);
  g_assert_true (st.playing);
  g_assert_cmpuint (st.resumes, >=, 1);

  sender_stop (a);
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  do
    {
      g_usleep (100 * 1000);
      cf_mcu_get_stats (mcu, &st);
    }
  while (st.playing && g_get_monotonic_time () < deadline);
  g_assert_false (st.playing);
  g_assert_cmpuint (st.pauses, >=, 1);
  g_usleep (300 * 1000);              /* frames on their way out */
  CfMcuStats idle0, idle1;
  cf_mcu_get_stats (mcu, &idle0);
  gint64 cpu0 = cpu_us (), t0 = g_get_monotonic_time ();
  g_usleep (G_USEC_PER_SEC);
  gint64 cpu = cpu_us () - cpu0, wall = g_get_monotonic_time () - t0;
  cf_mcu_get_stats (mcu, &idle1);
  g_test_message ("paused: %" G_GINT64_FORMAT " µs CPU in %" G_GINT64_FORMAT " µs", cpu, wall);
  g_assert_cmpuint (idle1.frames_out, ==, idle0.frames_out);
  g_assert_cmpint (cpu, <, wall / 20);  /* < 5 % of a core (encoding 30 fps is far more) */

  /* RTP again: it plays again. */
  g_atomic_int_set (&a->stopped, 0);
  gst_element_set_state (a->pipe, GST_STATE_PLAYING);
  guint before = got->len;
  pull_at_least (mcu, got, before + 20);
  cf_mcu_get_stats (mcu, &st);
  g_assert_cmpuint (st.resumes, >=, 2);
  sender_free (a);
  cf_mcu_free (mcu);
}

typedef struct {
  guint failed_id;
  gint failures;
  gint fatal;
} Events;

static void
on_source_failed (guint id, gpointer ud)
{
  Events *e = ud;
  e->failed_id = id;
  g_atomic_int_inc (&e->failures);
}

static void
on_fatal (const GError *error, gpointer ud)
{
  (void) error;
  g_atomic_int_inc (&((Events *) ud)->fatal);
}

/* A source's branch failing removes that source (a warning naming its id)
 * and keeps the layout: the other source fills the picture. */
static void
test_source_error (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  Receiver *r = receiver_new ();
  Events ev = { 0 };
  CfMcuEvents events = { .source_failed = on_source_failed, .fatal = on_fatal };
  g_autoptr (GError) error = NULL;
  g_test_expect_message ("belfry-conference", G_LOG_LEVEL_WARNING, "mcu: source 2 failed*removed from the layout");
  CfMcu *mcu = cf_mcu_new (&cfg, NULL, &events, &ev, &error);
  g_assert_no_error (error);
  Sender *a = sender_new (mcu, 1, RED), *b = sender_new (mcu, 2, GREEN);
  /* Pull mode here (the events' user data is the test's): the test feeds
   * the receiver from the pulled packets. */
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  guint x, y, w, h;
  while (!(cf_mcu_get_tile (mcu, 2, &x, &y, &w, &h) && w == 320)
         && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  assert_tile (mcu, 2, 320, 0, 320, 360);
  cf_mcu_inject_source_error (mcu, 2);
  deadline = g_get_monotonic_time () + WAIT_US;
  while (g_atomic_int_get (&ev.failures) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_assert_cmpint (g_atomic_int_get (&ev.failures), ==, 1);
  g_assert_cmpuint (ev.failed_id, ==, 2);
  g_assert_false (cf_mcu_get_tile (mcu, 2, &x, &y, &w, &h));
  assert_tile (mcu, 1, 0, 0, 640, 360);
  g_assert_false (cf_mcu_remove_source (mcu, 2));
  g_test_assert_expected_messages ();

  /* The layout goes on: source 1 fills the picture. */
  const Probe both_red[] = { { 160, 180, RED }, { 480, 180, RED } };
  g_assert_true (pull_until_colours (mcu, r, both_red, G_N_ELEMENTS (both_red)));
  g_assert_cmpint (g_atomic_int_get (&ev.fatal), ==, 0);
  CfMcuStats st;
  cf_mcu_get_stats (mcu, &st);
  g_assert_cmpuint (st.sources_failed, ==, 1);
  sender_free (a);
  sender_free (b);
  cf_mcu_free (mcu);
  receiver_free (r);
}

/* An error of the output branch is fatal: reported once through the
 * callback, the MCU stops producing, nothing crashes, free works. */
static void
test_fatal (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  Events ev = { 0 };
  CfMcuEvents events = { .source_failed = on_source_failed, .fatal = on_fatal };
  g_autoptr (GError) error = NULL;
  CfMcu *mcu = cf_mcu_new (&cfg, NULL, &events, &ev, &error);
  g_assert_no_error (error);
  Sender *a = sender_new (mcu, 1, RED);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  pull_at_least (mcu, got, 20);
  g_test_expect_message ("belfry-conference", G_LOG_LEVEL_WARNING, "mcu: pipeline failed*the layout stops");
  cf_mcu_inject_source_error (mcu, 0);
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  while (g_atomic_int_get (&ev.fatal) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_assert_cmpint (g_atomic_int_get (&ev.fatal), ==, 1);
  g_test_assert_expected_messages ();
  g_usleep (300 * 1000);
  cf_mcu_pull_packets (mcu, CF_MCU_CODEC_VP8, got);
  CfMcuStats st0, st1;
  cf_mcu_get_stats (mcu, &st0);
  g_assert_false (st0.playing);
  g_usleep (500 * 1000);             /* the sender still pushes: nothing comes out */
  cf_mcu_get_stats (mcu, &st1);
  g_assert_cmpuint (st1.packets_out, ==, st0.packets_out);
  g_assert_cmpint (g_atomic_int_get (&ev.fatal), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&ev.failures), ==, 0);
  sender_free (a);
  cf_mcu_free (mcu);
}

/* A source joining mid-stream (its sender's keyframes 60 s apart, the
 * first one missed): the MCU asks the room for a keyframe of that source
 * (source_keyframe), the room's PLI makes the sender send one, and the
 * tile shows. */
typedef struct {
  Sender *sender;
  guint asked_id;
  gint asked;
} KeyframeAsk;

static void
on_source_keyframe (guint id, gpointer ud)
{
  KeyframeAsk *k = ud;
  k->asked_id = id;
  if (g_atomic_int_add (&k->asked, 1) == 0)
    sender_keyframe (k->sender);
}

static void
test_source_keyframe (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  KeyframeAsk k = { 0 };
  CfMcuEvents events = { .source_keyframe = on_source_keyframe };
  g_autoptr (GError) error = NULL;
  CfMcu *mcu = cf_mcu_new (&cfg, NULL, &events, &k, &error);
  g_assert_no_error (error);
  /* The sender starts now; the MCU gets its packets from 1 s on. */
  k.sender = sender_new_full (mcu, 7, GREEN, 900, g_get_monotonic_time () + G_USEC_PER_SEC);
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  while (g_atomic_int_get (&k.asked) == 0 && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_assert_cmpint (g_atomic_int_get (&k.asked), >=, 1);
  g_assert_cmpuint (k.asked_id, ==, 7);
  /* Its keyframe decodes: frames come out (the picture's colour is the
   * other tests' business; here: the branch got past its wait). */
  Receiver *r = receiver_new ();
  cf_mcu_request_keyframe (mcu);
  const Probe green[] = { { 320, 180, GREEN } };
  g_assert_true (pull_until_colours (mcu, r, green, G_N_ELEMENTS (green)));
  sender_free (k.sender);
  cf_mcu_free (mcu);
  receiver_free (r);
}

/* The layouts of 9 sources (no video needed: the tiles the compositor is
 * given): a 3×3 grid; with a speaker, its big tile and 8 in the strip,
 * narrower than 4 across. */
static gboolean
tile_is (CfMcu *mcu, guint id, guint x, guint y, guint w, guint h)
{
  guint tx, ty, tw, th;
  return cf_mcu_get_tile (mcu, id, &tx, &ty, &tw, &th) && tx == x && ty == y && tw == w && th == h;
}

static void
test_layout_nine (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  CfMcu *mcu = mcu_new (&cfg, NULL, NULL, NULL);
  for (guint id = 1; id <= 9; id++)
    g_assert_true (cf_mcu_add_source (mcu, id, CF_MCU_CODEC_VP8, 100, 90000));
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  while (!tile_is (mcu, 9, 424, 240, 212, 120) && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  for (guint i = 0; i < 9; i++)
    assert_tile (mcu, i + 1, (i % 3) * 212, (i / 3) * 120, 212, 120);

  cf_mcu_set_speaker (mcu, 5);
  deadline = g_get_monotonic_time () + WAIT_US;
  while (!tile_is (mcu, 5, 80, 0, 480, 270) && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  assert_tile (mcu, 5, 80, 0, 480, 270);
  /* 8 in the strip: 80×44 each (640 / 8 wide, 16:9), centred in its 90 rows. */
  guint slot = 0;
  for (guint id = 1; id <= 9; id++)
    if (id != 5)
      {
        assert_tile (mcu, id, slot * 80, 270 + 22, 80, 44);
        slot++;
      }
  /* An unknown speaker is no speaker: the grid. */
  cf_mcu_set_speaker (mcu, 42);
  deadline = g_get_monotonic_time () + WAIT_US;
  while (!tile_is (mcu, 5, 212, 120, 212, 120) && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  assert_tile (mcu, 5, 212, 120, 212, 120);
  cf_mcu_free (mcu);
}

/* What the configuration refuses: no codec or an unknown one, bad sizes. */
static void
test_config (void)
{
  CfMcuConfig cfg;
  g_autoptr (GError) error = NULL;
  cf_mcu_config_init (&cfg);
  cfg.codecs = 0;
  g_assert_null (cf_mcu_new (&cfg, NULL, NULL, NULL, &error));
  g_assert_error (error, CF_MCU_ERROR, CF_MCU_ERROR_CODEC);
  g_clear_error (&error);
  cfg.codecs = CF_MCU_CODEC_BIT (CF_MCU_N_CODECS);
  g_assert_null (cf_mcu_new (&cfg, NULL, NULL, NULL, &error));
  g_assert_error (error, CF_MCU_ERROR, CF_MCU_ERROR_CODEC);
  g_clear_error (&error);
  cf_mcu_config_init (&cfg);
  cfg.width = 641;
  g_assert_null (cf_mcu_new (&cfg, NULL, NULL, NULL, &error));
  g_assert_error (error, CF_MCU_ERROR, CF_MCU_ERROR_CONFIG);
  g_clear_error (&error);
  cf_mcu_config_init (&cfg);
  cfg.fps = 0;
  g_assert_null (cf_mcu_new (&cfg, NULL, NULL, NULL, &error));
  g_assert_error (error, CF_MCU_ERROR, CF_MCU_ERROR_CONFIG);
  g_clear_error (&error);

  /* Ids: 0 is "no speaker", a taken id is refused, at most 16. */
  cf_mcu_config_init (&cfg);
  CfMcu *mcu = mcu_new (&cfg, NULL, NULL, NULL);
  g_assert_false (cf_mcu_add_source (mcu, 0, CF_MCU_CODEC_VP8, 100, 90000));
  g_assert_false (cf_mcu_add_source (mcu, 1, CF_MCU_N_CODECS, 100, 90000));
  g_assert_true (cf_mcu_add_source (mcu, 1, CF_MCU_CODEC_VP8, 100, 90000));
  g_assert_false (cf_mcu_add_source (mcu, 1, CF_MCU_CODEC_VP8, 100, 90000));
  for (guint id = 2; id <= CF_MCU_MAX_SOURCES; id++)
    g_assert_true (cf_mcu_add_source (mcu, id, CF_MCU_CODEC_VP8, 100, 90000));
  g_assert_false (cf_mcu_add_source (mcu, 99, CF_MCU_CODEC_VP8, 100, 90000));
  g_assert_true (cf_mcu_remove_source (mcu, 5));
  g_assert_true (cf_mcu_add_source (mcu, 99, CF_MCU_CODEC_VP8, 100, 90000));
  cf_mcu_free (mcu);   /* with 16 sources still in it */
}

/* H.264 is installed where the tests run (scripts/setup.sh): missing,
 * these tests fail, never skip. */
static void
test_h264_available (void)
{
  g_assert_true (cf_mcu_codec_available (CF_MCU_CODEC_H264, TRUE));
  g_assert_true (cf_mcu_codec_available (CF_MCU_CODEC_H264, FALSE));
  g_assert_cmpstr (cf_mcu_codec_name (CF_MCU_CODEC_H264), ==, "H.264");
}

/* An H.264 sender and a VP8 sender in one VP8 composite: both decoded,
 * each colour in its half. */
static void
test_h264_source (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  Receiver *r = receiver_new ();
  CfMcu *mcu = mcu_new (&cfg, r, NULL, NULL);
  Sender *a = sender_new_codec (mcu, CF_MCU_CODEC_H264, 1, RED, 15, 0);
  Sender *b = sender_new (mcu, 2, GREEN);
  Probe probes[] = { { 160, 180, RED }, { 480, 180, GREEN } };
  g_assert_true (wait_colours (r, probes, G_N_ELEMENTS (probes)));
  sender_free (a);
  sender_free (b);
  cf_mcu_free (mcu);
  receiver_free (r);
}

static guint64
frames_of (CfMcu *mcu, CfMcuCodec codec)
{
  CfMcuStats st;
  cf_mcu_get_stats (mcu, &st);
  return st.frames_out_codec[codec];
}

/* One compositor, two encoders: a VP8 listener and an H.264 listener each
 * decode the layout of a VP8 and an H.264 sender; a codec turned off
 * encodes nothing (the other goes on), turned on it encodes again. */
static void
test_h264_output (void)
{
  CfMcuConfig cfg;
  cf_mcu_config_init (&cfg);
  cfg.codecs |= CF_MCU_CODEC_BIT (CF_MCU_CODEC_H264);
  CfMcu *mcu = mcu_new (&cfg, NULL, NULL, NULL);
  Receiver *vp8 = receiver_new_codec (CF_MCU_CODEC_VP8);
  Receiver *h264 = receiver_new_codec (CF_MCU_CODEC_H264);
  Sender *a = sender_new_codec (mcu, CF_MCU_CODEC_H264, 1, RED, 15, 0);
  Sender *b = sender_new (mcu, 2, BLUE);
  Probe probes[] = { { 160, 180, RED }, { 480, 180, BLUE } };
  gboolean h264_ok = pull_until_colours_pli (mcu, h264, probes, G_N_ELEMENTS (probes));
  g_test_message ("H.264 listener: %s after %" G_GUINT64_FORMAT " H.264 frames",
                  h264_ok ? "both colours" : "NOT both colours", frames_of (mcu, CF_MCU_CODEC_H264));
  g_assert_true (h264_ok);
  g_assert_true (pull_until_colours_pli (mcu, vp8, probes, G_N_ELEMENTS (probes)));

  cf_mcu_set_codec_active (mcu, CF_MCU_CODEC_H264, FALSE);
  g_usleep (500 * 1000);   /* what was queued before drains */
  guint64 h0 = frames_of (mcu, CF_MCU_CODEC_H264), v0 = frames_of (mcu, CF_MCU_CODEC_VP8);
  g_usleep (1000 * 1000);
  g_assert_cmpuint (frames_of (mcu, CF_MCU_CODEC_H264), ==, h0);
  g_assert_cmpuint (frames_of (mcu, CF_MCU_CODEC_VP8), >, v0 + 5);

  g_test_message ("frames with H.264 off: VP8 %" G_GUINT64_FORMAT " → %" G_GUINT64_FORMAT
                  ", H.264 %" G_GUINT64_FORMAT, v0, frames_of (mcu, CF_MCU_CODEC_VP8), h0);

  cf_mcu_set_codec_active (mcu, CF_MCU_CODEC_H264, TRUE);
  cf_mcu_request_keyframe (mcu);   /* as the room does for a joining listener */
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  while (frames_of (mcu, CF_MCU_CODEC_H264) < h0 + 5 && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  g_assert_cmpuint (frames_of (mcu, CF_MCU_CODEC_H264), >=, h0 + 5);
  /* The decoded picture is from the frames after the valve opened: the
   * receiver's older ones are thrown away first. */
  GstSample *old;
  while ((old = gst_app_sink_try_pull_sample (GST_APP_SINK (h264->sink), 0)) != NULL)
    gst_sample_unref (old);
  g_assert_true (pull_until_colours (mcu, h264, probes, G_N_ELEMENTS (probes)));
  sender_free (a);
  sender_free (b);
  cf_mcu_free (mcu);
  receiver_free (vp8);
  receiver_free (h264);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-mcu/config", test_config);
  g_test_add_func ("/conference-mcu/layout-nine", test_layout_nine);
  g_test_add_func ("/conference-mcu/two-sources", test_two_sources);
  g_test_add_func ("/conference-mcu/four-sources-speaker", test_four_sources_speaker);
  g_test_add_func ("/conference-mcu/remove-source", test_remove_source);
  g_test_add_func ("/conference-mcu/keyframe", test_keyframe);
  g_test_add_func ("/conference-mcu/source-keyframe", test_source_keyframe);
  g_test_add_func ("/conference-mcu/garbage", test_garbage);
  g_test_add_func ("/conference-mcu/idle", test_idle);
  g_test_add_func ("/conference-mcu/source-error", test_source_error);
  g_test_add_func ("/conference-mcu/fatal", test_fatal);
  g_test_add_func ("/conference-mcu/h264-available", test_h264_available);
  g_test_add_func ("/conference-mcu/h264-source", test_h264_source);
  g_test_add_func ("/conference-mcu/h264-output", test_h264_output);
  return g_test_run ();
}
