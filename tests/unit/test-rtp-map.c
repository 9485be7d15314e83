/* bf_rtp_map_apply (jingle/rtp-map.c, jingle/rtp-map.h): the payload
 * type and the RFC 8285 header extension ids of an RTP packet rewritten in
 * place, against RFC 3550 §5.1 and RFC 8285 §4.2 (one-byte form, 0xBEDE)
 * and §4.3 (two-byte form, 0x100X).  Every packet is written out byte by
 * byte, and so is the result. */
#include <string.h>
#include <glib.h>

#include "rtp-map-apply.h"

#define BYTES(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })

/* Fixed RTP header after byte 1: sequence number, timestamp, SSRC. */
#define SEQ_TS_SSRC 0x12, 0x34,  0x00, 0x00, 0x0B, 0xB8,  0xAA, 0xAA, 0x00, 0x01

/* A map that changes nothing, flagged as not identity. */
static BfRtpMap
plain_map (void)
{
  BfRtpMap map;
  map.identity = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (map.pt); i++)
    map.pt[i] = (guint8) i;
  for (guint i = 0; i < G_N_ELEMENTS (map.ext); i++)
    map.ext[i] = (guint8) i;
  return map;
}

/* Opus 111 -> 109, VP8 96 -> 100, rtx 97 -> 101; one-byte ids 1 -> 5,
 * 2 -> 3, 3 -> 2 (a swap), 4 -> 14; two-byte ids 20 -> 200, 7 -> 30. */
static BfRtpMap
call_map (void)
{
  BfRtpMap map = plain_map ();
  map.pt[111] = 109;
  map.pt[96] = 100;
  map.pt[97] = 101;
  map.ext[1] = 5;
  map.ext[2] = 3;
  map.ext[3] = 2;
  map.ext[4] = 14;
  map.ext[20] = 200;
  map.ext[7] = 30;
  return map;
}

/* Applies @map to a copy of @pkt (@len bytes, an exactly sized buffer) and
 * checks the result is @want (same length). */
static void
check_map (const BfRtpMap *map, const guint8 *pkt, gsize len, const guint8 *want, gsize want_len)
{
  g_assert_cmpuint (len, ==, want_len);
  g_autofree guint8 *buf = g_memdup2 (pkt, len);
  g_assert_true (bf_rtp_map_apply (map, buf, len));
  g_assert_cmpmem (buf, len, want, want_len);
}

static void
check_ok (const guint8 *pkt, gsize len, const guint8 *want, gsize want_len)
{
  BfRtpMap map = call_map ();
  check_map (&map, pkt, len, want, want_len);
}

/* Refused, and not a byte changed. */
static void
check_refused_map (const BfRtpMap *map, const guint8 *pkt, gsize len)
{
  g_autofree guint8 *buf = g_memdup2 (pkt, len);
  g_assert_false (bf_rtp_map_apply (map, buf, len));
  g_assert_cmpmem (buf, len, pkt, len);
}

static void
check_refused (const guint8 *pkt, gsize len)
{
  BfRtpMap map = call_map ();
  check_refused_map (&map, pkt, len);
}

/* --- payload type --- */

static void
test_pt (void)
{
  /* opus 111 -> 109, payload untouched */
  check_ok (BYTES (0x80, 111, SEQ_TS_SSRC,  0xFC, 0xFF, 0xFE),
            BYTES (0x80, 109, SEQ_TS_SSRC,  0xFC, 0xFF, 0xFE));
  /* VP8 96 -> 100, empty payload */
  check_ok (BYTES (0x80, 96, SEQ_TS_SSRC), BYTES (0x80, 100, SEQ_TS_SSRC));
  /* an unmapped type goes through as it is */
  check_ok (BYTES (0x80, 0, SEQ_TS_SSRC,  0xD5), BYTES (0x80, 0, SEQ_TS_SSRC,  0xD5));
  check_ok (BYTES (0x80, 127, SEQ_TS_SSRC,  0xD5), BYTES (0x80, 127, SEQ_TS_SSRC,  0xD5));
}

static void
test_marker (void)
{
  /* the marker bit stays set when the type changes ... */
  check_ok (BYTES (0x80, 0x80 | 96, SEQ_TS_SSRC,  0x90, 0xE0),
            BYTES (0x80, 0x80 | 100, SEQ_TS_SSRC,  0x90, 0xE0));
  check_ok (BYTES (0x80, 0x80 | 97, SEQ_TS_SSRC,  0x00, 0x01),
            BYTES (0x80, 0x80 | 101, SEQ_TS_SSRC,  0x00, 0x01));
  /* ... and clear when it was clear, even towards a type >= 64 */
  BfRtpMap map = plain_map ();
  map.pt[0] = 127;
  map.pt[127] = 0;
  check_map (&map, BYTES (0x80, 0, SEQ_TS_SSRC), BYTES (0x80, 127, SEQ_TS_SSRC));
  check_map (&map, BYTES (0x80, 0xFF, SEQ_TS_SSRC), BYTES (0x80, 0x80, SEQ_TS_SSRC));
  check_map (&map, BYTES (0x80, 0x80, SEQ_TS_SSRC), BYTES (0x80, 0xFF, SEQ_TS_SSRC));
}

static void
test_header_bits (void)
{
  /* padding bit, CSRC count, sequence, timestamp, SSRC: all kept */
  check_ok (BYTES (0xA2, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,  0x05, 0x06, 0x07, 0x08,
                   0x11, 0x00, 0x00, 0x02),
            BYTES (0xA2, 100, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,  0x05, 0x06, 0x07, 0x08,
                   0x11, 0x00, 0x00, 0x02));
}

/* --- one-byte header extensions (RFC 8285 §4.2) --- */

static void
test_one_byte (void)
{
  /* A Chrome audio packet: ssrc-audio-level (1, 1 octet), abs-send-time
   * (2, 3 octets), transport-cc (3, 2 octets), mid (4, 1 octet), 1 octet
   * of padding at the end of the block */
  check_ok (BYTES (0x90, 111, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x03,
                   0x10, 0xAA,  0x22, 0x01, 0x02, 0x03,  0x31, 0x00, 0x07,  0x40, '0',  0x00,
                   0xFC, 0xFF),
            BYTES (0x90, 109, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x03,
                   0x50, 0xAA,  0x32, 0x01, 0x02, 0x03,  0x21, 0x00, 0x07,  0xE0, '0',  0x00,
                   0xFC, 0xFF));
  /* padding octets before, between and after elements; an element with
   * the full 16 octets */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x06,
                   0x00, 0x00, 0x1F,  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                   0x00, 0x20, 0x55,  0x00, 0x00),
            BYTES (0x90, 100, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x06,
                   0x00, 0x00, 0x5F,  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                   0x00, 0x30, 0x55,  0x00, 0x00));
  /* the data octets are not elements: an id in them is never rewritten */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x01,  0x12, 0x10, 0x20, 0x30),
            BYTES (0x90, 100, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x01,  0x52, 0x10, 0x20, 0x30));
  /* after CSRCs */
  check_ok (BYTES (0x92, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  0x20, 0x00, 0x00, 0x02,
                   0xBE, 0xDE, 0x00, 0x01,  0x10, 0xAA, 0x00, 0x00),
            BYTES (0x92, 100, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  0x20, 0x00, 0x00, 0x02,
                   0xBE, 0xDE, 0x00, 0x01,  0x50, 0xAA, 0x00, 0x00));
  /* an empty block */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x00,  0x01),
            BYTES (0x90, 100, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x00,  0x01));
  /* unmapped ids stay */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0x90, 0x01, 0xD0, 0x02),
            BYTES (0x90, 100, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0x90, 0x01, 0xD0, 0x02));
}

static void
test_one_byte_id15 (void)
{
  /* §4.2: id 15 stops the parse; what follows is neither rewritten nor
   * checked (here a length running past the block) */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x02,  0x10, 0xAA, 0xF0, 0x20,  0x10, 0x2F, 0x00, 0x00),
            BYTES (0x90, 100, SEQ_TS_SSRC,
                   0xBE, 0xDE, 0x00, 0x02,  0x50, 0xAA, 0xF0, 0x20,  0x10, 0x2F, 0x00, 0x00));
  /* id 15 first */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0xFF, 0x10, 0xAA, 0x00),
            BYTES (0x90, 100, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0xFF, 0x10, 0xAA, 0x00));
  /* a map entry for 15 is never used in the one-byte form */
  BfRtpMap map = plain_map ();
  map.ext[15] = 3;
  check_map (&map, BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0xF0, 0x10, 0xAA, 0x00),
             BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0xF0, 0x10, 0xAA, 0x00));
}

static void
test_one_byte_unfit (void)
{
  /* An id mapped to one the one-byte form cannot carry (0, or above 14)
   * is left as it is rather than corrupting the element. */
  BfRtpMap map = plain_map ();
  map.ext[1] = 15;
  map.ext[2] = 0;
  map.ext[3] = 200;
  map.ext[4] = 6;
  check_map (&map, BYTES (0x90, 96, SEQ_TS_SSRC,
                          0xBE, 0xDE, 0x00, 0x02,  0x10, 0xAA, 0x20, 0xBB,  0x30, 0xCC, 0x40, 0xDD),
             BYTES (0x90, 96, SEQ_TS_SSRC,
                    0xBE, 0xDE, 0x00, 0x02,  0x10, 0xAA, 0x20, 0xBB,  0x30, 0xCC, 0x60, 0xDD));
}

/* --- two-byte header extensions (RFC 8285 §4.3) --- */

static void
test_two_byte (void)
{
  /* 0x1000: id 20 (2 octets), padding, id 7 (0 octets), id 1 (1 octet),
   * padding to the word */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,
                   0x10, 0x00, 0x00, 0x03,
                   20, 2, 0xAA, 0xBB,  0x00, 7, 0, 1,  1, 0xCC, 0x00, 0x00),
            BYTES (0x90, 100, SEQ_TS_SSRC,
                   0x10, 0x00, 0x00, 0x03,
                   200, 2, 0xAA, 0xBB,  0x00, 30, 0, 5,  1, 0xCC, 0x00, 0x00));
  /* app bits 0x100F; an element of 255 octets is fine when it fits */
  guint8 big[12 + 4 + 260];
  guint8 want[sizeof big];
  memset (big, 0x3C, sizeof big);
  big[0] = 0x90; big[1] = 97;
  big[12] = 0x10; big[13] = 0x0F; big[14] = 0x00; big[15] = 65;   /* 260 octets */
  big[16] = 20; big[17] = 255;
  big[16 + 257] = 0; big[16 + 258] = 0; big[16 + 259] = 0;
  memcpy (want, big, sizeof big);
  want[1] = 101;
  want[16] = 200;
  check_ok (big, sizeof big, want, sizeof want);
  /* the data octets are not elements */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  20, 2, 7, 20),
            BYTES (0x90, 100, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  200, 2, 7, 20));
  /* a two-byte id mapped to 0 stays */
  BfRtpMap map = plain_map ();
  map.ext[20] = 0;
  check_map (&map, BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  20, 1, 0xAA, 0x00),
             BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  20, 1, 0xAA, 0x00));
}

static void
test_other_profile (void)
{
  /* A profile that is neither 0xBEDE nor 0x100X is opaque: the type is
   * rewritten, the block is not looked at (not even its elements' sizes). */
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0x12, 0x34, 0x00, 0x01,  0x10, 0xFF, 0x20, 0x30),
            BYTES (0x90, 100, SEQ_TS_SSRC,  0x12, 0x34, 0x00, 0x01,  0x10, 0xFF, 0x20, 0x30));
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDF, 0x00, 0x01,  0x1F, 0x00, 0x00, 0x00),
            BYTES (0x90, 100, SEQ_TS_SSRC,  0xBE, 0xDF, 0x00, 0x01,  0x1F, 0x00, 0x00, 0x00));
  check_ok (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x10, 0x00, 0x01,  20, 0xFF, 0x00, 0x00),
            BYTES (0x90, 100, SEQ_TS_SSRC,  0x10, 0x10, 0x00, 0x01,  20, 0xFF, 0x00, 0x00));
}

/* --- malformed packets --- */

static void
test_malformed (void)
{
  /* shorter than the fixed header */
  check_refused (BYTES (0x80, 96, 0x00, 0x01,  0x00, 0x00, 0x00, 0x02,  0xAA, 0xAA, 0x00));
  check_refused (BYTES (0x80));
  check_refused (NULL, 0);
  /* version 0, 1, 3 */
  check_refused (BYTES (0x00, 96, SEQ_TS_SSRC,  0x00));
  check_refused (BYTES (0x40, 96, SEQ_TS_SSRC,  0x00));
  check_refused (BYTES (0xC0, 96, SEQ_TS_SSRC,  0x00));
  /* CSRC count past the end: 3 announced, 2 and a half there; 15 and none */
  check_refused (BYTES (0x83, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,  0x05, 0x06, 0x07, 0x08,
                        0x09, 0x0A));
  check_refused (BYTES (0x8F, 96, SEQ_TS_SSRC));
  /* extension header past the end, right after the header or the CSRCs */
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC));
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00));
  check_refused (BYTES (0x91, 96, SEQ_TS_SSRC,  0x01, 0x02, 0x03, 0x04,  0xBE, 0xDE));
  /* extension length past the end (one octet short; 0xFFFF words) */
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,
                        0x10, 0xAA, 0x00, 0x00,  0x00, 0x00, 0x00));
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0xFF, 0xFF,  0x10, 0xAA, 0x00, 0x00));
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x02,  20, 1, 0xAA, 0x00));
  /* the length of an opaque profile is checked too */
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x12, 0x34, 0x00, 0x02,  0x00, 0x00, 0x00, 0x00));
  /* one-byte element past the block: id 1 with 4 octets, 3 left (the
   * octet after the block is payload); a good element first must not be
   * rewritten either */
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,
                        0x13, 0xAA, 0xBB, 0xCC,  0x00));
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,
                        0x10, 0xAA, 0x20, 0xBB,  0x00, 0x32, 0xCC, 0x00,  0xDD));
  /* two-byte element past the block: the length octet missing, the data
   * too long (after a good element) */
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  0x00, 0x00, 0x00, 20,
                        0x05));
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  20, 3, 0xAA, 0xBB,
                        0xCC));
  check_refused (BYTES (0x90, 96, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x02,  20, 0, 7, 5,
                        0xAA, 0xBB, 0xCC, 0xDD));
}

/* --- identity --- */

static void
test_identity (void)
{
  /* The identity flag means nothing to do, whatever the entries say. */
  BfRtpMap map = call_map ();
  map.identity = TRUE;
  const guint8 pkt[] = { 0x90, 0x80 | 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,
                         0x10, 0xAA, 0x20, 0xBB };
  check_map (&map, pkt, sizeof pkt, pkt, sizeof pkt);
  const guint8 two[] = { 0x90, 111, SEQ_TS_SSRC,  0x10, 0x00, 0x00, 0x01,  20, 1, 0xAA, 0x00 };
  check_map (&map, two, sizeof two, two, sizeof two);
  /* A map whose entries are all identities changes nothing either. */
  BfRtpMap same = plain_map ();
  check_map (&same, pkt, sizeof pkt, pkt, sizeof pkt);
  check_map (&same, two, sizeof two, two, sizeof two);
  /* the fixed header and the CSRCs are still checked */
  check_refused_map (&map, BYTES (0x80, 96, 0x00, 0x01));
  check_refused_map (&map, BYTES (0x40, 96, SEQ_TS_SSRC));
  check_refused_map (&map, BYTES (0x81, 96, SEQ_TS_SSRC,  0x01, 0x02));
}

/* rtp-map-apply.h: "FALSE for a malformed packet (bf_rtp_header_parse() refuses
 * it, whatever the map)": an identity map checks the whole packet too, so
 * the same packet is never refused or accepted depending on the map. */
static void
test_identity_malformed_ext (void)
{
  BfRtpMap map = plain_map ();
  map.identity = TRUE;
  check_refused_map (&map, BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,
                                  0x10, 0xAA, 0x00, 0x00));
  check_refused_map (&map, BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,
                                  0x13, 0xAA, 0xBB, 0xCC));
  /* a padding count of 0, or past the header */
  check_refused_map (&map, BYTES (0xA0, 96, SEQ_TS_SSRC,  0xAA, 0x00));
  check_refused_map (&map, BYTES (0xA0, 96, SEQ_TS_SSRC,  0xAA, 0x03));
  /* CSRC count past the end: refused even so */
  check_refused_map (&map, BYTES (0x82, 96, SEQ_TS_SSRC,  0x00, 0x00, 0x00, 0x01));
  /* not RTP version 2 */
  check_refused_map (&map, BYTES (0x40, 96, SEQ_TS_SSRC));
  /* the same broken blocks with a map that rewrites: refused, unchanged */
  BfRtpMap rw = call_map ();
  check_refused_map (&rw, BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x02,
                                 0x10, 0xAA, 0x00, 0x00));
  check_refused_map (&rw, BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE));
  check_refused_map (&rw, BYTES (0x90, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,
                                 0x13, 0xAA, 0xBB, 0xCC));
}

/* Padding (RFC 3550 §5.1): a valid count is kept, with the payload; a
 * count of 0 or past the header refuses the packet, unchanged. */
static void
test_padding (void)
{
  check_ok (BYTES (0xA0, 96, SEQ_TS_SSRC,  0xD5, 0x00, 0x02),
            BYTES (0xA0, 100, SEQ_TS_SSRC,  0xD5, 0x00, 0x02));
  /* all of the payload is padding */
  check_ok (BYTES (0xA0, 96, SEQ_TS_SSRC,  0x00, 0x00, 0x03),
            BYTES (0xA0, 100, SEQ_TS_SSRC,  0x00, 0x00, 0x03));
  check_refused (BYTES (0xA0, 96, SEQ_TS_SSRC,  0xD5, 0x00, 0x00));
  check_refused (BYTES (0xA0, 96, SEQ_TS_SSRC,  0xD5, 0x00, 0x04));
  check_refused (BYTES (0xA0, 96, SEQ_TS_SSRC));
  /* the count may not reach into the extension block */
  check_refused (BYTES (0xB0, 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0x10, 0xAA, 0x00, 0x02));
}

/* bf_rtp_map_apply_packet: the same rewrite on a parsed packet, whose
 * header view follows. */
static void
test_apply_packet (void)
{
  guint8 pkt[] = { 0x90, 0x80 | 96, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,  0x10, 0xAA, 0x20, 0xBB };
  const guint8 want[] = { 0x90, 0x80 | 100, SEQ_TS_SSRC,  0xBE, 0xDE, 0x00, 0x01,
                          0x50, 0xAA, 0x30, 0xBB };
  BfPacket packet = { .data = pkt, .len = sizeof pkt };
  g_assert_true (bf_rtp_header_parse (pkt, sizeof pkt, &packet.rtp));
  BfRtpMap map = call_map ();
  bf_rtp_map_apply_packet (&map, &packet);
  g_assert_cmpmem (pkt, sizeof pkt, want, sizeof want);
  g_assert_cmpuint (packet.rtp.payload_type, ==, 100);
  g_assert_true (packet.rtp.marker);
  gsize len = 0;
  const guint8 *level = bf_rtp_header_find_extension (&packet.rtp, pkt, 5, &len);
  g_assert_true (level == pkt + 17);
  g_assert_cmpuint (len, ==, 1);
  /* identity: nothing changes */
  map.identity = TRUE;
  bf_rtp_map_apply_packet (&map, &packet);
  g_assert_cmpmem (pkt, sizeof pkt, want, sizeof want);
}

/* Applying the inverse map gives the packet back. */
static void
test_inverse (void)
{
  BfRtpMap fwd = call_map (), back = plain_map ();
  back.pt[109] = 111;
  back.pt[100] = 96;
  back.pt[101] = 97;
  back.ext[5] = 1;
  back.ext[3] = 2;
  back.ext[2] = 3;
  back.ext[14] = 4;
  const guint8 pkt[] = { 0x90, 0x80 | 97, SEQ_TS_SSRC,
                         0xBE, 0xDE, 0x00, 0x02,  0x10, 0xAA, 0x21, 0xBB, 0xCC, 0x30, 0xDD, 0x00 };
  const guint8 mid[] = { 0x90, 0x80 | 101, SEQ_TS_SSRC,
                         0xBE, 0xDE, 0x00, 0x02,  0x50, 0xAA, 0x31, 0xBB, 0xCC, 0x20, 0xDD, 0x00 };
  g_autofree guint8 *buf = g_memdup2 (pkt, sizeof pkt);
  g_assert_true (bf_rtp_map_apply (&fwd, buf, sizeof pkt));
  g_assert_cmpmem (buf, sizeof pkt, mid, sizeof mid);
  g_assert_true (bf_rtp_map_apply (&back, buf, sizeof pkt));
  g_assert_cmpmem (buf, sizeof pkt, pkt, sizeof pkt);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failing check marks its test "not ok" and the others still run. */
  g_test_set_nonfatal_assertions ();
  g_test_add_func ("/rtp-map/padding", test_padding);
  g_test_add_func ("/rtp-map/apply-packet", test_apply_packet);
  g_test_add_func ("/rtp-map/pt", test_pt);
  g_test_add_func ("/rtp-map/marker", test_marker);
  g_test_add_func ("/rtp-map/header-bits", test_header_bits);
  g_test_add_func ("/rtp-map/one-byte", test_one_byte);
  g_test_add_func ("/rtp-map/one-byte-id15", test_one_byte_id15);
  g_test_add_func ("/rtp-map/one-byte-unfit", test_one_byte_unfit);
  g_test_add_func ("/rtp-map/two-byte", test_two_byte);
  g_test_add_func ("/rtp-map/other-profile", test_other_profile);
  g_test_add_func ("/rtp-map/malformed", test_malformed);
  g_test_add_func ("/rtp-map/identity", test_identity);
  g_test_add_func ("/rtp-map/identity-malformed-ext", test_identity_malformed_ext);
  g_test_add_func ("/rtp-map/inverse", test_inverse);
  return g_test_run ();
}
