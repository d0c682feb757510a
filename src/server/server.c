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
  srv.coalesce_end_ms = server_now_ms();
  srv.coalesce_last = srv.coalesce_changes;
  srv.coalesce_changes = 0;
  if (srv.on_coalesce != NULL)
    srv.on_coalesce();
}

/* Each interval's send is one frame to every user online: one write call
 * each, over TLS one record sealed each. In a storm of logins (everyone
 * reconnecting after a restart) the intervals run back to back, and a
 * fixed interval made that intervals x users writes, which grew with the
 * storm's length: the longer it took, the dearer it got. Growing the
 * interval with the users online while the storm lasts keeps the writes
 * per second flat; the bytes are the same (every change still reaches
 * everyone once). Steady traffic (fewer changes an interval) and a
 * change after a quiet spell still go out after base_ms. */
uint32_t server_coalesce_interval(uint32_t base_ms, uint32_t users,
                                  uint32_t last_changes, uint32_t last_len_ms,
                                  uint64_t since_end_ms) {
  uint64_t len = last_len_ms > base_ms ? last_len_ms : base_ms;
  if (base_ms == 0 || since_end_ms > base_ms ||
      (uint64_t)last_changes * base_ms < (uint64_t)SERVER_COALESCE_STORM * len)
    return base_ms;
  uint32_t ms = users / SERVER_COALESCE_USERS_PER_MS;
  if (ms > SERVER_COALESCE_MAX_MS)
    ms = SERVER_COALESCE_MAX_MS;
  return ms > base_ms ? ms : base_ms;
}

/* Arms the coalesce timer unless it runs already: the first change of an
 * interval starts it, the ones after ride along. A failed start (only
 * when the handle is closing at shutdown) leaves the changes unsent,
 * which at shutdown is what everyone wants. */
void server_coalesce(void) {
  if (srv.finished || srv.stopping)
    return;
  if (srv.coalesce_changes < UINT32_MAX)
    srv.coalesce_changes++;
  if (uv_is_active((uv_handle_t *)&srv.coalesce))
    return;
  uint64_t now = server_now_ms();
  uint32_t base = srv.cfg != NULL ? srv.cfg->coalesce_ms : 0;
  uint64_t since =
      srv.coalesce_end_ms != 0 ? now - srv.coalesce_end_ms : UINT64_MAX;
  srv.coalesce_len = server_coalesce_interval(
      base, srv.nusers, srv.coalesce_last, srv.coalesce_len, since);
  (void)uv_timer_start(&srv.coalesce, server_on_coalesce, srv.coalesce_len, 0);
}
