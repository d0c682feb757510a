/* input.c: the input line. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "input.h"
#include "theme.h"
#include "utf8.h"

/* Skips one word and the blanks after it. */
static const char *input_skip_word(const char *p) {
  while (*p && *p != ' ')
    p++;
  while (*p == ' ')
    p++;
  return p;
}

/* The message text part of a line, as the server will count it. */
long input_message_chars(const char *line) {
  const char *t = line;
  if (line[0] == '/' && line[1] != '/') {
    if (strncasecmp(line, "/me ", 4) == 0)
      t = input_skip_word(line);
    else if (strncasecmp(line, "/msg ", 5) == 0 ||
             strncasecmp(line, "/query ", 7) == 0)
      t = input_skip_word(input_skip_word(line));
    else
      return -1;
  } else if (line[0] == '/') {
    t = line + 1; /* "//x" sends "/x" */
  }
  return (long)utf8_count(t, strlen(t));
}

/* "n/limit" once three quarters of the limit are used. */
bool input_counter(long chars, unsigned limit, char *buf, size_t cap) {
  buf[0] = '\0';
  if (limit == 0 || chars < 0 ||
      (unsigned long)chars * 4 < (unsigned long)limit * 3)
    return false;
  snprintf(buf, cap, "%ld/%u", chars, limit);
  return (unsigned long)chars > limit;
}

/* Sets up an empty view. */
void input_init(input *v) {
  memset(v, 0, sizeof(*v));
  v->dirty = true;
}

/* Replaces the window. */
void input_set_window(input *v, WINDOW *win, int w) {
  if (v->win)
    delwin(v->win);
  v->win = win;
  v->w = w;
  v->dirty = true;
}

/* Draws prompt, text slice and counter; leaves the cursor in place. */
void input_draw(input *v, editline *e, unsigned limit) {
  if (!v->win)
    return;
  if (v->dirty) {
    v->dirty = false;
    char cnt[32];
    bool over =
        input_counter(input_message_chars(e->buf), limit, cnt, sizeof(cnt));
    int cw = cnt[0] ? (int)strlen(cnt) + 1 : 0;
    const char *prompt = v->prompt ? v->prompt : INPUT_PROMPT;
    int pw = utf8_width(prompt, strlen(prompt));
    int tw = v->w - pw - cw;
    if (tw < 1)
      tw = 1;
    size_t off, len;
    int ccol;
    editline_view(e, tw, &off, &len, &ccol);
    werase(v->win);
    wattrset(v->win, A_BOLD);
    mvwaddnstr(v->win, 0, 0, prompt, v->w);
    wattrset(v->win, A_NORMAL);
    if (len) {
      /* The display form: the editor measures hidden characters as '?'
       * and joiners as nothing, so the cursor lands where it is drawn. */
      char buf[EDITLINE_MAX_BYTES + 1];
      size_t k = utf8_display(e->buf + off, len, buf, sizeof(buf), NULL);
      waddnstr(v->win, buf, (int)k);
    }
    if (cw) {
      wattrset(v->win, theme_attr(over ? THEME_OVER : THEME_COUNTER));
      mvwaddstr(v->win, 0, v->w - cw + 1, cnt);
      wattrset(v->win, A_NORMAL);
    }
    wmove(v->win, 0, pw + ccol);
  }
  wnoutrefresh(v->win);
}

/* Frees the window. */
void input_free(input *v) {
  if (v->win)
    delwin(v->win);
  v->win = NULL;
}
