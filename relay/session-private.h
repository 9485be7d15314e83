/* belfry — the session manager's own parts, shared by its files:
 *
 *   sessions.c          the manager, session lifetime, incoming sessions,
 *                       the stanza dispatch, the module calls on sessions
 *   session-worker.c    the media worker side: transport, jobs, teardown
 *   session-outgoing.c  sessions we place (bf_session_place), JMI proposals
 *   session-content.c   contents added and removed while a session runs
 *   session-forward.c   the link between two sessions, forwarding over it
 *   session-transports.c which contents share which ICE-UDP transport
 *                       (BUNDLE or one per content), ICE restarts
 *
 * Everything here runs on the main thread unless its comment says worker.
 * Nothing here is module API: see include/belfry/session.h. */
#pragma once

#include <belfry/module.h>

#include "core-metrics.h"
#include "iq-tracker.h"
#include "jingle.h"
#include "jmi.h"
#include "packet-contents.h"
#include "packet-route.h"
#include "jingle-session.h"
#include "session-forward.h"
#include "session-phase.h"
#include "sessions.h"
#include "transport.h"
#include "video-sources.h"

G_BEGIN_DECLS

#define MAX_TRANSPORTS 8          /* ICE-UDP transports of one session */
G_STATIC_ASSERT (MAX_TRANSPORTS <= BF_PACKET_CONTENTS_MAX_TRANSPORTS);
/* Our Jingle requests awaiting an answer (iq-tracker.h): room for this many
 * per session of max-sessions (a call's candidates trickle one iq each),
 * each waited for this long, far beyond a server's answer time and
 * [component] hold-while-detached. */
#define IQ_PENDING_PER_SESSION 64
#define IQ_TIMEOUT_MS (5 * 60 * 1000)
#define MAX_ICE_RESTARTS 32       /* per transport: a peer cannot churn agents forever */

/* One ICE-UDP transport of a session (session-transports.c): a BUNDLE
 * group's (XEP-0338), or one content's when the peer does not BUNDLE
 * (Dino).  Made on the main thread; its BfMediaTransport lives on the
 * worker.  Freed with the session. */
typedef struct {
  BfSession *session;              /* not a reference: the session owns this */
  guint index;
  /* main thread */
  gboolean in_use;                 /* FALSE: dropped (BUNDLE answer, content removed) */
  gboolean started;                /* its setup job is posted */
  gboolean gathered;
  gboolean remote_set;             /* the peer's credentials went to the worker */
  char *ufrag, *pwd;               /* ours, once gathered (new after an ICE restart) */
  char *preset_ufrag, *preset_pwd; /* ours, chosen before gathering (a BUNDLE offer) */
  GPtrArray *candidates;           /* ours: BfJingleCandidate* */
  char *remote_ufrag, *remote_pwd; /* the peer's current ones */
  guint restarts;
  gboolean replacing;              /* the restart came as transport-replace */
  GPtrArray *past_ufrags;          /* the peer's earlier ones: late, never a restart */
  GPtrArray *held;                 /* BfJingle*: actions waiting for our candidates */
  /* worker */
  BfMediaTransport *transport;
  GPtrArray *local_candidates;     /* BfJingleCandidate*, until gathering is done */
  gboolean w_heard;                /* a packet from the peer came through SRTP: the
                                    * peer has the keys, what we send reaches it */
} BfSessionTransport;

/* A session's state that only its media worker reads and writes (the
 * main thread changes it by posting a job there, never by writing it):
 * what the core keeps per session to carry its packets. */
typedef struct {
  /* First, beside the session's worker pointer: what every packet a
   * module sends reads (bf_session_send_rtp; a conference's worker sends
   * for thousands of sessions in turn, each line of one a cache miss). */
  guint n_transports;              /* transports the worker has been told of */
  gboolean torn_down;              /* the worker let go of the media
                                    * (bf_session_worker_teardown); not a phase: the
                                    * phase is the main thread's */
  BfPacketRoute route;             /* which transport a packet to send goes on */
  BfPacketContents contents;       /* BfPacket.content of what arrives */
  BfVideoSources video;            /* the peer's video streams: keyframe requests */
  SessionForward forward;          /* the link and its maps (session-forward.h) */
  gboolean ready_told;             /* media_ready() ran for the transports there are */
  guint ignored[BF_ADDR_N_REASONS]; /* remote candidates refused by the candidate
                                    * policy, by reason; read by the main side once
                                    * the worker let go (main_worker_released) */
} BfSessionWorkerSide;

struct _BfSession {
  gatomicrefcount ref;
  BfSessions *mgr;                 /* NULL once the manager let go */
  BfModule *module;
  char *key;                       /* peer "\n" sid */
  char *sid;
  char *peer;                      /* the peer's full JID (bare while proposing) */
  char *local;                     /* our JID: the address called, or the placer's */
  char *cname;                     /* ours toward this peer for relayed sources (random) */
  gboolean outgoing;
  BfJingleSession *js;             /* outgoing: NULL until the peer's resource is known */
  BfJingle *theirs;                /* their session-initiate (incoming) or -accept (outgoing) */
  BfJingle *ours;                  /* the descriptions we offer (outgoing) or answer with
                                    * (incoming, once accepted) */
  BfMediaDtlsSetup dtls_setup;
  guint content_changes;           /* content-add/-remove seen, bounded */
  guint hangup_grace;              /* source: the peer closed DTLS, its terminate is due */
  BfSessionPhase phase;            /* changed only by bf_session_set_phase */
  /* Facts beside the phase, not phases: they hold across several phases
   * and are cleared by events of their own. */
  gboolean may_propose;            /* outgoing to a full JID: a bounce falls back to
                                    * JMI (once: cleared by the fallback) */
  gboolean rang;                   /* outgoing: the peer's ringing was passed on (once) */
  char *propose_msg_id;            /* outgoing: our propose's message id (random) */
  /* ICE-UDP transports (main thread creates them; see BfSessionTransport) */
  BfSessionTransport *transports[MAX_TRANSPORTS];
  guint n_transports;
  GHashTable *content_transport;   /* content name -> transport index + 1 */
  gboolean bundled;                /* the contents share transports by a BUNDLE group */
  /* the session linked to this one (session-forward.h): main thread, not a
   * reference; cleared for both when either ends */
  BfSession *linked;
  /* the worker it runs on: set on the main thread before any media job is
   * posted, then only read */
  BfMediaWorker *worker;
  BfSessionWorkerSide w;           /* the worker's own: see above */
  /* metrics (core-metrics.h): the belfry_sessions series counting it, and
   * when its setup clock started (monotonic us) */
  BfMetric *metric_state;
  gint64 setup_start;
  gint64 started;                  /* g_get_real_time () at creation (admin list) */
  /* module data */
  gpointer data;
  GDestroyNotify data_destroy;
};

struct _BfSessions {
  char *domain;
  char *node_domain;           /* [component] node-jid; NULL: none */
  char *rooms_domain;          /* [component] rooms-jid; NULL: none */
  BfSendFunc send;
  gpointer send_data;
  BfMediaPool *pool;
  BfMediaCert *cert;
  BfMediaConfig media;
  guint max_sessions;
  guint max_per_jid;               /* 0: none */
  GHashTable *table;               /* key -> BfSession* (a reference) */
  GHashTable *proposals;           /* sid -> BfSession* (weak: in table while there) */
  GHashTable *propose_msgs;        /* message id of our propose -> BfSession* (weak,
                                    * the same lifetime): what a bounce or a XEP-0184
                                    * receipt of it names */
  BfIqTracker *iqs;                /* our Jingle requests awaiting their answer */
  GHashTable *proceeded;           /* "from\nid" -> media of a proposal we proceeded
                                    * (session-outgoing.c), until its session-initiate */
  guint64 jmi_ignored;             /* JMI answers from or to the wrong JID */
  guint live_on_workers;           /* sessions whose worker side is not torn down */
  BfSessionStats stats;
  /* operator control (session-admin.c) */
  gboolean draining;               /* new sessions and proposals get <busy/> */
  gboolean stopping;               /* in bf_sessions_free: nothing new is placed */
  GSourceFunc empty_func;          /* idle, once the table empties */
  gpointer empty_data;
};

/* What a worker tells the main thread about a session's transport
 * (bf_session_on_worker_news). */
typedef struct {
  BfSession *session;
  guint transport;                 /* its index */
  gboolean restarted;              /* an ICE restart: new credentials below */
  BfMediaEventType type;
  BfMediaSrtpProfile profile;
  GError *error;
  char *ufrag, *pwd;
  GPtrArray *candidates;
} BfSessionWorkerNews;

/* sessions.c: lifetime, signalling helpers, incoming sessions */
G_GNUC_INTERNAL BfSession *bf_session_ref (BfSession *s);
G_GNUC_INTERNAL void bf_session_unref (BfSession *s);
/* Moves @s to @phase if session-phase.c allows it from the current one;
 * a transition it does not allow is a bug: g_critical, and ignored. */
G_GNUC_INTERNAL void bf_session_set_phase (BfSession *s, BfSessionPhase phase);
G_GNUC_INTERNAL void bf_sessions_send_stanza (BfSessions *mgr, const BfStanza *stanza);
/* A Jingle request to the peer; its answer comes back through the
 * manager's iq tracker (an error ends the session). */
G_GNUC_INTERNAL void bf_session_send_jingle (BfSession *s, BfJingle *j);
/* The same for our session-initiate: an error saying the peer's resource
 * is not there falls back to a proposal (bf_session_fall_back_to_proposal). */
G_GNUC_INTERNAL void bf_session_send_initiate (BfSession *s, BfJingle *j);
G_GNUC_INTERNAL void bf_session_send_jmi (BfSession *s, const BfJmi *jmi);
G_GNUC_INTERNAL void bf_session_end (BfSession *s, BfJingleReasonCondition reason,
                                     const char *text, gboolean notify_peer);
G_GNUC_INTERNAL void bf_session_add_ice (BfSession *s, BfJingleContent *c, BfJingleSetup setup);
G_GNUC_INTERNAL void bf_sessions_ack (BfSessions *mgr, const BfStanza *iq);
G_GNUC_INTERNAL guint bf_sessions_opened_by (BfSessions *mgr, const char *jid);
G_GNUC_INTERNAL gboolean bf_sessions_over_jid_limit (BfSessions *mgr, const char *jid, guint held);
G_GNUC_INTERNAL BfSession *bf_session_new (BfSessions *mgr, BfModule *module, const char *sid,
                                           const char *peer, const char *local);
G_GNUC_INTERNAL void bf_session_tell_info (BfSession *s, BfSessionInfo kind, const char *name);
/* Whether @worker is one of @mgr's pool (a BfWorker a module hands back). */
G_GNUC_INTERNAL gboolean bf_sessions_has_worker (BfSessions *mgr, BfMediaWorker *worker);
G_GNUC_INTERNAL gboolean bf_session_on_worker_news (gpointer data);

/* session-worker.c: the media worker side; post_* on the main thread */
G_GNUC_INTERNAL void bf_session_post_setup (BfSessionTransport *st, const BfJingle *remote);
G_GNUC_INTERNAL void bf_session_post_remote (BfSessionTransport *st, const BfJingle *remote);
G_GNUC_INTERNAL void bf_session_post_restart (BfSessionTransport *st, const char *ufrag, const char *pwd,
                                              const BfJingle *j);
G_GNUC_INTERNAL void bf_session_post_candidates (BfSessionTransport *st, const BfJingle *j);
G_GNUC_INTERNAL void bf_session_post_drop (BfSessionTransport *st);
G_GNUC_INTERNAL void bf_session_post_route (BfSession *s, const BfPacketRoute *route);
/* Takes @contents (its names). */
G_GNUC_INTERNAL void bf_session_post_packet_contents (BfSession *s, BfPacketContents *contents);
G_GNUC_INTERNAL void bf_session_post_keyframe_methods (BfSession *s, const guint8 method[128]);
G_GNUC_INTERNAL void bf_session_worker_teardown (gpointer data);
G_GNUC_INTERNAL BfMediaTransport *bf_session_worker_transport_for (BfSession *s, gboolean is_rtcp,
                                                                   const guint8 *data, gsize len);

/* session-transports.c: which contents share which transport (main thread) */
G_GNUC_INTERNAL BfSessionTransport *bf_session_transport_of (BfSession *s, const char *content);
G_GNUC_INTERNAL const BfJingleIceTransport *
bf_session_transport_remote_ice (BfSessionTransport *st, const BfJingle *j);
G_GNUC_INTERNAL const BfJingleFingerprint *
bf_session_transport_remote_fingerprint (BfSessionTransport *st, const BfJingle *j);
G_GNUC_INTERNAL void bf_session_transports_free (BfSession *s);
G_GNUC_INTERNAL void bf_session_transports_assign_offer (BfSession *s, const BfJingle *offer);
G_GNUC_INTERNAL void bf_session_transports_assign_own (BfSession *s, const BfJingle *ours);
G_GNUC_INTERNAL void bf_session_transports_apply_answer (BfSession *s, const BfJingle *answer);
G_GNUC_INTERNAL BfSessionTransport *bf_session_transport_for_new_content (BfSession *s,
                                                                          const BfJingleContent *c);
G_GNUC_INTERNAL gboolean bf_session_transport_for_our_content (BfSession *s, const char *name);
G_GNUC_INTERNAL gboolean bf_session_transports_rebundle (BfSession *s, const BfJingleContent *c);
G_GNUC_INTERNAL void bf_session_transports_drop_content (BfSession *s, const char *name);
G_GNUC_INTERNAL BfJingleSetup bf_session_established_setup (BfSession *s);
G_GNUC_INTERNAL gboolean bf_session_transports_check (BfSession *s, const BfJingle *j,
                                                     const char **why);
G_GNUC_INTERNAL void bf_session_transports_start (BfSession *s, const BfJingle *remote);
G_GNUC_INTERNAL gboolean bf_session_transports_gathered (BfSession *s);
G_GNUC_INTERNAL void bf_session_transports_update_route (BfSession *s);
G_GNUC_INTERNAL void bf_session_transports_on_gathered (BfSession *s, BfSessionWorkerNews *n);
G_GNUC_INTERNAL void bf_session_transports_send_or_hold (BfSession *s, BfJingle *j);
G_GNUC_INTERNAL void bf_session_handle_transport_info (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL void bf_session_handle_transport_replace (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL void bf_session_reject_transport_replace (BfSession *s, const BfJingle *j);

/* session-outgoing.c: sessions we place, XEP-0353 proposals both ways */
G_GNUC_INTERNAL void bf_session_maybe_send_initiate (BfSession *s);
G_GNUC_INTERNAL void bf_session_handle_accept (BfSession *s, BfJingle *j);
G_GNUC_INTERNAL void bf_session_fall_back_to_proposal (BfSession *s);
G_GNUC_INTERNAL gboolean bf_sessions_initiate_bounced (const BfStanza *iq);
G_GNUC_INTERNAL void bf_sessions_handle_jmi_answer (BfSessions *mgr, const BfStanza *message,
                                                   BfJmi *jmi);
G_GNUC_INTERNAL void bf_sessions_handle_jmi_receipt (BfSessions *mgr, const BfStanza *message);
G_GNUC_INTERNAL void bf_sessions_handle_jmi_propose (BfSessions *mgr, const BfStanza *message,
                                                    BfJmi *jmi);
G_GNUC_INTERNAL BfJingleReasonCondition
bf_sessions_check_proposed_media (BfSessions *mgr, const char *from, const BfJingle *j, char **why);

/* session-admin.c: operator control */
G_GNUC_INTERNAL void bf_sessions_admin_on_session_gone (BfSessions *mgr);

/* session-content.c: contents added and removed */
G_GNUC_INTERNAL void bf_session_handle_content_add (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL void bf_session_handle_content_answer (BfSession *s, const BfJingle *j);
G_GNUC_INTERNAL void bf_session_handle_content_remove (BfSession *s, const BfJingle *j);

G_END_DECLS
