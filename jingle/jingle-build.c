/* Building Jingle requests from the model: the inverse of jingle-parse.c, so that
 * bf_jingle_parse (bf_jingle_build (j)) equals j. */
#include <string.h>

#include "jingle-private.h"

static void
set_uint (BfStanza *el, const char *attr, guint64 v)
{
  char buf[24];
  g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, v);
  bf_stanza_set_attr (el, attr, buf);
}

static void
build_parameters (BfStanza *parent, const GPtrArray *parameters)
{
  for (guint i = 0; i < parameters->len; i++)
    {
      const BfJingleParameter *p = g_ptr_array_index (parameters, i);
      BfStanza *el = bf_stanza_add_child (parent, "parameter", NULL);
      bf_stanza_set_attr (el, "name", p->name);
      if (p->value)
        bf_stanza_set_attr (el, "value", p->value);
    }
}

static void
build_rtcp_fb (BfStanza *parent, const GPtrArray *list, gboolean has_trr_int, guint32 trr_int)
{
  for (guint i = 0; i < list->len; i++)
    {
      const BfJingleRtcpFb *fb = g_ptr_array_index (list, i);
      BfStanza *el = bf_stanza_add_child (parent, "rtcp-fb", BF_NS_JINGLE_RTCP_FB);
      bf_stanza_set_attr (el, "type", fb->type);
      if (fb->subtype)
        bf_stanza_set_attr (el, "subtype", fb->subtype);
      build_parameters (el, fb->parameters);
    }
  if (has_trr_int)
    {
      BfStanza *el = bf_stanza_add_child (parent, "rtcp-fb-trr-int", BF_NS_JINGLE_RTCP_FB);
      set_uint (el, "value", trr_int);
    }
}

static void
build_rtp (BfStanza *content, const BfJingleRtpDescription *rtp)
{
  BfStanza *desc = bf_stanza_add_child (content, "description", BF_NS_JINGLE_RTP);
  bf_stanza_set_attr (desc, "media", rtp->media);
  if (rtp->has_ssrc)
    set_uint (desc, "ssrc", rtp->ssrc);

  for (guint i = 0; i < rtp->payload_types->len; i++)
    {
      const BfJinglePayloadType *pt = g_ptr_array_index (rtp->payload_types, i);
      BfStanza *el = bf_stanza_add_child (desc, "payload-type", NULL);
      set_uint (el, "id", pt->id);
      if (pt->name)
        bf_stanza_set_attr (el, "name", pt->name);
      if (pt->clockrate)
        set_uint (el, "clockrate", pt->clockrate);
      if (pt->channels != 1)
        set_uint (el, "channels", pt->channels);
      if (pt->ptime)
        set_uint (el, "ptime", pt->ptime);
      if (pt->maxptime)
        set_uint (el, "maxptime", pt->maxptime);
      build_parameters (el, pt->parameters);
      build_rtcp_fb (el, pt->rtcp_fb, pt->has_trr_int, pt->trr_int);
    }
  build_rtcp_fb (desc, rtp->rtcp_fb, rtp->has_trr_int, rtp->trr_int);

  for (guint i = 0; i < rtp->hdrexts->len; i++)
    {
      const BfJingleHdrext *h = g_ptr_array_index (rtp->hdrexts, i);
      BfStanza *el = bf_stanza_add_child (desc, "rtp-hdrext", BF_NS_JINGLE_HDREXT);
      set_uint (el, "id", h->id);
      bf_stanza_set_attr (el, "uri", h->uri);
      if (h->senders != BF_JINGLE_SENDERS_BOTH)
        bf_stanza_set_attr (el, "senders", bf_jingle_senders_to_string (h->senders));
      build_parameters (el, h->parameters);
    }
  if (rtp->extmap_allow_mixed)
    bf_stanza_add_child (desc, "extmap-allow-mixed", BF_NS_JINGLE_HDREXT);

  for (guint i = 0; i < rtp->sources->len; i++)
    {
      const BfJingleSource *s = g_ptr_array_index (rtp->sources, i);
      BfStanza *el = bf_stanza_add_child (desc, "source", BF_NS_JINGLE_SSMA);
      set_uint (el, "ssrc", s->ssrc);
      build_parameters (el, s->parameters);
    }
  for (guint i = 0; i < rtp->ssrc_groups->len; i++)
    {
      const BfJingleSsrcGroup *g = g_ptr_array_index (rtp->ssrc_groups, i);
      BfStanza *el = bf_stanza_add_child (desc, "ssrc-group", BF_NS_JINGLE_SSMA);
      bf_stanza_set_attr (el, "semantics", g->semantics);
      for (guint k = 0; k < g->ssrcs->len; k++)
        set_uint (bf_stanza_add_child (el, "source", NULL), "ssrc",
                  g_array_index (g->ssrcs, guint32, k));
    }

  if (rtp->rtcp_mux)
    bf_stanza_add_child (desc, "rtcp-mux", NULL);
  if (rtp->rtcp_reduced_size)
    bf_stanza_add_child (desc, "rtcp-reduced-size", NULL);
  if (rtp->bandwidth_type)
    {
      BfStanza *el = bf_stanza_add_text_child (desc, "bandwidth", NULL,
                                               rtp->bandwidth ? rtp->bandwidth : "");
      bf_stanza_set_attr (el, "type", rtp->bandwidth_type);
    }
  if (rtp->has_encryption)
    {
      BfStanza *enc = bf_stanza_add_child (desc, "encryption", NULL);
      if (rtp->encryption_required)
        bf_stanza_set_attr (enc, "required", "1");
      for (guint i = 0; i < rtp->crypto->len; i++)
        {
          const BfJingleCrypto *c = g_ptr_array_index (rtp->crypto, i);
          BfStanza *el = bf_stanza_add_child (enc, "crypto", NULL);
          bf_stanza_set_attr (el, "crypto-suite", c->crypto_suite);
          bf_stanza_set_attr (el, "key-params", c->key_params);
          if (c->session_params)
            bf_stanza_set_attr (el, "session-params", c->session_params);
          bf_stanza_set_attr (el, "tag", c->tag);
        }
    }
}

static void
build_ice (BfStanza *content, const BfJingleIceTransport *ice)
{
  BfStanza *tr = bf_stanza_add_child (content, "transport", BF_NS_JINGLE_ICE_UDP);
  if (ice->ufrag)
    bf_stanza_set_attr (tr, "ufrag", ice->ufrag);
  if (ice->pwd)
    bf_stanza_set_attr (tr, "pwd", ice->pwd);
  if (ice->fingerprint)
    {
      const BfJingleFingerprint *f = ice->fingerprint;
      BfStanza *el = bf_stanza_add_text_child (tr, "fingerprint", BF_NS_JINGLE_DTLS, f->value);
      bf_stanza_set_attr (el, "hash", f->hash);
      if (f->setup != BF_JINGLE_SETUP_UNSET)
        bf_stanza_set_attr (el, "setup", bf_jingle_setup_to_string (f->setup));
    }
  for (guint i = 0; i < ice->candidates->len; i++)
    {
      const BfJingleCandidate *c = g_ptr_array_index (ice->candidates, i);
      BfStanza *el = bf_stanza_add_child (tr, "candidate", NULL);
      set_uint (el, "component", c->component);
      bf_stanza_set_attr (el, "foundation", c->foundation);
      set_uint (el, "generation", c->generation);
      if (c->id[0])
        bf_stanza_set_attr (el, "id", c->id);
      bf_stanza_set_attr (el, "ip", c->ip);
      if (c->network >= 0)
        set_uint (el, "network", (guint64) c->network);
      set_uint (el, "port", c->port);
      set_uint (el, "priority", c->priority);
      bf_stanza_set_attr (el, "protocol", c->protocol);
      if (c->rel_addr[0])
        bf_stanza_set_attr (el, "rel-addr", c->rel_addr);
      if (c->rel_port >= 0)
        set_uint (el, "rel-port", (guint64) c->rel_port);
      bf_stanza_set_attr (el, "type", bf_jingle_candidate_type_to_string (c->type));
      if (c->tcptype[0])
        bf_stanza_set_attr (el, "tcptype", c->tcptype);
    }
  if (ice->has_remote_candidate)
    {
      BfStanza *el = bf_stanza_add_child (tr, "remote-candidate", NULL);
      set_uint (el, "component", ice->remote_component);
      bf_stanza_set_attr (el, "ip", ice->remote_ip);
      set_uint (el, "port", ice->remote_port);
    }
}

static void
build_content (BfStanza *jingle, const BfJingle *j, const BfJingleContent *c)
{
  BfStanza *el = bf_stanza_add_child (jingle, "content", NULL);
  bf_stanza_set_attr (el, "creator", bf_jingle_creator_to_string (c->creator));
  bf_stanza_set_attr (el, "name", c->name);
  /* XEP-0166 §7.3: senders is REQUIRED in content-modify, defaults to both. */
  if (c->senders != BF_JINGLE_SENDERS_BOTH || j->action == BF_JINGLE_ACTION_CONTENT_MODIFY)
    bf_stanza_set_attr (el, "senders", bf_jingle_senders_to_string (c->senders));
  if (c->disposition)
    bf_stanza_set_attr (el, "disposition", c->disposition);

  if (c->description_kind == BF_JINGLE_DESCRIPTION_RTP && c->rtp)
    build_rtp (el, c->rtp);
  else if (c->description_kind != BF_JINGLE_DESCRIPTION_NONE)
    bf_stanza_add_child (el, "description", c->description_ns);

  if (c->transport_kind == BF_JINGLE_TRANSPORT_ICE_UDP && c->ice)
    build_ice (el, c->ice);
  else if (c->transport_kind != BF_JINGLE_TRANSPORT_NONE)
    bf_stanza_add_child (el, "transport", c->transport_ns);
}

void
bf_jingle_reason_build (BfStanza *parent, const BfJingleReason *reason, const char *ns)
{
  BfStanza *el = bf_stanza_add_child (parent, "reason", ns);
  BfStanza *cond = bf_stanza_add_child (el, bf_jingle_reason_to_string (reason->condition), NULL);
  if (reason->condition == BF_JINGLE_REASON_ALTERNATIVE_SESSION && reason->alternative_sid)
    bf_stanza_add_text_child (cond, "sid", NULL, reason->alternative_sid);
  if (reason->text)
    bf_stanza_add_text_child (el, "text", NULL, reason->text);
  if (reason->detail_name && reason->detail_ns && strcmp (reason->detail_ns, BF_NS_JINGLE) != 0)
    bf_stanza_add_child (el, reason->detail_name, reason->detail_ns);
}

static const char *const info_elements[] = {
  [BF_JINGLE_INFO_ACTIVE] = "active",
  [BF_JINGLE_INFO_HOLD] = "hold",
  [BF_JINGLE_INFO_UNHOLD] = "unhold",
  [BF_JINGLE_INFO_MUTE] = "mute",
  [BF_JINGLE_INFO_UNMUTE] = "unmute",
  [BF_JINGLE_INFO_RINGING] = "ringing",
};

BfStanza *
bf_jingle_build (const BfJingle *j, const char *from, const char *to, const char *id)
{
  g_return_val_if_fail (j != NULL && j->sid != NULL, NULL);
  BfStanza *iq = bf_stanza_new ("iq", NULL);
  if (from)
    bf_stanza_set_attr (iq, "from", from);
  if (to)
    bf_stanza_set_attr (iq, "to", to);
  if (id)
    bf_stanza_set_attr (iq, "id", id);
  bf_stanza_set_attr (iq, "type", "set");

  BfStanza *jingle = bf_stanza_add_child (iq, "jingle", BF_NS_JINGLE);
  bf_stanza_set_attr (jingle, "action", bf_jingle_action_to_string (j->action));
  if (j->initiator)
    bf_stanza_set_attr (jingle, "initiator", j->initiator);
  if (j->responder)
    bf_stanza_set_attr (jingle, "responder", j->responder);
  bf_stanza_set_attr (jingle, "sid", j->sid);

  /* XEP-0338 §2 shows the group first. */
  for (guint i = 0; i < j->groups->len; i++)
    {
      const BfJingleGroup *g = g_ptr_array_index (j->groups, i);
      BfStanza *el = bf_stanza_add_child (jingle, "group", BF_NS_JINGLE_GROUPING);
      bf_stanza_set_attr (el, "semantics", g->semantics);
      for (guint k = 0; k < g->contents->len; k++)
        bf_stanza_set_attr (bf_stanza_add_child (el, "content", NULL), "name",
                            g_ptr_array_index (g->contents, k));
    }
  for (guint i = 0; i < j->contents->len; i++)
    build_content (jingle, j, g_ptr_array_index (j->contents, i));
  if (j->reason)
    bf_jingle_reason_build (jingle, j->reason, NULL);

  if (j->action == BF_JINGLE_ACTION_SESSION_INFO && j->info.kind != BF_JINGLE_INFO_NONE
      && (guint) j->info.kind < G_N_ELEMENTS (info_elements))
    {
      BfStanza *el = bf_stanza_add_child (jingle, info_elements[j->info.kind],
                                          BF_NS_JINGLE_RTP_INFO);
      if (j->info.kind == BF_JINGLE_INFO_MUTE || j->info.kind == BF_JINGLE_INFO_UNMUTE)
        {
          bf_stanza_set_attr (el, "creator", bf_jingle_creator_to_string (j->info.creator));
          if (j->info.name)
            bf_stanza_set_attr (el, "name", j->info.name);
        }
    }
  return iq;
}
