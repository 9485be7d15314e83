/* belfry — the video streams a session's peer sends us, and how to ask
 * each one for a keyframe.
 *
 * Why: a video decoder can start only at a keyframe, and a sender makes
 * one at its start and then only when asked.  A relayed call's legs
 * connect one after the other: whatever the first leg's peer sent before
 * the second leg could take it (its first keyframe among it) was dropped,
 * and the second leg's peer shows nothing until a keyframe comes.  A
 * conference has the same need each time someone joins.  So a module asks
 * a session's peer for keyframes (bf_session_request_keyframe), and this
 * knows what to send: the SSRCs seen on RTP of the session's video payload
 * types, each with the request its payload type negotiated (a PLI, RFC 4585
 * §6.3.1, or a FIR, RFC 5104 §4.3.1).
 *
 * Pure code: no I/O.  One owner: the session's media worker. */
#pragma once

#include <glib.h>

#include "jingle.h"

G_BEGIN_DECLS

#define BF_VIDEO_SOURCES_MAX 8     /* streams remembered; older ones are replaced */
/* The largest request: an empty receiver report (RFC 3550 §6.4.2: an RTCP
 * compound starts with one) and a FIR with one entry. */
#define BF_VIDEO_SOURCES_REQUEST_MAX (8 + 20)

typedef struct {
  guint8 method[128];              /* BfJingleKeyframeRequest by payload type */
  guint32 ssrc[BF_VIDEO_SOURCES_MAX];
  guint8 ssrc_method[BF_VIDEO_SOURCES_MAX];
  guint n, next;
  guint32 own_ssrc;                /* the sender SSRC of our requests */
  guint8 fir_seq;                  /* RFC 5104 §4.3.1.1: one per request */
} BfVideoSources;

/* @own_ssrc: a random SSRC of ours, for the requests' sender field. */
void bf_video_sources_init (BfVideoSources *v, guint32 own_ssrc);
/* What each payload type negotiated (the streams seen so far keep theirs). */
void bf_video_sources_set_methods (BfVideoSources *v, const guint8 method[128]);
/* Notes the SSRC of an RTP packet from the peer if its payload type is
 * video with a way to ask for keyframes.  Cheap: once per packet. */
void bf_video_sources_learn (BfVideoSources *v, const guint8 *rtp, gsize len);
/* Writes the request for stream @index (0 .. n - 1) into @buf (at least
 * BF_VIDEO_SOURCES_REQUEST_MAX bytes): an RTCP compound of an empty
 * receiver report and a PLI or a FIR.  Its length; 0 past the end. */
gsize bf_video_sources_request (BfVideoSources *v, guint index, guint8 *buf);

G_END_DECLS
