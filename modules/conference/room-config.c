/* conference — a room's configuration form (XEP-0050 node
 * urn:xmpp:av-conferences:config, XEP-0521 §6) and the state it sets:
 * recording, max-participants, moderators.  See room-config.h.
 *
 * Thread rule: main thread only.
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "recorder.h"
#include "room-config.h"

/* --- [conference] --- */

gboolean
cf_room_config_read (BfConfigGroup *config, char **record_dir, gboolean *record, GError **error)
{
  g_autofree char *dir = bf_config_get_string (config, "record-dir", NULL, error);

  *record_dir = NULL;
  *record = FALSE;
  if (error != NULL && *error != NULL)
    return FALSE;
  if (dir != NULL)
    {
      /* Checked now, not when a moderator turns recording on in the middle
       * of a call. */
      if (!g_path_is_absolute (dir))
        {
          bf_config_set_error (config, error, "record-dir", "'%s' is not an absolute path", dir);
          return FALSE;
        }
      if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          bf_config_set_error (config, error, "record-dir", "'%s' is not a directory", dir);
          return FALSE;
        }
      if (access (dir, W_OK | X_OK) != 0)
        {
          int saved = errno;
          bf_config_set_error (config, error, "record-dir", "'%s' is not writable: %s", dir,
                               g_strerror (saved));
          return FALSE;
        }
    }
  if (!bf_config_get_boolean (config, "record", FALSE, record, error))
    return FALSE;
  if (*record && dir == NULL)
    {
      bf_config_set_error (config, error, "record",
                           "needs record-dir (the directory the recordings go to)");
      return FALSE;
    }
  *record_dir = g_steal_pointer (&dir);
  return TRUE;
}

/* --- State --- */

guint
cf_room_max_participants (Room *room)
{
  guint global = (guint) room->conference->max_participants;

  /* A reload may lower the global one below the room's. */
  return room->max_participants > 0 ? MIN (room->max_participants, global) : global;
}

gboolean
cf_room_config_is_moderator (Room *room, const char *bare_lower)
{
  return room->moderators != NULL
         && g_strv_contains ((const char *const *) room->moderators, bare_lower);
}

static void
tell (Room *room, Participant *p, const char *text)
{
  g_autoptr (BfStanza) msg = bf_stanza_new ("message", NULL);

  bf_stanza_set_attr (msg, "from", room->jid);
  bf_stanza_set_attr (msg, "to", p->peer);
  bf_stanza_set_attr (msg, "type", "chat");
  bf_stanza_add_text_child (msg, "body", NULL, text);
  bf_module_send (room->conference->module, msg);
}

static void
tell_all (Room *room, const char *text)
{
  for (guint i = 0; i < room->participants->len; i++)
    tell (room, g_ptr_array_index (room->participants, i), text);
}

/* Starts (a new file) or stops the room's recording. */
static gboolean
set_recording (Room *room, gboolean on, GError **error)
{
  Conference *cf = room->conference;
  CfRecorder *rec = NULL;

  if (on == room->recording)
    return TRUE;
  if (on)
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      g_autofree char *base = NULL;
      if (cf->record_dir == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "recording is not configured");
          return FALSE;
        }
      base = cf_recorder_file_name (cf->record_dir, room->name, now);
      /* A second session of the room within the same second: -2, -3...
       * (never an existing file). */
      for (guint n = 1; n <= 9 && rec == NULL; n++)
        {
          g_autofree char *path = NULL;
          g_autoptr (GError) local = NULL;
          if (n == 1)
            path = g_strdup (base);
          else
            path = g_strdup_printf ("%.*s-%u.webm", (int) (strlen (base) - 5), base, n);
          rec = cf_recorder_new (path, room->name, FALSE, &local);
          if (rec == NULL && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
        }
      if (rec == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "no free file name for %s", base);
          return FALSE;
        }
    }
  cf_room_media_post_record (room->media, rec);
  room->recording = on;
  g_message ("room %s: recording %s", room->name, on ? "started" : "stopped");
  tell_all (room, on ? CF_RECORDING_NOTICE : CF_RECORDING_ENDED_NOTICE);
  cf_info_broadcast (room);
  return TRUE;
}

void
cf_room_config_opened (Room *room)
{
  g_autoptr (GError) error = NULL;

  if (room->conference->record && !set_recording (room, TRUE, &error))
    g_warning ("room %s: not recorded: %s", room->name, error->message);
}

void
cf_room_config_joined (Room *room, Participant *p)
{
  if (room->recording)
    tell (room, p, CF_RECORDING_NOTICE);
}

void
cf_room_config_free (Room *room)
{
  /* The recorder is the worker's: room_media_free() closes it. */
  g_clear_pointer (&room->moderators, g_strfreev);
}

/* --- The form --- */

void
cf_room_config_add_form (Room *room, BfStanza *command)
{
  BfStanza *form = bf_stanza_add_child (command, "x", CF_NS_DATA);
  g_autofree char *max = g_strdup_printf ("%u", cf_room_max_participants (room));
  g_autofree char *max_label = g_strdup_printf ("Most participants (2 to %" G_GINT64_FORMAT ")",
                                                room->conference->max_participants);
  BfStanza *field;

  bf_stanza_set_attr (form, "type", "form");
  bf_stanza_add_text_child (form, "title", NULL, "Room configuration");
  cf_form_add_field (form, "FORM_TYPE", "hidden", NULL, CF_NODE_CONFIG);
  /* Only where recordings have somewhere to go. */
  if (room->conference->record_dir != NULL)
    cf_form_add_field (form, "record", "boolean", "Record the room (audio, WebM)",
                       room->recording ? "1" : "0");
  cf_form_add_field (form, "max-participants", "text-single", max_label, max);
  field = cf_form_add_field (form, "moderators", "jid-multi",
                             "Moderators (besides the first participant)", NULL);
  for (guint i = 0; room->moderators != NULL && room->moderators[i]; i++)
    bf_stanza_add_text_child (field, "value", NULL, room->moderators[i]);
  BfStanza *actions = bf_stanza_add_child (command, "actions", NULL);
  bf_stanza_set_attr (actions, "execute", "complete");
  bf_stanza_add_child (actions, "complete", NULL);
}

static gboolean
parse_boolean (const char *value, gboolean *out)
{
  if (value == NULL)
    return FALSE;
  if (strcmp (value, "1") == 0 || strcmp (value, "true") == 0)
    *out = TRUE;
  else if (strcmp (value, "0") == 0 || strcmp (value, "false") == 0)
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

#define FAIL(t, c, x) \
  G_STMT_START { *type = (t); *condition = (c); *text = (x); return FALSE; } G_STMT_END

gboolean
cf_room_config_submit (Room *room, const BfStanza *form, char **note, const char **type,
                       const char **condition, const char **text)
{
  Conference *cf = room->conference;
  BfStanzaIter it, vit;
  BfStanza *field, *value;
  guint n_fields = 0;
  gboolean has_record = FALSE, record = room->recording;
  gboolean has_max = FALSE, has_moderators = FALSE;
  guint64 max = 0;
  g_autoptr (GPtrArray) moderators = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  GString *done;

  /* Everything checked before anything changes. */
  bf_stanza_iter_init (&it, form);
  while (bf_stanza_iter_next (&it, &field))
    {
      const char *var;
      const char *first = NULL;
      guint n_values = 0;

      if (g_strcmp0 (bf_stanza_get_name (field), "field") != 0)
        continue;
      if (++n_fields > CF_CONFIG_MAX_FIELDS)
        FAIL ("modify", "bad-request", "too many fields");
      var = bf_stanza_get_attr (field, "var");
      if (var == NULL)
        FAIL ("modify", "bad-request", "a field without 'var'");
      bf_stanza_iter_init (&vit, field);
      while (bf_stanza_iter_next (&vit, &value))
        {
          if (g_strcmp0 (bf_stanza_get_name (value), "value") != 0)
            continue;
          const char *v = bf_stanza_get_text (value);
          if (v == NULL)
            v = "";
          if (++n_values > CF_CONFIG_MAX_VALUES || strlen (v) > CF_CONFIG_MAX_VALUE)
            FAIL ("modify", "bad-request", "too many or too long values");
          if (first == NULL)
            first = v;
          if (strcmp (var, "moderators") == 0 && v[0] != '\0')
            {
              g_autofree char *local = NULL, *resource = NULL;
              if (!bf_jid_split (v, &local, NULL, &resource) || local == NULL || resource != NULL)
                FAIL ("modify", "bad-request", "a moderator is a bare JID (user@domain)");
              if (moderators->len >= CF_CONFIG_MAX_MODERATORS)
                FAIL ("modify", "not-acceptable", "too many moderators");
              g_ptr_array_add (moderators, cf_fold (v));
            }
        }
      if (strcmp (var, "FORM_TYPE") == 0)
        {
          if (g_strcmp0 (first, CF_NODE_CONFIG) != 0)
            FAIL ("modify", "bad-request", "FORM_TYPE is not " CF_NODE_CONFIG);
        }
      else if (strcmp (var, "record") == 0)
        {
          if (!parse_boolean (first, &record))
            FAIL ("modify", "bad-request", "'record' is a boolean");
          has_record = TRUE;
        }
      else if (strcmp (var, "max-participants") == 0)
        {
          char *end = NULL;
          if (first == NULL || first[0] == '\0' || !g_ascii_isdigit (first[0]))
            FAIL ("modify", "bad-request", "'max-participants' is a number");
          max = g_ascii_strtoull (first, &end, 10);
          if (*end != '\0')
            FAIL ("modify", "bad-request", "'max-participants' is a number");
          if (max < 2 || max > (guint64) cf->max_participants)
            FAIL ("modify", "not-acceptable",
                  "'max-participants' is out of range (2 to the service's maximum)");
          has_max = TRUE;
        }
      else if (strcmp (var, "moderators") == 0)
        has_moderators = TRUE;
      /* Other fields: XEP-0004 lets a form carry what we do not ask for. */
    }
  if (has_record && record && cf->record_dir == NULL)
    FAIL ("cancel", "not-acceptable", "this service does not record rooms");

  if (has_record && !set_recording (room, record, &error))
    {
      g_warning ("room %s: recording could not start: %s", room->name, error->message);
      FAIL ("wait", "internal-server-error", "the recording could not start");
    }
  done = g_string_new ("Saved.");
  if (has_record)
    g_string_append_printf (done, " Recording: %s.", room->recording ? "on" : "off");
  if (has_max && max != cf_room_max_participants (room))
    {
      room->max_participants = (guint) max;
      g_message ("room %s: max-participants set to %u by a moderator", room->name,
                 room->max_participants);
    }
  if (has_max)
    g_string_append_printf (done, " At most %u participants.", cf_room_max_participants (room));
  if (has_moderators)
    {
      g_strfreev (room->moderators);
      g_ptr_array_add (moderators, NULL);
      room->moderators = (char **) g_ptr_array_free (g_steal_pointer (&moderators), FALSE);
      g_string_append_printf (done, " %u moderators named.", g_strv_length (room->moderators));
    }
  *note = g_string_free (done, FALSE);
  return TRUE;
}
