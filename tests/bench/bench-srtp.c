/* Not a test: per-packet SRTP cost of both DTLS-SRTP profiles, the way a
 * relay pays it (a sender's protect, then the relay's unprotect + protect
 * with the other leg's keys), as in reference/test-servers.md.
 *
 *   build/tests/bench/bench-srtp [packets]      (default 200000)
 *   build/tests/bench/bench-srtp contexts N...  cost of one protect (GCM,
 *                                               172 B) with N sessions in
 *                                               the process, round robin
 *                                               (a relay holds one per leg:
 *                                               2,000 calls = 4,000) */
#include <string.h>
#include <time.h>
#include <glib.h>

#include "srtp-session.h"

static gint64
thread_cpu_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void
bench (BfMediaSrtpProfile profile, gsize size, guint packets)
{
  guint8 k[4][16], s[4][14];
  for (guint i = 0; i < 4; i++)
    for (guint j = 0; j < 16; j++)
      {
        k[i][j] = (guint8) (i * 31 + j);
        if (j < 14)
          s[i][j] = (guint8) (i * 17 + j);
      }
  g_autoptr (GError) error = NULL;
  /* sender -> relay leg A; relay leg B -> receiver */
  BfMediaSrtp *sender = bf_media_srtp_new (profile, k[0], s[0], k[1], s[1], 8, &error);
  BfMediaSrtp *leg_a = bf_media_srtp_new (profile, k[1], s[1], k[0], s[0], 8, &error);
  BfMediaSrtp *leg_b = bf_media_srtp_new (profile, k[2], s[2], k[3], s[3], 8, &error);
  g_assert_no_error (error);

  guint8 buf[2048];
  gint64 start = g_get_monotonic_time (), cpu_start = thread_cpu_us ();
  for (guint i = 0; i < packets; i++)
    {
      guint16 seq = (guint16) i;
      memset (buf, 0x5a, size);
      buf[0] = 0x80;
      buf[1] = 111;
      buf[2] = seq >> 8;
      buf[3] = seq & 0xff;
      buf[4] = (i >> 24) & 0xff;
      buf[5] = (i >> 16) & 0xff;
      buf[8] = 0x12;
      gsize n = size;
      if (bf_media_srtp_protect (sender, FALSE, buf, &n, sizeof buf) != BF_MEDIA_SRTP_OK
          || bf_media_srtp_unprotect (leg_a, FALSE, buf, &n) != BF_MEDIA_SRTP_OK
          || bf_media_srtp_protect (leg_b, FALSE, buf, &n, sizeof buf) != BF_MEDIA_SRTP_OK)
        g_error ("SRTP failed at packet %u", i);
    }
  gint64 us = g_get_monotonic_time () - start, cpu = thread_cpu_us () - cpu_start;
  /* CPU time is what matters (and what other load on the machine does
   * not inflate as much as wall time). */
  g_print ("%-24s %5zu B: %.2f us CPU per packet (protect+unprotect+protect), "
           "%.2f us per operation; wall %.2f us\n", bf_media_srtp_profile_name (profile), size,
           (double) cpu / packets, (double) cpu / packets / 3, (double) us / packets);
  bf_media_srtp_free (sender);
  bf_media_srtp_free (leg_a);
  bf_media_srtp_free (leg_b);
}

/* Whether a packet's SRTP cost depends on how many sessions the process
 * holds (it did with libsrtp2 on Debian's NSS, whose key lookups grow with
 * the keys in the process; srtp-crypto.c keeps pre-keyed contexts). */
static void
bench_contexts (guint n)
{
  g_autoptr (GError) error = NULL;
  BfMediaSrtp **s = g_new0 (BfMediaSrtp *, n);
  for (guint i = 0; i < n; i++)
    {
      guint8 k[2][16], salt[2][14];
      for (guint j = 0; j < 16; j++)
        k[0][j] = (guint8) (i * 7 + j), k[1][j] = (guint8) (i * 11 + j + 3);
      for (guint j = 0; j < 14; j++)
        salt[0][j] = (guint8) (i * 5 + j), salt[1][j] = (guint8) (i * 13 + j + 1);
      s[i] = bf_media_srtp_new (BF_MEDIA_SRTP_AEAD_AES_128_GCM, k[0], salt[0], k[1], salt[1],
                                8, &error);
      g_assert_no_error (error);
    }
  guint8 buf[2048];
  guint packets = MAX (20000, 4 * n);
  gint64 cpu_start = 0;
  /* the first pass over the sessions (each one's first packet creates
   * its SSRC's stream) is not counted */
  for (guint i = 0; i < n + packets; i++)
    {
      if (i == n)
        cpu_start = thread_cpu_us ();
      memset (buf, 0x5a, 172);
      buf[0] = 0x80;
      buf[1] = 111;
      buf[2] = (guint8) ((i / n) >> 8);
      buf[3] = (guint8) (i / n);
      buf[8] = 0x12;
      gsize len = 172;
      if (bf_media_srtp_protect (s[i % n], FALSE, buf, &len, sizeof buf) != BF_MEDIA_SRTP_OK)
        g_error ("SRTP failed at packet %u", i);
    }
  gint64 cpu = thread_cpu_us () - cpu_start;
  g_print ("%6u sessions: %.2f us CPU per protect (AEAD_AES_128_GCM, 172 B)\n", n,
           (double) cpu / packets);
  for (guint i = 0; i < n; i++)
    bf_media_srtp_free (s[i]);
  g_free (s);
}

int
main (int argc, char **argv)
{
  if (argc > 2 && strcmp (argv[1], "contexts") == 0)
    {
      for (int a = 2; a < argc; a++)
        {
          guint n = (guint) g_ascii_strtoull (argv[a], NULL, 10);
          if (n > 0 && n <= 100000)
            bench_contexts (n);
        }
      return 0;
    }
  guint packets = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 200000;
  if (packets == 0 || packets > 65535 * 1000)
    packets = 200000;
  /* Sequence numbers wrap every 65536 packets; srtp-session.c follows
   * the rollover counter, so long runs are fine. */
  BfMediaSrtpProfile profiles[] = { BF_MEDIA_SRTP_AEAD_AES_128_GCM,
                                    BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80 };
  gsize sizes[] = { 172, 1200 };
  for (guint p = 0; p < G_N_ELEMENTS (profiles); p++)
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      bench (profiles[p], sizes[s], packets);
  return 0;
}
