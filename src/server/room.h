/* room.h: chat rooms, in a hash map keyed by the lowercased name. Each
 * room keeps its members in an intrusive list and each user keeps its
 * memberships in a small array, so join and part are O(1) (plus the
 * notices). Request handlers for JOIN, PART, ROOMS_REQ, TOPIC and
 * MEMBERS_REQ live here too. */
#ifndef PARLEY_ROOM_H
#define PARLEY_ROOM_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "fbuf.h"
#include "proto.h"

struct user;
struct conn;

typedef struct member {
  struct member *prev, *next; /* the room's member list */
  struct room *room;
  struct user *user;
  uint32_t slot; /* index in room.fan */
} member;

typedef struct room_fan { /* one recipient of a room broadcast */
  struct conn *conn;      /* read by the broadcast loop */
  member *m;              /* to fix m->slot when the entry moves */
} room_fan;

typedef struct room {
  char name[PROTO_MAX_ROOM + 1]; /* spelling of its creator */
  char key[PROTO_MAX_ROOM + 1];  /* lowercased: the map key */
  char *topic;                   /* NULL when none */
  member *members;
  uint32_t count;
  room_fan *fan;    /* the members' connections, dense, for broadcasts */
  uint32_t fan_cap; /* entries allocated in fan (count used) */
  bool permanent;   /* #lobby survives being empty */
  UT_hash_handle hh;
} room;

#define ROOM_LOBBY "#lobby"

/* Creates #lobby. */
int room_init(void);

/* Frees every room (shutdown, after every user left). */
void room_fini(void);

/* Finds a room by any spelling. */
room *room_find(const char *p, size_t n);

/* The membership of u in r, or NULL. */
member *room_member(const room *r, const struct user *u);

/* Joins u to the named room (creating it), sending JOINED, the backlog and
 * notices. Sends the error itself and returns it (negative) on failure. */
int room_join(struct user *u, const char *p, size_t n, uint16_t ref_type);

/* Removes a membership, telling the others with a notice of kind (LEFT,
 * QUIT, KICKED, BANNED) unless kind is negative. */
void room_leave(member *m, int kind, const char *actor, const char *text);

/* Queues b to every member of r except one (NULL: all). */
void room_broadcast(room *r, fbuf *b, const struct user *except);

/* Request handlers. */
void room_on_join(struct conn *c, const proto_room_ref *req);
void room_on_part(struct conn *c, const proto_part *req);
void room_on_list(struct conn *c);
void room_on_topic(struct conn *c, const proto_topic *req);
void room_on_members(struct conn *c, const proto_room_ref *req);

/* Number of rooms. */
uint32_t room_count(void);

#endif
