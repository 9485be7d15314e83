/* The core's disco#info trees (disco.h). */
#include "build-config.h"

#include "disco.h"

/* Every address answers these itself (router.c); the domain also answers
 * version and the operator's ad-hoc commands (admin.c; their list is
 * empty for everyone not in [admin] jids). */
static const char *const address_features[] = {
  BF_NS_DISCO_INFO, BF_NS_DISCO_ITEMS, BF_NS_PING, NULL
};
static const char *const domain_features[] = {
  BF_NS_DISCO_INFO, BF_NS_DISCO_ITEMS, BF_NS_PING, BF_NS_VERSION,
  "http://jabber.org/protocol/commands", NULL
};

static const BfDiscoIdentity default_identity = { "component", "generic", NULL };
static const BfDiscoIdentity core_identity = { "component", "generic", "belfry" };

static void
add_identity (BfStanza *query, const BfDiscoIdentity *id, const char *fallback_name)
{
  BfStanza *el = bf_stanza_add_child (query, "identity", NULL);
  bf_stanza_set_attr (el, "category", id->category);
  bf_stanza_set_attr (el, "type", id->type);
  const char *name = id->name ? id->name : fallback_name;
  if (name)
    bf_stanza_set_attr (el, "name", name);
}

/* Adds each feature once, keeping first-seen order: a repeated feature
 * would also make the caps hash invalid (XEP-0115 §5.4, 3.4). */
static void
add_features (BfStanza *query, GHashTable *seen, const char *const *features)
{
  for (guint i = 0; features && features[i]; i++)
    {
      if (g_hash_table_contains (seen, features[i]))
        continue;
      g_hash_table_add (seen, (gpointer) features[i]);
      BfStanza *f = bf_stanza_add_child (query, "feature", NULL);
      bf_stanza_set_attr (f, "var", features[i]);
    }
}

BfStanza *
bf_disco_address_info (const BfModuleInfo *info)
{
  BfStanza *q = bf_stanza_new ("query", BF_NS_DISCO_INFO);
  add_identity (q, info->identity ? info->identity : &default_identity,
                info->description ? info->description : info->name);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  add_features (q, seen, address_features);
  add_features (q, seen, info->features);
  return q;
}

BfStanza *
bf_disco_domain_info (const BfModuleInfo *const *infos)
{
  BfStanza *q = bf_stanza_new ("query", BF_NS_DISCO_INFO);
  add_identity (q, &core_identity, NULL);
  for (guint i = 0; infos[i]; i++)
    for (const BfDiscoIdentity *id = infos[i]->domain_identities; id && id->category; id++)
      add_identity (q, id, NULL);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  add_features (q, seen, domain_features);
  for (guint i = 0; infos[i]; i++)
    {
      const BfModuleInfo *info = infos[i];
      add_features (q, seen, info->features);
      add_features (q, seen, info->domain_namespaces);
    }
  return q;
}
