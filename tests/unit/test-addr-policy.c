/* Unit tests: address scopes and the remote candidate policy
 * (relay/media/addr-policy.c), table-driven. */
#include <string.h>
#include <glib.h>

#include "addr-policy.h"

typedef struct {
  const char *address;
  BfAddrScope scope;
} ScopeCase;

static const ScopeCase scope_cases[] = {
  /* IPv4 */
  { "0.0.0.0", BF_ADDR_SCOPE_UNSPECIFIED },
  { "0.1.2.3", BF_ADDR_SCOPE_RESERVED },
  { "240.0.0.1", BF_ADDR_SCOPE_RESERVED },
  { "127.0.0.1", BF_ADDR_SCOPE_LOOPBACK },
  { "127.255.0.9", BF_ADDR_SCOPE_LOOPBACK },
  { "169.254.7.7", BF_ADDR_SCOPE_LINK_LOCAL },
  { "10.0.0.1", BF_ADDR_SCOPE_PRIVATE },
  { "10.255.255.254", BF_ADDR_SCOPE_PRIVATE },
  { "172.16.0.1", BF_ADDR_SCOPE_PRIVATE },
  { "172.31.255.1", BF_ADDR_SCOPE_PRIVATE },
  { "172.15.0.1", BF_ADDR_SCOPE_PUBLIC },
  { "172.32.0.1", BF_ADDR_SCOPE_PUBLIC },
  { "192.168.1.1", BF_ADDR_SCOPE_PRIVATE },
  { "192.169.1.1", BF_ADDR_SCOPE_PUBLIC },
  { "100.64.0.1", BF_ADDR_SCOPE_SHARED },
  { "100.127.255.254", BF_ADDR_SCOPE_SHARED },
  { "100.63.0.1", BF_ADDR_SCOPE_PUBLIC },
  { "100.128.0.1", BF_ADDR_SCOPE_PUBLIC },
  { "224.0.0.1", BF_ADDR_SCOPE_MULTICAST },
  { "239.255.255.250", BF_ADDR_SCOPE_MULTICAST },
  { "255.255.255.255", BF_ADDR_SCOPE_BROADCAST },
  { "192.0.2.1", BF_ADDR_SCOPE_PUBLIC },           /* documentation: public */
  { "198.51.100.7", BF_ADDR_SCOPE_PUBLIC },
  { "203.0.113.9", BF_ADDR_SCOPE_PUBLIC },
  { "8.8.8.8", BF_ADDR_SCOPE_PUBLIC },
  /* IPv6 */
  { "::", BF_ADDR_SCOPE_UNSPECIFIED },
  { "::1", BF_ADDR_SCOPE_LOOPBACK },
  { "::10.0.0.1", BF_ADDR_SCOPE_RESERVED },        /* IPv4-compatible */
  { "fe80::1", BF_ADDR_SCOPE_LINK_LOCAL },
  { "febf::1", BF_ADDR_SCOPE_LINK_LOCAL },
  { "fec0::1", BF_ADDR_SCOPE_PRIVATE },            /* old site-local */
  { "fc00::1", BF_ADDR_SCOPE_PRIVATE },
  { "fd12:3456::1", BF_ADDR_SCOPE_PRIVATE },
  { "ff02::1", BF_ADDR_SCOPE_MULTICAST },
  { "ff0e::1", BF_ADDR_SCOPE_MULTICAST },
  { "2001:db8::1", BF_ADDR_SCOPE_PUBLIC },         /* documentation: public */
  { "2a00:1450::1", BF_ADDR_SCOPE_PUBLIC },
  /* IPv4-mapped: its IPv4 address */
  { "::ffff:127.0.0.1", BF_ADDR_SCOPE_LOOPBACK },
  { "::ffff:10.1.2.3", BF_ADDR_SCOPE_PRIVATE },
  { "::ffff:169.254.1.1", BF_ADDR_SCOPE_LINK_LOCAL },
  { "::ffff:255.255.255.255", BF_ADDR_SCOPE_BROADCAST },
  { "::ffff:0.0.0.0", BF_ADDR_SCOPE_UNSPECIFIED },
  { "::ffff:198.51.100.1", BF_ADDR_SCOPE_PUBLIC },
  /* 6to4 and NAT64: the IPv4 address they embed */
  { "2002:7f00:1::1", BF_ADDR_SCOPE_LOOPBACK },
  { "2002:a00:1::1", BF_ADDR_SCOPE_PRIVATE },
  { "2002:c633:6407::1", BF_ADDR_SCOPE_PUBLIC },
  { "64:ff9b::10.0.0.1", BF_ADDR_SCOPE_PRIVATE },
  { "64:ff9b::127.0.0.1", BF_ADDR_SCOPE_LOOPBACK },
  { "64:ff9b::198.51.100.1", BF_ADDR_SCOPE_PUBLIC },
  { "64:ff9b:1::1", BF_ADDR_SCOPE_PRIVATE },
};

static void
test_scopes (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (scope_cases); i++)
    {
      BfAddrNet a;
      g_assert_true (bf_addr_parse (scope_cases[i].address, &a));
      BfAddrScope got = bf_addr_classify (&a);
      if (got != scope_cases[i].scope)
        g_error ("%s: scope %s, expected %s", scope_cases[i].address, bf_addr_scope_name (got),
                 bf_addr_scope_name (scope_cases[i].scope));
    }
  const char *not_ip[] = { "", "example.org", "1.2.3", "1.2.3.256", "fe80::1%eth0", "[::1]",
                           "::1/128", " 1.2.3.4", "a.local" };
  for (guint i = 0; i < G_N_ELEMENTS (not_ip); i++)
    {
      BfAddrNet a;
      g_assert_false (bf_addr_parse (not_ip[i], &a));
    }
  g_assert_false (bf_addr_parse (NULL, &(BfAddrNet) { 0 }));
}

typedef struct {
  const char *locals;       /* ';'-separated, "ADDRESS/PREFIX" or ADDRESS */
  const char *allow;        /* ';'-separated networks, or NULL */
  const char *address;
  guint16 port;
  BfAddrVerdict verdict;
  BfAddrScope scope;
} PolicyCase;

#define OK BF_ADDR_VERDICT_ALLOWED
#define NO BF_ADDR_VERDICT_SCOPE
#define PORT BF_ADDR_VERDICT_PORT

static const PolicyCase policy_cases[] = {
  /* belfry on a public address: public only */
  { "198.51.100.7", NULL, "203.0.113.9", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "198.51.100.7", NULL, "127.0.0.1", 40000, NO, BF_ADDR_SCOPE_LOOPBACK },
  { "198.51.100.7", NULL, "10.20.0.5", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7", NULL, "192.168.0.2", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7", NULL, "100.64.1.1", 40000, NO, BF_ADDR_SCOPE_SHARED },
  { "198.51.100.7", NULL, "169.254.7.7", 40000, NO, BF_ADDR_SCOPE_LINK_LOCAL },
  { "198.51.100.7", NULL, "224.0.0.99", 40000, NO, BF_ADDR_SCOPE_MULTICAST },
  { "198.51.100.7", NULL, "255.255.255.255", 40000, NO, BF_ADDR_SCOPE_BROADCAST },
  { "198.51.100.7", NULL, "0.0.0.0", 40000, NO, BF_ADDR_SCOPE_UNSPECIFIED },
  { "198.51.100.7", NULL, "::ffff:127.0.0.1", 40000, NO, BF_ADDR_SCOPE_LOOPBACK },
  { "198.51.100.7", NULL, "::ffff:203.0.113.9", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  /* the directed broadcast of our own network, when its prefix is known */
  { "198.51.100.7/24", NULL, "198.51.100.255", 40000, NO, BF_ADDR_SCOPE_BROADCAST },
  { "198.51.100.7/24", NULL, "198.51.100.254", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "198.51.100.7", NULL, "198.51.100.255", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "198.51.100.7/31", NULL, "198.51.100.7", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "10.1.0.1/16", NULL, "10.1.255.255", 40000, NO, BF_ADDR_SCOPE_BROADCAST },
  /* ports: 0 and below 1024 never */
  { "198.51.100.7", NULL, "203.0.113.9", 0, PORT, BF_ADDR_SCOPE_PUBLIC },
  { "198.51.100.7", NULL, "203.0.113.9", 53, PORT, BF_ADDR_SCOPE_PUBLIC },
  { "198.51.100.7", NULL, "203.0.113.9", 1023, PORT, BF_ADDR_SCOPE_PUBLIC },
  { "198.51.100.7", NULL, "203.0.113.9", 1024, OK, BF_ADDR_SCOPE_PUBLIC },
  /* belfry on a private address: private, shared and public */
  { "10.20.0.1", NULL, "10.20.0.5", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  { "10.20.0.1", NULL, "192.168.3.3", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  { "10.20.0.1", NULL, "100.64.1.1", 40000, OK, BF_ADDR_SCOPE_SHARED },
  { "10.20.0.1", NULL, "203.0.113.9", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "10.20.0.1", NULL, "127.0.0.1", 40000, NO, BF_ADDR_SCOPE_LOOPBACK },
  { "10.20.0.1", NULL, "169.254.7.7", 40000, NO, BF_ADDR_SCOPE_LINK_LOCAL },
  { "10.20.0.1", NULL, "224.0.0.99", 40000, NO, BF_ADDR_SCOPE_MULTICAST },
  { "100.64.0.1", NULL, "10.0.0.9", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  /* belfry on loopback (the tests): loopback only */
  { "127.0.0.1", NULL, "127.0.0.1", 40000, OK, BF_ADDR_SCOPE_LOOPBACK },
  { "127.0.0.1", NULL, "127.0.0.2", 40000, OK, BF_ADDR_SCOPE_LOOPBACK },
  { "127.0.0.1", NULL, "203.0.113.9", 40000, NO, BF_ADDR_SCOPE_PUBLIC },
  { "127.0.0.1", NULL, "10.0.0.1", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  /* ...and another family without an address of ours: public only */
  { "127.0.0.1", NULL, "::1", 40000, NO, BF_ADDR_SCOPE_LOOPBACK },
  { "127.0.0.1", NULL, "2001:db8::1", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "127.0.0.1", NULL, "fd00::5", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  /* each family by its own addresses */
  { "198.51.100.7;fd00::7", NULL, "fd00::5", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7;fd00::7", NULL, "10.0.0.5", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7;2001:db8::7", NULL, "::1", 40000, NO, BF_ADDR_SCOPE_LOOPBACK },
  { "198.51.100.7;2001:db8::7", NULL, "fe80::1", 40000, NO, BF_ADDR_SCOPE_LINK_LOCAL },
  { "198.51.100.7;2001:db8::7", NULL, "ff02::1", 40000, NO, BF_ADDR_SCOPE_MULTICAST },
  { "198.51.100.7;2001:db8::7", NULL, "2002:a00:1::1", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7;2001:db8::7", NULL, "2a00:1450::1", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  /* a public and a loopback address: the union */
  { "198.51.100.7;127.0.0.1", NULL, "127.0.0.1", 40000, OK, BF_ADDR_SCOPE_LOOPBACK },
  { "198.51.100.7;127.0.0.1", NULL, "203.0.113.9", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "198.51.100.7;127.0.0.1", NULL, "10.0.0.1", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  /* a wildcard address of ours counts as public */
  { "0.0.0.0", NULL, "10.0.0.1", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  { "0.0.0.0", NULL, "203.0.113.9", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  /* allow-peer-networks widens the scopes... */
  { "198.51.100.7", "10.20.0.0/16", "10.20.0.5", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7", "10.20.0.0/16", "10.21.0.5", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7", "10.20.0.0/16", "::ffff:10.20.1.1", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7", "fd00::/8", "fd00::5", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7", "fd00::/8", "fc00::5", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
  { "198.51.100.7", "127.0.0.0/8", "127.0.0.1", 40000, OK, BF_ADDR_SCOPE_LOOPBACK },
  { "198.51.100.7", "::ffff:10.0.0.0/104", "10.3.3.3", 40000, OK, BF_ADDR_SCOPE_PRIVATE },
  /* ...but never to multicast, broadcast, unspecified, reserved, low ports */
  { "198.51.100.7", "224.0.0.0/4", "224.0.0.99", 40000, NO, BF_ADDR_SCOPE_MULTICAST },
  { "198.51.100.7", "0.0.0.0/0", "255.255.255.255", 40000, NO, BF_ADDR_SCOPE_BROADCAST },
  { "198.51.100.7/24", "0.0.0.0/0", "198.51.100.255", 40000, NO, BF_ADDR_SCOPE_BROADCAST },
  { "198.51.100.7", "0.0.0.0/0", "0.0.0.0", 40000, NO, BF_ADDR_SCOPE_UNSPECIFIED },
  { "198.51.100.7", "0.0.0.0/0", "240.0.0.1", 40000, NO, BF_ADDR_SCOPE_RESERVED },
  { "198.51.100.7", "10.0.0.0/8", "10.0.0.1", 80, PORT, BF_ADDR_SCOPE_PRIVATE },
  /* not an address at all */
  { "198.51.100.7", NULL, "host.local", 40000, NO, BF_ADDR_SCOPE_INVALID },
  /* no address of ours known: public only */
  { "", NULL, "203.0.113.9", 40000, OK, BF_ADDR_SCOPE_PUBLIC },
  { "", NULL, "10.0.0.1", 40000, NO, BF_ADDR_SCOPE_PRIVATE },
};

static void
build_policy (BfAddrPolicy *p, const char *locals, const char *allow)
{
  bf_addr_policy_init (p);
  g_auto (GStrv) l = g_strsplit (locals, ";", -1);
  for (char **x = l; *x; x++)
    {
      if (**x == '\0')
        continue;
      g_auto (GStrv) parts = g_strsplit (*x, "/", 2);
      guint prefix = parts[1] ? (guint) g_ascii_strtoull (parts[1], NULL, 10) : 0;
      g_assert_true (bf_addr_policy_add_local (p, parts[0], prefix));
    }
  g_auto (GStrv) a = g_strsplit (allow ? allow : "", ";", -1);
  for (char **x = a; *x; x++)
    {
      if (**x == '\0')
        continue;
      BfAddrNet net;
      g_autoptr (GError) error = NULL;
      g_assert_true (bf_addr_net_parse (*x, &net, &error));
      g_assert_no_error (error);
      g_assert_true (bf_addr_policy_add_allowed (p, &net));
    }
}

static void
test_policy (void)
{
  static const char *const verdicts[] = { "allowed", "scope", "port" };
  for (guint i = 0; i < G_N_ELEMENTS (policy_cases); i++)
    {
      const PolicyCase *c = &policy_cases[i];
      BfAddrPolicy p;
      build_policy (&p, c->locals, c->allow);
      BfAddrScope scope = BF_ADDR_SCOPE_COUNT;
      BfAddrVerdict v = bf_addr_policy_check (&p, c->address, c->port, &scope);
      if (v != c->verdict || scope != c->scope)
        g_error ("ours %s, allow %s, peer %s:%u: %s/%s, expected %s/%s", c->locals,
                 c->allow ? c->allow : "-", c->address, c->port, verdicts[v],
                 bf_addr_scope_name (scope), verdicts[c->verdict], bf_addr_scope_name (c->scope));
    }
}

static void
test_policy_limits (void)
{
  BfAddrPolicy p;
  bf_addr_policy_init (&p);
  for (guint i = 0; i < BF_ADDR_POLICY_MAX_LOCAL; i++)
    g_assert_true (bf_addr_policy_add_local (&p, "127.0.0.1", 0));
  g_assert_false (bf_addr_policy_add_local (&p, "127.0.0.1", 0));
  g_assert_false (bf_addr_policy_add_local (&(BfAddrPolicy) { 0 }, "eth0", 0));
  BfAddrNet net;
  g_assert_true (bf_addr_net_parse ("10.0.0.0/8", &net, NULL));
  for (guint i = 0; i < BF_ADDR_POLICY_MAX_ALLOW; i++)
    g_assert_true (bf_addr_policy_add_allowed (&p, &net));
  g_assert_false (bf_addr_policy_add_allowed (&p, &net));
  /* the reason names used in logs */
  g_assert_cmpstr (bf_addr_reason_name (BF_ADDR_REASON_PORT), ==, "port");
  g_assert_cmpstr (bf_addr_reason_name (BF_ADDR_SCOPE_LINK_LOCAL), ==, "link-local");
  g_assert_cmpstr (bf_addr_scope_name (99), ==, "invalid");
}

typedef struct {
  const char *text;
  guint8 family, prefix;
  const char *contains, *not_contains;
} NetCase;

static void
test_cidr (void)
{
  static const NetCase good[] = {
    { "10.0.0.0/8", 4, 8, "10.255.0.1", "11.0.0.1" },
    { "10.20.0.0/16", 4, 16, "10.20.9.9", "10.21.0.0" },
    { "192.0.2.1", 4, 32, "192.0.2.1", "192.0.2.2" },
    { "0.0.0.0/0", 4, 0, "8.8.8.8", "::1" },
    { "172.16.0.0/12", 4, 12, "172.31.0.1", "172.32.0.1" },
    { "fd00::/8", 6, 8, "fd12::1", "fc00::1" },
    { "2001:db8::/32", 6, 32, "2001:db8:1::1", "2001:db9::1" },
    { "::1", 6, 128, "::1", "::2" },
    { "::/0", 6, 0, "2001:db8::1", "10.0.0.1" },
    { "::ffff:10.0.0.0/104", 4, 8, "10.1.1.1", "11.1.1.1" },
    { "::ffff:10.1.2.3", 4, 32, "10.1.2.3", "10.1.2.4" },
    { "10.0.0.0/9", 4, 9, "10.127.0.1", "10.128.0.1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      BfAddrNet net, a;
      g_autoptr (GError) error = NULL;
      if (!bf_addr_net_parse (good[i].text, &net, &error))
        g_error ("%s: %s", good[i].text, error->message);
      g_assert_cmpuint (net.family, ==, good[i].family);
      g_assert_cmpuint (net.prefix, ==, good[i].prefix);
      g_assert_true (bf_addr_parse (good[i].contains, &a));
      g_assert_true (bf_addr_net_contains (&net, &a));
      g_assert_true (bf_addr_parse (good[i].not_contains, &a));
      g_assert_false (bf_addr_net_contains (&net, &a));
    }

  /* Each refused with a message naming what is wrong. */
  static const struct { const char *text, *says; } bad[] = {
    { "", "not a network" },
    { "10.0.0.0/", "prefix length" },
    { "10.0.0.0/x", "prefix length" },
    { "10.0.0.0/-1", "prefix length" },
    { "10.0.0.0/33", "at most 32" },
    { "fd00::/129", "prefix length" },
    { "10.1.2.3/8", "host bits set (the network is 10.0.0.0/8)" },
    { "10.0.0.1/31", "host bits set" },
    { "fd00::1/8", "host bits set (the network is fd00::/8)" },
    { "example.org/8", "not an IP address" },
    { "10.0.0/8", "not an IP address" },
    { "10.0.0.0/8/8", "prefix length" },
    { "fe80::1%lo/64", "not an IP address" },
    { "10.0.0.0 /8", "not an IP address" },
    { "10.0.0.0/0008x", "prefix length" },
    { "1111111111111111111111111111111111111111111111111111111111111111111/8", "not a network" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      BfAddrNet net;
      g_autoptr (GError) error = NULL;
      if (bf_addr_net_parse (bad[i].text, &net, &error))
        g_error ("'%s' was accepted", bad[i].text);
      g_assert_nonnull (error);
      if (!strstr (error->message, bad[i].says))
        g_error ("'%s': \"%s\" does not say \"%s\"", bad[i].text, error->message, bad[i].says);
    }
  g_assert_false (bf_addr_net_parse (NULL, &(BfAddrNet) { 0 }, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/addr-policy/scopes", test_scopes);
  g_test_add_func ("/addr-policy/policy", test_policy);
  g_test_add_func ("/addr-policy/limits", test_policy_limits);
  g_test_add_func ("/addr-policy/cidr", test_cidr);
  return g_test_run ();
}
