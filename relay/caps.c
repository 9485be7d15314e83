/* XEP-0115 entity capabilities (caps.h). */
#include "build-config.h"

#include <string.h>

#include <belfry/module.h>
#include "caps.h"

#define NS_DATA "jabber:x:data"

typedef struct {
  const char *category, *type, *lang, *name;
} Identity;

/* §5.1: all sorting is "i;octet" (RFC 4790 §9.3), which is what strcmp()
 * does on UTF-8.  Fields are compared one by one, not as the joined
 * "category/type/lang/name": '/' would otherwise sort "a-b" before "a". */
static int
compare_identity (gconstpointer a, gconstpointer b)
{
  const Identity *x = a, *y = b;
  int c;
  if ((c = strcmp (x->category, y->category)) != 0)
    return c;
  if ((c = strcmp (x->type, y->type)) != 0)
    return c;
  if ((c = strcmp (x->lang, y->lang)) != 0)
    return c;
  /* Not a key of the spec; only makes the result independent of order
   * should two identities differ by name alone. */
  return strcmp (x->name, y->name);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static int
compare_field_vars (gconstpointer a, gconstpointer b)
{
  const BfStanza *x = *(BfStanza *const *) a, *y = *(BfStanza *const *) b;
  return strcmp (bf_stanza_get_attr (x, "var"), bf_stanza_get_attr (y, "var"));
}

static const char *
or_empty (const char *s)
{
  return s ? s : "";
}

/* The FORM_TYPE of an extended-info form, or NULL: a form without a hidden
 * FORM_TYPE field is ignored by whoever checks the hash (§5.4, 3.6), so it
 * must not be part of it either. */
static const char *
form_type (const BfStanza *x)
{
  BfStanzaIter it;
  BfStanza *field;
  bf_stanza_iter_init (&it, x);
  while (bf_stanza_iter_next (&it, &field))
    if (g_strcmp0 (bf_stanza_get_name (field), "field") == 0
        && g_strcmp0 (bf_stanza_get_attr (field, "var"), "FORM_TYPE") == 0)
      {
        if (g_strcmp0 (bf_stanza_get_attr (field, "type"), "hidden") != 0)
          return NULL;
        return bf_stanza_find_child_text (field, "value", NULL);
      }
  return NULL;
}

typedef struct {
  const char *type;
  const BfStanza *x;
} Form;

static int
compare_forms (gconstpointer a, gconstpointer b)
{
  return strcmp (((const Form *) a)->type, ((const Form *) b)->type);
}

/* §5.1 steps 7.1-7.3 for one form. */
static void
append_form (GString *s, const Form *form)
{
  g_string_append_printf (s, "%s<", form->type);
  g_autoptr (GPtrArray) fields = g_ptr_array_new ();
  BfStanzaIter it;
  BfStanza *field;
  bf_stanza_iter_init (&it, form->x);
  while (bf_stanza_iter_next (&it, &field))
    {
      const char *var = bf_stanza_get_attr (field, "var");
      if (strcmp (bf_stanza_get_name (field), "field") == 0 && var
          && strcmp (var, "FORM_TYPE") != 0)
        g_ptr_array_add (fields, field);
    }
  g_ptr_array_sort (fields, compare_field_vars);
  for (guint i = 0; i < fields->len; i++)
    {
      BfStanza *f = g_ptr_array_index (fields, i);
      g_string_append_printf (s, "%s<", bf_stanza_get_attr (f, "var"));
      g_autoptr (GPtrArray) values = g_ptr_array_new ();
      BfStanza *value;
      bf_stanza_iter_init (&it, f);
      while (bf_stanza_iter_next (&it, &value))
        if (strcmp (bf_stanza_get_name (value), "value") == 0)
          g_ptr_array_add (values, (gpointer) bf_stanza_get_text (value));
      g_ptr_array_sort (values, compare_strings);
      for (guint j = 0; j < values->len; j++)
        g_string_append_printf (s, "%s<", (const char *) g_ptr_array_index (values, j));
    }
}

char *
bf_caps_verification_string (const BfStanza *query)
{
  g_return_val_if_fail (query != NULL, NULL);
  g_autoptr (GArray) identities = g_array_new (FALSE, FALSE, sizeof (Identity));
  g_autoptr (GPtrArray) features = g_ptr_array_new ();
  g_autoptr (GArray) forms = g_array_new (FALSE, FALSE, sizeof (Form));

  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, query);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *name = bf_stanza_get_name (child);
      const char *ns = bf_stanza_get_ns (child);
      if (g_strcmp0 (ns, BF_NS_DISCO_INFO) == 0 && strcmp (name, "identity") == 0)
        {
          Identity id = {
            or_empty (bf_stanza_get_attr (child, "category")),
            or_empty (bf_stanza_get_attr (child, "type")),
            or_empty (bf_stanza_get_attr (child, "xml:lang")),
            or_empty (bf_stanza_get_attr (child, "name")),
          };
          g_array_append_val (identities, id);
        }
      else if (g_strcmp0 (ns, BF_NS_DISCO_INFO) == 0 && strcmp (name, "feature") == 0)
        g_ptr_array_add (features, (gpointer) or_empty (bf_stanza_get_attr (child, "var")));
      else if (g_strcmp0 (ns, NS_DATA) == 0 && strcmp (name, "x") == 0)
        {
          Form form = { form_type (child), child };
          if (form.type)
            g_array_append_val (forms, form);
        }
    }

  GString *s = g_string_new (NULL);
  g_array_sort (identities, compare_identity);
  for (guint i = 0; i < identities->len; i++)
    {
      const Identity *id = &g_array_index (identities, Identity, i);
      g_string_append_printf (s, "%s/%s/%s/%s<", id->category, id->type, id->lang, id->name);
    }
  g_ptr_array_sort (features, compare_strings);
  for (guint i = 0; i < features->len; i++)
    g_string_append_printf (s, "%s<", (const char *) g_ptr_array_index (features, i));
  g_array_sort (forms, compare_forms);
  for (guint i = 0; i < forms->len; i++)
    append_form (s, &g_array_index (forms, Form, i));
  return g_string_free (s, FALSE);
}

char *
bf_caps_ver (const BfStanza *query)
{
  g_autofree char *s = bf_caps_verification_string (query);
  g_return_val_if_fail (s != NULL, NULL);
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  g_checksum_update (sha1, (const guchar *) s, strlen (s));
  guint8 digest[20];
  gsize len = sizeof digest;
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

BfStanza *
bf_caps_new_element (const char *ver)
{
  g_return_val_if_fail (ver != NULL, NULL);
  BfStanza *c = bf_stanza_new ("c", BF_NS_CAPS);
  bf_stanza_set_attr (c, "hash", BF_CAPS_HASH);
  bf_stanza_set_attr (c, "node", BF_CAPS_NODE);
  bf_stanza_set_attr (c, "ver", ver);
  return c;
}

gboolean
bf_caps_node_matches (const char *node, const BfStanza *query)
{
  static const char prefix[] = BF_CAPS_NODE "#";
  if (node == NULL || strncmp (node, prefix, strlen (prefix)) != 0)
    return FALSE;
  g_autofree char *ver = bf_caps_ver (query);
  return strcmp (node + strlen (prefix), ver) == 0;
}
