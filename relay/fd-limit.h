/* The descriptor limit.  A relay holds several sockets per call and two
 * per proxied file transfer plus two pipes; the usual soft limit (1024)
 * runs out long before the hard one, and an operator should not have to
 * know.  Call once at start, on the main thread, before any other thread
 * exists. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Raises RLIMIT_NOFILE's soft limit to its hard limit (capped by
 * /proc/sys/fs/nr_open when the hard limit is unlimited), and logs the
 * figure it ends with.  Returns that figure (the soft limit in force). */
guint64 bf_raise_fd_limit (void);

G_END_DECLS
