/* Benchmark: the core's stanza path against a bare expat parse.
 *
 * One stream of realistic traffic (disco queries, pings, chat messages to
 * the echo address, Jingle session-initiate / transport-info iqs of 2-4 KB)
 * is built in memory.  In the same run, interleaved, best of several rounds:
 *   baseline: expat (namespace processing on, no handlers) parses the bytes;
 *   core:     the stream parser builds stanza trees, the router routes them
 *             (core answers, a module acks or echoes), every reply is
 *             serialized into an output buffer as the link would.
 * Prints stanzas/s, MB/s and the ratio core/baseline in time.
 * Not a test: it prints figures and asserts only that both sides saw the
 * same bytes and the core produced a reply per request. */
#include "build-config.h"

#include <stdio.h>
#include <string.h>
#include <expat.h>

#include "modules.h"
#include "router.h"
#include "xmlstream.h"

#define HEADER "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' from='relay.localhost' id='b1'>"

typedef struct {
  BfRouter *router;
  GString *out;
  guint64 stanzas_in;
  guint64 stanzas_out;
} Sink;

static gboolean
sink_send (gpointer data, const BfStanza *stanza)
{
  Sink *sink = data;
  bf_stanza_serialize (stanza, BF_NS_COMPONENT, sink->out);
  sink->stanzas_out++;
  /* Like a socket write: the bytes leave, the buffer is reused. */
  if (sink->out->len > 1 << 20)
    g_string_truncate (sink->out, 0);
  return TRUE;
}

static gboolean
bench_module_handle (BfModule *module, const BfStanza *stanza)
{
  const char *kind = bf_stanza_get_name (stanza);
  const char *type = bf_stanza_get_attr (stanza, "type");
  if (strcmp (kind, "iq") == 0 && g_strcmp0 (type, "set") == 0
      && bf_stanza_find_child (stanza, "jingle", "urn:xmpp:jingle:1"))
    {
      /* What a Jingle module does first: look at the payload, ack it. */
      BfStanza *jingle = bf_stanza_find_child (stanza, "jingle", "urn:xmpp:jingle:1");
      (void) bf_stanza_get_attr (jingle, "sid");
      g_autoptr (BfStanza) ack = bf_stanza_new_reply (stanza, "result");
      bf_module_send (module, ack);
      return TRUE;
    }
  if (strcmp (kind, "message") == 0)
    {
      g_autoptr (BfStanza) reply = bf_stanza_new_reply (stanza, type);
      bf_stanza_add_text_child (reply, "body", NULL,
                                bf_stanza_find_child_text (stanza, "body", NULL));
      bf_module_send (module, reply);
      return TRUE;
    }
  return FALSE;
}

static const char *const bench_localparts[] = { "echo", NULL };
static const char *const bench_features[] = { "urn:xmpp:jingle:1", NULL };
static const BfModuleInfo bench_module = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "echo",
  .description = "bench echo",
  .localparts = bench_localparts,
  .features = bench_features,
  .handle_stanza = bench_module_handle,
};

static void
append_jingle (GString *s, guint i, gboolean initiate)
{
  g_string_append_printf (s,
      "<iq type='set' id='j%u' from='alice@localhost/conv%u' to='echo@relay.localhost'>"
      "<jingle xmlns='urn:xmpp:jingle:1' action='%s' sid='sid%u' initiator='alice@localhost/conv%u'>",
      i, i % 7, initiate ? "session-initiate" : "transport-info", i, i % 7);
  const char *media[] = { "audio", "video" };
  for (guint m = 0; m < (initiate ? 2u : 1u); m++)
    {
      g_string_append_printf (s, "<content creator='initiator' name='%u' senders='both'>", m);
      if (initiate)
        {
          g_string_append_printf (s, "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='%s'>",
                                  media[m]);
          for (guint pt = 0; pt < 3; pt++)
            g_string_append_printf (s,
                "<payload-type id='%u' name='%s' clockrate='%u' channels='%u'>"
                "<parameter name='minptime' value='10'/><parameter name='useinbandfec' value='1'/>"
                "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='nack'/>"
                "<rtcp-fb xmlns='urn:xmpp:jingle:apps:rtp:rtcp-fb:0' type='transport-cc'/>"
                "</payload-type>", 96 + pt, m ? "VP8" : "opus", m ? 90000 : 48000, m ? 1 : 2);
          g_string_append (s,
              "<rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' "
              "uri='urn:ietf:params:rtp-hdrext:ssrc-audio-level'/>"
              "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='3735928559'>"
              "<parameter name='cname' value='q8w7e6r5t4y3'/>"
              "<parameter name='msid' value='stream-id track-id'/></source><rtcp-mux/></description>");
        }
      g_string_append (s,
          "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' "
          "pwd='asd88fgpdd777uzjYhagZg'>");
      if (initiate)
        g_string_append (s,
            "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>"
            "02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2"
            "</fingerprint>");
      for (guint c = 0; c < (initiate ? 3u : 10u); c++)
        g_string_append_printf (s,
            "<candidate component='1' foundation='%u' generation='0' id='c%u%u' ip='192.0.2.%u' "
            "network='0' port='%u' priority='2130706431' protocol='udp' type='host'/>",
            c, i, c, 10 + c, 40000 + c);
      g_string_append (s, "</transport></content>");
    }
  if (initiate)
    g_string_append (s, "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'>"
                        "<content name='0'/><content name='1'/></group>");
  g_string_append (s, "</jingle></iq>\n");
}

/* A mix per 10 stanzas: 2 disco, 2 ping, 3 messages, 1 session-initiate,
 * 2 transport-info. */
static GString *
build_stream (guint n, guint *requests)
{
  GString *s = g_string_new (HEADER);
  for (guint i = 0; i < n; i++)
    {
      switch (i % 10)
        {
        case 0:
        case 5:
          g_string_append_printf (s, "<iq type='get' id='d%u' from='bob@localhost/dino' "
                                  "to='relay.localhost'><query xmlns='"
                                  BF_NS_DISCO_INFO "'/></iq>", i);
          break;
        case 1:
        case 6:
          g_string_append_printf (s, "<iq type='get' id='p%u' from='bob@localhost/dino' "
                                  "to='echo@relay.localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
                                  i);
          break;
        case 2:
        case 3:
        case 7:
          g_string_append_printf (s, "<message type='chat' id='m%u' from='carol@localhost/gajim' "
                                  "to='echo@relay.localhost'><body>Hello &amp; welcome, "
                                  "message number %u, with some text to make it realistic."
                                  "</body></message>", i, i);
          break;
        case 4:
          append_jingle (s, i, TRUE);
          break;
        default:
          append_jingle (s, i, FALSE);
          break;
        }
      (*requests)++;
    }
  return s;
}

static gdouble
run_expat (const GString *stream, guint rounds_inner)
{
  gint64 t0 = g_get_monotonic_time ();
  for (guint r = 0; r < rounds_inner; r++)
    {
      XML_Parser p = XML_ParserCreateNS ("UTF-8", '\xff');
      if (XML_Parse (p, stream->str, (int) stream->len, XML_FALSE) != XML_STATUS_OK)
        g_error ("expat: %s", XML_ErrorString (XML_GetErrorCode (p)));
      XML_ParserFree (p);
    }
  return (g_get_monotonic_time () - t0) / 1e6;
}

static void
core_stanza (gpointer data, BfStanza *stanza)
{
  Sink *sink = data;
  sink->stanzas_in++;
  bf_router_route (sink->router, stanza);
  bf_stanza_free (stanza);
}

static gdouble
run_core (const GString *stream, guint rounds_inner, Sink *sink)
{
  static const BfXmlStreamCallbacks cb = { NULL, core_stanza, NULL };
  BfXmlLimits limits = { BF_XML_DEFAULT_MAX_STANZA_SIZE, BF_XML_DEFAULT_MAX_DEPTH,
                         BF_XML_DEFAULT_MAX_ATTRIBUTES };
  gint64 t0 = g_get_monotonic_time ();
  for (guint r = 0; r < rounds_inner; r++)
    {
      BfXmlStream *xs = bf_xml_stream_new (&limits, &cb, sink);
      /* The link feeds what one read returns: 16 KiB at a time. */
      for (gsize off = 0; off < stream->len; off += 16384)
        if (!bf_xml_stream_feed (xs, stream->str + off, MIN (16384, stream->len - off), NULL))
          g_error ("core parse failed");
      bf_xml_stream_free (xs);
    }
  return (g_get_monotonic_time () - t0) / 1e6;
}

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? (guint) atoi (argv[1]) : 20000;
  guint rounds = argc > 2 ? (guint) atoi (argv[2]) : 7;
  guint requests = 0;
  g_autoptr (GString) stream = build_stream (n, &requests);

  g_autofree char *conf = g_strdup ("[component]\njid = relay.localhost\nsecret = x\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (BfConfig) config = bf_config_load_data (conf, "bench.conf", &error);
  g_assert_no_error (error);
  g_autoptr (GString) out = g_string_sized_new (1 << 21);
  Sink sink = { NULL, out, 0, 0 };
  g_autoptr (BfModules) modules = bf_modules_new (config, sink_send, &sink);
  if (!bf_modules_add_static (modules, &bench_module, &error))
    g_error ("%s", error->message);
  g_autoptr (BfRouter) router = bf_router_new (config->jid, modules, sink_send, &sink);
  sink.router = router;

  gdouble best_expat = G_MAXDOUBLE, best_core = G_MAXDOUBLE;
  for (guint r = 0; r < rounds; r++)
    {
      /* (MIN() would evaluate its arguments twice.) */
      gdouble t_expat = run_expat (stream, 1);
      best_expat = MIN (best_expat, t_expat);
      sink.stanzas_in = sink.stanzas_out = 0;
      gdouble t_core = run_core (stream, 1, &sink);
      best_core = MIN (best_core, t_core);
      if (sink.stanzas_in != requests || sink.stanzas_out != requests)
        g_error ("core saw %" G_GUINT64_FORMAT " stanzas and answered %" G_GUINT64_FORMAT
                 ", expected %u", sink.stanzas_in, sink.stanzas_out, requests);
    }
  /* Sizes of one stanza of each kind, from the first ten of the stream. */
  {
    guint dummy = 0;
    g_autoptr (GString) one = build_stream (10, &dummy);
    GString *pieces[2];
    pieces[0] = g_string_new (NULL);
    append_jingle (pieces[0], 4, TRUE);
    pieces[1] = g_string_new (NULL);
    append_jingle (pieces[1], 8, FALSE);
    printf ("stanza sizes: session-initiate %" G_GSIZE_FORMAT " B, transport-info %" G_GSIZE_FORMAT
            " B; first ten stanzas %" G_GSIZE_FORMAT " B\n", pieces[0]->len, pieces[1]->len,
            one->len - strlen (HEADER));
    g_string_free (pieces[0], TRUE);
    g_string_free (pieces[1], TRUE);
  }
  gdouble mb = stream->len / 1e6;
  printf ("stream: %u stanzas, %.2f MB (avg %.0f B/stanza), best of %u rounds\n", requests, mb,
          stream->len / (double) requests, rounds);
  printf ("%-34s %12s %10s\n", "", "stanzas/s", "MB/s");
  printf ("%-34s %12.0f %10.1f\n", "bare expat parse (baseline)", requests / best_expat,
          mb / best_expat);
  printf ("%-34s %12.0f %10.1f\n", "belfry parse+route+serialize", requests / best_core,
          mb / best_core);
  printf ("core cost / expat cost: %.2fx (goal <= 2x)\n", best_core / best_expat);
  return 0;
}
