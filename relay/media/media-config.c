/* belfry media: reading and checking the [media] group. */
#include "media-config.h"

#include <string.h>
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
get_uint (BfModuleConfig *g, const char *key, gint64 def, gint64 min, gint64 max,
          guint *out, GError **error)
{
  gint64 v;
  if (!bf_config_get_int (g, key, def, min, max, &v, error))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

static gboolean
get_ip (BfModuleConfig *g, const char *key, char **out, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *v = bf_config_get_string (g, key, NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (v && *v == '\0')
    g_clear_pointer (&v, g_free);
  if (v && !is_ip (v))
    {
      bf_config_set_error (g, error, key, "'%s' is not an IP address", v);
      return FALSE;
    }
  *out = g_steal_pointer (&v);
  return TRUE;
}

gboolean
bf_media_config_read (BfMediaConfig *config, BfModuleConfig *g, GError **error)
{
  g_autoptr (GError) local = NULL;
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
    }

  if (!get_uint (g, "port_min", c.port_min, 0, 65535, &v, error))
    goto fail;
  c.port_min = (guint16) v;
  if (!get_uint (g, "port_max", c.port_max, 0, 65535, &v, error))
    goto fail;
  c.port_max = (guint16) v;
  if ((c.port_min == 0) != (c.port_max == 0) || c.port_min > c.port_max)
    {
      bf_config_set_error (g, error, "port_max",
                           "port_min and port_max must both be set, port_min <= port_max");
      goto fail;
    }

  g_clear_pointer (&c.stun_server, g_free);
  if (!get_ip (g, "stun_server", &c.stun_server, error)
      || !get_uint (g, "stun_port", c.stun_port, 1, 65535, &v, error))
    goto fail;
  c.stun_port = (guint16) v;

  g_clear_pointer (&c.turn_server, g_free);
  if (!get_ip (g, "turn_server", &c.turn_server, error)
      || !get_uint (g, "turn_port", c.turn_port, 1, 65535, &v, error))
    goto fail;
  c.turn_port = (guint16) v;
  g_free (c.turn_username);
  g_free (c.turn_password);
  c.turn_username = bf_config_get_string (g, "turn_username", NULL, &local);
  if (!local)
    c.turn_password = bf_config_get_string (g, "turn_password", NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      goto fail;
    }
  if (c.turn_server && (c.turn_username == NULL || c.turn_password == NULL))
    {
      bf_config_set_error (g, error, "turn_server", "needs turn_username and turn_password");
      goto fail;
    }

  char **profiles = bf_config_get_string_list (g, "srtp_profiles", &local);
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
              bf_config_set_error (g, error, "srtp_profiles",
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
          bf_config_set_error (g, error, "srtp_profiles", "needs at least one profile");
          goto fail;
        }
    }

  if (!get_uint (g, "ice_timeout", c.ice_timeout_ms / 1000, 1, 600, &v, error))
    goto fail;
  c.ice_timeout_ms = v * 1000;
  if (!get_uint (g, "dtls_timeout", c.dtls_timeout_ms / 1000, 1, 120, &v, error))
    goto fail;
  c.dtls_timeout_ms = v * 1000;
  if (!get_uint (g, "dtls_retransmit_ms", c.dtls_retransmit_ms, 10, 3000,
                 &c.dtls_retransmit_ms, error))
    goto fail;
  if (!bf_config_get_boolean (g, "consent_freshness", c.consent_freshness, &b, error))
    goto fail;
  c.consent_freshness = b;
  if (!get_uint (g, "stun_max_retransmissions", c.stun_max_retransmissions, 0, 99,
                 &c.stun_max_retransmissions, error)
      || !get_uint (g, "stun_initial_timeout_ms", c.stun_initial_timeout_ms, 0, 9999,
                    &c.stun_initial_timeout_ms, error)
      || !get_uint (g, "max_ssrcs", c.max_ssrcs, 1, 1024, &c.max_ssrcs, error))
    goto fail;
  if (c.stun_initial_timeout_ms != 0 && c.stun_initial_timeout_ms < 20)
    {
      bf_config_set_error (g, error, "stun_initial_timeout_ms", "must be 0 or 20..9999");
      goto fail;
    }

  bf_media_config_clear (config);
  *config = c;
  return TRUE;

fail:
  bf_media_config_clear (&c);
  return FALSE;
}
