/* The spliced socket pair (splice-pair.h). */
#define G_LOG_DOMAIN "belfry-proxy65"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <gio/gio.h>

#include "splice-pair.h"

#define DEFAULT_PIPE_SIZE (1024 * 1024)
/* Rounds of read+write per direction per wake-up: one busy pair must not
 * starve the others on the same main context. */
#define PUMP_ROUNDS 16
/* The bandwidth cap refills its bucket for at most this long. */
#define BUCKET_SECONDS 0.25

typedef struct {
  int from, to;
  int pipe_r, pipe_w;
  gsize in_pipe;          /* bytes read from @from, not yet written to @to */
  gboolean eof;           /* @from has no more to give */
  gboolean done;          /* ...and @to got everything and its shutdown */
  gboolean want_in;       /* waiting for @from to be readable */
  gboolean want_out;      /* waiting for @to to be writable */
  guint64 bytes;
  double tokens;          /* bandwidth bucket, in bytes */
  gint64 refilled_at;
} Direction;

typedef struct {
  GSource source;
  P65Pair *pair;
} PairSource;

struct _P65Pair {
  int fd[2];
  gpointer tag[2];
  Direction dir[2];       /* 0: fd[0] -> fd[1], 1: fd[1] -> fd[0] */
  P65PairLimits limits;
  P65PairDoneFunc done;
  gpointer done_data;
  GSource *source;
  GSource *throttle;      /* on the pair's own context, not the default one */
  gint64 last_activity;
  const char *fail_reason;
};

static gboolean pair_dispatch (GSource *source, GSourceFunc callback, gpointer data);

static GSourceFuncs pair_source_funcs = {
  .dispatch = pair_dispatch,
};

static gboolean
make_pipe (Direction *d, gsize size, GError **error)
{
  int p[2];
  if (pipe2 (p, O_NONBLOCK | O_CLOEXEC) < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "pipe: %s", g_strerror (e));
      return FALSE;
    }
  /* A larger pipe means fewer wake-ups per megabyte; the kernel may cap it
   * (pipe-max-size, per-user limits), and the default still works. */
  (void) fcntl (p[1], F_SETPIPE_SZ, (int) size);
  d->pipe_r = p[0];
  d->pipe_w = p[1];
  return TRUE;
}

P65Pair *
p65_pair_new (int fd_a, int fd_b, const P65PairLimits *limits, P65PairDoneFunc done,
              gpointer data, GError **error)
{
  P65Pair *pair = p65_pair_prepare (fd_a, fd_b, limits, done, data, error);
  if (pair)
    p65_pair_start (pair);
  return pair;
}

P65Pair *
p65_pair_prepare (int fd_a, int fd_b, const P65PairLimits *limits, P65PairDoneFunc done,
                  gpointer data, GError **error)
{
  gsize pipe_size = limits->pipe_size ? limits->pipe_size : DEFAULT_PIPE_SIZE;
  /* The pipes first, while nothing is ours yet: on failure the caller still
   * owns @fd_a and @fd_b and only the pipes made so far are closed here. */
  Direction dirs[2] = { { .pipe_r = -1, .pipe_w = -1 }, { .pipe_r = -1, .pipe_w = -1 } };
  for (int i = 0; i < 2; i++)
    if (!make_pipe (&dirs[i], pipe_size, error))
      {
        for (int j = 0; j < i; j++)
          {
            close (dirs[j].pipe_r);
            close (dirs[j].pipe_w);
          }
        return NULL;
      }

  P65Pair *pair = g_new0 (P65Pair, 1);
  pair->fd[0] = fd_a;
  pair->fd[1] = fd_b;
  pair->limits = *limits;
  pair->limits.pipe_size = pipe_size;
  pair->done = done;
  pair->done_data = data;
  pair->last_activity = g_get_monotonic_time ();
  for (int i = 0; i < 2; i++)
    {
      Direction *d = &pair->dir[i];
      d->pipe_r = dirs[i].pipe_r;
      d->pipe_w = dirs[i].pipe_w;
      d->from = pair->fd[i];
      d->to = pair->fd[1 - i];
      d->want_in = TRUE;
      d->refilled_at = pair->last_activity;
      d->tokens = (double) pair->limits.bandwidth * BUCKET_SECONDS;
    }
  pair->source = g_source_new (&pair_source_funcs, sizeof (PairSource));
  ((PairSource *) pair->source)->pair = pair;
  g_source_set_name (pair->source, "proxy65 pair");
  for (int i = 0; i < 2; i++)
    pair->tag[i] = g_source_add_unix_fd (pair->source, pair->fd[i], G_IO_IN);
  return pair;
}

void
p65_pair_start (P65Pair *pair)
{
  /* Activity counts from the start: a pair that waited for its thread
   * is not idle for that wait. */
  pair->last_activity = g_get_monotonic_time ();
  g_source_attach (pair->source, g_main_context_get_thread_default ());
}

void
p65_pair_free (P65Pair *pair)
{
  if (pair == NULL)
    return;
  if (pair->source)
    {
      g_source_destroy (pair->source);
      g_source_unref (pair->source);
    }
  if (pair->throttle)
    {
      g_source_destroy (pair->throttle);
      g_source_unref (pair->throttle);
    }
  for (int i = 0; i < 2; i++)
    {
      if (pair->dir[i].pipe_r >= 0)
        close (pair->dir[i].pipe_r);
      if (pair->dir[i].pipe_w >= 0)
        close (pair->dir[i].pipe_w);
      if (pair->fd[i] >= 0)
        close (pair->fd[i]);
    }
  g_free (pair);
}

guint64
p65_pair_get_bytes (P65Pair *pair, gboolean a_to_b)
{
  return pair->dir[a_to_b ? 0 : 1].bytes;
}

gint64
p65_pair_get_last_activity (P65Pair *pair)
{
  return pair->last_activity;
}

/* How much @d may read now under the byte budget and the bandwidth cap. */
static gsize
read_allowance (P65Pair *pair, Direction *d, gint64 now)
{
  gsize allow = pair->limits.pipe_size;
  if (pair->limits.max_bytes)
    {
      guint64 used = pair->dir[0].bytes + pair->dir[1].bytes + pair->dir[0].in_pipe
                     + pair->dir[1].in_pipe;
      guint64 left = used >= pair->limits.max_bytes ? 0 : pair->limits.max_bytes - used;
      /* One byte past the budget tells us the peer wanted to send more. */
      allow = MIN (allow, left + 1);
    }
  if (pair->limits.bandwidth)
    {
      double rate = (double) pair->limits.bandwidth;
      d->tokens = MIN (rate * BUCKET_SECONDS,
                       d->tokens + rate * (now - d->refilled_at) / G_USEC_PER_SEC);
      d->refilled_at = now;
      allow = MIN (allow, (gsize) MAX (d->tokens, 0.0));
    }
  return allow;
}

static gboolean
on_throttle_over (gpointer data)
{
  P65Pair *pair = data;
  g_clear_pointer (&pair->throttle, g_source_unref);
  /* Wake the pair up as if a socket had become ready. */
  g_source_set_ready_time (pair->source, 0);
  return G_SOURCE_REMOVE;
}

/* Moves what can move in one direction: each round writes what the pipe
 * holds, then reads into whatever room the pipe has, so reading and
 * writing overlap; a full pipe stops the reading (back-pressure).  FALSE
 * on a fatal error or an exhausted budget (pair->fail_reason says which). */
static gboolean
pump_direction (P65Pair *pair, Direction *d, gint64 now, gboolean *throttled,
                gboolean *again)
{
  gboolean progress = TRUE;
  d->want_in = d->want_out = FALSE;
  for (int round = 0; round < PUMP_ROUNDS && progress && !d->done; round++)
    {
      progress = FALSE;
      if (d->in_pipe > 0)
        {
          ssize_t n = splice (d->pipe_r, NULL, d->to, NULL, d->in_pipe,
                              SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n > 0)
            {
              d->in_pipe -= (gsize) n;
              d->bytes += (guint64) n;
              pair->last_activity = now;
              progress = TRUE;
            }
          else if (n < 0 && errno != EAGAIN && errno != EINTR)
            {
              pair->fail_reason = errno == EPIPE || errno == ECONNRESET
                                  ? "the receiving side went away" : "write error";
              return FALSE;
            }
        }
      if (!d->eof && d->in_pipe < pair->limits.pipe_size)
        {
          gsize allow = MIN (read_allowance (pair, d, now), pair->limits.pipe_size - d->in_pipe);
          if (allow == 0)
            *throttled = TRUE;
          else
            {
              ssize_t n = splice (d->from, NULL, d->pipe_w, NULL, allow,
                                  SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
              if (n == 0)
                {
                  d->eof = TRUE;
                  progress = TRUE;
                }
              else if (n > 0)
                {
                  d->in_pipe += (gsize) n;
                  if (pair->limits.bandwidth)
                    d->tokens -= (double) n;
                  progress = TRUE;
                  if (pair->limits.max_bytes
                      && pair->dir[0].bytes + pair->dir[1].bytes + pair->dir[0].in_pipe
                         + pair->dir[1].in_pipe > pair->limits.max_bytes)
                    {
                      pair->fail_reason = "max-bytes reached";
                      return FALSE;
                    }
                }
              else if (errno == ECONNRESET)
                {
                  pair->fail_reason = "connection reset";
                  return FALSE;
                }
              else if (errno != EAGAIN && errno != EINTR)
                {
                  pair->fail_reason = "read error";
                  return FALSE;
                }
            }
        }
      if (d->eof && d->in_pipe == 0)
        {
          /* Everything is through: pass the half-close on. */
          shutdown (d->to, SHUT_WR);
          d->done = TRUE;
        }
    }
  if (d->done)
    return TRUE;
  /* Data waiting: wake when @to can take more (and read then too).  An
   * empty pipe: wake when @from has more.  A pipe with data never waits on
   * @from, or a full pipe and a readable socket would spin. */
  d->want_out = d->in_pipe > 0;
  d->want_in = d->in_pipe == 0 && !d->eof && !*throttled;
  if (progress)
    *again = TRUE;   /* out of rounds with work left: come back soon */
  return TRUE;
}

static gboolean
pair_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  (void) callback;
  (void) data;
  P65Pair *pair = ((PairSource *) source)->pair;
  gint64 now = g_get_monotonic_time ();
  gboolean throttled = FALSE, again = FALSE;
  g_source_set_ready_time (source, -1);

  for (int i = 0; i < 2; i++)
    if (!pair->dir[i].done
        && !pump_direction (pair, &pair->dir[i], now, &throttled, &again))
      {
        pair->done (pair, pair->fail_reason, pair->done_data);
        return G_SOURCE_REMOVE;
      }
  if (pair->dir[0].done && pair->dir[1].done)
    {
      pair->done (pair, "both sides finished", pair->done_data);
      return G_SOURCE_REMOVE;
    }
  for (int i = 0; i < 2; i++)
    {
      /* fd[i] is read by dir[i] and written by dir[1-i]. */
      GIOCondition events = 0;
      if (pair->dir[i].want_in)
        events |= G_IO_IN;
      if (pair->dir[1 - i].want_out)
        events |= G_IO_OUT;
      g_source_modify_unix_fd (source, pair->tag[i], events);
    }
  if (again)
    g_source_set_ready_time (source, 0);
  else if (throttled && pair->throttle == NULL)
    {
      pair->throttle = g_timeout_source_new (20);
      g_source_set_callback (pair->throttle, on_throttle_over, pair, NULL);
      g_source_attach (pair->throttle, g_source_get_context (source));
    }
  return G_SOURCE_CONTINUE;
}
