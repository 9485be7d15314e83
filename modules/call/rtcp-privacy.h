/* What of one leg's RTCP may reach the other leg of a relayed call.
 *
 * RTCP SDES (RFC 3550 §6.5) carries a CNAME, and may carry a name, an
 * e-mail address, a phone number, a location, a tool name and a note: the
 * caller's identity and software, which the callee must learn only through
 * XMPP if at all.  APP packets (§6.7) are opaque to us.  So: SDES keeps
 * only the CNAME of each chunk, rewritten to the value belfry chose for the
 * receiving leg; APP is dropped; everything else (SR, RR, BYE, feedback,
 * XR) passes unchanged and in order (§6.1: a compound starts with SR/RR,
 * and removing later packets keeps that).  Pure functions; any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest compound rewritten; a longer one is dropped. */
#define CALL_RTCP_MAX 2048
/* Room for the rewrite of any real compound (a few chunks with belfry's
 * short CNAME); a rewrite that would not fit is dropped, counted. */
#define CALL_RTCP_OUT_MAX 4096

typedef struct {
  guint64 sdes_items_dropped;      /* items other than CNAME */
  guint64 app_dropped;             /* APP packets */
  guint64 malformed;               /* compounds dropped whole (or too large) */
} CallRtcpPrivacyStats;

/* Whether @data (a compound of @len bytes) has anything to rewrite: an
 * SDES or APP packet.  FALSE for a malformed one too (the rewrite finds
 * it). */
gboolean call_rtcp_needs_privacy (const guint8 *data, gsize len);

/* Writes the rewritten compound into @out (@out_size bytes) and returns
 * its length; 0 when nothing is left to send, when the input is malformed
 * (a packet's length beyond the compound, a version other than 2, a chunk
 * running past its packet, more than CALL_RTCP_MAX bytes) or when the
 * rewrite does not fit in @out.  @cname: 1..255 bytes. */
gsize call_rtcp_privacy (const guint8 *data, gsize len, const char *cname, guint8 *out,
                         gsize out_size, CallRtcpPrivacyStats *stats);

G_END_DECLS
