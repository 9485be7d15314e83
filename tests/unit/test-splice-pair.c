/* The proxy65 module's spliced pair (modules/proxy65/splice-pair.c): who
 * owns the two sockets.  On success the pair does (and closes them once, in
 * p65_pair_free); when its pipes cannot be made (EMFILE here, forced with a
 * low RLIMIT_NOFILE) it touches neither, closes only what it made, and the
 * caller still owns both.  A pair prepared on one thread relays (and
 * throttles) on the context of the thread that starts it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <gio/gio.h>

#include "splice-pair.h"

static gboolean
fd_open (int fd)
{
  return fcntl (fd, F_GETFD) >= 0;
}

/* The lowest free descriptor number. */
static int
next_fd (void)
{
  int fd = dup (0);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  return fd;
}

/* Two connected pairs: @a[0] and @b[0] go to the splice pair, @a[1] and
 * @b[1] are the far ends the test talks through. */
static void
socket_pairs (int a[2], int b[2])
{
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, b), ==, 0);
}

static void
on_done (P65Pair *pair, const char *reason, gpointer data)
{
  (void) pair;
  (void) reason;
  *(gboolean *) data = TRUE;
}

/* @free_slots descriptors left under the limit: 0 fails the first pipe,
 * 2 the second. */
static void
check_failure_leaves_fds_to_caller (int free_slots)
{
  int a[2], b[2];
  socket_pairs (a, b);
  int first_free = next_fd ();
  struct rlimit saved, low;
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = (rlim_t) (first_free + free_slots);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);

  P65PairLimits limits = { 0 };
  gboolean done = FALSE;
  g_autoptr (GError) error = NULL;
  P65Pair *pair = p65_pair_new (a[0], b[0], &limits, on_done, &done, &error);
  int err_code = error ? error->code : -1;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);

  g_assert_null (pair);
  g_assert_error (error, G_IO_ERROR, err_code);
  g_assert_true (strstr (error->message, "pipe") != NULL);
  /* Both sockets are still the caller's, open and working... */
  g_assert_true (fd_open (a[0]));
  g_assert_true (fd_open (b[0]));
  g_assert_cmpint (write (a[1], "x", 1), ==, 1);
  char c = 0;
  g_assert_cmpint (read (a[0], &c, 1), ==, 1);
  g_assert_cmpint (c, ==, 'x');
  /* ...and the pipe the pair did make (free_slots 2) was closed. */
  g_assert_cmpint (next_fd (), ==, first_free);
  g_assert_false (done);
  /* The caller closes them, once. */
  g_assert_cmpint (close (a[0]), ==, 0);
  g_assert_cmpint (close (b[0]), ==, 0);
  close (a[1]);
  close (b[1]);
}

static void
test_no_pipe_at_all (void)
{
  check_failure_leaves_fds_to_caller (0);
}

static void
test_second_pipe_fails (void)
{
  check_failure_leaves_fds_to_caller (2);
}

static void
test_success_takes_and_closes (void)
{
  int a[2], b[2];
  socket_pairs (a, b);
  P65PairLimits limits = { .pipe_size = 65536 };
  gboolean done = FALSE;
  g_autoptr (GError) error = NULL;
  P65Pair *pair = p65_pair_new (a[0], b[0], &limits, on_done, &done, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pair);
  /* It relays: a byte in at one far end comes out at the other. */
  g_assert_cmpint (write (a[1], "hello", 5), ==, 5);
  char buf[8] = { 0 };
  ssize_t got = 0;
  for (int i = 0; i < 200 && got < 5; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      ssize_t n = read (b[1], buf + got, sizeof buf - 1 - (gsize) got);
      if (n > 0)
        got += n;
      else
        g_usleep (1000);
    }
  g_assert_cmpstr (buf, ==, "hello");
  p65_pair_free (pair);
  /* The pair closed both: the far ends see EOF. */
  g_assert_false (fd_open (a[0]));
  g_assert_false (fd_open (b[0]));
  g_assert_cmpint (read (a[1], buf, 1), ==, 0);
  g_assert_cmpint (read (b[1], buf, 1), ==, 0);
  g_assert_false (done);
  close (a[1]);
  close (b[1]);
}

/* Prepared on this thread, started and freed on another with a context of
 * its own (as proxy65's relay threads do): it relays there, and its
 * bandwidth throttle wakes it on that context, never on the default one
 * (which nobody runs here: a throttle there would stall the pair). */
typedef struct {
  P65Pair *pair;
  GMainContext *context;
  GMainLoop *loop;
} PairThread;

static gpointer
pair_thread (gpointer data)
{
  PairThread *pt = data;
  g_main_context_push_thread_default (pt->context);
  p65_pair_start (pt->pair);
  g_main_loop_run (pt->loop);
  p65_pair_free (pt->pair);
  g_main_context_pop_thread_default (pt->context);
  return NULL;
}

static void
test_started_on_another_thread (void)
{
  int a[2], b[2];
  socket_pairs (a, b);
  /* 100 kB/s: the first 25 kB pass at once (the bucket), the rest only
   * after throttle wake-ups. */
  P65PairLimits limits = { .pipe_size = 65536, .bandwidth = 100000 };
  gboolean done = FALSE;
  g_autoptr (GError) error = NULL;
  PairThread pt = { 0 };
  pt.pair = p65_pair_prepare (a[0], b[0], &limits, on_done, &done, &error);
  g_assert_no_error (error);
  pt.context = g_main_context_new ();
  pt.loop = g_main_loop_new (pt.context, FALSE);
  GThread *thread = g_thread_new ("pair", pair_thread, &pt);

  enum { TOTAL = 60000 };
  static char out[TOTAL], in[TOTAL];
  for (gsize i = 0; i < TOTAL; i++)
    out[i] = (char) (i * 7 + 3);
  gsize sent = 0, got = 0;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (got < TOTAL && g_get_monotonic_time () < deadline)
    {
      if (sent < TOTAL)
        {
          ssize_t n = write (a[1], out + sent, TOTAL - sent);
          if (n > 0)
            sent += (gsize) n;
        }
      ssize_t n = read (b[1], in + got, TOTAL - got);
      if (n > 0)
        got += (gsize) n;
      else
        g_usleep (2000);
    }
  g_assert_cmpuint (got, ==, TOTAL);
  g_assert_true (memcmp (in, out, TOTAL) == 0);
  /* Nothing of the pair's was ever put on the default context. */
  g_assert_false (g_main_context_pending (NULL));

  g_main_loop_quit (pt.loop);
  g_thread_join (thread);
  g_assert_false (fd_open (a[0]));
  g_assert_false (fd_open (b[0]));
  g_assert_false (done);
  g_main_loop_unref (pt.loop);
  g_main_context_unref (pt.context);
  close (a[1]);
  close (b[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/splice-pair/fail/no-pipe", test_no_pipe_at_all);
  g_test_add_func ("/splice-pair/fail/second-pipe", test_second_pipe_fails);
  g_test_add_func ("/splice-pair/success-takes-and-closes", test_success_takes_and_closes);
  g_test_add_func ("/splice-pair/started-on-another-thread", test_started_on_another_thread);
  return g_test_run ();
}
