/* tui.h: entry point of the full-screen ncurses client. */
#ifndef PARLEY_UI_TUI_H
#define PARLEY_UI_TUI_H

/* Runs the interactive client with parley's command line (argv as given to
 * main, without --batch). Returns the process exit status. */
int tui_main(int argc, char **argv);

#endif
