/* Our own iq requests waiting for their answer.  RFC 6120 §8.2.3: every
 * get/set is answered by exactly one result or error with the same 'id',
 * from the entity it was sent to.  A request is registered here when it is
 * sent; its answer is found by that id in a table and accepted only from
 * the JID the request went to, so nothing is read out of the id itself and
 * a third party that learnt an id cannot answer in the peer's place.
 *
 * Ids are 128 bits from the kernel's CSPRNG (random.h): unguessable.  The
 * table is bounded: when it is full, the oldest request is forgotten (as
 * if cancelled); a request not answered within the timeout is given up.
 *
 * Main thread only (the thread-default context at bf_iq_tracker_new runs
 * the timeout). */
#pragma once

#include <belfry/stanza.h>

G_BEGIN_DECLS

typedef struct _BfIqTracker BfIqTracker;

/* The answer to a request: @answer is the iq result or error (borrowed for
 * the call), or NULL when no answer came within the timeout.  Runs at most
 * once per request (never for one cancelled, forgotten or still pending at
 * bf_iq_tracker_free); it may add and cancel requests. */
typedef void (*BfIqAnswerFunc) (gpointer data, const BfStanza *answer);

typedef struct {
  guint64 answered;        /* matched answers */
  guint64 timed_out;       /* given up: no answer within the timeout */
  guint64 evicted;         /* forgotten: the table was full */
  guint64 wrong_sender;    /* an answer with a pending id from another JID: ignored */
} BfIqTrackerStats;

/* At most @max_pending (> 0) requests at once, each for at most
 * @timeout_ms. */
BfIqTracker *bf_iq_tracker_new (guint max_pending, guint timeout_ms);
/* Drops every pending request: @destroy runs, @func does not. */
void bf_iq_tracker_free (BfIqTracker *tracker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfIqTracker, bf_iq_tracker_free)

/* Registers a request about to be sent to @to (as its 'to' attribute
 * reads) and returns the id to send it with (the caller's).  @destroy
 * (may be NULL) frees @data once the request is answered, given up or
 * cancelled. */
char *bf_iq_tracker_add (BfIqTracker *tracker, const char *to, BfIqAnswerFunc func,
                         gpointer data, GDestroyNotify destroy);

/* Offers an iq of type result or error: TRUE when it answers a pending
 * request (its 'id' and 'from' match); the request's func then ran and
 * the request is gone.  FALSE for anything else, which leaves every
 * request pending. */
gboolean bf_iq_tracker_answer (BfIqTracker *tracker, const BfStanza *iq);

/* Forgets every pending request registered with @data, without running
 * their func (their destroy runs); returns how many. */
guint bf_iq_tracker_cancel (BfIqTracker *tracker, gpointer data);

guint bf_iq_tracker_count (BfIqTracker *tracker);
const BfIqTrackerStats *bf_iq_tracker_get_stats (BfIqTracker *tracker);

G_END_DECLS
