/* The shared port (relay/media/port-mux.h, shared-ice.h) with libnice's
 * NiceAgent as the peers, on 127.0.0.1: two transports behind one socket,
 * packets from an unknown address dropped and counted, a peer changing
 * address with an ICE restart, and a selection of another link's remote
 * address refused.  Everything runs on this thread in a worker loop
 * (worker-loop.h) driven in slices; libnice's agents are on its context. */
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <agent.h>

#include "port-mux.h"
#include "shared-ice.h"

typedef struct {
  BfMediaLoop *loop;
  GMainContext *context;
  BfMediaSendQueue *queue;
  BfPortMux *mux;
} World;

typedef struct {
  World *w;
  NiceAgent *nice;
  guint stream;
  gboolean gathered;
  NiceComponentState state;
  guint nice_received;
  BfSharedIce *ice;
  BfMediaCounters counters;
  guint received;               /* non-STUN through the mux */
  guint selections, failures;
} Leg;

static void
quit_cb (gpointer data)
{
  bf_media_loop_quit (data);
}

/* Runs the loop for @ms. */
static void
run_for (World *w, guint ms)
{
  g_autoptr (BfMediaTimer) t = bf_media_loop_timer_new (w->loop, quit_cb, w->loop);
  bf_media_timer_set (t, g_get_monotonic_time () + (gint64) ms * 1000);
  bf_media_loop_run (w->loop);
  /* run() adds the loop's context; drain takes it out again for the next
   * slice (one round: whatever is due runs in the next slice anyway). */
  bf_media_loop_drain (w->loop, 1);
}

typedef gboolean (*Cond) (gpointer data);

static gboolean
run_until (World *w, Cond cond, gpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      if (cond (data))
        return TRUE;
      run_for (w, 5);
    }
  return cond (data);
}

static void
world_init (World *w)
{
  memset (w, 0, sizeof *w);
  w->context = g_main_context_new_with_flags (G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
  g_main_context_push_thread_default (w->context);
  w->loop = bf_media_loop_new (w->context, NULL);
  g_assert_nonnull (w->loop);
  w->queue = bf_media_send_queue_new ();
  char *addresses[] = { (char *) "127.0.0.1", NULL };
  g_autoptr (GError) error = NULL;
  w->mux = bf_port_mux_new (w->loop, w->queue, NULL, addresses, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bf_port_mux_get_n_locals (w->mux), ==, 1);
}

static void
world_clear (World *w)
{
  bf_port_mux_free (w->mux);
  bf_media_send_queue_free (w->queue);
  run_for (w, 5);
  bf_media_loop_free (w->loop);
  g_main_context_pop_thread_default (w->context);
  g_main_context_unref (w->context);
}

static void
on_nice_recv (NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
              gpointer data)
{
  ((Leg *) data)->nice_received++;
}

static void
on_gathered (NiceAgent *agent, guint stream, gpointer data)
{
  ((Leg *) data)->gathered = TRUE;
}

static void
on_state (NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
  ((Leg *) data)->state = state;
}

static void
leg_receive (guint8 *data, gsize len, gpointer user_data)
{
  ((Leg *) user_data)->received++;
}

static void
leg_selected (gpointer user_data)
{
  ((Leg *) user_data)->selections++;
}

static void
leg_failed (gpointer user_data)
{
  ((Leg *) user_data)->failures++;
}

static const BfSharedIceCallbacks leg_callbacks = {
  .receive = leg_receive,
  .selected = leg_selected,
  .failed = leg_failed,
};

static gboolean
leg_gathered (gpointer data)
{
  return ((Leg *) data)->gathered;
}

static void
nice_new (Leg *leg)
{
  leg->gathered = FALSE;
  leg->state = NICE_COMPONENT_STATE_DISCONNECTED;
  leg->nice = nice_agent_new_full (leg->w->context, NICE_COMPATIBILITY_RFC5245,
                                   NICE_AGENT_OPTION_ICE_TRICKLE
                                   | NICE_AGENT_OPTION_REGULAR_NOMINATION);
  g_object_set (leg->nice, "controlling-mode", TRUE, "upnp", FALSE, "ice-tcp", FALSE, NULL);
  NiceAddress lo;
  nice_address_init (&lo);
  g_assert_true (nice_address_set_from_string (&lo, "127.0.0.1"));
  g_assert_true (nice_agent_add_local_address (leg->nice, &lo));
  leg->stream = nice_agent_add_stream (leg->nice, 1);
  g_signal_connect (leg->nice, "candidate-gathering-done", G_CALLBACK (on_gathered), leg);
  g_signal_connect (leg->nice, "component-state-changed", G_CALLBACK (on_state), leg);
  nice_agent_attach_recv (leg->nice, leg->stream, 1, leg->w->context, on_nice_recv, leg);
  g_assert_true (nice_agent_gather_candidates (leg->nice, leg->stream));
  g_assert_true (run_until (leg->w, leg_gathered, leg, 5000));
}

/* libnice controlling, ours controlled (belfry on a caller's leg). */
static void
leg_init_full (Leg *leg, World *w, guint consent_timeout_ms)
{
  memset (leg, 0, sizeof *leg);
  leg->w = w;
  nice_new (leg);
  BfSharedIceParams params = { .controlling = FALSE, .consent_timeout_ms = consent_timeout_ms };
  leg->ice = bf_shared_ice_new (w->mux, w->loop, &params, &leg_callbacks, &leg->counters, leg);
}

static void
leg_init (Leg *leg, World *w)
{
  leg_init_full (leg, w, 0);
}

static void
leg_clear (Leg *leg)
{
  bf_shared_ice_free (leg->ice);
  g_object_unref (leg->nice);
}

/* Credentials and candidates both ways (ours: the mux's socket). */
static void
leg_signal (Leg *leg)
{
  g_autofree char *ufrag = NULL, *pwd = NULL;
  g_assert_true (nice_agent_get_local_credentials (leg->nice, leg->stream, &ufrag, &pwd));
  BfIceAgent *agent = bf_shared_ice_get_agent (leg->ice);
  const char *u, *p;
  bf_ice_agent_get_local_credentials (agent, &u, &p);
  g_assert_true (nice_agent_set_remote_credentials (leg->nice, leg->stream, u, p));
  bf_shared_ice_set_remote_credentials (leg->ice, ufrag, pwd);

  struct sockaddr_storage ss;
  socklen_t len;
  bf_port_mux_get_local (leg->w->mux, 0, &ss, &len);
  NiceCandidate *c = nice_candidate_new (NICE_CANDIDATE_TYPE_HOST);
  c->stream_id = leg->stream;
  c->component_id = 1;
  c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  nice_address_set_from_sockaddr (&c->addr, (struct sockaddr *) &ss);
  c->priority = (126u << 24) | (65535u << 8) | 255u;
  g_strlcpy (c->foundation, "1", sizeof c->foundation);
  GSList *list = g_slist_append (NULL, c);
  g_assert_cmpint (nice_agent_set_remote_candidates (leg->nice, leg->stream, 1, list), ==, 1);
  g_slist_free_full (list, (GDestroyNotify) nice_candidate_free);
  nice_agent_peer_candidate_gathering_done (leg->nice, leg->stream);

  GSList *cands = nice_agent_get_local_candidates (leg->nice, leg->stream, 1);
  for (GSList *l = cands; l; l = l->next)
    {
      NiceCandidate *n = l->data;
      nice_address_copy_to_sockaddr (&n->addr, (struct sockaddr *) &ss);
      bf_shared_ice_add_remote_candidate (leg->ice, (struct sockaddr *) &ss,
                                          sizeof (struct sockaddr_in), n->priority);
    }
  g_slist_free_full (cands, (GDestroyNotify) nice_candidate_free);
  bf_shared_ice_remote_gathering_done (leg->ice);
}

static gboolean
leg_connected (gpointer data)
{
  Leg *leg = data;
  return leg->state == NICE_COMPONENT_STATE_READY && leg->selections > 0;
}

/* libnice's local UDP address. */
static void
nice_address (Leg *leg, struct sockaddr_storage *ss)
{
  GSList *cands = nice_agent_get_local_candidates (leg->nice, leg->stream, 1);
  g_assert_nonnull (cands);
  nice_address_copy_to_sockaddr (&((NiceCandidate *) cands->data)->addr, (struct sockaddr *) ss);
  g_slist_free_full (cands, (GDestroyNotify) nice_candidate_free);
}

/* @n datagrams each way; returns what the mux's leg got. */
static void
media (Leg *leg, guint n, guint *ours, guint *theirs)
{
  guint r0 = leg->received, n0 = leg->nice_received;
  guint8 pkt[120] = { 0x80, 0x60 };
  for (guint i = 0; i < n; i++)
    {
      pkt[2] = (guint8) i;
      nice_agent_send (leg->nice, leg->stream, 1, sizeof pkt, (char *) pkt);
      g_assert_true (bf_shared_ice_send (leg->ice, pkt, sizeof pkt));
    }
  run_for (leg->w, 50);
  *ours = leg->received - r0;
  *theirs = leg->nice_received - n0;
}

/* Two transports behind one socket: each gets its own peer's packets and
 * only those; an unknown source is dropped and counted. */
static void
test_two_legs (void)
{
  World w;
  world_init (&w);
  Leg a, b;
  leg_init (&a, &w);
  leg_init (&b, &w);
  leg_signal (&a);
  leg_signal (&b);
  g_assert_true (run_until (&w, leg_connected, &a, 5000));
  g_assert_true (run_until (&w, leg_connected, &b, 5000));

  guint ours, theirs;
  media (&a, 30, &ours, &theirs);
  g_assert_cmpuint (ours, ==, 30);
  g_assert_cmpuint (theirs, ==, 30);
  g_assert_cmpuint (b.received, ==, 0);
  media (&b, 20, &ours, &theirs);
  g_assert_cmpuint (ours, ==, 20);
  g_assert_cmpuint (theirs, ==, 20);
  g_assert_cmpuint (a.received, ==, 30);

  /* A stranger: dropped, counted, nobody's. */
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_storage port;
  socklen_t plen;
  bf_port_mux_get_local (w.mux, 0, &port, &plen);
  guint8 junk[100] = { 0x80, 0x60 };
  for (guint i = 0; i < 7; i++)
    g_assert_cmpint (sendto (fd, junk, sizeof junk, 0, (struct sockaddr *) &port, plen), ==,
                     (ssize_t) sizeof junk);
  /* STUN for nobody: counted apart. */
  guint8 stun[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1 };
  g_assert_cmpint (sendto (fd, stun, sizeof stun, 0, (struct sockaddr *) &port, plen), ==, 20);
  run_for (&w, 50);
  BfPortMuxStats st;
  bf_port_mux_get_stats (w.mux, &st);
  g_assert_cmpuint (st.dropped_unvalidated, ==, 7);
  g_assert_cmpuint (st.stun_unknown, ==, 1);
  g_assert_cmpuint (a.received, ==, 30);
  g_assert_cmpuint (b.received, ==, 20);
  close (fd);

  /* One socket, both legs: their counters saw STUN both ways. */
  g_assert_cmpuint (a.counters.stun_in, >, 0);
  g_assert_cmpuint (b.counters.stun_out, >, 0);
  leg_clear (&a);
  leg_clear (&b);
  world_clear (&w);
}

/* The peer restarts ICE from a new address (a phone on a new network):
 * media goes on over the old pair until the new one is selected, then the
 * old address is unknown. */
static void
test_restart_new_address (void)
{
  World w;
  world_init (&w);
  Leg a;
  leg_init (&a, &w);
  leg_signal (&a);
  g_assert_true (run_until (&w, leg_connected, &a, 5000));
  guint ours, theirs;
  media (&a, 10, &ours, &theirs);
  g_assert_cmpuint (ours, ==, 10);
  struct sockaddr_storage old_addr;
  nice_address (&a, &old_addr);

  /* The old agent stays (its socket is the old address); a new one takes
   * over with new credentials, on a new port. */
  NiceAgent *old = a.nice;
  guint old_stream = a.stream;
  nice_new (&a);
  g_autofree char *ufrag = NULL, *pwd = NULL;
  g_assert_true (nice_agent_get_local_credentials (a.nice, a.stream, &ufrag, &pwd));
  bf_shared_ice_restart (a.ice, ufrag, pwd);
  /* Still selected: the old peer's media still comes through. */
  guint8 pkt[100] = { 0x80, 0x60 };
  guint before = a.received;
  for (guint i = 0; i < 5; i++)
    nice_agent_send (old, old_stream, 1, sizeof pkt, (char *) pkt);
  run_for (&w, 30);
  g_assert_cmpuint (a.received - before, ==, 5);

  guint sel_before = a.selections;
  leg_signal (&a);
  g_assert_true (run_until (&w, leg_connected, &a, 5000));
  g_assert_cmpuint (a.selections, >, sel_before);
  struct sockaddr_storage new_addr;
  nice_address (&a, &new_addr);
  g_assert_cmpint (((struct sockaddr_in *) &new_addr)->sin_port, !=,
                   ((struct sockaddr_in *) &old_addr)->sin_port);
  media (&a, 10, &ours, &theirs);
  g_assert_cmpuint (ours, ==, 10);
  g_assert_cmpuint (theirs, ==, 10);

  /* The old address is nobody's now. */
  BfPortMuxStats st0, st1;
  bf_port_mux_get_stats (w.mux, &st0);
  before = a.received;
  for (guint i = 0; i < 5; i++)
    nice_agent_send (old, old_stream, 1, sizeof pkt, (char *) pkt);
  run_for (&w, 30);
  bf_port_mux_get_stats (w.mux, &st1);
  g_assert_cmpuint (a.received, ==, before);
  g_assert_cmpuint (st1.dropped_unvalidated - st0.dropped_unvalidated, ==, 5);
  g_object_unref (old);
  leg_clear (&a);
  world_clear (&w);
}

static gboolean
leg_failed_cond (gpointer data)
{
  return ((Leg *) data)->failures > 0;
}

/* RFC 7675 on the selected pair: libnice answers our consent checks, so
 * the leg lives past its consent timeout; once the peer is gone it fails
 * within about that timeout. */
static void
test_consent (void)
{
  World w;
  world_init (&w);
  Leg a;
  leg_init_full (&a, &w, 3000);
  leg_signal (&a);
  g_assert_true (run_until (&w, leg_connected, &a, 5000));
  guint64 stun_out = a.counters.stun_out;
  run_for (&w, 4500);
  g_assert_cmpuint (a.failures, ==, 0);
  g_assert_cmpuint (a.counters.stun_out, >, stun_out);   /* consent checks went out */
  g_object_unref (a.nice);
  a.nice = NULL;
  gint64 gone = g_get_monotonic_time ();
  g_assert_true (run_until (&w, leg_failed_cond, &a, 6000));
  gint64 took_ms = (g_get_monotonic_time () - gone) / 1000;
  g_test_message ("consent lost %" G_GINT64_FORMAT " ms after the peer went", took_ms);
  g_assert_cmpint (took_ms, <=, 3000 + 500);
  bf_shared_ice_free (a.ice);
  world_clear (&w);
}

static void
noop_receive (guint8 *data, gsize len, gpointer user_data)
{
}

static void
noop_stun (guint local, const guint8 *data, gsize len, const struct sockaddr *from,
           socklen_t from_len, gpointer user_data)
{
}

static const BfPortMuxCallbacks noop_callbacks = { .receive = noop_receive, .stun = noop_stun };

static void
count_stun (guint local, const guint8 *data, gsize len, const struct sockaddr *from,
            socklen_t from_len, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static const BfPortMuxCallbacks counting_callbacks = { .receive = noop_receive,
                                                       .stun = count_stun };

/* A Binding request with USERNAME @user only (what the demux reads). */
static gsize
request_with_username (const char *user, guint8 *buf)
{
  gsize ulen = strlen (user), padded = (ulen + 3) & ~(gsize) 3;
  memset (buf, 0, 20 + 4 + padded);
  buf[1] = 0x01;                              /* Binding request */
  buf[2] = 0;
  buf[3] = (guint8) (4 + padded);
  buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
  buf[8] = 7;                                 /* transaction id */
  buf[21] = 0x06;                             /* USERNAME */
  buf[23] = (guint8) ulen;
  memcpy (buf + 24, user, ulen);
  return 24 + padded;
}

/* The transports of a BUNDLE offer share a local ufrag
 * (session-transports.c); a peer that does not bundle checks each with its
 * own ufrag after the colon, and each request reaches its own link. */
static void
test_shared_ufrag (void)
{
  World w;
  world_init (&w);
  BfMediaCounters c1 = { 0 }, c2 = { 0 };
  guint n1 = 0, n2 = 0;
  BfPortMuxLink *l1 = bf_port_mux_link_new (w.mux, "bundleUU", &counting_callbacks, &c1, &n1);
  BfPortMuxLink *l2 = bf_port_mux_link_new (w.mux, "bundleUU", &counting_callbacks, &c2, &n2);
  bf_port_mux_link_set_remote_ufrag (l1, "peerOne");
  bf_port_mux_link_set_remote_ufrag (l2, "peerTwo");
  struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons (4000),
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  guint8 buf[64];
  gsize len = request_with_username ("bundleUU:peerTwo", buf);
  bf_port_mux_input (w.mux, 0, buf, len, (struct sockaddr *) &peer, sizeof peer);
  g_assert_cmpuint (n2, ==, 1);
  g_assert_cmpuint (n1, ==, 0);
  len = request_with_username ("bundleUU:peerOne", buf);
  bf_port_mux_input (w.mux, 0, buf, len, (struct sockaddr *) &peer, sizeof peer);
  g_assert_cmpuint (n1, ==, 1);
  /* An unknown peer ufrag: the first link (a bundling peer checks one). */
  len = request_with_username ("bundleUU:someone", buf);
  bf_port_mux_input (w.mux, 0, buf, len, (struct sockaddr *) &peer, sizeof peer);
  g_assert_cmpuint (n1, ==, 2);
  g_assert_cmpuint (n2, ==, 1);
  /* Once l1 is gone, its ufrag still routes to l2. */
  bf_port_mux_link_free (l1);
  bf_port_mux_input (w.mux, 0, buf, len, (struct sockaddr *) &peer, sizeof peer);
  g_assert_cmpuint (n2, ==, 2);
  bf_port_mux_link_free (l2);
  /* Nobody's now: counted. */
  BfPortMuxStats st;
  bf_port_mux_input (w.mux, 0, buf, len, (struct sockaddr *) &peer, sizeof peer);
  bf_port_mux_get_stats (w.mux, &st);
  g_assert_cmpuint (st.stun_unknown, ==, 1);
  world_clear (&w);
}

/* A remote address one link holds cannot be selected by another (a peer
 * announcing another call's peer). */
static void
test_held_address (void)
{
  World w;
  world_init (&w);
  BfMediaCounters c1 = { 0 }, c2 = { 0 };
  BfPortMuxLink *l1 = bf_port_mux_link_new (w.mux, "ufragAAAA", &noop_callbacks, &c1, NULL);
  BfPortMuxLink *l2 = bf_port_mux_link_new (w.mux, "ufragBBBB", &noop_callbacks, &c2, NULL);
  g_assert_nonnull (l1);
  g_assert_nonnull (l2);
  struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons (4000),
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_assert_true (bf_port_mux_link_select (l1, 0, (struct sockaddr *) &peer, sizeof peer));
  g_assert_true (bf_port_mux_link_select (l1, 0, (struct sockaddr *) &peer, sizeof peer));
  g_assert_false (bf_port_mux_link_select (l2, 0, (struct sockaddr *) &peer, sizeof peer));
  BfPortMuxStats st;
  bf_port_mux_get_stats (w.mux, &st);
  g_assert_cmpuint (st.selections_refused, ==, 1);
  /* Once l1 lets go, l2 may have it. */
  bf_port_mux_link_free (l1);
  g_assert_true (bf_port_mux_link_select (l2, 0, (struct sockaddr *) &peer, sizeof peer));
  bf_port_mux_link_free (l2);
  world_clear (&w);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/port-mux/two-legs-one-socket", test_two_legs);
  g_test_add_func ("/port-mux/restart-new-address", test_restart_new_address);
  g_test_add_func ("/port-mux/held-address", test_held_address);
  g_test_add_func ("/port-mux/consent", test_consent);
  g_test_add_func ("/port-mux/shared-ufrag", test_shared_ufrag);
  return g_test_run ();
}
