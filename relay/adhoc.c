/* XEP-0050 ad-hoc commands and XEP-0004 forms (adhoc.h). */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "adhoc.h"

static const char *const action_names[] = {
  [BF_ADHOC_EXECUTE] = "execute",
  [BF_ADHOC_NEXT] = "next",
  [BF_ADHOC_PREV] = "prev",
  [BF_ADHOC_COMPLETE] = "complete",
  [BF_ADHOC_CANCEL] = "cancel",
};

void
bf_adhoc_request_clear (BfAdhocRequest *request)
{
  g_clear_pointer (&request->node, g_free);
  g_clear_pointer (&request->sessionid, g_free);
  g_clear_pointer (&request->fields, g_hash_table_unref);
}

static gboolean
fail (GError **error, const char *message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  return FALSE;
}

/* The submitted form's fields: var -> first value.  A form of another
 * type, or none, leaves the table empty. */
static gboolean
read_form (const BfStanza *command, GHashTable *fields, GError **error)
{
  const BfStanza *x = bf_stanza_find_child (command, "x", BF_NS_DATA);
  if (x == NULL)
    return TRUE;
  const char *type = bf_stanza_get_attr (x, "type");
  if (g_strcmp0 (type, "submit") != 0)
    return TRUE;   /* XEP-0004 §3.1: only a submit form carries answers */
  BfStanzaIter it;
  BfStanza *field;
  bf_stanza_iter_init (&it, x);
  while (bf_stanza_iter_next (&it, &field))
    {
      if (strcmp (bf_stanza_get_name (field), "field") != 0)
        continue;
      const char *var = bf_stanza_get_attr (field, "var");
      if (var == NULL || strlen (var) > BF_ADHOC_MAX_NODE)
        return fail (error, "a form field without a usable 'var'");
      if (g_hash_table_size (fields) >= BF_ADHOC_MAX_FIELDS)
        return fail (error, "too many form fields");
      const char *value = bf_stanza_find_child_text (field, "value", NULL);
      if (value && strlen (value) > BF_ADHOC_MAX_VALUE)
        return fail (error, "a form value is too long");
      if (!g_hash_table_contains (fields, var))
        g_hash_table_insert (fields, g_strdup (var), g_strdup (value ? value : ""));
    }
  return TRUE;
}

gboolean
bf_adhoc_parse (const BfStanza *command, BfAdhocRequest *out,
                const char **command_condition, GError **error)
{
  memset (out, 0, sizeof *out);
  *command_condition = NULL;
  if (command == NULL || strcmp (bf_stanza_get_name (command), "command") != 0
      || g_strcmp0 (bf_stanza_get_ns (command), BF_NS_COMMANDS) != 0)
    return fail (error, "not a command");
  const char *node = bf_stanza_get_attr (command, "node");
  if (node == NULL || *node == '\0' || strlen (node) > BF_ADHOC_MAX_NODE)
    return fail (error, "a command needs a 'node'");
  const char *action = bf_stanza_get_attr (command, "action");
  out->action = BF_ADHOC_EXECUTE;
  if (action)
    {
      gboolean known = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (action_names); i++)
        if (strcmp (action, action_names[i]) == 0)
          {
            out->action = (BfAdhocAction) i;
            known = TRUE;
          }
      if (!known)
        {
          *command_condition = "malformed-action";
          return fail (error, "unknown action");
        }
    }
  const char *sid = bf_stanza_get_attr (command, "sessionid");
  if (sid && (*sid == '\0' || strlen (sid) > BF_ADHOC_MAX_NODE))
    {
      *command_condition = "bad-sessionid";
      return fail (error, "unusable sessionid");
    }
  out->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!read_form (command, out->fields, error))
    {
      bf_adhoc_request_clear (out);
      return FALSE;
    }
  out->node = g_strdup (node);
  out->sessionid = g_strdup (sid);
  return TRUE;
}

BfStanza *
bf_adhoc_error (const BfStanza *iq, const char *type, const char *condition,
                const char *command_condition, const char *text)
{
  BfStanza *reply = bf_stanza_new_error (iq, type, condition, text);
  if (command_condition)
    {
      BfStanza *error = bf_stanza_find_child (reply, "error", NULL);
      bf_stanza_add_child (error, command_condition, BF_NS_COMMANDS);
    }
  return reply;
}

BfStanza *
bf_adhoc_reply (const BfStanza *iq, const char *node, const char *sessionid,
                const char *status, BfStanza **command)
{
  BfStanza *reply = bf_stanza_new_reply (iq, "result");
  BfStanza *c = bf_stanza_add_child (reply, "command", BF_NS_COMMANDS);
  bf_stanza_set_attr (c, "node", node);
  if (sessionid)
    bf_stanza_set_attr (c, "sessionid", sessionid);
  bf_stanza_set_attr (c, "status", status);
  if (command)
    *command = c;
  return reply;
}

void
bf_adhoc_add_note (BfStanza *command, const char *type, const char *text)
{
  BfStanza *note = bf_stanza_add_text_child (command, "note", NULL, text);
  bf_stanza_set_attr (note, "type", type);
}

void
bf_adhoc_add_complete_action (BfStanza *command)
{
  BfStanza *actions = bf_stanza_add_child (command, "actions", NULL);
  bf_stanza_set_attr (actions, "execute", "complete");
  bf_stanza_add_child (actions, "complete", NULL);
}

BfStanza *
bf_data_form_add (BfStanza *parent, const char *type, const char *title)
{
  BfStanza *x = bf_stanza_add_child (parent, "x", BF_NS_DATA);
  bf_stanza_set_attr (x, "type", type);
  if (title)
    bf_stanza_add_text_child (x, "title", NULL, title);
  return x;
}

BfStanza *
bf_data_form_add_field (BfStanza *form, const char *var, const char *type, const char *label,
                        const char *value)
{
  BfStanza *f = bf_stanza_add_child (form, "field", NULL);
  if (var)
    bf_stanza_set_attr (f, "var", var);
  if (type)
    bf_stanza_set_attr (f, "type", type);
  if (label)
    bf_stanza_set_attr (f, "label", label);
  if (value)
    bf_stanza_add_text_child (f, "value", NULL, value);
  return f;
}

void
bf_data_form_add_reported (BfStanza *form, const char *const *var_label)
{
  BfStanza *reported = bf_stanza_add_child (form, "reported", NULL);
  for (guint i = 0; var_label[i] && var_label[i + 1]; i += 2)
    bf_data_form_add_field (reported, var_label[i], NULL, var_label[i + 1], NULL);
}

void
bf_data_form_add_item (BfStanza *form, const char *const *var_value)
{
  BfStanza *item = bf_stanza_add_child (form, "item", NULL);
  for (guint i = 0; var_value[i] && var_value[i + 1]; i += 2)
    bf_data_form_add_field (item, var_value[i], NULL, NULL, var_value[i + 1]);
}

/* --- command sessions --- */

typedef struct {
  char *owner;
  char *node;
  gint64 expires;
} CommandSession;

struct _BfAdhocSessions {
  GHashTable *table;    /* id -> CommandSession* */
  guint max;
  gint64 lifetime;
};

static void
command_session_free (gpointer data)
{
  CommandSession *cs = data;
  g_free (cs->owner);
  g_free (cs->node);
  g_free (cs);
}

BfAdhocSessions *
bf_adhoc_sessions_new (guint max, gint64 lifetime_us)
{
  BfAdhocSessions *s = g_new0 (BfAdhocSessions, 1);
  s->table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, command_session_free);
  s->max = MAX (max, 1);
  s->lifetime = lifetime_us;
  return s;
}

void
bf_adhoc_sessions_free (BfAdhocSessions *sessions)
{
  if (sessions == NULL)
    return;
  g_hash_table_unref (sessions->table);
  g_free (sessions);
}

static void
expire (BfAdhocSessions *s, gint64 now)
{
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, s->table);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((CommandSession *) value)->expires <= now)
      g_hash_table_iter_remove (&it);
}

/* Full: the one closest to expiry makes room (an admin who walked away
 * loses a form, nobody is locked out). */
static void
make_room (BfAdhocSessions *s)
{
  GHashTableIter it;
  gpointer key, value, oldest = NULL;
  gint64 first = G_MAXINT64;
  g_hash_table_iter_init (&it, s->table);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (((CommandSession *) value)->expires < first)
      {
        first = ((CommandSession *) value)->expires;
        oldest = key;
      }
  if (oldest)
    g_hash_table_remove (s->table, oldest);
}

const char *
bf_adhoc_sessions_open (BfAdhocSessions *s, const char *owner, const char *node, gint64 now)
{
  expire (s, now);
  while (g_hash_table_size (s->table) >= s->max)
    make_room (s);
  CommandSession *cs = g_new0 (CommandSession, 1);
  cs->owner = g_strdup (owner);
  cs->node = g_strdup (node);
  cs->expires = now + s->lifetime;
  char *id = g_uuid_string_random ();
  g_hash_table_insert (s->table, id, cs);
  return id;
}

BfAdhocSessionCheck
bf_adhoc_sessions_check (BfAdhocSessions *s, const char *id, const char *owner,
                         const char *node, gint64 now)
{
  CommandSession *cs = id ? g_hash_table_lookup (s->table, id) : NULL;
  if (cs == NULL || g_strcmp0 (cs->owner, owner) != 0 || g_strcmp0 (cs->node, node) != 0)
    return BF_ADHOC_SESSION_UNKNOWN;
  if (cs->expires <= now)
    {
      g_hash_table_remove (s->table, id);
      return BF_ADHOC_SESSION_EXPIRED;
    }
  return BF_ADHOC_SESSION_OK;
}

void
bf_adhoc_sessions_close (BfAdhocSessions *s, const char *id)
{
  if (id)
    g_hash_table_remove (s->table, id);
}

guint
bf_adhoc_sessions_count (BfAdhocSessions *s)
{
  return g_hash_table_size (s->table);
}
