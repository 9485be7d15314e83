#define G_LOG_DOMAIN "belfry-session"
/* The media worker side of sessions (session-private.h): each session's
 * transport lives on its worker; the main thread posts jobs carrying
 * copies of what they need, the worker posts news back. */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "session-describe.h"
#include "session-private.h"

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
const BfJingleIceTransport *
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

const BfJingleFingerprint *
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

void
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
void
worker_answered (gpointer data)
{
  WorkerJob *job = data;
  BfSession *s = job->session;
  GError *error = NULL;
  if (s->transport && !s->torn_down && !worker_apply_remote (s, job, &error))
    worker_fail (s, error);
}

void
worker_transport_info (gpointer data)
{
  WorkerJob *job = data;
  if (job->session->transport && !job->session->torn_down)
    worker_add_candidates (job->session, job->candidates);
}

/* @remote: a session-initiate/-accept whose ICE and DTLS to apply, or a
 * transport-info whose candidates to add (@candidates_only). */
void
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

void
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
