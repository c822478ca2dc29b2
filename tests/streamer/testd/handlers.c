/* The handlers of testd.dorm (test-only endpoints, see there). */
#include <string.h>
#include <time.h>

#include "testd_endpoints.h"

static void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* "0123456789" repeated to `bytes` characters: the client checks every byte
 * of the reassembled text. */
dorm_status testd_BigResult_handle(dorm_stream_ctx *ctx, const testd_BigResult_request *req, dorm_progress *pr,
                                   testd_BigResult_result *res) {
  (void)pr;
  if (req->bytes < 0 || req->bytes > 4 * 1024 * 1024)
    return dorm_stream_fail(ctx, "INVALID_PAYLOAD", false, "bytes must be 0..4194304");
  char *text = dorm_arena_alloc(dorm_stream_arena(ctx), (size_t)req->bytes + 1);
  if (!text) return DORM_ERR_NO_MEMORY;
  for (int64_t i = 0; i < req->bytes; i++) text[i] = (char)('0' + i % 10);
  text[req->bytes] = '\0';
  res->bytes = req->bytes;
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
