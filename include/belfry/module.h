/* belfry — the module API.
 *
 * A module is a shared object that exports one function,
 *
 *     const BfModuleInfo *bf_module_get_info (void);
 *
 * (use BF_MODULE_DEFINE below).  The core checks the API version the module
 * was built against, then calls init() with the module's own configuration
 * group ([<name>] in belfry's config file), start() once everything is
 * loaded, handle_stanza() on the main thread for every stanza addressed to
 * the module, and shutdown() before the process exits.
 *
 * A module reaches the core only through this header and stanza.h: it sends
 * stanzas, reads its configuration and logs (GLib's g_log with the domain
 * "belfry-<name>"; the core formats and filters it).  Everything runs on the
 * main thread's default GMainContext unless a later header says otherwise.
 */
#pragma once

#include <glib.h>
#include <gmodule.h>
#include <belfry/stanza.h>
#include <belfry/session.h>
#include <belfry/worker.h>

G_BEGIN_DECLS

/* Bumped whenever BfModuleInfo or any function below changes in a way that
 * breaks modules built against the previous version. */
#define BF_MODULE_API_VERSION 5

#define BF_MODULE_ANY_LOCALPART "*"

/* One group of the configuration file: a module reads its [name] group
 * (init(), reload) through it, as the core reads its own.  Called
 * BfModuleConfig before API 4. */
typedef struct _BfConfigGroup BfConfigGroup;

typedef struct {
  const char *category;
  const char *type;
  const char *name;
} BfDiscoIdentity;

typedef struct {
  /* Always BF_MODULE_API_VERSION at the module's build time; first field so
   * the core can read it from any version. */
  guint32 api_version;
  /* Short name: matches the [modules] load entry and its config group. */
  const char *name;
  /* One line for humans: shown as the disco#items name of its addresses. */
  const char *description;
  /* NULL-terminated localparts the module serves (echo -> echo@<domain>).
   * BF_MODULE_ANY_LOCALPART ("*") takes every address no other module
   * serves (one module at most); it is not listed in disco#items. */
  const char *const *localparts;
  /* The disco identity of its addresses (NULL: component/generic). */
  const BfDiscoIdentity *identity;
  /* NULL-terminated disco features of its addresses, also advertised on the
   * component's domain. */
  const char *const *features;
  /* Identities this module adds to the component's domain, terminated by an
   * entry whose category is NULL; may be NULL. */
  const BfDiscoIdentity *domain_identities;
  /* NULL-terminated IQ payload namespaces addressed to the bare domain that
   * this module answers (e.g. bytestreams for a proxy); may be NULL. */
  const char *const *domain_namespaces;

  /* Reads and checks the configuration; allocates state.  Must not start any
   * I/O: --check-config calls init() and then shutdown().  Optional. */
  gboolean (*init) (BfModule *module, BfConfigGroup *config, GError **error);
  /* Starts whatever the module runs (listeners, timers).  Optional. */
  gboolean (*start) (BfModule *module, GError **error);
  /* Frees everything.  Called even when init() failed.  Optional. */
  void (*shutdown) (BfModule *module);
  /* A stanza for one of the module's addresses, or for the domain in one of
   * its domain_namespaces.  Return TRUE when the module took care of it
   * (answered or deliberately ignored it); FALSE makes the core answer with
   * the default: disco for the address, otherwise <service-unavailable/>
   * for an iq get/set or a message, nothing for presence. */
  gboolean (*handle_stanza) (BfModule *module, const BfStanza *stanza);
  /* Jingle RTP sessions to the module's addresses (session.h); NULL for a
   * module that takes no calls.  Jingle iqs and JMI messages then never
   * reach handle_stanza. */
  const BfSessionHooks *sessions;
} BfModuleInfo;

#define BF_MODULE_DEFINE(info_var) \
  G_MODULE_EXPORT const BfModuleInfo *bf_module_get_info (void); \
  G_MODULE_EXPORT const BfModuleInfo *bf_module_get_info (void) { return &(info_var); }

/* --- What a module may ask of the core --- */

/* The component's domain, e.g. "relay.example.org". */
const char *bf_module_get_domain (BfModule *module);
/* This process's own sub-domain ([component] node-jid, e.g.
 * "n1.relay.example.org") when several processes share the domain
 * (README "Running several relays"), else the domain.  What is addressed
 * to it reaches this process and no other: a session the module places is
 * addressed from it, and so is any address a peer must come back to here
 * (a proxy65 streamhost). */
const char *bf_module_get_node_domain (BfModule *module);
/* The domain rooms live on ([component] rooms-jid, e.g.
 * "rooms.relay.example.org", balanced by the room's bare JID when several
 * processes share the domain), else the domain.  A module hosting rooms
 * names them, and places their sessions, from it. */
const char *bf_module_get_rooms_domain (BfModule *module);
/* The domain of the server that hosts the component, taken as the parent of
 * its domain ("relay.example.org" -> "example.org"; a domain without a dot
 * is its own parent): the usual default for who may use a service. */
const char *bf_module_get_server_domain (BfModule *module);
const char *bf_module_get_name (BfModule *module);

/* Private data; @destroy runs at shutdown (after the module's shutdown()). */
void bf_module_set_data (BfModule *module, gpointer data, GDestroyNotify destroy);
gpointer bf_module_get_data (BfModule *module);

/* Queues a top-level stanza for the server.  @stanza must carry 'to'; a
 * missing 'from' is filled in with the module's first address.  While the
 * link is down (the server restarts) it is held and sent after the next
 * handshake, within [component] hold-while-detached and hold-stanzas.
 * Returns FALSE (and logs) when it is dropped: the write queue is full,
 * holding is off, or belfry is stopping. */
gboolean bf_module_send (BfModule *module, const BfStanza *stanza);

/* Convenience: replies to @request with an error (see bf_stanza_new_error). */
gboolean bf_module_send_error (BfModule *module, const BfStanza *request,
                               const char *error_type, const char *condition,
                               const char *text);

/* XEP-0115 entity capabilities.  A module that sends presence lists this
 * among its features: an entity that publishes caps must say so in its
 * disco#info (XEP-0115 §7). */
#define BF_NS_CAPS "http://jabber.org/protocol/caps"

/* Sends <presence/> from @from to @to, e.g. to approve a subscription
 * ("subscribed") and then appear online, so that clients list the address
 * as a contact and see what it supports.  @from is one of the module's
 * addresses, optionally with a resource (for a BF_MODULE_ANY_LOCALPART
 * module: any localpart no other module serves); @to is required.
 * @type is NULL for available presence, which then carries the XEP-0115
 * <c/> of the module's disco#info (its identity and features as the core
 * answers them; the core also answers the disco#info query for that caps
 * node), or one of "unavailable", "subscribe", "subscribed", "unsubscribe",
 * "unsubscribed", "probe" (errors: bf_module_send_error).  Returns FALSE
 * (and logs) when @from is not the module's, @type is not one of these, or
 * as bf_module_send() does. */
gboolean bf_module_send_presence (BfModule *module, const char *from, const char *to,
                                  const char *type);

/* --- Reading the module's configuration group --- *
 * Each getter returns @default_value when the key is absent, and fails with
 * a message naming the file, the group and the key when the value is
 * malformed.  After init(), a key in the group that the module never asked
 * for is reported as a configuration error (a typo must not pass silently).
 */
gboolean bf_config_has_key (BfConfigGroup *config, const char *key);
char *bf_config_get_string (BfConfigGroup *config, const char *key,
                            const char *default_value, GError **error);
gboolean bf_config_get_int (BfConfigGroup *config, const char *key,
                            gint64 default_value, gint64 min, gint64 max,
                            gint64 *out, GError **error);
gboolean bf_config_get_boolean (BfConfigGroup *config, const char *key,
                                gboolean default_value, gboolean *out,
                                GError **error);
/* NULL-terminated; NULL when the key is absent. */
char **bf_config_get_string_list (BfConfigGroup *config, const char *key,
                                  GError **error);
/* A list of domains whose users may use a service (e.g. "allow-domains"):
 * absent -> @default_domain alone (usually bf_module_get_server_domain());
 * containing "*" -> anyone, and *@out is NULL; empty -> an error.  *@out is
 * NULL-terminated (g_strfreev). */
gboolean bf_config_get_domain_list (BfConfigGroup *config, const char *key,
                                    const char *default_domain, char ***out, GError **error);
/* Whether @domain is in @domains (ASCII case-insensitive); a NULL @domains
 * (anyone, see above) contains every domain. */
gboolean bf_domain_list_contains (const char *const *domains, const char *domain);
/* Builds an error that names the file, the group and @key; for values the
 * module itself finds wrong. */
void bf_config_set_error (BfConfigGroup *config, GError **error,
                          const char *key, const char *format, ...) G_GNUC_PRINTF (4, 5);

/* --- Configuration reload (SIGHUP) --- *
 * Added without an API version bump: a module that never calls this is
 * unchanged.  A module that registers a reload function is given its group
 * of the re-read file on every reload (main thread, after init()); it
 * checks the new values and applies them all or none, logs what it
 * changed (g_message "reload: [<name>] key: old → new"), and fails with an
 * error naming the file, the group and the key (bf_config_set_error) to
 * keep its running settings.  Without one, any change to the module's
 * group is refused (logged) and needs a restart. */
typedef gboolean (*BfModuleReloadFunc) (BfModule *module, BfConfigGroup *config,
                                        GError **error);
void bf_module_set_reload_func (BfModule *module, BfModuleReloadFunc func);

/* --- Addresses chosen at run time --- *
 * Added without an API version bump: a module that never calls these is
 * unchanged.  A module whose addresses cannot be listed in
 * BfModuleInfo.localparts (a conference: any room name a caller picks)
 * claims them with a predicate, set from init().  For a localpart that no
 * module lists exactly, the core asks each module that set one, in load
 * order, and hands the address to the first that says TRUE; only then to
 * the module that takes every address ("*", the call relay).  So a module
 * listing "echo" keeps echo@, and a predicate refusing escaped JIDs
 * ("\40") leaves those to the relay.  The predicate runs on the main
 * thread for every stanza to such an address: pure and quick, no I/O. */
typedef gboolean (*BfModuleLocalpartFunc) (BfModule *module, const char *localpart);
void bf_module_set_localpart_func (BfModule *module, BfModuleLocalpartFunc func);

/* disco#items on the component's domain lists the localparts modules
 * list; a module with addresses of its own making (open rooms) adds them
 * here: @func runs on the main thread for each such query and calls
 * bf_disco_items_add() for each item.  The core bounds the answer
 * (BF_DISCO_ITEMS_MAX items in all); bf_disco_items_add() returns FALSE
 * once it is full, and the module stops. */
#define BF_DISCO_ITEMS_MAX 500
typedef struct _BfDiscoItems BfDiscoItems;
typedef void (*BfModuleDiscoItemsFunc) (BfModule *module, BfDiscoItems *items);
void bf_module_set_disco_items_func (BfModule *module, BfModuleDiscoItemsFunc func);
/* @jid: an address of the module's (checked: its domain and a localpart
 * the module is handed); @name: a human-readable name, or NULL. */
gboolean bf_disco_items_add (BfDiscoItems *items, const char *jid, const char *name);
/* The full JID that asked (the query's 'from'): a module lists to each
 * only what that one may see (e.g. rooms to users of allowed domains). */
const char *bf_disco_items_get_from (BfDiscoItems *items);

/* --- Randomness --- *
 * From the kernel's CSPRNG (getrandom(2)): for ids and SSRCs a peer must
 * not predict (g_random_* is not meant for that).  Any thread. */
guint32 bf_random_u32 (void);

/* --- host:port --- *
 * Added without an API version bump: nothing existing changes.  The one
 * reader of an endpoint in a configuration value, for the core and for
 * modules alike:
 *
 *   "192.0.2.1:3478"       an IPv4 address (or a host name) and a port
 *   "[2001:db8::1]:3478"   an IPv6 address goes in brackets
 *   "192.0.2.1", "[::1]"   no port: only when @default_port is not 0
 *   "2001:db8::1"          bare IPv6 (its last group could be a port, so
 *                          it is read as a host): only when @default_port
 *                          is not 0; with a port required it is refused
 *
 * The port is decimal, 1..65535, and ends the text.  *@host comes back
 * without brackets (g_free), non-empty, at most BF_HOST_PORT_MAX_HOST
 * bytes, with no space, control character or bracket.  Whether the host
 * must be an IP address is the caller's check (g_hostname_is_ip_address),
 * as is the meaning of a wildcard.  On failure (G_IO_ERROR_INVALID_ARGUMENT,
 * a message quoting @text) *@host and *@port are untouched.  Pure; any
 * thread. */
#define BF_HOST_PORT_MAX_HOST 255
gboolean bf_parse_host_port (const char *text, guint16 default_port, char **host,
                             guint16 *port, GError **error);

G_END_DECLS
