/* Unit tests: the stanza router (relay/router.c) with built-in modules
 * (relay/modules.c). */
#include "build-config.h"

#include <string.h>
#include <glib.h>

#include <belfry/module.h>
#include "caps.h"
#include "router.h"
#include "xmlstream.h"

#define DOMAIN "relay.localhost"
#define USER "alice@example.org/phone"
#define LABEL "router-test.conf"
#define HEADER "<stream:stream xmlns='jabber:component:accept' " \
               "xmlns:stream='http://etherx.jabber.org/streams' id='t'>"

#define NS_DOMAIN_CLAIMED "urn:test:domainns"
#define NS_HANDLED "urn:test:handled"

/* --- what the test modules see --- */

typedef struct {
  GPtrArray *handled;       /* copies of the stanzas given to handle_stanza() */
  char *greeting;           /* what tmod's init() read from its group */
  char *other_greeting;     /* what other's init() read from its group */
  guint shutdowns;
} ModState;

/* Static modules have nowhere else to find the test's state. */
static ModState state;

static void
state_reset (void)
{
  if (state.handled)
    g_ptr_array_unref (state.handled);
  g_clear_pointer (&state.greeting, g_free);
  g_clear_pointer (&state.other_greeting, g_free);
  state.handled = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  state.shutdowns = 0;
}

static void
state_clear (void)
{
  g_clear_pointer (&state.handled, g_ptr_array_unref);
  g_clear_pointer (&state.greeting, g_free);
  g_clear_pointer (&state.other_greeting, g_free);
}

static gboolean
tmod_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  g_autoptr (GError) local = NULL;
  state.greeting = bf_config_get_string (config, "greeting", NULL, &local);
  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

static void
count_shutdown (BfModule *module)
{
  state.shutdowns++;
}

static gboolean
tmod_handle (BfModule *module, const BfStanza *stanza)
{
  g_ptr_array_add (state.handled, bf_stanza_copy (stanza));
  const char *kind = bf_stanza_get_name (stanza);
  const char *type = bf_stanza_get_attr (stanza, "type");
  if (strcmp (kind, "message") == 0)
    return g_strcmp0 (bf_stanza_find_child_text (stanza, "body", NULL), "refuse") != 0;
  if (strcmp (kind, "iq") == 0)
    {
      if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
        return TRUE;   /* the module was waiting for it */
      BfStanza *payload = bf_stanza_find_child (stanza, NULL, NULL);
      const char *ns = payload ? bf_stanza_get_ns (payload) : NULL;
      if (g_strcmp0 (ns, NS_DOMAIN_CLAIMED) == 0 || g_strcmp0 (ns, NS_HANDLED) == 0)
        {
          g_autoptr (BfStanza) reply = bf_stanza_new_reply (stanza, "result");
          bf_stanza_add_child (reply, "answered-by-module", ns);
          bf_module_send (module, reply);
          return TRUE;
        }
    }
  return FALSE;   /* disco, ping, presence ...: the core's default */
}

static const char *const tmod_localparts[] = { "svc", "svc2", NULL };
static const char *const tmod_features[] = { "urn:test:feat", BF_NS_PING, "urn:test:feat", NULL };
static const BfDiscoIdentity tmod_identity = { "conference", "text", "Test room" };
static const BfDiscoIdentity tmod_domain_identities[] = {
  { "proxy", "bytestreams", "Test proxy" },
  { NULL, NULL, NULL },
};
static const char *const tmod_domain_ns[] = { NS_DOMAIN_CLAIMED, NULL };

static const BfModuleInfo tmod_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "tmod",
  .description = "Test service",
  .localparts = tmod_localparts,
  .identity = &tmod_identity,
  .features = tmod_features,
  .domain_identities = tmod_domain_identities,
  .domain_namespaces = tmod_domain_ns,
  .init = tmod_init,
  .shutdown = count_shutdown,
  .handle_stanza = tmod_handle,
};

static gboolean
other_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  state.other_greeting = bf_config_get_string (config, "greeting", NULL, error);
  return state.other_greeting != NULL;
}

static const char *const other_localparts[] = { "other", NULL };
static const char *const other_features[] = { "urn:other", "urn:test:feat", NULL };

static const BfModuleInfo other_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "other",
  .localparts = other_localparts,
  .features = other_features,
  .init = other_init,
  .shutdown = count_shutdown,
};

/* --- fixture --- */

static const char router_conf[] =
  "[component]\n"
  "jid = " DOMAIN "\n"
  "secret = x\n"
  "[modules]\n"
  "load = tmod;other\n"
  "[tmod]\n"
  "greeting = hello from tmod\n"
  "[other]\n"
  "greeting = hello from other # comment\n";

typedef struct {
  BfConfig *config;
  BfModules *modules;
  BfRouter *router;
  GPtrArray *sent;          /* copies of what went out */
} Fixture;

static gboolean
collect_sent (gpointer data, const BfStanza *stanza)
{
  Fixture *f = data;
  g_ptr_array_add (f->sent, bf_stanza_copy (stanza));
  return TRUE;
}

/* The router over the static modules @infos (NULL-terminated), loaded in
 * that order. */
static void
fixture_init (Fixture *f, const BfModuleInfo *const *infos)
{
  state_reset ();
  g_autoptr (GError) error = NULL;
  f->config = bf_config_load_data (router_conf, LABEL, &error);
  g_assert_no_error (error);
  f->sent = g_ptr_array_new_with_free_func ((GDestroyNotify) bf_stanza_free);
  f->modules = bf_modules_new (f->config, collect_sent, f);
  guint n = 0;
  for (; infos[n]; n++)
    {
      g_assert_true (bf_modules_add_static (f->modules, infos[n], &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (bf_modules_count (f->modules), ==, n);
  f->router = bf_router_new (f->config->jid, f->modules, collect_sent, f);
}

/* Frees what fixture_init() made; @shutdowns: how many modules must have
 * shut down once they are freed. */
static void
fixture_clear (Fixture *f, guint shutdowns)
{
  bf_router_free (f->router);
  bf_modules_free (f->modules);
  g_assert_cmpuint (state.shutdowns, ==, shutdowns);
  bf_config_free (f->config);
  g_ptr_array_unref (f->sent);
  state_clear ();
}

static void
fixture_setup (Fixture *f, gconstpointer unused)
{
  fixture_init (f, (const BfModuleInfo *const[]) { &tmod_info, &other_info, NULL });
}

static void
fixture_teardown (Fixture *f, gconstpointer unused)
{
  fixture_clear (f, 2);
}

static void
collect_parsed (gpointer data, BfStanza *stanza)
{
  BfStanza **out = data;
  g_assert_null (*out);
  *out = stanza;
}

static BfStanza *
parse (const char *xml)
{
  static const BfXmlStreamCallbacks cb = { NULL, collect_parsed, NULL };
  BfStanza *got = NULL;
  g_autoptr (BfXmlStream) parser = bf_xml_stream_new (NULL, &cb, &got);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = g_strconcat (HEADER, xml, NULL);
  g_assert_true (bf_xml_stream_feed (parser, data, strlen (data), &error));
  g_assert_no_error (error);
  g_assert_nonnull (got);
  return got;
}

/* Routes @xml and returns how many stanzas went out because of it. */
static guint
route (Fixture *f, const char *xml)
{
  guint before = f->sent->len;
  g_autoptr (BfStanza) s = parse (xml);
  bf_router_route (f->router, s);
  return f->sent->len - before;
}

static BfStanza *
last_sent (Fixture *f)
{
  g_assert_cmpuint (f->sent->len, >, 0);
  return g_ptr_array_index (f->sent, f->sent->len - 1);
}

static void
assert_addressing (const BfStanza *reply, const char *name, const char *from, const char *to,
                   const char *id, const char *type)
{
  g_assert_cmpstr (bf_stanza_get_name (reply), ==, name);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "from"), ==, from);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, to);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, id);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, type);
}

static void
assert_error (const BfStanza *reply, const char *type, const char *condition)
{
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, "error");
  BfStanza *error = bf_stanza_find_child (reply, "error", NULL);
  g_assert_nonnull (error);
  g_assert_cmpstr (bf_stanza_get_attr (error, "type"), ==, type);
  g_assert_nonnull (bf_stanza_find_child (error, condition, BF_NS_STANZAS));
}

/* Number of <feature var=@var/> in @query. */
static guint
count_features (const BfStanza *query, const char *var)
{
  guint n = 0;
  BfStanzaIter iter;
  BfStanza *c;
  bf_stanza_iter_init (&iter, query);
  while (bf_stanza_iter_next (&iter, &c))
    if (strcmp (bf_stanza_get_name (c), "feature") == 0
        && g_strcmp0 (bf_stanza_get_attr (c, "var"), var) == 0)
      n++;
  return n;
}

static guint
count_named (const BfStanza *query, const char *name)
{
  guint n = 0;
  BfStanzaIter iter;
  BfStanza *c;
  bf_stanza_iter_init (&iter, query);
  while (bf_stanza_iter_next (&iter, &c))
    if (strcmp (bf_stanza_get_name (c), name) == 0)
      n++;
  return n;
}

static gboolean
has_identity (const BfStanza *query, const char *category, const char *type, const char *name)
{
  BfStanzaIter iter;
  BfStanza *c;
  bf_stanza_iter_init (&iter, query);
  while (bf_stanza_iter_next (&iter, &c))
    if (strcmp (bf_stanza_get_name (c), "identity") == 0
        && g_strcmp0 (bf_stanza_get_attr (c, "category"), category) == 0
        && g_strcmp0 (bf_stanza_get_attr (c, "type"), type) == 0
        && g_strcmp0 (bf_stanza_get_attr (c, "name"), name) == 0)
      return TRUE;
  return FALSE;
}

/* --- core answers --- */

static void
test_domain_disco_info (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<iq type='get' id='i1' from='" USER "' to='" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_INFO "'/></iq>"), ==, 1);
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "iq", DOMAIN, USER, "i1", "result");
  g_assert_cmpuint (bf_stanza_n_children (reply), ==, 1);
  BfStanza *q = bf_stanza_find_child (reply, "query", BF_NS_DISCO_INFO);
  g_assert_nonnull (q);

  /* the core's identity first, then the modules' domain identities */
  BfStanza *first = bf_stanza_find_child (q, NULL, NULL);
  g_assert_cmpstr (bf_stanza_get_name (first), ==, "identity");
  g_assert_cmpstr (bf_stanza_get_attr (first, "category"), ==, "component");
  g_assert_cmpstr (bf_stanza_get_attr (first, "type"), ==, "generic");
  g_assert_cmpstr (bf_stanza_get_attr (first, "name"), ==, "belfry");
  g_assert_true (has_identity (q, "proxy", "bytestreams", "Test proxy"));
  g_assert_cmpuint (count_named (q, "identity"), ==, 2);

  static const char *const expected[] = {
    BF_NS_DISCO_INFO, BF_NS_DISCO_ITEMS, BF_NS_PING, BF_NS_VERSION,
    "http://jabber.org/protocol/commands", "urn:test:feat", NS_DOMAIN_CLAIMED, "urn:other",
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_test_message ("feature %s", expected[i]);
      g_assert_cmpuint (count_features (q, expected[i]), ==, 1);
    }
  g_assert_cmpuint (count_named (q, "feature"), ==, G_N_ELEMENTS (expected));

  /* the module was not asked: the domain's disco is the core's */
  g_assert_cmpuint (state.handled->len, ==, 0);
  g_assert_cmpuint (bf_router_get_stats (f->router)->answered, ==, 1);
  g_assert_cmpuint (bf_router_get_stats (f->router)->routed, ==, 1);
}

static void
test_domain_disco_items (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<iq type='get' id='i2' from='" USER "' to='" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_ITEMS "'/></iq>"), ==, 1);
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "iq", DOMAIN, USER, "i2", "result");
  BfStanza *q = bf_stanza_find_child (reply, "query", BF_NS_DISCO_ITEMS);
  g_assert_nonnull (q);
  g_assert_cmpuint (bf_stanza_n_children (q), ==, 3);
  static const char *const jids[] = { "svc@" DOMAIN, "svc2@" DOMAIN, "other@" DOMAIN };
  static const char *const names[] = { "Test service", "Test service", "other" };
  BfStanzaIter iter;
  BfStanza *item;
  guint i = 0;
  bf_stanza_iter_init (&iter, q);
  while (bf_stanza_iter_next (&iter, &item))
    {
      g_assert_cmpstr (bf_stanza_get_name (item), ==, "item");
      g_assert_cmpstr (bf_stanza_get_ns (item), ==, BF_NS_DISCO_ITEMS);
      g_assert_cmpstr (bf_stanza_get_attr (item, "jid"), ==, jids[i]);
      g_assert_cmpstr (bf_stanza_get_attr (item, "name"), ==, names[i]);
      i++;
    }
  g_assert_cmpuint (i, ==, 3);
}

static void
test_address_disco (Fixture *f, gconstpointer unused)
{
  /* the module is asked first, declines, and the core answers */
  g_assert_cmpuint (route (f, "<iq type='get' id='i3' from='" USER "' to='svc2@" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_INFO "'/></iq>"), ==, 1);
  g_assert_cmpuint (state.handled->len, ==, 1);
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "iq", "svc2@" DOMAIN, USER, "i3", "result");
  BfStanza *q = bf_stanza_find_child (reply, "query", BF_NS_DISCO_INFO);
  g_assert_nonnull (q);
  g_assert_true (has_identity (q, "conference", "text", "Test room"));
  g_assert_cmpuint (count_named (q, "identity"), ==, 1);
  static const char *const expected[] = {
    BF_NS_DISCO_INFO, BF_NS_DISCO_ITEMS, BF_NS_PING, "urn:test:feat",
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpuint (count_features (q, expected[i]), ==, 1);
  g_assert_cmpuint (count_named (q, "feature"), ==, G_N_ELEMENTS (expected));
  g_assert_cmpuint (count_features (q, NS_DOMAIN_CLAIMED), ==, 0);
  g_assert_cmpuint (count_features (q, "urn:other"), ==, 0);

  /* a module without an identity: component/generic named after it */
  g_assert_cmpuint (route (f, "<iq type='get' id='i4' from='" USER "' to='other@" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_INFO "'/></iq>"), ==, 1);
  q = bf_stanza_find_child (last_sent (f), "query", BF_NS_DISCO_INFO);
  g_assert_nonnull (q);
  g_assert_true (has_identity (q, "component", "generic", "other"));
  g_assert_cmpuint (count_features (q, "urn:other"), ==, 1);
  g_assert_cmpuint (count_features (q, "urn:test:feat"), ==, 1);

  /* disco#items of an address: an empty result */
  g_assert_cmpuint (route (f, "<iq type='get' id='i5' from='" USER "' to='svc@" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_ITEMS "'/></iq>"), ==, 1);
  reply = last_sent (f);
  assert_addressing (reply, "iq", "svc@" DOMAIN, USER, "i5", "result");
  q = bf_stanza_find_child (reply, "query", BF_NS_DISCO_ITEMS);
  g_assert_nonnull (q);
  g_assert_cmpuint (bf_stanza_n_children (q), ==, 0);
}

static void
test_disco_node (Fixture *f, gconstpointer unused)
{
  static const char *const requests[] = {
    "<iq type='get' id='n1' from='" USER "' to='" DOMAIN "'>"
    "<query xmlns='" BF_NS_DISCO_INFO "' node='x'/></iq>",
    "<iq type='get' id='n1' from='" USER "' to='" DOMAIN "'>"
    "<query xmlns='" BF_NS_DISCO_ITEMS "' node='x'/></iq>",
    "<iq type='get' id='n1' from='" USER "' to='svc@" DOMAIN "'>"
    "<query xmlns='" BF_NS_DISCO_INFO "' node='x'/></iq>",
  };
  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_assert_cmpuint (route (f, requests[i]), ==, 1);
      BfStanza *reply = last_sent (f);
      g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "n1");
      g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, USER);
      assert_error (reply, "cancel", "item-not-found");
    }
}

static void
test_ping (Fixture *f, gconstpointer unused)
{
  static const char *const targets[] = { DOMAIN, "svc@" DOMAIN, "other@" DOMAIN, DOMAIN "/res" };
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autofree char *xml = g_strdup_printf ("<iq type='get' id='p%u' from='" USER "' to='%s'>"
                                              "<ping xmlns='" BF_NS_PING "'/></iq>", i,
                                              targets[i]);
      g_assert_cmpuint (route (f, xml), ==, 1);
      BfStanza *reply = last_sent (f);
      g_autofree char *id = g_strdup_printf ("p%u", i);
      assert_addressing (reply, "iq", targets[i], USER, id, "result");
      g_assert_cmpuint (bf_stanza_n_children (reply), ==, 0);
    }
}

static void
test_version (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<iq type='get' id='v1' from='" USER "' to='" DOMAIN "'>"
                              "<query xmlns='" BF_NS_VERSION "'/></iq>"), ==, 1);
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "iq", DOMAIN, USER, "v1", "result");
  BfStanza *q = bf_stanza_find_child (reply, "query", BF_NS_VERSION);
  g_assert_nonnull (q);
  g_assert_cmpstr (bf_stanza_find_child_text (q, "name", BF_NS_VERSION), ==, "belfry");
  g_assert_cmpstr (bf_stanza_find_child_text (q, "version", BF_NS_VERSION), ==, BF_VERSION);
}

static void
test_unknown_namespace (Fixture *f, gconstpointer unused)
{
  static const char *const types[] = { "get", "set" };
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *xml = g_strdup_printf ("<iq type='%s' id='u1' from='" USER "' to='" DOMAIN
                                              "'><frob xmlns='urn:unknown'/></iq>", types[i]);
      g_assert_cmpuint (route (f, xml), ==, 1);
      BfStanza *reply = last_sent (f);
      assert_addressing (reply, "iq", DOMAIN, USER, "u1", "error");
      assert_error (reply, "cancel", "service-unavailable");
      g_assert_nonnull (bf_stanza_find_child (reply, "frob", "urn:unknown"));
    }
  /* a version query to a module address is nothing the core serves there */
  g_assert_cmpuint (route (f, "<iq type='get' id='u2' from='" USER "' to='svc@" DOMAIN "'>"
                              "<query xmlns='" BF_NS_VERSION "'/></iq>"), ==, 1);
  assert_error (last_sent (f), "cancel", "service-unavailable");
  /* a disco#info *set* is not a disco query */
  g_assert_cmpuint (route (f, "<iq type='set' id='u3' from='" USER "' to='" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_INFO "'/></iq>"), ==, 1);
  assert_error (last_sent (f), "cancel", "service-unavailable");
}

static void
test_unknown_localpart (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<iq type='get' id='x1' from='" USER "' to='nobody@" DOMAIN "'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "iq", "nobody@" DOMAIN, USER, "x1", "error");
  assert_error (reply, "cancel", "service-unavailable");

  g_assert_cmpuint (route (f, "<message type='chat' id='x2' from='" USER "' to='nobody@" DOMAIN
                              "/r'><body>hello</body></message>"), ==, 1);
  reply = last_sent (f);
  assert_addressing (reply, "message", "nobody@" DOMAIN "/r", USER, "x2", "error");
  assert_error (reply, "cancel", "service-unavailable");
  g_assert_null (bf_stanza_find_child (reply, "body", NULL));

  g_assert_cmpuint (route (f, "<presence from='" USER "' to='nobody@" DOMAIN "'/>"), ==, 0);
  g_assert_cmpuint (route (f, "<presence type='subscribe' from='" USER "' to='nobody@" DOMAIN
                              "'/>"), ==, 0);
  g_assert_cmpuint (state.handled->len, ==, 0);
}

static void
test_message_to_domain (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<message id='d1' from='" USER "' to='" DOMAIN "'>"
                              "<body>hi</body></message>"), ==, 1);
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "message", DOMAIN, USER, "d1", "error");
  g_assert_nonnull (bf_stanza_find_child (reply, "error", NULL));
  g_assert_cmpuint (state.handled->len, ==, 0);
}

static void
test_never_answered (Fixture *f, gconstpointer unused)
{
  static const char *const stanzas[] = {
    "<iq type='result' id='r1' from='" USER "' to='" DOMAIN "'/>",
    "<iq type='error' id='r2' from='" USER "' to='" DOMAIN "'><error type='cancel'>"
    "<item-not-found xmlns='" BF_NS_STANZAS "'/></error></iq>",
    "<iq type='result' id='r3' from='" USER "' to='nobody@" DOMAIN "'/>",
    "<iq type='error' id='r4' from='" USER "' to='nobody@" DOMAIN "'/>",
    "<iq type='result' id='r5' from='" USER "' to='other@" DOMAIN "'/>",
    "<iq type='result' id='r6' from='" USER "' to='" DOMAIN "'><a/><b/></iq>",
    "<message type='error' id='r7' from='" USER "' to='" DOMAIN "'/>",
    "<message type='error' id='r8' from='" USER "' to='nobody@" DOMAIN "'/>",
    "<message type='error' id='r9' from='" USER "' to='other@" DOMAIN "'><body>x</body></message>",
    "<presence from='" USER "' to='" DOMAIN "'/>",
    "<presence type='unavailable' from='" USER "' to='other@" DOMAIN "'/>",
    "<presence type='error' from='" USER "' to='nobody@" DOMAIN "'/>",
  };
  for (guint i = 0; i < G_N_ELEMENTS (stanzas); i++)
    {
      g_test_message ("%s", stanzas[i]);
      g_assert_cmpuint (route (f, stanzas[i]), ==, 0);
    }
  g_assert_cmpuint (bf_router_get_stats (f->router)->answered, ==, 0);
  g_assert_cmpuint (bf_router_get_stats (f->router)->dropped, ==, G_N_ELEMENTS (stanzas));
}

static void
test_bad_request (Fixture *f, gconstpointer unused)
{
  static const char *const stanzas[] = {
    "<iq type='get' id='b1' from='" USER "' to='" DOMAIN "'>"
    "<ping xmlns='" BF_NS_PING "'/><ping xmlns='" BF_NS_PING "'/></iq>",
    "<iq type='set' id='b1' from='" USER "' to='" DOMAIN "'/>",
    "<iq type='get' id='b1' from='" USER "' to='" DOMAIN "'>text only</iq>",
    "<iq type='fetch' id='b1' from='" USER "' to='" DOMAIN "'><ping xmlns='" BF_NS_PING "'/></iq>",
    "<iq id='b1' from='" USER "' to='" DOMAIN "'><ping xmlns='" BF_NS_PING "'/></iq>",
    "<iq type='get' id='b1' from='" USER "' to='svc@" DOMAIN "'/>",
    "<iq type='get' id='b1' from='" USER "' to='nobody@" DOMAIN "'><a/><b/></iq>",
  };
  for (guint i = 0; i < G_N_ELEMENTS (stanzas); i++)
    {
      g_test_message ("%s", stanzas[i]);
      g_assert_cmpuint (route (f, stanzas[i]), ==, 1);
      BfStanza *reply = last_sent (f);
      g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "b1");
      g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, USER);
      assert_error (reply, "modify", "bad-request");
    }

  /* without an id */
  g_assert_cmpuint (route (f, "<iq type='get' from='" USER "' to='" DOMAIN "'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  BfStanza *reply = last_sent (f);
  g_assert_null (bf_stanza_get_attr (reply, "id"));
  assert_error (reply, "modify", "bad-request");
  g_assert_cmpuint (state.handled->len, ==, 0);
}

static void
test_other_domain (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<iq type='get' id='o1' from='" USER "' to='elsewhere.example'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  BfStanza *reply = last_sent (f);
  /* from the domain: the server closes the stream over a 'from' outside it */
  assert_addressing (reply, "iq", DOMAIN, USER, "o1", "error");
  assert_error (reply, "cancel", "item-not-found");

  g_assert_cmpuint (route (f, "<message id='o2' from='" USER "' to='svc@elsewhere.example'>"
                              "<body>x</body></message>"), ==, 1);
  assert_error (last_sent (f), "cancel", "item-not-found");

  /* a subdomain is another domain */
  g_assert_cmpuint (route (f, "<iq type='get' id='o3' from='" USER "' to='x." DOMAIN "'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  assert_error (last_sent (f), "cancel", "item-not-found");

  /* our domain in capitals is still ours */
  g_assert_cmpuint (route (f, "<iq type='get' id='o4' from='" USER "' to='RELAY.Localhost'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  g_assert_cmpstr (bf_stanza_get_attr (last_sent (f), "type"), ==, "result");

  g_assert_cmpuint (route (f, "<presence from='" USER "' to='elsewhere.example'/>"), ==, 0);
  g_assert_cmpuint (route (f, "<iq type='error' id='o5' from='" USER "' to='elsewhere.example'/>"),
                    ==, 0);
  g_assert_cmpuint (route (f, "<message type='error' from='" USER "' to='elsewhere.example'/>"),
                    ==, 0);
  g_assert_cmpuint (state.handled->len, ==, 0);
}

static void
test_other_domain_result (Fixture *f, gconstpointer unused)
{
  /* RFC 6120 §8.2.3: a result is never answered, wherever it was going */
  g_assert_cmpuint (route (f, "<iq type='result' id='o6' from='" USER "' to='elsewhere.example'/>"),
                    ==, 0);
}

static void
test_malformed_to (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<iq type='get' id='m1' from='" USER "' to='a@b@" DOMAIN "'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  BfStanza *reply = last_sent (f);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "m1");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, USER);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "from"), ==, DOMAIN);
  assert_error (reply, "modify", "jid-malformed");

  g_assert_cmpuint (route (f, "<message id='m2' from='" USER "' to='@" DOMAIN "'>"
                              "<body>x</body></message>"), ==, 1);
  assert_error (last_sent (f), "modify", "jid-malformed");

  g_assert_cmpuint (route (f, "<iq type='get' id='m3' from='" USER "' to='" DOMAIN "/'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  assert_error (last_sent (f), "modify", "jid-malformed");

  /* never for an error, nor for presence */
  g_assert_cmpuint (route (f, "<iq type='error' id='m4' from='" USER "' to='a@b@c'/>"), ==, 0);
  g_assert_cmpuint (route (f, "<message type='error' id='m5' from='" USER "' to='@x'/>"), ==, 0);
  g_assert_cmpuint (route (f, "<presence from='" USER "' to='a@'/>"), ==, 0);
  /* nor without any 'to' */
  g_assert_cmpuint (route (f, "<message from='" USER "'><body>x</body></message>"), ==, 0);
  g_assert_cmpuint (state.handled->len, ==, 0);
}

static void
test_malformed_to_result (Fixture *f, gconstpointer unused)
{
  /* RFC 6120 §8.2.3: a result is never answered, even when badly addressed */
  g_assert_cmpuint (route (f, "<iq type='result' id='m6' from='" USER "' to='a@b@c'/>"), ==, 0);
}

/* A missing or malformed 'from' (RFC 7622) never reaches a module, and
 * gets no answer: there is nobody to address it to. */
static void
test_bad_from (Fixture *f, gconstpointer unused)
{
  const BfRouterStats *stats = bf_router_get_stats (f->router);
  g_autofree char *long_local = g_strnfill (1024, 'l');
  g_autofree char *long_from = g_strconcat (long_local, "@example.org", NULL);
  const char *froms[] = { NULL, "", "a@b@example.org", "@example.org", "sp ace@example.org",
                          "q\"q@example.org", "a&lt;b@example.org", "a&amp;b@example.org",
                          "a:b@example.org", "example.org/", long_from };
  guint n = 0;
  for (guint i = 0; i < G_N_ELEMENTS (froms); i++)
    for (guint k = 0; k < 3; k++)
      {
        static const char *const heads[] = { "<message type='chat' id='f' ",
                                             "<iq type='get' id='f' ", "<presence " };
        static const char *const tails[] = {
          " to='svc@" DOMAIN "'><body>x</body></message>",
          " to='svc@" DOMAIN "'><ping xmlns='" BF_NS_PING "'/></iq>",
          " to='" DOMAIN "'/>",
        };
        g_autofree char *attr = froms[i] ? g_strdup_printf ("from='%s'", froms[i]) : g_strdup ("");
        g_autofree char *xml = g_strconcat (heads[k], attr, tails[k], NULL);
        g_assert_cmpuint (route (f, xml), ==, 0);
        n++;
      }
  g_assert_cmpuint (state.handled->len, ==, 0);
  g_assert_cmpuint (stats->dropped_bad_address, ==, n);

  /* without 'to' or with a malformed one: counted too */
  g_assert_cmpuint (route (f, "<message from='" USER "'><body>x</body></message>"), ==, 0);
  g_assert_cmpuint (route (f, "<iq type='get' id='t' from='" USER "' to='a@@" DOMAIN "'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  g_assert_cmpuint (stats->dropped_bad_address, ==, n + 2);
  g_assert_cmpuint (state.handled->len, ==, 0);
}

static BfStanza *
head (const char *name, const char *from, const char *to, const char *id, const char *type)
{
  BfStanza *h = bf_stanza_new (name, BF_NS_COMPONENT);
  if (from) bf_stanza_set_attr (h, "from", from);
  if (to) bf_stanza_set_attr (h, "to", to);
  if (id) bf_stanza_set_attr (h, "id", id);
  if (type) bf_stanza_set_attr (h, "type", type);
  return h;
}

/* A stanza dropped over a limit: messages and iq get/set bounce to the
 * sender with policy-violation (modify), from the address it went to;
 * nothing else is answered. */
static void
test_over_limit (Fixture *f, gconstpointer unused)
{
  const BfRouterStats *stats = bf_router_get_stats (f->router);
  struct { BfStanza *head; gboolean bounced; } cases[] = {
    { head ("message", USER, "svc@" DOMAIN, "m1", "chat"), TRUE },
    { head ("message", USER, "nobody@" DOMAIN "/r", "m2", NULL), TRUE },
    { head ("iq", USER, DOMAIN, "i1", "get"), TRUE },
    { head ("iq", USER, "svc@" DOMAIN, "i2", "set"), TRUE },
    { head ("iq", USER, DOMAIN, "i3", "result"), FALSE },
    { head ("iq", USER, DOMAIN, "i4", "error"), FALSE },
    { head ("iq", USER, DOMAIN, NULL, "get"), FALSE },
    { head ("message", USER, DOMAIN, "m3", "error"), FALSE },
    { head ("presence", USER, DOMAIN, NULL, NULL), FALSE },
    { head ("message", NULL, DOMAIN, "m4", "chat"), FALSE },
    { head ("message", "a@b@c", DOMAIN, "m5", "chat"), FALSE },
    { head ("message", USER, NULL, "m6", "chat"), FALSE },
    { head ("message", USER, "elsewhere.example", "m7", "chat"), FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint before = f->sent->len;
      bf_router_drop_over_limit (f->router, cases[i].head, "depth");
      g_assert_cmpuint (f->sent->len - before, ==, cases[i].bounced ? 1 : 0);
      if (cases[i].bounced)
        {
          BfStanza *reply = last_sent (f);
          const BfStanza *h = cases[i].head;
          assert_addressing (reply, bf_stanza_get_name (h), bf_stanza_get_attr (h, "to"), USER,
                             bf_stanza_get_attr (h, "id"), "error");
          assert_error (reply, "modify", "policy-violation");
          g_assert_cmpuint (bf_stanza_n_children (reply), ==, 1);
        }
      bf_stanza_free (cases[i].head);
    }
  /* a top-level element that is no stanza of the component stream */
  g_autoptr (BfStanza) other = bf_stanza_new ("message", "urn:other");
  bf_stanza_set_attr (other, "from", USER);
  bf_stanza_set_attr (other, "to", DOMAIN);
  guint before = f->sent->len;
  bf_router_drop_over_limit (f->router, other, "size");
  g_assert_cmpuint (f->sent->len, ==, before);
  g_assert_cmpuint (stats->dropped_over_limit, ==, G_N_ELEMENTS (cases) + 1);
  g_assert_cmpuint (state.handled->len, ==, 0);
}

/* --- modules get their stanzas --- */

static void
test_to_module (Fixture *f, gconstpointer unused)
{
  const BfRouterStats *stats = bf_router_get_stats (f->router);

  g_assert_cmpuint (route (f, "<message type='chat' id='t1' from='" USER "' to='svc@" DOMAIN
                              "/x'><body>hello</body></message>"), ==, 0);
  g_assert_cmpuint (state.handled->len, ==, 1);
  g_autofree char *got = bf_stanza_to_string (g_ptr_array_index (state.handled, 0));
  g_assert_cmpstr (got, ==, "<message type='chat' id='t1' from='" USER "' to='svc@" DOMAIN
                            "/x'><body>hello</body></message>");
  g_assert_cmpuint (stats->to_modules, ==, 1);

  /* its second localpart goes to it too */
  g_assert_cmpuint (route (f, "<message id='t2' from='" USER "' to='svc2@" DOMAIN "'>"
                              "<body>hi</body></message>"), ==, 0);
  g_assert_cmpuint (state.handled->len, ==, 2);

  /* declined message: the core says service-unavailable */
  g_assert_cmpuint (route (f, "<message id='t3' from='" USER "' to='svc@" DOMAIN "'>"
                              "<body>refuse</body></message>"), ==, 1);
  g_assert_cmpuint (state.handled->len, ==, 3);
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "message", "svc@" DOMAIN, USER, "t3", "error");
  assert_error (reply, "cancel", "service-unavailable");

  /* an iq the module answers itself */
  g_assert_cmpuint (route (f, "<iq type='set' id='t4' from='" USER "' to='svc@" DOMAIN "'>"
                              "<do xmlns='" NS_HANDLED "'/></iq>"), ==, 1);
  g_assert_cmpuint (state.handled->len, ==, 4);
  reply = last_sent (f);
  assert_addressing (reply, "iq", "svc@" DOMAIN, USER, "t4", "result");
  g_assert_nonnull (bf_stanza_find_child (reply, "answered-by-module", NS_HANDLED));

  /* results for a module address go to it and are not answered */
  g_assert_cmpuint (route (f, "<iq type='result' id='t5' from='" USER "' to='svc@" DOMAIN
                              "'/>"), ==, 0);
  g_assert_cmpuint (state.handled->len, ==, 5);

  /* presence for a module that does not take it: nothing */
  g_assert_cmpuint (route (f, "<presence from='" USER "' to='svc@" DOMAIN "'/>"), ==, 0);
  g_assert_cmpuint (state.handled->len, ==, 6);

  /* another module's address does not reach this one; a message to a
   * module without handle_stanza gets the default error */
  g_assert_cmpuint (route (f, "<message id='t6' from='" USER "' to='other@" DOMAIN "'>"
                              "<body>hi</body></message>"), ==, 1);
  g_assert_cmpuint (state.handled->len, ==, 6);
  assert_error (last_sent (f), "cancel", "service-unavailable");

  /* t1, t2, t4, t5 were taken by the module; t3 and the presence were not */
  g_assert_cmpuint (stats->to_modules, ==, 4);
}

static void
test_domain_namespace (Fixture *f, gconstpointer unused)
{
  g_assert_cmpuint (route (f, "<iq type='get' id='dn1' from='" USER "' to='" DOMAIN "'>"
                              "<query xmlns='" NS_DOMAIN_CLAIMED "'/></iq>"), ==, 1);
  g_assert_cmpuint (state.handled->len, ==, 1);
  BfStanza *seen = g_ptr_array_index (state.handled, 0);
  g_assert_cmpstr (bf_stanza_get_attr (seen, "id"), ==, "dn1");
  BfStanza *reply = last_sent (f);
  assert_addressing (reply, "iq", DOMAIN, USER, "dn1", "result");
  g_assert_nonnull (bf_stanza_find_child (reply, "answered-by-module", NS_DOMAIN_CLAIMED));
  g_assert_cmpuint (bf_router_get_stats (f->router)->to_modules, ==, 1);

  /* other namespaces on the domain do not go to it */
  g_assert_cmpuint (route (f, "<iq type='get' id='dn2' from='" USER "' to='" DOMAIN "'>"
                              "<ping xmlns='" BF_NS_PING "'/></iq>"), ==, 1);
  g_assert_cmpuint (state.handled->len, ==, 1);
  g_assert_cmpstr (bf_stanza_get_attr (last_sent (f), "type"), ==, "result");
}

/* --- entity capabilities (XEP-0115) --- */

/* The caps 'ver' of tmod's addresses, of other's and of the domain in this
 * fixture, worked out apart from belfry (python3's hashlib) from the answers
 * test_address_disco and test_domain_disco_info check: base64 (SHA-1 (S)),
 *   conference/text//Test room<http://jabber.org/protocol/disco#info<
 *   http://jabber.org/protocol/disco#items<urn:test:feat<urn:xmpp:ping<
 *   component/generic//other<http://jabber.org/protocol/disco#info<
 *   http://jabber.org/protocol/disco#items<urn:other<urn:test:feat<urn:xmpp:ping<
 *   component/generic//belfry<proxy/bytestreams//Test proxy<
 *   http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<
 *   jabber:iq:version<urn:other<urn:test:domainns<urn:test:feat<urn:xmpp:ping< */
#define TMOD_VER "Wg5b/Cd1mr66qSYtgjnUkXfweiQ="
#define OTHER_VER "kYtlM5vF5+ne3SpDj9Qh3F1cseg="
#define DOMAIN_VER "g42+L/86HYDB23TYj45xHgpEyiw="   /* with the commands feature (XEP-0050) */

/* Asks @to for disco#info with @node (NULL: none) and returns the reply. */
static BfStanza *
disco_info_node (Fixture *f, const char *to, const char *node)
{
  g_autofree char *node_attr = node ? g_strdup_printf (" node='%s'", node) : g_strdup ("");
  g_autofree char *xml = g_strdup_printf ("<iq type='get' id='c1' from='" USER "' to='%s'>"
                                          "<query xmlns='" BF_NS_DISCO_INFO "'%s/></iq>",
                                          to, node_attr);
  g_assert_cmpuint (route (f, xml), ==, 1);
  BfStanza *reply = last_sent (f);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "id"), ==, "c1");
  g_assert_cmpstr (bf_stanza_get_attr (reply, "from"), ==, to);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "to"), ==, USER);
  return reply;
}

/* The answer for the caps node is the plain answer with the node echoed
 * (XEP-0115 §6.2), and its hash is the ver in the node (§5.4). */
static void
assert_caps_answer (Fixture *f, const char *to, const char *ver)
{
  BfStanza *plain = disco_info_node (f, to, NULL);
  BfStanza *plain_q = bf_stanza_find_child (plain, "query", BF_NS_DISCO_INFO);
  g_assert_nonnull (plain_q);
  g_assert_null (bf_stanza_get_attr (plain_q, "node"));
  g_autofree char *plain_ver = bf_caps_ver (plain_q);
  g_assert_cmpstr (plain_ver, ==, ver);

  g_autofree char *node = g_strconcat (BF_CAPS_NODE "#", ver, NULL);
  BfStanza *reply = disco_info_node (f, to, node);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, "result");
  g_assert_cmpuint (bf_stanza_n_children (reply), ==, 1);
  BfStanza *q = bf_stanza_find_child (reply, "query", BF_NS_DISCO_INFO);
  g_assert_nonnull (q);
  g_assert_cmpstr (bf_stanza_get_attr (q, "node"), ==, node);
  g_autofree char *got_ver = bf_caps_ver (q);
  g_assert_cmpstr (got_ver, ==, ver);

  g_autoptr (BfStanza) expected = bf_stanza_copy (plain_q);
  bf_stanza_set_attr (expected, "node", node);
  g_autofree char *want = bf_stanza_to_string (expected);
  g_autofree char *got = bf_stanza_to_string (q);
  g_assert_cmpstr (got, ==, want);
}

static void
assert_item_not_found (Fixture *f, const char *to, const char *node)
{
  assert_error (disco_info_node (f, to, node), "cancel", "item-not-found");
}

static void
test_disco_caps_node (Fixture *f, gconstpointer unused)
{
  assert_caps_answer (f, "svc@" DOMAIN, TMOD_VER);
  /* every address of a module, with or without a resource, has its hash */
  assert_caps_answer (f, "svc2@" DOMAIN "/anything", TMOD_VER);
  assert_caps_answer (f, DOMAIN, DOMAIN_VER);

  assert_caps_answer (f, "other@" DOMAIN, OTHER_VER);

  /* the module was asked first each time, and declined */
  g_assert_cmpuint (state.handled->len, ==, 4);

  /* another address's node, another software's node, a stale ver */
  assert_item_not_found (f, "svc@" DOMAIN, BF_CAPS_NODE "#" OTHER_VER);
  assert_item_not_found (f, "svc@" DOMAIN, BF_CAPS_NODE "#" DOMAIN_VER);
  assert_item_not_found (f, DOMAIN, BF_CAPS_NODE "#" TMOD_VER);
  assert_item_not_found (f, "svc@" DOMAIN, "http://code.google.com/p/exodus#" TMOD_VER);
  assert_item_not_found (f, "svc@" DOMAIN, BF_CAPS_NODE);
  assert_item_not_found (f, "svc@" DOMAIN, BF_CAPS_NODE "#");
  assert_item_not_found (f, "svc@" DOMAIN, BF_CAPS_NODE "#" TMOD_VER " ");
  assert_item_not_found (f, "svc@" DOMAIN, "");

  /* the caps node is no items node (XEP-0115 §6.2) */
  g_assert_cmpuint (route (f, "<iq type='get' id='c2' from='" USER "' to='svc@" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_ITEMS "' node='"
                              BF_CAPS_NODE "#" TMOD_VER "'/></iq>"), ==, 1);
  assert_error (last_sent (f), "cancel", "item-not-found");

  /* an address nobody serves has no caps either */
  g_assert_cmpuint (route (f, "<iq type='get' id='c3' from='" USER "' to='nobody@" DOMAIN "'>"
                              "<query xmlns='" BF_NS_DISCO_INFO "' node='"
                              BF_CAPS_NODE "#" TMOD_VER "'/></iq>"), ==, 1);
  assert_error (last_sent (f), "cancel", "service-unavailable");
}

/* --- presence from modules --- */

static void
test_send_presence (Fixture *f, gconstpointer unused)
{
  BfModule *tmod = bf_modules_nth (f->modules, 0);

  g_assert_true (bf_module_send_presence (tmod, "svc@" DOMAIN, "alice@example.org", "subscribed"));
  g_assert_cmpuint (f->sent->len, ==, 1);
  g_autofree char *xml = bf_stanza_to_string (last_sent (f));
  g_assert_cmpstr (xml, ==, "<presence from='svc@" DOMAIN "' to='alice@example.org' "
                            "type='subscribed'/>");

  static const char *const types[] = {
    "unavailable", "subscribe", "subscribed", "unsubscribe", "unsubscribed", "probe",
  };
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_assert_true (bf_module_send_presence (tmod, "svc2@" DOMAIN, USER, types[i]));
      assert_addressing (last_sent (f), "presence", "svc2@" DOMAIN, USER, NULL, types[i]);
      g_assert_cmpuint (bf_stanza_n_children (last_sent (f)), ==, 0);
    }

  /* available: with the caps of the address, which a client then checks */
  g_assert_true (bf_module_send_presence (tmod, "svc@" DOMAIN "/caps", "alice@example.org", NULL));
  BfStanza *p = last_sent (f);
  assert_addressing (p, "presence", "svc@" DOMAIN "/caps", "alice@example.org", NULL, NULL);
  g_assert_cmpuint (bf_stanza_n_children (p), ==, 1);
  BfStanza *c = bf_stanza_find_child (p, "c", BF_NS_CAPS);
  g_assert_nonnull (c);
  g_assert_cmpstr (bf_stanza_get_attr (c, "hash"), ==, "sha-1");
  g_assert_cmpstr (bf_stanza_get_attr (c, "node"), ==, BF_CAPS_NODE);
  g_assert_cmpstr (bf_stanza_get_attr (c, "ver"), ==, TMOD_VER);
  g_autofree char *node = g_strconcat (bf_stanza_get_attr (c, "node"), "#",
                                       bf_stanza_get_attr (c, "ver"), NULL);
  BfStanza *reply = disco_info_node (f, "svc@" DOMAIN "/caps", node);
  BfStanza *q = bf_stanza_find_child (reply, "query", BF_NS_DISCO_INFO);
  g_assert_nonnull (q);
  g_assert_cmpstr (bf_stanza_get_attr (q, "node"), ==, node);
  g_autofree char *ver = bf_caps_ver (q);
  g_assert_cmpstr (ver, ==, TMOD_VER);

  /* the domain is compared without regard to case, as the router does */
  g_assert_true (bf_module_send_presence (tmod, "svc@RELAY.Localhost", USER, NULL));
  g_assert_cmpstr (bf_stanza_get_attr (bf_stanza_find_child (last_sent (f), "c", BF_NS_CAPS),
                                       "ver"), ==, TMOD_VER);

  /* another module's presence carries its own hash */
  BfModule *other = bf_modules_nth (f->modules, 1);
  g_assert_true (bf_module_send_presence (other, "other@" DOMAIN, USER, NULL));
  g_assert_cmpstr (bf_stanza_get_attr (bf_stanza_find_child (last_sent (f), "c", BF_NS_CAPS),
                                       "ver"), ==, OTHER_VER);
  reply = disco_info_node (f, "other@" DOMAIN, BF_CAPS_NODE "#" OTHER_VER);
  g_assert_cmpstr (bf_stanza_get_attr (reply, "type"), ==, "result");
}

static void
test_send_presence_refused (Fixture *f, gconstpointer unused)
{
  BfModule *tmod = bf_modules_nth (f->modules, 0);
  static const char *const not_ours[] = {
    "other@" DOMAIN,          /* another module's */
    "nobody@" DOMAIN,         /* nobody's */
    DOMAIN,                   /* the component's */
    "svc@elsewhere.example",  /* not our domain */
    "svc@x." DOMAIN,
    "SVC@" DOMAIN,            /* localparts are matched exactly, as routed */
    "a@b@" DOMAIN,            /* malformed */
  };
  for (guint i = 0; i < G_N_ELEMENTS (not_ours); i++)
    {
      g_test_message ("from %s", not_ours[i]);
      g_test_expect_message ("belfry-module", G_LOG_LEVEL_WARNING, "*not one of its addresses*");
      g_assert_false (bf_module_send_presence (tmod, not_ours[i], USER, NULL));
      g_test_assert_expected_messages ();
    }
  g_test_expect_message ("belfry-module", G_LOG_LEVEL_WARNING, "*not one of its addresses*");
  g_assert_false (bf_module_send_presence (tmod, NULL, USER, NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message ("belfry-module", G_LOG_LEVEL_WARNING, "*without 'to'*");
  g_assert_false (bf_module_send_presence (tmod, "svc@" DOMAIN, NULL, NULL));
  g_test_assert_expected_messages ();

  static const char *const bad_types[] = { "error", "available", "", "Subscribed" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_types); i++)
    {
      g_test_expect_message ("belfry-module", G_LOG_LEVEL_WARNING, "*of type*");
      g_assert_false (bf_module_send_presence (tmod, "svc@" DOMAIN, USER, bad_types[i]));
      g_test_assert_expected_messages ();
    }
  g_assert_cmpuint (f->sent->len, ==, 0);
}

static const char *const any_localparts[] = { BF_MODULE_ANY_LOCALPART, NULL };
static const char *const any_features[] = { "urn:xmpp:jingle:1", BF_NS_CAPS, NULL };
static const BfModuleInfo any_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "anymod",
  .description = "Any address",
  .localparts = any_localparts,
  .features = any_features,
};

/* A module that takes every address speaks for any localpart that no other
 * module serves, escaped JIDs included. */
static void
test_send_presence_any_localpart (void)
{
  Fixture fx = { 0 }, *f = &fx;
  fixture_init (f, (const BfModuleInfo *const[]) { &tmod_info, &any_info, NULL });
  BfModule *any = bf_modules_nth (f->modules, 1);

  g_assert_true (bf_module_send_presence (any, "bob\\40example.org@" DOMAIN, USER, "subscribed"));
  g_assert_true (bf_module_send_presence (any, "bob\\40example.org@" DOMAIN, USER, NULL));
  BfStanza *c = bf_stanza_find_child (last_sent (f), "c", BF_NS_CAPS);
  g_assert_nonnull (c);
  const char *ver = bf_stanza_get_attr (c, "ver");
  /* component/generic//Any address<http://jabber.org/protocol/caps<
   * http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<
   * urn:xmpp:jingle:1<urn:xmpp:ping< */
  g_assert_cmpstr (ver, ==, "0OhPJGPTNsp33qaAMsXymN8NkPw=");
  g_autofree char *node = g_strconcat (BF_CAPS_NODE "#", ver, NULL);
  BfStanza *reply = disco_info_node (f, "bob\\40example.org@" DOMAIN, node);
  BfStanza *q = bf_stanza_find_child (reply, "query", BF_NS_DISCO_INFO);
  g_assert_nonnull (q);
  g_assert_cmpstr (bf_stanza_get_attr (q, "node"), ==, node);
  g_assert_cmpuint (count_features (q, BF_NS_CAPS), ==, 1);
  g_assert_true (has_identity (q, "component", "generic", "Any address"));
  /* the same hash from any of its addresses */
  assert_caps_answer (f, "carol@" DOMAIN "/r", ver);

  /* tmod's addresses stay tmod's */
  g_test_expect_message ("belfry-module", G_LOG_LEVEL_WARNING, "*not one of its addresses*");
  g_assert_false (bf_module_send_presence (any, "svc@" DOMAIN, USER, NULL));
  g_test_assert_expected_messages ();
  g_test_expect_message ("belfry-module", G_LOG_LEVEL_WARNING, "*not one of its addresses*");
  g_assert_false (bf_module_send_presence (any, DOMAIN, USER, NULL));
  g_test_assert_expected_messages ();

  fixture_clear (f, 1);   /* tmod's shutdown() */
}

/* --- addresses chosen at run time (bf_module_set_localpart_func) --- */

static guint claim_handled;
static guint claim_items;   /* how many rooms claimmod lists */

/* Claims "room-*" localparts, never an escaped JID: rooms of a conference. */
static gboolean
claim_localpart (BfModule *module, const char *localpart)
{
  return g_str_has_prefix (localpart, "room-") && strstr (localpart, "\\40") == NULL;
}

static void
claim_disco_items (BfModule *module, BfDiscoItems *items)
{
  g_assert_cmpstr (bf_disco_items_get_from (items), ==, USER);
  /* not its own: refused (logged), the rest still listed */
  g_test_expect_message ("belfry-module", G_LOG_LEVEL_WARNING, "*not one of its addresses*");
  g_assert_true (bf_disco_items_add (items, "svc@" DOMAIN, "taken"));
  g_test_assert_expected_messages ();
  for (guint i = 0; i < claim_items; i++)
    {
      g_autofree char *jid = g_strdup_printf ("room-%u@" DOMAIN, i);
      if (!bf_disco_items_add (items, jid, "A room"))
        return;
    }
}

static gboolean
claim_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  bf_module_set_localpart_func (module, claim_localpart);
  bf_module_set_disco_items_func (module, claim_disco_items);
  return TRUE;
}

static gboolean
claim_handle (BfModule *module, const BfStanza *stanza)
{
  claim_handled++;
  return TRUE;
}

static const BfModuleInfo claim_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "claimmod",
  .init = claim_init,
  .handle_stanza = claim_handle,
};

/* An exact localpart beats a claim, a claim beats "*", and the claiming
 * module's rooms are listed after the static addresses, within
 * BF_DISCO_ITEMS_MAX. */
static void
test_claimed_localparts (void)
{
  Fixture fx = { 0 }, *f = &fx;
  /* "*" loaded first: a claim still wins over it */
  fixture_init (f, (const BfModuleInfo *const[]) { &any_info, &tmod_info, &claim_info, NULL });
  BfModule *any = bf_modules_nth (f->modules, 0);
  BfModule *tmod = bf_modules_nth (f->modules, 1);
  BfModule *claim = bf_modules_nth (f->modules, 2);

  g_assert_true (bf_modules_find_localpart (f->modules, "svc") == tmod);
  g_assert_true (bf_modules_find_localpart (f->modules, "room-team") == claim);
  g_assert_true (bf_modules_find_localpart (f->modules, "room-bob\\40example.org") == any);
  g_assert_true (bf_modules_find_localpart (f->modules, "bob\\40example.org") == any);

  claim_handled = 0;
  route (f, "<message from='" USER "' to='room-team@" DOMAIN "'><body>hi</body></message>");
  g_assert_cmpuint (claim_handled, ==, 1);
  g_assert_cmpuint (state.handled->len, ==, 0);

  claim_items = 3;
  route (f, "<iq type='get' id='i9' from='" USER "' to='" DOMAIN "'>"
            "<query xmlns='" BF_NS_DISCO_ITEMS "'/></iq>");
  BfStanza *q = bf_stanza_find_child (last_sent (f), "query", BF_NS_DISCO_ITEMS);
  g_assert_nonnull (q);
  /* svc, svc2 (tmod), room-0..2 */
  g_assert_cmpuint (bf_stanza_n_children (q), ==, 5);
  BfStanzaIter iter;
  BfStanza *item;
  guint i = 0;
  bf_stanza_iter_init (&iter, q);
  while (bf_stanza_iter_next (&iter, &item))
    {
      if (i == 2)
        {
          g_assert_cmpstr (bf_stanza_get_attr (item, "jid"), ==, "room-0@" DOMAIN);
          g_assert_cmpstr (bf_stanza_get_attr (item, "name"), ==, "A room");
        }
      i++;
    }

  claim_items = 2 * BF_DISCO_ITEMS_MAX;
  route (f, "<iq type='get' id='i10' from='" USER "' to='" DOMAIN "'>"
            "<query xmlns='" BF_NS_DISCO_ITEMS "'/></iq>");
  q = bf_stanza_find_child (last_sent (f), "query", BF_NS_DISCO_ITEMS);
  g_assert_cmpuint (bf_stanza_n_children (q), ==, BF_DISCO_ITEMS_MAX);

  fixture_clear (f, 1);   /* tmod's shutdown() */
}

/* --- loading static modules --- */

static const char modules_conf[] =
  "[component]\n"
  "jid = " DOMAIN "\n"
  "secret = x\n"
  "[modules]\n"
  "load = tmod;other;failmod;keymod\n"
  "[tmod]\n"
  "greeting = hello from tmod\n"
  "[other]\n"
  "greeting = hello from other\n"
  "[failmod]\n"
  "count = 50\n"
  "[keymod]\n"
  "known = 1\n"
  "tpyo = 1\n";

static BfConfig *
modules_config (void)
{
  g_autoptr (GError) error = NULL;
  BfConfig *c = bf_config_load_data (modules_conf, LABEL, &error);
  g_assert_no_error (error);
  return c;
}

static void
test_init_gets_own_group (void)
{
  state_reset ();
  g_autoptr (BfConfig) c = modules_config ();
  BfModules *m = bf_modules_new (c, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_modules_add_static (m, &tmod_info, &error));
  g_assert_no_error (error);
  g_assert_true (bf_modules_add_static (m, &other_info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (state.greeting, ==, "hello from tmod");
  g_assert_cmpstr (state.other_greeting, ==, "hello from other");
  g_assert_true (bf_modules_find_localpart (m, "svc") == bf_modules_nth (m, 0));
  g_assert_true (bf_modules_find_localpart (m, "other") == bf_modules_nth (m, 1));
  g_assert_true (bf_modules_find_domain_ns (m, NS_DOMAIN_CLAIMED) == bf_modules_nth (m, 0));
  g_assert_null (bf_modules_find_localpart (m, "nobody"));
  g_assert_cmpstr (bf_module_get_domain (bf_modules_nth (m, 0)), ==, DOMAIN);
  g_assert_cmpstr (bf_module_get_name (bf_modules_nth (m, 1)), ==, "other");
  bf_modules_free (m);
  g_assert_cmpuint (state.shutdowns, ==, 2);
  state_clear ();
}

static void
test_api_version_mismatch (void)
{
  state_reset ();
  g_autoptr (BfConfig) c = modules_config ();
  BfModules *m = bf_modules_new (c, NULL, NULL);
  BfModuleInfo bad = tmod_info;
  bad.api_version = BF_MODULE_API_VERSION + 98;
  g_autoptr (GError) error = NULL;
  g_assert_false (bf_modules_add_static (m, &bad, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_MODULE);
  g_test_message ("%s", error->message);
  g_autofree char *theirs = g_strdup_printf ("version %u", BF_MODULE_API_VERSION + 98);
  g_autofree char *ours = g_strdup_printf ("version %u", BF_MODULE_API_VERSION);
  g_assert_nonnull (strstr (error->message, theirs));
  g_assert_nonnull (strstr (error->message, ours));
  g_assert_nonnull (strstr (error->message, "tmod"));
  g_assert_cmpuint (bf_modules_count (m), ==, 0);
  g_assert_null (state.greeting);   /* init() never ran */
  bf_modules_free (m);
  g_assert_cmpuint (state.shutdowns, ==, 0);
  state_clear ();
}

static const char *const dup_localparts[] = { "svc", NULL };
static const BfModuleInfo dup_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "dup",
  .localparts = dup_localparts,
};

static const char *const dupns_ns[] = { NS_DOMAIN_CLAIMED, NULL };
static const BfModuleInfo dupns_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "dupns",
  .domain_namespaces = dupns_ns,
};

static void
test_duplicate_localpart (void)
{
  state_reset ();
  g_autoptr (BfConfig) c = modules_config ();
  BfModules *m = bf_modules_new (c, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (bf_modules_add_static (m, &tmod_info, &error));
  g_assert_no_error (error);
  g_assert_false (bf_modules_add_static (m, &dup_info, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_MODULE);
  g_assert_nonnull (strstr (error->message, "'tmod'"));
  g_assert_nonnull (strstr (error->message, "'dup'"));
  g_assert_nonnull (strstr (error->message, "svc@" DOMAIN));
  g_assert_cmpuint (bf_modules_count (m), ==, 1);
  g_assert_true (bf_modules_find_localpart (m, "svc") == bf_modules_nth (m, 0));
  g_clear_error (&error);

  /* the same for a domain namespace */
  g_assert_false (bf_modules_add_static (m, &dupns_info, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_MODULE);
  g_assert_nonnull (strstr (error->message, NS_DOMAIN_CLAIMED));
  g_assert_cmpuint (bf_modules_count (m), ==, 1);
  bf_modules_free (m);
  state_clear ();
}

static gboolean
failmod_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  gint64 count;
  return bf_config_get_int (config, "count", 1, 1, 10, &count, error);
}

static const BfModuleInfo failmod_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "failmod",
  .init = failmod_init,
  .shutdown = count_shutdown,
};

static void
test_init_error (void)
{
  state_reset ();
  g_autoptr (BfConfig) c = modules_config ();
  BfModules *m = bf_modules_new (c, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_false (bf_modules_add_static (m, &failmod_info, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, LABEL));
  g_assert_nonnull (strstr (error->message, "[failmod]"));
  g_assert_nonnull (strstr (error->message, "count"));
  g_assert_nonnull (strstr (error->message, "50"));
  bf_modules_free (m);
  /* shutdown() runs even when init() failed */
  g_assert_cmpuint (state.shutdowns, ==, 1);
  state_clear ();
}

static gboolean
keymod_init (BfModule *module, BfConfigGroup *config, GError **error)
{
  gint64 known;
  return bf_config_get_int (config, "known", 0, 0, 10, &known, error);
}

static const BfModuleInfo keymod_info = {
  .api_version = BF_MODULE_API_VERSION,
  .name = "keymod",
  .init = keymod_init,
};

static void
test_unknown_key (void)
{
  state_reset ();
  g_autoptr (BfConfig) c = modules_config ();
  BfModules *m = bf_modules_new (c, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_false (bf_modules_add_static (m, &keymod_info, &error));
  g_assert_error (error, BF_CONFIG_ERROR, BF_CONFIG_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, LABEL));
  g_assert_nonnull (strstr (error->message, "[keymod]"));
  g_assert_nonnull (strstr (error->message, "tpyo"));
  bf_modules_free (m);
  state_clear ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/router/disco-info/domain", test_domain_disco_info);
  ADD ("/router/disco-items/domain", test_domain_disco_items);
  ADD ("/router/disco/address", test_address_disco);
  ADD ("/router/disco/node", test_disco_node);
  ADD ("/router/ping", test_ping);
  ADD ("/router/version", test_version);
  ADD ("/router/unknown-namespace", test_unknown_namespace);
  ADD ("/router/unknown-localpart", test_unknown_localpart);
  ADD ("/router/message-to-domain", test_message_to_domain);
  ADD ("/router/never-answered", test_never_answered);
  ADD ("/router/bad-request", test_bad_request);
  ADD ("/router/other-domain/error-reply", test_other_domain);
  ADD ("/router/other-domain/result-ignored", test_other_domain_result);
  ADD ("/router/malformed-to/error-reply", test_malformed_to);
  ADD ("/router/malformed-to/result-ignored", test_malformed_to_result);
  ADD ("/router/bad-from/dropped", test_bad_from);
  ADD ("/router/over-limit/bounce", test_over_limit);
  ADD ("/router/to-module", test_to_module);
  ADD ("/router/domain-namespace", test_domain_namespace);
  ADD ("/router/disco/caps-node", test_disco_caps_node);
  ADD ("/modules/send-presence", test_send_presence);
  ADD ("/modules/send-presence/refused", test_send_presence_refused);
#undef ADD
  g_test_add_func ("/modules/init-gets-own-group", test_init_gets_own_group);
  g_test_add_func ("/modules/api-version-mismatch", test_api_version_mismatch);
  g_test_add_func ("/modules/duplicate-localpart", test_duplicate_localpart);
  g_test_add_func ("/modules/init-error", test_init_error);
  g_test_add_func ("/modules/unknown-key", test_unknown_key);
  g_test_add_func ("/modules/send-presence/any-localpart", test_send_presence_any_localpart);
  g_test_add_func ("/modules/claimed-localparts", test_claimed_localparts);
  return g_test_run ();
}
