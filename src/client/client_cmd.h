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

#endif
