/* belfry media: one transport's ICE on its worker's shared port: an
 * ice-agent.c agent wired to a port-mux.c link and a timer of the worker
 * loop.
 *
 * Why: ice-agent.c is socket-free and port-mux.c knows no ICE; this is the
 * glue between them (STUN in, what to send out, the agent's deadlines on
 * the worker's timer heap, selection handed to the mux), so that
 * transport.c's shared-port path and the tests drive the same thing.
 *
 * Threading: on the mux's worker only; callbacks run there (not to free
 * the BfSharedIce from). */
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include "addr-policy.h"
#include "ice-agent.h"
#include "media-types.h"
#include "port-mux.h"
#include "worker-loop.h"

G_BEGIN_DECLS

typedef struct _BfSharedIce BfSharedIce;

typedef struct {
  /* Not STUN, from the selected remote address. */
  void (*receive) (guint8 *data, gsize len, gpointer user_data);
  /* A (new) pair is selected and the mux routes it here. */
  void (*selected) (gpointer user_data);
  /* ICE failed: every pair failed after end-of-candidates, the pair
   * selected is another transport's remote address (port-mux.h), or
   * consent expired on the selected pair. */
  void (*failed) (gpointer user_data);
} BfSharedIceCallbacks;

typedef struct {
  const BfAddrPolicy *policy;       /* NULL: any remote address */
  guint ta_ms, initial_rto_ms, max_retransmissions;   /* 0: ice-agent.c's defaults */
  gboolean controlling;
  /* RFC 7675 on the selected pair (consent-clock.h); 0: no checks of ours
   * (the peer's are still answered). */
  guint consent_timeout_ms;
} BfSharedIceParams;

BfSharedIce *bf_shared_ice_new (BfPortMux *mux, BfMediaLoop *loop, const BfSharedIceParams *params,
                                const BfSharedIceCallbacks *callbacks, BfMediaCounters *counters,
                                gpointer user_data);
void bf_shared_ice_free (BfSharedIce *ice);
BfIceAgent *bf_shared_ice_get_agent (BfSharedIce *ice);

void bf_shared_ice_set_local_credentials (BfSharedIce *ice, const char *ufrag, const char *pwd);
void bf_shared_ice_set_remote_credentials (BfSharedIce *ice, const char *ufrag, const char *pwd);
gboolean bf_shared_ice_add_remote_candidate (BfSharedIce *ice, const struct sockaddr *addr,
                                             socklen_t len, guint32 priority);
void bf_shared_ice_remote_gathering_done (BfSharedIce *ice);
/* RFC 8445 §9 (ice-agent.h); the mux routes the new ufrag too. */
void bf_shared_ice_restart (BfSharedIce *ice, const char *ufrag, const char *pwd);

/* To the selected pair (port-mux.h's _send/_reserve/_commit). */
gboolean bf_shared_ice_send (BfSharedIce *ice, const guint8 *data, gsize len);
guint8 *bf_shared_ice_reserve (BfSharedIce *ice);
void bf_shared_ice_commit (BfSharedIce *ice, gsize len, gboolean rtcp);

G_END_DECLS
