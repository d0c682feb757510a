/* layout.h: pane rectangles computed from the terminal size (pure).
 *
 *   row 0           title bar (current window and topic)
 *   rows 1..        chat pane | separator | users pane
 *   (while transfers exist) transfers pane, full width
 *   row rows-2      status bar
 *   row rows-1      input line
 */
#ifndef PARLEY_UI_LAYOUT_H
#define PARLEY_UI_LAYOUT_H

#include <stdbool.h>

#define LAYOUT_MIN_COLS 40
#define LAYOUT_MIN_ROWS 8
#define LAYOUT_USERS_DEFAULT 20 /* users pane width in columns */
#define LAYOUT_USERS_MIN 10
#define LAYOUT_CHAT_MIN 30 /* below this the users pane is hidden */
#define LAYOUT_XFER_MAX 4  /* transfer rows shown at most */

/* A rectangle; h == 0 or w == 0 means the pane is hidden. */
typedef struct layout_rect {
  int y, x, h, w;
} layout_rect;

typedef struct layout {
  int rows, cols;
  bool too_small; /* only the notice is shown */
  layout_rect title, chat, sep, users, xfers, status, input;
} layout;

/* Fills *l for a rows x cols terminal with a users pane users_w columns
 * wide (clamped to LAYOUT_USERS_MIN..cols/2; 0 hides it) and n_xfers
 * transfers (0: no transfers pane). */
void layout_compute(layout *l, int rows, int cols, int users_w, int n_xfers);

/* Clamps a requested users pane width to what a cols-wide terminal allows
 * (0 stays 0: hidden). */
int layout_clamp_users(int users_w, int cols);

/* The one-line notice for a too-small terminal. */
#define LAYOUT_TOO_SMALL "Terminal too small"

#endif
