/* user.c: the online-user map (see user.h). */

/* The map hashes and compares names without regard to ASCII case, so the
 * canonical spelling is the key and no lowercased copy is stored. These
 * must come before uthash.h; only this file touches the map's buckets. */
#define HASH_FUNCTION(keyptr, keylen, hashv)                                   \
  ((hashv) = user_hash((const char *)(keyptr), (size_t)(keylen)))
#define HASH_KEYCMP(a, b, n)                                                   \
  user_keycmp((const char *)(a), (const char *)(b), n)

#include <stddef.h>
#include <stdint.h>

static uint32_t user_hash(const char *p, size_t n);
static int user_keycmp(const char *a, const char *b, size_t n);

#include "user.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "slab.h"

static user *users; /* uthash head */
/* Users come from their own pool (see slab.h). */
static slab user_slab = SLAB_INIT(sizeof(user));

/* FNV-1a over the ASCII-lowercased bytes. */
static uint32_t user_hash(const char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (uint8_t)tolower((unsigned char)p[i]);
    h *= 16777619u;
  }
  return h;
}

/* 0 when a and b (n bytes each) differ only in ASCII case. */
static int user_keycmp(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
      return 1;
  return 0;
}

/* Validates and lowercases a name. */
int user_key(char *dst, size_t cap, const char *p, size_t n) {
  if (n + 1 > cap || proto_check_name(p, n) < 0)
    return -PERR_BAD_NAME;
  proto_fold(dst, p, n);
  return 0;
}

/* Hash lookup, any spelling of a valid name. */
user *user_find(const char *p, size_t n) {
  if (n > PROTO_MAX_NAME || proto_check_name(p, n) < 0)
    return NULL;
  user *u = NULL;
  HASH_FIND(hh, users, p, n, u);
  return u;
}

/* Allocates and inserts; the flood bucket starts full (flood_burst) and
 * the idle time at now_ms (loop clock). */
user *user_add(struct conn *c, const char *name, uint8_t role,
               uint32_t flood_burst, uint64_t now_ms) {
  size_t n = strlen(name);
  if (n > PROTO_MAX_NAME || proto_check_name(name, n) < 0)
    return NULL;
  user *u = slab_alloc(&user_slab);
  if (u == NULL)
    return NULL;
  memcpy(u->name, name, n + 1);
  u->conn = c;
  u->role = role;
  u->status = PROTO_ONLINE;
  u->talking = "";
  u->last_say_ms = now_ms;
  bucket_init(&u->flood, flood_burst, now_ms);
  HASH_ADD_KEYPTR(hh, users, u->name, n, u);
  return u;
}

/* Replaces the conversation name; the empty string is the static "". */
int user_set_talking(user *u, const char *name) {
  char *t = NULL;
  if (name[0] != '\0') {
    size_t n = strlen(name);
    t = malloc(n + 1);
    if (t == NULL)
      return -1;
    memcpy(t, name, n + 1);
  }
  if (u->talking[0] != '\0')
    free((char *)u->talking);
  u->talking = t != NULL ? t : "";
  return 0;
}

/* Unlinks and frees. */
void user_remove(user *u) {
  HASH_DEL(users, u);
  free(u->away);
  if (u->caprooms > 1)
    free(u->rooms.many);
  user_set_talking(u, "");
  slab_free(&user_slab, u);
}

/* Iteration start. */
user *user_first(void) {
  return users;
}

/* Map size. */
uint32_t user_count(void) {
  return HASH_COUNT(users);
}

/* Idle seconds at now (loop clock). */
uint32_t user_idle_s(const user *u, uint64_t now) {
  return now > u->last_say_ms ? (uint32_t)((now - u->last_say_ms) / 1000) : 0;
}
