/* The XML stream parser (xmlstream.h). */
#include "build-config.h"

#include <string.h>
#include <expat.h>

#include "xmlstream.h"

/* Expat joins namespace and local name with this byte.  0xFF never occurs
 * in UTF-8, so it cannot collide with anything in a name or a URI. */
#define NS_SEP '\xff'

/* Feeding expat in slices bounds how far past a limit it can read before
 * we look at the byte count again. */
#define FEED_SLICE 16384

/* While an over-limit element is skipped, a start tag expat holds longer
 * than this (or than the stanza limit, if lower) is fed to it only when it
 * may have ended (see hold_back). */
#define HOLD_MIN_TOKEN (64 * 1024)

struct _BfXmlStream {
  XML_Parser parser;
  BfXmlLimits limits;
  BfXmlStreamCallbacks cb;
  BfXmlStanzaDroppedFunc dropped;
  gpointer user_data;

  guint depth;              /* 0 outside the root, 1 inside <stream:stream> */
  BfStanza *current;        /* the element being built, or NULL */
  BfStanza *top;            /* the top-level element being built */
  guint64 fed;              /* bytes given to expat since the reset */
  guint64 mark;             /* where the current top-level item began */
  guint64 hard_limit;       /* BF_XML_HARD_LIMIT_FACTOR x max_stanza_size */
  gboolean skipping;        /* following an over-limit element to its end */
  BfXmlDropReason skip_reason;
  BfStanza *head;           /* what stanza_dropped will report */
  gboolean oversize_pending; /* expat holds an over-size top-level start tag */
  guint64 last_event;       /* where expat's last reported item ended */
  GString *held;            /* bytes held back from expat (hold_back) */
  gboolean failed;
  GError *error;            /* set by a handler that stopped the parser */
};

G_DEFINE_QUARK (bf-xml-stream-error-quark, bf_xml_stream_error)

const char *
bf_xml_stream_error_condition (BfXmlStreamError code)
{
  switch (code)
    {
    case BF_XML_STREAM_ERROR_NOT_WELL_FORMED: return "not-well-formed";
    case BF_XML_STREAM_ERROR_POLICY_VIOLATION: return "policy-violation";
    case BF_XML_STREAM_ERROR_RESTRICTED_XML: return "restricted-xml";
    case BF_XML_STREAM_ERROR_INVALID_NAMESPACE: return "invalid-namespace";
    case BF_XML_STREAM_ERROR_BAD_FORMAT: return "bad-format";
    default: return "undefined-condition";
    }
}

const char *
bf_xml_drop_reason_to_string (BfXmlDropReason reason)
{
  switch (reason)
    {
    case BF_XML_DROP_SIZE: return "size";
    case BF_XML_DROP_DEPTH: return "depth";
    case BF_XML_DROP_ATTRIBUTES: return "attributes";
    default: return "unknown";
    }
}

static void G_GNUC_PRINTF (3, 4)
fail (BfXmlStream *s, BfXmlStreamError code, const char *format, ...)
{
  if (s->error == NULL)
    {
      va_list ap;
      va_start (ap, format);
      g_autofree char *msg = g_strdup_vprintf (format, ap);
      va_end (ap);
      s->error = g_error_new_literal (BF_XML_STREAM_ERROR, code, msg);
    }
  XML_StopParser (s->parser, XML_FALSE);
}

static void
set_attrs (BfXmlStream *s, BfStanza *el, const XML_Char **atts)
{
  for (guint i = 0; atts[i] != NULL; i += 2)
    {
      const char *name = atts[i];
      const char *sep = strchr (name, NS_SEP);
      if (sep == NULL)
        {
          bf_stanza_set_attr (el, name, atts[i + 1]);
          continue;
        }
      g_autofree char *ns = g_strndup (name, sep - name);
      g_autofree char *qname = strcmp (ns, BF_NS_XML) == 0
        ? g_strconcat ("xml:", sep + 1, NULL)
        : g_strdup_printf ("{%s}%s", ns, sep + 1);
      bf_stanza_set_attr (el, qname, atts[i + 1]);
    }
}

/* --- dropping an over-limit element --- */

/* The attributes a bounce needs, and nothing else of a dropped element. */
static const char *const head_attrs[] = { "from", "to", "id", "type" };

static void
head_set (BfStanza *head, const char *name, const char *value)
{
  for (guint i = 0; i < G_N_ELEMENTS (head_attrs); i++)
    if (strcmp (name, head_attrs[i]) == 0 && strlen (value) <= BF_XML_HEAD_ATTR_MAX)
      bf_stanza_set_attr (head, name, value);
}

/* From expat's attribute list: the over-limit element is the stanza itself. */
static BfStanza *
head_from_atts (const char *local, const char *ns, const XML_Char **atts)
{
  BfStanza *head = bf_stanza_new (local, ns);
  /* In head_attrs' order whatever the sender's, as head_from_stanza. */
  for (guint j = 0; j < G_N_ELEMENTS (head_attrs); j++)
    for (guint i = 0; atts[i] != NULL; i += 2)
      if (strcmp (atts[i], head_attrs[j]) == 0)
        head_set (head, atts[i], atts[i + 1]);
  return head;
}

/* From the part of the stanza built so far. */
static BfStanza *
head_from_stanza (const BfStanza *top)
{
  BfStanza *head = bf_stanza_new (bf_stanza_get_name (top), bf_stanza_get_ns (top));
  for (guint i = 0; i < G_N_ELEMENTS (head_attrs); i++)
    {
      const char *v = bf_stanza_get_attr (top, head_attrs[i]);
      if (v)
        head_set (head, head_attrs[i], v);
    }
  return head;
}

/* Stops building: from here on only the nesting depth is followed, until
 * the top-level element closes (finish_skip). */
static void
start_skip (BfXmlStream *s, BfXmlDropReason reason, BfStanza *head)
{
  s->skipping = TRUE;
  s->skip_reason = reason;
  s->oversize_pending = FALSE;
  bf_stanza_free (s->head);
  s->head = head;
  bf_stanza_free (s->top);
  s->top = NULL;
  s->current = NULL;
}

static guint64
end_of_event (BfXmlStream *s)
{
  return (guint64) XML_GetCurrentByteIndex (s->parser)
         + (guint64) XML_GetCurrentByteCount (s->parser);
}

static void
report_drop (BfXmlStream *s, BfStanza *head, BfXmlDropReason reason)
{
  if (s->dropped)
    s->dropped (s->user_data, head, reason);
  bf_stanza_free (head);
}

static void
finish_skip (BfXmlStream *s)
{
  guint64 end = end_of_event (s);
  /* The per-slice check may not have looked yet: the hard bound holds
   * however the bytes were sliced. */
  if (end - s->mark > s->hard_limit)
    {
      fail (s, BF_XML_STREAM_ERROR_POLICY_VIOLATION,
            "element of %" G_GUINT64_FORMAT " bytes (hard limit %" G_GUINT64_FORMAT ")",
            end - s->mark, s->hard_limit);
      return;
    }
  s->skipping = FALSE;
  s->mark = end;
  report_drop (s, g_steal_pointer (&s->head), s->skip_reason);
}

/* --- expat handlers --- */

static void
on_start (void *data, const XML_Char *name, const XML_Char **atts)
{
  BfXmlStream *s = data;
  if (s->error)
    return;
  s->last_event = end_of_event (s);
  if (s->skipping)
    {
      s->depth++;
      return;
    }
  const char *sep = strchr (name, NS_SEP);
  /* No separator: the element is in no namespace (xmlns=''), which is not
   * the same as inheriting one. */
  g_autofree char *ns = sep ? g_strndup (name, sep - name) : g_strdup ("");
  const char *local = sep ? sep + 1 : name;

  guint n_atts = 0;
  while (atts[n_atts * 2] != NULL)
    n_atts++;

  if (s->depth == 0)
    {
      /* The header is the server's own, not a stanza: a broken stream. */
      if (n_atts > s->limits.max_attributes)
        {
          fail (s, BF_XML_STREAM_ERROR_POLICY_VIOLATION,
                "stream header has %u attributes (limit %u)", n_atts,
                s->limits.max_attributes);
          return;
        }
      if (g_strcmp0 (ns, BF_NS_STREAMS) != 0 || strcmp (local, "stream") != 0)
        {
          fail (s, BF_XML_STREAM_ERROR_INVALID_NAMESPACE,
                "stream root is <%s xmlns='%s'>, not <stream:stream>", local,
                ns ? ns : "");
          return;
        }
      g_autoptr (BfStanza) header = bf_stanza_new (local, ns);
      set_attrs (s, header, atts);
      s->depth = 1;
      s->mark = (guint64) XML_GetCurrentByteIndex (s->parser)
                + (guint64) XML_GetCurrentByteCount (s->parser);
      if (s->cb.stream_open)
        s->cb.stream_open (s->user_data, header);
      return;
    }

  /* s->depth is the level the new element will have (the stanza is 1). */
  gboolean over_size = s->depth == 1 && s->oversize_pending;
  gboolean over_atts = n_atts > s->limits.max_attributes;
  gboolean over_depth = s->depth > s->limits.max_depth;
  if (over_size || over_atts || over_depth)
    {
      BfXmlDropReason reason = over_size ? BF_XML_DROP_SIZE
                               : over_atts ? BF_XML_DROP_ATTRIBUTES : BF_XML_DROP_DEPTH;
      start_skip (s, reason, s->depth == 1 ? head_from_atts (local, ns, atts)
                                           : head_from_stanza (s->top));
      s->depth++;
      return;
    }

  BfStanza *el;
  if (s->current == NULL)
    {
      el = bf_stanza_new (local, ns);
      s->top = el;
    }
  else
    {
      /* Store the namespace only where it changes: most children inherit. */
      const char *parent_ns = bf_stanza_get_ns (s->current);
      el = bf_stanza_add_child (s->current, local,
                                g_strcmp0 (ns, parent_ns) == 0 ? NULL : ns);
    }
  set_attrs (s, el, atts);
  s->current = el;
  s->depth++;
}

static void
on_end (void *data, const XML_Char *name)
{
  BfXmlStream *s = data;
  (void) name;
  /* After a refusal expat still reports the end of an empty element. */
  if (s->error)
    return;
  s->last_event = end_of_event (s);
  if (s->depth == 1)
    {
      s->depth = 0;
      if (s->cb.stream_close)
        s->cb.stream_close (s->user_data);
      return;
    }
  s->depth--;
  if (s->skipping)
    {
      if (s->depth == 1)
        finish_skip (s);
      return;
    }
  BfStanza *done = s->current;
  s->current = bf_stanza_get_parent (done);
  if (s->depth == 1)
    {
      guint64 end = end_of_event (s);
      guint64 size = end - s->mark;
      s->top = NULL;
      s->mark = end;
      /* The per-slice check only sees unfinished stanzas: a complete one
       * is measured here. */
      if (size > s->limits.max_stanza_size)
        {
          report_drop (s, head_from_stanza (done), BF_XML_DROP_SIZE);
          bf_stanza_free (done);
          return;
        }
      if (s->cb.stanza)
        s->cb.stanza (s->user_data, done);
      else
        bf_stanza_free (done);
    }
}

static void
on_text (void *data, const XML_Char *text, int len)
{
  BfXmlStream *s = data;
  if (s->error)
    return;
  s->last_event = end_of_event (s);
  if (s->skipping)
    return;
  if (s->current != NULL)
    {
      bf_stanza_add_text (s->current, text, len);
      return;
    }
  /* Between stanzas only whitespace (keepalives) is allowed. */
  for (int i = 0; i < len; i++)
    if (!g_ascii_isspace (text[i]))
      {
        fail (s, BF_XML_STREAM_ERROR_BAD_FORMAT, "text between stanzas");
        return;
      }
  if (s->depth == 1)
    {
      /* What was pending was whitespace after all, not a start tag. */
      s->mark = end_of_event (s);
      s->oversize_pending = FALSE;
    }
}

/* RFC 6120 §11.1: no comments, processing instructions, DTDs or entity
 * declarations in an XMPP stream. */
static void
on_comment (void *data, const XML_Char *text)
{
  (void) text;
  fail (data, BF_XML_STREAM_ERROR_RESTRICTED_XML, "XML comment in the stream");
}

static void
on_pi (void *data, const XML_Char *target, const XML_Char *pi_data)
{
  (void) pi_data;
  fail (data, BF_XML_STREAM_ERROR_RESTRICTED_XML,
        "processing instruction <?%s?> in the stream", target);
}

static void
on_doctype (void *data, const XML_Char *name, const XML_Char *sysid,
            const XML_Char *pubid, int has_internal_subset)
{
  (void) name; (void) sysid; (void) pubid; (void) has_internal_subset;
  fail (data, BF_XML_STREAM_ERROR_RESTRICTED_XML, "DTD in the stream");
}

static void
on_entity_decl (void *data, const XML_Char *name, int is_param,
                const XML_Char *value, int value_len, const XML_Char *base,
                const XML_Char *sysid, const XML_Char *pubid,
                const XML_Char *notation)
{
  (void) name; (void) is_param; (void) value; (void) value_len; (void) base;
  (void) sysid; (void) pubid; (void) notation;
  fail (data, BF_XML_STREAM_ERROR_RESTRICTED_XML, "entity declaration in the stream");
}

static void
make_parser (BfXmlStream *s)
{
  /* Force UTF-8 whatever the XML declaration says (RFC 6120 §11.6). */
  s->parser = XML_ParserCreateNS ("UTF-8", NS_SEP);
  if (s->parser == NULL)
    g_error ("out of memory creating an XML parser");
  XML_SetUserData (s->parser, s);
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 6)
  /* expat 2.6 may hold back a partial token until more bytes come; a
   * stanza must be handed over as soon as its last byte is in. */
  XML_SetReparseDeferralEnabled (s->parser, XML_FALSE);
#endif
  XML_SetElementHandler (s->parser, on_start, on_end);
  XML_SetCharacterDataHandler (s->parser, on_text);
  XML_SetCommentHandler (s->parser, on_comment);
  XML_SetProcessingInstructionHandler (s->parser, on_pi);
  XML_SetStartDoctypeDeclHandler (s->parser, on_doctype);
  XML_SetEntityDeclHandler (s->parser, on_entity_decl);
}

BfXmlStream *
bf_xml_stream_new (const BfXmlLimits *limits, const BfXmlStreamCallbacks *callbacks,
                   gpointer user_data)
{
  BfXmlStream *s = g_new0 (BfXmlStream, 1);
  s->held = g_string_new (NULL);
  if (limits)
    s->limits = *limits;
  if (s->limits.max_stanza_size == 0)
    s->limits.max_stanza_size = BF_XML_DEFAULT_MAX_STANZA_SIZE;
  if (s->limits.max_depth == 0)
    s->limits.max_depth = BF_XML_DEFAULT_MAX_DEPTH;
  if (s->limits.max_attributes == 0)
    s->limits.max_attributes = BF_XML_DEFAULT_MAX_ATTRIBUTES;
  s->hard_limit = (guint64) s->limits.max_stanza_size > G_MAXUINT64 / BF_XML_HARD_LIMIT_FACTOR
    ? G_MAXUINT64 : (guint64) s->limits.max_stanza_size * BF_XML_HARD_LIMIT_FACTOR;
  if (callbacks)
    s->cb = *callbacks;
  s->user_data = user_data;
  make_parser (s);
  return s;
}

static void
clear_state (BfXmlStream *s)
{
  bf_stanza_free (s->top);
  s->top = NULL;
  s->current = NULL;
  g_clear_pointer (&s->head, bf_stanza_free);
  s->skipping = FALSE;
  s->oversize_pending = FALSE;
  s->last_event = 0;
  g_string_truncate (s->held, 0);
  s->depth = 0;
  s->fed = 0;
  s->mark = 0;
  s->failed = FALSE;
  g_clear_error (&s->error);
}

void
bf_xml_stream_set_dropped_func (BfXmlStream *stream, BfXmlStanzaDroppedFunc func)
{
  stream->dropped = func;
}

void
bf_xml_stream_free (BfXmlStream *stream)
{
  if (stream == NULL)
    return;
  clear_state (stream);
  XML_ParserFree (stream->parser);
  g_string_free (stream->held, TRUE);
  g_free (stream);
}

void
bf_xml_stream_reset (BfXmlStream *stream)
{
  clear_state (stream);
  XML_ParserFree (stream->parser);
  make_parser (stream);
}

static gboolean
feed_slice (BfXmlStream *s, const char *data, int len, GError **error)
{
  s->fed += (guint64) len;
  enum XML_Status status = XML_Parse (s->parser, data, len, XML_FALSE);
  if (s->error != NULL)
    {
      g_propagate_error (error, g_error_copy (s->error));
      return FALSE;
    }
  if (status != XML_STATUS_OK)
    {
      enum XML_Error code = XML_GetErrorCode (s->parser);
      s->error = g_error_new (BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_NOT_WELL_FORMED,
                              "%s at line %lu, column %lu", XML_ErrorString (code),
                              (unsigned long) XML_GetCurrentLineNumber (s->parser),
                              (unsigned long) XML_GetCurrentColumnNumber (s->parser));
      g_propagate_error (error, g_error_copy (s->error));
      return FALSE;
    }
  /* Whatever expat holds (a half-read tag, a long text run) is counted from
   * the end of the last complete item.  Over the stanza limit, the element
   * is dropped (skipped to its end); over the hard bound, or in the header,
   * the stream ends: a peer cannot make us buffer more than the hard bound
   * plus one slice. */
  guint64 pending = s->fed - s->mark;
  if (s->depth == 0 ? pending > s->limits.max_stanza_size : pending > s->hard_limit)
    {
      s->error = g_error_new (BF_XML_STREAM_ERROR, BF_XML_STREAM_ERROR_POLICY_VIOLATION,
                              "%s larger than %" G_GUINT64_FORMAT " bytes",
                              s->depth == 0 ? "stream header" : "element",
                              s->depth == 0 ? (guint64) s->limits.max_stanza_size
                                            : s->hard_limit);
      g_propagate_error (error, g_error_copy (s->error));
      return FALSE;
    }
  if (pending > s->limits.max_stanza_size && !s->skipping)
    {
      if (s->top)
        start_skip (s, BF_XML_DROP_SIZE, head_from_stanza (s->top));
      else
        /* Still inside the stanza's own start tag: dropped once expat has
         * read it (on_start). */
        s->oversize_pending = TRUE;
    }
  return TRUE;
}

/* expat rescans an unfinished token from its first byte on every parse
 * call: a start tag megabytes long (an attribute value full of &quot;)
 * arriving in 16 KiB reads costs time quadratic in its length.  While an
 * element is being dropped nothing in it is wanted, so once expat holds a
 * long partial token, more bytes are held back until they may end it (a
 * '>'; the server escapes one in an attribute value) or until as many are
 * held as expat holds (each rescan then covers twice the last: linear
 * overall).  Text runs are reported as they come, so they are never held.
 * The bound stays: held bytes are fewer than expat's, which the hard bound
 * limits: expat and the held bytes stay within twice the hard bound. */
static gboolean
hold_back (BfXmlStream *s, const char *data, gsize len)
{
  if (!s->skipping && !s->oversize_pending)
    return FALSE;
  guint64 token = s->fed - s->last_event;
  return token > MIN ((guint64) HOLD_MIN_TOKEN, (guint64) s->limits.max_stanza_size)
         && memchr (data, '>', len) == NULL
         && (guint64) s->held->len + len < token;
}

static gboolean
feed_slices (BfXmlStream *stream, const char *data, gsize len, gsize slice, GError **error)
{
  while (len > 0)
    {
      int n = (int) MIN (len, MIN (slice, (gsize) G_MAXINT));
      if (!feed_slice (stream, data, n, error))
        {
          stream->failed = TRUE;
          /* The half-built stanza is useless now; free it at once. */
          bf_stanza_free (stream->top);
          stream->top = NULL;
          stream->current = NULL;
          g_clear_pointer (&stream->head, bf_stanza_free);
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
bf_xml_stream_feed (BfXmlStream *stream, const char *data, gsize len, GError **error)
{
  g_return_val_if_fail (stream != NULL, FALSE);
  if (stream->failed)
    {
      g_propagate_error (error, g_error_copy (stream->error));
      return FALSE;
    }
  if (hold_back (stream, data, len))
    {
      g_string_append_len (stream->held, data, (gssize) len);
      return TRUE;
    }
  if (stream->held->len > 0)
    {
      g_autoptr (GString) held = stream->held;
      stream->held = g_string_new (NULL);
      /* In one piece, or the slices would bring the rescans back.  Held
       * bytes cannot end an element: the check after it is as good. */
      if (!feed_slices (stream, held->str, held->len, held->len, error))
        return FALSE;
    }
  return feed_slices (stream, data, len, FEED_SLICE, error);
}
