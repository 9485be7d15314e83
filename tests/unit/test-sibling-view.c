/* The takeover rules of relay/sibling-view.c (docs/architecture.md,
 * "Takeover of a dead sibling's slot"): who is a gone sibling's heir, when
 * a sibling counts as gone or back, which answers count.  No sockets: the
 * pings are ids, the answers calls. */
#include "sibling-view.h"

static const char *const N4[] = { "n4.relay", "n2.relay", "N3.relay", NULL };

/* n1's view of n1..n4, given out of order and in mixed case. */
static BfSiblingView *
view_of_n1 (void)
{
  return bf_sibling_view_new ("n1.relay", N4);
}

static gint
index_of (BfSiblingView *v, const char *jid)
{
  for (guint i = 0; i < bf_sibling_view_size (v); i++)
    if (g_ascii_strcasecmp (bf_sibling_view_jid (v, i), jid) == 0)
      return (gint) i;
  g_assert_not_reached ();
}

/* Sibling @jid fails twice (errors): gone. */
static void
make_gone (BfSiblingView *v, const char *jid)
{
  guint i = (guint) index_of (v, jid);
  BfSiblingChange c;
  for (guint k = 0; k < BF_SIBLING_FAILURES_FOR_GONE; k++)
    {
      guint64 id = bf_sibling_view_ping (v, i, &c);
      g_assert_cmpint (c, ==, BF_SIBLING_UNCHANGED);
      c = bf_sibling_view_answer (v, jid, id, FALSE, NULL);
      g_assert_cmpint (c, ==, k + 1 == BF_SIBLING_FAILURES_FOR_GONE ? BF_SIBLING_WENT
                                                                   : BF_SIBLING_UNCHANGED);
    }
  g_assert_true (bf_sibling_view_is_gone (v, i));
}

static void
test_sorted_with_self (void)
{
  g_autoptr (BfSiblingView) v = view_of_n1 ();
  g_assert_cmpuint (bf_sibling_view_size (v), ==, 4);
  g_assert_cmpstr (bf_sibling_view_jid (v, 0), ==, "n1.relay");
  g_assert_cmpstr (bf_sibling_view_jid (v, 1), ==, "n2.relay");
  g_assert_cmpstr (bf_sibling_view_jid (v, 2), ==, "N3.relay");
  g_assert_cmpstr (bf_sibling_view_jid (v, 3), ==, "n4.relay");
  g_assert_true (bf_sibling_view_is_self (v, 0));
  for (guint i = 1; i < 4; i++)
    {
      g_assert_false (bf_sibling_view_is_self (v, i));
      g_assert_false (bf_sibling_view_is_gone (v, i));
      g_assert_cmpint (bf_sibling_view_heir (v, i), ==, -1);
      g_assert_false (bf_sibling_view_we_cover (v, i));
    }
}

/* The first live process after the gone one, wrapping around; a gone
 * heir passes the slot on. */
static void
test_heir (void)
{
  g_autoptr (BfSiblingView) v = view_of_n1 ();
  make_gone (v, "n4.relay");           /* after n4: n1 (wrapped) */
  g_assert_cmpint (bf_sibling_view_heir (v, 3), ==, 0);
  g_assert_true (bf_sibling_view_we_cover (v, 3));
  make_gone (v, "n2.relay");           /* after n2: n3 */
  g_assert_cmpint (bf_sibling_view_heir (v, 1), ==, 2);
  g_assert_false (bf_sibling_view_we_cover (v, 1));
  make_gone (v, "n3.relay");           /* n3 too: n2's and n3's heir is n1 (n4 is gone) */
  g_assert_cmpint (bf_sibling_view_heir (v, 1), ==, 0);
  g_assert_cmpint (bf_sibling_view_heir (v, 2), ==, 0);
  g_assert_true (bf_sibling_view_we_cover (v, 1));
  g_assert_true (bf_sibling_view_we_cover (v, 2));
  g_assert_true (bf_sibling_view_we_cover (v, 3));
}

/* Two processes with the same pings agree on one heir: n3's view of the
 * same list with n2 gone says n3 covers it; n1's says n1 does not. */
static void
test_views_agree (void)
{
  static const char *const of_n3[] = { "n1.relay", "n2.relay", "n4.relay", NULL };
  g_autoptr (BfSiblingView) v1 = view_of_n1 ();
  g_autoptr (BfSiblingView) v3 = bf_sibling_view_new ("n3.relay", of_n3);
  make_gone (v1, "n2.relay");
  make_gone (v3, "n2.relay");
  g_assert_false (bf_sibling_view_we_cover (v1, (guint) index_of (v1, "n2.relay")));
  g_assert_true (bf_sibling_view_we_cover (v3, (guint) index_of (v3, "n2.relay")));
  /* n1 loses n3's pings too while n3 lives: the views differ (in n1's, n2's
   * heir is n4 now; in n3's, n3): each acts on its own, so n4 (seeing what
   * n1 sees) and n3 may both connect for a moment, and ejabberd gives the
   * slot to one (docs/architecture.md, "Two survivors racing"). */
  make_gone (v1, "n3.relay");
  g_assert_cmpint (bf_sibling_view_heir (v1, (guint) index_of (v1, "n2.relay")), ==,
                   index_of (v1, "n4.relay"));
  g_assert_true (bf_sibling_view_we_cover (v3, (guint) index_of (v3, "n2.relay")));
}

/* One failure is not gone (a sibling's own reconnect); a ping unanswered
 * by the next one is a failure; an answer in between resets the count. */
static void
test_failures (void)
{
  g_autoptr (BfSiblingView) v = view_of_n1 ();
  guint i = (guint) index_of (v, "n2.relay");
  BfSiblingChange c;
  guint64 id = bf_sibling_view_ping (v, i, &c);
  g_assert_cmpuint (id, !=, 0);
  g_assert_cmpint (bf_sibling_view_answer (v, "n2.relay", id, FALSE, NULL), ==,
                   BF_SIBLING_UNCHANGED);
  id = bf_sibling_view_ping (v, i, &c);
  g_assert_cmpint (c, ==, BF_SIBLING_UNCHANGED);
  gint at = -2;
  g_assert_cmpint (bf_sibling_view_answer (v, "n2.relay", id, TRUE, &at), ==,
                   BF_SIBLING_UNCHANGED);
  g_assert_cmpint (at, ==, (gint) i);
  /* one error again, then no answer: gone at the next ping */
  id = bf_sibling_view_ping (v, i, &c);
  bf_sibling_view_answer (v, "n2.relay", id, FALSE, NULL);
  bf_sibling_view_ping (v, i, &c);
  g_assert_cmpint (c, ==, BF_SIBLING_UNCHANGED);
  g_assert_false (bf_sibling_view_is_gone (v, i));
  bf_sibling_view_ping (v, i, &c);
  g_assert_cmpint (c, ==, BF_SIBLING_WENT);
  g_assert_true (bf_sibling_view_is_gone (v, i));
  /* more failures: still gone, no second WENT */
  bf_sibling_view_ping (v, i, &c);
  g_assert_cmpint (c, ==, BF_SIBLING_UNCHANGED);
}

/* Back: one good answer to the pending ping; the heir then covers no
 * more.  Answers that are not the pending ping of their sender count for
 * nothing. */
static void
test_back_and_stray_answers (void)
{
  g_autoptr (BfSiblingView) v = view_of_n1 ();
  make_gone (v, "n4.relay");
  guint i = (guint) index_of (v, "n4.relay");
  BfSiblingChange c;
  guint64 old = bf_sibling_view_ping (v, i, &c);
  guint64 id = bf_sibling_view_ping (v, i, &c);   /* old given up on */
  guint64 n2 = bf_sibling_view_ping (v, (guint) index_of (v, "n2.relay"), &c);
  gint at = 0;
  g_assert_cmpint (bf_sibling_view_answer (v, "n4.relay", old, TRUE, &at), ==,
                   BF_SIBLING_UNCHANGED);
  g_assert_cmpint (at, ==, -1);
  /* another sibling's ping id, from n4 */
  g_assert_cmpint (bf_sibling_view_answer (v, "n4.relay", n2, TRUE, &at), ==,
                   BF_SIBLING_UNCHANGED);
  g_assert_cmpint (at, ==, -1);
  /* from ourselves, from nobody, id 0 */
  g_assert_cmpint (bf_sibling_view_answer (v, "n1.relay", id, TRUE, NULL), ==,
                   BF_SIBLING_UNCHANGED);
  g_assert_cmpint (bf_sibling_view_answer (v, NULL, id, TRUE, NULL), ==, BF_SIBLING_UNCHANGED);
  g_assert_cmpint (bf_sibling_view_answer (v, "n4.relay", 0, TRUE, NULL), ==,
                   BF_SIBLING_UNCHANGED);
  g_assert_true (bf_sibling_view_is_gone (v, i));
  g_assert_true (bf_sibling_view_we_cover (v, i));
  /* the right one, the JID in another case */
  g_assert_cmpint (bf_sibling_view_answer (v, "N4.Relay", id, TRUE, &at), ==,
                   BF_SIBLING_CAME_BACK);
  g_assert_cmpint (at, ==, (gint) i);
  g_assert_false (bf_sibling_view_is_gone (v, i));
  g_assert_false (bf_sibling_view_we_cover (v, i));
  g_assert_cmpint (bf_sibling_view_heir (v, i), ==, -1);
  /* answered once: the same id again counts for nothing */
  g_assert_cmpint (bf_sibling_view_answer (v, "n4.relay", id, TRUE, NULL), ==,
                   BF_SIBLING_UNCHANGED);
}

/* A sibling between the gone one and us comes back: it is the heir now,
 * and we let go. */
static void
test_release_to_a_closer_heir (void)
{
  g_autoptr (BfSiblingView) v = view_of_n1 ();
  make_gone (v, "n3.relay");
  make_gone (v, "n4.relay");
  guint n3 = (guint) index_of (v, "n3.relay"), n4 = (guint) index_of (v, "n4.relay");
  g_assert_true (bf_sibling_view_we_cover (v, n3));
  g_assert_true (bf_sibling_view_we_cover (v, n4));
  BfSiblingChange c;
  guint64 id = bf_sibling_view_ping (v, n4, &c);
  g_assert_cmpint (bf_sibling_view_answer (v, "n4.relay", id, TRUE, NULL), ==,
                   BF_SIBLING_CAME_BACK);
  g_assert_cmpint (bf_sibling_view_heir (v, n3), ==, (gint) n4);
  g_assert_false (bf_sibling_view_we_cover (v, n3));
  g_assert_false (bf_sibling_view_we_cover (v, n4));
}

/* Our own link went down: the pending pings are forgotten, not failures. */
static void
test_forget_pings (void)
{
  g_autoptr (BfSiblingView) v = view_of_n1 ();
  guint i = (guint) index_of (v, "n2.relay");
  BfSiblingChange c;
  guint64 id = bf_sibling_view_ping (v, i, &c);
  bf_sibling_view_answer (v, "n2.relay", id, FALSE, NULL);     /* one failure */
  id = bf_sibling_view_ping (v, i, &c);
  bf_sibling_view_forget_pings (v);
  gint at = 0;
  g_assert_cmpint (bf_sibling_view_answer (v, "n2.relay", id, FALSE, &at), ==,
                   BF_SIBLING_UNCHANGED);
  g_assert_cmpint (at, ==, -1);
  for (guint k = 0; k < 3; k++)
    {
      bf_sibling_view_forget_pings (v);
      bf_sibling_view_ping (v, i, &c);
      g_assert_cmpint (c, ==, BF_SIBLING_UNCHANGED);
    }
  g_assert_false (bf_sibling_view_is_gone (v, i));
  /* once the link is back, a ping unanswered still counts: the second
   * failure (the error before the outage was the first) */
  bf_sibling_view_ping (v, i, &c);
  g_assert_cmpint (c, ==, BF_SIBLING_WENT);
}

/* Two processes: each covers the other when it goes. */
static void
test_pair (void)
{
  static const char *const other[] = { "b", NULL };
  g_autoptr (BfSiblingView) v = bf_sibling_view_new ("a", other);
  make_gone (v, "b");
  g_assert_true (bf_sibling_view_we_cover (v, 1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sibling-view/sorted-with-self", test_sorted_with_self);
  g_test_add_func ("/sibling-view/heir", test_heir);
  g_test_add_func ("/sibling-view/views-agree", test_views_agree);
  g_test_add_func ("/sibling-view/failures", test_failures);
  g_test_add_func ("/sibling-view/back-and-stray-answers", test_back_and_stray_answers);
  g_test_add_func ("/sibling-view/release-to-a-closer-heir", test_release_to_a_closer_heir);
  g_test_add_func ("/sibling-view/forget-pings", test_forget_pings);
  g_test_add_func ("/sibling-view/pair", test_pair);
  return g_test_run ();
}
