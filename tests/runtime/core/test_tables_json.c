/* The table request bodies byte for byte (deterministic, derived attribute
 * definitions), every check on a definition or a change, and reading a
 * TableDescription as AWS sends it. No server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/tables.h"
#include "json_read.h"
#include "core_internal.h"

static const char *create_json(const dorm_table_def *d, dorm_arena *a, dorm_status want, const char *want_err) {
  const char *json = NULL;
  char err[256];
  dorm_status st = dorm_table_def_json(d, a, &json, NULL, err, sizeof err);
  if (st != want) fail_msg("status %d, want %d (%s)", st, want, err);
  if (want_err && !strstr(err, want_err)) fail_msg("error \"%s\" does not contain \"%s\"", err, want_err);
  return json;
}

static void test_full_definition(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  static const char *const inc[] = {"total", "customer"};
  dorm_gsi_def gsis[] = {
      {.name = "gsi-status", .pk = {"GSI1PK", DORM_KEY_S}, .sk = {"GSI1SK", DORM_KEY_S}, .throughput = {1, 2}},
      {.name = "gsi-amount", .pk = {"GSI1PK", DORM_KEY_S}, .sk = {"amount", DORM_KEY_N},
       .projection = {DORM_PROJECT_INCLUDE, inc, 2}, .throughput = {3, 4}},
  };
  dorm_lsi_def lsis[] = {{.name = "lsi-created", .sk = {"createdAt", DORM_KEY_S}, .projection = {DORM_PROJECT_KEYS_ONLY, NULL, 0}}};
  dorm_table_def d = {.name = "shop", .pk = {"PK", DORM_KEY_S}, .sk = {"SK", DORM_KEY_S},
                      .billing = DORM_BILLING_PROVISIONED, .throughput = {5, 6},
                      .gsis = gsis, .gsi_count = 2, .lsis = lsis, .lsi_count = 1,
                      .stream = DORM_STREAM_NEW_AND_OLD_IMAGES, .deletion_protection = true};
  const char *json = create_json(&d, &a, DORM_OK, NULL);
  assert_string_equal(json,
      "{\"TableName\":\"shop\","
      "\"AttributeDefinitions\":[{\"AttributeName\":\"PK\",\"AttributeType\":\"S\"},"
      "{\"AttributeName\":\"SK\",\"AttributeType\":\"S\"},{\"AttributeName\":\"GSI1PK\",\"AttributeType\":\"S\"},"
      "{\"AttributeName\":\"GSI1SK\",\"AttributeType\":\"S\"},{\"AttributeName\":\"amount\",\"AttributeType\":\"N\"},"
      "{\"AttributeName\":\"createdAt\",\"AttributeType\":\"S\"}],"
      "\"KeySchema\":[{\"AttributeName\":\"PK\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"SK\",\"KeyType\":\"RANGE\"}],"
      "\"BillingMode\":\"PROVISIONED\",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":5,\"WriteCapacityUnits\":6},"
      "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"gsi-status\",\"KeySchema\":[{\"AttributeName\":\"GSI1PK\","
      "\"KeyType\":\"HASH\"},{\"AttributeName\":\"GSI1SK\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":"
      "\"ALL\"},\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":2}},"
      "{\"IndexName\":\"gsi-amount\",\"KeySchema\":[{\"AttributeName\":\"GSI1PK\",\"KeyType\":\"HASH\"},"
      "{\"AttributeName\":\"amount\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":\"INCLUDE\","
      "\"NonKeyAttributes\":[\"total\",\"customer\"]},\"ProvisionedThroughput\":{\"ReadCapacityUnits\":3,"
      "\"WriteCapacityUnits\":4}}],"
      "\"LocalSecondaryIndexes\":[{\"IndexName\":\"lsi-created\",\"KeySchema\":[{\"AttributeName\":\"PK\",\"KeyType\":"
      "\"HASH\"},{\"AttributeName\":\"createdAt\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":"
      "\"KEYS_ONLY\"}}],"
      "\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},"
      "\"DeletionProtectionEnabled\":true}");
  /* Same definition, same bytes. */
  assert_string_equal(create_json(&d, &a, DORM_OK, NULL), json);
  dorm_arena_free(&a);
}

static void test_minimal_definition(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_def d = {.name = "t-1.x_y", .pk = {"id", DORM_KEY_N}};
  assert_string_equal(create_json(&d, &a, DORM_OK, NULL),
                      "{\"TableName\":\"t-1.x_y\",\"AttributeDefinitions\":[{\"AttributeName\":\"id\","
                      "\"AttributeType\":\"N\"}],\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
                      "\"BillingMode\":\"PAY_PER_REQUEST\"}");
  dorm_arena_free(&a);
}

static void test_definition_checks(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_gsi_def g = {.name = "gsi", .pk = {"PK", DORM_KEY_N}};
  dorm_table_def d = {.name = "tbl", .pk = {"PK", DORM_KEY_S}, .gsis = &g, .gsi_count = 1};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "attribute PK is S in the table's key but N in gsis[0] (gsi)");
  g.pk.type = DORM_KEY_S;
  create_json(&d, &a, DORM_OK, NULL);
  g.throughput.read = 1;
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "gsis[0].throughput: capacity is only for provisioned billing");
  d.billing = DORM_BILLING_PROVISIONED;
  d.throughput = (dorm_throughput){1, 1};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "gsis[0].throughput: a provisioned table needs read and write");
  g.throughput.write = 1;
  create_json(&d, &a, DORM_OK, NULL);
  g.name = "ab";
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "gsis[0]: name \"ab\" must be 3 to 255 characters long");
  g.name = "gsi";
  g.sk = (dorm_key_attr){"PK", DORM_KEY_S};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "gsis[0]: the sort key cannot be the partition key");
  g.sk = (dorm_key_attr){"x", (dorm_key_type)7};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "gsis[0].sk: attribute x has no valid key type");
  g.sk = (dorm_key_attr){NULL, DORM_KEY_NONE};
  g.projection.type = DORM_PROJECT_INCLUDE;
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "gsis[0].projection: an INCLUDE projection needs at least one");
  static const char *const one[] = {"a"};
  g.projection = (dorm_projection){DORM_PROJECT_KEYS_ONLY, one, 1};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "only an INCLUDE projection lists attributes");
  const char *many[101];
  for (int i = 0; i < 101; i++) many[i] = "attr";
  g.projection = (dorm_projection){DORM_PROJECT_INCLUDE, many, 101};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "at most 100 non-key attributes");
  g.projection = (dorm_projection){DORM_PROJECT_INCLUDE, one, 1};
  create_json(&d, &a, DORM_OK, NULL);

  dorm_gsi_def twenty_one[21];
  for (int i = 0; i < 21; i++) twenty_one[i] = g;
  d.gsis = twenty_one;
  d.gsi_count = 21;
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "at most 20 global secondary indexes");
  d.gsis = &g;
  d.gsi_count = 1;

  dorm_lsi_def l = {.name = "gsi", .sk = {"created", DORM_KEY_S}};
  d.lsis = &l;
  d.lsi_count = 1;
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "lsis: local secondary indexes need a table with a sort key");
  d.sk = (dorm_key_attr){"SK", DORM_KEY_N};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "two indexes are named gsi");
  l.name = "lsi";
  l.sk = (dorm_key_attr){"SK", DORM_KEY_S};
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "attribute SK is N in the table's key but S in lsis[0] (lsi)");
  l.sk = (dorm_key_attr){"created", DORM_KEY_S};
  create_json(&d, &a, DORM_OK, NULL);

  d.pk.name = "";
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "pk: no attribute name");
  d.pk.name = "bad\xff";
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "pk: attribute name is not valid UTF-8");
  d.pk.name = "PK";
  d.name = "has space";
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "may contain only letters, digits");
  d.name = "tbl";
  d.stream = (dorm_stream_view)9;
  create_json(&d, &a, DORM_ERR_INVALID_ARGUMENT, "stream: unknown stream view type 9");
  create_json(NULL, &a, DORM_ERR_INVALID_ARGUMENT, "no table definition");
  dorm_arena_free(&a);
}

static const char *change_json(const dorm_table_change *ch, dorm_arena *a, dorm_status want, const char *want_err) {
  const char *json = NULL;
  char err[256];
  dorm_status st = dorm_table_change_json("tbl", ch, a, &json, NULL, err, sizeof err);
  if (st != want) fail_msg("status %d, want %d (%s)", st, want, err);
  if (want_err && !strstr(err, want_err)) fail_msg("error \"%s\" does not contain \"%s\"", err, want_err);
  return json;
}

static void test_changes(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_table_change ch = {.kind = DORM_CHANGE_BILLING, .billing = DORM_BILLING_ON_DEMAND};
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL), "{\"TableName\":\"tbl\",\"BillingMode\":\"PAY_PER_REQUEST\"}");
  dorm_gsi_throughput gt[] = {{"gsi1", {1, 2}}, {"gsi2", {3, 4}}};
  ch = (dorm_table_change){.kind = DORM_CHANGE_BILLING, .billing = DORM_BILLING_PROVISIONED, .throughput = {5, 5},
                           .index_throughputs = gt, .index_throughput_count = 2};
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL),
                      "{\"TableName\":\"tbl\",\"BillingMode\":\"PROVISIONED\",\"ProvisionedThroughput\":"
                      "{\"ReadCapacityUnits\":5,\"WriteCapacityUnits\":5},\"GlobalSecondaryIndexUpdates\":["
                      "{\"Update\":{\"IndexName\":\"gsi1\",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,"
                      "\"WriteCapacityUnits\":2}}},{\"Update\":{\"IndexName\":\"gsi2\",\"ProvisionedThroughput\":"
                      "{\"ReadCapacityUnits\":3,\"WriteCapacityUnits\":4}}}]}");
  ch.throughput.read = 0;
  change_json(&ch, &a, DORM_ERR_INVALID_ARGUMENT, "throughput: a provisioned table needs");
  ch = (dorm_table_change){.kind = DORM_CHANGE_BILLING, .billing = DORM_BILLING_ON_DEMAND,
                           .index_throughputs = gt, .index_throughput_count = 1};
  change_json(&ch, &a, DORM_ERR_INVALID_ARGUMENT, "index_throughputs: only for a switch to provisioned");

  ch = (dorm_table_change){.kind = DORM_CHANGE_STREAM, .stream = DORM_STREAM_NEW_IMAGE};
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL),
                      "{\"TableName\":\"tbl\",\"StreamSpecification\":{\"StreamEnabled\":true,"
                      "\"StreamViewType\":\"NEW_IMAGE\"}}");
  ch.stream = DORM_STREAM_NONE;
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL),
                      "{\"TableName\":\"tbl\",\"StreamSpecification\":{\"StreamEnabled\":false}}");

  dorm_gsi_def g = {.name = "gsi-email", .pk = {"email", DORM_KEY_S}, .sk = {"n", DORM_KEY_N}};
  ch = (dorm_table_change){.kind = DORM_CHANGE_CREATE_GSI, .gsi = &g};
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL),
                      "{\"TableName\":\"tbl\",\"AttributeDefinitions\":[{\"AttributeName\":\"email\","
                      "\"AttributeType\":\"S\"},{\"AttributeName\":\"n\",\"AttributeType\":\"N\"}],"
                      "\"GlobalSecondaryIndexUpdates\":[{\"Create\":{\"IndexName\":\"gsi-email\",\"KeySchema\":["
                      "{\"AttributeName\":\"email\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"n\",\"KeyType\":"
                      "\"RANGE\"}],\"Projection\":{\"ProjectionType\":\"ALL\"}}}]}");
  g.throughput = (dorm_throughput){2, 0};
  change_json(&ch, &a, DORM_ERR_INVALID_ARGUMENT, "gsi.throughput");
  ch.gsi = NULL;
  change_json(&ch, &a, DORM_ERR_INVALID_ARGUMENT, "gsi: no index definition");

  ch = (dorm_table_change){.kind = DORM_CHANGE_DELETE_GSI, .index_name = "gsi-email"};
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL),
                      "{\"TableName\":\"tbl\",\"GlobalSecondaryIndexUpdates\":[{\"Delete\":{\"IndexName\":"
                      "\"gsi-email\"}}]}");
  ch = (dorm_table_change){.kind = DORM_CHANGE_GSI_THROUGHPUT, .index_name = "gsi-email", .throughput = {9, 8}};
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL),
                      "{\"TableName\":\"tbl\",\"GlobalSecondaryIndexUpdates\":[{\"Update\":{\"IndexName\":"
                      "\"gsi-email\",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":9,\"WriteCapacityUnits\":8}}}]}");
  ch = (dorm_table_change){.kind = DORM_CHANGE_DELETION_PROTECTION, .deletion_protection = true};
  assert_string_equal(change_json(&ch, &a, DORM_OK, NULL),
                      "{\"TableName\":\"tbl\",\"DeletionProtectionEnabled\":true}");
  ch.kind = (dorm_table_change_kind)0;
  change_json(&ch, &a, DORM_ERR_INVALID_ARGUMENT, "kind: unknown change 0");
  change_json(NULL, &a, DORM_ERR_INVALID_ARGUMENT, "no change");
  dorm_arena_free(&a);
}

/* A DescribeTable answer as AWS sends it for an old provisioned table (no
 * BillingModeSummary) while a GSI is being built. */
static const char describe_json[] =
    "{\"Table\":{\"AttributeDefinitions\":[{\"AttributeName\":\"PK\",\"AttributeType\":\"S\"},"
    "{\"AttributeName\":\"SK\",\"AttributeType\":\"N\"},{\"AttributeName\":\"G\",\"AttributeType\":\"B\"}],"
    "\"TableName\":\"orders\",\"KeySchema\":[{\"AttributeName\":\"PK\",\"KeyType\":\"HASH\"},"
    "{\"AttributeName\":\"SK\",\"KeyType\":\"RANGE\"}],\"TableStatus\":\"UPDATING\","
    "\"CreationDateTime\":1.700000000123E9,\"ProvisionedThroughput\":{\"NumberOfDecreasesToday\":0,"
    "\"ReadCapacityUnits\":10,\"WriteCapacityUnits\":20},\"TableSizeBytes\":123456,\"ItemCount\":789,"
    "\"TableArn\":\"arn:aws:dynamodb:us-east-1:123456789012:table/orders\",\"TableId\":\"abc-123\","
    "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"by-g\",\"KeySchema\":[{\"AttributeName\":\"G\",\"KeyType\":"
    "\"HASH\"}],\"Projection\":{\"ProjectionType\":\"INCLUDE\",\"NonKeyAttributes\":[\"a\",\"b\"]},"
    "\"IndexStatus\":\"CREATING\",\"Backfilling\":true,\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,"
    "\"WriteCapacityUnits\":2},\"IndexSizeBytes\":0,\"ItemCount\":0,\"IndexArn\":\"arn:idx\"}],"
    "\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"KEYS_ONLY\"},"
    "\"LatestStreamLabel\":\"2024-01-01T00:00:00.000\",\"LatestStreamArn\":\"arn:stream\","
    "\"DeletionProtectionEnabled\":false,\"SomethingNew\":{\"x\":1}}}";

static void test_parse_description(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  cJSON *root;
  char err[256];
  assert_int_equal(dorm__json_parse(describe_json, strlen(describe_json), &root, err, sizeof err), DORM_OK);
  dorm_table_description d;
  assert_int_equal(dorm__tables_parse_description(cJSON_GetObjectItem(root, "Table"), &a, &d, err, sizeof err), DORM_OK);
  cJSON_Delete(root);
  assert_string_equal(d.name, "orders");
  assert_int_equal(d.status, DORM_TABLE_UPDATING);
  assert_string_equal(d.id, "abc-123");
  assert_true(d.created > 1.7e9 && d.created < 1.7000001e9);
  assert_int_equal(d.item_count, 789);
  assert_int_equal(d.size_bytes, 123456);
  assert_int_equal(d.billing, DORM_BILLING_PROVISIONED);
  assert_int_equal(d.throughput.read, 10);
  assert_int_equal(d.throughput.write, 20);
  assert_int_equal(d.sk.type, DORM_KEY_N);
  assert_int_equal(d.stream, DORM_STREAM_KEYS_ONLY);
  assert_string_equal(d.stream_arn, "arn:stream");
  assert_int_equal(d.gsi_count, 1);
  assert_string_equal(d.gsis[0].name, "by-g");
  assert_int_equal(d.gsis[0].pk.type, DORM_KEY_B);
  assert_null(d.gsis[0].sk.name);
  assert_int_equal(d.gsis[0].status, DORM_INDEX_CREATING);
  assert_true(d.gsis[0].backfilling);
  assert_int_equal(d.gsis[0].projection.attribute_count, 2);
  assert_string_equal(d.gsis[0].projection.attributes[1], "b");
  assert_int_equal(d.gsis[0].throughput.write, 2);
  assert_string_equal(d.gsis[0].arn, "arn:idx");
  assert_int_equal(d.lsi_count, 0);

  /* Wrong shapes are BAD_RESPONSE, not a crash. */
  static const char *const bad[] = {
      "[]", "{\"TableName\":1}", "{\"KeySchema\":{}}", "{\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"X\"}]}",
      "{\"GlobalSecondaryIndexes\":[{\"Backfilling\":\"yes\"}]}", "{\"ItemCount\":\"many\"}",
      "{\"GlobalSecondaryIndexes\":[{\"Projection\":{\"NonKeyAttributes\":[1]}}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(dorm__json_parse(bad[i], strlen(bad[i]), &root, err, sizeof err), DORM_OK);
    assert_int_equal(dorm__tables_parse_description(root, &a, &d, err, sizeof err), DORM_ERR_BAD_RESPONSE);
    cJSON_Delete(root);
  }
  dorm_arena_free(&a);
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(dorm_table_status_name(DORM_TABLE_ACTIVE), "ACTIVE");
  assert_string_equal(dorm_table_status_name((dorm_table_status)99), "?");
  assert_string_equal(dorm_billing_mode_name(DORM_BILLING_ON_DEMAND), "PAY_PER_REQUEST");
  assert_string_equal(dorm_stream_view_name(DORM_STREAM_NEW_AND_OLD_IMAGES), "NEW_AND_OLD_IMAGES");
  assert_string_equal(dorm_stream_view_name(DORM_STREAM_NONE), "NONE");
  assert_string_equal(dorm_projection_type_name(DORM_PROJECT_KEYS_ONLY), "KEYS_ONLY");
  assert_string_equal(dorm_key_type_name(DORM_KEY_B), "B");
  assert_int_equal(dorm__tables_status_from("ARCHIVED"), DORM_TABLE_ARCHIVED);
  assert_int_equal(dorm__tables_status_from("active"), DORM_TABLE_STATUS_UNKNOWN);
  assert_int_equal(dorm__tables_index_status_from("DELETING"), DORM_INDEX_DELETING);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_definition),   cmocka_unit_test(test_minimal_definition),
      cmocka_unit_test(test_definition_checks), cmocka_unit_test(test_changes),
      cmocka_unit_test(test_parse_description), cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
