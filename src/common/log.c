/* log.c: one-line event log (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Lines are handed to a writer thread through a bounded ring, so the event
 * loop never waits on a slow disk or a stalled stderr pipe. When the ring
 * is full, lines are dropped and counted; the count is logged once there
 * is room again. */
#define LOG_RING (256 * 1024)

static int log_fd = 2;            /* 2 means stderr */
static int log_level = LOGL_INFO; /* most verbose level written */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static char log_ring[LOG_RING];
static size_t log_head, log_len; /* ring read position and fill */
static unsigned long log_dropped;
static bool log_running, log_stop;
static pthread_t log_thread;

static const char *const log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

/* Repeats are limited per call site (the format string): a burst of
 * LOG_BURST lines, then LOG_RATE a second. What is held back is counted
 * and summarised once per LOG_WINDOW_MS ("server full: 9,874 more in the
 * last 10 s"), so a flood of refused connections or bad frames costs the
 * disk a few hundred bytes a second, not a line per attempt. */
#define LOG_BURST 50
#define LOG_RATE 2
#define LOG_WINDOW_MS 10000
#define LOG_KEYS 256 /* call sites tracked (open addressing) */

typedef struct log_key {
  const char *fmt;        /* the call site; NULL = free slot */
  uint64_t milli;         /* tokens * 1000 */
  uint64_t last_ms;       /* last refill */
  uint64_t since_ms;      /* first line held back in this window */
  unsigned long held;     /* lines held back since since_ms */
  int level;              /* level of the held lines */
  char peer[48];          /* peer of the last held line */
} log_key;

static log_key log_keys[LOG_KEYS];

/* Writes all of buf to the log descriptor, retrying short writes. */
static void log_put(const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(log_fd, buf, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return; /* nowhere to report a failing log; drop the rest */
    buf += w;
    n -= (size_t)w;
  }
}

static void log_summaries(uint64_t now, bool all);

/* Milliseconds on a monotonic clock. */
static uint64_t log_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writer thread: drains the ring until log_stop is set and it is empty.
 * It also wakes once a second while lines are held back, to write their
 * summaries when the flood has stopped. */
static void *log_main(void *arg) {
  (void)arg;
  static char chunk[64 * 1024];
  pthread_mutex_lock(&log_mu);
  for (;;) {
    while (log_len == 0 && !log_stop) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += 1;
      pthread_cond_timedwait(&log_cv, &log_mu, &until);
      log_summaries(log_now_ms(), false);
    }
    if (log_len == 0 && log_stop) {
      log_summaries(log_now_ms(), true); /* nothing held back is lost */
      if (log_len == 0)
        break;
      continue;
    }
    size_t n = log_len < sizeof chunk ? log_len : sizeof chunk;
    size_t first = LOG_RING - log_head < n ? LOG_RING - log_head : n;
    memcpy(chunk, log_ring + log_head, first);
    memcpy(chunk + first, log_ring, n - first);
    log_head = (log_head + n) % LOG_RING;
    log_len -= n;
    unsigned long dropped = log_dropped;
    log_dropped = 0;
    pthread_mutex_unlock(&log_mu);
    log_put(chunk, n);
    if (dropped > 0) {
      char note[80];
      int k =
          snprintf(note, sizeof note, "(log: %lu lines dropped)\n", dropped);
      log_put(note, (size_t)k);
    }
    pthread_mutex_lock(&log_mu);
  }
  pthread_mutex_unlock(&log_mu);
  return NULL;
}

/* Drains and stops the writer thread; lines written later are written
 * directly. Safe to call more than once. */
static void log_drain(void) {
  pthread_mutex_lock(&log_mu);
  bool running = log_running;
  log_stop = true;
  pthread_cond_signal(&log_cv);
  pthread_mutex_unlock(&log_mu);
  if (running)
    pthread_join(log_thread, NULL);
  pthread_mutex_lock(&log_mu);
  log_running = false;
  log_stop = false;
  pthread_mutex_unlock(&log_mu);
}

/* Opens the log destination (appending) and starts the writer thread. */
int log_open(const char *path) {
  if (path != NULL && *path != '\0') {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
      return -errno;
    log_close();
    log_fd = fd;
  }
  pthread_mutex_lock(&log_mu);
  if (!log_running && pthread_create(&log_thread, NULL, log_main, NULL) == 0)
    log_running = true;
  pthread_mutex_unlock(&log_mu);
  return 0;
}

/* Flushes pending lines, stops the writer and closes a log file (stderr
 * stays open). */
void log_close(void) {
  log_drain();
  if (log_fd != 2)
    close(log_fd);
  log_fd = 2;
}

/* Sets the threshold level. */
void log_set_level(int level) {
  if (level >= LOGL_ERROR && level <= LOGL_DEBUG)
    log_level = level;
}

/* Maps a level name to its value. */
int log_level_parse(const char *s) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  if (strcmp(s, "warning") == 0)
    return LOGL_WARN;
  return -1;
}

/* True when level passes the threshold. */
bool log_enabled(int level) {
  return level <= log_level;
}

/* Appends one finished line to the ring (log_mu held), or counts it as
 * dropped when the ring is full. */
static void log_enqueue(const char *line, size_t len) {
  if (LOG_RING - log_len < len) {
    log_dropped++;
    return;
  }
  size_t tail = (log_head + log_len) % LOG_RING;
  size_t first = LOG_RING - tail < len ? LOG_RING - tail : len;
  memcpy(log_ring + tail, line, first);
  memcpy(log_ring, line + first, len - first);
  log_len += len;
  pthread_cond_signal(&log_cv);
}

/* Formats the line prefix (time, level, peer) into line; returns its
 * length. */
static size_t log_prefix(char *line, size_t cap, int level, const char *peer) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  int n = snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
                   log_names[level], peer != NULL && *peer ? peer : "-");
  if (n < 0)
    return 0;
  return (size_t)n < cap - 1 ? (size_t)n : cap - 2;
}

/* Writes a finished line: through the ring when the writer runs, else
 * directly (client core, tools). log_mu held. */
static void log_emit(const char *line, size_t len) {
  if (log_running)
    log_enqueue(line, len);
  else
    log_put(line, len);
}

/* "1,234,567" into buf. */
static void log_thousands(char *buf, size_t cap, unsigned long v) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%lu", v);
  size_t o = 0;
  for (int i = 0; i < n && o + 2 < cap; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

/* Writes "EVENT: N more in the last S s" for each call site whose window
 * has run LOG_WINDOW_MS (or for every one holding lines when all is set),
 * EVENT being the format up to its first conversion or parenthesis.
 * log_mu held. */
static void log_summaries(uint64_t now, bool all) {
  for (size_t i = 0; i < LOG_KEYS; i++) {
    log_key *k = &log_keys[i];
    if (!k->fmt || k->held == 0 ||
        (!all && now - k->since_ms < LOG_WINDOW_MS))
      continue;
    char line[512], count[32];
    size_t off = log_prefix(line, sizeof line, k->level, k->peer);
    size_t ev = strcspn(k->fmt, "%(");
    while (ev > 0 && strchr(" :=", k->fmt[ev - 1]) != NULL)
      ev--;
    if (ev > 200)
      ev = 200;
    log_thousands(count, sizeof count, k->held);
    uint64_t secs = (now - k->since_ms + 999) / 1000;
    int n = snprintf(line + off, sizeof line - off,
                     "%.*s: %s more in the last %llu s (repeats limited)\n",
                     (int)ev, k->fmt, count,
                     (unsigned long long)(secs ? secs : 1));
    if (n > 0) {
      for (char *p = line + off; *p && *p != '\n'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
          *p = '?';
      size_t len = off + (size_t)n < sizeof line ? off + (size_t)n
                                                   : sizeof line - 1;
      log_emit(line, len);
    }
    k->held = 0;
  }
}

/* Takes one line from fmt's budget; false when it is to be held back
 * (and counted). log_mu held. */
static bool log_admit(const char *fmt, int level, const char *peer,
                      uint64_t now) {
  size_t h = ((uintptr_t)fmt >> 3) % LOG_KEYS;
  log_key *k = NULL;
  for (size_t i = 0; i < LOG_KEYS; i++) {
    log_key *c = &log_keys[(h + i) % LOG_KEYS];
    if (c->fmt == fmt || c->fmt == NULL) {
      k = c;
      break;
    }
  }
  if (k == NULL)
    return true; /* more call sites than slots: not limited */
  if (k->fmt == NULL) {
    k->fmt = fmt;
    k->milli = (uint64_t)LOG_BURST * 1000;
    k->last_ms = now;
  }
  k->milli += (now - k->last_ms) * LOG_RATE; /* LOG_RATE per 1000 ms */
  if (k->milli > (uint64_t)LOG_BURST * 1000)
    k->milli = (uint64_t)LOG_BURST * 1000;
  k->last_ms = now;
  if (k->held > 0 && now - k->since_ms >= LOG_WINDOW_MS)
    log_summaries(now, false);
  if (k->milli >= 1000) {
    k->milli -= 1000;
    return true;
  }
  if (k->held++ == 0)
    k->since_ms = now;
  k->level = level;
  snprintf(k->peer, sizeof k->peer, "%s", peer ? peer : "");
  return false;
}

/* Formats and writes one line; control characters become '?' so that a
 * peer-supplied string can never forge a second log line. Repeats from
 * one call site are limited and summarised (log_admit). */
void log_write(int level, const char *peer, const char *fmt, ...) {
  if (!log_enabled(level))
    return;
  pthread_mutex_lock(&log_mu);
  bool ok = log_admit(fmt, level, peer, log_now_ms());
  pthread_mutex_unlock(&log_mu);
  if (!ok)
    return;
  char line[1024];
  size_t off = log_prefix(line, sizeof line, level, peer);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + off, sizeof line - 1 - off, fmt, ap);
  va_end(ap);
  for (char *p = line + off; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  size_t len = strlen(line);
  line[len] = '\n'; /* vsnprintf left room: the buffer holds len + 1 */
  len++;
  pthread_mutex_lock(&log_mu);
  log_emit(line, len);
  pthread_mutex_unlock(&log_mu);
}
