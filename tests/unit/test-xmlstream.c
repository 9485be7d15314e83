/* Unit tests: the XML stream parser (relay/xmlstream.c). */
#include <string.h>
#include <glib.h>

#include <belfry/stanza.h>
#include "xmlstream.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' from='relay.example.org' " \
               "id='3BF96D32'>"

/* A realistic stream from the server's side: XML declaration, header,
 * stanzas with whitespace keepalives between them, entities, CDATA, raw
 * multi-byte UTF-8, nested namespaces, and the close. */
static const char sample_stream[] =
  "<?xml version='1.0'?>"
  HEADER
  "<iq type='get' id='disco1' from='alice@example.org/phone' to='relay.example.org'>"
  "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
  " \n\t \r\n"
  "<message from='alice@example.org/phone' to='echo@relay.example.org' type='chat' id='m1'>"
  "<body>Fish &amp; chips &lt;3 &#x1F600; &#233; &apos;q&quot; <![CDATA[<raw> & ]]>"
  "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 tail</body><thread>t1</thread></message>"
  " "
  "<iq type='set' id='j1' from='alice@example.org/phone' to='call@relay.example.org'>"
  "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='alice@example.org/phone'"
  " sid='a73sjjvkla37jfea'>"
  "<content creator='initiator' name='voice'>"
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>"
  "<payload-type id='111' name='opus' clockrate='48000' channels='2'>"
  "<parameter name='minptime' value='10'/></payload-type>"
  "<rtcp-mux/></description>"
  "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='asd88fgpdd777uzjYhagZg'"
  " ufrag='8hhy'>"
  "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
  "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46</fingerprint>"
  "<candidate component='1' foundation='1' generation='0' id='el0747fg11' ip='10.0.1.1'"
  " network='1' port='8998' priority='2130706431' protocol='udp' type='host'/>"
  "</transport></content></jingle></iq>"
  "\n\n"
  "<presence from='alice@example.org/phone' to='relay.example.org' xml:lang='en'>"
  "<show>away</show><status>Out to lunch \xe2\x98\x95</status>"
  "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org'"
  " ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>"
  " \n"
  "</stream:stream>";

/* --- a recorder of callbacks --- */

typedef struct {
  GPtrArray *events;    /* char*: "open ...", "stanza ...", "close" */
  GPtrArray *stanzas;   /* BfStanza*, owned */
  BfStanza *header;
} Recorder;

static void
rec_open (gpointer data, const BfStanza *header)
{
  Recorder *r = data;
  g_autofree char *s = bf_stanza_to_string (header);
  g_ptr_array_add (r->events, g_strconcat ("open ", s, NULL));
  g_clear_pointer (&r->header, bf_stanza_free);
  r->header = bf_stanza_copy (header);
}

static void
rec_stanza (gpointer data, BfStanza *stanza)
{
  Recorder *r = data;
  g_autofree char *s = bf_stanza_to_string (stanza);
  g_ptr_array_add (r->events, g_strconcat ("stanza ", s, NULL));
  g_ptr_array_add (r->stanzas, stanza);
}

static void
rec_close (gpointer data)
{
  Recorder *r = data;
  g_ptr_array_add (r->events, g_strdup ("close"));
}

static const BfXmlStreamCallbacks rec_callbacks = { rec_open, rec_stanza, rec_close };

static void
recorder_init (Recorder *r)
{
  r->events = g_ptr_array_new_with_free_func (g_free);
  r->stanzas = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  r->header = NULL;
}

static void
recorder_clear (Recorder *r)
{
  g_ptr_array_set_size (r->events, 0);
  g_ptr_array_set_size (r->stanzas, 0);
  g_clear_pointer (&r->header, bf_stanza_free);
}

static void
recorder_free (Recorder *r)
{
  g_ptr_array_unref (r->events);
  g_ptr_array_unref (r->stanzas);
  g_clear_pointer (&r->header, bf_stanza_free);
}

static void
assert_same_events (GPtrArray *a, GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpstr (g_ptr_array_index (a, i), ==, g_ptr_array_index (b, i));
}

static void
feed_ok (BfXmlStream *parser, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = bf_xml_stream_feed (parser, data, len, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
feed_str_ok (BfXmlStream *parser, const char *data)
{
  feed_ok (parser, data, strlen (data));
}

/* The reference: the sample fed in one piece. */
static GPtrArray *
reference_events (void)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
  feed_ok (parser, sample_stream, sizeof sample_stream - 1);
  GPtrArray *events = g_ptr_array_ref (r.events);
  recorder_free (&r);
  return events;
}

/* --- the sample stream --- */

static void
test_sample_one_shot (void)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
  feed_ok (parser, sample_stream, sizeof sample_stream - 1);

  g_assert_cmpuint (r.events->len, ==, 6);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (r.events, 0), "open "));
  g_assert_cmpstr (g_ptr_array_index (r.events, 5), ==, "close");
  g_assert_nonnull (r.header);
  g_assert_cmpstr (bf_stanza_get_name (r.header), ==, "stream");
  g_assert_cmpstr (bf_stanza_get_ns (r.header), ==, BF_NS_STREAMS);
  g_assert_cmpstr (bf_stanza_get_attr (r.header, "id"), ==, "3BF96D32");
  g_assert_cmpstr (bf_stanza_get_attr (r.header, "from"), ==, "relay.example.org");
  g_assert_cmpuint (bf_stanza_n_children (r.header), ==, 0);
  g_assert_cmpuint (r.stanzas->len, ==, 4);

  BfStanza *disco = g_ptr_array_index (r.stanzas, 0);
  g_assert_cmpstr (bf_stanza_get_name (disco), ==, "iq");
  g_assert_cmpstr (bf_stanza_get_ns (disco), ==, BF_NS_COMPONENT);
  g_assert_cmpstr (bf_stanza_get_attr (disco, "id"), ==, "disco1");
  g_assert_nonnull (bf_stanza_find_child (disco, "query", BF_NS_DISCO_INFO));
  g_autofree char *disco_s = bf_stanza_to_string (disco);
  g_assert_cmpstr (disco_s, ==,
    "<iq type='get' id='disco1' from='alice@example.org/phone' to='relay.example.org'>"
    "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");

  BfStanza *msg = g_ptr_array_index (r.stanzas, 1);
  g_assert_cmpstr (bf_stanza_get_name (msg), ==, "message");
  g_assert_cmpstr (bf_stanza_find_child_text (msg, "body", NULL), ==,
                   "Fish & chips <3 \xf0\x9f\x98\x80 \xc3\xa9 'q\" <raw> & "
                   "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 tail");
  g_assert_cmpstr (bf_stanza_find_child_text (msg, "thread", BF_NS_COMPONENT), ==, "t1");
  g_assert_cmpstr (bf_stanza_get_text (msg), ==, "");

  BfStanza *jiq = g_ptr_array_index (r.stanzas, 2);
  BfStanza *jingle = bf_stanza_find_child (jiq, "jingle", "urn:xmpp:jingle:1");
  g_assert_nonnull (jingle);
  g_assert_cmpstr (bf_stanza_get_attr (jingle, "sid"), ==, "a73sjjvkla37jfea");
  BfStanza *content = bf_stanza_find_child (jingle, "content", "urn:xmpp:jingle:1");
  g_assert_nonnull (content);
  BfStanza *desc = bf_stanza_find_child (content, "description", "urn:xmpp:jingle:apps:rtp:1");
  g_assert_nonnull (desc);
  BfStanza *pt = bf_stanza_find_child (desc, "payload-type", "urn:xmpp:jingle:apps:rtp:1");
  g_assert_nonnull (pt);
  g_assert_cmpstr (bf_stanza_get_attr (pt, "name"), ==, "opus");
  g_assert_nonnull (bf_stanza_find_child (pt, "parameter", "urn:xmpp:jingle:apps:rtp:1"));
  BfStanza *transport = bf_stanza_find_child (content, "transport",
                                              "urn:xmpp:jingle:transports:ice-udp:1");
  g_assert_nonnull (transport);
  BfStanza *fp = bf_stanza_find_child (transport, "fingerprint", "urn:xmpp:jingle:apps:dtls:0");
  g_assert_nonnull (fp);
  g_assert_cmpstr (bf_stanza_get_text (fp), ==, "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46");
  BfStanza *cand = bf_stanza_find_child (transport, "candidate",
                                         "urn:xmpp:jingle:transports:ice-udp:1");
  g_assert_nonnull (cand);
  g_assert_cmpuint (bf_stanza_n_attrs (cand), ==, 10);

  BfStanza *pres = g_ptr_array_index (r.stanzas, 3);
  g_assert_cmpstr (bf_stanza_get_name (pres), ==, "presence");
  g_assert_cmpstr (bf_stanza_get_attr (pres, "xml:lang"), ==, "en");
  g_assert_cmpstr (bf_stanza_find_child_text (pres, "status", NULL), ==,
                   "Out to lunch \xe2\x98\x95");
  g_assert_nonnull (bf_stanza_find_child (pres, "c", "http://jabber.org/protocol/caps"));

  recorder_free (&r);
}

static void
test_sample_split_everywhere (void)
{
  g_autoptr (GPtrArray) expected = reference_events ();
  g_assert_cmpuint (expected->len, ==, 6);
  const gsize len = sizeof sample_stream - 1;
  for (gsize split = 0; split <= len; split++)
    {
      Recorder r;
      recorder_init (&r);
      g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
      g_autoptr (GError) error = NULL;
      gboolean ok1 = bf_xml_stream_feed (parser, sample_stream, split, &error);
      g_assert_no_error (error);
      gboolean ok2 = bf_xml_stream_feed (parser, sample_stream + split, len - split, &error);
      g_assert_no_error (error);
      if (!ok1 || !ok2 || r.events->len != expected->len)
        g_test_message ("split at byte %" G_GSIZE_FORMAT, split);
      g_assert_true (ok1 && ok2);
      assert_same_events (r.events, expected);
      recorder_free (&r);
    }
}

static void
test_sample_byte_by_byte (void)
{
  g_autoptr (GPtrArray) expected = reference_events ();
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
  for (gsize i = 0; i < sizeof sample_stream - 1; i++)
    feed_ok (parser, sample_stream + i, 1);
  assert_same_events (r.events, expected);
  recorder_free (&r);
}

static void
test_no_callbacks (void)
{
  /* Without a stanza callback the parser frees what it built. */
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, NULL, NULL);
  feed_ok (parser, sample_stream, sizeof sample_stream - 1);
}

/* --- errors --- */

/* A small stream within every limit the tests set. */
static const char small_stream[] =
  HEADER "<iq type='get' id='s1'><ping xmlns='urn:xmpp:ping'/></iq> <presence/></stream:stream>";

/* Feeds @good (must pass), then @bad (must fail with @code, and no stanza
 * may come out of the failing feed); then checks that the parser stays
 * failed, and that after a reset it parses a new stream again. */
static void
check_error_full (const BfXmlLimits *limits, const char *good, const char *bad, gsize bad_len,
                  BfXmlStreamError code)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (limits, &rec_callbacks, &r);
  if (good && *good)
    feed_str_ok (parser, good);
  guint stanzas_before = r.stanzas->len;
  g_autoptr (GError) error = NULL;
  gboolean ok = bf_xml_stream_feed (parser, bad, bad_len, &error);
  g_assert_false (ok);
  g_assert_error (error, BF_XML_STREAM_ERROR, (gint) code);
  g_assert_nonnull (error->message);
  g_assert_cmpuint (r.stanzas->len, ==, stanzas_before);

  /* failed for good, whatever comes next */
  g_autoptr (GError) again = NULL;
  static const char more[] = "<presence/>";
  g_assert_false (bf_xml_stream_feed (parser, more, sizeof more - 1, &again));
  g_assert_error (again, BF_XML_STREAM_ERROR, (gint) code);
  g_autoptr (GError) again2 = NULL;
  g_assert_false (bf_xml_stream_feed (parser, HEADER, strlen (HEADER), &again2));
  g_assert_error (again2, BF_XML_STREAM_ERROR, (gint) code);

  /* a reset gives a fresh parser */
  recorder_clear (&r);
  bf_xml_stream_reset (parser);
  feed_ok (parser, small_stream, sizeof small_stream - 1);
  g_assert_cmpuint (r.events->len, ==, 4);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (r.events, 0), "open "));
  g_assert_cmpstr (g_ptr_array_index (r.events, 1), ==,
                   "stanza <iq type='get' id='s1'><ping xmlns='urn:xmpp:ping'/></iq>");
  g_assert_cmpstr (g_ptr_array_index (r.events, 2), ==, "stanza <presence/>");
  g_assert_cmpstr (g_ptr_array_index (r.events, 3), ==, "close");
  recorder_free (&r);
}

static void
check_error (const char *good, const char *bad, BfXmlStreamError code)
{
  check_error_full (NULL, good, bad, strlen (bad), code);
}

static void
test_error_conditions (void)
{
  g_assert_cmpstr (bf_xml_stream_error_condition (BF_XML_STREAM_ERROR_NOT_WELL_FORMED), ==,
                   "not-well-formed");
  g_assert_cmpstr (bf_xml_stream_error_condition (BF_XML_STREAM_ERROR_POLICY_VIOLATION), ==,
                   "policy-violation");
  g_assert_cmpstr (bf_xml_stream_error_condition (BF_XML_STREAM_ERROR_RESTRICTED_XML), ==,
                   "restricted-xml");
  g_assert_cmpstr (bf_xml_stream_error_condition (BF_XML_STREAM_ERROR_INVALID_NAMESPACE), ==,
                   "invalid-namespace");
  g_assert_cmpstr (bf_xml_stream_error_condition (BF_XML_STREAM_ERROR_BAD_FORMAT), ==,
                   "bad-format");
}

static void
test_error_not_well_formed (void)
{
  const BfXmlStreamError e = BF_XML_STREAM_ERROR_NOT_WELL_FORMED;
  check_error (HEADER, "<message><body></message>", e);            /* mismatched tag */
  check_error (HEADER, "<message><body>\x01</body></message>", e);  /* bad char */
  check_error (HEADER, "<message><body>\xff\xfe</body></message>", e); /* not UTF-8 */
  check_error (HEADER, "<message b='1' b='2'/>", e);               /* duplicate attribute */
  check_error (HEADER, "<a b='1' b='2'>", e);
  check_error (HEADER, "<foo:bar/>", e);                            /* undeclared prefix */
  check_error (HEADER, "<message x:y='1'/>", e);                    /* undeclared attr prefix */
  check_error (HEADER, "<message>&nbsp;</message>", e);             /* undefined entity */
  check_error (HEADER, "<message a=1/>", e);                        /* unquoted */
  check_error (HEADER, "</stream:stream><presence/>", e);           /* after the close */
  check_error ("", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'></x>", e);
}

static void
test_error_restricted_xml (void)
{
  const BfXmlStreamError e = BF_XML_STREAM_ERROR_RESTRICTED_XML;
  check_error (HEADER, "<!-- hello -->", e);
  check_error (HEADER, "<message><!-- inside --></message>", e);
  check_error ("", "<!-- before the root -->" HEADER, e);
  check_error (HEADER, "<?php echo 1; ?>", e);
  check_error (HEADER, "<message><?pi data?></message>", e);
  check_error ("", "<?xml version='1.0'?><!DOCTYPE stream:stream>" HEADER, e);
  check_error ("",
    "<?xml version='1.0'?>"
    "<!DOCTYPE lolz ["
    "<!ENTITY lol \"lol\">"
    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
    "]>"
    "<stream:stream xmlns='jabber:component:accept'"
    " xmlns:stream='http://etherx.jabber.org/streams'><message>&lol3;</message>", e);
}

static void
test_error_invalid_namespace (void)
{
  const BfXmlStreamError e = BF_XML_STREAM_ERROR_INVALID_NAMESPACE;
  check_error ("", "<stream:stream xmlns:stream='urn:wrong'>", e);
  check_error ("", "<stream xmlns='jabber:component:accept'>", e);
  check_error ("", "<message xmlns='jabber:component:accept'>", e);
  check_error ("", "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>", e);
  check_error ("", "<?xml version='1.0'?><root>", e);
}

static void
test_error_bad_format (void)
{
  const BfXmlStreamError e = BF_XML_STREAM_ERROR_BAD_FORMAT;
  check_error (HEADER, "hello<presence/>", e);
  check_error (HEADER "<presence/>", "  x  <presence/>", e);
  check_error (HEADER, "&amp;<presence/>", e);
}

/* --- limits --- */

/* Feeds @chunk repeatedly after @prefix until a feed fails; returns how
 * many bytes of the stanza (from @prefix on) had been fed at that point. */
static gsize
feed_until_failure (BfXmlStream *parser, const char *prefix, const char *chunk,
                    gsize max_total, GError **error)
{
  gsize total = strlen (prefix);
  if (!bf_xml_stream_feed (parser, prefix, strlen (prefix), error))
    return total;
  gsize chunk_len = strlen (chunk);
  while (total < max_total)
    {
      total += chunk_len;
      if (!bf_xml_stream_feed (parser, chunk, chunk_len, error))
        return total;
    }
  return 0;  /* never failed */
}

static void
check_huge (const BfXmlLimits *limits, gsize limit, const char *prefix, char fill,
            gsize chunk_len)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (limits, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  g_autofree char *chunk = g_strnfill (chunk_len, fill);
  g_autoptr (GError) error = NULL;
  gsize consumed = feed_until_failure (parser, prefix, chunk, 8 * limit + (1 << 20), &error);
  g_test_message ("limit %" G_GSIZE_FORMAT ", chunk %" G_GSIZE_FORMAT
                  ": failed after %" G_GSIZE_FORMAT " bytes", limit, chunk_len, consumed);
  g_assert_cmpuint (consumed, !=, 0);
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_assert_cmpuint (consumed, >, limit);
  g_assert_cmpuint (consumed, <=, limit + 64 * 1024);
  g_assert_cmpuint (r.stanzas->len, ==, 0);
  recorder_free (&r);
}

static void
test_limit_size_huge_text (void)
{
  check_huge (NULL, BF_XML_DEFAULT_MAX_STANZA_SIZE, "<message to='a@b'><body>", 'a', 4096);
  check_huge (NULL, BF_XML_DEFAULT_MAX_STANZA_SIZE, "<message to='a@b'><body>", 'a', 100000);
  BfXmlLimits small = { 2048, 0, 0 };
  check_huge (&small, 2048, "<message to='a@b'><body>", 'b', 100);
}

static void
test_limit_size_huge_start_tag (void)
{
  check_huge (NULL, BF_XML_DEFAULT_MAX_STANZA_SIZE, "<message to='", 'x', 1000);
  check_huge (NULL, BF_XML_DEFAULT_MAX_STANZA_SIZE, "<message ", 'y', 3333);
  BfXmlLimits small = { 2048, 0, 0 };
  check_huge (&small, 2048, "<message a='", 'x', 10);
}

static void
test_limit_size_one_feed (void)
{
  /* A huge stanza arriving in one read fails too. */
  gsize n = 4 * 1024 * 1024;
  GString *big = g_string_new ("<message><body>");
  for (gsize i = 0; i < n; i++)
    g_string_append_c (big, 'z');
  g_string_append (big, "</body></message>");
  check_error_full (NULL, HEADER, big->str, big->len, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_string_free (big, TRUE);
}

/* A stanza of exactly @size bytes. */
static char *
stanza_of_size (gsize size)
{
  static const char head[] = "<message to='a@b'><body>";
  static const char tail[] = "</body></message>";
  gsize fill = size - (sizeof head - 1) - (sizeof tail - 1);
  g_autofree char *body = g_strnfill (fill, 'q');
  char *s = g_strconcat (head, body, tail, NULL);
  g_assert_cmpuint (strlen (s), ==, size);
  return s;
}

static void
test_limit_size_exact (void)
{
  const gsize limit = 1024;
  BfXmlLimits limits = { limit, 0, 0 };
  g_autofree char *stanza = stanza_of_size (limit);
  g_autofree char *two = g_strconcat (stanza, stanza, NULL);

  /* in one piece; two of them back to back in one piece */
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  feed_str_ok (parser, stanza);
  feed_str_ok (parser, two);
  feed_str_ok (parser, " ");
  feed_str_ok (parser, stanza);
  g_assert_cmpuint (r.stanzas->len, ==, 4);
  g_autofree char *out = bf_stanza_to_string (g_ptr_array_index (r.stanzas, 3));
  g_assert_cmpstr (out, ==, stanza);

  /* byte by byte, twice in a row */
  recorder_clear (&r);
  bf_xml_stream_reset (parser);
  feed_str_ok (parser, HEADER);
  for (gsize i = 0; two[i]; i++)
    feed_ok (parser, two + i, 1);
  g_assert_cmpuint (r.stanzas->len, ==, 2);
  recorder_free (&r);
}

static void
test_limit_size_over_by_one (void)
{
  const gsize limit = 1024;
  BfXmlLimits limits = { limit, 0, 0 };
  g_autofree char *stanza = stanza_of_size (limit + 1);

  /* byte by byte */
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;
  for (gsize i = 0; stanza[i] && ok; i++)
    ok = bf_xml_stream_feed (parser, stanza + i, 1, &error);
  g_assert_false (ok);
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_assert_cmpuint (r.stanzas->len, ==, 0);
  recorder_free (&r);

  /* in one piece */
  check_error_full (&limits, HEADER, stanza, strlen (stanza),
                    BF_XML_STREAM_ERROR_POLICY_VIOLATION);
}

static void
test_limit_size_complete_in_one_feed (void)
{
  /* A complete stanza three times the limit, arriving in one read. */
  BfXmlLimits limits = { 1024, 0, 0 };
  g_autofree char *stanza = stanza_of_size (3 * 1024);
  check_error_full (&limits, HEADER, stanza, strlen (stanza),
                    BF_XML_STREAM_ERROR_POLICY_VIOLATION);
}

static char *
nested (guint depth)
{
  /* depth 1 is the stanza itself */
  GString *s = g_string_new ("<message>");
  for (guint i = 1; i < depth; i++)
    g_string_append_printf (s, "<e%u>", i);
  for (guint i = depth - 1; i >= 1; i--)
    g_string_append_printf (s, "</e%u>", i);
  g_string_append (s, "</message>");
  return g_string_free (s, FALSE);
}

static void
test_limit_depth_exact (void)
{
  BfXmlLimits limits = { 0, 4, 0 };
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  g_autofree char *three = nested (3);
  g_autofree char *four = nested (4);
  feed_str_ok (parser, three);
  feed_str_ok (parser, four);
  g_assert_cmpuint (r.stanzas->len, ==, 2);
  g_autofree char *out = bf_stanza_to_string (g_ptr_array_index (r.stanzas, 1));
  g_assert_cmpstr (out, ==, "<message><e1><e2><e3/></e2></e1></message>");
  recorder_free (&r);
}

static void
test_limit_depth_over (void)
{
  BfXmlLimits limits = { 0, 4, 0 };
  g_autofree char *five = nested (5);
  check_error_full (&limits, HEADER, five, strlen (five), BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_autofree char *deep = nested (1000);
  check_error_full (&limits, HEADER, deep, strlen (deep), BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  /* the default limit applies without limits */
  g_autofree char *over_default = nested (BF_XML_DEFAULT_MAX_DEPTH + 1);
  check_error_full (NULL, HEADER, over_default, strlen (over_default),
                    BF_XML_STREAM_ERROR_POLICY_VIOLATION);
}

static void
test_limit_attributes (void)
{
  BfXmlLimits limits = { 0, 0, 4 };
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  feed_str_ok (parser, "<message a='1' b='2' c='3' d='4'><x xmlns='urn:x' xml:lang='en'"
                       " e='1' f='2' g='3'/></message>");
  g_assert_cmpuint (r.stanzas->len, ==, 1);
  BfStanza *x = bf_stanza_find_child (g_ptr_array_index (r.stanzas, 0), "x", "urn:x");
  g_assert_nonnull (x);
  g_assert_cmpuint (bf_stanza_n_attrs (x), ==, 4);
  recorder_free (&r);

  /* (non-empty elements here: /xmlstream/refused/ covers empty ones) */
  static const char top_over[] = "<message a='1' b='2' c='3' d='4' e='5'></message>";
  check_error_full (&limits, HEADER, top_over, sizeof top_over - 1,
                    BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  static const char nested_over[] =
    "<message><x a='1' b='2' c='3' d='4' e='5'></x></message>";
  check_error_full (&limits, HEADER, nested_over, sizeof nested_over - 1,
                    BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  /* the header too */
  static const char header_over[] =
    "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'"
    " a='1' b='2' c='3' d='4' e='5'>";
  check_error_full (&limits, "", header_over, sizeof header_over - 1,
                    BF_XML_STREAM_ERROR_POLICY_VIOLATION);
}

/* An element refused by a limit or by the root check produces no
 * callback, even when it is an empty-element tag (expat reports its end
 * right after its start). */
static void
test_refused_empty_stanza (void)
{
  BfXmlLimits limits = { 0, 0, 4 };
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  g_assert_cmpuint (r.events->len, ==, 1);
  g_autoptr (GError) error = NULL;
  static const char over[] = "<message a='1' b='2' c='3' d='4' e='5'/>";
  g_assert_false (bf_xml_stream_feed (parser, over, sizeof over - 1, &error));
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_assert_cmpuint (r.events->len, ==, 1);   /* in particular, no stream close */
  recorder_free (&r);
}

static void
test_refused_empty_child (void)
{
  BfXmlLimits limits = { 0, 0, 4 };
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  g_autoptr (GError) error = NULL;
  static const char over[] = "<message to='a@b'><x a='1' b='2' c='3' d='4' e='5'/></message>";
  g_assert_false (bf_xml_stream_feed (parser, over, sizeof over - 1, &error));
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  /* the refused stanza is not handed out, truncated or otherwise */
  g_assert_cmpuint (r.stanzas->len, ==, 0);
  g_assert_cmpuint (r.events->len, ==, 1);
  recorder_free (&r);
}

static void
test_refused_empty_root (void)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
  g_autoptr (GError) error = NULL;
  static const char root[] = "<presence xmlns='jabber:component:accept'/>";
  g_assert_false (bf_xml_stream_feed (parser, root, sizeof root - 1, &error));
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_INVALID_NAMESPACE);
  g_assert_cmpuint (r.events->len, ==, 0);
  recorder_free (&r);
}

/* --- reset, split text --- */

static void
test_reset_mid_stanza (void)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER "<message to='a@b'><body>half a mess");
  g_assert_cmpuint (r.events->len, ==, 1);
  bf_xml_stream_reset (parser);
  recorder_clear (&r);
  feed_ok (parser, sample_stream, sizeof sample_stream - 1);
  g_autoptr (GPtrArray) expected = reference_events ();
  assert_same_events (r.events, expected);

  /* a new header is required after a reset: a bare stanza is no root */
  bf_xml_stream_reset (parser);
  g_autoptr (GError) error = NULL;
  g_assert_false (bf_xml_stream_feed (parser, "<presence>", 10, &error));
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_INVALID_NAMESPACE);
  recorder_free (&r);
}

static void
test_utf8_split (void)
{
  static const char text[] = "\xc3\xa9\xf0\x9f\x98\x80\xe4\xb8\xad";   /* é 😀 中 */
  g_autofree char *stanza = g_strconcat ("<message to='\xf0\x9f\x98\x80@x'><body>", text,
                                         "</body></message>", NULL);
  const char *body_at = strstr (stanza, "<body>") + 6;
  const char *attr_at = strchr (stanza, '\'') + 1;
  const gsize len = strlen (stanza);
  /* every split inside and around the multi-byte characters */
  const gsize starts[2] = { (gsize) (body_at - stanza), (gsize) (attr_at - stanza) };
  const gsize spans[2] = { sizeof text - 1, 4 };
  for (guint b = 0; b < 2; b++)
    for (gsize k = 0; k <= spans[b]; k++)
      {
        gsize split = starts[b] + k;
        Recorder r;
        recorder_init (&r);
        g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
        feed_str_ok (parser, HEADER);
        feed_ok (parser, stanza, split);
        feed_ok (parser, stanza + split, len - split);
        g_assert_cmpuint (r.stanzas->len, ==, 1);
        BfStanza *m = g_ptr_array_index (r.stanzas, 0);
        g_assert_cmpstr (bf_stanza_find_child_text (m, "body", NULL), ==, text);
        g_assert_cmpstr (bf_stanza_get_attr (m, "to"), ==, "\xf0\x9f\x98\x80@x");
        recorder_free (&r);
      }
}

static void
test_text_split (void)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &rec_callbacks, &r);
  feed_str_ok (parser, HEADER);
  feed_str_ok (parser, "<message><body>Hel");
  feed_str_ok (parser, "lo wo");
  feed_str_ok (parser, "rld &am");
  feed_str_ok (parser, "p; more</body><x>ab");
  feed_str_ok (parser, "c<y/>de");
  feed_str_ok (parser, "f</x></message>");
  g_assert_cmpuint (r.stanzas->len, ==, 1);
  BfStanza *m = g_ptr_array_index (r.stanzas, 0);
  g_assert_cmpstr (bf_stanza_find_child_text (m, "body", NULL), ==, "Hello world & more");
  g_assert_cmpstr (bf_stanza_find_child_text (m, "x", NULL), ==, "abcdef");
  g_autofree char *out = bf_stanza_to_string (m);
  g_assert_cmpstr (out, ==,
    "<message><body>Hello world &amp; more</body><x>abc<y/>def</x></message>");
  recorder_free (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/xmlstream/sample/one-shot", test_sample_one_shot);
  g_test_add_func ("/xmlstream/sample/split-everywhere", test_sample_split_everywhere);
  g_test_add_func ("/xmlstream/sample/byte-by-byte", test_sample_byte_by_byte);
  g_test_add_func ("/xmlstream/sample/no-callbacks", test_no_callbacks);
  g_test_add_func ("/xmlstream/error/conditions", test_error_conditions);
  g_test_add_func ("/xmlstream/error/not-well-formed", test_error_not_well_formed);
  g_test_add_func ("/xmlstream/error/restricted-xml", test_error_restricted_xml);
  g_test_add_func ("/xmlstream/error/invalid-namespace", test_error_invalid_namespace);
  g_test_add_func ("/xmlstream/error/bad-format", test_error_bad_format);
  g_test_add_func ("/xmlstream/limit/size/huge-text", test_limit_size_huge_text);
  g_test_add_func ("/xmlstream/limit/size/huge-start-tag", test_limit_size_huge_start_tag);
  g_test_add_func ("/xmlstream/limit/size/one-feed", test_limit_size_one_feed);
  g_test_add_func ("/xmlstream/limit/size/exact", test_limit_size_exact);
  g_test_add_func ("/xmlstream/limit/size/over-by-one", test_limit_size_over_by_one);
  g_test_add_func ("/xmlstream/limit/size/complete-in-one-feed",
                   test_limit_size_complete_in_one_feed);
  g_test_add_func ("/xmlstream/limit/depth/exact", test_limit_depth_exact);
  g_test_add_func ("/xmlstream/limit/depth/over", test_limit_depth_over);
  g_test_add_func ("/xmlstream/limit/attributes", test_limit_attributes);
  g_test_add_func ("/xmlstream/reset/mid-stanza", test_reset_mid_stanza);
  g_test_add_func ("/xmlstream/utf8-split", test_utf8_split);
  g_test_add_func ("/xmlstream/text-split", test_text_split);
  g_test_add_func ("/xmlstream/refused/empty-stanza", test_refused_empty_stanza);
  g_test_add_func ("/xmlstream/refused/empty-child", test_refused_empty_child);
  g_test_add_func ("/xmlstream/refused/empty-root", test_refused_empty_root);
  return g_test_run ();
}
