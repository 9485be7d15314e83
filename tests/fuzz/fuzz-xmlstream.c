/* libFuzzer target: the XML stream parser, its re-synchronisation after a
 * dropped stanza, and the stanza tree.
 *
 * The input is fed to a parser in pieces whose sizes come from the first
 * byte, so split points get explored too; the same byte picks small limits
 * so that over-limit stanzas inside a valid stream are common.  Checks:
 *  - every stanza that comes out is serialized, parsed again and serialized
 *    again: both serializations must be identical, or the serializer and
 *    the parser disagree;
 *  - a dropped stanza's head is childless, with only from/to/id/type, each
 *    within BF_XML_HEAD_ATTR_MAX;
 *  - re-synchronisation: a second parser with limits nothing here reaches
 *    sees the same input; event for event, the small parser must report the
 *    same stanza, or a drop whose head is that stanza's head.  So after a
 *    drop the small parser is neither failed nor out of step.  It may end
 *    earlier only by policy-violation (its hard bound, its header limit);
 *    any other failure must be the big parser's too.  Bytes held back
 *    from expat while skipping (xmlstream.c, hold_back) are covered too. */
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

/* Between a stanza and its head: a byte XML forbids, so in neither. */
#define SEP "\x01"

static const char *const head_attrs[] = { "from", "to", "id", "type" };

/* What the parser's head of @stanza must be (xmlstream.h). */
static char *
expected_head (const BfStanza *stanza)
{
  g_autoptr (BfStanza) head = bf_stanza_new (bf_stanza_get_name (stanza),
                                             bf_stanza_get_ns (stanza));
  for (guint i = 0; i < G_N_ELEMENTS (head_attrs); i++)
    {
      const char *v = bf_stanza_get_attr (stanza, head_attrs[i]);
      if (v && strlen (v) <= BF_XML_HEAD_ATTR_MAX)
        bf_stanza_set_attr (head, head_attrs[i], v);
    }
  return bf_stanza_to_string (head);
}

typedef struct {
  gboolean small;        /* the parser under test (checks, round trips) */
  GPtrArray *events;     /* "S<stanza>" or "D<head>"; for the big one "S<stanza>" SEP "<head>" */
} Rec;

static void
on_stanza (gpointer data, BfStanza *stanza)
{
  Rec *r = data;
  g_autoptr (BfStanza) owned = stanza;   /* freed whichever way we return */
  (void) owned;
  g_autofree char *text = bf_stanza_to_string (stanza);
  if (!r->small)
    {
      g_autofree char *head = expected_head (stanza);
      g_ptr_array_add (r->events, g_strconcat ("S", text, SEP, head, NULL));
      return;
    }
  /* Exercise the accessors a router would use. */
  const char *to = bf_stanza_get_attr (stanza, "to");
  g_autofree char *l = NULL, *d = NULL, *res = NULL;
  if (to)
    bf_jid_split (to, &l, &d, &res);
  (void) bf_stanza_get_text (stanza);
  check_round_trip (stanza);
  g_autoptr (BfStanza) err = bf_stanza_new_error (stanza, "cancel", "service-unavailable", NULL);
  g_autofree char *err_text = bf_stanza_to_string (err);
  (void) err_text;
  g_ptr_array_add (r->events, g_strconcat ("S", text, NULL));
}

static void
on_dropped (gpointer data, const BfStanza *head, BfXmlDropReason reason)
{
  Rec *r = data;
  if (bf_stanza_n_children (head) != 0 || g_strcmp0 (bf_stanza_get_text (head), "") != 0)
    abort ();
  if (reason > BF_XML_DROP_ATTRIBUTES)
    abort ();
  for (guint i = 0; i < bf_stanza_n_attrs (head); i++)
    {
      const char *name, *value;
      if (!bf_stanza_get_attr_nth (head, i, &name, &value))
        abort ();
      gboolean known = FALSE;
      for (guint j = 0; j < G_N_ELEMENTS (head_attrs); j++)
        known |= strcmp (name, head_attrs[j]) == 0;
      if (!known || strlen (value) > BF_XML_HEAD_ATTR_MAX)
        abort ();
    }
  g_autofree char *text = bf_stanza_to_string (head);
  g_ptr_array_add (r->events, g_strconcat ("D", text, NULL));
}

static void
on_open (gpointer data, const BfStanza *header)
{
  (void) data;
  (void) bf_stanza_get_attr (header, "id");
}

/* Feeds @data in @piece-sized slices; the error code, or -1 for none. */
static int
run (BfXmlStream *parser, const uint8_t *data, size_t size, size_t piece)
{
  while (size > 0)
    {
      size_t n = size < piece ? size : piece;
      g_autoptr (GError) error = NULL;
      if (!bf_xml_stream_feed (parser, (const char *) data, n, &error))
        return error->code;
      data += n;
      size -= n;
    }
  /* The small parser may hold back bytes that cannot end a token (no '>')
   * while it skips; a last '>', given to both, has it parse them too. */
  g_autoptr (GError) error = NULL;
  if (!bf_xml_stream_feed (parser, ">", 1, &error))
    return error->code;
  return -1;
}

static void
compare (const Rec *small, int small_code, const Rec *big, int big_code)
{
  gboolean may_be_shorter = small_code == BF_XML_STREAM_ERROR_POLICY_VIOLATION;
  if (may_be_shorter ? small->events->len > big->events->len
                     : (small->events->len != big->events->len || small_code != big_code))
    {
      fprintf (stderr, "out of step: %u events (error %d) against %u (error %d)\n",
               small->events->len, small_code, big->events->len, big_code);
      abort ();
    }
  for (guint i = 0; i < small->events->len; i++)
    {
      const char *s = g_ptr_array_index (small->events, i);
      const char *b = g_ptr_array_index (big->events, i);
      const char *nl = strchr (b, SEP[0]);
      gboolean same = s[0] == 'S' ? strncmp (s, b, nl - b) == 0 && strlen (s) == (gsize) (nl - b)
                                  : strcmp (s + 1, nl + 1) == 0;
      if (!same)
        {
          fprintf (stderr, "event %u differs:\n%s\n%s\n", i, s, b);
          abort ();
        }
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t piece = (data[0] % 64) + 1;
  guint level = data[0] >> 6;
  data++;
  size--;
  static const BfXmlStreamCallbacks cb = { on_open, on_stanza, NULL };

  /* Small limits so the fuzzer reaches them (hard bound 4..32 KiB). */
  BfXmlLimits limits = { 256u << level, 3 + 3 * level, 2 + 4 * level };
  Rec small = { TRUE, g_ptr_array_new_with_free_func (g_free) };
  BfXmlStream *parser = bf_xml_stream_new (&limits, &cb, &small);
  bf_xml_stream_set_dropped_func (parser, on_dropped);
  int small_code = run (parser, data, size, piece);
  bf_xml_stream_free (parser);

  /* The reference: limits no input of libFuzzer's length can reach. */
  BfXmlLimits big_limits = { 256 * 1024 * 1024, 100000, 100000 };
  Rec big = { FALSE, g_ptr_array_new_with_free_func (g_free) };
  BfXmlStream *reference = bf_xml_stream_new (&big_limits, &cb, &big);
  bf_xml_stream_set_dropped_func (reference, on_dropped);
  int big_code = run (reference, data, size, piece);
  bf_xml_stream_free (reference);

  compare (&small, small_code, &big, big_code);
  g_ptr_array_unref (small.events);
  g_ptr_array_unref (big.events);
  return 0;
}
