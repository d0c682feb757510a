/* console.c: operator console (see console.h). */
#include "console.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "bus.h"
#include "conn.h"
#include "log.h"
#include "room.h"
#include "server.h"
#include "store.h"
#include "user.h"

#define CONSOLE_LINE 1024 /* longer lines are refused */

static struct {
  union {
    uv_handle_t h;
    uv_stream_t s;
    uv_tty_t tty;
    uv_pipe_t pipe;
  } u;
  bool open;     /* handle initialised and not closed */
  bool tty;      /* reset the terminal mode on exit */
  bool skipping; /* dropping the rest of an overlong line */
  size_t len;
  char line[CONSOLE_LINE];
  void (*shutdown)(const char *why); /* the life cycle's, from console_start */
} con;

/* Prints one reply line and flushes it (tests read stdout). */
static void console_reply(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void console_reply(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/* users: one line per online user. */
static void console_users(void) {
  if (user_count() == 0) {
    console_reply("no users online");
    return;
  }
  for (user *u = user_first(); u != NULL; u = u->hh.next) {
    char rooms[512] = "";
    size_t off = 0;
    for (uint16_t i = 0; i < u->nrooms && off < sizeof rooms - 40; i++)
      off += (size_t)snprintf(rooms + off, sizeof rooms - off, "%s%s",
                              i ? "," : "", user_rooms(u)[i]->room->name);
    console_reply("%s %s%s idle=%us rooms=%s talking=%s from=%s", u->name,
                  proto_status_name(u->status),
                  u->role == PROTO_ROLE_ADMIN ? " admin" : "",
                  user_idle_s(u, server_now_ms()), off ? rooms : "-",
                  u->talking[0] ? u->talking : "-", conn_peer(u->conn));
  }
}

/* Reply for a console ban. */
static void console_banned(struct conn *c, const char *name, bool found,
                           uint32_t seconds) {
  (void)c;
  if (!found)
    console_reply("no such user: %s", name);
  else if (seconds == 0)
    console_reply("banned %s permanently", name);
  else
    console_reply("banned %s for %u seconds", name, seconds);
}

/* Reply for logins. */
static void console_on_logins(store_job *j) {
  if (j->nlines == 0)
    console_reply("no logins recorded");
  for (size_t i = 0; i < j->nlines; i++)
    console_reply("%s", j->lines[i]);
}

/* say: a server notice to every logged-in user. */
static void console_say(const char *text) {
  proto_msg m = {.type = PROTO_NOTICE};
  m.u.notice.kind = PROTO_NOTICE_SERVER;
  m.u.notice.ts_ms = server_wall_ms();
  m.u.notice.room = proto_str_c("");
  m.u.notice.user = proto_str_c("");
  m.u.notice.actor = proto_str_c("");
  m.u.notice.text = proto_str_c(text);
  fbuf *b = fbuf_encode(&m, NULL);
  if (b == NULL) {
    console_reply("error: text too long or not valid UTF-8");
    return;
  }
  uint32_t n = bus_all(b, NULL);
  fbuf_unref(b);
  console_reply("said to %u users", n);
}

/* Splits off the first word of *s. */
static char *console_word(char **s) {
  char *p = *s;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '\0')
    return NULL;
  char *w = p;
  while (*p && *p != ' ' && *p != '\t')
    p++;
  if (*p)
    *p++ = '\0';
  while (*p == ' ' || *p == '\t')
    p++;
  *s = p;
  return w;
}

/* Parses a non-negative decimal. */
static bool console_uint(const char *s, uint32_t *out) {
  if (s == NULL || *s == '\0')
    return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s) || v > 100000000u)
      return false;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = (uint32_t)v;
  return true;
}

/* Dispatches one line. */
void console_exec(char *line) {
  char *rest = line;
  char *cmd = console_word(&rest);
  if (cmd == NULL)
    return;
  if (strcmp(cmd, "help") == 0) {
    console_reply("commands: users | kick NAME [REASON] | ban NAME "
                  "[SECONDS] | say TEXT | logins [N] | shutdown | help");
  } else if (strcmp(cmd, "users") == 0) {
    console_users();
  } else if (strcmp(cmd, "kick") == 0) {
    char *name = console_word(&rest);
    if (name == NULL) {
      console_reply("usage: kick NAME [REASON]");
      return;
    }
    if (admin_kick("", name, rest) < 0)
      console_reply("not online: %s", name);
    else
      console_reply("kicked %s", name);
  } else if (strcmp(cmd, "ban") == 0) {
    char *name = console_word(&rest);
    char *secs = console_word(&rest);
    uint32_t s = 0;
    if (name == NULL || (secs != NULL && !console_uint(secs, &s))) {
      console_reply("usage: ban NAME [SECONDS] (0 or none: permanent)");
      return;
    }
    if (proto_check_name(name, strlen(name)) < 0) {
      console_reply("no such user: %s", name);
      return;
    }
    admin_ban(NULL, "", name, s, rest, console_banned);
  } else if (strcmp(cmd, "say") == 0) {
    if (*rest == '\0') {
      console_reply("usage: say TEXT");
      return;
    }
    size_t n = strlen(rest);
    ssize_t chars = proto_utf8_count(rest, n);
    if (chars < 0 || proto_has_control(rest, n)) {
      /* Terminal escapes would reach every client's screen. */
      console_reply("not sent: %s", chars < 0
                                        ? proto_strerror(PERR_BAD_UTF8)
                                        : proto_strerror(PERR_CONTROL_CHARS));
      return;
    }
    if (chars > PROTO_MAX_TEXT) {
      console_reply("not sent: longer than %d characters", PROTO_MAX_TEXT);
      return;
    }
    console_say(rest);
  } else if (strcmp(cmd, "logins") == 0) {
    char *n = console_word(&rest);
    uint32_t count = 20;
    if (n != NULL && (!console_uint(n, &count) || count == 0)) {
      console_reply("usage: logins [N]");
      return;
    }
    if (count > 1000)
      count = 1000;
    store_job *j = store_job_new(STORE_LOGINS, console_on_logins, NULL);
    j->num = count;
    store_submit(j);
  } else if (strcmp(cmd, "shutdown") == 0) {
    console_reply("shutting down");
    if (con.shutdown != NULL)
      con.shutdown("operator shutdown");
  } else {
    console_reply("unknown command: %s (try help)", cmd);
  }
}

static void console_on_close(uv_handle_t *h) {
  (void)h;
}

/* Hands out the free part of the line buffer. */
static void console_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  if (con.len >= sizeof con.line - 1) { /* full without newline */
    con.skipping = true;
    con.len = 0;
  }
  *buf = uv_buf_init(con.line + con.len,
                     (unsigned)(sizeof con.line - 1 - con.len));
}

/* Splits what arrived into lines and runs them. */
static void console_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)s;
  (void)buf;
  if (n < 0) {
    if (n != UV_EOF)
      log_warn(NULL, "console: %s", uv_strerror((int)n));
    log_info(NULL, "console: stdin closed; the server keeps running");
    console_stop();
    return;
  }
  con.len += (size_t)n;
  char *start = con.line;
  char *nl;
  while ((nl = memchr(start, '\n', con.len - (size_t)(start - con.line)))) {
    *nl = '\0';
    if (nl > start && nl[-1] == '\r')
      nl[-1] = '\0';
    if (con.skipping)
      con.skipping = false;
    else
      console_exec(start);
    start = nl + 1;
    if (!con.open)
      return; /* shutdown ran */
  }
  size_t left = con.len - (size_t)(start - con.line);
  memmove(con.line, start, left);
  con.len = left;
}

/* Opens fd 0 as a tty or a pipe. */
int console_start(uv_loop_t *loop, void (*shutdown)(const char *why)) {
  con.shutdown = shutdown;
  uv_handle_type t = uv_guess_handle(0);
  int r;
  if (t == UV_TTY) {
    r = uv_tty_init(loop, &con.u.tty, 0, 1);
    con.tty = r == 0;
  } else if (t == UV_NAMED_PIPE) {
    r = uv_pipe_init(loop, &con.u.pipe, 0);
    if (r == 0) {
      r = uv_pipe_open(&con.u.pipe, 0);
      if (r < 0)
        uv_close(&con.u.h, console_on_close);
    }
  } else {
    log_debug(NULL, "console off: stdin is not a terminal or a pipe");
    return 0;
  }
  if (r < 0)
    return r;
  con.open = true;
  r = uv_read_start(&con.u.s, console_on_alloc, console_on_read);
  if (r < 0) {
    console_stop();
    return r;
  }
  return 0;
}

/* Closes the console handle. */
void console_stop(void) {
  if (!con.open)
    return;
  con.open = false;
  uv_read_stop(&con.u.s);
  uv_close(&con.u.h, console_on_close);
  if (con.tty)
    uv_tty_reset_mode();
}
