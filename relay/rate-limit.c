/* The per-key token buckets of include/belfry/rate-limit.h, for modules
 * (echo's message rate per sender, call's placed-call rate per caller).
 * Pure code but for the clock: one thread, no lock, no I/O. */
#include <belfry/rate-limit.h>

struct _BfRateLimiter {
  double per_minute;               /* 0: no limit */
  double burst;
  guint max_keys;
  GHashTable *buckets;             /* key -> Bucket */
};

typedef struct {
  double tokens;
  gint64 last_us;
  gboolean refused;                /* refused since the last token taken */
} Bucket;

BfRateLimiter *
bf_rate_limiter_new (double per_minute, double burst, guint max_keys)
{
  g_return_val_if_fail (per_minute >= 0 && burst >= 0 && max_keys > 0, NULL);
  BfRateLimiter *l = g_new0 (BfRateLimiter, 1);
  l->per_minute = per_minute;
  l->burst = burst;
  l->max_keys = max_keys;
  l->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return l;
}

void
bf_rate_limiter_free (BfRateLimiter *limiter)
{
  if (limiter == NULL)
    return;
  g_hash_table_unref (limiter->buckets);
  g_free (limiter);
}

void
bf_rate_limiter_set_rate (BfRateLimiter *limiter, double per_minute, double burst)
{
  g_return_if_fail (limiter != NULL && per_minute >= 0 && burst >= 0);
  limiter->per_minute = per_minute;
  limiter->burst = burst;
}

guint
bf_rate_limiter_get_n_keys (BfRateLimiter *limiter)
{
  g_return_val_if_fail (limiter != NULL, 0);
  return g_hash_table_size (limiter->buckets);
}

/* What @b holds at @now_us, before the cap. */
static double
refilled (const BfRateLimiter *l, const Bucket *b, gint64 now_us)
{
  return b->tokens + (now_us - b->last_us) / 60e6 * l->per_minute;
}

/* Forgets the keys whose bucket is full again: they lose nothing, a new
 * key would start full too. */
static void
forget_idle (BfRateLimiter *l, gint64 now_us)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, l->buckets);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (refilled (l, value, now_us) >= l->burst)
      g_hash_table_iter_remove (&it);
}

BfRateResult
bf_rate_limiter_take_at (BfRateLimiter *limiter, const char *key, gint64 now_us,
                         gboolean *first_refusal)
{
  if (first_refusal)
    *first_refusal = FALSE;
  g_return_val_if_fail (limiter != NULL && key != NULL, BF_RATE_OK);
  if (limiter->per_minute == 0)
    return BF_RATE_OK;
  Bucket *b = g_hash_table_lookup (limiter->buckets, key);
  if (b == NULL)
    {
      /* The sweep costs the table's size, and only runs when it is full. */
      if (g_hash_table_size (limiter->buckets) >= limiter->max_keys)
        forget_idle (limiter, now_us);
      if (g_hash_table_size (limiter->buckets) >= limiter->max_keys)
        return BF_RATE_TABLE_FULL;
      b = g_new0 (Bucket, 1);
      b->tokens = limiter->burst;
      b->last_us = now_us;
      g_hash_table_insert (limiter->buckets, g_strdup (key), b);
    }
  b->tokens = MIN (limiter->burst, refilled (limiter, b, now_us));
  b->last_us = now_us;
  if (b->tokens < 1.0)
    {
      if (first_refusal)
        *first_refusal = !b->refused;
      b->refused = TRUE;
      return BF_RATE_LIMITED;
    }
  b->tokens -= 1.0;
  b->refused = FALSE;
  return BF_RATE_OK;
}

BfRateResult
bf_rate_limiter_take (BfRateLimiter *limiter, const char *key, gboolean *first_refusal)
{
  return bf_rate_limiter_take_at (limiter, key, g_get_monotonic_time (), first_refusal);
}
