/* roomcmd.h: the room requests (JOIN, PART, ROOMS_REQ, TOPIC,
 * MEMBERS_REQ) and the joins and leaves others start (login, logout,
 * kick, ban): room.c's state changes, told to people through the bus. */
#ifndef PARLEY_ROOMCMD_H
#define PARLEY_ROOMCMD_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "room.h"

struct conn;
struct user;

/* Joins u and tells: JOINED to u, a notice to the room. Returns 0,
 * ROOM_ALREADY (JOINED only) or a negative PERR after sending the error. */
int roomcmd_join(struct user *u, const char *p, size_t n, uint16_t ref_type);

/* Leaves, telling the rest with a notice of kind (none when negative). */
void roomcmd_leave(member *m, int kind, const char *actor, const char *text);

/* Sends the joins and leaves collected for v3 members (interval over). */
void roomcmd_flush(void);

/* Sends r's collected joins and leaves before a message to r. */
void roomcmd_flush_room(const room *r);

/* True when joins or leaves of r wait for the interval's end. */
bool roomcmd_pending_in(const room *r);

/* Frees the collected joins and leaves (shutdown). */
void roomcmd_fini(void);

/* Request handlers. */
void roomcmd_on_join(struct conn *c, const proto_room_ref *req);
void roomcmd_on_part(struct conn *c, const proto_part *req);
void roomcmd_on_list(struct conn *c);
void roomcmd_on_topic(struct conn *c, const proto_topic *req);
void roomcmd_on_members(struct conn *c, const proto_room_ref *req);

#endif
