/* belfry media: the [media] configuration group.
 *
 *   [media]
 *   workers = 0                   # media threads; 0 = one per core
 *   addresses = 192.0.2.10;2001:db8::10   # the only addresses ICE gathers on
 *   port_min = 40000              # host candidates' UDP port range (0 = any)
 *   port_max = 49999
 *   stun_server = 192.0.2.1       # IP literal; stun_port = 3478
 *   turn_server = 192.0.2.2       # IP literal; turn_port, turn_username, turn_password
 *   srtp_profiles = AEAD_AES_128_GCM;AES_CM_128_HMAC_SHA1_80   # offer/preference order
 *   ice_timeout = 30              # s from remote credentials to a connected pair
 *   dtls_timeout = 10             # s from connected pair to DTLS done
 *   dtls_retransmit_ms = 200      # first DTLS retransmission, doubling to 3 s
 *   consent_freshness = true      # RFC 7675: ICE fails when the peer stops answering
 *   stun_max_retransmissions = 0  # libnice's Rc; 0 = libnice default (7)
 *   stun_initial_timeout_ms = 0   # libnice's RTO; 0 = libnice default
 *   max_ssrcs = 64                # per direction per leg
 */
#pragma once

#include <glib.h>
#include <belfry/module.h>

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
  gboolean consent_freshness;
  guint stun_max_retransmissions;   /* 0 = libnice default */
  guint stun_initial_timeout_ms;    /* 0 = libnice default */
  guint max_ssrcs;
} BfMediaConfig;

/* Defaults (no address: transports refuse to start until one is set). */
void bf_media_config_init (BfMediaConfig *config);
/* Reads [media] through the core's group reader; @config must have been
 * initialised; on failure it is left as it was. */
gboolean bf_media_config_read (BfMediaConfig *config, BfModuleConfig *group, GError **error);
void bf_media_config_copy (BfMediaConfig *dest, const BfMediaConfig *src);
void bf_media_config_clear (BfMediaConfig *config);

G_END_DECLS
