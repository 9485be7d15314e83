/* hello — a minimal out-of-tree belfry module.
 *
 * Serves hello@<domain>.  Every <message> to it that has a <body> is
 * answered with a message whose body is "<greeting>, <sender's bare JID>".
 * Everything else (iq, presence, messages without a body) is left to the
 * core, which answers disco queries for the address and errors otherwise.
 *
 * Configuration (optional), in belfry's config file:
 *
 *     [hello]
 *     greeting = Hello
 *
 * Built only against the installed headers: see meson.build in this
 * directory.  The bf_* functions are resolved from the belfry executable
 * when the module is loaded; the module links against GLib only.
 */
#define G_LOG_DOMAIN "belfry-hello"

#include <belfry/module.h>

typedef struct {
  char *greeting;
} Hello;

static void
hello_free (gpointer data)
{
  Hello *self = data;

  g_free (self->greeting);
  g_free (self);
}

static gboolean
hello_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  Hello *self;
  char *greeting;

  greeting = bf_config_get_string (config, "greeting", "Hello", error);
  if (greeting == NULL)
    return FALSE;
  if (greeting[0] == '\0')
    {
      bf_config_set_error (config, error, "greeting", "must not be empty");
      g_free (greeting);
      return FALSE;
    }

  self = g_new0 (Hello, 1);
  self->greeting = greeting;
  bf_module_set_data (module, self, hello_free);
  return TRUE;
}

static gboolean
hello_handle_stanza (BfModule *module, const BfStanza *stanza)
{
  Hello *self = bf_module_get_data (module);
  const char *from, *type, *body, *thread;
  char *local = NULL, *domain = NULL, *bare, *text;
  BfStanza *reply;

  if (g_strcmp0 (bf_stanza_get_name (stanza), "message") != 0)
    return FALSE;
  /* Never answer an error (RFC 6120 §8.3.1): drop it deliberately. */
  type = bf_stanza_get_attr (stanza, "type");
  if (g_strcmp0 (type, "error") == 0)
    return TRUE;
  body = bf_stanza_find_child_text (stanza, "body", NULL);
  from = bf_stanza_get_attr (stanza, "from");
  if (body == NULL || from == NULL)
    return FALSE;
  if (!bf_jid_split (from, &local, &domain, NULL))
    return FALSE;

  bare = local != NULL ? g_strdup_printf ("%s@%s", local, domain)
                       : g_strdup (domain);
  text = g_strdup_printf ("%s, %s", self->greeting, bare);

  /* Same type (chat, normal, ...) and thread as the request, so that the
   * answer lands in the same conversation; from/to swapped. */
  reply = bf_stanza_new ("message", NULL);
  bf_stanza_set_attr (reply, "to", from);
  bf_stanza_set_attr (reply, "from", bf_stanza_get_attr (stanza, "to"));
  if (type != NULL)
    bf_stanza_set_attr (reply, "type", type);
  bf_stanza_add_text_child (reply, "body", NULL, text);
  thread = bf_stanza_find_child_text (stanza, "thread", NULL);
  if (thread != NULL)
    bf_stanza_add_text_child (reply, "thread", NULL, thread);

  /* On failure the core has logged why and dropped the stanza. */
  bf_module_send (module, reply);

  bf_stanza_free (reply);
  g_free (text);
  g_free (bare);
  g_free (local);
  g_free (domain);
  return TRUE;
}

static const char *const hello_localparts[] = { "hello", NULL };
static const char *const hello_features[] = { "urn:belfry:hello:0", NULL };

static const BfModuleInfo hello_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "hello",
  .description = "Says hello",
  .localparts = hello_localparts,
  .identity = NULL,
  .features = hello_features,
  .init = hello_init,
  .handle_stanza = hello_handle_stanza,
};

BF_MODULE_DEFINE (hello_info)
