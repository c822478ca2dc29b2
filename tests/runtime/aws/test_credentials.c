#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config_test_env.h"
#include "credentials.h"
#include "fake_metadata_server.h"

typedef struct fixture {
  cte env;
  fms *srv;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  cte_setup(&f->env);
  setenv("AWS_REGION", "us-east-1", 1);
  *state = f;
  return 0;
}

static int setup_server(void **state) {
  setup(state);
  fixture *f = *state;
  f->srv = fms_start();
  return f->srv ? 0 : -1;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->srv) fms_stop(f->srv);
  cte_teardown(&f->env);
  free(f);
  return 0;
}

static void resolve(const dorm_config *cfg, dorm_resolved_config *rc) {
  char err[512] = "";
  dorm_status st = dorm__config_resolve(cfg, rc, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "resolve: %s\n", err);
  assert_int_equal(st, DORM_OK);
}

/* Creates a provider from the environment (plus cfg) and returns it. */
static dorm_credentials_provider *provider(const dorm_config *cfg, long process_timeout_ms, long meta_timeout_ms) {
  dorm_resolved_config rc;
  resolve(cfg, &rc);
  if (process_timeout_ms) rc.credential_process_timeout_ms = process_timeout_ms;
  if (meta_timeout_ms) rc.metadata_timeout_ms = meta_timeout_ms;
  dorm_credentials_provider *p = NULL;
  char err[512] = "";
  dorm_status st = dorm__credentials_provider_new(&rc, &p, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "provider: %s\n", err);
  dorm__resolved_config_free(&rc);
  assert_int_equal(st, DORM_OK);
  return p;
}

/* Expects provider creation to fail with want and a message containing msg. */
static void provider_fails(const dorm_config *cfg, dorm_status want, const char *msg) {
  dorm_resolved_config rc;
  resolve(cfg, &rc);
  dorm_credentials_provider *p = (dorm_credentials_provider *)1;
  char err[600] = "";
  dorm_status st = dorm__credentials_provider_new(&rc, &p, err, sizeof err);
  dorm__resolved_config_free(&rc);
  if (st != want || !strstr(err, msg)) fprintf(stderr, "got %d '%s'\nwant %d '%s'\n", st, err, want, msg);
  assert_int_equal(st, want);
  assert_null(p);
  assert_non_null(strstr(err, msg));
}

static void get_ok(dorm_credentials_provider *p, dorm_credentials *c) {
  char err[600] = "";
  dorm_status st = dorm__credentials_provider_get(p, c, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "get: %s\n", err);
  assert_int_equal(st, DORM_OK);
}

static void get_fails(dorm_credentials_provider *p, dorm_status want, const char *msg) {
  dorm_credentials c;
  char err[600] = "";
  dorm_status st = dorm__credentials_provider_get(p, &c, err, sizeof err);
  if (st != want || !strstr(err, msg)) fprintf(stderr, "got %d '%s'\nwant %d '%s'\n", st, err, want, msg);
  assert_int_equal(st, want);
  assert_non_null(strstr(err, msg));
}

/* now + secs as an ISO 8601 UTC time. */
static const char *iso_in(long secs, char *buf, size_t cap) {
  time_t t = time(NULL) + secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/* ---- static sources ---------------------------------------------------------- */

static void environment_credentials(void **state) {
  (void)state;
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "SECRETENV", 1);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "environment");
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDENV");
  assert_string_equal(c.secret_access_key, "SECRETENV");
  assert_null(c.session_token);
  assert_int_equal(c.expiration, 0);
  dorm__credentials_provider_free(p);

  setenv("AWS_SESSION_TOKEN", "TOKENENV", 1);
  p = provider(NULL, 0, 0);
  get_ok(p, &c);
  assert_string_equal(c.session_token, "TOKENENV");
  dorm__credentials_provider_free(p);

  /* Explicit keys win over the environment. */
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.access_key_id = "AKIDX";
  cfg.secret_access_key = "SECRETX";
  p = provider(&cfg, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "explicit");
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDX");
  assert_null(c.session_token);
  dorm__credentials_provider_free(p);

  unsetenv("AWS_SECRET_ACCESS_KEY");
  provider_fails(NULL, DORM_ERR_CONFIG, "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
}

static void profile_credentials(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", "[default]\naws_access_key_id = AKIDCRED\naws_secret_access_key = SECRETCRED\n"
                                         "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = SECRETDEV\n"
                                         "aws_session_token = TOKDEV\n");
  cte_write(&f->env, ".aws/config", "[default]\naws_access_key_id = AKIDCONF\naws_secret_access_key = SECRETCONF\n"
                                    "[profile other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = SECRETOTHER\n"
                                    "[profile half]\naws_access_key_id = AKIDHALF\n"
                                    "[profile assume]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n");
  dorm_credentials c;
  /* Default profile: the credentials file beats the config file. */
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "profile");
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDCRED");
  assert_string_equal(c.secret_access_key, "SECRETCRED");
  dorm__credentials_provider_free(p);

  setenv("AWS_PROFILE", "dev", 1);
  p = provider(NULL, 0, 0);
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDDEV");
  assert_string_equal(c.session_token, "TOKDEV");
  dorm__credentials_provider_free(p);

  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.profile = "other";
  p = provider(&cfg, 0, 0);
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDOTHER");
  dorm__credentials_provider_free(p);

  /* The environment beats the profile. */
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "SECRETENV", 1);
  p = provider(&cfg, 0, 0);
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDENV");
  dorm__credentials_provider_free(p);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");

  cfg.profile = "half";
  provider_fails(&cfg, DORM_ERR_CONFIG,
                 "~/.aws/config:8: profile 'half' has aws_access_key_id but no aws_secret_access_key");
  /* role_arn + source_profile is a role to assume (test_sts.c has the rest). */
  cfg.profile = "assume";
  p = provider(&cfg, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "assume_role");
  dorm__credentials_provider_free(p);
}

static void no_credentials_anywhere(void **state) {
  (void)state;
  provider_fails(NULL, DORM_ERR_CONFIG,
                 "no credentials in dorm_config, the environment (AWS_ACCESS_KEY_ID), profile 'default' "
                 "(~/.aws/credentials, ~/.aws/config) or the container variables (AWS_CONTAINER_CREDENTIALS_*), "
                 "and instance metadata is disabled (AWS_EC2_METADATA_DISABLED)");
  setenv("AWS_EC2_METADATA_DISABLED", "maybe", 1);
  provider_fails(NULL, DORM_ERR_CONFIG, "AWS_EC2_METADATA_DISABLED: expected 'true' or 'false', got 'maybe'");
}

/* ---- credential_process -------------------------------------------------------- */

/* Writes an executable script to HOME/name and points the default profile's
 * credential_process at it (with an argument that needs quoting). */
static void process_script(fixture *f, const char *name, const char *body) {
  char text[4096];
  snprintf(text, sizeof text, "#!/bin/sh\necho run >> '%s/count'\n%s\n", f->env.home, body);
  const char *path = cte_write(&f->env, name, text);
  assert_int_equal(chmod(path, 0755), 0);
  char cfg[1024];
  snprintf(cfg, sizeof cfg, "[default]\ncredential_process = %s/%s \"two words\" 'x;y'\n", f->env.home, name);
  cte_write(&f->env, ".aws/config", cfg);
}

static int runs(fixture *f) {
  char path[512];
  snprintf(path, sizeof path, "%s/count", f->env.home);
  size_t len = 0;
  char *s = ts_read_file(path, &len);
  int n = 0;
  for (size_t i = 0; s && i < len; i++) n += s[i] == '\n';
  free(s);
  return n;
}

static void process_success(void **state) {
  fixture *f = *state;
  char exp[40], body[1024];
  /* The script checks that it got its arguments exactly as written. */
  snprintf(body, sizeof body,
           "[ \"$1\" = 'two words' ] && [ \"$2\" = 'x;y' ] || { echo \"bad args: $*\" >&2; exit 9; }\n"
           "printf '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"SECRETPROC\", "
           "\"SessionToken\": \"TOKPROC\", \"Expiration\": \"%s\"}'",
           iso_in(3600, exp, sizeof exp));
  process_script(f, "creds.sh", body);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "credential_process");
  assert_int_equal(runs(f), 0); /* nothing runs before the first get */
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDPROC");
  assert_string_equal(c.secret_access_key, "SECRETPROC");
  assert_string_equal(c.session_token, "TOKPROC");
  time_t want;
  assert_true(dorm__creds_parse_time(exp, &want));
  assert_int_equal(c.expiration, want);
  /* Valid for an hour: the second get uses the cached credentials. */
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDPROC");
  assert_int_equal(runs(f), 1);
  dorm__credentials_provider_free(p);

  /* Without Expiration the credentials never expire and never re-run. */
  process_script(f, "static.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"A2\",\"SecretAccessKey\":\"S2\"}'");
  p = provider(NULL, 0, 0);
  get_ok(p, &c);
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "A2");
  assert_null(c.session_token);
  assert_int_equal(c.expiration, 0);
  assert_int_equal(runs(f), 2);
  dorm__credentials_provider_free(p);
}

static void process_expiration_refresh(void **state) {
  fixture *f = *state;
  char exp[40], body[1024];
  /* Expires in 2 minutes: inside the 5-minute refresh window, so every get
   * refreshes; the script hands out a new key each run. */
  snprintf(body, sizeof body,
           "n=$(wc -l < '%s/count' | tr -d ' ')\n"
           "printf '{\"Version\":1,\"AccessKeyId\":\"AKID%%s\",\"SecretAccessKey\":\"S\",\"Expiration\":\"%s\"}' \"$n\"",
           f->env.home, iso_in(120, exp, sizeof exp));
  process_script(f, "rotating.sh", body);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKID1");
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKID2");
  assert_int_equal(runs(f), 2);

  /* The source breaks: the still-valid credentials keep being used. */
  process_script(f, "rotating.sh", "echo 'temporary failure' >&2; exit 1");
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKID2");
  assert_int_equal(runs(f), 3);
  /* ... without hammering the broken source on every call. */
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKID2");
  assert_int_equal(runs(f), 3);
  dorm__credentials_provider_free(p);
}

static void process_failures(void **state) {
  fixture *f = *state;
  dorm_credentials_provider *p;
  char exp[40], body[512];

  process_script(f, "fail.sh", "echo 'first line' >&2; echo 'token expired, run aws sso login' >&2; exit 3");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_IO, "exited with status 3: first line token expired, run aws sso login");
  get_fails(p, DORM_ERR_IO, "credential_process of profile 'default' (~/.aws/config:2)");
  dorm__credentials_provider_free(p);

  process_script(f, "silent.sh", "exit 4");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_IO, "exited with status 4: (no output on stderr)");
  dorm__credentials_provider_free(p);

  process_script(f, "badjson.sh", "echo 'AccessKeyId=AKID'");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_CONFIG, "expected a JSON object with AccessKeyId and SecretAccessKey");
  dorm__credentials_provider_free(p);

  process_script(f, "v2.sh", "echo '{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}'");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_CONFIG, "\"Version\" must be 1");
  dorm__credentials_provider_free(p);

  process_script(f, "nosecret.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"A\"}'");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_CONFIG, "missing SecretAccessKey");
  dorm__credentials_provider_free(p);

  process_script(f, "badtime.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"tomorrow\"}'");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_CONFIG, "Expiration is not an ISO 8601 time");
  dorm__credentials_provider_free(p);

  snprintf(body, sizeof body,
           "echo '{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"%s\"}'",
           iso_in(-60, exp, sizeof exp));
  process_script(f, "expired.sh", body);
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_CONFIG, "returned credentials that expired at");
  dorm__credentials_provider_free(p);

  /* The shell itself dies (a script it runs dying shows up as status 137). */
  cte_write(&f->env, ".aws/config", "[default]\ncredential_process = kill -9 $$\n");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_IO, "was killed by signal 9");
  dorm__credentials_provider_free(p);
}

/* True once pid is gone (or a zombie nobody reaps yet). */
static bool process_gone(long pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  for (int i = 0; i < 200; i++) {
    FILE *fp = fopen(path, "r");
    if (!fp) return true;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    if (rp && rp[1] == ' ' && rp[2] == 'Z') return true;
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return false;
}

static void process_timeout_kills_everything(void **state) {
  fixture *f = *state;
  char body[512];
  /* A background child keeps stdout open: the timeout must still end it. */
  snprintf(body, sizeof body, "sleep 30 &\necho $! > '%s/child'\nwait", f->env.home);
  process_script(f, "hang.sh", body);
  dorm_credentials_provider *p = provider(NULL, 300, 0);
  get_fails(p, DORM_ERR_IO, "did not finish within 300 ms (killed)");
  dorm__credentials_provider_free(p);
  char path[512];
  snprintf(path, sizeof path, "%s/child", f->env.home);
  char *pid = ts_read_file(path, NULL);
  assert_non_null(pid);
  assert_true(process_gone(atol(pid)));
  free(pid);
}

/* ---- container credentials ----------------------------------------------------- */

static char *creds_json(const char *akid, long expires_in) {
  static char buf[512];
  char exp[40];
  snprintf(buf, sizeof buf,
           "{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"SECRET-%s\",\"Token\":\"TOKEN-%s\","
           "\"Expiration\":\"%s\",\"RoleArn\":\"arn:aws:iam::1:role/r\"}",
           akid, akid, akid, iso_in(expires_in, exp, sizeof exp));
  return buf;
}

static void set_full_uri(fixture *f, const char *path) {
  char url[256];
  snprintf(url, sizeof url, "%s%s", fms_url(f->srv), path);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
}

static void container_full_uri(void **state) {
  fixture *f = *state;
  fms_route(f->srv, "GET", "/creds", 200, creds_json("AKIDC", 3600));
  set_full_uri(f, "/creds");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer tok123", 1);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "container");
  assert_int_equal(fms_count(f->srv), 0);
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDC");
  assert_string_equal(c.secret_access_key, "SECRET-AKIDC");
  assert_string_equal(c.session_token, "TOKEN-AKIDC");
  assert_true(c.expiration > time(NULL) + 3500);
  get_ok(p, &c); /* cached */
  assert_int_equal(fms_count(f->srv), 1);
  fms_request r;
  char hv[256];
  assert_true(fms_request_at(f->srv, 0, &r));
  assert_string_equal(r.method, "GET");
  assert_string_equal(r.path, "/creds");
  assert_string_equal(fms_header(&r, "Authorization", hv, sizeof hv), "Bearer tok123");
  dorm__credentials_provider_free(p);
}

static void container_token_file(void **state) {
  fixture *f = *state;
  fms_route(f->srv, "GET", "/v1/credentials", 200, creds_json("AKIDF", 60)); /* inside the refresh window */
  set_full_uri(f, "/v1/credentials");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "from-env", 1);
  const char *tf = cte_write(&f->env, "token", "from-file-1\n");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  dorm_credentials c;
  get_ok(p, &c);
  /* The file is read again on every refresh (the token rotates). */
  cte_write(&f->env, "token", "from-file-2");
  get_ok(p, &c);
  assert_int_equal(fms_count(f->srv), 2);
  fms_request r;
  char hv[256];
  fms_request_at(f->srv, 0, &r);
  assert_string_equal(fms_header(&r, "Authorization", hv, sizeof hv), "from-file-1");
  fms_request_at(f->srv, 1, &r);
  assert_string_equal(fms_header(&r, "Authorization", hv, sizeof hv), "from-file-2");
  dorm__credentials_provider_free(p);

  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/token", 1);
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_IO, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (/nonexistent/token): cannot read");
  dorm__credentials_provider_free(p);
  cte_write(&f->env, "token", "line1\nline2\n");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tf, 1);
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_CONFIG, "the token must be a single line");
  dorm__credentials_provider_free(p);
}

static void container_host_rules(void **state) {
  (void)state;
  static const char *const allowed[] = {
    "https://creds.example.com/x", "http://127.0.0.1:9/x", "http://127.1.2.3/x", "http://localhost/x",
    "http://169.254.170.2/x", "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/x",
    "http://[::1]:80/x",
  };
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed[i], 1);
    dorm_credentials_provider *p = provider(NULL, 0, 0);
    assert_string_equal(dorm__credentials_provider_source(p), "container");
    dorm__credentials_provider_free(p);
  }
  static const char *const refused[] = {"http://example.com/x", "http://169.254.169.254/latest",
                                        "http://10.0.0.1/x", "http://[fd00:ec2::24]/x",
                                        "http://localhost.evil.com/x"};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
    provider_fails(NULL, DORM_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI: http to host");
  }
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "file:///etc/passwd", 1);
  provider_fails(NULL, DORM_ERR_CONFIG, "must use http or https");
  /* RELATIVE_URI wins over FULL_URI (so the refused FULL_URI is not even looked at). */
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/x", 1);
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "container");
  dorm__credentials_provider_free(p);
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials", 1);
  provider_fails(NULL, DORM_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: must start with '/'");
}

static void container_errors(void **state) {
  fixture *f = *state;
  set_full_uri(f, "/creds");
  dorm_credentials_provider *p;

  fms_route(f->srv, "GET", "/creds", 500, "oops");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_BAD_RESPONSE, "answered HTTP 500: oops");
  assert_int_equal(fms_count(f->srv), 2); /* one retry */
  dorm__credentials_provider_free(p);

  fms_route(f->srv, "GET", "/creds", 403, "denied");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_AUTH, "answered HTTP 403: denied");
  assert_int_equal(fms_count(f->srv), 3); /* no retry for a 4xx */
  dorm__credentials_provider_free(p);

  fms_route(f->srv, "GET", "/creds", 200, "{\"AccessKeyId\": 5}");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_BAD_RESPONSE, "container credentials: missing AccessKeyId");
  dorm__credentials_provider_free(p);

  fms_route(f->srv, "GET", "/creds", 200, "<html>");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_BAD_RESPONSE, "expected a JSON object");
  dorm__credentials_provider_free(p);

  size_t before = fms_count(f->srv);
  fms_route(f->srv, "GET", "/creds", 200, creds_json("LATE", 3600));
  fms_route_delay(f->srv, "GET", "/creds", 2000);
  p = provider(NULL, 0, 200);
  get_fails(p, DORM_ERR_TIMEOUT, "container credentials: GET");
  dorm__credentials_provider_free(p);
  /* Both tries reached the server. */
  for (int i = 0; i < 800 && fms_count(f->srv) < before + 2; i++) usleep(10000);
  assert_int_equal(fms_count(f->srv), before + 2);
}

/* ---- IMDSv2 ------------------------------------------------------------------- */

#define ROLES "/latest/meta-data/iam/security-credentials/"

static void imds_routes(fixture *f, const char *akid, long expires_in) {
  char json[600];
  char exp[40];
  snprintf(json, sizeof json,
           "{\"Code\":\"Success\",\"LastUpdated\":\"2024-01-01T00:00:00Z\",\"Type\":\"AWS-HMAC\","
           "\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"SECRET-%s\",\"Token\":\"TOKEN-%s\",\"Expiration\":\"%s\"}",
           akid, akid, akid, iso_in(expires_in, exp, sizeof exp));
  fms_route(f->srv, "PUT", "/latest/api/token", 200, "TOKEN-abc");
  fms_route(f->srv, "GET", ROLES, 200, "my-role\n");
  fms_route(f->srv, "GET", ROLES "my-role", 200, json);
}

static void use_imds(fixture *f) {
  unsetenv("AWS_EC2_METADATA_DISABLED");
  char ep[128];
  snprintf(ep, sizeof ep, "%s/", fms_url(f->srv)); /* a trailing '/' is fine */
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
}

static void imds_v2_flow(void **state) {
  fixture *f = *state;
  imds_routes(f, "AKIDI", 6 * 3600);
  use_imds(f);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  assert_string_equal(dorm__credentials_provider_source(p), "imds");
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDI");
  assert_string_equal(c.secret_access_key, "SECRET-AKIDI");
  assert_string_equal(c.session_token, "TOKEN-AKIDI");
  get_ok(p, &c);
  dorm__credentials_provider_free(p);

  /* Token first, then the role name, then the role's credentials; the token
   * goes with both GETs. */
  assert_int_equal(fms_count(f->srv), 3);
  fms_request r;
  char hv[128];
  fms_request_at(f->srv, 0, &r);
  assert_string_equal(r.method, "PUT");
  assert_string_equal(r.path, "/latest/api/token");
  assert_string_equal(fms_header(&r, "X-aws-ec2-metadata-token-ttl-seconds", hv, sizeof hv), "21600");
  fms_request_at(f->srv, 1, &r);
  assert_string_equal(r.method, "GET");
  assert_string_equal(r.path, ROLES);
  assert_string_equal(fms_header(&r, "X-aws-ec2-metadata-token", hv, sizeof hv), "TOKEN-abc");
  fms_request_at(f->srv, 2, &r);
  assert_string_equal(r.method, "GET");
  assert_string_equal(r.path, ROLES "my-role");
  assert_string_equal(fms_header(&r, "X-aws-ec2-metadata-token", hv, sizeof hv), "TOKEN-abc");
}

static void imds_disabled(void **state) {
  fixture *f = *state;
  imds_routes(f, "AKIDI", 3600);
  use_imds(f);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  provider_fails(NULL, DORM_ERR_CONFIG, "instance metadata is disabled (AWS_EC2_METADATA_DISABLED)");
  assert_int_equal(fms_count(f->srv), 0);
  /* "false" keeps it enabled. */
  setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  dorm_credentials c;
  get_ok(p, &c);
  dorm__credentials_provider_free(p);
  assert_int_equal(fms_count(f->srv), 3);
}

static void imds_refresh_before_expiry(void **state) {
  fixture *f = *state;
  imds_routes(f, "AKID1", 240); /* 4 minutes left: inside the refresh window */
  use_imds(f);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKID1");
  imds_routes(f, "AKID2", 240);
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKID2");
  assert_int_equal(fms_count(f->srv), 6);
  fms_request r;
  fms_request_at(f->srv, 3, &r);
  assert_string_equal(r.method, "PUT"); /* the refresh starts with a new token */

  /* IMDS goes down: the credentials in hand are still valid and stay in use. */
  fms_route(f->srv, "GET", ROLES "my-role", 500, "down");
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKID2");
  dorm__credentials_provider_free(p);

  /* Far from expiry: no refresh. */
  fms_clear_routes(f->srv);
  imds_routes(f, "AKID3", 3600);
  p = provider(NULL, 0, 0);
  size_t before = fms_count(f->srv);
  get_ok(p, &c);
  get_ok(p, &c);
  get_ok(p, &c);
  assert_int_equal(fms_count(f->srv), before + 3);
  dorm__credentials_provider_free(p);
}

static void imds_failures(void **state) {
  fixture *f = *state;
  use_imds(f);
  dorm_credentials_provider *p;

  /* No role attached. */
  fms_route(f->srv, "PUT", "/latest/api/token", 200, "T");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_CONFIG, "no IAM role is attached to this instance");
  get_fails(p, DORM_ERR_CONFIG, "no credentials in dorm_config, the environment");
  dorm__credentials_provider_free(p);

  /* The metadata service reports an error for the role. */
  fms_route(f->srv, "GET", ROLES, 200, "my-role");
  fms_route(f->srv, "GET", ROLES "my-role", 200, "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"nope\"}");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_BAD_RESPONSE, "answered Code \"AssumeRoleUnauthorizedAccess\": nope");
  dorm__credentials_provider_free(p);

  /* A role name that would change the URL is refused. */
  fms_route(f->srv, "GET", ROLES, 200, "../../user-data");
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_BAD_RESPONSE, "returned an invalid role name");
  dorm__credentials_provider_free(p);

  /* Unreachable endpoint. */
  fms *dead = fms_start();
  char ep[128];
  snprintf(ep, sizeof ep, "%s", fms_url(dead));
  fms_stop(dead);
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
  p = provider(NULL, 0, 300);
  get_fails(p, DORM_ERR_NETWORK, "instance metadata: PUT");
  dorm__credentials_provider_free(p);

  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254", 1);
  provider_fails(NULL, DORM_ERR_CONFIG, "AWS_EC2_METADATA_SERVICE_ENDPOINT: '169.254.169.254' must start with http://");
  unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5", 1);
  provider_fails(NULL, DORM_ERR_CONFIG, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: expected 'IPv4' or 'IPv6', got 'IPv5'");
}

static void imds_v1_fallback(void **state) {
  fixture *f = *state;
  imds_routes(f, "AKIDV1", 3600);
  fms_route(f->srv, "PUT", "/latest/api/token", 404, "no v2 here");
  use_imds(f);
  dorm_credentials_provider *p = provider(NULL, 0, 0);
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDV1");
  dorm__credentials_provider_free(p);
  assert_int_equal(fms_count(f->srv), 3);
  fms_request r;
  char hv[64];
  fms_request_at(f->srv, 1, &r);
  assert_null(fms_header(&r, "X-aws-ec2-metadata-token", hv, sizeof hv));

  /* With v1 disabled the 404 is an error and no GET is made. */
  setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
  p = provider(NULL, 0, 0);
  get_fails(p, DORM_ERR_BAD_RESPONSE, "/latest/api/token answered HTTP 404");
  dorm__credentials_provider_free(p);
  assert_int_equal(fms_count(f->srv), 4);
}

static void time_parsing(void **state) {
  (void)state;
  time_t t;
  assert_true(dorm__creds_parse_time("1970-01-01T00:00:00Z", &t));
  assert_int_equal(t, 0);
  assert_true(dorm__creds_parse_time("2024-02-29T12:34:56Z", &t));
  assert_int_equal(t, 1709210096);
  assert_true(dorm__creds_parse_time("2024-02-29T12:34:56.789Z", &t));
  assert_int_equal(t, 1709210096);
  assert_true(dorm__creds_parse_time("2024-02-29T14:34:56+02:00", &t));
  assert_int_equal(t, 1709210096);
  assert_true(dorm__creds_parse_time("2024-02-29T10:04:56-02:30", &t));
  assert_int_equal(t, 1709210096);
  const char *bad[] = {"", "2024-02-29", "2024-02-29T12:34:56", "2024-13-01T00:00:00Z", "2024-02-29T12:34:56Zjunk",
                       "24-02-29T12:34:56Z", "2024-02-29T25:00:00Z", "2024-02-29T12:34:56.Z"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) assert_false(dorm__creds_parse_time(bad[i], &t));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(environment_credentials, setup, teardown),
    cmocka_unit_test_setup_teardown(profile_credentials, setup, teardown),
    cmocka_unit_test_setup_teardown(no_credentials_anywhere, setup, teardown),
    cmocka_unit_test_setup_teardown(process_success, setup, teardown),
    cmocka_unit_test_setup_teardown(process_expiration_refresh, setup, teardown),
    cmocka_unit_test_setup_teardown(process_failures, setup, teardown),
    cmocka_unit_test_setup_teardown(process_timeout_kills_everything, setup, teardown),
    cmocka_unit_test_setup_teardown(container_full_uri, setup_server, teardown),
    cmocka_unit_test_setup_teardown(container_token_file, setup_server, teardown),
    cmocka_unit_test_setup_teardown(container_host_rules, setup, teardown),
    cmocka_unit_test_setup_teardown(container_errors, setup_server, teardown),
    cmocka_unit_test_setup_teardown(imds_v2_flow, setup_server, teardown),
    cmocka_unit_test_setup_teardown(imds_disabled, setup_server, teardown),
    cmocka_unit_test_setup_teardown(imds_refresh_before_expiry, setup_server, teardown),
    cmocka_unit_test_setup_teardown(imds_failures, setup_server, teardown),
    cmocka_unit_test_setup_teardown(imds_v1_fallback, setup_server, teardown),
    cmocka_unit_test(time_parsing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
