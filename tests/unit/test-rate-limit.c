/* relay/rate-limit.c: the per-key token buckets behind echo's
 * max-messages-per-minute and call's max-calls-per-minute.  The clock is
 * the test's (bf_rate_limiter_take_at): refill, burst, keys apart, the
 * bounded table (idle keys forgotten first, a new key refused when every
 * tracked one is busy), a rate changed on reload, no limit at 0. */
#include <belfry/rate-limit.h>

#define MINUTE G_GINT64_CONSTANT (60000000)
#define T0 G_GINT64_CONSTANT (1000000000)   /* any monotonic start */

/* Takes from @key at @now until refused; how many were taken (bounded). */
static guint
drain (BfRateLimiter *l, const char *key, gint64 now)
{
  guint n = 0;
  while (n < 1000 && bf_rate_limiter_take_at (l, key, now, NULL) == BF_RATE_OK)
    n++;
  return n;
}

static void
test_burst (void)
{
  /* call's shape: a minute's worth at once */
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (30, 30, 16);
  g_assert_cmpuint (drain (l, "alice@example.org", T0), ==, 30);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "alice@example.org", T0, NULL), ==,
                   BF_RATE_LIMITED);

  /* echo's shape: 10 s worth of 30 a minute */
  g_autoptr (BfRateLimiter) e = bf_rate_limiter_new (30, 5, 16);
  g_assert_cmpuint (drain (e, "alice@example.org", T0), ==, 5);
  /* echo's shape at 3 a minute: a sixth is under one, the burst is one */
  g_autoptr (BfRateLimiter) s = bf_rate_limiter_new (3, 1, 16);
  g_assert_cmpuint (drain (s, "alice@example.org", T0), ==, 1);
}

static void
test_refill (void)
{
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (60, 10, 16);   /* one a second */
  g_assert_cmpuint (drain (l, "a", T0), ==, 10);
  /* half a second: not yet a token */
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 500000, NULL), ==, BF_RATE_LIMITED);
  /* one second after the start: one token, evenly refilled (the
   * millisecond keeps the sums clear of rounding) */
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 1001000, NULL), ==, BF_RATE_OK);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 1001000, NULL), ==, BF_RATE_LIMITED);
  /* 3.5 s later: three tokens */
  g_assert_cmpuint (drain (l, "a", T0 + 4501000), ==, 3);
  /* a long idle time refills to the burst, never beyond */
  g_assert_cmpuint (drain (l, "a", T0 + 10 * MINUTE), ==, 10);
}

static void
test_first_refusal (void)
{
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (60, 1, 16);
  gboolean first = TRUE;
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0, &first), ==, BF_RATE_OK);
  g_assert_false (first);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0, &first), ==, BF_RATE_LIMITED);
  g_assert_true (first);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 1, &first), ==, BF_RATE_LIMITED);
  g_assert_false (first);
  /* a token taken ends the burst: the next refusal is a first again */
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 1001000, &first), ==, BF_RATE_OK);
  g_assert_false (first);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 1001000, &first), ==,
                   BF_RATE_LIMITED);
  g_assert_true (first);
}

static void
test_keys_apart (void)
{
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (60, 3, 16);
  g_assert_cmpuint (drain (l, "alice@example.org", T0), ==, 3);
  /* another key has its own full bucket */
  g_assert_cmpuint (drain (l, "bob@example.org", T0), ==, 3);
  /* byte for byte: normalising is the caller's job */
  g_assert_cmpuint (drain (l, "Alice@example.org", T0), ==, 3);
  g_assert_cmpuint (bf_rate_limiter_get_n_keys (l), ==, 3);
}

static void
test_table_full (void)
{
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (60, 2, 4);
  char key[16];
  for (guint i = 0; i < 4; i++)
    {
      g_snprintf (key, sizeof key, "k%u", i);
      g_assert_cmpint (bf_rate_limiter_take_at (l, key, T0, NULL), ==, BF_RATE_OK);
    }
  g_assert_cmpuint (bf_rate_limiter_get_n_keys (l), ==, 4);
  /* every key is busy (a token short of full): a new one is not tracked */
  g_assert_cmpint (bf_rate_limiter_take_at (l, "new", T0, NULL), ==, BF_RATE_TABLE_FULL);
  g_assert_cmpuint (bf_rate_limiter_get_n_keys (l), ==, 4);
  /* known keys still work */
  g_assert_cmpint (bf_rate_limiter_take_at (l, "k0", T0, NULL), ==, BF_RATE_OK);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "k0", T0, NULL), ==, BF_RATE_LIMITED);

  /* 1.5 s later k1..k3 are full again (idle), k0 is not: they are
   * forgotten, k0 and its half-empty bucket kept */
  gint64 t1 = T0 + 1500000;
  g_assert_cmpint (bf_rate_limiter_take_at (l, "new", t1, NULL), ==, BF_RATE_OK);
  g_assert_cmpuint (bf_rate_limiter_get_n_keys (l), ==, 2);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "k0", t1, NULL), ==, BF_RATE_OK);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "k0", t1, NULL), ==, BF_RATE_LIMITED);
  /* a forgotten key comes back with a full bucket */
  g_assert_cmpuint (drain (l, "k1", t1), ==, 2);
}

static void
test_set_rate (void)
{
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (60, 60, 16);
  g_assert_cmpuint (drain (l, "a", T0), ==, 60);
  bf_rate_limiter_set_rate (l, 6, 6);
  /* emptied at the old rate; refills at the new one: one in 10 s */
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 5000000, NULL), ==, BF_RATE_LIMITED);
  g_assert_cmpint (bf_rate_limiter_take_at (l, "a", T0 + 10100000, NULL), ==, BF_RATE_OK);
  /* capped at the new burst */
  g_assert_cmpuint (drain (l, "a", T0 + 10 * MINUTE), ==, 6);

  /* lowered below what a full bucket holds: capped at its next take */
  g_autoptr (BfRateLimiter) m = bf_rate_limiter_new (30, 30, 16);
  g_assert_cmpint (bf_rate_limiter_take_at (m, "b", T0, NULL), ==, BF_RATE_OK);
  bf_rate_limiter_set_rate (m, 2, 2);
  g_assert_cmpuint (drain (m, "b", T0), ==, 2);

  /* 0: no limit, nothing tracked; the buckets wait for the limit's return */
  bf_rate_limiter_set_rate (m, 0, 0);
  g_assert_cmpuint (drain (m, "b", T0), ==, 1000);
  g_assert_cmpuint (drain (m, "c", T0), ==, 1000);
  g_assert_cmpuint (bf_rate_limiter_get_n_keys (m), ==, 1);
  bf_rate_limiter_set_rate (m, 2, 2);
  g_assert_cmpint (bf_rate_limiter_take_at (m, "b", T0, NULL), ==, BF_RATE_LIMITED);
}

static void
test_no_limit (void)
{
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (0, 0, 1);
  g_assert_cmpuint (drain (l, "a", T0), ==, 1000);
  g_assert_cmpuint (drain (l, "b", T0), ==, 1000);
  g_assert_cmpuint (bf_rate_limiter_get_n_keys (l), ==, 0);
}

static void
test_real_clock (void)
{
  g_autoptr (BfRateLimiter) l = bf_rate_limiter_new (1, 1, 16);
  g_assert_cmpint (bf_rate_limiter_take (l, "a", NULL), ==, BF_RATE_OK);
  g_assert_cmpint (bf_rate_limiter_take (l, "a", NULL), ==, BF_RATE_LIMITED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rate-limit/burst", test_burst);
  g_test_add_func ("/rate-limit/refill", test_refill);
  g_test_add_func ("/rate-limit/first-refusal", test_first_refusal);
  g_test_add_func ("/rate-limit/keys-apart", test_keys_apart);
  g_test_add_func ("/rate-limit/table-full", test_table_full);
  g_test_add_func ("/rate-limit/set-rate", test_set_rate);
  g_test_add_func ("/rate-limit/no-limit", test_no_limit);
  g_test_add_func ("/rate-limit/real-clock", test_real_clock);
  return g_test_run ();
}
