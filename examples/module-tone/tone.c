/* tone — an out-of-tree belfry module that answers calls with a test tone.
 *
 * Serves tone@<domain>.  A Jingle call to it is answered with audio only:
 * the module sends a 440 Hz sine in G.711 (PCMU, or PCMA when the caller
 * has no PCMU), one RTP packet every 20 ms, and ignores what the caller
 * sends.  Video (or any other content) is answered but left unused
 * (senders 'none'), as RFC 3264 §6 wants for a stream one does not take.
 *
 * It is a tutorial for the media side of the module API, written against
 * the installed headers only (see meson.build and README.md here):
 *
 *   offer()        main thread: read the caller's offer
 *                  (bf_session_get_offer), build an answer of our own
 *                  (session-media.h) and accept it (bf_session_accept);
 *   media_ready()  worker thread: the caller has its SRTP keys, so what we
 *                  send now arrives: start a 20 ms timer on the session's
 *                  worker (worker.h), which sends one packet per tick;
 *   media()        worker thread: a packet from the caller (counted only);
 *   ended()        main thread: the call is over: post the timer's removal
 *                  to the worker, which owns the timer (bf_worker_invoke).
 *
 * Thread rule: a Tone is written by offer() before any media flows, and
 * from then on only on the session's worker thread (the timer, media(),
 * the stop posted by ended()); the main thread only reads its worker
 * pointer, which never changes.
 */
#define G_LOG_DOMAIN "belfry-tone"

#include <math.h>
#include <string.h>

#include <belfry/module.h>

#define TONE_HZ 440.0
#define TONE_AMPLITUDE 10000.0       /* of 32767: about -10 dBFS */
#define TONE_RATE 8000               /* G.711 is 8 kHz only */
#define TONE_PTIME_MS 20
#define TONE_SAMPLES (TONE_RATE * TONE_PTIME_MS / 1000)   /* 160 */
#define RTP_HEADER 12

typedef enum { TONE_PCMU, TONE_PCMA } ToneLaw;

typedef struct {
  BfSession *session;
  BfWorker *worker;
  ToneLaw law;
  guint8 pt;              /* the payload type number the caller gave the codec */
  guint32 ssrc;
  guint16 seq;
  guint32 timestamp;
  guint32 phase;          /* sample index into the sine, modulo TONE_RATE */
  guint timer;            /* 0 while no timer runs */
  gboolean stopped;       /* ended() came: start no timer any more */
  guint64 sent, send_failed, received;
} Tone;

/* --- G.711 (ITU-T Rec. G.711, 1988), 16-bit linear in --- */

/* µ-law works on 14-bit samples: bias the magnitude by 33 so that every
 * value has a leading one in bits 5..12; its position is the 3-bit
 * segment, the next four bits the mantissa; the code is sent inverted. */
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

/* A-law: a 13-bit magnitude; segment 0 is linear (steps of 2), segment s
 * (1..7) covers [16 << s, 32 << s).  Positive values have the sign bit
 * set, and every even bit is inverted (XOR 0x55) on the line. */
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

/* --- Sending: one packet per tick, on the worker --- */

static void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  put_be16 (p, v >> 16);
  put_be16 (p + 2, v & 0xffff);
}

static gboolean
tone_tick (const BfWorkerTick *tick, gpointer data)
{
  Tone *self = data;
  guint8 packet[RTP_HEADER + TONE_SAMPLES];

  /* A tick the worker was too busy for was skipped, not queued: move the
   * RTP clock (and the sine) over the 20 ms that were never sent, so the
   * caller's jitter buffer sees a gap in time rather than late audio.  The
   * sequence number still goes up by one: no packet was lost. */
  if (self->sent + self->send_failed > 0)
    {
      self->timestamp += TONE_SAMPLES * (1 + tick->skipped);
      self->phase = (self->phase + TONE_SAMPLES * tick->skipped) % TONE_RATE;
      self->seq++;
    }

  /* RFC 3550 §5.1: version 2, no padding, extension or CSRC; the marker
   * starts a talkspurt (RFC 3551 §4.1), here the first packet. */
  packet[0] = 0x80;
  packet[1] = self->pt | (self->sent + self->send_failed == 0 ? 0x80 : 0);
  put_be16 (packet + 2, self->seq);
  put_be32 (packet + 4, self->timestamp);
  put_be32 (packet + 8, self->ssrc);

  for (guint i = 0; i < TONE_SAMPLES; i++)
    {
      /* 440 Hz divides 8000 Hz into whole cycles every second, so the
       * phase may wrap at TONE_RATE without a click. */
      double s = TONE_AMPLITUDE * sin (2.0 * G_PI * TONE_HZ * self->phase / TONE_RATE);
      gint16 pcm = (gint16) lround (s);
      packet[RTP_HEADER + i] = self->law == TONE_PCMU ? linear_to_ulaw (pcm)
                                                      : linear_to_alaw (pcm);
      self->phase = (self->phase + 1) % TONE_RATE;
    }

  /* FALSE when the packet could not go out (counted by the core too). */
  if (bf_session_send_rtp (self->session, packet, sizeof packet))
    self->sent++;
  else
    self->send_failed++;
  return G_SOURCE_CONTINUE;
}

/* --- Session hooks --- */

static gboolean
is_codec (const BfSessionCodec *codec, const char *name, guint8 static_pt)
{
  /* A name is optional for static payload types (XEP-0167 §5). */
  if (codec->name == NULL || codec->name[0] == '\0')
    return codec->id == static_pt;
  return g_ascii_strcasecmp (codec->name, name) == 0
         && (codec->clockrate == TONE_RATE || codec->clockrate == 0)
         && codec->channels <= 1;
}

/* The index of the offered codec @name in @content, or -1. */
static int
find_codec (const BfSessionMedia *offer, guint content, const char *name, guint8 static_pt)
{
  for (guint i = 0; i < bf_session_media_get_n_codecs (offer, content); i++)
    {
      BfSessionCodec codec;
      if (bf_session_media_get_codec (offer, content, i, &codec)
          && is_codec (&codec, name, static_pt))
        return (int) i;
    }
  return -1;
}

static BfSessionDecision
tone_offer (BfModule *module, BfSession *session)
{
  g_autoptr (BfSessionMedia) offer = bf_session_get_offer (session);
  g_autoptr (BfSessionMedia) answer = bf_session_media_new ();
  g_autoptr (GError) error = NULL;
  Tone *self;
  gboolean have_audio = FALSE;
  ToneLaw law = TONE_PCMU;
  BfSessionCodec codec = { 0 };

  (void) module;
  if (offer == NULL)
    return BF_SESSION_DECLINE;

  /* Every offered content must be answered, under its own name and kind.
   * The first audio content we can send G.711 on is ours; everything else
   * is answered with senders 'none' and one of its own codecs (an answer
   * without a codec is not valid), so the caller knows it is unused. */
  for (guint c = 0; c < bf_session_media_get_n_contents (offer); c++)
    {
      const char *name = bf_session_media_get_content_name (offer, c);
      const char *kind = bf_session_media_get_content_kind (offer, c);
      BfSessionSenders senders = bf_session_media_get_content_senders (offer, c);
      /* Senders are the caller's view: 'initiator' alone would forbid us
       * (the responder) to send. */
      gboolean we_may_send = senders == BF_SESSION_SENDERS_BOTH
                             || senders == BF_SESSION_SENDERS_RESPONDER;
      int pcmu = find_codec (offer, c, "PCMU", 0);
      int pcma = find_codec (offer, c, "PCMA", 8);
      guint a;

      if (!have_audio && g_strcmp0 (kind, "audio") == 0 && we_may_send
          && (pcmu >= 0 || pcma >= 0))
        {
          have_audio = TRUE;
          law = pcmu >= 0 ? TONE_PCMU : TONE_PCMA;
          bf_session_media_get_codec (offer, c, pcmu >= 0 ? pcmu : pcma, &codec);
          a = bf_session_media_add_content (answer, name, kind, senders);
          /* Copied, not rebuilt: the answer must use the offer's number and
           * description of the codec (RFC 3264 §6.1). */
          bf_session_media_copy_codec (answer, a, offer, c, codec.id);
          continue;
        }

      a = bf_session_media_add_content (answer, name, kind, BF_SESSION_SENDERS_NONE);
      if (!bf_session_media_get_codec (offer, c, 0, &codec)
          || !bf_session_media_copy_codec (answer, a, offer, c, codec.id))
        {
          g_message ("call %s from %s: content '%s' offers no codec: declined",
                     bf_session_get_sid (session), bf_session_get_peer (session), name);
          return BF_SESSION_DECLINE;
        }
    }

  if (!have_audio)
    {
      g_message ("call %s from %s: no PCMU/8000 or PCMA/8000 audio we may send on: declined",
                 bf_session_get_sid (session), bf_session_get_peer (session));
      return BF_SESSION_DECLINE;
    }

  self = g_new0 (Tone, 1);
  self->session = session;
  self->worker = bf_session_get_worker (session);
  self->law = law;
  /* RFC 3550 §5.1: SSRC, first sequence number and timestamp random. */
  self->ssrc = bf_random_u32 ();
  self->seq = bf_random_u32 () & 0xffff;
  self->timestamp = bf_random_u32 ();

  /* Find the audio content again to announce our source on it (XEP-0339):
   * the caller then knows the SSRC and its cname before the first packet. */
  for (guint a = 0; a < bf_session_media_get_n_contents (answer); a++)
    if (bf_session_media_get_content_senders (answer, a) != BF_SESSION_SENDERS_NONE)
      {
        BfSessionCodec chosen;
        bf_session_media_get_codec (answer, a, 0, &chosen);
        self->pt = chosen.id;
        bf_session_media_add_source (answer, a, self->ssrc, bf_session_get_cname (session),
                                     NULL);
      }

  if (!bf_session_accept (session, answer, &error))
    {
      /* A bug of ours (the answer breaks the offer's rules): say so. */
      g_warning ("call %s: answer refused: %s", bf_session_get_sid (session), error->message);
      g_free (self);
      return BF_SESSION_DECLINE;
    }
  /* Freed by the core after the last media() call (session.h). */
  bf_session_set_data (session, self, g_free);
  g_message ("call %s from %s: answering with a %g Hz tone in %s (payload type %u)",
             bf_session_get_sid (session), bf_session_get_peer (session), TONE_HZ,
             law == TONE_PCMU ? "PCMU" : "PCMA", self->pt);
  return BF_SESSION_ACCEPT;   /* ignored: bf_session_accept() answered */
}

static void
tone_media_ready (BfModule *module, BfSession *session)
{
  Tone *self = bf_session_get_data (session);

  (void) module;
  /* media_ready runs again for a content added later; one timer is
   * enough.  After ended() nothing new is started. */
  if (self == NULL || self->timer != 0 || self->stopped)
    return;
  /* Absolute deadlines: tick n is due at start + n × 20 ms however long
   * each tick took, so the stream keeps its 50 packets/s. */
  self->timer = bf_worker_timer_add (self->worker, TONE_PTIME_MS, tone_tick, self, NULL);
}

static void
tone_media (BfModule *module, BfSession *session, BfPacket *packet)
{
  Tone *self = bf_session_get_data (session);

  (void) module;
  if (self != NULL && !packet->is_rtcp)
    self->received++;
}

/* Posted by ended(), runs on the worker: the timer is the worker's, so only
 * the worker may remove it.  Work posted to a worker runs in posting order
 * (worker.h), and the core posts its own teardown of the session there
 * after ended() returns, so this runs first, while the session (and @self,
 * its data) are still alive; until it runs, ticks may still send (the
 * send then fails and is counted once the session is over). */
static void
tone_stop (gpointer data)
{
  Tone *self = data;

  self->stopped = TRUE;
  if (self->timer != 0)
    bf_worker_timer_remove (self->worker, self->timer);
  self->timer = 0;
  g_info ("call %s: sent %" G_GUINT64_FORMAT " packets (%" G_GUINT64_FORMAT
          " failed), received %" G_GUINT64_FORMAT " and ignored them",
          bf_session_get_sid (self->session), self->sent, self->send_failed, self->received);
}

static void
tone_ended (BfModule *module, BfSession *session, const char *reason)
{
  Tone *self = bf_session_get_data (session);

  (void) module;
  g_message ("call %s with %s ended: %s", bf_session_get_sid (session),
             bf_session_get_peer (session), reason);
  if (self != NULL)
    bf_worker_invoke (self->worker, tone_stop, self, NULL);
}

static const BfSessionHooks tone_sessions = {
  .offer = tone_offer,
  .media = tone_media,
  .ended = tone_ended,
  .media_ready = tone_media_ready,
};

static const char *const tone_localparts[] = { "tone", NULL };
/* What the core implements for an address that takes calls: clients look
 * for Jingle and ICE-UDP in its disco#info before they call. */
static const char *const tone_features[] = { BF_SESSION_DISCO_FEATURES, NULL };

static const BfModuleInfo tone_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "tone",
  .description = "Answers calls with a 440 Hz tone",
  .localparts = tone_localparts,
  .features = tone_features,
  .sessions = &tone_sessions,
};

BF_MODULE_DEFINE (tone_info)
