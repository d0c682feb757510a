/* tickets.c: run-time rotation of the TLS session ticket key (see
 * tickets.h). A server running for weeks kept the key it made at start-up:
 * every ticket it issued was under one key, however old. */
#include "tickets.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "log.h"
#include "server.h"
#include "tls.h"

#define TICKETS_RETRY_S 60 /* after a rotation failed to make a key */

static struct {
  char path[1100];
  uint64_t period;  /* seconds between keys */
  bool running;     /* a rotation is in the pool */
  uint64_t retry_s; /* no new attempt before (a failed one: not each tick) */
  uv_work_t work;
  tls_rotation *r;
} tk;

void tickets_init(const char *path) {
  snprintf(tk.path, sizeof tk.path, "%s", path);
  tk.period = TLS_TICKET_ROTATE_S;
  const char *hook = getenv("PARLEYD_TEST_TICKET_ROTATE_S");
  if (hook != NULL && atoi(hook) > 0)
    tk.period = (uint64_t)atoi(hook);
}

/* Pool: the new key and the file (OpenSSL's generator, fsync, rename). */
static void tickets_work(uv_work_t *w) {
  (void)w;
  tls_rotation_run(tk.r);
}

/* Loop: the keys change for the handshakes to come. */
static void tickets_done(uv_work_t *w, int status) {
  (void)w;
  (void)status; /* the job cannot be cancelled: it was queued at once */
  char note[1600];
  if (tls_rotation_done(srv.tls, tk.r, note, sizeof note) != 0)
    log_warn(NULL, "%s", note);
  else
    log_info(NULL, "%s", note);
  tk.r = NULL;
  tk.running = false;
  tk.retry_s = (uint64_t)time(NULL) + TICKETS_RETRY_S;
}

void tickets_tick(uint64_t now_s) {
  if (srv.tls == NULL || tk.path[0] == '\0' || tk.running || srv.stopping ||
      now_s < tk.retry_s || tls_tickets_due_in(srv.tls, now_s, tk.period) != 0)
    return;
  tk.r = tls_rotation_new(srv.tls, tk.path, now_s);
  if (tk.r == NULL)
    return; /* out of memory: the next tick tries again */
  if (uv_queue_work(srv.loop, &tk.work, tickets_work, tickets_done) < 0) {
    char note[1600];
    tls_rotation_done(srv.tls, tk.r, note, sizeof note); /* frees it */
    tk.r = NULL;
    return;
  }
  tk.running = true;
}
