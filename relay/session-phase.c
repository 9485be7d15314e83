/* belfry — a session's phases and the transitions between them (see
 * session-phase.h): one table, read by bf_session_set_phase. */
#include "session-phase.h"

#define BIT(p) (1u << (p))

/* allowed[from]: the phases that may follow @from. */
static const guint allowed[BF_SESSION_N_PHASES] = {
  [BF_SESSION_PHASE_NEW] = BIT (BF_SESSION_PHASE_PROPOSING) | BIT (BF_SESSION_PHASE_INITIATING)
                           | BIT (BF_SESSION_PHASE_DEFERRED) | BIT (BF_SESSION_PHASE_ACCEPTING)
                           | BIT (BF_SESSION_PHASE_ENDED),
  /* <proceed/>; <reject/>, a bounce or our retract end it */
  [BF_SESSION_PHASE_PROPOSING] = BIT (BF_SESSION_PHASE_INITIATING) | BIT (BF_SESSION_PHASE_ENDED),
  [BF_SESSION_PHASE_INITIATING] = BIT (BF_SESSION_PHASE_INITIATED) | BIT (BF_SESSION_PHASE_ENDED),
  /* session-accept; or our initiate to a full JID bounced: ring the bare JID */
  [BF_SESSION_PHASE_INITIATED] = BIT (BF_SESSION_PHASE_ACTIVE) | BIT (BF_SESSION_PHASE_PROPOSING)
                                 | BIT (BF_SESSION_PHASE_ENDED),
  [BF_SESSION_PHASE_DEFERRED] = BIT (BF_SESSION_PHASE_ACCEPTING) | BIT (BF_SESSION_PHASE_ENDED),
  [BF_SESSION_PHASE_ACCEPTING] = BIT (BF_SESSION_PHASE_ACTIVE) | BIT (BF_SESSION_PHASE_ENDED),
  [BF_SESSION_PHASE_ACTIVE] = BIT (BF_SESSION_PHASE_ENDED),
  [BF_SESSION_PHASE_ENDED] = 0,
};

gboolean
bf_session_phase_allowed (BfSessionPhase from, BfSessionPhase to)
{
  if ((guint) from >= BF_SESSION_N_PHASES || (guint) to >= BF_SESSION_N_PHASES)
    return FALSE;
  return (allowed[from] & BIT (to)) != 0;
}

static const char *const names[BF_SESSION_N_PHASES] = {
  [BF_SESSION_PHASE_NEW] = "new",
  [BF_SESSION_PHASE_PROPOSING] = "proposing",
  [BF_SESSION_PHASE_INITIATING] = "initiating",
  [BF_SESSION_PHASE_INITIATED] = "initiated",
  [BF_SESSION_PHASE_DEFERRED] = "deferred",
  [BF_SESSION_PHASE_ACCEPTING] = "accepting",
  [BF_SESSION_PHASE_ACTIVE] = "active",
  [BF_SESSION_PHASE_ENDED] = "ended",
};

const char *
bf_session_phase_to_string (BfSessionPhase phase)
{
  return (guint) phase < BF_SESSION_N_PHASES ? names[phase] : "?";
}
