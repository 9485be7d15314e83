/* libFuzzer target: the echo's RTP SSRC rewriting and RTCP translation
 * (modules/echo/rtp-rewrite.c), and the call relay's RTCP privacy rewrite
 * (modules/call/rtcp-privacy.c).
 *
 * The first input byte picks the mode, the rest is the packet:
 *   bit 0 clear: RTCP.  The compound is translated with a fixed map into a
 *     buffer of exactly its size.  The output must be no longer than the
 *     input and a whole number of words; and it must be well-formed and
 *     fully translatable back: with the map swapped (local <-> remote) it
 *     translates to the same length (nothing is malformed, nothing is
 *     unknown), and translating that again with the original map gives
 *     the first output byte for byte.  The same compound also goes
 *     through the privacy rewrite: the output must be a well-formed
 *     compound of whole packets with no APP and only SDES chunks holding
 *     exactly our CNAME, and rewriting it again (when no longer than an input may be) must give
 *     it unchanged.
 *   bit 0 set: RTP.  A copy is rewritten (bit 1: add unknown SSRCs, with a
 *     generator fed from the input).  A refused packet is left untouched;
 *     an accepted one differs only in its SSRC, which the map (grown by at
 *     most one pair) maps to, and rewriting it back with the swapped map
 *     restores the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtcp-privacy.h"
#include "rtp-rewrite.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fixed_map (EcSsrcMap *map, EcSsrcMap *swapped)
{
  static const EcSsrcPair pairs[] = {
    { 0xAAAA0001, 0x10C00001 },
    { 0xAAAA0002, 0x10C00002 },
    { 0x00000001, 0xFFFFFFFF },
  };
  memset (map, 0, sizeof *map);
  memset (swapped, 0, sizeof *swapped);
  for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
    if (!ec_ssrc_map_add (map, pairs[i].remote, pairs[i].local) ||
        !ec_ssrc_map_add (swapped, pairs[i].local, pairs[i].remote))
      abort ();
}

typedef struct {
  const uint8_t *data;
  size_t size;
  size_t pos;
} Feed;

static guint32
feed_ssrc (gpointer user_data)
{
  Feed *f = user_data;
  guint32 v = 0;
  for (int i = 0; i < 4; i++)
    v = (v << 8) | (f->size ? f->data[f->pos++ % f->size] : 0x5A);
  return v;
}

#define FUZZ_CNAME "bf0123456789abcdef"

static void
check_private (const guint8 *p, gsize n)
{
  gsize cl = strlen (FUZZ_CNAME);
  gsize off = 0;
  while (off < n)
    {
      if (n - off < 4 || (p[off] >> 6) != 2)
        abort ();
      gsize plen = 4 * ((gsize) ((p[off + 2] << 8) | p[off + 3]) + 1);
      if (plen > n - off || p[off + 1] == 204)
        abort ();
      if (p[off + 1] == 202)
        {
          guint count = p[off] & 0x1f;
          gsize chunk = (4 + 2 + cl + 1 + 3) & ~(gsize) 3;
          if ((p[off] & 0x20) || count == 0 || plen != 4 + count * chunk)
            abort ();
          for (guint c = 0; c < count; c++)
            {
              const guint8 *q = p + off + 4 + c * chunk;
              if (q[4] != 1 || q[5] != cl || memcmp (q + 6, FUZZ_CNAME, cl) != 0)
                abort ();
              for (gsize z = 6 + cl; z < chunk; z++)
                if (q[z] != 0)
                  abort ();
            }
        }
      off += plen;
    }
}

static void
run_privacy (const uint8_t *data, size_t size)
{
  guint8 out[CALL_RTCP_OUT_MAX], again[CALL_RTCP_OUT_MAX];
  CallRtcpPrivacyStats st = { 0 };
  gsize n = call_rtcp_privacy (data, size, FUZZ_CNAME, out, sizeof out, &st);
  if (n > sizeof out || n % 4 != 0 || (n == 0 && size > 0 && st.malformed == 0
                                       && call_rtcp_needs_privacy (data, size) == FALSE))
    abort ();
  check_private (out, n);
  if (n > 0 && n <= CALL_RTCP_MAX
      && (call_rtcp_privacy (out, n, FUZZ_CNAME, again, sizeof again, &st) != n
                || memcmp (again, out, n) != 0))
    abort ();
}

static void
run_rtcp (const uint8_t *data, size_t size)
{
  run_privacy (data, size);

  EcSsrcMap map, swapped;
  fixed_map (&map, &swapped);
  EcSsrcMap before = map;

  guint8 *out = malloc (size ? size : 1);
  gsize n = ec_rtcp_translate (data, size, &map, out, size);
  if (n > size || n % 4 != 0 || memcmp (&map, &before, sizeof map) != 0)
    abort ();
  if (n > 0)
    {
      /* Every SSRC in the output is known under the swapped map, so
       * nothing may be dropped, and the way back must give it back. */
      guint8 *back = malloc (n);
      guint8 *again = malloc (n);
      if (ec_rtcp_translate (out, n, &swapped, back, n) != n ||
          ec_rtcp_translate (back, n, &map, again, n) != n || memcmp (again, out, n) != 0)
        abort ();
      free (again);
      free (back);
    }
  free (out);
}

static void
run_rtp (const uint8_t *data, size_t size, gboolean add_unknown)
{
  EcSsrcMap map, swapped;
  fixed_map (&map, &swapped);
  Feed feed = { data, size, 0 };
  guint8 *pkt = malloc (size ? size : 1);
  if (size)
    memcpy (pkt, data, size);
  guint before = map.n;
  gboolean ok = ec_rtp_rewrite (pkt, size, &map, add_unknown, feed_ssrc, &feed);
  if (map.n > EC_MAX_SSRCS || map.n < before || map.n > before + 1)
    abort ();
  if (!ok)
    {
      if (memcmp (pkt, data, size) != 0 || map.n != before)
        abort ();
    }
  else
    {
      if (size < 12 || memcmp (pkt, data, 8) != 0 || memcmp (pkt + 12, data + 12, size - 12) != 0)
        abort ();
      guint32 remote = ((guint32) data[8] << 24) | ((guint32) data[9] << 16) |
                       ((guint32) data[10] << 8) | data[11];
      guint32 local = ((guint32) pkt[8] << 24) | ((guint32) pkt[9] << 16) |
                      ((guint32) pkt[10] << 8) | pkt[11];
      guint32 mapped = 0;
      if (!ec_ssrc_map_to_local (&map, remote, &mapped) || mapped != local)
        abort ();
      /* back with the swapped map (built from the map as it is now) */
      EcSsrcMap back = { 0 };
      for (guint i = 0; i < map.n; i++)
        if (map.pairs[i].remote != 0 && !ec_ssrc_map_add (&back, map.pairs[i].local, map.pairs[i].remote))
          abort ();
      if (remote != 0)
        {
          if (!ec_rtp_rewrite (pkt, size, &back, FALSE, NULL, NULL) || memcmp (pkt, data, size) != 0)
            abort ();
        }
    }
  free (pkt);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  guint8 mode = data[0];
  if (mode & 1)
    run_rtp (data + 1, size - 1, (mode & 2) != 0);
  else
    run_rtcp (data + 1, size - 1);
  return 0;
}
