// The generated endpoint headers used from C++ (-pedantic): handlers written
// in C++ (the headers give them C linkage), called through the route table,
// payloads through the generated descriptors.
#include <cstdio>
#include <cstring>

#include "endpoints_endpoints.h"
#include "kitchen_endpoints.h"

dorm_status reports_Echo_handle(dorm_stream_ctx *, const reports_Echo_request *req, reports_Echo_result *res) {
  res->text = req->text;
  return DORM_OK;
}
dorm_status reports_Ping_handle(dorm_stream_ctx *, const reports_Ping_request *, reports_Ping_result *res) {
  res->ok = true;
  return DORM_OK;
}
dorm_status reports_GenerateReport_handle(dorm_stream_ctx *, const reports_GenerateReport_request *req,
                                          dorm_progress *, reports_GenerateReport_result *res) {
  res->url = "u";
  res->size = req->range.to - req->range.from;
  return DORM_OK;
}
dorm_status kitchen_ep_Everything_handle(dorm_stream_ctx *, const kitchen_ep_Everything_request *req,
                                         dorm_progress *, kitchen_ep_Everything_result *res) {
  res->lines = req->lines;
  res->total = req->amount;
  return DORM_OK;
}
dorm_status kitchen_ep_Quiet_handle(dorm_stream_ctx *, const kitchen_ep_Quiet_request *, dorm_progress *,
                                    kitchen_ep_Quiet_result *res) {
  res->ok = true;
  return DORM_OK;
}
dorm_status kitchen_ep_Hello_handle(dorm_stream_ctx *, const kitchen_ep_Hello_request *, kitchen_ep_Hello_result *) {
  return DORM_OK;
}

int main() {
  if (reports_endpoints_count != 3 || kitchen_ep_endpoints_count != 3) return 1;
  if (std::strcmp(reports_endpoints[1]->name, "Echo") != 0) return 1;
  dorm_arena a = DORM_ARENA_INIT;
  char err[256];
  reports_Echo_request req;
  const char text[] = "{\"text\":\"hello\"}";
  if (dorm_payload_from_json(reports_Echo_endpoint.request, text, sizeof text - 1, "payload", &a, &req, err,
                             sizeof err) != DORM_OK) {
    std::fprintf(stderr, "from_json: %s\n", err);
    return 1;
  }
  reports_Echo_result res;
  std::memset(&res, 0, sizeof res);
  if (reports_Echo_endpoint.sync_handler(nullptr, &req, &res) != DORM_OK) return 1;
  const char *json = nullptr;
  size_t len = 0;
  if (dorm_payload_to_json(reports_Echo_endpoint.result, &res, &a, &json, &len, err, sizeof err) != DORM_OK ||
      std::strcmp(json, text) != 0) {
    std::fprintf(stderr, "to_json: %s\n", json ? json : err);
    return 1;
  }
  kitchen_ep_Quiet_request qreq = {};
  kitchen_ep_Quiet_result qres;
  std::memset(&qres, 0, sizeof qres);
  if (kitchen_ep_Quiet_endpoint.async_handler(nullptr, &qreq, nullptr, &qres) != DORM_OK || !qres.ok) return 1;
  if (kitchen_ep_Everything_endpoint.nscopes != 2 || kitchen_ep_Quiet_endpoint.progress != nullptr) return 1;
  dorm_arena_free(&a);
  std::puts("ok");
  return 0;
}
