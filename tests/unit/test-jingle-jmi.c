/* Unit tests: Jingle Message Initiation (jingle/jmi.h, XEP-0353), with the
 * specification's own examples. */
#include <string.h>
#include <glib.h>

#include <belfry/stanza.h>
#include "xmlstream.h"
#include "jmi.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='t'>"
#define ID "ca3cf894-5325-482f-a412-a6e9f832298d"

static void
collect (gpointer data, BfStanza *stanza)
{
  g_ptr_array_add (data, stanza);
}

static BfStanza *
parse_xml (const char *xml)
{
  static const BfXmlStreamCallbacks cb = { NULL, collect, NULL };
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &cb, got);
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_xml_stream_feed (parser, HEADER, strlen (HEADER), &error));
  g_assert_true (bf_xml_stream_feed (parser, xml, strlen (xml), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got->len, ==, 1);
  return g_ptr_array_steal_index (got, 0);
}

static void
assert_round_trip (const BfJmi *jmi)
{
  g_autoptr (BfStanza) msg = bf_jmi_build (jmi, "romeo@montague.example/orchard",
                                           "juliet@capulet.example", "m1");
  g_autofree char *xml = bf_stanza_to_string (msg);
  g_autoptr (BfStanza) again = parse_xml (xml);
  g_assert_cmpstr (bf_stanza_get_attr (again, "type"), ==, "chat");
  g_assert_nonnull (bf_stanza_find_child (again, "store", BF_NS_HINTS));
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJmi) back = bf_jmi_parse (again, &error);
  g_assert_no_error (error);
  g_assert_true (bf_jmi_equal (jmi, back));
}

static BfJmi *
parse_ok (const char *xml)
{
  g_autoptr (BfStanza) msg = parse_xml (xml);
  g_autoptr (GError) error = NULL;
  BfJmi *jmi = bf_jmi_parse (msg, &error);
  g_assert_no_error (error);
  g_assert_nonnull (jmi);
  assert_round_trip (jmi);
  return jmi;
}

static void
assert_bad (const char *xml, const char *says)
{
  g_autoptr (BfStanza) msg = parse_xml (xml);
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJmi) jmi = bf_jmi_parse (msg, &error);
  g_assert_null (jmi);
  g_assert_error (error, BF_JINGLE_ERROR, BF_JINGLE_ERROR_BAD_REQUEST);
  if (strstr (error->message, says) == NULL)
    g_error ("error '%s' does not mention '%s'", error->message, says);
}

/* XEP-0353 Example 1, verbatim. */
static const char x0353_1[] =
  "<message from='romeo@montague.example/orchard'\n"
  "         to='juliet@capulet.example'\n"
  "         type='chat'>\n"
  "  <propose xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'>\n"
  "    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>\n"
  "  </propose>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* XEP-0353 Example 3, verbatim. */
static const char x0353_3[] =
  "<message from='juliet@capulet.example/phone'\n"
  "         to='romeo@montague.example/orchard'\n"
  "         type='chat'>\n"
  "  <ringing xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'/>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* XEP-0353 Example 4, verbatim. */
static const char x0353_4[] =
  "<message from='romeo@montague.example/orchard'\n"
  "         to='juliet@capulet.example'\n"
  "         type='chat'>\n"
  "  <retract xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'>\n"
  "    <reason xmlns=\"urn:xmpp:jingle:1\">\n"
  "      <cancel/>\n"
  "      <text>Retracted</text>\n"
  "    </reason>\n"
  "  </retract>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* XEP-0353 Example 5, verbatim. */
static const char x0353_5[] =
  "<message from='juliet@capulet.example/phone'\n"
  "         to='romeo@montague.example/orchard'\n"
  "         type='chat'>\n"
  "  <proceed xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'/>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* XEP-0353 Example 7, verbatim. */
static const char x0353_7[] =
  "<message from='juliet@capulet.example/phone'\n"
  "         to='romeo@montague.example/orchard'\n"
  "         type='chat'>\n"
  "  <reject xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'>\n"
  "    <reason xmlns=\"urn:xmpp:jingle:1\">\n"
  "      <busy/>\n"
  "      <text>Busy</text>\n"
  "    </reason>\n"
  "  </reject>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* XEP-0353 Example 9, verbatim. */
static const char x0353_9[] =
  "<message from='romeo@montague.example/orchard'\n"
  "         to='juliet@capulet.example/phone'\n"
  "         type='chat'>\n"
  "  <finish xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'>\n"
  "    <reason xmlns=\"urn:xmpp:jingle:1\">\n"
  "      <success/>\n"
  "      <text>Success</text>\n"
  "    </reason>\n"
  "  </finish>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* XEP-0353 Example 10, verbatim. */
static const char x0353_10[] =
  "<message from='juliet@capulet.example/phone'\n"
  "         to='romeo@montague.example/orchard'\n"
  "         type='chat'>\n"
  "  <finish xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'>\n"
  "    <reason xmlns=\"urn:xmpp:jingle:1\">\n"
  "      <success/>\n"
  "      <text>Success</text>\n"
  "    </reason>\n"
  "  </finish>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";


/* §4.1 Example 11, Juliet's retract; the example closes it with </reject>,
 * which is not XML: fixed here. */
static const char x0353_11_retract[] =
  "<message from='juliet@capulet.example/phone'\n"
  "         to='romeo@montague.example/orchard'\n"
  "         type='chat'>\n"
  "  <retract xmlns='urn:xmpp:jingle-message:0' id='fecbea35-08d3-404f-9ec7-2b57c566fa74'>\n"
  "    <reason xmlns=\"urn:xmpp:jingle:1\">\n"
  "      <expired/>\n"
  "      <text>Tie-Break</text>\n"
  "    </reason>\n"
  "    <tie-break/>\n"
  "  </retract>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* §4.1 Example 11, Romeo's reject, verbatim. */
static const char x0353_11_reject[] =
  "<message from='romeo@montague.example/orchard'\n"
  "         to='juliet@capulet.example'\n"
  "         type='chat'>\n"
  "  <reject xmlns='urn:xmpp:jingle-message:0' id='fecbea35-08d3-404f-9ec7-2b57c566fa74'>\n"
  "    <reason xmlns=\"urn:xmpp:jingle:1\">\n"
  "      <expired/>\n"
  "      <text>Tie-Break</text>\n"
  "    </reason>\n"
  "    <tie-break/>\n"
  "  </reject>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

/* §4.2 Example 12, the finish of a migrated session, verbatim. */
static const char x0353_12_finish[] =
  "<message from='romeo@montague.example/orchard'\n"
  "         to='juliet@capulet.example'\n"
  "         type='chat'>\n"
  "  <finish xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'>\n"
  "    <reason xmlns=\"urn:xmpp:jingle:1\">\n"
  "      <expired/>\n"
  "      <text>Session migrated</text>\n"
  "    </reason>\n"
  "    <migrated to='989a46a6-f202-4910-a7c3-83c6ba3f3947'/>\n"
  "  </finish>\n"
  "  <store xmlns=\"urn:xmpp:hints\"/>\n"
  "</message>";

static void
test_examples (void)
{
  g_autoptr (BfJmi) propose = parse_ok (x0353_1);
  g_assert_cmpint (propose->type, ==, BF_JMI_PROPOSE);
  g_assert_cmpstr (propose->id, ==, ID);
  g_assert_cmpuint (propose->descriptions->len, ==, 1);
  BfJmiDescription *d = g_ptr_array_index (propose->descriptions, 0);
  g_assert_cmpstr (d->ns, ==, "urn:xmpp:jingle:apps:rtp:1");
  g_assert_cmpstr (d->media, ==, "audio");
  g_assert_null (propose->reason);

  g_autoptr (BfJmi) ringing = parse_ok (x0353_3);
  g_assert_cmpint (ringing->type, ==, BF_JMI_RINGING);
  g_assert_cmpstr (ringing->id, ==, ID);

  g_autoptr (BfJmi) retract = parse_ok (x0353_4);
  g_assert_cmpint (retract->type, ==, BF_JMI_RETRACT);
  g_assert_cmpint (retract->reason->condition, ==, BF_JINGLE_REASON_CANCEL);
  g_assert_cmpstr (retract->reason->text, ==, "Retracted");
  g_assert_false (retract->tie_break);

  g_autoptr (BfJmi) proceed = parse_ok (x0353_5);
  g_assert_cmpint (proceed->type, ==, BF_JMI_PROCEED);

  g_autoptr (BfJmi) reject = parse_ok (x0353_7);
  g_assert_cmpint (reject->type, ==, BF_JMI_REJECT);
  g_assert_cmpint (reject->reason->condition, ==, BF_JINGLE_REASON_BUSY);
  g_assert_cmpstr (reject->reason->text, ==, "Busy");

  g_autoptr (BfJmi) finish = parse_ok (x0353_9);
  g_assert_cmpint (finish->type, ==, BF_JMI_FINISH);
  g_assert_cmpint (finish->reason->condition, ==, BF_JINGLE_REASON_SUCCESS);
  g_autoptr (BfJmi) finish2 = parse_ok (x0353_10);
  g_assert_true (bf_jmi_equal (finish, finish2));

  g_autoptr (BfJmi) tie = parse_ok (x0353_11_reject);
  g_assert_true (tie->tie_break);
  g_assert_cmpint (tie->reason->condition, ==, BF_JINGLE_REASON_EXPIRED);
  g_autoptr (BfJmi) tie2 = parse_ok (x0353_11_retract);
  g_assert_cmpint (tie2->type, ==, BF_JMI_RETRACT);
  g_assert_true (tie2->tie_break);

  g_autoptr (BfJmi) migrated = parse_ok (x0353_12_finish);
  g_assert_cmpstr (migrated->migrated_to, ==, "989a46a6-f202-4910-a7c3-83c6ba3f3947");
  g_assert_cmpstr (migrated->reason->text, ==, "Session migrated");
}

static void
test_build (void)
{
  /* a propose for an audio+video call, as belfry would send one */
  g_autoptr (BfJmi) p = bf_jmi_new (BF_JMI_PROPOSE, "0a1b2c3d-0000-4000-8000-000000000001");
  bf_jmi_add_description (p, "urn:xmpp:jingle:apps:rtp:1", "audio");
  bf_jmi_add_description (p, "urn:xmpp:jingle:apps:rtp:1", "video");
  assert_round_trip (p);
  g_autoptr (BfStanza) msg = bf_jmi_build (p, "echo@relay.localhost", "alice@localhost", NULL);
  g_autofree char *xml = bf_stanza_to_string (msg);
  g_assert_cmpstr (xml, ==,
                   "<message from='echo@relay.localhost' to='alice@localhost' type='chat'>"
                   "<propose xmlns='urn:xmpp:jingle-message:0' "
                   "id='0a1b2c3d-0000-4000-8000-000000000001'>"
                   "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
                   "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/>"
                   "</propose><store xmlns='urn:xmpp:hints'/></message>");

  for (guint t = BF_JMI_PROPOSE; t <= BF_JMI_FINISH; t++)
    {
      g_autoptr (BfJmi) m = bf_jmi_new (t, "id-1");
      if (t == BF_JMI_PROPOSE)
        bf_jmi_add_description (m, "urn:xmpp:jingle:apps:rtp:1", NULL);
      /* reasons, tie-breaks and migrations only where the schema has them */
      bf_jmi_set_reason (m, BF_JINGLE_REASON_GONE, "bye");
      m->tie_break = TRUE;
      m->migrated_to = g_strdup ("id-2");
      g_autoptr (BfStanza) built = bf_jmi_build (m, NULL, NULL, NULL);
      g_autofree char *s = bf_stanza_to_string (built);
      g_autoptr (BfStanza) again = parse_xml (s);
      g_autoptr (GError) error = NULL;
      g_autoptr (BfJmi) back = bf_jmi_parse (again, &error);
      g_assert_no_error (error);
      g_assert_cmpint (back->type, ==, t);
      g_assert_cmpstr (bf_jmi_type_to_string (t), ==, bf_stanza_get_name (
                         bf_stanza_find_child (again, NULL, BF_NS_JINGLE_MESSAGE)));
      gboolean reason = t == BF_JMI_REJECT || t == BF_JMI_RETRACT || t == BF_JMI_FINISH;
      g_assert_true ((back->reason != NULL) == reason);
      g_assert_true (back->tie_break == (t == BF_JMI_REJECT || t == BF_JMI_RETRACT));
      g_assert_true ((back->migrated_to != NULL) == (t == BF_JMI_FINISH));
      if (reason)
        g_assert_cmpstr (back->reason->text, ==, "bye");
    }
  g_assert_null (bf_jmi_type_to_string (42));
  g_assert_true (bf_jmi_equal (NULL, NULL));
  g_assert_false (bf_jmi_equal (p, NULL));
}

static void
test_refuse (void)
{
  const struct {
    const char *xml;
    const char *says;
  } cases[] = {
    { "<iq type='set' id='i'><propose xmlns='urn:xmpp:jingle-message:0' id='x'/></iq>",
      "<message/>" },
    { "<message type='chat'><body>hi</body></message>", "no <xmlns='urn:xmpp:jingle-message:0'/>" },
    { "<message type='chat'><propose xmlns='urn:xmpp:jingle-message:1' id='x'>"
      "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>",
      "no <xmlns" },
    { "<message type='chat'><ringing xmlns='urn:xmpp:jingle-message:0'/></message>",
      "<ringing/> without an 'id'" },
    { "<message type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id=''/></message>",
      "without an 'id'" },
    { "<message type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='x'/></message>",
      "<propose/> without a <description/>" },
    { "<message type='chat'><finish xmlns='urn:xmpp:jingle-message:0' id='x'>"
      "<migrated/></finish></message>", "<migrated/> without a 'to'" },
    { "<message type='chat'><reject xmlns='urn:xmpp:jingle-message:0' id='x'>"
      "<reason xmlns='urn:xmpp:jingle:1'><grumpy/></reason></reject></message>",
      "unknown reason condition <grumpy/>" },
    { "<message type='chat'><retract xmlns='urn:xmpp:jingle-message:0' id='x'>"
      "<reason xmlns='urn:xmpp:jingle:1'/></retract></message>", "without a condition" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_bad (cases[i].xml, cases[i].says);

  g_autofree char *longid = g_strnfill (BF_JINGLE_MAX_SID + 1, 'i');
  g_autofree char *lx = g_strdup_printf ("<message type='chat'><proceed "
                                         "xmlns='urn:xmpp:jingle-message:0' id='%s'/></message>",
                                         longid);
  assert_bad (lx, "longer than 256");

  GString *many = g_string_new ("<message type='chat'><propose xmlns='urn:xmpp:jingle-message:0' "
                                "id='x'>");
  for (guint i = 0; i < BF_JMI_MAX_DESCRIPTIONS; i++)
    g_string_append (many, "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>");
  g_autofree char *ok = g_strconcat (many->str, "</propose></message>", NULL);
  g_autoptr (BfJmi) j = parse_ok (ok);
  g_assert_cmpuint (j->descriptions->len, ==, BF_JMI_MAX_DESCRIPTIONS);
  g_string_append (many, "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='x'/>"
                   "</propose></message>");
  assert_bad (many->str, "more than 16 descriptions");
  g_string_free (many, TRUE);

  /* the first JMI element counts; unknown children are ignored */
  g_autoptr (BfJmi) first = parse_ok ("<message type='chat'><x xmlns='urn:example'/>"
                                      "<accept xmlns='urn:xmpp:jingle-message:0' id='old'>"
                                      "<thing/></accept>"
                                      "<proceed xmlns='urn:xmpp:jingle-message:0' id='new'/>"
                                      "</message>");
  g_assert_cmpint (first->type, ==, BF_JMI_ACCEPT);
  g_assert_cmpstr (first->id, ==, "old");
}

/* XEP-0184 on JMI: Conversations' propose (generator/MessageGenerator.java
 * sessionProposal()) and its receipt (received()). */
static void
test_receipts (void)
{
  g_autoptr (BfJmi) p = parse_ok ("<message from='romeo@montague.example/orchard' "
                                  "to='juliet@capulet.example' type='chat' "
                                  "id='jm-propose-a73sjjvkla37jfea'>"
                                  "<propose xmlns='urn:xmpp:jingle-message:0' "
                                  "id='a73sjjvkla37jfea'>"
                                  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' "
                                  "media='audio'/></propose>"
                                  "<request xmlns='urn:xmpp:receipts'/>"
                                  "<store xmlns='urn:xmpp:hints'/></message>");
  g_assert_true (p->receipt_request);
  g_autoptr (BfStanza) built = bf_jmi_build (p, "a@b/c", "d@e", "jm-propose-a73sjjvkla37jfea");
  g_autofree char *xml = bf_stanza_to_string (built);
  g_assert_cmpstr (xml, ==,
                   "<message from='a@b/c' to='d@e' id='jm-propose-a73sjjvkla37jfea' type='chat'>"
                   "<propose xmlns='urn:xmpp:jingle-message:0' id='a73sjjvkla37jfea'>"
                   "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
                   "</propose><request xmlns='urn:xmpp:receipts'/>"
                   "<store xmlns='urn:xmpp:hints'/></message>");
  /* Dino's carries none */
  g_autoptr (BfJmi) d = parse_ok ("<message type='chat'><propose xmlns='urn:xmpp:jingle-message:0' "
                                  "id='x'><description xmlns='urn:xmpp:jingle:apps:rtp:1' "
                                  "media='audio'/></propose></message>");
  g_assert_false (d->receipt_request);
  g_assert_false (bf_jmi_equal (p, d));

  g_autoptr (BfStanza) r = bf_jmi_build_receipt ("juliet@capulet.example/balcony",
                                                 "romeo@montague.example/orchard", "r1",
                                                 "jm-propose-a73sjjvkla37jfea");
  g_autofree char *rxml = bf_stanza_to_string (r);
  g_assert_cmpstr (rxml, ==,
                   "<message from='juliet@capulet.example/balcony' "
                   "to='romeo@montague.example/orchard' id='r1' type='chat'>"
                   "<received xmlns='urn:xmpp:receipts' id='jm-propose-a73sjjvkla37jfea'/>"
                   "<store xmlns='urn:xmpp:hints'/></message>");
  g_autoptr (BfStanza) again = parse_xml (rxml);
  g_assert_cmpstr (bf_jmi_receipt_id (again), ==, "jm-propose-a73sjjvkla37jfea");
  g_autoptr (BfStanza) none = parse_xml ("<message type='chat'><received "
                                         "xmlns='urn:xmpp:chat-markers:0' id='x'/></message>");
  g_assert_null (bf_jmi_receipt_id (none));
  g_autoptr (BfStanza) iq = parse_xml ("<iq type='set' id='i'><received "
                                       "xmlns='urn:xmpp:receipts' id='x'/></iq>");
  g_assert_null (bf_jmi_receipt_id (iq));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jmi/examples", test_examples);
  g_test_add_func ("/jmi/build", test_build);
  g_test_add_func ("/jmi/refuse", test_refuse);
  g_test_add_func ("/jmi/receipts", test_receipts);
  return g_test_run ();
}
