/* daemon.c: the process life cycle (see daemon.h). */
#include "daemon.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "auth.h"
#include "chat.h"
#include "conn.h"
#include "console.h"
#include "control.h"
#include "discovery.h"
#include "folderstore.h"
#include "folderxfer.h"
#include "log.h"
#include "room.h"
#include "offer.h"
#include "presence.h"
#include "relay.h"
#include "roomcmd.h"
#include "session.h"
#include "server.h"
#include "store.h"
#include "tickets.h"

#define DAEMON_BACKLOG 511
#define DAEMON_STOP_GRACE_MS 3000 /* clients get this long to take BYE */
/* Once this many bytes of frames went through since the last give-back,
 * free heap pages are handed back to the kernel as soon as the server is
 * quiet again: less than DAEMON_TRIM_QUIET queued, and less than that
 * allocated since the previous check. A login or notice storm leaves the
 * heap full of holes that would otherwise stay resident for good. Waiting
 * for quiet makes the give-back come after the storm, not in a lull inside
 * it; while a burst winds down the check runs every DAEMON_TRIM_POLL_MS
 * instead of once per 1 s tick, so memory is back soon after it ends. */
#define DAEMON_TRIM_BYTES (4u << 20)
#define DAEMON_TRIM_QUIET (1u << 20)
#define DAEMON_TRIM_POLL_MS 250

/* Writes every dirty connection, then closes those flagged. */
static void daemon_flush(void) {
  do { /* a teardown queues notices to others: go round until quiet */
    while (srv.closing != NULL) {
      conn *c = srv.closing;
      srv.closing = c->closing_next;
      c->on_close_list = false;
      conn_teardown(c);
      if (!c->close_flush || (c->out.count == 0 && !stream_writing(&c->s)))
        conn_reap(c);
      /* else conn_flush reaps after the last write, or the tick does */
      conn_unref(c);
    }
    while (srv.dirty != NULL) {
      conn *list = srv.dirty;
      srv.dirty = NULL;
      while (list != NULL) {
        conn *c = list;
        list = c->dirty_next;
        c->dirty = false;
        conn_flush(c);
        conn_unref(c);
      }
    }
  } while (srv.closing != NULL || srv.dirty != NULL);
  if (srv.idle_armed) {
    uv_idle_stop(&srv.idle);
    srv.idle_armed = false;
  }
}

/* After poll: one flush per loop iteration. */
static void daemon_on_check(uv_check_t *h) {
  (void)h;
  daemon_flush();
}

/* Runs when output was queued outside the poll phase (timers, async). */
static void daemon_on_idle(uv_idle_t *h) {
  (void)h;
  daemon_flush();
}

/* A new connection. */
static void daemon_on_connection(uv_stream_t *l, int status) {
  if (status < 0) {
    log_warn(NULL, "accept: %s", uv_strerror(status));
    return;
  }
  int r = conn_accept(l);
  if (r < 0)
    log_warn(NULL, "accept: %s", uv_strerror(r));
  if (srv.cfg->idle_exit > 0)
    uv_timer_stop(&srv.idle_exit);
}

/* --idle-exit fired. */
static void daemon_on_idle_exit(uv_timer_t *t) {
  (void)t;
  if (srv.nconns == 0) {
    log_info(NULL, "no client for %u seconds; exiting", srv.cfg->idle_exit);
    daemon_shutdown("idle exit");
  }
}

/* Arms the idle-exit timer when nobody is connected. */
static void daemon_arm_idle_exit(void) {
  if (srv.cfg->idle_exit == 0 || srv.stopping || srv.nconns > 0)
    return;
  int r = uv_timer_start(&srv.idle_exit, daemon_on_idle_exit,
                         (uint64_t)srv.cfg->idle_exit * 1000, 0);
  if (r < 0)
    log_error(NULL, "idle timer: %s", uv_strerror(r));
}

static void daemon_on_trim(uv_timer_t *t);

/* Gives free heap memory back once a burst is over (see
 * DAEMON_TRIM_BYTES). malloc_trim walks the heap, so it runs at most once
 * per tick and only after a burst. */
static void daemon_trim(size_t queued) {
  static uint64_t mark; /* fbuf_alloc_total() at the last give-back */
  static uint64_t prev; /* fbuf_alloc_total() at the previous check */
  uint64_t total = fbuf_alloc_total();
  bool quiet = total - prev < DAEMON_TRIM_QUIET && queued < DAEMON_TRIM_QUIET;
  prev = total;
  if (total - mark < DAEMON_TRIM_BYTES)
    return;
  if (!quiet) {
    if (!srv.stopping && !uv_is_active((uv_handle_t *)&srv.trim)) {
      int r = uv_timer_start(&srv.trim, daemon_on_trim, DAEMON_TRIM_POLL_MS,
                             DAEMON_TRIM_POLL_MS);
      if (r < 0)
        log_warn(NULL, "trim timer: %s", uv_strerror(r));
    }
    return;
  }
  uv_timer_stop(&srv.trim);
  mark = total;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

/* Bytes queued to every connection. */
static size_t daemon_queued(void) {
  size_t queued = 0;
  for (conn *c = srv.conns; c != NULL; c = c->next)
    queued += c->out.bytes;
  return queued;
}

/* The faster check while a burst winds down. */
static void daemon_on_trim(uv_timer_t *t) {
  (void)t;
  daemon_trim(daemon_queued());
}

/* 1 s housekeeping. */
static void daemon_on_tick(uv_timer_t *t) {
  (void)t;
  uint64_t now = server_now_ms();
  size_t queued = 0;
  for (conn *c = srv.conns; c != NULL; c = c->next) {
    conn_tick(c, now);
    queued += c->out.bytes;
  }
  auth_tick(false);
  offer_tick(now);
  relay_tick(now);
  folderxfer_tick(now);
  tickets_tick((uint64_t)time(NULL));
  daemon_trim(queued);
}

/* Closes the remaining handles once every connection is gone. */
static void daemon_finish(void) {
  if (srv.finished)
    return;
  srv.finished = true;
  presence_fini();
  roomcmd_fini();
  room_fini();
  auth_tick(true);
  store_stop();
  folderstore_stop();
  relay_stop();
  uv_close((uv_handle_t *)&srv.check, NULL);
  uv_close((uv_handle_t *)&srv.idle, NULL);
  uv_close((uv_handle_t *)&srv.tick, NULL);
  uv_close((uv_handle_t *)&srv.idle_exit, NULL);
  uv_close((uv_handle_t *)&srv.stop_timer, NULL);
  uv_close((uv_handle_t *)&srv.trim, NULL);
  uv_close((uv_handle_t *)&srv.coalesce, NULL);
  uv_close((uv_handle_t *)&srv.sigint, NULL);
  uv_close((uv_handle_t *)&srv.sigterm, NULL);
  log_info(NULL, "stopped");
}

/* A connection's close callback ran (srv.on_conn_gone): the last one
 * finishes a shutdown; otherwise the idle exit may start counting. */
static void daemon_conn_gone(void) {
  if (srv.stopping) {
    if (srv.nconns == 0)
      daemon_finish();
    return;
  }
  daemon_arm_idle_exit();
}

/* Graceful close took too long: close what is left. */
static void daemon_on_stop_timer(uv_timer_t *t) {
  (void)t;
  for (conn *c = srv.conns; c != NULL; c = c->next) {
    c->close_flush = false;
    if (!c->closing)
      conn_close(c, false, "server shutting down");
    conn_reap(c);
  }
}

/* Tells everyone, stops accepting, waits for the connections. */
void daemon_shutdown(const char *why) {
  if (srv.stopping)
    return;
  srv.stopping = true;
  log_info(NULL, "shutting down: %s", why);
  uv_close((uv_handle_t *)&srv.listener, NULL);
  discovery_stop();
  console_stop();
  control_stop();
  uv_timer_stop(&srv.idle_exit);
  proto_msg bye = {.type = PROTO_BYE};
  bye.u.bye.reason = proto_str_c("server shutting down");
  for (conn *c = srv.conns; c != NULL; c = c->next) {
    if (c->closing)
      continue;
    if (c->state == CONN_RELAY) {
      /* A relayed byte stream: no frame may be written into it (the far
       * side would read it as file data); just end it, the transfer
       * resumes when both sides are back. */
      conn_close(c, false, "server shutting down");
      continue;
    }
    if (c->state == CONN_READY)
      conn_send_msg(c, &bye);
    else
      conn_error(c, PERR_SHUTTING_DOWN, 0, "", NULL);
    conn_close(c, true, "server shutting down");
  }
  if (srv.nconns == 0) {
    daemon_finish();
    return;
  }
  int r = uv_timer_start(&srv.stop_timer, daemon_on_stop_timer,
                         DAEMON_STOP_GRACE_MS, 0);
  if (r < 0)
    log_error(NULL, "stop timer: %s", uv_strerror(r));
}

/* SIGINT / SIGTERM. */
static void daemon_on_signal(uv_signal_t *s, int signum) {
  (void)s;
  daemon_shutdown(signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* Binds the listener and prints the bound address. */
static int daemon_listen(const char *host, int port) {
  struct sockaddr_storage ss;
  int r = strchr(host, ':') != NULL
              ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
              : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
  if (r < 0) {
    fprintf(stderr, "parleyd: bad listen address '%s': %s\n", host,
            uv_strerror(r));
    return -1;
  }
  r = uv_tcp_init(srv.loop, &srv.listener);
  if (r < 0)
    return -1;
  r = uv_tcp_bind(&srv.listener, (struct sockaddr *)&ss, 0);
  if (r == 0)
    r = uv_listen((uv_stream_t *)&srv.listener, DAEMON_BACKLOG,
                  daemon_on_connection);
  if (r < 0) {
    fprintf(stderr, "parleyd: cannot listen on %s: %s\n", srv.cfg->listen,
            uv_strerror(r));
    uv_close((uv_handle_t *)&srv.listener, NULL);
    return -1;
  }
  int len = sizeof ss;
  r = uv_tcp_getsockname(&srv.listener, (struct sockaddr *)&ss, &len);
  if (r < 0)
    return -1;
  if (ss.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&ss, srv.host, sizeof srv.host);
    srv.port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    printf("listening on [%s]:%d\n", srv.host, srv.port);
  } else {
    uv_ip4_name((struct sockaddr_in *)&ss, srv.host, sizeof srv.host);
    srv.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf("listening on %s:%d\n", srv.host, srv.port);
  }
  fflush(stdout);
  log_info(NULL, "listening on %s port %d (max %u clients)", srv.host, srv.port,
           srv.cfg->max_clients);
  return 0;
}

/* The coalesce interval is over: collected presence changes, then room
 * joins and leaves, go out (one frame per recipient each). */
static void daemon_on_coalesce(void) {
  presence_flush();
  roomcmd_flush();
}

/* A message is going to r: r's collected joins and leaves go ahead of
 * it, and the presence changes collected so far before them (as at the
 * interval's end), so that a newcomer's join line and its entry in the
 * users pane come together, before its first words. */
static void daemon_before_room(const room *r) {
  if (!roomcmd_pending_in(r))
    return;
  presence_flush();
  roomcmd_flush_room(r);
}

/* Starts every handle. */
int daemon_start(uv_loop_t *loop, config *cfg) {
  srv.loop = loop;
  srv.cfg = cfg;
  srv.on_idle = daemon_on_idle;
  srv.on_conn_gone = daemon_conn_gone;
  srv.on_coalesce = daemon_on_coalesce;
  chat_set_before_room(daemon_before_room);
  conn_set_handlers(session_on_msg, session_on_close);
  store_watch_revoked(session_on_revoked);
  char host[128];
  int port;
  if (config_split_listen(cfg, host, sizeof host, &port) < 0)
    return -1;
  if (uv_check_init(loop, &srv.check) < 0 ||
      uv_idle_init(loop, &srv.idle) < 0 || uv_timer_init(loop, &srv.tick) < 0 ||
      uv_timer_init(loop, &srv.idle_exit) < 0 ||
      uv_timer_init(loop, &srv.stop_timer) < 0 ||
      uv_timer_init(loop, &srv.trim) < 0 ||
      uv_timer_init(loop, &srv.coalesce) < 0 ||
      uv_signal_init(loop, &srv.sigint) < 0 ||
      uv_signal_init(loop, &srv.sigterm) < 0)
    return -1;
  /* Signals first: a test may send SIGTERM as soon as it reads the
   * "listening on" line. */
  int r = uv_signal_start(&srv.sigint, daemon_on_signal, SIGINT);
  if (r == 0)
    r = uv_signal_start(&srv.sigterm, daemon_on_signal, SIGTERM);
  if (r == 0)
    r = uv_check_start(&srv.check, daemon_on_check);
  if (r == 0)
    r = uv_timer_start(&srv.tick, daemon_on_tick, 1000, 1000);
  if (r < 0 || daemon_listen(host, port) < 0) {
    if (r < 0)
      fprintf(stderr, "parleyd: %s\n", uv_strerror(r));
    srv.stopping = true;
    daemon_finish();
    return -1;
  }
  /* The 1 s tick alone must not keep an otherwise finished loop alive. */
  uv_unref((uv_handle_t *)&srv.tick);
  uv_unref((uv_handle_t *)&srv.trim);
  if (!cfg->no_discovery) {
    r = discovery_start(loop, host, (int)cfg->discovery_port);
    if (r < 0)
      log_warn(NULL, "discovery off: cannot bind udp %s:%u: %s", host,
               cfg->discovery_port, uv_strerror(r));
  }
  relay_capture_open(loop);
  if (folderstore_start(loop, cfg->files) < 0)
    log_warn(NULL, "shared folder off: its path is too long: %s", cfg->files);
  r = console_start(loop, daemon_shutdown);
  if (r < 0)
    log_warn(NULL, "console off: %s", uv_strerror(r));
  if (!cfg->no_control) {
    char path[108];
    if (config_control_path(cfg, path, sizeof path) < 0)
      log_warn(NULL, "operator socket off: its path is longer than 107 "
                     "bytes (choose one with --control)");
    else if ((r = control_start(loop, path)) == -1)
      log_warn(NULL, "operator socket off: another parleyd answers on %s",
               path);
    else if (r < 0)
      log_warn(NULL, "operator socket off: %s: %s", path, uv_strerror(r));
  }
  daemon_arm_idle_exit();
  return 0;
}
