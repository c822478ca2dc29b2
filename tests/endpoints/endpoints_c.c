/* The generated endpoint code used from C11 (-pedantic), as a user would:
 * handlers implemented here, called through the route table's thunks, with
 * payloads read and written by libdorm's codec through the generated
 * descriptors. No server: the streamer's own tests run these end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "endpoints_endpoints.h"
#include "kitchen_endpoints.h"

/* ---- the handlers (the user's part) ---- */

static int g_calls;

dorm_status reports_Echo_handle(dorm_stream_ctx *ctx, const reports_Echo_request *req, reports_Echo_result *res) {
  (void)ctx;
  g_calls++;
  res->text = req->text;
  return DORM_OK;
}

dorm_status reports_Ping_handle(dorm_stream_ctx *ctx, const reports_Ping_request *req, reports_Ping_result *res) {
  (void)ctx;
  (void)req;
  g_calls++;
  res->ok = true;
  res->at = INT64_C(1700000000000000000);
  return DORM_OK;
}

dorm_status reports_GenerateReport_handle(dorm_stream_ctx *ctx, const reports_GenerateReport_request *req,
                                          dorm_progress *pr, reports_GenerateReport_result *res) {
  (void)ctx;
  (void)pr;
  g_calls++;
  res->url = req->format == REPORTS_REPORT_FORMAT_PARQUET ? "s3://r/report.parquet" : "s3://r/report";
  res->size = (req->range.to - req->range.from) / INT64_C(1000000000);
  return req->has_filters ? DORM_OK : DORM_ERR_HANDLER;
}

dorm_status kitchen_ep_Everything_handle(dorm_stream_ctx *ctx, const kitchen_ep_Everything_request *req,
                                         dorm_progress *pr, kitchen_ep_Everything_result *res) {
  (void)ctx;
  (void)pr;
  g_calls++;
  res->lines = req->lines;
  res->total = req->amount;
  return DORM_OK;
}

dorm_status kitchen_ep_Quiet_handle(dorm_stream_ctx *ctx, const kitchen_ep_Quiet_request *req, dorm_progress *pr,
                                    kitchen_ep_Quiet_result *res) {
  (void)ctx;
  (void)req;
  (void)pr;
  g_calls++;
  res->ok = true;
  return DORM_OK;
}

dorm_status kitchen_ep_Hello_handle(dorm_stream_ctx *ctx, const kitchen_ep_Hello_request *req,
                                    kitchen_ep_Hello_result *res) {
  (void)ctx;
  (void)req;
  (void)res;
  g_calls++;
  return DORM_OK;
}

/* The reporters' types, checked by the compiler (never called: no server). */
typedef dorm_status (*report_typed_fn)(dorm_progress *, double, const char *, const reports_GenerateReport_progress *);
typedef dorm_status (*report_plain_fn)(dorm_progress *, double, const char *);
static const size_t g_reporters = sizeof((report_typed_fn){reports_GenerateReport_report}) +
                                  sizeof((report_plain_fn){kitchen_ep_Quiet_report});

/* ---- the route table ---- */

static void route_table_describes_every_endpoint(void **state) {
  (void)state;
  assert_true(g_reporters > 0);
  assert_int_equal(reports_endpoints_count, 3);
  const dorm_endpoint_desc *e = reports_endpoints[0];
  assert_ptr_equal(e, &reports_GenerateReport_endpoint);
  assert_string_equal(e->name, "GenerateReport");
  assert_int_equal(e->mode, DORM_ENDPOINT_ASYNC);
  assert_int_equal(e->timeout_ms, 15 * 60 * 1000);
  assert_int_equal(e->nscopes, 1);
  assert_string_equal(e->scopes[0], "reports:write");
  assert_ptr_equal(e->request, &reports_GenerateReport_request_desc);
  assert_ptr_equal(e->progress, &reports_GenerateReport_progress_desc);
  assert_ptr_equal(e->result, &reports_GenerateReport_result_desc);
  assert_null(e->sync_handler);
  assert_non_null(e->async_handler);

  e = reports_endpoints[1];
  assert_string_equal(e->name, "Echo");
  assert_int_equal(e->mode, DORM_ENDPOINT_SYNC);
  assert_int_equal(e->timeout_ms, 5000);
  assert_int_equal(e->nscopes, 0);
  assert_null(e->scopes);
  assert_null(e->progress);
  assert_non_null(e->sync_handler);
  assert_null(e->async_handler);

  e = reports_endpoints[2];
  assert_string_equal(e->name, "Ping");
  assert_int_equal(e->timeout_ms, 2000);
  assert_int_equal(e->nscopes, 2);
  assert_string_equal(e->scopes[0], "ping");
  assert_string_equal(e->scopes[1], "health:read");
  assert_int_equal(e->request->nfields, 0);
  assert_int_equal(e->request->size, sizeof(reports_Ping_request));

  assert_int_equal(kitchen_ep_endpoints_count, 3);
  assert_int_equal(kitchen_ep_Everything_endpoint.timeout_ms, 90000);
  assert_int_equal(kitchen_ep_Quiet_endpoint.timeout_ms, 1500);
  assert_int_equal(kitchen_ep_Quiet_endpoint.mode, DORM_ENDPOINT_ASYNC);
  assert_null(kitchen_ep_Quiet_endpoint.progress); /* async without a progress block */
  assert_int_equal(kitchen_ep_Hello_endpoint.result->nfields, 0);
  assert_int_equal(kitchen_ep_Everything_request_desc.size, sizeof(kitchen_ep_Everything_request));
  assert_int_equal(kitchen_ep_Everything_request_desc.nfields, 20);
  /* JSON member names: @name where given. */
  assert_string_equal(kitchen_ep_Everything_request_desc.fields[18].name, "limit");
  assert_string_equal(kitchen_ep_Everything_request_desc.fields[18].attr[DORM_NAMING_CAMEL], "max");
}

/* ---- calls through the descriptors and thunks ---- */

static void sync_call_round_trips(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const dorm_endpoint_desc *e = &reports_Echo_endpoint;
  reports_Echo_request req;
  reports_Echo_result res;
  char err[256];
  static const char hello[] = "{\"text\":\"h\\u00e9\",\"x\":1}";
  assert_int_equal(dorm_payload_from_json(e->request, hello, strlen(hello), "payload", &a, &req, err, sizeof err),
                   DORM_OK);
  memset(&res, 0, sizeof res);
  g_calls = 0;
  assert_int_equal(e->sync_handler(NULL, &req, &res), DORM_OK);
  assert_int_equal(g_calls, 1);
  const char *json = NULL;
  size_t len = 0;
  assert_int_equal(dorm_payload_to_json(e->result, &res, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_string_equal(json, "{\"text\":\"h\xc3\xa9\"}");

  assert_int_equal(dorm_payload_from_json(e->request, "{}", 2, "payload", &a, &req, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.text: required");

  reports_Ping_request preq;
  reports_Ping_result pres;
  memset(&pres, 0, sizeof pres);
  assert_int_equal(dorm_payload_from_cjson(reports_Ping_endpoint.request, NULL, "payload", &a, &preq, err, sizeof err),
                   DORM_OK);
  assert_int_equal(reports_Ping_endpoint.sync_handler(NULL, &preq, &pres), DORM_OK);
  assert_int_equal(dorm_payload_to_json(reports_Ping_endpoint.result, &pres, &a, &json, &len, err, sizeof err),
                   DORM_OK);
  assert_string_equal(json, "{\"ok\":true,\"at\":\"2023-11-14T22:13:20.000000000Z\"}");
  dorm_arena_free(&a);
}

static void async_call_round_trips(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  const dorm_endpoint_desc *e = &reports_GenerateReport_endpoint;
  static const char payload[] =
      "{\"range\":{\"from\":\"2025-01-01T00:00:00Z\",\"to\":\"2025-01-01T01:00:00Z\"},\"format\":\"PARQUET\","
      "\"filters\":{\"region\":\"eu\",\"kind\":\"all\"}}";
  reports_GenerateReport_request req;
  reports_GenerateReport_result res;
  char err[256];
  assert_int_equal(dorm_payload_from_json(e->request, payload, sizeof payload - 1, "payload", &a, &req, err,
                                          sizeof err),
                   DORM_OK);
  assert_true(req.has_format);
  assert_int_equal(req.format, REPORTS_REPORT_FORMAT_PARQUET);
  assert_true(req.has_filters);
  assert_int_equal(req.filters.count, 2);
  assert_string_equal(req.filters.keys[1], "kind");
  assert_string_equal(req.filters.values[1], "all");
  memset(&res, 0, sizeof res);
  assert_int_equal(e->async_handler(NULL, &req, NULL, &res), DORM_OK);
  const char *json = NULL;
  size_t len = 0;
  assert_int_equal(dorm_payload_to_json(e->result, &res, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_string_equal(json, "{\"url\":\"s3://r/report.parquet\",\"size\":3600}");

  /* The typed progress payload through its descriptor. */
  reports_GenerateReport_progress p;
  p.rows = 7;
  p.percent = 12.5;
  assert_int_equal(dorm_payload_to_json(e->progress, &p, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_string_equal(json, "{\"rows\":7,\"percent\":12.5}");

  /* The example error, through the generated descriptor. */
  static const char bad[] = "{\"range\":{\"from\":\"last week\",\"to\":\"2025-01-01T01:00:00Z\"}}";
  assert_int_equal(dorm_payload_from_json(e->request, bad, sizeof bad - 1, "payload", &a, &req, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.range.from: expected an RFC 3339 time");
  static const char bad_enum[] =
      "{\"range\":{\"from\":\"2025-01-01T00:00:00Z\",\"to\":\"2025-01-01T01:00:00Z\"},\"format\":\"parquet\"}";
  assert_int_equal(dorm_payload_from_json(e->request, bad_enum, sizeof bad_enum - 1, "payload", &a, &req, err,
                                          sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.format: expected one of \"csv\", \"json\", \"PARQUET\" (ReportFormat)");
  dorm_arena_free(&a);
}

static void every_type_through_generated_descriptors(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  static const char payload[] =
      "{\"text\":\"t\",\"amount\":\"-1.50E3\",\"count\":-9007199254740991,\"expires\":1700000000,\"ratio\":0.5,"
      "\"flag\":false,\"blob\":\"3q2+7w==\",\"at\":\"2026-11-25T13:18:44.123456789Z\",\"doc\":{\"b\":1,\"a\":[true]},"
      "\"level\":\"HIGH\",\"line\":{\"sku\":\"s\",\"qty\":1,\"the_note\":\"n\"},\"tags\":[\"a\",\"b\"],"
      "\"lines\":[{\"sku\":\"x\",\"qty\":2},{\"sku\":\"y\",\"qty\":3,\"the_note\":null}],\"attrs\":{\"k\":4},"
      "\"maybe\":[null,5],\"maybeLines\":[null,{\"sku\":\"z\",\"qty\":6}],\"grid\":[[0.5],[]],"
      "\"tree\":{\"name\":\"root\",\"kids\":[{\"name\":\"leaf\"}]},\"max\":10,\"shade\":\"low\"}";
  static const char written[] =
      "{\"text\":\"t\",\"amount\":\"-1.50E3\",\"count\":-9007199254740991,\"expires\":1700000000,\"ratio\":0.5,"
      "\"flag\":false,\"blob\":\"3q2+7w==\",\"at\":\"2026-11-25T13:18:44.123456789Z\",\"doc\":{\"a\":[true],\"b\":1},"
      "\"level\":\"HIGH\",\"line\":{\"sku\":\"s\",\"qty\":1,\"the_note\":\"n\"},\"tags\":[\"a\",\"b\"],"
      "\"lines\":[{\"sku\":\"x\",\"qty\":2},{\"sku\":\"y\",\"qty\":3}],\"attrs\":{\"k\":4},"
      "\"maybe\":[null,5],\"maybeLines\":[null,{\"sku\":\"z\",\"qty\":6}],\"grid\":[[0.5],[]],"
      "\"tree\":{\"name\":\"root\",\"kids\":[{\"name\":\"leaf\"}]},\"max\":10,\"shade\":\"low\"}";
  const dorm_struct_desc *d = kitchen_ep_Everything_endpoint.request;
  kitchen_ep_Everything_request req;
  char err[256];
  assert_int_equal(dorm_payload_from_json(d, payload, sizeof payload - 1, "payload", &a, &req, err, sizeof err),
                   DORM_OK);
  assert_int_equal(req.count, INT64_C(-9007199254740991));
  assert_int_equal(req.blob.len, 4);
  assert_int_equal(req.level, KITCHEN_EP_LEVEL_HIGH);
  assert_string_equal(req.line.note, "n");
  assert_null(req.lines.items[1].note);
  assert_false(req.maybeLines.items[0].has);
  assert_true(req.maybeLines.items[1].has);
  assert_string_equal(req.maybeLines.items[1].value.sku, "z");
  assert_true(req.has_tree);
  assert_string_equal(req.tree.kids.items[0].name, "leaf");
  assert_false(req.tree.kids.items[0].has_kids);
  assert_true(req.has_limit);
  assert_int_equal(req.limit, 10);
  assert_true(req.has_shade);
  assert_int_equal(req.shade, KITCHEN_EP_LEVEL_LOW);
  const char *json = NULL;
  size_t len = 0;
  assert_int_equal(dorm_payload_to_json(d, &req, &a, &json, &len, err, sizeof err), DORM_OK);
  assert_string_equal(json, written);

  kitchen_ep_Everything_result res;
  memset(&res, 0, sizeof res);
  assert_int_equal(kitchen_ep_Everything_endpoint.async_handler(NULL, &req, NULL, &res), DORM_OK);
  assert_int_equal(dorm_payload_to_json(kitchen_ep_Everything_endpoint.result, &res, &a, &json, &len, err,
                                        sizeof err),
                   DORM_OK);
  assert_string_equal(json,
                      "{\"lines\":[{\"sku\":\"x\",\"qty\":2},{\"sku\":\"y\",\"qty\":3}],\"total\":\"-1.50E3\"}");

  /* Errors name members by their JSON names (@name) at every level. */
  char bad[sizeof payload + 8];
  strcpy(bad, payload);
  char *note = strstr(bad, "\"the_note\":\"n\"");
  assert_non_null(note);
  memcpy(note + 11, "3  ", 3);
  assert_int_equal(dorm_payload_from_json(d, bad, strlen(bad), "payload", &a, &req, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.line.the_note: expected a string");
  strcpy(bad, payload);
  char *max = strstr(bad, "\"max\":10");
  assert_non_null(max);
  memcpy(max + 6, "\"\"", 2);
  assert_int_equal(dorm_payload_from_json(d, bad, strlen(bad), "payload", &a, &req, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(err, "payload.max: expected an integer");
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(route_table_describes_every_endpoint),
      cmocka_unit_test(sync_call_round_trips),
      cmocka_unit_test(async_call_round_trips),
      cmocka_unit_test(every_type_through_generated_descriptors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
