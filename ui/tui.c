/* tui.c: the full-screen client: loop glue between the client core, the
 * keyboard and the views.
 *
 * Everything runs on one libuv loop. The core and the key handler only
 * change the model and mark views dirty; one uv_prepare_t pass per loop
 * iteration draws the dirty views (wnoutrefresh each) and calls doupdate()
 * once. Nothing ticks while idle: the only timer runs while reconnecting
 * (the countdown) or while transfers are live (progress, 4 Hz). */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <curses.h>
#include <term.h>
#include <uv.h>

#include "chatview.h"
#include "client.h"
#include "editline.h"
#include "input.h"
#include "layout.h"
#include "progress.h"
#include "statusbar.h"
#include "theme.h"
#include "tui.h"
#include "userlist.h"
#include "xfer.h"

#define TUI_MAX_KEYS_PER_PASS 4096 /* keys handled before yielding */
#define TUI_QUIT_GRACE_MS 2000     /* wait for BYE to flush, then stop */
#define TUI_XFER_TICK_MS 250       /* progress refresh while transfers run */
#define TUI_MAX_XFERS 64
#define TUI_KEY_PASTE_START (KEY_MAX + 101)
#define TUI_KEY_PASTE_END (KEY_MAX + 102)
#define TUI_PANE_STEP 2

/* Extended keys looked up in terminfo at start (0 when unknown). */
typedef struct tui_keys {
  int alt_left, alt_right, alt_up, alt_down, ctrl_home, ctrl_end, alt_home,
      alt_end, alt_pgup, alt_pgdn;
} tui_keys;

struct tui {
  uv_loop_t loop;
  client *c;
  client_opts opts;
  uv_poll_t keys_poll;
  uv_signal_t sig_winch, sig_int, sig_term, sig_hup, sig_tstp;
  uv_prepare_t redraw;
  uv_timer_t tick;       /* countdown / progress; runs only when needed */
  uv_timer_t quit_timer; /* grace period after /quit */
  int open_handles;      /* counted down in close callbacks */
  bool closing;          /* handles are being closed */
  bool quitting;         /* /quit or a signal asked us to leave */
  bool stopped;          /* the core reported CLIENT_EV_STOPPED */
  bool resized;          /* SIGWINCH seen; re-layout on the next pass */
  bool suspend;          /* SIGTSTP seen; suspend on the next pass */
  bool screen_on;        /* curses is active */
  bool tick_on;
  bool paste;     /* inside a bracketed paste */
  bool bracketed; /* bracketed paste mode enabled */
  bool all_dirty; /* everything must be redrawn */
  bool hw_scroll; /* terminfo has csr, sc/rc, ind, cup: see tui_scroll_ahead */
  int sep_dirty;
  int users_w; /* users pane width the user asked for */
  layout lay;
  WINDOW *keywin; /* a pad we read keys from (no implicit refresh) */
  WINDOW *sep;
  chatview chat;
  userlist users;
  statusbar bars;
  input in;
  progress prog;
  editline ed;
  tui_keys k;
  xfer *xfers[TUI_MAX_XFERS]; /* transfers shown in the pane */
  size_t nxfers;
  size_t laid_xfers;      /* nxfers when the layout was computed */
  const tui_hooks *hooks; /* test code feeding the TUI, or NULL */
  int exit_code;
  uint64_t redraws; /* passes that called doupdate, for the debug log */
};

/* ---- terminal restore on crash --------------------------------------------
 */

static struct termios tui_saved_tio; /* the terminal before curses */
static bool tui_have_tio;
static char tui_restore_seq[256]; /* rmcup, cnorm, sgr0, paste off */
static size_t tui_restore_len;

/* Restores the terminal from a crash signal, then dies by that signal.
 * Only async-signal-safe calls: write, tcsetattr, signal, raise. */
static void tui_crash(int sig) {
  if (tui_restore_len) {
    ssize_t w = write(STDOUT_FILENO, tui_restore_seq, tui_restore_len);
    (void)w;
  }
  if (tui_have_tio)
    tcsetattr(STDIN_FILENO, TCSANOW, &tui_saved_tio);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Appends a terminfo string to the crash restore sequence. */
static void tui_restore_add(const char *cap) {
  char *s = tigetstr((char *)cap);
  if (!s || s == (char *)-1)
    return;
  size_t n = strlen(s);
  if (tui_restore_len + n < sizeof(tui_restore_seq)) {
    memcpy(tui_restore_seq + tui_restore_len, s, n);
    tui_restore_len += n;
  }
}

/* Installs the crash handlers once curses knows the terminal. */
static void tui_crash_handlers(bool bracketed) {
  tui_restore_len = 0;
  if (bracketed) {
    static const char off[] = "\033[?2004l";
    memcpy(tui_restore_seq, off, sizeof(off) - 1);
    tui_restore_len = sizeof(off) - 1;
  }
  tui_restore_add("sgr0");
  tui_restore_add("cnorm");
  tui_restore_add("rmkx");
  tui_restore_add("rmcup");
  static const char nl[] = "\r\n";
  memcpy(tui_restore_seq + tui_restore_len, nl, 2);
  tui_restore_len += 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = tui_crash;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
}

/* Leaves curses (idempotent); also runs from atexit. */
static void tui_screen_off(void) {
  if (!isendwin()) {
    if (tui_restore_len && strncmp(tui_restore_seq, "\033[?2004l", 8) == 0) {
      fputs("\033[?2004l", stdout);
      fflush(stdout);
    }
    endwin();
    /* Without an alternate screen (TERM=linux) the last screen stays and
     * the cursor sits on the input row: give the shell a fresh line. */
    if (!exit_ca_mode || !*exit_ca_mode) {
      fputs("\n", stdout);
      fflush(stdout);
    }
  }
}

/* ---- password prompt ---------------------------------------------------- */

/* Reads a line from the terminal with echo off. Returns a malloc'd string
 * or NULL (no terminal, EOF). Runs before the loop, so blocking is fine. */
static char *tui_read_secret(const char *prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct termios t, quiet;
  bool have = tcgetattr(fd, &t) == 0;
  if (have) {
    quiet = t;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  ssize_t w = write(fd, prompt, strlen(prompt));
  (void)w;
  char buf[PROTO_MAX_PASSWORD * 4 + 2];
  size_t n = 0;
  bool ok = false;
  while (n < sizeof(buf) - 1) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    if (ch == '\n' || ch == '\r') {
      ok = true;
      break;
    }
    buf[n++] = ch;
  }
  buf[n] = '\0';
  if (have)
    tcsetattr(fd, TCSAFLUSH, &t);
  w = write(fd, "\n", 1);
  close(fd);
  char *s = ok || n ? strdup(buf) : NULL;
  explicit_bzero(buf, sizeof(buf));
  return s;
}

/* Gets the password from the options' sources or the terminal. Returns 0
 * or an exit status. */
static int tui_password(client_opts *o) {
  char err[512];
  int r = client_opts_password(o, err, sizeof(err));
  if (r < 0) {
    fprintf(stderr, "parley: %s\n", err);
    return 2;
  }
  if (r == 0)
    return 0;
  char prompt[CLIENT_NAME_SZ + CLIENT_HOST_SZ + 64];
  snprintf(prompt, sizeof(prompt),
           "%s for %s@%s: ", o->do_register ? "New password" : "Password",
           o->user, o->host);
  char *p = tui_read_secret(prompt);
  if (!p) {
    fprintf(stderr, "parley: no password given (use PARLEY_PASSWORD or "
                    "--password-file)\n");
    return 2;
  }
  if (o->do_register) {
    char *q = tui_read_secret("Repeat the password: ");
    bool same = q && strcmp(p, q) == 0;
    if (q) {
      explicit_bzero(q, strlen(q));
      free(q);
    }
    if (!same) {
      explicit_bzero(p, strlen(p));
      free(p);
      fprintf(stderr, "parley: the passwords differ; nothing was sent\n");
      return 2;
    }
  }
  o->password = p;
  return 0;
}

/* ---- layout ------------------------------------------------------------- */

/* Makes a window for a rectangle, or NULL for a hidden pane. */
static WINDOW *tui_newwin(layout_rect r) {
  if (r.h <= 0 || r.w <= 0)
    return NULL;
  return newwin(r.h, r.w, r.y, r.x);
}

/* Number of transfers the pane shows. */
size_t tui_xfer_count(const tui *t) {
  return t->nxfers;
}

/* Recomputes the layout and gives every view a fresh window. */
static void tui_relayout(tui *t) {
  t->laid_xfers = tui_xfer_count(t);
  layout_compute(&t->lay, LINES, COLS, t->users_w, (int)t->laid_xfers);
  const layout *l = &t->lay;
  if (t->sep)
    delwin(t->sep);
  t->sep = NULL;
  if (l->too_small) {
    chatview_set_window(&t->chat, NULL, 0, 0);
    userlist_set_window(&t->users, NULL, 0, 0);
    progress_set_window(&t->prog, NULL, 0, 0);
    statusbar_set_windows(&t->bars, NULL, NULL, 0);
    input_set_window(&t->in, NULL, 0);
  } else {
    chatview_set_window(&t->chat, tui_newwin(l->chat), l->chat.h, l->chat.w);
    userlist_set_window(&t->users, tui_newwin(l->users), l->users.h,
                        l->users.w);
    progress_set_window(&t->prog, tui_newwin(l->xfers), l->xfers.h, l->xfers.w);
    statusbar_set_windows(&t->bars, tui_newwin(l->title), tui_newwin(l->status),
                          l->status.w);
    input_set_window(&t->in, tui_newwin(l->input), l->input.w);
    t->sep = tui_newwin(l->sep);
    if (t->sep)
      leaveok(t->sep, TRUE);
  }
  t->sep_dirty = 1;
  t->all_dirty = true;
}

/* Reads the real terminal size and tells curses. */
static void tui_resize(tui *t) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
      ws.ws_col > 0)
    resizeterm(ws.ws_row, ws.ws_col);
  tui_relayout(t);
  clearok(curscr, TRUE);
}

/* ---- timers ---------------------------------------------------------------
 */

static void tui_tick_cb(uv_timer_t *h);

/* Runs the tick timer only while something on screen changes by itself. */
static void tui_tick_update(tui *t) {
  if (t->closing)
    return;
  const client_model *m = client_model_get(t->c);
  bool live = false;
  for (size_t i = 0; i < t->nxfers; i++)
    live = live || xfer_is_live(t->xfers[i]);
  uint64_t period = 0;
  if (live)
    period = TUI_XFER_TICK_MS;
  else if (m->state == CLIENT_RECONNECTING)
    period = 1000;
  if (period && !t->tick_on) {
    if (uv_timer_start(&t->tick, tui_tick_cb, period, period) == 0)
      t->tick_on = true;
  } else if (!period && t->tick_on) {
    uv_timer_stop(&t->tick);
    t->tick_on = false;
  } else if (period && uv_timer_get_repeat(&t->tick) != period) {
    uv_timer_set_repeat(&t->tick, period);
  }
}

/* Countdown and progress refresh. */
static void tui_tick_cb(uv_timer_t *h) {
  tui *t = h->data;
  if (t->closing)
    return;
  if (t->hooks && t->hooks->tick)
    t->hooks->tick(t);
  t->bars.dirty = true;
  t->prog.dirty = true;
  tui_tick_update(t);
}

/* The pane takes x; the next redraw pass lays it out. */
bool tui_xfer_add(tui *t, xfer *x) {
  if (t->nxfers == TUI_MAX_XFERS)
    return false;
  t->xfers[t->nxfers++] = x;
  t->prog.dirty = true;
  tui_tick_update(t);
  return true;
}

/* Transfers are shown oldest first. */
xfer *tui_xfer_get(tui *t, size_t i) {
  return i < t->nxfers ? t->xfers[i] : NULL;
}

/* uv_now of the TUI's loop. */
uint64_t tui_now(const tui *t) {
  return uv_now(&t->loop);
}

/* ---- shutdown ----------------------------------------------------------- */

/* Counts closed handles; the loop ends when all are closed. */
static void tui_on_close(uv_handle_t *h) {
  tui *t = h->data;
  t->open_handles--;
}

/* Closes one handle if it is open. */
static void tui_close(tui *t, uv_handle_t *h) {
  if (h->loop && !uv_is_closing(h)) {
    t->open_handles++;
    uv_close(h, tui_on_close);
  }
}

/* Closes every UI handle (the core closes its own). */
static void tui_close_all(tui *t) {
  if (t->closing)
    return;
  t->closing = true;
  tui_close(t, (uv_handle_t *)&t->keys_poll);
  tui_close(t, (uv_handle_t *)&t->sig_winch);
  tui_close(t, (uv_handle_t *)&t->sig_int);
  tui_close(t, (uv_handle_t *)&t->sig_term);
  tui_close(t, (uv_handle_t *)&t->sig_hup);
  tui_close(t, (uv_handle_t *)&t->sig_tstp);
  tui_close(t, (uv_handle_t *)&t->redraw);
  tui_close(t, (uv_handle_t *)&t->tick);
  tui_close(t, (uv_handle_t *)&t->quit_timer);
}

/* The grace period after /quit ran out: stop without waiting. */
static void tui_quit_timer_cb(uv_timer_t *h) {
  tui *t = h->data;
  client_stop(t->c);
}

/* Leaves: polite (BYE, flush) first, forced when asked twice. */
static void tui_quit(tui *t, const char *reason) {
  if (t->quitting) {
    client_stop(t->c);
    return;
  }
  t->quitting = true;
  client_quit(t->c, reason);
  if (!t->stopped)
    uv_timer_start(&t->quit_timer, tui_quit_timer_cb, TUI_QUIT_GRACE_MS, 0);
}

/* ---- core events ----------------------------------------------------------
 */

/* Marks every view dirty. */
static void tui_dirty_all(tui *t) {
  chatview_invalidate(&t->chat);
  t->users.dirty = true;
  t->bars.dirty = t->bars.title_dirty = true;
  t->in.dirty = true;
  t->prog.dirty = true;
  t->sep_dirty = 1;
}

/* The core changed the model: mark what shows it. */
static void tui_on_event(client *c, const client_event *ev, void *ud) {
  tui *t = ud;
  (void)c;
  switch (ev->type) {
  case CLIENT_EV_MESSAGE:
  case CLIENT_EV_NOTICE:
  case CLIENT_EV_INFO:
  case CLIENT_EV_ERROR:
    if (ev->win)
      chatview_lines_added(&t->chat, ev->win);
    else
      t->chat.dirty = true;
    if (ev->win != client_model_get(t->c)->current) {
      t->bars.dirty = true; /* activity */
      if (ev->win && ev->win->kind == CLIENT_WIN_QUERY)
        t->users.dirty = true; /* unread DM count */
    }
    if (ev->type == CLIENT_EV_NOTICE)
      t->bars.title_dirty = true; /* topics, member counts */
    break;
  case CLIENT_EV_HISTORY_END:
    if (ev->win)
      chatview_lines_added(&t->chat, ev->win);
    break;
  case CLIENT_EV_PRESENCE:
  case CLIENT_EV_USERS:
    t->users.dirty = true;
    t->bars.title_dirty = true;
    break;
  case CLIENT_EV_STATE:
  case CLIENT_EV_CONNECTED:
  case CLIENT_EV_RECONNECTING:
  case CLIENT_EV_LAG:
    t->bars.dirty = true;
    t->bars.title_dirty = true;
    t->in.dirty = true; /* the limit comes with WELCOME */
    t->users.dirty = true;
    tui_tick_update(t);
    break;
  case CLIENT_EV_DISCONNECTED:
    t->bars.dirty = t->bars.title_dirty = true;
    t->users.dirty = true;
    if (ev->fatal != CLIENT_FATAL_NONE) {
      char msg[CLIENT_REASON_SZ + 64];
      snprintf(msg, sizeof(msg), "%s  (/quit or Ctrl-C to exit)",
               ev->text && ev->text[0] ? ev->text : "disconnected");
      statusbar_notice(&t->bars, msg);
      t->exit_code = ev->fatal == CLIENT_FATAL_AUTH     ? 3
                     : ev->fatal == CLIENT_FATAL_KICKED ? 4
                                                        : 1;
    }
    tui_tick_update(t);
    break;
  case CLIENT_EV_JOINED:
  case CLIENT_EV_PARTED:
  case CLIENT_EV_WINDOW:
    t->chat.dirty = true;
    t->bars.dirty = t->bars.title_dirty = true;
    t->users.dirty = true;
    break;
  case CLIENT_EV_WINDOW_CLOSED:
    chatview_forget(&t->chat, ev->win);
    t->bars.dirty = t->bars.title_dirty = true;
    break;
  case CLIENT_EV_QUIT:
    t->quitting = true;
    if (!t->stopped && !uv_is_active((uv_handle_t *)&t->quit_timer))
      uv_timer_start(&t->quit_timer, tui_quit_timer_cb, TUI_QUIT_GRACE_MS, 0);
    break;
  case CLIENT_EV_STOPPED:
    t->stopped = true;
    tui_close_all(t);
    break;
  default:
    t->bars.dirty = true;
    break;
  }
}

/* ---- keys ------------------------------------------------------------------
 */

/* Switches to window index i. */
static void tui_switch(tui *t, size_t i) {
  const client_model *m = client_model_get(t->c);
  if (i < m->nwindows)
    client_window_switch(t->c, m->windows[i]);
}

/* Index of the current window. */
static size_t tui_current_index(tui *t) {
  const client_model *m = client_model_get(t->c);
  for (size_t i = 0; i < m->nwindows; i++)
    if (m->windows[i] == m->current)
      return i;
  return 0;
}

/* Moves to the next (+1) or previous (-1) window, wrapping. */
static void tui_cycle(tui *t, int dir) {
  const client_model *m = client_model_get(t->c);
  if (m->nwindows == 0)
    return;
  size_t i = tui_current_index(t);
  i = (i + m->nwindows + (size_t)(dir > 0 ? 1 : m->nwindows - 1)) % m->nwindows;
  tui_switch(t, i);
}

/* Changes the users pane width. */
static void tui_pane_width(tui *t, int w) {
  if (w < 0)
    w = 0;
  t->users_w = w == 0 ? 0 : layout_clamp_users(w, COLS);
  t->resized = true; /* re-layout on the next pass */
}

/* Runs the UI's own commands; returns true when line was one. */
static bool tui_local_command(tui *t, const char *line) {
  if (strncasecmp(line, "/search", 7) == 0 &&
      (line[7] == ' ' || line[7] == '\0')) {
    const char *q = line + 7;
    while (*q == ' ')
      q++;
    const client_model *m = client_model_get(t->c);
    if (!*q) {
      chatview_search(&t->chat, m->current, "");
      chatview_scroll(&t->chat, INT_MIN);
      statusbar_notice(&t->bars, "search cleared");
    } else if (chatview_search(&t->chat, m->current, q)) {
      char msg[200];
      snprintf(msg, sizeof(msg),
               "found \"%.100s\" (repeat /search for older; End to return)", q);
      statusbar_notice(&t->bars, msg);
    } else {
      char msg[200];
      snprintf(msg, sizeof(msg), "\"%.100s\" not found in this window", q);
      statusbar_notice(&t->bars, msg);
    }
    return true;
  }
  if (strncasecmp(line, "/panewidth", 10) == 0 &&
      (line[10] == ' ' || line[10] == '\0')) {
    char *end;
    long w = strtol(line + 10, &end, 10);
    if (end == line + 10 || w < 0 || w > 200) {
      statusbar_notice(&t->bars,
                       "usage: /panewidth N (0 hides the users pane)");
      return true;
    }
    tui_pane_width(t, (int)w);
    return true;
  }
  if (strcasecmp(line, "/keys") == 0) {
    statusbar_notice(&t->bars,
                     "Alt-1..9 window, Ctrl-N/P next/prev, PgUp/PgDn scroll, "
                     "Tab complete, Alt-Left/Right pane, /search TEXT");
    return true;
  }
  return false;
}

/* Sends the typed line to the core (or runs it locally). */
static void tui_submit(tui *t) {
  char *line = editline_submit(&t->ed);
  if (!line)
    return;
  t->in.dirty = true;
  if (line[0] == '\0') {
    free(line);
    return;
  }
  if (!tui_local_command(t, line)) {
    /* A line over the server's limit is still sent (the server's refusal
     * says why), but it stays in the input line so it can be shortened. */
    const client_model *mm = client_model_get(t->c);
    bool over = mm->limits.max_msg_chars &&
                input_message_chars(line) > (long)mm->limits.max_msg_chars;
    char err[512] = "";
    int r = client_command(t->c, NULL, line, err, sizeof(err));
    if (over)
      editline_insert(&t->ed, line, strlen(line));
    if (r < 0) {
      bool quit = strncasecmp(line, "/quit", 5) == 0 ||
                  strncasecmp(line, "/bye", 4) == 0;
      if (quit)
        tui_quit(t, NULL);
      else
        statusbar_notice(&t->bars, err[0] ? err : "command failed");
    } else if (strncasecmp(line, "/help", 5) == 0) {
      statusbar_notice(&t->bars, "keys: /keys; also /search TEXT, "
                                 "/panewidth N");
    }
    if (t->chat.scroll > 0 && line[0] != '/')
      chatview_scroll(&t->chat, INT_MIN); /* back to the conversation */
  }
  explicit_bzero(line, strlen(line));
  free(line);
}

/* Tab: completes nicks, rooms and commands. */
static void tui_complete(tui *t) {
  const client_model *m = client_model_get(t->c);
  size_t nh = 0;
  const client_help_entry *h = client_cmd_help(&nh);
  size_t cap = m->nusers + m->nwindows + nh + 8;
  const char **cands = malloc(cap * sizeof(*cands));
  char(*cmds)[32] = malloc((nh + 8) * sizeof(*cmds));
  if (!cands || !cmds) {
    free(cands);
    free(cmds);
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < m->nusers; i++)
    if (!m->users[i].self)
      cands[n++] = m->users[i].name;
  for (size_t i = 0; i < m->nwindows; i++)
    if (m->windows[i]->kind == CLIENT_WIN_ROOM)
      cands[n++] = m->windows[i]->name;
  size_t nc = 0;
  for (size_t i = 0; i < nh; i++) {
    size_t l = strcspn(h[i].command, " ");
    if (l >= sizeof(cmds[0]))
      continue;
    memcpy(cmds[nc], h[i].command, l);
    cmds[nc][l] = '\0';
    cands[n++] = cmds[nc++];
  }
  static const char *local[] = {"/search", "/panewidth", "/keys"};
  for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
    cands[n++] = local[i];
  editline_complete(&t->ed, cands, (int)n);
  free(cands);
  free(cmds);
}

/* Handles a key pressed with Alt (sent as Escape first). */
static void tui_alt_key(tui *t, int r, wint_t ch) {
  if (r == OK) {
    if (ch >= '0' && ch <= '9') {
      tui_switch(t, (size_t)(ch - '0'));
      return;
    }
    switch (ch) {
    case 'b':
    case 'B':
      editline_word_left(&t->ed);
      return;
    case 'f':
    case 'F':
      editline_word_right(&t->ed);
      return;
    case 127:
    case 8:
      editline_kill_word(&t->ed);
      return;
    case '<':
      chatview_scroll(&t->chat, INT_MAX);
      return;
    case '>':
      chatview_scroll(&t->chat, INT_MIN);
      return;
    default:
      return;
    }
  }
  switch (ch) {
  case KEY_LEFT:
    tui_pane_width(t, (t->users_w ? t->users_w : LAYOUT_USERS_MIN - 2) +
                          TUI_PANE_STEP);
    return;
  case KEY_RIGHT:
    tui_pane_width(t, t->users_w - TUI_PANE_STEP < LAYOUT_USERS_MIN
                          ? 0
                          : t->users_w - TUI_PANE_STEP);
    return;
  case KEY_UP:
  case KEY_PPAGE:
    userlist_scroll(&t->users, -(t->users.h > 2 ? t->users.h - 2 : 1));
    return;
  case KEY_DOWN:
  case KEY_NPAGE:
    userlist_scroll(&t->users, t->users.h > 2 ? t->users.h - 2 : 1);
    return;
  case KEY_HOME:
    chatview_scroll(&t->chat, INT_MAX);
    return;
  case KEY_END:
    chatview_scroll(&t->chat, INT_MIN);
    return;
  default:
    return;
  }
}

/* Handles one key from wget_wch. */
static void tui_key(tui *t, int r, wint_t ch) {
  editline *e = &t->ed;
  statusbar_notice(&t->bars, NULL);
  t->in.dirty = true;
  if (r == KEY_CODE_YES) {
    int k = (int)ch;
    if (k == TUI_KEY_PASTE_START) {
      t->paste = true;
      return;
    }
    if (k == TUI_KEY_PASTE_END) {
      t->paste = false;
      return;
    }
    if (k == t->k.alt_left && k) {
      tui_alt_key(t, KEY_CODE_YES, KEY_LEFT);
      return;
    }
    if (k == t->k.alt_right && k) {
      tui_alt_key(t, KEY_CODE_YES, KEY_RIGHT);
      return;
    }
    if ((k == t->k.alt_up || k == t->k.alt_pgup) && k) {
      tui_alt_key(t, KEY_CODE_YES, KEY_UP);
      return;
    }
    if ((k == t->k.alt_down || k == t->k.alt_pgdn) && k) {
      tui_alt_key(t, KEY_CODE_YES, KEY_DOWN);
      return;
    }
    if ((k == t->k.ctrl_home || k == t->k.alt_home) && k) {
      chatview_scroll(&t->chat, INT_MAX);
      return;
    }
    if ((k == t->k.ctrl_end || k == t->k.alt_end) && k) {
      chatview_scroll(&t->chat, INT_MIN);
      return;
    }
    switch (k) {
    case KEY_ENTER:
      tui_submit(t);
      return;
    case KEY_BACKSPACE:
      editline_backspace(e);
      return;
    case KEY_DC:
      editline_delete(e);
      return;
    case KEY_LEFT:
      editline_left(e);
      return;
    case KEY_RIGHT:
      editline_right(e);
      return;
    case KEY_HOME:
      if (e->len == 0)
        chatview_scroll(&t->chat, INT_MAX);
      else
        editline_home(e);
      return;
    case KEY_END:
      if (e->len == 0)
        chatview_scroll(&t->chat, INT_MIN);
      else
        editline_end(e);
      return;
    case KEY_UP:
      editline_hist_prev(e);
      return;
    case KEY_DOWN:
      editline_hist_next(e);
      return;
    case KEY_PPAGE:
      chatview_scroll(&t->chat, chatview_page(&t->chat));
      return;
    case KEY_NPAGE:
      chatview_scroll(&t->chat, -chatview_page(&t->chat));
      return;
    case KEY_F(11):
      tui_alt_key(t, KEY_CODE_YES, KEY_UP);
      return;
    case KEY_F(12):
      tui_alt_key(t, KEY_CODE_YES, KEY_DOWN);
      return;
    default:
      return; /* KEY_RESIZE and others: SIGWINCH handles resizing */
    }
  }
  switch (ch) {
  case 27: { /* Escape: an Alt-prefixed key, or Escape alone */
    wint_t c2;
    int r2 = wget_wch(t->keywin, &c2);
    if (r2 != ERR)
      tui_alt_key(t, r2, c2);
    return;
  }
  case '\r':
  case '\n':
    if (t->paste)
      editline_insert_cp(e, ' ');
    else
      tui_submit(t);
    return;
  case '\t':
    if (t->paste)
      editline_insert_cp(e, ' ');
    else
      tui_complete(t);
    return;
  case 1: /* Ctrl-A */
    editline_home(e);
    return;
  case 2: /* Ctrl-B */
    editline_left(e);
    return;
  case 4: /* Ctrl-D */
    editline_delete(e);
    return;
  case 5: /* Ctrl-E */
    editline_end(e);
    return;
  case 6: /* Ctrl-F */
    editline_right(e);
    return;
  case 8: /* Ctrl-H */
  case 127:
    editline_backspace(e);
    return;
  case 11: /* Ctrl-K */
    editline_kill_end(e);
    return;
  case 12: /* Ctrl-L: repaint everything */
    clearok(curscr, TRUE);
    tui_dirty_all(t);
    return;
  case 14: /* Ctrl-N */
    tui_cycle(t, 1);
    return;
  case 16: /* Ctrl-P */
    tui_cycle(t, -1);
    return;
  case 21: /* Ctrl-U */
    editline_kill_start(e);
    return;
  case 23: /* Ctrl-W */
    editline_kill_word(e);
    return;
  case 25: /* Ctrl-Y */
    editline_yank(e);
    return;
  default:
    if (ch >= 32 && ch != 127)
      editline_insert_cp(e, (uint32_t)ch);
    return;
  }
}

/* stdin is readable: handle the keys that are there, a bounded number. */
static void tui_keys_cb(uv_poll_t *h, int status, int events) {
  tui *t = h->data;
  (void)events;
  if (t->closing)
    return;
  if (status < 0) {
    tui_quit(t, NULL);
    return;
  }
  for (int i = 0; i < TUI_MAX_KEYS_PER_PASS; i++) {
    wint_t ch;
    int r = wget_wch(t->keywin, &ch);
    if (r == ERR)
      break;
    tui_key(t, r, ch);
    if (t->closing)
      return;
  }
}

/* ---- signals ------------------------------------------------------------- */

/* SIGWINCH: only note it; the next redraw pass re-lays out. */
static void tui_winch_cb(uv_signal_t *h, int sig) {
  tui *t = h->data;
  (void)sig;
  t->resized = true;
}

/* SIGINT (Ctrl-C), SIGTERM, SIGHUP: leave, restoring the terminal. */
static void tui_quit_sig_cb(uv_signal_t *h, int sig) {
  tui *t = h->data;
  if (sig == SIGHUP || sig == SIGTERM)
    client_stop(t->c);
  else
    tui_quit(t, NULL);
}

/* SIGTSTP (Ctrl-Z): suspend on the next pass. */
static void tui_tstp_cb(uv_signal_t *h, int sig) {
  tui *t = h->data;
  (void)sig;
  t->suspend = true;
}

/* Leaves curses, stops with the default SIGTSTP action, comes back. */
static void tui_do_suspend(tui *t) {
  t->suspend = false;
  tui_screen_off();
  uv_signal_stop(&t->sig_tstp); /* restores SIG_DFL */
  raise(SIGTSTP);               /* stops here until SIGCONT */
  uv_signal_start(&t->sig_tstp, tui_tstp_cb, SIGTSTP);
  if (t->bracketed) {
    fputs("\033[?2004h", stdout);
    fflush(stdout);
  }
  refresh(); /* back into curses mode */
  t->resized = true;
  clearok(curscr, TRUE);
}

/* ---- redraw pass -------------------------------------------------------- */

/* Draws the separator column. */
static void tui_draw_sep(tui *t) {
  if (!t->sep)
    return;
  werase(t->sep);
  wattrset(t->sep, theme_attr(THEME_SEP));
  /* A plain character, not the alternate charset: the same bytes on every
   * terminal, and screen readers and capture-pane see what is there. */
  for (int y = 0; y < t->lay.sep.h; y++)
    mvwaddstr(t->sep, y, 0, theme_vline());
  wattrset(t->sep, A_NORMAL);
}

/* Draws the too-small notice on stdscr. */
static void tui_draw_too_small(tui *t) {
  (void)t;
  werase(stdscr);
  char msg[96];
  snprintf(msg, sizeof(msg), "%s (need %dx%d)", LAYOUT_TOO_SMALL,
           LAYOUT_MIN_COLS, LAYOUT_MIN_ROWS);
  mvwaddnstr(stdscr, 0, 0, msg, COLS);
  wnoutrefresh(stdscr);
}

/* A terminfo string capability, or NULL when the terminal lacks it. */
static const char *tui_cap(const char *s) {
  return s && s != (const char *)-1 && *s ? s : NULL;
}

/* Can the terminal scroll a band of rows for us (tui_scroll_ahead)? */
static bool tui_hw_scroll_ok(void) {
  if (getenv("PARLEY_NO_HW_SCROLL"))
    return false;
  return tui_cap(change_scroll_region) && tui_cap(save_cursor) &&
         tui_cap(restore_cursor) && tui_cap(scroll_forward) &&
         tui_cap(cursor_address);
}

/* Cells in columns [x0, x1) that differ between rows a and b of w (a
 * copy of curscr; reading moves its cursor). */
static int tui_row_diff(WINDOW *w, int a, int b, int x0, int x1) {
  int n = 0;
  for (int x = x0; x < x1; x++) {
    cchar_t ca, cb;
    if (mvwin_wch(w, a, x, &ca) == ERR || mvwin_wch(w, b, x, &cb) == ERR)
      return n + (x1 - x);
    if (memcmp(&ca, &cb, sizeof(ca)) != 0)
      n++;
  }
  return n ? n + 6 : 0; /* and a cursor move */
}

/* The first row of the band to scroll: rows above it keep their place
 * (their chat text is repainted), rows from it down move (the cells right
 * of the chat that differ are repainted). Picks the cheaper split: with
 * few users listed, the rows beside them are best left in place. pic is
 * a copy of curscr before the scroll. */
static int tui_scroll_top(const tui *t, WINDOW *pic, int k) {
  const layout_rect *r = &t->lay.chat;
  int top = r->y, bot = r->y + r->h - 1;
  long stay = 0, move = 0; /* cost above the split, from the split down */
  for (int i = top; i <= bot - k; i++)
    move += tui_row_diff(pic, i, i + k, r->w, COLS);
  long best = move;
  int best_s = top;
  for (int s = top + 1; s <= bot - k; s++) {
    stay += tui_row_diff(pic, s - 1, s - 1 + k, 0, r->w);
    move -= tui_row_diff(pic, s - 1, s - 1 + k, r->w, COLS);
    if (stay + move < best) {
      best = stay + move;
      best_s = s;
    }
  }
  return best_s;
}

/* The chat pane scrolled up by k rows at the live end: scroll the same
 * rows of the terminal (full width) ourselves and tell curses, so that
 * doupdate finds the chat text already in place. ncurses would only use
 * the terminal's scrolling for rows whose whole content moved, and the
 * users pane beside the chat makes most rows differ, so it repainted the
 * pane instead. Afterwards doupdate repaints only the cells that differ
 * (users pane entries, the new bottom rows). Runs between doupdates, when
 * the terminal's attributes are normal (doupdate ends with them reset) and
 * curses has nothing buffered (doupdate flushes its own buffer at the
 * end); our bytes go through putp to stdout, flushed before doupdate. */
static void tui_scroll_ahead(tui *t, int k) {
  const layout_rect *r = &t->lay.chat;
  if (!t->hw_scroll || k < 1 || k >= r->h || r->x != 0 || r->y < 0 ||
      r->y + r->h > LINES || r->w > COLS || is_cleared(curscr))
    return;
  /* curscr's picture after the scroll, built on a copy: the rows of
   * curscr are then zeroed by wredrawln, which also rehashes them, so the
   * hashmap of the next doupdate does not match them against their old
   * places (its cached hashes of curscr would otherwise be stale, and it
   * would scroll the rows a second time). */
  WINDOW *pic = dupwin(curscr);
  if (!pic)
    return;
  int top = tui_scroll_top(t, pic, k), bot = r->y + r->h - 1;
  wsetscrreg(pic, top, bot);
  scrollok(pic, TRUE);
  int rc = wscrl(pic, k);
  scrollok(pic, FALSE);
  wsetscrreg(pic, 0, LINES - 1);
  if (rc != OK || wredrawln(pic, top, bot - top + 1) != OK) {
    delwin(pic);
    clearok(curscr, TRUE); /* curscr may be part-zeroed: repaint all */
    return;
  }
  putp(save_cursor);
  putp(tiparm(change_scroll_region, top, bot));
  putp(tiparm(cursor_address, bot, 0));
  const char *pind = tui_cap(parm_index);
  if (k > 1 && pind)
    putp(tiparm(pind, k));
  else
    for (int i = 0; i < k; i++)
      putp(scroll_forward);
  putp(tiparm(change_scroll_region, 0, LINES - 1));
  putp(restore_cursor);
  fflush(stdout); /* putp writes to stdout; doupdate writes to the fd */
  /* Rows top..bot of curscr from the scrolled copy; copywin touches them,
   * so doupdate compares each with what the windows want. */
  if (copywin(pic, curscr, top, 0, top, 0, bot, COLS - 1, FALSE) != OK)
    clearok(curscr, TRUE);
  delwin(pic);
}

/* One pass per loop iteration: draw what is dirty, then one doupdate. */
static void tui_redraw_cb(uv_prepare_t *h) {
  tui *t = h->data;
  if (t->closing || !t->screen_on)
    return;
  if (t->suspend)
    tui_do_suspend(t);
  if (t->resized) {
    t->resized = false;
    tui_resize(t);
  } else if (t->laid_xfers != tui_xfer_count(t)) {
    tui_relayout(t); /* the transfers pane appears or changes height */
  }
  if (t->lay.too_small) {
    if (t->all_dirty) {
      t->all_dirty = false;
      tui_draw_too_small(t);
      doupdate();
      t->redraws++;
    }
    return;
  }
  if (t->all_dirty) {
    t->all_dirty = false;
    tui_dirty_all(t);
  }
  const client_model *m = client_model_get(t->c);
  bool any = false;
  if ((t->bars.title_dirty || t->bars.dirty) && t->bars.title) {
    /* Both bars in one go; an untouched window costs nothing to refresh. */
    statusbar_draw(&t->bars, t->c);
    wnoutrefresh(t->bars.title);
    wnoutrefresh(t->bars.status);
    any = true;
  }
  if (t->chat.dirty && t->chat.win) {
    chatview_draw(&t->chat, m->current);
    tui_scroll_ahead(t, t->chat.scrolled);
    wnoutrefresh(t->chat.win);
    any = true;
  }
  if (t->sep_dirty && t->sep) {
    t->sep_dirty = 0;
    tui_draw_sep(t);
    wnoutrefresh(t->sep);
    any = true;
  }
  if (t->users.dirty && t->users.win) {
    userlist_draw(&t->users, t->c);
    wnoutrefresh(t->users.win);
    any = true;
  }
  if (t->prog.dirty && t->prog.win) {
    progress_draw(&t->prog, (const xfer *const *)t->xfers, t->nxfers);
    wnoutrefresh(t->prog.win);
    any = true;
  }
  if (t->in.dirty || any) {
    /* Always last, so the terminal cursor ends on the input line. */
    unsigned limit = m->state == CLIENT_CONNECTED || m->limits.max_msg_chars
                         ? m->limits.max_msg_chars
                         : 0;
    input_draw(&t->in, &t->ed, limit);
    doupdate();
    t->redraws++;
  }
}

/* ---- start-up ------------------------------------------------------------ */

/* Picks up the terminfo codes of modified arrow keys. */
static int tui_key_code(const char *cap) {
  char *s = tigetstr((char *)cap);
  if (!s || s == (char *)-1)
    return 0;
  int k = key_defined(s);
  return k > 0 ? k : 0;
}

/* A modified key from terminfo, else its xterm form bound to code: tmux,
 * screen and most emulators send ESC [ 1 ; 3 D even when the terminfo
 * entry (screen, screen-256color, linux) does not name the key. */
static int tui_key_xterm(const char *cap, const char *seq, int code) {
  int k = tui_key_code(cap);
  if (k)
    return k;
  return define_key(seq, code) == OK ? code : 0;
}

/* Curses set-up: modes, colours, key codes. */
static int tui_screen_on(tui *t) {
  if (!initscr())
    return -1;
  t->screen_on = true;
  atexit(tui_screen_off);
  cbreak();
  noecho();
  nonl();
  intrflush(stdscr, FALSE);
  typeahead(-1); /* never abandon a refresh half-way */
  set_escdelay(25);
  curs_set(1);
  theme_init();
  t->hw_scroll = tui_hw_scroll_ok();
  t->keywin = newpad(1, 1);
  if (!t->keywin)
    return -1;
  keypad(t->keywin, TRUE);
  nodelay(t->keywin, TRUE);
  const char *term = getenv("TERM");
  t->bracketed = !(term && strncmp(term, "linux", 5) == 0) &&
                 !getenv("PARLEY_NO_PASTE_MODE");
  if (t->bracketed) {
    define_key("\033[200~", TUI_KEY_PASTE_START);
    define_key("\033[201~", TUI_KEY_PASTE_END);
    fputs("\033[?2004h", stdout);
    fflush(stdout);
  }
  t->k.alt_left = tui_key_xterm("kLFT3", "\033[1;3D", KEY_MAX + 110);
  t->k.alt_right = tui_key_xterm("kRIT3", "\033[1;3C", KEY_MAX + 111);
  t->k.alt_up = tui_key_xterm("kUP3", "\033[1;3A", KEY_MAX + 112);
  t->k.alt_down = tui_key_xterm("kDN3", "\033[1;3B", KEY_MAX + 113);
  t->k.ctrl_home = tui_key_xterm("kHOM5", "\033[1;5H", KEY_MAX + 114);
  t->k.ctrl_end = tui_key_xterm("kEND5", "\033[1;5F", KEY_MAX + 115);
  t->k.alt_home = tui_key_xterm("kHOM3", "\033[1;3H", KEY_MAX + 116);
  t->k.alt_end = tui_key_xterm("kEND3", "\033[1;3F", KEY_MAX + 117);
  t->k.alt_pgup = tui_key_xterm("kPRV3", "\033[5;3~", KEY_MAX + 118);
  t->k.alt_pgdn = tui_key_xterm("kNXT3", "\033[6;3~", KEY_MAX + 119);
  tui_crash_handlers(t->bracketed);
  /* ncurses flushes after every cursor motion until the screen has been
   * suspended and resumed once (its "_endwin == ewInitial" state), which
   * splits one update into many write() calls, each an SSH packet. One
   * endwin/doupdate cycle now makes every later doupdate a single write. */
  endwin();
  doupdate();
  tui_relayout(t);
  return 0;
}

/* Starts a signal watcher; returns the uv result. */
static int tui_signal(tui *t, uv_signal_t *s, uv_signal_cb cb, int sig) {
  int r = uv_signal_init(&t->loop, s);
  if (r == 0) {
    s->data = t;
    r = uv_signal_start(s, cb, sig);
  }
  return r;
}

/* Makes sure wcwidth and curses see UTF-8. */
static void tui_locale(void) {
  setlocale(LC_ALL, "");
  const char *cs = nl_langinfo(CODESET);
  if (!cs || strcasecmp(cs, "UTF-8") != 0)
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
      setlocale(LC_CTYPE, "en_US.UTF-8");
}

/* Entry point of the interactive client. */
int tui_main(int argc, char **argv, const tui_hooks *hooks) {
  tui_locale();
  tui *t = calloc(1, sizeof(*t));
  if (!t) {
    fprintf(stderr, "parley: out of memory\n");
    return 1;
  }
  t->hooks = hooks;
  char err[512];
  if (client_opts_parse(&t->opts, argc, argv, err, sizeof(err)) < 0) {
    fprintf(stderr, "parley: %s\n", err);
    free(t);
    return 2;
  }
  /* An idle TUI makes no wakeups: lag is probed when the user acts, and the
   * kernel's TCP keepalive watches the link. */
  t->opts.ping_ms = 0;
  if (t->opts.mode == CLIENT_MODE_HELP) {
    fputs(client_opts_usage(), stdout);
    client_opts_free(&t->opts);
    free(t);
    return 0;
  }
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    fprintf(stderr, "parley: the terminal UI needs a terminal; use --batch "
                    "for scripts\n");
    client_opts_free(&t->opts);
    free(t);
    return 2;
  }
  int rc = tui_password(&t->opts);
  if (rc) {
    client_opts_free(&t->opts);
    free(t);
    return rc;
  }
  if (tcgetattr(STDIN_FILENO, &tui_saved_tio) == 0)
    tui_have_tio = true;
  t->users_w = LAYOUT_USERS_DEFAULT;
  chatview_init(&t->chat);
  userlist_init(&t->users);
  statusbar_init(&t->bars);
  input_init(&t->in);
  progress_init(&t->prog);
  editline_init(&t->ed);
  int r = uv_loop_init(&t->loop);
  if (r < 0) {
    fprintf(stderr, "parley: %s\n", uv_strerror(r));
    client_opts_free(&t->opts);
    free(t);
    return 1;
  }
  t->c = client_new(&t->loop, &t->opts, tui_on_event, t);
  if (!t->c) {
    fprintf(stderr, "parley: out of memory\n");
    uv_loop_close(&t->loop);
    client_opts_free(&t->opts);
    free(t);
    return 1;
  }
  /* Signal watchers first: curses then leaves these signals to us. */
  r = tui_signal(t, &t->sig_winch, tui_winch_cb, SIGWINCH);
  if (r == 0)
    r = tui_signal(t, &t->sig_int, tui_quit_sig_cb, SIGINT);
  if (r == 0)
    r = tui_signal(t, &t->sig_term, tui_quit_sig_cb, SIGTERM);
  if (r == 0)
    r = tui_signal(t, &t->sig_hup, tui_quit_sig_cb, SIGHUP);
  if (r == 0)
    r = tui_signal(t, &t->sig_tstp, tui_tstp_cb, SIGTSTP);
  if (r == 0 && (r = uv_timer_init(&t->loop, &t->tick)) == 0)
    t->tick.data = t;
  if (r == 0 && (r = uv_timer_init(&t->loop, &t->quit_timer)) == 0)
    t->quit_timer.data = t;
  if (r == 0 && (r = uv_prepare_init(&t->loop, &t->redraw)) == 0) {
    t->redraw.data = t;
    r = uv_prepare_start(&t->redraw, tui_redraw_cb);
  }
  if (r == 0 && tui_screen_on(t) < 0)
    r = UV_EIO;
  if (r == 0 &&
      (r = uv_poll_init(&t->loop, &t->keys_poll, STDIN_FILENO)) == 0) {
    t->keys_poll.data = t;
    r = uv_poll_start(&t->keys_poll, UV_READABLE, tui_keys_cb);
  }
  if (r == 0 && hooks && hooks->start) {
    hooks->start(t);
    tui_relayout(t);
  }
  if (r == 0)
    r = client_start(t->c);
  if (r < 0) {
    tui_screen_off();
    fprintf(stderr, "parley: cannot start: %s\n", uv_strerror(r));
    t->exit_code = 1;
    client_stop(t->c);
    tui_close_all(t);
  }
  uv_run(&t->loop, UV_RUN_DEFAULT);
  if (!t->closing) { /* the loop ran dry without STOPPED: close anyway */
    tui_close_all(t);
    uv_run(&t->loop, UV_RUN_DEFAULT);
  }
  tui_screen_off();
  client_fatal f = client_fatal_get(t->c);
  if (f == CLIENT_FATAL_AUTH)
    fprintf(stderr, "parley: login failed\n");
  client_free(t->c);
  chatview_free(&t->chat);
  userlist_free(&t->users);
  statusbar_free(&t->bars);
  input_free(&t->in);
  progress_free(&t->prog);
  if (t->sep)
    delwin(t->sep);
  if (t->keywin)
    delwin(t->keywin);
  editline_free(&t->ed);
  for (size_t i = 0; i < t->nxfers; i++)
    free(t->xfers[i]);
  if (uv_loop_close(&t->loop) != 0)
    fprintf(stderr, "parley: warning: handles left open at exit\n");
  int code = t->exit_code;
  client_opts_free(&t->opts);
  free(t);
  return code;
}
