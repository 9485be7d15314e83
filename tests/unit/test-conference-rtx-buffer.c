/* The SFU's retransmissions (modules/conference/rtx-buffer.c): a NACK
 * answered with the packets still held, rebuilt byte for byte from the
 * receiver's first bytes and the source's store; bounded by count and by
 * age (in the buffer and in the store); each packet resent at most once
 * per RTT-ish interval; misses counted; sequence numbers across the wrap. */
#include <string.h>
#include <glib.h>

#include "rtx-buffer.h"

#define MS 1000

typedef struct {
  guint n;
  guint16 seqs[64];
} Sent;

static void
on_send (const guint8 *pkt, gsize len, gpointer user_data)
{
  Sent *s = user_data;

  /* Each test packet: its sequence number in bytes 2-3 (as RTP), length seq % 50 + 12. */
  g_assert_cmpuint (len, >=, 12);
  guint16 seq = (guint16) (pkt[2] << 8 | pkt[3]);
  g_assert_cmpuint (len, ==, seq % 50 + 12);
  for (gsize i = 12; i < len; i++)
    g_assert_cmpuint (pkt[i], ==, (guint8) (seq + i));
  g_assert_cmpuint (s->n, <, G_N_ELEMENTS (s->seqs));
  s->seqs[s->n++] = seq;
}

/* The source's store, shared by the tests' buffers as by a room's receivers. */
static CfRtxStore *the_store;

/* A packet as the source's store keeps it (as built for every receiver:
 * no sequence number of theirs), then as this receiver got it: its own
 * sequence number in the 12 first bytes, which its buffer keeps. */
static void
store (CfRtxBuffer *b, guint16 seq, gint64 now)
{
  guint8 pkt[64] = { 0x80, 96 };
  gsize len = seq % 50 + 12;
  guint64 no;

  for (gsize i = 12; i < len; i++)
    pkt[i] = (guint8) (seq + i);
  no = cf_rtx_store_keep (the_store, pkt, len);
  g_assert_cmpuint (no, !=, 0);
  pkt[2] = (guint8) (seq >> 8);
  pkt[3] = (guint8) seq;
  cf_rtx_buffer_store (b, seq, pkt, len, 12, no, now);
}

static void
setup_store (guint capacity)
{
  g_clear_pointer (&the_store, cf_rtx_store_free);
  the_store = cf_rtx_store_new (capacity);
}

static void
test_answer_and_misses (void)
{
  g_autoptr (CfRtxBuffer) b = cf_rtx_buffer_new (512, 2 * G_USEC_PER_SEC);
  Sent sent = { 0 };

  setup_store (512);
  /* 65500..65535, 0..99 across the wrap, 10 ms apart. */
  for (guint i = 0; i < 136; i++)
    store (b, (guint16) (65500 + i), (gint64) i * 10 * MS);
  gint64 now = 136 * 10 * MS;
  guint16 nack[] = { 65534, 65535, 0, 1, 99, 100, 30000 };
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, G_N_ELEMENTS (nack), now, 50 * MS, on_send, &sent),
                    ==, 5);
  g_assert_cmpuint (sent.n, ==, 5);
  g_assert_cmpuint (sent.seqs[2], ==, 0);
  g_assert_cmpuint (sent.seqs[4], ==, 99);
  const CfRtxStats *st = cf_rtx_buffer_stats (b);
  g_assert_cmpuint (st->stored, ==, 136);
  g_assert_cmpuint (st->resent, ==, 5);
  g_assert_cmpuint (st->misses, ==, 2);     /* 100 never sent, 30000 neither */
}

static void
test_rate_limited_per_rtt (void)
{
  g_autoptr (CfRtxBuffer) b = cf_rtx_buffer_new (64, G_USEC_PER_SEC);
  Sent sent = { 0 };
  guint16 nack[] = { 7 };

  setup_store (64);
  store (b, 7, 0);
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 10 * MS, 80 * MS, on_send, &sent), ==, 1);
  /* NACKed again before our answer could have arrived: not resent. */
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 50 * MS, 80 * MS, on_send, &sent), ==, 0);
  g_assert_cmpuint (cf_rtx_buffer_stats (b)->rate_limited, ==, 1);
  /* One RTT later: again. */
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 91 * MS, 80 * MS, on_send, &sent), ==, 1);
  /* The RTT is clamped: 1 ms counts as 10 ms, unknown as 100 ms. */
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 96 * MS, 1 * MS, on_send, &sent), ==, 0);
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 102 * MS, 1 * MS, on_send, &sent), ==, 1);
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 190 * MS, 0, on_send, &sent), ==, 0);
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 203 * MS, 0, on_send, &sent), ==, 1);
  g_assert_cmpuint (sent.n, ==, 4);
  /* The same sequence number stored anew (a new packet) may be sent at once. */
  store (b, 7, 204 * MS);
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 1, 205 * MS, 0, on_send, &sent), ==, 1);
}

static void
test_bounded_by_count_and_age (void)
{
  g_autoptr (CfRtxBuffer) b = cf_rtx_buffer_new (16, 200 * MS);
  Sent sent = { 0 };
  guint16 old[] = { 0, 15, 16, 31 };

  setup_store (64);
  for (guint16 s = 0; s < 32; s++)
    store (b, s, 0);
  /* 16 slots: 0 and 15 were overwritten by 16 and 31. */
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, old, 4, 100 * MS, 0, on_send, &sent), ==, 2);
  g_assert_cmpuint (sent.seqs[0], ==, 16);
  g_assert_cmpuint (sent.seqs[1], ==, 31);
  g_assert_cmpuint (cf_rtx_buffer_stats (b)->misses, ==, 2);
  /* Older than 200 ms: a miss, not a stale packet. */
  guint16 aged[] = { 20 };
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, aged, 1, 201 * MS, 0, on_send, &sent), ==, 0);
  g_assert_cmpuint (cf_rtx_buffer_stats (b)->misses, ==, 3);
  /* Too large to keep, or empty: not kept, counted. */
  guint8 big[CF_RTX_PACKET_MAX + 1] = { 0 };
  g_assert_cmpuint (cf_rtx_store_keep (the_store, big, sizeof big), ==, 0);
  g_assert_cmpuint (cf_rtx_store_keep (the_store, big, 0), ==, 0);
  guint64 no = cf_rtx_store_keep (the_store, big, 100);
  cf_rtx_buffer_store (b, 40, big, sizeof big, 12, no, 300 * MS);
  cf_rtx_buffer_store (b, 41, big, 0, 0, no, 300 * MS);
  /* No packet in the store; a prefix longer than kept or than the packet. */
  cf_rtx_buffer_store (b, 42, big, 100, 12, 0, 300 * MS);
  cf_rtx_buffer_store (b, 43, big, 100, CF_RTX_PREFIX_MAX + 1, no, 300 * MS);
  cf_rtx_buffer_store (b, 44, big, 10, 12, no, 300 * MS);
  g_assert_cmpuint (cf_rtx_buffer_stats (b)->not_kept, ==, 5);
  guint16 s40[] = { 40, 41, 42, 43, 44 };
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, s40, 5, 300 * MS, 0, on_send, &sent), ==, 0);
  g_assert_cmpuint (cf_rtx_buffer_stats (b)->misses, ==, 8);
}

/* The rest of a packet is the store's: once the store has overwritten it
 * (a source sends more than its capacity while the receiver's buffer
 * still holds the packet's first bytes), a NACK of it is a miss, never
 * another packet's bytes. */
static void
test_rest_from_the_store (void)
{
  g_autoptr (CfRtxBuffer) b = cf_rtx_buffer_new (512, G_USEC_PER_SEC);
  g_autoptr (CfRtxBuffer) other = cf_rtx_buffer_new (512, G_USEC_PER_SEC);
  Sent sent = { 0 };
  guint16 nack[] = { 100, 115 };

  setup_store (16);
  for (guint16 s = 100; s < 116; s++)
    store (b, s, 0);
  /* Another receiver's packets, stored meanwhile, overwrite all but 115. */
  for (guint16 s = 200; s < 215; s++)
    store (other, s, 0);
  g_assert_cmpuint (cf_rtx_buffer_answer (b, the_store, nack, 2, 10 * MS, 0, on_send, &sent), ==, 1);
  g_assert_cmpuint (sent.seqs[0], ==, 115);
  g_assert_cmpuint (cf_rtx_buffer_stats (b)->misses, ==, 1);
  /* Without the store, nothing can be rebuilt. */
  guint16 again[] = { 115 };
  g_assert_cmpuint (cf_rtx_buffer_answer (b, NULL, again, 1, 500 * MS, 0, on_send, &sent), ==, 0);
}

static void
test_bad_capacity (void)
{
  if (g_test_subprocess ())
    {
      cf_rtx_buffer_new (500, G_USEC_PER_SEC);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*capacity*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conference-rtx-buffer/answer-and-misses", test_answer_and_misses);
  g_test_add_func ("/conference-rtx-buffer/rate-limited-per-rtt", test_rate_limited_per_rtt);
  g_test_add_func ("/conference-rtx-buffer/bounded-by-count-and-age", test_bounded_by_count_and_age);
  g_test_add_func ("/conference-rtx-buffer/rest-from-the-store", test_rest_from_the_store);
  g_test_add_func ("/conference-rtx-buffer/bad-capacity", test_bad_capacity);
  int rc = g_test_run ();
  g_clear_pointer (&the_store, cf_rtx_store_free);
  return rc;
}
