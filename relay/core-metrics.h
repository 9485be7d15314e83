/* belfry's own metric families (README "Metrics"): sessions, call setup
 * time, ICE/DTLS failures, the component link, the router and the threads.
 * The thread rule is metrics.h's: the session hooks below run on the main
 * thread and touch only atomic series; the collector reads BfLinkStats and
 * BfRouterStats (main-thread state) on the main thread at scrape time, and
 * of the workers only what is atomic (their load) or the kernel's (their
 * CPU clocks).  The media workers' packet counters: media/media-metrics.h. */
#pragma once

#include <belfry/module.h>

#include "link.h"
#include "metrics.h"
#include "router.h"
#include "worker.h"

G_BEGIN_DECLS

/* Registers the families in the default registry (idempotent; the session
 * hooks call it too), so a scrape lists them all from the start. */
void bf_core_metrics_init (void);

/* Scrape-time figures from these (any may be NULL); main thread.  Call
 * bf_core_metrics_unwatch() before freeing any of them. */
void bf_core_metrics_watch (BfLink *link, BfRouter *router, BfMediaPool *pool);
void bf_core_metrics_unwatch (void);
/* The node-jid's and rooms-jid's connections too (NULL: none), by role
 * beside the shared one (link-metrics.h); after bf_core_metrics_watch(). */
void bf_core_metrics_watch_links (BfLink *node_link, BfLink *rooms_link);

/* Session states in belfry_sessions{module,state}. */
#define BF_SESSION_STATE_PENDING "pending"          /* signalling, ICE, DTLS */
#define BF_SESSION_STATE_ESTABLISHED "established"  /* DTLS-SRTP keyed: media flows */

/* A new session (counts belfry_sessions_started_total; *@slot becomes its
 * pending series). */
void bf_core_metrics_session_started (BfModule *module, BfMetric **slot);
/* Moves the session's count from *@slot to @state's series; NULL: it is
 * gone (idempotent). */
void bf_core_metrics_session_state (BfModule *module, BfMetric **slot, const char *state);
void bf_core_metrics_session_ended (BfModule *module, const char *reason);
/* Session-initiate (or the call's answer) to DTLS connected. */
void bf_core_metrics_setup_time (BfModule *module, gint64 usec);
/* @stage "ice" or "dtls"; the reason comes from @error's code. */
void bf_core_metrics_transport_failed (BfModule *module, const char *stage, const GError *error);

G_END_DECLS
