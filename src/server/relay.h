/* relay.h: the file relay. Two data connections that each open with
 * FILE_CONNECT carrying the same single-use token (issued to both parties
 * of an accepted offer through their logged-in sessions, relay_issue) are
 * paired and forwarded to each other with stream_pipe: a slow receiver
 * slows the sender and nothing beyond a fixed bound is held per transfer.
 * Limits: relayed transfers per user and in total, and a total rate
 * (--relay-rate: a token bucket that holds every pipe when dry). The bytes
 * relayed are
 * logged per transfer. */
#ifndef PARLEY_RELAY_H
#define PARLEY_RELAY_H

#include <stdint.h>
#include <uv.h>

#include "proto.h"

struct conn;

#define RELAY_TOKEN_TTL_MS 60000 /* an issued token waits this long */
#define RELAY_HIGH (256 * 1024)  /* pipe watermarks per direction */
#define RELAY_LOW (64 * 1024)
#define RELAY_TURN_BYTES (512 * 1024) /* read per loop turn, all pipes */

/* Issues a token for offer_id between sender and receiver (canonical
 * names) into token. Returns 0, or -PERR_TRANSFER_LIMIT when either user
 * or the server has no relay slot left (the reason goes in why). */
int relay_issue(const char *sender, const char *receiver, uint64_t offer_id,
                uint8_t token[PROTO_TOKEN_LEN], const char **why);

/* A connection's first frame was FILE_CONNECT: park it until its partner
 * comes, or pair the two. Unknown or used tokens close c with ERROR
 * RELAY_TOKEN. */
void relay_on_connect(struct conn *c, const proto_file_connect *fc);

/* 1 s housekeeping: expires unused tokens and partners that never came. */
void relay_tick(uint64_t now_ms);

/* Closes the rate limit's timer (at the end of a shutdown). */
void relay_stop(void);

/* Tests: forwarded bytes to $PARLEYD_TEST_RELAY_CAPTURE (before the loop). */
void relay_capture_open(uv_loop_t *loop);

/* Relayed transfers running or waiting (for tests and the console). */
uint32_t relay_count(void);

#endif
