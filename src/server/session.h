/* session.h: the per-connection protocol: handshake, login/registration
 * flow, dispatch of every message type once logged in, and the teardown
 * when a connection ends. */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include "proto.h"

struct conn;

/* Handles one decoded frame (strings point into the read buffer). */
void session_on_msg(struct conn *c, const proto_msg *m);

/* Ends the session of a closing connection: quit notices, offline
 * presence, the user leaves the map. */
void session_on_close(struct conn *c, const char *why);

/* Ends the live session of name, revoked by another process (why:
 * "deleted" or "passwd"); a store_revoked_fn. */
void session_on_revoked(const char *name, const char *why, uint64_t at_ms);

#endif
