/* belfry media transport: shared types. */
#include "media-types.h"

G_DEFINE_QUARK (bf-media-error-quark, bf_media_error)

const char *
bf_media_srtp_profile_name (BfMediaSrtpProfile profile)
{
  switch (profile)
    {
    case BF_MEDIA_SRTP_AEAD_AES_128_GCM:
      return "AEAD_AES_128_GCM";
    case BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case BF_MEDIA_SRTP_NONE:
    default:
      return "none";
    }
}

BfMediaSrtpProfile
bf_media_srtp_profile_from_name (const char *name)
{
  if (name == NULL)
    return BF_MEDIA_SRTP_NONE;
  if (g_ascii_strcasecmp (name, "AEAD_AES_128_GCM") == 0
      || g_ascii_strcasecmp (name, "SRTP_AEAD_AES_128_GCM") == 0)
    return BF_MEDIA_SRTP_AEAD_AES_128_GCM;
  if (g_ascii_strcasecmp (name, "AES_CM_128_HMAC_SHA1_80") == 0
      || g_ascii_strcasecmp (name, "SRTP_AES128_CM_SHA1_80") == 0)
    return BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
  return BF_MEDIA_SRTP_NONE;
}
