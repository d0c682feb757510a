/* utf8.c: UTF-8 stepping and display-width measurement for the views. */
#include <stdbool.h>
#include <string.h>
#include <wchar.h>

#include "proto.h"
#include "utf8.h"

/* Decodes one code point, rejecting overlong forms and surrogates. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp) {
  const unsigned char *u = (const unsigned char *)s;
  if (n == 0) {
    *cp = 0;
    return 0;
  }
  unsigned char c = u[0];
  size_t len;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    *cp = UTF8_REPLACEMENT;
    return 1;
  }
  if (n < len) {
    *cp = UTF8_REPLACEMENT;
    return 1;
  }
  for (size_t i = 1; i < len; i++) {
    if ((u[i] & 0xC0) != 0x80) {
      *cp = UTF8_REPLACEMENT;
      return 1;
    }
    v = (v << 6) | (u[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *cp = UTF8_REPLACEMENT;
    return 1;
  }
  *cp = v;
  return len;
}

/* Encodes one code point as UTF-8. */
size_t utf8_encode(uint32_t cp, char out[4]) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp >= 0xD800 && cp <= 0xDFFF)
    return 0;
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp > 0x10FFFF)
    return 0;
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Steps back over at most three continuation bytes to a lead byte. */
size_t utf8_prev(const char *s, size_t off) {
  if (off == 0)
    return 0;
  size_t i = off - 1;
  int k = 0;
  while (i > 0 && k < 3 && ((unsigned char)s[i] & 0xC0) == 0x80)
    i--, k++;
  /* A stray continuation run is stepped over one byte at a time so that
   * prev and decode agree on invalid input. */
  uint32_t cp;
  if (utf8_decode(s + i, off - i, &cp) != off - i)
    return off - 1;
  return i;
}

/* True for C0/C1 controls, DEL and code points wcwidth calls unprintable. */
int utf8_is_unprintable(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
    return 1;
  return wcwidth((wchar_t)cp) < 0;
}

/* True for the bidi controls and invisible formatting characters of
 * PROTOCOL.md 4.2: drawn as a visible '?', never sent to the terminal. */
int utf8_is_hidden(uint32_t cp) {
  return proto_cp_hidden(cp);
}

/* True for ZWJ and ZWNJ: never sent to the terminal (terminals disagree on
 * whether 👩‍💻 is one cell pair or two), so they take no column. */
int utf8_is_joiner(uint32_t cp) {
  return cp == 0x200C || cp == 0x200D;
}

/* True for the characters never sent to the terminal: the joiners, and
 * the variation selectors VS15/VS16 (U+FE0E, U+FE0F). wcwidth counts
 * "❤️" as the heart's one column, but newer terminals and tmux 3.4 draw it
 * two wide: the rest of its row then lands a column right of where curses
 * believes it is, and a row repainted in part overwrote the users pane's
 * separator (issue 13) until Ctrl-L. Left out, the base character has its
 * default width everywhere. */
static int utf8_is_dropped(uint32_t cp) {
  return utf8_is_joiner(cp) || cp == 0xFE0E || cp == 0xFE0F;
}

/* Width of one code point as the views draw it. */
int utf8_cpwidth(uint32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
    return 1;
  if (utf8_is_dropped(cp))
    return 0;
  if (utf8_is_hidden(cp))
    return 1;
  int w = wcwidth((wchar_t)cp);
  if (w < 0)
    return 1;
  return w > 2 ? 2 : w;
}

/* Sums the widths of every code point. */
int utf8_width(const char *s, size_t n) {
  int cols = 0;
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    i += utf8_decode(s + i, n - i, &cp);
    cols += utf8_cpwidth(cp);
  }
  return cols;
}

/* Counts code points the way the server does (invalid bytes count one). */
size_t utf8_count(const char *s, size_t n) {
  size_t k = 0, i = 0;
  while (i < n) {
    uint32_t cp;
    i += utf8_decode(s + i, n - i, &cp);
    k++;
  }
  return k;
}

/* Keeps whole characters while they fit; marks ride with their base. */
size_t utf8_fit(const char *s, size_t n, int cols, int *used) {
  int w = 0;
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t l = utf8_decode(s + i, n - i, &cp);
    int cw = utf8_cpwidth(cp);
    if (w + cw > cols)
      break;
    w += cw;
    i += l;
  }
  if (used)
    *used = w;
  return i;
}

/* Copies s[0..n) as the views draw it: controls, unprintable, invalid and
 * hidden formatting characters become '?', joiners and variation selectors
 * are left out, the rest is copied. Stops before a character that does not fit
 * with the NUL. */
size_t utf8_display(const char *s, size_t n, char *out, size_t cap,
                    size_t *consumed) {
  size_t k = 0, i = 0;
  if (cap == 0) {
    if (consumed)
      *consumed = 0;
    return 0;
  }
  while (i < n) {
    uint32_t cp;
    size_t l = utf8_decode(s + i, n - i, &cp);
    if (utf8_is_dropped(cp)) {
      i += l;
      continue;
    }
    bool q =
        utf8_is_unprintable(cp) || cp == UTF8_REPLACEMENT || utf8_is_hidden(cp);
    size_t need = q ? 1 : l;
    if (k + need + 1 > cap)
      break;
    if (q)
      out[k] = '?';
    else
      memcpy(out + k, s + i, l);
    k += need;
    i += l;
  }
  out[k] = '\0';
  if (consumed)
    *consumed = i;
  return k;
}
