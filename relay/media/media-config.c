/* belfry media: reading and checking the [media] group. */
#include "media-config.h"

#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <gio/gio.h>

void
bf_media_config_init (BfMediaConfig *c)
{
  *c = (BfMediaConfig) {
    .workers = 0,
    .addresses = g_new0 (char *, 1),
    .stun_port = 3478,
    .turn_port = 3478,
    .srtp_profiles = { BF_MEDIA_SRTP_AEAD_AES_128_GCM, BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80 },
    .n_srtp_profiles = 2,
    .ice_timeout_ms = 30000,
    .dtls_timeout_ms = 10000,
    .dtls_retransmit_ms = 200,
    .consent_freshness = TRUE,
    /* RFC 7675 §5.1's 30 s: a phone that changes networks restarts ICE
     * only once its own ICE has failed (Conversations: JingleRtpConnection
     * .java onConnectionChange), seconds after the old path died; a
     * shorter expiry ends the call first. */
    .consent_timeout_ms = 30000,
    .max_ssrcs = 64,
  };
}

void
bf_media_config_clear (BfMediaConfig *c)
{
  g_strfreev (c->addresses);
  g_free (c->stun_server);
  g_free (c->turn_server);
  g_free (c->turn_username);
  if (c->turn_password)
    memset (c->turn_password, 0, strlen (c->turn_password));
  g_free (c->turn_password);
  memset (c, 0, sizeof *c);
}

void
bf_media_config_copy (BfMediaConfig *dest, const BfMediaConfig *src)
{
  *dest = *src;
  dest->addresses = g_strdupv (src->addresses);
  dest->stun_server = g_strdup (src->stun_server);
  dest->turn_server = g_strdup (src->turn_server);
  dest->turn_username = g_strdup (src->turn_username);
  dest->turn_password = g_strdup (src->turn_password);
}

static gboolean
is_ip (const char *s)
{
  return s && g_hostname_is_ip_address (s);
}

static gboolean
parse_port (const char *s, guint16 *port)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (s, 10, 1, 65535, &v, NULL))
    return FALSE;
  *port = (guint16) v;
  return TRUE;
}

/* "20000-40000" */
static gboolean
parse_port_range (const char *s, guint16 *min, guint16 *max)
{
  g_auto (GStrv) parts = g_strsplit (s, "-", 3);
  if (g_strv_length (parts) != 2 || !parse_port (g_strstrip (parts[0]), min)
      || !parse_port (g_strstrip (parts[1]), max))
    return FALSE;
  return *min <= *max;
}

/* "IP", "IP:PORT", "[V6]:PORT", "[V6]", bare "V6" (bf_parse_host_port);
 * the address must be an IP literal.  Without a port *port keeps its
 * default. */
static gboolean
parse_host_port (const char *s, char **host, guint16 *port)
{
  g_autofree char *h = NULL;
  guint16 p;
  if (!bf_parse_host_port (s, *port, &h, &p, NULL) || !is_ip (h))
    return FALSE;
  *host = g_steal_pointer (&h);
  *port = p;
  return TRUE;
}

static gboolean
parse_turn (const char *s, BfMediaConfig *c)
{
  if (!g_str_has_prefix (s, "turn:"))
    return FALSE;
  const char *cred = s + 5;
  const char *at = strrchr (cred, '@');
  const char *colon = at ? memchr (cred, ':', at - cred) : NULL;
  if (at == NULL || colon == NULL || colon == cred || colon + 1 == at)
    return FALSE;
  if (!parse_host_port (at + 1, &c->turn_server, &c->turn_port))
    return FALSE;
  c->turn_username = g_strndup (cred, colon - cred);
  c->turn_password = g_strndup (colon + 1, at - colon - 1);
  return TRUE;
}

static gboolean
get_uint (BfConfigGroup *g, const char *key, gint64 def, gint64 min, gint64 max,
          guint *out, GError **error)
{
  gint64 v;
  if (!bf_config_get_int (g, key, def, min, max, &v, error))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

/* [media] shared-port (media-config.h): read last, since it is checked
 * against workers, port-range, stun and turn. */
static gboolean
read_shared_port (BfMediaConfig *c, BfConfigGroup *g, gboolean has_range, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *text = bf_config_get_string (g, "shared-port", NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  c->shared_port_set = FALSE;
  c->shared_port = 0;
  if (text == NULL)
    return TRUE;
  guint64 port;
  if (!g_ascii_string_to_unsigned (g_strstrip (text), 10, 0, 65535, &port, NULL))
    {
      bf_config_set_error (g, error, "shared-port", "'%s' is not a port (0..65535; 0 = "
                           "ephemeral)", text);
      return FALSE;
    }
  /* Only host candidates are demultiplexed on the shared socket: a relayed
   * or server-reflexive candidate would need libnice's per-transport
   * socket, and the port is fixed, so a range means nothing. */
  const char *clash = has_range ? "port-range" : c->stun_server ? "stun"
                      : c->turn_server ? "turn" : NULL;
  if (clash)
    {
      bf_config_set_error (g, error, "shared-port", "cannot be combined with %s: the shared "
                           "port has host candidates only, on a fixed port", clash);
      return FALSE;
    }
  /* Worker i binds PORT + i; workers = 0 is one per core. */
  guint workers = c->workers ? c->workers : g_get_num_processors ();
  if (port != 0 && port + workers - 1 > 65535)
    {
      bf_config_set_error (g, error, "shared-port", "%u + %u workers - 1 is beyond 65535",
                           (guint) port, workers);
      return FALSE;
    }
  c->shared_port_set = TRUE;
  c->shared_port = (guint16) port;
  return TRUE;
}

gboolean
bf_media_config_read (BfMediaConfig *config, BfConfigGroup *g, GError **error)
{
  g_autoptr (GError) local = NULL;
  /* Declared before the first goto: the cleanup at 'fail' must see NULL. */
  g_autofree char *range = NULL, *stun = NULL, *turn = NULL;
  BfMediaConfig c;
  bf_media_config_copy (&c, config);
  guint v;
  gboolean b;

  if (!get_uint (g, "workers", c.workers, 0, 256, &c.workers, error))
    goto fail;

  char **addresses = bf_config_get_string_list (g, "addresses", &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      goto fail;
    }
  if (addresses)
    {
      for (char **a = addresses; *a; a++)
        if (!is_ip (g_strstrip (*a)))
          {
            bf_config_set_error (g, error, "addresses", "'%s' is not an IP address", *a);
            g_strfreev (addresses);
            goto fail;
          }
      if (g_strv_length (addresses) > 16)
        {
          bf_config_set_error (g, error, "addresses", "at most 16 addresses");
          g_strfreev (addresses);
          goto fail;
        }
      g_strfreev (c.addresses);
      c.addresses = addresses;
      memset (c.address_prefixes, 0, sizeof c.address_prefixes);
    }

  range = bf_config_get_string (g, "port-range", NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      goto fail;
    }
  if (range && !parse_port_range (range, &c.port_min, &c.port_max))
    {
      bf_config_set_error (g, error, "port-range", "'%s' is not MIN-MAX (1..65535, MIN <= MAX)",
                           range);
      goto fail;
    }

  stun = bf_config_get_string (g, "stun", NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      goto fail;
    }
  g_clear_pointer (&c.stun_server, g_free);
  if (stun && !parse_host_port (stun, &c.stun_server, &c.stun_port))
    {
      bf_config_set_error (g, error, "stun", "'%s' is not IP:PORT (an IP address; IPv6 in "
                           "brackets; port optional, 3478)", stun);
      goto fail;
    }

  /* turn = turn:USER:PASSWORD@IP:PORT (the password is never logged). */
  turn = bf_config_get_string (g, "turn", NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      goto fail;
    }
  g_clear_pointer (&c.turn_server, g_free);
  g_clear_pointer (&c.turn_username, g_free);
  g_clear_pointer (&c.turn_password, g_free);
  if (turn && !parse_turn (turn, &c))
    {
      bf_config_set_error (g, error, "turn", "not turn:USER:PASSWORD@IP:PORT");
      goto fail;
    }

  char **profiles = bf_config_get_string_list (g, "srtp-profiles", &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      goto fail;
    }
  if (profiles)
    {
      c.n_srtp_profiles = 0;
      for (char **p = profiles; *p; p++)
        {
          BfMediaSrtpProfile prof = bf_media_srtp_profile_from_name (g_strstrip (*p));
          gboolean dup = FALSE;
          for (guint i = 0; i < c.n_srtp_profiles; i++)
            dup |= c.srtp_profiles[i] == prof;
          if (prof == BF_MEDIA_SRTP_NONE || dup)
            {
              bf_config_set_error (g, error, "srtp-profiles",
                                   "'%s' is unknown or repeated (AEAD_AES_128_GCM, "
                                   "AES_CM_128_HMAC_SHA1_80)", *p);
              g_strfreev (profiles);
              goto fail;
            }
          c.srtp_profiles[c.n_srtp_profiles++] = prof;
        }
      g_strfreev (profiles);
      if (c.n_srtp_profiles == 0)
        {
          bf_config_set_error (g, error, "srtp-profiles", "needs at least one profile");
          goto fail;
        }
    }

  if (!get_uint (g, "ice-timeout", c.ice_timeout_ms / 1000, 1, 600, &v, error))
    goto fail;
  c.ice_timeout_ms = v * 1000;
  if (!get_uint (g, "dtls-timeout", c.dtls_timeout_ms / 1000, 1, 120, &v, error))
    goto fail;
  c.dtls_timeout_ms = v * 1000;
  if (!get_uint (g, "dtls-retransmit-ms", c.dtls_retransmit_ms, 10, 3000,
                 &c.dtls_retransmit_ms, error))
    goto fail;
  if (!bf_config_get_boolean (g, "consent-freshness", c.consent_freshness, &b, error))
    goto fail;
  c.consent_freshness = b;
  /* RFC 7675 §5.1: consent expires after 30 s at most (MUST cease sending):
   * longer is refused, shorter only ends a dead leg sooner. */
  if (!get_uint (g, "consent-timeout", c.consent_timeout_ms / 1000, 5, 30, &v, error))
    goto fail;
  c.consent_timeout_ms = v * 1000;
  if (!get_uint (g, "stun-max-retransmissions", c.stun_max_retransmissions, 0, 99,
                 &c.stun_max_retransmissions, error)
      || !get_uint (g, "stun-initial-timeout-ms", c.stun_initial_timeout_ms, 0, 9999,
                    &c.stun_initial_timeout_ms, error)
      || !get_uint (g, "max-ssrcs", c.max_ssrcs, 1, 1024, &c.max_ssrcs, error))
    goto fail;
  char **nets = bf_config_get_string_list (g, "allow-peer-networks", &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      goto fail;
    }
  if (nets)
    {
      c.n_allow_peer_networks = 0;
      for (char **n = nets; *n; n++)
        {
          g_autoptr (GError) why = NULL;
          if (c.n_allow_peer_networks >= BF_ADDR_POLICY_MAX_ALLOW)
            {
              bf_config_set_error (g, error, "allow-peer-networks", "at most %d networks",
                                   BF_ADDR_POLICY_MAX_ALLOW);
              g_strfreev (nets);
              goto fail;
            }
          if (!bf_addr_net_parse (g_strstrip (*n), &c.allow_peer_networks[c.n_allow_peer_networks],
                                  &why))
            {
              bf_config_set_error (g, error, "allow-peer-networks", "%s", why->message);
              g_strfreev (nets);
              goto fail;
            }
          c.n_allow_peer_networks++;
        }
      g_strfreev (nets);
    }

  if (c.stun_initial_timeout_ms != 0 && c.stun_initial_timeout_ms < 20)
    {
      bf_config_set_error (g, error, "stun-initial-timeout-ms", "must be 0 or 20..9999");
      goto fail;
    }

  if (!read_shared_port (&c, g, range != NULL, error))
    goto fail;

  bf_media_config_clear (config);
  *config = c;
  return TRUE;

fail:
  bf_media_config_clear (&c);
  return FALSE;
}

static guint
netmask_bits (const struct sockaddr *mask)
{
  const guint8 *b;
  gsize n;
  if (mask == NULL)
    return 0;
  if (mask->sa_family == AF_INET)
    b = (const guint8 *) &((const struct sockaddr_in *) mask)->sin_addr, n = 4;
  else if (mask->sa_family == AF_INET6)
    b = (const guint8 *) &((const struct sockaddr_in6 *) mask)->sin6_addr, n = 16;
  else
    return 0;
  guint bits = 0;
  for (gsize i = 0; i < n; i++)
    bits += (guint) __builtin_popcount (b[i]);
  return bits;
}

/* Each configured address's network prefix, from the interface holding it
 * (for the directed broadcast the candidate policy refuses). */
static void
learn_prefixes (BfMediaConfig *config, struct ifaddrs *list)
{
  memset (config->address_prefixes, 0, sizeof config->address_prefixes);
  for (guint k = 0; k < BF_ADDR_POLICY_MAX_LOCAL && config->addresses[k]; k++)
    {
      BfAddrNet want;
      if (!bf_addr_parse (config->addresses[k], &want))
        continue;
      for (struct ifaddrs *i = list; i; i = i->ifa_next)
        {
          if (i->ifa_addr == NULL)
            continue;
          BfAddrNet have = { 0 };
          if (i->ifa_addr->sa_family == AF_INET)
            {
              have.family = 4;
              memcpy (have.bytes, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, 4);
            }
          else if (i->ifa_addr->sa_family == AF_INET6)
            {
              have.family = 6;
              memcpy (have.bytes, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, 16);
            }
          else
            continue;
          if (have.family == want.family && memcmp (have.bytes, want.bytes, 16) == 0)
            {
              config->address_prefixes[k] = (guint8) netmask_bits (i->ifa_netmask);
              break;
            }
        }
    }
}

void
bf_media_config_peer_policy (const BfMediaConfig *config, BfAddrPolicy *policy)
{
  bf_addr_policy_init (policy);
  for (guint k = 0; config->addresses && config->addresses[k]; k++)
    bf_addr_policy_add_local (policy, config->addresses[k],
                              k < BF_ADDR_POLICY_MAX_LOCAL ? config->address_prefixes[k] : 0);
  for (guint k = 0; k < config->n_allow_peer_networks; k++)
    bf_addr_policy_add_allowed (policy, &config->allow_peer_networks[k]);
}

void
bf_media_config_default_addresses (BfMediaConfig *config)
{
  if (config->addresses && config->addresses[0])
    {
      struct ifaddrs *list = NULL;
      if (getifaddrs (&list) == 0)
        {
          learn_prefixes (config, list);
          freeifaddrs (list);
        }
      return;
    }
  struct ifaddrs *list = NULL;
  GPtrArray *found = g_ptr_array_new ();
  if (getifaddrs (&list) == 0)
    {
      for (struct ifaddrs *i = list; i; i = i->ifa_next)
        {
          if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
            continue;
          int family = i->ifa_addr->sa_family;
          if (family != AF_INET && family != AF_INET6)
            continue;
          gsize len = family == AF_INET ? sizeof (struct sockaddr_in) : sizeof (struct sockaddr_in6);
          g_autoptr (GSocketAddress) sa = g_socket_address_new_from_native (i->ifa_addr, len);
          if (sa == NULL || !G_IS_INET_SOCKET_ADDRESS (sa))
            continue;
          GInetAddress *ia = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa));
          /* Link-local addresses need a scope nobody signals in Jingle. */
          if (g_inet_address_get_is_link_local (ia) || g_inet_address_get_is_loopback (ia)
              || found->len >= 16)
            continue;
          char *text = g_inet_address_to_string (ia);
          if (g_ptr_array_find_with_equal_func (found, text, g_str_equal, NULL))
            g_free (text);
          else
            g_ptr_array_add (found, text);
        }
    }
  g_ptr_array_add (found, NULL);
  g_strfreev (config->addresses);
  config->addresses = (char **) g_ptr_array_free (found, FALSE);
  if (list)
    {
      learn_prefixes (config, list);
      freeifaddrs (list);
    }
}
