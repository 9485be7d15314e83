/* relay/malloc-policy.c: blocks of BF_MALLOC_MMAP_THRESHOLD or more get
 * mappings of their own, smaller ones stay in the heap, and the threshold
 * stays where belfry put it after a large mapped block is freed (glibc's
 * default would raise it, putting 64 KiB blocks back in the arenas).
 * Whether a block is mapped: glibc's count of mapped blocks (mallinfo2). */
#include <malloc.h>
#ifndef __GLIBC__
#error "the malloc policy is glibc's M_MMAP_THRESHOLD"
#endif
#include <glib.h>

#include "malloc-policy.h"

#define N_BLOCKS 64

/* How many of N_BLOCKS blocks of @size, allocated one after the other,
 * got mappings of their own.  malloc serves a block from the heap's free
 * space (its top included) before it considers a mapping, so the first
 * few may come from there whatever the threshold; once that space is used
 * up, a block at or over the threshold is mapped and one under it grows
 * the heap. */
static guint
n_mapped (gsize size)
{
  void *p[N_BLOCKS];
  gsize before = mallinfo2 ().hblks;
  for (guint i = 0; i < N_BLOCKS; i++)
    {
      p[i] = malloc (size);
      g_assert_nonnull (p[i]);
    }
  guint mapped = mallinfo2 ().hblks - before;
  for (guint i = 0; i < N_BLOCKS; i++)
    free (p[i]);
  g_assert_cmpuint (mallinfo2 ().hblks, ==, before);
  return mapped;
}

static void
test_threshold (void)
{
  bf_malloc_policy_apply ();
  g_assert_cmpuint (n_mapped (4096), ==, 0);
  g_assert_cmpuint (n_mapped (BF_MALLOC_MMAP_THRESHOLD - 256), ==, 0);
  g_assert_cmpuint (n_mapped (BF_MALLOC_MMAP_THRESHOLD), >=, N_BLOCKS / 2);
  /* libnice's receive buffers (under glibc's default threshold, 128 KiB:
   * none would be mapped) */
  g_assert_cmpuint (n_mapped (65535), >=, N_BLOCKS / 2);
}

static void
test_stays_fixed_after_a_large_free (void)
{
  bf_malloc_policy_apply ();
  /* glibc's default raises its threshold to the size of a mapped block
   * freed: 1 MiB here, then a 64 KiB block would come from the heap. */
  void *large = malloc (1 << 20);
  g_assert_nonnull (large);
  free (large);
  g_assert_cmpuint (n_mapped (65535), >=, N_BLOCKS / 2);
  g_assert_cmpuint (n_mapped (BF_MALLOC_MMAP_THRESHOLD), >=, N_BLOCKS / 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/malloc-policy/threshold", test_threshold);
  g_test_add_func ("/malloc-policy/stays-fixed-after-a-large-free",
                   test_stays_fixed_after_a_large_free);
  return g_test_run ();
}
