/* control.c: the operator socket (see control.h). */
#include "control.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "console.h"
#include "log.h"

#define CONTROL_LINE 1024      /* longer request lines close the connection */
#define CONTROL_GRACE_MS 2000  /* at stop: time left to drain the replies */

typedef struct control_client {
  uv_pipe_t pipe; /* first: the handle's address is the client's */
  uv_shutdown_t shut;
  struct control_client *next;
  uint64_t id;    /* console_run's caller id, never 0 */
  bool closing;   /* uv_close called or about to be */
  bool shutting;  /* uv_shutdown pending: close when it completes */
  bool busy;      /* a reply is still coming (a database command) */
  bool eof;       /* the peer sent everything it will send */
  bool running;   /* in control_process (replies may end inside it) */
  bool paused;    /* reading stopped: the buffer is full */
  bool skipping;  /* dropping the rest of an overlong request line */
  size_t pending; /* reply bytes queued but not written */
  size_t len;     /* request bytes buffered in line */
  char line[CONTROL_LINE];
} control_client;

typedef struct control_write { /* a uv_write_t with its bytes */
  uv_write_t req;
  control_client *c;
  size_t n;
  char data[];
} control_write;

static struct {
  uv_loop_t *loop;
  uv_pipe_t listener;
  uv_timer_t grace; /* bounds the drain at stop */
  bool open;        /* listener and timer initialised, not closed */
  bool bound;       /* the socket file is ours to remove */
  bool timer_open;  /* grace timer not closed yet */
  control_client *clients;
  uint32_t nclients;
  uint64_t next_id;
  char path[108];
} ctl;

static void control_process(control_client *c);
static void control_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void control_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void control_on_timer_close(uv_handle_t *h) { (void)h; }

/* Frees a client once its handle is closed. */
static void control_on_close(uv_handle_t *h) {
  control_client *c = (control_client *)h;
  for (control_client **p = &ctl.clients; *p != NULL; p = &(*p)->next) {
    if (*p == c) {
      *p = c->next;
      break;
    }
  }
  ctl.nclients--;
  free(c);
  if (!ctl.open && ctl.clients == NULL && ctl.timer_open) {
    ctl.timer_open = false; /* nothing left to wait for */
    uv_close((uv_handle_t *)&ctl.grace, control_on_timer_close);
  }
}

/* Closes a client now (pending writes are cancelled). */
static void control_close(control_client *c) {
  if (c->closing)
    return;
  c->closing = true;
  uv_close((uv_handle_t *)&c->pipe, control_on_close);
}

/* The queued replies are written: close. */
static void control_on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  control_close(req->data);
}

/* Closes a client after what is queued for it has been written. */
static void control_finish(control_client *c) {
  if (c->closing || c->shutting)
    return;
  c->shutting = true;
  c->shut.data = c;
  uv_read_stop((uv_stream_t *)&c->pipe);
  if (uv_shutdown(&c->shut, (uv_stream_t *)&c->pipe, control_on_shutdown) < 0)
    control_close(c);
}

/* A reply write finished (or was cancelled by the close). */
static void control_on_write(uv_write_t *req, int status) {
  control_write *w = (control_write *)req;
  w->c->pending -= w->n;
  if (status < 0 && status != UV_ECANCELED)
    control_close(w->c);
  free(w);
}

/* Queues bytes for c. A client that leaves more than CONTROL_MAX_OUT
 * unread is cut off, like a slow chat client. */
static void control_send(control_client *c, const char *a, const char *b) {
  if (c->closing || c->shutting)
    return;
  size_t na = strlen(a), nb = strlen(b);
  if (c->pending + na + nb + 1 > CONTROL_MAX_OUT) {
    log_warn(NULL, "control: a client left %zu bytes unread; closed",
             c->pending);
    control_close(c);
    return;
  }
  control_write *w = malloc(sizeof *w + na + nb + 1);
  if (w == NULL) {
    control_close(c);
    return;
  }
  memcpy(w->data, a, na);
  memcpy(w->data + na, b, nb);
  w->data[na + nb] = '\n';
  w->n = na + nb + 1;
  w->c = c;
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->n);
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, control_on_write) <
      0) {
    free(w);
    control_close(c);
    return;
  }
  c->pending += w->n;
}

/* The client with caller id, or NULL when it is gone. */
static control_client *control_find(uint64_t id) {
  for (control_client *c = ctl.clients; c != NULL; c = c->next)
    if (c->id == id)
      return c->closing ? NULL : c;
  return NULL;
}

/* console's line sink: "| TEXT". */
static void control_out_line(uint64_t to, const char *text) {
  control_client *c = control_find(to);
  if (c != NULL)
    control_send(c, "| ", text);
}

/* console's end sink: "ok" or "error", then the next request. */
static void control_out_end(uint64_t to, bool ok) {
  control_client *c = control_find(to);
  if (c == NULL)
    return;
  control_send(c, ok ? "ok" : "error", "");
  c->busy = false;
  if (!c->running) /* a late reply: go on with the next request */
    control_process(c);
}

/* Hands out the free part of the request buffer. */
static void control_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  control_client *c = (control_client *)h;
  (void)suggested;
  *buf = uv_buf_init(c->line + c->len, (unsigned)(sizeof c->line - c->len));
}

/* Runs the complete request lines buffered, one at a time: a command
 * whose reply comes later holds the rest until it ends. Closes the
 * client when it sent everything and everything was answered. */
static void control_process(control_client *c) {
  c->running = true;
  while (!c->busy && !c->closing && !c->shutting) {
    char *nl = memchr(c->line, '\n', c->len);
    if (nl == NULL && c->len == sizeof c->line && !c->skipping) {
      control_send(c, "| request line too long (at most 1023 bytes)", "");
      control_send(c, "error", "");
      c->skipping = true;
    }
    if (nl == NULL && c->skipping)
      c->len = 0;
    if (nl == NULL)
      break;
    if (c->skipping) { /* the end of the overlong line: drop it */
      size_t used = (size_t)(nl - c->line) + 1;
      memmove(c->line, nl + 1, c->len - used);
      c->len -= used;
      c->skipping = false;
      continue;
    }
    *nl = '\0';
    if (nl > c->line && nl[-1] == '\r')
      nl[-1] = '\0';
    char cmd[CONTROL_LINE];
    memcpy(cmd, c->line, (size_t)(nl - c->line) + 1);
    size_t used = (size_t)(nl - c->line) + 1;
    memmove(c->line, nl + 1, c->len - used);
    c->len -= used;
    c->busy = true; /* until console's end sink runs */
    console_run(c->id, cmd);
  }
  c->running = false;
  if (c->paused && !c->closing && !c->shutting && c->len < sizeof c->line) {
    c->paused = false;
    if (uv_read_start((uv_stream_t *)&c->pipe, control_on_alloc,
                      control_on_read) < 0)
      control_close(c);
  }
  if (c->closing || c->shutting || c->busy)
    return;
  if (c->eof)
    control_finish(c);
}

/* Request bytes, or the end of them. */
static void control_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  control_client *c = (control_client *)s;
  (void)buf;
  if (c->closing || c->shutting)
    return;
  if (n < 0) {
    uv_read_stop(s);
    c->eof = true;
    if (n != UV_EOF) {
      control_close(c);
      return;
    }
  } else {
    c->len += (size_t)n;
  }
  control_process(c);
  /* A pending database reply holds the rest of the input: stop reading
   * while the buffer is full. */
  if (!c->closing && !c->shutting && !c->eof && c->len == sizeof c->line) {
    uv_read_stop(s);
    c->paused = true;
  }
}

/* A new operator connection; over the limit it is told so and closed. */
static void control_on_connection(uv_stream_t *l, int status) {
  if (status < 0) {
    log_warn(NULL, "control: accept: %s", uv_strerror(status));
    return;
  }
  control_client *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  if (uv_pipe_init(ctl.loop, &c->pipe, 0) < 0) {
    free(c);
    return;
  }
  c->id = ++ctl.next_id;
  c->next = ctl.clients;
  ctl.clients = c;
  ctl.nclients++;
  if (uv_accept(l, (uv_stream_t *)&c->pipe) < 0) {
    control_close(c);
    return;
  }
  if (ctl.nclients > CONTROL_MAX_CLIENTS) {
    control_send(c, "| too many operator connections", "");
    control_send(c, "error", "");
    control_finish(c);
    return;
  }
  if (uv_read_start((uv_stream_t *)&c->pipe, control_on_alloc,
                    control_on_read) < 0)
    control_close(c);
}

/* Is a server answering on path? Removes a socket file nobody listens
 * on (left by a parleyd that died). Returns true when one answers. */
static bool control_in_use(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  bool live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  int err = errno;
  close(fd);
  if (!live && err == ECONNREFUSED) {
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
      unlink(path);
  }
  return live;
}

/* Creates the socket's directory (mode 0700) when it is missing. */
static void control_mkdir(const char *path) {
  char dir[sizeof ctl.path];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir)
    return;
  *slash = '\0';
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    log_warn(NULL, "control: cannot create %s: %s", dir, strerror(errno));
}

/* Starts the operator socket. Runs before the loop does: the checks on
 * the file system here are start-up work, like opening the database. */
int control_start(uv_loop_t *loop, const char *path) {
  if (strlen(path) >= sizeof ctl.path)
    return UV_ENAMETOOLONG;
  ctl.loop = loop;
  snprintf(ctl.path, sizeof ctl.path, "%s", path);
  control_mkdir(path);
  if (control_in_use(path))
    return -1;
  int r = uv_pipe_init(loop, &ctl.listener, 0);
  if (r < 0)
    return r;
  r = uv_timer_init(loop, &ctl.grace);
  if (r < 0) {
    uv_close((uv_handle_t *)&ctl.listener, NULL);
    return r;
  }
  ctl.open = true;
  ctl.timer_open = true;
  /* Created 0600 (no window where others could connect). */
  mode_t old = umask(0177);
  r = uv_pipe_bind(&ctl.listener, path);
  umask(old);
  ctl.bound = r == 0;
  if (r == 0)
    r = chmod(path, 0600) == 0 ? 0 : uv_translate_sys_error(errno);
  if (r == 0)
    r = uv_listen((uv_stream_t *)&ctl.listener, 128, control_on_connection);
  if (r < 0) {
    control_stop();
    return r;
  }
  console_set_out(control_out_line, control_out_end);
  printf("control on %s\n", path);
  fflush(stdout);
  log_info(NULL, "operator socket on %s (parleyd ctl --control %s help)",
           path, path);
  return 0;
}

/* Grace time over: close what has not drained. */
static void control_on_grace(uv_timer_t *t) {
  (void)t;
  for (control_client *c = ctl.clients; c != NULL; c = c->next)
    control_close(c);
  if (ctl.timer_open) {
    ctl.timer_open = false;
    uv_close((uv_handle_t *)&ctl.grace, control_on_timer_close);
  }
}

/* Stops listening; each client gets what was queued for it. */
void control_stop(void) {
  if (!ctl.open)
    return;
  ctl.open = false;
  console_set_out(NULL, NULL);
  uv_close((uv_handle_t *)&ctl.listener, NULL);
  if (ctl.bound)
    unlink(ctl.path); /* one small metadata call, once, at stop */
  for (control_client *c = ctl.clients; c != NULL; c = c->next)
    control_finish(c);
  if (ctl.clients == NULL ||
      uv_timer_start(&ctl.grace, control_on_grace, CONTROL_GRACE_MS, 0) < 0) {
    for (control_client *c = ctl.clients; c != NULL; c = c->next)
      control_close(c);
    if (ctl.timer_open) {
      ctl.timer_open = false;
      uv_close((uv_handle_t *)&ctl.grace, control_on_timer_close);
    }
  }
}
