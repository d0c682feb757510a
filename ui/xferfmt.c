/* xferfmt.c: how a transfer reads on screen: state names, byte counts,
 * rates and ETAs. Pure; the model (src/client/xfer.c) keeps the numbers. */
#include <inttypes.h>
#include <stdio.h>

#include "xferfmt.h"

/* Names of the states. */
const char *xferfmt_status(enum xfer_status s) {
  switch (s) {
  case XFER_WAITING:
    return "waiting";
  case XFER_CONNECTING:
    return "connecting";
  case XFER_ACTIVE:
    return "active";
  case XFER_DONE:
    return "done";
  case XFER_FAILED:
    return "failed";
  case XFER_CANCELLED:
    return "cancelled";
  }
  return "?";
}

/* Names of the errors. */
const char *xferfmt_error(enum xfer_error e) {
  switch (e) {
  case XFER_ERR_NONE:
    return "";
  case XFER_ERR_REFUSED:
    return "refused";
  case XFER_ERR_NETWORK:
    return "connection lost";
  case XFER_ERR_IO:
    return "i/o error";
  case XFER_ERR_DISK_FULL:
    return "disk full";
  case XFER_ERR_HASH:
    return "checksum mismatch";
  case XFER_ERR_TIMEOUT:
    return "timed out";
  case XFER_ERR_SERVER:
    return "server refused";
  }
  return "?";
}

/* Binary units with one decimal below 100. */
int xferfmt_size(char *buf, size_t cap, uint64_t bytes) {
  static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024)
    return snprintf(buf, cap, "%" PRIu64 " B", bytes);
  double v = (double)bytes / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 5)
    v /= 1024.0, u++;
  if (v < 99.95)
    return snprintf(buf, cap, "%.1f %s", v, units[u]);
  return snprintf(buf, cap, "%.0f %s", v, units[u]);
}

/* A size per second, or "--" when not known yet. */
int xferfmt_rate(char *buf, size_t cap, double bytes_per_sec) {
  if (!(bytes_per_sec > 0))
    return snprintf(buf, cap, "--");
  char s[32];
  xferfmt_size(s, sizeof(s), (uint64_t)(bytes_per_sec + 0.5));
  return snprintf(buf, cap, "%s/s", s);
}

/* M:SS under an hour, H:MM:SS up to 99 hours. */
int xferfmt_eta(char *buf, size_t cap, uint64_t seconds) {
  if (seconds == XFER_ETA_UNKNOWN)
    return snprintf(buf, cap, "--:--");
  if (seconds >= 100 * 3600)
    return snprintf(buf, cap, ">99h");
  unsigned h = (unsigned)(seconds / 3600), m = (unsigned)(seconds / 60 % 60),
           s = (unsigned)(seconds % 60);
  if (h)
    return snprintf(buf, cap, "%u:%02u:%02u", h, m, s);
  return snprintf(buf, cap, "%u:%02u", m, s);
}
