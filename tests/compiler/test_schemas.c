/* Every good schema (schemas/ and tests/compiler/good/, the .dorm files)
 * clean, is already in canonical form, formats idempotently, and its
 * formatted text (imports included) resolves to the same schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "test_util.h"

typedef struct list {
  char *paths[256];
  size_t n;
} list;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_dir(list *l, const char *rel) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", ts_source_dir(), rel);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  size_t first = l->n;
  while ((e = readdir(d)) && l->n < 256) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".dorm") != 0) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    l->paths[l->n++] = strdup(path);
  }
  closedir(d);
  qsort(l->paths + first, l->n - first, sizeof l->paths[0], cmp);
}

static void collect(list *l) {
  l->n = 0;
  add_dir(l, "schemas");
  add_dir(l, "tests/compiler/good");
  assert_true(l->n >= 8);
}

static void free_list(list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->paths[i]);
}

typedef struct capture {
  char text[8192];
  size_t len;
} capture;

static void on_diag(const dormc_diagnostic *d, void *user) {
  capture *c = user;
  char *t = dormc_diag_format(d);
  if (t) {
    size_t n = strlen(t);
    if (c->len + n < sizeof c->text) {
      memcpy(c->text + c->len, t, n + 1);
      c->len += n;
    }
    free(t);
  }
}

/* A reader that hands out each file in its formatted form. */
static int read_formatted(void *user, const char *path, char **data, size_t *len) {
  (void)user;
  size_t n;
  char *src = ts_read_file(path, &n);
  if (!src) return ENOENT;
  dormc_compilation *c = dormc_new(NULL);
  char *out = NULL;
  size_t out_len = 0;
  int rc = dormc_format(c, path, src, n, &out, &out_len);
  dormc_free(c);
  free(src);
  if (rc != 0) return EIO;
  *data = out;
  *len = out_len;
  return 0;
}

static char *dump_of(const char *path, bool formatted, capture *cap) {
  dormc_options o = {.on_diag = on_diag, .diag_user = cap};
  if (formatted) o.read_file = read_formatted;
  dormc_compilation *c = dormc_new(&o);
  int rc = dormc_load_file(c, path);
  if (rc == 0) rc = dormc_analyze(c);
  char *d = rc == 0 ? dormc_schema_dump(dormc_get_schema(c)) : NULL;
  dormc_free(c);
  return d;
}

static void good_schemas_check_clean(void **state) {
  (void)state;
  list l;
  collect(&l);
  for (size_t i = 0; i < l.n; i++) {
    capture cap = {0};
    char *d = dump_of(l.paths[i], false, &cap);
    if (!d || cap.len) fail_msg("%s does not check clean:\n%s", l.paths[i], cap.text);
    free(d);
  }
  free_list(&l);
}

static void good_schemas_are_canonical_and_idempotent(void **state) {
  (void)state;
  list l;
  collect(&l);
  for (size_t i = 0; i < l.n; i++) {
    size_t n;
    char *src = ts_read_file(l.paths[i], &n);
    assert_non_null(src);
    char *once = tu_format(l.paths[i], src, n, NULL);
    assert_non_null(once);
    char *twice = tu_format(l.paths[i], once, 0, NULL);
    assert_non_null(twice);
    assert_string_equal(once, twice);
    if (strcmp(once, src) != 0) fail_msg("%s is not in canonical form (run dormc fmt --write)", l.paths[i]);
    free(src);
    free(once);
    free(twice);
  }
  free_list(&l);
}

static void formatted_text_resolves_to_the_same_schema(void **state) {
  (void)state;
  list l;
  collect(&l);
  for (size_t i = 0; i < l.n; i++) {
    capture c1 = {0}, c2 = {0};
    char *plain = dump_of(l.paths[i], false, &c1);
    char *formatted = dump_of(l.paths[i], true, &c2);
    assert_non_null(plain);
    if (!formatted) fail_msg("%s: formatted text does not check:\n%s", l.paths[i], c2.text);
    assert_string_equal(plain, formatted);
    free(plain);
    free(formatted);
  }
  free_list(&l);
}

/* The same, on a schema that is far from canonical. */
static void messy_text_resolves_like_its_formatted_form(void **state) {
  (void)state;
  const char *messy =
      "namespace m;table T \"ttt\"{key(PK:S,SK:S);gsi \"g-1\"(G:S);}\n"
      "model A in T{type \"A\";key PK=\"A#{id}\";key SK=\"X\";key G=\"{n}\";id:string;n:int;/*c*/xs:list<int?>?;}\n"
      "enum E{x;y=\"Y\";}struct S{e:E;}endpoint P sync{request{s:S;}result{ok:bool;}timeout 2s;}\n";
  char *formatted = tu_format("m.dorm", messy, 0, NULL);
  assert_non_null(formatted);
  tu_result a = tu_compile1(messy), b = tu_compile1(formatted);
  assert_int_equal(a.analyze_rc, 0);
  assert_int_equal(b.analyze_rc, 0);
  char *da = dormc_schema_dump(a.schema), *db = dormc_schema_dump(b.schema);
  assert_string_equal(da, db);
  free(da);
  free(db);
  tu_free(&a);
  tu_free(&b);
  free(formatted);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(good_schemas_check_clean),
      cmocka_unit_test(good_schemas_are_canonical_and_idempotent),
      cmocka_unit_test(formatted_text_resolves_to_the_same_schema),
      cmocka_unit_test(messy_text_resolves_like_its_formatted_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
