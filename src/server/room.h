/* room.h: chat rooms as state, in a hash map keyed by the lowercased
 * name. Each room keeps its members in an intrusive list and a dense fan
 * array (what bus_room walks), and each user keeps its memberships in a
 * small array, so join and part are O(1). The rules (names, the per-user
 * limit, who may set a topic) live here; nothing here sends a frame: the
 * request handlers are in roomcmd.c and deliveries go through bus.c. */
#ifndef PARLEY_ROOM_H
#define PARLEY_ROOM_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "proto.h"

struct user;
struct conn;

typedef struct member {
  struct member *prev, *next; /* the room's member list */
  struct room *room;
  struct user *user;
  uint32_t slot; /* index in room.fan */
  uint64_t serial; /* which join made it (room.c counts them): a backlog
                      read for an earlier membership of the same user
                      sees another serial and is dropped (chat.c) */
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

#define ROOM_ALREADY 1 /* room_join: u was a member already */

/* Creates #lobby; max_rooms caps one user's memberships. 0 or -1. */
int room_init(uint32_t max_rooms);

/* Frees every room (shutdown, after every user left). */
void room_fini(void);

/* Finds a room by any spelling. */
room *room_find(const char *p, size_t n);

/* The membership of u in r, or NULL. */
member *room_member(const room *r, const struct user *u);

/* Joins u to the named room (creating it): 0, ROOM_ALREADY or -PERR_*. */
int room_join(struct user *u, const char *p, size_t n, room **out);

/* Removes a membership; returns its room, or NULL if that was destroyed. */
room *room_leave(member *m);

/* Gives the room name its stored topic (at start): now if the room
 * exists, else when it is next made. Bounded; see room.c. */
void room_topic_restore(const char *name, const char *topic);

/* Sets r's topic as u (members only): 0 or -PERR_*. */
int room_set_topic(room *r, const struct user *u, const char *p, size_t n);

/* The first room of the map, for iteration with r->hh.next. */
room *room_first(void);

/* Number of rooms. */
uint32_t room_count(void);

#endif
