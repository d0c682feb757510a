/* client_user.c: the sorted list of online users. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_int.h"

int client_user_cmp(const void *a, const void *b) {
  return strcasecmp(((const client_user *)a)->name,
                    ((const client_user *)b)->name);
}

/* Binary search: index of name, or where it would go (*found false). */
static size_t user_pos(const client *c, const char *name, bool *found) {
  size_t lo = 0, hi = c->m.nusers;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = strcasecmp(c->m.users[mid].name, name);
    if (r == 0) {
      *found = true;
      return mid;
    }
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

const client_user *client_user_find(const client *c, const char *name) {
  bool found;
  size_t i = user_pos(c, name, &found);
  return found ? &c->m.users[i] : NULL;
}

client_user *client_user_upsert(client *c, const client_user *u) {
  bool found;
  size_t i = user_pos(c, u->name, &found);
  client_model *m = &c->m;
  if (!found) {
    if (m->nusers >= CLIENT_MAX_USERS)
      return NULL;
    client_user *nu = realloc(m->users, (m->nusers + 1) * sizeof *nu);
    if (!nu)
      return NULL;
    m->users = nu;
    memmove(&m->users[i + 1], &m->users[i], (m->nusers - i) * sizeof *m->users);
    m->nusers++;
  }
  m->users[i] = *u;
  m->seq++;
  return &m->users[i];
}

bool client_user_remove(client *c, const char *name, client_user *out) {
  bool found;
  size_t i = user_pos(c, name, &found);
  if (!found)
    return false;
  client_model *m = &c->m;
  if (out)
    *out = m->users[i];
  memmove(&m->users[i], &m->users[i + 1],
          (m->nusers - i - 1) * sizeof *m->users);
  m->nusers--;
  m->seq++;
  return true;
}

void client_user_replace(client *c, client_user *list, size_t n) {
  free(c->m.users);
  qsort(list, n, sizeof *list, client_user_cmp);
  c->m.users = list;
  c->m.nusers = n;
  c->m.seq++;
}

uint32_t client_user_idle(const client *c, const client_user *u) {
  uint64_t now = uv_now(c->loop);
  uint64_t extra = now > u->idle_at ? (now - u->idle_at) / 1000 : 0;
  return u->idle_s + (uint32_t)extra;
}
