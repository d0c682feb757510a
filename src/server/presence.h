/* presence.h: status, away text, "talking with" and idle time; every
 * change is pushed to every logged-in user (everyone sees everyone). */
#ifndef PARLEY_PRESENCE_H
#define PARLEY_PRESENCE_H

#include "proto.h"

struct conn;
struct user;

/* u logged in: everyone hears it (v3 sessions at the next flush). */
void presence_online(struct user *u);

/* Sends the coalesced changes to v3 sessions (the interval is over). */
void presence_flush(void);

/* Frees the pending changes and the list cache (shutdown). */
void presence_fini(void);

/* Pushes u's current presence to everyone (u gets it with SELF). */
void presence_changed(struct user *u);

/* Pushes "u is offline" to everyone else (u is leaving). */
void presence_offline(struct user *u);

/* WHO reply: a PRESENCE with LIST for every user, then WHO_END. */
void presence_who(struct conn *c);

/* SET_STATUS. */
void presence_on_status(struct conn *c, const proto_set_status *req);

/* SET_PRIVACY from a client. */
void presence_on_privacy(struct conn *c, const proto_set_privacy *req);

#endif
