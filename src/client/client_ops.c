/* client_ops.c: the operator's ban list (/bans), /unban's answer and the
 * privacy setting (/set talking-visible), kept out of the core's busier
 * files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "client_int.h"

/* Keeps one BAN_ENTRY until BANS_END (at most CLIENT_MAX_LIST). */
void client_ops_ban_entry(client *c, const proto_ban_entry *b) {
  if (c->nbans >= CLIENT_MAX_LIST)
    return;
  if (c->nbans == c->bans_cap) {
    size_t cap = c->bans_cap ? c->bans_cap * 2 : 16;
    client_ban_entry *n = realloc(c->bans, cap * sizeof *n);
    if (!n)
      return;
    c->bans = n;
    c->bans_cap = cap;
  }
  client_ban_entry *e = &c->bans[c->nbans++];
  proto_str_copy(e->user, sizeof e->user, b->user);
  proto_str_copy(e->actor, sizeof e->actor, b->actor);
  proto_str_copy(e->reason, sizeof e->reason, b->reason);
  e->until_ms = b->until_ms;
  e->since_ms = b->since_ms;
}

/* BANS_END: the list as info lines in the current window, then BANS. */
void client_ops_bans_end(client *c) {
  client_info(c, NULL, CLIENT_LINE_INFO, "%zu ban%s", c->nbans,
              c->nbans == 1 ? "" : "s");
  for (size_t i = 0; i < c->nbans; i++) {
    const client_ban_entry *e = &c->bans[i];
    char until[40] = "permanently";
    if (e->until_ms) {
      time_t t = (time_t)(e->until_ms / 1000);
      struct tm tm;
      localtime_r(&t, &tm);
      strftime(until, sizeof until, "until %Y-%m-%d %H:%M:%S", &tm);
    }
    client_info(c, NULL, CLIENT_LINE_INFO, "  %s %s by %s%s%s", e->user, until,
                e->actor[0] ? e->actor : "the operator",
                e->reason[0] ? ": " : "", e->reason);
  }
  client_event ev = {.type = CLIENT_EV_BANS, .bans = c->bans, .n = c->nbans};
  client_emit(c, &ev);
  c->nbans = 0;
}

/* Sends the privacy flags (SET_PRIVACY). */
static int client_ops_send_privacy(client *c) {
  proto_msg m = {.type = PROTO_SET_PRIVACY};
  m.u.set_privacy.flags = c->hide_talking ? PROTO_PRIVF_HIDE_TALKING : 0;
  return client_send(c, &m);
}

/* A new session: the server forgot the privacy setting. */
void client_ops_logged_in(client *c) {
  if (c->hide_talking)
    (void)client_ops_send_privacy(c);
}

/* /set KEY VALUE. Kept for the session and sent again at each login, so
 * it may be set before connecting. */
int client_ops_set(client *c, const char *key, size_t key_n, const char *value,
                   char *err, size_t errlen) {
  static const char name[] = "talking-visible";
  bool on = strcasecmp(value, "on") == 0 || strcasecmp(value, "yes") == 0;
  bool off = strcasecmp(value, "off") == 0 || strcasecmp(value, "no") == 0;
  if (key_n != sizeof name - 1 || strncasecmp(key, name, key_n) != 0 ||
      (!on && !off)) {
    snprintf(err, errlen, "usage: /set talking-visible on|off");
    return CLIENT_EUSAGE;
  }
  c->hide_talking = off;
  if (client_ready(c)) {
    int r = client_ops_send_privacy(c);
    if (r < 0) {
      snprintf(err, errlen, "cannot send: %s", proto_strerror(-r));
      return CLIENT_EQUEUE;
    }
  }
  client_info(c, NULL, CLIENT_LINE_INFO, "talking-visible %s: %s",
              off ? "off" : "on",
              off ? "others do not see whom you are talking with"
                  : "others see whom you are talking with");
  return 0;
}
