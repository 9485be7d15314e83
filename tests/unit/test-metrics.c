/* Unit tests: the metrics registry and its Prometheus text rendering
 * (relay/metrics.c), and [metrics] listen parsing (relay/metrics-http.c). */
#include <string.h>
#include <glib.h>
#include <gio/gio.h>

#include "metrics.h"
#include "metrics-http.h"

static char *
render (BfMetrics *r)
{
  return bf_metrics_render (r);
}

static void
test_counter_gauge (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  const char *const labels[] = { "module", "state", NULL };
  BfMetricFamily *g = bf_metrics_add_family (r, BF_METRIC_GAUGE, "t_sessions", "Sessions now",
                                             labels);
  BfMetricFamily *c = bf_metrics_add_family (r, BF_METRIC_COUNTER, "t_events_total",
                                             "Events", NULL);
  g_assert_nonnull (g);
  g_assert_nonnull (c);
  BfMetric *echo = bf_metric_family_get (g, "echo", "established", NULL);
  bf_metric_gauge_add (echo, 1);
  bf_metric_gauge_add (echo, 1);
  bf_metric_gauge_add (echo, -1);
  g_assert_true (bf_metric_family_get (g, "echo", "established", NULL) == echo);
  bf_metric_set (bf_metric_family_get (g, "call", "pending", NULL), -3);
  bf_metric_add (bf_metric_family_get (c, NULL), 41);
  bf_metric_add (bf_metric_family_get (c, NULL), 1);
  g_autofree char *text = render (r);
  g_assert_cmpstr (text, ==,
                   "# HELP t_sessions Sessions now\n"
                   "# TYPE t_sessions gauge\n"
                   "t_sessions{module=\"echo\",state=\"established\"} 1\n"
                   "t_sessions{module=\"call\",state=\"pending\"} -3\n"
                   "# HELP t_events_total Events\n"
                   "# TYPE t_events_total counter\n"
                   "t_events_total 42\n");
}

static void
test_escaping (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  const char *const labels[] = { "v", NULL };
  BfMetricFamily *f = bf_metrics_add_family (r, BF_METRIC_GAUGE, "t_esc",
                                             "a \\ backslash\nand a newline \"quoted\"", labels);
  bf_metric_set (bf_metric_family_get (f, "a\"b\\c\nd", NULL), 7);
  g_autofree char *text = render (r);
  g_assert_cmpstr (text, ==,
                   "# HELP t_esc a \\\\ backslash\\nand a newline \"quoted\"\n"
                   "# TYPE t_esc gauge\n"
                   "t_esc{v=\"a\\\"b\\\\c\\nd\"} 7\n");
}

static void
test_histogram (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  static const double bounds[] = { 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
  const char *const labels[] = { "module", NULL };
  BfMetricFamily *f = bf_metrics_add_histogram (r, "t_setup_seconds", "Setup", labels, bounds,
                                                G_N_ELEMENTS (bounds));
  BfMetric *m = bf_metric_family_get (f, "echo", NULL);
  bf_metric_observe (m, 0.01);
  bf_metric_observe (m, 0.025);   /* on a bound: in that bucket (le = less or equal) */
  bf_metric_observe (m, 0.3);
  bf_metric_observe (m, 7);       /* only in +Inf */
  g_assert_cmpint (bf_metric_get_value (m), ==, 4);
  g_autofree char *text = render (r);
  g_assert_cmpstr (text, ==,
                   "# HELP t_setup_seconds Setup\n"
                   "# TYPE t_setup_seconds histogram\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"0.025\"} 2\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"0.05\"} 2\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"0.1\"} 2\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"0.25\"} 2\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"0.5\"} 3\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"1\"} 3\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"2.5\"} 3\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"5\"} 3\n"
                   "t_setup_seconds_bucket{module=\"echo\",le=\"+Inf\"} 4\n"
                   "t_setup_seconds_sum{module=\"echo\"} 7.335\n"
                   "t_setup_seconds_count{module=\"echo\"} 4\n");
}

static void
test_scale (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  BfMetricFamily *f = bf_metrics_add_family (r, BF_METRIC_COUNTER, "t_cpu_seconds_total", "CPU",
                                             NULL);
  bf_metric_family_set_scale (f, G_USEC_PER_SEC);
  bf_metric_set (bf_metric_family_get (f, NULL), 1500000);
  g_autofree char *text = render (r);
  g_assert_nonnull (strstr (text, "\nt_cpu_seconds_total 1.5\n"));
}

static void
test_registration_rules (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  const char *const labels[] = { "a", NULL };
  BfMetricFamily *f = bf_metrics_add_family (r, BF_METRIC_COUNTER, "t_x_total", "X", labels);
  /* The same again is the same family (a module loaded twice). */
  g_assert_true (bf_metrics_add_family (r, BF_METRIC_COUNTER, "t_x_total", "X", labels) == f);

  g_test_expect_message ("belfry", G_LOG_LEVEL_CRITICAL, "*registered twice*");
  g_assert_null (bf_metrics_add_family (r, BF_METRIC_GAUGE, "t_x_total", "X", labels));
  g_test_assert_expected_messages ();
  g_test_expect_message ("belfry", G_LOG_LEVEL_CRITICAL, "*malformed*");
  g_assert_null (bf_metrics_add_family (r, BF_METRIC_COUNTER, "t_no_suffix", "X", NULL));
  g_test_assert_expected_messages ();
  g_test_expect_message ("belfry", G_LOG_LEVEL_CRITICAL, "*malformed*");
  g_assert_null (bf_metrics_add_family (r, BF_METRIC_GAUGE, "t-dash", "X", NULL));
  g_test_assert_expected_messages ();
  const char *const le[] = { "le", NULL };
  static const double b[] = { 1 };
  g_test_expect_message ("belfry", G_LOG_LEVEL_CRITICAL, "*malformed*");
  g_assert_null (bf_metrics_add_histogram (r, "t_h", "X", le, b, 1));
  g_test_assert_expected_messages ();
  /* A NULL family (refused above) gives NULL series, and updates on NULL
   * do nothing: callers need not check. */
  g_assert_null (bf_metric_family_get (NULL, "x", NULL));
  bf_metric_add (NULL, 1);
  bf_metric_observe (NULL, 1);
}

static void
test_series_cap (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  const char *const labels[] = { "n", NULL };
  BfMetricFamily *f = bf_metrics_add_family (r, BF_METRIC_GAUGE, "t_many", "Many", labels);
  for (guint i = 0; i < BF_METRICS_MAX_SERIES; i++)
    {
      char n[16];
      g_snprintf (n, sizeof n, "%u", i);
      bf_metric_set (bf_metric_family_get (f, n, NULL), 1);
    }
  g_test_expect_message ("belfry", G_LOG_LEVEL_WARNING, "*further ones are not shown*");
  BfMetric *over = bf_metric_family_get (f, "one-more", NULL);
  g_test_assert_expected_messages ();
  g_assert_nonnull (over);
  bf_metric_set (over, 99);
  g_autofree char *text = render (r);
  g_assert_null (strstr (text, "one-more"));
  g_assert_nonnull (strstr (text, "t_many{n=\"4095\"} 1\n"));
}

static void
count_collect (gpointer data)
{
  BfMetric *m = data;
  bf_metric_add (m, 1);
}

static void
test_collector (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  BfMetricFamily *f = bf_metrics_add_family (r, BF_METRIC_COUNTER, "t_scrapes_total", "S", NULL);
  BfMetric *m = bf_metric_family_get (f, NULL);
  guint id = bf_metrics_add_collector (r, count_collect, m);
  g_free (render (r));
  g_autofree char *text = render (r);
  g_assert_nonnull (strstr (text, "\nt_scrapes_total 2\n"));
  bf_metrics_remove_collector (r, id);
  g_free (render (r));
  g_assert_cmpint (bf_metric_get_value (m), ==, 2);
}

#define N_THREADS 4
#define N_ADDS 100000

static gpointer
adder (gpointer data)
{
  BfMetricFamily *f = data;
  /* Each thread looks its series up itself (the lock) and adds without it. */
  BfMetric *m = bf_metric_family_get (f, "w", NULL);
  for (guint i = 0; i < N_ADDS; i++)
    bf_metric_add (m, 1);
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  const char *const labels[] = { "worker", NULL };
  BfMetricFamily *f = bf_metrics_add_family (r, BF_METRIC_COUNTER, "t_p_total", "P", labels);
  GThread *t[N_THREADS];
  for (guint i = 0; i < N_THREADS; i++)
    t[i] = g_thread_new ("adder", adder, f);
  for (guint i = 0; i < 20; i++)
    g_free (render (r));   /* scrapes meanwhile */
  for (guint i = 0; i < N_THREADS; i++)
    g_thread_join (t[i]);
  g_assert_cmpint (bf_metric_get_value (bf_metric_family_get (f, "w", NULL)), ==,
                   N_THREADS * N_ADDS);
}

static void
test_listen (void)
{
  static const struct { const char *text; const char *addr; guint port; } good[] = {
    { "127.0.0.1:9470", "127.0.0.1", 9470 },
    { "[::1]:9470", "::1", 9470 },
    { "0.0.0.0:1", "0.0.0.0", 1 },
    { "[2001:db8::5]:65535", "2001:db8::5", 65535 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocketAddress) a = bf_metrics_parse_listen (good[i].text, &error);
      g_assert_no_error (error);
      g_autofree char *ip = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)));
      g_assert_cmpstr (ip, ==, good[i].addr);
      g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a)), ==,
                        good[i].port);
    }
  static const char *const bad[] = {
    "", "9470", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:94x",
    "localhost:9470", "::1:9470", "[::1]9470", "[::1]", "[127.0.0.1]:9470", "[::1:9470",
    "127.0.0.1:+9470", "127.0.0.1: 9470",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocketAddress) a = bf_metrics_parse_listen (bad[i], &error);
      if (a != NULL)
        g_error ("'%s' was taken as a listen address", bad[i]);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
}

static guint16
free_port (void)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (s, any, FALSE, NULL));
  g_autoptr (GSocketAddress) got = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (got));
}

static gboolean
accepts (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) c = g_socket_client_connect_to_host (client, "127.0.0.1", port,
                                                                      NULL, NULL);
  return c != NULL;
}

/* What a reload of [metrics] listen relies on: a new address replaces the
 * old one; a busy one leaves the old one serving; NULL stops. */
static void
test_http_restart (void)
{
  g_autoptr (BfMetrics) r = bf_metrics_new ();
  g_autoptr (BfMetricsHttp) http = bf_metrics_http_new (r);
  guint16 a = free_port (), b = free_port ();
  g_autofree char *la = g_strdup_printf ("127.0.0.1:%u", a);
  g_autofree char *lb = g_strdup_printf ("127.0.0.1:%u", b);
  g_autoptr (GError) error = NULL;

  g_assert_true (bf_metrics_http_restart (http, la, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (bf_metrics_http_get_listen (http), ==, la);
  g_assert_true (accepts (a));

  g_assert_true (bf_metrics_http_restart (http, lb, &error));
  g_assert_cmpstr (bf_metrics_http_get_listen (http), ==, lb);
  g_assert_true (accepts (b));
  g_assert_false (accepts (a));

  /* a port someone else holds: refused, b still served */
  g_autoptr (BfMetricsHttp) other = bf_metrics_http_new (r);
  g_assert_true (bf_metrics_http_restart (other, la, NULL));
  g_assert_false (bf_metrics_http_restart (http, la, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error->message, "[metrics] listen = "));
  g_clear_error (&error);
  g_assert_cmpstr (bf_metrics_http_get_listen (http), ==, lb);
  g_assert_true (accepts (b));

  g_assert_true (bf_metrics_http_restart (http, NULL, &error));
  g_assert_null (bf_metrics_http_get_listen (http));
  g_assert_false (accepts (b));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/counter-gauge", test_counter_gauge);
  g_test_add_func ("/metrics/escaping", test_escaping);
  g_test_add_func ("/metrics/histogram", test_histogram);
  g_test_add_func ("/metrics/scale", test_scale);
  g_test_add_func ("/metrics/registration-rules", test_registration_rules);
  g_test_add_func ("/metrics/series-cap", test_series_cap);
  g_test_add_func ("/metrics/collector", test_collector);
  g_test_add_func ("/metrics/threads", test_threads);
  g_test_add_func ("/metrics/listen", test_listen);
  g_test_add_func ("/metrics/http-restart", test_http_restart);
  return g_test_run ();
}
