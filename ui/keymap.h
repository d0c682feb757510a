/* keymap.h: which key does what, as a table. The TUI asks keymap_lookup()
 * for the action of each key read and carries it out; a new binding is one
 * table row. */
#ifndef PARLEY_UI_KEYMAP_H
#define PARLEY_UI_KEYMAP_H

#include <stdbool.h>
#include <wchar.h>

#include <curses.h>

/* Codes for the bracketed-paste markers (defined when paste mode is on). */
#define KEYMAP_PASTE_START (KEY_MAX + 101)
#define KEYMAP_PASTE_END (KEY_MAX + 102)

typedef enum keymap_action {
  KEYMAP_NONE = 0,      /* unbound: ignored */
  KEYMAP_INSERT,        /* a printable character: type it */
  KEYMAP_ALT,           /* Escape: the next key comes with Alt */
  KEYMAP_PASTE_BEGIN,   /* bracketed paste starts */
  KEYMAP_PASTE_FINISH,  /* bracketed paste ends */
  KEYMAP_SUBMIT,        /* send the line or run the command */
  KEYMAP_COMPLETE,      /* complete a nick, room or command */
  KEYMAP_LEFT,          /* cursor one character left */
  KEYMAP_RIGHT,         /* cursor one character right */
  KEYMAP_WORD_LEFT,     /* cursor one word left */
  KEYMAP_WORD_RIGHT,    /* cursor one word right */
  KEYMAP_HOME,          /* cursor to the start of the line */
  KEYMAP_END,           /* cursor to the end of the line */
  KEYMAP_HOME_OR_TOP,   /* start of the line; empty line: scrollback top */
  KEYMAP_END_OR_BOTTOM, /* end of the line; empty line: back to live */
  KEYMAP_BACKSPACE,     /* delete the character before the cursor */
  KEYMAP_DELETE,        /* delete the character under the cursor */
  KEYMAP_KILL_WORD,     /* delete the word before the cursor */
  KEYMAP_KILL_START,    /* delete to the start of the line */
  KEYMAP_KILL_END,      /* delete to the end of the line */
  KEYMAP_YANK,          /* insert the last deleted text */
  KEYMAP_HIST_PREV,     /* previous line from the history */
  KEYMAP_HIST_NEXT,     /* next line from the history */
  KEYMAP_PAGE_UP,       /* chat one page back */
  KEYMAP_PAGE_DOWN,     /* chat one page forward */
  KEYMAP_SCROLL_TOP,    /* chat to the oldest line kept */
  KEYMAP_SCROLL_LIVE,   /* chat back to the newest line */
  KEYMAP_USERS_UP,      /* users pane one page up */
  KEYMAP_USERS_DOWN,    /* users pane one page down */
  KEYMAP_PANE_WIDER,    /* users pane wider */
  KEYMAP_PANE_NARROWER, /* users pane narrower (hidden below its minimum) */
  KEYMAP_WINDOW,        /* go to window number arg */
  KEYMAP_WINDOW_NEXT,   /* next window, wrapping */
  KEYMAP_WINDOW_PREV,   /* previous window, wrapping */
  KEYMAP_REPAINT,       /* repaint the whole screen */
  KEYMAP_NEXT_ACTIVE,   /* next window with activity, highlights first */
  KEYMAP_SEARCH,        /* incremental search back (again: older match) */
} keymap_action;

/* Codes of modified keys as this terminal sends them, 0 when unknown; set
 * by keymap_init(). */
typedef struct keymap {
  int alt_left, alt_right, alt_up, alt_down, ctrl_home, ctrl_end, alt_home,
      alt_end, alt_pgup, alt_pgdn;
} keymap;

/* Where a bracketed paste is: the pasted text may hold escape sequences
 * and control characters, which are dropped rather than read as keys. */
typedef struct keymap_paste {
  int esc; /* inside a pasted escape sequence (KEYMAP_ESC_* in keymap.c) */
  bool cr; /* the last character was a CR: CR LF is one line break */
} keymap_paste;

/* Looks up the modified keys in terminfo, or binds their xterm forms, and
 * the paste markers when paste is true. Needs curses started. */
void keymap_init(keymap *km, bool paste);

/* The action of one key from wget_wch (r is OK or KEY_CODE_YES); alt when
 * it followed an Escape. *arg gets the window number of KEYMAP_WINDOW. */
keymap_action keymap_lookup(const keymap *km, int r, wint_t ch, bool alt,
                            int *arg);

/* One key from wget_wch (r is OK or KEY_CODE_YES) inside a bracketed
 * paste: returns the code point to insert (a line break or tab gives ' '),
 * 0 to drop it (control characters, escape sequences and any key curses
 * decoded from one), or -1 for the end marker (p is reset). Pure. */
long keymap_paste_char(keymap_paste *p, int r, wint_t ch);

#endif
