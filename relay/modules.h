/* The module loader: finds, checks and loads the modules named in
 * [modules] load, runs their hooks, and implements the module API of
 * include/belfry/module.h. */
#pragma once

#include <belfry/module.h>
#include "config.h"
#include "send.h"

G_BEGIN_DECLS

typedef struct _BfModules BfModules;
typedef struct _BfSessions BfSessions;   /* sessions.h */

/* The modules' stanzas (bf_module_send) go out through @send (send.h). */
BfModules *bf_modules_new (const BfConfig *config, BfSendFunc send, gpointer send_data);
/* Loads and init()s every module in [modules] load, in order.  Errors are
 * BF_CONFIG_ERROR_MODULE and name the file, the group and the key. */
gboolean bf_modules_load_all (BfModules *modules, GError **error);
/* Adds a module that is linked in rather than loaded (tests, benchmarks). */
gboolean bf_modules_add_static (BfModules *modules, const BfModuleInfo *info, GError **error);
gboolean bf_modules_start (BfModules *modules, GError **error);
/* Shuts every module down (reverse order) and unloads it. */
void bf_modules_free (BfModules *modules);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfModules, bf_modules_free)

guint bf_modules_count (BfModules *modules);
BfModule *bf_modules_nth (BfModules *modules, guint index);
BfModule *bf_modules_find_localpart (BfModules *modules, const char *localpart);
BfModule *bf_modules_find_domain_ns (BfModules *modules, const char *ns);

const BfModuleInfo *bf_module_get_info_struct (BfModule *module);
gboolean bf_module_handle (BfModule *module, const BfStanza *stanza);
/* What the module registered with bf_module_set_reload_func (reload.c). */
BfModuleReloadFunc bf_module_get_reload_func (BfModule *module);
/* Adds @module's own disco#items (bf_module_set_disco_items_func) for
 * @from (who asked) to the domain's disco#items <query/> @query; @count:
 * the items in it so far, kept within BF_DISCO_ITEMS_MAX. */
void bf_module_add_disco_items (BfModule *module, const char *from, BfStanza *query,
                                guint *count);
/* Sends again every available presence the modules sent (to the contact's
 * bare JID) and did not take back: after a re-attach, as the server forgot
 * them.  Returns how many. */
guint bf_modules_reannounce (BfModules *modules);

/* The session manager the modules' session calls that name no session
 * reach (bf_session_place_offer): set by whoever made both (main.c) once
 * the manager exists, and cleared (NULL) before it is freed.  Typed, and
 * the only way from a module to its manager besides a session it holds. */
void bf_modules_set_sessions (BfModules *modules, BfSessions *sessions);
/* NULL when no manager runs (no module takes sessions, or it is going). */
BfSessions *bf_module_get_sessions (BfModule *module);

/* The directories searched for "<name>.so" when [modules] path is unset:
 * the build tree beside the executable, then the install directory. */
char **bf_modules_default_path (void);

G_END_DECLS
