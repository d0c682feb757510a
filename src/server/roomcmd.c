/* roomcmd.c: room requests and notices (see roomcmd.h).
 *
 * Joins and leaves reach version 3 members coalesced: each room collects
 * its events of one --coalesce-ms interval as packed ROOM_EVENTS entries,
 * in order, and roomcmd_flush sends each room's list as one frame shared
 * by its v3 members. A join followed by a part or quit of the same user in
 * the same interval is taken out and the leave never added: nobody hears
 * of either. Versions 1 and 2 get one NOTICE per event at once. */
#include "roomcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

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

/* Encodes one NOTICE about r and shares it with the room's members (but
 * except) whose session speaks version lo..hi. */
static void roomcmd_notice_to(room *r, int kind, const char *who,
                              const char *actor, const char *text,
                              const user *except, uint16_t lo, uint16_t hi) {
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
  bus_room_version(r, b, except, lo, hi);
  fbuf_unref(b);
}

/* roomcmd_notice_to for every member (but except). */
static void roomcmd_notice(room *r, int kind, const char *who,
                           const char *actor, const char *text,
                           const user *except) {
  roomcmd_notice_to(r, kind, who, actor, text, except, 0, UINT16_MAX);
}

typedef struct roomcmd_pend {   /* one room's events of this interval */
  char key[PROTO_MAX_ROOM + 1]; /* the room's map key */
  uint64_t ts_ms;               /* wall clock of the first event */
  size_t len;                   /* bytes of entries in buf */
  UT_hash_handle hh;
  uint8_t *buf;                 /* packed ROOM_EVENTS entries */
  size_t cap; /* bytes allocated: grows by doubling to PROTO_MAX_LIST */
} roomcmd_pend;

static roomcmd_pend *roomcmd_pending; /* rooms with events, map by key */

/* Sends one room's collected events to its v3 members and forgets them. */
static void roomcmd_pend_send(roomcmd_pend *p) {
  room *r = room_find(p->key, strlen(p->key));
  if (r != NULL && p->len > 0) {
    proto_msg m = {.type = PROTO_ROOM_EVENTS};
    m.u.room_events.room = proto_str_c(r->name);
    m.u.room_events.ts_ms = p->ts_ms;
    m.u.room_events.entries = (proto_blob){p->buf, (uint16_t)p->len};
    fbuf *b = fbuf_encode(&m, NULL);
    if (b != NULL) {
      bus_room_version(r, b, NULL, 3, PROTO_VERSION);
      fbuf_unref(b);
    }
  }
  p->len = 0;
}

/* Sends every room's collected joins and leaves (the interval is over). */
void roomcmd_flush(void) {
  roomcmd_pend *p, *tmp;
  HASH_ITER(hh, roomcmd_pending, p, tmp) {
    roomcmd_pend_send(p);
    HASH_DEL(roomcmd_pending, p);
    free(p->buf);
    free(p);
  }
}

/* Sends r's collected joins and leaves now: a message to r goes out
 * after them, so nobody reads a newcomer's words before its arrival. */
void roomcmd_flush_room(const room *r) {
  roomcmd_pend *p;
  HASH_FIND_STR(roomcmd_pending, r->key, p);
  if (p != NULL && p->len > 0)
    roomcmd_pend_send(p); /* the entry goes at the interval's flush */
}

bool roomcmd_pending_in(const room *r) {
  roomcmd_pend *p;
  HASH_FIND_STR(roomcmd_pending, r->key, p);
  return p != NULL && p->len > 0;
}

/* Frees what waits for a flush (shutdown). */
void roomcmd_fini(void) {
  roomcmd_pend *p, *tmp;
  HASH_ITER(hh, roomcmd_pending, p, tmp) {
    HASH_DEL(roomcmd_pending, p);
    free(p->buf);
    free(p);
  }
}

/* Takes the last pending entry about who out of p when it is a JOINED
 * (and nothing about who came after it). Returns true when it did. */
static bool roomcmd_pend_cancel(roomcmd_pend *p, const char *who) {
  size_t off = 0, at = 0, end = 0;
  bool joined = false;
  size_t wn = strlen(who);
  proto_blob l = {p->buf, (uint16_t)p->len};
  proto_notice n;
  for (;;) {
    size_t start = off;
    if (proto_revents_next(l, &off, &n) <= 0)
      break;
    if (n.user.n == wn && strncasecmp(n.user.p, who, wn) == 0) {
      joined = n.kind == PROTO_NOTICE_JOINED;
      at = start;
      end = off;
    }
  }
  if (!joined)
    return false;
  memmove(p->buf + at, p->buf + end, p->len - end);
  p->len -= end - at;
  return true;
}

/* Collects one join or leave of r for the v3 members. */
static void roomcmd_pend_add(room *r, int kind, const char *who,
                             const char *actor, const char *text) {
  roomcmd_pend *p;
  HASH_FIND_STR(roomcmd_pending, r->key, p);
  if (p != NULL && (kind == PROTO_NOTICE_LEFT || kind == PROTO_NOTICE_QUIT) &&
      roomcmd_pend_cancel(p, who))
    return;
  if (p == NULL) {
    p = calloc(1, sizeof *p);
    if (p == NULL)
      return; /* out of memory: this event is lost for v3 members */
    snprintf(p->key, sizeof p->key, "%s", r->key);
    HASH_ADD_STR(roomcmd_pending, key, p);
  }
  if (p->len == 0)
    p->ts_ms = server_wall_ms();
  proto_notice n = {.kind = (uint8_t)kind,
                    .user = proto_str_c(who),
                    .actor = proto_str_c(actor),
                    .text = proto_str_c(text)};
  int rc = proto_revents_put(p->buf, p->cap, &p->len, &n);
  while (rc == -PERR_NO_SPACE && p->cap < PROTO_MAX_LIST) {
    size_t cap = p->cap ? p->cap * 2 : 256; /* a quiet room stays small */
    uint8_t *nb = realloc(p->buf, cap < PROTO_MAX_LIST ? cap : PROTO_MAX_LIST);
    if (nb == NULL)
      return; /* out of memory: this event is lost for v3 members */
    p->buf = nb;
    p->cap = cap < PROTO_MAX_LIST ? cap : PROTO_MAX_LIST;
    rc = proto_revents_put(p->buf, p->cap, &p->len, &n);
  }
  if (rc == -PERR_NO_SPACE) { /* a full frame goes now */
    roomcmd_pend_send(p);
    p->ts_ms = server_wall_ms();
    rc = proto_revents_put(p->buf, p->cap, &p->len, &n);
  }
  if (rc == -PERR_FIELD_TOO_LONG) { /* a reason past 200 characters */
    n.text = proto_str_c("");
    proto_revents_put(p->buf, p->cap, &p->len, &n);
  }
  server_coalesce();
}

/* Tells r's members that who joined or left (kind): legacy sessions at
 * once by NOTICE, v3 ones at the next flush. */
static void roomcmd_event(room *r, int kind, const char *who, const char *actor,
                          const char *text, const user *except) {
  if (srv.nlegacy > 0)
    roomcmd_notice_to(r, kind, who, actor, text, except, PROTO_VERSION_MIN, 2);
  roomcmd_pend_add(r, kind, who, actor, text);
}

/* Sends JOINED or ROOM information about r to c. */
/* r's member count as v3 members last heard it: the joins still pending
 * are not counted yet, the leaves still pending still are (the next
 * ROOM_EVENTS brings the count to r->count). */
static uint32_t roomcmd_told_count(const room *r) {
  roomcmd_pend *p;
  HASH_FIND_STR(roomcmd_pending, r->key, p);
  int64_t n = r->count;
  size_t off = 0;
  proto_notice e;
  while (p != NULL &&
         proto_revents_next((proto_blob){p->buf, (uint16_t)p->len}, &off,
                            &e) > 0)
    n += e.kind == PROTO_NOTICE_JOINED ? -1 : 1;
  return n < 0 ? 0 : (uint32_t)n;
}

static void roomcmd_send_info(conn *c, room *r, uint16_t type) {
  proto_msg m = {.type = type};
  m.u.room.room = proto_str_c(r->name);
  m.u.room.members =
      c->version >= 3 && type == PROTO_JOINED ? roomcmd_told_count(r)
                                              : r->count;
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
  roomcmd_event(r, PROTO_NOTICE_JOINED, u->name, "", "", u);
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
    roomcmd_event(r, kind, u->name, actor ? actor : "", text ? text : "", NULL);
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
