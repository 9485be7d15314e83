/* belfry — the one ICE candidate type: an XEP-0176 <candidate/> as a plain
 * value, used by the Jingle parser and builder (jingle/) and by the media
 * transport (relay/media/) alike, so a candidate goes from a stanza to
 * libnice and back without a second struct or a converter.
 *
 * Why here and header-only: jingle/ is the protocol layer and must not
 * depend on relay/media; relay/media does not link jingle/ (its tests link
 * only it and the core).  A header with no functions behind it (the inline
 * helpers below need nothing but GLib) lets both use the type while neither
 * library links the other.  The one change of representation left is
 * libnice's NiceCandidate, in relay/media/transport.c.
 *
 * Fixed-size fields make a candidate copyable by value (a job posted to a
 * media worker carries an array of them).  The bounds are the parser's
 * (jingle-parse.c): a longer attribute is refused there with bad-request; the
 * media transport checks what it needs of the rest (transport.h).
 *
 * Threading: plain data, no state; copy it to hand it to another thread. */
#pragma once

#include <string.h>
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  BF_JINGLE_CANDIDATE_HOST,
  BF_JINGLE_CANDIDATE_SRFLX,
  BF_JINGLE_CANDIDATE_PRFLX,
  BF_JINGLE_CANDIDATE_RELAY,
} BfJingleCandidateType;

/* Bytes, without the NUL: foundation and id (tokens), ip and rel-addr (an
 * IP literal, possibly with an IPv6 zone). */
#define BF_JINGLE_CANDIDATE_TOKEN_MAX   64
#define BF_JINGLE_CANDIDATE_ADDRESS_MAX 64

/* XEP-0176 <candidate/>.  Absent optional strings are "". */
typedef struct {
  guint component;             /* 1-256 */
  char foundation[BF_JINGLE_CANDIDATE_TOKEN_MAX + 1];
  guint32 generation;          /* 0 when absent */
  char id[BF_JINGLE_CANDIDATE_TOKEN_MAX + 1];
  char ip[BF_JINGLE_CANDIDATE_ADDRESS_MAX + 1];   /* a valid IPv4 or IPv6 address */
  guint16 port;
  guint32 priority;
  char protocol[4];            /* "udp" or "tcp", lower case */
  BfJingleCandidateType type;
  char rel_addr[BF_JINGLE_CANDIDATE_ADDRESS_MAX + 1];
  gint rel_port;               /* -1 when absent */
  gint64 network;              /* -1 when absent */
  char tcptype[8];             /* "active", "passive", "so" */
} BfJingleCandidate;

/* An empty UDP candidate: every optional field absent. */
static inline void
bf_jingle_candidate_init (BfJingleCandidate *c)
{
  memset (c, 0, sizeof *c);
  memcpy (c->protocol, "udp", sizeof "udp");
  c->rel_port = -1;
  c->network = -1;
}

/* "host", "srflx", "prflx", "relay" (the type attribute); NULL otherwise. */
static inline const char *
bf_jingle_candidate_type_to_string (BfJingleCandidateType type)
{
  static const char *const names[] = { "host", "srflx", "prflx", "relay" };
  return (guint) type < G_N_ELEMENTS (names) ? names[type] : NULL;
}

/* The type named @name (exact, as XEP-0176 writes it). */
static inline gboolean
bf_jingle_candidate_type_from_string (const char *name, BfJingleCandidateType *type)
{
  for (guint i = BF_JINGLE_CANDIDATE_HOST; name && i <= BF_JINGLE_CANDIDATE_RELAY; i++)
    if (strcmp (name, bf_jingle_candidate_type_to_string ((BfJingleCandidateType) i)) == 0)
      {
        *type = (BfJingleCandidateType) i;
        return TRUE;
      }
  return FALSE;
}

G_END_DECLS
