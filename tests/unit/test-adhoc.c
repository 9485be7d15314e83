/* Unit tests: the XEP-0050 ad-hoc command protocol (relay/adhoc.c): what a
 * request may carry, the XEP-0050 §4.6 error conditions, the answers'
 * shape, and the bounded table of command sessions. */
#include <string.h>
#include <glib.h>

#include <belfry/module.h>
#include "adhoc.h"
#include "xmlstream.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='t'>"
#define CMD "<command xmlns='" BF_NS_COMMANDS "'"

static void
collect_stanza (gpointer data, BfStanza *stanza)
{
  BfStanza **out = data;
  g_assert_null (*out);
  *out = stanza;
}

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

/* Parses the <command/> of an iq built around @command_xml. */
static gboolean
parse_command (const char *command_xml, BfAdhocRequest *req, const char **cond)
{
  g_autofree char *xml = g_strdup_printf ("<iq type='set' id='1' from='a@b/c' to='r.b'>%s</iq>",
                                          command_xml);
  g_autoptr (BfStanza) iq = parse (xml);
  g_autoptr (GError) error = NULL;
  gboolean ok = bf_adhoc_parse (bf_stanza_find_child (iq, NULL, NULL), req, cond, &error);
  g_assert_true (ok == (error == NULL));
  return ok;
}

static void
test_parse_execute (void)
{
  BfAdhocRequest req;
  const char *cond;
  g_assert_true (parse_command (CMD " node='list-sessions'/>", &req, &cond));
  g_assert_cmpstr (req.node, ==, "list-sessions");
  g_assert_null (req.sessionid);
  g_assert_cmpint (req.action, ==, BF_ADHOC_EXECUTE);   /* no action: execute (§3.4) */
  g_assert_cmpuint (g_hash_table_size (req.fields), ==, 0);
  bf_adhoc_request_clear (&req);

  g_assert_true (parse_command (CMD " node='end-session' sessionid='s1' action='complete'>"
                                "<x xmlns='jabber:x:data' type='submit'>"
                                "<field var='sid'><value>abc</value><value>second</value></field>"
                                "<field var='empty'/></x></command>", &req, &cond));
  g_assert_cmpint (req.action, ==, BF_ADHOC_COMPLETE);
  g_assert_cmpstr (req.sessionid, ==, "s1");
  g_assert_cmpstr (g_hash_table_lookup (req.fields, "sid"), ==, "abc");
  g_assert_cmpstr (g_hash_table_lookup (req.fields, "empty"), ==, "");
  bf_adhoc_request_clear (&req);

  /* a form that is not a submission carries no answers */
  g_assert_true (parse_command (CMD " node='n'><x xmlns='jabber:x:data' type='form'>"
                                "<field var='sid'><value>abc</value></field></x></command>",
                                &req, &cond));
  g_assert_cmpuint (g_hash_table_size (req.fields), ==, 0);
  bf_adhoc_request_clear (&req);
}

static void
test_parse_malformed (void)
{
  BfAdhocRequest req;
  const char *cond;
  g_assert_false (parse_command (CMD "/>", &req, &cond));   /* no node */
  g_assert_null (cond);
  g_assert_false (parse_command (CMD " node=''/>", &req, &cond));
  g_assert_false (parse_command ("<command xmlns='urn:other' node='n'/>", &req, &cond));
  g_assert_false (parse_command (CMD " node='n' action='explode'/>", &req, &cond));
  g_assert_cmpstr (cond, ==, "malformed-action");
  g_assert_false (parse_command (CMD " node='n' sessionid=''/>", &req, &cond));
  g_assert_cmpstr (cond, ==, "bad-sessionid");
  g_assert_false (parse_command (CMD " node='n'><x xmlns='jabber:x:data' type='submit'>"
                                 "<field><value>v</value></field></x></command>", &req, &cond));

  /* bounded: fields and value sizes */
  GString *many = g_string_new (CMD " node='n'><x xmlns='jabber:x:data' type='submit'>");
  for (guint i = 0; i <= BF_ADHOC_MAX_FIELDS; i++)
    g_string_append_printf (many, "<field var='f%u'><value>v</value></field>", i);
  g_string_append (many, "</x></command>");
  g_assert_false (parse_command (many->str, &req, &cond));
  g_string_free (many, TRUE);
  g_autofree char *big = g_strnfill (BF_ADHOC_MAX_VALUE + 1, 'x');
  g_autofree char *xml = g_strdup_printf (CMD " node='n'><x xmlns='jabber:x:data' type='submit'>"
                                          "<field var='f'><value>%s</value></field></x></command>",
                                          big);
  g_assert_false (parse_command (xml, &req, &cond));
  g_autofree char *long_node = g_strnfill (BF_ADHOC_MAX_NODE + 1, 'n');
  g_autofree char *xml2 = g_strdup_printf (CMD " node='%s'/>", long_node);
  g_assert_false (parse_command (xml2, &req, &cond));
}

static void
test_answers (void)
{
  g_autoptr (BfStanza) iq = parse ("<iq type='set' id='7' from='a@b/c' to='r.b'>"
                                   CMD " node='n'/></iq>");
  BfStanza *command = NULL;
  g_autoptr (BfStanza) reply = bf_adhoc_reply (iq, "n", "s9", "executing", &command);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, "result");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, "a@b/c");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "7");
  g_assert_cmpstr (bf_stanza_get_ns (command), ==, BF_NS_COMMANDS);
  g_assert_cmpstr (bf_stanza_get_attr (command, "sessionid"), ==, "s9");
  g_assert_cmpstr (bf_stanza_get_attr (command, "status"), ==, "executing");
  BfStanza *form = bf_data_form_add (command, "result", "T");
  const char *const reported[] = { "a", "A", "b", "B", NULL };
  bf_data_form_add_reported (form, reported);
  const char *const item[] = { "a", "1", "b", "<2>", NULL };
  bf_data_form_add_item (form, item);
  g_autofree char *xml = bf_stanza_to_string (form);
  g_test_message ("%s", xml);
  g_assert_nonnull (strstr (xml, "<reported><field var='a' label='A'/><field var='b' label='B'/>"
                                 "</reported>"));
  g_assert_nonnull (strstr (xml, "<item><field var='a'><value>1</value></field>"));
  g_assert_nonnull (strstr (xml, "&lt;2&gt;"));

  g_autoptr (BfStanza) err = bf_adhoc_error (iq, "modify", "bad-request", "bad-sessionid", NULL);
  BfStanza *e = bf_stanza_find_child (err, "error", NULL);
  g_assert_nonnull (bf_stanza_find_child (e, "bad-request", BF_NS_STANZAS));
  g_assert_nonnull (bf_stanza_find_child (e, "bad-sessionid", BF_NS_COMMANDS));
  g_assert_cmpstr (bf_stanza_get_attr (e, "type"), ==, "modify");
}

static void
test_sessions (void)
{
  g_autoptr (BfAdhocSessions) s = bf_adhoc_sessions_new (3, 100);
  const char *a = bf_adhoc_sessions_open (s, "x@y/1", "end-session", 0);
  g_autofree char *id = g_strdup (a);
  g_assert_cmpint (bf_adhoc_sessions_check (s, id, "x@y/1", "end-session", 50), ==,
                   BF_ADHOC_SESSION_OK);
  /* someone else's, or another command's: unknown */
  g_assert_cmpint (bf_adhoc_sessions_check (s, id, "x@y/2", "end-session", 50), ==,
                   BF_ADHOC_SESSION_UNKNOWN);
  g_assert_cmpint (bf_adhoc_sessions_check (s, id, "x@y/1", "drain", 50), ==,
                   BF_ADHOC_SESSION_UNKNOWN);
  g_assert_cmpint (bf_adhoc_sessions_check (s, "nope", "x@y/1", "end-session", 50), ==,
                   BF_ADHOC_SESSION_UNKNOWN);
  g_assert_cmpint (bf_adhoc_sessions_check (s, id, "x@y/1", "end-session", 100), ==,
                   BF_ADHOC_SESSION_EXPIRED);
  g_assert_cmpuint (bf_adhoc_sessions_count (s), ==, 0);   /* an expired one is gone */

  /* bounded: the one closest to expiry makes room */
  g_autofree char *first = g_strdup (bf_adhoc_sessions_open (s, "o", "n", 1));
  for (gint64 t = 2; t < 10; t++)
    bf_adhoc_sessions_open (s, "o", "n", t);
  g_assert_cmpuint (bf_adhoc_sessions_count (s), ==, 3);
  g_assert_cmpint (bf_adhoc_sessions_check (s, first, "o", "n", 10), ==,
                   BF_ADHOC_SESSION_UNKNOWN);
  g_autofree char *last = g_strdup (bf_adhoc_sessions_open (s, "o", "n", 10));
  bf_adhoc_sessions_close (s, last);
  g_assert_cmpint (bf_adhoc_sessions_check (s, last, "o", "n", 11), ==, BF_ADHOC_SESSION_UNKNOWN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/adhoc/parse-execute", test_parse_execute);
  g_test_add_func ("/adhoc/parse-malformed", test_parse_malformed);
  g_test_add_func ("/adhoc/answers", test_answers);
  g_test_add_func ("/adhoc/sessions", test_sessions);
  return g_test_run ();
}
