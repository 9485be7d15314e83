#define G_LOG_DOMAIN "belfry-media"
/* Media counters as metrics (media-metrics.h).  One line per counter in
 * `fields` below: a BfMediaCounters field, the family it adds to and the
 * value of that family's second label.  A new drop reason is a new field
 * in media-types.h and one line here. */
#include "media-metrics.h"

#include "metrics.h"

typedef enum {
  FAM_PACKETS, FAM_BYTES, FAM_DROPPED, FAM_SRTP_ERRORS, FAM_SEND_ERRORS, FAM_PROTOCOL, FAM_CANDIDATES, N_FAMILIES
} Family;

static const struct {
  const char *name, *help, *label;   /* label: the second one (after worker), or NULL */
} families[N_FAMILIES] = {
  [FAM_PACKETS] = { "belfry_media_packets_total",
                    "Datagrams received and sent on media transports, per worker", "direction" },
  [FAM_BYTES] = { "belfry_media_bytes_total",
                  "Bytes of those datagrams (UDP payload), per worker", "direction" },
  [FAM_DROPPED] = { "belfry_media_dropped_packets_total",
                    "Datagrams dropped, per worker and reason", "reason" },
  [FAM_SRTP_ERRORS] = { "belfry_srtp_errors_total",
                        "SRTP/SRTCP packets refused, per worker and operation "
                        "(unprotect: authentication, replay or malformed, see "
                        "belfry_media_dropped_packets_total; protect: not RTP, too long)",
                        "op" },
  [FAM_SEND_ERRORS] = { "belfry_media_send_errors_total",
                        "Packets not sent (not keyed yet, or the socket refused), per worker",
                        NULL },
  [FAM_PROTOCOL] = { "belfry_media_protocol_packets_total",
                     "Packets by protocol and direction (rtp/rtcp: SRTP delivered or sent; "
                     "dtls; stun: checks and consent run by belfry's own I/O), per worker",
                     "kind" },
  [FAM_CANDIDATES] = { "belfry_remote_candidates_ignored_total",
                       "Remote ICE candidates refused by the candidate policy "
                       "([media] addresses, allow-peer-networks), per worker", NULL },
};

static const struct {
  gsize offset;
  Family family;
  const char *value;
} fields[] = {
#define F(field, family, value) { G_STRUCT_OFFSET (BfMediaCounters, field), family, value }
  F (packets_in, FAM_PACKETS, "in"),
  F (packets_out, FAM_PACKETS, "out"),
  F (bytes_in, FAM_BYTES, "in"),
  F (bytes_out, FAM_BYTES, "out"),
  F (dropped_demux, FAM_DROPPED, "demux"),
  F (dropped_unvalidated, FAM_DROPPED, "unvalidated_source"),
  F (dropped_not_ready, FAM_DROPPED, "not_ready"),
  F (dropped_dtls, FAM_DROPPED, "dtls"),
  F (unprotect_auth, FAM_DROPPED, "srtp_auth"),
  F (unprotect_replay, FAM_DROPPED, "replay"),
  F (unprotect_other, FAM_DROPPED, "srtp_other"),
  F (dropped_ssrc_limit, FAM_DROPPED, "ssrc_limit"),
  F (dropped_malformed_rtp, FAM_DROPPED, "malformed_rtp"),
  F (dropped_overflow, FAM_DROPPED, "socket_overflow"),
  F (dropped_unprotect, FAM_SRTP_ERRORS, "unprotect"),
  F (srtp_errors, FAM_SRTP_ERRORS, "protect"),
  F (send_errors, FAM_SEND_ERRORS, NULL),
  F (rtp_in, FAM_PROTOCOL, "rtp_in"),
  F (rtp_out, FAM_PROTOCOL, "rtp_out"),
  F (rtcp_in, FAM_PROTOCOL, "rtcp_in"),
  F (rtcp_out, FAM_PROTOCOL, "rtcp_out"),
  F (dtls_in, FAM_PROTOCOL, "dtls_in"),
  F (dtls_out, FAM_PROTOCOL, "dtls_out"),
  F (stun_in, FAM_PROTOCOL, "stun_in"),
  F (stun_out, FAM_PROTOCOL, "stun_out"),
  F (candidates_ignored, FAM_CANDIDATES, NULL),
#undef F
};

struct _BfMediaMetrics {
  BfMetric *series[G_N_ELEMENTS (fields)];
  BfMetric *wakeups, *context_iterations;
  guint64 wakeups_seen, iterations_seen;
  guint64 packets;          /* in + out folded so far; the worker's alone */
  GPtrArray *tracked;       /* BfMediaCountersEntry*; the worker's alone */
};

BfMediaMetrics *
bf_media_metrics_new (const char *worker_name)
{
  BfMetrics *r = bf_metrics_get_default ();
  BfMetricFamily *fam[N_FAMILIES];
  for (guint i = 0; i < N_FAMILIES; i++)
    {
      const char *const labels[] = { "worker", families[i].label, NULL };
      fam[i] = bf_metrics_add_family (r, BF_METRIC_COUNTER, families[i].name, families[i].help,
                                      labels);
    }
  BfMediaMetrics *m = g_new0 (BfMediaMetrics, 1);
  m->tracked = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const char *const values[] = { worker_name, fields[i].value, NULL };
      m->series[i] = bf_metric_family_getv (fam[fields[i].family], values);
    }
  const char *const labels[] = { "worker", NULL };
  const char *const values[] = { worker_name, NULL };
  m->wakeups = bf_metric_family_getv (
    bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_media_loop_wakeups_total",
                           "Wake-ups of a media worker's loop (worker-loop.h), per worker", labels),
    values);
  m->context_iterations = bf_metric_family_getv (
    bf_metrics_add_family (r, BF_METRIC_COUNTER, "belfry_media_context_iterations_total",
                           "Iterations of GMainContexts (posted jobs, libnice, DTLS timers) "
                           "by a media worker's loop, per worker", labels),
    values);
  return m;
}

void
bf_media_metrics_free (BfMediaMetrics *m)
{
  if (m == NULL)
    return;
  g_warn_if_fail (m->tracked->len == 0);
  g_ptr_array_unref (m->tracked);
  g_free (m);
}

void
bf_media_metrics_flush (BfMediaMetrics *m, const BfMediaCounters *now, BfMediaCounters *flushed)
{
  if (m == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      guint64 a = G_STRUCT_MEMBER (guint64, now, fields[i].offset);
      guint64 b = G_STRUCT_MEMBER (guint64, flushed, fields[i].offset);
      if (a > b)
        bf_metric_add (m->series[i], a - b);
    }
  if (now->packets_in > flushed->packets_in)
    m->packets += now->packets_in - flushed->packets_in;
  if (now->packets_out > flushed->packets_out)
    m->packets += now->packets_out - flushed->packets_out;
  *flushed = *now;
}

void
bf_media_metrics_track (BfMediaMetrics *m, BfMediaCountersEntry *entry)
{
  entry->slot = m->tracked->len;
  g_ptr_array_add (m->tracked, entry);
}

void
bf_media_metrics_untrack (BfMediaMetrics *m, BfMediaCountersEntry *entry)
{
  GPtrArray *a = m->tracked;
  g_return_if_fail (entry->slot < a->len && a->pdata[entry->slot] == entry);
  bf_media_metrics_flush (m, entry->now, entry->flushed);
  BfMediaCountersEntry *last = a->pdata[a->len - 1];
  a->pdata[entry->slot] = last;
  last->slot = entry->slot;
  g_ptr_array_set_size (a, a->len - 1);
}

void
bf_media_metrics_fold (BfMediaMetrics *m)
{
  for (guint i = 0; i < m->tracked->len; i++)
    {
      BfMediaCountersEntry *e = m->tracked->pdata[i];
      bf_media_metrics_flush (m, e->now, e->flushed);
    }
}

gint64
bf_media_metrics_next_fold (void)
{
  const gint64 period = BF_MEDIA_METRICS_FLUSH_SECONDS * G_USEC_PER_SEC;
  return (g_get_monotonic_time () / period + 1) * period;
}

void
bf_media_metrics_fold_loop (BfMediaMetrics *m, guint64 wakeups, guint64 iterations)
{
  if (wakeups > m->wakeups_seen)
    bf_metric_add (m->wakeups, wakeups - m->wakeups_seen);
  if (iterations > m->iterations_seen)
    bf_metric_add (m->context_iterations, iterations - m->iterations_seen);
  m->wakeups_seen = wakeups;
  m->iterations_seen = iterations;
}

guint64
bf_media_metrics_get_packets (const BfMediaMetrics *m)
{
  return m->packets;
}
