#define G_LOG_DOMAIN "belfry-admin"
/* The operator's ad-hoc commands (admin.h). */
#include "build-config.h"

#include <string.h>

#include "adhoc.h"
#include "admin.h"

/* A session listing waits for the workers' packet counts; a bounded
 * number at a time (each holds a copy of its iq). */
#define MAX_PENDING_LISTS 8

typedef struct {
  const char *node;
  const char *name;
} Command;

static const Command commands[] = {
  { "list-sessions", "List sessions" },
  { "end-session", "End a session" },
  { "show-counters", "Show counters" },
  { "drain", "Drain: take no new sessions, exit when the last one ends" },
};

typedef struct _PendingList PendingList;

struct _BfAdmin {
  char *domain;
  BfSendFunc send;
  gpointer send_data;
  char **jids;                   /* never NULL */
  BfSessions *sessions;
  BfAdminCountersFunc counters;
  gpointer counters_data;
  BfAdminDrainFunc drain;
  gpointer drain_data;
  BfAdhocSessions *command_sessions;
  GPtrArray *pending;            /* PendingList*: listings not answered yet */
};

struct _PendingList {
  BfAdmin *admin;                /* NULL once the admin is gone */
  BfStanza *iq;
  guint total;
};

BfAdmin *
bf_admin_new (const char *domain, BfSendFunc send, gpointer send_data)
{
  BfAdmin *a = g_new0 (BfAdmin, 1);
  a->domain = g_ascii_strdown (domain, -1);
  a->send = send;
  a->send_data = send_data;
  a->jids = g_new0 (char *, 1);
  a->command_sessions = bf_adhoc_sessions_new (BF_ADHOC_MAX_SESSIONS,
                                               BF_ADHOC_SESSION_LIFETIME_S * G_USEC_PER_SEC);
  a->pending = g_ptr_array_new ();
  return a;
}

void
bf_admin_free (BfAdmin *admin)
{
  if (admin == NULL)
    return;
  /* A listing still out comes back to nobody (list_done frees it). */
  for (guint i = 0; i < admin->pending->len; i++)
    ((PendingList *) g_ptr_array_index (admin->pending, i))->admin = NULL;
  g_ptr_array_unref (admin->pending);
  bf_adhoc_sessions_free (admin->command_sessions);
  g_strfreev (admin->jids);
  g_free (admin->domain);
  g_free (admin);
}

gboolean
bf_admin_read_config (BfConfigGroup *group, char ***jids, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) list = bf_config_get_string_list (group, "jids", &local);
  *jids = NULL;
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; list && list[i]; i++)
    {
      g_autofree char *lp = NULL, *dom = NULL, *res = NULL;
      if (!bf_jid_split (list[i], &lp, &dom, &res) || lp == NULL || res != NULL)
        {
          bf_config_set_error (group, error, "jids", "'%s' is not a bare JID (user@domain)",
                               list[i]);
          g_ptr_array_unref (out);
          return FALSE;
        }
      if (out->len >= BF_ADMIN_MAX_JIDS)
        {
          bf_config_set_error (group, error, "jids", "more than %d JIDs", BF_ADMIN_MAX_JIDS);
          g_ptr_array_unref (out);
          return FALSE;
        }
      g_ptr_array_add (out, g_strconcat (lp, "@", dom, NULL));
    }
  g_ptr_array_add (out, NULL);
  *jids = (char **) g_ptr_array_free (out, FALSE);
  for (guint i = 0; (*jids)[i]; i++)
    {
      char *low = g_utf8_strdown ((*jids)[i], -1);
      g_free ((*jids)[i]);
      (*jids)[i] = low;
    }
  return TRUE;
}

void
bf_admin_set_jids (BfAdmin *admin, char **jids)
{
  g_strfreev (admin->jids);
  admin->jids = jids ? jids : g_new0 (char *, 1);
}

guint
bf_admin_count_jids (BfAdmin *admin)
{
  return g_strv_length (admin->jids);
}

gboolean
bf_admin_has_jids (BfAdmin *admin, const char *const *jids)
{
  return g_strv_equal ((const char *const *) admin->jids, jids);
}

gboolean
bf_admin_is_admin (BfAdmin *admin, const char *jid)
{
  g_autofree char *lp = NULL, *dom = NULL, *res = NULL;
  if (jid == NULL || !bf_jid_split (jid, &lp, &dom, &res) || lp == NULL)
    return FALSE;
  g_autofree char *bare = g_strconcat (lp, "@", dom, NULL);
  g_autofree char *low = g_utf8_strdown (bare, -1);
  return g_strv_contains ((const char *const *) admin->jids, low);
}

void
bf_admin_set_sessions (BfAdmin *admin, BfSessions *sessions)
{
  admin->sessions = sessions;
}

void
bf_admin_set_counters_func (BfAdmin *admin, BfAdminCountersFunc func, gpointer data)
{
  admin->counters = func;
  admin->counters_data = data;
}

void
bf_admin_set_drain_func (BfAdmin *admin, BfAdminDrainFunc func, gpointer data)
{
  admin->drain = func;
  admin->drain_data = data;
}

static void
answer (BfAdmin *a, BfStanza *stanza)
{
  if (a->send)
    a->send (a->send_data, stanza);
  bf_stanza_free (stanza);
}

static const Command *
find_command (const char *node)
{
  for (guint i = 0; node && i < G_N_ELEMENTS (commands); i++)
    if (strcmp (commands[i].node, node) == 0)
      return &commands[i];
  return NULL;
}

/* --- disco on the command nodes (XEP-0050 §2.2, §2.3) --- */

static void
disco_items (BfAdmin *a, const BfStanza *iq, gboolean admin)
{
  BfStanza *reply = bf_stanza_new_reply (iq, "result");
  BfStanza *q = bf_stanza_add_child (reply, "query", BF_NS_DISCO_ITEMS);
  bf_stanza_set_attr (q, "node", BF_NS_COMMANDS);
  for (guint i = 0; admin && i < G_N_ELEMENTS (commands); i++)
    {
      BfStanza *item = bf_stanza_add_child (q, "item", NULL);
      bf_stanza_set_attr (item, "jid", a->domain);
      bf_stanza_set_attr (item, "node", commands[i].node);
      bf_stanza_set_attr (item, "name", commands[i].name);
    }
  answer (a, reply);
}

static void
disco_info (BfAdmin *a, const BfStanza *iq, const char *node, gboolean admin)
{
  const Command *cmd = find_command (node);
  if (cmd && !admin)
    {
      /* Hidden from everyone else, as if it did not exist. */
      answer (a, bf_stanza_new_error (iq, "cancel", "item-not-found", NULL));
      return;
    }
  BfStanza *reply = bf_stanza_new_reply (iq, "result");
  BfStanza *q = bf_stanza_add_child (reply, "query", BF_NS_DISCO_INFO);
  bf_stanza_set_attr (q, "node", node);
  BfStanza *id = bf_stanza_add_child (q, "identity", NULL);
  bf_stanza_set_attr (id, "category", "automation");
  bf_stanza_set_attr (id, "type", cmd ? "command-node" : "command-list");
  bf_stanza_set_attr (id, "name", cmd ? cmd->name : "Commands");
  const char *features[] = { BF_NS_COMMANDS, BF_NS_DATA };
  for (guint i = 0; cmd && i < G_N_ELEMENTS (features); i++)
    bf_stanza_set_attr (bf_stanza_add_child (q, "feature", NULL), "var", features[i]);
  answer (a, reply);
}

/* --- the commands --- */

static void
completed_note (BfAdmin *a, const BfStanza *iq, const char *node, const char *sessionid,
                const char *type, const char *text)
{
  BfStanza *command;
  BfStanza *reply = bf_adhoc_reply (iq, node, sessionid, "completed", &command);
  bf_adhoc_add_note (command, type, text);
  answer (a, reply);
}

static void
list_done (GPtrArray *rows, gpointer data)
{
  PendingList *p = data;
  BfAdmin *a = p->admin;
  if (a)
    {
      g_ptr_array_remove (a->pending, p);
      BfStanza *command;
      BfStanza *reply = bf_adhoc_reply (p->iq, "list-sessions", NULL, "completed", &command);
      g_autofree char *title = g_strdup_printf ("%u session%s", p->total,
                                                p->total == 1 ? "" : "s");
      BfStanza *form = bf_data_form_add (command, "result", title);
      static const char *const reported[] = {
        "sid", "Session id", "peer", "Peer", "local", "Our address", "module", "Module",
        "direction", "Direction", "state", "State", "since", "Since (UTC)",
        "packets-in", "Packets in", "packets-out", "Packets out", NULL
      };
      bf_data_form_add_reported (form, reported);
      for (guint i = 0; i < rows->len; i++)
        {
          const BfSessionRow *r = g_ptr_array_index (rows, i);
          g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (r->since / G_USEC_PER_SEC);
          g_autofree char *since = t ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("");
          g_autofree char *in = g_strdup_printf ("%" G_GUINT64_FORMAT, r->packets_in);
          g_autofree char *out = g_strdup_printf ("%" G_GUINT64_FORMAT, r->packets_out);
          const char *item[] = {
            "sid", r->sid, "peer", r->peer, "local", r->local, "module", r->module,
            "direction", r->outgoing ? "outgoing" : "incoming", "state", r->state,
            "since", since, "packets-in", in, "packets-out", out, NULL
          };
          bf_data_form_add_item (form, item);
        }
      if (p->total > rows->len)
        {
          g_autofree char *note = g_strdup_printf ("showing the oldest %u of %u", rows->len,
                                                   p->total);
          bf_adhoc_add_note (command, "info", note);
        }
      answer (a, reply);
    }
  g_ptr_array_unref (rows);
  bf_stanza_free (p->iq);
  g_free (p);
}

static void
list_sessions (BfAdmin *a, const BfStanza *iq)
{
  if (a->sessions == NULL)
    {
      completed_note (a, iq, "list-sessions", NULL, "info", "no module takes sessions");
      return;
    }
  if (a->pending->len >= MAX_PENDING_LISTS)
    {
      answer (a, bf_stanza_new_error (iq, "wait", "resource-constraint",
                                    "too many listings in progress"));
      return;
    }
  PendingList *p = g_new0 (PendingList, 1);
  p->admin = a;
  p->iq = bf_stanza_copy (iq);
  p->total = bf_sessions_count (a->sessions);
  g_ptr_array_add (a->pending, p);
  bf_sessions_list (a->sessions, BF_ADMIN_MAX_LIST_ROWS, list_done, p);
}

static void
end_session_form (BfAdmin *a, const BfStanza *iq, const char *owner)
{
  const char *sid = bf_adhoc_sessions_open (a->command_sessions, owner, "end-session",
                                            g_get_monotonic_time ());
  BfStanza *command;
  BfStanza *reply = bf_adhoc_reply (iq, "end-session", sid, "executing", &command);
  bf_adhoc_add_complete_action (command);
  BfStanza *form = bf_data_form_add (command, "form", "End a session");
  bf_stanza_add_text_child (form, "instructions", NULL,
                            "The session id (list-sessions shows them). Its peer gets "
                            "session-terminate <success/>.");
  BfStanza *f = bf_data_form_add_field (form, "sid", "text-single", "Session id", NULL);
  bf_stanza_add_child (f, "required", NULL);
  answer (a, reply);
}

static void
end_session (BfAdmin *a, const BfStanza *iq, const BfAdhocRequest *req, const char *owner)
{
  const char *sid = g_hash_table_lookup (req->fields, "sid");
  if (sid == NULL)
    {
      if (req->sessionid)
        {
          /* A stage without the answer: the form again, same session. */
          answer (a, bf_adhoc_error (iq, "modify", "bad-request", NULL, "the form needs 'sid'"));
          return;
        }
      end_session_form (a, iq, owner);
      return;
    }
  bf_adhoc_sessions_close (a->command_sessions, req->sessionid);
  if (a->sessions == NULL || *sid == '\0')
    {
      completed_note (a, iq, "end-session", req->sessionid, "error", "no such session");
      return;
    }
  /* XEP-0166 <success/>: to the peer, a normal hang-up by the relay. */
  guint n = bf_sessions_end_sid (a->sessions, sid, "success", "ended by the relay's operator");
  g_message ("admin %s ended session %s (%u leg%s)", owner, sid, n, n == 1 ? "" : "s");
  g_autofree char *note = n ? g_strdup_printf ("session %s ended", sid)
                            : g_strdup_printf ("no session %s", sid);
  completed_note (a, iq, "end-session", req->sessionid, n ? "info" : "error", note);
}

static void
show_counters (BfAdmin *a, const BfStanza *iq)
{
  BfStanza *command;
  BfStanza *reply = bf_adhoc_reply (iq, "show-counters", NULL, "completed", &command);
  BfStanza *form = bf_data_form_add (command, "result", "Counters");
  g_autoptr (GPtrArray) triples = g_ptr_array_new_with_free_func (g_free);
  if (a->counters)
    a->counters (a->counters_data, triples);
  for (guint i = 0; i + 2 < triples->len; i += 3)
    bf_data_form_add_field (form, g_ptr_array_index (triples, i), "text-single",
                            g_ptr_array_index (triples, i + 1),
                            g_ptr_array_index (triples, i + 2));
  answer (a, reply);
}

static void
drain (BfAdmin *a, const BfStanza *iq, const char *owner)
{
  if (a->drain == NULL)
    {
      completed_note (a, iq, "drain", NULL, "error", "draining is not available");
      return;
    }
  g_message ("admin %s asked to drain", owner);
  guint left = a->drain (a->drain_data);
  g_autofree char *note = g_strdup_printf ("draining: %u session%s running; belfry exits when "
                                           "the last one ends", left, left == 1 ? "" : "s");
  completed_note (a, iq, "drain", NULL, "info", note);
}

static void
command (BfAdmin *a, const BfStanza *iq, const BfStanza *payload)
{
  const char *from = bf_stanza_get_attr (iq, "from");
  if (g_strcmp0 (bf_stanza_get_attr (iq, "type"), "set") != 0)
    {
      answer (a, bf_adhoc_error (iq, "modify", "bad-request", NULL, "commands are iq set"));
      return;
    }
  if (!bf_admin_is_admin (a, from))
    {
      g_message ("refused an ad-hoc command from %s: not in [admin] jids", from ? from : "?");
      answer (a, bf_stanza_new_error (iq, "auth", "forbidden", NULL));
      return;
    }
  BfAdhocRequest req;
  const char *cond = NULL;
  g_autoptr (GError) error = NULL;
  if (!bf_adhoc_parse (payload, &req, &cond, &error))
    {
      answer (a, bf_adhoc_error (iq, "modify", "bad-request", cond, error->message));
      return;
    }
  g_debug ("ad-hoc command %s from %s", req.node, from);
  const Command *cmd = find_command (req.node);
  BfAdhocSessionCheck check = BF_ADHOC_SESSION_OK;
  if (cmd && req.sessionid)
    check = bf_adhoc_sessions_check (a->command_sessions, req.sessionid, from, req.node,
                                     g_get_monotonic_time ());
  if (cmd == NULL)
    answer (a, bf_stanza_new_error (iq, "cancel", "item-not-found", NULL));
  else if (check == BF_ADHOC_SESSION_EXPIRED)   /* XEP-0050 §4.6 */
    answer (a, bf_adhoc_error (iq, "cancel", "not-allowed", "session-expired", NULL));
  else if (check == BF_ADHOC_SESSION_UNKNOWN)   /* also: someone else's */
    answer (a, bf_adhoc_error (iq, "modify", "bad-request", "bad-sessionid", NULL));
  else if (req.action == BF_ADHOC_CANCEL)
    {
      bf_adhoc_sessions_close (a->command_sessions, req.sessionid);
      answer (a, bf_adhoc_reply (iq, req.node, req.sessionid, "canceled", NULL));
    }
  else if (req.action == BF_ADHOC_PREV || req.action == BF_ADHOC_NEXT)
    answer (a, bf_adhoc_error (iq, "modify", "bad-request", "bad-action",
                             "one-stage forms: only execute, complete, cancel"));
  else if (strcmp (cmd->node, "list-sessions") == 0)
    list_sessions (a, iq);
  else if (strcmp (cmd->node, "end-session") == 0)
    end_session (a, iq, &req, from);
  else if (strcmp (cmd->node, "show-counters") == 0)
    show_counters (a, iq);
  else
    drain (a, iq, from);
  bf_adhoc_request_clear (&req);
}

gboolean
bf_admin_handle_iq (gpointer data, const BfStanza *iq, const BfStanza *payload)
{
  BfAdmin *a = data;
  const char *ns = bf_stanza_get_ns (payload);
  const char *name = bf_stanza_get_name (payload);
  if (strcmp (name, "command") == 0 && g_strcmp0 (ns, BF_NS_COMMANDS) == 0)
    {
      command (a, iq, payload);
      return TRUE;
    }
  if (strcmp (name, "query") != 0
      || g_strcmp0 (bf_stanza_get_attr (iq, "type"), "get") != 0)
    return FALSE;
  const char *node = bf_stanza_get_attr (payload, "node");
  gboolean admin = bf_admin_is_admin (a, bf_stanza_get_attr (iq, "from"));
  if (g_strcmp0 (ns, BF_NS_DISCO_ITEMS) == 0 && g_strcmp0 (node, BF_NS_COMMANDS) == 0)
    {
      disco_items (a, iq, admin);
      return TRUE;
    }
  if (g_strcmp0 (ns, BF_NS_DISCO_INFO) == 0
      && (g_strcmp0 (node, BF_NS_COMMANDS) == 0 || find_command (node)))
    {
      disco_info (a, iq, node, admin);
      return TRUE;
    }
  return FALSE;
}
