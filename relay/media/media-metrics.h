/* What media workers count, as metrics (README "Metrics"): packets and
 * bytes in and out, drops by reason, SRTP errors, per worker.
 *
 * Thread rule: a transport's BfMediaCounters are its worker's alone (plain
 * integers on the packet path).  The worker folds what they gained since
 * the last fold into its own series (atomic adds, metrics.h) once a second
 * and when the transport is freed; the scrape on the main thread reads
 * those series and never a transport.  So a scrape lags the packet path by
 * at most a second, and its cost does not depend on the number of
 * sessions. */
#pragma once

#include "media-types.h"

G_BEGIN_DECLS

typedef struct _BfMediaMetrics BfMediaMetrics;

/* Interval of the fold (worker.c runs it). */
#define BF_MEDIA_METRICS_FLUSH_SECONDS 1

/* When the next fold is due (monotonic µs): on whole multiples of the
 * interval. */
gint64 bf_media_metrics_next_fold (void);

/* A worker's series (its name is their worker label).  Main thread. */
BfMediaMetrics *bf_media_metrics_new (const char *worker_name);
void bf_media_metrics_free (BfMediaMetrics *metrics);

/* On the counters' worker: adds @now - @flushed to the series, then sets
 * @flushed to @now.  NULL @metrics does nothing. */
void bf_media_metrics_flush (BfMediaMetrics *metrics, const BfMediaCounters *now,
                             BfMediaCounters *flushed);
/* A transport's counters, folded by its worker once a second.  One walk
 * of a list per second instead of a timer per transport: with a timer
 * each, 2,000 transports cost 2,000 heap pops and pushes a second, each a
 * cache miss per heap level (sift_down was 6 % of an idle worker,
 * README's idle row). */
typedef struct {
  const BfMediaCounters *now;
  BfMediaCounters *flushed;
  guint slot;                  /* private: its place in the worker's list */
} BfMediaCountersEntry;

/* On the worker: @entry is folded by bf_media_metrics_fold until
 * _untrack, which folds it a last time. */
void bf_media_metrics_track (BfMediaMetrics *metrics, BfMediaCountersEntry *entry);
void bf_media_metrics_untrack (BfMediaMetrics *metrics, BfMediaCountersEntry *entry);
/* On the worker, every BF_MEDIA_METRICS_FLUSH_SECONDS (worker.c): folds
 * every tracked entry. */
void bf_media_metrics_fold (BfMediaMetrics *metrics);
/* On the worker: its loop's counters so far (worker-loop.h). */
void bf_media_metrics_fold_loop (BfMediaMetrics *metrics, guint64 wakeups, guint64 iterations);
/* Packets in and out folded so far: on the worker (its load, worker.c). */
guint64 bf_media_metrics_get_packets (const BfMediaMetrics *metrics);

G_END_DECLS
