/* SOCKS5 parsing for the proxy (socks5.h). */
#include <string.h>

#include "socks5.h"

#define SOCKS_VERSION 5
#define METHOD_NO_AUTH 0x00
#define METHOD_NONE_ACCEPTABLE 0xFF
#define CMD_CONNECT 0x01
#define ATYP_DOMAIN 0x03

P65Socks5Result
p65_socks5_parse_greeting (const guint8 *buf, gsize len, gsize *need, guint8 reply[2],
                           const char **why)
{
  reply[0] = SOCKS_VERSION;
  reply[1] = METHOD_NONE_ACCEPTABLE;
  if (len < 1)
    {
      *need = 2;
      return P65_SOCKS5_MORE;
    }
  if (buf[0] != SOCKS_VERSION)
    {
      *why = "not SOCKS version 5";
      return P65_SOCKS5_CLOSE;
    }
  if (len < 2)
    {
      *need = 2;
      return P65_SOCKS5_MORE;
    }
  gsize total = 2 + (gsize) buf[1];
  if (buf[1] == 0)
    {
      *why = "no authentication method offered";
      return P65_SOCKS5_REFUSE;
    }
  if (len < total)
    {
      *need = total;
      return P65_SOCKS5_MORE;
    }
  if (memchr (buf + 2, METHOD_NO_AUTH, buf[1]) == NULL)
    {
      *why = "method 0 (no authentication) not offered";
      return P65_SOCKS5_REFUSE;
    }
  reply[1] = METHOD_NO_AUTH;
  *need = total;
  return P65_SOCKS5_OK;
}

P65Socks5Result
p65_socks5_parse_request (const guint8 *buf, gsize len, gsize *need,
                          char hash[P65_HASH_LEN + 1], guint8 *rep, const char **why)
{
  *rep = P65_REP_GENERAL_FAILURE;
  hash[0] = '\0';
  if (len < 1)
    {
      *need = 5;
      return P65_SOCKS5_MORE;
    }
  if (buf[0] != SOCKS_VERSION)
    {
      *why = "request is not SOCKS version 5";
      return P65_SOCKS5_CLOSE;
    }
  if (len < 5)
    {
      *need = 5;
      return P65_SOCKS5_MORE;
    }
  if (buf[1] != CMD_CONNECT)
    {
      *rep = P65_REP_COMMAND_NOT_SUPPORTED;
      *why = "command other than CONNECT";
      return P65_SOCKS5_REFUSE;
    }
  /* RSV (buf[2]) is ignored, as RFC 1928 leaves it reserved. */
  if (buf[3] != ATYP_DOMAIN)
    {
      *rep = P65_REP_ADDRESS_NOT_SUPPORTED;
      *why = "address type other than domain name";
      return P65_SOCKS5_REFUSE;
    }
  /* A refusal does not need the rest of the request. */
  if (buf[4] != P65_HASH_LEN)
    {
      *rep = P65_REP_HOST_UNREACHABLE;
      *why = "destination is not a 40-character SHA-1 hash";
      return P65_SOCKS5_REFUSE;
    }
  gsize total = 5 + P65_HASH_LEN + 2;
  if (len < total)
    {
      *need = total;
      return P65_SOCKS5_MORE;
    }
  for (gsize i = 0; i < P65_HASH_LEN; i++)
    {
      guint8 c = buf[5 + i];
      if (!g_ascii_isxdigit (c))
        {
          *rep = P65_REP_HOST_UNREACHABLE;
          *why = "destination is not hexadecimal";
          hash[0] = '\0';
          return P65_SOCKS5_REFUSE;
        }
      hash[i] = g_ascii_tolower (c);
    }
  hash[P65_HASH_LEN] = '\0';
  /* DST.PORT "MUST be 0" (XEP-0065 §6.3.2); it means nothing here, so any
   * value is accepted. */
  *rep = P65_REP_SUCCEEDED;
  *need = total;
  return P65_SOCKS5_OK;
}

gsize
p65_socks5_build_reply (guint8 rep, const char *hash, guint8 out[P65_SOCKS5_MAX_REPLY])
{
  out[0] = SOCKS_VERSION;
  out[1] = rep;
  out[2] = 0;
  if (hash && strlen (hash) == P65_HASH_LEN)
    {
      out[3] = ATYP_DOMAIN;
      out[4] = P65_HASH_LEN;
      memcpy (out + 5, hash, P65_HASH_LEN);
      out[5 + P65_HASH_LEN] = 0;
      out[6 + P65_HASH_LEN] = 0;
      return 7 + P65_HASH_LEN;
    }
  out[3] = 0x01;   /* IPv4 0.0.0.0:0 */
  memset (out + 4, 0, 6);
  return 10;
}
