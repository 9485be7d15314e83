#define G_LOG_DOMAIN "belfry-media"
/* belfry media: ICE on the shared port (see shared-ice.h). */
#include "shared-ice.h"
#include "consent-clock.h"
#include "ice-consent.h"

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
  BfMediaLoop *loop;
  guint consent_timeout_ms;
  BfIceConsent *consent;           /* the selected pair's, NULL before */
  BfConsentClock *consent_clock;
  guint consent_local;             /* the socket of the selected pair */
  struct sockaddr_storage consent_to;
  socklen_t consent_to_len;
};

static void link_stun (guint local, const guint8 *data, gsize len, const struct sockaddr *from,
                       socklen_t from_len, gpointer user_data);
static void link_receive (guint8 *data, gsize len, gpointer user_data);

static const BfPortMuxCallbacks link_callbacks = {
  .receive = link_receive,
  .stun = link_stun,
};

/* One STUN datagram (a check, an answer, a consent request), counted. */
static void
send_stun (BfSharedIce *ice, guint local, const struct sockaddr_storage *to, socklen_t to_len,
           const guint8 *data, gsize len)
{
  if (bf_port_mux_link_send_stun (ice->link, local, (const struct sockaddr *) to, to_len, data,
                                  len))
    ice->counters->stun_out++;
  else
    ice->counters->send_errors++;
}

/* --- consent (RFC 7675) on the selected pair --- */

static void
consent_send (const guint8 *data, gsize len, gpointer user_data)
{
  BfSharedIce *ice = user_data;
  send_stun (ice, ice->consent_local, &ice->consent_to, ice->consent_to_len, data, len);
}

static void
consent_lost (gpointer user_data)
{
  BfSharedIce *ice = user_data;
  if (ice->failed)
    return;
  ice->failed = TRUE;
  ice->callbacks->failed (ice->user_data);
}

static const BfConsentClockCallbacks consent_callbacks = {
  .send = consent_send,
  .lost = consent_lost,
};

static void
consent_stop (BfSharedIce *ice)
{
  g_clear_pointer (&ice->consent_clock, bf_consent_clock_free);
  g_clear_pointer (&ice->consent, bf_ice_consent_free);
}

/* A new selected pair: consent starts on it with this generation's
 * credentials. */
static void
consent_start (BfSharedIce *ice, guint local, const struct sockaddr_storage *remote,
               socklen_t remote_len)
{
  consent_stop (ice);
  const char *lu, *lp, *ru, *rp;
  bf_ice_agent_get_local_credentials (ice->agent, &lu, &lp);
  bf_ice_agent_get_remote_credentials (ice->agent, &ru, &rp);
  if (ru == NULL || ice->consent_timeout_ms == 0)
    return;
  ice->consent_local = local;
  memcpy (&ice->consent_to, remote, sizeof ice->consent_to);
  ice->consent_to_len = remote_len;
  ice->consent = bf_ice_consent_new (lu, lp, ru, rp, bf_ice_agent_is_controlling (ice->agent),
                                     bf_ice_agent_host_priority (local));
  ice->consent_clock = bf_consent_clock_new (ice->loop, ice->consent, ice->consent_timeout_ms,
                                             &consent_callbacks, ice);
}

/* Sends what the agent has queued, hands a selection to the mux, tells
 * the owner, and sets the timer to the agent's next deadline. */
static void
run (BfSharedIce *ice)
{
  BfIceSend *s;
  while ((s = bf_ice_agent_pop_send (ice->agent)) != NULL)
    {
      send_stun (ice, s->local, &s->to, s->to_len, s->data, s->len);
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
      if (!bf_ice_agent_get_selected (ice->agent, &local, &remote, &remote_len))
        return;
      if (!bf_port_mux_link_select (ice->link, local, (struct sockaddr *) &remote, remote_len))
        {
          g_debug ("media: shared port: the selected remote address is another leg's");
          ice->failed = TRUE;
          consent_stop (ice);
          ice->callbacks->failed (ice->user_data);
          return;
        }
      consent_start (ice, local, &remote, remote_len);
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
  if (bf_ice_agent_handle (ice->agent, local, data, len, from, from_len, g_get_monotonic_time ())
        == BF_ICE_AGENT_IGNORED
      && ice->consent)
    {
      /* Not a check of the agent's: perhaps an answer to our consent. */
      guint8 reply[1280];
      gsize reply_len = 0;
      if (bf_ice_consent_handle (ice->consent, data, len, from, from_len, reply, &reply_len)
          == BF_ICE_STUN_CONSENT)
        bf_consent_clock_answered (ice->consent_clock);
    }
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
  ice->loop = loop;
  ice->consent_timeout_ms = params->consent_timeout_ms;
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
  consent_stop (ice);
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
