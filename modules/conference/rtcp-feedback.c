/* conference — RTCP feedback read and written (rtcp-feedback.h). */
#include <string.h>

#include "rtcp.h"
#include "rtcp-feedback.h"

#define PT_RTPFB 205
#define PT_PSFB 206

/* RFC 4585 §6.2.1: each 4-byte FCI is a PID and a bitmask of the 16
 * following.  No FCI at all is malformed. */
static gboolean
read_nack (guint32 media, const guint8 *fci, gsize len, CfFeedback *fb)
{
  if (len == 0 || len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i += 4)
    {
      guint16 pid = bf_read_be16 (fci + i), blp = bf_read_be16 (fci + i + 2);
      for (guint b = 0; b <= 16; b++)
        {
          if (b > 0 && !(blp & (1u << (b - 1))))
            continue;
          if (fb->n_nacks == CF_FB_NACK_MAX)
            {
              fb->truncated++;
              continue;
            }
          fb->nacks[fb->n_nacks].media_ssrc = media;
          fb->nacks[fb->n_nacks++].seq = (guint16) (pid + b);
        }
    }
  return TRUE;
}

/* RFC 5104 §4.3.1.1: FCI entries of SSRC, seq nr, 24 reserved bits; at
 * least one. */
static gboolean
read_fir (const guint8 *fci, gsize len, CfFeedback *fb)
{
  if (len == 0 || len % 8 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i += 8)
    {
      if (fb->n_firs == CF_FB_FIR_MAX)
        {
          fb->truncated++;
          continue;
        }
      fb->firs[fb->n_firs].ssrc = bf_read_be32 (fci + i);
      fb->firs[fb->n_firs++].seq = fci[i + 4];
    }
  return TRUE;
}

/* draft-alvestrand-rmcat-remb-03 §2.2: "REMB", Num SSRC, BR Exp (6 bits),
 * BR Mantissa (18 bits), then Num SSRC SSRCs.  Returns -1 when it is
 * not REMB (another application layer FB: ignored), 0 malformed, 1 read. */
static int
read_remb (const guint8 *fci, gsize len, CfFeedback *fb)
{
  guint num, exp;
  guint64 mantissa, bps;

  if (len < 4 || memcmp (fci, "REMB", 4) != 0)
    return -1;
  if (len < 8)
    return 0;
  num = fci[4];
  if (8 + (gsize) num * 4 > len)
    return 0;
  exp = fci[5] >> 2;
  mantissa = ((guint64) (fci[5] & 3) << 16) | ((guint64) fci[6] << 8) | fci[7];
  /* 18 bits shifted by up to 63: saturate rather than overflow. */
  if (mantissa != 0 && exp > 63 - 18 && (mantissa >> (64 - exp)) != 0)
    bps = G_MAXUINT64;
  else
    bps = mantissa << exp;
  fb->has_remb = TRUE;
  fb->remb_bps = bps;
  fb->n_remb_ssrcs = 0;
  for (guint i = 0; i < num; i++)
    {
      if (fb->n_remb_ssrcs == CF_FB_REMB_SSRC_MAX)
        {
          fb->truncated++;
          continue;
        }
      fb->remb_ssrcs[fb->n_remb_ssrcs++] = bf_read_be32 (fci + 8 + 4 * i);
    }
  return 1;
}

/* draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1: base sequence
 * number, packet status count, reference time (24 bits signed, 64 ms),
 * feedback packet count; packet chunks covering exactly the status
 * count; one receive delta per received packet (1 byte unsigned for a
 * "small delta", 2 bytes signed for a "large or negative" one, in
 * 250 µs).  The packet is read twice: statuses first (to know how many
 * delta bytes follow), then deltas, so nothing is kept of a malformed one. */
#define TWCC_STATUS_MAX 0xffff
static gboolean
read_twcc (const guint8 *fci, gsize len, CfFeedback *fb)
{
  guint16 base;
  guint count, seen = 0;
  gint32 ref;
  gsize off = 8, deltas_len = 0;
  gsize chunks_end;

  if (len < 8)
    return FALSE;
  base = bf_read_be16 (fci);
  count = bf_read_be16 (fci + 2);
  ref = (gint32) ((guint32) fci[4] << 16 | (guint32) fci[5] << 8 | fci[6]);
  if (ref & 0x800000)
    ref -= 0x1000000;
  if (count == 0)
    return FALSE;
  /* Pass 1: the chunks, and the delta bytes they call for. */
  while (seen < count)
    {
      guint16 c;
      if (off + 2 > len)
        return FALSE;
      c = bf_read_be16 (fci + off);
      off += 2;
      if (!(c & 0x8000))
        {
          guint sym = (c >> 13) & 3, run = c & 0x1fff;
          if (sym == 3)
            return FALSE;   /* reserved; a run of 0 is empty, not wrong */
          run = MIN (run, count - seen);
          deltas_len += (gsize) run * sym;   /* 0, 1 or 2 bytes each */
          seen += run;
        }
      else
        {
          gboolean two = (c & 0x4000) != 0;
          guint n = two ? 7 : 14;
          for (guint i = 0; i < n && seen < count; i++, seen++)
            {
              guint sym = two ? (c >> (12 - 2 * i)) & 3 : (c >> (13 - i)) & 1;
              if (sym == 3)
                return FALSE;
              deltas_len += sym;
            }
        }
    }
  chunks_end = off;
  if (deltas_len > len - chunks_end)
    return FALSE;

  /* Pass 2: the arrivals. */
  {
    gint64 t = (gint64) ref * 64000;
    gsize d = chunks_end;
    guint idx = 0;

    off = 8;
    while (idx < count)
      {
        guint16 c = bf_read_be16 (fci + off);
        guint n, run_sym = 0;
        gboolean run;

        off += 2;
        run = !(c & 0x8000);
        if (run)
          {
            run_sym = (c >> 13) & 3;
            n = MIN ((guint) (c & 0x1fff), count - idx);
          }
        else
          n = MIN ((c & 0x4000) ? 7u : 14u, count - idx);
        for (guint i = 0; i < n; i++, idx++)
          {
            guint sym;
            if (run)
              sym = run_sym;
            else if (c & 0x4000)
              sym = (c >> (12 - 2 * i)) & 3;
            else
              sym = (c >> (13 - i)) & 1;
            if (sym == 1)
              t += (gint64) fci[d++] * 250;
            else if (sym == 2)
              {
                t += (gint64) (gint16) bf_read_be16 (fci + d) * 250;
                d += 2;
              }
            if (fb->n_twcc == CF_FB_TWCC_MAX)
              {
                fb->truncated++;
                continue;
              }
            fb->twcc[fb->n_twcc].seq = (guint16) (base + idx);
            fb->twcc[fb->n_twcc].received = sym != 0;
            fb->twcc[fb->n_twcc++].arrival_us = sym != 0 ? t : 0;
          }
      }
  }
  fb->n_twcc_feedbacks++;
  fb->twcc_fb_count = fci[7];
  return TRUE;
}

gboolean
cf_rtcp_feedback_read (const guint8 *d, gsize len, CfFeedback *fb)
{
  CfRtcpWalk walk;
  CfRtcpPacket pk;
  gint r;

  memset (fb, 0, sizeof *fb);
  cf_rtcp_walk_init (&walk, d, len);
  while ((r = cf_rtcp_walk_next (&walk, &pk)) > 0)
    {
      guint8 fmt = pk.count, pt = pk.pt;
      gsize body = pk.body;
      const guint8 *p = pk.data;
      gboolean ok = TRUE;

      fb->packets++;
      if (pt != PT_RTPFB && pt != PT_PSFB)
        continue;
      /* RFC 4585 §6.1: header, SSRC of packet sender, SSRC of media source, FCI. */
      if (body < 12)
        {
          fb->malformed++;
          continue;
        }
      {
        guint32 media = bf_read_be32 (p + 8);
        const guint8 *fci = p + 12;
        gsize fci_len = body - 12;

        if (pt == PT_RTPFB && fmt == 1)
          ok = read_nack (media, fci, fci_len, fb);
        else if (pt == PT_RTPFB && fmt == 15)
          ok = read_twcc (fci, fci_len, fb);
        else if (pt == PT_PSFB && fmt == 1)
          {
            /* §6.3.1: PLI has no FCI. */
            ok = fci_len == 0;
            if (ok && fb->n_plis < CF_FB_PLI_MAX)
              fb->plis[fb->n_plis++] = media;
            else if (ok)
              fb->truncated++;
          }
        else if (pt == PT_PSFB && fmt == 4)
          ok = read_fir (fci, fci_len, fb);
        else if (pt == PT_PSFB && fmt == 15)
          ok = read_remb (fci, fci_len, fb) != 0;
      }
      if (!ok)
        fb->malformed++;
    }
  return r == 0;
}

gboolean
cf_fir_history_is_new (CfFirHistory *h, const CfFirEntry *e)
{
  for (guint i = 0; i < h->n; i++)
    if (h->seen[i].ssrc == e->ssrc)
      {
        if (h->seen[i].seq == e->seq)
          return FALSE;
        h->seen[i].seq = e->seq;
        return TRUE;
      }
  /* A new SSRC: the oldest entry gives way when full. */
  if (h->n == CF_FIR_HISTORY_MAX)
    {
      memmove (&h->seen[0], &h->seen[1], sizeof h->seen[0] * (CF_FIR_HISTORY_MAX - 1));
      h->n--;
    }
  h->seen[h->n].ssrc = e->ssrc;
  h->seen[h->n++].seq = e->seq;
  return TRUE;
}

static void
put_fb_header (guint8 *out, guint8 fmt, guint8 pt, gsize len, guint32 sender, guint32 media)
{
  out[0] = (guint8) (0x80 | fmt);
  out[1] = pt;
  bf_write_be16 (out + 2, (guint16) (len / 4 - 1));
  bf_write_be32 (out + 4, sender);
  bf_write_be32 (out + 8, media);
}

gsize
cf_rtcp_build_pli (guint32 sender_ssrc, guint32 media_ssrc, guint8 *out, gsize size)
{
  if (size < CF_RTCP_PLI_LEN)
    return 0;
  put_fb_header (out, 1, PT_PSFB, CF_RTCP_PLI_LEN, sender_ssrc, media_ssrc);
  return CF_RTCP_PLI_LEN;
}

gsize
cf_rtcp_build_fir (guint32 sender_ssrc, guint32 media_ssrc, guint8 seq, guint8 *out, gsize size)
{
  if (size < CF_RTCP_FIR_LEN)
    return 0;
  /* RFC 5104 §4.3.1.2: the media source SSRC field is 0; the FCI names it. */
  put_fb_header (out, 4, PT_PSFB, CF_RTCP_FIR_LEN, sender_ssrc, 0);
  bf_write_be32 (out + 12, media_ssrc);
  out[16] = seq;
  out[17] = out[18] = out[19] = 0;
  return CF_RTCP_FIR_LEN;
}

gsize
cf_rtcp_build_nack (guint32 sender_ssrc, guint32 media_ssrc, const guint16 *seqs, guint n,
                    guint8 *out, gsize size)
{
  guint items = 0, max_items;
  gsize len;

  if (size < 16)
    return 0;
  max_items = (guint) MIN ((size - 12) / 4, (gsize) 0x4000);
  for (guint i = 0; i < n; i++)
    {
      gboolean placed = FALSE;
      for (guint k = 0; k < items && !placed; k++)
        {
          guint8 *it = out + 12 + 4 * k;
          guint16 off = (guint16) (seqs[i] - bf_read_be16 (it));
          if (off == 0)
            placed = TRUE;
          else if (off <= 16)
            {
              bf_write_be16 (it + 2, (guint16) (bf_read_be16 (it + 2) | (1u << (off - 1))));
              placed = TRUE;
            }
        }
      if (placed || items == max_items)
        continue;
      bf_write_be16 (out + 12 + 4 * items, seqs[i]);
      bf_write_be16 (out + 14 + 4 * items, 0);
      items++;
    }
  if (items == 0)
    return 0;
  len = 12 + 4 * (gsize) items;
  put_fb_header (out, 1, PT_RTPFB, len, sender_ssrc, media_ssrc);
  return len;
}
