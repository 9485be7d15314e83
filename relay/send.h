/* The core's one outbound path.  The daemon (main.c) builds the module
 * loader, the router, the session manager and the admin commands with the
 * link's send function, and each of them sends through it directly: no
 * part of the core reaches the link through another.
 *
 * Main thread only, like the link it leads to. */
#pragma once

#include <belfry/stanza.h>

G_BEGIN_DECLS

/* Sends @stanza (borrowed: the callee copies or serializes what it keeps);
 * FALSE when it could not be sent or held (link.h). */
typedef gboolean (*BfSendFunc) (gpointer data, const BfStanza *stanza);

G_END_DECLS
