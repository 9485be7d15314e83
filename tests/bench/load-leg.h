/* Not a test: one client leg of a benchmark's load generator, shared by
 * call-load.c (both legs of relayed calls) and conf-load.c (participants
 * of a conference room) so that the two loads set up their media the
 * same way and a fix to one is a fix to both.
 *
 * A leg is what a WebRTC peer is to belfry, minus the media: its own UDP
 * socket on 127.0.0.1 (a relay that demultiplexes by remote address must
 * see one per leg), minimal ICE of our own (every binding request
 * answered with MESSAGE-INTEGRITY + FINGERPRINT; checks in both roles as
 * libwebrtc makes them: every 50 ms until answered, USE-CANDIDATE on
 * every check as the controlling side; DTLS starts once a check is
 * answered), a DTLS association with belfry's relay/media/dtls.c (the
 * process's one certificate), then SRTP with the DTLS-exported keys
 * (relay/media/srtp-session.c, replay protection on).  Why not libnice
 * (as echo-load does): the load must not be the bottleneck and must not
 * add its own dispatch latency.
 *
 * Every leg's socket is in one epoll set; load_legs_drain() reads the
 * readable ones with recvmmsg, answers STUN and feeds DTLS itself and
 * hands each RTP/RTCP packet, with its kernel arrival time
 * (SO_TIMESTAMPNS mapped onto CLOCK_MONOTONIC), to the program's media
 * function.  What a leg says on stdout begins with its name ("I" or
 * "I S"): "NAME ice-connected", "NAME dtls-connected PROFILE", "NAME
 * failed WHAT ...", "NAME ice-error CODE", and with load_legs_tracing
 * "NAME trace EVENT T_US".
 *
 * Thread rule: one thread (the program's GLib main loop); the state is
 * process-wide (one certificate, one ufrag table, one epoll set, one
 * receive batch). */
#pragma once

#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib.h>

#include "dtls-cert.h"
#include "dtls.h"
#include "media-types.h"
#include "srtp-session.h"
#include "rtp-bytes.h"      /* put32, get32 (tests/unit) */

#define LOAD_BUFSZ 2048     /* one datagram */

/* Set-up steps of a leg, said once each with load_legs_tracing. */
enum {
  LOAD_TRACE_REMOTE_ICE, LOAD_TRACE_CHECK_OUT, LOAD_TRACE_REQUEST_IN,
  LOAD_TRACE_USE_CANDIDATE_IN, LOAD_TRACE_RESPONSE_IN, LOAD_TRACE_DTLS_START,
  LOAD_TRACE_DTLS_IN, LOAD_TRACE_DTLS_CONNECTED, LOAD_TRACE_MEDIA_OUT, LOAD_TRACE_MEDIA_IN,
};

typedef struct {
  gpointer owner;                    /* the program's Leg / Part */
  char name[24];                     /* what its lines begin with */
  int fd;                            /* its own socket (-1 once ended) */
  guint16 port;
  /* ICE */
  char ufrag[9], pwd[25];
  char *rufrag, *rpwd;
  gboolean controlling;              /* our role */
  struct sockaddr_in remote;         /* the relay's address: ICE, DTLS, media */
  gboolean have_remote;
  guint8 txid[12];                   /* our check's; the first 6 bytes name the leg */
  guint64 tiebreaker;
  gint64 next_check, ice_started;
  guint checks, answered;
  gboolean ice_ok, ice_reported, ice_failed, error_reported;
  /* RFC 7675 consent (with load_legs_consent): our next check, the last
   * answer to one */
  gint64 consent_next, consent_last;
  gboolean consent_expired;
  gboolean ended;
  /* DTLS */
  BfMediaDtls *dtls;
  gboolean dtls_started;
  GPtrArray *early;                  /* GBytes* before remote-dtls */
  /* SRTP: the program's, or from DTLS */
  BfMediaSrtp *srtp;
  guint traced;                      /* LOAD_TRACE_* bits already said */
} LoadLeg;

/* An RTP or RTCP packet (first byte 128..191) that arrived on @leg at
 * @arrival_ns (CLOCK_MONOTONIC); @data may be changed (unprotected). */
typedef void (*LoadMediaFunc) (LoadLeg *leg, guint8 *data, gsize len, gint64 arrival_ns);

/* Counters of all legs (the programs print them). */
typedef struct {
  guint64 send_fail, stun_in, unknown, dtls_dropped;
} LoadCounters;

extern LoadCounters load_counters;
extern gboolean load_legs_tracing;
/* RFC 7675 consent freshness, off unless set (a benchmark's legs make no
 * checks once up): a connected leg sends a binding request every 4-6 s
 * and says "NAME consent-expired" once none has been answered for
 * LOAD_CONSENT_TIMEOUT_US (30 s, as WebRTC peers); it then stops sending
 * checks, its media go on (the program decides). */
extern gboolean load_legs_consent;
#define LOAD_CONSENT_TIMEOUT_US (30 * G_USEC_PER_SEC)

/* Once, first: SRTP's library, the certificate (@ice), the epoll set;
 * @media gets every RTP/RTCP packet.  Aborts on failure (a bench tool). */
void load_legs_init (gboolean ice, LoadMediaFunc media);
/* DTLS parameters of the legs to come (a program may change them). */
BfMediaDtlsParams *load_legs_dtls_params (void);
int load_legs_epoll_fd (void);
/* Takes CLOCK_REALTIME - CLOCK_MONOTONIC again (arrival times; NTP may
 * have slewed it since). */
void load_legs_sync_clock (void);
/* Drains every readable leg: up to @passes epoll rounds, @rounds batches
 * of 64 a leg (level-triggered: a leg left with data comes again). */
void load_legs_drain (int passes, int rounds);

/* @leg's socket on 127.0.0.1 with @bufsize receive buffer (@force: also
 * the send buffer, both past rmem_max/wmem_max where allowed), in the
 * epoll set.  FALSE with errno set: no socket (fd -1). */
gboolean load_leg_open (LoadLeg *leg, gpointer owner, const char *name, int bufsize,
                        gboolean force);
/* ICE mode: fresh credentials; says credentials, fingerprint, candidate
 * and gathering-done. */
void load_leg_announce (LoadLeg *leg);
/* remote-ice UFRAG PWD ROLE | remote-dtls SETUP HASH FP | candidate F C
 * TYPE IP PORT PRIO (@a: the words after the leg's name).  FALSE: none of
 * these. */
gboolean load_leg_command (LoadLeg *leg, char **a, guint n);
/* The first check at once (libwebrtc with a new pair) if none was sent. */
void load_leg_check_now (LoadLeg *leg);
/* ICE timeout and retransmitted checks at @now (g_get_monotonic_time). */
void load_leg_ice_step (LoadLeg *leg, gint64 now);
/* The leg goes away (@graceful: DTLS close_notify first). */
void load_leg_end (LoadLeg *leg, gboolean graceful);
void load_leg_send (LoadLeg *leg, const struct sockaddr_in *to, const guint8 *data, gsize len);
void load_leg_trace (LoadLeg *leg, guint what);

/* --- small helpers of both programs --- */

void say (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* A command line from @ch (stdin) as words in *@words (NULL: none yet,
 * or an empty line).  FALSE: end of input or "quit" (@loop is quit). */
gboolean load_read_words (GIOChannel *ch, GMainLoop *loop, GStrv *words);
guint64 load_self_cpu_ns (void);
/* Sum of the first field (ns) of each of @files (schedstat). */
guint64 load_watched_cpu_ns (char **files);

static inline gint64
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void
put16 (guint8 *p, guint v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static inline guint
get16 (const guint8 *p)
{
  return (guint) p[0] << 8 | p[1];
}

static inline guint64
get64 (const guint8 *p)
{
  return (guint64) get32 (p) << 32 | get32 (p + 4);
}

/* The fixed 12 bytes of an RTP header: @b0 (V=2 and the X bit), @b1
 * (marker and PT). */
static inline void
load_rtp_header (guint8 *p, guint8 b0, guint8 b1, guint16 seq, guint32 ts, guint32 ssrc)
{
  p[0] = b0;
  p[1] = b1;
  put16 (p + 2, seq);
  put32 (p + 4, ts);
  put32 (p + 8, ssrc);
}
