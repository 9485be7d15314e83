/* The metrics endpoint: a libsoup 3 HTTP server on the main context that
 * serves the registry (metrics.h) as Prometheus text at /metrics, when
 * [metrics] listen is set.  Main thread only.  Rendering runs in the
 * request's handler, so a scrape costs what bf_metrics_render costs:
 * bounded by the number of series, never by the number of sessions. */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "metrics.h"

G_BEGIN_DECLS

typedef struct _BfMetricsHttp BfMetricsHttp;

/* Parses "IPv4:port" or "[IPv6]:port" (an address literal: no name is
 * resolved, so nothing blocks and the bound address is the one written). */
GSocketAddress *bf_metrics_parse_listen (const char *text, GError **error);
/* Reads and checks [metrics]: *@listen is NULL when the endpoint is off
 * (no listen key).  Errors name the file, the group and the key. */
gboolean bf_metrics_read_config (const BfConfig *config, char **listen, GError **error);
/* The same for the group itself (a reload reads the new file's). */
gboolean bf_metrics_read_group (BfConfigGroup *group, char **listen, GError **error);

BfMetricsHttp *bf_metrics_http_new (BfMetrics *metrics);
void bf_metrics_http_free (BfMetricsHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfMetricsHttp, bf_metrics_http_free)

/* Listens on @listen (bf_metrics_parse_listen), replacing any previous
 * listener; NULL stops serving.  On failure the previous listener (if any)
 * keeps serving: a reload ([metrics] listen changed on SIGHUP) that names a
 * busy port loses nothing. */
gboolean bf_metrics_http_restart (BfMetricsHttp *http, const char *listen, GError **error);
/* What it listens on now ("127.0.0.1:9470"), or NULL. */
const char *bf_metrics_http_get_listen (BfMetricsHttp *http);

G_END_DECLS
