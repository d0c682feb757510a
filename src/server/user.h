/* user.h: logged-in users as state (no I/O), in a hash map keyed by the name,
 * compared without regard to ASCII case (no lowercased copy is kept). */
#ifndef PARLEY_USER_H
#define PARLEY_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "bucket.h"
#include "proto.h"

struct conn;
struct member;

typedef struct user {
  char name[PROTO_MAX_NAME + 1]; /* canonical spelling, also the map key */
  uint8_t role;                  /* enum proto_role */
  uint8_t status;                /* enum proto_status */
  uint16_t nrooms, caprooms;     /* memberships used / allocated */
  struct conn *conn;
  char *away;             /* status text, NULL when none */
  const char *talking;    /* open conversation; "" (static) if none */
  bool hide_talking;      /* SET_PRIVACY: others do not see talking */
  bool listed;            /* v3 users were told it is online (presence.c) */
  union {                 /* memberships: see user_rooms */
    struct member *one;   /* caprooms <= 1: the only slot, inline */
    struct member **many; /* caprooms > 1: allocated array */
  } rooms;
  uint64_t last_say_ms; /* loop clock */
  bucket flood;
  bucket fanout; /* requests that notify others (session.c) */
  uint8_t token_hash[PROTO_HASH_LEN]; /* this session's token, hashed */
  UT_hash_handle hh;
} user;

/* The user's memberships, nrooms of them. The common case of one room
 * (#lobby) needs no allocation: the slot is inside the user. */
static inline struct member **user_rooms(const user *u) {
  return u->caprooms > 1 ? u->rooms.many : (struct member **)&u->rooms.one;
}

/* Sets the open conversation (a copy of name; "" for none). Returns 0 or
 * -1 when out of memory (the old value is kept). */
int user_set_talking(user *u, const char *name);

/* Lowercases an ASCII name of n bytes into dst (cap >= n + 1). Returns
 * -PERR_BAD_NAME when it is not a valid name. */
int user_key(char *dst, size_t cap, const char *p, size_t n);

/* Finds an online user by any spelling; NULL if not online. */
user *user_find(const char *p, size_t n);

/* Adds an online user for conn; the name must be valid and not online. */
user *user_add(struct conn *c, const char *name, uint8_t role,
               uint32_t flood_burst, uint64_t now_ms);

/* Removes and frees a user (memberships must be gone). */
void user_remove(user *u);

/* The first user of the map, for iteration with u->hh.next. */
user *user_first(void);

/* Number of users online. */
uint32_t user_count(void);

/* Seconds since the user last said something, at now_ms (loop clock). */
uint32_t user_idle_s(const user *u, uint64_t now_ms);

#endif
