/* A receiver's bandwidth estimate and simulcast layer
 * (modules/conference/bandwidth.c): REMB taken as is; the transport-cc
 * estimator on simulated feedback (a flat delay grows it, a growing delay
 * or heavy loss cuts it, moderate loss holds it); the layer that fits the
 * estimate and the displayed size, down at once, up after a hold, no
 * flapping on an estimate that swings around a layer's bitrate. */
#include <string.h>
#include <glib.h>

#include "bandwidth.h"

#define MS 1000
#define KBPS 1000

static CfBandwidth bwe;

static void
test_remb (void)
{
  cf_bandwidth_init (&bwe, CF_BWE_REMB, 300 * KBPS, 50 * KBPS, 5000 * KBPS);
  g_assert_cmpuint (bwe.estimate_bps, ==, 300 * KBPS);
  cf_bandwidth_remb (&bwe, 2000 * KBPS);
  g_assert_cmpuint (bwe.estimate_bps, ==, 2000 * KBPS);
  cf_bandwidth_remb (&bwe, G_MAXUINT64);
  g_assert_cmpuint (bwe.estimate_bps, ==, 5000 * KBPS);
  cf_bandwidth_remb (&bwe, 0);
  g_assert_cmpuint (bwe.estimate_bps, ==, 50 * KBPS);
  /* transport-cc feedback does not move a REMB receiver's estimate. */
  CfTwccArrival a = { 0, TRUE, 0 };
  cf_bandwidth_sent (&bwe, 0, 1200, 0);
  cf_bandwidth_feedback (&bwe, &a, 1, 100 * MS);
  g_assert_cmpuint (bwe.estimate_bps, ==, 50 * KBPS);
}

/* Simulates @seconds of 1200-byte packets every 10 ms (960 kbit/s), with
 * feedback every 100 ms; each packet's one-way delay is 20 ms plus
 * @delay_growth µs per µs of time, and every @lose_every-th (0: none) lost. */
static void
run (gint64 *t, guint16 *seq, double seconds, double delay_growth, guint lose_every)
{
  gint64 end = *t + (gint64) (seconds * G_USEC_PER_SEC);
  gint64 start = *t;
  CfTwccArrival fb[16];
  guint n = 0;

  while (*t < end)
    {
      cf_bandwidth_sent (&bwe, *seq, 1200, *t);
      fb[n].seq = *seq;
      fb[n].received = lose_every == 0 || *seq % lose_every != 0;
      fb[n].arrival_us = *t + 20 * MS + (gint64) ((double) (*t - start) * delay_growth);
      n++;
      (*seq)++;
      *t += 10 * MS;
      if (n == 10)
        {
          cf_bandwidth_feedback (&bwe, fb, n, *t + 20 * MS);
          n = 0;
        }
    }
}

static void
test_transport_cc_grows_on_flat_delay (void)
{
  gint64 t = 1;
  guint16 seq = 65000;     /* across the wrap */

  cf_bandwidth_init (&bwe, CF_BWE_TRANSPORT_CC, 500 * KBPS, 50 * KBPS, 10000 * KBPS);
  run (&t, &seq, 5.0, 0, 0);
  /* About 8 %/s for 5 s: ~1.49x. */
  g_assert_cmpuint (bwe.estimate_bps, >, 700 * KBPS);
  g_assert_cmpuint (bwe.estimate_bps, <, 800 * KBPS);
  g_assert_false (bwe.overuse);
  g_assert_cmpfloat (bwe.loss, ==, 0);
  /* The acknowledged rate: 960 kbit/s. */
  g_assert_cmpuint (bwe.acked_bps, >, 900 * KBPS);
  g_assert_cmpuint (bwe.acked_bps, <, 1000 * KBPS);
}

static void
test_transport_cc_cuts_on_delay_growth (void)
{
  gint64 t = 1;
  guint16 seq = 0;

  cf_bandwidth_init (&bwe, CF_BWE_TRANSPORT_CC, 2000 * KBPS, 50 * KBPS, 10000 * KBPS);
  run (&t, &seq, 1.0, 0, 0);
  guint64 before = bwe.estimate_bps;
  /* Queue growing by 100 ms per second: overuse, cut to 85 % of what arrives. */
  run (&t, &seq, 0.5, 0.1, 0);
  g_assert_true (bwe.overuse || bwe.decreased);
  g_assert_cmpuint (bwe.estimate_bps, <, before);
  g_assert_cmpuint (bwe.estimate_bps, <=, 960 * KBPS * 85 / 100 + 10 * KBPS);
  /* The queue steady again: grows back, slowly. */
  guint64 low = bwe.estimate_bps;
  run (&t, &seq, 2.0, 0, 0);
  g_assert_false (bwe.overuse);
  g_assert_cmpuint (bwe.estimate_bps, >, low);
  g_assert_cmpuint (bwe.estimate_bps, <, low * 125 / 100);
}

static void
test_transport_cc_loss (void)
{
  gint64 t = 1;
  guint16 seq = 0;

  cf_bandwidth_init (&bwe, CF_BWE_TRANSPORT_CC, 1000 * KBPS, 50 * KBPS, 10000 * KBPS);
  /* 5 % loss: between the thresholds, the estimate holds. */
  run (&t, &seq, 2.0, 0, 20);
  g_assert_cmpfloat (bwe.loss, >, 0.04);
  g_assert_cmpuint (bwe.estimate_bps, ==, 1000 * KBPS);
  /* 25 % loss: cut by half the loss, at most once per 300 ms. */
  run (&t, &seq, 1.0, 0, 4);
  g_assert_cmpfloat (bwe.loss, >, 0.2);
  g_assert_cmpuint (bwe.estimate_bps, <, 1000 * KBPS * 875 / 1000 * 875 / 1000 + 1);
  g_assert_cmpuint (bwe.estimate_bps, >, 1000 * KBPS * 875 / 1000 * 875 / 1000 * 875 / 1000 * 875 / 1000 - 1);
  /* Feedback for packets never sent (or another receiver's) changes nothing. */
  CfBandwidth copy = bwe;
  CfTwccArrival stray[3] = { { 40000, FALSE, 0 }, { 40001, FALSE, 0 }, { 40002, TRUE, 5 } };
  cf_bandwidth_feedback (&bwe, stray, 3, t);
  g_assert_cmpuint (bwe.loss_total, ==, copy.loss_total);
  g_assert_cmpuint (bwe.n_window, ==, copy.n_window);
}

static const CfLayer layers[3] = {
  { 150 * KBPS, 320, 180, TRUE },
  { 500 * KBPS, 640, 360, TRUE },
  { 1500 * KBPS, 1280, 720, TRUE },
};

static void
test_layer_fit_and_size (void)
{
  CfLayerChoice c;
  gint64 t = 1;

  cf_layer_choice_init (&c);
  /* The first choice is immediate. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 1280, 720, t), ==, 2);
  /* Shown small: the layer that covers the size, at once. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 320, 180, t += 100 * MS), ==, 0);
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 200, 100, t += 100 * MS), ==, 0);
  /* Enlarged with an estimate that has fit for long: up at once. */
  t += 3 * G_USEC_PER_SEC;
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 600, 340, t), ==, 1);
  /* Between two sizes: the larger layer. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 700, 400, t += 100 * MS), ==, 2);
  /* Larger than any layer: the largest. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 1920, 1080, t += 100 * MS), ==, 2);
  /* Not displayed: nothing. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 0, 0, t += 100 * MS), ==, -1);
}

/* The size caps and the estimate caps: the highest layer under both. */
static void
test_layer_size_and_estimate (void)
{
  CfLayerChoice c;
  gint64 t = 1;

  cf_layer_choice_init (&c);
  /* Shown at 640x360 (layer 1 covers it), the estimate fits only layer 0. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 400 * KBPS, 640, 360, t), ==, 0);
  /* The estimate fits all for long: the size holds it at layer 1. */
  for (guint i = 0; i < 40; i++)
    g_assert_cmpint (cf_layer_choose (&c, layers, 3, 5000 * KBPS, 640, 360, t += 100 * MS),
                     <=, 1);
  g_assert_cmpint (c.current, ==, 1);
  /* Enlarged: the top layer at once (it has fit for the hold already). */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 5000 * KBPS, 1280, 720, t += 100 * MS), ==, 2);
  /* Made small again: down at once. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 5000 * KBPS, 240, 135, t += 100 * MS), ==, 0);
}

/* Layers whose size is not known yet (0: no VP8 keyframe seen, H.264)
 * cover nothing: no size cap from them. */
static void
test_layer_size_unknown (void)
{
  CfLayer ladder[3];
  CfLayerChoice c;

  memcpy (ladder, layers, sizeof ladder);
  for (guint i = 0; i < 3; i++)
    ladder[i].width = ladder[i].height = 0;
  g_assert_cmpint (cf_layer_size_cap (ladder, 3, 240, 135), ==, 2);
  g_assert_cmpint (cf_layer_size_cap (layers, 3, 240, 135), ==, 0);
  g_assert_cmpint (cf_layer_size_cap (layers, 3, 321, 180), ==, 1);
  g_assert_cmpint (cf_layer_size_cap (layers, 3, G_MAXUINT, G_MAXUINT), ==, 2);
  cf_layer_choice_init (&c);
  g_assert_cmpint (cf_layer_choose (&c, ladder, 3, 5000 * KBPS, 240, 135, 1), ==, 2);
}

static void
test_display_size_parse (void)
{
  static const struct { const char *w, *h; gboolean ok; guint ew, eh; } cases[] = {
    { "320", "180", TRUE, 320, 180 },
    { "16", "16", TRUE, 16, 16 },
    { "8192", "8192", TRUE, 8192, 8192 },
    { "15", "180", FALSE, 0, 0 },
    { "320", "8193", FALSE, 0, 0 },
    { "99999", "180", FALSE, 0, 0 },
    { "4294967616", "180", FALSE, 0, 0 },   /* would wrap to 320 in 32 bits */
    { "-320", "180", FALSE, 0, 0 },
    { "+320", "180", FALSE, 0, 0 },
    { " 320", "180", FALSE, 0, 0 },
    { "320px", "180", FALSE, 0, 0 },
    { "0x140", "180", FALSE, 0, 0 },
    { "", "180", FALSE, 0, 0 },
    { NULL, "180", FALSE, 0, 0 },
    { "320", NULL, FALSE, 0, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint w = 7, h = 7;
      gboolean ok = cf_display_size_parse (cases[i].w, cases[i].h, &w, &h);
      g_assert_cmpint (ok, ==, cases[i].ok);
      g_assert_cmpuint (w, ==, ok ? cases[i].ew : 7);
      g_assert_cmpuint (h, ==, ok ? cases[i].eh : 7);
    }
}

static void
test_layer_down_at_once_up_after_hold (void)
{
  CfLayerChoice c;
  gint64 t = 1;

  cf_layer_choice_init (&c);
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 2000 * KBPS, 1280, 720, t), ==, 2);
  /* The estimate falls: down at once, to what fits. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 400 * KBPS, 1280, 720, t += 20 * MS), ==, 0);
  /* Fits 500 kbit/s, but not with headroom: stays, however long. */
  for (guint i = 0; i < 100; i++)
    g_assert_cmpint (cf_layer_choose (&c, layers, 3, 520 * KBPS, 1280, 720, t += 100 * MS), ==, 0);
  /* With headroom: up after the hold, not before. */
  gint64 from = t += 100 * MS;
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 600 * KBPS, 1280, 720, from), ==, 0);
  while (t + 100 * MS < from + CF_LAYER_UP_HOLD)
    g_assert_cmpint (cf_layer_choose (&c, layers, 3, 600 * KBPS, 1280, 720, t += 100 * MS), ==, 0);
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 600 * KBPS, 1280, 720, from + CF_LAYER_UP_HOLD), ==, 1);
  /* Within the band (fits, no headroom): stays up. */
  g_assert_cmpint (cf_layer_choose (&c, layers, 3, 510 * KBPS, 1280, 720, t += 3 * G_USEC_PER_SEC), ==, 1);
}

static void
test_layer_no_flapping (void)
{
  CfLayerChoice c;
  gint64 t = 1;
  guint switches = 0;
  int last;

  cf_layer_choice_init (&c);
  last = cf_layer_choose (&c, layers, 3, 450 * KBPS, 1280, 720, t);
  g_assert_cmpint (last, ==, 0);
  /* The estimate swings 450 / 700 kbit/s each second for a minute. */
  for (guint i = 0; i < 600; i++)
    {
      guint64 est = (i / 10) % 2 ? 700 * KBPS : 450 * KBPS;
      int l = cf_layer_choose (&c, layers, 3, est, 1280, 720, t += 100 * MS);
      switches += l != last;
      last = l;
    }
  g_assert_cmpuint (switches, ==, 0);
}

static void
test_layer_inactive (void)
{
  CfLayerChoice c;
  CfLayer l[3];

  memcpy (l, layers, sizeof l);
  cf_layer_choice_init (&c);
  /* Nothing fits: the lowest active layer. */
  g_assert_cmpint (cf_layer_choose (&c, l, 3, 50 * KBPS, 1280, 720, 1), ==, 0);
  l[0].active = FALSE;
  g_assert_cmpint (cf_layer_choose (&c, l, 3, 50 * KBPS, 1280, 720, 2), ==, 1);
  /* Shown small, its layer not sent: the lowest sent above it. */
  g_assert_cmpint (cf_layer_choose (&c, l, 3, 5000 * KBPS, 320, 180, 3), ==, 1);
  /* The current layer stops: whatever fits now. */
  g_assert_cmpint (cf_layer_choose (&c, l, 3, 5000 * KBPS, 1280, 720, 10 * G_USEC_PER_SEC), ==, 2);
  l[2].active = FALSE;
  g_assert_cmpint (cf_layer_choose (&c, l, 3, 5000 * KBPS, 1280, 720, 11 * G_USEC_PER_SEC), ==, 1);
  l[1].active = FALSE;
  g_assert_cmpint (cf_layer_choose (&c, l, 3, 5000 * KBPS, 1280, 720, 12 * G_USEC_PER_SEC), ==, -1);
  g_assert_cmpint (cf_layer_choose (&c, l, 0, 5000 * KBPS, 1280, 720, 13 * G_USEC_PER_SEC), ==, -1);
}

/* A receiver with neither REMB nor transport-cc: its receiver reports'
 * loss alone.  Heavy loss cuts the estimate below what was sent (and the
 * layer chosen drops at once), moderate loss holds it, none grows it by
 * 8 %/s; REMB, once it comes, wins and later reports are ignored. */
static void
test_loss_reports (void)
{
  CfLayer ladder[3] = {
    { 150 * KBPS, 320, 180, TRUE }, { 500 * KBPS, 640, 360, TRUE }, { 1500 * KBPS, 1280, 720, TRUE },
  };
  CfLayerChoice c;
  gint64 t = 1000 * MS;
  guint64 before;

  cf_bandwidth_init (&bwe, CF_BWE_NONE, 10000 * KBPS, 50 * KBPS, 10000 * KBPS);
  cf_layer_choice_init (&c);
  g_assert_cmpint (cf_layer_choose (&c, ladder, 3, bwe.estimate_bps, G_MAXUINT, G_MAXUINT, t), ==, 2);
  /* 4 % lost: held. */
  cf_bandwidth_loss (&bwe, 0.04, 2000 * KBPS, t += 2500 * MS);
  g_assert_cmpuint (bwe.mode, ==, CF_BWE_LOSS);
  g_assert_cmpuint (bwe.estimate_bps, ==, 10000 * KBPS);
  /* A 300 kbit/s link under a 1.9 Mbit/s stream: 80 % lost. */
  cf_bandwidth_loss (&bwe, 0.80, 1900 * KBPS, t += 2500 * MS);
  g_assert_cmpuint (bwe.estimate_bps, ==, (guint64) (1900 * KBPS * 0.6));
  g_assert_cmpint (cf_layer_choose (&c, ladder, 3, bwe.estimate_bps, G_MAXUINT, G_MAXUINT, t), ==, 1);
  /* Within 300 ms no second cut. */
  before = bwe.estimate_bps;
  cf_bandwidth_loss (&bwe, 0.50, 1000 * KBPS, t += 100 * MS);
  g_assert_cmpuint (bwe.estimate_bps, ==, before);
  cf_bandwidth_loss (&bwe, 0.50, 600 * KBPS, t += 2500 * MS);
  g_assert_cmpuint (bwe.estimate_bps, ==, 450 * KBPS);
  g_assert_cmpint (cf_layer_choose (&c, ladder, 3, bwe.estimate_bps, G_MAXUINT, G_MAXUINT, t), ==, 0);
  /* No loss: +8 % per second since the last report. */
  cf_bandwidth_loss (&bwe, 0.0, 200 * KBPS, t += 2500 * MS);
  g_assert_cmpuint (bwe.estimate_bps, ==, 540 * KBPS);
  /* REMB wins from then on. */
  bwe.mode = CF_BWE_REMB;
  cf_bandwidth_remb (&bwe, 3000 * KBPS);
  cf_bandwidth_loss (&bwe, 0.9, 100 * KBPS, t += 2500 * MS);
  g_assert_cmpuint (bwe.estimate_bps, ==, 3000 * KBPS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-bandwidth/remb", test_remb);
  g_test_add_func ("/conference-bandwidth/transport-cc-grows-on-flat-delay",
                   test_transport_cc_grows_on_flat_delay);
  g_test_add_func ("/conference-bandwidth/transport-cc-cuts-on-delay-growth",
                   test_transport_cc_cuts_on_delay_growth);
  g_test_add_func ("/conference-bandwidth/transport-cc-loss", test_transport_cc_loss);
  g_test_add_func ("/conference-bandwidth/layer-fit-and-size", test_layer_fit_and_size);
  g_test_add_func ("/conference-bandwidth/layer-size-and-estimate", test_layer_size_and_estimate);
  g_test_add_func ("/conference-bandwidth/layer-size-unknown", test_layer_size_unknown);
  g_test_add_func ("/conference-bandwidth/display-size-parse", test_display_size_parse);
  g_test_add_func ("/conference-bandwidth/layer-down-at-once-up-after-hold",
                   test_layer_down_at_once_up_after_hold);
  g_test_add_func ("/conference-bandwidth/layer-no-flapping", test_layer_no_flapping);
  g_test_add_func ("/conference-bandwidth/layer-inactive", test_layer_inactive);
  g_test_add_func ("/conference-bandwidth/loss-reports", test_loss_reports);
  return g_test_run ();
}
