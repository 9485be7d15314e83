/* belfry — the one RTP header and extension view (include/belfry/packet.h):
 * RFC 3550 §5.1 fixed header, CSRC list, §5.3.1 extension block, its
 * RFC 8285 §4.2 one-byte and §4.3 two-byte elements, and the padding.
 * Pure code: every read is bounded by the packet's length, also after a
 * foreach callback rewrote an id byte. */
#include "build-config.h"

#include <belfry/packet.h>

#define RTP_HEADER_LEN 12
#define EXT_ONE_BYTE 0xBEDE              /* RFC 8285 §4.2 */
#define EXT_TWO_BYTE_MASK 0xFFF0         /* RFC 8285 §4.3: 0x100X */
#define EXT_TWO_BYTE 0x1000
#define ONE_BYTE_STOP 15                 /* §4.2: reserved, stops processing */

typedef enum {
  FORM_NONE,                             /* no block, or a profile of its own */
  FORM_ONE_BYTE,
  FORM_TWO_BYTE,
} ExtForm;

static inline ExtForm
ext_form (const BfRtpHeader *h)
{
  if (h->ext_offset == 0)
    return FORM_NONE;
  if (h->ext_profile == EXT_ONE_BYTE)
    return FORM_ONE_BYTE;
  if ((h->ext_profile & EXT_TWO_BYTE_MASK) == EXT_TWO_BYTE)
    return FORM_TWO_BYTE;
  return FORM_NONE;
}

/* The element at @*pos of the block @ext (@n bytes): its id, where its id
 * byte and data are and the data's length; @*pos moves past it.  Padding
 * bytes (0) are skipped.  FALSE at the end of the block, at a one-byte
 * id 15 or 0 (the rest is not looked at), or, with @overrun set, when an
 * element runs past the block. */
static gboolean
next_element (ExtForm form, const guint8 *ext, gsize n, gsize *pos, guint8 *id, gsize *id_at,
              gsize *data_at, gsize *len, gboolean *overrun)
{
  gsize i = *pos;
  *overrun = FALSE;
  while (i < n && ext[i] == 0)
    i++;
  if (i >= n)
    return FALSE;
  gsize elen, hlen;
  if (form == FORM_ONE_BYTE)
    {
      /* Id 15, and id 0 with a length (neither padding nor an element; as
       * libwebrtc reads it), end the walk. */
      if ((ext[i] >> 4) == ONE_BYTE_STOP || (ext[i] >> 4) == 0)
        return FALSE;
      *id = ext[i] >> 4;
      elen = (gsize) (ext[i] & 0x0f) + 1;
      hlen = 1;
    }
  else
    {
      if (n - i < 2)
        {
          *overrun = TRUE;
          return FALSE;
        }
      *id = ext[i];
      elen = ext[i + 1];
      hlen = 2;
    }
  if (elen > n - i - hlen)
    {
      *overrun = TRUE;
      return FALSE;
    }
  *id_at = i;
  *data_at = i + hlen;
  *len = elen;
  *pos = i + hlen + elen;
  return TRUE;
}

static gboolean
elements_valid (ExtForm form, const guint8 *ext, gsize n)
{
  gsize pos = 0, id_at, data_at, len;
  guint8 id;
  gboolean overrun = FALSE;
  while (next_element (form, ext, n, &pos, &id, &id_at, &data_at, &len, &overrun))
    ;
  return !overrun;
}

gboolean
bf_rtp_header_parse (const guint8 *data, gsize len, BfRtpHeader *h)
{
  /* Above 64 KiB the offsets would not fit; no datagram is that long. */
  if (data == NULL || len < RTP_HEADER_LEN || len > G_MAXUINT16 || (data[0] >> 6) != 2)
    return FALSE;
  gsize off = RTP_HEADER_LEN + 4 * (gsize) (data[0] & 0x0f);
  if (off > len)
    return FALSE;
  h->payload_type = data[1] & 0x7f;
  h->marker = (data[1] & 0x80) != 0;
  h->seq = bf_read_be16 (data + 2);
  h->timestamp = bf_read_be32 (data + 4);
  h->ssrc = bf_read_be32 (data + 8);
  h->csrc_count = data[0] & 0x0f;
  h->ext_profile = 0;
  h->ext_offset = 0;
  h->ext_len = 0;
  if (data[0] & 0x10)
    {
      if (len - off < 4)
        return FALSE;
      gsize n = 4 * (gsize) bf_read_be16 (data + off + 2);
      if (n > len - off - 4)
        return FALSE;
      h->ext_profile = bf_read_be16 (data + off);
      h->ext_offset = (guint16) (off + 4);
      h->ext_len = (guint16) n;
      ExtForm form = ext_form (h);
      if (form != FORM_NONE && !elements_valid (form, data + off + 4, n))
        return FALSE;
      off += 4 + n;
    }
  h->padding = 0;
  if (data[0] & 0x20)
    {
      /* The last octet counts the padding, itself included. */
      if (len == off || data[len - 1] == 0 || data[len - 1] > len - off)
        return FALSE;
      h->padding = data[len - 1];
    }
  h->payload_offset = (guint16) off;
  h->payload_len = (guint16) (len - off - h->padding);
  return TRUE;
}

const guint8 *
bf_rtp_header_find_extension (const BfRtpHeader *h, const guint8 *data, guint8 id, gsize *len)
{
  ExtForm form = ext_form (h);
  if (form == FORM_NONE || id == 0 || (form == FORM_ONE_BYTE && id >= ONE_BYTE_STOP))
    return NULL;
  const guint8 *ext = data + h->ext_offset;
  gsize pos = 0, id_at, data_at, elen;
  guint8 got;
  gboolean overrun;
  while (next_element (form, ext, h->ext_len, &pos, &got, &id_at, &data_at, &elen, &overrun))
    if (got == id)
      {
        if (len)
          *len = elen;
        return ext + data_at;
      }
  return NULL;
}

void
bf_rtp_header_foreach_extension (const BfRtpHeader *h, guint8 *data, BfRtpExtensionFunc func,
                                 gpointer user_data)
{
  ExtForm form = ext_form (h);
  if (form == FORM_NONE)
    return;
  guint8 *ext = data + h->ext_offset;
  gsize pos = 0, id_at, data_at, elen;
  guint8 id;
  gboolean overrun;
  /* @pos moved past the element before @func runs: what it writes to the
   * id byte does not change where the next element is. */
  while (next_element (form, ext, h->ext_len, &pos, &id, &id_at, &data_at, &elen, &overrun))
    if (!func (ext + id_at, id, ext + data_at, elen, user_data))
      return;
}

void
bf_rtp_set_payload_type (guint8 *data, BfRtpHeader *h, guint8 pt)
{
  data[1] = (guint8) ((data[1] & 0x80) | (pt & 0x7f));
  if (h)
    h->payload_type = pt & 0x7f;
}

void
bf_rtp_set_seq (guint8 *data, BfRtpHeader *h, guint16 seq)
{
  bf_write_be16 (data + 2, seq);
  if (h)
    h->seq = seq;
}

void
bf_rtp_set_timestamp (guint8 *data, BfRtpHeader *h, guint32 timestamp)
{
  bf_write_be32 (data + 4, timestamp);
  if (h)
    h->timestamp = timestamp;
}

void
bf_rtp_set_ssrc (guint8 *data, BfRtpHeader *h, guint32 ssrc)
{
  bf_write_be32 (data + 8, ssrc);
  if (h)
    h->ssrc = ssrc;
}
