/* IAM Identity Center profiles (sso_session and legacy sso_start_url)
 * against loopback SSO portal and SSO OIDC servers that answer like AWS:
 * GetRoleCredentials (GET /federation/credentials with the bearer token,
 * unsigned) and CreateToken (POST /token, grant refresh_token, unsigned). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "config_test_env.h"
#include "credentials.h"
#include "fake_sts.h"

/* sha1("my-sso") and sha1("https://legacy.awsapps.com/start"): the names
 * the AWS CLI gives the cache files (computed independently). */
#define SESSION_CACHE ".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json"
#define LEGACY_CACHE ".aws/sso/cache/79e435d7a515078e81c9dffc35f38d5687ebd3a7.json"

typedef struct fake_sso {
  fas *srv;
  char token[64];          /* the access token GetRoleCredentials accepts */
  char refresh[64];        /* the refresh token CreateToken accepts */
  int token_status;        /* CreateToken answers this (200: a new token) */
  int creds_status;        /* GetRoleCredentials answers this when the token is right */
  char access_key[32];     /* the role credentials it hands out */
  char secret[32];
  int refreshes;
  char bad[256];
} fake_sso;

typedef struct fixture {
  cte env;
  fake_sso sso;
  fake_sts sts;
} fixture;

static void bad(fake_sso *s, const char *what) {
  if (!s->bad[0]) snprintf(s->bad, sizeof s->bad, "%s", what);
}

static void sso_handler(void *user, const fas_request *r, fas_response *resp) {
  fake_sso *s = user;
  char v[256];
  snprintf(resp->content_type, sizeof resp->content_type, "application/json");
  if (fas_header(r, "Authorization", v, sizeof v)) bad(s, "SSO request was signed");
  if (strcmp(r->method, "GET") == 0 && strncmp(r->path, "/federation/credentials?", 24) == 0) {
    const char *q = r->path + 24;
    if (!fas_param(q, "account_id", v, sizeof v) || strcmp(v, "111122223333") != 0) bad(s, "account_id");
    if (!fas_param(q, "role_name", v, sizeof v) || strcmp(v, "ReadOnly") != 0) bad(s, "role_name");
    if (!fas_header(r, "x-amz-sso_bearer_token", v, sizeof v) || strcmp(v, s->token) != 0) {
      resp->status = 401;
      snprintf(resp->body, sizeof resp->body, "{\"message\":\"Session token not found or invalid\"}");
      return;
    }
    if (s->creds_status != 200) {
      resp->status = s->creds_status;
      snprintf(resp->body, sizeof resp->body, "{\"message\":\"No access\"}");
      return;
    }
    long long exp_ms = (long long)(time(NULL) + 3600) * 1000LL;
    snprintf(resp->body, sizeof resp->body,
             "{\"roleCredentials\":{\"accessKeyId\":\"%s\",\"secretAccessKey\":\"%s\","
             "\"sessionToken\":\"SSOSESSIONTOKEN\",\"expiration\":%lld}}",
             s->access_key, s->secret, exp_ms);
    return;
  }
  if (strcmp(r->method, "POST") == 0 && strcmp(r->path, "/token") == 0) {
    if (!fas_header(r, "Content-Type", v, sizeof v) || strcmp(v, "application/json") != 0) bad(s, "CreateToken content type");
    cJSON *req = cJSON_Parse(r->body);
    const cJSON *gt = cJSON_GetObjectItemCaseSensitive(req, "grantType");
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(req, "clientId");
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(req, "clientSecret");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(req, "refreshToken");
    if (!cJSON_IsString(gt) || strcmp(gt->valuestring, "refresh_token") != 0) bad(s, "grantType");
    if (!cJSON_IsString(cid) || strcmp(cid->valuestring, "client-1") != 0) bad(s, "clientId");
    if (!cJSON_IsString(cs) || strcmp(cs->valuestring, "client-secret-1") != 0) bad(s, "clientSecret");
    bool ok = cJSON_IsString(rt) && strcmp(rt->valuestring, s->refresh) == 0;
    cJSON_Delete(req);
    if (s->token_status != 200 || !ok) {
      resp->status = s->token_status != 200 ? s->token_status : 400;
      snprintf(resp->body, sizeof resp->body,
               "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token provided\"}");
      return;
    }
    s->refreshes++;
    snprintf(s->token, sizeof s->token, "access-%d", s->refreshes + 1);
    snprintf(s->refresh, sizeof s->refresh, "refresh-%d", s->refreshes + 1);
    snprintf(resp->body, sizeof resp->body,
             "{\"accessToken\":\"%s\",\"expiresIn\":28800,\"refreshToken\":\"%s\",\"tokenType\":\"Bearer\"}",
             s->token, s->refresh);
    return;
  }
  bad(s, "unknown request");
  resp->status = 404;
  snprintf(resp->body, sizeof resp->body, "{\"message\":\"not found\"}");
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  cte_setup(&f->env);
  setenv("AWS_REGION", "us-east-1", 1);
  char dir[400];
  snprintf(dir, sizeof dir, "%s/.aws/sso", f->env.home);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/.aws/sso/cache", f->env.home);
  mkdir(dir, 0700);
  f->sso.srv = fas_start(sso_handler, &f->sso);
  if (!f->sso.srv || !fake_sts_start(&f->sts)) return -1;
  snprintf(f->sso.token, sizeof f->sso.token, "access-1");
  snprintf(f->sso.refresh, sizeof f->sso.refresh, "refresh-1");
  snprintf(f->sso.access_key, sizeof f->sso.access_key, "AKIDENV");
  snprintf(f->sso.secret, sizeof f->sso.secret, "SECRETENV");
  f->sso.token_status = 200;
  f->sso.creds_status = 200;
  setenv("AWS_ENDPOINT_URL_SSO", fas_url(f->sso.srv), 1);
  setenv("AWS_ENDPOINT_URL_SSO_OIDC", fas_url(f->sso.srv), 1);
  setenv("AWS_ENDPOINT_URL_STS", fas_url(f->sts.srv), 1);
  cte_write(&f->env, ".aws/config",
            "[profile sso]\nsso_session = my-sso\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\n"
            "[sso-session my-sso]\nsso_start_url = https://my.awsapps.com/start\nsso_region = us-east-1\n"
            "sso_registration_scopes = sso:account:access\n"
            "[profile legacy]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-1\n"
            "sso_account_id = 111122223333\nsso_role_name = ReadOnly\n"
            "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = sso\n"
            "[profile nosession]\nsso_session = missing\nsso_account_id = 1\nsso_role_name = R\n"
            "[profile norole]\nsso_session = my-sso\nsso_account_id = 111122223333\n"
            "[profile mismatch]\nsso_session = my-sso\nsso_region = eu-west-1\nsso_account_id = 1\nsso_role_name = R\n");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->sso.bad[0]) fprintf(stderr, "fake SSO: %s\n", f->sso.bad);
  if (f->sts.bad[0]) fprintf(stderr, "fake STS: %s\n", f->sts.bad);
  assert_string_equal(f->sso.bad, "");
  assert_string_equal(f->sts.bad, "");
  fas_stop(f->sso.srv);
  fake_sts_stop(&f->sts);
  cte_teardown(&f->env);
  unsetenv("AWS_ENDPOINT_URL_SSO");
  unsetenv("AWS_ENDPOINT_URL_SSO_OIDC");
  unsetenv("AWS_ENDPOINT_URL_STS");
  free(f);
  return 0;
}

static const char *iso_in(long secs, char *buf, size_t cap) {
  time_t t = time(NULL) + secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/* The cache file as `aws sso login` writes it for an sso_session. */
static void write_session_cache(fixture *f, const char *token, long expires_in) {
  char exp[40], reg[40], text[1024];
  snprintf(text, sizeof text,
           "{\"startUrl\": \"https://my.awsapps.com/start\", \"region\": \"us-east-1\", \"accessToken\": \"%s\", "
           "\"expiresAt\": \"%s\", \"clientId\": \"client-1\", \"clientSecret\": \"client-secret-1\", "
           "\"registrationExpiresAt\": \"%s\", \"refreshToken\": \"refresh-1\"}",
           token, iso_in(expires_in, exp, sizeof exp), iso_in(86400 * 30, reg, sizeof reg));
  cte_write(&f->env, SESSION_CACHE, text);
}

static dorm_credentials_provider *provider(const char *profile, const char *fails_with) {
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.profile = profile;
  dorm_resolved_config rc;
  char err[900] = "";
  assert_int_equal(dorm__config_resolve(&cfg, &rc, err, sizeof err), DORM_OK);
  dorm_credentials_provider *p = NULL;
  dorm_status st = dorm__credentials_provider_new(&rc, &p, err, sizeof err);
  dorm__resolved_config_free(&rc);
  if (fails_with) {
    if (st != DORM_ERR_CONFIG || !strstr(err, fails_with)) fprintf(stderr, "got %d '%s'\n", st, err);
    assert_int_equal(st, DORM_ERR_CONFIG);
    assert_non_null(strstr(err, fails_with));
    return NULL;
  }
  if (st != DORM_OK) fprintf(stderr, "provider: %s\n", err);
  assert_int_equal(st, DORM_OK);
  return p;
}

static void get_fails(dorm_credentials_provider *p, dorm_status want, const char *m1, const char *m2) {
  dorm_credentials c;
  char err[900] = "";
  dorm_status st = dorm__credentials_provider_get(p, &c, err, sizeof err);
  if (st != want || !strstr(err, m1) || (m2 && !strstr(err, m2))) fprintf(stderr, "got %d '%s'\n", st, err);
  assert_int_equal(st, want);
  assert_non_null(strstr(err, m1));
  if (m2) assert_non_null(strstr(err, m2));
  assert_null(strstr(err, "access-1")); /* tokens stay out of messages */
  assert_null(strstr(err, "refresh-1"));
}

static void get_ok(dorm_credentials_provider *p, dorm_credentials *c) {
  char err[900] = "";
  dorm_status st = dorm__credentials_provider_get(p, c, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "get: %s\n", err);
  assert_int_equal(st, DORM_OK);
}

static void session_profile(void **state) {
  fixture *f = *state;
  write_session_cache(f, "access-1", 3600);
  dorm_credentials_provider *p = provider("sso", NULL);
  assert_string_equal(dorm__credentials_provider_source(p), "sso");
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDENV");
  assert_string_equal(c.secret_access_key, "SECRETENV");
  assert_string_equal(c.session_token, "SSOSESSIONTOKEN");
  /* expiration is milliseconds since the epoch on the wire */
  assert_true(c.expiration > time(NULL) + 3500 && c.expiration <= time(NULL) + 3600);
  assert_int_equal(fas_count(f->sso.srv), 1);
  fas_request r;
  char v[64];
  fas_request_at(f->sso.srv, 0, &r);
  assert_string_equal(r.method, "GET");
  assert_string_equal(r.path, "/federation/credentials?account_id=111122223333&role_name=ReadOnly");
  assert_string_equal(fas_header(&r, "x-amz-sso_bearer_token", v, sizeof v), "access-1");
  dorm__credentials_provider_free(p);

  /* The portal refuses the role. */
  f->sso.creds_status = 403;
  p = provider("sso", NULL);
  get_fails(p, DORM_ERR_AUTH, "SSO GetRoleCredentials", "HTTP 403: No access (account 111122223333, role ReadOnly)");
  dorm__credentials_provider_free(p);
}

static void legacy_profile(void **state) {
  fixture *f = *state;
  char exp[40], text[512];
  snprintf(text, sizeof text,
           "{\"startUrl\": \"https://legacy.awsapps.com/start\", \"region\": \"us-east-1\", "
           "\"accessToken\": \"access-1\", \"expiresAt\": \"%s\"}", iso_in(3600, exp, sizeof exp));
  cte_write(&f->env, LEGACY_CACHE, text);
  dorm_credentials_provider *p = provider("legacy", NULL);
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "AKIDENV");
  dorm__credentials_provider_free(p);

  /* Expired: legacy tokens cannot be refreshed; the message says what to run. */
  snprintf(text, sizeof text,
           "{\"startUrl\": \"https://legacy.awsapps.com/start\", \"region\": \"us-east-1\", "
           "\"accessToken\": \"access-1\", \"expiresAt\": \"%s\"}", iso_in(-60, exp, sizeof exp));
  cte_write(&f->env, LEGACY_CACHE, text);
  p = provider("legacy", NULL);
  get_fails(p, DORM_ERR_AUTH, "the SSO session expired at", "run 'aws sso login --profile legacy'");
  dorm__credentials_provider_free(p);
  assert_int_equal(fas_count(f->sso.srv), 1);
}

static void refresh_expired_token(void **state) {
  fixture *f = *state;
  write_session_cache(f, "access-old", -60);
  dorm_credentials_provider *p = provider("sso", NULL);
  dorm_credentials c;
  get_ok(p, &c);
  assert_int_equal(f->sso.refreshes, 1);
  assert_int_equal(fas_count(f->sso.srv), 2);
  fas_request r;
  char v[64];
  fas_request_at(f->sso.srv, 0, &r);
  assert_string_equal(r.method, "POST");
  assert_string_equal(r.path, "/token");
  fas_request_at(f->sso.srv, 1, &r);
  assert_string_equal(fas_header(&r, "x-amz-sso_bearer_token", v, sizeof v), "access-2");
  /* The cache holds the new token, so the CLI and the next process see it. */
  char path[512], text[2048];
  snprintf(path, sizeof path, "%s/%s", f->env.home, SESSION_CACHE);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  size_t n = fread(text, 1, sizeof text - 1, fp);
  fclose(fp);
  text[n] = '\0';
  assert_non_null(strstr(text, "\"accessToken\":\"access-2\""));
  assert_non_null(strstr(text, "\"refreshToken\":\"refresh-2\""));
  assert_non_null(strstr(text, "\"clientId\":\"client-1\""));
  dorm__credentials_provider_free(p);

  /* A refresh the OIDC service refuses, with the token expired: log in again. */
  write_session_cache(f, "access-old", -60);
  snprintf(f->sso.refresh, sizeof f->sso.refresh, "something-else");
  p = provider("sso", NULL);
  get_fails(p, DORM_ERR_AUTH, "invalid_grant: Invalid refresh token provided", "run 'aws sso login --profile sso'");
  dorm__credentials_provider_free(p);

  /* A token the portal no longer accepts. */
  write_session_cache(f, "revoked", 3600);
  p = provider("sso", NULL);
  get_fails(p, DORM_ERR_AUTH, "HTTP 401: Session token not found or invalid", "aws sso login --profile sso");
  dorm__credentials_provider_free(p);
}

static void missing_and_wrong(void **state) {
  fixture *f = *state;
  dorm_credentials_provider *p = provider("sso", NULL);
  get_fails(p, DORM_ERR_CONFIG, "no SSO token in", "run 'aws sso login --profile sso'");
  dorm__credentials_provider_free(p);
  cte_write(&f->env, SESSION_CACHE, "{\"accessToken\": 5}");
  p = provider("sso", NULL);
  get_fails(p, DORM_ERR_CONFIG, "is not what aws sso login writes", NULL);
  dorm__credentials_provider_free(p);
  provider("nosession", "profile 'nosession' uses sso_session 'missing', but ~/.aws/config has no [sso-session missing]");
  provider("norole", "profile 'norole' needs sso_account_id and sso_role_name");
  provider("mismatch", "profile 'mismatch' sets sso_region different from its [sso-session my-sso]");
  assert_int_equal(fas_count(f->sso.srv), 0);
}

static void sso_as_role_source(void **state) {
  fixture *f = *state;
  write_session_cache(f, "access-1", 3600);
  dorm_credentials_provider *p = provider("app", NULL);
  dorm_credentials c;
  get_ok(p, &c);
  /* The SSO role's keys sign AssumeRole. */
  assert_string_equal(f->sts.last_signer, "AKIDENV");
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000001");
  dorm__credentials_provider_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(session_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(legacy_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(refresh_expired_token, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_and_wrong, setup, teardown),
      cmocka_unit_test_setup_teardown(sso_as_role_source, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
