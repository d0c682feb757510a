/* test_names.c: name keys, conversation keys and the listen address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "config.h"
#include "conn.h"
#include "store.h"
#include "user.h"

/* Names are case-insensitive keys; invalid names have no key. */
static void test_user_key(void **state) {
  (void)state;
  char k[PROTO_MAX_NAME + 1];
  assert_int_equal(user_key(k, sizeof k, "Alice.B-2", 9), 0);
  assert_string_equal(k, "alice.b-2");
  assert_int_equal(user_key(k, sizeof k, "2alice", 6), -PERR_BAD_NAME);
  assert_int_equal(user_key(k, sizeof k, "", 0), -PERR_BAD_NAME);
  assert_int_equal(user_key(k, sizeof k, "a b", 3), -PERR_BAD_NAME);
  char long_name[40];
  memset(long_name, 'a', sizeof long_name);
  assert_int_equal(user_key(k, sizeof k, long_name, 33), -PERR_BAD_NAME);
  assert_int_equal(user_key(k, sizeof k, long_name, 32), 0);
}

/* A DM conversation has one key whichever side speaks. */
static void test_conv_key(void **state) {
  (void)state;
  char a[80], b[80];
  store_conv_key(a, sizeof a, PROTO_TO_USER, proto_str_c("Bob"),
                 proto_str_c("alice"));
  store_conv_key(b, sizeof b, PROTO_TO_USER, proto_str_c("Alice"),
                 proto_str_c("BOB"));
  assert_string_equal(a, "@alice@bob");
  assert_string_equal(a, b);
  store_conv_key(a, sizeof a, PROTO_TO_ROOM, proto_str_c("#Lobby"),
                 proto_str_c("x"));
  assert_string_equal(a, "#lobby");
}

/* --listen forms. */
static void test_listen(void **state) {
  (void)state;
  config c;
  memset(&c, 0, sizeof c);
  char host[64];
  int port;
  strcpy(c.listen, "127.0.0.1:0");
  assert_int_equal(config_split_listen(&c, host, sizeof host, &port), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 0);
  strcpy(c.listen, "[::1]:7667");
  assert_int_equal(config_split_listen(&c, host, sizeof host, &port), 0);
  assert_string_equal(host, "::1");
  assert_int_equal(port, 7667);
  strcpy(c.listen, "9000");
  assert_int_equal(config_split_listen(&c, host, sizeof host, &port), 0);
  assert_string_equal(host, "0.0.0.0");
  strcpy(c.listen, "1.2.3.4:70000");
  assert_int_equal(config_split_listen(&c, host, sizeof host, &port), -1);
  strcpy(c.listen, "1.2.3.4:x");
  assert_int_equal(config_split_listen(&c, host, sizeof host, &port), -1);
}

/* Command line beats defaults; bad values are refused. */
static void test_config(void **state) {
  (void)state;
  static config c;
  char *argv[] = {"parleyd",       "--max-clients", "7",
                  "--no-register", "--pwhash",      "min",
                  "user",          "list",          NULL};
  assert_int_equal(config_load(&c, 8, argv), 0);
  assert_int_equal(c.max_clients, 7);
  assert_true(c.no_register);
  assert_int_equal(c.pwhash, CONFIG_PWHASH_MIN);
  assert_int_equal(c.max_msg_chars, 280);
  assert_int_equal(c.argc, 2);
  assert_string_equal(c.argv[0], "user");
  char *bad[] = {"parleyd", "--max-clients", "-3", NULL};
  assert_int_equal(config_load(&c, 3, bad), -1);
  char *bad2[] = {"parleyd", "--max-msg-chars", "5000", NULL};
  assert_int_equal(config_load(&c, 3, bad2), -1);
}

/* The per-address limits group IPv4 by address, IPv6 by /64, and an
 * IPv4-mapped IPv6 address as the IPv4 address it is. */
static void test_addr_key(void **state) {
  (void)state;
  conn c;
  memset(&c, 0, sizeof c);
  assert_string_equal(conn_addr_key(&c), "?");
  c.family = AF_INET;
  assert_int_equal(inet_pton(AF_INET, "192.0.2.7", c.addr), 1);
  assert_string_equal(conn_addr_key(&c), "192.0.2.7");
  c.family = AF_INET6;
  assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2:aaaa::1", c.addr), 1);
  assert_string_equal(conn_addr_key(&c), "2001:db8:1:2::/64");
  assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2:ffff:1:2:3", c.addr), 1);
  assert_string_equal(conn_addr_key(&c), "2001:db8:1:2::/64");
  assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:3::1", c.addr), 1);
  assert_string_equal(conn_addr_key(&c), "2001:db8:1:3::/64");
  assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.7", c.addr), 1);
  assert_string_equal(conn_addr_key(&c), "192.0.2.7");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_user_key), cmocka_unit_test(test_conv_key),
      cmocka_unit_test(test_listen),   cmocka_unit_test(test_config),
      cmocka_unit_test(test_addr_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
