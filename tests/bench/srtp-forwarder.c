/* Not a test: the baseline of tests/bench/bench_echo.py.  A minimal
 * single-thread SRTP echo on one UDP socket: recvmmsg (batch 64), per
 * packet SRTP unprotect with the sender's leg key, SSRC rewrite
 * (0x10000000+I -> 0x20000000+I), protect with the echo leg's key (a
 * different key: real re-keying), sendmmsg back to the source.  Keys and
 * the SRTP code are belfry's own (relay/media/srtp-session.c; replay
 * protection on); per-session contexts are found by the source port.
 *
 *   srtp-forwarder PORT GCM|AES_CM     (runs until SIGTERM; prints
 *                                       "forwarded=N dropped=N" on exit)
 *
 * Relay mode, the baseline of tests/bench/bench_call.py (pass-through, no
 * SSRC rewriting): N calls, two UDP sockets per call as a relay has (leg A
 * towards alice, leg B towards bob; ephemeral ports on 127.0.0.1, printed
 * as "ports A0 B0 A1 B1 ..."), one epoll over all of them.  A socket
 * latches its peer's address from the first packet it receives (as a relay
 * without ICE does).  Per readable socket: recvmmsg (batch 64), per packet
 * SRTP unprotect with the incoming leg's key and protect with the other
 * leg's (different keys per leg and direction: real re-keying; SSRCs and
 * payload unchanged), sendmmsg on the other leg's socket to its latched
 * peer.  Keys: bench_keys (i, 0..3), as call-load.c srtp mode has them.
 *
 *   srtp-forwarder relay N GCM|AES_CM  (until SIGTERM; same exit line)
 *
 * Fan-out mode, the baseline of tests/bench/bench_sfu.py (an SFU room of N
 * participants, what belfry's XEP-0521 forwarding does without its header
 * rewriting): one UDP socket per participant (ephemeral ports on
 * 127.0.0.1, printed as "ports P0 P1 ..."), one epoll over all of them; a
 * socket latches its participant's address from the first packet it
 * receives.  Per readable socket: recvmmsg (batch 64), each packet SRTP
 * unprotected once with that participant's key, then for each of the
 * other N-1 participants (latched) copied, protected with that
 * receiver's key (one SRTP context per receiver, every sender's SSRC a
 * stream of it: a key per receiver, as an SFU has one per session) and
 * sent with one sendmmsg per receiver and batch on the receiver's socket.
 * SSRCs, sequence numbers and payload unchanged.  Keys: bench_keys (i, 0)
 * participant i -> forwarder, bench_keys (i, 1) forwarder -> i, as
 * sfu-load.c srtp mode has them.
 *
 * The same fan-out as the room's: with AUDIO and VIDEO (comma-separated
 * participant indexes, or "all"), only those participants' audio (PT 111)
 * and video (PT 96) is forwarded, as the room forwards only its talkers'
 * audio and its last N speakers' video; the rest is unprotected (its
 * authentication checked, as the room does) and withheld.
 *
 *   srtp-forwarder fanout N GCM|AES_CM [AUDIO VIDEO] (until SIGTERM; prints
 *                    "forwarded=N dropped=N received=N withheld=N") */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* recvmmsg, sendmmsg (also set by the build) */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib.h>

#include "srtp-session.h"

#define BATCH 64
#define BUF 2048

static volatile sig_atomic_t stop;
static void on_term (int sig) { (void) sig; stop = 1; }

static void
bench_keys (guint i, guint leg, guint8 key[16], guint8 salt[14])
{
  for (guint j = 0; j < 16; j++)
    key[j] = (guint8) (i * 131 + leg * 71 + j * 13 + 1);
  for (guint j = 0; j < 14; j++)
    salt[j] = (guint8) (i * 37 + leg * 53 + j * 7 + 3);
}

typedef struct {
  int fd[2];                       /* 0: leg A (alice), 1: leg B (bob) */
  BfMediaSrtp *srtp[2];            /* per leg: rx that leg's peer, tx to it */
  struct sockaddr_in peer[2];
  gboolean latched[2];
} RelayCall;

static int
relay_main (int argc, char **argv)
{
  guint n = (guint) atoi (argv[2]);
  if (n == 0 || n > 4096)
    {
      fprintf (stderr, "relay: 1..4096 calls\n");
      return 2;
    }
  BfMediaSrtpProfile profile = g_ascii_strcasecmp (argv[3], "GCM") == 0
                               ? BF_MEDIA_SRTP_AEAD_AES_128_GCM
                               : BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
  GError *error = NULL;
  if (!bf_media_srtp_library_init (&error))
    return 1;
  int ep = epoll_create1 (0);
  RelayCall *calls = g_new0 (RelayCall, n);
  GString *ports = g_string_new ("ports");
  for (guint i = 0; i < n; i++)
    {
      guint8 k[4][16], salt[4][14];
      for (guint j = 0; j < 4; j++)
        bench_keys (i, j, k[j], salt[j]);
      /* leg A: rx alice->relay (0), tx relay->alice (3);
       * leg B: rx bob->relay (2), tx relay->bob (1) */
      calls[i].srtp[0] = bf_media_srtp_new (profile, k[3], salt[3], k[0], salt[0], 8, &error);
      calls[i].srtp[1] = bf_media_srtp_new (profile, k[1], salt[1], k[2], salt[2], 8, &error);
      if (calls[i].srtp[0] == NULL || calls[i].srtp[1] == NULL)
        return 1;
      for (int l = 0; l < 2; l++)
        {
          int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
          struct sockaddr_in a = { .sin_family = AF_INET };
          inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
          socklen_t sl = sizeof a;
          if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) < 0
              || getsockname (fd, (struct sockaddr *) &a, &sl) < 0)
            {
              perror ("socket");
              return 1;
            }
          calls[i].fd[l] = fd;
          struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (guint64) i << 1 | l };
          epoll_ctl (ep, EPOLL_CTL_ADD, fd, &ev);
          g_string_append_printf (ports, " %u", ntohs (a.sin_port));
        }
    }
  struct sigaction sa = { .sa_handler = on_term };
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  printf ("%s\nready\n", ports->str);
  fflush (stdout);
  g_string_free (ports, TRUE);

  static guint8 bufs[BATCH][BUF];
  struct mmsghdr in[BATCH], out[BATCH];
  struct iovec iov_in[BATCH], iov_out[BATCH];
  struct sockaddr_in from[BATCH];
  struct epoll_event evs[64];
  guint64 forwarded = 0, dropped = 0;
  while (!stop)
    {
      int ne = epoll_wait (ep, evs, 64, 200);
      if (ne < 0)
        {
          if (errno == EINTR)
            continue;
          perror ("epoll_wait");
          break;
        }
      for (int e = 0; e < ne; e++)
        {
          RelayCall *c = &calls[evs[e].data.u64 >> 1];
          int l = (int) (evs[e].data.u64 & 1), o = !l;
          for (int k = 0; k < BATCH; k++)
            {
              iov_in[k] = (struct iovec) { bufs[k], BUF - BF_MEDIA_SRTP_OVERHEAD };
              in[k] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[k],
                                                      .msg_namelen = sizeof from[k],
                                                      .msg_iov = &iov_in[k], .msg_iovlen = 1 } };
            }
          int r = recvmmsg (c->fd[l], in, BATCH, MSG_DONTWAIT, NULL);
          if (r <= 0)
            continue;
          if (!c->latched[l])
            {
              c->peer[l] = from[0];
              c->latched[l] = TRUE;
            }
          int m = 0;
          for (int k = 0; k < r; k++)
            {
              guint8 *d = bufs[k];
              gsize len = in[k].msg_len;
              if (len < 12 || !c->latched[o]
                  || bf_media_srtp_unprotect (c->srtp[l], FALSE, d, &len) != BF_MEDIA_SRTP_OK
                  || bf_media_srtp_protect (c->srtp[o], FALSE, d, &len, BUF) != BF_MEDIA_SRTP_OK)
                {
                  dropped++;
                  continue;
                }
              iov_out[m] = (struct iovec) { d, len };
              out[m] = (struct mmsghdr) { .msg_hdr = { .msg_name = &c->peer[o],
                                                       .msg_namelen = sizeof c->peer[o],
                                                       .msg_iov = &iov_out[m], .msg_iovlen = 1 } };
              m++;
            }
          int done = 0;
          while (done < m)
            {
              int w = sendmmsg (c->fd[o], out + done, m - done, MSG_DONTWAIT);
              if (w <= 0)
                {
                  dropped += m - done;   /* socket full: drop, as a relay would */
                  break;
                }
              done += w;
              forwarded += w;
            }
        }
    }
  printf ("forwarded=%" G_GUINT64_FORMAT " dropped=%" G_GUINT64_FORMAT "\n", forwarded, dropped);
  return 0;
}

typedef struct {
  int fd;
  BfMediaSrtp *rx, *tx;            /* rx: from this participant; tx: to it */
  struct sockaddr_in peer;
  gboolean latched;
} FanPart;

static int
fanout_main (int argc, char **argv)
{
  guint n = (guint) atoi (argv[2]);
  if (n < 2 || n > 1024)
    {
      fprintf (stderr, "fanout: 2..1024 participants\n");
      return 2;
    }
  BfMediaSrtpProfile profile = g_ascii_strcasecmp (argv[3], "GCM") == 0
                               ? BF_MEDIA_SRTP_AEAD_AES_128_GCM
                               : BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
  GError *error = NULL;
  if (!bf_media_srtp_library_init (&error))
    return 1;
  int ep = epoll_create1 (0);
  FanPart *parts = g_new0 (FanPart, n);
  /* who is forwarded, per kind: [0] audio, [1] video */
  gboolean *fwd[2] = { g_new (gboolean, n), g_new (gboolean, n) };
  for (guint kind = 0; kind < 2; kind++)
    {
      const char *list = argc >= 6 ? argv[4 + kind] : "all";
      gboolean all = strcmp (list, "all") == 0;
      for (guint i = 0; i < n; i++)
        fwd[kind][i] = all;
      if (!all)
        {
          g_auto (GStrv) ids = g_strsplit (list, ",", -1);
          for (guint k = 0; ids[k] != NULL; k++)
            if (g_ascii_isdigit (ids[k][0]) && (guint) atoi (ids[k]) < n)
              fwd[kind][atoi (ids[k])] = TRUE;
        }
    }
  GString *ports = g_string_new ("ports");
  for (guint i = 0; i < n; i++)
    {
      guint8 k[2][16], salt[2][14];
      for (guint j = 0; j < 2; j++)
        bench_keys (i, j, k[j], salt[j]);
      /* a separate context each way: rx keeps the sender's streams' replay
       * windows, tx every sender's stream towards this receiver */
      parts[i].rx = bf_media_srtp_new (profile, k[1], salt[1], k[0], salt[0], 8, &error);
      parts[i].tx = bf_media_srtp_new (profile, k[1], salt[1], k[0], salt[0], 2 * n + 4, &error);
      if (parts[i].rx == NULL || parts[i].tx == NULL)
        return 1;
      int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      struct sockaddr_in a = { .sin_family = AF_INET };
      inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
      socklen_t sl = sizeof a;
      int sz = 1 << 21;
      if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) < 0
          || getsockname (fd, (struct sockaddr *) &a, &sl) < 0)
        {
          perror ("socket");
          return 1;
        }
      setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
      setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
      parts[i].fd = fd;
      struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
      epoll_ctl (ep, EPOLL_CTL_ADD, fd, &ev);
      g_string_append_printf (ports, " %u", ntohs (a.sin_port));
    }
  struct sigaction sa = { .sa_handler = on_term };
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  printf ("%s\nready\n", ports->str);
  fflush (stdout);
  g_string_free (ports, TRUE);

  static guint8 bufs[BATCH][BUF], obufs[BATCH][BUF];
  gsize plain_len[BATCH];
  struct mmsghdr in[BATCH], out[BATCH];
  struct iovec iov_in[BATCH], iov_out[BATCH];
  struct sockaddr_in from[BATCH];
  struct epoll_event evs[64];
  guint64 forwarded = 0, dropped = 0, received = 0, withheld = 0;
  while (!stop)
    {
      int ne = epoll_wait (ep, evs, 64, 200);
      if (ne < 0)
        {
          if (errno == EINTR)
            continue;
          perror ("epoll_wait");
          break;
        }
      for (int e = 0; e < ne; e++)
        {
          guint s = evs[e].data.u32;
          FanPart *src = &parts[s];
          for (int k = 0; k < BATCH; k++)
            {
              iov_in[k] = (struct iovec) { bufs[k], BUF - BF_MEDIA_SRTP_OVERHEAD };
              in[k] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[k],
                                                      .msg_namelen = sizeof from[k],
                                                      .msg_iov = &iov_in[k], .msg_iovlen = 1 } };
            }
          int r = recvmmsg (src->fd, in, BATCH, MSG_DONTWAIT, NULL);
          if (r <= 0)
            continue;
          received += r;
          if (!src->latched)
            {
              src->peer = from[0];
              src->latched = TRUE;
            }
          /* unprotected once */
          int good = 0;
          for (int k = 0; k < r; k++)
            {
              gsize len = in[k].msg_len;
              /* RTP only (RTCP from the participants is not forwarded) */
              if (len < 12 || (bufs[k][1] >= 192 && bufs[k][1] <= 223)
                  || bf_media_srtp_unprotect (src->rx, FALSE, bufs[k], &len) != BF_MEDIA_SRTP_OK)
                {
                  dropped++;
                  plain_len[k] = 0;
                  continue;
                }
              guint pt = bufs[k][1] & 0x7f;
              if ((pt == 111 && !fwd[0][s]) || (pt == 96 && !fwd[1][s]))
                {
                  withheld++;
                  plain_len[k] = 0;
                  continue;
                }
              plain_len[k] = len;
              good++;
            }
          if (good == 0)
            continue;
          /* protected and sent per receiver */
          for (guint d = 0; d < n; d++)
            {
              FanPart *dst = &parts[d];
              if (d == s || !dst->latched)
                continue;
              int m = 0;
              for (int k = 0; k < r; k++)
                {
                  gsize len = plain_len[k];
                  if (len == 0)
                    continue;
                  memcpy (obufs[m], bufs[k], len);
                  if (bf_media_srtp_protect (dst->tx, FALSE, obufs[m], &len, BUF) != BF_MEDIA_SRTP_OK)
                    {
                      dropped++;
                      continue;
                    }
                  iov_out[m] = (struct iovec) { obufs[m], len };
                  out[m] = (struct mmsghdr) { .msg_hdr = { .msg_name = &dst->peer,
                                                           .msg_namelen = sizeof dst->peer,
                                                           .msg_iov = &iov_out[m], .msg_iovlen = 1 } };
                  m++;
                }
              int done = 0;
              while (done < m)
                {
                  int w = sendmmsg (dst->fd, out + done, m - done, MSG_DONTWAIT);
                  if (w <= 0)
                    {
                      dropped += m - done;   /* socket full: drop, as an SFU would */
                      break;
                    }
                  done += w;
                  forwarded += w;
                }
            }
        }
    }
  printf ("forwarded=%" G_GUINT64_FORMAT " dropped=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT
          " withheld=%" G_GUINT64_FORMAT "\n", forwarded, dropped, received, withheld);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc >= 4 && strcmp (argv[1], "fanout") == 0)
    return fanout_main (argc, argv);
  if (argc >= 4 && strcmp (argv[1], "relay") == 0)
    return relay_main (argc, argv);
  if (argc < 3)
    {
      fprintf (stderr, "usage: srtp-forwarder PORT GCM|AES_CM | srtp-forwarder relay N GCM|AES_CM | srtp-forwarder fanout N GCM|AES_CM [AUDIO VIDEO]\n");
      return 2;
    }
  BfMediaSrtpProfile profile = g_ascii_strcasecmp (argv[2], "GCM") == 0
                               ? BF_MEDIA_SRTP_AEAD_AES_128_GCM
                               : BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
  GError *error = NULL;
  if (!bf_media_srtp_library_init (&error))
    return 1;
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (atoi (argv[1])) };
  inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) < 0)
    {
      perror ("bind");
      return 1;
    }
  struct sigaction sa = { .sa_handler = on_term };
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  printf ("ready\n");
  fflush (stdout);

  static BfMediaSrtp *by_port[65536];
  static guint8 bufs[BATCH][BUF];
  struct mmsghdr in[BATCH], out[BATCH];
  struct iovec iov_in[BATCH], iov_out[BATCH];
  struct sockaddr_in from[BATCH];
  guint64 forwarded = 0, dropped = 0;

  while (!stop)
    {
      for (int k = 0; k < BATCH; k++)
        {
          iov_in[k] = (struct iovec) { bufs[k], BUF - BF_MEDIA_SRTP_OVERHEAD };
          in[k] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[k], .msg_namelen = sizeof from[k],
                                                  .msg_iov = &iov_in[k], .msg_iovlen = 1 } };
        }
      int r = recvmmsg (fd, in, BATCH, MSG_WAITFORONE, NULL);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          perror ("recvmmsg");
          break;
        }
      int m = 0;
      for (int k = 0; k < r; k++)
        {
          guint8 *d = bufs[k];
          gsize len = in[k].msg_len;
          if (len < 12)
            {
              dropped++;
              continue;
            }
          guint16 port = ntohs (from[k].sin_port);
          BfMediaSrtp *s = by_port[port];
          guint32 ssrc = (guint32) d[8] << 24 | d[9] << 16 | d[10] << 8 | d[11];
          guint idx = ssrc - 0x10000000u;
          if (s == NULL)
            {
              if (idx >= 65536)
                {
                  dropped++;
                  continue;
                }
              guint8 ka[16], sa_[14], kb[16], sb[14];
              bench_keys (idx, 0, ka, sa_);
              bench_keys (idx, 1, kb, sb);
              /* tx: echo leg B; rx: the sender's leg A */
              s = by_port[port] = bf_media_srtp_new (profile, kb, sb, ka, sa_, 8, &error);
              if (s == NULL)
                return 1;
            }
          if (bf_media_srtp_unprotect (s, FALSE, d, &len) != BF_MEDIA_SRTP_OK)
            {
              dropped++;
              continue;
            }
          guint32 echo = 0x20000000u + idx;
          d[8] = echo >> 24;
          d[9] = echo >> 16;
          d[10] = echo >> 8;
          d[11] = echo;
          if (bf_media_srtp_protect (s, FALSE, d, &len, BUF) != BF_MEDIA_SRTP_OK)
            {
              dropped++;
              continue;
            }
          iov_out[m] = (struct iovec) { d, len };
          out[m] = (struct mmsghdr) { .msg_hdr = { .msg_name = &from[k], .msg_namelen = sizeof from[k],
                                                   .msg_iov = &iov_out[m], .msg_iovlen = 1 } };
          m++;
        }
      int done = 0;
      while (done < m)
        {
          int w = sendmmsg (fd, out + done, m - done, MSG_DONTWAIT);
          if (w <= 0)
            {
              dropped += m - done;   /* socket full: drop, as a relay would */
              break;
            }
          done += w;
          forwarded += w;
        }
    }
  printf ("forwarded=%" G_GUINT64_FORMAT " dropped=%" G_GUINT64_FORMAT "\n", forwarded, dropped);
  return 0;
}
