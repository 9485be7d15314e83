/* Kernel randomness (random.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/random.h>

#include "random.h"

void
bf_random_bytes (void *buf, gsize len)
{
  guint8 *p = buf;
  while (len > 0)
    {
      /* Blocks only before the kernel's pool is first seeded (at boot). */
      ssize_t n = getrandom (p, len, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        g_error ("getrandom: %s", n < 0 ? g_strerror (errno) : "no bytes");
      p += n;
      len -= (gsize) n;
    }
}

guint32
bf_random_u32 (void)
{
  guint32 v;
  bf_random_bytes (&v, sizeof v);
  return v;
}

guint64
bf_random_u64 (void)
{
  guint64 v;
  bf_random_bytes (&v, sizeof v);
  return v;
}
