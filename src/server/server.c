/* server.c: process state, clocks and wake-up (see server.h). */
#include "server.h"

#include <sys/time.h>

server srv;

/* Loop clock. */
uint64_t server_now_ms(void) {
  return uv_now(srv.loop);
}

/* Wall clock for timestamps on the wire. */
uint64_t server_wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Keeps the next poll from blocking while output waits: the idle handle
 * runs the life cycle's flush pass (srv.on_idle) before the poll. */
void server_wake(void) {
  if (!srv.idle_armed && !srv.finished && srv.on_idle != NULL) {
    int r = uv_idle_start(&srv.idle, srv.on_idle);
    if (r == 0)
      srv.idle_armed = true;
  }
}

/* A connection's close callback ran: the life cycle decides (finish the
 * shutdown, or arm the idle exit). */
void server_conn_gone(void) {
  if (srv.on_conn_gone != NULL)
    srv.on_conn_gone();
}

/* Runs the life cycle's coalesced send (srv.on_coalesce). */
static void server_on_coalesce(uv_timer_t *t) {
  (void)t;
  if (srv.on_coalesce != NULL)
    srv.on_coalesce();
}

/* Arms the coalesce timer unless it runs already: the first change of an
 * interval starts it, the ones after ride along. A failed start (only
 * when the handle is closing at shutdown) leaves the changes unsent,
 * which at shutdown is what everyone wants. */
void server_coalesce(void) {
  if (srv.finished || srv.stopping ||
      uv_is_active((uv_handle_t *)&srv.coalesce))
    return;
  (void)uv_timer_start(&srv.coalesce, server_on_coalesce,
                       srv.cfg != NULL ? srv.cfg->coalesce_ms : 0, 0);
}
