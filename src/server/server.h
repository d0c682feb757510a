/* server.h: the parleyd process state (srv) and the few calls the
 * connection layer makes into it: the clocks, the wake-up for pending
 * output, and the news that a connection is gone. This is the bottom of
 * the server's layers: it calls nothing above it. The life cycle (listen,
 * accept, flush pass, tick, shutdown) sits at the top, in daemon.c, and
 * plugs itself in through the hooks below. */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "proto.h"

struct conn;

typedef struct server {
  uv_loop_t *loop;
  config *cfg;
  uv_tcp_t listener;
  uv_check_t check;         /* flushes output after each poll */
  uv_idle_t idle;           /* keeps poll from blocking while output waits */
  uv_timer_t tick;          /* 1 s: timeouts, soft limits */
  uv_timer_t idle_exit;     /* --idle-exit */
  uv_timer_t stop_timer;    /* bounds the graceful close at shutdown */
  uv_timer_t trim;          /* re-checks for the end of a burst (daemon_trim) */
  uv_timer_t coalesce;      /* --coalesce-ms: sends collected changes */
  uint64_t coalesce_end_ms; /* loop clock when the last interval ended */
  uint32_t coalesce_changes; /* changes collected in this interval */
  uint32_t coalesce_last;    /* changes the last interval carried */
  uint32_t coalesce_len;     /* the running (then last) interval's ms */
  uv_signal_t sigint, sigterm;
  struct conn *conns;   /* every open connection */
  uint32_t nconns;      /* open connections (refused ones included) */
  uint32_t npending;    /* accepted, not logged in (--max-unauthenticated) */
  struct conn *dirty;   /* connections with output to flush */
  struct conn *closing; /* connections to close from the loop */
  uint32_t nusers;      /* logged in */
  uint32_t nlegacy;     /* logged in with protocol version 1 or 2 */
  bool stopping;        /* shutdown started */
  bool finished;        /* handles closed */
  bool idle_armed;      /* idle handle started */
  int port;             /* bound TCP port */
  char host[64];        /* bound TCP address */
  uint64_t next_msg_id; /* server-wide message id */
  uint64_t flood_drops; /* messages refused for flooding */
  uint64_t slow_kills;  /* clients cut off by the output limits */
  struct tls_ctx *tls;  /* TLS for every connection; NULL: plain text */
  /* Hooks set by the life cycle (daemon.c), so that this layer never
   * calls up into it. NULL (unit tests) means nothing to do. */
  uv_idle_cb on_idle;         /* flush pass, run while output waits */
  void (*on_conn_gone)(void); /* a connection's close callback ran */
  void (*on_coalesce)(void);  /* the coalesce interval is over */
} server;

extern server srv;

/* Milliseconds of the loop's clock (monotonic). */
uint64_t server_now_ms(void);

/* Unix time in milliseconds (wall clock, for timestamps on the wire). */
uint64_t server_wall_ms(void);

/* Called by conn when a connection is gone (runs srv.on_conn_gone). */
void server_conn_gone(void);

/* Called when a change was collected for the next coalesced send: arms
 * srv.coalesce (once per interval) to run srv.on_coalesce. */
void server_coalesce(void);

/* A storm: the last interval carried changes at a rate of at least
 * SERVER_COALESCE_STORM per --coalesce-ms (so a grown interval needs as
 * many more to stay grown: a busy but ordinary server is not held at
 * the long interval), and the next change came within --coalesce-ms of
 * its end. The
 * interval is then at least one millisecond per SERVER_COALESCE_USERS_PER_MS
 * users online, up to SERVER_COALESCE_MAX_MS. */
#define SERVER_COALESCE_STORM 64
#define SERVER_COALESCE_USERS_PER_MS 4
#define SERVER_COALESCE_MAX_MS 2500

/* The next coalesce interval: base_ms (--coalesce-ms), or longer in a
 * storm (see above): last_changes is what the last interval carried,
 * last_len_ms how long it was, since_end_ms how long ago it ended.
 * base_ms 0 stays 0 (every loop turn). */
uint32_t server_coalesce_interval(uint32_t base_ms, uint32_t users,
                                  uint32_t last_changes, uint32_t last_len_ms,
                                  uint64_t since_end_ms);

/* Called by conn when a connection has output; arms the flush. */
void server_wake(void);

#endif
