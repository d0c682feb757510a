/* tui.c: the full-screen client: loop glue between the client core, the
 * keyboard and the views.
 *
 * Everything runs on one libuv loop. The core and the key handler only
 * change the model and mark views dirty; one uv_prepare_t pass per loop
 * iteration draws the dirty views (wnoutrefresh each) and calls doupdate()
 * once. Nothing ticks while idle: the only timer runs while reconnecting
 * (the countdown) or while transfers are live (progress, 4 Hz). */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <uv.h>

#include "chatview.h"
#include "client.h"
#include "editline.h"
#include "hwscroll.h"
#include "input.h"
#include "keymap.h"
#include "layout.h"
#include "progress.h"
#include "statusbar.h"
#include "terminal.h"
#include "theme.h"
#include "tui.h"
#include "userlist.h"
#include "xfer.h"

#define TUI_MAX_KEYS_PER_PASS 4096 /* keys handled before yielding */
#define TUI_QUIT_GRACE_MS 2000     /* wait for BYE to flush, then stop */
#define TUI_XFER_TICK_MS 250       /* progress refresh while transfers run */
#define TUI_MAX_XFERS 64
#define TUI_PANE_STEP 2
#define TUI_MAX_KNOWN 2000 /* names remembered to spot who comes back */
/* After a reconnect, joins of known names are returns (no "joined" line)
 * for this long, in seconds. */
#define TUI_RETURN_S 300
#define TUI_SEARCH_PROMPT "(search) "
#define TUI_TRUST_PROMPT "Trust this server? (yes/no/[fingerprint]) "
#define TUI_SEARCH_FAILED "(search: not found) "
/* Bytes of a password typed again in the input line: 256 characters (the
 * wire's limit) of up to 4 bytes, and the terminating NUL. */
#define TUI_PW_MAX (4 * 256 + 1)

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
  bool paste;            /* inside a bracketed paste */
  bool paste_cut;        /* the paste did not fit the input line */
  keymap_paste paste_st; /* escape sequences inside the paste */
  bool bracketed;        /* bracketed paste mode enabled */
  bool all_dirty;        /* everything must be redrawn */
  bool hw_scroll;        /* the terminal can scroll for us: see hwscroll.h */
  int sep_dirty;
  int users_w;       /* users pane width the user asked for */
  bool bell;         /* /set bell: ring on a DM or mention in another window */
  bool ring;         /* ring the bell on the next redraw pass */
  bool searching;    /* Ctrl-R incremental search is on */
  editline sed;      /* the search text while searching */
  bool pw_asking;    /* a refused login: the input line asks the password */
  bool trust_asking; /* first contact: the input line asks about the key */
  char pw[TUI_PW_MAX]; /* what was typed there; wiped after use */
  size_t pw_len;       /* bytes in pw */
  char pw_prompt[CLIENT_NAME_SZ + CLIENT_HOST_SZ + 64]; /* its prompt */
  editline pw_blank; /* stays empty: drawn instead of the password */
  bool asking;       /* a yes/no question (CLIENT_EV_ASK) in the input line */
  char ask_prompt[CLIENT_REASON_SZ + 600]; /* its text */
  char login_error[CLIENT_REASON_SZ];      /* the last refusal, for stderr */
  time_t down_since; /* wall clock of the last lost connection, 0 if up */
  bool was_up;       /* logged in at least once */
  char (*known)[CLIENT_NAME_SZ]; /* who is online, as of the last time we
                                    were connected */
  size_t nknown;
  bool known_dirty;               /* presence changed: take the list again */
  char (*before)[CLIENT_NAME_SZ]; /* who was online before the outage and
                                     is not back yet */
  size_t nbefore;
  time_t returning; /* reconnected at; joins of those before hidden */
  layout lay;
  WINDOW *keywin; /* a pad we read keys from (no implicit refresh) */
  WINDOW *sep;
  chatview chat;
  userlist users;
  statusbar bars;
  input in;
  progress prog;
  editline ed;
  keymap keys;                /* this terminal's codes for modified keys */
  xfer *xfers[TUI_MAX_XFERS]; /* transfers shown in the pane */
  struct tui_xrow {           /* how xfers[i] is shown */
    char state[16];           /* the core's state name, "" for hook rows */
    const char *path;         /* "direct", "relay" or NULL: not known */
    bool core;                /* fed by the core: lingers when ended */
    bool gone;                /* lingered PROGRESS_LINGER_MS: hidden */
    uint64_t ended_ms;        /* tui_now when seen ended, 0 while live */
  } xrow[TUI_MAX_XFERS];
  size_t nxfers;
  size_t laid_xfers;      /* nxfers when the layout was computed */
  const tui_hooks *hooks; /* test code feeding the TUI, or NULL */
  int exit_code;
  uint64_t redraws; /* passes that called doupdate, for the debug log */
};

/* ---- password prompt ---------------------------------------------------- */

/* Gets the password from the options' sources or the terminal. Returns 0
 * or an exit status. */
static int tui_password(client_opts *o) {
  char err[512];
  int r = client_opts_password(o, err, sizeof(err));
  if (r < 0) {
    fprintf(stderr, "parley: %s\n", err);
    return 2;
  }
  if (r == 0) { /* from a file or the environment: no one to ask again */
    if (client_opts_check_password(o, err, sizeof(err)) < 0) {
      fprintf(stderr, "parley: %s\n", err);
      return 2;
    }
    return 0;
  }
  char prompt[CLIENT_NAME_SZ + CLIENT_HOST_SZ + 128];
  char *p = NULL;
  for (unsigned i = 0;; i++) {
    /* A password the server would refuse (under 8 characters when
     * registering) is asked again here, before anything is sent; why
     * goes on a line of its own above the prompt. */
    snprintf(prompt, sizeof(prompt), "%s%s for %s@%s: ",
             !i               ? ""
             : o->do_register ? "The password needs 8 to 256 characters.\n"
                              : "The password has at most 256 characters.\n",
             o->do_register ? "New password" : "Password", o->user, o->host);
    p = terminal_read_secret(prompt);
    if (!p) {
      fprintf(stderr, "parley: no password given (use PARLEY_PASSWORD or "
                      "--password-file)\n");
      return 2;
    }
    o->password = p;
    r = client_opts_check_password(o, err, sizeof(err));
    o->password = NULL;
    if (r == 0)
      break;
    explicit_bzero(p, strlen(p));
    free(p);
    if (i + 1 >= CLIENT_LOGIN_TRIES) {
      fprintf(stderr, "parley: %s\n", err);
      return 2;
    }
  }
  if (o->do_register) {
    char *q = terminal_read_secret("Repeat the password: ");
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

/* Number of transfers the pane holds (hook rows and lingered ones too). */
size_t tui_xfer_count(const tui *t) {
  return t->nxfers;
}

/* Number of rows the pane shows: finished ones leave after lingering. */
static size_t tui_xfer_shown(const tui *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->nxfers; i++)
    n += !t->xrow[i].gone;
  return n;
}

/* Recomputes the layout and gives every view a fresh window. */
static void tui_relayout(tui *t) {
  t->laid_xfers = tui_xfer_shown(t);
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
  /* What a local listing (/who in columns) may fill after the prefix of
   * an info line ("12:34 == "). */
  client_line probe = {.ts_ms = (uint64_t)time(NULL) * 1000,
                       .flags = CLIENT_LINE_INFO};
  chatview_prefix pre;
  chatview_format_prefix(&probe, &pre);
  int text_w = l->too_small ? 0 : l->chat.w - (int)strlen(pre.text) - 1;
  if (t->c)
    client_set_width(t->c, text_w > 0 ? (unsigned)text_w : 0);
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
  bool live = false; /* a row moves, or a finished one is still shown */
  for (size_t i = 0; i < t->nxfers; i++)
    live = live || xfer_is_live(t->xfers[i]) ||
           (t->xrow[i].core && !t->xrow[i].gone);
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
static void tui_xfer_update(tui *t, const client_transfer *ct);

static void tui_tick_cb(uv_timer_t *h) {
  tui *t = h->data;
  if (t->closing)
    return;
  /* Progress events are rate-limited: take the core's latest figures. */
  const client_model *cm = client_model_get(t->c);
  for (size_t i = 0; i < cm->nxfers; i++)
    tui_xfer_update(t, cm->xfers[i]);
  /* Finished rows linger, then leave (the next pass lays the pane out
   * again); with none left the timer stops. */
  uint64_t now = tui_now(t);
  for (size_t i = 0; i < t->nxfers; i++) {
    struct tui_xrow *r = &t->xrow[i];
    if (r->core && !r->gone && r->ended_ms &&
        now - r->ended_ms >= PROGRESS_LINGER_MS)
      r->gone = true;
  }
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
  t->xrow[t->nxfers] = (struct tui_xrow){.core = false};
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

static void tui_pane_names(tui *t);

/* Logged in: after an outage, say in each room window when the link went
 * down and came back, where the reader sees the gap. */
static void tui_outage_end(tui *t) {
  bool was = t->was_up;
  t->was_up = true;
  if (!was || !t->down_since)
    return;
  time_t now = time(NULL);
  struct tm a, b;
  char ta[16] = "?", tb[16] = "?";
  if (localtime_r(&t->down_since, &a))
    strftime(ta, sizeof(ta), "%H:%M", &a);
  if (localtime_r(&now, &b))
    strftime(tb, sizeof(tb), "%H:%M", &b);
  t->down_since = 0;
  t->returning = now;
  char msg[64];
  snprintf(msg, sizeof(msg), "disconnected %s, back %s", ta, tb);
  const client_model *m = client_model_get(t->c);
  for (size_t i = 0; i < m->nwindows; i++)
    if (m->windows[i]->kind == CLIENT_WIN_ROOM)
      client_note(t->c, m->windows[i], CLIENT_LINE_NOTICE, msg);
}

/* Remembers who is online while connected (also just after an outage: a
 * second one may follow within TUI_RETURN_S), so that their joins after an
 * outage are known as returns. At most TUI_MAX_KNOWN names; called from
 * the redraw pass, so once per loop iteration at most. */
static void tui_known_update(tui *t) {
  const client_model *m = client_model_get(t->c);
  if (t->returning && time(NULL) - t->returning > TUI_RETURN_S)
    t->returning = 0;
  if (!t->known_dirty || m->state != CLIENT_CONNECTED)
    return;
  t->known_dirty = false;
  if (!t->known) {
    t->known = malloc(TUI_MAX_KNOWN * sizeof(*t->known));
    if (!t->known)
      return;
  }
  size_t n = m->nusers < TUI_MAX_KNOWN ? m->nusers : TUI_MAX_KNOWN;
  for (size_t i = 0; i < n; i++)
    memcpy(t->known[i], m->users[i].name, CLIENT_NAME_SZ);
  t->nknown = n;
}

/* The link went down: who was online is who may come back. The returns
 * had used up the list taken before an earlier outage, so it is taken
 * again; those from the earlier one not back yet (it was less than
 * TUI_RETURN_S ago) stay in it. */
static void tui_outage_begin(tui *t) {
  if (!t->was_up || t->down_since)
    return;
  t->down_since = time(NULL);
  if (!t->returning || t->down_since - t->returning > TUI_RETURN_S)
    t->nbefore = 0;
  t->returning = 0;
  if (!t->before) {
    t->before = malloc(TUI_MAX_KNOWN * sizeof(*t->before));
    if (!t->before)
      return;
  }
  for (size_t i = 0; i < t->nknown && t->nbefore < TUI_MAX_KNOWN; i++) {
    size_t j = 0;
    while (j < t->nbefore && strcasecmp(t->before[j], t->known[i]) != 0)
      j++;
    if (j == t->nbefore)
      memcpy(t->before[t->nbefore++], t->known[i], CLIENT_NAME_SZ);
  }
}

/* A join notice after an outage: true (and forgotten, so a later join
 * shows) when name was online before it. */
static bool tui_is_return(tui *t, const char *name) {
  if (!t->returning || !name || !name[0])
    return false;
  if (time(NULL) - t->returning > TUI_RETURN_S || t->nbefore == 0) {
    t->returning = 0;
    return false;
  }
  for (size_t i = 0; i < t->nbefore; i++)
    if (strcasecmp(t->before[i], name) == 0) {
      memcpy(t->before[i], t->before[--t->nbefore], CLIENT_NAME_SZ);
      return true;
    }
  return false;
}

/* A real transfer changed: the pane shows a copy of its model, found by
 * offer id, peer and direction, added on first sight. */
static void tui_xfer_update(tui *t, const client_transfer *ct) {
  size_t i = 0;
  while (i < t->nxfers &&
         !(t->xfers[i]->id == ct->m.id && t->xfers[i]->dir == ct->m.dir &&
           strcmp(t->xfers[i]->peer, ct->m.peer) == 0))
    i++;
  if (i == t->nxfers) {
    xfer *x = malloc(sizeof *x);
    if (x == NULL)
      return;
    *x = ct->m;
    if (!tui_xfer_add(t, x)) {
      free(x);
      return;
    }
  }
  struct tui_xrow *r = &t->xrow[i];
  *t->xfers[i] = ct->m;
  r->core = true;
  snprintf(r->state, sizeof(r->state), "%s", client_transfer_state(ct));
  r->path = !ct->path_known ? NULL : ct->relay ? "relay" : "direct";
  if (xfer_is_live(&ct->m)) { /* a resumed transfer shows again */
    r->gone = false;
    r->ended_ms = 0;
  } else if (r->ended_ms == 0) {
    r->ended_ms = tui_now(t);
  }
  t->prog.dirty = true;
  tui_tick_update(t);
}

/* The core changed the model: mark what shows it. */
/* Leaves the password prompt, wiping what was typed. */
static void tui_pw_end(tui *t) {
  explicit_bzero(t->pw, sizeof(t->pw));
  t->pw_len = 0;
  if (t->pw_asking) {
    t->pw_asking = false;
    t->in.prompt = NULL;
    t->in.dirty = true;
  }
}

/* A login refused for a wrong password: asks for it again in the input
 * line, echo off (try is the number of the coming try). */
static void tui_pw_ask(tui *t, unsigned try) {
  tui_pw_end(t);
  if (t->searching) {
    t->searching = false;
    chatview_search(&t->chat, client_model_get(t->c)->current, "");
  }
  snprintf(t->pw_prompt, sizeof(t->pw_prompt),
           "Password for %s@%s (try %u of %u): ", t->opts.user, t->opts.host,
           try, (unsigned)CLIENT_LOGIN_TRIES);
  t->pw_asking = true;
  t->in.prompt = t->pw_prompt;
  t->in.dirty = true;
  char msg[CLIENT_REASON_SZ + 32];
  snprintf(msg, sizeof(msg), "%s  (Esc gives up)", t->login_error);
  statusbar_notice(&t->bars, msg);
}

/* Enter at the password prompt: tries the login again with it. */
static void tui_pw_submit(tui *t) {
  if (t->pw_len == 0)
    return; /* nothing typed yet: keep asking */
  t->pw[t->pw_len] = '\0';
  int r = client_login_retry(t->c, t->pw);
  tui_pw_end(t);
  if (r == 0)
    t->exit_code = 0; /* a new try: the refusal no longer stands */
  if (r < 0) {
    statusbar_notice(&t->bars, uv_strerror(r));
    tui_quit(t, NULL);
  }
}

/* A key at the password prompt: text is kept, never shown; Backspace and
 * Ctrl-U edit; Enter submits; anything else is ignored. */
static void tui_pw_key(tui *t, keymap_action a, wint_t ch) {
  switch (a) {
  case KEYMAP_INSERT: {
    char u[4];
    uint32_t cp = (uint32_t)ch;
    size_t n;
    if (cp < 0x80) {
      u[0] = (char)cp;
      n = 1;
    } else if (cp < 0x800) {
      u[0] = (char)(0xC0 | cp >> 6);
      u[1] = (char)(0x80 | (cp & 0x3F));
      n = 2;
    } else if (cp < 0x10000) {
      u[0] = (char)(0xE0 | cp >> 12);
      u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
      u[2] = (char)(0x80 | (cp & 0x3F));
      n = 3;
    } else if (cp < 0x110000) {
      u[0] = (char)(0xF0 | cp >> 18);
      u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
      u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
      u[3] = (char)(0x80 | (cp & 0x3F));
      n = 4;
    } else {
      return;
    }
    if (t->pw_len + n < sizeof(t->pw)) { /* room for the NUL */
      memcpy(t->pw + t->pw_len, u, n);
      t->pw_len += n;
    }
    explicit_bzero(u, sizeof(u));
    return;
  }
  case KEYMAP_BACKSPACE: /* one code point: back over continuation bytes */
    while (t->pw_len > 0 && ((unsigned char)t->pw[--t->pw_len] & 0xC0) == 0x80)
      t->pw[t->pw_len] = '\0';
    t->pw[t->pw_len] = '\0';
    return;
  case KEYMAP_KILL_START:
  case KEYMAP_KILL_WORD:
    explicit_bzero(t->pw, sizeof(t->pw));
    t->pw_len = 0;
    return;
  case KEYMAP_SUBMIT:
    tui_pw_submit(t);
    return;
  default:
    return;
  }
}

/* A key while a yes/no question is asked: y answers yes, anything else
 * no (Enter alone keeps the default, [y/N]). */
static void tui_ask_key(tui *t, int r, wint_t ch) {
  bool yes = r != KEY_CODE_YES && (ch == 'y' || ch == 'Y');
  t->asking = false;
  t->in.prompt = NULL;
  t->in.dirty = true;
  (void)client_folder_answer(t->c, yes);
}

static void tui_on_event(client *c, const client_event *ev, void *ud) {
  tui *t = ud;
  (void)c;
  switch (ev->type) {
  case CLIENT_EV_ASK:
    if (t->pw_asking)
      break;
    snprintf(t->ask_prompt, sizeof t->ask_prompt, "%s ", ev->text);
    t->asking = true;
    t->in.prompt = t->ask_prompt;
    t->in.dirty = true;
    break;
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
      /* The bell (and with it tmux's and screen's activity flag) for a
       * live direct message or mention we do not see. */
      if (ev->type == CLIENT_EV_MESSAGE && t->bell && ev->win && ev->line &&
          !(ev->line->flags & (CLIENT_LINE_SELF | CLIENT_LINE_BACKLOG)) &&
          (ev->win->kind == CLIENT_WIN_QUERY ||
           (ev->line->flags & CLIENT_LINE_HIGHLIGHT)))
        t->ring = true;
    }
    if (ev->type == CLIENT_EV_NOTICE) {
      t->bars.title_dirty = true; /* topics, member counts */
      if (t->users.room_mode)
        t->users.dirty = true; /* joins, parts and quits change the pane */
      /* Someone who was here before an outage and came back: the window
       * already says "disconnected ..., back ...", no "joined" line. */
      if (ev->notice_kind == PROTO_NOTICE_JOINED && ev->win && ev->line &&
          ev->win->total && tui_is_return(t, ev->about))
        chatview_hide(&t->chat, ev->win, ev->win->total - 1);
    }
    break;
  case CLIENT_EV_HISTORY_END:
    if (ev->win)
      chatview_lines_added(&t->chat, ev->win);
    break;
  case CLIENT_EV_PRESENCE:
  case CLIENT_EV_USERS:
    t->known_dirty = true;
    t->users.dirty = true;
    t->bars.title_dirty = true;
    break;
  case CLIENT_EV_CONNECTED:
    tui_outage_end(t);
    /* fall through */
  case CLIENT_EV_STATE:
  case CLIENT_EV_RECONNECTING:
  case CLIENT_EV_LAG:
    if (ev->type != CLIENT_EV_CONNECTED &&
        client_model_get(t->c)->state != CLIENT_CONNECTED)
      tui_outage_begin(t);
    t->bars.dirty = true;
    t->bars.title_dirty = true;
    t->in.dirty = true; /* the limit comes with WELCOME */
    t->users.dirty = true;
    tui_tick_update(t);
    break;
  case CLIENT_EV_DISCONNECTED:
    tui_outage_begin(t);
    t->bars.dirty = t->bars.title_dirty = true;
    t->users.dirty = true;
    if (ev->fatal == CLIENT_FATAL_AUTH)
      snprintf(t->login_error, sizeof(t->login_error), "%s",
               ev->text && ev->text[0] ? ev->text : "login refused");
    if (ev->can_retry) {
      tui_pw_ask(t, ev->login_tries + 1);
      t->exit_code = 3; /* giving up at the prompt */
    } else if (ev->fatal == CLIENT_FATAL_AUTH &&
               ev->login_tries >= CLIENT_LOGIN_TRIES) {
      /* The last try was refused: leave, as ssh does; the error goes to
       * stderr once the terminal is restored. */
      tui_pw_end(t);
      t->exit_code = 3;
      client_stop(t->c);
    } else if (ev->fatal != CLIENT_FATAL_NONE) {
      char msg[CLIENT_REASON_SZ + 64];
      snprintf(msg, sizeof(msg), "%s  (/quit or Ctrl-C to exit)",
               ev->text && ev->text[0] ? ev->text : "disconnected");
      statusbar_notice(&t->bars, msg);
      t->exit_code = ev->fatal == CLIENT_FATAL_AUTH      ? 3
                     : ev->fatal == CLIENT_FATAL_KICKED  ? 4
                     : ev->fatal == CLIENT_FATAL_HOSTKEY ? 5
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
    tui_pane_names(t);
    break;
  case CLIENT_EV_NAMES:
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
  case CLIENT_EV_OFFER:
  case CLIENT_EV_TRANSFER:
    tui_xfer_update(t, ev->xfer);
    break;
  case CLIENT_EV_TRUST: /* the key is on screen once, in the chat pane */
    statusbar_notice(&t->bars, NULL); /* no "(/quit ...)" over it */
    t->trust_asking = true;
    t->in.prompt = TUI_TRUST_PROMPT;
    t->in.dirty = true;
    t->bars.dirty = true;
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

/* Alt-A: the next window with activity after the current one, a window
 * with a highlight first, then a direct conversation, then any unread. */
static void tui_next_active(tui *t) {
  const client_model *m = client_model_get(t->c);
  size_t cur = tui_current_index(t), best = m->nwindows;
  int best_rank = 0;
  for (size_t k = 1; k < m->nwindows; k++) {
    size_t i = (cur + k) % m->nwindows;
    const client_window *w = m->windows[i];
    int rank = w->highlight                               ? 3
               : w->unread && w->kind == CLIENT_WIN_QUERY ? 2
               : w->unread                                ? 1
                                                          : 0;
    if (rank > best_rank)
      best_rank = rank, best = i;
  }
  if (best == m->nwindows)
    statusbar_notice(&t->bars, "no other window has new lines");
  else
    tui_switch(t, best);
}

/* /pane room: make sure the current room's member list is known (a quiet
 * NAMES request, answered into the window's names). */
static void tui_pane_names(tui *t) {
  if (!t->c) /* events fired from inside client_new() */
    return;
  const client_window *w = client_model_get(t->c)->current;
  if (t->users.room_mode && w && w->kind == CLIENT_WIN_ROOM &&
      !w->names_known && !w->names_quiet)
    (void)client_names(t->c, w->name, false);
}

/* Changes the users pane width. */
static void tui_pane_width(tui *t, int w) {
  if (w < 0)
    w = 0;
  t->users_w = w == 0 ? 0 : layout_clamp_users(w, COLS);
  t->resized = true; /* re-layout on the next pass */
}

/* The UI's own commands, for /help and completion. */
static const client_help_entry tui_help[] = {
    {"/search [TEXT]", "find TEXT here, older each time; Ctrl-R as you type"},
    {"/panewidth N", "users pane width (0 hides it)"},
    {"/pane room|all", "users pane: this room's members, or everyone"},
    {"/keys", "the key bindings"},
    {"/set bell on|off", "bell on a DM or mention elsewhere (default on)"},
};

/* The key summary /keys prints, one line each. */
static const char *const tui_keys_help[] = {
    "keys:",
    "  Alt-0..9             go to window 0..9",
    "  Ctrl-N / Ctrl-P      next / previous window",
    "  Alt-A                next window with activity (highlights first)",
    "  PgUp / PgDn          scroll the chat; Alt-< / Alt-> top / live",
    ("  Ctrl-R               search back as you type (again: older; "
     "Enter or Esc leaves)"), /* one line (parentheses: clang asks) */
    "  Tab                  complete a nick, room or command",
    "  Ctrl-A/E/K/U/W/Y     start, end, kill to end/start, kill word, yank",
    "  Alt-B / Alt-F        word left / right; Alt-Backspace kill word",
    "  Alt-Left / Alt-Right users pane wider / narrower; F11/F12 scroll it",
    "  Ctrl-L               repaint the screen",
};

/* Prints lines into the current window. */
static void tui_print(tui *t, const char *const *lines, size_t n) {
  for (size_t i = 0; i < n; i++)
    client_note(t->c, NULL, CLIENT_LINE_INFO, lines[i]);
}

/* /help COMMAND: the core's entry or the UI's; true when one was found. */
static bool tui_help_one(tui *t, const char *q) {
  char want[32];
  snprintf(want, sizeof(want), "%s%s", q[0] == '/' ? "" : "/", q);
  size_t wl = strcspn(want, " ");
  want[wl] = '\0';
  size_t nh = 0;
  const client_help_entry *h = client_cmd_help(&nh);
  bool found = false;
  char buf[512];
  for (size_t k = 0; k < 2; k++) {
    const client_help_entry *tab = k == 0 ? h : tui_help;
    size_t n = k == 0 ? nh : sizeof(tui_help) / sizeof(tui_help[0]);
    for (size_t i = 0; i < n; i++) {
      size_t l = strcspn(tab[i].command, " ");
      if (l == wl && strncasecmp(tab[i].command, want, l) == 0) {
        snprintf(buf, sizeof(buf), "  %-30s %s", tab[i].command, tab[i].help);
        client_note(t->c, NULL, CLIENT_LINE_INFO, buf);
        found = true;
      }
    }
  }
  return found;
}

/* Runs the UI's own commands; returns true when line was one. */
static bool tui_local_command(tui *t, const char *line) {
  if (strncasecmp(line, "/help", 5) == 0 &&
      (line[5] == ' ' || line[5] == '\0')) {
    const char *q = line + 5;
    while (*q == ' ')
      q++;
    if (*q) {
      if (!tui_help_one(t, q)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no command %.60s; /help lists them all", q);
        statusbar_notice(&t->bars, msg);
      }
      return true;
    }
    char err[256] = "";
    client_command(t->c, NULL, "/help", err, sizeof(err));
    for (size_t i = 0; i < sizeof(tui_help) / sizeof(tui_help[0]); i++) {
      char buf[512];
      snprintf(buf, sizeof(buf), "  %-30s %s", tui_help[i].command,
               tui_help[i].help);
      client_note(t->c, NULL, CLIENT_LINE_INFO, buf);
    }
    client_note(t->c, NULL, CLIENT_LINE_INFO,
                "/help COMMAND for one; /keys for the keys");
    return true;
  }
  if (strncasecmp(line, "/set", 4) == 0 && line[4] == ' ') {
    const char *q = line + 4;
    while (*q == ' ')
      q++;
    if (strncasecmp(q, "bell", 4) != 0 || (q[4] != ' ' && q[4] != '\0'))
      return false; /* other settings belong to the core */
    q += 4;
    while (*q == ' ')
      q++;
    if (strcasecmp(q, "on") == 0)
      t->bell = true;
    else if (strcasecmp(q, "off") == 0)
      t->bell = false;
    else if (*q) {
      statusbar_notice(&t->bars, "usage: /set bell on|off");
      return true;
    }
    statusbar_notice(&t->bars, t->bell ? "bell: on" : "bell: off");
    return true;
  }
  if (strncasecmp(line, "/pane", 5) == 0 &&
      (line[5] == ' ' || line[5] == '\0')) {
    const char *q = line + 5;
    while (*q == ' ')
      q++;
    if (strcasecmp(q, "room") == 0)
      t->users.room_mode = true;
    else if (strcasecmp(q, "all") == 0)
      t->users.room_mode = false;
    else if (*q) {
      statusbar_notice(&t->bars, "usage: /pane room|all");
      return true;
    }
    if (*q) /* remembered for the next start */
      client_state_pane(t->c, t->users.room_mode ? CLIENT_PANE_ROOM
                                                 : CLIENT_PANE_ALL);
    tui_pane_names(t);
    t->users.dirty = true;
    statusbar_notice(&t->bars, t->users.room_mode
                                   ? "users pane: this room's members"
                                   : "users pane: everyone online");
    return true;
  }
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
    tui_print(t, tui_keys_help,
              sizeof(tui_keys_help) / sizeof(tui_keys_help[0]));
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
  if (t->trust_asking) { /* the first-contact question's answer */
    t->trust_asking = false;
    t->in.prompt = NULL;
    int r = client_trust_answer(t->c, line);
    free(line);
    if (r == 0) {
      t->exit_code = 0; /* trusted: connecting again */
    } else {
      if (r < 0)
        statusbar_notice(&t->bars, uv_strerror(r));
      t->exit_code = 5;
      tui_quit(t, NULL);
    }
    return;
  }
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
    /* So is a line the core refused for a bidi or invisible character
     * (U+202E pasted with the text): the paste is not lost. */
    if (over || r == -PERR_CONTROL_CHARS)
      editline_insert(&t->ed, line, strlen(line));
    if (r < 0) {
      bool quit = strncasecmp(line, "/quit", 5) == 0 ||
                  strncasecmp(line, "/bye", 4) == 0;
      if (quit)
        tui_quit(t, NULL);
      else
        statusbar_notice(&t->bars, err[0] ? err : "command failed");
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
  /* /set is the core's too (its table's entry): listed once. */
  static const char *local[] = {"/search", "/panewidth", "/pane", "/keys"};
  for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
    cands[n++] = local[i];
  editline_complete(&t->ed, cands, (int)n);
  free(cands);
  free(cmds);
}

/* Ctrl-R: searches the current window for the search text, from the
 * newest line (again: from the last hit back); says when nothing is found. */
static void tui_search_run(tui *t, bool again) {
  const client_model *m = client_model_get(t->c);
  if (!again)
    chatview_search(&t->chat, m->current, ""); /* from the newest line */
  if (t->sed.len == 0) {
    chatview_scroll(&t->chat, INT_MIN);
    t->in.prompt = TUI_SEARCH_PROMPT;
    return;
  }
  bool hit = chatview_search(&t->chat, m->current, t->sed.buf);
  t->in.prompt = hit ? TUI_SEARCH_PROMPT : TUI_SEARCH_FAILED;
}

/* Starts the incremental search, or finds the next older match. */
static void tui_search_key(tui *t) {
  if (!t->searching) {
    t->searching = true;
    editline_clear(&t->sed);
    tui_search_run(t, false);
  } else {
    tui_search_run(t, true);
  }
  t->in.dirty = true;
}

/* Leaves the search: Enter stays at the match, Esc goes back to live. */
static void tui_search_end(tui *t, bool stay) {
  t->searching = false;
  t->in.prompt = NULL;
  t->in.dirty = true;
  if (!stay) {
    chatview_search(&t->chat, client_model_get(t->c)->current, "");
    chatview_scroll(&t->chat, INT_MIN);
  }
}

/* A key while searching: text edits the search; Ctrl-R goes older; Enter
 * and Esc leave; anything else leaves at the match and acts as usual.
 * Returns true when the key was used. */
static bool tui_search_act(tui *t, keymap_action a, wint_t ch) {
  switch (a) {
  case KEYMAP_INSERT:
    editline_insert_cp(&t->sed, (uint32_t)ch);
    tui_search_run(t, false);
    return true;
  case KEYMAP_BACKSPACE:
    editline_backspace(&t->sed);
    tui_search_run(t, false);
    return true;
  case KEYMAP_SEARCH:
    tui_search_key(t);
    return true;
  case KEYMAP_SUBMIT:
    tui_search_end(t, true);
    return true;
  default:
    tui_search_end(t, true);
    return false;
  }
}

/* Scrolls the users pane a page up (dir < 0) or down. */
static void tui_users_page(tui *t, int dir) {
  int page = t->users.h > 2 ? t->users.h - 2 : 1;
  userlist_scroll(&t->users, dir < 0 ? -page : page);
}

/* Carries out what the keymap says a key does. */
static void tui_act(tui *t, keymap_action a, int arg, wint_t ch) {
  editline *e = &t->ed;
  switch (a) {
  case KEYMAP_NONE:
  case KEYMAP_ALT: /* handled by tui_key */
    return;
  case KEYMAP_INSERT:
    editline_insert_cp(e, (uint32_t)ch);
    return;
  case KEYMAP_PASTE_BEGIN:
    t->paste = true;
    t->paste_cut = false;
    t->paste_st = (keymap_paste){0};
    return;
  case KEYMAP_PASTE_FINISH:
    t->paste = false;
    return;
  case KEYMAP_SUBMIT:
    tui_submit(t);
    return;
  case KEYMAP_COMPLETE:
    tui_complete(t);
    return;
  case KEYMAP_LEFT:
    editline_left(e);
    return;
  case KEYMAP_RIGHT:
    editline_right(e);
    return;
  case KEYMAP_WORD_LEFT:
    editline_word_left(e);
    return;
  case KEYMAP_WORD_RIGHT:
    editline_word_right(e);
    return;
  case KEYMAP_HOME:
    editline_home(e);
    return;
  case KEYMAP_END:
    editline_end(e);
    return;
  case KEYMAP_HOME_OR_TOP:
    if (e->len == 0)
      chatview_scroll(&t->chat, INT_MAX);
    else
      editline_home(e);
    return;
  case KEYMAP_END_OR_BOTTOM:
    if (e->len == 0)
      chatview_scroll(&t->chat, INT_MIN);
    else
      editline_end(e);
    return;
  case KEYMAP_BACKSPACE:
    editline_backspace(e);
    return;
  case KEYMAP_DELETE:
    editline_delete(e);
    return;
  case KEYMAP_KILL_WORD:
    editline_kill_word(e);
    return;
  case KEYMAP_KILL_START:
    editline_kill_start(e);
    return;
  case KEYMAP_KILL_END:
    editline_kill_end(e);
    return;
  case KEYMAP_YANK:
    editline_yank(e);
    return;
  case KEYMAP_HIST_PREV:
    editline_hist_prev(e);
    return;
  case KEYMAP_HIST_NEXT:
    editline_hist_next(e);
    return;
  case KEYMAP_PAGE_UP:
    chatview_scroll(&t->chat, chatview_page(&t->chat));
    return;
  case KEYMAP_PAGE_DOWN:
    chatview_scroll(&t->chat, -chatview_page(&t->chat));
    return;
  case KEYMAP_SCROLL_TOP:
    chatview_scroll(&t->chat, INT_MAX);
    return;
  case KEYMAP_SCROLL_LIVE:
    chatview_scroll(&t->chat, INT_MIN);
    return;
  case KEYMAP_USERS_UP:
    tui_users_page(t, -1);
    return;
  case KEYMAP_USERS_DOWN:
    tui_users_page(t, 1);
    return;
  case KEYMAP_PANE_WIDER:
    tui_pane_width(t, (t->users_w ? t->users_w : LAYOUT_USERS_MIN - 2) +
                          TUI_PANE_STEP);
    return;
  case KEYMAP_PANE_NARROWER:
    tui_pane_width(t, t->users_w - TUI_PANE_STEP < LAYOUT_USERS_MIN
                          ? 0
                          : t->users_w - TUI_PANE_STEP);
    return;
  case KEYMAP_WINDOW:
    tui_switch(t, (size_t)arg);
    return;
  case KEYMAP_WINDOW_NEXT:
    tui_cycle(t, 1);
    return;
  case KEYMAP_WINDOW_PREV:
    tui_cycle(t, -1);
    return;
  case KEYMAP_REPAINT:
    clearok(curscr, TRUE);
    tui_dirty_all(t);
    return;
  case KEYMAP_NEXT_ACTIVE:
    tui_next_active(t);
    return;
  case KEYMAP_SEARCH:
    tui_search_key(t);
    return;
  }
}

/* A key inside a bracketed paste: text for whichever editor is active,
 * never an editing key; at most the input line's bounds are kept. */
static void tui_paste_key(tui *t, int r, wint_t ch) {
  long cp = keymap_paste_char(&t->paste_st, r, ch);
  if (cp < 0) {
    t->paste = false;
    if (t->paste_cut)
      statusbar_notice(&t->bars, "paste cut short: the input line is full");
    return;
  }
  if (cp == 0)
    return;
  if (t->pw_asking) {
    if (cp != ' ' || ch == ' ') /* no line breaks or tabs in a password */
      tui_pw_key(t, KEYMAP_INSERT, (wint_t)cp);
  } else if (t->searching) {
    tui_search_act(t, KEYMAP_INSERT, (wint_t)cp);
  } else if (editline_insert_cp(&t->ed, (uint32_t)cp) < 0 &&
             (t->ed.chars >= EDITLINE_MAX_CHARS ||
              t->ed.len + 4 > EDITLINE_MAX_BYTES)) {
    t->paste_cut = true; /* not an unprintable character: the line is full */
  }
}

/* Handles one key from wget_wch. */
static void tui_key(tui *t, int r, wint_t ch) {
  statusbar_notice(&t->bars, NULL);
  t->in.dirty = true;
  int arg;
  if (t->asking) {
    tui_ask_key(t, r, ch);
    return;
  }
  if (t->paste) {
    tui_paste_key(t, r, ch);
    return;
  }
  keymap_action a = keymap_lookup(&t->keys, r, ch, false, &arg);
  if (t->pw_asking) {
    if (a == KEYMAP_ALT) {
      wint_t c2;
      if (wget_wch(t->keywin, &c2) == ERR) { /* Escape alone: give up */
        tui_pw_end(t);
        tui_quit(t, NULL);
      }
      return; /* Alt-keys do nothing here */
    }
    if (a == KEYMAP_PASTE_BEGIN)
      tui_act(t, a, arg, ch);
    else
      tui_pw_key(t, a, ch);
    return;
  }
  if (a == KEYMAP_ALT) { /* an Alt-prefixed key, or Escape alone */
    wint_t c2;
    int r2 = wget_wch(t->keywin, &c2);
    if (r2 == ERR) { /* Escape alone */
      if (t->searching)
        tui_search_end(t, false);
      return;
    }
    r = r2;
    ch = c2;
    a = keymap_lookup(&t->keys, r, ch, true, &arg);
    if (t->searching)
      tui_search_end(t, true);
  } else if (t->searching) {
    if (tui_search_act(t, a, ch))
      return;
  }
  tui_act(t, a, arg, ch);
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
  terminal_off();
  uv_signal_stop(&t->sig_tstp); /* restores SIG_DFL */
  raise(SIGTSTP);               /* stops here until SIGCONT */
  uv_signal_start(&t->sig_tstp, tui_tstp_cb, SIGTSTP);
  if (t->bracketed)
    terminal_paste_mode(true);
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
  } else if (t->laid_xfers != tui_xfer_shown(t)) {
    tui_relayout(t); /* the transfers pane appears or changes height */
  }
  tui_known_update(t); /* the screen may be too small, presence moves on */
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
    if (t->hw_scroll)
      hwscroll_ahead(&t->lay.chat, t->chat.scrolled);
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
    progress_item items[TUI_MAX_XFERS];
    size_t n = 0;
    for (size_t i = 0; i < t->nxfers; i++)
      if (!t->xrow[i].gone)
        items[n++] =
            (progress_item){t->xfers[i], t->xrow[i].state, t->xrow[i].path};
    progress_draw(&t->prog, items, n);
    wnoutrefresh(t->prog.win);
    any = true;
  }
  if (t->in.dirty || any) {
    /* Always last, so the terminal cursor ends on the input line. */
    unsigned limit = m->state == CLIENT_CONNECTED || m->limits.max_msg_chars
                         ? m->limits.max_msg_chars
                         : 0;
    /* The password prompt draws an empty line: nothing typed is shown. */
    input_draw(&t->in,
               t->pw_asking || t->asking ? &t->pw_blank
               : t->searching            ? &t->sed
                                         : &t->ed,
               t->searching || t->pw_asking ? 0 : limit);
    if (t->ring) {
      t->ring = false;
      beep(); /* terminfo's bel; tmux and screen flag the window */
    }
    doupdate();
    t->redraws++;
  }
}

/* ---- start-up ------------------------------------------------------------ */

/* Curses set-up: modes, colours, key codes. */
static int tui_screen_on(tui *t) {
  if (terminal_on() < 0)
    return -1;
  t->screen_on = true;
  theme_init();
  t->hw_scroll = hwscroll_ok();
  t->keywin = newpad(1, 1);
  if (!t->keywin)
    return -1;
  keypad(t->keywin, TRUE);
  nodelay(t->keywin, TRUE);
  t->bracketed = terminal_paste_wanted();
  keymap_init(&t->keys, t->bracketed);
  if (t->bracketed)
    terminal_paste_mode(true);
  terminal_ready(t->bracketed);
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

/* Entry point of the interactive client. */
int tui_main(int argc, char **argv, const tui_hooks *hooks) {
  terminal_locale();
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
  terminal_save();
  /* The configuration file's view settings (parley.conf). */
  t->users_w = t->opts.config.pane_width ? (int)t->opts.config.pane_width
                                         : LAYOUT_USERS_DEFAULT;
  t->bell = t->opts.config.bell;
  chatview_set_time_format(t->opts.config.timestamp);
  chatview_init(&t->chat);
  userlist_init(&t->users);
  /* pane = room|all in the configuration, unless /pane chose since (the
   * choice is kept in the state file with the session). */
  t->users.room_mode = t->opts.state_pane != CLIENT_PANE_UNSET
                           ? t->opts.state_pane == CLIENT_PANE_ROOM
                           : t->opts.config.pane_room;
  statusbar_init(&t->bars);
  input_init(&t->in);
  progress_init(&t->prog);
  editline_init(&t->ed);
  editline_init(&t->sed);
  editline_init(&t->pw_blank);
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
    terminal_off();
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
  terminal_off();
  client_fatal f = client_fatal_get(t->c);
  if (f == CLIENT_FATAL_AUTH)
    fprintf(stderr, "parley: %s%s\n",
            strstr(t->login_error, "login failed") ? "" : "login failed: ",
            t->login_error[0] ? t->login_error : "refused");
  else if (f == CLIENT_FATAL_HOSTKEY) /* as ssh ends: why, on stderr */
    fprintf(stderr, "parley: %s\n", client_model_get(t->c)->reason);
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
  editline_free(&t->sed);
  editline_free(&t->pw_blank);
  explicit_bzero(t->pw, sizeof(t->pw));
  for (size_t i = 0; i < t->nxfers; i++)
    free(t->xfers[i]);
  free(t->known);
  free(t->before);
  if (uv_loop_close(&t->loop) != 0)
    fprintf(stderr, "parley: warning: handles left open at exit\n");
  int code = t->exit_code;
  client_opts_free(&t->opts);
  free(t);
  return code;
}
