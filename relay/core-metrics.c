#define G_LOG_DOMAIN "belfry"
/* belfry's own metric families (core-metrics.h). */
#include "core-metrics.h"

#include <string.h>
#include <time.h>

#include "link-metrics.h"
#include "media-types.h"

typedef struct {
  BfMetricFamily *sessions, *started, *ended, *setup, *failures;
  BfMetric *link_up, *connects, *attaches, *reconnects, *stanzas_in, *stanzas_out,
           *dropped_out, *held, *held_dropped, *stream_errors, *to_modules, *answered, *ignored, *over_limit,
           *bad_address;
  BfMetricFamily *worker_sessions, *thread_cpu;
} CoreFamilies;

static CoreFamilies fam;

/* Call setup: 25 ms (loopback) to 5 s (slow ICE over a TURN server). */
static const double setup_buckets[] = { 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };

void
bf_core_metrics_init (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  BfMetrics *r = bf_metrics_get_default ();
  const char *const module[] = { "module", NULL };
  const char *const module_state[] = { "module", "state", NULL };
  const char *const module_reason[] = { "module", "reason", NULL };
  const char *const failure[] = { "module", "stage", "reason", NULL };
  const char *const direction[] = { "direction", NULL };
  const char *const outcome[] = { "outcome", NULL };
  const char *const worker[] = { "worker", NULL };
  const char *const thread[] = { "thread", NULL };

  fam.sessions = bf_metrics_add_family (r, BF_METRIC_GAUGE, "belfry_sessions",
    "Jingle sessions now, by module and state (pending: signalling, ICE or DTLS; "
    "established: DTLS-SRTP keyed)", module_state);
  fam.started = bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_sessions_started_total",
    "Jingle sessions started (received or placed), by module", module);
  fam.ended = bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_sessions_ended_total",
    "Jingle sessions ended, by module and Jingle reason", module_reason);
  fam.setup = bf_metrics_add_histogram (r, "belfry_session_setup_seconds",
    "From session-initiate (or, for a call that rings first, its answer) to DTLS-SRTP keyed",
    module, setup_buckets, G_N_ELEMENTS (setup_buckets));
  fam.failures = bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_transport_failures_total",
    "Sessions ended by an ICE or DTLS failure, by module, stage and reason", failure);

  BfMetricFamily *f;
#define SINGLE(field, type, name, help) \
  f = bf_metrics_add_family (r, type, name, help, NULL); \
  fam.field = bf_metric_family_get (f, NULL)
  SINGLE (link_up, BF_METRIC_GAUGE, "belfry_link_up",
          "1 while the component link is attached to the XMPP server, else 0");
  SINGLE (connects, BF_METRIC_COUNTER, "belfry_link_connects_total",
          "Connection attempts to the XMPP server");
  SINGLE (attaches, BF_METRIC_COUNTER, "belfry_link_attaches_total",
          "Handshakes the XMPP server accepted");
  SINGLE (reconnects, BF_METRIC_COUNTER, "belfry_link_reconnects_total",
          "Attaches after the first one (the link was lost and came back)");
  SINGLE (dropped_out, BF_METRIC_COUNTER, "belfry_stanzas_dropped_out_total",
          "Stanzas not sent: the link was down or its write queue full");
  SINGLE (held, BF_METRIC_COUNTER, "belfry_stanzas_held_total",
          "Stanzas held while the link was down, to be sent after the next handshake");
  SINGLE (held_dropped, BF_METRIC_COUNTER, "belfry_stanzas_held_dropped_total",
          "Held stanzas dropped (held too long, or the oldest over the hold limits)");
  SINGLE (stream_errors, BF_METRIC_COUNTER, "belfry_stream_errors_total",
          "XMPP stream errors belfry sent (each ends the stream)");
#undef SINGLE
  f = bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_stanzas_total",
    "Stanzas over the component link, by direction", direction);
  fam.stanzas_in = bf_metric_family_get (f, "in", NULL);
  fam.stanzas_out = bf_metric_family_get (f, "out", NULL);
  f = bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_router_stanzas_total",
    "Stanzas routed, by outcome (module: handed to a module; answered: by the core; "
    "ignored: results nobody waits for, bad addresses)", outcome);
  fam.to_modules = bf_metric_family_get (f, "module", NULL);
  fam.answered = bf_metric_family_get (f, "answered", NULL);
  fam.ignored = bf_metric_family_get (f, "ignored", NULL);
  f = bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_stanzas_refused_total",
    "Stanzas from the server that no module saw, by reason (over_limit: over a [limits] "
    "size, depth or attribute limit, bounced with policy-violation where addressable; "
    "bad_address: 'from' or 'to' missing or malformed)", (const char *const[]) { "reason", NULL });
  fam.over_limit = bf_metric_family_get (f, "over_limit", NULL);
  fam.bad_address = bf_metric_family_get (f, "bad_address", NULL);

  fam.worker_sessions = bf_metrics_add_family (r, BF_METRIC_GAUGE, "belfry_worker_sessions",
    "Sessions pinned to each media worker", worker);
  fam.thread_cpu = bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_thread_cpu_seconds_total",
    "CPU time of belfry's threads (main: signalling; bf-media-N: media workers)", thread);
  bf_metric_family_set_scale (fam.thread_cpu, G_USEC_PER_SEC);
  g_once_init_leave (&done, 1);
}

/* --- scrape time --- */

static struct {
  guint collector;
  BfLink *link;
  BfLink *node_link, *rooms_link;
  BfRouter *router;
  BfMediaPool *pool;
} watch;

static gint64
cpu_usec (clockid_t clock)
{
  struct timespec ts;
  if (clock_gettime (clock, &ts) != 0)
    return -1;
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void
collect (gpointer unused)
{
  if (watch.link)
    {
      const BfLinkStats *ls = bf_link_get_stats (watch.link);
      bf_metric_set (fam.link_up, bf_link_is_attached (watch.link));
      bf_metric_set (fam.connects, (gint64) ls->connects);
      bf_metric_set (fam.attaches, (gint64) ls->attaches);
      bf_metric_set (fam.reconnects, ls->attaches > 1 ? (gint64) ls->attaches - 1 : 0);
      bf_metric_set (fam.stanzas_in, (gint64) ls->stanzas_in);
      bf_metric_set (fam.stanzas_out, (gint64) ls->stanzas_out);
      bf_metric_set (fam.dropped_out, (gint64) ls->dropped_out);
      bf_metric_set (fam.held, (gint64) ls->held);
      bf_metric_set (fam.held_dropped, (gint64) ls->held_dropped);
      bf_metric_set (fam.stream_errors, (gint64) ls->stream_errors);
    }
  /* By role, each only when the process has it (link-metrics.h). */
  struct { const char *role; BfLink *link; } roles[] = {
    { BF_LINK_ROLE_SHARED, watch.link },
    { BF_LINK_ROLE_NODE, watch.node_link },
    { BF_LINK_ROLE_ROOMS, watch.rooms_link },
  };
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    if (roles[i].link)
      {
        BfLinkTotals t = { 0 };
        bf_link_totals_add (&t, roles[i].link);
        bf_link_metrics_set (roles[i].role, &t);
      }
  if (watch.router)
    {
      const BfRouterStats *rs = bf_router_get_stats (watch.router);
      bf_metric_set (fam.to_modules, (gint64) rs->to_modules);
      bf_metric_set (fam.answered, (gint64) rs->answered);
      bf_metric_set (fam.ignored, (gint64) rs->dropped);
      bf_metric_set (fam.over_limit, (gint64) rs->dropped_over_limit);
      bf_metric_set (fam.bad_address, (gint64) rs->dropped_bad_address);
    }
  bf_metric_set (bf_metric_family_get (fam.thread_cpu, "main", NULL),
                 cpu_usec (CLOCK_THREAD_CPUTIME_ID));
  for (guint i = 0; watch.pool && i < bf_media_pool_get_size (watch.pool); i++)
    {
      BfMediaWorker *w = bf_media_pool_get_worker (watch.pool, i);
      const char *name = bf_media_worker_get_name (w);
      bf_metric_set (bf_metric_family_get (fam.worker_sessions, name, NULL),
                     bf_media_worker_get_load (w));
      clockid_t clock;
      gint64 usec;
      if (bf_media_worker_get_cpu_clock (w, &clock) && (usec = cpu_usec (clock)) >= 0)
        bf_metric_set (bf_metric_family_get (fam.thread_cpu, name, NULL), usec);
    }
}

void
bf_core_metrics_watch (BfLink *link, BfRouter *router, BfMediaPool *pool)
{
  bf_core_metrics_init ();
  watch.link = link;
  watch.router = router;
  watch.pool = pool;
  if (watch.collector == 0)
    watch.collector = bf_metrics_add_collector (bf_metrics_get_default (), collect, NULL);
}

void
bf_core_metrics_watch_links (BfLink *node_link, BfLink *rooms_link)
{
  watch.node_link = node_link;
  watch.rooms_link = rooms_link;
}

void
bf_core_metrics_unwatch (void)
{
  if (watch.collector)
    bf_metrics_remove_collector (bf_metrics_get_default (), watch.collector);
  memset (&watch, 0, sizeof watch);
}

/* --- sessions --- */

void
bf_core_metrics_session_started (BfModule *module, BfMetric **slot)
{
  bf_core_metrics_init ();
  bf_metric_add (bf_metric_family_get (fam.started, bf_module_get_name (module), NULL), 1);
  bf_core_metrics_session_state (module, slot, BF_SESSION_STATE_PENDING);
}

void
bf_core_metrics_session_state (BfModule *module, BfMetric **slot, const char *state)
{
  bf_core_metrics_init ();
  if (*slot)
    bf_metric_gauge_add (*slot, -1);
  *slot = state ? bf_metric_family_get (fam.sessions, bf_module_get_name (module), state, NULL)
                : NULL;
  bf_metric_gauge_add (*slot, 1);
}

void
bf_core_metrics_session_ended (BfModule *module, const char *reason)
{
  bf_core_metrics_init ();
  bf_metric_add (bf_metric_family_get (fam.ended, bf_module_get_name (module),
                                       reason ? reason : "unknown", NULL), 1);
}

void
bf_core_metrics_setup_time (BfModule *module, gint64 usec)
{
  bf_core_metrics_init ();
  bf_metric_observe (bf_metric_family_get (fam.setup, bf_module_get_name (module), NULL),
                     (double) usec / G_USEC_PER_SEC);
}

void
bf_core_metrics_transport_failed (BfModule *module, const char *stage, const GError *error)
{
  static const char *const reasons[] = {
    [BF_MEDIA_ERROR_INVALID] = "invalid",
    [BF_MEDIA_ERROR_ICE] = "connectivity",
    [BF_MEDIA_ERROR_FINGERPRINT_MISMATCH] = "fingerprint_mismatch",
    [BF_MEDIA_ERROR_HANDSHAKE] = "handshake",
    [BF_MEDIA_ERROR_TIMEOUT] = "timeout",
    [BF_MEDIA_ERROR_CLOSED] = "closed",
    [BF_MEDIA_ERROR_CRYPTO] = "crypto",
  };
  const char *reason = "other";
  if (error && error->domain == BF_MEDIA_ERROR && error->code >= 0
      && (guint) error->code < G_N_ELEMENTS (reasons) && reasons[error->code])
    reason = reasons[error->code];
  bf_core_metrics_init ();
  bf_metric_add (bf_metric_family_get (fam.failures, bf_module_get_name (module), stage, reason,
                                       NULL), 1);
}
