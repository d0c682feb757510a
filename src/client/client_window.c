/* client_window.c: windows, their line rings, focus and mentions. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_int.h"
#include "client_summary.h"

client_window *client_window_new(client_window_kind kind, const char *name,
                                 size_t cap) {
  client_window *w = calloc(1, sizeof *w);
  if (!w)
    return NULL;
  w->kind = kind;
  size_t n = strlen(name);
  if (n >= sizeof w->name)
    n = sizeof w->name - 1;
  memcpy(w->name, name, n);
  w->cap = cap ? cap : CLIENT_DEFAULT_SCROLLBACK;
  w->ring = calloc(w->cap, sizeof *w->ring);
  if (!w->ring) {
    free(w);
    return NULL;
  }
  return w;
}

void client_window_free(client_window *w) {
  if (!w)
    return;
  for (size_t i = 0; i < w->count; i++)
    free(w->ring[(w->head + i) % w->cap]);
  free(w->ring);
  free(w->names);
  client_summary_free(w->summary);
  free(w);
}

client_line *client_window_add(client_window *w, uint64_t id, uint64_t ts_ms,
                               const char *from, size_t from_n,
                               const char *text, size_t text_n, uint8_t flags) {
  /* One allocation: the struct, then from, then text, both NUL-ended. */
  client_line *l = malloc(sizeof *l + from_n + 1 + text_n + 1);
  if (!l)
    return NULL;
  char *p = (char *)(l + 1);
  memcpy(p, from, from_n);
  p[from_n] = '\0';
  memcpy(p + from_n + 1, text, text_n);
  p[from_n + 1 + text_n] = '\0';
  l->id = id;
  l->ts_ms = ts_ms;
  l->from = p;
  l->text = p + from_n + 1;
  l->flags = flags;
  /* Backlog older than the live lines at the end (a conversation reopened
   * after the peer wrote to its closed window, a rejoin replaying older
   * history) goes before them, so the window reads in time order and the
   * backlog stays one block above the live lines. */
  size_t pos = w->count;
  if (flags & CLIENT_LINE_BACKLOG)
    while (pos > 0) {
      const client_line *q = w->ring[(w->head + pos - 1) % w->cap];
      /* Time decides; the id only breaks ties (ids of an old server may
       * have been handed out again after a crash). */
      if ((q->flags & CLIENT_LINE_BACKLOG) ||
          !(q->ts_ms > ts_ms ||
            (q->ts_ms == ts_ms && q->id && id && q->id > id)))
        break;
      pos--;
    }
  if (pos < w->count) {
    if (w->count == w->cap) { /* full: the oldest line goes */
      if (pos == 0) {         /* older than all we keep */
        free(l);
        return NULL;
      }
      free(w->ring[w->head]);
      w->head = (w->head + 1) % w->cap;
      w->count--;
      pos--;
    }
    for (size_t i = w->count; i > pos; i--)
      w->ring[(w->head + i) % w->cap] = w->ring[(w->head + i - 1) % w->cap];
    w->ring[(w->head + pos) % w->cap] = l;
    w->count++;
    w->total++;
    w->rewritten++;
    if (id > w->last_id)
      w->last_id = id;
    return l;
  }
  if (w->count == w->cap) { /* full: the oldest line goes */
    free(w->ring[w->head]);
    w->ring[w->head] = l;
    w->head = (w->head + 1) % w->cap;
  } else {
    w->ring[(w->head + w->count) % w->cap] = l;
    w->count++;
  }
  w->total++;
  if (id > w->last_id)
    w->last_id = id;
  return l;
}

const client_line *client_window_line(const client_window *w, size_t i) {
  if (!w || i >= w->count)
    return NULL;
  return w->ring[(w->head + i) % w->cap];
}

client_window *client_window_attach(client *c, client_window *w) {
  client_model *m = &c->m;
  if (m->nwindows >= CLIENT_MAX_WINDOWS)
    return NULL;
  client_window **nw = realloc(m->windows, (m->nwindows + 1) * sizeof *nw);
  if (!nw)
    return NULL;
  m->windows = nw;
  m->windows[m->nwindows++] = w;
  if (!m->current)
    m->current = w;
  m->seq++;
  return w;
}

void client_window_detach(client *c, client_window *w) {
  client_model *m = &c->m;
  size_t i;
  for (i = 0; i < m->nwindows && m->windows[i] != w; i++)
    ;
  if (i == m->nwindows)
    return;
  memmove(&m->windows[i], &m->windows[i + 1],
          (m->nwindows - i - 1) * sizeof *m->windows);
  m->nwindows--;
  if (m->current == w) /* focus the left neighbour, like irssi */
    m->current = m->nwindows ? m->windows[i ? i - 1 : 0] : NULL;
  m->seq++;
}

client_window *client_window_find(const client *c, const char *name) {
  for (size_t i = 0; i < c->m.nwindows; i++)
    if (strcasecmp(c->m.windows[i]->name, name) == 0 &&
        c->m.windows[i]->kind != CLIENT_WIN_SERVER)
      return c->m.windows[i];
  return NULL;
}

client_window *client_window_get(client *c, client_window_kind kind,
                                 const char *name, size_t n) {
  char buf[CLIENT_ROOM_SZ];
  if (n >= sizeof buf)
    n = sizeof buf - 1;
  memcpy(buf, name, n);
  buf[n] = '\0';
  client_window *w = client_window_find(c, buf);
  if (w && w->kind == kind)
    return w;
  if (w) /* a user named like a room cannot happen; be safe anyway */
    return NULL;
  w = client_window_new(kind, buf, c->opts.scrollback);
  if (!w)
    return NULL;
  if (!client_window_attach(c, w)) {
    client_window_free(w);
    return NULL;
  }
  client_event ev = {.type = CLIENT_EV_WINDOW, .win = w};
  client_emit(c, &ev);
  return w;
}

client_window *client_window_current(const client *c) {
  return c->m.current;
}

void client_window_switch(client *c, client_window *w) {
  if (!w)
    return;
  c->m.current = w;
  w->unread = 0;
  w->highlight = false;
  c->m.seq++;
  client_event ev = {.type = CLIENT_EV_WINDOW, .win = w};
  client_emit(c, &ev);
}

void client_window_switch_index(client *c, size_t i) {
  if (i < c->m.nwindows)
    client_window_switch(c, c->m.windows[i]);
}

int client_window_close(client *c, client_window *w) {
  if (!w)
    w = c->m.current;
  if (!w || w->kind == CLIENT_WIN_SERVER)
    return CLIENT_EUSAGE;
  if (w->kind == CLIENT_WIN_ROOM && w->joined && client_ready(c)) {
    /* The window goes when PARTED arrives. */
    proto_msg m = {.type = PROTO_PART};
    m.u.part.room = proto_str_c(w->name);
    m.u.part.reason = proto_str_c("");
    int r = client_send(c, &m);
    if (r == 0) {
      w->parting = true;
      w->rejoin = false;
    }
    return r;
  }
  if (w->kind == CLIENT_WIN_QUERY && client_ready(c)) {
    proto_msg m = {.type = PROTO_QUERY_CLOSE};
    m.u.query_close.user = proto_str_c(w->name);
    (void)client_send(c, &m); /* best effort: the window goes anyway */
  }
  if (w->kind == CLIENT_WIN_QUERY && strcasecmp(c->talking, w->name) == 0)
    c->talking[0] = '\0'; /* closed: talking with nobody, now or later */
  client_window_drop(c, w);
  return 0;
}

/* Removes w from the model and frees it: WINDOW_CLOSED (with its name),
 * then WINDOW for the window that is current now. */
void client_window_drop(client *c, client_window *w) {
  char name[CLIENT_ROOM_SZ];
  snprintf(name, sizeof name, "%s", w->name);
  client_window_detach(c, w);
  client_event ev = {.type = CLIENT_EV_WINDOW_CLOSED, .name = name};
  client_emit(c, &ev);
  client_window_free(w);
  client_event ev2 = {.type = CLIENT_EV_WINDOW, .win = c->m.current};
  client_emit(c, &ev2);
}

client_window *client_window_query(client *c, const char *user, bool focus) {
  client_window *w = client_window_get(c, CLIENT_WIN_QUERY, user, strlen(user));
  if (w && focus)
    client_window_switch(c, w);
  return w;
}

/* True for the bytes that may be part of a nick: a mention must not be
 * glued to more of them ("bobby" does not mention "bob"). */
static bool nick_char(unsigned char ch) {
  return isalnum(ch) || ch == '_' || ch == '-' || ch == '.' || ch >= 0x80;
}

bool client_window_mentions(const char *text, const char *nick) {
  size_t n = strlen(nick);
  if (n == 0)
    return false;
  for (const char *p = text; *p; p++) {
    if (strncasecmp(p, nick, n) != 0)
      continue;
    bool left_ok =
        p == text || !nick_char((unsigned char)p[-1]) || p[-1] == '@';
    /* A trailing '.' or '-' ends a sentence ("hi bob."), not a nick. */
    const unsigned char *e = (const unsigned char *)p + n;
    bool right_ok =
        !nick_char(*e) || ((*e == '.' || *e == '-') && !nick_char(e[1]));
    if (left_ok && right_ok)
      return true;
  }
  return false;
}
