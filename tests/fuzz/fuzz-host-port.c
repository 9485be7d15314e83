/* libFuzzer target: bf_parse_host_port (relay/host-port.c), the reader of
 * every host:port configuration value.
 *
 * The input (NUL-terminated) is read twice, with a port required and with
 * a default.  A success must respect the rules the callers rely on: a
 * non-empty host of at most BF_HOST_PORT_MAX_HOST bytes with no space,
 * control character or bracket, found in the text; a port 1..65535, the
 * default only when the text names none.  A failure must leave the
 * outputs alone and say why. */
#include <string.h>
#include <stdlib.h>
#include <stdint.h>

#include <gio/gio.h>
#include <belfry/module.h>

static void
check (const char *text, guint16 default_port)
{
  char *host = NULL;
  guint16 port = 0;
  GError *error = NULL;
  if (bf_parse_host_port (text, default_port, &host, &port, &error))
    {
      if (error != NULL || host == NULL)
        abort ();
      gsize n = strlen (host);
      if (n == 0 || n > BF_HOST_PORT_MAX_HOST || strstr (text, host) == NULL)
        abort ();
      for (gsize i = 0; i < n; i++)
        if ((guchar) host[i] <= ' ' || host[i] == 0x7f || host[i] == '[' || host[i] == ']')
          abort ();
      if (port == 0)
        abort ();
      /* The port is the text's own (its trailing digits, after a ':')
       * unless it names none. */
      if (port != default_port)
        {
          gsize len = strlen (text), d = len;
          while (d > 0 && g_ascii_isdigit (text[d - 1]))
            d--;
          if (d == 0 || d == len || text[d - 1] != ':'
              || g_ascii_strtoull (text + d, NULL, 10) != port)
            abort ();
        }
      g_free (host);
    }
  else
    {
      if (error == NULL || error->domain != G_IO_ERROR
          || error->code != G_IO_ERROR_INVALID_ARGUMENT || host != NULL || port != 0)
        abort ();
      g_error_free (error);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size > 4096)
    return 0;
  char *text = g_strndup ((const char *) data, size);   /* stops at a NUL */
  check (text, 0);
  check (text, 3478);
  g_free (text);
  return 0;
}
