#include "mig_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "dorm/model.h"
#include "test_support.h"

extern char **environ;

char mt_out[1 << 16], mt_err[1 << 16];

bool mt_has(const char *haystack, const char *needle) { return haystack && strstr(haystack, needle) != NULL; }

static char *replace_all(const char *s, const char *from, const char *to) {
  size_t n = 0, fl = strlen(from), tl = strlen(to);
  for (const char *p = strstr(s, from); p; p = strstr(p + fl, from)) n++;
  char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1);
  assert_non_null(out);
  char *o = out;
  for (const char *p; (p = strstr(s, from)) != NULL; s = p + fl) {
    memcpy(o, s, (size_t)(p - s));
    o += p - s;
    memcpy(o, to, tl);
    o += tl;
  }
  strcpy(o, s);
  return out;
}

void mt_setup(mt_env *e, const char *prefix) {
  memset(e, 0, sizeof *e);
  snprintf(e->dir, sizeof e->dir, "%s/dorm-mig-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(e->dir));
  snprintf(e->migrations, sizeof e->migrations, "%s/migrations", e->dir);
  snprintf(e->schemas, sizeof e->schemas, "%s/schemas", e->dir);
  snprintf(e->log, sizeof e->log, "%s/backfill.log", e->dir);
  assert_int_equal(mkdir(e->schemas, 0777), 0);
  if (prefix) {
    snprintf(e->shop, sizeof e->shop, "%s_shop", prefix);
    snprintf(e->users, sizeof e->users, "%s_users", prefix);
    snprintf(e->history, sizeof e->history, "%s_history", prefix);
  } else {
    strcpy(e->shop, "mig_shop");
    strcpy(e->users, "mig_users");
    strcpy(e->history, "mig_history");
  }
  for (int v = 1; v <= 4; v++) {
    char src[512];
    snprintf(src, sizeof src, "%s/tests/runtime/migrate/schemas/shop_v%d.dorm", ts_source_dir(), v);
    char *text = ts_read_file(src, NULL);
    if (!text) fail_msg("cannot read %s", src);
    char shopq[80], usersq[80];
    snprintf(shopq, sizeof shopq, "\"%s\"", e->shop);
    snprintf(usersq, sizeof usersq, "\"%s\"", e->users);
    char *a = replace_all(text, "\"mig_shop\"", shopq);
    char *d = replace_all(a, "\"mig_users\"", usersq);
    assert_int_equal(ts_write_file(mt_schema(e, v), d, strlen(d)), 0);
    free(a);
    free(d);
    free(text);
  }
}

void mt_teardown(mt_env *e) {
  if (!e->dir[0] || getenv("DORM_TEST_KEEP")) return;
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
  if (system(cmd) != 0) print_message("could not remove %s\n", e->dir);
}

const char *mt_schema(const mt_env *e, int version) {
  static char buf[400];
  snprintf(buf, sizeof buf, "%s/shop_v%d.dorm", e->schemas, version);
  return buf;
}

static const char *tool(bool dormc) {
  static char buf[2][512];
  const char *bin = getenv("DORM_BINARY_DIR");
  snprintf(buf[dormc], sizeof buf[dormc], "%s/%s", bin ? bin : ".", dormc ? "compiler/dormc" : "runtime/tools/dorm");
  return buf[dormc];
}

static void read_into(const char *path, char *buf, size_t cap) {
  size_t len = 0;
  char *text = ts_read_file(path, &len);
  buf[0] = '\0';
  if (!text) return;
  if (len >= cap) len = cap - 1;
  memcpy(buf, text, len);
  buf[len] = '\0';
  free(text);
}

static pid_t spawn(const char *const *argv, const char *out, const char *err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) fail_msg("cannot run %s: %s", argv[0], strerror(rc));
  return pid;
}

int mt_wait(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail_msg("waitpid: %s", strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A child's sanitizer report fails the test even when the expected exit
 * status was a failure anyway. */
static void check_sanitizers(const char *what) {
  if (mt_has(mt_err, "Sanitizer") || mt_has(mt_err, "runtime error:"))
    fail_msg("%s: sanitizer report:\n%s", what, mt_err);
}

static int run_v(bool dormc, const char *arg, va_list ap) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = tool(dormc);
  for (const char *a = arg; a && n < 63; a = va_arg(ap, const char *)) argv[n++] = a;
  argv[n] = NULL;
  char out[64], err[64];
  snprintf(out, sizeof out, "/tmp/dorm-mig-out.%ld", (long)getpid());
  snprintf(err, sizeof err, "/tmp/dorm-mig-err.%ld", (long)getpid());
  int rc = mt_wait(spawn(argv, out, err));
  read_into(out, mt_out, sizeof mt_out);
  read_into(err, mt_err, sizeof mt_err);
  unlink(out);
  unlink(err);
  check_sanitizers(argv[0]);
  return rc;
}

int mt_dormc(const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int rc = run_v(true, arg, ap);
  va_end(ap);
  return rc;
}

int mt_dorm(const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int rc = run_v(false, arg, ap);
  va_end(ap);
  return rc;
}

pid_t mt_dorm_bg(const mt_env *e, const char *tag, const char *arg, ...) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = tool(false);
  va_list ap;
  va_start(ap, arg);
  for (const char *a = arg; a && n < 63; a = va_arg(ap, const char *)) argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  char out[400], err[400];
  snprintf(out, sizeof out, "%s/%s.out", e->dir, tag);
  snprintf(err, sizeof err, "%s/%s.err", e->dir, tag);
  return spawn(argv, out, err);
}

void mt_bg_output(const mt_env *e, const char *tag) {
  char out[400], err[400];
  snprintf(out, sizeof out, "%s/%s.out", e->dir, tag);
  snprintf(err, sizeof err, "%s/%s.err", e->dir, tag);
  read_into(out, mt_out, sizeof mt_out);
  read_into(err, mt_err, sizeof mt_err);
  check_sanitizers(tag);
}

void mt_diff(const mt_env *e, int version, const char *name, bool destructive) {
  char now[32];
  snprintf(now, sizeof now, "2026-01-0%dT00:00:00Z", version);
  int rc = destructive ? mt_dormc("migrate", "diff", "--dir", e->migrations, "--schema", mt_schema(e, version), "--name",
                                  name, "--now", now, "--allow-destructive", NULL)
                       : mt_dormc("migrate", "diff", "--dir", e->migrations, "--schema", mt_schema(e, version), "--name",
                                  name, "--now", now, NULL);
  if (rc != 0) fail_msg("dormc migrate diff v%d: exit %d\n%s%s", version, rc, mt_out, mt_err);
}

void mt_dorm_env(void) {
  const char *endpoint = ts_ddb_endpoint();
  if (!endpoint) fail_msg("no DynamoDB Local endpoint (DORM_TEST_ENDPOINT / DORM_TEST_ENDPOINT_FILE)");
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint, 1);
  setenv("AWS_ACCESS_KEY_ID", "dormtest", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "dormtestsecret", 1);
  setenv("AWS_REGION", "us-east-1", 1);
  setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
  unsetenv("AWS_PROFILE");
}

dorm_client *mt_client(void) {
  mt_dorm_env();
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = ts_ddb_endpoint();
  cfg.region = "us-east-1";
  cfg.access_key_id = "dormtest";
  cfg.secret_access_key = "dormtestsecret";
  dorm_client *c = NULL;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) fail_msg("dorm_client_new: %s", err);
  return c;
}

void mt_drop_tables(dorm_client *c, const mt_env *e) {
  const char *names[] = {e->shop, e->users, e->history};
  for (size_t i = 0; i < 3; i++) {
    dorm_status st = dorm_delete_table(c, names[i], NULL, NULL);
    if (st == DORM_OK) dorm_wait_table_deleted(c, names[i], 30000);
  }
}

static const char *const statuses[] = {"pending", "paid", "SHIPPED"};

const char *mt_status_of(size_t i) { return statuses[i % 3]; }

static int64_t created_ns(size_t i) {
  return INT64_C(1767323045000000000) + (int64_t)i * INT64_C(1500000000) + (int64_t)(i % 10) * 100000000;
}

static int64_t amount_of(size_t i) { return i % 7 == 0 ? -(int64_t)i : (int64_t)i * 3; }

void mt_expected_gsi1sk(size_t i, char out[64]) {
  char t[32];
  dorm_time_format(created_ns(i), t);
  snprintf(out, 64, "%s#%" PRId64, t, amount_of(i));
}

/* The stored createdAt in one of the forms DynamORM and others write:
 * canonical, trimmed fraction, or with a +02:00 offset. */
static void stored_created(size_t i, char out[48]) {
  char t[32];
  int64_t ns = created_ns(i);
  if (i % 3 == 2) ns += INT64_C(7200000000000);
  dorm_time_format(ns, t);
  if (i % 3 == 0) {
    strcpy(out, t);
  } else if (i % 3 == 1) {
    size_t len = 29; /* before 'Z' */
    while (len > 20 && t[len - 1] == '0') len--;
    if (t[len - 1] == '.') len--;
    memcpy(out, t, len);
    strcpy(out + len, "Z");
  } else {
    memcpy(out, t, 29);
    strcpy(out + 29, "+02:00");
  }
}

void mt_write_orders(dorm_client *c, const char *table, size_t n) {
  dorm_arena a = DORM_ARENA_INIT;
  size_t total = n + MT_SPARSE + MT_OTHER;
  dorm_av *items = dorm_arena_calloc(&a, total, sizeof *items);
  dorm_batch_write_entry *w = dorm_arena_calloc(&a, total, sizeof *w);
  assert_non_null(items);
  assert_non_null(w);
  for (size_t i = 0; i < total; i++) {
    dorm_av *it = &items[i];
    *it = dorm_av_empty(DORM_AV_M);
    bool sparse = i >= n && i < n + MT_SPARSE, other = i >= n + MT_SPARSE;
    char *cust = dorm_arena_printf(&a, "c%zu", i % 97), *ord = dorm_arena_printf(&a, "o%06zu", i);
    dorm_av_map_set(&a, it, "PK", dorm_av_str(dorm_arena_printf(&a, "CUSTOMER#%s", cust)));
    dorm_av_map_set(&a, it, "SK", dorm_av_str(dorm_arena_printf(&a, "%s#%s", other ? "NOTE" : "ORDER", ord)));
    dorm_av_map_set(&a, it, "_type", dorm_av_str(other ? "Note" : "Order"));
    dorm_av_map_set(&a, it, "customerId", dorm_av_str(cust));
    dorm_av_map_set(&a, it, "orderId", dorm_av_str(ord));
    if (!sparse) dorm_av_map_set(&a, it, "status", dorm_av_str(mt_status_of(i)));
    dorm_av v;
    assert_int_equal(dorm_av_num_i64(&a, amount_of(i), &v), DORM_OK);
    dorm_av_map_set(&a, it, "amount", v);
    char *created = dorm_arena_alloc(&a, 48);
    stored_created(i, created);
    dorm_av_map_set(&a, it, "createdAt", dorm_av_str(created));
    dorm_av_map_set(&a, it, "updatedAt", dorm_av_str(created));
    dorm_av_map_set(&a, it, "version", dorm_av_num("0"));
    w[i].table = table;
    w[i].put_item = it;
  }
  size_t written = 0;
  dorm_status st = dorm_batch_write(c, w, total, NULL, &written);
  if (st != DORM_OK) fail_msg("dorm_batch_write: %s", dorm_client_errmsg(c));
  assert_int_equal(written, total);
  dorm_arena_free(&a);
}

void mt_write_schema_text(const mt_env *e, int version, const char *text) {
  const char *at = strstr(text, "@TABLE@");
  if (!at) fail_msg("schema text without @TABLE@");
  char buf[4096];
  snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, e->shop, at + strlen("@TABLE@"));
  assert_int_equal(ts_write_file(mt_schema(e, version), buf, strlen(buf)), 0);
}

void mt_expect(const char *text, const char *want) {
  if (!mt_has(text, want)) fail_msg("expected \"%s\" in:\n%s", want, text);
}
