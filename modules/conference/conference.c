/* conference — group calls that any XMPP client places like a 1:1 call:
 * a call to <name>@<component> joins room <name>, which answers with one
 * Opus stream of everyone else mixed (mix-minus).
 *
 * This file is the module: its configuration ([conference]), which
 * addresses are rooms (a localpart predicate: any name that is not an
 * escaped JID and not another module's), the session hooks (the answer of
 * our own, pinning every session of a room to the room's worker), disco
 * (a room's disco#info, open rooms in the component's disco#items),
 * presence (a room in a roster is online, so Conversations shows a call
 * button), and the stanzas for rooms (XEP-0050 commands, replies to our
 * disco#info queries).  Rooms are room.c's, the worker side room-worker.c's,
 * XEP-0298 conference-info.c's, moderation moderation.c's, the mixing
 * mixer.c's.
 *
 * Thread rule: main thread, except media() and media_ready(), which run on
 * the session's (the room's) worker and go straight to room-worker.c.
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include "room-config.h"
#include "room.h"

/* --- Configuration --- */

static gboolean
valid_room_name (const char *name)
{
  /* A localpart (RFC 7622 §3.3) without the characters XEP-0106 escapes,
   * short enough to show. */
  if (name[0] == '\0' || strlen (name) > CF_MAX_ROOM_NAME || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  for (const char *c = name; *c; c++)
    if (strchr (" \"&'/:<>@\\", *c) != NULL || g_ascii_iscntrl (*c))
      return FALSE;
  return TRUE;
}

/* [conference] as read: applied at init(), and again, all or nothing, on a
 * reload (SIGHUP). */
typedef struct {
  char **rooms;            /* NULL: any name */
  char **allow;            /* NULL: any domain */
  char **moderators;       /* lower case; may be NULL */
  gint64 max_participants;
  gint64 max_talkers;
  gint64 bitrate;
  char *record_dir;        /* room-config.h */
  gboolean record;
  gint64 last_n;           /* XEP-0521 receivers: video of the N latest speakers (last-n.h) */
  CfCompositeConfig composite;
} Settings;

static void
settings_clear (Settings *s)
{
  g_clear_pointer (&s->rooms, g_strfreev);
  g_clear_pointer (&s->allow, g_strfreev);
  g_clear_pointer (&s->moderators, g_strfreev);
  g_clear_pointer (&s->record_dir, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Settings, settings_clear)

/* [conference] composite-size ("WxH"), composite-fps, composite-bitrate
 * (kb/s): the MCU's picture.  Bounds are mcu.h's, the rate at most 30 (a
 * composite of camera pictures gains nothing above it). */
static gboolean
read_composite (BfConfigGroup *config, CfCompositeConfig *out, GError **error)
{
  g_autofree char *size = bf_config_get_string (config, "composite-size",
                                                CF_COMPOSITE_DEFAULT_SIZE, error);
  guint64 w = 0, h = 0;
  gint64 fps, kbps;
  char *end = NULL;

  if (size == NULL)
    return FALSE;
  if (g_ascii_isdigit (size[0]))
    w = g_ascii_strtoull (size, &end, 10);
  if (end == NULL || (*end != 'x' && *end != 'X') || !g_ascii_isdigit (end[1])
      || (h = g_ascii_strtoull (end + 1, &end, 10), *end != '\0'))
    {
      bf_config_set_error (config, error, "composite-size",
                           "'%s' is not a picture size (WIDTHxHEIGHT, e.g. 640x360)", size);
      return FALSE;
    }
  if (w < 64 || w > 1920 || h < 64 || h > 1080 || w % 2 != 0 || h % 2 != 0)
    {
      bf_config_set_error (config, error, "composite-size",
                           "'%s' is out of range (even sizes, 64x64 to 1920x1080)", size);
      return FALSE;
    }
  if (!bf_config_get_int (config, "composite-fps", CF_COMPOSITE_DEFAULT_FPS, 1, 30, &fps, error)
      || !bf_config_get_int (config, "composite-bitrate", CF_COMPOSITE_DEFAULT_KBPS, 50, 8000,
                             &kbps, error))
    return FALSE;
  out->width = (guint) w;
  out->height = (guint) h;
  out->fps = (guint) fps;
  out->kbps = (guint) kbps;
  return TRUE;
}

static gboolean
read_config (BfModule *module, BfConfigGroup *config, Settings *out, GError **error)
{
  g_auto (GStrv) rooms = NULL;
  g_auto (GStrv) moderators = NULL;
  GError *local_error = NULL;

  rooms = bf_config_get_string_list (config, "rooms", &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (rooms != NULL)
    {
      if (rooms[0] == NULL)
        {
          bf_config_set_error (config, error, "rooms",
                               "is empty: '*' for any name, or a list of room names");
          return FALSE;
        }
      if (!(g_strv_length (rooms) == 1 && strcmp (rooms[0], "*") == 0))
        {
          for (guint i = 0; rooms[i]; i++)
            {
              if (strcmp (rooms[i], "*") == 0)
                {
                  bf_config_set_error (config, error, "rooms",
                                       "'*' (any name) cannot be listed with names");
                  return FALSE;
                }
              if (!valid_room_name (rooms[i]))
                {
                  bf_config_set_error (config, error, "rooms",
                                       "'%s' is not a room name (at most %d bytes, none of "
                                       "space \" & ' / : < > @ \\)", rooms[i], CF_MAX_ROOM_NAME);
                  return FALSE;
                }
              char *lower = cf_fold (rooms[i]);
              g_free (rooms[i]);
              rooms[i] = lower;
            }
          out->rooms = g_steal_pointer (&rooms);
        }
    }
  if (!bf_config_get_int (config, "max-participants", 50, 2, 500, &out->max_participants, error))
    return FALSE;
  /* The mixer: K talkers mixed at once (issue 13: 3..5 keeps a room
   * intelligible; more costs a decode and an encode each), and the bitrate
   * of each encoder. */
  if (!bf_config_get_int (config, "max-talkers", 3, CF_MIXER_MIN_TALKERS, CF_MIXER_MAX_TALKERS,
                          &out->max_talkers, error)
      || !bf_config_get_int (config, "bitrate", 32000, 6000, 128000, &out->bitrate, error))
    return FALSE;
  /* The SFU's last-N: rooms read it on their worker each tick (reload
   * applies at once). */
  if (!bf_config_get_int (config, "last-n", CF_LAST_N_DEFAULT, CF_LAST_N_MIN, CF_LAST_N_MAX,
                          &out->last_n, error))
    return FALSE;
  if (!read_composite (config, &out->composite, error))
    return FALSE;
  if (!bf_config_get_domain_list (config, "allow-domains", bf_module_get_server_domain (module),
                                  &out->allow, error))
    return FALSE;
  moderators = bf_config_get_string_list (config, "moderators", &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  for (guint i = 0; moderators != NULL && moderators[i]; i++)
    {
      g_autofree char *local = NULL, *resource = NULL;
      if (!bf_jid_split (moderators[i], &local, NULL, &resource) || local == NULL
          || resource != NULL)
        {
          bf_config_set_error (config, error, "moderators",
                               "'%s' is not a bare JID (user@domain)", moderators[i]);
          return FALSE;
        }
      char *lower = cf_fold (moderators[i]);
      g_free (moderators[i]);
      moderators[i] = lower;
    }
  out->moderators = g_steal_pointer (&moderators);
  return cf_room_config_read (config, &out->record_dir, &out->record, error);
}

static char *
list_text (char **list, const char *all)
{
  return list != NULL ? g_strjoinv (";", list) : g_strdup (all);
}

/* Takes @s into @cf, logging each change when @log (a reload). */
static void
apply_settings (Conference *cf, Settings *s, gboolean log)
{
  if (log)
    {
      static const struct { const char *key, *all; gsize offset_cf, offset_s; } lists[] = {
        { "rooms", "*", G_STRUCT_OFFSET (Conference, rooms), G_STRUCT_OFFSET (Settings, rooms) },
        { "allow-domains", "*", G_STRUCT_OFFSET (Conference, allow),
          G_STRUCT_OFFSET (Settings, allow) },
        { "moderators", "(none)", G_STRUCT_OFFSET (Conference, moderators),
          G_STRUCT_OFFSET (Settings, moderators) },
      };
      for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
        {
          g_autofree char *was = list_text (G_STRUCT_MEMBER (char **, cf, lists[i].offset_cf),
                                            lists[i].all);
          g_autofree char *now = list_text (G_STRUCT_MEMBER (char **, s, lists[i].offset_s),
                                            lists[i].all);
          if (strcmp (was, now) != 0)
            g_message ("reload: [conference] %s: %s → %s", lists[i].key, was, now);
        }
      if (s->max_participants != cf->max_participants)
        g_message ("reload: [conference] max-participants: %" G_GINT64_FORMAT " → %"
                   G_GINT64_FORMAT, cf->max_participants, s->max_participants);
      if ((guint) s->max_talkers != cf->mixer_config.max_talkers)
        g_message ("reload: [conference] max-talkers: %u → %u (rooms opened from now on)",
                   cf->mixer_config.max_talkers, (guint) s->max_talkers);
      if ((gint) s->bitrate != cf->mixer_config.bitrate)
        g_message ("reload: [conference] bitrate: %d → %d (rooms opened from now on)",
                   cf->mixer_config.bitrate, (gint) s->bitrate);
      if (memcmp (&s->composite, &cf->composite, sizeof s->composite) != 0)
        g_message ("reload: [conference] composite: %u×%u %u fps %u kb/s → %u×%u %u fps %u "
                   "kb/s (rooms opened from now on)", cf->composite.width,
                   cf->composite.height, cf->composite.fps, cf->composite.kbps,
                   s->composite.width, s->composite.height, s->composite.fps, s->composite.kbps);
    }
  g_strfreev (cf->rooms);
  g_strfreev (cf->allow);
  g_strfreev (cf->moderators);
  cf->rooms = g_steal_pointer (&s->rooms);
  cf->allow = g_steal_pointer (&s->allow);
  cf->moderators = g_steal_pointer (&s->moderators);
  cf->max_participants = s->max_participants;
  cf->mixer_config.max_talkers = (guint) s->max_talkers;
  cf->mixer_config.bitrate = (gint) s->bitrate;
  cf->composite = s->composite;
  cf_sfu_set_last_n ((guint) s->last_n);
  /* Recording: rooms opened (or turned on) from now on. */
  if (log && (g_strcmp0 (cf->record_dir, s->record_dir) != 0 || cf->record != s->record))
    g_message ("reload: [conference] record-dir/record: %s, %s → %s, %s",
               cf->record_dir ? cf->record_dir : "(none)", cf->record ? "true" : "false",
               s->record_dir ? s->record_dir : "(none)", s->record ? "true" : "false");
  g_free (cf->record_dir);
  cf->record_dir = g_steal_pointer (&s->record_dir);
  cf->record = s->record;
}

/* --- Addresses --- */

static Conference *
conference_of (BfModule *module)
{
  return bf_module_get_data (module);
}

static gboolean
conference_claims (BfModule *module, const char *localpart)
{
  Conference *cf = conference_of (module);

  return cf != NULL && (cf_is_room_name (cf, localpart) || cf_room_lookup (cf, localpart) != NULL);
}

/* The room name of a JID of ours, or NULL. */
static char *
room_name_of (Conference *cf, const char *jid)
{
  g_autofree char *local = NULL;

  if (jid == NULL || !bf_jid_split (jid, &local, NULL, NULL) || local == NULL
      || !(cf_is_room_name (cf, local) || cf_room_lookup (cf, local) != NULL))
    return NULL;
  return cf_fold (local);
}

static gboolean
domain_allowed (Conference *cf, const char *jid)
{
  g_autofree char *domain = NULL;

  return jid != NULL && bf_jid_split (jid, NULL, &domain, NULL)
         && bf_domain_list_contains ((const char *const *) cf->allow, domain);
}

static void
conference_disco_items (BfModule *module, BfDiscoItems *items)
{
  Conference *cf = conference_of (module);
  GHashTableIter it;
  gpointer value;

  /* Open rooms (and who is in them, by count) are for those who may join:
   * a room's name can be private to the people it was given to. */
  const char *from = bf_disco_items_get_from (items);
  if (from == NULL || !domain_allowed (cf, from))
    return;
  g_hash_table_iter_init (&it, cf->by_name);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      Room *room = value;
      g_autofree char *name = g_strdup_printf ("Group call %s (%u)", room->name,
                                               room->participants->len);
      if (!bf_disco_items_add (items, room->jid, name))
        break;
    }
}

/* --- Sessions --- */

static gboolean
is_opus (const BfSessionCodec *codec)
{
  /* RFC 7587 §7: always opus/48000/2 in signalling. */
  return codec->name != NULL && g_ascii_strcasecmp (codec->name, "opus") == 0
         && codec->clockrate == CF_CLOCK && codec->channels == 2;
}

/* The audio content the room takes: the first with Opus on which both
 * sides send, else the first with Opus on which one side does (a caller
 * who only listens, senders='responder', or only talks, 'initiator'):
 * its index, the Opus payload type in *@pt and its senders in *@senders;
 * -1 when there is none. */
static int
find_audio (const BfSessionMedia *offer, guint8 *pt, BfSessionSenders *senders)
{
  int found = -1;
  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    {
      BfSessionSenders s = bf_session_media_get_content_senders (offer, c);
      if (g_strcmp0 (bf_session_media_get_content_kind (offer, c), "audio") != 0
          || s == BF_SESSION_SENDERS_NONE
          || (found >= 0 && s != BF_SESSION_SENDERS_BOTH))
        continue;
      for (guint i = 0; i < bf_session_media_get_n_codecs (offer, c); i++)
        {
          BfSessionCodec codec;
          if (bf_session_media_get_codec (offer, c, i, &codec) && is_opus (&codec))
            {
              *pt = codec.id;
              *senders = s;
              found = (int) c;
              break;
            }
        }
      if (found >= 0 && *senders == BF_SESSION_SENDERS_BOTH)
        break;
    }
  return found;
}

/* Whether payload type @i of content @c is a video codec the room takes,
 * and which (*@which): VP8; H.264 in packetization mode 1 (RFC 6184
 * §8.1: non-interleaved, what Chromium and Conversations offer) of the
 * baseline family (profile_idc 0x42: the MCU sends constrained baseline
 * on it, which such a decoder takes) when this machine has what the
 * caller's direction needs (mcu.h; a missing element is logged once and
 * H.264 not answered; checked by cf_mcu_prepare's thread: never waited
 * for here): an H.264 decoder when it sends (@senders 'both' or
 * 'initiator': the MCU tiles its video for ordinary listeners and the
 * recording), x264enc when it receives ('both' or 'responder': the
 * composite in H.264).  An XEP-0521 client ('initiator') never gets the
 * composite, so it needs no encoder.  Either way its H.264 is forwarded
 * to the XEP-0521 clients that offered H.264 (sfu-signal.c). */
static gboolean
takes_video (const BfSessionMedia *offer, guint c, const BfSessionCodec *codec,
             BfSessionSenders senders, CfMcuCodec *which)
{
  if (codec->name == NULL || codec->clockrate != 90000)
    return FALSE;
  if (g_ascii_strcasecmp (codec->name, "VP8") == 0)
    {
      *which = CF_MCU_CODEC_VP8;
      return TRUE;
    }
  if (g_ascii_strcasecmp (codec->name, "H264") != 0)
    return FALSE;
  const char *mode = bf_session_media_get_codec_parameter (offer, c, codec->id,
                                                           "packetization-mode");
  const char *profile = bf_session_media_get_codec_parameter (offer, c, codec->id,
                                                              "profile-level-id");
  if (g_strcmp0 (mode, "1") != 0 || profile == NULL || strlen (profile) != 6
      || g_ascii_strncasecmp (profile, "42", 2) != 0)
    return FALSE;
  if (senders != BF_SESSION_SENDERS_RESPONDER
      && !cf_mcu_codec_available (CF_MCU_CODEC_H264, FALSE))
    return FALSE;
  if (senders != BF_SESSION_SENDERS_INITIATOR
      && !cf_mcu_codec_available (CF_MCU_CODEC_H264, TRUE))
    return FALSE;
  *which = CF_MCU_CODEC_H264;
  return TRUE;
}

/* The payload type of content @c the room takes (*@pt, *@which), or
 * FALSE.  An ordinary caller gets the one its offer prefers: it is
 * answered in that codec both ways.  An XEP-0521 client (@senders
 * 'initiator') offering VP8 and H.264 gets VP8 whatever its order: its
 * stream goes to every XEP-0521 receiver, and every one takes VP8, while
 * H.264 reaches only those that listed it (the rest would get its audio
 * alone, sfu-signal.c). */
static gboolean
pick_video (const BfSessionMedia *offer, guint c, BfSessionSenders senders, guint8 *pt,
            CfMcuCodec *which)
{
  gboolean found = FALSE;

  for (guint i = 0; i < bf_session_media_get_n_codecs (offer, c); i++)
    {
      BfSessionCodec codec;
      CfMcuCodec k;
      if (!bf_session_media_get_codec (offer, c, i, &codec)
          || !takes_video (offer, c, &codec, senders, &k) || (found && k != CF_MCU_CODEC_VP8))
        continue;
      *pt = codec.id;
      *which = k;
      found = TRUE;
      if (k == CF_MCU_CODEC_VP8 || senders != BF_SESSION_SENDERS_INITIATOR)
        break;
    }
  return found;
}

/* The video content the room takes: the first with VP8 or H.264
 * (pick_video) on which anyone sends.  Its index, payload type in *@pt,
 * codec in *@codec and senders in *@senders
 * (XEP-0166 names them from the initiator's side, the caller's: 'both' it
 * sends its video (a source of the composite, forwarded to XEP-0521
 * participants) and gets the composite, 'initiator' it only sends (an
 * XEP-0521 client), 'responder' it only gets the composite); -1 when
 * there is none. */
static int
find_video (const BfSessionMedia *offer, guint8 *pt, CfMcuCodec *which,
            BfSessionSenders *senders)
{
  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    {
      BfSessionSenders s = bf_session_media_get_content_senders (offer, c);
      if (g_strcmp0 (bf_session_media_get_content_kind (offer, c), "video") != 0
          || s == BF_SESSION_SENDERS_NONE)
        continue;
      *senders = s;
      if (pick_video (offer, c, s, pt, which))
        return (int) c;
    }
  return -1;
}

/* Our answer: the audio content with Opus alone (the offer's number),
 * in-band FEC asked for, the RFC 6464 audio level kept when offered (the
 * mixer picks talkers by it without decoding), our SSRC and cname.  Every
 * other content (a second audio or video) is answered with senders 'none':
 * accepted but carrying nothing, so the peer's BUNDLE group and its m-lines
 * stay as offered (a partial accept would break clients that cannot take
 * one, and video can be turned on there later).  The caller's VP8 or
 * H.264 video (@video) is answered with its own senders (that codec alone,
 * its parameters and feedback as offered: the room asks it for
 * keyframes, it asks the room): what it sends the room receives (a source
 * of the composite, also forwarded to XEP-0521 participants:
 * sfu-room.c, mcu-room.c); when it receives, the
 * room sends it the composite under our video SSRC. */
static BfSessionMedia *
build_answer (const BfSessionMedia *offer, int audio, guint8 pt, BfSessionSenders senders,
              guint16 level_ext, int video, guint8 video_pt, BfSessionSenders video_senders,
              const Participant *p, const char *msid, const char *video_msid)
{
  BfSessionMedia *answer = bf_session_media_new ();

  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    {
      const char *name = bf_session_media_get_content_name (offer, c);
      const char *kind = bf_session_media_get_content_kind (offer, c);
      if ((int) c == audio)
        {
          guint a = bf_session_media_add_content (answer, name, kind, senders);
          const BfSessionCodec opus = { pt, "opus", CF_CLOCK, 2 };
          bf_session_media_add_codec (answer, a, &opus);
          bf_session_media_add_codec_parameter (answer, a, pt, "minptime", "10");
          bf_session_media_add_codec_parameter (answer, a, pt, "useinbandfec", "1");
          if (level_ext != 0)
            bf_session_media_add_header_extension (answer, a, level_ext, CF_AUDIO_LEVEL_URI);
          bf_session_media_add_source (answer, a, p->leg.ssrc, p->leg.cname, msid);
        }
      else if ((int) c == video)
        {
          guint a = bf_session_media_add_content (answer, name, kind, video_senders);
          bf_session_media_copy_codec (answer, a, offer, c, video_pt);
          if (p->leg.video_listens)
            bf_session_media_add_source (answer, a, p->leg.mcu_ssrc, p->leg.cname, video_msid);
        }
      else
        {
          BfSessionCodec codec;
          guint a = bf_session_media_add_content (answer, name, kind, BF_SESSION_SENDERS_NONE);
          /* An answer names one of the offered codecs even when idle. */
          if (bf_session_media_get_codec (offer, c, 0, &codec))
            bf_session_media_copy_codec (answer, a, offer, c, codec.id);
        }
    }
  return answer;
}

static BfSessionDecision
conference_offer (BfModule *module, BfSession *session)
{
  Conference *cf = conference_of (module);
  const char *sid = bf_session_get_sid (session);
  const char *peer = bf_session_get_peer (session);
  g_autofree char *name = room_name_of (cf, bf_session_get_local (session));
  g_autoptr (BfSessionMedia) offer = bf_session_get_offer (session);
  g_autoptr (BfSessionMedia) answer = NULL;
  g_autoptr (BfSessionMedia) answer_offer = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *msid = NULL;
  Room *room;
  Participant *p;
  g_autofree char *video_msid = NULL;
  guint8 pt = 0, video_pt = 0;
  CfMcuCodec video_codec = CF_MCU_CODEC_VP8;
  guint16 level_ext = 0;
  BfSessionSenders senders = BF_SESSION_SENDERS_BOTH;
  BfSessionSenders video_senders = BF_SESSION_SENDERS_NONE;
  int audio, video;

  if (name == NULL || offer == NULL)
    return BF_SESSION_DECLINE;
  if (!domain_allowed (cf, peer))
    {
      g_message ("room %s: call %s declined: the caller's domain is not in "
                 "[conference] allow-domains", name, sid);
      bf_metric_add (cf->m_declined, 1);
      bf_session_terminate (session, "decline", "this room takes users of its own domains only");
      return BF_SESSION_DECLINE;
    }
  room = cf_room_lookup (cf, name);
  if (room != NULL && room->participants->len >= cf_room_max_participants (room))
    {
      g_message ("room %s: call %s declined: the room is full (%u, [conference] "
                 "max-participants)", name, sid, room->participants->len);
      bf_metric_add (cf->m_busy, 1);
      bf_session_terminate (session, "busy", "the room is full");
      return BF_SESSION_DECLINE;
    }
  audio = find_audio (offer, &pt, &senders);
  if (audio < 0)
    {
      /* XEP-0166 §6.7: the application is supported, none of its payload
       * types is. */
      g_message ("room %s: call %s declined: no opus/48000/2 audio in the offer", name, sid);
      bf_metric_add (cf->m_declined, 1);
      bf_session_terminate (session, "incompatible-parameters",
                            "the room takes Opus (opus/48000/2) audio only");
      return BF_SESSION_DECLINE;
    }
  video = find_video (offer, &video_pt, &video_codec, &video_senders);
  level_ext = bf_session_media_find_header_extension (offer, audio, CF_AUDIO_LEVEL_URI);
  if (level_ext > 255)
    level_ext = 0;   /* no RFC 8285 element has such an id: not answered */

  /* One worker per room: the mixer reads and sends every participant on
   * one thread.  The first caller's worker (the core's choice) becomes the
   * room's; later ones are moved to it. */
  if (room != NULL && bf_session_get_worker (session) != room->worker)
    {
      if (!bf_session_set_worker (session, room->worker, &error))
        {
          g_warning ("room %s: call %s cannot run on the room's worker: %s", name, sid,
                     error->message);
          bf_session_terminate (session, "general-error", NULL);
          return BF_SESSION_DECLINE;
        }
      g_info ("room %s: call %s moved from the core's choice of worker to the room's", name,
              sid);
    }
  if (room == NULL)
    room = cf_room_open (cf, name, session);

  answer_offer = bf_session_get_offer (session);
  p = cf_room_add (room, session, g_steal_pointer (&answer_offer), audio,
                   video >= 0 && video_senders != BF_SESSION_SENDERS_RESPONDER ? video : -1, pt,
                   video_pt, video_codec, senders != BF_SESSION_SENDERS_INITIATOR,
                   senders == BF_SESSION_SENDERS_RESPONDER, (guint8) level_ext,
                   video >= 0 && video_senders != BF_SESSION_SENDERS_INITIATOR);
  msid = g_strdup_printf ("belfry-%s belfry-%s-audio", room->name, room->name);
  video_msid = g_strdup_printf ("belfry-%s belfry-%s-video", room->name, room->name);
  answer = build_answer (offer, audio, pt, senders, level_ext, video, video_pt, video_senders, p,
                         msid, video_msid);
  /* XEP-0298 §5: the room says it is the focus of a conference, so a
   * client that knows the XEP shows a group call, not a 1:1 one. */
  g_autoptr (BfStanza) focus = bf_stanza_new ("conference-info", CF_NS_COIN);
  bf_stanza_set_attr (focus, "isfocus", "true");
  BfStanza *extra[] = { focus, NULL };
  if (!bf_session_accept_full (session, answer, extra, &error))
    {
      g_warning ("room %s: call %s: our answer was refused: %s", name, sid, error->message);
      bf_session_terminate (session, "failed-application", NULL);   /* ended() removes it */
      return BF_SESSION_DECLINE;
    }
  return BF_SESSION_ACCEPT;   /* ignored: accepted above */
}

/* A session's data is a participant's (its call to the room) or a
 * forwarded session's (one the room placed, sfu-signal.c). */
static Forward *
forward_of (BfSession *session)
{
  Forward *f = bf_session_get_data (session);

  return f != NULL && f->kind == CF_DATA_FORWARD ? f : NULL;
}

static Participant *
participant_of (BfSession *session)
{
  Participant *p = bf_session_get_data (session);

  return p != NULL && p->kind == CF_DATA_PARTICIPANT ? p : NULL;
}

static void
conference_media (BfModule *module, BfSession *session, BfPacket *packet)
{
  Forward *f = forward_of (session);

  (void) module;
  if (f != NULL)
    cf_fwd_media (f, packet);
  else
    cf_leg_media (participant_of (session), session, packet);
}

static void
conference_media_ready (BfModule *module, BfSession *session)
{
  Forward *f = forward_of (session);

  (void) module;
  if (f != NULL)
    cf_fwd_ready (f);
  else
    cf_leg_ready (participant_of (session));
}

static void
conference_ended (BfModule *module, BfSession *session, const char *reason)
{
  Forward *f = forward_of (session);
  Participant *p = participant_of (session);

  (void) module;
  if (f != NULL)
    cf_fwd_ended (f, reason);
  else if (p != NULL && p->room != NULL)
    cf_room_remove (p->room, p, reason);
}

static void
conference_answered (BfModule *module, BfSession *session)
{
  Forward *f = forward_of (session);

  (void) module;
  if (f != NULL)
    cf_fwd_answered (f);
}

/* XEP-0167 §7: mute/unmute of the whole session or of its audio content
 * takes it out of (or back into) the mix for everyone; so does hold
 * (§7.3: the party is not there for now) until unhold. */
static void
conference_info (BfModule *module, BfSession *session, BfSessionInfo info, const char *name)
{
  Participant *p = participant_of (session);

  (void) module;
  if (p != NULL && p->room != NULL
      && (info == BF_SESSION_INFO_HOLD || info == BF_SESSION_INFO_UNHOLD))
    {
      if (p->on_hold == (info == BF_SESSION_INFO_HOLD))
        return;
      p->on_hold = info == BF_SESSION_INFO_HOLD;
      g_info ("room %s: call %s %s", p->room->name, bf_session_get_sid (session),
              p->on_hold ? "on hold" : "back from hold");
      cf_participant_update_mute (p);
      return;
    }
  if (p == NULL || p->room == NULL
      || (info != BF_SESSION_INFO_MUTE && info != BF_SESSION_INFO_UNMUTE))
    return;
  /* Its video (named, or every content: XEP-0167 §7.2): out of the
   * composite while muted (mcu-room.c). */
  if (p->video_index >= 0
      && (name == NULL
          || g_strcmp0 (name, bf_session_media_get_content_name (p->offer,
                                                                  (guint) p->video_index)) == 0)
      && p->video_self_muted != (info == BF_SESSION_INFO_MUTE))
    {
      p->video_self_muted = info == BF_SESSION_INFO_MUTE;
      g_info ("room %s: call %s %s its video", p->room->name, bf_session_get_sid (session),
              p->video_self_muted ? "muted" : "unmuted");
      cf_room_media_post_video_mute (p->room->media, p, p->video_self_muted);
    }
  if (name != NULL && g_strcmp0 (name, p->audio_content) != 0)
    return;
  if (p->self_muted == (info == BF_SESSION_INFO_MUTE))
    return;
  p->self_muted = info == BF_SESSION_INFO_MUTE;
  g_info ("room %s: call %s %s itself", p->room->name, bf_session_get_sid (session),
          p->self_muted ? "muted" : "unmuted");
  cf_participant_update_mute (p);
}

/* --- Stanzas to rooms --- */

/* Presence: a room in a roster is subscribed to and online with caps, as
 * echo@ is (modules/echo/echo.c): Conversations offers a call button only
 * for a contact whose caps name Jingle RTP audio. */
static gboolean
room_presence (Conference *cf, const BfStanza *stanza, const char *name)
{
  const char *type = bf_stanza_get_attr (stanza, "type");
  const char *from = bf_stanza_get_attr (stanza, "from");
  g_autofree char *fl = NULL, *fd = NULL;
  g_autofree char *user = NULL, *address = NULL, *online = NULL;

  if (from == NULL || !bf_jid_split (from, &fl, &fd, NULL))
    return TRUE;
  user = fl != NULL ? g_strconcat (fl, "@", fd, NULL) : g_strdup (fd);
  address = g_strconcat (name, "@", bf_module_get_rooms_domain (cf->module), NULL);
  online = g_strconcat (address, "/room", NULL);
  if (!domain_allowed (cf, from))
    {
      if (g_strcmp0 (type, "subscribe") == 0)
        bf_module_send_presence (cf->module, address, user, "unsubscribed");
      return TRUE;
    }
  if (g_strcmp0 (type, "subscribe") == 0)
    {
      bf_module_send_presence (cf->module, address, user, "subscribed");
      bf_module_send_presence (cf->module, online, user, NULL);
    }
  else if (g_strcmp0 (type, "unsubscribe") == 0)
    bf_module_send_presence (cf->module, address, user, "unsubscribed");
  else if (type == NULL || g_strcmp0 (type, "probe") == 0)
    bf_module_send_presence (cf->module, online, type ? user : from, NULL);
  return TRUE;
}

static gboolean
conference_handle_stanza (BfModule *module, const BfStanza *stanza)
{
  Conference *cf = conference_of (module);
  const char *kind = bf_stanza_get_name (stanza);
  const char *type = bf_stanza_get_attr (stanza, "type");
  g_autofree char *name = room_name_of (cf, bf_stanza_get_attr (stanza, "to"));
  BfStanza *query;

  if (name == NULL)
    return FALSE;
  if (strcmp (kind, "presence") == 0)
    return room_presence (cf, stanza, name);
  if (strcmp (kind, "iq") != 0)
    return FALSE;
  if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
    return cf_info_handle_reply (cf, stanza);
  query = bf_stanza_find_child (stanza, "query", BF_NS_DISCO_INFO);
  /* The caps node (XEP-0115) is the core's: it answers what the caps hash
   * was computed from. */
  if (query != NULL && g_strcmp0 (type, "get") == 0
      && bf_stanza_get_attr (query, "node") == NULL)
    {
      cf_info_disco_reply (cf, stanza, name,
                           domain_allowed (cf, bf_stanza_get_attr (stanza, "from")));
      return TRUE;
    }
  return cf_moderation_handle (cf, stanza, name);
}

/* --- Module --- */

static void
conference_free (gpointer data)
{
  Conference *cf = data;

  g_strfreev (cf->rooms);
  g_strfreev (cf->allow);
  g_strfreev (cf->moderators);
  g_free (cf->record_dir);
  cf_mcu_prepare_join ();
  if (cf->by_name != NULL)
    g_hash_table_unref (cf->by_name);
  if (cf->caps_queries != NULL)
    g_hash_table_unref (cf->caps_queries);
  cf_moderation_free_sessions (cf);
  g_free (cf);
}

/* SIGHUP (module.h): all or nothing.  Calls to a room are checked against
 * the new rules from now on (allow-domains, max-participants, which names
 * are rooms); a room already open keeps its participants and its name (a
 * name no longer listed stays a room until its last participant leaves:
 * its sessions' stanzas must keep reaching it); the mixer settings apply
 * to rooms opened from now on; moderators at once. */
static gboolean
conference_reload (BfModule *module, BfConfigGroup *config, GError **error)
{
  g_auto (Settings) settings = { 0 };

  if (!read_config (module, config, &settings, error))
    return FALSE;
  apply_settings (conference_of (module), &settings, TRUE);
  return TRUE;
}

static gboolean
conference_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  Conference *cf = g_new0 (Conference, 1);

  cf->module = module;
  bf_module_set_data (module, cf, conference_free);
  cf->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  cf->caps_queries = g_hash_table_new (g_str_hash, g_str_equal);
  cf_mixer_config_init (&cf->mixer_config);
  {
    g_auto (Settings) settings = { 0 };
    if (!read_config (module, config, &settings, error))
      return FALSE;
    apply_settings (cf, &settings, FALSE);
  }
  bf_module_set_localpart_func (module, conference_claims);
  bf_module_set_reload_func (module, conference_reload);
  bf_module_set_disco_items_func (module, conference_disco_items);
  cf->m_joined = bf_module_metric_counter_new (module, "participants_joined_total",
                                               "Calls that joined a room");
  cf->m_declined = bf_module_metric_counter_new (module, "calls_declined_total",
                                                 "Calls to a room declined (domain, no Opus)");
  cf->m_busy = bf_module_metric_counter_new (module, "calls_busy_total",
                                             "Calls to a full room declined with busy");
  cf->m_rooms_opened = bf_module_metric_counter_new (module, "rooms_opened_total",
                                                     "Rooms opened by a first caller");
  cf->m_muted = bf_module_metric_counter_new (module, "moderator_mutes_total",
                                              "Mute or unmute commands run by moderators");
  cf->m_removed = bf_module_metric_counter_new (module, "moderator_removals_total",
                                                "Participants removed by moderators");
  cf->m_fwd_placed = bf_module_metric_counter_new (
    module, "sfu_sessions_placed_total",
    "Sessions placed to XEP-0521 participants, each carrying another's streams");
  cf->m_fwd_refused = bf_module_metric_counter_new (
    module, "sfu_sessions_refused_total",
    "Such sessions the receiver declined or ended (or that failed): not placed again");
  cf_sfu_set_withheld_metrics (
    bf_module_metric_counter_new (
      module, "sfu_audio_withheld_total",
      "Audio packets not sent on a forwarded session: their sender is not a talker"),
    bf_module_metric_counter_new (
      module, "sfu_video_withheld_total",
      "Video packets not sent on a forwarded session: their sender is not a last-N speaker"));
  cf->g_rooms = bf_module_metric_gauge_new (module, "rooms", "Open rooms");
  cf->g_participants = bf_module_metric_gauge_new (module, "participants",
                                                   "Participants in all rooms");
  return TRUE;
}

/* Before the component connects (init() runs for --check-config too,
 * which needs no GStreamer): any call may bring video (the MCU, H.264
 * answered or not), so GStreamer starts now, on a thread of its own,
 * never on the signalling thread at the first H.264 offer (takes_video). */
static gboolean
conference_start (BfModule *module, GError **error)
{
  (void) module;
  (void) error;
  cf_mcu_prepare ();
  return TRUE;
}

static void
conference_shutdown (BfModule *module)
{
  Conference *cf = conference_of (module);

  if (cf != NULL && g_hash_table_size (cf->by_name) > 0)
    g_message ("%u rooms open at shutdown", g_hash_table_size (cf->by_name));
}

/* XEP-0167 §9: a receiver's displayed size on a forwarded session
 * (sfu-signal.c); on anything else, acked by the core and ignored. */
static void
conference_description_info (BfModule *module, BfSession *session,
                             const BfSessionMedia *suggested)
{
  Forward *f = forward_of (session);

  (void) module;
  if (f != NULL)
    cf_fwd_description_info (f, suggested);
  else
    g_debug ("session %s: description-info on a call to the room: ignored",
             bf_session_get_sid (session));
}

static const BfSessionHooks conference_sessions = {
  .offer = conference_offer,
  .media = conference_media,
  .ended = conference_ended,
  .answered = conference_answered,
  .info = conference_info,
  .media_ready = conference_media_ready,
  .description_info = conference_description_info,
};

/* What the core advertises for a room (and in its caps): the same features
 * as a room's own disco#info (conference-info.c), without the count form. */
static const char *const conference_features[] = {
  CF_NS_COMMANDS,
  CF_NS_COIN,
  CF_NS_AV_CONFERENCES,
  BF_SESSION_DISCO_FEATURES,
  BF_NS_CAPS,
  NULL
};
static const BfDiscoIdentity conference_identity = { "conference", "audio-video", "Group call" };

static const BfModuleInfo conference_module_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "conference",
  .description = "Group calls: call <name>@ to join room <name>",
  .localparts = NULL,
  .identity = &conference_identity,
  .features = conference_features,
  .init = conference_init,
  .start = conference_start,
  .shutdown = conference_shutdown,
  .handle_stanza = conference_handle_stanza,
  .sessions = &conference_sessions,
};

BF_MODULE_DEFINE (conference_module_info)
