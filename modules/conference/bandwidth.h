/* conference — one receiver's bandwidth estimate, and the simulcast layer
 * that fits it and the size the receiver displays.
 *
 * Why it exists: the SFU forwards each receiver the layer of a sender's
 * simulcast it can take.  The estimate comes from the receiver's REMB when
 * it negotiated goog-remb (its own estimate, taken as is), or, when it
 * negotiated transport-cc, from this file's estimator on its feedback:
 *
 *  - The room records each packet sent to the receiver (transport-wide
 *    sequence number, size, send time: cf_bandwidth_sent).  Feedback gives
 *    arrival times; each received packet's one-way delay (arrival - send,
 *    clocks unsynchronised: only its changes matter) is kept over the
 *    last CF_BWE_WINDOW packets.
 *  - The delay gradient is the least-squares slope of that delay over send
 *    time (µs of queueing gained per µs sent): above +CF_BWE_OVERUSE a
 *    queue is building (overuse), otherwise the path keeps up.
 *  - Loss is the share of packets the feedback reports not received, over
 *    at least CF_BWE_LOSS_MIN_PACKETS.
 *  - Rate control, per feedback: overuse or loss > 10 % decreases the
 *    estimate to 85 % of what was actually received (the acknowledged
 *    rate; of the estimate when unknown), or by half the loss when loss
 *    alone; then no new decrease for 300 ms (the queue takes time to
 *    drain).  With no overuse and loss < 2 % it grows by 8 % per second
 *    (multiplicatively, scaled by the time since the last update); in
 *    between it holds.  Bounded to [min, max].
 *  A receiver that sends neither has its receiver reports' loss alone
 *  (cf_bandwidth_loss, CF_BWE_LOSS).
 *  This is the outline of Google congestion control (delay-based and
 *  loss-based controllers) reduced to a trendline and fixed thresholds; it
 *  has no probing: growth above what is sent is a guess the delay and loss
 *  of the next layer will confirm or pull back (the layer choice below
 *  waits before going up, and drops at once).
 *
 * Layer choice (cf_layer_choose): the layers from lowest to highest; the
 * size cap is the lowest layer whose resolution covers the displayed size
 * (larger layers would be scaled down: wasted); the highest active layer
 * at or below the cap whose bitrate fits the estimate is chosen, going down
 * at once when the current one no longer fits, going up only when the
 * higher layer has fit with 15 % headroom for CF_LAYER_UP_HOLD.  Nothing is
 * displayed (0 size), or no layer is active: -1, forward nothing.
 * The sizes: each layer's from its VP8 keyframes (vp8-descriptor.h) or
 * H.264 SPSs (h264-sps.h), 0 while unknown; the displayed one from the receiver's
 * description-info or session-accept (XEP-0167 §9, sfu-signal.c;
 * G_MAXUINT while it said nothing: no cap).
 *
 * Thread rule: one owner thread, the room's worker; plain structs.
 */
#pragma once

#include <glib.h>

#include "rtcp-feedback.h"

G_BEGIN_DECLS

#define CF_BWE_HISTORY 1024          /* packets sent remembered, by transport seq */
#define CF_BWE_WINDOW 64             /* delay samples in the trendline */
#define CF_BWE_OVERUSE 0.02          /* slope: 20 ms of queue gained per second */
#define CF_BWE_LOSS_MIN_PACKETS 20

typedef enum {
  CF_BWE_NONE,                       /* neither negotiated: the estimate stays the initial one */
  CF_BWE_REMB,
  CF_BWE_TRANSPORT_CC,
  CF_BWE_LOSS,                       /* neither sent: its receiver reports' fraction lost */
} CfBweMode;

typedef struct {
  double send, delay;                /* µs: send time, arrival - send */
} CfBweSample;

typedef struct {
  CfBweMode mode;
  guint64 estimate_bps;
  guint64 min_bps, max_bps;
  /* transport-cc */
  struct { gboolean valid; guint16 seq; guint16 size; gint64 sent; } sent[CF_BWE_HISTORY];
  CfBweSample window[CF_BWE_WINDOW];
  guint n_window, window_next;
  guint loss_lost, loss_total;
  double loss;                       /* last evaluated, 0..1 */
  double slope;                      /* last trendline slope */
  gboolean overuse;
  guint64 acked_bps;                 /* last feedback's received rate; 0 unknown */
  gint64 last_update, last_decrease;
  gboolean updated, decreased;
} CfBandwidth;

void cf_bandwidth_init (CfBandwidth *b, CfBweMode mode, guint64 initial_bps,
                        guint64 min_bps, guint64 max_bps);
/* REMB mode: the receiver's own estimate (bounded to [min, max]). */
void cf_bandwidth_remb (CfBandwidth *b, guint64 bps);
/* transport-cc mode: a packet of @size bytes sent with transport-wide
 * sequence number @seq at monotonic µs @now. */
void cf_bandwidth_sent (CfBandwidth *b, guint16 seq, gsize size, gint64 now);
/* transport-cc mode: the arrivals one feedback reported (as
 * cf_rtcp_feedback_read gave them), at monotonic µs @now. */
void cf_bandwidth_feedback (CfBandwidth *b, const CfTwccArrival *a, guint n, gint64 now);
/* A receiver that sends neither (webrtcbin 1.22 answers neither goog-remb
 * nor the transport-wide-cc extension): its RTCP receiver report's
 * fraction lost (0..1) of what we sent at @sent_bps since its last one.
 * Loss-based only, as the outline above: above 10 % the estimate falls to
 * what was sent less half the loss (then no decrease for 300 ms), below
 * 2 % it grows by 8 % per second since the last report, in between it
 * holds.  Ignored once REMB or transport-cc feedback came (mode). */
void cf_bandwidth_loss (CfBandwidth *b, double loss, guint64 sent_bps, gint64 now);

#define CF_LAYERS_MAX 4
#define CF_LAYER_HEADROOM 1.15
#define CF_LAYER_UP_HOLD (2 * G_USEC_PER_SEC)

typedef struct {
  guint64 bitrate_bps;               /* what the sender currently sends in it */
  guint width, height;
  gboolean active;                   /* the sender sends it */
} CfLayer;

typedef struct {
  int current;                       /* -1: none yet */
  gint64 fit_since[CF_LAYERS_MAX];   /* when the estimate began to fit each with headroom; 0: it does not */
} CfLayerChoice;

/* The lowest of @layers (lowest first, sizes 0 where unknown) whose
 * resolution covers @view_width x @view_height; the highest (n - 1) when
 * none does or the size is unknown (G_MAXUINT). */
int cf_layer_size_cap (const CfLayer *layers, guint n, guint view_width, guint view_height);

/* The displayed size a receiver states (XEP-0167 §9 'width' and 'height'
 * parameters, as it wrote them): TRUE and *@width, *@height when both are
 * plain decimal numbers within CF_DISPLAY_MIN..CF_DISPLAY_MAX; FALSE
 * otherwise (absent, signed, malformed, out of range: ignored). */
#define CF_DISPLAY_MIN 16
#define CF_DISPLAY_MAX 8192
gboolean cf_display_size_parse (const char *width_s, const char *height_s, guint *width,
                                guint *height);

void cf_layer_choice_init (CfLayerChoice *c);
/* @layers from lowest to highest (at most CF_LAYERS_MAX), the estimate,
 * the size the receiver displays the stream at, monotonic µs @now (not 0).
 * Returns the layer to forward (also kept in c->current), -1 for none. */
int cf_layer_choose (CfLayerChoice *c, const CfLayer *layers, guint n, guint64 estimate_bps,
                     guint view_width, guint view_height, gint64 now);

G_END_DECLS
