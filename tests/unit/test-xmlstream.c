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

/* Over a limit, a stanza is dropped (reported by its head) and the stream
 * goes on; these record the drop among the other events. */
static void
rec_dropped (gpointer data, const BfStanza *head, BfXmlDropReason reason)
{
  Recorder *r = data;
  g_assert_cmpuint (bf_stanza_n_children (head), ==, 0);
  g_autofree char *s = bf_stanza_to_string (head);
  g_ptr_array_add (r->events, g_strdup_printf ("dropped %s %s",
                                               bf_xml_drop_reason_to_string (reason), s));
}

static BfXmlStream *
drop_parser_new (const BfXmlLimits *limits, Recorder *r)
{
  BfXmlStream *parser = bf_xml_stream_new (limits, &rec_callbacks, r);
  bf_xml_stream_set_dropped_func (parser, rec_dropped);
  return parser;
}

#define NEXT "<iq type='get' id='n1' to='relay.example.org'><ping xmlns='urn:xmpp:ping'/></iq>"

/* Feeds @bad inside a stream, then a good stanza and the close, split in
 * two at every byte of @bad when @every_split (one piece otherwise): each
 * time @bad is dropped as @expected says ("dropped REASON <head/>"), the
 * next stanza comes out whole, and the stream closes normally. */
static void
check_dropped (const BfXmlLimits *limits, const char *bad, gsize bad_len, const char *expected,
               gboolean every_split)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (limits, &r);
  gsize first = every_split ? 1 : bad_len;
  for (gsize split = first; split <= bad_len; split++)
    {
      recorder_clear (&r);
      bf_xml_stream_reset (parser);
      feed_str_ok (parser, HEADER);
      feed_ok (parser, bad, split);
      if (split < bad_len)
        feed_ok (parser, bad + split, bad_len - split);
      feed_str_ok (parser, NEXT " </stream:stream>");
      g_assert_cmpuint (r.events->len, ==, 4);
      g_assert_cmpstr (g_ptr_array_index (r.events, 1), ==, expected);
      g_assert_cmpstr (g_ptr_array_index (r.events, 2), ==, "stanza " NEXT);
      g_assert_cmpstr (g_ptr_array_index (r.events, 3), ==, "close");
    }
  recorder_free (&r);
}

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

/* An element that never ends is skipped only up to the hard bound: then
 * the stream ends, having held at most twice the bound (expat's buffer and
 * the bytes held back from it) plus one read. */
static void
check_huge (const BfXmlLimits *limits, gsize limit, const char *prefix, char fill,
            gsize chunk_len)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (limits, &r);
  feed_str_ok (parser, HEADER);
  g_autofree char *chunk = g_strnfill (chunk_len, fill);
  g_autoptr (GError) error = NULL;
  gsize hard = BF_XML_HARD_LIMIT_FACTOR * limit;
  gsize consumed = feed_until_failure (parser, prefix, chunk, 2 * hard + (1 << 20), &error);
  g_test_message ("limit %" G_GSIZE_FORMAT ", chunk %" G_GSIZE_FORMAT
                  ": failed after %" G_GSIZE_FORMAT " bytes", limit, chunk_len, consumed);
  g_assert_cmpuint (consumed, !=, 0);
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_assert_cmpuint (consumed, >, hard);
  g_assert_cmpuint (consumed, <=, 2 * hard + 64 * 1024 + chunk_len);
  g_assert_cmpuint (r.stanzas->len, ==, 0);
  g_assert_cmpuint (r.events->len, ==, 1);   /* the header only: no drop, no close */
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
  /* (small reads: expat rescans a start tag from its beginning on every
   * parse; without the bytes held back this takes seconds, not a moment) */
  check_huge (NULL, BF_XML_DEFAULT_MAX_STANZA_SIZE, "<message to='", 'x', 1000);
  check_huge (NULL, BF_XML_DEFAULT_MAX_STANZA_SIZE, "<message ", 'y', 3333);
  check_huge (NULL, BF_XML_DEFAULT_MAX_STANZA_SIZE, "<message><body a='", 'y', 5000);
  BfXmlLimits small = { 2048, 0, 0 };
  check_huge (&small, 2048, "<message a='", 'x', 10);
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

/* 10 MB of a stanza that never ends, in 64 KiB reads: skipping keeps no
 * content (the heap stays flat while megabytes go by under the hard
 * bound), and the hard bound ends the stream long before the 10 MB. */
static void
test_limit_size_ten_mb_unterminated (void)
{
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (NULL, &r);
  feed_str_ok (parser, HEADER "<message from='a@b/c' to='echo@relay.example.org' id='big'><body>");
  g_autofree char *chunk = g_strnfill (64 * 1024, 'm');
  const gsize hard = BF_XML_HARD_LIMIT_FACTOR * BF_XML_DEFAULT_MAX_STANZA_SIZE;
  gsize total = 0;
  gboolean ok = TRUE;
  g_autoptr (GError) error = NULL;
#ifdef HAVE_MALLINFO2
  gsize heap_at_skip = 0;
#endif
  while (ok && total < 10 * 1000 * 1000)
    {
      ok = bf_xml_stream_feed (parser, chunk, 64 * 1024, &error);
      total += 64 * 1024;
#ifdef HAVE_MALLINFO2
      if (ok && total == 2 * BF_XML_DEFAULT_MAX_STANZA_SIZE)
        heap_at_skip = mallinfo2 ().uordblks;
      if (ok && total == hard - 128 * 1024 && heap_at_skip != 0)
        {
          gsize now = mallinfo2 ().uordblks;
          g_test_message ("heap grew by %" G_GSSIZE_FORMAT " bytes over %" G_GSIZE_FORMAT
                          " skipped bytes", (gssize) (now - heap_at_skip),
                          total - 2 * BF_XML_DEFAULT_MAX_STANZA_SIZE);
          g_assert_cmpint ((gssize) (now - heap_at_skip), <, 256 * 1024);
        }
#endif
    }
  g_assert_false (ok);
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_assert_cmpuint (total, >, hard - 256);
  g_assert_cmpuint (total, <=, 2 * hard + 64 * 1024);
  g_assert_cmpuint (r.events->len, ==, 1);
  recorder_free (&r);
}

/* A dropped stanza whose start tag is megabytes long (an attribute value
 * full of entities, as a server's re-escaping makes them): bytes are held
 * back from expat while it cannot end (no '>'), yet the drop and the next
 * stanza come out as soon as the bytes that end it arrive. */
static void
test_limit_size_huge_attribute_dropped (void)
{
  static const char start[] =
    "<message from='a@b/c' to='echo@relay.example.org' id='h' type='chat' x='";
  static const char expected[] =
    "dropped size <message from='a@b/c' to='echo@relay.example.org' id='h' type='chat'/>";
  g_autofree char *chunk = g_strnfill (16384, 'q');
  memcpy (chunk + 100, "&quot;", 6);
  for (guint way = 0; way < 2; way++)
    {
      Recorder r;
      recorder_init (&r);
      g_autoptr (BfXmlStream) parser = drop_parser_new (NULL, &r);
      feed_str_ok (parser, HEADER);
      feed_str_ok (parser, start);
      for (guint i = 0; i < 3 * 64; i++)   /* 3 MiB */
        feed_ok (parser, chunk, 16384);
      g_assert_cmpuint (r.events->len, ==, 1);
      if (way == 0)
        feed_str_ok (parser, "'/>" NEXT);
      else
        {
          feed_str_ok (parser, "'");
          feed_str_ok (parser, "/");
          g_assert_cmpuint (r.events->len, ==, 1);
          feed_str_ok (parser, ">");
          g_assert_cmpuint (r.events->len, ==, 2);
          feed_str_ok (parser, NEXT);
        }
      g_assert_cmpuint (r.events->len, ==, 3);
      g_assert_cmpstr (g_ptr_array_index (r.events, 1), ==, expected);
      g_assert_cmpstr (g_ptr_array_index (r.events, 2), ==, "stanza " NEXT);
      recorder_free (&r);
    }
}

static void
test_limit_size_one_feed (void)
{
  /* A stanza over the hard bound arriving in one read ends the stream. */
  gsize n = 4 * 1024 * 1024;
  GString *big = g_string_new ("<message><body>");
  for (gsize i = 0; i < n; i++)
    g_string_append_c (big, 'z');
  g_string_append (big, "</body></message>");
  check_error_full (NULL, HEADER, big->str, big->len, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_string_free (big, TRUE);

  /* One of 1 MiB (over the limit, under the bound) is dropped. */
  GString *mid = g_string_new ("<message from='a@b/c' to='x@relay.example.org' id='m' type='chat'"
                               " other='o'><body>");
  for (gsize i = 0; i < 1024 * 1024; i++)
    g_string_append_c (mid, 'z');
  g_string_append (mid, "</body></message>");
  check_dropped (NULL, mid->str, mid->len,
                 "dropped size <message from='a@b/c' to='x@relay.example.org' id='m' type='chat'/>",
                 FALSE);
  g_string_free (mid, TRUE);
}

/* The hard bound holds for an element that ends within the read that
 * carries it over, however it is sliced. */
static void
test_limit_size_hard_bound_complete (void)
{
  BfXmlLimits limits = { 1024, 0, 0 };
  gsize hard = BF_XML_HARD_LIMIT_FACTOR * 1024;
  GString *s = g_string_new ("<message><body>");
  while (s->len < hard + 10)
    g_string_append_c (s, 'h');
  g_string_append (s, "</body></message>");
  check_error_full (&limits, HEADER, s->str, s->len, BF_XML_STREAM_ERROR_POLICY_VIOLATION);

  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (&limits, &r);
  feed_str_ok (parser, HEADER);
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;
  for (gsize i = 0; i < s->len && ok; i++)
    ok = bf_xml_stream_feed (parser, s->str + i, 1, &error);
  g_assert_false (ok);
  g_assert_error (error, BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION);
  g_assert_cmpuint (r.events->len, ==, 1);
  recorder_free (&r);
  g_string_free (s, TRUE);
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
  g_autoptr (BfXmlStream) parser = drop_parser_new (&limits, &r);
  feed_str_ok (parser, HEADER);
  feed_str_ok (parser, stanza);
  feed_str_ok (parser, two);
  feed_str_ok (parser, " ");
  feed_str_ok (parser, stanza);
  g_assert_cmpuint (r.stanzas->len, ==, 4);
  g_assert_cmpuint (r.events->len, ==, 5);
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

  /* byte by byte: dropped, and the stream goes on */
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (&limits, &r);
  feed_str_ok (parser, HEADER);
  for (gsize i = 0; stanza[i]; i++)
    feed_ok (parser, stanza + i, 1);
  feed_str_ok (parser, NEXT);
  g_assert_cmpuint (r.events->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (r.events, 1), ==, "dropped size <message to='a@b'/>");
  g_assert_cmpuint (r.stanzas->len, ==, 1);
  recorder_free (&r);

  /* in one piece, and split in two anywhere */
  check_dropped (&limits, stanza, strlen (stanza), "dropped size <message to='a@b'/>", TRUE);
}

static void
test_limit_size_complete_in_one_feed (void)
{
  /* A complete stanza three times the limit, arriving in one read. */
  BfXmlLimits limits = { 1024, 0, 0 };
  g_autofree char *stanza = stanza_of_size (3 * 1024);
  check_dropped (&limits, stanza, strlen (stanza), "dropped size <message to='a@b'/>", TRUE);
}

static char *
nested (guint depth)
{
  /* depth 1 is the stanza itself */
  GString *s = g_string_new ("<message to='a@b' from='c@d/e' id='n'>");
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
  g_autoptr (BfXmlStream) parser = drop_parser_new (&limits, &r);
  feed_str_ok (parser, HEADER);
  g_autofree char *three = nested (3);
  g_autofree char *four = nested (4);
  feed_str_ok (parser, three);
  feed_str_ok (parser, four);
  g_assert_cmpuint (r.stanzas->len, ==, 2);
  g_assert_cmpuint (r.events->len, ==, 3);
  g_autofree char *out = bf_stanza_to_string (g_ptr_array_index (r.stanzas, 1));
  g_assert_cmpstr (out, ==, "<message to='a@b' from='c@d/e' id='n'><e1><e2><e3/></e2></e1></message>");
  recorder_free (&r);
}

static void
test_limit_depth_over (void)
{
  static const char expected[] = "dropped depth <message from='c@d/e' to='a@b' id='n'/>";
  BfXmlLimits limits = { 0, 4, 0 };
  g_autofree char *five = nested (5);
  check_dropped (&limits, five, strlen (five), expected, TRUE);
  g_autofree char *deep = nested (1000);
  check_dropped (&limits, deep, strlen (deep), expected, FALSE);
  /* the default limit applies without limits */
  g_autofree char *over_default = nested (BF_XML_DEFAULT_MAX_DEPTH + 1);
  check_dropped (NULL, over_default, strlen (over_default), expected, TRUE);
  g_autofree char *at_default = nested (BF_XML_DEFAULT_MAX_DEPTH);
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (NULL, &r);
  feed_str_ok (parser, HEADER);
  feed_str_ok (parser, at_default);
  g_assert_cmpuint (r.stanzas->len, ==, 1);
  recorder_free (&r);
}

static void
test_limit_attributes (void)
{
  BfXmlLimits limits = { 0, 0, 4 };
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (&limits, &r);
  feed_str_ok (parser, HEADER);
  feed_str_ok (parser, "<message a='1' b='2' c='3' d='4'><x xmlns='urn:x' xml:lang='en'"
                       " e='1' f='2' g='3'/></message>");
  g_assert_cmpuint (r.stanzas->len, ==, 1);
  BfStanza *x = bf_stanza_find_child (g_ptr_array_index (r.stanzas, 0), "x", "urn:x");
  g_assert_nonnull (x);
  g_assert_cmpuint (bf_stanza_n_attrs (x), ==, 4);
  recorder_free (&r);

  /* (non-empty elements here: /xmlstream/refused/ covers empty ones) */
  static const char top_over[] =
    "<message type='chat' a='1' from='u@h/r' to='echo@relay.example.org' id='t'></message>";
  check_dropped (&limits, top_over, sizeof top_over - 1,
                 "dropped attributes <message from='u@h/r' to='echo@relay.example.org' id='t'"
                 " type='chat'/>", TRUE);
  static const char nested_over[] =
    "<iq type='set' id='i' to='relay.example.org' from='u@h/r'>"
    "<x a='1' b='2' c='3' d='4' e='5'></x></iq>";
  check_dropped (&limits, nested_over, sizeof nested_over - 1,
                 "dropped attributes <iq from='u@h/r' to='relay.example.org' id='i'"
                 " type='set'/>", TRUE);
  /* the header is no stanza: a broken stream */
  static const char header_over[] =
    "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'"
    " a='1' b='2' c='3' d='4' e='5'>";
  check_error_full (&limits, "", header_over, sizeof header_over - 1,
                    BF_XML_STREAM_ERROR_POLICY_VIOLATION);
}

/* The head keeps from/to/id/type only, each only up to the JID bound, and
 * no namespaced look-alikes. */
static void
test_limit_head_bounded (void)
{
  BfXmlLimits limits = { 0, 2, 0 };
  g_autofree char *long_from = g_strnfill (BF_XML_HEAD_ATTR_MAX + 1, 'f');
  g_autofree char *max_id = g_strnfill (BF_XML_HEAD_ATTR_MAX, 'i');
  g_autofree char *bad = g_strdup_printf (
    "<presence xmlns:p='urn:p' from='%s' p:to='x@y' to='z@relay.example.org' id='%s'"
    " lang='en' xml:lang='en'><a><b><c/></b></a></presence>", long_from, max_id);
  g_autofree char *expected = g_strdup_printf (
    "dropped depth <presence to='z@relay.example.org' id='%s'/>", max_id);
  check_dropped (&limits, bad, strlen (bad), expected, FALSE);
}

/* Drops do not disturb what comes after: many in a row, mixed with good
 * stanzas and keepalives, byte by byte. */
static void
test_limit_many_drops (void)
{
  BfXmlLimits limits = { 512, 3, 3 };
  GString *s = g_string_new (HEADER);
  g_autofree char *big = g_strnfill (600, 'b');
  for (guint i = 0; i < 20; i++)
    {
      g_string_append_printf (s, "<message id='d%u'><a><b><c/></b></a></message> ", i);
      g_string_append_printf (s, "<message id='a%u' a='1' b='2' c='3'/>", i);
      g_string_append_printf (s, "<message id='s%u'><body>%s</body></message>\n", i, big);
      g_string_append_printf (s, "<iq id='g%u' type='get'/>", i);
    }
  g_string_append (s, "</stream:stream>");
  Recorder r;
  recorder_init (&r);
  g_autoptr (BfXmlStream) parser = drop_parser_new (&limits, &r);
  for (gsize i = 0; i < s->len; i++)
    feed_ok (parser, s->str + i, 1);
  g_assert_cmpuint (r.events->len, ==, 1 + 20 * 4 + 1);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *d = g_strdup_printf ("dropped depth <message id='d%u'/>", i);
      g_autofree char *a = g_strdup_printf ("dropped attributes <message id='a%u'/>", i);
      g_autofree char *z = g_strdup_printf ("dropped size <message id='s%u'/>", i);
      g_autofree char *g = g_strdup_printf ("stanza <iq id='g%u' type='get'/>", i);
      g_assert_cmpstr (g_ptr_array_index (r.events, 1 + 4 * i), ==, d);
      g_assert_cmpstr (g_ptr_array_index (r.events, 2 + 4 * i), ==, a);
      g_assert_cmpstr (g_ptr_array_index (r.events, 3 + 4 * i), ==, z);
      g_assert_cmpstr (g_ptr_array_index (r.events, 4 + 4 * i), ==, g);
    }
  g_assert_cmpstr (g_ptr_array_index (r.events, r.events->len - 1), ==, "close");
  recorder_free (&r);
  g_string_free (s, TRUE);
}

/* Skipping is no licence for a broken stream: restricted or ill-formed
 * XML inside a skipped element still ends it. */
static void
test_limit_skip_still_checks (void)
{
  BfXmlLimits limits = { 0, 2, 0 };
  static const char comment[] = "<message><a><b/><!-- c --></a></message>";
  check_error_full (&limits, HEADER, comment, sizeof comment - 1,
                    BF_XML_STREAM_ERROR_RESTRICTED_XML);
  static const char mismatched[] = "<message><a><b></c></a></message>";
  check_error_full (&limits, HEADER, mismatched, sizeof mismatched - 1,
                    BF_XML_STREAM_ERROR_NOT_WELL_FORMED);
}

/* An over-limit empty element is dropped too (expat reports its end right
 * after its start); nothing of it is handed out as a stanza. */
static void
test_refused_empty_stanza (void)
{
  BfXmlLimits limits = { 0, 0, 4 };
  static const char over[] = "<message a='1' b='2' c='3' d='4' e='5'/>";
  check_dropped (&limits, over, sizeof over - 1, "dropped attributes <message/>", TRUE);
}

static void
test_refused_empty_child (void)
{
  BfXmlLimits limits = { 0, 0, 4 };
  static const char over[] = "<message to='a@b'><x a='1' b='2' c='3' d='4' e='5'/></message>";
  check_dropped (&limits, over, sizeof over - 1, "dropped attributes <message to='a@b'/>", TRUE);
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
  g_test_add_func ("/xmlstream/limit/size/ten-mb-unterminated",
                   test_limit_size_ten_mb_unterminated);
  g_test_add_func ("/xmlstream/limit/size/one-feed", test_limit_size_one_feed);
  g_test_add_func ("/xmlstream/limit/size/huge-attribute-dropped",
                   test_limit_size_huge_attribute_dropped);
  g_test_add_func ("/xmlstream/limit/size/hard-bound-complete",
                   test_limit_size_hard_bound_complete);
  g_test_add_func ("/xmlstream/limit/size/exact", test_limit_size_exact);
  g_test_add_func ("/xmlstream/limit/size/over-by-one", test_limit_size_over_by_one);
  g_test_add_func ("/xmlstream/limit/size/complete-in-one-feed",
                   test_limit_size_complete_in_one_feed);
  g_test_add_func ("/xmlstream/limit/depth/exact", test_limit_depth_exact);
  g_test_add_func ("/xmlstream/limit/depth/over", test_limit_depth_over);
  g_test_add_func ("/xmlstream/limit/attributes", test_limit_attributes);
  g_test_add_func ("/xmlstream/limit/head-bounded", test_limit_head_bounded);
  g_test_add_func ("/xmlstream/limit/many-drops", test_limit_many_drops);
  g_test_add_func ("/xmlstream/limit/skip-still-checks", test_limit_skip_still_checks);
  g_test_add_func ("/xmlstream/reset/mid-stanza", test_reset_mid_stanza);
  g_test_add_func ("/xmlstream/utf8-split", test_utf8_split);
  g_test_add_func ("/xmlstream/text-split", test_text_split);
  g_test_add_func ("/xmlstream/refused/empty-stanza", test_refused_empty_stanza);
  g_test_add_func ("/xmlstream/refused/empty-child", test_refused_empty_child);
  g_test_add_func ("/xmlstream/refused/empty-root", test_refused_empty_root);
  return g_test_run ();
}
