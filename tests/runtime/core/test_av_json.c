/* AttributeValues, DynamoDB JSON writer/reader, numbers, base64, UTF-8, item size. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"
#include "dorm/av.h"
#include "json_read.h"
#include "json_write.h"
#include "number.h"
#include "utf8.h"

static dorm_arena A = DORM_ARENA_INIT;
static char err[512];

static int teardown(void **state) {
  (void)state;
  dorm_arena_free(&A);
  return 0;
}

/* Writes av, compares with want, parses it back and compares structurally. */
static void roundtrip(const dorm_av *av, const char *want) {
  const char *json;
  size_t len;
  err[0] = '\0';
  dorm_status st = dorm_av_to_json(av, &A, 0, &json, &len, err, sizeof err);
  if (st != DORM_OK) fail_msg("write failed: %s", err);
  assert_int_equal(len, strlen(want));
  assert_string_equal(json, want);
  dorm_av back;
  st = dorm_av_from_json(json, len, &A, &back, err, sizeof err);
  if (st != DORM_OK) fail_msg("read failed: %s", err);
  assert_true(dorm_av_equal(av, &back));
}

/* Reads json as one AttributeValue expecting failure with status st and a
 * message containing `contains`. */
static void read_fails(const char *json, dorm_status st, const char *contains) {
  dorm_av v;
  err[0] = '\0';
  assert_int_equal(dorm_av_from_json(json, strlen(json), &A, &v, err, sizeof err), st);
  if (!strstr(err, contains)) fail_msg("message \"%s\" lacks \"%s\" (input %s)", err, contains, json);
}

static void write_fails(const dorm_av *av, dorm_status st, const char *contains) {
  const char *json = NULL;
  err[0] = '\0';
  assert_int_equal(dorm_item_to_json(av, &A, 0, &json, NULL, err, sizeof err), st);
  if (!strstr(err, contains)) fail_msg("message \"%s\" lacks \"%s\"", err, contains);
  /* Checking without writing (what dorm_batch_write does before sending
   * anything) fails alike, with the very same message. */
  dorm_jw w;
  dorm__jw_init(&w, 0);
  assert_int_equal(dorm__jw_check_item(&w, av, NULL), st);
  assert_string_equal(w.err, err);
  dorm__jw_reset(&w);
  dorm__jw_item(&w, av, "entries[7].put_item");
  char written[sizeof w.err];
  snprintf(written, sizeof written, "%s", w.err);
  dorm__jw_reset(&w);
  assert_int_equal(dorm__jw_check_item(&w, av, "entries[7].put_item"), st);
  assert_string_equal(w.err, written);
  dorm__jw_free(&w);
}

/* ---- strings ---- */

static void strings_roundtrip(void **state) {
  (void)state;
  dorm_av v = dorm_av_str("");
  roundtrip(&v, "{\"S\":\"\"}");
  v = dorm_av_str("plain ascii text, long enough to take the 8-byte path");
  roundtrip(&v, "{\"S\":\"plain ascii text, long enough to take the 8-byte path\"}");
  v = dorm_av_str("q\"b\\s/\b\f\n\r\t");
  roundtrip(&v, "{\"S\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\"}");
  /* Every other control character is \u00XX; DEL is not a control in JSON. */
  char ctl[40], want[300];
  size_t n = 0, o = 0;
  o += (size_t)snprintf(want + o, sizeof want - o, "{\"S\":\"");
  for (int c = 1; c < 0x20; c++) {
    ctl[n++] = (char)c;
    if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
      const char *e = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      o += (size_t)snprintf(want + o, sizeof want - o, "%s", e);
    } else {
      o += (size_t)snprintf(want + o, sizeof want - o, "\\u%04x", c);
    }
  }
  ctl[n++] = 0x7f;
  o += (size_t)snprintf(want + o, sizeof want - o, "\x7f\"}");
  v = dorm_av_strn(ctl, n);
  roundtrip(&v, want);
  /* UTF-8 passes through unescaped: 2-, 3- and 4-byte (astral) characters. */
  v = dorm_av_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  roundtrip(&v, "{\"S\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
}

static void string_nul_is_refused_on_write(void **state) {
  (void)state;
  dorm_av v = dorm_av_strn("a\0b", 3);
  const char *json;
  /* Written, it could never be read back (below): refused before sending. */
  assert_int_equal(dorm_av_to_json(&v, &A, 0, &json, NULL, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "string contains U+0000 (a NUL byte at byte 1), which libdorm cannot read back"));
  /* cJSON cannot hand back U+0000, so the reader refuses rather than truncates. */
  read_fails("{\"S\":\"a\\u0000b\"}", DORM_ERR_BAD_RESPONSE, "U+0000");
  /* An escaped backslash followed by u0000 is ordinary text. */
  dorm_av back;
  const char *ok = "{\"S\":\"\\\\u0000\"}";
  assert_int_equal(dorm_av_from_json(ok, strlen(ok), &A, &back, err, sizeof err), DORM_OK);
  assert_string_equal(back.u.s.ptr, "\\u0000");
}

static void reader_unicode_escapes(void **state) {
  (void)state;
  dorm_av v;
  const char *j = "{\"S\":\"\\u00e9\\u20ac\\ud83d\\ude00\\/\\\"\"}";
  assert_int_equal(dorm_av_from_json(j, strlen(j), &A, &v, err, sizeof err), DORM_OK);
  assert_int_equal(v.type, DORM_AV_S);
  assert_string_equal(v.u.s.ptr, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\"");
  assert_int_equal(v.u.s.len, 2 + 3 + 4 + 2);
  read_fails("{\"S\":\"\\ude00\"}", DORM_ERR_BAD_RESPONSE, "malformed JSON");      /* lone low surrogate */
  read_fails("{\"S\":\"\\ud83dx\"}", DORM_ERR_BAD_RESPONSE, "malformed JSON");     /* unpaired high */
  read_fails("{\"S\":\"\xff\"}", DORM_ERR_BAD_RESPONSE, "not valid UTF-8");        /* raw bad byte */
  read_fails("{\"S\":\"\xed\xa0\x80\"}", DORM_ERR_BAD_RESPONSE, "not valid UTF-8"); /* raw surrogate */
}

/* cJSON decodes "\u0000", and a \u without four hex digits, as a NUL that
 * cuts its string short; the reader refuses both, naming the value, and
 * wherever the string is (values, member names, members nobody reads). */
static void reader_refuses_broken_u_escapes(void **state) {
  (void)state;
  read_fails("{\"S\":\"ab\\u12xyz\"}", DORM_ERR_BAD_RESPONSE, "(value): a string has a \\u escape without four hex digits");
  read_fails("{\"S\":\"\\uZZZZ\"}", DORM_ERR_BAD_RESPONSE, "a \\u escape without four hex digits");
  read_fails("{\"S\":\"x\\u00G0\"}", DORM_ERR_BAD_RESPONSE, "a \\u escape without four hex digits");
  read_fails("{\"S\":\"x\\u-123\"}", DORM_ERR_BAD_RESPONSE, "a \\u escape without four hex digits");
  read_fails("{\"S\":\"a\\u0000\"}", DORM_ERR_BAD_RESPONSE, "a string contains U+0000");
  /* the path of the value, as the converter names it (no type keys) */
  read_fails("{\"M\":{\"a\":{\"L\":[{\"S\":\"ok\"},{\"S\":\"x\\u00G0\"}]}}}", DORM_ERR_BAD_RESPONSE,
             "a[1]: a string has a \\u escape without four hex digits");
  read_fails("{\"M\":{\"k\\u0000\":{\"S\":\"x\"}}}", DORM_ERR_BAD_RESPONSE, "(value): a member name contains U+0000");
  read_fails("{\"SS\":[\"a\",\"b\",\"\\u00\\\"x\"]}", DORM_ERR_BAD_RESPONSE, "[2]: a string has a \\u escape");
  /* a bad second half of a surrogate pair: cJSON itself refuses it */
  read_fails("{\"S\":\"\\ud83d\\uZZZZ\"}", DORM_ERR_BAD_RESPONSE, "malformed JSON");
  /* any document parsed for a response: the path in plain JSON terms */
  cJSON *root = NULL;
  const char *doc = "{\"ConsumedCapacity\":{\"TableName\":\"t\"},\"x\":[\"ok\",{\"y\":\"bad\\u0000\"}]}";
  assert_int_equal(dorm__json_parse(doc, strlen(doc), &root, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  assert_null(root);
  assert_string_equal(err, "x[1].y: a string contains U+0000 (\\u0000), which this reader cannot represent");
  const char *item = "{\"Item\":{\"pk\":{\"S\":\"k\"},\"name\":{\"S\":\"Jo\\u00zz\"}}}";
  assert_int_equal(dorm__json_parse(item, strlen(item), &root, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  assert_string_equal(err, "Item.name: a string has a \\u escape without four hex digits");
  /* what is fine: escaped backslashes before u0000, every valid escape */
  dorm_av v;
  const char *ok = "{\"S\":\"\\\\u0000 \\\\\\u0041 \\u0001 \\u00e9 \\ud83d\\ude00\"}";
  assert_int_equal(dorm_av_from_json(ok, strlen(ok), &A, &v, err, sizeof err), DORM_OK);
  assert_string_equal(v.u.s.ptr, "\\u0000 \\A \x01 \xc3\xa9 \xf0\x9f\x98\x80");
  /* only the bytes of the value are looked at: not a NUL-separated tail */
  const char tail[] = "{\"S\":\"x\"}\0\"\\u0000\"";
  assert_int_equal(dorm_av_from_json(tail, sizeof tail - 1, &A, &v, err, sizeof err), DORM_OK);
  assert_string_equal(v.u.s.ptr, "x");
}

static void invalid_utf8_rejected_on_write_with_path(void **state) {
  (void)state;
  dorm_av item = dorm_av_empty(DORM_AV_M), *addr, *list;
  *dorm_av_map_add(&A, &item, "ok", 2) = dorm_av_str("fine");
  addr = dorm_av_map_add(&A, &item, "address", 7);
  *addr = dorm_av_empty(DORM_AV_M);
  list = dorm_av_map_add(&A, addr, "lines", 5);
  *list = dorm_av_empty(DORM_AV_L);
  *dorm_av_list_push(&A, list) = dorm_av_str("first");
  *dorm_av_list_push(&A, list) = dorm_av_str("bad \xc0\xaf overlong");
  write_fails(&item, DORM_ERR_INVALID_ARGUMENT, "address.lines[1]: string is not valid UTF-8 (byte 4)");
  /* invalid names too */
  dorm_av m = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &m, "n\xe2\x82", 3) = dorm_av_null();
  write_fails(&m, DORM_ERR_INVALID_ARGUMENT, "attribute name is not valid UTF-8");
}

/* ---- numbers ---- */

static void number_validation(void **state) {
  (void)state;
  const char *good[] = {
    "0", "-0", "+5", "007", "12345678901234567890123456789012345678",   /* 38 digits */
    "-12345678901234567890123456789012345678",
    "1234567890123456789012345678901234567800000000000",            /* trailing zeros don't count */
    "0.000000000000000000000000000000000000000000012345678901234567890123456789012345678",
    "1.2345678901234567890123456789012345678E+10",
    "9.9999999999999999999999999999999999999E+125", "-9.9999999999999999999999999999999999999E125",
    "1E-130", "-1E-130", "0.1E-129", "10E-131", "1E125", "0E99999999999999999999", "0.000", "1e5",
    "3.14159", "1.0", "5.", ".5", "-.5e3", "1.e5"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    if (dorm__number_invalid_reason(good[i], strlen(good[i])))
      fail_msg("%s rejected: %s", good[i], dorm__number_invalid_reason(good[i], strlen(good[i])));
  const struct { const char *s, *why; } bad[] = {
    {"", "empty"}, {"abc", "digit"}, {".", "digit"}, {"-.", "digit"}, {".e5", "digit"}, {"+", "digit"}, {"-", "digit"},
    {"1e", "exponent"}, {"1e+", "exponent"}, {"--1", "digit"}, {" 1", "digit"}, {"1 ", "unexpected"},
    {"0x10", "unexpected"}, {"NaN", "digit"}, {"Infinity", "digit"}, {"1,5", "unexpected"},
    {"123456789012345678901234567890123456789", "38 significant"},
    {"1.23456789012345678901234567890123456789", "38 significant"},
    {"1E126", "above"}, {"10E125", "above"}, {"1E-131", "below"}, {"0.01E-129", "below"},
    {"1E99999999999999999999999", "above"}, {"1E-99999999999999999999999", "below"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *why = dorm__number_invalid_reason(bad[i].s, strlen(bad[i].s));
    if (!why || !strstr(why, bad[i].why)) fail_msg("\"%s\": got %s, want ...%s...", bad[i].s, why ? why : "valid", bad[i].why);
  }
  assert_int_equal(dorm_number_check("12a", 3, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "invalid number \"12a\""));
  assert_int_equal(dorm_number_check("12", 2, NULL, 0), DORM_OK);
}

/* The grammar without an exponent, byte by byte: what number.c's short
 * path (plain decimals) and its full parse must both agree with. Up to 20
 * bytes there is no precision or magnitude limit to reach. */
static bool ref_plain_number(const char *s, size_t len) {
  size_t i = 0, lead = 0, frac = 0;
  if (i < len && (s[i] == '+' || s[i] == '-')) i++;
  while (i < len && s[i] >= '0' && s[i] <= '9') i++, lead++;
  if (i < len && s[i] == '.') {
    i++;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++, frac++;
  }
  return i == len && lead + frac > 0;
}

static void number_check_agrees(const char *s, size_t len) {
  /* A block of exactly len bytes, so that ASan sees a read past the end. */
  char *b = malloc(len ? len : 1);
  assert_non_null(b);
  memcpy(b, s, len);
  bool got = dorm__number_invalid_reason(b, len) == NULL, want = ref_plain_number(s, len);
  free(b);
  if (got != want) {
    char shown[64] = {0};
    for (size_t i = 0; i < len && i < 20; i++) snprintf(shown + 3 * i, 4, "%02x ", (unsigned char)s[i]);
    fail_msg("number [%s] (%zu bytes): got %s, want %s", shown, len, got ? "valid" : "invalid", want ? "valid" : "invalid");
  }
}

/* Every string of up to 5 bytes over digits, '.', signs and bytes next to
 * them ('/', ':', NUL, 0xb0, 0xff, 'x', ' '); then at every length to 20,
 * digits with one or two of those at every position (pairs of positions),
 * each string in a block of its own length (ASan sees any read past it): a
 * faster short path (bench/notes/bulk.md "Session 10" tried a word-at-a-time
 * one) must give the same verdicts. */
static void number_word_check_every_shape(void **state) {
  (void)state;
  static const char alpha[] = {'0', '5', '9', '.', '-', '+', '/', ':', '\0', (char)0xb0, (char)0xff, 'x', ' '};
  enum { NA = sizeof alpha };
  char s[24];
  for (size_t len = 0; len <= 5; len++) {
    size_t total = 1;
    for (size_t i = 0; i < len; i++) total *= NA;
    for (size_t k = 0; k < total; k++) {
      size_t x = k;
      for (size_t i = 0; i < len; i++) s[i] = alpha[x % NA], x /= NA;
      number_check_agrees(s, len);
    }
  }
  for (size_t len = 1; len <= 20; len++)
    for (size_t p = 0; p < len; p++)
      for (size_t q = p; q < len; q++)
        for (size_t a = 3; a < NA; a++)
          for (size_t c = 3; c < NA; c++) {
            for (size_t i = 0; i < len; i++) s[i] = (char)('1' + (i * 7) % 9);
            s[p] = alpha[a];
            if (q != p) s[q] = alpha[c];
            number_check_agrees(s, len);
            if (c == 3 && q == p) {
              s[0] = '-'; /* the same after a sign */
              number_check_agrees(s, len);
            }
          }
}

static void numbers_roundtrip_and_reject(void **state) {
  (void)state;
  dorm_av v = dorm_av_num("-12345678901234567890123456789012345678");
  roundtrip(&v, "{\"N\":\"-12345678901234567890123456789012345678\"}");
  v = dorm_av_num("-0");
  roundtrip(&v, "{\"N\":\"-0\"}");
  v = dorm_av_num("1.5E-130");
  roundtrip(&v, "{\"N\":\"1.5E-130\"}");
  dorm_av item = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &item, "price", 5) = dorm_av_num("123456789012345678901234567890123456789");
  write_fails(&item, DORM_ERR_INVALID_ARGUMENT, "price: invalid number \"123456789012345678901234567890123456789\": more than 38");
  read_fails("{\"N\":\"abc\"}", DORM_ERR_BAD_RESPONSE, "N value \"abc\" is not a valid number");
  read_fails("{\"N\":\"1E126\"}", DORM_ERR_BAD_RESPONSE, "magnitude above");
  read_fails("{\"N\":12}", DORM_ERR_BAD_RESPONSE, "an N value must be a JSON string");
}

static void number_conversions(void **state) {
  (void)state;
  int64_t i;
  uint64_t u;
  double d;
  dorm_av v = dorm_av_num("9223372036854775807");
  assert_int_equal(dorm_av_get_i64(&v, &i), DORM_OK);
  assert_true(i == INT64_MAX);
  v = dorm_av_num("-9223372036854775808");
  assert_int_equal(dorm_av_get_i64(&v, &i), DORM_OK);
  assert_true(i == INT64_MIN);
  v = dorm_av_num("9223372036854775808");
  assert_int_equal(dorm_av_get_i64(&v, &i), DORM_ERR_SCHEMA_MISMATCH);
  assert_int_equal(dorm_av_get_u64(&v, &u), DORM_OK);
  assert_true(u == (uint64_t)INT64_MAX + 1);
  v = dorm_av_num("18446744073709551616");
  assert_int_equal(dorm_av_get_u64(&v, &u), DORM_ERR_SCHEMA_MISMATCH);
  v = dorm_av_num("1.50E1");
  assert_int_equal(dorm_av_get_i64(&v, &i), DORM_OK);
  assert_int_equal(i, 15);
  v = dorm_av_num("1E2");
  assert_int_equal(dorm_av_get_i64(&v, &i), DORM_OK);
  assert_int_equal(i, 100);
  v = dorm_av_num("-0.0");
  assert_int_equal(dorm_av_get_i64(&v, &i), DORM_OK);
  assert_int_equal(i, 0);
  v = dorm_av_num("1.5");
  assert_int_equal(dorm_av_get_i64(&v, &i), DORM_ERR_SCHEMA_MISMATCH);
  v = dorm_av_num("-1");
  assert_int_equal(dorm_av_get_u64(&v, &u), DORM_ERR_SCHEMA_MISMATCH);
  v = dorm_av_num("0.1");
  assert_int_equal(dorm_av_get_double(&v, &d), DORM_OK);
  assert_true(d == 0.1);

  assert_int_equal(dorm_av_num_i64(&A, INT64_MIN, &v), DORM_OK);
  assert_string_equal(v.u.s.ptr, "-9223372036854775808");
  assert_int_equal(dorm_av_num_u64(&A, UINT64_MAX, &v), DORM_OK);
  assert_string_equal(v.u.s.ptr, "18446744073709551615");
  assert_int_equal(dorm_av_num_double(&A, 0.1, &v), DORM_OK);
  assert_string_equal(v.u.s.ptr, "0.1");
  assert_int_equal(dorm_av_num_double(&A, -2.5e-7, &v), DORM_OK);
  assert_int_equal(dorm_av_get_double(&v, &d), DORM_OK);
  assert_true(d == -2.5e-7);
  /* Laid out as JSON.stringify prints them (C's %g wrote 100 as 1e+02,
   * which a reader parsing the N text as an integer refuses). */
  static const struct {
    double v;
    const char *text;
  } layout[] = {{100, "100"}, {1e20, "100000000000000000000"}, {1e21, "1e+21"}, {123.456, "123.456"},
                {0.001, "0.001"}, {0.000001, "0.000001"}, {1e-7, "1e-7"}, {-2.5e-7, "-2.5e-7"},
                {1.5e300, "1.5e+300"}, {2.0 / 3.0, "0.6666666666666666"}, {-1234.5, "-1234.5"},
                {9007199254740993.0, "9007199254740992"}, {123456789012345678.0, "123456789012345680"},
                {5e-324, "5e-324"}, {-0.0, "-0"}};
  for (size_t i = 0; i < sizeof layout / sizeof *layout; i++) {
    char text[40];
    size_t n = dorm__number_format_double(layout[i].v, text);
    assert_int_equal(n, strlen(layout[i].text));
    assert_string_equal(text, layout[i].text);
  }
  uint64_t bits = 0x9E3779B97F4A7C15u; /* any double reads back as itself */
  for (int i = 0; i < 20000; i++) {
    bits = bits * 6364136223846793005u + 1442695040888963407u;
    double r;
    memcpy(&r, &bits, sizeof r);
    char text[40];
    size_t n = dorm__number_format_double(r, text);
    if (!isfinite(r)) {
      assert_int_equal(n, 0);
      continue;
    }
    assert_true(n > 0 && n < 32);
    assert_true(strtod(text, NULL) == r);
  }
  assert_int_equal(dorm_av_num_double(&A, 0.0 / 0.0, &v), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_av_num_double(&A, 1e300, &v), DORM_ERR_INVALID_ARGUMENT); /* beyond DynamoDB's range */

  assert_true(dorm_number_equal("1.50", 4, "15E-1", 5));
  assert_true(dorm_number_equal("0", 1, "-0.000", 6));
  assert_true(dorm_number_equal("00100", 5, "1e2", 3));
  assert_false(dorm_number_equal("1", 1, "-1", 2));
  assert_false(dorm_number_equal("1", 1, "10", 2));
  /* Sizes DynamoDB Local counts, measured one by one (an item of 1,000 of
   * them and the largest string that still fits beside them): base-100
   * pairs aligned on the decimal point, +1 when negative, 21 at most. */
  static const struct { const char *n; size_t size; } sizes[] = {
      {"0", 1}, {"-0", 1}, {"0.000", 1}, {"1", 2}, {"12", 2}, {"123", 3}, {"1234", 3}, {"-1", 3}, {"-12", 3},
      {"-123", 4}, {"0.1", 2}, {"0.12", 2}, {"1.5", 3}, {"12.5", 3}, {"-12.5", 4}, {"10", 2}, {"100", 2},
      {"1000", 2}, {"1E+10", 2}, {"0.01", 2}, {"0.001", 2}, {"-0.001", 3}, {"0.5", 2}, {"5", 2}, {"50", 2},
      {"500", 2}, {"-5", 3}, {"-50", 3}, {"-10", 3}, {"-1.5", 4}, {"1E-130", 2}, {"-1E-130", 3},
      {"12345678901234567890123456789012345678", 20}, {"-12345678901234567890123456789012345678", 21},
      {"1234567890123456789012345678901234567.8", 21}, {"-1234567890123456789012345678901234567.8", 21},
      {"-123456789012345678901234567890123456.7", 21}, {"9.9999999999999999999999999999999999999E+125", 20},
      {"-9.9999999999999999999999999999999999999E+125", 21}, {"12345", 4}, {"-0.00100", 3}};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    if (dorm__number_storage_size(sizes[i].n, strlen(sizes[i].n)) != sizes[i].size)
      fail_msg("%s: %zu bytes, DynamoDB counts %zu", sizes[i].n,
               dorm__number_storage_size(sizes[i].n, strlen(sizes[i].n)), sizes[i].size);
}

/* ---- binary, base64 ---- */

static void binary_all_bytes_roundtrip(void **state) {
  (void)state;
  unsigned char all[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  dorm_av v = dorm_av_bytes(all, sizeof all);
  const char *json;
  size_t len;
  assert_int_equal(dorm_av_to_json(&v, &A, 0, &json, &len, err, sizeof err), DORM_OK);
  assert_int_equal(len, 8 + 344);
  assert_memory_equal(json, "{\"B\":\"AAECAwQFBgcICQoL", 20);
  assert_memory_equal(json + len - 10, "/P3+/w==\"}", 10);
  dorm_av back;
  assert_int_equal(dorm_av_from_json(json, len, &A, &back, err, sizeof err), DORM_OK);
  assert_int_equal(back.type, DORM_AV_B);
  assert_int_equal(back.u.s.len, 256);
  assert_memory_equal(back.u.s.ptr, all, 256);
  v = dorm_av_bytes("", 0);
  roundtrip(&v, "{\"B\":\"\"}");
  read_fails("{\"B\":\"YQ\"}", DORM_ERR_BAD_RESPONSE, "not valid base64");
  read_fails("{\"B\":\"Y Q=\"}", DORM_ERR_BAD_RESPONSE, "at character 1");
  read_fails("{\"B\":\"YQ==\\n\"}", DORM_ERR_BAD_RESPONSE, "at character 5");
  read_fails("{\"B\":\"YR==\"}", DORM_ERR_BAD_RESPONSE, "not valid base64");  /* nonzero pad bits */
  read_fails("{\"B\":\"-_8=\"}", DORM_ERR_BAD_RESPONSE, "not valid base64");  /* URL alphabet */
  read_fails("{\"B\":7}", DORM_ERR_BAD_RESPONSE, "B value must be a base64 JSON string");
}

static void b64(const char *plain, size_t n, const char *want, dorm_b64_alphabet alpha) {
  char out[128];
  assert_int_equal(dorm__b64_encoded_len(n), strlen(want));
  size_t k = dorm__b64_encode((const uint8_t *)plain, n, out, alpha);
  assert_int_equal(k, strlen(want));
  assert_memory_equal(out, want, k);
  uint8_t dec[128];
  size_t dn = 0;
  assert_true(dorm__b64_decode(want, strlen(want), dec, &dn, alpha, NULL));
  assert_int_equal(dn, n);
  assert_memory_equal(dec, plain, n);
}

static void base64_vectors(void **state) {
  (void)state;
  /* RFC 4648 section 10. */
  const char *v[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
    b64(v[i][0], strlen(v[i][0]), v[i][1], DORM_B64_STD);
    b64(v[i][0], strlen(v[i][0]), v[i][1], DORM_B64_URL);
  }
  b64("\xfb\xff", 2, "+/8=", DORM_B64_STD);
  b64("\xfb\xff", 2, "-_8=", DORM_B64_URL);
  b64("\xff\xff\xfe", 3, "///+", DORM_B64_STD);
  b64("\xff\xff\xfe", 3, "___-", DORM_B64_URL);
  /* DynamORM's golden pagination cursor (contract fixture, Apache-2.0): URL-safe with padding. */
  const char *cursor_json =
      "{\"lastKey\":{\"PK\":{\"S\":\"USER#1\"},\"SK\":{\"S\":\"PROFILE\"}},\"index\":\"gsi-email\",\"sort\":\"ASC\"}";
  b64(cursor_json, strlen(cursor_json),
      "eyJsYXN0S2V5Ijp7IlBLIjp7IlMiOiJVU0VSIzEifSwiU0siOnsiUyI6IlBST0ZJTEUifX0sImluZGV4IjoiZ3NpLWVtYWlsIiwic29ydCI6IkFTQyJ9",
      DORM_B64_URL);

  const struct { const char *in; dorm_b64_alphabet a; size_t bad; } rej[] = {
    {"Zg=", DORM_B64_STD, 3}, {"Zg", DORM_B64_STD, 2}, {"Zm9v\n", DORM_B64_STD, 5}, {"Zm9v Zg==", DORM_B64_STD, 9},
    {"Z===", DORM_B64_STD, 1}, {"Zh==", DORM_B64_STD, 1}, {"Zm9=", DORM_B64_STD, 2}, {"=Zg=", DORM_B64_STD, 0},
    {"Zg==Zg==", DORM_B64_STD, 2}, {"Zg=a", DORM_B64_STD, 2}, {"-_8=", DORM_B64_STD, 0}, {"+/8=", DORM_B64_URL, 0},
    {"Zm9\x80", DORM_B64_STD, 3}};
  for (size_t i = 0; i < sizeof rej / sizeof *rej; i++) {
    uint8_t out[16];
    size_t n = 0, bad = 999;
    if (dorm__b64_decode(rej[i].in, strlen(rej[i].in), out, &n, rej[i].a, &bad)) fail_msg("accepted %s", rej[i].in);
    if (bad != rej[i].bad) fail_msg("%s: bad offset %zu, want %zu", rej[i].in, bad, rej[i].bad);
  }
}

static void utf8_validator(void **state) {
  (void)state;
  const char *good[] = {"", "ascii", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
                        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "0123456789abcdef\xc3\xa9"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    assert_true(dorm__utf8_valid(good[i], strlen(good[i]), NULL));
  const struct { const char *s; size_t off; } bad[] = {
    {"\x80", 0}, {"ab\xc0\x80", 2}, {"\xc1\xbf", 0}, {"\xe0\x80\x80", 0}, {"\xed\xa0\x80", 0},
    {"\xf0\x80\x80\x80", 0}, {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0}, {"\xff", 0},
    {"abcdefghij\xe2\x82", 10}, {"\xc3", 0}, {"\xe2\x28\xa1", 0}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t off = 99;
    assert_false(dorm__utf8_valid(bad[i].s, strlen(bad[i].s), &off));
    assert_int_equal(off, bad[i].off);
  }
}

/* ---- containers ---- */

static dorm_av order_item(void) {
  dorm_av item = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &item, "pk", 2) = dorm_av_str("CUSTOMER#1");
  *dorm_av_map_add(&A, &item, "total", 5) = dorm_av_num("12.50");
  *dorm_av_map_add(&A, &item, "paid", 4) = dorm_av_bool(true);
  *dorm_av_map_add(&A, &item, "note", 4) = dorm_av_null();
  dorm_av *tags = dorm_av_map_add(&A, &item, "tags", 4);
  *tags = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&A, tags, "a", 1);
  dorm_av_set_add(&A, tags, "b", 1);
  dorm_av *ns = dorm_av_map_add(&A, &item, "sizes", 5);
  *ns = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(&A, ns, "1", 1);
  dorm_av_set_add(&A, ns, "2.5", 3);
  dorm_av *bs = dorm_av_map_add(&A, &item, "blobs", 5);
  *bs = dorm_av_empty(DORM_AV_BS);
  dorm_av_set_add(&A, bs, "\x00\x01", 2);
  dorm_av *lines = dorm_av_map_add(&A, &item, "lines", 5);
  *lines = dorm_av_empty(DORM_AV_L);
  for (int i = 0; i < 2; i++) {
    dorm_av *line = dorm_av_list_push(&A, lines);
    *line = dorm_av_empty(DORM_AV_M);
    *dorm_av_map_add(&A, line, "sku", 3) = dorm_av_str(i ? "B-2" : "A-1");
    *dorm_av_map_add(&A, line, "qty", 3) = dorm_av_num(i ? "3" : "1");
  }
  *dorm_av_map_add(&A, &item, "empty_list", 10) = dorm_av_empty(DORM_AV_L);
  *dorm_av_map_add(&A, &item, "empty_map", 9) = dorm_av_empty(DORM_AV_M);
  return item;
}

static const char ORDER_JSON[] =
    "{\"pk\":{\"S\":\"CUSTOMER#1\"},\"total\":{\"N\":\"12.50\"},\"paid\":{\"BOOL\":true},\"note\":{\"NULL\":true},"
    "\"tags\":{\"SS\":[\"a\",\"b\"]},\"sizes\":{\"NS\":[\"1\",\"2.5\"]},\"blobs\":{\"BS\":[\"AAE=\"]},"
    "\"lines\":{\"L\":[{\"M\":{\"sku\":{\"S\":\"A-1\"},\"qty\":{\"N\":\"1\"}}},"
    "{\"M\":{\"sku\":{\"S\":\"B-2\"},\"qty\":{\"N\":\"3\"}}}]},"
    "\"empty_list\":{\"L\":[]},\"empty_map\":{\"M\":{}}}";

static void nested_item_roundtrip(void **state) {
  (void)state;
  dorm_av item = order_item();
  const char *json;
  size_t len;
  assert_int_equal(dorm_item_to_json(&item, &A, 0, &json, &len, err, sizeof err), DORM_OK);
  assert_string_equal(json, ORDER_JSON); /* insertion order, deterministic */
  dorm_jw w;
  dorm__jw_init(&w, 0);
  assert_int_equal(dorm__jw_check_item(&w, &item, "Item"), DORM_OK); /* every type, nothing written */
  assert_int_equal(w.len, 0);
  /* The check's size bound (dorm_batch_write sizes the item again only past
   * the limit) is never below DynamoDB's size, on every type. */
  size_t size = 0;
  assert_int_equal(dorm_item_size(&item, &size), DORM_OK);
  assert_true(w.size_bound >= size);
  assert_true(w.size_bound <= 8 * size);
  for (size_t i = 0; i < item.u.map.count; i++) {
    dorm_av one = {.type = DORM_AV_M, .u.map = {.items = &item.u.map.items[i], .count = 1, .cap = 1}};
    dorm__jw_reset(&w);
    assert_int_equal(dorm__jw_check_item(&w, &one, "Item"), DORM_OK);
    assert_int_equal(dorm_item_size(&one, &size), DORM_OK);
    if (w.size_bound < size) fail_msg("member %zu: bound %zu below size %zu", i, w.size_bound, size);
  }
  dorm__jw_reset(&w);
  /* A checked item written without validating its numbers again: the same text. */
  dorm__jw_item_checked(&w, &item, "Item");
  const char *text;
  size_t tlen;
  assert_int_equal(dorm__jw_finish(&w, &text, &tlen), DORM_OK);
  assert_string_equal(text, ORDER_JSON);
  /* and only that call skips them: the next write validates again. */
  dorm__jw_reset(&w);
  dorm_av bad = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &bad, "n", 1) = dorm_av_num("1..2");
  dorm__jw_item(&w, &bad, "Item");
  assert_int_equal(w.status, DORM_ERR_INVALID_ARGUMENT);
  dorm__jw_free(&w);
  dorm_av back;
  assert_int_equal(dorm_item_from_json(json, len, &A, &back, err, sizeof err), DORM_OK);
  assert_true(dorm_av_equal(&item, &back));
  /* The same item in M form round-trips too. */
  dorm_av wrapped = item;
  const char *mjson;
  assert_int_equal(dorm_av_to_json(&wrapped, &A, 0, &mjson, NULL, err, sizeof err), DORM_OK);
  assert_memory_equal(mjson, "{\"M\":{\"pk\"", 10);
  /* Equality: order-insensitive for maps and sets, numeric for N. */
  const char *other = "{\"sizes\":{\"NS\":[\"2.50\",\"1\"]},\"tags\":{\"SS\":[\"b\",\"a\"]},\"pk\":{\"S\":\"CUSTOMER#1\"},"
                      "\"total\":{\"N\":\"1.25E1\"},\"paid\":{\"BOOL\":true},\"note\":{\"NULL\":true},"
                      "\"blobs\":{\"BS\":[\"AAE=\"]},\"lines\":{\"L\":[{\"M\":{\"qty\":{\"N\":\"1\"},\"sku\":{\"S\":\"A-1\"}}},"
                      "{\"M\":{\"sku\":{\"S\":\"B-2\"},\"qty\":{\"N\":\"3\"}}}]},\"empty_map\":{\"M\":{}},\"empty_list\":{\"L\":[]}}";
  assert_int_equal(dorm_item_from_json(other, strlen(other), &A, &back, err, sizeof err), DORM_OK);
  assert_true(dorm_av_equal(&item, &back));
  back.u.map.items[0].value.u.set.items[0] = dorm_str_of("2.51");
  assert_false(dorm_av_equal(&item, &back));
  /* A set or map built with an element or name twice is not equal to one
   * holding another beside it, whichever side it is on (it was, one way). */
  dorm_av twice = dorm_av_empty(DORM_AV_SS), ab = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&A, &twice, "a", 1);
  dorm_av_set_add(&A, &twice, "a", 1);
  dorm_av_set_add(&A, &ab, "a", 1);
  dorm_av_set_add(&A, &ab, "b", 1);
  assert_false(dorm_av_equal(&twice, &ab));
  assert_false(dorm_av_equal(&ab, &twice));
  dorm_av xx = dorm_av_empty(DORM_AV_M), xy = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &xx, "x", 1) = dorm_av_str("1");
  *dorm_av_map_add(&A, &xx, "x", 1) = dorm_av_str("1");
  *dorm_av_map_add(&A, &xy, "x", 1) = dorm_av_str("1");
  *dorm_av_map_add(&A, &xy, "y", 1) = dorm_av_str("1");
  assert_false(dorm_av_equal(&xx, &xy));
  assert_false(dorm_av_equal(&xy, &xx));
  /* A deep copy is independent of the source and equal to it. */
  dorm_av copy;
  assert_int_equal(dorm_av_copy(&A, &item, &copy), DORM_OK);
  assert_true(dorm_av_equal(&item, &copy));
  assert_ptr_not_equal(copy.u.map.items[0].value.u.s.ptr, item.u.map.items[0].value.u.s.ptr);
}

/* Members whose name and value need no escaping take the writer's one-go
 * path; the others (escapes, UTF-8, control bytes, other types) the general one. Both
 * must give the same text, in order, with commas where they belong. */
static void member_paths_agree(void **state) {
  (void)state;
  dorm_av item = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &item, "a", 1) = dorm_av_str("plain");
  *dorm_av_map_add(&A, &item, "q", 1) = dorm_av_str("say \"hi\"\n");
  *dorm_av_map_add(&A, &item, "u", 1) = dorm_av_str("caf\xc3\xa9");
  *dorm_av_map_add(&A, &item, "n", 1) = dorm_av_num("1.50");
  *dorm_av_map_add(&A, &item, "e\"k", 3) = dorm_av_str("x");
  *dorm_av_map_add(&A, &item, "big", 3) = dorm_av_num("1E+3");
  *dorm_av_map_add(&A, &item, "ctl", 3) = dorm_av_strn("\1", 1);
  *dorm_av_map_add(&A, &item, "t", 1) = dorm_av_bool(true);
  *dorm_av_map_add(&A, &item, "z", 1) = dorm_av_str("0123456789abcdefghij");
  const char *json;
  assert_int_equal(dorm_item_to_json(&item, &A, 0, &json, NULL, err, sizeof err), DORM_OK);
  assert_string_equal(json, "{\"a\":{\"S\":\"plain\"},\"q\":{\"S\":\"say \\\"hi\\\"\\n\"},\"u\":{\"S\":\"caf\xc3\xa9\"},"
                            "\"n\":{\"N\":\"1.50\"},\"e\\\"k\":{\"S\":\"x\"},\"big\":{\"N\":\"1E+3\"},"
                            "\"ctl\":{\"S\":\"\\u0001\"},\"t\":{\"BOOL\":true},\"z\":{\"S\":\"0123456789abcdefghij\"}}");
  /* An invalid number fails on either path with the general path's message. */
  *dorm_av_map_add(&A, &item, "bad", 3) = dorm_av_num("1..2");
  write_fails(&item, DORM_ERR_INVALID_ARGUMENT, "bad: invalid number \"1..2\"");
}

/* The writer's and the check's word paths (a string under 8 bytes judged
 * as one word, a longer one's tail as a last overlapping word) at every
 * length up to 24 and every position of one byte that is not plain: a name,
 * a member's value, a set element, a list element, a request's key and
 * string each give the text the escaper gives (or its refusal), and the
 * check agrees with the writer. */
static void word_paths_every_length_and_position(void **state) {
  (void)state;
  static const char specials[] = {'y', '"', '\\', '\1', '\x1f', '\x7f', '\0', '\x80', '\xff'};
  for (size_t len = 1; len <= 24; len++)
    for (size_t pos = 0; pos < len; pos++)
      for (size_t k = 0; k < sizeof specials; k++) {
        char c = specials[k], s[32];
        memset(s, 'x', len);
        s[pos] = c;
        char esc[8] = {c, 0};
        if (c == '"' || c == '\\') snprintf(esc, sizeof esc, "\\%c", c);
        else if ((unsigned char)c < 0x20) snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
        char body[64];
        snprintf(body, sizeof body, "%.*s%s%.*s", (int)pos, s, esc, (int)(len - pos - 1), s + pos + 1);
        bool nul = c == '\0', bad = (unsigned char)c >= 0x80;
        char want[160], why[96];
        if (nul) snprintf(why, sizeof why, "contains U+0000 (a NUL byte at byte %zu)", pos);
        else snprintf(why, sizeof why, "string is not valid UTF-8 (byte %zu)", pos);
        /* A request's own keys and strings (dorm__jw_keyn, _stringn): U+0000
         * is escaped there, not refused. */
        dorm_jw kw;
        dorm__jw_init(&kw, 0);
        dorm__jw_begin_object(&kw);
        dorm__jw_keyn(&kw, s, len);
        dorm__jw_stringn(&kw, s, len);
        dorm__jw_end_object(&kw);
        const char *kout;
        if (bad) {
          assert_int_equal(dorm__jw_finish(&kw, &kout, NULL), DORM_ERR_INVALID_ARGUMENT);
        } else {
          assert_int_equal(dorm__jw_finish(&kw, &kout, NULL), DORM_OK);
          snprintf(want, sizeof want, "{\"%s\":\"%s\"}", body, body);
          assert_string_equal(kout, want);
        }
        dorm__jw_free(&kw);
        dorm_av items[4];
        for (int v = 0; v < 4; v++) items[v] = dorm_av_empty(DORM_AV_M);
        *dorm_av_map_add(&A, &items[0], "s", 1) = dorm_av_strn(s, len);
        *dorm_av_map_add(&A, &items[1], s, len) = dorm_av_str("v");
        dorm_av *ss = dorm_av_map_add(&A, &items[2], "ss", 2);
        *ss = dorm_av_empty(DORM_AV_SS);
        dorm_av_set_add(&A, ss, "ok", 2);
        dorm_av_set_add(&A, ss, s, len);
        dorm_av *l = dorm_av_map_add(&A, &items[3], "l", 1);
        *l = dorm_av_empty(DORM_AV_L);
        *dorm_av_list_push(&A, l) = dorm_av_strn(s, len);
        for (int v = 0; v < 4; v++) {
          if (nul || bad) {
            if (v == 1) write_fails(&items[v], DORM_ERR_INVALID_ARGUMENT,
                                    nul ? "attribute name contains U+0000" : "attribute name is not valid UTF-8");
            else write_fails(&items[v], DORM_ERR_INVALID_ARGUMENT, why);
            continue;
          }
          if (v == 0) snprintf(want, sizeof want, "{\"s\":{\"S\":\"%s\"}}", body);
          else if (v == 1) snprintf(want, sizeof want, "{\"%s\":{\"S\":\"v\"}}", body);
          else if (v == 2) snprintf(want, sizeof want, "{\"ss\":{\"SS\":[\"ok\",\"%s\"]}}", body);
          else snprintf(want, sizeof want, "{\"l\":{\"L\":[{\"S\":\"%s\"}]}}", body);
          const char *json;
          assert_int_equal(dorm_item_to_json(&items[v], &A, 0, &json, NULL, err, sizeof err), DORM_OK);
          assert_string_equal(json, want);
          dorm_jw w;
          dorm__jw_init(&w, 0);
          assert_int_equal(dorm__jw_check_item(&w, &items[v], NULL), DORM_OK);
          dorm__jw_free(&w);
        }
      }
}

static void builders_and_getters(void **state) {
  (void)state;
  dorm_av m = dorm_av_empty(DORM_AV_M);
  char names[1000][8];
  for (int i = 0; i < 1000; i++) {
    snprintf(names[i], sizeof names[i], "k%d", i);
    dorm_av *slot = dorm_av_map_add(&A, &m, names[i], strlen(names[i]));
    assert_non_null(slot);
    assert_int_equal(dorm_av_num_i64(&A, i, slot), DORM_OK);
  }
  assert_int_equal(m.u.map.count, 1000);
  int64_t v;
  assert_int_equal(dorm_av_get_i64(dorm_av_map_get(&m, "k777"), &v), DORM_OK);
  assert_int_equal(v, 777);
  assert_int_equal(dorm_av_map_set(&A, &m, "k777", dorm_av_str("replaced")), DORM_OK);
  assert_int_equal(m.u.map.count, 1000);
  dorm_str s;
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&m, "k777"), &s), DORM_OK);
  assert_memory_equal(s.ptr, "replaced", 8);
  assert_int_equal(dorm_av_map_set(&A, &m, "new", dorm_av_bool(false)), DORM_OK);
  assert_int_equal(m.u.map.count, 1001);
  assert_string_equal(m.u.map.items[1000].name.ptr, "new");
  /* getters: absent, wrong type */
  assert_null(dorm_av_map_get(&m, "missing"));
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&m, "missing"), &s), DORM_ERR_NOT_FOUND);
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&m, "k1"), &s), DORM_ERR_SCHEMA_MISMATCH);
  bool b = true;
  assert_int_equal(dorm_av_get_bool(dorm_av_map_get(&m, "new"), &b), DORM_OK);
  assert_false(b);
  assert_int_equal(dorm_av_get_null(dorm_av_map_get(&m, "new")), DORM_ERR_SCHEMA_MISMATCH);
  dorm_av nul = dorm_av_null();
  assert_int_equal(dorm_av_get_null(&nul), DORM_OK);
  const dorm_av_entry *entries;
  size_t count;
  assert_int_equal(dorm_av_get_map(&m, &entries, &count), DORM_OK);
  assert_int_equal(count, 1001);
  const dorm_av *items;
  assert_int_equal(dorm_av_get_list(&m, &items, &count), DORM_ERR_SCHEMA_MISMATCH);
  const dorm_str *els;
  dorm_av ss = dorm_av_empty(DORM_AV_SS);
  assert_int_equal(dorm_av_set_add(&A, &ss, "x", 1), DORM_OK);
  assert_int_equal(dorm_av_get_set(&ss, DORM_AV_SS, &els, &count), DORM_OK);
  assert_int_equal(count, 1);
  assert_int_equal(dorm_av_get_set(&ss, DORM_AV_NS, &els, &count), DORM_ERR_SCHEMA_MISMATCH);
  /* builders refuse the wrong container */
  dorm_av str = dorm_av_str("x");
  assert_null(dorm_av_map_add(&A, &str, "a", 1));
  assert_null(dorm_av_list_push(&A, &str));
  assert_int_equal(dorm_av_set_add(&A, &str, "a", 1), DORM_ERR_INVALID_ARGUMENT);
  assert_int_equal(dorm_av_reserve(&A, &str, 3), DORM_ERR_INVALID_ARGUMENT);
  assert_string_equal(dorm_av_type_name(DORM_AV_BS), "BS");
  assert_string_equal(dorm_av_type_name(DORM_AV_INVALID), "?");
  dorm_av c;
  assert_int_equal(dorm_av_str_copy(&A, "a\0b", 3, &c), DORM_OK);
  assert_int_equal(c.u.s.len, 3);
  assert_memory_equal(c.u.s.ptr, "a\0b", 4);
}

static void write_rejects_bad_values(void **state) {
  (void)state;
  dorm_av item = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &item, "tags", 4) = dorm_av_empty(DORM_AV_SS);
  write_fails(&item, DORM_ERR_INVALID_ARGUMENT, "tags: a set cannot be empty");
  dorm_av item2 = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &item2, "x", 1) = dorm_av_empty(DORM_AV_INVALID);
  write_fails(&item2, DORM_ERR_INVALID_ARGUMENT, "x: value has no valid type");
  dorm_av item3 = dorm_av_empty(DORM_AV_M);
  dorm_av *ns = dorm_av_map_add(&A, &item3, "ns", 2);
  *ns = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(&A, ns, "1", 1);
  dorm_av_set_add(&A, ns, "x", 1);
  write_fails(&item3, DORM_ERR_INVALID_ARGUMENT, "ns[1]: invalid number \"x\"");
  dorm_av notmap = dorm_av_str("x");
  write_fails(&notmap, DORM_ERR_INVALID_ARGUMENT, "must be a map");
  /* U+0000 is refused in strings, set elements and names, short or long,
   * at any position (libdorm's reader cannot return it); bytes may hold it. */
  static const char *nul_texts[] = {"a\0b", "\0", "abcdefgh\0", "0123456789abcdef0123456\0"};
  static const size_t nul_lens[] = {3, 1, 9, 24};
  for (size_t i = 0; i < 4; i++) {
    char want[64];
    snprintf(want, sizeof want, "contains U+0000 (a NUL byte at byte %zu)", nul_lens[i] == 3 ? (size_t)1 : nul_lens[i] - 1);
    dorm_av n1 = dorm_av_empty(DORM_AV_M);
    *dorm_av_map_add(&A, &n1, "s", 1) = dorm_av_strn(nul_texts[i], nul_lens[i]);
    write_fails(&n1, DORM_ERR_INVALID_ARGUMENT, want);
    write_fails(&n1, DORM_ERR_INVALID_ARGUMENT, "s: string contains U+0000");
    dorm_av n2 = dorm_av_empty(DORM_AV_M);
    *dorm_av_map_add(&A, &n2, nul_texts[i], nul_lens[i]) = dorm_av_str("v");
    write_fails(&n2, DORM_ERR_INVALID_ARGUMENT, "attribute name contains U+0000");
    dorm_av n3 = dorm_av_empty(DORM_AV_M);
    dorm_av *ss = dorm_av_map_add(&A, &n3, "ss", 2);
    *ss = dorm_av_empty(DORM_AV_SS);
    dorm_av_set_add(&A, ss, "ok", 2);
    dorm_av_set_add(&A, ss, nul_texts[i], nul_lens[i]);
    write_fails(&n3, DORM_ERR_INVALID_ARGUMENT, "ss[1]: string contains U+0000");
    dorm_av n4 = dorm_av_empty(DORM_AV_M);
    *dorm_av_map_add(&A, &n4, "b", 1) = dorm_av_bytes(nul_texts[i], nul_lens[i]);
    const char *json;
    assert_int_equal(dorm_item_to_json(&n4, &A, 0, &json, NULL, err, sizeof err), DORM_OK);
  }
  /* NUL and invalid UTF-8 in one string: the first one is reported, by the
   * writer and the checker alike (write_fails compares their messages). */
  dorm_av mix = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &mix, "s", 1) = dorm_av_strn("ab\xff\0", 4);
  write_fails(&mix, DORM_ERR_INVALID_ARGUMENT, "s: string is not valid UTF-8 (byte 2)");
  mix.u.map.items[0].value = dorm_av_strn("ab\0\xff", 4);
  write_fails(&mix, DORM_ERR_INVALID_ARGUMENT, "s: string contains U+0000 (a NUL byte at byte 2)");
  mix.u.map.items[0].value = dorm_av_strn("caf\xc3\xa9\0", 6);
  write_fails(&mix, DORM_ERR_INVALID_ARGUMENT, "s: string contains U+0000 (a NUL byte at byte 5)");
  /* Names: "" is refused at any depth. */
  dorm_av en = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &en, "", 0) = dorm_av_str("v");
  write_fails(&en, DORM_ERR_INVALID_ARGUMENT, "attribute name is empty");
  dorm_av en2 = dorm_av_empty(DORM_AV_M);
  dorm_av *inner = dorm_av_map_add(&A, &en2, "m", 1);
  *inner = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, inner, "ok", 2) = dorm_av_num("1");
  *dorm_av_map_add(&A, inner, "", 0) = dorm_av_num("1");
  write_fails(&en2, DORM_ERR_INVALID_ARGUMENT, "m: attribute name is empty");
  /* ... and names of 64 KB or more; 65,535 bytes are fine. */
  char *longname = dorm_arena_alloc(&A, 65536);
  memset(longname, 'n', 65536);
  dorm_av ln = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &ln, longname, 65536) = dorm_av_str("v");
  write_fails(&ln, DORM_ERR_INVALID_ARGUMENT, "attribute name is 65536 bytes; DynamoDB allows less than 64 KB");
  ln.u.map.items[0].name.len = 65535;
  const char *lj;
  assert_int_equal(dorm_item_to_json(&ln, &A, 0, &lj, NULL, err, sizeof err), DORM_OK);
  /* Sets: no element twice (numbers by value), small and large sets. */
  static const struct { dorm_av_type t; const char *a, *b; } dups[] = {
      {DORM_AV_SS, "a", "a"}, {DORM_AV_NS, "1", "1.0"}, {DORM_AV_NS, "-0", "0"}, {DORM_AV_NS, "1E+2", "100"},
      {DORM_AV_BS, "\1\2", "\1\2"}};
  for (size_t big = 0; big <= 1; big++)
    for (size_t i = 0; i < sizeof dups / sizeof *dups; i++) {
      dorm_av it = dorm_av_empty(DORM_AV_M);
      dorm_av *set = dorm_av_map_add(&A, &it, "set", 3);
      *set = dorm_av_empty(dups[i].t);
      size_t n = big ? 40 : 3, at_a = big ? 7 : 0, at_b = big ? 33 : 2;
      for (size_t k = 0; k < n; k++) {
        char *e = dorm_arena_alloc(&A, 16);
        snprintf(e, 16, "%zu", 1000 + k);
        if (k == at_a) e = (char *)dups[i].a;
        if (k == at_b) e = (char *)dups[i].b;
        dorm_av_set_add(&A, set, e, dups[i].t == DORM_AV_BS && (k == at_a || k == at_b) ? 2 : strlen(e));
      }
      char want[80];
      snprintf(want, sizeof want, "set[%zu]: the same element as [%zu]", at_b, at_a);
      write_fails(&it, DORM_ERR_INVALID_ARGUMENT, want);
      /* Without the duplicate the set is written. */
      set->u.set.items[at_b] = dorm_str_of(dups[i].t == DORM_AV_NS ? "77" : "zz");
      const char *json;
      assert_int_equal(dorm_item_to_json(&it, &A, 0, &json, NULL, err, sizeof err), DORM_OK);
    }
  /* DynamoDB's 32 levels count the attribute as level 1: its value may be
   * wrapped in 31 lists, not 32 (test_it_limits shows DynamoDB Local agrees). */
  dorm_av levels[40];
  for (int depth = 31; depth <= 32; depth++) {
    levels[depth] = dorm_av_str("leaf");
    for (int i = depth - 1; i >= 0; i--) {
      levels[i] = dorm_av_empty(DORM_AV_L);
      levels[i].u.list.items = &levels[i + 1];
      levels[i].u.list.count = 1;
    }
    dorm_av deep = dorm_av_empty(DORM_AV_M);
    *dorm_av_map_add(&A, &deep, "d", 1) = levels[0];
    const char *json;
    dorm_status st = dorm_item_to_json(&deep, &A, 0, &json, NULL, err, sizeof err);
    assert_int_equal(st, depth == 31 ? DORM_OK : DORM_ERR_INVALID_ARGUMENT);
    if (depth == 32) assert_non_null(strstr(err, "nested deeper than 32 levels"));
  }
}

/* ---- reader strictness ---- */

static void reader_rejects_wrong_shapes(void **state) {
  (void)state;
  read_fails("{\"S\":1}", DORM_ERR_BAD_RESPONSE, "an S value must be a JSON string");
  read_fails("{\"S\":null}", DORM_ERR_BAD_RESPONSE, "an S value must be a JSON string");
  read_fails("{\"Q\":\"x\"}", DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type \"Q\"");
  read_fails("{\"s\":\"x\"}", DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type \"s\"");
  read_fails("{\"SSS\":[\"x\"]}", DORM_ERR_BAD_RESPONSE, "unknown AttributeValue type");
  read_fails("{\"S\":\"a\",\"N\":\"1\"}", DORM_ERR_BAD_RESPONSE, "more than one type key (\"S\", \"N\")");
  read_fails("{\"S\":\"a\",\"S\":\"b\"}", DORM_ERR_BAD_RESPONSE, "more than one type key");
  read_fails("{}", DORM_ERR_BAD_RESPONSE, "no type key");
  read_fails("\"x\"", DORM_ERR_BAD_RESPONSE, "must be an object");
  read_fails("[]", DORM_ERR_BAD_RESPONSE, "must be an object");
  read_fails("{\"NULL\":false}", DORM_ERR_BAD_RESPONSE, "NULL value must be true");
  read_fails("{\"BOOL\":\"true\"}", DORM_ERR_BAD_RESPONSE, "BOOL value must be true or false");
  read_fails("{\"SS\":[]}", DORM_ERR_BAD_RESPONSE, "SS value must not be empty");
  read_fails("{\"SS\":\"a\"}", DORM_ERR_BAD_RESPONSE, "SS value must be a JSON array");
  read_fails("{\"SS\":[\"a\",1]}", DORM_ERR_BAD_RESPONSE, "[1]: an SS element must be a JSON string");
  read_fails("{\"NS\":[\"1\",\"x\"]}", DORM_ERR_BAD_RESPONSE, "[1]: N value \"x\" is not a valid number");
  read_fails("{\"BS\":[\"AA==\",\"A\"]}", DORM_ERR_BAD_RESPONSE, "[1]: B value is not valid base64");
  read_fails("{\"L\":{}}", DORM_ERR_BAD_RESPONSE, "L value must be a JSON array");
  read_fails("{\"M\":[]}", DORM_ERR_BAD_RESPONSE, "M value must be a JSON object");
  read_fails("{\"M\":{\"a\":{\"S\":\"x\"},\"a\":{\"S\":\"y\"}}}", DORM_ERR_BAD_RESPONSE, "a: attribute appears twice");
  read_fails("{\"S\":\"x\"", DORM_ERR_BAD_RESPONSE, "malformed JSON at byte");
  read_fails("{\"S\":\"x\"} x", DORM_ERR_BAD_RESPONSE, "unexpected data after the JSON value at byte 10");
  read_fails("", DORM_ERR_BAD_RESPONSE, "empty JSON body");
  /* The path names where the problem is. */
  read_fails("{\"M\":{\"order\":{\"M\":{\"lines\":{\"L\":[{\"N\":\"1\"},{\"M\":{\"qty\":{\"N\":\"x\"}}}]}}}}}",
             DORM_ERR_BAD_RESPONSE, "order.lines[1].qty: N value \"x\"");
  /* Trailing whitespace is fine; input need not be NUL-terminated. */
  dorm_av v;
  const char buf[] = {'{', '"', 'S', '"', ':', '"', 'x', '"', '}', ' ', '\n', 'Z'};
  assert_int_equal(dorm_av_from_json(buf, 11, &A, &v, err, sizeof err), DORM_OK);
  assert_string_equal(v.u.s.ptr, "x");
}

/* Duplicate names are found in small (pairwise), typical (hash) and huge (sorted) maps. */
static void reader_rejects_duplicate_names(void **state) {
  (void)state;
  const size_t sizes[] = {3, 20, 600};
  for (size_t s = 0; s < 3; s++) {
    size_t n = sizes[s];
    char *j = malloc(n * 32 + 16);
    size_t o = (size_t)sprintf(j, "{\"M\":{");
    for (size_t i = 0; i < n; i++) o += (size_t)sprintf(j + o, "%s\"k%zu\":{\"NULL\":true}", i ? "," : "", i);
    strcpy(j + o, "}}");
    dorm_av v;
    assert_int_equal(dorm_av_from_json(j, strlen(j), &A, &v, err, sizeof err), DORM_OK);
    assert_int_equal(v.u.map.count, n);
    /* Repeat the middle name at the end. */
    sprintf(j + o, ",\"k%zu\":{\"NULL\":true}}}", n / 2);
    char want[64];
    snprintf(want, sizeof want, "k%zu: attribute appears twice", n / 2);
    read_fails(j, DORM_ERR_BAD_RESPONSE, want);
    free(j);
  }
}

static void reader_depth_limits(void **state) {
  (void)state;
  /* Beyond cJSON's nesting limit: a clean error, no crash. */
  size_t n = 5000;
  char *deep = malloc(2 * n + 1);
  memset(deep, '[', n);
  memset(deep + n, ']', n);
  deep[2 * n] = '\0';
  read_fails(deep, DORM_ERR_BAD_RESPONSE, "malformed JSON");
  free(deep);
  /* Within cJSON's limit but deeper than any DynamoDB value. */
  char *lj = malloc(100 * 8 + 64);
  size_t o = 0;
  for (int i = 0; i < 100; i++) o += (size_t)sprintf(lj + o, "{\"L\":[");
  o += (size_t)sprintf(lj + o, "{\"NULL\":true}");
  for (int i = 0; i < 100; i++) o += (size_t)sprintf(lj + o, "]}");
  read_fails(lj, DORM_ERR_BAD_RESPONSE, "nested deeper than 64 levels");
  free(lj);
  /* A broken escape at the bottom of cJSON's deepest nesting is still named. */
  size_t d = 990;
  char *be = malloc(2 * d + 16);
  memset(be, '[', d);
  memcpy(be + d, "\"\\u0000\"", 8);
  memset(be + d + 8, ']', d);
  be[2 * d + 8] = '\0';
  cJSON *root = NULL;
  assert_int_equal(dorm__json_parse(be, strlen(be), &root, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  assert_null(root);
  assert_non_null(strstr(err, "[0][0][0]"));
  assert_non_null(strstr(err, "a string contains U+0000"));
  free(be);
}

static void response_members(void **state) {
  (void)state;
  const char *body = "{\"Items\":[{\"pk\":{\"S\":\"a\"}},{\"pk\":{\"S\":\"b\"},\"n\":{\"N\":\"2\"}}],"
                     "\"Count\":2,\"LastEvaluatedKey\":{\"pk\":{\"S\":\"b\"}}}";
  cJSON *root;
  assert_int_equal(dorm__json_parse(body, strlen(body), &root, err, sizeof err), DORM_OK);
  dorm_av *items;
  size_t count;
  assert_int_equal(dorm__json_member_items(root, "Items", &A, &items, &count, err, sizeof err), DORM_OK);
  assert_int_equal(count, 2);
  dorm_str s;
  assert_int_equal(dorm_av_get_s(dorm_av_map_get(&items[1], "pk"), &s), DORM_OK);
  assert_string_equal(s.ptr, "b");
  dorm_av lek;
  bool found;
  assert_int_equal(dorm__json_member_item(root, "LastEvaluatedKey", &A, &lek, &found, err, sizeof err), DORM_OK);
  assert_true(found);
  assert_int_equal(lek.u.map.count, 1);
  assert_int_equal(dorm__json_member_item(root, "Item", &A, &lek, &found, err, sizeof err), DORM_OK);
  assert_false(found);
  assert_int_equal(lek.type, DORM_AV_M);
  assert_int_equal(lek.u.map.count, 0);
  assert_int_equal(dorm__json_member_items(root, "Missing", &A, &items, &count, err, sizeof err), DORM_OK);
  assert_int_equal(count, 0);
  cJSON_Delete(root);

  const char *bad = "{\"Items\":[{\"pk\":{\"S\":\"a\"}},{\"pk\":{\"S\":7}}],\"Item\":[1]}";
  assert_int_equal(dorm__json_parse(bad, strlen(bad), &root, err, sizeof err), DORM_OK);
  assert_int_equal(dorm__json_member_items(root, "Items", &A, &items, &count, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  assert_string_equal(err, "Items[1].pk: an S value must be a JSON string");
  assert_int_equal(dorm__json_member_item(root, "Item", &A, &lek, &found, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  assert_string_equal(err, "Item: expected an object of attributes");
  cJSON_Delete(root);
}

/* ---- writer ---- */

static void writer_primitives(void **state) {
  (void)state;
  dorm_jw w;
  dorm__jw_init(&w, 0);
  dorm__jw_begin_object(&w);
  dorm__jw_member_string(&w, "TableName", "orders");
  dorm__jw_member_int(&w, "Limit", INT64_MIN);
  dorm__jw_key(&w, "list");
  dorm__jw_begin_array(&w);
  dorm__jw_int(&w, 0);
  dorm__jw_bool(&w, true);
  dorm__jw_bool(&w, false);
  dorm__jw_null(&w);
  dorm__jw_begin_object(&w);
  dorm__jw_end_object(&w);
  dorm__jw_begin_array(&w);
  dorm__jw_end_array(&w);
  dorm__jw_raw_value(&w, "{\"raw\":1}", 9);
  dorm__jw_number_text(&w, "1.5e3", 5);
  dorm__jw_end_array(&w);
  dorm__jw_key(&w, "Item");
  dorm_av m = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &m, "k", 1) = dorm_av_str("v");
  dorm__jw_item(&w, &m, "Item");
  dorm__jw_key(&w, "one");
  dorm__jw_av(&w, &m.u.map.items[0].value, NULL);
  dorm__jw_end_object(&w);
  const char *out;
  size_t len;
  assert_int_equal(dorm__jw_finish(&w, &out, &len), DORM_OK);
  assert_string_equal(out, "{\"TableName\":\"orders\",\"Limit\":-9223372036854775808,"
                           "\"list\":[0,true,false,null,{},[],{\"raw\":1},1.5e3],"
                           "\"Item\":{\"k\":{\"S\":\"v\"}},\"one\":{\"S\":\"v\"}}");
  assert_int_equal(len, strlen(out));
  /* reset keeps the buffer: no reallocation for the next body */
  char *buf = w.buf;
  dorm__jw_reset(&w);
  dorm__jw_begin_object(&w);
  dorm__jw_end_object(&w);
  assert_int_equal(dorm__jw_finish(&w, &out, NULL), DORM_OK);
  assert_string_equal(out, "{}");
  assert_ptr_equal(w.buf, buf);
  /* an invalid key string fails the writer */
  dorm__jw_reset(&w);
  dorm__jw_begin_object(&w);
  dorm__jw_key(&w, "\xff");
  assert_int_equal(dorm__jw_finish(&w, NULL, NULL), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(w.err, "not valid UTF-8"));
  dorm__jw_free(&w);
}

static void writer_bound(void **state) {
  (void)state;
  dorm_jw w;
  dorm__jw_init(&w, 64);
  char big[200];
  memset(big, 'x', sizeof big);
  dorm__jw_begin_object(&w);
  dorm__jw_key(&w, "k");
  dorm__jw_stringn(&w, big, sizeof big);
  dorm__jw_end_object(&w); /* no-op after the failure */
  assert_int_equal(dorm_jw_status(&w), DORM_ERR_TOO_LARGE);
  const char *out = NULL;
  assert_int_equal(dorm__jw_finish(&w, &out, NULL), DORM_ERR_TOO_LARGE);
  assert_null(out); /* nothing partial is handed out */
  assert_non_null(strstr(w.err, "exceed 64 bytes"));
  /* Exactly at the bound is fine. */
  dorm__jw_reset(&w);
  dorm__jw_stringn(&w, big, 62);
  assert_int_equal(dorm__jw_finish(&w, &out, NULL), DORM_OK);
  assert_int_equal(strlen(out), 64);
  dorm__jw_reset(&w);
  dorm__jw_stringn(&w, big, 63);
  assert_int_equal(dorm__jw_finish(&w, &out, NULL), DORM_ERR_TOO_LARGE);
  dorm__jw_free(&w);
  /* Through the one-shot API: a big binary. */
  static unsigned char blob[100000];
  dorm_av b = dorm_av_bytes(blob, sizeof blob);
  const char *json;
  assert_int_equal(dorm_av_to_json(&b, &A, 1000, &json, NULL, err, sizeof err), DORM_ERR_TOO_LARGE);
  assert_int_equal(dorm_av_to_json(&b, &A, 0, &json, NULL, err, sizeof err), DORM_OK);
}

/* ---- item size ---- */

static void item_sizes(void **state) {
  (void)state;
  /* AWS docs: "shirt-color" = "R" and "shirt-size" = "M" is 23 bytes. */
  dorm_av shirt = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &shirt, "shirt-color", 11) = dorm_av_str("R");
  *dorm_av_map_add(&A, &shirt, "shirt-size", 10) = dorm_av_str("M");
  size_t n = 0;
  assert_int_equal(dorm_item_size(&shirt, &n), DORM_OK);
  assert_int_equal(n, 23);
  /* Per the AWS sizing rules, term by term. */
  dorm_av it = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &it, "s", 1) = dorm_av_str("h\xc3\xa9llo");       /* 1 + 6 */
  *dorm_av_map_add(&A, &it, "n", 1) = dorm_av_num("-00123.4500");       /* 1 + 1 + 01|23|45 + 1 (negative) -> 6 */
  *dorm_av_map_add(&A, &it, "b", 1) = dorm_av_bytes("\0\1\2", 3);        /* 1 + 3 */
  *dorm_av_map_add(&A, &it, "t", 1) = dorm_av_bool(true);               /* 1 + 1 */
  *dorm_av_map_add(&A, &it, "z", 1) = dorm_av_null();                   /* 1 + 1 */
  dorm_av *l = dorm_av_map_add(&A, &it, "l", 1);                        /* 1 + 3 + (1+2) + (1+2) = 10 */
  *l = dorm_av_empty(DORM_AV_L);
  *dorm_av_list_push(&A, l) = dorm_av_str("ab");
  *dorm_av_list_push(&A, l) = dorm_av_num("7");
  dorm_av *m = dorm_av_map_add(&A, &it, "m", 1);                        /* 1 + 3 + (1+3+1) = 9 */
  *m = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, m, "key", 3) = dorm_av_bool(false);
  *dorm_av_map_add(&A, &it, "e", 1) = dorm_av_empty(DORM_AV_M);        /* 1 + 3 */
  dorm_av *ss = dorm_av_map_add(&A, &it, "ss", 2);                      /* 2 + 1 + 2 */
  *ss = dorm_av_empty(DORM_AV_SS);
  dorm_av_set_add(&A, ss, "a", 1);
  dorm_av_set_add(&A, ss, "bc", 2);
  dorm_av *ns = dorm_av_map_add(&A, &it, "ns", 2);                      /* 2 + 2 + 2 ("1000" has one significant digit) */
  *ns = dorm_av_empty(DORM_AV_NS);
  dorm_av_set_add(&A, ns, "5", 1);
  dorm_av_set_add(&A, ns, "1000", 4);
  assert_int_equal(dorm_item_size(&it, &n), DORM_OK);
  assert_int_equal(n, 7 + 6 + 4 + 2 + 2 + 10 + 9 + 4 + 5 + 6);
  /* Items over 400 KB are detectable before sending. */
  static char big[DORM_ITEM_MAX_BYTES];
  memset(big, 'a', sizeof big);
  dorm_av huge = dorm_av_empty(DORM_AV_M);
  *dorm_av_map_add(&A, &huge, "data", 4) = dorm_av_strn(big, sizeof big);
  assert_int_equal(dorm_item_size(&huge, &n), DORM_OK);
  assert_true(n > DORM_ITEM_MAX_BYTES);
  dorm_av s = dorm_av_str("x");
  assert_int_equal(dorm_item_size(&s, &n), DORM_ERR_INVALID_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(strings_roundtrip, teardown),
    cmocka_unit_test_teardown(string_nul_is_refused_on_write, teardown),
    cmocka_unit_test_teardown(reader_unicode_escapes, teardown),
    cmocka_unit_test_teardown(reader_refuses_broken_u_escapes, teardown),
    cmocka_unit_test_teardown(invalid_utf8_rejected_on_write_with_path, teardown),
    cmocka_unit_test_teardown(number_validation, teardown),
    cmocka_unit_test_teardown(number_word_check_every_shape, teardown),
    cmocka_unit_test_teardown(numbers_roundtrip_and_reject, teardown),
    cmocka_unit_test_teardown(number_conversions, teardown),
    cmocka_unit_test_teardown(binary_all_bytes_roundtrip, teardown),
    cmocka_unit_test_teardown(base64_vectors, teardown),
    cmocka_unit_test_teardown(utf8_validator, teardown),
    cmocka_unit_test_teardown(nested_item_roundtrip, teardown),
    cmocka_unit_test_teardown(member_paths_agree, teardown),
    cmocka_unit_test_teardown(word_paths_every_length_and_position, teardown),
    cmocka_unit_test_teardown(builders_and_getters, teardown),
    cmocka_unit_test_teardown(write_rejects_bad_values, teardown),
    cmocka_unit_test_teardown(reader_rejects_wrong_shapes, teardown),
    cmocka_unit_test_teardown(reader_rejects_duplicate_names, teardown),
    cmocka_unit_test_teardown(reader_depth_limits, teardown),
    cmocka_unit_test_teardown(response_members, teardown),
    cmocka_unit_test_teardown(writer_primitives, teardown),
    cmocka_unit_test_teardown(writer_bound, teardown),
    cmocka_unit_test_teardown(item_sizes, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
