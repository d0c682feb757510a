/* keymap.c: the key bindings as tables, and the terminfo look-ups for
 * modified keys that differ between terminals. */
#include <stddef.h>

#include <term.h>

#include "keymap.h"

#define KEYMAP_CTRL(c) ((c)&0x1f)

/* One binding: a key, with or without Alt, and what it does. */
typedef struct keymap_bind {
  bool alt;  /* after Escape */
  bool code; /* a curses KEY_* code, not a character */
  int key;
  keymap_action action;
} keymap_bind;

/* The fixed bindings; modified keys whose codes come from terminfo are in
 * keymap_lookup(). */
static const keymap_bind keymap_table[] = {
    /* Curses key codes. */
    {false, true, KEYMAP_PASTE_START, KEYMAP_PASTE_BEGIN},
    {false, true, KEYMAP_PASTE_END, KEYMAP_PASTE_FINISH},
    {false, true, KEY_ENTER, KEYMAP_SUBMIT},
    {false, true, KEY_BACKSPACE, KEYMAP_BACKSPACE},
    {false, true, KEY_DC, KEYMAP_DELETE},
    {false, true, KEY_LEFT, KEYMAP_LEFT},
    {false, true, KEY_RIGHT, KEYMAP_RIGHT},
    {false, true, KEY_HOME, KEYMAP_HOME_OR_TOP},
    {false, true, KEY_END, KEYMAP_END_OR_BOTTOM},
    {false, true, KEY_UP, KEYMAP_HIST_PREV},
    {false, true, KEY_DOWN, KEYMAP_HIST_NEXT},
    {false, true, KEY_PPAGE, KEYMAP_PAGE_UP},
    {false, true, KEY_NPAGE, KEYMAP_PAGE_DOWN},
    {false, true, KEY_F(11), KEYMAP_USERS_UP},
    {false, true, KEY_F(12), KEYMAP_USERS_DOWN},
    /* Characters. */
    {false, false, 27, KEYMAP_ALT},
    {false, false, '\r', KEYMAP_SUBMIT},
    {false, false, '\n', KEYMAP_SUBMIT},
    {false, false, '\t', KEYMAP_COMPLETE},
    {false, false, KEYMAP_CTRL('A'), KEYMAP_HOME},
    {false, false, KEYMAP_CTRL('B'), KEYMAP_LEFT},
    {false, false, KEYMAP_CTRL('D'), KEYMAP_DELETE},
    {false, false, KEYMAP_CTRL('E'), KEYMAP_END},
    {false, false, KEYMAP_CTRL('F'), KEYMAP_RIGHT},
    {false, false, KEYMAP_CTRL('H'), KEYMAP_BACKSPACE},
    {false, false, 127, KEYMAP_BACKSPACE},
    {false, false, KEYMAP_CTRL('K'), KEYMAP_KILL_END},
    {false, false, KEYMAP_CTRL('L'), KEYMAP_REPAINT},
    {false, false, KEYMAP_CTRL('N'), KEYMAP_WINDOW_NEXT},
    {false, false, KEYMAP_CTRL('P'), KEYMAP_WINDOW_PREV},
    {false, false, KEYMAP_CTRL('R'), KEYMAP_SEARCH},
    {false, false, KEYMAP_CTRL('U'), KEYMAP_KILL_START},
    {false, false, KEYMAP_CTRL('W'), KEYMAP_KILL_WORD},
    {false, false, KEYMAP_CTRL('Y'), KEYMAP_YANK},
    /* Alt and a character (Alt-0..9 are in keymap_lookup()). */
    {true, false, 'b', KEYMAP_WORD_LEFT},
    {true, false, 'B', KEYMAP_WORD_LEFT},
    {true, false, 'f', KEYMAP_WORD_RIGHT},
    {true, false, 'F', KEYMAP_WORD_RIGHT},
    {true, false, 127, KEYMAP_KILL_WORD},
    {true, false, 8, KEYMAP_KILL_WORD},
    {true, false, 'a', KEYMAP_NEXT_ACTIVE},
    {true, false, 'A', KEYMAP_NEXT_ACTIVE},
    {true, false, '<', KEYMAP_SCROLL_TOP},
    {true, false, '>', KEYMAP_SCROLL_LIVE},
    /* Alt and a curses key code (terminals that send ESC first). */
    /* Alt-Backspace where kbs is ^? (tmux, xterm): curses turns the DEL
     * after the Escape into KEY_BACKSPACE. */
    {true, true, KEY_BACKSPACE, KEYMAP_KILL_WORD},
    {true, true, KEY_LEFT, KEYMAP_PANE_WIDER},
    {true, true, KEY_RIGHT, KEYMAP_PANE_NARROWER},
    {true, true, KEY_UP, KEYMAP_USERS_UP},
    {true, true, KEY_PPAGE, KEYMAP_USERS_UP},
    {true, true, KEY_DOWN, KEYMAP_USERS_DOWN},
    {true, true, KEY_NPAGE, KEYMAP_USERS_DOWN},
    {true, true, KEY_HOME, KEYMAP_SCROLL_TOP},
    {true, true, KEY_END, KEYMAP_SCROLL_LIVE},
};

/* The code curses gives a terminfo key capability, or 0. */
static int keymap_code(const char *cap) {
  char *s = tigetstr((char *)cap);
  if (!s || s == (char *)-1)
    return 0;
  int k = key_defined(s);
  return k > 0 ? k : 0;
}

/* A modified key from terminfo, else its xterm form bound to code: tmux,
 * screen and most emulators send ESC [ 1 ; 3 D even when the terminfo
 * entry (screen, screen-256color, linux) does not name the key. */
static int keymap_xterm(const char *cap, const char *seq, int code) {
  int k = keymap_code(cap);
  if (k)
    return k;
  return define_key(seq, code) == OK ? code : 0;
}

/* Home and End as other terminals send them, bound where this terminal's
 * entry names none of these: tmux sends ESC [ 1 ~ and ESC [ 4 ~ whatever
 * TERM says, so with TERM=xterm-256color inside tmux (ESC O H in terminfo)
 * the keys were an Escape and "1~" typed into the input line. */
static void keymap_home_end(void) {
  static const char *const home[] = {"\033[1~", "\033[7~", "\033[H",
                                     "\033OH"};
  static const char *const end[] = {"\033[4~", "\033[8~", "\033[F",
                                    "\033OF"};
  for (size_t i = 0; i < sizeof(home) / sizeof(home[0]); i++) {
    if (key_defined(home[i]) == 0)
      (void)define_key(home[i], KEY_HOME);
    if (key_defined(end[i]) == 0)
      (void)define_key(end[i], KEY_END);
  }
}

/* Binds the paste markers, then finds the modified keys. */
void keymap_init(keymap *km, bool paste) {
  if (paste) {
    define_key("\033[200~", KEYMAP_PASTE_START);
    define_key("\033[201~", KEYMAP_PASTE_END);
  }
  keymap_home_end();
  km->alt_left = keymap_xterm("kLFT3", "\033[1;3D", KEY_MAX + 110);
  km->alt_right = keymap_xterm("kRIT3", "\033[1;3C", KEY_MAX + 111);
  km->alt_up = keymap_xterm("kUP3", "\033[1;3A", KEY_MAX + 112);
  km->alt_down = keymap_xterm("kDN3", "\033[1;3B", KEY_MAX + 113);
  km->ctrl_home = keymap_xterm("kHOM5", "\033[1;5H", KEY_MAX + 114);
  km->ctrl_end = keymap_xterm("kEND5", "\033[1;5F", KEY_MAX + 115);
  km->alt_home = keymap_xterm("kHOM3", "\033[1;3H", KEY_MAX + 116);
  km->alt_end = keymap_xterm("kEND3", "\033[1;3F", KEY_MAX + 117);
  km->alt_pgup = keymap_xterm("kPRV3", "\033[5;3~", KEY_MAX + 118);
  km->alt_pgdn = keymap_xterm("kNXT3", "\033[6;3~", KEY_MAX + 119);
}

/* Modified keys first (their codes are this terminal's), then the table;
 * an unbound character without Alt is text. */
keymap_action keymap_lookup(const keymap *km, int r, wint_t ch, bool alt,
                            int *arg) {
  bool code = r == KEY_CODE_YES;
  int k = (int)ch;
  *arg = 0;
  if (code && !alt && k) {
    if (k == km->alt_left)
      return KEYMAP_PANE_WIDER;
    if (k == km->alt_right)
      return KEYMAP_PANE_NARROWER;
    if (k == km->alt_up || k == km->alt_pgup)
      return KEYMAP_USERS_UP;
    if (k == km->alt_down || k == km->alt_pgdn)
      return KEYMAP_USERS_DOWN;
    if (k == km->ctrl_home || k == km->alt_home)
      return KEYMAP_SCROLL_TOP;
    if (k == km->ctrl_end || k == km->alt_end)
      return KEYMAP_SCROLL_LIVE;
  }
  if (alt && !code && ch >= '0' && ch <= '9') {
    *arg = k - '0';
    return KEYMAP_WINDOW;
  }
  for (size_t i = 0; i < sizeof(keymap_table) / sizeof(keymap_table[0]); i++) {
    const keymap_bind *b = &keymap_table[i];
    if (b->alt == alt && b->code == code && b->key == k)
      return b->action;
  }
  if (!alt && !code && ch >= 32 && ch != 127)
    return KEYMAP_INSERT;
  return KEYMAP_NONE;
}

/* States of a pasted escape sequence: after ESC, inside a CSI (ESC [ ...
 * final byte), or inside a string (OSC, DCS, APC, PM) ended by BEL or
 * ESC \. */
enum { KEYMAP_ESC_NONE, KEYMAP_ESC_START, KEYMAP_ESC_CSI, KEYMAP_ESC_STR };

/* Text, never a key: Ctrl-A in a paste moved the cursor and Ctrl-U erased
 * what was pasted before it, so the line sent was not the text pasted. */
long keymap_paste_char(keymap_paste *p, int r, wint_t ch) {
  bool cr = p->cr;
  p->cr = false;
  if (r == KEY_CODE_YES) {
    if ((int)ch == KEYMAP_PASTE_END) {
      *p = (keymap_paste){0};
      return -1;
    }
    return 0; /* e.g. ESC [ D pasted: curses made it KEY_LEFT */
  }
  switch (p->esc) {
  case KEYMAP_ESC_START:
    if (ch == '[')
      p->esc = KEYMAP_ESC_CSI;
    else if (ch == ']' || ch == 'P' || ch == '_' || ch == '^')
      p->esc = KEYMAP_ESC_STR;
    else if (ch != 27)
      p->esc = KEYMAP_ESC_NONE; /* a two-byte sequence */
    return 0;
  case KEYMAP_ESC_CSI:
    if (ch >= 0x20 && ch <= 0x3F)
      return 0; /* parameters and intermediates */
    p->esc = KEYMAP_ESC_NONE;
    if (ch >= 0x40 && ch <= 0x7E)
      return 0; /* the final byte */
    break;      /* a broken sequence: the character is itself */
  case KEYMAP_ESC_STR:
    if (ch == 7)
      p->esc = KEYMAP_ESC_NONE;
    else if (ch == 27)
      p->esc = KEYMAP_ESC_START; /* ESC \ ends it */
    return 0;
  default:
    break;
  }
  if (ch == 27) {
    p->esc = KEYMAP_ESC_START;
    return 0;
  }
  if (ch == '\r') {
    p->cr = true;
    return ' ';
  }
  if (ch == '\n')
    return cr ? 0 : ' ';
  if (ch == '\t')
    return ' ';
  if (ch < 0x20 || ch == 0x7F || (ch >= 0x80 && ch < 0xA0))
    return 0;
  return (long)ch;
}
