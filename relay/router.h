/* The stanza router: answers what the core itself serves (disco#info and
 * disco#items, ping, version, errors for the unknown) and hands everything
 * else to the module that owns the address. */
#pragma once

#include "modules.h"

G_BEGIN_DECLS

typedef struct _BfRouter BfRouter;

typedef struct {
  guint64 routed;          /* stanzas given to route() */
  guint64 to_modules;      /* handed to a module */
  guint64 answered;        /* answered by the core (results and errors) */
  guint64 dropped;         /* ignored: results/errors nobody waits for, bad addresses */
  guint64 dropped_bad_address;  /* of those: 'from' or 'to' missing or malformed */
  guint64 dropped_over_limit;   /* dropped by the parser over a limit (bounced or not) */
} BfRouterStats;

/* Stanzas go to @modules; the core's replies go out through @send
 * (send.h). */
BfRouter *bf_router_new (const char *domain, BfModules *modules, BfSendFunc send,
                         gpointer send_data);
void bf_router_free (BfRouter *router);
/* The process's own sub-domain ([component] node-jid), served as the
 * domain is. */
void bf_router_set_node_domain (BfRouter *router, const char *node_domain);
/* The rooms' domain ([component] rooms-jid), served as the domain is. */
void bf_router_set_rooms_domain (BfRouter *router, const char *rooms_domain);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfRouter, bf_router_free)

/* Every module may rely on a routed stanza's 'from' and 'to' being
 * well-formed JIDs (bf_jid_split) and 'to' being in our domain: anything
 * else is dropped (answered with jid-malformed where it can be) here. */
void bf_router_route (BfRouter *router, const BfStanza *stanza);

/* A stanza the parser dropped over a limit, by its head (xmlstream.h;
 * @reason "size", "depth" or "attributes"): counted, logged, and an iq
 * get/set or a message bounced to its sender with policy-violation. */
void bf_router_drop_over_limit (BfRouter *router, const BfStanza *head, const char *reason);

/* Jingle and JMI for modules that take sessions: offered every stanza for
 * such a module's address first; TRUE when it took the stanza. */
typedef gboolean (*BfRouterSessionHook) (gpointer data, BfModule *module, const BfStanza *stanza);
void bf_router_set_session_hook (BfRouter *router, BfRouterSessionHook hook, gpointer data);
/* An iq get/set to the domain itself (the admin commands, admin.h):
 * offered before the modules and the core's own answers; TRUE when the
 * hook answered it. */
typedef gboolean (*BfRouterDomainIqHook) (gpointer data, const BfStanza *iq,
                                          const BfStanza *payload);
void bf_router_set_domain_iq_hook (BfRouter *router, BfRouterDomainIqHook hook, gpointer data);
const BfRouterStats *bf_router_get_stats (BfRouter *router);

G_END_DECLS
