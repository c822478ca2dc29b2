/* The scanner: comments, literals, keywords as names, lexical errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "test_util.h"

static ast_item *item_at(tu_result *r, size_t i) {
  dormc_source *s = r->c->root;
  assert_non_null(s);
  assert_non_null(s->ast);
  assert_true(i < s->ast->items->n);
  return s->ast->items->items[i];
}

static ast_member *member_at(ast_item *it, size_t i) {
  assert_non_null(it->body);
  assert_true(i < it->body->members->n);
  return it->body->members->items[i];
}

static void comments_are_kept_with_locations(void **state) {
  (void)state;
  tu_result r = tu_compile1("// head\nnamespace t; /* after */\nstruct A {\n  /* multi\n     line */ a: int;\n}\n");
  assert_int_equal(r.load_rc, 0);
  vec *cs = r.c->root->comments;
  assert_int_equal(cs->n, 3);
  ast_comment *c0 = cs->items[0], *c1 = cs->items[1], *c2 = cs->items[2];
  assert_string_equal(c0->text, "// head");
  assert_false(c0->block);
  assert_int_equal(c0->loc.line, 1);
  assert_int_equal(c0->loc.col, 1);
  assert_string_equal(c1->text, "/* after */");
  assert_true(c1->block);
  assert_int_equal(c1->loc.line, 2);
  assert_int_equal(c1->loc.col, 14);
  assert_int_equal(c2->loc.line, 4);
  assert_int_equal(c2->loc.end_line, 5);
  /* Comments never reach the parser: the struct has its one field. */
  assert_int_equal(item_at(&r, 1)->body->members->n, 1);
  tu_free(&r);
}

static void string_escapes_are_decoded(void **state) {
  (void)state;
  tu_result r = tu_compile1("namespace t;\nenum E {\n  a = \"q\\\"b\\\\c\\n\\t\\u00e9\\ud83d\\ude00\";\n  b = \"plain\";\n}\n");
  assert_int_equal(r.load_rc, 0);
  ast_member *a = member_at(item_at(&r, 1), 0);
  assert_non_null(a->str);
  assert_string_equal(a->str->value, "q\"b\\c\n\t\xc3\xa9\xf0\x9f\x98\x80");
  assert_int_equal(a->str->len, strlen("q\"b\\c\n\t\xc3\xa9\xf0\x9f\x98\x80"));
  assert_false(a->str->verbatim);
  ast_member *b = member_at(item_at(&r, 1), 1);
  assert_true(b->str->verbatim);
  assert_int_equal(b->str->loc.col, 7);
  assert_int_equal(b->str->loc.end_col, 14);
  tu_free(&r);
}

static void keywords_are_names_where_a_name_is_expected(void **state) {
  (void)state;
  tu_result r = tu_compile1(
      "namespace t;\n"
      "model Thing table \"things\" {\n"
      "  key: string @pk;\n  type: string;\n  status: string;\n  name: string;\n  table: string;\n"
      "  model: string;\n  ttl: epoch?;\n  gsi: int;\n  in: bool;\n  request: string?;\n  timeout: int;\n"
      "  type \"Thing\";\n"
      "}\n");
  assert_string_equal(r.diags, "");
  assert_int_equal(r.analyze_rc, 0);
  const dormc_model *m = dormc_schema_model(r.schema, "Thing");
  assert_non_null(m);
  assert_int_equal(m->nfields, 11);
  assert_string_equal(m->fields[0].name, "key");
  assert_string_equal(m->fields[1].name, "type");
  assert_string_equal(m->entity_type, "Thing");
  tu_free(&r);
}

static void numbers_and_durations(void **state) {
  (void)state;
  tu_result r = tu_compile1("namespace t;\nendpoint E async {\n  result { ok: bool; }\n  timeout 90s;\n}\n");
  assert_int_equal(r.analyze_rc, 0);
  assert_int_equal(dormc_schema_endpoint(r.schema, "E")->timeout_ms, 90000);
  tu_free(&r);
  r = tu_compile1("namespace t;\nendpoint E sync {\n  result { ok: bool; }\n  timeout 250ms;\n}\n");
  assert_int_equal(dormc_schema_endpoint(r.schema, "E")->timeout_ms, 250);
  tu_free(&r);
  r = tu_compile1("namespace t;\nendpoint E async {\n  result { ok: bool; }\n  timeout 2h;\n}\n");
  assert_int_equal(dormc_schema_endpoint(r.schema, "E")->timeout_ms, 2 * 3600 * 1000);
  tu_free(&r);
}

typedef struct lex_case {
  const char *src;
  size_t len; /* 0: strlen */
  const char *expect;
} lex_case;

static void lexical_errors_have_locations(void **state) {
  (void)state;
  static const char nul_src[] = "namespace t;\nstruct A {\n  a: int; \0\n}\n";
  static const char nul_str[] = "namespace t;\nenum E {\n  a = \"x\0y\";\n}\n";
  const lex_case cases[] = {
      {"namespace t;\nenum E {\n  a = \"open;\n}\n", 0, "t.dorm:3:7: error: unterminated string"},
      {"namespace t;\n/* never closed\nstruct A {}\n", 0, "t.dorm:2:1: error: unterminated comment"},
      {"namespace t;\nenum E {\n  a = \"x\\qy\";\n}\n", 0, "t.dorm:3:9: error: invalid escape '\\q' in string"},
      {nul_src, sizeof nul_src - 1, "t.dorm:3:11: error: NUL byte in source"},
      {nul_str, sizeof nul_str - 1, "t.dorm:3:9: error: NUL byte in string"},
      {"namespace t;\nstruct A {\n  a: \xff;\n}\n", 0, "t.dorm:3:6: error: invalid UTF-8 byte 0xFF"},
      {"namespace t;\nenum E {\n  a = \"\xc3(\";\n}\n", 0, "t.dorm:3:8: error: invalid UTF-8 byte 0xC3 in string"},
      {"namespace t;\n// caf\xe9\n", 0, "t.dorm:2:7: error: invalid UTF-8 byte 0xE9 in comment"},
      {"namespace t;\nstruct A {\n  a: int; $\n}\n", 0, "t.dorm:3:11: error: stray '$' in schema"},
      {"namespace t;\nstruct A {\n  a: int; \xc3\xa9\n}\n", 0, "t.dorm:3:11: error: unexpected character '\xc3\xa9'"},
      {"namespace t;\nendpoint E async {\n  timeout 15min;\n}\n", 0, "t.dorm:3:11: error: invalid number '15min'"},
      {"namespace t;\ntable T \"ttt\" {\n  billing provisioned(read 99999999999999999999, write 1);\n}\n", 0,
       "t.dorm:3:28: error: integer '99999999999999999999' is too large"},
      {"namespace t;\nenum E {\n  a = \"\\u0000\";\n}\n", 0, "'\\u0000' (NUL) is not allowed in a string"},
      {"namespace t;\nenum E {\n  a = \"\\ud800x\";\n}\n", 0, "unpaired UTF-16 surrogate"},
      {"namespace t;\nenum E {\n  a = \"\\u12\";\n}\n", 0, "'\\u' needs four hex digits"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tu_file f = {"t.dorm", cases[i].src, cases[i].len};
    tu_result r = tu_compile(&f, 1);
    if (!tu_has(&r, cases[i].expect)) fail_msg("case %zu: expected '%s' in:\n%s", i, cases[i].expect, r.diags);
    assert_int_equal(r.load_rc, -1);
    assert_null(r.schema);
    tu_free(&r);
  }
}

static void crlf_line_endings_are_accepted(void **state) {
  (void)state;
  tu_result r = tu_compile1("namespace t;\r\nstruct A {\r\n  a: int;\r\n  b: nope;\r\n}\r\n");
  assert_true(tu_has(&r, "t.dorm:4:6: error: unknown type 'nope'\n    4 |   b: nope;\n      |      ^~~~\n"));
  tu_free(&r);
}

static void columns_count_characters_and_tabs_line_up(void **state) {
  (void)state;
  /* "é" is two bytes but one column; the tab expands to the next stop. */
  tu_result r = tu_compile1("namespace t;\nenum E {\n  a = \"\xc3\xa9\";\tb = \"x\" c;\n}\n");
  assert_true(tu_has(&r, "t.dorm:3:20: error: unexpected identifier 'c'; expected ';'\n"));
  assert_true(tu_has(&r, "    3 |   a = \"\xc3\xa9\";      b = \"x\" c;\n      |                         ^\n"));
  tu_free(&r);
}

static void long_lines_are_shown_around_the_caret(void **state) {
  (void)state;
  char src[8192];
  size_t o = (size_t)snprintf(src, sizeof src, "namespace t;\nstruct A {\n ");
  for (int i = 0; i < 100; i++) o += (size_t)snprintf(src + o, sizeof src - o, " f%03d: int;", i);
  o += (size_t)snprintf(src + o, sizeof src - o, " bad: nope;");
  for (int i = 0; i < 100; i++) o += (size_t)snprintf(src + o, sizeof src - o, " g%03d: int;", i);
  snprintf(src + o, sizeof src - o, "\n}\n");
  tu_result r = tu_compile1(src);
  /* col = 1 + 100 * 11 + 7 = 1108; the window starts 60 columns before it. */
  assert_true(tu_has(&r, "t.dorm:3:1108: error: unknown type 'nope'\n"));
  const char *line = strstr(r.diags, "    3 | ...");
  assert_non_null(line);
  const char *nl = strchr(line, '\n');
  assert_true(nl - line < 200);
  assert_memory_equal(nl - 3, "...", 3);
  /* The caret sits under "nope": after "...", 60 columns into the window. */
  char caret[128];
  snprintf(caret, sizeof caret, "\n      | %63s^~~~\n", "");
  assert_non_null(strstr(nl, caret));
  tu_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(comments_are_kept_with_locations),
      cmocka_unit_test(string_escapes_are_decoded),
      cmocka_unit_test(keywords_are_names_where_a_name_is_expected),
      cmocka_unit_test(numbers_and_durations),
      cmocka_unit_test(lexical_errors_have_locations),
      cmocka_unit_test(crlf_line_endings_are_accepted),
      cmocka_unit_test(columns_count_characters_and_tabs_line_up),
      cmocka_unit_test(long_lines_are_shown_around_the_caret),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
