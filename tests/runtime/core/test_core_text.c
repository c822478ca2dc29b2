/* core's shared foundations: the text buffer (buf.c), hex, error messages and
 * JSON string escaping (text.c), UTC calendar arithmetic (civil.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core_internal.h"

/* ---- dorm__buf ---- */

static void buf_appends_and_stays_terminated(void **state) {
  (void)state;
  dorm__buf b = DORM__BUF_INIT;
  assert_null(b.p); /* nothing allocated yet */
  assert_string_equal(dorm__buf_text(&b), "");
  assert_true(dorm__buf_put(&b, "ab", 2));
  assert_true(dorm__buf_putc(&b, 'c'));
  assert_true(dorm__buf_puts(&b, "de"));
  assert_true(dorm__buf_printf(&b, "-%d-%s", 42, "x"));
  assert_string_equal(b.p, "abcde-42-x");
  assert_int_equal(b.len, 10);
  /* printf output longer than the free space grows the buffer */
  char big[3000];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_true(dorm__buf_printf(&b, "[%s]", big));
  assert_int_equal(b.len, 10 + 2 + 2999);
  assert_int_equal(b.p[b.len], '\0');
  assert_int_equal(b.p[11], 'y');
  assert_int_equal(b.p[b.len - 1], ']');
  /* reset keeps the memory */
  char *mem = b.p;
  dorm__buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(dorm__buf_text(&b), "");
  assert_true(dorm__buf_puts(&b, "again"));
  assert_ptr_equal(b.p, mem);
  dorm__buf_free(&b);
  assert_null(b.p);
  assert_int_equal(b.len, 0);
}

static void buf_bound_is_sticky(void **state) {
  (void)state;
  dorm__buf b;
  dorm__buf_init(&b, 5);
  assert_true(dorm__buf_put(&b, "12345", 5)); /* exactly the bound */
  assert_true(dorm__buf_ok(&b));
  assert_true(b.cap <= 6);                    /* never more than the bound and its NUL */
  assert_false(dorm__buf_putc(&b, '6'));
  assert_true(b.overflow);
  assert_false(b.oom);
  assert_false(dorm__buf_ok(&b));
  assert_false(dorm__buf_put(&b, "", 0)); /* sticky: even an empty append fails */
  assert_false(dorm__buf_printf(&b, "%s", ""));
  assert_string_equal(b.p, "12345");      /* what was there stays */
  assert_null(dorm__buf_take(&b));        /* a failed text is never handed out */
  assert_true(dorm__buf_ok(&b));          /* take leaves it empty, same bound */
  assert_int_equal(b.max, 5);
  assert_false(dorm__buf_printf(&b, "%s", "123456"));
  assert_true(b.overflow);
  assert_int_equal(b.len, 0);
  assert_string_equal(dorm__buf_text(&b), "");
  dorm__buf_reset(&b);
  assert_true(dorm__buf_ok(&b));
  assert_true(dorm__buf_puts(&b, "ok"));
  dorm__buf_free(&b);

  dorm__buf zero; /* bound 0: only empty text */
  dorm__buf_init(&zero, 0);
  assert_true(dorm__buf_put(&zero, "", 0));
  assert_string_equal(zero.p, "");
  assert_false(dorm__buf_putc(&zero, 'x'));
  assert_true(zero.overflow);
  dorm__buf_free(&zero);
}

static void buf_take_and_arena(void **state) {
  (void)state;
  dorm__buf b = DORM__BUF_INIT;
  char *empty = dorm__buf_take(&b); /* "" when nothing was appended */
  assert_non_null(empty);
  assert_string_equal(empty, "");
  free(empty);
  dorm__buf_puts(&b, "hello");
  char *s = dorm__buf_take(&b);
  assert_string_equal(s, "hello");
  assert_null(b.p);
  free(s);

  dorm_arena a = DORM_ARENA_INIT;
  dorm__buf_puts(&b, "in the arena");
  const char *t = dorm__buf_to_arena(&b, &a);
  assert_string_equal(t, "in the arena");
  assert_null(b.p);
  dorm__buf_init(&b, 2);
  dorm__buf_puts(&b, "too long");
  assert_null(dorm__buf_to_arena(&b, &a));
  dorm_arena_free(&a);
}

static void buf_lent_storage(void **state) {
  (void)state;
  char small[8];
  dorm__buf b;
  dorm__buf_init_storage(&b, small, sizeof small, DORM__BUF_UNBOUNDED);
  assert_ptr_equal(b.p, small);
  assert_string_equal(b.p, "");
  assert_true(dorm__buf_puts(&b, "1234567")); /* fits with its NUL */
  assert_ptr_equal(b.p, small);
  assert_true(dorm__buf_puts(&b, "89"));       /* moves to the heap, text kept */
  assert_ptr_not_equal(b.p, small);
  assert_string_equal(b.p, "123456789");
  assert_int_equal(b.cap, 16);                 /* doubled from the storage's size */
  char *taken = dorm__buf_take(&b);
  assert_string_equal(taken, "123456789");
  free(taken);

  dorm__buf_init_storage(&b, small, sizeof small, DORM__BUF_UNBOUNDED);
  dorm__buf_puts(&b, "abc");
  char *copy = dorm__buf_take(&b); /* from lent storage: a malloc'd copy */
  assert_ptr_not_equal(copy, small);
  assert_string_equal(copy, "abc");
  free(copy);

  dorm__buf_init_storage(&b, small, sizeof small, DORM__BUF_UNBOUNDED);
  dorm__buf_puts(&b, "secret");
  dorm__buf_wipe(&b);
  for (size_t i = 0; i < sizeof small; i++) assert_int_equal(small[i], 0);
  assert_null(b.p);
}

/* ---- hex ---- */

static void hex(void **state) {
  (void)state;
  const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  char out[2 * sizeof in + 1];
  memset(out, 'X', sizeof out);
  dorm__hex_encode(in, sizeof in, out);
  assert_string_equal(out, "00017f80abff");
  dorm__hex_encode(in, 0, out);
  assert_string_equal(out, "");
  assert_string_equal(dorm__hex_lower, "0123456789abcdef");
  assert_string_equal(dorm__hex_upper, "0123456789ABCDEF");
}

/* ---- error messages ---- */

static dorm_status sticky(dorm_status *status, char *buf, size_t cap, dorm_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  st = dorm__vfail_first(status, buf, cap, st, fmt, ap);
  va_end(ap);
  return st;
}

static void prefixed(char *buf, size_t cap, const char *prefix, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err_prefixed(buf, cap, prefix, fmt, ap);
  va_end(ap);
}

static void error_messages(void **state) {
  (void)state;
  char buf[16];
  dorm__set_err(buf, sizeof buf, "%s %d", "code", 7);
  assert_string_equal(buf, "code 7");
  dorm__set_err(buf, sizeof buf, "%s", "a message longer than the buffer");
  assert_string_equal(buf, "a message longe"); /* truncated, terminated */
  dorm__set_err(NULL, 10, "x");                 /* no buffer: nothing, no crash */
  buf[0] = 'Z';
  dorm__set_err(buf, 0, "x");
  assert_int_equal(buf[0], 'Z');
  assert_int_equal(dorm__fail(buf, sizeof buf, DORM_ERR_IO, "io %d", 5), DORM_ERR_IO);
  assert_string_equal(buf, "io 5");
  assert_int_equal(dorm__fail(NULL, 0, DORM_ERR_CONFIG, "x"), DORM_ERR_CONFIG);

  dorm_status st = DORM_OK;
  assert_int_equal(dorm__fail_first(&st, buf, sizeof buf, DORM_ERR_TOO_LARGE, "first"), DORM_ERR_TOO_LARGE);
  assert_int_equal(sticky(&st, buf, sizeof buf, DORM_ERR_NO_MEMORY, "second"), DORM_ERR_TOO_LARGE);
  assert_int_equal(st, DORM_ERR_TOO_LARGE);
  assert_string_equal(buf, "first");

  char big[64];
  prefixed(big, sizeof big, "PutItem", "table %s missing", "t");
  assert_string_equal(big, "PutItem: table t missing");
  prefixed(buf, sizeof buf, "a long prefix here", "never shown");
  assert_string_equal(buf, "a long prefix h");
  prefixed(buf, 10, "op", "0123456789");
  assert_string_equal(buf, "op: 01234");
}

/* ---- JSON strings ---- */

static void escaped_is(unsigned flags, const char *in, size_t len, const char *want) {
  dorm__buf b = DORM__BUF_INIT;
  assert_true(dorm__json_escape(&b, in, len, flags, NULL));
  if (strcmp(dorm__buf_text(&b), want) != 0) fail_msg("escape(%#x) = \"%s\", want \"%s\"", flags, b.p, want);
  /* The careful path (a bound too tight for the 6x reservation) writes the same. */
  dorm__buf tight;
  dorm__buf_init(&tight, strlen(want));
  assert_true(dorm__json_escape(&tight, in, len, flags, NULL));
  assert_string_equal(dorm__buf_text(&tight), want);
  dorm__buf_free(&tight);
  dorm__buf_free(&b);
}

static void json_escape_flags(void **state) {
  (void)state;
  const char ctl[] = "q\"b\\n\nr\rt\tb\bf\f\x01\x1f\x7f";
  size_t n = sizeof ctl - 1;
  /* request bodies and canonical JSON */
  escaped_is(DORM_JSON_ESC_STRICT, ctl, n, "q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\x7f");
  /* Go's encoding/json and the migration files: \b \f in \u form */
  escaped_is(DORM_JSON_ESC_GO, ctl, n, "q\\\"b\\\\n\\nr\\rt\\tb\\u0008f\\u000c\\u0001\\u001f\x7f");
  escaped_is(0, ctl, n, "q\\\"b\\\\n\\nr\\rt\\tb\\u0008f\\u000c\\u0001\\u001f\x7f");
  escaped_is(0, "\0", 1, "\\u0000");
  /* < > & only for Go */
  escaped_is(DORM_JSON_ESC_STRICT, "<a&b>", 5, "<a&b>");
  escaped_is(DORM_JSON_ESC_GO, "<a&b>", 5, "\\u003ca\\u0026b\\u003e");
  /* U+2028 / U+2029 only for Go; other UTF-8 as it is */
  const char seps[] = "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xe2\x80\xaa\xc3\xa9\xf0\x9f\x98\x80";
  escaped_is(DORM_JSON_ESC_GO, seps, sizeof seps - 1, "a\\u2028b\\u2029c\xe2\x80\xaa\xc3\xa9\xf0\x9f\x98\x80");
  escaped_is(DORM_JSON_ESC_STRICT, seps, sizeof seps - 1, seps);
  /* invalid UTF-8: Go repairs each byte, no flag copies it, strict fails */
  const char broken[] = "a\xff" "b\xc3" "c\xed\xa0\x80";
  escaped_is(DORM_JSON_ESC_GO, broken, sizeof broken - 1, "a\\ufffdb\\ufffdc\\ufffd\\ufffd\\ufffd");
  escaped_is(0, broken, sizeof broken - 1, broken);
  dorm__buf b = DORM__BUF_INIT;
  size_t bad = 0;
  assert_false(dorm__json_escape(&b, "ok\"\xc3\x28", 5, DORM_JSON_ESC_STRICT, &bad));
  assert_true(dorm__buf_ok(&b)); /* the text was at fault, not the buffer */
  assert_int_equal(bad, 3);
  assert_string_equal(b.p, "ok\\\""); /* what came before the bad byte */
  dorm__buf_free(&b);
}

static void json_escape_long_and_bounded(void **state) {
  (void)state;
  /* long runs take the word-at-a-time path; escapes anywhere in them */
  char in[1000];
  char want[1000 * 2];
  size_t w = 0;
  for (size_t i = 0; i < sizeof in; i++) {
    in[i] = (char)(i % 97 == 5 ? '"' : 'a' + i % 26);
    if (in[i] == '"') want[w++] = '\\';
    want[w++] = in[i];
  }
  want[w] = '\0';
  escaped_is(DORM_JSON_ESC_STRICT, in, sizeof in, want);
  escaped_is(DORM_JSON_ESC_GO, in, sizeof in, want);
  /* a bound the escaped text passes: the buffer fails, not the text */
  dorm__buf b;
  dorm__buf_init(&b, 10);
  assert_false(dorm__json_escape(&b, "\"\"\"\"\"\"", 6, DORM_JSON_ESC_STRICT, NULL));
  assert_true(b.overflow);
  dorm__buf_free(&b);
}

static void json_plain_copy(void **state) {
  (void)state;
  char o[64];
  assert_true(dorm__json_plain_copy(o, "plain ASCII text, longer than a word", 36));
  assert_memory_equal(o, "plain ASCII text, longer than a word", 36);
  assert_false(dorm__json_plain_copy(o, "0123456789\"", 11));
  assert_false(dorm__json_plain_copy(o, "01234567\\", 9));
  assert_false(dorm__json_plain_copy(o, "\xc3\xa9", 2));
  assert_false(dorm__json_plain_copy(o, "tab\there", 8));
  assert_true(dorm__json_plain_copy(o, "", 0));
}

/* ---- UTC calendar ---- */

static void civil_days(void **state) {
  (void)state;
  assert_int_equal(dorm__days_from_civil(1970, 1, 1), 0);
  assert_int_equal(dorm__days_from_civil(1969, 12, 31), -1);
  assert_int_equal(dorm__days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(dorm__days_from_civil(2000, 2, 29), 11016);
  assert_int_equal(dorm__days_from_civil(0, 1, 1), -719528);
  /* days past the month's end carry on, as timegm's do */
  assert_int_equal(dorm__days_from_civil(2023, 2, 30), dorm__days_from_civil(2023, 3, 2));
  assert_int_equal(dorm__days_from_civil(2024, 2, 31), dorm__days_from_civil(2024, 3, 2));
  int64_t y;
  int m, d;
  for (int64_t z = -800000; z <= 3000000; z += 7) {
    dorm__civil_from_days(z, &y, &m, &d);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= dorm__civil_month_days(y, m));
    assert_int_equal(dorm__days_from_civil(y, m, d), z);
  }
  assert_true(dorm__civil_leap_year(2000));
  assert_false(dorm__civil_leap_year(1900));
  assert_true(dorm__civil_leap_year(2024));
  assert_int_equal(dorm__civil_month_days(2023, 2), 28);
  assert_int_equal(dorm__civil_month_days(2024, 2), 29);
  assert_int_equal(dorm__civil_month_days(2024, 12), 31);
}

static void civil_seconds(void **state) {
  (void)state;
  dorm__civil_time t;
  dorm__civil_from_seconds(-1, &t);
  assert_int_equal(t.year, 1969);
  assert_int_equal(t.month, 12);
  assert_int_equal(t.day, 31);
  assert_int_equal(t.hour, 23);
  assert_int_equal(t.minute, 59);
  assert_int_equal(t.second, 59);
  assert_int_equal(dorm__civil_to_seconds(&t), -1);
  dorm__civil_time u = {2015, 8, 30, 12, 36, 0};
  assert_int_equal(dorm__civil_to_seconds(&u), 1440938160);
  dorm__civil_time leap_second = {2016, 12, 31, 23, 59, 60}; /* second 60 is the next minute's 0 */
  dorm__civil_time next = {2017, 1, 1, 0, 0, 0};
  assert_int_equal(dorm__civil_to_seconds(&leap_second), dorm__civil_to_seconds(&next));
  char out[32];
  dorm__civil_format_seconds(0, out);
  assert_string_equal(out, "1970-01-01T00:00:00Z");
  dorm__civil_format_seconds(1440938160, out);
  assert_string_equal(out, "2015-08-30T12:36:00Z");
  dorm__civil_format_seconds(INT64_C(253402300799), out);
  assert_string_equal(out, "9999-12-31T23:59:59Z");
  /* the year in as many digits as it has, as strftime's %Y */
  dorm__civil_format_seconds(INT64_C(253402300800), out);
  assert_string_equal(out, "10000-01-01T00:00:00Z");
  dorm__civil_format_seconds(INT64_C(-30641760000), out);
  assert_string_equal(out, "999-01-01T00:00:00Z");
  dorm__civil_format_seconds(INT64_C(-62167222800), out);
  assert_string_equal(out, "-1-12-31T23:00:00Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buf_appends_and_stays_terminated),
      cmocka_unit_test(buf_bound_is_sticky),
      cmocka_unit_test(buf_take_and_arena),
      cmocka_unit_test(buf_lent_storage),
      cmocka_unit_test(hex),
      cmocka_unit_test(error_messages),
      cmocka_unit_test(json_escape_flags),
      cmocka_unit_test(json_escape_long_and_bounded),
      cmocka_unit_test(json_plain_copy),
      cmocka_unit_test(civil_days),
      cmocka_unit_test(civil_seconds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
