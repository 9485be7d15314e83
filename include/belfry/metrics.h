/* belfry — metrics a module exports (Prometheus text over HTTP when the
 * operator sets [metrics] listen; see README "Metrics").
 *
 * Thread rule: a BfMetric is a set of atomic 64-bit values.  Create it on
 * the main thread (in init() or start()); update it from any thread, at any
 * time, without a lock: the HTTP scrape on the main thread reads the values
 * atomically and never touches the module's own state.  A module that keeps
 * per-stream figures adds to its metric as it goes (or at the stream's
 * end), so a scrape costs the same however many streams are open.
 *
 * Metrics live as long as the process: there is nothing to free, and a
 * module loaded again (--check-config, then the real start) gets the same
 * metric back.  Added in API version 3 without a version bump: modules that
 * do not call these functions are unaffected. */
#pragma once

#include <glib.h>
#include <belfry/module.h>

G_BEGIN_DECLS

typedef struct _BfMetric BfMetric;

/* A counter "belfry_<module>_<name>" (characters other than [a-zA-Z0-9_]
 * in the module's name become '_').  @name is [a-z0-9_]+ and ends in
 * "_total" (the exposition format's convention for counters); @help is one
 * line for humans.  NULL (and a critical) on a malformed name or a name
 * already taken by a metric of another type; the functions below accept
 * NULL and do nothing, so a module need not check. */
BfMetric *bf_module_metric_counter_new (BfModule *module, const char *name, const char *help);
/* A gauge: a value that goes up and down (open streams). */
BfMetric *bf_module_metric_gauge_new (BfModule *module, const char *name, const char *help);

/* Counter or gauge: adds @n. */
void bf_metric_add (BfMetric *metric, guint64 n);
/* Gauge: adds @delta (may be negative). */
void bf_metric_gauge_add (BfMetric *metric, gint64 delta);
/* Gauge: sets the value. */
void bf_metric_set (BfMetric *metric, gint64 value);

G_END_DECLS
