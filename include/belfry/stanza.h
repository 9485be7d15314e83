/* belfry — stanza trees: what the XML stream parser produces and what
 * modules build and send.
 *
 * A BfStanza is an element: a name, a namespace, attributes and an ordered
 * list of children, each either an element or a run of text.  A tree has one
 * owner; bf_stanza_free() frees the whole subtree.  Strings are UTF-8 and are
 * stored unescaped: the serializer escapes them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BF_NS_CLIENT     "jabber:client"
#define BF_NS_COMPONENT  "jabber:component:accept"
#define BF_NS_STREAMS    "http://etherx.jabber.org/streams"
#define BF_NS_STANZAS    "urn:ietf:params:xml:ns:xmpp-stanzas"
#define BF_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define BF_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define BF_NS_PING       "urn:xmpp:ping"
#define BF_NS_VERSION    "jabber:iq:version"
#define BF_NS_XML        "http://www.w3.org/XML/1998/namespace"

typedef struct _BfStanza BfStanza;

/* Iterates over the element children of a stanza (text runs are skipped). */
typedef struct {
  const BfStanza *parent;
  guint index;
} BfStanzaIter;

/* @ns may be NULL: the element then inherits its parent's namespace (for a
 * top-level stanza: the stream's, jabber:component:accept). */
BfStanza *bf_stanza_new (const char *name, const char *ns);
void bf_stanza_free (BfStanza *stanza);
BfStanza *bf_stanza_copy (const BfStanza *stanza);

const char *bf_stanza_get_name (const BfStanza *stanza);
/* The element's own namespace, or the inherited one when it has none. */
const char *bf_stanza_get_ns (const BfStanza *stanza);
BfStanza *bf_stanza_get_parent (const BfStanza *stanza);

/* Attributes without a namespace are named by their local name; xml:lang is
 * "xml:lang"; any other namespaced attribute is "{namespace}local". */
const char *bf_stanza_get_attr (const BfStanza *stanza, const char *name);
void bf_stanza_set_attr (BfStanza *stanza, const char *name, const char *value);
void bf_stanza_remove_attr (BfStanza *stanza, const char *name);
guint bf_stanza_n_attrs (const BfStanza *stanza);
/* Returns FALSE when @index is out of range. */
gboolean bf_stanza_get_attr_nth (const BfStanza *stanza, guint index,
                                 const char **name, const char **value);

/* Adds a new empty child element and returns it (owned by @parent). */
BfStanza *bf_stanza_add_child (BfStanza *parent, const char *name, const char *ns);
/* Appends @child, taking ownership of it. */
void bf_stanza_append (BfStanza *parent, BfStanza *child);
/* Appends a run of text (@len may be -1 for NUL-terminated). */
void bf_stanza_add_text (BfStanza *stanza, const char *text, gssize len);
/* Convenience: adds <name xmlns=ns>text</name> and returns it. */
BfStanza *bf_stanza_add_text_child (BfStanza *parent, const char *name,
                                    const char *ns, const char *text);

/* The concatenation of the stanza's direct text children ("" if none). */
const char *bf_stanza_get_text (const BfStanza *stanza);
/* First child element with this name and namespace (either may be NULL to
 * match any), or NULL. */
BfStanza *bf_stanza_find_child (const BfStanza *stanza, const char *name, const char *ns);
/* The text of the first matching child, or NULL when there is none. */
const char *bf_stanza_find_child_text (const BfStanza *stanza, const char *name,
                                       const char *ns);
guint bf_stanza_n_children (const BfStanza *stanza); /* elements only */

void bf_stanza_iter_init (BfStanzaIter *iter, const BfStanza *stanza);
gboolean bf_stanza_iter_next (BfStanzaIter *iter, BfStanza **child);

/* Serializes the tree.  @parent_ns is the namespace in scope around it
 * (BF_NS_COMPONENT for a top-level stanza on the component stream); an
 * xmlns attribute is written wherever an element's namespace differs from
 * the one in scope. */
void bf_stanza_serialize (const BfStanza *stanza, const char *parent_ns, GString *out);
char *bf_stanza_to_string (const BfStanza *stanza);

/* Helpers for the usual stanza shapes. */

/* A reply skeleton: same element name, from/to swapped, same id, the given
 * type ("result" or "error"), no children. */
BfStanza *bf_stanza_new_reply (const BfStanza *request, const char *type);
/* An error reply (RFC 6120 §8.3): from/to swapped, type='error', the
 * request's children copied, and <error type=@error_type><@condition/></error>
 * with an optional <text/>. */
BfStanza *bf_stanza_new_error (const BfStanza *request, const char *error_type,
                               const char *condition, const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfStanza, bf_stanza_free)

/* Splits a JID into its parts (RFC 7622 shape checks only: lengths, one
 * '@' before the domain, non-empty parts).  Each out-parameter may be NULL;
 * the strings returned are newly allocated, localpart/resource NULL when
 * absent.  Returns FALSE for a malformed JID. */
gboolean bf_jid_split (const char *jid, char **localpart, char **domain, char **resource);

G_END_DECLS
