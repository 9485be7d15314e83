/* XEP-0050 ad-hoc commands and the XEP-0004 data forms they carry: the
 * protocol only (parsing a <command/>, building answers and errors, the
 * bounded table of multi-stage command sessions).  What the commands do is
 * admin.c's.  Pure: no I/O, no global state; main thread like the router. */
#pragma once

#include <belfry/stanza.h>

G_BEGIN_DECLS

#define BF_NS_COMMANDS "http://jabber.org/protocol/commands"
#define BF_NS_DATA     "jabber:x:data"

/* What a requester may send: a bounded form (more is bad-request). */
#define BF_ADHOC_MAX_FIELDS 16
#define BF_ADHOC_MAX_VALUE 1024
#define BF_ADHOC_MAX_NODE 256

typedef enum {
  BF_ADHOC_EXECUTE,     /* also: no action attribute (XEP-0050 §3.4) */
  BF_ADHOC_NEXT,
  BF_ADHOC_PREV,
  BF_ADHOC_COMPLETE,
  BF_ADHOC_CANCEL,
} BfAdhocAction;

typedef struct {
  char *node;
  char *sessionid;      /* NULL on a first request */
  BfAdhocAction action;
  GHashTable *fields;   /* var -> first value, from a submitted form */
} BfAdhocRequest;

/* Reads the iq's <command/>.  FALSE with @error's message naming what is
 * wrong, and *@command_condition set to the XEP-0050 §4.6 condition
 * ("malformed-action", "bad-action") or NULL: answer bad-request. */
gboolean bf_adhoc_parse (const BfStanza *command, BfAdhocRequest *out,
                         const char **command_condition, GError **error);
void bf_adhoc_request_clear (BfAdhocRequest *request);

/* An iq error to @iq with the stanza @condition and, when not NULL, the
 * XEP-0050 specific condition (bad-action, malformed-action,
 * bad-sessionid, session-expired). */
BfStanza *bf_adhoc_error (const BfStanza *iq, const char *type, const char *condition,
                          const char *command_condition, const char *text);

/* The result iq carrying <command node sessionid status/>; returns the iq,
 * *@command the <command/> to fill. */
BfStanza *bf_adhoc_reply (const BfStanza *iq, const char *node, const char *sessionid,
                          const char *status, BfStanza **command);
/* <note type='info|warn|error'>text</note> */
void bf_adhoc_add_note (BfStanza *command, const char *type, const char *text);
/* <actions execute='complete'><complete/></actions>: the one-stage form. */
void bf_adhoc_add_complete_action (BfStanza *command);

/* XEP-0004 forms */
BfStanza *bf_data_form_add (BfStanza *parent, const char *type, const char *title);
BfStanza *bf_data_form_add_field (BfStanza *form, const char *var, const char *type,
                                  const char *label, const char *value);
/* <reported> with one <field var label/> per pair of @var_label (var,
 * label, ..., NULL). */
void bf_data_form_add_reported (BfStanza *form, const char *const *var_label);
/* <item> with <field var><value/></field> per pair (var, value, ..., NULL). */
void bf_data_form_add_item (BfStanza *form, const char *const *var_value);

/* Multi-stage command sessions: who started which command, until when.
 * Bounded in count; expired ones go first. */
typedef struct _BfAdhocSessions BfAdhocSessions;
#define BF_ADHOC_MAX_SESSIONS 64
#define BF_ADHOC_SESSION_LIFETIME_S 300

BfAdhocSessions *bf_adhoc_sessions_new (guint max, gint64 lifetime_us);
void bf_adhoc_sessions_free (BfAdhocSessions *sessions);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfAdhocSessions, bf_adhoc_sessions_free)
/* A new session id (random) for @owner (full JID) running @node; @now is
 * g_get_monotonic_time () in the daemon, anything in tests. */
const char *bf_adhoc_sessions_open (BfAdhocSessions *sessions, const char *owner,
                                    const char *node, gint64 now);
typedef enum {
  BF_ADHOC_SESSION_OK,
  BF_ADHOC_SESSION_UNKNOWN,   /* never opened, or not @owner's, or another node */
  BF_ADHOC_SESSION_EXPIRED,
} BfAdhocSessionCheck;
BfAdhocSessionCheck bf_adhoc_sessions_check (BfAdhocSessions *sessions, const char *id,
                                             const char *owner, const char *node, gint64 now);
void bf_adhoc_sessions_close (BfAdhocSessions *sessions, const char *id);
guint bf_adhoc_sessions_count (BfAdhocSessions *sessions);

G_END_DECLS
