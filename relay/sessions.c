#define G_LOG_DOMAIN "belfry-session"
/* The session manager (sessions.h).
 *
 * Lifetime: a BfSession is reference-counted because two threads hold it:
 * the main thread (signalling, in the manager's table until it ends) and
 * its media worker (the transport's callbacks).  The transport itself is
 * created, used and freed on the worker only; everything else of the
 * session is touched on the main thread only, except the SSRC table, which
 * is written before the worker ever sees the session. */
#include "build-config.h"

#include <string.h>
#include <belfry/module.h>

#include "jingle.h"
#include "jmi.h"
#include "session.h"
#include "sessions.h"
#include "transport.h"

#define MAX_SSRCS 32
#define LOCAL_CNAME "belfry"

struct _BfSession {
  gatomicrefcount ref;
  BfSessions *mgr;                 /* NULL once the manager let go */
  BfModule *module;
  char *key;                       /* peer "\n" sid */
  char *sid;
  char *peer;                      /* the caller's full JID */
  char *local;                     /* the module address that was called */
  BfJingleSession *js;
  BfJingle *offer;
  BfMediaDtlsSetup dtls_setup;
  guint32 remote_ssrcs[MAX_SSRCS];
  guint32 local_ssrcs[MAX_SSRCS];
  guint n_ssrcs;
  gboolean ended;
  gboolean accept_sent;
  guint iq_serial;
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
  bf_jingle_free (s->offer);
  if (s->local_candidates)
    g_ptr_array_unref (s->local_candidates);
  g_free (s);
}

/* --- the public session API --- */

const char *
bf_session_get_peer (BfSession *session)
{
  return session->peer;
}

const char *
bf_session_get_sid (BfSession *session)
{
  return session->sid;
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

static void session_end (BfSession *s, BfJingleReasonCondition reason, const char *text,
                         gboolean send_terminate);

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
      return;   /* sent together with the answer */
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

static void
add_candidates_from (BfSession *s, const BfJingle *j)
{
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice == NULL)
        continue;
      for (guint k = 0; c->ice->candidates && k < c->ice->candidates->len; k++)
        {
          BfMediaCandidate mc;
          g_autoptr (GError) error = NULL;
          if (to_media_candidate (g_ptr_array_index (c->ice->candidates, k), &mc)
              && !bf_media_transport_add_remote_candidate (s->transport, &mc, &error))
            g_debug ("session %s: candidate refused: %s", s->sid, error->message);
        }
    }
}

/* The first content's ICE transport: with BUNDLE, the one all share. */
static const BfJingleIceTransport *
first_ice (const BfJingle *j)
{
  for (guint i = 0; j->contents && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->ice && c->ice->ufrag)
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

typedef struct {
  BfSession *session;
  BfJingle *jingle;        /* transport-info to apply; NULL for setup */
  BfMediaConfig *media;
  BfMediaCert *cert;
} WorkerJob;

static void
job_free (WorkerJob *job)
{
  session_unref (job->session);
  bf_jingle_free (job->jingle);
  g_free (job);
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

static void
worker_setup (gpointer data)
{
  WorkerJob *job = data;
  BfSession *s = job->session;
  if (s->torn_down)
    return;
  GError *error = NULL;
  const BfJingleIceTransport *ice = first_ice (s->offer);
  const BfJingleFingerprint *fp = first_fingerprint (s->offer);
  s->local_candidates = g_ptr_array_new_with_free_func (g_free);
  s->transport = bf_media_transport_new (s->worker, job->media, job->cert, FALSE,
                                         on_transport_event, on_transport_rtp, s, &error);
  if (s->transport == NULL
      || !bf_media_transport_set_remote_credentials (s->transport, ice->ufrag, ice->pwd, &error)
      || !bf_media_transport_set_dtls (s->transport, s->dtls_setup, fp->hash, fp->value, &error))
    {
      worker_fail (s, error);
      return;
    }
  add_candidates_from (s, s->offer);
  if (!bf_media_transport_gather (s->transport, &error))
    worker_fail (s, error);
}

static void
worker_transport_info (gpointer data)
{
  WorkerJob *job = data;
  if (job->session->transport && !job->session->torn_down)
    add_candidates_from (job->session, job->jingle);
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

static BfJingleRtpDescription *
answer_description (BfSession *s, const BfJingleRtpDescription *offer, const char *content_name)
{
  BfJingleRtpDescription *rtp = bf_jingle_rtp_description_new (offer->media);
  /* Pass-through: the caller gets back what it can receive, its own
   * payload types, feedback and header extensions. */
  for (guint i = 0; i < offer->payload_types->len; i++)
    {
      const BfJinglePayloadType *o = g_ptr_array_index (offer->payload_types, i);
      BfJinglePayloadType *pt = bf_jingle_rtp_add_payload_type (rtp, o->id, o->name, o->clockrate,
                                                                o->channels);
      pt->ptime = o->ptime;
      pt->maxptime = o->maxptime;
      for (guint k = 0; k < o->parameters->len; k++)
        {
          const BfJingleParameter *p = g_ptr_array_index (o->parameters, k);
          bf_jingle_parameters_add (pt->parameters, p->name, p->value);
        }
      for (guint k = 0; k < o->rtcp_fb->len; k++)
        {
          const BfJingleRtcpFb *f = g_ptr_array_index (o->rtcp_fb, k);
          bf_jingle_rtcp_fb_add (pt->rtcp_fb, f->type, f->subtype);
        }
    }
  for (guint k = 0; k < offer->rtcp_fb->len; k++)
    {
      const BfJingleRtcpFb *f = g_ptr_array_index (offer->rtcp_fb, k);
      bf_jingle_rtcp_fb_add (rtp->rtcp_fb, f->type, f->subtype);
    }
  for (guint k = 0; k < offer->hdrexts->len; k++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (offer->hdrexts, k);
      bf_jingle_rtp_add_hdrext (rtp, h->id, h->uri, h->senders);
    }
  rtp->extmap_allow_mixed = offer->extmap_allow_mixed;
  rtp->rtcp_mux = TRUE;
  rtp->rtcp_reduced_size = offer->rtcp_reduced_size;
  /* Our sources: one per remote source, same groups (XEP-0339). */
  g_autofree char *msid = g_strdup_printf ("belfry-%s belfry-%s-%s", s->sid, s->sid, content_name);
  for (guint k = 0; k < offer->sources->len; k++)
    {
      const BfJingleSource *src = g_ptr_array_index (offer->sources, k);
      for (guint m = 0; m < s->n_ssrcs; m++)
        if (s->remote_ssrcs[m] == src->ssrc)
          {
            BfJingleSource *mine = bf_jingle_rtp_add_source (rtp, s->local_ssrcs[m]);
            bf_jingle_parameters_add (mine->parameters, "cname", LOCAL_CNAME);
            bf_jingle_parameters_add (mine->parameters, "msid", msid);
          }
    }
  for (guint k = 0; k < offer->ssrc_groups->len; k++)
    {
      const BfJingleSsrcGroup *g = g_ptr_array_index (offer->ssrc_groups, k);
      g_autoptr (GArray) mine = g_array_new (FALSE, FALSE, sizeof (guint32));
      for (guint q = 0; q < g->ssrcs->len; q++)
        for (guint m = 0; m < s->n_ssrcs; m++)
          if (s->remote_ssrcs[m] == g_array_index (g->ssrcs, guint32, q))
            g_array_append_val (mine, s->local_ssrcs[m]);
      if (mine->len == g->ssrcs->len && mine->len > 0)
        bf_jingle_rtp_add_ssrc_group (rtp, g->semantics, (const guint32 *) mine->data, mine->len);
    }
  return rtp;
}

static void
send_accept (BfSession *s, const char *ufrag, const char *pwd, GPtrArray *candidates)
{
  BfSessions *mgr = s->mgr;
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, s->sid);
  j->initiator = g_strdup (s->offer->initiator ? s->offer->initiator : s->peer);
  j->responder = g_strdup (s->local);
  for (guint i = 0; i < s->offer->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (s->offer->contents, i);
      BfJingleContent *c = bf_jingle_add_content (j, oc->creator, oc->name);
      c->senders = oc->senders;
      BfJingleRtpDescription *rtp = answer_description (s, oc->rtp, oc->name);
      bf_jingle_content_set_rtp (c, oc->rtp->media);
      bf_jingle_rtp_description_free (c->rtp);
      c->rtp = rtp;
      BfJingleIceTransport *ice = bf_jingle_content_set_ice (c, ufrag, pwd);
      bf_jingle_ice_set_fingerprint (ice, bf_media_cert_get_fingerprint_hash (mgr->cert),
                                     s->dtls_setup == BF_MEDIA_DTLS_SETUP_ACTIVE
                                       ? BF_JINGLE_SETUP_ACTIVE : BF_JINGLE_SETUP_PASSIVE,
                                     bf_media_cert_get_fingerprint (mgr->cert));
      for (guint k = 0; candidates && k < candidates->len; k++)
        {
          const BfMediaCandidate *mc = g_ptr_array_index (candidates, k);
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
  for (guint i = 0; i < s->offer->groups->len; i++)
    {
      const BfJingleGroup *og = g_ptr_array_index (s->offer->groups, i);
      BfJingleGroup *g = bf_jingle_add_group (j, og->semantics);
      for (guint k = 0; k < og->contents->len; k++)
        g_ptr_array_add (g->contents, g_strdup (g_ptr_array_index (og->contents, k)));
    }
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
             s->offer->contents->len, candidates ? candidates->len : 0);
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
      send_accept (s, n->ufrag, n->pwd, n->candidates);
      break;
    case BF_MEDIA_EVENT_DTLS_CONNECTED:
      g_message ("session %s: media secured (%s)", s->sid,
                 bf_media_srtp_profile_name (n->profile));
      break;
    case BF_MEDIA_EVENT_ICE_FAILED:
    case BF_MEDIA_EVENT_DTLS_FAILED:
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

/* Ends a session on the main thread: optional session-terminate, the
 * module's ended(), the worker teardown.  Idempotent. */
static void
session_end (BfSession *s, BfJingleReasonCondition reason, const char *text, gboolean send_terminate)
{
  if (s->ended)
    return;
  s->ended = TRUE;
  BfSessions *mgr = s->mgr;
  if (send_terminate)
    {
      g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_TERMINATE, s->sid);
      bf_jingle_set_reason (j, reason, text);
      send_jingle (s, j);
    }
  g_message ("session %s with %s ended: %s", s->sid, s->peer, bf_jingle_reason_to_string (reason));
  mgr->stats.ended++;
  const BfModuleInfo *info = bf_module_get_info_struct (s->module);
  if (info->sessions->ended)
    info->sessions->ended (s->module, s, bf_jingle_reason_to_string (reason));
  if (s->worker)
    bf_media_worker_invoke (s->worker, worker_teardown, session_ref (s),
                            (GDestroyNotify) session_unref);
  else
    mgr->live_on_workers--;
  /* Last: the table holds a reference. */
  g_hash_table_remove (mgr->table, s->key);
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

/* Why an offer cannot be taken, as a reason; SUCCESS when it can. */
static BfJingleReasonCondition
check_offer (const BfJingle *j, const char **why)
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

static void
handle_initiate (BfSessions *mgr, BfModule *module, const BfStanza *iq, BfJingle *j)
{
  const char *from = bf_stanza_get_attr (iq, "from");
  const char *to = bf_stanza_get_attr (iq, "to");
  BfSession *s = g_new0 (BfSession, 1);
  g_atomic_ref_count_init (&s->ref);
  s->mgr = mgr;
  s->module = module;
  s->sid = g_strdup (j->sid);
  s->peer = g_strdup (from);
  s->local = g_strdup (to);
  s->key = g_strconcat (from, "\n", j->sid, NULL);
  s->offer = j;
  s->js = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, j->sid, to, from);
  g_hash_table_insert (mgr->table, s->key, s);
  mgr->live_on_workers++;
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
  BfJingleReasonCondition bad = check_offer (j, &why);
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
  /* No 'setup' (XEP-0320 requires one; some clients omit it): treat the
   * offer as actpass, the offerer's usual role. */
  s->dtls_setup = bf_media_dtls_setup_for_answer (fp->setup == BF_JINGLE_SETUP_UNSET
                                                  ? "actpass"
                                                  : bf_jingle_setup_to_string (fp->setup));

  const BfModuleInfo *info = bf_module_get_info_struct (module);
  if (info->sessions->offer && !info->sessions->offer (module, s))
    {
      mgr->stats.declined++;
      session_end (s, BF_JINGLE_REASON_DECLINE, NULL, TRUE);
      return;
    }
  g_message ("session %s from %s to %s: %u contents, %u SSRCs", s->sid, from, to,
             j->contents->len, s->n_ssrcs);
  s->worker = bf_media_pool_acquire (mgr->pool);
  WorkerJob *job = g_new0 (WorkerJob, 1);
  job->session = session_ref (s);
  job->media = &mgr->media;
  job->cert = mgr->cert;
  bf_media_worker_invoke (s->worker, worker_setup, job, (GDestroyNotify) job_free);
}

static gboolean
handle_jingle_iq (BfSessions *mgr, BfModule *module, const BfStanza *iq)
{
  const char *type = bf_stanza_get_attr (iq, "type");
  if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
    {
      /* Answers to our own session-accept/terminate: an error ends it. */
      const char *id = bf_stanza_get_attr (iq, "id");
      if (g_strcmp0 (type, "error") == 0 && id && g_str_has_prefix (id, "bf-j"))
        {
          const char *sid = strchr (id + 4, '-');
          g_autofree char *key = sid ? g_strconcat (bf_stanza_get_attr (iq, "from"), "\n", sid + 1, NULL)
                                     : NULL;
          BfSession *s = key ? g_hash_table_lookup (mgr->table, key) : NULL;
          if (s)
            session_end (s, BF_JINGLE_REASON_GENERAL_ERROR, "the peer refused our request", FALSE);
        }
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
  if (s == NULL)
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error_code (iq, BF_JINGLE_ERROR_UNKNOWN_SESSION,
                                                               NULL);
      send_stanza (mgr, reply);
      return TRUE;
    }
  if (!bf_jingle_session_apply (s->js, j, BF_JINGLE_INCOMING, &error))
    {
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      send_stanza (mgr, reply);
      return TRUE;
    }
  switch (j->action)
    {
    case BF_JINGLE_ACTION_TRANSPORT_INFO:
      ack (mgr, iq);
      if (s->worker)
        {
          WorkerJob *job = g_new0 (WorkerJob, 1);
          job->session = session_ref (s);
          job->jingle = g_steal_pointer (&owned);
          bf_media_worker_invoke (s->worker, worker_transport_info, job, (GDestroyNotify) job_free);
        }
      break;
    case BF_JINGLE_ACTION_SESSION_TERMINATE:
      ack (mgr, iq);
      session_end (s, j->reason ? j->reason->condition : BF_JINGLE_REASON_SUCCESS, NULL, FALSE);
      break;
    case BF_JINGLE_ACTION_SESSION_INFO:
      ack (mgr, iq);   /* ringing, hold, mute...: nothing to do for a terminating endpoint */
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
  return TRUE;
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
    return TRUE;   /* retract, finish...: nothing is pending on our side */
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
  if (strcmp (kind, "message") == 0 && g_strcmp0 (bf_stanza_get_attr (stanza, "type"), "error") != 0)
    {
      BfStanzaIter it;
      BfStanza *child;
      bf_stanza_iter_init (&it, stanza);
      while (bf_stanza_iter_next (&it, &child))
        if (g_strcmp0 (bf_stanza_get_ns (child), BF_NS_JINGLE_MESSAGE) == 0)
          return handle_jmi (mgr, stanza);
    }
  return FALSE;
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
  GList *all = g_hash_table_get_values (mgr->table);
  for (GList *l = all; l; l = l->next)
    session_end (l->data, BF_JINGLE_REASON_GONE, "the relay is stopping", TRUE);
  g_list_free (all);
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
  bf_media_config_clear (&mgr->media);
  g_free (mgr->domain);
  g_free (mgr);
}
