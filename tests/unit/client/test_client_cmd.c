/* test_client_cmd.c: the input-line parser and the help table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "client_cmd.h"

/* Parses line, asserting success; returns the command. */
static client_cmd parse_ok(const char *line) {
  client_cmd c;
  char err[200] = "";
  int r = client_cmd_parse(line, &c, err, sizeof err);
  assert_int_equal(r, 0);
  return c;
}

/* Parses line, asserting failure with err containing want. */
static void parse_bad(const char *line, const char *want) {
  client_cmd c;
  char err[200] = "";
  assert_int_equal(client_cmd_parse(line, &c, err, sizeof err), -1);
  assert_non_null(strstr(err, want));
}

static void word_is(const client_cmd *c, const char *w) {
  assert_int_equal(c->word_n, strlen(w));
  assert_memory_equal(c->word, w, c->word_n);
}

static void test_text_and_escape(void **s) {
  (void)s;
  client_cmd c = parse_ok("hello world");
  assert_int_equal(c.id, CLIENT_CMD_TEXT);
  assert_string_equal(c.rest, "hello world");
  c = parse_ok("//not a command");
  assert_int_equal(c.id, CLIENT_CMD_TEXT);
  assert_string_equal(c.rest, "/not a command");
  c = parse_ok("");
  assert_int_equal(c.id, CLIENT_CMD_NONE);
  c = parse_ok("   leading blanks stay");
  assert_string_equal(c.rest, "   leading blanks stay");
}

static void test_join_part(void **s) {
  (void)s;
  client_cmd c = parse_ok("/join #rust");
  assert_int_equal(c.id, CLIENT_CMD_JOIN);
  word_is(&c, "#rust");
  c = parse_ok("/JOIN   #x  ");
  assert_int_equal(c.id, CLIENT_CMD_JOIN);
  word_is(&c, "#x");
  parse_bad("/join", "usage: /join #room");
  parse_bad("/join   ", "usage");
  c = parse_ok("/part");
  assert_int_equal(c.id, CLIENT_CMD_PART);
  assert_int_equal(c.word_n, 0);
  assert_string_equal(c.rest, "");
  c = parse_ok("/part #a bye all");
  word_is(&c, "#a");
  assert_string_equal(c.rest, "bye all");
  c = parse_ok("/part gone fishing");
  assert_int_equal(c.word_n, 0);
  assert_string_equal(c.rest, "gone fishing");
}

static void test_msg_query_me(void **s) {
  (void)s;
  client_cmd c = parse_ok("/msg bob hi there");
  assert_int_equal(c.id, CLIENT_CMD_MSG);
  word_is(&c, "bob");
  assert_string_equal(c.rest, "hi there");
  parse_bad("/msg bob", "usage: /msg USER TEXT");
  parse_bad("/msg", "usage");
  c = parse_ok("/query bob");
  assert_int_equal(c.id, CLIENT_CMD_QUERY);
  word_is(&c, "bob");
  parse_bad("/query", "usage: /query USER");
  c = parse_ok("/me waves");
  assert_int_equal(c.id, CLIENT_CMD_ME);
  assert_string_equal(c.rest, "waves");
  parse_bad("/me", "usage: /me TEXT");
}

static void test_status_and_lists(void **s) {
  (void)s;
  client_cmd c = parse_ok("/away lunch");
  assert_int_equal(c.id, CLIENT_CMD_AWAY);
  assert_string_equal(c.rest, "lunch");
  c = parse_ok("/away");
  assert_string_equal(c.rest, "");
  assert_int_equal(parse_ok("/back").id, CLIENT_CMD_BACK);
  assert_int_equal(parse_ok("/busy").id, CLIENT_CMD_BUSY);
  assert_int_equal(parse_ok("/who").id, CLIENT_CMD_WHO);
  assert_int_equal(parse_ok("/rooms").id, CLIENT_CMD_ROOMS);
  assert_int_equal(parse_ok("/scan").id, CLIENT_CMD_SCAN);
  assert_int_equal(parse_ok("/help").id, CLIENT_CMD_HELP);
  assert_int_equal(parse_ok("/close").id, CLIENT_CMD_CLOSE);
  c = parse_ok("/quit see you");
  assert_int_equal(c.id, CLIENT_CMD_QUIT);
  assert_string_equal(c.rest, "see you");
  assert_int_equal(parse_ok("/bye").id, CLIENT_CMD_QUIT);
  c = parse_ok("/topic  Rust talk ");
  assert_int_equal(c.id, CLIENT_CMD_TOPIC);
  assert_string_equal(c.rest, "Rust talk ");
  parse_bad("/topic", "usage: /topic TEXT");
}

static void test_kick_ban(void **s) {
  (void)s;
  client_cmd c = parse_ok("/kick eve spamming");
  assert_int_equal(c.id, CLIENT_CMD_KICK);
  word_is(&c, "eve");
  assert_string_equal(c.rest, "spamming");
  parse_bad("/kick", "usage: /kick USER");
  c = parse_ok("/ban eve 3600 flood");
  assert_int_equal(c.id, CLIENT_CMD_BAN);
  word_is(&c, "eve");
  assert_int_equal(c.num, 3600);
  assert_string_equal(c.rest, "flood");
  c = parse_ok("/ban eve for good");
  assert_int_equal(c.num, 0);
  assert_string_equal(c.rest, "for good");
  c = parse_ok("/ban eve");
  assert_int_equal(c.num, 0);
  assert_string_equal(c.rest, "");
  c = parse_ok("/ban eve 12345678901 x"); /* too long for seconds: reason */
  assert_int_equal(c.num, 0);
  assert_string_equal(c.rest, "12345678901 x");
}

static void test_unban_bans_set(void **s) {
  (void)s;
  client_cmd c = parse_ok("/unban eve");
  assert_int_equal(c.id, CLIENT_CMD_UNBAN);
  word_is(&c, "eve");
  parse_bad("/unban", "usage: /unban USER");
  c = parse_ok("/bans");
  assert_int_equal(c.id, CLIENT_CMD_BANS);
  c = parse_ok("/set talking-visible off");
  assert_int_equal(c.id, CLIENT_CMD_SET);
  word_is(&c, "talking-visible");
  assert_string_equal(c.rest, "off");
  parse_bad("/set talking-visible", "usage: /set talking-visible on|off");
  parse_bad("/set", "usage: /set");
}

static void test_unknown(void **s) {
  (void)s;
  parse_bad("/frobnicate now", "unknown command /frobnicate");
  parse_bad("/", "unknown command");
}

static void test_help_table(void **s) {
  (void)s;
  size_t n;
  const client_help_entry *h = client_cmd_help(&n);
  assert_true(n >= 18);
  const char *want[] = {
      "/join",   "/part",      "/msg",    "/query",  "/me",       "/away",
      "/back",   "/busy",      "/who",    "/rooms",  "/kick",     "/ban",
      "/topic",  "/scan",      "/help",   "/quit",   "/bye",      "/close",
      "/unban",  "/bans",      "/set",    "/send",   "/accept",   "/reject",
      "/cancel", "/transfers", "/upload", "/put",    "/download", "/get",
      "/files",  "/list",      "/rename", "/change", "/delete",   "/names",
      "/joins",  "/reconnect"};
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    bool found = false;
    for (size_t i = 0; i < n; i++) {
      size_t l = strlen(want[w]);
      if (strncmp(h[i].command, want[w], l) == 0 &&
          (h[i].command[l] == ' ' || h[i].command[l] == '\0'))
        found = true;
      assert_true(h[i].help[0] != '\0');
    }
    assert_true(found);
  }
  /* The first word of each entry is what Tab completes to: it must be a
   * real command ("/accept|/reject" was not). */
  for (size_t i = 0; i < n; i++) {
    char line[40];
    size_t l = strcspn(h[i].command, " ");
    assert_true(l < sizeof line);
    memcpy(line, h[i].command, l);
    line[l] = '\0';
    client_cmd c;
    char err[200] = "";
    if (client_cmd_parse(line, &c, err, sizeof err) < 0)
      assert_null(strstr(err, "unknown command"));
  }
}

/* Splits s, asserting success; returns the words. */
static client_words *words_ok(const char *s) {
  static client_words ws;
  char err[200] = "";
  int r = client_cmd_words(s, &ws, err, sizeof err);
  if (r < 0)
    fail_msg("'%s': %s", s, err);
  assert_int_equal(r, ws.n);
  return &ws;
}

/* Splits s, asserting failure with err containing want. */
static void words_bad(const char *s, const char *want) {
  static client_words ws;
  char err[200] = "";
  assert_int_equal(client_cmd_words(s, &ws, err, sizeof err), -1);
  if (!strstr(err, want))
    fail_msg("'%s': '%s' lacks '%s'", s, err, want);
}

static void test_words(void **s) {
  (void)s;
  client_words *w = words_ok("  bob   my  notes.txt ");
  assert_int_equal(w->n, 3);
  assert_string_equal(w->w[0], "bob");
  assert_string_equal(w->w[1], "my");
  assert_string_equal(w->w[2], "notes.txt");
  w = words_ok("bob \"my notes \u00e9 \u00fc.txt\" 'it''s' a\\ b\\\\c");
  assert_int_equal(w->n, 4);
  assert_string_equal(w->w[1], "my notes \u00e9 \u00fc.txt");
  assert_string_equal(w->w[2], "its");
  assert_string_equal(w->w[3], "a b\\c");
  w = words_ok("my\\ notes\\ \u00e9\\ \u00fc.txt \"a\\\"b\\\\c\\d\" 'x\\y\"z' "
               "\"\" x\"y z\"w");
  assert_int_equal(w->n, 5);
  assert_string_equal(w->w[0], "my notes \u00e9 \u00fc.txt");
  assert_string_equal(w->w[1], "a\"b\\c\\d");
  assert_string_equal(w->w[2], "x\\y\"z");
  assert_string_equal(w->w[3], "");
  assert_string_equal(w->w[4], "xy zw");
  assert_int_equal(words_ok("")->n, 0);
  assert_int_equal(words_ok(" \t ")->n, 0);
  words_bad("bob \"my notes.txt", "unterminated \" quote");
  words_bad("bob 'my notes.txt", "unterminated ' quote");
  words_bad("bob notes\\", "backslash ends the line");
  char many[CLIENT_WORDS_MAX * 2 + 8];
  size_t o = 0;
  for (int i = 0; i <= CLIENT_WORDS_MAX; i++) {
    many[o++] = 'x';
    many[o++] = ' ';
  }
  many[o] = '\0';
  words_bad(many, "too many arguments");
  many[o - 2] = '\0'; /* CLIENT_WORDS_MAX words */
  assert_int_equal(words_ok(many)->n, CLIENT_WORDS_MAX);
  static char big[CLIENT_WORDS_BUF + 10];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  words_bad(big, "too long");
}

static void test_words_tilde(void **s) {
  (void)s;
  char path[64], err[200] = "";
  client_words *w =
      words_ok("~/note.txt ~ ~bob/x \\~/a \"~/b\" '~' a~/c ~/'my notes'");
  assert_int_equal(w->n, 8);
  const char *want[] = {
      "/home/u/note.txt", "/home/u", "~bob/x", "~/a", "~/b", "~", "a~/c",
      "/home/u/my notes"};
  for (int i = 0; i < w->n; i++) {
    assert_int_equal(
        client_cmd_path(w, i, "/home/u", path, sizeof path, err, sizeof err),
        0);
    assert_string_equal(path, want[i]);
  }
  /* Words that are not expanded need no HOME. */
  assert_int_equal(
      client_cmd_path(w, 2, NULL, path, sizeof path, err, sizeof err), 0);
  assert_int_equal(
      client_cmd_path(w, 0, NULL, path, sizeof path, err, sizeof err), -1);
  assert_non_null(strstr(err, "HOME"));
  assert_int_equal(
      client_cmd_path(w, 0, "", path, sizeof path, err, sizeof err), -1);
  assert_int_equal(client_cmd_path(w, 7, "/home/u", path, 10, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "too long"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_and_escape),
      cmocka_unit_test(test_join_part),
      cmocka_unit_test(test_msg_query_me),
      cmocka_unit_test(test_status_and_lists),
      cmocka_unit_test(test_kick_ban),
      cmocka_unit_test(test_unban_bans_set),
      cmocka_unit_test(test_unknown),
      cmocka_unit_test(test_help_table),
      cmocka_unit_test(test_words),
      cmocka_unit_test(test_words_tilde),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
