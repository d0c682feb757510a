/* bus.h: the delivery bus. Every frame parleyd sends to someone other
 * than the connection whose request it answers goes through one of these
 * three calls: to a room's members, to one user, to everyone online.
 *
 * Contract, for what stands behind the door later: today each call is the
 * local loop (a room's fan array, one conn, the user map), run at once and
 * in order; the frame is shared (each recipient takes its own reference,
 * the caller keeps and releases its own), nothing is allocated per
 * delivery and nothing is torn down during the call (a recipient over its
 * output limit is only flagged, see conn_send). Cluster mode (several
 * nodes sharing rooms and presence through Redis) will publish the same
 * frame here as well, so that the other nodes deliver to their own local
 * members; callers must therefore not deliver "around" the bus, and must
 * not assume that every recipient is a local conn. A frame is delivered
 * at most once per recipient and per call. */
#ifndef PARLEY_BUS_H
#define PARLEY_BUS_H

#include <stdint.h>

#include "fbuf.h"

struct room;
struct user;

/* Queues b to every member of r except one (NULL: all). */
void bus_room(const struct room *r, fbuf *b, const struct user *except);

/* bus_room limited to members whose session speaks version lo..hi. */
void bus_room_version(const struct room *r, fbuf *b, const struct user *except,
                      uint16_t lo, uint16_t hi);

/* Queues b to one online user. */
void bus_user(const struct user *u, fbuf *b);

/* Queues b to every user online except one (NULL: all); returns how many
 * got it. */
uint32_t bus_all(fbuf *b, const struct user *except);

/* bus_all limited to users whose session speaks version lo..hi. */
uint32_t bus_all_version(fbuf *b, const struct user *except, uint16_t lo,
                         uint16_t hi);

#endif
