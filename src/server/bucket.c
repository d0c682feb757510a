/* bucket.c: token bucket (see bucket.h). */
#include "bucket.h"

/* Fills the bucket. */
void bucket_init(bucket *b, uint32_t burst, uint64_t now_ms) {
  b->milli = (uint64_t)burst * 1000;
  b->last_ms = now_ms;
}

/* Adds the tokens earned since last_ms, capped at burst. */
static void bucket_refill(bucket *b, uint32_t rate, uint64_t period_ms,
                          uint32_t burst, uint64_t now_ms) {
  uint64_t cap = (uint64_t)burst * 1000;
  if (now_ms <= b->last_ms || period_ms == 0) {
    if (b->milli > cap)
      b->milli = cap;
    return;
  }
  uint64_t dt = now_ms - b->last_ms;
  if (dt > period_ms * 1000000) /* long idle: full anyway, avoid overflow */
    dt = period_ms * 1000000;
  uint64_t add = dt * rate * 1000 / period_ms;
  if (b->milli + add >= cap) {
    b->milli = cap;
    b->last_ms = now_ms;
    return;
  }
  b->milli += add;
  /* Advance the clock only by the time that earned whole milli-tokens, so
   * frequent calls do not lose the fractions. */
  if (rate > 0)
    b->last_ms += add * period_ms / ((uint64_t)rate * 1000);
  else
    b->last_ms = now_ms;
}

/* Refill, then take one if available. */
bool bucket_take(bucket *b, uint32_t rate, uint64_t period_ms, uint32_t burst,
                 uint64_t now_ms) {
  bucket_refill(b, rate, period_ms, burst, now_ms);
  if (b->milli < 1000)
    return false;
  b->milli -= 1000;
  return true;
}

/* Refill, then report whether full. */
bool bucket_full(bucket *b, uint32_t rate, uint64_t period_ms, uint32_t burst,
                 uint64_t now_ms) {
  bucket_refill(b, rate, period_ms, burst, now_ms);
  return b->milli >= (uint64_t)burst * 1000;
}

/* A refund: one token back, capped at burst. */
void bucket_put(bucket *b, uint32_t burst) {
  uint64_t cap = (uint64_t)burst * 1000;
  b->milli = b->milli + 1000 > cap ? cap : b->milli + 1000;
}

/* Time to the next whole token. */
uint64_t bucket_wait_ms(const bucket *b, uint32_t rate, uint64_t period_ms) {
  if (b->milli >= 1000)
    return 0;
  if (rate == 0)
    return UINT64_MAX;
  uint64_t need = 1000 - b->milli;
  return (need * period_ms + (uint64_t)rate * 1000 - 1) /
         ((uint64_t)rate * 1000);
}
