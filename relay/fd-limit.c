/* The descriptor limit (fd-limit.h). */
#define G_LOG_DOMAIN "belfry"

#include <errno.h>
#include <sys/resource.h>

#include "fd-limit.h"

/* Linux refuses an RLIMIT_NOFILE above fs.nr_open, even when the hard
 * limit is "unlimited". */
static rlim_t
kernel_cap (void)
{
  g_autofree char *text = NULL;
  guint64 v;
  if (g_file_get_contents ("/proc/sys/fs/nr_open", &text, NULL, NULL)
      && g_ascii_string_to_unsigned (g_strstrip (text), 10, 1, G_MAXUINT64, &v, NULL))
    return (rlim_t) v;
  return 1024 * 1024;   /* the kernel's default nr_open */
}

guint64
bf_raise_fd_limit (void)
{
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    {
      g_warning ("file descriptors: cannot read the limit: %s", g_strerror (errno));
      return 0;
    }
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY)
    want = kernel_cap ();
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
    {
      g_message ("file descriptors: limit %" G_GUINT64_FORMAT " (the hard limit)",
                 (guint64) rl.rlim_cur);
      return rl.rlim_cur;
    }
  rlim_t before = rl.rlim_cur;
  rl.rlim_cur = want;
  if (setrlimit (RLIMIT_NOFILE, &rl) < 0)
    {
      g_warning ("file descriptors: cannot raise the limit from %" G_GUINT64_FORMAT " to %"
                 G_GUINT64_FORMAT ": %s", (guint64) before, (guint64) want, g_strerror (errno));
      return before;
    }
  g_message ("file descriptors: limit %" G_GUINT64_FORMAT " (raised from %" G_GUINT64_FORMAT
             " to the hard limit)", (guint64) want, (guint64) before);
  return want;
}
