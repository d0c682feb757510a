/* tickets.h: the TLS session ticket key rotates while parleyd runs (the
 * start-up rotation is tls_ctx_tickets'). */
#ifndef PARLEY_TICKETS_H
#define PARLEY_TICKETS_H

#include <stdint.h>

/* The keys' file (DB.tickets) for the rotations to come. The period is
 * TLS_TICKET_ROTATE_S, or the test hook PARLEYD_TEST_TICKET_ROTATE_S
 * (seconds, 1 or more) so that a test need not wait twelve hours. */
void tickets_init(const char *path);

/* Called every tick (1 s) with the wall clock in unix seconds: when the
 * encrypting key is due, a new one is made and the file rewritten in the
 * thread pool; the keys change on the loop once that is done. */
void tickets_tick(uint64_t now_s);

#endif
