#define G_LOG_DOMAIN "belfry-session"
/* The peer link between two sessions and the core's forwarding over it
 * (session-forward.h; belfry/session.h: bf_session_get_linked,
 * bf_session_forward).  The maps are computed here on the main thread from
 * the two negotiations and posted to the link's worker; the worker applies
 * them to every packet forwarded. */
#include "build-config.h"

#include <string.h>
#include <gio/gio.h>

#include "jingle-describe.h"
#include "session-private.h"

/* --- the maps, from the negotiations (main thread) --- */

/* How packets from @from's peer are renumbered for @to's peer: payload
 * types by codec, header extension ids by URI, as each peer negotiated.
 * Contents are paired by name. */
static void
rtp_map (BfSession *from, BfSession *to, BfRtpMap *map)
{
  /* Numbers arrive as we told @from's peer (our offer if we placed that
   * session; for a session we answer, the caller's own numbers, which our
   * answer keeps) and leave as @to's peer told us. */
  bf_jingle_describe_rtp_map_init (map);
  if (to->theirs == NULL)
    return;
  for (guint i = 0; i < to->theirs->contents->len; i++)
    {
      const BfJingleContent *heard = g_ptr_array_index (to->theirs->contents, i);
      const BfJingleContent *sent = from->ours ? bf_jingle_find_content (from->ours, heard->name)
                                               : NULL;
      if (sent == NULL && !from->outgoing && from->theirs)
        sent = bf_jingle_find_content (from->theirs, heard->name);
      if (sent && sent->rtp && heard->rtp)
        bf_jingle_describe_rtp_map_add (map, sent->rtp, heard->rtp);
    }
}

/* The payload types @session's peer agreed to receive, as numbered on that
 * session (for each content, the answer's payload types: the peer's
 * session-accept / content-accept for what we offered, ours for what it
 * offered): @pts[id] is TRUE for each.  FALSE (all FALSE) before the
 * session is answered. */
static gboolean
receive_pts (BfSession *session, gboolean pts[128])
{
  BfSession *s = session;
  memset (pts, 0, 128 * sizeof (gboolean));
  /* Answered with the caller's own media (BF_SESSION_ACCEPT): the offer's
   * payload types. */
  const BfJingle *echo = !s->outgoing && s->ours == NULL && s->phase == BF_SESSION_PHASE_ACTIVE
                         ? s->theirs : NULL;
  BfJingleCreator us = s->outgoing ? BF_JINGLE_CREATOR_INITIATOR : BF_JINGLE_CREATOR_RESPONDER;
  const BfJingle *sides[] = { s->theirs, s->ours };
  gboolean any = FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (sides); k++)
    for (guint i = 0; sides[k] && i < sides[k]->contents->len; i++)
      {
        const BfJingleContent *c = g_ptr_array_index (sides[k]->contents, i);
        /* Whoever did not create a content answered it; the creator as the
         * session knows it (a peer may get the attribute wrong). */
        const BfJingleSessionContent *sc
          = s->js ? bf_jingle_session_find_content_by_name (s->js, c->name) : NULL;
        if (sc == NULL || c->rtp == NULL)
          continue;
        const BfJingle *answer = echo ? echo : sc->creator == us ? s->theirs : s->ours;
        if (answer != sides[k])
          continue;
        for (guint m = 0; m < c->rtp->payload_types->len; m++)
          pts[((const BfJinglePayloadType *) g_ptr_array_index (c->rtp->payload_types, m))->id]
            = any = TRUE;
      }
  return any;
}

/* --- jobs posted to the link's worker --- */

/* The link (a, b), or new maps for it (all of it). */
typedef struct {
  BfSession *a, *b;        /* references */
  BfRtpMap a_to_b, b_to_a;
  gboolean a_takes[128], b_takes[128];
  gboolean a_known, b_known;
} ForwardJob;

static ForwardJob *
forward_job_new (BfSession *a, BfSession *b)
{
  ForwardJob *job = g_new (ForwardJob, 1);
  job->a = bf_session_ref (a);
  job->b = bf_session_ref (b);
  return job;
}

static void
forward_job_free (gpointer data)
{
  ForwardJob *job = data;
  bf_session_unref (job->a);
  bf_session_unref (job->b);
  g_free (job);
}

/* --- the link (main thread) --- */

static void
worker_link_one (BfSession *s, BfSession *to)
{
  SessionForward *f = &s->w.forward;
  if (s->w.torn_down || f->linked != NULL)
    return;
  f->linked = bf_session_ref (to);
  /* Until the first maps arrive (an answer): as it comes, everything. */
  bf_jingle_describe_rtp_map_init (&f->map);
  f->takes_known = FALSE;
}

/* Worker: each session holds the other until its own teardown, so a
 * packet received on one can always be sent to the other. */
static void
worker_link (gpointer data)
{
  ForwardJob *job = data;
  worker_link_one (job->a, job->b);
  worker_link_one (job->b, job->a);
}

void
bf_session_forward_link (BfSession *placed, BfSession *mirror)
{
  g_return_if_fail (placed->linked == NULL && mirror->linked == NULL);
  g_return_if_fail (placed->worker == mirror->worker && mirror->worker != NULL);
  placed->linked = mirror;
  mirror->linked = placed;
  bf_media_worker_invoke (mirror->worker, worker_link, forward_job_new (placed, mirror),
                          forward_job_free);
}

void
bf_session_forward_unlink (BfSession *s)
{
  if (s->linked == NULL)
    return;
  /* Main-side pointers only (no references): the worker's own hold the
   * sessions until each one's teardown there. */
  s->linked->linked = NULL;
  s->linked = NULL;
}

BfSession *
bf_session_get_linked (BfSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  if (session->worker && bf_media_worker_is_current (session->worker))
    return session->w.forward.linked;
  /* Main thread: once one has ended, the other no longer sees it (the one
   * ending still sees its partner during its own ended() hook). */
  BfSession *l = session->linked;
  return l && l->phase != BF_SESSION_PHASE_ENDED ? l : NULL;
}

/* --- the maps, posted --- */

/* Logs what a new map renumbers, when it changed: operators see why the
 * numbers differ on the two sides, tests that the maps reached the worker. */
static void
log_map_change (BfSession *s, BfSession *to, const BfRtpMap *was, const BfRtpMap *map)
{
  if (memcmp (was->pt, map->pt, sizeof map->pt) == 0
      && memcmp (was->ext, map->ext, sizeof map->ext) == 0)
    return;
  g_autoptr (GString) what = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (map->pt); i++)
    if (map->pt[i] != i)
      g_string_append_printf (what, "%s%u→%u", what->len ? " " : "payload types ", i, map->pt[i]);
  gboolean first = TRUE;
  for (guint i = 1; i < G_N_ELEMENTS (map->ext); i++)
    if (map->ext[i] != i)
      {
        g_string_append_printf (what, "%s%u→%u", first ? (what->len ? "; extension ids " : "extension ids ")
                                                       : " ", i, map->ext[i]);
        first = FALSE;
      }
  g_message ("session %s: packets forwarded to session %s renumbered: %s", s->sid, to->sid,
             what->len ? what->str : "nothing now");
}

static void
worker_set_maps (BfSession *s, BfSession *to, const BfRtpMap *map, const gboolean takes[128],
                 gboolean known)
{
  SessionForward *f = &s->w.forward;
  if (s->w.torn_down || f->linked != to)
    return;
  log_map_change (s, to, &f->map, map);
  f->map = *map;
  memcpy (f->takes, takes, sizeof f->takes);
  f->takes_known = known;
}

static void
worker_maps (gpointer data)
{
  ForwardJob *job = data;
  worker_set_maps (job->a, job->b, &job->a_to_b, job->b_takes, job->b_known);
  worker_set_maps (job->b, job->a, &job->b_to_a, job->a_takes, job->a_known);
}

void
bf_session_forward_post_maps (BfSession *s)
{
  BfSession *l = s->linked;
  if (l == NULL || s->worker == NULL)
    return;
  ForwardJob *job = forward_job_new (s, l);
  rtp_map (s, l, &job->a_to_b);
  rtp_map (l, s, &job->b_to_a);
  job->a_known = receive_pts (s, job->a_takes);
  job->b_known = receive_pts (l, job->b_takes);
  bf_media_worker_invoke (s->worker, worker_maps, job, forward_job_free);
}

/* --- forwarding (worker) --- */

gboolean
bf_session_forward (BfSession *from, BfPacket *packet)
{
  g_return_val_if_fail (from != NULL && packet != NULL, FALSE);
  g_return_val_if_fail (from->worker && bf_media_worker_is_current (from->worker), FALSE);
  SessionForward *f = &from->w.forward;
  BfSession *to = f->linked;
  if (to == NULL || from->w.torn_down)
    return FALSE;
  /* SSRCs are the same on both sessions (the placed one offers the
   * mirror's): RTCP reports and feedback are right for the other side as
   * they are. */
  if (packet->is_rtcp)
    return bf_session_send_rtcp (to, packet->data, packet->len);
  /* Parsed and checked once, by the core, before the media() hook. */
  bf_rtp_map_apply_packet (&f->map, packet);
  guint8 pt = packet->rtp.payload_type;
  /* A payload type the receiving peer never negotiated (an rtx, red or
   * ulpfec that only the sending side took) is not forwarded: Dino plays
   * the first SSRC of a stream and ignores every other ("Got second ssrc
   * on stream", plugins/rtp/src/stream.vala on_ssrc_pad_added()), so a
   * stray retransmission SSRC arriving first would silence the stream. */
  if (f->takes_known && !f->takes[pt])
    {
      if (f->dropped_pt++ == 0)
        g_message ("session %s: RTP with payload type %u dropped: the peer of session %s did "
                   "not negotiate it (counted from now on)", from->sid, pt, to->sid);
      return FALSE;
    }
  return bf_session_send_rtp (to, packet->data, packet->len);
}

void
bf_session_forward_teardown (BfSession *s)
{
  SessionForward *f = &s->w.forward;
  if (f->dropped_pt)
    g_message ("session %s: %" G_GUINT64_FORMAT " RTP packets dropped (payload type not "
               "negotiated by the peer of session %s)", s->sid, f->dropped_pt,
               f->linked ? f->linked->sid : "linked");
  g_clear_pointer (&f->linked, bf_session_unref);
}
