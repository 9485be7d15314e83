/* libFuzzer target: a receiver's RTCP compound as the SFU reads its
 * feedback (modules/conference/rtcp-feedback.c, cf_rtcp_feedback_read),
 * and what the retransmission buffer, the FIR history, the keyframe
 * requests and the bandwidth estimator make of what it read; the NACK
 * and FIR written back from it must read back whole. */
#include <string.h>
#include <glib.h>

#include "bandwidth.h"
#include "keyframe-requests.h"
#include "rtcp-feedback.h"
#include "rtx-buffer.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static CfFeedback fb, back;
static CfBandwidth bwe;

static void
on_send (const guint8 *pkt, gsize len, gpointer user_data)
{
  guint *n = user_data;

  g_assert (len > 0 && len <= CF_RTX_PACKET_MAX && pkt != NULL);
  (*n)++;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static CfRtxBuffer *rtx;
  static CfRtxStore *store;
  guint16 seqs[CF_FB_NACK_MAX];
  guint8 out[12 + 4 * CF_FB_NACK_MAX];
  CfFirHistory hist = { 0 };
  CfKeyframeRequests kf;
  CfLayerChoice choice;
  guint sent = 0;
  gsize n;

  if (rtx == NULL)
    {
      rtx = cf_rtx_buffer_new (512, G_USEC_PER_SEC);
      store = cf_rtx_store_new (512);
    }
  cf_rtcp_feedback_read (data, size, &fb);
  g_assert (fb.packets <= 32);
  g_assert (fb.n_nacks <= CF_FB_NACK_MAX && fb.n_twcc <= CF_FB_TWCC_MAX);
  g_assert (fb.n_plis <= CF_FB_PLI_MAX && fb.n_firs <= CF_FB_FIR_MAX);
  g_assert (fb.n_remb_ssrcs <= CF_FB_REMB_SSRC_MAX);

  /* The input's own bytes as packets sent, its NACKs answered. */
  for (size_t i = 0; i + 2 <= size && i < 1024; i += 2)
    cf_rtx_buffer_store (rtx, (guint16) (data[i] << 8 | data[i + 1]), data, MIN (size, 1500),
                         MIN (size, data[i] % 80u),
                         cf_rtx_store_keep (store, data, MIN (size, 1500)), (gint64) i * 1000);
  for (guint i = 0; i < fb.n_nacks; i++)
    seqs[i] = fb.nacks[i].seq;
  g_assert (cf_rtx_buffer_answer (rtx, store, seqs, fb.n_nacks, 600000, 0, on_send, &sent) == sent);

  /* The NACK written from them reads back whole, each number in it. */
  n = cf_rtcp_build_nack (1, 2, seqs, fb.n_nacks, out, sizeof out);
  g_assert (n % 4 == 0 && n <= sizeof out && (n == 0) == (fb.n_nacks == 0));
  if (n > 0)
    {
      g_assert (cf_rtcp_feedback_read (out, n, &back));
      g_assert (back.malformed == 0 && back.n_nacks >= 1);
      for (guint i = 0; i < fb.n_nacks; i++)
        {
          gboolean found = FALSE;
          for (guint k = 0; k < back.n_nacks && !found; k++)
            found = back.nacks[k].seq == seqs[i];
          g_assert (found || back.truncated > 0);
        }
    }

  /* FIRs: new ones become keyframe requests, and a FIR toward the sender. */
  cf_keyframe_requests_init (&kf, 300000, 1000000);
  for (guint i = 0; i < fb.n_firs; i++)
    if (cf_fir_history_is_new (&hist, &fb.firs[i]))
      cf_keyframe_requests_ask (&kf, i);
  for (guint i = 0; i < fb.n_plis; i++)
    cf_keyframe_requests_ask (&kf, i);
  if (cf_keyframe_requests_poll (&kf, 1, NULL))
    {
      n = cf_rtcp_build_fir (1, fb.n_firs ? fb.firs[0].ssrc : 2, kf.fir_seq, out, sizeof out);
      g_assert (n == CF_RTCP_FIR_LEN && cf_rtcp_feedback_read (out, n, &back));
      g_assert (back.n_firs == 1 && back.firs[0].seq == kf.fir_seq);
    }

  /* transport-cc arrivals against packets "sent" at their sequence numbers. */
  cf_bandwidth_init (&bwe, fb.has_remb ? CF_BWE_REMB : CF_BWE_TRANSPORT_CC, 300000, 30000,
                     20000000);
  for (guint i = 0; i < fb.n_twcc; i++)
    cf_bandwidth_sent (&bwe, fb.twcc[i].seq, 1000 + i, (gint64) i * 1000);
  cf_bandwidth_feedback (&bwe, fb.twcc, fb.n_twcc, 1000000);
  if (fb.has_remb)
    cf_bandwidth_remb (&bwe, fb.remb_bps);
  g_assert (bwe.estimate_bps >= 30000 && bwe.estimate_bps <= 20000000);

  cf_layer_choice_init (&choice);
  {
    CfLayer layers[3] = {
      { 150000, 320, 180, size & 1 }, { 500000, 640, 360, size & 2 }, { 1500000, 1280, 720, TRUE },
    };
    int l = cf_layer_choose (&choice, layers, 3, bwe.estimate_bps, size % 1400, size % 800, 1);
    g_assert (l >= -1 && l < 3);
  }
  return 0;
}
