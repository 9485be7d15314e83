/* libFuzzer target: the Jingle parsers (jingle/jingle.h, jingle/jmi.h) and
 * the session state machine.
 *
 * The input (after its first byte) is fed, behind a stream header, to the
 * core's XML stream parser in pieces whose size the first byte chooses.
 * Every stanza goes to bf_jingle_parse() and bf_jmi_parse().  A refusal is
 * turned into its error reply.  A success must survive the round trip:
 * build, serialize, parse the XML again, parse the Jingle again, and get an
 * equal model back (and the same XML when built once more); otherwise the
 * builder and the parser disagree and the target aborts.  Parsed requests
 * are also run through a session, as a responder would, and through the
 * description negotiation (jingle-describe.h) and the model helpers the
 * relay keeps its descriptions with. */
#include <string.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>

#include <belfry/stanza.h>
#include "xmlstream.h"
#include "jingle.h"
#include "jingle-describe.h"
#include "jmi.h"
#include "jingle-session.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='x'>"

static void
take_one (gpointer data, BfStanza *stanza)
{
  BfStanza **slot = data;
  if (*slot)
    abort ();   /* one serialized stanza must parse as exactly one */
  *slot = stanza;
}

/* Serializes @stanza and parses it back with a roomy parser. */
static BfStanza *
reparse (const BfStanza *stanza, char **xml_out)
{
  GString *xml = g_string_new (HEADER);
  gsize header_len = xml->len;
  bf_stanza_serialize (stanza, BF_NS_COMPONENT, xml);
  BfXmlLimits limits = { 16 * 1024 * 1024, 256, 1024 };
  static const BfXmlStreamCallbacks cb = { NULL, take_one, NULL };
  BfStanza *got = NULL;
  BfXmlStream *parser = bf_xml_stream_new (&limits, &cb, &got);
  GError *error = NULL;
  if (!bf_xml_stream_feed (parser, xml->str, xml->len, &error) || got == NULL)
    {
      fprintf (stderr, "built stanza does not parse: %s\n%s\n",
               error ? error->message : "no stanza", xml->str + header_len);
      abort ();
    }
  bf_xml_stream_free (parser);
  *xml_out = g_strdup (xml->str + header_len);
  g_string_free (xml, TRUE);
  return got;
}

static gboolean
has_pt (const BfJingleRtpDescription *rtp, guint id)
{
  for (guint i = 0; i < rtp->payload_types->len; i++)
    if (((BfJinglePayloadType *) g_ptr_array_index (rtp->payload_types, i))->id == id)
      return TRUE;
  return FALSE;
}

/* What a relayed call and the echo would build from @j's descriptions, with
 * what can be checked of it: an answer to the caller only uses numbers the
 * caller offered, each once. */
static void
check_describe (const BfJingle *j)
{
  const char *why = NULL;
  if (bf_jingle_check_supported (j, &why) != BF_JINGLE_REASON_SUCCESS && why == NULL)
    abort ();
  const BfJingleRtpDescription *prev = NULL;
  for (guint i = 0; i < j->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (j->contents, i);
      if (c->rtp == NULL)
        continue;
      g_autoptr (BfJingleRtpDescription) offer = bf_jingle_describe_mirror_offer (c->rtp);
      const BfJingleRtpDescription *callees[] = { offer, prev ? prev : c->rtp };
      for (guint k = 0; k < G_N_ELEMENTS (callees); k++)
        {
          g_autoptr (BfJingleRtpDescription) answer
            = bf_jingle_describe_mirror_answer (c->rtp, callees[k]);
          gboolean seen[256] = { FALSE };
          for (guint m = 0; m < answer->payload_types->len; m++)
            {
              guint id = ((BfJinglePayloadType *) g_ptr_array_index (answer->payload_types, m))->id;
              if (seen[id] || !has_pt (c->rtp, id))
                abort ();
              seen[id] = TRUE;
            }
          BfRtpMap map;
          bf_jingle_describe_rtp_map_init (&map);
          bf_jingle_describe_rtp_map_add (&map, callees[k], c->rtp);
        }
      guint32 remote[8], local[8];
      guint n = 0;
      for (guint m = 0; m < c->rtp->sources->len && n < G_N_ELEMENTS (remote); m++, n++)
        {
          remote[n] = ((BfJingleSource *) g_ptr_array_index (c->rtp->sources, m))->ssrc;
          local[n] = remote[n] ^ 0x5a5a5a5au;
        }
      g_autoptr (BfJingleRtpDescription) echo
        = bf_jingle_describe_echo_answer (c->rtp, remote, local, n, j->sid, c->name);
      if (echo->payload_types->len != c->rtp->payload_types->len)
        abort ();   /* the echo answers with every type offered */
      prev = c->rtp;
    }
  BfRtpMap map;
  bf_jingle_describe_rtp_map (j, j, &map);
}

/* The helpers over a copy of @j: trickled candidates stay within a
 * transport's limit, every content can be removed by name. */
static void
check_model (BfJingle *copy, const BfJingle *j)
{
  bf_jingle_first_fingerprint (j);
  bf_jingle_merge_candidates (copy, j);
  for (guint i = 0; i < copy->contents->len; i++)
    {
      const BfJingleContent *c = g_ptr_array_index (copy->contents, i);
      if (c->ice && c->ice->candidates->len > BF_JINGLE_MAX_CANDIDATES)
        abort ();
    }
  bf_jingle_copy_groups (copy, j);
  for (guint i = 0; i < j->contents->len; i++)
    if (!bf_jingle_remove_content (copy, ((BfJingleContent *) g_ptr_array_index (j->contents,
                                                                                 i))->name))
      abort ();
  if (copy->contents->len != 0)
    abort ();
}

static void
check_jingle (const BfStanza *iq)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJingle) j = bf_jingle_parse (iq, &error);
  if (j == NULL)
    {
      if (error == NULL || error->domain != BF_JINGLE_ERROR)
        abort ();
      g_autoptr (BfStanza) reply = bf_jingle_build_error (iq, error);
      g_autofree char *s = bf_stanza_to_string (reply);
      (void) s;
      return;
    }

  g_autoptr (BfStanza) built = bf_jingle_build (j, "a@b/c", "d@e/f", "id");
  g_autofree char *xml = NULL;
  g_autoptr (BfStanza) again = reparse (built, &xml);
  g_autoptr (BfJingle) j2 = bf_jingle_parse (again, &error);
  if (j2 == NULL)
    {
      fprintf (stderr, "built Jingle does not parse: %s\n%s\n", error->message, xml);
      abort ();
    }
  if (!bf_jingle_equal (j, j2))
    {
      fprintf (stderr, "Jingle round trip differs:\n%s\n", xml);
      abort ();
    }
  g_autoptr (BfStanza) built2 = bf_jingle_build (j2, "a@b/c", "d@e/f", "id");
  g_autofree char *xml2 = bf_stanza_to_string (built2);
  g_autofree char *xml1 = bf_stanza_to_string (built);
  if (strcmp (xml1, xml2) != 0)
    {
      fprintf (stderr, "Jingle builds differ:\n%s\n%s\n", xml1, xml2);
      abort ();
    }
  check_describe (j);
  check_model (j2, j);

  /* As a responder would: a session for a session-initiate, then the same
   * request again (out of order), and each other action on a fresh one. */
  const char *from = bf_stanza_get_attr (iq, "from");
  g_autoptr (BfJingleSession) s = bf_jingle_session_new (BF_JINGLE_ROLE_RESPONDER, j->sid,
                                                         "relay.example", from ? from : "p@q/r");
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr (GError) e = NULL;
      if (bf_jingle_session_check_incoming (s, j->action, from, &e))
        {
          if (!bf_jingle_session_apply (s, j, BF_JINGLE_INCOMING, &e)
              && e->domain != BF_JINGLE_ERROR)
            abort ();
        }
      else if (e == NULL || e->domain != BF_JINGLE_ERROR)
        abort ();
    }
  g_autoptr (GError) e = NULL;
  bf_jingle_session_apply (s, j, BF_JINGLE_OUTGOING, &e);
}

static void
check_jmi (const BfStanza *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BfJmi) jmi = bf_jmi_parse (message, &error);
  if (jmi == NULL)
    {
      if (error == NULL || error->domain != BF_JINGLE_ERROR)
        abort ();
      return;
    }
  g_autoptr (BfStanza) built = bf_jmi_build (jmi, "a@b/c", "d@e", NULL);
  g_autofree char *xml = NULL;
  g_autoptr (BfStanza) again = reparse (built, &xml);
  g_autoptr (BfJmi) jmi2 = bf_jmi_parse (again, &error);
  if (jmi2 == NULL || !bf_jmi_equal (jmi, jmi2))
    {
      fprintf (stderr, "JMI round trip fails: %s\n%s\n", error ? error->message : "differs", xml);
      abort ();
    }
}

static void
on_stanza (gpointer data, BfStanza *stanza)
{
  (void) data;
  check_jingle (stanza);
  check_jmi (stanza);
  bf_stanza_free (stanza);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t piece = (data[0] % 64) + 1;
  data++;
  size--;
  BfXmlLimits limits = { 64 * 1024, 16, 32 };
  static const BfXmlStreamCallbacks cb = { NULL, on_stanza, NULL };
  BfXmlStream *parser = bf_xml_stream_new (&limits, &cb, NULL);
  if (bf_xml_stream_feed (parser, HEADER, strlen (HEADER), NULL))
    while (size > 0)
      {
        size_t n = size < piece ? size : piece;
        if (!bf_xml_stream_feed (parser, (const char *) data, n, NULL))
          break;
        data += n;
        size -= n;
      }
  bf_xml_stream_free (parser);
  return 0;
}
