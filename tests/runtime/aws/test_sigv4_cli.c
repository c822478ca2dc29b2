/* `dorm sign` end to end: runs the dorm executable on every case of the AWS
 * SigV4 suite (tests/runtime/aws/sigv4) in both forms and compares its stdout
 * byte for byte with the case's signed request; re-signs signed requests;
 * checks errors, exit statuses and the command table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "test_support.h"

#define SUITE_CASES 38

static char dorm_path[1024];
static char tmp_dir[256];

typedef struct run_result {
  int status; /* exit status, or -1 if it did not exit normally */
  char *out;
  size_t out_len;
  char *err;
} run_result;

static void run_free(run_result *r) {
  free(r->out);
  free(r->err);
}

/* Runs dorm with args (NULL-terminated) and stdin from stdin_path, with no
 * AWS_* credentials in its environment except those in env (NAME=VALUE,
 * NULL-terminated, may be NULL). */
static run_result run_dorm(const char *stdin_path, const char *const *env, const char *const *args) {
  char out_path[300], err_path[300];
  snprintf(out_path, sizeof out_path, "%s/out", tmp_dir);
  snprintf(err_path, sizeof err_path, "%s/err", tmp_dir);
  const char *argv[64] = {dorm_path};
  size_t n = 1;
  for (; args[n - 1] != NULL; n++) {
    assert_true(n < 63);
    argv[n] = args[n - 1];
  }
  argv[n] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0)
      _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
      putenv((char *)env[i]);
    execv(dorm_path, (char *const *)argv);
    _exit(127);
  }
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  run_result r = {WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, NULL, 0, NULL};
  r.out = ts_read_file(out_path, &r.out_len);
  r.err = ts_read_file(err_path, NULL);
  assert_non_null(r.out);
  assert_non_null(r.err);
  if (r.status == 127 || r.status == 126)
    fail_msg("could not run %s", dorm_path);
  return r;
}

static const char *write_stdin(const char *text) {
  static char path[300];
  snprintf(path, sizeof path, "%s/stdin", tmp_dir);
  assert_int_equal(ts_write_file(path, text, strlen(text)), 0);
  return path;
}

/* ---- the suite's cases as command lines ----------------------------------- */

typedef struct cli_case {
  char name[128];
  char dir[1200];
  cJSON *ctx;
  const char *args[32];
  size_t nargs;
} cli_case;

static void add_arg(cli_case *c, const char *a) {
  assert_true(c->nargs < 31);
  c->args[c->nargs++] = a;
  c->args[c->nargs] = NULL;
}

static const char *ctx_str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Builds `sign` arguments from context.json. With_time false leaves --time
 * out (for re-signing, where the request's X-Amz-Date is used). */
static void load_cli_case(cli_case *c, const char *root, const char *name, bool query,
                          bool with_time) {
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->dir, sizeof c->dir, "%s/%s", root, name);
  char path[1400];
  snprintf(path, sizeof path, "%s/context.json", c->dir);
  char *json = ts_read_file(path, NULL);
  assert_non_null(json);
  c->ctx = cJSON_Parse(json);
  free(json);
  assert_non_null(c->ctx);
  const cJSON *cred = cJSON_GetObjectItemCaseSensitive(c->ctx, "credentials");
  add_arg(c, "sign");
  add_arg(c, "--region");
  add_arg(c, ctx_str(c->ctx, "region"));
  add_arg(c, "--service");
  add_arg(c, ctx_str(c->ctx, "service"));
  add_arg(c, "--access-key-id");
  add_arg(c, ctx_str(cred, "access_key_id"));
  add_arg(c, "--secret-access-key");
  add_arg(c, ctx_str(cred, "secret_access_key"));
  if (ctx_str(cred, "token") != NULL) {
    add_arg(c, "--session-token");
    add_arg(c, ctx_str(cred, "token"));
  }
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->ctx, "omit_session_token")))
    add_arg(c, "--unsigned-session-token");
  if (with_time) {
    add_arg(c, "--time");
    add_arg(c, ctx_str(c->ctx, "timestamp"));
  }
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->ctx, "normalize")))
    add_arg(c, "--no-normalize");
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->ctx, "sign_body")))
    add_arg(c, "--sign-body");
  if (query) {
    static char expires[32];
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(c->ctx, "expiration_in_seconds");
    snprintf(expires, sizeof expires, "%d", cJSON_IsNumber(e) ? e->valueint : 0);
    add_arg(c, "--query");
    if (with_time) {
      add_arg(c, "--expires");
      add_arg(c, expires);
    }
  }
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_cases(char root[1024], char *names[64]) {
  snprintf(root, 1024, "%s/tests/runtime/aws/sigv4", ts_source_dir());
  DIR *d = opendir(root);
  if (d == NULL)
    fail_msg("cannot open %s", root);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
      continue;
    assert_true(n < 64);
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_names);
  return n;
}

/* Runs every case: stdin = input_file of the case, expects stdout equal to
 * want_file, exit status 0 and (when re-signing) "matches" on stderr. */
static void run_cases(bool query, const char *input_file, bool resign) {
  char root[1024];
  char *names[64];
  size_t n = list_cases(root, names);
  assert_int_equal(n, SUITE_CASES);
  const char *want_file = query ? "query-signed-request.txt" : "header-signed-request.txt";
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    cli_case c;
    load_cli_case(&c, root, names[i], query, !resign);
    char in[1400], want_path[1400];
    snprintf(in, sizeof in, "%s/%s", c.dir, input_file);
    snprintf(want_path, sizeof want_path, "%s/%s", c.dir, want_file);
    size_t want_len = 0;
    char *want = ts_read_file(want_path, &want_len);
    assert_non_null(want);
    run_result r = run_dorm(in, NULL, c.args);
    bool same = r.out_len == want_len && memcmp(r.out, want, want_len) == 0;
    bool ok = r.status == 0 && same && (!resign || strstr(r.err, "signature matches") != NULL);
    if (!ok) {
      size_t at = 0;
      while (at < want_len && at < r.out_len && want[at] == r.out[at])
        at++;
      print_error("%s (%s form%s): exit %d, stdout %s at byte %zu\n--- stderr ---\n%s"
                  "--- expected ---\n%s\n--- got ---\n%s\n",
                  c.name, query ? "query" : "header", resign ? ", re-signed" : "", r.status,
                  same ? "same" : "differs", at, r.err, want, r.out);
      failures++;
    }
    free(want);
    run_free(&r);
    cJSON_Delete(c.ctx);
    free(names[i]);
  }
  if (failures > 0)
    fail_msg("%d of %d cases differ", failures, SUITE_CASES);
}

static void suite_header_form(void **state) {
  (void)state;
  run_cases(false, "request.txt", false);
}

static void suite_query_form(void **state) {
  (void)state;
  run_cases(true, "request.txt", false);
}

/* A signed request fed back (without --time) is recognised, re-signed with
 * its own date, signed headers and expiry, and reproduced exactly. */
static void resigning_reproduces_signed_requests(void **state) {
  (void)state;
  run_cases(false, "header-signed-request.txt", true);
  run_cases(true, "query-signed-request.txt", true);
}

#define VANILLA "tests/runtime/aws/sigv4/get-vanilla"
#define KEYS "--access-key-id", "AKIDEXAMPLE", "--secret-access-key", \
             "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static char *source_path(const char *rel) {
  static char path[1400];
  snprintf(path, sizeof path, "%s/%s", ts_source_dir(), rel);
  return path;
}

static char *source_file(const char *rel) {
  char *text = ts_read_file(source_path(rel), NULL);
  assert_non_null(text);
  return text;
}

static void verbose_shows_canonical_request(void **state) {
  (void)state;
  const char *args[] = {"sign", "--region", "us-east-1", "--service", "service", KEYS,
                        "--time", "2015-08-30T12:36:00Z", "--verbose", NULL};
  run_result r = run_dorm(source_path(VANILLA "/request.txt"), NULL, args);
  assert_int_equal(r.status, 0);
  char *creq = source_file(VANILLA "/header-canonical-request.txt");
  char *sts = source_file(VANILLA "/header-string-to-sign.txt");
  char *want = source_file(VANILLA "/header-signed-request.txt");
  char block[4096];
  snprintf(block, sizeof block,
           "----- canonical request -----\n%s\n----- string to sign -----\n%s\n----- end -----\n",
           creq, sts);
  assert_string_equal(r.err, block);
  assert_string_equal(r.out, want);
  free(creq);
  free(sts);
  free(want);
  run_free(&r);
}

static void credentials_from_environment(void **state) {
  (void)state;
  const char *env[] = {"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
                       "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                       "AWS_SESSION_TOKEN=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
                       NULL};
  const char *args[] = {"sign", "--region", "us-east-1", "--service", "service",
                        "--time", "20150830T123600Z", NULL};
  run_result r = run_dorm(
      source_path("tests/runtime/aws/sigv4/get-vanilla-with-session-token/request.txt"), env, args);
  char *want =
      source_file("tests/runtime/aws/sigv4/get-vanilla-with-session-token/header-signed-request.txt");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, want);
  free(want);
  run_free(&r);
}

/* A signed request whose signature does not verify: exit 3, both
 * signatures shown, and the scope difference pointed out. */
static void resigning_reports_mismatch(void **state) {
  (void)state;
  const char *in = source_path(VANILLA "/header-signed-request.txt");
  const char *wrong_secret[] = {"sign", "--region", "us-east-1", "--service", "service",
                                "--access-key-id", "AKIDEXAMPLE", "--secret-access-key",
                                "not-the-secret", NULL};
  run_result r = run_dorm(in, NULL, wrong_secret);
  assert_int_equal(r.status, 3);
  assert_non_null(strstr(r.err, "signature differs"));
  assert_non_null(
      strstr(r.err, "request:  5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
  run_free(&r);

  const char *wrong_region[] = {"sign", "--region", "eu-west-1", "--service", "service", KEYS,
                                NULL};
  r = run_dorm(in, NULL, wrong_region);
  assert_int_equal(r.status, 3);
  assert_non_null(strstr(r.err, "signed for region us-east-1, not eu-west-1"));
  run_free(&r);

  /* An unsigned extra header (a proxy added it) is reported and not signed:
   * the signature still matches. */
  char *signed_req = source_file(VANILLA "/header-signed-request.txt");
  char text[4096];
  const char *auth = strstr(signed_req, "Authorization:");
  snprintf(text, sizeof text, "%.*sUser-Agent:curl/8.0\n%s", (int)(auth - signed_req), signed_req,
           auth);
  const char *plain[] = {"sign", "--region", "us-east-1", "--service", "service", KEYS, NULL};
  r = run_dorm(write_stdin(text), NULL, plain);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.err, "SignedHeaders do not list them: User-Agent\n"));
  assert_non_null(strstr(r.err, "signature matches"));
  run_free(&r);
  free(signed_req);
}

/* Bad input: a clear message on stderr, nothing on stdout, exit 1 (input)
 * or 2 (usage). */
static void expect_error(const char *stdin_text, const char *const *args, int status,
                         const char *needle) {
  run_result r = run_dorm(stdin_text ? write_stdin(stdin_text) : NULL, NULL, args);
  if (r.status != status || strstr(r.err, needle) == NULL || r.out_len != 0)
    fail_msg("dorm %s ...: exit %d, stderr \"%s\", %zu bytes on stdout (want exit %d and \"%s\")",
             args[0], r.status, r.err, r.out_len, status, needle);
  run_free(&r);
}

static void bad_input_is_reported(void **state) {
  (void)state;
  const char *sign[] = {"sign", "--region", "us-east-1", "--service", "service", KEYS, NULL};
  expect_error("POST / HTTP/1.1\nHost:example.amazonaws.com\nParam1=value1", sign, 1,
               "stdin:3: expected a \"Name:value\" header, got \"Param1=value1\"; if this is "
               "the body, put a blank line before it");
  expect_error("POST / HTTP/1.1\nHost:h\n{\"TableName\": \"t\"}\n", sign, 1,
               "put a blank line before it");
  expect_error("GET /\nHost:h\n\n", sign, 1, "stdin:1: bad request line \"GET /\"");
  expect_error("GET example.com HTTP/1.1\n\n", sign, 1, "must be a path starting with '/'");
  expect_error("GET / HTTP/1.1\n  folded\n", sign, 1, "stdin:2: continuation line");
  expect_error("", sign, 1, "empty input");
  expect_error("GET / HTTP/1.1\nHost:h\nX-Amz-Date:yesterday\n", sign, 1,
               "X-Amz-Date \"yesterday\" is not a SigV4 time");
  expect_error("GET / HTTP/1.1\nHost:h\nAuthorization:Basic Zm9vOmJhcg==\n", sign, 1,
               "stdin:3: the Authorization header is not");
  expect_error("GET /?X-Amz-Signature=abc HTTP/1.1\nHost:h\n", sign, 1,
               "the query already has X-Amz-Signature");

  const char *no_region[] = {"sign", "--service", "service", KEYS, NULL};
  expect_error("GET / HTTP/1.1\n", no_region, 2, "missing --region");
  const char *no_service[] = {"sign", "--region", "r", KEYS, NULL};
  expect_error("GET / HTTP/1.1\n", no_service, 2, "missing --service");
  const char *no_keys[] = {"sign", "--region", "r", "--service", "s", NULL};
  expect_error("GET / HTTP/1.1\n", no_keys, 2, "missing --access-key-id and --secret-access-key");
  const char *half_keys[] = {"sign", "--region", "r", "--service", "s", "--access-key-id", "AK",
                             NULL};
  expect_error("GET / HTTP/1.1\n", half_keys, 2, "give both");
  const char *unknown[] = {"sign", "--regoin", "r", NULL};
  expect_error(NULL, unknown, 2, "unknown option '--regoin'");
  const char *no_value[] = {"sign", "--service", "s", KEYS, "--region", NULL};
  expect_error(NULL, no_value, 2, "option '--region' needs a value");
  const char *twice[] = {"sign", "--region", "a", "--region=b", NULL};
  expect_error(NULL, twice, 2, "'--region' given twice");
  const char *positional[] = {"sign", "request.txt", NULL};
  expect_error(NULL, positional, 2, "unexpected argument 'request.txt'");
  const char *bad_time[] = {"sign", "--region", "r", "--service", "s", KEYS, "--time", "noon",
                            NULL};
  expect_error(NULL, bad_time, 2, "--time 'noon'");
  const char *expires_no_query[] = {"sign", "--region", "r", "--service", "s", KEYS,
                                    "--expires", "60", NULL};
  expect_error(NULL, expires_no_query, 2, "add --query");
  const char *bad_expires[] = {"sign", "--region", "r", "--service", "s", KEYS, "--query",
                               "--expires", "604801", NULL};
  expect_error(NULL, bad_expires, 2, "--expires '604801'");
  const char *flag_value[] = {"sign", "--query=yes", NULL};
  expect_error(NULL, flag_value, 2, "takes no value");
  const char *bad_region[] = {"sign", "--region", "us east", "--service", "s", KEYS, NULL};
  expect_error("GET / HTTP/1.1\nHost:h\n", bad_region, 1, "region must be");
}

static void command_table(void **state) {
  (void)state;
  const char *help[] = {"--help", NULL};
  run_result r = run_dorm(NULL, NULL, help);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "usage: dorm <command>"));
  assert_non_null(strstr(r.out, "  sign "));
  run_free(&r);

  const char *version[] = {"--version", NULL};
  r = run_dorm(NULL, NULL, version);
  assert_int_equal(r.status, 0);
  assert_memory_equal(r.out, "dorm ", 5);
  assert_true(r.out[5] >= '0' && r.out[5] <= '9');
  run_free(&r);

  const char *help_sign[] = {"help", "sign", NULL};
  r = run_dorm(NULL, NULL, help_sign);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "usage: dorm sign --region R"));
  assert_non_null(strstr(r.out, "exit status"));
  char *help_text = strdup(r.out);
  run_free(&r);

  const char *sign_help[] = {"sign", "--help", NULL};
  r = run_dorm(NULL, NULL, sign_help);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, help_text);
  free(help_text);
  run_free(&r);

  const char *none[] = {NULL};
  r = run_dorm(NULL, NULL, none);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, "usage: dorm <command>"));
  run_free(&r);

  const char *bogus[] = {"bogus", NULL};
  expect_error(NULL, bogus, 2, "unknown command 'bogus'");
  const char *help_bogus[] = {"help", "bogus", NULL};
  expect_error(NULL, help_bogus, 2, "unknown command 'bogus'");
  const char *bad_opt[] = {"--frobnicate", NULL};
  expect_error(NULL, bad_opt, 2, "unknown option '--frobnicate'");
}

static int setup(void **state) {
  (void)state;
  const char *tool = getenv("DORM_TOOL");
  const char *bin = getenv("DORM_BINARY_DIR");
  if (tool != NULL && *tool)
    snprintf(dorm_path, sizeof dorm_path, "%s", tool);
  else
    snprintf(dorm_path, sizeof dorm_path, "%s/runtime/tools/dorm", bin ? bin : ".");
  if (access(dorm_path, X_OK) != 0) {
    fprintf(stderr, "dorm executable not found at %s (set DORM_TOOL)\n", dorm_path);
    return -1;
  }
  const char *t = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/dorm_sign_test_XXXXXX", t && *t ? t : "/tmp");
  return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  const char *files[] = {"out", "err", "stdin"};
  char path[300];
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", tmp_dir, files[i]);
    unlink(path);
  }
  return rmdir(tmp_dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(suite_header_form),
      cmocka_unit_test(suite_query_form),
      cmocka_unit_test(resigning_reproduces_signed_requests),
      cmocka_unit_test(verbose_shows_canonical_request),
      cmocka_unit_test(credentials_from_environment),
      cmocka_unit_test(resigning_reports_mismatch),
      cmocka_unit_test(bad_input_is_reported),
      cmocka_unit_test(command_table),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
