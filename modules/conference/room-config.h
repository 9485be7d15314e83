/* conference — a room's configuration: the XEP-0050 command on the node
 * XEP-0521 names (urn:xmpp:av-conferences:config; the XEP leaves the
 * options to the service), and what its options do: recording on or off
 * ([conference] record-dir), a room's own max-participants (at most the
 * global one), its own moderators.
 *
 * Why a file of its own: moderation.c runs the XEP-0050 protocol (sessions,
 * actions, who may); this file is the one form and the room state behind
 * it, including starting and stopping the recorder (recorder.h) on the
 * room's worker and telling the participants that the room records.  A
 * submitted form is read by room-config-form.c (pure, fuzzed).
 *
 * Thread rule: main thread only; the recorder is handed to the room's
 * worker with cf_room_media_post_record().
 */
#pragma once

#include "room-config-form.h"
#include "room.h"

G_BEGIN_DECLS

/* RFC 4575 has no element for "this conference is recorded": ours, as an
 * extension element of <conference-state> (RFC 4575 §5.1 lets any element
 * of another namespace extend it). */
#define CF_NS_RECORDING "urn:belfry:conference:recording:0"
#define CF_RECORDING_NOTICE "This room is being recorded"
#define CF_RECORDING_ENDED_NOTICE "This room is no longer being recorded"
#define CF_RECORDING_FAILED_NOTICE \
  "The recording of this room stopped: it could not be written. This room is no longer being recorded"

/* [conference] record-dir (a directory that exists and belfry can write
 * to, checked now) and record (a boolean, only with record-dir): errors
 * name the file, the group and the key. */
gboolean cf_room_config_read (BfConfigGroup *config, char **record_dir, gboolean *record,
                              GError **error);

/* The most participants @room takes now. */
guint cf_room_max_participants (Room *room);
/* TRUE when @bare_lower is one of the room's own moderators. */
gboolean cf_room_config_is_moderator (Room *room, const char *bare_lower);

/* The form (and its XEP-0050 actions) into @command. */
void cf_room_config_add_form (Room *room, BfStanza *command);
/* Applies a submitted form, all or nothing: TRUE with *@note for the
 * moderator, or FALSE with the error's *@type, *@condition and *@text
 * (static strings). */
gboolean cf_room_config_submit (Room *room, const BfStanza *form, char **note,
                                const char **type, const char **condition, const char **text);

/* The room was opened: records from now when [conference] record says so. */
void cf_room_config_opened (Room *room);
/* @p joined: told when the room records; a recording without video
 * continues in a new file with video when @p has video. */
void cf_room_config_joined (Room *room, Participant *p);
/* Before the room is freed. */
void cf_room_config_free (Room *room);

G_END_DECLS
