/* conference — the XEP-0521 SFU's signalling (main thread): which
 * participants get separate streams, and the sessions the room places to
 * them, one per other participant that sends (XEP-0521 §"Joining": the
 * room calls the joining entity once per stream it forwards).
 *
 * A participant is an XEP-0521 receiver when its client lists
 * urn:xmpp:jingle:av-conferences:0 in the disco#info the room asks it
 * (conference-info.c).  For each such receiver R and each other
 * participant S that sends media (XEP-0521 or not), the room places one
 * session from its own JID (resource "sfu") to R's full JID, on the room's
 * worker, carrying S's streams: an audio content (Opus) when S sends audio
 * and a video content (S's codec: VP8, or H.264 with S's packetization-mode
 * and profile-level-id; feedback nack, nack pli, ccm fir, rtx) when S sends
 * video, each senders='initiator' (room to R), with SSRCs of ours, and the
 * XEP-0298 <conference-info xmlns='urn:xmpp:coin:1' isfocus='true'> whose
 * <users><user entity='xmpp:S'/></users> names whose streams they are
 * (XEP-0521's example 3).  Never S's own streams to S.
 *
 * Placed when R is known to be a receiver (its disco#info reply) and when a
 * new sender joins; ended when S leaves ('gone') or R leaves ('success').
 * A session R declines or ends (or that fails) is not placed again while
 * both stay: R said it does not want it.  At most max-participants - 1 per
 * receiver.  H.264 goes only to an R whose own call offered H.264 (mode 1:
 * XEP-0521 lists no codecs of its own, and a client offers what it has);
 * another R, or one whose answer does not take the video offered, gets
 * S's audio alone on that session, with a log line, never a session it
 * would have to refuse.
 *
 * Thread rule: main thread only; the forwarding itself is sfu-room.c's, on
 * the room's worker (room.h).
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include "room.h"

static gboolean
sends_media (const Participant *p)
{
  return p->audio_index >= 0 || p->video_index >= 0;
}

static guint
forwards_to (Room *room, const Participant *r)
{
  guint n = 0;

  for (guint i = 0; i < room->forwards->len; i++)
    if (((Forward *) g_ptr_array_index (room->forwards, i))->receiver == r)
      n++;
  return n;
}

static gboolean
has_forward (Room *room, const Participant *s, const Participant *r)
{
  for (guint i = 0; i < room->forwards->len; i++)
    {
      Forward *f = g_ptr_array_index (room->forwards, i);
      if (f->source == s && f->receiver == r)
        return TRUE;
    }
  return FALSE;
}

static gboolean
refused (const Participant *r, guint number)
{
  for (guint i = 0; i < r->refused->len; i++)
    if (g_array_index (r->refused, guint, i) == number)
      return TRUE;
  return FALSE;
}

/* Whether @offer (a participant's own call) lists H.264 in packetization
 * mode 1 in a video content: the sign that its client decodes H.264
 * (libwebrtc lists its codecs even on a send-only transceiver). */
static gboolean
offers_h264 (const BfSessionMedia *offer)
{
  for (guint c = 0; offer != NULL && c < bf_session_media_get_n_contents (offer); c++)
    {
      if (g_strcmp0 (bf_session_media_get_content_kind (offer, c), "video") != 0)
        continue;
      for (guint i = 0; i < bf_session_media_get_n_codecs (offer, c); i++)
        {
          BfSessionCodec codec;
          if (bf_session_media_get_codec (offer, c, i, &codec) && codec.name != NULL
              && g_ascii_strcasecmp (codec.name, "H264") == 0
              && g_strcmp0 (bf_session_media_get_codec_parameter (offer, c, codec.id,
                                                                  "packetization-mode"),
                            "1") == 0)
            return TRUE;
        }
    }
  return FALSE;
}

/* @s's video content into @offer: its codec under our payload type (an
 * H.264 sender's packetization-mode and profile-level-id as it offered
 * them: the receiver's decoder gets that very stream), our SSRC and the
 * retransmission SSRC grouped with it. */
static void
add_video (BfSessionMedia *offer, const Participant *s, Forward *f, const char *msid)
{
  guint8 pt = cf_fwd_video_pt (s->leg.video_codec);
  g_autofree char *apt = g_strdup_printf ("%u", pt);
  BfSessionCodec video = { pt, "VP8", 90000, 0 };
  const BfSessionCodec rtx = { CF_FWD_RTX_PT, "rtx", 90000, 0 };
  guint32 fid[2] = { f->leg.video_ssrc, f->leg.rtx_ssrc };
  guint c = bf_session_media_add_content (offer, "video", "video", BF_SESSION_SENDERS_INITIATOR);

  if (s->leg.video_codec == CF_MCU_CODEC_H264)
    {
      /* conference.c took it with a 6-digit baseline-family profile. */
      const char *profile = bf_session_media_get_codec_parameter (s->offer, (guint) s->video_index,
                                                                  s->leg.video_pt,
                                                                  "profile-level-id");
      video.name = "H264";
      bf_session_media_add_codec (offer, c, &video);
      bf_session_media_add_codec_parameter (offer, c, pt, "packetization-mode", "1");
      bf_session_media_add_codec_parameter (offer, c, pt, "profile-level-id",
                                            profile != NULL ? profile : "42e01f");
    }
  else
    bf_session_media_add_codec (offer, c, &video);
  /* RFC 4585 NACK (answered from what we sent, as RFC 4588
   * retransmissions on an SSRC of their own, grouped with the video's
   * by FID, RFC 5576 §4.2), PLI and RFC 5104 FIR (passed to the
   * sender, merged).  REMB (the receiver's estimate)
   * and transport-cc (ours, from its feedback on the transport-wide
   * numbers sfu-room.c stamps on our video): the simulcast layer the
   * receiver gets follows them. */
  bf_session_media_add_codec_feedback (offer, c, pt, "nack", NULL);
  bf_session_media_add_codec_feedback (offer, c, pt, "nack", "pli");
  bf_session_media_add_codec_feedback (offer, c, pt, "ccm", "fir");
  bf_session_media_add_codec_feedback (offer, c, pt, "goog-remb", NULL);
  bf_session_media_add_codec_feedback (offer, c, pt, "transport-cc", NULL);
  bf_session_media_add_header_extension (offer, c, CF_FWD_TWCC_EXT, CF_TWCC_URI);
  bf_session_media_add_codec (offer, c, &rtx);
  bf_session_media_add_codec_parameter (offer, c, CF_FWD_RTX_PT, "apt", apt);
  bf_session_media_add_source (offer, c, f->leg.video_ssrc, f->leg.cname, msid);
  bf_session_media_add_source (offer, c, f->leg.rtx_ssrc, f->leg.cname, msid);
  bf_session_media_add_source_group (offer, c, "FID", fid, 2);
  f->leg.has_video = TRUE;
}

/* What the room offers @f's receiver: @s's streams under our SSRCs. */
static BfSessionMedia *
build_offer (Room *room, const Participant *s, Forward *f)
{
  BfSessionMedia *offer = bf_session_media_new ();
  g_autofree char *stream = g_strdup_printf ("belfry-%s-%u", room->name, s->number);
  g_autofree char *audio_msid = g_strdup_printf ("%s %s-audio", stream, stream);
  g_autofree char *video_msid = g_strdup_printf ("%s %s-video", stream, stream);

  const char *cname = f->leg.cname;

  if (s->audio_index >= 0)
    {
      const BfSessionCodec opus = { CF_FWD_OPUS_PT, "opus", CF_CLOCK, 2 };
      guint c = bf_session_media_add_content (offer, "audio", "audio",
                                              BF_SESSION_SENDERS_INITIATOR);
      bf_session_media_add_codec (offer, c, &opus);
      bf_session_media_add_codec_parameter (offer, c, CF_FWD_OPUS_PT, "minptime", "10");
      bf_session_media_add_codec_parameter (offer, c, CF_FWD_OPUS_PT, "useinbandfec", "1");
      /* The sender's audio level, passed on when it sends one. */
      if (s->leg.level_ext != 0)
        {
          bf_session_media_add_header_extension (offer, c, CF_FWD_LEVEL_EXT, CF_AUDIO_LEVEL_URI);
          f->leg.level_ext = CF_FWD_LEVEL_EXT;
        }
      bf_session_media_add_source (offer, c, f->leg.audio_ssrc, cname, audio_msid);
      f->leg.has_audio = TRUE;
    }
  if (s->video_index >= 0 && s->leg.video_codec == CF_MCU_CODEC_H264
      && !offers_h264 (f->receiver->offer))
    g_message ("room %s: call %s sends H.264, which call %s did not offer (packetization-mode "
               "1): its session with call %s's streams carries no video", room->name,
               s->leg.sid, f->receiver->leg.sid, s->leg.sid);
  else if (s->video_index >= 0)
    add_video (offer, s, f, video_msid);
  return offer;
}

static void
forward_free (gpointer data)
{
  g_free (data);
}

/* One session carrying @s's streams to @r, unless there is one, @r ended
 * one before, or @r has its bound. */
static void
place (Room *room, Participant *s, Participant *r)
{
  Conference *cf = room->conference;
  g_autoptr (BfSessionMedia) offer = NULL;
  g_autoptr (BfStanza) coin = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *local = NULL, *entity = NULL;
  BfStanza *user;
  Forward *f;

  if (s == r || !r->sfu || !sends_media (s) || has_forward (room, s, r))
    return;
  if (refused (r, s->number))
    {
      g_info ("room %s: call %s ended the session with call %s's streams before: not "
              "placed again", room->name, r->leg.sid, s->leg.sid);
      return;
    }
  if (forwards_to (room, r) >= (guint) MAX (cf->max_participants - 1, 1))
    {
      g_message ("room %s: call %s has %u forwarded sessions ([conference] max-participants "
                 "- 1): call %s's streams not forwarded to it", room->name, r->leg.sid,
                 forwards_to (room, r), s->leg.sid);
      return;
    }
  f = g_new0 (Forward, 1);
  f->kind = CF_DATA_FORWARD;
  f->room = room;
  f->source = s;
  f->receiver = r;
  /* RFC 3550 §8.1: random SSRCs of ours, per session. */
  f->leg.audio_ssrc = bf_random_u32 ();
  do
    f->leg.video_ssrc = bf_random_u32 ();
  while (f->leg.video_ssrc == f->leg.audio_ssrc);
  do
    f->leg.rtx_ssrc = bf_random_u32 ();
  while (f->leg.rtx_ssrc == f->leg.audio_ssrc || f->leg.rtx_ssrc == f->leg.video_ssrc);
  f->leg.source = s;
  g_snprintf (f->leg.cname, sizeof f->leg.cname, "belfry-%08x", bf_random_u32 ());
  offer = build_offer (room, s, f);
  if (bf_session_media_get_n_contents (offer) == 0)
    {
      g_free (f);
      return;
    }

  /* XEP-0521 §"Joining" / XEP-0298: the room is the focus, and the
   * session's streams are @s's. */
  coin = bf_stanza_new ("conference-info", CF_NS_COIN);
  bf_stanza_set_attr (coin, "isfocus", "true");
  user = bf_stanza_add_child (bf_stanza_add_child (coin, "users", NULL), "user", NULL);
  entity = g_strdup_printf ("xmpp:%s", s->bare);
  bf_stanza_set_attr (user, "entity", entity);
  BfStanza *extra[] = { coin, NULL };

  local = g_strdup_printf ("%s/sfu", room->jid);
  f->session = bf_session_place_offer (cf->module, local, r->peer, offer, room->worker, extra,
                                       &error);
  if (f->session == NULL)
    {
      g_warning ("room %s: cannot place the session with call %s's streams to call %s: %s",
                 room->name, s->leg.sid, r->leg.sid, error->message);
      g_free (f);
      return;
    }
  g_strlcpy (f->leg.sid, bf_session_get_sid (f->session), sizeof f->leg.sid);
  /* Freed by the core after the session's last media() call (session.h). */
  bf_session_set_data (f->session, f, forward_free);
  g_ptr_array_add (room->forwards, f);
  cf_sfu_post_join (room->media, f);
  bf_metric_add (cf->m_fwd_placed, 1);
  g_message ("room %s: session %s carries call %s's streams (%s%s) to call %s", room->name,
             f->leg.sid, s->leg.sid, f->leg.has_audio ? "audio" : "",
             f->leg.has_video ? (f->leg.has_audio ? " and video" : "video") : "", r->leg.sid);
}

void
cf_sfu_participant_is_sfu (Room *room, Participant *p)
{
  if (p->sfu)
    return;
  p->sfu = TRUE;
  /* It gets each sender's own streams: the mix would double them. */
  cf_room_media_post_sfu (room->media, p);
  g_info ("room %s: call %s speaks XEP-0521: separate streams, no mix", room->name,
          p->leg.sid);
  for (guint i = 0; i < room->participants->len; i++)
    place (room, g_ptr_array_index (room->participants, i), p);
}

/* Every pair, not only @p's: a session that could not be placed before
 * (the relay full, a receiver at its bound) is placed now when it can;
 * those there already, or that the receiver ended, are not. */
void
cf_sfu_joined (Room *room, Participant *p)
{
  (void) p;
  for (guint i = 0; i < room->participants->len; i++)
    {
      Participant *r = g_ptr_array_index (room->participants, i);
      if (!r->sfu)
        continue;
      for (guint k = 0; k < room->participants->len; k++)
        place (room, g_ptr_array_index (room->participants, k), r);
    }
}

void
cf_sfu_leaving (Room *room, Participant *p)
{
  g_autoptr (GPtrArray) ending = g_ptr_array_new ();

  /* Its number is never used again (a rejoin gets a new one): receivers
   * need not remember that they ended its session, and the lists stay as
   * long as the room is large, not as long as it has lived. */
  for (guint i = 0; i < room->participants->len; i++)
    {
      Participant *r = g_ptr_array_index (room->participants, i);
      for (guint k = r->refused->len; k > 0; k--)
        if (g_array_index (r->refused, guint, k - 1) == p->number)
          g_array_remove_index_fast (r->refused, k - 1);
    }

  for (guint i = 0; i < room->forwards->len; i++)
    {
      Forward *f = g_ptr_array_index (room->forwards, i);
      if (f->source == p || f->receiver == p)
        g_ptr_array_add (ending, f);
    }
  for (guint i = 0; i < ending->len; i++)
    {
      Forward *f = g_ptr_array_index (ending, i);
      gboolean source_left = f->source == p;
      f->ending = TRUE;
      /* ended() (cf_fwd_ended) runs before this returns and posts the
       * forward's leave; @f is not touched after. */
      bf_session_terminate (f->session, source_left ? "gone" : "success",
                            source_left ? "the participant left the room" : NULL);
    }
}

/* Whether @answer takes the video we offered @f's receiver (a video
 * content, not 'none', with our payload type of that codec), and in *@rtx
 * whether it kept our rtx payload type for it. */
static gboolean
answer_takes_video (const BfSessionMedia *answer, const Forward *f, gboolean *rtx)
{
  guint8 pt = cf_fwd_video_pt (f->source != NULL ? f->source->leg.video_codec
                                                 : CF_MCU_CODEC_VP8);
  g_autofree char *apt = g_strdup_printf ("%u", pt);
  gboolean video = FALSE;

  *rtx = FALSE;
  for (guint c = 0; answer != NULL && c < bf_session_media_get_n_contents (answer); c++)
    {
      if (g_strcmp0 (bf_session_media_get_content_kind (answer, c), "video") != 0
          || bf_session_media_get_content_senders (answer, c) == BF_SESSION_SENDERS_NONE)
        continue;
      for (guint i = 0; i < bf_session_media_get_n_codecs (answer, c); i++)
        {
          BfSessionCodec codec;
          if (!bf_session_media_get_codec (answer, c, i, &codec) || codec.name == NULL)
            continue;
          if (codec.id == pt && g_ascii_strcasecmp (codec.name, "rtx") != 0)
            video = TRUE;
          else if (codec.id == CF_FWD_RTX_PT && g_ascii_strcasecmp (codec.name, "rtx") == 0)
            *rtx = g_strcmp0 (bf_session_media_get_codec_parameter (answer, c, CF_FWD_RTX_PT,
                                                                     "apt"), apt) == 0;
        }
    }
  *rtx = *rtx && video;
  return video;
}

/* The size the receiver displays @f's video at, from the 'width' and
 * 'height' parameters of a payload type of a video content in @m (its
 * session-accept or a description-info: XEP-0167 §9), posted to the
 * worker.  Values out of bounds are ignored (bandwidth.h). */
static void
take_display_size (Forward *f, const BfSessionMedia *m, const char *what)
{
  for (guint c = 0; m != NULL && c < bf_session_media_get_n_contents (m); c++)
    {
      if (g_strcmp0 (bf_session_media_get_content_kind (m, c), "video") != 0)
        continue;
      for (guint i = 0; i < bf_session_media_get_n_codecs (m, c); i++)
        {
          BfSessionCodec codec;
          const char *ws, *hs;
          guint w, h;
          if (!bf_session_media_get_codec (m, c, i, &codec))
            continue;
          ws = bf_session_media_get_codec_parameter (m, c, codec.id, "width");
          hs = bf_session_media_get_codec_parameter (m, c, codec.id, "height");
          if (ws == NULL && hs == NULL)
            continue;
          if (!cf_display_size_parse (ws, hs, &w, &h))
            {
              /* The peer's strings are not logged (any bytes may be in them). */
              g_debug ("room %s: session %s: %s: a displayed size that is not two numbers "
                       "of %u..%u, ignored", f->room->name, f->leg.sid, what, CF_DISPLAY_MIN,
                       CF_DISPLAY_MAX);
              continue;
            }
          g_info ("room %s: session %s: %s: displayed at %ux%u", f->room->name, f->leg.sid,
                  what, w, h);
          cf_sfu_post_display (f, w, h);
          return;
        }
    }
}

void
cf_fwd_description_info (Forward *f, const BfSessionMedia *suggested)
{
  if (f->room == NULL || !f->leg.has_video)
    {
      g_debug ("session %s: description-info on a session without forwarded video: ignored",
               f->leg.sid);
      return;
    }
  take_display_size (f, suggested, "description-info");
}

void
cf_fwd_answered (Forward *f)
{
  g_autoptr (BfSessionMedia) answer = NULL;
  gboolean rtx = FALSE, video;

  if (f->room == NULL)
    return;
  answer = bf_session_get_peer_media (f->session);
  video = f->leg.has_video && answer_takes_video (answer, f, &rtx);
  if (f->leg.has_video && !video)
    g_message ("room %s: session %s: the answer takes no %s video: call %s gets call %s's "
               "audio only on it", f->room->name, f->leg.sid,
               f->source != NULL ? cf_mcu_codec_name (f->source->leg.video_codec) : "",
               f->receiver != NULL ? f->receiver->leg.sid : "?",
               f->source != NULL ? f->source->leg.sid : "?");
  g_info ("room %s: session %s accepted%s", f->room->name, f->leg.sid,
          video ? (rtx ? " (video retransmissions: rtx)"
                       : " (no rtx: video NACKs unanswered)") : "");
  if (f->leg.has_video)
    cf_sfu_post_answer (f, rtx, video);
  if (video)
    take_display_size (f, answer, "session-accept");
}

void
cf_fwd_ended (Forward *f, const char *reason)
{
  Room *room = f->room;

  if (room == NULL)
    return;
  f->room = NULL;
  g_ptr_array_remove (room->forwards, f);
  if (!f->ending && f->receiver != NULL && f->source != NULL)
    {
      /* The receiver declined or ended it (or it failed): its choice. */
      g_array_append_val (f->receiver->refused, f->source->number);
      bf_metric_add (room->conference->m_fwd_refused, 1);
      g_message ("room %s: session %s (call %s's streams to call %s) ended: %s; not placed "
                 "again", room->name, f->leg.sid, f->source->leg.sid, f->receiver->leg.sid,
                 reason);
    }
  else
    g_info ("room %s: session %s ended: %s", room->name, f->leg.sid, reason);
  cf_sfu_post_leave (room->media, f);
}
