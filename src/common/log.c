/* log.c: one-line event log (see log.h). */
#include "log.h"

#include <errno.h>
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

/* Writer thread: drains the ring until log_stop is set and it is empty. */
static void *log_main(void *arg) {
  (void)arg;
  static char chunk[64 * 1024];
  pthread_mutex_lock(&log_mu);
  for (;;) {
    while (log_len == 0 && !log_stop)
      pthread_cond_wait(&log_cv, &log_mu);
    if (log_len == 0 && log_stop)
      break;
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

/* Formats and writes one line; control characters become '?' so that a
 * peer-supplied string can never forge a second log line. */
void log_write(int level, const char *peer, const char *fmt, ...) {
  if (!log_enabled(level))
    return;
  char line[1024];
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  int n = snprintf(line, sizeof line,
                   "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
                   log_names[level], peer != NULL && *peer ? peer : "-");
  if (n < 0)
    return;
  size_t off = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
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
  if (!log_running) {
    pthread_mutex_unlock(&log_mu);
    log_put(line, len); /* no writer (client core, tools): write directly */
    return;
  }
  if (LOG_RING - log_len < len) {
    log_dropped++;
  } else {
    size_t tail = (log_head + log_len) % LOG_RING;
    size_t first = LOG_RING - tail < len ? LOG_RING - tail : len;
    memcpy(log_ring + tail, line, first);
    memcpy(log_ring, line + first, len - first);
    log_len += len;
    pthread_cond_signal(&log_cv);
  }
  pthread_mutex_unlock(&log_mu);
}
