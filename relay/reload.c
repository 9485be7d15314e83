#define G_LOG_DOMAIN "belfry"
/* Configuration reload (reload.h). */
#include "build-config.h"

#include <string.h>

#include "reload.h"

typedef struct {
  char *group;
  char **keys;
  BfReloadFunc func;
  gpointer data;
} Entry;

struct _BfReload {
  const BfConfig *running;
  BfModules *modules;
  GPtrArray *entries;   /* Entry* */
};
/* A refused key keeps the value belfry started with, so refusals are
 * found by comparing with @running's file: a change refused once is
 * reported again at every reload until it is undone or belfry restarts. */

static void
entry_free (gpointer data)
{
  Entry *e = data;
  g_free (e->group);
  g_strfreev (e->keys);
  g_free (e);
}

BfReload *
bf_reload_new (const BfConfig *running, BfModules *modules)
{
  BfReload *r = g_new0 (BfReload, 1);
  r->running = running;
  r->modules = modules;
  r->entries = g_ptr_array_new_with_free_func (entry_free);
  return r;
}

void
bf_reload_free (BfReload *reload)
{
  if (reload == NULL)
    return;
  g_ptr_array_unref (reload->entries);
  g_free (reload);
}

void
bf_reload_register (BfReload *reload, const char *group, const char *const *keys,
                    BfReloadFunc func, gpointer data)
{
  Entry *e = g_new0 (Entry, 1);
  e->group = g_strdup (group);
  e->keys = g_strdupv ((char **) keys);
  e->func = func;
  e->data = data;
  g_ptr_array_add (reload->entries, e);
}

static gboolean
is_live (BfReload *r, const char *group, const char *key)
{
  for (guint i = 0; i < r->entries->len; i++)
    {
      const Entry *e = g_ptr_array_index (r->entries, i);
      if (strcmp (e->group, group) == 0 && g_strv_contains ((const char *const *) e->keys, key))
        return TRUE;
    }
  BfModule *mod = NULL;
  for (guint i = 0; i < bf_modules_count (r->modules); i++)
    if (strcmp (bf_module_get_name (bf_modules_nth (r->modules, i)), group) == 0)
      mod = bf_modules_nth (r->modules, i);
  /* A module that reloads decides about its whole group itself. */
  return mod != NULL && bf_module_get_reload_func (mod) != NULL;
}

static void
add_keys (GKeyFile *kf, const char *group, GPtrArray *into)
{
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++)
    if (!g_ptr_array_find_with_equal_func (into, keys[i], g_str_equal, NULL))
      g_ptr_array_add (into, g_strdup (keys[i]));
}

/* "[group] key" for each key whose text differs from the running file's
 * and that nobody changes live.  Values are never shown: the secret is
 * one of them. */
static GPtrArray *
refused_changes (BfReload *r, const BfConfig *next)
{
  GPtrArray *refused = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) old_groups = g_key_file_get_groups (r->running->keyfile, NULL);
  g_auto (GStrv) new_groups = g_key_file_get_groups (next->keyfile, NULL);
  for (guint i = 0; old_groups[i]; i++)
    g_ptr_array_add (groups, g_strdup (old_groups[i]));
  for (guint i = 0; new_groups[i]; i++)
    if (!g_ptr_array_find_with_equal_func (groups, new_groups[i], g_str_equal, NULL))
      g_ptr_array_add (groups, g_strdup (new_groups[i]));
  for (guint i = 0; i < groups->len; i++)
    {
      const char *group = g_ptr_array_index (groups, i);
      g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
      add_keys (r->running->keyfile, group, keys);
      add_keys (next->keyfile, group, keys);
      for (guint k = 0; k < keys->len; k++)
        {
          const char *key = g_ptr_array_index (keys, k);
          g_autofree char *was = g_key_file_get_value (r->running->keyfile, group, key, NULL);
          g_autofree char *now = g_key_file_get_value (next->keyfile, group, key, NULL);
          if (g_strcmp0 (was, now) != 0 && !is_live (r, group, key))
            g_ptr_array_add (refused, g_strdup_printf ("[%s] %s", group, key));
        }
    }
  return refused;
}

gboolean
bf_reload_run (BfReload *r)
{
  g_message ("reload: reading %s", r->running->path);
  g_autoptr (GError) error = NULL;
  g_autoptr (BfConfig) next = bf_config_load (r->running->path, &error);
  if (next == NULL)
    {
      g_warning ("reload refused, nothing changed: %s", error->message);
      return FALSE;
    }
  /* Check everything first: a bad value anywhere changes nothing. */
  for (guint i = 0; i < r->entries->len; i++)
    {
      const Entry *e = g_ptr_array_index (r->entries, i);
      g_autoptr (BfConfigGroup) g = bf_config_group_new (next, e->group);
      if (!e->func (e->data, g, FALSE, NULL, &error))
        {
          g_warning ("reload refused, nothing changed: %s", error->message);
          return FALSE;
        }
    }
  g_autoptr (GPtrArray) refused = refused_changes (r, next);
  for (guint i = 0; i < refused->len; i++)
    g_warning ("reload: %s changed: needs a restart; the running value stays",
               (const char *) g_ptr_array_index (refused, i));

  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < r->entries->len; i++)
    {
      const Entry *e = g_ptr_array_index (r->entries, i);
      g_autoptr (BfConfigGroup) g = bf_config_group_new (next, e->group);
      if (!e->func (e->data, g, TRUE, changes, &error))
        {
          /* Checked above: only a reader that cannot check first gets here. */
          g_warning ("reload: %s", error->message);
          g_clear_error (&error);
        }
    }
  for (guint i = 0; i < bf_modules_count (r->modules); i++)
    {
      BfModule *mod = bf_modules_nth (r->modules, i);
      BfModuleReloadFunc func = bf_module_get_reload_func (mod);
      if (func == NULL)
        continue;
      g_autoptr (BfConfigGroup) g = bf_config_group_new (next, bf_module_get_name (mod));
      if (!func (mod, g, &error))
        {
          g_warning ("reload: %s (the module keeps its running settings)", error->message);
          g_clear_error (&error);
        }
    }
  for (guint i = 0; i < changes->len; i++)
    g_message ("reload: %s", (const char *) g_ptr_array_index (changes, i));
  if (changes->len == 0)
    g_message ("reload: done; no live setting changed%s", refused->len ? " (some refused)" : "");
  else
    g_message ("reload: done; %u change%s%s", changes->len, changes->len == 1 ? "" : "s",
               refused->len ? " (some refused)" : "");
  return TRUE;
}
