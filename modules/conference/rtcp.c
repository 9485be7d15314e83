/* conference — RTCP statistics, reports and their reading (rtcp.h). */
#include <string.h>

#include "rtcp.h"

/* Seconds between 1900 (NTP) and 1970 (Unix). */
#define NTP_UNIX_OFFSET 2208988800u

/* RFC 3550 A.1 */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

static void
stats_start (CfRecvStats *s, guint32 ssrc, guint16 seq)
{
  memset (s, 0, sizeof *s);
  s->started = TRUE;
  s->ssrc = ssrc;
  s->base_seq = seq;
  s->max_seq = seq;
}

void
cf_recv_stats_update (CfRecvStats *s, guint32 ssrc, guint16 seq, guint32 timestamp,
                      gint64 arrival, guint clock_rate)
{
  gint64 arrival_units = arrival * clock_rate / G_USEC_PER_SEC;
  gint64 transit = arrival_units - (gint64) timestamp;

  if (!s->started || s->ssrc != ssrc)
    stats_start (s, ssrc, seq);
  else
    {
      guint16 udelta = (guint16) (seq - s->max_seq);
      if (udelta < MAX_DROPOUT)
        {
          if (seq < s->max_seq)
            s->cycles += 65536;
          s->max_seq = seq;
        }
      else if (udelta <= 65536 - MAX_MISORDER)
        {
          /* A jump: the sender restarted its sequence.  Keep its SR. */
          guint32 lsr = s->lsr;
          gint64 lsr_arrival = s->lsr_arrival;
          stats_start (s, ssrc, seq);
          s->lsr = lsr;
          s->lsr_arrival = lsr_arrival;
        }
      /* else: a duplicate or a late packet (counted below, as A.1 does) */
      if (s->received > 0)
        {
          gint64 d = transit - s->transit;
          /* A timestamp wrap is not jitter. */
          if (d > G_MAXINT32 || d < -(gint64) G_MAXINT32)
            d = 0;
          s->jitter += ((double) ABS (d) - s->jitter) / 16.0;
        }
    }
  s->transit = transit;
  s->received++;
}

void
cf_recv_stats_sender_report (CfRecvStats *s, guint32 ntp_sec, guint32 ntp_frac, gint64 arrival)
{
  s->lsr = (ntp_sec << 16) | (ntp_frac >> 16);
  s->lsr_arrival = arrival;
}

/* RFC 3550 §6.4.1 / A.3 */
static void
put_block (CfRecvStats *s, guint8 *b, gint64 now)
{
  guint32 extended_max = s->cycles + s->max_seq;
  gint64 expected = (gint64) extended_max - s->base_seq + 1;
  gint64 lost = expected - (gint64) s->received;
  gint64 expected_interval = expected - (gint64) s->expected_prior;
  gint64 received_interval = (gint64) s->received - (gint64) s->received_prior;
  gint64 lost_interval = expected_interval - received_interval;
  guint8 fraction = 0;
  guint32 dlsr = 0;

  s->expected_prior = (guint64) MAX (expected, 0);
  s->received_prior = s->received;
  if (expected_interval > 0 && lost_interval > 0)
    fraction = (guint8) MIN (255, (lost_interval << 8) / expected_interval);
  lost = CLAMP (lost, -0x800000, 0x7fffff);   /* 24-bit signed */
  if (s->lsr != 0 && now >= s->lsr_arrival)
    dlsr = (guint32) MIN ((guint64) G_MAXUINT32,
                          (guint64) (now - s->lsr_arrival) * 65536 / G_USEC_PER_SEC);

  bf_write_be32 (b, s->ssrc);
  b[4] = fraction;
  b[5] = (guint8) ((lost >> 16) & 0xff);
  b[6] = (guint8) ((lost >> 8) & 0xff);
  b[7] = (guint8) (lost & 0xff);
  bf_write_be32 (b + 8, extended_max);
  bf_write_be32 (b + 12, (guint32) MIN (s->jitter, (double) G_MAXUINT32));
  bf_write_be32 (b + 16, s->lsr);
  bf_write_be32 (b + 20, dlsr);
}

void
cf_report_set_sender (CfReport *report, guint32 last_ts, gint64 last_sent, guint clock,
                      guint64 packets, guint64 octets, gint64 now)
{
  gint64 real = g_get_real_time ();

  report->sender = TRUE;
  report->ntp_sec = (guint32) (real / G_USEC_PER_SEC) + NTP_UNIX_OFFSET;
  report->ntp_frac = (guint32) (((guint64) (real % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC);
  report->rtp_timestamp = last_ts + (guint32) (MAX (0, now - last_sent) * clock / G_USEC_PER_SEC);
  /* RFC 3550 §6.4.1: the counts wrap. */
  report->packets = (guint32) packets;
  report->octets = (guint32) octets;
}

gsize
cf_rtcp_build_report (const CfReport *r, guint8 *out, gsize size)
{
  gsize cname_len = r->cname != NULL ? MIN (strlen (r->cname), 255) : 0;
  gboolean block = r->stats != NULL && r->stats->started;
  gsize first = (r->sender ? 28 : 8) + (block ? 24 : 0);
  gsize sdes = 8 + 2 + cname_len + 1;
  gsize n;

  sdes = (sdes + 3) & ~(gsize) 3;
  if (size < first + sdes)
    return 0;
  memset (out, 0, first + sdes);
  out[0] = (guint8) (0x80 | (block ? 1 : 0));
  out[1] = r->sender ? 200 : 201;
  bf_write_be16 (out + 2, (guint16) (first / 4 - 1));
  bf_write_be32 (out + 4, r->ssrc);
  n = 8;
  if (r->sender)
    {
      bf_write_be32 (out + 8, r->ntp_sec);
      bf_write_be32 (out + 12, r->ntp_frac);
      bf_write_be32 (out + 16, r->rtp_timestamp);
      bf_write_be32 (out + 20, r->packets);
      bf_write_be32 (out + 24, r->octets);
      n = 28;
    }
  if (block)
    {
      put_block (r->stats, out + n, r->now);
      n += 24;
    }
  /* SDES (RFC 3550 §6.5): one chunk, CNAME, END, padded to 32 bits. */
  out[n] = 0x81;
  out[n + 1] = 202;
  bf_write_be16 (out + n + 2, (guint16) (sdes / 4 - 1));
  bf_write_be32 (out + n + 4, r->ssrc);
  out[n + 8] = 1;
  out[n + 9] = (guint8) cname_len;
  if (cname_len > 0)
    memcpy (out + n + 10, r->cname, cname_len);
  return first + sdes;
}

void
cf_rtcp_walk_init (CfRtcpWalk *walk, const guint8 *data, gsize len)
{
  walk->data = data;
  walk->len = len;
  walk->off = 0;
  walk->packets = 0;
}

gint
cf_rtcp_walk_next (CfRtcpWalk *walk, CfRtcpPacket *packet)
{
  const guint8 *p = walk->data + walk->off;
  gsize left = walk->len - walk->off, plen, body;

  if (walk->off >= walk->len || walk->packets >= CF_RTCP_MAX_PACKETS)
    return 0;
  if (left < 4 || (p[0] >> 6) != 2)
    return -1;
  plen = ((gsize) bf_read_be16 (p + 2) + 1) * 4;
  if (plen > left)
    return -1;
  body = plen;
  if (p[0] & 0x20)
    {
      /* RFC 3550 §6.4.1: the last octet counts the padding, itself included. */
      guint8 pad = p[plen - 1];
      if (pad == 0 || pad > plen - 4)
        return -1;
      body = plen - pad;
    }
  packet->count = p[0] & 0x1f;
  packet->pt = p[1];
  packet->data = p;
  packet->len = plen;
  packet->body = body;
  walk->off += plen;
  walk->packets++;
  return 1;
}

gboolean
cf_rtcp_read (const guint8 *d, gsize len, guint32 our_ssrc, CfRtcpInfo *info)
{
  CfRtcpWalk walk;
  CfRtcpPacket pk;
  gint r;

  memset (info, 0, sizeof *info);
  cf_rtcp_walk_init (&walk, d, len);
  while ((r = cf_rtcp_walk_next (&walk, &pk)) > 0)
    {
      gsize blocks = 0;

      info->packets++;
      if (pk.pt == 200 && pk.body >= 28)
        {
          if (!info->has_sr)
            {
              info->has_sr = TRUE;
              info->sr_ssrc = bf_read_be32 (pk.data + 4);
              info->sr_ntp_sec = bf_read_be32 (pk.data + 8);
              info->sr_ntp_frac = bf_read_be32 (pk.data + 12);
            }
          blocks = 28;
        }
      else if (pk.pt == 201 && pk.body >= 8)
        blocks = 8;
      for (guint i = 0; blocks != 0 && i < pk.count && blocks + 24 * (i + 1) <= pk.body; i++)
        {
          const guint8 *b = pk.data + blocks + 24 * i;
          if (bf_read_be32 (b) == our_ssrc)
            {
              info->has_loss = TRUE;
              info->loss_percent = (guint) b[4] * 100 / 256;
              info->jitter = bf_read_be32 (b + 12);
            }
        }
    }
  return r == 0;
}
