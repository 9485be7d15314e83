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

G_END_DECLS
