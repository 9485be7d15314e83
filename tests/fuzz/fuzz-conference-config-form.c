/* libFuzzer target: a room configuration form as a moderator submits it
 * (modules/conference/room-config-form.c, cf_config_form_parse): the input
 * is the inside of a stanza, parsed by belfry's own XML stream parser with
 * its default limits, and every element of it (the stanza and all it
 * holds) is read as a form.  Checks: a refusal names a condition of the three the
 * README lists; an accepted form's values are within their bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <belfry/stanza.h>
#include "room-config-form.h"
#include "xmlstream.h"

#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='x'>"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check (const BfStanza *form, guint global_max, gboolean can_record)
{
  CfConfigValues v;
  const char *type = NULL, *condition = NULL, *text = NULL;

  if (cf_config_form_parse (form, global_max, can_record, &v, &type, &condition, &text))
    {
      if (v.has_max && (v.max < 2 || v.max > global_max))
        abort ();
      if (v.has_record && v.record && !can_record)
        abort ();
      if (v.has_moderators != (v.moderators != NULL))
        abort ();
      if (v.moderators != NULL && g_strv_length (v.moderators) > CF_CONFIG_MAX_MODERATORS)
        abort ();
      cf_config_values_clear (&v);
    }
  else if (type == NULL || text == NULL
           || (g_strcmp0 (condition, "bad-request") != 0
               && g_strcmp0 (condition, "not-acceptable") != 0))
    abort ();
}

/* Every element, as deep as the parser let it be (its depth limit). */
static void
walk (const BfStanza *e, guint global_max, gboolean can_record)
{
  BfStanzaIter it;
  BfStanza *child;

  check (e, global_max, can_record);
  bf_stanza_iter_init (&it, e);
  while (bf_stanza_iter_next (&it, &child))
    walk (child, global_max, can_record);
}

static void
on_stanza (gpointer user_data, BfStanza *stanza)
{
  const guint8 *first = user_data;

  walk (stanza, 2 + first[0] % 499, first[0] & 1);
  bf_stanza_free (stanza);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static const BfXmlStreamCallbacks cb = { NULL, on_stanza, NULL };
  guint8 first = size > 0 ? data[0] : 0;
  BfXmlStream *parser = bf_xml_stream_new (NULL, &cb, &first);

  if (bf_xml_stream_feed (parser, HEADER, strlen (HEADER), NULL) && size > 1)
    bf_xml_stream_feed (parser, (const char *) data + 1, size - 1, NULL);
  bf_xml_stream_free (parser);
  return 0;
}
