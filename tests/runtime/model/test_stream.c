/* DynamoDB Streams records: a Lambda event with INSERT, MODIFY and REMOVE
 * records, a single record, images read into model structs, and malformed
 * events named by record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/model.h"
#include "test_models.h"

static dorm_arena A = DORM_ARENA_INIT;
static char err[512];

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

#define ORDER_IMAGE(status, version)                                                                              \
  "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"ORDER#o1\"},\"_type\":{\"S\":\"Order\"},"                        \
  "\"customerId\":{\"S\":\"c1\"},\"orderId\":{\"S\":\"o1\"},\"status\":{\"S\":\"" status "\"},"                      \
  "\"total\":{\"M\":{\"amount\":{\"N\":\"9.5\"},\"currency\":{\"S\":\"EUR\"}}},"                                     \
  "\"createdAt\":{\"S\":\"2026-11-25T13:38:44.000000000Z\"},\"updatedAt\":{\"S\":\"2026-11-25T13:38:44Z\"},"        \
  "\"version\":{\"N\":\"" version "\"}}"
#define KEYS "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"ORDER#o1\"}}"
#define ARN "arn:aws:dynamodb:eu-west-1:123456789012:table/shop/stream/2026-11-25T00:00:00.000"

static const char event[] =
    "{\"Records\":["
    "{\"eventID\":\"1\",\"eventName\":\"INSERT\",\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\","
    "\"awsRegion\":\"eu-west-1\",\"dynamodb\":{\"ApproximateCreationDateTime\":1795613924,\"Keys\":" KEYS ","
    "\"NewImage\":" ORDER_IMAGE("pending", "0") ",\"SequenceNumber\":\"111\",\"SizeBytes\":300,"
    "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"eventSourceARN\":\"" ARN "\"},"
    "{\"eventID\":\"2\",\"eventName\":\"MODIFY\",\"dynamodb\":{\"Keys\":" KEYS ",\"NewImage\":" ORDER_IMAGE("paid", "1")
    ",\"OldImage\":" ORDER_IMAGE("pending", "0") "},\"eventSourceARN\":\"" ARN "\"},"
    "{\"eventID\":\"3\",\"eventName\":\"REMOVE\",\"dynamodb\":{\"Keys\":" KEYS ",\"OldImage\":" ORDER_IMAGE("paid", "1")
    "}}]}";

static void lambda_event(void **state) {
  (void)state;
  dorm_stream_record *r;
  size_t n;
  assert_int_equal(dorm_stream_parse(event, strlen(event), &A, &r, &n, err, sizeof err), DORM_OK);
  assert_int_equal(n, 3);
  assert_int_equal(r[0].event, DORM_STREAM_INSERT);
  assert_int_equal(r[1].event, DORM_STREAM_MODIFY);
  assert_int_equal(r[2].event, DORM_STREAM_REMOVE);
  assert_string_equal(r[0].event_id, "1");
  assert_string_equal(r[0].table_arn, ARN);
  assert_string_equal(r[2].table_arn, ""); /* absent */
  assert_string_equal(r[0].sequence_number, "111");
  assert_int_equal(r[0].size_bytes, 300);
  assert_true(r[0].approximate_created == 1795613924.0);
  assert_string_equal(r[1].sequence_number, ""); /* absent */
  assert_int_equal(r[1].size_bytes, 0);
  assert_true(r[1].approximate_created == 0);
  assert_true(r[0].has_new_image && !r[0].has_old_image);
  assert_true(r[1].has_new_image && r[1].has_old_image);
  assert_true(!r[2].has_new_image && r[2].has_old_image);
  assert_string_equal(dorm_av_map_get(&r[2].keys, "SK")->u.s.ptr, "ORDER#o1");
  /* images are items: read them with the model */
  tm_Order now, before;
  assert_true(dorm_model_is(&tm_Order_desc, &r[1].new_image));
  assert_false(dorm_model_is(&tm_Customer_desc, &r[1].new_image));
  assert_int_equal(dorm_model_from_av(&tm_Order_desc, &r[1].new_image, 0, &A, &now, err, sizeof err), DORM_OK);
  assert_int_equal(dorm_model_from_av(&tm_Order_desc, &r[1].old_image, 0, &A, &before, err, sizeof err), DORM_OK);
  assert_int_equal(now.status, TM_STATUS_PAID);
  assert_int_equal(before.status, TM_STATUS_PENDING);
  assert_int_equal(now.version, 1);
  assert_string_equal(now.total.amount, "9.5");
  assert_true(now.createdAt == now.updatedAt);
  /* the key of a REMOVE record gives the struct's key fields back only by
   * template; the image has them */
  tm_Order gone;
  assert_int_equal(dorm_model_from_av(&tm_Order_desc, &r[2].old_image, 0, &A, &gone, err, sizeof err), DORM_OK);
  assert_string_equal(gone.orderId, "o1");
  /* an empty event */
  assert_int_equal(dorm_stream_parse("{\"Records\":[]}", 14, &A, &r, &n, err, sizeof err), DORM_OK);
  assert_int_equal(n, 0);
}

static void single_record(void **state) {
  (void)state;
  static const char one[] =
      "{\"eventID\":\"x\",\"eventName\":\"MODIFY\",\"dynamodb\":{\"Keys\":" KEYS ",\"NewImage\":" ORDER_IMAGE("SHIPPED", "4") "}}";
  dorm_stream_record *r;
  size_t n;
  assert_int_equal(dorm_stream_parse(one, strlen(one), &A, &r, &n, err, sizeof err), DORM_OK);
  assert_int_equal(n, 1);
  assert_int_equal(r[0].event, DORM_STREAM_MODIFY);
  tm_Order o;
  assert_int_equal(dorm_model_from_av(&tm_Order_desc, &r[0].new_image, 0, &A, &o, err, sizeof err), DORM_OK);
  assert_int_equal(o.status, TM_STATUS_SHIPPED);
}

/* A deletion by TTL carries userIdentity (the record AWS documents); a
 * user's REMOVE has none. Before, both read alike: a consumer could not
 * tell an expiry from a delete. */
static void ttl_deletion(void **state) {
  (void)state;
  static const char ev[] =
      "{\"Records\":["
      "{\"eventID\":\"t\",\"eventName\":\"REMOVE\",\"userIdentity\":{\"type\":\"Service\","
      "\"principalId\":\"dynamodb.amazonaws.com\"},\"dynamodb\":{\"Keys\":" KEYS ",\"OldImage\":" ORDER_IMAGE("paid", "1") "}},"
      "{\"eventID\":\"u\",\"eventName\":\"REMOVE\",\"dynamodb\":{\"Keys\":" KEYS "}},"
      "{\"eventID\":\"v\",\"eventName\":\"REMOVE\",\"userIdentity\":{\"type\":\"Service\","
      "\"principalId\":\"other.amazonaws.com\"},\"dynamodb\":{\"Keys\":" KEYS "}},"
      "{\"eventID\":\"w\",\"eventName\":\"REMOVE\",\"userIdentity\":null,\"dynamodb\":{\"Keys\":" KEYS "}}]}";
  dorm_stream_record *r;
  size_t n;
  assert_int_equal(dorm_stream_parse(ev, strlen(ev), &A, &r, &n, err, sizeof err), DORM_OK);
  assert_int_equal(n, 4);
  assert_true(r[0].by_ttl);
  assert_true(r[0].has_old_image);
  assert_false(r[1].by_ttl);
  assert_false(r[2].by_ttl);
  assert_false(r[3].by_ttl);
}

static void malformed(void **state) {
  (void)state;
  const struct {
    const char *json, *want;
  } cases[] = {
      {"", "stream event: empty JSON body"},
      {"{\"Records\":", "stream event: malformed JSON"},
      {"[]", "expected {\"Records\":[...]}"},
      {"{\"Records\":{}}", "\"Records\" must be an array"},
      {"{\"Records\":[1]}", "Records[0]: a record must be an object"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":" KEYS "}},{\"eventName\":\"UPSERT\"}]}",
       "Records[1]: \"eventName\" is not INSERT, MODIFY or REMOVE: UPSERT"},
      {"{\"Records\":[{\"eventName\":5}]}", "Records[0]: \"eventName\" is missing"},
      {"{\"Records\":[{\"eventName\":\"INSERT\"}]}", "Records[0]: \"dynamodb\" is missing"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{}}]}", "Records[0]: \"dynamodb.Keys\" is missing"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"eventID\":7,\"dynamodb\":{\"Keys\":" KEYS "}}]}",
       "must be strings"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":" KEYS ",\"NewImage\":{\"a\":{\"S\":1}}}}]}",
       "Records[0]: dynamodb: NewImage.a"},
      {"{\"Records\":[{\"eventName\":\"REMOVE\",\"dynamodb\":{\"Keys\":[]}}]}", "Records[0]: dynamodb: Keys"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":" KEYS ",\"SequenceNumber\":111}}]}",
       "Records[0]: \"dynamodb.SequenceNumber\" is not a string"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":" KEYS ",\"SizeBytes\":-1}}]}",
       "Records[0]: \"dynamodb.SizeBytes\" is not a byte count"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":" KEYS ",\"SizeBytes\":\"9\"}}]}",
       "Records[0]: \"dynamodb.SizeBytes\" is not a byte count"},
      {"{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":" KEYS ",\"ApproximateCreationDateTime\":\"x\"}}]}",
       "Records[0]: \"dynamodb.ApproximateCreationDateTime\" is not a number"},
      {"{\"Records\":[{\"eventName\":\"REMOVE\",\"userIdentity\":\"ttl\",\"dynamodb\":{\"Keys\":" KEYS "}}]}",
       "Records[0]: \"userIdentity\" is not an object"},
      {"{\"Records\":[{\"eventName\":\"REMOVE\",\"userIdentity\":{\"type\":1},\"dynamodb\":{\"Keys\":" KEYS "}}]}",
       "Records[0]: \"userIdentity.type\" and \"userIdentity.principalId\" must be strings"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dorm_stream_record *r = (dorm_stream_record *)1;
    size_t n = 99;
    err[0] = '\0';
    dorm_status st = dorm_stream_parse(cases[i].json, strlen(cases[i].json), &A, &r, &n, err, sizeof err);
    if (st != DORM_ERR_BAD_RESPONSE) fail_msg("case %zu accepted (%s)", i, dorm_strerror(st));
    if (!strstr(err, cases[i].want)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
    assert_null(r);
    assert_int_equal(n, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(lambda_event, teardown),
      cmocka_unit_test_teardown(single_record, teardown),
      cmocka_unit_test_teardown(ttl_deletion, teardown),
      cmocka_unit_test_teardown(malformed, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
