/* test_client_opts.c: [USER@]HOST[:PORT], the command line, backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "client_backoff.h"

/* Parses s into fresh buffers with defaults "dflt"/7667. */
static int target(const char *s, char *user, char *host, uint16_t *port) {
  strcpy(user, "dflt");
  host[0] = '\0';
  *port = 7667;
  return client_opts_target(s, user, CLIENT_NAME_SZ, host, CLIENT_HOST_SZ,
                            port);
}

static void test_target_forms(void **s) {
  (void)s;
  char u[CLIENT_NAME_SZ], h[CLIENT_HOST_SZ];
  uint16_t p;
  assert_int_equal(target("example.org", u, h, &p), 0);
  assert_string_equal(u, "dflt");
  assert_string_equal(h, "example.org");
  assert_int_equal(p, 7667);
  assert_int_equal(target("alice@example.org:1234", u, h, &p), 0);
  assert_string_equal(u, "alice");
  assert_string_equal(h, "example.org");
  assert_int_equal(p, 1234);
  assert_int_equal(target("127.0.0.1:9", u, h, &p), 0);
  assert_string_equal(h, "127.0.0.1");
  assert_int_equal(p, 9);
  assert_int_equal(target("[::1]:7668", u, h, &p), 0);
  assert_string_equal(h, "::1");
  assert_int_equal(p, 7668);
  assert_int_equal(target("bob@[fe80::1%eth0]", u, h, &p), 0);
  assert_string_equal(u, "bob");
  assert_string_equal(h, "fe80::1%eth0");
  assert_int_equal(p, 7667);
}

static void test_target_errors(void **s) {
  (void)s;
  char u[CLIENT_NAME_SZ], h[CLIENT_HOST_SZ];
  uint16_t p;
  assert_int_equal(target("", u, h, &p), -1);
  assert_int_equal(target("@host", u, h, &p), -1);
  assert_int_equal(target("alice@", u, h, &p), -1);
  assert_int_equal(target("host:", u, h, &p), -1);
  assert_int_equal(target("host:0", u, h, &p), -1);
  assert_int_equal(target("host:65536", u, h, &p), -1);
  assert_int_equal(target("host:12x", u, h, &p), -1);
  assert_int_equal(target("::1", u, h, &p), -1); /* needs brackets */
  assert_int_equal(target("[::1", u, h, &p), -1);
  assert_int_equal(target("[::1]x", u, h, &p), -1);
  assert_int_equal(target("[]:5", u, h, &p), -1);
}

static void test_opts_parse(void **s) {
  (void)s;
  client_opts o;
  char err[300];
  char *argv1[] = {
      "parley",          "--batch", "--register",       "--no-reconnect",
      "--password-file", "/tmp/pw", "alice@[::1]:7700", NULL};
  assert_int_equal(client_opts_parse(&o, 7, argv1, err, sizeof err), 0);
  assert_int_equal(o.mode, CLIENT_MODE_BATCH);
  assert_true(o.do_register);
  assert_true(o.no_reconnect);
  assert_string_equal(o.password_file, "/tmp/pw");
  assert_string_equal(o.user, "alice");
  assert_string_equal(o.host, "::1");
  assert_int_equal(o.port, 7700);
  client_opts_free(&o);

  char *argv2[] = {"parley",    "--scan", "--scan-port", "4000",
                   "--timeout", "250",    NULL};
  assert_int_equal(client_opts_parse(&o, 6, argv2, err, sizeof err), 0);
  assert_int_equal(o.mode, CLIENT_MODE_SCAN);
  assert_int_equal(o.scan_port, 4000);
  assert_int_equal(o.timeout_ms, 250);
  client_opts_free(&o);

  char *argv3[] = {"parley", "--bogus", NULL};
  assert_int_equal(client_opts_parse(&o, 2, argv3, err, sizeof err), -1);
  assert_non_null(strstr(err, "--bogus"));
  client_opts_free(&o);
  char *argv4[] = {"parley", "--timeout", NULL};
  assert_int_equal(client_opts_parse(&o, 2, argv4, err, sizeof err), -1);
  client_opts_free(&o);
  char *argv5[] = {"parley", "9bad@host", NULL};
  assert_int_equal(client_opts_parse(&o, 2, argv5, err, sizeof err), -1);
  assert_non_null(strstr(err, "bad name"));
  /* said once: not "bad name: bad name:" */
  assert_null(strstr(strstr(err, "bad name") + 1, "bad name"));
  client_opts_free(&o);
  char *argv6[] = {"parley", "a@h", "b@h", NULL};
  assert_int_equal(client_opts_parse(&o, 3, argv6, err, sizeof err), -1);
  client_opts_free(&o);
}

static void test_password_sources(void **s) {
  (void)s;
  client_opts o;
  char err[300];
  char *argv[] = {"parley", "alice@h", NULL};
  assert_int_equal(client_opts_parse(&o, 2, argv, err, sizeof err), 0);
  setenv("PARLEY_PASSWORD", "secret pw\n", 1);
  assert_int_equal(client_opts_password(&o, err, sizeof err), 0);
  assert_string_equal(o.password, "secret pw");
  client_opts_free(&o);
  unsetenv("PARLEY_PASSWORD");
  assert_int_equal(client_opts_parse(&o, 2, argv, err, sizeof err), 0);
  assert_int_equal(client_opts_password(&o, err, sizeof err), 1);
  o.password_file = strdup("/nonexistent/parley-pw");
  assert_int_equal(client_opts_password(&o, err, sizeof err), -1);
  assert_non_null(strstr(err, "/nonexistent/parley-pw"));
  client_opts_free(&o);
}

static void test_backoff(void **s) {
  (void)s;
  /* Bounds per attempt: [d/2, d] with d = min(cap, base * 2^attempt). */
  for (unsigned a = 0; a < 40; a++) {
    uint64_t d = 500;
    for (unsigned i = 0; i < a && d < 30000; i++)
      d *= 2;
    if (d > 30000)
      d = 30000;
    uint32_t rs[] = {0, 1, 12345, 0xffffffffu};
    for (size_t i = 0; i < 4; i++) {
      uint64_t v = client_backoff_delay(a, 500, 30000, rs[i]);
      assert_true(v >= d - d / 2);
      assert_true(v <= d);
    }
  }
  assert_int_equal(client_backoff_delay(0, 500, 30000, 0), 250);
  assert_int_equal(client_backoff_delay(0, 500, 30000, 250), 500);
  assert_int_equal(client_backoff_delay(1000, 500, 30000, 0), 15000);
  /* Jitter spreads clients: different r, different delays. */
  assert_true(client_backoff_delay(3, 500, 30000, 1) !=
              client_backoff_delay(3, 500, 30000, 1000));
}

/* Writes text to a fresh temporary file; returns its path (static). */
static const char *conf_file(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/parley-conf-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

/* parley.conf: every key parsed, the command line overriding the file,
 * errors with FILE:LINE, a --config file that must exist. */
static void test_config_file(void **s) {
  (void)s;
  const char *p = conf_file("server = bob@example.org:7000\n"
                            "[client]\n"
                            "rooms = #dev, #ops\n"
                            "rooms = #x\n"
                            "rejoin = no\n"
                            "highlight = pizza deploy\n"
                            "pane = room\n"
                            "pane-width = 30\n"
                            "bell = off\n"
                            "timestamp = %H:%M:%S\n"
                            "scan-to = 10.0.0.1:7000 10.0.0.2\n"
                            "keep-session = no\n"
                            "send-rate = 1048576\n"
                            "relay-only = yes\n"
                            "[aliases]\n"
                            "j = /join\n");
  client_opts o;
  char err[300];
  char *argv[] = {"parley", "--config", (char *)p, NULL};
  assert_int_equal(client_opts_parse(&o, 3, argv, err, sizeof err), 0);
  const client_config *c = &o.config;
  assert_string_equal(o.user, "bob");
  assert_string_equal(o.host, "example.org");
  assert_int_equal(o.port, 7000);
  assert_int_equal(c->nrooms, 3);
  assert_string_equal(c->rooms[0], "#dev");
  assert_string_equal(c->rooms[2], "#x");
  assert_false(c->rejoin);
  assert_int_equal(c->nhighlight, 2);
  assert_string_equal(c->highlight[1], "deploy");
  assert_true(c->pane_room);
  assert_int_equal(c->pane_width, 30);
  assert_false(c->bell);
  assert_string_equal(c->timestamp, "%H:%M:%S");
  assert_int_equal(o.n_scan_to, 2);
  assert_false(o.keep_session);
  assert_int_equal(o.send_rate, 1048576);
  assert_true(o.relay_only);
  assert_int_equal(c->naliases, 1);
  assert_string_equal(c->aliases[0].name, "j");
  assert_string_equal(c->aliases[0].expansion, "/join");
  client_opts_free(&o);
  /* The command line wins over the file. */
  char *argv2[] = {"parley",    "--config",     (char *)p,
                   "--scan-to", "10.0.0.9",     "--send-rate",
                   "5000",      "me@127.0.0.1", NULL};
  assert_int_equal(client_opts_parse(&o, 8, argv2, err, sizeof err), 0);
  assert_int_equal(o.send_rate, 5000);
  assert_string_equal(o.user, "me");
  assert_string_equal(o.host, "127.0.0.1");
  assert_int_equal(o.port, 7667);
  assert_int_equal(o.n_scan_to, 1);
  client_opts_free(&o);
  unlink(p);
  /* Defaults without a file; the TUI keeps its session, --batch not. */
  char *argv3[] = {"parley", "--config", "/dev/null", "a@h", NULL};
  assert_int_equal(client_opts_parse(&o, 4, argv3, err, sizeof err), 0);
  assert_true(o.config.bell && o.config.rejoin && o.keep_session);
  assert_string_equal(o.config.timestamp, "%H:%M");
  client_opts_free(&o);
  char *argv4[] = {"parley", "--batch", "--config", "/dev/null", "a@h", NULL};
  assert_int_equal(client_opts_parse(&o, 5, argv4, err, sizeof err), 0);
  assert_false(o.keep_session);
  client_opts_free(&o);
  /* Errors name the file and line. */
  const char *bad[] = {"rooms = #ok\npane = sideways\n",
                       "[client]\nrooms = #ok nope\n",
                       "\ncolour = red\n",
                       "[aliases]\nj = join\n",
                       "[weird]\nx = 1\n",
                       "\nsend-rate = fast\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p = conf_file(bad[i]);
    char *argv5[] = {"parley", "--config", (char *)p, NULL};
    assert_int_equal(client_opts_parse(&o, 3, argv5, err, sizeof err), -1);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, ":2: "));
    client_opts_free(&o);
    unlink(p);
  }
  char *argv6[] = {"parley", "--config", "/nonexistent/parley.conf", NULL};
  assert_int_equal(client_opts_parse(&o, 3, argv6, err, sizeof err), -1);
  assert_non_null(strstr(err, "cannot read"));
  client_opts_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_target_forms),
      cmocka_unit_test(test_config_file),
      cmocka_unit_test(test_target_errors),
      cmocka_unit_test(test_opts_parse),
      cmocka_unit_test(test_password_sources),
      cmocka_unit_test(test_backoff),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
