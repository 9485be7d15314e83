#define G_LOG_DOMAIN "belfry-media"
/* belfry media: full ICE (RFC 8445 subset) on shared sockets (see
 * ice-agent.h). */
#include "ice-agent.h"
#include "../random.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <stun/stunagent.h>
#include <stun/stunmessage.h>
#include <stun/usages/ice.h>

#define CHECK_BUF 256
#define REPLY_BUF 512
#define MAX_RTO_MS 3000
/* Regular nomination (RFC 8445 §8.1.1) waits this long after the first
 * success for a better pair still being checked. */
#define NOMINATION_WAIT_US (200 * 1000)

typedef struct {
  struct sockaddr_storage addr;
  socklen_t len;
  guint32 priority;
} Remote;

typedef enum {
  PAIR_WAITING,
  PAIR_IN_PROGRESS,
  PAIR_SUCCEEDED,
  PAIR_FAILED,
} PairState;

typedef struct {
  guint local, remote;
  guint64 priority;
  PairState state;
  gboolean nominated;       /* controlled: the peer's USE-CANDIDATE; controlling: ours succeeded */
  gboolean want_nominate;   /* controlling: the next check carries USE-CANDIDATE */
  gboolean triggered;
  /* The check in flight (IN_PROGRESS only). */
  guint8 *request;
  gsize request_len;
  StunTransactionId transaction;   /* with the magic cookie, as libnice keeps it */
  gboolean sent_controlling, sent_use_candidate;
  guint transmissions;
  guint rto_ms;
  gint64 next_at;
} Pair;

struct _BfIceAgent {
  BfIceAgentConfig config;
  BfAddrPolicy policy;
  gboolean has_policy;
  gboolean controlling;
  guint64 tie;
  char local_ufrag[33], local_pwd[65];
  char old_ufrag[33], old_pwd[65];        /* the generation before a restart */
  char *remote_ufrag, *remote_pwd;
  Remote remotes[BF_ICE_AGENT_MAX_REMOTE];
  guint n_remotes;
  GArray *pairs;                           /* Pair, by priority, highest first */
  gint64 next_check_at;
  gint64 nominate_at;                      /* controlling: 0 = not yet */
  gboolean nominating;
  gboolean remote_done;
  BfIceAgentState state;
  gboolean selected_this_generation;
  gboolean has_selected;
  guint sel_local;
  struct sockaddr_storage sel_remote;
  socklen_t sel_remote_len;
  guint events;
  GQueue out;
  guint64 checks_sent;
};

/* --- credentials --- */

static void
random_ice_chars (char *out, gsize n)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  guint8 raw[64];
  g_assert (n < sizeof raw);
  bf_random_bytes (raw, n);
  for (gsize i = 0; i < n; i++)
    out[i] = alphabet[raw[i] & 63];
  out[n] = '\0';
}

static void
new_local_credentials (BfIceAgent *a)
{
  random_ice_chars (a->local_ufrag, 8);
  random_ice_chars (a->local_pwd, 24);
}

static void
wipe_str (char *s)
{
  if (s)
    {
      memset (s, 0, strlen (s));
      g_free (s);
    }
}

/* --- addresses and priorities --- */

static gboolean
same_addr (const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr *b,
           socklen_t blen)
{
  if (a->ss_family != b->sa_family)
    return FALSE;
  if (b->sa_family == AF_INET)
    {
      const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;
      return blen >= sizeof *y && x->sin_port == y->sin_port
             && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
  if (b->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;
      return blen >= sizeof *y && x->sin6_port == y->sin6_port
             && memcmp (&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
  (void) alen;
  return FALSE;
}

static gboolean
addr_text (const struct sockaddr *sa, char *ip, gsize ip_size, guint16 *port)
{
  if (sa->sa_family == AF_INET)
    {
      const struct sockaddr_in *s = (const void *) sa;
      *port = ntohs (s->sin_port);
      return inet_ntop (AF_INET, &s->sin_addr, ip, ip_size) != NULL;
    }
  if (sa->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *s = (const void *) sa;
      *port = ntohs (s->sin6_port);
      return inet_ntop (AF_INET6, &s->sin6_addr, ip, ip_size) != NULL;
    }
  return FALSE;
}

guint32
bf_ice_agent_host_priority (guint local)
{
  return (126u << 24) | ((65535u - local) << 8) | 255u;
}

/* A peer-reflexive candidate's priority in our own checks (§7.1.1). */
static guint32
prflx_priority (guint local)
{
  return (110u << 24) | ((65535u - local) << 8) | 255u;
}

/* §6.1.2.3 */
static guint64
pair_priority (gboolean controlling, guint32 ours, guint32 theirs)
{
  guint64 g = controlling ? ours : theirs, d = controlling ? theirs : ours;
  return ((guint64) MIN (g, d) << 32) + 2 * (guint64) MAX (g, d) + (g > d ? 1 : 0);
}

/* --- pairs --- */

static Pair *
pair_at (BfIceAgent *a, guint i)
{
  return &g_array_index (a->pairs, Pair, i);
}

static void
pair_clear (Pair *p)
{
  g_clear_pointer (&p->request, g_free);
  p->request_len = 0;
}

static gint
pair_cmp (gconstpointer x, gconstpointer y)
{
  const Pair *a = x, *b = y;
  return a->priority < b->priority ? 1 : a->priority > b->priority ? -1 : 0;
}

static void
reprioritise (BfIceAgent *a)
{
  for (guint i = 0; i < a->pairs->len; i++)
    {
      Pair *p = pair_at (a, i);
      p->priority = pair_priority (a->controlling, bf_ice_agent_host_priority (p->local),
                                   a->remotes[p->remote].priority);
    }
  g_array_sort (a->pairs, pair_cmp);
}

static gint
find_pair (BfIceAgent *a, guint local, guint remote)
{
  for (guint i = 0; i < a->pairs->len; i++)
    if (pair_at (a, i)->local == local && pair_at (a, i)->remote == remote)
      return (gint) i;
  return -1;
}

static gint
find_remote (BfIceAgent *a, const struct sockaddr *addr, socklen_t len)
{
  for (guint i = 0; i < a->n_remotes; i++)
    if (same_addr (&a->remotes[i].addr, a->remotes[i].len, addr, len))
      return (gint) i;
  return -1;
}

/* Adds @addr if the policy allows it and there is room; its pairs with
 * every local candidate of the same family start Waiting (one component:
 * no frozen foundations to wait for).  -1: refused.  A peer-reflexive
 * candidate (@learnt: the source of a request authenticated with our
 * password) is not put to the policy, as libnice does not on the default
 * path: the peer chose no address there, the network did (a phone whose
 * check leaves from an address outside belfry's scope), and the policy is
 * about addresses a caller names. */
static gint
add_remote (BfIceAgent *a, const struct sockaddr *addr, socklen_t len, guint32 priority,
            gboolean learnt)
{
  gint have = find_remote (a, addr, len);
  if (have >= 0)
    return have;
  if (a->n_remotes >= BF_ICE_AGENT_MAX_REMOTE || len > sizeof (struct sockaddr_storage)
      || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
    return -1;
  char ip[INET6_ADDRSTRLEN];
  guint16 port;
  if (!addr_text (addr, ip, sizeof ip, &port) || port == 0)
    return -1;
  if (!learnt && a->has_policy
      && bf_addr_policy_check (&a->policy, ip, port, NULL) != BF_ADDR_VERDICT_ALLOWED)
    return -1;
  guint r = a->n_remotes++;
  memset (&a->remotes[r], 0, sizeof a->remotes[r]);
  memcpy (&a->remotes[r].addr, addr, len);
  a->remotes[r].len = len;
  a->remotes[r].priority = priority;
  for (guint l = 0; l < a->config.n_locals; l++)
    if (a->config.locals[l].ss_family == addr->sa_family)
      {
        Pair p = { .local = l, .remote = r, .state = PAIR_WAITING };
        g_array_append_val (a->pairs, p);
      }
  reprioritise (a);
  return (gint) r;
}

/* --- sending --- */

static void
queue_send (BfIceAgent *a, guint local, const struct sockaddr_storage *to, socklen_t to_len,
            const guint8 *data, gsize len)
{
  BfIceSend *s = g_malloc (sizeof *s + len);
  s->local = local;
  memset (&s->to, 0, sizeof s->to);
  memcpy (&s->to, to, to_len);
  s->to_len = to_len;
  s->len = len;
  memcpy (s->data, data, len);
  g_queue_push_tail (&a->out, s);
}

static void
stun_init (StunAgent *agent)
{
  stun_agent_init (agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                   STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
}

static guint
initial_rto (BfIceAgent *a)
{
  return a->config.initial_rto_ms ? a->config.initial_rto_ms : 250;
}

/* Sends the first transmission of a check on @p (§7.2.4). */
static gboolean
start_check (BfIceAgent *a, Pair *p, gint64 now)
{
  if (a->remote_ufrag == NULL)
    return FALSE;
  g_autofree char *username = g_strconcat (a->remote_ufrag, ":", a->local_ufrag, NULL);
  guint8 buf[CHECK_BUF];
  StunAgent agent;
  stun_init (&agent);
  StunMessage msg;
  gboolean use = a->controlling && p->want_nominate;
  gsize len = stun_usage_ice_conncheck_create (&agent, &msg, buf, sizeof buf,
                                               (const uint8_t *) username, strlen (username),
                                               (const uint8_t *) a->remote_pwd,
                                               strlen (a->remote_pwd), use, a->controlling,
                                               prflx_priority (p->local), a->tie, NULL,
                                               STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
  if (len == 0)
    return FALSE;
  pair_clear (p);
  p->request = g_memdup2 (buf, len);
  p->request_len = len;
  stun_message_id (&msg, p->transaction);
  p->sent_controlling = a->controlling;
  p->sent_use_candidate = use;
  p->state = PAIR_IN_PROGRESS;
  p->transmissions = 1;
  p->rto_ms = initial_rto (a);
  p->next_at = now + (gint64) p->rto_ms * 1000;
  p->triggered = FALSE;
  queue_send (a, p->local, &a->remotes[p->remote].addr, a->remotes[p->remote].len, buf, len);
  a->checks_sent++;
  return TRUE;
}

/* The next check to start (§6.1.4.2): a triggered one first, then the
 * highest-priority Waiting pair.  Once a pair of this generation is
 * selected, only triggered checks run. */
static Pair *
next_check (BfIceAgent *a)
{
  for (guint i = 0; i < a->pairs->len; i++)
    if (pair_at (a, i)->triggered)
      return pair_at (a, i);
  if (a->selected_this_generation)
    return NULL;
  for (guint i = 0; i < a->pairs->len; i++)
    if (pair_at (a, i)->state == PAIR_WAITING)
      return pair_at (a, i);
  return NULL;
}

static void
trigger (BfIceAgent *a, Pair *p)
{
  if (p->state == PAIR_IN_PROGRESS)
    return;                              /* its retransmissions go on */
  p->state = PAIR_WAITING;
  p->triggered = TRUE;
}

/* --- selection and failure --- */

static void
select_pair (BfIceAgent *a, Pair *p)
{
  const Remote *r = &a->remotes[p->remote];
  gboolean same = a->has_selected && a->sel_local == p->local
                  && same_addr (&a->sel_remote, a->sel_remote_len,
                                (const struct sockaddr *) &r->addr, r->len);
  if (a->selected_this_generation && same)
    return;
  a->has_selected = TRUE;
  a->selected_this_generation = TRUE;
  a->sel_local = p->local;
  memcpy (&a->sel_remote, &r->addr, sizeof r->addr);
  a->sel_remote_len = r->len;
  a->state = BF_ICE_AGENT_SELECTED;
  a->events |= BF_ICE_AGENT_EVENT_SELECTED;
  /* §8.1.2: no more ordinary checks for this component. */
  for (guint i = 0; i < a->pairs->len; i++)
    if (pair_at (a, i)->state == PAIR_WAITING && !pair_at (a, i)->triggered)
      pair_at (a, i)->state = PAIR_FAILED;
}

static void
check_failed (BfIceAgent *a)
{
  if (a->state != BF_ICE_AGENT_RUNNING || !a->remote_done || a->remote_ufrag == NULL)
    return;
  for (guint i = 0; i < a->pairs->len; i++)
    if (pair_at (a, i)->state != PAIR_FAILED)
      return;
  a->state = BF_ICE_AGENT_FAILED;
  a->events |= BF_ICE_AGENT_EVENT_FAILED;
}

/* Controlling, regular nomination (§8.1.1): the best Succeeded pair gets a
 * check with USE-CANDIDATE once no better pair is still being checked, or
 * NOMINATION_WAIT_US after the first success. */
static void
maybe_nominate (BfIceAgent *a, gint64 now)
{
  if (!a->controlling || a->nominating || a->selected_this_generation)
    return;
  Pair *best = NULL;
  gboolean better_pending = FALSE;
  for (guint i = 0; i < a->pairs->len && best == NULL; i++)
    {
      Pair *p = pair_at (a, i);
      if (p->state == PAIR_SUCCEEDED)
        best = p;
      else if (p->state == PAIR_WAITING || p->state == PAIR_IN_PROGRESS)
        better_pending = TRUE;
    }
  if (best == NULL)
    return;
  if (a->nominate_at == 0)
    a->nominate_at = now + NOMINATION_WAIT_US;
  if (better_pending && now < a->nominate_at)
    return;
  a->nominating = TRUE;
  best->want_nominate = TRUE;
  best->state = PAIR_WAITING;
  best->triggered = TRUE;
}

static void
role_switch (BfIceAgent *a, gboolean controlling)
{
  if (a->controlling == controlling)
    return;
  a->controlling = controlling;
  a->events |= BF_ICE_AGENT_EVENT_ROLE;
  a->nominating = FALSE;
  a->nominate_at = 0;
  for (guint i = 0; i < a->pairs->len; i++)
    pair_at (a, i)->want_nominate = FALSE;
  reprioritise (a);
}

/* --- public --- */

BfIceAgent *
bf_ice_agent_new (const BfIceAgentConfig *config, gboolean controlling)
{
  BfIceAgent *a = g_new0 (BfIceAgent, 1);
  a->config = *config;
  a->config.n_locals = MIN (config->n_locals, BF_ICE_AGENT_MAX_LOCAL);
  if (config->policy)
    {
      a->policy = *config->policy;
      a->has_policy = TRUE;
    }
  a->config.policy = NULL;
  if (a->config.ta_ms == 0)
    a->config.ta_ms = 20;
  if (a->config.max_retransmissions == 0)
    a->config.max_retransmissions = 7;
  a->controlling = controlling;
  a->tie = bf_random_u64 ();
  a->pairs = g_array_new (FALSE, TRUE, sizeof (Pair));
  g_queue_init (&a->out);
  new_local_credentials (a);
  return a;
}

void
bf_ice_agent_free (BfIceAgent *a)
{
  if (a == NULL)
    return;
  for (guint i = 0; i < a->pairs->len; i++)
    pair_clear (pair_at (a, i));
  g_array_unref (a->pairs);
  g_queue_clear_full (&a->out, g_free);
  wipe_str (a->remote_ufrag);
  wipe_str (a->remote_pwd);
  memset (a, 0, sizeof *a);
  g_free (a);
}

void
bf_ice_agent_get_local_credentials (BfIceAgent *a, const char **ufrag, const char **pwd)
{
  *ufrag = a->local_ufrag;
  *pwd = a->local_pwd;
}

void
bf_ice_agent_set_local_credentials (BfIceAgent *a, const char *ufrag, const char *pwd)
{
  g_strlcpy (a->local_ufrag, ufrag, sizeof a->local_ufrag);
  g_strlcpy (a->local_pwd, pwd, sizeof a->local_pwd);
}

void
bf_ice_agent_set_remote_credentials (BfIceAgent *a, const char *ufrag, const char *pwd)
{
  wipe_str (a->remote_ufrag);
  wipe_str (a->remote_pwd);
  a->remote_ufrag = g_strdup (ufrag);
  a->remote_pwd = g_strdup (pwd);
}

void
bf_ice_agent_get_remote_credentials (BfIceAgent *a, const char **ufrag, const char **pwd)
{
  *ufrag = a->remote_ufrag;
  *pwd = a->remote_pwd;
}

gboolean
bf_ice_agent_add_remote_candidate (BfIceAgent *a, const struct sockaddr *addr, socklen_t len,
                                   guint32 priority)
{
  gint have = find_remote (a, addr, len);
  if (have >= 0)
    {
      /* A peer-reflexive one learnt first gets the signalled priority. */
      a->remotes[have].priority = priority;
      reprioritise (a);
      return FALSE;
    }
  return add_remote (a, addr, len, priority, FALSE) >= 0;
}

void
bf_ice_agent_remote_gathering_done (BfIceAgent *a)
{
  a->remote_done = TRUE;
  check_failed (a);
}

void
bf_ice_agent_restart (BfIceAgent *a, const char *ufrag, const char *pwd)
{
  g_strlcpy (a->old_ufrag, a->local_ufrag, sizeof a->old_ufrag);
  g_strlcpy (a->old_pwd, a->local_pwd, sizeof a->old_pwd);
  new_local_credentials (a);
  wipe_str (a->remote_ufrag);
  wipe_str (a->remote_pwd);
  a->remote_ufrag = g_strdup (ufrag);
  a->remote_pwd = g_strdup (pwd);
  for (guint i = 0; i < a->pairs->len; i++)
    pair_clear (pair_at (a, i));
  g_array_set_size (a->pairs, 0);
  a->n_remotes = 0;
  a->remote_done = FALSE;
  a->nominating = FALSE;
  a->nominate_at = 0;
  a->selected_this_generation = FALSE;
  a->state = BF_ICE_AGENT_RUNNING;
}

/* Requests carry USERNAME "our-ufrag:their-ufrag", keyed with our password
 * (§7.2.2); the generation before a restart is still answered. */
static bool
validater (StunAgent *agent, StunMessage *message, uint8_t *username, uint16_t username_len,
           uint8_t **password, size_t *password_len, void *user_data)
{
  BfIceAgent *a = user_data;
  const char *ufrags[2] = { a->local_ufrag, a->old_ufrag };
  char *pwds[2] = { a->local_pwd, a->old_pwd };
  for (guint i = 0; i < 2; i++)
    {
      gsize ul = strlen (ufrags[i]);
      if (ul == 0 || username_len <= ul || memcmp (username, ufrags[i], ul) != 0
          || username[ul] != ':')
        continue;
      *password = (uint8_t *) pwds[i];
      *password_len = strlen (pwds[i]);
      return TRUE;
    }
  return FALSE;
}

/* §7.3.1.1.  TRUE: answer normally (our role may have switched); FALSE:
 * answer 487 (*reply filled). */
static gboolean
resolve_conflict (BfIceAgent *a, StunAgent *agent, StunMessage *req, guint8 *reply,
                  gsize *reply_len, const char *pwd)
{
  guint64 theirs;
  StunAttribute same = a->controlling ? STUN_ATTRIBUTE_ICE_CONTROLLING
                                      : STUN_ATTRIBUTE_ICE_CONTROLLED;
  if (stun_message_find64 (req, same, &theirs) != STUN_MESSAGE_RETURN_SUCCESS)
    return TRUE;
  /* Controlling: we keep the role with the larger or equal tie-breaker;
   * controlled: we become controlling with the larger or equal one. */
  gboolean we_win = a->tie >= theirs;
  if (a->controlling != we_win)
    {
      role_switch (a, !a->controlling);
      return TRUE;
    }
  StunMessage err;
  if (!stun_agent_init_error (agent, &err, reply, REPLY_BUF, req, STUN_ERROR_ROLE_CONFLICT))
    return FALSE;
  *reply_len = stun_agent_finish_message (agent, &err, (const uint8_t *) pwd, strlen (pwd));
  return FALSE;
}

static BfIceAgentInput
handle_request (BfIceAgent *a, StunAgent *agent, StunMessage *msg, guint local,
                const struct sockaddr *from, socklen_t from_len, gint64 now)
{
  guint8 reply[REPLY_BUF];
  gsize reply_len = 0;
  struct sockaddr_storage src;
  memset (&src, 0, sizeof src);
  memcpy (&src, from, from_len);
  uint16_t ulen = 0;
  const guint8 *user = stun_message_find (msg, STUN_ATTRIBUTE_USERNAME, &ulen);
  gsize ours = strlen (a->local_ufrag);
  gboolean current = user && ulen > ours && memcmp (user, a->local_ufrag, ours) == 0
                     && user[ours] == ':';
  const char *pwd = current ? a->local_pwd : a->old_pwd;

  if (!resolve_conflict (a, agent, msg, reply, &reply_len, pwd))
    {
      if (reply_len > 0)
        queue_send (a, local, &src, from_len, reply, reply_len);
      return BF_ICE_AGENT_HANDLED;
    }
  bool control = a->controlling;
  StunMessage resp;
  size_t rlen = sizeof reply;
  StunUsageIceReturn r = stun_usage_ice_conncheck_create_reply (
      agent, msg, &resp, reply, &rlen, &src, from_len, &control, a->tie,
      STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
  if (r != STUN_USAGE_ICE_RETURN_SUCCESS || rlen == 0)
    return BF_ICE_AGENT_IGNORED;
  queue_send (a, local, &src, from_len, reply, rlen);

  /* A request with the old credentials is consent on the old pair only. */
  if (!current)
    return BF_ICE_AGENT_HANDLED;
  /* §7.3.1.3: an unknown source is a peer-reflexive candidate. */
  gint r_idx = find_remote (a, from, from_len);
  if (r_idx < 0)
    {
      guint32 prio = 0;
      if (stun_message_find32 (msg, STUN_ATTRIBUTE_PRIORITY, &prio) != STUN_MESSAGE_RETURN_SUCCESS)
        return BF_ICE_AGENT_HANDLED;
      r_idx = add_remote (a, from, from_len, prio, TRUE);
      if (r_idx < 0)
        return BF_ICE_AGENT_HANDLED;       /* refused or full: answered, never checked */
    }
  gint pi = find_pair (a, local, (guint) r_idx);
  if (pi < 0)
    return BF_ICE_AGENT_HANDLED;
  Pair *p = pair_at (a, (guint) pi);
  gboolean use = stun_message_find_flag (msg, STUN_ATTRIBUTE_USE_CANDIDATE)
                 == STUN_MESSAGE_RETURN_SUCCESS;
  if (use && !a->controlling)
    {
      /* §7.3.1.5: nominated; selected once valid. */
      p->nominated = TRUE;
      if (p->state == PAIR_SUCCEEDED)
        {
          select_pair (a, p);
          return BF_ICE_AGENT_HANDLED;
        }
    }
  /* §7.3.1.4: a triggered check unless the pair already works. */
  if (p->state != PAIR_SUCCEEDED)
    trigger (a, p);
  (void) now;
  return BF_ICE_AGENT_HANDLED;
}

static BfIceAgentInput
handle_response (BfIceAgent *a, const guint8 *data, gsize len, guint local,
                 const struct sockaddr *from, socklen_t from_len, gint64 now)
{
  Pair *p = NULL;
  for (guint i = 0; i < a->pairs->len && p == NULL; i++)
    if (pair_at (a, i)->state == PAIR_IN_PROGRESS
        && memcmp (pair_at (a, i)->transaction, data + STUN_MESSAGE_TRANS_ID_POS,
                   sizeof (StunTransactionId)) == 0)
      p = pair_at (a, i);
  if (p == NULL)
    return BF_ICE_AGENT_IGNORED;
  /* Authenticate with the key the request was sent with: re-sign a copy
   * of it through a stack StunAgent so that it remembers the id. */
  StunAgent agent;
  stun_init (&agent);
  StunMessage req;
  guint8 buf[64];
  if (!stun_agent_init_request (&agent, &req, buf, sizeof buf, STUN_BINDING))
    return BF_ICE_AGENT_IGNORED;
  memcpy (buf + STUN_MESSAGE_TRANS_ID_POS, p->transaction, sizeof p->transaction);
  stun_agent_finish_message (&agent, &req, (const uint8_t *) a->remote_pwd,
                             strlen (a->remote_pwd));
  StunMessage msg;
  if (stun_agent_validate (&agent, &msg, data, len, NULL, NULL) != STUN_VALIDATION_SUCCESS)
    return BF_ICE_AGENT_IGNORED;
  struct sockaddr_storage mapped;
  socklen_t mapped_len = sizeof mapped;
  StunUsageIceReturn r = stun_usage_ice_conncheck_process (&msg, &mapped, &mapped_len,
                                                           STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
  pair_clear (p);
  if (r == STUN_USAGE_ICE_RETURN_ROLE_CONFLICT)
    {
      /* §7.2.5.1: switch from the role the request was sent in, retry. */
      role_switch (a, !p->sent_controlling);
      p->state = PAIR_WAITING;
      p->triggered = TRUE;
      return BF_ICE_AGENT_HANDLED;
    }
  const Remote *rem = &a->remotes[p->remote];
  /* §7.2.5.2.1: the response must come back symmetrically. */
  if (r != STUN_USAGE_ICE_RETURN_SUCCESS || local != p->local
      || !same_addr (&rem->addr, rem->len, from, from_len))
    {
      p->state = PAIR_FAILED;
      if (p->want_nominate)
        a->nominating = FALSE, p->want_nominate = FALSE;
      check_failed (a);
      return BF_ICE_AGENT_HANDLED;
    }
  /* The valid pair: its local side is a host candidate or, behind a NAT,
   * a peer-reflexive one with the same base (the shared socket), so it is
   * this pair for sending. */
  p->state = PAIR_SUCCEEDED;
  if (p->sent_use_candidate && a->controlling)
    p->nominated = TRUE;
  if (p->nominated)
    select_pair (a, p);
  else
    maybe_nominate (a, now);
  return BF_ICE_AGENT_HANDLED;
}

BfIceAgentInput
bf_ice_agent_handle (BfIceAgent *a, guint local, const guint8 *data, gsize len,
                     const struct sockaddr *from, socklen_t from_len, gint64 now)
{
  if (len < 20 || stun_message_validate_buffer_length (data, len, TRUE) <= 0)
    return BF_ICE_AGENT_NOT_STUN;
  if (local >= a->config.n_locals || from_len > sizeof (struct sockaddr_storage))
    return BF_ICE_AGENT_IGNORED;
  guint16 type = (guint16) ((data[0] << 8) | data[1]);
  guint cls = ((type & 0x0100) >> 7) | ((type & 0x0010) >> 4);
  if ((type & 0x3eef) != 0x0001 || cls == 1)
    return BF_ICE_AGENT_IGNORED;          /* not Binding, or an indication */
  if (cls != 0)
    return handle_response (a, data, len, local, from, from_len, now);
  StunAgent agent;
  stun_init (&agent);
  StunMessage msg;
  if (stun_agent_validate (&agent, &msg, data, len, validater, a) != STUN_VALIDATION_SUCCESS)
    return BF_ICE_AGENT_IGNORED;
  return handle_request (a, &agent, &msg, local, from, from_len, now);
}

void
bf_ice_agent_tick (BfIceAgent *a, gint64 now)
{
  /* Retransmissions (not paced by Ta, §14.3). */
  for (guint i = 0; i < a->pairs->len; i++)
    {
      Pair *p = pair_at (a, i);
      if (p->state != PAIR_IN_PROGRESS || now < p->next_at)
        continue;
      if (p->transmissions > a->config.max_retransmissions)
        {
          pair_clear (p);
          p->state = PAIR_FAILED;
          if (p->want_nominate)
            a->nominating = FALSE, p->want_nominate = FALSE;
          continue;
        }
      queue_send (a, p->local, &a->remotes[p->remote].addr, a->remotes[p->remote].len,
                  p->request, p->request_len);
      a->checks_sent++;
      p->transmissions++;
      p->rto_ms = MIN (p->rto_ms * 2, MAX_RTO_MS);
      p->next_at = now + (gint64) p->rto_ms * 1000;
    }
  maybe_nominate (a, now);
  if (now >= a->next_check_at)
    {
      Pair *p = next_check (a);
      if (p && start_check (a, p, now))
        a->next_check_at = now + (gint64) a->config.ta_ms * 1000;
    }
  check_failed (a);
}

gint64
bf_ice_agent_next_deadline (BfIceAgent *a)
{
  gint64 d = -1;
#define EARLIER(t) (d = (d < 0 || (t) < d) ? (t) : d)
  for (guint i = 0; i < a->pairs->len; i++)
    if (pair_at (a, i)->state == PAIR_IN_PROGRESS)
      EARLIER (pair_at (a, i)->next_at);
  if (a->remote_ufrag && next_check (a))
    EARLIER (a->next_check_at);
  if (a->controlling && a->nominate_at && !a->nominating && !a->selected_this_generation)
    EARLIER (a->nominate_at);
#undef EARLIER
  return d;
}

BfIceSend *
bf_ice_agent_pop_send (BfIceAgent *a)
{
  return g_queue_pop_head (&a->out);
}

guint
bf_ice_agent_take_events (BfIceAgent *a)
{
  guint e = a->events;
  a->events = 0;
  return e;
}

BfIceAgentState
bf_ice_agent_get_state (BfIceAgent *a)
{
  return a->state;
}

gboolean
bf_ice_agent_is_controlling (BfIceAgent *a)
{
  return a->controlling;
}

gboolean
bf_ice_agent_get_selected (BfIceAgent *a, guint *local, struct sockaddr_storage *remote,
                           socklen_t *remote_len)
{
  if (!a->has_selected)
    return FALSE;
  if (local)
    *local = a->sel_local;
  if (remote)
    memcpy (remote, &a->sel_remote, sizeof a->sel_remote);
  if (remote_len)
    *remote_len = a->sel_remote_len;
  return TRUE;
}

guint64
bf_ice_agent_get_checks_sent (BfIceAgent *a)
{
  return a->checks_sent;
}

gboolean
bf_ice_stun_peek (const guint8 *data, gsize len, BfIceStunPeek *peek)
{
  memset (peek, 0, sizeof *peek);
  if (len < 20 || stun_message_validate_buffer_length (data, len, TRUE) <= 0)
    return FALSE;
  guint16 type = (guint16) ((data[0] << 8) | data[1]);
  peek->cls = ((type & 0x0100) >> 7) | ((type & 0x0010) >> 4);
  memcpy (peek->transaction, data + 8, 12);
  if (peek->cls != 0)
    return TRUE;
  StunMessage msg = { .buffer = (uint8_t *) data, .buffer_len = len };
  uint16_t ulen = 0;
  const guint8 *user = stun_message_find (&msg, STUN_ATTRIBUTE_USERNAME, &ulen);
  if (user == NULL)
    return TRUE;
  const guint8 *colon = memchr (user, ':', ulen);
  peek->ufrag = user;
  peek->ufrag_len = colon ? (gsize) (colon - user) : ulen;
  if (colon)
    {
      peek->remote_ufrag = colon + 1;
      peek->remote_ufrag_len = ulen - peek->ufrag_len - 1;
    }
  return TRUE;
}
