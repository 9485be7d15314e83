/* conference — the MCU's compositing pipeline (mcu.h).
 *
 * Thread rule (see mcu.h): the owner calls the API; the table of sources
 * and the tile rectangles are under mcu->lock (push_rtp and the control
 * thread read them); every GStreamer call that changes the pipeline runs
 * on the control thread `bf-mcu`, whose GMainContext also carries the
 * bus, the idle check and the keyframe timer.  Counters are atomics.
 *
 * VP8 over RTP is RFC 7741, H.264 over RTP RFC 6184 (neither in
 * /work/shared/specs: rtpvp8depay/pay and rtph264depay/pay implement
 * them; this file only reads the RTP version bits).
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include "mcu.h"

G_DEFINE_QUARK (cf-mcu-error-quark, cf_mcu_error)

#define MAX_RTP 1500

static const char gone_branch = 0;   /* the mark of a branch taken out */

#define STAT_INC(field) __atomic_fetch_add (&mcu->stats.field, 1, __ATOMIC_RELAXED)
#define STAT_ADD(field, n) __atomic_fetch_add (&mcu->stats.field, (n), __ATOMIC_RELAXED)

typedef struct {
  guint id;
  CfMcuCodec codec;
  guint8 pt;
  guint clock_rate;
  guint order;               /* add order: the layout's order */
  /* Under mcu->lock: */
  GstElement *appsrc;        /* NULL until the control thread built the branch */
  gint x, y, w, h;           /* the tile last given to the compositor */
  /* Control thread only: */
  GstElement *bin;
  GstElement *elements[5];   /* the branch's, marked for the bus (source_of) */
  GstPad *comp_pad;
  CfMcu *mcu;
} Source;

/* One encoder's branch after the tee, and its packets (pull mode). */
typedef struct {
  CfMcu *mcu;
  CfMcuCodec codec;
  GstElement *valve, *enc, *sink;   /* NULL when the codec is not in cfg.codecs */
  gint active;               /* atomic: the valve is open */
  GQueue queue;              /* GBytes*, pull mode, under mcu->out_lock */
} Output;

struct _CfMcu {
  CfMcuConfig cfg;
  CfMcuOutput out;
  CfMcuEvents events;
  gpointer user_data;

  GMutex lock;
  GHashTable *sources;       /* id → Source*, under lock (the owner's view) */
  guint next_order;          /* owner thread */
  guint owner_speaker;       /* owner thread: the last speaker posted */

  /* Control thread only. */
  GMainContext *ctx;
  GMainLoop *loop;
  GThread *thread;
  GstElement *pipeline, *comp;
  Output outputs[CF_MCU_N_CODECS];
  GPtrArray *live;           /* Source* with a branch in the pipeline, add order */
  guint speaker;
  gint64 last_forced;        /* monotonic µs of the last force-key-unit */
  GSource *keyframe_timer;   /* a held request, forced when the interval ends */
  GSource *bus_source, *idle_source;
  gboolean fatal;

  /* Any thread (atomics). */
  gint playing;
  gint wake_pending;
  gint64 last_push;

  GMutex out_lock;           /* the outputs' queues */

  CfMcuStats stats;
};

void
cf_mcu_config_init (CfMcuConfig *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->codecs = CF_MCU_CODEC_BIT (CF_MCU_CODEC_VP8);
  cfg->width = 640;
  cfg->height = 360;
  cfg->fps = 30;
  cfg->bitrate_kbps = 600;
  cfg->payload_type = 96;
}

/* ---- layout -------------------------------------------------------- */

static gint
even (gint v)
{
  return v & ~1;
}

/* Tile @i of @n (add order) for output @W×@H; @big is the speaker's index
 * or -1 (the grid).  Pure. */
static void
layout_tile (gint W, gint H, guint n, guint i, gint big, gint *x, gint *y, gint *w, gint *h)
{
  if (n <= 1)
    {
      *x = 0, *y = 0, *w = W, *h = H;
      return;
    }
  if (big < 0)
    {
      guint cols = 1;
      while (cols * cols < n)
        cols++;
      guint rows = (n + cols - 1) / cols;
      gint cw = even (W / (gint) cols), ch = even (H / (gint) rows);
      *x = (gint) (i % cols) * cw;
      *y = (gint) (i / cols) * ch;
      *w = cw;
      *h = ch;
      return;
    }
  gint bw = even (W * 3 / 4), bh = even (H * 3 / 4);
  if ((gint) i == big)
    {
      *x = even ((W - bw) / 2), *y = 0, *w = bw, *h = bh;
      return;
    }
  /* The strip under the big tile, the others in add order. */
  guint k = n - 1, slot = (gint) i < big ? i : i - 1;
  gint tw = even (W / (gint) MAX (k, 4u));
  gint th = even (tw * H / W);
  if (th > H - bh)
    {
      th = even (H - bh);
      tw = even (th * W / H);
    }
  *x = even ((W - (gint) k * tw) / 2) + (gint) slot * tw;
  *y = bh + even ((H - bh - th) / 2);
  *w = tw;
  *h = th;
}

/* Control thread: give the compositor every live source's tile. */
static void
relayout (CfMcu *mcu)
{
  guint n = mcu->live->len;
  gint big = -1;
  for (guint i = 0; i < n; i++)
    if (((Source *) mcu->live->pdata[i])->id == mcu->speaker)
      big = (gint) i;
  for (guint i = 0; i < n; i++)
    {
      Source *s = mcu->live->pdata[i];
      gint x, y, w, h;
      layout_tile ((gint) mcu->cfg.width, (gint) mcu->cfg.height, n, i, big, &x, &y, &w, &h);
      g_object_set (s->comp_pad, "xpos", x, "ypos", y, "width", w, "height", h, NULL);
      g_mutex_lock (&mcu->lock);
      s->x = x, s->y = y, s->w = w, s->h = h;
      g_mutex_unlock (&mcu->lock);
    }
}

/* ---- control thread jobs ------------------------------------------- */

typedef enum { JOB_ADD, JOB_REMOVE, JOB_SPEAKER, JOB_KEYFRAME, JOB_RESUME, JOB_FAIL } JobKind;

typedef struct {
  CfMcu *mcu;
  JobKind kind;
  guint id;
  Source *source;
} Job;

static gboolean run_job (gpointer data);

static void
post (CfMcu *mcu, JobKind kind, guint id, Source *source)
{
  Job *job = g_new0 (Job, 1);
  job->mcu = mcu;
  job->kind = kind;
  job->id = id;
  job->source = source;
  /* Same priority: the control context runs jobs in the order posted. */
  g_main_context_invoke_full (mcu->ctx, G_PRIORITY_DEFAULT, run_job, job, g_free);
}

static void
force_keyframe_now (CfMcu *mcu)
{
  for (guint c = 0; c < CF_MCU_N_CODECS; c++)
    {
      Output *o = &mcu->outputs[c];
      if (o->enc == NULL || !g_atomic_int_get (&o->active))
        continue;
      GstPad *pad = gst_element_get_static_pad (o->enc, "src");
      GstEvent *ev = gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0);
      gst_pad_send_event (pad, ev);
      gst_object_unref (pad);
    }
  mcu->last_forced = g_get_monotonic_time ();
  STAT_INC (keyframes_forced);
}

static gboolean
on_keyframe_timer (gpointer data)
{
  CfMcu *mcu = data;
  g_source_unref (mcu->keyframe_timer);
  mcu->keyframe_timer = NULL;
  if (!mcu->fatal)
    force_keyframe_now (mcu);
  return G_SOURCE_REMOVE;
}

static void
keyframe_request (CfMcu *mcu)
{
  if (mcu->fatal || mcu->keyframe_timer != NULL)
    return;                     /* held already: the one forced answers both */
  gint64 interval = (gint64) mcu->cfg.keyframe_min_interval_ms * 1000;
  gint64 since = g_get_monotonic_time () - mcu->last_forced;
  if (mcu->last_forced == 0 || since >= interval)
    {
      force_keyframe_now (mcu);
      return;
    }
  mcu->keyframe_timer = g_timeout_source_new ((guint) ((interval - since + 999) / 1000));
  g_source_set_callback (mcu->keyframe_timer, on_keyframe_timer, mcu, NULL);
  g_source_attach (mcu->keyframe_timer, mcu->ctx);
}

static GstPadProbeReturn
on_upstream_event (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Source *s = data;
  (void) pad;
  GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
  if (gst_video_event_is_force_key_unit (ev))
    {
      if (s->mcu->events.source_keyframe != NULL)
        s->mcu->events.source_keyframe (s->id, s->mcu->user_data);
      return GST_PAD_PROBE_DROP;   /* appsrc has no one to ask: the room does */
    }
  return GST_PAD_PROBE_OK;
}

/* An element never added to a bin is still floating. */
static void
drop_element (GstElement **e)
{
  if (*e != NULL)
    gst_object_unref (gst_object_ref_sink (*e));
  *e = NULL;
}

/* The Debian package of each element this file makes beyond -base/-good
 * (for the error message: what to install). */
static const char *
package_of (const char *factory)
{
  static const struct { const char *factory, *package; } where[] = {
    { "x264enc", "gstreamer1.0-plugins-ugly" },
    { "avdec_h264", "gstreamer1.0-libav" },
    { "openh264dec", "gstreamer1.0-plugins-bad" },
    { "compositor", "gstreamer1.0-plugins-base" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (where); i++)
    if (g_str_equal (where[i].factory, factory))
      return where[i].package;
  return "gstreamer1.0-plugins-good/base";
}

static GstElement *
make (const char *factory, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  if (e == NULL)
    g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_PIPELINE,
                 "GStreamer element %s is missing (%s)", factory, package_of (factory));
  return e;
}

/* The elements of each codec: RTP depayloader, decoders (the first found
 * is used), encoder, payloader, encoding name. */
typedef struct {
  const char *name, *encoding, *depay, *decoders[2], *enc, *pay;
} CodecElements;

static const CodecElements codec_elements[CF_MCU_N_CODECS] = {
  [CF_MCU_CODEC_VP8] = { "VP8", "VP8", "rtpvp8depay", { "vp8dec", NULL }, "vp8enc", "rtpvp8pay" },
  /* avdec_h264 first: it is the faster and the better concealing of the two. */
  [CF_MCU_CODEC_H264] = { "H.264", "H264", "rtph264depay", { "avdec_h264", "openh264dec" },
                          "x264enc", "rtph264pay" },
};

const char *
cf_mcu_codec_name (CfMcuCodec codec)
{
  return codec < CF_MCU_N_CODECS ? codec_elements[codec].name : "?";
}

static gboolean
have (const char *factory)
{
  GstElementFactory *f = gst_element_factory_find (factory);
  if (f == NULL)
    return FALSE;
  gst_object_unref (f);
  return TRUE;
}

static const char *
decoder_of (CfMcuCodec codec)
{
  for (guint i = 0; i < G_N_ELEMENTS (codec_elements[codec].decoders); i++)
    if (codec_elements[codec].decoders[i] != NULL && have (codec_elements[codec].decoders[i]))
      return codec_elements[codec].decoders[i];
  return NULL;
}

/* Each codec and direction: 0 unknown, 1 yes, 2 no (atomics). */
static gint known[CF_MCU_N_CODECS][2];
/* cf_mcu_prepare: 0 not asked, 1 its thread runs, 2 done. */
static gint prepare_state;
static GThread *prepare_thread;

/* Checked once per codec and direction; what is missing is said once.
 * The first check initialises GStreamer: 20 ms with its registry cache,
 * 0.6-0.8 s when the cache is rebuilt (a first start, a plugin update),
 * hence cf_mcu_prepare. */
static gboolean
probe (CfMcuCodec codec, gboolean encode)
{
  gint *k = &known[codec][encode ? 1 : 0];
  gint v = g_atomic_int_get (k);
  if (v != 0)
    return v == 1;
  if (!gst_is_initialized ())
    gst_init (NULL, NULL);
  const CodecElements *ce = &codec_elements[codec];
  const char *missing = NULL;
  if (encode)
    missing = !have (ce->enc) ? ce->enc : !have (ce->pay) ? ce->pay : NULL;
  else
    missing = !have (ce->depay) ? ce->depay : decoder_of (codec) == NULL ? ce->decoders[0] : NULL;
  if (g_atomic_int_compare_and_exchange (k, 0, missing == NULL ? 1 : 2) && missing != NULL)
    g_message ("mcu: %s is not %s here (GStreamer element %s is missing: install %s)",
               ce->name, encode ? "offered to composite listeners" : "taken from senders",
               missing, package_of (missing));
  return missing == NULL;
}

gboolean
cf_mcu_codec_available (CfMcuCodec codec, gboolean encode)
{
  if (codec >= CF_MCU_N_CODECS)
    return FALSE;
  gint v = g_atomic_int_get (&known[codec][encode ? 1 : 0]);
  if (v != 0)
    return v == 1;
  /* Never wait for the preparing thread: the caller may be the
   * signalling thread or a media worker. */
  if (g_atomic_int_get (&prepare_state) == 1)
    {
      g_info ("mcu: %s not %s yet: GStreamer is still starting", codec_elements[codec].name,
              encode ? "offered to composite listeners" : "taken from senders");
      return FALSE;
    }
  return probe (codec, encode);
}

static gpointer
prepare_run (gpointer data)
{
  gint64 start = g_get_monotonic_time ();
  (void) data;
  for (guint k = 0; k < CF_MCU_N_CODECS; k++)
    for (guint e = 0; e < 2; e++)
      probe (k, e);
  g_atomic_int_set (&prepare_state, 2);
  g_info ("mcu: GStreamer ready in %" G_GINT64_FORMAT " ms on a thread of its own (H.264: "
          "decode %s, encode %s)", (g_get_monotonic_time () - start) / 1000,
          known[CF_MCU_CODEC_H264][0] == 1 ? "yes" : "no",
          known[CF_MCU_CODEC_H264][1] == 1 ? "yes" : "no");
  return NULL;
}

void
cf_mcu_prepare (void)
{
  if (g_atomic_int_compare_and_exchange (&prepare_state, 0, 1))
    prepare_thread = g_thread_new ("bf-gst-init", prepare_run, NULL);
}

void
cf_mcu_prepare_join (void)
{
  if (prepare_thread != NULL)
    g_thread_join (g_steal_pointer (&prepare_thread));
}

static gboolean
build_source (CfMcu *mcu, Source *s, GError **error)
{
  GstElement *src = make ("appsrc", error);
  GstElement *jb = src ? make ("rtpjitterbuffer", error) : NULL;
  const CodecElements *ce = &codec_elements[s->codec];
  const char *decoder = decoder_of (s->codec);
  GstElement *depay = jb ? make (ce->depay, error) : NULL;
  GstElement *dec = depay ? make (decoder != NULL ? decoder : ce->decoders[0], error) : NULL;
  GstElement *conv = dec ? make ("videoconvert", error) : NULL;
  if (conv == NULL)
    {
      drop_element (&src);
      drop_element (&jb);
      drop_element (&depay);
      drop_element (&dec);
      return FALSE;
    }
  g_autofree char *name = g_strdup_printf ("mcu-src-%u", s->id);
  GstElement *bin = gst_bin_new (name);
  g_autoptr (GstCaps) caps = gst_caps_new_simple ("application/x-rtp",
      "media", G_TYPE_STRING, "video",
      "encoding-name", G_TYPE_STRING, ce->encoding,
      "clock-rate", G_TYPE_INT, (gint) s->clock_rate,
      "payload", G_TYPE_INT, (gint) s->pt, NULL);
  g_object_set (src, "caps", caps, "is-live", TRUE, "format", GST_FORMAT_TIME,
                "do-timestamp", TRUE, "block", FALSE,
                "max-buffers", (guint64) mcu->cfg.max_queue_packets,
                "max-bytes", (guint64) mcu->cfg.max_queue_packets * MAX_RTP, NULL);
  gst_util_set_object_arg (G_OBJECT (src), "leaky-type", "downstream");
  g_object_set (jb, "latency", mcu->cfg.jitter_latency_ms, "drop-on-latency", TRUE, NULL);
  g_object_set (depay, "wait-for-keyframe", TRUE, "request-keyframe", TRUE, NULL);
  /* A broken frame is dropped, never the end of the branch (max-errors is
   * GstVideoDecoder's, every decoder here has it); one decoding thread
   * each: the sources are many, the cores two. */
  g_object_set (dec, "max-errors", -1, NULL);
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (dec), "threads") != NULL)
    g_object_set (dec, "threads", 1, NULL);
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (dec), "max-threads") != NULL)
    g_object_set (dec, "max-threads", 1, NULL);
  gst_bin_add_many (GST_BIN (bin), src, jb, depay, dec, conv, NULL);
  if (!gst_element_link_many (src, jb, depay, dec, conv, NULL))
    {
      gst_object_unref (gst_object_ref_sink (bin));
      g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_PIPELINE, "source %u: cannot link", s->id);
      return FALSE;
    }
  GstPad *conv_src = gst_element_get_static_pad (conv, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", conv_src));
  gst_object_unref (conv_src);
  GstPad *src_pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (src_pad, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, s, NULL);
  gst_object_unref (src_pad);
  /* Each element is marked, not only the bin: an error message keeps its
   * element alive after the bin is gone (see source_of). */
  GstElement *branch[] = { src, jb, depay, dec, conv };
  for (guint i = 0; i < G_N_ELEMENTS (branch); i++)
    {
      s->elements[i] = branch[i];
      g_object_set_data (G_OBJECT (branch[i]), "cf-mcu-source", s);
    }
  g_object_set_data (G_OBJECT (bin), "cf-mcu-source", s);

  gst_bin_add (GST_BIN (mcu->pipeline), bin);
  s->comp_pad = gst_element_request_pad_simple (mcu->comp, "sink_%u");
  GstPad *ghost = gst_element_get_static_pad (bin, "src");
  GstPadLinkReturn lr = gst_pad_link (ghost, s->comp_pad);
  gst_object_unref (ghost);
  if (lr != GST_PAD_LINK_OK)
    {
      gst_element_release_request_pad (mcu->comp, s->comp_pad);
      g_clear_object (&s->comp_pad);
      gst_bin_remove (GST_BIN (mcu->pipeline), bin);
      g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_PIPELINE, "source %u: cannot link to the compositor", s->id);
      return FALSE;
    }
  s->bin = bin;
  g_ptr_array_add (mcu->live, s);
  relayout (mcu);
  gst_element_sync_state_with_parent (bin);
  g_mutex_lock (&mcu->lock);
  s->appsrc = gst_object_ref (src);
  g_mutex_unlock (&mcu->lock);
  return TRUE;
}

/* Control thread: take a source's branch out of the pipeline and free it
 * (its table entry is gone already). */
static void
teardown_source (CfMcu *mcu, Source *s)
{
  g_mutex_lock (&mcu->lock);
  GstElement *src = g_steal_pointer (&s->appsrc);
  g_mutex_unlock (&mcu->lock);
  if (s->bin != NULL)
    {
      g_ptr_array_remove (mcu->live, s);
      /* The pad first: releasing it flushes the compositor's queue, so a
       * streaming thread waiting there returns before the branch stops. */
      gst_element_release_request_pad (mcu->comp, s->comp_pad);
      g_clear_object (&s->comp_pad);
      gst_element_set_locked_state (s->bin, TRUE);
      gst_element_set_state (s->bin, GST_STATE_NULL);
      /* Messages its elements posted on the way out name a gone branch. */
      for (guint i = 0; i < G_N_ELEMENTS (s->elements); i++)
        g_object_set_data (G_OBJECT (s->elements[i]), "cf-mcu-source", (gpointer) &gone_branch);
      g_object_set_data (G_OBJECT (s->bin), "cf-mcu-source", (gpointer) &gone_branch);
      gst_bin_remove (GST_BIN (mcu->pipeline), s->bin);
      s->bin = NULL;
      relayout (mcu);
    }
  g_clear_object (&src);
  g_free (s);
}

static void
set_playing (CfMcu *mcu, gboolean on)
{
  if (mcu->fatal)
    return;
  if (on)
    {
      gst_element_set_state (mcu->pipeline, GST_STATE_PLAYING);
      STAT_INC (resumes);
      g_atomic_int_set (&mcu->playing, 1);
      keyframe_request (mcu);   /* listeners may have lost the stream while paused */
    }
  else
    {
      /* Counted before `playing` reads 0: a reader that sees it paused
       * sees the pause counted (the state change may take a while). */
      STAT_INC (pauses);
      g_atomic_int_set (&mcu->playing, 0);
      gst_element_set_state (mcu->pipeline, GST_STATE_PAUSED);
    }
}

static gboolean
run_job (gpointer data)
{
  Job *job = data;
  CfMcu *mcu = job->mcu;
  switch (job->kind)
    {
    case JOB_ADD:
      {
        g_autoptr (GError) error = NULL;
        if (!build_source (mcu, job->source, &error))
          {
            g_warning ("mcu: source %u not added: %s", job->id, error->message);
            g_mutex_lock (&mcu->lock);
            gboolean mine = g_hash_table_lookup (mcu->sources, GUINT_TO_POINTER (job->id)) == job->source;
            if (mine)
              g_hash_table_steal (mcu->sources, GUINT_TO_POINTER (job->id));
            g_mutex_unlock (&mcu->lock);
            /* Out of the table already: the owner removed it, and its
             * remove job (posted after this one) frees it. */
            if (mine)
              g_free (job->source);
            STAT_INC (sources_failed);
          }
        break;
      }
    case JOB_REMOVE:
      teardown_source (mcu, job->source);
      break;
    case JOB_SPEAKER:
      if (mcu->speaker != job->id)
        {
          mcu->speaker = job->id;
          relayout (mcu);
        }
      break;
    case JOB_KEYFRAME:
      keyframe_request (mcu);
      break;
    case JOB_RESUME:
      if (!g_atomic_int_get (&mcu->playing))
        set_playing (mcu, TRUE);
      g_atomic_int_set (&mcu->wake_pending, 0);
      break;
    case JOB_FAIL:
      {
        GstElement *where = NULL;
        for (guint c = 0; job->id == 0 && where == NULL && c < CF_MCU_N_CODECS; c++)
          where = mcu->outputs[c].enc;
        for (guint i = 0; where == NULL && i < mcu->live->len; i++)
          if (((Source *) mcu->live->pdata[i])->id == job->id)
            where = ((Source *) mcu->live->pdata[i])->elements[3];   /* its decoder */
        if (where != NULL)
          GST_ELEMENT_ERROR (where, STREAM, DECODE, ("injected by a test"), (NULL));
        break;
      }
    }
  return G_SOURCE_REMOVE;
}

/* The bus (control thread).  An element of a source's branch is marked
 * with its Source (or gone_branch once taken out: its late errors are
 * ignored); the output branch's elements with output_branch: an error
 * there is fatal. */
static Source *
source_of (CfMcu *mcu, GstObject *obj, gboolean *gone)
{
  *gone = FALSE;
  for (GstObject *o = obj; o != NULL; o = GST_OBJECT_PARENT (o))
    {
      gpointer mark = g_object_get_data (G_OBJECT (o), "cf-mcu-source");
      if (mark == &gone_branch)
        {
          *gone = TRUE;
          return NULL;
        }
      if (mark != NULL)
        return g_ptr_array_find (mcu->live, mark, NULL) ? mark : NULL;
      if (GST_IS_PIPELINE (o))
        break;
    }
  return NULL;
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  CfMcu *mcu = data;
  (void) bus;
  switch (GST_MESSAGE_TYPE (msg))
    {
    case GST_MESSAGE_LATENCY:
      /* A source added while playing brings its jitter buffer's latency. */
      gst_bin_recalculate_latency (GST_BIN (mcu->pipeline));
      break;
    case GST_MESSAGE_ERROR:
      {
        g_autoptr (GError) err = NULL;
        gst_message_parse_error (msg, &err, NULL);
        gboolean gone;
        Source *s = source_of (mcu, GST_MESSAGE_SRC (msg), &gone);
        if (s != NULL)
          {
            guint id = s->id;
            g_warning ("mcu: source %u failed (%s); removed from the layout", id, err->message);
            g_mutex_lock (&mcu->lock);
            if (g_hash_table_lookup (mcu->sources, GUINT_TO_POINTER (id)) == s)
              g_hash_table_steal (mcu->sources, GUINT_TO_POINTER (id));
            else
              s = NULL;   /* the owner removed it: its remove job frees it */
            g_mutex_unlock (&mcu->lock);
            if (s != NULL)
              {
                teardown_source (mcu, s);
                STAT_INC (sources_failed);
                if (mcu->events.source_failed != NULL)
                  mcu->events.source_failed (id, mcu->user_data);
              }
          }
        else if (gone)
          {
            /* A branch already taken out (its pad released first). */
          }
        else if (g_object_get_data (G_OBJECT (GST_MESSAGE_SRC (msg)), "cf-mcu-output") == NULL
                 && !GST_IS_PIPELINE (GST_MESSAGE_SRC (msg)))
          {
            g_debug ("mcu: error from an element of no branch: %s", err->message);
          }
        else if (!mcu->fatal)
          {
            g_warning ("mcu: pipeline failed (%s); the layout stops", err->message);
            mcu->fatal = TRUE;
            g_atomic_int_set (&mcu->playing, 0);
            gst_element_set_state (mcu->pipeline, GST_STATE_NULL);
            if (mcu->events.fatal != NULL)
              mcu->events.fatal (err, mcu->user_data);
          }
        break;
      }
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

/* Nothing pushed for idle_timeout: pause, so nothing is composed or
 * encoded (a live compositor would otherwise repeat the last frames). */
static gboolean
on_idle_check (gpointer data)
{
  CfMcu *mcu = data;
  gint64 idle = g_get_monotonic_time () - __atomic_load_n (&mcu->last_push, __ATOMIC_RELAXED);
  if (g_atomic_int_get (&mcu->playing) && idle > (gint64) mcu->cfg.idle_timeout_ms * 1000)
    set_playing (mcu, FALSE);
  return G_SOURCE_CONTINUE;
}

static gpointer
control_thread (gpointer data)
{
  CfMcu *mcu = data;
  g_main_context_push_thread_default (mcu->ctx);
  g_main_loop_run (mcu->loop);
  g_main_context_pop_thread_default (mcu->ctx);
  return NULL;
}

/* ---- output -------------------------------------------------------- */

static void
emit_packets (Output *o, GBytes **pkts, guint n)
{
  CfMcu *mcu = o->mcu;
  if (n == 0)
    return;
  guint frames = 0;
  for (guint i = 0; i < n; i++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (pkts[i], &len);
      if (len >= 2 && (p[1] & 0x80))
        frames++;
    }
  STAT_ADD (packets_out, n);
  STAT_ADD (frames_out, frames);
  STAT_ADD (frames_out_codec[o->codec], frames);
  if (mcu->out != NULL)
    {
      mcu->out (o->codec, (GBytes *const *) pkts, n, mcu->user_data);
      for (guint i = 0; i < n; i++)
        g_bytes_unref (pkts[i]);
      return;
    }
  g_mutex_lock (&mcu->out_lock);
  for (guint i = 0; i < n; i++)
    {
      g_queue_push_tail (&o->queue, pkts[i]);
      if (o->queue.length > mcu->cfg.max_out_queue)
        {
          g_bytes_unref (g_queue_pop_head (&o->queue));
          STAT_INC (out_dropped);
        }
    }
  g_mutex_unlock (&mcu->out_lock);
}

static GBytes *
bytes_of (GstBuffer *buf)
{
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return NULL;
  GBytes *b = g_bytes_new (map.data, map.size);
  gst_buffer_unmap (buf, &map);
  return b;
}

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer data)
{
  Output *o = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (sample == NULL)
    return GST_FLOW_OK;
  GBytes *pkts[64];
  guint n = 0;
  GstBufferList *list = gst_sample_get_buffer_list (sample);
  if (list != NULL)
    {
      guint len = gst_buffer_list_length (list);
      for (guint i = 0; i < len; i++)
        {
          GBytes *b = bytes_of (gst_buffer_list_get (list, i));
          if (b != NULL)
            pkts[n++] = b;
          if (n == G_N_ELEMENTS (pkts))
            {
              emit_packets (o, pkts, n);
              n = 0;
            }
        }
    }
  else if (gst_sample_get_buffer (sample) != NULL)
    {
      GBytes *b = bytes_of (gst_sample_get_buffer (sample));
      if (b != NULL)
        pkts[n++] = b;
    }
  emit_packets (o, pkts, n);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* ---- the API ------------------------------------------------------- */

static gboolean
check_config (const CfMcuConfig *c, GError **error)
{
  if (c->codecs == 0 || c->codecs >= CF_MCU_CODEC_BIT (CF_MCU_N_CODECS))
    {
      g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_CODEC, "MCU codecs 0x%x: none, or unknown",
                   c->codecs);
      return FALSE;
    }
  for (guint k = 0; k < CF_MCU_N_CODECS; k++)
    if ((c->codecs & CF_MCU_CODEC_BIT (k)) && !cf_mcu_codec_available (k, TRUE))
      {
        g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_CODEC,
                     "%s cannot be encoded here (%s or %s is missing)", codec_elements[k].name,
                     codec_elements[k].enc, codec_elements[k].pay);
        return FALSE;
      }
  if (c->width < 64 || c->width > 1920 || c->height < 64
      || c->height > 1080 || (c->width | c->height) & 1 || c->fps < 1 || c->fps > 60
      || c->bitrate_kbps < 50 || c->bitrate_kbps > 8000 || c->payload_type > 127)
    {
      g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_CONFIG,
                   "MCU layout %ux%u at %u fps, %u kb/s, payload type %u is out of range",
                   c->width, c->height, c->fps, c->bitrate_kbps, c->payload_type);
      return FALSE;
    }
  return TRUE;
}

/* Sets the encoder of @codec to real time: no look-ahead, CBR at the
 * layout's rate, a keyframe at least every keyframe_max_frames, one thread. */
static void
configure_encoder (const CfMcuConfig *c, CfMcuCodec codec, GstElement *enc, GstElement *pay)
{
  if (codec == CF_MCU_CODEC_VP8)
    {
      /* The fastest deadline, a high cpu-used, error resilient (a listener
       * that lost a packet recovers sooner). */
      g_object_set (enc, "deadline", (gint64) 1, "cpu-used", 8,
                    "target-bitrate", (gint) (c->bitrate_kbps * 1000), "lag-in-frames", 0,
                    "keyframe-max-dist", (gint) c->keyframe_max_frames, "threads", 1, NULL);
      gst_util_set_object_arg (G_OBJECT (enc), "end-usage", "cbr");
      gst_util_set_object_arg (G_OBJECT (enc), "error-resilient", "default");
      gst_util_set_object_arg (G_OBJECT (pay), "picture-id-mode", "15-bit");
    }
  else
    {
      /* zerolatency: no B-frames, no look-ahead, no frame threads. */
      gst_util_set_object_arg (G_OBJECT (enc), "tune", "zerolatency");
      gst_util_set_object_arg (G_OBJECT (enc), "speed-preset", "ultrafast");
      gst_util_set_object_arg (G_OBJECT (enc), "pass", "cbr");
      g_object_set (enc, "bitrate", c->bitrate_kbps, "key-int-max", c->keyframe_max_frames,
                    "threads", 1u, "bframes", 0u, NULL);
      /* SPS and PPS before every IDR: a listener that joins (or lost
       * them) decodes from the next keyframe on, as with VP8. */
      g_object_set (pay, "config-interval", -1, NULL);
    }
  g_object_set (pay, "pt", (guint) c->payload_type, "mtu", 1200u, NULL);
}

/* tee → valve → encoder [→ profile caps] → payloader → appsink.  No queue:
 * the encoders run one after the other on the compositor's thread, so
 * while the pipeline is PAUSED the appsinks' preroll blocks that thread
 * and nothing is composited (a queue let the compositor go on composing
 * frames the queue dropped: 15-25x the paused CPU of /conference-mcu/idle). */
static gboolean
build_encoder (CfMcu *mcu, GstElement *tee, Output *o, GError **error)
{
  const CodecElements *ce = &codec_elements[o->codec];
  o->valve = make ("valve", error);
  o->enc = o->valve ? make (ce->enc, error) : NULL;
  GstElement *profile = o->enc ? make ("capsfilter", error) : NULL;
  GstElement *pay = profile ? make (ce->pay, error) : NULL;
  o->sink = pay ? make ("appsink", error) : NULL;
  if (o->sink == NULL)
    {
      drop_element (&o->valve);
      drop_element (&o->enc);
      drop_element (&profile);
      drop_element (&pay);
      return FALSE;
    }
  /* Closed, it still passes caps and segment: the encoder is ready when
   * it opens. */
  gst_util_set_object_arg (G_OBJECT (o->valve), "drop-mode", "forward-sticky-events");
  g_object_set (o->valve, "drop", !g_atomic_int_get (&o->active), NULL);
  configure_encoder (&mcu->cfg, o->codec, o->enc, pay);
  if (o->codec == CF_MCU_CODEC_H264)
    {
      /* What Chromium and Conversations offer (profile-level-id 42e01f):
       * constrained baseline decodes everywhere. */
      g_autoptr (GstCaps) caps = gst_caps_from_string ("video/x-h264,profile=constrained-baseline");
      g_object_set (profile, "caps", caps, NULL);
    }
  g_object_set (o->sink, "sync", FALSE, "async", FALSE, "buffer-list", TRUE,
                "max-buffers", 64u, "drop", TRUE, NULL);
  GstAppSinkCallbacks cbs = { .new_sample = on_new_sample };
  gst_app_sink_set_callbacks (GST_APP_SINK (o->sink), &cbs, o, NULL);
  GstElement *branch[] = { o->valve, o->enc, profile, pay, o->sink };
  for (guint i = 0; i < G_N_ELEMENTS (branch); i++)
    {
      g_object_set_data (G_OBJECT (branch[i]), "cf-mcu-output", mcu);
      gst_bin_add (GST_BIN (mcu->pipeline), branch[i]);
    }
  if (!gst_element_link_many (tee, o->valve, o->enc, profile, pay, o->sink, NULL))
    {
      g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_PIPELINE, "cannot link the MCU's %s encoder",
                   ce->name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
build_output (CfMcu *mcu, GError **error)
{
  mcu->pipeline = gst_object_ref_sink (gst_pipeline_new ("bf-mcu"));
  mcu->comp = make ("compositor", error);
  GstElement *filter = mcu->comp ? make ("capsfilter", error) : NULL;
  GstElement *tee = filter ? make ("tee", error) : NULL;
  if (tee == NULL)
    {
      drop_element (&mcu->comp);
      drop_element (&filter);
      return FALSE;
    }
  const CfMcuConfig *c = &mcu->cfg;
  gst_util_set_object_arg (G_OBJECT (mcu->comp), "background", "black");
  gst_util_set_object_arg (G_OBJECT (mcu->comp), "start-time-selection", "first");
  g_object_set (mcu->comp, "ignore-inactive-pads", TRUE,
                "min-upstream-latency", (guint64) (c->jitter_latency_ms + 50) * GST_MSECOND, NULL);
  g_autoptr (GstCaps) caps = gst_caps_new_simple ("video/x-raw",
      "format", G_TYPE_STRING, "I420",
      "width", G_TYPE_INT, (gint) c->width, "height", G_TYPE_INT, (gint) c->height,
      "framerate", GST_TYPE_FRACTION, (gint) c->fps, 1,
      "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  g_object_set (filter, "caps", caps, NULL);
  /* Frames go on while every encoder's valve is closed (no listener). */
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  GstElement *output[] = { mcu->comp, filter, tee };
  for (guint i = 0; i < G_N_ELEMENTS (output); i++)
    g_object_set_data (G_OBJECT (output[i]), "cf-mcu-output", mcu);
  gst_bin_add_many (GST_BIN (mcu->pipeline), mcu->comp, filter, tee, NULL);
  if (!gst_element_link_many (mcu->comp, filter, tee, NULL))
    {
      g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_PIPELINE, "cannot link the MCU's output branch");
      return FALSE;
    }
  for (guint k = 0; k < CF_MCU_N_CODECS; k++)
    if ((c->codecs & CF_MCU_CODEC_BIT (k)) && !build_encoder (mcu, tee, &mcu->outputs[k], error))
      return FALSE;
  if (gst_element_set_state (mcu->pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, CF_MCU_ERROR, CF_MCU_ERROR_PIPELINE, "the MCU pipeline would not start");
      return FALSE;
    }
  return TRUE;
}

CfMcu *
cf_mcu_new (const CfMcuConfig *cfg, CfMcuOutput out, const CfMcuEvents *events,
            gpointer user_data, GError **error)
{
  if (!check_config (cfg, error))
    return NULL;
  if (!gst_is_initialized ())
    gst_init (NULL, NULL);
  CfMcu *mcu = g_new0 (CfMcu, 1);
  mcu->cfg = *cfg;
  CfMcuConfig *c = &mcu->cfg;
  if (c->keyframe_max_frames == 0)
    c->keyframe_max_frames = 10 * c->fps;
  if (c->jitter_latency_ms == 0)
    c->jitter_latency_ms = 50;
  if (c->max_queue_packets == 0)
    c->max_queue_packets = 256;
  if (c->idle_timeout_ms == 0)
    c->idle_timeout_ms = 1000;
  if (c->keyframe_min_interval_ms == 0)
    c->keyframe_min_interval_ms = 300;
  if (c->max_out_queue == 0)
    c->max_out_queue = 1024;
  mcu->out = out;
  if (events != NULL)
    mcu->events = *events;
  mcu->user_data = user_data;
  g_mutex_init (&mcu->lock);
  g_mutex_init (&mcu->out_lock);
  for (guint k = 0; k < CF_MCU_N_CODECS; k++)
    {
      mcu->outputs[k].mcu = mcu;
      mcu->outputs[k].codec = k;
      mcu->outputs[k].active = (c->codecs & CF_MCU_CODEC_BIT (k)) != 0;
      g_queue_init (&mcu->outputs[k].queue);
    }
  mcu->sources = g_hash_table_new (NULL, NULL);
  mcu->live = g_ptr_array_new ();
  mcu->ctx = g_main_context_new ();
  mcu->loop = g_main_loop_new (mcu->ctx, FALSE);

  if (!build_output (mcu, error))
    {
      if (mcu->pipeline != NULL)
        {
          gst_element_set_state (mcu->pipeline, GST_STATE_NULL);
          gst_object_unref (mcu->pipeline);
        }
      g_main_loop_unref (mcu->loop);
      g_main_context_unref (mcu->ctx);
      g_ptr_array_unref (mcu->live);
      g_hash_table_unref (mcu->sources);
      g_mutex_clear (&mcu->lock);
      g_mutex_clear (&mcu->out_lock);
      g_free (mcu);
      return NULL;
    }
  GstBus *bus = gst_element_get_bus (mcu->pipeline);
  mcu->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (mcu->bus_source, (GSourceFunc) (void (*) (void)) on_bus, mcu, NULL);
  g_source_attach (mcu->bus_source, mcu->ctx);
  gst_object_unref (bus);
  mcu->idle_source = g_timeout_source_new (MAX (c->idle_timeout_ms / 4, 10u));
  g_source_set_callback (mcu->idle_source, on_idle_check, mcu, NULL);
  g_source_attach (mcu->idle_source, mcu->ctx);
  mcu->thread = g_thread_new ("bf-mcu", control_thread, mcu);
  return mcu;
}

static gboolean
quit_job (gpointer data)
{
  CfMcu *mcu = data;
  g_assert (mcu->live->len == 0);   /* cf_mcu_free posted their removal */
  gst_element_set_state (mcu->pipeline, GST_STATE_NULL);
  g_main_loop_quit (mcu->loop);
  return G_SOURCE_REMOVE;
}

void
cf_mcu_free (CfMcu *mcu)
{
  if (mcu == NULL)
    return;
  /* Sources the owner did not remove: removed as the owner would, then
   * the thread quits after every job posted before. */
  g_mutex_lock (&mcu->lock);
  g_autoptr (GPtrArray) left = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, mcu->sources);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (left, value);
  g_hash_table_steal_all (mcu->sources);
  g_mutex_unlock (&mcu->lock);
  for (guint i = 0; i < left->len; i++)
    post (mcu, JOB_REMOVE, ((Source *) left->pdata[i])->id, left->pdata[i]);
  g_main_context_invoke (mcu->ctx, quit_job, mcu);
  g_thread_join (mcu->thread);
  g_source_destroy (mcu->bus_source);
  g_source_unref (mcu->bus_source);
  g_source_destroy (mcu->idle_source);
  g_source_unref (mcu->idle_source);
  if (mcu->keyframe_timer != NULL)
    {
      g_source_destroy (mcu->keyframe_timer);
      g_source_unref (mcu->keyframe_timer);
    }
  gst_object_unref (mcu->pipeline);
  g_main_loop_unref (mcu->loop);
  g_main_context_unref (mcu->ctx);
  g_ptr_array_unref (mcu->live);
  g_hash_table_unref (mcu->sources);
  for (guint k = 0; k < CF_MCU_N_CODECS; k++)
    g_queue_clear_full (&mcu->outputs[k].queue, (GDestroyNotify) g_bytes_unref);
  g_mutex_clear (&mcu->lock);
  g_mutex_clear (&mcu->out_lock);
  g_free (mcu);
}

gboolean
cf_mcu_add_source (CfMcu *mcu, guint id, CfMcuCodec codec, guint8 payload_type,
                   guint clock_rate)
{
  g_return_val_if_fail (mcu != NULL, FALSE);
  if (id == 0 || codec >= CF_MCU_N_CODECS || payload_type > 127 || clock_rate == 0
      || !cf_mcu_codec_available (codec, FALSE))
    return FALSE;
  g_mutex_lock (&mcu->lock);
  gboolean ok = !g_hash_table_contains (mcu->sources, GUINT_TO_POINTER (id))
                && g_hash_table_size (mcu->sources) < CF_MCU_MAX_SOURCES;
  Source *s = NULL;
  if (ok)
    {
      s = g_new0 (Source, 1);
      s->id = id;
      s->codec = codec;
      s->pt = payload_type;
      s->clock_rate = clock_rate;
      s->order = mcu->next_order++;
      s->mcu = mcu;
      g_hash_table_insert (mcu->sources, GUINT_TO_POINTER (id), s);
    }
  g_mutex_unlock (&mcu->lock);
  if (ok)
    post (mcu, JOB_ADD, id, s);
  return ok;
}

gboolean
cf_mcu_remove_source (CfMcu *mcu, guint id)
{
  g_return_val_if_fail (mcu != NULL, FALSE);
  g_mutex_lock (&mcu->lock);
  Source *s = g_hash_table_lookup (mcu->sources, GUINT_TO_POINTER (id));
  if (s != NULL)
    g_hash_table_steal (mcu->sources, GUINT_TO_POINTER (id));
  g_mutex_unlock (&mcu->lock);
  if (s != NULL)
    post (mcu, JOB_REMOVE, id, s);
  return s != NULL;
}

gboolean
cf_mcu_push_rtp (CfMcu *mcu, guint id, const guint8 *rtp, gsize len)
{
  if (rtp == NULL || len < 12 || len > MAX_RTP || (rtp[0] >> 6) != 2)
    {
      STAT_INC (dropped_invalid);
      return FALSE;
    }
  gboolean full = FALSE, pushed = FALSE;
  g_mutex_lock (&mcu->lock);
  Source *s = g_hash_table_lookup (mcu->sources, GUINT_TO_POINTER (id));
  if (s != NULL && s->appsrc != NULL)
    {
      GstAppSrc *src = GST_APP_SRC (s->appsrc);
      if (gst_app_src_get_current_level_buffers (src) >= mcu->cfg.max_queue_packets)
        full = TRUE;
      else
        pushed = gst_app_src_push_buffer (src, gst_buffer_new_memdup (rtp, len)) == GST_FLOW_OK;
    }
  g_mutex_unlock (&mcu->lock);
  if (full)
    {
      STAT_INC (dropped_full);
      return FALSE;
    }
  if (!pushed)
    {
      STAT_INC (dropped_unknown);
      return FALSE;
    }
  STAT_INC (pushed);
  __atomic_store_n (&mcu->last_push, g_get_monotonic_time (), __ATOMIC_RELAXED);
  if (!g_atomic_int_get (&mcu->playing)
      && g_atomic_int_compare_and_exchange (&mcu->wake_pending, 0, 1))
    post (mcu, JOB_RESUME, 0, NULL);
  return TRUE;
}

void
cf_mcu_set_speaker (CfMcu *mcu, guint id)
{
  g_return_if_fail (mcu != NULL);
  if (id == mcu->owner_speaker)
    return;                     /* the room may say it every tick: no job */
  mcu->owner_speaker = id;
  post (mcu, JOB_SPEAKER, id, NULL);
}

void
cf_mcu_request_keyframe (CfMcu *mcu)
{
  g_return_if_fail (mcu != NULL);
  STAT_INC (keyframes_requested);
  post (mcu, JOB_KEYFRAME, 0, NULL);
}

void
cf_mcu_set_codec_active (CfMcu *mcu, CfMcuCodec codec, gboolean active)
{
  g_return_if_fail (mcu != NULL);
  if (codec >= CF_MCU_N_CODECS || mcu->outputs[codec].valve == NULL)
    return;
  Output *o = &mcu->outputs[codec];
  if (g_atomic_int_get (&o->active) == !!active)
    return;
  g_atomic_int_set (&o->active, !!active);
  /* valve's drop is atomic on its side: set from any thread. */
  g_object_set (o->valve, "drop", !active, NULL);
}

guint
cf_mcu_pull_packets (CfMcu *mcu, CfMcuCodec codec, GPtrArray *into)
{
  guint n = 0;
  if (codec >= CF_MCU_N_CODECS)
    return 0;
  g_mutex_lock (&mcu->out_lock);
  GBytes *b;
  while ((b = g_queue_pop_head (&mcu->outputs[codec].queue)) != NULL)
    {
      g_ptr_array_add (into, b);
      n++;
    }
  g_mutex_unlock (&mcu->out_lock);
  return n;
}

gboolean
cf_mcu_get_tile (CfMcu *mcu, guint id, guint *x, guint *y, guint *w, guint *h)
{
  g_mutex_lock (&mcu->lock);
  Source *s = g_hash_table_lookup (mcu->sources, GUINT_TO_POINTER (id));
  gboolean ok = s != NULL && s->w > 0;
  if (ok)
    *x = (guint) s->x, *y = (guint) s->y, *w = (guint) s->w, *h = (guint) s->h;
  g_mutex_unlock (&mcu->lock);
  return ok;
}

void
cf_mcu_get_stats (CfMcu *mcu, CfMcuStats *st)
{
  guint64 *dst = (guint64 *) st;
  const guint64 *src = (const guint64 *) &mcu->stats;
  for (gsize i = 0; i < G_STRUCT_OFFSET (CfMcuStats, playing) / sizeof (guint64); i++)
    dst[i] = __atomic_load_n (&src[i], __ATOMIC_RELAXED);
  st->playing = g_atomic_int_get (&mcu->playing);
}

void
cf_mcu_inject_source_error (CfMcu *mcu, guint id)
{
  post (mcu, JOB_FAIL, id, NULL);
}
