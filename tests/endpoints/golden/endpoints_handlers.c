/* The handlers of the endpoints of endpoints.dorm: written once by `dormc gen --stubs`
 * and yours from then on (dormc never overwrites this file). The types and
 * what a handler may do are in endpoints_endpoints.h and docs/streamer.md. */
#include "endpoints_endpoints.h"

/* GenerateReport (async): fill *res from *req;
 * report progress with reports_GenerateReport_report(pr, percent, message, &progress)
 * and stop when dorm_stream_cancelled(ctx). */
dorm_status reports_GenerateReport_handle(dorm_stream_ctx *ctx, const reports_GenerateReport_request *req,
    dorm_progress *pr, reports_GenerateReport_result *res) {
  (void)req;
  (void)pr;
  (void)res;
  /* TODO: implement GenerateReport. */
  return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "not implemented");
}

/* Echo (sync): fill *res from *req. */
dorm_status reports_Echo_handle(dorm_stream_ctx *ctx, const reports_Echo_request *req,
    reports_Echo_result *res) {
  (void)req;
  (void)res;
  /* TODO: implement Echo. */
  return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "not implemented");
}

/* Ping (sync): fill *res from *req. */
dorm_status reports_Ping_handle(dorm_stream_ctx *ctx, const reports_Ping_request *req,
    reports_Ping_result *res) {
  (void)req;
  (void)res;
  /* TODO: implement Ping. */
  return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "not implemented");
}
