#define G_LOG_DOMAIN "belfry"
/* See malloc-policy.h. */
#include "malloc-policy.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

void
bf_malloc_policy_apply (void)
{
#ifdef __GLIBC__
  /* A fixed threshold also turns off glibc's raising it after a mapped
   * block is freed, which would put the DTLS buffers back in the arenas
   * after the first handshake.  The packet path allocates nothing
   * (relay/media), so the mmap/munmap pairs come with call set-up (a few
   * per leg) and with whatever else takes and frees 16 KiB or more (a
   * large stanza). */
  if (mallopt (M_MMAP_THRESHOLD, BF_MALLOC_MMAP_THRESHOLD) != 1)
    g_warning ("malloc refused M_MMAP_THRESHOLD = %d", BF_MALLOC_MMAP_THRESHOLD);
#endif
}
