/* SOCKS5 (RFC 1928) as XEP-0065 §6 uses it: no authentication, CONNECT to
 * a "domain name" that is the 40-hex-character SHA-1 stream hash.  Pure
 * parsing and reply building, no I/O: the proxy reads exactly the bytes
 * these functions ask for, so nothing past the request is ever consumed. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define P65_HASH_LEN 40
#define P65_SOCKS5_MAX_REPLY (5 + 255 + 2)

typedef enum {
  P65_SOCKS5_MORE,     /* *need holds how many bytes the message has in all */
  P65_SOCKS5_OK,
  P65_SOCKS5_REFUSE,   /* send the reply built for it, then close */
  P65_SOCKS5_CLOSE,    /* close without a reply: not SOCKS5 at all */
} P65Socks5Result;

/* RFC 1928 §6 reply codes the proxy uses. */
enum {
  P65_REP_SUCCEEDED = 0x00,
  P65_REP_GENERAL_FAILURE = 0x01,
  P65_REP_NOT_ALLOWED = 0x02,
  P65_REP_HOST_UNREACHABLE = 0x04,
  P65_REP_COMMAND_NOT_SUPPORTED = 0x07,
  P65_REP_ADDRESS_NOT_SUPPORTED = 0x08,
};

/* The method-selection message: VER NMETHODS METHODS...  OK when method
 * 0x00 (no authentication) is offered.  @reply gets the 2-byte answer
 * (05 00, or 05 FF for a refusal). */
P65Socks5Result p65_socks5_parse_greeting (const guint8 *buf, gsize len, gsize *need,
                                           guint8 reply[2], const char **why);

/* The request: VER CMD RSV ATYP DST.ADDR DST.PORT.  On OK @hash holds the
 * lower-cased hash (NUL-terminated).  On REFUSE @rep holds the reply code. */
P65Socks5Result p65_socks5_parse_request (const guint8 *buf, gsize len, gsize *need,
                                          char hash[P65_HASH_LEN + 1], guint8 *rep,
                                          const char **why);

/* Builds a reply: with @hash, ATYP 3 and the hash as BND.ADDR (XEP-0065
 * §6.3.2 wants DST.ADDR echoed); without, ATYP 1 and 0.0.0.0:0.  Returns
 * its length. */
gsize p65_socks5_build_reply (guint8 rep, const char *hash, guint8 out[P65_SOCKS5_MAX_REPLY]);

G_END_DECLS
