#define G_LOG_DOMAIN "belfry-session"
/* The media worker side of sessions (session-private.h): each of a
 * session's transports lives on its worker; the main thread posts jobs
 * carrying copies of what they need, the worker posts news back. */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "session-private.h"

static void
news_free (BfSessionWorkerNews *n)
{
  bf_session_unref (n->session);
  g_clear_error (&n->error);
  g_free (n->ufrag);
  g_free (n->pwd);
  if (n->candidates)
    g_ptr_array_unref (n->candidates);
  g_free (n);
}

/* Worker -> main. */
static void
post_news (BfSessionWorkerNews *news)
{
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, bf_session_on_worker_news, news,
                              (GDestroyNotify) news_free);
}

static BfSessionWorkerNews *
news_new (BfSessionTransport *st, BfMediaEventType type)
{
  BfSessionWorkerNews *n = g_new0 (BfSessionWorkerNews, 1);
  n->session = bf_session_ref (st->session);
  n->transport = st->index;
  n->type = type;
  return n;
}

static void
on_transport_event (BfMediaTransport *t, const BfMediaEvent *event, gpointer data)
{
  BfSessionTransport *st = data;
  switch (event->type)
    {
    case BF_MEDIA_EVENT_LOCAL_CANDIDATE:
      if (st->local_candidates)
        g_ptr_array_add (st->local_candidates, g_memdup2 (event->candidate, sizeof *event->candidate));
      return;   /* sent together with the offer or answer */
    case BF_MEDIA_EVENT_GATHERING_DONE:
      {
        BfSessionWorkerNews *n = news_new (st, event->type);
        bf_media_transport_get_local_credentials (t, &n->ufrag, &n->pwd);
        n->candidates = g_steal_pointer (&st->local_candidates);
        post_news (n);
        return;
      }
    case BF_MEDIA_EVENT_ICE_CONNECTED:
      g_debug ("session %s: ICE connected on transport %u", st->session->sid, st->index);
      return;
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
    case BF_MEDIA_EVENT_ICE_FAILED:
    case BF_MEDIA_EVENT_DTLS_FAILED:
      {
        BfSessionWorkerNews *n = news_new (st, event->type);
        n->profile = event->profile;
        n->error = event->error ? g_error_copy (event->error) : NULL;
        post_news (n);
        return;
      }
    }
}

/* Tells the module once every transport there is has heard from the peer
 * (session.h: media_ready). */
static void
maybe_media_ready (BfSession *s)
{
  if (s->w.ready_told || s->w.torn_down)
    return;
  gboolean any = FALSE;
  for (guint i = 0; i < s->w.n_transports; i++)
    {
      const BfSessionTransport *st = s->transports[i];
      if (st->transport == NULL)
        continue;   /* dropped, or not set up: nothing goes there */
      if (!st->w_heard)
        return;
      any = TRUE;
    }
  if (!any)
    return;
  s->w.ready_told = TRUE;
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->media_ready)
    info->sessions->media_ready (s->module, s);
}

static void
on_transport_rtp (BfMediaTransport *t, gboolean is_rtcp, guint8 *data, gsize len, gpointer user)
{
  BfSessionTransport *st = user;
  BfSession *s = st->session;
  if (s->w.torn_down)
    return;
  /* Feedback about what arrived here goes back the same way. */
  if (s->w.n_transports > 1)
    bf_packet_route_learn (&s->w.route, is_rtcp, data, len, st->index);
  if (!is_rtcp)
    bf_video_sources_learn (&s->w.video, data, len);
  if (G_UNLIKELY (!st->w_heard))
    {
      st->w_heard = TRUE;
      maybe_media_ready (s);
      if (s->w.torn_down)
        return;
    }
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->media == NULL)
    return;
  /* The packet as modules get it (packet.h), filled once here; the time
   * is taken here, not per datagram read, which costs the same per packet
   * and keeps the transport's callback as it is. */
  BfPacket packet;
  if (G_UNLIKELY (!bf_packet_contents_fill (&s->w.contents, st->index, is_rtcp, data, len,
                                            g_get_monotonic_time (), &packet)))
    {
      bf_media_transport_count_malformed_rtp (t);
      return;
    }
  info->sessions->media (s->module, s, &packet);
}

/* The transport a module's packet leaves on (worker). */
BfMediaTransport *
bf_session_worker_transport_for (BfSession *s, gboolean is_rtcp, const guint8 *data, gsize len)
{
  if (s->w.n_transports <= 1)
    return s->transports[0] ? s->transports[0]->transport : NULL;
  guint i = bf_packet_route_lookup (&s->w.route, is_rtcp, data, len);
  /* Unknown, or a transport dropped since: the first one still running
   * (a BUNDLE answer may have kept another content's than the first). */
  for (guint k = 0; k < s->w.n_transports
                    && (i >= s->w.n_transports || s->transports[i]->transport == NULL); k++)
    i = k;
  if (i >= s->w.n_transports || s->transports[i]->transport == NULL)
    return NULL;
  BfSessionTransport *st = s->transports[i];
  /* Our own streams' reports follow them. */
  if (!is_rtcp)
    bf_packet_route_learn (&s->w.route, FALSE, data, len, i);
  return st->transport;
}

/* What the worker needs of a Jingle request for one transport, copied on
 * the main thread: the worker never reads the session's descriptions,
 * which the main thread goes on changing (content-add, -remove). */
typedef struct {
  BfSession *session;
  guint transport;         /* index */
  gboolean set_remote;     /* credentials and fingerprint below are set */
  gboolean restart;        /* ... and they are new: an ICE restart */
  char *ufrag, *pwd;
  char *fp_hash, *fp_value;
  char *local_ufrag, *local_pwd;   /* worker_setup: our credentials, chosen */
  GArray *candidates;      /* BfJingleCandidate, the ones the transport uses */
  BfMediaConfig *media;
  BfMediaCert *cert;
  BfPacketRoute *route;    /* worker_route */
  BfPacketContents *contents; /* worker_packet_contents */
  guint8 *keyframe_methods; /* worker_keyframe_methods: 128 BfJingleKeyframeRequest */
} WorkerJob;

static void
job_free (WorkerJob *job)
{
  bf_session_unref (job->session);
  g_free (job->ufrag);
  if (job->pwd)
    memset (job->pwd, 0, strlen (job->pwd));
  g_free (job->pwd);
  g_free (job->fp_hash);
  g_free (job->fp_value);
  g_free (job->local_ufrag);
  if (job->local_pwd)
    memset (job->local_pwd, 0, strlen (job->local_pwd));
  g_free (job->local_pwd);
  if (job->candidates)
    g_array_unref (job->candidates);
  g_free (job->route);
  if (job->contents)
    g_strfreev (job->contents->names);
  g_free (job->contents);
  g_free (job->keyframe_methods);
  g_free (job);
}

static WorkerJob *
job_new (BfSessionTransport *st)
{
  WorkerJob *job = g_new0 (WorkerJob, 1);
  job->session = bf_session_ref (st->session);
  job->transport = st->index;
  job->media = &st->session->mgr->media;
  job->cert = st->session->mgr->cert;
  return job;
}

static void
post (BfSession *s, BfMediaWorkerFunc func, WorkerJob *job)
{
  bf_media_worker_invoke (s->worker, func, job, (GDestroyNotify) job_free);
}

/* The candidates of @st's contents in @j. */
static void
job_take_candidates (WorkerJob *job, BfSessionTransport *st, const BfJingle *j)
{
  job->candidates = g_array_new (FALSE, FALSE, sizeof (BfJingleCandidate));
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice == NULL || bf_session_transport_of (st->session, c->name) != st)
        continue;
      /* Candidates of an earlier generation (sent before an ICE restart
       * and delivered after it) are for credentials that are gone. */
      if (c->ice->ufrag && st->remote_ufrag && strcmp (c->ice->ufrag, st->remote_ufrag) != 0)
        continue;
      for (guint k = 0; c->ice->candidates && k < c->ice->candidates->len; k++)
        {
          /* rtcp-mux: component 1 only (a peer offering two components,
           * as Dino does, gets rtcp-mux in our answer: RFC 5761 §5.1.3);
           * UDP only (TCP candidates are not used). */
          const BfJingleCandidate *jc = g_ptr_array_index (c->ice->candidates, k);
          if (jc->component == 1 && strcmp (jc->protocol, "udp") == 0)
            g_array_append_vals (job->candidates, jc, 1);
        }
    }
}

static void
worker_add_candidates (BfSession *s, BfMediaTransport *t, const GArray *candidates)
{
  for (guint i = 0; candidates && i < candidates->len; i++)
    {
      g_autoptr (GError) error = NULL;
      if (!bf_media_transport_add_remote_candidate (t, &g_array_index (candidates,
                                                                       BfJingleCandidate, i),
                                                    &error)
          && !g_error_matches (error, BF_MEDIA_ERROR, BF_MEDIA_ERROR_POLICY))
        g_debug ("session %s: candidate refused: %s", s->sid, error->message);
    }
}

static void
worker_fail (BfSession *s, guint transport, GError *error)
{
  BfSessionWorkerNews *n = g_new0 (BfSessionWorkerNews, 1);
  n->session = bf_session_ref (s);
  n->transport = transport;
  n->type = BF_MEDIA_EVENT_ICE_FAILED;
  n->error = error;
  post_news (n);
}

static BfSessionTransport *
job_transport (const WorkerJob *job)
{
  BfSession *s = job->session;
  if (s->w.torn_down || job->transport >= s->w.n_transports)
    return NULL;
  return s->transports[job->transport];
}

static gboolean
worker_apply_remote (BfSessionTransport *st, const WorkerJob *job, GError **error)
{
  BfSession *s = st->session;
  if (job->restart)
    {
      if (!bf_media_transport_restart (st->transport, job->ufrag, job->pwd, error))
        return FALSE;
      /* Our new credentials go back to the peer (XEP-0176 §5.9); the
       * local candidates stay what they were. */
      BfSessionWorkerNews *n = news_new (st, BF_MEDIA_EVENT_GATHERING_DONE);
      n->restarted = TRUE;
      bf_media_transport_get_local_credentials (st->transport, &n->ufrag, &n->pwd);
      post_news (n);
    }
  else if (!bf_media_transport_set_remote_credentials (st->transport, job->ufrag, job->pwd, error)
           || !bf_media_transport_set_dtls (st->transport, s->dtls_setup, job->fp_hash,
                                            job->fp_value, error))
    return FALSE;
  worker_add_candidates (s, st->transport, job->candidates);
  return TRUE;
}

static void
worker_setup (gpointer data)
{
  WorkerJob *job = data;
  BfSession *s = job->session;
  if (s->w.torn_down)
    return;
  /* The main thread filled the slot before posting this. */
  if (job->transport >= s->w.n_transports)
    s->w.n_transports = job->transport + 1;
  BfSessionTransport *st = s->transports[job->transport];
  GError *error = NULL;
  BF_SETUP_TRACE ("%s", s->sid, "setup-job");
  s->w.ready_told = FALSE;   /* a new transport: ready again once it hears */
  st->local_candidates = g_ptr_array_new_with_free_func (g_free);
  /* RFC 8445 §6.1.1: the offerer (we, on a session we place) controls. */
  st->transport = bf_media_transport_new (s->worker, job->media, job->cert, s->outgoing,
                                          on_transport_event, on_transport_rtp, st, &error);
  g_debug ("trace-transport %s %u %p", s->sid, st->index, (void *) st->transport);
  if (st->transport == NULL
      || (job->local_ufrag && !bf_media_transport_set_local_credentials (st->transport,
                                                                        job->local_ufrag,
                                                                        job->local_pwd, &error))
      || (job->set_remote && !worker_apply_remote (st, job, &error))
      || !bf_media_transport_gather (st->transport, &error))
    worker_fail (s, st->index, error);
}

/* The peer's credentials (first ones, or new ones: an ICE restart), its
 * fingerprint and candidates. */
static void
worker_remote (gpointer data)
{
  WorkerJob *job = data;
  BfSessionTransport *st = job_transport (job);
  GError *error = NULL;
  BF_SETUP_TRACE ("%s", job->session->sid, "remote-job");
  if (st && st->transport && !worker_apply_remote (st, job, &error))
    worker_fail (job->session, st->index, error);
}

static void
worker_candidates (gpointer data)
{
  WorkerJob *job = data;
  BfSessionTransport *st = job_transport (job);
  if (st && st->transport)
    worker_add_candidates (job->session, st->transport, job->candidates);
}

static void
close_transport (BfSessionTransport *st)
{
  if (st->transport)
    {
      guint ignored[BF_ADDR_N_REASONS];
      bf_media_transport_get_ignored_candidates (st->transport, ignored);
      for (guint r = 0; r < BF_ADDR_N_REASONS; r++)
        st->session->w.ignored[r] += ignored[r];
      bf_media_transport_close (st->transport);
      bf_media_transport_free (st->transport);
      st->transport = NULL;
    }
  g_clear_pointer (&st->local_candidates, g_ptr_array_unref);
}

/* A transport no content uses any more (BUNDLE'd away, removed). */
static void
worker_drop (gpointer data)
{
  WorkerJob *job = data;
  BfSessionTransport *st = job_transport (job);
  if (st)
    {
      close_transport (st);
      maybe_media_ready (job->session);   /* the one it waited for may be gone */
    }
}

static void
worker_route (gpointer data)
{
  WorkerJob *job = data;
  BfSession *s = job->session;
  if (s->w.torn_down)
    return;
  /* What was learnt from packets stays; what the descriptions say wins. */
  memcpy (s->w.route.pt, job->route->pt, sizeof s->w.route.pt);
  for (guint i = 0; i < job->route->n_ssrcs; i++)
    bf_packet_route_set_ssrc (&s->w.route, job->route->ssrcs[i].ssrc,
                              job->route->ssrcs[i].transport);
}

static void
worker_packet_contents (gpointer data)
{
  WorkerJob *job = data;
  BfSession *s = job->session;
  /* Swapped, not copied: the old names go with the job. */
  BfPacketContents old = s->w.contents;
  s->w.contents = *job->contents;
  *job->contents = old;
}

/* --- posting (main thread) --- */

/* The peer's credentials and fingerprint go in @job, and are now @st's
 * current ones. */
static void
job_set_remote (WorkerJob *job, BfSessionTransport *st, const BfJingleIceTransport *ice,
                const BfJingleFingerprint *fp)
{
  job->set_remote = TRUE;
  job->ufrag = g_strdup (ice->ufrag);
  job->pwd = g_strdup (ice->pwd);
  job->fp_hash = g_strdup (fp->hash);
  job->fp_value = g_strdup (fp->value);
  g_free (st->remote_ufrag);
  st->remote_ufrag = g_strdup (ice->ufrag);
  g_free (st->remote_pwd);
  st->remote_pwd = g_strdup (ice->pwd);
  st->remote_set = TRUE;
}

/* @remote: a session-initiate or -accept with @st's credentials and
 * fingerprint, or NULL (we offer first). */
void
bf_session_post_setup (BfSessionTransport *st, const BfJingle *remote)
{
  WorkerJob *job = job_new (st);
  job->local_ufrag = g_strdup (st->preset_ufrag);
  job->local_pwd = g_strdup (st->preset_pwd);
  if (remote)
    {
      const BfJingleIceTransport *ice = bf_session_transport_remote_ice (st, remote);
      const BfJingleFingerprint *fp = bf_session_transport_remote_fingerprint (st, remote);
      if (ice && fp)
        job_set_remote (job, st, ice, fp);
      job_take_candidates (job, st, remote);
    }
  BF_SETUP_TRACE ("%s", st->session->sid, "setup-post");
  post (st->session, worker_setup, job);
}

/* The peer's answer (session-accept, content-accept) for @st. */
void
bf_session_post_remote (BfSessionTransport *st, const BfJingle *remote)
{
  const BfJingleIceTransport *ice = bf_session_transport_remote_ice (st, remote);
  const BfJingleFingerprint *fp = bf_session_transport_remote_fingerprint (st, remote);
  if (ice == NULL || fp == NULL || st->remote_set)
    return;
  WorkerJob *job = job_new (st);
  job_set_remote (job, st, ice, fp);
  job_take_candidates (job, st, remote);
  BF_SETUP_TRACE ("%s", st->session->sid, "remote-post");
  post (st->session, worker_remote, job);
}

/* An ICE restart of @st (XEP-0176 §5.9): the peer's new credentials and
 * whatever candidates came with them in @j. */
void
bf_session_post_restart (BfSessionTransport *st, const char *ufrag, const char *pwd, const BfJingle *j)
{
  WorkerJob *job = job_new (st);
  job->set_remote = TRUE;
  job->restart = TRUE;
  job->ufrag = g_strdup (ufrag);
  job->pwd = g_strdup (pwd);
  /* Late candidates under the old ufrag are not a restart (bounded by
   * MAX_ICE_RESTARTS). */
  if (st->past_ufrags == NULL)
    st->past_ufrags = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (st->past_ufrags, g_steal_pointer (&st->remote_ufrag));
  st->remote_ufrag = g_strdup (ufrag);
  g_free (st->remote_pwd);
  st->remote_pwd = g_strdup (pwd);
  st->restarts++;
  job_take_candidates (job, st, j);
  post (st->session, worker_remote, job);
}

/* Candidates in @j (transport-info, content-add/-accept) for @st. */
void
bf_session_post_candidates (BfSessionTransport *st, const BfJingle *j)
{
  WorkerJob *job = job_new (st);
  job_take_candidates (job, st, j);
  if (job->candidates->len == 0)
    {
      job_free (job);
      return;
    }
  post (st->session, worker_candidates, job);
}

void
bf_session_post_drop (BfSessionTransport *st)
{
  post (st->session, worker_drop, job_new (st));
}

static void
worker_keyframe_methods (gpointer data)
{
  WorkerJob *job = data;
  if (!job->session->w.torn_down)
    bf_video_sources_set_methods (&job->session->w.video, job->keyframe_methods);
}

void
bf_session_post_keyframe_methods (BfSession *s, const guint8 method[128])
{
  WorkerJob *job = job_new (s->transports[0]);
  job->keyframe_methods = g_memdup2 (method, 128);
  post (s, worker_keyframe_methods, job);
}

void
bf_session_post_route (BfSession *s, const BfPacketRoute *route)
{
  WorkerJob *job = job_new (s->transports[0]);
  job->route = g_memdup2 (route, sizeof *route);
  post (s, worker_route, job);
}

void
bf_session_post_packet_contents (BfSession *s, BfPacketContents *contents)
{
  WorkerJob *job = job_new (s->transports[0]);
  job->contents = g_memdup2 (contents, sizeof *contents);
  post (s, worker_packet_contents, job);
}

static gboolean main_worker_released (gpointer data);

/* Once per session, when it ends: how many remote candidates the policy
 * refused and why (never the addresses: the peer's network is its own). */
static void
log_ignored_candidates (BfSession *s)
{
  guint total = 0;
  g_autoptr (GString) why = g_string_new (NULL);
  for (guint r = 0; r < BF_ADDR_N_REASONS; r++)
    if (s->w.ignored[r])
      {
        total += s->w.ignored[r];
        g_string_append_printf (why, "%s%s %u", why->len ? ", " : "", bf_addr_reason_name (r),
                                s->w.ignored[r]);
      }
  if (total)
    g_info ("session %s: ignored %u remote candidates by the candidate policy (%s)", s->sid,
            total, why->str);
}

void
bf_session_worker_teardown (gpointer data)
{
  BfSession *s = data;
  s->w.torn_down = TRUE;
  for (guint i = 0; i < s->w.n_transports; i++)
    close_transport (s->transports[i]);
  log_ignored_candidates (s);
  /* No media() of ours runs after this: the linked session may go. */
  bf_session_forward_teardown (s);
  bf_media_worker_release (s->worker);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, main_worker_released, bf_session_ref (s),
                              (GDestroyNotify) bf_session_unref);
}

/* --- the main side --- */

static gboolean
main_worker_released (gpointer data)
{
  BfSession *s = data;
  if (s->mgr)
    {
      s->mgr->live_on_workers--;
      for (guint r = 0; r < BF_ADDR_N_REASONS; r++)
        s->mgr->stats.candidates_ignored += s->w.ignored[r];
    }
  return G_SOURCE_REMOVE;
}
