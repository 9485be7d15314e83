/* belfry media: the [media] configuration group.
 *
 *   [media]
 *   workers = 0                   # media threads; 0 = one per core
 *   addresses = 192.0.2.10;2001:db8::10   # the only addresses ICE gathers on
 *                                 # (default: every non-loopback address)
 *   port-range = 40000-49999      # host candidates' UDP ports (default: any)
 *   stun = 192.0.2.1:3478         # IP literal, port optional
 *   turn = turn:USER:PASSWORD@192.0.2.2:3478
 *   srtp-profiles = AEAD_AES_128_GCM;AES_CM_128_HMAC_SHA1_80   # preference order
 *   ice-timeout = 30              # s from remote credentials to a connected pair
 *   dtls-timeout = 10             # s from connected pair to DTLS done
 *   dtls-retransmit-ms = 200      # first DTLS retransmission, doubling to 3 s
 *   consent-freshness = true      # RFC 7675: ICE fails when the peer stops answering
 *   consent-timeout = 30          # s without a consent answer -> ICE failed (5..30)
 *   stun-max-retransmissions = 0  # libnice's Rc; 0 = libnice default (7)
 *   stun-initial-timeout-ms = 0   # libnice's RTO; 0 = libnice default
 *   max-ssrcs = 64                # per direction per leg
 *   allow-peer-networks = 10.0.0.0/8;fd00::/8   # peer candidates allowed beyond
 *                                 # the scope of 'addresses' (addr-policy.h)
 *   shared-port = 40000           # worker i's one UDP port is 40000+i on each
 *                                 # address, shared by all its transports,
 *                                 # which run belfry's own ICE (ice-agent.h);
 *                                 # 0 = an ephemeral port per worker and
 *                                 # address; absent = a libnice agent and a
 *                                 # socket per transport (the default)
 */
#pragma once

#include <glib.h>
#include <belfry/module.h>

#include "addr-policy.h"
#include "media-types.h"

G_BEGIN_DECLS

typedef struct {
  guint workers;
  char **addresses;              /* NULL-terminated IP literals, never NULL */
  guint16 port_min, port_max;
  char *stun_server;             /* NULL: none */
  guint16 stun_port;
  char *turn_server;             /* NULL: none */
  guint16 turn_port;
  char *turn_username;
  char *turn_password;           /* never log this */
  BfMediaSrtpProfile srtp_profiles[BF_MEDIA_SRTP_MAX_PROFILES];
  guint n_srtp_profiles;
  guint ice_timeout_ms;
  guint dtls_timeout_ms;
  guint dtls_retransmit_ms;
  /* RFC 7675 consent freshness: Binding requests to the peer every 4-6 s
   * (every third of a consent_timeout_ms under 15 s) on the selected pair; no answer for consent_timeout_ms -> the leg fails
   * (<failed-transport/>).  Who runs it (transport.c): on a pair taken over
   * by direct I/O (every UDP pair unless a TURN server is configured),
   * direct-io.c with consent_timeout_ms; on the shared port (shared-port),
   * shared-ice.c with consent_timeout_ms; on libnice's path, libnice with
   * its hard-coded 10 s.  FALSE: nobody checks (peers' checks are still
   * answered); a vanished peer then goes unnoticed. */
  gboolean consent_freshness;
  /* RFC 7675 §5.1 lets consent last 30 s (the maximum here).  The default,
   * 10 s, is libnice's figure, so both paths behave alike, and what the
   * vanished-peer tests' bounds were written for. */
  guint consent_timeout_ms;
  guint stun_max_retransmissions;   /* 0 = libnice default */
  guint stun_initial_timeout_ms;    /* 0 = libnice default */
  guint max_ssrcs;
  /* The remote candidate policy (addr-policy.h): networks allowed on top
   * of the scopes of 'addresses', and each address's network prefix when
   * bf_media_config_default_addresses found it on the machine (0: not
   * known), for its directed broadcast. */
  BfAddrNet allow_peer_networks[BF_ADDR_POLICY_MAX_ALLOW];
  guint n_allow_peer_networks;
  guint8 address_prefixes[BF_ADDR_POLICY_MAX_LOCAL];
  /* [media] shared-port: host candidates only (no STUN, TURN or
   * port-range: the port is fixed and nothing but the host addresses can
   * be demultiplexed on it). */
  gboolean shared_port_set;
  guint16 shared_port;           /* 0: ephemeral, per worker and address */
} BfMediaConfig;

/* Defaults (no address: transports refuse to start until one is set). */
void bf_media_config_init (BfMediaConfig *config);
/* Reads [media] through the core's group reader; @config must have been
 * initialised; on failure it is left as it was. */
gboolean bf_media_config_read (BfMediaConfig *config, BfConfigGroup *group, GError **error);
void bf_media_config_copy (BfMediaConfig *dest, const BfMediaConfig *src);
void bf_media_config_clear (BfMediaConfig *config);
/* With no 'addresses' configured: every up, non-loopback, non-link-local
 * address of the machine (the documented default).  Either way, notes the
 * network prefix of each address found on an interface. */
void bf_media_config_default_addresses (BfMediaConfig *config);
/* The remote candidate policy of a transport made with @config. */
void bf_media_config_peer_policy (const BfMediaConfig *config, BfAddrPolicy *policy);

G_END_DECLS
