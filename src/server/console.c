/* console.c: operator console (see console.h). */
#include "console.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "bus.h"
#include "conn.h"
#include "folderstore.h"
#include "log.h"
#include "room.h"
#include "server.h"
#include "store.h"
#include "tls.h"
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

/* Who is being answered: 0 = stdout, else an operator socket connection.
 * Set around each command and each late (database) reply. */
static uint64_t console_to;
static void (*console_out_line)(uint64_t to, const char *text);
static void (*console_out_end)(uint64_t to, bool ok);

/* Sets the operator socket's reply sinks. */
void console_set_out(void (*line)(uint64_t to, const char *text),
                     void (*end)(uint64_t to, bool ok)) {
  console_out_line = line;
  console_out_end = end;
}

/* Prints one reply line to the caller (stdout flushed: tests read it). */
static void console_reply(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void console_reply(const char *fmt, ...) {
  char buf[CONSOLE_LINE * 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (console_to != 0) {
    if (console_out_line != NULL)
      console_out_line(console_to, buf);
    return;
  }
  printf("%s\n", buf);
  fflush(stdout);
}

/* Ends the reply to the current caller: ok or an error (ctl's status). */
static void console_end(bool ok) {
  if (console_to != 0 && console_out_end != NULL)
    console_out_end(console_to, ok);
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

/* Reply for a console ban (late: the ban is stored first). */
static void console_banned(struct conn *c, uint64_t tag, const char *name,
                           bool found, uint32_t seconds) {
  (void)c;
  console_to = tag;
  if (!found)
    console_reply("no such user: %s", name);
  else if (seconds == 0)
    console_reply("banned %s permanently", name);
  else
    console_reply("banned %s for %u seconds", name, seconds);
  console_end(found);
  console_to = 0;
}

/* Reply for a console unban. */
static void console_unbanned(struct conn *c, uint64_t tag, const char *name,
                             bool found, uint32_t seconds) {
  (void)c;
  (void)seconds;
  console_to = tag;
  if (found)
    console_reply("unbanned %s", name);
  else
    console_reply("not banned: %s", name);
  console_end(found);
  console_to = 0;
}

/* Formats unix milliseconds as 2026-11-21T07:09:20.250Z. */
static void console_time(char *buf, size_t cap, uint64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, cap, "%s.%03uZ", day, (unsigned)(ms % 1000));
}

/* Reply for bans: one line per active ban. */
static void console_on_bans(store_job *j) {
  console_to = j->tag;
  if (j->nbans == 0)
    console_reply("no bans");
  for (size_t i = 0; i < j->nbans; i++) {
    const store_ban *b = &j->bans[i];
    char until[40] = "permanent", since[40];
    if (b->until_ms != 0)
      console_time(until, sizeof until, b->until_ms);
    console_time(since, sizeof since, b->since_ms);
    console_reply("%s until=%s by=%s since=%s reason=%s", b->name, until,
                  b->actor[0] ? b->actor : "-", since,
                  b->reason[0] ? b->reason : "-");
  }
  console_end(true);
  console_to = 0;
}

/* Reply for logins. */
static void console_on_logins(store_job *j) {
  console_to = j->tag;
  if (j->nlines == 0)
    console_reply("no logins recorded");
  for (size_t i = 0; i < j->nlines; i++)
    console_reply("%s", j->lines[i]);
  console_end(true);
  console_to = 0;
}

enum { CONSOLE_OK, CONSOLE_ERR, CONSOLE_LATER };

/* files: the shared folder, one line per file. */
static void console_files(void) {
  if (!folderstore_enabled()) {
    console_reply("this server has no shared folder");
    return;
  }
  if (folderstore_count() == 0)
    console_reply("the shared folder is empty");
  for (size_t i = 0; i < folderstore_count(); i++) {
    const folder_file *f = folderstore_at(i);
    char when[32];
    time_t t = (time_t)f->mtime;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
    console_reply("%s %llu %s %s UTC", f->name, (unsigned long long)f->size,
                  f->owner, when);
  }
}

/* tls: what the handshakes were, so an operator sees that clients resume
 * their sessions (after a restart too) instead of full handshakes. */
static void console_tls(void) {
  if (srv.tls == NULL) {
    console_reply("tls off (--insecure-plaintext)");
    return;
  }
  tls_stats st;
  tls_ctx_stats(srv.tls, &st);
  console_reply("tls handshakes: %llu full, %llu resumed",
                (unsigned long long)st.full, (unsigned long long)st.resumed);
  if (st.keys == 0) {
    console_reply("tls ticket keys: this process only");
    return;
  }
  char made[40];
  console_time(made, sizeof made, st.key_made * 1000);
  console_reply("tls ticket keys: %u, the newest made %s", st.keys, made);
}

/* rm NAME finished on the disk: the reply to whoever asked. */
static void console_on_rm(void *ctx, int err) {
  console_to = (uint64_t)(uintptr_t)ctx;
  if (err < 0)
    console_reply("not deleted: %s", proto_strerror(err));
  else
    console_reply("deleted");
  console_end(err == 0);
  console_to = 0;
}

/* rm NAME: deletes a file of the shared folder. Returns CONSOLE_*. */
static int console_rm(const char *name) {
  if (name == NULL || !folderstore_ready()) {
    console_reply(name == NULL ? "usage: rm NAME"
                               : "the shared folder is not open");
    return CONSOLE_ERR;
  }
  folder_file *f = folderstore_find(name, strlen(name));
  if (f == NULL || f->busy) {
    console_reply(f == NULL ? "no such file in the shared folder: %s"
                            : "%s is being changed; try again",
                  name);
    return CONSOLE_ERR;
  }
  if (folderstore_delete(name, console_on_rm, (void *)(uintptr_t)console_to) <
      0) {
    console_reply("not deleted: %s", proto_strerror(PERR_IO));
    return CONSOLE_ERR;
  }
  return CONSOLE_LATER;
}

/* say: a server notice to every logged-in user. Returns false when the
 * text cannot be sent. */
static bool console_say(const char *text) {
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
    return false;
  }
  uint32_t n = bus_all(b, NULL);
  fbuf_unref(b);
  console_reply("said to %u users", n);
  return true;
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

/* Runs one command; returns CONSOLE_LATER when a callback will end the
 * reply. *stop is set for shutdown (run after the reply ended). */
static int console_dispatch(char *line, bool *stop) {
  char *rest = line;
  char *cmd = console_word(&rest);
  if (cmd == NULL)
    return CONSOLE_OK;
  if (strcmp(cmd, "help") == 0) {
    console_reply("commands: users | kick NAME [REASON] | ban NAME "
                  "[SECONDS] [REASON] | unban NAME | bans | say TEXT | "
                  "logins [N] | files | rm NAME | tls | shutdown | help");
  } else if (strcmp(cmd, "users") == 0) {
    console_users();
  } else if (strcmp(cmd, "kick") == 0) {
    char *name = console_word(&rest);
    if (name == NULL) {
      console_reply("usage: kick NAME [REASON]");
      return CONSOLE_ERR;
    }
    if (admin_kick("", name, rest) < 0) {
      console_reply("not online: %s", name);
      return CONSOLE_ERR;
    }
    console_reply("kicked %s", name);
  } else if (strcmp(cmd, "ban") == 0 || strcmp(cmd, "unban") == 0) {
    bool ban = cmd[0] == 'b';
    char *name = console_word(&rest);
    char *secs = ban ? console_word(&rest) : NULL;
    uint32_t s = 0;
    if (name == NULL || (secs != NULL && !console_uint(secs, &s)) ||
        (!ban && *rest != '\0')) {
      console_reply(ban ? "usage: ban NAME [SECONDS] [REASON] (0 or none: "
                          "permanent)"
                        : "usage: unban NAME");
      return CONSOLE_ERR;
    }
    if (proto_check_name(name, strlen(name)) < 0) {
      console_reply("%s: %s", ban ? "no such user" : "not banned", name);
      return CONSOLE_ERR;
    }
    ssize_t chars = proto_utf8_count(rest, strlen(rest));
    if (chars < 0 || proto_has_control(rest, strlen(rest))) {
      console_reply("usage: the reason holds control characters");
      return CONSOLE_ERR;
    }
    if (chars > PROTO_MAX_REASON) { /* it goes out in NOTICE and BAN_ENTRY */
      console_reply("usage: the reason is longer than %d characters",
                    PROTO_MAX_REASON);
      return CONSOLE_ERR;
    }
    if (ban)
      admin_ban(NULL, console_to, "", name, s, rest, console_banned);
    else
      admin_unban(NULL, console_to, "", name, console_unbanned);
    return CONSOLE_LATER;
  } else if (strcmp(cmd, "bans") == 0) {
    store_job *j = store_job_new(STORE_BANS, console_on_bans, NULL);
    j->tag = console_to;
    store_submit(j);
    return CONSOLE_LATER;
  } else if (strcmp(cmd, "say") == 0) {
    if (*rest == '\0') {
      console_reply("usage: say TEXT");
      return CONSOLE_ERR;
    }
    size_t n = strlen(rest);
    ssize_t chars = proto_utf8_count(rest, n);
    if (chars < 0 || proto_has_control(rest, n)) {
      /* Terminal escapes would reach every client's screen. */
      console_reply("not sent: %s", chars < 0
                                        ? proto_strerror(PERR_BAD_UTF8)
                                        : proto_strerror(PERR_CONTROL_CHARS));
      return CONSOLE_ERR;
    }
    if (chars > PROTO_MAX_TEXT) {
      console_reply("not sent: longer than %d characters", PROTO_MAX_TEXT);
      return CONSOLE_ERR;
    }
    return console_say(rest) ? CONSOLE_OK : CONSOLE_ERR;
  } else if (strcmp(cmd, "logins") == 0) {
    char *n = console_word(&rest);
    uint32_t count = 20;
    if (n != NULL && (!console_uint(n, &count) || count == 0)) {
      console_reply("usage: logins [N]");
      return CONSOLE_ERR;
    }
    if (count > 1000)
      count = 1000;
    store_job *j = store_job_new(STORE_LOGINS, console_on_logins, NULL);
    j->num = count;
    j->tag = console_to;
    store_submit(j);
    return CONSOLE_LATER;
  } else if (strcmp(cmd, "files") == 0) {
    console_files();
  } else if (strcmp(cmd, "tls") == 0) {
    console_tls();
  } else if (strcmp(cmd, "rm") == 0) {
    return console_rm(console_word(&rest));
  } else if (strcmp(cmd, "shutdown") == 0) {
    console_reply("shutting down");
    *stop = true;
  } else {
    console_reply("unknown command: %s (try help)", cmd);
    return CONSOLE_ERR;
  }
  return CONSOLE_OK;
}

/* Runs one line for a caller; ends the reply now unless it comes later.
 * Shutdown runs after its reply ended, so that the socket's caller gets
 * it before the connections close. */
void console_run(uint64_t to, char *line) {
  bool stop = false;
  console_to = to;
  int r = console_dispatch(line, &stop);
  if (r != CONSOLE_LATER)
    console_end(r == CONSOLE_OK);
  console_to = 0;
  if (stop && con.shutdown != NULL)
    con.shutdown("operator shutdown");
}

/* Runs one line answering on stdout. */
void console_exec(char *line) { console_run(0, line); }

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
