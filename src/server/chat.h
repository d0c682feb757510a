/* chat.h: SAY (room and direct messages) with its limits and flood
 * control, backlogs from the store, HISTORY_REQ and QUERY_OPEN/CLOSE. */
#ifndef PARLEY_CHAT_H
#define PARLEY_CHAT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#include "bucket.h"
#include "room.h"

struct conn;

/* The text rules of a SAY: 0 or a negative PERR (see chat.c). */
int chat_check_text(proto_str text, uint32_t max_chars);

/* The flood rule: takes a token from flood; 0 or -PERR_FLOOD. */
int chat_check_rate(bucket *flood, uint32_t rate, uint32_t burst,
                    uint64_t now_ms);

/* SAY: checks the text and the rate, then delivers (echo included). */
void chat_on_say(struct conn *c, const proto_say *req);

/* fn runs before each message goes to a room's members: the room layer
 * sends the room's collected joins and leaves ahead of it. */
void chat_set_before_room(void (*fn)(const room *r));

/* Sends up to limit (0: the configured history) messages of a
 * conversation older than before_id (0: everything so far) as backlog
 * MSGs, then HISTORY_END; then the WHO list when then_who. A room's
 * backlog is dropped (the WHO list still comes) when c's membership has
 * changed by the time the store answers. */
void chat_backlog(struct conn *c, uint8_t kind, const char *target,
                  uint64_t before_id, uint32_t limit, bool then_who);

/* HISTORY_REQ. */
void chat_on_history(struct conn *c, const proto_history_req *req);

/* QUERY_OPEN: marks "talking with" and sends the DM backlog. */
void chat_on_query_open(struct conn *c, const proto_user_ref *req);

/* QUERY_CLOSE: clears "talking with". */
void chat_on_query_close(struct conn *c, const proto_user_ref *req);

#endif
