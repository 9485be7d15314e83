/* libFuzzer target: the XML stream parser and the stanza tree.
 *
 * The input is fed to a parser in pieces whose sizes come from the first
 * byte, so split points get explored too.  Every stanza that comes out is
 * serialized, parsed again and serialized again: both serializations must
 * be identical, or the serializer and the parser disagree. */
#include <string.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>

#include <belfry/stanza.h>
#include "xmlstream.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='x'>"

typedef struct {
  BfStanza *got;
} Reparse;

static void
reparse_stanza (gpointer data, BfStanza *stanza)
{
  Reparse *r = data;
  if (r->got)
    abort ();   /* one serialized stanza must parse as exactly one */
  r->got = stanza;
}

static void
check_round_trip (const BfStanza *stanza)
{
  g_autoptr (GString) first = g_string_new (HEADER);
  gsize header_len = first->len;
  bf_stanza_serialize (stanza, BF_NS_COMPONENT, first);

  /* Escaping can grow the text up to 6x; give the re-parse room for it. */
  BfXmlLimits limits = { 16 * 1024 * 1024, 256, 1024 };
  static const BfXmlStreamCallbacks cb = { NULL, reparse_stanza, NULL };
  Reparse r = { NULL };
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (&limits, &cb, &r);
  g_autoptr (GError) error = NULL;
  if (!bf_xml_stream_feed (parser, first->str, first->len, &error) || r.got == NULL)
    {
      fprintf (stderr, "serialized stanza does not parse: %s\n%s\n",
               error ? error->message : "no stanza", first->str + header_len);
      abort ();
    }
  g_autoptr (GString) second = g_string_new (NULL);
  bf_stanza_serialize (r.got, BF_NS_COMPONENT, second);
  if (strcmp (first->str + header_len, second->str) != 0)
    {
      fprintf (stderr, "round trip differs:\n%s\n%s\n", first->str + header_len, second->str);
      abort ();
    }
  bf_stanza_free (r.got);
}

static void
on_stanza (gpointer data, BfStanza *stanza)
{
  (void) data;
  /* Exercise the accessors a router would use. */
  const char *to = bf_stanza_get_attr (stanza, "to");
  g_autofree char *l = NULL, *d = NULL, *res = NULL;
  if (to)
    bf_jid_split (to, &l, &d, &res);
  (void) bf_stanza_get_text (stanza);
  check_round_trip (stanza);
  g_autoptr (BfStanza) err = bf_stanza_new_error (stanza, "cancel", "service-unavailable", NULL);
  g_autofree char *text = bf_stanza_to_string (err);
  (void) text;
  bf_stanza_free (stanza);
}

static void
on_open (gpointer data, const BfStanza *header)
{
  (void) data;
  (void) bf_stanza_get_attr (header, "id");
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
  /* Small limits so the fuzzer reaches them. */
  BfXmlLimits limits = { 4096, 12, 16 };
  static const BfXmlStreamCallbacks cb = { on_open, on_stanza, NULL };
  BfXmlStream *parser = bf_xml_stream_new (&limits, &cb, NULL);
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
