/* The module loader and the module API (modules.h, belfry/module.h). */
#define G_LOG_DOMAIN "belfry-module"
#include "build-config.h"

#include <string.h>
#include <gmodule.h>

#include "modules.h"
#include "caps.h"
#include "disco.h"



struct _BfModule {
  BfModules *owner;
  const BfModuleInfo *info;
  GModule *gmodule;           /* NULL for a static module */
  char *path;
  BfConfigGroup *config;
  gboolean initialized;
  gpointer data;
  GDestroyNotify data_destroy;
  BfModuleReloadFunc reload;
  BfModuleLocalpartFunc claim;      /* bf_module_set_localpart_func */
  BfModuleDiscoItemsFunc items;     /* bf_module_set_disco_items_func */
};

struct _BfModules {
  const BfConfig *config;
  GPtrArray *list;            /* BfModule*, in load order */
  BfSendFunc send;
  gpointer send_data;
  BfSessions *sessions;       /* not owned (bf_modules_set_sessions) */
  /* "bare from\nbare to" -> Announced: the available presence modules sent,
   * sent again after a re-attach (bf_modules_reannounce). */
  GHashTable *announced;
  gboolean announced_full_logged;
};

/* The server forgets a component's presence when it restarts, and a client
 * that logged in again before belfry re-attached had its probe bounced:
 * it shows the address offline (and without caps, no call button) until it
 * probes again.  Bounded: a contact beyond this many is not re-announced. */
#define ANNOUNCED_MAX 10000

typedef struct {
  BfModule *module;
  char *from;                 /* as the module sent it (with its resource) */
  char *to;                   /* bare */
} Announced;

static void
announced_free (Announced *a)
{
  g_free (a->from);
  g_free (a->to);
  g_free (a);
}

BfModules *
bf_modules_new (const BfConfig *config, BfSendFunc send, gpointer send_data)
{
  BfModules *m = g_new0 (BfModules, 1);
  m->config = config;
  m->send = send;
  m->send_data = send_data;
  m->list = g_ptr_array_new ();
  m->announced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) announced_free);
  return m;
}

static void
module_free (BfModule *mod)
{
  if (mod->info && mod->info->shutdown)
    mod->info->shutdown (mod);
  if (mod->data_destroy)
    mod->data_destroy (mod->data);
  bf_config_group_free (mod->config);
  if (mod->gmodule)
    g_module_close (mod->gmodule);
  g_free (mod->path);
  g_free (mod);
}

void
bf_modules_free (BfModules *modules)
{
  if (modules == NULL)
    return;
  for (guint i = modules->list->len; i > 0; i--)
    module_free (g_ptr_array_index (modules->list, i - 1));
  g_ptr_array_unref (modules->list);
  g_hash_table_unref (modules->announced);
  g_free (modules);
}

char **
bf_modules_default_path (void)
{
  GPtrArray *dirs = g_ptr_array_new ();
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe)
    {
      /* Build tree: build/relay/belfry beside build/modules/<name>/. */
      g_autofree char *exe_dir = g_path_get_dirname (exe);
      g_ptr_array_add (dirs, g_build_filename (exe_dir, "..", "modules", NULL));
    }
  g_ptr_array_add (dirs, g_strdup (BF_MODULEDIR));
  g_ptr_array_add (dirs, NULL);
  return (char **) g_ptr_array_free (dirs, FALSE);
}

static char *
find_module_file (const BfConfig *config, const char *name, GString *tried)
{
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  g_auto (GStrv) defaults = NULL;
  char **dirs = config->module_path;
  gboolean build_tree = FALSE;
  if (dirs == NULL)
    {
      defaults = bf_modules_default_path ();
      dirs = defaults;
      build_tree = TRUE;
    }
  for (guint i = 0; dirs[i]; i++)
    {
      g_autofree char *candidate = g_build_filename (dirs[i], file, NULL);
      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&candidate);
      g_string_append_printf (tried, "%s%s", tried->len ? ", " : "", candidate);
      /* In the build tree each module sits in its own folder. */
      if (build_tree && i == 0)
        {
          g_autofree char *nested = g_build_filename (dirs[i], name, file, NULL);
          if (g_file_test (nested, G_FILE_TEST_IS_REGULAR))
            return g_steal_pointer (&nested);
          g_string_append_printf (tried, ", %s", nested);
        }
    }
  return NULL;
}

static void G_GNUC_PRINTF (3, 4)
module_error (const BfConfig *config, GError **error, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_MODULE, "%s: [modules] load: %s",
               config->path, msg);
}

/* The module that lists @localpart exactly, or NULL. */
static BfModule *
find_listed (BfModules *modules, const char *localpart)
{
  for (guint i = 0; i < modules->list->len; i++)
    {
      BfModule *mod = g_ptr_array_index (modules->list, i);
      if (mod->info->localparts && g_strv_contains (mod->info->localparts, localpart))
        return mod;
    }
  return NULL;
}

static gboolean
check_info (BfModules *modules, const BfModuleInfo *info, const char *name,
            const char *where, GError **error)
{
  if (info->api_version != BF_MODULE_API_VERSION)
    {
      module_error (modules->config, error,
                    "module '%s' (%s) was built against module API version %u, but this "
                    "belfry provides version %u: rebuild the module against this belfry",
                    name, where, info->api_version, BF_MODULE_API_VERSION);
      return FALSE;
    }
  if (info->name == NULL || g_strcmp0 (info->name, name) != 0)
    {
      module_error (modules->config, error, "module file %s calls itself '%s', not '%s'",
                    where, info->name ? info->name : "(null)", name);
      return FALSE;
    }
  for (guint i = 0; info->localparts && info->localparts[i]; i++)
    {
      const char *lp = info->localparts[i];
      if (strcmp (lp, BF_MODULE_ANY_LOCALPART) == 0)
        {
          for (guint k = 0; k < modules->list->len; k++)
            {
              BfModule *other = g_ptr_array_index (modules->list, k);
              if (other->info->localparts
                  && g_strv_contains (other->info->localparts, BF_MODULE_ANY_LOCALPART))
                {
                  module_error (modules->config, error,
                                "modules '%s' and '%s' both take every address (localpart *)",
                                other->info->name, name);
                  return FALSE;
                }
            }
          continue;
        }
      g_autofree char *jid = g_strconcat (lp, "@x", NULL);
      g_autofree char *check = NULL;
      if (!bf_jid_split (jid, &check, NULL, NULL) || check == NULL || strcmp (check, lp) != 0)
        {
          module_error (modules->config, error, "module '%s' serves an invalid localpart '%s'",
                        name, lp);
          return FALSE;
        }
      /* Only an exact listing conflicts: "*" and claims yield to it, in
       * whatever order the modules load. */
      BfModule *other = find_listed (modules, lp);
      if (other)
        {
          module_error (modules->config, error,
                        "modules '%s' and '%s' both serve the address %s@%s", other->info->name,
                        name, lp, modules->config->jid);
          return FALSE;
        }
    }
  for (guint i = 0; info->domain_namespaces && info->domain_namespaces[i]; i++)
    {
      BfModule *other = bf_modules_find_domain_ns (modules, info->domain_namespaces[i]);
      if (other)
        {
          module_error (modules->config, error, "modules '%s' and '%s' both handle %s",
                        other->info->name, name, info->domain_namespaces[i]);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
add_module (BfModules *modules, BfModule *mod, GError **error)
{
  g_ptr_array_add (modules->list, mod);
  mod->config = bf_config_group_new (modules->config, mod->info->name);
  if (mod->info->init)
    {
      g_autoptr (GError) local = NULL;
      if (!mod->info->init (mod, mod->config, &local))
        {
          if (local == NULL)
            bf_config_set_error (mod->config, &local, "init",
                                 "module '%s' failed to start without saying why",
                                 mod->info->name);
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  mod->initialized = TRUE;
  return bf_config_group_check_unknown (mod->config, error);
}

gboolean
bf_modules_add_static (BfModules *modules, const BfModuleInfo *info, GError **error)
{
  if (!check_info (modules, info, info->name, "built in", error))
    return FALSE;
  BfModule *mod = g_new0 (BfModule, 1);
  mod->owner = modules;
  mod->info = info;
  mod->path = g_strdup ("(built in)");
  return add_module (modules, mod, error);
}

static gboolean
load_one (BfModules *modules, const char *name, GError **error)
{
  g_autoptr (GString) tried = g_string_new (NULL);
  g_autofree char *path = find_module_file (modules->config, name, tried);
  if (path == NULL)
    {
      module_error (modules->config, error, "no module '%s' (looked for %s)", name, tried->str);
      return FALSE;
    }
  GModule *gmodule = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (gmodule == NULL)
    {
      module_error (modules->config, error, "cannot load module '%s': %s", name,
                    g_module_error ());
      return FALSE;
    }
  gpointer symbol = NULL;
  if (!g_module_symbol (gmodule, "bf_module_get_info", &symbol) || symbol == NULL)
    {
      module_error (modules->config, error,
                    "%s is not a belfry module (it has no bf_module_get_info)", path);
      g_module_close (gmodule);
      return FALSE;
    }
  const BfModuleInfo *(*get_info) (void) = (const BfModuleInfo *(*) (void)) symbol;
  const BfModuleInfo *info = get_info ();
  if (info == NULL || !check_info (modules, info, name, path, error))
    {
      if (info == NULL)
        module_error (modules->config, error, "%s returned no module description", path);
      g_module_close (gmodule);
      return FALSE;
    }
  BfModule *mod = g_new0 (BfModule, 1);
  mod->owner = modules;
  mod->info = info;
  mod->gmodule = gmodule;
  mod->path = g_steal_pointer (&path);
  g_info ("loaded module %s from %s", name, mod->path);
  return add_module (modules, mod, error);
}

gboolean
bf_modules_load_all (BfModules *modules, GError **error)
{
  for (guint i = 0; modules->config->modules[i]; i++)
    if (!load_one (modules, modules->config->modules[i], error))
      return FALSE;
  return TRUE;
}

gboolean
bf_modules_start (BfModules *modules, GError **error)
{
  for (guint i = 0; i < modules->list->len; i++)
    {
      BfModule *mod = g_ptr_array_index (modules->list, i);
      if (mod->info->start && !mod->info->start (mod, error))
        {
          g_prefix_error (error, "module %s: ", mod->info->name);
          return FALSE;
        }
    }
  return TRUE;
}

void
bf_module_set_reload_func (BfModule *module, BfModuleReloadFunc func)
{
  module->reload = func;
}

BfModuleReloadFunc
bf_module_get_reload_func (BfModule *module)
{
  return module->reload;
}

void
bf_module_set_localpart_func (BfModule *module, BfModuleLocalpartFunc func)
{
  module->claim = func;
}

void
bf_module_set_disco_items_func (BfModule *module, BfModuleDiscoItemsFunc func)
{
  module->items = func;
}

static gboolean is_module_address (BfModule *module, const char *jid);

struct _BfDiscoItems {
  BfModule *module;
  BfStanza *query;      /* the disco#items <query/> being answered */
  guint *count;         /* items in it so far, all modules together */
  const char *from;     /* who asked */
};

const char *
bf_disco_items_get_from (BfDiscoItems *items)
{
  g_return_val_if_fail (items != NULL, NULL);
  return items->from;
}

gboolean
bf_disco_items_add (BfDiscoItems *items, const char *jid, const char *name)
{
  g_return_val_if_fail (items != NULL && jid != NULL, FALSE);
  if (*items->count >= BF_DISCO_ITEMS_MAX)
    return FALSE;
  if (!is_module_address (items->module, jid))
    {
      g_warning ("module %s listed %s in disco#items: not one of its addresses",
                 items->module->info->name, jid);
      return TRUE;
    }
  BfStanza *item = bf_stanza_add_child (items->query, "item", NULL);
  bf_stanza_set_attr (item, "jid", jid);
  if (name)
    bf_stanza_set_attr (item, "name", name);
  (*items->count)++;
  return TRUE;
}

void
bf_module_add_disco_items (BfModule *module, const char *from, BfStanza *query, guint *count)
{
  if (module->items == NULL || *count >= BF_DISCO_ITEMS_MAX)
    return;
  BfDiscoItems items = { module, query, count, from };
  module->items (module, &items);
}

guint
bf_modules_count (BfModules *modules)
{
  return modules->list->len;
}

BfModule *
bf_modules_nth (BfModules *modules, guint index)
{
  return index < modules->list->len ? g_ptr_array_index (modules->list, index) : NULL;
}

BfModule *
bf_modules_find_localpart (BfModules *modules, const char *localpart)
{
  /* An exact listing wins, then a module's claim, then "*" (module.h). */
  BfModule *mod = find_listed (modules, localpart);
  if (mod)
    return mod;
  for (guint i = 0; i < modules->list->len; i++)
    {
      mod = g_ptr_array_index (modules->list, i);
      if (mod->claim && mod->initialized && mod->claim (mod, localpart))
        return mod;
    }
  for (guint i = 0; i < modules->list->len; i++)
    {
      mod = g_ptr_array_index (modules->list, i);
      if (mod->info->localparts
          && g_strv_contains (mod->info->localparts, BF_MODULE_ANY_LOCALPART))
        return mod;
    }
  return NULL;
}

BfModule *
bf_modules_find_domain_ns (BfModules *modules, const char *ns)
{
  for (guint i = 0; i < modules->list->len; i++)
    {
      BfModule *mod = g_ptr_array_index (modules->list, i);
      if (mod->info->domain_namespaces && g_strv_contains (mod->info->domain_namespaces, ns))
        return mod;
    }
  return NULL;
}

const BfModuleInfo *
bf_module_get_info_struct (BfModule *module)
{
  return module->info;
}

gboolean
bf_module_handle (BfModule *module, const BfStanza *stanza)
{
  if (module->info->handle_stanza == NULL)
    return FALSE;
  return module->info->handle_stanza (module, stanza);
}

static gboolean
modules_send (BfModules *modules, const BfStanza *stanza)
{
  return modules->send != NULL && modules->send (modules->send_data, stanza);
}

void
bf_modules_set_sessions (BfModules *modules, BfSessions *sessions)
{
  modules->sessions = sessions;
}

BfSessions *
bf_module_get_sessions (BfModule *module)
{
  return module->owner->sessions;
}

/* --- the module API --- */

const char *
bf_module_get_domain (BfModule *module)
{
  return module->owner->config->jid;
}

const char *
bf_module_get_node_domain (BfModule *module)
{
  const BfConfig *c = module->owner->config;
  return c->node_jid ? c->node_jid : c->jid;
}

const char *
bf_module_get_rooms_domain (BfModule *module)
{
  const BfConfig *c = module->owner->config;
  return c->rooms_jid ? c->rooms_jid : c->jid;
}

const char *
bf_module_get_server_domain (BfModule *module)
{
  return module->owner->config->parent_domain;
}

const char *
bf_module_get_name (BfModule *module)
{
  return module->info->name;
}

void
bf_module_set_data (BfModule *module, gpointer data, GDestroyNotify destroy)
{
  if (module->data_destroy && module->data != data)
    module->data_destroy (module->data);
  module->data = data;
  module->data_destroy = destroy;
}

gpointer
bf_module_get_data (BfModule *module)
{
  return module->data;
}

gboolean
bf_module_send (BfModule *module, const BfStanza *stanza)
{
  g_return_val_if_fail (module != NULL && stanza != NULL, FALSE);
  if (bf_stanza_get_attr (stanza, "to") == NULL)
    {
      g_warning ("module %s sent a <%s/> without 'to': dropped", module->info->name,
                 bf_stanza_get_name (stanza));
      return FALSE;
    }
  if (bf_stanza_get_attr (stanza, "from") != NULL)
    return modules_send (module->owner, stanza);
  g_autoptr (BfStanza) copy = bf_stanza_copy (stanza);
  const char *lp = module->info->localparts ? module->info->localparts[0] : NULL;
  if (lp && strcmp (lp, BF_MODULE_ANY_LOCALPART) == 0)
    lp = NULL;
  g_autofree char *from = lp ? g_strconcat (lp, "@", bf_module_get_domain (module), NULL)
                             : g_strdup (bf_module_get_domain (module));
  bf_stanza_set_attr (copy, "from", from);
  return modules_send (module->owner, copy);
}

gboolean
bf_module_send_error (BfModule *module, const BfStanza *request, const char *error_type,
                      const char *condition, const char *text)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_error (request, error_type, condition, text);
  return bf_module_send (module, reply);
}

/* RFC 6121 §4.7.1 presence types a module may send; errors go through
 * bf_module_send_error(). */
static const char *const presence_types[] = {
  "unavailable", "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe", NULL
};

/* TRUE when @jid (bare or full) is an address the router hands to @module. */
static gboolean
is_module_address (BfModule *module, const char *jid)
{
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (jid, &local, &domain, NULL) || local == NULL)
    return FALSE;
  g_autofree char *ours = g_ascii_strdown (bf_module_get_domain (module), -1);
  return strcmp (domain, ours) == 0
         && bf_modules_find_localpart (module->owner, local) == module;
}

static void remember_presence (BfModule *module, const char *from, const char *to,
                               const char *type);

gboolean
bf_module_send_presence (BfModule *module, const char *from, const char *to,
                         const char *type)
{
  g_return_val_if_fail (module != NULL, FALSE);
  if (from == NULL || !is_module_address (module, from))
    {
      g_warning ("module %s sent presence from %s, not one of its addresses: dropped",
                 module->info->name, from ? from : "(none)");
      return FALSE;
    }
  if (to == NULL)
    {
      g_warning ("module %s sent presence without 'to': dropped", module->info->name);
      return FALSE;
    }
  if (type && !g_strv_contains (presence_types, type))
    {
      g_warning ("module %s sent presence of type '%s': dropped", module->info->name, type);
      return FALSE;
    }
  g_autoptr (BfStanza) presence = bf_stanza_new ("presence", NULL);
  bf_stanza_set_attr (presence, "from", from);
  bf_stanza_set_attr (presence, "to", to);
  if (type)
    bf_stanza_set_attr (presence, "type", type);
  else
    {
      /* Every address of a module has the same disco#info, so one hash
       * serves them all; the router answers its node (router.c). */
      g_autoptr (BfStanza) query = bf_disco_address_info (module->info);
      g_autofree char *ver = bf_caps_ver (query);
      bf_stanza_append (presence, bf_caps_new_element (ver));
    }
  remember_presence (module, from, to, type);
  return bf_module_send (module, presence);
}

static char *
bare_of (const char *jid)
{
  g_autofree char *local = NULL, *domain = NULL;
  if (!bf_jid_split (jid, &local, &domain, NULL))
    return NULL;
  return local ? g_strconcat (local, "@", domain, NULL) : g_steal_pointer (&domain);
}

/* Available presence is remembered for bf_modules_reannounce; unavailable
 * and unsubscribed forget it. */
static void
remember_presence (BfModule *module, const char *from, const char *to, const char *type)
{
  BfModules *m = module->owner;
  g_autofree char *bare_from = bare_of (from);
  g_autofree char *bare_to = bare_of (to);
  if (bare_from == NULL || bare_to == NULL)
    return;
  g_autofree char *key = g_strconcat (bare_from, "\n", bare_to, NULL);
  if (type != NULL)
    {
      if (strcmp (type, "unavailable") == 0 || strcmp (type, "unsubscribed") == 0)
        g_hash_table_remove (m->announced, key);
      return;
    }
  if (!g_hash_table_contains (m->announced, key)
      && g_hash_table_size (m->announced) >= ANNOUNCED_MAX)
    {
      if (!m->announced_full_logged)
        g_message ("presence sent to more than %d contacts: the rest will not be "
                   "re-announced after a server restart", ANNOUNCED_MAX);
      m->announced_full_logged = TRUE;
      return;
    }
  Announced *a = g_new0 (Announced, 1);
  a->module = module;
  a->from = g_strdup (from);
  a->to = g_steal_pointer (&bare_to);
  g_hash_table_replace (m->announced, g_steal_pointer (&key), a);
}

guint
bf_modules_reannounce (BfModules *modules)
{
  /* Copied first: sending remembers each one again. */
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) announced_free);
  GHashTableIter iter;
  Announced *a;
  g_hash_table_iter_init (&iter, modules->announced);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &a))
    {
      Announced *copy = g_new0 (Announced, 1);
      copy->module = a->module;
      copy->from = g_strdup (a->from);
      copy->to = g_strdup (a->to);
      g_ptr_array_add (list, copy);
    }
  for (guint i = 0; i < list->len; i++)
    {
      Announced *c = g_ptr_array_index (list, i);
      bf_module_send_presence (c->module, c->from, c->to, NULL);
    }
  return list->len;
}
