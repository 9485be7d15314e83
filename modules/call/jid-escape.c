#include "jid-escape.h"

#include <string.h>

/* XEP-0106 §4.2: the characters and their escape sequences. */
static const char escapable[] = " \"&'/:<>@\\";

/* XEP-0106 §3.1: the sequences are lower case ("\\2f", not "\\2F"). */
static int
hexval (char c)
{
  return g_ascii_isupper (c) ? -1 : g_ascii_xdigit_value (c);
}

/* The character @p's "\xx" stands for, or 0 if it is no escape sequence. */
static char
escaped_char (const char *p)
{
  if (p[0] != '\\' || p[1] == '\0' || p[2] == '\0')
    return 0;
  int hi = hexval (p[1]), lo = hexval (p[2]);
  if (hi < 0 || lo < 0)
    return 0;
  char c = (char) (hi * 16 + lo);
  return c != '\0' && strchr (escapable, c) ? c : 0;
}

char *
call_jid_escape (const char *s)
{
  GString *out = g_string_sized_new (strlen (s) + 8);
  for (const char *p = s; *p; p++)
    {
      if ((*p == '\\' && escaped_char (p)) || (*p != '\\' && strchr (escapable, *p)))
        g_string_append_printf (out, "\\%02x", (guint) (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

char *
call_jid_unescape (const char *s, gsize max_len)
{
  gsize len = strnlen (s, max_len);
  if (s[len] != '\0' || len > G_MAXSSIZE || !g_utf8_validate (s, (gssize) len, NULL))
    return NULL;
  GString *out = g_string_sized_new (len);
  for (const char *p = s; *p;)
    {
      char c = escaped_char (p);
      if (c)
        {
          g_string_append_c (out, c);
          p += 3;
        }
      else
        g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}
