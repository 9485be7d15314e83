/* conference — a receiver's bandwidth estimate and its simulcast layer
 * (bandwidth.h). */
#include <string.h>

#include "bandwidth.h"

#define DECREASE_HOLD 300000          /* µs between two decreases */
#define GROWTH_PER_SECOND 0.08
#define LOSS_HIGH 0.10
#define LOSS_LOW 0.02
#define TREND_MIN_SAMPLES 8
#define TREND_MIN_SPAN 50000.0        /* µs of send time */

void
cf_bandwidth_init (CfBandwidth *b, CfBweMode mode, guint64 initial_bps, guint64 min_bps,
                   guint64 max_bps)
{
  memset (b, 0, sizeof *b);
  b->mode = mode;
  b->min_bps = min_bps;
  b->max_bps = MAX (max_bps, min_bps);
  b->estimate_bps = CLAMP (initial_bps, b->min_bps, b->max_bps);
}

void
cf_bandwidth_remb (CfBandwidth *b, guint64 bps)
{
  if (b->mode != CF_BWE_REMB)
    return;
  b->estimate_bps = CLAMP (bps, b->min_bps, b->max_bps);
}

void
cf_bandwidth_sent (CfBandwidth *b, guint16 seq, gsize size, gint64 now)
{
  guint i = seq % CF_BWE_HISTORY;

  b->sent[i].valid = TRUE;
  b->sent[i].seq = seq;
  b->sent[i].size = (guint16) MIN (size, G_MAXUINT16);
  b->sent[i].sent = now;
}

/* The least-squares slope of delay over send time in the window. */
static gboolean
trend (const CfBandwidth *b, double *slope)
{
  double n = b->n_window, t0 = b->window[0].send, sx = 0, sy = 0, sxx = 0, sxy = 0;
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE, den;

  if (b->n_window < TREND_MIN_SAMPLES)
    return FALSE;
  for (guint i = 0; i < b->n_window; i++)
    {
      double x = b->window[i].send - t0, y = b->window[i].delay;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
      lo = MIN (lo, x);
      hi = MAX (hi, x);
    }
  den = n * sxx - sx * sx;
  if (hi - lo < TREND_MIN_SPAN || den <= 0)
    return FALSE;
  *slope = (n * sxy - sx * sy) / den;
  return TRUE;
}

void
cf_bandwidth_feedback (CfBandwidth *b, const CfTwccArrival *a, guint n, gint64 now)
{
  guint64 bytes = 0;
  gint64 first = G_MAXINT64, last = G_MININT64;
  guint received = 0;
  double slope, est;
  gint64 dt;

  if (b->mode != CF_BWE_TRANSPORT_CC)
    return;
  for (guint i = 0; i < n; i++)
    {
      guint k = a[i].seq % CF_BWE_HISTORY;
      if (!b->sent[k].valid || b->sent[k].seq != a[i].seq)
        continue;                       /* not ours, or long forgotten */
      b->loss_total++;
      if (!a[i].received)
        {
          b->loss_lost++;
          continue;
        }
      b->sent[k].valid = FALSE;         /* one report per packet */
      b->window[b->window_next].send = (double) b->sent[k].sent;
      b->window[b->window_next].delay = (double) (a[i].arrival_us - b->sent[k].sent);
      b->window_next = (b->window_next + 1) % CF_BWE_WINDOW;
      b->n_window = MIN (b->n_window + 1, CF_BWE_WINDOW);
      if (received > 0)
        bytes += b->sent[k].size;       /* the first one opens the interval */
      first = MIN (first, a[i].arrival_us);
      last = MAX (last, a[i].arrival_us);
      received++;
    }
  if (received >= 2 && last - first >= 20000)
    b->acked_bps = bytes * 8 * G_USEC_PER_SEC / (guint64) (last - first);
  if (b->loss_total >= CF_BWE_LOSS_MIN_PACKETS)
    {
      b->loss = (double) b->loss_lost / b->loss_total;
      b->loss_lost = b->loss_total = 0;
    }
  /* The ring is in arrival order; the trendline wants it oldest first. */
  if (b->n_window == CF_BWE_WINDOW && b->window_next != 0)
    {
      CfBweSample tmp[CF_BWE_WINDOW];
      guint head = b->window_next;
      memcpy (tmp, b->window + head, sizeof tmp[0] * (CF_BWE_WINDOW - head));
      memcpy (tmp + CF_BWE_WINDOW - head, b->window, sizeof tmp[0] * head);
      memcpy (b->window, tmp, sizeof tmp);
      b->window_next = 0;
    }
  b->overuse = FALSE;
  if (trend (b, &slope))
    {
      b->slope = slope;
      b->overuse = slope > CF_BWE_OVERUSE;
    }

  dt = b->updated ? CLAMP (now - b->last_update, 0, G_USEC_PER_SEC) : 0;
  b->updated = TRUE;
  b->last_update = now;
  est = (double) b->estimate_bps;
  if (b->overuse || b->loss > LOSS_HIGH)
    {
      if (b->decreased && now - b->last_decrease < DECREASE_HOLD)
        return;
      if (b->overuse)
        {
          double base = b->acked_bps != 0 ? MIN ((double) b->acked_bps, est) : est;
          est = MIN (est, base * 0.85);
        }
      if (b->loss > LOSS_HIGH)
        est = MIN (est, (double) b->estimate_bps * (1.0 - 0.5 * b->loss));
      b->decreased = TRUE;
      b->last_decrease = now;
      /* Judge the next decision on delays after this one. */
      b->n_window = b->window_next = 0;
    }
  else if (b->loss < LOSS_LOW)
    est += est * GROWTH_PER_SECOND * (double) dt / G_USEC_PER_SEC;
  b->estimate_bps = CLAMP ((guint64) est, b->min_bps, b->max_bps);
}

void
cf_bandwidth_loss (CfBandwidth *b, double loss, guint64 sent_bps, gint64 now)
{
  double est;
  gint64 dt;

  if (b->mode != CF_BWE_NONE && b->mode != CF_BWE_LOSS)
    return;
  b->mode = CF_BWE_LOSS;
  b->loss = CLAMP (loss, 0.0, 1.0);
  dt = b->updated ? CLAMP (now - b->last_update, 0, 5 * G_USEC_PER_SEC) : 0;
  b->updated = TRUE;
  b->last_update = now;
  est = (double) b->estimate_bps;
  if (b->loss > LOSS_HIGH)
    {
      if (b->decreased && now - b->last_decrease < DECREASE_HOLD)
        return;
      /* What got through, less a margin for the queue to drain: the
       * sent rate when known, else the estimate. */
      double base = sent_bps != 0 ? MIN ((double) sent_bps, est) : est;
      est = MIN (est, base * (1.0 - 0.5 * b->loss));
      b->decreased = TRUE;
      b->last_decrease = now;
    }
  else if (b->loss < LOSS_LOW)
    est += est * GROWTH_PER_SECOND * (double) dt / G_USEC_PER_SEC;
  b->estimate_bps = CLAMP ((guint64) est, b->min_bps, b->max_bps);
}

void
cf_layer_choice_init (CfLayerChoice *c)
{
  memset (c, 0, sizeof *c);
  c->current = -1;
}

int
cf_layer_size_cap (const CfLayer *layers, guint n, guint view_width, guint view_height)
{
  n = MIN (n, CF_LAYERS_MAX);
  for (guint i = 0; i < n; i++)
    if (layers[i].width >= view_width && layers[i].height >= view_height)
      return (int) i;
  return (int) n - 1;
}

/* At most 4 digits (CF_DISPLAY_MAX), nothing else: no sign, no space. */
static gboolean
parse_dimension (const char *s, guint *out)
{
  guint v = 0;
  gsize i;

  if (s == NULL || s[0] == '\0')
    return FALSE;
  for (i = 0; s[i] != '\0'; i++)
    {
      if (i >= 4 || !g_ascii_isdigit (s[i]))
        return FALSE;
      v = v * 10 + (guint) (s[i] - '0');
    }
  if (v < CF_DISPLAY_MIN || v > CF_DISPLAY_MAX)
    return FALSE;
  *out = v;
  return TRUE;
}

gboolean
cf_display_size_parse (const char *width_s, const char *height_s, guint *width, guint *height)
{
  guint w, h;

  if (!parse_dimension (width_s, &w) || !parse_dimension (height_s, &h))
    return FALSE;
  *width = w;
  *height = h;
  return TRUE;
}

int
cf_layer_choose (CfLayerChoice *c, const CfLayer *layers, guint n, guint64 estimate,
                 guint view_width, guint view_height, gint64 now)
{
  int cap, best = -1, lowest = -1;

  n = MIN (n, CF_LAYERS_MAX);
  for (guint i = 0; i < n; i++)
    {
      gboolean fits = layers[i].active
        && (double) estimate >= (double) layers[i].bitrate_bps * CF_LAYER_HEADROOM;
      if (!fits)
        c->fit_since[i] = 0;
      else if (c->fit_since[i] == 0)
        c->fit_since[i] = now;
    }
  if (view_width == 0 || view_height == 0 || n == 0)
    return c->current = -1;
  cap = cf_layer_size_cap (layers, n, view_width, view_height);
  for (int i = 0; i < (int) n; i++)
    {
      if (!layers[i].active)
        continue;
      if (lowest < 0)
        lowest = i;             /* the lowest active, below the cap if any is */
      if (i <= cap && layers[i].bitrate_bps <= estimate)
        best = i;
    }
  if (lowest < 0)
    return c->current = -1;
  if (best < 0)
    best = lowest;              /* nothing fits: the least we have */
  if (c->current < 0 || c->current >= (int) n || !layers[c->current].active
      || c->current > cap || best < c->current)
    return c->current = best;
  /* Up only to a layer that has fit with headroom for a while. */
  for (int i = best; i > c->current; i--)
    if (c->fit_since[i] != 0 && now - c->fit_since[i] >= CF_LAYER_UP_HOLD)
      return c->current = i;
  return c->current;
}
