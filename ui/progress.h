/* progress.h: the transfers pane, one row per transfer, fed by the xfer
 * model. Row format (cut to the pane width):
 *   name  to|from peer  [#####.....]  42%  1.2 MiB/s  ETA 0:42  active
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

/* Formats x into a row cols columns wide. Pure. */
void progress_format(const xfer *x, int cols, progress_row *r);

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
void progress_draw(progress *v, const xfer *const *xs, size_t n);

/* Frees the window. */
void progress_free(progress *v);

#endif
