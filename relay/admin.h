/* The operator's ad-hoc commands (XEP-0050, protocol in adhoc.h) on the
 * component's domain, for the bare JIDs of [admin] jids only:
 *
 *   list-sessions   who, which module, since when, packets (a result form)
 *   end-session     a form asking for the sid; ends it with <success/>
 *   show-counters   link, router and session counters
 *   drain           stop taking sessions, exit when the last one ends
 *
 * Nobody else sees them: disco#items of the command node is empty for
 * them and executing one is <forbidden/>.  Main thread. */
#pragma once

#include "modules.h"
#include "sessions.h"

G_BEGIN_DECLS

typedef struct _BfAdmin BfAdmin;

#define BF_ADMIN_MAX_JIDS 256
#define BF_ADMIN_MAX_LIST_ROWS 200

/* Appends (var, label, value) triples, each a new string, to @out. */
typedef void (*BfAdminCountersFunc) (gpointer data, GPtrArray *out);
/* Starts draining; returns the number of sessions still running. */
typedef guint (*BfAdminDrainFunc) (gpointer data);

/* Answers go out through @send (send.h). */
BfAdmin *bf_admin_new (const char *domain, BfSendFunc send, gpointer send_data);
void bf_admin_free (BfAdmin *admin);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfAdmin, bf_admin_free)

/* [admin] jids: bare JIDs, lower-cased; an empty list when the key is
 * absent.  Errors name file, group and key. */
gboolean bf_admin_read_config (BfConfigGroup *group, char ***jids, GError **error);
/* Takes @jids. */
void bf_admin_set_jids (BfAdmin *admin, char **jids);
guint bf_admin_count_jids (BfAdmin *admin);
/* Whether @jids (as bf_admin_read_config gives them) is the list in use. */
gboolean bf_admin_has_jids (BfAdmin *admin, const char *const *jids);
gboolean bf_admin_is_admin (BfAdmin *admin, const char *jid);

/* NULL when no module takes sessions. */
void bf_admin_set_sessions (BfAdmin *admin, BfSessions *sessions);
void bf_admin_set_counters_func (BfAdmin *admin, BfAdminCountersFunc func, gpointer data);
void bf_admin_set_drain_func (BfAdmin *admin, BfAdminDrainFunc func, gpointer data);

/* The router's domain iq hook (router.h): commands, and disco on the
 * command nodes.  TRUE when it answered. */
gboolean bf_admin_handle_iq (gpointer admin, const BfStanza *iq, const BfStanza *payload);

G_END_DECLS
