/* room.c: rooms, memberships and their rules (see room.h). */
#include "room.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"
#include "user.h"

static room *rooms;       /* uthash head */
static uint32_t room_max; /* memberships one user may hold (max-rooms) */
/* Memberships come from their own pool (see slab.h). */
static slab member_slab = SLAB_INIT(sizeof(member));

/* Topics of rooms that do not exist right now (stored topics loaded at
 * start, and the topic of each room that emptied), so that a room made
 * again gets its topic back. Bounded: past ROOM_SAVED_MAX the topics of
 * emptied rooms are forgotten until the next start. */
#define ROOM_SAVED_MAX 10000
typedef struct room_saved {
  char key[PROTO_MAX_ROOM + 1];
  char *topic;
  UT_hash_handle hh;
} room_saved;
static room_saved *saved;

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
  room_saved *s = NULL;
  HASH_FIND_STR(saved, r->key, s);
  if (s != NULL) { /* the topic moves back into the room */
    HASH_DEL(saved, s);
    r->topic = s->topic;
    free(s);
  }
  return r;
}

/* Keeps a topic for a room that does not exist (replacing any). */
static void room_save_topic(const char *key, char *topic) {
  room_saved *s = NULL;
  HASH_FIND_STR(saved, key, s);
  if (s != NULL) {
    free(s->topic);
    s->topic = topic;
    return;
  }
  if (topic == NULL || HASH_COUNT(saved) >= ROOM_SAVED_MAX ||
      (s = calloc(1, sizeof *s)) == NULL) {
    free(topic);
    return;
  }
  snprintf(s->key, sizeof s->key, "%s", key);
  s->topic = topic;
  HASH_ADD_STR(saved, key, s);
}

/* Restores a stored topic: to the room if it exists, else kept for it. */
void room_topic_restore(const char *name, const char *topic) {
  char key[PROTO_MAX_ROOM + 1];
  size_t n = strlen(name);
  if (room_key(key, sizeof key, name, n) < 0 || topic[0] == '\0')
    return;
  char *t = strdup(topic);
  if (t == NULL)
    return;
  room *r = NULL;
  HASH_FIND_STR(rooms, key, r);
  if (r != NULL) {
    free(r->topic);
    r->topic = t;
  } else {
    room_save_topic(key, t);
  }
}

/* Unlinks and frees an empty room; its topic is kept for its return. */
static void room_destroy(room *r) {
  HASH_DEL(rooms, r);
  if (r->topic != NULL) {
    room_save_topic(r->key, r->topic);
    r->topic = NULL;
  }
  free(r->fan);
  free(r->topic);
  free(r);
}

/* Creates the permanent lobby and keeps the per-user limit. */
int room_init(uint32_t max_rooms) {
  room_max = max_rooms;
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
  room_saved *s, *stmp;
  HASH_ITER(hh, saved, s, stmp) {
    HASH_DEL(saved, s);
    free(s->topic);
    free(s);
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

/* Makes room for one more membership of u: the first uses the slot
 * inside the user, then an array doubles (up to max-rooms). Returns 0 or
 * -1 when out of memory. */
static int room_grow_rooms(user *u) {
  uint32_t cap = u->caprooms ? (uint32_t)u->caprooms * 2 : 1;
  if (cap > room_max)
    cap = room_max;
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

/* Joins u to the room named by p/n, creating it when nobody is in it.
 * The room's spelling is its creator's; any spelling finds it later.
 * Returns 0 when u joined (*out is the room), ROOM_ALREADY when u was in
 * it already (*out too), or a negative PERR: BAD_ROOM (not a room name),
 * TOO_MANY_ROOMS (u holds max-rooms memberships), INTERNAL (out of
 * memory; nothing changed). Nothing is sent: the caller tells people. */
int room_join(user *u, const char *p, size_t n, room **out) {
  if (proto_check_room(p, n) < 0 || n > PROTO_MAX_ROOM)
    return -PERR_BAD_ROOM;
  room *r = room_find(p, n);
  if (r != NULL && room_member(r, u) != NULL) {
    *out = r;
    return ROOM_ALREADY;
  }
  if (u->nrooms >= room_max)
    return -PERR_TOO_MANY_ROOMS;
  if (u->nrooms == u->caprooms && room_grow_rooms(u) < 0)
    return -PERR_INTERNAL;
  member *m = slab_alloc(&member_slab);
  bool created = r == NULL;
  if (r == NULL)
    r = room_create(p, n);
  if (m != NULL && r != NULL) {
    static uint64_t joins; /* never 0: 0 means "no membership" to chat.c */
    m->room = r;
    m->user = u;
    m->serial = ++joins;
  }
  if (m == NULL || r == NULL || room_fan_add(r, m) < 0) {
    slab_free(&member_slab, m);
    if (created && r != NULL)
      room_destroy(r);
    return -PERR_INTERNAL;
  }
  m->next = r->members;
  m->prev = NULL;
  if (r->members != NULL)
    r->members->prev = m;
  r->members = m;
  r->count++;
  user_rooms(u)[u->nrooms++] = m;
  *out = r;
  return 0;
}

/* Unlinks a membership from its room's list and fan array and from its
 * user's array, and frees it. An emptied room goes too, unless it is
 * permanent. Returns the room, or NULL when it was destroyed. */
room *room_leave(member *m) {
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
  if (r->count == 0 && !r->permanent) {
    room_destroy(r);
    return NULL;
  }
  return r;
}

/* The topic rule: only a member may set it, and no control characters
 * (they would reach every member's terminal). An empty text clears it.
 * Returns 0, or -PERR_NOT_IN_ROOM / -PERR_CONTROL_CHARS with the topic
 * unchanged. Out of memory clears the topic rather than fail, as before. */
int room_set_topic(room *r, const user *u, const char *p, size_t n) {
  if (room_member(r, u) == NULL)
    return -PERR_NOT_IN_ROOM;
  if (proto_has_control(p, n))
    return -PERR_CONTROL_CHARS;
  free(r->topic);
  r->topic = NULL;
  if (n > 0) {
    r->topic = malloc(n + 1);
    if (r->topic != NULL) {
      memcpy(r->topic, p, n);
      r->topic[n] = '\0';
    }
  }
  return 0;
}

/* Iteration start. */
room *room_first(void) {
  return rooms;
}

/* Map size. */
uint32_t room_count(void) {
  return HASH_COUNT(rooms);
}
