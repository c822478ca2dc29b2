/* Credentials documents (dorm__creds_parse_json in runtime/src/aws/): what
 * credential_process prints (DORM_CREDS_PROCESS) and what the container and
 * instance metadata endpoints answer (DORM_CREDS_METADATA), parsed from a
 * buffer of exactly the input's size with no NUL after it, as a reader that
 * honours its length must handle (a read past it is an ASan report).
 *
 * Properties: each format accepts the document or refuses it with
 * DORM_ERR_CONFIG and a message naming the origin; accepted credentials
 * have a non-empty key id and secret, a session token that is NULL or
 * non-empty. The times in "Expiration" go through dorm__creds_parse_time;
 * on the input as text it agrees with the model layer's RFC 3339 reader
 * (dorm_time_parse) wherever both accept, and dorm_time_format's text of a
 * parsed time reads back to the same instant. */
#include <stdint.h>
#include <string.h>

#include "aws_internal.h"
#include "dorm/model.h"
#include "fuzz_support.h"

static void parse(const char *buf, size_t size, dorm_creds_format fmt) {
  dorm_creds_value v;
  char err[512] = "";
  dorm_status st = dorm__creds_parse_json(buf, size, fmt, "fuzz-origin", &v, err, sizeof err);
  if (st != DORM_OK) {
    FUZZ_CHECK(st == DORM_ERR_CONFIG || st == DORM_ERR_NO_MEMORY, "unexpected %s (%s)", dorm_strerror(st), err);
    FUZZ_CHECK(strncmp(err, "fuzz-origin: ", 13) == 0, "message without the origin: \"%s\"", err);
    FUZZ_CHECK(!v.access_key_id && !v.secret_access_key && !v.session_token, "a refusal left credentials behind");
    return;
  }
  FUZZ_CHECK(v.access_key_id && v.access_key_id[0] && v.secret_access_key && v.secret_access_key[0],
             "accepted without a key id or secret");
  FUZZ_CHECK(!v.session_token || v.session_token[0], "an empty session token");
  dorm__creds_value_clear(&v);
  FUZZ_CHECK(!v.access_key_id && !v.secret_access_key && !v.session_token && v.expiration == 0, "clear left data");
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static void times(const char *text, size_t len) {
  time_t t = 0;
  bool c = dorm__creds_parse_time(text, &t);
  int64_t ns = 0;
  bool m = dorm_time_parse(text, len, &ns);
  if (c && m)
    FUZZ_CHECK((int64_t)t == floor_div(ns, 1000000000), "\"%s\": credentials read %lld s, the model layer %lld ns",
               fuzz_show(text, len), (long long)t, (long long)ns);
  if (m) {
    char out[32];
    dorm_time_format(ns, out);
    int64_t back = 0;
    FUZZ_CHECK(dorm_time_parse(out, strlen(out), &back) && back == ns, "\"%s\" -> %lld -> \"%s\" -> %lld",
               fuzz_show(text, len), (long long)ns, out, (long long)back);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = fuzz_exact_copy(data, size);
  parse(buf, size, DORM_CREDS_PROCESS);
  parse(buf, size, DORM_CREDS_METADATA);
  fuzz_exact_free(buf);
  if (size <= 64 && !memchr(data, '\0', size)) {
    char *text = fuzz_cstr_copy(data, size);
    times(text, size);
    free(text);
  }
  return 0;
}
