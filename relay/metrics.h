/* The metrics registry: families of series with atomic values, rendered
 * as Prometheus text exposition format 0.0.4.  No I/O here (metrics-http.c
 * serves it; core-metrics.c and media/media-metrics.c define belfry's own
 * families).
 *
 * Thread rule (the one for all of belfry's metrics):
 *   - families are registered, and collectors added, on the main thread;
 *   - a series (BfMetric) is looked up on any thread (a lock, so not per
 *     packet: keep the pointer) and updated on any thread without a lock
 *     (64-bit atomics);
 *   - rendering runs on the main thread: it first calls the collectors
 *     (which may read main-thread state such as BfLinkStats and set series
 *     from it), then reads every value atomically.  It never reads a
 *     worker's own state: a media worker folds what its transports count
 *     into its own series itself (media-metrics.c).
 *   - the scrape's cost is bounded by the number of series (capped per
 *     family), never by the number of sessions: gauges such as sessions by
 *     state are kept up to date as sessions change, not counted at scrape. */
#pragma once

#include <glib.h>
#include <belfry/metrics.h>

G_BEGIN_DECLS

typedef enum {
  BF_METRIC_COUNTER,
  BF_METRIC_GAUGE,
  BF_METRIC_HISTOGRAM,
} BfMetricType;

typedef struct _BfMetrics BfMetrics;
typedef struct _BfMetricFamily BfMetricFamily;

/* Series per family beyond which lookups return a shared sink that is never
 * rendered (and a warning, once): label values come from bounded sets, so
 * reaching it is a bug, and it must not grow the scrape. */
#define BF_METRICS_MAX_SERIES 4096

BfMetrics *bf_metrics_new (void);
void bf_metrics_free (BfMetrics *metrics);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMetrics, bf_metrics_free)
/* The process's registry (created on first use, lives until exit). */
BfMetrics *bf_metrics_get_default (void);

/* Registers a family; @label_names is NULL-terminated (NULL: none, and the
 * one series exists at once, so it renders as 0 before any update).
 * Counter names must end in "_total".  Registering the same name again
 * with the same type and labels returns the same family; anything else
 * malformed or conflicting is a programming error: NULL and a critical. */
BfMetricFamily *bf_metrics_add_family (BfMetrics *metrics, BfMetricType type, const char *name,
                                       const char *help, const char *const *label_names);
/* A histogram; @bounds are the buckets' upper bounds, increasing (the +Inf
 * bucket is implicit). */
BfMetricFamily *bf_metrics_add_histogram (BfMetrics *metrics, const char *name, const char *help,
                                          const char *const *label_names, const double *bounds,
                                          guint n_bounds);

/* Values are integers; a family whose values are in 1/@units_per_one of
 * its unit (microseconds of belfry_thread_cpu_seconds_total) renders them
 * divided.  Set once, right after registering. */
void bf_metric_family_set_scale (BfMetricFamily *family, guint64 units_per_one);

/* The series with these label values (as many as the family has labels),
 * created at 0 on first use.  Any thread.  NULL @family gives NULL. */
BfMetric *bf_metric_family_getv (BfMetricFamily *family, const char *const *label_values);
/* Same, the values as arguments (exactly as many as the family's labels). */
BfMetric *bf_metric_family_get (BfMetricFamily *family, ...) G_GNUC_NULL_TERMINATED;

/* bf_metric_add, _gauge_add, _set: include/belfry/metrics.h.  _set on a
 * counter is for collectors that mirror a monotonic stats field. */
/* Histogram: one observation. */
void bf_metric_observe (BfMetric *metric, double value);
/* The current value (counter, gauge) or observation count (histogram). */
gint64 bf_metric_get_value (BfMetric *metric);

/* Called on the main thread at the start of every render, to set series
 * from state that is not kept in metrics (BfLinkStats, worker loads). */
typedef void (*BfMetricsCollectFunc) (gpointer data);
guint bf_metrics_add_collector (BfMetrics *metrics, BfMetricsCollectFunc func, gpointer data);
void bf_metrics_remove_collector (BfMetrics *metrics, guint id);

/* The exposition text (format 0.0.4): every family in registration order,
 * HELP and TYPE lines first, series in creation order. */
char *bf_metrics_render (BfMetrics *metrics);

#define BF_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

G_END_DECLS
