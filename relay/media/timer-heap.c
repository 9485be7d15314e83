/* belfry media: a min-heap of deadlines (see timer-heap.h). */
#include "timer-heap.h"

#define AT(h, i) ((BfMediaTimerEntry *) (h)->entries->pdata[i])

void
bf_media_timer_heap_init (BfMediaTimerHeap *heap)
{
  heap->entries = g_ptr_array_new ();
}

void
bf_media_timer_heap_clear (BfMediaTimerHeap *heap)
{
  if (heap->entries == NULL)
    return;
  g_warn_if_fail (heap->entries->len == 0);
  g_clear_pointer (&heap->entries, g_ptr_array_unref);
}

static void
place (BfMediaTimerHeap *heap, guint i, BfMediaTimerEntry *e)
{
  heap->entries->pdata[i] = e;
  e->index = i;
}

static void
sift_up (BfMediaTimerHeap *heap, guint i)
{
  BfMediaTimerEntry *e = AT (heap, i);
  while (i > 0)
    {
      guint parent = (i - 1) / 2;
      BfMediaTimerEntry *p = AT (heap, parent);
      if (p->deadline <= e->deadline)
        break;
      place (heap, i, p);
      i = parent;
    }
  place (heap, i, e);
}

static void
sift_down (BfMediaTimerHeap *heap, guint i)
{
  guint n = heap->entries->len;
  BfMediaTimerEntry *e = AT (heap, i);
  for (;;)
    {
      guint child = 2 * i + 1;
      if (child >= n)
        break;
      if (child + 1 < n && AT (heap, child + 1)->deadline < AT (heap, child)->deadline)
        child++;
      if (AT (heap, child)->deadline >= e->deadline)
        break;
      place (heap, i, AT (heap, child));
      i = child;
    }
  place (heap, i, e);
}

void
bf_media_timer_heap_set (BfMediaTimerHeap *heap, BfMediaTimerEntry *entry, gint64 deadline)
{
  if (!bf_media_timer_entry_scheduled (entry))
    {
      entry->deadline = deadline;
      g_ptr_array_add (heap->entries, entry);
      entry->index = heap->entries->len - 1;
      sift_up (heap, entry->index);
      return;
    }
  gint64 old = entry->deadline;
  entry->deadline = deadline;
  if (deadline < old)
    sift_up (heap, entry->index);
  else
    sift_down (heap, entry->index);
}

void
bf_media_timer_heap_remove (BfMediaTimerHeap *heap, BfMediaTimerEntry *entry)
{
  if (!bf_media_timer_entry_scheduled (entry))
    return;
  guint i = entry->index;
  g_return_if_fail (i < heap->entries->len && AT (heap, i) == entry);
  guint last = heap->entries->len - 1;
  BfMediaTimerEntry *moved = AT (heap, last);
  g_ptr_array_set_size (heap->entries, last);
  entry->index = G_MAXUINT;
  if (i == last)
    return;
  place (heap, i, moved);
  if (i > 0 && AT (heap, (i - 1) / 2)->deadline > moved->deadline)
    sift_up (heap, i);
  else
    sift_down (heap, i);
}

gint64
bf_media_timer_heap_next (const BfMediaTimerHeap *heap)
{
  return heap->entries->len ? AT (heap, 0)->deadline : G_MAXINT64;
}

BfMediaTimerEntry *
bf_media_timer_heap_pop_due (BfMediaTimerHeap *heap, gint64 now)
{
  if (heap->entries->len == 0 || AT (heap, 0)->deadline > now)
    return NULL;
  BfMediaTimerEntry *e = AT (heap, 0);
  bf_media_timer_heap_remove (heap, e);
  return e;
}

guint
bf_media_timer_heap_size (const BfMediaTimerHeap *heap)
{
  return heap->entries->len;
}
