/* client_summary.h: a large room's joins and leaves, collected between two
 * summary lines ("-- 12 joined (alice, bob, carol, …), 3 left (dave) --"
 * on the screen) instead of one notice line each. The set
 * (client_summary_*) is pure; the client's side of it (which rooms, the
 * timer) is in client_summary.c too, behind client_int.h. */
#ifndef PARLEY_CLIENT_SUMMARY_H
#define PARLEY_CLIENT_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>

#define CLIENT_SUMMARY_ABOVE 50 /* default --join-summary-above */
#define CLIENT_SUMMARY_EVERY 30 /* default --join-summary-every, seconds */
#define CLIENT_SUMMARY_MAX_EVERY 3600
#define CLIENT_SUMMARY_MAX                                                     \
  1000                         /* names pending per room: then the line        \
                                  is written at once */
#define CLIENT_SUMMARY_NAMES 3 /* names shown per kind in the line */

typedef struct client_summary client_summary;

/* An empty set, or NULL on out of memory. */
client_summary *client_summary_new(void);
void client_summary_free(client_summary *s);

/* Records that name joined (joined true) or left. The net change counts:
 * a leave cancels a pending join of the same name (case-insensitive) and
 * a join a pending leave, so who joined and left within one period is in
 * neither list. Returns the names now pending, or -1 out of memory (the
 * event is then not counted). */
int client_summary_add(client_summary *s, const char *name, bool joined);

/* True when name's join or leave is pending. */
bool client_summary_has(const client_summary *s, const char *name);

/* Forgets name's pending join or leave (its event got a line of its own). */
void client_summary_forget(client_summary *s, const char *name);

/* Names pending, and of them those that joined / left. */
size_t client_summary_pending(const client_summary *s);
size_t client_summary_joined(const client_summary *s);
size_t client_summary_left(const client_summary *s);

/* Calls fn(name, joined, ud) for each pending name in the order they
 * first came. */
void client_summary_each(const client_summary *s,
                         void (*fn)(const char *name, bool joined, void *ud),
                         void *ud);

/* Writes the line "12 joined (alice, bob, carol, …), 3 left (dave) --"
 * (a notice line: the TUI draws "-- " in front, so it reads as one
 * framed summary): the counts, each followed by its first max_names names
 * in the order they came and "…" when there are more; a kind with no
 * names is left out. Returns the length written (cut to n - 1), 0 when
 * nothing is pending (buf is then ""). */
size_t client_summary_format(const client_summary *s, unsigned max_names,
                             char *buf, size_t n);

/* Empties the set. */
void client_summary_clear(client_summary *s);

/* Parses the value of --join-summary-above / join-summary-above: "off"
 * (stored as 0) or 1..100000 members. Returns 0 or -1. */
int client_summary_parse_above(const char *v, unsigned *out);

/* Parses --join-summary-every / join-summary-every: 1..3600 seconds.
 * Returns 0 or -1. */
int client_summary_parse_every(const char *v, unsigned *out);

#endif
