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

/* A new recorder writing a new file for @room (never an existing one),
 * with a video track when someone in the room has video. */
static CfRecorder *
open_recorder (Room *room, gboolean *with_video, GError **error)
{
  Conference *cf = room->conference;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *base = NULL;

  if (cf->record_dir == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "recording is not configured");
      return NULL;
    }
  *with_video = cf_room_has_video (room);
  base = cf_recorder_file_name (cf->record_dir, room->name, now);
  /* A second file of the room within the same second: -2, -3... (never an
   * existing file). */
  for (guint n = 1; n <= 9; n++)
    {
      g_autofree char *path = NULL;
      g_autoptr (GError) local = NULL;
      CfRecorder *rec;
      if (n == 1)
        path = g_strdup (base);
      else
        path = g_strdup_printf ("%.*s-%u.webm", (int) (strlen (base) - 5), base, n);
      rec = cf_recorder_new (path, room->name, *with_video, &local);
      if (rec != NULL)
        return rec;
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "no free file name for %s", base);
  return NULL;
}

static gboolean check_recording (gpointer data);

/* Hands @rec (NULL: none) to the worker, with a fresh failure flag that the
 * main thread polls while it records. */
static void
post_recorder (Room *room, CfRecorder *rec, gboolean with_video)
{
  g_clear_handle_id (&room->recording_watch, g_source_remove);
  g_clear_pointer (&room->recording_failed, g_atomic_rc_box_release);
  if (rec != NULL)
    {
      room->recording_failed = g_atomic_rc_box_new0 (gint);
      /* A second is soon enough to tell people; the flag is one atomic read. */
      room->recording_watch = g_timeout_add_seconds (1, check_recording, room);
    }
  cf_room_media_post_record (room->media, rec, room->recording_failed);
  room->recording = rec != NULL;
  room->recording_video = rec != NULL && with_video;
}

/* Starts (a new file) or stops the room's recording. */
static gboolean
set_recording (Room *room, gboolean on, GError **error)
{
  CfRecorder *rec = NULL;
  gboolean with_video = FALSE;

  if (on == room->recording)
    return TRUE;
  if (on && (rec = open_recorder (room, &with_video, error)) == NULL)
    return FALSE;
  post_recorder (room, rec, with_video);
  g_message ("room %s: recording %s", room->name, on ? "started" : "stopped");
  tell_all (room, on ? CF_RECORDING_NOTICE : CF_RECORDING_ENDED_NOTICE);
  cf_info_broadcast (room);
  return TRUE;
}

/* The worker let a failed recorder go (recorder.c logged why: a full disk,
 * a write error): the room goes on unrecorded, and everyone is told, so
 * nobody believes a call is on record when it is not, and the form shows
 * recording off (a moderator may try again: a new file). */
static gboolean
check_recording (gpointer data)
{
  Room *room = data;

  if (!g_atomic_int_get (room->recording_failed))
    return G_SOURCE_CONTINUE;
  room->recording_watch = 0;
  post_recorder (room, NULL, FALSE);
  g_warning ("room %s: recording failed; the room goes on unrecorded", room->name);
  tell_all (room, CF_RECORDING_FAILED_NOTICE);
  cf_info_broadcast (room);
  return G_SOURCE_REMOVE;
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
  CfRecorder *rec;
  gboolean with_video = FALSE;
  g_autoptr (GError) error = NULL;

  if (!room->recording)
    return;
  tell (room, p, CF_RECORDING_NOTICE);
  /* A WebM file's tracks are fixed at its start: a recording that began
   * audio-only continues in a new file with a video track once someone
   * who has video joins (the first file ends where the second begins). */
  if (room->recording_video || !p->leg.has_video)
    return;
  rec = open_recorder (room, &with_video, &error);
  if (rec == NULL)
    {
      g_warning ("room %s: recording goes on without video: %s", room->name, error->message);
      return;
    }
  post_recorder (room, rec, with_video);
  g_message ("room %s: recording continues in a new file, with video", room->name);
}

void
cf_room_config_free (Room *room)
{
  /* The recorder is the worker's: room_media_free() closes it. */
  g_clear_handle_id (&room->recording_watch, g_source_remove);
  g_clear_pointer (&room->recording_failed, g_atomic_rc_box_release);
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

gboolean
cf_room_config_submit (Room *room, const BfStanza *form, char **note, const char **type,
                       const char **condition, const char **text)
{
  Conference *cf = room->conference;
  CfConfigValues v;
  g_autoptr (GError) error = NULL;
  GString *done;

  /* Everything checked before anything changes. */
  if (!cf_config_form_parse (form, (guint) cf->max_participants, cf->record_dir != NULL, &v,
                             type, condition, text))
    return FALSE;
  if (v.has_record && !set_recording (room, v.record, &error))
    {
      g_warning ("room %s: recording could not start: %s", room->name, error->message);
      cf_config_values_clear (&v);
      *type = "wait";
      *condition = "internal-server-error";
      *text = "the recording could not start";
      return FALSE;
    }
  done = g_string_new ("Saved.");
  if (v.has_record)
    g_string_append_printf (done, " Recording: %s.", room->recording ? "on" : "off");
  if (v.has_max && v.max != cf_room_max_participants (room))
    {
      room->max_participants = v.max;
      g_message ("room %s: max-participants set to %u by a moderator", room->name,
                 room->max_participants);
    }
  if (v.has_max)
    g_string_append_printf (done, " At most %u participants.", cf_room_max_participants (room));
  if (v.has_moderators)
    {
      g_strfreev (room->moderators);
      room->moderators = g_steal_pointer (&v.moderators);
      g_string_append_printf (done, " %u moderators named.", g_strv_length (room->moderators));
    }
  cf_config_values_clear (&v);
  *note = g_string_free (done, FALSE);
  return TRUE;
}
