/* tui.h: entry point of the full-screen ncurses client. */
#ifndef PARLEY_UI_TUI_H
#define PARLEY_UI_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfer.h"

typedef struct tui tui;

/* Calls into the loop for code that feeds the TUI from outside the core.
 * parley passes none; the test-only build tests/tui/parley-demo shows
 * made-up transfers through them. */
typedef struct tui_hooks {
  void (*start)(tui *t); /* the screen is up; the client not started yet */
  void (*tick)(tui *t);  /* the tick timer fired (transfers are live) */
} tui_hooks;

/* Runs the interactive client with parley's command line (argv as given to
 * main, without --batch); hooks may be NULL. Returns the exit status. */
int tui_main(int argc, char **argv, const tui_hooks *hooks);

/* Shows x in the transfers pane, which owns it from then on; false (x not
 * taken) when the pane is full. */
bool tui_xfer_add(tui *t, xfer *x);

/* Number of transfers shown, and the i-th of them (0 = oldest). */
size_t tui_xfer_count(const tui *t);
xfer *tui_xfer_get(tui *t, size_t i);

/* The loop's clock in milliseconds, as the transfer model wants it. */
uint64_t tui_now(const tui *t);

#endif
