/* errors.c: texts and names for parley's one error table. */
#include "errors.h"

/* Magnitude of an error code of either sign, without overflow on INT_MIN
 * (which then falls to "unknown"). */
static unsigned err_abs(int err) {
  return err < 0 ? 0u - (unsigned)err : (unsigned)err;
}

const char *proto_strerror(int err) {
  switch (err_abs(err)) {
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
  switch (err_abs(err)) {
#define PROTO_ERR_NAME(name, num, text)                                        \
  case num:                                                                    \
    return #name;
    PROTO_ERRORS(PROTO_ERR_NAME)
#undef PROTO_ERR_NAME
  default:
    return "UNKNOWN";
  }
}
