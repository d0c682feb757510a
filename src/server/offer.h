/* offer.h: peer file offers (PROTOCOL.md 6.8, 7.6), a protocol handler.
 *
 * The server keeps each open offer (offerer, recipient, offer_id) in a
 * fixed table, forwards the chat-connection frames of an offer between its
 * two parties (replacing `peer` with the sender's name), enforces the
 * limits advertised in FILE_LIMITS and hands out relay tokens (relay.h).
 * File data never passes here. */
#ifndef PARLEY_OFFER_H
#define PARLEY_OFFER_H

#include <stdint.h>

#include "proto.h"

struct conn;
struct user;

#define OFFER_SLOTS 4096 /* open offers in all, whatever the configuration */
#define OFFER_HINTS 8    /* FILE_HINTs forwarded per offer */

/* One frame of type 0x0701..0x0709 from a logged-in session. */
void offer_on_frame(struct conn *c, const proto_msg *m);

/* Sends FILE_LIMITS to a session that just logged in. */
void offer_send_limits(struct conn *c);

/* u is going offline: its offers end; each other party gets FILE_CANCEL. */
void offer_user_gone(const struct user *u);

/* 1 s housekeeping: offers not accepted in time expire (FILE_CANCEL to
 * both parties). */
void offer_tick(uint64_t now_ms);

#endif
