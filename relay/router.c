#define G_LOG_DOMAIN "belfry-router"
/* The stanza router (router.h). */
#include "build-config.h"

#include <string.h>

#include "router.h"
#include "caps.h"
#include "disco.h"

struct _BfRouter {
  char *domain;
  char *node_domain;           /* [component] node-jid; NULL: none */
  char *rooms_domain;          /* [component] rooms-jid; NULL: none */
  BfModules *modules;
  BfSendFunc send;
  gpointer send_data;
  BfRouterStats stats;
  BfRouterSessionHook session_hook;
  gpointer session_hook_data;
  BfRouterDomainIqHook domain_iq_hook;
  gpointer domain_iq_hook_data;
};

void
bf_router_set_domain_iq_hook (BfRouter *router, BfRouterDomainIqHook hook, gpointer data)
{
  router->domain_iq_hook = hook;
  router->domain_iq_hook_data = data;
}

void
bf_router_set_session_hook (BfRouter *router, BfRouterSessionHook hook, gpointer data)
{
  router->session_hook = hook;
  router->session_hook_data = data;
}

void
bf_router_set_node_domain (BfRouter *router, const char *node_domain)
{
  g_free (router->node_domain);
  router->node_domain = node_domain ? g_ascii_strdown (node_domain, -1) : NULL;
}

void
bf_router_set_rooms_domain (BfRouter *router, const char *rooms_domain)
{
  g_free (router->rooms_domain);
  router->rooms_domain = rooms_domain ? g_ascii_strdown (rooms_domain, -1) : NULL;
}

/* The domain, or this process's own sub-domain: both are served alike. */
static gboolean
is_our_domain (BfRouter *r, const char *domain)
{
  return strcmp (domain, r->domain) == 0
         || (r->node_domain != NULL && strcmp (domain, r->node_domain) == 0)
         || (r->rooms_domain != NULL && strcmp (domain, r->rooms_domain) == 0);
}

BfRouter *
bf_router_new (const char *domain, BfModules *modules, BfSendFunc send, gpointer send_data)
{
  BfRouter *r = g_new0 (BfRouter, 1);
  r->domain = g_ascii_strdown (domain, -1);
  r->modules = modules;
  r->send = send;
  r->send_data = send_data;
  return r;
}

void
bf_router_free (BfRouter *router)
{
  if (router == NULL)
    return;
  g_free (router->domain);
  g_free (router->node_domain);
  g_free (router->rooms_domain);
  g_free (router);
}

const BfRouterStats *
bf_router_get_stats (BfRouter *router)
{
  return &router->stats;
}

static void
send (BfRouter *r, const BfStanza *stanza)
{
  r->stats.answered++;
  if (r->send)
    r->send (r->send_data, stanza);
}

static void
send_error (BfRouter *r, const BfStanza *request, const char *type, const char *condition,
            const char *text)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_error (request, type, condition, text);
  send (r, reply);
}

/* XEP-0030 disco#info for the domain (@mod NULL) or a module's address.  A
 * 'node' is answered only when it is the caps node of that very answer
 * (XEP-0115 §6.2: a client that saw our presence asks for node#ver and
 * checks the hash); any other node is not served (XEP-0030 §3.1). */
static BfStanza *
domain_info (BfRouter *r)
{
  guint n = bf_modules_count (r->modules);
  g_autofree const BfModuleInfo **infos = g_new0 (const BfModuleInfo *, n + 1);
  for (guint i = 0; i < n; i++)
    infos[i] = bf_module_get_info_struct (bf_modules_nth (r->modules, i));
  return bf_disco_domain_info (infos);
}

static void
disco_info (BfRouter *r, BfModule *mod, const BfStanza *iq, const BfStanza *request)
{
  g_autoptr (BfStanza) query = mod ? bf_disco_address_info (bf_module_get_info_struct (mod))
                                   : domain_info (r);
  const char *node = bf_stanza_get_attr (request, "node");
  if (node)
    {
      if (!bf_caps_node_matches (node, query))
        {
          send_error (r, iq, "cancel", "item-not-found", NULL);
          return;
        }
      bf_stanza_set_attr (query, "node", node);
    }
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  bf_stanza_append (reply, g_steal_pointer (&query));
  send (r, reply);
}

static void
domain_disco_items (BfRouter *r, const BfStanza *iq)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  BfStanza *q = bf_stanza_add_child (reply, "query", BF_NS_DISCO_ITEMS);
  guint n = bf_modules_count (r->modules);
  guint count = 0;
  for (guint i = 0; i < n; i++)
    {
      const BfModuleInfo *info = bf_module_get_info_struct (bf_modules_nth (r->modules, i));
      for (guint j = 0; info->localparts && info->localparts[j]; j++)
        {
          if (strcmp (info->localparts[j], BF_MODULE_ANY_LOCALPART) == 0)
            continue;
          BfStanza *item = bf_stanza_add_child (q, "item", NULL);
          g_autofree char *jid = g_strconcat (info->localparts[j], "@", r->domain, NULL);
          bf_stanza_set_attr (item, "jid", jid);
          bf_stanza_set_attr (item, "name", info->description ? info->description : info->name);
          count++;
        }
    }
  for (guint i = 0; i < n; i++)
    bf_module_add_disco_items (bf_modules_nth (r->modules, i), bf_stanza_get_attr (iq, "from"),
                               q, &count);
  send (r, reply);
}

static void
version (BfRouter *r, const BfStanza *iq)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  BfStanza *q = bf_stanza_add_child (reply, "query", BF_NS_VERSION);
  bf_stanza_add_text_child (q, "name", NULL, "belfry");
  bf_stanza_add_text_child (q, "version", NULL, BF_VERSION);
  send (r, reply);
}

static void
empty_result (BfRouter *r, const BfStanza *iq)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  send (r, reply);
}

/* Answers what the core serves for an address (the domain when @mod is
 * NULL); FALSE when it is nothing the core knows. */
static gboolean
core_iq (BfRouter *r, BfModule *mod, const BfStanza *iq, const char *type, BfStanza *payload)
{
  const char *ns = bf_stanza_get_ns (payload);
  const char *name = bf_stanza_get_name (payload);
  gboolean get = strcmp (type, "get") == 0;

  if (get && strcmp (name, "query") == 0 && g_strcmp0 (ns, BF_NS_DISCO_INFO) == 0)
    {
      disco_info (r, mod, iq, payload);
      return TRUE;
    }
  if (get && strcmp (name, "query") == 0 && g_strcmp0 (ns, BF_NS_DISCO_ITEMS) == 0)
    {
      /* Nodes are not served (XEP-0030 §3.1 allows item-not-found); nor is
       * the caps node, which is no items node (XEP-0115 §6.2). */
      if (bf_stanza_get_attr (payload, "node"))
        send_error (r, iq, "cancel", "item-not-found", NULL);
      else if (mod)
        {
          g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
          bf_stanza_add_child (reply, "query", BF_NS_DISCO_ITEMS);
          send (r, reply);
        }
      else
        domain_disco_items (r, iq);
      return TRUE;
    }
  if (get && strcmp (name, "ping") == 0 && g_strcmp0 (ns, BF_NS_PING) == 0)
    {
      empty_result (r, iq);
      return TRUE;
    }
  if (get && mod == NULL && strcmp (name, "query") == 0 && g_strcmp0 (ns, BF_NS_VERSION) == 0)
    {
      version (r, iq);
      return TRUE;
    }
  return FALSE;
}

/* RFC 6120 §8.2.3: an iq get/set carries exactly one payload element. */
static BfStanza *
single_payload (const BfStanza *iq)
{
  if (bf_stanza_n_children (iq) != 1)
    return NULL;
  return bf_stanza_find_child (iq, NULL, NULL);
}

static void
route_iq (BfRouter *r, BfModule *mod, gboolean known_address, const BfStanza *iq)
{
  const char *type = bf_stanza_get_attr (iq, "type");
  if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
    {
      /* Never answered (RFC 6120 §8.2.3); a module may be waiting for it. */
      if (mod && bf_module_handle (mod, iq))
        r->stats.to_modules++;
      else
        r->stats.dropped++;
      return;
    }
  if (g_strcmp0 (type, "get") != 0 && g_strcmp0 (type, "set") != 0)
    {
      send_error (r, iq, "modify", "bad-request", "iq type must be get, set, result or error");
      return;
    }
  if (bf_stanza_get_attr (iq, "id") == NULL)
    {
      send_error (r, iq, "modify", "bad-request", "iq without id");
      return;
    }
  BfStanza *payload = single_payload (iq);
  if (payload == NULL)
    {
      send_error (r, iq, "modify", "bad-request", "iq get/set must carry exactly one element");
      return;
    }
  if (!known_address)
    {
      send_error (r, iq, "cancel", "service-unavailable", NULL);
      return;
    }
  if (mod == NULL && r->domain_iq_hook && r->domain_iq_hook (r->domain_iq_hook_data, iq, payload))
    {
      r->stats.answered++;
      return;
    }
  /* The module owning the address, or for the domain itself the module
   * that claimed the payload's namespace, gets the first say. */
  BfModule *handler = mod ? mod : bf_modules_find_domain_ns (r->modules, bf_stanza_get_ns (payload));
  if (handler && bf_module_handle (handler, iq))
    {
      r->stats.to_modules++;
      return;
    }
  if (core_iq (r, mod, iq, type, payload))
    return;
  send_error (r, iq, "cancel", "service-unavailable", NULL);
}

/* An error to a stanza whose 'to' is not ours to send from: from the
 * domain itself, since the server closes the component's stream over a
 * 'from' outside its domain (Prosody: invalid-from). */
static void
send_error_from_domain (BfRouter *r, const BfStanza *request, const char *type,
                        const char *condition)
{
  g_autoptr (BfStanza) reply = bf_stanza_new_error (request, type, condition, NULL);
  bf_stanza_set_attr (reply, "from", r->domain);
  send (r, reply);
}

static void
drop_bad_address (BfRouter *r, const char *kind, const char *what)
{
  r->stats.dropped++;
  r->stats.dropped_bad_address++;
  /* The address itself is not logged: it may be kilobytes of anything. */
  g_info ("dropped a <%s/> with %s", kind, what);
}

void
bf_router_route (BfRouter *router, const BfStanza *stanza)
{
  BfRouter *r = router;
  r->stats.routed++;
  const char *kind = bf_stanza_get_name (stanza);
  const char *type = bf_stanza_get_attr (stanza, "type");
  gboolean is_error = g_strcmp0 (type, "error") == 0;
  /* RFC 6120 §8.2.3, §8.3.1: results, errors and presence are never answered. */
  gboolean no_reply = is_error || strcmp (kind, "presence") == 0
                      || (strcmp (kind, "iq") == 0 && g_strcmp0 (type, "result") == 0);
  const char *from = bf_stanza_get_attr (stanza, "from");
  const char *to = bf_stanza_get_attr (stanza, "to");

  /* RFC 6120 §8.1.2.1: the server stamps 'from' on everything it routes;
   * only a faulty server leaves it out or malformed.  Nobody to answer,
   * and nothing a module could key a session by. */
  if (from == NULL)
    {
      drop_bad_address (r, kind, "no 'from'");
      return;
    }
  if (!bf_jid_split (from, NULL, NULL, NULL))
    {
      drop_bad_address (r, kind, "a malformed 'from'");
      return;
    }

  g_autofree char *local = NULL, *domain = NULL, *resource = NULL;
  if (to == NULL || !bf_jid_split (to, &local, &domain, &resource))
    {
      drop_bad_address (r, kind, to ? "a malformed 'to'" : "no 'to'");
      if (!no_reply && to != NULL)
        send_error_from_domain (r, stanza, "modify", "jid-malformed");
      return;
    }
  if (!is_our_domain (r, domain))
    {
      /* The server only routes our domain to us; anything else is its bug. */
      g_debug ("dropped a <%s/> for %s: not our domain", kind, to);
      if (!no_reply)
        send_error_from_domain (r, stanza, "cancel", "item-not-found");
      else
        r->stats.dropped++;
      return;
    }

  BfModule *mod = local ? bf_modules_find_localpart (r->modules, local) : NULL;
  gboolean known = local == NULL || mod != NULL;

  if (mod && r->session_hook && bf_module_get_info_struct (mod)->sessions
      && r->session_hook (r->session_hook_data, mod, stanza))
    {
      r->stats.to_modules++;
      return;
    }

  if (strcmp (kind, "iq") == 0)
    {
      route_iq (r, mod, known, stanza);
      return;
    }
  if (mod && bf_module_handle (mod, stanza))
    {
      r->stats.to_modules++;
      return;
    }
  if (strcmp (kind, "message") == 0 && !is_error)
    {
      send_error (r, stanza, "cancel", "service-unavailable", NULL);
      return;
    }
  /* Presence nobody handles, and errors, get no answer. */
  r->stats.dropped++;
}

void
bf_router_drop_over_limit (BfRouter *router, const BfStanza *head, const char *reason)
{
  BfRouter *r = router;
  r->stats.dropped_over_limit++;
  const char *kind = bf_stanza_get_name (head);
  const char *type = bf_stanza_get_attr (head, "type");
  const char *from = bf_stanza_get_attr (head, "from");
  const char *to = bf_stanza_get_attr (head, "to");
  gboolean from_ok = from && bf_jid_split (from, NULL, NULL, NULL);
  g_autofree char *domain = NULL;
  gboolean to_ours = to && bf_jid_split (to, NULL, &domain, NULL)
                     && is_our_domain (r, domain);
  /* Who and why, never what: the content is gone anyway.  A resource may
   * hold control characters (&#10;): escaped, so no line can be forged. */
  char utf8[129];
  for (guint i = 0; i < 128; i++)
    utf8[i] = (char) (0x80 + i);   /* left as they are: the JID is valid UTF-8 */
  utf8[128] = '\0';
  g_autofree char *who = from_ok ? g_strescape (from, utf8) : g_strdup ("(no valid sender)");
  g_autofree char *where = to_ours ? g_strescape (to, utf8) : g_strdup ("(not ours)");
  g_info ("dropped a <%s/> from %s to %s over the %s limit", kind, who, where, reason);

  /* RFC 6120 §8.3.3.12: policy-violation, type modify, for what expects an
   * answer; presence, errors and results never get one (§8.3.1), and an
   * iq error needs the request's id. */
  gboolean stanza = g_strcmp0 (bf_stanza_get_ns (head), BF_NS_COMPONENT) == 0;
  gboolean bounce = stanza && from_ok && to_ours
                    && ((strcmp (kind, "message") == 0 && g_strcmp0 (type, "error") != 0)
                        || (strcmp (kind, "iq") == 0
                            && (g_strcmp0 (type, "get") == 0 || g_strcmp0 (type, "set") == 0)
                            && bf_stanza_get_attr (head, "id") != NULL));
  if (!bounce)
    return;
  g_autofree char *text = g_strdup_printf ("stanza over the relay's %s limit", reason);
  send_error (r, head, "modify", "policy-violation", text);
}
