/* conference — a moderator's XEP-0050 commands on a room's JID: mute (or
 * unmute) a participant for everyone, remove one from the call, and the
 * room's configuration (XEP-0521's node urn:xmpp:av-conferences:config:
 * its form and options are room-config.c's).
 *
 * Who moderates a room: its first participant (while the room lives) and
 * the bare JIDs of [conference] moderators.  Anyone else gets <forbidden/>
 * and an empty command list.
 *
 * The forms are built with BfStanza: the core's XEP-0050 helpers
 * (relay/adhoc.h) are not part of the module API.  Each command is one
 * stage: execute without a form returns the form (status executing, a
 * session id kept here, bounded, for 5 minutes), complete with the form
 * does it; a first request that carries the submitted form is done at once.
 *
 * Thread rule: main thread only.
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <stdlib.h>
#include <string.h>

#include "room-config-form.h"
#include "room-config.h"
#include "room.h"

#define NODE_MUTE "mute"
#define NODE_REMOVE "remove"
#define MAX_SESSIONS 64
/* One moderator's open commands (over all its resources: a user may sign
 * in with as many as its server lets it): its oldest goes when it opens
 * more, so a moderator of one room cannot take the table from the others. */
#define MAX_SESSIONS_PER_OWNER 4
#define SESSION_LIFETIME_US (300 * G_USEC_PER_SEC)
#define MAX_VALUE 1024

typedef struct {
  char *owner;          /* full JID that opened it */
  char *owner_bare;     /* its bare JID, lower case: what the bound counts */
  char *node;
  char *room;
  gint64 expires;
} CommandSession;

static void
command_session_free (gpointer data)
{
  CommandSession *s = data;

  g_free (s->owner);
  g_free (s->owner_bare);
  g_free (s->node);
  g_free (s->room);
  g_free (s);
}

void
cf_moderation_free_sessions (Conference *cf)
{
  g_clear_pointer (&cf->command_sessions, g_hash_table_unref);
}

static GHashTable *
sessions (Conference *cf)
{
  if (cf->command_sessions == NULL)
    cf->command_sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                  command_session_free);
  return cf->command_sessions;
}

static void
expire_sessions (Conference *cf, gint64 now)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, sessions (cf));
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((CommandSession *) value)->expires <= now)
      g_hash_table_iter_remove (&it);
}

/* The bare JID of @jid, lower case: one user, whichever resource. */
static char *
bare_lower (const char *jid)
{
  g_autofree char *local = NULL, *domain = NULL;

  if (!bf_jid_split (jid, &local, &domain, NULL))
    return cf_fold (jid);
  g_autofree char *bare = local != NULL ? g_strdup_printf ("%s@%s", local, domain)
                                        : g_strdup (domain);
  return cf_fold (bare);
}

/* Closes @owner_bare's oldest command when it has MAX_SESSIONS_PER_OWNER
 * open. */
static void
forget_oldest_of (Conference *cf, const char *owner_bare)
{
  GHashTableIter it;
  gpointer key, value;
  const char *oldest = NULL;
  gint64 oldest_expiry = G_MAXINT64;
  guint n = 0;

  g_hash_table_iter_init (&it, sessions (cf));
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      CommandSession *s = value;
      if (strcmp (s->owner_bare, owner_bare) != 0)
        continue;
      n++;
      if (s->expires < oldest_expiry)
        {
          oldest_expiry = s->expires;
          oldest = key;
        }
    }
  if (n >= MAX_SESSIONS_PER_OWNER && oldest != NULL)
    g_hash_table_remove (sessions (cf), oldest);
}

static void
send_error (Conference *cf, const BfStanza *iq, const char *type, const char *condition,
            const char *command_condition, const char *text)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_error (iq, type, condition, text);

  if (command_condition != NULL)
    {
      BfStanza *error = bf_stanza_find_child (reply, "error", NULL);
      if (error != NULL)
        bf_stanza_add_child (error, command_condition, CF_NS_COMMANDS);
    }
  bf_module_send (cf->module, reply);
}

/* The result iq with <command node sessionid status/>; *@command to fill. */
static BfStanza *
command_reply (const BfStanza *iq, const char *node, const char *sessionid, const char *status,
               BfStanza **command)
{
  BfStanza *reply = bf_stanza_new_reply (iq, "result");
  BfStanza *c = bf_stanza_add_child (reply, "command", CF_NS_COMMANDS);

  bf_stanza_set_attr (c, "node", node);
  if (sessionid != NULL)
    bf_stanza_set_attr (c, "sessionid", sessionid);
  bf_stanza_set_attr (c, "status", status);
  if (command != NULL)
    *command = c;
  return reply;
}

static void
add_note (BfStanza *command, const char *type, const char *text)
{
  BfStanza *note = bf_stanza_add_text_child (command, "note", NULL, text);

  bf_stanza_set_attr (note, "type", type);
}

BfStanza *
cf_form_add_field (BfStanza *form, const char *var, const char *type, const char *label,
           const char *value)
{
  BfStanza *field = bf_stanza_add_child (form, "field", NULL);

  bf_stanza_set_attr (field, "var", var);
  if (type != NULL)
    bf_stanza_set_attr (field, "type", type);
  if (label != NULL)
    bf_stanza_set_attr (field, "label", label);
  if (value != NULL)
    bf_stanza_add_text_child (field, "value", NULL, value);
  return field;
}

/* The form of @node: which participant (by number, the bare JID shown),
 * and for mute whether to mute or unmute. */
static void
add_form (BfStanza *command, Room *room, const char *node)
{
  BfStanza *form, *field;

  if (strcmp (node, CF_NODE_CONFIG) == 0)
    {
      cf_room_config_add_form (room, command);
      return;
    }
  form = bf_stanza_add_child (command, "x", CF_NS_DATA);

  bf_stanza_set_attr (form, "type", "form");
  bf_stanza_add_text_child (form, "title", NULL,
                            strcmp (node, NODE_MUTE) == 0 ? "Mute a participant"
                                                          : "Remove a participant");
  cf_form_add_field (form, "FORM_TYPE", "hidden", NULL, "urn:belfry:conference:moderation:0");
  field = cf_form_add_field (form, "participant", "list-single", "Participant", NULL);
  bf_stanza_add_child (field, "required", NULL);
  for (guint i = 0; i < room->participants->len; i++)
    {
      Participant *p = g_ptr_array_index (room->participants, i);
      g_autofree char *label = g_strdup_printf ("%s (%u)", p->bare, p->number);
      g_autofree char *value = g_strdup_printf ("%u", p->number);
      BfStanza *option = bf_stanza_add_child (field, "option", NULL);
      bf_stanza_set_attr (option, "label", label);
      bf_stanza_add_text_child (option, "value", NULL, value);
    }
  if (strcmp (node, NODE_MUTE) == 0)
    cf_form_add_field (form, "muted", "boolean", "Muted (unset to unmute)", "1");
  /* XEP-0050 §3.4: the one stage there is completes it. */
  BfStanza *actions = bf_stanza_add_child (command, "actions", NULL);
  bf_stanza_set_attr (actions, "execute", "complete");
  bf_stanza_add_child (actions, "complete", NULL);
}

/* The first <value/> of field @var of a submitted form, or NULL. */
static const char *
form_value (const BfStanza *form, const char *var)
{
  BfStanzaIter it;
  BfStanza *field;

  bf_stanza_iter_init (&it, form);
  while (bf_stanza_iter_next (&it, &field))
    if (g_strcmp0 (bf_stanza_get_name (field), "field") == 0
        && g_strcmp0 (bf_stanza_get_attr (field, "var"), var) == 0)
      return bf_stanza_find_child_text (field, "value", NULL);
  return NULL;
}

/* A participant named by its number, or by its bare or full JID. */
static Participant *
find_participant (Room *room, const char *value)
{
  char *end = NULL;
  guint64 n;

  if (value == NULL || strlen (value) > MAX_VALUE)
    return NULL;
  n = g_ascii_strtoull (value, &end, 10);
  if (end != value && *end == '\0' && n > 0 && n <= G_MAXUINT)
    return cf_room_find_number (room, (guint) n);
  for (guint i = 0; i < room->participants->len; i++)
    {
      Participant *p = g_ptr_array_index (room->participants, i);
      if (g_ascii_strcasecmp (p->bare, value) == 0 || g_strcmp0 (p->peer, value) == 0)
        return p;
    }
  return NULL;
}

/* Does the submitted @form of @node.  @room may be freed on return (a
 * removed last participant ends it). */
static void
run_command (Conference *cf, const BfStanza *iq, Room *room, const char *node,
             const char *sessionid, const BfStanza *form)
{
  const char *who = form_value (form, "participant");
  Participant *p = find_participant (room, who);
  g_autoptr (BfStanza) reply = NULL;
  g_autofree char *room_name = g_strdup (room->name);
  g_autofree char *note = NULL;
  BfStanza *command;

  if (strcmp (node, CF_NODE_CONFIG) == 0)
    {
      const char *type, *condition, *text;
      if (!cf_room_config_submit (room, form, &note, &type, &condition, &text))
        {
          send_error (cf, iq, type, condition, NULL, text);
          return;
        }
      p = NULL;
    }
  else if (p == NULL)
    {
      send_error (cf, iq, "modify", "bad-request", NULL,
                  who == NULL ? "the form needs 'participant'" : "no such participant in the room");
      return;
    }
  if (strcmp (node, NODE_MUTE) == 0)
    {
      gboolean muted = TRUE;
      const char *value = form_value (form, "muted");
      if (value != NULL && !cf_form_parse_boolean (value, &muted))
        {
          send_error (cf, iq, "modify", "bad-request", NULL, "'muted' is a boolean");
          return;
        }
      p->moderator_muted = muted;
      cf_participant_update_mute (p);
      bf_metric_add (cf->m_muted, 1);
      note = g_strdup_printf ("%s is %s.", p->bare, muted ? "muted" : "unmuted");
      g_message ("room %s: call %s %s by a moderator", room_name,
                 bf_session_get_sid (p->session), muted ? "muted" : "unmuted");
    }
  else if (strcmp (node, NODE_REMOVE) == 0)
    {
      note = g_strdup_printf ("%s was removed from the call.", p->bare);
      g_message ("room %s: call %s removed by a moderator", room_name,
                 bf_session_get_sid (p->session));
      bf_metric_add (cf->m_removed, 1);
      /* The room's first participant removed (by a moderator of
       * [conference], or itself) moderates no more: else it would call
       * again and remove whoever removed it. */
      g_autofree char *bare = cf_fold (p->bare);
      if (room->first_bare != NULL && strcmp (room->first_bare, bare) == 0)
        room->first_removed = TRUE;
      /* ended() runs before this returns: @p and perhaps @room are gone. */
      bf_session_terminate (p->session, "success", "removed from the room by a moderator");
      p = NULL;
      room = NULL;
    }
  if (sessionid != NULL)
    g_hash_table_remove (sessions (cf), sessionid);
  reply = command_reply (iq, node, sessionid, "completed", &command);
  add_note (command, "info", note);
  bf_module_send (cf->module, reply);
}

static void
list_commands (Conference *cf, const BfStanza *iq, Room *room)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  BfStanza *query = bf_stanza_add_child (reply, "query", BF_NS_DISCO_ITEMS);
  const char *from = bf_stanza_get_attr (iq, "from");

  bf_stanza_set_attr (query, "node", CF_NS_COMMANDS);
  /* XEP-0050 §2.2: the list may depend on who asks; only moderators have
   * commands. */
  if (room != NULL && from != NULL && cf_room_is_moderator (room, from))
    {
      static const char *const nodes[][2] = {
        { NODE_MUTE, "Mute or unmute a participant" },
        { NODE_REMOVE, "Remove a participant" },
        { CF_NODE_CONFIG, "Configure the room" },
      };
      for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
        {
          BfStanza *item = bf_stanza_add_child (query, "item", NULL);
          bf_stanza_set_attr (item, "jid", room->jid);
          bf_stanza_set_attr (item, "node", nodes[i][0]);
          bf_stanza_set_attr (item, "name", nodes[i][1]);
        }
    }
  bf_module_send (cf->module, reply);
}

gboolean
cf_moderation_handle (Conference *cf, const BfStanza *iq, const char *name)
{
  const char *type = bf_stanza_get_attr (iq, "type");
  const char *from = bf_stanza_get_attr (iq, "from");
  BfStanza *items = bf_stanza_find_child (iq, "query", BF_NS_DISCO_ITEMS);
  BfStanza *command = bf_stanza_find_child (iq, "command", CF_NS_COMMANDS);
  Room *room = cf_room_lookup (cf, name);
  const char *node, *action, *sessionid;
  BfStanza *form;
  gint64 now = g_get_monotonic_time ();

  if (items != NULL && g_strcmp0 (type, "get") == 0
      && g_strcmp0 (bf_stanza_get_attr (items, "node"), CF_NS_COMMANDS) == 0)
    {
      list_commands (cf, iq, room);
      return TRUE;
    }
  if (command == NULL)
    return FALSE;
  if (g_strcmp0 (type, "set") != 0)
    {
      send_error (cf, iq, "modify", "bad-request", NULL, "commands are iq set");
      return TRUE;
    }
  node = bf_stanza_get_attr (command, "node");
  action = bf_stanza_get_attr (command, "action");
  sessionid = bf_stanza_get_attr (command, "sessionid");
  if (node == NULL || (strcmp (node, NODE_MUTE) != 0 && strcmp (node, NODE_REMOVE) != 0
                       && strcmp (node, CF_NODE_CONFIG) != 0))
    {
      send_error (cf, iq, "cancel", "item-not-found", NULL, "no such command");
      return TRUE;
    }
  /* A room nobody is in has no moderator but those of [conference]; anyone
   * else is told <forbidden/> as at an open room: whether a room is open is
   * for those who may join (disco#items, the count), not for any JID of
   * the federation that sends a command. */
  if (room == NULL && from != NULL && cf->moderators != NULL)
    {
      g_autofree char *bare = bare_lower (from);
      if (g_strv_contains ((const char *const *) cf->moderators, bare))
        {
          send_error (cf, iq, "cancel", "item-not-found", NULL, "nobody is in this room");
          return TRUE;
        }
    }
  if (from == NULL || room == NULL || !cf_room_is_moderator (room, from))
    {
      send_error (cf, iq, "auth", "forbidden", NULL,
                  "only the room's moderators may run this command");
      return TRUE;
    }
  expire_sessions (cf, now);
  if (sessionid != NULL)
    {
      CommandSession *s = g_hash_table_lookup (sessions (cf), sessionid);
      if (s == NULL || strcmp (s->owner, from) != 0 || strcmp (s->node, node) != 0
          || strcmp (s->room, room->name) != 0)
        {
          send_error (cf, iq, "modify", "bad-request", "bad-sessionid", NULL);
          return TRUE;
        }
    }
  if (g_strcmp0 (action, "cancel") == 0)
    {
      g_autoptr (BfStanza) reply = command_reply (iq, node, sessionid, "canceled", NULL);
      if (sessionid != NULL)
        g_hash_table_remove (sessions (cf), sessionid);
      bf_module_send (cf->module, reply);
      return TRUE;
    }
  if (action != NULL && strcmp (action, "execute") != 0 && strcmp (action, "complete") != 0)
    {
      send_error (cf, iq, "modify", "bad-request", "bad-action", NULL);
      return TRUE;
    }
  form = bf_stanza_find_child (command, "x", CF_NS_DATA);
  if (form != NULL && g_strcmp0 (bf_stanza_get_attr (form, "type"), "submit") == 0)
    {
      run_command (cf, iq, room, node, sessionid, form);
      return TRUE;
    }
  if (g_strcmp0 (action, "complete") == 0)
    {
      send_error (cf, iq, "modify", "bad-request", NULL, "complete needs the submitted form");
      return TRUE;
    }
  /* The first stage: the form. */
  g_autofree char *from_bare = bare_lower (from);
  forget_oldest_of (cf, from_bare);
  if (g_hash_table_size (sessions (cf)) >= MAX_SESSIONS)
    {
      send_error (cf, iq, "wait", "resource-constraint", NULL, "too many open commands");
      return TRUE;
    }
  {
    CommandSession *s = g_new0 (CommandSession, 1);
    g_autofree char *id = g_strdup_printf ("%08x%08x", bf_random_u32 (), bf_random_u32 ());
    g_autoptr (BfStanza) reply = NULL;
    BfStanza *c;

    s->owner = g_strdup (from);
    s->owner_bare = g_steal_pointer (&from_bare);
    s->node = g_strdup (node);
    s->room = g_strdup (room->name);
    s->expires = now + SESSION_LIFETIME_US;
    g_hash_table_insert (sessions (cf), g_strdup (id), s);
    reply = command_reply (iq, node, id, "executing", &c);
    add_form (c, room, node);
    bf_module_send (cf->module, reply);
  }
  return TRUE;
}
