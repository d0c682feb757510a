/* wrap.c: splitting text into display rows. */
#include <stdbool.h>

#include "utf8.h"
#include "wrap.h"

/* True for the characters a line may break after. */
static bool wrap_is_space(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == 0x3000;
}

/* Lays out one row starting at *pos; returns its length and advances *pos
 * past the row and the spaces that end it. */
static size_t wrap_row_at(const char *s, size_t n, size_t *pos, int width,
                          int *cols_out) {
  size_t start = *pos, i = start;
  size_t brk_end = 0, brk_next = 0; /* row end / next start at last space */
  int brk_cols = 0, cols = 0;
  bool have_brk = false;
  while (i < n) {
    uint32_t cp;
    size_t l = utf8_decode(s + i, n - i, &cp);
    int cw = utf8_cpwidth(cp);
    if (wrap_is_space(cp)) {
      /* Break before this space: the row ends here, the next row starts
       * after the run of spaces. */
      size_t j = i;
      while (j < n) {
        uint32_t c2;
        size_t l2 = utf8_decode(s + j, n - j, &c2);
        if (!wrap_is_space(c2))
          break;
        j += l2;
      }
      have_brk = true;
      brk_end = i, brk_next = j, brk_cols = cols;
      if (cols + cw > width || j >= n) {
        /* The spaces overflow (or end the text): break here. */
        *pos = j;
        *cols_out = cols;
        return i - start;
      }
    }
    if (cols + cw > width && i > start) {
      if (have_brk && brk_end > start) {
        *pos = brk_next;
        *cols_out = brk_cols;
        return brk_end - start;
      }
      *pos = i;
      *cols_out = cols;
      return i - start;
    }
    cols += cw;
    i += l;
  }
  *pos = n;
  *cols_out = cols;
  return n - start;
}

/* Produces rows until the text is used up. */
int wrap_text(const char *s, size_t n, int width0, int width, wrap_row *rows,
              int max) {
  if (width0 < 1)
    width0 = 1;
  if (width < 1)
    width = 1;
  size_t pos = 0;
  int k = 0;
  /* Leading spaces of the first row are part of the message; keep them. */
  do {
    size_t off = pos;
    int cols = 0;
    size_t len = wrap_row_at(s, n, &pos, k == 0 ? width0 : width, &cols);
    if (k < max && rows) {
      rows[k].off = off;
      rows[k].len = len;
      rows[k].cols = cols;
    }
    k++;
  } while (pos < n);
  return k;
}

/* Chooses a hanging indent that leaves the text at least a third. */
int wrap_indent(int prefix_cols, int width) {
  if (prefix_cols <= width - width / 3)
    return prefix_cols;
  return width >= 8 ? 4 : 0;
}
