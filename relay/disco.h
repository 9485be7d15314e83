/* What the core reports in disco#info (XEP-0030) for the domain and for a
 * module's address.  The router's answers and the entity capabilities hash
 * (caps.h) are both built from these trees, so the 'ver' a module
 * advertises in its presence always verifies against the router's answer.
 *
 * Built from the modules' BfModuleInfo alone, so the loader (modules.c,
 * for presence) and the router both use this file and it uses neither.
 * Pure: no state, any thread. */
#pragma once

#include <belfry/module.h>

G_BEGIN_DECLS

/* The <query xmlns='disco#info'/> for every address of the module @info
 * describes: its identity (component/generic named after the module when
 * it declares none), then the core's features and its own, each once. */
BfStanza *bf_disco_address_info (const BfModuleInfo *info);

/* The <query xmlns='disco#info'/> for the component's domain: belfry's own
 * identity and the modules' domain identities, then the core's features
 * and every module's features and domain namespaces, each once.  @infos:
 * the loaded modules' (in load order), NULL-terminated. */
BfStanza *bf_disco_domain_info (const BfModuleInfo *const *infos);

G_END_DECLS
