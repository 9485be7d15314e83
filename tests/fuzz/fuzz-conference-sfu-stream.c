/* libFuzzer target: the SFU's per-receiver forwarding state
 * (modules/conference/sfu-stream.c) driven by a script.
 *
 * Input: a script of operations on one stream of three layers: push a
 * packet (which SSRC: a layer's or an unknown one; the sequence number as
 * a step from that layer's last, or raw; a timestamp step; the time
 * advanced; an RTP payload of the next n bytes, often led by a well-formed
 * VP8 descriptor built from flag bits; H.264 when the first byte is odd),
 * set the target layer and TID, ask
 * for a keyframe, look up a NACK, change a layer's SSRC.  Checks:
 *   - nothing crashes, leaks or trips a sanitizer; a dropped packet is left
 *     as it was;
 *   - a forwarded packet carries our SSRC, keeps its length, payload type
 *     and marker;
 *   - at a switch (the switch counter moves), the packet is a keyframe of
 *     the target layer, its sequence number is one past the newest we sent
 *     and its timestamp strictly after the newest we sent (never
 *     backwards);
 *   - a forwarded packet's number maps back (NACK) to its source;
 *   - the stats add up to the packets pushed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <belfry/packet.h>

#include "sfu-stream.h"
#include "vp8-descriptor.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define OURS 0x0f0f0001u
#define MAX_OPS 400
#define MAX_PAYLOAD 48

typedef struct {
  const uint8_t *p;
  size_t n;
} Reader;

static guint
take (Reader *r)
{
  if (r->n == 0)
    return 0;
  r->n--;
  return *r->p++;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Reader r = { data, size };
  /* The first byte picks the codec: the same script then exercises
   * H.264's keyframes (its payload bytes as they come). */
  CfSfuCodec codec = size > 0 && (data[0] & 0x01) ? CF_SFU_H264 : CF_SFU_VP8;
  g_autoptr (CfSfuStream) s = cf_sfu_stream_new (OURS, 90000, codec);
  guint32 ssrcs[3] = { 0x1000, 0x2000, 0x3000 };
  guint16 seq[3] = { 65530, 100, 30000 };
  guint32 ts[3] = { 0xfffff000u, 5, 0x7fffffffu };
  gint64 now = G_USEC_PER_SEC;
  guint64 pushed = 0;
  gboolean sent_any = FALSE;
  guint16 top_seq = 0;
  guint32 top_ts = 0;

  for (guint i = 0; i < 3; i++)
    cf_sfu_stream_set_layer_ssrc (s, i, ssrcs[i]);

  for (guint op = 0; op < MAX_OPS && r.n > 0; op++)
    {
      guint code = take (&r);

      switch (code % 8)
        {
        case 0:
          cf_sfu_stream_set_target (s, (gint) (take (&r) % 6) - 1, take (&r) % 5);
          break;
        case 1:
          {
            guint32 ssrc;
            if (cf_sfu_stream_keyframe_request (s, now, &ssrc))
              {
                gint t = cf_sfu_stream_get_target (s);
                if (t < 0 || ssrc != ssrcs[t])
                  __builtin_trap ();
              }
          }
          break;
        case 2:
          {
            guint16 q = (guint16) ((take (&r) << 8) | take (&r));
            guint32 src_ssrc;
            guint16 src_seq;
            if (cf_sfu_stream_nack_lookup (s, q, &src_ssrc, &src_seq) && src_ssrc == OURS)
              __builtin_trap ();
          }
          break;
        case 3:
          {
            guint li = take (&r) % 3;
            ssrcs[li] = 0x100000 + take (&r);
            cf_sfu_stream_set_layer_ssrc (s, li, ssrcs[li]);
          }
          break;
        default:
          {
            guint8 pkt[12 + 16 + MAX_PAYLOAD], orig[sizeof pkt];
            guint sel = take (&r), flags = take (&r), n = take (&r) % (MAX_PAYLOAD + 1);
            guint li = sel % 4, at = 12;
            guint32 ssrc = li < 3 ? ssrcs[li] : 0xdeadbeefu;
            guint16 q;
            guint32 t;
            BfRtpHeader h, ho;
            CfSfuVerdict v;
            guint64 switches;
            gsize len;

            if (li == 3)
              li = 0;
            q = (sel & 0x80) ? (guint16) ((take (&r) << 8) | take (&r))
                             : (guint16) (seq[li] + (take (&r) % 8) - 2);
            seq[li] = q;
            t = ts[li] + (flags & 0x40 ? 3000 * (take (&r) % 4) : 0);
            ts[li] = t;
            now += (gint64) take (&r) * 1000;
            pkt[0] = 0x80;
            pkt[1] = (guint8) (96 | (flags & 0x80));
            bf_write_be16 (pkt + 2, q);
            bf_write_be32 (pkt + 4, t);
            bf_write_be32 (pkt + 8, ssrc);
            if (flags & 0x20)
              {
                /* A well-formed descriptor: X, S per flag, I L T, PictureID
                 * 7 or 15 bits, TL0PICIDX, TID/Y, then a payload header
                 * whose P bit makes a keyframe. */
                pkt[at++] = (guint8) (0x80 | (flags & 0x10));
                pkt[at++] = 0xe0;
                if (flags & 0x08)
                  {
                    pkt[at++] = (guint8) (0x80 | take (&r));
                    pkt[at++] = (guint8) take (&r);
                  }
                else
                  pkt[at++] = (guint8) (take (&r) & 0x7f);
                pkt[at++] = (guint8) take (&r);
                pkt[at++] = (guint8) ((flags & 0x03) << 6 | (flags & 0x04 ? 0x20 : 0));
                pkt[at++] = (flags & 0x01) ? 0x01 : 0x00;
              }
            for (guint i = 0; i < n && r.n > 0; i++)
              pkt[at++] = (guint8) take (&r);
            len = at;
            memcpy (orig, pkt, len);
            if (!bf_rtp_header_parse (pkt, len, &h))
              break;
            switches = cf_sfu_stream_get_stats (s)->switches;
            v = cf_sfu_stream_push (s, pkt, len, &h, now);
            pushed++;
            if (v != CF_SFU_FORWARD)
              {
                if (memcmp (pkt, orig, len) != 0)
                  __builtin_trap ();
                break;
              }
            /* H.264 has nothing to rewrite in the payload. */
            if (codec == CF_SFU_H264
                && memcmp (pkt + h.payload_offset, orig + h.payload_offset, h.payload_len) != 0)
              __builtin_trap ();
            if (!bf_rtp_header_parse (pkt, len, &ho) || ho.ssrc != OURS
                || ho.payload_type != h.payload_type || ho.marker != h.marker
                || ho.payload_offset != h.payload_offset)
              __builtin_trap ();
            if (cf_sfu_stream_get_stats (s)->switches != switches)
              {
                CfVp8Descriptor d;
                if (!cf_sfu_payload_parse (codec, orig + h.payload_offset, h.payload_len, &d)
                    || !d.keyframe || ssrcs[cf_sfu_stream_get_target (s)] != h.ssrc)
                  __builtin_trap ();
                if (sent_any && (ho.seq != (guint16) (top_seq + 1)
                                 || (gint32) (ho.timestamp - top_ts) <= 0))
                  __builtin_trap ();
              }
            {
              guint32 src_ssrc;
              guint16 src_seq;
              if (!cf_sfu_stream_nack_lookup (s, ho.seq, &src_ssrc, &src_seq)
                  || src_ssrc != h.ssrc || src_seq != h.seq)
                __builtin_trap ();
            }
            if (!sent_any || (gint16) (guint16) (ho.seq - top_seq) > 0)
              top_seq = ho.seq;
            if (!sent_any || (gint32) (ho.timestamp - top_ts) > 0)
              top_ts = ho.timestamp;
            sent_any = TRUE;
          }
          break;
        }
    }

  {
    const CfSfuStats *st = cf_sfu_stream_get_stats (s);
    if (st->forwarded + st->dropped_layer + st->dropped_temporal + st->dropped_old
        + st->dropped_malformed + st->dropped_unknown != pushed)
      __builtin_trap ();
  }
  return 0;
}
