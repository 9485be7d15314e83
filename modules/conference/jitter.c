#include "jitter.h"

#include <string.h>

void
cf_jitter_init (CfJitter *jb, guint depth_ms)
{
  memset (jb, 0, sizeof *jb);
  jb->depth = depth_ms * 48;
  jb->max_ahead = (depth_ms + CF_JITTER_MAX_EXTRA_MS) * 48;
  jb->slots = g_new (CfJitterPacket, CF_JITTER_MAX_PACKETS);
  for (guint i = 0; i < CF_JITTER_MAX_PACKETS; i++)
    jb->spare[i] = &jb->slots[i];
  jb->n_spare = CF_JITTER_MAX_PACKETS;
}

void
cf_jitter_clear (CfJitter *jb)
{
  g_clear_pointer (&jb->slots, g_free);
  jb->n = jb->n_spare = 0;
}

/* Drops the oldest buffered packet, remembering it as the last played. */
static void
drop_oldest (CfJitter *jb)
{
  CfJitterPacket *p = jb->order[0];
  jb->have_last = TRUE;
  jb->last_seq = p->seq;
  jb->last_dtx = p->info.dtx;
  memmove (&jb->order[0], &jb->order[1], (jb->n - 1) * sizeof jb->order[0]);
  jb->n--;
  jb->spare[jb->n_spare++] = p;
}

static void
anchor (CfJitter *jb, guint32 ts)
{
  jb->play_ts = ts - jb->depth;
  jb->late_run = 0;
}

CfJitterResult
cf_jitter_push (CfJitter *jb, guint16 seq, guint32 ts, const guint8 *payload, gsize len,
                gint level, gboolean voice, guint *overflow)
{
  CfOpusInfo info;
  *overflow = 0;
  if (len > CF_JITTER_MAX_BYTES || !cf_opus_packet_parse (payload, len, &info))
    return CF_JITTER_INVALID;

  gint32 resync = CF_JITTER_RESYNC_MS * 48;
  if (!jb->started)
    {
      jb->started = TRUE;
      anchor (jb, ts);
    }
  gint32 d = cf_ts_diff (ts, jb->play_ts);
  if (d > resync || d < -resync)
    {
      /* Another stream, or a jump: start over from this packet. */
      *overflow += jb->n;
      while (jb->n > 0)
        drop_oldest (jb);
      anchor (jb, ts);
      d = (gint32) jb->depth;
    }
  if (d + (gint32) info.samples <= 0)
    {
      if (++jb->late_run < CF_JITTER_LATE_RESYNC)
        return CF_JITTER_LATE;
      /* The sender's clock or path moved: play from here on. */
      anchor (jb, ts);
      d = (gint32) jb->depth;
    }
  jb->late_run = 0;

  /* Sorted insert; the newest usually goes last. */
  guint i = jb->n;
  while (i > 0 && cf_ts_diff (jb->order[i - 1]->ts, ts) > 0)
    i--;
  if (i > 0 && jb->order[i - 1]->ts == ts)
    return CF_JITTER_DUPLICATE;

  if (jb->n == CF_JITTER_MAX_PACKETS)
    {
      if (i == 0)
        {
          /* Older than everything in a full buffer: that one goes. */
          *overflow += 1;
          return CF_JITTER_ACCEPTED;
        }
      drop_oldest (jb);
      *overflow += 1;
      i--;
    }
  CfJitterPacket *p = jb->spare[--jb->n_spare];
  p->ts = ts;
  p->seq = seq;
  p->len = (guint16) len;
  p->level = (gint16) CLAMP (level, -1, 127);
  p->voice = voice;
  p->info = info;
  memcpy (p->data, payload, len);
  memmove (&jb->order[i + 1], &jb->order[i], (jb->n - i) * sizeof jb->order[0]);
  jb->order[i] = p;
  jb->n++;

  /* Keep the span bounded: playout jumps forward over the oldest. */
  CfJitterPacket *newest = jb->order[jb->n - 1];
  guint32 end = newest->ts + newest->info.samples;
  while (cf_ts_diff (end, jb->play_ts) > (gint32) jb->max_ahead && jb->n > 1)
    {
      guint32 target = end - jb->max_ahead;
      if (cf_ts_diff (jb->order[0]->ts + jb->order[0]->info.samples, target) > 0)
        {
          /* The oldest still overlaps: start playing at it. */
          jb->play_ts = jb->order[0]->ts;
          break;
        }
      drop_oldest (jb);
      *overflow += 1;
      jb->play_ts = jb->order[0]->ts;
    }
  if (jb->n == 1 && cf_ts_diff (end, jb->play_ts) > (gint32) jb->max_ahead)
    anchor (jb, jb->order[0]->ts);     /* alone and far ahead: a pause, not a backlog */
  return CF_JITTER_ACCEPTED;
}

CfJitterPacket *
cf_jitter_find (CfJitter *jb, guint32 ts, guint *index)
{
  for (guint i = 0; i < jb->n; i++)
    if (cf_ts_diff (jb->order[i]->ts + jb->order[i]->info.samples, ts) > 0)
      {
        *index = i;
        return jb->order[i];
      }
  return NULL;
}

void
cf_jitter_advance (CfJitter *jb, guint samples)
{
  if (!jb->started)
    return;
  jb->play_ts += samples;
  while (jb->n > 0 && cf_ts_diff (jb->order[0]->ts + jb->order[0]->info.samples, jb->play_ts) <= 0)
    drop_oldest (jb);
}
