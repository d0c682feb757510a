/* userlist.c: the users pane. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "theme.h"
#include "userlist.h"

#include "pane.h"
#include "utf8.h"

/* The mark for a status. */
char userlist_mark(uint8_t status) {
  switch (status) {
  case PROTO_AWAY:
    return USERLIST_MARK_AWAY;
  case PROTO_BUSY:
    return USERLIST_MARK_BUSY;
  default:
    return USERLIST_MARK_ONLINE;
  }
}

/* Sort rank of a user: ourselves, online, busy, away. */
static int userlist_rank(const client_user *u) {
  if (u->self)
    return 0;
  switch (u->status) {
  case PROTO_ONLINE:
    return 1;
  case PROTO_BUSY:
    return 2;
  case PROTO_AWAY:
    return 3;
  default:
    return 4;
  }
}

static const client_user *userlist_sort_base; /* qsort has no user data */

/* qsort comparator over indexes. */
static int userlist_cmp(const void *a, const void *b) {
  const client_user *x = &userlist_sort_base[*(const size_t *)a];
  const client_user *y = &userlist_sort_base[*(const size_t *)b];
  int d = userlist_rank(x) - userlist_rank(y);
  if (d)
    return d;
  d = strcasecmp(x->name, y->name);
  if (d)
    return d;
  return strcmp(x->name, y->name);
}

/* Sorts indexes of users. */
void userlist_sort(const client_user *users, size_t n, size_t *idx) {
  for (size_t i = 0; i < n; i++)
    idx[i] = i;
  userlist_sort_base = users;
  qsort(idx, n, sizeof(*idx), userlist_cmp);
  userlist_sort_base = NULL;
}

/* Builds "M@name (me) >peer [3]" cut to cols. */
const char *userlist_format(const client_user *u, unsigned unread, int cols,
                            char *buf, size_t cap) {
  char tmp[CLIENT_NAME_SZ * 2 + 64];
  char extra[CLIENT_NAME_SZ + 32] = "";
  size_t el = 0;
  if (u->self)
    el += (size_t)snprintf(extra + el, sizeof(extra) - el, " (me)");
  if (u->talking_with[0] && el < sizeof(extra))
    el += (size_t)snprintf(extra + el, sizeof(extra) - el, " >%s",
                           u->talking_with);
  if (unread && el < sizeof(extra))
    snprintf(extra + el, sizeof(extra) - el, " [%u]", unread);
  snprintf(tmp, sizeof(tmp), "%c%c%s%s", userlist_mark(u->status),
           u->admin ? '@' : ' ', u->name, extra);
  /* Measured and cut in the form it is drawn in: a name from a hostile
   * server with controls ("^[]0;X^G") is '?'s, one column each, and never
   * spills onto the next row. */
  char shown[sizeof(tmp)];
  size_t sl = utf8_display(tmp, strlen(tmp), shown, sizeof(shown), NULL);
  size_t n = utf8_fit(shown, sl, cols, NULL);
  if (n >= cap)
    n = cap - 1;
  memcpy(buf, shown, n);
  buf[n] = '\0';
  return buf;
}

/* Sets up an empty view. */
void userlist_init(userlist *v) {
  memset(v, 0, sizeof(*v));
  v->dirty = true;
}

/* Replaces the curses window. */
void userlist_set_window(userlist *v, WINDOW *win, int h, int w) {
  pane_attach(&v->win, &v->h, &v->w, &v->dirty, win, h, w);
}

/* Scrolls the list. */
void userlist_scroll(userlist *v, int rows) {
  v->top += rows;
  if (v->top < 0)
    v->top = 0;
  v->dirty = true;
}

/* Unread count of the direct conversation with name. */
static unsigned userlist_unread(const client *c, const char *name) {
  client_window *w = client_window_find(c, name);
  return (w && w->kind == CLIENT_WIN_QUERY) ? w->unread : 0;
}

/* Draws the header and the visible entries. */
void userlist_draw(userlist *v, const client *c) {
  if (!v->win || !v->dirty)
    return;
  v->dirty = false;
  const client_model *m = client_model_get(c);
  size_t n = m->nusers;
  if (n > v->order_cap) {
    size_t cap = n < 64 ? 64 : n;
    size_t *o = realloc(v->order, cap * sizeof(*o));
    if (!o)
      n = v->order_cap;
    else
      v->order = o, v->order_cap = cap;
  }
  if (n)
    userlist_sort(m->users, n, v->order);
  /* /pane room: keep the members of the current room (their list comes
   * with the room's NAMES answer and follows joins, parts and quits). */
  const client_window *cw = m->current;
  bool room = v->room_mode && cw && cw->kind == CLIENT_WIN_ROOM &&
              cw->names_known;
  if (room) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      const char *name = m->users[v->order[i]].name;
      for (size_t j = 0; j < cw->nnames; j++)
        if (strcasecmp(cw->names[j], name) == 0) {
          v->order[k++] = v->order[i];
          break;
        }
    }
    n = k;
  }
  werase(v->win);
  char hdr[64];
  if (room)
    snprintf(hdr, sizeof(hdr), "%.40s %zu", cw->name, n);
  else
    snprintf(hdr, sizeof(hdr), "Users %zu", m->nusers);
  wattrset(v->win, A_BOLD);
  mvwaddnstr(v->win, 0, 0, hdr, v->w);
  int rows = v->h - 1;
  if (v->top > 0 && (size_t)v->top + (size_t)rows > n)
    v->top = n > (size_t)rows ? (int)(n - (size_t)rows) : 0;
  for (int r = 0; r < rows && (size_t)(v->top + r) < n; r++) {
    const client_user *u = &m->users[v->order[v->top + r]];
    bool more = r == rows - 1 && (size_t)(v->top + r) + 1 < n;
    char line[256];
    if (more) {
      snprintf(line, sizeof(line), "  +%zu more", n - (size_t)(v->top + r));
      wattrset(v->win, theme_attr(THEME_NOTICE));
      mvwaddnstr(v->win, r + 1, 0, line, v->w);
      break;
    }
    userlist_format(u, userlist_unread(c, u->name), v->w, line, sizeof(line));
    enum theme_role mr = u->status == PROTO_AWAY   ? THEME_AWAY
                         : u->status == PROTO_BUSY ? THEME_BUSY
                                                   : THEME_ONLINE;
    wattrset(v->win, theme_attr(mr));
    mvwaddnstr(v->win, r + 1, 0, line, 1);
    wattrset(v->win, u->self                   ? theme_attr(THEME_SELF)
                     : u->status == PROTO_AWAY ? theme_attr(THEME_NOTICE)
                                               : A_NORMAL);
    waddstr(v->win, line + 1);
  }
  wattrset(v->win, A_NORMAL);
}

/* Frees what the view owns. */
void userlist_free(userlist *v) {
  if (v->win)
    delwin(v->win);
  free(v->order);
  memset(v, 0, sizeof(*v));
}
