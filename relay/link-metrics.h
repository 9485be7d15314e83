/* Metrics of a process's component connections by role (README
 * "Metrics"): with [component] node-jid, rooms-jid and siblings a process
 * holds up to three connections of its own ("shared": the [component]
 * jid's, "node", "rooms") and those it opens in a gone sibling's slots
 * ("takeover", siblings.c).  belfry_link_* (core-metrics.c) stay the
 * shared connection's alone, as before there were several.
 *
 * Main thread only: called from scrape-time collectors, which read
 * BfLinkStats (main-thread state). */
#pragma once

#include "link.h"

G_BEGIN_DECLS

#define BF_LINK_ROLE_SHARED "shared"
#define BF_LINK_ROLE_NODE "node"
#define BF_LINK_ROLE_ROOMS "rooms"
#define BF_LINK_ROLE_TAKEOVER "takeover"

/* What the connections of one role add up to. */
typedef struct {
  guint up;              /* attached now */
  guint64 connects;      /* connection attempts */
  guint64 attaches;      /* accepted handshakes */
  guint64 reconnects;    /* each connection's attaches after its first */
} BfLinkTotals;

/* Adds @link's figures to @totals (NULL: nothing). */
void bf_link_totals_add (BfLinkTotals *totals, BfLink *link);
/* Sets the role's series (registering the families on first use). */
void bf_link_metrics_set (const char *role, const BfLinkTotals *totals);

G_END_DECLS
