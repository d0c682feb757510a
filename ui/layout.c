/* layout.c: pane rectangles from the terminal size. */
#include <string.h>

#include "layout.h"

/* Keeps the users pane between its minimum and half the screen. */
int layout_clamp_users(int users_w, int cols) {
  if (users_w <= 0)
    return 0;
  if (users_w < LAYOUT_USERS_MIN)
    users_w = LAYOUT_USERS_MIN;
  if (users_w > cols / 2)
    users_w = cols / 2;
  return users_w;
}

/* Sets a rectangle. */
static layout_rect layout_rect_make(int y, int x, int h, int w) {
  layout_rect r = {y, x, h > 0 ? h : 0, w > 0 ? w : 0};
  if (r.h == 0 || r.w == 0)
    r.h = r.w = 0;
  return r;
}

/* Splits the screen top to bottom, then the middle band left to right. */
void layout_compute(layout *l, int rows, int cols, int users_w, int n_xfers) {
  memset(l, 0, sizeof(*l));
  l->rows = rows, l->cols = cols;
  if (rows < LAYOUT_MIN_ROWS || cols < LAYOUT_MIN_COLS) {
    l->too_small = true;
    return;
  }
  l->title = layout_rect_make(0, 0, 1, cols);
  l->input = layout_rect_make(rows - 1, 0, 1, cols);
  l->status = layout_rect_make(rows - 2, 0, 1, cols);
  int band = rows - 3; /* rows for chat + users + transfers */
  int xh = 0;
  if (n_xfers > 0) {
    int shown = n_xfers < LAYOUT_XFER_MAX ? n_xfers : LAYOUT_XFER_MAX;
    xh = shown + 1; /* a header row, then one row per transfer */
    if (band - xh < 3)
      xh = band - 3 >= 2 ? band - 3 : 0; /* the chat keeps 3 rows */
  }
  int ch = band - xh;
  if (xh > 0)
    l->xfers = layout_rect_make(1 + ch, 0, xh, cols);
  int uw = layout_clamp_users(users_w, cols);
  if (uw > 0 && cols - uw - 1 < LAYOUT_CHAT_MIN)
    uw = 0;
  if (uw > 0) {
    l->chat = layout_rect_make(1, 0, ch, cols - uw - 1);
    l->sep = layout_rect_make(1, cols - uw - 1, ch, 1);
    l->users = layout_rect_make(1, cols - uw, ch, uw);
  } else {
    l->chat = layout_rect_make(1, 0, ch, cols);
  }
}
