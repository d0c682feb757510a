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

/* Bans a user for seconds (0: forever); done is called with the
 * canonical name (or the asked one with found false) once stored. from is
 * the requesting conn (referenced) or NULL for the console. */
void admin_ban(struct conn *from, const char *actor, const char *name,
               uint32_t seconds, const char *reason,
               void (*done)(struct conn *from, const char *name, bool found,
                            uint32_t seconds));

/* KICK and BAN from a client (admins only). */
void admin_on_kick(struct conn *c, const proto_kick *req);
void admin_on_ban(struct conn *c, const proto_ban *req);

#endif
