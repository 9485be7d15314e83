/* The SFU's RTCP feedback (modules/conference/rtcp-feedback.c): NACK, PLI,
 * FIR, REMB and transport-cc read out of compounds built here byte by byte
 * (with padding, wraps, every chunk kind), malformed ones (lengths not
 * matching, counts beyond the packet, zero-length FCI), and the packets
 * the room writes toward a sender read back. */
#include <string.h>
#include <glib.h>
#include <belfry/packet.h>

#include "rtcp-feedback.h"

#define RECV 0x0a0b0c0du
#define MEDIA 0x11223344u

/* Appends a feedback packet (RFC 4585 §6.1) of @fci_len bytes of FCI; the
 * length field says @fci_len (a multiple of 4). */
static gsize
fb_packet (guint8 *out, guint8 fmt, guint8 pt, guint32 media, const guint8 *fci, gsize fci_len)
{
  out[0] = (guint8) (0x80 | fmt);
  out[1] = pt;
  bf_write_be16 (out + 2, (guint16) ((12 + fci_len) / 4 - 1));
  bf_write_be32 (out + 4, RECV);
  bf_write_be32 (out + 8, media);
  if (fci_len > 0)
    memcpy (out + 12, fci, fci_len);
  return 12 + fci_len;
}

/* A receiver report with no blocks, as compounds begin (RFC 3550 §6.1). */
static gsize
rr (guint8 *out)
{
  out[0] = 0x80;
  out[1] = 201;
  bf_write_be16 (out + 2, 1);
  bf_write_be32 (out + 4, RECV);
  return 8;
}

static CfFeedback fb;   /* large: not on the stack */

static void
test_nack (void)
{
  guint8 pkt[64], fci[8];
  gsize n = rr (pkt);

  bf_write_be16 (fci, 100);
  bf_write_be16 (fci + 2, 0x8005);           /* 101, 103, 116 */
  bf_write_be16 (fci + 4, 65535);
  bf_write_be16 (fci + 6, 0x0001);           /* wraps: 65535, 0 */
  n += fb_packet (pkt + n, 1, 205, MEDIA, fci, 8);
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.packets, ==, 2);
  g_assert_cmpuint (fb.malformed, ==, 0);
  g_assert_cmpuint (fb.n_nacks, ==, 6);
  guint16 want[] = { 100, 101, 103, 116, 65535, 0 };
  for (guint i = 0; i < 6; i++)
    {
      g_assert_cmpuint (fb.nacks[i].seq, ==, want[i]);
      g_assert_cmpuint (fb.nacks[i].media_ssrc, ==, MEDIA);
    }
}

static void
test_nack_bounded (void)
{
  /* 40 items of 17 each: 680 sequence numbers, 256 kept. */
  guint8 pkt[12 + 160], fci[160];

  for (guint i = 0; i < 40; i++)
    {
      bf_write_be16 (fci + 4 * i, (guint16) (i * 17));
      bf_write_be16 (fci + 4 * i + 2, 0xffff);
    }
  gsize n = fb_packet (pkt, 1, 205, MEDIA, fci, sizeof fci);
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.n_nacks, ==, CF_FB_NACK_MAX);
  g_assert_cmpuint (fb.truncated, ==, 680 - CF_FB_NACK_MAX);
  g_assert_cmpuint (fb.nacks[255].seq, ==, 255);
}

static void
test_pli_fir_padding (void)
{
  guint8 pkt[128], fci[16];
  gsize n = rr (pkt);

  n += fb_packet (pkt + n, 1, 206, MEDIA, NULL, 0);
  bf_write_be32 (fci, MEDIA);
  fci[4] = 7;
  fci[5] = fci[6] = fci[7] = 0;
  bf_write_be32 (fci + 8, 0x55667788u);
  fci[12] = 255;
  fci[13] = fci[14] = fci[15] = 0;
  gsize fir_at = n;
  n += fb_packet (pkt + n, 4, 206, 0, fci, 16);
  /* The last packet padded by 8 bytes (RFC 3550 §6.4.1). */
  pkt[fir_at] |= 0x20;
  memset (pkt + n, 0, 8);
  pkt[n + 7] = 8;
  n += 8;
  bf_write_be16 (pkt + fir_at + 2, (guint16) ((n - fir_at) / 4 - 1));
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 0);
  g_assert_cmpuint (fb.n_plis, ==, 1);
  g_assert_cmpuint (fb.plis[0], ==, MEDIA);
  g_assert_cmpuint (fb.n_firs, ==, 2);
  g_assert_cmpuint (fb.firs[0].ssrc, ==, MEDIA);
  g_assert_cmpuint (fb.firs[0].seq, ==, 7);
  g_assert_cmpuint (fb.firs[1].ssrc, ==, 0x55667788u);
  g_assert_cmpuint (fb.firs[1].seq, ==, 255);

  /* Padding that counts more than its packet breaks the walk. */
  pkt[n - 1] = 200;
  g_assert_false (cf_rtcp_feedback_read (pkt, n, &fb));
  pkt[n - 1] = 0;
  g_assert_false (cf_rtcp_feedback_read (pkt, n, &fb));
}

static void
test_fir_history (void)
{
  CfFirHistory h = { 0 };
  CfFirEntry a = { MEDIA, 3 }, b = { 0x99u, 3 };

  g_assert_true (cf_fir_history_is_new (&h, &a));
  g_assert_false (cf_fir_history_is_new (&h, &a));   /* a retransmission */
  g_assert_true (cf_fir_history_is_new (&h, &b));    /* another stream */
  a.seq = 4;
  g_assert_true (cf_fir_history_is_new (&h, &a));
  g_assert_false (cf_fir_history_is_new (&h, &a));
  /* Bounded: more SSRCs than it keeps push the oldest out. */
  for (guint32 s = 1000; s < 1000 + 2 * CF_FIR_HISTORY_MAX; s++)
    {
      CfFirEntry e = { s, 1 };
      g_assert_true (cf_fir_history_is_new (&h, &e));
    }
  g_assert_cmpuint (h.n, ==, CF_FIR_HISTORY_MAX);
  g_assert_true (cf_fir_history_is_new (&h, &a));
}

static gsize
remb_fci (guint8 *fci, guint exp, guint32 mantissa, guint num, guint listed)
{
  memcpy (fci, "REMB", 4);
  fci[4] = (guint8) num;
  fci[5] = (guint8) (exp << 2 | (mantissa >> 16));
  fci[6] = (guint8) (mantissa >> 8);
  fci[7] = (guint8) mantissa;
  for (guint i = 0; i < listed; i++)
    bf_write_be32 (fci + 8 + 4 * i, 0x1000u + i);
  return 8 + 4 * listed;
}

static void
test_remb (void)
{
  guint8 pkt[128], fci[64];
  gsize n;

  /* 1.5 Mbit/s: mantissa 187500 (fits 18 bits) << 3. */
  n = fb_packet (pkt, 15, 206, 0, fci, remb_fci (fci, 3, 187500, 2, 2));
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_true (fb.has_remb);
  g_assert_cmpuint (fb.remb_bps, ==, 1500000);
  g_assert_cmpuint (fb.n_remb_ssrcs, ==, 2);
  g_assert_cmpuint (fb.remb_ssrcs[1], ==, 0x1001u);

  /* The largest exponent saturates rather than wrapping. */
  n = fb_packet (pkt, 15, 206, 0, fci, remb_fci (fci, 63, 0x3ffff, 0, 0));
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.remb_bps, ==, G_MAXUINT64);

  /* Num SSRC beyond the packet: malformed, nothing taken. */
  n = fb_packet (pkt, 15, 206, 0, fci, remb_fci (fci, 3, 1000, 5, 2));
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_false (fb.has_remb);
  g_assert_cmpuint (fb.malformed, ==, 1);

  /* Another application layer feedback is not REMB, and not malformed. */
  n = fb_packet (pkt, 15, 206, 0, (const guint8 *) "ABCDEFGH", 8);
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_false (fb.has_remb);
  g_assert_cmpuint (fb.malformed, ==, 0);
}

static void
test_transport_cc (void)
{
  guint8 fci[64], pkt[128];
  gsize f = 0, n;

  /* Base 65534, 24 statuses, reference time 2 (128 ms), count 9. */
  bf_write_be16 (fci, 65534);
  bf_write_be16 (fci + 2, 24);
  fci[4] = 0;
  fci[5] = 0;
  fci[6] = 2;
  fci[7] = 9;
  f = 8;
  /* Run length: 3 x "small delta". */
  bf_write_be16 (fci + f, (guint16) (1 << 13 | 3));
  f += 2;
  /* 1-bit status vector: 14 symbols, received 1,0,1,0,0,... */
  bf_write_be16 (fci + f, (guint16) (0x8000 | 1 << 13 | 1 << 11));
  f += 2;
  /* 2-bit status vector: large (2), not received (0), small (1), then zeros. */
  bf_write_be16 (fci + f, (guint16) (0xc000 | 2 << 12 | 0 << 10 | 1 << 8));
  f += 2;
  /* Deltas: 3 small, 2 small, large -400 (-100 ms), small. */
  fci[f++] = 4;      /* +1 ms */
  fci[f++] = 8;      /* +2 ms */
  fci[f++] = 0;      /* +0 */
  fci[f++] = 40;     /* +10 ms */
  fci[f++] = 1;      /* +250 µs */
  bf_write_be16 (fci + f, (guint16) (gint16) -400);
  f += 2;
  fci[f++] = 2;      /* +500 µs */
  while (f % 4)
    fci[f++] = 0;
  n = fb_packet (pkt, 15, 205, MEDIA, fci, f);
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 0);
  g_assert_cmpuint (fb.n_twcc_feedbacks, ==, 1);
  g_assert_cmpuint (fb.twcc_fb_count, ==, 9);
  g_assert_cmpuint (fb.n_twcc, ==, 24);
  g_assert_cmpuint (fb.twcc[0].seq, ==, 65534);
  g_assert_cmpuint (fb.twcc[2].seq, ==, 0);
  gint64 t = 128000;
  struct { guint idx; gint64 at; } want[] = {
    { 0, t + 1000 }, { 1, t + 3000 }, { 2, t + 3000 }, { 3, t + 13000 }, { 5, t + 13250 },
    { 17, t + 13250 - 100000 }, { 19, t + 13250 - 100000 + 500 },
  };
  guint received = 0;
  for (guint i = 0; i < 24; i++)
    received += fb.twcc[i].received;
  g_assert_cmpuint (received, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_assert_true (fb.twcc[want[i].idx].received);
      g_assert_cmpint (fb.twcc[want[i].idx].arrival_us, ==, want[i].at);
    }
  g_assert_false (fb.twcc[4].received);
  g_assert_false (fb.twcc[18].received);

  /* A delta byte missing: malformed, nothing kept. */
  guint8 cut[128];
  memcpy (cut, pkt, n);
  bf_write_be16 (cut + 12 + 2, 24);
  bf_write_be16 (cut + 2, (guint16) ((12 + 20) / 4 - 1));    /* FCI cut to 20 bytes: chunks + 6 deltas */
  g_assert_true (cf_rtcp_feedback_read (cut, 12 + 20, &fb));
  g_assert_cmpuint (fb.malformed, ==, 1);
  g_assert_cmpuint (fb.n_twcc, ==, 0);

  /* A status count beyond its chunks. */
  memcpy (cut, pkt, n);
  bf_write_be16 (cut + 12 + 2, 5000);
  g_assert_true (cf_rtcp_feedback_read (cut, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 1);
  g_assert_cmpuint (fb.n_twcc, ==, 0);

  /* The reserved symbol (3) in a run. */
  memcpy (cut, pkt, n);
  bf_write_be16 (cut + 12 + 8, (guint16) (3 << 13 | 3));
  g_assert_true (cf_rtcp_feedback_read (cut, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 1);
}

static void
test_transport_cc_long_run_bounded (void)
{
  /* 8191 "not received" in one run, 4 times: 32764 statuses (more than
   * the list holds) in 16 bytes of chunks. */
  guint8 fci[16], pkt[32];

  bf_write_be16 (fci, 0);
  bf_write_be16 (fci + 2, 4 * 8191);
  memset (fci + 4, 0, 4);
  for (guint i = 0; i < 4; i++)
    bf_write_be16 (fci + 8 + 2 * i, 0x1fff);
  gsize n = fb_packet (pkt, 15, 205, MEDIA, fci, 16);
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 0);
  g_assert_cmpuint (fb.n_twcc, ==, CF_FB_TWCC_MAX);
  g_assert_cmpuint (fb.truncated, ==, 4 * 8191 - CF_FB_TWCC_MAX);

  /* An empty run (length 0) before a run of one lost packet: one status. */
  bf_write_be16 (fci + 2, 1);
  bf_write_be16 (fci + 8, 0);
  bf_write_be16 (fci + 10, 1);
  n = fb_packet (pkt, 15, 205, MEDIA, fci, 12);
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 0);
  g_assert_cmpuint (fb.n_twcc, ==, 1);
  g_assert_false (fb.twcc[0].received);
  /* Zero-length FCI, and a status count of 0. */
  n = fb_packet (pkt, 15, 205, MEDIA, NULL, 0);
  bf_write_be16 (fci + 2, 0);
  n += fb_packet (pkt + n, 15, 205, MEDIA, fci, 8);
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 2);
  g_assert_cmpuint (fb.n_twcc_feedbacks, ==, 0);
}

static void
test_malformed (void)
{
  guint8 pkt[64], fci[8] = { 0 };
  gsize n;

  /* Zero-length FCI of a NACK and of a FIR; a PLI with FCI; a FIR entry cut short;
   * a feedback packet shorter than its two SSRCs. */
  n = fb_packet (pkt, 1, 205, MEDIA, NULL, 0);
  n += fb_packet (pkt + n, 4, 206, 0, NULL, 0);
  n += fb_packet (pkt + n, 1, 206, MEDIA, fci, 4);
  n += fb_packet (pkt + n, 4, 206, 0, fci, 4);
  pkt[n] = 0x81;
  pkt[n + 1] = 205;
  bf_write_be16 (pkt + n + 2, 1);
  bf_write_be32 (pkt + n + 4, RECV);
  n += 8;
  g_assert_true (cf_rtcp_feedback_read (pkt, n, &fb));
  g_assert_cmpuint (fb.packets, ==, 5);
  g_assert_cmpuint (fb.malformed, ==, 5);
  g_assert_cmpuint (fb.n_nacks + fb.n_plis + fb.n_firs, ==, 0);

  /* A length beyond the data; a version not 2; a trailing fragment. */
  n = fb_packet (pkt, 1, 206, MEDIA, NULL, 0);
  bf_write_be16 (pkt + 2, 3);
  g_assert_false (cf_rtcp_feedback_read (pkt, n, &fb));
  bf_write_be16 (pkt + 2, 2);
  pkt[0] = 0x41;
  g_assert_false (cf_rtcp_feedback_read (pkt, n, &fb));
  pkt[0] = 0x81;
  g_assert_false (cf_rtcp_feedback_read (pkt, n + 2, &fb));
  g_assert_cmpuint (fb.n_plis, ==, 1);   /* what came before is kept */
  g_assert_true (cf_rtcp_feedback_read (pkt, 0, &fb));
}

static void
test_builders (void)
{
  guint8 out[64];
  guint16 seqs[] = { 65535, 3, 0, 100, 3, 15, 16 };
  gsize n;

  g_assert_cmpuint (cf_rtcp_build_pli (RECV, MEDIA, out, 11), ==, 0);
  n = cf_rtcp_build_pli (RECV, MEDIA, out, sizeof out);
  g_assert_cmpuint (n, ==, CF_RTCP_PLI_LEN);
  g_assert_true (cf_rtcp_feedback_read (out, n, &fb));
  g_assert_cmpuint (fb.n_plis, ==, 1);
  g_assert_cmpuint (fb.plis[0], ==, MEDIA);

  g_assert_cmpuint (cf_rtcp_build_fir (RECV, MEDIA, 42, out, 19), ==, 0);
  n = cf_rtcp_build_fir (RECV, MEDIA, 42, out, sizeof out);
  g_assert_cmpuint (n, ==, CF_RTCP_FIR_LEN);
  g_assert_true (cf_rtcp_feedback_read (out, n, &fb));
  g_assert_cmpuint (fb.n_firs, ==, 1);
  g_assert_cmpuint (fb.firs[0].ssrc, ==, MEDIA);
  g_assert_cmpuint (fb.firs[0].seq, ==, 42);
  g_assert_cmpuint (out[8] | out[9] | out[10] | out[11], ==, 0);

  /* 65535 opens an item covering 0, 3, 15 (offsets 1, 4, 16); 100 and 16 another each. */
  n = cf_rtcp_build_nack (RECV, MEDIA, seqs, G_N_ELEMENTS (seqs), out, sizeof out);
  g_assert_cmpuint (n, ==, 12 + 3 * 4);
  g_assert_true (cf_rtcp_feedback_read (out, n, &fb));
  g_assert_cmpuint (fb.malformed, ==, 0);
  guint16 want[] = { 65535, 0, 3, 15, 100, 16 };
  g_assert_cmpuint (fb.n_nacks, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpuint (fb.nacks[i].seq, ==, want[i]);
  /* Room for one item: the first, and the ones it covers. */
  n = cf_rtcp_build_nack (RECV, MEDIA, seqs, G_N_ELEMENTS (seqs), out, 16);
  g_assert_cmpuint (n, ==, 16);
  g_assert_true (cf_rtcp_feedback_read (out, n, &fb));
  g_assert_cmpuint (fb.n_nacks, ==, 4);
  g_assert_cmpuint (cf_rtcp_build_nack (RECV, MEDIA, seqs, 0, out, sizeof out), ==, 0);
  g_assert_cmpuint (cf_rtcp_build_nack (RECV, MEDIA, seqs, 1, out, 15), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-rtcp-feedback/nack", test_nack);
  g_test_add_func ("/conference-rtcp-feedback/nack-bounded", test_nack_bounded);
  g_test_add_func ("/conference-rtcp-feedback/pli-fir-padding", test_pli_fir_padding);
  g_test_add_func ("/conference-rtcp-feedback/fir-history", test_fir_history);
  g_test_add_func ("/conference-rtcp-feedback/remb", test_remb);
  g_test_add_func ("/conference-rtcp-feedback/transport-cc", test_transport_cc);
  g_test_add_func ("/conference-rtcp-feedback/transport-cc-long-run-bounded",
                   test_transport_cc_long_run_bounded);
  g_test_add_func ("/conference-rtcp-feedback/malformed", test_malformed);
  g_test_add_func ("/conference-rtcp-feedback/builders", test_builders);
  return g_test_run ();
}
