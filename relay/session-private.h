/* belfry — the session manager's own parts, shared by its files:
 *
 *   sessions.c          the manager, session lifetime, incoming sessions,
 *                       the stanza dispatch, the module calls on sessions
 *   session-worker.c    the media worker side: transport, jobs, teardown
 *   session-outgoing.c  sessions we place (bf_session_place), JMI proposals
 *   session-content.c   contents added and removed while a session runs
 *
 * Everything here runs on the main thread unless its comment says worker.
 * Nothing here is module API: see include/belfry/session.h. */
#pragma once

#include <belfry/module.h>

#include "jingle.h"
#include "jmi.h"
#include "session.h"
#include "sessions.h"
#include "transport.h"

G_BEGIN_DECLS

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
  gboolean rang;                   /* outgoing: the peer's ringing was passed on (once) */
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
  GHashTable *proceeded;           /* "from\nid" -> media of a proposal we proceeded
                                    * (session-outgoing.c), until its session-initiate */
  guint64 jmi_ignored;             /* JMI answers from or to the wrong JID */
  guint live_on_workers;           /* sessions whose worker side is not torn down */
  BfSessionStats stats;
};

/* What a worker tells the main thread about a session's transport
 * (main_on_news). */
typedef struct {
  BfSession *session;
  BfMediaEventType type;
  BfMediaSrtpProfile profile;
  GError *error;
  char *ufrag, *pwd;
  GPtrArray *candidates;
} WorkerNews;

/* sessions.c: lifetime, signalling helpers, incoming sessions */
G_GNUC_INTERNAL BfSession *session_ref (BfSession *s);
G_GNUC_INTERNAL void session_unref (BfSession *s);
G_GNUC_INTERNAL void send_stanza (BfSessions *mgr, const BfStanza *stanza);
G_GNUC_INTERNAL void send_jingle (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL void send_jmi (BfSession *s, const BfJmi *jmi);
G_GNUC_INTERNAL void session_end (BfSession *s, BfJingleReasonCondition reason,
                                  const char *text, gboolean notify_peer);
G_GNUC_INTERNAL void add_ice (BfSession *s, BfJingleContent *c, BfJingleSetup setup);
G_GNUC_INTERNAL void copy_groups (BfJingle *to, const BfJingle *from);
G_GNUC_INTERNAL void set_rtp (BfJingleContent *c, BfJingleRtpDescription *rtp);
G_GNUC_INTERNAL void ack (BfSessions *mgr, const BfStanza *iq);
G_GNUC_INTERNAL BfSession *session_new (BfSessions *mgr, BfModule *module, const char *sid,
                                        const char *peer, const char *local);
G_GNUC_INTERNAL BfJingleReasonCondition check_description (const BfJingle *j, const char **why);
G_GNUC_INTERNAL void tell_info (BfSession *s, BfSessionInfo kind, const char *name);
G_GNUC_INTERNAL gboolean main_on_news (gpointer data);

/* session-worker.c: the media worker side */
G_GNUC_INTERNAL void post_job (BfSession *s, BfMediaWorkerFunc func, const BfJingle *remote,
                               gboolean candidates_only);
G_GNUC_INTERNAL void worker_setup (gpointer data);
G_GNUC_INTERNAL void worker_answered (gpointer data);
G_GNUC_INTERNAL void worker_transport_info (gpointer data);
G_GNUC_INTERNAL void worker_teardown (gpointer data);
G_GNUC_INTERNAL const BfJingleIceTransport *first_ice (const BfJingle *j);
G_GNUC_INTERNAL const BfJingleFingerprint *first_fingerprint (const BfJingle *j);

/* session-outgoing.c: sessions we place, XEP-0353 proposals both ways */
G_GNUC_INTERNAL void maybe_send_initiate (BfSession *s);
G_GNUC_INTERNAL void handle_accept (BfSession *s, BfJingle *j);
G_GNUC_INTERNAL void fall_back_to_proposal (BfSession *s);
G_GNUC_INTERNAL gboolean initiate_bounced (BfSession *s, const BfStanza *iq);
G_GNUC_INTERNAL void handle_jmi_answer (BfSessions *mgr, const BfStanza *message, BfJmi *jmi);
G_GNUC_INTERNAL void handle_jmi_receipt (BfSessions *mgr, const BfStanza *message);
G_GNUC_INTERNAL void handle_jmi_propose (BfSessions *mgr, const BfStanza *message, BfJmi *jmi);
G_GNUC_INTERNAL BfJingleReasonCondition check_proposed_media (BfSessions *mgr, const char *from,
                                                              const BfJingle *j, char **why);

/* session-content.c: contents added and removed */
G_GNUC_INTERNAL void handle_content_add (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL void handle_content_answer (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL void handle_content_remove (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL const BfJingleSessionContent *find_session_content (BfSession *s,
                                                                    const char *name);

G_END_DECLS
