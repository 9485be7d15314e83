/* What of one leg's RTCP reaches the other leg of a relayed call
 * (modules/call/rtcp-privacy.c), against RFC 3550 §6.1, §6.4.1, §6.5 and
 * §6.7.  Every packet is written out byte by byte. */
#include <string.h>
#include <glib.h>

#include "rtcp-privacy.h"

#define BYTES(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })

/* An RR with no report blocks from 0xAAAA0001. */
#define RR 0x80, 201, 0x00, 0x01, 0xAA, 0xAA, 0x00, 0x01
/* The caller's SDES: CNAME "alice-pc", NAME "Alice", TOOL "Chrome", for
 * 0xAAAA0001: 4 + 4 + (2+8) + (2+5) + (2+6) + 1 = 34, padded to 36. */
#define SDES_CALLER \
  0x81, 202, 0x00, 0x08, 0xAA, 0xAA, 0x00, 0x01, \
  1, 8, 'a', 'l', 'i', 'c', 'e', '-', 'p', 'c', \
  2, 5, 'A', 'l', 'i', 'c', 'e', \
  6, 6, 'C', 'h', 'r', 'o', 'm', 'e', \
  0, 0, 0
/* APP "QCOM" from 0xAAAA0001 with 4 bytes of data. */
#define APP 0x80, 204, 0x00, 0x03, 0xAA, 0xAA, 0x00, 0x01, 'Q', 'C', 'O', 'M', 1, 2, 3, 4
/* Our SDES for 0xAAAA0001 with CNAME "bfleg": 4 + 4 + 2 + 5 + 1 = 16. */
#define SDES_OURS \
  0x81, 202, 0x00, 0x03, 0xAA, 0xAA, 0x00, 0x01, \
  1, 5, 'b', 'f', 'l', 'e', 'g', 0

static void
check (const guint8 *in, gsize in_len, const guint8 *want, gsize want_len,
       CallRtcpPrivacyStats *stats)
{
  guint8 out[CALL_RTCP_OUT_MAX];
  gsize n = call_rtcp_privacy (in, in_len, "bfleg", out, sizeof out, stats);
  g_assert_cmpmem (out, n, want, want_len);
}

static void
test_sdes_cname_only (void)
{
  CallRtcpPrivacyStats st = { 0 };
  const guint8 in[] = { RR, SDES_CALLER };
  g_assert_true (call_rtcp_needs_privacy (in, sizeof in));
  const guint8 want[] = { RR, SDES_OURS };
  check (in, sizeof in, want, sizeof want, &st);
  g_assert_cmpuint (st.sdes_items_dropped, ==, 2);
  g_assert_cmpuint (st.malformed, ==, 0);
}

static void
test_app_dropped (void)
{
  CallRtcpPrivacyStats st = { 0 };
  const guint8 in[] = { RR, APP, SDES_CALLER };
  const guint8 want[] = { RR, SDES_OURS };
  check (in, sizeof in, want, sizeof want, &st);
  g_assert_cmpuint (st.app_dropped, ==, 1);
}

static void
test_passes_the_rest (void)
{
  /* SR (no blocks), a PLI (RFC 4585 §6.3.1) and a BYE pass unchanged. */
  const guint8 in[] = {
    0x80, 200, 0x00, 0x06, 0xAA, 0xAA, 0x00, 0x01,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    0x81, 206, 0x00, 0x02, 0xAA, 0xAA, 0x00, 0x01, 0xBB, 0xBB, 0x00, 0x01,
    0x81, 203, 0x00, 0x01, 0xAA, 0xAA, 0x00, 0x01,
  };
  g_assert_false (call_rtcp_needs_privacy (in, sizeof in));
  CallRtcpPrivacyStats st = { 0 };
  check (in, sizeof in, in, sizeof in, &st);
  g_assert_cmpuint (st.sdes_items_dropped + st.app_dropped + st.malformed, ==, 0);
}

static void
test_chunk_without_cname (void)
{
  /* Two chunks: the first with a NOTE only (gone), the second with a CNAME. */
  const guint8 in[] = {
    RR,
    0x82, 202, 0x00, 0x06,
    0xAA, 0xAA, 0x00, 0x01, 7, 3, 'h', 'i', '!', 0, 0, 0,
    0xAA, 0xAA, 0x00, 0x02, 1, 2, 'x', 'y', 0, 0, 0, 0,
  };
  const guint8 want[] = {
    RR,
    0x81, 202, 0x00, 0x03, 0xAA, 0xAA, 0x00, 0x02, 1, 5, 'b', 'f', 'l', 'e', 'g', 0,
  };
  CallRtcpPrivacyStats st = { 0 };
  check (in, sizeof in, want, sizeof want, &st);
  g_assert_cmpuint (st.sdes_items_dropped, ==, 1);
}

static void
test_sdes_without_any_cname (void)
{
  /* An SDES left empty goes; an APP alone leaves nothing to send. */
  const guint8 in[] = { RR, 0x81, 202, 0x00, 0x02, 0xAA, 0xAA, 0x00, 0x01, 2, 1, 'A', 0 };
  const guint8 want[] = { RR };
  check (in, sizeof in, want, sizeof want, NULL);
  const guint8 app[] = { APP };
  guint8 out[CALL_RTCP_OUT_MAX];
  g_assert_cmpuint (call_rtcp_privacy (app, sizeof app, "bfleg", out, sizeof out, NULL), ==, 0);
}

static void
test_padding (void)
{
  /* RFC 3550 §6.4.1: the SDES carries 4 bytes of padding (P set). */
  const guint8 in[] = {
    RR,
    0xA1, 202, 0x00, 0x04, 0xAA, 0xAA, 0x00, 0x01, 1, 2, 'x', 'y', 0, 0, 0, 0, 0, 0, 0, 4,
  };
  const guint8 want[] = { RR, SDES_OURS };
  check (in, sizeof in, want, sizeof want, NULL);
}

static void
test_malformed (void)
{
  guint8 out[CALL_RTCP_OUT_MAX];
  CallRtcpPrivacyStats st = { 0 };
  const struct { const guint8 *p; gsize n; } cases[] = {
    { BYTES (RR, 0x81, 202, 0x00, 0x09, 0xAA, 0xAA, 0x00, 0x01, 1, 1, 'x', 0) },
    { BYTES (RR, 0x81, 202, 0x00, 0x02, 0xAA, 0xAA, 0x00, 0x01, 1, 9, 'x', 0) },
    { BYTES (RR, 0x81, 202, 0x00, 0x02, 0xAA, 0xAA, 0x00, 0x01, 1, 2, 'x', 'y') },
    { BYTES (RR, 0x82, 202, 0x00, 0x02, 0xAA, 0xAA, 0x00, 0x01, 1, 1, 'x', 0) },
    { BYTES (0x41, 202, 0x00, 0x02, 0xAA, 0xAA, 0x00, 0x01, 1, 1, 'x', 0) },
    { BYTES (0xA1, 202, 0x00, 0x02, 0xAA, 0xAA, 0x00, 0x01, 1, 1, 'x', 40) },
    { BYTES (RR, 0x80) },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpuint (call_rtcp_privacy (cases[i].p, cases[i].n, "bfleg", out, sizeof out, &st),
                      ==, 0);
  g_assert_cmpuint (st.malformed, ==, G_N_ELEMENTS (cases));
}

static void
test_output_too_small (void)
{
  const guint8 in[] = { RR, SDES_CALLER };
  guint8 out[20];   /* the RR fits, our SDES does not */
  CallRtcpPrivacyStats st = { 0 };
  g_assert_cmpuint (call_rtcp_privacy (in, sizeof in, "bfleg", out, sizeof out, &st), ==, 0);
  g_assert_cmpuint (st.malformed, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rtcp-privacy/sdes-cname-only", test_sdes_cname_only);
  g_test_add_func ("/rtcp-privacy/app-dropped", test_app_dropped);
  g_test_add_func ("/rtcp-privacy/passes-the-rest", test_passes_the_rest);
  g_test_add_func ("/rtcp-privacy/chunk-without-cname", test_chunk_without_cname);
  g_test_add_func ("/rtcp-privacy/sdes-without-any-cname", test_sdes_without_any_cname);
  g_test_add_func ("/rtcp-privacy/padding", test_padding);
  g_test_add_func ("/rtcp-privacy/malformed", test_malformed);
  g_test_add_func ("/rtcp-privacy/output-too-small", test_output_too_small);
  return g_test_run ();
}
