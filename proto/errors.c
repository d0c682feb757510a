/* errors.c: texts and names for parley's one error table. */
#include "errors.h"

const char *proto_strerror(int err) {
  if (err < 0)
    err = -err;
  switch (err) {
#define PROTO_ERR_TEXT(name, num, text)                                        \
  case num:                                                                    \
    return text;
    PROTO_ERRORS(PROTO_ERR_TEXT)
#undef PROTO_ERR_TEXT
  default:
    return "unknown error";
  }
}

const char *proto_errname(int err) {
  if (err < 0)
    err = -err;
  switch (err) {
#define PROTO_ERR_NAME(name, num, text)                                        \
  case num:                                                                    \
    return #name;
    PROTO_ERRORS(PROTO_ERR_NAME)
#undef PROTO_ERR_NAME
  default:
    return "UNKNOWN";
  }
}
