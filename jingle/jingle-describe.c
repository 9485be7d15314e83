/* RTP description negotiation (jingle-describe.h). */
#include "build-config.h"

#include <string.h>

#include "jingle-describe.h"

BfJingleReasonCondition
bf_jingle_check_supported (const BfJingle *j, const char **why)
{
  if (j->contents->len == 0)
    {
      *why = "no content";
      return BF_JINGLE_REASON_INCOMPATIBLE_PARAMETERS;
    }
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->description_kind != BF_JINGLE_DESCRIPTION_RTP || c->rtp->payload_types->len == 0)
        {
          *why = "only RTP audio/video is supported";
          return BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS;
        }
      if (c->transport_kind != BF_JINGLE_TRANSPORT_ICE_UDP)
        {
          *why = "only ICE-UDP is supported";
          return BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS;
        }
    }
  if (bf_jingle_first_fingerprint (j) == NULL)
    {
      *why = "DTLS-SRTP over ICE (ufrag, pwd, fingerprint) is required";
      return BF_JINGLE_REASON_SECURITY_ERROR;
    }
  return BF_JINGLE_REASON_SUCCESS;
}

static void
copy_parameters (GPtrArray *dst, const GPtrArray *src)
{
  for (guint i = 0; i < src->len; i++)
    {
      const BfJingleParameter *p = g_ptr_array_index (src, i);
      bf_jingle_parameters_add (dst, p->name, p->value);
    }
}

static void
copy_rtcp_fb (GPtrArray *dst, const GPtrArray *src)
{
  for (guint i = 0; i < src->len; i++)
    {
      const BfJingleRtcpFb *f = g_ptr_array_index (src, i);
      BfJingleRtcpFb *c = bf_jingle_rtcp_fb_add (dst, f->type, f->subtype);
      copy_parameters (c->parameters, f->parameters);
    }
}

BfJinglePayloadType *
bf_jingle_describe_copy_payload_type (BfJingleRtpDescription *rtp, const BfJinglePayloadType *o,
                                      guint8 id)
{
  BfJinglePayloadType *pt = bf_jingle_rtp_add_payload_type (rtp, id, o->name, o->clockrate,
                                                            o->channels);
  pt->ptime = o->ptime;
  pt->maxptime = o->maxptime;
  pt->has_trr_int = o->has_trr_int;
  pt->trr_int = o->trr_int;
  copy_parameters (pt->parameters, o->parameters);
  copy_rtcp_fb (pt->rtcp_fb, o->rtcp_fb);
  return pt;
}

static void
copy_sources (BfJingleRtpDescription *dst, const BfJingleRtpDescription *src)
{
  for (guint i = 0; i < src->sources->len; i++)
    {
      const BfJingleSource *s = g_ptr_array_index (src->sources, i);
      BfJingleSource *c = bf_jingle_rtp_add_source (dst, s->ssrc);
      copy_parameters (c->parameters, s->parameters);
    }
  for (guint i = 0; i < src->ssrc_groups->len; i++)
    {
      const BfJingleSsrcGroup *g = g_ptr_array_index (src->ssrc_groups, i);
      bf_jingle_rtp_add_ssrc_group (dst, g->semantics, (const guint32 *) g->ssrcs->data,
                                    g->ssrcs->len);
    }
}

static void
copy_session_level (BfJingleRtpDescription *dst, const BfJingleRtpDescription *src)
{
  copy_rtcp_fb (dst->rtcp_fb, src->rtcp_fb);
  dst->has_trr_int = src->has_trr_int;
  dst->trr_int = src->trr_int;
  dst->rtcp_mux = TRUE;
  dst->rtcp_reduced_size = src->rtcp_reduced_size;
  if (src->bandwidth_type)
    {
      dst->bandwidth_type = g_strdup (src->bandwidth_type);
      dst->bandwidth = g_strdup (src->bandwidth);
    }
}

BfJingleRtpDescription *
bf_jingle_describe_answer_as_offered (const BfJingleRtpDescription *offer)
{
  BfJingleRtpDescription *rtp = bf_jingle_rtp_description_new (offer->media);
  for (guint i = 0; i < offer->payload_types->len; i++)
    {
      const BfJinglePayloadType *o = g_ptr_array_index (offer->payload_types, i);
      bf_jingle_describe_copy_payload_type (rtp, o, o->id);
    }
  copy_session_level (rtp, offer);
  for (guint i = 0; i < offer->hdrexts->len; i++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (offer->hdrexts, i);
      BfJingleHdrext *c = bf_jingle_rtp_add_hdrext (rtp, h->id, h->uri, h->senders);
      copy_parameters (c->parameters, h->parameters);
    }
  rtp->extmap_allow_mixed = offer->extmap_allow_mixed && rtp->hdrexts->len > 0;
  return rtp;
}

BfJingleRtpDescription *
bf_jingle_describe_mirror_offer (const BfJingleRtpDescription *offer)
{
  BfJingleRtpDescription *rtp = bf_jingle_describe_answer_as_offered (offer);
  rtp->extmap_allow_mixed = offer->extmap_allow_mixed;
  copy_sources (rtp, offer);
  return rtp;
}

gboolean
bf_jingle_describe_same_encoding (const BfJinglePayloadType *a, const BfJinglePayloadType *b)
{
  if (a->name == NULL || b->name == NULL)
    return a->name == NULL && b->name == NULL && a->id == b->id;   /* static types */
  return g_ascii_strcasecmp (a->name, b->name) == 0 && a->clockrate == b->clockrate
         && a->channels == b->channels;
}

static const char *
param_value (const BfJinglePayloadType *pt, const char *name)
{
  for (guint i = 0; i < pt->parameters->len; i++)
    {
      const BfJingleParameter *p = g_ptr_array_index (pt->parameters, i);
      if (g_ascii_strcasecmp (p->name, name) == 0)
        return p->value;
    }
  return NULL;
}

/* Format parameters that make two types of one name different codecs, not
 * preferences: VP9 profile-id (draft-ietf-payload-vp9 §6), H.264
 * packetization-mode and profile (RFC 6184 §8.1, profile_idc and
 * profile-iop: the level may differ), AV1 profile.  Absent = the default. */
static gboolean
same_format (const BfJinglePayloadType *a, const BfJinglePayloadType *b)
{
  static const struct { const char *name, *absent; } keys[] = {
    { "profile-id", "0" }, { "packetization-mode", "0" }, { "profile", "0" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const char *va = param_value (a, keys[i].name), *vb = param_value (b, keys[i].name);
      if (g_strcmp0 (va ? va : keys[i].absent, vb ? vb : keys[i].absent) != 0)
        return FALSE;
    }
  const char *pa = param_value (a, "profile-level-id"), *pb = param_value (b, "profile-level-id");
  if (pa && pb && (strlen (pa) < 4 || strlen (pb) < 4 || g_ascii_strncasecmp (pa, pb, 4) != 0))
    return FALSE;
  return TRUE;
}

static gboolean
is_rtx (const BfJinglePayloadType *pt)
{
  return pt->name && g_ascii_strcasecmp (pt->name, "rtx") == 0;
}

static const BfJinglePayloadType *
apt_target (const BfJingleRtpDescription *rtp, const BfJinglePayloadType *rtx)
{
  guint64 apt;
  const char *v = param_value (rtx, "apt");
  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 0, 127, &apt, NULL))
    return NULL;
  const BfJinglePayloadType *t = bf_jingle_rtp_find_payload_type (rtp, (guint8) apt);
  return t && !is_rtx (t) ? t : NULL;
}

/* @a (a type of @da) and @b (of @db) are the same codec: same encoding and
 * format; a retransmission type (RFC 4588) is the same when what it
 * retransmits is. */
static gboolean
same_codec (const BfJingleRtpDescription *da, const BfJinglePayloadType *a,
            const BfJingleRtpDescription *db, const BfJinglePayloadType *b)
{
  if (!bf_jingle_describe_same_encoding (a, b))
    return FALSE;
  if (is_rtx (a))
    {
      const BfJinglePayloadType *ta = apt_target (da, a), *tb = apt_target (db, b);
      return ta && tb && bf_jingle_describe_same_encoding (ta, tb) && same_format (ta, tb);
    }
  return same_format (a, b);
}

/* The number @want (a type of @want_in) has in @in: the same number if it
 * is the same codec there, else the first number of that codec not yet
 * taken in @taken; -1 when @in does not have it. */
static gint
match_pt (const BfJingleRtpDescription *in, const BfJingleRtpDescription *want_in,
          const BfJinglePayloadType *want, const gboolean taken[128])
{
  const BfJinglePayloadType *same = bf_jingle_rtp_find_payload_type (in, want->id);
  if (same && !taken[same->id] && same_codec (in, same, want_in, want))
    return same->id;
  for (guint i = 0; i < in->payload_types->len; i++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (in->payload_types, i);
      if (!taken[pt->id] && same_codec (in, pt, want_in, want))
        return pt->id;
    }
  return -1;
}

/* "109/109": RFC 2198 redundancy lists its payload types by number. */
static char *
renumber_list (const char *s, const gint16 renumber[128])
{
  g_auto (GStrv) parts = g_strsplit (s, "/", 0);
  GString *out = g_string_new (NULL);
  for (guint i = 0; parts[i]; i++)
    {
      guint64 n;
      if (!g_ascii_string_to_unsigned (parts[i], 10, 0, 127, &n, NULL) || renumber[n] < 0)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append_printf (out, "%s%d", i ? "/" : "", renumber[n]);
    }
  return g_string_free (out, FALSE);
}

static gint
find_hdrext_by_uri (const BfJingleRtpDescription *rtp, const char *uri)
{
  for (guint i = 0; i < rtp->hdrexts->len; i++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (rtp->hdrexts, i);
      if (g_strcmp0 (h->uri, uri) == 0)
        return h->id;
    }
  return -1;
}

BfJingleRtpDescription *
bf_jingle_describe_mirror_answer (const BfJingleRtpDescription *caller_offer,
                                  const BfJingleRtpDescription *callee_answer)
{
  BfJingleRtpDescription *rtp = bf_jingle_rtp_description_new (caller_offer->media);
  gboolean taken[128] = { FALSE };
  gint16 renumber[128];            /* callee's number -> caller's, -1: none */
  for (guint i = 0; i < 128; i++)
    renumber[i] = -1;
  for (guint i = 0; i < callee_answer->payload_types->len; i++)
    {
      const BfJinglePayloadType *a = g_ptr_array_index (callee_answer->payload_types, i);
      gint id = match_pt (caller_offer, callee_answer, a, taken);
      if (id < 0)
        continue;
      taken[id] = TRUE;
      renumber[a->id] = (gint16) id;
    }
  for (guint i = 0; i < callee_answer->payload_types->len; i++)
    {
      const BfJinglePayloadType *a = g_ptr_array_index (callee_answer->payload_types, i);
      if (renumber[a->id] < 0)
        continue;
      BfJinglePayloadType *pt = bf_jingle_describe_copy_payload_type (rtp, a, (guint8) renumber[a->id]);
      /* RFC 4588 §8.6: a retransmission type names its original by number;
       * RFC 2198 §5: redundancy lists its encodings by number. */
      gboolean red = pt->name && g_ascii_strcasecmp (pt->name, "red") == 0;
      for (guint k = 0; k < pt->parameters->len; k++)
        {
          BfJingleParameter *p = g_ptr_array_index (pt->parameters, k);
          guint64 apt;
          if (g_strcmp0 (p->name, "apt") == 0 && p->value
              && g_ascii_string_to_unsigned (p->value, 10, 0, 127, &apt, NULL)
              && renumber[apt] >= 0)
            {
              g_free (p->value);
              p->value = g_strdup_printf ("%d", renumber[apt]);
            }
          else if (red)
            {
              char **field = p->value ? &p->value : &p->name;
              char *n = renumber_list (*field, renumber);
              if (n)
                {
                  g_free (*field);
                  *field = n;
                }
            }
        }
    }
  copy_session_level (rtp, callee_answer);
  for (guint i = 0; i < callee_answer->hdrexts->len; i++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (callee_answer->hdrexts, i);
      gint id = find_hdrext_by_uri (caller_offer, h->uri);
      if (id < 0)
        continue;
      BfJingleHdrext *c = bf_jingle_rtp_add_hdrext (rtp, (guint16) id, h->uri, h->senders);
      copy_parameters (c->parameters, h->parameters);
    }
  rtp->extmap_allow_mixed = caller_offer->extmap_allow_mixed && callee_answer->extmap_allow_mixed;
  copy_sources (rtp, callee_answer);
  return rtp;
}

static const BfJingleRtpDescription *
content_rtp (const BfJingle *j, const char *name)
{
  const BfJingleContent *c = bf_jingle_find_content (j, name);
  return c ? c->rtp : NULL;
}

void
bf_jingle_describe_rtp_map_init (BfRtpMap *map)
{
  for (guint i = 0; i < G_N_ELEMENTS (map->pt); i++)
    map->pt[i] = (guint8) i;
  for (guint i = 0; i < G_N_ELEMENTS (map->ext); i++)
    map->ext[i] = (guint8) i;
  map->identity = TRUE;
}

void
bf_jingle_describe_rtp_map_add (BfRtpMap *map, const BfJingleRtpDescription *in,
                                const BfJingleRtpDescription *out)
{
  gboolean taken[128] = { FALSE };
  for (guint k = 0; k < in->payload_types->len; k++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (in->payload_types, k);
      gint id = match_pt (out, in, pt, taken);
      if (id < 0)
        continue;
      taken[id] = TRUE;
      map->pt[pt->id] = (guint8) id;
      map->identity &= id == pt->id;
    }
  for (guint k = 0; k < in->hdrexts->len; k++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (in->hdrexts, k);
      gint id = find_hdrext_by_uri (out, h->uri);
      if (id < 0 || h->id > 255 || id > 255)
        continue;
      map->ext[h->id] = (guint8) id;
      map->identity &= id == h->id;
    }
}

void
bf_jingle_describe_rtp_map (const BfJingle *sent, const BfJingle *heard, BfRtpMap *map)
{
  bf_jingle_describe_rtp_map_init (map);
  for (guint i = 0; sent->contents && i < sent->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (sent->contents, i);
      const BfJingleRtpDescription *out = content_rtp (heard, c->name);
      if (c->rtp && out)
        bf_jingle_describe_rtp_map_add (map, c->rtp, out);
    }
}

