/* Logging: GLib structured logging, one domain per area ("belfry-link",
 * "belfry-router", "belfry-<module>", ...), written to stderr as one line
 * per record.  Debug records (and the stanza trace) only with --verbose. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void bf_log_init (gboolean verbose);
/* Debug records on or off while running ([component] log-level, reload). */
void bf_log_set_debug (gboolean debug);
gboolean bf_log_get_debug (void);

G_END_DECLS
