/* Unit tests: stanza trees (include/belfry/stanza.h, relay/stanza.c). */
#include <string.h>
#include <glib.h>

#include <belfry/stanza.h>
#include "xmlstream.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='t'>"

/* --- helpers --- */

static void
collect_stanza (gpointer data, BfStanza *stanza)
{
  g_ptr_array_add (data, stanza);
}

/* Parses @xml (the serialization of one top-level element) with the stream
 * parser and returns the single stanza it produced. */
static BfStanza *
parse_one (const char *xml)
{
  static const BfXmlStreamCallbacks cb = { NULL, collect_stanza, NULL };
  BfXmlLimits limits = { 16 * 1024 * 1024, 256, 1024 };
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &cb, got);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = g_strconcat (HEADER, xml, NULL);
  gboolean ok = bf_xml_stream_feed (parser, data, strlen (data), &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (got->len, ==, 1);
  return g_ptr_array_steal_index (got, 0);
}

static const char *
ns_or_stream (const BfStanza *s)
{
  const char *ns = bf_stanza_get_ns (s);
  return ns ? ns : BF_NS_COMPONENT;
}

/* Same names, namespaces, attributes, text and element children. */
static void
assert_same_tree (const BfStanza *a, const BfStanza *b)
{
  g_assert_cmpstr (bf_stanza_get_name (a), ==, bf_stanza_get_name (b));
  g_assert_cmpstr (ns_or_stream (a), ==, ns_or_stream (b));
  g_assert_cmpuint (bf_stanza_n_attrs (a), ==, bf_stanza_n_attrs (b));
  for (guint i = 0; i < bf_stanza_n_attrs (a); i++)
    {
      const char *name, *value;
      g_assert_true (bf_stanza_get_attr_nth (a, i, &name, &value));
      g_assert_cmpstr (bf_stanza_get_attr (b, name), ==, value);
    }
  g_assert_cmpstr (bf_stanza_get_text (a), ==, bf_stanza_get_text (b));
  g_assert_cmpuint (bf_stanza_n_children (a), ==, bf_stanza_n_children (b));
  BfStanzaIter ia, ib;
  BfStanza *ca, *cb;
  bf_stanza_iter_init (&ia, a);
  bf_stanza_iter_init (&ib, b);
  while (bf_stanza_iter_next (&ia, &ca))
    {
      g_assert_true (bf_stanza_iter_next (&ib, &cb));
      assert_same_tree (ca, cb);
    }
  g_assert_false (bf_stanza_iter_next (&ib, &cb));
}

/* serialize -> parse -> serialize gives identical bytes (twice over), and
 * the parsed tree means the same as @tree.  @expected, when given, is the
 * exact first serialization. */
static void
assert_round_trip (const BfStanza *tree, const char *expected)
{
  g_autofree char *first = bf_stanza_to_string (tree);
  if (expected)
    g_assert_cmpstr (first, ==, expected);
  g_autoptr (BfStanza) parsed = parse_one (first);
  assert_same_tree (tree, parsed);
  g_autofree char *second = bf_stanza_to_string (parsed);
  g_assert_cmpstr (second, ==, first);
  g_autoptr (BfStanza) again = parse_one (second);
  g_autofree char *third = bf_stanza_to_string (again);
  g_assert_cmpstr (third, ==, first);
}

/* --- builder and accessors --- */

static void
test_builder_accessors (void)
{
  g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
  g_assert_cmpstr (bf_stanza_get_name (iq), ==, "iq");
  g_assert_null (bf_stanza_get_ns (iq));
  g_assert_null (bf_stanza_get_parent (iq));

  BfStanza *query = bf_stanza_add_child (iq, "query", "urn:a");
  BfStanza *item = bf_stanza_add_child (query, "item", NULL);
  g_assert_true (bf_stanza_get_parent (query) == iq);
  g_assert_true (bf_stanza_get_parent (item) == query);
  g_assert_cmpstr (bf_stanza_get_ns (query), ==, "urn:a");
  g_assert_cmpstr (bf_stanza_get_ns (item), ==, "urn:a");   /* inherited */

  g_autoptr (BfStanza) ns_iq = bf_stanza_new ("iq", BF_NS_CLIENT);
  BfStanza *child = bf_stanza_add_child (ns_iq, "x", NULL);
  g_assert_cmpstr (bf_stanza_get_ns (child), ==, BF_NS_CLIENT);

  /* attributes */
  g_assert_cmpuint (bf_stanza_n_attrs (iq), ==, 0);
  g_assert_null (bf_stanza_get_attr (iq, "id"));
  bf_stanza_set_attr (iq, "type", "get");
  bf_stanza_set_attr (iq, "id", "1");
  bf_stanza_set_attr (iq, "to", "a@b");
  g_assert_cmpuint (bf_stanza_n_attrs (iq), ==, 3);
  bf_stanza_set_attr (iq, "id", "2");    /* replaces in place */
  g_assert_cmpuint (bf_stanza_n_attrs (iq), ==, 3);
  g_assert_cmpstr (bf_stanza_get_attr (iq, "id"), ==, "2");
  const char *name = NULL, *value = NULL;
  g_assert_true (bf_stanza_get_attr_nth (iq, 0, &name, &value));
  g_assert_cmpstr (name, ==, "type");
  g_assert_cmpstr (value, ==, "get");
  g_assert_true (bf_stanza_get_attr_nth (iq, 1, &name, &value));
  g_assert_cmpstr (name, ==, "id");
  g_assert_cmpstr (value, ==, "2");
  g_assert_false (bf_stanza_get_attr_nth (iq, 3, &name, &value));
  bf_stanza_remove_attr (iq, "type");
  g_assert_null (bf_stanza_get_attr (iq, "type"));
  g_assert_cmpuint (bf_stanza_n_attrs (iq), ==, 2);
  bf_stanza_set_attr (iq, "to", NULL);   /* NULL removes */
  g_assert_null (bf_stanza_get_attr (iq, "to"));
  g_assert_cmpuint (bf_stanza_n_attrs (iq), ==, 1);
  bf_stanza_remove_attr (iq, "absent");
  g_assert_cmpuint (bf_stanza_n_attrs (iq), ==, 1);

  /* text and element children */
  g_assert_cmpstr (bf_stanza_get_text (iq), ==, "");
  BfStanza *body = bf_stanza_add_text_child (iq, "body", NULL, "hello");
  g_assert_cmpstr (bf_stanza_get_text (body), ==, "hello");
  bf_stanza_add_text (body, " world!", 6);     /* len honoured */
  g_assert_cmpstr (bf_stanza_get_text (body), ==, "hello world");
  bf_stanza_add_child (body, "b", NULL);
  bf_stanza_add_text (body, "+more", -1);
  g_assert_cmpstr (bf_stanza_get_text (body), ==, "hello world+more");
  bf_stanza_add_text (body, "", -1);
  bf_stanza_add_text (body, "!", -1);           /* cached concatenation refreshed */
  g_assert_cmpstr (bf_stanza_get_text (body), ==, "hello world+more!");
  g_assert_cmpuint (bf_stanza_n_children (body), ==, 1);  /* text runs do not count */

  g_assert_cmpuint (bf_stanza_n_children (iq), ==, 2);
  g_assert_true (bf_stanza_find_child (iq, "query", NULL) == query);
  g_assert_true (bf_stanza_find_child (iq, NULL, "urn:a") == query);
  g_assert_true (bf_stanza_find_child (iq, NULL, NULL) == query);
  g_assert_true (bf_stanza_find_child (iq, "body", NULL) == body);
  g_assert_null (bf_stanza_find_child (iq, "query", "urn:b"));
  g_assert_null (bf_stanza_find_child (iq, "nothing", NULL));
  g_assert_true (bf_stanza_find_child (query, "item", "urn:a") == item);
  g_assert_cmpstr (bf_stanza_find_child_text (iq, "body", NULL), ==, "hello world+more!");
  g_assert_cmpstr (bf_stanza_find_child_text (iq, "query", NULL), ==, "");
  g_assert_null (bf_stanza_find_child_text (iq, "nothing", NULL));

  /* the iterator yields elements only, in order */
  BfStanzaIter iter;
  BfStanza *c;
  bf_stanza_iter_init (&iter, body);
  g_assert_true (bf_stanza_iter_next (&iter, &c));
  g_assert_cmpstr (bf_stanza_get_name (c), ==, "b");
  g_assert_false (bf_stanza_iter_next (&iter, &c));
  bf_stanza_iter_init (&iter, iq);
  g_assert_true (bf_stanza_iter_next (&iter, &c));
  g_assert_true (c == query);
  g_assert_true (bf_stanza_iter_next (&iter, &c));
  g_assert_true (c == body);
  g_assert_false (bf_stanza_iter_next (&iter, &c));

  /* append takes ownership and sets the parent */
  BfStanza *loose = bf_stanza_new ("loose", "urn:l");
  bf_stanza_append (query, loose);
  g_assert_true (bf_stanza_get_parent (loose) == query);
  g_assert_cmpuint (bf_stanza_n_children (query), ==, 2);
}

/* --- serializer --- */

static void
test_serialize_attr_escaping (void)
{
  g_autoptr (BfStanza) s = bf_stanza_new ("a", NULL);
  bf_stanza_set_attr (s, "v", "&<>'\"\r\n\t");
  g_autofree char *out = bf_stanza_to_string (s);
  g_assert_cmpstr (out, ==, "<a v='&amp;&lt;&gt;&apos;&quot;&#13;&#10;&#9;'/>");

  g_autoptr (BfStanza) parsed = parse_one (out);
  g_assert_cmpstr (bf_stanza_get_attr (parsed, "v"), ==, "&<>'\"\r\n\t");
}

static void
test_serialize_text_escaping (void)
{
  const char *text = "a&b<c>d'e\"f\r\n\tg]]>h\r";
  g_autoptr (BfStanza) s = bf_stanza_new ("body", NULL);
  bf_stanza_add_text (s, text, -1);
  g_autofree char *out = bf_stanza_to_string (s);
  g_assert_true (g_str_has_prefix (out, "<body>a&amp;b&lt;c&gt;d"));
  g_assert_nonnull (strstr (out, "]]&gt;h"));
  g_assert_null (strchr (out, '\r'));     /* a raw CR would be normalized away */
  g_autoptr (BfStanza) parsed = parse_one (out);
  g_assert_cmpstr (bf_stanza_get_text (parsed), ==, text);
  assert_round_trip (s, NULL);
}

static void
test_serialize_namespaces (void)
{
  g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
  bf_stanza_set_attr (iq, "type", "set");
  BfStanza *jingle = bf_stanza_add_child (iq, "jingle", "urn:xmpp:jingle:1");
  BfStanza *content = bf_stanza_add_child (jingle, "content", NULL);
  BfStanza *desc = bf_stanza_add_child (content, "description", "urn:xmpp:jingle:apps:rtp:1");
  BfStanza *pt = bf_stanza_add_child (desc, "payload-type", NULL);
  bf_stanza_add_child (pt, "parameter", NULL);
  BfStanza *reason = bf_stanza_add_child (desc, "reason", "urn:xmpp:jingle:1");
  bf_stanza_add_child (reason, "success", NULL);
  bf_stanza_add_child (content, "transport", "urn:xmpp:jingle:transports:ice-udp:1");
  bf_stanza_add_child (content, "same", "urn:xmpp:jingle:1");   /* explicit == inherited */
  bf_stanza_add_child (iq, "extra", BF_NS_COMPONENT);
  bf_stanza_add_child (iq, "client", BF_NS_CLIENT);

  g_autofree char *out = bf_stanza_to_string (iq);
  g_assert_cmpstr (out, ==,
    "<iq type='set'><jingle xmlns='urn:xmpp:jingle:1'><content>"
    "<description xmlns='urn:xmpp:jingle:apps:rtp:1'><payload-type><parameter/></payload-type>"
    "<reason xmlns='urn:xmpp:jingle:1'><success/></reason></description>"
    "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/><same/></content></jingle>"
    "<extra/><client xmlns='jabber:client'/></iq>");

  /* A subtree serialized on its own carries the namespace it inherited. */
  g_autoptr (GString) sub = g_string_new (NULL);
  bf_stanza_serialize (pt, BF_NS_COMPONENT, sub);
  g_assert_cmpstr (sub->str, ==,
    "<payload-type xmlns='urn:xmpp:jingle:apps:rtp:1'><parameter/></payload-type>");
  g_string_truncate (sub, 0);
  bf_stanza_serialize (pt, "urn:xmpp:jingle:apps:rtp:1", sub);
  g_assert_cmpstr (sub->str, ==, "<payload-type><parameter/></payload-type>");

  /* A top-level stanza in another namespace than the stream's says so. */
  g_autoptr (BfStanza) client = bf_stanza_new ("message", BF_NS_CLIENT);
  g_autofree char *client_out = bf_stanza_to_string (client);
  g_assert_cmpstr (client_out, ==, "<message xmlns='jabber:client'/>");
}

static void
test_serialize_namespaced_attrs (void)
{
  g_autoptr (BfStanza) x = bf_stanza_new ("x", "urn:x");
  bf_stanza_set_attr (x, "{urn:y}a", "1");
  bf_stanza_set_attr (x, "plain", "2");
  bf_stanza_set_attr (x, "xml:lang", "fr");
  g_autofree char *out = bf_stanza_to_string (x);
  g_assert_cmpstr (out, ==,
    "<x xmlns='urn:x' a0:a='1' plain='2' xml:lang='fr' xmlns:a0='urn:y'/>");
  g_autoptr (BfStanza) parsed = parse_one (out);
  g_assert_cmpstr (bf_stanza_get_attr (parsed, "{urn:y}a"), ==, "1");
  g_assert_cmpstr (bf_stanza_get_attr (parsed, "plain"), ==, "2");
  g_assert_cmpstr (bf_stanza_get_attr (parsed, "xml:lang"), ==, "fr");
  g_assert_null (bf_stanza_get_attr (parsed, "a"));
}

/* --- round trips --- */

static void
test_round_trip_namespaces (void)
{
  /* changing and reverting down the tree */
  g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
  bf_stanza_set_attr (iq, "id", "ns1");
  BfStanza *a = bf_stanza_add_child (iq, "a", "urn:a");
  BfStanza *b = bf_stanza_add_child (a, "b", "urn:b");
  BfStanza *back = bf_stanza_add_child (b, "back", "urn:a");
  bf_stanza_add_child (back, "inherit", NULL);
  BfStanza *b2 = bf_stanza_add_child (b, "b2", NULL);
  bf_stanza_add_child (b2, "stream-ns", BF_NS_COMPONENT);
  bf_stanza_add_child (a, "after", NULL);
  bf_stanza_add_child (iq, "top", NULL);
  assert_round_trip (iq,
    "<iq id='ns1'><a xmlns='urn:a'><b xmlns='urn:b'><back xmlns='urn:a'><inherit/></back>"
    "<b2><stream-ns xmlns='jabber:component:accept'/></b2></b><after/></a><top/></iq>");

  g_autoptr (BfStanza) client = bf_stanza_new ("iq", BF_NS_CLIENT);
  BfStanza *q = bf_stanza_add_child (client, "query", "jabber:iq:roster");
  bf_stanza_add_child (q, "back", BF_NS_CLIENT);
  assert_round_trip (client,
    "<iq xmlns='jabber:client'><query xmlns='jabber:iq:roster'><back xmlns='jabber:client'/>"
    "</query></iq>");
}

static void
test_round_trip_attrs (void)
{
  g_autoptr (BfStanza) msg = bf_stanza_new ("message", NULL);
  bf_stanza_set_attr (msg, "xml:lang", "en");
  bf_stanza_set_attr (msg, "to", "a@b");
  BfStanza *body = bf_stanza_add_text_child (msg, "body", NULL, "hi");
  bf_stanza_set_attr (body, "xml:lang", "de");
  BfStanza *x = bf_stanza_add_child (msg, "x", "urn:x");
  bf_stanza_set_attr (x, "{urn:y}a", "1");
  bf_stanza_set_attr (x, "{urn:x}b", "2");
  bf_stanza_set_attr (x, "c", "3");
  bf_stanza_set_attr (x, "{urn:q?a=1&b='2'}d", "4");
  BfStanza *y = bf_stanza_add_child (x, "y", NULL);
  bf_stanza_set_attr (y, "{urn:y}a", "5");
  bf_stanza_set_attr (y, "{urn:z}a", "6");
  bf_stanza_set_attr (y, "empty", "");
  assert_round_trip (msg,
    "<message xml:lang='en' to='a@b'><body xml:lang='de'>hi</body>"
    "<x xmlns='urn:x' a0:a='1' a1:b='2' c='3' a2:d='4' xmlns:a0='urn:y' xmlns:a1='urn:x'"
    " xmlns:a2='urn:q?a=1&amp;b=&apos;2&apos;'>"
    "<y a0:a='5' a1:a='6' empty='' xmlns:a0='urn:y' xmlns:a1='urn:z'/></x></message>");

  /* a namespace holding '}' (local names never do) */
  g_autoptr (BfStanza) brace = bf_stanza_new ("presence", NULL);
  bf_stanza_set_attr (brace, "{urn:a}b}c", "7");
  assert_round_trip (brace, "<presence a0:c='7' xmlns:a0='urn:a}b'/>");
  g_autofree char *brace_s = bf_stanza_to_string (brace);
  g_autoptr (BfStanza) brace_parsed = parse_one (brace_s);
  g_assert_cmpstr (bf_stanza_get_attr (brace_parsed, "{urn:a}b}c"), ==, "7");

  g_autoptr (BfStanza) esc = bf_stanza_new ("presence", NULL);
  bf_stanza_set_attr (esc, "v", "&<>'\"\r\n\t and \r\n twice");
  bf_stanza_set_attr (esc, "w", "  leading and trailing  ");
  assert_round_trip (esc, NULL);
}

static void
test_round_trip_mixed_text (void)
{
  g_autoptr (BfStanza) msg = bf_stanza_new ("message", NULL);
  BfStanza *html = bf_stanza_add_child (msg, "body", "http://www.w3.org/1999/xhtml");
  bf_stanza_add_text (html, "Hello ", -1);
  bf_stanza_add_text_child (html, "b", NULL, "bold & <brave>");
  bf_stanza_add_text (html, " and ", -1);
  bf_stanza_add_child (html, "br", NULL);
  bf_stanza_add_text (html, "\r\n\tend", -1);
  assert_round_trip (msg,
    "<message><body xmlns='http://www.w3.org/1999/xhtml'>Hello <b>bold &amp; &lt;brave&gt;</b>"
    " and <br/>&#13;\n\tend</body></message>");
}

static void
test_round_trip_utf8 (void)
{
  /* 2-, 3- and 4-byte sequences, in text, attribute values and names */
  const char *text = "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80\xf0\x9d\x84\x9e "
                     "\xf4\x8f\xbf\xbd";
  g_autoptr (BfStanza) msg = bf_stanza_new ("message", NULL);
  bf_stanza_set_attr (msg, "to", "j\xc3\xbcrgen@example.org/\xf0\x9f\x98\x80");
  BfStanza *body = bf_stanza_add_text_child (msg, "body", NULL, text);
  bf_stanza_set_attr (body, "n\xc3\xa4me", "\xf0\x9f\x8e\xb5");
  bf_stanza_add_child (msg, "\xe5\x90\x8d", "urn:\xf0\x9f\x98\x80");
  assert_round_trip (msg, NULL);
  g_autofree char *out = bf_stanza_to_string (msg);
  g_autoptr (BfStanza) parsed = parse_one (out);
  g_assert_cmpstr (bf_stanza_find_child_text (parsed, "body", NULL), ==, text);
}

static void
test_round_trip_empty (void)
{
  g_autoptr (BfStanza) p = bf_stanza_new ("presence", NULL);
  assert_round_trip (p, "<presence/>");

  g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
  bf_stanza_add_child (iq, "query", "urn:a");
  BfStanza *e = bf_stanza_add_child (iq, "e", NULL);
  bf_stanza_add_text (e, "", -1);   /* no text: still empty */
  assert_round_trip (iq, "<iq><query xmlns='urn:a'/><e/></iq>");

  /* <x></x> read from the wire is the same as <x/> */
  g_autoptr (BfStanza) parsed = parse_one ("<message><x xmlns='urn:x'></x><y></y></message>");
  g_autofree char *out = bf_stanza_to_string (parsed);
  g_assert_cmpstr (out, ==, "<message><x xmlns='urn:x'/><y/></message>");
  assert_round_trip (parsed, NULL);
}

static void
test_round_trip_from_wire (void)
{
  /* Prefixed input, CDATA and character references come out normalized,
   * and the normalized form is stable. */
  static const char *const inputs[] = {
    "<message xmlns:j='urn:j' to='a@b'><j:x j:attr='1' plain='2'><j:y/>"
    "<z xmlns='urn:z'><j:w xml:lang='en'/></z></j:x></message>",
    "<iq xmlns='jabber:client' type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>",
    "<message><body>a<![CDATA[<raw> & ]]>b &#x1F600;&#233;&amp;&#13;</body></message>",
    "<presence xmlns:s='http://etherx.jabber.org/streams'><s:x s:y='&quot;'/></presence>",
    "<message><a xmlns='urn:1'><b xmlns='urn:2'><c xmlns='urn:1'><d/></c></b></a></message>",
  };
  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr (BfStanza) parsed = parse_one (inputs[i]);
      assert_round_trip (parsed, NULL);
    }

  g_autoptr (BfStanza) m = parse_one (inputs[0]);
  BfStanza *x = bf_stanza_find_child (m, "x", "urn:j");
  g_assert_nonnull (x);
  g_assert_cmpstr (bf_stanza_get_attr (x, "{urn:j}attr"), ==, "1");
  g_assert_cmpstr (bf_stanza_get_attr (x, "plain"), ==, "2");
  BfStanza *z = bf_stanza_find_child (x, "z", "urn:z");
  g_assert_nonnull (z);
  BfStanza *w = bf_stanza_find_child (z, "w", "urn:j");
  g_assert_nonnull (w);
  g_assert_cmpstr (bf_stanza_get_attr (w, "xml:lang"), ==, "en");

  g_autoptr (BfStanza) cdata = parse_one (inputs[2]);
  g_assert_cmpstr (bf_stanza_find_child_text (cdata, "body", NULL), ==,
                   "a<raw> & b \xf0\x9f\x98\x80\xc3\xa9&\r");
}

static void
test_round_trip_deep (void)
{
  g_autoptr (BfStanza) top = bf_stanza_new ("message", NULL);
  BfStanza *cur = top;
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *ns = g_strdup_printf ("urn:level:%u", i % 3);
      cur = bf_stanza_add_child (cur, "n", i % 2 ? NULL : ns);
      bf_stanza_set_attr (cur, "i", "v");
      bf_stanza_add_text (cur, "t", -1);
    }
  assert_round_trip (top, NULL);
}

/* --- copy --- */

static void
test_copy (void)
{
  BfStanza *orig = bf_stanza_new ("iq", BF_NS_CLIENT);
  bf_stanza_set_attr (orig, "type", "set");
  bf_stanza_set_attr (orig, "{urn:y}a", "1");
  BfStanza *q = bf_stanza_add_child (orig, "query", "urn:q");
  bf_stanza_add_text (q, "one ", -1);
  bf_stanza_add_text_child (q, "item", NULL, "\xf0\x9f\x98\x80");
  bf_stanza_add_text (q, "two", -1);
  g_autofree char *before = bf_stanza_to_string (orig);

  BfStanza *copy = bf_stanza_copy (orig);
  g_assert_true (copy != orig);
  g_assert_null (bf_stanza_get_parent (copy));
  assert_same_tree (orig, copy);
  g_autofree char *copied = bf_stanza_to_string (copy);
  g_assert_cmpstr (copied, ==, before);

  BfStanza *cq = bf_stanza_find_child (copy, "query", NULL);
  g_assert_nonnull (cq);
  g_assert_true (cq != q);
  g_assert_true (bf_stanza_get_parent (cq) == copy);
  g_assert_cmpstr (bf_stanza_get_text (cq), ==, "one two");
  BfStanza *ci = bf_stanza_find_child (cq, "item", NULL);
  g_assert_true (bf_stanza_get_parent (ci) == cq);
  g_assert_cmpstr (bf_stanza_get_ns (ci), ==, "urn:q");

  /* independent: changing the copy leaves the original alone */
  bf_stanza_set_attr (copy, "type", "get");
  bf_stanza_add_child (cq, "new", NULL);
  bf_stanza_add_text (cq, "three", -1);
  g_autofree char *after = bf_stanza_to_string (orig);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpstr (bf_stanza_get_attr (orig, "type"), ==, "set");

  /* and it outlives the original */
  bf_stanza_free (orig);
  g_assert_cmpstr (bf_stanza_get_text (cq), ==, "one twothree");
  g_assert_cmpuint (bf_stanza_n_children (cq), ==, 2);

  /* copying a subtree copies only that subtree */
  g_autoptr (BfStanza) sub = bf_stanza_copy (cq);
  g_assert_null (bf_stanza_get_parent (sub));
  g_assert_cmpstr (bf_stanza_get_name (sub), ==, "query");
  g_assert_cmpstr (bf_stanza_get_ns (sub), ==, "urn:q");
  g_assert_cmpuint (bf_stanza_n_children (sub), ==, 2);
  bf_stanza_free (copy);
  g_assert_cmpstr (bf_stanza_get_text (sub), ==, "one twothree");
}

/* --- reply helpers --- */

static void
test_new_reply (void)
{
  g_autoptr (BfStanza) req = bf_stanza_new ("iq", NULL);
  bf_stanza_set_attr (req, "from", "alice@example.org/phone");
  bf_stanza_set_attr (req, "to", "relay.example.org");
  bf_stanza_set_attr (req, "id", "q1");
  bf_stanza_set_attr (req, "type", "get");
  bf_stanza_add_child (req, "query", BF_NS_DISCO_INFO);

  g_autoptr (BfStanza) reply = bf_stanza_new_reply (req, "result");
  g_assert_cmpstr (bf_stanza_get_name (reply), ==, "iq");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "from"), ==, "relay.example.org");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, "alice@example.org/phone");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "q1");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, "result");
  g_assert_cmpuint (bf_stanza_n_children (reply), ==, 0);
  g_assert_cmpuint (bf_stanza_n_attrs (reply), ==, 4);

  /* no 'from' on the request: no 'to' on the reply */
  g_autoptr (BfStanza) bare = bf_stanza_new ("message", NULL);
  bf_stanza_set_attr (bare, "to", "echo@relay.example.org");
  g_autoptr (BfStanza) r2 = bf_stanza_new_reply (bare, "chat");
  g_assert_cmpstr (bf_stanza_get_name (r2), ==, "message");
  g_assert_cmpstr (bf_stanza_get_attr (r2, "from"), ==, "echo@relay.example.org");
  g_assert_null (bf_stanza_get_attr (r2, "to"));
  g_assert_null (bf_stanza_get_attr (r2, "id"));
  g_assert_cmpstr (bf_stanza_get_attr (r2, "type"), ==, "chat");
}

static void
assert_error_child (const BfStanza *reply, const char *type, const char *condition,
                    const char *text)
{
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, "error");
  BfStanza *error = bf_stanza_find_child (reply, "error", NULL);
  g_assert_nonnull (error);
  g_assert_cmpstr (bf_stanza_get_ns (error), ==, bf_stanza_get_ns (reply));
  g_assert_cmpstr (bf_stanza_get_attr (error, "type"), ==, type);
  BfStanza *cond = bf_stanza_find_child (error, condition, BF_NS_STANZAS);
  g_assert_nonnull (cond);
  g_assert_cmpuint (bf_stanza_n_children (cond), ==, 0);
  if (text)
    g_assert_cmpstr (bf_stanza_find_child_text (error, "text", BF_NS_STANZAS), ==, text);
  else
    g_assert_null (bf_stanza_find_child (error, "text", NULL));
}

static void
test_new_error_iq (void)
{
  g_autoptr (BfStanza) req = parse_one (
    "<iq from='alice@example.org/phone' to='relay.example.org' id='e1' type='set'>"
    "<frob xmlns='urn:frob' a='1'><knob/></frob></iq>");
  g_autoptr (BfStanza) reply = bf_stanza_new_error (req, "cancel", "service-unavailable",
                                                    "not here");
  g_assert_cmpstr (bf_stanza_get_name (reply), ==, "iq");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "from"), ==, "relay.example.org");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, "alice@example.org/phone");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "e1");
  assert_error_child (reply, "cancel", "service-unavailable", "not here");
  g_assert_cmpuint (bf_stanza_n_children (reply), ==, 2);
  BfStanza *payload = bf_stanza_find_child (reply, "frob", "urn:frob");
  g_assert_nonnull (payload);
  g_assert_cmpstr (bf_stanza_get_attr (payload, "a"), ==, "1");
  g_assert_nonnull (bf_stanza_find_child (payload, "knob", "urn:frob"));

  g_autofree char *out = bf_stanza_to_string (reply);
  g_assert_cmpstr (out, ==,
    "<iq from='relay.example.org' to='alice@example.org/phone' id='e1' type='error'>"
    "<frob xmlns='urn:frob' a='1'><knob/></frob>"
    "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
    "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>not here</text></error></iq>");
  assert_round_trip (reply, NULL);

  /* A payload whose namespace was inherited keeps it in the copy. */
  g_autoptr (BfStanza) creq = bf_stanza_new ("iq", BF_NS_CLIENT);
  bf_stanza_set_attr (creq, "type", "get");
  bf_stanza_add_child (creq, "inherits", NULL);
  g_autoptr (BfStanza) creply = bf_stanza_new_error (creq, "modify", "bad-request", NULL);
  BfStanza *inh = bf_stanza_find_child (creply, "inherits", NULL);
  g_assert_nonnull (inh);
  g_assert_cmpstr (bf_stanza_get_ns (inh), ==, BF_NS_CLIENT);
  g_autoptr (GString) sub = g_string_new (NULL);
  bf_stanza_serialize (inh, NULL, sub);
  g_assert_cmpstr (sub->str, ==, "<inherits xmlns='jabber:client'/>");
  assert_error_child (creply, "modify", "bad-request", NULL);
}

static void
test_new_error_message (void)
{
  g_autoptr (BfStanza) req = parse_one (
    "<message from='alice@example.org/phone' to='nobody@relay.example.org' id='m1'"
    " type='chat'><body>secret words</body><thread>t</thread></message>");
  g_autoptr (BfStanza) reply = bf_stanza_new_error (req, "cancel", "item-not-found", NULL);
  g_assert_cmpstr (bf_stanza_get_name (reply), ==, "message");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "from"), ==, "nobody@relay.example.org");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, "alice@example.org/phone");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "m1");
  assert_error_child (reply, "cancel", "item-not-found", NULL);
  g_assert_null (bf_stanza_find_child (reply, "body", NULL));
  g_assert_null (bf_stanza_find_child (reply, "thread", NULL));
  g_assert_cmpuint (bf_stanza_n_children (reply), ==, 1);
  g_autofree char *out = bf_stanza_to_string (reply);
  g_assert_null (strstr (out, "secret words"));
}

/* --- JIDs --- */

typedef struct {
  const char *jid;
  const char *local;
  const char *domain;
  const char *resource;
} JidCase;

static void
test_jid_split_valid (void)
{
  static const JidCase cases[] = {
    { "relay.example.org", NULL, "relay.example.org", NULL },
    { "echo@relay.example.org", "echo", "relay.example.org", NULL },
    { "Alice@Example.ORG/Phone", "Alice", "example.org", "Phone" },
    { "a@b/c@d/e", "a", "b", "c@d/e" },
    { "b/c@d", NULL, "b", "c@d" },
    { "b//x", NULL, "b", "/x" },
    { "j\xc3\xbcrgen@x/\xf0\x9f\x98\x80", "j\xc3\xbcrgen", "x", "\xf0\x9f\x98\x80" },
    { "x/ spaced res ", NULL, "x", " spaced res " },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *l = NULL, *d = NULL, *r = NULL;
      g_autofree char *shown = g_strescape (cases[i].jid, NULL);
      g_test_message ("jid %s", shown);
      g_assert_true (bf_jid_split (cases[i].jid, &l, &d, &r));
      g_assert_cmpstr (l, ==, cases[i].local);
      g_assert_cmpstr (d, ==, cases[i].domain);
      g_assert_cmpstr (r, ==, cases[i].resource);
    }

  /* each out-parameter may be NULL */
  g_assert_true (bf_jid_split ("a@b/c", NULL, NULL, NULL));
  g_autofree char *only_domain = NULL;
  g_assert_true (bf_jid_split ("a@B/c", NULL, &only_domain, NULL));
  g_assert_cmpstr (only_domain, ==, "b");

  /* 1023 octets per part is the maximum */
  g_autofree char *p1023 = g_strnfill (1023, 'a');
  g_autofree char *max = g_strdup_printf ("%s@%s/%s", p1023, p1023, p1023);
  g_autofree char *l = NULL, *d = NULL, *r = NULL;
  g_assert_true (bf_jid_split (max, &l, &d, &r));
  g_assert_cmpuint (strlen (l), ==, 1023);
  g_assert_cmpuint (strlen (d), ==, 1023);
  g_assert_cmpuint (strlen (r), ==, 1023);
}

static void
test_jid_split_invalid (void)
{
  g_autofree char *p1023 = g_strnfill (1023, 'a');
  g_autofree char *p1024 = g_strnfill (1024, 'a');
  g_autofree char *long_local = g_strdup_printf ("%s@x", p1024);
  g_autofree char *long_domain = g_strdup_printf ("a@%s", p1024);
  g_autofree char *long_bare_domain = g_strdup (p1024);
  g_autofree char *long_resource = g_strdup_printf ("a@x/%s", p1024);
  g_autofree char *long_local2 = g_strdup_printf ("%sb@%s", p1023, p1023);
  const char *cases[] = {
    "", "@x", "a@", "a@b@c", "x/", "a@x/", "/r", "a@/r", "@", "@/r",
    long_local, long_domain, long_bare_domain, long_resource, long_local2,
    "\xff@x", "a@x\xc3", "a@x/\xc0\xaf", "a@\xed\xa0\x80",   /* invalid UTF-8 */
    "a b@x", "a@x y",
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char *l = (char *) "sentinel", *d = (char *) "sentinel", *r = (char *) "sentinel";
      g_autofree char *shown = g_strescape (cases[i], NULL);
      g_test_message ("jid #%u (%.40s)", i, shown);
      g_assert_false (bf_jid_split (cases[i], &l, &d, &r));
      g_assert_null (l);
      g_assert_null (d);
      g_assert_null (r);
    }
  g_assert_false (bf_jid_split (NULL, NULL, NULL, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stanza/builder-accessors", test_builder_accessors);
  g_test_add_func ("/stanza/serialize/attr-escaping", test_serialize_attr_escaping);
  g_test_add_func ("/stanza/serialize/text-escaping", test_serialize_text_escaping);
  g_test_add_func ("/stanza/serialize/namespaces", test_serialize_namespaces);
  g_test_add_func ("/stanza/serialize/namespaced-attrs", test_serialize_namespaced_attrs);
  g_test_add_func ("/stanza/round-trip/namespaces", test_round_trip_namespaces);
  g_test_add_func ("/stanza/round-trip/attrs", test_round_trip_attrs);
  g_test_add_func ("/stanza/round-trip/mixed-text", test_round_trip_mixed_text);
  g_test_add_func ("/stanza/round-trip/utf8", test_round_trip_utf8);
  g_test_add_func ("/stanza/round-trip/empty", test_round_trip_empty);
  g_test_add_func ("/stanza/round-trip/from-wire", test_round_trip_from_wire);
  g_test_add_func ("/stanza/round-trip/deep", test_round_trip_deep);
  g_test_add_func ("/stanza/copy", test_copy);
  g_test_add_func ("/stanza/new-reply", test_new_reply);
  g_test_add_func ("/stanza/new-error/iq", test_new_error_iq);
  g_test_add_func ("/stanza/new-error/message", test_new_error_message);
  g_test_add_func ("/jid/split/valid", test_jid_split_valid);
  g_test_add_func ("/jid/split/invalid", test_jid_split_invalid);
  return g_test_run ();
}
