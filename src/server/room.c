/* room.c: rooms and their requests (see room.h). */
#include "room.h"

#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "conn.h"
#include "log.h"
#include "server.h"
#include "slab.h"
#include "user.h"

static room *rooms; /* uthash head */
/* Memberships come from their own pool (see slab.h). */
static slab member_slab = SLAB_INIT(sizeof(member));

/* Lowercases a valid room name into dst; negative PERR when invalid. */
static int room_key(char *dst, size_t cap, const char *p, size_t n) {
  if (n + 1 > cap || proto_check_room(p, n) < 0)
    return -PERR_BAD_ROOM;
  proto_fold(dst, p, n);
  return 0;
}

/* Finds by any spelling. */
room *room_find(const char *p, size_t n) {
  char key[PROTO_MAX_ROOM + 1];
  if (room_key(key, sizeof key, p, n) < 0)
    return NULL;
  room *r = NULL;
  HASH_FIND_STR(rooms, key, r);
  return r;
}

/* Allocates and inserts a room. */
static room *room_create(const char *p, size_t n) {
  room *r = calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  if (room_key(r->key, sizeof r->key, p, n) < 0) {
    free(r);
    return NULL;
  }
  memcpy(r->name, p, n);
  r->name[n] = '\0';
  HASH_ADD_STR(rooms, key, r);
  return r;
}

/* Unlinks and frees an empty room. */
static void room_destroy(room *r) {
  HASH_DEL(rooms, r);
  free(r->fan);
  free(r->topic);
  free(r);
}

/* Creates the permanent lobby. */
int room_init(void) {
  room *r = room_create(ROOM_LOBBY, strlen(ROOM_LOBBY));
  if (r == NULL)
    return -1;
  r->permanent = true;
  return 0;
}

/* Frees all rooms; every user has left by now (sessions end first). */
void room_fini(void) {
  room *r, *tmp;
  HASH_ITER(hh, rooms, r, tmp) {
    while (r->members != NULL) { /* defensive: unlink without notices */
      member *m = r->members;
      r->members = m->next;
      slab_free(&member_slab, m);
    }
    room_destroy(r);
  }
}

/* Scans the user's memberships (at most max-rooms). */
member *room_member(const room *r, const user *u) {
  member **a = user_rooms(u);
  for (uint16_t i = 0; i < u->nrooms; i++)
    if (a[i]->room == r)
      return a[i];
  return NULL;
}

/* Sends b to everyone in r but except. The dense fan array (rather than
 * the member list) keeps the loop to one pointer load per recipient, and
 * the connection a few entries ahead is prefetched. */
void room_broadcast(room *r, fbuf *b, const user *except) {
  const conn *skip = except != NULL ? except->conn : NULL;
  room_fan *f = r->fan;
  uint32_t n = r->count;
  for (uint32_t i = 0; i < n; i++) {
    if (i + 4 < n)
      __builtin_prefetch(f[i + 4].conn);
    if (f[i].conn != skip)
      conn_send(f[i].conn, b);
  }
}

/* Appends m to r's fan array, growing it by doubling. Returns 0 or -1. */
static int room_fan_add(room *r, member *m) {
  if (r->count == r->fan_cap) {
    uint32_t cap = r->fan_cap ? r->fan_cap * 2 : 4;
    room_fan *f = realloc(r->fan, sizeof *f * cap);
    if (f == NULL)
      return -1;
    r->fan = f;
    r->fan_cap = cap;
  }
  m->slot = r->count;
  r->fan[r->count] = (room_fan){m->user->conn, m};
  return 0;
}

/* Removes m from the fan array (the last entry takes its slot) and gives
 * memory back when the array is mostly empty. Call after count--. */
static void room_fan_del(room *r, member *m) {
  room_fan last = r->fan[r->count];
  r->fan[m->slot] = last;
  last.m->slot = m->slot;
  if (r->fan_cap > 16 && r->count < r->fan_cap / 4) {
    room_fan *f = realloc(r->fan, sizeof *f * (r->fan_cap / 2));
    if (f != NULL) {
      r->fan = f;
      r->fan_cap /= 2;
    }
  }
}

/* Encodes one NOTICE and shares it with the room. */
static void room_notice(room *r, int kind, const char *who, const char *actor,
                        const char *text, const user *except) {
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
  room_broadcast(r, b, except);
  fbuf_unref(b);
}

/* Sends JOINED or ROOM information about r. */
static void room_send_info(conn *c, room *r, uint16_t type) {
  proto_msg m = {.type = type};
  m.u.room.room = proto_str_c(r->name);
  m.u.room.members = r->count;
  m.u.room.topic = proto_str_c(r->topic);
  conn_send_msg(c, &m);
}

/* Makes room for one more membership of u: the first uses the slot
 * inside the user, then an array doubles (up to max-rooms). Returns 0 or
 * -1 when out of memory. */
static int room_grow_rooms(user *u) {
  uint32_t cap = u->caprooms ? (uint32_t)u->caprooms * 2 : 1;
  if (cap > srv.cfg->max_rooms)
    cap = srv.cfg->max_rooms;
  if (cap <= 1) {
    u->caprooms = 1;
    return 0;
  }
  member **a;
  if (u->caprooms <= 1) {
    a = malloc(sizeof *a * cap);
    if (a != NULL && u->nrooms > 0)
      a[0] = u->rooms.one;
  } else {
    a = realloc(u->rooms.many, sizeof *a * cap);
  }
  if (a == NULL)
    return -1;
  u->rooms.many = a;
  u->caprooms = (uint16_t)cap;
  return 0;
}

/* Joins, replies, notifies and asks for the backlog. */
int room_join(user *u, const char *p, size_t n, uint16_t ref_type) {
  conn *c = u->conn;
  char name[PROTO_MAX_ROOM + 1];
  if (proto_check_room(p, n) < 0 || n > PROTO_MAX_ROOM) {
    snprintf(name, sizeof name, "%.*s",
             (int)(n < PROTO_MAX_ROOM ? n : PROTO_MAX_ROOM), p);
    conn_error(c, PERR_BAD_ROOM, ref_type, name, NULL);
    return -PERR_BAD_ROOM;
  }
  memcpy(name, p, n);
  name[n] = '\0';
  room *r = room_find(p, n);
  if (r != NULL && room_member(r, u) != NULL) {
    room_send_info(c, r, PROTO_JOINED); /* already in: just confirm */
    return 0;
  }
  if (u->nrooms >= srv.cfg->max_rooms) {
    conn_error(c, PERR_TOO_MANY_ROOMS, ref_type, name,
               "you are in too many rooms (limit %u); part one first",
               srv.cfg->max_rooms);
    return -PERR_TOO_MANY_ROOMS;
  }
  if (u->nrooms == u->caprooms && room_grow_rooms(u) < 0) {
    conn_error(c, PERR_INTERNAL, ref_type, name, NULL);
    return -PERR_INTERNAL;
  }
  member *m = slab_alloc(&member_slab);
  bool created = r == NULL;
  if (r == NULL)
    r = room_create(p, n);
  if (m != NULL && r != NULL) {
    m->room = r;
    m->user = u;
  }
  if (m == NULL || r == NULL || room_fan_add(r, m) < 0) {
    slab_free(&member_slab, m);
    if (created && r != NULL)
      room_destroy(r);
    conn_error(c, PERR_INTERNAL, ref_type, name, NULL);
    return -PERR_INTERNAL;
  }
  m->next = r->members;
  if (r->members != NULL)
    r->members->prev = m;
  r->members = m;
  r->count++;
  user_rooms(u)[u->nrooms++] = m;
  room_send_info(c, r, PROTO_JOINED);
  room_notice(r, PROTO_NOTICE_JOINED, u->name, "", "", u);
  log_debug(conn_peer(c), "%s joined %s (%u members)", u->name, r->name,
            r->count);
  return 0;
}

/* Unlinks a membership and tells the rest of the room. */
void room_leave(member *m, int kind, const char *actor, const char *text) {
  room *r = m->room;
  user *u = m->user;
  if (m->prev != NULL)
    m->prev->next = m->next;
  else
    r->members = m->next;
  if (m->next != NULL)
    m->next->prev = m->prev;
  r->count--;
  room_fan_del(r, m);
  member **a = user_rooms(u);
  for (uint16_t i = 0; i < u->nrooms; i++) {
    if (a[i] == m) {
      a[i] = a[--u->nrooms];
      break;
    }
  }
  slab_free(&member_slab, m);
  if (kind >= 0 && r->count > 0)
    room_notice(r, kind, u->name, actor ? actor : "", text ? text : "", NULL);
  if (r->count == 0 && !r->permanent)
    room_destroy(r);
}

/* JOIN: join, then the backlog. */
void room_on_join(conn *c, const proto_room_ref *req) {
  user *u = c->user;
  room *before = room_find(req->room.p, req->room.n);
  bool was_member = before != NULL && room_member(before, u) != NULL;
  if (room_join(u, req->room.p, req->room.n, PROTO_JOIN) < 0 || was_member)
    return;
  room *r = room_find(req->room.p, req->room.n);
  chat_backlog(c, PROTO_TO_ROOM, r->name, 0, 0, false);
}

/* PART: leave with a reason. */
void room_on_part(conn *c, const proto_part *req) {
  user *u = c->user;
  char name[PROTO_MAX_ROOM + 1];
  snprintf(name, sizeof name, "%.*s",
           (int)(req->room.n < PROTO_MAX_ROOM ? req->room.n : PROTO_MAX_ROOM),
           req->room.p);
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
  room_leave(m, PROTO_NOTICE_LEFT, "", reason);
  proto_msg out = {.type = PROTO_PARTED};
  out.u.parted.room = proto_str_c(name);
  conn_send_msg(c, &out);
}

/* ROOMS_REQ: every room with its member count. */
void room_on_list(conn *c) {
  uint32_t n = 0;
  for (room *r = rooms; r != NULL; r = r->hh.next, n++)
    room_send_info(c, r, PROTO_ROOM);
  proto_msg m = {.type = PROTO_ROOMS_END};
  m.u.rooms_end.count = n;
  conn_send_msg(c, &m);
}

/* TOPIC: members may set it; everyone in the room is told. */
void room_on_topic(conn *c, const proto_topic *req) {
  user *u = c->user;
  char name[PROTO_MAX_ROOM + 1];
  snprintf(name, sizeof name, "%.*s",
           (int)(req->room.n < PROTO_MAX_ROOM ? req->room.n : PROTO_MAX_ROOM),
           req->room.p);
  room *r = room_find(req->room.p, req->room.n);
  if (r == NULL || room_member(r, u) == NULL) {
    conn_error(c, r ? PERR_NOT_IN_ROOM : PERR_NO_SUCH_ROOM, PROTO_TOPIC, name,
               NULL);
    return;
  }
  if (proto_has_control(req->topic.p, req->topic.n)) {
    conn_error(c, PERR_CONTROL_CHARS, PROTO_TOPIC, name, NULL);
    return;
  }
  free(r->topic);
  r->topic = NULL;
  if (req->topic.n > 0) {
    r->topic = malloc((size_t)req->topic.n + 1);
    if (r->topic != NULL) {
      memcpy(r->topic, req->topic.p, req->topic.n);
      r->topic[req->topic.n] = '\0';
    }
  }
  room_notice(r, PROTO_NOTICE_TOPIC, "", u->name, r->topic ? r->topic : "",
              NULL);
}

/* MEMBERS_REQ: the names in a room. */
void room_on_members(conn *c, const proto_room_ref *req) {
  char name[PROTO_MAX_ROOM + 1];
  snprintf(name, sizeof name, "%.*s",
           (int)(req->room.n < PROTO_MAX_ROOM ? req->room.n : PROTO_MAX_ROOM),
           req->room.p);
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

/* Map size. */
uint32_t room_count(void) {
  return HASH_COUNT(rooms);
}
