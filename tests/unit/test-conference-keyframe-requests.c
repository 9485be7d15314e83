/* Keyframe requests toward one sender (modules/conference/keyframe-requests.c):
 * many receivers' requests become one, at most one per interval, a pending
 * one re-sent after the timeout with the same FIR number (and given up
 * after CF_KEYFRAME_RETRIES), a keyframe answers it. */
#include <glib.h>

#include "keyframe-requests.h"

#define MS 1000

static void
test_merge_and_rate_limit (void)
{
  CfKeyframeRequests k;
  gboolean repeat = TRUE;

  cf_keyframe_requests_init (&k, 300 * MS, 1000 * MS);
  g_assert_false (cf_keyframe_requests_poll (&k, 0, NULL));   /* nothing asked */
  /* Five receivers at once: one request, FIR number 1. */
  for (guint i = 0; i < 5; i++)
    cf_keyframe_requests_ask (&k, 1 * MS);
  g_assert_true (cf_keyframe_requests_poll (&k, 1 * MS, &repeat));
  g_assert_false (repeat);
  g_assert_cmpuint (k.fir_seq, ==, 1);
  g_assert_false (cf_keyframe_requests_poll (&k, 2 * MS, NULL));
  g_assert_cmpuint (k.merged, ==, 4);
  /* More asks before the keyframe: merged into the pending one. */
  cf_keyframe_requests_ask (&k, 100 * MS);
  g_assert_false (cf_keyframe_requests_poll (&k, 100 * MS, NULL));
  cf_keyframe_requests_keyframe (&k);
  /* A new ask 150 ms after the last request waits for 300 ms to pass. */
  cf_keyframe_requests_ask (&k, 151 * MS);
  for (gint64 t = 151 * MS; t < 301 * MS; t += 20 * MS)
    g_assert_false (cf_keyframe_requests_poll (&k, t, NULL));
  g_assert_true (cf_keyframe_requests_poll (&k, 301 * MS, &repeat));
  g_assert_false (repeat);
  g_assert_cmpuint (k.fir_seq, ==, 2);
  g_assert_cmpuint (k.sent, ==, 2);
  g_assert_cmpuint (k.asked, ==, 7);
}

static void
test_resend_until_keyframe (void)
{
  CfKeyframeRequests k;
  gboolean repeat = FALSE;
  guint resends = 0;

  cf_keyframe_requests_init (&k, 300 * MS, 1000 * MS);
  cf_keyframe_requests_ask (&k, 10 * MS);
  g_assert_true (cf_keyframe_requests_poll (&k, 10 * MS, NULL));
  g_assert_false (cf_keyframe_requests_poll (&k, 1009 * MS, NULL));
  g_assert_true (cf_keyframe_requests_poll (&k, 1010 * MS, &repeat));
  g_assert_true (repeat);
  g_assert_cmpuint (k.fir_seq, ==, 1);     /* a repetition keeps its number */
  cf_keyframe_requests_keyframe (&k);
  g_assert_false (cf_keyframe_requests_poll (&k, 5000 * MS, NULL));

  /* A sender that never sends one: asked CF_KEYFRAME_RETRIES more times, then left. */
  cf_keyframe_requests_ask (&k, 6000 * MS);
  g_assert_true (cf_keyframe_requests_poll (&k, 6000 * MS, NULL));
  for (gint64 t = 6000 * MS; t < 20000 * MS; t += 20 * MS)
    if (cf_keyframe_requests_poll (&k, t, &repeat))
      {
        g_assert_true (repeat);
        resends++;
      }
  g_assert_cmpuint (resends, ==, CF_KEYFRAME_RETRIES);
  g_assert_cmpuint (k.given_up, ==, 1);
  g_assert_false (k.pending);
  /* The next ask starts a new request. */
  cf_keyframe_requests_ask (&k, 20000 * MS);
  g_assert_true (cf_keyframe_requests_poll (&k, 20000 * MS, &repeat));
  g_assert_false (repeat);
  g_assert_cmpuint (k.fir_seq, ==, 3);
}

static void
test_fir_seq_wraps (void)
{
  CfKeyframeRequests k;

  cf_keyframe_requests_init (&k, 300 * MS, 1000 * MS);
  for (guint i = 0; i < 257; i++)
    {
      gint64 t = (gint64) i * 400 * MS;
      cf_keyframe_requests_ask (&k, t);
      g_assert_true (cf_keyframe_requests_poll (&k, t, NULL));
      cf_keyframe_requests_keyframe (&k);
    }
  g_assert_cmpuint (k.fir_seq, ==, 1);
  g_assert_cmpuint (k.sent, ==, 257);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-keyframe-requests/merge-and-rate-limit", test_merge_and_rate_limit);
  g_test_add_func ("/conference-keyframe-requests/resend-until-keyframe", test_resend_until_keyframe);
  g_test_add_func ("/conference-keyframe-requests/fir-seq-wraps", test_fir_seq_wraps);
  return g_test_run ();
}
