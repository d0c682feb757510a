/* editline.c: the input line's editing model. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "editline.h"
#include "utf8.h"

/* Ends a completion cycle: every edit other than Tab calls this. */
static void editline_touch(editline *e) {
  e->compl_active = false;
}

/* Prepares an empty editor. */
void editline_init(editline *e) {
  memset(e, 0, sizeof(*e));
}

/* Frees history and yank memory. */
void editline_free(editline *e) {
  for (int i = 0; i < e->hist_n; i++)
    free(e->hist[i]);
  free(e->hist_saved);
  free(e->yank);
  memset(e, 0, sizeof(*e));
}

/* Empties the line. */
void editline_clear(editline *e) {
  editline_touch(e);
  e->len = e->chars = e->cur = e->first_col = 0;
  e->buf[0] = '\0';
}

/* Removes bytes [a, b) and moves the cursor to a. */
static void editline_cut(editline *e, size_t a, size_t b) {
  e->chars -= utf8_count(e->buf + a, b - a);
  memmove(e->buf + a, e->buf + b, e->len - b + 1);
  e->len -= b - a;
  e->cur = a;
}

/* Remembers killed text for Ctrl-Y (best effort: no memory, no yank). */
static void editline_keep(editline *e, size_t a, size_t b) {
  if (b <= a)
    return;
  char *k = malloc(b - a + 1);
  if (!k)
    return;
  memcpy(k, e->buf + a, b - a);
  k[b - a] = '\0';
  free(e->yank);
  e->yank = k;
}

/* Inserts text code point by code point so that every bound holds. */
int editline_insert(editline *e, const char *s, size_t n) {
  editline_touch(e);
  size_t i = 0, added = 0;
  while (i < n) {
    uint32_t cp;
    size_t l = utf8_decode(s + i, n - i, &cp);
    i += l;
    if (cp == '\t' || cp == '\n' || cp == '\r')
      cp = ' '; /* pasted layout becomes plain spaces */
    else if (utf8_is_unprintable(cp) && cp != UTF8_REPLACEMENT)
      continue;
    char enc[4];
    size_t el = utf8_encode(cp, enc);
    if (el == 0)
      continue;
    if (e->len + el > EDITLINE_MAX_BYTES || e->chars >= EDITLINE_MAX_CHARS)
      break;
    memmove(e->buf + e->cur + el, e->buf + e->cur, e->len - e->cur + 1);
    memcpy(e->buf + e->cur, enc, el);
    e->cur += el, e->len += el, e->chars++;
    added += el;
  }
  if (added == 0 && n > 0)
    return -PERR_FIELD_TOO_LONG;
  return (int)added;
}

/* Inserts one typed code point. */
int editline_insert_cp(editline *e, uint32_t cp) {
  char enc[4];
  size_t l = utf8_encode(cp, enc);
  if (l == 0)
    return -PERR_BAD_UTF8;
  return editline_insert(e, enc, l);
}

/* Returns the offset after the character at off and its combining marks. */
static size_t editline_next(const editline *e, size_t off) {
  if (off >= e->len)
    return e->len;
  uint32_t cp;
  off += utf8_decode(e->buf + off, e->len - off, &cp);
  while (off < e->len) {
    size_t l = utf8_decode(e->buf + off, e->len - off, &cp);
    if (utf8_cpwidth(cp) != 0)
      break;
    off += l;
  }
  return off;
}

/* Returns the start of the character before off, marks included. */
static size_t editline_prev(const editline *e, size_t off) {
  while (off > 0) {
    off = utf8_prev(e->buf, off);
    uint32_t cp;
    utf8_decode(e->buf + off, e->len - off, &cp);
    if (utf8_cpwidth(cp) != 0)
      break;
  }
  return off;
}

/* True when the byte at off starts a word character (not a space). */
static bool editline_is_word(const editline *e, size_t off) {
  unsigned char c = (unsigned char)e->buf[off];
  return !(c == ' ' || c == '\t');
}

/* Cursor one character left. */
void editline_left(editline *e) {
  editline_touch(e);
  e->cur = editline_prev(e, e->cur);
}

/* Cursor one character right. */
void editline_right(editline *e) {
  editline_touch(e);
  e->cur = editline_next(e, e->cur);
}

/* Cursor to the start. */
void editline_home(editline *e) {
  editline_touch(e);
  e->cur = 0;
}

/* Cursor to the end. */
void editline_end(editline *e) {
  editline_touch(e);
  e->cur = e->len;
}

/* Returns the start of the word before off (emacs backward-word). */
static size_t editline_word_start(const editline *e, size_t off) {
  while (off > 0 && !editline_is_word(e, utf8_prev(e->buf, off)))
    off = utf8_prev(e->buf, off);
  while (off > 0 && editline_is_word(e, utf8_prev(e->buf, off)))
    off = utf8_prev(e->buf, off);
  return off;
}

/* Cursor to the start of this or the previous word. */
void editline_word_left(editline *e) {
  editline_touch(e);
  e->cur = editline_word_start(e, e->cur);
}

/* Cursor to the end of this or the next word. */
void editline_word_right(editline *e) {
  editline_touch(e);
  size_t off = e->cur;
  while (off < e->len && !editline_is_word(e, off))
    off = editline_next(e, off);
  while (off < e->len && editline_is_word(e, off))
    off = editline_next(e, off);
  e->cur = off;
}

/* Deletes the code point before the cursor (a combining mark first). */
void editline_backspace(editline *e) {
  editline_touch(e);
  if (e->cur == 0)
    return;
  editline_cut(e, utf8_prev(e->buf, e->cur), e->cur);
}

/* Deletes the character under the cursor with its marks. */
void editline_delete(editline *e) {
  editline_touch(e);
  if (e->cur >= e->len)
    return;
  size_t c = e->cur;
  editline_cut(e, c, editline_next(e, c));
}

/* Kills from the cursor to the end. */
void editline_kill_end(editline *e) {
  editline_touch(e);
  editline_keep(e, e->cur, e->len);
  size_t c = e->cur;
  editline_cut(e, c, e->len);
}

/* Kills from the start to the cursor. */
void editline_kill_start(editline *e) {
  editline_touch(e);
  editline_keep(e, 0, e->cur);
  editline_cut(e, 0, e->cur);
}

/* Kills the word before the cursor. */
void editline_kill_word(editline *e) {
  editline_touch(e);
  size_t a = editline_word_start(e, e->cur);
  editline_keep(e, a, e->cur);
  editline_cut(e, a, e->cur);
}

/* Inserts the last killed text. */
void editline_yank(editline *e) {
  if (e->yank)
    editline_insert(e, e->yank, strlen(e->yank));
}

/* Replaces the whole line (history browsing). */
static void editline_set(editline *e, const char *s) {
  editline_clear(e);
  editline_insert(e, s, strlen(s));
}

/* Shows the previous (older) history entry. */
void editline_hist_prev(editline *e) {
  editline_touch(e);
  if (e->hist_pos <= 0)
    return;
  if (e->hist_pos == e->hist_n) {
    free(e->hist_saved);
    e->hist_saved = strdup(e->buf);
  }
  e->hist_pos--;
  editline_set(e, e->hist[e->hist_pos]);
}

/* Shows the next (newer) entry, then the line being typed. */
void editline_hist_next(editline *e) {
  editline_touch(e);
  if (e->hist_pos >= e->hist_n)
    return;
  e->hist_pos++;
  if (e->hist_pos == e->hist_n) {
    editline_set(e, e->hist_saved ? e->hist_saved : "");
    free(e->hist_saved);
    e->hist_saved = NULL;
  } else {
    editline_set(e, e->hist[e->hist_pos]);
  }
}

/* Takes the line, records it in the bounded history and clears. */
char *editline_submit(editline *e) {
  char *line = strdup(e->buf);
  if (!line)
    return NULL;
  if (e->len > 0 &&
      (e->hist_n == 0 || strcmp(e->hist[e->hist_n - 1], line) != 0)) {
    char *h = strdup(line);
    if (h) {
      if (e->hist_n == EDITLINE_HISTORY) {
        free(e->hist[0]);
        memmove(e->hist, e->hist + 1,
                sizeof(e->hist[0]) * (size_t)(e->hist_n - 1));
        e->hist_n--;
      }
      e->hist[e->hist_n++] = h;
    }
  }
  e->hist_pos = e->hist_n;
  free(e->hist_saved);
  e->hist_saved = NULL;
  editline_clear(e);
  return line;
}

/* Cycles through the candidates that start with the word before the cursor. */
int editline_complete(editline *e, const char *const *cands, int n) {
  if (!e->compl_active) {
    size_t a = e->cur;
    while (a > 0 && editline_is_word(e, utf8_prev(e->buf, a)))
      a = utf8_prev(e->buf, a);
    size_t wl = e->cur - a;
    if (wl >= sizeof(e->compl_prefix))
      return 0;
    memcpy(e->compl_prefix, e->buf + a, wl);
    e->compl_prefix[wl] = '\0';
    e->compl_start = a;
    e->compl_index = 0;
  }
  size_t pl = strlen(e->compl_prefix);
  int matches = 0;
  for (int i = 0; i < n; i++)
    if (cands[i] && strncasecmp(cands[i], e->compl_prefix, pl) == 0)
      matches++;
  if (matches == 0)
    return 0;
  int want = e->compl_index % matches, k = 0;
  const char *pick = NULL;
  for (int i = 0; i < n && !pick; i++)
    if (cands[i] && strncasecmp(cands[i], e->compl_prefix, pl) == 0)
      if (k++ == want)
        pick = cands[i];
  const char *suffix =
      (e->compl_start == 0 && pick[0] != '/' && pick[0] != '#') ? ": " : " ";
  /* Replace [start, cur) with the pick and its suffix. */
  editline_cut(e, e->compl_start, e->cur);
  editline_insert(e, pick, strlen(pick));
  editline_insert(e, suffix, strlen(suffix));
  e->compl_active = true;
  e->compl_index = want + 1;
  return matches;
}

/* Picks the visible slice so the cursor stays inside with a margin. */
void editline_view(editline *e, int w, size_t *off, size_t *len,
                   int *cursor_col) {
  if (w < 1)
    w = 1;
  int margin = w / 4 < 5 ? w / 4 : 5;
  size_t ccol = (size_t)utf8_width(e->buf, e->cur);
  if (ccol < e->first_col + (size_t)margin)
    e->first_col = ccol > (size_t)margin ? ccol - (size_t)margin : 0;
  if (ccol + (size_t)margin >= e->first_col + (size_t)w)
    e->first_col = ccol + (size_t)margin + 1 - (size_t)w;
  if (ccol < (size_t)w - 1 - (size_t)margin)
    e->first_col = 0;
  /* Find the byte where the view starts; a wide character cut by the edge
   * is skipped whole. */
  size_t i = 0, col = 0;
  while (i < e->len && col < e->first_col) {
    uint32_t cp;
    size_t l = utf8_decode(e->buf + i, e->len - i, &cp);
    col += (size_t)utf8_cpwidth(cp);
    i += l;
  }
  if (i > e->cur)
    i = e->cur;
  int used = 0;
  *off = i;
  *len = utf8_fit(e->buf + i, e->len - i, w, &used);
  *cursor_col = utf8_width(e->buf + i, e->cur - i);
  if (*cursor_col >= w)
    *cursor_col = w - 1;
}
