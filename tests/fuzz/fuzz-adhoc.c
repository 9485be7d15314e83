/* libFuzzer target: the XEP-0050 command parser (relay/adhoc.c) and the
 * command-session table.
 *
 * The input is fed, behind a stream header, to the core's XML stream
 * parser; the first child of every stanza goes to bf_adhoc_parse().  A
 * refusal becomes its error reply; a success must respect the bounds
 * (fields, value sizes) and is answered with a form echoing the fields,
 * which must serialize.  Each parsed sessionid is checked against, and
 * opened in, a small table whose size must stay bounded. */
#include <string.h>
#include <stdlib.h>
#include <stdint.h>

#include <belfry/stanza.h>
#include "adhoc.h"
#include "xmlstream.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='x'>"

static BfAdhocSessions *table;
static gint64 clock_us;

static void
on_stanza (gpointer data, BfStanza *stanza)
{
  (void) data;
  BfStanza *command = bf_stanza_find_child (stanza, NULL, NULL);
  BfAdhocRequest req;
  const char *cond = NULL;
  GError *error = NULL;
  if (command && bf_adhoc_parse (command, &req, &cond, &error))
    {
      if (g_hash_table_size (req.fields) > BF_ADHOC_MAX_FIELDS || req.node == NULL
          || strlen (req.node) > BF_ADHOC_MAX_NODE)
        abort ();
      BfStanza *c = NULL;
      BfStanza *reply = bf_adhoc_reply (stanza, req.node, req.sessionid, "completed", &c);
      BfStanza *form = bf_data_form_add (c, "result", "t");
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, req.fields);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          if (strlen (v) > BF_ADHOC_MAX_VALUE)
            abort ();
          bf_data_form_add_field (form, k, "text-single", NULL, v);
        }
      g_free (bf_stanza_to_string (reply));
      bf_stanza_free (reply);
      const char *owner = bf_stanza_get_attr (stanza, "from");
      clock_us += 7;
      if (bf_adhoc_sessions_check (table, req.sessionid, owner ? owner : "", req.node, clock_us)
          == BF_ADHOC_SESSION_UNKNOWN)
        bf_adhoc_sessions_open (table, owner ? owner : "", req.node, clock_us);
      if (bf_adhoc_sessions_count (table) > 4)
        abort ();
      bf_adhoc_request_clear (&req);
    }
  else
    {
      BfStanza *reply = bf_adhoc_error (stanza, "modify", "bad-request", cond,
                                        error ? error->message : NULL);
      g_free (bf_stanza_to_string (reply));
      bf_stanza_free (reply);
    }
  g_clear_error (&error);
  bf_stanza_free (stanza);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (table == NULL)
    table = bf_adhoc_sessions_new (4, 100);
  static const BfXmlStreamCallbacks cb = { NULL, on_stanza, NULL };
  BfXmlStream *parser = bf_xml_stream_new (NULL, &cb, NULL);
  GError *error = NULL;
  if (bf_xml_stream_feed (parser, HEADER, strlen (HEADER), &error))
    bf_xml_stream_feed (parser, (const char *) data, size, &error);
  g_clear_error (&error);
  bf_xml_stream_free (parser);
  return 0;
}
