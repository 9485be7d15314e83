/* belfry media: which peer addresses belfry sends ICE checks to.
 *
 * A caller chooses the remote candidates, so without a policy it chooses
 * where the relay sends connectivity checks: its loopback, its internal
 * networks, multicast groups, a broadcast address (a scan of the relay's
 * side, and a small amplifier toward third parties).  The rule here: a
 * remote candidate is used only when its address is within the scope of
 * belfry's own media addresses of the same family ([media] addresses):
 *
 *   belfry's address    peer addresses allowed
 *   public              public
 *   private / shared    private, shared, public
 *   link-local          link-local
 *   loopback            loopback (tests, a relay for this machine only)
 *   unspecified         public (what a wildcard address can reach safely)
 *
 * Multicast, broadcast (255.255.255.255 and the directed broadcast of
 * belfry's own IPv4 networks when their prefix is known), unspecified and
 * reserved addresses, and ports below 1024, are never allowed.  [media]
 * allow-peer-networks (CIDR list) adds networks on top of the scopes (not
 * the never-allowed classes nor the port rule).  A family belfry has no
 * address of allows public addresses only (libnice pairs nothing there).
 *
 * Classification (bf_addr_classify):
 *   IPv4  0.0.0.0 unspecified; 0/8 and 240/4 reserved; 127/8 loopback;
 *         169.254/16 link-local; 10/8, 172.16/12, 192.168/16 private
 *         (RFC 1918); 100.64/10 shared (RFC 6598); 224/4 multicast;
 *         255.255.255.255 broadcast; everything else public, the
 *         documentation and benchmarking ranges included (tests use them
 *         as public addresses).
 *   IPv6  :: unspecified; ::1 loopback; fe80::/10 link-local; fc00::/7
 *         (ULA) and fec0::/10 (old site-local) private; ff00::/8
 *         multicast; ::/96 (IPv4-compatible, deprecated) reserved;
 *         ::ffff:0:0/96 (IPv4-mapped) is the IPv4 address it carries, for
 *         the scope and for allow-peer-networks; 2002::/16 (6to4) and
 *         64:ff9b::/96 (NAT64, RFC 6052) are classified by the IPv4 address
 *         they embed (a 6to4 or NAT64 gateway would carry the check there);
 *         64:ff9b:1::/48 (local-use NAT64, RFC 8215) private; everything
 *         else public.
 *
 * Pure code: no I/O, no allocation; any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BF_ADDR_ERROR (bf_addr_error_quark ())
GQuark bf_addr_error_quark (void);

typedef enum {
  BF_ADDR_SCOPE_INVALID,          /* not an IP literal */
  BF_ADDR_SCOPE_UNSPECIFIED,
  BF_ADDR_SCOPE_RESERVED,
  BF_ADDR_SCOPE_LOOPBACK,
  BF_ADDR_SCOPE_LINK_LOCAL,
  BF_ADDR_SCOPE_PRIVATE,          /* RFC 1918, ULA */
  BF_ADDR_SCOPE_SHARED,           /* RFC 6598 carrier-grade NAT */
  BF_ADDR_SCOPE_PUBLIC,
  BF_ADDR_SCOPE_MULTICAST,
  BF_ADDR_SCOPE_BROADCAST,
  BF_ADDR_SCOPE_COUNT
} BfAddrScope;

/* An address (prefix 32/128) or a network.  IPv4 in bytes[0..3]; an
 * IPv4-mapped IPv6 address is stored as the IPv4 one. */
typedef struct {
  guint8 family;                  /* 4 or 6 */
  guint8 prefix;
  guint8 bytes[16];
} BfAddrNet;

#define BF_ADDR_POLICY_MAX_LOCAL 16
#define BF_ADDR_POLICY_MAX_ALLOW 32

typedef struct {
  BfAddrNet local[BF_ADDR_POLICY_MAX_LOCAL];   /* belfry's addresses, with their
                                                * network prefix when known */
  guint n_local;
  BfAddrNet allow[BF_ADDR_POLICY_MAX_ALLOW];   /* [media] allow-peer-networks */
  guint n_allow;
} BfAddrPolicy;

typedef enum {
  BF_ADDR_VERDICT_ALLOWED,
  BF_ADDR_VERDICT_SCOPE,          /* the address's scope is not allowed */
  BF_ADDR_VERDICT_PORT,           /* port 0 or below 1024 */
} BfAddrVerdict;

/* Why a candidate was ignored, for counters and logs: its scope, or
 * BF_ADDR_REASON_PORT. */
#define BF_ADDR_REASON_PORT BF_ADDR_SCOPE_COUNT
#define BF_ADDR_N_REASONS (BF_ADDR_SCOPE_COUNT + 1)
#define BF_ADDR_MIN_PORT 1024

/* An IP literal (no brackets, no zone); FALSE if it is not one. */
gboolean bf_addr_parse (const char *text, BfAddrNet *addr);
/* "10.0.0.0/8", "fd00::/8", or an address alone (/32, /128).  Host bits
 * set, a bad prefix or address: FALSE and a message naming the problem. */
gboolean bf_addr_net_parse (const char *text, BfAddrNet *net, GError **error);
gboolean bf_addr_net_contains (const BfAddrNet *net, const BfAddrNet *addr);

BfAddrScope bf_addr_classify (const BfAddrNet *addr);
const char *bf_addr_scope_name (BfAddrScope scope);
/* A reason index (BfAddrScope or BF_ADDR_REASON_PORT) as a word. */
const char *bf_addr_reason_name (guint reason);

void bf_addr_policy_init (BfAddrPolicy *policy);
/* One of belfry's addresses; @prefix 0 = not known.  FALSE (ignored) if it
 * is not an IP literal or the table is full. */
gboolean bf_addr_policy_add_local (BfAddrPolicy *policy, const char *address, guint prefix);
gboolean bf_addr_policy_add_allowed (BfAddrPolicy *policy, const BfAddrNet *net);
/* Classifies @address as seen from belfry (the directed broadcast of one of
 * its networks is broadcast) and says whether checks may go there.  @scope
 * (optional) gets the scope, BF_ADDR_SCOPE_INVALID for a non-literal. */
BfAddrVerdict bf_addr_policy_check (const BfAddrPolicy *policy, const char *address,
                                    guint16 port, BfAddrScope *scope);

G_END_DECLS
