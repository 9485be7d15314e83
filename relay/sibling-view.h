/* What a process knows of its siblings, and the decisions siblings.c takes
 * from it (docs/architecture.md, "Takeover of a dead sibling's slot"):
 * which ping answers count, when a sibling is gone or back, and who covers
 * a gone sibling's slot (its heir).  Kept apart from siblings.c's pings and
 * connections so that the rules can be tested without sockets or timers
 * (tests/unit/test-sibling-view.c): nothing here does I/O.
 *
 * One owner, one thread (siblings.c's: the main thread). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Consecutive failed pings (an error, or no answer by the next ping)
 * before a sibling counts as gone: one failure may be a restart of its
 * link, two are a second apart. */
#define BF_SIBLING_FAILURES_FOR_GONE 2

typedef struct _BfSiblingView BfSiblingView;

/* @self: our node-jid; @siblings: the others' (NULL-terminated).  The
 * view lists all of them, ours included, sorted (ASCII, case-insensitive):
 * every process sorts the same list the same way. */
BfSiblingView *bf_sibling_view_new (const char *self, const char *const *siblings);
void bf_sibling_view_free (BfSiblingView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfSiblingView, bf_sibling_view_free)

guint bf_sibling_view_size (const BfSiblingView *view);
const char *bf_sibling_view_jid (const BfSiblingView *view, guint i);
gboolean bf_sibling_view_is_self (const BfSiblingView *view, guint i);
gboolean bf_sibling_view_is_gone (const BfSiblingView *view, guint i);

/* What a ping or its answer changed. */
typedef enum {
  BF_SIBLING_UNCHANGED,   /* counted (or ignored): no decision to revisit */
  BF_SIBLING_WENT,        /* the sibling is now gone */
  BF_SIBLING_CAME_BACK,   /* the sibling, gone, answered */
} BfSiblingChange;

/* A new ping to sibling @i (not ourselves): a previous one still
 * unanswered counts as a failure first.  Returns the new ping's id (never
 * 0); *@change says whether @i went. */
guint64 bf_sibling_view_ping (BfSiblingView *view, guint i, BfSiblingChange *change);

/* Our own link is down: the pings out now say nothing of the siblings.
 * Forgets every pending ping (its answer, if any comes, counts for
 * nothing, and the next ping counts no failure for it). */
void bf_sibling_view_forget_pings (BfSiblingView *view);

/* An answer from @from to ping @id: @ok for a result, FALSE for an error
 * (a sub-domain with no route).  Only the pending ping of the sibling it
 * comes from counts; anything else is UNCHANGED.  *@index (may be NULL)
 * is the sibling's when it counted, else -1. */
BfSiblingChange bf_sibling_view_answer (BfSiblingView *view, const char *from, guint64 id,
                                        gboolean ok, gint *index);

/* The process that covers gone sibling @i: the first live one after it in
 * the sorted list, wrapping around.  Every process computes the same from
 * the same pings.  -1 when @i is not gone. */
gint bf_sibling_view_heir (const BfSiblingView *view, guint i);
/* TRUE when @i is gone and we are its heir: we hold a connection in its
 * slot. */
gboolean bf_sibling_view_we_cover (const BfSiblingView *view, guint i);

G_END_DECLS
