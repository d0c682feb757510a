/* progress.c: the transfers pane. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "progress.h"

#include "pane.h"
#include "theme.h"
#include "utf8.h"
#include "xferfmt.h"

#define PROGRESS_BAR_MIN 10
#define PROGRESS_NAME_MIN 8
#define PROGRESS_PEER_MIN 12 /* "from " and 7 characters */
#define PROGRESS_TAIL 44     /* columns for the figures, path and state */
#define PROGRESS_NAME_LEAST 4 /* when the state needs more room */
#define PROGRESS_PEER_LEAST 6

/* Appends s cut or padded to exactly cols columns; a cut ends in an
 * ellipsis so that the reader knows there is more. */
static size_t progress_cell(char *dst, size_t cap, const char *s, int cols) {
  int used = 0;
  size_t n = strlen(s);
  const char *ell = NULL;
  if (cols > 1 && utf8_width(s, n) > cols) {
    ell = theme_ellipsis();
    n = utf8_fit(s, n, cols - 1, &used);
  } else {
    n = utf8_fit(s, n, cols, &used);
  }
  size_t el = ell ? strlen(ell) : 0;
  if (n + el + (size_t)(cols - used) + 1 > cap)
    return 0;
  memcpy(dst, s, n);
  if (ell) {
    memcpy(dst + n, ell, el);
    n += el;
    used++;
  }
  for (; used < cols; used++)
    dst[n++] = ' ';
  dst[n] = '\0';
  return n;
}

/* The core's state name, or the model's; a failure says why. */
void progress_state(char *buf, size_t cap, const xfer *x, const char *state,
                    const char *path) {
  if (state == NULL || state[0] == '\0')
    state = xferfmt_status(x->status);
  if (strcmp(state, "failed") == 0 && x->err != XFER_ERR_NONE)
    snprintf(buf, cap, "failed: %s", xferfmt_error(x->err));
  else if (path != NULL && path[0] != '\0')
    snprintf(buf, cap, "%s %s", path, state);
  else
    snprintf(buf, cap, "%s", state);
}

/* Writes the figures between the bar and the state: the percent, rate and
 * ETA each in its fixed width (so that rows line up), those not wanted
 * left out. Returns their width. */
static int progress_figures(char *buf, size_t cap, int pct, const char *rate,
                            const char *eta) {
  int n = 0;
  buf[0] = '\0';
  if (pct >= 0)
    n += snprintf(buf + n, cap - (size_t)n, " %3d%%", pct);
  if (rate != NULL)
    n += snprintf(buf + n, cap - (size_t)n, " %10s", rate);
  if (eta != NULL)
    n += snprintf(buf + n, cap - (size_t)n, " %9s", eta);
  n += snprintf(buf + n, cap - (size_t)n, " ");
  return n;
}

/* Lays out fixed columns (name, peer, bar, figures, state) so that the
 * rows of several transfers line up. Narrow panes take columns from the
 * peer, then the name, before the bar drops under PROGRESS_BAR_MIN. The
 * state is what the row is about, so it is never cut while the row can
 * hold it: the bar, the ETA, the rate, then more of the peer and the name,
 * then the percent make way for it. */
void progress_format(const xfer *x, const char *st, const char *path,
                     int cols, progress_row *r) {
  memset(r, 0, sizeof(*r));
  r->bar_col = -1;
  if (cols <= 0)
    return;
  char rate[32] = "--", eta[32] = "", fig[96], state[64];
  char peer[XFER_PEER_MAX + 16];
  int pct = xfer_percent(x);
  if (x->status == XFER_ACTIVE || x->status == XFER_DONE)
    xferfmt_rate(rate, sizeof(rate), x->bytes_per_sec);
  if (x->status == XFER_ACTIVE) {
    char e[16];
    xferfmt_eta(e, sizeof(e), x->eta_s);
    snprintf(eta, sizeof(eta), "ETA %s", e);
  }
  progress_state(state, sizeof(state), x, st, path);
  /* A failed row has no ETA: its longer state takes that room, so every
   * row's figures and bar line up. */
  bool with_eta = x->status != XFER_FAILED, with_rate = true, with_pct = true;
  snprintf(peer, sizeof(peer), "%s %s", x->dir == XFER_SEND ? "to" : "from",
           x->peer[0] ? x->peer : "server");
  int namew = cols / 5;
  namew =
      namew < PROGRESS_NAME_MIN ? PROGRESS_NAME_MIN : (namew > 32 ? 32 : namew);
  int peerw = 14;
  int barw = cols - namew - 1 - peerw - 2 - PROGRESS_TAIL;
  for (; barw < PROGRESS_BAR_MIN && peerw > PROGRESS_PEER_MIN; barw++)
    peerw--;
  for (; barw < PROGRESS_BAR_MIN && namew > PROGRESS_NAME_MIN; barw++)
    namew--;
  if (barw > 40)
    barw = 40;
  bool bar = barw >= 5;
  int statew = utf8_width(state, strlen(state));
  for (;;) {
    int figw = progress_figures(fig, sizeof(fig), with_pct ? pct : -1,
                                with_rate ? rate : NULL, with_eta ? eta : NULL);
    int over = namew + 1 + peerw + (bar ? barw + 2 : 0) + figw + statew - cols;
    if (over <= 0)
      break;
    if (bar && barw - over >= 5)
      barw -= over;
    else if (bar)
      bar = false;
    else if (with_eta)
      with_eta = false;
    else if (with_rate)
      with_rate = false;
    else if (peerw > PROGRESS_PEER_LEAST)
      peerw = peerw - over > PROGRESS_PEER_LEAST ? peerw - over
                                                 : PROGRESS_PEER_LEAST;
    else if (namew > PROGRESS_NAME_LEAST)
      namew = namew - over > PROGRESS_NAME_LEAST ? namew - over
                                                 : PROGRESS_NAME_LEAST;
    else if (with_pct)
      with_pct = false;
    else
      break; /* the pane is narrower than the state: it is cut below */
  }
  size_t pos = progress_cell(r->text, sizeof(r->text), x->name, namew);
  r->text[pos++] = ' ';
  pos += progress_cell(r->text + pos, sizeof(r->text) - pos, peer, peerw);
  if (bar) {
    int fill = (int)((long)barw * pct / 100);
    r->text[pos++] = '[';
    r->bar_col = namew + 1 + peerw + 1;
    r->bar_w = barw;
    r->bar_fill = fill;
    for (int i = 0; i < barw; i++)
      r->text[pos++] = i < fill ? '#' : '.';
    r->text[pos++] = ']';
  }
  snprintf(r->text + pos, sizeof(r->text) - pos, "%s%s", fig, state);
  /* The form it is drawn in (a peer's file name may hold controls or bidi
   * overrides: '?', same columns, so bar_col stays right), then cut
   * everything to the pane. */
  char shown[sizeof(r->text)];
  size_t sl =
      utf8_display(r->text, strlen(r->text), shown, sizeof(shown), NULL);
  memcpy(r->text, shown, sl + 1);
  size_t fit = utf8_fit(r->text, strlen(r->text), cols, NULL);
  r->text[fit] = '\0';
  if (r->bar_col >= cols)
    r->bar_col = -1;
  else if (r->bar_col + r->bar_fill > cols)
    r->bar_fill = cols - r->bar_col;
}

/* Sets up an empty view. */
void progress_init(progress *v) {
  memset(v, 0, sizeof(*v));
  v->dirty = true;
}

/* Replaces the window. */
void progress_set_window(progress *v, WINDOW *win, int h, int w) {
  pane_attach(&v->win, &v->h, &v->w, &v->dirty, win, h, w);
}

/* Draws the header and one row per transfer. */
void progress_draw(progress *v, const progress_item *items, size_t n) {
  if (!v->win || !v->dirty)
    return;
  v->dirty = false;
  werase(v->win);
  char hdr[64];
  snprintf(hdr, sizeof(hdr), "Transfers %zu", n);
  wattrset(v->win, theme_attr(THEME_SEP) | A_BOLD);
  wmove(v->win, 0, 0);
  for (int x = 0; x < v->w; x++)
    waddstr(v->win, theme_hline());
  mvwaddnstr(v->win, 0, 1, hdr, v->w - 1);
  wattrset(v->win, A_NORMAL);
  for (int i = 0; i + 1 < v->h && (size_t)i < n; i++) {
    progress_row r;
    progress_format(items[i].x, items[i].state, items[i].path, v->w, &r);
    mvwaddstr(v->win, i + 1, 0, r.text);
    if (r.bar_col >= 0 && r.bar_fill > 0) {
      /* Recolour the filled cells; their bytes are plain ASCII. */
      mvwchgat(v->win, i + 1, r.bar_col, r.bar_fill, theme_attr(THEME_BAR_FILL),
               PAIR_NUMBER(theme_attr(THEME_BAR_FILL)), NULL);
    }
  }
}

/* Frees the window. */
void progress_free(progress *v) {
  if (v->win)
    delwin(v->win);
  v->win = NULL;
}
