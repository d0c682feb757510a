/* client_user.c: the online users: an array the views read, indexed by a
 * hash on the lower-cased name so that every change is O(1) however many
 * users a server pushes. The array is in no particular order (views sort
 * what they show); a removal moves the last entry into the hole. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uthash.h>

#include "client_int.h"

typedef struct client_user_ix {
  char key[CLIENT_NAME_SZ]; /* lower-cased name */
  size_t idx;               /* position in c->m.users */
  UT_hash_handle hh;
} client_user_ix;

int client_user_cmp(const void *a, const void *b) {
  return strcasecmp(((const client_user *)a)->name,
                    ((const client_user *)b)->name);
}

/* Writes the lower-cased form of name into key (CLIENT_NAME_SZ bytes). */
static void user_key(char *key, const char *name) {
  proto_fold(key, name, strnlen(name, CLIENT_NAME_SZ - 1));
}

/* Returns the index entry of name, or NULL. */
static client_user_ix *user_ix_find(const client *c, const char *name) {
  char key[CLIENT_NAME_SZ];
  user_key(key, name);
  client_user_ix *e = NULL;
  HASH_FIND_STR(c->user_ix, key, e);
  return e;
}

/* Frees the whole index. */
static void user_ix_free(client *c) {
  client_user_ix *e, *tmp;
  HASH_ITER(hh, c->user_ix, e, tmp) {
    HASH_DEL(c->user_ix, e);
    free(e);
  }
}

/* Indexes users[0..n); on allocation failure the index is partial and
 * lookups for the rest miss (they are re-added on their next presence). */
static void user_ix_build(client *c) {
  user_ix_free(c);
  for (size_t i = 0; i < c->m.nusers; i++) {
    client_user_ix *e = malloc(sizeof *e);
    if (!e)
      return;
    user_key(e->key, c->m.users[i].name);
    e->idx = i;
    HASH_ADD_STR(c->user_ix, key, e);
  }
}

const client_user *client_user_find(const client *c, const char *name) {
  client_user_ix *e = user_ix_find(c, name);
  return e ? &c->m.users[e->idx] : NULL;
}

client_user *client_user_upsert(client *c, const client_user *u) {
  client_model *m = &c->m;
  client_user_ix *e = user_ix_find(c, u->name);
  if (!e) {
    if (m->nusers >= CLIENT_MAX_USERS)
      return NULL;
    if (m->nusers == c->users_cap) { /* grow geometrically */
      size_t cap = c->users_cap ? c->users_cap * 2 : 64;
      client_user *nu = realloc(m->users, cap * sizeof *nu);
      if (!nu)
        return NULL;
      m->users = nu;
      c->users_cap = cap;
    }
    e = malloc(sizeof *e);
    if (!e)
      return NULL;
    user_key(e->key, u->name);
    e->idx = m->nusers++;
    HASH_ADD_STR(c->user_ix, key, e);
  }
  m->users[e->idx] = *u;
  m->seq++;
  return &m->users[e->idx];
}

bool client_user_remove(client *c, const char *name, client_user *out) {
  client_user_ix *e = user_ix_find(c, name);
  if (!e)
    return false;
  client_model *m = &c->m;
  size_t i = e->idx;
  if (out)
    *out = m->users[i];
  HASH_DEL(c->user_ix, e);
  free(e);
  size_t last = m->nusers - 1;
  if (i != last) { /* the last entry fills the hole */
    m->users[i] = m->users[last];
    client_user_ix *moved = user_ix_find(c, m->users[i].name);
    if (moved)
      moved->idx = i;
  }
  m->nusers--;
  m->seq++;
  return true;
}

void client_user_replace(client *c, client_user *list, size_t n) {
  free(c->m.users);
  qsort(list, n, sizeof *list, client_user_cmp); /* tidy order for /who */
  c->m.users = list;
  c->m.nusers = n;
  c->users_cap = n;
  user_ix_build(c);
  c->m.seq++;
}

void client_user_clear(client *c) {
  user_ix_free(c);
  free(c->m.users);
  c->m.users = NULL;
  c->m.nusers = 0;
  c->users_cap = 0;
  c->m.seq++;
}

uint32_t client_user_idle(const client *c, const client_user *u) {
  uint64_t now = uv_now(c->loop);
  uint64_t extra = now > u->idle_at ? (now - u->idle_at) / 1000 : 0;
  return u->idle_s + (uint32_t)extra;
}
