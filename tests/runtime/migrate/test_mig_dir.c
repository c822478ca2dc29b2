/* Migration directories and dorm.sum (migrate_dir.c), offline: line numbers
 * in dorm.sum errors count blank lines, and every allocation failure while
 * reading, hashing and verifying a directory (or reading and writing one
 * file) is reported with a message, never with an empty error buffer and
 * never as a wrong hash. Allocations are made to fail one at a time through
 * the linker's --wrap of malloc, calloc and realloc (see CMakeLists.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dorm/migrate.h"
#include "mig_common.h"
#include "test_support.h"

/* ---- failing allocations ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static long countdown = -1; /* allocations to let through before one fails; -1: none fails */
static bool injected;

static bool fail_now(void) {
  if (countdown < 0) return false;
  if (countdown-- > 0) return false;
  injected = true;
  return true;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

static void migrations(mt_env *e) {
  char prefix[64];
  ts_unique_name(prefix, sizeof prefix, "mdir");
  mt_setup(e, prefix);
  mt_diff(e, 1, "init", false);
  mt_diff(e, 2, "add_status_index", false);
  mt_diff(e, 3, "ttl_stream_billing", false);
}

/* ---- dorm.sum line numbers ---- */

static void test_sum_line_numbers(void **state) {
  (void)state;
  mt_env e;
  migrations(&e);
  char sum[400];
  snprintf(sum, sizeof sum, "%s/dorm.sum", e.migrations);
  size_t len;
  char *orig = ts_read_file(sum, &len);
  assert_non_null(orig);
  /* A blank line after the header and one after "total": the first
   * migration line (line 3 of the original) is now line 5. Break it. */
  char *nl1 = strchr(orig, '\n'), *nl2 = strchr(nl1 + 1, '\n'), *nl3 = strchr(nl2 + 1, '\n');
  char *edited = malloc(len + 16);
  assert_non_null(edited);
  size_t o = 0;
  memcpy(edited + o, orig, (size_t)(nl1 + 1 - orig)), o += (size_t)(nl1 + 1 - orig);
  edited[o++] = '\n';
  memcpy(edited + o, nl1 + 1, (size_t)(nl2 - nl1)), o += (size_t)(nl2 - nl1);
  edited[o++] = '\n';
  memcpy(edited + o, nl2 + 1, (size_t)(nl3 - nl2 - 1)), o += (size_t)(nl3 - nl2 - 1);
  memcpy(edited + o, " extra", 6), o += 6;
  strcpy(edited + o, nl3);
  o += strlen(nl3);
  assert_int_equal(ts_write_file(sum, edited, o), 0);

  dorm_arena a = DORM_ARENA_INIT;
  dorm_mig_dir d;
  char err[1024] = "";
  assert_int_equal(dorm_mig_dir_read(e.migrations, &a, &d, err, sizeof err), DORM_OK);
  assert_int_equal(dorm_mig_dir_verify(&d, err, sizeof err), DORM_ERR_SCHEMA_MISMATCH);
  char want[512];
  snprintf(want, sizeof want, "%s/dorm.sum:5: malformed line", e.migrations);
  if (!mt_has(err, want)) fail_msg("expected \"%s\" in \"%s\"", want, err);

  /* Blank lines alone are fine. */
  o = 0;
  memcpy(edited + o, orig, (size_t)(nl1 + 1 - orig)), o += (size_t)(nl1 + 1 - orig);
  edited[o++] = '\n';
  strcpy(edited + o, nl1 + 1);
  o += strlen(nl1 + 1);
  edited[o++] = '\n';
  assert_int_equal(ts_write_file(sum, edited, o), 0);
  if (dorm_mig_dir_verify(&d, err, sizeof err) != DORM_OK) fail_msg("blank lines: %s", err);

  /* A first line that is not the header names its line too. */
  snprintf(edited, len + 16, "\n\ndorm.sum 2\n%s", nl1 + 1);
  assert_int_equal(ts_write_file(sum, edited, strlen(edited)), 0);
  assert_int_equal(dorm_mig_dir_verify(&d, err, sizeof err), DORM_ERR_SCHEMA_MISMATCH);
  snprintf(want, sizeof want, "%s/dorm.sum:3: expected \"dorm.sum 1\" first", e.migrations);
  if (!mt_has(err, want)) fail_msg("expected \"%s\" in \"%s\"", want, err);

  assert_int_equal(ts_write_file(sum, orig, len), 0);
  assert_int_equal(dorm_mig_dir_verify(&d, err, sizeof err), DORM_OK);
  free(edited);
  free(orig);
  dorm_arena_free(&a);
  mt_teardown(&e);
}

/* ---- out of memory ---- */

static void expect_oom_message(long k, dorm_status st, const char *err, const char *what) {
  if (st != DORM_ERR_NO_MEMORY)
    fail_msg("%s, allocation %ld failed: %s (%s), expected DORM_ERR_NO_MEMORY", what, k, dorm_strerror(st), err);
  if (!err[0]) fail_msg("%s, allocation %ld failed: DORM_ERR_NO_MEMORY with an empty error buffer", what, k);
  if (!mt_has(err, "out of memory")) fail_msg("%s, allocation %ld failed: \"%s\"", what, k, err);
}

static void test_dir_out_of_memory(void **state) {
  (void)state;
  mt_env e;
  migrations(&e);
  dorm_arena ref_arena = DORM_ARENA_INIT;
  dorm_mig_dir ref;
  char err[1024];
  assert_int_equal(dorm_mig_dir_read(e.migrations, &ref_arena, &ref, err, sizeof err), DORM_OK);
  assert_int_equal(dorm_mig_dir_verify(&ref, err, sizeof err), DORM_OK);

  long k;
  size_t reported = 0;
  for (k = 0; k < 100000; k++) {
    dorm_arena a = DORM_ARENA_INIT;
    dorm_mig_dir d;
    err[0] = '\0';
    injected = false;
    countdown = k;
    dorm_status st = dorm_mig_dir_read(e.migrations, &a, &d, err, sizeof err);
    const char *what = "dorm_mig_dir_read";
    if (st == DORM_OK) {
      what = "dorm_mig_dir_verify";
      st = dorm_mig_dir_verify(&d, err, sizeof err);
    }
    countdown = -1;
    if (!injected) {
      assert_int_equal(st, DORM_OK);
      dorm_arena_free(&a);
      break;
    }
    if (st != DORM_OK) {
      expect_oom_message(k, st, err, what);
      reported++;
    } else {
      /* Survived the failure: then the result must be the right one. */
      assert_int_equal(d.count, ref.count);
      assert_string_equal(d.total, ref.total);
      for (size_t i = 0; i < d.count; i++) assert_string_equal(d.migrations[i].hash, ref.migrations[i].hash);
    }
    dorm_arena_free(&a);
  }
  print_message("%ld allocations, %zu failures reported\n", k, reported);
  assert_true(k > 10);
  assert_true(reported > 0);

  /* One file read and written. */
  char path[400];
  snprintf(path, sizeof path, "%s/copy.json", e.dir);
  for (k = 0; k < 1000; k++) {
    dorm_arena a = DORM_ARENA_INIT;
    const char *data = NULL;
    size_t len = 0;
    err[0] = '\0';
    injected = false;
    countdown = k;
    dorm_status st = dorm_mig_read_file(e.migrations, "20260101000000_init", "plan.json", &a, &data, &len, err,
                                        sizeof err);
    const char *what = "dorm_mig_read_file";
    if (st == DORM_OK) {
      what = "dorm_mig_write_file";
      st = dorm_mig_write_file(path, data, len, err, sizeof err);
    }
    countdown = -1;
    if (st != DORM_OK) expect_oom_message(k, st, err, what);
    dorm_arena_free(&a);
    if (!injected) {
      assert_int_equal(st, DORM_OK);
      break;
    }
  }
  assert_true(k > 1);
  dorm_arena_free(&ref_arena);
  mt_teardown(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_sum_line_numbers), cmocka_unit_test(test_dir_out_of_memory)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
