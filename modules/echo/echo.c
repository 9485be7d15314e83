#define G_LOG_DOMAIN "belfry-echo"
/* The echo module: echo@<domain> sends every message body back to its
 * sender.  (The Jingle work turns it into a media echo.) */
#include <string.h>
#include <gmodule.h>
#include <belfry/module.h>

#define ECHO_FEATURE "urn:belfry:echo:0"

static gboolean
echo_handle (BfModule *module, const BfStanza *stanza)
{
  if (strcmp (bf_stanza_get_name (stanza), "message") != 0)
    return FALSE;
  const char *type = bf_stanza_get_attr (stanza, "type");
  /* Never answer errors: two echoes could bounce them forever. */
  if (g_strcmp0 (type, "error") == 0)
    return TRUE;
  const char *body = bf_stanza_find_child_text (stanza, "body", NULL);
  const char *from = bf_stanza_get_attr (stanza, "from");
  if (body == NULL || from == NULL)
    return TRUE;   /* chat states, receipts...: nothing to echo */

  g_autoptr (BfStanza) reply = bf_stanza_new_reply (stanza, type);
  bf_stanza_add_text_child (reply, "body", NULL, body);
  const char *thread = bf_stanza_find_child_text (stanza, "thread", NULL);
  if (thread)
    bf_stanza_add_text_child (reply, "thread", NULL, thread);
  bf_module_send (module, reply);
  return TRUE;
}

static const char *const echo_localparts[] = { "echo", NULL };
static const char *const echo_features[] = { ECHO_FEATURE, NULL };
static const BfDiscoIdentity echo_identity = { "component", "generic", "Echo test" };

static const BfModuleInfo echo_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "echo",
  .description = "Echo test",
  .localparts = echo_localparts,
  .identity = &echo_identity,
  .features = echo_features,
  .handle_stanza = echo_handle,
};

BF_MODULE_DEFINE (echo_info)
