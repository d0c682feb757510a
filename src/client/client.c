/* client.c: connection, handshake, login, reconnect and the protocol
 * handlers that keep the model current; the command executor. */
#include <assert.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "client_backoff.h"
#include "client_cmd.h"
#include "client_int.h"

#define CLIENT_AGENT "parley/" PARLEY_VERSION

static void conn_start(client *c);
static void conn_close(client_conn *k);
static void session_lost(client *c, const char *reason, client_fatal fatal);
static void client_reconnect_due(uv_timer_t *t);
static void maybe_stopped(client *c);

/* ---- small helpers ------------------------------------------------------ */

uint64_t client_now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

bool client_str_eq(proto_str s, const char *c) {
  size_t n = strlen(c);
  return n == s.n && strncasecmp(s.p, c, n) == 0;
}

void client_str_copy(char *dst, size_t dsz, proto_str s) {
  size_t n = s.n < dsz - 1 ? s.n : dsz - 1;
  memcpy(dst, s.p, n);
  dst[n] = '\0';
}

void client_emit(client *c, client_event *ev) {
  if (c->cb)
    c->cb(c, ev, c->ud);
}

/* Records the connection state and tells the face. */
static void set_state(client *c, client_state st, const char *reason) {
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
  client_line *l =
      client_window_add(w, 0, client_now_ms(), "", 0, buf, (size_t)n, flags);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_INFO, .win = w, .line = l, .text = buf};
  client_emit(c, &ev);
}

/* ---- lifecycle ------------------------------------------------------------
 */

client *client_new(uv_loop_t *loop, const client_opts *o, client_event_cb cb,
                   void *ud) {
  client *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->loop = loop;
  c->opts = *o;
  c->opts.password = o->password ? strdup(o->password) : NULL;
  c->opts.password_file = NULL; /* not needed past option parsing */
  if (o->password && !c->opts.password) {
    free(c);
    return NULL;
  }
  if (c->opts.scrollback == 0)
    c->opts.scrollback = CLIENT_DEFAULT_SCROLLBACK;
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
    client_opts_free(&c->opts);
    free(c);
    return NULL;
  }
  /* Timers live as long as the client; closed by client_stop(). */
  int r = uv_timer_init(loop, &c->reconnect_timer);
  assert(r == 0); /* uv_timer_init cannot fail on a valid loop */
  r = uv_timer_init(loop, &c->ping_timer);
  assert(r == 0);
  (void)r;
  c->reconnect_timer.data = c;
  c->ping_timer.data = c;
  c->live = 2;
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

size_t client_pending(const client *c) {
  if (!c->conn || c->conn->phase == CONN_CONNECTING)
    return 0;
  return uv_stream_get_write_queue_size((uv_stream_t *)&c->conn->tcp);
}

void client_set_frame_cb(client *c, client_frame_cb cb, void *ud) {
  c->frame_cb = cb;
  c->frame_ud = ud;
}

/* Closes a timer unless closing already. */
static void timer_closed(uv_handle_t *h) {
  client *c = h->data;
  c->live--;
  maybe_stopped(c);
}

/* Fires STOPPED once client_stop() ran and nothing is left open. */
static void maybe_stopped(client *c) {
  if (!c->stopping || c->stopped || c->live > 0)
    return;
  c->stopped = true;
  client_event ev = {.type = CLIENT_EV_STOPPED};
  client_emit(c, &ev);
}

void client_stop(client *c) {
  if (c->stopping)
    return;
  c->stopping = true;
  client_scan_cancel(c);
  if (c->resolving)
    uv_cancel((uv_req_t *)&c->gai); /* callback runs with UV_ECANCELED */
  if (c->conn)
    conn_close(c->conn);
  uv_close((uv_handle_t *)&c->reconnect_timer, timer_closed);
  uv_close((uv_handle_t *)&c->ping_timer, timer_closed);
  if (c->m.state != CLIENT_DISCONNECTED)
    set_state(c, CLIENT_DISCONNECTED, "stopped");
  maybe_stopped(c);
}

void client_free(client *c) {
  if (!c)
    return;
  assert(c->live == 0); /* handles must be closed: run the loop first */
  for (size_t i = 0; i < c->m.nwindows; i++)
    client_window_free(c->m.windows[i]);
  free(c->m.windows);
  client_user_clear(c);
  free(c->who);
  free(c->rooms);
  client_opts_free(&c->opts);
  memset(c->token, 0, sizeof c->token);
  free(c);
}

/* ---- output ---------------------------------------------------------------
 */

/* A write request travelling with its bytes. */
typedef struct write_req {
  uv_write_t req;
  uv_buf_t buf;
  uint8_t data[];
} write_req;

/* Frees the request whatever the status; a failed write also shows up as a
 * read error, which is where the connection is dropped. */
static void write_done(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

int client_send(client *c, const proto_msg *m) {
  client_conn *k = c->conn;
  if (!k || k->closing || k->phase == CONN_CONNECTING)
    return UV_ENOTCONN;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&k->tcp) > CLIENT_OUTQ_MAX)
    return UV_ENOBUFS;
  size_t sz = proto_size(m);
  if (sz == 0)
    return -PERR_UNKNOWN_TYPE;
  write_req *w = malloc(sizeof *w + sz);
  if (!w)
    return UV_ENOMEM;
  ssize_t n = proto_encode(m, w->data, sz);
  if (n < 0) {
    free(w);
    return (int)n;
  }
  w->buf = uv_buf_init((char *)w->data, (unsigned)n);
  int r = uv_write(&w->req, (uv_stream_t *)&k->tcp, &w->buf, 1, write_done);
  if (r < 0) { /* the socket is broken; the read side will report it */
    free(w);
    return UV_ENOTCONN;
  }
  return 0;
}

/* ---- connection ------------------------------------------------------------
 */

/* Last step of a connection: frees it and maybe reports STOPPED. */
static void conn_closed(uv_handle_t *h) {
  client_conn *k = h->data;
  client *c = k->c;
  free(k);
  c->live--;
  maybe_stopped(c);
}

/* Starts closing k (idempotent); c->conn forgets it at once. */
static void conn_close(client_conn *k) {
  if (k->closing)
    return;
  k->closing = true;
  if (k->c->conn == k)
    k->c->conn = NULL;
  uv_close((uv_handle_t *)&k->tcp, conn_closed);
}

/* Picks the fatal class for a login-phase server error. */
static client_fatal login_error_class(uint16_t code) {
  switch (code) {
  case PERR_BANNED:
    return CLIENT_FATAL_KICKED;
  case PERR_SERVER_FULL:
  case PERR_SHUTTING_DOWN:
  case PERR_INTERNAL:
  case PERR_TIMEOUT:
    return CLIENT_FATAL_NONE; /* transient: retry if we may */
  default:
    return CLIENT_FATAL_AUTH;
  }
}

/* Ends the current session: closes the connection, then reconnects with
 * backoff unless fatal/kicked/--no-reconnect/quitting, or reports the end. */
static void session_lost(client *c, const char *reason, client_fatal fatal) {
  if (c->conn)
    conn_close(c->conn);
  int r = uv_timer_stop(&c->ping_timer);
  (void)r;
  c->ping_outstanding = false;
  c->m.lag_ms = -1;
  c->nwho = 0; /* half-received lists die with the session */
  c->nrooms = 0;
  c->who_requested = false;
  if (c->m.nusers) /* nobody is known online while we are away */
    client_user_clear(c);
  if (c->stopping)
    return;
  if (c->quitting) { /* we asked for it: client_stop() follows */
    set_state(c, CLIENT_DISCONNECTED, "quit");
    return;
  }
  if (c->kicked && fatal == CLIENT_FATAL_NONE)
    fatal = CLIENT_FATAL_KICKED;
  if (fatal == CLIENT_FATAL_NONE && !c->ever_ready)
    fatal = CLIENT_FATAL_CONNECT; /* the first connection must work */
  if (fatal == CLIENT_FATAL_NONE && c->opts.no_reconnect)
    fatal = CLIENT_FATAL_OTHER;
  snprintf(c->m.reason, sizeof c->m.reason, "%s", reason);
  if (fatal != CLIENT_FATAL_NONE) {
    if (c->fatal == CLIENT_FATAL_NONE)
      c->fatal = fatal;
    set_state(c, CLIENT_DISCONNECTED, reason);
    client_info(c, c->m.windows[0], CLIENT_LINE_ERROR, "disconnected: %s",
                reason);
    client_event ev = {
        .type = CLIENT_EV_DISCONNECTED, .text = c->m.reason, .fatal = fatal};
    client_emit(c, &ev);
    return;
  }
  uint64_t delay =
      client_backoff_delay(c->attempt++, CLIENT_BACKOFF_BASE_MS,
                           CLIENT_BACKOFF_CAP_MS, (uint32_t)random());
  c->m.reconnect_at = uv_now(c->loop) + delay;
  set_state(c, CLIENT_RECONNECTING, reason);
  client_info(c, c->m.windows[0], CLIENT_LINE_ERROR,
              "connection lost (%s); reconnecting in %llu ms", reason,
              (unsigned long long)delay);
  client_event ev = {
      .type = CLIENT_EV_RECONNECTING, .in_ms = delay, .text = c->m.reason};
  client_emit(c, &ev);
  r = uv_timer_start(&c->reconnect_timer, client_reconnect_due, delay, 0);
  assert(r == 0); /* starting an initialised timer cannot fail */
}

/* Reconnect timer: try again from name resolution (addresses may move). */
static void client_reconnect_due(uv_timer_t *t) {
  client *c = t->data;
  if (c->stopping)
    return;
  int r = client_start(c);
  if (r < 0)
    session_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
}

/* Sends the credentials: token if we have one, else REGISTER or LOGIN. */
static void send_login(client *c, client_conn *k) {
  proto_msg m = {0};
  if (c->have_token && !k->tried_password) {
    m.type = PROTO_LOGIN_TOKEN;
    m.u.login_token.name = proto_str_c(c->opts.user);
    m.u.login_token.token.p = c->token;
    m.u.login_token.token.n = PROTO_TOKEN_LEN;
  } else if (!c->opts.password) {
    session_lost(c, "no password: set PARLEY_PASSWORD or use --password-file",
                 CLIENT_FATAL_AUTH);
    return;
  } else {
    m.type = c->opts.do_register ? PROTO_REGISTER : PROTO_LOGIN;
    m.u.login.name = proto_str_c(c->opts.user);
    m.u.login.password = proto_str_c(c->opts.password);
  }
  k->phase = CONN_LOGIN;
  int r = client_send(c, &m);
  if (r == UV_ENOTCONN || r == UV_ENOBUFS || r == UV_ENOMEM)
    session_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
  else if (r < 0) /* the encoder refused our name or password */
    session_lost(c, proto_strerror(r), CLIENT_FATAL_AUTH);
}

/* Sends a PING whose PONG gives the lag. */
static void ping_send(client *c) {
  proto_msg m = {.type = PROTO_PING};
  m.u.ping.token = ++c->ping_token;
  c->ping_sent = uv_now(c->loop);
  if (client_send(c, &m) == 0)
    c->ping_outstanding = true;
}

/* Without a ping timer: probe lag when the user acts, now and then. */
static void ping_on_activity(client *c) {
  if (c->opts.ping_ms == 0 && client_ready(c) && !c->ping_outstanding &&
      uv_now(c->loop) - c->ping_sent >= CLIENT_PING_MS)
    ping_send(c);
}

/* Ping timer: measures lag; two unanswered pings mean a dead link. */
static void ping_due(uv_timer_t *t) {
  client *c = t->data;
  if (c->stopping || !client_ready(c))
    return;
  if (c->ping_outstanding && ++c->pings_missed >= 2) {
    session_lost(c, "server not answering (ping timeout)", CLIENT_FATAL_NONE);
    return;
  }
  if (!c->ping_outstanding)
    ping_send(c);
}

/* ---- incoming frames -------------------------------------------------------
 */

/* Window for a message or history target; NULL falls back to the server
 * window. For direct messages, peer is the other party. */
static client_window *target_window(client *c, uint8_t kind, proto_str target,
                                    proto_str from, bool from_valid) {
  client_window *w;
  if (kind == PROTO_TO_ROOM) {
    w = client_window_get(c, CLIENT_WIN_ROOM, target.p, target.n);
  } else {
    proto_str peer = target;
    if (from_valid && !client_str_eq(from, c->m.self))
      peer = from;
    w = client_window_get(c, CLIENT_WIN_QUERY, peer.p, peer.n);
  }
  return w ? w : c->m.windows[0];
}

/* True when w still holds a line with message id (newest first: replayed
 * backlog usually matches recent lines). Only backlog pays for this scan,
 * at most history_len times per join. */
static bool has_id(const client_window *w, uint64_t id) {
  for (size_t i = w->count; i-- > 0;)
    if (client_window_line(w, i)->id == id)
      return true;
  return false;
}

/* Handles MSG: adds the line (deduplicating replayed backlog), counts
 * unread and mentions, fires MESSAGE. */
static void on_msg(client *c, const proto_chat *ch) {
  client_window *w = target_window(c, ch->kind, ch->target, ch->from, true);
  bool backlog = ch->flags & PROTO_MSGF_BACKLOG;
  if (backlog && ch->id != 0 && ch->id <= w->last_id && has_id(w, ch->id))
    return; /* already shown: a rejoin after reconnect replays history */
  bool self = client_str_eq(ch->from, c->m.self);
  uint8_t flags = 0;
  if (ch->flags & PROTO_MSGF_ACTION)
    flags |= CLIENT_LINE_ACTION;
  if (backlog)
    flags |= CLIENT_LINE_BACKLOG;
  if (self)
    flags |= CLIENT_LINE_SELF;
  client_line *l = client_window_add(w, ch->id, ch->ts_ms, ch->from.p,
                                     ch->from.n, ch->text.p, ch->text.n, flags);
  if (!l)
    return;
  if (!self && client_window_mentions(l->text, c->m.self))
    l->flags = (flags |= CLIENT_LINE_HIGHLIGHT);
  if (!backlog && !self && w != c->m.current) {
    w->unread++;
    w->activity = ++c->m.seq;
    if (flags & CLIENT_LINE_HIGHLIGHT)
      w->highlight = true;
  }
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_MESSAGE, .win = w, .line = l};
  /* Named from the frame, not the window: at the window limit a
   * conversation lands in the server window but keeps its peer. */
  char who[CLIENT_ROOM_SZ];
  if (ch->kind == PROTO_TO_ROOM) {
    client_str_copy(who, sizeof who, ch->target);
    ev.room = who;
  } else {
    client_str_copy(who, sizeof who, self ? ch->target : ch->from);
    ev.peer = who;
  }
  client_emit(c, &ev);
}

/* Handles JOINED: the room window exists and is joined; focus it when the
 * user is still looking at the server window (the auto-joined #lobby). */
static void on_joined(client *c, const proto_room_info *ri) {
  client_window *w =
      client_window_get(c, CLIENT_WIN_ROOM, ri->room.p, ri->room.n);
  if (!w)
    return;
  w->joined = true;
  w->parting = w->rejoin = false;
  w->members = ri->members;
  client_str_copy(w->topic, sizeof w->topic, ri->topic);
  c->m.seq++;
  if (c->m.current && c->m.current->kind == CLIENT_WIN_SERVER)
    client_window_switch(c, w);
  client_event ev = {.type = CLIENT_EV_JOINED, .win = w};
  client_emit(c, &ev);
}

/* Removes window w, firing WINDOW_CLOSED; returns nothing. */
static void drop_window(client *c, client_window *w) {
  char name[CLIENT_ROOM_SZ];
  snprintf(name, sizeof name, "%s", w->name);
  client_window_detach(c, w);
  client_event ev = {.type = CLIENT_EV_WINDOW_CLOSED, .name = name};
  client_emit(c, &ev);
  client_window_free(w);
  client_event ev2 = {.type = CLIENT_EV_WINDOW, .win = c->m.current};
  client_emit(c, &ev2);
}

/* Handles PARTED: the room's window goes away. */
static void on_parted(client *c, proto_str room) {
  char name[CLIENT_ROOM_SZ];
  client_str_copy(name, sizeof name, room);
  client_window *w = client_window_find(c, name);
  if (w && w->kind == CLIENT_WIN_ROOM && w->rejoin) {
    /* "/part #x" then "/join #x" before the answers: the JOIN follows. */
    w->joined = w->parting = w->rejoin = false;
    c->m.seq++;
  } else if (w && w->kind == CLIENT_WIN_ROOM) {
    drop_window(c, w);
  }
  client_event ev = {.type = CLIENT_EV_PARTED, .name = name};
  client_emit(c, &ev);
}

/* Copies a wire presence into a model user. */
static void user_from_wire(client *c, client_user *u, const proto_presence *p) {
  memset(u, 0, sizeof *u);
  client_str_copy(u->name, sizeof u->name, p->user);
  u->status = p->status;
  client_str_copy(u->text, sizeof u->text, p->text);
  client_str_copy(u->talking_with, sizeof u->talking_with, p->talking_with);
  u->idle_s = p->idle_s;
  u->idle_at = uv_now(c->loop);
  u->admin = p->flags & PROTO_PRESF_ADMIN;
  u->self = (p->flags & PROTO_PRESF_SELF) || client_str_eq(p->user, c->m.self);
}

static const char *status_name(uint8_t s) {
  return proto_status_name(s);
}

/* Handles PRESENCE: a WHO list entry is collected, a change applied. */
static void on_presence(client *c, const proto_presence *p) {
  client_user u;
  user_from_wire(c, &u, p);
  if (p->flags & PROTO_PRESF_LIST) {
    if (c->nwho >= CLIENT_MAX_USERS)
      return;
    if (c->nwho == c->who_cap) {
      size_t cap = c->who_cap ? c->who_cap * 2 : 64;
      client_user *n = realloc(c->who, cap * sizeof *n);
      if (!n)
        return;
      c->who = n;
      c->who_cap = cap;
    }
    c->who[c->nwho++] = u;
    return;
  }
  const client_user *shown = &u;
  if (p->status == PROTO_OFFLINE)
    client_user_remove(c, u.name, NULL);
  else
    shown = client_user_upsert(c, &u);
  if (!shown)
    shown = &u;
  if (u.self)
    c->m.admin = u.admin;
  client_event ev = {.type = CLIENT_EV_PRESENCE, .user = shown};
  client_emit(c, &ev);
}

/* Handles WHO_END: the collected list replaces the model's. */
static void on_who_end(client *c) {
  client_user *list = c->who;
  size_t n = c->nwho;
  c->who = NULL;
  c->nwho = c->who_cap = 0;
  client_user_replace(c, list, n);
  if (c->who_requested) {
    c->who_requested = false;
    client_info(c, NULL, CLIENT_LINE_INFO, "%zu user%s online", n,
                n == 1 ? "" : "s");
    for (size_t i = 0; i < c->m.nusers; i++) {
      const client_user *u = &c->m.users[i];
      client_info(c, NULL, CLIENT_LINE_INFO, "  %s%s  %s%s%s%s%s", u->name,
                  u->admin ? " (op)" : "", status_name(u->status),
                  u->text[0] ? ": " : "", u->text,
                  u->talking_with[0] ? ", talking with " : "", u->talking_with);
    }
  }
  client_event ev = {.type = CLIENT_EV_USERS};
  client_emit(c, &ev);
}

/* Handles NOTICE: a sentence in the right window; our own kick or ban
 * stops reconnection. */
static void on_notice(client *c, const proto_notice *nt) {
  char room[CLIENT_ROOM_SZ], user[CLIENT_NAME_SZ], actor[CLIENT_NAME_SZ];
  char text[PROTO_MAX_REASON * 4 + 1];
  client_str_copy(room, sizeof room, nt->room);
  client_str_copy(user, sizeof user, nt->user);
  client_str_copy(actor, sizeof actor, nt->actor);
  client_str_copy(text, sizeof text, nt->text);
  char buf[1200];
  const char *sep = text[0] ? ": " : "";
  switch (nt->kind) {
  case PROTO_NOTICE_JOINED:
    snprintf(buf, sizeof buf, "%s joined %s", user, room);
    break;
  case PROTO_NOTICE_LEFT:
    snprintf(buf, sizeof buf, "%s left %s%s%s", user, room, sep, text);
    break;
  case PROTO_NOTICE_QUIT:
    snprintf(buf, sizeof buf, "%s quit%s%s", user, sep, text);
    break;
  case PROTO_NOTICE_KICKED:
    snprintf(buf, sizeof buf, "%s was kicked by %s%s%s", user,
             actor[0] ? actor : "the server", sep, text);
    break;
  case PROTO_NOTICE_BANNED:
    snprintf(buf, sizeof buf, "%s was banned by %s%s%s", user,
             actor[0] ? actor : "the server", sep, text);
    break;
  case PROTO_NOTICE_TOPIC:
    snprintf(buf, sizeof buf, "%s set the topic of %s to: %s",
             actor[0] ? actor : (user[0] ? user : "the server"), room, text);
    break;
  default:
    snprintf(buf, sizeof buf, "server notice: %s", text);
    break;
  }
  bool about_me = strcasecmp(user, c->m.self) == 0;
  if (about_me &&
      (nt->kind == PROTO_NOTICE_KICKED || nt->kind == PROTO_NOTICE_BANNED))
    c->kicked = true;
  client_window *w = NULL;
  if (room[0])
    w = client_window_find(c, room);
  if (!w && nt->kind == PROTO_NOTICE_SERVER)
    w = c->m.current;
  if (!w && user[0])
    w = client_window_find(c, user);
  if (!w)
    w = c->m.windows[0];
  if (nt->kind == PROTO_NOTICE_TOPIC && w->kind == CLIENT_WIN_ROOM)
    snprintf(w->topic, sizeof w->topic, "%s", text);
  if (w->kind == CLIENT_WIN_ROOM && !about_me) {
    if (nt->kind == PROTO_NOTICE_JOINED)
      w->members++;
    else if (nt->kind == PROTO_NOTICE_LEFT && w->members > 0)
      w->members--;
  }
  client_line *l =
      client_window_add(w, 0, nt->ts_ms ? nt->ts_ms : client_now_ms(), user,
                        strlen(user), buf, strlen(buf), CLIENT_LINE_NOTICE);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_NOTICE,
                     .win = w,
                     .line = l,
                     .notice_kind = nt->kind,
                     .room = room,
                     .about = user,
                     .actor = actor,
                     .text = text};
  client_emit(c, &ev);
}

/* Reports an ERROR frame in the current window (or the one it is about). */
static void report_error(client *c, const proto_error_msg *e) {
  char subject[256], text[PROTO_MAX_ERRTEXT * 4 + 1];
  client_str_copy(subject, sizeof subject, e->subject);
  client_str_copy(text, sizeof text, e->text);
  if (!text[0])
    snprintf(text, sizeof text, "%s", proto_strerror(e->code));
  client_window *w = c->m.current ? c->m.current : c->m.windows[0];
  client_line *l =
      client_window_add(w, 0, client_now_ms(), subject, strlen(subject), text,
                        strlen(text), CLIENT_LINE_ERROR);
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_ERROR,
                     .win = w,
                     .line = l,
                     .code = e->code,
                     .name = proto_errname(e->code),
                     .subject = subject,
                     .text = text};
  client_emit(c, &ev);
  /* A refused join or query leaves no window behind. */
  if (subject[0] &&
      (e->ref_type == PROTO_JOIN || e->ref_type == PROTO_QUERY_OPEN)) {
    client_window *fw = client_window_find(c, subject);
    if (fw && (e->ref_type == PROTO_QUERY_OPEN || !fw->joined))
      drop_window(c, fw);
  }
}

/* Handles ERROR in any phase. */
static void on_error(client *c, client_conn *k, const proto_error_msg *e) {
  char text[PROTO_MAX_ERRTEXT * 4 + 64];
  client_str_copy(text, sizeof text, e->text);
  if (!text[0])
    snprintf(text, sizeof text, "%s", proto_strerror(e->code));
  if (e->code == PERR_VERSION) {
    char sub[64], buf[sizeof text + 200];
    client_str_copy(sub, sizeof sub, e->subject);
    snprintf(buf, sizeof buf,
             "protocol version mismatch: the server speaks version %s, this "
             "client speaks %d (%s); upgrade the older side",
             sub[0] ? sub : "?", PROTO_VERSION, text);
    report_error(c, e);
    session_lost(c, buf, CLIENT_FATAL_CONNECT);
    return;
  }
  if (k->phase == CONN_LOGIN || k->phase == CONN_HELLO) {
    if (e->code == PERR_TOKEN_INVALID && k->phase == CONN_LOGIN) {
      c->have_token = false;
      k->tried_password = true;
      send_login(c, k);
      return;
    }
    report_error(c, e);
    client_fatal f = login_error_class(e->code);
    char buf[sizeof text + 80];
    snprintf(buf, sizeof buf, "%s failed: %s",
             k->phase == CONN_HELLO ? "handshake"
             : c->opts.do_register  ? "registration"
                                    : "login",
             text);
    session_lost(c, buf, f);
    return;
  }
  if (e->code == PERR_BANNED)
    c->kicked = true;
  report_error(c, e);
  if (e->code == PERR_SESSION_REPLACED)
    session_lost(c, text, CLIENT_FATAL_OTHER);
}

/* Handles LOGIN_OK: keeps the token, reports CONNECTED, rejoins rooms. */
static void on_login_ok(client *c, client_conn *k, const proto_login_ok *ok) {
  k->phase = CONN_READY;
  client_str_copy(c->m.self, sizeof c->m.self, ok->name);
  snprintf(c->opts.user, sizeof c->opts.user, "%s", c->m.self);
  c->m.admin = ok->role == PROTO_ROLE_ADMIN;
  if (ok->token.n == PROTO_TOKEN_LEN) {
    memcpy(c->token, ok->token.p, PROTO_TOKEN_LEN);
    c->have_token = true;
  }
  c->opts.do_register = false; /* the account exists now */
  c->ever_ready = true;
  c->attempt = 0;
  c->kicked = false;
  c->pings_missed = 0;
  c->ping_outstanding = false;
  set_state(c, CLIENT_CONNECTED, "connected");
  /* The server auto-joins #lobby: its window is current from now on, so
   * text sent before JOINED arrives already has a place to go (the server
   * handles our SAY after its own join). */
  client_window *lobby =
      client_window_get(c, CLIENT_WIN_ROOM, "#lobby", strlen("#lobby"));
  if (lobby && c->m.current && c->m.current->kind == CLIENT_WIN_SERVER)
    client_window_switch(c, lobby);
  /* Rooms we were in before a reconnect (the server re-adds #lobby). */
  for (size_t i = 0; i < c->m.nwindows; i++) {
    client_window *w = c->m.windows[i];
    w->opened = false; /* a new session: conversations open on next use */
    if (w->kind != CLIENT_WIN_ROOM || strcasecmp(w->name, "#lobby") == 0)
      continue;
    proto_msg m = {.type = PROTO_JOIN};
    m.u.join.room = proto_str_c(w->name);
    (void)client_send(c, &m);
  }
  /* First probe at once so the status bar shows lag early. */
  if (c->opts.ping_ms) {
    int r = uv_timer_start(&c->ping_timer, ping_due, 0, c->opts.ping_ms);
    (void)r; /* fails only if closing, and then nothing needs pinging */
  } else {
    ping_send(c);
  }
  /* Last: the face may run commands (even /quit) from this event. */
  client_event ev = {.type = CLIENT_EV_CONNECTED};
  client_emit(c, &ev);
}

/* Handles ROOM / ROOMS_END. */
static void on_room(client *c, const proto_room_info *ri) {
  if (c->nrooms >= CLIENT_MAX_LIST)
    return;
  if (c->nrooms == c->rooms_cap) {
    size_t cap = c->rooms_cap ? c->rooms_cap * 2 : 16;
    client_room_entry *n = realloc(c->rooms, cap * sizeof *n);
    if (!n)
      return;
    c->rooms = n;
    c->rooms_cap = cap;
  }
  client_room_entry *e = &c->rooms[c->nrooms++];
  client_str_copy(e->room, sizeof e->room, ri->room);
  e->members = ri->members;
  client_str_copy(e->topic, sizeof e->topic, ri->topic);
}

static void on_rooms_end(client *c) {
  client_info(c, NULL, CLIENT_LINE_INFO, "%zu room%s", c->nrooms,
              c->nrooms == 1 ? "" : "s");
  for (size_t i = 0; i < c->nrooms; i++)
    client_info(c, NULL, CLIENT_LINE_INFO, "  %s  %u member%s%s%s",
                c->rooms[i].room, c->rooms[i].members,
                c->rooms[i].members == 1 ? "" : "s",
                c->rooms[i].topic[0] ? "  " : "", c->rooms[i].topic);
  client_event ev = {
      .type = CLIENT_EV_ROOMS, .rooms = c->rooms, .n = c->nrooms};
  client_emit(c, &ev);
  c->nrooms = 0;
}

/* Dispatches one decoded frame. */
static void handle(client *c, client_conn *k, const proto_msg *m) {
  if (k->phase == CONN_HELLO && m->type != PROTO_WELCOME &&
      m->type != PROTO_ERROR && m->type != PROTO_BYE) {
    session_lost(c, "server did not answer HELLO with WELCOME",
                 CLIENT_FATAL_NONE);
    return;
  }
  switch (m->type) {
  case PROTO_WELCOME: {
    const proto_welcome *w = &m->u.welcome;
    if (k->phase != CONN_HELLO)
      return;
    if (w->version < PROTO_VERSION_MIN || w->version > PROTO_VERSION) {
      char buf[200];
      snprintf(buf, sizeof buf,
               "protocol version mismatch: server speaks %u, this client %d",
               w->version, PROTO_VERSION);
      session_lost(c, buf, CLIENT_FATAL_CONNECT);
      return;
    }
    c->m.limits = (client_limits){
        .version = w->version,
        .max_msg_chars = w->max_msg_chars,
        .max_frame = w->max_frame,
        .max_file_size = w->max_file_size,
        .max_rooms = w->max_rooms,
        .history_len = w->history_len,
        .flags = w->flags,
    };
    client_str_copy(c->m.server_name, sizeof c->m.server_name, w->server_name);
    client_str_copy(c->m.server_agent, sizeof c->m.server_agent, w->agent);
    client_str_copy(c->m.windows[0]->name, sizeof c->m.windows[0]->name,
                    w->server_name);
    send_login(c, k);
    return;
  }
  case PROTO_ERROR:
    on_error(c, k, &m->u.error);
    return;
  case PROTO_BYE: {
    char buf[PROTO_MAX_REASON * 4 + 40];
    char r[PROTO_MAX_REASON * 4 + 1];
    client_str_copy(r, sizeof r, m->u.bye.reason);
    snprintf(buf, sizeof buf, "server closed the session%s%s", r[0] ? ": " : "",
             r);
    session_lost(c, buf, CLIENT_FATAL_NONE);
    return;
  }
  case PROTO_PING: {
    proto_msg p = {.type = PROTO_PONG};
    p.u.pong.token = m->u.ping.token;
    (void)client_send(c, &p);
    return;
  }
  case PROTO_PONG:
    if (c->ping_outstanding && m->u.pong.token == c->ping_token) {
      c->ping_outstanding = false;
      c->pings_missed = 0;
      c->m.lag_ms = (int64_t)(uv_now(c->loop) - c->ping_sent);
      c->m.seq++;
      client_event ev = {.type = CLIENT_EV_LAG};
      client_emit(c, &ev);
    }
    return;
  default:
    break;
  }
  if (k->phase == CONN_LOGIN) {
    if (m->type == PROTO_LOGIN_OK)
      on_login_ok(c, k, &m->u.login_ok);
    return; /* nothing else is meaningful before LOGIN_OK */
  }
  if (k->phase != CONN_READY)
    return;
  switch (m->type) {
  case PROTO_JOINED:
    on_joined(c, &m->u.joined);
    break;
  case PROTO_PARTED:
    on_parted(c, m->u.parted.room);
    break;
  case PROTO_MSG:
    on_msg(c, &m->u.msg);
    break;
  case PROTO_HISTORY_END: {
    const proto_history_end *h = &m->u.history_end;
    proto_str none = {0};
    client_window *w = target_window(c, h->kind, h->target, none, false);
    client_event ev = {
        .type = CLIENT_EV_HISTORY_END, .win = w, .count = h->count};
    if (w->kind == CLIENT_WIN_ROOM)
      ev.room = w->name;
    else if (w->kind == CLIENT_WIN_QUERY)
      ev.peer = w->name;
    client_emit(c, &ev);
    break;
  }
  case PROTO_PRESENCE:
    on_presence(c, &m->u.presence);
    break;
  case PROTO_WHO_END:
    on_who_end(c);
    break;
  case PROTO_NOTICE:
    on_notice(c, &m->u.notice);
    break;
  case PROTO_ROOM:
    on_room(c, &m->u.room);
    break;
  case PROTO_ROOMS_END:
    on_rooms_end(c);
    break;
  case PROTO_LOGIN_OK:
    break; /* a second one would be a server bug; ignore */
  default:
    if (c->frame_cb)
      c->frame_cb(c, m, c->frame_ud);
    break;
  }
}

/* Gives libuv the free tail of the connection's frame buffer. */
static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  client_conn *k = h->data;
  buf->base = (char *)k->rbuf + k->rlen;
  buf->len = sizeof k->rbuf - k->rlen;
}

/* Decodes every whole frame in the buffer; keeps a partial one. */
static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  client_conn *k = s->data;
  client *c = k->c;
  if (k->closing)
    return;
  if (nread < 0) {
    char reason[200];
    snprintf(reason, sizeof reason, "%s",
             nread == UV_EOF ? "server closed the connection"
                             : uv_strerror((int)nread));
    session_lost(c, reason, CLIENT_FATAL_NONE);
    return;
  }
  k->rlen += (size_t)nread;
  size_t off = 0;
  while (!k->closing && off < k->rlen) {
    proto_msg m;
    ssize_t r = proto_decode(k->rbuf + off, k->rlen - off, &m);
    if (r == 0)
      break;
    if (r == -PERR_UNKNOWN_TYPE) { /* newer server: skip what we don't know */
      if (m.frame_len > k->rlen - off)
        break;
      off += m.frame_len;
      continue;
    }
    if (r < 0) {
      char reason[200];
      snprintf(reason, sizeof reason, "malformed frame from the server: %s",
               proto_strerror((int)r));
      session_lost(c, reason, CLIENT_FATAL_NONE);
      return;
    }
    handle(c, k, &m);
    off += (size_t)r;
  }
  if (k->closing)
    return; /* the buffer dies with the connection */
  if (off > 0) {
    memmove(k->rbuf, k->rbuf + off, k->rlen - off);
    k->rlen -= off;
  }
  if (k->rlen == sizeof k->rbuf) /* cannot happen: one frame always fits */
    session_lost(c, "frame larger than the buffer", CLIENT_FATAL_NONE);
}

/* TCP connected (or not): start the handshake, or try the next address. */
static void conn_connected(uv_connect_t *req, int status) {
  client_conn *k = req->data;
  client *c = k->c;
  if (k->closing)
    return;
  if (status < 0) {
    char reason[300];
    snprintf(reason, sizeof reason, "cannot connect to %s port %u: %s",
             c->m.host, c->m.port, uv_strerror(status));
    conn_close(k);
    if (c->addr_next < c->naddrs) {
      conn_start(c);
      return;
    }
    session_lost(c, reason, CLIENT_FATAL_NONE);
    return;
  }
  int r = uv_tcp_nodelay(&k->tcp, 1);
  (void)r; /* latency tweak only: no failure to report */
  /* The kernel probes an idle link, so a dead server is noticed without a
   * timer waking this process (the TUI runs with ping_ms = 0). */
  r = uv_tcp_keepalive(&k->tcp, 1, 60);
  (void)r;
  r = uv_read_start((uv_stream_t *)&k->tcp, conn_alloc, conn_read);
  if (r < 0) {
    session_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
    return;
  }
  k->phase = CONN_HELLO;
  proto_msg m = {.type = PROTO_HELLO};
  m.u.hello.version = PROTO_VERSION;
  m.u.hello.agent = proto_str_c(CLIENT_AGENT);
  r = client_send(c, &m);
  if (r < 0)
    session_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
}

/* Opens a TCP connection to the next resolved address. */
static void conn_start(client *c) {
  client_conn *k = calloc(1, sizeof *k);
  if (!k) {
    session_lost(c, "out of memory", CLIENT_FATAL_OTHER);
    return;
  }
  k->c = c;
  int r = uv_tcp_init(c->loop, &k->tcp);
  if (r < 0) {
    free(k);
    session_lost(c, uv_strerror(r), CLIENT_FATAL_NONE);
    return;
  }
  k->tcp.data = k;
  k->connect_req.data = k;
  c->live++;
  c->conn = k;
  const struct sockaddr *sa =
      (const struct sockaddr *)&c->addrs[c->addr_next++];
  r = uv_tcp_connect(&k->connect_req, &k->tcp, sa, conn_connected);
  if (r < 0) {
    char reason[300];
    snprintf(reason, sizeof reason, "cannot connect to %s port %u: %s",
             c->m.host, c->m.port, uv_strerror(r));
    conn_close(k);
    if (c->addr_next < c->naddrs)
      conn_start(c);
    else
      session_lost(c, reason, CLIENT_FATAL_NONE);
  }
}

/* Name resolved: remember up to CLIENT_MAX_ADDRS addresses, connect. */
static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai) {
  client *c = req->data;
  c->resolving = false;
  c->live--;
  if (c->stopping) {
    uv_freeaddrinfo(ai);
    maybe_stopped(c);
    return;
  }
  if (status < 0) {
    char reason[400];
    snprintf(reason, sizeof reason, "cannot resolve %s: %s", c->m.host,
             uv_strerror(status));
    uv_freeaddrinfo(ai);
    session_lost(c, reason, CLIENT_FATAL_NONE);
    return;
  }
  c->naddrs = c->addr_next = 0;
  for (struct addrinfo *p = ai; p && c->naddrs < CLIENT_MAX_ADDRS;
       p = p->ai_next) {
    if (p->ai_addrlen > sizeof c->addrs[0])
      continue;
    memcpy(&c->addrs[c->naddrs], p->ai_addr, p->ai_addrlen);
    c->naddrs++;
  }
  uv_freeaddrinfo(ai);
  if (c->naddrs == 0) {
    session_lost(c, "host has no usable address", CLIENT_FATAL_NONE);
    return;
  }
  conn_start(c);
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
  set_state(c, CLIENT_CONNECTING, reason);
  char port[8];
  snprintf(port, sizeof port, "%u", c->m.port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_protocol = IPPROTO_TCP};
  c->gai.data = c;
  int r = uv_getaddrinfo(c->loop, &c->gai, resolved, c->m.host, port, &hints);
  if (r < 0)
    return r;
  c->resolving = true;
  c->live++;
  return 0;
}

/* After BYE is flushed: close the connection. */
static void quit_shutdown_done(uv_shutdown_t *req, int status) {
  (void)status;
  client_conn *k = req->data;
  client *c = k->c;
  conn_close(k);
  client_stop(c);
}

void client_quit(client *c, const char *reason) {
  if (c->quitting || c->stopping)
    return;
  c->quitting = true;
  client_event ev = {.type = CLIENT_EV_QUIT, .text = reason ? reason : ""};
  client_emit(c, &ev);
  client_conn *k = c->conn;
  if (k && !k->closing && k->phase != CONN_CONNECTING) {
    proto_msg m = {.type = PROTO_BYE};
    m.u.bye.reason = proto_str_c(reason ? reason : "");
    if (client_send(c, &m) < 0) { /* a bad reason: leave without one */
      m.u.bye.reason = proto_str_c("");
      (void)client_send(c, &m);
    }
    k->shutdown_req.data = k;
    if (uv_shutdown(&k->shutdown_req, (uv_stream_t *)&k->tcp,
                    quit_shutdown_done) == 0)
      return;
  }
  client_stop(c);
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
    snprintf(buf, n, "disconnected%s%s", c->m.reason[0] ? ": " : "",
             c->m.reason);
  }
  return buf;
}

/* ---- commands ---------------------------------------------------------------
 */

/* Formats a send failure into err; returns the client_command() code. */
static int send_err(int r, char *err, size_t errlen) {
  if (r == UV_ENOTCONN) {
    snprintf(err, errlen, "not connected");
    return CLIENT_ENOTCONN;
  }
  if (r == UV_ENOBUFS) {
    snprintf(err, errlen, "too much queued for the server; wait a moment");
    return CLIENT_EQUEUE;
  }
  if (r == UV_ENOMEM) {
    snprintf(err, errlen, "out of memory");
    return CLIENT_EQUEUE;
  }
  /* Anything else from client_send() is the encoder's -PERR_* for a bad
   * field (it maps libuv failures to the three codes above). */
  snprintf(err, errlen, "%s", proto_strerror(r));
  return r;
}

const char *client_command_errname(int r) {
  switch (r) {
  case CLIENT_EUSAGE:
    return "USAGE";
  case CLIENT_ENOTARGET:
    return "NO_TARGET";
  case CLIENT_ENOTCONN:
    return "NOT_CONNECTED";
  case CLIENT_EQUEUE:
    return "QUEUE_FULL";
  default:
    return proto_errname(r);
  }
}

/* Sends m, mapping failures to err. */
static int send_or_err(client *c, const proto_msg *m, char *err,
                       size_t errlen) {
  int r = client_send(c, m);
  if (r == -PERR_FIELD_TOO_LONG && m->type == PROTO_SAY) {
    snprintf(err, errlen,
             "message longer than %d characters, the protocol's "
             "hard limit",
             PROTO_MAX_TEXT);
    return r;
  }
  return r < 0 ? send_err(r, err, errlen) : 0;
}

/* Sends text (an action with flags) to window w. */
static int say(client *c, client_window *w, const char *text, uint8_t flags,
               char *err, size_t errlen) {
  if (!w || w->kind == CLIENT_WIN_SERVER) {
    snprintf(err, errlen,
             "this window has no room or person: /join #room or /query "
             "USER first");
    return CLIENT_ENOTARGET;
  }
  if (w->kind == CLIENT_WIN_QUERY && !w->opened) {
    /* A window the peer's first message opened: replying is talking with
     * them, which the server learns from QUERY_OPEN. */
    proto_msg q = {.type = PROTO_QUERY_OPEN};
    q.u.query_open.user = proto_str_c(w->name);
    int r = send_or_err(c, &q, err, errlen);
    if (r < 0)
      return r;
    w->opened = true;
  }
  proto_msg m = {.type = PROTO_SAY};
  m.u.say.kind = w->kind == CLIENT_WIN_ROOM ? PROTO_TO_ROOM : PROTO_TO_USER;
  m.u.say.target = proto_str_c(w->name);
  m.u.say.flags = flags;
  m.u.say.text = proto_str_c(text);
  return send_or_err(c, &m, err, errlen);
}

/* Checks a user-name argument; fills err. */
static int check_user(const char *p, size_t n, char *err, size_t errlen) {
  if (proto_check_name(p, n) < 0) {
    snprintf(err, errlen, "'%.*s': %s", (int)(n > 64 ? 64 : n), p,
             proto_strerror(PERR_BAD_NAME));
    return -PERR_BAD_NAME;
  }
  return 0;
}

/* Fills a C string from a cmd word. */
static void word_copy(char *dst, size_t dsz, const client_cmd *cmd) {
  size_t n = cmd->word_n < dsz - 1 ? cmd->word_n : dsz - 1;
  memcpy(dst, cmd->word, n);
  dst[n] = '\0';
}

/* Lists the help table in the current window and fires HELP. */
static void show_help(client *c) {
  size_t n;
  const client_help_entry *h = client_cmd_help(&n);
  client_info(c, NULL, CLIENT_LINE_INFO, "commands:");
  for (size_t i = 0; i < n; i++)
    client_info(c, NULL, CLIENT_LINE_INFO, "  %-30s %s", h[i].command,
                h[i].help);
  client_event ev = {.type = CLIENT_EV_HELP};
  client_emit(c, &ev);
}

int client_command(client *c, client_window *w, const char *line, char *err,
                   size_t errlen) {
  client_cmd cmd;
  if (!w)
    w = c->m.current;
  err[0] = '\0';
  if (client_cmd_parse(line, &cmd, err, errlen) < 0)
    return CLIENT_EUSAGE;
  ping_on_activity(c);
  bool needs_server =
      !(cmd.id == CLIENT_CMD_NONE || cmd.id == CLIENT_CMD_HELP ||
        cmd.id == CLIENT_CMD_SCAN || cmd.id == CLIENT_CMD_QUIT ||
        cmd.id == CLIENT_CMD_CLOSE);
  if (needs_server && !client_ready(c)) {
    char st[200];
    snprintf(err, errlen, "not connected (%s)",
             client_state_text(c, st, sizeof st));
    return CLIENT_ENOTCONN;
  }
  proto_msg m = {0};
  char name[CLIENT_ROOM_SZ + 1];
  switch (cmd.id) {
  case CLIENT_CMD_NONE:
    return 0;
  case CLIENT_CMD_TEXT:
    return say(c, w, cmd.rest, 0, err, errlen);
  case CLIENT_CMD_ME:
    return say(c, w, cmd.rest, PROTO_MSGF_ACTION, err, errlen);
  case CLIENT_CMD_JOIN: {
    if (cmd.word[0] == '#')
      word_copy(name, sizeof name, &cmd);
    else { /* "/join x" means #x */
      name[0] = '#';
      word_copy(name + 1, sizeof name - 1, &cmd);
    }
    if (proto_check_room(name, strlen(name)) < 0) {
      snprintf(err, errlen, "'%s': %s", name, proto_strerror(PERR_BAD_ROOM));
      return -PERR_BAD_ROOM;
    }
    client_window *rw = client_window_find(c, name);
    if (rw && rw->kind == CLIENT_WIN_ROOM && !rw->parting) {
      client_window_switch(c, rw); /* joined, or the join is on its way */
      return 0;
    }
    m.type = PROTO_JOIN;
    m.u.join.room = proto_str_c(name);
    int r = send_or_err(c, &m, err, errlen);
    if (r < 0)
      return r;
    if (rw) /* our PART is still in flight: keep the window past PARTED */
      rw->rejoin = true;
    /* Open the window now so text typed next goes there; the server
     * handles JOIN before that SAY, and a refusal drops the window. */
    rw = client_window_get(c, CLIENT_WIN_ROOM, name, strlen(name));
    if (rw)
      client_window_switch(c, rw);
    return 0;
  }
  case CLIENT_CMD_PART:
    if (cmd.word_n)
      word_copy(name, sizeof name, &cmd);
    else if (w && w->kind == CLIENT_WIN_ROOM)
      snprintf(name, sizeof name, "%s", w->name);
    else {
      snprintf(err, errlen, "not in a room window: /part #room");
      return CLIENT_EUSAGE;
    }
    m.type = PROTO_PART;
    m.u.part.room = proto_str_c(name);
    m.u.part.reason = proto_str_c(cmd.rest);
    {
      int r = send_or_err(c, &m, err, errlen);
      client_window *pw = client_window_find(c, name);
      if (r == 0 && pw && pw->kind == CLIENT_WIN_ROOM) {
        pw->parting = true;
        pw->rejoin = false;
      }
      return r;
    }
  case CLIENT_CMD_MSG:
  case CLIENT_CMD_QUERY: {
    int r = check_user(cmd.word, cmd.word_n, err, errlen);
    if (r < 0)
      return r;
    word_copy(name, sizeof name, &cmd);
    if (cmd.id == CLIENT_CMD_QUERY) {
      m.type = PROTO_QUERY_OPEN;
      m.u.query_open.user = proto_str_c(name);
      r = send_or_err(c, &m, err, errlen);
      if (r < 0)
        return r;
      client_window *qw = client_window_query(c, name, true);
      if (!qw) {
        snprintf(err, errlen, "too many windows open; /close some");
        return CLIENT_EUSAGE;
      }
      qw->opened = true;
      if (!cmd.rest[0])
        return 0;
    }
    m = (proto_msg){.type = PROTO_SAY};
    m.u.say.kind = PROTO_TO_USER;
    m.u.say.target = proto_str_c(name);
    m.u.say.text = proto_str_c(cmd.rest);
    return send_or_err(c, &m, err, errlen);
  }
  case CLIENT_CMD_AWAY:
  case CLIENT_CMD_BACK:
  case CLIENT_CMD_BUSY:
    m.type = PROTO_SET_STATUS;
    m.u.set_status.status = cmd.id == CLIENT_CMD_AWAY   ? PROTO_AWAY
                            : cmd.id == CLIENT_CMD_BUSY ? PROTO_BUSY
                                                        : PROTO_ONLINE;
    m.u.set_status.text = proto_str_c(cmd.rest);
    return send_or_err(c, &m, err, errlen);
  case CLIENT_CMD_WHO: {
    m.type = PROTO_WHO_REQ;
    int r = send_or_err(c, &m, err, errlen);
    if (r == 0)
      c->who_requested = true;
    return r;
  }
  case CLIENT_CMD_ROOMS:
    m.type = PROTO_ROOMS_REQ;
    return send_or_err(c, &m, err, errlen);
  case CLIENT_CMD_KICK:
  case CLIENT_CMD_BAN: {
    int r = check_user(cmd.word, cmd.word_n, err, errlen);
    if (r < 0)
      return r;
    word_copy(name, sizeof name, &cmd);
    if (cmd.id == CLIENT_CMD_KICK) {
      m.type = PROTO_KICK;
      m.u.kick.user = proto_str_c(name);
      m.u.kick.reason = proto_str_c(cmd.rest);
    } else {
      m.type = PROTO_BAN;
      m.u.ban.user = proto_str_c(name);
      m.u.ban.duration_s = cmd.num;
      m.u.ban.reason = proto_str_c(cmd.rest);
    }
    return send_or_err(c, &m, err, errlen);
  }
  case CLIENT_CMD_TOPIC:
    if (!w || w->kind != CLIENT_WIN_ROOM) {
      snprintf(err, errlen, "not in a room window");
      return CLIENT_EUSAGE;
    }
    m.type = PROTO_TOPIC;
    m.u.topic.room = proto_str_c(w->name);
    m.u.topic.topic = proto_str_c(cmd.rest);
    return send_or_err(c, &m, err, errlen);
  case CLIENT_CMD_SCAN: {
    int r = client_scan(c);
    if (r < 0) {
      snprintf(err, errlen, "cannot scan: %s",
               r == UV_EALREADY ? "a scan is already running" : uv_strerror(r));
      return CLIENT_EQUEUE;
    }
    return 0;
  }
  case CLIENT_CMD_HELP:
    show_help(c);
    return 0;
  case CLIENT_CMD_QUIT:
    client_quit(c, cmd.rest);
    return 0;
  case CLIENT_CMD_CLOSE: {
    int r = client_window_close(c, w);
    if (r == CLIENT_EUSAGE)
      snprintf(err, errlen, "the server window cannot be closed");
    return r == CLIENT_EUSAGE || r == 0 ? r : send_err(r, err, errlen);
  }
  }
  return 0;
}
