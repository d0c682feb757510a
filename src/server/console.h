/* console.h: the operator console on stdin (a terminal or a pipe). One
 * command per line; each reply is one or more lines on stdout. EOF on
 * stdin only closes the console; the server keeps running. */
#ifndef PARLEY_CONSOLE_H
#define PARLEY_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Starts reading stdin if it is a terminal or a pipe; "shutdown" calls
 * shutdown (the life cycle's, passed down so the console never calls up).
 * Returns 0 or a negative uv error. */
int console_start(uv_loop_t *loop, void (*shutdown)(const char *why));

/* Stops reading and closes the handle (shutdown). */
void console_stop(void);

/* Where replies go besides stdout: line(to, text) for each reply line and
 * end(to, ok) once the reply is complete, for a caller id to != 0 (the
 * operator socket's connections; set by control_start). */
void console_set_out(void (*line)(uint64_t to, const char *text),
                     void (*end)(uint64_t to, bool ok));

/* Runs one command line for caller to (0: stdout). The reply may come
 * later (commands that read the database); it always ends with one end()
 * call. */
void console_run(uint64_t to, char *line);

/* Runs one command line, replying on stdout (exposed for tests). */
void console_exec(char *line);

#endif
