/* Not a test: the load side of tests/bench/bench_call.py.  One process
 * plays both ends of N relayed calls -- alice (side a) and bob (side b) --
 * so that one CLOCK_MONOTONIC clock timestamps a packet when it is sent on
 * one side and when it arrives on the other.
 *
 *   call-load ice      belfry (load-leg.c, shared with conf-load.c): per
 *                      leg its own ICE credentials and DTLS
 *                      association (belfry's dtls.c, a certificate of its
 *                      own), minimal ICE of our own (answers every binding
 *                      request with MESSAGE-INTEGRITY + FINGERPRINT; checks
 *                      in both roles as libwebrtc does: the first at once,
 *                      then every 50 ms until answered, USE-CANDIDATE on
 *                      every check as the controlling side; DTLS starts
 *                      once a check is answered), then SRTP with the DTLS-exported keys (belfry's
 *                      srtp-session.c on OpenSSL, replay protection on)
 *   call-load srtp     the minimal forwarder (srtp-forwarder relay): fixed
 *                      keys per call and direction (bench_keys), one key
 *                      per leg and direction, so the forwarder re-keys
 *   call-load plain    rtpengine: plain RTP
 *   call-load direct   no relay: side a sends straight to side b and back
 *                      (the latency floor of this load on this machine)
 *
 * Why not libnice (as echo-load does): the load must not be the bottleneck
 * and must not add its own dispatch latency.  Every leg has its own UDP
 * socket on 127.0.0.1 (1 MB buffers), as a real peer has its own address:
 * a relay that demultiplexes by remote address must see one per leg (2,000
 * calls: 4,000 sockets, RLIMIT_NOFILE raised to its hard limit).  All are in
 * one epoll set; a readable leg is read with recvmmsg (batch 64), packets
 * are sent one by one as they are made (sendto).  One thread, one GLib main
 * loop.  During a run the sockets are not polled: every tick (a timerfd,
 * 250 us to 1 ms: about TICK_BURST packets a tick at the run's highest
 * rate, so that 200k pps arrive in bursts of ~50, not 200) first drains
 * the readable legs, then sends what is due.  So the relay's sends never
 * wake the load (on loopback the sender pays for waking the receiver; a
 * relay's real peers are across a NIC).  A load that was not scheduled
 * for a while catches up at most CATCH_UP_MS of packets: the rest are not
 * sent, and the window's offered rate shows it.  Arrival times are the kernel's (SO_TIMESTAMPNS,
 * CLOCK_REALTIME, mapped onto CLOCK_MONOTONIC with an offset taken at the
 * start of the run): latency = send time (just before protect + sendmmsg)
 * to arrival in the load's socket, whatever the tick.
 *
 * Streams: per call and direction one RTP stream; audio: PT 111, SSRC
 * 0x10000000+I (alice) / 0x20000000+I (bob); video: PT 96, SSRC
 * 0x18000000+I / 0x28000000+I.  Every packet gets a fresh sequence number
 * and is protected on its own.  Plain payload: call index (2), direction
 * (1), kind (1), counter (4), CLOCK_MONOTONIC send time in ns (8), total
 * length (2), then a pattern from (index, counter).  Every received packet
 * is unprotected with the receiving leg's key (authentication) and checked
 * in full: SSRC unchanged (the sender's), PT, index, direction, kind,
 * length, pattern; counters must increase (reordered/duplicates counted).
 *
 * Lines in (stdin):
 *   call I                      both legs of call I, each with its own
 *                               socket (ice: prints per side
 *                               "I S credentials U P", "I S fingerprint H FP",
 *                               "I S candidate F C TYPE IP PORT PRIO",
 *                               "I S gathering-done"; others: "I ready
 *                               A_PORT B_PORT", the legs' ports)
 *   I S remote-ice UFRAG PWD controlling|controlled   (the relay's role)
 *   I S remote-dtls active|passive HASH FP            (OUR setup)
 *   I S candidate F C TYPE IP PORT PRIO               (the relay's)
 *   I S dest PORT [VIDEO_PORT]  srtp/plain: where this leg sends
 *   probe I                     50 pps audio both ways until each side got
 *                               one verified packet: "I media-ok T_US"
 *   watch FILE...               schedstat files whose first fields (ns) are
 *                               summed at the window edges (target CPU)
 *   run PPS SECONDS WARMUP N SIZE audio|video [PPS2 SECONDS2 ...]
 *                               first N calls (the others stay idle; ended
 *                               ones among them are left out), both
 *                               directions, PPS per direction and call,
 *                               SIZE-byte plain RTP; each extra pair is a
 *                               further window right after the previous
 *                               one at its own rate (overload and
 *                               recovery; up to MAX_SEGS in all):
 *                               "window-start", "segment-start K" for each
 *                               further window, "window-end", then (after a
 *                               300 ms drain) one "window-report seg=K
 *                               K=V ..." per window (a packet belongs to
 *                               the window it was sent in; "relayed" to the
 *                               one it arrived in) and "window-spikes ..."
 *   stream I                    as probe, but audio goes on (50 pps each
 *                               way) until the call ends
 *   end I close|drop [a|b]      ends both legs (or one): close sends a DTLS
 *                               close_notify first, as a WebRTC peer hangs
 *                               up; drop vanishes (no packet, binding
 *                               requests unanswered from now on): "I ended
 *                               a_received=N b_received=N a_bad=N b_bad=N"
 *                               (tests/soak/test_soak.py: calls come and
 *                               go all along; an index is never reused)
 *   legs I                      "I legs a_received=N b_received=N
 *                               a_gap_ms=G b_gap_ms=G a_idle_ms=T b_idle_ms=T":
 *                               per leg, the longest time between two
 *                               verified packets since the previous "legs I"
 *                               (then reset) and the time since the last one
 *                               (-1 before any); arrival times are the
 *                               kernel's (as latency's)
 *   consent on|off              RFC 7675 consent checks on every connected
 *                               leg (load-leg.h; off unless set): "I S
 *                               consent-expired" when none was answered for
 *                               30 s
 *   stats | quit
 * Lines out, besides: "ports per-leg max-calls N" first (N: what
 * RLIMIT_NOFILE allows), "I S ice-connected", "I S dtls-connected PROFILE",
 * "I S failed WHAT ...", "error ...".  With CALL_LOAD_TRACE=1 in the
 * environment, also "I S trace EVENT T_US" (CLOCK_MONOTONIC) the first time
 * each step of a leg's set-up happens (bench_call_setup.py --trace: where
 * call set-up time goes).  CALL_LOAD_DTLS_RETRANSMIT_MS: the first DTLS
 * retransmission timeout (default 200). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>

#include "load-leg.h"

#define MAX_CALLS 16384            /* the payload carries 16 bits of it */
#define BUFSZ LOAD_BUFSZ
#define PT_AUDIO 111
#define PT_VIDEO 96
#define HDR 12
#define META 18                     /* payload fields before the pattern */
#define HIST_US 1000000             /* latency histogram: 1 us bins to 1 s */
#define PROBE_TIMEOUT_US (15 * G_USEC_PER_SEC)
#define DRAIN_US 300000
#define MAX_SPIKES 64
#define SPIKE_NS 5000000            /* latency above 5 ms: a spike */
#define MAX_SEGS 4                  /* rate segments of one run */
#define LEG_BUF (1 << 20)           /* socket buffers per leg */
#define TICK_MIN_US 250             /* pacing and drain period during a run: */
#define TICK_MAX_US 1000            /* about TICK_BURST packets a tick, within these */
#define TICK_BURST 50
#define CATCH_UP_MS 20

enum { MODE_ICE, MODE_SRTP, MODE_PLAIN, MODE_DIRECT };
enum { KIND_AUDIO, KIND_VIDEO };

typedef struct Call Call;

typedef struct {
  Call *call;
  int side;                          /* 0 = a (alice), 1 = b (bob) */
  LoadLeg ll;                        /* its socket, ICE, DTLS; SRTP (ice, srtp modes) */
  struct sockaddr_in remote_video;   /* srtp/plain: video's own port */
  gboolean have_remote_video;
  /* sending */
  guint32 ssrc[2];
  guint16 seq[2];
  guint32 counter[2];
  /* receiving (the other side's streams) */
  guint32 last_counter[2];
  gboolean got[2];
  guint64 received, reordered, bad;
  /* the longest silence between two packets that verified, since the last
   * "legs" report (tests/cluster: a relay killed or drained beside) */
  gint64 last_rx_us, max_gap_us;
} Leg;

struct Call {
  guint idx;
  Leg leg[2];
  gboolean probing, streaming, ended;
  gint64 probe_start;
};

/* One rate segment of a run: its packets are those sent inside
 * [ws_ns, we_ns) (loss, latency) or arriving inside it (relayed). */
typedef struct {
  double pps;
  gint64 ws_ns, we_ns;
  guint64 sent_w[2], recv_w[2], relayed_rt, bad_w, reordered_w;
  guint32 *hist;
  guint64 hist_over, lat_max_ns, lat_sum_ns;
  guint64 cpu0, cpu1, self0, self1;
  guint64 steal0[4], steal1[4];      /* /proc/stat steal, busy of CPU 0 and 1, ticks */
  guint64 send_fail0, send_fail1;
} Seg;

static struct {
  int mode;
  guint ep_src;                      /* the legs' epoll set's GLib watch, between runs */
  Call *calls[MAX_CALLS];
  guint n_calls;
  guint8 out_buf[BUFSZ];
  /* run */
  gboolean running, measuring, ended;
  guint n_active, size, kind;
  Call **active;                     /* the run's calls: the first N not ended */
  gint64 run_start, ws, we;          /* us: the first segment's start, the last one's end */
  gint64 ws_ns, we_ns;
  Seg seg[MAX_SEGS];
  guint n_segs, cur_seg;
  double due;                        /* packets due since run_start (rates integrated) */
  gint64 last_tick_ns;
  guint64 due_sent;
  guint rr;
  guint n_spikes, spike_episodes;
  gint64 last_spike;
  struct { gint64 at_us; guint64 lat_us; guint call, dir; } spikes[MAX_SPIKES];
  char **watch;
  int tick_fd;                       /* timerfd, every tick_us, during a run */
  guint tick_us;
  guint tick_src;
  guint probing;
  /* totals */
  guint64 total_sent, total_received, total_bad, rtcp_in;
} L;

/* --- small helpers --- */

static const char *
side_name (int side)
{
  return side ? "b" : "a";
}
/* Steal time and busy time (everything but idle and iowait, steal
 * included) of CPUs 0 and 1 from /proc/stat, in ticks. */
static void
read_steal (guint64 out[4])
{
  out[0] = out[1] = out[2] = out[3] = 0;
  FILE *fp = fopen ("/proc/stat", "r");
  if (fp == NULL)
    return;
  char line[512];
  while (fgets (line, sizeof line, fp))
    {
      unsigned cpu;
      unsigned long long v[8];
      if (sscanf (line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
                  &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 && cpu < 2)
        {
          out[cpu] = v[7];
          out[2 + cpu] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        }
    }
  fclose (fp);
}

/* Session keys of the fixed-key (srtp) mode; srtp-forwarder.c has the same.
 * leg 0: alice -> relay, 1: relay -> bob, 2: bob -> relay, 3: relay -> alice. */
static void
bench_keys (guint i, guint leg, guint8 key[16], guint8 salt[14])
{
  for (guint j = 0; j < 16; j++)
    key[j] = (guint8) (i * 131 + leg * 71 + j * 13 + 1);
  for (guint j = 0; j < 14; j++)
    salt[j] = (guint8) (i * 37 + leg * 53 + j * 7 + 3);
}

/* --- media --- */

/* The segment of the current run whose window holds @t (ns), or NULL. */
static inline Seg *
seg_at (gint64 t)
{
  if (!L.running || t < L.ws_ns || t >= L.we_ns)
    return NULL;
  for (guint k = 0; k < L.n_segs; k++)
    if (t < L.seg[k].we_ns)
      return &L.seg[k];
  return NULL;
}

static inline guint8
pattern (guint idx, guint32 counter, guint j)
{
  return (guint8) (counter * 7 + j + idx);
}

/* One packet of @leg's @kind stream (towards the other side). */
static void
send_media (Leg *leg, guint kind, guint size, gint64 t)
{
  if (L.mode == MODE_ICE && leg->ll.srtp == NULL)
    return;
  const struct sockaddr_in *to = kind == KIND_VIDEO && leg->have_remote_video
                                 ? &leg->remote_video : &leg->ll.remote;
  if (!leg->ll.have_remote)
    return;
  guint8 *p = L.out_buf;
  guint idx = leg->call->idx;
  guint32 c = leg->counter[kind]++;
  load_rtp_header (p, 0x80, kind == KIND_VIDEO ? PT_VIDEO : PT_AUDIO, leg->seq[kind]++,
                   c * (kind == KIND_VIDEO ? 3000 : 960), leg->ssrc[kind]);
  guint8 *q = p + HDR;
  put16 (q, idx);
  q[2] = (guint8) leg->side;
  q[3] = (guint8) kind;
  put32 (q + 4, c);
  guint64 ts = (guint64) t;
  put32 (q + 8, (guint32) (ts >> 32));
  put32 (q + 12, (guint32) ts);
  put16 (q + 16, size);
  for (guint j = META; j < size - HDR; j++)
    q[j] = pattern (idx, c, j);
  gsize len = size;
  if (leg->ll.srtp
      && bf_media_srtp_protect (leg->ll.srtp, FALSE, p, &len, BUFSZ) != BF_MEDIA_SRTP_OK)
    {
      load_counters.send_fail++;
      return;
    }
  /* Sent at once: a packet is stamped just before it leaves (every leg
   * has its own socket, so there is no batch across legs to wait for). */
  load_leg_send (&leg->ll, to, p, len);
  L.total_sent++;
  load_leg_trace (&leg->ll, LOAD_TRACE_MEDIA_OUT);
  Seg *sg = seg_at (t);
  if (sg)
    sg->sent_w[leg->side]++;
}

static void
count_bad (Leg *leg)
{
  leg->bad++;
  L.total_bad++;
  if (L.measuring)
    L.seg[L.cur_seg].bad_w++;
}

/* A plain RTP packet that arrived on @leg (from the other side). */
static void
check_media (Leg *leg, const guint8 *p, gsize len, gint64 t)
{
  if (len < HDR + META || (p[0] & 0xc0) != 0x80)
    {
      count_bad (leg);
      return;
    }
  const guint8 *q = p + HDR;
  guint kind = q[3];
  guint from = q[2];
  Leg *sender = &leg->call->leg[!leg->side];
  guint32 ssrc = get32 (p + 8);
  guint32 c = get32 (q + 4);
  if (kind > KIND_VIDEO || from != (guint) sender->side || get16 (q) != leg->call->idx
      || (p[1] & 0x7f) != (kind == KIND_VIDEO ? PT_VIDEO : PT_AUDIO)
      || ssrc != sender->ssrc[kind] || get16 (q + 16) != len)
    {
      count_bad (leg);
      return;
    }
  for (guint j = META; j < len - HDR; j++)
    if (q[j] != pattern (leg->call->idx, c, j))
      {
        count_bad (leg);
        return;
      }
  gint64 ts = (gint64) get64 (q + 8);
  if (leg->got[kind] && c <= leg->last_counter[kind])
    {
      leg->reordered++;
      if (L.measuring)
        L.seg[L.cur_seg].reordered_w++;
    }
  else
    {
      leg->got[kind] = TRUE;
      leg->last_counter[kind] = c;
    }
  leg->received++;
  L.total_received++;
  gint64 rx_us = t / 1000;          /* the kernel's arrival time: no extra clock read */
  if (leg->last_rx_us && rx_us - leg->last_rx_us > leg->max_gap_us)
    leg->max_gap_us = rx_us - leg->last_rx_us;
  leg->last_rx_us = rx_us;
  load_leg_trace (&leg->ll, LOAD_TRACE_MEDIA_IN);
  Seg *at = seg_at (t), *sg = seg_at (ts);
  if (at)
    at->relayed_rt++;
  if (sg)
    {
      {
          sg->recv_w[sender->side]++;
          guint64 lat = t > ts ? (guint64) (t - ts) : 0;
          if (lat > SPIKE_NS)
            {
              /* episodes: spikes whose send times are > 50 ms apart; per
               * episode its first send time and its worst latency */
              if (ts - L.last_spike > 50000000)
                {
                  L.spike_episodes++;
                  if (L.n_spikes < MAX_SPIKES)
                    {
                      L.spikes[L.n_spikes].at_us = (ts - L.ws_ns) / 1000;
                      L.spikes[L.n_spikes].lat_us = 0;
                      L.spikes[L.n_spikes].call = leg->call->idx;
                      L.spikes[L.n_spikes].dir = sender->side;
                      L.n_spikes++;
                    }
                }
              L.last_spike = ts;
              if (L.n_spikes && L.spike_episodes <= MAX_SPIKES
                  && lat / 1000 > L.spikes[L.n_spikes - 1].lat_us)
                L.spikes[L.n_spikes - 1].lat_us = lat / 1000;
            }
          sg->lat_sum_ns += lat;
          if (lat > sg->lat_max_ns)
            sg->lat_max_ns = lat;
          if (lat / 1000 < HIST_US)
            sg->hist[lat / 1000]++;
          else
            sg->hist_over++;
        }
    }
  Call *call = leg->call;
  if (call->probing && call->leg[0].received && call->leg[1].received)
    {
      call->probing = FALSE;
      L.probing--;
      say ("%u media-ok %" G_GINT64_FORMAT, call->idx, now_ns () / 1000);
    }
}

static void
handle_media (LoadLeg *ll, guint8 *d, gsize len, gint64 t)
{
  Leg *leg = ll->owner;
  gboolean rtcp = len >= 2 && d[1] >= 192 && d[1] <= 223;
  if (leg->ll.srtp)
    {
      if (bf_media_srtp_unprotect (leg->ll.srtp, rtcp, d, &len) != BF_MEDIA_SRTP_OK)
        {
          count_bad (leg);
          return;
        }
    }
  else if (L.mode == MODE_ICE || L.mode == MODE_SRTP)
    {
      count_bad (leg);             /* SRTP before keys */
      return;
    }
  if (rtcp)
    {
      L.rtcp_in++;
      return;
    }
  check_media (leg, d, len, t);
}

static gboolean
on_readable (gint fd, GIOCondition cond, gpointer data)
{
  load_legs_drain (64, 8);
  return G_SOURCE_CONTINUE;
}

/* Between runs the legs' sockets wake the loop (ICE, DTLS, consent
 * checks, probes); during a run the tick drains them instead. */
static void
watch_sockets (gboolean on)
{
  if (on && L.ep_src == 0)
    L.ep_src = g_unix_fd_add (load_legs_epoll_fd (), G_IO_IN, on_readable, NULL);
  else if (!on && L.ep_src != 0)
    {
      g_source_remove (L.ep_src);
      L.ep_src = 0;
    }
}

/* --- the run --- */

static guint64
hist_pct (const Seg *sg, guint64 total, double p)
{
  guint64 want = (guint64) (p / 100.0 * (double) total);
  guint64 acc = 0;
  for (guint i = 0; i < HIST_US; i++)
    {
      acc += sg->hist[i];
      if (acc > want)
        return i;
    }
  return HIST_US;
}

static guint64
ticks_ms (guint64 ticks)
{
  return ticks * 1000 / (guint64) sysconf (_SC_CLK_TCK);
}

/* Edges of a segment: CPU of the watched threads, of the load, and of
 * CPUs 0 and 1. */
static void
seg_open (Seg *sg)
{
  sg->cpu0 = load_watched_cpu_ns (L.watch);
  sg->self0 = load_self_cpu_ns ();
  sg->send_fail0 = load_counters.send_fail;
  read_steal (sg->steal0);
}

static void
seg_close (Seg *sg)
{
  sg->cpu1 = load_watched_cpu_ns (L.watch);
  sg->self1 = load_self_cpu_ns ();
  sg->send_fail1 = load_counters.send_fail;
  read_steal (sg->steal1);
}

static gboolean
report (gpointer unused)
{
  for (guint k = 0; k < L.n_segs; k++)
    {
      Seg *sg = &L.seg[k];
      guint64 recv = sg->recv_w[0] + sg->recv_w[1], sent = sg->sent_w[0] + sg->sent_w[1];
      double secs = (sg->we_ns - sg->ws_ns) / 1e9;
      say ("window-report seg=%u pps=%.1f seconds=%.3f sent=%" G_GUINT64_FORMAT
           " received=%" G_GUINT64_FORMAT
           " sent_ab=%" G_GUINT64_FORMAT " received_ab=%" G_GUINT64_FORMAT
           " sent_ba=%" G_GUINT64_FORMAT " received_ba=%" G_GUINT64_FORMAT
           " relayed=%" G_GUINT64_FORMAT " bad=%" G_GUINT64_FORMAT " reordered=%" G_GUINT64_FORMAT
           " lat_p50_us=%" G_GUINT64_FORMAT " lat_p99_us=%" G_GUINT64_FORMAT
           " lat_p999_us=%" G_GUINT64_FORMAT " lat_max_us=%" G_GUINT64_FORMAT
           " lat_mean_us=%.1f target_cpu_ns=%" G_GUINT64_FORMAT " load_cpu_ns=%" G_GUINT64_FORMAT
           " send_fail=%" G_GUINT64_FORMAT " unknown=%" G_GUINT64_FORMAT
           " steal0_ms=%" G_GUINT64_FORMAT " steal1_ms=%" G_GUINT64_FORMAT
           " spike_episodes=%u over_hist=%" G_GUINT64_FORMAT " busy0_ms=%" G_GUINT64_FORMAT
           " busy1_ms=%" G_GUINT64_FORMAT " tick_us=%u",
           k, sg->pps, secs, sent, recv, sg->sent_w[0], sg->recv_w[0], sg->sent_w[1],
           sg->recv_w[1], sg->relayed_rt, sg->bad_w, sg->reordered_w,
           hist_pct (sg, recv, 50), hist_pct (sg, recv, 99), hist_pct (sg, recv, 99.9),
           sg->lat_max_ns / 1000, recv ? sg->lat_sum_ns / 1e3 / recv : 0.0,
           sg->cpu1 - sg->cpu0, sg->self1 - sg->self0, sg->send_fail1 - sg->send_fail0,
           load_counters.unknown, ticks_ms (sg->steal1[0] - sg->steal0[0]),
           ticks_ms (sg->steal1[1] - sg->steal0[1]), L.spike_episodes, sg->hist_over,
           ticks_ms (sg->steal1[2] - sg->steal0[2]), ticks_ms (sg->steal1[3] - sg->steal0[3]),
           L.tick_us);
    }
  GString *sp = g_string_new ("window-spikes");
  for (guint k = 0; k < L.n_spikes; k++)
    g_string_append_printf (sp, " %" G_GINT64_FORMAT "ms:%" G_GUINT64_FORMAT "ms:c%u%s",
                            L.spikes[k].at_us / 1000, L.spikes[k].lat_us / 1000,
                            L.spikes[k].call, L.spikes[k].dir ? "ba" : "ab");
  say ("%s", sp->str);
  g_string_free (sp, TRUE);
  L.running = FALSE;
  return G_SOURCE_REMOVE;
}

static void
stop_tick (void)
{
  if (L.tick_src)
    {
      g_source_remove (L.tick_src);
      L.tick_src = 0;
    }
  if (L.tick_fd >= 0)
    {
      close (L.tick_fd);
      L.tick_fd = -1;
    }
}

/* Every TICK_US during a run: drain what arrived, then send what is due
 * by then at the current segment's rate (the warm-up runs at the first
 * segment's).  Round robin over the active calls' streams. */
static gboolean
run_tick (gint fd, GIOCondition cond, gpointer unused)
{
  guint64 expirations;
  if (read (fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
    return G_SOURCE_CONTINUE;
  load_legs_drain (64, 64);
  gint64 t = now_ns ();
  gint64 now = t / 1000;
  if (!L.measuring && !L.ended && now >= L.ws)
    {
      seg_open (&L.seg[0]);
      L.cur_seg = 0;
      L.measuring = TRUE;
      say ("window-start");
    }
  while (L.measuring && L.cur_seg + 1 < L.n_segs && t >= L.seg[L.cur_seg].we_ns)
    {
      seg_close (&L.seg[L.cur_seg]);
      L.cur_seg++;
      seg_open (&L.seg[L.cur_seg]);
      say ("segment-start %u", L.cur_seg);
    }
  if (now >= L.we)
    {
      seg_close (&L.seg[L.cur_seg]);
      watch_sockets (TRUE);
      L.measuring = FALSE;
      L.ended = TRUE;
      say ("window-end");
      g_timeout_add (DRAIN_US / 1000, report, NULL);
      stop_tick ();
      return G_SOURCE_REMOVE;
    }
  double rate = L.seg[L.measuring ? L.cur_seg : 0].pps * L.n_active * 2;
  L.due += (t - L.last_tick_ns) / 1e9 * rate;
  L.last_tick_ns = t;
  guint64 due = (guint64) L.due;
  /* A load that was not scheduled for a while catches up at most
   * CATCH_UP_MS of packets; the rest are never sent, so that a window's
   * offered rate shows the shortfall (instead of a later window carrying
   * a backlog burst). */
  guint64 cap = MAX (64, (guint64) (rate * CATCH_UP_MS / 1000));
  guint burst = due > L.due_sent ? (guint) MIN (due - L.due_sent, cap) : 0;
  L.due_sent = MAX (due, L.due_sent);
  guint streams = L.n_active * 2;
  for (guint k = 0; k < burst; k++)
    {
      guint s = L.rr;
      L.rr = (L.rr + 1) % streams;
      send_media (&L.active[s / 2]->leg[s % 2], L.kind, L.size, now_ns ());
    }
  return G_SOURCE_CONTINUE;
}

/* run PPS SECONDS WARMUP N SIZE KIND [PPS2 SECONDS2 ...]: the extra pairs
 * are further segments right after the first (no pause between them). */
static void
start_run (char **a, guint n_args)
{
  if (L.running)
    {
      say ("error run already running");
      return;
    }
  double warmup = g_ascii_strtod (a[3], NULL);
  guint n = (guint) atoi (a[4]), size = (guint) atoi (a[5]);
  guint kind = strcmp (a[6], "video") == 0 ? KIND_VIDEO : KIND_AUDIO;
  guint n_segs = 1 + (n_args - 7) / 2;
  if (n == 0 || n > L.n_calls || size < HDR + META || size > 1400 || (n_args - 7) % 2
      || n_segs > MAX_SEGS || warmup < 0)
    {
      say ("error bad run");
      return;
    }
  /* Calls already ended among the first N stay out of the run (the ASan
   * calls test ends its warm-up calls, then runs the next ones). */
  guint live = 0;
  for (guint k = 0; k < n; k++)
    live += !L.calls[k]->ended;
  if (live == 0)
    {
      say ("error bad run: every call ended");
      return;
    }
  double pps[MAX_SEGS], secs[MAX_SEGS];
  for (guint k = 0; k < n_segs; k++)
    {
      pps[k] = g_ascii_strtod (a[k ? 5 + 2 * k : 1], NULL);
      secs[k] = g_ascii_strtod (a[k ? 6 + 2 * k : 2], NULL);
      if (pps[k] <= 0 || secs[k] <= 0)
        {
          say ("error bad run");
          return;
        }
    }
  /* Bursts of ~TICK_BURST packets: at 200k pps a 1 ms tick would hand the
   * relay bursts of 200 (queueing the load made, counted as the relay's
   * latency); at low rates a finer tick only costs the load wake-ups. */
  double max_rate = 0;
  for (guint k = 0; k < n_segs; k++)
    max_rate = MAX (max_rate, pps[k] * live * 2);
  long tick_us = (long) CLAMP (TICK_BURST * 1e6 / max_rate, TICK_MIN_US, TICK_MAX_US);
  L.tick_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec its = { .it_interval = { 0, tick_us * 1000 }, .it_value = { 0, tick_us * 1000 } };
  if (L.tick_fd < 0 || timerfd_settime (L.tick_fd, 0, &its, NULL) < 0)
    {
      say ("error timerfd: %s", g_strerror (errno));
      stop_tick ();
      return;
    }
  g_free (L.active);
  L.active = g_new (Call *, live);
  L.n_active = 0;
  for (guint k = 0; k < n; k++)
    if (!L.calls[k]->ended)
      L.active[L.n_active++] = L.calls[k];
  L.size = size;
  L.kind = kind;
  L.due = 0;
  L.due_sent = 0;
  L.rr = 0;
  L.tick_us = (guint) tick_us;
  L.n_spikes = L.spike_episodes = 0;
  L.last_spike = 0;
  load_legs_sync_clock ();
  L.run_start = g_get_monotonic_time ();
  L.last_tick_ns = L.run_start * 1000;
  L.ws = L.run_start + (gint64) (warmup * 1e6);
  L.n_segs = n_segs;
  L.cur_seg = 0;
  gint64 edge = L.ws * 1000;
  for (guint k = 0; k < n_segs; k++)
    {
      Seg *sg = &L.seg[k];
      guint32 *hist = sg->hist ? sg->hist : g_new (guint32, HIST_US);
      memset (sg, 0, sizeof *sg);
      memset (hist, 0, HIST_US * sizeof *hist);
      sg->hist = hist;
      sg->pps = pps[k];
      sg->ws_ns = edge;
      edge += (gint64) (secs[k] * 1e9);
      sg->we_ns = edge;
    }
  L.ws_ns = L.ws * 1000;
  L.we_ns = edge;
  L.we = edge / 1000;
  watch_sockets (FALSE);
  L.running = TRUE;
  L.measuring = L.ended = FALSE;
  L.tick_src = g_unix_fd_add_full (G_PRIORITY_HIGH, L.tick_fd, G_IO_IN, run_tick, NULL, NULL);
}

/* ICE checks, ICE timeouts and probes: every 20 ms. */
static gboolean
housekeeping (gpointer unused)
{
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < L.n_calls; i++)
    {
      Call *c = L.calls[i];
      if (c->ended)
        continue;
      for (int s = 0; s < 2 && L.mode == MODE_ICE; s++)
        load_leg_ice_step (&c->leg[s].ll, now);
      if (c->probing || c->streaming)
        {
          if (c->probing && now - c->probe_start > PROBE_TIMEOUT_US)
            {
              c->probing = FALSE;
              L.probing--;
              say ("%u failed probe (a got %" G_GUINT64_FORMAT ", b got %" G_GUINT64_FORMAT ")",
                   i, c->leg[0].received, c->leg[1].received);
            }
          else
            {
              gint64 t = now_ns ();
              send_media (&c->leg[0], KIND_AUDIO, 172, t);
              send_media (&c->leg[1], KIND_AUDIO, 172, t);
            }
        }
    }
  return G_SOURCE_CONTINUE;
}

/* --- commands --- */

static void
new_call (guint i)
{
  if (i != L.n_calls || i >= MAX_CALLS)
    {
      say ("error bad call index %u", i);
      return;
    }
  Call *c = g_new0 (Call, 1);
  c->idx = i;
  L.calls[L.n_calls++] = c;
  for (int s = 0; s < 2; s++)
    {
      Leg *leg = &c->leg[s];
      leg->call = c;
      leg->side = s;
      char name[24];
      g_snprintf (name, sizeof name, "%u %s", i, side_name (s));
      if (!load_leg_open (&leg->ll, leg, name, LEG_BUF, TRUE))
        {
          /* the index stays taken: the caller sees the call fail */
          say ("%u %s failed socket %s", i, side_name (s), g_strerror (errno));
          leg->ll.ended = TRUE;
          c->ended = TRUE;
          continue;
        }
      /* our checks' transactions: 'L', the call, the side */
      leg->ll.txid[0] = 'L';
      put32 (leg->ll.txid + 1, i);
      leg->ll.txid[5] = (guint8) s;
      leg->ssrc[KIND_AUDIO] = (s ? 0x20000000u : 0x10000000u) + i;
      leg->ssrc[KIND_VIDEO] = (s ? 0x28000000u : 0x18000000u) + i;
      leg->seq[0] = (guint16) g_random_int ();
      leg->seq[1] = (guint16) g_random_int ();
      if (L.mode == MODE_ICE)
        load_leg_announce (&leg->ll);
      else if (L.mode == MODE_SRTP)
        {
          guint8 tk[16], ts_[14], rk[16], rs[14];
          /* a: tx alice->relay (0), rx relay->alice (3); b: tx bob->relay
           * (2), rx relay->bob (1) */
          bench_keys (i, s ? 2 : 0, tk, ts_);
          bench_keys (i, s ? 1 : 3, rk, rs);
          g_autoptr (GError) error = NULL;
          leg->ll.srtp = bf_media_srtp_new (BF_MEDIA_SRTP_AEAD_AES_128_GCM, tk, ts_, rk, rs, 8, &error);
          g_assert_no_error (error);
        }
    }
  if (L.mode == MODE_DIRECT && !c->ended)
    for (int s = 0; s < 2; s++)
      {
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (c->leg[!s].ll.port) };
        inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
        c->leg[s].ll.remote = to;
        c->leg[s].ll.have_remote = TRUE;
      }
  if (L.mode != MODE_ICE && !c->ended)
    say ("%u ready %u %u", i, c->leg[0].ll.port, c->leg[1].ll.port);
}

static void
end_call (Call *c, gboolean close, int side)
{
  if (c->probing)
    {
      c->probing = FALSE;
      L.probing--;
    }
  c->streaming = FALSE;
  for (int s = 0; s < 2; s++)
    if (side < 0 || side == s)
      load_leg_end (&c->leg[s].ll, close);
  c->ended = c->leg[0].ll.ended && c->leg[1].ll.ended;
  say ("%u ended a_received=%" G_GUINT64_FORMAT " b_received=%" G_GUINT64_FORMAT
       " a_bad=%" G_GUINT64_FORMAT " b_bad=%" G_GUINT64_FORMAT, c->idx, c->leg[0].received,
       c->leg[1].received, c->leg[0].bad, c->leg[1].bad);
}

static gint64
idle_ms (const Leg *leg, gint64 now)
{
  return leg->last_rx_us ? (now - leg->last_rx_us) / 1000 : -1;
}

static void
report_legs (Call *c)
{
  gint64 now = g_get_monotonic_time ();
  say ("%u legs a_received=%" G_GUINT64_FORMAT " b_received=%" G_GUINT64_FORMAT
       " a_gap_ms=%" G_GINT64_FORMAT " b_gap_ms=%" G_GINT64_FORMAT " a_idle_ms=%" G_GINT64_FORMAT
       " b_idle_ms=%" G_GINT64_FORMAT, c->idx, c->leg[0].received, c->leg[1].received,
       c->leg[0].max_gap_us / 1000, c->leg[1].max_gap_us / 1000, idle_ms (&c->leg[0], now),
       idle_ms (&c->leg[1], now));
  c->leg[0].max_gap_us = c->leg[1].max_gap_us = 0;
}

static void
leg_command (Leg *leg, char **a, guint n)
{
  if (load_leg_command (&leg->ll, a, n))
    {
      /* remote-ice, candidate: the first check at once, as libwebrtc
       * does with a new candidate pair (not at the next housekeeping) */
      if (L.mode == MODE_ICE)
        load_leg_check_now (&leg->ll);
      return;
    }
  if (strcmp (a[0], "dest") == 0 && n >= 2)
    {
      struct sockaddr_in to = { .sin_family = AF_INET,
                                .sin_port = htons ((guint16) atoi (a[1])) };
      inet_pton (AF_INET, "127.0.0.1", &to.sin_addr);
      leg->ll.remote = to;
      leg->ll.have_remote = TRUE;
      if (n >= 3)
        {
          to.sin_port = htons ((guint16) atoi (a[2]));
          leg->remote_video = to;
          leg->have_remote_video = TRUE;
        }
    }
  else
    say ("error unknown leg command %s", a[0]);
}

static gboolean
on_stdin (GIOChannel *ch, GIOCondition cond, gpointer data)
{
  g_auto (GStrv) a = NULL;
  if (!load_read_words (ch, data, &a))
    return G_SOURCE_REMOVE;
  guint n = a ? g_strv_length (a) : 0;
  if (n == 0)
    return G_SOURCE_CONTINUE;
  if (strcmp (a[0], "call") == 0 && n == 2)
    new_call ((guint) atoi (a[1]));
  else if ((strcmp (a[0], "probe") == 0 || strcmp (a[0], "stream") == 0) && n == 2)
    {
      guint i = (guint) atoi (a[1]);
      if (i < L.n_calls && !L.calls[i]->ended && strcmp (a[0], "stream") == 0)
        L.calls[i]->streaming = TRUE;
      if (i < L.n_calls && !L.calls[i]->probing && !L.calls[i]->ended)
        {
          L.calls[i]->probing = TRUE;
          L.calls[i]->probe_start = g_get_monotonic_time ();
          L.probing++;
          /* The first packets now (both legs are keyed), not at the next
           * 20 ms tick: set-up time ends when media can flow. */
          gint64 t = now_ns ();
          send_media (&L.calls[i]->leg[0], KIND_AUDIO, 172, t);
          send_media (&L.calls[i]->leg[1], KIND_AUDIO, 172, t);
        }
    }
  else if (strcmp (a[0], "end") == 0 && (n == 3 || n == 4))
    {
      guint i = (guint) atoi (a[1]);
      if (i >= L.n_calls)
        say ("error no call %u", i);
      else
        end_call (L.calls[i], strcmp (a[2], "close") == 0,
                  n == 4 ? strcmp (a[3], "b") == 0 : -1);
    }
  else if (strcmp (a[0], "legs") == 0 && n == 2)
    {
      guint i = (guint) atoi (a[1]);
      if (i >= L.n_calls)
        say ("error no call %u", i);
      else
        report_legs (L.calls[i]);
    }
  else if (strcmp (a[0], "consent") == 0 && n == 2)
    load_legs_consent = strcmp (a[1], "on") == 0;
  else if (strcmp (a[0], "watch") == 0)
    {
      g_strfreev (L.watch);
      L.watch = g_strdupv (a + 1);
    }
  else if (strcmp (a[0], "run") == 0 && n >= 7)
    start_run (a, n);
  else if (strcmp (a[0], "stats") == 0)
    say ("stats calls=%u sent=%" G_GUINT64_FORMAT " received=%" G_GUINT64_FORMAT
         " bad=%" G_GUINT64_FORMAT " unknown=%" G_GUINT64_FORMAT " rtcp=%" G_GUINT64_FORMAT
         " stun=%" G_GUINT64_FORMAT " send_fail=%" G_GUINT64_FORMAT " dtls_dropped=%"
         G_GUINT64_FORMAT, L.n_calls, L.total_sent, L.total_received, L.total_bad,
         load_counters.unknown, L.rtcp_in, load_counters.stun_in, load_counters.send_fail,
         load_counters.dtls_dropped);
  else if (n >= 3 && (strcmp (a[1], "a") == 0 || strcmp (a[1], "b") == 0))
    {
      guint i = (guint) atoi (a[0]);
      if (i >= L.n_calls)
        say ("error no call %u", i);
      else
        {
          Leg *leg = &L.calls[i]->leg[strcmp (a[1], "b") == 0];
          if (!leg->ll.ended)   /* late news of a leg that went away */
            leg_command (leg, a + 2, n - 2);
        }
    }
  else
    say ("error bad command %s", a[0]);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      g_printerr ("usage: call-load ice|srtp|plain|direct (commands on stdin)\n");
      return 2;
    }
  L.mode = strcmp (argv[1], "ice") == 0 ? MODE_ICE
           : strcmp (argv[1], "srtp") == 0 ? MODE_SRTP
           : strcmp (argv[1], "plain") == 0 ? MODE_PLAIN
           : strcmp (argv[1], "direct") == 0 ? MODE_DIRECT : -1;
  if (L.mode < 0)
    {
      g_printerr ("unknown mode %s\n", argv[1]);
      return 2;
    }
  load_legs_init (L.mode == MODE_ICE, handle_media);
  load_legs_tracing = g_strcmp0 (g_getenv ("CALL_LOAD_TRACE"), "1") == 0;
  BfMediaDtlsParams *dtls = load_legs_dtls_params ();
  /* A test may want a handshake that no retransmission rescued. */
  const char *rt = g_getenv ("CALL_LOAD_DTLS_RETRANSMIT_MS");
  if (rt && atoi (rt) >= 10 && atoi (rt) <= 10000)
    dtls->retransmit_ms = (guint) atoi (rt);
  if (g_strcmp0 (g_getenv ("CALL_LOAD_PROFILES"), "AES_CM") == 0)
    {
      dtls->profiles[0] = BF_MEDIA_SRTP_AES_CM_128_HMAC_SHA1_80;
      dtls->n_profiles = 1;
    }
  /* two sockets per call: 2,000 calls need more than the usual 1,024 */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  L.tick_fd = -1;
  watch_sockets (TRUE);
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GIOChannel *in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, loop);
  g_timeout_add (20, housekeeping, NULL);
  getrlimit (RLIMIT_NOFILE, &rl);
  say ("ports per-leg max-calls %u", (guint) MIN ((rl.rlim_cur - 16) / 2, MAX_CALLS));
  g_main_loop_run (loop);
  return 0;
}
