/* terminal.c: the terminal's lifecycle around curses: locale, the password
 * prompt before curses starts, curses modes, bracketed paste, leaving
 * curses, and putting the terminal back if the process crashes. */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <curses.h>
#include <term.h>

#include "proto.h"
#include "terminal.h"

static struct termios terminal_saved_tio; /* the terminal before curses */
static bool terminal_have_tio;
static char terminal_restore_seq[256]; /* rmcup, cnorm, sgr0, paste off */
static size_t terminal_restore_len;

/* Makes sure wcwidth and curses see UTF-8. */
void terminal_locale(void) {
  setlocale(LC_ALL, "");
  const char *cs = nl_langinfo(CODESET);
  if (!cs || strcasecmp(cs, "UTF-8") != 0)
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
      setlocale(LC_CTYPE, "en_US.UTF-8");
}

/* Remembers the terminal's settings for the crash handler. */
void terminal_save(void) {
  if (tcgetattr(STDIN_FILENO, &terminal_saved_tio) == 0)
    terminal_have_tio = true;
}

/* Reads a line from the terminal with echo off. Returns a malloc'd string
 * or NULL (no terminal, EOF). Runs before the loop, so blocking is fine. */
char *terminal_read_secret(const char *prompt) {
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

/* Restores the terminal from a crash signal, then dies by that signal.
 * Only async-signal-safe calls: write, tcsetattr, signal, raise. */
static void terminal_crash(int sig) {
  if (terminal_restore_len) {
    ssize_t w =
        write(STDOUT_FILENO, terminal_restore_seq, terminal_restore_len);
    (void)w;
  }
  if (terminal_have_tio)
    tcsetattr(STDIN_FILENO, TCSANOW, &terminal_saved_tio);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Appends a terminfo string to the crash restore sequence. */
static void terminal_restore_add(const char *cap) {
  char *s = tigetstr((char *)cap);
  if (!s || s == (char *)-1)
    return;
  size_t n = strlen(s);
  if (terminal_restore_len + n < sizeof(terminal_restore_seq)) {
    memcpy(terminal_restore_seq + terminal_restore_len, s, n);
    terminal_restore_len += n;
  }
}

/* Installs the crash handlers once curses knows the terminal. */
static void terminal_crash_handlers(bool bracketed) {
  terminal_restore_len = 0;
  if (bracketed) {
    static const char off[] = "\033[?2004l";
    memcpy(terminal_restore_seq, off, sizeof(off) - 1);
    terminal_restore_len = sizeof(off) - 1;
  }
  terminal_restore_add("sgr0");
  terminal_restore_add("cnorm");
  terminal_restore_add("rmkx");
  terminal_restore_add("rmcup");
  static const char nl[] = "\r\n";
  memcpy(terminal_restore_seq + terminal_restore_len, nl, 2);
  terminal_restore_len += 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = terminal_crash;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
}

/* Leaves curses (idempotent); also runs from atexit. */
void terminal_off(void) {
  if (!isendwin()) {
    if (terminal_restore_len &&
        strncmp(terminal_restore_seq, "\033[?2004l", 8) == 0) {
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

/* Curses modes: raw-ish keys, no echo, a short Escape delay. */
int terminal_on(void) {
  if (!initscr())
    return -1;
  atexit(terminal_off);
  cbreak();
  noecho();
  nonl();
  intrflush(stdscr, FALSE);
  typeahead(-1); /* never abandon a refresh half-way */
  set_escdelay(25);
  curs_set(1);
  return 0;
}

/* The Linux console garbles the paste-mode sequence; the user may opt out. */
bool terminal_paste_wanted(void) {
  const char *term = getenv("TERM");
  return !(term && strncmp(term, "linux", 5) == 0) &&
         !getenv("PARLEY_NO_PASTE_MODE");
}

/* Writes the DEC private mode 2004 switch straight to the terminal. */
void terminal_paste_mode(bool on) {
  fputs(on ? "\033[?2004h" : "\033[?2004l", stdout);
  fflush(stdout);
}

/* Crash handlers, then one endwin/doupdate cycle. */
void terminal_ready(bool bracketed) {
  terminal_crash_handlers(bracketed);
  /* ncurses flushes after every cursor motion until the screen has been
   * suspended and resumed once (its "_endwin == ewInitial" state), which
   * splits one update into many write() calls, each an SSH packet. One
   * endwin/doupdate cycle now makes every later doupdate a single write. */
  endwin();
  doupdate();
}
