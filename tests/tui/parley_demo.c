/* parley_demo.c: parley's TUI with three made-up transfers in its pane, for
 * the tmux tests of that pane (test_panes.py). Built only with the tests:
 * no demo data ships in parley. */
#include <signal.h>
#include <stdlib.h>

#include "tui.h"
#include "xfer.h"

/* Two transfers running, one failed half-way. */
static void demo_start(tui *t) {
  static const struct {
    const char *name, *peer;
    enum xfer_dir dir;
    uint64_t size;
  } d[] = {{"holiday-photos.tar.gz", "bob", XFER_SEND, 734003200},
           {"report-final.pdf", "carol", XFER_RECV, 2411724},
           {"notes.txt", "dave", XFER_RECV, 18000}};
  uint64_t now = tui_now(t);
  for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
    xfer *x = calloc(1, sizeof(*x));
    if (!x)
      break;
    xfer_init(x, i + 1, d[i].name, d[i].peer, d[i].dir, d[i].size);
    xfer_start(x, 0, now);
    if (i == 2) {
      xfer_progress(x, 9000, now + 1000);
      xfer_fail(x, XFER_ERR_NETWORK, now + 1000);
    }
    if (!tui_xfer_add(t, x))
      free(x);
  }
}

/* Moves the running transfers on, the later ones faster. */
static void demo_tick(tui *t) {
  uint64_t now = tui_now(t);
  for (size_t i = 0; i < tui_xfer_count(t); i++) {
    xfer *x = tui_xfer_get(t, i);
    if (x->status != XFER_ACTIVE)
      continue;
    uint64_t step = (x->size / 200) * (i + 1);
    uint64_t pos = x->pos + step > x->size ? x->size : x->pos + step;
    xfer_progress(x, pos, now);
    if (pos == x->size)
      xfer_finish(x, now);
  }
}

int main(int argc, char **argv) {
  static const tui_hooks hooks = {.start = demo_start, .tick = demo_tick};
  signal(SIGPIPE, SIG_IGN); /* as parley: a vanished server is a read error */
  return tui_main(argc, argv, &hooks);
}
