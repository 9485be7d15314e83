/* XEP-0106 JID escaping: a JID carried as the localpart of another JID,
 * e.g. "bob@example.org" <-> "bob\40example.org". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Escapes the characters a localpart cannot hold (XEP-0106 §4.2 table:
 * space " & ' / : < > @), and a backslash only where it would otherwise
 * read as an escape sequence (§4.3). */
char *call_jid_escape (const char *s);
/* The reverse; any other backslash is kept as it is (§4.3).  NULL for
 * input that is not valid UTF-8 or longer than @max_len bytes. */
char *call_jid_unescape (const char *s, gsize max_len);

G_END_DECLS
