/* The proxy's SOCKS5 parser (modules/proxy65/socks5.c), against RFC 1928 as
 * XEP-0065 §6 uses it. */
#include <string.h>
#include <glib.h>

#include "socks5.h"

#define HASH "0123456789abcdef0123456789abcdef01234567"
#define HASH_UPPER "0123456789ABCDEF0123456789ABCDEF01234567"

static GByteArray *
request (guint8 ver, guint8 cmd, guint8 atyp, const char *host, gboolean with_port)
{
  GByteArray *b = g_byte_array_new ();
  guint8 head[] = { ver, cmd, 0, atyp, (guint8) strlen (host) };
  g_byte_array_append (b, head, sizeof head);
  g_byte_array_append (b, (const guint8 *) host, strlen (host));
  if (with_port)
    {
      guint8 port[] = { 0, 0 };
      g_byte_array_append (b, port, 2);
    }
  return b;
}

static void
test_greeting_ok (void)
{
  const guint8 g[] = { 5, 2, 2, 0 };
  guint8 reply[2];
  gsize need = 0;
  const char *why = NULL;
  g_assert_cmpint (p65_socks5_parse_greeting (g, 0, &need, reply, &why), ==, P65_SOCKS5_MORE);
  g_assert_cmpuint (need, ==, 2);
  g_assert_cmpint (p65_socks5_parse_greeting (g, 2, &need, reply, &why), ==, P65_SOCKS5_MORE);
  g_assert_cmpuint (need, ==, 4);
  g_assert_cmpint (p65_socks5_parse_greeting (g, 3, &need, reply, &why), ==, P65_SOCKS5_MORE);
  g_assert_cmpint (p65_socks5_parse_greeting (g, 4, &need, reply, &why), ==, P65_SOCKS5_OK);
  g_assert_cmpuint (need, ==, 4);
  g_assert_cmpuint (reply[0], ==, 5);
  g_assert_cmpuint (reply[1], ==, 0);
}

static void
test_greeting_refused (void)
{
  guint8 reply[2];
  gsize need = 0;
  const char *why = NULL;
  const guint8 no_auth_none[] = { 5, 2, 1, 2 };   /* GSSAPI, user/pass only */
  g_assert_cmpint (p65_socks5_parse_greeting (no_auth_none, 4, &need, reply, &why), ==,
                   P65_SOCKS5_REFUSE);
  g_assert_cmphex (reply[1], ==, 0xFF);
  g_assert_nonnull (why);
  const guint8 zero_methods[] = { 5, 0 };
  why = NULL;
  g_assert_cmpint (p65_socks5_parse_greeting (zero_methods, 2, &need, reply, &why), ==,
                   P65_SOCKS5_REFUSE);
  g_assert_cmphex (reply[1], ==, 0xFF);
  const guint8 socks4[] = { 4, 1, 0 };
  why = NULL;
  g_assert_cmpint (p65_socks5_parse_greeting (socks4, 1, &need, reply, &why), ==,
                   P65_SOCKS5_CLOSE);
  g_assert_nonnull (why);
}

static void
test_greeting_max_methods (void)
{
  guint8 g[257];
  g[0] = 5;
  g[1] = 255;
  for (int i = 0; i < 255; i++)
    g[2 + i] = (guint8) (254 - i);   /* 0x00 comes last */
  guint8 reply[2];
  gsize need = 0;
  const char *why = NULL;
  g_assert_cmpint (p65_socks5_parse_greeting (g, 2, &need, reply, &why), ==, P65_SOCKS5_MORE);
  g_assert_cmpuint (need, ==, 257);
  g_assert_cmpuint (need, <=, P65_SOCKS5_MAX_REPLY);
  g_assert_cmpint (p65_socks5_parse_greeting (g, 257, &need, reply, &why), ==, P65_SOCKS5_OK);
}

static void
test_request_ok (void)
{
  g_autoptr (GByteArray) r = request (5, 1, 3, HASH_UPPER, TRUE);
  char hash[P65_HASH_LEN + 1];
  guint8 rep = 0xAA;
  gsize need = 0;
  const char *why = NULL;
  /* Byte by byte, the parser asks for the header, then the whole request. */
  g_assert_cmpint (p65_socks5_parse_request (r->data, 3, &need, hash, &rep, &why), ==,
                   P65_SOCKS5_MORE);
  g_assert_cmpuint (need, ==, 5);
  g_assert_cmpint (p65_socks5_parse_request (r->data, 5, &need, hash, &rep, &why), ==,
                   P65_SOCKS5_MORE);
  g_assert_cmpuint (need, ==, 47);
  g_assert_cmpint (p65_socks5_parse_request (r->data, 46, &need, hash, &rep, &why), ==,
                   P65_SOCKS5_MORE);
  g_assert_cmpint (p65_socks5_parse_request (r->data, 47, &need, hash, &rep, &why), ==,
                   P65_SOCKS5_OK);
  g_assert_cmpstr (hash, ==, HASH);   /* compared lower-case */
  g_assert_cmpuint (rep, ==, P65_REP_SUCCEEDED);

  guint8 out[P65_SOCKS5_MAX_REPLY];
  gsize n = p65_socks5_build_reply (P65_REP_SUCCEEDED, hash, out);
  g_assert_cmpuint (n, ==, 47);
  const guint8 head[] = { 5, 0, 0, 3, 40 };
  g_assert_cmpmem (out, 5, head, 5);
  g_assert_cmpmem (out + 5, 40, HASH, 40);
  g_assert_cmpuint (out[45], ==, 0);
  g_assert_cmpuint (out[46], ==, 0);
}

typedef struct {
  guint8 ver, cmd, atyp;
  const char *host;
  P65Socks5Result result;
  guint8 rep;
} BadCase;

static void
test_request_refusals (void)
{
  const BadCase cases[] = {
    { 4, 1, 3, HASH, P65_SOCKS5_CLOSE, 0 },
    { 5, 2, 3, HASH, P65_SOCKS5_REFUSE, P65_REP_COMMAND_NOT_SUPPORTED },   /* BIND */
    { 5, 3, 3, HASH, P65_SOCKS5_REFUSE, P65_REP_COMMAND_NOT_SUPPORTED },   /* UDP */
    { 5, 1, 1, HASH, P65_SOCKS5_REFUSE, P65_REP_ADDRESS_NOT_SUPPORTED },   /* IPv4 */
    { 5, 1, 4, HASH, P65_SOCKS5_REFUSE, P65_REP_ADDRESS_NOT_SUPPORTED },   /* IPv6 */
    { 5, 1, 3, "0123456789abcdef0123456789abcdef0123456", P65_SOCKS5_REFUSE,
      P65_REP_HOST_UNREACHABLE },                                           /* 39 chars */
    { 5, 1, 3, "0123456789abcdef0123456789abcdef0123456g", P65_SOCKS5_REFUSE,
      P65_REP_HOST_UNREACHABLE },                                           /* not hex */
    { 5, 1, 3, "example.org", P65_SOCKS5_REFUSE, P65_REP_HOST_UNREACHABLE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const BadCase *c = &cases[i];
      g_autoptr (GByteArray) r = request (c->ver, c->cmd, c->atyp, c->host, TRUE);
      char hash[P65_HASH_LEN + 1];
      guint8 rep = 0xAA;
      gsize need = 0;
      const char *why = NULL;
      P65Socks5Result got = p65_socks5_parse_request (r->data, r->len, &need, hash, &rep, &why);
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, why ? why : "(no reason)");
      g_assert_cmpint (got, ==, c->result);
      g_assert_nonnull (why);
      if (got == P65_SOCKS5_REFUSE)
        {
          g_assert_cmphex (rep, ==, c->rep);
          guint8 out[P65_SOCKS5_MAX_REPLY];
          gsize n = p65_socks5_build_reply (rep, NULL, out);
          const guint8 expect[] = { 5, c->rep, 0, 1, 0, 0, 0, 0, 0, 0 };
          g_assert_cmpmem (out, n, expect, sizeof expect);
        }
    }
}

static void
test_request_oversized_host (void)
{
  /* 255 characters: refused on the length byte, without reading them. */
  char host[256];
  memset (host, 'a', 255);
  host[255] = '\0';
  g_autoptr (GByteArray) r = request (5, 1, 3, host, TRUE);
  char hash[P65_HASH_LEN + 1];
  guint8 rep;
  gsize need = 0;
  const char *why = NULL;
  g_assert_cmpint (p65_socks5_parse_request (r->data, 5, &need, hash, &rep, &why), ==,
                   P65_SOCKS5_REFUSE);
  g_assert_cmphex (rep, ==, P65_REP_HOST_UNREACHABLE);
}

static void
test_request_any_port (void)
{
  g_autoptr (GByteArray) r = request (5, 1, 3, HASH, FALSE);
  const guint8 port[] = { 0x1f, 0x90 };
  g_byte_array_append (r, port, 2);
  char hash[P65_HASH_LEN + 1];
  guint8 rep;
  gsize need = 0;
  const char *why = NULL;
  g_assert_cmpint (p65_socks5_parse_request (r->data, r->len, &need, hash, &rep, &why), ==,
                   P65_SOCKS5_OK);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/socks5/greeting/ok", test_greeting_ok);
  g_test_add_func ("/socks5/greeting/refused", test_greeting_refused);
  g_test_add_func ("/socks5/greeting/255-methods", test_greeting_max_methods);
  g_test_add_func ("/socks5/request/ok", test_request_ok);
  g_test_add_func ("/socks5/request/refusals", test_request_refusals);
  g_test_add_func ("/socks5/request/oversized-host", test_request_oversized_host);
  g_test_add_func ("/socks5/request/any-port", test_request_any_port);
  return g_test_run ();
}
