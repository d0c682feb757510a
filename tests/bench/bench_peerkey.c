/* bench_peerkey: what making a transfer's TLS key (tls_ctx_peer_server)
 * costs a client's event loop, made on the loop (as parley did before) and
 * in the thread pool (as it does now), in the same run.
 *
 *   bench_peerkey [-n OFFERS]   (default 200, at most 100000)
 *
 * A 1 ms repeating timer stands for the loop's other work (chat, progress,
 * the data connections); each mode makes OFFERS keys, one per timer tick,
 * and reports how late the ticks fired (the loop's stalls), the loop's own
 * CPU time and the wall time per key. Loopback only: nothing is sent. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "tls.h"

#define BENCH_TICK_MS 1
#define BENCH_MAX 100000

typedef struct bench {
  uv_loop_t *loop;
  uv_timer_t timer;
  bool pool; /* keys in the pool, else on the loop */
  unsigned n, started, done;
  uint64_t last_ns;  /* when the previous tick fired */
  uint64_t *late_us; /* per tick: time beyond the 1 ms period */
  unsigned ticks;
  unsigned cap;
  int failed;
} bench;

typedef struct bench_job {
  uv_work_t w;
  bench *b;
  tls_ctx *ctx;
} bench_job;

/* CPU time of the calling thread (RUSAGE_THREAD) or the process. */
static uint64_t bench_cpu_us(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (uint64_t)ru.ru_utime.tv_sec * 1000000 +
         (uint64_t)ru.ru_utime.tv_usec +
         (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
}

static void bench_key_work(uv_work_t *w) {
  bench_job *j = w->data;
  uint8_t md[TLS_DIGEST_LEN];
  char err[160];
  j->ctx = tls_ctx_peer_server(md, err, sizeof err);
}

static void bench_key_after(uv_work_t *w, int status) {
  bench_job *j = w->data;
  if (status < 0 || j->ctx == NULL)
    j->b->failed++;
  tls_ctx_free(j->ctx);
  j->b->done++;
  free(j);
}

/* One tick: note its lateness, then start the next key (until n). */
static void bench_tick(uv_timer_t *t) {
  bench *b = t->data;
  uint64_t now = uv_hrtime();
  if (b->last_ns != 0 && b->ticks < b->cap) {
    uint64_t gap = (now - b->last_ns) / 1000;
    b->late_us[b->ticks++] =
        gap > BENCH_TICK_MS * 1000 ? gap - BENCH_TICK_MS * 1000 : 0;
  }
  b->last_ns = now;
  if (b->started < b->n) {
    b->started++;
    if (b->pool) {
      bench_job *j = calloc(1, sizeof *j);
      if (j == NULL || (j->w.data = j, j->b = b,
                        uv_queue_work(b->loop, &j->w, bench_key_work,
                                      bench_key_after) < 0)) {
        free(j);
        b->failed++;
        b->done++;
      }
    } else {
      bench_job j = {.b = b};
      j.w.data = &j;
      bench_key_work(&j.w);
      tls_ctx_free(j.ctx);
      if (j.ctx == NULL)
        b->failed++;
      b->done++;
    }
  }
  if (b->done == b->n)
    uv_timer_stop(t);
}

static int bench_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int bench_run(bool pool, unsigned n) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return -1;
  bench b = {.loop = &loop, .pool = pool, .n = n, .cap = 4 * n + 1000};
  b.late_us = calloc(b.cap, sizeof *b.late_us);
  if (b.late_us == NULL)
    return -1;
  uv_timer_init(&loop, &b.timer);
  b.timer.data = &b;
  uint64_t cpu0 = bench_cpu_us(RUSAGE_THREAD), t0 = uv_hrtime();
  uint64_t all0 = bench_cpu_us(RUSAGE_SELF);
  uv_timer_start(&b.timer, bench_tick, BENCH_TICK_MS, BENCH_TICK_MS);
  /* bounded: the timer stops once every key is made, and each key is made
   * in a few ms */
  uv_run(&loop, UV_RUN_DEFAULT);
  uint64_t wall_us = (uv_hrtime() - t0) / 1000;
  uint64_t cpu_us = bench_cpu_us(RUSAGE_THREAD) - cpu0;
  uint64_t all_us = bench_cpu_us(RUSAGE_SELF) - all0;
  uv_close((uv_handle_t *)&b.timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  int r = uv_loop_close(&loop);
  qsort(b.late_us, b.ticks, sizeof *b.late_us, bench_cmp);
  uint64_t sum = 0;
  for (unsigned i = 0; i < b.ticks; i++)
    sum += b.late_us[i];
  printf("%-5s keys %u (failed %d)  wall %.2f ms/key  loop CPU %.3f "
         "ms/key (all threads %.3f)  tick lateness: mean %.3f ms, p99 %.3f ms, "
         "max %.3f ms\n",
         pool ? "pool" : "loop", n, b.failed, wall_us / 1000.0 / n,
         cpu_us / 1000.0 / n, all_us / 1000.0 / n,
         b.ticks ? sum / 1000.0 / b.ticks : 0.0,
         b.ticks ? b.late_us[b.ticks * 99 / 100] / 1000.0 : 0.0,
         b.ticks ? b.late_us[b.ticks - 1] / 1000.0 : 0.0);
  free(b.late_us);
  return r == 0 && b.failed == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  unsigned n = 200;
  int opt;
  while ((opt = getopt(argc, argv, "n:")) != -1) {
    if (opt != 'n' || (n = (unsigned)strtoul(optarg, NULL, 10)) == 0 ||
        n > BENCH_MAX) {
      fprintf(stderr, "usage: bench_peerkey [-n OFFERS (1..%d)]\n", BENCH_MAX);
      return 2;
    }
  }
  int r = bench_run(false, n);
  r |= bench_run(true, n);
  return r == 0 ? 0 : 1;
}
