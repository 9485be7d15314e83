/* Unit tests: the Jingle data model, parser and builder (jingle/jingle.h).
 *
 * The XEPs' own examples (copied verbatim from the specification texts),
 * real client output (a Chromium offer as StanzaJS writes it, a webrtcbin
 * style offer, trickled candidates without generation/id/network), every
 * limit and malformed value with the exact error it gets, and round trips:
 * parse (serialize (build (x))) == x. */
#include <string.h>
#include <glib.h>

#include <belfry/stanza.h>
#include "xmlstream.h"
#include "jingle.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='t'>"

/* --- helpers --- */

static void
collect (gpointer data, BfStanza *stanza)
{
  g_ptr_array_add (data, stanza);
}

/* Parses one stanza with the core's stream parser. */
static BfStanza *
parse_xml (const char *xml)
{
  static const BfXmlStreamCallbacks cb = { NULL, collect, NULL };
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &cb, got);
  g_autoptr (GError) error = NULL;
  gboolean ok = bf_xml_stream_feed (parser, HEADER, strlen (HEADER), &error)
                && bf_xml_stream_feed (parser, xml, strlen (xml), &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (got->len, ==, 1);
  return g_ptr_array_steal_index (got, 0);
}

/* build → serialize → stream parser → parse must give the same model. */
static void
assert_round_trip (const BfJingle *j)
{
  g_autoptr (BfStanza) built = bf_jingle_build (j, "romeo@montague.lit/orchard",
                                                "juliet@capulet.lit/balcony", "rt1");
  g_autofree char *xml = bf_stanza_to_string (built);
  g_autoptr (BfStanza) again = parse_xml (xml);
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJingle) j2 = bf_jingle_parse (again, &error);
  if (error)
    g_printerr ("%s\n", xml);
  g_assert_no_error (error);
  g_assert_true (bf_jingle_equal (j, j2));
  /* Building is deterministic. */
  g_autoptr (BfStanza) built2 = bf_jingle_build (j2, "romeo@montague.lit/orchard",
                                                 "juliet@capulet.lit/balcony", "rt1");
  g_autofree char *xml2 = bf_stanza_to_string (built2);
  g_assert_cmpstr (xml, ==, xml2);
}

static BfJingle *
parse_ok (const char *xml)
{
  g_autoptr (BfStanza) iq = parse_xml (xml);
  g_autoptr (GError) error = NULL;
  BfJingle *j = bf_jingle_parse (iq, &error);
  g_assert_no_error (error);
  g_assert_nonnull (j);
  assert_round_trip (j);
  return j;
}

/* The parse fails with @code, the message holds @substring, and the error
 * reply carries the matching conditions. */
static void
assert_parse_error (const char *xml, BfJingleErrorCode code, const char *substring)
{
  g_autoptr (BfStanza) iq = parse_xml (xml);
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJingle) j = bf_jingle_parse (iq, &error);
  g_assert_null (j);
  g_assert_error (error, BF_JINGLE_ERROR, (gint) code);
  if (substring && strstr (error->message, substring) == NULL)
    g_error ("error '%s' does not mention '%s'", error->message, substring);

  BfJingleErrorInfo info;
  bf_jingle_error_get_info (error, &info);
  g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, "error");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, bf_stanza_get_attr (iq, "id"));
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, bf_stanza_get_attr (iq, "from"));
  BfStanza *err = bf_stanza_find_child (reply, "error", NULL);
  g_assert_nonnull (err);
  g_assert_cmpstr (bf_stanza_get_attr (err, "type"), ==, info.type);
  g_assert_nonnull (bf_stanza_find_child (err, info.condition, BF_NS_STANZAS));
  g_assert_cmpstr (bf_stanza_find_child_text (err, "text", BF_NS_STANZAS), ==, error->message);
  if (info.jingle_condition)
    g_assert_nonnull (bf_stanza_find_child (err, info.jingle_condition, BF_NS_JINGLE_ERRORS));
  else
    g_assert_null (bf_stanza_find_child (err, NULL, BF_NS_JINGLE_ERRORS));
}

static void
assert_bad_request (const char *xml, const char *substring)
{
  assert_parse_error (xml, BF_JINGLE_ERROR_BAD_REQUEST, substring);
}

static BfJingleContent *
content (const BfJingle *j, guint i)
{
  g_assert_cmpuint (i, <, j->contents->len);
  return g_ptr_array_index (j->contents, i);
}

static BfJinglePayloadType *
pt (const BfJingleRtpDescription *rtp, guint i)
{
  g_assert_cmpuint (i, <, rtp->payload_types->len);
  return g_ptr_array_index (rtp->payload_types, i);
}

static BfJingleCandidate *
cand (const BfJingleIceTransport *ice, guint i)
{
  g_assert_cmpuint (i, <, ice->candidates->len);
  return g_ptr_array_index (ice->candidates, i);
}

static const char *
param (const GPtrArray *params, const char *name)
{
  for (guint i = 0; i < params->len; i++)
    {
      const BfJingleParameter *p = g_ptr_array_index (params, i);
      if (strcmp (p->name, name) == 0)
        return p->value ? p->value : "";
    }
  return NULL;
}

static void
assert_pt (const BfJinglePayloadType *p, guint id, const char *name, guint32 clockrate,
           guint channels)
{
  g_assert_cmpuint (p->id, ==, id);
  g_assert_cmpstr (p->name, ==, name);
  g_assert_cmpuint (p->clockrate, ==, clockrate);
  g_assert_cmpuint (p->channels, ==, channels);
}

/* The two candidates every XEP-0166/0167/0176 initiation carries. */
static void
assert_romeo_candidates (const BfJingleIceTransport *ice)
{
  g_assert_cmpstr (ice->ufrag, ==, "8hhy");
  g_assert_cmpstr (ice->pwd, ==, "asd88fgpdd777uzjYhagZg");
  g_assert_cmpuint (ice->candidates->len, ==, 2);
  const BfJingleCandidate *c = cand (ice, 0);
  g_assert_cmpuint (c->component, ==, 1);
  g_assert_cmpstr (c->foundation, ==, "1");
  g_assert_cmpuint (c->generation, ==, 0);
  g_assert_cmpstr (c->id, ==, "el0747fg11");
  g_assert_cmpstr (c->ip, ==, "10.0.1.1");
  g_assert_cmpint (c->network, ==, 1);
  g_assert_cmpuint (c->port, ==, 8998);
  g_assert_cmpuint (c->priority, ==, 2130706431);
  g_assert_cmpstr (c->protocol, ==, "udp");
  g_assert_cmpint (c->type, ==, BF_JINGLE_CANDIDATE_HOST);
  g_assert_cmpstr (c->rel_addr, ==, "");
  g_assert_cmpint (c->rel_port, ==, -1);
  c = cand (ice, 1);
  g_assert_cmpstr (c->foundation, ==, "2");
  g_assert_cmpstr (c->id, ==, "y3s2b30v3r");
  g_assert_cmpstr (c->ip, ==, "192.0.2.3");
  g_assert_cmpuint (c->port, ==, 45664);
  g_assert_cmpuint (c->priority, ==, 1694498815);
  g_assert_cmpint (c->type, ==, BF_JINGLE_CANDIDATE_SRFLX);
  g_assert_cmpstr (c->rel_addr, ==, "10.0.1.1");
  g_assert_cmpint (c->rel_port, ==, 8998);
}

/* The audio offer of XEP-0166 Example 4 and XEP-0167 Example 1. */
static void
assert_romeo_audio (const BfJingleRtpDescription *rtp, gboolean with_pcmu)
{
  g_assert_cmpstr (rtp->media, ==, "audio");
  g_assert_false (rtp->has_ssrc);
  g_assert_cmpuint (rtp->payload_types->len, ==, with_pcmu ? 6 : 5);
  guint i = 0;
  assert_pt (pt (rtp, i++), 96, "speex", 16000, 1);
  assert_pt (pt (rtp, i++), 97, "speex", 8000, 1);
  assert_pt (pt (rtp, i++), 18, "G729", 0, 1);
  if (with_pcmu)
    assert_pt (pt (rtp, i++), 0, "PCMU", 0, 1);
  assert_pt (pt (rtp, i++), 103, "L16", 16000, 2);
  assert_pt (pt (rtp, i++), 98, "x-ISAC", 8000, 1);
}

/* Wraps fragments into a request from Romeo to Juliet. */
#define IQ_OPEN(action) \
  "<iq from='romeo@montague.lit/orchard' id='t1' to='juliet@capulet.lit/balcony' type='set'>" \
  "<jingle xmlns='urn:xmpp:jingle:1' action='" action "' " \
  "initiator='romeo@montague.lit/orchard' sid='a73sjjvkla37jfea'>"
#define IQ_CLOSE "</jingle></iq>"
#define ICE_OPEN "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' " \
                 "pwd='asd88fgpdd777uzjYhagZg' ufrag='8hhy'>"
#define ICE_EMPTY "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>"
#define RTP_OPEN "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
#define RTP_CLOSE "</description>"
#define PT0 "<payload-type id='0' name='PCMU'/>"

/* A session-initiate whose only content has @desc as its description. */
static char *
with_description (const char *desc)
{
  return g_strconcat (IQ_OPEN ("session-initiate"), "<content creator='initiator' name='c'>",
                      desc, ICE_EMPTY, "</content>", IQ_CLOSE, NULL);
}

/* ... whose description holds @inner. */
static char *
with_rtp (const char *inner)
{
  g_autofree char *desc = g_strconcat (RTP_OPEN, inner, RTP_CLOSE, NULL);
  return with_description (desc);
}

/* A transport-info whose transport holds @inner and has @attrs. */
static char *
with_transport (const char *attrs, const char *inner)
{
  return g_strconcat (IQ_OPEN ("transport-info"), "<content creator='initiator' name='c'>",
                      "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ", attrs, ">",
                      inner, "</transport></content>", IQ_CLOSE, NULL);
}

/* A transport-info with one candidate of these attributes. */
static char *
with_candidate (const char *attrs)
{
  g_autofree char *c = g_strconcat ("<candidate ", attrs, "/>", NULL);
  return with_transport ("pwd='asd88fgpdd777uzjYhagZg' ufrag='8hhy'", c);
}

#define GOOD_CANDIDATE_BUT(x) \
  "component='1' foundation='1' ip='10.0.1.1' port='8998' priority='2130706431' " \
  "protocol='udp' type='host' " x


/* --- the XEPs' examples, copied verbatim from the specification texts --- */

/* XEP-0166 Example 1, verbatim. */
static const char x0166_1[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='zid615d9'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='this-is-a-stub'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:stub:0'/>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:stub:0'/>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 2, verbatim. */
static const char x0166_2[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='rc61n59s'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-accept'\n"
  "          responder='juliet@capulet.lit/balcony'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='this-is-a-stub'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:stub:0'/>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:stub:0'/>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 3, verbatim. */
static const char x0166_3[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='le71fa63'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <success/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 4, verbatim. */
static const char x0166_4[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='ph37a419'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='96' name='speex' clockrate='16000'/>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "        <payload-type id='0' name='PCMU' />\n"
  "        <payload-type id='103' name='L16' clockrate='16000' channels='2'/>\n"
  "        <payload-type id='98' name='x-ISAC' clockrate='8000'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='asd88fgpdd777uzjYhagZg'\n"
  "                 ufrag='8hhy'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='el0747fg11'\n"
  "                   ip='10.0.1.1'\n"
  "                   network='1'\n"
  "                   port='8998'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "        <candidate component='1'\n"
  "                   foundation='2'\n"
  "                   generation='0'\n"
  "                   id='y3s2b30v3r'\n"
  "                   ip='192.0.2.3'\n"
  "                   network='1'\n"
  "                   port='45664'\n"
  "                   priority='1694498815'\n"
  "                   protocol='udp'\n"
  "                   rel-addr='10.0.1.1'\n"
  "                   rel-port='8998'\n"
  "                   type='srflx'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 6, verbatim. */
static const char x0166_6[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='yd71f495'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-accept'\n"
  "          responder='juliet@capulet.lit/balcony'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='or2ii2syr1'\n"
  "                   ip='192.0.2.1'\n"
  "                   network='0'\n"
  "                   port='3478'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 8, verbatim. */
static const char x0166_8[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='vua614d9'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <success/>\n"
  "      <text>Sorry, gotta go!</text>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 20, verbatim. */
static const char x0166_20[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='hr81fs63'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <busy/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 21, verbatim. */
static const char x0166_21[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='ky47g295'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <decline/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 22, verbatim. */
static const char x0166_22[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='ay3r2b86'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <alternative-session>\n"
  "        <sid>b84tkkwlmb48kgfb</sid>\n"
  "      </alternative-session>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 23, verbatim. */
static const char x0166_23[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='h82bs51g'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <unsupported-transports/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 24, verbatim. */
static const char x0166_24[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='pe81ga88'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <failed-transport/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 25, verbatim. */
static const char x0166_25[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='yd62vd67'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <unsupported-applications/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 26, verbatim. */
static const char x0166_26[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='kd82vs71'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <failed-application/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 27, verbatim. */
static const char x0166_27[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='hb3m59s7'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <incompatible-parameters/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 30, verbatim. */
static const char x0166_30[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='hq7rg186'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <ringing xmlns='urn:xmpp:jingle:apps:rtp:1:info'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 32, verbatim. */
static const char x0166_32[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='ug37vb25'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          sid='a73sjjvkla37jfea'/>\n"
  "</iq>";

/* XEP-0166 Example 35, verbatim. */
static const char x0166_35[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='tiw51bv9'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='this-is-a-stub'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:stub:0'/>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:stub:0'/>\n"
  "      <security xmlns='urn:xmpp:jingle:security:stub:0'/>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0166 Example 36, verbatim. */
static const char x0166_36[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='zyw6m167'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='security-info'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='xmlstream'>\n"
  "      <security xmlns='urn:xmpp:jingle:security:xtls:0'>\n"
  "        <method name='x509'/>\n"
  "      </security>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 1, verbatim. */
static const char x0167_1[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='ih28sx61'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='96' name='speex' clockrate='16000'/>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "        <payload-type id='0' name='PCMU'/>\n"
  "        <payload-type id='103' name='L16' clockrate='16000' channels='2'/>\n"
  "        <payload-type id='98' name='x-ISAC' clockrate='8000'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='asd88fgpdd777uzjYhagZg'\n"
  "                 ufrag='8hhy'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='el0747fg11'\n"
  "                   ip='10.0.1.1'\n"
  "                   network='1'\n"
  "                   port='8998'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "        <candidate component='1'\n"
  "                   foundation='2'\n"
  "                   generation='0'\n"
  "                   id='y3s2b30v3r'\n"
  "                   ip='192.0.2.3'\n"
  "                   network='1'\n"
  "                   port='45664'\n"
  "                   priority='1694498815'\n"
  "                   protocol='udp'\n"
  "                   rel-addr='10.0.1.1'\n"
  "                   rel-port='8998'\n"
  "                   type='srflx'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 3, verbatim. */
static const char x0167_3[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='i91fs6d5'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-accept'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          responder='juliet@capulet.lit/balcony'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='YH75Fviy6338Vbrhrlp8Yh'\n"
  "                 ufrag='9uB6'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='or2ii2syr1'\n"
  "                   ip='192.0.2.1'\n"
  "                   network='0'\n"
  "                   port='3478'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 5, verbatim. */
static const char x0167_5[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='nv71c396'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <security-error/>\n"
  "      <invalid-crypto xmlns='urn:xmpp:jingle:apps:rtp:errors:1'/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 8, verbatim. */
static const char x0167_8[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='yh3gr714'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <active xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 9, verbatim. */
static const char x0167_9[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='xv39z423'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <hold xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 10, verbatim. */
static const char x0167_10[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='br81gd63'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <unhold xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 11, verbatim. */
static const char x0167_11[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='hg4891f5'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <mute xmlns='urn:xmpp:jingle:apps:rtp:info:1'\n"
  "          creator='responder'\n"
  "          name='voice'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 12, verbatim. */
static const char x0167_12[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='ms91g47c'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <unmute xmlns='urn:xmpp:jingle:apps:rtp:info:1'\n"
  "            creator='responder'\n"
  "            name='voice'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 13, verbatim. */
static const char x0167_13[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='tgr515bt'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 14, verbatim. */
static const char x0167_14[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='pq6x5v37'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='description-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='webcam'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "        <payload-type id='98' name='theora' clockrate='90000'>\n"
  "          <parameter name='height' value='768'/>\n"
  "          <parameter name='width' value='1024'/>\n"
  "        </payload-type>\n"
  "      </description>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 29, verbatim. */
static const char x0167_29[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='vy3g641x'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='96' name='speex' clockrate='16000'/>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "        <payload-type id='103' name='L16' clockrate='16000' channels='2'/>\n"
  "        <payload-type id='98' name='x-ISAC' clockrate='8000'/>\n"
  "        <encryption required='1'>\n"
  "          <crypto\n"
  "              crypto-suite='AES_CM_128_HMAC_SHA1_80'\n"
  "              key-params='inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32'\n"
  "              session-params='KDR=1 UNENCRYPTED_SRTCP'\n"
  "              tag='1'/>\n"
  "        </encryption>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='asd88fgpdd777uzjYhagZg'\n"
  "                 ufrag='8hhy'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='el0747fg11'\n"
  "                   ip='10.0.1.1'\n"
  "                   network='1'\n"
  "                   port='8998'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "        <candidate component='1'\n"
  "                   foundation='2'\n"
  "                   generation='0'\n"
  "                   id='y3s2b30v3r'\n"
  "                   ip='192.0.2.3'\n"
  "                   network='1'\n"
  "                   port='45664'\n"
  "                   priority='1694498815'\n"
  "                   protocol='udp'\n"
  "                   rel-addr='10.0.1.1'\n"
  "                   rel-port='8998'\n"
  "                   type='srflx'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 33, verbatim. */
static const char x0167_33[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='ywf364b1'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-accept'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          responder='juliet@capulet.lit/balcony'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "        <encryption>\n"
  "          <crypto\n"
  "              crypto-suite='AES_CM_128_HMAC_SHA1_80'\n"
  "              key-params='inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32'\n"
  "              session-params='KDR=1;UNENCRYPTED_SRTCP'\n"
  "              tag='1'/>\n"
  "        </encryption>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='YH75Fviy6338Vbrhrlp8Yh'\n"
  "                 ufrag='9uB6'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='or2ii2syr1'\n"
  "                   ip='192.0.2.1'\n"
  "                   network='0'\n"
  "                   port='3478'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 43, verbatim. */
static const char x0167_43[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='ij6s4198'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='content-add'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='webcam'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "        <payload-type id='98' name='theora' clockrate='90000'>\n"
  "          <parameter name='height' value='600'/>\n"
  "          <parameter name='width' value='800'/>\n"
  "          <parameter name='delivery-method' value='inline'/>\n"
  "          <parameter name='configuration' value='somebase16string'/>\n"
  "          <parameter name='sampling' value='YCbCr-4:2:2'/>\n"
  "        </payload-type>\n"
  "        <payload-type id='28' name='nv' clockrate='90000'/>\n"
  "        <payload-type id='25' name='CelB' clockrate='90000'/>\n"
  "        <payload-type id='32' name='MPV' clockrate='90000'/>\n"
  "        <bandwidth type='AS'>128</bandwidth>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:0'/>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 45, verbatim. */
static const char x0167_45[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='rh49l1k4'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='content-modify'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='webcam' senders='initiator'/>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 47, verbatim. */
static const char x0167_47[] =
  "<iq from='juliet@montague.lit/balcony'\n"
  "    id='vx2s91a6'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='content-reject'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='webcam'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "        <payload-type id='101' name='H263-1998' clockrate='90000'/>\n"
  "        <payload-type id='102' name='H263-2000' clockrate='90000'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:0'/>\n"
  "    </content>\n"
  "    <reason>\n"
  "      <failed-application/>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 48, verbatim. */
static const char x0167_48[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='ih481v7s'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='content-accept'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='webcam'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "        <payload-type id='98' name='theora' clockrate='90000'>\n"
  "          <parameter name='height' value='600'/>\n"
  "          <parameter name='width' value='800'/>\n"
  "          <parameter name='delivery-method' value='inline'/>\n"
  "          <parameter name='configuration' value='somebase16string'/>\n"
  "          <parameter name='sampling' value='YCbCr-4:2:2'/>\n"
  "        </payload-type>\n"
  "        <bandwidth type='AS'>128</bandwidth>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:0'/>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0167 Example 54, verbatim. */
static const char x0167_54[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='fl2v387j'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-terminate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <reason>\n"
  "      <success/>\n"
  "      <text>I&apos;m outta here!</text>\n"
  "    </reason>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0176 Example 1, verbatim. */
static const char x0176_1[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='ixt174g9'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='this-is-the-audio-content'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='96' name='speex' clockrate='16000'/>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "        <payload-type id='0' name='PCMU' />\n"
  "        <payload-type id='103' name='L16' clockrate='16000' channels='2'/>\n"
  "        <payload-type id='98' name='x-ISAC' clockrate='8000'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='asd88fgpdd777uzjYhagZg'\n"
  "                 ufrag='8hhy'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='el0747fg11'\n"
  "                   ip='10.0.1.1'\n"
  "                   network='1'\n"
  "                   port='8998'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "        <candidate component='1'\n"
  "                   foundation='2'\n"
  "                   generation='0'\n"
  "                   id='y3s2b30v3r'\n"
  "                   ip='192.0.2.3'\n"
  "                   network='1'\n"
  "                   port='45664'\n"
  "                   priority='1694498815'\n"
  "                   protocol='udp'\n"
  "                   rel-addr='10.0.1.1'\n"
  "                   rel-port='8998'\n"
  "                   type='srflx'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0176 Example 3, verbatim. */
static const char x0176_3[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='rw782g55'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-accept'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          responder='juliet@capulet.lit/balcony'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='this-is-the-audio-content'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='YH75Fviy6338Vbrhrlp8Yh'\n"
  "                 ufrag='9uB6'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='or2ii2syr1'\n"
  "                   ip='192.0.2.1'\n"
  "                   network='0'\n"
  "                   port='3478'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0176 Example 4, verbatim. */
static const char x0176_4[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='pd81b49s'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  " <jingle xmlns='urn:xmpp:jingle:1'\n"
  "         action='transport-info'\n"
  "         initiator='romeo@montague.lit/orchard'\n"
  "         sid='a73sjjvkla37jfea'>\n"
  "   <content creator='initiator' name='this-is-the-audio-content'>\n"
  "     <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                pwd='asd88fgpdd777uzjYhagZg'\n"
  "                ufrag='8hhy'>\n"
  "       <remote-candidate component='1'\n"
  "                         ip='10.0.1.2'\n"
  "                         port='9001'/>\n"
  "     </transport>\n"
  "   </content>\n"
  " </jingle>\n"
  "</iq>";

/* XEP-0176 Example 5, verbatim. */
static const char x0176_5[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='uh3g1f48'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='transport-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='this-is-the-audio-content'>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='asd88fgpdd777uzjYhagZg'\n"
  "                 ufrag='8hhy'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='m3110wc4nd'\n"
  "                   ip='2001:db8::9:1'\n"
  "                   network='0'\n"
  "                   port='9001'\n"
  "                   priority='21149780477'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0176 Example 7, verbatim. */
static const char x0176_7[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='kl23fs71'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='transport-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='this-is-the-audio-content'>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='bv71hdn38hgb39hf6xlk33'\n"
  "                 ufrag='g7qs'>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='1'\n"
  "                   id='y3s2b30v3r'\n"
  "                   ip='192.0.2.3'\n"
  "                   network='1'\n"
  "                   port='45665'\n"
  "                   priority='1694498815'\n"
  "                   protocol='udp'\n"
  "                   type='srflx'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0176 Example 11, verbatim. */
static const char x0176_11[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='hy2gd714'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='transport-replace'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice1'>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'>\n"
  "        <candidate generation='0'\n"
  "                   id='a9j3mnbtu1'\n"
  "                   ip='10.1.1.104'\n"
  "                   port='13540'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0320 Example 1, verbatim. */
static const char x0320_1[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='uz61v4m4'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='96' name='speex' clockrate='16000'/>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "        <payload-type id='103' name='L16' clockrate='16000' channels='2'/>\n"
  "        <payload-type id='98' name='x-ISAC' clockrate='8000'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='asd88fgpdd777uzjYhagZg'\n"
  "                 ufrag='8hhy'>\n"
  "        <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>\n"
  "          02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2\n"
  "        </fingerprint>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='el0747fg11'\n"
  "                   ip='10.0.1.1'\n"
  "                   network='1'\n"
  "                   port='8998'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "        <candidate component='1'\n"
  "                   foundation='2'\n"
  "                   generation='0'\n"
  "                   id='y3s2b30v3r'\n"
  "                   ip='192.0.2.3'\n"
  "                   network='1'\n"
  "                   port='45664'\n"
  "                   priority='1694498815'\n"
  "                   protocol='udp'\n"
  "                   rel-addr='10.0.1.1'\n"
  "                   rel-port='8998'\n"
  "                   type='srflx'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0320 Example 2, verbatim. */
static const char x0320_2[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='pn2va48j'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-accept'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          responder='juliet@capulet.lit/balcony'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='97' name='speex' clockrate='8000'/>\n"
  "        <payload-type id='18' name='G729'/>\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='YH75Fviy6338Vbrhrlp8Yh'\n"
  "                 ufrag='9uB6'>\n"
  "        <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>\n"
  "          BD:E8:2C:D3:BD:B6:98:50:45:7D:5B:36:89:53:31:15:52:25:88:82:06:95:88:A3:3D:A5:43:8D:5C:21:21:66\n"
  "        </fingerprint>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='or2ii2syr1'\n"
  "                   ip='192.0.2.1'\n"
  "                   network='0'\n"
  "                   port='3478'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0320 Example 3, verbatim. */
static const char x0320_3[] =
  "<iq from='juliet@capulet.lit/balcony'\n"
  "    id='pn2va48j'\n"
  "    to='romeo@montague.lit/orchard'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='transport-info'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          responder='juliet@capulet.lit/balcony'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'\n"
  "                 pwd='YH75Fviy6338Vbrhrlp8Yh'\n"
  "                 ufrag='9uB6'>\n"
  "        <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>\n"
  "          BD:E8:2C:D3:BD:B6:98:50:45:7D:5B:36:89:53:31:15:52:25:88:82:06:95:88:A3:3D:A5:43:8D:5C:21:21:66\n"
  "        </fingerprint>\n"
  "        <candidate component='1'\n"
  "                   foundation='1'\n"
  "                   generation='0'\n"
  "                   id='or2ii2syr1'\n"
  "                   ip='192.0.2.1'\n"
  "                   network='0'\n"
  "                   port='3478'\n"
  "                   priority='2130706431'\n"
  "                   protocol='udp'\n"
  "                   type='host'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0293 Example 1, verbatim. */
static const char x0293_1[] =
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "  <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='pli'/>\n"
  "  <payload-type id='96' name='H264' clockrate='90000'>\n"
  "    <rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='100'/>\n"
  "    <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='sli'/>\n"
  "  </payload-type>\n"
  "  <payload-type id='34' name='H263' clockrate='90000'/>\n"
  "</description>";

/* XEP-0293 Example 2, verbatim. */
static const char x0293_2[] =
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "  <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='pli'/>\n"
  "  <payload-type id='96' name='H264' clockrate='90000'>\n"
  "    <rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='100'/>\n"
  "  </payload-type>\n"
  "  <payload-type id='34' name='H263' clockrate='90000'/>\n"
  "</description>";

/* XEP-0293 Example 3, verbatim. */
static const char x0293_3[] =
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "  <rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='0'/>\n"
  "  <payload-type id='96' name='H264' clockrate='90000'/>\n"
  "  <payload-type id='34' name='H263' clockrate='90000'/>\n"
  "</description>";

/* XEP-0293 Example 5, verbatim. */
static const char x0293_5[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='ph37a419'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'>\n"
  "    action='session-initiate'\n"
  "    initiator='romeo@montague.lit/orchard'\n"
  "    sid='a73sjjvkla37jfea'>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\n"
  "        <payload-type id='0' name='PCMU' />\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'>\n"
  "        <candidate component='1'\n"
  "       generation='0'\n"
  "       id='a9j3mnbtu1'\n"
  "       ip='10.0.1.1'\n"
  "       port='49170'/>\n"
  "        <candidate component='2'\n"
  "       generation='0'\n"
  "       id='a9j3mnbtu1'\n"
  "       ip='10.0.1.1'\n"
  "       port='49171'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "    <content creator='initiator' name='face'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "        <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>\n"
  "        <payload-type id='98' name='H263-1998'>\n"
  "          <rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'\n"
  "                   subtype='rpsi'/>\n"
  "          <rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='100'/>\n"
  "        </payload-type>\n"
  "        <payload-type id='99' name='H264' />\n"
  "      </description>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'>\n"
  "        <candidate component='1'\n"
  "                   generation='0'\n"
  "                   id='a9j3mnbtu1'\n"
  "                   ip='10.0.1.1'\n"
  "                   port='49172'/>\n"
  "        <candidate component='2'\n"
  "                   generation='0'\n"
  "                   id='a9j3mnbtu1'\n"
  "                   ip='10.0.1.1'\n"
  "                   port='49173'/>\n"
  "      </transport>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

/* XEP-0294 Example 1, verbatim. */
static const char x0294_1[] =
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        uri='urn:ietf:params:rtp-hdrext:toffset'\n"
  "        id='1'/>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        uri='urn:ietf:params:rtp-hdrext:ntp-64'\n"
  "        id='4907'/>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        uri='urn:ietf:params:rtp-hdrext:ntp-56'\n"
  "        id='4907'/>\n"
  "  <payload-type id='96' name='THEORA' clockrate='90000'/>\n"
  "  <extmap-allow-mixed xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'/>\n"
  "</description>";

/* XEP-0294 Example 2, verbatim. */
static const char x0294_2[] =
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        uri='urn:ietf:params:rtp-hdrext:toffset'\n"
  "        id='1'/>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        uri='urn:ietf:params:rtp-hdrext:ntp-56'\n"
  "        id='2'/>\n"
  "  <payload-type id='96' name='THEORA' clockrate='90000'/>\n"
  "</description>";

/* XEP-0294 Example 5, verbatim. */
static const char x0294_5[] =
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        id='1'\n"
  "        uri='URI-toffset'/>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        id='2'\n"
  "        uri='URI-gps-string'\n"
  "        senders='initiator'/>\n"
  "  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'\n"
  "        id='3'\n"
  "        uri='URI-frametype'/>\n"
  "  <extmap-allow-mixed xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'/>\n"
  "</description>";

/* A Chromium offer as StanzaJS turns it into Jingle (shape observed with
 * headless Chromium + StanzaJS, see reference/test-servers.md): 8 audio and
 * 23 video payload types, rtx with an ssrc-group FID, BUNDLE of '0' and '1',
 * rtcp-mux, reduced-size RTCP, no candidate (they come by transport-info),
 * rtcp-fb / rtp-hdrext / ssma written with prefixes, and StanzaJS's own
 * <stream/> (msid) element, which is ignored. */
static const char chromium_offer[] =
  "<iq from='alice@localhost/stanzajs-5f2c' to='echo@relay.localhost' type='set' id='4c1f2a7e-31d0-4d55-8e0b-5a9f2c6d8e11'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='alice@localhost/stanzajs-5f2c' sid='c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4'>"
  "<content creator='initiator' name='0' senders='both'>"
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' xmlns:fb='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' xmlns:hx='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' xmlns:ss='urn:xmpp:jingle:apps:rtp:ssma:0' media='audio' ssrc='2950236981'>"
  "<payload-type channels='2' clockrate='48000' id='111' name='opus'><parameter name='minptime' value='10'/><parameter name='useinbandfec' value='1'/><x:rtcp-fb xmlns:x='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='transport-cc'/></payload-type>"
  "<payload-type channels='2' clockrate='48000' id='63' name='red'><parameter name='111/111'/></payload-type>"
  "<payload-type channels='1' clockrate='8000' id='9' name='G722'></payload-type>"
  "<payload-type channels='1' clockrate='8000' id='0' name='PCMU'></payload-type>"
  "<payload-type channels='1' clockrate='8000' id='8' name='PCMA'></payload-type>"
  "<payload-type channels='1' clockrate='8000' id='13' name='CN'></payload-type>"
  "<payload-type channels='1' clockrate='48000' id='110' name='telephone-event'></payload-type>"
  "<payload-type channels='1' clockrate='8000' id='126' name='telephone-event'></payload-type>"
  "<hx:rtp-hdrext id='1' uri='urn:ietf:params:rtp-hdrext:ssrc-audio-level'/>"
  "<hx:rtp-hdrext id='2' uri='http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'/>"
  "<hx:rtp-hdrext id='3' uri='http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01'/>"
  "<hx:rtp-hdrext id='4' uri='urn:ietf:params:rtp-hdrext:sdes:mid'/>"
  "<ss:source ssrc='2950236981'><ss:parameter name='cname' value='k9Qv3aZr1bXy7Tw2'/><ss:parameter name='msid' value='8d0f5d3e-6c7a-4b7e-9f1e-2b3c4d5e6f70 a1b2c3d4-audio'/></ss:source>"
  "<stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0' id='8d0f5d3e-6c7a-4b7e-9f1e-2b3c4d5e6f70' track='a1b2c3d4-audio'/>"
  "<rtcp-mux/><rtcp-reduced-size/></description>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='yH3kW0Z9r2QqPqv1mN5tB8cD' ufrag='Xe5h'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>0B:30:55:7A:9F:C4:E9:0E:33:58:7D:A2:C7:EC:11:36:5B:80:A5:CA:EF:14:39:5E:83:A8:CD:F2:17:3C:61:86</fingerprint></transport>"
  "</content>"
  "<content creator='initiator' name='1' senders='both'>"
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' xmlns:fb='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' xmlns:hx='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' xmlns:ss='urn:xmpp:jingle:apps:rtp:ssma:0' media='video' ssrc='1187439121'>"
  "<payload-type clockrate='90000' id='96' name='VP8'><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='97' name='rtx'><parameter name='apt' value='96'/></payload-type>"
  "<payload-type clockrate='90000' id='98' name='VP9'><parameter name='profile-id' value='0'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='99' name='rtx'><parameter name='apt' value='98'/></payload-type>"
  "<payload-type clockrate='90000' id='100' name='VP9'><parameter name='profile-id' value='2'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='101' name='rtx'><parameter name='apt' value='100'/></payload-type>"
  "<payload-type clockrate='90000' id='102' name='H264'><parameter name='level-asymmetry-allowed' value='1'/><parameter name='packetization-mode' value='1'/><parameter name='profile-level-id' value='42001f'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='103' name='rtx'><parameter name='apt' value='102'/></payload-type>"
  "<payload-type clockrate='90000' id='104' name='H264'><parameter name='level-asymmetry-allowed' value='1'/><parameter name='packetization-mode' value='0'/><parameter name='profile-level-id' value='42001f'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='105' name='rtx'><parameter name='apt' value='104'/></payload-type>"
  "<payload-type clockrate='90000' id='106' name='H264'><parameter name='level-asymmetry-allowed' value='1'/><parameter name='packetization-mode' value='1'/><parameter name='profile-level-id' value='42e01f'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='107' name='rtx'><parameter name='apt' value='106'/></payload-type>"
  "<payload-type clockrate='90000' id='108' name='H264'><parameter name='level-asymmetry-allowed' value='1'/><parameter name='packetization-mode' value='0'/><parameter name='profile-level-id' value='42e01f'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='109' name='rtx'><parameter name='apt' value='108'/></payload-type>"
  "<payload-type clockrate='90000' id='127' name='H264'><parameter name='level-asymmetry-allowed' value='1'/><parameter name='packetization-mode' value='1'/><parameter name='profile-level-id' value='4d001f'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='125' name='rtx'><parameter name='apt' value='127'/></payload-type>"
  "<payload-type clockrate='90000' id='39' name='H264'><parameter name='level-asymmetry-allowed' value='1'/><parameter name='packetization-mode' value='0'/><parameter name='profile-level-id' value='4d001f'/><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='40' name='rtx'><parameter name='apt' value='39'/></payload-type>"
  "<payload-type clockrate='90000' id='45' name='AV1'><fb:rtcp-fb type='goog-remb'/><fb:rtcp-fb type='transport-cc'/><fb:rtcp-fb type='ccm' subtype='fir'/><fb:rtcp-fb type='nack'/><fb:rtcp-fb type='nack' subtype='pli'/></payload-type>"
  "<payload-type clockrate='90000' id='46' name='rtx'><parameter name='apt' value='45'/></payload-type>"
  "<payload-type clockrate='90000' id='116' name='red'></payload-type>"
  "<payload-type clockrate='90000' id='117' name='rtx'><parameter name='apt' value='116'/></payload-type>"
  "<payload-type clockrate='90000' id='118' name='ulpfec'></payload-type>"
  "<hx:rtp-hdrext id='14' uri='urn:ietf:params:rtp-hdrext:toffset'/>"
  "<hx:rtp-hdrext id='2' uri='http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'/>"
  "<hx:rtp-hdrext id='13' uri='urn:3gpp:video-orientation'/>"
  "<hx:rtp-hdrext id='3' uri='http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01'/>"
  "<hx:rtp-hdrext id='5' uri='http://www.webrtc.org/experiments/rtp-hdrext/playout-delay'/>"
  "<hx:rtp-hdrext id='6' uri='http://www.webrtc.org/experiments/rtp-hdrext/video-content-type'/>"
  "<hx:rtp-hdrext id='7' uri='http://www.webrtc.org/experiments/rtp-hdrext/video-timing'/>"
  "<hx:rtp-hdrext id='8' uri='http://www.webrtc.org/experiments/rtp-hdrext/color-space'/>"
  "<hx:rtp-hdrext id='4' uri='urn:ietf:params:rtp-hdrext:sdes:mid'/>"
  "<hx:rtp-hdrext id='10' uri='urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'/>"
  "<hx:rtp-hdrext id='11' uri='urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id'/>"
  "<ss:source ssrc='1187439121'><ss:parameter name='cname' value='k9Qv3aZr1bXy7Tw2'/><ss:parameter name='msid' value='8d0f5d3e-6c7a-4b7e-9f1e-2b3c4d5e6f70 e5f6a7b8-video'/></ss:source>"
  "<ss:source ssrc='3521876234'><ss:parameter name='cname' value='k9Qv3aZr1bXy7Tw2'/><ss:parameter name='msid' value='8d0f5d3e-6c7a-4b7e-9f1e-2b3c4d5e6f70 e5f6a7b8-video'/></ss:source>"
  "<ss:ssrc-group semantics='FID'><ss:source ssrc='1187439121'/><ss:source ssrc='3521876234'/></ss:ssrc-group>"
  "<stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0' id='8d0f5d3e-6c7a-4b7e-9f1e-2b3c4d5e6f70' track='e5f6a7b8-video'/>"
  "<rtcp-mux/><rtcp-reduced-size/></description>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='yH3kW0Z9r2QqPqv1mN5tB8cD' ufrag='Xe5h'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>0B:30:55:7A:9F:C4:E9:0E:33:58:7D:A2:C7:EC:11:36:5B:80:A5:CA:EF:14:39:5E:83:A8:CD:F2:17:3C:61:86</fingerprint></transport>"
  "</content>"
  "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='0'/><content name='1'/></group>"
  "</jingle></iq>"
;
#define CHROMIUM_FINGERPRINT "0B:30:55:7A:9F:C4:E9:0E:33:58:7D:A2:C7:EC:11:36:5B:80:A5:CA:EF:14:39:5E:83:A8:CD:F2:17:3C:61:86"

/* --- XEP-0166 --- */

static void
test_0166_stub (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0166_1);
  g_assert_cmpint (j->action, ==, BF_JINGLE_ACTION_SESSION_INITIATE);
  g_assert_cmpstr (j->sid, ==, "a73sjjvkla37jfea");
  g_assert_cmpstr (j->initiator, ==, "romeo@montague.lit/orchard");
  g_assert_null (j->responder);
  g_assert_null (j->reason);
  g_assert_cmpuint (j->contents->len, ==, 1);
  BfJingleContent *c = content (j, 0);
  g_assert_cmpint (c->creator, ==, BF_JINGLE_CREATOR_INITIATOR);
  g_assert_cmpstr (c->name, ==, "this-is-a-stub");
  g_assert_cmpint (c->senders, ==, BF_JINGLE_SENDERS_BOTH);
  g_assert_null (c->disposition);
  /* Unknown formats are kept, for the caller to answer
   * unsupported-applications / unsupported-transports. */
  g_assert_cmpint (c->description_kind, ==, BF_JINGLE_DESCRIPTION_UNSUPPORTED);
  g_assert_cmpstr (c->description_ns, ==, "urn:xmpp:jingle:apps:stub:0");
  g_assert_null (c->rtp);
  g_assert_cmpint (c->transport_kind, ==, BF_JINGLE_TRANSPORT_UNSUPPORTED);
  g_assert_cmpstr (c->transport_ns, ==, "urn:xmpp:jingle:transports:stub:0");
  g_assert_null (c->ice);

  g_autoptr (BfJingle) a = parse_ok (x0166_2);
  g_assert_cmpint (a->action, ==, BF_JINGLE_ACTION_SESSION_ACCEPT);
  g_assert_null (a->initiator);
  g_assert_cmpstr (a->responder, ==, "juliet@capulet.lit/balcony");

  /* Example 35: a <security/> element is no obstacle. */
  g_autoptr (BfJingle) s = parse_ok (x0166_35);
  g_assert_cmpuint (s->contents->len, ==, 1);
  /* Example 36: security-info carries a content with only <security/>. */
  g_autoptr (BfJingle) si = parse_ok (x0166_36);
  g_assert_cmpint (si->action, ==, BF_JINGLE_ACTION_SECURITY_INFO);
  g_assert_cmpstr (content (si, 0)->name, ==, "xmlstream");
  g_assert_cmpint (content (si, 0)->description_kind, ==, BF_JINGLE_DESCRIPTION_NONE);
}

static void
test_0166_terminate (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0166_3);
  g_assert_cmpint (j->action, ==, BF_JINGLE_ACTION_SESSION_TERMINATE);
  g_assert_cmpuint (j->contents->len, ==, 0);
  g_assert_nonnull (j->reason);
  g_assert_cmpint (j->reason->condition, ==, BF_JINGLE_REASON_SUCCESS);
  g_assert_null (j->reason->text);

  g_autoptr (BfJingle) t = parse_ok (x0166_8);
  g_assert_cmpint (t->reason->condition, ==, BF_JINGLE_REASON_SUCCESS);
  g_assert_cmpstr (t->reason->text, ==, "Sorry, gotta go!");

  static const struct {
    const char *xml;
    BfJingleReasonCondition condition;
  } cases[] = {
    { x0166_20, BF_JINGLE_REASON_BUSY },
    { x0166_21, BF_JINGLE_REASON_DECLINE },
    { x0166_22, BF_JINGLE_REASON_ALTERNATIVE_SESSION },
    { x0166_23, BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS },
    { x0166_24, BF_JINGLE_REASON_FAILED_TRANSPORT },
    { x0166_25, BF_JINGLE_REASON_UNSUPPORTED_APPLICATIONS },
    { x0166_26, BF_JINGLE_REASON_FAILED_APPLICATION },
    { x0166_27, BF_JINGLE_REASON_INCOMPATIBLE_PARAMETERS },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (BfJingle) r = parse_ok (cases[i].xml);
      g_assert_cmpint (r->reason->condition, ==, cases[i].condition);
      if (cases[i].condition == BF_JINGLE_REASON_ALTERNATIVE_SESSION)
        g_assert_cmpstr (r->reason->alternative_sid, ==, "b84tkkwlmb48kgfb");
      else
        g_assert_null (r->reason->alternative_sid);
    }
}

static void
test_0166_initiate_accept (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0166_4);
  g_assert_cmpuint (j->contents->len, ==, 1);
  BfJingleContent *c = content (j, 0);
  g_assert_cmpstr (c->name, ==, "voice");
  g_assert_cmpint (c->description_kind, ==, BF_JINGLE_DESCRIPTION_RTP);
  g_assert_cmpstr (c->description_ns, ==, BF_NS_JINGLE_RTP);
  assert_romeo_audio (c->rtp, TRUE);
  g_assert_false (c->rtp->rtcp_mux);
  g_assert_cmpint (c->transport_kind, ==, BF_JINGLE_TRANSPORT_ICE_UDP);
  assert_romeo_candidates (c->ice);
  g_assert_null (c->ice->fingerprint);

  /* Example 6: candidates but no ufrag/pwd (the spec's own answer). */
  g_autoptr (BfJingle) a = parse_ok (x0166_6);
  c = content (a, 0);
  g_assert_cmpuint (c->rtp->payload_types->len, ==, 2);
  assert_pt (pt (c->rtp, 0), 97, "speex", 8000, 1);
  assert_pt (pt (c->rtp, 1), 18, "G729", 0, 1);
  g_assert_null (c->ice->ufrag);
  g_assert_null (c->ice->pwd);
  g_assert_cmpstr (cand (c->ice, 0)->id, ==, "or2ii2syr1");
  g_assert_cmpint (cand (c->ice, 0)->network, ==, 0);
  g_assert_cmpuint (cand (c->ice, 0)->port, ==, 3478);
}

static void
test_0166_session_info (void)
{
  /* Example 30 uses the namespace 'urn:xmpp:jingle:apps:rtp:1:info'. */
  g_autoptr (BfJingle) j = parse_ok (x0166_30);
  g_assert_cmpint (j->action, ==, BF_JINGLE_ACTION_SESSION_INFO);
  g_assert_cmpint (j->info.kind, ==, BF_JINGLE_INFO_RINGING);
  /* Example 32: an empty session-info is a ping. */
  g_autoptr (BfJingle) p = parse_ok (x0166_32);
  g_assert_cmpint (p->info.kind, ==, BF_JINGLE_INFO_NONE);

  /* §6.8 / Example 31: an unknown payload gets unsupported-info. */
  assert_parse_error (IQ_OPEN ("session-info") "<wave xmlns='urn:example:hand'/>" IQ_CLOSE,
                      BF_JINGLE_ERROR_UNSUPPORTED_INFO, "wave");
  assert_parse_error (IQ_OPEN ("session-info")
                      "<stretch xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>" IQ_CLOSE,
                      BF_JINGLE_ERROR_UNSUPPORTED_INFO, "stretch");
  g_autoptr (BfStanza) iq = parse_xml (IQ_OPEN ("session-info") "<wave xmlns='urn:x'/>" IQ_CLOSE);
  g_autoptr (GError) error = NULL;
  g_assert_null (bf_jingle_parse (iq, &error));
  g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
  BfStanza *err = bf_stanza_find_child (reply, "error", NULL);
  g_assert_cmpstr (bf_stanza_get_attr (err, "type"), ==, "modify");
  g_assert_nonnull (bf_stanza_find_child (err, "feature-not-implemented", BF_NS_STANZAS));
  g_assert_nonnull (bf_stanza_find_child (err, "unsupported-info", BF_NS_JINGLE_ERRORS));
}

/* --- XEP-0167 --- */

static void
test_0167_initiate_accept (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0167_1);
  assert_romeo_audio (content (j, 0)->rtp, TRUE);
  assert_romeo_candidates (content (j, 0)->ice);

  g_autoptr (BfJingle) a = parse_ok (x0167_3);
  g_assert_cmpint (a->action, ==, BF_JINGLE_ACTION_SESSION_ACCEPT);
  g_assert_cmpstr (a->initiator, ==, "romeo@montague.lit/orchard");
  g_assert_cmpstr (a->responder, ==, "juliet@capulet.lit/balcony");
  BfJingleContent *c = content (a, 0);
  g_assert_cmpstr (c->ice->ufrag, ==, "9uB6");
  g_assert_cmpstr (c->ice->pwd, ==, "YH75Fviy6338Vbrhrlp8Yh");
  g_assert_cmpuint (c->ice->candidates->len, ==, 1);
}

static void
test_0167_session_info (void)
{
  static const struct {
    const char *xml;
    BfJingleInfoKind kind;
  } cases[] = {
    { x0167_8, BF_JINGLE_INFO_ACTIVE },
    { x0167_9, BF_JINGLE_INFO_HOLD },
    { x0167_10, BF_JINGLE_INFO_UNHOLD },
    { x0167_11, BF_JINGLE_INFO_MUTE },
    { x0167_12, BF_JINGLE_INFO_UNMUTE },
    { x0167_13, BF_JINGLE_INFO_RINGING },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (BfJingle) j = parse_ok (cases[i].xml);
      g_assert_cmpint (j->action, ==, BF_JINGLE_ACTION_SESSION_INFO);
      g_assert_cmpint (j->info.kind, ==, cases[i].kind);
      if (cases[i].kind == BF_JINGLE_INFO_MUTE || cases[i].kind == BF_JINGLE_INFO_UNMUTE)
        {
          g_assert_cmpint (j->info.creator, ==, BF_JINGLE_CREATOR_RESPONDER);
          g_assert_cmpstr (j->info.name, ==, "voice");
        }
      else
        g_assert_null (j->info.name);
    }
  /* §8.3: no name means every content. */
  g_autoptr (BfJingle) all = parse_ok (IQ_OPEN ("session-info")
                                       "<mute xmlns='urn:xmpp:jingle:apps:rtp:info:1' "
                                       "creator='initiator'/>" IQ_CLOSE);
  g_assert_cmpint (all->info.kind, ==, BF_JINGLE_INFO_MUTE);
  g_assert_null (all->info.name);
  assert_bad_request (IQ_OPEN ("session-info") "<mute xmlns='urn:xmpp:jingle:apps:rtp:info:1' "
                      "creator='nobody'/>" IQ_CLOSE, "creator");
}

static void
test_0167_terminate_reasons (void)
{
  /* Example 5: an RTP-specific condition next to the Jingle one. */
  g_autoptr (BfJingle) j = parse_ok (x0167_5);
  g_assert_cmpint (j->reason->condition, ==, BF_JINGLE_REASON_SECURITY_ERROR);
  g_assert_cmpstr (j->reason->detail_ns, ==, BF_NS_JINGLE_RTP_ERRORS);
  g_assert_cmpstr (j->reason->detail_name, ==, "invalid-crypto");
  g_autoptr (BfJingle) t = parse_ok (x0167_54);
  g_assert_cmpstr (t->reason->text, ==, "I'm outta here!");
}

static void
test_0167_description_info (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0167_14);
  g_assert_cmpint (j->action, ==, BF_JINGLE_ACTION_DESCRIPTION_INFO);
  BfJingleContent *c = content (j, 0);
  g_assert_cmpstr (c->name, ==, "webcam");
  g_assert_cmpint (c->transport_kind, ==, BF_JINGLE_TRANSPORT_NONE);
  g_assert_cmpstr (c->rtp->media, ==, "video");
  assert_pt (pt (c->rtp, 0), 98, "theora", 90000, 1);
  g_assert_cmpstr (param (pt (c->rtp, 0)->parameters, "height"), ==, "768");
  g_assert_cmpstr (param (pt (c->rtp, 0)->parameters, "width"), ==, "1024");
}

static void
test_0167_sdes (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0167_29);
  BfJingleRtpDescription *rtp = content (j, 0)->rtp;
  g_assert_true (rtp->has_encryption);
  g_assert_true (rtp->encryption_required);
  g_assert_cmpuint (rtp->crypto->len, ==, 1);
  BfJingleCrypto *c = g_ptr_array_index (rtp->crypto, 0);
  g_assert_cmpstr (c->crypto_suite, ==, "AES_CM_128_HMAC_SHA1_80");
  g_assert_cmpstr (c->key_params, ==, "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32");
  g_assert_cmpstr (c->session_params, ==, "KDR=1 UNENCRYPTED_SRTCP");
  g_assert_cmpstr (c->tag, ==, "1");

  g_autoptr (BfJingle) a = parse_ok (x0167_33);
  rtp = content (a, 0)->rtp;
  g_assert_true (rtp->has_encryption);
  g_assert_false (rtp->encryption_required);
  c = g_ptr_array_index (rtp->crypto, 0);
  g_assert_cmpstr (c->session_params, ==, "KDR=1;UNENCRYPTED_SRTCP");

  g_autofree char *bad = with_rtp (PT0 "<encryption required='maybe'/>");
  assert_bad_request (bad, "required");
  g_autofree char *nokey = with_rtp (PT0 "<encryption><crypto crypto-suite='X' tag='1'/>"
                                     "</encryption>");
  assert_bad_request (nokey, "key-params");
}

static void
test_0167_content_flow (void)
{
  /* Example 43: content-add with a bandwidth and an ice-udp:0 transport. */
  g_autoptr (BfJingle) add = parse_ok (x0167_43);
  g_assert_cmpint (add->action, ==, BF_JINGLE_ACTION_CONTENT_ADD);
  BfJingleContent *c = content (add, 0);
  g_assert_cmpstr (c->name, ==, "webcam");
  g_assert_cmpuint (c->rtp->payload_types->len, ==, 4);
  BfJinglePayloadType *theora = pt (c->rtp, 0);
  assert_pt (theora, 98, "theora", 90000, 1);
  g_assert_cmpuint (theora->parameters->len, ==, 5);
  g_assert_cmpstr (param (theora->parameters, "sampling"), ==, "YCbCr-4:2:2");
  g_assert_cmpstr (param (theora->parameters, "delivery-method"), ==, "inline");
  assert_pt (pt (c->rtp, 3), 32, "MPV", 90000, 1);
  g_assert_cmpstr (c->rtp->bandwidth_type, ==, "AS");
  g_assert_cmpstr (c->rtp->bandwidth, ==, "128");
  g_assert_cmpint (c->transport_kind, ==, BF_JINGLE_TRANSPORT_UNSUPPORTED);
  g_assert_cmpstr (c->transport_ns, ==, "urn:xmpp:jingle:transports:ice-udp:0");

  /* Example 45: content-modify carries senders and nothing else. */
  g_autoptr (BfJingle) mod = parse_ok (x0167_45);
  g_assert_cmpint (mod->action, ==, BF_JINGLE_ACTION_CONTENT_MODIFY);
  g_assert_cmpint (content (mod, 0)->senders, ==, BF_JINGLE_SENDERS_INITIATOR);
  g_assert_cmpint (content (mod, 0)->description_kind, ==, BF_JINGLE_DESCRIPTION_NONE);

  /* Example 47: content-reject with a reason. */
  g_autoptr (BfJingle) rej = parse_ok (x0167_47);
  g_assert_cmpint (rej->action, ==, BF_JINGLE_ACTION_CONTENT_REJECT);
  g_assert_cmpint (rej->reason->condition, ==, BF_JINGLE_REASON_FAILED_APPLICATION);
  g_assert_cmpuint (content (rej, 0)->rtp->payload_types->len, ==, 2);

  g_autoptr (BfJingle) acc = parse_ok (x0167_48);
  g_assert_cmpint (acc->action, ==, BF_JINGLE_ACTION_CONTENT_ACCEPT);
  g_assert_cmpuint (content (acc, 0)->rtp->payload_types->len, ==, 1);
}

/* --- XEP-0176 --- */

static void
test_0176_examples (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0176_1);
  g_assert_cmpstr (content (j, 0)->name, ==, "this-is-the-audio-content");
  assert_romeo_candidates (content (j, 0)->ice);

  g_autoptr (BfJingle) a = parse_ok (x0176_3);
  g_assert_cmpstr (content (a, 0)->ice->ufrag, ==, "9uB6");

  /* Example 4: the in-use candidate pair. */
  g_autoptr (BfJingle) rc = parse_ok (x0176_4);
  BfJingleIceTransport *ice = content (rc, 0)->ice;
  g_assert_cmpint (rc->action, ==, BF_JINGLE_ACTION_TRANSPORT_INFO);
  g_assert_cmpint (content (rc, 0)->description_kind, ==, BF_JINGLE_DESCRIPTION_NONE);
  g_assert_cmpuint (ice->candidates->len, ==, 0);
  g_assert_true (ice->has_remote_candidate);
  g_assert_cmpuint (ice->remote_component, ==, 1);
  g_assert_cmpstr (ice->remote_ip, ==, "10.0.1.2");
  g_assert_cmpuint (ice->remote_port, ==, 9001);

  /* Example 5 gives priority='21149780477', which does not fit the 32 bits
   * of an ICE priority (RFC 8445 §5.1.2): refused. */
  assert_bad_request (x0176_5, "'priority'");
  g_autoptr (GString) fixed = g_string_new (x0176_5);
  g_string_replace (fixed, "21149780477", "2114978047", 1);
  g_autoptr (BfJingle) v6 = parse_ok (fixed->str);
  BfJingleCandidate *c = cand (content (v6, 0)->ice, 0);
  g_assert_cmpstr (c->ip, ==, "2001:db8::9:1");
  g_assert_cmpuint (c->priority, ==, 2114978047u);
  g_assert_cmpstr (c->id, ==, "m3110wc4nd");

  /* Example 7: an ICE restart, generation 1 and new credentials. */
  g_autoptr (BfJingle) restart = parse_ok (x0176_7);
  ice = content (restart, 0)->ice;
  g_assert_cmpstr (ice->ufrag, ==, "g7qs");
  g_assert_cmpstr (ice->pwd, ==, "bv71hdn38hgb39hf6xlk33");
  g_assert_cmpuint (cand (ice, 0)->generation, ==, 1);
  g_assert_cmpuint (cand (ice, 0)->port, ==, 45665);

  /* Example 11: a transport-replace to raw-udp, kept as unsupported. */
  g_autoptr (BfJingle) rep = parse_ok (x0176_11);
  g_assert_cmpint (rep->action, ==, BF_JINGLE_ACTION_TRANSPORT_REPLACE);
  g_assert_cmpstr (content (rep, 0)->name, ==, "voice1");
  g_assert_cmpint (content (rep, 0)->transport_kind, ==, BF_JINGLE_TRANSPORT_UNSUPPORTED);
  g_assert_cmpstr (content (rep, 0)->transport_ns, ==, "urn:xmpp:jingle:transports:raw-udp:1");
}

/* --- XEP-0320 --- */

static void
test_0320_examples (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0320_1);
  BfJingleFingerprint *f = content (j, 0)->ice->fingerprint;
  g_assert_nonnull (f);
  g_assert_cmpstr (f->hash, ==, "sha-256");
  g_assert_cmpint (f->setup, ==, BF_JINGLE_SETUP_ACTPASS);
  /* The example wraps the value in whitespace. */
  g_assert_cmpstr (f->value, ==, "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:"
                   "3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2");
  assert_romeo_candidates (content (j, 0)->ice);

  g_autoptr (BfJingle) a = parse_ok (x0320_2);
  f = content (a, 0)->ice->fingerprint;
  g_assert_cmpint (f->setup, ==, BF_JINGLE_SETUP_ACTIVE);
  g_assert_cmpstr (f->value, ==, "BD:E8:2C:D3:BD:B6:98:50:45:7D:5B:36:89:53:31:15:52:25:"
                   "88:82:06:95:88:A3:3D:A5:43:8D:5C:21:21:66");

  g_autoptr (BfJingle) ti = parse_ok (x0320_3);
  g_assert_cmpint (ti->action, ==, BF_JINGLE_ACTION_TRANSPORT_INFO);
  g_assert_cmpint (content (ti, 0)->ice->fingerprint->setup, ==, BF_JINGLE_SETUP_ACTIVE);
}

/* --- XEP-0293 --- */

static void
test_0293_examples (void)
{
  g_autofree char *offer = with_description (x0293_1);
  g_autoptr (BfJingle) j = parse_ok (offer);
  BfJingleRtpDescription *rtp = content (j, 0)->rtp;
  g_assert_cmpuint (rtp->rtcp_fb->len, ==, 1);
  BfJingleRtcpFb *fb = g_ptr_array_index (rtp->rtcp_fb, 0);
  g_assert_cmpstr (fb->type, ==, "nack");
  g_assert_cmpstr (fb->subtype, ==, "pli");
  g_assert_false (rtp->has_trr_int);
  BfJinglePayloadType *h264 = pt (rtp, 0);
  assert_pt (h264, 96, "H264", 90000, 1);
  g_assert_true (h264->has_trr_int);
  g_assert_cmpuint (h264->trr_int, ==, 100);
  g_assert_cmpuint (h264->rtcp_fb->len, ==, 1);
  fb = g_ptr_array_index (h264->rtcp_fb, 0);
  g_assert_cmpstr (fb->subtype, ==, "sli");
  g_assert_cmpuint (pt (rtp, 1)->rtcp_fb->len, ==, 0);

  g_autofree char *answer = with_description (x0293_2);
  g_autoptr (BfJingle) a = parse_ok (answer);
  g_assert_cmpuint (pt (content (a, 0)->rtp, 0)->rtcp_fb->len, ==, 0);
  g_assert_true (pt (content (a, 0)->rtp, 0)->has_trr_int);

  /* Example 3: trr-int of 0 (the schema's positiveInteger notwithstanding). */
  g_autofree char *zero = with_description (x0293_3);
  g_autoptr (BfJingle) z = parse_ok (zero);
  g_assert_true (content (z, 0)->rtp->has_trr_int);
  g_assert_cmpuint (content (z, 0)->rtp->trr_int, ==, 0);

  /* Example 5 closes <jingle> before its attributes: no action. */
  assert_bad_request (x0293_5, "'action'");
}

/* --- XEP-0294 --- */

static void
test_0294_examples (void)
{
  g_autofree char *offer = with_description (x0294_1);
  g_autoptr (BfJingle) j = parse_ok (offer);
  BfJingleRtpDescription *rtp = content (j, 0)->rtp;
  g_assert_cmpuint (rtp->hdrexts->len, ==, 3);
  BfJingleHdrext *h = g_ptr_array_index (rtp->hdrexts, 0);
  g_assert_cmpuint (h->id, ==, 1);
  g_assert_cmpstr (h->uri, ==, "urn:ietf:params:rtp-hdrext:toffset");
  g_assert_cmpint (h->senders, ==, BF_JINGLE_SENDERS_BOTH);
  /* id='4907' is outside the table's 1-256 / 4096-4351 but in the schema's
   * unsignedShort; two alternatives may share it in an offer. */
  h = g_ptr_array_index (rtp->hdrexts, 2);
  g_assert_cmpuint (h->id, ==, 4907);
  g_assert_cmpstr (h->uri, ==, "urn:ietf:params:rtp-hdrext:ntp-56");
  g_assert_true (rtp->extmap_allow_mixed);
  assert_pt (pt (rtp, 0), 96, "THEORA", 90000, 1);

  g_autofree char *answer = with_description (x0294_2);
  g_autoptr (BfJingle) a = parse_ok (answer);
  g_assert_false (content (a, 0)->rtp->extmap_allow_mixed);
  g_assert_cmpuint (content (a, 0)->rtp->hdrexts->len, ==, 2);

  g_autofree char *mapped = with_description (x0294_5);
  g_autoptr (BfJingle) m = parse_ok (mapped);
  h = g_ptr_array_index (content (m, 0)->rtp->hdrexts, 1);
  g_assert_cmpuint (h->id, ==, 2);
  g_assert_cmpstr (h->uri, ==, "URI-gps-string");
  g_assert_cmpint (h->senders, ==, BF_JINGLE_SENDERS_INITIATOR);
  /* A description of Example 5 has no payload type: still a description. */
  g_assert_cmpuint (content (m, 0)->rtp->payload_types->len, ==, 0);
}

/* --- XEP-0339 --- */

/* §3, the description only: the example's <content/> is in a namespace
 * ('http://jabber.org/protocols/jingle') that is not Jingle's. */
static const char x0339_3_description[] =
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\n"
  "  <payload-type id='100' name='VP8' clockrate='90000'/>\n"
  "  <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>\n"
  "    <source ssrc='2301230316'/>\n"
  "    <source ssrc='386328120'/>\n"
  "  </ssrc-group>\n"
  "  <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>\n"
  "    <source ssrc='3139499595'/>\n"
  "    <source ssrc='2613715171'/>\n"
  "  </ssrc-group>\n"
  "  <source ssrc='2301230316' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'>\n"
  "    <parameter name='cname' value='T5qvrIZj42v//eYQ'/>\n"
  "  </source>\n"
  "  <source ssrc='386328120' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'>\n"
  "    <parameter name='cname' value='uEYgNtStZyTF74sM'/>\n"
  "  </source>\n"
  "  <source ssrc='3139499595' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'>\n"
  "    <parameter name='cname' value='re8jhxkly9bxzuxr'/>\n"
  "  </source>\n"
  "  <source ssrc='2613715171' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'>\n"
  "    <parameter name='cname' value='f83avsiw6n1m7vi'/>\n"
  "  </source>\n"
  "</description>";

/* §2.1, a source with a parameter without value and one with. */
static const char x0339_2_1_source[] =
  "<source ssrc='1656081975' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'>\n"
  "    <parameter name='cname' value='Yv/wvbCdsDW2Prgd'/>\n"
  "    <parameter name='msid' value='MLTJKIHilGn71fNQoszkQ4jlPTuS5vJyKVIv "
  "MLTJKIHilGn71fNQoszkQ4jlPTuS5vJyKVIva0'/>\n"
  "</source>";

static void
test_0339_examples (void)
{
  g_autofree char *offer = with_description (x0339_3_description);
  g_autoptr (BfJingle) j = parse_ok (offer);
  BfJingleRtpDescription *rtp = content (j, 0)->rtp;
  g_assert_cmpuint (rtp->ssrc_groups->len, ==, 2);
  BfJingleSsrcGroup *g = g_ptr_array_index (rtp->ssrc_groups, 1);
  g_assert_cmpstr (g->semantics, ==, "FID");
  g_assert_cmpuint (g->ssrcs->len, ==, 2);
  g_assert_cmpuint (g_array_index (g->ssrcs, guint32, 0), ==, 3139499595u);
  g_assert_cmpuint (g_array_index (g->ssrcs, guint32, 1), ==, 2613715171u);
  g_assert_cmpuint (rtp->sources->len, ==, 4);
  BfJingleSource *s = g_ptr_array_index (rtp->sources, 3);
  g_assert_cmpuint (s->ssrc, ==, 2613715171u);
  g_assert_cmpstr (param (s->parameters, "cname"), ==, "f83avsiw6n1m7vi");

  g_autofree char *one = with_rtp (x0339_2_1_source);
  g_autoptr (BfJingle) o = parse_ok (one);
  s = g_ptr_array_index (content (o, 0)->rtp->sources, 0);
  g_assert_cmpuint (s->ssrc, ==, 1656081975u);
  g_assert_cmpstr (param (s->parameters, "msid"), ==,
                   "MLTJKIHilGn71fNQoszkQ4jlPTuS5vJyKVIv MLTJKIHilGn71fNQoszkQ4jlPTuS5vJyKVIva0");

  /* An ssrc-group without sources (the schema allows it; found by the
   * fuzzer as a memcmp() on NULL when comparing). */
  g_autofree char *empty = with_rtp ("<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' "
                                     "semantics='FID'/>");
  g_autoptr (BfJingle) e = parse_ok (empty);
  g_assert_cmpuint (((BfJingleSsrcGroup *) g_ptr_array_index (content (e, 0)->rtp->ssrc_groups,
                                                               0))->ssrcs->len, ==, 0);

  /* "If there is no value in the SDP, the value parameter shall be omitted." */
  g_autofree char *novalue = with_rtp ("<source ssrc='1' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'>"
                                       "<parameter name='x-flag'/></source>");
  g_autoptr (BfJingle) n = parse_ok (novalue);
  BfJingleParameter *p = g_ptr_array_index (((BfJingleSource *) g_ptr_array_index (
                                               content (n, 0)->rtp->sources, 0))->parameters, 0);
  g_assert_cmpstr (p->name, ==, "x-flag");
  g_assert_null (p->value);
}

/* --- XEP-0338 --- */

/* §2, with the example's "[ ... ]" filled with stub contents. */
static const char x0338_2[] =
  "<iq from='romeo@montague.lit/orchard'\n"
  "    id='rg6s5134'\n"
  "    to='juliet@capulet.lit/balcony'\n"
  "    type='set'>\n"
  "  <jingle xmlns='urn:xmpp:jingle:1'\n"
  "          action='session-initiate'\n"
  "          initiator='romeo@montague.lit/orchard'\n"
  "          sid='a73sjjvkla37jfea'>\n"
  "    <group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'>\n"
  "      <content name='voice'/>\n"
  "      <content name='webcam'/>\n"
  "    </group>\n"
  "    <content creator='initiator' name='voice'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:stub:0'/>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:stub:0'/>\n"
  "    </content>\n"
  "    <content creator='initiator' name='webcam'>\n"
  "      <description xmlns='urn:xmpp:jingle:apps:stub:0'/>\n"
  "      <transport xmlns='urn:xmpp:jingle:transports:stub:0'/>\n"
  "    </content>\n"
  "  </jingle>\n"
  "</iq>";

static void
test_0338_group (void)
{
  g_autoptr (BfJingle) j = parse_ok (x0338_2);
  g_assert_cmpuint (j->groups->len, ==, 1);
  BfJingleGroup *g = g_ptr_array_index (j->groups, 0);
  g_assert_cmpstr (g->semantics, ==, "BUNDLE");
  g_assert_cmpuint (g->contents->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (g->contents, 0), ==, "voice");
  g_assert_cmpstr (g_ptr_array_index (g->contents, 1), ==, "webcam");
  g_assert_cmpuint (j->contents->len, ==, 2);
}

/* --- real clients --- */

static void
test_chromium_offer (void)
{
  g_autoptr (BfJingle) j = parse_ok (chromium_offer);
  g_assert_cmpint (j->action, ==, BF_JINGLE_ACTION_SESSION_INITIATE);
  g_assert_cmpstr (j->sid, ==, "c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4");
  g_assert_cmpuint (j->contents->len, ==, 2);
  g_assert_cmpuint (j->groups->len, ==, 1);
  BfJingleGroup *g = g_ptr_array_index (j->groups, 0);
  g_assert_cmpstr (g->semantics, ==, "BUNDLE");
  g_assert_cmpuint (g->contents->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (g->contents, 0), ==, "0");
  g_assert_cmpstr (g_ptr_array_index (g->contents, 1), ==, "1");

  BfJingleContent *audio = content (j, 0);
  g_assert_cmpstr (audio->name, ==, "0");
  g_assert_cmpint (audio->senders, ==, BF_JINGLE_SENDERS_BOTH);
  BfJingleRtpDescription *rtp = audio->rtp;
  g_assert_cmpstr (rtp->media, ==, "audio");
  g_assert_true (rtp->has_ssrc);
  g_assert_cmpuint (rtp->ssrc, ==, 2950236981u);
  g_assert_cmpuint (rtp->payload_types->len, ==, 8);
  assert_pt (pt (rtp, 0), 111, "opus", 48000, 2);
  g_assert_cmpstr (param (pt (rtp, 0)->parameters, "useinbandfec"), ==, "1");
  /* the rtcp-fb written with an element-level prefix */
  g_assert_cmpuint (pt (rtp, 0)->rtcp_fb->len, ==, 1);
  g_assert_cmpstr (((BfJingleRtcpFb *) g_ptr_array_index (pt (rtp, 0)->rtcp_fb, 0))->type, ==,
                   "transport-cc");
  assert_pt (pt (rtp, 1), 63, "red", 48000, 2);
  g_assert_cmpstr (param (pt (rtp, 1)->parameters, "111/111"), ==, "");
  assert_pt (pt (rtp, 7), 126, "telephone-event", 8000, 1);
  g_assert_cmpuint (rtp->hdrexts->len, ==, 4);
  g_assert_cmpstr (((BfJingleHdrext *) g_ptr_array_index (rtp->hdrexts, 3))->uri, ==,
                   "urn:ietf:params:rtp-hdrext:sdes:mid");
  g_assert_true (rtp->rtcp_mux);
  g_assert_true (rtp->rtcp_reduced_size);
  g_assert_cmpuint (rtp->sources->len, ==, 1);
  BfJingleIceTransport *ice = audio->ice;
  g_assert_cmpstr (ice->ufrag, ==, "Xe5h");
  g_assert_cmpuint (ice->candidates->len, ==, 0);
  g_assert_cmpstr (ice->fingerprint->value, ==, CHROMIUM_FINGERPRINT);
  g_assert_cmpint (ice->fingerprint->setup, ==, BF_JINGLE_SETUP_ACTPASS);

  BfJingleContent *video = content (j, 1);
  g_assert_cmpstr (video->name, ==, "1");
  rtp = video->rtp;
  g_assert_cmpstr (rtp->media, ==, "video");
  g_assert_cmpuint (rtp->payload_types->len, ==, 23);
  guint n_rtx = 0, n_h264 = 0;
  for (guint i = 0; i < rtp->payload_types->len; i++)
    {
      BfJinglePayloadType *p = pt (rtp, i);
      if (strcmp (p->name, "rtx") == 0)
        {
          n_rtx++;
          g_assert_nonnull (param (p->parameters, "apt"));
        }
      if (strcmp (p->name, "H264") == 0)
        {
          n_h264++;
          g_assert_cmpuint (p->rtcp_fb->len, ==, 5);
          g_assert_nonnull (param (p->parameters, "profile-level-id"));
        }
    }
  g_assert_cmpuint (n_rtx, ==, 11);   /* all but ulpfec */
  g_assert_cmpuint (n_h264, ==, 6);
  BfJingleRtcpFb *fir = g_ptr_array_index (pt (rtp, 0)->rtcp_fb, 2);
  g_assert_cmpstr (fir->type, ==, "ccm");
  g_assert_cmpstr (fir->subtype, ==, "fir");
  g_assert_cmpuint (rtp->hdrexts->len, ==, 11);
  g_assert_cmpuint (rtp->sources->len, ==, 2);
  g_assert_cmpuint (rtp->ssrc_groups->len, ==, 1);
  BfJingleSsrcGroup *fid = g_ptr_array_index (rtp->ssrc_groups, 0);
  g_assert_cmpstr (fid->semantics, ==, "FID");
  g_assert_cmpuint (g_array_index (fid->ssrcs, guint32, 0), ==, 1187439121u);
  g_assert_cmpuint (g_array_index (fid->ssrcs, guint32, 1), ==, 3521876234u);
  g_assert_true (rtp->rtcp_mux);
}

/* StanzaJS trickles each candidate in its own transport-info, without
 * generation, id or network; both contents get theirs (different ports)
 * although they are bundled; libwebrtc also gathers TCP candidates. */
static const char *const chromium_candidates[] = {
  "<iq from='alice@localhost/stanzajs-5f2c' to='echo@relay.localhost' type='set' id='a1'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4'>"
  "<content creator='initiator' name='0'>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='yH3kW0Z9r2QqPqv1mN5tB8cD' ufrag='Xe5h'>"
  "<candidate component='1' foundation='3127532113' ip='127.0.0.1' port='40431'"
  " priority='2122260223' protocol='udp' type='host'/>"
  "</transport></content></jingle></iq>",

  "<iq from='alice@localhost/stanzajs-5f2c' to='echo@relay.localhost' type='set' id='a2'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4'>"
  "<content creator='initiator' name='1'>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='yH3kW0Z9r2QqPqv1mN5tB8cD' ufrag='Xe5h'>"
  "<candidate component='1' foundation='3127532113' ip='127.0.0.1' port='52017'"
  " priority='2122260223' protocol='udp' type='host'/>"
  "</transport></content></jingle></iq>",

  "<iq from='alice@localhost/stanzajs-5f2c' to='echo@relay.localhost' type='set' id='a3'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4'>"
  "<content creator='initiator' name='0'>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='yH3kW0Z9r2QqPqv1mN5tB8cD' ufrag='Xe5h'>"
  "<candidate component='1' foundation='1264421553' ip='127.0.0.1' port='9'"
  " priority='1518280447' protocol='tcp' tcptype='active' type='host'/>"
  "</transport></content></jingle></iq>",

  "<iq from='alice@localhost/stanzajs-5f2c' to='echo@relay.localhost' type='set' id='a4'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4'>"
  "<content creator='initiator' name='0'>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='yH3kW0Z9r2QqPqv1mN5tB8cD' ufrag='Xe5h'>"
  "<candidate component='1' foundation='842163049' ip='203.0.113.7' port='61002'"
  " priority='1686052607' protocol='udp' rel-addr='0.0.0.0' rel-port='0' type='srflx'/>"
  "</transport></content></jingle></iq>",
};

static void
test_chromium_candidates (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (chromium_candidates); i++)
    {
      g_autoptr (BfJingle) j = parse_ok (chromium_candidates[i]);
      g_assert_cmpint (j->action, ==, BF_JINGLE_ACTION_TRANSPORT_INFO);
      g_assert_null (j->initiator);
      BfJingleContent *c = content (j, 0);
      g_assert_cmpint (c->description_kind, ==, BF_JINGLE_DESCRIPTION_NONE);
      g_assert_cmpuint (c->ice->candidates->len, ==, 1);
      BfJingleCandidate *k = cand (c->ice, 0);
      g_assert_cmpuint (k->generation, ==, 0);
      g_assert_cmpstr (k->id, ==, "");
      g_assert_cmpint (k->network, ==, -1);
      g_assert_cmpstr (k->ip, !=, "");
      switch (i)
        {
        case 1:
          g_assert_cmpstr (c->name, ==, "1");
          g_assert_cmpuint (k->port, ==, 52017);
          break;
        case 2:
          g_assert_cmpstr (k->protocol, ==, "tcp");
          g_assert_cmpstr (k->tcptype, ==, "active");
          g_assert_cmpuint (k->port, ==, 9);
          break;
        case 3:
          g_assert_cmpint (k->type, ==, BF_JINGLE_CANDIDATE_SRFLX);
          g_assert_cmpstr (k->rel_addr, ==, "0.0.0.0");
          g_assert_cmpint (k->rel_port, ==, 0);
          break;
        default:
          g_assert_cmpstr (k->tcptype, ==, "");
          break;
        }
    }
}

/* GStreamer webrtcbin (the stand-in for Dino): upper-case codec names,
 * rtcp-mux only, a bundle-only second m-line (its transport carries the
 * bundle's credentials and no candidate), trickle-only candidates, and
 * candidates from libnice with generation, id and network. */
static const char webrtcbin_offer[] =
  "<iq from='bob@localhost/gst' to='echo@relay.localhost' type='set' id='w1'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='bob@localhost/gst'"
  " sid='7e0d4b0c5b6a4f0f'>"
  "<content creator='initiator' name='audio0'>"
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
  "<payload-type id='96' name='OPUS' clockrate='48000' channels='2'>"
  "<parameter name='sprop-maxcapturerate' value='48000'/>"
  "<parameter name='sprop-stereo' value='0'/></payload-type>"
  "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>"
  "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='3484078952'>"
  "<parameter name='cname' value='user1229097353@host-7d2e'/></source>"
  "<rtcp-mux/></description>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='kzQ2eYDOa3Kb3jeChXbOuvmIdDAYjXqZ'"
  " pwd='nxBk7HGvXOHy0QzzYfFqBnF/bn3qT+L1'>"
  "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
  "4c:a1:92:fe:0b:3e:74:9d:27:de:65:10:c4:58:08:1e:f6:b5:91:2d:a3:7c:0e:8f:62:1b:94:d7:38:a0:55:e9"
  "</fingerprint></transport></content>"
  "<content creator='initiator' name='video1'>"
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>"
  "<payload-type id='97' name='VP8' clockrate='90000'>"
  "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>"
  "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='pli'/>"
  "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='ccm' subtype='fir'/>"
  "</payload-type>"
  "<payload-type id='98' name='RTX' clockrate='90000'><parameter name='apt' value='97'/>"
  "</payload-type>"
  "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>"
  "<source ssrc='1910395426'/><source ssrc='2277414919'/></ssrc-group>"
  "<rtcp-mux/></description>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='kzQ2eYDOa3Kb3jeChXbOuvmIdDAYjXqZ'"
  " pwd='nxBk7HGvXOHy0QzzYfFqBnF/bn3qT+L1'>"
  "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
  "4c:a1:92:fe:0b:3e:74:9d:27:de:65:10:c4:58:08:1e:f6:b5:91:2d:a3:7c:0e:8f:62:1b:94:d7:38:a0:55:e9"
  "</fingerprint></transport></content>"
  "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'>"
  "<content name='audio0'/><content name='video1'/></group>"
  "</jingle></iq>";

static const char webrtcbin_candidate[] =
  "<iq from='bob@localhost/gst' to='echo@relay.localhost' type='set' id='w2'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='7e0d4b0c5b6a4f0f'>"
  "<content creator='initiator' name='audio0'>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='kzQ2eYDOa3Kb3jeChXbOuvmIdDAYjXqZ'"
  " pwd='nxBk7HGvXOHy0QzzYfFqBnF/bn3qT+L1'>"
  "<candidate component='1' foundation='1' generation='0' id='c1' ip='127.0.0.1' network='0'"
  " port='47326' priority='2015363327' protocol='UDP' type='host'/>"
  "<candidate component='1' foundation='2' generation='0' id='c2' ip='::1' network='0'"
  " port='59120' priority='2015363583' protocol='UDP' type='host'/>"
  "</transport></content></jingle></iq>";

static void
test_webrtcbin_offer (void)
{
  g_autoptr (BfJingle) j = parse_ok (webrtcbin_offer);
  BfJingleContent *a = content (j, 0), *v = content (j, 1);
  assert_pt (pt (a->rtp, 0), 96, "OPUS", 48000, 2);
  g_assert_cmpuint (a->rtp->rtcp_fb->len, ==, 1);
  g_assert_true (a->rtp->rtcp_mux);
  assert_pt (pt (v->rtp, 0), 97, "VP8", 90000, 1);
  assert_pt (pt (v->rtp, 1), 98, "RTX", 90000, 1);
  g_assert_cmpuint (pt (v->rtp, 0)->rtcp_fb->len, ==, 3);
  g_assert_cmpuint (v->rtp->sources->len, ==, 0);
  g_assert_cmpuint (v->rtp->ssrc_groups->len, ==, 1);
  /* the bundle-only content: same credentials, no candidate */
  g_assert_cmpstr (v->ice->ufrag, ==, a->ice->ufrag);
  g_assert_cmpuint (v->ice->candidates->len, ==, 0);
  /* lower-case fingerprints are normalised */
  g_assert_cmpstr (a->ice->fingerprint->value, ==,
                   "4C:A1:92:FE:0B:3E:74:9D:27:DE:65:10:C4:58:08:1E:F6:B5:91:2D:A3:7C:0E:8F:"
                   "62:1B:94:D7:38:A0:55:E9");
  g_assert_cmpuint (a->ice->fingerprint->setup, ==, BF_JINGLE_SETUP_ACTPASS);

  g_autoptr (BfJingle) t = parse_ok (webrtcbin_candidate);
  BfJingleIceTransport *ice = content (t, 0)->ice;
  g_assert_cmpuint (ice->candidates->len, ==, 2);
  g_assert_cmpstr (cand (ice, 0)->protocol, ==, "udp");
  g_assert_cmpstr (cand (ice, 1)->ip, ==, "::1");
  g_assert_cmpint (cand (ice, 1)->network, ==, 0);
}

/* --- liberal where it is safe --- */

static void
test_liberal (void)
{
  /* No creator, senders, channels; a setup-less fingerprint; numbers with
   * surrounding whitespace; unknown elements anywhere. */
  g_autoptr (BfJingle) j = parse_ok (
    IQ_OPEN ("session-initiate")
    "<content name='c'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
    "<payload-type id=' 96 ' name='opus' clockrate='48000'><x xmlns='urn:example'/></payload-type>"
    "<thumbnail xmlns='urn:xmpp:thumbs:1'/></description>"
    "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'>"
    "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='SHA-1'>"
    "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd</fingerprint>"
    "<candidate component='2' foundation='x' ip='10.0.0.1' port=' 5000' priority='1' "
    "protocol='udp' type='relay'/></transport></content>"
    "<future xmlns='urn:example:future'/>" IQ_CLOSE);
  BfJingleContent *c = content (j, 0);
  g_assert_cmpint (c->creator, ==, BF_JINGLE_CREATOR_INITIATOR);
  g_assert_cmpint (c->senders, ==, BF_JINGLE_SENDERS_BOTH);
  assert_pt (pt (c->rtp, 0), 96, "opus", 48000, 1);
  g_assert_cmpstr (c->ice->fingerprint->hash, ==, "sha-1");
  g_assert_cmpint (c->ice->fingerprint->setup, ==, BF_JINGLE_SETUP_UNSET);
  g_assert_cmpstr (c->ice->fingerprint->value, ==,
                   "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD");
  g_assert_cmpuint (cand (c->ice, 0)->component, ==, 2);
  g_assert_cmpuint (cand (c->ice, 0)->port, ==, 5000);
  g_assert_cmpint (cand (c->ice, 0)->type, ==, BF_JINGLE_CANDIDATE_RELAY);

  /* Boundary values that are valid. */
  g_autofree char *edge = with_candidate ("component='256' foundation='f' ip='::ffff:10.0.0.1' "
                                          "port='65535' priority='4294967295' protocol='udp' "
                                          "type='prflx' generation='4294967295'");
  g_autoptr (BfJingle) e = parse_ok (edge);
  g_assert_cmpuint (cand (content (e, 0)->ice, 0)->priority, ==, G_MAXUINT32);
  g_assert_cmpuint (cand (content (e, 0)->ice, 0)->port, ==, 65535);
  g_autofree char *pt127 = with_rtp ("<payload-type id='127' name='x' channels='255'/>"
                                     "<payload-type id='0' name='PCMU'/>");
  g_autoptr (BfJingle) p = parse_ok (pt127);
  g_assert_cmpuint (pt (content (p, 0)->rtp, 0)->id, ==, 127);
  g_assert_cmpuint (pt (content (p, 0)->rtp, 0)->channels, ==, 255);
  /* A 256-character pwd and a disposition other than session next to one
   * that is. */
  g_autofree char *pwd256 = g_strnfill (256, 'a');
  g_autofree char *attrs = g_strdup_printf ("ufrag='abcd' pwd='%s'", pwd256);
  g_autofree char *longpwd = with_transport (attrs, "");
  g_autoptr (BfJingle) lp = parse_ok (longpwd);
  g_assert_cmpuint (strlen (content (lp, 0)->ice->pwd), ==, 256);
  g_autoptr (BfJingle) d = parse_ok (
    IQ_OPEN ("session-initiate")
    "<content creator='initiator' name='early' disposition='early-session'>" RTP_OPEN PT0
    RTP_CLOSE ICE_EMPTY "</content>"
    "<content creator='initiator' name='main' disposition='session'>" RTP_OPEN PT0 RTP_CLOSE
    ICE_EMPTY "</content>" IQ_CLOSE);
  g_assert_cmpstr (content (d, 0)->disposition, ==, "early-session");
  g_assert_null (content (d, 1)->disposition);
}

/* --- strict where it matters: every refusal --- */

/* "a='1' b='2' ..." from @pairs with @attr set to @value (left out when
 * @value is NULL, added when not among the pairs). */
static char *
attrs_but (const char *const *pairs, const char *attr, const char *value)
{
  GString *s = g_string_new (NULL);
  gboolean seen = FALSE;
  for (guint i = 0; pairs[i]; i += 2)
    {
      const char *v = pairs[i + 1];
      if (strcmp (pairs[i], attr) == 0)
        {
          seen = TRUE;
          v = value;
        }
      if (v)
        g_string_append_printf (s, "%s='%s' ", pairs[i], v);
    }
  if (!seen && value)
    g_string_append_printf (s, "%s='%s' ", attr, value);
  return g_string_free (s, FALSE);
}

static const char *const candidate_attrs[] = {
  "component", "1", "foundation", "1", "ip", "10.0.1.1", "port", "8998",
  "priority", "2130706431", "protocol", "udp", "type", "host", NULL
};

static const char *const payload_attrs[] = {
  "id", "96", "name", "opus", "clockrate", "48000", NULL
};

/* The candidate type (jingle-candidate.h) is fixed-size: the longest
 * foundation, id and address the parser accepts fit whole, one byte more is
 * refused, and a candidate copies by value. */
static void
test_candidate_bounds (void)
{
  g_autofree char *token = g_strnfill (BF_JINGLE_CANDIDATE_TOKEN_MAX, 'f');
  g_autofree char *longer = g_strnfill (BF_JINGLE_CANDIDATE_TOKEN_MAX + 1, 'f');
  const char *v6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  g_autofree char *attrs = g_strdup_printf ("component='1' foundation='%s' id='%s' ip='%s' "
                                            "port='1' priority='1' protocol='UDP' type='srflx' "
                                            "rel-addr='%s' rel-port='2' tcptype='passive'",
                                            token, token, v6, v6);
  g_autofree char *xml = with_candidate (attrs);
  g_autoptr (BfJingle) j = parse_ok (xml);
  BfJingleIceTransport *ice = content (j, 0)->ice;
  const BfJingleCandidate *c = cand (ice, 0);
  g_assert_cmpstr (c->foundation, ==, token);
  g_assert_cmpstr (c->id, ==, token);
  g_assert_cmpstr (c->ip, ==, v6);
  g_assert_cmpstr (c->rel_addr, ==, v6);
  g_assert_cmpstr (c->protocol, ==, "udp");
  g_assert_cmpstr (c->tcptype, ==, "passive");
  BfJingleCandidate *copy = bf_jingle_ice_append_candidate (ice, c);
  c = cand (ice, 0);    /* the array may have moved */
  g_assert_true (copy != c);
  g_assert_cmpmem (copy, sizeof *copy, c, sizeof *c);

  static const char *const attrs_over[] = { "foundation", "id" };
  for (guint i = 0; i < G_N_ELEMENTS (attrs_over); i++)
    {
      g_autofree char *bad_attrs = attrs_but (candidate_attrs, attrs_over[i], longer);
      g_autofree char *bad = with_candidate (bad_attrs);
      g_autofree char *says = g_strdup_printf ("'%s'", attrs_over[i]);
      assert_bad_request (bad, says);
    }
}

static void
test_refuse_candidates (void)
{
  static const struct {
    const char *attr;
    const char *value;
    const char *says;
  } cases[] = {
    { "component", "0", "'component'" },
    { "component", "257", "'component'" },
    { "component", NULL, "'component'" },
    { "component", "one", "'component'" },
    { "foundation", NULL, "'foundation'" },
    { "foundation", "", "'foundation'" },
    { "ip", NULL, "'ip'" },
    { "ip", "not-an-ip", "not an IPv4" },
    { "ip", "3a9c6f42-9b1e-4c1b-8a4e-6d7f2b1e0c5d.local", "not an IPv4" },
    { "ip", "10.0.0.256", "not an IPv4" },
    { "ip", "10.0.0.1 ", "not an IPv4" },
    { "port", NULL, "'port'" },
    { "port", "65536", "'port'" },
    { "port", "-1", "'port'" },
    { "port", "0x10", "'port'" },
    { "priority", NULL, "'priority'" },
    { "priority", "4294967296", "'priority'" },
    { "priority", "99999999999999999999999", "'priority'" },
    { "protocol", NULL, "'protocol'" },
    { "protocol", "sctp", "udp or tcp" },
    { "type", NULL, "'type'" },
    { "type", "bogus", "candidate type" },
    { "generation", "-1", "'generation'" },
    { "generation", "4294967296", "'generation'" },
    { "network", "eth0", "'network'" },
    { "rel-addr", "nowhere", "rel-addr" },
    { "rel-port", "70000", "'rel-port'" },
    { "tcptype", "sideways", "tcptype" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *attrs = attrs_but (candidate_attrs, cases[i].attr, cases[i].value);
      g_autofree char *xml = with_candidate (attrs);
      assert_bad_request (xml, cases[i].says);
    }

  /* 32 candidates are fine, 33 are not. */
  GString *many = g_string_new (NULL);
  for (guint i = 0; i < BF_JINGLE_MAX_CANDIDATES; i++)
    g_string_append_printf (many, "<candidate component='1' foundation='%u' ip='10.0.0.%u' "
                            "port='%u' priority='1' protocol='udp' type='host'/>", i, i, 1000 + i);
  g_autofree char *ok = with_transport ("ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'", many->str);
  g_autoptr (BfJingle) j = parse_ok (ok);
  g_assert_cmpuint (content (j, 0)->ice->candidates->len, ==, BF_JINGLE_MAX_CANDIDATES);
  g_string_append (many, "<candidate component='1' foundation='x' ip='10.0.0.99' port='1' "
                   "priority='1' protocol='udp' type='host'/>");
  g_autofree char *over = with_transport ("ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'", many->str);
  assert_bad_request (over, "more than 32 candidates");
  g_string_free (many, TRUE);

  g_autofree char *rc = with_transport ("ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'",
                                        "<remote-candidate component='1' ip='x' port='1'/>");
  assert_bad_request (rc, "remote-candidate");
  g_autofree char *rcp = with_transport ("ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'",
                                         "<remote-candidate component='1' ip='10.0.0.1'/>");
  assert_bad_request (rcp, "'port'");
}

static void
test_refuse_credentials (void)
{
  g_autofree char *pwd257 = g_strnfill (257, 'a');
  g_autofree char *ufrag257 = g_strnfill (257, 'a');
  g_autofree char *long_pwd = g_strdup_printf ("ufrag='8hhy' pwd='%s'", pwd257);
  g_autofree char *long_ufrag = g_strdup_printf ("ufrag='%s' pwd='asd88fgpdd777uzjYhagZg'",
                                                 ufrag257);
  const struct {
    const char *attrs;
    const char *says;
  } cases[] = {
    { "ufrag='8hh' pwd='asd88fgpdd777uzjYhagZg'", "ufrag must be 4 to 256" },
    { "ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZ'", "pwd must be 22 to 256" },
    { long_pwd, "'pwd' is longer than 256" },
    { long_ufrag, "'ufrag' is longer than 256" },
    { "ufrag='8h:y' pwd='asd88fgpdd777uzjYhagZg'", "letters, digits" },
    { "ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg!'", "letters, digits" },
    { "pwd='asd88fgpdd777uzjYhagZg'", "'pwd' without 'ufrag'" },
    { "ufrag='' pwd=''", "ufrag must be 4" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *xml = with_transport (cases[i].attrs, "");
      assert_bad_request (xml, cases[i].says);
    }
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_jingle_check_ice_credentials (NULL, NULL, &error));
  /* A ufrag alone names the ICE generation of trickled candidates
   * (StanzaJS's transport-info): accepted. */
  g_assert_true (bf_jingle_check_ice_credentials ("8hhy", NULL, &error));
  g_assert_true (bf_jingle_check_ice_credentials ("a+/b", "0123456789abcdefABCD+/", &error));
  g_assert_no_error (error);
}

#define FP32 "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2"

static void
test_refuse_fingerprints (void)
{
  const struct {
    const char *attrs;
    const char *value;
    const char *says;
  } cases[] = {
    { "hash='md5' setup='active'", "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46",
      "unsupported fingerprint hash 'md5'" },
    { "hash='sha-257' setup='active'", FP32, "unsupported fingerprint hash" },
    { "setup='active'", FP32, "'hash'" },
    { "hash='sha-256' setup='active'", "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46",
      "has 32 bytes, not 16" },
    { "hash='sha-1' setup='active'", FP32, "has 20 bytes, not 32" },
    { "hash='sha-512' setup='active'", FP32, "has 64 bytes, not 32" },
    { "hash='sha-256' setup='active'", FP32 ":", "hex bytes" },
    { "hash='sha-256' setup='active'", "ZZ:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2",
      "hex bytes" },
    { "hash='sha-256' setup='active'", "021ACC5427ABEB9C533F3E4B652E7D463F5442CD54F17A03A27DF9B07F4619B2",
      "hex bytes" },
    { "hash='sha-256' setup='active'", "02-1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2",
      "hex bytes" },
    { "hash='sha-256' setup='active'", "2:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2",
      "hex bytes" },
    { "hash='sha-256' setup='active'", "", "hex bytes" },
    { "hash='sha-256' setup='holdconn'", FP32, "actpass, active or passive" },
    { "hash='sha-256' setup='ACTIVE'", FP32, "actpass, active or passive" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *fp = g_strdup_printf ("<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' "
                                             "%s>%s</fingerprint>", cases[i].attrs,
                                             cases[i].value);
      g_autofree char *xml = with_transport ("ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'", fp);
      assert_bad_request (xml, cases[i].says);
    }
  /* The three roles and no role are accepted. */
  const char *roles[] = { "setup='actpass'", "setup='active'", "setup='passive'", "" };
  const BfJingleSetup want[] = { BF_JINGLE_SETUP_ACTPASS, BF_JINGLE_SETUP_ACTIVE,
                                 BF_JINGLE_SETUP_PASSIVE, BF_JINGLE_SETUP_UNSET };
  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    {
      g_autofree char *fp = g_strdup_printf ("<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' "
                                             "hash='sha-256' %s>" FP32 "</fingerprint>", roles[i]);
      g_autofree char *xml = with_transport ("ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'", fp);
      g_autoptr (BfJingle) j = parse_ok (xml);
      g_assert_cmpint (content (j, 0)->ice->fingerprint->setup, ==, want[i]);
    }
}

static void
test_refuse_payload_types (void)
{
  static const struct {
    const char *attr;
    const char *value;
    const char *says;
  } cases[] = {
    { "id", NULL, "'id'" },
    { "id", "128", "'id'" },
    { "id", "-1", "'id'" },
    { "id", "abc", "'id'" },
    { "id", "", "'id'" },
    { "id", "9 6", "'id'" },
    { "channels", "0", "'channels'" },
    { "channels", "256", "'channels'" },
    { "clockrate", "4294967296", "'clockrate'" },
    { "clockrate", "48kHz", "'clockrate'" },
    { "ptime", "x", "'ptime'" },
    { "maxptime", "-20", "'maxptime'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *attrs = attrs_but (payload_attrs, cases[i].attr, cases[i].value);
      g_autofree char *inner = g_strdup_printf ("<payload-type %s/>", attrs);
      g_autofree char *xml = with_rtp (inner);
      assert_bad_request (xml, cases[i].says);
    }

  g_autofree char *dup = with_rtp ("<payload-type id='96' name='a'/><payload-type id='96' name='b'/>");
  assert_bad_request (dup, "payload type 96 appears twice");
  g_autofree char *nomedia = with_description ("<description xmlns='urn:xmpp:jingle:apps:rtp:1'>"
                                               PT0 "</description>");
  assert_bad_request (nomedia, "'media'");
  g_autofree char *badssrc = with_description ("<description xmlns='urn:xmpp:jingle:apps:rtp:1' "
                                               "media='audio' ssrc='4294967296'/>");
  assert_bad_request (badssrc, "'ssrc'");

  GString *many = g_string_new (NULL);
  for (guint i = 0; i < BF_JINGLE_MAX_PAYLOAD_TYPES; i++)
    g_string_append_printf (many, "<payload-type id='%u' name='p%u'/>", i, i);
  g_autofree char *ok = with_rtp (many->str);
  g_autoptr (BfJingle) j = parse_ok (ok);
  g_assert_cmpuint (content (j, 0)->rtp->payload_types->len, ==, 64);
  g_string_append (many, "<payload-type id='100' name='one-too-many'/>");
  g_autofree char *over = with_rtp (many->str);
  assert_bad_request (over, "more than 64 payload types");
  g_string_free (many, TRUE);

  /* parameters */
  GString *params = g_string_new ("<payload-type id='96' name='opus'>");
  for (guint i = 0; i < BF_JINGLE_MAX_PARAMETERS; i++)
    g_string_append_printf (params, "<parameter name='p%u' value='%u'/>", i, i);
  g_autofree char *pok = g_strconcat (params->str, "</payload-type>", NULL);
  g_autofree char *pok_xml = with_rtp (pok);
  g_autoptr (BfJingle) pj = parse_ok (pok_xml);
  g_assert_cmpuint (pt (content (pj, 0)->rtp, 0)->parameters->len, ==, 32);
  g_string_append (params, "<parameter name='last' value='x'/></payload-type>");
  g_autofree char *pover = with_rtp (params->str);
  assert_bad_request (pover, "more than 32 parameters");
  g_string_free (params, TRUE);
  g_autofree char *noname = with_rtp ("<payload-type id='96'><parameter value='1'/></payload-type>");
  assert_bad_request (noname, "'name'");

  /* a name or value that is too long */
  g_autofree char *big = g_strnfill (BF_JINGLE_MAX_STRING + 1, 'x');
  g_autofree char *bigp = g_strdup_printf ("<payload-type id='96'><parameter name='a' value='%s'/>"
                                           "</payload-type>", big);
  g_autofree char *bigxml = with_rtp (bigp);
  assert_bad_request (bigxml, "longer than 1024 bytes");
}

/* Appends @pattern with its "%u" replaced by @n. */
static void
append_with_number (GString *s, const char *pattern, guint n)
{
  const char *at = strstr (pattern, "%u");
  g_assert_nonnull (at);
  g_string_append_len (s, pattern, at - pattern);
  g_string_append_printf (s, "%u", n);
  g_string_append (s, at + 2);
}

static void
test_refuse_rtp_extensions (void)
{
  const struct {
    const char *inner;
    const char *says;
  } cases[] = {
    /* XEP-0293 */
    { "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0'/>", "'type'" },
    { "<rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0'/>", "'value'" },
    { "<rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='-1'/>", "'value'" },
    { "<payload-type id='96'><rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'>"
      "<parameter value='x'/></rtcp-fb></payload-type>", "'name'" },
    /* XEP-0294 */
    { "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='0' uri='urn:x'/>", "'id'" },
    { "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='65536' uri='urn:x'/>", "'id'" },
    { "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' uri='urn:x'/>", "'id'" },
    { "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1'/>", "'uri'" },
    { "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' uri='urn:x' "
      "senders='everyone'/>", "senders" },
    /* XEP-0339 */
    { "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'/>", "'ssrc'" },
    { "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='4294967296'/>", "'ssrc'" },
    { "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'><parameter/></source>", "'name'" },
    { "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'><source ssrc='1'/></ssrc-group>",
      "'semantics'" },
    { "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>"
      "<source ssrc='x'/></ssrc-group>", "'ssrc'" },
    /* XEP-0167 bandwidth */
    { "<bandwidth>128</bandwidth>", "'type'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *xml = with_rtp (cases[i].inner);
      assert_bad_request (xml, cases[i].says);
    }

  /* each list at its limit + 1 */
  const struct {
    const char *fmt;
    guint limit;
    const char *open, *close;
    const char *says;
  } limits[] = {
    { "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='t%u'/>", BF_JINGLE_MAX_RTCP_FB,
      "", "", "more than 32 <rtcp-fb/>" },
    { "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='t%u'/>", BF_JINGLE_MAX_RTCP_FB,
      "<payload-type id='96'>", "</payload-type>", "more than 32 <rtcp-fb/>" },
    { "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='%u' uri='urn:x'/>",
      BF_JINGLE_MAX_HDREXTS, "", "", "more than 32 <rtp-hdrext/>" },
    { "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='%u'/>", BF_JINGLE_MAX_SOURCES,
      "", "", "more than 64 sources" },
    { "<parameter name='p%u'/>", BF_JINGLE_MAX_PARAMETERS,
      "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='7'>", "</source>",
      "more than 32 parameters" },
    { "<parameter name='p%u'/>", BF_JINGLE_MAX_PARAMETERS,
      "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' uri='urn:x'>",
      "</rtp-hdrext>", "more than 32 parameters" },
    { "<parameter name='p%u'/>", BF_JINGLE_MAX_PARAMETERS,
      "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'>", "</rtcp-fb>",
      "more than 32 parameters" },
    { "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='%u'/>"
      "</ssrc-group>", BF_JINGLE_MAX_SSRC_GROUPS, "", "", "more than 32 ssrc-groups" },
    { "<source ssrc='%u'/>", BF_JINGLE_MAX_GROUP_SOURCES,
      "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='SIM'>", "</ssrc-group>",
      "more than 16 sources in one ssrc-group" },
    { "<crypto crypto-suite='AES_CM_128_HMAC_SHA1_80' key-params='inline:x' tag='%u'/>",
      BF_JINGLE_MAX_CRYPTO, "<encryption>", "</encryption>", "more than 16 <crypto/>" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      GString *inner = g_string_new (limits[i].open);
      for (guint k = 1; k <= limits[i].limit; k++)
        append_with_number (inner, limits[i].fmt, k);
      g_autofree char *at = g_strconcat (inner->str, limits[i].close, NULL);
      g_autofree char *at_xml = with_rtp (at);
      g_autoptr (BfJingle) j = parse_ok (at_xml);
      append_with_number (inner, limits[i].fmt, limits[i].limit + 1);
      g_string_append (inner, limits[i].close);
      g_autofree char *over = with_rtp (inner->str);
      assert_bad_request (over, limits[i].says);
      g_string_free (inner, TRUE);
    }
}

static void
test_refuse_structure (void)
{
  const struct {
    const char *xml;
    const char *says;
  } cases[] = {
    { "<message from='a@b/c' to='d@e' id='m'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-info' sid='s'/></message>", "<iq type='set'/>" },
    { "<iq from='a@b/c' to='d@e' id='g' type='get'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-info' sid='s'/></iq>", "<iq type='set'/>" },
    { "<iq from='a@b/c' to='d@e' id='r' type='result'/>", "<iq type='set'/>" },
    { "<iq from='a@b/c' to='d@e' id='n' type='set'><query xmlns='jabber:iq:version'/></iq>",
      "no <jingle" },
    { "<iq from='a@b/c' to='d@e' id='v' type='set'><jingle xmlns='urn:xmpp:jingle:0' "
      "action='session-info' sid='s'/></iq>", "no <jingle" },
    { "<iq from='a@b/c' to='d@e' id='a' type='set'><jingle xmlns='urn:xmpp:jingle:1' sid='s'/></iq>",
      "without an 'action'" },
    { "<iq from='a@b/c' to='d@e' id='u' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-explode' sid='s'/></iq>", "unknown Jingle action 'session-explode'" },
    { "<iq from='a@b/c' to='d@e' id='u' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='Session-Initiate' sid='s'/></iq>", "unknown Jingle action" },
    { "<iq from='a@b/c' to='d@e' id='s' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-info'/></iq>", "'sid'" },
    { "<iq from='a@b/c' to='d@e' id='s' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-info' sid=''/></iq>", "'sid'" },
    { "<iq from='a@b/c' to='d@e' id='j' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-info' sid='s' initiator='@nowhere'/></iq>", "'initiator' is not a valid JID" },
    { "<iq from='a@b/c' to='d@e' id='j' type='set'><jingle xmlns='urn:xmpp:jingle:1' "
      "action='session-accept' sid='s' responder='a@b/'/></iq>", "'responder' is not a valid JID" },
    /* per action (XEP-0166 §7.2) */
    { IQ_OPEN ("session-initiate") IQ_CLOSE, "session-initiate without a <content/>" },
    { IQ_OPEN ("session-accept") IQ_CLOSE, "session-accept without a <content/>" },
    { IQ_OPEN ("content-add") IQ_CLOSE, "content-add without a <content/>" },
    { IQ_OPEN ("content-accept") IQ_CLOSE, "content-accept without a <content/>" },
    { IQ_OPEN ("content-reject") IQ_CLOSE, "content-reject without" },
    { IQ_OPEN ("content-remove") IQ_CLOSE, "content-remove without" },
    { IQ_OPEN ("content-modify") IQ_CLOSE, "content-modify without" },
    { IQ_OPEN ("transport-info") IQ_CLOSE, "transport-info without" },
    { IQ_OPEN ("transport-replace") IQ_CLOSE, "transport-replace without" },
    { IQ_OPEN ("transport-accept") IQ_CLOSE, "transport-accept without" },
    { IQ_OPEN ("transport-reject") IQ_CLOSE, "transport-reject without" },
    { IQ_OPEN ("description-info") IQ_CLOSE, "description-info without" },
    { IQ_OPEN ("security-info") IQ_CLOSE, "security-info without" },
    { IQ_OPEN ("session-initiate") "<content creator='initiator' name='c'>" ICE_EMPTY
      "</content>" IQ_CLOSE, "content 'c' has no <description/>" },
    { IQ_OPEN ("session-initiate") "<content creator='initiator' name='c'>" RTP_OPEN PT0
      RTP_CLOSE "</content>" IQ_CLOSE, "content 'c' has no <transport/>" },
    { IQ_OPEN ("session-accept") "<content creator='initiator' name='c'>" RTP_OPEN PT0
      RTP_CLOSE "</content>" IQ_CLOSE, "session-accept: content 'c' has no <transport/>" },
    { IQ_OPEN ("content-add") "<content creator='initiator' name='c'>" ICE_EMPTY
      "</content>" IQ_CLOSE, "content-add: content 'c' has no <description/>" },
    { IQ_OPEN ("description-info") "<content creator='initiator' name='c'/>" IQ_CLOSE,
      "has no <description/>" },
    { IQ_OPEN ("transport-info") "<content creator='initiator' name='c'>" RTP_OPEN PT0
      RTP_CLOSE "</content>" IQ_CLOSE, "transport-info: content 'c' has no <transport/>" },
    { IQ_OPEN ("content-modify") "<content creator='initiator' name='c'/>" IQ_CLOSE,
      "content-modify: content 'c' has no 'senders'" },
    /* XEP-0166 §7.3 */
    { IQ_OPEN ("content-remove") "<content creator='initiator'/>" IQ_CLOSE, "'name'" },
    { IQ_OPEN ("content-remove") "<content creator='initiator' name=''/>" IQ_CLOSE, "'name'" },
    { IQ_OPEN ("content-remove") "<content creator='both' name='c'/>" IQ_CLOSE,
      "creator must be initiator or responder" },
    { IQ_OPEN ("content-modify") "<content creator='initiator' name='c' senders='all'/>"
      IQ_CLOSE, "senders must be both" },
    { IQ_OPEN ("content-remove") "<content creator='initiator' name='c'/>"
      "<content creator='initiator' name='c'/>" IQ_CLOSE, "content 'c' appears twice" },
    /* §7.2.10 */
    { IQ_OPEN ("session-initiate") "<content creator='initiator' name='c' "
      "disposition='early-session'>" RTP_OPEN PT0 RTP_CLOSE ICE_EMPTY "</content>" IQ_CLOSE,
      "disposition 'session'" },
    /* §7.4 */
    { IQ_OPEN ("session-terminate") "<reason><sadness/></reason>" IQ_CLOSE,
      "unknown reason condition <sadness/>" },
    { IQ_OPEN ("session-terminate") "<reason/>" IQ_CLOSE, "<reason/> without a condition" },
    { IQ_OPEN ("session-terminate") "<reason><text>why</text></reason>" IQ_CLOSE,
      "without a condition" },
    { IQ_OPEN ("session-terminate") "<reason><alternative-session><sid> </sid>"
      "</alternative-session></reason>" IQ_CLOSE, "alternative-session <sid/>" },
    /* XEP-0338 */
    { IQ_OPEN ("session-info") "<group xmlns='urn:xmpp:jingle:apps:grouping:0'/>" IQ_CLOSE,
      "'semantics'" },
    { IQ_OPEN ("session-info") "<group xmlns='urn:xmpp:jingle:apps:grouping:0' "
      "semantics='BUNDLE'><content/></group>" IQ_CLOSE, "'name'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_bad_request (cases[i].xml, cases[i].says);

  /* sid and reason text lengths */
  g_autofree char *sid = g_strnfill (BF_JINGLE_MAX_SID + 1, 's');
  g_autofree char *longsid = g_strdup_printf ("<iq from='a@b/c' to='d@e' id='l' type='set'>"
                                              "<jingle xmlns='urn:xmpp:jingle:1' "
                                              "action='session-info' sid='%s'/></iq>", sid);
  assert_bad_request (longsid, "'sid' is longer than 256");
  g_autofree char *text = g_strnfill (BF_JINGLE_MAX_TEXT + 1, 't');
  g_autofree char *longtext = g_strdup_printf (IQ_OPEN ("session-terminate")
                                               "<reason><gone/><text>%s</text></reason>"
                                               IQ_CLOSE, text);
  assert_bad_request (longtext, "reason text is longer than 4096");

  /* 16 contents are fine, 17 are not; the same for groups. */
  GString *contents = g_string_new (IQ_OPEN ("content-remove"));
  for (guint i = 0; i < BF_JINGLE_MAX_CONTENTS; i++)
    g_string_append_printf (contents, "<content creator='initiator' name='c%u'/>", i);
  g_autofree char *sixteen = g_strconcat (contents->str, IQ_CLOSE, NULL);
  g_autoptr (BfJingle) j = parse_ok (sixteen);
  g_assert_cmpuint (j->contents->len, ==, 16);
  g_string_append (contents, "<content creator='initiator' name='c99'/>" IQ_CLOSE);
  assert_bad_request (contents->str, "more than 16 contents");
  g_string_free (contents, TRUE);

  GString *groups = g_string_new (IQ_OPEN ("session-info"));
  for (guint i = 0; i <= BF_JINGLE_MAX_GROUPS; i++)
    g_string_append (groups, "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='LS'/>");
  g_string_append (groups, IQ_CLOSE);
  assert_bad_request (groups->str, "more than 8 groups");
  g_string_free (groups, TRUE);
  GString *members = g_string_new (IQ_OPEN ("session-info")
                                   "<group xmlns='urn:xmpp:jingle:apps:grouping:0' "
                                   "semantics='BUNDLE'>");
  for (guint i = 0; i <= BF_JINGLE_MAX_GROUP_CONTENTS; i++)
    g_string_append_printf (members, "<content name='m%u'/>", i);
  g_string_append (members, "</group>" IQ_CLOSE);
  assert_bad_request (members->str, "more than 16 contents in one group");
  g_string_free (members, TRUE);
}

/* --- building --- */

static void
test_build_answer (void)
{
  /* A session-accept as a relay answers the Chromium offer: a subset of the
   * payload types, the same content names, setup='active' (Chromium rejects
   * actpass in an answer), candidates, bundle. */
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT,
                                          "c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4");
  j->initiator = g_strdup ("alice@localhost/stanzajs-5f2c");
  j->responder = g_strdup ("echo@relay.localhost");
  const char *names[] = { "0", "1" };
  for (guint i = 0; i < 2; i++)
    {
      BfJingleContent *c = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, names[i]);
      BfJingleRtpDescription *rtp = bf_jingle_content_set_rtp (c, i == 0 ? "audio" : "video");
      if (i == 0)
        {
          BfJinglePayloadType *opus = bf_jingle_rtp_add_payload_type (rtp, 111, "opus", 48000, 2);
          bf_jingle_parameters_add (opus->parameters, "minptime", "10");
          bf_jingle_parameters_add (opus->parameters, "useinbandfec", "1");
          bf_jingle_rtcp_fb_add (opus->rtcp_fb, "transport-cc", NULL);
          bf_jingle_rtp_add_hdrext (rtp, 1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                                    BF_JINGLE_SENDERS_BOTH);
        }
      else
        {
          BfJinglePayloadType *vp8 = bf_jingle_rtp_add_payload_type (rtp, 96, "VP8", 90000, 0);
          bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "nack", "pli");
          bf_jingle_rtcp_fb_add (vp8->rtcp_fb, "ccm", "fir");
          vp8->has_trr_int = TRUE;
          vp8->trr_int = 0;
          BfJinglePayloadType *rtx = bf_jingle_rtp_add_payload_type (rtp, 97, "rtx", 90000, 1);
          bf_jingle_parameters_add (rtx->parameters, "apt", "96");
          bf_jingle_rtcp_fb_add (rtp->rtcp_fb, "goog-remb", NULL);
          bf_jingle_rtp_add_hdrext (rtp, 3, "urn:x-tcc", BF_JINGLE_SENDERS_RESPONDER);
          rtp->extmap_allow_mixed = TRUE;
          guint32 fid[] = { 11, 22 };
          bf_jingle_rtp_add_ssrc_group (rtp, "FID", fid, 2);
          BfJingleSource *s = bf_jingle_rtp_add_source (rtp, 11);
          bf_jingle_parameters_add (s->parameters, "cname", "belfry");
          bf_jingle_parameters_add (s->parameters, "x-novalue", NULL);
          rtp->bandwidth_type = g_strdup ("AS");
          rtp->bandwidth = g_strdup ("2000");
        }
      rtp->rtcp_mux = TRUE;
      rtp->has_ssrc = TRUE;
      rtp->ssrc = i == 0 ? 4000000000u : 11;
      BfJingleIceTransport *ice = bf_jingle_content_set_ice (c, "Bf01", "belfrybelfrybelfry0123");
      bf_jingle_ice_set_fingerprint (ice, "sha-256", BF_JINGLE_SETUP_ACTIVE, FP32);
      BfJingleCandidate *k = bf_jingle_ice_add_candidate (ice, 1, "1", "127.0.0.1", 40000 + i,
                                                          2130706431, "udp",
                                                          BF_JINGLE_CANDIDATE_HOST);
      k->network = 0;
      g_strlcpy (k->id, "bf1", sizeof k->id);
    }
  BfJingleGroup *g = bf_jingle_add_group (j, "BUNDLE");
  g_ptr_array_add (g->contents, g_strdup ("0"));
  g_ptr_array_add (g->contents, g_strdup ("1"));
  assert_round_trip (j);

  g_autoptr (BfStanza) iq = bf_jingle_build (j, "echo@relay.localhost",
                                             "alice@localhost/stanzajs-5f2c", "acc1");
  g_autofree char *xml = bf_stanza_to_string (iq);
  const char *expect[] = {
    "<iq from='echo@relay.localhost' to='alice@localhost/stanzajs-5f2c' id='acc1' type='set'>",
    "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' "
    "initiator='alice@localhost/stanzajs-5f2c' responder='echo@relay.localhost' "
    "sid='c0ffee66-8d12-4f5b-9a7e-31c2d7e0b1a4'>",
    "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='0'/>",
    "<content creator='initiator' name='0'>",
    "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio' ssrc='4000000000'>",
    "<payload-type id='111' name='opus' clockrate='48000' channels='2'>"
    "<parameter name='minptime' value='10'/>",
    "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='transport-cc'/>",
    "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' "
    "uri='urn:ietf:params:rtp-hdrext:ssrc-audio-level'/>",
    "<payload-type id='96' name='VP8' clockrate='90000'>",
    "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack' subtype='pli'/>",
    "<rtcp-fb-trr-int xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' value='0'/>",
    "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='3' uri='urn:x-tcc' "
    "senders='responder'/>",
    "<extmap-allow-mixed xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'/>",
    "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='11'><parameter name='cname' "
    "value='belfry'/><parameter name='x-novalue'/></source>",
    "<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='11'/>"
    "<source ssrc='22'/></ssrc-group>",
    "<rtcp-mux/><bandwidth type='AS'>2000</bandwidth></description>",
    "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='Bf01' "
    "pwd='belfrybelfrybelfry0123'>",
    "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>" FP32
    "</fingerprint>",
    "<candidate component='1' foundation='1' generation='0' id='bf1' ip='127.0.0.1' "
    "network='0' port='40001' priority='2130706431' protocol='udp' type='host'/>",
  };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    if (strstr (xml, expect[i]) == NULL)
      g_error ("built stanza lacks\n  %s\nin\n  %s", expect[i], xml);
}

static void
test_build_others (void)
{
  /* terminate with every reason, text, alternative-session, detail */
  for (guint r = BF_JINGLE_REASON_ALTERNATIVE_SESSION; r <= BF_JINGLE_REASON_UNSUPPORTED_TRANSPORTS;
       r++)
    {
      g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_TERMINATE, "s1");
      BfJingleReason *reason = bf_jingle_set_reason (j, r, r % 2 ? "text & <more>" : NULL);
      if (r == BF_JINGLE_REASON_ALTERNATIVE_SESSION)
        reason->alternative_sid = g_strdup ("other");
      if (r == BF_JINGLE_REASON_SECURITY_ERROR)
        {
          reason->detail_ns = g_strdup (BF_NS_JINGLE_RTP_ERRORS);
          reason->detail_name = g_strdup ("crypto-required");
        }
      assert_round_trip (j);
      BfJingleReasonCondition back;
      g_assert_true (bf_jingle_reason_from_string (bf_jingle_reason_to_string (r), &back));
      g_assert_cmpint (back, ==, r);
    }
  /* every session-info payload */
  for (guint k = BF_JINGLE_INFO_NONE; k <= BF_JINGLE_INFO_RINGING; k++)
    {
      g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INFO, "s1");
      j->info.kind = k;
      if (k == BF_JINGLE_INFO_MUTE)
        {
          j->info.creator = BF_JINGLE_CREATOR_RESPONDER;
          j->info.name = g_strdup ("voice");
        }
      assert_round_trip (j);
    }
  /* every action name both ways; content-modify always writes senders */
  for (guint a = BF_JINGLE_ACTION_CONTENT_ACCEPT; a <= BF_JINGLE_ACTION_TRANSPORT_REPLACE; a++)
    {
      BfJingleAction back;
      g_assert_true (bf_jingle_action_from_string (bf_jingle_action_to_string (a), &back));
      g_assert_cmpint (back, ==, a);
    }
  g_assert_false (bf_jingle_action_from_string ("session-explode", NULL));
  g_assert_false (bf_jingle_action_from_string (NULL, NULL));
  g_assert_null (bf_jingle_action_to_string (99));
  g_autoptr (BfJingle) m = bf_jingle_new (BF_JINGLE_ACTION_CONTENT_MODIFY, "s1");
  bf_jingle_add_content (m, BF_JINGLE_CREATOR_RESPONDER, "webcam");
  g_autoptr (BfStanza) iq = bf_jingle_build (m, NULL, NULL, NULL);
  g_autofree char *xml = bf_stanza_to_string (iq);
  g_assert_cmpstr (xml, ==, "<iq type='set'><jingle xmlns='urn:xmpp:jingle:1' "
                   "action='content-modify' sid='s1'><content creator='responder' "
                   "name='webcam' senders='both'/></jingle></iq>");
  assert_round_trip (m);
  g_assert_true (bf_jingle_find_content (m, "webcam") != NULL);
  g_assert_null (bf_jingle_find_content (m, "voice"));
  /* unsupported formats round-trip by namespace */
  g_autoptr (BfJingle) u = parse_ok (x0176_11);
  g_assert_false (bf_jingle_equal (u, m));
  g_assert_true (bf_jingle_equal (NULL, NULL));
  g_assert_false (bf_jingle_equal (u, NULL));
}

static void
test_error_builders (void)
{
  g_autoptr (BfStanza) iq = parse_xml (x0166_4);
  /* XEP-0166 Example 29, unknown-session */
  g_autoptr (BfStanza) e = bf_jingle_build_error_code (iq, BF_JINGLE_ERROR_UNKNOWN_SESSION, NULL);
  g_assert_cmpstr (bf_stanza_get_attr (e, "from"), ==, "juliet@capulet.lit/balcony");
  g_assert_cmpstr (bf_stanza_get_attr (e, "to"), ==, "romeo@montague.lit/orchard");
  g_assert_cmpstr (bf_stanza_get_attr (e, "id"), ==, "ph37a419");
  BfStanza *err = bf_stanza_find_child (e, "error", NULL);
  g_assert_cmpstr (bf_stanza_get_attr (err, "type"), ==, "cancel");
  g_assert_nonnull (bf_stanza_find_child (err, "item-not-found", BF_NS_STANZAS));
  g_assert_nonnull (bf_stanza_find_child (err, "unknown-session", BF_NS_JINGLE_ERRORS));
  g_assert_null (bf_stanza_find_child (err, "text", BF_NS_STANZAS));

  const struct {
    BfJingleErrorCode code;
    const char *type, *condition, *jingle;
  } map[] = {
    { BF_JINGLE_ERROR_BAD_REQUEST, "modify", "bad-request", NULL },
    { BF_JINGLE_ERROR_OUT_OF_ORDER, "wait", "unexpected-request", "out-of-order" },
    { BF_JINGLE_ERROR_TIE_BREAK, "cancel", "conflict", "tie-break" },
    { BF_JINGLE_ERROR_UNKNOWN_SESSION, "cancel", "item-not-found", "unknown-session" },
    { BF_JINGLE_ERROR_UNSUPPORTED_INFO, "modify", "feature-not-implemented", "unsupported-info" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    {
      BfJingleErrorInfo info;
      bf_jingle_error_code_get_info (map[i].code, &info);
      g_assert_cmpstr (info.type, ==, map[i].type);
      g_assert_cmpstr (info.condition, ==, map[i].condition);
      g_assert_cmpstr (info.jingle_condition, ==, map[i].jingle);
      g_autoptr (BfStanza) r = bf_jingle_build_error_code (iq, map[i].code, "why");
      BfStanza *er = bf_stanza_find_child (r, "error", NULL);
      g_assert_cmpstr (bf_stanza_find_child_text (er, "text", BF_NS_STANZAS), ==, "why");
      /* RFC 6120 §8.3.2: the application condition comes last */
      BfStanzaIter it;
      BfStanza *child, *last = NULL;
      bf_stanza_iter_init (&it, er);
      while (bf_stanza_iter_next (&it, &child))
        last = child;
      if (map[i].jingle)
        g_assert_cmpstr (bf_stanza_get_name (last), ==, map[i].jingle);
    }
  /* a foreign error is an internal-server-error */
  g_autoptr (GError) other = g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_FAILED, "boom");
  BfJingleErrorInfo info;
  bf_jingle_error_get_info (other, &info);
  g_assert_cmpstr (info.condition, ==, "internal-server-error");
  bf_jingle_error_get_info (NULL, &info);
  g_assert_cmpstr (info.type, ==, "cancel");
}

/* --- helpers for whoever answers, mirrors or keeps a session --- */

static void
test_copy_groups (void)
{
  g_autoptr (BfJingle) offer = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  BfJingleGroup *bundle = bf_jingle_add_group (offer, "BUNDLE");
  g_ptr_array_add (bundle->contents, g_strdup ("0"));
  g_ptr_array_add (bundle->contents, g_strdup ("1"));
  BfJingleGroup *ls = bf_jingle_add_group (offer, "LS");
  g_ptr_array_add (ls->contents, g_strdup ("1"));
  g_autoptr (BfJingle) answer = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, "sid");
  bf_jingle_add_group (answer, "FID");   /* kept, the copies come after it */

  bf_jingle_copy_groups (answer, offer);
  g_assert_cmpuint (answer->groups->len, ==, 3);
  const BfJingleGroup *g0 = g_ptr_array_index (answer->groups, 0);
  const BfJingleGroup *g1 = g_ptr_array_index (answer->groups, 1);
  const BfJingleGroup *g2 = g_ptr_array_index (answer->groups, 2);
  g_assert_cmpstr (g0->semantics, ==, "FID");
  g_assert_cmpuint (g0->contents->len, ==, 0);
  g_assert_cmpstr (g1->semantics, ==, "BUNDLE");
  g_assert_cmpuint (g1->contents->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (g1->contents, 0), ==, "0");
  g_assert_cmpstr (g_ptr_array_index (g1->contents, 1), ==, "1");
  g_assert_cmpstr (g2->semantics, ==, "LS");
  g_assert_cmpuint (g2->contents->len, ==, 1);
  /* deep copies: the offer can go first */
  g_assert_true (g1 != bundle && g1->contents != bundle->contents);
  g_assert_true (g_ptr_array_index (g1->contents, 0) != g_ptr_array_index (bundle->contents, 0));
  g_clear_pointer (&offer, bf_jingle_free);
  g_assert_cmpstr (g_ptr_array_index (g1->contents, 1), ==, "1");

  /* nothing to copy */
  g_autoptr (BfJingle) none = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  bf_jingle_copy_groups (answer, none);
  g_assert_cmpuint (answer->groups->len, ==, 3);
}

static void
test_content_take_rtp (void)
{
  g_autoptr (BfJingleContent) c = bf_jingle_content_new (BF_JINGLE_CREATOR_INITIATOR, "0");
  /* from no description, and over one of another media */
  BfJingleRtpDescription *audio = bf_jingle_rtp_description_new ("audio");
  bf_jingle_rtp_add_payload_type (audio, 111, "opus", 48000, 2);
  g_assert_true (bf_jingle_content_take_rtp (c, audio) == audio);
  g_assert_true (c->rtp == audio);
  g_assert_cmpint (c->description_kind, ==, BF_JINGLE_DESCRIPTION_RTP);
  g_assert_cmpstr (c->description_ns, ==, BF_NS_JINGLE_RTP);
  BfJingleRtpDescription *video = bf_jingle_rtp_description_new ("video");
  g_assert_true (bf_jingle_content_take_rtp (c, video) == video);   /* audio freed */
  g_assert_true (c->rtp == video);
  g_assert_cmpstr (c->rtp->media, ==, "video");
  g_assert_cmpuint (c->rtp->payload_types->len, ==, 0);

  /* over a description of another application */
  g_autoptr (BfJingleContent) ft = bf_jingle_content_new (BF_JINGLE_CREATOR_INITIATOR, "f");
  ft->description_kind = BF_JINGLE_DESCRIPTION_UNSUPPORTED;
  ft->description_ns = g_strdup ("urn:xmpp:jingle:apps:file-transfer:5");
  bf_jingle_content_take_rtp (ft, bf_jingle_rtp_description_new ("audio"));
  g_assert_cmpint (ft->description_kind, ==, BF_JINGLE_DESCRIPTION_RTP);
  g_assert_cmpstr (ft->description_ns, ==, BF_NS_JINGLE_RTP);
  g_assert_cmpstr (ft->rtp->media, ==, "audio");
}

static void
test_remove_content (void)
{
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_ACCEPT, "sid");
  bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "0");
  bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "1");
  bf_jingle_add_content (j, BF_JINGLE_CREATOR_RESPONDER, "1");
  bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "2");

  g_assert_false (bf_jingle_remove_content (j, "3"));
  g_assert_cmpuint (j->contents->len, ==, 4);
  /* the first of that name only, and the others keep their order */
  g_assert_true (bf_jingle_remove_content (j, "1"));
  g_assert_cmpuint (j->contents->len, ==, 3);
  const BfJingleContent *c1 = g_ptr_array_index (j->contents, 1);
  g_assert_cmpstr (c1->name, ==, "1");
  g_assert_cmpint (c1->creator, ==, BF_JINGLE_CREATOR_RESPONDER);
  g_assert_true (bf_jingle_remove_content (j, "1"));
  g_assert_null (bf_jingle_find_content (j, "1"));
  g_assert_cmpstr (((BfJingleContent *) g_ptr_array_index (j->contents, 0))->name, ==, "0");
  g_assert_cmpstr (((BfJingleContent *) g_ptr_array_index (j->contents, 1))->name, ==, "2");
  g_assert_true (bf_jingle_remove_content (j, "0"));
  g_assert_true (bf_jingle_remove_content (j, "2"));
  g_assert_cmpuint (j->contents->len, ==, 0);
  g_assert_false (bf_jingle_remove_content (j, "2"));
  /* a session without that side's description yet */
  g_assert_false (bf_jingle_remove_content (NULL, "0"));
}

static void
test_first_fingerprint (void)
{
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  g_assert_null (bf_jingle_first_fingerprint (j));
  BfJingleContent *c0 = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "0");
  g_assert_null (bf_jingle_first_fingerprint (j));   /* no transport */
  BfJingleIceTransport *ice0 = bf_jingle_content_set_ice (c0, "u0", "p0");
  g_assert_null (bf_jingle_first_fingerprint (j));   /* a transport without one */
  BfJingleContent *c1 = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "1");
  BfJingleIceTransport *ice1 = bf_jingle_content_set_ice (c1, "u1", "p1");
  BfJingleFingerprint *f1 = bf_jingle_ice_set_fingerprint (ice1, "sha-256",
                                                           BF_JINGLE_SETUP_ACTPASS, "AA:BB");
  /* on the second content only (a client that puts it there) */
  g_assert_true (bf_jingle_first_fingerprint (j) == f1);
  /* on both: the first content's */
  BfJingleFingerprint *f0 = bf_jingle_ice_set_fingerprint (ice0, "sha-1",
                                                           BF_JINGLE_SETUP_ACTIVE, "CC:DD");
  g_assert_true (bf_jingle_first_fingerprint (j) == f0);
}

/* Trickled candidates: into the content of the same name, up to the limit
 * of one transport, where the rest of the request is dropped. */
static void
test_merge_candidates (void)
{
  g_autoptr (BfJingle) offer = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  BfJingleIceTransport *a = bf_jingle_content_set_ice (
    bf_jingle_add_content (offer, BF_JINGLE_CREATOR_INITIATOR, "a"), "ua", "pa");
  bf_jingle_ice_add_candidate (a, 1, "1", "127.0.0.1", 4000, 100, NULL, BF_JINGLE_CANDIDATE_HOST);
  BfJingleIceTransport *v = bf_jingle_content_set_ice (
    bf_jingle_add_content (offer, BF_JINGLE_CREATOR_INITIATOR, "v"), "uv", "pv");
  bf_jingle_add_content (offer, BF_JINGLE_CREATOR_INITIATOR, "x");   /* no transport */

  g_autoptr (BfJingle) info = bf_jingle_new (BF_JINGLE_ACTION_TRANSPORT_INFO, "sid");
  BfJingleIceTransport *ta = bf_jingle_content_set_ice (
    bf_jingle_add_content (info, BF_JINGLE_CREATOR_INITIATOR, "a"), "ua", "pa");
  BfJingleCandidate *k = bf_jingle_ice_add_candidate (ta, 1, "2", "::1", 4002, 90, "tcp",
                                                      BF_JINGLE_CANDIDATE_SRFLX);
  g_strlcpy (k->rel_addr, "127.0.0.2", sizeof k->rel_addr);
  k->rel_port = 5002;
  k->generation = 1;
  BfJingleIceTransport *tv = bf_jingle_content_set_ice (
    bf_jingle_add_content (info, BF_JINGLE_CREATOR_INITIATOR, "v"), "uv", "pv");
  bf_jingle_ice_add_candidate (tv, 1, "3", "127.0.0.1", 4004, 80, NULL, BF_JINGLE_CANDIDATE_HOST);
  bf_jingle_ice_add_candidate (tv, 2, "3", "127.0.0.1", 4005, 79, NULL, BF_JINGLE_CANDIDATE_HOST);
  /* skipped: a content the offer has not, one without a transport there */
  BfJingleIceTransport *tz = bf_jingle_content_set_ice (
    bf_jingle_add_content (info, BF_JINGLE_CREATOR_INITIATOR, "z"), "uz", "pz");
  bf_jingle_ice_add_candidate (tz, 1, "9", "127.0.0.9", 4009, 1, NULL, BF_JINGLE_CANDIDATE_HOST);
  BfJingleIceTransport *tx = bf_jingle_content_set_ice (
    bf_jingle_add_content (info, BF_JINGLE_CREATOR_INITIATOR, "x"), "ux", "px");
  bf_jingle_ice_add_candidate (tx, 1, "8", "127.0.0.8", 4008, 1, NULL, BF_JINGLE_CANDIDATE_HOST);

  g_assert_true (bf_jingle_merge_candidates (offer, info));
  g_assert_cmpuint (a->candidates->len, ==, 2);
  const BfJingleCandidate *got = g_ptr_array_index (a->candidates, 1);
  g_assert_true (got != k);   /* a copy: the transport-info can go */
  g_assert_cmpmem (got, sizeof *got, k, sizeof *k);
  g_assert_cmpuint (v->candidates->len, ==, 2);
  g_assert_cmpuint (((BfJingleCandidate *) g_ptr_array_index (v->candidates, 1))->port, ==, 4005);
  g_assert_null (bf_jingle_find_content (offer, "z"));
  g_assert_null (bf_jingle_find_content (offer, "x")->ice);

  /* the limit: "a" fills up, and what comes after in the request ("v") is
   * dropped with the rest */
  g_autoptr (BfJingle) many = bf_jingle_new (BF_JINGLE_ACTION_TRANSPORT_INFO, "sid");
  BfJingleIceTransport *ma = bf_jingle_content_set_ice (
    bf_jingle_add_content (many, BF_JINGLE_CREATOR_INITIATOR, "a"), "ua", "pa");
  for (guint i = 0; i < BF_JINGLE_MAX_CANDIDATES; i++)
    bf_jingle_ice_add_candidate (ma, 1, "4", "127.0.0.1", (guint16) (6000 + i), 1, NULL,
                                 BF_JINGLE_CANDIDATE_HOST);
  BfJingleIceTransport *mv = bf_jingle_content_set_ice (
    bf_jingle_add_content (many, BF_JINGLE_CREATOR_INITIATOR, "v"), "uv", "pv");
  bf_jingle_ice_add_candidate (mv, 1, "5", "127.0.0.1", 7000, 1, NULL, BF_JINGLE_CANDIDATE_HOST);
  g_assert_false (bf_jingle_merge_candidates (offer, many));
  g_assert_cmpuint (a->candidates->len, ==, BF_JINGLE_MAX_CANDIDATES);
  g_assert_cmpuint (((BfJingleCandidate *) g_ptr_array_index (a->candidates, 2))->port, ==, 6000);
  g_assert_cmpuint (((BfJingleCandidate *) g_ptr_array_index (
                       a->candidates, BF_JINGLE_MAX_CANDIDATES - 1))->port,
                    ==, 6000 + BF_JINGLE_MAX_CANDIDATES - 3);
  g_assert_cmpuint (v->candidates->len, ==, 2);
  /* full: nothing more goes in */
  g_assert_false (bf_jingle_merge_candidates (offer, info));
  g_assert_cmpuint (a->candidates->len, ==, BF_JINGLE_MAX_CANDIDATES);
  g_assert_cmpuint (v->candidates->len, ==, 2);
}

/* Extra <jingle/> children (XEP-0298 <conference-info/> on a
 * session-initiate): built after the contents, intact, copied; refused
 * over the limits, without a namespace of their own, or in Jingle's. */
static void
test_extra_children (void)
{
  g_autoptr (BfJingle) j = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  BfJingleContent *c = bf_jingle_add_content (j, BF_JINGLE_CREATOR_INITIATOR, "a");
  bf_jingle_rtp_add_payload_type (bf_jingle_content_set_rtp (c, "audio"), 111, "opus", 48000, 2);
  bf_jingle_content_set_ice (c, "ufrag1", "pwd4567890123456789012");
  g_autoptr (BfStanza) info = bf_stanza_new ("conference-info",
                                             "urn:ietf:params:xml:ns:conference-info");
  bf_stanza_set_attr (info, "isfocus", "true");
  BfStanza *user = bf_stanza_add_child (info, "user", NULL);
  bf_stanza_set_attr (user, "entity", "xmpp:romeo@montague.lit/orchard");
  BfStanza *const one[] = { info, NULL };
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_jingle_set_extra (j, one, &error));
  g_assert_no_error (error);
  bf_stanza_set_attr (user, "entity", "changed");   /* copied: the caller's is its own */

  g_autoptr (BfStanza) iq = bf_jingle_build (j, "a@b/c", "d@e/f", "id1");
  BfStanza *jingle = bf_stanza_find_child (iq, "jingle", BF_NS_JINGLE);
  BfStanzaIter it;
  BfStanza *child, *last = NULL;
  bf_stanza_iter_init (&it, jingle);
  while (bf_stanza_iter_next (&it, &child))
    last = child;
  g_assert_cmpstr (bf_stanza_get_name (last), ==, "conference-info");
  g_assert_cmpstr (bf_stanza_get_ns (last), ==, "urn:ietf:params:xml:ns:conference-info");
  g_assert_cmpstr (bf_stanza_get_attr (last, "isfocus"), ==, "true");
  BfStanza *u = bf_stanza_find_child (last, "user", "urn:ietf:params:xml:ns:conference-info");
  g_assert_nonnull (u);
  g_assert_cmpstr (bf_stanza_get_attr (u, "entity"), ==, "xmpp:romeo@montague.lit/orchard");
  /* The parser does not keep them; the contents are unchanged by them. */
  g_autoptr (BfJingle) back = bf_jingle_parse (iq, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->extra->len, ==, 0);
  g_assert_false (bf_jingle_equal (back, j));
  g_autoptr (BfJingle) copy = bf_jingle_new (BF_JINGLE_ACTION_SESSION_INITIATE, "sid");
  bf_jingle_copy_extra (copy, j);
  g_assert_cmpuint (copy->extra->len, ==, 1);
  bf_jingle_copy_extra (back, j);
  g_assert_true (bf_jingle_equal (back, j));

  /* Refusals leave the extras as they were. */
  g_autoptr (BfStanza) nons = bf_stanza_new ("content", NULL);
  BfStanza *const bad_nons[] = { nons, NULL };
  g_assert_false (bf_jingle_set_extra (j, bad_nons, &error));
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST);
  g_clear_error (&error);
  static const char *const jingle_ns[] = { BF_NS_JINGLE, BF_NS_JINGLE_GROUPING,
                                           BF_NS_JINGLE_RTP_INFO, BF_NS_JINGLE_ICE_UDP };
  for (guint i = 0; i < G_N_ELEMENTS (jingle_ns); i++)
    {
      g_autoptr (BfStanza) el = bf_stanza_new ("reason", jingle_ns[i]);
      BfStanza *const bad[] = { el, NULL };
      g_assert_false (bf_jingle_set_extra (j, bad, &error));
      g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST);
      g_assert_nonnull (strstr (error->message, "Jingle namespace"));
      g_clear_error (&error);
    }
  /* An element inside another tree inherits its namespace there; its copy
   * has none of its own. */
  g_autoptr (BfStanza) outer = bf_stanza_new ("outer", "urn:example:x");
  BfStanza *inner = bf_stanza_add_child (outer, "inner", NULL);
  BfStanza *const inherited[] = { inner, NULL };
  g_assert_false (bf_jingle_set_extra (j, inherited, &error));
  g_clear_error (&error);
  /* Too many, too big: one over each limit; at the limits it fits. */
  BfStanza *many[BF_JINGLE_MAX_EXTRA + 2] = { NULL };
  for (guint i = 0; i < BF_JINGLE_MAX_EXTRA + 1; i++)
    many[i] = info;
  g_assert_false (bf_jingle_set_extra (j, many, &error));
  g_assert_nonnull (strstr (error->message, "more than"));
  g_clear_error (&error);
  many[BF_JINGLE_MAX_EXTRA] = NULL;
  g_assert_true (bf_jingle_set_extra (j, many, &error));
  g_assert_cmpuint (j->extra->len, ==, BF_JINGLE_MAX_EXTRA);
  g_autoptr (BfStanza) big = bf_stanza_new ("x", "urn:example:x");
  g_autofree char *text = g_strnfill (BF_JINGLE_MAX_EXTRA_BYTES, 'a');
  bf_stanza_add_text (big, text, -1);
  BfStanza *const too_big[] = { big, NULL };
  g_assert_false (bf_jingle_set_extra (j, too_big, &error));
  g_assert_nonnull (strstr (error->message, "bytes"));
  g_clear_error (&error);
  g_assert_cmpuint (j->extra->len, ==, BF_JINGLE_MAX_EXTRA);
  /* NULL clears. */
  g_assert_true (bf_jingle_set_extra (j, NULL, &error));
  g_assert_cmpuint (j->extra->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jingle/xep-0166/stub", test_0166_stub);
  g_test_add_func ("/jingle/xep-0166/terminate", test_0166_terminate);
  g_test_add_func ("/jingle/xep-0166/initiate-accept", test_0166_initiate_accept);
  g_test_add_func ("/jingle/xep-0166/session-info", test_0166_session_info);
  g_test_add_func ("/jingle/xep-0167/initiate-accept", test_0167_initiate_accept);
  g_test_add_func ("/jingle/xep-0167/session-info", test_0167_session_info);
  g_test_add_func ("/jingle/xep-0167/terminate-reasons", test_0167_terminate_reasons);
  g_test_add_func ("/jingle/xep-0167/description-info", test_0167_description_info);
  g_test_add_func ("/jingle/xep-0167/sdes", test_0167_sdes);
  g_test_add_func ("/jingle/xep-0167/content-flow", test_0167_content_flow);
  g_test_add_func ("/jingle/xep-0176/examples", test_0176_examples);
  g_test_add_func ("/jingle/xep-0320/examples", test_0320_examples);
  g_test_add_func ("/jingle/xep-0293/examples", test_0293_examples);
  g_test_add_func ("/jingle/xep-0294/examples", test_0294_examples);
  g_test_add_func ("/jingle/xep-0339/examples", test_0339_examples);
  g_test_add_func ("/jingle/xep-0338/group", test_0338_group);
  g_test_add_func ("/jingle/client/chromium-offer", test_chromium_offer);
  g_test_add_func ("/jingle/client/chromium-candidates", test_chromium_candidates);
  g_test_add_func ("/jingle/client/webrtcbin", test_webrtcbin_offer);
  g_test_add_func ("/jingle/liberal", test_liberal);
  g_test_add_func ("/jingle/refuse/candidates", test_refuse_candidates);
  g_test_add_func ("/jingle/candidate/bounds", test_candidate_bounds);
  g_test_add_func ("/jingle/refuse/credentials", test_refuse_credentials);
  g_test_add_func ("/jingle/refuse/fingerprints", test_refuse_fingerprints);
  g_test_add_func ("/jingle/refuse/payload-types", test_refuse_payload_types);
  g_test_add_func ("/jingle/refuse/rtp-extensions", test_refuse_rtp_extensions);
  g_test_add_func ("/jingle/refuse/structure", test_refuse_structure);
  g_test_add_func ("/jingle/build/answer", test_build_answer);
  g_test_add_func ("/jingle/build/others", test_build_others);
  g_test_add_func ("/jingle/errors", test_error_builders);
  g_test_add_func ("/jingle/model/copy-groups", test_copy_groups);
  g_test_add_func ("/jingle/model/content-take-rtp", test_content_take_rtp);
  g_test_add_func ("/jingle/model/remove-content", test_remove_content);
  g_test_add_func ("/jingle/model/first-fingerprint", test_first_fingerprint);
  g_test_add_func ("/jingle/model/merge-candidates", test_merge_candidates);
  g_test_add_func ("/jingle/model/extra-children", test_extra_children);
  return g_test_run ();
}
