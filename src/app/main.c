/* main.c: parley's entry point: picks the batch, scan or TUI face. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "batch.h"
#include "client.h"
#include "tui.h"

/* Prints one line per server that answered the scan. */
static void scan_print(const client_server_entry *s, size_t n, void *ud) {
  int *found = ud;
  for (size_t i = 0; i < n; i++)
    printf("%s\t%s:%u\t%u user%s\n", s[i].name, s[i].host, s[i].port,
           s[i].users, s[i].users == 1 ? "" : "s");
  fflush(stdout);
  *found = (int)n;
}

/* `parley --scan`: exit 0 even when nothing answered (empty output). */
static int scan_main(const client_opts *o) {
  uv_loop_t loop;
  int r = uv_loop_init(&loop);
  if (r < 0) {
    fprintf(stderr, "parley: %s\n", uv_strerror(r));
    return 1;
  }
  int found = 0;
  r = client_scan_run(&loop, o, scan_print, &found);
  if (r < 0) {
    fprintf(stderr, "parley: cannot scan: %s\n", uv_strerror(r));
    uv_run(&loop, UV_RUN_DEFAULT); /* let the failed scan close */
    uv_loop_close(&loop);
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  r = uv_loop_close(&loop);
  (void)r;
  return 0;
}

int main(int argc, char **argv) {
  /* A server that vanishes must give a write error, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN); /* a file size limit fails a write (EFBIG) */
  /* File data and relayed reads are 64-260 KiB frames made and freed all
   * the time: keep them in the heap, and keep up to 4 MiB of freed pages
   * at its top, instead of unmapping them and faulting them in again for
   * the next frame (measured: ~10 % of the CPU per byte sent or relayed). */
  (void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
  (void)mallopt(M_TRIM_THRESHOLD, 4 << 20);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(client_opts_usage(), stdout);
      return 0;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("parley %s (protocol %d)\n", PARLEY_VERSION, PROTO_VERSION);
      return 0;
    }
    if (strcmp(argv[i], "--forget") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "parley: --forget needs HOST[:PORT]\n");
        return 2;
      }
      return client_trust_forget(argv[i + 1]);
    }
    if (strcmp(argv[i], "--batch") == 0)
      return batch_main(argc, argv);
    if (strcmp(argv[i], "--scan") == 0) {
      client_opts o;
      char err[300];
      if (client_opts_parse(&o, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "parley: %s\n", err);
        return 2;
      }
      int rc = scan_main(&o);
      client_opts_free(&o);
      return rc;
    }
  }
  return tui_main(argc, argv, NULL);
}
