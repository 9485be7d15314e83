/* belfry — a per-key rate limit for modules: a token bucket per key (a
 * sender's or a caller's bare JID), in a table of bounded size, so that a
 * module limits what one party may do a minute without writing its own
 * buckets (echo limits chat messages per sender, call placed calls per
 * caller).
 *
 * Each key has a bucket that holds at most @burst tokens and refills at
 * @per_minute tokens a minute, evenly; a new key starts full, and each
 * bf_rate_limiter_take() takes one token.  At most @max_keys keys are
 * tracked: when a new key finds the table full, the keys whose bucket is
 * full again (idle ones, which lose nothing by being forgotten) are
 * dropped first; if the table is still full, the new key is not tracked and
 * the caller decides (refuse it, or let it through and log).
 *
 * Keys are compared byte for byte: a module normalises them first (bare
 * JID, lower case), as it would for any table of its own.
 *
 * Thread rule: a BfRateLimiter belongs to one thread (a module's, on the
 * main thread): no lock.  Added in API version 3 without a version bump:
 * modules that do not call these functions are unaffected. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BfRateLimiter BfRateLimiter;

typedef enum {
  BF_RATE_OK,           /* a token was taken */
  BF_RATE_LIMITED,      /* the key's bucket is empty */
  BF_RATE_TABLE_FULL,   /* a new key, and @max_keys keys all busy: not tracked */
} BfRateResult;

/* @per_minute tokens a minute per key (0: no limit, every take is
 * BF_RATE_OK and nothing is tracked), at most @burst saved (at least 1
 * for a take ever to succeed); at most @max_keys keys tracked (at least 1). */
BfRateLimiter *bf_rate_limiter_new (double per_minute, double burst, guint max_keys);
void bf_rate_limiter_free (BfRateLimiter *limiter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfRateLimiter, bf_rate_limiter_free)

/* A new rate for every key (SIGHUP reload): buckets keep their tokens,
 * refill at the new rate from now on and are capped at the new @burst at
 * their next take.  With @per_minute 0 the buckets are kept as they are,
 * for when the limit comes back. */
void bf_rate_limiter_set_rate (BfRateLimiter *limiter, double per_minute, double burst);

/* Takes a token from @key's bucket, at g_get_monotonic_time().
 * @first_refusal (may be NULL) is set to TRUE on the key's first
 * BF_RATE_LIMITED since its last BF_RATE_OK, so that a module logs once
 * per burst, and to FALSE otherwise. */
BfRateResult bf_rate_limiter_take (BfRateLimiter *limiter, const char *key,
                                   gboolean *first_refusal);
/* The same at @now_us (monotonic microseconds, never going back): for
 * tests, which move the clock themselves. */
BfRateResult bf_rate_limiter_take_at (BfRateLimiter *limiter, const char *key, gint64 now_us,
                                      gboolean *first_refusal);

/* Keys tracked now (tests, logs). */
guint bf_rate_limiter_get_n_keys (BfRateLimiter *limiter);

G_END_DECLS
