/* libFuzzer target: the call module's XEP-0106 JID escaping
 * (modules/call/jid-escape.c).
 *
 * Byte 0 picks a max_len for unescaping; the rest, up to its first NUL, is
 * the string, in a buffer of exactly its size.  Checks:
 *   - unescape never crashes, and returns NULL exactly when the input is
 *     longer than max_len or not valid UTF-8; what it returns is valid
 *     UTF-8 and no longer than the input;
 *   - for valid UTF-8: the escaped form holds none of the characters a
 *     localpart may not (space " & ' / : < > @), and unescaping it gives
 *     the input back (with max_len its exact length; one byte less is
 *     refused);
 *   - unescaping is stable once escaped: escape (unescape (x)) unescapes
 *     to unescape (x). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jid-escape.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  gsize max_len = data[0] == 0xFF ? G_MAXSIZE - 1 : data[0] * 16u;
  const uint8_t *body = data + 1;
  gsize n = size - 1;
  const uint8_t *nul = memchr (body, 0, n);
  if (nul)
    n = (gsize) (nul - body);
  char *s = malloc (n + 1);
  memcpy (s, body, n);
  s[n] = '\0';
  gboolean valid = g_utf8_validate (s, (gssize) n, NULL);

  char *u = call_jid_unescape (s, max_len);
  if ((u != NULL) != (valid && n <= max_len))
    abort ();
  if (u)
    {
      gsize ul = strlen (u);
      if (ul > n || !g_utf8_validate (u, (gssize) ul, NULL))
        abort ();
      char *e2 = call_jid_escape (u);
      char *u2 = call_jid_unescape (e2, strlen (e2));
      if (u2 == NULL || strcmp (u2, u) != 0)
        abort ();
      g_free (u2);
      g_free (e2);
    }
  g_free (u);

  char *e = call_jid_escape (s);   /* any bytes: must not crash */
  if (valid)
    {
      if (strpbrk (e, " \"&'/:<>@") != NULL)
        abort ();
      gsize el = strlen (e);
      char *back = call_jid_unescape (e, el);
      if (back == NULL || strcmp (back, s) != 0)
        abort ();
      g_free (back);
      if (el > 0 && call_jid_unescape (e, el - 1) != NULL)
        abort ();
    }
  g_free (e);
  free (s);
  return 0;
}
