/* belfry — the media of a Jingle RTP session, as a module reads or builds it.
 *
 * Why: a module that answers with media of its own choosing (a conference
 * sending one mixed Opus stream, a recorder that takes what it can store,
 * a test tone) describes that answer here, without XML and without the
 * core's Jingle types.  A BfSessionMedia is a list of contents (XEP-0166),
 * each an RTP description (XEP-0167): codecs with their parameters and RTCP
 * feedback (XEP-0293), header extensions (XEP-0294) and sources (XEP-0339).
 * Transports (ICE-UDP, DTLS-SRTP, BUNDLE) stay the core's: a module never
 * sees them.
 *
 * Read the peer's offer with bf_session_get_offer(), build an answer with
 * bf_session_media_new() and the add functions (or copy the offer's
 * contents and keep what you take), and accept with bf_session_accept()
 * (session.h).
 *
 * Threads: any; a BfSessionMedia has one owner and no lock.  Contents are
 * numbered from 0 in the order they were added; a content or codec index
 * out of range is a programming error (g_return_val_if_fail). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BfSessionMedia BfSessionMedia;

/* XEP-0166 §7.3 'senders': who sends media on a content. */
typedef enum {
  BF_SESSION_SENDERS_BOTH = 0,
  BF_SESSION_SENDERS_INITIATOR,
  BF_SESSION_SENDERS_RESPONDER,
  BF_SESSION_SENDERS_NONE,
} BfSessionSenders;

/* One payload type (XEP-0167 §5): @name as the peer wrote it ("opus",
 * "PCMU", "VP8"; compare without case), 0 for an absent clock rate. */
typedef struct {
  guint8 id;
  const char *name;
  guint32 clockrate;
  guint8 channels;
} BfSessionCodec;

BfSessionMedia *bf_session_media_new (void);
void bf_session_media_free (BfSessionMedia *media);

/* --- reading --- */

guint bf_session_media_get_n_contents (const BfSessionMedia *media);
const char *bf_session_media_get_content_name (const BfSessionMedia *media, guint content);
/* "audio" or "video" (the description's media). */
const char *bf_session_media_get_content_kind (const BfSessionMedia *media, guint content);
BfSessionSenders bf_session_media_get_content_senders (const BfSessionMedia *media,
                                                       guint content);
/* Codecs in order of preference; the strings in @codec live as long as
 * @media is not changed. */
guint bf_session_media_get_n_codecs (const BfSessionMedia *media, guint content);
gboolean bf_session_media_get_codec (const BfSessionMedia *media, guint content, guint index,
                                     BfSessionCodec *codec);
/* A parameter of payload type @id (its fmtp, e.g. "useinbandfec"), or NULL. */
const char *bf_session_media_get_codec_parameter (const BfSessionMedia *media, guint content,
                                                  guint8 id, const char *name);
/* The id the peer gave header extension @uri, or 0 when it has none. */
guint16 bf_session_media_find_header_extension (const BfSessionMedia *media, guint content,
                                                const char *uri);
/* The SSRCs the peer announced for a content (XEP-0339). */
guint bf_session_media_get_n_sources (const BfSessionMedia *media, guint content);
guint32 bf_session_media_get_source (const BfSessionMedia *media, guint content, guint index);
/* Its ssrc-groups (XEP-0339 §3.2, e.g. "FID" pairing a stream with its
 * retransmissions): @index from 0 while this returns non-NULL; the group's
 * SSRCs in @ssrcs (valid while @media is not changed), @n_ssrcs of them. */
const char *bf_session_media_get_source_group (const BfSessionMedia *media, guint content,
                                               guint index, const guint32 **ssrcs,
                                               guint *n_ssrcs);

/* --- building --- */

/* A new content; its index. */
guint bf_session_media_add_content (BfSessionMedia *media, const char *name, const char *kind,
                                    BfSessionSenders senders);
/* FALSE when @content has a payload type @codec->id already. */
gboolean bf_session_media_add_codec (BfSessionMedia *media, guint content,
                                     const BfSessionCodec *codec);
void bf_session_media_add_codec_parameter (BfSessionMedia *media, guint content, guint8 id,
                                           const char *name, const char *value);
/* XEP-0293 <rtcp-fb type= subtype=/> on payload type @id (@subtype may be
 * NULL), e.g. "nack" "pli". */
void bf_session_media_add_codec_feedback (BfSessionMedia *media, guint content, guint8 id,
                                          const char *type, const char *subtype);
void bf_session_media_add_header_extension (BfSessionMedia *media, guint content, guint16 id,
                                            const char *uri);
/* A source of ours (XEP-0339) with its cname and, if not NULL, msid. */
void bf_session_media_add_source (BfSessionMedia *media, guint content, guint32 ssrc,
                                  const char *cname, const char *msid);
/* A new content, a copy of @from's content @from_content under the same
 * name, media and senders: its codecs (parameters, feedback), feedback for
 * all codecs and header extensions, but not its sources nor groups (those
 * are the peer's own).  Its index.  An endpoint that takes whatever the
 * peer sends answers with this and sources of its own. */
guint bf_session_media_copy_content (BfSessionMedia *media, const BfSessionMedia *from,
                                     guint from_content);
void bf_session_media_add_source_group (BfSessionMedia *media, guint content,
                                        const char *semantics, const guint32 *ssrcs,
                                        guint n_ssrcs);
/* Copies payload type @id of content @from_content of @from (parameters
 * and feedback with it) into @content; FALSE when @from has no such
 * payload type or @content has it already. */
gboolean bf_session_media_copy_codec (BfSessionMedia *media, guint content,
                                      const BfSessionMedia *from, guint from_content, guint8 id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfSessionMedia, bf_session_media_free)

G_END_DECLS
