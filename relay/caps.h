/* XEP-0115 entity capabilities: the verification string and 'ver' of a
 * disco#info answer, and the <c/> element that carries them in presence.
 *
 * The hash is computed from the disco#info <query/> tree itself (disco.h
 * builds the core's), not from a separate list, so what a presence
 * advertises and what the router answers cannot drift apart. */
#pragma once

#include <belfry/stanza.h>

G_BEGIN_DECLS

/* Identifies belfry as the generating software (XEP-0115 §4: a URI where a
 * user can read about it).  Any change invalidates every cached 'ver'. */
#define BF_CAPS_NODE "https://github.com/belfry/belfry"
#define BF_CAPS_HASH "sha-1"

/* The §5.1 string S of a disco#info <query/>: identities sorted by
 * category, type and xml:lang, then features, then XEP-0128 forms (those
 * with a hidden FORM_TYPE) by FORM_TYPE, their fields by var; every factor
 * followed by '<'.  Other children are not part of the hash. */
char *bf_caps_verification_string (const BfStanza *query);

/* Base64 of the SHA-1 of the verification string: the caps 'ver'. */
char *bf_caps_ver (const BfStanza *query);

/* <c xmlns='http://jabber.org/protocol/caps' hash='sha-1'
 *    node=BF_CAPS_NODE ver=@ver/> */
BfStanza *bf_caps_new_element (const char *ver);

/* TRUE when @node is the disco node a client asks after seeing our caps
 * for @query (XEP-0115 §6.2: BF_CAPS_NODE '#' ver). */
gboolean bf_caps_node_matches (const char *node, const BfStanza *query);

G_END_DECLS
