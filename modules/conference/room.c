/* conference — rooms and who is in them (main thread): which names are
 * rooms, a room opened by its first caller on that caller's worker and
 * ended with its last participant, joining and leaving (posted to the
 * room's worker, told to the participants as XEP-0298 conference-info),
 * and who moderates.
 *
 * Thread rule: main thread only; the worker side is room-worker.c's (see
 * room.h).
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include "room-config.h"
#include "room.h"

char *
cf_fold (const char *s)
{
  return g_utf8_validate (s, -1, NULL) ? g_utf8_strdown (s, -1) : g_ascii_strdown (s, -1);
}

gboolean
cf_is_room_name (Conference *cf, const char *localpart)
{
  gsize len = strlen (localpart);

  /* An escaped JID (XEP-0106: bob\40example.org) is a 1:1 call for the
   * relay; any backslash escape is left alone, as are names too long to
   * show. */
  if (len == 0 || len > CF_MAX_ROOM_NAME || strchr (localpart, '\\') != NULL)
    return FALSE;
  /* Names are logged and shown: no control characters (the server's
   * nodeprep already refuses them; this does not depend on it). */
  for (const char *c = localpart; *c; c++)
    if (g_ascii_iscntrl (*c))
      return FALSE;
  if (cf->rooms == NULL)
    return TRUE;
  g_autofree char *folded = cf_fold (localpart);
  return g_strv_contains ((const char *const *) cf->rooms, folded);
}

Room *
cf_room_lookup (Conference *cf, const char *name)
{
  g_autofree char *key = cf_fold (name);

  return g_hash_table_lookup (cf->by_name, key);
}

static void
room_free (Room *room)
{
  cf_info_cancel (room);
  cf_room_config_free (room);
  g_ptr_array_unref (room->participants);
  g_ptr_array_unref (room->forwards);
  g_free (room->name);
  g_free (room->jid);
  g_free (room->first_bare);
  g_free (room);
}

Room *
cf_room_open (Conference *cf, const char *name, BfSession *session)
{
  Room *room = g_new0 (Room, 1);

  room->conference = cf;
  room->name = cf_fold (name);
  room->jid = g_strdup_printf ("%s@%s", room->name, bf_module_get_rooms_domain (cf->module));
  room->participants = g_ptr_array_new ();
  room->forwards = g_ptr_array_new ();
  /* The first caller's worker (the core's choice for it) is the room's:
   * every later session of the room is pinned to it. */
  room->worker = bf_session_get_worker (session);
  room->media = cf_room_media_new (room->worker, &cf->mixer_config, &cf->composite, room->name);
  room->opened_at = g_get_monotonic_time ();
  room->info_version = 1;   /* RFC 4575 §4.1: the first document is version 1 */
  g_hash_table_insert (cf->by_name, room->name, room);
  bf_metric_add (cf->m_rooms_opened, 1);
  bf_metric_gauge_add (cf->g_rooms, 1);
  g_message ("room %s opened", room->name);
  return room;
}

static char *
bare_of (const char *jid)
{
  g_autofree char *local = NULL, *domain = NULL;

  if (!bf_jid_split (jid, &local, &domain, NULL))
    return g_strdup (jid);
  return local != NULL ? g_strdup_printf ("%s@%s", local, domain) : g_strdup (domain);
}

static void
participant_free (gpointer data)
{
  Participant *p = data;

  g_free (p->peer);
  g_free (p->bare);
  g_free (p->audio_content);
  g_free (p->caps_query_id);
  g_clear_pointer (&p->offer, bf_session_media_free);
  if (p->refused != NULL)
    g_array_unref (p->refused);
  if (p->leg.forwards != NULL)
    g_ptr_array_unref (p->leg.forwards);
  cf_rtx_store_free (p->leg.rtx_store);
  g_free (p);
}

Participant *
cf_room_add (Room *room, BfSession *session, BfSessionMedia *offer, gint audio, gint video,
             guint8 pt, guint8 video_pt, CfMcuCodec video_codec, gboolean listens,
             gboolean listen_only, guint8 level_ext, gboolean video_listens)
{
  Participant *p = g_new0 (Participant, 1);

  p->kind = CF_DATA_PARTICIPANT;
  p->room = room;
  p->session = session;
  p->peer = g_strdup (bf_session_get_peer (session));
  p->bare = bare_of (p->peer);
  p->audio_content = g_strdup (bf_session_media_get_content_name (offer, (guint) audio));
  p->offer = offer;
  p->audio_index = listen_only ? -1 : audio;
  p->video_index = video;
  p->refused = g_array_new (FALSE, FALSE, sizeof (guint));
  if (video >= 0)
    {
      /* Its simulcast layers, when it announced them (XEP-0339 ssrc-group
       * SIM, lowest first as WebRTC lists them). */
      const guint32 *ssrcs;
      guint n;
      p->leg.has_video = TRUE;
      p->leg.video_pt = video_pt;
      for (guint i = 0; bf_session_media_get_source_group (offer, (guint) video, i, &ssrcs, &n)
                        != NULL; i++)
        if (g_strcmp0 (bf_session_media_get_source_group (offer, (guint) video, i, &ssrcs, &n),
                       "SIM") == 0 && n > 1)
          {
            p->leg.n_layers = MIN (n, CF_SFU_MAX_LAYERS);
            memcpy (p->leg.layers, ssrcs, p->leg.n_layers * sizeof (guint32));
            break;
          }
    }
  if (video_listens)
    {
      /* The composite goes to it (mcu-room.c) under an SSRC of ours. */
      p->leg.video_listens = TRUE;
      p->leg.video_pt = video_pt;
      p->leg.mcu_ssrc = bf_random_u32 ();
    }
  p->leg.video_codec = video_codec;
  p->number = ++room->next_number;
  p->joined_at = g_get_monotonic_time ();
  p->leg.pt = pt;
  p->leg.level_ext = level_ext;
  p->leg.listens = listens;
  p->listen_only = listen_only;
  /* RFC 3550 §5.1 / §6.5.1: a random SSRC and a random CNAME of ours per
   * participant; nothing of one participant's identity reaches another. */
  p->leg.ssrc = bf_random_u32 ();
  g_snprintf (p->leg.cname, sizeof p->leg.cname, "belfry-%08x", bf_random_u32 ());
  g_strlcpy (p->leg.sid, bf_session_get_sid (session), sizeof p->leg.sid);
  if (room->first_bare == NULL)
    room->first_bare = cf_fold (p->bare);
  g_ptr_array_add (room->participants, p);
  /* Freed by the core after the session's last media() call (session.h). */
  bf_session_set_data (session, p, participant_free);
  cf_room_media_post_join (room->media, p);
  bf_metric_add (room->conference->m_joined, 1);
  bf_metric_gauge_add (room->conference->g_participants, 1);
  g_message ("room %s: call %s joined (participants: %u)", room->name,
             bf_session_get_sid (session), room->participants->len);
  cf_info_query_caps (room, p);
  cf_info_broadcast (room);
  /* A room recording from its start opens its file with its first
   * participant: whether it has a video track depends on who that is
   * (cf_room_has_video). */
  cf_room_config_joined (room, p);
  if (room->participants->len == 1 && room->next_number == 1)
    cf_room_config_opened (room);
  cf_sfu_joined (room, p);
  return p;
}

void
cf_room_remove (Room *room, Participant *p, const char *reason)
{
  Conference *cf = room->conference;

  /* The sessions carrying its streams, or others' to it, end first: their
   * leave jobs run before its own. */
  cf_sfu_leaving (room, p);
  g_ptr_array_remove (room->participants, p);
  p->room = NULL;
  if (p->caps_query_id != NULL)
    g_hash_table_remove (cf->caps_queries, p->caps_query_id);
  /* Runs on the worker before the core lets go of the session there. */
  cf_room_media_post_leave (room->media, p);
  bf_metric_gauge_add (cf->g_participants, -1);
  g_message ("room %s: call %s left: %s (participants: %u)", room->name,
             bf_session_get_sid (p->session), reason, room->participants->len);
  if (room->participants->len > 0)
    {
      cf_info_broadcast (room);
      return;
    }
  /* The last one: the room ends; its name may open a new one later, on
   * whatever worker its next caller gets. */
  cf_room_media_post_free (room->media);
  g_message ("room %s closed after %" G_GINT64_FORMAT " s", room->name,
             (g_get_monotonic_time () - room->opened_at) / G_USEC_PER_SEC);
  g_hash_table_remove (cf->by_name, room->name);
  bf_metric_gauge_add (cf->g_rooms, -1);
  room_free (room);
}

Participant *
cf_room_find_number (Room *room, guint number)
{
  for (guint i = 0; i < room->participants->len; i++)
    {
      Participant *p = g_ptr_array_index (room->participants, i);
      if (p->number == number)
        return p;
    }
  return NULL;
}

gboolean
cf_room_is_moderator (Room *room, const char *jid)
{
  g_autofree char *bare = bare_of (jid);
  g_autofree char *lower = cf_fold (bare);
  Conference *cf = room->conference;

  if (room->first_bare != NULL && !room->first_removed && strcmp (room->first_bare, lower) == 0)
    return TRUE;
  if (cf_room_config_is_moderator (room, lower))
    return TRUE;
  return cf->moderators != NULL && g_strv_contains ((const char *const *) cf->moderators, lower);
}

/* Muted for the mix when it muted itself or a moderator muted it. */
void
cf_participant_update_mute (Participant *p)
{
  if (p->room == NULL)
    return;
  cf_room_media_post_mute (p->room->media, p,
                           p->self_muted || p->moderator_muted || p->on_hold);
  cf_info_broadcast (p->room);
}

gboolean
cf_room_has_video (Room *room)
{
  for (guint i = 0; i < room->participants->len; i++)
    if (((Participant *) g_ptr_array_index (room->participants, i))->leg.has_video)
      return TRUE;
  return FALSE;
}
