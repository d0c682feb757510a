/* client_backoff.h: reconnect delay computation (pure). */
#ifndef PARLEY_CLIENT_BACKOFF_H
#define PARLEY_CLIENT_BACKOFF_H

#include <stdint.h>

/* Delay before reconnect attempt number attempt (0 = first retry):
 * base_ms doubled per attempt, capped at cap_ms, with "equal jitter" (half
 * fixed, half drawn from r) so a restarted server is not hit by every
 * client at the same instant. Result is in [d/2, d] for the capped d. */
uint64_t client_backoff_delay(unsigned attempt, uint64_t base_ms,
                              uint64_t cap_ms, uint32_t r);

#endif
