/* userlist.h: the users pane (everyone online, with status marks).
 *
 * Entry format (one row each, cut to the pane width):
 *   M@name (me) >peer [3]
 * M is the status mark: '+' online, '~' away, '!' busy. '@' marks an
 * operator (else a space). "(me)" marks our own entry, ">peer" whom the
 * user has a direct conversation open with, "[3]" unread direct messages
 * from that user. Order: ourselves first, then online, busy, away; by name
 * within each group. The header row reads "Users N". */
#ifndef PARLEY_UI_USERLIST_H
#define PARLEY_UI_USERLIST_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>

#include "client.h"

#define USERLIST_MARK_ONLINE '+'
#define USERLIST_MARK_AWAY '~'
#define USERLIST_MARK_BUSY '!'
#define USERLIST_MAX_SORT 100000 /* as CLIENT_MAX_USERS */

typedef struct userlist {
  WINDOW *win;
  int h, w;
  bool dirty;
  int top;       /* first entry shown (scrolling) */
  size_t *order; /* sorted indexes into the model's users */
  size_t order_cap;
  bool room_mode; /* /pane room: only the current room's members */
} userlist;

/* Status mark character for enum proto_status. Pure. */
char userlist_mark(uint8_t status);

/* Sorts users[0..n) into idx (ourselves, online, busy, away; then by
 * name, case-insensitively). Pure. */
void userlist_sort(const client_user *users, size_t n, size_t *idx);

/* Formats one entry (no mark colouring) into buf, cut to cols columns.
 * Returns buf. Pure. */
const char *userlist_format(const client_user *u, unsigned unread, int cols,
                            char *buf, size_t cap);

/* Sets up an empty view. */
void userlist_init(userlist *v);

/* Gives the view its curses window (NULL: pane hidden). */
void userlist_set_window(userlist *v, WINDOW *win, int h, int w);

/* Scrolls the list by rows (clamped at draw). */
void userlist_scroll(userlist *v, int rows);

/* Draws the pane when dirty. */
void userlist_draw(userlist *v, const client *c);

/* Frees the window and the order array. */
void userlist_free(userlist *v);

#endif
