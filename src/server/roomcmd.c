/* roomcmd.c: room requests and notices (see roomcmd.h). */
#include "roomcmd.h"

#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "chat.h"
#include "conn.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "user.h"

/* Copies a room name for an error's subject, cut to the longest name. */
static void roomcmd_subject(char *dst, size_t cap, proto_str s) {
  proto_str_copy(dst, cap < PROTO_MAX_ROOM + 1 ? cap : PROTO_MAX_ROOM + 1, s);
}

/* Encodes one NOTICE about r and shares it with the room (but except). */
static void roomcmd_notice(room *r, int kind, const char *who,
                           const char *actor, const char *text,
                           const user *except) {
  proto_msg m = {.type = PROTO_NOTICE};
  m.u.notice.kind = (uint8_t)kind;
  m.u.notice.ts_ms = server_wall_ms();
  m.u.notice.room = proto_str_c(r->name);
  m.u.notice.user = proto_str_c(who);
  m.u.notice.actor = proto_str_c(actor);
  m.u.notice.text = proto_str_c(text);
  fbuf *b = fbuf_encode(&m, NULL);
  if (b == NULL)
    return;
  bus_room(r, b, except);
  fbuf_unref(b);
}

/* Sends JOINED or ROOM information about r to c. */
static void roomcmd_send_info(conn *c, room *r, uint16_t type) {
  proto_msg m = {.type = type};
  m.u.room.room = proto_str_c(r->name);
  m.u.room.members = r->count;
  m.u.room.topic = proto_str_c(r->topic);
  conn_send_msg(c, &m);
}

/* Joins u to the named room through room_join, then confirms with JOINED
 * and, for a new membership, tells the others. A refusal is sent to u as
 * an ERROR about ref_type. Returns room_join's answer. */
int roomcmd_join(user *u, const char *p, size_t n, uint16_t ref_type) {
  conn *c = u->conn;
  room *r = NULL;
  int rc = room_join(u, p, n, &r);
  if (rc < 0) {
    char name[PROTO_MAX_ROOM + 1];
    roomcmd_subject(name, sizeof name, (proto_str){p, (uint16_t)n});
    if (rc == -PERR_TOO_MANY_ROOMS)
      conn_error(c, PERR_TOO_MANY_ROOMS, ref_type, name,
                 "you are in too many rooms (limit %u); part one first",
                 srv.cfg->max_rooms);
    else
      conn_error(c, -rc, ref_type, name, NULL);
    return rc;
  }
  roomcmd_send_info(c, r, PROTO_JOINED);
  if (rc == ROOM_ALREADY) /* already in: just confirm */
    return rc;
  roomcmd_notice(r, PROTO_NOTICE_JOINED, u->name, "", "", u);
  log_debug(conn_peer(c), "%s joined %s (%u members)", u->name, r->name,
            r->count);
  return 0;
}

/* Removes a membership (room_leave) and, unless kind is negative, tells
 * whoever is still in the room with a notice of kind (LEFT, QUIT, KICKED,
 * BANNED) naming the actor and the text. */
void roomcmd_leave(member *m, int kind, const char *actor, const char *text) {
  user *u = m->user;
  room *r = room_leave(m);
  if (kind >= 0 && r != NULL && r->count > 0)
    roomcmd_notice(r, kind, u->name, actor ? actor : "", text ? text : "",
                   NULL);
}

/* JOIN: join, then the backlog (not when already a member). */
void roomcmd_on_join(conn *c, const proto_room_ref *req) {
  if (roomcmd_join(c->user, req->room.p, req->room.n, PROTO_JOIN) != 0)
    return;
  room *r = room_find(req->room.p, req->room.n);
  chat_backlog(c, PROTO_TO_ROOM, r->name, 0, 0, false);
}

/* PART: leave with a reason, then PARTED to the one who left. */
void roomcmd_on_part(conn *c, const proto_part *req) {
  user *u = c->user;
  char name[PROTO_MAX_ROOM + 1];
  roomcmd_subject(name, sizeof name, req->room);
  if (proto_check_room(req->room.p, req->room.n) < 0) {
    conn_error(c, PERR_BAD_ROOM, PROTO_PART, name, NULL);
    return;
  }
  room *r = room_find(req->room.p, req->room.n);
  member *m = r ? room_member(r, u) : NULL;
  if (m == NULL) {
    conn_error(c, r ? PERR_NOT_IN_ROOM : PERR_NO_SUCH_ROOM, PROTO_PART, name,
               NULL);
    return;
  }
  char reason[PROTO_MAX_REASON * 4 + 1];
  snprintf(reason, sizeof reason, "%.*s", (int)req->reason.n, req->reason.p);
  if (proto_has_control(reason, strlen(reason)))
    reason[0] = '\0';
  snprintf(name, sizeof name, "%s", r->name);
  roomcmd_leave(m, PROTO_NOTICE_LEFT, "", reason);
  proto_msg out = {.type = PROTO_PARTED};
  out.u.parted.room = proto_str_c(name);
  conn_send_msg(c, &out);
}

/* ROOMS_REQ: every room with its member count. */
void roomcmd_on_list(conn *c) {
  uint32_t n = 0;
  for (room *r = room_first(); r != NULL; r = r->hh.next, n++)
    roomcmd_send_info(c, r, PROTO_ROOM);
  proto_msg m = {.type = PROTO_ROOMS_END};
  m.u.rooms_end.count = n;
  conn_send_msg(c, &m);
}

/* TOPIC: room_set_topic decides (members only); everyone in the room is
 * told. */
void roomcmd_on_topic(conn *c, const proto_topic *req) {
  user *u = c->user;
  char name[PROTO_MAX_ROOM + 1];
  roomcmd_subject(name, sizeof name, req->room);
  room *r = room_find(req->room.p, req->room.n);
  int rc = r != NULL ? room_set_topic(r, u, req->topic.p, req->topic.n)
                     : -PERR_NO_SUCH_ROOM;
  if (rc < 0) {
    conn_error(c, -rc, PROTO_TOPIC, name, NULL);
    return;
  }
  roomcmd_notice(r, PROTO_NOTICE_TOPIC, "", u->name, r->topic ? r->topic : "",
                 NULL);
  /* Kept across restarts (loaded by main before the loop starts). */
  store_job *j = store_job_new(STORE_TOPIC_PUT, NULL, NULL);
  snprintf(j->text2, sizeof j->text2, "%s", r->name);
  snprintf(j->name, sizeof j->name, "%s", u->name);
  snprintf(j->topic, sizeof j->topic, "%s", r->topic ? r->topic : "");
  store_submit(j);
}

/* MEMBERS_REQ: the names in a room. */
void roomcmd_on_members(conn *c, const proto_room_ref *req) {
  char name[PROTO_MAX_ROOM + 1];
  roomcmd_subject(name, sizeof name, req->room);
  room *r = room_find(req->room.p, req->room.n);
  if (r == NULL) {
    conn_error(c, PERR_NO_SUCH_ROOM, PROTO_MEMBERS_REQ, name, NULL);
    return;
  }
  proto_msg m = {.type = PROTO_MEMBER};
  m.u.member.room = proto_str_c(r->name);
  for (member *x = r->members; x != NULL; x = x->next) {
    m.u.member.name = proto_str_c(x->user->name);
    conn_send_msg(c, &m);
  }
  proto_msg e = {.type = PROTO_MEMBERS_END};
  e.u.members_end.room = proto_str_c(r->name);
  e.u.members_end.count = r->count;
  conn_send_msg(c, &e);
}
