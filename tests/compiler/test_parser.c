/* The parser: AST shape, error recovery and hints, imports, and hostile
 * inputs (huge, deeply nested, binary, thousands of errors). */
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

static unsigned count(const char *hay, const char *needle) {
  unsigned n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

static void members_keep_source_order_and_kinds(void **state) {
  (void)state;
  tu_result r = tu_compile1(
      "namespace t;\n"
      "struct S {\n"
      "  a: int;\n  gsi \"g\" (x);\n  b;\n  key PK = \"A\";\n  type \"T\";\n  request { x: int; }\n"
      "  billing provisioned(read 1, write 2);\n  timeout 5s;\n  key (A: S);\n  c = \"C\";\n"
      "}\n");
  assert_int_equal(r.load_rc, 0); /* the parser accepts any member anywhere */
  dormc_source *s = r.c->root;
  ast_item *st = s->ast->items->items[1];
  assert_int_equal(st->kind, AST_I_STRUCT);
  const ast_member_kind want[] = {AST_M_FIELD,   AST_M_GSI,     AST_M_ENUM_VALUE, AST_M_KEY_TEMPLATE, AST_M_ENTITY_TYPE,
                                  AST_M_REQUEST, AST_M_BILLING, AST_M_TIMEOUT,    AST_M_KEY_DECL,     AST_M_ENUM_VALUE};
  assert_int_equal(st->body->members->n, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    assert_int_equal(((ast_member *)st->body->members->items[i])->kind, want[i]);
  ast_member *f = st->body->members->items[0];
  assert_int_equal(f->loc.line, 3);
  assert_int_equal(f->loc.col, 3);
  assert_int_equal(f->loc.end_col, 10);
  /* ...and semantic analysis says what does not belong in a struct. */
  assert_int_equal(r.analyze_rc, -1);
  assert_true(tu_has(&r, "t.dorm:4:3: error: 'gsi' is not allowed in a struct"));
  assert_true(tu_has(&r, "t.dorm:5:3: error: 'b' has no type; a field is written 'b: type;'"));
  assert_true(tu_has(&r, "t.dorm:8:3: error: 'request' is not allowed in a struct"));
  tu_free(&r);
}

static void recovery_reports_every_broken_member(void **state) {
  (void)state;
  tu_result r = tu_compile1(
      "namespace t;\n"
      "struct A {\n  a: int\n  b: int;\n  c string;\n  d: list<int;\n  e: int;\n}\n"
      "modle B {\n  x: int;\n}\n"
      "struct C {\n  f: int;\n  g: ;\n}\n");
  assert_int_equal(r.load_rc, -1);
  assert_true(tu_has(&r, "t.dorm:3:9: error: expected ';' after field\n"));
  assert_true(tu_has(&r, "t.dorm:5:4: error: expected ':' between field name 'c' and its type\n"));
  assert_true(tu_has(&r, "t.dorm:6:14: error: unexpected ';'; expected '>' or ','\n"));
  assert_true(tu_has(&r, "t.dorm:9:1: error: unknown declaration 'modle'; did you mean 'model'?"));
  assert_true(tu_has(&r, "t.dorm:14:6: error: unexpected ';'; expected a name\n"));
  assert_int_equal(count(r.diags, ": error:"), 5);
  tu_free(&r);
}

static void hints_for_common_mistakes(void **state) {
  (void)state;
  tu_result r = tu_compile1("namespace t;\nstruct A {\n  a: int;\n");
  assert_true(tu_has(&r, "t.dorm:4:1: error: unexpected end of file; missing '}'\n"));
  assert_true(tu_has(&r, "t.dorm:2:10: note: to close the '{' opened here\n"));
  tu_free(&r);
  r = tu_compile1("namespace t;\nstruct A {\n  a: int;\n}\n}\n");
  assert_true(tu_has(&r, "t.dorm:5:1: error: unexpected '}': no block is open here"));
  tu_free(&r);
  r = tu_compile1("namespace t;\ntable T \"ttt\" {\n  stram new_image;\n}\n");
  assert_true(tu_has(&r, "t.dorm:3:3: error: unknown statement 'stram'; did you mean 'stream'?"));
  tu_free(&r);
  r = tu_compile1("namespace t;\nstruct A {\n  a: int;\nstruct B {\n  b: int;\n}\n");
  assert_true(tu_has(&r, "t.dorm:4:1: error: missing '}' before 'struct'"));
  tu_free(&r);
  r = tu_compile1("namespace t\nstruct A {}\n");
  assert_true(tu_has(&r, "t.dorm:1:12: error: expected ';' after namespace"));
  tu_free(&r);
}

static void imports_are_relative_and_loaded_once(void **state) {
  (void)state;
  const tu_file files[] = {
      {"app/root.dorm", "namespace t;\nimport \"lib/a.dorm\";\nimport \"lib/b.dorm\";\n"
                        "model M table \"mmm\" {\n  id: string @pk;\n  a: A;\n  b: B;\n}\n", 0},
      {"app/lib/a.dorm", "import \"common.dorm\";\nstruct A {\n  c: Common;\n}\n", 0},
      {"app/lib/b.dorm", "namespace t;\nimport \"./common.dorm\";\nimport \"../lib/common.dorm\";\nstruct B {\n  c: Common;\n}\n", 0},
      {"app/lib/common.dorm", "struct Common {\n  x: int;\n}\n", 0},
  };
  tu_result r = tu_compile(files, 4);
  assert_string_equal(r.diags, "");
  assert_int_equal(r.analyze_rc, 0);
  assert_int_equal(r.schema->nstructs, 3);
  /* Imports first, depth first, in import order. */
  assert_string_equal(r.schema->structs[0].name, "Common");
  assert_string_equal(r.schema->structs[1].name, "A");
  assert_string_equal(r.schema->structs[2].name, "B");
  assert_int_equal(r.c->sources->n, 4);
  tu_free(&r);
}

static void import_problems_are_reported_at_the_import(void **state) {
  (void)state;
  const tu_file missing[] = {{"root.dorm", "namespace t;\n\nimport \"nope.dorm\";\n", 0}};
  tu_result r = tu_compile(missing, 1);
  assert_true(tu_has(&r, "root.dorm:3:8: error: cannot import 'nope.dorm': No such file or directory"));
  assert_int_equal(r.load_rc, -1);
  tu_free(&r);
  const tu_file cycle[] = {
      {"root.dorm", "namespace t;\nimport \"a.dorm\";\n", 0},
      {"a.dorm", "import \"b.dorm\";\n", 0},
      {"b.dorm", "import \"c.dorm\";\n", 0},
      {"c.dorm", "import \"a.dorm\";\n", 0},
  };
  r = tu_compile(cycle, 4);
  assert_true(tu_has(&r, "c.dorm:1:8: error: import cycle: 'c.dorm' imports 'a.dorm', which is still being imported"));
  assert_true(tu_has(&r, "b.dorm:1:8: note: 'c.dorm' is imported from 'b.dorm' here"));
  assert_true(tu_has(&r, "a.dorm:1:8: note: 'b.dorm' is imported from 'a.dorm' here"));
  tu_free(&r);
}

static void root_file_io_errors(void **state) {
  (void)state;
  dormc_compilation *c = dormc_new(NULL);
  assert_int_equal(dormc_load_file(c, "/nonexistent/dir/x.dorm"), -2);
  assert_int_equal(dormc_error_count(c), 1);
  assert_int_equal(dormc_analyze(c), -1);
  assert_null(dormc_get_schema(c));
  dormc_free(c);
  dormc_options o = {.max_file_size = 16};
  c = dormc_new(&o);
  const char *text = "namespace t;\nstruct A { a: int; }\n";
  assert_int_equal(dormc_load_buffer(c, "big.dorm", text, strlen(text)), -2);
  dormc_free(c);
}

static char *repeat(const char *unit, size_t times, const char *head, const char *tail) {
  size_t ul = strlen(unit), hl = strlen(head), tl = strlen(tail);
  char *s = malloc(hl + ul * times + tl + 1);
  memcpy(s, head, hl);
  for (size_t i = 0; i < times; i++) memcpy(s + hl + i * ul, unit, ul);
  memcpy(s + hl + ul * times, tail, tl + 1);
  return s;
}

static void deep_nesting_ends_in_a_clean_error(void **state) {
  (void)state;
  /* 200,000 nested type arguments overflow the parser stack. */
  size_t depth = 200000;
  char *open = repeat("list<", depth, "namespace t;\nstruct A {\n  a: ", "int");
  char *src = repeat(">", depth, open, ";\n}\n");
  free(open);
  tu_result r = tu_compile1(src);
  assert_int_equal(r.load_rc, -1);
  assert_true(tu_has(&r, "error: schema nested too deeply to parse (parser stack exhausted)"));
  tu_free(&r);
  free(src);
  /* Braces nested 100,000 deep. */
  src = repeat("{", 100000, "namespace t;\n", "");
  r = tu_compile1(src);
  assert_int_equal(r.load_rc, -1);
  assert_true(tu_has(&r, "error:"));
  tu_free(&r);
  free(src);
  /* Moderately deep types are fine. */
  open = repeat("list<", 500, "namespace t;\nmodel M table \"mmm\" {\n  id: string @pk;\n  a: ", "");
  char *close = repeat(">", 500, "int", ";\n}\n");
  size_t n = strlen(open) + strlen(close) + 1;
  src = malloc(n);
  snprintf(src, n, "%s%s", open, close);
  r = tu_compile1(src);
  assert_string_equal(r.diags, "");
  assert_int_equal(r.analyze_rc, 0);
  tu_free(&r);
  free(open);
  free(close);
  free(src);
}

static void ten_thousand_errors_stop_after_twenty(void **state) {
  (void)state;
  char *src = repeat("struct A { a: int }\n", 10000, "namespace t;\n", "");
  tu_result r = tu_compile1(src);
  /* 20 errors, then the line that says it stops (also an ": error:"). */
  assert_int_equal(count(r.diags, "t.dorm:"), 20);
  assert_int_equal(count(r.diags, ": error:"), 21);
  assert_true(tu_has(&r, "dormc: error: too many errors; stopping after 20\n"));
  assert_int_equal(r.load_rc, -1);
  tu_free(&r);
  free(src);
}

static void ten_megabytes_of_schema(void **state) {
  (void)state;
  /* ~10 MB: 200,000 fields in one struct plus a model that uses it. */
  size_t n = 200000;
  size_t cap = n * 64 + 1024;
  char *src = malloc(cap);
  size_t o = (size_t)snprintf(src, cap, "namespace big;\nstruct Wide {\n");
  for (size_t i = 0; i < n; i++)
    o += (size_t)snprintf(src + o, cap - o, "  field_number_%07zu: list<string>? @omit_empty;\n", i);
  o += (size_t)snprintf(src + o, cap - o, "}\nmodel M table \"mmm\" {\n  id: string @pk;\n  w: Wide;\n}\n");
  assert_true(o > 10u * 1000 * 1000);
  tu_result r = tu_compile1(src);
  assert_string_equal(r.diags, "");
  assert_int_equal(r.analyze_rc, 0);
  assert_int_equal(dormc_schema_struct(r.schema, "Wide")->nfields, n);
  tu_free(&r);
  free(src);
}

static void binary_garbage_never_crashes(void **state) {
  (void)state;
  uint32_t x = 12345;
  static const char *const tokens[] = {"namespace", "model", "{", "}", "(", ")", ";", ":", "\"", "<", ">", "@",
                                       "key", "gsi", "x", "1", "15m", "/*", "*/", "//", "\n", "\\", "?", "=",
                                       "table", "in", "\xff", "\0", "struct", "enum", "list", ",", "."};
  for (int round = 0; round < 400; round++) {
    char buf[512];
    size_t len = 0;
    int ntok = (int)(x % 80);
    for (int i = 0; i < ntok && len < sizeof buf - 16; i++) {
      x = x * 1103515245u + 12345u;
      if (round % 2) {
        buf[len++] = (char)(x >> 16);
      } else {
        const char *t = tokens[(x >> 16) % (sizeof tokens / sizeof tokens[0])];
        size_t tl = t[0] ? strlen(t) : 1;
        memcpy(buf + len, t, tl);
        len += tl;
        buf[len++] = ' ';
      }
    }
    tu_file f = {"fuzz.dorm", buf, len ? len : 1};
    if (!len) buf[0] = ' ';
    tu_result r = tu_compile(&f, 1);
    assert_true(r.load_rc == 0 || r.load_rc == -1);
    assert_true(r.ndiags <= 21 + 40); /* errors are capped; warnings are few */
    tu_free(&r);
    char *d = NULL;
    char *out = tu_format("fuzz.dorm", buf, len ? len : 1, &d);
    free(out);
    free(d);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(members_keep_source_order_and_kinds),
      cmocka_unit_test(recovery_reports_every_broken_member),
      cmocka_unit_test(hints_for_common_mistakes),
      cmocka_unit_test(imports_are_relative_and_loaded_once),
      cmocka_unit_test(import_problems_are_reported_at_the_import),
      cmocka_unit_test(root_file_io_errors),
      cmocka_unit_test(deep_nesting_ends_in_a_clean_error),
      cmocka_unit_test(ten_thousand_errors_stop_after_twenty),
      cmocka_unit_test(ten_megabytes_of_schema),
      cmocka_unit_test(binary_garbage_never_crashes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
