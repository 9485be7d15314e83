/* The XML stream parser: expat, namespace-aware, fed incrementally, turning
 * each top-level element of an XMPP stream into a BfStanza tree, within
 * limits that keep memory bounded whatever the peer sends. */
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

typedef struct {
  /* The <stream:stream> header: a childless element with its attributes. */
  void (*stream_open) (gpointer user_data, const BfStanza *header);
  /* A complete top-level element; the callee owns it. */
  void (*stanza) (gpointer user_data, BfStanza *stanza);
  /* </stream:stream> */
  void (*stream_close) (gpointer user_data);
} BfXmlStreamCallbacks;

typedef struct _BfXmlStream BfXmlStream;

/* @limits may be NULL for the defaults.  Callbacks run inside
 * bf_xml_stream_feed() and must not free the parser. */
BfXmlStream *bf_xml_stream_new (const BfXmlLimits *limits,
                                const BfXmlStreamCallbacks *callbacks,
                                gpointer user_data);
void bf_xml_stream_free (BfXmlStream *stream);

/* Parses more bytes.  On failure the parser stays failed (further feeds
 * fail the same way) until bf_xml_stream_reset(). */
gboolean bf_xml_stream_feed (BfXmlStream *stream, const char *data, gsize len,
                             GError **error);
/* Forgets everything: ready for a new stream. */
void bf_xml_stream_reset (BfXmlStream *stream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfXmlStream, bf_xml_stream_free)

G_END_DECLS
