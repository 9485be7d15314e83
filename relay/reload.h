/* Configuration reload (SIGHUP): re-reads the file belfry was started
 * with and applies the groups that can change while running; every other
 * change is refused by name and keeps its running value.  Nothing running
 * is dropped.
 *
 * Parts of belfry that can change live register a reader for their keys
 * (bf_reload_register); modules register through module.h
 * (bf_module_set_reload_func).  A reload is all-or-nothing for the core's
 * readers: each first checks the new values (a config error stops the
 * reload, naming file, group and key, and nothing changes), then all
 * apply.  Main thread. */
#pragma once

#include "config.h"
#include "modules.h"

G_BEGIN_DECLS

typedef struct _BfReload BfReload;

/* Called twice per reload: @apply FALSE to check @group of the new file
 * (fail with an error naming file, group and key), then @apply TRUE to
 * take it, appending one line per change to @changes (e.g. "[media]
 * max-sessions 1000 → 10"; @changes is NULL when checking). */
typedef gboolean (*BfReloadFunc) (gpointer data, BfConfigGroup *group, gboolean apply,
                                  GPtrArray *changes, GError **error);

/* @running (the configuration belfry started with) and @modules must
 * outlive the reloader. */
BfReload *bf_reload_new (const BfConfig *running, BfModules *modules);
void bf_reload_free (BfReload *reload);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfReload, bf_reload_free)

/* @keys (NULL-terminated) of @group are @func's to change; a change to
 * any other key of the group is refused. */
void bf_reload_register (BfReload *reload, const char *group, const char *const *keys,
                         BfReloadFunc func, gpointer data);

/* Re-reads the file and applies it; logs what changed and what was
 * refused.  FALSE (logged) when the new file has an error: then nothing
 * changed. */
gboolean bf_reload_run (BfReload *reload);

G_END_DECLS
