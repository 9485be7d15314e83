/* conference — reading a submitted room configuration form (XEP-0004,
 * the XEP-0050 node urn:xmpp:av-conferences:config, room-config.h): the
 * one place hostile form input is read, so it is pure code with a fuzz
 * target (tests/fuzz/fuzz-conference-config-form.c).
 *
 * Bounds: at most CF_CONFIG_MAX_FIELDS fields, CF_CONFIG_MAX_VALUES values
 * in one, CF_CONFIG_MAX_VALUE bytes in a value; anything past them is a
 * <bad-request/>, never read further.
 *
 * Thread rule: pure code, no state: any thread (the main thread uses it).
 */
#pragma once

#include <belfry/stanza.h>

G_BEGIN_DECLS

#define CF_NODE_CONFIG "urn:xmpp:av-conferences:config"                     /* XEP-0521 §6 */
#define CF_CONFIG_MAX_FIELDS 16
#define CF_CONFIG_MAX_VALUES 32
#define CF_CONFIG_MAX_VALUE 1024
#define CF_CONFIG_MAX_MODERATORS 32

typedef struct {
  gboolean has_record, record;
  gboolean has_max;
  guint max;                 /* 2..global_max */
  gboolean has_moderators;
  char **moderators;         /* bare JIDs, lower case; NULL-terminated, maybe empty */
} CfConfigValues;

/* Reads the submitted @form: TRUE with @out filled (clear it with
 * cf_config_values_clear), or FALSE with the error's *@type, *@condition
 * and *@text (static strings): malformed → modify/bad-request, out of
 * range → modify/not-acceptable, record=1 without @can_record →
 * cancel/not-acceptable.  Fields it does not know are skipped (XEP-0004). */
gboolean cf_config_form_parse (const BfStanza *form, guint global_max, gboolean can_record,
                               CfConfigValues *out, const char **type, const char **condition,
                               const char **text);
void cf_config_values_clear (CfConfigValues *values);

/* A XEP-0004 boolean field's value (XML Schema: "1", "true", "0",
 * "false") into @out; FALSE, @out untouched, for anything else or NULL. */
gboolean cf_form_parse_boolean (const char *value, gboolean *out);

G_END_DECLS
