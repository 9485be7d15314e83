/* Unit tests: XEP-0115 entity capabilities (relay/caps.c), checked against
 * the specification's own examples. */
#include <string.h>
#include <glib.h>

#include <belfry/module.h>
#include "caps.h"
#include "xmlstream.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='t'>"
#define NS_CAPS_STR "http://jabber.org/protocol/caps"
#define DISCO "http://jabber.org/protocol/disco#info"

static void
collect_stanza (gpointer data, BfStanza *stanza)
{
  BfStanza **out = data;
  g_assert_null (*out);
  *out = stanza;
}

/* Parses one top-level stanza with the stream parser, as it would arrive. */
static BfStanza *
parse (const char *xml)
{
  static const BfXmlStreamCallbacks cb = { NULL, collect_stanza, NULL };
  BfStanza *got = NULL;
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &cb, &got);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = g_strconcat (HEADER, xml, NULL);
  g_assert_true (bf_xml_stream_feed (parser, data, strlen (data), &error));
  g_assert_no_error (error);
  g_assert_nonnull (got);
  return got;
}

/* The <query/> of an <iq/>. */
static BfStanza *
query_of (BfStanza *iq)
{
  BfStanza *q = bf_stanza_find_child (iq, "query", DISCO);
  g_assert_nonnull (q);
  return q;
}

static void
assert_caps (const BfStanza *query, const char *s, const char *ver)
{
  g_autofree char *got_s = bf_caps_verification_string (query);
  g_autofree char *got_ver = bf_caps_ver (query);
  g_assert_cmpstr (got_s, ==, s);
  g_assert_cmpstr (got_ver, ==, ver);
}

/* XEP-0115 §5.2, features in the order the text lists them (caps last). */
static const char simple_example[] =
  "<iq type='result' id='d' from='romeo@montague.lit/orchard' to='juliet@capulet.lit/balcony'>"
  "<query xmlns='" DISCO "'>"
  "<identity category='client' type='pc' name='Exodus 0.9.1'/>"
  "<feature var='http://jabber.org/protocol/disco#info'/>"
  "<feature var='http://jabber.org/protocol/disco#items'/>"
  "<feature var='http://jabber.org/protocol/muc'/>"
  "<feature var='http://jabber.org/protocol/caps'/>"
  "</query></iq>";
#define SIMPLE_S "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<" \
                 "http://jabber.org/protocol/disco#info<" \
                 "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"
#define SIMPLE_VER "QgayPKawpkPSDYmwT/WM94uAlu0="

static void
test_simple_example (void)
{
  g_autoptr (BfStanza) iq = parse (simple_example);
  assert_caps (query_of (iq), SIMPLE_S, SIMPLE_VER);
}

/* The same entity built in code, as the core builds its own answers
 * (children inherit the namespace; no xml:lang), in another order. */
static void
test_built_tree (void)
{
  g_autoptr (BfStanza) q = bf_stanza_new ("query", BF_NS_DISCO_INFO);
  static const char *const features[] = {
    "http://jabber.org/protocol/muc", "http://jabber.org/protocol/caps",
    BF_NS_DISCO_ITEMS, BF_NS_DISCO_INFO,
  };
  for (guint i = 0; i < G_N_ELEMENTS (features); i++)
    bf_stanza_set_attr (bf_stanza_add_child (q, "feature", NULL), "var", features[i]);
  BfStanza *id = bf_stanza_add_child (q, "identity", NULL);
  bf_stanza_set_attr (id, "category", "client");
  bf_stanza_set_attr (id, "type", "pc");
  bf_stanza_set_attr (id, "name", "Exodus 0.9.1");
  assert_caps (q, SIMPLE_S, SIMPLE_VER);
}

/* XEP-0115 §5.3, verbatim: two languages and an XEP-0128 form. */
static const char complex_example[] =
  "<iq from='benvolio@capulet.lit/230193' id='disco1' to='juliet@capulet.lit/chamber'"
  "    type='result'>"
  "  <query xmlns='http://jabber.org/protocol/disco#info'"
  "         node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>"
  "    <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>"
  "    <identity xml:lang='el' category='client' name='\xce\xa8 0.11' type='pc'/>"
  "    <feature var='http://jabber.org/protocol/caps'/>"
  "    <feature var='http://jabber.org/protocol/disco#info'/>"
  "    <feature var='http://jabber.org/protocol/disco#items'/>"
  "    <feature var='http://jabber.org/protocol/muc'/>"
  "    <x xmlns='jabber:x:data' type='result'>"
  "      <field var='FORM_TYPE' type='hidden'>"
  "        <value>urn:xmpp:dataforms:softwareinfo</value>"
  "      </field>"
  "      <field var='ip_version' type='text-multi' >"
  "        <value>ipv4</value>"
  "        <value>ipv6</value>"
  "      </field>"
  "      <field var='os'>"
  "        <value>Mac</value>"
  "      </field>"
  "      <field var='os_version'>"
  "        <value>10.5.1</value>"
  "      </field>"
  "      <field var='software'>"
  "        <value>Psi</value>"
  "      </field>"
  "      <field var='software_version'>"
  "        <value>0.11</value>"
  "      </field>"
  "    </x>"
  "  </query>"
  "</iq>";

static void
test_complex_example (void)
{
  g_autoptr (BfStanza) iq = parse (complex_example);
  assert_caps (query_of (iq),
               "client/pc/el/\xce\xa8 0.11<client/pc/en/Psi 0.11<"
               "http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<"
               "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<"
               "urn:xmpp:dataforms:softwareinfo<"
               "ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<"
               "software_version<0.11<",
               "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

/* Sorting is by category, then type, then xml:lang, each compared on its
 * own and byte by byte: joined with '/', "a-b" would sort before "a". */
static void
test_identity_order (void)
{
  g_autoptr (BfStanza) iq = parse (
    "<iq type='result' id='o'><query xmlns='" DISCO "'>"
    "<identity category='a-b' type='x'/>"
    "<identity category='a' type='y-z' xml:lang='en'/>"
    "<identity category='a' type='y' xml:lang='fr' name='Z'/>"
    "<identity category='a' type='y' name='N'/>"
    "<identity category='B' type='x'/>"
    "<feature var='b'/><feature var='B'/><feature var='a-b'/><feature var='a'/>"
    "</query></iq>");
  g_autofree char *s = bf_caps_verification_string (query_of (iq));
  g_assert_cmpstr (s, ==, "B/x//<a/y//N<a/y/fr/Z<a/y-z/en/<a-b/x//<B<a<a-b<b<");
}

/* Forms without a hidden FORM_TYPE are left out (whoever checks the hash
 * ignores them, XEP-0115 §5.4), as are children that are not disco; forms
 * sort by FORM_TYPE and fields by var. */
static void
test_forms (void)
{
  g_autoptr (BfStanza) iq = parse (
    "<iq type='result' id='f'><query xmlns='" DISCO "'>"
    "<identity category='c' type='t'/>"
    "<x xmlns='jabber:x:data' type='result'>"
    "<field var='FORM_TYPE' type='hidden'><value>urn:z</value></field>"
    "<field var='b'><value>2</value><value>10</value></field>"
    "<field var='a'><value>x</value></field>"
    "</x>"
    "<x xmlns='jabber:x:data' type='result'>"
    "<field var='FORM_TYPE'><value>urn:not-hidden</value></field>"
    "<field var='q'><value>q</value></field>"
    "</x>"
    "<x xmlns='jabber:x:data' type='result'><field var='q'><value>q</value></field></x>"
    "<x xmlns='jabber:x:data' type='result'>"
    "<field var='FORM_TYPE' type='hidden'><value>urn:a</value></field>"
    "<field type='fixed'><value>no var</value></field>"
    "</x>"
    "<feature var='f'/>"
    "<other xmlns='urn:other'><feature var='not-disco'/></other>"
    "<feature xmlns='urn:other' var='not-disco-either'/>"
    "</query></iq>");
  g_autofree char *s = bf_caps_verification_string (query_of (iq));
  g_assert_cmpstr (s, ==, "c/t//<f<urn:a<urn:z<a<x<b<10<2<");
}

/* §5.1 note: "&lt;" in a factor stays those four characters. */
static void
test_no_unescaping (void)
{
  g_autoptr (BfStanza) iq = parse (
    "<iq type='result' id='e'><query xmlns='" DISCO "'>"
    "<identity category='client' type='pc'"
    " name='SomeClient&amp;lt;http://jabber.org/protocol/muc'/>"
    "</query></iq>");
  g_autofree char *s = bf_caps_verification_string (query_of (iq));
  g_assert_cmpstr (s, ==, "client/pc//SomeClient&lt;http://jabber.org/protocol/muc<");
}

static void
test_element (void)
{
  g_autoptr (BfStanza) c = bf_caps_new_element (SIMPLE_VER);
  g_assert_cmpstr (BF_NS_CAPS, ==, NS_CAPS_STR);
  g_autofree char *xml = bf_stanza_to_string (c);
  g_assert_cmpstr (xml, ==, "<c xmlns='" NS_CAPS_STR "' hash='sha-1' node='" BF_CAPS_NODE
                            "' ver='" SIMPLE_VER "'/>");
}

static void
test_node_matches (void)
{
  g_autoptr (BfStanza) iq = parse (simple_example);
  BfStanza *q = query_of (iq);
  g_assert_true (bf_caps_node_matches (BF_CAPS_NODE "#" SIMPLE_VER, q));
  g_assert_false (bf_caps_node_matches (NULL, q));
  g_assert_false (bf_caps_node_matches ("", q));
  g_assert_false (bf_caps_node_matches (BF_CAPS_NODE, q));
  g_assert_false (bf_caps_node_matches (BF_CAPS_NODE "#", q));
  g_assert_false (bf_caps_node_matches (BF_CAPS_NODE "#" SIMPLE_VER "x", q));
  g_assert_false (bf_caps_node_matches (BF_CAPS_NODE "#q07IKJEyjvHSyhy//CH0CxmKi8w=", q));
  g_assert_false (bf_caps_node_matches ("http://code.google.com/p/exodus#" SIMPLE_VER, q));
  g_assert_false (bf_caps_node_matches (BF_CAPS_NODE "x#" SIMPLE_VER, q));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/caps/xep-0115/simple-example", test_simple_example);
  g_test_add_func ("/caps/xep-0115/simple-example-built", test_built_tree);
  g_test_add_func ("/caps/xep-0115/complex-example", test_complex_example);
  g_test_add_func ("/caps/identity-order", test_identity_order);
  g_test_add_func ("/caps/forms", test_forms);
  g_test_add_func ("/caps/no-unescaping", test_no_unescaping);
  g_test_add_func ("/caps/element", test_element);
  g_test_add_func ("/caps/node-matches", test_node_matches);
  return g_test_run ();
}
