/* The formatter: canonical output, comments kept, idempotence, refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char messy[] =
    "// header\n"
    "\n"
    "namespace   shop ;   // ns\n"
    "import \"a.dorm\"; import \"b.dorm\";\n"
    "/* before enum */\n"
    "enum E{a;b=\"B\" ; // after b\n"
    "\n"
    "\n"
    "  c;\n"
    "  // dangling\n"
    "}\n"
    "struct S {} // empty\n"
    "table T \"ttt\" { key(PK:S,SK:S); gsi \"g-1\"(A:S,B:S)project include(x,y);billing provisioned( read 1 ,write 2 ); }\n"
    "model M in T { /* after brace */\n"
    "  key PK = \"A#{id}\";   id : map< string , list<int?> > ? @name( \"i\" ) @omit_empty ;\n"
    "  esc: string @name(\"tab\\there\\u0041\");\n"
    "  d1 : string=\"x\\\"y\" @name(\"dd\");d2:int = -3 ;d3:float=2.5e-3; d4 : E = c;\n"
    "}\n"
    "endpoint E2 async { request {x:int;}   // after request\n"
    "result{ok:bool;} auth scopes(\"a\",\"b\"); timeout 15m; }\n"
    "// end\n";

static const char canonical[] =
    "// header\n"
    "\n"
    "namespace shop; // ns\n"
    "\n"
    "import \"a.dorm\";\n"
    "import \"b.dorm\";\n"
    "\n"
    "/* before enum */\n"
    "enum E {\n"
    "  a;\n"
    "  b = \"B\"; // after b\n"
    "\n"
    "  c;\n"
    "  // dangling\n"
    "}\n"
    "\n"
    "struct S {} // empty\n"
    "\n"
    "table T \"ttt\" {\n"
    "  key (PK: S, SK: S);\n"
    "  gsi \"g-1\" (A: S, B: S) project include(x, y);\n"
    "  billing provisioned(read 1, write 2);\n"
    "}\n"
    "\n"
    "model M in T { /* after brace */\n"
    "  key PK = \"A#{id}\";\n"
    "  id: map<string, list<int?>>? @name(\"i\") @omit_empty;\n"
    "  esc: string @name(\"tab\\thereA\");\n"
    "  d1: string = \"x\\\"y\" @name(\"dd\");\n"
    "  d2: int = -3;\n"
    "  d3: float = 2.5e-3;\n"
    "  d4: E = c;\n"
    "}\n"
    "\n"
    "endpoint E2 async {\n"
    "  request {\n"
    "    x: int;\n"
    "  } // after request\n"
    "  result {\n"
    "    ok: bool;\n"
    "  }\n"
    "  auth scopes(\"a\", \"b\");\n"
    "  timeout 15m;\n"
    "}\n"
    "// end\n";

static void formats_to_the_canonical_form(void **state) {
  (void)state;
  char *diags = NULL;
  char *out = tu_format("m.dorm", messy, 0, &diags);
  assert_string_equal(diags, "");
  assert_non_null(out);
  assert_string_equal(out, canonical);
  free(out);
  free(diags);
}

static void formatting_is_idempotent(void **state) {
  (void)state;
  char *once = tu_format("m.dorm", messy, 0, NULL);
  char *twice = tu_format("m.dorm", once, 0, NULL);
  assert_string_equal(once, twice);
  free(once);
  free(twice);
}

static void comments_survive_everywhere(void **state) {
  (void)state;
  const char *src = "/*1*/ namespace /*2*/ t /*3*/; /*4*/\nstruct /*5*/ A /*6*/ { /*7*/ a /*8*/ : /*9*/ int /*10*/ ; /*11*/ } /*12*/\n";
  char *out = tu_format("c.dorm", src, 0, NULL);
  assert_non_null(out);
  for (int i = 1; i <= 12; i++) {
    char c[16];
    snprintf(c, sizeof c, "/*%d*/", i);
    if (!strstr(out, c)) fail_msg("lost %s in:\n%s", c, out);
  }
  char *again = tu_format("c.dorm", out, 0, NULL);
  assert_string_equal(out, again);
  free(out);
  free(again);
}

static void refuses_files_with_syntax_errors(void **state) {
  (void)state;
  char *diags = NULL;
  char *out = tu_format("bad.dorm", "namespace t;\nstruct A {\n  a: int\n}\n", 0, &diags);
  assert_null(out);
  assert_non_null(strstr(diags, "bad.dorm:3:9: error: expected ';' after field"));
  free(diags);
  out = tu_format("bad.dorm", "namespace t;\nenum E { a = \"x\\q\"; }\n", 0, &diags);
  assert_null(out);
  assert_non_null(strstr(diags, "invalid escape"));
  free(diags);
}

static void formats_what_parses_even_with_semantic_errors(void **state) {
  (void)state;
  char *out = tu_format("s.dorm", "struct A{a:Nope;}", 0, NULL);
  assert_string_equal(out, "struct A {\n  a: Nope;\n}\n");
  free(out);
  out = tu_format("e.dorm", "", 0, NULL);
  assert_string_equal(out, "");
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(formats_to_the_canonical_form),
      cmocka_unit_test(formatting_is_idempotent),
      cmocka_unit_test(comments_survive_everywhere),
      cmocka_unit_test(refuses_files_with_syntax_errors),
      cmocka_unit_test(formats_what_parses_even_with_semantic_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
