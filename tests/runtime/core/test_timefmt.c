/* `time` values: the fixed-width UTC format written, every RFC 3339 form
 * read (offsets, trimmed and long fractions, lower-case T/Z), leap years,
 * dates before 1970, the int64 range, and rejection of malformed text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/timefmt.h"

#define NS INT64_C(1000000000)

static void fmt_is(int64_t ns, const char *want) {
  char buf[32];
  memset(buf, 'x', sizeof buf);
  dorm_time_format(ns, buf);
  assert_string_equal(buf, want);
  assert_int_equal(strlen(buf), 30);
  int64_t back = 0;
  assert_true(dorm_time_parse(buf, strlen(buf), &back));
  assert_true(back == ns);
}

static void parse_is(const char *text, int64_t want) {
  int64_t got = -1;
  if (!dorm_time_parse(text, strlen(text), &got)) fail_msg("rejected \"%s\"", text);
  if (got != want) fail_msg("\"%s\": got %lld, want %lld", text, (long long)got, (long long)want);
}

static void rejects(const char *text) {
  int64_t got = 12345;
  if (dorm_time_parse(text, strlen(text), &got)) fail_msg("accepted \"%s\"", text);
  assert_true(got == 12345);
}

static void format_fixed_width(void **state) {
  (void)state;
  fmt_is(0, "1970-01-01T00:00:00.000000000Z");
  fmt_is(1, "1970-01-01T00:00:00.000000001Z");
  fmt_is(INT64_C(1795613924123456789), "2026-11-25T13:38:44.123456789Z");
  fmt_is(INT64_C(951782400) * NS, "2000-02-29T00:00:00.000000000Z");          /* leap day (div by 400) */
  fmt_is(INT64_C(4107542399) * NS + 999999999, "2100-02-28T23:59:59.999999999Z"); /* 2100 is not a leap year */
  fmt_is(INT64_C(4107542400) * NS, "2100-03-01T00:00:00.000000000Z");
  fmt_is(INT64_C(1078012800) * NS, "2004-02-29T00:00:00.000000000Z");
  /* before 1970: floor, not truncation */
  fmt_is(-1, "1969-12-31T23:59:59.999999999Z");
  fmt_is(-NS, "1969-12-31T23:59:59.000000000Z");
  fmt_is(INT64_C(-2208988800) * NS, "1900-01-01T00:00:00.000000000Z");
  fmt_is(INT64_C(-2203891200) * NS, "1900-03-01T00:00:00.000000000Z"); /* 1900 is not a leap year */
  /* the ends of int64 nanoseconds */
  fmt_is(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
  fmt_is(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
}

static void parse_forms(void **state) {
  (void)state;
  int64_t base = INT64_C(1795613924) * NS; /* 2026-11-25T13:38:44Z */
  parse_is("2026-11-25T13:38:44Z", base);
  parse_is("2026-11-25T13:38:44.5Z", base + 500000000);
  parse_is("2026-11-25T13:38:44.123Z", base + 123000000);
  parse_is("2026-11-25T13:38:44.123456789Z", base + 123456789);
  parse_is("2026-11-25T13:38:44.1234567891Z", base + 123456789); /* digits past ns are dropped */
  parse_is("2026-11-25T13:38:44.000000000000Z", base);
  parse_is("2026-11-25t13:38:44z", base);
  parse_is("2026-11-25T14:38:44+01:00", base);
  parse_is("2026-11-25T08:08:44.25-05:30", base + 250000000);
  parse_is("2026-11-26T00:38:44+11:00", base);
  parse_is("2026-11-25T13:38:44-00:00", base);
  parse_is("1969-12-31T23:59:59.999999999Z", -1);
  parse_is("1970-01-01T01:00:00+01:00", 0);
  parse_is("2024-02-29T12:00:00Z", INT64_C(1709208000) * NS);
  parse_is("1677-09-21T00:12:43.145224192Z", INT64_MIN);
  parse_is("2262-04-11T23:47:16.854775807Z", INT64_MAX);
}

static void parse_rejects(void **state) {
  (void)state;
  rejects("");
  rejects("2026-11-25");
  rejects("2026-11-25T13:38:44");        /* no zone */
  rejects("2026-11-25 13:38:44Z");       /* space instead of T */
  rejects("2026-11-25T13:38:44.Z");      /* empty fraction */
  rejects("2026-11-25T13:38:44+0100");   /* offset without colon */
  rejects("2026-11-25T13:38:44+24:00");
  rejects("2026-11-25T13:38:44+01:60");
  rejects("2026-13-01T00:00:00Z");
  rejects("2026-00-01T00:00:00Z");
  rejects("2026-02-29T00:00:00Z");       /* not a leap year */
  rejects("1900-02-29T00:00:00Z");
  rejects("2026-04-31T00:00:00Z");
  rejects("2026-11-25T24:00:00Z");
  rejects("2026-11-25T23:60:00Z");
  rejects("2026-11-25T23:59:60Z");       /* leap seconds: Go rejects them too */
  rejects("2026-11-25T13:38:44Zjunk");
  rejects("26-11-25T13:38:44Z");
  rejects("2026-1-25T13:38:44Z");
  rejects("+2026-11-25T13:38:44Z");
  rejects("2262-04-11T23:47:16.854775808Z"); /* one past int64 */
  rejects("1677-09-21T00:12:43.145224191Z");
  rejects("9999-12-31T23:59:59Z");
  rejects("0000-01-01T00:00:00Z");
  int64_t v;
  assert_false(dorm_time_parse(NULL, 0, &v));
  /* only len bytes are read */
  assert_true(dorm_time_parse("2026-11-25T13:38:44Zxxxx", 20, &v));
}

static void now_is_sane(void **state) {
  (void)state;
  int64_t a = dorm_time_now(), b = dorm_time_now();
  assert_true(a > INT64_C(1700000000) * NS);
  assert_true(b >= a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(format_fixed_width),
      cmocka_unit_test(parse_forms),
      cmocka_unit_test(parse_rejects),
      cmocka_unit_test(now_is_sane),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
