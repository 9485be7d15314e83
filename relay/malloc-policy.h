/* The allocator's settings for a relay.  Why: a relayed call's memory is
 * mostly small long-lived blocks (libnice's agent, SRTP contexts) beside
 * large short-lived ones (each leg's DTLS record and handshake buffers,
 * ~40 KiB, freed when the handshake ends) and large never-touched ones
 * (libnice's two 64 KiB receive buffers per component).  With glibc's
 * defaults all of them come from the worker threads' arenas: the large
 * freed blocks leave touched holes, later legs' libnice buffers are carved
 * from them, and pages nobody uses stay resident (docs/architecture.md,
 * "What a call holds").  Call once at start, on the main thread, before
 * any other thread exists. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Blocks of at least this size get mappings of their own (malloc's
 * M_MMAP_THRESHOLD), unmapped when freed: 16 KiB measured best of 8, 16,
 * 32, 64 KiB and glibc's dynamic default (tests/bench/rss_per_call.py). */
#define BF_MALLOC_MMAP_THRESHOLD (16 * 1024)

/* Applies the settings above (nothing where the C library is not glibc);
 * logs if glibc refuses them. */
void bf_malloc_policy_apply (void);

G_END_DECLS
