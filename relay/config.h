/* belfry's configuration file: a GKeyFile read and checked once at start.
 * Every error names the file, the group and the key. */
#pragma once

#include <glib.h>
#include <belfry/module.h>
#include "xmlstream.h"

G_BEGIN_DECLS

#define BF_CONFIG_ERROR (bf_config_error_quark ())
/* [component] siblings: bounded, each is pinged every second. */
#define BF_CONFIG_MAX_SIBLINGS 64
GQuark bf_config_error_quark (void);

typedef enum {
  BF_CONFIG_ERROR_READ,      /* the file cannot be read or parsed */
  BF_CONFIG_ERROR_INVALID,   /* a value is missing, malformed or out of range */
  BF_CONFIG_ERROR_MODULE,    /* a module cannot be loaded or refused its group */
} BfConfigError;

typedef struct {
  char *path;
  GKeyFile *keyfile;

  char *jid;
  char *node_jid;            /* this process's own sub-domain; NULL: none */
  char *rooms_jid;           /* rooms' domain, balanced by the room; NULL: none */
  char **siblings;           /* the other processes' node-jids; NULL: none */
  char *host;
  guint16 port;
  char *secret;              /* never log this */
  guint keepalive_interval;  /* seconds */
  guint ping_timeout;        /* seconds */
  char *ping_target;
  char *parent_domain;     /* relay.example.org -> example.org (the jid itself if no dot) */
  guint drain_timeout;       /* seconds: a drain's wait for the last session */
  gboolean debug_log;        /* log-level = debug (what --verbose also turns on) */
  guint hold_time;           /* s a stanza sent while detached is held (0: dropped at once) */
  guint hold_stanzas;        /* at most this many held */

  BfXmlLimits limits;
  gsize write_queue_size;
  guint max_sessions_per_jid;      /* [limits]; 0: no limit */

  char **modules;            /* NULL-terminated, never NULL */
  char **module_path;        /* NULL when not configured */
} BfConfig;

BfConfig *bf_config_load (const char *path, GError **error);
/* For tests: @path only labels the messages. */
BfConfig *bf_config_load_data (const char *data, const char *path, GError **error);
void bf_config_free (BfConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfConfig, bf_config_free)

/* A reader for one group of the file (BfConfigGroup, declared in module.h
 * because modules read theirs with it); the core reads its own groups
 * ([component], [media], [limits], …) with the same one. */
BfConfigGroup *bf_config_group_new (const BfConfig *config, const char *group);
void bf_config_group_free (BfConfigGroup *group);
/* Fails naming the first key of the group that nobody read. */
gboolean bf_config_group_check_unknown (BfConfigGroup *group, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfConfigGroup, bf_config_group_free)

G_END_DECLS
