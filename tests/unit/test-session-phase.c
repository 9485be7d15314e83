/* relay/session-phase.c: the session lifecycle's transitions.  Exactly the
 * listed ones are allowed; ENDED is final and reachable from every other
 * phase; every phase is reachable from NEW; bad values are refused. */
#include <string.h>
#include <glib.h>

#include "session-phase.h"

#define P(x) BF_SESSION_PHASE_##x

static const struct {
  BfSessionPhase from, to;
} expected[] = {
  /* outgoing */
  { P (NEW), P (PROPOSING) },          /* placed to a bare JID */
  { P (NEW), P (INITIATING) },         /* placed to a full JID */
  { P (PROPOSING), P (INITIATING) },   /* <proceed/> */
  { P (INITIATING), P (INITIATED) },   /* session-initiate sent */
  { P (INITIATED), P (ACTIVE) },       /* session-accept */
  { P (INITIATED), P (PROPOSING) },    /* the resource was not there */
  /* incoming */
  { P (NEW), P (DEFERRED) },
  { P (NEW), P (ACCEPTING) },
  { P (DEFERRED), P (ACCEPTING) },
  { P (ACCEPTING), P (ACTIVE) },       /* session-accept sent */
  /* the end */
  { P (NEW), P (ENDED) },
  { P (PROPOSING), P (ENDED) },
  { P (INITIATING), P (ENDED) },
  { P (INITIATED), P (ENDED) },
  { P (DEFERRED), P (ENDED) },
  { P (ACCEPTING), P (ENDED) },
  { P (ACTIVE), P (ENDED) },
};

static gboolean
listed (BfSessionPhase from, BfSessionPhase to)
{
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (expected[i].from == from && expected[i].to == to)
      return TRUE;
  return FALSE;
}

static void
test_table (void)
{
  for (guint f = 0; f < BF_SESSION_N_PHASES; f++)
    for (guint t = 0; t < BF_SESSION_N_PHASES; t++)
      {
        if (bf_session_phase_allowed (f, t) != listed (f, t))
          g_error ("%s -> %s: %s, expected %s", bf_session_phase_to_string (f),
                   bf_session_phase_to_string (t),
                   bf_session_phase_allowed (f, t) ? "allowed" : "refused",
                   listed (f, t) ? "allowed" : "refused");
      }
}

static void
test_ended_is_final (void)
{
  for (guint p = 0; p < BF_SESSION_N_PHASES; p++)
    {
      g_assert_false (bf_session_phase_allowed (P (ENDED), p));
      g_assert_false (bf_session_phase_allowed (p, p));   /* no self-transition */
      if (p != P (ENDED))
        g_assert_true (bf_session_phase_allowed (p, P (ENDED)));
    }
  /* nothing goes back to NEW, and an answered session stays answered */
  for (guint p = 0; p < BF_SESSION_N_PHASES; p++)
    g_assert_false (bf_session_phase_allowed (p, P (NEW)));
  g_assert_false (bf_session_phase_allowed (P (ACTIVE), P (PROPOSING)));
  g_assert_false (bf_session_phase_allowed (P (ACTIVE), P (INITIATED)));
  g_assert_false (bf_session_phase_allowed (P (ACTIVE), P (ACCEPTING)));
}

static void
test_all_reachable (void)
{
  gboolean seen[BF_SESSION_N_PHASES] = { [P (NEW)] = TRUE };
  /* bounded: each round adds a phase or stops */
  for (guint round = 0; round < BF_SESSION_N_PHASES; round++)
    for (guint f = 0; f < BF_SESSION_N_PHASES; f++)
      for (guint t = 0; t < BF_SESSION_N_PHASES; t++)
        if (seen[f] && bf_session_phase_allowed (f, t))
          seen[t] = TRUE;
  for (guint p = 0; p < BF_SESSION_N_PHASES; p++)
    if (!seen[p])
      g_error ("%s cannot be reached from new", bf_session_phase_to_string (p));
}

static void
test_out_of_range (void)
{
  g_assert_false (bf_session_phase_allowed (BF_SESSION_N_PHASES, P (ENDED)));
  g_assert_false (bf_session_phase_allowed (P (NEW), BF_SESSION_N_PHASES));
  g_assert_false (bf_session_phase_allowed ((BfSessionPhase) -1, P (ENDED)));
  g_assert_cmpstr (bf_session_phase_to_string (BF_SESSION_N_PHASES), ==, "?");
}

static void
test_names (void)
{
  for (guint a = 0; a < BF_SESSION_N_PHASES; a++)
    {
      g_assert_cmpstr (bf_session_phase_to_string (a), !=, "?");
      for (guint b = a + 1; b < BF_SESSION_N_PHASES; b++)
        g_assert_cmpstr (bf_session_phase_to_string (a), !=, bf_session_phase_to_string (b));
    }
  g_assert_cmpstr (bf_session_phase_to_string (P (PROPOSING)), ==, "proposing");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session-phase/table", test_table);
  g_test_add_func ("/session-phase/ended-is-final", test_ended_is_final);
  g_test_add_func ("/session-phase/all-reachable", test_all_reachable);
  g_test_add_func ("/session-phase/out-of-range", test_out_of_range);
  g_test_add_func ("/session-phase/names", test_names);
  return g_test_run ();
}
