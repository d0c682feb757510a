/* test_xfer.c: the transfer state machine, rate/ETA formatting and the
 * progress rows, fed by test data. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "progress.h"
#include "utf8.h"
#include "xfer.h"
#include "xferfmt.h"

static void test_fmt(void **state) {
  (void)state;
  char b[32];
  xferfmt_size(b, sizeof(b), 0);
  assert_string_equal(b, "0 B");
  xferfmt_size(b, sizeof(b), 1023);
  assert_string_equal(b, "1023 B");
  xferfmt_size(b, sizeof(b), 1536);
  assert_string_equal(b, "1.5 KiB");
  xferfmt_size(b, sizeof(b), 5u * 1024 * 1024);
  assert_string_equal(b, "5.0 MiB");
  xferfmt_size(b, sizeof(b), 300ull * 1024 * 1024 * 1024);
  assert_string_equal(b, "300 GiB");
  xferfmt_rate(b, sizeof(b), 0);
  assert_string_equal(b, "--");
  xferfmt_rate(b, sizeof(b), 1258291.2);
  assert_string_equal(b, "1.2 MiB/s");
  xferfmt_eta(b, sizeof(b), XFER_ETA_UNKNOWN);
  assert_string_equal(b, "--:--");
  xferfmt_eta(b, sizeof(b), 7);
  assert_string_equal(b, "0:07");
  xferfmt_eta(b, sizeof(b), 754);
  assert_string_equal(b, "12:34");
  xferfmt_eta(b, sizeof(b), 3723);
  assert_string_equal(b, "1:02:03");
  xferfmt_eta(b, sizeof(b), 400000);
  assert_string_equal(b, ">99h");
}

/* A transfer through its states, with rate smoothing and ETA. */
static void test_machine(void **state) {
  (void)state;
  xfer x;
  xfer_init(&x, 7, "file.bin", "bob", XFER_RECV, 1000000);
  assert_int_equal(x.status, XFER_WAITING);
  assert_int_equal(xfer_progress(&x, 10, 0), -PERR_UNEXPECTED);
  assert_int_equal(xfer_connect(&x), 0);
  assert_int_equal(xfer_start(&x, 2000000, 0), -PERR_BAD_VALUE);
  assert_int_equal(xfer_start(&x, 0, 1000), 0);
  assert_int_equal(x.eta_s, XFER_ETA_UNKNOWN);
  /* 100 kB per second for a while: rate settles, ETA follows. */
  for (int i = 1; i <= 5; i++)
    assert_int_equal(xfer_progress(&x, (uint64_t)i * 100000, 1000 + i * 1000),
                     0);
  assert_true(x.bytes_per_sec > 99999 && x.bytes_per_sec < 100001);
  assert_int_equal(x.eta_s, 5);
  assert_int_equal(xfer_percent(&x), 50);
  /* Samples closer than XFER_SAMPLE_MS move pos but not the rate. */
  double r = x.bytes_per_sec;
  assert_int_equal(xfer_progress(&x, 510000, 6100), 0);
  assert_true(x.bytes_per_sec == r);
  /* A burst moves the smoothed rate only partly. */
  assert_int_equal(xfer_progress(&x, 810000, 7000), 0);
  assert_true(x.bytes_per_sec > r && x.bytes_per_sec < 300000 / 0.9);
  /* Going backwards or past the end is refused and changes nothing. */
  assert_int_equal(xfer_progress(&x, 100, 7100), -PERR_BAD_VALUE);
  assert_int_equal(xfer_progress(&x, 2000000, 7100), -PERR_BAD_VALUE);
  assert_int_equal(x.pos, 810000);
  assert_int_equal(xfer_ack(&x, 800000), 0);
  assert_int_equal(xfer_ack(&x, 700000), -PERR_BAD_VALUE);
  assert_int_equal(xfer_finish(&x, 8000), -PERR_BAD_VALUE);
  assert_int_equal(xfer_progress(&x, 1000000, 8000), 0);
  assert_int_equal(xfer_percent(&x), 100);
  assert_int_equal(xfer_finish(&x, 8000), 0);
  assert_int_equal(x.status, XFER_DONE);
  assert_int_equal(x.acked, 1000000);
  assert_true(x.bytes_per_sec > 142000 && x.bytes_per_sec < 143000);
  assert_false(xfer_is_live(&x));
  assert_int_equal(xfer_fail(&x, XFER_ERR_IO, 9000), -PERR_UNEXPECTED);
}

/* Resume, failure, cancel, zero-byte files and long names. */
static void test_edges(void **state) {
  (void)state;
  xfer x;
  xfer_init(&x, 1, "a", "", XFER_SEND, 100);
  assert_int_equal(xfer_start(&x, 40, 0), 0);
  assert_int_equal(xfer_percent(&x), 40);
  assert_int_equal(xfer_ack(&x, 50), -PERR_BAD_VALUE); /* beyond pos */
  assert_int_equal(xfer_fail(&x, XFER_ERR_NETWORK, 10), 0);
  assert_int_equal(x.status, XFER_FAILED);
  assert_string_equal(xferfmt_error(x.err), "connection lost");
  xfer_init(&x, 2, "b", "carol", XFER_RECV, 0);
  assert_int_equal(xfer_percent(&x), 0);
  assert_int_equal(xfer_fail(&x, XFER_ERR_NONE, 0), 0);
  assert_int_equal(x.status, XFER_CANCELLED);
  xfer_init(&x, 3, "c", "d", XFER_RECV, 0);
  assert_int_equal(xfer_start(&x, 0, 0), 0);
  assert_int_equal(xfer_finish(&x, 0), 0);
  assert_int_equal(xfer_percent(&x), 100);
  char longname[400];
  memset(longname, 'n', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  xfer_init(&x, 4, longname, "e", XFER_SEND, 5);
  assert_int_equal(strlen(x.name), XFER_NAME_MAX);
  /* Huge sizes do not overflow the percent. */
  xfer_init(&x, 5, "big", "f", XFER_RECV, UINT64_MAX - 1);
  xfer_start(&x, 0, 0);
  xfer_progress(&x, (UINT64_MAX - 1) / 2, 1000);
  assert_int_equal(xfer_percent(&x), 50);
}

/* Progress rows fit the pane and carry every figure. */
static void test_rows(void **state) {
  (void)state;
  xfer x;
  xfer_init(&x, 1, "holiday.tar.gz", "bob", XFER_SEND, 1000000);
  xfer_start(&x, 0, 0);
  xfer_progress(&x, 420000, 1000);
  progress_row r;
  progress_format(&x, NULL, NULL, 100, &r);
  assert_true(utf8_width(r.text, strlen(r.text)) <= 100);
  assert_non_null(strstr(r.text, "holiday.tar.gz"));
  assert_non_null(strstr(r.text, "to bob"));
  assert_non_null(strstr(r.text, " 42%"));
  assert_non_null(strstr(r.text, "410 KiB/s"));
  assert_non_null(strstr(r.text, "ETA 0:01"));
  assert_non_null(strstr(r.text, "active"));
  assert_true(r.bar_w >= 10);
  assert_int_equal(r.bar_fill, r.bar_w * 42 / 100);
  assert_int_equal(r.text[r.bar_col - 1], '[');
  for (int cols = 1; cols < 120; cols++) {
    progress_format(&x, NULL, NULL, cols, &r);
    assert_true(utf8_width(r.text, strlen(r.text)) <= cols);
  }
  xfer_fail(&x, XFER_ERR_HASH, 2000);
  progress_format(&x, NULL, NULL, 100, &r);
  assert_non_null(strstr(r.text, "checksum mismatch"));
  xfer_init(&x, 2, "report.pdf", "carol", XFER_RECV, 10);
  progress_format(&x, NULL, NULL, 80, &r);
  assert_non_null(strstr(r.text, "from carol"));
  assert_non_null(strstr(r.text, "waiting"));
  /* A peer's file name with an escape sequence and a bidi override is
   * drawn as '?'s, in the columns it was measured in. */
  xfer_init(&x, 3, "a\x1b[2Jb\xe2\x80\xaegpj.exe", "dave", XFER_RECV, 10);
  progress_format(&x, NULL, NULL, 100, &r);
  assert_non_null(strstr(r.text, "a?[2Jb?gpj.exe"));
  assert_null(strchr(r.text, '\x1b'));
  for (int cols = 1; cols <= 100; cols++) {
    progress_format(&x, NULL, NULL, cols, &r);
    assert_null(strchr(r.text, '\x1b'));
    assert_true(utf8_width(r.text, strlen(r.text)) <= cols);
  }
}

/* The pane names the states as the issue does (the core's names win over
 * the model's), cuts long names with an ellipsis and keeps a 10-cell bar
 * at 80 columns. */
static void test_states(void **state) {
  (void)state;
  xfer x;
  progress_row r;
  char st[64];
  xfer_init(&x, 1, "report.pdf", "bob", XFER_RECV, 1000);
  progress_format(&x, "offered", NULL, 80, &r);
  assert_non_null(strstr(r.text, "offered"));
  assert_null(strstr(r.text, "waiting"));
  assert_true(r.bar_w >= 10);
  xfer_start(&x, 0, 0);
  xfer_progress(&x, 1000, 1000);
  progress_format(&x, "verifying", NULL, 80, &r);
  assert_non_null(strstr(r.text, "verifying"));
  assert_null(strstr(r.text, "active"));
  xfer_fail(&x, XFER_ERR_REFUSED, 2000);
  progress_state(st, sizeof(st), &x, "rejected", NULL);
  assert_string_equal(st, "rejected");
  progress_state(st, sizeof(st), &x, NULL, NULL);
  assert_string_equal(st, "failed: refused");
  xfer_init(&x, 2, "a.bin", "carol", XFER_SEND, 1000);
  xfer_start(&x, 0, 0);
  xfer_fail(&x, XFER_ERR_NETWORK, 10);
  progress_state(st, sizeof(st), &x, "failed", NULL);
  assert_string_equal(st, "failed: connection lost");
  progress_format(&x, "failed", NULL, 80, &r);
  assert_non_null(strstr(r.text, "failed: connection lost"));
  assert_true(r.bar_w >= 10);
  xfer_init(&x, 3, "quarterly-report-final-v2-really.tar.gz", "dave", XFER_SEND,
            1000);
  xfer_start(&x, 0, 0);
  xfer_progress(&x, 500, 1000);
  for (int cols = 80; cols <= 200; cols += 40) {
    progress_format(&x, "active", NULL, cols, &r);
    assert_true(utf8_width(r.text, strlen(r.text)) <= cols);
    assert_true(r.bar_w >= 10);
    assert_non_null(strstr(r.text, "quarterly-"));
    assert_non_null(strstr(r.text, "\xe2\x80\xa6 to dave"));
    assert_non_null(strstr(r.text, "active"));
    /* The data path, once known, is shown beside the state; the whole
     * row still fits and keeps its 10-cell bar. */
    progress_format(&x, "verifying", "direct", cols, &r);
    assert_true(utf8_width(r.text, strlen(r.text)) <= cols);
    assert_true(r.bar_w >= 10);
    assert_non_null(strstr(r.text, "direct verifying"));
  }
  progress_state(st, sizeof(st), &x, "active", "relay");
  assert_string_equal(st, "relay active");
  xfer_fail(&x, XFER_ERR_NETWORK, 2000); /* a failure says why, not how */
  progress_state(st, sizeof(st), &x, "failed", "relay");
  assert_string_equal(st, "failed: connection lost");
  xfer_init(&x, 4, "twenty-characters.gz", "dave", XFER_SEND, 1000);
  progress_format(&x, NULL, NULL, 160, &r); /* 32 columns of name: it fits */
  assert_null(strstr(r.text, "\xe2\x80\xa6"));
  assert_non_null(strstr(r.text, "twenty-characters.gz "));
}

/* Narrow panes drop the bar, the ETA and the rate before they cut the
 * state (the tester's 50-column row read "...ETA 0:10 re"). */
static void test_narrow_state(void **state) {
  (void)state;
  xfer x;
  progress_row r;
  xfer_init(&x, 1, "back200.tar.gz", "bob", XFER_RECV, 1000000);
  xfer_start(&x, 0, 0);
  xfer_progress(&x, 850000, 1000);
  progress_format(&x, "active", "relay", 50, &r);
  assert_non_null(strstr(r.text, "relay active"));
  assert_non_null(strstr(r.text, "from bob"));
  assert_non_null(strstr(r.text, " 85%"));
  assert_non_null(strstr(r.text, "KiB/s")); /* the rate outlives the ETA */
  assert_null(strstr(r.text, "ETA"));
  assert_int_equal(r.bar_col, -1);
  static const char *const states[][2] = {
      {"active", "relay"}, {"verifying", "direct"}, {"connecting", "direct"},
      {"offered", NULL},   {"cancelled", NULL},     {"rejected", NULL},
  };
  for (int cols = 40; cols <= 160; cols++) {
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
      char st[64];
      progress_state(st, sizeof(st), &x, states[i][0], states[i][1]);
      progress_format(&x, states[i][0], states[i][1], cols, &r);
      assert_true(utf8_width(r.text, strlen(r.text)) <= cols);
      assert_non_null(strstr(r.text, st));
      assert_non_null(strstr(r.text, "from b"));
      if (cols >= 80)
        assert_true(r.bar_w >= 10);
    }
  }
  xfer_fail(&x, XFER_ERR_HASH, 2000);
  for (int cols = 40; cols <= 160; cols++) {
    progress_format(&x, NULL, NULL, cols, &r);
    assert_true(utf8_width(r.text, strlen(r.text)) <= cols);
    assert_non_null(strstr(r.text, "failed: checksum mismatch"));
  }
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fmt),    cmocka_unit_test(test_machine),
      cmocka_unit_test(test_edges),  cmocka_unit_test(test_rows),
      cmocka_unit_test(test_states), cmocka_unit_test(test_narrow_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
