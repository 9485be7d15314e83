/* What the core reports in disco#info (XEP-0030) for the domain and for a
 * module's address.  The router's answers and the entity capabilities hash
 * (caps.h) are both built from these trees, so the 'ver' a module
 * advertises in its presence always verifies against the router's answer. */
#pragma once

#include "modules.h"

G_BEGIN_DECLS

/* The <query xmlns='disco#info'/> for every address of @module: its
 * identity (component/generic named after the module when it declares
 * none), then the core's features and its own, each once. */
BfStanza *bf_disco_address_info (BfModule *module);

/* The <query xmlns='disco#info'/> for the component's domain: belfry's own
 * identity and the modules' domain identities, then the core's features
 * and every module's features and domain namespaces, each once. */
BfStanza *bf_disco_domain_info (BfModules *modules);

G_END_DECLS
