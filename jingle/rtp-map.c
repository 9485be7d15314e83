/* bf_rtp_map_apply (rtp-map.h): payload type and RFC 8285
 * header extension ids rewritten in place.  Everything is bounds-checked
 * first, so a malformed packet is left untouched. */
#include "build-config.h"

#include "rtp-map.h"

#define RTP_HEADER 12

/* Walks the extension elements of @ext (@len bytes, RFC 8285 §4.2 one-byte
 * or §4.3 two-byte form), rewriting ids when @map is set; FALSE when an
 * element runs past the end. */
static gboolean
walk_extensions (const BfRtpMap *map, guint8 *ext, gsize len, gboolean two_byte)
{
  gsize i = 0;
  while (i < len)
    {
      if (ext[i] == 0)
        {
          i++;                          /* padding */
          continue;
        }
      gsize elem_len;
      if (!two_byte)
        {
          guint id = ext[i] >> 4;
          if (id == 15)
            return TRUE;                /* §4.2: stop processing */
          elem_len = (ext[i] & 0x0f) + 1u;
          if (i + 1 + elem_len > len)
            return FALSE;
          if (map)
            {
              guint8 to = map->ext[id];
              if (to >= 1 && to <= 14)  /* only one-byte ids fit */
                ext[i] = (guint8) ((to << 4) | (ext[i] & 0x0f));
            }
          i += 1 + elem_len;
        }
      else
        {
          if (i + 2 > len)
            return FALSE;
          elem_len = ext[i + 1];
          if (i + 2 + elem_len > len)
            return FALSE;
          if (map && map->ext[ext[i]] != 0)
            ext[i] = map->ext[ext[i]];
          i += 2 + elem_len;
        }
    }
  return TRUE;
}

gboolean
bf_rtp_map_apply (const BfRtpMap *map, guint8 *data, gsize len)
{
  if (len < RTP_HEADER || (data[0] >> 6) != 2)
    return FALSE;
  gsize off = RTP_HEADER + 4u * (data[0] & 0x0f);
  if (off > len)
    return FALSE;
  if (map->identity)
    return TRUE;
  guint8 *ext = NULL;
  gsize ext_len = 0;
  gboolean two_byte = FALSE, known_profile = FALSE;
  if (data[0] & 0x10)
    {
      if (off + 4 > len)
        return FALSE;
      guint16 profile = (guint16) ((data[off] << 8) | data[off + 1]);
      ext_len = 4u * (gsize) ((data[off + 2] << 8) | data[off + 3]);
      if (off + 4 + ext_len > len)
        return FALSE;
      ext = data + off + 4;
      known_profile = profile == 0xBEDE || (profile & 0xFFF0) == 0x1000;
      two_byte = profile != 0xBEDE;
      /* Check the whole block before changing anything. */
      if (known_profile && !walk_extensions (NULL, ext, ext_len, two_byte))
        return FALSE;
    }
  data[1] = (guint8) ((data[1] & 0x80) | map->pt[data[1] & 0x7f]);
  if (known_profile)
    walk_extensions (map, ext, ext_len, two_byte);
  return TRUE;
}
