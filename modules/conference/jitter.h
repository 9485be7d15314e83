/* One participant's jitter buffer: received Opus payloads ordered by RTP
 * timestamp (48 kHz, RFC 7587), played out at a fixed delay behind the
 * first packet (jitter_ms) by a playout position the mixer advances 20 ms
 * per tick.  Not time-based: the mixer's ticks are the clock, so a sender
 * in DTX (no packets) simply leaves a gap.  Late packets (after their
 * playout time), duplicates (a timestamp already buffered) and packets not
 * Opus are refused and counted; out-of-order ones are sorted in.  Bounded:
 * at most CF_JITTER_MAX_PACKETS payloads of at most CF_JITTER_MAX_BYTES,
 * spanning at most jitter + CF_JITTER_MAX_EXTRA_MS past the playout
 * position; beyond that the oldest are skipped (playout jumps forward).
 * A stream that keeps arriving late, or whose timestamps jump by more than
 * CF_JITTER_RESYNC_MS, is re-anchored.  Pure code; one owner thread. */
#pragma once

#include <glib.h>
#include "opus-packet.h"

G_BEGIN_DECLS

#define CF_JITTER_MAX_PACKETS 24
#define CF_JITTER_MAX_BYTES 1500        /* one UDP datagram's worth: nothing larger arrives over SRTP */
#define CF_JITTER_MAX_EXTRA_MS 200
#define CF_JITTER_RESYNC_MS 5000
#define CF_JITTER_LATE_RESYNC 4         /* consecutive late packets that re-anchor playout */

typedef struct {
  guint32 ts;
  guint16 seq;
  guint16 len;
  gint16 level;          /* RFC 6464 level, -1 none */
  gboolean voice;
  CfOpusInfo info;
  guint8 data[CF_JITTER_MAX_BYTES];
} CfJitterPacket;

typedef enum {
  CF_JITTER_ACCEPTED,
  CF_JITTER_LATE,
  CF_JITTER_DUPLICATE,
  CF_JITTER_INVALID,
} CfJitterResult;

typedef struct {
  guint32 depth;                 /* target delay, samples */
  guint32 max_ahead;             /* depth + CF_JITTER_MAX_EXTRA_MS, samples */
  gboolean started;
  guint32 play_ts;               /* timestamp of the next sample to play */
  guint late_run;
  /* The last packet played out (or skipped): tells a loss (a sequence
   * gap) from a DTX gap (no gap). */
  gboolean have_last;
  guint16 last_seq;
  gboolean last_dtx;
  guint n;                       /* packets in order[] */
  CfJitterPacket *order[CF_JITTER_MAX_PACKETS];   /* by timestamp, oldest first */
  CfJitterPacket *spare[CF_JITTER_MAX_PACKETS];   /* free slots */
  guint n_spare;
  CfJitterPacket *slots;         /* the storage of both */
} CfJitter;

void cf_jitter_init (CfJitter *jb, guint depth_ms);
void cf_jitter_clear (CfJitter *jb);
/* Files a payload; *@overflow gets how many buffered packets were skipped
 * to keep the bounds. */
CfJitterResult cf_jitter_push (CfJitter *jb, guint16 seq, guint32 ts, const guint8 *payload, gsize len,
                               gint level, gboolean voice, guint *overflow);
/* The first buffered packet that ends after @ts (NULL: none); *@index its
 * place in order[] for cf_jitter_next(). */
CfJitterPacket *cf_jitter_find (CfJitter *jb, guint32 ts, guint *index);
/* Moves playout @samples forward, dropping the packets it passed. */
void cf_jitter_advance (CfJitter *jb, guint samples);

/* Signed distance a - b of two RTP timestamps. */
static inline gint32
cf_ts_diff (guint32 a, guint32 b)
{
  return (gint32) (a - b);
}

G_END_DECLS
