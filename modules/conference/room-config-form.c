/* conference — reading a submitted room configuration form; see
 * room-config-form.h.
 *
 * Thread rule: pure code, no state.
 */
#include <string.h>

#include "room-config-form.h"

void
cf_config_values_clear (CfConfigValues *values)
{
  g_clear_pointer (&values->moderators, g_strfreev);
  memset (values, 0, sizeof *values);
}

gboolean
cf_form_parse_boolean (const char *value, gboolean *out)
{
  if (value == NULL)
    return FALSE;
  if (strcmp (value, "1") == 0 || strcmp (value, "true") == 0)
    *out = TRUE;
  else if (strcmp (value, "0") == 0 || strcmp (value, "false") == 0)
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

/* Lower case as the module compares JIDs (cf_fold: a stanza's text is
 * UTF-8, expat checked it). */
static char *
fold (const char *s)
{
  return g_utf8_validate (s, -1, NULL) ? g_utf8_strdown (s, -1) : g_ascii_strdown (s, -1);
}

#define FAIL(t, c, x) \
  G_STMT_START { *type = (t); *condition = (c); *text = (x); goto fail; } G_STMT_END

gboolean
cf_config_form_parse (const BfStanza *form, guint global_max, gboolean can_record,
                      CfConfigValues *out, const char **type, const char **condition,
                      const char **text)
{
  BfStanzaIter it, vit;
  BfStanza *field, *value;
  guint n_fields = 0;
  g_autoptr (GPtrArray) moderators = g_ptr_array_new_with_free_func (g_free);

  memset (out, 0, sizeof *out);
  bf_stanza_iter_init (&it, form);
  while (bf_stanza_iter_next (&it, &field))
    {
      const char *var;
      const char *first = NULL;
      guint n_values = 0;

      if (g_strcmp0 (bf_stanza_get_name (field), "field") != 0)
        continue;
      if (++n_fields > CF_CONFIG_MAX_FIELDS)
        FAIL ("modify", "bad-request", "too many fields");
      var = bf_stanza_get_attr (field, "var");
      if (var == NULL)
        FAIL ("modify", "bad-request", "a field without 'var'");
      bf_stanza_iter_init (&vit, field);
      while (bf_stanza_iter_next (&vit, &value))
        {
          if (g_strcmp0 (bf_stanza_get_name (value), "value") != 0)
            continue;
          const char *v = bf_stanza_get_text (value);
          if (v == NULL)
            v = "";
          if (++n_values > CF_CONFIG_MAX_VALUES || strlen (v) > CF_CONFIG_MAX_VALUE)
            FAIL ("modify", "bad-request", "too many or too long values");
          if (first == NULL)
            first = v;
          if (strcmp (var, "moderators") == 0 && v[0] != '\0')
            {
              g_autofree char *local = NULL, *resource = NULL;
              if (!bf_jid_split (v, &local, NULL, &resource) || local == NULL || resource != NULL)
                FAIL ("modify", "bad-request", "a moderator is a bare JID (user@domain)");
              if (moderators->len >= CF_CONFIG_MAX_MODERATORS)
                FAIL ("modify", "not-acceptable", "too many moderators");
              g_ptr_array_add (moderators, fold (v));
            }
        }
      if (strcmp (var, "FORM_TYPE") == 0)
        {
          if (g_strcmp0 (first, CF_NODE_CONFIG) != 0)
            FAIL ("modify", "bad-request", "FORM_TYPE is not " CF_NODE_CONFIG);
        }
      else if (strcmp (var, "record") == 0)
        {
          if (!cf_form_parse_boolean (first, &out->record))
            FAIL ("modify", "bad-request", "'record' is a boolean");
          out->has_record = TRUE;
        }
      else if (strcmp (var, "max-participants") == 0)
        {
          char *end = NULL;
          guint64 max;
          if (first == NULL || !g_ascii_isdigit (first[0]))
            FAIL ("modify", "bad-request", "'max-participants' is a number");
          max = g_ascii_strtoull (first, &end, 10);
          if (*end != '\0')
            FAIL ("modify", "bad-request", "'max-participants' is a number");
          if (max < 2 || max > global_max)
            FAIL ("modify", "not-acceptable",
                  "'max-participants' is out of range (2 to the service's maximum)");
          out->max = (guint) max;
          out->has_max = TRUE;
        }
      else if (strcmp (var, "moderators") == 0)
        out->has_moderators = TRUE;
      /* Other fields: XEP-0004 lets a form carry what we do not ask for. */
    }
  if (out->has_record && out->record && !can_record)
    FAIL ("cancel", "not-acceptable", "this service does not record rooms");
  if (out->has_moderators)
    {
      g_ptr_array_add (moderators, NULL);
      out->moderators = (char **) g_ptr_array_free (g_steal_pointer (&moderators), FALSE);
    }
  return TRUE;

fail:
  cf_config_values_clear (out);
  return FALSE;
}
