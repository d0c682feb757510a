/* client_ping.c: lag probes. PING on a timer, or now and then when the
 * user acts if the face runs without one; PONG (client_handle.c) ends a
 * probe. */
#include "client_int.h"

/* Sends a PING whose PONG gives the lag. */
static void client_ping_send(client *c) {
  proto_msg m = {.type = PROTO_PING};
  m.u.ping.token = ++c->ping_token;
  c->ping_sent = uv_now(c->loop);
  if (client_send(c, &m) == 0)
    c->ping_outstanding = true;
}

/* Without a ping timer: probe lag when the user acts, now and then. */
void client_ping_on_activity(client *c) {
  if (c->opts.ping_ms == 0 && client_ready(c) && !c->ping_outstanding &&
      uv_now(c->loop) - c->ping_sent >= CLIENT_PING_MS)
    client_ping_send(c);
}

/* Ping timer: measures lag; two unanswered pings mean a dead link. */
static void client_ping_due(uv_timer_t *t) {
  client *c = t->data;
  if (c->stopping || !client_ready(c))
    return;
  if (c->ping_outstanding && ++c->pings_missed >= 2) {
    client_conn_lost(c, "server not answering (ping timeout)",
                     CLIENT_FATAL_NONE);
    return;
  }
  if (!c->ping_outstanding)
    client_ping_send(c);
}

/* Starts lag probing for a new session: a timer, or one probe now when the
 * face runs without one (the TUI: no timer wakes an idle client). */
void client_ping_start(client *c) {
  if (c->opts.ping_ms) {
    int r = uv_timer_start(&c->ping_timer, client_ping_due, 0, c->opts.ping_ms);
    (void)r; /* fails only if closing, and then nothing needs pinging */
  } else {
    client_ping_send(c);
  }
}

/* Forgets lag and any probe in flight: the session is gone. */
void client_ping_stop(client *c) {
  int r = uv_timer_stop(&c->ping_timer);
  (void)r; /* stopping an initialised timer cannot fail */
  c->ping_outstanding = false;
  c->m.lag_ms = -1;
}
