/* relay/iq-tracker.c: our pending iq requests.  An answer is matched by
 * the id the tracker gave and only from the JID the request went to; each
 * request's func runs once (answer or timeout), never after a cancel; the
 * table stays within its bound; ids are unguessable and distinct. */
#include <string.h>
#include <glib.h>

#include "iq-tracker.h"

#define PEER "juliet@capulet.lit/balcony"

typedef struct {
  guint calls;
  guint timeouts;
  guint destroyed;
  char *last_type;
} Seen;

static void
on_answer (gpointer data, const BfStanza *answer)
{
  Seen *s = data;
  s->calls++;
  if (answer == NULL)
    s->timeouts++;
  g_free (s->last_type);
  s->last_type = answer ? g_strdup (bf_stanza_get_attr (answer, "type")) : NULL;
}

static void
on_destroy (gpointer data)
{
  ((Seen *) data)->destroyed++;
}

static BfStanza *
answer_iq (const char *type, const char *id, const char *from)
{
  BfStanza *iq = bf_stanza_new ("iq", NULL);
  bf_stanza_set_attr (iq, "type", type);
  if (id)
    bf_stanza_set_attr (iq, "id", id);
  if (from)
    bf_stanza_set_attr (iq, "from", from);
  bf_stanza_set_attr (iq, "to", "relay.example/x");
  return iq;
}

static void
test_result_and_error_match_once (void)
{
  g_autoptr (BfIqTracker) t = bf_iq_tracker_new (16, 60000);
  Seen a = { 0 }, b = { 0 };
  g_autofree char *ida = bf_iq_tracker_add (t, PEER, on_answer, &a, on_destroy);
  g_autofree char *idb = bf_iq_tracker_add (t, PEER, on_answer, &b, on_destroy);
  g_assert_cmpstr (ida, !=, idb);
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 2);

  g_autoptr (BfStanza) ra = answer_iq ("result", ida, PEER);
  g_assert_true (bf_iq_tracker_answer (t, ra));
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpstr (a.last_type, ==, "result");
  g_assert_cmpuint (a.destroyed, ==, 1);
  g_assert_cmpuint (b.calls, ==, 0);
  /* Answered once: the same answer again is not ours any more. */
  g_assert_false (bf_iq_tracker_answer (t, ra));
  g_assert_cmpuint (a.calls, ==, 1);

  g_autoptr (BfStanza) eb = answer_iq ("error", idb, PEER);
  g_assert_true (bf_iq_tracker_answer (t, eb));
  g_assert_cmpstr (b.last_type, ==, "error");
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 0);
  g_assert_cmpuint (bf_iq_tracker_get_stats (t)->answered, ==, 2);
  g_free (a.last_type);
  g_free (b.last_type);
}

static void
test_only_from_the_jid_asked (void)
{
  g_autoptr (BfIqTracker) t = bf_iq_tracker_new (16, 60000);
  Seen a = { 0 };
  g_autofree char *id = bf_iq_tracker_add (t, PEER, on_answer, &a, NULL);
  /* A third party that learnt the id, the peer's bare JID, another
   * resource, no 'from' at all: none answers, the request stays. */
  static const char *const others[] = {
    "romeo@montague.lit/garden", "juliet@capulet.lit", "juliet@capulet.lit/other", NULL
  };
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autoptr (BfStanza) e = answer_iq ("error", id, others[i]);
      g_assert_false (bf_iq_tracker_answer (t, e));
    }
  g_assert_cmpuint (a.calls, ==, 0);
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 1);
  g_assert_cmpuint (bf_iq_tracker_get_stats (t)->wrong_sender, ==, 4);
  g_autoptr (BfStanza) e = answer_iq ("error", id, PEER);
  g_assert_true (bf_iq_tracker_answer (t, e));
  g_assert_cmpuint (a.calls, ==, 1);
  g_free (a.last_type);
}

static void
test_not_an_answer (void)
{
  g_autoptr (BfIqTracker) t = bf_iq_tracker_new (16, 60000);
  Seen a = { 0 };
  g_autofree char *id = bf_iq_tracker_add (t, PEER, on_answer, &a, NULL);
  /* A get/set with our id, an unknown id, no id, a message with our id. */
  g_autoptr (BfStanza) get = answer_iq ("get", id, PEER);
  g_autoptr (BfStanza) set = answer_iq ("set", id, PEER);
  g_autoptr (BfStanza) unknown = answer_iq ("result", "bf-0000", PEER);
  g_autoptr (BfStanza) noid = answer_iq ("result", NULL, PEER);
  g_autoptr (BfStanza) msg = bf_stanza_new ("message", NULL);
  bf_stanza_set_attr (msg, "type", "error");
  bf_stanza_set_attr (msg, "id", id);
  bf_stanza_set_attr (msg, "from", PEER);
  g_assert_false (bf_iq_tracker_answer (t, get));
  g_assert_false (bf_iq_tracker_answer (t, set));
  g_assert_false (bf_iq_tracker_answer (t, unknown));
  g_assert_false (bf_iq_tracker_answer (t, noid));
  g_assert_false (bf_iq_tracker_answer (t, msg));
  g_assert_cmpuint (a.calls, ==, 0);
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 1);
}

static void
test_cancel_and_free (void)
{
  BfIqTracker *t = bf_iq_tracker_new (16, 60000);
  Seen a = { 0 }, b = { 0 };
  g_autofree char *a1 = bf_iq_tracker_add (t, PEER, on_answer, &a, on_destroy);
  g_autofree char *a2 = bf_iq_tracker_add (t, PEER, on_answer, &a, on_destroy);
  g_autofree char *b1 = bf_iq_tracker_add (t, PEER, on_answer, &b, on_destroy);
  g_assert_cmpuint (bf_iq_tracker_cancel (t, &a), ==, 2);
  g_assert_cmpuint (a.destroyed, ==, 2);
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 1);
  /* A late answer to a cancelled request is nobody's. */
  g_autoptr (BfStanza) late = answer_iq ("error", a1, PEER);
  g_assert_false (bf_iq_tracker_answer (t, late));
  g_assert_cmpuint (a.calls, ==, 0);
  g_assert_cmpuint (bf_iq_tracker_cancel (t, &a), ==, 0);
  /* Freeing with a request pending: destroyed, not called. */
  bf_iq_tracker_free (t);
  g_assert_cmpuint (b.destroyed, ==, 1);
  g_assert_cmpuint (b.calls, ==, 0);
}

static void
test_bounded (void)
{
  g_autoptr (BfIqTracker) t = bf_iq_tracker_new (4, 60000);
  Seen s[6] = { { 0 } };
  char *ids[6];
  for (guint i = 0; i < 6; i++)
    ids[i] = bf_iq_tracker_add (t, PEER, on_answer, &s[i], on_destroy);
  /* The two oldest were forgotten (destroyed, never called). */
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 4);
  g_assert_cmpuint (bf_iq_tracker_get_stats (t)->evicted, ==, 2);
  for (guint i = 0; i < 6; i++)
    {
      g_autoptr (BfStanza) r = answer_iq ("result", ids[i], PEER);
      g_assert_cmpint (bf_iq_tracker_answer (t, r), ==, i >= 2);
      g_assert_cmpuint (s[i].calls, ==, i >= 2 ? 1 : 0);
      g_assert_cmpuint (s[i].destroyed, ==, 1);
      g_free (s[i].last_type);
      g_free (ids[i]);
    }
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
test_timeout (void)
{
  g_autoptr (BfIqTracker) t = bf_iq_tracker_new (16, 50);
  Seen a = { 0 }, b = { 0 };
  g_autofree char *ida = bf_iq_tracker_add (t, PEER, on_answer, &a, on_destroy);
  g_autofree char *idb = bf_iq_tracker_add (t, PEER, on_answer, &b, on_destroy);
  g_autoptr (BfStanza) rb = answer_iq ("result", idb, PEER);
  g_assert_true (bf_iq_tracker_answer (t, rb));
  /* Generous margin: the timeout is 50 ms, the loop runs 1 s. */
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (1000, quit_loop, loop);
  g_main_loop_run (loop);
  g_assert_cmpuint (a.calls, ==, 1);
  g_assert_cmpuint (a.timeouts, ==, 1);
  g_assert_cmpuint (a.destroyed, ==, 1);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_cmpuint (b.timeouts, ==, 0);
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 0);
  g_assert_cmpuint (bf_iq_tracker_get_stats (t)->timed_out, ==, 1);
  /* Too late now. */
  g_autoptr (BfStanza) ra = answer_iq ("result", ida, PEER);
  g_assert_false (bf_iq_tracker_answer (t, ra));
  g_free (b.last_type);
}

/* A func that sends again (adds) and cancels from inside an answer. */
typedef struct {
  BfIqTracker *t;
  char *next_id;
  Seen seen;
} Chain;

static void
on_chain (gpointer data, const BfStanza *answer)
{
  Chain *c = data;
  on_answer (&c->seen, answer);
  if (c->next_id == NULL)
    {
      g_assert_cmpuint (bf_iq_tracker_cancel (c->t, &c->seen), ==, 1);
      c->next_id = bf_iq_tracker_add (c->t, PEER, on_chain, c, NULL);
    }
}

static void
test_reentrant (void)
{
  g_autoptr (BfIqTracker) t = bf_iq_tracker_new (16, 60000);
  Chain c = { t, NULL, { 0 } };
  g_autofree char *other = bf_iq_tracker_add (t, PEER, on_answer, &c.seen, on_destroy);
  g_autofree char *first = bf_iq_tracker_add (t, PEER, on_chain, &c, NULL);
  g_autoptr (BfStanza) r = answer_iq ("result", first, PEER);
  g_assert_true (bf_iq_tracker_answer (t, r));
  g_assert_nonnull (c.next_id);
  g_assert_cmpuint (c.seen.destroyed, ==, 1);
  g_assert_cmpuint (bf_iq_tracker_count (t), ==, 1);
  g_autoptr (BfStanza) r2 = answer_iq ("result", c.next_id, PEER);
  g_assert_true (bf_iq_tracker_answer (t, r2));
  g_assert_cmpuint (c.seen.calls, ==, 2);
  g_free (c.next_id);
  g_free (c.seen.last_type);
}

static void
test_ids_unguessable (void)
{
  g_autoptr (BfIqTracker) t = bf_iq_tracker_new (4096, 60000);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < 2000; i++)
    {
      char *id = bf_iq_tracker_add (t, PEER, on_answer, NULL, NULL);
      /* "bf-" and 128 bits in hex: nothing of a counter or a sid. */
      g_assert_cmpuint (strlen (id), ==, 3 + 32);
      g_assert_true (g_str_has_prefix (id, "bf-"));
      g_assert_false (g_hash_table_contains (seen, id));
      g_hash_table_add (seen, id);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/iq-tracker/result-and-error-match-once", test_result_and_error_match_once);
  g_test_add_func ("/iq-tracker/only-from-the-jid-asked", test_only_from_the_jid_asked);
  g_test_add_func ("/iq-tracker/not-an-answer", test_not_an_answer);
  g_test_add_func ("/iq-tracker/cancel-and-free", test_cancel_and_free);
  g_test_add_func ("/iq-tracker/bounded", test_bounded);
  g_test_add_func ("/iq-tracker/timeout", test_timeout);
  g_test_add_func ("/iq-tracker/reentrant", test_reentrant);
  g_test_add_func ("/iq-tracker/ids-unguessable", test_ids_unguessable);
  return g_test_run ();
}
