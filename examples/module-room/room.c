/* room — an out-of-tree belfry module shaped like a conference.
 *
 * Serves room@<domain>.  It does what a conference does with its sessions,
 * with a test tone where a conference would put its mix, so that each
 * call of the module API a conference needs is shown working from the
 * installed headers alone (see README.md here):
 *
 *   - calls to room@ are answered with a 440 Hz G.711 tone
 *     (bf_session_accept with an answer of our own, as examples/module-tone
 *     does), and every session of the room is pinned to one media worker
 *     (bf_session_set_worker from offer()), the worker of the first, kept
 *     while any session of the room lives;
 *   - one 20 ms timer on that worker sends to every session each tick: the
 *     room's "mixer" reads and writes all its participants on one thread;
 *   - a chat message "call" makes the room call the sender back
 *     (bf_session_place_offer): an offer the module builds (PCMU, PCMA), on
 *     the room's worker, whose session-initiate carries XEP-0298
 *     <conference-info isfocus='true'/> (what XEP-0521 asks of a
 *     conference); once answered, the tone goes out in the codec the peer
 *     accepted (bf_session_get_peer_media);
 *   - a chat message "add" adds a second audio content, a 660 Hz tone, to
 *     each of the sender's sessions (bf_session_add_content: a conference
 *     adds a content per remote stream); once the peer accepts it
 *     (content_answered), the timer sends on it too, under its own SSRC.
 *
 * Who may use it: users of [room] allow-domains (default: the server's
 * domain); at most [room] max-participants sessions at once.
 *
 * Thread rule: Room is the main thread's.  A Mixer, and a Participant's
 * streams, ready and joined fields, are the room worker's: the main thread
 * changes them only by posting work there (bf_worker_invoke), which runs in
 * posting order.  A Participant's other fields are the main thread's; its
 * session, mixer and SSRCs are set before the first post and never change
 * while the worker reads them.
 */
#define G_LOG_DOMAIN "belfry-room"

#include <math.h>
#include <string.h>

#include <belfry/module.h>

#define ROOM_PTIME_MS 20
#define ROOM_RATE 8000                               /* G.711 is 8 kHz only */
#define ROOM_SAMPLES (ROOM_RATE * ROOM_PTIME_MS / 1000)   /* 160 */
#define ROOM_AMPLITUDE 10000.0
#define RTP_HEADER 12
#define ROOM_MAX_BODY 256          /* longer commands are refused */
#define ROOM_RESOURCE "room"       /* our full JID in a call we place */
#define NS_COIN "urn:xmpp:coin:1"  /* XEP-0298 */

/* What the room sends on each stream: the first on the session's audio,
 * the second on the content "add" asks for. */
static const guint stream_hz[] = { 440, 660 };
#define ADDED_CONTENT "tone-2"

typedef enum { LAW_PCMU, LAW_PCMA } Law;

/* One RTP stream we send (worker-owned once the participant joined). */
typedef struct {
  gboolean active;
  Law law;
  guint8 pt;
  guint32 ssrc;
  guint16 seq;
  guint32 timestamp;
  guint32 phase;
  guint64 sent, failed;
} Stream;

typedef struct _Mixer Mixer;

typedef struct {
  BfSession *session;
  Mixer *mixer;           /* the room's while the session lives */
  char *peer_bare;        /* for "add": whose sessions get a content */
  char *cname;            /* of our sources (XEP-0339, RTCP) */
  guint32 ssrc[2];        /* chosen on the main thread, announced in Jingle */
  gboolean added;         /* main: a second content was asked for */
  gboolean answered;      /* main: accepted (incoming) or answered (placed) */
  /* Worker only: */
  gboolean ready;         /* media_ready: the peer has its keys */
  gboolean joined;
  Stream streams[2];
} Participant;

/* The room's sending side, on its worker. */
struct _Mixer {
  BfWorker *worker;
  GPtrArray *participants;  /* Participant*, joined */
  guint timer;
  guint64 ticks, ticks_to_all;
  guint max_fanout;          /* most participants one tick sent to */
};

typedef struct {
  char **allow;              /* NULL: anyone */
  gint64 max_participants;
  BfWorker *worker;          /* the room's, while n_live > 0 */
  Mixer *mixer;
  guint n_live;
  GHashTable *sessions;      /* BfSession* -> Participant* (live) */
} Room;

/* --- G.711 (ITU-T Rec. G.711), as in examples/module-tone --- */

static guint8
linear_to_ulaw (gint16 pcm)
{
  int v = pcm >> 2;
  int sign = v < 0 ? 0x80 : 0;
  int segment = 7;

  v = MIN (ABS (v), 8158) + 33;
  while (segment > 0 && (v & (0x20 << segment)) == 0)
    segment--;
  return (guint8) ~(sign | segment << 4 | ((v >> (segment + 1)) & 0x0f));
}

static guint8
linear_to_alaw (gint16 pcm)
{
  int sign = pcm >= 0 ? 0x80 : 0;
  int v = (pcm >= 0 ? pcm : -(int) pcm - 1) >> 3;
  int segment = 0;

  for (int t = v >> 5; t > 0; t >>= 1)
    segment++;
  return (guint8) ((sign | segment << 4 | ((v >> MAX (segment, 1)) & 0x0f)) ^ 0x55);
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

/* --- The mixer: one timer, every participant (worker thread) --- */

static gboolean
stream_send (BfSession *session, Stream *s, guint hz, guint skipped)
{
  guint8 packet[RTP_HEADER + ROOM_SAMPLES];
  gboolean first = s->sent + s->failed == 0;

  /* As tone.c: skipped ticks move the clock, not the sequence number. */
  if (!first)
    {
      s->timestamp += ROOM_SAMPLES * (1 + skipped);
      s->phase = (s->phase + ROOM_SAMPLES * skipped) % ROOM_RATE;
      s->seq++;
    }
  packet[0] = 0x80;
  packet[1] = s->pt | (first ? 0x80 : 0);
  packet[2] = s->seq >> 8;
  packet[3] = s->seq & 0xff;
  put_be32 (packet + 4, s->timestamp);
  put_be32 (packet + 8, s->ssrc);
  for (guint i = 0; i < ROOM_SAMPLES; i++)
    {
      /* A whole number of Hz: the phase wraps at ROOM_RATE without a click. */
      double v = ROOM_AMPLITUDE * sin (2.0 * G_PI * hz * s->phase / ROOM_RATE);
      gint16 pcm = (gint16) lround (v);
      packet[RTP_HEADER + i] = s->law == LAW_PCMU ? linear_to_ulaw (pcm) : linear_to_alaw (pcm);
      s->phase = (s->phase + 1) % ROOM_RATE;
    }
  if (bf_session_send_rtp (session, packet, sizeof packet))
    s->sent++;
  else
    s->failed++;
  return TRUE;
}

static gboolean
mixer_tick (const BfWorkerTick *tick, gpointer data)
{
  Mixer *m = data;
  guint fanout = 0;

  /* What a conference's mixer does each 20 ms: one pass over every
   * participant, on the one thread they all live on. */
  for (guint i = 0; i < m->participants->len; i++)
    {
      Participant *p = g_ptr_array_index (m->participants, i);
      gboolean any = FALSE;

      if (!p->ready)
        continue;
      for (guint k = 0; k < G_N_ELEMENTS (p->streams); k++)
        if (p->streams[k].active)
          any = stream_send (p->session, &p->streams[k], stream_hz[k], tick->skipped);
      fanout += any;
    }
  m->ticks++;
  if (fanout > 0 && fanout == m->participants->len)
    m->ticks_to_all++;
  if (fanout > m->max_fanout)
    {
      m->max_fanout = fanout;
      g_message ("room: the timer now sends to %u participants in one tick", fanout);
    }
  return G_SOURCE_CONTINUE;
}

static void
participant_free (gpointer data)
{
  Participant *p = data;

  g_free (p->peer_bare);
  g_free (p->cname);
  g_free (p);
}

/* Jobs posted to the room's worker. */
typedef struct {
  Participant *participant;
  guint stream;
  Law law;
  guint8 pt;
} StreamJob;

static void
mixer_join (gpointer data)
{
  StreamJob *job = data;
  Participant *p = job->participant;
  Mixer *m = p->mixer;
  Stream *s = &p->streams[job->stream];

  s->law = job->law;
  s->pt = job->pt;
  s->ssrc = p->ssrc[job->stream];
  s->seq = bf_random_u32 () & 0xffff;
  s->timestamp = bf_random_u32 ();
  s->active = TRUE;
  if (!p->joined)
    {
      p->joined = TRUE;
      g_ptr_array_add (m->participants, p);
    }
  /* One timer for the whole room, started with its first participant. */
  if (m->timer == 0)
    {
      m->timer = bf_worker_timer_add (m->worker, ROOM_PTIME_MS, mixer_tick, m, NULL);
      g_message ("room: one %u ms timer started on the room's worker", ROOM_PTIME_MS);
    }
}

/* Runs on the worker, posted by ended(): before the core's own teardown of
 * the session there, so the session (and @p, its data) are alive. */
static void
mixer_leave (gpointer data)
{
  Participant *p = data;
  Mixer *m = p->mixer;

  if (p->joined)
    g_ptr_array_remove (m->participants, p);
  p->joined = FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (p->streams); k++)
    if (p->streams[k].active)
      g_message ("call %s: stream %u (%u Hz) sent %" G_GUINT64_FORMAT " packets (%"
                 G_GUINT64_FORMAT " failed)", bf_session_get_sid (p->session), k,
                 stream_hz[k], p->streams[k].sent, p->streams[k].failed);
}

/* Posted when the room's last session ended: after every mixer_leave. */
static void
mixer_stop (gpointer data)
{
  Mixer *m = data;

  if (m->timer != 0)
    bf_worker_timer_remove (m->worker, m->timer);
  m->timer = 0;
  g_message ("room: timer stopped after %" G_GUINT64_FORMAT " ticks (%" G_GUINT64_FORMAT
             " to every participant; at most %u in one tick)", m->ticks, m->ticks_to_all,
             m->max_fanout);
}

/* After mixer_stop, or when the worker stopped first (belfry exits). */
static void
mixer_free (gpointer data)
{
  Mixer *m = data;

  g_ptr_array_unref (m->participants);
  g_free (m);
}

/* --- The room (main thread) --- */

static Room *
room_of (BfModule *module)
{
  return bf_module_get_data (module);
}

static char *
bare_of (const char *jid)
{
  g_autofree char *local = NULL, *domain = NULL;

  if (!bf_jid_split (jid, &local, &domain, NULL))
    return NULL;
  return local != NULL ? g_strdup_printf ("%s@%s", local, domain) : g_strdup (domain);
}

static gboolean
room_allows (Room *room, const char *jid)
{
  g_autofree char *domain = NULL;

  return bf_jid_split (jid, NULL, &domain, NULL)
         && bf_domain_list_contains ((const char *const *) room->allow, domain);
}

/* A session joins the room: the first one gives the room its worker. */
static Participant *
room_add (Room *room, BfSession *session, const char *cname)
{
  Participant *p = g_new0 (Participant, 1);

  if (room->n_live++ == 0)
    {
      room->worker = bf_session_get_worker (session);
      room->mixer = g_new0 (Mixer, 1);
      room->mixer->worker = room->worker;
      room->mixer->participants = g_ptr_array_new ();
    }
  p->session = session;
  p->mixer = room->mixer;
  p->peer_bare = bare_of (bf_session_get_peer (session));
  p->cname = g_strdup (cname);
  /* RFC 3550 §5.1: random SSRCs (the rest is drawn on the worker). */
  p->ssrc[0] = bf_random_u32 ();
  p->ssrc[1] = bf_random_u32 ();
  g_hash_table_insert (room->sessions, session, p);
  /* Freed by the core after the last media() call (session.h). */
  bf_session_set_data (session, p, participant_free);
  return p;
}

static void
post_stream (Participant *p, guint stream, Law law, guint8 pt)
{
  StreamJob *job = g_new0 (StreamJob, 1);

  job->participant = p;
  job->stream = stream;
  job->law = law;
  job->pt = pt;
  bf_worker_invoke (p->mixer->worker, mixer_join, job, g_free);
}

static gboolean
is_codec (const BfSessionCodec *codec, const char *name, guint8 static_pt)
{
  /* A name is optional for static payload types (XEP-0167 §5). */
  if (codec->name == NULL || codec->name[0] == '\0')
    return codec->id == static_pt;
  return g_ascii_strcasecmp (codec->name, name) == 0
         && (codec->clockrate == ROOM_RATE || codec->clockrate == 0)
         && codec->channels <= 1;
}

/* The index of codec @name in @content of @media, or -1. */
static int
find_codec (const BfSessionMedia *media, guint content, const char *name, guint8 static_pt)
{
  for (guint i = 0; i < bf_session_media_get_n_codecs (media, content); i++)
    {
      BfSessionCodec codec;
      if (bf_session_media_get_codec (media, content, i, &codec)
          && is_codec (&codec, name, static_pt))
        return (int) i;
    }
  return -1;
}

static int
find_content (const BfSessionMedia *media, const char *name)
{
  for (guint c = 0; c < bf_session_media_get_n_contents (media); c++)
    if (g_strcmp0 (bf_session_media_get_content_name (media, c), name) == 0)
      return (int) c;
  return -1;
}

/* An offer (a placed session, or an added content) of one audio content
 * @name with PCMU and PCMA, as payload types @pts[0] and @pts[1], and our
 * source @ssrc. */
static BfSessionMedia *
g711_offer (const char *name, const guint8 pts[2], guint32 ssrc, const char *cname)
{
  BfSessionMedia *media = bf_session_media_new ();
  guint c = bf_session_media_add_content (media, name, "audio", BF_SESSION_SENDERS_BOTH);
  const BfSessionCodec pcmu = { pts[0], "PCMU", 8000, 1 };
  const BfSessionCodec pcma = { pts[1], "PCMA", 8000, 1 };

  bf_session_media_add_codec (media, c, &pcmu);
  bf_session_media_add_codec (media, c, &pcma);
  bf_session_media_add_source (media, c, ssrc, cname, NULL);
  return media;
}

/* Two dynamic payload types (RFC 3551 §3: 96-127) no content of @session
 * uses yet, for a content we add.  Each content keeps its own numbers, as
 * SDP does across m-lines: a peer without BUNDLE gets a transport per
 * content, and the core sends each RTP packet on the transport of the
 * content that negotiated its payload type. */
static gboolean
free_payload_types (BfSession *session, guint8 pts[2])
{
  g_autoptr (BfSessionMedia) peer = bf_session_get_peer_media (session);
  gboolean used[128] = { FALSE };
  guint n = 0;

  for (guint c = 0; peer != NULL && c < bf_session_media_get_n_contents (peer); c++)
    for (guint i = 0; i < bf_session_media_get_n_codecs (peer, c); i++)
      {
        BfSessionCodec codec;
        if (bf_session_media_get_codec (peer, c, i, &codec))
          used[codec.id & 0x7f] = TRUE;
      }
  for (guint pt = 96; pt < 128 && n < 2; pt++)
    if (!used[pt])
      pts[n++] = (guint8) pt;
  return n == 2;
}

/* What the peer accepted on content @name: the law and payload type to
 * send, from its answer (its first codec is the one it takes). */
static gboolean
peer_accepted (BfSession *session, const char *name, Law *law, guint8 *pt)
{
  g_autoptr (BfSessionMedia) peer = bf_session_get_peer_media (session);
  BfSessionCodec codec;
  int c;

  if (peer == NULL || (c = find_content (peer, name)) < 0
      || !bf_session_media_get_codec (peer, c, 0, &codec))
    return FALSE;
  if (find_codec (peer, c, "PCMU", 0) == 0)
    *law = LAW_PCMU;
  else if (find_codec (peer, c, "PCMA", 8) == 0)
    *law = LAW_PCMA;
  else
    return FALSE;
  *pt = codec.id;
  return TRUE;
}

static BfSessionDecision
room_offer (BfModule *module, BfSession *session)
{
  Room *room = room_of (module);
  g_autoptr (BfSessionMedia) offer = bf_session_get_offer (session);
  g_autoptr (BfSessionMedia) answer = bf_session_media_new ();
  g_autoptr (GError) error = NULL;
  Participant *p;
  BfSessionCodec codec;
  int audio = -1;
  guint8 pt = 0;
  Law law = LAW_PCMU;

  if (!room_allows (room, bf_session_get_peer (session)))
    {
      g_message ("call %s from %s: domain not allowed: declined",
                 bf_session_get_sid (session), bf_session_get_peer (session));
      return BF_SESSION_DECLINE;
    }
  if (room->n_live >= room->max_participants)
    {
      bf_session_terminate (session, "busy", "the room is full");
      return BF_SESSION_DECLINE;
    }
  if (offer == NULL)
    return BF_SESSION_DECLINE;

  /* As tone.c: the first audio content with G.711 we may send on is ours. */
  for (guint c = 0; c < bf_session_media_get_n_contents (offer) && audio < 0; c++)
    {
      BfSessionSenders senders = bf_session_media_get_content_senders (offer, c);
      int pcmu = find_codec (offer, c, "PCMU", 0), pcma = find_codec (offer, c, "PCMA", 8);

      if (g_strcmp0 (bf_session_media_get_content_kind (offer, c), "audio") == 0
          && (senders == BF_SESSION_SENDERS_BOTH || senders == BF_SESSION_SENDERS_RESPONDER)
          && (pcmu >= 0 || pcma >= 0))
        {
          audio = (int) c;
          law = pcmu >= 0 ? LAW_PCMU : LAW_PCMA;
          bf_session_media_get_codec (offer, c, pcmu >= 0 ? pcmu : pcma, &codec);
          pt = codec.id;
        }
    }
  if (audio < 0)
    {
      g_message ("call %s from %s: no PCMU/8000 or PCMA/8000 audio we may send on: declined",
                 bf_session_get_sid (session), bf_session_get_peer (session));
      return BF_SESSION_DECLINE;
    }

  /* The room's worker, if it has one already: a room reads and sends all
   * its participants on one thread.  The core chose a worker for the
   * session; it runs on ours instead. */
  if (room->worker != NULL && bf_session_get_worker (session) != room->worker)
    {
      if (!bf_session_set_worker (session, room->worker, &error))
        {
          g_warning ("call %s: cannot move it to the room's worker: %s",
                     bf_session_get_sid (session), error->message);
          return BF_SESSION_DECLINE;
        }
      g_message ("call %s: moved from the core's choice of worker to the room's",
                 bf_session_get_sid (session));
    }
  p = room_add (room, session, bf_session_get_cname (session));

  /* Every offered content answered in order, under its own name: ours
   * with the one codec under the offer's number (RFC 3264 §6.1) and our
   * source; every other one unused (senders 'none') with one of its own
   * codecs (an answer without a codec is not valid). */
  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    {
      gboolean ours = (int) c == audio;
      guint a = bf_session_media_add_content (answer,
                                              bf_session_media_get_content_name (offer, c),
                                              bf_session_media_get_content_kind (offer, c),
                                              ours ? bf_session_media_get_content_senders (offer, c)
                                                   : BF_SESSION_SENDERS_NONE);
      if (ours)
        {
          bf_session_media_copy_codec (answer, a, offer, c, pt);
          bf_session_media_add_source (answer, a, p->ssrc[0], p->cname, NULL);
        }
      else if (!bf_session_media_get_codec (offer, c, 0, &codec)
               || !bf_session_media_copy_codec (answer, a, offer, c, codec.id))
        {
          g_message ("call %s: content '%s' offers no codec: declined",
                     bf_session_get_sid (session), bf_session_media_get_content_name (offer, c));
          bf_session_terminate (session, "decline", NULL);
          return BF_SESSION_DECLINE;
        }
    }
  if (!bf_session_accept (session, answer, &error))
    {
      g_warning ("call %s: answer refused: %s", bf_session_get_sid (session), error->message);
      bf_session_terminate (session, "failed-application", NULL);
      return BF_SESSION_DECLINE;
    }
  p->answered = TRUE;
  post_stream (p, 0, law, pt);
  g_message ("call %s from %s joins the room %s the room's worker (participants: %u)",
             bf_session_get_sid (session), bf_session_get_peer (session),
             bf_session_get_worker (session) == room->worker ? "on" : "NOT on", room->n_live);
  return BF_SESSION_ACCEPT;   /* ignored: bf_session_accept() answered */
}

static void
room_answered (BfModule *module, BfSession *session)
{
  Participant *p = bf_session_get_data (session);
  Law law;
  guint8 pt;

  (void) module;
  if (p == NULL)
    return;
  if (!peer_accepted (session, "audio", &law, &pt))
    {
      g_message ("call %s: %s answered without PCMU or PCMA", bf_session_get_sid (session),
                 bf_session_get_peer (session));
      bf_session_terminate (session, "failed-application", "no G.711 in the answer");
      return;
    }
  p->answered = TRUE;
  post_stream (p, 0, law, pt);
  g_message ("call %s: %s answered; sending the tone in %s (payload type %u)",
             bf_session_get_sid (session), bf_session_get_peer (session),
             law == LAW_PCMU ? "PCMU" : "PCMA", pt);
}

static void
room_content_answered (BfModule *module, BfSession *session, const char *name,
                       gboolean accepted)
{
  Participant *p = bf_session_get_data (session);
  Law law;
  guint8 pt;

  (void) module;
  if (p == NULL || g_strcmp0 (name, ADDED_CONTENT) != 0)
    return;
  if (!accepted || !peer_accepted (session, name, &law, &pt))
    {
      g_message ("call %s: content '%s' %s", bf_session_get_sid (session), name,
                 accepted ? "accepted without PCMU or PCMA: removed" : "rejected");
      if (accepted)
        bf_session_remove_content (session, name);
      return;
    }
  post_stream (p, 1, law, pt);
  g_message ("call %s: content '%s' accepted; sending %u Hz on it in %s (payload type %u)",
             bf_session_get_sid (session), name, stream_hz[1],
             law == LAW_PCMU ? "PCMU" : "PCMA", pt);
}

static void
room_media (BfModule *module, BfSession *session, BfPacket *packet)
{
  /* A mixer would read the participant's audio here; the room ignores it. */
  (void) module;
  (void) session;
  (void) packet;
}

static void
room_media_ready (BfModule *module, BfSession *session)
{
  Participant *p = bf_session_get_data (session);

  (void) module;
  if (p != NULL)
    p->ready = TRUE;   /* worker: the timer sends to it from now on */
}

static void
room_ended (BfModule *module, BfSession *session, const char *reason)
{
  Room *room = room_of (module);
  Participant *p = g_hash_table_lookup (room->sessions, session);

  g_message ("call %s with %s ended: %s", bf_session_get_sid (session),
             bf_session_get_peer (session), reason);
  if (p == NULL)
    return;
  g_hash_table_remove (room->sessions, session);
  bf_worker_invoke (room->worker, mixer_leave, p, NULL);
  /* The last session gone: the room lets its worker go; the next session
   * may get another one. */
  if (--room->n_live == 0)
    {
      bf_worker_invoke (room->worker, mixer_stop, room->mixer, mixer_free);
      room->mixer = NULL;
      room->worker = NULL;
    }
}

/* --- Chat commands --- */

static void
reply (BfModule *module, const BfStanza *request, const char *text)
{
  g_autoptr (BfStanza) msg = bf_stanza_new ("message", NULL);

  bf_stanza_set_attr (msg, "to", bf_stanza_get_attr (request, "from"));
  bf_stanza_set_attr (msg, "from", bf_stanza_get_attr (request, "to"));
  bf_stanza_set_attr (msg, "type", "chat");
  bf_stanza_add_text_child (msg, "body", NULL, text);
  bf_module_send (module, msg);
}

/* "call": ring the sender's bare JID (XEP-0353: every client of theirs
 * that takes calls rings) from the room, as a conference calls a
 * participant to send it a stream. */
static void
command_call (BfModule *module, const BfStanza *request, const char *bare)
{
  Room *room = room_of (module);
  g_autoptr (BfSessionMedia) offer = NULL;
  g_autoptr (BfStanza) info = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *local = NULL;
  g_autofree char *cname = NULL;
  BfStanza *extra[2];
  BfSession *session;
  Participant *p;
  guint32 ssrc = bf_random_u32 ();

  if (room->n_live >= room->max_participants)
    {
      reply (module, request, "The room is full.");
      return;
    }
  /* One call of ours to each user at a time: a message is cheap to send,
   * a call rings every device. */
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, room->sessions);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      Participant *q = value;
      if (bf_session_is_outgoing (q->session) && g_strcmp0 (q->peer_bare, bare) == 0)
        {
          reply (module, request, "The room is calling you already.");
          return;
        }
    }

  local = g_strdup_printf ("room@%s/" ROOM_RESOURCE, bf_module_get_domain (module));
  cname = g_strdup_printf ("room-%08x", bf_random_u32 ());
  /* The static numbers of G.711 (RFC 3551 §6). */
  offer = g711_offer ("audio", (const guint8[]) { 0, 8 }, ssrc, cname);
  /* XEP-0298 §5: a mixer says so in its session-initiate; XEP-0521 names
   * whose stream a session carries with <user entity=.../>: the room's. */
  info = bf_stanza_new ("conference-info", NS_COIN);
  bf_stanza_set_attr (info, "isfocus", "true");
  {
    g_autofree char *entity = g_strdup_printf ("xmpp:room@%s", bf_module_get_domain (module));
    BfStanza *user = bf_stanza_add_child (info, "user", NS_COIN);
    bf_stanza_set_attr (user, "entity", entity);
  }
  extra[0] = info;
  extra[1] = NULL;
  /* On the room's worker (NULL while the room is empty: the core chooses,
   * and that worker becomes the room's). */
  session = bf_session_place_offer (module, local, bare, offer, room->worker,
                                    (BfStanza *const *) extra, &error);
  if (session == NULL)
    {
      g_message ("calling %s failed: %s", bare, error->message);
      reply (module, request, "The room cannot call you now.");
      return;
    }
  p = room_add (room, session, cname);
  p->ssrc[0] = ssrc;
  g_message ("call %s: calling %s %s the room's worker (participants: %u)",
             bf_session_get_sid (session), bare,
             bf_session_get_worker (session) == room->worker ? "on" : "NOT on", room->n_live);
  reply (module, request, "Calling you.");
}

/* "add": a second audio content on each of the sender's live sessions. */
static void
command_add (BfModule *module, const BfStanza *request, const char *bare)
{
  Room *room = room_of (module);
  GHashTableIter it;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&it, room->sessions);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      Participant *p = value;
      g_autoptr (BfSessionMedia) media = NULL;
      g_autoptr (GError) error = NULL;
      guint8 pts[2];

      if (!p->answered || p->added || g_strcmp0 (p->peer_bare, bare) != 0
          || !free_payload_types (p->session, pts))
        continue;
      media = g711_offer (ADDED_CONTENT, pts, p->ssrc[1], p->cname);
      if (!bf_session_add_content (p->session, media, 0, &error))
        {
          g_message ("call %s: cannot add content '%s': %s", bf_session_get_sid (p->session),
                     ADDED_CONTENT, error->message);
          continue;
        }
      p->added = TRUE;
      n++;
      g_message ("call %s: adding content '%s' (%u Hz)", bf_session_get_sid (p->session),
                 ADDED_CONTENT, stream_hz[1]);
    }
  reply (module, request, n > 0 ? "Adding a second tone." : "No call to add a tone to.");
}

static gboolean
room_handle_stanza (BfModule *module, const BfStanza *stanza)
{
  Room *room = room_of (module);
  const char *type = bf_stanza_get_attr (stanza, "type");
  const char *from = bf_stanza_get_attr (stanza, "from");
  const char *body;
  g_autofree char *bare = NULL;
  g_autofree char *text = NULL;
  g_autofree char *command = NULL;

  if (g_strcmp0 (bf_stanza_get_name (stanza), "message") != 0)
    return FALSE;
  /* Never answer an error (RFC 6120 §8.3.1), nor a room's chat (a bot
   * answering a MUC loops); a message without a body (a chat state) is
   * not a command either. */
  if (g_strcmp0 (type, "error") == 0 || g_strcmp0 (type, "groupchat") == 0)
    return TRUE;
  body = bf_stanza_find_child_text (stanza, "body", NULL);
  if (body == NULL)
    return TRUE;
  if (from == NULL || (bare = bare_of (from)) == NULL)
    return FALSE;
  if (!room_allows (room, from))
    {
      bf_module_send_error (module, stanza, "auth", "forbidden",
                            "This room takes users of its own domains only");
      return TRUE;
    }
  if (strlen (body) > ROOM_MAX_BODY)
    {
      bf_module_send_error (module, stanza, "modify", "policy-violation", "Too long");
      return TRUE;
    }
  text = g_strdup (body);
  command = g_ascii_strdown (g_strstrip (text), -1);
  if (g_strcmp0 (command, "call") == 0)
    command_call (module, stanza, bare);
  else if (g_strcmp0 (command, "add") == 0)
    command_add (module, stanza, bare);
  else
    reply (module, stanza, "Commands: \"call\" (the room calls you), "
                           "\"add\" (a second tone on your calls).");
  return TRUE;
}

/* --- Module --- */

static void
room_free (gpointer data)
{
  Room *room = data;

  g_strfreev (room->allow);
  if (room->sessions != NULL)
    g_hash_table_unref (room->sessions);
  g_free (room);
}

static gboolean
room_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  Room *room = g_new0 (Room, 1);

  bf_module_set_data (module, room, room_free);
  room->sessions = g_hash_table_new (NULL, NULL);
  if (!bf_config_get_domain_list (config, "allow-domains", bf_module_get_server_domain (module),
                                  &room->allow, error))
    return FALSE;
  return bf_config_get_int (config, "max-participants", 8, 1, 64, &room->max_participants,
                            error);
}

static const BfSessionHooks room_sessions = {
  .offer = room_offer,
  .media = room_media,
  .ended = room_ended,
  .answered = room_answered,
  .content_answered = room_content_answered,
  .media_ready = room_media_ready,
};

static const char *const room_localparts[] = { "room", NULL };
static const char *const room_features[] = { BF_SESSION_DISCO_FEATURES, NULL };

static const BfModuleInfo room_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "room",
  .description = "A conference-shaped room sending a tone to every session",
  .localparts = room_localparts,
  .features = room_features,
  .init = room_init,
  .handle_stanza = room_handle_stanza,
  .sessions = &room_sessions,
};

BF_MODULE_DEFINE (room_info)
