/* Last-N (modules/conference/last-n.c): the N senders that spoke most
 * recently are selected, ties by order of joining; a sender that speaks
 * enters and pushes out the one that spoke least recently; N at or above
 * the number of senders selects all. */
#include <glib.h>

#include "last-n.h"

static guint
count_selected (const CfLastNEntry *e, guint len)
{
  guint n = 0;
  for (guint i = 0; i < len; i++)
    n += e[i].selected;
  return n;
}

static void
test_nobody_spoke (void)
{
  CfLastNEntry e[4] = { { 0, 3, FALSE }, { 0, 1, FALSE }, { 0, 4, FALSE }, { 0, 2, FALSE } };

  cf_last_n_select (e, 4, 2);
  /* Nobody spoke: the two that joined first. */
  g_assert_true (e[1].selected);
  g_assert_true (e[3].selected);
  g_assert_false (e[0].selected);
  g_assert_false (e[2].selected);
}

static void
test_most_recent_speakers (void)
{
  CfLastNEntry e[5] = {
    { 1000, 1, FALSE }, { 0, 2, FALSE }, { 5000, 3, FALSE }, { 3000, 4, FALSE }, { 0, 5, FALSE },
  };

  cf_last_n_select (e, 5, 1);
  g_assert_cmpuint (count_selected (e, 5), ==, 1);
  g_assert_true (e[2].selected);

  cf_last_n_select (e, 5, 3);
  g_assert_cmpuint (count_selected (e, 5), ==, 3);
  g_assert_true (e[2].selected && e[3].selected && e[0].selected);

  /* The one that never spoke speaks now: it enters, the least recent of
   * the three (order 1, at 1000) leaves. */
  e[4].last_spoke = 9000;
  cf_last_n_select (e, 5, 3);
  g_assert_true (e[4].selected && e[2].selected && e[3].selected);
  g_assert_false (e[0].selected);
  g_assert_false (e[1].selected);
}

static void
test_ties_and_all (void)
{
  CfLastNEntry e[3] = { { 7000, 9, FALSE }, { 7000, 2, FALSE }, { 7000, 5, FALSE } };

  cf_last_n_select (e, 3, 1);
  g_assert_true (e[1].selected);
  g_assert_cmpuint (count_selected (e, 3), ==, 1);
  cf_last_n_select (e, 3, 8);
  g_assert_cmpuint (count_selected (e, 3), ==, 3);
  cf_last_n_select (e, 0, 8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-last-n/nobody-spoke", test_nobody_spoke);
  g_test_add_func ("/conference-last-n/most-recent-speakers", test_most_recent_speakers);
  g_test_add_func ("/conference-last-n/ties-and-all", test_ties_and_all);
  return g_test_run ();
}
