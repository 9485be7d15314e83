/* conference — RTCP as the room speaks it with each participant (RFC 3550):
 * receiver statistics of the participant's stream (sequence, loss, jitter),
 * the compound report the room sends it (SR, or RR before the room sent
 * anything, with one report block about its stream, and SDES CNAME), and
 * what the room reads from the participant's own compounds (its SR, for
 * LSR/DLSR, and its report block about the room's stream: the loss the
 * room's encoder plans in-band FEC for).
 *
 * Why a file of its own: it is a parser of what peers send (bounded by the
 * packet's length, fuzzed: tests/fuzz/fuzz-conference-rtcp.c) and a writer
 * whose fields a receiver checks; both are pure and unit-tested
 * (tests/unit/test-conference-rtcp.c) apart from the worker.
 *
 * Thread rule: pure, no global state; the room's worker is its one user.
 */
#pragma once

#include <glib.h>
#include <belfry/packet.h>

G_BEGIN_DECLS

/* RFC 3550 A.1 and A.8: what the room received of one stream. */
typedef struct {
  gboolean started;
  guint32 ssrc;
  guint16 max_seq;
  guint32 cycles;
  guint32 base_seq;
  guint64 received, expected_prior, received_prior;
  gint64 transit;          /* last (arrival - RTP time), in clock units */
  double jitter;           /* in clock units */
  guint32 lsr;             /* middle 32 bits of the NTP time of its last SR; 0: none */
  gint64 lsr_arrival;      /* monotonic µs that SR arrived */
} CfRecvStats;

/* A packet of the stream: @arrival monotonic µs, @clock_rate of its RTP
 * timestamps.  A new SSRC, or a sequence jump beyond RFC 3550's dropout,
 * restarts the statistics. */
void cf_recv_stats_update (CfRecvStats *stats, guint32 ssrc, guint16 seq, guint32 timestamp,
                           gint64 arrival, guint clock_rate);
/* Its SR arrived (the NTP seconds and fraction it carried). */
void cf_recv_stats_sender_report (CfRecvStats *stats, guint32 ntp_sec, guint32 ntp_frac,
                                  gint64 arrival);

/* What the room sends: its SSRC and CNAME, sender info when it sent RTP,
 * and a report block about @stats when it received any. */
typedef struct {
  guint32 ssrc;
  const char *cname;       /* at most 255 bytes */
  gboolean sender;
  guint32 ntp_sec, ntp_frac, rtp_timestamp, packets, octets;
  CfRecvStats *stats;      /* NULL or not started: no report block */
  gint64 now;              /* monotonic µs, for DLSR */
} CfReport;

/* Fills @report's sender info at @now (monotonic µs) for a stream whose
 * newest packet, of RTP timestamp @last_ts, was sent at @last_sent: the NTP
 * time is the wall clock's, the RTP time that timestamp plus the time
 * since at @clock Hz.  Every stream the room sends gets its SR this way,
 * on the one wall clock, so a receiver can line them up (RFC 3550 §6.4.1). */
void cf_report_set_sender (CfReport *report, guint32 last_ts, gint64 last_sent, guint clock,
                           guint64 packets, guint64 octets, gint64 now);

/* The largest compound cf_rtcp_build_report() writes. */
#define CF_RTCP_REPORT_MAX (28 + 24 + 8 + 2 + 255 + 1 + 3)

/* Writes the compound (SR or RR, then SDES) into @out and returns its
 * length, or 0 when @size is too small.  The report block's interval
 * figures (fraction lost) start a new interval in @report->stats. */
gsize cf_rtcp_build_report (const CfReport *report, guint8 *out, gsize size);

/* --- Walking a compound (RFC 3550 §6.1), for every reader here --- */

#define CF_RTCP_MAX_PACKETS 32   /* a compound longer than this is read no further */

/* One packet of a compound: its header fields, the whole packet (@len,
 * a multiple of 4) and its body without the padding (@body <= @len). */
typedef struct {
  guint8 count;            /* RC / FMT: the low 5 bits of the first octet */
  guint8 pt;
  const guint8 *data;
  gsize len;
  gsize body;
} CfRtcpPacket;

typedef struct {
  const guint8 *data;
  gsize len, off;
  guint packets;           /* packets handed out so far */
} CfRtcpWalk;

void cf_rtcp_walk_init (CfRtcpWalk *walk, const guint8 *data, gsize len);
/* The next packet of the compound in *@packet: 1; 0 at its end (or after
 * CF_RTCP_MAX_PACKETS); -1 when it is malformed there (version not 2, a
 * length beyond the data, a padding count of 0 or beyond the packet), and
 * nothing after that is read. */
gint cf_rtcp_walk_next (CfRtcpWalk *walk, CfRtcpPacket *packet);

/* What a participant's compound told the room. */
typedef struct {
  gboolean has_sr;
  guint32 sr_ssrc;
  guint32 sr_ntp_sec, sr_ntp_frac;
  gboolean has_loss;       /* a report block about @our_ssrc */
  guint loss_percent;      /* its fraction lost, 0..100 */
  guint32 jitter;          /* its interarrival jitter of our stream */
  guint packets;           /* RTCP packets walked */
} CfRtcpInfo;

/* Walks the compound @data within @len (at most 32 packets): each
 * packet's version and length are checked; FALSE at the first that is
 * malformed (what was read before it is kept in @info). */
gboolean cf_rtcp_read (const guint8 *data, gsize len, guint32 our_ssrc, CfRtcpInfo *info);

G_END_DECLS
