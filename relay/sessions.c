#define G_LOG_DOMAIN "belfry-session"
/* The session manager (sessions.h).
 *
 * Lifetime: a BfSession is reference-counted because two threads hold it:
 * the main thread (signalling, in the manager's table until it ends) and
 * its media worker (the transport's callbacks).  The transport itself is
 * created, used and freed on the worker only; everything else of the
 * session is touched on the main thread only, except the SSRC table and
 * the link to the other leg, which are written before the worker ever sees
 * the session.
 *
 * Two kinds of session: incoming (a peer's session-initiate; we answer,
 * at once or when the module says so) and outgoing (bf_session_place: we
 * offer, after a XEP-0353 proposal when the peer is a bare JID).  The two
 * legs of a relayed call are linked: each holds a reference to the other
 * until its own teardown on their shared worker, so a media() callback of
 * one leg can always reach the other. */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>
#include <belfry/module.h>

#include "jingle.h"
#include "jmi.h"
#include "session.h"
#include "session-describe.h"
#include "sessions.h"
#include "transport.h"

#define MAX_SSRCS 32

struct _BfSession {
  gatomicrefcount ref;
  BfSessions *mgr;                 /* NULL once the manager let go */
  BfModule *module;
  char *key;                       /* peer "\n" sid */
  char *sid;
  char *peer;                      /* the peer's full JID (bare while proposing) */
  char *local;                     /* our JID: the address called, or the placer's */
  gboolean outgoing;
  BfJingleSession *js;             /* outgoing: NULL until the peer's resource is known */
  BfJingle *theirs;                /* their session-initiate (incoming) or -accept (outgoing) */
  BfJingle *ours;                  /* the descriptions we offer (outgoing) or answer with
                                    * (incoming, mirrored); NULL: the echo's answer */
  BfMediaDtlsSetup dtls_setup;
  char *remote_ufrag;              /* the peer's, once known: content-add must BUNDLE on it */
  guint content_changes;           /* content-add/-remove seen, bounded */
  guint hangup_grace;              /* source: the peer closed DTLS, its terminate is due */
  guint32 remote_ssrcs[MAX_SSRCS];
  guint32 local_ssrcs[MAX_SSRCS];
  guint n_ssrcs;
  gboolean ended;
  gboolean deferred;               /* incoming: the module answers later */
  gboolean proposing;              /* outgoing: JMI propose sent, no proceed yet */
  gboolean initiate_sent;          /* outgoing */
  guint initiate_serial;           /* outgoing: iq_serial of our session-initiate */
  gboolean may_propose;            /* outgoing to a full JID: a bounce falls back to JMI */
  gboolean accept_sent;            /* incoming */
  guint iq_serial;
  /* our ICE side once gathered (main thread) */
  gboolean gathered;
  char *ufrag, *pwd;
  GPtrArray *candidates;           /* BfMediaCandidate* */
  /* the other leg of a relayed call: a reference, dropped on the worker */
  BfSession *linked;
  /* worker side */
  BfMediaWorker *worker;
  BfMediaTransport *transport;
  GPtrArray *local_candidates;     /* BfMediaCandidate*, until gathering is done */
  gboolean torn_down;
  /* module data */
  gpointer data;
  GDestroyNotify data_destroy;
};

struct _BfSessions {
  char *domain;
  BfModules *modules;
  BfMediaPool *pool;
  BfMediaCert *cert;
  BfMediaConfig media;
  guint max_sessions;
  GHashTable *table;               /* key -> BfSession* (a reference) */
  GHashTable *proposals;           /* sid -> BfSession* (weak: in table while there) */
  guint live_on_workers;           /* sessions whose worker side is not torn down */
  BfSessionStats stats;
};

static BfSession *
session_ref (BfSession *s)
{
  g_atomic_ref_count_inc (&s->ref);
  return s;
}

static void
session_unref (BfSession *s)
{
  if (!g_atomic_ref_count_dec (&s->ref))
    return;
  if (s->data_destroy)
    s->data_destroy (s->data);
  g_free (s->key);
  g_free (s->sid);
  g_free (s->peer);
  g_free (s->local);
  bf_jingle_session_free (s->js);
  bf_jingle_free (s->theirs);
  bf_jingle_free (s->ours);
  g_free (s->ufrag);
  g_free (s->pwd);
  g_free (s->remote_ufrag);
  if (s->candidates)
    g_ptr_array_unref (s->candidates);
  if (s->local_candidates)
    g_ptr_array_unref (s->local_candidates);
  g_free (s);
}

/* --- the public session API (getters) --- */

const char *
bf_session_get_peer (BfSession *session)
{
  return session->peer;
}

const char *
bf_session_get_local (BfSession *session)
{
  return session->local;
}

const char *
bf_session_get_sid (BfSession *session)
{
  return session->sid;
}

gboolean
bf_session_is_outgoing (BfSession *session)
{
  return session->outgoing;
}

guint
bf_session_get_n_ssrcs (BfSession *session)
{
  return session->n_ssrcs;
}

gboolean
bf_session_get_ssrc (BfSession *session, guint index, guint32 *remote, guint32 *local)
{
  if (index >= session->n_ssrcs)
    return FALSE;
  if (remote)
    *remote = session->remote_ssrcs[index];
  if (local)
    *local = session->local_ssrcs[index];
  return TRUE;
}

void
bf_session_set_data (BfSession *session, gpointer data, GDestroyNotify destroy)
{
  if (session->data_destroy && session->data != data)
    session->data_destroy (session->data);
  session->data = data;
  session->data_destroy = destroy;
}

gpointer
bf_session_get_data (BfSession *session)
{
  return session->data;
}

gboolean
bf_session_send_rtp (BfSession *session, const guint8 *data, gsize len)
{
  g_return_val_if_fail (session->worker && bf_media_worker_is_current (session->worker), FALSE);
  return session->transport && bf_media_transport_send_rtp (session->transport, data, len);
}

gboolean
bf_session_send_rtcp (BfSession *session, const guint8 *data, gsize len)
{
  g_return_val_if_fail (session->worker && bf_media_worker_is_current (session->worker), FALSE);
  return session->transport && bf_media_transport_send_rtcp (session->transport, data, len);
}

void
bf_session_get_rtp_map (BfSession *from, BfSession *to, BfRtpMap *map)
{
  /* Numbers arrive as we told @from's peer (our offer if we placed that
   * session; for a session we answer, the caller's own numbers, which our
   * answer keeps) and leave as @to's peer told us. */
  bf_describe_rtp_map_init (map);
  if (to->theirs == NULL)
    return;
  for (guint i = 0; i < to->theirs->contents->len; i++)
    {
      const BfJingleContent *heard = g_ptr_array_index (to->theirs->contents, i);
      const BfJingleContent *sent = from->ours ? bf_jingle_find_content (from->ours, heard->name)
                                               : NULL;
      if (sent == NULL && !from->outgoing && from->theirs)
        sent = bf_jingle_find_content (from->theirs, heard->name);
      if (sent && sent->rtp && heard->rtp)
        bf_describe_rtp_map_add (map, sent->rtp, heard->rtp);
    }
}

/* --- signalling helpers (main thread) --- */

static void
send_stanza (BfSessions *mgr, const BfStanza *stanza)
{
  bf_modules_send (mgr->modules, stanza);
}

static void
send_jingle (BfSession *s, const BfJingle *j)
{
  g_autofree char *id = g_strdup_printf ("bf-j%u-%s", ++s->iq_serial, s->sid);
  g_autoptr (BfStanza) iq = bf_jingle_build (j, s->local, s->peer, id);
  send_stanza (s->mgr, iq);
}

static void
send_jmi (BfSession *s, const BfJmi *jmi)
{
  g_autofree char *id = g_strdup_printf ("bf-m-%s", s->sid);
  g_autoptr (BfStanza) m = bf_jmi_build (jmi, s->local, s->peer, id);
  send_stanza (s->mgr, m);
}

static void session_end (BfSession *s, BfJingleReasonCondition reason, const char *text,
                         gboolean notify_peer);

/* --- the worker side --- */

typedef struct {
  BfSession *session;
  BfMediaEventType type;
  BfMediaSrtpProfile profile;
  GError *error;
  char *ufrag, *pwd;
  GPtrArray *candidates;
} WorkerNews;

static void
news_free (WorkerNews *n)
{
  session_unref (n->session);
  g_clear_error (&n->error);
  g_free (n->ufrag);
  g_free (n->pwd);
  if (n->candidates)
    g_ptr_array_unref (n->candidates);
  g_free (n);
}

static gboolean main_on_news (gpointer data);

/* Worker -> main. */
static void
post_news (WorkerNews *news)
{
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, main_on_news, news,
                              (GDestroyNotify) news_free);
}

static void
on_transport_event (BfMediaTransport *t, const BfMediaEvent *event, gpointer data)
{
  BfSession *s = data;
  (void) t;
  switch (event->type)
    {
    case BF_MEDIA_EVENT_LOCAL_CANDIDATE:
      if (s->local_candidates)
        g_ptr_array_add (s->local_candidates, g_memdup2 (event->candidate, sizeof (BfMediaCandidate)));
      return;   /* sent together with the offer or answer */
    case BF_MEDIA_EVENT_GATHERING_DONE:
      {
        WorkerNews *n = g_new0 (WorkerNews, 1);
        n->session = session_ref (s);
        n->type = event->type;
        bf_media_transport_get_local_credentials (s->transport, &n->ufrag, &n->pwd);
        n->candidates = g_steal_pointer (&s->local_candidates);
        post_news (n);
        return;
      }
    case BF_MEDIA_EVENT_ICE_CONNECTED:
      g_debug ("session %s: ICE connected", s->sid);
      return;
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
    case BF_MEDIA_EVENT_ICE_FAILED:
    case BF_MEDIA_EVENT_DTLS_FAILED:
      {
        WorkerNews *n = g_new0 (WorkerNews, 1);
        n->session = session_ref (s);
        n->type = event->type;
        n->profile = event->profile;
        n->error = event->error ? g_error_copy (event->error) : NULL;
        post_news (n);
        return;
      }
    }
}

static void
on_transport_rtp (BfMediaTransport *t, gboolean is_rtcp, guint8 *data, gsize len, gpointer user)
{
  BfSession *s = user;
  (void) t;
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (!s->torn_down && info->sessions->media)
    info->sessions->media (s->module, s, is_rtcp, data, len);
}

static gboolean
to_media_candidate (const BfJingleCandidate *jc, BfMediaCandidate *mc)
{
  /* rtcp-mux: component 1 only; UDP only (TCP candidates are not used). */
  if (jc->component != 1 || g_strcmp0 (jc->protocol, "udp") != 0)
    return FALSE;
  memset (mc, 0, sizeof *mc);
  g_strlcpy (mc->foundation, jc->foundation ? jc->foundation : "1", sizeof mc->foundation);
  mc->component = 1;
  mc->type = (BfMediaCandidateType) jc->type;   /* same order: host, srflx, prflx, relay */
  g_strlcpy (mc->address, jc->ip, sizeof mc->address);
  mc->port = jc->port;
  if (jc->rel_addr)
    g_strlcpy (mc->rel_address, jc->rel_addr, sizeof mc->rel_address);
  mc->rel_port = jc->rel_port > 0 ? (guint16) jc->rel_port : 0;
  mc->priority = jc->priority;
  return TRUE;
}

/* The first content's ICE transport: with BUNDLE, the one all share. */
static const BfJingleIceTransport *
first_ice (const BfJingle *j)
{
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice && c->ice->ufrag && c->ice->pwd)
        return c->ice;
    }
  return NULL;
}

static const BfJingleFingerprint *
first_fingerprint (const BfJingle *j)
{
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice && c->ice->fingerprint)
        return c->ice->fingerprint;
    }
  return NULL;
}

/* What the worker needs of a Jingle request, copied on the main thread:
 * the worker never reads the session's descriptions, which the main
 * thread goes on changing (content-add, -remove). */
typedef struct {
  BfSession *session;
  gboolean set_remote;     /* credentials and fingerprint below are set */
  char *ufrag, *pwd;
  char *fp_hash, *fp_value;
  GArray *candidates;      /* BfMediaCandidate */
  BfMediaConfig *media;
  BfMediaCert *cert;
} WorkerJob;

static void
job_free (WorkerJob *job)
{
  session_unref (job->session);
  g_free (job->ufrag);
  g_free (job->pwd);
  g_free (job->fp_hash);
  g_free (job->fp_value);
  if (job->candidates)
    g_array_unref (job->candidates);
  g_free (job);
}

static void
job_take_candidates (WorkerJob *job, const BfJingle *j)
{
  job->candidates = g_array_new (FALSE, FALSE, sizeof (BfMediaCandidate));
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice == NULL)
        continue;
      for (guint k = 0; c->ice->candidates && k < c->ice->candidates->len; k++)
        {
          BfMediaCandidate mc;
          if (to_media_candidate (g_ptr_array_index (c->ice->candidates, k), &mc))
            g_array_append_val (job->candidates, mc);
        }
    }
}

/* The peer's credentials, fingerprint and candidates from their
 * session-initiate or session-accept (@j). */
static void
job_take_remote (WorkerJob *job, const BfJingle *j)
{
  const BfJingleIceTransport *ice = first_ice (j);
  const BfJingleFingerprint *fp = first_fingerprint (j);
  job->set_remote = TRUE;
  job->ufrag = g_strdup (ice->ufrag);
  job->pwd = g_strdup (ice->pwd);
  job->fp_hash = g_strdup (fp->hash);
  job->fp_value = g_strdup (fp->value);
  job_take_candidates (job, j);
}

static void
worker_add_candidates (BfSession *s, const GArray *candidates)
{
  for (guint i = 0; candidates && i < candidates->len; i++)
    {
      g_autoptr (GError) error = NULL;
      if (!bf_media_transport_add_remote_candidate (s->transport,
                                                    &g_array_index (candidates, BfMediaCandidate, i),
                                                    &error))
        g_debug ("session %s: candidate refused: %s", s->sid, error->message);
    }
}

static void
worker_fail (BfSession *s, GError *error)
{
  WorkerNews *n = g_new0 (WorkerNews, 1);
  n->session = session_ref (s);
  n->type = BF_MEDIA_EVENT_ICE_FAILED;
  n->error = error;
  post_news (n);
}

static gboolean
worker_apply_remote (BfSession *s, const WorkerJob *job, GError **error)
{
  if (!bf_media_transport_set_remote_credentials (s->transport, job->ufrag, job->pwd, error)
      || !bf_media_transport_set_dtls (s->transport, s->dtls_setup, job->fp_hash, job->fp_value,
                                       error))
    return FALSE;
  worker_add_candidates (s, job->candidates);
  return TRUE;
}

static void
worker_setup (gpointer data)
{
  WorkerJob *job = data;
  BfSession *s = job->session;
  if (s->torn_down)
    return;
  GError *error = NULL;
  s->local_candidates = g_ptr_array_new_with_free_func (g_free);
  /* RFC 8445 §6.1.1: the offerer (we, on a session we place) controls. */
  s->transport = bf_media_transport_new (s->worker, job->media, job->cert, s->outgoing,
                                         on_transport_event, on_transport_rtp, s, &error);
  if (s->transport == NULL || (job->set_remote && !worker_apply_remote (s, job, &error))
      || !bf_media_transport_gather (s->transport, &error))
    worker_fail (s, error);
}

/* Outgoing: the peer's session-accept arrived. */
static void
worker_answered (gpointer data)
{
  WorkerJob *job = data;
  BfSession *s = job->session;
  GError *error = NULL;
  if (s->transport && !s->torn_down && !worker_apply_remote (s, job, &error))
    worker_fail (s, error);
}

static void
worker_transport_info (gpointer data)
{
  WorkerJob *job = data;
  if (job->session->transport && !job->session->torn_down)
    worker_add_candidates (job->session, job->candidates);
}

/* @remote: a session-initiate/-accept whose ICE and DTLS to apply, or a
 * transport-info whose candidates to add (@candidates_only). */
static void
post_job (BfSession *s, BfMediaWorkerFunc func, const BfJingle *remote, gboolean candidates_only)
{
  WorkerJob *job = g_new0 (WorkerJob, 1);
  job->session = session_ref (s);
  if (remote && candidates_only)
    job_take_candidates (job, remote);
  else if (remote)
    job_take_remote (job, remote);
  job->media = &s->mgr->media;
  job->cert = s->mgr->cert;
  bf_media_worker_invoke (s->worker, func, job, (GDestroyNotify) job_free);
}

static gboolean main_worker_released (gpointer data);

static void
worker_teardown (gpointer data)
{
  BfSession *s = data;
  s->torn_down = TRUE;
  if (s->transport)
    {
      bf_media_transport_close (s->transport);
      bf_media_transport_free (s->transport);
      s->transport = NULL;
    }
  /* No media() of ours runs after this: the other leg may go. */
  g_clear_pointer (&s->linked, session_unref);
  bf_media_worker_release (s->worker);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, main_worker_released, session_ref (s),
                              (GDestroyNotify) session_unref);
}

/* --- the main side --- */

static gboolean
main_worker_released (gpointer data)
{
  BfSession *s = data;
  if (s->mgr)
    s->mgr->live_on_workers--;
  return G_SOURCE_REMOVE;
}

static void
add_ice (BfSession *s, BfJingleContent *c, BfJingleSetup setup)
{
  BfMediaCert *cert = s->mgr->cert;
  BfJingleIceTransport *ice = bf_jingle_content_set_ice (c, s->ufrag, s->pwd);
  bf_jingle_ice_set_fingerprint (ice, bf_media_cert_get_fingerprint_hash (cert), setup,
                                 bf_media_cert_get_fingerprint (cert));
  for (guint k = 0; s->candidates && k < s->candidates->len; k++)
    {
      const BfMediaCandidate *mc = g_ptr_array_index (s->candidates, k);
      g_autofree char *id = g_strdup_printf ("bf%u", k);
      BfJingleCandidate *jc = bf_jingle_ice_add_candidate (ice, mc->component, mc->foundation,
                                                           mc->address, mc->port, mc->priority,
                                                           "udp", (BfJingleCandidateType) mc->type);
      jc->generation = 0;
      jc->id = g_strdup (id);
      if (mc->rel_address[0])
        {
          jc->rel_addr = g_strdup (mc->rel_address);
          jc->rel_port = mc->rel_port;
        }
    }
}

static void
copy_groups (BfJingle *to, const BfJingle *from)
{
  for (guint i = 0; i < from->groups->len; i++)
    {
      const BfJingleGroup *og = g_ptr_array_index (from->groups, i);
      BfJingleGroup *g = bf_jingle_add_group (to, og->semantics);
      for (guint k = 0; k < og->contents->len; k++)
        g_ptr_array_add (g->contents, g_strdup (g_ptr_array_index (og->contents, k)));
    }
}

static void
set_rtp (BfJingleContent *c, BfJingleRtpDescription *rtp)
{
  bf_jingle_content_set_rtp (c, rtp->media);
  bf_jingle_rtp_description_free (c->rtp);
  c->rtp = rtp;
}

/* Incoming: our session-accept, once our candidates are known. */
static void
send_accept (BfSession *s)
{
  BfSessions *mgr = s->mgr;
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, s->sid);
  j->initiator = g_strdup (s->theirs->initiator ? s->theirs->initiator : s->peer);
  j->responder = g_strdup (s->local);
  BfJingleSetup setup = s->dtls_setup == BF_MEDIA_DTLS_SETUP_ACTIVE ? BF_JINGLE_SETUP_ACTIVE
                                                                    : BF_JINGLE_SETUP_PASSIVE;
  for (guint i = 0; i < s->theirs->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->theirs->contents, i);
      const BfJingleContent *mine = s->ours ? bf_jingle_find_content (s->ours, oc->name) : NULL;
      BfJingleContent *c = bf_jingle_add_content (j, oc->creator, oc->name);
      c->senders = mine ? mine->senders : oc->senders;
      set_rtp (c, mine ? bf_describe_mirror_offer (mine->rtp)
                       : bf_describe_echo_answer (oc->rtp, s->remote_ssrcs, s->local_ssrcs,
                                                  s->n_ssrcs, s->sid, oc->name));
      add_ice (s, c, setup);
    }
  copy_groups (j, s->theirs);
  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
    {
      g_warning ("session %s: cannot accept: %s", s->sid, error->message);
      session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "internal error", TRUE);
      return;
    }
  send_jingle (s, j);
  s->accept_sent = TRUE;
  mgr->stats.accepted++;
  g_message ("session %s with %s accepted (%u contents, %u candidates)", s->sid, s->peer,
             s->theirs->contents->len, s->candidates ? s->candidates->len : 0);
}

/* Outgoing: our session-initiate, once the peer's resource and our
 * candidates are known. */
static void
send_initiate (BfSession *s)
{
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, s->sid);
  j->initiator = g_strdup (s->local);
  for (guint i = 0; i < s->ours->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->ours->contents, i);
      BfJingleContent *c = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, oc->name);
      c->senders = oc->senders;
      set_rtp (c, bf_describe_mirror_offer (oc->rtp));
      add_ice (s, c, BF_JINGLE_SETUP_ACTPASS);
    }
  copy_groups (j, s->ours);
  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
    {
      g_warning ("session %s: cannot initiate: %s", s->sid, error->message);
      session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "internal error", FALSE);
      return;
    }
  send_jingle (s, j);
  s->initiate_sent = TRUE;
  s->initiate_serial = s->iq_serial;
  g_message ("session %s to %s initiated (%u contents, %u candidates)", s->sid, s->peer,
             s->ours->contents->len, s->candidates ? s->candidates->len : 0);
}

static void
maybe_send_initiate (BfSession *s)
{
  if (s->outgoing && s->gathered && !s->proposing && !s->initiate_sent && !s->ended)
    send_initiate (s);
}

#define HANGUP_GRACE_MS 2000

static gboolean
on_hangup_grace (gpointer data)
{
  BfSession *s = data;
  s->hangup_grace = 0;
  if (!s->ended)
    {
      g_message ("session %s: no session-terminate from %s after it closed its media", s->sid,
                 s->peer);
      session_end (s, BF_JINGLE_REASON_GONE, "the peer closed its media", TRUE);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
main_on_news (gpointer data)
{
  WorkerNews *n = data;
  BfSession *s = n->session;
  if (s->mgr == NULL || s->ended)
    return G_SOURCE_REMOVE;
  switch (n->type)
    {
    case BF_MEDIA_EVENT_GATHERING_DONE:
      s->gathered = TRUE;
      s->ufrag = g_steal_pointer (&n->ufrag);
      s->pwd = g_steal_pointer (&n->pwd);
      s->candidates = g_steal_pointer (&n->candidates);
      if (s->outgoing)
        maybe_send_initiate (s);
      else
        send_accept (s);
      break;
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
      g_message ("session %s: media secured (%s)", s->sid,
                 bf_media_srtp_profile_name (n->profile));
      break;
    case BF_MEDIA_EVENT_DTLS_FAILED:
      if (g_error_matches (n->error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_CLOSED))
        {
          /* A close_notify is how a WebRTC peer hangs up: its
           * session-terminate (with the reason to pass on) follows over
           * XMPP, usually within milliseconds.  Wait for it, briefly. */
          g_message ("session %s: %s closed its media; waiting for its session-terminate",
                     s->sid, s->peer);
          if (s->hangup_grace == 0)
            s->hangup_grace = g_timeout_add_full (G_PRIORITY_DEFAULT, HANGUP_GRACE_MS,
                                                  on_hangup_grace, session_ref (s),
                                                  (GDestroyNotify) session_unref);
          break;
        }
      G_GNUC_FALLTHROUGH;
    case BF_MEDIA_EVENT_ICE_FAILED:
      {
        g_warning ("session %s with %s failed: %s", s->sid, s->peer,
                   n->error ? n->error->message : "transport failure");
        s->mgr->stats.failed++;
        /* Any DTLS failure (a fingerprint mismatch above all) is a security
         * error; an ICE failure is the transport's. */
        session_end (s, n->type == BF_MEDIA_EVENT_DTLS_FAILED ? BF_JINGLE_REASON_SECURITY_ERROR
                                                            : BF_JINGLE_REASON_FAILED_TRANSPORT,
                     n->error ? n->error->message : NULL, TRUE);
        break;
      }
    default:
      break;
    }
  return G_SOURCE_REMOVE;
}

/* Ends a session on the main thread: tells the peer (@notify_peer) with a
 * session-terminate, or a JMI retract for a proposal nobody took yet, or
 * nothing when nothing was sent; then the module's ended(), the worker
 * teardown.  Idempotent. */
static void
session_end (BfSession *s, BfJingleReasonCondition reason, const char *text, gboolean notify_peer)
{
  if (s->ended)
    return;
  s->ended = TRUE;
  BfSessions *mgr = s->mgr;
  session_ref (s);
  g_clear_handle_id (&s->hangup_grace, g_source_remove);
  if (notify_peer && s->outgoing && s->proposing)
    {
      /* XEP-0353 §3.3: the proposer withdraws. */
      g_autoptr (BfJmi) retract = bf_jmi_new (BF_JMI_RETRACT, s->sid);
      bf_jmi_set_reason (retract, reason, text);
      send_jmi (s, retract);
    }
  else if (notify_peer && (!s->outgoing || s->initiate_sent))
    {
      g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_TERMINATE, s->sid);
      bf_jingle_set_reason (j, reason, text);
      send_jingle (s, j);
    }
  g_message ("session %s with %s ended: %s", s->sid, s->peer, bf_jingle_reason_to_string (reason));
  mgr->stats.ended++;
  if (s->outgoing)
    g_hash_table_remove (mgr->proposals, s->sid);
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->ended)
    info->sessions->ended (s->module, s, bf_jingle_reason_to_string (reason));
  if (s->worker)
    bf_media_worker_invoke (s->worker, worker_teardown, session_ref (s),
                            (GDestroyNotify) session_unref);
  else
    mgr->live_on_workers--;
  g_hash_table_remove (mgr->table, s->key);
  session_unref (s);
}

static guint32
new_local_ssrc (BfSession *s)
{
  for (;;)
    {
      guint32 v = g_random_int ();
      gboolean clash = v == 0;
      for (guint i = 0; i < s->n_ssrcs && !clash; i++)
        clash = s->remote_ssrcs[i] == v || s->local_ssrcs[i] == v;
      if (!clash)
        return v;
    }
}

/* Why an offer (or, for a session we placed, an answer) cannot be taken,
 * as a reason; SUCCESS when it can. */
static BfJingleReasonCondition
check_description (const BfJingle *j, const char **why)
{
  if (j->contents->len == 0)
    {
      *why = "no content";
      return BF_JINGLE_REASON_INCOMPATIBLE_PARAMETERS;
    }
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->description_kind != BF_JINGLE_DESCRIPTION_RTP || c->rtp->payload_types->len == 0)
        {
          *why = "only RTP audio/video is supported";
          return BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS;
        }
      if (c->transport_kind != BF_JINGLE_TRANSPORT_ICE_UDP)
        {
          *why = "only ICE-UDP is supported";
          return BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS;
        }
    }
  const BfJingleIceTransport *ice = first_ice (j);
  const BfJingleFingerprint *fp = first_fingerprint (j);
  if (ice == NULL || fp == NULL)
    {
      *why = "DTLS-SRTP over ICE (ufrag, pwd, fingerprint) is required";
      return BF_JINGLE_REASON_SECURITY_ERROR;
    }
  return BF_JINGLE_REASON_SUCCESS;
}

static void
ack (BfSessions *mgr, const BfStanza *iq)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  send_stanza (mgr, reply);
}

static BfSession *
session_new (BfSessions *mgr, BfModule *module, const char *sid, const char *peer,
             const char *local)
{
  BfSession *s = g_new0 (BfSession, 1);
  g_atomic_ref_count_init (&s->ref);
  s->mgr = mgr;
  s->module = module;
  s->sid = g_strdup (sid);
  s->peer = g_strdup (peer);
  s->local = g_strdup (local);
  s->key = g_strconcat (peer, "\n", sid, NULL);
  g_hash_table_insert (mgr->table, s->key, s);
  mgr->live_on_workers++;
  return s;
}

static void
handle_initiate (BfSessions *mgr, BfModule *module, const BfStanza *iq, BfJingle *j)
{
  const char *from = bf_stanza_get_attr (iq, "from");
  const char *to = bf_stanza_get_attr (iq, "to");
  BfSession *s = session_new (mgr, module, j->sid, from, to);
  s->theirs = j;
  s->js = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, j->sid, to, from);
  mgr->stats.initiated++;

  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_INCOMING, &error))
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      send_stanza (mgr, reply);
      s->ended = TRUE;   /* nothing to terminate */
      mgr->live_on_workers--;
      g_hash_table_remove (mgr->table, s->key);
      return;
    }
  ack (mgr, iq);

  const char *why = NULL;
  BfJingleReasonCondition bad = check_description (j, &why);
  if (bad != BF_JINGLE_REASON_SUCCESS)
    {
      g_message ("session %s from %s refused: %s", s->sid, from, why);
      session_end (s, bad, why, TRUE);
      return;
    }
  if (g_hash_table_size (mgr->table) > mgr->max_sessions)
    {
      mgr->stats.busy++;
      g_message ("session %s from %s refused: %u sessions already (max-sessions)", s->sid, from,
                 mgr->max_sessions);
      session_end (s, BF_JINGLE_REASON_BUSY, "too many sessions", TRUE);
      return;
    }

  /* One local SSRC per remote one, in announcement order. */
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleRtpDescription *rtp = ((BfJingleContent *) g_ptr_array_index (j->contents, i))->rtp;
      for (guint k = 0; k < rtp->sources->len && s->n_ssrcs < MAX_SSRCS; k++)
        {
          guint32 ssrc = ((BfJingleSource *) g_ptr_array_index (rtp->sources, k))->ssrc;
          gboolean seen = FALSE;
          for (guint m = 0; m < s->n_ssrcs; m++)
            seen |= s->remote_ssrcs[m] == ssrc;
          if (seen)
            continue;
          s->remote_ssrcs[s->n_ssrcs] = ssrc;
          s->local_ssrcs[s->n_ssrcs] = new_local_ssrc (s);
          s->n_ssrcs++;
        }
    }
  const BfJingleFingerprint *fp = first_fingerprint (j);
  s->remote_ufrag = g_strdup (first_ice (j)->ufrag);
  /* No 'setup' (XEP-0320 requires one; some clients omit it): treat the
   * offer as actpass, the offerer's usual role. */
  s->dtls_setup = bf_media_dtls_setup_for_answer (fp->setup == BF_JINGLE_SETUP_UNSET
                                                  ? "actpass"
                                                  : bf_jingle_setup_to_string (fp->setup));
  g_message ("session %s from %s to %s: %u contents, %u SSRCs", s->sid, from, to,
             j->contents->len, s->n_ssrcs);
  /* The worker is chosen before the module decides, so that a session it
   * places for this one can share it. */
  s->worker = bf_media_pool_acquire (mgr->pool);

  const BfModuleInfo *info = bf_module_get_info_struct (module);
  BfSessionDecision decision = BF_SESSION_ACCEPT;
  session_ref (s);
  if (info->sessions->offer)
    decision = info->sessions->offer (module, s);
  if (s->ended)
    ;   /* the module ended it itself */
  else if (decision == BF_SESSION_DECLINE)
    {
      mgr->stats.declined++;
      session_end (s, BF_JINGLE_REASON_DECLINE, NULL, TRUE);
    }
  else if (decision == BF_SESSION_DEFER)
    s->deferred = TRUE;
  else
    post_job (s, worker_setup, s->theirs, FALSE);
  session_unref (s);
}

/* Outgoing: the peer accepted. */
static void
handle_accept (BfSession *s, BfJingle *j)
{
  const char *why = NULL;
  BfJingleReasonCondition bad = check_description (j, &why);
  if (bad != BF_JINGLE_REASON_SUCCESS)
    {
      g_message ("session %s to %s: answer refused: %s", s->sid, s->peer, why);
      bf_jingle_free (j);
      session_end (s, bad, why, TRUE);
      return;
    }
  s->theirs = j;
  s->remote_ufrag = g_strdup (first_ice (j)->ufrag);
  const BfJingleFingerprint *fp = first_fingerprint (j);
  /* RFC 5763 §5: an answer without 'setup' is active. */
  s->dtls_setup = bf_media_dtls_setup_from_answer (fp->setup == BF_JINGLE_SETUP_UNSET
                                                   ? "active"
                                                   : bf_jingle_setup_to_string (fp->setup));
  g_message ("session %s to %s answered (%u contents)", s->sid, s->peer, j->contents->len);
  s->mgr->stats.accepted++;
  /* The module learns of the answer before the worker does: whatever it
   * prepares for the media path is in place before media can flow. */
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  session_ref (s);
  if (info->sessions->answered)
    info->sessions->answered (s->module, s);
  if (!s->ended)
    post_job (s, worker_answered, s->theirs, FALSE);
  session_unref (s);
}

static const BfSessionInfo info_kinds[] = {
  [BF_JINGLE_INFO_ACTIVE] = BF_SESSION_INFO_ACTIVE,
  [BF_JINGLE_INFO_HOLD] = BF_SESSION_INFO_HOLD,
  [BF_JINGLE_INFO_UNHOLD] = BF_SESSION_INFO_UNHOLD,
  [BF_JINGLE_INFO_MUTE] = BF_SESSION_INFO_MUTE,
  [BF_JINGLE_INFO_UNMUTE] = BF_SESSION_INFO_UNMUTE,
  [BF_JINGLE_INFO_RINGING] = BF_SESSION_INFO_RINGING,
};

static void
tell_info (BfSession *s, BfSessionInfo kind, const char *name)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->info)
    info->sessions->info (s->module, s, kind, name);
}

/* --- contents added and removed while the session runs --- */

#define MAX_CONTENT_CHANGES 64   /* per session: a peer cannot grow state forever */

static BfJingleSetup
established_setup (BfSession *s)
{
  return s->dtls_setup == BF_MEDIA_DTLS_SETUP_ACTIVE ? BF_JINGLE_SETUP_ACTIVE
                                                     : BF_JINGLE_SETUP_PASSIVE;
}

/* Keeps a copy of @c's description in @into (ours or theirs). */
static void
store_content (BfJingle **into, const char *sid, const BfJingleContent *c)
{
  if (*into == NULL)
    *into = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, sid);
  BfJingleContent *n = bf_jingle_add_content (*into, c->creator, c->name);
  n->senders = c->senders;
  set_rtp (n, bf_describe_mirror_offer (c->rtp));
}

static void
drop_content (BfJingle *from, const char *name)
{
  for (guint i = 0; from && i < from->contents->len; i++)
    if (g_strcmp0 (((BfJingleContent *) g_ptr_array_index (from->contents, i))->name, name) == 0)
      {
        g_ptr_array_remove_index (from->contents, i);
        return;
      }
}

static const BfJingleSessionContent *
find_session_content (BfSession *s, const char *name)
{
  const GPtrArray *all = bf_jingle_session_get_contents (s->js);
  for (guint i = 0; i < all->len; i++)
    {
      const BfJingleSessionContent *sc = g_ptr_array_index (all, i);
      if (g_strcmp0 (sc->name, name) == 0)
        return sc;
    }
  return NULL;
}

/* Sends a content action about one content: @rtp (taken) and our ICE
 * transport for content-add/-accept, @reason for content-reject. */
static gboolean
send_content_action (BfSession *s, BfJingleAction action, BfJingleCreator creator,
                     const char *name, BfJingleSenders senders, BfJingleRtpDescription *rtp,
                     gint reason, GError **error)
{
  g_autoptr (BfJingle) j = bf_jingle_new (action, s->sid);
  BfJingleContent *c = bf_jingle_add_content (j, creator, name);
  c->senders = senders;
  if (rtp)
    {
      set_rtp (c, rtp);
      add_ice (s, c, established_setup (s));
    }
  if (reason >= 0)
    bf_jingle_set_reason (j, (BfJingleReasonCondition) reason, NULL);
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, error))
    return FALSE;
  send_jingle (s, j);
  return TRUE;
}

static void
refuse_content (BfSession *s, const BfJingleContent *c, BfJingleReasonCondition reason,
                const char *why)
{
  g_autoptr (GError) error = NULL;
  g_message ("session %s: content '%s' from %s refused: %s", s->sid, c->name, s->peer, why);
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_REJECT, c->creator, c->name, c->senders,
                            NULL, reason, &error))
    g_debug ("session %s: content-reject not sent: %s", s->sid, error->message);
}

static void
handle_content_add (BfSession *s, const BfJingle *j)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->description_kind != BF_JINGLE_DESCRIPTION_RTP || c->rtp->payload_types->len == 0)
        refuse_content (s, c, BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS,
                        "only RTP audio/video is supported");
      else if (c->ice == NULL || (c->ice->ufrag && g_strcmp0 (c->ice->ufrag, s->remote_ufrag) != 0))
        refuse_content (s, c, BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS,
                        "a new content must share the session's ICE transport (BUNDLE)");
      else if (s->content_changes >= MAX_CONTENT_CHANGES)
        refuse_content (s, c, BF_JINGLE_REASON_FAILED_APPLICATION, "too many content changes");
      else
        {
          s->content_changes++;
          store_content (&s->theirs, s->sid, c);
          g_message ("session %s: %s adds content '%s' (%s)", s->sid, s->peer, c->name,
                     c->rtp->media);
          info->sessions->content_added (s->module, s, c->name);
          if (s->ended)
            return;
        }
    }
}

static void
handle_content_answer (BfSession *s, const BfJingle *j)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      gboolean accepted = j->action == BF_JINGLE_ACTION_CONTENT_ACCEPT
                          && c->description_kind == BF_JINGLE_DESCRIPTION_RTP
                          && c->rtp->payload_types->len > 0;
      if (accepted)
        store_content (&s->theirs, s->sid, c);
      else
        drop_content (s->ours, c->name);
      g_message ("session %s: %s %s content '%s'", s->sid, s->peer,
                 accepted ? "accepted" : "rejected", c->name);
      if (info->sessions->content_answered)
        info->sessions->content_answered (s->module, s, c->name, accepted);
      if (s->ended)
        return;
    }
}

static void
handle_content_remove (BfSession *s, const BfJingle *j)
{
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      drop_content (s->theirs, c->name);
      drop_content (s->ours, c->name);
      s->content_changes++;
      g_message ("session %s: %s removes content '%s'", s->sid, s->peer, c->name);
      if (info->sessions->content_removed)
        info->sessions->content_removed (s->module, s, c->name);
      if (s->ended)
        return;
    }
}

/* Trickled candidates for a session whose transport does not exist yet
 * (the module has not answered): added to the offer's, which the worker
 * reads when it starts; bounded like a single transport. */
static void
keep_candidates (BfSession *s, const BfJingle *j)
{
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      BfJingleContent *mine = bf_jingle_find_content (s->theirs, c->name);
      if (c->ice == NULL || mine == NULL || mine->ice == NULL)
        continue;
      for (guint k = 0; k < c->ice->candidates->len; k++)
        {
          const BfJingleCandidate *o = g_ptr_array_index (c->ice->candidates, k);
          if (mine->ice->candidates->len >= BF_JINGLE_MAX_CANDIDATES)
            {
              g_debug ("session %s: trickled candidate dropped (limit)", s->sid);
              return;
            }
          BfJingleCandidate *n = bf_jingle_ice_add_candidate (mine->ice, o->component,
                                                              o->foundation, o->ip, o->port,
                                                              o->priority, o->protocol, o->type);
          n->generation = o->generation;
          if (o->rel_addr)
            {
              n->rel_addr = g_strdup (o->rel_addr);
              n->rel_port = o->rel_port;
            }
        }
    }
}

static void send_proposal (BfSession *s);

/* Our session-initiate to a full JID came back as "no such resource". */
static gboolean
initiate_bounced (BfSession *s, const BfStanza *iq)
{
  g_autofree char *prefix = g_strdup_printf ("bf-j%u-", s->initiate_serial);
  if (!g_str_has_prefix (bf_stanza_get_attr (iq, "id"), prefix))
    return FALSE;
  BfStanza *err = bf_stanza_find_child (iq, "error", NULL);
  return err && (bf_stanza_find_child (err, "service-unavailable", BF_NS_STANZAS)
                 || bf_stanza_find_child (err, "item-not-found", BF_NS_STANZAS)
                 || bf_stanza_find_child (err, "recipient-unavailable", BF_NS_STANZAS));
}

/* The resource was not there (gone, or its case lost: servers lower-case
 * the localpart that carried it, XEP-0106 cannot keep it): ring every
 * device of the bare JID instead (XEP-0353), once. */
static void
fall_back_to_proposal (BfSession *s)
{
  BfSessions *mgr = s->mgr;
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (s->peer, &local, &domain, NULL))
    return;
  g_message ("session %s: %s is not there; proposing to %s@%s instead", s->sid, s->peer, local,
             domain);
  s->may_propose = FALSE;
  g_hash_table_steal (mgr->table, s->key);
  g_free (s->key);
  g_free (s->peer);
  s->peer = g_strconcat (local, "@", domain, NULL);
  s->key = g_strconcat (s->peer, "\n", s->sid, NULL);
  g_hash_table_insert (mgr->table, s->key, s);
  g_clear_pointer (&s->js, bf_jingle_session_free);
  s->initiate_sent = FALSE;
  send_proposal (s);
}

static BfSession *
session_for_error (BfSessions *mgr, const BfStanza *stanza, const char *prefix)
{
  const char *id = bf_stanza_get_attr (stanza, "id");
  if (id == NULL || !g_str_has_prefix (id, prefix))
    return NULL;
  const char *sid = strchr (id + strlen (prefix), '-');
  if (sid == NULL)
    return NULL;
  g_autofree char *key = g_strconcat (bf_stanza_get_attr (stanza, "from"), "\n", sid + 1, NULL);
  return g_hash_table_lookup (mgr->table, key);
}

static gboolean
handle_jingle_iq (BfSessions *mgr, BfModule *module, const BfStanza *iq)
{
  const char *type = bf_stanza_get_attr (iq, "type");
  if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
    {
      /* Answers to our own Jingle requests: an error ends the session. */
      BfSession *s = g_strcmp0 (type, "error") == 0 ? session_for_error (mgr, iq, "bf-j") : NULL;
      if (s && s->may_propose && initiate_bounced (s, iq))
        fall_back_to_proposal (s);
      else if (s)
        session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "the peer refused our request", FALSE);
      return TRUE;
    }
  g_autoptr (GError) error = NULL;
  BfJingle *j = bf_jingle_parse (iq, &error);
  if (j == NULL)
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      send_stanza (mgr, reply);
      return TRUE;
    }
  const char *from = bf_stanza_get_attr (iq, "from");
  g_autofree char *key = g_strconcat (from, "\n", j->sid, NULL);
  BfSession *s = g_hash_table_lookup (mgr->table, key);
  if (j->action == BF_JINGLE_ACTION_SESSION_INITIATE && s == NULL)
    {
      handle_initiate (mgr, module, iq, j);   /* takes j */
      return TRUE;
    }
  g_autoptr (BfJingle) owned = j;
  if (s == NULL || s->js == NULL)
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error_code (iq, BF_JINGLE_ERROR_UNKNOWN_SESSION,
                                                               NULL);
      send_stanza (mgr, reply);
      return TRUE;
    }
  const BfModuleInfo *minfo = bf_module_get_info_struct (s->module);
  if (j->action == BF_JINGLE_ACTION_CONTENT_ADD && minfo->sessions->content_added == NULL)
    {
      g_autoptr (BfStanza) reply = bf_stanza_new_error (iq, "cancel", "feature-not-implemented",
                                                        "this action is not supported here");
      send_stanza (mgr, reply);
      return TRUE;
    }
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_INCOMING, &error))
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      send_stanza (mgr, reply);
      return TRUE;
    }
  session_ref (s);   /* hooks below may end it */
  switch (j->action)
    {
    case BF_JINGLE_ACTION_CONTENT_ADD:
      ack (mgr, iq);
      if (s->worker)
        post_job (s, worker_transport_info, j, TRUE);   /* its candidates, if any */
      handle_content_add (s, j);
      break;
    case BF_JINGLE_ACTION_CONTENT_ACCEPT:
    case BF_JINGLE_ACTION_CONTENT_REJECT:
      ack (mgr, iq);
      if (s->worker && j->action == BF_JINGLE_ACTION_CONTENT_ACCEPT)
        post_job (s, worker_transport_info, j, TRUE);
      handle_content_answer (s, j);
      break;
    case BF_JINGLE_ACTION_CONTENT_REMOVE:
      ack (mgr, iq);
      handle_content_remove (s, j);
      break;
    case BF_JINGLE_ACTION_SESSION_ACCEPT:
      ack (mgr, iq);
      handle_accept (s, g_steal_pointer (&owned));
      break;
    case BF_JINGLE_ACTION_TRANSPORT_INFO:
      ack (mgr, iq);
      if (s->deferred)
        keep_candidates (s, j);   /* no transport yet: it starts with them */
      else if (s->worker)
        post_job (s, worker_transport_info, j, TRUE);
      break;
    case BF_JINGLE_ACTION_SESSION_TERMINATE:
      ack (mgr, iq);
      session_end (s, j->reason ? j->reason->condition : BF_JINGLE_REASON_SUCCESS, NULL, FALSE);
      break;
    case BF_JINGLE_ACTION_SESSION_INFO:
      ack (mgr, iq);
      if (j->info.kind != BF_JINGLE_INFO_NONE && (guint) j->info.kind < G_N_ELEMENTS (info_kinds))
        tell_info (s, info_kinds[j->info.kind], j->info.name);
      break;
    default:
      {
        /* content-add, transport-replace ...: not supported by this endpoint. */
        g_autoptr (BfStanza) reply = bf_stanza_new_error (iq, "cancel", "feature-not-implemented",
                                                          "this action is not supported here");
        send_stanza (mgr, reply);
      }
      break;
    }
  session_unref (s);
  return TRUE;
}

static gboolean
bare_equal (const char *full, const char *bare)
{
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (full, &local, &domain, NULL))
    return FALSE;
  g_autofree char *b = local ? g_strconcat (local, "@", domain, NULL) : g_strdup (domain);
  return bf_jingle_jid_equal (b, bare);
}

/* The callee answered our proposal (XEP-0353 §3.2). */
static void
handle_jmi_answer (BfSessions *mgr, const BfStanza *message, BfJmi *jmi)
{
  BfSession *s = g_hash_table_lookup (mgr->proposals, jmi->id);
  const char *from = bf_stanza_get_attr (message, "from");
  if (s == NULL || s->ended || from == NULL || !s->proposing || !bare_equal (from, s->peer))
    return;   /* late, foreign or for a proposal already taken: nothing to do */
  switch (jmi->type)
    {
    case BF_JMI_RINGING:
      tell_info (s, BF_SESSION_INFO_RINGING, NULL);
      break;
    case BF_JMI_PROCEED:
      {
        g_autofree char *resource = NULL;
        if (!bf_jid_split (from, NULL, NULL, &resource) || resource == NULL)
          return;
        /* From now on the session is with that resource. */
        g_hash_table_steal (mgr->table, s->key);
        g_free (s->key);
        g_free (s->peer);
        s->peer = g_strdup (from);
        s->key = g_strconcat (s->peer, "\n", s->sid, NULL);
        g_hash_table_insert (mgr->table, s->key, s);
        s->proposing = FALSE;
        s->js = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, s->sid, s->local, s->peer);
        g_message ("session %s: %s proceeds", s->sid, s->peer);
        maybe_send_initiate (s);
        break;
      }
    case BF_JMI_REJECT:
      s->proposing = FALSE;   /* nothing to retract */
      session_end (s, jmi->reason ? jmi->reason->condition : BF_JINGLE_REASON_DECLINE, NULL,
                   FALSE);
      break;
    default:
      break;
    }
}

static gboolean
handle_jmi (BfSessions *mgr, const BfStanza *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJmi) jmi = bf_jmi_parse (message, &error);
  if (jmi == NULL)
    {
      g_debug ("ignored a JMI message: %s", error ? error->message : "?");
      return TRUE;
    }
  if (jmi->type != BF_JMI_PROPOSE)
    {
      handle_jmi_answer (mgr, message, jmi);
      return TRUE;
    }
  /* XEP-0353 §3.2: we are ready at once: proceed, then wait for the
   * session-initiate from the proposer. */
  g_autoptr (BfJmi) proceed = bf_jmi_new (BF_JMI_PROCEED, jmi->id);
  g_autoptr (BfStanza) reply = bf_jmi_build (proceed, bf_stanza_get_attr (message, "to"),
                                             bf_stanza_get_attr (message, "from"), NULL);
  send_stanza (mgr, reply);
  return TRUE;
}

gboolean
bf_sessions_handle_stanza (gpointer data, BfModule *module, const BfStanza *stanza)
{
  BfSessions *mgr = data;
  const char *kind = bf_stanza_get_name (stanza);
  if (strcmp (kind, "iq") == 0 && bf_stanza_find_child (stanza, "jingle", BF_NS_JINGLE))
    return handle_jingle_iq (mgr, module, stanza);
  /* Answers to our own Jingle requests rarely repeat the <jingle/>. */
  const char *id = bf_stanza_get_attr (stanza, "id");
  const char *type = bf_stanza_get_attr (stanza, "type");
  if (strcmp (kind, "iq") == 0 && id && g_str_has_prefix (id, "bf-j")
      && (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0))
    return handle_jingle_iq (mgr, module, stanza);
  if (strcmp (kind, "message") != 0)
    return FALSE;
  if (g_strcmp0 (type, "error") == 0)
    {
      /* Our proposal bounced (no such user, server unreachable). */
      if (id && g_str_has_prefix (id, "bf-m-"))
        {
          BfSession *s = g_hash_table_lookup (mgr->proposals, id + 5);
          if (s && s->proposing)
            {
              s->proposing = FALSE;
              g_message ("session %s: the proposal to %s bounced", s->sid, s->peer);
              session_end (s, BF_JINGLE_REASON_GONE, NULL, FALSE);
            }
          return TRUE;
        }
      return FALSE;
    }
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, stanza);
  while (bf_stanza_iter_next (&it, &child))
    if (g_strcmp0 (bf_stanza_get_ns (child), BF_NS_JINGLE_MESSAGE) == 0)
      return handle_jmi (mgr, stanza);
  return FALSE;
}

/* --- what modules ask (session.h) --- */

/* XEP-0353 §3.1: rings every device of s->peer (a bare JID). */
static void
send_proposal (BfSession *s)
{
  s->proposing = TRUE;
  g_hash_table_insert (s->mgr->proposals, s->sid, s);
  g_autoptr (BfJmi) propose = bf_jmi_new (BF_JMI_PROPOSE, s->sid);
  for (guint i = 0; i < s->ours->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (s->ours->contents, i);
      bf_jmi_add_description (propose, BF_NS_JINGLE_RTP, c->rtp->media);
    }
  send_jmi (s, propose);
  g_message ("session %s: proposed to %s from %s", s->sid, s->peer, s->local);
}

BfSession *
bf_session_place (BfModule *module, const char *local, const char *peer, BfSession *mirror,
                  GError **error)
{
  BfSessions *mgr = bf_module_get_sessions (module);
  g_return_val_if_fail (mgr != NULL && mirror != NULL, NULL);
  g_autofree char *pl = NULL, *pd = NULL, *pr = NULL, *ll = NULL, *ld = NULL, *lr = NULL;
  if (!bf_jid_split (peer, &pl, &pd, &pr))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not a JID", peer);
      return NULL;
    }
  if (!bf_jid_split (local, &ll, &ld, &lr) || lr == NULL || g_ascii_strcasecmp (ld, mgr->domain) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not a full JID of %s", local, mgr->domain);
      return NULL;
    }
  if (mirror->ended || mirror->theirs == NULL || mirror->worker == NULL || mirror->linked)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s cannot be mirrored", mirror->sid);
      return NULL;
    }
  if (g_hash_table_size (mgr->table) >= mgr->max_sessions)
    {
      mgr->stats.busy++;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%u sessions already (max-sessions)",
                   mgr->max_sessions);
      return NULL;
    }
  g_autofree char *sid = g_strdup_printf ("bf%08x%08x", g_random_int (), g_random_int ());
  BfSession *s = session_new (mgr, module, sid, peer, local);
  s->outgoing = TRUE;
  s->ours = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, sid);
  for (guint i = 0; i < mirror->theirs->contents->len; i++)
    {
      const BfJingleContent *mc = g_ptr_array_index (mirror->theirs->contents, i);
      BfJingleContent *c = bf_jingle_add_content (s->ours, BF_JINGLE_CREATOR_INITIATOR, mc->name);
      c->senders = mc->senders;
      set_rtp (c, bf_describe_mirror_offer (mc->rtp));
    }
  copy_groups (s->ours, mirror->theirs);
  s->linked = session_ref (mirror);
  mirror->linked = session_ref (s);
  s->worker = mirror->worker;
  bf_media_worker_acquire (s->worker);
  mgr->stats.placed++;
  if (pr == NULL)
    send_proposal (s);   /* a bare JID: ring every device first */
  else
    {
      s->js = bf_jingle_session_new (BF_JINGLE_ROLE_INITIATOR, s->sid, s->local, s->peer);
      s->may_propose = TRUE;
      g_message ("session %s: calling %s from %s", s->sid, peer, local);
    }
  post_job (s, worker_setup, NULL, FALSE);
  return s;
}

gboolean
bf_session_accept_mirrored (BfSession *session, BfSession *answered, GError **error)
{
  BfSession *s = session;
  if (s->ended || !s->deferred || answered->theirs == NULL || !answered->outgoing)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s is not waiting for an answer", s->sid);
      return FALSE;
    }
  g_autoptr (BfJingle) ours = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, s->sid);
  for (guint i = 0; i < s->theirs->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->theirs->contents, i);
      const BfJingleContent *ac = bf_jingle_find_content (answered->theirs, oc->name);
      if (ac == NULL || ac->rtp == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "the answer has no content '%s'", oc->name);
          return FALSE;
        }
      BfJingleRtpDescription *rtp = bf_describe_mirror_answer (oc->rtp, ac->rtp);
      if (rtp->payload_types->len == 0)
        {
          bf_jingle_rtp_description_free (rtp);
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "no codec of content '%s' in common", oc->name);
          return FALSE;
        }
      BfJingleContent *c = bf_jingle_add_content (ours, oc->creator, oc->name);
      c->senders = ac->senders;
      set_rtp (c, rtp);
    }
  s->ours = g_steal_pointer (&ours);
  s->deferred = FALSE;
  post_job (s, worker_setup, s->theirs, FALSE);
  return TRUE;
}

static gboolean
content_ready (BfSession *s, GError **error)
{
  if (s->ended || s->js == NULL || bf_jingle_session_get_state (s->js) != BF_JINGLE_STATE_ACTIVE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "session %s is not active", s->sid);
      return FALSE;
    }
  return TRUE;
}

gboolean
bf_session_add_content_mirrored (BfSession *session, BfSession *mirror, const char *name,
                                 GError **error)
{
  BfSession *s = session;
  if (!content_ready (s, error))
    return FALSE;
  const BfJingleContent *src = mirror->theirs ? bf_jingle_find_content (mirror->theirs, name) : NULL;
  if (src == NULL || src->rtp == NULL || find_session_content (s, name) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no new content '%s' to add to session %s", name, s->sid);
      return FALSE;
    }
  /* We stand for the other party: its content is created by our role. */
  BfJingleCreator creator = s->outgoing ? BF_JINGLE_CREATOR_INITIATOR : BF_JINGLE_CREATOR_RESPONDER;
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_ADD, creator, name, src->senders,
                            bf_describe_mirror_offer (src->rtp), -1, error))
    return FALSE;
  BfJingleContent copy = *src;
  copy.creator = creator;
  store_content (&s->ours, s->sid, &copy);
  s->content_changes++;
  return TRUE;
}

gboolean
bf_session_accept_content_mirrored (BfSession *session, BfSession *answered, const char *name,
                                    GError **error)
{
  BfSession *s = session;
  if (!content_ready (s, error))
    return FALSE;
  const BfJingleContent *offer = s->theirs ? bf_jingle_find_content (s->theirs, name) : NULL;
  const BfJingleContent *answer = answered->theirs ? bf_jingle_find_content (answered->theirs, name)
                                                   : NULL;
  const BfJingleSessionContent *sc = find_session_content (s, name);
  if (offer == NULL || answer == NULL || sc == NULL || sc->state != BF_JINGLE_CONTENT_REMOTE_ADD)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no content '%s' waiting for an answer in session %s", name, s->sid);
      return FALSE;
    }
  BfJingleRtpDescription *rtp = bf_describe_mirror_answer (offer->rtp, answer->rtp);
  if (rtp->payload_types->len == 0)
    {
      bf_jingle_rtp_description_free (rtp);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "no codec of content '%s' in common", name);
      return FALSE;
    }
  BfJingleContent copy = { .creator = sc->creator, .name = (char *) name,
                           .senders = answer->senders, .rtp = rtp };
  store_content (&s->ours, s->sid, &copy);
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_ACCEPT, sc->creator, name,
                            answer->senders, rtp, -1, error))
    {
      drop_content (s->ours, name);
      return FALSE;
    }
  return TRUE;
}

void
bf_session_reject_content (BfSession *session, const char *name, const char *reason)
{
  BfSession *s = session;
  BfJingleReasonCondition condition;
  const BfJingleSessionContent *sc = s->js ? find_session_content (s, name) : NULL;
  if (s->ended || sc == NULL || sc->state != BF_JINGLE_CONTENT_REMOTE_ADD)
    return;
  if (reason == NULL || !bf_jingle_reason_from_string (reason, &condition))
    condition = BF_JINGLE_REASON_GENERAL_ERROR;
  g_autoptr (GError) error = NULL;
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_REJECT, sc->creator, name, sc->senders,
                            NULL, condition, &error))
    g_debug ("session %s: content-reject not sent: %s", s->sid, error->message);
  drop_content (s->theirs, name);
}

void
bf_session_remove_content (BfSession *session, const char *name)
{
  BfSession *s = session;
  const BfJingleSessionContent *sc = s->js ? find_session_content (s, name) : NULL;
  if (s->ended || sc == NULL)
    return;
  g_autoptr (GError) error = NULL;
  if (!send_content_action (s, BF_JINGLE_ACTION_CONTENT_REMOVE, sc->creator, name, sc->senders,
                            NULL, -1, &error))
    g_debug ("session %s: content-remove not sent: %s", s->sid, error->message);
  drop_content (s->theirs, name);
  drop_content (s->ours, name);
}

void
bf_session_terminate (BfSession *session, const char *reason, const char *text)
{
  BfJingleReasonCondition condition;
  if (reason == NULL || !bf_jingle_reason_from_string (reason, &condition))
    condition = BF_JINGLE_REASON_GENERAL_ERROR;
  session_end (session, condition, text, TRUE);
}

static const BfJingleInfoKind jingle_info_kinds[] = {
  [BF_SESSION_INFO_ACTIVE] = BF_JINGLE_INFO_ACTIVE,
  [BF_SESSION_INFO_HOLD] = BF_JINGLE_INFO_HOLD,
  [BF_SESSION_INFO_UNHOLD] = BF_JINGLE_INFO_UNHOLD,
  [BF_SESSION_INFO_MUTE] = BF_JINGLE_INFO_MUTE,
  [BF_SESSION_INFO_UNMUTE] = BF_JINGLE_INFO_UNMUTE,
  [BF_SESSION_INFO_RINGING] = BF_JINGLE_INFO_RINGING,
};

void
bf_session_send_info (BfSession *session, BfSessionInfo info, const char *name)
{
  BfSession *s = session;
  if (s->ended || s->js == NULL || (guint) info >= G_N_ELEMENTS (jingle_info_kinds)
      || (s->outgoing && !s->initiate_sent))
    return;
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INFO, s->sid);
  j->info.kind = jingle_info_kinds[info];
  const BfJingleSessionContent *sc = name ? find_session_content (s, name) : NULL;
  j->info.creator = sc ? sc->creator : BF_JINGLE_CREATOR_INITIATOR;
  j->info.name = g_strdup (name);
  g_autoptr (GError) error = NULL;
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_OUTGOING, &error))
    {
      g_debug ("session %s: session-info not sent: %s", s->sid, error->message);
      return;
    }
  send_jingle (s, j);
}

/* --- the manager --- */

BfSessions *
bf_sessions_new (const char *domain, BfModules *modules, BfMediaPool *pool, BfMediaCert *cert,
                 const BfMediaConfig *media, guint max_sessions)
{
  BfSessions *mgr = g_new0 (BfSessions, 1);
  mgr->domain = g_strdup (domain);
  mgr->modules = modules;
  mgr->pool = pool;
  mgr->cert = cert;
  bf_media_config_copy (&mgr->media, media);   /* initialises the copy */
  mgr->max_sessions = max_sessions;
  mgr->table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) session_unref);
  mgr->proposals = g_hash_table_new (g_str_hash, g_str_equal);
  bf_modules_set_sessions (modules, mgr);
  return mgr;
}

guint
bf_sessions_count (BfSessions *sessions)
{
  return g_hash_table_size (sessions->table);
}

const BfSessionStats *
bf_sessions_get_stats (BfSessions *sessions)
{
  return &sessions->stats;
}

void
bf_sessions_free (BfSessions *mgr)
{
  if (mgr == NULL)
    return;
  bf_modules_set_sessions (mgr->modules, NULL);
  /* One at a time: ending a session may end its other leg too. */
  for (;;)
    {
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, mgr->table);
      if (!g_hash_table_iter_next (&it, NULL, &value))
        break;
      session_end (value, BF_JINGLE_REASON_GONE, "the relay is stopping", TRUE);
    }
  /* The workers tell the main context when each session is torn down;
   * wait for them (bounded), so no transport outlives the manager. */
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (mgr->live_on_workers > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (mgr->live_on_workers > 0)
    {
      /* Their late news would find a freed manager: leave it allocated. */
      g_warning ("%u sessions still on their workers at exit", mgr->live_on_workers);
      return;
    }
  g_hash_table_unref (mgr->table);
  g_hash_table_unref (mgr->proposals);
  bf_media_config_clear (&mgr->media);
  g_free (mgr->domain);
  g_free (mgr);
}
