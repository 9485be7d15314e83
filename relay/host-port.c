/* The one host:port reader (bf_parse_host_port, declared in
 * include/belfry/module.h): [metrics] listen, [media] stun and turn,
 * [proxy65] listen and advertise all go through it, so "[::1]:9470" means
 * the same everywhere.  Pure code: no I/O, no state, any thread. */
#include <string.h>
#include <gio/gio.h>

#include <belfry/module.h>

/* "[" host "]" ":" 5 digits */
#define MAX_TEXT (BF_HOST_PORT_MAX_HOST + 8)

static gboolean
malformed (GError **error, const char *text, const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "'%s' is not host:port (%s)", text, why);
  return FALSE;
}

gboolean
bf_parse_host_port (const char *text, guint16 default_port, char **host, guint16 *port,
                    GError **error)
{
  if (text == NULL || *text == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "empty");
      return FALSE;
    }
  /* Bounded before anything else reads it (or quotes it in an error). */
  gsize len = strnlen (text, MAX_TEXT + 1);
  if (len > MAX_TEXT)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "longer than %d bytes: not host:port", MAX_TEXT);
      return FALSE;
    }

  const char *h;          /* the host, h_len bytes */
  gsize h_len;
  const char *port_text;  /* NULL: no port given */
  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');
      if (close == NULL)
        return malformed (error, text, "no ']' after '['");
      if (close[1] != '\0' && close[1] != ':')
        return malformed (error, text, "only ':PORT' may follow ']'");
      h = text + 1;
      h_len = close - h;
      port_text = close[1] == ':' ? close + 2 : NULL;
    }
  else
    {
      const char *colon = strchr (text, ':');
      h = text;
      if (colon == NULL)
        {
          h_len = len;
          port_text = NULL;
        }
      else if (strchr (colon + 1, ':') == NULL)
        {
          h_len = colon - text;
          port_text = colon + 1;
        }
      else if (default_port != 0)
        {
          h_len = len;      /* a bare IPv6 address, no port */
          port_text = NULL;
        }
      else
        return malformed (error, text, "an IPv6 address goes in brackets: [::1]:9470");
    }

  if (h_len == 0)
    return malformed (error, text, "no host");
  if (h_len > BF_HOST_PORT_MAX_HOST)
    return malformed (error, text, "the host is too long");
  for (gsize i = 0; i < h_len; i++)
    {
      guchar c = (guchar) h[i];
      if (c <= ' ' || c == 0x7f || c == '[' || c == ']')
        return malformed (error, text, "a space, control character or bracket in the host");
    }

  guint16 p = default_port;
  if (port_text == NULL)
    {
      if (default_port == 0)
        return malformed (error, text, "no port");
    }
  else
    {
      guint64 v;
      /* Decimal digits only: no sign, no space, nothing after.  Checked
       * here because g_ascii_string_to_unsigned lets a leading '\v'
       * through (strtoull skips it; its own space check does not know
       * it), which the fuzzer found. */
      gsize digits = strspn (port_text, "0123456789");
      if (digits == 0 || port_text[digits] != '\0'
          || !g_ascii_string_to_unsigned (port_text, 10, 1, 65535, &v, NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "'%s' is not a port (1..65535)", port_text);
          return FALSE;
        }
      p = (guint16) v;
    }

  *host = g_strndup (h, h_len);
  *port = p;
  return TRUE;
}
