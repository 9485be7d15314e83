/* relay/random.c: kernel randomness for ids and SSRCs.  What can be
 * checked of a CSPRNG from the outside: every byte of a buffer is written
 * (odd sizes, large ones), and draws do not repeat (a fixed or
 * low-entropy source would). */
#include <string.h>
#include <glib.h>

#include "random.h"

static void
test_fills_every_byte (void)
{
  static const gsize sizes[] = { 1, 3, 4, 7, 16, 255, 256, 257, 4096, 100000 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      gsize n = sizes[i];
      g_autofree guint8 *a = g_malloc0 (n + 8), *b = g_malloc0 (n + 8);
      memset (a, 0xA5, n + 8);
      memset (b, 0xA5, n + 8);
      bf_random_bytes (a, n);
      bf_random_bytes (b, n);
      /* Past the end: untouched. */
      for (gsize k = n; k < n + 8; k++)
        g_assert_cmpuint (a[k], ==, 0xA5);
      /* Each position written: two draws differ somewhere in every 16
       * bytes (a byte left alone would be 0xA5 in both). */
      for (gsize k = 0; k + 16 <= n; k += 16)
        g_assert_true (memcmp (a + k, b + k, 16) != 0);
      if (n >= 4)
        g_assert_true (memcmp (a, b, n) != 0);
    }
}

static void
test_draws_do_not_repeat (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree gint64 *v = g_new (gint64, 4096);
  guint32 or32 = 0, and32 = 0xffffffffu;
  for (guint i = 0; i < 4096; i++)
    {
      v[i] = (gint64) bf_random_u64 ();
      g_assert_false (g_hash_table_contains (seen, &v[i]));
      g_hash_table_add (seen, &v[i]);
      guint32 w = bf_random_u32 ();
      or32 |= w;
      and32 &= w;
    }
  /* Every bit of a u32 is seen set and clear. */
  g_assert_cmphex (or32, ==, 0xffffffffu);
  g_assert_cmphex (and32, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/random/fills-every-byte", test_fills_every_byte);
  g_test_add_func ("/random/draws-do-not-repeat", test_draws_do_not_repeat);
  return g_test_run ();
}
