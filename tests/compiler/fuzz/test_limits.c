/* Hostile inputs end in a clean diagnostic: `dormc check` exits 1 (never a
 * signal), prints a few bounded lines naming the place, and the fuzz logic
 * (fmt idempotence, schema preservation) holds on them too.
 *
 *   10 MB of input, 100,000 '{', NUL bytes, invalid UTF-8, 10,000 errors. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fuzz_dormc.h"
#include "test_support.h"

static char workdir[256];

static int setup(void **state) {
  (void)state;
  snprintf(workdir, sizeof workdir, "/tmp/dormc-limits-XXXXXX");
  return mkdtemp(workdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A growing buffer for building inputs. */
typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  put(b, tmp, (size_t)n);
}

/* Runs `dormc check FILE` on data; returns its stderr (malloc'd) and
 * asserts it exited with expect_rc. */
static char *run_check(const char *name, const char *data, size_t len, int expect_rc) {
  char path[512], errpath[512], dormc[512];
  snprintf(path, sizeof path, "%s/%s", workdir, name);
  snprintf(errpath, sizeof errpath, "%s/%s.err", workdir, name);
  const char *bin = getenv("DORM_BINARY_DIR");
  snprintf(dormc, sizeof dormc, "%s/compiler/dormc", bin ? bin : ".");
  assert_int_equal(ts_write_file(path, data, len), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int devnull = open("/dev/null", O_WRONLY);
    if (fd < 0 || devnull < 0) _exit(127);
    dup2(fd, 2);
    dup2(devnull, 1);
    execl(dormc, "dormc", "check", path, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status)) fail_msg("dormc check %s died with signal %d", name, WTERMSIG(status));
  char *err = ts_read_file(errpath, NULL);
  assert_non_null(err);
  if (WEXITSTATUS(status) != expect_rc)
    fail_msg("dormc check %s: exit %d, expected %d\n%s", name, WEXITSTATUS(status), expect_rc, err);
  return err;
}

static unsigned count(const char *hay, const char *needle) {
  unsigned n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void expect(const char *err, const char *needle) {
  if (!strstr(err, needle)) fail_msg("expected '%s' in:\n%s", needle, err);
}

static void test_ten_megabytes(void **state) {
  (void)state;
  buf b = {0};
  puts_(&b, "namespace big;\n");
  char line[101];
  memset(line, 'x', sizeof line);
  memcpy(line, "// ", 3);
  line[99] = '\n';
  unsigned lines = 1;
  while (b.len < (size_t)10 << 20) {
    put(&b, line, 100);
    lines++;
  }
  puts_(&b, "struct S { a: nosuch; }\n");
  char *err = run_check("big.dorm", b.p, b.len, 1);
  char want[128];
  snprintf(want, sizeof want, "big.dorm:%u:15: error: unknown type 'nosuch'", lines + 1);
  expect(err, want);
  assert_int_equal(count(err, "error:"), 1);
  free(err);

  /* 10 MB on one line of junk: one error, and the line shown is cut short. */
  b.len = 0;
  puts_(&b, "namespace big;\n");
  while (b.len < (size_t)10 << 20) puts_(&b, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@");
  err = run_check("junk.dorm", b.p, b.len, 1);
  expect(err, "junk.dorm:2:1: error: unexpected '@'");
  assert_true(strlen(err) < 4096);
  free(err);
  free(b.p);
}

static void test_deep_braces(void **state) {
  (void)state;
  buf b = {0};
  puts_(&b, "namespace deep;\nstruct S ");
  for (int i = 0; i < 100000; i++) put(&b, "{", 1);
  puts_(&b, "\n");
  char *err = run_check("deep.dorm", b.p, b.len, 1);
  expect(err, "deep.dorm:2:11: error: ");
  assert_true(count(err, "error:") <= 21);
  assert_true(strlen(err) < 8192);
  free(err);
  dormc_fuzz_one((const uint8_t *)b.p, b.len);
  /* Braces inside a field's type arguments and an endpoint payload. */
  b.len = 0;
  puts_(&b, "namespace deep;\nendpoint E async { request ");
  for (int i = 0; i < 100000; i++) put(&b, "{ request ", 10);
  err = run_check("deep2.dorm", b.p, b.len, 1);
  assert_true(count(err, "error:") >= 1 && count(err, "error:") <= 21);
  free(err);
  dormc_fuzz_one((const uint8_t *)b.p, b.len);
  b.len = 0;
  puts_(&b, "namespace deep;\nstruct S { a: ");
  for (int i = 0; i < 100000; i++) put(&b, "list<", 5);
  err = run_check("deep3.dorm", b.p, b.len, 1);
  assert_true(count(err, "error:") >= 1 && count(err, "error:") <= 21);
  free(err);
  dormc_fuzz_one((const uint8_t *)b.p, b.len);
  free(b.p);
}

static void test_nul_bytes(void **state) {
  (void)state;
  static const char src[] = "namespace n;\nstruct S {\n  a: int;\0\0\n  b: string;\n}\n";
  char *err = run_check("nul.dorm", src, sizeof src - 1, 1);
  expect(err, "nul.dorm:3:10: error: NUL byte in source");
  expect(err, "nul.dorm:3:11: error: NUL byte in source");
  assert_int_equal(count(err, "error:"), 2);
  free(err);
  dormc_fuzz_one((const uint8_t *)src, sizeof src - 1);
  /* A NUL inside a string and inside a comment. */
  static const char src2[] = "namespace n;\n// a\0b\nenum E { a = \"x\0y\"; }\n";
  err = run_check("nul2.dorm", src2, sizeof src2 - 1, 1);
  assert_true(count(err, "error:") >= 1);
  free(err);
  dormc_fuzz_one((const uint8_t *)src2, sizeof src2 - 1);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  static const char src[] = "namespace n;\n// caf\xc3\xa9 is fine\nstruct S {\n  a\xff: int;\n  \xc0\xaf b: int;\n"
                            "}\nenum E { x = \"\xed\xa0\x80\"; }\n\xe2\x82";
  char *err = run_check("utf8.dorm", src, sizeof src - 1, 1);
  expect(err, "utf8.dorm:4:4: error: invalid UTF-8 byte 0xFF");
  expect(err, "utf8.dorm:5:3: error: invalid UTF-8 byte 0xC0");
  expect(err, "utf8.dorm:8:1: error: invalid UTF-8 byte 0xE2");
  assert_int_equal(count(err, "caf\xc3\xa9"), 0);
  free(err);
  dormc_fuzz_one((const uint8_t *)src, sizeof src - 1);
}

static void test_ten_thousand_errors(void **state) {
  (void)state;
  buf b = {0};
  puts_(&b, "namespace many;\nstruct S {\n");
  for (int i = 0; i < 10000; i++) putf(&b, "  f%d: nosuchtype%d;\n", i, i);
  puts_(&b, "}\n");
  char *err = run_check("many.dorm", b.p, b.len, 1);
  assert_int_equal(count(err, ": error: unknown type"), 20);
  expect(err, "many.dorm:3:7: error: unknown type 'nosuchtype0'");
  expect(err, "many.dorm:22:8: error: unknown type 'nosuchtype19'");
  assert_null(strstr(err, "nosuchtype20'"));
  const char *stop = "dormc: error: too many errors; stopping after 20\n";
  size_t el = strlen(err), sl = strlen(stop);
  assert_true(el >= sl);
  assert_string_equal(err + el - sl, stop);
  free(err);
  dormc_fuzz_one((const uint8_t *)b.p, b.len);
  /* Syntax errors too. */
  b.len = 0;
  puts_(&b, "namespace many;\n");
  for (int i = 0; i < 10000; i++) puts_(&b, "struct { }\n");
  err = run_check("syntax.dorm", b.p, b.len, 1);
  assert_int_equal(count(err, ": error: "), 21);
  expect(err, "too many errors; stopping after 20");
  free(err);
  free(b.p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ten_megabytes), cmocka_unit_test(test_deep_braces),
      cmocka_unit_test(test_nul_bytes),     cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_ten_thousand_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
