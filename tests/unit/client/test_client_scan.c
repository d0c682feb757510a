/* test_client_scan.c: where a scan sends (client_scan_targets), the
 * --scan-to / `/scan ADDR` target syntax and the options that carry it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "client.h"

/* One interface entry: IPv4 address/netmask, internal or not. */
static uv_interface_address_t iface4(const char *name, const char *ip,
                                     const char *mask, int internal) {
  uv_interface_address_t f;
  memset(&f, 0, sizeof f);
  f.name = (char *)name;
  f.is_internal = internal;
  f.address.address4.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &f.address.address4.sin_addr);
  f.netmask.netmask4.sin_family = AF_INET;
  inet_pton(AF_INET, mask, &f.netmask.netmask4.sin_addr);
  return f;
}

/* An IPv6 interface entry (never a scan target). */
static uv_interface_address_t iface6(const char *name, const char *ip) {
  uv_interface_address_t f;
  memset(&f, 0, sizeof f);
  f.name = (char *)name;
  f.address.address6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, ip, &f.address.address6.sin6_addr);
  return f;
}

/* "a.b.c.d:port" of t[i], in a static buffer. */
static const char *fmt(const struct sockaddr_in *t) {
  static char buf[40];
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &t->sin_addr, ip, sizeof ip);
  snprintf(buf, sizeof buf, "%s:%u", ip, ntohs(t->sin_port));
  return buf;
}

static void test_default_targets(void **st) {
  (void)st;
  uv_interface_address_t ifs[] = {
      iface4("lo", "127.0.0.1", "255.0.0.0", 1),          /* internal */
      iface4("eth0", "192.168.1.23", "255.255.255.0", 0), /* /24 */
      iface6("eth0", "fe80::1"),                          /* IPv6: none */
      iface4("wg0", "10.9.0.2", "255.255.255.255", 0),    /* /32: none */
      iface4("p2p", "10.8.0.4", "255.255.255.254", 0),    /* /31: none */
      iface4("eth1", "10.1.2.3", "255.255.0.0", 0),       /* /16 */
      iface4("eth0b", "192.168.1.77", "255.255.255.0", 0), /* same net */
  };
  struct sockaddr_in out[8];
  size_t n = client_scan_targets(ifs, 7, NULL, 0, 7667, out, 8);
  assert_int_equal(n, 3);
  assert_string_equal(fmt(&out[0]), "192.168.1.255:7667");
  assert_string_equal(fmt(&out[1]), "10.1.255.255:7667");
  assert_string_equal(fmt(&out[2]), "127.0.0.1:7667");
  for (size_t i = 0; i < n; i++) /* never the limited broadcast */
    assert_int_not_equal(out[i].sin_addr.s_addr, htonl(INADDR_BROADCAST));

  /* No interfaces at all (or only loopback): loopback alone. */
  n = client_scan_targets(NULL, 0, NULL, 0, 9000, out, 8);
  assert_int_equal(n, 1);
  assert_string_equal(fmt(&out[0]), "127.0.0.1:9000");
  n = client_scan_targets(ifs, 1, NULL, 0, 9000, out, 8);
  assert_int_equal(n, 1);

  /* The output bound holds. */
  n = client_scan_targets(ifs, 7, NULL, 0, 7667, out, 1);
  assert_int_equal(n, 1);
}

static void test_explicit_targets(void **st) {
  (void)st;
  uv_interface_address_t ifs[] = {
      iface4("eth0", "192.168.1.23", "255.255.255.0", 0),
  };
  struct sockaddr_in to[3], out[8];
  assert_int_equal(client_scan_parse_to("127.0.0.1", 9, 4000, &to[0]), 0);
  assert_int_equal(client_scan_parse_to("127.0.0.2:5000", 14, 4000, &to[1]),
                   0);
  assert_int_equal(client_scan_parse_to("127.0.0.1", 9, 4000, &to[2]), 0);
  /* Explicit targets replace interfaces and loopback, deduplicated. */
  size_t n = client_scan_targets(ifs, 1, to, 3, 7667, out, 8);
  assert_int_equal(n, 2);
  assert_string_equal(fmt(&out[0]), "127.0.0.1:4000");
  assert_string_equal(fmt(&out[1]), "127.0.0.2:5000");
}

static void test_parse_to(void **st) {
  (void)st;
  struct sockaddr_in a;
  const char *bad[] = {"",          "localhost",   "1.2.3",    "1.2.3.4:",
                       "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x", "::1",
                       "1.2.3.256", ":80",         "1.2.3.4:123456"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(client_scan_parse_to(bad[i], strlen(bad[i]), 7667, &a),
                     UV_EINVAL);
  /* n bounds the text: "127.0.0.1 rest" parses its first word only. */
  assert_int_equal(client_scan_parse_to("127.0.0.1 rest", 9, 7667, &a), 0);
  assert_string_equal(fmt(&a), "127.0.0.1:7667");
}

static void test_opts_scan_to(void **st) {
  (void)st;
  client_opts o;
  char err[256];
  /* --scan-port applies to targets without a port, wherever it comes. */
  char *argv[] = {"parley",      "--scan",    "--scan-to", "127.0.0.1",
                  "--scan-to",   "127.0.0.3:99", "--scan-port", "4000",
                  NULL};
  assert_int_equal(client_opts_parse(&o, 8, argv, err, sizeof err), 0);
  assert_int_equal(o.n_scan_to, 2);
  assert_string_equal(fmt(&o.scan_to[0]), "127.0.0.1:4000");
  assert_string_equal(fmt(&o.scan_to[1]), "127.0.0.3:99");
  client_opts_free(&o);

  char *argv2[] = {"parley", "--scan", "--scan-to", "example.org", NULL};
  assert_int_equal(client_opts_parse(&o, 4, argv2, err, sizeof err), -1);
  assert_non_null(strstr(err, "--scan-to"));
  client_opts_free(&o);

  /* At most CLIENT_MAX_SCAN_TO. */
  char *many[2 + 2 * (CLIENT_MAX_SCAN_TO + 1) + 1];
  int k = 0;
  many[k++] = "parley";
  many[k++] = "--scan";
  for (int i = 0; i <= CLIENT_MAX_SCAN_TO; i++) {
    many[k++] = "--scan-to";
    many[k++] = "127.0.0.1";
  }
  many[k] = NULL;
  assert_int_equal(client_opts_parse(&o, k, many, err, sizeof err), -1);
  assert_non_null(strstr(err, "at most"));
  client_opts_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_targets),
      cmocka_unit_test(test_explicit_targets),
      cmocka_unit_test(test_parse_to),
      cmocka_unit_test(test_opts_scan_to),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
