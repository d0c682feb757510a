/* editline.h: the input line's editing model (no curses).
 *
 * A bounded UTF-8 buffer with a cursor on code point boundaries, emacs-style
 * editing, a bounded history and Tab completion from a candidate list the
 * caller provides. The view asks editline_view() which slice to show, so a
 * line longer than the screen scrolls horizontally around the cursor. */
#ifndef PARLEY_UI_EDITLINE_H
#define PARLEY_UI_EDITLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDITLINE_MAX_BYTES 16384 /* buffer bound (>= 4000 chars of text) */
#define EDITLINE_MAX_CHARS 4000  /* code points; the wire's hard cap */
#define EDITLINE_HISTORY 100     /* remembered lines */

typedef struct editline {
  char buf[EDITLINE_MAX_BYTES + 1]; /* always NUL-terminated */
  size_t len;                       /* bytes used */
  size_t chars;                     /* code points used */
  size_t cur;                       /* cursor, a byte offset */
  size_t first_col;                 /* horizontal scroll of the view */
  char *hist[EDITLINE_HISTORY];     /* oldest first */
  int hist_n;                       /* entries in hist */
  int hist_pos;                     /* browsing index; hist_n = not browsing */
  char *hist_saved;                 /* the line being typed before browsing */
  char *yank;                       /* last killed text, for Ctrl-Y */
  /* Tab completion state, valid while compl_active. */
  bool compl_active;
  size_t compl_start; /* byte offset where the completed word starts */
  char compl_prefix[128];
  int compl_index;
} editline;

/* Prepares an empty editor. */
void editline_init(editline *e);

/* Frees history and yank memory; the editor may be reused after init. */
void editline_free(editline *e);

/* Empties the line (history stays). */
void editline_clear(editline *e);

/* Inserts UTF-8 text at the cursor, dropping control characters; stops at
 * the bounds. Returns the bytes inserted, or -PERR_FIELD_TOO_LONG when
 * nothing fitted. */
int editline_insert(editline *e, const char *s, size_t n);

/* Inserts one code point (a key press). Same results as editline_insert. */
int editline_insert_cp(editline *e, uint32_t cp);

/* Cursor motion. Moving right steps over combining marks too. */
void editline_left(editline *e);
void editline_right(editline *e);
void editline_home(editline *e);       /* Home, Ctrl-A */
void editline_end(editline *e);        /* End, Ctrl-E */
void editline_word_left(editline *e);  /* Alt-B */
void editline_word_right(editline *e); /* Alt-F */

/* Deletion; the kill commands keep the text for editline_yank. */
void editline_backspace(editline *e);  /* one code point before */
void editline_delete(editline *e);     /* character under, with marks */
void editline_kill_end(editline *e);   /* Ctrl-K */
void editline_kill_start(editline *e); /* Ctrl-U */
void editline_kill_word(editline *e);  /* Ctrl-W */
void editline_yank(editline *e);       /* Ctrl-Y */

/* History: Up shows older lines, Down newer and finally the line that was
 * being typed. editline_submit() returns the line (caller frees), records
 * it in the history unless empty or equal to the newest entry, and clears.
 * Returns NULL when out of memory. */
void editline_hist_prev(editline *e);
void editline_hist_next(editline *e);
char *editline_submit(editline *e);

/* Tab completion. The word before the cursor is matched case-insensitively
 * against cands (in their order); each call moves to the next match. A
 * nick completed at the start of the line gets ": ", anything else " ".
 * Returns the number of matches (0: nothing changed). Any other edit ends
 * the cycle. */
int editline_complete(editline *e, const char *const *cands, int n);

/* Which part of the line a view w columns wide shows: *off and *len give the
 * byte slice and *cursor_col the cursor's column in it. Keeps a margin so the
 * cursor is never at the very edge while text continues. */
void editline_view(editline *e, int w, size_t *off, size_t *len,
                   int *cursor_col);

#endif
