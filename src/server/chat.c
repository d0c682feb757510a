/* chat.c: messages, backlogs and conversations (see chat.h). */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "conn.h"
#include "log.h"
#include "presence.h"
#include "room.h"
#include "server.h"
#include "store.h"
#include "user.h"

#define CHAT_CONV_KEY (2 * PROTO_MAX_NAME + 4)

/* The text rules of a SAY: not empty, valid UTF-8, at most max_chars
 * code points (not bytes: "é" counts one), no control characters (they
 * would reach other terminals). Returns 0 or the first broken rule as a
 * negative PERR: MSG_EMPTY, BAD_UTF8, MSG_TOO_LONG, CONTROL_CHARS. */
int chat_check_text(proto_str text, uint32_t max_chars) {
  if (text.n == 0)
    return -PERR_MSG_EMPTY;
  ssize_t chars = proto_utf8_count(text.p, text.n);
  if (chars < 0)
    return -PERR_BAD_UTF8;
  if ((size_t)chars > max_chars)
    return -PERR_MSG_TOO_LONG;
  if (proto_has_control(text.p, text.n))
    return -PERR_CONTROL_CHARS;
  return 0;
}

/* The flood rule: each message takes a token from the sender's bucket,
 * which holds burst tokens and refills at rate per second. Returns 0, or
 * -PERR_FLOOD when the bucket is empty (nothing taken). */
int chat_check_rate(bucket *flood, uint32_t rate, uint32_t burst,
                    uint64_t now_ms) {
  return bucket_take(flood, rate, 1000, burst, now_ms) ? 0 : -PERR_FLOOD;
}

/* Builds the MSG for a new message with the next id. */
static void chat_make(proto_msg *m, uint8_t kind, proto_str target,
                      const char *from, uint8_t flags, proto_str text) {
  memset(m, 0, sizeof *m);
  m->type = PROTO_MSG;
  m->u.msg.id = ++srv.next_msg_id;
  m->u.msg.ts_ms = server_wall_ms();
  m->u.msg.kind = kind;
  m->u.msg.target = target;
  m->u.msg.from = proto_str_c(from);
  m->u.msg.flags = flags & PROTO_MSGF_ACTION;
  m->u.msg.text = text;
}

/* Runs before a message goes to a room (chat_set_before_room). */
static void (*chat_before_room)(const room *r);

void chat_set_before_room(void (*fn)(const room *r)) {
  chat_before_room = fn;
}

typedef struct chat_out {      /* a message waiting for its commit */
  fbuf *b;                     /* the encoded MSG, shared by every recipient */
  struct conn *c;              /* the sender (referenced) */
  uint8_t kind;                /* enum proto_target */
  char to[PROTO_MAX_ROOM + 1]; /* the room, or the recipient's name */
} chat_out;

/* Delivers a message whose commit is done (result 0) to the room's
 * members, or to the recipient and the sender's own connection; or tells
 * the sender it was not stored and so not delivered. */
static void chat_on_kept(void *ctx, int result) {
  chat_out *o = ctx;
  struct conn *c = o->c;
  bool alive = !c->closing && c->user != NULL;
  if (srv.finished) { /* the last commits of a shutdown: nobody to tell */
    alive = false;
    result = -PERR_SHUTTING_DOWN;
  }
  if (result == 0 && o->kind == PROTO_TO_ROOM) {
    room *r = room_find(o->to, strlen(o->to));
    if (r != NULL) {
      if (chat_before_room != NULL)
        chat_before_room(r);
      bus_room(r, o->b, NULL);
    }
  } else if (result == 0) {
    user *peer = user_find(o->to, strlen(o->to));
    if (peer != NULL && (!alive || peer != c->user))
      bus_user(peer, o->b);
    if (alive) /* the sender's echo: a reply on its own connection */
      conn_send(c, o->b);
  } else if (alive && result == -PERR_NO_SUCH_USER) {
    conn_error(c, PERR_NO_SUCH_USER, PROTO_SAY, o->to, "no such user: %s",
               o->to);
  } else if (alive) {
    conn_error(c, PERR_STORAGE, PROTO_SAY, o->to, NULL);
  }
  fbuf_unref(o->b);
  conn_unref(c);
  free(o);
}

/* Keeps a message, then delivers it once it is on disk (chat_on_kept):
 * nobody, the sender included, sees a message a crash could lose. With
 * history off it goes out at once. b is referenced, not taken. */
static void chat_keep(struct conn *c, const proto_msg *m, fbuf *b,
                      const char *to) {
  chat_out *o = malloc(sizeof *o);
  if (o == NULL) {
    conn_error(c, PERR_INTERNAL, PROTO_SAY, to, NULL);
    return;
  }
  o->b = fbuf_ref(b);
  o->c = conn_ref(c);
  o->kind = m->u.msg.kind;
  snprintf(o->to, sizeof o->to, "%s", to);
  char conv[CHAT_CONV_KEY];
  const proto_chat *x = &m->u.msg;
  store_conv_key(conv, sizeof conv, x->kind, x->target, x->from);
  int r = store_history_add(x->id, x->ts_ms, x->kind, conv, x->target, x->from,
                            x->flags, x->text, chat_on_kept, o);
  if (r <= 0)
    chat_on_kept(o, r);
}

/* Room message: encoded once, shared by every member (sender included). */
static void chat_say_room(struct conn *c, const proto_say *req,
                          const char *subject) {
  user *u = c->user;
  room *r = room_find(req->target.p, req->target.n);
  if (r == NULL || room_member(r, u) == NULL) {
    conn_error(c, r ? PERR_NOT_IN_ROOM : PERR_NO_SUCH_ROOM, PROTO_SAY, subject,
               NULL);
    return;
  }
  proto_msg m;
  chat_make(&m, PROTO_TO_ROOM, proto_str_c(r->name), u->name, req->flags,
            req->text);
  fbuf *b = fbuf_encode(&m, NULL);
  if (b == NULL) {
    conn_error(c, PERR_INTERNAL, PROTO_SAY, subject, NULL);
    return;
  }
  chat_keep(c, &m, b, r->name);
  fbuf_unref(b);
}

/* Delivers a direct message to the recipient (if online) and the sender,
 * once kept. to is the canonical recipient name. */
static void chat_deliver_dm(struct conn *c, const char *to, uint8_t flags,
                            proto_str text) {
  user *u = c->user;
  proto_msg m;
  chat_make(&m, PROTO_TO_USER, proto_str_c(to), u->name, flags, text);
  fbuf *b = fbuf_encode(&m, NULL);
  if (b == NULL) {
    conn_error(c, PERR_INTERNAL, PROTO_SAY, to, NULL);
    return;
  }
  chat_keep(c, &m, b, to);
  fbuf_unref(b);
}

typedef struct chat_pending { /* a DM to an offline user, being checked */
  uint8_t flags;
  uint16_t len;
  char text[];
} chat_pending;

/* Store answer: does the offline recipient exist? */
static void chat_on_dm_lookup(store_job *j) {
  struct conn *c = j->ctx;
  chat_pending *p = (chat_pending *)(uintptr_t)j->arg;
  if (!c->closing && c->user != NULL) {
    if (!j->found)
      conn_error(c, PERR_NO_SUCH_USER, PROTO_SAY, j->name, "no such user: %s",
                 j->name);
    else
      chat_deliver_dm(c, j->out_name, p->flags, (proto_str){p->text, p->len});
  }
  free(p);
  conn_unref(c);
}

/* Direct message: straight through when the peer is online, else after
 * the store confirms the account exists. */
static void chat_say_user(struct conn *c, const proto_say *req,
                          const char *subject) {
  if (proto_check_name(req->target.p, req->target.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_SAY, subject, NULL);
    return;
  }
  user *peer = user_find(req->target.p, req->target.n);
  if (peer != NULL) {
    chat_deliver_dm(c, peer->name, req->flags, req->text);
    return;
  }
  chat_pending *p = malloc(sizeof *p + req->text.n);
  if (p == NULL) {
    conn_error(c, PERR_INTERNAL, PROTO_SAY, subject, NULL);
    return;
  }
  p->flags = req->flags;
  p->len = req->text.n;
  memcpy(p->text, req->text.p, req->text.n);
  store_job *j =
      store_job_new(STORE_ACCOUNT_GET, chat_on_dm_lookup, conn_ref(c));
  j->arg = (uint64_t)(uintptr_t)p;
  snprintf(j->name, sizeof j->name, "%.32s", subject);
  store_submit(j);
}

/* SAY: the text rules, then the flood rule, then delivery. A refused
 * message gets an ERROR saying which rule and what to do. */
void chat_on_say(struct conn *c, const proto_say *req) {
  user *u = c->user;
  char subject[PROTO_MAX_ROOM + 1];
  proto_str_copy(subject, sizeof subject, req->target);
  const config *cfg = srv.cfg;
  int rc = chat_check_text(req->text, cfg->max_msg_chars);
  if (rc == -PERR_MSG_TOO_LONG) {
    conn_error(c, PERR_MSG_TOO_LONG, PROTO_SAY, subject,
               "message longer than the server's limit (%u characters)",
               cfg->max_msg_chars);
    return;
  }
  if (rc < 0) {
    conn_error(c, -rc, PROTO_SAY, subject, NULL);
    return;
  }
  if (chat_check_rate(&u->flood, cfg->flood_rate, cfg->flood_burst,
                      server_now_ms()) < 0) {
    srv.flood_drops++;
    uint64_t wait = bucket_wait_ms(&u->flood, cfg->flood_rate, 1000);
    conn_error(c, PERR_FLOOD, PROTO_SAY, subject,
               "sending too fast (limit %u messages per second, bursts of "
               "%u); message dropped, wait %llu ms",
               cfg->flood_rate, cfg->flood_burst,
               (unsigned long long)(wait == UINT64_MAX ? 0 : wait));
    log_debug(conn_peer(c), "flood: message from %s dropped", u->name);
    return;
  }
  u->last_say_ms = server_now_ms();
  if (req->kind == PROTO_TO_ROOM)
    chat_say_room(c, req, subject);
  else
    chat_say_user(c, req, subject);
}

/* The serial of c's membership in the room named name, 0 when c's user
 * is not in it. */
static uint64_t chat_membership(struct conn *c, const char *name) {
  room *r = room_find(name, strlen(name));
  member *m = r != NULL ? room_member(r, c->user) : NULL;
  return m != NULL ? m->serial : 0;
}

/* Store answer for a backlog: MSGs flagged BACKLOG, then HISTORY_END. A
 * room's backlog is sent only to the membership that asked for it
 * (j->tag): after a PART (and maybe a new JOIN, which reads its own) it
 * would arrive after PARTED and tell of a room the user is not in. The
 * login's WHO list (j->arg) comes either way. */
static void chat_on_backlog(store_job *j) {
  struct conn *c = j->ctx;
  bool gone = !c->closing && c->user != NULL && j->role == PROTO_TO_ROOM &&
              chat_membership(c, j->text2) != j->tag;
  if (gone && j->arg)
    presence_who(c);
  if (!gone && !c->closing && c->user != NULL) {
    proto_msg m = {.type = PROTO_MSG};
    for (size_t i = 0; i < j->nrows; i++) {
      store_row *r = &j->rows[i];
      if (r->target == NULL || r->from == NULL || r->text == NULL)
        continue;
      m.u.msg.id = r->id;
      m.u.msg.ts_ms = r->ts_ms;
      m.u.msg.kind = r->kind;
      m.u.msg.target = proto_str_c(r->target);
      m.u.msg.from = proto_str_c(r->from);
      m.u.msg.flags =
          (uint8_t)((r->flags & PROTO_MSGF_ACTION) | PROTO_MSGF_BACKLOG);
      m.u.msg.text = proto_str_c(r->text);
      conn_send_msg(c, &m);
    }
    proto_msg e = {.type = PROTO_HISTORY_END};
    e.u.history_end.kind = (uint8_t)(j->role);
    e.u.history_end.target = proto_str_c(j->text2);
    e.u.history_end.count = (uint32_t)j->nrows;
    conn_send_msg(c, &e);
    if (j->arg)
      presence_who(c);
  }
  conn_unref(c);
}

/* Queues the backlog query; target is a room name or the peer's name. */
void chat_backlog(struct conn *c, uint8_t kind, const char *target,
                  uint64_t before_id, uint32_t limit, bool then_who) {
  uint32_t max = srv.cfg->history;
  if (limit == 0 || limit > max)
    limit = max;
  uint64_t serial = kind == PROTO_TO_ROOM ? chat_membership(c, target) : 0;
  if (limit == 0) { /* history off: still end the (empty) backlog */
    store_job j = {
        .role = kind, .arg = then_who, .tag = serial, .ctx = conn_ref(c)};
    snprintf(j.text2, sizeof j.text2, "%s", target);
    chat_on_backlog(&j);
    return;
  }
  store_job *j = store_job_new(STORE_HISTORY_GET, chat_on_backlog, conn_ref(c));
  j->tag = serial; /* the membership the backlog is for */
  store_conv_key(j->text, sizeof j->text, kind, proto_str_c(target),
                 proto_str_c(c->user->name));
  /* Messages after this point arrive live; the backlog stops before. */
  uint64_t live = srv.next_msg_id + 1;
  j->num = before_id != 0 && before_id < live ? before_id : live;
  j->num2 = limit;
  j->role = kind; /* echoed in HISTORY_END */
  j->arg = then_who;
  /* text2, not name: a room name is one byte longer than a user's. */
  snprintf(j->text2, sizeof j->text2, "%s", target);
  store_submit(j);
}

/* HISTORY_REQ: rooms need membership; conversations are one's own. */
void chat_on_history(struct conn *c, const proto_history_req *req) {
  char subject[PROTO_MAX_ROOM + 1];
  proto_str_copy(subject, sizeof subject, req->target);
  if (req->kind == PROTO_TO_ROOM) {
    room *r = room_find(req->target.p, req->target.n);
    if (r == NULL || room_member(r, c->user) == NULL) {
      conn_error(c, r ? PERR_NOT_IN_ROOM : PERR_NO_SUCH_ROOM, PROTO_HISTORY_REQ,
                 subject, NULL);
      return;
    }
    chat_backlog(c, PROTO_TO_ROOM, r->name, req->before_id, req->limit, false);
    return;
  }
  if (proto_check_name(req->target.p, req->target.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_HISTORY_REQ, subject, NULL);
    return;
  }
  chat_backlog(c, PROTO_TO_USER, subject, req->before_id, req->limit, false);
}

/* Store answer for QUERY_OPEN of someone offline. */
static void chat_on_query_lookup(store_job *j) {
  struct conn *c = j->ctx;
  if (!c->closing && c->user != NULL) {
    if (!j->found) {
      conn_error(c, PERR_NO_SUCH_USER, PROTO_QUERY_OPEN, j->name,
                 "no such user: %s", j->name);
    } else {
      user_set_talking(c->user, j->out_name);
      presence_changed(c->user);
      chat_backlog(c, PROTO_TO_USER, j->out_name, 0, 0, false);
    }
  }
  conn_unref(c);
}

/* QUERY_OPEN. */
void chat_on_query_open(struct conn *c, const proto_user_ref *req) {
  char name[PROTO_MAX_NAME + 1];
  proto_str_copy(name, sizeof name, req->user);
  if (proto_check_name(req->user.p, req->user.n) < 0) {
    conn_error(c, PERR_BAD_NAME, PROTO_QUERY_OPEN, name, NULL);
    return;
  }
  user *peer = user_find(req->user.p, req->user.n);
  if (peer != NULL) {
    user_set_talking(c->user, peer->name);
    presence_changed(c->user);
    chat_backlog(c, PROTO_TO_USER, peer->name, 0, 0, false);
    return;
  }
  store_job *j =
      store_job_new(STORE_ACCOUNT_GET, chat_on_query_lookup, conn_ref(c));
  snprintf(j->name, sizeof j->name, "%s", name);
  store_submit(j);
}

/* QUERY_CLOSE. */
void chat_on_query_close(struct conn *c, const proto_user_ref *req) {
  user *u = c->user;
  if (u->talking[0] != '\0' && strlen(u->talking) == req->user.n &&
      strncasecmp(u->talking, req->user.p, req->user.n) == 0) {
    user_set_talking(u, "");
    presence_changed(u);
  }
}
