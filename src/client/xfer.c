/* xfer.c: the transfer state machine. Its display (names, sizes, rates,
 * ETAs) is ui/xferfmt.c. */
#include <string.h>

#include "errors.h"
#include "xfer.h"

/* Copies s into a bound of cap-1 bytes without splitting a UTF-8 sequence. */
static void xfer_copy(char *dst, size_t cap, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n > cap - 1) {
    n = cap - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
      n--;
  }
  if (n)
    memcpy(dst, s, n);
  dst[n] = '\0';
}

/* Sets up a waiting transfer. */
void xfer_init(xfer *x, uint64_t id, const char *name, const char *peer,
               enum xfer_dir dir, uint64_t size) {
  memset(x, 0, sizeof(*x));
  x->id = id;
  xfer_copy(x->name, sizeof(x->name), name);
  xfer_copy(x->peer, sizeof(x->peer), peer);
  x->dir = dir;
  x->size = size;
  x->status = XFER_WAITING;
  x->err = XFER_ERR_NONE;
  x->eta_s = XFER_ETA_UNKNOWN;
}

/* Offer accepted: the data path is being set up. */
int xfer_connect(xfer *x) {
  if (x->status != XFER_WAITING)
    return -PERR_UNEXPECTED;
  x->status = XFER_CONNECTING;
  return 0;
}

/* Bytes start flowing from offset. */
int xfer_start(xfer *x, uint64_t offset, uint64_t now_ms) {
  if (x->status != XFER_WAITING && x->status != XFER_CONNECTING)
    return -PERR_UNEXPECTED;
  if (offset > x->size)
    return -PERR_BAD_VALUE;
  x->status = XFER_ACTIVE;
  x->start_pos = x->pos = x->acked = offset;
  x->start_ms = x->sample_ms = now_ms;
  x->sample_pos = offset;
  x->bytes_per_sec = 0;
  x->eta_s = XFER_ETA_UNKNOWN;
  return 0;
}

/* Recomputes the ETA from the smoothed rate. */
static void xfer_update_eta(xfer *x) {
  if (x->bytes_per_sec <= 0) {
    x->eta_s = XFER_ETA_UNKNOWN;
    return;
  }
  double left = (double)(x->size - x->pos) / x->bytes_per_sec;
  x->eta_s = left > 1e12 ? XFER_ETA_UNKNOWN : (uint64_t)(left + 0.5);
}

/* Moves pos forward and folds a rate sample in when enough time passed. */
int xfer_progress(xfer *x, uint64_t pos, uint64_t now_ms) {
  if (x->status != XFER_ACTIVE)
    return -PERR_UNEXPECTED;
  if (pos < x->pos || pos > x->size)
    return -PERR_BAD_VALUE;
  x->pos = pos;
  if (now_ms >= x->sample_ms + XFER_SAMPLE_MS) {
    double inst = (double)(pos - x->sample_pos) * 1000.0 /
                  (double)(now_ms - x->sample_ms);
    if (x->bytes_per_sec <= 0)
      x->bytes_per_sec = inst;
    else
      x->bytes_per_sec =
          XFER_RATE_ALPHA * inst + (1.0 - XFER_RATE_ALPHA) * x->bytes_per_sec;
    x->sample_ms = now_ms;
    x->sample_pos = pos;
  }
  xfer_update_eta(x);
  return 0;
}

/* Records confirmed bytes. */
int xfer_ack(xfer *x, uint64_t acked) {
  if (x->status != XFER_ACTIVE)
    return -PERR_UNEXPECTED;
  if (acked < x->acked || acked > x->size ||
      (x->dir == XFER_SEND && acked > x->pos))
    return -PERR_BAD_VALUE;
  x->acked = acked;
  return 0;
}

/* Completes an active transfer whose bytes are all there. */
int xfer_finish(xfer *x, uint64_t now_ms) {
  if (x->status != XFER_ACTIVE)
    return -PERR_UNEXPECTED;
  if (x->pos != x->size)
    return -PERR_BAD_VALUE;
  x->status = XFER_DONE;
  x->acked = x->size;
  x->end_ms = now_ms;
  if (now_ms > x->start_ms) /* final figure: the average of the run */
    x->bytes_per_sec = (double)(x->size - x->start_pos) * 1000.0 /
                       (double)(now_ms - x->start_ms);
  x->eta_s = 0;
  return 0;
}

/* Ends an unfinished transfer with an error, or cancels it. */
int xfer_fail(xfer *x, enum xfer_error err, uint64_t now_ms) {
  if (!xfer_is_live(x))
    return -PERR_UNEXPECTED;
  x->status = err == XFER_ERR_NONE ? XFER_CANCELLED : XFER_FAILED;
  x->err = err;
  x->end_ms = now_ms;
  x->eta_s = XFER_ETA_UNKNOWN;
  return 0;
}

/* True until done, failed or cancelled. */
bool xfer_is_live(const xfer *x) {
  return x->status == XFER_WAITING || x->status == XFER_CONNECTING ||
         x->status == XFER_ACTIVE;
}

/* Integer percent, never over 100. */
int xfer_percent(const xfer *x) {
  if (x->size == 0)
    return x->status == XFER_DONE ? 100 : 0;
  if (x->pos >= x->size)
    return 100;
  /* Floor, so 100 appears only when every byte is there. */
  return (int)((double)x->pos * 100.0 / (double)x->size);
}
