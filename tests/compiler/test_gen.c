/* dormc gen as a library: generation is reentrant (threads generating at
 * once get the bytes of a lone run), and the comments of the generated
 * header say what the schema says, whatever text it holds. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gen_model.h"
#include "test_util.h"

typedef struct generated {
  char *header, *source;
  size_t header_len, source_len;
} generated;

/* Compiles text as "t.dorm" and generates t_models.h/.c. */
static int generate(const char *text, generated *out) {
  memset(out, 0, sizeof *out);
  tu_result r = tu_compile1(text);
  int rc = -1;
  if (r.schema)
    rc = dormc_gen_models(r.c, r.schema, "t.dorm", "t", NULL, 0, &out->header, &out->header_len, &out->source,
                          &out->source_len);
  if (!r.schema) fprintf(stderr, "%s", r.diags ? r.diags : "");
  tu_free(&r);
  return rc;
}

static void generated_free(generated *g) {
  free(g->header);
  free(g->source);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = '\0';
  fclose(f);
  return s;
}

/* ---- reentrancy ---- */

enum { THREADS = 4, ROUNDS = 250 };

typedef struct job {
  const char *schema;
  const generated *want;
  int mismatches, failures;
} job;

static void *generate_rounds(void *arg) {
  job *j = arg;
  for (int i = 0; i < ROUNDS; i++) {
    generated got;
    if (generate(j->schema, &got) != 0) {
      j->failures++;
      continue;
    }
    if (got.header_len != j->want->header_len || memcmp(got.header, j->want->header, got.header_len) != 0 ||
        got.source_len != j->want->source_len || memcmp(got.source, j->want->source, got.source_len) != 0)
      j->mismatches++;
    generated_free(&got);
  }
  return NULL;
}

static void threads_generate_the_same_bytes(void **state) {
  (void)state;
  const char *src = getenv("DORM_SOURCE_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/schemas/shop.dorm", src ? src : ".");
  char *schema = read_text(path);
  if (!schema) fail_msg("cannot read %s", path);
  generated want;
  assert_int_equal(generate(schema, &want), 0);
  pthread_t t[THREADS];
  job jobs[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (job){schema, &want, 0, 0};
    assert_int_equal(pthread_create(&t[i], NULL, generate_rounds, &jobs[i]), 0);
  }
  int mismatches = 0, failures = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    mismatches += jobs[i].mismatches;
    failures += jobs[i].failures;
  }
  generated_free(&want);
  free(schema);
  assert_int_equal(failures, 0);
  if (mismatches) fail_msg("%d of %d concurrent generations differ from a lone one", mismatches, THREADS * ROUNDS);
}

/* ---- comments ---- */

static void has(const char *text, const char *want) {
  if (!strstr(text, want)) fail_msg("the generated text lacks: %s", want);
}

/* Every comment ends where it was meant to: outside comments and string
 * literals no "*\/" appears, and no comment is left open. */
static void comments_are_closed(const char *text) {
  enum { CODE, COMMENT, STRING } st = CODE;
  int line = 1;
  for (const char *p = text; *p; p++) {
    if (*p == '\n') line++;
    switch (st) {
    case CODE:
      if (p[0] == '/' && p[1] == '*') st = COMMENT, p++;
      else if (p[0] == '*' && p[1] == '/') fail_msg("line %d: \"*/\" outside a comment", line);
      else if (p[0] == '"') st = STRING;
      else if (p[0] == '\'' && p[1] && p[2] == '\'') p += 2;
      break;
    case COMMENT:
      if (p[0] == '*' && p[1] == '/') st = CODE, p++;
      break;
    case STRING:
      if (p[0] == '\\' && p[1]) p++;
      else if (p[0] == '"') st = CODE;
      else if (p[0] == '\n') fail_msg("line %d: a string literal runs past the end of the line", line);
      break;
    }
  }
  assert_int_equal(st, CODE);
}

static void enum_comments_name_their_values(void **state) {
  (void)state;
  generated g;
  assert_int_equal(generate("namespace t;\n"
                            "enum Tier { standard; gold; }\n"
                            "enum Odd { closes = \"x*/y\"; plain; }\n"
                            "table T \"things\" { key (PK: S, SK: S); gsi \"gsi-odd\" (GSI1PK: S) project all; }\n"
                            "model M in T {\n"
                            "  type \"M*/\";\n"
                            "  key PK = \"P*/{id}\";\n"
                            "  key SK = \"S\";\n"
                            "  key GSI1PK = \"G*/#{tier}\";\n"
                            "  id: string;\n"
                            "  tier: Tier;\n"
                            "  odd: Odd @name(\"odd*/attr\");\n"
                            "}\n",
                            &g),
                   0);
  /* each enum's example is its own first value */
  has(g.header, "/* The stored value of v (\"standard\"), or NULL when v is not a member. */\n"
                "const char *t_Tier_to_string(t_Tier v);");
  has(g.header, "/* The stored value of v (\"x*\\/y\"), or NULL when v is not a member. */\n"
                "const char *t_Odd_to_string(t_Odd v);");
  assert_null(strstr(g.header, "(\"pending\")"));
  /* schema text in comments cannot end them early */
  has(g.header, "T_ODD_CLOSES = 1, /* \"x*\\/y\" */");
  has(g.header, "Odd as \"odd*\\/attr\" */");
  has(g.header, "by PK = \"P*\\/{id}\". */");
  has(g.header, "by GSI1PK = \"G*\\/#{tier}\". */");
  has(g.header, "type \"M*\\/\" ---- */");
  comments_are_closed(g.header);
  comments_are_closed(g.source);
  /* the values themselves are stored as written */
  has(g.source, "{\"x*/y\", \"plain\"}");
  generated_free(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(enum_comments_name_their_values),
      cmocka_unit_test(threads_generate_the_same_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
