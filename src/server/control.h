/* control.h: the operator socket. parleyd listens on a UNIX socket (mode
 * 0600) for console commands, so that `parleyd ctl` reaches a server that
 * runs detached or under systemd. One command per line; the reply is its
 * lines, each as "| TEXT", then "ok" or "error". Each connection is
 * bounded (line length, pending output) and at most CONTROL_MAX_CLIENTS
 * are open at once. */
#ifndef PARLEY_CONTROL_H
#define PARLEY_CONTROL_H

#include <uv.h>

#define CONTROL_MAX_CLIENTS 32      /* connections at once */
#define CONTROL_MAX_OUT (256 << 10) /* reply bytes a client may leave unread */

/* Binds path (its directory created 0700; a stale socket left by a dead
 * parleyd replaced, a live one refused) and starts accepting. Returns 0,
 * -1 when path is in use by a running server, or a negative uv error. */
int control_start(uv_loop_t *loop, const char *path);

/* Closes the listener and removes the socket file; connections get what
 * was already queued for them (bounded by a short timer), then close. */
void control_stop(void);

#endif
