/* chatview.c: the chat pane. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chatview.h"

#include "pane.h"
#include "theme.h"
#include "utf8.h"
#include "wrap.h"

#define CHATVIEW_MAX_ROWS 1024 /* rows of one line; 4000 chars fit at w>=10 */

/* The layout of one line at the pane's width. */
typedef struct chatview_line {
  const client_line *l;
  chatview_prefix p;
  int indent;
  int nwrap; /* text rows */
  bool day;  /* a day line comes first (the date changed) */
  bool mark; /* the read marker row follows the text */
  bool sep;  /* a backlog separator row follows */
  int nrows; /* day + nwrap + mark + sep */
  wrap_row rows[CHATVIEW_MAX_ROWS];
} chatview_line;

static chatview_line chatview_tmp; /* one at a time; the UI is one thread */
static char chatview_tsfmt[32] = "%H:%M"; /* the config's timestamp key */

/* Sets the strftime format of line times ("" or NULL: "%H:%M"). */
void chatview_set_time_format(const char *fmt) {
  snprintf(chatview_tsfmt, sizeof chatview_tsfmt, "%s",
           fmt && *fmt ? fmt : "%H:%M");
}

/* Builds "HH:MM " and the kind's marker around the nick. */
void chatview_format_prefix(const client_line *l, chatview_prefix *p) {
  memset(p, 0, sizeof(*p));
  time_t t = (time_t)(l->ts_ms / 1000);
  struct tm tm;
  char ts[32] = "--:--";
  /* The format is the user's own (parley.conf), checked there. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  if (localtime_r(&t, &tm) && strftime(ts, sizeof(ts), chatview_tsfmt, &tm) == 0)
    snprintf(ts, sizeof ts, "--:--"); /* the format gave nothing that fits */
#pragma GCC diagnostic pop
  const char *from = l->from ? l->from : "";
  int n;
  if (l->flags & CLIENT_LINE_ERROR)
    n = snprintf(p->text, sizeof(p->text), "%s !! ", ts);
  else if (l->flags & CLIENT_LINE_NOTICE)
    n = snprintf(p->text, sizeof(p->text), "%s -- ", ts);
  else if (l->flags & CLIENT_LINE_INFO)
    n = snprintf(p->text, sizeof(p->text), "%s == ", ts);
  else if (l->flags & CLIENT_LINE_ACTION) {
    n = snprintf(p->text, sizeof(p->text), "%s * %s ", ts, from);
    p->nick_off = strlen(ts) + 3;
    p->nick_len = strlen(from);
  } else {
    n = snprintf(p->text, sizeof(p->text), "%s <%s> ", ts, from);
    p->nick_off = strlen(ts) + 2;
    p->nick_len = strlen(from);
  }
  if (n < 0)
    p->text[0] = '\0';
  p->time_len = strlen(ts) + 1;
  if (p->nick_off + p->nick_len > strlen(p->text))
    p->nick_off = p->nick_len = 0;
  p->cols = utf8_width(p->text, strlen(p->text));
}

/* The local calendar day of a timestamp, as one comparable number. */
long chatview_day(uint64_t ts_ms) {
  time_t t = (time_t)(ts_ms / 1000);
  struct tm tm;
  if (!localtime_r(&t, &tm))
    return 0;
  return (long)tm.tm_year * 400 + tm.tm_yday;
}

/* "-- Thursday 26 November 2026 --" for the day of ts_ms. */
void chatview_format_day(uint64_t ts_ms, char *buf, size_t cap) {
  time_t t = (time_t)(ts_ms / 1000);
  struct tm tm;
  char d[80] = "?";
  if (localtime_r(&t, &tm))
    strftime(d, sizeof(d), "%A %-d %B %Y", &tm);
  snprintf(buf, cap, "-- %s --", d);
}

/* Puts the date before the time of a line from another day than today. */
static void chatview_prefix_date(const client_line *l, chatview_prefix *p,
                                 long today) {
  if (!(l->flags & CLIENT_LINE_BACKLOG) || chatview_day(l->ts_ms) == today)
    return;
  time_t t = (time_t)(l->ts_ms / 1000);
  struct tm tm;
  char d[16];
  if (!localtime_r(&t, &tm) || strftime(d, sizeof(d), "%d %b ", &tm) == 0)
    return;
  size_t dl = strlen(d), tl = strlen(p->text);
  if (dl + tl >= sizeof(p->text))
    return;
  memmove(p->text + dl, p->text, tl + 1);
  memcpy(p->text, d, dl);
  p->time_len += dl;
  if (p->nick_len)
    p->nick_off += dl;
  p->cols = utf8_width(p->text, strlen(p->text));
}

/* Sets up an empty view. */
void chatview_init(chatview *v) {
  memset(v, 0, sizeof(*v));
  v->dirty = v->full = true;
}

/* Replaces the curses window. */
void chatview_set_window(chatview *v, WINDOW *win, int h, int w) {
  pane_attach(&v->win, &v->h, &v->w, &v->dirty, win, h, w);
  if (win) {
    idlok(win, TRUE); /* let ncurses use the terminal's scrolling */
    scrollok(win, FALSE);
  }
  chatview_invalidate(v);
}

/* Full redraw on the next pass. */
void chatview_invalidate(chatview *v) {
  v->dirty = v->full = true;
}

/* New lines: appended on the next pass when w is on screen. */
void chatview_lines_added(chatview *v, const client_window *w) {
  if (w == v->shown || v->shown == NULL)
    v->dirty = true;
}

/* The read mark kept for w, 0 when none. */
static uint64_t chatview_mark_get(const chatview *v, const client_window *w) {
  for (size_t i = 0; i < v->nmarks; i++)
    if (v->marks[i].w == w)
      return v->marks[i].abs;
  return 0;
}

/* Remembers that w was read up to line abs (exclusive). */
static void chatview_mark_set(chatview *v, const client_window *w,
                              uint64_t abs) {
  for (size_t i = 0; i < v->nmarks; i++)
    if (v->marks[i].w == w) {
      v->marks[i].abs = abs;
      return;
    }
  if (v->nmarks == CHATVIEW_MAX_MARKS) /* bounded: the oldest goes */
    memmove(v->marks, v->marks + 1, sizeof(v->marks[0]) * --v->nmarks);
  v->marks[v->nmarks].w = w;
  v->marks[v->nmarks].abs = abs;
  v->nmarks++;
}

/* Hides a line; see chatview.h. */
void chatview_hide(chatview *v, const client_window *w, uint64_t abs) {
  if (v->nhidden == CHATVIEW_MAX_HIDDEN)
    memmove(v->hidden, v->hidden + 1, sizeof(v->hidden[0]) * --v->nhidden);
  v->hidden[v->nhidden].w = w;
  v->hidden[v->nhidden].abs = abs;
  v->nhidden++;
  if (w == v->shown)
    chatview_invalidate(v);
}

/* True when line abs of w is hidden. */
static bool chatview_is_hidden(const chatview *v, const client_window *w,
                               uint64_t abs) {
  for (size_t i = 0; i < v->nhidden; i++)
    if (v->hidden[i].w == w && v->hidden[i].abs == abs)
      return true;
  return false;
}

/* Drops a window that is going away. */
void chatview_forget(chatview *v, const client_window *w) {
  for (size_t i = 0; i < v->nhidden;)
    if (v->hidden[i].w == w)
      memmove(v->hidden + i, v->hidden + i + 1,
              sizeof(v->hidden[0]) * (--v->nhidden - i));
    else
      i++;
  for (size_t i = 0; i < v->nmarks; i++)
    if (v->marks[i].w == w) {
      memmove(v->marks + i, v->marks + i + 1,
              sizeof(v->marks[0]) * (v->nmarks - i - 1));
      v->nmarks--;
      break;
    }
  if (v->shown == w) {
    v->shown = NULL;
    v->scroll = 0;
    v->search_abs = 0;
    chatview_invalidate(v);
  }
}

/* Rows available for lines (the marker takes one while scrolled up). */
static int chatview_avail(const chatview *v) {
  return v->scroll > 0 ? v->h - 1 : v->h;
}

/* Page size for PgUp/PgDn: a screen less one row of overlap. */
int chatview_page(const chatview *v) {
  int a = v->h - 2;
  return a > 1 ? a : 1;
}

/* Lays out line i of w. */
static const chatview_line *chatview_layout(const chatview *v,
                                            const client_window *w, size_t i) {
  chatview_line *L = &chatview_tmp;
  L->l = client_window_line(w, i);
  chatview_format_prefix(L->l, &L->p);
  chatview_prefix_date(L->l, &L->p, v->today);
  int width = v->w > 0 ? v->w : 1;
  L->indent = wrap_indent(L->p.cols, width);
  int w0 = width - L->p.cols, w1 = width - L->indent;
  const char *t = L->l->text ? L->l->text : "";
  L->nwrap = wrap_text(t, strlen(t), w0 > 0 ? w0 : 1, w1 > 0 ? w1 : 1, L->rows,
                       CHATVIEW_MAX_ROWS);
  if (L->nwrap > CHATVIEW_MAX_ROWS)
    L->nwrap = CHATVIEW_MAX_ROWS;
  L->sep = false;
  if (L->l->flags & CLIENT_LINE_BACKLOG) {
    const client_line *next = client_window_line(w, i + 1);
    L->sep = next == NULL || !(next->flags & CLIENT_LINE_BACKLOG);
  }
  long day = chatview_day(L->l->ts_ms);
  const client_line *prev = i > 0 ? client_window_line(w, i - 1) : NULL;
  L->day = prev ? chatview_day(prev->ts_ms) != day : day != v->today;
  L->mark = v->mark_abs && v->mark_abs - 1 == w->total - w->count + i &&
            i + 1 < w->count;
  L->nrows = (L->day ? 1 : 0) + L->nwrap + (L->mark ? 1 : 0) + (L->sep ? 1 : 0);
  if (v->nhidden && chatview_is_hidden(v, w, w->total - w->count + i)) {
    L->day = L->mark = L->sep = false;
    L->nwrap = L->nrows = 0;
  }
  return L;
}

/* Writes s[0..n) at the cursor in its display form (utf8_display). */
static void chatview_put(WINDOW *win, const char *s, size_t n) {
  char buf[512];
  size_t i = 0;
  while (i < n) {
    size_t used;
    size_t k = utf8_display(s + i, n - i, buf, sizeof(buf), &used);
    if (k)
      waddnstr(win, buf, (int)k);
    if (used == 0)
      break;
    i += used;
  }
}

/* The attribute of a line's text. */
static attr_t chatview_text_attr(const client_line *l) {
  if (l->flags & CLIENT_LINE_ERROR)
    return theme_attr(THEME_ERROR);
  if (l->flags & CLIENT_LINE_NOTICE)
    return theme_attr(THEME_NOTICE);
  if (l->flags & CLIENT_LINE_INFO)
    return theme_attr(THEME_INFO);
  if ((l->flags & CLIENT_LINE_HIGHLIGHT) && !(l->flags & CLIENT_LINE_SELF))
    return theme_attr(THEME_HIGHLIGHT);
  return A_NORMAL;
}

/* Draws row r of a laid-out line at screen row y. */
static void chatview_draw_row(chatview *v, const chatview_line *L, int r, int y,
                              bool hit) {
  WINDOW *win = v->win;
  wmove(win, y, 0);
  wattrset(win, A_NORMAL);
  wclrtoeol(win);
  char day[128];
  const char *banner = NULL; /* a row of its own: day, marker, separator */
  attr_t ba = theme_attr(THEME_SEP);
  if (L->day && r == 0) {
    chatview_format_day(L->l->ts_ms, day, sizeof(day));
    banner = day;
    ba = theme_attr(THEME_NOTICE) | A_BOLD;
  } else {
    r -= L->day ? 1 : 0;
    if (r >= L->nwrap) {
      if (L->mark && r == L->nwrap) {
        banner = CHATVIEW_READ;
        ba = theme_attr(THEME_MARKER);
      } else {
        banner = CHATVIEW_SEPARATOR;
      }
    }
  }
  if (banner) {
    int sl = (int)strlen(banner);
    wattrset(win, ba);
    wmove(win, y, v->w > sl ? (v->w - sl) / 2 : 0);
    waddnstr(win, banner, v->w);
    wattrset(win, A_NORMAL);
    return;
  }
  const client_line *l = L->l;
  attr_t ta = chatview_text_attr(l) | (hit ? A_REVERSE : 0);
  if (r == 0) {
    const chatview_prefix *p = &L->p;
    size_t plen = strlen(p->text);
    int used = 0;
    size_t fit = utf8_fit(p->text, plen, v->w, &used);
    size_t tl = p->time_len < fit ? p->time_len : fit;
    wattrset(win, theme_attr(THEME_TIME));
    chatview_put(win, p->text, tl);
    attr_t pa =
        (l->flags & (CLIENT_LINE_NOTICE | CLIENT_LINE_ERROR | CLIENT_LINE_INFO))
            ? chatview_text_attr(l)
            : A_NORMAL;
    if (p->nick_len && p->nick_off < fit) {
      wattrset(win, pa);
      chatview_put(win, p->text + tl, p->nick_off - tl);
      bool self = (l->flags & CLIENT_LINE_SELF) != 0;
      attr_t na = theme_nick_attr(l->from ? l->from : "", self);
      if ((l->flags & CLIENT_LINE_HIGHLIGHT) && !self)
        na = theme_attr(THEME_HIGHLIGHT) | A_REVERSE;
      wattrset(win, na);
      size_t ne = p->nick_off + p->nick_len;
      chatview_put(win, p->text + p->nick_off,
                   (ne < fit ? ne : fit) - p->nick_off);
      wattrset(win, pa);
      if (ne < fit)
        chatview_put(win, p->text + ne, fit - ne);
    } else {
      wattrset(win, pa);
      chatview_put(win, p->text + tl, fit - tl);
    }
  } else {
    wmove(win, y, L->indent < v->w ? L->indent : 0);
  }
  const char *t = l->text ? l->text : "";
  wattrset(win, ta);
  chatview_put(win, t + L->rows[r].off, L->rows[r].len);
  wattrset(win, A_NORMAL);
}

/* Draws the "more below" marker on the last row. */
static void chatview_draw_marker(chatview *v) {
  char m[64];
  if (v->unseen)
    snprintf(m, sizeof(m), "-- more below: %llu new --",
             (unsigned long long)v->unseen);
  else
    snprintf(m, sizeof(m), "%s", CHATVIEW_MORE);
  wmove(v->win, v->h - 1, 0);
  wattrset(v->win, A_NORMAL);
  wclrtoeol(v->win);
  int ml = (int)strlen(m);
  wmove(v->win, v->h - 1, v->w > ml ? v->w - ml : 0);
  wattrset(v->win, theme_attr(THEME_MARKER));
  waddnstr(v->win, m, v->w);
  wattrset(v->win, A_NORMAL);
}

/* Absolute index (since the window began) of ring line i. */
static uint64_t chatview_abs(const client_window *w, size_t i) {
  return w->total - w->count + i;
}

/* Redraws every visible row from the model. */
static void chatview_draw_full(chatview *v, const client_window *w) {
  werase(v->win);
  int avail = chatview_avail(v);
  /* Pass 1: count rows from the newest line back far enough. */
  long need = (long)v->scroll + avail, total = 0;
  for (size_t i = w->count; i-- > 0 && total < need;)
    total += chatview_layout(v, w, i)->nrows;
  if (total < need && v->scroll > 0) { /* scrolled past the oldest line */
    v->scroll = total - avail > 0 ? (int)(total - avail) : 0;
    avail = chatview_avail(v);
    need = (long)v->scroll + avail;
  }
  bool top_fill = v->scroll == 0 && total < avail;
  int shift = top_fill ? (int)(avail - total) : 0;
  long acc = 0;
  for (size_t i = w->count; i-- > 0 && acc < need;) {
    const chatview_line *L = chatview_layout(v, w, i);
    bool hit = v->search_abs && v->search_abs - 1 == chatview_abs(w, i);
    for (int r = 0; r < L->nrows; r++) {
      long b = acc + (L->nrows - 1 - r);
      if (b < v->scroll || b >= need)
        continue;
      int y = avail - 1 - (int)(b - v->scroll) - shift;
      chatview_draw_row(v, L, r, y, hit);
    }
    acc += L->nrows;
  }
  v->filled = top_fill ? (int)total : avail;
  if (v->scroll > 0)
    chatview_draw_marker(v);
}

/* Appends the lines added since the last pass; returns false when a full
 * redraw is needed instead. */
static bool chatview_draw_append(chatview *v, const client_window *w) {
  uint64_t d = w->total - v->drawn_total;
  if (d == 0)
    return true;
  if (d > w->count || d > (uint64_t)v->h)
    return false;
  size_t first = w->count - (size_t)d;
  if (first > 0) {
    const client_line *prev = client_window_line(w, first - 1);
    const client_line *nl = client_window_line(w, first);
    /* A backlog separator drawn after prev must move below the new line. */
    if ((prev->flags & CLIENT_LINE_BACKLOG) &&
        (nl->flags & CLIENT_LINE_BACKLOG))
      return false;
  }
  int rows = 0;
  for (size_t i = first; i < w->count; i++) {
    rows += chatview_layout(v, w, i)->nrows;
    if (rows > v->h)
      return false;
  }
  int y;
  if (v->filled + rows <= v->h) {
    y = v->filled;
    v->filled += rows;
  } else {
    int over = v->filled + rows - v->h;
    scrollok(v->win, TRUE);
    wscrl(v->win, over);
    scrollok(v->win, FALSE);
    v->scrolled = over;
    y = v->h - rows;
    v->filled = v->h;
  }
  for (size_t i = first; i < w->count; i++) {
    const chatview_line *L = chatview_layout(v, w, i);
    for (int r = 0; r < L->nrows; r++)
      chatview_draw_row(v, L, r, y++, false);
  }
  return true;
}

/* Rows taken by lines [from, count) of w. */
static long chatview_rows_from(const chatview *v, const client_window *w,
                               size_t from) {
  long rows = 0;
  for (size_t i = from; i < w->count; i++)
    rows += chatview_layout(v, w, i)->nrows;
  return rows;
}

/* Draws the pane for the current window. */
void chatview_draw(chatview *v, const client_window *w) {
  v->scrolled = 0;
  if (!v->win || !v->dirty)
    return;
  v->dirty = false;
  long today = chatview_day((uint64_t)time(NULL) * 1000);
  if (today != v->today) {
    v->today = today;
    v->full = true; /* day lines and dates depend on it */
  }
  if (w != v->shown) {
    /* The read marker: where the window we leave was read up to, and
     * where the one we come back to was, if lines came since. */
    if (v->shown)
      chatview_mark_set(v, v->shown, v->drawn_total);
    uint64_t m = w ? chatview_mark_get(v, w) : 0;
    v->mark_abs = w && m && m < w->total ? m : 0;
    v->shown = w;
    v->scroll = 0;
    v->unseen = 0;
    v->search_abs = 0;
    v->search[0] = '\0';
    v->full = true;
  }
  if (!w) {
    werase(v->win);
    v->full = false;
    return;
  }
  if (w->rewritten != v->drawn_rewritten) {
    /* Backlog was inserted above live lines (client_window_add): what is
     * on screen no longer matches the line order, appending would lie. */
    v->drawn_rewritten = w->rewritten;
    v->full = true;
  }
  if (!v->full && v->scroll > 0) {
    /* Keep the view still: what arrived pushes the scroll offset. */
    uint64_t d = w->total - v->drawn_total;
    if (d > w->count)
      d = w->count;
    v->scroll += (int)chatview_rows_from(v, w, w->count - (size_t)d);
    v->unseen += w->total - v->drawn_total;
    v->drawn_total = w->total;
    chatview_draw_marker(v);
    return;
  }
  if (v->full || !chatview_draw_append(v, w))
    chatview_draw_full(v, w);
  v->full = false;
  v->drawn_total = w->total;
}

/* Scrolls the view; clamping happens at the next draw. */
void chatview_scroll(chatview *v, int rows) {
  if (rows == INT_MIN) {
    v->scroll = 0;
  } else if (rows == INT_MAX) {
    v->scroll = INT_MAX / 2;
  } else {
    long s = (long)v->scroll + rows;
    v->scroll = s < 0 ? 0 : (s > INT_MAX / 2 ? INT_MAX / 2 : (int)s);
  }
  if (v->scroll == 0)
    v->unseen = 0;
  chatview_invalidate(v);
}

/* Case-insensitive search backwards from the last hit. */
int chatview_search(chatview *v, const client_window *w, const char *text) {
  if (!w || !text || !text[0]) {
    v->search[0] = '\0';
    v->search_abs = 0;
    chatview_invalidate(v);
    return 0;
  }
  size_t start = w->count;
  if (v->search_abs && strcasecmp(text, v->search) == 0) {
    uint64_t base = w->total - w->count;
    if (v->search_abs - 1 >= base)
      start = (size_t)(v->search_abs - 1 - base);
  }
  for (size_t i = start; i-- > 0;) {
    const client_line *l = client_window_line(w, i);
    if (l && l->text && strcasestr(l->text, text)) {
      snprintf(v->search, sizeof(v->search), "%s", text);
      v->search_abs = chatview_abs(w, i) + 1;
      v->shown = w;
      v->drawn_total = w->total;
      long after = chatview_rows_from(v, w, i + 1);
      v->scroll = after > INT_MAX / 2 ? INT_MAX / 2 : (int)after;
      chatview_invalidate(v);
      return 1;
    }
  }
  return 0;
}

/* Frees the curses window. */
void chatview_free(chatview *v) {
  if (v->win)
    delwin(v->win);
  v->win = NULL;
}
