/* Fuzz logic for dorm-faultproxy's input handling: any bytes through the
 * request and response parsers, the control API, the relay rewrites and the
 * plan parser, with properties checked on the way (abort() on a violation).
 * The first byte picks the path (mod 3): 0 request (+ control API),
 * 1 response (+ relay in every mode), 2 plan text. */
#include "fuzz_faultproxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "http.h"
#include "plan.h"
#include "respond.h"

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "fuzz_faultproxy: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                           \
    }                                                                    \
  } while (0)

static bool inside(const char *p, size_t n, const char *buf, size_t len) {
  return p >= buf && p + n <= buf + len;
}

static void check_head(const fp_head *h, const char *buf, size_t len) {
  CHECK(h->head_len > 0 && h->head_len <= len);
  CHECK(h->content_length >= -1);
  CHECK(h->nheaders <= FP_MAX_HEADERS);
  for (size_t i = 0; i < h->nheaders; i++) {
    CHECK(h->headers[i].name_len > 0);
    CHECK(inside(h->headers[i].name, h->headers[i].name_len, buf, h->head_len));
    CHECK(inside(h->headers[i].value, h->headers[i].value_len, buf, h->head_len));
  }
}

/* Our own responses must parse, with a Content-Length that matches. */
static void check_ours(const fp_buf *out, int *status) {
  fp_head h;
  const char *why;
  CHECK(fp_parse_response(out->data, out->len, 1 << 20, &h, &why) == FP_PARSE_OK);
  CHECK(h.content_length >= 0 && (size_t)h.content_length == out->len - h.head_len);
  if (status) *status = h.status;
}

static void fuzz_request(const char *buf, size_t len) {
  fp_head h;
  const char *why = NULL;
  fp_parse r = fp_parse_request(buf, len, 4096, &h, &why);
  if (r == FP_PARSE_BAD || r == FP_PARSE_TOO_LARGE) CHECK(why != NULL);
  if (r != FP_PARSE_OK) return;
  check_head(&h, buf, len);
  CHECK(inside(h.method, h.method_len, buf, h.head_len) && inside(h.target, h.target_len, buf, h.head_len));
  /* The head alone parses the same. */
  fp_head again;
  CHECK(fp_parse_request(buf, h.head_len, 4096, &again, &why) == FP_PARSE_OK);
  CHECK(again.head_len == h.head_len && again.nheaders == h.nheaders && again.content_length == h.content_length);
  if (!fp_control_target(h.target, h.target_len)) return;
  size_t body = h.content_length > 0 ? (size_t)h.content_length : 0;
  if (body > len - h.head_len) body = len - h.head_len;
  fp_plan plan;
  fp_plan_init(&plan);
  fp_stats st = {0};
  fp_buf out = {0};
  CHECK(fp_control(&h, buf + h.head_len, body, &plan, &st, &out, false) == 0);
  int status;
  check_ours(&out, &status);
  CHECK(status == 200 || status == 400 || status == 404 || status == 405);
  fp_buf_free(&out);
  for (int i = 0; i < 50; i++) {
    fp_step s = fp_plan_decide(&plan);
    CHECK(s.fault >= FP_PASS && s.fault < FP_FAULT_COUNT);
  }
  fp_plan_free(&plan);
}

static void fuzz_response(const char *buf, size_t len) {
  fp_head h;
  const char *why = NULL;
  fp_parse r = fp_parse_response(buf, len, 4096, &h, &why);
  if (r != FP_PARSE_OK) return;
  check_head(&h, buf, len);
  CHECK(h.status >= 100 && h.status <= 999);
  size_t body = len - h.head_len;
  if (h.content_length >= 0 && (size_t)h.content_length < body) body = (size_t)h.content_length;
  /* The relay may add up to three headers; re-parsing needs room for them. */
  if (h.nheaders > FP_MAX_HEADERS - 3) return;
  const fp_fault modes[] = {FP_PASS, FP_BADCRC, FP_TRUNCATE};
  for (size_t m = 0; m < 3; m++) {
    fp_buf out = {0};
    CHECK(fp_respond_relay(&out, buf, &h, body, modes[m], m == 2) == 0);
    fp_head o;
    CHECK(fp_parse_response(out.data, out.len, 1 << 20, &o, &why) == FP_PARSE_OK);
    CHECK(o.status == h.status);
    CHECK(out.len - o.head_len == (modes[m] == FP_TRUNCATE ? body / 2 : body));
    CHECK(fp_head_find(&o, "connection") == NULL || modes[m] == FP_TRUNCATE);
    if (modes[m] == FP_BADCRC) CHECK(fp_head_find(&o, "x-amz-crc32") != NULL);
    fp_buf_free(&out);
  }
}

static void fuzz_plan(const char *buf, size_t len) {
  fp_plan p, q;
  char err[512];
  err[0] = '\0';
  if (fp_plan_parse_text(buf, len, &p, err, sizeof err) != 0) {
    CHECK(err[0] != '\0');
    CHECK(p.script == NULL && p.only == NULL);
    return;
  }
  char *d1 = fp_plan_describe(&p);
  CHECK(d1 != NULL);
  CHECK(fp_plan_parse_text(d1, strlen(d1), &q, err, sizeof err) == 0);
  char *d2 = fp_plan_describe(&q);
  CHECK(d2 != NULL && strcmp(d1, d2) == 0);
  for (int i = 0; i < 100; i++) {
    fp_step a = fp_plan_decide(&p), b = fp_plan_decide(&q);
    CHECK(a.fault == b.fault && a.slow == b.slow);
  }
  free(d1);
  free(d2);
  fp_plan_free(&p);
  fp_plan_free(&q);
}

int fp_fuzz_one(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  /* A private copy so reads past the end are caught by ASan. */
  char *buf = malloc(size - 1 ? size - 1 : 1);
  if (!buf) return 0;
  memcpy(buf, data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: fuzz_request(buf, size - 1); break;
    case 1: fuzz_response(buf, size - 1); break;
    default: fuzz_plan(buf, size - 1); break;
  }
  free(buf);
  return 0;
}

#ifdef FP_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fp_fuzz_one(data, size); }
#endif
