/* Unit tests: the smallest RTP header and big-endian words, for tests of
 * code that reads packets (packet-route, video-sources). */
#pragma once

#include <string.h>
#include <glib.h>

static inline void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static inline guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* A 12-byte RTP header (version 2) with payload type @pt (the marker bit
 * may come with it) and @ssrc; its length. */
static inline gsize
rtp (guint8 *buf, guint8 pt, guint32 ssrc)
{
  memset (buf, 0, 12);
  buf[0] = 0x80;
  buf[1] = pt;
  put32 (buf + 8, ssrc);
  return 12;
}
