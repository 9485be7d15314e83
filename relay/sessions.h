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
  guint64 busy_per_jid;            /* refused: over [limits] max-sessions-per-jid */
} BfSessionStats;

/* @media is copied; @pool and @cert must outlive the manager.  Stanzas go
 * out through @modules' send function. */
BfSessions *bf_sessions_new (const char *domain, BfModules *modules, BfMediaPool *pool,
                             BfMediaCert *cert, const BfMediaConfig *media,
                             guint max_sessions);
/* Ends every session (session-terminate <gone/>... not sent: the link is
 * going down) and waits for the workers to let go of them. */
void bf_sessions_free (BfSessions *sessions);

/* The router's session hook (router.h). */
gboolean bf_sessions_handle_stanza (gpointer sessions, BfModule *module, const BfStanza *stanza);

/* [limits] max-sessions-per-jid: how many sessions one bare JID may have
 * opened at once (over every module; a relayed call counts once); 0: no
 * limit. */
void bf_sessions_set_max_per_jid (BfSessions *sessions, guint max);

guint bf_sessions_count (BfSessions *sessions);
const BfSessionStats *bf_sessions_get_stats (BfSessions *sessions);

G_END_DECLS
