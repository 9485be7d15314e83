#define G_LOG_DOMAIN "belfry-media"
/* belfry media: STUN on a selected pair we read ourselves (see ice-consent.h).
 *
 * No StunAgent is kept per pair: libnice's is 12.7 KiB, nearly all of it a
 * table of 200 saved transaction ids, where a pair has at most
 * MAX_OUTSTANDING requests out.  Each message gets a StunAgent on the stack
 * instead; to check a response, the ids still outstanding are saved into it
 * again (with the key they were sent with) before it validates. */
#include "ice-consent.h"
#include "../random.h"

#include <string.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#define MAX_OUTSTANDING 4

struct _BfIceConsent {
  char *local_ufrag, *local_pwd;
  char *remote_ufrag, *remote_pwd;
  char *username;                    /* remote_ufrag:local_ufrag (our requests) */
  gboolean controlling;
  guint32 priority;
  guint64 tie;
  StunTransactionId outstanding[MAX_OUTSTANDING];
  guint next_slot;
};

BfIceConsent *
bf_ice_consent_new (const char *local_ufrag, const char *local_pwd, const char *remote_ufrag,
                    const char *remote_pwd, gboolean controlling, guint32 priority)
{
  BfIceConsent *c = g_new0 (BfIceConsent, 1);
  c->local_ufrag = g_strdup (local_ufrag);
  c->local_pwd = g_strdup (local_pwd);
  c->remote_ufrag = g_strdup (remote_ufrag);
  c->remote_pwd = g_strdup (remote_pwd);
  c->username = g_strconcat (remote_ufrag, ":", local_ufrag, NULL);
  c->controlling = controlling;
  c->priority = priority ? priority : 1;
  c->tie = bf_random_u64 ();
  return c;
}

static void
agent_init (StunAgent *agent)
{
  stun_agent_init (agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                   STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
}

/* Saves our outstanding transactions into @agent, keyed as they were sent
 * (the peer's password), so that it accepts their responses: a Binding
 * request carrying the id is finished in it (and thrown away). */
static void
agent_restore (StunAgent *agent, BfIceConsent *c)
{
  static const StunTransactionId none;
  for (guint i = 0; i < MAX_OUTSTANDING; i++)
    {
      if (memcmp (c->outstanding[i], none, sizeof none) == 0)
        continue;
      guint8 buf[64];
      StunMessage msg;
      if (!stun_agent_init_request (agent, &msg, buf, sizeof buf, STUN_BINDING))
        continue;
      memcpy (buf + STUN_MESSAGE_TRANS_ID_POS, c->outstanding[i], sizeof (StunTransactionId));
      stun_agent_finish_message (agent, &msg, (const uint8_t *) c->remote_pwd,
                                 strlen (c->remote_pwd));
    }
}

static void
wipe (char *s)
{
  if (s)
    memset (s, 0, strlen (s));
  g_free (s);
}

void
bf_ice_consent_free (BfIceConsent *c)
{
  if (c == NULL)
    return;
  g_free (c->local_ufrag);
  wipe (c->local_pwd);
  g_free (c->remote_ufrag);
  wipe (c->remote_pwd);
  g_free (c->username);
  g_free (c);
}

gsize
bf_ice_consent_build_request (BfIceConsent *c, guint8 *buf, gsize size)
{
  /* The oldest of MAX_OUTSTANDING, if it never got an answer, is given up
   * by overwriting its slot. */
  StunAgent agent;
  agent_init (&agent);
  StunMessage msg;
  gsize len = stun_usage_ice_conncheck_create (&agent, &msg, buf, size,
                                               (const uint8_t *) c->username,
                                               strlen (c->username),
                                               (const uint8_t *) c->remote_pwd,
                                               strlen (c->remote_pwd), FALSE, c->controlling,
                                               c->priority, c->tie, NULL,
                                               STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
  if (len == 0)
    return 0;
  stun_message_id (&msg, c->outstanding[c->next_slot]);
  c->next_slot = (c->next_slot + 1) % MAX_OUTSTANDING;
  return len;
}

/* Requests carry USERNAME "our-ufrag:their-ufrag" and are keyed with our
 * password (RFC 8445 §7.2.2); responses are checked with the key saved
 * with the request, so this is only asked for requests. */
static bool
validater (StunAgent *agent, StunMessage *message, uint8_t *username, uint16_t username_len,
           uint8_t **password, size_t *password_len, void *user_data)
{
  BfIceConsent *c = user_data;
  gsize ul = strlen (c->local_ufrag);
  if (username_len <= ul || memcmp (username, c->local_ufrag, ul) != 0 || username[ul] != ':')
    return FALSE;
  *password = (uint8_t *) c->local_pwd;
  *password_len = strlen (c->local_pwd);
  return TRUE;
}

static void
forget (BfIceConsent *c, const StunMessage *msg)
{
  StunTransactionId id;
  stun_message_id (msg, id);
  for (guint i = 0; i < MAX_OUTSTANDING; i++)
    if (memcmp (c->outstanding[i], id, sizeof id) == 0)
      {
        memset (c->outstanding[i], 0, sizeof id);
        return;
      }
}

BfIceStunResult
bf_ice_consent_handle (BfIceConsent *c, const guint8 *data, gsize len,
                       const struct sockaddr *from, socklen_t from_len, guint8 *reply,
                       gsize *reply_len)
{
  if (len < 20 || stun_message_validate_buffer_length (data, len, TRUE) <= 0)
    return BF_ICE_STUN_NOT_STUN;
  guint16 type = (guint16) ((data[0] << 8) | data[1]);
  guint cls = ((type & 0x0100) >> 7) | ((type & 0x0010) >> 4);
  if ((type & 0x3eef) != 0x0001 || cls == 1)
    return BF_ICE_STUN_IGNORED;          /* not Binding, or an indication (keepalive) */

  StunAgent agent;
  agent_init (&agent);
  if (cls != 0)
    agent_restore (&agent, c);
  StunMessage msg;
  StunValidationStatus v = stun_agent_validate (&agent, &msg, data, len, validater, c);
  if (v != STUN_VALIDATION_SUCCESS)
    return BF_ICE_STUN_IGNORED;          /* e.g. a response to libnice's own checks */

  if (cls == 0)
    {
      struct sockaddr_storage src;
      if (from_len > sizeof src)
        return BF_ICE_STUN_IGNORED;
      memset (&src, 0, sizeof src);
      memcpy (&src, from, from_len);
      bool control = c->controlling;
      StunMessage resp;
      size_t rlen = 1280;
      StunUsageIceReturn r = stun_usage_ice_conncheck_create_reply (
          &agent, &msg, &resp, reply, &rlen, &src, from_len, &control, c->tie,
          STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
      if ((r == STUN_USAGE_ICE_RETURN_SUCCESS || r == STUN_USAGE_ICE_RETURN_ROLE_CONFLICT)
          && rlen > 0)
        {
          *reply_len = rlen;
          return BF_ICE_STUN_REPLY;
        }
      return BF_ICE_STUN_IGNORED;
    }

  /* A response that matched one of our transactions. */
  forget (c, &msg);
  struct sockaddr_storage mapped;
  socklen_t mapped_len = sizeof mapped;
  if (cls == 2
      && stun_usage_ice_conncheck_process (&msg, &mapped, &mapped_len,
                                           STUN_USAGE_ICE_COMPATIBILITY_RFC5245)
         == STUN_USAGE_ICE_RETURN_SUCCESS)
    return BF_ICE_STUN_CONSENT;
  return BF_ICE_STUN_IGNORED;
}
