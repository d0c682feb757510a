/* terminal.h: the terminal around curses: start, stop, paste mode, crash
 * restore, and the password prompt that runs before curses. */
#ifndef PARLEY_UI_TERMINAL_H
#define PARLEY_UI_TERMINAL_H

#include <stdbool.h>

/* Makes sure wcwidth and curses see UTF-8. */
void terminal_locale(void);

/* Saves the terminal's settings (before curses) for the crash handler. */
void terminal_save(void);

/* Reads a line from the terminal with echo off; a malloc'd string, or NULL
 * (no terminal, EOF). Blocks: call before the loop runs. */
char *terminal_read_secret(const char *prompt);

/* Starts curses in parley's modes; 0, or -1 when the terminal is unusable.
 * terminal_off() then runs at exit too. */
int terminal_on(void);

/* Should bracketed paste be turned on for this terminal? */
bool terminal_paste_wanted(void);

/* Turns bracketed paste on or off in the terminal. */
void terminal_paste_mode(bool on);

/* Last step of start-up: crash handlers (which also turn paste mode off
 * when bracketed) and the one-write-per-update fix. */
void terminal_ready(bool bracketed);

/* Leaves curses (idempotent), paste mode off, cursor on a fresh line. */
void terminal_off(void);

#endif
