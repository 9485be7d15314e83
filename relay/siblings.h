/* Takeover of a dead sibling's slot (docs/architecture.md, "Several relays
 * behind one relay domain").  Under ejabberd's domain_balancing a dead
 * process's slot of the shared domain swallows its callers' stanzas until
 * a new connection for the domain takes it; nothing but a connection that
 * arrives while the slot is free does.  So each process pings its
 * siblings' sub-domains (XEP-0199, from its node-jid, every second); when
 * one has failed twice in a row (ejabberd answers an unrouted sub-domain
 * with an error at once), the first live process after it in the sorted
 * list of all node-jids opens one extra connection for the shared domain,
 * which takes the free slot (and one for [component] rooms-jid, balanced
 * alike).  When the sibling answers again, the extra connections are
 * closed so that the returning process can take the slots.
 *
 * The rules (gone, back, heir) are sibling-view.h's; this file sends the
 * pings, holds the connections and exports belfry_sibling_* and the
 * takeover connections' metrics (link-metrics.h).
 *
 * Main thread only. */
#pragma once

#include <belfry/stanza.h>
#include "config.h"
#include "link.h"
#include "send.h"

G_BEGIN_DECLS

typedef struct _BfSiblings BfSiblings;

/* @config must outlive the watcher and have node_jid and siblings; pings go
 * out through @send; the extra connections hand what they receive to
 * @on_stanza and @on_dropped (as the process's own link does). */
BfSiblings *bf_siblings_new (const BfConfig *config, gboolean trace,
                             BfSendFunc send, gpointer send_data,
                             BfLinkStanzaFunc on_stanza, BfLinkDroppedFunc on_dropped,
                             gpointer link_data);
void bf_siblings_free (BfSiblings *siblings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfSiblings, bf_siblings_free)

/* The process's node-jid link, which carries the pings and their
 * answers: while it is down (the server restarts) no ping is sent and no
 * sibling counted as failing (the failure would be ours). */
void bf_siblings_set_node_link (BfSiblings *siblings, BfLink *node_link);
void bf_siblings_start (BfSiblings *siblings);
/* TRUE when @stanza is the answer to one of our pings (then consumed). */
gboolean bf_siblings_handle_stanza (BfSiblings *siblings, const BfStanza *stanza);
/* Extra connections held now (for logs and the counters). */
guint bf_siblings_count_taken (BfSiblings *siblings);

G_END_DECLS
