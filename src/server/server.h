/* server.h: the parleyd process state and its life cycle: listen, accept,
 * the per-iteration flush, the 1 s tick, idle exit and clean shutdown. */
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
  uv_check_t check;      /* flushes output after each poll */
  uv_idle_t idle;        /* keeps poll from blocking while output waits */
  uv_timer_t tick;       /* 1 s: timeouts, soft limits */
  uv_timer_t idle_exit;  /* --idle-exit */
  uv_timer_t stop_timer; /* bounds the graceful close at shutdown */
  uv_timer_t trim;       /* re-checks for the end of a burst (server_trim) */
  uv_signal_t sigint, sigterm;
  struct conn *conns;   /* every open connection */
  uint32_t nconns;      /* connections counted against max-clients */
  struct conn *dirty;   /* connections with output to flush */
  struct conn *closing; /* connections to close from the loop */
  uint32_t nusers;      /* logged in */
  bool stopping;        /* shutdown started */
  bool finished;        /* handles closed */
  bool idle_armed;      /* idle handle started */
  int port;             /* bound TCP port */
  char host[64];        /* bound TCP address */
  uint64_t next_msg_id; /* server-wide message id */
  uint64_t flood_drops; /* messages refused for flooding */
  uint64_t slow_kills;  /* clients cut off by the output limits */
} server;

extern server srv;

/* Milliseconds of the loop's clock (monotonic). */
uint64_t server_now_ms(void);

/* Unix time in milliseconds (wall clock, for timestamps on the wire). */
uint64_t server_wall_ms(void);

/* Binds, prints the "listening on" line and starts everything. Returns 0
 * or -1 after printing why. */
int server_start(uv_loop_t *loop, config *cfg);

/* Starts a clean shutdown: BYE to every client, stop accepting, flush and
 * close the store, close every handle. Safe to call more than once. */
void server_shutdown(const char *why);

/* Called by conn when a connection is gone. */
void server_conn_gone(void);

/* Called by conn when a connection has output; arms the flush. */
void server_wake(void);

#endif
