/* progress.h: the transfers pane, one row per transfer, fed by the xfer
 * model. Row format (cut to the pane width):
 *   name  to|from peer  [#####.....]  42%  1.2 MiB/s  ETA 0:42  active
 * A name too long for its column ends in an ellipsis; the bar keeps at
 * least PROGRESS_BAR_MIN (10) cells from 80 columns up. The state is shown
 * in full whenever the pane can hold it: narrower panes drop the bar, the
 * ETA and the rate, then cut the peer and the name further, for it.
 * The header row reads "Transfers N". */
#ifndef PARLEY_UI_PROGRESS_H
#define PARLEY_UI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>

#include "xfer.h"

/* Where the bar sits inside a formatted row (for colouring). */
typedef struct progress_row {
  char text[512];
  int bar_col;  /* column of the first bar cell, -1 when no bar */
  int bar_w;    /* bar cells */
  int bar_fill; /* filled cells */
} progress_row;

/* One row to draw: the model and the core's name for its state. */
typedef struct progress_item {
  const xfer *x;
  const char *state; /* "offered", "verifying", "rejected"...; NULL: x's */
  const char *path;  /* "direct" or "relay" once known, else NULL */
} progress_item;

#define PROGRESS_LINGER_MS 5000 /* a finished row stays this long */

/* Writes the state column: state (or x's status name when NULL), with
 * ": REASON" after "failed"; the data path ("direct", "relay"; NULL when
 * not known) before any other state ("relay active"). Pure. */
void progress_state(char *buf, size_t cap, const xfer *x, const char *state,
                    const char *path);

/* Formats x into a row cols columns wide; state and path as
 * progress_state. Pure. */
void progress_format(const xfer *x, const char *state, const char *path,
                     int cols, progress_row *r);

typedef struct progress {
  WINDOW *win;
  int h, w;
  bool dirty;
} progress;

/* Sets up an empty view. */
void progress_init(progress *v);

/* Gives the view its window (NULL: pane hidden). */
void progress_set_window(progress *v, WINDOW *win, int h, int w);

/* Draws the transfers when dirty. */
void progress_draw(progress *v, const progress_item *items, size_t n);

/* Frees the window. */
void progress_free(progress *v);

#endif
