/* The conference room's RTCP (modules/conference/rtcp.c): receiver
 * statistics (RFC 3550 A.1, A.3, A.8), the compound report the room sends
 * (SR/RR + SDES CNAME) read back field by field, and the reading of a
 * participant's compound (its SR, its block about our stream), including
 * malformed and truncated ones. */
#include <string.h>
#include <glib.h>
#include <belfry/packet.h>

#include "rtcp.h"

#define OURS 0x11223344u
#define PEER 0xa1b2c3d4u

/* 100 packets at 20 ms, @lost of them (every 10th from the 5th) missing. */
static void
feed (CfRecvStats *s, guint16 first_seq, guint n, guint lost)
{
  guint skipped = 0;

  for (guint i = 0; i < n; i++)
    {
      if (skipped < lost && i % 10 == 5)
        {
          skipped++;
          continue;
        }
      cf_recv_stats_update (s, PEER, (guint16) (first_seq + i), 1000 + 960 * i,
                            G_USEC_PER_SEC + (gint64) i * 20000, 48000);
    }
}

static void
test_report_block_loss_and_wrap (void)
{
  CfRecvStats s = { 0 };
  CfReport r = { 0 };
  guint8 b[CF_RTCP_REPORT_MAX];
  gsize n;

  /* Across the 16-bit wrap: 65500 .. 65599. */
  feed (&s, 65500, 100, 5);
  r.ssrc = OURS;
  r.cname = "belfry-0000abcd";
  r.stats = &s;
  r.now = G_USEC_PER_SEC * 3;
  n = cf_rtcp_build_report (&r, b, sizeof b);
  g_assert_cmpuint (n, >, 0);
  g_assert_cmpuint (n % 4, ==, 0);
  /* RR (no RTP sent yet) with one block. */
  g_assert_cmpuint (b[0], ==, 0x81);
  g_assert_cmpuint (b[1], ==, 201);
  g_assert_cmpuint (((b[2] << 8 | b[3]) + 1) * 4, ==, 8 + 24);
  g_assert_cmpuint (bf_read_be32 (b + 4), ==, OURS);
  g_assert_cmpuint (bf_read_be32 (b + 8), ==, PEER);
  /* 5 of 100: fraction 5 * 256 / 100 = 12, cumulative 5. */
  g_assert_cmpuint (b[12], ==, 12);
  g_assert_cmpuint ((b[13] << 16) | (b[14] << 8) | b[15], ==, 5);
  /* Extended highest: one wrap, then 65599 & 0xffff. */
  g_assert_cmpuint (bf_read_be32 (b + 16), ==, 65536 + (guint16) (65500 + 99));
  /* A steady 20 ms clock: no jitter. */
  g_assert_cmpuint (bf_read_be32 (b + 20), ==, 0);
  /* No SR from the peer: LSR and DLSR 0. */
  g_assert_cmpuint (bf_read_be32 (b + 24), ==, 0);
  g_assert_cmpuint (bf_read_be32 (b + 28), ==, 0);
  /* SDES CNAME after it. */
  g_assert_cmpuint (b[32], ==, 0x81);
  g_assert_cmpuint (b[33], ==, 202);
  g_assert_cmpuint (bf_read_be32 (b + 36), ==, OURS);
  g_assert_cmpuint (b[40], ==, 1);
  g_assert_cmpuint (b[41], ==, strlen ("belfry-0000abcd"));
  g_assert_cmpmem (b + 42, b[41], "belfry-0000abcd", b[41]);
  g_assert_cmpuint (b[42 + b[41]], ==, 0);
  g_assert_cmpuint (32 + ((b[34] << 8 | b[35]) + 1) * 4, ==, n);

  /* The next interval, nothing lost: fraction 0, cumulative still 5. */
  feed (&s, (guint16) (65500 + 100), 50, 0);
  n = cf_rtcp_build_report (&r, b, sizeof b);
  g_assert_cmpuint (b[12], ==, 0);
  g_assert_cmpuint ((b[13] << 16) | (b[14] << 8) | b[15], ==, 5);
}

static void
test_sender_report_lsr_dlsr (void)
{
  CfRecvStats s = { 0 };
  CfReport r = { 0 };
  guint8 b[CF_RTCP_REPORT_MAX];
  gsize n;

  feed (&s, 10, 10, 0);
  cf_recv_stats_sender_report (&s, 0x12345678, 0x9abcdef0, 5 * G_USEC_PER_SEC);
  r.ssrc = OURS;
  r.cname = "c";
  r.stats = &s;
  r.sender = TRUE;
  r.ntp_sec = 1;
  r.ntp_frac = 2;
  r.rtp_timestamp = 3;
  r.packets = 4;
  r.octets = 5;
  r.now = 5 * G_USEC_PER_SEC + G_USEC_PER_SEC / 2;   /* 0.5 s after its SR */
  n = cf_rtcp_build_report (&r, b, sizeof b);
  g_assert_cmpuint (n, >, 0);
  g_assert_cmpuint (b[0], ==, 0x81);
  g_assert_cmpuint (b[1], ==, 200);
  g_assert_cmpuint (((b[2] << 8 | b[3]) + 1) * 4, ==, 28 + 24);
  g_assert_cmpuint (bf_read_be32 (b + 8), ==, 1);
  g_assert_cmpuint (bf_read_be32 (b + 16), ==, 3);
  g_assert_cmpuint (bf_read_be32 (b + 20), ==, 4);
  g_assert_cmpuint (bf_read_be32 (b + 24), ==, 5);
  g_assert_cmpuint (bf_read_be32 (b + 28 + 16), ==, 0x56789abc);   /* middle 32 bits */
  g_assert_cmpuint (bf_read_be32 (b + 28 + 20), ==, 32768);        /* 0.5 s in 1/65536 s */

  /* Read back as a participant reading ours: its block about OURS? No:
   * the block is about PEER.  As PEER reads it, the loss is 0 %. */
  CfRtcpInfo info;
  g_assert_true (cf_rtcp_read (b, n, PEER, &info));
  g_assert_true (info.has_sr);
  g_assert_cmpuint (info.sr_ssrc, ==, OURS);
  g_assert_true (info.has_loss);
  g_assert_cmpuint (info.loss_percent, ==, 0);
  g_assert_cmpuint (info.packets, ==, 2);
  /* A reader whose SSRC is not in it finds no block. */
  g_assert_true (cf_rtcp_read (b, n, 0x55555555, &info));
  g_assert_false (info.has_loss);
  /* Too small a buffer: nothing written. */
  g_assert_cmpuint (cf_rtcp_build_report (&r, b, 40), ==, 0);
}

static void
test_no_block_before_any_rtp (void)
{
  CfRecvStats s = { 0 };
  CfReport r = { .ssrc = OURS, .cname = "x", .stats = &s };
  guint8 b[CF_RTCP_REPORT_MAX];
  gsize n = cf_rtcp_build_report (&r, b, sizeof b);

  g_assert_cmpuint (b[0], ==, 0x80);
  g_assert_cmpuint (b[1], ==, 201);
  g_assert_cmpuint (n, ==, 8 + 12);
}

static void
test_read_participant_rr (void)
{
  /* An RR from the participant with two blocks, the second about us at
   * 64/256 = 25 % loss, then an SDES it sent. */
  guint8 b[8 + 48 + 12] = { 0x82, 201, 0, 13 };
  CfRtcpInfo info;

  b[4] = 0xa1;
  memset (b + 8, 0x77, 4);                   /* block 1: someone else */
  b[8 + 24 + 0] = 0x11; b[8 + 24 + 1] = 0x22; b[8 + 24 + 2] = 0x33; b[8 + 24 + 3] = 0x44;
  b[8 + 24 + 4] = 64;
  b[56] = 0x81; b[57] = 202; b[58] = 0; b[59] = 2;
  g_assert_true (cf_rtcp_read (b, sizeof b, OURS, &info));
  g_assert_false (info.has_sr);
  g_assert_true (info.has_loss);
  g_assert_cmpuint (info.loss_percent, ==, 25);
  g_assert_cmpuint (info.packets, ==, 2);

  /* Truncated: the length runs past the datagram. */
  g_assert_false (cf_rtcp_read (b, 40, OURS, &info));
  /* An RC larger than the packet holds reads only the blocks that fit. */
  b[0] = 0x9f;
  g_assert_true (cf_rtcp_read (b, sizeof b, OURS, &info));
  g_assert_true (info.has_loss);
  /* Version 1: malformed. */
  b[0] = 0x42;
  g_assert_false (cf_rtcp_read (b, sizeof b, OURS, &info));
  /* Three bytes: malformed. */
  g_assert_false (cf_rtcp_read (b, 3, OURS, &info));
  /* Empty: nothing, fine. */
  g_assert_true (cf_rtcp_read (b, 0, OURS, &info));
  g_assert_cmpuint (info.packets, ==, 0);
}

static void
test_ssrc_change_and_jump_restart (void)
{
  CfRecvStats s = { 0 };

  feed (&s, 100, 20, 0);
  g_assert_cmpuint (s.received, ==, 20);
  cf_recv_stats_sender_report (&s, 1, 0, 1);
  /* A jump of 20000: the sender restarted; its SR is kept. */
  cf_recv_stats_update (&s, PEER, 20120, 0, 2 * G_USEC_PER_SEC, 48000);
  g_assert_cmpuint (s.received, ==, 1);
  g_assert_cmpuint (s.base_seq, ==, 20120);
  g_assert_cmpuint (s.lsr, !=, 0);
  /* A new SSRC starts afresh. */
  cf_recv_stats_update (&s, PEER + 1, 5, 0, 3 * G_USEC_PER_SEC, 48000);
  g_assert_cmpuint (s.ssrc, ==, PEER + 1);
  g_assert_cmpuint (s.received, ==, 1);
  g_assert_cmpuint (s.lsr, ==, 0);
}

static void
test_jitter_of_a_late_packet (void)
{
  CfRecvStats s = { 0 };

  feed (&s, 1, 10, 0);
  /* The 11th arrives 16 ms late: D = 768 units, J = 768 / 16. */
  cf_recv_stats_update (&s, PEER, 11, 1000 + 960 * 10,
                        G_USEC_PER_SEC + 10 * 20000 + 16000, 48000);
  g_assert_cmpfloat (s.jitter, >, 47.0);
  g_assert_cmpfloat (s.jitter, <, 49.0);
}

/* The sender info every stream the room sends reports with: the RTP time of
 * now extrapolated from the newest packet sent, wrapping; the NTP time the
 * wall clock's; the counts truncated to 32 bits (RFC 3550 §6.4.1). */
static void
test_sender_info_of_now (void)
{
  CfReport r = { 0 };
  guint8 b[CF_RTCP_REPORT_MAX];
  gint64 before = g_get_real_time () / G_USEC_PER_SEC + 2208988800LL;
  gint64 after;
  gsize n;

  /* 250 ms after a packet of timestamp 0xffffff00, at 90 kHz: 22500 later,
   * across the wrap. */
  cf_report_set_sender (&r, 0xffffff00u, 1000000, 90000, G_GUINT64_CONSTANT (0x100000005),
                        1234, 1250000);
  after = g_get_real_time () / G_USEC_PER_SEC + 2208988800LL;
  g_assert_true (r.sender);
  g_assert_cmpuint (r.rtp_timestamp, ==, (guint32) (0xffffff00u + 22500));
  g_assert_cmpuint (r.packets, ==, 5);
  g_assert_cmpuint (r.octets, ==, 1234);
  g_assert_cmpint ((gint64) r.ntp_sec, >=, (gint64) (guint32) before);
  g_assert_cmpint ((gint64) r.ntp_sec, <=, (gint64) (guint32) after);
  /* A packet "sent" after now (clocks read in another order): no going back. */
  cf_report_set_sender (&r, 48000, 2000000, 48000, 1, 1, 1999000);
  g_assert_cmpuint (r.rtp_timestamp, ==, 48000);

  /* Written as an SR with those fields. */
  r.ssrc = OURS;
  r.cname = "belfry-0000abcd";
  r.now = 1999000;
  n = cf_rtcp_build_report (&r, b, sizeof b);
  g_assert_cmpuint (n, >, 28);
  g_assert_cmpuint (b[1], ==, 200);
  g_assert_cmpuint (bf_read_be32 (b + 8), ==, r.ntp_sec);
  g_assert_cmpuint (bf_read_be32 (b + 16), ==, 48000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-rtcp/report-block-loss-and-wrap", test_report_block_loss_and_wrap);
  g_test_add_func ("/conference-rtcp/sender-report-lsr-dlsr", test_sender_report_lsr_dlsr);
  g_test_add_func ("/conference-rtcp/no-block-before-any-rtp", test_no_block_before_any_rtp);
  g_test_add_func ("/conference-rtcp/read-participant-rr", test_read_participant_rr);
  g_test_add_func ("/conference-rtcp/ssrc-change-and-jump", test_ssrc_change_and_jump_restart);
  g_test_add_func ("/conference-rtcp/jitter", test_jitter_of_a_late_packet);
  g_test_add_func ("/conference-rtcp/sender-info-of-now", test_sender_info_of_now);
  return g_test_run ();
}
