/* client_cmd.h: the pure input-line parser behind client_command(). */
#ifndef PARLEY_CLIENT_CMD_H
#define PARLEY_CLIENT_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum client_cmd_id {
  CLIENT_CMD_NONE = 0, /* empty line: nothing to do */
  CLIENT_CMD_TEXT,     /* plain text for the window (rest) */
  CLIENT_CMD_JOIN,     /* word = room */
  CLIENT_CMD_PART,     /* word = room or empty, rest = reason */
  CLIENT_CMD_MSG,      /* word = user, rest = text */
  CLIENT_CMD_QUERY,    /* word = user, rest = optional first message */
  CLIENT_CMD_ME,       /* rest = action text */
  CLIENT_CMD_AWAY,     /* rest = away message (may be empty) */
  CLIENT_CMD_BACK,
  CLIENT_CMD_BUSY, /* rest = optional text */
  CLIENT_CMD_WHO,
  CLIENT_CMD_ROOMS,
  CLIENT_CMD_KICK,  /* word = user, rest = reason */
  CLIENT_CMD_BAN,   /* word = user, num = seconds (0 = permanent), rest */
  CLIENT_CMD_TOPIC, /* rest = topic */
  CLIENT_CMD_SCAN,
  CLIENT_CMD_HELP,
  CLIENT_CMD_QUIT, /* rest = reason */
  CLIENT_CMD_CLOSE,
  CLIENT_CMD_UNBAN, /* word = user */
  CLIENT_CMD_BANS,
  CLIENT_CMD_SET,       /* word = setting, rest = value */
  CLIENT_CMD_NAMES,     /* word = room or empty (this room) */
  CLIENT_CMD_RECONNECT, /* connect again now */
  CLIENT_CMD_SEND,      /* rest = [USER|#room] PATH... */
  CLIENT_CMD_ACCEPT,    /* rest = [ID] [DIR] */
  CLIENT_CMD_REJECT,    /* rest = [ID] */
  CLIENT_CMD_CANCEL,    /* rest = ID */
  CLIENT_CMD_TRANSFERS, /* list this session's transfers */
  CLIENT_CMD_UPLOAD,    /* rest = [--overwrite] PATH [NAME] */
  CLIENT_CMD_DOWNLOAD,  /* rest = NAME [DIR] */
  CLIENT_CMD_FILES,     /* rest = [PATTERN] */
  CLIENT_CMD_RENAME,    /* rest = [--overwrite] OLD NEW */
  CLIENT_CMD_DELETE,    /* rest = NAME */
  CLIENT_CMD_JOINS,     /* this room's joins and leaves not summarised yet */
} client_cmd_id;

/* A parsed line. word and rest point into the parsed line. */
typedef struct client_cmd {
  client_cmd_id id;
  const char *word; /* first argument, not NUL-terminated */
  size_t word_n;
  const char *rest; /* the remainder, NUL-terminated, leading blanks gone */
  uint32_t num;     /* /ban seconds */
} client_cmd;

/* Parses one input line (no trailing newline). "//x" is the text "/x".
 * Returns 0, or -1 with "usage: ..." / "unknown command" in err. */
int client_cmd_parse(const char *line, client_cmd *out, char *err,
                     size_t errlen);

/* The arguments of a command taking paths or file names (/send, /accept,
 * /upload, /download, /files, /rename, /delete), split like a shell's
 * words. */
#define CLIENT_WORDS_MAX 64    /* words per line */
#define CLIENT_WORDS_BUF 16448 /* an input line (16 KiB) and the NULs */
typedef struct client_words {
  int n;
  char *w[CLIENT_WORDS_MAX];    /* NUL-terminated, into buf */
  bool tilde[CLIENT_WORDS_MAX]; /* began with an unquoted "~" or "~/" */
  char buf[CLIENT_WORDS_BUF];
} client_words;

/* Splits s into words: blanks separate them; '...' keeps everything
 * literally, "..." too except \" and \\; outside quotes a backslash keeps
 * the next character. Returns the number of words, or -1 with err filled
 * (an unterminated quote, a backslash ending the line, too many words). */
int client_cmd_words(const char *s, client_words *out, char *err,
                     size_t errlen);

/* Word i as a local path into dst: a leading unquoted "~" or "~/" becomes
 * home (the client's $HOME; never done to names sent to the server).
 * Returns 0, or -1 with err filled (no home, too long). */
int client_cmd_path(const client_words *ws, int i, const char *home, char *dst,
                    size_t cap, char *err, size_t errlen);

#endif
