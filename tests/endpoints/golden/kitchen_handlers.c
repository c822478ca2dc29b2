/* The handlers of the endpoints of kitchen.dorm: written once by `dormc gen --stubs`
 * and yours from then on (dormc never overwrites this file). The types and
 * what a handler may do are in kitchen_endpoints.h and docs/streamer.md. */
#include "kitchen_endpoints.h"

/* Everything (async): fill *res from *req;
 * report progress with kitchen_ep_Everything_report(pr, percent, message, &progress)
 * and stop when dorm_stream_cancelled(ctx). */
dorm_status kitchen_ep_Everything_handle(dorm_stream_ctx *ctx, const kitchen_ep_Everything_request *req,
    dorm_progress *pr, kitchen_ep_Everything_result *res) {
  (void)req;
  (void)pr;
  (void)res;
  /* TODO: implement Everything. */
  return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "not implemented");
}

/* Quiet (async): fill *res from *req;
 * report progress with kitchen_ep_Quiet_report(pr, percent, message)
 * and stop when dorm_stream_cancelled(ctx). */
dorm_status kitchen_ep_Quiet_handle(dorm_stream_ctx *ctx, const kitchen_ep_Quiet_request *req,
    dorm_progress *pr, kitchen_ep_Quiet_result *res) {
  (void)req;
  (void)pr;
  (void)res;
  /* TODO: implement Quiet. */
  return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "not implemented");
}

/* Hello (sync): fill *res from *req. */
dorm_status kitchen_ep_Hello_handle(dorm_stream_ctx *ctx, const kitchen_ep_Hello_request *req,
    kitchen_ep_Hello_result *res) {
  (void)req;
  (void)res;
  /* TODO: implement Hello. */
  return dorm_stream_fail(ctx, "HANDLER_FAILED", false, "not implemented");
}
