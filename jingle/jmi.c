/* Jingle Message Initiation (XEP-0353), jmi.h. */
#include <string.h>

#include "jmi.h"
#include "jingle-private.h"

static const char *const type_names[] = {
  [BF_JMI_PROPOSE] = "propose",
  [BF_JMI_RINGING] = "ringing",
  [BF_JMI_PROCEED] = "proceed",
  [BF_JMI_ACCEPT] = "accept",
  [BF_JMI_REJECT] = "reject",
  [BF_JMI_RETRACT] = "retract",
  [BF_JMI_FINISH] = "finish",
};

const char *
bf_jmi_type_to_string (BfJmiType type)
{
  return (guint) type < G_N_ELEMENTS (type_names) ? type_names[type] : NULL;
}

static void
description_free (BfJmiDescription *d)
{
  g_free (d->ns);
  g_free (d->media);
  g_free (d);
}

BfJmi *
bf_jmi_new (BfJmiType type, const char *id)
{
  BfJmi *jmi = g_new0 (BfJmi, 1);
  jmi->type = type;
  jmi->id = g_strdup (id);
  jmi->descriptions = g_ptr_array_new_with_free_func ((GDestroyNotify) description_free);
  return jmi;
}

void
bf_jmi_free (BfJmi *jmi)
{
  if (jmi == NULL)
    return;
  g_free (jmi->id);
  g_ptr_array_unref (jmi->descriptions);
  bf_jingle_reason_free (jmi->reason);
  g_free (jmi->migrated_to);
  g_free (jmi);
}

BfJmiDescription *
bf_jmi_add_description (BfJmi *jmi, const char *ns, const char *media)
{
  g_return_val_if_fail (jmi != NULL && ns != NULL, NULL);
  BfJmiDescription *d = g_new0 (BfJmiDescription, 1);
  d->ns = g_strdup (ns);
  d->media = g_strdup (media);
  g_ptr_array_add (jmi->descriptions, d);
  return d;
}

BfJingleReason *
bf_jmi_set_reason (BfJmi *jmi, BfJingleReasonCondition condition, const char *text)
{
  g_return_val_if_fail (jmi != NULL, NULL);
  bf_jingle_reason_free (jmi->reason);
  jmi->reason = g_new0 (BfJingleReason, 1);
  jmi->reason->condition = condition;
  jmi->reason->text = g_strdup (text);
  return jmi->reason;
}

gboolean
bf_jmi_equal (const BfJmi *a, const BfJmi *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  if (a->type != b->type || g_strcmp0 (a->id, b->id) != 0
      || a->descriptions->len != b->descriptions->len || !a->tie_break != !b->tie_break
      || !a->receipt_request != !b->receipt_request
      || g_strcmp0 (a->migrated_to, b->migrated_to) != 0
      || !bf_jingle_reason_equal (a->reason, b->reason))
    return FALSE;
  for (guint i = 0; i < a->descriptions->len; i++)
    {
      const BfJmiDescription *da = g_ptr_array_index (a->descriptions, i);
      const BfJmiDescription *db = g_ptr_array_index (b->descriptions, i);
      if (g_strcmp0 (da->ns, db->ns) != 0 || g_strcmp0 (da->media, db->media) != 0)
        return FALSE;
    }
  return TRUE;
}

static gboolean
has_reason (BfJmiType type)
{
  /* §11 schema: reject, retract and finish hold a Jingle <reason/>. */
  return type == BF_JMI_REJECT || type == BF_JMI_RETRACT || type == BF_JMI_FINISH;
}

static gboolean
has_tie_break (BfJmiType type)
{
  /* §4.1: a reject, and a retract, answering the higher id of a race. */
  return type == BF_JMI_REJECT || type == BF_JMI_RETRACT;
}

BfJmi *
bf_jmi_parse (const BfStanza *message, GError **error)
{
  g_return_val_if_fail (message != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (strcmp (bf_stanza_get_name (message), "message") != 0)
    {
      bf_jingle_bad_request (error, "Jingle Message Initiation travels in a <message/>");
      return NULL;
    }

  BfStanza *el = NULL;
  guint type = 0;
  BfStanzaIter it;
  BfStanza *child;
  bf_stanza_iter_init (&it, message);
  while (el == NULL && bf_stanza_iter_next (&it, &child))
    {
      if (g_strcmp0 (bf_stanza_get_ns (child), BF_NS_JINGLE_MESSAGE) != 0)
        continue;
      for (type = 0; type < G_N_ELEMENTS (type_names); type++)
        if (strcmp (bf_stanza_get_name (child), type_names[type]) == 0)
          {
            el = child;
            break;
          }
    }
  if (el == NULL)
    {
      bf_jingle_bad_request (error, "no <xmlns='" BF_NS_JINGLE_MESSAGE "'/> element");
      return NULL;
    }

  /* §3.1: "The <propose/> element MUST possess an 'id' attribute"; the
   * others name the same session. */
  const char *id;
  if (!bf_jingle_attr_string (el, "id", BF_JINGLE_MAX_SID, &id, error))
    return NULL;
  if (id == NULL || *id == '\0')
    {
      bf_jingle_bad_request (error, "<%s/> without an 'id'", type_names[type]);
      return NULL;
    }

  g_autoptr (BfJmi) jmi = bf_jmi_new ((BfJmiType) type, id);
  bf_stanza_iter_init (&it, el);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *cname = bf_stanza_get_name (child);
      const char *ns = bf_stanza_get_ns (child);
      if (jmi->type == BF_JMI_PROPOSE && strcmp (cname, "description") == 0
          && g_strcmp0 (ns, BF_NS_JINGLE_MESSAGE) != 0)
        {
          const char *media;
          if (jmi->descriptions->len >= BF_JMI_MAX_DESCRIPTIONS)
            {
              bf_jingle_bad_request (error, "more than %u descriptions in one propose",
                                     BF_JMI_MAX_DESCRIPTIONS);
              return NULL;
            }
          if (ns == NULL || strlen (ns) > BF_JINGLE_MAX_STRING)
            {
              bf_jingle_bad_request (error, "propose description has no usable namespace");
              return NULL;
            }
          if (!bf_jingle_attr_string (child, "media", 64, &media, error))
            return NULL;
          bf_jmi_add_description (jmi, ns, media);
        }
      else if (has_reason (jmi->type) && strcmp (cname, "reason") == 0
               && g_strcmp0 (ns, BF_NS_JINGLE) == 0 && jmi->reason == NULL)
        {
          jmi->reason = bf_jingle_reason_parse (child, error);
          if (jmi->reason == NULL)
            return NULL;
        }
      else if (has_tie_break (jmi->type) && strcmp (cname, "tie-break") == 0
               && g_strcmp0 (ns, BF_NS_JINGLE_MESSAGE) == 0)
        jmi->tie_break = TRUE;
      else if (jmi->type == BF_JMI_FINISH && strcmp (cname, "migrated") == 0
               && g_strcmp0 (ns, BF_NS_JINGLE_MESSAGE) == 0 && jmi->migrated_to == NULL)
        {
          const char *to;
          if (!bf_jingle_attr_string (child, "to", BF_JINGLE_MAX_SID, &to, error))
            return NULL;
          if (to == NULL || *to == '\0')
            {
              bf_jingle_bad_request (error, "<migrated/> without a 'to'");
              return NULL;
            }
          jmi->migrated_to = g_strdup (to);
        }
    }
  jmi->receipt_request = bf_stanza_find_child (message, "request", BF_NS_RECEIPTS) != NULL;
  /* §3.1: "The <propose/> element MUST contain one <description/> element
   * for each media type associated with the intended session." */
  if (jmi->type == BF_JMI_PROPOSE && jmi->descriptions->len == 0)
    {
      bf_jingle_bad_request (error, "<propose/> without a <description/>");
      return NULL;
    }
  return g_steal_pointer (&jmi);
}

BfStanza *
bf_jmi_build (const BfJmi *jmi, const char *from, const char *to, const char *id)
{
  g_return_val_if_fail (jmi != NULL && jmi->id != NULL, NULL);
  BfStanza *msg = bf_stanza_new ("message", NULL);
  if (from)
    bf_stanza_set_attr (msg, "from", from);
  if (to)
    bf_stanza_set_attr (msg, "to", to);
  if (id)
    bf_stanza_set_attr (msg, "id", id);
  /* §3: "MUST be of type="chat" and contain ... <store/> hints". */
  bf_stanza_set_attr (msg, "type", "chat");

  BfStanza *el = bf_stanza_add_child (msg, bf_jmi_type_to_string (jmi->type),
                                      BF_NS_JINGLE_MESSAGE);
  bf_stanza_set_attr (el, "id", jmi->id);
  if (jmi->type == BF_JMI_PROPOSE)
    for (guint i = 0; i < jmi->descriptions->len; i++)
      {
        const BfJmiDescription *d = g_ptr_array_index (jmi->descriptions, i);
        BfStanza *desc = bf_stanza_add_child (el, "description", d->ns);
        if (d->media)
          bf_stanza_set_attr (desc, "media", d->media);
      }
  if (has_reason (jmi->type) && jmi->reason)
    bf_jingle_reason_build (el, jmi->reason, BF_NS_JINGLE);
  if (has_tie_break (jmi->type) && jmi->tie_break)
    bf_stanza_add_child (el, "tie-break", NULL);
  if (jmi->type == BF_JMI_FINISH && jmi->migrated_to)
    bf_stanza_set_attr (bf_stanza_add_child (el, "migrated", NULL), "to", jmi->migrated_to);
  if (jmi->receipt_request)
    bf_stanza_add_child (msg, "request", BF_NS_RECEIPTS);
  bf_stanza_add_child (msg, "store", BF_NS_HINTS);
  return msg;
}

BfStanza *
bf_jmi_build_receipt (const char *from, const char *to, const char *id, const char *received_id)
{
  g_return_val_if_fail (received_id != NULL, NULL);
  BfStanza *msg = bf_stanza_new ("message", NULL);
  if (from)
    bf_stanza_set_attr (msg, "from", from);
  if (to)
    bf_stanza_set_attr (msg, "to", to);
  if (id)
    bf_stanza_set_attr (msg, "id", id);
  bf_stanza_set_attr (msg, "type", "chat");
  bf_stanza_set_attr (bf_stanza_add_child (msg, "received", BF_NS_RECEIPTS), "id", received_id);
  bf_stanza_add_child (msg, "store", BF_NS_HINTS);
  return msg;
}

const char *
bf_jmi_receipt_id (const BfStanza *message)
{
  g_return_val_if_fail (message != NULL, NULL);
  if (g_strcmp0 (bf_stanza_get_name (message), "message") != 0)
    return NULL;
  BfStanza *r = bf_stanza_find_child (message, "received", BF_NS_RECEIPTS);
  return r ? bf_stanza_get_attr (r, "id") : NULL;
}
