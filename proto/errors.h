/* errors.h: parley's one error space.
 *
 * Every error, whether the codec returns it or the server sends it in an
 * ERROR frame, comes from this table. In C the functions return the
 * negative code (-PERR_BAD_UTF8); on the wire the ERROR frame carries the
 * positive number. Numbers are part of protocol v1: never renumber, only
 * append. Ranges: 1-19 codec, 20-39 session, 40-59 accounts, 60-79 chat,
 * 80-99 files, 100- server side. */
#ifndef PARLEY_PROTO_ERRORS_H
#define PARLEY_PROTO_ERRORS_H

#define PROTO_ERRORS(X)                                                        \
  /* codec: malformed bytes */                                                 \
  X(TRUNCATED, 1, "frame truncated: a field runs past the end of the frame")   \
  X(FRAME_TOO_BIG, 2, "frame longer than the maximum frame size")              \
  X(UNKNOWN_TYPE, 3, "unknown message type")                                   \
  X(BAD_UTF8, 4, "text is not valid UTF-8")                                    \
  X(FIELD_TOO_LONG, 5, "a field is longer than its limit")                     \
  X(TRAILING, 6, "trailing bytes after the last field of a frame")             \
  X(BAD_VALUE, 7, "a field has a value outside its allowed range")             \
  X(NO_SPACE, 8, "output buffer too small for the frame")                      \
  X(FRAME_TOO_SHORT, 9, "frame too short to hold a message type")              \
  /* session */                                                                \
  X(VERSION, 20, "protocol version not supported")                             \
  X(NOT_LOGGED_IN, 21, "log in first")                                         \
  X(ALREADY_LOGGED_IN, 22, "already logged in")                                \
  X(UNEXPECTED, 23, "message not allowed here")                                \
  X(SERVER_FULL, 24, "server full: too many clients, try again later")         \
  X(SHUTTING_DOWN, 25, "server is shutting down")                              \
  X(TIMEOUT, 26, "timed out")                                                  \
  X(SLOW_CONSUMER, 27, "client did not read fast enough; disconnected")        \
  X(INTERNAL, 28, "internal server error")                                     \
  X(MALFORMED, 29, "malformed frame; connection closed")                       \
  X(SERVER_BUSY, 30, "server busy: too many password checks; try again soon")  \
  X(TLS_REQUIRED, 31,                                                          \
    "this server speaks TLS only: use a parley that speaks TLS, without "      \
    "--insecure-plaintext")                                                    \
  X(STORAGE, 35,                                                               \
    "the server could not store the message (its disk is full or failing); "   \
    "not delivered, try again later")                                          \
  X(REVOKED, 36,                                                               \
    "session ended: the account was deleted or its password changed")          \
  /* accounts */                                                               \
  X(AUTH_FAILED, 40, "wrong user name or password")                            \
  X(BAD_NAME, 41,                                                              \
    "bad name: 1-32 letters, digits, '_', '-' or '.', starting with a letter") \
  X(NAME_TAKEN, 42, "that name is already registered")                         \
  X(REGISTRATION_CLOSED, 43, "registration is closed on this server")          \
  X(BANNED, 44, "you are banned from this server")                             \
  X(RATE_LIMITED, 45, "too many failed logins; wait and try again")            \
  X(TOKEN_INVALID, 46, "session token refused; log in with the password")      \
  X(BAD_PASSWORD, 47, "bad password: 8 to 256 characters")                     \
  X(PERMISSION, 48, "only an operator can do that")                            \
  X(SESSION_REPLACED, 49, "logged in from elsewhere")                          \
  X(NOT_BANNED, 50, "that user is not banned")                                 \
  /* chat */                                                                   \
  X(MSG_TOO_LONG, 60, "message longer than the server's limit")                \
  X(MSG_EMPTY, 61, "empty message")                                            \
  X(FLOOD, 62, "sending too fast; slow down")                                  \
  X(NO_SUCH_USER, 63, "no such user")                                          \
  X(NO_SUCH_ROOM, 64, "no such room")                                          \
  X(NOT_IN_ROOM, 65, "you are not in that room")                               \
  X(BAD_ROOM, 66,                                                              \
    "bad room name: '#' then 1-32 letters, digits, '_', '-' or '.'")           \
  X(TOO_MANY_ROOMS, 67, "you are in too many rooms")                           \
  X(CONTROL_CHARS, 68,                                                         \
    "text contains control or invisible formatting characters")                \
  X(USER_OFFLINE, 69, "that user is not online")                               \
  /* files */                                                                  \
  X(NO_SUCH_FILE, 80, "no such file")                                          \
  X(FILE_EXISTS, 81, "file exists; send again with overwrite to replace it")   \
  X(BAD_FILENAME, 82,                                                          \
    "bad file name: no '/', '\\', control characters, '.' or '..'")            \
  X(FILE_TOO_BIG, 83, "file larger than the server's limit")                   \
  X(DISK_FULL, 84, "no space left on the server")                              \
  X(NO_SUCH_OFFER, 85, "no such file offer or transfer")                       \
  X(HASH_MISMATCH, 86, "file checksum does not match; transfer discarded")     \
  X(IO, 87, "file input/output error on the server")                           \
  X(TRANSFER_LIMIT, 88, "too many transfers at once")                          \
  X(RELAY_TOKEN, 89, "relay token unknown, already used or expired")           \
  X(OFFER_FLOOD, 90, "too many file offers; wait a minute")                    \
  X(QUOTA, 91, "over the shared folder's quota")                               \
  X(NOT_OWNER, 92, "only the file's owner or an operator can do that")         \
  X(NO_FOLDER, 93, "this server has no shared folder")

enum proto_error {
#define PROTO_ERR_ENUM(name, num, text) PERR_##name = (num),
  PROTO_ERRORS(PROTO_ERR_ENUM)
#undef PROTO_ERR_ENUM
};

/* Returns the one-line text for an error code; accepts the code with either
 * sign. Unknown codes give "unknown error". Never NULL. */
const char *proto_strerror(int err);

/* Returns the symbolic name ("BAD_UTF8") of an error code, either sign, or
 * "UNKNOWN". */
const char *proto_errname(int err);

#endif
