/* Parsing and validating Jingle requests (XEP-0166 and the application and
 * transport formats listed in jingle.h).
 *
 * The rule: liberal where real clients omit things and nothing breaks
 * (candidate generation/id/network, payload-type channels, content creator
 * and senders, ufrag/pwd on a transport without them), strict on anything a
 * media path depends on (counts, numeric ranges, addresses, credentials,
 * fingerprints).  Every refusal is a bad-request whose text says what was
 * wrong, ready to be sent back.  Unknown child elements are ignored, as the
 * schemas' xs:any allows. */
#include <string.h>
#include <gio/gio.h>

#include "jingle-private.h"

/* RFC 7622 §3: localpart, domain and resource of 1023 bytes each. */
#define MAX_JID (3 * 1023 + 2)
#define MAX_TOKEN 64
#define VALID_IP_MAX 64   /* bytes of an IP literal we accept */

/* --- small helpers --- */

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

gboolean
bf_jingle_parse_uint (const char *s, guint64 min, guint64 max, guint64 *out)
{
  if (s == NULL)
    return FALSE;
  while (is_space (*s))
    s++;
  if (!g_ascii_isdigit (*s))
    return FALSE;
  guint64 v = 0;
  for (; g_ascii_isdigit (*s); s++)
    {
      guint d = (guint) (*s - '0');
      if (v > (G_MAXUINT64 - d) / 10)
        return FALSE;
      v = v * 10 + d;
    }
  while (is_space (*s))
    s++;
  if (*s != '\0' || v < min || v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

gboolean
bf_jingle_attr_string (const BfStanza *el, const char *attr, gsize max, const char **out,
                       GError **error)
{
  const char *v = bf_stanza_get_attr (el, attr);
  *out = v;
  if (v && strlen (v) > max)
    return bf_jingle_bad_request (error, "<%s/> attribute '%s' is longer than %" G_GSIZE_FORMAT
                                  " bytes", bf_stanza_get_name (el), attr, max);
  return TRUE;
}

gboolean
bf_jingle_attr_uint (const BfStanza *el, const char *attr, guint64 min, guint64 max,
                     guint64 *out, gboolean *present, GError **error)
{
  const char *v = bf_stanza_get_attr (el, attr);
  if (present)
    *present = v != NULL;
  if (v == NULL)
    return TRUE;
  if (!bf_jingle_parse_uint (v, min, max, out))
    return bf_jingle_bad_request (error, "<%s/> attribute '%s' must be an integer in [%"
                                  G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "], not '%.64s'",
                                  bf_stanza_get_name (el), attr, min, max, v);
  return TRUE;
}

/* A required string attribute, non-empty and bounded. */
static gboolean
required_string (const BfStanza *el, const char *attr, gsize max, const char **out,
                 GError **error)
{
  if (!bf_jingle_attr_string (el, attr, max, out, error))
    return FALSE;
  if (*out == NULL || **out == '\0')
    return bf_jingle_bad_request (error, "<%s/> needs a non-empty '%s' attribute",
                                  bf_stanza_get_name (el), attr);
  return TRUE;
}

static gboolean
required_uint (const BfStanza *el, const char *attr, guint64 min, guint64 max, guint64 *out,
               GError **error)
{
  gboolean present;
  if (!bf_jingle_attr_uint (el, attr, min, max, out, &present, error))
    return FALSE;
  if (!present)
    return bf_jingle_bad_request (error, "<%s/> needs a '%s' attribute",
                                  bf_stanza_get_name (el), attr);
  return TRUE;
}

static gboolean
is_el (const BfStanza *el, const char *name, const char *ns)
{
  return strcmp (bf_stanza_get_name (el), name) == 0
         && g_strcmp0 (bf_stanza_get_ns (el), ns) == 0;
}

static gboolean
too_many (GError **error, const char *what, guint limit, const char *where)
{
  return bf_jingle_bad_request (error, "more than %u %s in one %s", limit, what, where);
}

static gboolean
valid_ip (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > VALID_IP_MAX)
    return FALSE;
  GInetAddress *addr = g_inet_address_new_from_string (s);
  if (addr == NULL)
    return FALSE;
  g_object_unref (addr);
  return TRUE;
}

static char *
strip_dup (const char *s)
{
  const char *end = s + strlen (s);
  while (is_space (*s))
    s++;
  while (end > s && is_space (end[-1]))
    end--;
  return g_strndup (s, end - s);
}

/* --- parameters (XEP-0167 §4, 0293, 0294, 0339) --- */

static gboolean
parse_parameter (const BfStanza *el, GPtrArray *list, const char *where, GError **error)
{
  const char *name, *value;
  if (list->len >= BF_JINGLE_MAX_PARAMETERS)
    return too_many (error, "parameters", BF_JINGLE_MAX_PARAMETERS, where);
  if (!required_string (el, "name", BF_JINGLE_MAX_STRING, &name, error)
      || !bf_jingle_attr_string (el, "value", BF_JINGLE_MAX_STRING, &value, error))
    return FALSE;
  bf_jingle_parameters_add (list, name, value);
  return TRUE;
}

/* --- XEP-0293 --- */

static gboolean
parse_rtcp_fb (const BfStanza *el, GPtrArray *list, GError **error)
{
  const char *type, *subtype;
  if (list->len >= BF_JINGLE_MAX_RTCP_FB)
    return too_many (error, "<rtcp-fb/>", BF_JINGLE_MAX_RTCP_FB, "element");
  if (!required_string (el, "type", MAX_TOKEN, &type, error)
      || !bf_jingle_attr_string (el, "subtype", MAX_TOKEN, &subtype, error))
    return FALSE;
  BfJingleRtcpFb *fb = bf_jingle_rtcp_fb_add (list, type, subtype);
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    if (strcmp (bf_stanza_get_name (child), "parameter") == 0
        && !parse_parameter (child, fb->parameters, "<rtcp-fb/>", error))
      return FALSE;
  return TRUE;
}

static gboolean
parse_trr_int (const BfStanza *el, gboolean *has, guint32 *value, GError **error)
{
  guint64 v;
  /* The schema says positiveInteger, but §4 itself sends value='0'. */
  if (!required_uint (el, "value", 0, G_MAXUINT32, &v, error))
    return FALSE;
  *has = TRUE;
  *value = (guint32) v;
  return TRUE;
}

/* --- XEP-0167 payload types --- */

static gboolean
parse_payload_type (const BfStanza *el, BfJingleRtpDescription *rtp, GError **error)
{
  guint64 id, clockrate = 0, channels = 1, ptime = 0, maxptime = 0;
  const char *name;
  if (rtp->payload_types->len >= BF_JINGLE_MAX_PAYLOAD_TYPES)
    return too_many (error, "payload types", BF_JINGLE_MAX_PAYLOAD_TYPES, "description");
  /* RTP payload types are 7 bits (RFC 3550 §5.1); the schema's unsignedByte
   * would allow 255. */
  if (!required_uint (el, "id", 0, 127, &id, error)
      || !bf_jingle_attr_string (el, "name", BF_JINGLE_MAX_STRING, &name, error)
      || !bf_jingle_attr_uint (el, "clockrate", 0, G_MAXUINT32, &clockrate, NULL, error)
      || !bf_jingle_attr_uint (el, "channels", 1, 255, &channels, NULL, error)
      || !bf_jingle_attr_uint (el, "ptime", 0, G_MAXUINT32, &ptime, NULL, error)
      || !bf_jingle_attr_uint (el, "maxptime", 0, G_MAXUINT32, &maxptime, NULL, error))
    return FALSE;
  if (bf_jingle_rtp_find_payload_type (rtp, (guint8) id))
    return bf_jingle_bad_request (error, "payload type %u appears twice in one description",
                                    (guint) id);

  BfJinglePayloadType *pt = bf_jingle_rtp_add_payload_type (rtp, (guint8) id, name,
                                                            (guint32) clockrate,
                                                            (guint8) channels);
  pt->ptime = (guint32) ptime;
  pt->maxptime = (guint32) maxptime;

  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *cname = bf_stanza_get_name (child);
      if (strcmp (cname, "parameter") == 0)
        {
          if (!parse_parameter (child, pt->parameters, "<payload-type/>", error))
            return FALSE;
        }
      else if (is_el (child, "rtcp-fb", BF_NS_JINGLE_RTCP_FB))
        {
          if (!parse_rtcp_fb (child, pt->rtcp_fb, error))
            return FALSE;
        }
      else if (is_el (child, "rtcp-fb-trr-int", BF_NS_JINGLE_RTCP_FB))
        {
          if (!parse_trr_int (child, &pt->has_trr_int, &pt->trr_int, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* --- XEP-0294 --- */

static gboolean
parse_hdrext (const BfStanza *el, BfJingleRtpDescription *rtp, GError **error)
{
  guint64 id;
  const char *uri, *senders_s;
  BfJingleSenders senders = BF_JINGLE_SENDERS_BOTH;
  if (rtp->hdrexts->len >= BF_JINGLE_MAX_HDREXTS)
    return too_many (error, "<rtp-hdrext/>", BF_JINGLE_MAX_HDREXTS, "description");
  /* §3's table gives 1-256 and 4096-4351, but its own Example 1 offers
   * id='4907'; follow the schema (unsignedShort) and refuse only 0, which
   * RFC 8285 §4.2 reserves for padding. */
  if (!required_uint (el, "id", 1, G_MAXUINT16, &id, error)
      || !required_string (el, "uri", BF_JINGLE_MAX_STRING, &uri, error)
      || !bf_jingle_attr_string (el, "senders", MAX_TOKEN, &senders_s, error))
    return FALSE;
  if (senders_s && !bf_jingle_senders_from_string (senders_s, &senders))
    return bf_jingle_bad_request (error, "<rtp-hdrext/> has an unknown senders value '%s'",
                                  senders_s);
  BfJingleHdrext *h = bf_jingle_rtp_add_hdrext (rtp, (guint16) id, uri, senders);
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    if (strcmp (bf_stanza_get_name (child), "parameter") == 0
        && !parse_parameter (child, h->parameters, "<rtp-hdrext/>", error))
      return FALSE;
  return TRUE;
}

/* --- XEP-0339 --- */

static gboolean
parse_source (const BfStanza *el, BfJingleRtpDescription *rtp, GError **error)
{
  guint64 ssrc;
  if (rtp->sources->len >= BF_JINGLE_MAX_SOURCES)
    return too_many (error, "sources", BF_JINGLE_MAX_SOURCES, "description");
  if (!required_uint (el, "ssrc", 0, G_MAXUINT32, &ssrc, error))
    return FALSE;
  BfJingleSource *s = bf_jingle_rtp_add_source (rtp, (guint32) ssrc);
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    if (strcmp (bf_stanza_get_name (child), "parameter") == 0
        && !parse_parameter (child, s->parameters, "<source/>", error))
      return FALSE;
  return TRUE;
}

static gboolean
parse_ssrc_group (const BfStanza *el, BfJingleRtpDescription *rtp, GError **error)
{
  const char *semantics;
  if (rtp->ssrc_groups->len >= BF_JINGLE_MAX_SSRC_GROUPS)
    return too_many (error, "ssrc-groups", BF_JINGLE_MAX_SSRC_GROUPS, "description");
  /* The schema lists LS, FID, SRF, ANAT, FEC, DDP; libwebrtc also sends
   * SIM and FEC-FR: any token is kept. */
  if (!required_string (el, "semantics", MAX_TOKEN, &semantics, error))
    return FALSE;
  BfJingleSsrcGroup *g = bf_jingle_rtp_add_ssrc_group (rtp, semantics, NULL, 0);
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      if (strcmp (bf_stanza_get_name (child), "source") != 0)
        continue;
      guint64 ssrc;
      if (g->ssrcs->len >= BF_JINGLE_MAX_GROUP_SOURCES)
        return too_many (error, "sources", BF_JINGLE_MAX_GROUP_SOURCES, "ssrc-group");
      if (!required_uint (child, "ssrc", 0, G_MAXUINT32, &ssrc, error))
        return FALSE;
      guint32 v = (guint32) ssrc;
      g_array_append_val (g->ssrcs, v);
    }
  return TRUE;
}

/* --- XEP-0167 §7 SDES --- */

static gboolean
parse_encryption (const BfStanza *el, BfJingleRtpDescription *rtp, GError **error)
{
  const char *required;
  if (!bf_jingle_attr_string (el, "required", MAX_TOKEN, &required, error))
    return FALSE;
  rtp->has_encryption = TRUE;
  if (required == NULL || strcmp (required, "false") == 0 || strcmp (required, "0") == 0)
    rtp->encryption_required = FALSE;
  else if (strcmp (required, "true") == 0 || strcmp (required, "1") == 0)
    rtp->encryption_required = TRUE;
  else
    return bf_jingle_bad_request (error, "<encryption/> 'required' must be a boolean, not '%s'",
                                  required);
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      if (!is_el (child, "crypto", BF_NS_JINGLE_RTP))
        continue;
      const char *suite, *key, *session, *tag;
      if (rtp->crypto->len >= BF_JINGLE_MAX_CRYPTO)
        return too_many (error, "<crypto/>", BF_JINGLE_MAX_CRYPTO, "encryption");
      if (!required_string (child, "crypto-suite", MAX_TOKEN, &suite, error)
          || !required_string (child, "key-params", BF_JINGLE_MAX_STRING, &key, error)
          || !bf_jingle_attr_string (child, "session-params", BF_JINGLE_MAX_STRING, &session,
                                     error)
          || !required_string (child, "tag", MAX_TOKEN, &tag, error))
        return FALSE;
      BfJingleCrypto *c = g_new0 (BfJingleCrypto, 1);
      c->crypto_suite = g_strdup (suite);
      c->key_params = g_strdup (key);
      c->session_params = g_strdup (session);
      c->tag = g_strdup (tag);
      g_ptr_array_add (rtp->crypto, c);
    }
  return TRUE;
}

/* --- XEP-0167 description --- */

static BfJingleRtpDescription *
parse_rtp (const BfStanza *el, GError **error)
{
  const char *media;
  guint64 ssrc;
  gboolean has_ssrc;
  /* §4: "The <description/> element MUST possess a 'media' attribute". */
  if (!required_string (el, "media", MAX_TOKEN, &media, error)
      || !bf_jingle_attr_uint (el, "ssrc", 0, G_MAXUINT32, &ssrc, &has_ssrc, error))
    return NULL;
  g_autoptr (BfJingleRtpDescription) rtp = bf_jingle_rtp_description_new (media);
  rtp->has_ssrc = has_ssrc;
  rtp->ssrc = has_ssrc ? (guint32) ssrc : 0;

  gboolean have_bandwidth = FALSE;
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      gboolean ok = TRUE;
      if (is_el (child, "payload-type", BF_NS_JINGLE_RTP))
        ok = parse_payload_type (child, rtp, error);
      else if (is_el (child, "rtcp-fb", BF_NS_JINGLE_RTCP_FB))
        ok = parse_rtcp_fb (child, rtp->rtcp_fb, error);
      else if (is_el (child, "rtcp-fb-trr-int", BF_NS_JINGLE_RTCP_FB))
        ok = parse_trr_int (child, &rtp->has_trr_int, &rtp->trr_int, error);
      else if (is_el (child, "rtp-hdrext", BF_NS_JINGLE_HDREXT))
        ok = parse_hdrext (child, rtp, error);
      else if (is_el (child, "extmap-allow-mixed", BF_NS_JINGLE_HDREXT))
        rtp->extmap_allow_mixed = TRUE;
      else if (is_el (child, "source", BF_NS_JINGLE_SSMA))
        ok = parse_source (child, rtp, error);
      else if (is_el (child, "ssrc-group", BF_NS_JINGLE_SSMA))
        ok = parse_ssrc_group (child, rtp, error);
      else if (is_el (child, "rtcp-mux", BF_NS_JINGLE_RTP))
        rtp->rtcp_mux = TRUE;
      else if (is_el (child, "rtcp-reduced-size", BF_NS_JINGLE_RTP))
        rtp->rtcp_reduced_size = TRUE;
      else if (is_el (child, "bandwidth", BF_NS_JINGLE_RTP) && !have_bandwidth)
        {
          const char *type;
          if (!required_string (child, "type", MAX_TOKEN, &type, error))
            return NULL;
          g_autofree char *value = strip_dup (bf_stanza_get_text (child));
          if (strlen (value) > BF_JINGLE_MAX_STRING)
            {
              bf_jingle_bad_request (error, "<bandwidth/> is too long");
              return NULL;
            }
          rtp->bandwidth_type = g_strdup (type);
          rtp->bandwidth = g_steal_pointer (&value);
          have_bandwidth = TRUE;
        }
      else if (is_el (child, "encryption", BF_NS_JINGLE_RTP) && !rtp->has_encryption)
        ok = parse_encryption (child, rtp, error);
      if (!ok)
        return NULL;
    }
  return g_steal_pointer (&rtp);
}

/* --- XEP-0176 / RFC 8445 --- */

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/" */
static gboolean
ice_chars (const char *s)
{
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && *s != '+' && *s != '/')
      return FALSE;
  return TRUE;
}

gboolean
bf_jingle_check_ice_credentials (const char *ufrag, const char *pwd, GError **error)
{
  /* XEP-0176 §5.3 sends both whenever candidates are sent, but a
   * transport-info naming only the ufrag (the ICE generation, as StanzaJS
   * writes it) is unambiguous: accepted.  A pwd alone is not.  Whoever needs
   * credentials (an offer, an answer) checks that both are there. */
  if (ufrag == NULL && pwd != NULL)
    return bf_jingle_bad_request (error, "ICE-UDP transport has 'pwd' without 'ufrag'");
  if (ufrag == NULL)
    return TRUE;
  /* RFC 8445 §5.3: at least 24 bits of randomness in the ufrag (4 ice-chars)
   * and 128 in the password (22 ice-chars); RFC 8839 §5.4 caps both at 256. */
  gsize ul = strlen (ufrag), pl = pwd ? strlen (pwd) : 22;
  if (ul < 4 || ul > 256)
    return bf_jingle_bad_request (error, "ICE ufrag must be 4 to 256 characters, not %"
                                  G_GSIZE_FORMAT, ul);
  if (pl < 22 || pl > 256)
    return bf_jingle_bad_request (error, "ICE pwd must be 22 to 256 characters, not %"
                                  G_GSIZE_FORMAT, pl);
  if (!ice_chars (ufrag) || (pwd && !ice_chars (pwd)))
    return bf_jingle_bad_request (error, "ICE ufrag and pwd may hold only letters, digits, "
                                  "'+' and '/'");
  return TRUE;
}

static gboolean
parse_candidate (const BfStanza *el, BfJingleIceTransport *ice, GError **error)
{
  guint64 component, generation = 0, port, priority, rel_port = 0, network = 0;
  gboolean has_rel_port, has_network;
  const char *foundation, *id, *ip, *protocol, *type_s, *rel_addr, *tcptype;

  if (ice->candidates->len >= BF_JINGLE_MAX_CANDIDATES)
    return too_many (error, "candidates", BF_JINGLE_MAX_CANDIDATES, "transport");
  /* RFC 8445 §5.1.1.3 components are 1-256; priority is 32 bits (§5.1.2). */
  if (!required_uint (el, "component", 1, 256, &component, error)
      || !required_string (el, "foundation", MAX_TOKEN, &foundation, error)
      || !bf_jingle_attr_uint (el, "generation", 0, G_MAXUINT32, &generation, NULL, error)
      || !bf_jingle_attr_string (el, "id", MAX_TOKEN, &id, error)
      || !required_string (el, "ip", BF_JINGLE_MAX_STRING, &ip, error)
      || !required_uint (el, "port", 0, G_MAXUINT16, &port, error)
      || !required_uint (el, "priority", 0, G_MAXUINT32, &priority, error)
      || !required_string (el, "protocol", MAX_TOKEN, &protocol, error)
      || !required_string (el, "type", MAX_TOKEN, &type_s, error)
      || !bf_jingle_attr_string (el, "rel-addr", BF_JINGLE_MAX_STRING, &rel_addr, error)
      || !bf_jingle_attr_uint (el, "rel-port", 0, G_MAXUINT16, &rel_port, &has_rel_port, error)
      || !bf_jingle_attr_uint (el, "network", 0, G_MAXUINT32, &network, &has_network, error)
      || !bf_jingle_attr_string (el, "tcptype", MAX_TOKEN, &tcptype, error))
    return FALSE;

  if (!valid_ip (ip))
    return bf_jingle_bad_request (error, "candidate ip '%.64s' is not an IPv4 or IPv6 address", ip);
  if (rel_addr && !valid_ip (rel_addr))
    return bf_jingle_bad_request (error, "candidate rel-addr '%.64s' is not an IPv4 or IPv6 "
                                  "address", rel_addr);
  g_autofree char *proto = g_ascii_strdown (protocol, -1);
  if (strcmp (proto, "udp") != 0 && strcmp (proto, "tcp") != 0)
    return bf_jingle_bad_request (error, "candidate protocol must be udp or tcp, not '%s'",
                                  protocol);
  BfJingleCandidateType type_v;
  if (!bf_jingle_candidate_type_from_string (type_s, &type_v))
    return bf_jingle_bad_request (error, "unknown candidate type '%s'", type_s);
  if (tcptype && strcmp (tcptype, "active") != 0 && strcmp (tcptype, "passive") != 0
      && strcmp (tcptype, "so") != 0)
    return bf_jingle_bad_request (error, "unknown candidate tcptype '%s'", tcptype);

  /* The bounds above (MAX_TOKEN, valid_ip) are the type's. */
  G_STATIC_ASSERT (MAX_TOKEN <= BF_JINGLE_CANDIDATE_TOKEN_MAX);
  G_STATIC_ASSERT (VALID_IP_MAX <= BF_JINGLE_CANDIDATE_ADDRESS_MAX);
  BfJingleCandidate *c = bf_jingle_ice_add_candidate (ice, (guint) component, foundation, ip,
                                                      (guint16) port, (guint32) priority, proto,
                                                      type_v);
  c->generation = (guint32) generation;
  if (id)
    g_strlcpy (c->id, id, sizeof c->id);
  if (rel_addr)
    g_strlcpy (c->rel_addr, rel_addr, sizeof c->rel_addr);
  c->rel_port = has_rel_port ? (gint) rel_port : -1;
  c->network = has_network ? (gint64) network : -1;
  if (tcptype)
    g_strlcpy (c->tcptype, tcptype, sizeof c->tcptype);
  return TRUE;
}

/* --- XEP-0320 --- */

static const struct {
  const char *name;
  guint len;
} fingerprint_hashes[] = {
  /* RFC 8122 §5: the IANA textual names; MD2 and MD5 are not to be used. */
  { "sha-1", 20 }, { "sha-224", 28 }, { "sha-256", 32 }, { "sha-384", 48 }, { "sha-512", 64 },
};

gboolean
bf_jingle_check_fingerprint (const char *hash, const char *value, GError **error)
{
  guint want = 0;
  for (guint i = 0; hash && i < G_N_ELEMENTS (fingerprint_hashes); i++)
    if (g_ascii_strcasecmp (hash, fingerprint_hashes[i].name) == 0)
      want = fingerprint_hashes[i].len;
  if (want == 0)
    return bf_jingle_bad_request (error, "unsupported fingerprint hash '%.64s'",
                                  hash ? hash : "");
  /* RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX); lower case accepted. */
  const char *p = value;
  guint n = 0;
  for (;;)
    {
      if (!g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]))
        return bf_jingle_bad_request (error, "fingerprint must be hex bytes separated by ':'");
      n++;
      p += 2;
      if (*p == '\0')
        break;
      if (*p != ':')
        return bf_jingle_bad_request (error, "fingerprint must be hex bytes separated by ':'");
      p++;
    }
  if (n != want)
    return bf_jingle_bad_request (error, "a %s fingerprint has %u bytes, not %u", hash, want, n);
  return TRUE;
}

static gboolean
parse_fingerprint (const BfStanza *el, BfJingleIceTransport *ice, GError **error)
{
  const char *hash, *setup_s;
  if (!required_string (el, "hash", MAX_TOKEN, &hash, error)
      || !bf_jingle_attr_string (el, "setup", MAX_TOKEN, &setup_s, error))
    return FALSE;
  BfJingleSetup setup = BF_JINGLE_SETUP_UNSET;
  if (setup_s == NULL)
    setup = BF_JINGLE_SETUP_UNSET;
  else if (strcmp (setup_s, "actpass") == 0)
    setup = BF_JINGLE_SETUP_ACTPASS;
  else if (strcmp (setup_s, "active") == 0)
    setup = BF_JINGLE_SETUP_ACTIVE;
  else if (strcmp (setup_s, "passive") == 0)
    setup = BF_JINGLE_SETUP_PASSIVE;
  else
    /* "holdconn" is in XEP-0320's schema "only for completeness". */
    return bf_jingle_bad_request (error, "fingerprint setup must be actpass, active or passive, "
                                  "not '%s'", setup_s);
  /* The examples of XEP-0320 wrap the value in whitespace. */
  g_autofree char *value = strip_dup (bf_stanza_get_text (el));
  if (strlen (value) > 64 * 3)
    return bf_jingle_bad_request (error, "fingerprint is too long");
  if (!bf_jingle_check_fingerprint (hash, value, error))
    return FALSE;
  g_autofree char *hash_l = g_ascii_strdown (hash, -1);
  g_autofree char *value_u = g_ascii_strup (value, -1);
  bf_jingle_ice_set_fingerprint (ice, hash_l, setup, value_u);
  return TRUE;
}

static BfJingleIceTransport *
parse_ice (const BfStanza *el, GError **error)
{
  const char *ufrag, *pwd;
  if (!bf_jingle_attr_string (el, "ufrag", 256, &ufrag, error)
      || !bf_jingle_attr_string (el, "pwd", 256, &pwd, error)
      || !bf_jingle_check_ice_credentials (ufrag, pwd, error))
    return NULL;
  g_autoptr (BfJingleIceTransport) ice = bf_jingle_ice_transport_new (ufrag, pwd);
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      if (is_el (child, "candidate", BF_NS_JINGLE_ICE_UDP))
        {
          if (!parse_candidate (child, ice, error))
            return NULL;
        }
      else if (is_el (child, "remote-candidate", BF_NS_JINGLE_ICE_UDP)
               && !ice->has_remote_candidate)
        {
          guint64 component, port;
          const char *ip;
          if (!required_uint (child, "component", 1, 256, &component, error)
              || !required_string (child, "ip", BF_JINGLE_MAX_STRING, &ip, error)
              || !required_uint (child, "port", 0, G_MAXUINT16, &port, error))
            return NULL;
          if (!valid_ip (ip))
            {
              bf_jingle_bad_request (error, "remote-candidate ip '%.64s' is not an IPv4 or IPv6 "
                                     "address", ip);
              return NULL;
            }
          ice->has_remote_candidate = TRUE;
          ice->remote_component = (guint) component;
          ice->remote_ip = g_strdup (ip);
          ice->remote_port = (guint16) port;
        }
      /* One fingerprint is used (StanzaJS takes the first too). */
      else if (is_el (child, "fingerprint", BF_NS_JINGLE_DTLS) && ice->fingerprint == NULL)
        {
          if (!parse_fingerprint (child, ice, error))
            return NULL;
        }
    }
  return g_steal_pointer (&ice);
}

/* --- XEP-0166 §7.3 content --- */

static BfJingleContent *
parse_content (const BfStanza *el, gboolean *has_senders, GError **error)
{
  const char *creator_s, *name, *senders_s, *disposition;
  if (!bf_jingle_attr_string (el, "creator", MAX_TOKEN, &creator_s, error)
      || !required_string (el, "name", BF_JINGLE_MAX_STRING, &name, error)
      || !bf_jingle_attr_string (el, "senders", MAX_TOKEN, &senders_s, error)
      || !bf_jingle_attr_string (el, "disposition", MAX_TOKEN, &disposition, error))
    return NULL;
  /* §7.3: creator is REQUIRED, yet "the default is initiator". */
  BfJingleCreator creator = BF_JINGLE_CREATOR_INITIATOR;
  if (creator_s && !bf_jingle_creator_from_string (creator_s, &creator))
    {
      bf_jingle_bad_request (error, "content creator must be initiator or responder, not '%s'",
                             creator_s);
      return NULL;
    }
  BfJingleSenders senders = BF_JINGLE_SENDERS_BOTH;
  if (senders_s && !bf_jingle_senders_from_string (senders_s, &senders))
    {
      bf_jingle_bad_request (error, "content senders must be both, initiator, responder or "
                             "none, not '%s'", senders_s);
      return NULL;
    }
  *has_senders = senders_s != NULL;

  g_autoptr (BfJingleContent) content = bf_jingle_content_new (creator, name);
  content->senders = senders;
  if (disposition && *disposition && strcmp (disposition, "session") != 0)
    content->disposition = g_strdup (disposition);

  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *cname = bf_stanza_get_name (child);
      const char *ns = bf_stanza_get_ns (child);
      if (strcmp (cname, "description") == 0
          && content->description_kind == BF_JINGLE_DESCRIPTION_NONE)
        {
          if (ns && strlen (ns) > BF_JINGLE_MAX_STRING)
            {
              bf_jingle_bad_request (error, "description namespace is too long");
              return NULL;
            }
          content->description_ns = g_strdup (ns);
          if (g_strcmp0 (ns, BF_NS_JINGLE_RTP) == 0)
            {
              content->rtp = parse_rtp (child, error);
              if (content->rtp == NULL)
                return NULL;
              content->description_kind = BF_JINGLE_DESCRIPTION_RTP;
            }
          else
            content->description_kind = BF_JINGLE_DESCRIPTION_UNSUPPORTED;
        }
      else if (strcmp (cname, "transport") == 0
               && content->transport_kind == BF_JINGLE_TRANSPORT_NONE)
        {
          if (ns && strlen (ns) > BF_JINGLE_MAX_STRING)
            {
              bf_jingle_bad_request (error, "transport namespace is too long");
              return NULL;
            }
          content->transport_ns = g_strdup (ns);
          if (g_strcmp0 (ns, BF_NS_JINGLE_ICE_UDP) == 0)
            {
              content->ice = parse_ice (child, error);
              if (content->ice == NULL)
                return NULL;
              content->transport_kind = BF_JINGLE_TRANSPORT_ICE_UDP;
            }
          else
            content->transport_kind = BF_JINGLE_TRANSPORT_UNSUPPORTED;
        }
    }
  return g_steal_pointer (&content);
}

/* --- XEP-0166 §7.4 reason --- */

BfJingleReason *
bf_jingle_reason_parse (const BfStanza *el, GError **error)
{
  g_autoptr (BfJingleReason) reason = g_new0 (BfJingleReason, 1);
  gboolean have_condition = FALSE;
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *cname = bf_stanza_get_name (child);
      const char *ns = bf_stanza_get_ns (child);
      if (g_strcmp0 (ns, BF_NS_JINGLE) != 0)
        {
          /* "an element qualified by some other namespace that provides
           * more detailed machine-readable information" */
          if (reason->detail_name == NULL)
            {
              if (strlen (cname) > MAX_TOKEN || (ns && strlen (ns) > BF_JINGLE_MAX_STRING))
                {
                  bf_jingle_bad_request (error, "reason detail element is too long");
                  return NULL;
                }
              reason->detail_name = g_strdup (cname);
              reason->detail_ns = g_strdup (ns);
            }
          continue;
        }
      if (strcmp (cname, "text") == 0)
        {
          if (reason->text)
            continue;
          const char *text = bf_stanza_get_text (child);
          if (strlen (text) > BF_JINGLE_MAX_TEXT)
            {
              bf_jingle_bad_request (error, "reason text is longer than %u bytes",
                                     BF_JINGLE_MAX_TEXT);
              return NULL;
            }
          reason->text = g_strdup (text);
          continue;
        }
      BfJingleReasonCondition condition;
      if (!bf_jingle_reason_from_string (cname, &condition))
        {
          bf_jingle_bad_request (error, "unknown reason condition <%.64s/>", cname);
          return NULL;
        }
      if (have_condition)
        continue;
      have_condition = TRUE;
      reason->condition = condition;
      if (condition == BF_JINGLE_REASON_ALTERNATIVE_SESSION)
        {
          BfStanza *sid = bf_stanza_find_child (child, "sid", BF_NS_JINGLE);
          if (sid)
            {
              g_autofree char *v = strip_dup (bf_stanza_get_text (sid));
              if (*v == '\0' || strlen (v) > BF_JINGLE_MAX_SID)
                {
                  bf_jingle_bad_request (error, "alternative-session <sid/> must be 1 to %u bytes",
                                         BF_JINGLE_MAX_SID);
                  return NULL;
                }
              reason->alternative_sid = g_steal_pointer (&v);
            }
        }
    }
  /* §7.4: "The <reason/> element MUST contain an element that provides
   * machine-readable information about the condition". */
  if (!have_condition)
    {
      bf_jingle_bad_request (error, "<reason/> without a condition");
      return NULL;
    }
  return g_steal_pointer (&reason);
}


/* --- XEP-0338 --- */

static gboolean
parse_group (const BfStanza *el, BfJingle *jingle, GError **error)
{
  const char *semantics;
  if (jingle->groups->len >= BF_JINGLE_MAX_GROUPS)
    return too_many (error, "groups", BF_JINGLE_MAX_GROUPS, "jingle");
  if (!required_string (el, "semantics", MAX_TOKEN, &semantics, error))
    return FALSE;
  BfJingleGroup *g = bf_jingle_add_group (jingle, semantics);
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *name;
      if (strcmp (bf_stanza_get_name (child), "content") != 0)
        continue;
      if (g->contents->len >= BF_JINGLE_MAX_GROUP_CONTENTS)
        return too_many (error, "contents", BF_JINGLE_MAX_GROUP_CONTENTS, "group");
      if (!required_string (child, "name", BF_JINGLE_MAX_STRING, &name, error))
        return FALSE;
      g_ptr_array_add (g->contents, g_strdup (name));
    }
  return TRUE;
}

/* --- XEP-0167 §8 --- */

static const struct {
  const char *name;
  BfJingleInfoKind kind;
} info_names[] = {
  { "active", BF_JINGLE_INFO_ACTIVE },
  { "hold", BF_JINGLE_INFO_HOLD },
  { "unhold", BF_JINGLE_INFO_UNHOLD },
  { "mute", BF_JINGLE_INFO_MUTE },
  { "unmute", BF_JINGLE_INFO_UNMUTE },
  { "ringing", BF_JINGLE_INFO_RINGING },
};

static gboolean
parse_info (const BfStanza *el, BfJingle *jingle, GError **error)
{
  const char *cname = bf_stanza_get_name (el);
  const char *ns = bf_stanza_get_ns (el);
  BfJingleInfoKind kind = BF_JINGLE_INFO_NONE;
  if (g_strcmp0 (ns, BF_NS_JINGLE_RTP_INFO) == 0 || g_strcmp0 (ns, BF_NS_JINGLE_RTP_INFO_OLD) == 0)
    for (guint i = 0; i < G_N_ELEMENTS (info_names); i++)
      if (strcmp (info_names[i].name, cname) == 0)
        kind = info_names[i].kind;
  if (kind == BF_JINGLE_INFO_NONE)
    {
      /* XEP-0166 §6.8: a payload not understood gets unsupported-info. */
      g_set_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_UNSUPPORTED_INFO,
                   "unsupported session-info payload <%.64s xmlns='%.128s'/>", cname,
                   ns ? ns : "");
      return FALSE;
    }
  jingle->info.kind = kind;
  if (kind == BF_JINGLE_INFO_MUTE || kind == BF_JINGLE_INFO_UNMUTE)
    {
      const char *creator_s, *name;
      if (!bf_jingle_attr_string (el, "creator", MAX_TOKEN, &creator_s, error)
          || !bf_jingle_attr_string (el, "name", BF_JINGLE_MAX_STRING, &name, error))
        return FALSE;
      BfJingleCreator creator = BF_JINGLE_CREATOR_INITIATOR;
      if (creator_s && !bf_jingle_creator_from_string (creator_s, &creator))
        return bf_jingle_bad_request (error, "<%s/> creator must be initiator or responder, "
                                      "not '%s'", cname, creator_s);
      jingle->info.creator = creator;
      jingle->info.name = g_strdup (name);
    }
  return TRUE;
}

/* --- per-action rules (XEP-0166 §7.2) --- */

static gboolean
check_action (const BfJingle *j, const GArray *has_senders, GError **error)
{
  const char *action = bf_jingle_action_to_string (j->action);
  gboolean need_content = FALSE, need_description = FALSE, need_transport = FALSE;
  switch (j->action)
    {
    case BF_JINGLE_ACTION_SESSION_INITIATE:
    case BF_JINGLE_ACTION_SESSION_ACCEPT:
      /* §6.2 and §7.2.8: each content has one description and one transport. */
      need_content = need_description = need_transport = TRUE;
      break;
    case BF_JINGLE_ACTION_CONTENT_ADD:
    case BF_JINGLE_ACTION_DESCRIPTION_INFO:
      need_content = need_description = TRUE;
      break;
    case BF_JINGLE_ACTION_TRANSPORT_INFO:
    case BF_JINGLE_ACTION_TRANSPORT_REPLACE:
    case BF_JINGLE_ACTION_TRANSPORT_ACCEPT:
      /* a content without description is fine here (XEP-0176 §5.8) */
      need_content = need_transport = TRUE;
      break;
    case BF_JINGLE_ACTION_CONTENT_ACCEPT:
    case BF_JINGLE_ACTION_CONTENT_MODIFY:
    case BF_JINGLE_ACTION_CONTENT_REJECT:
    case BF_JINGLE_ACTION_CONTENT_REMOVE:
    case BF_JINGLE_ACTION_TRANSPORT_REJECT:
    case BF_JINGLE_ACTION_SECURITY_INFO:
      need_content = TRUE;
      break;
    case BF_JINGLE_ACTION_SESSION_INFO:
    case BF_JINGLE_ACTION_SESSION_TERMINATE:
    default:
      break;
    }
  if (need_content && j->contents->len == 0)
    return bf_jingle_bad_request (error, "%s without a <content/>", action);

  gboolean any_session = FALSE;
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (need_description && c->description_kind == BF_JINGLE_DESCRIPTION_NONE)
        return bf_jingle_bad_request (error, "%s: content '%s' has no <description/>", action,
                                      c->name);
      if (need_transport && c->transport_kind == BF_JINGLE_TRANSPORT_NONE)
        return bf_jingle_bad_request (error, "%s: content '%s' has no <transport/>", action,
                                      c->name);
      /* §7.3: senders is REQUIRED in content-modify. */
      if (j->action == BF_JINGLE_ACTION_CONTENT_MODIFY
          && !g_array_index (has_senders, gboolean, i))
        return bf_jingle_bad_request (error, "content-modify: content '%s' has no 'senders'",
                                      c->name);
      if (c->disposition == NULL)
        any_session = TRUE;
      /* §7.3: creator and name identify a content. */
      for (guint k = 0; k < i; k++)
        {
          const BfJingleContent *o = g_ptr_array_index (j->contents, k);
          if (o->creator == c->creator && strcmp (o->name, c->name) == 0)
            return bf_jingle_bad_request (error, "content '%s' appears twice", c->name);
        }
    }
  /* §7.2.10: at least one content of a session-initiate has the
   * disposition "session". */
  if (j->action == BF_JINGLE_ACTION_SESSION_INITIATE && !any_session)
    return bf_jingle_bad_request (error, "session-initiate without a content of disposition "
                                  "'session'");
  return TRUE;
}

static gboolean
check_jid_attr (const BfStanza *el, const char *attr, char **out, GError **error)
{
  const char *v;
  if (!bf_jingle_attr_string (el, attr, MAX_JID, &v, error))
    return FALSE;
  if (v == NULL)
    return TRUE;
  if (!bf_jid_split (v, NULL, NULL, NULL))
    return bf_jingle_bad_request (error, "'%s' is not a valid JID", attr);
  *out = g_strdup (v);
  return TRUE;
}

BfJingle *
bf_jingle_parse (const BfStanza *iq, GError **error)
{
  g_return_val_if_fail (iq != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (strcmp (bf_stanza_get_name (iq), "iq") != 0
      || g_strcmp0 (bf_stanza_get_attr (iq, "type"), "set") != 0)
    {
      bf_jingle_bad_request (error, "a Jingle request is an <iq type='set'/>");
      return NULL;
    }
  BfStanza *el = bf_stanza_find_child (iq, "jingle", BF_NS_JINGLE);
  if (el == NULL)
    {
      bf_jingle_bad_request (error, "no <jingle xmlns='" BF_NS_JINGLE "'/> element");
      return NULL;
    }

  /* §7.2: an unknown action is ignored and answered with bad-request. */
  const char *action_s = bf_stanza_get_attr (el, "action");
  BfJingleAction action;
  if (action_s == NULL)
    {
      bf_jingle_bad_request (error, "<jingle/> without an 'action'");
      return NULL;
    }
  if (!bf_jingle_action_from_string (action_s, &action))
    {
      bf_jingle_bad_request (error, "unknown Jingle action '%.64s'", action_s);
      return NULL;
    }
  const char *sid;
  if (!required_string (el, "sid", BF_JINGLE_MAX_SID, &sid, error))
    return NULL;

  g_autoptr (BfJingle) j = bf_jingle_new (action, sid);
  if (!check_jid_attr (el, "initiator", &j->initiator, error)
      || !check_jid_attr (el, "responder", &j->responder, error))
    return NULL;

  g_autoptr (GArray) has_senders = g_array_new (FALSE, FALSE, sizeof (gboolean));
  gboolean have_info = FALSE;
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *cname = bf_stanza_get_name (child);
      const char *ns = bf_stanza_get_ns (child);
      if (g_strcmp0 (ns, BF_NS_JINGLE) == 0)
        {
          if (strcmp (cname, "content") == 0)
            {
              if (j->contents->len >= BF_JINGLE_MAX_CONTENTS)
                {
                  too_many (error, "contents", BF_JINGLE_MAX_CONTENTS, "jingle");
                  return NULL;
                }
              gboolean s = FALSE;
              BfJingleContent *c = parse_content (child, &s, error);
              if (c == NULL)
                return NULL;
              g_ptr_array_add (j->contents, c);
              g_array_append_val (has_senders, s);
            }
          else if (strcmp (cname, "reason") == 0 && j->reason == NULL)
            {
              j->reason = bf_jingle_reason_parse (child, error);
              if (j->reason == NULL)
                return NULL;
            }
        }
      else if (strcmp (cname, "group") == 0 && g_strcmp0 (ns, BF_NS_JINGLE_GROUPING) == 0)
        {
          if (!parse_group (child, j, error))
            return NULL;
        }
      else if (action == BF_JINGLE_ACTION_SESSION_INFO && !have_info)
        {
          /* §6.8: the payload of a session-info is any element of another
           * namespace. */
          if (!parse_info (child, j, error))
            return NULL;
          have_info = TRUE;
        }
    }

  if (!check_action (j, has_senders, error))
    return NULL;
  return g_steal_pointer (&j);
}
