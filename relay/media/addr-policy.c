/* belfry media: address scopes and the remote candidate policy (see
 * addr-policy.h). */
#include "addr-policy.h"

#include <string.h>
#include <arpa/inet.h>

G_DEFINE_QUARK (bf-addr-error-quark, bf_addr_error)

static const guint8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const guint8 nat64_prefix[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

/* An IPv4-mapped IPv6 address is its IPv4 address (one family, one rule). */
static void
normalise (BfAddrNet *a)
{
  if (a->family == 6 && memcmp (a->bytes, v4_mapped_prefix, 12) == 0)
    {
      memmove (a->bytes, a->bytes + 12, 4);
      memset (a->bytes + 4, 0, 12);
      a->family = 4;
      a->prefix = a->prefix >= 96 ? a->prefix - 96 : 0;
    }
}

gboolean
bf_addr_parse (const char *text, BfAddrNet *addr)
{
  memset (addr, 0, sizeof *addr);
  if (text == NULL)
    return FALSE;
  if (inet_pton (AF_INET, text, addr->bytes) == 1)
    {
      addr->family = 4;
      addr->prefix = 32;
      return TRUE;
    }
  if (inet_pton (AF_INET6, text, addr->bytes) == 1)
    {
      addr->family = 6;
      addr->prefix = 128;
      normalise (addr);
      return TRUE;
    }
  memset (addr, 0, sizeof *addr);
  return FALSE;
}

static guint
max_prefix (const BfAddrNet *a)
{
  return a->family == 4 ? 32 : 128;
}

/* The first @bits bits of @a and @b are equal. */
static gboolean
prefix_equal (const guint8 *a, const guint8 *b, guint bits)
{
  guint full = bits / 8, rest = bits % 8;
  if (memcmp (a, b, full) != 0)
    return FALSE;
  if (rest == 0)
    return TRUE;
  guint8 mask = (guint8) (0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

gboolean
bf_addr_net_parse (const char *text, BfAddrNet *net, GError **error)
{
  memset (net, 0, sizeof *net);
  if (text == NULL || *text == '\0' || strlen (text) > 64)
    {
      g_set_error (error, BF_ADDR_ERROR, 0,
                   "'%s' is not a network (ADDRESS/PREFIX)", text ? text : "");
      return FALSE;
    }
  g_autofree char *addr_text = NULL;
  const char *slash = strchr (text, '/');
  guint64 prefix = 0;
  gboolean have_prefix = slash != NULL;
  addr_text = have_prefix ? g_strndup (text, slash - text) : g_strdup (text);
  if (have_prefix && !g_ascii_string_to_unsigned (slash + 1, 10, 0, 128, &prefix, NULL))
    {
      g_set_error (error, BF_ADDR_ERROR, 0,
                   "'%s': the prefix length is not a number 0..128", text);
      return FALSE;
    }
  BfAddrNet a;
  if (inet_pton (AF_INET, addr_text, a.bytes) == 1)
    a.family = 4;
  else if (inet_pton (AF_INET6, addr_text, a.bytes) == 1)
    a.family = 6;
  else
    {
      g_set_error (error, BF_ADDR_ERROR, 0,
                   "'%s' is not an IP address or network (ADDRESS/PREFIX)", text);
      return FALSE;
    }
  if (a.family == 4)
    memset (a.bytes + 4, 0, 12);
  a.prefix = have_prefix ? (guint8) prefix : (guint8) max_prefix (&a);
  if (a.prefix > max_prefix (&a))
    {
      g_set_error (error, BF_ADDR_ERROR, 0,
                   "'%s': an IPv%u prefix is at most %u bits", text, a.family, max_prefix (&a));
      return FALSE;
    }
  /* Host bits set is almost always a typo (10.1.2.3/8 for 10.1.2.3/32?):
   * refuse it rather than guess. */
  BfAddrNet zeroed = a;
  guint full = a.prefix / 8, rest = a.prefix % 8;
  if (rest)
    zeroed.bytes[full] &= (guint8) (0xff << (8 - rest));
  memset (zeroed.bytes + full + (rest ? 1 : 0), 0,
          max_prefix (&a) / 8 - full - (rest ? 1 : 0));
  if (memcmp (zeroed.bytes, a.bytes, sizeof a.bytes) != 0)
    {
      char shown[INET6_ADDRSTRLEN];
      inet_ntop (a.family == 4 ? AF_INET : AF_INET6, zeroed.bytes, shown, sizeof shown);
      g_set_error (error, BF_ADDR_ERROR, 0,
                   "'%s' has host bits set (the network is %s/%u)", text, shown, a.prefix);
      return FALSE;
    }
  /* ::ffff:10.0.0.0/104 is 10.0.0.0/8; a mapped network shorter than /96
   * reaches past the mapped range, and is an IPv6 network as written. */
  if (a.family == 6 && a.prefix >= 96)
    normalise (&a);
  *net = a;
  return TRUE;
}

gboolean
bf_addr_net_contains (const BfAddrNet *net, const BfAddrNet *addr)
{
  return net->family == addr->family && net->prefix <= max_prefix (net)
         && prefix_equal (net->bytes, addr->bytes, net->prefix);
}

static BfAddrScope
classify_v4 (const guint8 *b)
{
  guint32 a = ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
  if (a == 0)
    return BF_ADDR_SCOPE_UNSPECIFIED;
  if (a == 0xffffffffu)
    return BF_ADDR_SCOPE_BROADCAST;
  if (b[0] == 0 || b[0] >= 240)
    return BF_ADDR_SCOPE_RESERVED;
  if (b[0] == 127)
    return BF_ADDR_SCOPE_LOOPBACK;
  if (b[0] == 169 && b[1] == 254)
    return BF_ADDR_SCOPE_LINK_LOCAL;
  if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168))
    return BF_ADDR_SCOPE_PRIVATE;
  if (b[0] == 100 && (b[1] & 0xc0) == 64)
    return BF_ADDR_SCOPE_SHARED;
  if (b[0] >= 224)
    return BF_ADDR_SCOPE_MULTICAST;
  return BF_ADDR_SCOPE_PUBLIC;
}

static BfAddrScope
classify_v6 (const guint8 *b)
{
  static const guint8 zero[16] = { 0 };
  if (memcmp (b, zero, 16) == 0)
    return BF_ADDR_SCOPE_UNSPECIFIED;
  if (memcmp (b, zero, 15) == 0 && b[15] == 1)
    return BF_ADDR_SCOPE_LOOPBACK;
  if (memcmp (b, zero, 12) == 0)
    return BF_ADDR_SCOPE_RESERVED;          /* IPv4-compatible ::a.b.c.d */
  if (b[0] == 0xff)
    return BF_ADDR_SCOPE_MULTICAST;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return BF_ADDR_SCOPE_LINK_LOCAL;
  if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
    return BF_ADDR_SCOPE_PRIVATE;
  if (b[0] == 0x20 && b[1] == 0x02)
    {
      /* 6to4: 2002:AABB:CCDD::/48 carries A.B.C.D; 2002:7f00:1:: would
       * reach the relay gateway's loopback, 2002:a00:1:: a private host. */
      return classify_v4 (b + 2);
    }
  if (memcmp (b, nat64_prefix, 12) == 0)
    return classify_v4 (b + 12);
  if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1)
    return BF_ADDR_SCOPE_PRIVATE;           /* 64:ff9b:1::/48, local-use NAT64 */
  return BF_ADDR_SCOPE_PUBLIC;
}

BfAddrScope
bf_addr_classify (const BfAddrNet *addr)
{
  switch (addr->family)
    {
    case 4:
      return classify_v4 (addr->bytes);
    case 6:
      return classify_v6 (addr->bytes);
    default:
      return BF_ADDR_SCOPE_INVALID;
    }
}

static const char *const scope_names[] = {
  [BF_ADDR_SCOPE_INVALID] = "invalid",
  [BF_ADDR_SCOPE_UNSPECIFIED] = "unspecified",
  [BF_ADDR_SCOPE_RESERVED] = "reserved",
  [BF_ADDR_SCOPE_LOOPBACK] = "loopback",
  [BF_ADDR_SCOPE_LINK_LOCAL] = "link-local",
  [BF_ADDR_SCOPE_PRIVATE] = "private",
  [BF_ADDR_SCOPE_SHARED] = "shared",
  [BF_ADDR_SCOPE_PUBLIC] = "public",
  [BF_ADDR_SCOPE_MULTICAST] = "multicast",
  [BF_ADDR_SCOPE_BROADCAST] = "broadcast",
};

const char *
bf_addr_scope_name (BfAddrScope scope)
{
  return (guint) scope < G_N_ELEMENTS (scope_names) ? scope_names[scope] : "invalid";
}

const char *
bf_addr_reason_name (guint reason)
{
  return reason == BF_ADDR_REASON_PORT ? "port" : bf_addr_scope_name ((BfAddrScope) reason);
}

void
bf_addr_policy_init (BfAddrPolicy *p)
{
  memset (p, 0, sizeof *p);
}

gboolean
bf_addr_policy_add_local (BfAddrPolicy *p, const char *address, guint prefix)
{
  BfAddrNet a;
  if (p->n_local >= BF_ADDR_POLICY_MAX_LOCAL || !bf_addr_parse (address, &a))
    return FALSE;
  /* An IPv4-mapped address had its 96 bits of mapping taken off above. */
  if (prefix != 0 && prefix <= 128)
    a.prefix = (guint8) (a.family == 4 && prefix > 32 ? (prefix >= 96 ? prefix - 96 : 0)
                                                       : prefix);
  if (a.prefix > max_prefix (&a))
    a.prefix = (guint8) max_prefix (&a);
  p->local[p->n_local++] = a;
  return TRUE;
}

gboolean
bf_addr_policy_add_allowed (BfAddrPolicy *p, const BfAddrNet *net)
{
  if (p->n_allow >= BF_ADDR_POLICY_MAX_ALLOW || (net->family != 4 && net->family != 6))
    return FALSE;
  p->allow[p->n_allow++] = *net;
  return TRUE;
}

/* The peer scopes one of belfry's addresses can reach, as a bit set. */
static guint
reachable_from (BfAddrScope local)
{
#define BIT(s) (1u << (s))
  switch (local)
    {
    case BF_ADDR_SCOPE_PUBLIC:
    case BF_ADDR_SCOPE_UNSPECIFIED:
      return BIT (BF_ADDR_SCOPE_PUBLIC);
    case BF_ADDR_SCOPE_PRIVATE:
    case BF_ADDR_SCOPE_SHARED:
      return BIT (BF_ADDR_SCOPE_PRIVATE) | BIT (BF_ADDR_SCOPE_SHARED) | BIT (BF_ADDR_SCOPE_PUBLIC);
    case BF_ADDR_SCOPE_LINK_LOCAL:
      return BIT (BF_ADDR_SCOPE_LINK_LOCAL);
    case BF_ADDR_SCOPE_LOOPBACK:
      return BIT (BF_ADDR_SCOPE_LOOPBACK);
    default:
      return 0;
    }
}

/* The directed broadcast address (all host bits set) of an IPv4 network
 * of ours: a /31 or /32 has none (RFC 3021). */
static gboolean
is_directed_broadcast (const BfAddrNet *local, const BfAddrNet *a)
{
  if (local->family != 4 || a->family != 4 || local->prefix > 30)
    return FALSE;
  if (!prefix_equal (local->bytes, a->bytes, local->prefix))
    return FALSE;
  for (guint bit = local->prefix; bit < 32; bit++)
    if (!(a->bytes[bit / 8] & (0x80 >> (bit % 8))))
      return FALSE;
  return TRUE;
}

BfAddrVerdict
bf_addr_policy_check (const BfAddrPolicy *p, const char *address, guint16 port,
                      BfAddrScope *scope_out)
{
  BfAddrNet a;
  BfAddrScope scope = bf_addr_parse (address, &a) ? bf_addr_classify (&a)
                                                  : BF_ADDR_SCOPE_INVALID;
  for (guint i = 0; scope != BF_ADDR_SCOPE_INVALID && i < p->n_local; i++)
    if (is_directed_broadcast (&p->local[i], &a))
      scope = BF_ADDR_SCOPE_BROADCAST;
  if (scope_out)
    *scope_out = scope;

  switch (scope)
    {
    case BF_ADDR_SCOPE_INVALID:
    case BF_ADDR_SCOPE_UNSPECIFIED:
    case BF_ADDR_SCOPE_RESERVED:
    case BF_ADDR_SCOPE_MULTICAST:
    case BF_ADDR_SCOPE_BROADCAST:
    case BF_ADDR_SCOPE_COUNT:
      return BF_ADDR_VERDICT_SCOPE;       /* never, whatever is configured */
    default:
      break;
    }

  gboolean allowed = FALSE;
  for (guint i = 0; !allowed && i < p->n_allow; i++)
    allowed = bf_addr_net_contains (&p->allow[i], &a);
  if (!allowed)
    {
      guint reach = 0;
      gboolean family_seen = FALSE;
      for (guint i = 0; i < p->n_local; i++)
        if (p->local[i].family == a.family)
          {
            family_seen = TRUE;
            reach |= reachable_from (bf_addr_classify (&p->local[i]));
          }
      if (!family_seen)
        reach = BIT (BF_ADDR_SCOPE_PUBLIC);
      allowed = (reach & BIT (scope)) != 0;
    }
  if (!allowed)
    return BF_ADDR_VERDICT_SCOPE;
  /* Port 0 cannot be sent to; below 1024 live the services a check could
   * poke (DNS, NTP, syslog...), and no ICE stack gathers there. */
  if (port < BF_ADDR_MIN_PORT)
    return BF_ADDR_VERDICT_PORT;
  return BF_ADDR_VERDICT_ALLOWED;
#undef BIT
}
