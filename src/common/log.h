/* log.h: one-line event log shared by parleyd and the client core.
 *
 * Each line: ISO-8601 UTC time with milliseconds, level, peer ("-" if none),
 * then the event. Callers must not pass passwords; message text only at
 * debug level. */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stdbool.h>

enum log_level {
  LOGL_ERROR = 0,
  LOGL_WARN = 1,
  LOGL_INFO = 2,
  LOGL_DEBUG = 3,
};

/* Sends the log to path (appending), or to stderr when path is NULL.
 * Returns 0 or a negative errno. */
int log_open(const char *path);

/* Closes a log file opened by log_open (stderr stays open). */
void log_close(void);

/* Sets the most verbose level written. */
void log_set_level(int level);

/* Parses "error", "warn", "info" or "debug"; returns the level or -1. */
int log_level_parse(const char *s);

/* True when a line at this level would be written. */
bool log_enabled(int level);

/* Writes one line. peer may be NULL. Newlines in the text are replaced. */
void log_write(int level, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(peer, ...) log_write(LOGL_ERROR, peer, __VA_ARGS__)
#define log_warn(peer, ...) log_write(LOGL_WARN, peer, __VA_ARGS__)
#define log_info(peer, ...) log_write(LOGL_INFO, peer, __VA_ARGS__)
#define log_debug(peer, ...)                                                   \
  do {                                                                         \
    if (log_enabled(LOGL_DEBUG))                                               \
      log_write(LOGL_DEBUG, peer, __VA_ARGS__);                                \
  } while (0)

#endif
