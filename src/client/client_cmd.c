/* client_cmd.c: parse input lines into commands; the help table. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "client_cmd.h"

/* How many arguments a command wants, for the parser's checks. */
enum arg_shape {
  ARGS_NONE,      /* anything after the name is ignored */
  ARGS_REST,      /* optional free text */
  ARGS_REST_REQ,  /* required free text */
  ARGS_WORD,      /* required word, optional rest */
  ARGS_WORD_REST, /* required word and required rest */
  ARGS_PART,      /* optional #room, optional reason */
  ARGS_BAN,       /* word, optional seconds, optional reason */
};

typedef struct cmd_def {
  const char *name;
  client_cmd_id id;
  enum arg_shape shape;
  const char *usage; /* also the help table's command column */
  const char *help;
} cmd_def;

static const cmd_def defs[] = {
    {"join", CLIENT_CMD_JOIN, ARGS_WORD, "/join #room",
     "join or create a room"},
    {"part", CLIENT_CMD_PART, ARGS_PART, "/part [#room] [reason]",
     "leave a room (default: this one)"},
    {"msg", CLIENT_CMD_MSG, ARGS_WORD_REST, "/msg USER TEXT",
     "send a direct message"},
    {"query", CLIENT_CMD_QUERY, ARGS_WORD, "/query USER",
     "open a direct conversation window"},
    {"me", CLIENT_CMD_ME, ARGS_REST_REQ, "/me TEXT", "send an action"},
    {"away", CLIENT_CMD_AWAY, ARGS_REST, "/away [TEXT]",
     "mark yourself away, with an optional message"},
    {"back", CLIENT_CMD_BACK, ARGS_NONE, "/back", "mark yourself online again"},
    {"busy", CLIENT_CMD_BUSY, ARGS_REST, "/busy [TEXT]", "mark yourself busy"},
    {"who", CLIENT_CMD_WHO, ARGS_NONE, "/who", "list the users online"},
    {"rooms", CLIENT_CMD_ROOMS, ARGS_NONE, "/rooms",
     "list rooms with member counts"},
    {"kick", CLIENT_CMD_KICK, ARGS_WORD, "/kick USER [REASON]",
     "disconnect a user (operators)"},
    {"ban", CLIENT_CMD_BAN, ARGS_BAN, "/ban USER [SECONDS] [REASON]",
     "ban a user, 0 or no SECONDS = forever (operators)"},
    {"unban", CLIENT_CMD_UNBAN, ARGS_WORD, "/unban USER",
     "lift a user's ban (operators)"},
    {"bans", CLIENT_CMD_BANS, ARGS_NONE, "/bans",
     "list the bans in force (operators)"},
    {"set", CLIENT_CMD_SET, ARGS_WORD_REST, "/set talking-visible on|off",
     "show others whom you are talking with, or not"},
    {"topic", CLIENT_CMD_TOPIC, ARGS_REST_REQ, "/topic TEXT",
     "set the topic of this room"},
    {"scan", CLIENT_CMD_SCAN, ARGS_REST, "/scan [ADDR...]",
     "find parley servers: on the LAN, or at the given IPv4 addresses"},
    {"help", CLIENT_CMD_HELP, ARGS_NONE, "/help", "list the commands"},
    {"quit", CLIENT_CMD_QUIT, ARGS_REST, "/quit [REASON]",
     "disconnect and exit"},
    {"bye", CLIENT_CMD_QUIT, ARGS_REST, "/bye [REASON]", "same as /quit"},
    {"close", CLIENT_CMD_CLOSE, ARGS_NONE, "/close",
     "close this window (parts a room)"},
    {"names", CLIENT_CMD_NAMES, ARGS_PART, "/names [#room]",
     "list a room's members (default: this one)"},
    {"joins", CLIENT_CMD_JOINS, ARGS_NONE, "/joins",
     "joins and leaves not yet summarised"},
    {"reconnect", CLIENT_CMD_RECONNECT, ARGS_NONE, "/reconnect",
     "drop the connection and connect again now"},
    {"send", CLIENT_CMD_SEND, ARGS_REST_REQ, "/send [USER|#room] PATH...",
     "offer files (in a conversation: to its peer)"},
    {"accept", CLIENT_CMD_ACCEPT, ARGS_REST, "/accept [ID] [DIR]",
     "accept the newest (or ID) file offer; DIR: where to save it"},
    {"reject", CLIENT_CMD_REJECT, ARGS_REST, "/reject [ID]",
     "decline the newest (or ID) file offer"},
    {"cancel", CLIENT_CMD_CANCEL, ARGS_REST_REQ, "/cancel ID",
     "stop a transfer, either side"},
    {"transfers", CLIENT_CMD_TRANSFERS, ARGS_NONE, "/transfers",
     "list this session's transfers"},
    {"upload", CLIENT_CMD_UPLOAD, ARGS_REST_REQ,
     "/upload [--overwrite] PATH [NAME]",
     "put a file in the server's shared folder (alias /put)"},
    {"put", CLIENT_CMD_UPLOAD, ARGS_REST_REQ, "/put [--overwrite] PATH [NAME]",
     "same as /upload"},
    {"download", CLIENT_CMD_DOWNLOAD, ARGS_REST_REQ, "/download NAME [DIR]",
     "get a file from the shared folder (alias /get)"},
    {"get", CLIENT_CMD_DOWNLOAD, ARGS_REST_REQ, "/get NAME [DIR]",
     "same as /download"},
    {"files", CLIENT_CMD_FILES, ARGS_REST, "/files [PATTERN]",
     "list the shared folder (alias /list)"},
    {"list", CLIENT_CMD_FILES, ARGS_REST, "/list [PATTERN]", "same as /files"},
    {"rename", CLIENT_CMD_RENAME, ARGS_REST_REQ,
     "/rename [--overwrite] OLD NEW",
     "rename a file of the shared folder (alias /change)"},
    {"change", CLIENT_CMD_RENAME, ARGS_REST_REQ,
     "/change [--overwrite] OLD NEW", "same as /rename"},
    {"delete", CLIENT_CMD_DELETE, ARGS_REST_REQ, "/delete NAME",
     "delete a file of the shared folder"},
};
#define NDEFS (sizeof defs / sizeof defs[0])

/* Returns the help table (built once from defs): one entry per command and
 * alias, so that /help NAME and Tab completion (the first word of each
 * entry) know every one of them. */
const client_help_entry *client_cmd_help(size_t *n) {
  static client_help_entry table[NDEFS];
  if (table[0].command == NULL)
    for (size_t i = 0; i < NDEFS; i++) {
      table[i].command = defs[i].usage;
      table[i].help = defs[i].help;
    }
  *n = NDEFS;
  return table;
}

/* Skips spaces and tabs. */
static const char *skip_blank(const char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* A blank or the end: where a word or a leading "~" ends. */
static bool word_end(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\0';
}

/* Cuts the next word off *p: sets word/len, advances *p past blanks. */
static void next_word(const char **p, const char **word, size_t *len) {
  const char *s = skip_blank(*p), *e = s;
  while (!word_end(*e))
    e++;
  *word = s;
  *len = (size_t)(e - s);
  *p = skip_blank(e);
}

/* Fills err with the usage line of d; returns -1. */
static int usage(const cmd_def *d, char *err, size_t errlen) {
  snprintf(err, errlen, "usage: %s", d->usage);
  return -1;
}

int client_cmd_parse(const char *line, client_cmd *out, char *err,
                     size_t errlen) {
  memset(out, 0, sizeof *out);
  out->rest = "";
  if (line[0] == '\0')
    return 0; /* CLIENT_CMD_NONE */
  if (line[0] != '/' || line[1] == '/') {
    out->id = CLIENT_CMD_TEXT;
    out->rest = line[0] == '/' ? line + 1 : line;
    return 0;
  }
  const char *p = line + 1, *name;
  size_t name_n;
  next_word(&p, &name, &name_n);
  const cmd_def *d = NULL;
  for (size_t i = 0; i < NDEFS && !d; i++)
    if (strlen(defs[i].name) == name_n &&
        strncasecmp(defs[i].name, name, name_n) == 0)
      d = &defs[i];
  if (!d) {
    snprintf(err, errlen, "unknown command /%.*s (try /help)",
             (int)(name_n > 40 ? 40 : name_n), name);
    return -1;
  }
  out->id = d->id;
  switch (d->shape) {
  case ARGS_NONE:
    break;
  case ARGS_REST:
    out->rest = p;
    break;
  case ARGS_REST_REQ:
    if (*p == '\0')
      return usage(d, err, errlen);
    out->rest = p;
    break;
  case ARGS_WORD:
  case ARGS_WORD_REST:
    next_word(&p, &out->word, &out->word_n);
    if (out->word_n == 0 || (d->shape == ARGS_WORD_REST && *p == '\0'))
      return usage(d, err, errlen);
    out->rest = p;
    break;
  case ARGS_PART:
    if (*p == '#')
      next_word(&p, &out->word, &out->word_n);
    out->rest = p;
    break;
  case ARGS_BAN: {
    next_word(&p, &out->word, &out->word_n);
    if (out->word_n == 0)
      return usage(d, err, errlen);
    const char *q = p, *w;
    size_t wn;
    next_word(&q, &w, &wn);
    bool digits = wn > 0 && wn <= 9;
    for (size_t i = 0; digits && i < wn; i++)
      digits = isdigit((unsigned char)w[i]);
    if (digits) {
      out->num = 0;
      for (size_t i = 0; i < wn; i++)
        out->num = out->num * 10 + (uint32_t)(w[i] - '0');
      p = q;
    }
    out->rest = p;
    break;
  }
  }
  return 0;
}

int client_cmd_words(const char *s, client_words *ws, char *err,
                     size_t errlen) {
  size_t o = 0;
  ws->n = 0;
  for (;;) {
    s = skip_blank(s);
    if (*s == '\0')
      return ws->n;
    if (ws->n == CLIENT_WORDS_MAX) {
      snprintf(err, errlen, "too many arguments (at most %d)",
               CLIENT_WORDS_MAX);
      return -1;
    }
    if (o + 1 >= sizeof ws->buf) {
      snprintf(err, errlen, "arguments too long");
      return -1;
    }
    ws->tilde[ws->n] = s[0] == '~' && (s[1] == '/' || word_end(s[1]));
    ws->w[ws->n++] = ws->buf + o;
    char quote = 0;
    for (; *s && (quote || !word_end(*s)); s++) {
      char ch = *s;
      if (quote == '\'') {
        if (ch == '\'') {
          quote = 0;
          continue;
        }
      } else if (quote == '"') {
        if (ch == '"') {
          quote = 0;
          continue;
        }
        if (ch == '\\' && (s[1] == '"' || s[1] == '\\'))
          ch = *++s;
      } else if (ch == '\'' || ch == '"') {
        quote = ch;
        continue;
      } else if (ch == '\\') {
        if (s[1] == '\0') {
          snprintf(err, errlen, "a backslash ends the line: escape it (\\\\)");
          return -1;
        }
        ch = *++s;
      }
      if (o + 1 >= sizeof ws->buf) { /* room for the NUL is kept */
        snprintf(err, errlen, "arguments too long");
        return -1;
      }
      ws->buf[o++] = ch;
    }
    if (quote) {
      snprintf(err, errlen, "unterminated %c quote", quote);
      return -1;
    }
    ws->buf[o++] = '\0';
  }
}

int client_cmd_path(const client_words *ws, int i, const char *home, char *dst,
                    size_t cap, char *err, size_t errlen) {
  const char *w = ws->w[i];
  int r;
  if (ws->tilde[i]) {
    if (home == NULL || home[0] == '\0') {
      snprintf(err, errlen, "cannot expand ~: HOME is not set");
      return -1;
    }
    r = snprintf(dst, cap, "%s%s", home, w + 1);
  } else {
    r = snprintf(dst, cap, "%s", w);
  }
  if (r < 0 || (size_t)r >= cap) {
    snprintf(err, errlen, "path too long: %.60s...", w);
    return -1;
  }
  return 0;
}
