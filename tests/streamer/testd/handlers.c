/* The handlers of testd.dorm (test-only endpoints, see there). */
#include <string.h>
#include <time.h>

#include "testd_endpoints.h"

static void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* fill (default "0123456789") repeated to `bytes` characters, in the
 * call's arena: the client checks every byte of the reassembled text. */
static dorm_status fill_text(dorm_stream_ctx *ctx, int64_t bytes, const char *fill, char **out) {
  if (bytes < 0 || bytes > 4 * 1024 * 1024)
    return dorm_stream_fail(ctx, "INVALID_PAYLOAD", false, "bytes must be 0..4194304");
  if (!fill || !fill[0]) fill = "0123456789";
  size_t n = strlen(fill);
  char *text = dorm_arena_alloc(dorm_stream_arena(ctx), (size_t)bytes + 1);
  if (!text) return DORM_ERR_NO_MEMORY;
  for (int64_t i = 0; i < bytes; i++) text[i] = fill[(size_t)i % n];
  text[bytes] = '\0';
  *out = text;
  return DORM_OK;
}

dorm_status testd_BigResult_handle(dorm_stream_ctx *ctx, const testd_BigResult_request *req, dorm_progress *pr,
                                   testd_BigResult_result *res) {
  (void)pr;
  char *text = NULL;
  dorm_status st = fill_text(ctx, req->bytes, req->fill, &text);
  if (st != DORM_OK) return st;
  res->bytes = req->bytes;
  res->text = text;
  return DORM_OK;
}

dorm_status testd_BigSync_handle(dorm_stream_ctx *ctx, const testd_BigSync_request *req, testd_BigSync_result *res) {
  char *text = NULL;
  dorm_status st = fill_text(ctx, req->bytes, req->fill, &text);
  if (st != DORM_OK) return st;
  res->bytes = req->bytes;
  res->text = text;
  return DORM_OK;
}

dorm_status testd_BadSync_handle(dorm_stream_ctx *ctx, const testd_BadSync_request *req, testd_BadSync_result *res) {
  size_t n = strlen(req->text);
  char *text = dorm_arena_alloc(dorm_stream_arena(ctx), n + 2);
  if (!text) return DORM_ERR_NO_MEMORY;
  memcpy(text, req->text, n);
  text[n] = '\xff'; /* never valid in UTF-8 */
  text[n + 1] = '\0';
  res->text = text;
  return DORM_OK;
}

dorm_status testd_Overrun_handle(dorm_stream_ctx *ctx, const testd_Overrun_request *req, dorm_progress *pr,
                                 testd_Overrun_result *res) {
  (void)pr;
  for (int64_t waited = 0; waited < req->ms; waited += 20) {
    if (dorm_stream_cancelled(ctx)) return DORM_ERR_CANCELLED;
    sleep_ms(20);
  }
  res->ms = req->ms;
  return DORM_OK;
}

dorm_status testd_SlowEcho_handle(dorm_stream_ctx *ctx, const testd_SlowEcho_request *req, testd_SlowEcho_result *res) {
  (void)ctx;
  sleep_ms(req->ms);
  res->text = req->text;
  return DORM_OK;
}

dorm_status testd_Deadline_handle(dorm_stream_ctx *ctx, const testd_Deadline_request *req, testd_Deadline_result *res) {
  (void)req;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  res->remainingMs = dorm_stream_deadline_ms(ctx) - now;
  return DORM_OK;
}

dorm_status testd_BigProgress_handle(dorm_stream_ctx *ctx, const testd_BigProgress_request *req, dorm_progress *pr,
                                     testd_BigProgress_result *res) {
  if (req->has_badProgress && req->badProgress) {
    /* a typed progress its type refuses (a string that is not UTF-8) */
    testd_BigProgress_progress bad = {.text = "not UTF-8 \xff"};
    dorm_status st = dorm_progress_report(pr, 5, "bad", &bad);
    if (st == DORM_OK) return dorm_stream_fail(ctx, "INTERNAL", false, "a progress that is not UTF-8 was taken");
    if (!req->failLater) return st;
  }
  char *text = NULL;
  dorm_status st = fill_text(ctx, req->bytes, req->fill, &text);
  if (st != DORM_OK) return st;
  bool in_message = req->has_inMessage && req->inMessage;
  testd_BigProgress_progress p = {.text = in_message ? "" : text};
  st = dorm_progress_report(pr, 10, in_message ? text : "big", &p);
  if (st != DORM_OK && st != DORM_ERR_TOO_LARGE) return st;
  res->refused = st == DORM_ERR_TOO_LARGE;
  if (res->refused && req->has_failOnRefuse && req->failOnRefuse) return st;
  /* a later small update goes out as usual (and is the latest one if the big one was refused) */
  if (res->refused) {
    testd_BigProgress_progress small = {.text = "small"};
    st = dorm_progress_report(pr, 20, "small", &small);
    if (st != DORM_OK) return st;
  }
  int64_t hold = req->has_holdMs ? req->holdMs : 0;
  for (int64_t waited = 0; waited < hold; waited += 20) {
    if (dorm_stream_cancelled(ctx)) return DORM_ERR_CANCELLED;
    sleep_ms(20);
  }
  if (req->failLater && strcmp(req->failLater, "status") == 0) return DORM_ERR_NOT_FOUND;
  if (req->failLater && strcmp(req->failLater, "fail") == 0)
    return dorm_stream_fail(ctx, "NOT_FOUND", false, "the report's input went away");
  return DORM_OK;
}

dorm_status testd_BadText_handle(dorm_stream_ctx *ctx, const testd_BadText_request *req, dorm_progress *pr,
                                 testd_BadText_result *res) {
  if (req->bytes < 0 || req->bytes > 65536)
    return dorm_stream_fail(ctx, "INVALID_PAYLOAD", false, "bytes must be 0..65536");
  if (strcmp(req->kind, "fail") == 0) {
    char *text = NULL;
    dorm_status st = fill_text(ctx, req->bytes, "\xc3\xa9", &text);
    if (st != DORM_OK) return st;
    /* 2-byte characters: the 511 bytes a failure message holds end inside one */
    return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "%s", text);
  }
  dorm_status st = dorm_progress_report(pr, 50, "bad \xff\xfe bytes \xc3", NULL);
  if (st != DORM_OK) return st;
  res->ok = true;
  return DORM_OK;
}

dorm_status testd_Nest_handle(dorm_stream_ctx *ctx, const testd_Nest_request *req, dorm_progress *pr,
                              testd_Nest_result *res) {
  (void)ctx;
  (void)pr;
  res->value = req->value;
  return DORM_OK;
}

dorm_status testd_Numbers_handle(dorm_stream_ctx *ctx, const testd_Numbers_request *req, dorm_progress *pr,
                                 testd_Numbers_result *res) {
  (void)ctx;
  (void)pr;
  res->n = req->n + (req->has_add ? req->add : 0);
  res->x = req->x;
  res->doc = req->doc;
  return DORM_OK;
}
