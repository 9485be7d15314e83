#define G_LOG_DOMAIN "belfry-media"
/* belfry media: one leg's transport: ICE (libnice), DTLS-SRTP, demux.
 *
 * What libnice does for us, and what we add:
 * - Full ICE in libnice's NICE_COMPATIBILITY_RFC5245 mode (its RFC 8445
 *   implementation), regular nomination (aggressive nomination is gone from
 *   RFC 8445, §8.1.1), trickle.  UDP only.
 * - RFC 7675 consent freshness ([media] consent-freshness), run by exactly
 *   one side per transport:
 *   . when the selected pair will be taken over by direct I/O (direct I/O
 *     on, no TURN server configured: every pair is then a plain UDP one),
 *     the agent is created without libnice's consent: after the take-over
 *     libnice would no longer see its checks' answers and would fail the
 *     component 10 s later.  direct-io.c runs consent with consent_timeout_ms.
 *     Before the take-over (ICE connected, DTLS handshaking) nothing checks
 *     consent, but dtls_timeout bounds that phase, and the take-over follows
 *     DTLS at once; libnice still sends its RFC 8445 §11 keepalives.
 *   . otherwise (a TURN server, so possibly a relayed pair, which stays
 *     libnice's; or BELFRY_MEDIA_DIRECT_IO=0) libnice runs it and its
 *     component FAILED means consent lost (10 s after the last response,
 *     hard-coded in libnice), and no pair is taken over.
 * - Validation of the packet source: libnice's receive path answers STUN
 *   itself and drops any other datagram whose source is not the remote
 *   address of a validated pair (agent.c, nice_component_verify_remote_
 *   candidate): stricter than RFC 8445 §12.2's "any candidate from the last
 *   exchange", and invisible to us (no hook, no counter).  What reaches
 *   on_recv comes from a validated pair; after the component failed we drop
 *   and count it as dropped_unvalidated.
 * - Trickle: a libnice FAILED state before the peer's end-of-candidates (or
 *   our ice_timeout) is not final: more candidates may still come
 *   (draft-ietf-ice-trickle §8, §14).  Once connected, FAILED is final (consent
 *   lost).
 */
#include "transport.h"

#include <string.h>
#include <gio/gio.h>
#include <nice/agent.h>

#include "direct-io.h"
#include "send-queue.h"
#include "shared-ice.h"
#include "srtp-session.h"

#define COMPONENT 1
#define MAX_REMOTE_CANDIDATES 64
#define MAX_EARLY_DTLS 8
/* libnice's idle-timeout: its default, and once direct I/O has the pair. */
#define NICE_IDLE_TIMEOUT_MS 5000
#define DIRECT_IDLE_TIMEOUT_MS 50
#define DTLS_MTU 1200
/* Ta (RFC 8445 §14.2): libnice sends an agent's first check one Ta after
 * the remote candidates come, and a controlling agent's nomination two Ta
 * after its first check succeeds; with libnice's 20 ms that was 60 ms of a
 * call's set-up on the leg we place (tests/bench/bench_call_setup.py).  An
 * agent here checks one pair per transport (host candidates of one relay
 * address), so a shorter Ta sends no more checks, only sooner; 5 ms is
 * RFC 8445's floor for a single agent's pacing.  (The RFC's 5 ms across
 * all agents of a host is not kept by belfry, at 20 ms either: a relay
 * runs one agent per leg.) */
#ifndef ICE_PACING_MS
#define ICE_PACING_MS 5
#endif

typedef enum {
  ICE_NEW,
  ICE_CHECKING,
  ICE_CONNECTED,
  ICE_FAILED,
} IceState;

struct _BfMediaTransport {
  /* First: what every packet sent reads (send_protected; a worker sends
   * for thousands of transports in turn, each line of one a cache miss). */
  BfMediaWorker *worker;
  BfMediaSrtp *srtp;
  BfSharedIce *shared;            /* [media] shared-port: ICE is ours (shared-ice.h) */
  BfMediaDirectIo *dio;           /* direct I/O (below) */
  BfMediaCounters counters;       /* flushed and folded below */

  GMainContext *context;
  BfMediaConfig config;
  BfMediaCert *cert;
  gboolean controlling;
  BfMediaEventFunc on_event;
  BfMediaRtpFunc on_rtp;
  gpointer user_data;
  guint dispatching;              /* > 0 while a callback of ours runs */

  NiceAgent *agent;               /* NULL on the shared port */
  guint stream_id;
  IceState ice;
  gboolean gathering;
  char *remote_ufrag, *remote_pwd;
  GSList *pending_candidates;     /* NiceCandidate*, until the credentials */
  guint n_remote_candidates;
  BfAddrPolicy policy;            /* which remote candidates may be checked */
  guint ignored[BF_ADDR_N_REASONS];   /* remote candidates the policy refused */
  gboolean remote_gathering_done;
  GSource *ice_timer;
  gboolean ice_connected_once;       /* a restart before it keeps the first deadline */
  gboolean have_pair;
  BfJingleCandidate pair_local, pair_remote;
  gboolean restarting;            /* ICE restarted: direct I/O waits for the new pair */
  gboolean moving;                /* the peer moved: libnice has the pair again */
  GSource *move_source;           /* idle: hand the pair back; then: give up waiting */
  guint restarts;

  BfMediaDtls *dtls;
  BfMediaDtlsSetup setup;
  gboolean dtls_started;
  gboolean dtls_done;             /* failed or closed: terminal */
  gboolean dtls_confirmed;        /* bf_media_dtls_confirm called */
  GQueue early_dtls;              /* GBytes*, datagrams before set_dtls() */
  GQueue held_dtls;               /* GBytes*, ours before a pair is selected */

  BfMediaSrtpProfile profile;     /* of srtp */

  BfMediaCounters flushed;        /* what the worker's metrics have of counters */
  BfMediaCountersEntry folded;    /* in the worker's fold once .now is set */

  /* direct I/O (direct-io.h, dio above): the selected pair, once DTLS is up */
  gboolean direct_capable;        /* decided at creation, see above */
  GSource *direct_start;          /* idle: take the pair over */
};

static void schedule_direct_start (BfMediaTransport *t);

#define ON_WORKER(t) bf_media_worker_is_current ((t)->worker)

/* --- candidates --- */

static const char *
type_name (BfJingleCandidateType type)
{
  const char *name = bf_jingle_candidate_type_to_string (type);
  return name ? name : "unknown";
}

static BfJingleCandidateType
from_nice_type (NiceCandidateType t)
{
  switch (t)
    {
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
      return BF_JINGLE_CANDIDATE_SRFLX;
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
      return BF_JINGLE_CANDIDATE_PRFLX;
    case NICE_CANDIDATE_TYPE_RELAYED:
      return BF_JINGLE_CANDIDATE_RELAY;
    case NICE_CANDIDATE_TYPE_HOST:
    default:
      return BF_JINGLE_CANDIDATE_HOST;
    }
}

static NiceCandidateType
to_nice_type (BfJingleCandidateType t)
{
  switch (t)
    {
    case BF_JINGLE_CANDIDATE_SRFLX:
      return NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
    case BF_JINGLE_CANDIDATE_PRFLX:
      return NICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
    case BF_JINGLE_CANDIDATE_RELAY:
      return NICE_CANDIDATE_TYPE_RELAYED;
    case BF_JINGLE_CANDIDATE_HOST:
    default:
      return NICE_CANDIDATE_TYPE_HOST;
    }
}

/* The one change of representation: libnice's candidate to ours. */
static void
candidate_from_nice (const NiceCandidate *n, BfJingleCandidate *c)
{
  bf_jingle_candidate_init (c);
  g_strlcpy (c->foundation, n->foundation, sizeof c->foundation);
  c->component = n->component_id;
  c->type = from_nice_type (n->type);
  G_STATIC_ASSERT (sizeof c->ip >= INET6_ADDRSTRLEN);
  nice_address_to_string (&n->addr, c->ip);
  c->port = (guint16) nice_address_get_port (&n->addr);
  if (n->type != NICE_CANDIDATE_TYPE_HOST && nice_address_is_valid (&n->base_addr))
    {
      nice_address_to_string (&n->base_addr, c->rel_addr);
      c->rel_port = (gint) nice_address_get_port (&n->base_addr);
    }
  c->priority = n->priority;
}

/* --- events --- */

static void
emit (BfMediaTransport *t, const BfMediaEvent *ev)
{
  t->dispatching++;
  t->on_event (t, ev, t->user_data);
  t->dispatching--;
}

static void
emit_simple (BfMediaTransport *t, BfMediaEventType type)
{
  BfMediaEvent ev = { .type = type };
  emit (t, &ev);
}

static void
stop_ice_timer (BfMediaTransport *t)
{
  if (t->ice_timer)
    {
      g_source_destroy (t->ice_timer);
      g_clear_pointer (&t->ice_timer, g_source_unref);
    }
}

static void
ice_fail (BfMediaTransport *t, BfMediaError code, const char *message)
{
  if (t->ice == ICE_FAILED)
    return;
  t->ice = ICE_FAILED;
  stop_ice_timer (t);
  /* The path is gone: a DTLS handshake in progress must not report a
   * second failure later. */
  if (t->dtls && !t->dtls_done)
    {
      bf_media_dtls_close (t->dtls);
      t->dtls_done = TRUE;
    }
  g_autoptr (GError) error = g_error_new_literal (BF_MEDIA_ERROR, (gint) code, message);
  BfMediaEvent ev = { .type = BF_MEDIA_EVENT_ICE_FAILED, .error = error };
  emit (t, &ev);
}

/* --- sending --- */

static gboolean
wire_send (BfMediaTransport *t, const guint8 *data, gsize len)
{
  if (t->dio || t->shared)
    {
      if (!(t->dio ? bf_media_direct_io_send (t->dio, data, len)
                   : bf_shared_ice_send (t->shared, data, len)))
        {
          t->counters.send_errors++;
          return FALSE;
        }
      t->counters.packets_out++;
      t->counters.bytes_out += len;
      return TRUE;
    }
  gint r = nice_agent_send (t->agent, t->stream_id, COMPONENT, (guint) len, (const gchar *) data);
  if (r < 0 || (gsize) r != len)
    {
      t->counters.send_errors++;
      return FALSE;
    }
  t->counters.packets_out++;
  t->counters.bytes_out += len;
  return TRUE;
}

static gboolean
is_rtcp_type (guint8 second_byte)
{
  /* RFC 5761 §4: RTCP packet types 192..223 share the byte with RTP's
   * marker + payload type, whose values 64..95 are therefore avoided. */
  return second_byte >= 192 && second_byte <= 223;
}

/* Copies @data into @buf and protects it there; failures are counted. */
static gboolean
protect_into (BfMediaTransport *t, gboolean rtcp, const guint8 *data, gsize len, guint8 *buf,
              gsize cap, gsize *out_len)
{
  memcpy (buf, data, len);
  *out_len = len;
  BfMediaSrtpStatus st = bf_media_srtp_protect (t->srtp, rtcp, buf, out_len, cap);
  if (st == BF_MEDIA_SRTP_OK)
    return TRUE;
  if (st == BF_MEDIA_SRTP_SSRC_LIMIT)
    t->counters.dropped_ssrc_limit++;
  else
    t->counters.srtp_errors++;
  return FALSE;
}

static gboolean
send_protected (BfMediaTransport *t, gboolean rtcp, const guint8 *data, gsize len)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (t->srtp == NULL)
    {
      t->counters.send_errors++;
      return FALSE;
    }
  if (data == NULL || len < (rtcp ? 8u : 12u) || len > BF_MEDIA_MAX_PACKET_SIZE
      || (data[0] >> 6) != 2 || is_rtcp_type (data[1]) != rtcp)
    {
      t->counters.srtp_errors++;
      return FALSE;
    }
  guint8 *slot = NULL;
  if ((t->dio || t->shared) && len + BF_MEDIA_SRTP_OVERHEAD <= BF_MEDIA_SEND_QUEUE_SLOT)
    slot = t->dio ? bf_media_direct_io_reserve (t->dio) : bf_shared_ice_reserve (t->shared);
  if (slot != NULL)
    {
      /* In a receive batch: protect into the worker's send queue, sent when
       * the batch ends. */
      gsize n;
      if (!protect_into (t, rtcp, data, len, slot, BF_MEDIA_SEND_QUEUE_SLOT, &n))
        return FALSE;
      if (t->dio)
        bf_media_direct_io_commit (t->dio, n, rtcp);
      else
        bf_shared_ice_commit (t->shared, n, rtcp);
      return TRUE;
    }
  /* Outside a batch: one scratch buffer per worker thread, not one per
   * transport (4 KiB of every leg's memory); the send below copies it. */
  static _Thread_local guint8 out[BF_MEDIA_MAX_PACKET_SIZE + BF_MEDIA_SRTP_OVERHEAD];
  gsize n;
  if (!protect_into (t, rtcp, data, len, out, sizeof out, &n))
    return FALSE;
  if (!wire_send (t, out, n))
    return FALSE;
  if (rtcp)
    t->counters.rtcp_out++;
  else
    t->counters.rtp_out++;
  return TRUE;
}

gboolean
bf_media_transport_send_rtp (BfMediaTransport *t, const guint8 *data, gsize len)
{
  return send_protected (t, FALSE, data, len);
}

gboolean
bf_media_transport_send_rtcp (BfMediaTransport *t, const guint8 *data, gsize len)
{
  return send_protected (t, TRUE, data, len);
}

gboolean
bf_media_transport_send_raw (BfMediaTransport *t, const guint8 *data, gsize len)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (data == NULL || len == 0 || len > BF_MEDIA_MAX_PACKET_SIZE + BF_MEDIA_SRTP_OVERHEAD)
    return FALSE;
  return wire_send (t, data, len);
}

/* --- DTLS --- */

static void
send_dtls_now (BfMediaTransport *t, const guint8 *data, gsize len)
{
  if (wire_send (t, data, len))
    t->counters.dtls_out++;
}

static void
dtls_send (const guint8 *data, gsize len, gpointer user_data)
{
  BfMediaTransport *t = user_data;
  if (t->srtp == NULL)
    BF_SETUP_TRACE ("%p", (void *) t, "dtls-out");
  if (!t->ice_connected_once && t->ice != ICE_FAILED)
    {
      /* A WebRTC peer starts DTLS as soon as one of its checks is
       * answered, which can be before our own first check: our answer to
       * its ClientHello would find no selected pair (libnice drops it) and
       * the handshake would wait for the peer's retransmission (200 ms to
       * 1 s).  Held here, it leaves when ICE connects. */
      if (g_queue_get_length (&t->held_dtls) < MAX_EARLY_DTLS)
        g_queue_push_tail (&t->held_dtls, g_bytes_new (data, len));
      return;
    }
  send_dtls_now (t, data, len);
}

static void
send_held_dtls (BfMediaTransport *t)
{
  GBytes *b;
  while ((b = g_queue_pop_head (&t->held_dtls)) != NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (b, &len);
      send_dtls_now (t, data, len);
      g_bytes_unref (b);
    }
}

static void
dtls_connected (const BfMediaDtlsKeys *keys, gpointer user_data)
{
  BfMediaTransport *t = user_data;
  g_autoptr (GError) error = NULL;
  t->srtp = bf_media_srtp_new (keys->profile, keys->local_key, keys->local_salt,
                               keys->remote_key, keys->remote_salt, t->config.max_ssrcs,
                               &error);
  if (t->srtp == NULL)
    {
      t->dtls_done = TRUE;
      bf_media_dtls_close (t->dtls);
      BfMediaEvent ev = { .type = BF_MEDIA_EVENT_DTLS_FAILED, .error = error };
      emit (t, &ev);
      return;
    }
  t->profile = keys->profile;
  BF_SETUP_TRACE ("%p", (void *) t, "dtls-connected");
  schedule_direct_start (t);
  BfMediaEvent ev = { .type = BF_MEDIA_EVENT_DTLS_CONNECTED, .profile = keys->profile };
  emit (t, &ev);
}

static void
dtls_failed (const GError *error, gpointer user_data)
{
  BfMediaTransport *t = user_data;
  if (t->dtls_done)
    return;
  t->dtls_done = TRUE;
  /* No keys, no media: a closed or failed association ends the leg. */
  g_clear_pointer (&t->srtp, bf_media_srtp_free);
  BfMediaEvent ev = { .type = BF_MEDIA_EVENT_DTLS_FAILED, .error = error };
  emit (t, &ev);
}

static const BfMediaDtlsCallbacks dtls_callbacks = {
  .send = dtls_send,
  .connected = dtls_connected,
  .failed = dtls_failed,
};

static void
maybe_start_dtls (BfMediaTransport *t)
{
  if (t->dtls && !t->dtls_started && !t->dtls_done && t->ice == ICE_CONNECTED)
    {
      t->dtls_started = TRUE;
      BF_SETUP_TRACE ("%p", (void *) t, "dtls-start");
      bf_media_dtls_start (t->dtls);
    }
}

static void
handle_dtls (BfMediaTransport *t, const guint8 *data, gsize len)
{
  if (t->dtls == NULL)
    {
      /* The peer (DTLS client) may start before its fingerprint and our
       * role reached us through signalling: keep a few datagrams; its
       * retransmissions cover the rest. */
      if (t->dtls_done || g_queue_get_length (&t->early_dtls) >= MAX_EARLY_DTLS)
        t->counters.dropped_not_ready++;
      else
        g_queue_push_tail (&t->early_dtls, g_bytes_new (data, len));
      return;
    }
  if (t->srtp == NULL)
    BF_SETUP_TRACE ("%p", (void *) t, "dtls-in");
  if (bf_media_dtls_receive (t->dtls, data, len))
    t->counters.dtls_in++;
  else
    t->counters.dropped_dtls++;
}

gboolean
bf_media_transport_set_dtls (BfMediaTransport *t, BfMediaDtlsSetup setup,
                             const char *remote_hash, const char *remote_fingerprint,
                             GError **error)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (t->dtls != NULL || t->dtls_done)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "DTLS already set up");
      return FALSE;
    }
  BfMediaDtlsParams params = {
    .setup = setup,
    .n_profiles = t->config.n_srtp_profiles,
    .handshake_timeout_ms = t->config.dtls_timeout_ms,
    .retransmit_ms = t->config.dtls_retransmit_ms,
    .mtu = DTLS_MTU,
  };
  memcpy (params.profiles, t->config.srtp_profiles, sizeof params.profiles);
  t->dtls = bf_media_dtls_new (t->cert, &params, remote_hash, remote_fingerprint, t->context,
                               &dtls_callbacks, t, error);
  if (t->dtls == NULL)
    return FALSE;
  t->setup = setup;

  GBytes *b;
  while ((b = g_queue_pop_head (&t->early_dtls)) != NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (b, &len);
      handle_dtls (t, data, len);
      g_bytes_unref (b);
    }
  maybe_start_dtls (t);
  return TRUE;
}

void
bf_media_transport_close (BfMediaTransport *t)
{
  g_return_if_fail (ON_WORKER (t));
  if (t->dtls && !t->dtls_done)
    bf_media_dtls_close (t->dtls);
  t->dtls_done = TRUE;
  g_clear_pointer (&t->srtp, bf_media_srtp_free);
}

/* --- receiving --- */

static void
handle_srtp (BfMediaTransport *t, guint8 *data, gsize len)
{
  if (len < 12)
    {
      t->counters.dropped_demux++;
      return;
    }
  gboolean rtcp = is_rtcp_type (data[1]);
  if (t->srtp == NULL)
    {
      t->counters.dropped_not_ready++;
      return;
    }
  gsize n = len;
  BfMediaSrtpStatus st = bf_media_srtp_unprotect (t->srtp, rtcp, data, &n);
  if (st != BF_MEDIA_SRTP_OK)
    {
      if (st == BF_MEDIA_SRTP_SSRC_LIMIT)
        t->counters.dropped_ssrc_limit++;
      else
        {
          t->counters.dropped_unprotect++;
          if (st == BF_MEDIA_SRTP_AUTH_FAIL)
            t->counters.unprotect_auth++;
          else if (st == BF_MEDIA_SRTP_REPLAY)
            t->counters.unprotect_replay++;
          else
            t->counters.unprotect_other++;
        }
      return;
    }
  if (G_UNLIKELY (!t->dtls_confirmed))
    {
      /* The peer keyed its SRTP: its handshake is complete, so it has our
       * last DTLS flight and the association can drop OpenSSL's state. */
      t->dtls_confirmed = TRUE;
      bf_media_dtls_confirm (t->dtls);
    }
  if (rtcp)
    t->counters.rtcp_in++;
  else
    t->counters.rtp_in++;
  if (t->on_rtp)
    {
      t->dispatching++;
      t->on_rtp (t, rtcp, data, n, t->user_data);
      t->dispatching--;
    }
}

static void
on_recv (NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
         gpointer user_data)
{
  BfMediaTransport *t = user_data;
  guint8 *data = (guint8 *) buf;

  t->counters.packets_in++;
  t->counters.bytes_in += len;
  if (t->ice == ICE_FAILED)
    {
      t->counters.dropped_unvalidated++;
      return;
    }
  if (len == 0 || len > BF_MEDIA_MAX_PACKET_SIZE + BF_MEDIA_SRTP_OVERHEAD)
    {
      t->counters.dropped_demux++;
      return;
    }
  /* RFC 7983 §7 */
  guint8 b = data[0];
  if (b >= 20 && b <= 63)
    handle_dtls (t, data, len);
  else if (b >= 128 && b <= 191)
    handle_srtp (t, data, len);
  else
    t->counters.dropped_demux++;   /* 0-3: STUN libnice refused; 16-19 ZRTP;
                                    * 64-79 TURN channel; the rest unassigned */
}

/* --- direct I/O --- */

static void
direct_receive (guint8 *data, gsize len, gpointer user_data)
{
  BfMediaTransport *t = user_data;
  on_recv (t->agent, t->stream_id, COMPONENT, (guint) len, (gchar *) data, t);
}

static void
direct_consent_lost (gpointer user_data)
{
  ice_fail (user_data, BF_MEDIA_ERROR_ICE, "ICE connectivity lost (consent expired, RFC 7675)");
}

static void hand_back_later (BfMediaTransport *t);

static void
direct_peer_moved (gpointer user_data)
{
  hand_back_later (user_data);
}

static const BfMediaDirectIoCallbacks direct_callbacks = {
  .receive = direct_receive,
  .consent_lost = direct_consent_lost,
  .peer_moved = direct_peer_moved,
};

static gboolean
direct_start (gpointer user_data)
{
  BfMediaTransport *t = user_data;
  g_clear_pointer (&t->direct_start, g_source_unref);
  BF_SETUP_TRACE ("%p", (void *) t, "direct-start");
  if (t->dio || t->ice != ICE_CONNECTED || t->srtp == NULL || t->dtls_done
      || t->remote_ufrag == NULL || t->restarting)
    return G_SOURCE_REMOVE;
  BfMediaDirectIoParams params = {
    .remote_ufrag = t->remote_ufrag,
    .remote_pwd = t->remote_pwd,
    .controlling = t->controlling,
    .consent_timeout_ms = t->config.consent_freshness ? t->config.consent_timeout_ms : 0,
  };
  t->dio = bf_media_direct_io_new (t->worker, t->agent, t->stream_id, COMPONENT, &params,
                                   &t->counters, &direct_callbacks, t);
  if (t->dio)
    {
      /* libnice ticks its check timer every Ta (20 ms) until it has been
       * idle for idle-timeout (5 s by default, the grace before it fails a
       * component whose checks all failed): measured, 50 wake-ups a second
       * per call for the first ~10 s of every call.  A nominated pair can
       * no longer fail that way, so the grace is cut short once the pair
       * is ours; handing it back restores it (direct_stop). */
      g_object_set (t->agent, "idle-timeout", DIRECT_IDLE_TIMEOUT_MS, NULL);
    }
  if (t->dio == NULL && t->config.consent_freshness)
    {
      /* Not expected without TURN (only relayed and TCP pairs are refused),
       * but then libnice keeps a pair it runs no consent on: its keepalives
       * become Binding requests, and it fails the component when they go
       * unanswered (50 s, libnice's figure) rather than never. */
      g_warning ("media: direct I/O refused the selected pair; libnice keeps it with "
                 "keepalive checks");
      g_object_set (t->agent, "keepalive-conncheck", TRUE, NULL);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_direct_start (BfMediaTransport *t)
{
  if (!t->direct_capable || t->dio || t->direct_start)
    return;
  /* Not from inside libnice's receive callback: at the next iteration. */
  t->direct_start = g_idle_source_new ();
  g_source_set_priority (t->direct_start, G_PRIORITY_HIGH);
  g_source_set_callback (t->direct_start, direct_start, t, NULL);
  g_source_set_static_name (t->direct_start, "bf-media-direct-start");
  g_source_attach (t->direct_start, t->context);
}

#define MOVE_WAIT_MS 5000   /* for libnice to select a new pair after the peer moved */

static void
stop_move_source (BfMediaTransport *t)
{
  if (t->move_source)
    {
      g_source_destroy (t->move_source);
      g_clear_pointer (&t->move_source, g_source_unref);
    }
}

/* No new pair came: direct I/O goes back to the one libnice has. */
static gboolean
move_timeout (gpointer user_data)
{
  BfMediaTransport *t = user_data;
  g_clear_pointer (&t->move_source, g_source_unref);
  if (t->moving)
    {
      t->moving = FALSE;
      schedule_direct_start (t);
    }
  return G_SOURCE_REMOVE;
}

static void direct_stop (BfMediaTransport *t);

/* libnice reads the pair's socket again and runs the checks (the peer
 * moved, or new candidates came); direct I/O takes over whatever pair is
 * selected next, or the same one after MOVE_WAIT_MS. */
static gboolean
hand_back (gpointer user_data)
{
  BfMediaTransport *t = user_data;
  g_clear_pointer (&t->move_source, g_source_unref);
  if (t->dio == NULL)
    return G_SOURCE_REMOVE;
  direct_stop (t);
  nice_agent_attach_recv (t->agent, t->stream_id, COMPONENT, t->context, on_recv, t);
  t->moving = TRUE;
  t->counters.pair_handbacks++;
  g_debug ("media: the pair goes back to libnice (the peer moves)");
  t->move_source = g_timeout_source_new (MOVE_WAIT_MS);
  g_source_set_callback (t->move_source, move_timeout, t, NULL);
  g_source_set_static_name (t->move_source, "bf-media-move-wait");
  g_source_attach (t->move_source, t->context);
  return G_SOURCE_REMOVE;
}

static void
hand_back_later (BfMediaTransport *t)
{
  if (t->dio == NULL || t->move_source)
    return;
  /* Not from inside direct I/O's own callback. */
  t->move_source = g_idle_source_new ();
  g_source_set_priority (t->move_source, G_PRIORITY_HIGH);
  g_source_set_callback (t->move_source, hand_back, t, NULL);
  g_source_set_static_name (t->move_source, "bf-media-hand-back");
  g_source_attach (t->move_source, t->context);
}

static void
direct_stop (BfMediaTransport *t)
{
  if (t->direct_start)
    {
      g_source_destroy (t->direct_start);
      g_clear_pointer (&t->direct_start, g_source_unref);
    }
  if (t->dio && t->agent)
    g_object_set (t->agent, "idle-timeout", NICE_IDLE_TIMEOUT_MS, NULL);
  g_clear_pointer (&t->dio, bf_media_direct_io_free);
}

/* --- libnice signals --- */

/* A pair works (libnice's or the shared port's): DTLS may start. */
static void
ice_connected (BfMediaTransport *t)
{
  t->ice = ICE_CONNECTED;
  t->ice_connected_once = TRUE;
  stop_ice_timer (t);
  send_held_dtls (t);
  emit_simple (t, BF_MEDIA_EVENT_ICE_CONNECTED);
  maybe_start_dtls (t);
}

static void
on_new_candidate (NiceAgent *agent, NiceCandidate *cand, gpointer user_data)
{
  BfMediaTransport *t = user_data;
  if (cand->stream_id != t->stream_id || cand->component_id != COMPONENT
      || cand->transport != NICE_CANDIDATE_TRANSPORT_UDP
      /* peer-reflexive candidates are learnt, never signalled (RFC 8445 §7.2.5.3.1) */
      || cand->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
    return;
  BfJingleCandidate c;
  candidate_from_nice (cand, &c);
  BfMediaEvent ev = { .type = BF_MEDIA_EVENT_LOCAL_CANDIDATE, .candidate = &c };
  emit (t, &ev);
}

static void
on_gathering_done (NiceAgent *agent, guint stream_id, gpointer user_data)
{
  BfMediaTransport *t = user_data;
  if (stream_id != t->stream_id || !t->gathering)
    return;
  t->gathering = FALSE;
  BF_SETUP_TRACE ("%p", (void *) t, "gathered");
  emit_simple (t, BF_MEDIA_EVENT_GATHERING_DONE);
}

static void
on_selected_pair (NiceAgent *agent, guint stream_id, guint component_id,
                  NiceCandidate *lcand, NiceCandidate *rcand, gpointer user_data)
{
  BfMediaTransport *t = user_data;
  if (stream_id != t->stream_id || t->dio)
    return;                       /* direct I/O: the pair is ours now */
  candidate_from_nice (lcand, &t->pair_local);
  candidate_from_nice (rcand, &t->pair_remote);
  t->have_pair = TRUE;
  BF_SETUP_TRACE ("%p", (void *) t, "selected-pair");
  if (t->moving && t->srtp && t->ice == ICE_CONNECTED)
    {
      /* The peer nominated its new address: direct I/O follows. */
      t->moving = FALSE;
      stop_move_source (t);
      schedule_direct_start (t);
    }
  g_debug ("media: selected pair %s:%u (%s) <-> %s:%u (%s)", t->pair_local.ip,
           t->pair_local.port, type_name (t->pair_local.type), t->pair_remote.ip,
           t->pair_remote.port, type_name (t->pair_remote.type));
}

static void
on_state_changed (NiceAgent *agent, guint stream_id, guint component_id, guint state,
                  gpointer user_data)
{
  BfMediaTransport *t = user_data;
  if (stream_id != t->stream_id || component_id != COMPONENT || t->ice == ICE_FAILED)
    return;
  if (t->dio)
    {
      /* The pair is direct-io.c's (and so is consent): libnice, which no
       * longer reads, has nothing to say about it. */
      g_debug ("media: libnice component state %u ignored under direct I/O", state);
      return;
    }
  BF_SETUP_TRACE ("%p", (void *) t, nice_component_state_to_string (state));
  switch (state)
    {
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
      if (t->ice != ICE_CONNECTED)
        ice_connected (t);
      /* After an ICE restart the DTLS association goes on over the new
       * pair; direct I/O takes it over once it is nominated (READY: the
       * old pair is still "selected" with priority 0 until then). */
      if (t->restarting && state == NICE_COMPONENT_STATE_READY && t->srtp)
        {
          t->restarting = FALSE;
          schedule_direct_start (t);
        }
      break;
    case NICE_COMPONENT_STATE_FAILED:
      if (t->ice == ICE_CONNECTED)
        ice_fail (t, BF_MEDIA_ERROR_ICE, "ICE connectivity lost (consent expired, RFC 7675)");
      else if (t->remote_gathering_done)
        ice_fail (t, BF_MEDIA_ERROR_ICE, "ICE failed: no candidate pair works");
      /* else: trickle, more candidates may come; ice_timeout decides */
      break;
    default:
      break;
    }
}

static gboolean
on_ice_timeout (gpointer user_data)
{
  BfMediaTransport *t = user_data;
  g_clear_pointer (&t->ice_timer, g_source_unref);
  if (t->ice != ICE_CONNECTED)
    ice_fail (t, BF_MEDIA_ERROR_TIMEOUT, "ICE did not connect in time");
  return G_SOURCE_REMOVE;
}

/* ice_timeout from now: the remote credentials came, or came anew. */
static void
start_ice_timer (BfMediaTransport *t)
{
  stop_ice_timer (t);
  t->ice_timer = g_timeout_source_new (t->config.ice_timeout_ms);
  g_source_set_callback (t->ice_timer, on_ice_timeout, t, NULL);
  g_source_set_static_name (t->ice_timer, "bf-media-ice-timeout");
  g_source_attach (t->ice_timer, t->context);
}

/* --- the shared port ([media] shared-port) --- */

/* A host candidate of ours or a remote address, as Jingle has them. */
static void
candidate_from_sockaddr (const struct sockaddr_storage *ss, guint local, gboolean ours,
                         BfJingleCandidate *c)
{
  bf_jingle_candidate_init (c);
  g_autoptr (GSocketAddress) sa = g_socket_address_new_from_native ((gpointer) ss, sizeof *ss);
  if (sa == NULL || !G_IS_INET_SOCKET_ADDRESS (sa))
    return;
  GInetSocketAddress *isa = G_INET_SOCKET_ADDRESS (sa);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (isa));
  g_strlcpy (c->ip, ip, sizeof c->ip);
  c->port = g_inet_socket_address_get_port (isa);
  c->component = COMPONENT;
  c->type = BF_JINGLE_CANDIDATE_HOST;
  g_snprintf (c->foundation, sizeof c->foundation, "%u", local + 1);
  c->priority = ours ? bf_ice_agent_host_priority (local) : 0;
}

static void
shared_receive (guint8 *data, gsize len, gpointer user_data)
{
  on_recv (NULL, 0, COMPONENT, (guint) len, (gchar *) data, user_data);
}

static void
shared_selected (gpointer user_data)
{
  BfMediaTransport *t = user_data;
  guint local;
  struct sockaddr_storage remote, mine;
  socklen_t len;
  BfIceAgent *agent = bf_shared_ice_get_agent (t->shared);
  if (!bf_ice_agent_get_selected (agent, &local, &remote, &len))
    return;
  bf_port_mux_get_local (bf_media_worker_get_port_mux (t->worker, &t->config, NULL), local,
                         &mine, &len);
  candidate_from_sockaddr (&mine, local, TRUE, &t->pair_local);
  candidate_from_sockaddr (&remote, 0, FALSE, &t->pair_remote);
  t->have_pair = TRUE;
  t->restarting = FALSE;
  BF_SETUP_TRACE ("%p", (void *) t, "selected-pair");
  if (t->ice != ICE_FAILED && t->ice != ICE_CONNECTED)
    ice_connected (t);
}

static void
shared_failed (gpointer user_data)
{
  BfMediaTransport *t = user_data;
  ice_fail (t, BF_MEDIA_ERROR_ICE, t->ice == ICE_CONNECTED
                                     ? "ICE connectivity lost (consent expired, RFC 7675)"
                                     : "ICE failed: no candidate pair works");
}

static const BfSharedIceCallbacks shared_callbacks = {
  .receive = shared_receive,
  .selected = shared_selected,
  .failed = shared_failed,
};

/* No NiceAgent and no context of its own: the worker's context runs its
 * DTLS and ICE timeouts, the worker's timer heap its checks. */
static gboolean
shared_setup (BfMediaTransport *t, GError **error)
{
  BfPortMux *mux = bf_media_worker_get_port_mux (t->worker, &t->config, error);
  if (mux == NULL)
    return FALSE;
  BfSharedIceParams params = {
    .policy = &t->policy,
    .initial_rto_ms = t->config.stun_initial_timeout_ms,
    .max_retransmissions = t->config.stun_max_retransmissions,
    .ta_ms = ICE_PACING_MS,
    .controlling = t->controlling,
    .consent_timeout_ms = t->config.consent_freshness ? t->config.consent_timeout_ms : 0,
  };
  t->shared = bf_shared_ice_new (mux, bf_media_worker_get_loop (t->worker), &params,
                                 &shared_callbacks, &t->counters, t);
  return TRUE;
}

static void
shared_gather (BfMediaTransport *t)
{
  BfPortMux *mux = bf_media_worker_get_port_mux (t->worker, &t->config, NULL);
  for (guint i = 0; i < bf_port_mux_get_n_locals (mux); i++)
    {
      struct sockaddr_storage ss;
      socklen_t len;
      bf_port_mux_get_local (mux, i, &ss, &len);
      BfJingleCandidate c;
      candidate_from_sockaddr (&ss, i, TRUE, &c);
      BfMediaEvent ev = { .type = BF_MEDIA_EVENT_LOCAL_CANDIDATE, .candidate = &c };
      emit (t, &ev);
    }
  t->gathering = FALSE;
  emit_simple (t, BF_MEDIA_EVENT_GATHERING_DONE);
}

/* --- set-up --- */

BfMediaTransport *
bf_media_transport_new (BfMediaWorker *worker, const BfMediaConfig *config, BfMediaCert *cert,
                        gboolean controlling, BfMediaEventFunc on_event, BfMediaRtpFunc on_rtp,
                        gpointer user_data, GError **error)
{
  g_return_val_if_fail (worker && config && cert && on_event, NULL);
  g_return_val_if_fail (bf_media_worker_is_current (worker), NULL);

  if (config->addresses == NULL || config->addresses[0] == NULL)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "no local address configured for ICE ([media] addresses)");
      return NULL;
    }
  if (config->n_srtp_profiles == 0)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "no SRTP profile configured");
      return NULL;
    }
  if (!bf_media_srtp_library_init (error))
    return NULL;

  BfMediaTransport *t = g_new0 (BfMediaTransport, 1);
  t->worker = worker;
  if (config->shared_port_set)
    t->context = g_main_context_ref (bf_media_worker_get_context (worker));
  else
    {
      /* A context of its own, iterated by the worker's loop only when one
       * of its sources is due (worker-loop.h): libnice's timers of this
       * agent never make the worker walk the sources of every other call. */
      t->context = g_main_context_new_with_flags (G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
      bf_media_loop_add_context (bf_media_worker_get_loop (worker), t->context);
    }
  bf_media_config_copy (&t->config, config);
  bf_media_config_peer_policy (&t->config, &t->policy);
  if (t->config.max_ssrcs == 0)
    t->config.max_ssrcs = 64;
  t->cert = bf_media_cert_ref (cert);
  t->controlling = controlling;
  t->on_event = on_event;
  t->on_rtp = on_rtp;
  t->user_data = user_data;
  g_queue_init (&t->early_dtls);
  g_queue_init (&t->held_dtls);

  if (config->shared_port_set)
    {
      if (!shared_setup (t, error))
        {
          bf_media_transport_free (t);
          return NULL;
        }
      BF_SETUP_TRACE ("%p", (void *) t, controlling ? "new-controlling" : "new-controlled");
      t->folded = (BfMediaCountersEntry) { .now = &t->counters, .flushed = &t->flushed };
      bf_media_metrics_track (bf_media_worker_get_metrics (worker), &t->folded);
      return t;
    }

  /* Who runs consent freshness: see the top of this file. */
  t->direct_capable = bf_media_direct_io_enabled () && config->turn_server == NULL;
  NiceAgentOption flags = NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_REGULAR_NOMINATION;
  if (config->consent_freshness && !t->direct_capable)
    flags |= NICE_AGENT_OPTION_CONSENT_FRESHNESS;
  t->agent = nice_agent_new_full (t->context, NICE_COMPATIBILITY_RFC5245, flags);
  g_object_set (t->agent,
                "stun-pacing-timer", (guint) ICE_PACING_MS,
                "controlling-mode", controlling,
                "ice-tcp", FALSE,
                "ice-udp", TRUE,
                "upnp", FALSE,
                NULL);
  if (config->stun_max_retransmissions)
    g_object_set (t->agent, "stun-max-retransmissions", config->stun_max_retransmissions, NULL);
  if (config->stun_initial_timeout_ms)
    g_object_set (t->agent, "stun-initial-timeout", config->stun_initial_timeout_ms, NULL);
  if (config->stun_server)
    g_object_set (t->agent, "stun-server", config->stun_server,
                  "stun-server-port", (guint) config->stun_port, NULL);

  for (char **a = config->addresses; *a; a++)
    {
      NiceAddress addr;
      nice_address_init (&addr);
      if (!nice_address_set_from_string (&addr, *a) || !nice_agent_add_local_address (t->agent, &addr))
        {
          g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                       "cannot gather on local address '%s'", *a);
          bf_media_transport_free (t);
          return NULL;
        }
    }

  t->stream_id = nice_agent_add_stream (t->agent, 1);
  if (t->stream_id == 0)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "libnice refused the stream");
      bf_media_transport_free (t);
      return NULL;
    }
  if (config->port_min && config->port_max)
    nice_agent_set_port_range (t->agent, t->stream_id, COMPONENT, config->port_min,
                               config->port_max);
  if (config->turn_server
      && !nice_agent_set_relay_info (t->agent, t->stream_id, COMPONENT, config->turn_server,
                                     config->turn_port, config->turn_username,
                                     config->turn_password, NICE_RELAY_TYPE_TURN_UDP))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "libnice refused the TURN server %s", config->turn_server);
      bf_media_transport_free (t);
      return NULL;
    }

  g_signal_connect (t->agent, "new-candidate-full", G_CALLBACK (on_new_candidate), t);
  g_signal_connect (t->agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), t);
  g_signal_connect (t->agent, "component-state-changed", G_CALLBACK (on_state_changed), t);
  g_signal_connect (t->agent, "new-selected-pair-full", G_CALLBACK (on_selected_pair), t);
  nice_agent_attach_recv (t->agent, t->stream_id, COMPONENT, t->context, on_recv, t);
  BF_SETUP_TRACE ("%p", (void *) t, controlling ? "new-controlling" : "new-controlled");
  t->folded = (BfMediaCountersEntry) { .now = &t->counters, .flushed = &t->flushed };
  bf_media_metrics_track (bf_media_worker_get_metrics (worker), &t->folded);
  return t;
}

/* Keeps libnice reading (and discarding) while the agent closes: with no
 * receive callback at all its sockets would stay readable and the worker's
 * loop would spin. */
static void
recv_discard (NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
              gpointer user_data)
{
}

/* The transport's context outlives it until its agent has closed.  On the
 * shared port it is the worker's own, only referenced. */
static void
release_context (BfMediaWorker *worker, GMainContext *context)
{
  if (context != bf_media_worker_get_context (worker))
    bf_media_loop_remove_context (bf_media_worker_get_loop (worker), context);
  g_main_context_unref (context);
}

typedef struct {
  BfMediaWorker *worker;
  GMainContext *context;   /* owned */
} Closing;

static void
agent_closed (GObject *agent, GAsyncResult *result, gpointer user_data)
{
  Closing *c = user_data;
  /* libnice 0.1.21 has no _finish(); the result is a boolean GTask. */
  g_task_propagate_boolean (G_TASK (result), NULL);
  g_object_unref (agent);
  release_context (c->worker, c->context);
  g_free (c);
}

void
bf_media_transport_free (BfMediaTransport *t)
{
  if (t == NULL)
    return;
  g_return_if_fail (ON_WORKER (t));
  g_return_if_fail (t->dispatching == 0);

  stop_ice_timer (t);
  stop_move_source (t);
  direct_stop (t);
  g_clear_pointer (&t->shared, bf_shared_ice_free);
  if (t->folded.now)
    bf_media_metrics_untrack (bf_media_worker_get_metrics (t->worker), &t->folded);
  if (t->agent)
    {
      if (t->stream_id)
        nice_agent_attach_recv (t->agent, t->stream_id, COMPONENT, t->context, recv_discard, NULL);
      g_signal_handlers_disconnect_by_data (t->agent, t);
      /* Releases TURN allocations (a refresh with lifetime 0) before the
       * sockets go; the agent is unreferenced when that is done, on this
       * worker's context. */
      Closing *c = g_new (Closing, 1);
      c->worker = t->worker;
      c->context = g_steal_pointer (&t->context);
      nice_agent_close_async (t->agent, agent_closed, c);
      t->agent = NULL;
    }
  if (t->context)
    release_context (t->worker, g_steal_pointer (&t->context));
  bf_media_dtls_free (t->dtls);
  bf_media_srtp_free (t->srtp);
  g_queue_clear_full (&t->early_dtls, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&t->held_dtls, (GDestroyNotify) g_bytes_unref);
  g_slist_free_full (t->pending_candidates, (GDestroyNotify) nice_candidate_free);
  g_free (t->remote_ufrag);
  if (t->remote_pwd)
    memset (t->remote_pwd, 0, strlen (t->remote_pwd));
  g_free (t->remote_pwd);
  bf_media_config_clear (&t->config);
  bf_media_cert_unref (t->cert);
  g_free (t);
}

gboolean
bf_media_transport_gather (BfMediaTransport *t, GError **error)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (t->gathering || t->ice != ICE_NEW)
    return TRUE;
  t->gathering = TRUE;
  t->ice = ICE_CHECKING;
  BF_SETUP_TRACE ("%p", (void *) t, "gather");
  if (t->shared)
    {
      shared_gather (t);
      return TRUE;
    }
  if (!nice_agent_gather_candidates (t->agent, t->stream_id))
    {
      t->gathering = FALSE;
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "ICE gathering failed (no usable local address or port)");
      return FALSE;
    }
  return TRUE;
}

void
bf_media_transport_get_local_credentials (BfMediaTransport *t, char **ufrag, char **pwd)
{
  g_return_if_fail (ON_WORKER (t));
  gchar *u = NULL, *p = NULL;
  if (t->shared)
    {
      const char *su, *sp;
      bf_ice_agent_get_local_credentials (bf_shared_ice_get_agent (t->shared), &su, &sp);
      u = g_strdup (su);
      p = g_strdup (sp);
    }
  else
    nice_agent_get_local_credentials (t->agent, t->stream_id, &u, &p);
  *ufrag = u;
  *pwd = p;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/", ufrag 4..256,
 * pwd 22..256. */
static gboolean
valid_ice_string (const char *s, gsize min)
{
  gsize n = 0;
  for (; s && s[n]; n++)
    if (!g_ascii_isalnum (s[n]) && s[n] != '+' && s[n] != '/')
      return FALSE;
  return s && n >= min && n <= 256;
}

static void
add_to_agent (BfMediaTransport *t, GSList *cands)
{
  if (cands == NULL)
    return;
  BF_SETUP_TRACE ("%p", (void *) t, "remote-candidates");
  if (nice_agent_set_remote_candidates (t->agent, t->stream_id, COMPONENT, cands) < 0)
    g_debug ("media: libnice refused remote candidates");
}

gboolean
bf_media_transport_set_remote_credentials (BfMediaTransport *t, const char *ufrag,
                                           const char *pwd, GError **error)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (!valid_ice_string (ufrag, 4) || !valid_ice_string (pwd, 22))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "malformed ICE ufrag or password (RFC 8839 section 5.4)");
      return FALSE;
    }
  if (t->remote_ufrag)
    {
      if (strcmp (t->remote_ufrag, ufrag) == 0 && strcmp (t->remote_pwd, pwd) == 0)
        return TRUE;
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "ICE restart is not supported");
      return FALSE;
    }
  if (t->shared)
    bf_shared_ice_set_remote_credentials (t->shared, ufrag, pwd);
  else if (!nice_agent_set_remote_credentials (t->agent, t->stream_id, ufrag, pwd))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "libnice refused the remote credentials");
      return FALSE;
    }
  t->remote_ufrag = g_strdup (ufrag);
  t->remote_pwd = g_strdup (pwd);
  BF_SETUP_TRACE ("%p", (void *) t, "remote-credentials");

  GSList *pending = g_slist_reverse (g_steal_pointer (&t->pending_candidates));
  add_to_agent (t, pending);
  g_slist_free_full (pending, (GDestroyNotify) nice_candidate_free);

  if (t->ice != ICE_CONNECTED && t->ice != ICE_FAILED && t->ice_timer == NULL)
    start_ice_timer (t);
  return TRUE;
}

gboolean
bf_media_transport_set_local_credentials (BfMediaTransport *t, const char *ufrag,
                                          const char *pwd, GError **error)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (!valid_ice_string (ufrag, 4) || !valid_ice_string (pwd, 22) || t->ice != ICE_NEW
      || (t->agent && !nice_agent_set_local_credentials (t->agent, t->stream_id, ufrag, pwd)))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "cannot set the local ICE credentials");
      return FALSE;
    }
  if (t->shared)
    bf_shared_ice_set_local_credentials (t->shared, ufrag, pwd);
  return TRUE;
}

gboolean
bf_media_transport_restart (BfMediaTransport *t, const char *ufrag, const char *pwd,
                            GError **error)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (ufrag && (!valid_ice_string (ufrag, 4) || !valid_ice_string (pwd, 22)))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "malformed ICE ufrag or password (RFC 8839 section 5.4)");
      return FALSE;
    }
  if (t->remote_ufrag == NULL || t->ice == ICE_FAILED || t->dtls_done)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "no ICE session to restart");
      return FALSE;
    }
  /* libnice runs the new checks: it reads the pair's socket again until
   * the new pair is nominated (then direct I/O takes that one over). */
  stop_move_source (t);
  t->moving = FALSE;
  if (t->dio || t->direct_start)
    {
      direct_stop (t);
      nice_agent_attach_recv (t->agent, t->stream_id, COMPONENT, t->context, on_recv, t);
    }
  if (t->shared)
    /* Media goes on over the selected pair until a new one is (shared-ice.h). */
    bf_shared_ice_restart (t->shared, ufrag, pwd);
  else if (!nice_agent_restart_stream (t->agent, t->stream_id)
      || (ufrag && !nice_agent_set_remote_credentials (t->agent, t->stream_id, ufrag, pwd)))
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID, "libnice refused the restart");
      return FALSE;
    }
  g_free (t->remote_ufrag);
  t->remote_ufrag = g_strdup (ufrag);   /* NULL: set_remote_credentials takes the new ones */
  memset (t->remote_pwd, 0, strlen (t->remote_pwd));
  g_free (t->remote_pwd);
  t->remote_pwd = g_strdup (pwd);
  g_slist_free_full (g_steal_pointer (&t->pending_candidates), (GDestroyNotify) nice_candidate_free);
  t->n_remote_candidates = 0;
  t->remote_gathering_done = FALSE;
  t->restarting = TRUE;
  t->restarts++;
  t->ice = ICE_CHECKING;
  /* A restart after a connection gets a fresh ice-timeout (a phone on a
   * new network).  Before the first one it keeps the deadline the first
   * credentials set: restarting again and again must not let a peer that
   * never connects hold its session slot for MAX_ICE_RESTARTS timeouts. */
  if (t->ice_connected_once || t->ice_timer == NULL)
    start_ice_timer (t);
  g_debug ("media: ICE restart %u", t->restarts);
  return TRUE;
}

gboolean
bf_media_transport_add_remote_candidate (BfMediaTransport *t, const BfJingleCandidate *c,
                                         GError **error)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  g_return_val_if_fail (c != NULL, FALSE);
  if (c->component != COMPONENT)
    return TRUE;              /* RTCP without mux: not used (RFC 5761 §5.1.3) */
  if (t->n_remote_candidates >= MAX_REMOTE_CANDIDATES)
    {
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "more than %d remote candidates", MAX_REMOTE_CANDIDATES);
      return FALSE;
    }
  /* Bounds as the Jingle parser leaves them, checked again: a caller may
   * have built @c by hand.  A longer foundation is cut to libnice's 32
   * bytes below (RFC 8445 §5.1.1.3 allows 1-32 ice-chars). */
  gsize flen = strnlen (c->foundation, sizeof c->foundation);
  NiceAddress addr;
  nice_address_init (&addr);
  if (flen == 0 || flen >= sizeof c->foundation || c->port == 0 || c->priority == 0
      || strnlen (c->ip, sizeof c->ip) >= INET6_ADDRSTRLEN
      || !g_hostname_is_ip_address (c->ip)
      || !nice_address_set_from_string (&addr, c->ip)
      || (guint) c->type > BF_JINGLE_CANDIDATE_RELAY)
    {
      /* mDNS (.local) names land here too: a relay has no use for them. */
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_INVALID,
                   "unusable remote candidate (needs an IP address, a port, a priority "
                   "and a foundation)");
      return FALSE;
    }
  nice_address_set_port (&addr, c->port);

  /* The peer picks these addresses: checks go only where the policy lets
   * them (addr-policy.h), counted, never logged one by one. */
  BfAddrScope scope;
  BfAddrVerdict verdict = bf_addr_policy_check (&t->policy, c->ip, c->port, &scope);
  if (verdict != BF_ADDR_VERDICT_ALLOWED)
    {
      guint reason = verdict == BF_ADDR_VERDICT_PORT ? BF_ADDR_REASON_PORT : (guint) scope;
      t->n_remote_candidates++;
      t->ignored[reason]++;
      t->counters.candidates_ignored++;
      g_set_error (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_POLICY,
                   "remote candidate ignored (candidate policy: %s)", bf_addr_reason_name (reason));
      return FALSE;
    }

  if (t->shared)
    {
      /* The agent keeps candidates until the credentials come. */
      struct sockaddr_storage ss;
      nice_address_copy_to_sockaddr (&addr, (struct sockaddr *) &ss);
      t->n_remote_candidates++;
      bf_shared_ice_add_remote_candidate (t->shared, (struct sockaddr *) &ss,
                                          ss.ss_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                                   : sizeof (struct sockaddr_in),
                                          c->priority);
      return TRUE;
    }

  NiceCandidate *n = nice_candidate_new (to_nice_type (c->type));
  n->stream_id = t->stream_id;
  n->component_id = COMPONENT;
  n->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  n->priority = c->priority;
  n->addr = addr;
  g_strlcpy (n->foundation, c->foundation, sizeof n->foundation);
  if (c->rel_addr[0] && strnlen (c->rel_addr, sizeof c->rel_addr) < INET6_ADDRSTRLEN
      && nice_address_set_from_string (&n->base_addr, c->rel_addr))
    nice_address_set_port (&n->base_addr, c->rel_port > 0 ? (guint) c->rel_port : 0);
  t->n_remote_candidates++;

  if (t->remote_ufrag == NULL)
    {
      t->pending_candidates = g_slist_prepend (t->pending_candidates, n);
      return TRUE;
    }
  GSList one = { n, NULL };
  add_to_agent (t, &one);
  nice_candidate_free (n);
  return TRUE;
}

void
bf_media_transport_remote_gathering_done (BfMediaTransport *t)
{
  g_return_if_fail (ON_WORKER (t));
  t->remote_gathering_done = TRUE;
  if (t->shared)
    {
      bf_shared_ice_remote_gathering_done (t->shared);   /* may fail ICE (shared_failed) */
      return;
    }
  nice_agent_peer_candidate_gathering_done (t->agent, t->stream_id);
  if (t->ice != ICE_CONNECTED && t->ice != ICE_FAILED && t->remote_ufrag
      && nice_agent_get_component_state (t->agent, t->stream_id, COMPONENT)
         == NICE_COMPONENT_STATE_FAILED)
    ice_fail (t, BF_MEDIA_ERROR_ICE, "ICE failed: no candidate pair works");
}

void
bf_media_transport_get_ignored_candidates (BfMediaTransport *t, guint counts[BF_ADDR_N_REASONS])
{
  g_return_if_fail (ON_WORKER (t));
  memcpy (counts, t->ignored, sizeof t->ignored);
}

void
bf_media_transport_get_counters (BfMediaTransport *t, BfMediaCounters *counters)
{
  g_return_if_fail (ON_WORKER (t));
  *counters = t->counters;
}

void
bf_media_transport_count_malformed_rtp (BfMediaTransport *t)
{
  g_return_if_fail (ON_WORKER (t));
  t->counters.dropped_malformed_rtp++;
}

BfMediaSrtpProfile
bf_media_transport_get_srtp_profile (BfMediaTransport *t)
{
  return t->srtp ? t->profile : BF_MEDIA_SRTP_NONE;
}

gboolean
bf_media_transport_get_selected_pair (BfMediaTransport *t, BfJingleCandidate *local,
                                      BfJingleCandidate *remote)
{
  g_return_val_if_fail (ON_WORKER (t), FALSE);
  if (!t->have_pair)
    return FALSE;
  if (local)
    *local = t->pair_local;
  if (remote)
    *remote = t->pair_remote;
  return TRUE;
}

BfMediaWorker *
bf_media_transport_get_worker (BfMediaTransport *t)
{
  return t->worker;
}
