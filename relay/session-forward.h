/* belfry — the peer link between two sessions and the core's forwarding
 * over it (session-forward.c; module side: bf_session_forward and
 * bf_session_get_linked in belfry/session.h).
 *
 * Why: a relayed call's two legs used to be linked twice, by the core (for
 * lifetime) and by the call module (which kept the payload type maps and
 * published them to the worker itself).  Now the link is the core's only,
 * and so are its maps: computed on the main thread from what each peer
 * negotiated, posted to the shared worker, read there by
 * bf_session_forward().
 *
 * Threads: the link itself (BfSession.linked) is the main thread's; the
 * SessionForward below is the worker's, written only by jobs posted to it
 * (bf_session_forward_post_maps) and by the teardown.  Both sessions of a link share
 * one worker. */
#pragma once

#include <glib.h>

#include "rtp-map-apply.h"

G_BEGIN_DECLS

typedef struct _BfSession BfSession;

/* Worker side of a link: what a packet received on this session becomes on
 * the linked one. */
typedef struct {
  BfSession *linked;       /* a reference: from the link job to the teardown */
  BfRtpMap map;            /* numbers from this session's peer to the linked one's */
  gboolean takes[128];     /* the payload types the linked session's peer receives */
  gboolean takes_known;    /* FALSE until it answered: everything passes */
  guint64 dropped_pt;      /* RTP of a payload type not in takes: not forwarded */
} SessionForward;

/* Main thread: links a session we place with the one it mirrors (both on
 * one worker, neither linked yet); the worker learns of it by a job. */
G_GNUC_INTERNAL void bf_session_forward_link (BfSession *placed, BfSession *mirror);
/* Main thread, at the end of bf_session_end (after the ended() hook): the
 * link is gone on the main side, for both sessions. */
G_GNUC_INTERNAL void bf_session_forward_unlink (BfSession *s);
/* Main thread: recomputes the maps of both directions of @s's link from
 * what each peer negotiated so far and posts them to the worker (posted in
 * order with the session's other jobs, so maps posted before the work that
 * starts media are in place when it flows).  Nothing without a link.
 * Called whenever a session is answered or its contents change. */
G_GNUC_INTERNAL void bf_session_forward_post_maps (BfSession *s);
/* Worker, in bf_session_worker_teardown: reports what was dropped and lets go of the
 * linked session. */
G_GNUC_INTERNAL void bf_session_forward_teardown (BfSession *s);

G_END_DECLS
