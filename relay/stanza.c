/* Stanza trees: construction, lookup, serialization (include/belfry/stanza.h). */
#include "build-config.h"

#include <string.h>
#include <belfry/stanza.h>

typedef enum { NODE_ELEMENT, NODE_TEXT } NodeKind;

/* Children are kept in document order; a text run is a BfStanza of kind
 * NODE_TEXT whose text lives in @text.  Text nodes are never handed out by
 * the public API (the iterator skips them). */
struct _BfStanza {
  NodeKind kind;
  char *name;
  char *ns;                 /* NULL: inherited from the parent */
  BfStanza *parent;
  GPtrArray *attrs;         /* name, value, name, value ... (owned strings) */
  GPtrArray *children;      /* BfStanza*, owned; NULL until the first child */
  GString *text;            /* NODE_TEXT: the run; NODE_ELEMENT: cached concatenation */
};

static BfStanza *
node_new (NodeKind kind)
{
  BfStanza *s = g_new0 (BfStanza, 1);
  s->kind = kind;
  return s;
}

BfStanza *
bf_stanza_new (const char *name, const char *ns)
{
  g_return_val_if_fail (name != NULL && *name != '\0', NULL);
  BfStanza *s = node_new (NODE_ELEMENT);
  s->name = g_strdup (name);
  s->ns = g_strdup (ns);
  return s;
}

void
bf_stanza_free (BfStanza *stanza)
{
  if (stanza == NULL)
    return;
  g_free (stanza->name);
  g_free (stanza->ns);
  if (stanza->attrs)
    g_ptr_array_unref (stanza->attrs);
  if (stanza->children)
    g_ptr_array_unref (stanza->children);
  if (stanza->text)
    g_string_free (stanza->text, TRUE);
  g_free (stanza);
}

static void
ensure_children (BfStanza *s)
{
  if (s->children == NULL)
    s->children = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
}

BfStanza *
bf_stanza_copy (const BfStanza *stanza)
{
  g_return_val_if_fail (stanza != NULL, NULL);
  BfStanza *copy = node_new (stanza->kind);
  copy->name = g_strdup (stanza->name);
  copy->ns = g_strdup (stanza->ns);
  if (stanza->kind == NODE_TEXT)
    {
      copy->text = g_string_new_len (stanza->text->str, stanza->text->len);
      return copy;
    }
  if (stanza->attrs)
    {
      copy->attrs = g_ptr_array_new_full (stanza->attrs->len, g_free);
      for (guint i = 0; i < stanza->attrs->len; i++)
        g_ptr_array_add (copy->attrs, g_strdup (g_ptr_array_index (stanza->attrs, i)));
    }
  if (stanza->children)
    {
      ensure_children (copy);
      for (guint i = 0; i < stanza->children->len; i++)
        {
          BfStanza *child = bf_stanza_copy (g_ptr_array_index (stanza->children, i));
          child->parent = copy;
          g_ptr_array_add (copy->children, child);
        }
    }
  return copy;
}

const char *
bf_stanza_get_name (const BfStanza *stanza)
{
  g_return_val_if_fail (stanza != NULL, NULL);
  return stanza->name;
}

const char *
bf_stanza_get_ns (const BfStanza *stanza)
{
  for (const BfStanza *s = stanza; s != NULL; s = s->parent)
    if (s->ns != NULL)
      return s->ns;
  return NULL;
}

BfStanza *
bf_stanza_get_parent (const BfStanza *stanza)
{
  g_return_val_if_fail (stanza != NULL, NULL);
  return stanza->parent;
}

static gint
attr_index (const BfStanza *s, const char *name)
{
  if (s->attrs == NULL)
    return -1;
  for (guint i = 0; i < s->attrs->len; i += 2)
    if (strcmp (g_ptr_array_index (s->attrs, i), name) == 0)
      return (gint) i;
  return -1;
}

const char *
bf_stanza_get_attr (const BfStanza *stanza, const char *name)
{
  g_return_val_if_fail (stanza != NULL && name != NULL, NULL);
  gint i = attr_index (stanza, name);
  return i < 0 ? NULL : g_ptr_array_index (stanza->attrs, i + 1);
}

void
bf_stanza_set_attr (BfStanza *stanza, const char *name, const char *value)
{
  g_return_if_fail (stanza != NULL && stanza->kind == NODE_ELEMENT && name != NULL);
  if (value == NULL)
    {
      bf_stanza_remove_attr (stanza, name);
      return;
    }
  gint i = attr_index (stanza, name);
  if (i >= 0)
    {
      g_free (stanza->attrs->pdata[i + 1]);
      stanza->attrs->pdata[i + 1] = g_strdup (value);
      return;
    }
  if (stanza->attrs == NULL)
    stanza->attrs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (stanza->attrs, g_strdup (name));
  g_ptr_array_add (stanza->attrs, g_strdup (value));
}

void
bf_stanza_remove_attr (BfStanza *stanza, const char *name)
{
  g_return_if_fail (stanza != NULL && name != NULL);
  gint i = attr_index (stanza, name);
  if (i >= 0)
    g_ptr_array_remove_range (stanza->attrs, i, 2);
}

guint
bf_stanza_n_attrs (const BfStanza *stanza)
{
  g_return_val_if_fail (stanza != NULL, 0);
  return stanza->attrs ? stanza->attrs->len / 2 : 0;
}

gboolean
bf_stanza_get_attr_nth (const BfStanza *stanza, guint index,
                        const char **name, const char **value)
{
  g_return_val_if_fail (stanza != NULL, FALSE);
  if (index >= bf_stanza_n_attrs (stanza))
    return FALSE;
  if (name)
    *name = g_ptr_array_index (stanza->attrs, index * 2);
  if (value)
    *value = g_ptr_array_index (stanza->attrs, index * 2 + 1);
  return TRUE;
}

static void
invalidate_text (BfStanza *s)
{
  if (s->kind == NODE_ELEMENT && s->text)
    {
      g_string_free (s->text, TRUE);
      s->text = NULL;
    }
}

void
bf_stanza_append (BfStanza *parent, BfStanza *child)
{
  g_return_if_fail (parent != NULL && parent->kind == NODE_ELEMENT);
  g_return_if_fail (child != NULL && child->parent == NULL);
  ensure_children (parent);
  child->parent = parent;
  g_ptr_array_add (parent->children, child);
}

BfStanza *
bf_stanza_add_child (BfStanza *parent, const char *name, const char *ns)
{
  BfStanza *child = bf_stanza_new (name, ns);
  bf_stanza_append (parent, child);
  return child;
}

void
bf_stanza_add_text (BfStanza *stanza, const char *text, gssize len)
{
  g_return_if_fail (stanza != NULL && stanza->kind == NODE_ELEMENT && text != NULL);
  if (len < 0)
    len = (gssize) strlen (text);
  if (len == 0)
    return;
  invalidate_text (stanza);
  ensure_children (stanza);
  /* Consecutive runs (expat delivers text in pieces) merge into one node. */
  if (stanza->children->len > 0)
    {
      BfStanza *last = g_ptr_array_index (stanza->children, stanza->children->len - 1);
      if (last->kind == NODE_TEXT)
        {
          g_string_append_len (last->text, text, len);
          return;
        }
    }
  BfStanza *run = node_new (NODE_TEXT);
  run->text = g_string_new_len (text, len);
  run->parent = stanza;
  g_ptr_array_add (stanza->children, run);
}

BfStanza *
bf_stanza_add_text_child (BfStanza *parent, const char *name, const char *ns,
                          const char *text)
{
  BfStanza *child = bf_stanza_add_child (parent, name, ns);
  if (text)
    bf_stanza_add_text (child, text, -1);
  return child;
}

const char *
bf_stanza_get_text (const BfStanza *stanza)
{
  g_return_val_if_fail (stanza != NULL, NULL);
  if (stanza->kind == NODE_TEXT)
    return stanza->text->str;
  if (stanza->children == NULL)
    return "";
  /* Most elements hold a single run: hand it out without copying. */
  const BfStanza *only = NULL;
  guint runs = 0;
  for (guint i = 0; i < stanza->children->len; i++)
    {
      const BfStanza *c = g_ptr_array_index (stanza->children, i);
      if (c->kind == NODE_TEXT)
        {
          only = c;
          runs++;
        }
    }
  if (runs == 0)
    return "";
  if (runs == 1)
    return only->text->str;
  BfStanza *mut = (BfStanza *) stanza;  /* the cache is logically const */
  if (mut->text == NULL)
    {
      mut->text = g_string_new (NULL);
      for (guint i = 0; i < stanza->children->len; i++)
        {
          const BfStanza *c = g_ptr_array_index (stanza->children, i);
          if (c->kind == NODE_TEXT)
            g_string_append_len (mut->text, c->text->str, c->text->len);
        }
    }
  return mut->text->str;
}

BfStanza *
bf_stanza_find_child (const BfStanza *stanza, const char *name, const char *ns)
{
  g_return_val_if_fail (stanza != NULL, NULL);
  BfStanzaIter iter;
  BfStanza *child;
  bf_stanza_iter_init (&iter, stanza);
  while (bf_stanza_iter_next (&iter, &child))
    {
      if (name && strcmp (child->name, name) != 0)
        continue;
      if (ns && g_strcmp0 (bf_stanza_get_ns (child), ns) != 0)
        continue;
      return child;
    }
  return NULL;
}

const char *
bf_stanza_find_child_text (const BfStanza *stanza, const char *name, const char *ns)
{
  BfStanza *child = bf_stanza_find_child (stanza, name, ns);
  return child ? bf_stanza_get_text (child) : NULL;
}

guint
bf_stanza_n_children (const BfStanza *stanza)
{
  g_return_val_if_fail (stanza != NULL, 0);
  guint n = 0;
  if (stanza->children)
    for (guint i = 0; i < stanza->children->len; i++)
      if (((BfStanza *) g_ptr_array_index (stanza->children, i))->kind == NODE_ELEMENT)
        n++;
  return n;
}

void
bf_stanza_iter_init (BfStanzaIter *iter, const BfStanza *stanza)
{
  iter->parent = stanza;
  iter->index = 0;
}

gboolean
bf_stanza_iter_next (BfStanzaIter *iter, BfStanza **child)
{
  const GPtrArray *c = iter->parent->children;
  while (c && iter->index < c->len)
    {
      BfStanza *s = g_ptr_array_index (c, iter->index++);
      if (s->kind == NODE_ELEMENT)
        {
          *child = s;
          return TRUE;
        }
    }
  return FALSE;
}

/* --- serialization --- */

static void
append_escaped (GString *out, const char *s, gsize len, gboolean attr)
{
  const char *start = s;
  const char *end = s + len;
  for (const char *p = s; p < end; p++)
    {
      const char *rep = NULL;
      switch (*p)
        {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\'': rep = attr ? "&apos;" : NULL; break;
        case '"': rep = attr ? "&quot;" : NULL; break;
        /* Attribute-value normalization would turn these into spaces. */
        case '\n': rep = attr ? "&#10;" : NULL; break;
        case '\r': rep = "&#13;"; break;
        case '\t': rep = attr ? "&#9;" : NULL; break;
        default: break;
        }
      if (rep)
        {
          g_string_append_len (out, start, p - start);
          g_string_append (out, rep);
          start = p + 1;
        }
    }
  g_string_append_len (out, start, end - start);
}

/* "{ns}local" attribute names need a prefix declared on the element. */
static void
append_attr_name (GString *out, GString *decls, const char *name, guint *prefix_n)
{
  if (name[0] != '{')
    {
      g_string_append (out, name);
      return;
    }
  /* The namespace may hold '}', an XML name never does: split at the last. */
  const char *close = strrchr (name, '}');
  if (close == NULL)
    {
      g_string_append (out, name);
      return;
    }
  guint n = (*prefix_n)++;
  g_string_append_printf (out, "a%u:%s", n, close + 1);
  g_string_append_printf (decls, " xmlns:a%u='", n);
  append_escaped (decls, name + 1, close - name - 1, TRUE);
  g_string_append_c (decls, '\'');
}

/* @inherited_ns is the namespace the element has when its own is unset;
 * @scope_ns is the default namespace in scope in the output.  They differ
 * only below an element in the XML namespace, which cannot be declared as
 * a default and is written with its reserved prefix instead. */
static void
serialize (const BfStanza *s, const char *inherited_ns, const char *scope_ns, GString *out)
{
  if (s->kind == NODE_TEXT)
    {
      append_escaped (out, s->text->str, s->text->len, FALSE);
      return;
    }
  const char *ns = s->ns ? s->ns : inherited_ns;
  gboolean xml_prefixed = g_strcmp0 (ns, BF_NS_XML) == 0;
  g_string_append_c (out, '<');
  if (xml_prefixed)
    g_string_append (out, "xml:");
  g_string_append (out, s->name);
  if (!xml_prefixed && ns && g_strcmp0 (ns, scope_ns) != 0)
    {
      g_string_append (out, " xmlns='");
      append_escaped (out, ns, strlen (ns), TRUE);
      g_string_append_c (out, '\'');
      scope_ns = ns;
    }
  g_autoptr (GString) decls = NULL;
  guint prefix_n = 0;
  for (guint i = 0; s->attrs && i < s->attrs->len; i += 2)
    {
      const char *name = g_ptr_array_index (s->attrs, i);
      const char *value = g_ptr_array_index (s->attrs, i + 1);
      if (decls == NULL && name[0] == '{')
        decls = g_string_new (NULL);
      g_string_append_c (out, ' ');
      append_attr_name (out, decls, name, &prefix_n);
      g_string_append (out, "='");
      append_escaped (out, value, strlen (value), TRUE);
      g_string_append_c (out, '\'');
    }
  if (decls)
    g_string_append_len (out, decls->str, decls->len);
  if (s->children == NULL || s->children->len == 0)
    {
      g_string_append (out, "/>");
      return;
    }
  g_string_append_c (out, '>');
  for (guint i = 0; i < s->children->len; i++)
    serialize (g_ptr_array_index (s->children, i), ns, scope_ns, out);
  g_string_append (out, "</");
  if (xml_prefixed)
    g_string_append (out, "xml:");
  g_string_append (out, s->name);
  g_string_append_c (out, '>');
}

void
bf_stanza_serialize (const BfStanza *stanza, const char *parent_ns, GString *out)
{
  g_return_if_fail (stanza != NULL && out != NULL);
  /* A detached subtree may have inherited its namespace from a parent. */
  const char *inherited = stanza->ns ? NULL : bf_stanza_get_ns (stanza);
  serialize (stanza, inherited ? inherited : parent_ns, parent_ns, out);
}

char *
bf_stanza_to_string (const BfStanza *stanza)
{
  GString *out = g_string_new (NULL);
  bf_stanza_serialize (stanza, BF_NS_COMPONENT, out);
  return g_string_free (out, FALSE);
}

/* --- helpers --- */

BfStanza *
bf_stanza_new_reply (const BfStanza *request, const char *type)
{
  g_return_val_if_fail (request != NULL, NULL);
  BfStanza *reply = bf_stanza_new (request->name, request->ns);
  const char *from = bf_stanza_get_attr (request, "from");
  const char *to = bf_stanza_get_attr (request, "to");
  const char *id = bf_stanza_get_attr (request, "id");
  if (to)
    bf_stanza_set_attr (reply, "from", to);
  if (from)
    bf_stanza_set_attr (reply, "to", from);
  if (id)
    bf_stanza_set_attr (reply, "id", id);
  if (type)
    bf_stanza_set_attr (reply, "type", type);
  return reply;
}

BfStanza *
bf_stanza_new_error (const BfStanza *request, const char *error_type,
                     const char *condition, const char *text)
{
  g_return_val_if_fail (request != NULL && error_type != NULL && condition != NULL, NULL);
  BfStanza *reply = bf_stanza_new_reply (request, "error");
  /* RFC 6120 §8.3.1: the error MAY include the original payload; include it
   * so the sender can tell which request failed, but not for messages,
   * whose bodies we would only bounce back. */
  if (strcmp (request->name, "iq") == 0 && request->children)
    for (guint i = 0; i < request->children->len; i++)
      {
        const BfStanza *c = g_ptr_array_index (request->children, i);
        if (c->kind == NODE_ELEMENT)
          {
            BfStanza *copy = bf_stanza_copy (c);
            if (copy->ns == NULL)
              copy->ns = g_strdup (bf_stanza_get_ns (c));
            bf_stanza_append (reply, copy);
          }
      }
  BfStanza *error = bf_stanza_add_child (reply, "error", NULL);
  bf_stanza_set_attr (error, "type", error_type);
  bf_stanza_add_child (error, condition, BF_NS_STANZAS);
  if (text)
    bf_stanza_add_text_child (error, "text", BF_NS_STANZAS, text);
  return reply;
}

/* RFC 7622 §3: each part is at most 1023 octets; the domain is required. */
#define JID_PART_MAX 1023

gboolean
bf_jid_split (const char *jid, char **localpart, char **domain, char **resource)
{
  if (localpart) *localpart = NULL;
  if (domain) *domain = NULL;
  if (resource) *resource = NULL;
  if (jid == NULL || *jid == '\0')
    return FALSE;
  if (!g_utf8_validate (jid, -1, NULL))
    return FALSE;

  const char *slash = strchr (jid, '/');
  const char *bare_end = slash ? slash : jid + strlen (jid);
  const char *at = memchr (jid, '@', bare_end - jid);
  const char *dom = at ? at + 1 : jid;

  if (at && (at == jid || at - jid > JID_PART_MAX))
    return FALSE;
  if (at && memchr (dom, '@', bare_end - dom))
    return FALSE;
  if (bare_end == dom || bare_end - dom > JID_PART_MAX)
    return FALSE;
  if (slash && (slash[1] == '\0' || strlen (slash + 1) > JID_PART_MAX))
    return FALSE;
  for (const char *p = dom; p < bare_end; p++)
    if (*p == ' ' || (guchar) *p < 0x21)
      return FALSE;
  if (at)
    for (const char *p = jid; p < at; p++)
      if (strchr ("\"&'/:<>", *p) || (guchar) *p <= 0x20)
        return FALSE;

  if (localpart && at)
    *localpart = g_strndup (jid, at - jid);
  if (domain)
    *domain = g_ascii_strdown (dom, bare_end - dom);
  if (resource && slash)
    *resource = g_strdup (slash + 1);
  return TRUE;
}
