/* xferfmt.h: a transfer's figures and states as the UI shows them. */
#ifndef PARLEY_UI_XFERFMT_H
#define PARLEY_UI_XFERFMT_H

#include <stddef.h>
#include <stdint.h>

#include "xfer.h"

/* Short lowercase names for the UI. */
const char *xferfmt_status(enum xfer_status s);
const char *xferfmt_error(enum xfer_error e);

/* Formats a byte count: "512 B", "1.5 KiB", "12.3 MiB", "1.0 GiB". Returns
 * what snprintf returns. */
int xferfmt_size(char *buf, size_t cap, uint64_t bytes);

/* Formats a rate: "0 B/s", "1.2 MiB/s", "--" when unknown (<= 0). */
int xferfmt_rate(char *buf, size_t cap, double bytes_per_sec);

/* Formats an ETA: "0:07", "12:34", "1:02:03", "--:--" when unknown, and
 * ">99h" past 99 hours. */
int xferfmt_eta(char *buf, size_t cap, uint64_t seconds);

#endif
