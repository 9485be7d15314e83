/* belfry — what the session manager needs of a BfSessionMedia
 * (belfry/session-media.h) beyond the module API: it is held as the core's
 * Jingle model.  Main thread (whoever owns the media). */
#pragma once

#include <belfry/session-media.h>

#include "jingle.h"
#include "jingle-describe.h"

G_BEGIN_DECLS

/* The RTP contents of @j, copied (no transports, no SDES crypto). */
BfSessionMedia *bf_session_media_new_from_jingle (const BfJingle *j);
/* The contents as Jingle: each has an RTP description, none a transport. */
const BfJingle *bf_session_media_get_jingle (const BfSessionMedia *media);
/* Whether @answer may answer @offer: every offered content answered (same
 * name and media), none added; payload types and header extensions
 * among those offered for the content, under the offer's numbers. */
gboolean bf_session_media_check_answer (const BfSessionMedia *answer, const BfJingle *offer,
                                        GError **error);
/* Whether content @content of @media may be offered as a module built it:
 * a name (at most BF_JINGLE_MAX_STRING bytes), media "audio" or "video",
 * at least one codec, each dynamic one (96-127) named. */
gboolean bf_session_media_check_content (const BfSessionMedia *media, guint content,
                                         GError **error);
/* Whether @offer may be offered as a session: 1 to @max_contents contents
 * (each session content is a transport until the peer BUNDLEs them), each
 * one as bf_session_media_check_content wants, their names distinct. */
gboolean bf_session_media_check_offer (const BfSessionMedia *offer, guint max_contents,
                                       GError **error);
/* The description we answer the peer's offered @offer with, built from the
 * module's @answer (checked): its codecs, feedback, extensions and sources,
 * and what belongs to the RTP session rather than to the module's choice
 * of media: rtcp-mux always, reduced-size RTCP and mixed header extension
 * forms as the peer offered them. */
BfJingleRtpDescription *bf_session_media_answer_rtp (const BfJingleRtpDescription *offer,
                                                     const BfJingleRtpDescription *answer);

G_END_DECLS
