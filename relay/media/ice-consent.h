/* belfry media: the STUN side of a selected ICE pair once the transport
 * reads its socket itself (transport.c "direct I/O"): answers the peer's
 * connectivity/consent checks (RFC 8445 §7.3, RFC 7675 §5.2) and builds and
 * recognises our own consent requests (RFC 7675 §5.1), with libnice's STUN
 * library (the agent's own StunAgent is private to libnice).
 *
 * Not thread-safe: lives on its transport's worker. */
#pragma once

#include <glib.h>
#include <sys/socket.h>

G_BEGIN_DECLS

typedef struct _BfIceConsent BfIceConsent;

/* Short-term credentials of both sides (copied); @controlling is our ICE
 * role, @priority the PRIORITY we put in our requests. */
BfIceConsent *bf_ice_consent_new (const char *local_ufrag, const char *local_pwd,
                                  const char *remote_ufrag, const char *remote_pwd,
                                  gboolean controlling, guint32 priority);
void bf_ice_consent_free (BfIceConsent *consent);

/* A Binding request to the peer (a new transaction; the oldest outstanding
 * one is forgotten beyond a few).  Returns its length, 0 on failure. */
gsize bf_ice_consent_build_request (BfIceConsent *consent, guint8 *buf, gsize size);

typedef enum {
  BF_ICE_STUN_NOT_STUN,  /* not a STUN message at all */
  BF_ICE_STUN_IGNORED,   /* STUN, but not for us or failed authentication */
  BF_ICE_STUN_REPLY,     /* a valid request: send *reply_len bytes of @reply back */
  BF_ICE_STUN_CONSENT,   /* a success response to one of our requests */
} BfIceStunResult;

/* @data: one STUN message from @from.  @reply: room for at least 1280
 * bytes. */
BfIceStunResult bf_ice_consent_handle (BfIceConsent *consent, const guint8 *data, gsize len,
                                       const struct sockaddr *from, socklen_t from_len,
                                       guint8 *reply, gsize *reply_len);

G_END_DECLS
