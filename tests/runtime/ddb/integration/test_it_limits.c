/* DynamoDB's limits where they meet libdorm's data path, against DynamoDB
 * Local: key sizes and empty keys, numbers at the edges of their range, item
 * size at exactly 400 KB (long names, numbers, nesting overhead), nesting
 * depth, U+0000, duplicates in batches and transactions, expression length,
 * names with dots, pages that hold nothing but continue, parallel scan
 * segments, and a BatchGetItem whose answer is over 16 MB.
 *
 * Each case says what must happen: accepted and read back unchanged, or
 * refused before anything is sent (no request: it_attempts unchanged) with
 * a message naming the value, or refused by DynamoDB once (no retry loop)
 * with its message passed on. Where DynamoDB Local and the service differ the
 * test follows the service's documented behaviour and says so. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "it_common.h"

static dorm_client *C;
static char T[64]; /* PK S, SK S */

static int setup(void **state) {
  (void)state;
  C = ts_ddb_client();
  it_name(T, sizeof T, "it_limits");
  it_create_table(C, T, "PK", DORM_KEY_S, "SK", DORM_KEY_S);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_drop_table(C, T);
  dorm_client_free(C);
  return 0;
}

/* `unit` n times, NUL-terminated, in a. */
static char *rep(dorm_arena *a, const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = dorm_arena_alloc(a, u * n + 1);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

static dorm_av kv(dorm_arena *a, const char *pk, const char *sk) {
  dorm_av it = it_map();
  it_set_s(a, &it, "PK", pk);
  it_set_s(a, &it, "SK", sk);
  return it;
}

/* PutItem of {PK: pk, SK: sk[, name: v]}. */
static dorm_status put3(dorm_arena *a, dorm_av pk, dorm_av sk, const char *name, dorm_av v) {
  dorm_av it = it_map();
  it_set_av(a, &it, "PK", pk);
  it_set_av(a, &it, "SK", sk);
  if (name) it_set_av(a, &it, name, v);
  dorm_put_input pi = {.table = T, .item = &it};
  return dorm_put_item(C, &pi, a, NULL);
}

/* Consistent GetItem of {PK: pk, SK: sk}; asserts it is there. */
static dorm_av get2(dorm_arena *a, const char *pk, const char *sk) {
  dorm_av k = kv(a, pk, sk), got;
  dorm_get_input gi = {.table = T, .key = &k, .consistent_read = true};
  dorm_status st = dorm_get_item(C, &gi, a, &got);
  if (st != DORM_OK) fail_msg("get %s/%s: %s", pk, sk, dorm_client_errmsg(C));
  return got;
}

/* Asserts that the last call was refused before anything was sent. */
#define REFUSED_LOCALLY(call, status, ...)                                                                        \
  do {                                                                                                           \
    uint64_t before_ = it_attempts(C);                                                                           \
    assert_int_equal((call), (status));                                                                          \
    assert_int_equal(it_attempts(C), before_);                                                                   \
    it_assert_msg(C, __VA_ARGS__, NULL);                                                                         \
  } while (0)

/* Asserts that DynamoDB refused the call once, with no retry. */
#define REFUSED_BY_DYNAMODB(call, ...)                                                                            \
  do {                                                                                                           \
    uint64_t before_ = it_attempts(C);                                                                           \
    assert_int_equal((call), DORM_ERR_VALIDATION);                                                               \
    assert_int_equal(it_attempts(C), before_ + 1);                                                               \
    it_assert_msg(C, "ValidationException", __VA_ARGS__, NULL);                                                  \
  } while (0)

/* Key sizes are UTF-8 bytes: a partition key of 2048 bytes (1024 two-byte
 * characters too) and a sort key of 1024 are stored, one byte more is
 * refused. The ddb layer does not know which attributes are keys, so
 * DynamoDB says so, once; the model layer checks its keys before sending
 * (test_model_* "key attribute ... is N bytes"). Empty S/B: refused in a
 * key, stored elsewhere and read back empty. */
static void test_key_sizes_and_empty_values(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  assert_int_equal(put3(&a, dorm_av_str(rep(&a, "x", 2048)), dorm_av_str("s"), NULL, dorm_av_null()), DORM_OK);
  assert_int_equal(put3(&a, dorm_av_str(rep(&a, "\xc3\xa9", 1024)), dorm_av_str("s"), NULL, dorm_av_null()), DORM_OK);
  assert_int_equal(put3(&a, dorm_av_str("p"), dorm_av_str(rep(&a, "x", 1024)), NULL, dorm_av_null()), DORM_OK);
  REFUSED_BY_DYNAMODB(put3(&a, dorm_av_str(rep(&a, "x", 2049)), dorm_av_str("s"), NULL, dorm_av_null()), "2048");
  REFUSED_BY_DYNAMODB(put3(&a, dorm_av_str(rep(&a, "\xc3\xa9", 1025)), dorm_av_str("s"), NULL, dorm_av_null()),
                      "2048");
  REFUSED_BY_DYNAMODB(put3(&a, dorm_av_str("p"), dorm_av_str(rep(&a, "x", 1025)), NULL, dorm_av_null()), "1024");
  REFUSED_BY_DYNAMODB(put3(&a, dorm_av_str(""), dorm_av_str("s"), NULL, dorm_av_null()), "empty string", "PK");
  REFUSED_BY_DYNAMODB(put3(&a, dorm_av_str("p"), dorm_av_str(""), NULL, dorm_av_null()), "empty string", "SK");
  dorm_av k = it_map(), got;
  it_set_s(&a, &k, "PK", "");
  it_set_s(&a, &k, "SK", "s");
  dorm_get_input gi = {.table = T, .key = &k};
  REFUSED_BY_DYNAMODB(dorm_get_item(C, &gi, &a, &got), "empty string");

  /* An empty attribute name, at any depth, is refused before sending
   * (DynamoDB: "Empty attribute name"). */
  REFUSED_LOCALLY(put3(&a, dorm_av_str("p"), dorm_av_str("s"), "", dorm_av_str("v")), DORM_ERR_INVALID_ARGUMENT,
                  "Item: attribute name is empty");
  /* Names must be under 64 KB (DynamoDB's naming rules; DynamoDB Local
   * answers such a name, and one of 65,535 bytes, with a 500 that would be
   * retried: the service's documented rule is followed here). */
  REFUSED_LOCALLY(put3(&a, dorm_av_str("p"), dorm_av_str("s"), rep(&a, "n", 65536), dorm_av_str("v")),
                  DORM_ERR_INVALID_ARGUMENT, "attribute name is 65536 bytes");

  /* Empty S and B outside keys are stored (since 2020) and come back empty. */
  dorm_av it = kv(&a, "empty", "1");
  it_set_s(&a, &it, "s", "");
  it_set_av(&a, &it, "b", dorm_av_bytes("", 0));
  dorm_av m = it_map();
  it_set_s(&a, &m, "inner", "");
  it_set_av(&a, &it, "m", m);
  dorm_put_input pi = {.table = T, .item = &it};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  got = get2(&a, "empty", "1");
  assert_true(dorm_av_equal(&it, &got));
  assert_int_equal(dorm_av_map_get(&got, "s")->type, DORM_AV_S);
  assert_int_equal(dorm_av_map_get(&got, "b")->type, DORM_AV_B);
  dorm_arena_free(&a);
}

/* Numbers: the edges of DynamoDB's range are stored and read back as the
 * same number; one step outside is refused before sending, naming the
 * attribute. Doubles map to the shortest text that reads back as the same
 * double; those DynamoDB cannot hold (NaN, infinities, 1e300, subnormals)
 * are refused rather than rounded. */
static void test_number_edges(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  static const char *ok[] = {"-0", "0.0", "1E+125", "9.9999999999999999999999999999999999999E+125",
                             "-9.9999999999999999999999999999999999999E+125", "1E-130", "0.1E-129", "10E-131",
                             "12345678901234567890123456789012345678", "1234567890123456789012345678901234567800000",
                             "007", "1.", ".5", "+1", "9223372036854775807", "-9223372036854775808",
                             "18446744073709551615"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    char sk[16];
    snprintf(sk, sizeof sk, "n%zu", i);
    if (put3(&a, dorm_av_str("num"), dorm_av_str(sk), "n", dorm_av_num(ok[i])) != DORM_OK)
      fail_msg("%s: %s", ok[i], dorm_client_errmsg(C));
    dorm_av got = get2(&a, "num", sk);
    dorm_str back;
    assert_int_equal(dorm_av_get_n(dorm_av_map_get(&got, "n"), &back), DORM_OK);
    if (!dorm_number_equal(ok[i], strlen(ok[i]), back.ptr, back.len))
      fail_msg("%s came back as %.*s", ok[i], (int)back.len, back.ptr);
  }
  static const char *bad[][2] = {{"1E+126", "magnitude above"},
                                 {"1E-131", "magnitude below 1E-130"},
                                 {"123456789012345678901234567890123456789", "more than 38 significant digits"},
                                 {"1e", "expected a digit"},
                                 {"0x10", "unexpected character"},
                                 {" 1", "expected a digit"},
                                 {"NaN", "expected a digit"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    REFUSED_LOCALLY(put3(&a, dorm_av_str("num"), dorm_av_str("bad"), "n", dorm_av_num(bad[i][0])),
                    DORM_ERR_INVALID_ARGUMENT, "Item.n: invalid number", bad[i][1]);

  /* The same checks hold for a value in an update or a condition. */
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_update_set(&x, "n", dorm_av_num("1E+126"));
  dorm_av k = kv(&a, "num", "n0");
  dorm_update_input ui = {.table = T, .key = &k, .expr = &x};
  REFUSED_LOCALLY(dorm_update_item(C, &ui, &a, NULL), DORM_ERR_INVALID_ARGUMENT, ":v0", "magnitude above");

  /* Doubles. */
  dorm_av v;
  assert_int_equal(dorm_av_num_double(&a, -0.0, &v), DORM_OK);
  assert_int_equal(put3(&a, dorm_av_str("num"), dorm_av_str("d"), "n", v), DORM_OK);
  double d = 1;
  dorm_av zero = get2(&a, "num", "d");
  assert_int_equal(dorm_av_get_double(dorm_av_map_get(&zero, "n"), &d), DORM_OK);
  assert_true(d == 0);
  const double good[] = {1e-130, 1e125, 0.1, 2.0 / 3.0, 9007199254740993.0, -1.7976931348623157e125};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    assert_int_equal(dorm_av_num_double(&a, good[i], &v), DORM_OK);
    assert_int_equal(put3(&a, dorm_av_str("num"), dorm_av_str("d"), "n", v), DORM_OK);
    dorm_av got = get2(&a, "num", "d");
    assert_int_equal(dorm_av_get_double(dorm_av_map_get(&got, "n"), &d), DORM_OK);
    assert_true(d == good[i]);
  }
  const double refused[] = {1e300, 1e126, 5e-324, 2.2250738585072014e-308, 1e-131};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    assert_int_equal(dorm_av_num_double(&a, refused[i], &v), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_av_num_double(&a, NAN, &v), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_av_num_double(&a, INFINITY, &v), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_av_num_double(&a, -INFINITY, &v), DORM_ERR_INVALID_ARGUMENT);
  dorm_arena_free(&a);
}

/* An item of exactly 400 KB as DynamoDB sizes it is stored, one byte more is
 * refused before sending: with one long string, with 100 names of 4,000
 * bytes (names count), and with a list of 17,000 negative numbers of 38
 * digits that DynamoDB stores in 21 bytes each (not the 20 of "one byte per
 * two digits, plus one": dorm__number_storage_size), + 1 per element, + 3
 * for the list. Before that count was fixed, such an item passed libdorm's
 * check and DynamoDB refused it. */
static void test_item_size_boundary(void **state) {
  (void)state;
  for (int shape = 0; shape < 3; shape++) {
    for (long d = 0; d <= 1; d++) {
      dorm_arena a = DORM_ARENA_INIT;
      dorm_av it = kv(&a, "size", shape == 0 ? "string" : shape == 1 ? "names" : "numbers");
      if (shape == 1) {
        for (int i = 0; i < 100; i++) {
          char *nm = rep(&a, "n", 4000);
          char head[8];
          snprintf(head, sizeof head, "%07d", i);
          memcpy(nm, head, 7);
          it_set_av(&a, &it, nm, dorm_av_str(rep(&a, "v", 90)));
        }
      } else if (shape == 2) {
        dorm_av l = dorm_av_empty(DORM_AV_L);
        for (int i = 0; i < 17000; i++)
          *dorm_av_list_push(&a, &l) = dorm_av_num("-1234567890123456789012345678901234567.8");
        it_set_av(&a, &it, "l", l);
      }
      size_t sz = 0;
      assert_int_equal(dorm_item_size(&it, &sz), DORM_OK);
      size_t fill = DORM_ITEM_MAX_BYTES - sz - 4 + (size_t)d; /* "fill" is 4 bytes */
      it_set_av(&a, &it, "fill", dorm_av_strn(rep(&a, "f", fill), fill));
      assert_int_equal(dorm_item_size(&it, &sz), DORM_OK);
      assert_int_equal(sz, DORM_ITEM_MAX_BYTES + (size_t)d);
      dorm_put_input pi = {.table = T, .item = &it};
      if (d == 0) {
        if (dorm_put_item(C, &pi, &a, NULL) != DORM_OK) fail_msg("shape %d: %s", shape, dorm_client_errmsg(C));
        dorm_av got = get2(&a, "size", shape == 0 ? "string" : shape == 1 ? "names" : "numbers");
        assert_true(dorm_av_equal(&it, &got));
      } else {
        REFUSED_LOCALLY(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_TOO_LARGE, "Item is 409601 bytes",
                        "at most 409600");
      }
      dorm_arena_free(&a);
    }
  }
}

static dorm_av nest(dorm_arena *a, int wraps, bool list) {
  dorm_av v = dorm_av_str("leaf");
  for (int i = 0; i < wraps; i++) {
    if (list) {
      dorm_av l = dorm_av_empty(DORM_AV_L);
      *dorm_av_list_push(a, &l) = v;
      v = l;
    } else {
      dorm_av m = it_map();
      it_set_av(a, &m, "m", v);
      v = m;
    }
  }
  return v;
}

/* DynamoDB's "32 levels" count the attribute as level 1: a value wrapped in
 * 31 lists or maps is stored, 32 are refused ("Nesting Levels have exceeded
 * supported limits", by DynamoDB Local and the service alike). libdorm let
 * 32 through to be refused by DynamoDB (in a batch: the whole chunk); now it
 * refuses them before sending, in items and in expression values. */
static void test_nesting_depth(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  for (int list = 0; list <= 1; list++) {
    dorm_av deep = nest(&a, 31, list);
    assert_int_equal(put3(&a, dorm_av_str("deep"), dorm_av_str(list ? "l" : "m"), "d", deep), DORM_OK);
    dorm_av got = get2(&a, "deep", list ? "l" : "m");
    assert_true(dorm_av_equal(dorm_av_map_get(&got, "d"), &deep));
    REFUSED_LOCALLY(put3(&a, dorm_av_str("deep"), dorm_av_str("x"), "d", nest(&a, 32, list)),
                    DORM_ERR_INVALID_ARGUMENT, "Item.d", "nested deeper than 32 levels");
    dorm_expr x;
    dorm_expr_init(&x, &a);
    dorm_update_set(&x, "d", nest(&a, 32, list));
    dorm_av k = kv(&a, "deep", "u");
    dorm_update_input ui = {.table = T, .key = &k, .expr = &x};
    REFUSED_LOCALLY(dorm_update_item(C, &ui, &a, NULL), DORM_ERR_INVALID_ARGUMENT, ":v0",
                    "nested deeper than 32 levels");
  }
  /* What a batch write checks before its first request. */
  dorm_av ok = kv(&a, "deep", "b1"), bad = kv(&a, "deep", "b2");
  it_set_av(&a, &bad, "d", nest(&a, 32, true));
  dorm_batch_write_entry e[2] = {{T, &ok, NULL}, {T, &bad, NULL}};
  size_t written = 99;
  REFUSED_LOCALLY(dorm_batch_write(C, e, 2, NULL, &written), DORM_ERR_INVALID_ARGUMENT, "entries[1].put_item.d",
                  "nested deeper than 32 levels");
  assert_int_equal(written, 0);
  dorm_arena_free(&a);
}

/* U+0000: DynamoDB stores it, but libdorm's readers refuse "\u0000" (cJSON
 * strings end at a NUL), so an item holding one could not be read back: its
 * GetItem, and every Query or Scan page it fell in, failed. Such strings and
 * names are now refused before sending; bytes (B) may hold NUL. */
static void test_nul_in_strings(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  REFUSED_LOCALLY(put3(&a, dorm_av_str("nul"), dorm_av_str("s"), "e", dorm_av_strn("a\0b", 3)),
                  DORM_ERR_INVALID_ARGUMENT, "Item.e: string contains U+0000", "cannot read back");
  dorm_av named = kv(&a, "nul", "s");
  *dorm_av_map_add(&a, &named, "e\0x", 3) = dorm_av_str("v");
  dorm_put_input pi = {.table = T, .item = &named};
  REFUSED_LOCALLY(dorm_put_item(C, &pi, &a, NULL), DORM_ERR_INVALID_ARGUMENT, "attribute name contains U+0000");
  dorm_av ss = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&a, &ss, "fine", 4);
  dorm_av_set_add(&a, &ss, "\0", 1);
  REFUSED_LOCALLY(put3(&a, dorm_av_str("nul"), dorm_av_str("s"), "ss", ss), DORM_ERR_INVALID_ARGUMENT,
                  "Item.ss[1]: string contains U+0000");
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_update_set(&x, "e", dorm_av_strn("\0", 1));
  dorm_av k = kv(&a, "nul", "s");
  dorm_update_input ui = {.table = T, .key = &k, .expr = &x};
  REFUSED_LOCALLY(dorm_update_item(C, &ui, &a, NULL), DORM_ERR_INVALID_ARGUMENT, ":v0: string contains U+0000");

  assert_int_equal(put3(&a, dorm_av_str("nul"), dorm_av_str("b"), "e", dorm_av_bytes("a\0b", 3)), DORM_OK);
  dorm_av got = get2(&a, "nul", "b");
  dorm_str b;
  assert_int_equal(dorm_av_get_b(dorm_av_map_get(&got, "e"), &b), DORM_OK);
  assert_int_equal(b.len, 3);
  assert_memory_equal(b.ptr, "a\0b", 3);
  dorm_arena_free(&a);
}

/* Duplicates DynamoDB refuses: two writes of one key in a BatchWriteItem
 * (put+put, put+delete), one item twice in a transaction. Each is one clear
 * ValidationException (nothing written, no retry); BatchGetItem fetches a
 * key asked twice once and fills both slots. Sets with duplicate elements
 * (also "1" and "1.0" in an NS), which DynamoDB refuses, are refused before
 * sending, naming the element. */
static void test_duplicates(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av i1 = kv(&a, "dup", "1"), i2 = kv(&a, "dup", "1"), i3 = kv(&a, "dup", "3");
  dorm_batch_write_entry e[3] = {{T, &i1, NULL}, {T, &i2, NULL}, {T, &i3, NULL}};
  size_t written = 99;
  dorm_batch_write_options one = {.max_in_flight = 1};
  REFUSED_BY_DYNAMODB(dorm_batch_write(C, e, 3, &one, &written), "duplicates");
  assert_int_equal(written, 0);
  dorm_av k3 = kv(&a, "dup", "3");
  dorm_batch_write_entry e2[2] = {{T, &i3, NULL}, {T, NULL, &k3}};
  REFUSED_BY_DYNAMODB(dorm_batch_write(C, e2, 2, &one, &written), "duplicates");
  assert_int_equal(written, 0);

  dorm_tx_write tw[2] = {{.kind = DORM_TX_PUT, .table = T, .item = &i1},
                         {.kind = DORM_TX_PUT, .table = T, .item = &i2}};
  REFUSED_BY_DYNAMODB(dorm_transact_write(C, tw, 2, NULL, NULL), "multiple operations on one item");
  dorm_av k1 = kv(&a, "dup", "1"), items[2];
  dorm_tx_get tg[2] = {{T, &k1, NULL}, {T, &k1, NULL}};
  REFUSED_BY_DYNAMODB(dorm_transact_get(C, tg, 2, &a, items), "multiple operations on one item");

  dorm_put_input pi = {.table = T, .item = &i1};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  dorm_batch_get_entry g[2] = {{T, &k1}, {T, &k1}};
  size_t found = 0;
  uint64_t before = it_attempts(C);
  assert_int_equal(dorm_batch_get(C, g, 2, NULL, &a, items, &found), DORM_OK);
  assert_int_equal(it_attempts(C), before + 1);
  assert_int_equal(found, 2);
  assert_true(dorm_av_equal(&items[0], &i1));
  assert_true(dorm_av_equal(&items[1], &i1));

  dorm_av ss = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&a, &ss, "a", 1);
  dorm_av_set_add(&a, &ss, "a", 1);
  REFUSED_LOCALLY(put3(&a, dorm_av_str("dup"), dorm_av_str("set"), "ss", ss), DORM_ERR_INVALID_ARGUMENT,
                  "Item.ss[1]: the same element as [0]");
  dorm_av ns = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(&a, &ns, "1", 1);
  dorm_av_set_add(&a, &ns, "1.0", 3);
  REFUSED_LOCALLY(put3(&a, dorm_av_str("dup"), dorm_av_str("set"), "ns", ns), DORM_ERR_INVALID_ARGUMENT,
                  "Item.ns[1]: the same element as [0]");
  /* What DynamoDB says, had they been sent (libdorm refused them before:
   * in a batch, one such set failed the whole request). */
  char *req = dorm_arena_alloc(&a, 256);
  int n = snprintf(req, 256, "{\"TableName\":\"%s\",\"Item\":{\"PK\":{\"S\":\"dup\"},\"SK\":{\"S\":\"set\"},"
                   "\"ns\":{\"NS\":[\"1\",\"1.0\"]}}}", T);
  const char *resp;
  size_t rlen;
  REFUSED_BY_DYNAMODB(dorm_client_call(C, "PutItem", req, (size_t)n, &resp, &rlen), "duplicates");
  dorm_arena_free(&a);
}

/* Expressions: text over 4 KB is refused by DynamoDB, once; every name is a
 * placeholder, so "a.b" (one attribute) and a.b (a path) are told apart. */
static void test_expressions(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  dorm_expr x;
  dorm_expr_init(&x, &a);
  for (int i = 0; i < 400; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "a%d", i);
    dorm_update_set(&x, nm, dorm_av_num("1"));
  }
  dorm_av k = kv(&a, "expr", "1");
  dorm_update_input ui = {.table = T, .key = &k, .expr = &x};
  REFUSED_BY_DYNAMODB(dorm_update_item(C, &ui, &a, NULL), "Expression size has exceeded");

  dorm_av it = kv(&a, "dot", "1");
  it_set_s(&a, &it, "a.b", "flat");
  it_set_s(&a, &it, "my-attr", "dash");
  dorm_av inner = it_map();
  it_set_s(&a, &inner, "b", "nested");
  it_set_av(&a, &it, "a", inner);
  dorm_put_input pi = {.table = T, .item = &it};
  assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  dorm_expr p;
  dorm_expr_init(&p, &a);
  const char *paths[] = {"a\\.b", "my-attr"};
  assert_int_equal(dorm_expr_projection(&p, paths, 2), DORM_OK);
  dorm_av key = kv(&a, "dot", "1"), got;
  dorm_get_input gi = {.table = T, .key = &key, .expr = &p, .consistent_read = true};
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_OK);
  assert_int_equal(got.u.map.count, 2);
  assert_string_equal(it_get_s(&got, "a.b"), "flat");
  assert_string_equal(it_get_s(&got, "my-attr"), "dash");
  dorm_expr q;
  dorm_expr_init(&q, &a);
  const char *nested[] = {"a.b"};
  assert_int_equal(dorm_expr_projection(&q, nested, 1), DORM_OK);
  gi.expr = &q;
  assert_int_equal(dorm_get_item(C, &gi, &a, &got), DORM_OK);
  assert_int_equal(got.u.map.count, 1);
  assert_string_equal(it_get_s(dorm_av_map_get(&got, "a"), "b"), "nested");
  dorm_arena_free(&a);
}

/* A page can hold no item and still have a LastEvaluatedKey (Limit counts
 * items before the filter): the pager goes on to the one item that
 * matches. Parallel scan: segments 0..total-1 with total at most 1,000,000. */
static void test_empty_pages_and_segments(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  for (int i = 0; i < 9; i++) {
    char sk[8];
    snprintf(sk, sizeof sk, "%02d", i);
    dorm_av it = kv(&a, "pages", sk);
    it_set_s(&a, &it, "hit", i == 8 ? "yes" : "no");
    dorm_put_input pi = {.table = T, .item = &it};
    assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  }
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "PK", dorm_av_str("pages")));
  dorm_expr_filter(&x, dorm_cond_eq(&x, "hit", dorm_av_str("yes")));
  dorm_query_input qi = {.table = T, .expr = &x, .limit = 2, .consistent_read = true};
  dorm_pager pg;
  dorm_pager_init_query(&pg, C, &qi);
  dorm_page p;
  size_t pages = 0, empty = 0, items = 0;
  dorm_arena pa = DORM_ARENA_INIT;
  while (dorm_pager_next(&pg, &pa, &p) == DORM_OK && !pg.done) {
    pages++;
    if (p.count == 0) empty++;
    for (size_t i = 0; i < p.count; i++) {
      assert_string_equal(it_get_s(&p.items[i], "SK"), "08");
      items++;
    }
  }
  dorm_pager_free(&pg);
  assert_int_equal(items, 1);
  assert_true(empty >= 4);
  assert_true(pages >= 5);
  dorm_arena_free(&pa);

  dorm_page sp;
  dorm_scan_input si = {.table = T, .limit = 1, .segment = 999999, .total_segments = 1000000};
  assert_int_equal(dorm_scan(C, &si, &a, &sp), DORM_OK);
  si.total_segments = 1000001;
  si.segment = 0;
  REFUSED_LOCALLY(dorm_scan(C, &si, &a, &sp), DORM_ERR_INVALID_ARGUMENT, "total_segments is at most 1000000");
  si.total_segments = 5;
  si.segment = 5;
  REFUSED_LOCALLY(dorm_scan(C, &si, &a, &sp), DORM_ERR_INVALID_ARGUMENT, "segment must be below total_segments");
  dorm_arena_free(&a);
}

/* BatchGetItem answers at most 16 MB; the rest comes back as
 * UnprocessedKeys, which dorm_batch_get asks for again: 60 items of ~390 KB
 * (~23 MB) in one call all arrive. */
static void test_batch_get_over_16_mb(void **state) {
  (void)state;
  enum { N = 60 };
  dorm_arena a = DORM_ARENA_INIT;
  dorm_av puts[N], keys[N], items[N];
  dorm_batch_write_entry w[N];
  dorm_batch_get_entry g[N];
  const char *fill = rep(&a, "z", 390 * 1024);
  for (int i = 0; i < N; i++) {
    char sk[8];
    snprintf(sk, sizeof sk, "%02d", i);
    puts[i] = kv(&a, "big", sk);
    it_set_av(&a, &puts[i], "fill", dorm_av_str(fill));
    keys[i] = kv(&a, "big", sk);
    w[i] = (dorm_batch_write_entry){T, &puts[i], NULL};
    g[i] = (dorm_batch_get_entry){T, &keys[i]};
  }
  size_t written = 0;
  dorm_batch_write_options wo = {.max_in_flight = 2};
  if (dorm_batch_write(C, w, N, &wo, &written) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  assert_int_equal(written, N);
  size_t found = 0;
  uint64_t before = it_attempts(C);
  dorm_batch_get_options go = {.max_in_flight = 1};
  if (dorm_batch_get(C, g, N, &go, &a, items, &found) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  assert_int_equal(found, N);
  for (int i = 0; i < N; i++) assert_true(dorm_av_equal(&items[i], &puts[i]));
  printf("batch get of %d items of 390 KB: %llu requests\n", N, (unsigned long long)(it_attempts(C) - before));
  dorm_arena_free(&a);
}

/* Index keys: a GSI whose partition key is the table's sort key and whose
 * sort key is the table's partition key. An attribute that is a sort key
 * anywhere holds at most 1024 bytes, a partition key anywhere 2048 (the
 * tighter one wins); empty S in an index key is refused. A GSI page's
 * LastEvaluatedKey (table and index keys) goes back as ExclusiveStartKey. */
static void test_index_keys(void **state) {
  (void)state;
  char G[64];
  it_name(G, sizeof G, "it_limits_gsi");
  dorm_gsi_def gsi = {.name = "inv", .pk = {"SK", DORM_KEY_S}, .sk = {"PK", DORM_KEY_S}};
  dorm_table_def def = {.name = G, .pk = {"PK", DORM_KEY_S}, .sk = {"SK", DORM_KEY_S}, .gsis = &gsi, .gsi_count = 1};
  if (dorm_create_table(C, &def, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  if (dorm_wait_table_active(C, G, 30000, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  dorm_arena a = DORM_ARENA_INIT;
  /* The model layer applies the same rule before sending (key_limit in
   * model_write.c; test_model_write key_limits_follow_every_index). */
  struct { size_t pk, sk; bool ok; } cases[] = {
      {1024, 1, true}, {1025, 1, false}, {2048, 1, false}, {1, 1024, true}, {1, 1025, false}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    dorm_av it = kv(&a, rep(&a, "p", cases[i].pk), rep(&a, "s", cases[i].sk));
    dorm_put_input pi = {.table = G, .item = &it};
    if (cases[i].ok) assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
    else REFUSED_BY_DYNAMODB(dorm_put_item(C, &pi, &a, NULL), "(HTTP 400)");
  }
  for (int i = 0; i < 5; i++) {
    char pk[8];
    snprintf(pk, sizeof pk, "p%d", i);
    dorm_av it = kv(&a, pk, "same");
    dorm_put_input pi = {.table = G, .item = &it};
    assert_int_equal(dorm_put_item(C, &pi, &a, NULL), DORM_OK);
  }
  dorm_expr x;
  dorm_expr_init(&x, &a);
  dorm_expr_key_condition(&x, dorm_cond_eq(&x, "SK", dorm_av_str("same")));
  dorm_query_input qi = {.table = G, .index = "inv", .expr = &x, .limit = 2};
  dorm_pager pg;
  dorm_pager_init_query(&pg, C, &qi);
  dorm_page p;
  size_t n = 0;
  while (dorm_pager_next(&pg, &a, &p) == DORM_OK && !pg.done) {
    for (size_t i = 0; i < p.count; i++) {
      char want[8];
      snprintf(want, sizeof want, "p%zu", n++);
      assert_string_equal(it_get_s(&p.items[i], "PK"), want);
    }
    if (p.has_more) assert_int_equal(p.last_key.u.map.count, 2);
  }
  dorm_pager_free(&pg);
  assert_int_equal(n, 5);
  dorm_arena_free(&a);
  it_drop_table(C, G);
}

/* TransactWriteItems: at most 100 actions (refused before sending past
 * that) and 4 MB in all: 11 puts of 390 KB are one clear refusal. */
static void test_transaction_limits(void **state) {
  (void)state;
  dorm_arena a = DORM_ARENA_INIT;
  enum { N = 101 };
  dorm_av items[N];
  dorm_tx_write tw[N];
  const char *fill = rep(&a, "t", 390 * 1024);
  for (int i = 0; i < N; i++) {
    char sk[8];
    snprintf(sk, sizeof sk, "%03d", i);
    items[i] = kv(&a, "tx", sk);
    if (i < 11) it_set_av(&a, &items[i], "fill", dorm_av_str(fill));
    tw[i] = (dorm_tx_write){.kind = DORM_TX_PUT, .table = T, .item = &items[i]};
  }
  REFUSED_BY_DYNAMODB(dorm_transact_write(C, tw, 11, NULL, NULL), "cannot exceed 4MB");
  if (dorm_transact_write(C, tw + 11, 90, NULL, NULL) != DORM_OK) fail_msg("%s", dorm_client_errmsg(C));
  REFUSED_LOCALLY(dorm_transact_write(C, tw, N, NULL, NULL), DORM_ERR_INVALID_ARGUMENT, "100");
  dorm_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_sizes_and_empty_values),
      cmocka_unit_test(test_number_edges),
      cmocka_unit_test(test_item_size_boundary),
      cmocka_unit_test(test_nesting_depth),
      cmocka_unit_test(test_nul_in_strings),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_expressions),
      cmocka_unit_test(test_empty_pages_and_segments),
      cmocka_unit_test(test_batch_get_over_16_mb),
      cmocka_unit_test(test_index_keys),
      cmocka_unit_test(test_transaction_limits),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
