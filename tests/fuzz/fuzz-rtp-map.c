/* libFuzzer target: bf_rtp_map_apply (jingle/rtp-map.c), the payload type
 * and RFC 8285 header extension id rewriting of the call relay.
 *
 * Input: byte 0 picks the kind of map, bytes 1-4 seed the map's entries,
 * the rest is the packet, copied into a buffer of exactly its size (so
 * ASan sees any read or write past it).
 *   kind & 3 == 0: a permutation (payload types among 0-127, one-byte ids
 *     among 1-14, two-byte ids among 15-255, 0 fixed);
 *   kind & 3 == 1: arbitrary entries (payload types 0-127, ids 0-255);
 *   kind & 3 == 2: the identity with a few swapped entries;
 *   kind & 3 == 3: the identity entries;
 *   kind & 4: the identity flag is set.
 * Checks, against a reference walk written here from RFC 3550 §5.1 and
 * RFC 8285 §4.2/§4.3:
 *   - FALSE exactly when the reference finds the packet malformed (the
 *     fixed header, the CSRCs, the extension block or an element overrun,
 *     or a padding count of 0 or past the header), whatever the map, and
 *     the packet unchanged;
 *   - with the identity flag, TRUE leaves the packet as it was;
 *   - TRUE: the packet is exactly what the reference rewrites (only the
 *     payload type bits of byte 1 and element id octets change; the marker
 *     bit stays);
 *   - a permutation: applying the inverse map gives the input back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp-map-apply.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint32
next_rand (guint32 *state)
{
  /* xorshift32; a zero state would stay zero */
  guint32 x = *state ? *state : 0x9E3779B9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

static void
identity_entries (BfRtpMap *map)
{
  for (guint i = 0; i < 128; i++)
    map->pt[i] = (guint8) i;
  for (guint i = 0; i < 256; i++)
    map->ext[i] = (guint8) i;
}

static void
shuffle (guint8 *v, guint n, guint32 *state)
{
  for (guint i = n - 1; i > 0; i--)
    {
      guint j = next_rand (state) % (i + 1);
      guint8 t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
}

static void
make_map (guint kind, guint32 seed, BfRtpMap *map)
{
  guint32 st = seed;
  identity_entries (map);
  switch (kind & 3)
    {
    case 0:
      shuffle (map->pt, 128, &st);
      shuffle (map->ext + 1, 14, &st);
      shuffle (map->ext + 15, 241, &st);
      break;
    case 1:
      for (guint i = 0; i < 128; i++)
        map->pt[i] = next_rand (&st) & 0x7f;
      for (guint i = 0; i < 256; i++)
        map->ext[i] = (guint8) next_rand (&st);
      break;
    case 2:
      for (guint k = 0; k < 4; k++)
        {
          guint a = next_rand (&st) % 128, b = next_rand (&st) % 128;
          guint8 t = map->pt[a];
          map->pt[a] = map->pt[b];
          map->pt[b] = t;
          a = next_rand (&st) % 256;
          b = next_rand (&st) % 256;
          t = map->ext[a];
          map->ext[a] = map->ext[b];
          map->ext[b] = t;
        }
      break;
    default:
      break;
    }
  map->identity = (kind & 4) != 0;
}

/* The reference: TRUE and @out rewritten, or FALSE (malformed). */
static gboolean
reference (const BfRtpMap *map, const guint8 *in, gsize len, guint8 *out)
{
  if (len < 12 || (in[0] >> 6) != 2)
    return FALSE;
  gsize off = 12 + 4 * (gsize) (in[0] & 0x0f);
  if (off > len)
    return FALSE;
  memcpy (out, in, len);
  if (in[0] & 0x10)
    {
      if (len - off < 4)
        return FALSE;
      guint profile = ((guint) in[off] << 8) | in[off + 1];
      gsize block = 4 * (((gsize) in[off + 2] << 8) | in[off + 3]);
      if (len - off - 4 < block)
        return FALSE;
      gsize start = off + 4, end = start + block, i = start;
      if (profile == 0xBEDE)
        {
          while (i < end)
            {
              if (in[i] == 0)
                {
                  i++;
                  continue;
                }
              guint id = in[i] >> 4, l = (in[i] & 0x0f) + 1u;
              if (id == 15 || id == 0)
                break;   /* id 0 here has a length: not padding, ends it too */
              if (end - i - 1 < l)
                return FALSE;
              guint to = map->ext[id];
              if (to >= 1 && to <= 14)
                out[i] = (guint8) ((to << 4) | (in[i] & 0x0f));
              i += 1 + l;
            }
        }
      else if ((profile >> 4) == 0x100)
        {
          while (i < end)
            {
              if (in[i] == 0)
                {
                  i++;
                  continue;
                }
              if (end - i < 2 || end - i - 2 < in[i + 1])
                return FALSE;
              if (map->ext[in[i]] != 0)
                out[i] = map->ext[in[i]];
              i += 2 + in[i + 1];
            }
        }
      off = end;
    }
  /* RFC 3550 §5.1: the last octet counts the padding, itself included. */
  if ((in[0] & 0x20) && (len == off || in[len - 1] == 0 || in[len - 1] > len - off))
    return FALSE;
  if (map->identity)
    memcpy (out, in, len);
  else
    out[1] = (guint8) ((in[1] & 0x80) | map->pt[in[1] & 0x7f]);
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 5)
    return 0;
  guint kind = data[0];
  guint32 seed = ((guint32) data[1] << 24) | ((guint32) data[2] << 16) |
                 ((guint32) data[3] << 8) | data[4];
  const guint8 *in = data + 5;
  gsize len = size - 5;
  BfRtpMap map;
  make_map (kind, seed, &map);

  guint8 *pkt = malloc (len ? len : 1);
  guint8 *want = malloc (len ? len : 1);
  if (len)
    memcpy (pkt, in, len);
  gboolean ok = bf_rtp_map_apply (&map, pkt, len);
  gboolean want_ok = reference (&map, in, len, want);
  if (ok != want_ok)
    abort ();
  if (!ok && len && memcmp (pkt, in, len) != 0)
    abort ();
  if (ok && memcmp (pkt, want, len) != 0)
    abort ();
  if (ok && ((pkt[1] ^ in[1]) & 0x80))
    abort ();   /* the marker bit */

  if (ok && (kind & 3) == 0)
    {
      BfRtpMap inverse;
      identity_entries (&inverse);
      for (guint i = 0; i < 128; i++)
        inverse.pt[map.pt[i]] = (guint8) i;
      for (guint i = 0; i < 256; i++)
        inverse.ext[map.ext[i]] = (guint8) i;
      inverse.identity = map.identity;
      if (!bf_rtp_map_apply (&inverse, pkt, len) || memcmp (pkt, in, len) != 0)
        abort ();
    }
  free (want);
  free (pkt);
  return 0;
}
