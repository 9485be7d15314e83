/* RTCP SDES and APP between the legs of a relayed call (rtcp-privacy.h). */
#include <string.h>
#include <belfry/packet.h>

#include "rtcp-privacy.h"

#define PT_SDES 202
#define PT_APP 204
#define SDES_END 0
#define SDES_CNAME 1

/* One packet of a compound: its header's fields, and its length in bytes
 * (header included); FALSE when it does not fit in what is left. */
static gboolean
packet_at (const guint8 *p, gsize left, guint *pt, gsize *plen)
{
  if (left < 4 || (p[0] >> 6) != 2)
    return FALSE;
  *pt = p[1];
  *plen = 4 * ((gsize) bf_read_be16 (p + 2) + 1);
  return *plen <= left;
}

gboolean
call_rtcp_needs_privacy (const guint8 *data, gsize len)
{
  gsize off = 0;
  while (off < len)
    {
      guint pt;
      gsize plen;
      if (!packet_at (data + off, len - off, &pt, &plen))
        return TRUE;   /* malformed: let the rewrite refuse it */
      if (pt == PT_SDES || pt == PT_APP)
        return TRUE;
      off += plen;
    }
  return FALSE;
}

/* Rewrites one SDES packet (@p, @plen bytes) into @out; returns the bytes
 * written (0: no chunk had a CNAME, the packet goes), or -1 when it is
 * malformed or @out is too small. */
static gssize
rewrite_sdes (const guint8 *p, gsize plen, const char *cname, gsize cname_len, guint8 *out,
              gsize out_size, CallRtcpPrivacyStats *stats)
{
  gsize end = plen;
  if (p[0] & 0x20)
    {
      /* RFC 3550 §6.4.1: the last octet counts the padding, itself included. */
      guint pad = p[plen - 1];
      if (pad == 0 || pad > plen - 4)
        return -1;
      end -= pad;
    }
  guint count = p[0] & 0x1f;
  gsize in = 4, o = 4;
  guint kept = 0;
  for (guint c = 0; c < count; c++)
    {
      if (in + 4 > end)
        return -1;
      guint32 ssrc;
      memcpy (&ssrc, p + in, 4);
      in += 4;
      gboolean has_cname = FALSE;
      for (;;)
        {
          if (in >= end)
            return -1;
          guint type = p[in];
          if (type == SDES_END)
            break;
          if (in + 2 > end || in + 2 + p[in + 1] > end)
            return -1;
          if (type == SDES_CNAME)
            has_cname = TRUE;
          else if (stats)
            stats->sdes_items_dropped++;
          in += 2 + p[in + 1];
        }
      /* The null item, then nulls to the next 32-bit boundary (§6.5). */
      in++;
      in = (in + 3) & ~(gsize) 3;
      if (in > end)
        return -1;
      if (!has_cname)
        continue;
      gsize chunk = 4 + 2 + cname_len;
      gsize padded = (chunk + 1 + 3) & ~(gsize) 3;
      if (o + padded > out_size)
        return -1;
      memcpy (out + o, &ssrc, 4);
      out[o + 4] = SDES_CNAME;
      out[o + 5] = (guint8) cname_len;
      memcpy (out + o + 6, cname, cname_len);
      memset (out + o + chunk, 0, padded - chunk);
      o += padded;
      kept++;
    }
  if (kept == 0)
    return 0;
  out[0] = (guint8) (0x80 | kept);   /* V=2, no padding */
  out[1] = PT_SDES;
  bf_write_be16 (out + 2, (guint16) (o / 4 - 1));
  return (gssize) o;
}

gsize
call_rtcp_privacy (const guint8 *data, gsize len, const char *cname, guint8 *out,
                   gsize out_size, CallRtcpPrivacyStats *stats)
{
  gsize cname_len = cname ? strlen (cname) : 0;
  if (len > CALL_RTCP_MAX || cname_len == 0 || cname_len > 255)
    goto malformed;
  gsize off = 0, o = 0;
  while (off < len)
    {
      guint pt;
      gsize plen;
      if (!packet_at (data + off, len - off, &pt, &plen))
        goto malformed;
      if (pt == PT_APP)
        {
          if (stats)
            stats->app_dropped++;
        }
      else if (pt == PT_SDES)
        {
          gssize n = rewrite_sdes (data + off, plen, cname, cname_len, out + o, out_size - o,
                                   stats);
          if (n < 0)
            goto malformed;
          o += (gsize) n;
        }
      else
        {
          if (o + plen > out_size)
            goto malformed;
          memcpy (out + o, data + off, plen);
          o += plen;
        }
      off += plen;
    }
  return o;

malformed:
  if (stats)
    stats->malformed++;
  return 0;
}
