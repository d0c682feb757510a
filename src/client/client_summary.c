/* client_summary.c: join/leave summaries for large rooms (see
 * client_summary.h). The set keeps one entry per name whose membership
 * changed since the last line, hashed on the lower-cased name and walked
 * in the order the entries came (uthash keeps it), so a storm of joins
 * costs O(1) each however large the room.
 *
 * The client's side: in the TUI (not --batch, whose scripts want every
 * event), a room with more than opts.join_summary_above members gets no
 * notice line per JOINED, LEFT or QUIT; they go into the room window's
 * set, and one timer (no thread; started by the first pending event, so
 * an idle client never wakes) writes every room's line when
 * opts.join_summary_every seconds have passed. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "client_int.h"
#include "client_summary.h"

/* User names are ASCII on the wire (PROTOCOL 4.3, checked before a notice
 * gets here), so an entry needs their bytes, not CLIENT_NAME_SZ: about 120
 * bytes each, 120 KB for a room's CLIENT_SUMMARY_MAX. */
#define SUMMARY_NAME_SZ (PROTO_MAX_NAME + 1)

typedef struct summary_entry {
  char key[SUMMARY_NAME_SZ];  /* lower-cased name: the hash key */
  char name[SUMMARY_NAME_SZ]; /* as the server spelt it */
  bool joined;                /* false: left */
  UT_hash_handle hh;
} summary_entry;

struct client_summary {
  summary_entry *map; /* uthash head; iteration is insertion order */
  size_t joined, left;
};

client_summary *client_summary_new(void) {
  return calloc(1, sizeof(client_summary));
}

void client_summary_clear(client_summary *s) {
  summary_entry *e, *tmp;
  HASH_ITER(hh, s->map, e, tmp) {
    HASH_DEL(s->map, e);
    free(e);
  }
  s->joined = s->left = 0;
}

void client_summary_free(client_summary *s) {
  if (!s)
    return;
  client_summary_clear(s);
  free(s);
}

/* The entry of name, or NULL; key receives the lower-cased name. */
static summary_entry *summary_find(const client_summary *s, const char *name,
                                   char key[SUMMARY_NAME_SZ]) {
  proto_fold(key, name, strnlen(name, SUMMARY_NAME_SZ - 1));
  summary_entry *e = NULL;
  HASH_FIND_STR(s->map, key, e);
  return e;
}

/* Removes e from s and frees it. */
static void summary_remove(client_summary *s, summary_entry *e) {
  if (e->joined)
    s->joined--;
  else
    s->left--;
  HASH_DEL(s->map, e);
  free(e);
}

/* A name is pending at most once: a second event of the same kind (LEFT
 * then QUIT of one user cannot both come, but a server may repeat) keeps
 * the first; the opposite kind cancels it. */
int client_summary_add(client_summary *s, const char *name, bool joined) {
  char key[SUMMARY_NAME_SZ];
  summary_entry *e = summary_find(s, name, key);
  if (e) {
    if (e->joined != joined)
      summary_remove(s, e);
    return (int)HASH_COUNT(s->map);
  }
  e = calloc(1, sizeof *e);
  if (!e)
    return -1;
  memcpy(e->key, key, sizeof e->key);
  snprintf(e->name, sizeof e->name, "%s", name);
  e->joined = joined;
  HASH_ADD_STR(s->map, key, e);
  if (joined)
    s->joined++;
  else
    s->left++;
  return (int)HASH_COUNT(s->map);
}

bool client_summary_has(const client_summary *s, const char *name) {
  char key[SUMMARY_NAME_SZ];
  return summary_find(s, name, key) != NULL;
}

void client_summary_forget(client_summary *s, const char *name) {
  char key[SUMMARY_NAME_SZ];
  summary_entry *e = summary_find(s, name, key);
  if (e)
    summary_remove(s, e);
}

size_t client_summary_pending(const client_summary *s) {
  return HASH_COUNT(s->map);
}

size_t client_summary_joined(const client_summary *s) {
  return s->joined;
}

size_t client_summary_left(const client_summary *s) {
  return s->left;
}

void client_summary_each(const client_summary *s,
                         void (*fn)(const char *name, bool joined, void *ud),
                         void *ud) {
  for (const summary_entry *e = s->map; e; e = e->hh.next)
    fn(e->name, e->joined, ud);
}

/* Appends printf-formatted text to buf (size n) at *o, never past n - 1. */
__attribute__((format(printf, 4, 5))) static void
summary_put(char *buf, size_t n, size_t *o, const char *fmt, ...) {
  if (*o >= n - 1)
    return;
  va_list ap;
  va_start(ap, fmt);
  int r = vsnprintf(buf + *o, n - *o, fmt, ap);
  va_end(ap);
  if (r > 0)
    *o = *o + (size_t)r < n - 1 ? *o + (size_t)r : n - 1;
}

/* Appends "COUNT VERB (a, b, c, …)" for the entries of one kind. */
static void summary_put_kind(const client_summary *s, bool joined,
                             unsigned max_names, char *buf, size_t n,
                             size_t *o) {
  size_t count = joined ? s->joined : s->left;
  summary_put(buf, n, o, "%zu %s", count, joined ? "joined" : "left");
  unsigned shown = 0;
  for (const summary_entry *e = s->map; e && shown < max_names; e = e->hh.next)
    if (e->joined == joined)
      summary_put(buf, n, o, "%s%s", shown++ ? ", " : " (", e->name);
  if (shown)
    summary_put(buf, n, o, "%s", count > shown ? ", …)" : ")");
}

size_t client_summary_format(const client_summary *s, unsigned max_names,
                             char *buf, size_t n) {
  size_t o = 0;
  if (n == 0)
    return 0;
  buf[0] = '\0';
  if (s->joined == 0 && s->left == 0)
    return 0;
  if (s->joined)
    summary_put_kind(s, true, max_names, buf, n, &o);
  if (s->joined && s->left)
    summary_put(buf, n, &o, ", ");
  if (s->left)
    summary_put_kind(s, false, max_names, buf, n, &o);
  summary_put(buf, n, &o, " --");
  return o;
}

/* client_parse_num into an unsigned. */
static int summary_num(const char *v, unsigned long hi, unsigned *out) {
  unsigned long x;
  if (client_parse_num(v, 1, hi, &x) < 0)
    return -1;
  *out = (unsigned)x;
  return 0;
}

int client_summary_parse_above(const char *v, unsigned *out) {
  if (v && strcmp(v, "off") == 0) {
    *out = 0;
    return 0;
  }
  return summary_num(v, CLIENT_MAX_USERS, out);
}

int client_summary_parse_every(const char *v, unsigned *out) {
  return summary_num(v, CLIENT_SUMMARY_MAX_EVERY, out);
}

/* ---- the client's side ------------------------------------------------ */

/* Writes w's summary line (when something is pending) and empties it. */
static void client_summary_write(client *c, client_window *w) {
  if (!w->summary || client_summary_pending(w->summary) == 0)
    return;
  char line[512];
  client_summary_format(w->summary, CLIENT_SUMMARY_NAMES, line, sizeof line);
  client_summary_clear(w->summary);
  client_info(c, w, CLIENT_LINE_NOTICE, "%s", line);
}

void client_summary_flush(client *c) {
  for (size_t i = 0; i < c->m.nwindows; i++)
    client_summary_write(c, c->m.windows[i]);
}

/* The period ended: every room's line. */
static void client_summary_timer_cb(uv_timer_t *h) {
  client *c = h->data;
  client_summary_flush(c);
}

/* A room is large when it has more members than the option says (0:
 * never), before or after the event: w->members counts after it, so a
 * leave from a room that was large is summarised too. Only the TUI
 * summarises (client_new turns it off else). */
static bool client_summary_large(const client *c, const client_window *w,
                                 bool join) {
  unsigned above = c->opts.join_summary_above;
  return above != 0 && (uint64_t)w->members + !join > above;
}

/* A join, leave or quit goes to the set when the room is large, or when
 * it undoes one waiting there (the room shrank meanwhile); a kick or ban
 * keeps its line and takes back the name's pending join. Returns true
 * when the notice was collected (no line for it now). */
bool client_summary_note(client *c, client_window *w, uint8_t kind,
                         const char *user) {
  if (c->stopping || w->kind != CLIENT_WIN_ROOM || !user[0])
    return false;
  if (kind == PROTO_NOTICE_KICKED || kind == PROTO_NOTICE_BANNED) {
    if (w->summary)
      client_summary_forget(w->summary, user);
    return false;
  }
  bool join = kind == PROTO_NOTICE_JOINED;
  if (!join && kind != PROTO_NOTICE_LEFT && kind != PROTO_NOTICE_QUIT)
    return false;
  if (!client_summary_large(c, w, join) &&
      !(w->summary && client_summary_has(w->summary, user)))
    return false;
  if (!w->summary && !(w->summary = client_summary_new()))
    return false; /* out of memory: the line, as in a small room */
  int n = client_summary_add(w->summary, user, join);
  if (n < 0)
    return false;
  if ((size_t)n >= CLIENT_SUMMARY_MAX) /* bounded: write it now */
    client_summary_write(c, w);
  if (!uv_is_active((uv_handle_t *)&c->summary_timer)) {
    int r = uv_timer_start(&c->summary_timer, client_summary_timer_cb,
                           (uint64_t)c->opts.join_summary_every * 1000, 0);
    assert(r == 0); /* uv_timer_start fails only without a callback */
    (void)r;
  }
  return true;
}

/* Collects the names of one kind into info lines of about 1 KiB. */
typedef struct summary_show {
  client *c;
  bool joined;
  char line[1024];
  size_t o;
} summary_show;

/* client_summary_each callback: adds name to the line, writing it when
 * full. */
static void summary_show_one(const char *name, bool joined, void *ud) {
  summary_show *x = ud;
  if (joined != x->joined)
    return;
  size_t need = strlen(name) + 1;
  if (x->o + need + 1 >= sizeof x->line) {
    client_info(x->c, NULL, CLIENT_LINE_INFO, "%s", x->line);
    x->o = (size_t)snprintf(x->line, sizeof x->line, " ");
  }
  x->o += (size_t)snprintf(x->line + x->o, sizeof x->line - x->o, " %s", name);
}

int client_summary_show(client *c, client_window *w, char *err, size_t errlen) {
  if (!w || w->kind != CLIENT_WIN_ROOM) {
    snprintf(err, errlen, "/joins: only in a room window");
    return CLIENT_EUSAGE;
  }
  size_t nj = w->summary ? client_summary_joined(w->summary) : 0;
  size_t nl = w->summary ? client_summary_left(w->summary) : 0;
  if (nj + nl == 0) {
    unsigned above = c->opts.join_summary_above;
    if (above == 0)
      client_info(c, NULL, CLIENT_LINE_INFO,
                  "%s: join summaries are off: every join and leave has "
                  "its line",
                  w->name);
    else
      client_info(c, NULL, CLIENT_LINE_INFO,
                  "%s: no joins or leaves waiting for the next summary "
                  "(rooms above %u members get one at most every %us)",
                  w->name, above, c->opts.join_summary_every);
    return 0;
  }
  client_info(c, NULL, CLIENT_LINE_INFO,
              "%s: waiting for the next summary: %zu joined, %zu left", w->name,
              nj, nl);
  for (int k = 0; k < 2; k++) {
    summary_show x = {.c = c, .joined = k == 0};
    if ((x.joined ? nj : nl) == 0)
      continue;
    x.o = (size_t)snprintf(x.line, sizeof x.line,
                           "%s:", x.joined ? "joined" : "left");
    client_summary_each(w->summary, summary_show_one, &x);
    client_info(c, NULL, CLIENT_LINE_INFO, "%s", x.line);
  }
  return 0;
}
