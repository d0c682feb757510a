/* theme.h: colours and attributes for every role on the screen.
 *
 * The one place that knows about colour pairs. Honours NO_COLOR (no colour
 * at all, attributes only), works with 8 and 256 colours and keeps the
 * terminal's own background (use_default_colors). Call theme_init() after
 * initscr(). */
#ifndef PARLEY_UI_THEME_H
#define PARLEY_UI_THEME_H

#include <stdbool.h>
#include <stdint.h>

#include <curses.h>

enum theme_role {
  THEME_NORMAL = 0,
  THEME_TIME,   /* timestamps */
  THEME_NOTICE, /* join/part/server notices (dimmed) */
  THEME_ERROR,
  THEME_INFO,      /* local command output */
  THEME_HIGHLIGHT, /* a line that mentions us */
  THEME_SELF,      /* our own nick */
  THEME_BAR,       /* title and status bars */
  THEME_BAR_HOT,   /* status bar: windows with a highlight */
  THEME_BAR_ACT,   /* status bar: windows with unread lines */
  THEME_BAR_CUR,   /* status bar: the current window */
  THEME_ONLINE,    /* users pane marks */
  THEME_AWAY,
  THEME_BUSY,
  THEME_SEP,      /* pane separators, backlog separator */
  THEME_MARKER,   /* "more below" */
  THEME_COUNTER,  /* input character counter near the limit */
  THEME_OVER,     /* input counter past the limit */
  THEME_BAR_FILL, /* progress bar filled part */
  THEME_ROLES
};

/* Sets up colour pairs (or none, under NO_COLOR or a monochrome
 * terminal). */
void theme_init(void);

/* True when colours are in use. */
bool theme_has_color(void);

/* Attributes (with colour pair) for a role. */
attr_t theme_attr(enum theme_role role);

/* Attributes for a nick: a colour picked by a stable hash of the name
 * (case-insensitive), bold for our own nick. */
attr_t theme_nick_attr(const char *nick, bool self);

/* Line-drawing strings: "│" and "─" under UTF-8, "|" and "-" otherwise. */
const char *theme_vline(void);
const char *theme_hline(void);

/* Marks cut text: "…" under UTF-8, "~" otherwise (one column). */
const char *theme_ellipsis(void);

/* The stable hash behind theme_nick_attr (FNV-1a over lowercase bytes);
 * exposed for tests. */
uint32_t theme_nick_hash(const char *nick);

#endif
