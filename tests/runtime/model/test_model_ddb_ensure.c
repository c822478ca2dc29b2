/* dorm_model_table_ensure (what generated <table>_ensure() calls) against
 * DynamoDB Local: a missing table is created with everything the schema
 * declares and a second call finds it matching; an existing table that
 * lacks a declared GSI, LSI or stream, has another key, another index
 * projection or TTL on another attribute fails with
 * DORM_ERR_SCHEMA_MISMATCH and a message naming each difference and
 * pointing at the migration commands, changing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/dorm.h"
#include "test_ddb.h"
#include "test_support.h"

static dorm_client *C;

static const char *const include[] = {"total", "note"};

/* The schema's table: PK/SK, gsi-status (INCLUDE), lsi-created, a
 * NEW_AND_OLD_IMAGES stream, TTL on expiresAt. */
static void schema_table(dorm_model_table *t, dorm_gsi_def *gsi, dorm_lsi_def *lsi, const char *name) {
  *gsi = (dorm_gsi_def){.name = "gsi-status", .pk = {"GSI1PK", DORM_KEY_S}, .sk = {"GSI1SK", DORM_KEY_S},
                        .projection = {DORM_PROJECT_INCLUDE, include, 2}};
  *lsi = (dorm_lsi_def){.name = "lsi-created", .sk = {"createdAt", DORM_KEY_S},
                        .projection = {DORM_PROJECT_KEYS_ONLY, NULL, 0}};
  memset(t, 0, sizeof *t);
  t->def = (dorm_table_def){.name = name, .pk = {"PK", DORM_KEY_S}, .sk = {"SK", DORM_KEY_S}, .gsis = gsi,
                            .gsi_count = 1, .lsis = lsi, .lsi_count = 1, .stream = DORM_STREAM_NEW_AND_OLD_IMAGES};
  t->ttl_attr = "expiresAt";
}

static void create_raw(const dorm_table_def *def) {
  dorm_status st = dorm_create_table(C, def, NULL, NULL);
  if (st == DORM_OK) st = dorm_wait_table_active(C, def->name, 60000, NULL, NULL);
  if (st != DORM_OK) fail_msg("creating %s: %s", def->name, dorm_client_errmsg(C));
}

static void drop(const char *name) {
  if (dorm_delete_table(C, name, NULL, NULL) == DORM_OK) dorm_wait_table_deleted(C, name, 60000);
}

static void expect_in(const char *text, const char *want) {
  if (!strstr(text, want)) fail_msg("expected \"%s\" in \"%s\"", want, text);
}

static void creates_then_matches(void **state) {
  (void)state;
  char name[64];
  ts_unique_name(name, sizeof name, "ensure_new");
  dorm_model_table t;
  dorm_gsi_def gsi;
  dorm_lsi_def lsi;
  schema_table(&t, &gsi, &lsi, name);
  if (dorm_model_table_ensure(C, &t, 60000) != DORM_OK) fail_msg("first ensure: %s", dorm_client_errmsg(C));
  if (dorm_model_table_ensure(C, &t, 60000) != DORM_OK) fail_msg("second ensure: %s", dorm_client_errmsg(C));
  assert_string_equal(dorm_client_errmsg(C), "");
  dorm_arena a = DORM_ARENA_INIT;
  dorm_ttl_description ttl;
  assert_int_equal(dorm_describe_ttl(C, name, &a, &ttl), DORM_OK);
  assert_int_equal(ttl.status, DORM_TTL_ENABLED);
  assert_string_equal(ttl.attribute, "expiresAt");
  dorm_arena_free(&a);
  drop(name);
}

/* The table exists with keys only: no GSI, no LSI, no stream. */
static void lacks_indexes_and_stream(void **state) {
  (void)state;
  char name[64];
  ts_unique_name(name, sizeof name, "ensure_bare");
  dorm_model_table t;
  dorm_gsi_def gsi;
  dorm_lsi_def lsi;
  schema_table(&t, &gsi, &lsi, name);
  dorm_table_def bare = {.name = name, .pk = {"PK", DORM_KEY_S}, .sk = {"SK", DORM_KEY_S}};
  create_raw(&bare);
  assert_int_equal(dorm_model_table_ensure(C, &t, 60000), DORM_ERR_SCHEMA_MISMATCH);
  const char *msg = dorm_client_errmsg(C);
  char want[256];
  snprintf(want, sizeof want,
           "ensure: table %s: missing GSI gsi-status; missing LSI lsi-created; stream is off, the schema declares "
           "NEW_AND_OLD_IMAGES; run dormc migrate diff + dorm migrate deploy",
           name);
  expect_in(msg, want);
  /* Nothing was changed: not even TTL, which ensure enables on a matching table. */
  dorm_arena a = DORM_ARENA_INIT;
  dorm_ttl_description ttl;
  assert_int_equal(dorm_describe_ttl(C, name, &a, &ttl), DORM_OK);
  assert_int_not_equal(ttl.status, DORM_TTL_ENABLED);
  dorm_table_description d;
  assert_int_equal(dorm_describe_table(C, name, &a, &d), DORM_OK);
  assert_int_equal(d.gsi_count, 0);
  assert_int_equal(d.stream, DORM_STREAM_NONE);
  dorm_arena_free(&a);
  drop(name);
}

/* Everything there, but differently: another sort key, the GSI projects
 * ALL with other keys, the LSI projects ALL, the stream shows new images
 * only, TTL is on another attribute. */
static void differs(void **state) {
  (void)state;
  char name[64];
  ts_unique_name(name, sizeof name, "ensure_other");
  dorm_model_table t;
  dorm_gsi_def gsi;
  dorm_lsi_def lsi;
  schema_table(&t, &gsi, &lsi, name);
  dorm_gsi_def ogsi = {.name = "gsi-status", .pk = {"GSI1PK", DORM_KEY_S}, .sk = {"GSI1SK", DORM_KEY_N}};
  dorm_lsi_def olsi = {.name = "lsi-created", .sk = {"createdAt", DORM_KEY_S}};
  dorm_table_def other = {.name = name, .pk = {"PK", DORM_KEY_S}, .sk = {"ID", DORM_KEY_N}, .gsis = &ogsi,
                          .gsi_count = 1, .lsis = &olsi, .lsi_count = 1, .stream = DORM_STREAM_NEW_IMAGE};
  create_raw(&other);
  assert_int_equal(dorm_update_ttl(C, name, "gone", true), DORM_OK);
  assert_int_equal(dorm_model_table_ensure(C, &t, 60000), DORM_ERR_SCHEMA_MISMATCH);
  const char *msg = dorm_client_errmsg(C);
  expect_in(msg, "its key is (PK S, ID N), the schema declares (PK S, SK S)");
  expect_in(msg, "GSI gsi-status has keys (GSI1PK S, GSI1SK N), the schema declares (GSI1PK S, GSI1SK S)");
  expect_in(msg, "GSI gsi-status projects ALL, the schema declares INCLUDE(total, note)");
  expect_in(msg, "LSI lsi-created projects ALL, the schema declares KEYS_ONLY");
  expect_in(msg, "stream is NEW_IMAGE, the schema declares NEW_AND_OLD_IMAGES");
  expect_in(msg, "TTL is on 'gone', the schema declares 'expiresAt'");
  expect_in(msg, "; run dormc migrate diff + dorm migrate deploy");
  drop(name);
}

/* A table with more than the schema declares (another GSI, a stream the
 * schema lacks) is fine, and TTL is enabled on it. */
static void more_is_fine(void **state) {
  (void)state;
  char name[64];
  ts_unique_name(name, sizeof name, "ensure_more");
  dorm_model_table t;
  dorm_gsi_def gsi;
  dorm_lsi_def lsi;
  schema_table(&t, &gsi, &lsi, name);
  dorm_gsi_def two[2] = {gsi, {.name = "gsi-extra", .pk = {"X", DORM_KEY_S}}};
  dorm_table_def more = t.def;
  more.gsis = two;
  more.gsi_count = 2;
  create_raw(&more);
  t.def.stream = DORM_STREAM_NONE; /* the schema declares none; the table has one */
  if (dorm_model_table_ensure(C, &t, 60000) != DORM_OK) fail_msg("ensure: %s", dorm_client_errmsg(C));
  dorm_arena a = DORM_ARENA_INIT;
  dorm_ttl_description ttl;
  assert_int_equal(dorm_describe_ttl(C, name, &a, &ttl), DORM_OK);
  assert_int_equal(ttl.status, DORM_TTL_ENABLED);
  dorm_arena_free(&a);
  drop(name);
}

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  dorm_client_free(C);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(creates_then_matches),
      cmocka_unit_test(lacks_indexes_and_stream),
      cmocka_unit_test(differs),
      cmocka_unit_test(more_is_fine),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
