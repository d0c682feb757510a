/* hwscroll.h: scrolling the chat pane with the terminal's own scroll
 * region, so a new line costs a few bytes rather than a repainted pane. */
#ifndef PARLEY_UI_HWSCROLL_H
#define PARLEY_UI_HWSCROLL_H

#include <stdbool.h>

#include "layout.h"

/* True when the terminal can scroll a band of rows (csr, sc/rc, ind, cup)
 * and PARLEY_NO_HW_SCROLL is unset. Needs curses started. */
bool hwscroll_ok(void);

/* The chat pane at r scrolled up by k rows at its live end: scrolls those
 * terminal rows now and updates curscr to match. Call between the pane's
 * drawing and doupdate. Does nothing when it cannot apply. */
void hwscroll_ahead(const layout_rect *r, int k);

#endif
