/* discovery.h: LAN discovery over UDP: a DISCOVER datagram (unicast or
 * broadcast) gets an ANNOUNCE with the server's name, port and user
 * count. Replies are rate-limited (100 a second) so the server cannot be
 * used to flood a third party. */
#ifndef PARLEY_DISCOVERY_H
#define PARLEY_DISCOVERY_H

#include <uv.h>

/* Binds UDP host:port and prints "discovery on udp HOST:PORT". Returns 0
 * or a negative uv error. */
int discovery_start(uv_loop_t *loop, const char *host, int port);

/* Closes the socket. */
void discovery_stop(void);

#endif
