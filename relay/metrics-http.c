#define G_LOG_DOMAIN "belfry"
/* The metrics endpoint (metrics-http.h): [metrics] listen, and a SoupServer
 * answering GET/HEAD /metrics. */
#include "metrics-http.h"

#include <string.h>
#include <libsoup/soup.h>

struct _BfMetricsHttp {
  BfMetrics *metrics;
  SoupServer *server;       /* NULL when off */
  char *listen;
};

/* The syntax is bf_parse_host_port's (a port required); the address must
 * be an IP literal, IPv6 in brackets and only IPv6 ("[127.0.0.1]" is not
 * one). */
GSocketAddress *
bf_metrics_parse_listen (const char *text, GError **error)
{
  g_autofree char *host = NULL;
  guint16 port = 0;
  if (!bf_parse_host_port (text, 0, &host, &port, error))
    return NULL;
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);
  if (addr == NULL || (text[0] == '[') != (g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not an IP address (a literal: 127.0.0.1, [::1]; no host names)", host);
      return NULL;
    }
  return g_inet_socket_address_new (addr, port);
}

gboolean
bf_metrics_read_group (BfConfigGroup *group, char **listen, GError **error)
{
  *listen = NULL;
  g_autofree char *value = bf_config_get_string (group, "listen", NULL, error);
  if (value == NULL && error && *error)
    return FALSE;
  if (value != NULL)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (GSocketAddress) addr = bf_metrics_parse_listen (value, &local);
      if (addr == NULL)
        {
          bf_config_set_error (group, error, "listen", "%s", local->message);
          return FALSE;
        }
    }
  if (!bf_config_group_check_unknown (group, error))
    return FALSE;
  *listen = g_steal_pointer (&value);
  return TRUE;
}

gboolean
bf_metrics_read_config (const BfConfig *config, char **listen, GError **error)
{
  g_autoptr (BfConfigGroup) group = bf_config_group_new (config, "metrics");
  return bf_metrics_read_group (group, listen, error);
}

static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer data)
{
  BfMetricsHttp *http = data;
  const char *method = soup_server_message_get_method (msg);
  if (strcmp (path, "/metrics") != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_STATIC,
                                        "not found: try /metrics\n", 24);
      return;
    }
  if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, HEAD");
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  char *body = bf_metrics_render (http->metrics);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-store");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, BF_METRICS_CONTENT_TYPE, SOUP_MEMORY_TAKE, body,
                                    strlen (body));
}

BfMetricsHttp *
bf_metrics_http_new (BfMetrics *metrics)
{
  BfMetricsHttp *http = g_new0 (BfMetricsHttp, 1);
  http->metrics = metrics;
  return http;
}

static void
server_stop (SoupServer *server)
{
  soup_server_disconnect (server);
  g_object_unref (server);
}

void
bf_metrics_http_free (BfMetricsHttp *http)
{
  if (http == NULL)
    return;
  g_clear_pointer (&http->server, server_stop);
  g_free (http->listen);
  g_free (http);
}

static gboolean
same_port (const char *listen, GSocketAddress *addr)
{
  g_autoptr (GSocketAddress) old = bf_metrics_parse_listen (listen, NULL);
  return old && g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (old))
                == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr));
}

gboolean
bf_metrics_http_restart (BfMetricsHttp *http, const char *listen, GError **error)
{
  if (listen == NULL)
    {
      if (http->server)
        g_message ("metrics: no longer serving on %s", http->listen);
      g_clear_pointer (&http->server, server_stop);
      g_clear_pointer (&http->listen, g_free);
      return TRUE;
    }
  if (http->server && g_strcmp0 (listen, http->listen) == 0)
    return TRUE;
  g_autoptr (GSocketAddress) addr = bf_metrics_parse_listen (listen, error);
  if (addr == NULL)
    return FALSE;
  /* The new server first: the old one keeps serving if this fails.  The
   * old one's port on another address (0.0.0.0 for 127.0.0.1) may fail
   * only because the old one holds it: then stop it and try once more. */
  g_autoptr (SoupServer) server = soup_server_new ("server-header", "belfry", NULL);
  soup_server_add_handler (server, NULL, on_request, http, NULL);
  g_autoptr (GError) local = NULL;
  if (!soup_server_listen (server, addr, 0, &local))
    {
      if (http->server == NULL || !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE)
          || !same_port (http->listen, addr))
        {
          g_set_error (error, G_IO_ERROR, local->code, "[metrics] listen = %s: %s", listen,
                       local->message);
          return FALSE;
        }
      g_clear_error (&local);
      g_clear_pointer (&http->server, server_stop);
      if (!soup_server_listen (server, addr, 0, &local))
        {
          g_set_error (error, G_IO_ERROR, local->code, "[metrics] listen = %s: %s "
                       "(and the previous listener on %s is stopped)", listen, local->message,
                       http->listen);
          g_clear_pointer (&http->listen, g_free);
          return FALSE;
        }
    }
  g_clear_pointer (&http->server, server_stop);
  http->server = g_steal_pointer (&server);
  g_free (http->listen);
  http->listen = g_strdup (listen);
  g_message ("metrics: serving http://%s/metrics", listen);
  return TRUE;
}

const char *
bf_metrics_http_get_listen (BfMetricsHttp *http)
{
  return http->server ? http->listen : NULL;
}
