/* user.c: the online-user map (see user.h). */
#include "user.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "server.h"

static user *users; /* uthash head */

/* Validates and lowercases a name. */
int user_key(char *dst, size_t cap, const char *p, size_t n) {
  if (n + 1 > cap || proto_check_name(p, n) < 0)
    return -PERR_BAD_NAME;
  for (size_t i = 0; i < n; i++)
    dst[i] = (char)tolower((unsigned char)p[i]);
  dst[n] = '\0';
  return 0;
}

/* Hash lookup by lowercased name. */
user *user_find(const char *p, size_t n) {
  char key[PROTO_MAX_NAME + 1];
  if (user_key(key, sizeof key, p, n) < 0)
    return NULL;
  user *u = NULL;
  HASH_FIND_STR(users, key, u);
  return u;
}

/* Allocates and inserts. */
user *user_add(struct conn *c, const char *name, uint8_t role) {
  user *u = calloc(1, sizeof *u);
  if (u == NULL)
    return NULL;
  size_t n = strlen(name);
  if (user_key(u->key, sizeof u->key, name, n) < 0) {
    free(u);
    return NULL;
  }
  memcpy(u->name, name, n + 1);
  u->conn = c;
  u->role = role;
  u->status = PROTO_ONLINE;
  u->last_say_ms = server_now_ms();
  bucket_init(&u->flood, srv.cfg->flood_burst, u->last_say_ms);
  HASH_ADD_STR(users, key, u);
  return u;
}

/* Unlinks and frees. */
void user_remove(user *u) {
  HASH_DEL(users, u);
  free(u->away);
  free(u->rooms);
  free(u);
}

/* Iteration start. */
user *user_first(void) {
  return users;
}

/* Map size. */
uint32_t user_count(void) {
  return HASH_COUNT(users);
}

/* Idle seconds from the loop clock. */
uint32_t user_idle_s(const user *u) {
  uint64_t now = server_now_ms();
  return now > u->last_say_ms ? (uint32_t)((now - u->last_say_ms) / 1000) : 0;
}
