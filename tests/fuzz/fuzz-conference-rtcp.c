/* libFuzzer target: a conference participant's RTCP compound as the room
 * reads it (modules/conference/rtcp.c, cf_rtcp_read), and the statistics
 * and report built from what the input claims. */
#include <string.h>
#include <glib.h>

#include "rtcp.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  CfRtcpInfo info;
  CfRecvStats stats = { 0 };
  guint8 out[CF_RTCP_REPORT_MAX];
  guint32 ours = size >= 4 ? ((guint32) data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3]) : 0;

  cf_rtcp_read (data, size, ours, &info);
  g_assert (info.loss_percent <= 100);
  /* The input as RTP arrivals: (seq, timestamp, arrival) triples. */
  for (size_t i = 0; i + 10 <= size && i < 4000; i += 10)
    cf_recv_stats_update (&stats, data[i] & 1, (guint16) (data[i + 1] << 8 | data[i + 2]),
                          (guint32) data[i + 3] << 24 | data[i + 4] << 16 | data[i + 5] << 8
                          | data[i + 6], (gint64) (data[i + 7] << 16 | data[i + 8] << 8
                                                   | data[i + 9]) * 1000, 48000);
  if (info.has_sr)
    cf_recv_stats_sender_report (&stats, info.sr_ntp_sec, info.sr_ntp_frac, 1);
  CfReport r = { .ssrc = ours, .cname = "fuzz", .stats = &stats, .sender = size & 1,
                 .now = (gint64) size * 1000 };
  gsize n = cf_rtcp_build_report (&r, out, sizeof out);
  g_assert (n > 0 && n <= sizeof out && n % 4 == 0);
  g_assert (cf_rtcp_read (out, n, stats.ssrc, &info));
  return 0;
}
