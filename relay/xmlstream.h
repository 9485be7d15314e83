/* The XML stream parser: expat, namespace-aware, fed incrementally, turning
 * each top-level element of an XMPP stream into a BfStanza tree, within
 * limits that keep memory bounded whatever the peer sends.
 *
 * A top-level element over a limit is the doing of whoever sent that one
 * stanza (a remote user; the server passes it through), so it is dropped,
 * not the stream: the parser stops building it, follows its nesting to its
 * end tag, reports its head (stanza_dropped) and goes on with the next one.
 * Only a broken stream ends it: not well-formed XML, restricted XML, a
 * wrong root, text between stanzas, and the hard bound below.
 *
 * Thread rule: none of its own; one parser is used from one thread. */
#pragma once

#include <belfry/stanza.h>

G_BEGIN_DECLS

#define BF_XML_STREAM_ERROR (bf_xml_stream_error_quark ())
GQuark bf_xml_stream_error_quark (void);

/* Each code is an RFC 6120 §4.9.3 stream error condition. */
typedef enum {
  BF_XML_STREAM_ERROR_NOT_WELL_FORMED,
  BF_XML_STREAM_ERROR_POLICY_VIOLATION,   /* a limit was exceeded */
  BF_XML_STREAM_ERROR_RESTRICTED_XML,     /* comment, PI, DTD, entity */
  BF_XML_STREAM_ERROR_INVALID_NAMESPACE,  /* root is not <stream:stream> */
  BF_XML_STREAM_ERROR_BAD_FORMAT,         /* text between stanzas */
} BfXmlStreamError;

/* The condition element name for a code, e.g. "not-well-formed". */
const char *bf_xml_stream_error_condition (BfXmlStreamError code);

typedef struct {
  gsize max_stanza_size;   /* bytes of one top-level element (and of the header) */
  guint max_depth;         /* element nesting, the stanza itself counting as 1 */
  guint max_attributes;    /* per element */
} BfXmlLimits;

#define BF_XML_DEFAULT_MAX_STANZA_SIZE (256 * 1024)
#define BF_XML_DEFAULT_MAX_DEPTH 32
#define BF_XML_DEFAULT_MAX_ATTRIBUTES 64

/* The hard bound: a top-level element still unfinished after this many
 * times max_stanza_size bytes ends the stream with policy-violation.
 * Skipping costs no memory for content, but expat must hold one whole
 * token (a start tag with its attribute values) before it reports it, so
 * only a bound on the element as a whole bounds that buffer.  A server
 * passes no stanza over its own limit (Prosody: 256 KiB c2s, 512 KiB s2s),
 * and its re-serialisation can grow one at most sixfold (a ' in text
 * becomes &apos;): 16 x 256 KiB = 4 MiB leaves a margin, so only a broken
 * or hostile server reaches it. */
#define BF_XML_HARD_LIMIT_FACTOR 16

/* Why a top-level element was dropped. */
typedef enum {
  BF_XML_DROP_SIZE,
  BF_XML_DROP_DEPTH,
  BF_XML_DROP_ATTRIBUTES,
} BfXmlDropReason;

/* "size", "depth" or "attributes", for logs. */
const char *bf_xml_drop_reason_to_string (BfXmlDropReason reason);

/* A dropped element's head keeps only these attributes, each only when at
 * most this long (a JID is at most 3 x 1023 + 2 bytes); a longer value is
 * left out rather than cut, which could address someone else. */
#define BF_XML_HEAD_ATTR_MAX 3071

typedef struct {
  /* The <stream:stream> header: a childless element with its attributes. */
  void (*stream_open) (gpointer user_data, const BfStanza *header);
  /* A complete top-level element; the callee owns it. */
  void (*stanza) (gpointer user_data, BfStanza *stanza);
  /* </stream:stream> */
  void (*stream_close) (gpointer user_data);
} BfXmlStreamCallbacks;

/* A top-level element over a limit was skipped up to its end tag and the
 * stream goes on.  @head is a childless copy of it: its name, namespace and
 * only the attributes from, to, id and type (each at most
 * BF_XML_HEAD_ATTR_MAX bytes), enough to bounce it; owned by the parser. */
typedef void (*BfXmlStanzaDroppedFunc) (gpointer user_data, const BfStanza *head,
                                        BfXmlDropReason reason);

typedef struct _BfXmlStream BfXmlStream;

/* @limits may be NULL for the defaults.  Callbacks run inside
 * bf_xml_stream_feed() and must not free the parser. */
BfXmlStream *bf_xml_stream_new (const BfXmlLimits *limits,
                                const BfXmlStreamCallbacks *callbacks,
                                gpointer user_data);
void bf_xml_stream_free (BfXmlStream *stream);
/* Set apart from the callbacks so that parsers with no use for drops need
 * nothing; called with the same user_data, from inside the feed.  Without
 * it, drops are silent. */
void bf_xml_stream_set_dropped_func (BfXmlStream *stream, BfXmlStanzaDroppedFunc func);

/* Parses more bytes.  On failure the parser stays failed (further feeds
 * fail the same way) until bf_xml_stream_reset(). */
gboolean bf_xml_stream_feed (BfXmlStream *stream, const char *data, gsize len,
                             GError **error);
/* Forgets everything: ready for a new stream. */
void bf_xml_stream_reset (BfXmlStream *stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfXmlStream, bf_xml_stream_free)

G_END_DECLS
