/* presence.c: presence changes and lists (see presence.h). */
#include "presence.h"

#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "conn.h"
#include "server.h"
#include "user.h"

/* Fills a PRESENCE message for u. */
static void presence_fill(proto_msg *m, const user *u, uint8_t status,
                          uint8_t flags) {
  memset(m, 0, sizeof *m);
  m->type = PROTO_PRESENCE;
  m->u.presence.user = proto_str_c(u->name);
  m->u.presence.status = status;
  m->u.presence.text = proto_str_c(status == PROTO_OFFLINE ? "" : u->away);
  /* "Talking with" is published unless the server turned it off or the
   * user hid it (SET_PRIVACY); the user itself still sees its own. */
  bool hidden = (srv.cfg != NULL && srv.cfg->no_talking_with) ||
                (u->hide_talking && !(flags & PROTO_PRESF_SELF));
  m->u.presence.talking_with =
      proto_str_c(status == PROTO_OFFLINE || hidden ? "" : u->talking);
  m->u.presence.idle_s = user_idle_s(u, server_now_ms());
  m->u.presence.flags =
      (uint8_t)(flags | (u->role == PROTO_ROLE_ADMIN ? PROTO_PRESF_ADMIN : 0));
}

/* Encodes once for everyone else (through the bus), once more for u
 * itself, on its own connection. */
static void presence_push(user *u, uint8_t status, bool to_self) {
  proto_msg m;
  presence_fill(&m, u, status, 0);
  fbuf *b = fbuf_encode(&m, NULL);
  if (b == NULL)
    return;
  bus_all(b, u);
  fbuf_unref(b);
  if (to_self) {
    presence_fill(&m, u, status, PROTO_PRESF_SELF);
    conn_send_msg(u->conn, &m);
  }
}

/* Current state to all. */
void presence_changed(user *u) {
  presence_push(u, u->status, true);
}

/* Offline to all but u. */
void presence_offline(user *u) {
  presence_push(u, PROTO_OFFLINE, false);
}

/* The full list, with LIST and (for the requester) SELF. */
void presence_who(struct conn *c) {
  proto_msg m;
  uint32_t n = 0;
  for (user *x = user_first(); x != NULL; x = x->hh.next, n++) {
    presence_fill(
        &m, x, x->status,
        (uint8_t)(PROTO_PRESF_LIST | (x == c->user ? PROTO_PRESF_SELF : 0)));
    conn_send_msg(c, &m);
  }
  proto_msg e = {.type = PROTO_WHO_END};
  e.u.who_end.count = n;
  conn_send_msg(c, &e);
}

/* SET_PRIVACY: whether others see whom u is talking with; republished
 * at once. */
void presence_on_privacy(struct conn *c, const proto_set_privacy *req) {
  user *u = c->user;
  bool hide = (req->flags & PROTO_PRIVF_HIDE_TALKING) != 0;
  if (u->hide_talking == hide)
    return;
  u->hide_talking = hide;
  presence_changed(u);
}

/* SET_STATUS: online, away (with text) or busy. */
void presence_on_status(struct conn *c, const proto_set_status *req) {
  user *u = c->user;
  if (req->status == PROTO_OFFLINE) {
    conn_error(c, PERR_BAD_VALUE, PROTO_SET_STATUS, "",
               "status must be online, away or busy");
    return;
  }
  if (proto_has_control(req->text.p, req->text.n)) {
    conn_error(c, PERR_CONTROL_CHARS, PROTO_SET_STATUS, "", NULL);
    return;
  }
  free(u->away);
  u->away = NULL;
  if (req->text.n > 0 && req->status != PROTO_ONLINE) {
    u->away = proto_str_dup(req->text);
  }
  u->status = req->status;
  presence_changed(u);
}
