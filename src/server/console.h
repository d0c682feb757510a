/* console.h: the operator console on stdin (a terminal or a pipe). One
 * command per line; each reply is one or more lines on stdout. EOF on
 * stdin only closes the console; the server keeps running. */
#ifndef PARLEY_CONSOLE_H
#define PARLEY_CONSOLE_H

#include <uv.h>

/* Starts reading stdin if it is a terminal or a pipe; "shutdown" calls
 * shutdown (the life cycle's, passed down so the console never calls up).
 * Returns 0 or a negative uv error. */
int console_start(uv_loop_t *loop, void (*shutdown)(const char *why));

/* Stops reading and closes the handle (shutdown). */
void console_stop(void);

/* Runs one command line (exposed for tests). */
void console_exec(char *line);

#endif
