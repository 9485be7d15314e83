/* libFuzzer target: the remote candidate policy (relay/media/addr-policy.c),
 * which reads candidate addresses the caller wrote.
 *
 * Byte 0 picks belfry's addresses (public, private, loopback, dual-stack
 * with a known prefix), bytes 1-2 the port; the rest, up to its first NUL,
 * is the text, in a buffer of exactly its size, read both as a candidate
 * address and as an allow-peer-networks entry.  Checks:
 *   - nothing crashes; a refused network always says why;
 *   - a parsed network has a prefix within its family and contains its own
 *     address; allowed after it is added, the text (as an address) is
 *     allowed unless never-allowed or below port 1024;
 *   - a verdict ALLOWED only for a parsed address of an allowed kind (never
 *     invalid, unspecified, reserved, multicast, broadcast) and a port of
 *     at least 1024; the scope reported is bf_addr_classify's, or
 *     broadcast. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr-policy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const locals[][3] = {
  { "198.51.100.7/24", "2001:db8::7", NULL },
  { "10.0.0.1/8", NULL, NULL },
  { "127.0.0.1", "::1", NULL },
  { "100.64.0.1/10", "fd00::1", "169.254.1.1/16" },
};

static gboolean
never_allowed (BfAddrScope s)
{
  return s == BF_ADDR_SCOPE_INVALID || s == BF_ADDR_SCOPE_UNSPECIFIED
         || s == BF_ADDR_SCOPE_RESERVED || s == BF_ADDR_SCOPE_MULTICAST
         || s == BF_ADDR_SCOPE_BROADCAST;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 3)
    return 0;
  guint which = data[0] % G_N_ELEMENTS (locals);
  guint16 port = (guint16) (data[1] << 8 | data[2]);
  const uint8_t *body = data + 3;
  gsize n = size - 3;
  const uint8_t *nul = memchr (body, 0, n);
  if (nul)
    n = (gsize) (nul - body);
  char *s = malloc (n + 1);
  memcpy (s, body, n);
  s[n] = '\0';

  BfAddrPolicy p;
  bf_addr_policy_init (&p);
  for (guint i = 0; i < 3 && locals[which][i]; i++)
    {
      char **parts = g_strsplit (locals[which][i], "/", 2);
      bf_addr_policy_add_local (&p, parts[0], parts[1] ? atoi (parts[1]) : 0);
      g_strfreev (parts);
    }

  BfAddrScope scope;
  BfAddrVerdict v = bf_addr_policy_check (&p, s, port, &scope);
  BfAddrNet a;
  gboolean parsed = bf_addr_parse (s, &a);
  if (parsed != (scope != BF_ADDR_SCOPE_INVALID))
    abort ();
  if (parsed && scope != bf_addr_classify (&a) && scope != BF_ADDR_SCOPE_BROADCAST)
    abort ();
  if (v == BF_ADDR_VERDICT_ALLOWED && (never_allowed (scope) || port < BF_ADDR_MIN_PORT))
    abort ();
  if (never_allowed (scope) && v != BF_ADDR_VERDICT_SCOPE)
    abort ();

  BfAddrNet net;
  GError *error = NULL;
  if (bf_addr_net_parse (s, &net, &error))
    {
      if (error || (net.family != 4 && net.family != 6)
          || net.prefix > (net.family == 4 ? 32 : 128))
        abort ();
      BfAddrNet self = net;
      self.prefix = net.family == 4 ? 32 : 128;
      if (!bf_addr_net_contains (&net, &self))
        abort ();
      if (parsed)
        {
          bf_addr_policy_add_allowed (&p, &net);
          BfAddrVerdict w = bf_addr_policy_check (&p, s, port, &scope);
          if (w != BF_ADDR_VERDICT_ALLOWED && !never_allowed (scope) && port >= BF_ADDR_MIN_PORT)
            abort ();
        }
    }
  else if (error == NULL || error->message == NULL || error->message[0] == '\0')
    abort ();
  g_clear_error (&error);
  free (s);
  return 0;
}
