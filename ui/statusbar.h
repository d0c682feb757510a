/* statusbar.h: the title bar (top) and the status bar (above the input).
 *
 * Status bar text, left to right:
 *   [user@host] STATE | 0:server 1:#lobby 2:bob(3) 3:#dev(1!)      lag 12ms
 * STATE is the core's connection text ("connected", "reconnecting in 4s",
 * "disconnected: ..."). Each window is "N:name"; "(n)" counts unread
 * messages, "(n!)" when one mentions us. The current window is drawn in
 * its own colour. The title bar shows the current window and its topic, or
 * a one-off notice from the UI. */
#ifndef PARLEY_UI_STATUSBAR_H
#define PARLEY_UI_STATUSBAR_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>

#include "client.h"
#include "theme.h"

#define STATUSBAR_MAX_SEGS 300

/* A run of status bar text with one role. */
typedef struct statusbar_seg {
  char text[CLIENT_ROOM_SZ + 32];
  enum theme_role role;
} statusbar_seg;

/* Builds the left part of the status bar into segs (at most max); returns
 * the count. state is the connection text. Pure. */
int statusbar_build(const client_model *m, const char *state,
                    statusbar_seg *segs, int max);

/* Formats the lag part ("lag 12ms", "lag 1.4s", "" when unknown). Pure. */
void statusbar_lag(int64_t lag_ms, char *buf, size_t cap);

/* Formats the title of the current window into buf. Pure. */
void statusbar_title_text(const client_model *m, char *buf, size_t cap);

typedef struct statusbar {
  WINDOW *status;
  WINDOW *title;
  int w;
  bool dirty, title_dirty;
  char notice[256]; /* one-off UI message shown in the title bar */
} statusbar;

/* Sets up an empty view. */
void statusbar_init(statusbar *v);

/* Gives the bars their windows (one row each, w columns). */
void statusbar_set_windows(statusbar *v, WINDOW *title, WINDOW *status, int w);

/* Shows a one-off notice in the title bar until statusbar_notice(v, NULL). */
void statusbar_notice(statusbar *v, const char *text);

/* Draws what is dirty. */
void statusbar_draw(statusbar *v, const client *c);

/* Frees the windows. */
void statusbar_free(statusbar *v);

#endif
