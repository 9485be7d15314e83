/* relay/media/srtp-session.c (SRTP on OpenSSL) against libsrtp2, the
 * reference: for both profiles, random keys and random packets (CSRCs,
 * header extensions, padding bit, marker), sequence numbers across the
 * 65535 -> 0 wrap, reordered, late and replayed packets, RTCP compounds.
 * Ours and libsrtp2 protecting the same packets must produce the same bytes;
 * each one's receiver must accept the other's packets with the same plain
 * text and refuse the same replays.  Then tampering, truncation, garbage,
 * the replay window against a model of its rule and the SSRC bound on ours
 * alone.  libsrtp2 is a test-only dependency. */
#include <string.h>
#include <glib.h>
#include <srtp2/srtp.h>

#include "srtp-crypto.h"
#include "srtp-session.h"

#define CAP 2048

typedef struct {
  BfMediaSrtpProfile profile;
  guint8 key[2][16], salt[2][14];   /* [0]: A -> B, [1]: B -> A */
  BfMediaSrtp *ours_a, *ours_b;     /* A sends with key 0, B receives key 0 */
  srtp_t lib_tx, lib_rx;            /* key 0 out, key 0 in */
} Pair;

static void
random_bytes (guint8 *p, gsize n)
{
  for (gsize i = 0; i < n; i++)
    p[i] = (guint8) g_test_rand_int_range (0, 256);
}

static srtp_t
lib_session (BfMediaSrtpProfile profile, const guint8 *key, const guint8 *salt,
             gboolean inbound, gboolean rtcp_auth_only)
{
  guint8 key_salt[32];
  gsize klen = bf_media_srtp_key_len (profile), slen = bf_media_srtp_salt_len (profile);
  memcpy (key_salt, key, klen);
  memcpy (key_salt + klen, salt, slen);
  srtp_policy_t p;
  memset (&p, 0, sizeof p);
  if (profile == BF_MEDIA_SRTP_AEAD_AES_128_GCM)
    {
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&p.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&p.rtcp);
    }
  else
    {
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&p.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&p.rtcp);
    }
  if (rtcp_auth_only)
    p.rtcp.sec_serv = sec_serv_auth;    /* SRTCP with the E-bit clear */
  p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  p.key = key_salt;
  p.window_size = 1024;                 /* as srtp-session.c */
  srtp_t s = NULL;
  g_assert_cmpint (srtp_create (&s, &p), ==, srtp_err_status_ok);
  return s;
}

static void
pair_init (Pair *p, BfMediaSrtpProfile profile, guint max_ssrcs, gboolean rtcp_auth_only)
{
  memset (p, 0, sizeof *p);
  p->profile = profile;
  random_bytes (&p->key[0][0], sizeof p->key);
  random_bytes (&p->salt[0][0], sizeof p->salt);
  g_autoptr (GError) error = NULL;
  p->ours_a = bf_media_srtp_new (profile, p->key[0], p->salt[0], p->key[1], p->salt[1],
                                 max_ssrcs, &error);
  g_assert_no_error (error);
  p->ours_b = bf_media_srtp_new (profile, p->key[1], p->salt[1], p->key[0], p->salt[0],
                                 max_ssrcs, &error);
  g_assert_no_error (error);
  p->lib_tx = lib_session (profile, p->key[0], p->salt[0], FALSE, rtcp_auth_only);
  p->lib_rx = lib_session (profile, p->key[0], p->salt[0], TRUE, FALSE);
}

static void
pair_clear (Pair *p)
{
  bf_media_srtp_free (p->ours_a);
  bf_media_srtp_free (p->ours_b);
  srtp_dealloc (p->lib_tx);
  srtp_dealloc (p->lib_rx);
}

/* A random RTP packet: CSRCs, an extension, marker, padding (well formed:
 * the last byte counts it), payload 0..1200 bytes. */
static gsize
make_rtp (guint8 *buf, guint32 ssrc, guint16 seq)
{
  guint cc = g_test_rand_bit () ? (guint) g_test_rand_int_range (0, 16) : 0;
  gboolean ext = g_test_rand_bit ();
  gboolean pad = g_test_rand_int_range (0, 4) == 0;
  buf[0] = (guint8) (0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc);
  buf[1] = (guint8) ((g_test_rand_bit () ? 0x80 : 0) | g_test_rand_int_range (96, 128));
  buf[2] = (guint8) (seq >> 8);
  buf[3] = (guint8) seq;
  random_bytes (buf + 4, 4);
  buf[8] = (guint8) (ssrc >> 24);
  buf[9] = (guint8) (ssrc >> 16);
  buf[10] = (guint8) (ssrc >> 8);
  buf[11] = (guint8) ssrc;
  gsize n = 12;
  random_bytes (buf + n, 4 * cc);
  n += 4 * cc;
  if (ext)
    {
      guint words = (guint) g_test_rand_int_range (0, 6);
      buf[n] = 0xbe;
      buf[n + 1] = 0xde;
      buf[n + 2] = 0;
      buf[n + 3] = (guint8) words;
      random_bytes (buf + n + 4, 4 * words);
      n += 4 + 4 * words;
    }
  gsize payload = (gsize) g_test_rand_int_range (0, 1201);
  random_bytes (buf + n, payload);
  n += payload;
  if (pad)
    {
      guint count = (guint) g_test_rand_int_range (1, 5);
      memset (buf + n, 0, count);
      n += count;
      buf[n - 1] = (guint8) count;
    }
  return n;
}

/* An RTCP compound: SR, RR with reports, SDES CNAME (RFC 3550 §6.4, §6.5). */
static gsize
make_rtcp (guint8 *buf, guint32 ssrc)
{
  gsize n = 0;
  guint types[3] = { 200, 201, 202 };
  guint parts = (guint) g_test_rand_int_range (1, 4);
  for (guint i = 0; i < parts; i++)
    {
      guint rc = (guint) g_test_rand_int_range (0, 3);
      guint words = (types[i] == 200 ? 6 : 1) + 6 * rc;
      if (types[i] == 202)
        rc = 1, words = 4;
      buf[n] = (guint8) (0x80 | rc);
      buf[n + 1] = (guint8) types[i];
      buf[n + 2] = (guint8) (words >> 8);
      buf[n + 3] = (guint8) words;
      buf[n + 4] = (guint8) (ssrc >> 24);
      buf[n + 5] = (guint8) (ssrc >> 16);
      buf[n + 6] = (guint8) (ssrc >> 8);
      buf[n + 7] = (guint8) ssrc;
      random_bytes (buf + n + 8, 4 * words - 4);
      n += 4 + 4 * words;
    }
  return n;
}

static BfMediaSrtpStatus
lib_status (srtp_err_status_t st)
{
  switch (st)
    {
    case srtp_err_status_ok:
      return BF_MEDIA_SRTP_OK;
    case srtp_err_status_auth_fail:
      return BF_MEDIA_SRTP_AUTH_FAIL;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return BF_MEDIA_SRTP_REPLAY;
    default:
      return BF_MEDIA_SRTP_FAILED;
    }
}

typedef struct {
  guint8 plain[CAP];
  gsize plain_len;
  guint8 prot[CAP];
  gsize prot_len;
  gboolean rtcp;
} Packet;

/* A send order with perturbations: each slot swaps with one up to @spread
 * later (reordering), a few go @late slots later. */
static void
perturb (guint *order, guint n, guint spread, guint late)
{
  for (guint i = 0; i + 1 < n; i++)
    if (g_test_rand_int_range (0, 4) == 0)
      {
        guint step = (guint) g_test_rand_int_range (1, (gint) spread + 1);
        guint j = MIN (n - 1, i + step);
        guint t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  for (guint k = 0; k < n / 50 && late > 0; k++)
    {
      guint i = (guint) g_test_rand_int_range (0, (gint) n);
      guint j = MIN (n - 1, i + late);
      guint t = order[i];
      memmove (order + i, order + i + 1, (j - i) * sizeof *order);
      order[j] = t;
    }
}

/* The differential run: 3 SSRCs starting near the sequence wrap, RTP and
 * RTCP mixed; both senders in the same perturbed order, both receivers in
 * another one with duplicates. */
static void
differential (BfMediaSrtpProfile profile, gboolean rtcp_auth_only, guint late)
{
  Pair p;
  pair_init (&p, profile, 16, rtcp_auth_only);
  const guint n = 4000;
  guint32 ssrcs[3];
  guint16 seq[3];
  for (guint k = 0; k < 3; k++)
    {
      ssrcs[k] = g_test_rand_int ();
      seq[k] = (guint16) (65535 - g_test_rand_int_range (0, 300));
    }
  /* libsrtp2's first SRTCP index is 1, RFC 3711 §3.4's (and ours) 0: one
   * RTCP packet per SSRC first so the indexes line up. */
  for (guint k = 0; k < 3; k++)
    {
      guint8 buf[CAP];
      gsize len = make_rtcp (buf, ssrcs[k]);
      g_assert_cmpint (bf_media_srtp_protect (p.ours_a, TRUE, buf, &len, sizeof buf), ==,
                       BF_MEDIA_SRTP_OK);
    }

  Packet *pk = g_new0 (Packet, n);
  for (guint i = 0; i < n; i++)
    {
      guint k = (guint) g_test_rand_int_range (0, 3);
      pk[i].rtcp = g_test_rand_int_range (0, 10) == 0;
      pk[i].plain_len = pk[i].rtcp ? make_rtcp (pk[i].plain, ssrcs[k])
                                   : make_rtp (pk[i].plain, ssrcs[k], seq[k]++);
    }
  g_autofree guint *order = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    order[i] = i;
  perturb (order, n, 8, late);

  guint sent = 0, refused = 0, identical = 0;
  g_autofree gboolean *ok = g_new0 (gboolean, n);
  for (guint o = 0; o < n; o++)
    {
      Packet *x = &pk[order[o]];
      guint8 a[CAP], b[CAP];
      gsize la = x->plain_len, lb = x->plain_len;
      memcpy (a, x->plain, la);
      memcpy (b, x->plain, lb);
      BfMediaSrtpStatus sa = bf_media_srtp_protect (p.ours_a, x->rtcp, a, &la, sizeof a);
      int ilb = (int) lb;
      BfMediaSrtpStatus sb = lib_status (x->rtcp ? srtp_protect_rtcp (p.lib_tx, b, &ilb)
                                                 : srtp_protect (p.lib_tx, b, &ilb));
      g_assert_cmpint (sa, ==, sb);
      if (sa != BF_MEDIA_SRTP_OK)
        {
          g_assert_cmpint (sa, ==, BF_MEDIA_SRTP_REPLAY);   /* too late to send */
          refused++;
          continue;
        }
      lb = (gsize) ilb;
      if (!rtcp_auth_only || !x->rtcp)
        {
          /* deterministic: same keys and index, same bytes */
          g_assert_cmpmem (a, la, b, lb);
          identical++;
        }
      else
        {
          g_assert_cmpuint (lb, ==, la);
          g_assert_cmpint (b[lb - (profile == BF_MEDIA_SRTP_AEAD_AES_128_GCM ? 4 : 14)] & 0x80,
                           ==, 0);
        }
      /* keep libsrtp2's packet for our receiver, ours for libsrtp2's */
      memcpy (x->prot, b, lb);
      x->prot_len = lb;
      ok[order[o]] = TRUE;
      sent++;
      /* ours -> libsrtp2's receiver (it sees them in send order) */
      int il = (int) la;
      srtp_err_status_t st = x->rtcp ? srtp_unprotect_rtcp (p.lib_rx, a, &il)
                                     : srtp_unprotect (p.lib_rx, a, &il);
      g_assert_cmpint (st, ==, srtp_err_status_ok);
      g_assert_cmpmem (a, (gsize) il, x->plain, x->plain_len);
    }
  g_assert_cmpuint (sent, >, n * 9 / 10);
  g_assert_cmpuint (identical, >, n / 2);
  if (late >= 1024)
    g_assert_cmpuint (refused, >, 0);

  /* libsrtp2 -> ours, in another order and with every 7th packet twice:
   * our receiver against libsrtp2's on the same stream of packets. */
  srtp_t lib_rx2 = lib_session (profile, p.key[0], p.salt[0], TRUE, FALSE);
  for (guint i = 0; i < n; i++)
    order[i] = i;
  perturb (order, n, 8, late);
  guint delivered = 0, replays = 0, unencrypted = 0;
  for (guint o = 0; o < n; o++)
    {
      Packet *x = &pk[order[o]];
      if (!ok[order[o]])
        continue;
      BfMediaSrtpStatus first = BF_MEDIA_SRTP_FAILED;
      for (guint twice = 0; twice < (o % 7 == 0 ? 2u : 1u); twice++)
        {
          guint8 a[CAP], b[CAP];
          gsize la = x->prot_len;
          int ilb = (int) x->prot_len;
          memcpy (a, x->prot, la);
          memcpy (b, x->prot, la);
          BfMediaSrtpStatus sa = bf_media_srtp_unprotect (p.ours_b, x->rtcp, a, &la);
          srtp_err_status_t stb = x->rtcp ? srtp_unprotect_rtcp (lib_rx2, b, &ilb)
                                          : srtp_unprotect (lib_rx2, b, &ilb);
          /* libsrtp2's SRTCP window is 128 packets, ours 1024: a late
           * SRTCP packet it calls old, ours may still take. */
          if (x->rtcp && rtcp_auth_only)
            {
              /* E clear: RFC 3711 §3.4 lets the sender choose per packet
               * and the flag is authenticated, so ours takes it; libsrtp2
               * takes it with GCM, refuses it (cant_check) with AES-CM. */
              if (profile == BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80)
                g_assert_cmpint (stb, ==, srtp_err_status_cant_check);
              else
                g_assert_cmpint (sa, ==, lib_status (stb));
              if (twice == 0)
                {
                  g_assert_cmpint (sa, ==, BF_MEDIA_SRTP_OK);
                  unencrypted++;
                }
            }
          else if (!(x->rtcp && stb == srtp_err_status_replay_old && sa == BF_MEDIA_SRTP_OK))
            g_assert_cmpint (sa, ==, lib_status (stb));
          /* A copy of an accepted packet is a replay; a copy of a refused
           * one (a late packet whose ROC both estimate past a wrap fails
           * authentication) is refused the same way again. */
          if (twice == 1)
            g_assert_cmpint (sa, ==, first == BF_MEDIA_SRTP_OK ? BF_MEDIA_SRTP_REPLAY : first);
          else
            first = sa;
          if (sa == BF_MEDIA_SRTP_OK)
            {
              g_assert_cmpmem (a, la, x->plain, x->plain_len);
              delivered++;
            }
          else
            replays++;
        }
    }
  g_assert_cmpuint (delivered, >, sent * 9 / 10);
  if (rtcp_auth_only)
    g_assert_cmpuint (unencrypted, >, n / 20);
  g_assert_cmpuint (replays, >=, n / 7 - 1);
  srtp_dealloc (lib_rx2);
  g_free (pk);
  pair_clear (&p);
}

static void
test_differential (gconstpointer data)
{
  BfMediaSrtpProfile profile = GPOINTER_TO_INT (data);
  for (guint round = 0; round < 4; round++)
    differential (profile, FALSE, round < 2 ? 40 : 3500);
}

/* SRTCP with the E-bit clear (authenticated, not encrypted) from libsrtp2:
 * ours takes it (RFC 3711 §3.4, RFC 7714 §9.3) with the same plain text. */
static void
test_rtcp_unencrypted (gconstpointer data)
{
  differential (GPOINTER_TO_INT (data), TRUE, 20);
}

/* Sequence numbers jumping by up to 2^15 - 1 across several wraps: both
 * sides follow the ROC (RFC 3711 §3.3.1), and a packet from just before a
 * wrap arriving after it still decrypts. */
static void
test_roc_jumps (gconstpointer data)
{
  Pair p;
  pair_init (&p, GPOINTER_TO_INT (data), 4, FALSE);
  guint32 ssrc = g_test_rand_int ();
  guint32 s = 65000;
  guint8 a[CAP], b[CAP], plain[CAP];
  for (guint i = 0; i < 40; i++)
    {
      s += (guint32) g_test_rand_int_range (1, 32767);
      gsize n = make_rtp (plain, ssrc, (guint16) s);
      gsize la = n;
      memcpy (a, plain, n);
      memcpy (b, plain, n);
      int ilb = (int) n;
      g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, a, &la, sizeof a), ==,
                       BF_MEDIA_SRTP_OK);
      g_assert_cmpint (srtp_protect (p.lib_tx, b, &ilb), ==, srtp_err_status_ok);
      g_assert_cmpmem (a, la, b, (gsize) ilb);
      g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, b, &la), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpmem (b, la, plain, n);
    }
  g_assert_cmpuint (s >> 16, >=, 5);
  pair_clear (&p);
}

static gsize
rtp_header_len (const guint8 *p)
{
  gsize h = 12 + 4 * (gsize) (p[0] & 0x0f);
  if (p[0] & 0x10)
    h += 4 + 4 * (((gsize) p[h + 2] << 8) | p[h + 3]);
  return h;
}

static void
protect_one (BfMediaSrtp *s, gboolean rtcp, guint32 ssrc, guint16 seq, guint8 *buf, gsize *len,
             guint8 *plain, gsize *plain_len)
{
  *plain_len = rtcp ? make_rtcp (plain, ssrc) : make_rtp (plain, ssrc, seq);
  memcpy (buf, plain, *plain_len);
  *len = *plain_len;
  g_assert_cmpint (bf_media_srtp_protect (s, rtcp, buf, len, CAP), ==, BF_MEDIA_SRTP_OK);
}

/* Any flipped bit anywhere is refused, the untouched packet still taken;
 * the refused ones did not move the replay window or make streams. */
static void
test_tamper (gconstpointer data)
{
  Pair p;
  pair_init (&p, GPOINTER_TO_INT (data), 1, FALSE);
  guint32 ssrc = g_test_rand_int ();
  for (guint r = 0; r < 6; r++)
    {
      gboolean rtcp = r % 2 == 1;
      guint8 buf[CAP], plain[CAP], t[CAP];
      gsize len, plain_len;
      protect_one (p.ours_a, rtcp, ssrc, (guint16) (100 + r), buf, &len, plain, &plain_len);
      gsize hdr = rtcp ? 8 : rtp_header_len (plain);
      gsize eword = len - (GPOINTER_TO_INT (data) == BF_MEDIA_SRTP_AEAD_AES_128_GCM ? 4 : 14);
      for (gsize i = 0; i < len; i++)
        {
          memcpy (t, buf, len);
          t[i] ^= (guint8) (1u << g_test_rand_int_range (0, 8));
          gsize tl = len;
          BfMediaSrtpStatus st = bf_media_srtp_unprotect (p.ours_b, rtcp, t, &tl);
          g_assert_cmpint (st, !=, BF_MEDIA_SRTP_OK);
          if (rtcp && i >= eword && i < eword + 4)
            /* E-bit or index: another index, maybe one already seen */
            g_assert_true (st == BF_MEDIA_SRTP_AUTH_FAIL || st == BF_MEDIA_SRTP_REPLAY);
          else if (i >= hdr || i == 1 || (!rtcp && i >= 4 && i < 8) || (rtcp && i < 4 && i > 0))
            /* payload, tag; PT, marker, timestamp, RTCP length: only the
             * tag can tell */
            g_assert_cmpint (st, ==, BF_MEDIA_SRTP_AUTH_FAIL);
        }
      gsize l = len;
      memcpy (t, buf, len);
      g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, rtcp, t, &l), ==, BF_MEDIA_SRTP_OK);
      g_assert_cmpmem (t, l, plain, plain_len);
      l = len;
      memcpy (t, buf, len);
      g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, rtcp, t, &l), ==,
                       BF_MEDIA_SRTP_REPLAY);
    }
  pair_clear (&p);
}

/* Too old: 1024 packets behind the highest is refused as a replay even if
 * never seen; 1023 behind still taken once. */
static void
test_too_old (gconstpointer data)
{
  Pair p;
  pair_init (&p, GPOINTER_TO_INT (data), 4, FALSE);
  guint32 ssrc = g_test_rand_int ();
  guint8 pk[3][CAP], plain[CAP];
  gsize len[3], pl;
  guint16 seqs[3] = { 5000, 5000 - 1024, 5000 - 1023 };
  /* protect the old ones first (the sender's window is the same) */
  protect_one (p.ours_a, FALSE, ssrc, seqs[1], pk[1], &len[1], plain, &pl);
  protect_one (p.ours_a, FALSE, ssrc, seqs[2], pk[2], &len[2], plain, &pl);
  protect_one (p.ours_a, FALSE, ssrc, seqs[0], pk[0], &len[0], plain, &pl);
  g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, pk[0], &len[0]), ==,
                   BF_MEDIA_SRTP_OK);
  g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, pk[1], &len[1]), ==,
                   BF_MEDIA_SRTP_REPLAY);
  g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, pk[2], &len[2]), ==,
                   BF_MEDIA_SRTP_OK);
  /* and the sender refuses to send one now too old */
  guint8 buf[CAP];
  gsize bl;
  pl = make_rtp (buf, ssrc, (guint16) (5000 - 1500));
  bl = pl;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, buf, &bl, sizeof buf), ==,
                   BF_MEDIA_SRTP_REPLAY);
  pair_clear (&p);
}

/* The replay window against a model of its rule (RFC 3711 §3.3.2: above
 * the highest, new; 1024 or more behind it, refused; else refused once
 * seen), on the sender's side, where belfry refuses to send an index twice:
 * runs of the next few indices, jumps within a word, across words, and
 * past the whole window, then late packets from 0 to 1100 behind (some
 * sent, some too old, some not yet seen).  Each status must be the
 * model's, so the ring of words the window is kept in (srtp-session.c)
 * forgets nothing inside the window and keeps nothing outside. */
static void
test_window_model (gconstpointer data)
{
  Pair p;
  pair_init (&p, GPOINTER_TO_INT (data), 4, FALSE);
  guint32 ssrc = g_test_rand_int ();
  g_autoptr (GHashTable) sent = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree gint64 *keys = g_new (gint64, 20000);
  gint64 top = -1;
  guint too_old = 0, seen = 0, taken = 0;
  for (guint i = 0; i < 20000; i++)
    {
      gint64 index;
      guint r = (guint) g_test_rand_int_range (0, 100);
      if (top < 0)
        index = g_test_rand_int_range (40000, 60000);
      else if (r < 60)
        index = top + g_test_rand_int_range (1, 4);
      else if (r < 70)
        index = top + g_test_rand_int_range (4, 200);
      else if (r < 73)
        index = top + g_test_rand_int_range (1000, 1300);
      else
        index = top - g_test_rand_int_range (0, 1101);
      gboolean model_refuses = top >= 0 && index <= top
                               && (top - index >= 1024 || g_hash_table_contains (sent, &index));
      guint8 buf[CAP];
      gsize len = make_rtp (buf, ssrc, (guint16) index);
      BfMediaSrtpStatus st = bf_media_srtp_protect (p.ours_a, FALSE, buf, &len, sizeof buf);
      g_assert_cmpint (st, ==, model_refuses ? BF_MEDIA_SRTP_REPLAY : BF_MEDIA_SRTP_OK);
      if (model_refuses)
        {
          if (top - index >= 1024)
            too_old++;
          else
            seen++;
          continue;
        }
      taken++;
      keys[i] = index;
      g_hash_table_add (sent, &keys[i]);
      top = MAX (top, index);
    }
  /* Every part of the rule was exercised. */
  g_assert_cmpuint (too_old, >, 50);
  g_assert_cmpuint (seen, >, 50);
  g_assert_cmpuint (taken, >, 10000);
  pair_clear (&p);
}

/* max_ssrcs: forged packets of new SSRCs use no slot; authenticated ones
 * do, the one after the last slot is SSRC_LIMIT on both sides; RTP and
 * RTCP of one SSRC share one slot (rtcp-mux).  With 2 slots, and with 9
 * (more than srtp-session.c keeps without an allocation: the table grows,
 * and every stream keeps its state: a packet of each is still taken once
 * and refused as a replay the second time). */
static void
ssrc_limit (BfMediaSrtpProfile profile, guint32 max)
{
  Pair p;
  pair_init (&p, profile, max, FALSE);
  guint8 buf[CAP], plain[CAP], copy[CAP];
  gsize len, pl;
  for (guint i = 0; i < 10; i++)
    {
      gsize n = make_rtp (buf, 0x1000 + i, 7);
      memset (buf + n, 0xab, 16);
      n += 16;
      g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, buf, &n), ==,
                       BF_MEDIA_SRTP_AUTH_FAIL);
    }
  for (guint32 ssrc = 1; ssrc <= max; ssrc++)
    for (guint rtcp = 0; rtcp < 2; rtcp++)
      {
        protect_one (p.ours_a, rtcp, ssrc, 9, buf, &len, plain, &pl);
        g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, rtcp, buf, &len), ==,
                         BF_MEDIA_SRTP_OK);
      }
  for (guint32 ssrc = 1; ssrc <= max; ssrc++)
    {
      gsize cl;
      protect_one (p.ours_a, FALSE, ssrc, 10, buf, &len, plain, &pl);
      memcpy (copy, buf, len);
      cl = len;
      g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, buf, &len), ==,
                       BF_MEDIA_SRTP_OK);
      g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, copy, &cl), ==,
                       BF_MEDIA_SRTP_REPLAY);
    }
  pl = make_rtp (buf, max + 1, 9);
  len = pl;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, buf, &len, sizeof buf), ==,
                   BF_MEDIA_SRTP_SSRC_LIMIT);
  /* one SSRC more, protected elsewhere (libsrtp2), is refused by ours */
  pl = make_rtp (buf, max + 1, 9);
  int il = (int) pl;
  g_assert_cmpint (srtp_protect (p.lib_tx, buf, &il), ==, srtp_err_status_ok);
  len = (gsize) il;
  g_assert_cmpint (bf_media_srtp_unprotect (p.ours_b, FALSE, buf, &len), ==,
                   BF_MEDIA_SRTP_SSRC_LIMIT);
  pair_clear (&p);
}

static void
test_ssrc_limit (gconstpointer data)
{
  ssrc_limit (GPOINTER_TO_INT (data), 2);
  ssrc_limit (GPOINTER_TO_INT (data), 9);
}

/* Truncations of real packets and random garbage: never OK, and (under
 * ASan) never a read past the given length: each one is copied into a
 * buffer of exactly its size. */
static void
test_malformed (gconstpointer data)
{
  Pair p;
  pair_init (&p, GPOINTER_TO_INT (data), 8, FALSE);
  guint8 buf[CAP], plain[CAP];
  gsize len, pl;
  for (guint r = 0; r < 40; r++)
    {
      gboolean rtcp = r % 2;
      protect_one (p.ours_a, rtcp, 77, (guint16) r, buf, &len, plain, &pl);
      for (gsize cut = 0; cut < len; cut++)
        {
          guint8 *t = g_memdup2 (buf, MAX (cut, 1));
          gsize tl = cut;
          BfMediaSrtpStatus st = bf_media_srtp_unprotect (p.ours_b, rtcp, t, &tl);
          g_assert_true (st == BF_MEDIA_SRTP_MALFORMED || st == BF_MEDIA_SRTP_AUTH_FAIL);
          if (cut < (rtcp ? 8u : 12u))
            g_assert_cmpint (st, ==, BF_MEDIA_SRTP_MALFORMED);
          g_free (t);
        }
    }
  for (guint r = 0; r < 3000; r++)
    {
      gsize n = (gsize) g_test_rand_int_range (0, 200);
      guint8 *t = g_malloc (MAX (n, 1));
      random_bytes (t, n);
      if (n > 0 && g_test_rand_bit ())
        t[0] = (guint8) (0x80 | (t[0] & 0x3f));
      gsize tl = n;
      BfMediaSrtpStatus st = bf_media_srtp_unprotect (p.ours_b, r % 2, t, &tl);
      g_assert_cmpint (st, !=, BF_MEDIA_SRTP_OK);
      g_free (t);
    }
  /* protect: not RTP, header past the end, too long, no room */
  memset (buf, 0, sizeof buf);
  len = 11;
  buf[0] = 0x80;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, buf, &len, sizeof buf), ==,
                   BF_MEDIA_SRTP_MALFORMED);
  len = 12;
  buf[0] = 0x40;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, buf, &len, sizeof buf), ==,
                   BF_MEDIA_SRTP_MALFORMED);
  buf[0] = 0x8f;    /* 15 CSRCs in a 20-byte packet */
  len = 20;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, buf, &len, sizeof buf), ==,
                   BF_MEDIA_SRTP_MALFORMED);
  buf[0] = 0x90;    /* extension header of 0xffff words */
  buf[14] = buf[15] = 0xff;
  len = 40;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, buf, &len, sizeof buf), ==,
                   BF_MEDIA_SRTP_MALFORMED);
  buf[0] = 0x80;
  len = 100;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, buf, &len, 100 + BF_MEDIA_SRTP_OVERHEAD - 1),
                   ==, BF_MEDIA_SRTP_MALFORMED);
  len = BF_MEDIA_MAX_PACKET_SIZE + 1;
  g_autofree guint8 *big = g_malloc0 (len + BF_MEDIA_SRTP_OVERHEAD);
  big[0] = 0x80;
  g_assert_cmpint (bf_media_srtp_protect (p.ours_a, FALSE, big, &len,
                                          len + BF_MEDIA_SRTP_OVERHEAD),
                   ==, BF_MEDIA_SRTP_MALFORMED);
  pair_clear (&p);
}

static void
unhex (const char *hex, guint8 *out, gsize len)
{
  g_assert_cmpuint (strlen (hex), ==, 2 * len);
  for (gsize i = 0; i < len; i++)
    out[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
}

/* RFC 3711 Appendix B.3: the key derivation test vectors. */
static void
test_kdf_vectors (void)
{
  guint8 key[16], salt[14], want[48], got[48];
  unhex ("E1F97A0D3E018BE0D64FA32C06DE4139", key, sizeof key);
  unhex ("0EC675AD498AFEEBB6960B3AABE6", salt, sizeof salt);
  g_assert_true (bf_srtp_crypto_derive (key, salt, 14, 0x00, got, 16));
  unhex ("C61E7A93744F39EE10734AFE3FF7A087", want, 16);
  g_assert_cmpmem (got, 16, want, 16);
  g_assert_true (bf_srtp_crypto_derive (key, salt, 14, 0x02, got, 14));
  unhex ("30CBBC08863D8C85D49DB34A9AE1", want, 14);
  g_assert_cmpmem (got, 14, want, 14);
  g_assert_true (bf_srtp_crypto_derive (key, salt, 14, 0x01, got, 48));
  unhex ("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
         "E049646C43D9327AD175578EF7227098", want, 48);
  g_assert_cmpmem (got, 48, want, 48);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (srtp_init (), ==, srtp_err_status_ok);
  g_test_add_func ("/srtp-openssl/kdf-rfc3711-b3", test_kdf_vectors);
  struct {
    const char *name;
    BfMediaSrtpProfile profile;
  } profiles[] = { { "gcm", BF_MEDIA_SRTP_AEAD_AES_128_GCM },
                   { "aes-cm", BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80 } };
  for (guint i = 0; i < G_N_ELEMENTS (profiles); i++)
    {
      gconstpointer d = GINT_TO_POINTER (profiles[i].profile);
      const char *n = profiles[i].name;
      g_autofree char *a = g_strdup_printf ("/srtp-openssl/%s/differential", n);
      g_autofree char *b = g_strdup_printf ("/srtp-openssl/%s/rtcp-unencrypted", n);
      g_autofree char *c = g_strdup_printf ("/srtp-openssl/%s/roc-jumps", n);
      g_autofree char *e = g_strdup_printf ("/srtp-openssl/%s/tamper", n);
      g_autofree char *f = g_strdup_printf ("/srtp-openssl/%s/too-old", n);
      g_autofree char *g = g_strdup_printf ("/srtp-openssl/%s/ssrc-limit", n);
      g_autofree char *h = g_strdup_printf ("/srtp-openssl/%s/malformed", n);
      g_autofree char *w = g_strdup_printf ("/srtp-openssl/%s/window-model", n);
      g_test_add_data_func (a, d, test_differential);
      g_test_add_data_func (b, d, test_rtcp_unencrypted);
      g_test_add_data_func (c, d, test_roc_jumps);
      g_test_add_data_func (e, d, test_tamper);
      g_test_add_data_func (f, d, test_too_old);
      g_test_add_data_func (g, d, test_ssrc_limit);
      g_test_add_data_func (h, d, test_malformed);
      g_test_add_data_func (w, d, test_window_model);
    }
  int rc = g_test_run ();
  srtp_shutdown ();
  return rc;
}
