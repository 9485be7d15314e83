#define G_LOG_DOMAIN "belfry-echo"
/* RTP SSRC rewriting and RTCP translation for the echo (rtp-rewrite.h). */
#include <string.h>

#include "rtp-rewrite.h"

#define GEN_TRIES 8

#define RTCP_SR 200
#define RTCP_RR 201
#define RTCP_SDES 202
#define RTCP_BYE 203
#define RTCP_APP 204
#define RTCP_RTPFB 205
#define RTCP_PSFB 206
#define RTCP_PT_MIN 192                  /* RFC 5761 §4 */
#define RTCP_PT_MAX 223

#define RTCP_HEADER_LEN 4
#define RTCP_SR_LEN 28                   /* header, SSRC, sender info */
#define RTCP_REPORT_BLOCK_LEN 24
#define RTCP_FB_LEN 12                   /* header, sender SSRC, media SSRC */

#define FMT_NACK 1
#define FMT_TWCC 15
#define FMT_PLI 1
#define FMT_FIR 4
#define FMT_AFB 15
#define FIR_ENTRY_LEN 8                  /* SSRC, seq nr, reserved */
#define REMB_LEN 20                      /* FB header, "REMB", num, exp/mantissa */
#define TWCC_FIXED_LEN 8                 /* base seq, count, ref time, fb count */

/* What a per-packet translator returns when the packet is malformed. */
#define MALFORMED G_MAXSIZE

static inline gsize
round4 (gsize n)
{
  return (n + 3) & ~(gsize) 3;
}

/* --- the map --- */

static guint
map_len (const EcSsrcMap *map)
{
  return MIN (map->n, (guint) EC_MAX_SSRCS);
}

gboolean
ec_ssrc_map_add (EcSsrcMap *map, guint32 remote, guint32 local)
{
  g_return_val_if_fail (map != NULL, FALSE);
  guint n = map_len (map);
  for (guint i = 0; i < n; i++)
    if (map->pairs[i].remote == remote && map->pairs[i].local == local)
      return TRUE;
  if (local == 0 || local == remote || n >= EC_MAX_SSRCS)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      const EcSsrcPair *p = &map->pairs[i];
      if (p->remote == remote || p->local == local || p->remote == local || p->local == remote)
        return FALSE;
    }
  map->pairs[n].remote = remote;
  map->pairs[n].local = local;
  map->n = n + 1;
  return TRUE;
}

gboolean
ec_ssrc_map_to_local (const EcSsrcMap *map, guint32 remote, guint32 *local)
{
  g_return_val_if_fail (map != NULL, FALSE);
  guint n = map_len (map);
  for (guint i = 0; i < n; i++)
    if (map->pairs[i].remote == remote)
      {
        if (local)
          *local = map->pairs[i].local;
        return TRUE;
      }
  return FALSE;
}

gboolean
ec_ssrc_map_to_remote (const EcSsrcMap *map, guint32 local, guint32 *remote)
{
  g_return_val_if_fail (map != NULL, FALSE);
  guint n = map_len (map);
  for (guint i = 0; i < n; i++)
    if (map->pairs[i].local == local)
      {
        if (remote)
          *remote = map->pairs[i].remote;
        return TRUE;
      }
  return FALSE;
}

/* --- RTP --- */

gboolean
ec_rtp_rewrite_parsed (guint8 *pkt, BfRtpHeader *rtp, EcSsrcMap *map, gboolean add_unknown,
                       EcSsrcGenerator gen, gpointer gen_data)
{
  g_return_val_if_fail (map != NULL && pkt != NULL && rtp != NULL, FALSE);
  guint32 local = 0;
  if (!ec_ssrc_map_to_local (map, rtp->ssrc, &local))
    {
      if (!add_unknown || gen == NULL)
        return FALSE;
      gboolean added = FALSE;
      for (guint i = 0; i < GEN_TRIES && !added && map_len (map) < EC_MAX_SSRCS; i++)
        {
          local = gen (gen_data);
          added = ec_ssrc_map_add (map, rtp->ssrc, local);
        }
      if (!added)
        return FALSE;
    }
  bf_rtp_set_ssrc (pkt, rtp, local);
  return TRUE;
}

gboolean
ec_rtp_rewrite (guint8 *pkt, gsize len, EcSsrcMap *map, gboolean add_unknown,
                EcSsrcGenerator gen, gpointer gen_data)
{
  g_return_val_if_fail (map != NULL, FALSE);
  g_return_val_if_fail (pkt != NULL || len == 0, FALSE);
  BfRtpHeader rtp;
  if (!bf_rtp_header_parse (pkt, len, &rtp))
    return FALSE;
  return ec_rtp_rewrite_parsed (pkt, &rtp, map, add_unknown, gen, gen_data);
}

/* --- RTCP --- */

/* Each translator gets one packet @p of @n bytes (padding already removed,
 * n >= 4) and writes its translation to @out: never more than round4(n)
 * bytes, header included, length fixed.  Returns the bytes written (0 when
 * the packet is dropped) or MALFORMED. */

static gsize
finish (guint8 *out, guint8 count, guint8 pt, gsize w)
{
  /* w is a multiple of 4 (callers pad) and at most 65536 * 4 (w <= n). */
  out[0] = (guint8) (0x80 | (count & 0x1F));
  out[1] = pt;
  bf_write_be16 (out + 2, (guint16) (w / 4 - 1));
  return w;
}

static gsize
rtcp_sr (const guint8 *p, gsize n, const EcSsrcMap *map, guint8 *out)
{
  gsize rc = p[0] & 0x1F;
  if (n < RTCP_SR_LEN + rc * RTCP_REPORT_BLOCK_LEN)
    return MALFORMED;
  guint32 local;
  if (!ec_ssrc_map_to_local (map, bf_read_be32 (p + 4), &local))
    return 0;
  bf_write_be32 (out + 4, local);
  memcpy (out + 8, p + 8, RTCP_SR_LEN - 8);
  return finish (out, 0, RTCP_SR, RTCP_SR_LEN);
}

static gsize
rtcp_rr (const guint8 *p, gsize n)
{
  gsize rc = p[0] & 0x1F;
  gsize need = rc ? 8 + rc * RTCP_REPORT_BLOCK_LEN : RTCP_HEADER_LEN;
  return n < need ? MALFORMED : 0;
}

/* RFC 3550 §6.5: chunks of SSRC and items, each item list ended by a null
 * octet and padded to the next 32-bit boundary; SC chunks fill the packet. */
static gsize
rtcp_sdes (const guint8 *p, gsize n, const EcSsrcMap *map, guint8 *out)
{
  guint sc = p[0] & 0x1F, kept = 0;
  gsize q = RTCP_HEADER_LEN, w = RTCP_HEADER_LEN;
  for (guint c = 0; c < sc; c++)
    {
      gsize start = q;
      if (n - q < 4)
        return MALFORMED;
      q += 4;
      for (;;)
        {
          if (q >= n)
            return MALFORMED;   /* no null item */
          if (p[q] == 0)
            {
              q = round4 (q + 1);
              if (q > n)
                return MALFORMED;
              break;
            }
          if (n - q < 2 || p[q + 1] > n - q - 2)
            return MALFORMED;
          q += 2 + (gsize) p[q + 1];
        }
      guint32 local;
      if (ec_ssrc_map_to_local (map, bf_read_be32 (p + start), &local))
        {
          memcpy (out + w, p + start, q - start);
          bf_write_be32 (out + w, local);
          w += q - start;
          kept++;
        }
    }
  if (q != n)
    return MALFORMED;
  return kept ? finish (out, (guint8) kept, RTCP_SDES, w) : 0;
}

/* RFC 3550 §6.6: SC SSRCs, then an optional reason (length octet, text)
 * padded to 32 bits. */
static gsize
rtcp_bye (const guint8 *p, gsize n, const EcSsrcMap *map, guint8 *out)
{
  gsize sc = p[0] & 0x1F;
  gsize q = RTCP_HEADER_LEN + 4 * sc;
  if (q > n)
    return MALFORMED;
  gsize rest = n - q;
  if (rest > 0 && (1 + (gsize) p[q] > rest || rest - 1 - p[q] > 3))
    return MALFORMED;
  guint kept = 0;
  gsize w = RTCP_HEADER_LEN;
  for (gsize i = 0; i < sc; i++)
    {
      guint32 local;
      if (ec_ssrc_map_to_local (map, bf_read_be32 (p + RTCP_HEADER_LEN + 4 * i), &local))
        {
          bf_write_be32 (out + w, local);
          w += 4;
          kept++;
        }
    }
  if (!kept)
    return 0;
  /* RFC 3550 §6.6: the reason (its length octet and text), then zero
   * padding to the next 32-bit boundary; whatever else the input had
   * there (up to 3 octets were let through above) is not copied: the
   * output must read back the same. */
  if (rest > 0)
    {
      gsize reason = 1 + (gsize) p[q];
      memcpy (out + w, p + q, reason);
      memset (out + w + reason, 0, round4 (reason) - reason);
      w += round4 (reason);
    }
  return finish (out, (guint8) kept, RTCP_BYE, w);
}

/* draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1: the FCI holds
 * the fixed fields, packet status chunks covering "packet status count"
 * packets, one receive delta per received packet (1 or 2 octets as its
 * symbol says), then zero padding to 32 bits. */
static gboolean
twcc_valid (const guint8 *f, gsize n)
{
  if (n < TWCC_FIXED_LEN)
    return FALSE;
  guint count = bf_read_be16 (f + 2), seen = 0;
  if (count == 0)
    return FALSE;
  gsize q = TWCC_FIXED_LEN, deltas = 0;
  while (seen < count)
    {
      if (n - q < 2)
        return FALSE;
      guint16 chunk = bf_read_be16 (f + q);
      q += 2;
      if (!(chunk & 0x8000))
        {
          /* run length: symbol, 13-bit run */
          guint sym = (chunk >> 13) & 3;
          guint run = MIN ((guint) (chunk & 0x1FFF), count - seen);
          if (sym == 3 && run > 0)
            return FALSE;
          deltas += (gsize) run * sym;
          seen += run;
        }
      else if (!(chunk & 0x4000))
        {
          /* status vector of 14 one-bit symbols */
          for (guint i = 0; i < 14 && seen < count; i++, seen++)
            deltas += (chunk >> (13 - i)) & 1;
        }
      else
        {
          /* status vector of 7 two-bit symbols */
          for (guint i = 0; i < 7 && seen < count; i++, seen++)
            {
              guint sym = (chunk >> (12 - 2 * i)) & 3;
              if (sym == 3)
                return FALSE;
              deltas += sym;
            }
        }
    }
  if (deltas > n - q)
    return FALSE;
  /* Only padding may follow, and only up to the next 32-bit boundary
   * (the FCI starts aligned): a sender's RTCP padding (P bit) that was
   * stripped and replaced by zeros must stay valid when read again. */
  return n <= round4 (q + deltas);
}

/* Maps a feedback header's media source SSRC local -> remote; 0 stays 0
 * when @zero_ok (the format leaves the field unused). */
static gboolean
fb_media (guint32 media, gboolean zero_ok, const EcSsrcMap *map, guint32 *remote)
{
  if (media == 0 && zero_ok)
    {
      *remote = 0;
      return TRUE;
    }
  return ec_ssrc_map_to_remote (map, media, remote);
}

/* Copies @n - 12 FCI octets of @p after the header and pads to 32 bits. */
static gsize
fb_copy_fci (const guint8 *p, gsize n, guint8 *out)
{
  gsize fci = n - RTCP_FB_LEN;
  memcpy (out + RTCP_FB_LEN, p + RTCP_FB_LEN, fci);
  memset (out + RTCP_FB_LEN + fci, 0, round4 (fci) - fci);
  return RTCP_FB_LEN + round4 (fci);
}

/* RFC 4585 §6.1 (RTPFB 205, PSFB 206): header, sender SSRC, media SSRC,
 * FCI. */
static gsize
rtcp_fb (const guint8 *p, gsize n, const EcSsrcMap *map, guint8 *out)
{
  if (n < RTCP_FB_LEN)
    return MALFORMED;
  guint8 pt = p[1], fmt = p[0] & 0x1F;
  gsize fci = n - RTCP_FB_LEN;
  const guint8 *f = p + RTCP_FB_LEN;
  enum { FB_OTHER, FB_PLAIN, FB_FIR, FB_REMB } kind = FB_OTHER;
  gboolean zero_ok = FALSE;

  if (pt == RTCP_RTPFB && fmt == FMT_NACK)
    {
      /* RFC 4585 §6.2.1: at least one 4-octet PID/BLP entry */
      if (fci == 0 || fci % 4 != 0)
        return MALFORMED;
      kind = FB_PLAIN;
    }
  else if (pt == RTCP_RTPFB && fmt == FMT_TWCC)
    {
      if (!twcc_valid (f, fci))
        return MALFORMED;
      kind = FB_PLAIN;
      zero_ok = TRUE;
    }
  else if (pt == RTCP_PSFB && fmt == FMT_PLI)
    {
      /* RFC 4585 §6.3.1: no FCI, length 2 */
      if (fci != 0)
        return MALFORMED;
      kind = FB_PLAIN;
    }
  else if (pt == RTCP_PSFB && fmt == FMT_FIR)
    {
      /* RFC 5104 §4.3.1.1: one or more 8-octet entries */
      if (fci == 0 || fci % FIR_ENTRY_LEN != 0)
        return MALFORMED;
      kind = FB_FIR;
      zero_ok = TRUE;
    }
  else if (pt == RTCP_PSFB && fmt == FMT_AFB && fci >= 4 && memcmp (f, "REMB", 4) == 0)
    {
      /* draft-alvestrand-rmcat-remb-03 §2.2: "REMB", Num SSRC, BR Exp and
       * Mantissa, Num SSRC SSRCs, nothing else */
      if (n < REMB_LEN || n != REMB_LEN + 4 * (gsize) p[16])
        return MALFORMED;
      kind = FB_REMB;
      zero_ok = TRUE;
    }
  if (kind == FB_OTHER)
    return 0;

  guint32 sender, media;
  if (!ec_ssrc_map_to_local (map, bf_read_be32 (p + 4), &sender))
    {
      if (map_len (map) == 0)
        return 0;
      sender = map->pairs[0].local;
    }
  if (!fb_media (bf_read_be32 (p + 8), zero_ok, map, &media))
    return 0;
  bf_write_be32 (out + 4, sender);
  bf_write_be32 (out + 8, media);

  gsize w = RTCP_FB_LEN;
  guint32 remote;
  switch (kind)
    {
    case FB_PLAIN:
      w = fb_copy_fci (p, n, out);
      break;
    case FB_FIR:
      for (gsize i = 0; i < fci; i += FIR_ENTRY_LEN)
        if (ec_ssrc_map_to_remote (map, bf_read_be32 (f + i), &remote))
          {
            memcpy (out + w, f + i, FIR_ENTRY_LEN);
            bf_write_be32 (out + w, remote);
            w += FIR_ENTRY_LEN;
          }
      if (w == RTCP_FB_LEN)
        return 0;
      break;
    case FB_REMB:
      w = REMB_LEN;
      for (gsize i = REMB_LEN; i < n; i += 4)
        if (ec_ssrc_map_to_remote (map, bf_read_be32 (p + i), &remote))
          {
            bf_write_be32 (out + w, remote);
            w += 4;
          }
      if (w == REMB_LEN)
        return 0;
      memcpy (out + 12, p + 12, 8);
      out[16] = (guint8) ((w - REMB_LEN) / 4);
      break;
    case FB_OTHER:
    default:
      g_assert_not_reached ();
    }
  return finish (out, fmt, pt, w);
}

static gsize
rtcp_one (const guint8 *p, gsize n, const EcSsrcMap *map, guint8 *out)
{
  switch (p[1])
    {
    case RTCP_SR:
      return rtcp_sr (p, n, map, out);
    case RTCP_RR:
      return rtcp_rr (p, n);
    case RTCP_SDES:
      return rtcp_sdes (p, n, map, out);
    case RTCP_BYE:
      return rtcp_bye (p, n, map, out);
    case RTCP_APP:
      /* RFC 3550 §6.7: header, SSRC, name */
      return n < 12 ? MALFORMED : 0;
    case RTCP_RTPFB:
    case RTCP_PSFB:
      return rtcp_fb (p, n, map, out);
    default:
      return (p[1] < RTCP_PT_MIN || p[1] > RTCP_PT_MAX) ? MALFORMED : 0;
    }
}

gsize
ec_rtcp_translate (const guint8 *in, gsize len, EcSsrcMap *map, guint8 *out, gsize out_cap)
{
  g_return_val_if_fail (map != NULL, 0);
  g_return_val_if_fail (in != NULL || len == 0, 0);
  g_return_val_if_fail (out != NULL || out_cap == 0, 0);
  g_return_val_if_fail (out_cap >= len, 0);

  /* Output never overtakes input: each packet's translation is at most
   * its own length, so out + o never passes out + pos <= out + out_cap. */
  gsize pos = 0, o = 0;
  if (len == 0)
    return 0;
  while (pos < len)
    {
      const guint8 *p = in + pos;
      if (len - pos < RTCP_HEADER_LEN || (p[0] >> 6) != 2)
        return 0;
      gsize plen = ((gsize) bf_read_be16 (p + 2) + 1) * 4;
      if (plen > len - pos)
        return 0;
      gsize n = plen;
      if (p[0] & 0x20)
        {
          /* RFC 3550 §6.4.1: only the last packet may be padded. */
          gsize pad = p[plen - 1];
          if (pos + plen != len || pad == 0 || pad > plen - RTCP_HEADER_LEN)
            return 0;
          n = plen - pad;
        }
      gsize w = rtcp_one (p, n, map, out + o);
      if (w == MALFORMED)
        return 0;
      g_assert (w <= plen && w % 4 == 0);
      o += w;
      pos += plen;
    }
  return o;
}
