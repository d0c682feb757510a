/* input.h: the input line (prompt, the editor's visible slice, and a
 * character counter that appears as the server's limit nears). */
#ifndef PARLEY_UI_INPUT_H
#define PARLEY_UI_INPUT_H

#include <stdbool.h>

#include <curses.h>

#include "editline.h"

#define INPUT_PROMPT "> "

typedef struct input {
  WINDOW *win;
  int w;
  bool dirty;
  const char *prompt; /* NULL: INPUT_PROMPT; else e.g. the search prompt */
} input;

/* Characters of message text the line would send: the whole line for text,
 * the text of /me, /msg USER and /query USER, and -1 for other commands
 * (no counter). Pure. */
long input_message_chars(const char *line);

/* Formats the counter ("231/280") into buf, or "" when the text is short of
 * three quarters of the limit. Returns true when over the limit. Pure. */
bool input_counter(long chars, unsigned limit, char *buf, size_t cap);

/* Sets up an empty view. */
void input_init(input *v);

/* Gives the view its one-row window. */
void input_set_window(input *v, WINDOW *win, int w);

/* Draws the line and places the cursor; always refreshes its window last
 * so the terminal cursor ends on the input line. limit is the server's
 * max_msg_chars (0: unknown). */
void input_draw(input *v, editline *e, unsigned limit);

/* Frees the window. */
void input_free(input *v);

#endif
