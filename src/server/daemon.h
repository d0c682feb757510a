/* daemon.h: the parleyd process life cycle, the top of the server's
 * layers: listen, accept, the per-iteration flush pass, the 1 s tick,
 * idle exit and clean shutdown. It wires itself into server.h's hooks. */
#ifndef PARLEY_DAEMON_H
#define PARLEY_DAEMON_H

#include <uv.h>

#include "config.h"

/* Binds, prints the "listening on" line and starts everything. Returns 0
 * or -1 after printing why. */
int daemon_start(uv_loop_t *loop, config *cfg);

/* Starts a clean shutdown: BYE to every client, stop accepting, flush and
 * close the store, close every handle. Safe to call more than once. */
void daemon_shutdown(const char *why);

#endif
