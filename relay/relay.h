/* belfry — the process: the one owner of everything the daemon runs
 * (main.c makes it, runs it and frees it).  Its parts that are not the
 * process's lifecycle live beside main.c: what SIGHUP changes in the
 * core's own groups (relay-reload.c) and the admin show-counters command
 * (relay-counters.c).
 *
 * Main thread only. */
#pragma once

#include <glib.h>

#include "admin.h"
#include "config.h"
#include "link.h"
#include "metrics-http.h"
#include "modules.h"
#include "reload.h"
#include "router.h"
#include "sessions.h"
#include "siblings.h"
#include "dtls-cert.h"
#include "media-config.h"
#include "worker.h"

G_BEGIN_DECLS

/* The process's one owner of everything. */
typedef struct {
  BfConfig *config;
  BfModules *modules;
  BfRouter *router;
  BfLink *link;
  BfLink *node_link;           /* [component] node-jid's; NULL: none */
  BfLink *rooms_link;          /* [component] rooms-jid's; NULL: none */
  BfSiblings *siblings;        /* [component] siblings' watcher; NULL: none */
  guint link_delay;            /* the shared link's start, waiting for siblings */
  guint links_closing;         /* stop(): links whose shutdown has not ended */
  BfMediaConfig media;
  guint max_sessions;
  guint max_sessions_per_jid;  /* [limits]; 0: none */
  BfMediaCert *cert;
  BfMediaPool *pool;
  BfSessions *sessions;
  char *metrics_listen;        /* [metrics] listen; NULL: off */
  BfMetricsHttp *metrics;
  GMainLoop *loop;
  gboolean stopping;
  guint signal_ids[4];
  /* operator control */
  BfAdmin *admin;
  char **admin_jids;               /* read at start, until the admin takes them */
  BfReload *reload;
  gboolean verbose;                /* --verbose: debug stays on whatever the file says */
  guint drain_timeout;             /* seconds ([component] drain-timeout) */
  gboolean draining;
  guint drain_timer;
} BfRelay;

/* Registers the core's live settings with relay->reload: [component]
 * log-level and drain-timeout, [admin] jids, [media] max-sessions,
 * [limits] max-sessions-per-jid, [metrics] listen. */
void bf_relay_register_reloads (BfRelay *relay);

/* The admin show-counters command (admin.h BfAdminCountersFunc): link,
 * router and session counters, and whether the relay drains. */
void bf_relay_collect_counters (gpointer relay, GPtrArray *out);

G_END_DECLS
