/* Roles in the credential chain, against a loopback STS (fake_sts.c):
 * role_arn + source_profile (chains, cycles), credential_source, web
 * identity from the environment and from profiles, STS's errors, regional
 * endpoints, refresh before and after expiry, sharing between threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config_test_env.h"
#include "credentials.h"
#include "fake_metadata_server.h"
#include "fake_sts.h"

typedef struct fixture {
  cte env;
  fake_sts sts;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  cte_setup(&f->env);
  setenv("AWS_REGION", "us-east-1", 1);
  unsetenv("AWS_ROLE_ARN");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_ROLE_SESSION_NAME");
  unsetenv("AWS_STS_REGIONAL_ENDPOINTS");
  unsetenv("AWS_ENDPOINT_URL_STS");
  if (!fake_sts_start(&f->sts)) return -1;
  setenv("AWS_ENDPOINT_URL_STS", fas_url(f->sts.srv), 1);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  /* Every request the fake STS saw had the shape AWS requires. */
  if (f->sts.bad[0]) fprintf(stderr, "fake STS: %s\n", f->sts.bad);
  assert_string_equal(f->sts.bad, "");
  fake_sts_stop(&f->sts);
  cte_teardown(&f->env);
  unsetenv("AWS_ROLE_ARN");
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  unsetenv("AWS_ROLE_SESSION_NAME");
  unsetenv("AWS_STS_REGIONAL_ENDPOINTS");
  unsetenv("AWS_ENDPOINT_URL_STS");
  free(f);
  return 0;
}

static dorm_credentials_provider *provider(const char *profile) {
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.profile = profile;
  dorm_resolved_config rc;
  char err[900] = "";
  dorm_status st = dorm__config_resolve(&cfg, &rc, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "resolve: %s\n", err);
  assert_int_equal(st, DORM_OK);
  dorm_credentials_provider *p = NULL;
  st = dorm__credentials_provider_new(&rc, &p, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "provider: %s\n", err);
  dorm__resolved_config_free(&rc);
  assert_int_equal(st, DORM_OK);
  return p;
}

static void provider_fails(const char *profile, const char *msg) {
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.profile = profile;
  dorm_resolved_config rc;
  char err[900] = "";
  assert_int_equal(dorm__config_resolve(&cfg, &rc, err, sizeof err), DORM_OK);
  dorm_credentials_provider *p = NULL;
  dorm_status st = dorm__credentials_provider_new(&rc, &p, err, sizeof err);
  dorm__resolved_config_free(&rc);
  if (st != DORM_ERR_CONFIG || !strstr(err, msg)) fprintf(stderr, "got %d '%s'\nwant '%s'\n", st, err, msg);
  assert_int_equal(st, DORM_ERR_CONFIG);
  assert_null(p);
  assert_non_null(strstr(err, msg));
}

static void get_ok(dorm_credentials_provider *p, dorm_credentials *c) {
  char err[900] = "";
  dorm_status st = dorm__credentials_provider_get(p, c, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "get: %s\n", err);
  assert_int_equal(st, DORM_OK);
}

/* The failure's message, which must contain every one of the NULL-ended
 * fragments and none of the secrets the test used. */
static void get_fails(dorm_credentials_provider *p, dorm_status want, ...) {
  dorm_credentials c;
  char err[900] = "";
  dorm_status st = dorm__credentials_provider_get(p, &c, err, sizeof err);
  if (st != want) fprintf(stderr, "got %d '%s', want %d\n", st, err, want);
  assert_int_equal(st, want);
  va_list ap;
  va_start(ap, want);
  for (const char *m; (m = va_arg(ap, const char *));) {
    if (!strstr(err, m)) fprintf(stderr, "'%s'\nlacks '%s'\n", err, m);
    assert_non_null(strstr(err, m));
  }
  va_end(ap);
  static const char *const secrets[] = {"SECRETBASE", "SECRETENV", "SECRETMETA", "SECRET1", "TOKEN1", "TOKEN2",
                                         "eyJ" /* web identity tokens */};
  for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) assert_null(strstr(err, secrets[i]));
}

#define BASE_CREDENTIALS "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = SECRETBASE\n"
#define ROLE_APP "arn:aws:iam::123456789012:role/app"

/* ---- role_arn + source_profile ------------------------------------------------ */

static void source_profile_role(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config",
            "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = base\nexternal_id = ext-42\n"
            "role_session_name = sess-1\nduration_seconds = 1800\n");
  dorm_credentials_provider *p = provider("app");
  assert_string_equal(dorm__credentials_provider_source(p), "assume_role");
  assert_int_equal(fas_count(f->sts.srv), 0); /* nothing fetched before the first get */
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000001");
  assert_string_equal(c.secret_access_key, "SECRET1");
  assert_string_equal(c.session_token, "TOKEN1");
  assert_true(c.expiration > time(NULL) + 3500);
  assert_string_equal(f->sts.last_action, "AssumeRole");
  assert_string_equal(f->sts.last_role, ROLE_APP);
  assert_string_equal(f->sts.last_session, "sess-1");
  assert_string_equal(f->sts.last_external_id, "ext-42");
  assert_string_equal(f->sts.last_duration, "1800");
  assert_string_equal(f->sts.last_signer, "AKIDBASE");
  assert_string_equal(f->sts.last_region, "us-east-1");
  /* Far from expiry: cached. */
  get_ok(p, &c);
  get_ok(p, &c);
  assert_int_equal(fas_count(f->sts.srv), 1);
  dorm__credentials_provider_free(p);

  /* Without role_session_name the SDKs make one up; so do we. */
  cte_write(&f->env, ".aws/config", "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = base\n");
  p = provider("app");
  get_ok(p, &c);
  assert_memory_equal(f->sts.last_session, "dorm-session-", 13);
  assert_string_equal(f->sts.last_external_id, "");
  assert_string_equal(f->sts.last_duration, "");
  dorm__credentials_provider_free(p);
}

static void role_chain(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config",
            "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = mid\n"
            "[profile mid]\nrole_arn = arn:aws:iam::210987654321:role/mid\nsource_profile = base\n");
  dorm_credentials_provider *p = provider("app");
  dorm_credentials c;
  get_ok(p, &c);
  /* base's keys assume mid; mid's temporary keys (with their token) assume app. */
  assert_int_equal(fas_count(f->sts.srv), 2);
  fas_request r;
  char v[256];
  fas_request_at(f->sts.srv, 0, &r);
  assert_string_equal(fas_param(r.body, "RoleArn", v, sizeof v), "arn:aws:iam::210987654321:role/mid");
  assert_non_null(strstr(fas_header(&r, "Authorization", v, sizeof v), "Credential=AKIDBASE/"));
  fas_request_at(f->sts.srv, 1, &r);
  assert_string_equal(fas_param(r.body, "RoleArn", v, sizeof v), ROLE_APP);
  assert_non_null(strstr(fas_header(&r, "Authorization", v, sizeof v), "Credential=ASIAFAKE000000000001/"));
  assert_string_equal(fas_header(&r, "X-Amz-Security-Token", v, sizeof v), "TOKEN1");
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000002");
  dorm__credentials_provider_free(p);

  /* A source profile's static keys win over its own role (the SDKs' rule). */
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS "[mid]\naws_access_key_id = AKIDENV\n"
                                         "aws_secret_access_key = SECRETENV\n");
  p = provider("app");
  get_ok(p, &c);
  assert_int_equal(fas_count(f->sts.srv), 3);
  assert_string_equal(f->sts.last_signer, "AKIDENV");
  dorm__credentials_provider_free(p);

  /* A profile may be its own source when it holds keys. */
  cte_write(&f->env, ".aws/credentials", "[self]\naws_access_key_id = AKIDBASE\naws_secret_access_key = SECRETBASE\n");
  cte_write(&f->env, ".aws/config", "[profile self]\nrole_arn = " ROLE_APP "\nsource_profile = self\n");
  p = provider("self");
  get_ok(p, &c);
  assert_string_equal(f->sts.last_signer, "AKIDBASE");
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000004");
  dorm__credentials_provider_free(p);
}

static void profile_errors(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config",
            "[profile a]\nrole_arn = " ROLE_APP "\nsource_profile = b\n"
            "[profile b]\nrole_arn = " ROLE_APP "\nsource_profile = c\n"
            "[profile c]\nrole_arn = " ROLE_APP "\nsource_profile = a\n"
            "[profile me]\nrole_arn = " ROLE_APP "\nsource_profile = me\n"
            "[profile lost]\nrole_arn = " ROLE_APP "\nsource_profile = nowhere\n"
            "[profile both]\nrole_arn = " ROLE_APP "\nsource_profile = base\ncredential_source = Environment\n"
            "[profile mfa]\nrole_arn = " ROLE_APP "\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/u\n"
            "[profile bare]\nrole_arn = " ROLE_APP "\n"
            "[profile weird]\nrole_arn = " ROLE_APP "\ncredential_source = Laptop\n"
            "[profile long]\nrole_arn = " ROLE_APP "\nsource_profile = base\nduration_seconds = 60\n"
            "[profile name]\nrole_arn = " ROLE_APP "\nsource_profile = base\nrole_session_name = has space\n"
            "[profile empty]\nregion = us-east-1\n"
            "[profile viaempty]\nrole_arn = " ROLE_APP "\nsource_profile = empty\n");
  provider_fails("a", "source_profile cycle: a -> b -> c -> a");
  provider_fails("me", "profile 'me' is its own source_profile but has no static keys");
  provider_fails("lost", "profile 'lost' has source_profile 'nowhere', which is not in");
  provider_fails("both", "profile 'both' sets both source_profile and credential_source");
  provider_fails("mfa", "profile 'mfa' sets mfa_serial: libdorm cannot ask for an MFA code");
  provider_fails("bare", "profile 'bare' has role_arn but no source_profile, credential_source or web_identity_token_file");
  provider_fails("weird", "credential_source 'Laptop' is not one of Environment, Ec2InstanceMetadata, EcsContainer");
  provider_fails("long", "duration_seconds must be a whole number from 900 to 43200, got '60'");
  provider_fails("name", "role session name 'has space' must be 2 to 64 characters");
  provider_fails("viaempty", "profile 'empty' (a source_profile) has no credentials");
  /* Errors point at the line. */
  provider_fails("mfa", "~/.aws/config:");
  assert_int_equal(fas_count(f->sts.srv), 0);
}

/* ---- credential_source ------------------------------------------------------------ */

static void credential_sources(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/config",
            "[profile env]\nrole_arn = " ROLE_APP "\ncredential_source = Environment\n"
            "[profile ec2]\nrole_arn = " ROLE_APP "\ncredential_source = Ec2InstanceMetadata\n"
            "[profile ecs]\nrole_arn = " ROLE_APP "\ncredential_source = EcsContainer\n");
  /* Environment: the keys in the environment call STS; a profile named for
   * it wins over using those keys directly. */
  provider_fails("env", "credential_source Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set");
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "SECRETENV", 1);
  dorm_credentials_provider *p = provider("env");
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(f->sts.last_signer, "AKIDENV");
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000001");
  dorm__credentials_provider_free(p);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");

  /* Ec2InstanceMetadata and EcsContainer, served by the metadata fake. */
  fms *meta = fms_start();
  assert_non_null(meta);
  char exp[40], body[400];
  time_t t = time(NULL) + 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  snprintf(body, sizeof body,
           "{\"Code\":\"Success\",\"AccessKeyId\":\"AKIDMETA\",\"SecretAccessKey\":\"SECRETMETA\","
           "\"Token\":\"\",\"Expiration\":\"%s\"}", exp);
  fms_route(meta, "PUT", "/latest/api/token", 200, "IMDSTOKEN");
  fms_route(meta, "GET", "/latest/meta-data/iam/security-credentials/", 200, "box");
  fms_route(meta, "GET", "/latest/meta-data/iam/security-credentials/box", 200, body);
  fms_route(meta, "GET", "/v2/credentials/x", 200, body);
  provider_fails("ec2", "credential_source Ec2InstanceMetadata, but instance metadata is disabled");
  unsetenv("AWS_EC2_METADATA_DISABLED");
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fms_url(meta), 1);
  p = provider("ec2");
  get_ok(p, &c);
  assert_string_equal(f->sts.last_signer, "AKIDMETA");
  assert_int_equal(fms_count(meta), 3);
  dorm__credentials_provider_free(p);

  provider_fails("ecs", "credential_source EcsContainer, but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  char uri[200];
  snprintf(uri, sizeof uri, "%s/v2/credentials/x", fms_url(meta));
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
  p = provider("ecs");
  get_ok(p, &c);
  assert_string_equal(f->sts.last_signer, "AKIDMETA");
  assert_int_equal(fms_count(meta), 4);
  assert_int_equal(fas_count(f->sts.srv), 3);
  dorm__credentials_provider_free(p);
  fms_stop(meta);
}

/* ---- web identity ---------------------------------------------------------------- */

#define JWT1 "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnMQ"
#define JWT2 "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnMg"

static void web_identity_environment(void **state) {
  fixture *f = *state;
  const char *tf = cte_write(&f->env, "token", JWT1 "\n");
  char path[512];
  snprintf(path, sizeof path, "%s", tf);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
  /* A token without a role is an error, not a silent fall-through. */
  provider_fails(NULL, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
  setenv("AWS_ROLE_ARN", ROLE_APP, 1);
  setenv("AWS_ROLE_SESSION_NAME", "pod-7", 1);
  f->sts.expires_in = 120; /* inside the refresh window: every get refreshes */
  dorm_credentials_provider *p = provider(NULL);
  assert_string_equal(dorm__credentials_provider_source(p), "web_identity");
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(f->sts.last_action, "AssumeRoleWithWebIdentity");
  assert_string_equal(f->sts.last_token, JWT1);
  assert_string_equal(f->sts.last_session, "pod-7");
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000001");
  fas_request r;
  char v[64];
  fas_request_at(f->sts.srv, 0, &r);
  assert_null(fas_header(&r, "Authorization", v, sizeof v)); /* unsigned, as AWS requires */
  /* The token file is read again at each refresh (Kubernetes rotates it). */
  cte_write(&f->env, "token", JWT2);
  get_ok(p, &c);
  assert_string_equal(f->sts.last_token, JWT2);
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000002");
  dorm__credentials_provider_free(p);

  /* InvalidIdentityToken is named, with the role and the source. */
  f->sts.errors_left = -1;
  f->sts.error_status = 400;
  snprintf(f->sts.error_code, sizeof f->sts.error_code, "InvalidIdentityToken");
  p = provider(NULL);
  get_fails(p, DORM_ERR_AUTH, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role " ROLE_APP ")",
            "STS AssumeRoleWithWebIdentity", "InvalidIdentityToken: Couldn't retrieve verification key",
            "HTTP 400", NULL);
  dorm__credentials_provider_free(p);
  f->sts.errors_left = 0;

  /* A missing token file is an I/O error naming the file. */
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
  p = provider(NULL);
  get_fails(p, DORM_ERR_IO, "web identity token file /nonexistent/token: cannot read", NULL);
  dorm__credentials_provider_free(p);
}

static void web_identity_profile(void **state) {
  fixture *f = *state;
  const char *tf = cte_write(&f->env, "jwt", JWT1);
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "[profile eks]\nrole_arn = " ROLE_APP "\nweb_identity_token_file = %s\nrole_session_name = eks-app\n"
           "[profile app]\nrole_arn = arn:aws:iam::210987654321:role/next\nsource_profile = eks\n", tf);
  cte_write(&f->env, ".aws/config", cfg);
  dorm_credentials_provider *p = provider("eks");
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(f->sts.last_action, "AssumeRoleWithWebIdentity");
  assert_string_equal(f->sts.last_session, "eks-app");
  dorm__credentials_provider_free(p);
  /* A web identity profile as the source of another role. */
  p = provider("app");
  get_ok(p, &c);
  assert_string_equal(f->sts.last_action, "AssumeRole");
  assert_string_equal(f->sts.last_signer, "ASIAFAKE000000000002");
  assert_string_equal(c.access_key_id, "ASIAFAKE000000000003");
  dorm__credentials_provider_free(p);
}

/* ---- STS's errors ---------------------------------------------------------------- */

static void sts_errors(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config", "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = base\n");
  dorm_credentials_provider *p;

  f->sts.errors_left = -1;
  p = provider("app");
  get_fails(p, DORM_ERR_AUTH, "profile 'app' (role " ROLE_APP " via source_profile 'base')", "STS AssumeRole",
            "AccessDenied: User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole",
            "HTTP 403", "request id c6104cbe", NULL);
  assert_int_equal(fas_count(f->sts.srv), 1); /* not retried */
  dorm__credentials_provider_free(p);

  snprintf(f->sts.error_code, sizeof f->sts.error_code, "ExpiredToken");
  f->sts.error_status = 400;
  p = provider("app");
  get_fails(p, DORM_ERR_AUTH, "ExpiredToken: The security token included in the request is expired", NULL);
  dorm__credentials_provider_free(p);

  /* Throttling is retried (with backoff) and may then succeed ... */
  size_t before = fas_count(f->sts.srv);
  snprintf(f->sts.error_code, sizeof f->sts.error_code, "Throttling");
  f->sts.errors_left = 2;
  p = provider("app");
  dorm_credentials c;
  get_ok(p, &c);
  assert_int_equal(fas_count(f->sts.srv), before + 3);
  dorm__credentials_provider_free(p);
  /* ... or give up after three tries. */
  f->sts.errors_left = -1;
  p = provider("app");
  get_fails(p, DORM_ERR_THROTTLED, "Throttling: Rate exceeded", "(after 3 tries)", NULL);
  assert_int_equal(fas_count(f->sts.srv), before + 6);
  dorm__credentials_provider_free(p);

  /* Not STS's error document: who answered what. */
  f->sts.error_status = 502;
  snprintf(f->sts.error_body, sizeof f->sts.error_body, "<html><body>Bad Gateway</body></html>");
  p = provider("app");
  get_fails(p, DORM_ERR_SERVICE, "HTTP 502 without an STS error document", "Bad Gateway", NULL);
  dorm__credentials_provider_free(p);

  /* Answers that are not what STS sends. */
  f->sts.error_status = 200;
  snprintf(f->sts.error_body, sizeof f->sts.error_body, "<AssumeRoleResponse><AssumeRoleResult>");
  p = provider("app");
  get_fails(p, DORM_ERR_BAD_RESPONSE, "not well-formed XML", NULL);
  dorm__credentials_provider_free(p);
  snprintf(f->sts.error_body, sizeof f->sts.error_body,
           "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><AssumeRoleResponse>&a;</AssumeRoleResponse>");
  p = provider("app");
  get_fails(p, DORM_ERR_BAD_RESPONSE, "XML with a DOCTYPE is refused", NULL);
  dorm__credentials_provider_free(p);
  snprintf(f->sts.error_body, sizeof f->sts.error_body,
           "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>"
           "</Credentials></AssumeRoleResult></AssumeRoleResponse>");
  p = provider("app");
  get_fails(p, DORM_ERR_BAD_RESPONSE, "answer has no Credentials/SecretAccessKey", NULL);
  dorm__credentials_provider_free(p);
  f->sts.errors_left = 0;
  f->sts.error_body[0] = '\0';

  /* An unreachable STS. */
  fas *dead = fas_start(NULL, NULL);
  char url[64];
  snprintf(url, sizeof url, "%s", fas_url(dead));
  fas_stop(dead);
  setenv("AWS_ENDPOINT_URL_STS", url, 1);
  p = provider("app");
  get_fails(p, DORM_ERR_NETWORK, "STS AssumeRole (role " ROLE_APP ", http://127.0.0.1:", NULL);
  dorm__credentials_provider_free(p);
}

/* ---- endpoints -------------------------------------------------------------------- */

static void endpoint_is(const char *region, const char *url, const char *signing_region) {
  dorm_config cfg = DORM_CONFIG_INIT;
  dorm_resolved_config rc;
  char err[512];
  assert_int_equal(dorm__config_resolve(&cfg, &rc, err, sizeof err), DORM_OK);
  dorm_sts_endpoint e;
  dorm_status st = dorm__sts_endpoint_resolve(&rc, region, &e, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "%s\n", err);
  assert_int_equal(st, DORM_OK);
  assert_string_equal(e.url, url);
  assert_string_equal(e.region, signing_region);
  dorm__sts_endpoint_free(&e);
  dorm__resolved_config_free(&rc);
}

static void regional_endpoints(void **state) {
  fixture *f = *state;
  unsetenv("AWS_ENDPOINT_URL_STS");
  endpoint_is("eu-west-1", "https://sts.eu-west-1.amazonaws.com", "eu-west-1");
  endpoint_is("us-east-1", "https://sts.us-east-1.amazonaws.com", "us-east-1");
  endpoint_is("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1");
  setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy", 1);
  endpoint_is("eu-west-1", "https://sts.amazonaws.com", "us-east-1");
  endpoint_is("ap-east-1", "https://sts.ap-east-1.amazonaws.com", "ap-east-1"); /* never had the global one */
  setenv("AWS_STS_REGIONAL_ENDPOINTS", "regional", 1);
  endpoint_is("eu-west-1", "https://sts.eu-west-1.amazonaws.com", "eu-west-1");
  unsetenv("AWS_STS_REGIONAL_ENDPOINTS");
  cte_write(&f->env, ".aws/config", "[default]\nsts_regional_endpoints = legacy\n");
  endpoint_is("us-west-2", "https://sts.amazonaws.com", "us-east-1");
  cte_write(&f->env, ".aws/config", "[default]\nsts_regional_endpoints = sometimes\n");
  {
    dorm_resolved_config rc;
    char err[512];
    assert_int_equal(dorm__config_resolve(NULL, &rc, err, sizeof err), DORM_OK);
    dorm_sts_endpoint e;
    assert_int_equal(dorm__sts_endpoint_resolve(&rc, "us-east-1", &e, err, sizeof err), DORM_ERR_CONFIG);
    assert_non_null(strstr(err, "~/.aws/config:2: expected 'regional' or 'legacy', got 'sometimes'"));
    dorm__resolved_config_free(&rc);
  }
  /* Configured endpoints, as for every service. */
  cte_write(&f->env, ".aws/config", "[default]\nservices = local\n[services local]\nsts =\n  endpoint_url = http://localhost:4566/\n");
  endpoint_is("eu-west-1", "http://localhost:4566", "eu-west-1");
  setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9/", 1);
  endpoint_is("eu-west-1", "http://127.0.0.1:9", "eu-west-1");
  setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
  endpoint_is("eu-west-1", "https://sts.eu-west-1.amazonaws.com", "eu-west-1");
  unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");

  /* The role is signed for the client's region. */
  setenv("AWS_ENDPOINT_URL_STS", fas_url(f->sts.srv), 1);
  setenv("AWS_REGION", "eu-central-1", 1);
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config", "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = base\n");
  snprintf(f->sts.expect_region, sizeof f->sts.expect_region, "eu-central-1");
  dorm_credentials_provider *p = provider("app");
  dorm_credentials c;
  get_ok(p, &c);
  assert_string_equal(f->sts.last_region, "eu-central-1");
  dorm__credentials_provider_free(p);
}

/* ---- refresh ------------------------------------------------------------------------ */

static void refresh_after_expiry(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config", "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = base\n");
  f->sts.expires_in = 2;
  dorm_credentials_provider *p = provider("app");
  dorm_creds_value held;
  memset(&held, 0, sizeof held);
  unsigned long gen = 0;
  char err[900];
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_string_equal(held.access_key_id, "ASIAFAKE000000000001");
  /* Wait until those keys have expired: the next get has new ones. */
  f->sts.expires_in = 3600;
  while (time(NULL) < held.expiration) {
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
  unsigned long old_gen = gen;
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_string_equal(held.access_key_id, "ASIAFAKE000000000002");
  assert_string_equal(held.session_token, "TOKEN2");
  assert_true(gen != old_gen);
  assert_int_equal(fas_count(f->sts.srv), 2);

  /* STS down while the keys in hand are within 5 minutes of expiry but
   * still valid: they stay in use, and STS is not asked again for 30 s. */
  dorm__creds_value_clear(&held);
  dorm__credentials_provider_free(p);
  f->sts.expires_in = 200;
  p = provider("app");
  gen = 0;
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_string_equal(held.access_key_id, "ASIAFAKE000000000003");
  f->sts.errors_left = -1;
  f->sts.error_status = 503;
  snprintf(f->sts.error_code, sizeof f->sts.error_code, "ServiceUnavailable");
  size_t before = fas_count(f->sts.srv);
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_string_equal(held.access_key_id, "ASIAFAKE000000000003");
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_int_equal(fas_count(f->sts.srv), before + 3); /* one refresh of 3 tries, then quiet */
  f->sts.errors_left = 0;
  dorm__creds_value_clear(&held);
  dorm__credentials_provider_free(p);
}

/* Keys fresh for two more seconds (expiring in 302 s: the last 300 are the
 * refresh window): taken as they are meanwhile, without the lock and
 * without asking STS (the lock-free path of get_copy), and refreshed as soon
 * as the window starts, not at expiry. */
static void refresh_when_the_window_starts(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config", "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = base\n");
  f->sts.expires_in = DORM_CREDS_REFRESH_WINDOW_S + 2;
  dorm_credentials_provider *p = provider("app");
  dorm_creds_value held;
  memset(&held, 0, sizeof held);
  unsigned long gen = 0;
  char err[900];
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_string_equal(held.access_key_id, "ASIAFAKE000000000001");
  unsigned long first = gen;
  const char *first_copy = held.access_key_id;
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_ptr_equal(held.access_key_id, first_copy); /* not copied again */
  assert_int_equal(gen, first);
  assert_int_equal(fas_count(f->sts.srv), 1);
  f->sts.expires_in = 3600;
  while (time(NULL) < held.expiration - DORM_CREDS_REFRESH_WINDOW_S) {
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(dorm__credentials_provider_get_copy(p, &held, &gen, err, sizeof err), DORM_OK);
  assert_string_equal(held.access_key_id, "ASIAFAKE000000000002");
  assert_true(gen != first);
  assert_int_equal(fas_count(f->sts.srv), 2);
  dorm__creds_value_clear(&held);
  dorm__credentials_provider_free(p);
}

typedef struct worker {
  dorm_credentials_provider *p;
  int gets;
  int ok, failed;
  char first_key[64];
} worker;

static void *work(void *arg) {
  worker *w = arg;
  dorm_creds_value held;
  memset(&held, 0, sizeof held);
  unsigned long gen = 0;
  for (int i = 0; i < w->gets; i++) {
    char err[900];
    if (dorm__credentials_provider_get_copy(w->p, &held, &gen, err, sizeof err) == DORM_OK) {
      w->ok++;
      if (!w->first_key[0]) snprintf(w->first_key, sizeof w->first_key, "%s", held.access_key_id);
    } else {
      w->failed++;
    }
  }
  dorm__creds_value_clear(&held);
  return NULL;
}

static void run_workers(dorm_credentials_provider *p, worker *w, int n, int gets) {
  pthread_t t[16];
  for (int i = 0; i < n; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].p = p;
    w[i].gets = gets;
    assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
}

static void concurrent_refresh(void **state) {
  fixture *f = *state;
  cte_write(&f->env, ".aws/credentials", BASE_CREDENTIALS);
  cte_write(&f->env, ".aws/config", "[profile app]\nrole_arn = " ROLE_APP "\nsource_profile = base\n");
  /* Eight threads ask at once while STS is slow: one call serves them all. */
  f->sts.delay_ms = 300;
  dorm_credentials_provider *p = provider("app");
  worker w[8];
  run_workers(p, w, 8, 20);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(w[i].ok, 20);
    assert_string_equal(w[i].first_key, "ASIAFAKE000000000001");
  }
  assert_int_equal(fas_count(f->sts.srv), 1);
  assert_int_equal(dorm__credentials_provider_fetches(p), 1);
  dorm__credentials_provider_free(p);

  /* STS refuses: many threads retrying do not become a storm of calls. The
   * failure is held for a second, so 8 x 50 gets make one or two calls. */
  f->sts.delay_ms = 0;
  f->sts.errors_left = -1;
  size_t before = fas_count(f->sts.srv);
  p = provider("app");
  run_workers(p, w, 8, 50);
  for (int i = 0; i < 8; i++) assert_int_equal(w[i].failed, 50);
  assert_true(fas_count(f->sts.srv) - before <= 2);
  dorm__credentials_provider_free(p);
  f->sts.errors_left = 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(source_profile_role, setup, teardown),
      cmocka_unit_test_setup_teardown(role_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(profile_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(credential_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(web_identity_environment, setup, teardown),
      cmocka_unit_test_setup_teardown(web_identity_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(sts_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(regional_endpoints, setup, teardown),
      cmocka_unit_test_setup_teardown(refresh_after_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(refresh_when_the_window_starts, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_refresh, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
