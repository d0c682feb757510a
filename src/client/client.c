/* client.c: the client core's lifecycle and public face. Each part of the
 * work lives in the file named for its prefix: client_conn.c (connection,
 * reconnect), client_handle.c (incoming frames), client_ping.c (lag),
 * client_exec.c (commands). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "client_int.h"
#include "client_xfer.h"
#include "tls.h"

uint64_t client_now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

bool client_str_eq(proto_str s, const char *c) {
  size_t n = strlen(c);
  return n == s.n && strncasecmp(s.p, c, n) == 0;
}

void client_emit(client *c, client_event *ev) {
  if (c->cb)
    c->cb(c, ev, c->ud);
}

/* Records the connection state and tells the face. */
void client_set_state(client *c, client_state st, const char *reason) {
  c->m.state = st;
  if (reason)
    snprintf(c->m.reason, sizeof c->m.reason, "%s", reason);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_STATE, .text = c->m.reason};
  client_emit(c, &ev);
}

void client_info(client *c, client_window *w, uint8_t flags, const char *fmt,
                 ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof buf)
    n = sizeof buf - 1;
  if (!w)
    w = c->m.current;
  if (!w)
    return;
  /* a line without a kind would read as a chat message from "" (<>) */
  if (!(flags & (CLIENT_LINE_INFO | CLIENT_LINE_NOTICE | CLIENT_LINE_ERROR)))
    flags |= CLIENT_LINE_INFO;
  client_line *l =
      client_window_add(w, 0, client_now_ms(), "", 0, buf, (size_t)n, flags);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_INFO, .win = w, .line = l, .text = buf};
  client_emit(c, &ev);
}

void client_note(client *c, client_window *w, uint8_t flags, const char *text) {
  client_info(c, w, flags, "%s", text);
}

void client_error(client *c, client_window *w, int code, const char *name,
                  const char *subject, const char *text) {
  if (!w)
    w = c->m.current ? c->m.current : c->m.windows[0];
  client_line *l =
      client_window_add(w, 0, client_now_ms(), subject, strlen(subject), text,
                        strlen(text), CLIENT_LINE_ERROR);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_ERROR,
                     .win = w,
                     .line = l,
                     .code = code,
                     .name = name,
                     .subject = subject,
                     .text = text};
  client_emit(c, &ev);
}

void client_fail(client *c, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n >= 0)
    client_error(c, NULL, 0, "LOCAL", "", buf);
}

/* Opens a room window (not joined yet) for room, once. */
static void client_start_room(client *c, const char *room) {
  if (!client_window_find(c, room))
    (void)client_window_get(c, CLIENT_WIN_ROOM, room, strlen(room));
}

/* Windows for the rooms joined at start (LOGIN_OK sends their JOINs):
 * #lobby first (the server's automatic join), then the configuration's
 * rooms, then the remembered ones when rejoin is on. */
static void client_start_rooms(client *c) {
  const client_config *cfg = &c->opts.config;
  unsigned nstate = cfg->rejoin ? c->opts.nstate_rooms : 0;
  if (cfg->nrooms == 0 && nstate == 0)
    return;
  client_start_room(c, "#lobby");
  for (unsigned i = 0; i < cfg->nrooms; i++)
    client_start_room(c, cfg->rooms[i]);
  for (unsigned i = 0; i < nstate; i++)
    client_start_room(c, c->opts.state_rooms[i]);
}

client *client_new(uv_loop_t *loop, const client_opts *o, client_event_cb cb,
                   void *ud) {
  client *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->loop = loop;
  c->opts = *o;
  c->opts.password = o->password ? strdup(o->password) : NULL;
  c->opts.password_file = NULL; /* not needed past option parsing */
  c->opts.download_dir = o->download_dir ? strdup(o->download_dir) : NULL;
  if (o->password && !c->opts.password) {
    free(c);
    return NULL;
  }
  if (!o->insecure_plaintext) {
    char err[300];
    c->tls = tls_ctx_client(err, sizeof err);
    if (!c->tls) {
      client_opts_free(&c->opts);
      free(c);
      return NULL;
    }
  }
  if (c->opts.scrollback == 0)
    c->opts.scrollback = CLIENT_DEFAULT_SCROLLBACK;
  /* Scripts (--batch) read every join and leave; summaries are for eyes. */
  if (c->opts.mode != CLIENT_MODE_TUI || c->opts.join_summary_every == 0)
    c->opts.join_summary_above = 0;
  c->cb = cb;
  c->ud = ud;
  c->m.lag_ms = -1;
  c->m.port = o->port;
  snprintf(c->m.host, sizeof c->m.host, "%s", o->host);
  snprintf(c->m.self, sizeof c->m.self, "%s", o->user);
  snprintf(c->m.server_name, sizeof c->m.server_name, "%s", o->host);
  client_window *sw =
      client_window_new(CLIENT_WIN_SERVER, o->host, c->opts.scrollback);
  if (!sw || !client_window_attach(c, sw)) {
    client_window_free(sw);
    tls_ctx_free(c->tls);
    client_opts_free(&c->opts);
    free(c);
    return NULL;
  }
  /* Timers live as long as the client; closed by client_stop(). */
  int r = uv_timer_init(loop, &c->reconnect_timer);
  assert(r == 0); /* uv_timer_init cannot fail on a valid loop */
  r = uv_timer_init(loop, &c->ping_timer);
  assert(r == 0);
  r = uv_timer_init(loop, &c->summary_timer);
  assert(r == 0);
  (void)r;
  c->reconnect_timer.data = c;
  c->ping_timer.data = c;
  c->summary_timer.data = c;
  c->live = 3;
  if (o->have_token) { /* a kept session: try it before the password */
    memcpy(c->token, o->token, PROTO_TOKEN_LEN);
    c->have_token = true;
  }
  memset(c->opts.token, 0, sizeof c->opts.token);
  c->ndms = o->nstate_dms;
  memcpy(c->dms, o->state_dms, c->ndms * sizeof *c->dms);
  /* Rooms to join at start: the configuration's, then the ones we were
   * in last time. Their windows exist now; the login joins them. */
  client_start_rooms(c);
  return c;
}

const client_model *client_model_get(const client *c) {
  return &c->m;
}

client_fatal client_fatal_get(const client *c) {
  return c->fatal;
}

bool client_ready(const client *c) {
  return c->conn && !c->conn->closing && c->conn->phase == CONN_READY;
}

/* The connection knows its queue (client_conn.c). */
size_t client_pending(const client *c) {
  return client_conn_pending(c);
}

void client_set_width(client *c, unsigned cols) {
  c->width = cols;
}

void client_set_frame_cb(client *c, client_frame_cb cb, void *ud) {
  c->frame_cb = cb;
  c->frame_ud = ud;
}

/* Close callback of the client's timers: one less handle open. */
static void client_timer_closed(uv_handle_t *h) {
  client *c = h->data;
  c->live--;
  client_maybe_stopped(c);
}

/* Fires STOPPED once client_stop() ran and nothing is left open. */
void client_maybe_stopped(client *c) {
  if (!c->stopping || c->stopped || c->live > 0)
    return;
  c->stopped = true;
  client_event ev = {.type = CLIENT_EV_STOPPED};
  client_emit(c, &ev);
}

int client_start(client *c) {
  if (c->stopping || c->resolving || c->conn)
    return UV_EALREADY;
  static bool seeded;
  if (!seeded) { /* jitter must differ between clients started together */
    srandom((unsigned)(client_now_ms() ^ (uint64_t)uv_os_getpid() << 16));
    seeded = true;
  }
  c->fatal = CLIENT_FATAL_NONE;
  char reason[300];
  snprintf(reason, sizeof reason, "connecting to %s port %u", c->m.host,
           c->m.port);
  client_set_state(c, CLIENT_CONNECTING, reason);
  return client_conn_resolve(c);
}

void client_stop(client *c) {
  if (c->stopping)
    return;
  c->stopping = true;
  client_scan_cancel(c);
  client_xfer_stop(c);
  client_conn_stop(c);
  uv_close((uv_handle_t *)&c->reconnect_timer, client_timer_closed);
  uv_close((uv_handle_t *)&c->ping_timer, client_timer_closed);
  uv_close((uv_handle_t *)&c->summary_timer, client_timer_closed);
  if (c->m.state != CLIENT_DISCONNECTED)
    client_set_state(c, CLIENT_DISCONNECTED, "stopped");
  client_maybe_stopped(c);
}

void client_quit(client *c, const char *reason) {
  if (c->quitting || c->stopping)
    return;
  c->quitting = true;
  client_event ev = {.type = CLIENT_EV_QUIT, .text = reason ? reason : ""};
  client_emit(c, &ev);
  if (!client_conn_bye(c, reason))
    client_stop(c);
}

void client_free(client *c) {
  if (!c)
    return;
  assert(c->live == 0); /* handles must be closed: run the loop first */
  for (size_t i = 0; i < c->m.nwindows; i++)
    client_window_free(c->m.windows[i]);
  free(c->m.windows);
  client_user_clear(c);
  client_xfer_free(c);
  client_folder_free(c);
  free(c->who);
  free(c->rooms);
  free(c->bans);
  free(c->names);
  client_exec_free_held(c);
  client_opts_free(&c->opts);
  tls_ctx_free(c->tls);
  memset(c->token, 0, sizeof c->token);
  free(c);
}

/* The connection writes frames (client_conn.c). */
int client_send(client *c, const proto_msg *m) {
  return client_conn_send(c, m);
}

const char *client_state_text(const client *c, char *buf, size_t n) {
  switch (c->m.state) {
  case CLIENT_CONNECTED:
    snprintf(buf, n, "connected");
    break;
  case CLIENT_CONNECTING:
    snprintf(buf, n, "connecting");
    break;
  case CLIENT_RECONNECTING: {
    uint64_t now = uv_now(c->loop);
    uint64_t left = c->m.reconnect_at > now ? c->m.reconnect_at - now : 0;
    snprintf(buf, n, "reconnecting in %llus",
             (unsigned long long)((left + 999) / 1000));
    break;
  }
  default:
    if (c->trust_asking) /* not refused: waiting for the person */
      snprintf(buf, n, "first contact: is the key right?");
    else
      snprintf(buf, n, "disconnected%s%s", c->m.reason[0] ? ": " : "",
               c->m.reason);
  }
  return buf;
}

/* The executor runs commands (client_exec.c). */
int client_command(client *c, client_window *w, const char *line, char *err,
                   size_t errlen) {
  return client_exec_line(c, w, line, err, errlen);
}

/* The executor names its results (client_exec.c). */
const char *client_command_errname(int r) {
  return client_exec_errname(r);
}
