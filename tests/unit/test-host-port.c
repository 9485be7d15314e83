/* relay/host-port.c: bf_parse_host_port, the one reader of host:port behind
 * [metrics] listen, [media] stun/turn and [proxy65] listen/advertise.
 * Tables of good and bad values, with and without a default port; a bad
 * value leaves the outputs alone and says why. */
#include <string.h>
#include <gio/gio.h>

#include <belfry/module.h>

typedef struct {
  const char *text;
  guint16 default_port;
  const char *host;   /* NULL: refused */
  guint16 port;
} Case;

static const Case cases[] = {
  /* port required (default 0) */
  { "127.0.0.1:9470", 0, "127.0.0.1", 9470 },
  { "0.0.0.0:1", 0, "0.0.0.0", 1 },
  { "[::1]:9470", 0, "::1", 9470 },
  { "[::]:7777", 0, "::", 7777 },
  { "[2001:db8::5]:65535", 0, "2001:db8::5", 65535 },
  { "[fe80::1%eth0]:7777", 0, "fe80::1%eth0", 7777 },
  { "proxy.example.org:7777", 0, "proxy.example.org", 7777 },
  { "localhost:9470", 0, "localhost", 9470 },   /* a host name: the caller decides */
  { "[127.0.0.1]:9470", 0, "127.0.0.1", 9470 }, /* ditto (metrics refuses it) */
  { "127.0.0.1:009470", 0, "127.0.0.1", 9470 },
  { "127.0.0.1", 0, NULL, 0 },
  { "9470", 0, NULL, 0 },
  { "127.0.0.1:", 0, NULL, 0 },
  { "127.0.0.1:0", 0, NULL, 0 },
  { "127.0.0.1:65536", 0, NULL, 0 },
  { "127.0.0.1:99999999999999999999999", 0, NULL, 0 },
  { "127.0.0.1:94x", 0, NULL, 0 },
  { "127.0.0.1:http", 0, NULL, 0 },
  { "127.0.0.1:+9470", 0, NULL, 0 },
  { "127.0.0.1:-1", 0, NULL, 0 },
  { "127.0.0.1: 9470", 0, NULL, 0 },
  { "127.0.0.1:9470 ", 0, NULL, 0 },
  { "127.0.0.1:\v9470", 0, NULL, 0 },   /* strtoull would skip the \v */
  { "1:\x0b9", 3478, NULL, 0 },
  { "127.0.0.1:9470:1", 0, NULL, 0 },
  { "::1:9470", 0, NULL, 0 },     /* IPv6 needs brackets when a port is required */
  { "::1", 0, NULL, 0 },
  { "[::1]", 0, NULL, 0 },
  { "[::1]9470", 0, NULL, 0 },
  { "[::1]:", 0, NULL, 0 },
  { "[::1:9470", 0, NULL, 0 },
  { "[::1]]:9470", 0, NULL, 0 },
  { "[[::1]]:9470", 0, NULL, 0 },
  { "[]:9470", 0, NULL, 0 },
  { ":9470", 0, NULL, 0 },
  { "", 0, NULL, 0 },
  { "a b:9470", 0, NULL, 0 },
  { "a\tb:9470", 0, NULL, 0 },
  { "a\x7f:9470", 0, NULL, 0 },
  { "a]b:9470", 0, NULL, 0 },
  { "[a b]:9470", 0, NULL, 0 },
  /* port optional (default 3478) */
  { "192.0.2.1", 3478, "192.0.2.1", 3478 },
  { "192.0.2.1:19302", 3478, "192.0.2.1", 19302 },
  { "[2001:db8::1]", 3478, "2001:db8::1", 3478 },
  { "[2001:db8::1]:5349", 3478, "2001:db8::1", 5349 },
  { "2001:db8::1", 3478, "2001:db8::1", 3478 },   /* bare IPv6: all host */
  { "::1:9470", 3478, "::1:9470", 3478 },
  { "stun.example.org", 3478, "stun.example.org", 3478 },
  { "192.0.2.1:", 3478, NULL, 0 },
  { "192.0.2.1:0", 3478, NULL, 0 },
  { "192.0.2.1:65536", 3478, NULL, 0 },
  { "[2001:db8::1]x", 3478, NULL, 0 },
  { "[2001:db8::1]:", 3478, NULL, 0 },
  { "[2001:db8::1", 3478, NULL, 0 },
  { "[]", 3478, NULL, 0 },
  { "", 3478, NULL, 0 },
  { " 192.0.2.1", 3478, NULL, 0 },
};

static void
test_table (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr (GError) error = NULL;
      char *host = (char *) "untouched";
      guint16 port = 4242;
      gboolean ok = bf_parse_host_port (c->text, c->default_port, &host, &port, &error);
      if (c->host != NULL)
        {
          if (!ok)
            g_error ("'%s' (default %u) refused: %s", c->text, c->default_port, error->message);
          g_assert_no_error (error);
          g_assert_cmpstr (host, ==, c->host);
          g_assert_cmpuint (port, ==, c->port);
          g_free (host);
        }
      else
        {
          if (ok)
            g_error ("'%s' (default %u) taken as '%s' port %u", c->text, c->default_port,
                     host, port);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
          g_assert_true (error->message[0] != '\0');
          g_assert_cmpstr (host, ==, "untouched");
          g_assert_cmpuint (port, ==, 4242);
        }
    }
}

/* The messages that say what is wrong (the callers may pass them on). */
static void
test_messages (void)
{
  static const struct { const char *text; const char *says; } m[] = {
    { "", "empty" },
    { "127.0.0.1:94x", "'94x' is not a port (1..65535)" },
    { "127.0.0.1", "no port" },
    { "::1:9470", "brackets" },
    { "[::1]9470", "only ':PORT' may follow ']'" },
    { "[::1:9470", "no ']'" },
    { "[]:1", "no host" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (m); i++)
    {
      g_autoptr (GError) error = NULL;
      char *host = NULL;
      guint16 port = 0;
      g_assert_false (bf_parse_host_port (m[i].text, 0, &host, &port, &error));
      g_assert_nonnull (error);
      if (strstr (error->message, m[i].says) == NULL)
        g_error ("'%s': message '%s' lacks '%s'", m[i].text, error->message, m[i].says);
    }
  g_autoptr (GError) error = NULL;
  char *host = NULL;
  guint16 port = 0;
  g_assert_false (bf_parse_host_port (NULL, 3478, &host, &port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* A host of BF_HOST_PORT_MAX_HOST bytes is read; one more is refused, and
 * a very long value is refused without being quoted back whole. */
static void
test_length_bounds (void)
{
  g_autofree char *name = g_strnfill (BF_HOST_PORT_MAX_HOST, 'a');
  g_autofree char *text = g_strdup_printf ("%s:65535", name);
  g_autofree char *host = NULL;
  guint16 port = 0;
  g_assert_true (bf_parse_host_port (text, 0, &host, &port, NULL));
  g_assert_cmpuint (strlen (host), ==, BF_HOST_PORT_MAX_HOST);
  g_assert_cmpuint (port, ==, 65535);

  g_autofree char *longer = g_strdup_printf ("a%s:1", name);
  g_autofree char *host2 = NULL;
  g_autoptr (GError) e1 = NULL;
  g_assert_false (bf_parse_host_port (longer, 0, &host2, &port, &e1));
  g_assert_error (e1, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);

  g_autofree char *bracketed = g_strdup_printf ("[%s:1]", name);   /* 257 in brackets */
  g_autoptr (GError) e2 = NULL;
  g_assert_false (bf_parse_host_port (bracketed, 3478, &host2, &port, &e2));

  g_autofree char *huge = g_strnfill (1 << 20, '1');
  g_autoptr (GError) e3 = NULL;
  g_assert_false (bf_parse_host_port (huge, 3478, &host2, &port, &e3));
  g_assert_error (e3, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (strlen (e3->message), <, 200);
  g_assert_null (host2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/host-port/table", test_table);
  g_test_add_func ("/host-port/messages", test_messages);
  g_test_add_func ("/host-port/length-bounds", test_length_bounds);
  return g_test_run ();
}
