/* pane.h: what every view does when the layout gives it a new window. */
#ifndef PARLEY_UI_PANE_H
#define PARLEY_UI_PANE_H

#include <stdbool.h>

#include <curses.h>

/* Gives a view its window (NULL: the pane is hidden): deletes the window
 * in *slot, records the size in *vh and *vw, leaves the terminal cursor
 * alone while this window is refreshed (the input line owns it), and marks
 * the view dirty. */
void pane_attach(WINDOW **slot, int *vh, int *vw, bool *dirty, WINDOW *win,
                 int h, int w);

#endif
