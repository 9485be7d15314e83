/* Unpredictable numbers for what a peer must not guess: session ids,
 * resources, SSRCs, ICE tie-breakers.  GLib's g_random_* is a Mersenne
 * Twister seeded once: a few of its outputs (echo's SSRCs, a sid) give away
 * the rest.  These come from the kernel's CSPRNG (getrandom(2)).
 * Any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Fills @buf with @len random bytes; never fails (aborts when the kernel
 * has no random source at all, which no supported system lacks). */
void bf_random_bytes (void *buf, gsize len);
guint32 bf_random_u32 (void);   /* also in <belfry/module.h> for modules */
guint64 bf_random_u64 (void);

G_END_DECLS
