/* The Jingle data model: enumerations, constructors, destructors, equality,
 * and the stanza errors of XEP-0166 §10. */
#include <string.h>

#include "jingle-private.h"

G_DEFINE_QUARK (bf-jingle-error-quark, bf_jingle_error)

/* --- enumerations --- */

static const char *const action_names[] = {
  [BF_JINGLE_ACTION_CONTENT_ACCEPT] = "content-accept",
  [BF_JINGLE_ACTION_CONTENT_ADD] = "content-add",
  [BF_JINGLE_ACTION_CONTENT_MODIFY] = "content-modify",
  [BF_JINGLE_ACTION_CONTENT_REJECT] = "content-reject",
  [BF_JINGLE_ACTION_CONTENT_REMOVE] = "content-remove",
  [BF_JINGLE_ACTION_DESCRIPTION_INFO] = "description-info",
  [BF_JINGLE_ACTION_SECURITY_INFO] = "security-info",
  [BF_JINGLE_ACTION_SESSION_ACCEPT] = "session-accept",
  [BF_JINGLE_ACTION_SESSION_INFO] = "session-info",
  [BF_JINGLE_ACTION_SESSION_INITIATE] = "session-initiate",
  [BF_JINGLE_ACTION_SESSION_TERMINATE] = "session-terminate",
  [BF_JINGLE_ACTION_TRANSPORT_ACCEPT] = "transport-accept",
  [BF_JINGLE_ACTION_TRANSPORT_INFO] = "transport-info",
  [BF_JINGLE_ACTION_TRANSPORT_REJECT] = "transport-reject",
  [BF_JINGLE_ACTION_TRANSPORT_REPLACE] = "transport-replace",
};

static const char *const creator_names[] = {
  [BF_JINGLE_CREATOR_INITIATOR] = "initiator",
  [BF_JINGLE_CREATOR_RESPONDER] = "responder",
};

static const char *const senders_names[] = {
  [BF_JINGLE_SENDERS_BOTH] = "both",
  [BF_JINGLE_SENDERS_INITIATOR] = "initiator",
  [BF_JINGLE_SENDERS_RESPONDER] = "responder",
  [BF_JINGLE_SENDERS_NONE] = "none",
};

static const char *const reason_names[] = {
  [BF_JINGLE_REASON_ALTERNATIVE_SESSION] = "alternative-session",
  [BF_JINGLE_REASON_BUSY] = "busy",
  [BF_JINGLE_REASON_CANCEL] = "cancel",
  [BF_JINGLE_REASON_CONNECTIVITY_ERROR] = "connectivity-error",
  [BF_JINGLE_REASON_DECLINE] = "decline",
  [BF_JINGLE_REASON_EXPIRED] = "expired",
  [BF_JINGLE_REASON_FAILED_APPLICATION] = "failed-application",
  [BF_JINGLE_REASON_FAILED_TRANSPORT] = "failed-transport",
  [BF_JINGLE_REASON_GENERAL_ERROR] = "general-error",
  [BF_JINGLE_REASON_GONE] = "gone",
  [BF_JINGLE_REASON_INCOMPATIBLE_PARAMETERS] = "incompatible-parameters",
  [BF_JINGLE_REASON_MEDIA_ERROR] = "media-error",
  [BF_JINGLE_REASON_SECURITY_ERROR] = "security-error",
  [BF_JINGLE_REASON_SUCCESS] = "success",
  [BF_JINGLE_REASON_TIMEOUT] = "timeout",
  [BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS] = "unsupported-applications",
  [BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS] = "unsupported-transports",
};

static gboolean
lookup (const char *const *names, guint n, const char *s, guint *out)
{
  if (s == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (strcmp (names[i], s) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

#define LOOKUP(names, s, out_enum)                                         \
  G_STMT_START {                                                           \
    guint _v;                                                              \
    if (!lookup (names, G_N_ELEMENTS (names), s, &_v))                     \
      return FALSE;                                                        \
    if (out_enum)                                                          \
      *(out_enum) = _v;                                                    \
    return TRUE;                                                           \
  } G_STMT_END

const char *
bf_jingle_action_to_string (BfJingleAction action)
{
  return (guint) action < G_N_ELEMENTS (action_names) ? action_names[action] : NULL;
}

gboolean
bf_jingle_action_from_string (const char *s, BfJingleAction *action)
{
  LOOKUP (action_names, s, action);
}

const char *
bf_jingle_creator_to_string (BfJingleCreator creator)
{
  return (guint) creator < G_N_ELEMENTS (creator_names) ? creator_names[creator] : NULL;
}

gboolean
bf_jingle_creator_from_string (const char *s, BfJingleCreator *creator)
{
  LOOKUP (creator_names, s, creator);
}

const char *
bf_jingle_senders_to_string (BfJingleSenders senders)
{
  return (guint) senders < G_N_ELEMENTS (senders_names) ? senders_names[senders] : NULL;
}

gboolean
bf_jingle_senders_from_string (const char *s, BfJingleSenders *senders)
{
  LOOKUP (senders_names, s, senders);
}

const char *
bf_jingle_reason_to_string (BfJingleReasonCondition condition)
{
  return (guint) condition < G_N_ELEMENTS (reason_names) ? reason_names[condition] : NULL;
}

gboolean
bf_jingle_reason_from_string (const char *s, BfJingleReasonCondition *condition)
{
  LOOKUP (reason_names, s, condition);
}

const char *
bf_jingle_setup_to_string (BfJingleSetup setup)
{
  switch (setup)
    {
    case BF_JINGLE_SETUP_ACTPASS: return "actpass";
    case BF_JINGLE_SETUP_ACTIVE: return "active";
    case BF_JINGLE_SETUP_PASSIVE: return "passive";
    case BF_JINGLE_SETUP_UNSET:
    default: return NULL;
    }
}

/* --- errors (XEP-0166 §10, Table 4) --- */

void
bf_jingle_error_code_get_info (BfJingleErrorCode code, BfJingleErrorInfo *info)
{
  switch (code)
    {
    case BF_JINGLE_ERROR_BAD_REQUEST:
      /* RFC 6120 §8.3.3.1 gives bad-request the type "modify": the sender
       * can fix its request (XEP-0166 Example 16 shows "cancel"). */
      *info = (BfJingleErrorInfo) { "modify", "bad-request", NULL };
      break;
    case BF_JINGLE_ERROR_OUT_OF_ORDER:
      /* RFC 6120 §8.3.3.22: unexpected-request "SHOULD be wait or modify";
       * Table 4 of XEP-0166 gives no type. */
      *info = (BfJingleErrorInfo) { "wait", "unexpected-request", "out-of-order" };
      break;
    case BF_JINGLE_ERROR_TIE_BREAK:
      /* Example 34 */
      *info = (BfJingleErrorInfo) { "cancel", "conflict", "tie-break" };
      break;
    case BF_JINGLE_ERROR_UNKNOWN_SESSION:
      /* Example 29 */
      *info = (BfJingleErrorInfo) { "cancel", "item-not-found", "unknown-session" };
      break;
    case BF_JINGLE_ERROR_UNSUPPORTED_INFO:
      /* Example 31 */
      *info = (BfJingleErrorInfo) { "modify", "feature-not-implemented", "unsupported-info" };
      break;
    default:
      *info = (BfJingleErrorInfo) { "cancel", "internal-server-error", NULL };
      break;
    }
}

void
bf_jingle_error_get_info (const GError *error, BfJingleErrorInfo *info)
{
  if (error == NULL || error->domain != BF_JINGLE_ERROR)
    {
      *info = (BfJingleErrorInfo) { "cancel", "internal-server-error", NULL };
      return;
    }
  bf_jingle_error_code_get_info ((BfJingleErrorCode) error->code, info);
}

static BfStanza *
build_error (const BfStanza *iq, const BfJingleErrorInfo *info, const char *text)
{
  BfStanza *reply = bf_stanza_new_error (iq, info->type, info->condition,
                                         text && *text ? text : NULL);
  if (info->jingle_condition)
    {
      BfStanza *err = bf_stanza_find_child (reply, "error", NULL);
      /* RFC 6120 §8.3.2: the application-specific condition comes last. */
      bf_stanza_add_child (err, info->jingle_condition, BF_NS_JINGLE_ERRORS);
    }
  return reply;
}

BfStanza *
bf_jingle_build_error (const BfStanza *iq, const GError *error)
{
  g_return_val_if_fail (iq != NULL, NULL);
  BfJingleErrorInfo info;
  bf_jingle_error_get_info (error, &info);
  return build_error (iq, &info, error ? error->message : NULL);
}

BfStanza *
bf_jingle_build_error_code (const BfStanza *iq, BfJingleErrorCode code, const char *text)
{
  g_return_val_if_fail (iq != NULL, NULL);
  BfJingleErrorInfo info;
  bf_jingle_error_code_get_info (code, &info);
  return build_error (iq, &info, text);
}

gboolean
bf_jingle_bad_request (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST, msg);
  return FALSE;
}

/* --- destructors --- */

void
bf_jingle_parameter_free (BfJingleParameter *p)
{
  if (p == NULL)
    return;
  g_free (p->name);
  g_free (p->value);
  g_free (p);
}

static GPtrArray *
parameters_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_parameter_free);
}

void
bf_jingle_rtcp_fb_free (BfJingleRtcpFb *fb)
{
  if (fb == NULL)
    return;
  g_free (fb->type);
  g_free (fb->subtype);
  g_ptr_array_unref (fb->parameters);
  g_free (fb);
}

static GPtrArray *
rtcp_fb_list_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_rtcp_fb_free);
}

void
bf_jingle_payload_type_free (BfJinglePayloadType *pt)
{
  if (pt == NULL)
    return;
  g_free (pt->name);
  g_ptr_array_unref (pt->parameters);
  g_ptr_array_unref (pt->rtcp_fb);
  g_free (pt);
}

void
bf_jingle_hdrext_free (BfJingleHdrext *h)
{
  if (h == NULL)
    return;
  g_free (h->uri);
  g_ptr_array_unref (h->parameters);
  g_free (h);
}

void
bf_jingle_source_free (BfJingleSource *s)
{
  if (s == NULL)
    return;
  g_ptr_array_unref (s->parameters);
  g_free (s);
}

void
bf_jingle_ssrc_group_free (BfJingleSsrcGroup *g)
{
  if (g == NULL)
    return;
  g_free (g->semantics);
  g_array_unref (g->ssrcs);
  g_free (g);
}

void
bf_jingle_crypto_free (BfJingleCrypto *c)
{
  if (c == NULL)
    return;
  g_free (c->crypto_suite);
  g_free (c->key_params);
  g_free (c->session_params);
  g_free (c->tag);
  g_free (c);
}

void
bf_jingle_rtp_description_free (BfJingleRtpDescription *rtp)
{
  if (rtp == NULL)
    return;
  g_free (rtp->media);
  g_ptr_array_unref (rtp->payload_types);
  g_ptr_array_unref (rtp->rtcp_fb);
  g_ptr_array_unref (rtp->hdrexts);
  g_ptr_array_unref (rtp->sources);
  g_ptr_array_unref (rtp->ssrc_groups);
  g_free (rtp->bandwidth_type);
  g_free (rtp->bandwidth);
  g_ptr_array_unref (rtp->crypto);
  g_free (rtp);
}

void
bf_jingle_fingerprint_free (BfJingleFingerprint *f)
{
  if (f == NULL)
    return;
  g_free (f->hash);
  g_free (f->value);
  g_free (f);
}

void
bf_jingle_ice_transport_free (BfJingleIceTransport *ice)
{
  if (ice == NULL)
    return;
  g_free (ice->ufrag);
  g_free (ice->pwd);
  g_ptr_array_unref (ice->candidates);
  bf_jingle_fingerprint_free (ice->fingerprint);
  g_free (ice->remote_ip);
  g_free (ice);
}

void
bf_jingle_content_free (BfJingleContent *content)
{
  if (content == NULL)
    return;
  g_free (content->name);
  g_free (content->disposition);
  g_free (content->description_ns);
  bf_jingle_rtp_description_free (content->rtp);
  g_free (content->transport_ns);
  bf_jingle_ice_transport_free (content->ice);
  g_free (content);
}

void
bf_jingle_reason_free (BfJingleReason *r)
{
  if (r == NULL)
    return;
  g_free (r->text);
  g_free (r->alternative_sid);
  g_free (r->detail_ns);
  g_free (r->detail_name);
  g_free (r);
}

void
bf_jingle_group_free (BfJingleGroup *g)
{
  if (g == NULL)
    return;
  g_free (g->semantics);
  g_ptr_array_unref (g->contents);
  g_free (g);
}

void
bf_jingle_free (BfJingle *jingle)
{
  if (jingle == NULL)
    return;
  g_free (jingle->sid);
  g_free (jingle->initiator);
  g_free (jingle->responder);
  g_ptr_array_unref (jingle->contents);
  bf_jingle_reason_free (jingle->reason);
  g_ptr_array_unref (jingle->groups);
  g_ptr_array_unref (jingle->extra);
  g_free (jingle->info.name);
  g_free (jingle);
}

/* --- constructors --- */

BfJingle *
bf_jingle_new (BfJingleAction action, const char *sid)
{
  BfJingle *j = g_new0 (BfJingle, 1);
  j->action = action;
  j->sid = g_strdup (sid);
  j->contents = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_content_free);
  j->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_group_free);
  j->extra = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  j->info.kind = BF_JINGLE_INFO_NONE;
  return j;
}

BfJingleContent *
bf_jingle_content_new (BfJingleCreator creator, const char *name)
{
  BfJingleContent *c = g_new0 (BfJingleContent, 1);
  c->creator = creator;
  c->name = g_strdup (name);
  c->senders = BF_JINGLE_SENDERS_BOTH;
  c->description_kind = BF_JINGLE_DESCRIPTION_NONE;
  c->transport_kind = BF_JINGLE_TRANSPORT_NONE;
  return c;
}

BfJingleContent *
bf_jingle_add_content (BfJingle *jingle, BfJingleCreator creator, const char *name)
{
  g_return_val_if_fail (jingle != NULL && name != NULL, NULL);
  BfJingleContent *c = bf_jingle_content_new (creator, name);
  g_ptr_array_add (jingle->contents, c);
  return c;
}

BfJingleContent *
bf_jingle_find_content (const BfJingle *jingle, const char *name)
{
  g_return_val_if_fail (jingle != NULL && name != NULL, NULL);
  for (guint i = 0; i < jingle->contents->len; i++)
    {
      BfJingleContent *c = g_ptr_array_index (jingle->contents, i);
      if (strcmp (c->name, name) == 0)
        return c;
    }
  return NULL;
}

gboolean
bf_jingle_remove_content (BfJingle *jingle, const char *name)
{
  for (guint i = 0; jingle && i < jingle->contents->len; i++)
    if (g_strcmp0 (((BfJingleContent *) g_ptr_array_index (jingle->contents, i))->name, name) == 0)
      {
        g_ptr_array_remove_index (jingle->contents, i);
        return TRUE;
      }
  return FALSE;
}

BfJingleReason *
bf_jingle_set_reason (BfJingle *jingle, BfJingleReasonCondition condition, const char *text)
{
  g_return_val_if_fail (jingle != NULL, NULL);
  bf_jingle_reason_free (jingle->reason);
  jingle->reason = g_new0 (BfJingleReason, 1);
  jingle->reason->condition = condition;
  jingle->reason->text = g_strdup (text);
  return jingle->reason;
}

BfJingleGroup *
bf_jingle_add_group (BfJingle *jingle, const char *semantics)
{
  g_return_val_if_fail (jingle != NULL && semantics != NULL, NULL);
  BfJingleGroup *g = g_new0 (BfJingleGroup, 1);
  g->semantics = g_strdup (semantics);
  g->contents = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (jingle->groups, g);
  return g;
}

void
bf_jingle_copy_groups (BfJingle *to, const BfJingle *from)
{
  g_return_if_fail (to != NULL && from != NULL);
  for (guint i = 0; i < from->groups->len; i++)
    {
      const BfJingleGroup *og = g_ptr_array_index (from->groups, i);
      BfJingleGroup *g = bf_jingle_add_group (to, og->semantics);
      for (guint k = 0; k < og->contents->len; k++)
        g_ptr_array_add (g->contents, g_strdup (g_ptr_array_index (og->contents, k)));
    }
}

gboolean
bf_jingle_set_extra (BfJingle *jingle, BfStanza *const *extra, GError **error)
{
  g_return_val_if_fail (jingle != NULL, FALSE);
  g_autoptr (GPtrArray) copies = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  gsize bytes = 0;
  for (guint i = 0; extra && extra[i]; i++)
    {
      if (i >= BF_JINGLE_MAX_EXTRA)
        {
          g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST,
                       "more than %u extra <jingle/> children", BF_JINGLE_MAX_EXTRA);
          return FALSE;
        }
      /* Copied first: a parentless copy shows whether the element has a
       * namespace of its own or only inherited one where it came from. */
      BfStanza *copy = bf_stanza_copy (extra[i]);
      g_ptr_array_add (copies, copy);
      const char *ns = bf_stanza_get_ns (copy);
      if (ns == NULL || *ns == '\0')
        {
          g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST,
                       "extra <jingle/> child <%s/> has no namespace of its own",
                       bf_stanza_get_name (copy));
          return FALSE;
        }
      if (g_str_has_prefix (ns, "urn:xmpp:jingle:"))
        {
          g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST,
                       "extra <jingle/> child <%s/> is in a Jingle namespace (%s)",
                       bf_stanza_get_name (copy), ns);
          return FALSE;
        }
      g_autoptr (GString) out = g_string_new (NULL);
      bf_stanza_serialize (copy, BF_NS_JINGLE, out);
      bytes += out->len;
      if (bytes > BF_JINGLE_MAX_EXTRA_BYTES)
        {
          g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST,
                       "extra <jingle/> children over %u bytes", BF_JINGLE_MAX_EXTRA_BYTES);
          return FALSE;
        }
    }
  g_ptr_array_set_size (jingle->extra, 0);
  for (guint i = 0; i < copies->len; i++)
    g_ptr_array_add (jingle->extra, g_steal_pointer (&copies->pdata[i]));
  g_ptr_array_set_free_func (copies, NULL);
  return TRUE;
}

void
bf_jingle_copy_extra (BfJingle *to, const BfJingle *from)
{
  g_return_if_fail (to != NULL && from != NULL);
  for (guint i = 0; i < from->extra->len; i++)
    g_ptr_array_add (to->extra, bf_stanza_copy (g_ptr_array_index (from->extra, i)));
}

BfJingleRtpDescription *
bf_jingle_rtp_description_new (const char *media)
{
  BfJingleRtpDescription *rtp = g_new0 (BfJingleRtpDescription, 1);
  rtp->media = g_strdup (media);
  rtp->payload_types =
    g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_payload_type_free);
  rtp->rtcp_fb = rtcp_fb_list_new ();
  rtp->hdrexts = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_hdrext_free);
  rtp->sources = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_source_free);
  rtp->ssrc_groups = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_ssrc_group_free);
  rtp->crypto = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_jingle_crypto_free);
  return rtp;
}

BfJingleRtpDescription *
bf_jingle_content_set_rtp (BfJingleContent *content, const char *media)
{
  g_return_val_if_fail (content != NULL, NULL);
  bf_jingle_rtp_description_free (content->rtp);
  g_free (content->description_ns);
  content->rtp = bf_jingle_rtp_description_new (media);
  content->description_kind = BF_JINGLE_DESCRIPTION_RTP;
  content->description_ns = g_strdup (BF_NS_JINGLE_RTP);
  return content->rtp;
}

BfJingleRtpDescription *
bf_jingle_content_take_rtp (BfJingleContent *content, BfJingleRtpDescription *rtp)
{
  g_return_val_if_fail (content != NULL && rtp != NULL, NULL);
  bf_jingle_content_set_rtp (content, rtp->media);
  bf_jingle_rtp_description_free (content->rtp);
  content->rtp = rtp;
  return rtp;
}

BfJingleIceTransport *
bf_jingle_ice_transport_new (const char *ufrag, const char *pwd)
{
  BfJingleIceTransport *ice = g_new0 (BfJingleIceTransport, 1);
  ice->ufrag = g_strdup (ufrag);
  ice->pwd = g_strdup (pwd);
  ice->candidates = g_ptr_array_new_with_free_func (g_free);
  return ice;
}

BfJingleIceTransport *
bf_jingle_content_set_ice (BfJingleContent *content, const char *ufrag, const char *pwd)
{
  g_return_val_if_fail (content != NULL, NULL);
  bf_jingle_ice_transport_free (content->ice);
  g_free (content->transport_ns);
  content->ice = bf_jingle_ice_transport_new (ufrag, pwd);
  content->transport_kind = BF_JINGLE_TRANSPORT_ICE_UDP;
  content->transport_ns = g_strdup (BF_NS_JINGLE_ICE_UDP);
  return content->ice;
}

BfJinglePayloadType *
bf_jingle_rtp_find_payload_type (const BfJingleRtpDescription *rtp, guint8 id)
{
  g_return_val_if_fail (rtp != NULL, NULL);
  for (guint i = 0; i < rtp->payload_types->len; i++)
    {
      BfJinglePayloadType *pt = g_ptr_array_index (rtp->payload_types, i);
      if (pt->id == id)
        return pt;
    }
  return NULL;
}

BfJinglePayloadType *
bf_jingle_rtp_add_payload_type (BfJingleRtpDescription *rtp, guint8 id, const char *name,
                                guint32 clockrate, guint8 channels)
{
  g_return_val_if_fail (rtp != NULL && id <= 127, NULL);
  BfJinglePayloadType *pt = g_new0 (BfJinglePayloadType, 1);
  pt->id = id;
  pt->name = g_strdup (name);
  pt->clockrate = clockrate;
  pt->channels = channels ? channels : 1;
  pt->parameters = parameters_new ();
  pt->rtcp_fb = rtcp_fb_list_new ();
  g_ptr_array_add (rtp->payload_types, pt);
  return pt;
}

BfJingleParameter *
bf_jingle_parameters_add (GPtrArray *parameters, const char *name, const char *value)
{
  g_return_val_if_fail (parameters != NULL && name != NULL, NULL);
  BfJingleParameter *p = g_new0 (BfJingleParameter, 1);
  p->name = g_strdup (name);
  p->value = g_strdup (value);
  g_ptr_array_add (parameters, p);
  return p;
}

BfJingleRtcpFb *
bf_jingle_rtcp_fb_add (GPtrArray *rtcp_fb, const char *type, const char *subtype)
{
  g_return_val_if_fail (rtcp_fb != NULL && type != NULL, NULL);
  BfJingleRtcpFb *fb = g_new0 (BfJingleRtcpFb, 1);
  fb->type = g_strdup (type);
  fb->subtype = g_strdup (subtype);
  fb->parameters = parameters_new ();
  g_ptr_array_add (rtcp_fb, fb);
  return fb;
}

BfJingleHdrext *
bf_jingle_rtp_add_hdrext (BfJingleRtpDescription *rtp, guint16 id, const char *uri,
                          BfJingleSenders senders)
{
  g_return_val_if_fail (rtp != NULL && uri != NULL, NULL);
  BfJingleHdrext *h = g_new0 (BfJingleHdrext, 1);
  h->id = id;
  h->uri = g_strdup (uri);
  h->senders = senders;
  h->parameters = parameters_new ();
  g_ptr_array_add (rtp->hdrexts, h);
  return h;
}

BfJingleSource *
bf_jingle_rtp_add_source (BfJingleRtpDescription *rtp, guint32 ssrc)
{
  g_return_val_if_fail (rtp != NULL, NULL);
  BfJingleSource *s = g_new0 (BfJingleSource, 1);
  s->ssrc = ssrc;
  s->parameters = parameters_new ();
  g_ptr_array_add (rtp->sources, s);
  return s;
}

BfJingleSsrcGroup *
bf_jingle_rtp_add_ssrc_group (BfJingleRtpDescription *rtp, const char *semantics,
                              const guint32 *ssrcs, guint n_ssrcs)
{
  g_return_val_if_fail (rtp != NULL && semantics != NULL, NULL);
  BfJingleSsrcGroup *g = g_new0 (BfJingleSsrcGroup, 1);
  g->semantics = g_strdup (semantics);
  g->ssrcs = g_array_new (FALSE, FALSE, sizeof (guint32));
  if (n_ssrcs)
    g_array_append_vals (g->ssrcs, ssrcs, n_ssrcs);
  g_ptr_array_add (rtp->ssrc_groups, g);
  return g;
}

BfJingleCandidate *
bf_jingle_ice_add_candidate (BfJingleIceTransport *ice, guint component, const char *foundation,
                             const char *ip, guint16 port, guint32 priority,
                             const char *protocol, BfJingleCandidateType type)
{
  g_return_val_if_fail (ice != NULL && foundation != NULL && ip != NULL, NULL);
  g_return_val_if_fail (strlen (foundation) <= BF_JINGLE_CANDIDATE_TOKEN_MAX
                        && strlen (ip) <= BF_JINGLE_CANDIDATE_ADDRESS_MAX, NULL);
  g_return_val_if_fail (protocol == NULL || strcmp (protocol, "udp") == 0
                        || strcmp (protocol, "tcp") == 0, NULL);
  BfJingleCandidate *c = g_new (BfJingleCandidate, 1);
  bf_jingle_candidate_init (c);
  c->component = component;
  g_strlcpy (c->foundation, foundation, sizeof c->foundation);
  g_strlcpy (c->ip, ip, sizeof c->ip);
  c->port = port;
  c->priority = priority;
  if (protocol)
    g_strlcpy (c->protocol, protocol, sizeof c->protocol);
  c->type = type;
  g_ptr_array_add (ice->candidates, c);
  return c;
}

BfJingleCandidate *
bf_jingle_ice_append_candidate (BfJingleIceTransport *ice, const BfJingleCandidate *c)
{
  g_return_val_if_fail (ice != NULL && c != NULL, NULL);
  BfJingleCandidate *copy = g_memdup2 (c, sizeof *c);
  g_ptr_array_add (ice->candidates, copy);
  return copy;
}

const BfJingleFingerprint *
bf_jingle_first_fingerprint (const BfJingle *jingle)
{
  for (guint i = 0; jingle->contents && i < jingle->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (jingle->contents, i);
      if (c->ice && c->ice->fingerprint)
        return c->ice->fingerprint;
    }
  return NULL;
}

gboolean
bf_jingle_merge_candidates (BfJingle *into, const BfJingle *from)
{
  g_return_val_if_fail (into != NULL && from != NULL, FALSE);
  for (guint i = 0; i < from->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (from->contents, i);
      BfJingleContent *mine = bf_jingle_find_content (into, c->name);
      if (c->ice == NULL || mine == NULL || mine->ice == NULL)
        continue;
      for (guint k = 0; k < c->ice->candidates->len; k++)
        {
          if (mine->ice->candidates->len >= BF_JINGLE_MAX_CANDIDATES)
            return FALSE;
          bf_jingle_ice_append_candidate (mine->ice, g_ptr_array_index (c->ice->candidates, k));
        }
    }
  return TRUE;
}

BfJingleFingerprint *
bf_jingle_ice_set_fingerprint (BfJingleIceTransport *ice, const char *hash, BfJingleSetup setup,
                               const char *value)
{
  g_return_val_if_fail (ice != NULL && hash != NULL && value != NULL, NULL);
  bf_jingle_fingerprint_free (ice->fingerprint);
  ice->fingerprint = g_new0 (BfJingleFingerprint, 1);
  ice->fingerprint->hash = g_strdup (hash);
  ice->fingerprint->setup = setup;
  ice->fingerprint->value = g_strdup (value);
  return ice->fingerprint;
}

/* --- equality --- */

typedef gboolean (*EqualFunc) (gconstpointer a, gconstpointer b);

static gboolean
ptr_arrays_equal (const GPtrArray *a, const GPtrArray *b, EqualFunc eq)
{
  if (a == NULL || b == NULL)
    return a == b;
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (!eq (g_ptr_array_index (a, i), g_ptr_array_index (b, i)))
      return FALSE;
  return TRUE;
}

static gboolean
str_equal (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (a, b) == 0;
}

static gboolean
parameter_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleParameter *a = pa, *b = pb;
  return str_equal (a->name, b->name) && str_equal (a->value, b->value);
}

static gboolean
rtcp_fb_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleRtcpFb *a = pa, *b = pb;
  return str_equal (a->type, b->type) && str_equal (a->subtype, b->subtype)
         && ptr_arrays_equal (a->parameters, b->parameters, parameter_equal);
}

static gboolean
payload_type_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJinglePayloadType *a = pa, *b = pb;
  return a->id == b->id && str_equal (a->name, b->name) && a->clockrate == b->clockrate
         && a->channels == b->channels && a->ptime == b->ptime && a->maxptime == b->maxptime
         && a->has_trr_int == b->has_trr_int && (!a->has_trr_int || a->trr_int == b->trr_int)
         && ptr_arrays_equal (a->parameters, b->parameters, parameter_equal)
         && ptr_arrays_equal (a->rtcp_fb, b->rtcp_fb, rtcp_fb_equal);
}

static gboolean
hdrext_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleHdrext *a = pa, *b = pb;
  return a->id == b->id && str_equal (a->uri, b->uri) && a->senders == b->senders
         && ptr_arrays_equal (a->parameters, b->parameters, parameter_equal);
}

static gboolean
source_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleSource *a = pa, *b = pb;
  return a->ssrc == b->ssrc && ptr_arrays_equal (a->parameters, b->parameters, parameter_equal);
}

static gboolean
ssrc_group_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleSsrcGroup *a = pa, *b = pb;
  /* An empty GArray may have no data at all: no memcmp() on it. */
  return str_equal (a->semantics, b->semantics) && a->ssrcs->len == b->ssrcs->len
         && (a->ssrcs->len == 0
             || memcmp (a->ssrcs->data, b->ssrcs->data, a->ssrcs->len * sizeof (guint32)) == 0);
}

static gboolean
crypto_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleCrypto *a = pa, *b = pb;
  return str_equal (a->crypto_suite, b->crypto_suite) && str_equal (a->key_params, b->key_params)
         && str_equal (a->session_params, b->session_params) && str_equal (a->tag, b->tag);
}

static gboolean
rtp_equal (const BfJingleRtpDescription *a, const BfJingleRtpDescription *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return str_equal (a->media, b->media) && a->has_ssrc == b->has_ssrc
         && (!a->has_ssrc || a->ssrc == b->ssrc)
         && ptr_arrays_equal (a->payload_types, b->payload_types, payload_type_equal)
         && ptr_arrays_equal (a->rtcp_fb, b->rtcp_fb, rtcp_fb_equal)
         && a->has_trr_int == b->has_trr_int && (!a->has_trr_int || a->trr_int == b->trr_int)
         && ptr_arrays_equal (a->hdrexts, b->hdrexts, hdrext_equal)
         && !a->extmap_allow_mixed == !b->extmap_allow_mixed
         && ptr_arrays_equal (a->sources, b->sources, source_equal)
         && ptr_arrays_equal (a->ssrc_groups, b->ssrc_groups, ssrc_group_equal)
         && !a->rtcp_mux == !b->rtcp_mux && !a->rtcp_reduced_size == !b->rtcp_reduced_size
         && str_equal (a->bandwidth_type, b->bandwidth_type)
         && str_equal (a->bandwidth, b->bandwidth)
         && !a->has_encryption == !b->has_encryption
         && !a->encryption_required == !b->encryption_required
         && ptr_arrays_equal (a->crypto, b->crypto, crypto_equal);
}

static gboolean
candidate_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleCandidate *a = pa, *b = pb;
  return a->component == b->component && str_equal (a->foundation, b->foundation)
         && a->generation == b->generation && str_equal (a->id, b->id)
         && str_equal (a->ip, b->ip) && a->port == b->port && a->priority == b->priority
         && str_equal (a->protocol, b->protocol) && a->type == b->type
         && str_equal (a->rel_addr, b->rel_addr) && a->rel_port == b->rel_port
         && a->network == b->network && str_equal (a->tcptype, b->tcptype);
}

static gboolean
fingerprint_equal (const BfJingleFingerprint *a, const BfJingleFingerprint *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return str_equal (a->hash, b->hash) && a->setup == b->setup && str_equal (a->value, b->value);
}

static gboolean
ice_equal (const BfJingleIceTransport *a, const BfJingleIceTransport *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  if (!!a->has_remote_candidate != !!b->has_remote_candidate)
    return FALSE;
  if (a->has_remote_candidate
      && (a->remote_component != b->remote_component || a->remote_port != b->remote_port
          || !str_equal (a->remote_ip, b->remote_ip)))
    return FALSE;
  return str_equal (a->ufrag, b->ufrag) && str_equal (a->pwd, b->pwd)
         && ptr_arrays_equal (a->candidates, b->candidates, candidate_equal)
         && fingerprint_equal (a->fingerprint, b->fingerprint);
}

static gboolean
content_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleContent *a = pa, *b = pb;
  return a->creator == b->creator && str_equal (a->name, b->name) && a->senders == b->senders
         && str_equal (a->disposition, b->disposition)
         && a->description_kind == b->description_kind
         && str_equal (a->description_ns, b->description_ns) && rtp_equal (a->rtp, b->rtp)
         && a->transport_kind == b->transport_kind
         && str_equal (a->transport_ns, b->transport_ns) && ice_equal (a->ice, b->ice);
}

gboolean
bf_jingle_reason_equal (const BfJingleReason *a, const BfJingleReason *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a->condition == b->condition && str_equal (a->text, b->text)
         && str_equal (a->alternative_sid, b->alternative_sid)
         && str_equal (a->detail_ns, b->detail_ns) && str_equal (a->detail_name, b->detail_name);
}

static gboolean
group_equal (gconstpointer pa, gconstpointer pb)
{
  const BfJingleGroup *a = pa, *b = pb;
  return str_equal (a->semantics, b->semantics)
         && ptr_arrays_equal (a->contents, b->contents, str_equal);
}

static gboolean
extra_equal (gconstpointer a, gconstpointer b)
{
  g_autofree char *sa = bf_stanza_to_string (a), *sb = bf_stanza_to_string (b);
  return strcmp (sa, sb) == 0;
}

gboolean
bf_jingle_equal (const BfJingle *a, const BfJingle *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a->action == b->action && str_equal (a->sid, b->sid)
         && str_equal (a->initiator, b->initiator) && str_equal (a->responder, b->responder)
         && ptr_arrays_equal (a->contents, b->contents, content_equal)
         && bf_jingle_reason_equal (a->reason, b->reason)
         && ptr_arrays_equal (a->groups, b->groups, group_equal)
         && a->info.kind == b->info.kind && a->info.creator == b->info.creator
         && str_equal (a->info.name, b->info.name)
         && ptr_arrays_equal (a->extra, b->extra, extra_equal);
}
