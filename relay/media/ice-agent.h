/* belfry media: belfry's own ICE agent for the shared port ([media]
 * shared-port, media-config.h).
 *
 * Why it exists: libnice cannot share one UDP socket between agents, and
 * the pair a peer selects names our port, so a transport that is to live
 * on its worker's one shared port must run ICE itself on it from the
 * start.  XEP-0176 asks for a full agent (not ice-lite), so this is the
 * full-ICE subset of RFC 8445 that one component with host candidates
 * needs: a paced check list (Ta) with retransmissions, answered checks
 * with triggered checks (§7.3.1.4) and peer-reflexive remote candidates
 * (§7.3.1.3), role conflicts by tie-breaker (§7.3.1.1), regular
 * nomination when controlling (§8.1.1), selection of a valid nominated
 * pair when controlled (§7.3.1.5), ICE restart (§9) and trickle.
 *
 * Socket-free, like jingle/: the caller owns the sockets and the timer.
 * It feeds received STUN messages in (_handle), takes what to send and to
 * whom out (_pop_send), and calls _tick at _next_deadline.  Local
 * candidates are the caller's shared sockets, by index; each is a host
 * candidate.  STUN is libnice's library (stun/), as in ice-consent.c; no
 * StunAgent is kept (ice-consent.c says why).
 *
 * Bounds against hostile peers: at most BF_ICE_AGENT_MAX_REMOTE remote
 * candidates (signalled or peer-reflexive, each passed through the
 * candidate policy), so at most that many pairs per local candidate; every
 * check leaves at most one per Ta and is retransmitted at most
 * max_retransmissions times; checks the peer triggers need a request
 * authenticated with our password.
 *
 * Not thread-safe: lives on its transport's worker. */
#pragma once

#include <glib.h>
#include <sys/socket.h>

#include "addr-policy.h"

G_BEGIN_DECLS

/* libnice's own limit on remote candidates per component. */
#define BF_ICE_AGENT_MAX_REMOTE 25
#define BF_ICE_AGENT_MAX_LOCAL 16

typedef struct _BfIceAgent BfIceAgent;

typedef struct {
  /* The bound addresses of the shared sockets (host candidates). */
  struct sockaddr_storage locals[BF_ICE_AGENT_MAX_LOCAL];
  guint n_locals;
  /* NULL: every remote address is allowed (tests). */
  const BfAddrPolicy *policy;
  guint ta_ms;                    /* 0: 20 ms (libnice's pacing) */
  guint initial_rto_ms;           /* 0: 250 ms, doubling, at most 3 s */
  guint max_retransmissions;      /* 0: 7 (libnice's Rc) */
} BfIceAgentConfig;

typedef enum {
  BF_ICE_AGENT_RUNNING,
  BF_ICE_AGENT_SELECTED,   /* a nominated valid pair is selected */
  BF_ICE_AGENT_FAILED,     /* every pair failed after end-of-candidates */
} BfIceAgentState;

/* Flags _take_events returns. */
enum {
  BF_ICE_AGENT_EVENT_SELECTED = 1 << 0,   /* a (new) selected pair */
  BF_ICE_AGENT_EVENT_FAILED = 1 << 1,
  BF_ICE_AGENT_EVENT_ROLE = 1 << 2,       /* a role conflict switched our role */
};

typedef enum {
  BF_ICE_AGENT_NOT_STUN,   /* not a STUN message */
  BF_ICE_AGENT_IGNORED,    /* STUN, not for us or not authentic */
  BF_ICE_AGENT_HANDLED,
} BfIceAgentInput;

/* One datagram to send from local candidate @local to @to. */
typedef struct {
  guint local;
  struct sockaddr_storage to;
  socklen_t to_len;
  gsize len;
  guint8 data[];
} BfIceSend;

/* @config is copied (the policy too).  Local credentials are random (RFC
 * 8445 §5.3: ufrag 8 and pwd 24 ice-chars) unless set before any check. */
BfIceAgent *bf_ice_agent_new (const BfIceAgentConfig *config, gboolean controlling);
void bf_ice_agent_free (BfIceAgent *agent);

void bf_ice_agent_get_local_credentials (BfIceAgent *agent, const char **ufrag,
                                         const char **pwd);
void bf_ice_agent_set_local_credentials (BfIceAgent *agent, const char *ufrag, const char *pwd);
/* Checks start once these are known (they may come after candidates). */
void bf_ice_agent_set_remote_credentials (BfIceAgent *agent, const char *ufrag, const char *pwd);
/* NULL until set (and after a restart without new ones). */
void bf_ice_agent_get_remote_credentials (BfIceAgent *agent, const char **ufrag,
                                          const char **pwd);
/* A remote host/srflx/relay candidate (component 1, UDP).  FALSE if the
 * policy refuses it, it is a duplicate, or the table is full. */
gboolean bf_ice_agent_add_remote_candidate (BfIceAgent *agent, const struct sockaddr *addr,
                                            socklen_t addr_len, guint32 priority);
void bf_ice_agent_remote_gathering_done (BfIceAgent *agent);
/* RFC 8445 §9: new local credentials (random), the remote ones replaced by
 * @ufrag/@pwd (NULL: set them later), remote candidates and pairs dropped.
 * The selected pair stays selected (media keeps going on it) until a pair
 * of the new generation is; requests with the old credentials are still
 * answered until then. */
void bf_ice_agent_restart (BfIceAgent *agent, const char *ufrag, const char *pwd);

/* A datagram that arrived on local candidate @local from @from at @now
 * (g_get_monotonic_time). */
BfIceAgentInput bf_ice_agent_handle (BfIceAgent *agent, guint local, const guint8 *data,
                                     gsize len, const struct sockaddr *from, socklen_t from_len,
                                     gint64 now);
/* Sends checks and retransmissions due at @now. */
void bf_ice_agent_tick (BfIceAgent *agent, gint64 now);
/* When _tick wants to run next (monotonic µs), -1: nothing pending. */
gint64 bf_ice_agent_next_deadline (BfIceAgent *agent);
/* The next datagram to send (g_free it), NULL: none. */
BfIceSend *bf_ice_agent_pop_send (BfIceAgent *agent);
/* The events since the last call (BF_ICE_AGENT_EVENT_*). */
guint bf_ice_agent_take_events (BfIceAgent *agent);

BfIceAgentState bf_ice_agent_get_state (BfIceAgent *agent);
gboolean bf_ice_agent_is_controlling (BfIceAgent *agent);
/* The priority of our host candidate on local candidate @local (RFC 8445
 * §5.1.2.1: type preference 126, local preference by the order of the
 * shared addresses, component 1): what the agent pairs with, what
 * signalling announces and what consent requests carry. */
guint32 bf_ice_agent_host_priority (guint local);
/* FALSE before a selection. */
gboolean bf_ice_agent_get_selected (BfIceAgent *agent, guint *local,
                                    struct sockaddr_storage *remote, socklen_t *remote_len);
/* Checks this agent sent (first transmissions and retransmissions). */
guint64 bf_ice_agent_get_checks_sent (BfIceAgent *agent);

/* For a demultiplexer: the STUN class (0 request, 1 indication, 2
 * success, 3 error) and transaction id of @data, and for a request the
 * local ufrag (what precedes ':' in USERNAME), unauthenticated.  FALSE:
 * not a well-formed STUN message. */
typedef struct {
  guint cls;
  guint8 transaction[12];
  const guint8 *ufrag;    /* into @data; NULL: none */
  gsize ufrag_len;
  const guint8 *remote_ufrag;   /* after the colon; NULL: none */
  gsize remote_ufrag_len;
} BfIceStunPeek;
gboolean bf_ice_stun_peek (const guint8 *data, gsize len, BfIceStunPeek *peek);

G_END_DECLS
