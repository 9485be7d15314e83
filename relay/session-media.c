/* belfry — BfSessionMedia (belfry/session-media.h): a list of contents
 * held as the core's own Jingle model, so that an answer a module builds
 * becomes a session-accept with no translation of its own. */
#include "build-config.h"

#include <string.h>

#include <gio/gio.h>

#include "session-media-private.h"

struct _BfSessionMedia {
  BfJingle *j;        /* contents with an RTP description each; no transport */
};

BfSessionMedia *
bf_session_media_new (void)
{
  BfSessionMedia *m = g_new0 (BfSessionMedia, 1);
  m->j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, "media");
  return m;
}

void
bf_session_media_free (BfSessionMedia *media)
{
  if (media == NULL)
    return;
  bf_jingle_free (media->j);
  g_free (media);
}

BfSessionMedia *
bf_session_media_new_from_jingle (const BfJingle *j)
{
  BfSessionMedia *m = bf_session_media_new ();
  for (guint i = 0; j && i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->rtp == NULL)
        continue;
      BfJingleContent *copy = bf_jingle_add_content (m->j, c->creator, c->name);
      copy->senders = c->senders;
      bf_jingle_content_take_rtp (copy, bf_jingle_describe_mirror_offer (c->rtp));
    }
  return m;
}

const BfJingle *
bf_session_media_get_jingle (const BfSessionMedia *media)
{
  return media->j;
}

static BfJingleContent *
content_at (const BfSessionMedia *media, guint content)
{
  g_return_val_if_fail (media != NULL && content < media->j->contents->len, NULL);
  return g_ptr_array_index (media->j->contents, content);
}

/* --- reading --- */

guint
bf_session_media_get_n_contents (const BfSessionMedia *media)
{
  g_return_val_if_fail (media != NULL, 0);
  return media->j->contents->len;
}

const char *
bf_session_media_get_content_name (const BfSessionMedia *media, guint content)
{
  BfJingleContent *c = content_at (media, content);
  return c ? c->name : NULL;
}

const char *
bf_session_media_get_content_kind (const BfSessionMedia *media, guint content)
{
  BfJingleContent *c = content_at (media, content);
  return c ? c->rtp->media : NULL;
}

BfSessionSenders
bf_session_media_get_content_senders (const BfSessionMedia *media, guint content)
{
  BfJingleContent *c = content_at (media, content);
  return c ? (BfSessionSenders) c->senders : BF_SESSION_SENDERS_NONE;
}

guint
bf_session_media_get_n_codecs (const BfSessionMedia *media, guint content)
{
  BfJingleContent *c = content_at (media, content);
  return c ? c->rtp->payload_types->len : 0;
}

gboolean
bf_session_media_get_codec (const BfSessionMedia *media, guint content, guint index,
                            BfSessionCodec *codec)
{
  BfJingleContent *c = content_at (media, content);
  g_return_val_if_fail (codec != NULL, FALSE);
  if (c == NULL || index >= c->rtp->payload_types->len)
    return FALSE;
  const BfJinglePayloadType *pt = g_ptr_array_index (c->rtp->payload_types, index);
  codec->id = pt->id;
  codec->name = pt->name;
  codec->clockrate = pt->clockrate;
  codec->channels = pt->channels;
  return TRUE;
}

const char *
bf_session_media_get_codec_parameter (const BfSessionMedia *media, guint content, guint8 id,
                                      const char *name)
{
  BfJingleContent *c = content_at (media, content);
  const BfJinglePayloadType *pt = c ? bf_jingle_rtp_find_payload_type (c->rtp, id) : NULL;
  for (guint i = 0; pt && name && i < pt->parameters->len; i++)
    {
      const BfJingleParameter *p = g_ptr_array_index (pt->parameters, i);
      if (g_strcmp0 (p->name, name) == 0)
        return p->value;
    }
  return NULL;
}

guint16
bf_session_media_find_header_extension (const BfSessionMedia *media, guint content,
                                        const char *uri)
{
  BfJingleContent *c = content_at (media, content);
  for (guint i = 0; c && uri && i < c->rtp->hdrexts->len; i++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (c->rtp->hdrexts, i);
      if (g_strcmp0 (h->uri, uri) == 0)
        return h->id;
    }
  return 0;
}

guint
bf_session_media_get_n_sources (const BfSessionMedia *media, guint content)
{
  BfJingleContent *c = content_at (media, content);
  return c ? c->rtp->sources->len : 0;
}

guint32
bf_session_media_get_source (const BfSessionMedia *media, guint content, guint index)
{
  BfJingleContent *c = content_at (media, content);
  g_return_val_if_fail (c == NULL || index < c->rtp->sources->len, 0);
  return c ? ((const BfJingleSource *) g_ptr_array_index (c->rtp->sources, index))->ssrc : 0;
}

const char *
bf_session_media_get_source_group (const BfSessionMedia *media, guint content, guint index,
                                   const guint32 **ssrcs, guint *n_ssrcs)
{
  BfJingleContent *c = content_at (media, content);
  if (c == NULL || index >= c->rtp->ssrc_groups->len)
    return NULL;
  const BfJingleSsrcGroup *g = g_ptr_array_index (c->rtp->ssrc_groups, index);
  if (ssrcs)
    *ssrcs = (const guint32 *) g->ssrcs->data;
  if (n_ssrcs)
    *n_ssrcs = g->ssrcs->len;
  return g->semantics;
}

/* --- building --- */

guint
bf_session_media_copy_content (BfSessionMedia *media, const BfSessionMedia *from,
                               guint from_content)
{
  BfJingleContent *fc = content_at (from, from_content);
  g_return_val_if_fail (media != NULL && fc != NULL, 0);
  BfJingleContent *c = bf_jingle_add_content (media->j, fc->creator, fc->name);
  c->senders = fc->senders;
  bf_jingle_content_take_rtp (c, bf_jingle_describe_answer_as_offered (fc->rtp));
  return media->j->contents->len - 1;
}

void
bf_session_media_add_source_group (BfSessionMedia *media, guint content, const char *semantics,
                                   const guint32 *ssrcs, guint n_ssrcs)
{
  BfJingleContent *c = content_at (media, content);
  g_return_if_fail (c != NULL && semantics != NULL && (ssrcs != NULL || n_ssrcs == 0));
  bf_jingle_rtp_add_ssrc_group (c->rtp, semantics, ssrcs, n_ssrcs);
}

guint
bf_session_media_add_content (BfSessionMedia *media, const char *name, const char *kind,
                              BfSessionSenders senders)
{
  g_return_val_if_fail (media != NULL && name != NULL && kind != NULL, 0);
  g_return_val_if_fail (senders <= BF_SESSION_SENDERS_NONE, 0);
  BfJingleContent *c = bf_jingle_add_content (media->j, BF_JINGLE_CREATOR_INITIATOR, name);
  c->senders = (BfJingleSenders) senders;
  bf_jingle_content_set_rtp (c, kind);
  return media->j->contents->len - 1;
}

gboolean
bf_session_media_add_codec (BfSessionMedia *media, guint content, const BfSessionCodec *codec)
{
  BfJingleContent *c = content_at (media, content);
  g_return_val_if_fail (codec != NULL && codec->id <= 127, FALSE);
  if (c == NULL || bf_jingle_rtp_find_payload_type (c->rtp, codec->id))
    return FALSE;
  bf_jingle_rtp_add_payload_type (c->rtp, codec->id, codec->name, codec->clockrate,
                                  codec->channels ? codec->channels : 1);
  return TRUE;
}

void
bf_session_media_add_codec_parameter (BfSessionMedia *media, guint content, guint8 id,
                                      const char *name, const char *value)
{
  BfJingleContent *c = content_at (media, content);
  BfJinglePayloadType *pt = c ? bf_jingle_rtp_find_payload_type (c->rtp, id) : NULL;
  g_return_if_fail (pt != NULL && name != NULL);
  bf_jingle_parameters_add (pt->parameters, name, value);
}

void
bf_session_media_add_codec_feedback (BfSessionMedia *media, guint content, guint8 id,
                                     const char *type, const char *subtype)
{
  BfJingleContent *c = content_at (media, content);
  BfJinglePayloadType *pt = c ? bf_jingle_rtp_find_payload_type (c->rtp, id) : NULL;
  g_return_if_fail (pt != NULL && type != NULL);
  bf_jingle_rtcp_fb_add (pt->rtcp_fb, type, subtype);
}

void
bf_session_media_add_header_extension (BfSessionMedia *media, guint content, guint16 id,
                                       const char *uri)
{
  BfJingleContent *c = content_at (media, content);
  g_return_if_fail (c != NULL && id > 0 && uri != NULL);
  bf_jingle_rtp_add_hdrext (c->rtp, id, uri, BF_JINGLE_SENDERS_BOTH);
}

void
bf_session_media_add_source (BfSessionMedia *media, guint content, guint32 ssrc,
                             const char *cname, const char *msid)
{
  BfJingleContent *c = content_at (media, content);
  g_return_if_fail (c != NULL);
  BfJingleSource *s = bf_jingle_rtp_add_source (c->rtp, ssrc);
  if (cname)
    bf_jingle_parameters_add (s->parameters, "cname", cname);
  if (msid)
    bf_jingle_parameters_add (s->parameters, "msid", msid);
}

gboolean
bf_session_media_copy_codec (BfSessionMedia *media, guint content, const BfSessionMedia *from,
                             guint from_content, guint8 id)
{
  BfJingleContent *c = content_at (media, content);
  BfJingleContent *fc = content_at (from, from_content);
  const BfJinglePayloadType *src = fc ? bf_jingle_rtp_find_payload_type (fc->rtp, id) : NULL;
  if (c == NULL || src == NULL || bf_jingle_rtp_find_payload_type (c->rtp, id))
    return FALSE;
  bf_jingle_describe_copy_payload_type (c->rtp, src, src->id);
  return TRUE;
}

/* --- an answer against its offer --- */

gboolean
bf_session_media_check_answer (const BfSessionMedia *answer, const BfJingle *offer,
                               GError **error)
{
  const BfJingle *aj = answer->j;
  for (guint i = 0; i < aj->contents->len; i++)
    {
      const BfJingleContent *ac = g_ptr_array_index (aj->contents, i);
      if (bf_jingle_find_content (offer, ac->name) == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "the answer's content '%s' was not offered", ac->name);
          return FALSE;
        }
    }
  for (guint i = 0; i < offer->contents->len; i++)
    {
      const BfJingleContent *oc = g_ptr_array_index (offer->contents, i);
      const BfJingleContent *ac = bf_jingle_find_content (aj, oc->name);
      if (oc->rtp == NULL)
        continue;
      /* XEP-0166 §6.3.2 / RFC 3264 §6: every offered content is answered;
       * one the module does not want it answers with senders 'none'. */
      if (ac == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "the answer has no content '%s'", oc->name);
          return FALSE;
        }
      if (g_strcmp0 (ac->rtp->media, oc->rtp->media) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "content '%s' is %s, not %s", oc->name, oc->rtp->media, ac->rtp->media);
          return FALSE;
        }
      if (ac->rtp->payload_types->len == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "the answer's content '%s' has no codec", oc->name);
          return FALSE;
        }
      /* RFC 3264 §6.1: an answer uses payload types of the offer, under
       * the offer's numbers. */
      for (guint k = 0; k < ac->rtp->payload_types->len; k++)
        {
          const BfJinglePayloadType *apt = g_ptr_array_index (ac->rtp->payload_types, k);
          const BfJinglePayloadType *opt = bf_jingle_rtp_find_payload_type (oc->rtp, apt->id);
          if (opt == NULL || !bf_jingle_describe_same_encoding (apt, opt))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "payload type %u (%s/%u) of content '%s' is not one offered",
                           apt->id, apt->name ? apt->name : "?", apt->clockrate, oc->name);
              return FALSE;
            }
        }
      /* RFC 8285 §6: an answer's extension ids are the offer's. */
      for (guint k = 0; k < ac->rtp->hdrexts->len; k++)
        {
          const BfJingleHdrext *ah = g_ptr_array_index (ac->rtp->hdrexts, k);
          gboolean offered = FALSE;
          for (guint m = 0; m < oc->rtp->hdrexts->len && !offered; m++)
            {
              const BfJingleHdrext *oh = g_ptr_array_index (oc->rtp->hdrexts, m);
              offered = oh->id == ah->id && g_strcmp0 (oh->uri, ah->uri) == 0;
            }
          if (!offered)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "header extension %u (%s) of content '%s' is not one offered",
                           ah->id, ah->uri, oc->name);
              return FALSE;
            }
        }
    }
  return TRUE;
}

BfJingleRtpDescription *
bf_session_media_answer_rtp (const BfJingleRtpDescription *offer,
                             const BfJingleRtpDescription *answer)
{
  BfJingleRtpDescription *rtp = bf_jingle_describe_mirror_offer (answer);
  /* rtcp-mux: mirror_offer sets it. */
  rtp->rtcp_reduced_size = offer->rtcp_reduced_size;
  rtp->extmap_allow_mixed = offer->extmap_allow_mixed && rtp->hdrexts->len > 0;
  return rtp;
}

/* --- an offer a module built --- */

gboolean
bf_session_media_check_content (const BfSessionMedia *media, guint content, GError **error)
{
  g_return_val_if_fail (media != NULL, FALSE);
  if (content >= media->j->contents->len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no content %u", content);
      return FALSE;
    }
  const BfJingleContent *c = g_ptr_array_index (media->j->contents, content);
  if (c->name == NULL || *c->name == '\0' || strlen (c->name) > BF_JINGLE_MAX_STRING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "content %u has no usable name", content);
      return FALSE;
    }
  if (g_strcmp0 (c->rtp->media, "audio") != 0 && g_strcmp0 (c->rtp->media, "video") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "content '%s' is neither audio nor video", c->name);
      return FALSE;
    }
  if (c->rtp->payload_types->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "content '%s' has no codec",
                   c->name);
      return FALSE;
    }
  for (guint i = 0; i < c->rtp->payload_types->len; i++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (c->rtp->payload_types, i);
      /* RFC 3551 §6: only the static payload types mean a codec by number. */
      if (pt->id >= 96 && (pt->name == NULL || *pt->name == '\0'))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "dynamic payload type %u of content '%s' has no codec name", pt->id,
                       c->name);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
bf_session_media_check_offer (const BfSessionMedia *offer, guint max_contents, GError **error)
{
  g_return_val_if_fail (offer != NULL, FALSE);
  guint n = offer->j->contents->len;
  if (n == 0 || n > max_contents)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "an offer has 1 to %u contents, not %u", max_contents, n);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      if (!bf_session_media_check_content (offer, i, error))
        return FALSE;
      const BfJingleContent *c = g_ptr_array_index (offer->j->contents, i);
      for (guint k = 0; k < i; k++)
        if (strcmp (((const BfJingleContent *) g_ptr_array_index (offer->j->contents, k))->name,
                    c->name) == 0)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "two contents are called '%s'", c->name);
            return FALSE;
          }
    }
  return TRUE;
}
