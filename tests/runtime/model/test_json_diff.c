/* The hot path's parser (runtime/src/core/json_jsmn.c: jsmn tokens into a
 * tree in one block) against cJSON, on every JSON fixture of the repository
 * (tests/ and bench/, *.json), every file of the fuzz corpora and saved
 * reproducers (tests/fuzz/corpus, tests/fuzz/regressions; a model input also
 * without its first byte, which picks the model), and the hand-picked
 * texts below: the same trees, values, struct contents and errors
 * (json_diff.c), read through the descriptors of test_models.c.
 *
 * So that the test cannot pass by never taking the new path: jsmn alone
 * must read every fixture cJSON reads, and the hand-picked texts say which
 * ones jsmn leaves to cJSON (and cJSON's verdict must then stand). */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ftw.h>

#include "core_internal.h"
#include "json_diff.h"
#include "test_models.h"
#include "test_support.h"

static const dorm_model_desc *const models[] = {&tm_Kitchen_desc, &tm_Order_desc, &tm_Customer_desc, &tm_User_desc};
#define NMODELS (sizeof models / sizeof models[0])

static jd_stats fixtures, corpus;
static size_t failures;

static void check(const char *what, const char *buf, size_t len, jd_stats *stats) {
  /* an exact-size copy: nothing may read past the end */
  char *copy = malloc(len ? len : 1);
  assert_non_null(copy);
  memcpy(copy, buf, len);
  const char *bad = jd_check(copy, len, models, NMODELS, stats);
  free(copy);
  if (bad && failures++ < 20) fprintf(stderr, "%s: %s\n", what, bad);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int visit_fixture(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (type == FTW_F && ends_with(path, ".json") && !strstr(path, "node_modules") && !strstr(path, "/fuzz/")) {
    size_t len = 0;
    char *text = ts_read_file(path, &len);
    assert_non_null(text);
    size_t before = fixtures.jsmn_refused;
    check(path, text, len, &fixtures);
    if (fixtures.jsmn_refused != before && failures++ < 20) fprintf(stderr, "%s: jsmn does not read it\n", path);
    free(text);
  }
  return 0;
}

static bool model_corpus;

static int visit_corpus(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (type != FTW_F) return 0;
  size_t len = 0;
  char *text = ts_read_file(path, &len);
  assert_non_null(text);
  /* a model input's first byte picks the model: usually below 0x20, which
   * cJSON skips as whitespace and jsmn refuses (left to cJSON, not counted) */
  check(path, text, len, model_corpus ? NULL : &corpus);
  if (model_corpus && len > 0) check(path, text + 1, len - 1, &corpus);
  free(text);
  return 0;
}

static void every_fixture(void **state) {
  (void)state;
  char dir[4096];
  const char *roots[] = {"tests", "bench"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(dir, sizeof dir, "%s/%s", ts_source_dir(), roots[i]);
    assert_int_equal(nftw(dir, visit_fixture, 16, FTW_PHYS), 0);
  }
  fprintf(stderr, "fixtures: %zu texts, cJSON read %zu, jsmn alone %zu\n", fixtures.inputs, fixtures.cjson_ok,
          fixtures.jsmn_ok);
  assert_int_equal(failures, 0);
  assert_true(fixtures.inputs >= 40); /* the sigv4 suite's, bench/item.json, ... */
  assert_int_equal(fixtures.jsmn_refused, 0);
}

static void fuzz_corpora(void **state) {
  (void)state;
  static const char *const dirs[] = {"corpus/json", "corpus/model", "corpus/stream", "corpus/cursor",
                                     "corpus/creds", "regressions"};
  char dir[4096];
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", ts_source_dir(), dirs[i]);
    model_corpus = strcmp(dirs[i], "corpus/model") == 0;
    assert_int_equal(nftw(dir, visit_corpus, 16, FTW_PHYS), 0);
  }
  fprintf(stderr, "fuzz corpora: %zu texts, cJSON read %zu, jsmn alone %zu (%zu left to cJSON)\n", corpus.inputs,
          corpus.cjson_ok, corpus.jsmn_ok, corpus.jsmn_refused);
  assert_int_equal(failures, 0);
  assert_true(corpus.inputs >= 500);
  /* the new path is the one taken: jsmn reads nearly all of what cJSON reads */
  assert_true(corpus.jsmn_ok * 100 >= corpus.cjson_ok * 99);
}

/* Texts at the edges of what the two parsers do, and whether jsmn alone
 * reads each (the rest is left to cJSON, whose verdict stands). */
static void hand_picked(void **state) {
  (void)state;
  static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    bool jsmn;
  } cases[] = {
      {"{\"Item\":{\"a\":{\"S\":\"x\"}}}", 0, true},
      {" \t\r\n{ \"Item\" : { \"a\" : { \"N\" : \"1\" } } } \n", 0, true},
      {"{\"Item\":{\"s\":{\"S\":\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0001\\u00e9\\u20ac\\ud83d\\ude00\"}}}", 0, true},
      {"{\"a\\u0062c\":{\"S\":\"\"}}", 0, true},
      {"{\"Count\":3,\"ScannedCount\":1e2,\"x\":[-0.5E+3,0,true,false,null,{},[]]}", 0, true},
      {"{\"Count\":01}", 0, true},    /* cJSON reads "01" as 1, and so does this path */
      {"{\"Count\":1.}", 0, true},    /* strtod reads "1." whole, as in cJSON */
      {"{\"Count\":-}", 0, false},    /* neither reads it */
      {"{\"Count\":1.2.3}", 0, false},
      {"{\"Count\":1234567890123456789012345678901234567890123456789012345678901234567890}", 0, false},
      {"{\"Count\":tru}", 0, false},
      {"{\"Count\":truex}", 0, false},
      {"\xef\xbb\xbf{}", 0, false},   /* a BOM: cJSON skips it */
      {"\x01{}", 0, false},           /* cJSON skips control characters as whitespace */
      {"{}\x01", 0, false},
      {"{} x", 0, false},
      {"{}{}", 0, false},
      {"{\"a\":{\"S\":\"x\0y\"}}", sizeof "{\"a\":{\"S\":\"x\0y\"}}" - 1, false}, /* a NUL byte in a string */
      {"{}\0", 3, false},            /* len 3: the NUL is part of the body */
      {"{\"a\":{\"S\":\"\\u0000\"}}", 0, false}, /* refused by both, with the path */
      {"{\"a\":{\"S\":\"\\u12\"}}", 0, false},
      {"{\"a\":{\"S\":\"\\ud800\"}}", 0, false}, /* lone surrogates */
      {"{\"a\":{\"S\":\"\\udc00\"}}", 0, false},
      {"{\"a\":{\"S\":\"\\ud800\\u0041\"}}", 0, false},
      {"{\"a\":{\"S\":\"\\x\"}}", 0, false},
      {"[1 2]", 0, false},            /* jsmn tokenizes these; the gaps between tokens are checked */
      {"[1,]", 0, false},
      {"[,1]", 0, false},
      {"{\"a\" \"b\"}", 0, false},
      {"{\"a\":1 \"b\":2}", 0, false},
      {"{\"a\"}", 0, false},
      {"{\"a\":}", 0, false},
      {"{\"a\"::1}", 0, false},
      {"{,\"a\":1}", 0, false},
      {"{\"a\":1,,\"b\":2}", 0, false},
      {"[1,2", 0, false},
      {"]", 0, false},
      {"{\"a\":[}]", 0, false},
      {"1", 0, false},                /* jsmn's strict mode wants a container around a primitive */
      {"\"s\"", 0, true},
      {"{\"Item\":{\"a\":{\"S\":\"x\"},\"a\":{\"S\":\"y\"}}}", 0, true}, /* a duplicate: both refuse it alike */
      {"{\"Items\":[{\"a\":{\"N\":\"x\"}}],\"Count\":1}", 0, true},
      {"", 0, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
    jd_stats st = {0};
    check(cases[i].text, cases[i].text, len, &st);
    if ((st.jsmn_ok == 1) != cases[i].jsmn && failures++ < 20)
      fprintf(stderr, "case %zu (%s): jsmn alone %s it\n", i, cases[i].text, st.jsmn_ok ? "reads" : "does not read");
  }
  /* a Query page far past the tokens on the stack (256): the token array
   * grows twice on the heap while jsmn resumes; jsmn alone must read it */
  {
    size_t cap = 600 * 96 + 64, o = 0;
    char *page = malloc(cap);
    assert_non_null(page);
    o += (size_t)snprintf(page + o, cap - o, "{\"Items\":[");
    for (int i = 0; i < 600; i++)
      o += (size_t)snprintf(page + o, cap - o, "%s{\"pk\":{\"S\":\"u%d\"},\"n\":{\"N\":\"%d\"},\"l\":{\"L\":[{\"BOOL\":true}]}}",
                            i ? "," : "", i, i * 7);
    o += (size_t)snprintf(page + o, cap - o, "],\"Count\":600}");
    assert_true(o < cap);
    jd_stats st = {0};
    check("a page of 600 items", page, o, &st);
    assert_int_equal(st.jsmn_ok, 1);
    free(page);
  }
  /* deep nesting: jsmn builds up to its limit, deeper goes to cJSON */
  for (size_t depth = 10; depth <= 1100; depth += 545) {
    char *t = malloc(2 * depth + 1);
    assert_non_null(t);
    memset(t, '[', depth);
    memset(t + depth, ']', depth);
    check("nesting", t, 2 * depth, NULL);
    free(t);
  }
  assert_int_equal(failures, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hand_picked),
      cmocka_unit_test(every_fixture),
      cmocka_unit_test(fuzz_corpora),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
