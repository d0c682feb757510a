/* log.c: one-line event log (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static FILE *log_file;            /* NULL means stderr */
static int log_level = LOGL_INFO; /* most verbose level written */

static const char *const log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

/* Opens the log destination; a file is appended to, line-buffered. */
int log_open(const char *path) {
  if (path == NULL || *path == '\0')
    return 0;
  FILE *f = fopen(path, "a");
  if (f == NULL)
    return -errno;
  setvbuf(f, NULL, _IOLBF, 0);
  log_close();
  log_file = f;
  return 0;
}

/* Closes the log file, falling back to stderr. */
void log_close(void) {
  if (log_file != NULL)
    fclose(log_file);
  log_file = NULL;
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
  size_t off = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + off, sizeof line - off, fmt, ap);
  va_end(ap);
  for (char *p = line + off; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  FILE *f = log_file != NULL ? log_file : stderr;
  fputs(line, f);
  fputc('\n', f);
  fflush(f);
}
