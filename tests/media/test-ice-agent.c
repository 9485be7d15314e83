/* belfry's own ICE agent (relay/media/ice-agent.h) against libnice's
 * NiceAgent as the peer, over real sockets on 127.0.0.1: both roles, a
 * role conflict either way, an ICE restart by the peer with media going
 * on, and trickled candidates after the checks started.  libnice gathers
 * on 127.0.0.1 only (nice_agent_add_local_address). */
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <agent.h>
#include <stun/stunmessage.h>

#include "ice-agent.h"
#include "ice-consent.h"

typedef struct {
  NiceAgent *nice;
  guint stream;
  gboolean nice_gathered;
  NiceComponentState nice_state;
  guint nice_received;          /* non-STUN datagrams libnice delivered */
  int fd;
  struct sockaddr_in addr;      /* our shared socket */
  BfIceAgent *ours;
  guint our_received;           /* non-STUN datagrams our socket got */
  int nice_role;                /* in libnice's last request: 1 controlling, 0 controlled */
  guint events;
} Fx;

static void
on_nice_recv (NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
              gpointer data)
{
  Fx *fx = data;
  fx->nice_received++;
}

static void
on_gathered (NiceAgent *agent, guint stream, gpointer data)
{
  ((Fx *) data)->nice_gathered = TRUE;
}

static void
on_state (NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
  ((Fx *) data)->nice_state = state;
}

/* libnice's "controlling-mode" property keeps the role it was given, not
 * the one a conflict switched it to: its requests on the wire say which. */
static void
note_nice_role (Fx *fx, const guint8 *data, gsize len)
{
  BfIceStunPeek peek;
  if (!bf_ice_stun_peek (data, len, &peek) || peek.cls != 0)
    return;
  StunMessage msg = { .buffer = (uint8_t *) data, .buffer_len = len };
  guint64 tie;
  if (stun_message_find64 (&msg, STUN_ATTRIBUTE_ICE_CONTROLLING, &tie) == STUN_MESSAGE_RETURN_SUCCESS)
    fx->nice_role = 1;
  else if (stun_message_find64 (&msg, STUN_ATTRIBUTE_ICE_CONTROLLED, &tie)
           == STUN_MESSAGE_RETURN_SUCCESS)
    fx->nice_role = 0;
}

/* One round: our socket read, our agent ticked and its datagrams sent,
 * libnice's main context run once. */
static void
pump_once (Fx *fx)
{
  guint8 buf[1500];
  struct sockaddr_storage from;
  for (;;)
    {
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom (fx->fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &flen);
      if (n < 0)
        break;
      note_nice_role (fx, buf, (gsize) n);
      BfIceAgentInput in = bf_ice_agent_handle (fx->ours, 0, buf, (gsize) n,
                                                (struct sockaddr *) &from, flen,
                                                g_get_monotonic_time ());
      if (in == BF_ICE_AGENT_NOT_STUN)
        fx->our_received++;
    }
  bf_ice_agent_tick (fx->ours, g_get_monotonic_time ());
  BfIceSend *s;
  while ((s = bf_ice_agent_pop_send (fx->ours)))
    {
      g_assert_cmpuint (s->local, ==, 0);
      g_assert_cmpint (sendto (fx->fd, s->data, s->len, 0, (struct sockaddr *) &s->to,
                               s->to_len), ==, (ssize_t) s->len);
      g_free (s);
    }
  fx->events |= bf_ice_agent_take_events (fx->ours);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_usleep (1000);
}

typedef gboolean (*Cond) (Fx *fx);

static gboolean
pump_until (Fx *fx, Cond cond, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      pump_once (fx);
      if (cond (fx))
        return TRUE;
    }
  return FALSE;
}

static void
pump_for (Fx *fx, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    pump_once (fx);
}

static gboolean
gathered (Fx *fx)
{
  return fx->nice_gathered;
}

/* Both sides agree: libnice ready on a pair whose remote is our socket,
 * ours selected on a pair whose remote is libnice's candidate. */
static gboolean
connected (Fx *fx)
{
  if (fx->nice_state != NICE_COMPONENT_STATE_READY
      || bf_ice_agent_get_state (fx->ours) != BF_ICE_AGENT_SELECTED)
    return FALSE;
  NiceCandidate *l = NULL, *r = NULL;
  if (!nice_agent_get_selected_pair (fx->nice, fx->stream, 1, &l, &r))
    return FALSE;
  struct sockaddr_storage ss;
  nice_address_copy_to_sockaddr (&r->addr, (struct sockaddr *) &ss);
  const struct sockaddr_in *rin = (const void *) &ss;
  if (rin->sin_port != fx->addr.sin_port)
    return FALSE;
  struct sockaddr_storage sel;
  socklen_t sel_len;
  g_assert_true (bf_ice_agent_get_selected (fx->ours, NULL, &sel, &sel_len));
  nice_address_copy_to_sockaddr (&l->addr, (struct sockaddr *) &ss);
  return ((struct sockaddr_in *) &sel)->sin_port == ((struct sockaddr_in *) &ss)->sin_port;
}

static void
fx_init (Fx *fx, gboolean nice_controlling, gboolean our_controlling)
{
  memset (fx, 0, sizeof *fx);
  fx->nice = nice_agent_new_full (NULL, NICE_COMPATIBILITY_RFC5245,
                                  NICE_AGENT_OPTION_ICE_TRICKLE
                                  | NICE_AGENT_OPTION_REGULAR_NOMINATION);
  g_object_set (fx->nice, "controlling-mode", nice_controlling, "upnp", FALSE, "ice-tcp", FALSE,
                NULL);
  NiceAddress lo;
  nice_address_init (&lo);
  g_assert_true (nice_address_set_from_string (&lo, "127.0.0.1"));
  g_assert_true (nice_agent_add_local_address (fx->nice, &lo));
  fx->stream = nice_agent_add_stream (fx->nice, 1);
  g_assert_cmpuint (fx->stream, >, 0);
  g_signal_connect (fx->nice, "candidate-gathering-done", G_CALLBACK (on_gathered), fx);
  g_signal_connect (fx->nice, "component-state-changed", G_CALLBACK (on_state), fx);
  nice_agent_attach_recv (fx->nice, fx->stream, 1, NULL, on_nice_recv, fx);
  g_assert_true (nice_agent_gather_candidates (fx->nice, fx->stream));

  fx->fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fx->fd, >=, 0);
  fx->nice_role = -1;
  fx->addr.sin_family = AF_INET;
  fx->addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fx->fd, (struct sockaddr *) &fx->addr, sizeof fx->addr), ==, 0);
  socklen_t alen = sizeof fx->addr;
  g_assert_cmpint (getsockname (fx->fd, (struct sockaddr *) &fx->addr, &alen), ==, 0);

  BfIceAgentConfig config = { .n_locals = 1 };
  memcpy (&config.locals[0], &fx->addr, sizeof fx->addr);
  fx->ours = bf_ice_agent_new (&config, our_controlling);
  g_assert_true (pump_until (fx, gathered, 5000));
}

static void
fx_clear (Fx *fx)
{
  bf_ice_agent_free (fx->ours);
  close (fx->fd);
  g_object_unref (fx->nice);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Credentials each way. */
static void
give_credentials (Fx *fx)
{
  g_autofree char *ufrag = NULL, *pwd = NULL;
  g_assert_true (nice_agent_get_local_credentials (fx->nice, fx->stream, &ufrag, &pwd));
  bf_ice_agent_set_remote_credentials (fx->ours, ufrag, pwd);
  const char *our_ufrag, *our_pwd;
  bf_ice_agent_get_local_credentials (fx->ours, &our_ufrag, &our_pwd);
  g_assert_true (nice_agent_set_remote_credentials (fx->nice, fx->stream, our_ufrag, our_pwd));
}

/* Our host candidate to libnice. */
static void
give_ours_to_nice (Fx *fx, gboolean done)
{
  NiceCandidate *c = nice_candidate_new (NICE_CANDIDATE_TYPE_HOST);
  c->stream_id = fx->stream;
  c->component_id = 1;
  c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  nice_address_set_from_sockaddr (&c->addr, (struct sockaddr *) &fx->addr);
  c->priority = (126u << 24) | (65535u << 8) | 255u;
  g_strlcpy (c->foundation, "1", sizeof c->foundation);
  GSList *list = g_slist_append (NULL, c);
  g_assert_cmpint (nice_agent_set_remote_candidates (fx->nice, fx->stream, 1, list), ==, 1);
  g_slist_free_full (list, (GDestroyNotify) nice_candidate_free);
  if (done)
    g_assert_true (nice_agent_peer_candidate_gathering_done (fx->nice, fx->stream));
}

/* libnice's candidates to ours; how many were new. */
static guint
give_nice_to_ours (Fx *fx, gboolean done)
{
  GSList *cands = nice_agent_get_local_candidates (fx->nice, fx->stream, 1);
  guint added = 0;
  g_assert_nonnull (cands);
  for (GSList *l = cands; l; l = l->next)
    {
      NiceCandidate *c = l->data;
      struct sockaddr_storage ss;
      nice_address_copy_to_sockaddr (&c->addr, (struct sockaddr *) &ss);
      added += bf_ice_agent_add_remote_candidate (fx->ours, (struct sockaddr *) &ss,
                                                  sizeof (struct sockaddr_in), c->priority);
    }
  g_slist_free_full (cands, (GDestroyNotify) nice_candidate_free);
  if (done)
    bf_ice_agent_remote_gathering_done (fx->ours);
  return added;
}

/* Datagrams (not STUN: first byte 128, RFC 7983) each way over the
 * selected pairs. */
static void
media_both_ways (Fx *fx, guint n)
{
  guint nice_before = fx->nice_received, ours_before = fx->our_received;
  guint8 pkt[100] = { 0x80, 0x60 };
  struct sockaddr_storage to;
  socklen_t to_len;
  g_assert_true (bf_ice_agent_get_selected (fx->ours, NULL, &to, &to_len));
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpint (nice_agent_send (fx->nice, fx->stream, 1, sizeof pkt, (char *) pkt), ==,
                       (gint) sizeof pkt);
      g_assert_cmpint (sendto (fx->fd, pkt, sizeof pkt, 0, (struct sockaddr *) &to, to_len), ==,
                       (ssize_t) sizeof pkt);
      pump_once (fx);
    }
  pump_for (fx, 50);
  g_assert_cmpuint (fx->nice_received - nice_before, ==, n);
  g_assert_cmpuint (fx->our_received - ours_before, ==, n);
}

static void
connect_plain (Fx *fx)
{
  give_credentials (fx);
  give_ours_to_nice (fx, TRUE);
  g_assert_cmpuint (give_nice_to_ours (fx, TRUE), ==, 1);
  g_assert_true (pump_until (fx, connected, 5000));
  g_assert_true (fx->events & BF_ICE_AGENT_EVENT_SELECTED);
}

static void
test_role (gconstpointer data)
{
  gboolean we_control = GPOINTER_TO_INT (data);
  Fx fx;
  fx_init (&fx, !we_control, we_control);
  connect_plain (&fx);
  g_assert_cmpint (bf_ice_agent_is_controlling (fx.ours), ==, we_control);
  g_assert_false (fx.events & BF_ICE_AGENT_EVENT_ROLE);
  media_both_ways (&fx, 20);
  /* Paced and bounded: a handful of checks, not a flood. */
  g_assert_cmpuint (bf_ice_agent_get_checks_sent (fx.ours), >=, 1);
  g_assert_cmpuint (bf_ice_agent_get_checks_sent (fx.ours), <=, 10);
  fx_clear (&fx);
}

/* Both sides claim the same role: one of them gives way (§7.3.1.1), the
 * roles end up opposite and the pair works. */
static void
test_role_conflict (gconstpointer data)
{
  gboolean both_control = GPOINTER_TO_INT (data);
  Fx fx;
  fx_init (&fx, both_control, both_control);
  connect_plain (&fx);
  int nice_controlling = fx.nice_role;
  g_assert_cmpint (nice_controlling, >=, 0);
  g_test_message ("ours %d (role event %d), nice %d", bf_ice_agent_is_controlling (fx.ours),
                  !!(fx.events & BF_ICE_AGENT_EVENT_ROLE), nice_controlling);
  g_assert_cmpint (bf_ice_agent_is_controlling (fx.ours), !=, nice_controlling);
  g_test_message ("belfry ends %s", bf_ice_agent_is_controlling (fx.ours) ? "controlling"
                                                                          : "controlled");
  media_both_ways (&fx, 20);
  fx_clear (&fx);
}

static gboolean
ours_selected_anew (Fx *fx)
{
  return (fx->events & BF_ICE_AGENT_EVENT_SELECTED) && connected (fx);
}

/* The peer restarts ICE (RFC 8445 §9): new credentials both sides; media
 * goes on over the old pair until the new one is selected. */
static void
test_restart (gconstpointer data)
{
  gboolean we_control = GPOINTER_TO_INT (data);
  Fx fx;
  fx_init (&fx, !we_control, we_control);
  connect_plain (&fx);
  media_both_ways (&fx, 10);
  const char *u, *p;
  bf_ice_agent_get_local_credentials (fx.ours, &u, &p);
  g_autofree char *old_ufrag = g_strdup (u);

  g_assert_true (nice_agent_restart_stream (fx.nice, fx.stream));
  g_autofree char *ufrag = NULL, *pwd = NULL;
  g_assert_true (nice_agent_get_local_credentials (fx.nice, fx.stream, &ufrag, &pwd));
  bf_ice_agent_restart (fx.ours, ufrag, pwd);
  bf_ice_agent_get_local_credentials (fx.ours, &u, &p);
  g_assert_cmpstr (u, !=, old_ufrag);
  /* Before anything of the new generation: still selected, media flows. */
  g_assert_true (bf_ice_agent_get_selected (fx.ours, NULL, NULL, NULL));
  fx.events = 0;
  media_both_ways (&fx, 10);

  g_assert_true (nice_agent_set_remote_credentials (fx.nice, fx.stream, u, p));
  give_ours_to_nice (&fx, TRUE);
  give_nice_to_ours (&fx, TRUE);
  g_assert_true (pump_until (&fx, ours_selected_anew, 5000));
  media_both_ways (&fx, 10);
  fx_clear (&fx);
}

/* Candidates trickle in after the credentials: libnice learns ours first
 * and checks; ours answers, learns libnice's address as peer-reflexive,
 * checks it back (triggered); libnice's candidates come last. */
static void
test_trickle (gconstpointer data)
{
  gboolean we_control = GPOINTER_TO_INT (data);
  Fx fx;
  fx_init (&fx, !we_control, we_control);
  give_credentials (&fx);
  pump_for (&fx, 100);
  g_assert_cmpuint (bf_ice_agent_get_checks_sent (fx.ours), ==, 0);
  g_assert_cmpint (bf_ice_agent_get_state (fx.ours), ==, BF_ICE_AGENT_RUNNING);
  give_ours_to_nice (&fx, FALSE);
  pump_for (&fx, 300);
  /* Checks went out to the peer-reflexive candidate. */
  g_assert_cmpuint (bf_ice_agent_get_checks_sent (fx.ours), >=, 1);
  give_ours_to_nice (&fx, TRUE);
  /* Already known as peer-reflexive: not new, only its priority changes. */
  g_assert_cmpuint (give_nice_to_ours (&fx, TRUE), ==, 0);
  g_assert_true (pump_until (&fx, connected, 5000));
  media_both_ways (&fx, 10);
  fx_clear (&fx);
}

/* A peer that never answers: every pair fails after end-of-candidates, and
 * the checks stop (1 + max_retransmissions per pair). */
static void
test_fail_bounded (void)
{
  int silent = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_assert_cmpint (bind (silent, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  socklen_t len = sizeof sa;
  g_assert_cmpint (getsockname (silent, (struct sockaddr *) &sa, &len), ==, 0);
  BfIceAgentConfig config = { .n_locals = 1, .initial_rto_ms = 20, .max_retransmissions = 3 };
  struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons (9),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  memcpy (&config.locals[0], &me, sizeof me);
  BfIceAgent *a = bf_ice_agent_new (&config, TRUE);
  bf_ice_agent_set_remote_credentials (a, "abcd", "0123456789012345678901");
  g_assert_true (bf_ice_agent_add_remote_candidate (a, (struct sockaddr *) &sa, sizeof sa, 1000));
  g_assert_false (bf_ice_agent_add_remote_candidate (a, (struct sockaddr *) &sa, sizeof sa, 1000));
  bf_ice_agent_remote_gathering_done (a);
  guint sent = 0;
  gint64 end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while (bf_ice_agent_get_state (a) == BF_ICE_AGENT_RUNNING && g_get_monotonic_time () < end)
    {
      bf_ice_agent_tick (a, g_get_monotonic_time ());
      BfIceSend *s;
      while ((s = bf_ice_agent_pop_send (a)))
        sent++, g_free (s);
      g_usleep (2000);
    }
  g_assert_cmpint (bf_ice_agent_get_state (a), ==, BF_ICE_AGENT_FAILED);
  g_assert_true (bf_ice_agent_take_events (a) & BF_ICE_AGENT_EVENT_FAILED);
  g_assert_cmpuint (sent, ==, 4);
  g_assert_cmpint (bf_ice_agent_next_deadline (a), ==, -1);
  bf_ice_agent_free (a);
  close (silent);
}

/* The candidate limit: no more than BF_ICE_AGENT_MAX_REMOTE remote
 * candidates, whatever a peer announces. */
static void
test_candidate_limit (void)
{
  BfIceAgentConfig config = { .n_locals = 1 };
  struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons (9),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  memcpy (&config.locals[0], &me, sizeof me);
  BfIceAgent *a = bf_ice_agent_new (&config, TRUE);
  guint added = 0;
  for (guint i = 0; i < 100; i++)
    {
      struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (10000 + i),
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
      added += bf_ice_agent_add_remote_candidate (a, (struct sockaddr *) &sa, sizeof sa, 1);
    }
  g_assert_cmpuint (added, ==, BF_ICE_AGENT_MAX_REMOTE);
  bf_ice_agent_free (a);
}

/* The remote candidate policy (addr-policy.h) holds for signalled
 * candidates: a loopback relay checks loopback peers only, never a port
 * below 1024. */
static void
test_policy (void)
{
  BfAddrPolicy policy;
  bf_addr_policy_init (&policy);
  g_assert_true (bf_addr_policy_add_local (&policy, "127.0.0.1", 8));
  BfIceAgentConfig config = { .n_locals = 1, .policy = &policy };
  struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons (9),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  memcpy (&config.locals[0], &me, sizeof me);
  BfIceAgent *a = bf_ice_agent_new (&config, TRUE);
  struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons (5000) };
  g_assert_cmpint (inet_pton (AF_INET, "10.1.2.3", &peer.sin_addr), ==, 1);
  g_assert_false (bf_ice_agent_add_remote_candidate (a, (struct sockaddr *) &peer, sizeof peer, 1));
  g_assert_cmpint (inet_pton (AF_INET, "127.0.0.1", &peer.sin_addr), ==, 1);
  peer.sin_port = htons (80);
  g_assert_false (bf_ice_agent_add_remote_candidate (a, (struct sockaddr *) &peer, sizeof peer, 1));
  peer.sin_port = htons (5000);
  g_assert_true (bf_ice_agent_add_remote_candidate (a, (struct sockaddr *) &peer, sizeof peer, 1));
  bf_ice_agent_free (a);
}

/* A peer-reflexive candidate is the source of a request authenticated
 * with our password: it is checked even outside the policy's scope, as
 * libnice does on the default path (a phone whose checks leave from an
 * address belfry would never send to by candidate: Conversations after a
 * network change, tests/e2e/test_conversations.py). */
static void
test_policy_spares_peer_reflexive (void)
{
  BfAddrPolicy policy;
  bf_addr_policy_init (&policy);
  g_assert_true (bf_addr_policy_add_local (&policy, "127.0.0.1", 8));
  BfIceAgentConfig config = { .n_locals = 1, .policy = &policy };
  struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons (40000),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  memcpy (&config.locals[0], &me, sizeof me);
  BfIceAgent *a = bf_ice_agent_new (&config, FALSE);
  const char *ufrag, *pwd;
  bf_ice_agent_get_local_credentials (a, &ufrag, &pwd);
  bf_ice_agent_set_remote_credentials (a, "peerUfrg", "peerPassword0123456789ab");
  struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons (5000) };
  g_assert_cmpint (inet_pton (AF_INET, "10.1.2.3", &peer.sin_addr), ==, 1);
  /* Signalled, it is refused. */
  g_assert_false (bf_ice_agent_add_remote_candidate (a, (struct sockaddr *) &peer, sizeof peer, 1));

  /* The peer's request, built with our credentials as its remote ones. */
  BfIceConsent *req = bf_ice_consent_new ("peerUfrg", "peerPassword0123456789ab", ufrag, pwd,
                                          TRUE, 0x6e0001ff);
  guint8 buf[1280];
  gsize len = bf_ice_consent_build_request (req, buf, sizeof buf);
  g_assert_cmpuint (len, >, 0);
  gint64 now = g_get_monotonic_time ();
  g_assert_cmpint (bf_ice_agent_handle (a, 0, buf, len, (struct sockaddr *) &peer, sizeof peer,
                                        now), ==, BF_ICE_AGENT_HANDLED);
  /* The answer, then (now or at the next tick) a triggered check, both to
   * the request's source. */
  guint to_peer = 0;
  for (int round = 0; round < 2; round++)
    {
      BfIceSend *out;
      while ((out = bf_ice_agent_pop_send (a)))
        {
          const struct sockaddr_in *to = (const struct sockaddr_in *) &out->to;
          if (to->sin_addr.s_addr == peer.sin_addr.s_addr && to->sin_port == peer.sin_port)
            to_peer++;
          g_free (out);
        }
      now += 100 * G_TIME_SPAN_MILLISECOND;
      bf_ice_agent_tick (a, now);
    }
  g_assert_cmpuint (to_peer, >=, 2);
  bf_ice_consent_free (req);
  bf_ice_agent_free (a);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/ice-agent/libnice/controlling", GINT_TO_POINTER (TRUE), test_role);
  g_test_add_data_func ("/ice-agent/libnice/controlled", GINT_TO_POINTER (FALSE), test_role);
  g_test_add_data_func ("/ice-agent/libnice/conflict-both-controlling", GINT_TO_POINTER (TRUE),
                        test_role_conflict);
  g_test_add_data_func ("/ice-agent/libnice/conflict-both-controlled", GINT_TO_POINTER (FALSE),
                        test_role_conflict);
  g_test_add_data_func ("/ice-agent/libnice/restart-controlling", GINT_TO_POINTER (TRUE),
                        test_restart);
  g_test_add_data_func ("/ice-agent/libnice/restart-controlled", GINT_TO_POINTER (FALSE),
                        test_restart);
  g_test_add_data_func ("/ice-agent/libnice/trickle-controlling", GINT_TO_POINTER (TRUE),
                        test_trickle);
  g_test_add_data_func ("/ice-agent/libnice/trickle-controlled", GINT_TO_POINTER (FALSE),
                        test_trickle);
  g_test_add_func ("/ice-agent/fail-bounded", test_fail_bounded);
  g_test_add_func ("/ice-agent/candidate-limit", test_candidate_limit);
  g_test_add_func ("/ice-agent/policy", test_policy);
  g_test_add_func ("/ice-agent/policy-spares-peer-reflexive", test_policy_spares_peer_reflexive);
  return g_test_run ();
}
