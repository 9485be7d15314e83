/* The proxy65 module's counters: plain fields bumped on the main thread
 * (where the module runs), published once a second as the module's
 * metrics (include/belfry/metrics.h: belfry_proxy65_*). */
#pragma once

#include <glib.h>
#include <belfry/module.h>

G_BEGIN_DECLS

/* Why a SOCKS5 connection was closed before it was relayed. */
typedef enum {
  BF_PROXY65_REFUSED_HANDSHAKE,          /* not SOCKS5, bad method, command, address; or
                                            closed by the client mid-handshake */
  BF_PROXY65_REFUSED_MAX_PENDING,        /* global pending cap (max-pending) */
  BF_PROXY65_REFUSED_PER_ADDRESS,        /* max-pending-per-address, at accept */
  BF_PROXY65_REFUSED_TAKEN,              /* a third party for a hash, or already activated */
  BF_PROXY65_REFUSED_HANDSHAKE_TIMEOUT,  /* greeting/request not complete (handshake-timeout) */
  BF_PROXY65_REFUSED_CONNECT_TIMEOUT,    /* never activated (connect-timeout) */
  BF_PROXY65_REFUSED_N
} BfProxy65Refusal;

/* Metric names (belfry_proxy65_refused_<name>_total, '-' as '_'), indexed
 * by BfProxy65Refusal. */
#define BF_PROXY65_REFUSAL_NAMES \
  { "handshake", "max-pending", "max-pending-per-address", "taken", "handshake-timeout", \
    "connect-timeout" }

typedef struct {
  guint64 connections;        /* accepted TCP connections */
  guint64 streams_total;      /* activations */
  guint64 bytes;              /* relayed, both directions, by closed streams */
  guint64 refused[BF_PROXY65_REFUSED_N];
  guint64 iq_refused;         /* streamhost queries and activations answered with an error */
  guint64 relay_failures;     /* activations refused for want of descriptors (pipe2) */
  guint64 idle_timeouts;      /* streams closed by idle-timeout */
  guint64 accept_errors;      /* accept(2) failures other than "nothing to accept" */
  guint64 accept_pauses;      /* episodes of accepting paused (EMFILE, ENFILE, ENOBUFS...) */
  gboolean accept_paused;     /* gauge: accepting is paused now */
} BfProxy65Stats;

G_END_DECLS
