/* Model struct -> DynamoDB item: every type's encoding, naming, the
 * optional / @omit_empty / required rules, computed keys and "_type",
 * validation errors that name the field, DynamoDB's item size, json
 * canonicalization, and the put lifecycle. Nothing is sent anywhere. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_internal.h"
#include "test_models.h"

static dorm_arena A = DORM_ARENA_INIT;
static char err[512];

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

static const char *json_of(const dorm_model_desc *m, const void *obj) {
  const char *json = NULL;
  size_t len = 0;
  dorm_status st = dorm_model_to_json(m, obj, &A, &json, &len, err, sizeof err);
  if (st != DORM_OK) fail_msg("to_json: %s (%s)", dorm_strerror(st), err);
  assert_int_equal(strlen(json), len);
  return json;
}

/* Expects obj to fail with st and a message containing want. */
static void fails(const dorm_model_desc *m, const void *obj, dorm_status st, const char *want) {
  const char *json = NULL;
  size_t len = 0;
  err[0] = '\0';
  dorm_status got = dorm_model_to_json(m, obj, &A, &json, &len, err, sizeof err);
  if (got != st) fail_msg("expected %s, got %s (%s)", dorm_strerror(st), dorm_strerror(got), err);
  if (!strstr(err, want)) fail_msg("message \"%s\" lacks \"%s\"", err, want);
  /* dorm_model_to_av applies the same rules */
  dorm_av av;
  char err2[512];
  assert_int_equal(dorm_model_to_av(m, obj, &A, &av, err2, sizeof err2), st);
  assert_string_equal(err, err2);
}

static const dorm_av *attr(const dorm_av *item, const char *name) { return dorm_av_map_get(item, name); }

static void kitchen_golden(void **state) {
  (void)state;
  tm_Kitchen k;
  tm_sample_kitchen(&k, "k1");
  assert_string_equal(json_of(&tm_Kitchen_desc, &k), tm_sample_kitchen_json);

  /* dorm_model_to_av gives the item the cJSON-based reader makes of it */
  dorm_av item, want;
  assert_int_equal(dorm_model_to_av(&tm_Kitchen_desc, &k, &A, &item, err, sizeof err), DORM_OK);
  assert_int_equal(dorm_item_from_json(tm_sample_kitchen_json, strlen(tm_sample_kitchen_json), &A, &want, err, sizeof err),
                   DORM_OK);
  assert_true(dorm_av_equal(&item, &want));

  /* the model's size computation agrees with dorm_item_size */
  dorm_jw w;
  dorm__jw_init(&w, 0);
  size_t size = 0, want_size = 0;
  assert_int_equal(dorm__model_write_item(&w, &tm_Kitchen_desc, &k, &size, err, sizeof err), DORM_OK);
  assert_int_equal(dorm_item_size(&want, &want_size), DORM_OK);
  assert_int_equal(size, want_size);
  dorm__jw_free(&w);

  /* deterministic: same object, same bytes */
  assert_string_equal(json_of(&tm_Kitchen_desc, &k), tm_sample_kitchen_json);
}

static void order_keys_and_type(void **state) {
  (void)state;
  tm_Order o;
  memset(&o, 0, sizeof o);
  o.customerId = "c1";
  o.orderId = "o-9";
  o.status = TM_STATUS_SHIPPED;
  o.total.amount = "12.50";
  o.total.currency = "EUR";
  o.note = "leave at door";
  o.createdAt = INT64_C(1795613924000000000);
  o.updatedAt = o.createdAt + 5;
  o.version = 3;
  assert_string_equal(
      json_of(&tm_Order_desc, &o),
      "{\"PK\":{\"S\":\"CUSTOMER#c1\"},\"SK\":{\"S\":\"ORDER#o-9\"},\"GSI1PK\":{\"S\":\"STATUS#SHIPPED\"},"
      "\"GSI1SK\":{\"S\":\"2026-11-25T13:38:44.000000000Z\"},\"_type\":{\"S\":\"Order\"},"
      "\"customerId\":{\"S\":\"c1\"},\"orderId\":{\"S\":\"o-9\"},\"status\":{\"S\":\"SHIPPED\"},"
      "\"total\":{\"M\":{\"amount\":{\"N\":\"12.50\"},\"currency\":{\"S\":\"EUR\"}}},"
      "\"customer_note\":{\"S\":\"leave at door\"},\"createdAt\":{\"S\":\"2026-11-25T13:38:44.000000000Z\"},"
      "\"updatedAt\":{\"S\":\"2026-11-25T13:38:44.000000005Z\"},\"version\":{\"N\":\"3\"}}");

  /* the key alone: table key attributes only */
  dorm_av key;
  assert_int_equal(dorm_model_key_av(&tm_Order_desc, &o, &A, &key, err, sizeof err), DORM_OK);
  assert_int_equal(key.u.map.count, 2);
  assert_string_equal(attr(&key, "PK")->u.s.ptr, "CUSTOMER#c1");
  assert_string_equal(attr(&key, "SK")->u.s.ptr, "ORDER#o-9");

  /* a key object needs only the template fields */
  tm_Order k;
  memset(&k, 0, sizeof k);
  k.customerId = "c1";
  k.orderId = "o-9";
  assert_int_equal(dorm_model_key_av(&tm_Order_desc, &k, &A, &key, err, sizeof err), DORM_OK);
  k.orderId = NULL;
  assert_int_equal(dorm_model_key_av(&tm_Order_desc, &k, &A, &key, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "Order.orderId"));

  /* a literal-only template */
  tm_Customer cu;
  memset(&cu, 0, sizeof cu);
  cu.customerId = "c1";
  cu.email = "a@b";
  cu.name = "Ann";
  assert_int_equal(dorm_model_to_av(&tm_Customer_desc, &cu, &A, &key, err, sizeof err), DORM_OK);
  assert_string_equal(attr(&key, "SK")->u.s.ptr, "PROFILE");
  assert_string_equal(attr(&key, "GSI2PK")->u.s.ptr, "EMAIL#a@b");
  assert_string_equal(attr(&key, "_type")->u.s.ptr, "Customer");

  /* keys stored by their fields are written once */
  tm_User u;
  memset(&u, 0, sizeof u);
  u.PK = "USER#1";
  u.SK = "PROFILE";
  assert_string_equal(json_of(&tm_User_desc, &u),
                      "{\"PK\":{\"S\":\"USER#1\"},\"SK\":{\"S\":\"PROFILE\"},"
                      "\"createdAt\":{\"S\":\"1970-01-01T00:00:00.000000000Z\"},"
                      "\"updatedAt\":{\"S\":\"1970-01-01T00:00:00.000000000Z\"},\"version\":{\"N\":\"0\"}}");
  assert_int_equal(dorm_model_key_av(&tm_User_desc, &u, &A, &key, err, sizeof err), DORM_OK);
  assert_int_equal(key.u.map.count, 2);
}

static void omit_rules(void **state) {
  (void)state;
  tm_Kitchen k;
  tm_sample_kitchen(&k, "k1");
  dorm_av item;
  /* absent optionals, empty @omit_empty values and empty sets are not written */
  k.has_expiresAt = true;
  k.expiresAt = 0;   /* @omit_empty */
  k.doc = NULL;      /* optional pointer */
  k.has_work = false;
  k.tags.count = 0;  /* empty set, even though required */
  k.has_ratios = true;
  k.ratios.count = 0;
  k.nickname = "";   /* @omit_empty */
  k.flag = false;    /* @omit_empty */
  k.has_level = false;
  k.memo = NULL;
  assert_int_equal(dorm_model_to_av(&tm_Kitchen_desc, &k, &A, &item, err, sizeof err), DORM_OK);
  const char *gone[] = {"expires_at", "doc", "work", "tags", "ratios", "nickname", "flag", "level", "the.memo"};
  for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
    if (attr(&item, gone[i])) fail_msg("%s was written", gone[i]);
  /* present values, including zero values of fields without @omit_empty */
  k.has_level = true;
  k.level = 0;
  k.count = 0;
  k.active = false;
  k.name = "";
  k.nickname = "nick";
  k.flag = true;
  k.has_work = true;
  k.work.street = "w";
  k.work.city = "c";
  k.grid.count = 0;  /* an empty list without @omit_empty is written */
  k.attrs.count = 0;
  assert_int_equal(dorm_model_to_av(&tm_Kitchen_desc, &k, &A, &item, err, sizeof err), DORM_OK);
  assert_string_equal(attr(&item, "level")->u.s.ptr, "0");
  assert_string_equal(attr(&item, "count")->u.s.ptr, "0");
  assert_int_equal(attr(&item, "active")->type, DORM_AV_BOOL);
  assert_int_equal(attr(&item, "name")->u.s.len, 0);
  assert_string_equal(attr(&item, "nickname")->u.s.ptr, "nick");
  assert_true(attr(&item, "flag")->u.boolean);
  const dorm_av *work = attr(&item, "work");
  assert_int_equal(work->type, DORM_AV_M);
  assert_int_equal(work->u.map.count, 2); /* postCode absent */
  assert_int_equal(attr(&item, "grid")->type, DORM_AV_L);
  assert_int_equal(attr(&item, "grid")->u.list.count, 0);
  assert_int_equal(attr(&item, "attrs")->type, DORM_AV_M);

  /* User (DynamORM's p0.encoding.omitempty): nickname "", tags [], ttl 0 */
  tm_User u;
  memset(&u, 0, sizeof u);
  u.PK = "USER#2";
  u.SK = "PROFILE";
  u.nickname = "";
  u.has_tags = true;
  u.has_ttl = true;
  assert_int_equal(dorm_model_to_av(&tm_User_desc, &u, &A, &item, err, sizeof err), DORM_OK);
  assert_null(attr(&item, "nickname"));
  assert_null(attr(&item, "tags"));
  assert_null(attr(&item, "ttl"));
  assert_non_null(attr(&item, "version"));
  /* ttl is N, epoch seconds (p0.lifecycle.ttl_epoch_seconds) */
  u.ttl = 1700000000;
  assert_int_equal(dorm_model_to_av(&tm_User_desc, &u, &A, &item, err, sizeof err), DORM_OK);
  assert_int_equal(attr(&item, "ttl")->type, DORM_AV_N);
  assert_string_equal(attr(&item, "ttl")->u.s.ptr, "1700000000");
}

static void errors_name_fields(void **state) {
  (void)state;
  tm_Kitchen k;
  tm_sample_kitchen(&k, "k1");
  k.name = NULL;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.name: required (NULL)");
  tm_sample_kitchen(&k, "k1");
  k.home.city = NULL;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.home.city: required (NULL)");
  tm_sample_kitchen(&k, "k1");
  tm_opt_Address places[] = {{true, {NULL, "c", NULL}}};
  k.places.items = places;
  k.places.count = 1;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.places[0].street: required (NULL)");
  tm_sample_kitchen(&k, "k1");
  const char *tags[] = {"a", NULL};
  k.tags.items = tags;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.tags[1]: a set element is NULL");
  const char *dup[] = {"a", "b", "a"};
  k.tags.items = dup;
  k.tags.count = 3;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.tags: the set holds \"a\" twice");
  /* the sorted path for larger sets */
  const char *many[40];
  char bufs[40][8];
  for (int i = 0; i < 40; i++) {
    snprintf(bufs[i], sizeof bufs[i], "t%d", i % 39);
    many[i] = bufs[i];
  }
  k.tags.items = many;
  k.tags.count = 40;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "the set holds \"t0\" twice");
  /* errors after the duplicate check of a large set leak nothing (ASan) */
  for (int i = 0; i < 40; i++) snprintf(bufs[i], sizeof bufs[i], "u%d", i);
  bufs[30][0] = '\xff';
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.tags[30]: ");
  tm_sample_kitchen(&k, "k1");
  double many_ratios[40];
  for (int i = 0; i < 40; i++) many_ratios[i] = i + 0.5;
  many_ratios[33] = NAN;
  k.has_ratios = true;
  k.ratios.items = many_ratios;
  k.ratios.count = 40;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.ratios[33]: NaN and infinity cannot be stored");
  many_ratios[33] = 1e300;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.ratios[33]: 1e+300 is outside");
  tm_sample_kitchen(&k, "k1");
  int64_t nums[] = {5, 5};
  k.nums.items = nums;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.nums: the set holds 5 twice");
  tm_sample_kitchen(&k, "k1");
  const char *amounts[] = {"1.50", "1.5"};
  k.amounts.items = amounts;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.amounts: the set holds 1.5");
  /* a large set of decimals: duplicates found whatever their spelling and
   * the set's size (sorted in numeric order) */
  static char dbufs[300][16];
  static const char *decs[300];
  for (int i = 0; i < 300; i++) {
    snprintf(dbufs[i], sizeof dbufs[i], i % 3 == 0 ? "%d" : i % 3 == 1 ? "%d.50" : "-%de1", i);
    decs[i] = dbufs[i];
  }
  k.amounts.items = decs;
  k.amounts.count = 300;
  const char *json = NULL;
  size_t jlen = 0;
  assert_int_equal(dorm_model_to_json(&tm_Kitchen_desc, &k, &A, &json, &jlen, err, sizeof err), DORM_OK);
  snprintf(dbufs[299], sizeof dbufs[299], "2.70e1"); /* == 27, element 27 */
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "(numerically equal elements)");
  snprintf(dbufs[299], sizeof dbufs[299], "-0.0"); /* == 0, element 0 */
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.amounts: the set holds");
  tm_sample_kitchen(&k, "k1");
  const char *keys[] = {"a", "a"}, *values[] = {"1", "2"};
  k.attrs.keys = keys;
  k.attrs.values = values;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.attrs: the map holds key \"a\" twice");
  tm_sample_kitchen(&k, "k1");
  k.price = "12,5";
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.price: invalid decimal \"12,5\"");
  k.price = "1234567890123456789012345678901234567890";
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "38 significant digits");
  tm_sample_kitchen(&k, "k1");
  k.ratio = NAN;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.ratio: NaN and infinity cannot be stored");
  k.ratio = INFINITY;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.ratio: NaN and infinity");
  k.ratio = 1e300;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.ratio: 1e+300 is outside DynamoDB's number range");
  tm_sample_kitchen(&k, "k1");
  k.color = 0;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.color: required (enum Color value 0 means \"not set\")");
  k.color = 4;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "4 is not a value of enum Color");
  tm_sample_kitchen(&k, "k1");
  k.doc = "{\"a\":1,}";
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.doc: not valid JSON");
  k.doc = "{\"a\":1,\"a\":2}";
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "the key \"a\" twice");
  tm_sample_kitchen(&k, "k1");
  k.name = "bad \xff utf8";
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.name: a string is not valid UTF-8");
  tm_sample_kitchen(&k, "k1");
  k.blob.data = NULL;
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.blob: required");
  /* key attributes: never empty, bounded */
  tm_sample_kitchen(&k, "");
  fails(&tm_Kitchen_desc, &k, DORM_ERR_INVALID_ARGUMENT, "Kitchen.id: key attribute id would be empty");
  tm_User u;
  memset(&u, 0, sizeof u);
  u.PK = "USER#1";
  u.SK = "";
  fails(&tm_User_desc, &u, DORM_ERR_INVALID_ARGUMENT, "User.SK: key attribute SK would be empty");
  char *long_sk = malloc(1026);
  memset(long_sk, 's', 1025);
  long_sk[1025] = '\0';
  u.SK = long_sk;
  fails(&tm_User_desc, &u, DORM_ERR_INVALID_ARGUMENT, "key attribute SK is 1025 bytes; DynamoDB allows at most 1024");
  long_sk[1024] = '\0';
  json_of(&tm_User_desc, &u);
  u.SK = "PROFILE";
  u.emailHash = ""; /* the partition key of gsi-email: DynamoDB rejects "" */
  fails(&tm_User_desc, &u, DORM_ERR_INVALID_ARGUMENT, "User.emailHash: key attribute emailHash would be empty");
  free(long_sk);
  fails(&tm_User_desc, NULL, DORM_ERR_INVALID_ARGUMENT, "no object given");
}

/* An attribute that is a sort key anywhere (the table's or an index's)
 * holds at most 1024 bytes, even where it is also a partition key: DynamoDB
 * Local refuses 1025 bytes in a table partition key that a GSI sorts on
 * ("Size limit exceeded"), and in a table sort key that a GSI partitions on
 * (test_it_limits, test_index_keys). Here the GSI "inv" swaps User's keys. */
static void key_limits_follow_every_index(void **state) {
  (void)state;
  static const dorm_index_desc swapped[] = {
      {NULL, DORM_INDEX_TABLE, 0, 0, 1},
      {"inv", DORM_INDEX_GSI, 0, 1, 0},
  };
  dorm_model_desc m = tm_User_desc;
  m.indexes = swapped;
  m.nindexes = 2;
  char *big = malloc(1026);
  memset(big, 'k', 1025);
  big[1025] = '\0';
  tm_User u;
  memset(&u, 0, sizeof u);
  u.PK = big;
  u.SK = "PROFILE";
  fails(&m, &u, DORM_ERR_INVALID_ARGUMENT, "key attribute PK is 1025 bytes; DynamoDB allows at most 1024");
  u.PK = "USER#1";
  u.SK = big;
  fails(&m, &u, DORM_ERR_INVALID_ARGUMENT, "key attribute SK is 1025 bytes; DynamoDB allows at most 1024");
  big[1024] = '\0';
  json_of(&m, &u);
  u.PK = big;
  u.SK = "PROFILE";
  json_of(&m, &u);
  /* Without the GSI the table's partition key holds 2048. */
  char *pk = malloc(2049);
  memset(pk, 'p', 2048);
  pk[2048] = '\0';
  u.PK = pk;
  json_of(&tm_User_desc, &u);
  free(pk);
  free(big);
}

static void item_size_limit(void **state) {
  (void)state;
  tm_User u;
  memset(&u, 0, sizeof u);
  u.PK = "P";
  u.SK = "S";
  dorm_av item;
  assert_int_equal(dorm_model_to_av(&tm_User_desc, &u, &A, &item, err, sizeof err), DORM_OK);
  size_t base = 0;
  assert_int_equal(dorm_item_size(&item, &base), DORM_OK);
  /* nickname fills the item to exactly 400 KB, then one byte more */
  size_t room = DORM_ITEM_MAX_BYTES - base - strlen("nickname");
  char *big = malloc(room + 2);
  memset(big, 'n', room + 1);
  big[room] = '\0';
  u.nickname = big;
  assert_int_equal(dorm_model_to_av(&tm_User_desc, &u, &A, &item, err, sizeof err), DORM_OK);
  size_t size = 0;
  assert_int_equal(dorm_item_size(&item, &size), DORM_OK);
  assert_int_equal(size, DORM_ITEM_MAX_BYTES);
  big[room] = 'n';
  big[room + 1] = '\0';
  fails(&tm_User_desc, &u, DORM_ERR_TOO_LARGE, "User: the item is 409601 bytes; DynamoDB stores at most 409600");
  free(big);
}

static void canon_is(const char *in, const char *want) {
  model_sbuf b;
  dorm__model_sbuf_init(&b);
  char why[160];
  dorm_status st = dorm__model_json_canonical(in, strlen(in), &b, why, sizeof why);
  if (st != DORM_OK) fail_msg("canonical(%s): %s", in, why);
  if (strcmp(b.p, want) != 0) fail_msg("canonical(%s) = %s, want %s", in, b.p, want);
  dorm__model_sbuf_free(&b);
}

static void canon_rejects(const char *in, const char *want) {
  model_sbuf b;
  dorm__model_sbuf_init(&b);
  char why[160] = "";
  assert_int_equal(dorm__model_json_canonical(in, strlen(in), &b, why, sizeof why), DORM_ERR_INVALID_ARGUMENT);
  if (!strstr(why, want)) fail_msg("canonical(%s): \"%s\" lacks \"%s\"", in, why, want);
  dorm__model_sbuf_free(&b);
}

static void json_canonical(void **state) {
  (void)state;
  canon_is(" { \"b\" : 1 , \"a\" : [ true , false , null ] } ", "{\"a\":[true,false,null],\"b\":1}");
  canon_is("{\"b\":{\"d\":1,\"c\":2},\"a\":{\"z\":{\"y\":0,\"x\":0}}}",
           "{\"a\":{\"z\":{\"x\":0,\"y\":0}},\"b\":{\"c\":2,\"d\":1}}");
  canon_is("{\"\xc3\xa9\":1,\"z\":2,\"Z\":3,\"\":4}", "{\"\":4,\"Z\":3,\"z\":2,\"\xc3\xa9\":1}"); /* byte order */
  canon_is("[]", "[]");
  canon_is("{}", "{}");
  canon_is("\"x\"", "\"x\"");
  canon_is("\"\\u00e9\\ud83d\\ude00 \\/ \\\" \\\\ \\n \\t \\u0001 \\u001f\"",
           "\"\xc3\xa9\xf0\x9f\x98\x80 / \\\" \\\\ \\n \\t \\u0001 \\u001f\"");
  /* numbers: their exact value, ECMAScript layout */
  canon_is("[1, 1.0, 2.50, -0, 0.0, 100, 1e2, 1E21, 1e21, 123456789012345678901, 1e-6, 1e-7, 0.000001234,"
           " 1.5e300, -2.5e-10, 0.1, 3.14159, 5e-324, 1.7976931348623157e308]",
           "[1,1,2.5,0,0,100,100,1e+21,1e+21,123456789012345678901,0.000001,1e-7,0.000001234,"
           "1.5e+300,-2.5e-10,0.1,3.14159,5e-324,1.7976931348623157e+308]");
  /* digits a double does not hold are kept (they were rounded through one:
   * 9007199254740993 was stored as 9007199254740992) */
  canon_is("[9007199254740993, -9007199254740993, 0.30000000000000004, 0.1000000000000000055511151231257827,"
           " 18446744073709551617, 1234567890123456789012345678901234567890, 0e-4000000000000000000000]",
           "[9007199254740993,-9007199254740993,0.30000000000000004,0.1000000000000000055511151231257827,"
           "18446744073709551617,1.23456789012345678901234567890123456789e+39,0]");
  canon_is("{\"b\":[{\"n\":12345678901234567890.50},-0.0e7,\"-1 2\\\"3\"],\"a\":-.5,\"c\":00012.3400E-0002}",
           "{\"a\":-0.5,\"b\":[{\"n\":12345678901234567890.5},0,\"-1 2\\\"3\"],\"c\":0.1234}");
  canon_is("[0.0000012345678901234567, 1234567.8901234567e-20, 1e21, 99e19, 1e-7, 123e-9]",
           "[0.0000012345678901234567,1.2345678901234567e-14,1e+21,990000000000000000000,1e-7,1.23e-7]");
  /* integers a double holds exactly take a shortcut: the same text */
  canon_is("[-7, 42, 10, 1000, 9007199254740991, -9007199254740991, 9007199254740992, 1e15, 1e20, 123456789012,"
           " -1, 3.0, -40.00, 1e3]",
           "[-7,42,10,1000,9007199254740991,-9007199254740991,9007199254740992,1000000000000000,"
           "100000000000000000000,123456789012,-1,3,-40,1000]");
  canon_rejects("{\"a\":1,\"a\":1}", "twice");
  canon_rejects("{a:1}", "malformed JSON");
  canon_rejects("[1] x", "unexpected data");
  canon_rejects("", "empty");
  canon_rejects("\"\\u0000\"", "U+0000");
  canon_rejects("[1e999]", "out of range");
  canon_rejects("[1e400]", "Infinity");
  canon_rejects("{\"x\":[1, -1e-400]}", "as 0");
  canon_rejects("\"\xc3\x28\"", "not valid UTF-8");
}

static void lifecycle_put(void **state) {
  (void)state;
  tm_Order o;
  memset(&o, 0, sizeof o);
  model_lifecycle_save saved;
  dorm__model_lifecycle_put(&tm_Order_desc, &o, 1000, &saved);
  assert_int_equal(o.createdAt, 1000);
  assert_int_equal(o.updatedAt, 1000);
  assert_int_equal(o.version, 0);
  dorm__model_lifecycle_restore(&tm_Order_desc, &o, &saved);
  assert_int_equal(o.createdAt, 0);
  assert_int_equal(o.updatedAt, 0);
  o.createdAt = 5;
  o.updatedAt = 6;
  o.version = 7;
  dorm__model_lifecycle_put(&tm_Order_desc, &o, 2000, &saved);
  assert_int_equal(o.createdAt, 5); /* kept */
  assert_int_equal(o.updatedAt, 2000);
  assert_int_equal(o.version, 7);   /* written as given */
  dorm__model_lifecycle_restore(&tm_Order_desc, &o, &saved);
  assert_int_equal(o.updatedAt, 6);
  /* a model without roles is untouched */
  tm_Kitchen k;
  tm_sample_kitchen(&k, "k1");
  tm_Kitchen copy = k;
  dorm__model_lifecycle_put(&tm_Kitchen_desc, &k, 3000, &saved);
  assert_memory_equal(&k, &copy, sizeof k);
}

static void field_values(void **state) {
  (void)state;
  /* one field's value as an AttributeValue (conditions, updates) */
  dorm_av v;
  tm_OrderStatus st = TM_STATUS_PAID;
  assert_int_equal(dorm__model_field_av(&tm_Order_desc, TM_O_status, &st, &A, &v, err, sizeof err), DORM_OK);
  assert_int_equal(v.type, DORM_AV_S);
  assert_string_equal(v.u.s.ptr, "paid");
  int64_t t = -1;
  assert_int_equal(dorm__model_field_av(&tm_Order_desc, TM_O_createdAt, &t, &A, &v, err, sizeof err), DORM_OK);
  assert_string_equal(v.u.s.ptr, "1969-12-31T23:59:59.999999999Z");
  tm_Address addr = {"s", "c", "p"};
  assert_int_equal(dorm__model_field_av(&tm_Order_desc, TM_O_shipTo, &addr, &A, &v, err, sizeof err), DORM_OK);
  assert_int_equal(v.type, DORM_AV_M);
  assert_string_equal(dorm_av_map_get(&v, "postCode")->u.s.ptr, "p"); /* camelCase model */
  assert_int_equal(dorm__model_field_av(&tm_Kitchen_desc, TM_K_home, &addr, &A, &v, err, sizeof err), DORM_OK);
  assert_string_equal(dorm_av_map_get(&v, "post_code")->u.s.ptr, "p"); /* snake_case model */
  assert_int_equal(dorm__model_field_av(&tm_Order_desc, 99, &addr, &A, &v, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "no field 99"));
  /* rendering key templates */
  model_sbuf b;
  dorm__model_sbuf_init(&b);
  tm_Order o;
  memset(&o, 0, sizeof o);
  o.status = TM_STATUS_SHIPPED;
  assert_int_equal(dorm__model_render_key(&tm_Order_desc, 2, &o, SIZE_MAX, &b, err, sizeof err), DORM_OK);
  assert_string_equal(b.p, "STATUS#SHIPPED");
  dorm__model_sbuf_free(&b);
  assert_int_equal(dorm__model_render_key(&tm_Order_desc, 0, &o, 1, &b, err, sizeof err), DORM_OK); /* leading literal */
  assert_string_equal(b.p, "CUSTOMER#");
  dorm__model_sbuf_free(&b);
  o.status = 0;
  assert_int_equal(dorm__model_render_key(&tm_Order_desc, 2, &o, SIZE_MAX, &b, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "Order.status"));
  dorm__model_sbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(kitchen_golden, teardown),
      cmocka_unit_test_teardown(order_keys_and_type, teardown),
      cmocka_unit_test_teardown(omit_rules, teardown),
      cmocka_unit_test_teardown(errors_name_fields, teardown),
      cmocka_unit_test_teardown(item_size_limit, teardown),
      cmocka_unit_test_teardown(key_limits_follow_every_index, teardown),
      cmocka_unit_test_teardown(json_canonical, teardown),
      cmocka_unit_test_teardown(lifecycle_put, teardown),
      cmocka_unit_test_teardown(field_values, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
