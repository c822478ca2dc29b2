/* SigV4: the AWS test suite (tests/runtime/aws/sigv4, from awslabs/aws-c-auth)
 * in both forms, the DynamoDB fast path against the general signer, and the
 * edges the suite does not cover. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "raw_request.h"
#include "sigv4.h"
#include "test_support.h"

#define SUITE_CASES 38

/* ---- the suite ------------------------------------------------------------ */

typedef struct suite_case {
  char name[128];
  char dir[1200];
  raw_request req;
  dorm_sigv4_config cfg;
  char *json; /* keeps cfg's strings alive */
  cJSON *ctx;
} suite_case;

static char *case_file(const suite_case *c, const char *file, size_t *len) {
  char path[1400];
  snprintf(path, sizeof path, "%s/%s", c->dir, file);
  char *text = ts_read_file(path, len);
  if (text == NULL)
    fail_msg("%s: cannot read %s", c->name, path);
  return text;
}

static const char *json_str(const suite_case *c, const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsString(v))
    fail_msg("%s: context.json has no string %s", c->name, key);
  return v->valuestring;
}

static bool json_bool(const cJSON *obj, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* Loads request.txt and context.json of one case. */
static void load_case(suite_case *c, const char *root, const char *name) {
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->dir, sizeof c->dir, "%s/%s", root, name);
  size_t len = 0;
  char *text = case_file(c, "request.txt", &len);
  size_t line = 0;
  char err[256];
  if (!raw_request_parse(text, len, &c->req, &line, err, sizeof err))
    fail_msg("%s: request.txt:%zu: %s", name, line, err);
  free(text);

  c->json = case_file(c, "context.json", NULL);
  c->ctx = cJSON_Parse(c->json);
  assert_non_null(c->ctx);
  const cJSON *cred = cJSON_GetObjectItemCaseSensitive(c->ctx, "credentials");
  assert_non_null(cred);
  c->cfg.region = json_str(c, c->ctx, "region");
  c->cfg.service = json_str(c, c->ctx, "service");
  c->cfg.credentials.access_key_id = json_str(c, cred, "access_key_id");
  c->cfg.credentials.secret_access_key = json_str(c, cred, "secret_access_key");
  const cJSON *tok = cJSON_GetObjectItemCaseSensitive(cred, "token");
  c->cfg.credentials.session_token = cJSON_IsString(tok) ? tok->valuestring : NULL;
  if (!dorm__sigv4_parse_time(json_str(c, c->ctx, "timestamp"), &c->cfg.time))
    fail_msg("%s: bad timestamp", name);
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c->ctx, "expiration_in_seconds");
  c->cfg.expires = cJSON_IsNumber(exp) ? (uint32_t)exp->valuedouble : 0;
  c->cfg.flags = (json_bool(c->ctx, "normalize") ? DORM_SIGV4_NORMALIZE_PATH : 0u) |
                 (json_bool(c->ctx, "sign_body") ? DORM_SIGV4_SIGN_BODY : 0u) |
                 (json_bool(c->ctx, "omit_session_token") ? DORM_SIGV4_UNSIGNED_SESSION_TOKEN : 0u);
}

static void free_case(suite_case *c) {
  raw_request_free(&c->req);
  cJSON_Delete(c->ctx);
  free(c->json);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case folders, sorted. */
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

/* Compares one artefact with the case's file byte for byte; returns whether
 * it matched and prints both when not. */
static bool matches(const suite_case *c, const char *file, const char *got, size_t got_len) {
  size_t len = 0;
  char *want = case_file(c, file, &len);
  bool same = len == got_len && memcmp(want, got, len) == 0;
  if (!same)
    print_error("%s: %s differs\n--- expected ---\n%s\n--- got ---\n%.*s\n", c->name, file, want,
                (int)got_len, got);
  free(want);
  return same;
}

static void run_suite(const char *form) {
  char root[1024];
  char *names[64];
  size_t n = list_cases(root, names);
  assert_int_equal(n, SUITE_CASES);
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    suite_case c;
    load_case(&c, root, names[i]);
    bool query = strcmp(form, "query") == 0;
    if (query)
      c.cfg.flags |= DORM_SIGV4_QUERY;
    dorm_sigv4_request req = {c.req.method, c.req.path, c.req.query, c.req.headers,
                              c.req.header_count, c.req.body, c.req.body_len};
    dorm_sigv4_result res;
    char err[256];
    dorm_status st = dorm__sigv4_sign(&req, &c.cfg, &res, err, sizeof err);
    if (st != DORM_OK) {
      print_error("%s (%s): %s\n", c.name, form, err);
      failures++;
    } else {
      char file[64];
      size_t out_len = 0;
      char *out = raw_request_format_signed(&c.req, &res, &out_len);
      assert_non_null(out);
      bool ok = true;
      snprintf(file, sizeof file, "%s-canonical-request.txt", form);
      ok &= matches(&c, file, res.canonical_request, strlen(res.canonical_request));
      snprintf(file, sizeof file, "%s-string-to-sign.txt", form);
      ok &= matches(&c, file, res.string_to_sign, strlen(res.string_to_sign));
      snprintf(file, sizeof file, "%s-signature.txt", form);
      ok &= matches(&c, file, res.signature, strlen(res.signature));
      snprintf(file, sizeof file, "%s-signed-request.txt", form);
      ok &= matches(&c, file, out, out_len);
      failures += !ok;
      free(out);
      dorm__sigv4_result_free(&res);
    }
    free_case(&c);
    free(names[i]);
  }
  if (failures > 0)
    fail_msg("%d of %d cases failed in the %s form", failures, SUITE_CASES, form);
}

static void suite_header_form(void **state) {
  (void)state;
  run_suite("header");
}

static void suite_query_form(void **state) {
  (void)state;
  run_suite("query");
}

/* ---- general signer edges ------------------------------------------------- */

static const dorm_sigv4_config base_cfg = {
    .region = "us-east-1",
    .service = "service",
    .credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL},
    .time = 1440938160, /* 2015-08-30T12:36:00Z */
    .flags = DORM_SIGV4_NORMALIZE_PATH,
    .expires = 3600,
};

static const dorm_sigv4_header host_only[] = {{"Host", "example.amazonaws.com"}};

/* Signs and returns the canonical request's query line (line 3). */
static char *canonical_query(const char *query) {
  dorm_sigv4_request req = {"GET", "/", query, host_only, 1, NULL, 0};
  dorm_sigv4_result res;
  char err[256];
  dorm_status st = dorm__sigv4_sign(&req, &base_cfg, &res, err, sizeof err);
  if (st != DORM_OK)
    fail_msg("%s: %s", query, err);
  const char *l2 = strchr(strchr(res.canonical_request, '\n') + 1, '\n') + 1;
  char *line = strndup(l2, (size_t)(strchr(l2, '\n') - l2));
  dorm__sigv4_result_free(&res);
  return line;
}

static void query_canonicalisation(void **state) {
  (void)state;
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"b=2&a=1", "a=1&b=2"},
      {"a=2&a=1&a=10", "a=1&a=10&a=2"},       /* same name: sorted by value */
      {"flag&empty=&=novalue", "=novalue&empty=&flag="}, /* empty names and values */
      {"a=1&&b=2&", "a=1&b=2"},               /* empty pieces are not parameters */
      {"k=a+b%20c", "k=a%2Bb%20c"},           /* '+' is not a space */
      {"k=%7e%2d%41", "k=~-A"},               /* decoded, then re-encoded canonically */
      {"k=%zz%4", "k=%25zz%254"},             /* bad escapes are literal '%' */
      {"k=a=b", "k=a%3Db"},                   /* only the first '=' separates */
      {"%C3%A9=%e2%82%ac", "%C3%A9=%E2%82%AC"}, /* uppercase hex */
      {"a-b=1&a=1", "a=1&a-b=1"},             /* sorted by name first, not by "name=value" */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *got = canonical_query(cases[i].in);
    if (strcmp(got, cases[i].want) != 0)
      fail_msg("query \"%s\": got \"%s\", want \"%s\"", cases[i].in, got, cases[i].want);
    free(got);
  }
}

static void header_canonicalisation(void **state) {
  (void)state;
  const dorm_sigv4_header headers[] = {
      {"Host", "example.amazonaws.com"},
      {"X-B", "\t one \t\t two \r\n   three  "},
      {"x-a", ""},
      {"X-A", "second"},
      {"x-c", "  "},
  };
  dorm_sigv4_request req = {"GET", "/", NULL, headers, 5, NULL, 0};
  dorm_sigv4_result res;
  char err[256];
  assert_int_equal(dorm__sigv4_sign(&req, &base_cfg, &res, err, sizeof err), DORM_OK);
  assert_non_null(strstr(res.canonical_request, "\nhost:example.amazonaws.com\n"
                                                "x-a:,second\n"
                                                "x-amz-date:20150830T123600Z\n"
                                                "x-b:one two three\n"
                                                "x-c:\n\n"
                                                "host;x-a;x-amz-date;x-b;x-c\n"));
  assert_string_equal(res.signed_headers, "host;x-a;x-amz-date;x-b;x-c");
  dorm__sigv4_result_free(&res);
}

static void path_canonicalisation(void **state) {
  (void)state;
  static const struct {
    const char *in;
    bool normalize;
    const char *want;
  } cases[] = {
      {"", true, "/"},
      {"/a/b/../c/./d/", true, "/a/c/d/"},
      {"/../..", true, "/"},
      {"/a%2Fb", true, "/a%252Fb"}, /* an encoded path is encoded again */
      {"/a%2Fb", false, "/a%252Fb"},
      {"/a//b/", false, "/a//b/"},
      {"/~user/$x", true, "/~user/%24x"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    dorm_sigv4_request req = {"GET", cases[i].in, NULL, host_only, 1, NULL, 0};
    dorm_sigv4_config cfg = base_cfg;
    cfg.flags = cases[i].normalize ? DORM_SIGV4_NORMALIZE_PATH : 0;
    dorm_sigv4_result res;
    char err[256];
    assert_int_equal(dorm__sigv4_sign(&req, &cfg, &res, err, sizeof err), DORM_OK);
    const char *path = strchr(res.canonical_request, '\n') + 1;
    size_t n = (size_t)(strchr(path, '\n') - path);
    if (n != strlen(cases[i].want) || strncmp(path, cases[i].want, n) != 0)
      fail_msg("path \"%s\": got \"%.*s\", want \"%s\"", cases[i].in, (int)n, path, cases[i].want);
    dorm__sigv4_result_free(&res);
  }
}

/* Each bad input is refused with DORM_ERR_INVALID_ARGUMENT and a message
 * naming the problem; the result stays empty. */
static void expect_refused(const dorm_sigv4_request *req, const dorm_sigv4_config *cfg,
                           const char *needle) {
  dorm_sigv4_result res;
  char err[256];
  dorm_status st = dorm__sigv4_sign(req, cfg, &res, err, sizeof err);
  if (st != DORM_ERR_INVALID_ARGUMENT)
    fail_msg("expected a refusal mentioning \"%s\", got status %d (%s)", needle, st, err);
  if (strstr(err, needle) == NULL)
    fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
  assert_null(res.canonical_request);
  assert_null(res.query_params);
  assert_int_equal(res.header_count, 0);
  dorm__sigv4_result_free(&res);
}

static void general_refuses_bad_input(void **state) {
  (void)state;
  dorm_sigv4_request ok = {"GET", "/", NULL, host_only, 1, NULL, 0};
  dorm_sigv4_config cfg = base_cfg;

  const dorm_sigv4_header with_auth[] = {{"Host", "h"}, {"authorization", "x"}};
  dorm_sigv4_request r = ok;
  r.headers = with_auth;
  r.header_count = 2;
  expect_refused(&r, &cfg, "authorization");
  const dorm_sigv4_header with_date[] = {{"X-Amz-Date", "20150830T123600Z"}};
  r.headers = with_date;
  r.header_count = 1;
  expect_refused(&r, &cfg, "X-Amz-Date");
  const dorm_sigv4_header bad_name[] = {{"My Header", "v"}};
  r.headers = bad_name;
  expect_refused(&r, &cfg, "not an HTTP token");
  const dorm_sigv4_header token_hdr[] = {{"X-Amz-Security-Token", "t"}};
  r.headers = token_hdr;
  cfg.credentials.session_token = "tok";
  expect_refused(&r, &cfg, "X-Amz-Security-Token");
  cfg = base_cfg;

  r = ok;
  r.path = "relative";
  expect_refused(&r, &cfg, "path");
  r = ok;
  r.method = "GE T";
  expect_refused(&r, &cfg, "method");
  r = ok;
  r.query = "a=1&x-amz-signature=abc";
  expect_refused(&r, &cfg, "x-amz-signature");
  r.query = "X-Amz-Credential%3D=1"; /* decoded name is "X-Amz-Credential=", not reserved */
  dorm_sigv4_result res;
  assert_int_equal(dorm__sigv4_sign(&r, &cfg, &res, NULL, 0), DORM_OK);
  dorm__sigv4_result_free(&res);
  r.query = "X-Amz-%43redential=1"; /* decodes to X-Amz-Credential */
  expect_refused(&r, &cfg, "X-Amz-Credential");

  cfg.flags |= DORM_SIGV4_QUERY;
  cfg.expires = 0;
  expect_refused(&ok, &cfg, "expiry");
  cfg.expires = DORM_SIGV4_MAX_EXPIRES + 1;
  expect_refused(&ok, &cfg, "expiry");
  cfg = base_cfg;
  cfg.flags = 1u << 20;
  expect_refused(&ok, &cfg, "flags");
  cfg = base_cfg;
  cfg.region = "";
  expect_refused(&ok, &cfg, "region");
  cfg.region = "us/east";
  expect_refused(&ok, &cfg, "region");
  cfg = base_cfg;
  cfg.service = NULL;
  expect_refused(&ok, &cfg, "service");
  cfg = base_cfg;
  cfg.credentials.secret_access_key = "";
  expect_refused(&ok, &cfg, "secret");
  cfg = base_cfg;
  cfg.credentials.access_key_id = "AK ID";
  expect_refused(&ok, &cfg, "access key");
  cfg = base_cfg;
  cfg.credentials.session_token = "tok\r\nX-Evil: 1";
  expect_refused(&ok, &cfg, "session token");
  cfg = base_cfg;
  cfg.time = -1;
  expect_refused(&ok, &cfg, "time");
  cfg.time = DORM_SIGV4_MAX_TIME + 1;
  expect_refused(&ok, &cfg, "time");
}

static void time_format_and_parse(void **state) {
  (void)state;
  char buf[DORM_SIGV4_AMZ_DATE_LEN + 1];
  assert_true(dorm__sigv4_format_time(0, buf));
  assert_string_equal(buf, "19700101T000000Z");
  assert_true(dorm__sigv4_format_time(1440938160, buf));
  assert_string_equal(buf, "20150830T123600Z");
  assert_true(dorm__sigv4_format_time(951782400, buf)); /* leap day of a 400-year */
  assert_string_equal(buf, "20000229T000000Z");
  assert_true(dorm__sigv4_format_time(DORM_SIGV4_MAX_TIME, buf));
  assert_string_equal(buf, "99991231T235959Z");
  assert_false(dorm__sigv4_format_time(-1, buf));
  assert_string_equal(buf, "");

  int64_t t = 0;
  assert_true(dorm__sigv4_parse_time("20150830T123600Z", &t));
  assert_int_equal(t, 1440938160);
  assert_true(dorm__sigv4_parse_time("2015-08-30T12:36:00Z", &t));
  assert_int_equal(t, 1440938160);
  assert_true(dorm__sigv4_parse_time("20240229T000000Z", &t));
  assert_int_equal(t, 1709164800);
  /* Every day of 1970..2100 round-trips. */
  for (int64_t d = 0; d < 48000; d++) {
    int64_t back = -1;
    assert_true(dorm__sigv4_format_time(d * 86400 + 3661, buf));
    assert_true(dorm__sigv4_parse_time(buf, &back));
    assert_int_equal(back, d * 86400 + 3661);
  }
  const char *bad[] = {"20230229T000000Z", "20150830T123600",  "2015-08-30 12:36:00Z",
                       "20151301T000000Z", "20150830T240000Z", "19691231T235959Z",
                       "2015083OT123600Z", "",                 "20150431T000000Z"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (dorm__sigv4_parse_time(bad[i], &t))
      fail_msg("accepted \"%s\"", bad[i]);
  assert_false(dorm__sigv4_parse_time(NULL, &t));
}

static void signature_compare(void **state) {
  (void)state;
  const char *a = "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea";
  assert_true(dorm__sigv4_signature_equal(a, a));
  assert_true(dorm__sigv4_signature_equal(
      a, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"));
  assert_false(dorm__sigv4_signature_equal(
      a, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138eb"));
  assert_false(dorm__sigv4_signature_equal(a, "c9d5"));
  assert_false(dorm__sigv4_signature_equal(a, NULL));
  assert_false(dorm__sigv4_signature_equal(NULL, NULL));
}

/* ---- the DynamoDB fast path ----------------------------------------------- */

/* Signs the same DynamoDB request with the general signer and returns its
 * Authorization value (malloc'd). */
static char *general_ddb_authorization(const dorm_sigv4_credentials *creds, const char *region,
                                       int64_t t, const dorm_sigv4_ddb_request *d) {
  const dorm_sigv4_header headers[] = {
      {"Content-Type", DORM_SIGV4_DDB_CONTENT_TYPE},
      {"Host", d->host},
      {"X-Amz-Target", d->target},
  };
  dorm_sigv4_request req = {"POST", "/", NULL, headers, 3, d->body, d->body_len};
  dorm_sigv4_config cfg = {region, "dynamodb", *creds, t, DORM_SIGV4_NORMALIZE_PATH, 0};
  dorm_sigv4_result res;
  char err[256];
  if (dorm__sigv4_sign(&req, &cfg, &res, err, sizeof err) != DORM_OK)
    fail_msg("general signer: %s", err);
  char *auth = strdup(res.headers[res.header_count - 1].value);
  assert_string_equal(res.headers[res.header_count - 1].name, "Authorization");
  dorm__sigv4_result_free(&res);
  return auth;
}

static void fast_path_matches_general_signer(void **state) {
  (void)state;
  dorm_sigv4_cache cache;
  assert_int_equal(dorm__sigv4_cache_init(&cache), DORM_OK);
  char big[1024];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)('a' + i % 26);
  const char *json = "{\"TableName\":\"users\",\"Item\":{\"pk\":{\"S\":\"u#1\"}}}";
  const dorm_sigv4_ddb_request reqs[] = {
      {"dynamodb.us-east-1.amazonaws.com", "DynamoDB_20120810.PutItem", json, strlen(json)},
      {"localhost:8000", "DynamoDB_20120810.GetItem", "", 0},
      {"dynamodb.eu-west-1.amazonaws.com", "DynamoDB_20120810.Query", big, sizeof big},
  };
  const dorm_sigv4_credentials creds[] = {
      {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL},
      {"ASIAEXAMPLE", "secret/with+chars=", "FQoGZXIvYXdzEBYaDExampleSessionToken+/=="},
  };
  const char *regions[] = {"us-east-1", "eu-west-1"};
  const int64_t times[] = {1440938160, 1440938160 + 1, 1440938160 + 86400, 1709164800};
  int compared = 0;
  for (size_t c = 0; c < 2; c++)
    for (size_t g = 0; g < 2; g++)
      for (size_t t = 0; t < 4; t++)
        for (size_t r = 0; r < 3; r++) {
          dorm_sigv4_ddb_headers out;
          char err[256];
          dorm_status st = dorm__sigv4_sign_dynamodb(&cache, &creds[c], regions[g], "dynamodb",
                                                    times[t], &reqs[r], &out, err, sizeof err);
          if (st != DORM_OK)
            fail_msg("fast path: %s", err);
          char *want = general_ddb_authorization(&creds[c], regions[g], times[t], &reqs[r]);
          if (strcmp(out.authorization, want) != 0)
            fail_msg("fast path and general signer disagree (creds %zu, region %s, time %lld, "
                     "request %zu):\n  fast:    %s\n  general: %s",
                     c, regions[g], (long long)times[t], r, out.authorization, want);
          char date[DORM_SIGV4_AMZ_DATE_LEN + 1];
          dorm__sigv4_format_time(times[t], date);
          assert_string_equal(out.amz_date, date);
          free(want);
          compared++;
        }
  assert_int_equal(compared, 48);
  dorm__sigv4_cache_cleanup(&cache);
}

/* The key is derived once per (date, region, service, secret) and a change
 * of any of them is noticed. */
static void fast_path_caches_signing_key(void **state) {
  (void)state;
  dorm_sigv4_cache cache;
  assert_int_equal(dorm__sigv4_cache_init(&cache), DORM_OK);
  dorm_sigv4_credentials creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
  dorm_sigv4_ddb_request req = {"localhost:8000", "DynamoDB_20120810.PutItem", "{}", 2};
  dorm_sigv4_ddb_headers out;
  int64_t t = 1440938160;
  char secret2[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
  char long_secret[300];
  memset(long_secret, 's', sizeof long_secret - 1);
  long_secret[sizeof long_secret - 1] = '\0';
  static const struct {
    int64_t dt;
    const char *region, *service;
    int secret; /* 0 example, 1 secret2, 2 long (uncacheable) */
    uint64_t derivations;
  } steps[] = {
      {0, "us-east-1", "dynamodb", 0, 1},
      {5, "us-east-1", "dynamodb", 0, 1},     /* same day: cached */
      {3600, "us-east-1", "dynamodb", 0, 1},
      {86400, "us-east-1", "dynamodb", 0, 2}, /* next day */
      {86400, "eu-west-1", "dynamodb", 0, 3}, /* region */
      {86400, "eu-west-1", "dynamodb", 0, 3},
      {86400, "eu-west-1", "streams", 0, 4},  /* service */
      {86400, "eu-west-1", "streams", 1, 5},  /* secret rotated */
      {86400, "eu-west-1", "streams", 1, 5},
      {86400, "eu-west-1", "streams", 2, 6},  /* too long to cache: derived each time */
      {86400, "eu-west-1", "streams", 2, 7},
      {86400, "eu-west-1", "streams", 1, 8},
  };
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    creds.secret_access_key = steps[i].secret == 0   ? "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
                              : steps[i].secret == 1 ? secret2
                                                     : long_secret;
    char err[256];
    assert_int_equal(dorm__sigv4_sign_dynamodb(&cache, &creds, steps[i].region, steps[i].service,
                                              t + steps[i].dt, &req, &out, err, sizeof err),
                     DORM_OK);
    if (cache.derivations != steps[i].derivations)
      fail_msg("step %zu: %llu derivations, want %llu", i, (unsigned long long)cache.derivations,
               (unsigned long long)steps[i].derivations);
    /* And the signature is the general signer's, so no stale key was used. */
    const dorm_sigv4_header headers[] = {
        {"Content-Type", DORM_SIGV4_DDB_CONTENT_TYPE}, {"Host", req.host}, {"X-Amz-Target", req.target}};
    dorm_sigv4_request g = {"POST", "/", NULL, headers, 3, req.body, req.body_len};
    dorm_sigv4_config cfg = {steps[i].region, steps[i].service, creds, t + steps[i].dt, 0, 0};
    dorm_sigv4_result res;
    assert_int_equal(dorm__sigv4_sign(&g, &cfg, &res, err, sizeof err), DORM_OK);
    assert_string_equal(out.authorization, res.headers[res.header_count - 1].value);
    dorm__sigv4_result_free(&res);
  }
  dorm__sigv4_cache_cleanup(&cache);
  assert_false(cache.key_valid); /* the key's states and the secret are wiped */
  assert_int_equal(cache.secret_len, 0);
  char err[256];
  assert_int_equal(dorm__sigv4_sign_dynamodb(&cache, &creds, "us-east-1", "dynamodb", t, &req, &out, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT); /* a cleaned-up cache signs nothing */
  dorm__sigv4_cache_cleanup(&cache); /* twice is harmless */
}

static void fast_path_refuses_bad_input(void **state) {
  (void)state;
  dorm_sigv4_cache cache;
  assert_int_equal(dorm__sigv4_cache_init(&cache), DORM_OK);
  dorm_sigv4_credentials creds = {"AKIDEXAMPLE", "secret", NULL};
  dorm_sigv4_ddb_request req = {"localhost:8000", "DynamoDB_20120810.PutItem", "{}", 2};
  dorm_sigv4_ddb_headers out;
  char err[256];
  char long_ak[DORM_SIGV4_MAX_ACCESS_KEY + 2];
  memset(long_ak, 'A', sizeof long_ak - 1);
  long_ak[sizeof long_ak - 1] = '\0';
  struct {
    dorm_sigv4_credentials creds;
    const char *region, *service;
    int64_t t;
    dorm_sigv4_ddb_request req;
    const char *needle;
  } bad[] = {
      {{"", "secret", NULL}, "us-east-1", "dynamodb", 0, req, "access key"},
      {{long_ak, "secret", NULL}, "us-east-1", "dynamodb", 0, req, "access key"},
      {{"AK", "", NULL}, "us-east-1", "dynamodb", 0, req, "secret"},
      {creds, "", "dynamodb", 0, req, "region"},
      {creds, "us east", "dynamodb", 0, req, "region"},
      {creds, "us-east-1", "dyna/mo", 0, req, "service"},
      {creds, "us-east-1", "dynamodb", -5, req, "time"},
      {{"AK", "s", "tok\nX-Evil: 1"}, "us-east-1", "dynamodb", 0, req, "session token"},
      {creds, "us-east-1", "dynamodb", 0, {"local host", "T", "", 0}, "host"},
      {creds, "us-east-1", "dynamodb", 0, {"h", "", "", 0}, "target"},
      {creds, "us-east-1", "dynamodb", 0, {"h", "T", NULL, 3}, "body"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = '\0';
    dorm_status st = dorm__sigv4_sign_dynamodb(&cache, &bad[i].creds, bad[i].region,
                                              bad[i].service, bad[i].t, &bad[i].req, &out, err,
                                              sizeof err);
    if (st != DORM_ERR_INVALID_ARGUMENT || strstr(err, bad[i].needle) == NULL)
      fail_msg("case %zu: status %d, error \"%s\" (want \"%s\")", i, st, err, bad[i].needle);
  }
  assert_int_equal(cache.derivations, 0); /* refused before any work */
  assert_int_equal(dorm__sigv4_sign_dynamodb(NULL, &creds, "r", "s", 0, &req, &out, err, sizeof err),
                   DORM_ERR_INVALID_ARGUMENT);
  dorm__sigv4_cache_cleanup(&cache);
}

/* ---- the raw request parser ------------------------------------------------ */

static void raw_request_parsing(void **state) {
  (void)state;
  raw_request r;
  size_t line;
  char err[256];
  const char *crlf = "POST /a%20b?x=1&y HTTP/1.1\r\nHost: h\r\nX-M: one\r\n\t two\r\n\r\nbody\r\n";
  assert_true(raw_request_parse(crlf, strlen(crlf), &r, &line, err, sizeof err));
  assert_string_equal(r.method, "POST");
  assert_string_equal(r.target, "/a%20b?x=1&y");
  assert_string_equal(r.path, "/a%20b");
  assert_string_equal(r.query, "x=1&y");
  assert_int_equal(r.header_count, 2);
  assert_string_equal(r.headers[1].value, " one\n\t two");
  assert_int_equal(r.body_len, 6);
  assert_memory_equal(r.body, "body\r\n", 6);
  assert_true(r.has_blank_line);
  raw_request_free(&r);

  const char *no_body = "GET / HTTP/1.1\nHost:h"; /* ends without newline or blank line */
  assert_true(raw_request_parse(no_body, strlen(no_body), &r, &line, err, sizeof err));
  assert_null(r.query);
  assert_int_equal(r.body_len, 0);
  assert_false(r.has_blank_line);
  raw_request_free(&r);

  static const struct {
    const char *text;
    size_t line;
    const char *needle;
  } bad[] = {
      {"", 1, "empty input"},
      {"GET\n", 1, "bad request line"},
      {"GET /\n", 1, "bad request line"},
      {"GET / HTTP/x\n", 1, "HTTP version"},
      {"G(T / HTTP/1.1\n", 1, "method"},
      {"GET example.com HTTP/1.1\n", 1, "starting with '/'"},
      {"GET / HTTP/1.1\n value\n", 2, "continuation line"},
      {"POST / HTTP/1.1\nHost:h\nParam1=value1", 3, "blank line"},
      {"POST / HTTP/1.1\nHost:h\n{\"a\": 1}\n", 3, "blank line"},
      {"GET / HTTP/1.1\nBad Name: v\n", 2, "not an HTTP token"},
      {"GET / HTTP/1.1\nX:a\x01z\n", 2, "control character"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    bool ok = raw_request_parse(bad[i].text, strlen(bad[i].text), &r, &line, err, sizeof err);
    if (ok || line != bad[i].line || strstr(err, bad[i].needle) == NULL)
      fail_msg("input %zu: ok=%d line=%zu error \"%s\" (want line %zu, \"%s\")", i, ok, line, err,
               bad[i].line, bad[i].needle);
    assert_null(r.method);
  }
  const char nul[] = "GET / HTTP/1.1\nX: a\0b\n";
  assert_false(raw_request_parse(nul, sizeof nul - 1, &r, &line, err, sizeof err));
  assert_int_equal(line, 2);
  assert_non_null(strstr(err, "NUL"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(suite_header_form),
      cmocka_unit_test(suite_query_form),
      cmocka_unit_test(query_canonicalisation),
      cmocka_unit_test(header_canonicalisation),
      cmocka_unit_test(path_canonicalisation),
      cmocka_unit_test(general_refuses_bad_input),
      cmocka_unit_test(time_format_and_parse),
      cmocka_unit_test(signature_compare),
      cmocka_unit_test(fast_path_matches_general_signer),
      cmocka_unit_test(fast_path_caches_signing_key),
      cmocka_unit_test(fast_path_refuses_bad_input),
      cmocka_unit_test(raw_request_parsing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
