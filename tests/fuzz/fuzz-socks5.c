/* libFuzzer target: the proxy's SOCKS5 parser (modules/proxy65/socks5.c),
 * driven the way the proxy drives it: it reads exactly the bytes the parser
 * asks for, first the greeting, then the request.  Checks the invariants
 * the proxy relies on: a MORE answer asks for more than it has and never
 * for more than the connection buffer holds; an OK request yields 40
 * lower-case hex characters; replies fit their buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks5.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static size_t
run (const uint8_t *data, size_t size, gboolean greeting)
{
  guint8 buf[P65_SOCKS5_MAX_REPLY];
  gsize have = 0, need = greeting ? 2 : 5;
  size_t used = 0;
  for (;;)
    {
      if (need > sizeof buf)
        abort ();
      size_t take = MIN (need - have, size - used);
      memcpy (buf + have, data + used, take);
      have += take;
      used += take;
      if (have < need)
        return SIZE_MAX;   /* input ran out: the proxy would wait */
      const char *why = NULL;
      gsize next = 0;
      P65Socks5Result r;
      char hash[P65_HASH_LEN + 1];
      if (greeting)
        {
          guint8 reply[2];
          r = p65_socks5_parse_greeting (buf, have, &next, reply, &why);
          if (r == P65_SOCKS5_OK && reply[1] != 0)
            abort ();
        }
      else
        {
          guint8 rep = 0xAA;
          r = p65_socks5_parse_request (buf, have, &next, hash, &rep, &why);
          if (r == P65_SOCKS5_OK)
            {
              if (strlen (hash) != P65_HASH_LEN || rep != P65_REP_SUCCEEDED)
                abort ();
              for (int i = 0; i < P65_HASH_LEN; i++)
                if (!g_ascii_isxdigit (hash[i]) || g_ascii_isupper (hash[i]))
                  abort ();
              guint8 out[P65_SOCKS5_MAX_REPLY];
              if (p65_socks5_build_reply (rep, hash, out) != 47)
                abort ();
            }
          else if (r == P65_SOCKS5_REFUSE)
            {
              guint8 out[P65_SOCKS5_MAX_REPLY];
              if (rep == P65_REP_SUCCEEDED || p65_socks5_build_reply (rep, NULL, out) != 10)
                abort ();
            }
        }
      if (r == P65_SOCKS5_MORE)
        {
          if (next <= have)
            abort ();   /* would loop forever */
          need = next;
          continue;
        }
      if ((r == P65_SOCKS5_REFUSE || r == P65_SOCKS5_CLOSE) && why == NULL)
        abort ();       /* every refusal is logged with a reason */
      return r == P65_SOCKS5_OK ? used : SIZE_MAX;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t used = run (data, size, TRUE);
  if (used != SIZE_MAX)
    run (data + used, size - used, FALSE);
  return 0;
}
