/* conference — the RTCP feedback a receiver sends the SFU, and the feedback
 * the SFU sends toward a sender.
 *
 * Read (cf_rtcp_feedback_read): generic NACK (RFC 4585 §6.2.1), PLI
 * (§6.3.1), FIR (RFC 5104 §4.3.1), REMB (draft-alvestrand-rmcat-remb-03)
 * and transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01)
 * out of one compound (RFC 3550 §6.1: version, length words, padding).
 * Written: PLI, FIR and NACK toward a sender.
 *
 * Why a file of its own: rtcp.c (issue 13) reads SR and report blocks and
 * writes the room's reports; this file reads the feedback packets of the
 * same compounds, with the one walker rtcp.h has (cf_rtcp_walk_next).  It is
 * a parser of what peers send: every count is checked against the packet
 * and every list is bounded (tests/fuzz/fuzz-conference-feedback.c,
 * tests/unit/test-conference-rtcp-feedback.c).
 *
 * Thread rule: pure, no global state; the room's worker is its one user.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_FB_NACK_MAX 256       /* lost sequence numbers kept per compound */
#define CF_FB_PLI_MAX 16
#define CF_FB_FIR_MAX 16
#define CF_FB_REMB_SSRC_MAX 16
#define CF_FB_TWCC_MAX 2048      /* transport-cc packet statuses kept per compound */

typedef struct {
  guint32 media_ssrc;
  guint16 seq;
} CfNackItem;

typedef struct {
  guint32 ssrc;                  /* the stream a keyframe is asked of */
  guint8 seq;                    /* the requester's command sequence number */
} CfFirEntry;

/* One packet of a transport-cc feedback. */
typedef struct {
  guint16 seq;                   /* transport-wide sequence number */
  gboolean received;
  /* The receiver's time base (reference time × 64 ms + deltas), only its
   * differences meaningful; received only.  The 24-bit signed reference
   * time wraps every ~6 days: one jump then. */
  gint64 arrival_us;
} CfTwccArrival;

typedef struct {
  guint packets;                 /* RTCP packets walked */
  guint malformed;               /* feedback packets skipped: counts beyond the packet, no FCI... */
  guint truncated;               /* items dropped because a list below was full */

  guint n_nacks;
  CfNackItem nacks[CF_FB_NACK_MAX];

  guint n_plis;
  guint32 plis[CF_FB_PLI_MAX];   /* media SSRCs */

  guint n_firs;
  CfFirEntry firs[CF_FB_FIR_MAX];

  gboolean has_remb;
  guint64 remb_bps;              /* saturates at G_MAXUINT64 */
  guint n_remb_ssrcs;
  guint32 remb_ssrcs[CF_FB_REMB_SSRC_MAX];

  guint n_twcc_feedbacks;        /* transport-cc packets read */
  guint8 twcc_fb_count;          /* the last one's feedback packet count */
  guint n_twcc;
  CfTwccArrival twcc[CF_FB_TWCC_MAX];
} CfFeedback;

/* Walks the compound @data within @len (at most 32 packets).  FALSE when
 * the walk itself breaks (version not 2, a length beyond the data, padding
 * beyond its packet): what was read before is kept.  A feedback packet
 * whose own content is malformed is skipped and counted in ->malformed. */
gboolean cf_rtcp_feedback_read (const guint8 *data, gsize len, CfFeedback *fb);

/* FIR sequence numbers a receiver used per SSRC (RFC 5104 §4.3.1.2: a
 * repeated number is a retransmission, not a new request). */
#define CF_FIR_HISTORY_MAX 8
typedef struct {
  guint n;
  struct { guint32 ssrc; guint8 seq; } seen[CF_FIR_HISTORY_MAX];
} CfFirHistory;

/* TRUE when @entry is a new request from that receiver (remembered);
 * FALSE for a repeat of its last one for that SSRC. */
gboolean cf_fir_history_is_new (CfFirHistory *h, const CfFirEntry *entry);

/* Builders: each returns the bytes written, or 0 when @size is too small. */
#define CF_RTCP_PLI_LEN 12
#define CF_RTCP_FIR_LEN 20
gsize cf_rtcp_build_pli (guint32 sender_ssrc, guint32 media_ssrc, guint8 *out, gsize size);
/* @seq: the room's own command number for @media_ssrc: the caller
 * increments it for a new request and keeps it for a repetition
 * (keyframe-requests.h does). */
gsize cf_rtcp_build_fir (guint32 sender_ssrc, guint32 media_ssrc, guint8 seq,
                         guint8 *out, gsize size);
/* Generic NACK of @n sequence numbers (any order; duplicates folded): as
 * few PID+BLP items as the order allows; items beyond @size are left out
 * (the return value tells what fits; 0 when not even one). */
gsize cf_rtcp_build_nack (guint32 sender_ssrc, guint32 media_ssrc, const guint16 *seqs,
                          guint n, guint8 *out, gsize size);

G_END_DECLS
