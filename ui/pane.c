/* pane.c: the common part of the views' *_set_window. */
#include "pane.h"

void pane_attach(WINDOW **slot, int *vh, int *vw, bool *dirty, WINDOW *win,
                 int h, int w) {
  if (*slot)
    delwin(*slot);
  *slot = win;
  *vh = win ? h : 0;
  *vw = win ? w : 0;
  if (win)
    leaveok(win, TRUE);
  *dirty = true;
}
