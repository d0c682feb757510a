/* statusbar.c: the title bar and the status bar. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "statusbar.h"
#include "utf8.h"

/* Appends a segment when there is room. */
static int statusbar_add(statusbar_seg *segs, int n, int max,
                         enum theme_role role, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#include <stdarg.h>
static int statusbar_add(statusbar_seg *segs, int n, int max,
                         enum theme_role role, const char *fmt, ...) {
  if (n >= max)
    return n;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(segs[n].text, sizeof(segs[n].text), fmt, ap);
  va_end(ap);
  segs[n].role = role;
  return n + 1;
}

/* Builds "[user@host] state | 0:srv 1:#lobby 2:bob(3)". */
int statusbar_build(const client_model *m, const char *state,
                    statusbar_seg *segs, int max) {
  int n = 0;
  /* A long reason would push the window list off the bar; the title bar
   * shows it whole. */
  n = statusbar_add(segs, n, max, THEME_BAR, "[%s@%s] %.40s |", m->self,
                    m->host, state);
  for (size_t i = 0; i < m->nwindows; i++) {
    const client_window *w = m->windows[i];
    enum theme_role r = THEME_BAR;
    if (w == m->current)
      r = THEME_BAR_CUR;
    else if (w->highlight)
      r = THEME_BAR_HOT;
    else if (w->unread)
      r = THEME_BAR_ACT;
    n = statusbar_add(segs, n, max, THEME_BAR, " ");
    if (w != m->current && w->unread)
      n = statusbar_add(segs, n, max, r, "%zu:%s(%u%s)", i, w->name, w->unread,
                        w->highlight ? "!" : "");
    else if (w != m->current && w->highlight)
      n = statusbar_add(segs, n, max, r, "%zu:%s(!)", i, w->name);
    else
      n = statusbar_add(segs, n, max, r, "%zu:%s", i, w->name);
  }
  return n;
}

/* Lag in ms below a second, else in tenths of seconds. */
void statusbar_lag(int64_t lag_ms, char *buf, size_t cap) {
  if (lag_ms < 0)
    snprintf(buf, cap, "%s", "");
  else if (lag_ms < 1000)
    snprintf(buf, cap, "lag %" PRId64 "ms", lag_ms);
  else
    snprintf(buf, cap, "lag %" PRId64 ".%" PRId64 "s", lag_ms / 1000,
             lag_ms % 1000 / 100);
}

/* The title: window name with members and topic, or the peer's status. */
void statusbar_title_text(const client_model *m, char *buf, size_t cap) {
  const client_window *w = m->current;
  if (!w) {
    snprintf(buf, cap, "parley");
    return;
  }
  switch (w->kind) {
  case CLIENT_WIN_ROOM:
    if (!w->joined)
      snprintf(buf, cap, "%s (not joined)", w->name);
    else if (w->topic[0])
      snprintf(buf, cap, "%s [%u] %s", w->name, w->members, w->topic);
    else
      snprintf(buf, cap, "%s [%u]", w->name, w->members);
    return;
  case CLIENT_WIN_QUERY: {
    const client_user *u = NULL;
    for (size_t i = 0; i < m->nusers && !u; i++)
      if (strcasecmp(m->users[i].name, w->name) == 0)
        u = &m->users[i];
    const char *st = !u ? "offline" : proto_status_name(u->status);
    if (u && u->text[0])
      snprintf(buf, cap, "%s: direct conversation (%s: %s)", w->name, st,
               u->text);
    else
      snprintf(buf, cap, "%s: direct conversation (%s)", w->name, st);
    return;
  }
  default:
    snprintf(buf, cap, "%s: server messages (%s %s)", w->name,
             m->server_agent[0] ? m->server_agent : "parleyd", m->server_name);
  }
}

/* Sets up an empty view. */
void statusbar_init(statusbar *v) {
  memset(v, 0, sizeof(*v));
  v->dirty = v->title_dirty = true;
}

/* Replaces the bars' windows. */
void statusbar_set_windows(statusbar *v, WINDOW *title, WINDOW *status, int w) {
  statusbar_free(v);
  v->title = title;
  v->status = status;
  v->w = w;
  if (title)
    leaveok(title, TRUE);
  if (status)
    leaveok(status, TRUE);
  v->dirty = v->title_dirty = true;
}

/* Sets or clears the one-off notice. */
void statusbar_notice(statusbar *v, const char *text) {
  if (!text && !v->notice[0])
    return;
  snprintf(v->notice, sizeof(v->notice), "%s", text ? text : "");
  v->title_dirty = true;
}

/* Writes s cut to the columns left before limit; returns columns used. */
static int statusbar_put(WINDOW *win, const char *s, int col, int limit) {
  int used = 0;
  if (col >= limit)
    return 0;
  size_t n = utf8_fit(s, strlen(s), limit - col, &used);
  char buf[512];
  size_t k = utf8_display(s, n, buf, sizeof(buf), NULL);
  waddnstr(win, buf, (int)k);
  return used;
}

/* Fills a bar row with the bar colour. */
static void statusbar_clear(WINDOW *win) {
  wattrset(win, theme_attr(THEME_BAR));
  wbkgdset(win, ' ' | theme_attr(THEME_BAR));
  werase(win);
}

/* When the window list is wider than cols, keeps the state segment and
 * only the windows that matter (current, unread, highlight), then "+N"
 * for the rest. Segments come in pairs: " " then "i:name". */
static int statusbar_compact(statusbar_seg *segs, int n, int cols) {
  int w = 0;
  for (int i = 0; i < n; i++)
    w += utf8_width(segs[i].text, strlen(segs[i].text));
  if (w <= cols || n < 1)
    return n;
  int k = 1, hidden = 0;
  for (int i = 1; i + 1 < n; i += 2) {
    if (segs[i + 1].role == THEME_BAR) {
      hidden++;
      continue;
    }
    segs[k++] = segs[i];
    segs[k++] = segs[i + 1];
  }
  if (hidden && k + 1 < STATUSBAR_MAX_SEGS) {
    segs[k].role = THEME_BAR;
    snprintf(segs[k].text, sizeof(segs[k].text), " +%d", hidden);
    k++;
  }
  return k;
}

/* Draws the dirty bars. */
void statusbar_draw(statusbar *v, const client *c) {
  const client_model *m = client_model_get(c);
  if (v->title && v->title_dirty) {
    v->title_dirty = false;
    statusbar_clear(v->title);
    char t[CLIENT_TOPIC_SZ + 256];
    if (v->notice[0])
      snprintf(t, sizeof(t), "%s", v->notice);
    else
      statusbar_title_text(m, t, sizeof(t));
    wmove(v->title, 0, 0);
    statusbar_put(v->title, t, 0, v->w);
  }
  if (v->status && v->dirty) {
    v->dirty = false;
    statusbar_clear(v->status);
    char state[CLIENT_REASON_SZ + 64], lag[32];
    client_state_text(c, state, sizeof(state));
    statusbar_lag(m->state == CLIENT_CONNECTED ? m->lag_ms : -1, lag,
                  sizeof(lag));
    int lagw = (int)strlen(lag);
    int limit = lagw ? v->w - lagw - 1 : v->w;
    static statusbar_seg segs[STATUSBAR_MAX_SEGS];
    int n = statusbar_build(m, state, segs, STATUSBAR_MAX_SEGS);
    n = statusbar_compact(segs, n, limit);
    int col = 0;
    wmove(v->status, 0, 0);
    for (int i = 0; i < n && col < limit; i++) {
      wattrset(v->status, theme_attr(segs[i].role));
      col += statusbar_put(v->status, segs[i].text, col, limit);
    }
    if (lagw && v->w > lagw) {
      wattrset(v->status, theme_attr(THEME_BAR));
      wmove(v->status, 0, v->w - lagw);
      statusbar_put(v->status, lag, v->w - lagw, v->w);
    }
  }
}

/* Frees the windows. */
void statusbar_free(statusbar *v) {
  if (v->title)
    delwin(v->title);
  if (v->status)
    delwin(v->status);
  v->title = v->status = NULL;
}
