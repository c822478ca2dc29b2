/* dorm_accounts (dorm/accounts.h): clients in other accounts through their
 * roles, against a loopback STS (fake_sts.c) and a loopback DynamoDB that
 * accepts only keys STS issued and that have not expired, so a client that
 * kept using expired credentials would fail here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "config_test_env.h"
#include "dorm/accounts.h"
#include "fake_sts.h"

#define PARTNER_A "arn:aws:iam::111122223333:role/dorm-partner"
#define PARTNER_B "arn:aws:iam::444455556666:role/dorm-partner"

typedef struct fixture {
  cte env;
  fake_sts sts;
  fas *ddb;
  char last_key[64];
  char last_scope_region[32];
  int refused;
  int revoked;  /* keys numbered up to this (and static keys, when > 0) are refused as expired */
} fixture;

/* DynamoDB's side: ListTables, for keys STS issued, while they are valid. */
static void ddb_handler(void *user, const fas_request *r, fas_response *resp) {
  fixture *f = user;
  snprintf(resp->content_type, sizeof resp->content_type, "application/x-amz-json-1.0");
  char auth[1024] = "", token[128] = "", target[128] = "";
  fas_header(r, "Authorization", auth, sizeof auth);
  fas_header(r, "X-Amz-Security-Token", token, sizeof token);
  fas_header(r, "X-Amz-Target", target, sizeof target);
  char akid[64] = "", region[32] = "";
  sscanf(auth, "AWS4-HMAC-SHA256 Credential=%63[^/]/%*[^/]/%31[^/]/", akid, region);
  snprintf(f->last_key, sizeof f->last_key, "%s", akid);
  snprintf(f->last_scope_region, sizeof f->last_scope_region, "%s", region);
  int n = strncmp(akid, "ASIAFAKE", 8) == 0 ? atoi(akid + 8) : 0;
  char want[32];
  snprintf(want, sizeof want, "TOKEN%d", n);
  if ((f->revoked > 0 && n <= f->revoked) || (f->revoked > 0 && n == 0)) {
    f->refused++;
    resp->status = 400;
    snprintf(resp->body, sizeof resp->body,
             "{\"__type\":\"com.amazon.coral.service#ExpiredTokenException\","
             "\"message\":\"The security token included in the request is expired\"}");
    return;
  }
  if (n <= 0 || n >= 256 || strcmp(token, want) != 0) {
    f->refused++;
    resp->status = 400;
    snprintf(resp->body, sizeof resp->body,
             "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
             "\"message\":\"The security token included in the request is invalid.\"}");
    return;
  }
  if ((long long)time(NULL) >= f->sts.expiry[n]) {
    f->refused++;
    resp->status = 400;
    snprintf(resp->body, sizeof resp->body,
             "{\"__type\":\"com.amazon.coral.service#ExpiredTokenException\","
             "\"message\":\"The security token included in the request is expired\"}");
    return;
  }
  if (strcmp(target, "DynamoDB_20120810.ListTables") != 0) {
    resp->status = 400;
    snprintf(resp->body, sizeof resp->body, "{\"__type\":\"UnknownOperationException\"}");
    return;
  }
  snprintf(resp->body, sizeof resp->body, "{\"TableNames\":[]}");
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  cte_setup(&f->env);
  setenv("AWS_REGION", "us-east-1", 1);
  if (!fake_sts_start(&f->sts)) return -1;
  f->ddb = fas_start(ddb_handler, f);
  if (!f->ddb) return -1;
  setenv("AWS_ENDPOINT_URL_STS", fas_url(f->sts.srv), 1);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->sts.bad[0]) fprintf(stderr, "fake STS: %s\n", f->sts.bad);
  assert_string_equal(f->sts.bad, "");
  fas_stop(f->ddb);
  fake_sts_stop(&f->sts);
  cte_teardown(&f->env);
  unsetenv("AWS_ENDPOINT_URL_STS");
  free(f);
  return 0;
}

static dorm_accounts *accounts(fixture *f) {
  dorm_config base = DORM_CONFIG_INIT;
  base.endpoint = fas_url(f->ddb);
  base.access_key_id = "AKIDBASE";
  base.secret_access_key = "SECRETBASE";
  base.max_attempts = 1;
  dorm_accounts *a = NULL;
  char err[512];
  dorm_status st = dorm_accounts_new(&base, &a, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "%s\n", err);
  assert_int_equal(st, DORM_OK);
  return a;
}

static void add(dorm_accounts *a, const char *name, const char *arn, const char *region) {
  dorm_role_config r = DORM_ROLE_CONFIG_INIT;
  r.role_arn = arn;
  r.external_id = "ext-7f3a";
  r.region = region;
  r.duration_seconds = 900;
  char err[512];
  dorm_status st = dorm_accounts_add(a, name, &r, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "%s\n", err);
  assert_int_equal(st, DORM_OK);
}

static dorm_client *client(dorm_accounts *a, const char *name) {
  dorm_client *c = NULL;
  char err[512];
  dorm_status st = dorm_accounts_client(a, name, &c, err, sizeof err);
  if (st != DORM_OK) fprintf(stderr, "%s\n", err);
  assert_int_equal(st, DORM_OK);
  return c;
}

static void list_ok(dorm_client *c) {
  const char *resp;
  size_t len;
  dorm_status st = dorm_client_call(c, "ListTables", "{}", 2, &resp, &len);
  if (st != DORM_OK) fprintf(stderr, "%s\n", dorm_client_errmsg(c));
  assert_int_equal(st, DORM_OK);
  assert_string_equal(resp, "{\"TableNames\":[]}");
}

static void partner_clients(void **state) {
  fixture *f = *state;
  dorm_accounts *a = accounts(f);
  add(a, "partner-a", PARTNER_A, "eu-west-1");
  add(a, "partner-b", PARTNER_B, NULL);
  snprintf(f->sts.expect_region, sizeof f->sts.expect_region, "eu-west-1");
  dorm_client *c = client(a, "partner-a");
  assert_string_equal(dorm_client_region(c), "eu-west-1");
  assert_int_equal(fas_count(f->sts.srv), 0); /* fetched on the first request */
  list_ok(c);
  /* STS was asked as the role's trust policy expects ... */
  assert_string_equal(f->sts.last_action, "AssumeRole");
  assert_string_equal(f->sts.last_role, PARTNER_A);
  assert_string_equal(f->sts.last_external_id, "ext-7f3a");
  assert_string_equal(f->sts.last_duration, "900");
  assert_string_equal(f->sts.last_session, "dorm-111122223333");
  assert_string_equal(f->sts.last_signer, "AKIDBASE");
  /* ... and DynamoDB saw the role's keys, in the role's region. */
  assert_string_equal(f->last_key, "ASIAFAKE000000000001");
  assert_string_equal(f->last_scope_region, "eu-west-1");

  /* Cached per role: another client, a clone, more calls: no STS call. */
  dorm_client *c2 = client(a, "partner-a");
  dorm_client *c3 = dorm_client_clone(c2);
  assert_non_null(c3);
  list_ok(c2);
  list_ok(c3);
  list_ok(c);
  assert_int_equal(fas_count(f->sts.srv), 1);
  assert_string_equal(f->last_key, "ASIAFAKE000000000001");

  /* Another role: its own credentials, in the base's region. */
  f->sts.expect_region[0] = '\0';
  dorm_client *b = client(a, "partner-b");
  assert_string_equal(dorm_client_region(b), "us-east-1");
  list_ok(b);
  assert_int_equal(fas_count(f->sts.srv), 2);
  assert_string_equal(f->sts.last_role, PARTNER_B);
  assert_string_equal(f->sts.last_region, "us-east-1");
  assert_string_equal(f->last_key, "ASIAFAKE000000000002");

  /* Clients outlive the registry. */
  dorm_accounts_free(a);
  list_ok(c);
  dorm_client_free(c);
  dorm_client_free(c2);
  dorm_client_free(c3);
  dorm_client_free(b);
  assert_int_equal(f->refused, 0);
}

static void argument_errors(void **state) {
  fixture *f = *state;
  dorm_accounts *a = accounts(f);
  add(a, "partner-a", PARTNER_A, NULL);
  char err[512];
  dorm_client *c = (dorm_client *)1;
  assert_int_equal(dorm_accounts_client(a, "nobody", &c, err, sizeof err), DORM_ERR_NOT_FOUND);
  assert_null(c);
  assert_non_null(strstr(err, "no account registered as 'nobody'"));
  dorm_role_config r = DORM_ROLE_CONFIG_INIT;
  r.role_arn = "arn:aws:iam::1234:user/x";
  assert_int_equal(dorm_accounts_add(a, "x", &r, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "role_arn 'arn:aws:iam::1234:user/x' is not a role ARN"));
  r.role_arn = PARTNER_B;
  assert_int_equal(dorm_accounts_add(a, "partner-a", &r, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "'partner-a' is already registered"));
  r.duration_seconds = 60;
  assert_int_equal(dorm_accounts_add(a, "y", &r, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "duration_seconds must be 0 or from 900 to 43200, got 60"));
  r.duration_seconds = 0;
  r.session_name = "no spaces allowed";
  assert_int_equal(dorm_accounts_add(a, "z", &r, err, sizeof err), DORM_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(err, "role session name 'no spaces allowed'"));

  /* STS refuses the role: the request fails naming the account, the role and AccessDenied. */
  f->sts.errors_left = -1;
  c = client(a, "partner-a");
  const char *resp;
  size_t len;
  assert_int_equal(dorm_client_call(c, "ListTables", "{}", 2, &resp, &len), DORM_ERR_AUTH);
  const char *m = dorm_client_errmsg(c);
  assert_non_null(strstr(m, "ListTables: credentials: account 'partner-a' (role " PARTNER_A ")"));
  assert_non_null(strstr(m, "AccessDenied: User: arn:aws:iam::123456789012:user/base is not authorized"));
  assert_null(strstr(m, "SECRETBASE"));
  assert_int_equal(fas_count(f->ddb), 0);
  dorm_client_free(c);
  dorm_accounts_free(a);
}

/* The credential that replaces an expired one is the one used. */
static void refreshed_after_expiry(void **state) {
  fixture *f = *state;
  dorm_accounts *a = accounts(f);
  add(a, "partner-a", PARTNER_A, NULL);
  f->sts.expires_in = 2;
  dorm_client *c = client(a, "partner-a");
  list_ok(c);
  assert_string_equal(f->last_key, "ASIAFAKE000000000001");
  f->sts.expires_in = 3600;
  while ((long long)time(NULL) < f->sts.expiry[1]) {
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
  }
  list_ok(c);
  assert_string_equal(f->last_key, "ASIAFAKE000000000002");
  assert_int_equal(fas_count(f->sts.srv), 2);
  assert_int_equal(f->refused, 0);
  /* Far from expiry: no more refreshes. */
  list_ok(c);
  assert_int_equal(fas_count(f->sts.srv), 2);
  dorm_client_free(c);
  dorm_accounts_free(a);
}

/* DynamoDB says the keys expired although their Expiration is hours away
 * (a skewed clock, keys revoked): the request is sent again, once, with
 * fresh ones, even with max_attempts = 1. Static keys are not renewed. */
static void expired_token_renews(void **state) {
  fixture *f = *state;
  dorm_accounts *a = accounts(f);
  add(a, "partner-a", PARTNER_A, NULL);
  dorm_client *c = client(a, "partner-a");
  list_ok(c);
  f->revoked = 1;
  list_ok(c);
  assert_string_equal(f->last_key, "ASIAFAKE000000000002");
  assert_int_equal(fas_count(f->sts.srv), 2);
  assert_int_equal(fas_count(f->ddb), 3);
  /* Renewed keys refused again: reported, not looped on. */
  f->revoked = 255;
  const char *resp;
  size_t len;
  assert_int_equal(dorm_client_call(c, "ListTables", "{}", 2, &resp, &len), DORM_ERR_AUTH);
  assert_non_null(strstr(dorm_client_errmsg(c), "ExpiredTokenException"));
  assert_int_equal(fas_count(f->sts.srv), 3);
  assert_int_equal(fas_count(f->ddb), 5);
  dorm_client_free(c);
  dorm_accounts_free(a);

  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = fas_url(f->ddb);
  cfg.access_key_id = "AKIDBASE";
  cfg.secret_access_key = "SECRETBASE";
  cfg.max_attempts = 1;
  char err[256];
  assert_int_equal(dorm_client_new(&cfg, &c, err, sizeof err), DORM_OK);
  assert_int_equal(dorm_client_call(c, "ListTables", "{}", 2, &resp, &len), DORM_ERR_AUTH);
  assert_int_equal(fas_count(f->ddb), 6);
  dorm_client_free(c);
}

typedef struct worker {
  dorm_accounts *a;
  int ok;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  dorm_client *c = NULL;
  char err[256];
  if (dorm_accounts_client(w->a, "partner-a", &c, err, sizeof err) != DORM_OK) return NULL;
  for (int i = 0; i < 5; i++) {
    const char *resp;
    size_t len;
    if (dorm_client_call(c, "ListTables", "{}", 2, &resp, &len) == DORM_OK) w->ok++;
  }
  dorm_client_free(c);
  return NULL;
}

static void threads_share_the_role(void **state) {
  fixture *f = *state;
  dorm_accounts *a = accounts(f);
  add(a, "partner-a", PARTNER_A, NULL);
  f->sts.delay_ms = 200;
  pthread_t t[6];
  worker w[6];
  for (int i = 0; i < 6; i++) {
    w[i].a = a;
    w[i].ok = 0;
    assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 6; i++) assert_int_equal(w[i].ok, 5);
  assert_int_equal(fas_count(f->sts.srv), 1);
  assert_int_equal(fas_count(f->ddb), 30);
  dorm_accounts_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(partner_clients, setup, teardown),
      cmocka_unit_test_setup_teardown(argument_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(refreshed_after_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(expired_token_renews, setup, teardown),
      cmocka_unit_test_setup_teardown(threads_share_the_role, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
