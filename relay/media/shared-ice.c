#define G_LOG_DOMAIN "belfry-media"
/* belfry media: ICE on the shared port (see shared-ice.h). */
#include "shared-ice.h"

#include <string.h>
#include <gio/gio.h>

struct _BfSharedIce {
  BfPortMux *mux;
  BfPortMuxLink *link;
  BfIceAgent *agent;
  BfMediaTimer *timer;
  const BfSharedIceCallbacks *callbacks;
  BfMediaCounters *counters;
  gpointer user_data;
  gboolean failed;
};

static void link_stun (guint local, const guint8 *data, gsize len, const struct sockaddr *from,
                       socklen_t from_len, gpointer user_data);
static void link_receive (guint8 *data, gsize len, gpointer user_data);

static const BfPortMuxCallbacks link_callbacks = {
  .receive = link_receive,
  .stun = link_stun,
};

/* Sends what the agent has queued, hands a selection to the mux, tells
 * the owner, and sets the timer to the agent's next deadline. */
static void
run (BfSharedIce *ice)
{
  BfIceSend *s;
  while ((s = bf_ice_agent_pop_send (ice->agent)) != NULL)
    {
      if (bf_port_mux_link_send_stun (ice->link, s->local, (struct sockaddr *) &s->to, s->to_len,
                                      s->data, s->len))
        ice->counters->stun_out++;
      else
        ice->counters->send_errors++;
      g_free (s);
    }
  gint64 next = bf_ice_agent_next_deadline (ice->agent);
  if (next >= 0)
    bf_media_timer_set (ice->timer, next);
  else
    bf_media_timer_stop (ice->timer);

  guint events = bf_ice_agent_take_events (ice->agent);
  if (ice->failed)
    return;
  if (events & BF_ICE_AGENT_EVENT_SELECTED)
    {
      guint local;
      struct sockaddr_storage remote;
      socklen_t remote_len;
      if (bf_ice_agent_get_selected (ice->agent, &local, &remote, &remote_len)
          && !bf_port_mux_link_select (ice->link, local, (struct sockaddr *) &remote, remote_len))
        {
          g_debug ("media: shared port: the selected remote address is another leg's");
          ice->failed = TRUE;
          ice->callbacks->failed (ice->user_data);
          return;
        }
      ice->callbacks->selected (ice->user_data);
    }
  else if (events & BF_ICE_AGENT_EVENT_FAILED)
    {
      ice->failed = TRUE;
      ice->callbacks->failed (ice->user_data);
    }
}

static void
on_timer (gpointer user_data)
{
  BfSharedIce *ice = user_data;
  bf_ice_agent_tick (ice->agent, g_get_monotonic_time ());
  run (ice);
}

static void
link_stun (guint local, const guint8 *data, gsize len, const struct sockaddr *from,
           socklen_t from_len, gpointer user_data)
{
  BfSharedIce *ice = user_data;
  ice->counters->stun_in++;
  bf_ice_agent_handle (ice->agent, local, data, len, from, from_len, g_get_monotonic_time ());
  /* A triggered check goes out at once if pacing allows. */
  bf_ice_agent_tick (ice->agent, g_get_monotonic_time ());
  run (ice);
}

static void
link_receive (guint8 *data, gsize len, gpointer user_data)
{
  BfSharedIce *ice = user_data;
  ice->callbacks->receive (data, len, ice->user_data);
}

BfSharedIce *
bf_shared_ice_new (BfPortMux *mux, BfMediaLoop *loop, const BfSharedIceParams *params,
                   const BfSharedIceCallbacks *callbacks, BfMediaCounters *counters,
                   gpointer user_data)
{
  BfIceAgentConfig config = {
    .policy = params->policy,
    .ta_ms = params->ta_ms,
    .initial_rto_ms = params->initial_rto_ms,
    .max_retransmissions = params->max_retransmissions,
  };
  config.n_locals = MIN (bf_port_mux_get_n_locals (mux), BF_ICE_AGENT_MAX_LOCAL);
  for (guint i = 0; i < config.n_locals; i++)
    {
      socklen_t len;
      bf_port_mux_get_local (mux, i, &config.locals[i], &len);
    }
  BfSharedIce *ice = g_new0 (BfSharedIce, 1);
  ice->mux = mux;
  ice->callbacks = callbacks;
  ice->counters = counters;
  ice->user_data = user_data;
  ice->agent = bf_ice_agent_new (&config, params->controlling);
  const char *ufrag, *pwd;
  bf_ice_agent_get_local_credentials (ice->agent, &ufrag, &pwd);
  ice->link = bf_port_mux_link_new (mux, ufrag, &link_callbacks, counters, ice);
  ice->timer = bf_media_loop_timer_new (loop, on_timer, ice);
  return ice;
}

void
bf_shared_ice_free (BfSharedIce *ice)
{
  if (ice == NULL)
    return;
  bf_media_timer_free (ice->timer);
  bf_port_mux_link_free (ice->link);
  bf_ice_agent_free (ice->agent);
  g_free (ice);
}

BfIceAgent *
bf_shared_ice_get_agent (BfSharedIce *ice)
{
  return ice->agent;
}

void
bf_shared_ice_set_local_credentials (BfSharedIce *ice, const char *ufrag, const char *pwd)
{
  /* Several transports of one BUNDLE offer may share credentials
   * (session-transports.c): the mux tells them apart by the peer's. */
  bf_port_mux_link_set_ufrag (ice->link, ufrag);
  bf_ice_agent_set_local_credentials (ice->agent, ufrag, pwd);
}

void
bf_shared_ice_set_remote_credentials (BfSharedIce *ice, const char *ufrag, const char *pwd)
{
  bf_ice_agent_set_remote_credentials (ice->agent, ufrag, pwd);
  bf_port_mux_link_set_remote_ufrag (ice->link, ufrag);
  on_timer (ice);
}

gboolean
bf_shared_ice_add_remote_candidate (BfSharedIce *ice, const struct sockaddr *addr, socklen_t len,
                                    guint32 priority)
{
  gboolean added = bf_ice_agent_add_remote_candidate (ice->agent, addr, len, priority);
  on_timer (ice);
  return added;
}

void
bf_shared_ice_remote_gathering_done (BfSharedIce *ice)
{
  bf_ice_agent_remote_gathering_done (ice->agent);
  run (ice);
}

void
bf_shared_ice_restart (BfSharedIce *ice, const char *ufrag, const char *pwd)
{
  bf_ice_agent_restart (ice->agent, ufrag, pwd);
  const char *u, *p;
  bf_ice_agent_get_local_credentials (ice->agent, &u, &p);
  bf_port_mux_link_set_ufrag (ice->link, u);
  bf_port_mux_link_set_remote_ufrag (ice->link, ufrag);
  ice->failed = FALSE;
  on_timer (ice);
}

gboolean
bf_shared_ice_send (BfSharedIce *ice, const guint8 *data, gsize len)
{
  return bf_port_mux_link_send (ice->link, data, len);
}

guint8 *
bf_shared_ice_reserve (BfSharedIce *ice)
{
  return bf_port_mux_link_reserve (ice->link);
}

void
bf_shared_ice_commit (BfSharedIce *ice, gsize len, gboolean rtcp)
{
  bf_port_mux_link_commit (ice->link, len, rtcp);
}
