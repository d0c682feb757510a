/* admin.h: operator actions, from an admin's client or the console: kick
 * (disconnect with a notice) and ban (stored, with tokens revoked). */
#ifndef PARLEY_ADMIN_H
#define PARLEY_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

struct conn;

/* Kicks an online user. actor is "" for the console. Returns 0 or
 * -PERR_USER_OFFLINE. */
int admin_kick(const char *actor, const char *name, const char *reason);

/* Told when a ban or unban is stored: from and tag as given, the
 * canonical name (or the asked one with found false), the duration. */
typedef void (*admin_done_cb)(struct conn *from, uint64_t tag, const char *name,
                              bool found, uint32_t seconds);

/* Bans a user for seconds (0: forever), until a wall-clock millisecond;
 * done is called once stored. from is the requesting conn (referenced) or
 * NULL for the console; tag is the caller's. */
void admin_ban(struct conn *from, uint64_t tag, const char *actor,
               const char *name, uint32_t seconds, const char *reason,
               admin_done_cb done);

/* Lifts the active ban on name; done gets found = a ban was lifted. */
void admin_unban(struct conn *from, uint64_t tag, const char *actor,
                 const char *name, admin_done_cb done);

/* KICK and BAN from a client (admins only). */
void admin_on_kick(struct conn *c, const proto_kick *req);
void admin_on_ban(struct conn *c, const proto_ban *req);

/* UNBAN and BANS_REQ from a client (admins only). */
void admin_on_unban(struct conn *c, const proto_unban *req);
void admin_on_bans(struct conn *c);

#endif
