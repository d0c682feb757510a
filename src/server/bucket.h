/* bucket.h: token bucket for flood control and login rate limits.
 *
 * Pure arithmetic on a caller-supplied clock, so it is unit-tested
 * directly. Tokens are kept in thousandths to avoid floating point. */
#ifndef PARLEY_BUCKET_H
#define PARLEY_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct bucket {
  uint64_t milli;   /* tokens * 1000 */
  uint64_t last_ms; /* clock of the last refill */
} bucket;

/* Starts full: burst tokens at now_ms. */
void bucket_init(bucket *b, uint32_t burst, uint64_t now_ms);

/* Refills at rate tokens per period_ms up to burst, then takes one token if
 * there is one. Returns true when taken. rate 0 never refills. */
bool bucket_take(bucket *b, uint32_t rate, uint64_t period_ms, uint32_t burst,
                 uint64_t now_ms);

/* Refills like bucket_take without taking; true when the bucket is full. */
bool bucket_full(bucket *b, uint32_t rate, uint64_t period_ms, uint32_t burst,
                 uint64_t now_ms);

/* Gives one token back (a refund), never beyond burst. */
void bucket_put(bucket *b, uint32_t burst);

/* Milliseconds until one token is available (0 if one is now). */
uint64_t bucket_wait_ms(const bucket *b, uint32_t rate, uint64_t period_ms);

#endif
