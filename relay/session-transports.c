#define G_LOG_DOMAIN "belfry-session"
/* Which contents of a session share which ICE-UDP transport, and the
 * signalling that follows from it (main thread; session-private.h).
 *
 * XEP-0338 (BUNDLE): the contents of a BUNDLE group share one transport,
 * the one of the group's first content; any other content has its own
 * (XEP-0176 as written, and what Dino does: one transport per content,
 * each with its own ufrag/pwd, candidates, DTLS handshake and SRTP keys).
 *   - Incoming: the offer decides.
 *   - Outgoing: we offer one transport per content and the BUNDLE group
 *     of the session we mirror (RFC 8843 §7.2: an initial offer gives each
 *     m-line its own transport), then the answer decides: a BUNDLE group in
 *     it merges its contents onto the first one's transport and the others
 *     are dropped; a peer that ignores the group (Dino) keeps one each.
 * ICE restart (XEP-0176 §5.9, RFC 8445 §9): a transport-info whose
 * ufrag/pwd differ from the transport's current ones restarts that
 * transport (Conversations does this on every network change); we answer
 * with a transport-info of our own new credentials.  The DTLS association
 * and SRTP keys stay. */
#include "build-config.h"

#include <string.h>
#include <sys/random.h>
#include <gio/gio.h>

#include "session-private.h"

BfSessionTransport *
bf_session_transport_of (BfSession *s, const char *content)
{
  gpointer v = content && s->content_transport
                 ? g_hash_table_lookup (s->content_transport, content) : NULL;
  return v ? s->transports[GPOINTER_TO_UINT (v) - 1] : NULL;
}

static void
map_content (BfSession *s, const char *content, BfSessionTransport *st)
{
  if (s->content_transport == NULL)
    s->content_transport = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (s->content_transport, g_strdup (content), GUINT_TO_POINTER (st->index + 1));
}

static BfSessionTransport *
transport_new (BfSession *s)
{
  if (s->n_transports >= MAX_TRANSPORTS)
    return NULL;
  BfSessionTransport *st = g_new0 (BfSessionTransport, 1);
  st->session = s;
  st->index = s->n_transports;
  st->in_use = TRUE;
  s->transports[s->n_transports++] = st;
  return st;
}

static void
transport_free (BfSessionTransport *st)
{
  g_free (st->ufrag);
  if (st->pwd)
    memset (st->pwd, 0, strlen (st->pwd));
  g_free (st->pwd);
  g_free (st->preset_ufrag);
  if (st->preset_pwd)
    memset (st->preset_pwd, 0, strlen (st->preset_pwd));
  g_free (st->preset_pwd);
  g_free (st->remote_ufrag);
  if (st->remote_pwd)
    memset (st->remote_pwd, 0, strlen (st->remote_pwd));
  g_free (st->remote_pwd);
  if (st->candidates)
    g_ptr_array_unref (st->candidates);
  if (st->local_candidates)
    g_ptr_array_unref (st->local_candidates);
  if (st->held)
    g_ptr_array_unref (st->held);
  if (st->past_ufrags)
    g_ptr_array_unref (st->past_ufrags);
  g_free (st);
}

void
bf_session_transports_free (BfSession *s)
{
  for (guint i = 0; i < s->n_transports; i++)
    transport_free (s->transports[i]);
  s->n_transports = 0;
  g_clear_pointer (&s->content_transport, g_hash_table_unref);
}

/* The first content of @j on @st with credentials: with BUNDLE every
 * content repeats them (StanzaJS), without each has its own. */
const BfJingleIceTransport *
bf_session_transport_remote_ice (BfSessionTransport *st, const BfJingle *j)
{
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice && c->ice->ufrag && c->ice->pwd && bf_session_transport_of (st->session, c->name) == st)
        return c->ice;
    }
  return NULL;
}

/* @st's own fingerprint, else the session's (one certificate per peer). */
const BfJingleFingerprint *
bf_session_transport_remote_fingerprint (BfSessionTransport *st, const BfJingle *j)
{
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice && c->ice->fingerprint && bf_session_transport_of (st->session, c->name) == st)
        return c->ice->fingerprint;
    }
  return bf_jingle_first_fingerprint (j);
}

/* The name of the BUNDLE group's first content that @j has, when @name is
 * in such a group; else @name. */
static const char *
bundle_tag (const BfJingle *j, const char *name, gboolean *member_of_group)
{
  for (guint g = 0; j->groups && g < j->groups->len; g++)
    {
      const BfJingleGroup *group = g_ptr_array_index (j->groups, g);
      if (g_strcmp0 (group->semantics, "BUNDLE") != 0)
        continue;
      const char *first = NULL;
      gboolean member = FALSE;
      for (guint k = 0; k < group->contents->len; k++)
        {
          const char *n = g_ptr_array_index (group->contents, k);
          if (first == NULL && bf_jingle_find_content (j, n))
            first = n;
          member |= g_strcmp0 (n, name) == 0;
        }
      if (member && first)
        {
          if (member_of_group)
            *member_of_group = TRUE;
          return first;
        }
    }
  return name;
}

void
bf_session_transports_assign_offer (BfSession *s, const BfJingle *offer)
{
  for (guint i = 0; i < offer->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (offer->contents, i);
      gboolean grouped = FALSE;
      const char *tag = bundle_tag (offer, c->name, &grouped);
      BfSessionTransport *st = bf_session_transport_of (s, tag);
      if (st == NULL)
        {
          st = transport_new (s);
          if (st == NULL)
            return;         /* bf_session_transports_check refuses the offer */
          map_content (s, tag, st);
        }
      s->bundled |= grouped;
      map_content (s, c->name, st);
    }
}

/* @n random ICE characters (RFC 8839 §5.4), from the kernel's CSPRNG:
 * the password authenticates every STUN check. */
static char *
ice_random (gsize n)
{
  static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  guint8 raw[64];
  g_assert (n <= sizeof raw);
  gsize got = 0;
  while (got < n)
    {
      ssize_t r = getrandom (raw + got, n - got, 0);
      if (r > 0)
        got += (gsize) r;
    }
  char *out = g_malloc (n + 1);
  for (gsize i = 0; i < n; i++)
    out[i] = chars[raw[i] & 63];
  out[n] = '\0';
  memset (raw, 0, sizeof raw);
  return out;
}

void
bf_session_transports_assign_own (BfSession *s, const BfJingle *ours)
{
  for (guint i = 0; i < ours->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (ours->contents, i);
      BfSessionTransport *st = transport_new (s);
      if (st == NULL)
        return;
      map_content (s, c->name, st);
      /* Each content its own transport (RFC 8843 §7.2), but those of one
       * BUNDLE group with the same ufrag and pwd: GStreamer's webrtcbin
       * (1.22) refuses a BUNDLE offer whose m-lines' ice-ufrag differ
       * ("different ice-ufrag values in bundle"), Chromium takes either,
       * and a peer that ignores the group (Dino) runs one ICE session per
       * content, each against its own ports. */
      gboolean grouped = FALSE;
      const char *tag = bundle_tag (ours, c->name, &grouped);
      BfSessionTransport *first = grouped ? bf_session_transport_of (s, tag) : NULL;
      if (!grouped)
        continue;
      if (first && first != st)
        {
          st->preset_ufrag = g_strdup (first->preset_ufrag);
          st->preset_pwd = g_strdup (first->preset_pwd);
        }
      else
        {
          st->preset_ufrag = ice_random (8);
          st->preset_pwd = ice_random (24);
        }
    }
}

static gboolean
transport_has_content (BfSession *s, BfSessionTransport *st)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, s->content_transport);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (GPOINTER_TO_UINT (v) == st->index + 1)
      return TRUE;
  return FALSE;
}

static void
drop_if_unused (BfSession *s, BfSessionTransport *st)
{
  if (st == NULL || !st->in_use || transport_has_content (s, st))
    return;
  st->in_use = FALSE;
  g_debug ("session %s: transport %u dropped", s->sid, st->index);
  if (st->started)
    bf_session_post_drop (st);
}

void
bf_session_transports_apply_answer (BfSession *s, const BfJingle *answer)
{
  for (guint i = 0; i < answer->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (answer->contents, i);
      gboolean grouped = FALSE;
      const char *tag = bundle_tag (answer, c->name, &grouped);
      BfSessionTransport *to = bf_session_transport_of (s, tag);
      BfSessionTransport *from = bf_session_transport_of (s, c->name);
      s->bundled |= grouped;
      if (to == NULL || from == NULL || to == from)
        continue;
      map_content (s, c->name, to);
      drop_if_unused (s, from);
    }
}

BfSessionTransport *
bf_session_transport_for_new_content (BfSession *s, const BfJingleContent *c)
{
  /* The same credentials as a transport of ours: BUNDLE'd onto it (or no
   * credentials at all: onto the first, as before XEP-0338 was read). */
  if (c->ice == NULL)
    return NULL;
  for (guint i = 0; i < s->n_transports; i++)
    {
      BfSessionTransport *st = s->transports[i];
      if (st->in_use && (c->ice->ufrag == NULL
                         || g_strcmp0 (c->ice->ufrag, st->remote_ufrag) == 0))
        {
          map_content (s, c->name, st);
          return st;
        }
    }
  if (c->ice->pwd == NULL)
    return NULL;
  BfSessionTransport *st = transport_new (s);
  if (st)
    map_content (s, c->name, st);
  return st;
}

/* A content we add (content-add on behalf of the other leg): on the
 * BUNDLE'd transport when the session has one, else on a new transport of
 * its own, started now (its candidates are in our content-add). */
gboolean
bf_session_transport_for_our_content (BfSession *s, const char *name)
{
  if (bf_session_transport_of (s, name))
    return TRUE;
  if (s->bundled || s->n_transports == 0)
    {
      for (guint i = 0; i < s->n_transports; i++)
        if (s->transports[i]->in_use)
          {
            map_content (s, name, s->transports[i]);
            return TRUE;
          }
      return FALSE;
    }
  BfSessionTransport *st = transport_new (s);
  if (st == NULL)
    return FALSE;
  map_content (s, name, st);
  st->started = TRUE;
  bf_session_post_setup (st, NULL);
  return TRUE;
}

/* The peer answered our content-add of @c with the credentials of a
 * transport we already share with it: the content moves there and the
 * transport we offered for it goes.  TRUE when it did. */
gboolean
bf_session_transports_rebundle (BfSession *s, const BfJingleContent *c)
{
  BfSessionTransport *mine = bf_session_transport_of (s, c->name);
  if (mine == NULL || c->ice == NULL || c->ice->ufrag == NULL)
    return FALSE;
  for (guint i = 0; i < s->n_transports; i++)
    {
      BfSessionTransport *st = s->transports[i];
      if (st != mine && st->in_use && st->remote_set
          && g_strcmp0 (st->remote_ufrag, c->ice->ufrag) == 0)
        {
          map_content (s, c->name, st);
          drop_if_unused (s, mine);
          return TRUE;
        }
    }
  return FALSE;
}

void
bf_session_transports_drop_content (BfSession *s, const char *name)
{
  BfSessionTransport *st = bf_session_transport_of (s, name);
  if (st == NULL)
    return;
  g_hash_table_remove (s->content_transport, name);
  if (st->index > 0)
    drop_if_unused (s, st);   /* the first carries RTCP of last resort */
}

/* Every transport of @j has credentials, and a fingerprint is there. */
gboolean
bf_session_transports_check (BfSession *s, const BfJingle *j, const char **why)
{
  if (bf_jingle_first_fingerprint (j) == NULL)
    {
      *why = "DTLS-SRTP over ICE (ufrag, pwd, fingerprint) is required";
      return FALSE;
    }
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfSessionTransport *st = bf_session_transport_of (s, c->name);
      if (st == NULL)
        {
          *why = "too many transports";
          return FALSE;
        }
      if (st->in_use && bf_session_transport_remote_ice (st, j) == NULL)
        {
          *why = "DTLS-SRTP over ICE (ufrag, pwd, fingerprint) is required";
          return FALSE;
        }
    }
  return TRUE;
}

/* Starts every transport not started yet, with the peer's side from
 * @remote when we answer (NULL when we offer). */
void
bf_session_transports_start (BfSession *s, const BfJingle *remote)
{
  for (guint i = 0; i < s->n_transports; i++)
    {
      BfSessionTransport *st = s->transports[i];
      if (st->in_use && !st->started)
        {
          st->started = TRUE;
          bf_session_post_setup (st, remote);
        }
    }
  bf_session_transports_update_route (s);
}

gboolean
bf_session_transports_gathered (BfSession *s)
{
  for (guint i = 0; i < s->n_transports; i++)
    if (s->transports[i]->in_use && !s->transports[i]->gathered)
      return FALSE;
  return s->n_transports > 0;
}

static void
route_description (BfSession *s, BfPacketRoute *route, const BfJingle *j)
{
  for (guint i = 0; j && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfSessionTransport *st = bf_session_transport_of (s, c->name);
      if (st == NULL || c->rtp == NULL)
        continue;
      for (guint k = 0; k < c->rtp->payload_types->len; k++)
        bf_packet_route_set_pt (route,
                                ((BfJinglePayloadType *) g_ptr_array_index (c->rtp->payload_types,
                                                                            k))->id,
                                st->index);
      for (guint k = 0; k < c->rtp->sources->len; k++)
        {
          guint32 ssrc = ((BfJingleSource *) g_ptr_array_index (c->rtp->sources, k))->ssrc;
          bf_packet_route_set_ssrc (route, ssrc, st->index);
        }
    }
}

/* What both sides list for each video payload type: the answer is within
 * the offer, so this is what was negotiated (the echo, answering with the
 * caller's own media, has only theirs). */
static void
keyframe_methods (const BfSession *s, guint8 method[128])
{
  memset (method, 0, 128);
  const BfJingle *theirs = s->theirs, *ours = s->ours;
  for (guint i = 0; theirs && i < theirs->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (theirs->contents, i);
      const BfJingleContent *o = ours ? bf_jingle_find_content (ours, c->name) : NULL;
      if (c->rtp == NULL || (ours && (o == NULL || o->rtp == NULL)))
        continue;
      for (guint k = 0; k < c->rtp->payload_types->len; k++)
        {
          const BfJinglePayloadType *pt = g_ptr_array_index (c->rtp->payload_types, k);
          BfJingleKeyframeRequest m = bf_jingle_keyframe_request (c->rtp, pt);
          if (o)
            m = MIN (m, bf_jingle_keyframe_request (
                            o->rtp, bf_jingle_rtp_find_payload_type (o->rtp, pt->id)));
          method[pt->id] = m;
        }
    }
}

/* Each content of @j (a new name added to @names) by payload type and,
 * for a transport carrying it alone, by transport (@count: contents per
 * transport so far). */
static void
packet_contents (BfSession *s, BfPacketContents *pc, GPtrArray *names, guint *count,
                 const BfJingle *j)
{
  for (guint i = 0; j && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      guint index = 0;
      while (index < names->len && strcmp (g_ptr_array_index (names, index), c->name) != 0)
        index++;
      if (index == names->len)
        {
          if (names->len >= G_MAXUINT8 - 1)
            continue;
          g_ptr_array_add (names, g_strdup (c->name));
          BfSessionTransport *st = bf_session_transport_of (s, c->name);
          if (st)
            {
              count[st->index]++;
              pc->transport[st->index] = count[st->index] == 1 ? (guint8) (index + 1) : 0;
            }
        }
      for (guint k = 0; c->rtp && k < c->rtp->payload_types->len; k++)
        {
          const BfJinglePayloadType *pt = g_ptr_array_index (c->rtp->payload_types, k);
          if (pt->id < 128)
            pc->pt[pt->id] = (guint8) (index + 1);
        }
    }
}

/* Tells the worker how to ask for keyframes, which content a packet
 * belongs to, and, for a session with more than one transport, which
 * payload types and announced SSRCs belong to which transport. */
void
bf_session_transports_update_route (BfSession *s)
{
  if (s->worker == NULL || s->n_transports == 0)
    return;
  guint8 method[128];
  keyframe_methods (s, method);
  bf_session_post_keyframe_methods (s, method);
  BfPacketContents pc = { 0 };
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  guint count[MAX_TRANSPORTS] = { 0 };
  packet_contents (s, &pc, names, count, s->ours);
  packet_contents (s, &pc, names, count, s->theirs);
  pc.n_names = names->len;
  g_ptr_array_add (names, NULL);
  pc.names = (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
  bf_session_post_packet_contents (s, &pc);
  if (s->n_transports <= 1)
    return;
  BfPacketRoute route;
  bf_packet_route_init (&route);
  route_description (s, &route, s->ours);
  route_description (s, &route, s->theirs);
  bf_session_post_route (s, &route);
}

/* --- our side of a transport in Jingle --- */

BfJingleSetup
bf_session_established_setup (BfSession *s)
{
  return s->dtls_setup == BF_MEDIA_DTLS_SETUP_ACTIVE ? BF_JINGLE_SETUP_ACTIVE
                                                     : BF_JINGLE_SETUP_PASSIVE;
}

/* A local candidate as the transport reported it, with an id (bf<k>). */
static void
add_candidate (BfJingleIceTransport *ice, const BfJingleCandidate *mine, guint k)
{
  BfJingleCandidate *jc = bf_jingle_ice_append_candidate (ice, mine);
  g_snprintf (jc->id, sizeof jc->id, "bf%u", k);
}

/* @st's credentials, our fingerprint (@setup) and its candidates @from to
 * @to (exclusive; clamped) on @c. */
static void
set_our_ice (BfSession *s, BfSessionTransport *st, BfJingleContent *c, BfJingleSetup setup,
             guint from, guint to)
{
  BfMediaCert *cert = s->mgr->cert;
  BfJingleIceTransport *ice = bf_jingle_content_set_ice (c, st->ufrag, st->pwd);
  bf_jingle_ice_set_fingerprint (ice, bf_media_cert_get_fingerprint_hash (cert), setup,
                                 bf_media_cert_get_fingerprint (cert));
  for (guint k = from; st->candidates && k < st->candidates->len && k < to; k++)
    add_candidate (ice, g_ptr_array_index (st->candidates, k), k);
}

/* Our credentials, fingerprint (@setup) and every candidate of @c's
 * transport on @c. */
void
bf_session_add_ice (BfSession *s, BfJingleContent *c, BfJingleSetup setup)
{
  BfSessionTransport *st = bf_session_transport_of (s, c->name);
  if (st != NULL && st->gathered)
    set_our_ice (s, st, c, setup, 0, G_MAXUINT);
}

static gboolean
all_gathered_for (BfSession *s, const BfJingle *j, BfSessionTransport **waiting)
{
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfSessionTransport *st = bf_session_transport_of (s, c->name);
      if (st && !st->gathered)
        {
          *waiting = st;
          return FALSE;
        }
    }
  return TRUE;
}

static void
send_with_ice (BfSession *s, BfJingle *j)
{
  for (guint i = 0; i < j->contents->len; i++)
    {
      BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->rtp)
        bf_session_add_ice (s, c, bf_session_established_setup (s));
    }
  bf_session_send_jingle (s, j);
}

/* A content-add or -accept (already applied to the session's state)
 * whose contents get our ICE side: sent now, or once a transport of its
 * is gathered (a new one for a content of its own). Takes @j. */
void
bf_session_transports_send_or_hold (BfSession *s, BfJingle *j)
{
  BfSessionTransport *waiting = NULL;
  if (all_gathered_for (s, j, &waiting))
    {
      send_with_ice (s, j);
      bf_jingle_free (j);
      return;
    }
  if (waiting->held == NULL)
    waiting->held = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_free);
  g_ptr_array_add (waiting->held, j);
}

/* Our new credentials after the peer restarted ICE on @st: one
 * transport-info per candidate, each repeating them (Monal reads only the
 * first candidate of each transport-info and requires the credentials in
 * every one: MLCall.m). */
static void
send_restart_answer (BfSession *s, BfSessionTransport *st)
{
  /* A transport-replace is answered with one transport-accept carrying
   * every candidate (XEP-0166 §7.2.12). */
  gboolean replace = st->replacing;
  st->replacing = FALSE;
  guint n = st->candidates && st->candidates->len > 0 && !replace ? st->candidates->len : 1;
  for (guint k = 0; k < n; k++)
    {
      g_autoptr (BfJingle) j = bf_jingle_new (replace ? BF_JINGLE_ACTION_TRANSPORT_ACCEPT
                                                      : BF_JINGLE_ACTION_TRANSPORT_INFO, s->sid);
      /* In the session's order: with BUNDLE the group's first content (the
       * one whose transport carries the others) comes first, and Monal
       * takes the first content's first candidate alone (MLCall.m). */
      const GPtrArray *all = bf_jingle_session_get_contents (s->js);
      for (guint i = 0; i < all->len; i++)
        {
          const BfJingleSessionContent *sc = g_ptr_array_index (all, i);
          if (bf_session_transport_of (s, sc->name) != st)
            continue;
          BfJingleContent *c = bf_jingle_add_content (j, sc->creator, sc->name);
          set_our_ice (s, st, c, bf_session_established_setup (s), replace ? 0 : k,
                       replace ? G_MAXUINT : k + 1);
        }
      if (j->contents->len == 0)
        return;
      g_autoptr (GError) error = NULL;
      if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
        {
          g_debug ("session %s: transport-info not sent: %s", s->sid, error->message);
          return;
        }
      bf_session_send_jingle (s, j);
    }
  g_message ("session %s: ICE restarted by %s on transport %u (restart %u)", s->sid, s->peer,
             st->index, st->restarts);
}

void
bf_session_transports_on_gathered (BfSession *s, BfSessionWorkerNews *n)
{
  if (n->transport >= s->n_transports)
    return;
  BfSessionTransport *st = s->transports[n->transport];
  if (!st->in_use)
    return;
  g_free (st->ufrag);
  st->ufrag = g_steal_pointer (&n->ufrag);
  if (st->pwd)
    memset (st->pwd, 0, strlen (st->pwd));
  g_free (st->pwd);
  st->pwd = g_steal_pointer (&n->pwd);
  if (n->restarted)
    {
      send_restart_answer (s, st);
      return;
    }
  st->gathered = TRUE;
  if (st->candidates)
    g_ptr_array_unref (st->candidates);
  st->candidates = g_steal_pointer (&n->candidates);
  if (st->held)
    {
      g_autoptr (GPtrArray) held = g_steal_pointer (&st->held);
      g_ptr_array_set_free_func (held, NULL);
      for (guint i = 0; i < held->len && s->phase != BF_SESSION_PHASE_ENDED; i++)
        bf_session_transports_send_or_hold (s, g_ptr_array_index (held, i));
      for (guint i = 0; i < held->len && s->phase == BF_SESSION_PHASE_ENDED; i++)
        bf_jingle_free (g_ptr_array_index (held, i));
    }
}

void
bf_session_reject_transport_replace (BfSession *s, const BfJingle *j)
{
  g_autoptr (BfJingle) r = bf_jingle_new (BF_JINGLE_ACTION_TRANSPORT_REJECT, s->sid);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      bf_jingle_add_content (r, c->creator, c->name);
    }
  g_autoptr (GError) error = NULL;
  if (bf_jingle_session_apply (s->js, r, BF_JINGLE_OUTGOING, &error))
    bf_session_send_jingle (s, r);
  g_message ("session %s: transport-replace from %s refused", s->sid, s->peer);
}

/* XEP-0166 §7.2.15: the peer replaces a content's transport.  ICE-UDP by
 * ICE-UDP with new credentials is an ICE restart, answered with
 * transport-accept; anything else is refused with transport-reject (never
 * an iq error: the session goes on as it was). */
void
bf_session_handle_transport_replace (BfSession *s, const BfJingle *j)
{
  gboolean ok = j->contents->len > 0;
  for (guint i = 0; i < j->contents->len && ok; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfSessionTransport *st = bf_session_transport_of (s, c->name);
      ok = st && st->in_use && st->remote_set && c->transport_kind == BF_JINGLE_TRANSPORT_ICE_UDP
           && c->ice && c->ice->ufrag && c->ice->pwd && st->restarts < MAX_ICE_RESTARTS
           && (c->ice->fingerprint == NULL
               || g_ascii_strcasecmp (c->ice->fingerprint->value,
                                      bf_session_transport_remote_fingerprint (st, s->theirs)->value) == 0);
    }
  if (!ok)
    {
      bf_session_reject_transport_replace (s, j);
      return;
    }
  gboolean restarted[MAX_TRANSPORTS] = { FALSE };
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfSessionTransport *st = bf_session_transport_of (s, c->name);
      if (restarted[st->index])
        continue;
      restarted[st->index] = TRUE;
      st->replacing = TRUE;
      bf_session_post_restart (st, c->ice->ufrag, c->ice->pwd, j);
    }
}

void
bf_session_handle_transport_info (BfSession *s, const BfJingle *j)
{
  gboolean restarted[MAX_TRANSPORTS] = { FALSE };
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfSessionTransport *st = bf_session_transport_of (s, c->name);
      if (st == NULL || !st->in_use || !st->started || c->ice == NULL || c->ice->ufrag == NULL
          || c->ice->pwd == NULL || !st->remote_set || restarted[st->index]
          || (strcmp (c->ice->ufrag, st->remote_ufrag) == 0
              && strcmp (c->ice->pwd, st->remote_pwd) == 0))
        continue;
      gboolean past = FALSE;
      for (guint k = 0; st->past_ufrags && k < st->past_ufrags->len; k++)
        past |= strcmp (g_ptr_array_index (st->past_ufrags, k), c->ice->ufrag) == 0;
      if (past)
        continue;   /* sent before the last restart, delivered after it */
      if (st->restarts >= MAX_ICE_RESTARTS)
        {
          g_message ("session %s: ICE restart refused (%u already)", s->sid, st->restarts);
          continue;
        }
      /* XEP-0176 §5.9: new ufrag and pwd: the peer restarts ICE. */
      restarted[st->index] = TRUE;
      bf_session_post_restart (st, c->ice->ufrag, c->ice->pwd, j);
    }
  for (guint i = 0; i < s->n_transports; i++)
    {
      BfSessionTransport *st = s->transports[i];
      if (st->in_use && st->started && !restarted[i])
        bf_session_post_candidates (st, j);
    }
}
