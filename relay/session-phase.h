/* belfry — the phase of a Jingle session, and which phase may follow
 * which.  A session is in exactly one phase; the session manager moves it
 * with bf_session_set_phase (session-private.h), which asks
 * bf_session_phase_allowed, so the whole lifecycle is the table in
 * session-phase.c:
 *
 *   outgoing  NEW -> PROPOSING -> INITIATING -> INITIATED -> ACTIVE -> ENDED
 *             NEW -> INITIATING (to a full JID: no proposal)
 *             INITIATED -> PROPOSING (the resource was not there: XEP-0353)
 *   incoming  NEW -> ACCEPTING -> ACTIVE -> ENDED
 *             NEW -> DEFERRED -> ACCEPTING (the module answers later)
 *   any phase but ENDED -> ENDED
 *
 * Pure code: no I/O, no session state; any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  BF_SESSION_PHASE_NEW,         /* made; the module or the placer decides next */
  BF_SESSION_PHASE_PROPOSING,   /* outgoing: JMI propose sent, no proceed yet */
  BF_SESSION_PHASE_INITIATING,  /* outgoing: the peer's resource is known; our
                                 * session-initiate waits for our candidates */
  BF_SESSION_PHASE_INITIATED,   /* outgoing: session-initiate sent, no accept yet */
  BF_SESSION_PHASE_DEFERRED,    /* incoming: the module answers later */
  BF_SESSION_PHASE_ACCEPTING,   /* incoming: accepted; our session-accept waits
                                 * for our candidates */
  BF_SESSION_PHASE_ACTIVE,      /* session-accept sent (incoming) or received
                                 * (outgoing) */
  BF_SESSION_PHASE_ENDED,       /* out of the table; nothing more is sent */
  BF_SESSION_N_PHASES
} BfSessionPhase;

/* Whether a session may go from phase @from to phase @to.  Staying in a
 * phase is not a transition (FALSE); out-of-range values are FALSE. */
gboolean bf_session_phase_allowed (BfSessionPhase from, BfSessionPhase to);

/* The phase's name, for logs ("proposing"); "?" when out of range. */
const char *bf_session_phase_to_string (BfSessionPhase phase);

G_END_DECLS
