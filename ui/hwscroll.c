/* hwscroll.c: the hardware-scroll optimisation. When the chat pane
 * scrolls at its live end, the terminal is told to scroll that band of rows
 * itself (csr + ind) and curses' picture of the screen is moved to match,
 * so doupdate sends only what changed instead of repainting the pane. */
#include <stdlib.h>
#include <string.h>

#include <curses.h>
#include <term.h>

#include "hwscroll.h"

/* A terminfo string capability, or NULL when the terminal lacks it. */
static const char *hwscroll_cap(const char *s) {
  return s && s != (const char *)-1 && *s ? s : NULL;
}

/* Can the terminal scroll a band of rows for us (hwscroll_ahead)? */
bool hwscroll_ok(void) {
  if (getenv("PARLEY_NO_HW_SCROLL"))
    return false;
  return hwscroll_cap(change_scroll_region) && hwscroll_cap(save_cursor) &&
         hwscroll_cap(restore_cursor) && hwscroll_cap(scroll_forward) &&
         hwscroll_cap(cursor_address);
}

/* Cells in columns [x0, x1) that differ between rows a and b of w (a
 * copy of curscr; reading moves its cursor). */
static int hwscroll_row_diff(WINDOW *w, int a, int b, int x0, int x1) {
  int n = 0;
  for (int x = x0; x < x1; x++) {
    cchar_t ca, cb;
    if (mvwin_wch(w, a, x, &ca) == ERR || mvwin_wch(w, b, x, &cb) == ERR)
      return n + (x1 - x);
    if (memcmp(&ca, &cb, sizeof(ca)) != 0)
      n++;
  }
  return n ? n + 6 : 0; /* and a cursor move */
}

/* The first row of the band to scroll: rows above it keep their place
 * (their chat text is repainted), rows from it down move (the cells right
 * of the chat that differ are repainted). Picks the cheaper split: with
 * few users listed, the rows beside them are best left in place. pic is
 * a copy of curscr before the scroll. */
static int hwscroll_top(const layout_rect *r, WINDOW *pic, int k) {
  int top = r->y, bot = r->y + r->h - 1;
  long stay = 0, move = 0; /* cost above the split, from the split down */
  for (int i = top; i <= bot - k; i++)
    move += hwscroll_row_diff(pic, i, i + k, r->w, COLS);
  long best = move;
  int best_s = top;
  for (int s = top + 1; s <= bot - k; s++) {
    stay += hwscroll_row_diff(pic, s - 1, s - 1 + k, 0, r->w);
    move -= hwscroll_row_diff(pic, s - 1, s - 1 + k, r->w, COLS);
    if (stay + move < best) {
      best = stay + move;
      best_s = s;
    }
  }
  return best_s;
}

/* The chat pane scrolled up by k rows at the live end: scroll the same
 * rows of the terminal (full width) ourselves and tell curses, so that
 * doupdate finds the chat text already in place. ncurses would only use
 * the terminal's scrolling for rows whose whole content moved, and the
 * users pane beside the chat makes most rows differ, so it repainted the
 * pane instead. Afterwards doupdate repaints only the cells that differ
 * (users pane entries, the new bottom rows). Runs between doupdates, when
 * the terminal's attributes are normal (doupdate ends with them reset) and
 * curses has nothing buffered (doupdate flushes its own buffer at the
 * end); our bytes go through putp to stdout, flushed before doupdate. */
void hwscroll_ahead(const layout_rect *r, int k) {
  if (k < 1 || k >= r->h || r->x != 0 || r->y < 0 || r->y + r->h > LINES ||
      r->w > COLS || is_cleared(curscr))
    return;
  /* curscr's picture after the scroll, built on a copy: the rows of
   * curscr are then zeroed by wredrawln, which also rehashes them, so the
   * hashmap of the next doupdate does not match them against their old
   * places (its cached hashes of curscr would otherwise be stale, and it
   * would scroll the rows a second time). */
  WINDOW *pic = dupwin(curscr);
  if (!pic)
    return;
  int top = hwscroll_top(r, pic, k), bot = r->y + r->h - 1;
  wsetscrreg(pic, top, bot);
  scrollok(pic, TRUE);
  int rc = wscrl(pic, k);
  scrollok(pic, FALSE);
  wsetscrreg(pic, 0, LINES - 1);
  if (rc != OK || wredrawln(pic, top, bot - top + 1) != OK) {
    delwin(pic);
    clearok(curscr, TRUE); /* curscr may be part-zeroed: repaint all */
    return;
  }
  putp(save_cursor);
  putp(tiparm(change_scroll_region, top, bot));
  putp(tiparm(cursor_address, bot, 0));
  const char *pind = hwscroll_cap(parm_index);
  if (k > 1 && pind)
    putp(tiparm(pind, k));
  else
    for (int i = 0; i < k; i++)
      putp(scroll_forward);
  putp(tiparm(change_scroll_region, 0, LINES - 1));
  putp(restore_cursor);
  fflush(stdout); /* putp writes to stdout; doupdate writes to the fd */
  /* Rows top..bot of curscr from the scrolled copy; copywin touches them,
   * so doupdate compares each with what the windows want. */
  if (copywin(pic, curscr, top, 0, top, 0, bot, COLS - 1, FALSE) != OK)
    clearok(curscr, TRUE);
  delwin(pic);
}
