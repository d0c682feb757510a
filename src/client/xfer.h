/* xfer.h: the model of one file transfer, an explicit state machine.
 *
 * Pure: no I/O, no loop. The file-transfer code (a later issue) drives it
 * with xfer_start/xfer_progress/xfer_ack/xfer_finish/xfer_fail and the
 * current time in milliseconds; the UI only reads it and formats it with
 * ui/xferfmt.h. Rate is smoothed (exponential moving average
 * over samples at least XFER_SAMPLE_MS apart) so the ETA does not jitter. */
#ifndef PARLEY_CLIENT_XFER_H
#define PARLEY_CLIENT_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XFER_SAMPLE_MS 250     /* shortest interval between rate samples */
#define XFER_RATE_ALPHA 0.3    /* weight of the newest sample */
#define XFER_NAME_MAX 255      /* bytes, as PROTO_MAX_FILENAME */
#define XFER_PEER_MAX (32 * 4) /* bytes: 32 characters of UTF-8 */
#define XFER_ETA_UNKNOWN UINT64_MAX

enum xfer_status {
  XFER_WAITING = 0, /* offered, not yet accepted */
  XFER_CONNECTING,  /* accepted, data path being set up */
  XFER_ACTIVE,      /* bytes flowing */
  XFER_DONE,        /* all bytes stored and verified */
  XFER_FAILED,      /* stopped by an error (see err) */
  XFER_CANCELLED,   /* stopped by either side on purpose */
};

enum xfer_error {
  XFER_ERR_NONE = 0,
  XFER_ERR_REFUSED, /* the peer said no */
  XFER_ERR_NETWORK, /* connection lost */
  XFER_ERR_IO,      /* local read/write failed */
  XFER_ERR_DISK_FULL,
  XFER_ERR_HASH, /* checksum mismatch */
  XFER_ERR_TIMEOUT,
  XFER_ERR_SERVER, /* the server refused (limits, no such file) */
};

enum xfer_dir {
  XFER_SEND = 0, /* we send to peer */
  XFER_RECV = 1, /* we receive from peer */
};

typedef struct xfer {
  uint64_t id;                  /* offer or transfer id */
  char name[XFER_NAME_MAX + 1]; /* file name */
  char peer[XFER_PEER_MAX + 1]; /* other user, or "" for the server */
  enum xfer_dir dir;
  enum xfer_status status;
  enum xfer_error err;
  uint64_t size;        /* total bytes */
  uint64_t start_pos;   /* where this run began (resume) */
  uint64_t pos;         /* bytes sent or received */
  uint64_t acked;       /* bytes the other side confirmed */
  uint64_t start_ms;    /* when it became active */
  uint64_t end_ms;      /* when it ended, 0 while running */
  uint64_t sample_ms;   /* last rate sample */
  uint64_t sample_pos;  /* pos at the last rate sample */
  double bytes_per_sec; /* smoothed rate, 0 = unknown */
  uint64_t eta_s;       /* seconds left, XFER_ETA_UNKNOWN */
} xfer;

/* Sets up a transfer in XFER_WAITING. Names longer than the bounds are cut
 * at a character boundary. */
void xfer_init(xfer *x, uint64_t id, const char *name, const char *peer,
               enum xfer_dir dir, uint64_t size);

/* WAITING -> CONNECTING. Returns 0 or -PERR_UNEXPECTED in another state. */
int xfer_connect(xfer *x);

/* WAITING/CONNECTING -> ACTIVE from byte offset (resume). Returns 0,
 * -PERR_UNEXPECTED in another state, -PERR_BAD_VALUE if offset > size. */
int xfer_start(xfer *x, uint64_t offset, uint64_t now_ms);

/* Records that pos bytes are done; updates rate and ETA. Returns 0,
 * -PERR_UNEXPECTED when not ACTIVE, -PERR_BAD_VALUE when pos goes backwards
 * or past size (the model is then unchanged). */
int xfer_progress(xfer *x, uint64_t pos, uint64_t now_ms);

/* Records the other side's confirmation. Same errors; acked never passes
 * pos for a sender's view of its own bytes. */
int xfer_ack(xfer *x, uint64_t acked);

/* ACTIVE -> DONE (pos must equal size). Returns 0, -PERR_UNEXPECTED or
 * -PERR_BAD_VALUE. */
int xfer_finish(xfer *x, uint64_t now_ms);

/* Any unfinished state -> FAILED with err, or CANCELLED when err is NONE.
 * Returns 0 or -PERR_UNEXPECTED when already ended. */
int xfer_fail(xfer *x, enum xfer_error err, uint64_t now_ms);

/* True while the transfer has not ended (the UI keeps its timer running). */
bool xfer_is_live(const xfer *x);

/* Percent done, 0..100 (a zero-byte file is 100 once done, else 0). */
int xfer_percent(const xfer *x);

#endif
