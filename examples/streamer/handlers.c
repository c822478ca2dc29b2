/* The handlers of report.dorm's endpoints: what a user writes (dormc gen
 * --stubs wrote the empty version of this file). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "report_endpoints.h"

dorm_status report_Echo_handle(dorm_stream_ctx *ctx, const report_Echo_request *req, report_Echo_result *res) {
  (void)ctx;
  res->text = req->text; /* the request lives as long as the call: no copy needed */
  return DORM_OK;
}

static void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Reports progress after each row, fails at row failAt when given, and
 * returns the lowercase hex SHA-256 of "1\n2\n...\n<rows>\n". */
dorm_status report_GenerateReport_handle(dorm_stream_ctx *ctx, const report_GenerateReport_request *req,
                                         dorm_progress *pr, report_GenerateReport_result *res) {
  if (req->rows < 0 || req->rows > 10000000 || req->stepMs < 0 || req->stepMs > 60000)
    return dorm_stream_fail(ctx, "INVALID_PAYLOAD", false, "rows must be 0..10000000 and stepMs 0..60000");
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(md);
    return dorm_stream_fail(ctx, "INTERNAL", true, "no SHA-256");
  }
  for (int64_t row = 1; row <= req->rows; row++) {
    if (dorm_stream_cancelled(ctx)) {
      EVP_MD_CTX_free(md);
      return DORM_ERR_CANCELLED;
    }
    sleep_ms(req->stepMs);
    if (req->has_failAt && row == req->failAt) {
      EVP_MD_CTX_free(md);
      return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "failed at row %lld as asked", (long long)row);
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)row);
    EVP_DigestUpdate(md, line, (size_t)n);
    report_GenerateReport_progress p = {.rows = row};
    char msg[64];
    snprintf(msg, sizeof msg, "row %lld of %lld", (long long)row, (long long)req->rows);
    report_GenerateReport_report(pr, 100.0 * (double)row / (double)req->rows, msg, &p);
  }
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, digest, &len);
  EVP_MD_CTX_free(md);
  char *hex = dorm_arena_alloc(dorm_stream_arena(ctx), 65);
  if (!hex) return DORM_ERR_NO_MEMORY;
  for (unsigned i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  res->rows = req->rows;
  res->checksum = hex;
  return DORM_OK;
}

/* kb KiB of text in 8-byte lines, line i being i as 7 hex digits and '\n'
 * ("0000000\n0000001\n..."): a result whose pieces show where they belong. */
dorm_status report_Blob_handle(dorm_stream_ctx *ctx, const report_Blob_request *req, dorm_progress *pr,
                               report_Blob_result *res) {
  (void)pr;
  if (req->kb < 0 || req->kb > 4096) return dorm_stream_fail(ctx, "INVALID_PAYLOAD", false, "kb must be 0..4096");
  size_t size = (size_t)req->kb * 1024;
  char *data = dorm_arena_alloc(dorm_stream_arena(ctx), size + 9);
  if (!data) return DORM_ERR_NO_MEMORY;
  for (size_t i = 0; i < size / 8; i++) {
    char line[32]; /* i < 2^19: always 7 digits and '\n' */
    snprintf(line, sizeof line, "%07zx\n", i);
    memcpy(data + 8 * i, line, 8);
  }
  data[size] = '\0';
  res->size = (int64_t)size;
  res->data = data;
  return DORM_OK;
}
