/* wrap.h: splitting text into display rows (wide characters, combining
 * marks, hanging indent). Pure: no curses, no allocation. */
#ifndef PARLEY_UI_WRAP_H
#define PARLEY_UI_WRAP_H

#include <stddef.h>

/* One display row: bytes [off, off+len) of the text, cols columns wide. */
typedef struct wrap_row {
  size_t off;
  size_t len;
  int cols;
} wrap_row;

/* Splits s[0..n) into rows: the first at most width0 columns wide, every
 * later one at most width columns (the caller draws those after its hanging
 * indent). Breaks after a space when it can; a word longer than a row is cut
 * between characters. A wide character never straddles two rows, combining
 * marks stay with their base, and the spaces at a break are dropped.
 * Every row holds at least one character, so narrow widths still progress.
 * Writes at most max rows to rows (rows may be NULL when max is 0) and
 * returns the number of rows the text needs (at least 1, also for ""). */
int wrap_text(const char *s, size_t n, int width0, int width, wrap_row *rows,
              int max);

/* Returns the hanging indent to use for a prefix of prefix_cols columns in a
 * pane width columns wide: the prefix width, unless that would leave fewer
 * than a third of the pane (then a small fixed indent). */
int wrap_indent(int prefix_cols, int width);

#endif
