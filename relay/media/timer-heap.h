/* belfry media: a min-heap of deadlines, the timers of one media worker.
 *
 * Why: a GSource per timer (every transport's consent check and metrics
 * fold) makes each iteration of a GMainContext walk all of them, so a
 * worker's cost per wake-up grew with the calls it holds, busy or not.  A
 * worker keeps its packet-path timers here instead: scheduling, moving and
 * cancelling are O(log n), finding the next deadline O(1), and a wake-up
 * runs only the timers that are due.
 *
 * A BfMediaTimerEntry is embedded in (or owned by) whatever it times; the
 * heap only points to it.  Pure data structure: no clock, no thread of its
 * own; used on one thread (the worker's). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gint64 deadline;      /* monotonic µs; valid while scheduled */
  guint index;          /* position in the heap, G_MAXUINT when not in it */
} BfMediaTimerEntry;

#define BF_MEDIA_TIMER_ENTRY_INIT { 0, G_MAXUINT }

typedef struct {
  GPtrArray *entries;   /* BfMediaTimerEntry*, heap-ordered by deadline */
} BfMediaTimerHeap;

void bf_media_timer_heap_init (BfMediaTimerHeap *heap);
/* Every entry must have been removed. */
void bf_media_timer_heap_clear (BfMediaTimerHeap *heap);

static inline gboolean
bf_media_timer_entry_scheduled (const BfMediaTimerEntry *entry)
{
  return entry->index != G_MAXUINT;
}

/* Schedules @entry at @deadline, or moves it there if already scheduled. */
void bf_media_timer_heap_set (BfMediaTimerHeap *heap, BfMediaTimerEntry *entry, gint64 deadline);
/* Unschedules @entry; nothing if it is not scheduled. */
void bf_media_timer_heap_remove (BfMediaTimerHeap *heap, BfMediaTimerEntry *entry);
/* The earliest deadline, G_MAXINT64 when empty. */
gint64 bf_media_timer_heap_next (const BfMediaTimerHeap *heap);
/* Removes and returns an entry whose deadline is <= @now, NULL if none. */
BfMediaTimerEntry *bf_media_timer_heap_pop_due (BfMediaTimerHeap *heap, gint64 now);
guint bf_media_timer_heap_size (const BfMediaTimerHeap *heap);

G_END_DECLS
