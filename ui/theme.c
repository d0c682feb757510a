/* theme.c: colours and attributes for every role on the screen. */
#include <ctype.h>
#include <langinfo.h>
#include <stdlib.h>
#include <strings.h>

#include "theme.h"

static bool theme_color; /* colours in use */
static attr_t theme_roles[THEME_ROLES];
static int theme_nick_pairs; /* number of nick colour pairs */
static short theme_bg = -1;  /* -1: the terminal's own background */
#define THEME_NICK_PAIR0 32  /* first pair used for nicks */

/* Nick colours: readable on dark and light backgrounds. */
static const short theme_nick8[] = {COLOR_RED,  COLOR_GREEN,   COLOR_YELLOW,
                                    COLOR_BLUE, COLOR_MAGENTA, COLOR_CYAN};
static const short theme_nick256[] = {1,  2,   3,   4,   5,   6,  9,
                                      10, 12,  13,  14,  33,  37, 64,
                                      93, 130, 166, 172, 178, 198};

/* Defines pair n as fg on the default background and returns its attr. */
static attr_t theme_pair(short n, short fg, short bg) {
  init_pair(n, fg, bg);
  return COLOR_PAIR(n);
}

/* Chooses attributes: colour when allowed, plain attributes otherwise. */
void theme_init(void) {
  const char *nc = getenv("NO_COLOR");
  theme_color = !(nc && nc[0]) && has_colors();
  if (theme_color) {
    start_color();
    theme_bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
    if (COLORS < 8 || COLOR_PAIRS < THEME_NICK_PAIR0 + 8)
      theme_color = false;
  }
  for (int i = 0; i < THEME_ROLES; i++)
    theme_roles[i] = A_NORMAL;
  if (!theme_color) {
    theme_roles[THEME_TIME] = A_DIM;
    theme_roles[THEME_NOTICE] = A_DIM;
    theme_roles[THEME_ERROR] = A_BOLD;
    theme_roles[THEME_HIGHLIGHT] = A_BOLD | A_UNDERLINE;
    theme_roles[THEME_SELF] = A_BOLD;
    theme_roles[THEME_BAR] = A_REVERSE;
    theme_roles[THEME_BAR_HOT] = A_REVERSE | A_BOLD | A_UNDERLINE;
    theme_roles[THEME_BAR_ACT] = A_REVERSE | A_BOLD;
    theme_roles[THEME_BAR_CUR] = A_NORMAL | A_BOLD;
    theme_roles[THEME_ONLINE] = A_BOLD;
    theme_roles[THEME_MARKER] = A_REVERSE;
    theme_roles[THEME_COUNTER] = A_BOLD;
    theme_roles[THEME_OVER] = A_REVERSE | A_BOLD;
    theme_roles[THEME_BAR_FILL] = A_REVERSE;
    theme_nick_pairs = 0;
    return;
  }
  bool many = COLORS >= 256 && COLOR_PAIRS >= THEME_NICK_PAIR0 + 20;
  short barbg = COLOR_BLUE, barfg = COLOR_WHITE;
  theme_roles[THEME_TIME] = A_DIM;
  theme_roles[THEME_NOTICE] = theme_pair(1, many ? 244 : COLOR_CYAN, theme_bg) |
                              (many ? A_NORMAL : A_DIM);
  theme_roles[THEME_ERROR] = theme_pair(2, COLOR_RED, theme_bg) | A_BOLD;
  theme_roles[THEME_INFO] = theme_pair(3, COLOR_CYAN, theme_bg);
  theme_roles[THEME_HIGHLIGHT] = theme_pair(4, COLOR_YELLOW, theme_bg) | A_BOLD;
  theme_roles[THEME_SELF] = A_BOLD;
  theme_roles[THEME_BAR] = theme_pair(5, barfg, barbg);
  theme_roles[THEME_BAR_HOT] = theme_pair(6, COLOR_YELLOW, barbg) | A_BOLD;
  theme_roles[THEME_BAR_ACT] = theme_pair(7, COLOR_WHITE, barbg) | A_BOLD;
  theme_roles[THEME_BAR_CUR] = theme_pair(8, COLOR_BLACK, COLOR_CYAN);
  theme_roles[THEME_ONLINE] = theme_pair(9, COLOR_GREEN, theme_bg) | A_BOLD;
  theme_roles[THEME_AWAY] = theme_pair(10, COLOR_YELLOW, theme_bg);
  theme_roles[THEME_BUSY] = theme_pair(11, COLOR_RED, theme_bg);
  theme_roles[THEME_SEP] = theme_pair(12, COLOR_BLUE, theme_bg);
  theme_roles[THEME_MARKER] = theme_pair(13, COLOR_BLACK, COLOR_YELLOW);
  theme_roles[THEME_COUNTER] = theme_pair(14, COLOR_YELLOW, theme_bg);
  theme_roles[THEME_OVER] = theme_pair(15, COLOR_WHITE, COLOR_RED) | A_BOLD;
  theme_roles[THEME_BAR_FILL] = theme_pair(16, COLOR_BLACK, COLOR_GREEN);
  const short *pal = many ? theme_nick256 : theme_nick8;
  theme_nick_pairs = many ? (int)(sizeof(theme_nick256) / sizeof(short))
                          : (int)(sizeof(theme_nick8) / sizeof(short));
  for (int i = 0; i < theme_nick_pairs; i++)
    init_pair((short)(THEME_NICK_PAIR0 + i), pal[i], theme_bg);
}

/* True when colours are in use. */
bool theme_has_color(void) {
  return theme_color;
}

/* Attributes for a role. */
attr_t theme_attr(enum theme_role role) {
  if (role < 0 || role >= THEME_ROLES)
    return A_NORMAL;
  return theme_roles[role];
}

/* FNV-1a over the lowercased name. */
uint32_t theme_nick_hash(const char *nick) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)nick; *p; p++) {
    h ^= (uint32_t)tolower(*p);
    h *= 16777619u;
  }
  return h;
}

/* A stable colour per nick. */
attr_t theme_nick_attr(const char *nick, bool self) {
  if (self)
    return theme_roles[THEME_SELF];
  if (!theme_color || theme_nick_pairs == 0)
    return A_NORMAL;
  return COLOR_PAIR(THEME_NICK_PAIR0 +
                    (int)(theme_nick_hash(nick) % (uint32_t)theme_nick_pairs));
}

/* True when the locale encodes UTF-8 (box characters are safe). */
static bool theme_utf8(void) {
  const char *cs = nl_langinfo(CODESET);
  return cs && strcasecmp(cs, "UTF-8") == 0;
}

/* Vertical separator. */
const char *theme_vline(void) {
  return theme_utf8() ? "\xe2\x94\x82" : "|";
}

/* Horizontal separator. */
const char *theme_hline(void) {
  return theme_utf8() ? "\xe2\x94\x80" : "-";
}

/* Cut-text marker. */
const char *theme_ellipsis(void) {
  return theme_utf8() ? "\xe2\x80\xa6" : "~";
}
