/* The session manager: Jingle RTP sessions for modules that take calls
 * (include/belfry/session.h).  Main thread: signalling, the XEP-0166 state
 * machine, JMI; media workers: one BfMediaTransport per session. */
#pragma once

#include "modules.h"
#include "dtls-cert.h"
#include "media-config.h"
#include "worker.h"

G_BEGIN_DECLS

typedef struct _BfSessions BfSessions;

typedef struct {
  guint64 initiated, placed, accepted, declined, busy, failed, ended;
  guint64 candidates_ignored;      /* remote candidates refused by the candidate
                                    * policy (media/addr-policy.h), ended sessions */
  guint64 busy_per_jid;            /* refused: over [limits] max-sessions-per-jid */
} BfSessionStats;

/* @media is copied; @pool and @cert must outlive the manager.  Stanzas go
 * out through @send (send.h). */
BfSessions *bf_sessions_new (const char *domain, BfSendFunc send,
                             gpointer send_data, BfMediaPool *pool, BfMediaCert *cert,
                             const BfMediaConfig *media, guint max_sessions);
/* The process's own sub-domain ([component] node-jid): sessions may be
 * placed from it as from the domain. */
void bf_sessions_set_node_domain (BfSessions *mgr, const char *node_domain);
/* The rooms' domain ([component] rooms-jid): sessions may be placed from
 * it (a room's SFU sessions, from <room>@<rooms-jid>/sfu). */
void bf_sessions_set_rooms_domain (BfSessions *mgr, const char *rooms_domain);
/* Ends every session still there (session-terminate <gone/>, sent if the
 * link still carries it) and waits for the workers to let go of them. */
void bf_sessions_free (BfSessions *sessions);

/* The router's session hook (router.h). */
gboolean bf_sessions_handle_stanza (gpointer sessions, BfModule *module, const BfStanza *stanza);

/* [limits] max-sessions-per-jid: how many sessions one bare JID may have
 * opened at once (over every module; a relayed call counts once); 0: no
 * limit. */
void bf_sessions_set_max_per_jid (BfSessions *sessions, guint max);

guint bf_sessions_count (BfSessions *sessions);
const BfSessionStats *bf_sessions_get_stats (BfSessions *sessions);

/* --- operator control (session-admin.c): admin commands, reload, drain --- */

/* One session as the operator sees it. */
typedef struct {
  char *sid, *peer, *local, *module, *state;
  gboolean outgoing;
  gint64 since;                    /* g_get_real_time () at its start */
  guint64 packets_in, packets_out; /* summed over its transports */
} BfSessionRow;
void bf_session_row_free (BfSessionRow *row);
/* @rows: BfSessionRow*, the callee's. */
typedef void (*BfSessionRowsFunc) (GPtrArray *rows, gpointer data);
/* Collects at most @max sessions (oldest first) with their packet counts,
 * asked of their workers; @done runs later on the main context, never
 * from inside this call. */
void bf_sessions_list (BfSessions *sessions, guint max, BfSessionRowsFunc done, gpointer data);
/* Ends the sessions with this sid (session-terminate @reason, a XEP-0166
 * condition name); returns how many. */
guint bf_sessions_end_sid (BfSessions *sessions, const char *sid, const char *reason,
                           const char *text);
/* Ends every session, telling each peer. */
void bf_sessions_end_all (BfSessions *sessions, const char *reason, const char *text);
void bf_sessions_set_max (BfSessions *sessions, guint max_sessions);
guint bf_sessions_get_max (BfSessions *sessions);
/* Draining: every new session-initiate gets session-terminate <busy/> and
 * every JMI proposal a reject <busy/>; running sessions go on. */
void bf_sessions_set_draining (BfSessions *sessions, gboolean draining);
gboolean bf_sessions_is_draining (BfSessions *sessions);
/* @func runs (from an idle source) each time the last session ended. */
void bf_sessions_set_empty_func (BfSessions *sessions, GSourceFunc func, gpointer data);

G_END_DECLS
