/* client_backoff.c: exponential backoff with jitter. */
#include "client_backoff.h"

uint64_t client_backoff_delay(unsigned attempt, uint64_t base_ms,
                              uint64_t cap_ms, uint32_t r) {
  uint64_t d = base_ms;
  for (unsigned i = 0; i < attempt && d < cap_ms; i++)
    d *= 2;
  if (d > cap_ms)
    d = cap_ms;
  uint64_t half = d / 2;
  return (d - half) + (half ? r % (half + 1) : 0);
}
