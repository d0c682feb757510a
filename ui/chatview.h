/* chatview.h: the chat pane, showing the current window's lines.
 *
 * Reads the core's window ring; keeps only drawing state. New lines at the
 * bottom are appended with wscrl() so that ncurses scrolls the terminal
 * instead of repainting the pane; the pane fills from the top until full.
 * Scrolled up, the view stays put and a "more below" marker shows. */
#ifndef PARLEY_UI_CHATVIEW_H
#define PARLEY_UI_CHATVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curses.h>

#include "client.h"

#define CHATVIEW_SEPARATOR "--- live ---" /* after the backlog */
#define CHATVIEW_MORE "-- more below --"
#define CHATVIEW_READ "-- read up to here --" /* the read marker */
#define CHATVIEW_MAX_MARKS 256  /* windows with a read marker kept */
#define CHATVIEW_MAX_HIDDEN 256 /* lines hidden (oldest forgotten first) */

/* Which part of a line a prefix segment is. */
typedef struct chatview_prefix {
  char text[96];   /* "12:34 <alice> " */
  size_t time_len; /* bytes of "12:34 " */
  size_t nick_off; /* the nick inside text, or 0/0 */
  size_t nick_len;
  int cols; /* display width of text */
} chatview_prefix;

typedef struct chatview {
  WINDOW *win;
  int h, w;
  bool dirty;                 /* something must be drawn */
  bool full;                  /* everything must be drawn (else: append only) */
  const client_window *shown; /* window drawn last, NULL after a reset */
  uint64_t drawn_total;       /* shown->total when last drawn */
  uint64_t drawn_rewritten;   /* shown->rewritten when last drawn: a line
                                 inserted above others needs a full draw */
  int filled;                 /* rows used from the top, while not full */
  int scroll;                 /* rows scrolled up from the bottom */
  uint64_t unseen;            /* lines that arrived while scrolled up */
  char self[CLIENT_NAME_SZ];  /* our nick, for the own-nick attribute */
  uint64_t search_abs;        /* absolute index of the search hit + 1 */
  char search[128];           /* text searched for, "" when none */
  int scrolled;      /* rows the last draw scrolled the pane up at the live end
                      * (appending), 0 otherwise; the terminal may be scrolled
                      * to match before doupdate */
  long today;        /* chatview_day() of now at the last draw */
  uint64_t mark_abs; /* shown window: read marker after absolute line
                        mark_abs - 1, 0 when none is drawn */
  struct {
    const client_window *w;
    uint64_t abs; /* lines read when w was left (its total then) */
  } marks[CHATVIEW_MAX_MARKS];
  size_t nmarks;
  struct {
    const client_window *w;
    uint64_t abs; /* absolute index of a line not drawn */
  } hidden[CHATVIEW_MAX_HIDDEN];
  size_t nhidden;
} chatview;

/* Hides line abs (absolute index: w->total - 1 for the newest) of w: it
 * takes no rows (a "joined" notice for someone who only came back after
 * an outage). Bounded: past CHATVIEW_MAX_HIDDEN the oldest shows again. */
void chatview_hide(chatview *v, const client_window *w, uint64_t abs);

/* The local calendar day of a unix-milliseconds time, as a number that
 * differs between days. */
long chatview_day(uint64_t ts_ms);

/* Writes "-- Thursday 26 November 2026 --" for the day of ts_ms. */
void chatview_format_day(uint64_t ts_ms, char *buf, size_t cap);

/* Formats the prefix (time, marker, nick) of line l. Pure. */
void chatview_format_prefix(const client_line *l, chatview_prefix *p);

/* Sets up an empty view (no window yet). */
void chatview_init(chatview *v);

/* Sets the strftime format of line times (config key timestamp; "" or
 * NULL: "%H:%M"). */
void chatview_set_time_format(const char *fmt);

/* Gives the view a new curses window (after a layout change); takes
 * ownership and frees the old one. win may be NULL (pane hidden). */
void chatview_set_window(chatview *v, WINDOW *win, int h, int w);

/* Marks for a full redraw (switch, resize, scroll). */
void chatview_invalidate(chatview *v);

/* Notes that lines were added to window w; marks dirty when w is shown. */
void chatview_lines_added(chatview *v, const client_window *w);

/* Forgets window w if shown (it is about to be freed). */
void chatview_forget(chatview *v, const client_window *w);

/* Scrolls by rows (positive = up, into the past); INT_MAX = top, and
 * INT_MIN = back to the bottom (follow new lines). */
void chatview_scroll(chatview *v, int rows);

/* Page size for PgUp/PgDn. */
int chatview_page(const chatview *v);

/* Finds the newest line (older than the last hit, if the text is the same)
 * containing text, case-insensitively, and scrolls to it. Returns 1 when
 * found, 0 when not (the view is unchanged). text "" clears the search. */
int chatview_search(chatview *v, const client_window *w, const char *text);

/* Draws what is dirty for window w (the current one) into the curses
 * window; does not refresh. */
void chatview_draw(chatview *v, const client_window *w);

/* Frees the curses window. */
void chatview_free(chatview *v);

#endif
