/* libFuzzer target: the shared port's receive path (relay/media/port-mux.c)
 * and what it hands a transport's ICE (shared-ice.c, ice-agent.c): every
 * datagram that reaches a worker's shared socket, from anyone.
 *
 * Input: byte 0 picks the source address (bits 0-1: link A's candidate,
 * link A's other candidate, link B's candidate and a plain link's selected
 * address, a stranger) and whether the datagram also goes to link B's
 * agent directly (bit 2); the rest is one datagram.  Links A (controlled)
 * and B (controlling) have fixed credentials, so seeds can carry authentic
 * checks (corpus/port-mux); a plain link (port-mux.h only) holds a
 * selected address, so media has somewhere to go.  Checked: no crash or leak, the
 * mux's counters and the links' only grow, a non-STUN datagram reaches at
 * most one link. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <glib.h>

#include "port-mux.h"
#include "shared-ice.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  BfMediaLoop *loop;
  GMainContext *context;
  BfMediaSendQueue *queue;
  BfPortMux *mux;
  BfSharedIce *a, *b;
  BfMediaCounters ca, cb, cp;
  BfPortMuxLink *plain;
  guint received_a, received_b, received_p;
  struct sockaddr_in from[4];
} World;

static World w;

static void receive_a (guint8 *d, gsize n, gpointer u) { w.received_a++; }
static void receive_b (guint8 *d, gsize n, gpointer u) { w.received_b++; }
static void receive_p (guint8 *d, gsize n, gpointer u) { w.received_p++; }
static void stun_p (guint l, const guint8 *d, gsize n, const struct sockaddr *f, socklen_t fl,
                    gpointer u) { }
static void nothing (gpointer u) { }

static const BfPortMuxCallbacks cb_p = { .receive = receive_p, .stun = stun_p };

static const BfSharedIceCallbacks cb_a = { .receive = receive_a, .selected = nothing,
                                           .failed = nothing };
static const BfSharedIceCallbacks cb_b = { .receive = receive_b, .selected = nothing,
                                           .failed = nothing };

static void
addr (struct sockaddr_in *s, guint16 port)
{
  memset (s, 0, sizeof *s);
  s->sin_family = AF_INET;
  s->sin_port = htons (port);
  s->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
}

static void
setup (void)
{
  w.context = g_main_context_new_with_flags (G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
  w.loop = bf_media_loop_new (w.context, NULL);
  w.queue = bf_media_send_queue_new ();
  char *addresses[] = { (char *) "127.0.0.1", NULL };
  w.mux = bf_port_mux_new (w.loop, w.queue, NULL, addresses, 0, NULL);
  g_assert (w.mux != NULL);
  /* Ports nothing listens on: the discard service's neighbours. */
  addr (&w.from[0], 9);
  addr (&w.from[1], 11);
  addr (&w.from[2], 13);
  addr (&w.from[3], 17);
  BfSharedIceParams pa = { .controlling = FALSE }, pb = { .controlling = TRUE };
  w.a = bf_shared_ice_new (w.mux, w.loop, &pa, &cb_a, &w.ca, NULL);
  w.b = bf_shared_ice_new (w.mux, w.loop, &pb, &cb_b, &w.cb, NULL);
  bf_shared_ice_set_local_credentials (w.a, "fuzzAAAA", "fuzzpasswordfuzzpassAA");
  bf_shared_ice_set_local_credentials (w.b, "fuzzBBBB", "fuzzpasswordfuzzpassBB");
  bf_shared_ice_set_remote_credentials (w.a, "peerAAAA", "peerpasswordpeerpassAA");
  bf_shared_ice_set_remote_credentials (w.b, "peerBBBB", "peerpasswordpeerpassBB");
  bf_shared_ice_add_remote_candidate (w.a, (struct sockaddr *) &w.from[0], sizeof w.from[0], 1000);
  bf_shared_ice_add_remote_candidate (w.a, (struct sockaddr *) &w.from[1], sizeof w.from[1], 900);
  bf_shared_ice_add_remote_candidate (w.b, (struct sockaddr *) &w.from[2], sizeof w.from[2], 1000);
  w.plain = bf_port_mux_link_new (w.mux, "plainPPPP", &cb_p, &w.cp, NULL);
  g_assert (bf_port_mux_link_select (w.plain, 0, (struct sockaddr *) &w.from[2], sizeof w.from[2]));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean ready;
  if (!ready)
    {
      setup ();
      ready = TRUE;
    }
  if (size < 1 || size > 4200)
    return 0;
  const struct sockaddr_in *from = &w.from[data[0] & 3];
  /* The mux reads into writable buffers of exactly the datagram's size. */
  guint8 *copy = g_memdup2 (data + 1, size - 1);
  BfPortMuxStats before, after;
  bf_port_mux_get_stats (w.mux, &before);
  guint ra = w.received_a, rb = w.received_b, rp = w.received_p;
  bf_port_mux_input (w.mux, 0, copy, size - 1, (const struct sockaddr *) from, sizeof *from);
  bf_port_mux_get_stats (w.mux, &after);
  g_assert (after.dropped_unvalidated >= before.dropped_unvalidated);
  g_assert (after.stun_unknown >= before.stun_unknown);
  g_assert ((w.received_a - ra) + (w.received_b - rb) + (w.received_p - rp) <= 1);
  if (data[0] & 4)
    {
      memcpy (copy, data + 1, size - 1);
      bf_ice_agent_handle (bf_shared_ice_get_agent (w.b), 0, copy, size - 1,
                           (const struct sockaddr *) from, sizeof *from, g_get_monotonic_time ());
      BfIceSend *s;
      while ((s = bf_ice_agent_pop_send (bf_shared_ice_get_agent (w.b))) != NULL)
        {
          g_assert (s->len <= 1280);
          g_free (s);
        }
    }
  g_free (copy);
  return 0;
}
