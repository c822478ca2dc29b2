/* dormc migrate without DynamoDB: the written plans, scripts, snapshots and
 * dorm.sum against golden files (the v1..v4 series), every refused change
 * with its message and hint, --check exit codes, dorm.sum catching edited,
 * added, removed and renamed migrations, and plan/snapshot round trips.
 * DORM_UPDATE_GOLDEN=1 rewrites the golden files. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dorm/migrate.h"
#include "mig_common.h"
#include "test_support.h"

static const char *const names[] = {NULL, "init", "add_status_index", "ttl_stream_billing", "drop_email_index"};

static void write_series(mt_env *e) {
  for (int v = 1; v <= 4; v++) mt_diff(e, v, names[v], v == 4);
}

static size_t count_migrations(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  struct dirent *x;
  while ((x = readdir(d)) != NULL) n += dorm_mig_name_valid(x->d_name);
  closedir(d);
  return n;
}

static void compare_or_update(const char *got_path, const char *golden_path) {
  size_t glen = 0, len = 0;
  char *got = ts_read_file(got_path, &len);
  if (!got) fail_msg("missing %s", got_path);
  if (getenv("DORM_UPDATE_GOLDEN")) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", golden_path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(ts_write_file(golden_path, got, len), 0);
  } else {
    char *want = ts_read_file(golden_path, &glen);
    if (!want) fail_msg("missing golden file %s (DORM_UPDATE_GOLDEN=1 writes it)", golden_path);
    if (glen != len || memcmp(want, got, len) != 0)
      fail_msg("%s differs from %s (DORM_UPDATE_GOLDEN=1 rewrites it after review):\n%s", got_path, golden_path, got);
    free(want);
  }
  free(got);
}

static void test_golden(void **state) {
  (void)state;
  mt_env e;
  mt_setup(&e, NULL);
  write_series(&e);
  static const char *const files[] = {"plan.json", "apply.sh", "snapshot.json"};
  for (int v = 1; v <= 4; v++)
    for (size_t f = 0; f < 3; f++) {
      char got[600], want[600];
      snprintf(got, sizeof got, "%s/2026010%d000000_%s/%s", e.migrations, v, names[v], files[f]);
      snprintf(want, sizeof want, "%s/tests/runtime/migrate/golden/2026010%d000000_%s/%s", ts_source_dir(), v, names[v],
               files[f]);
      compare_or_update(got, want);
    }
  char got[600], want[600];
  snprintf(got, sizeof got, "%s/dorm.sum", e.migrations);
  snprintf(want, sizeof want, "%s/tests/runtime/migrate/golden/dorm.sum", ts_source_dir());
  compare_or_update(got, want);
  /* Same input, same bytes. */
  mt_env again;
  mt_setup(&again, NULL);
  write_series(&again);
  snprintf(want, sizeof want, "%s/dorm.sum", again.migrations);
  compare_or_update(got, want);
  /* The scripts are valid bash (and clean under shellcheck when it is installed). */
  for (int v = 1; v <= 4; v++) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "bash -n '%s/2026010%d000000_%s/apply.sh'", e.migrations, v, names[v]);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "! command -v shellcheck >/dev/null || shellcheck -S warning '%s/2026010%d000000_%s/apply.sh'",
             e.migrations, v, names[v]);
    assert_int_equal(system(cmd), 0);
  }
  mt_teardown(&again);
  mt_teardown(&e);
}

/* Plans and snapshots read back into the same bytes. */
static void test_round_trip(void **state) {
  (void)state;
  mt_env e;
  mt_setup(&e, NULL);
  write_series(&e);
  dorm_arena a = DORM_ARENA_INIT;
  for (int v = 1; v <= 4; v++) {
    char dir[64];
    snprintf(dir, sizeof dir, "2026010%d000000_%s", v, names[v]);
    const char *text, *again;
    size_t len;
    char err[512];
    assert_int_equal(dorm_mig_read_file(e.migrations, dir, "plan.json", &a, &text, &len, err, sizeof err), DORM_OK);
    dorm_mig_plan p;
    if (dorm_mig_plan_parse(text, len, &a, &p, err, sizeof err) != DORM_OK) fail_msg("%s", err);
    assert_int_equal(dorm_mig_plan_json(&p, &a, &again), DORM_OK);
    assert_string_equal(again, text);
    assert_int_equal(dorm_mig_read_file(e.migrations, dir, "snapshot.json", &a, &text, &len, err, sizeof err), DORM_OK);
    dorm_mig_snapshot s;
    if (dorm_mig_snapshot_parse(text, len, &a, &s, err, sizeof err) != DORM_OK) fail_msg("%s", err);
    assert_int_equal(dorm_mig_snapshot_json(&s, &a, &again), DORM_OK);
    assert_string_equal(again, text);
  }
  /* Malformed files are refused with the member's path. */
  dorm_mig_plan p;
  char err[512];
  const char *bad = "{\"format\":\"dorm-plan/1\",\"migration\":\"x\",\"steps\":[{\"step\":1,\"kind\":\"explode\","
                    "\"table\":\"t\"}]}";
  assert_int_equal(dorm_mig_plan_parse(bad, strlen(bad), &a, &p, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  assert_true(mt_has(err, ".steps[0].kind: unknown step kind \"explode\""));
  assert_int_equal(dorm_mig_plan_parse("{", 1, &a, &p, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  dorm_mig_snapshot s;
  const char *bads = "{\"format\":\"dorm-snapshot/1\",\"tables\":[{\"name\":\"t\",\"pk\":{\"attribute\":\"a\","
                     "\"type\":\"X\"}}],\"models\":[]}";
  assert_int_equal(dorm_mig_snapshot_parse(bads, strlen(bads), &a, &s, err, sizeof err), DORM_ERR_BAD_RESPONSE);
  assert_true(mt_has(err, ".tables[0].pk.type: \"X\" is not S, N or B"));
  dorm_arena_free(&a);
  mt_teardown(&e);
}

/* Every single-byte corruption and every truncation of a plan, a snapshot
 * and dorm.sum is either read or refused with a message: never a crash
 * (the sanitizer build checks the memory side). */
static void test_hostile_files(void **state) {
  (void)state;
  mt_env e;
  mt_setup(&e, NULL);
  write_series(&e);
  static const char *const files[] = {"plan.json", "snapshot.json"};
  static const char repl[] = {'\0', '"', '{', ']', '9', '\\', (char)0xff};
  dorm_arena a = DORM_ARENA_INIT;
  size_t refused = 0, total = 0;
  for (size_t f = 0; f < 2; f++) {
    const char *orig;
    size_t len;
    char err[512];
    assert_int_equal(dorm_mig_read_file(e.migrations, "20260102000000_add_status_index", files[f], &a, &orig, &len, err,
                                        sizeof err),
                     DORM_OK);
    char *buf = malloc(len + 1);
    for (size_t i = 0; i < len; i += 3) {
      for (size_t r = 0; r <= sizeof repl; r++) {
        memcpy(buf, orig, len + 1);
        size_t n = len;
        if (r == sizeof repl) n = i; /* truncated */
        else buf[i] = repl[r];
        dorm_arena scratch = DORM_ARENA_INIT;
        dorm_status st;
        err[0] = '\0';
        if (f == 0) {
          dorm_mig_plan p;
          st = dorm_mig_plan_parse(buf, n, &scratch, &p, err, sizeof err);
        } else {
          dorm_mig_snapshot sn;
          st = dorm_mig_snapshot_parse(buf, n, &scratch, &sn, err, sizeof err);
        }
        if (st != DORM_OK) {
          assert_int_equal(st, DORM_ERR_BAD_RESPONSE);
          assert_true(err[0] != '\0');
          refused++;
        }
        total++;
        dorm_arena_free(&scratch);
      }
    }
    free(buf);
  }
  /* dorm.sum: corrupted copies are refused by verify, naming the file. */
  char sum[400];
  snprintf(sum, sizeof sum, "%s/dorm.sum", e.migrations);
  size_t slen;
  char *orig = ts_read_file(sum, &slen);
  assert_non_null(orig);
  dorm_mig_dir d;
  char err[1024];
  assert_int_equal(dorm_mig_dir_read(e.migrations, &a, &d, err, sizeof err), DORM_OK);
  for (size_t i = 0; i < slen; i += 7) {
    char *copy = malloc(slen);
    memcpy(copy, orig, slen);
    copy[i] = copy[i] == 'a' ? 'b' : 'a';
    assert_int_equal(ts_write_file(sum, copy, slen), 0);
    dorm_status st = dorm_mig_dir_verify(&d, err, sizeof err);
    if (st != DORM_OK) assert_true(mt_has(err, "dorm.sum") || mt_has(err, e.migrations));
    refused += st != DORM_OK;
    total++;
    free(copy);
  }
  assert_int_equal(ts_write_file(sum, orig, slen), 0);
  assert_int_equal(dorm_mig_dir_verify(&d, err, sizeof err), DORM_OK);
  free(orig);
  print_message("%zu corrupted files, %zu refused with a message\n", total, refused);
  assert_true(refused > total / 2);
  dorm_arena_free(&a);
  mt_teardown(&e);
}

static const char *base_schema =
    "namespace r;\n"
    "table T \"r_t\" {\n"
    "  key (PK: S, SK: S);\n"
    "  gsi \"gsi1\" (G1PK: S) project all;\n"
    "  lsi \"lsi1\" (L1: S) project keys_only;\n"
    "}\n"
    "model M in T {\n"
    "  type \"M\";\n"
    "  key PK = \"A#{a}\";\n"
    "  key SK = \"B#{b}\";\n"
    "  key G1PK = \"G#{a}\";\n"
    "  a: string;\n"
    "  b: string;\n"
    "  L1: string;\n"
    "  exp: epoch? @ttl;\n"
    "  exp2: epoch?;\n"
    "  memo: string?;\n"
    "  card: Card? @encrypted(\"alias/r\");\n"
    "}\n"
    "struct Card {\n"
    "  number: string?;\n"
    "}\n"
    "model U table \"r_u\" {\n"
    "  id: string @pk;\n"
    "}\n";

typedef struct refusal_case {
  const char *what;
  const char *edits[6]; /* pairs: find, replace */
  const char *message;
  const char *where; /* the place dormc points at (file:line:col of the schema) */
} refusal_case;

static const refusal_case cases[] = {
    {"partition key renamed",
     {"key (PK: S, SK: S)", "key (ID: S, SK: S)", "key PK = ", "key ID = "},
     "table 'r_t': its partition key changes (PK S -> ID S); DynamoDB cannot change a table's key schema", "/r.dorm:2:"},
    {"sort key renamed",
     {"key (PK: S, SK: S)", "key (PK: S, SORT: S)", "key SK = ", "key SORT = "},
     "table 'r_t': its sort key changes (SK S -> SORT S)", "/r.dorm:2:"},
    {"LSI added",
     {"  lsi \"lsi1\" (L1: S) project keys_only;\n",
      "  lsi \"lsi1\" (L1: S) project keys_only;\n  lsi \"lsi2\" (L2: S) project all;\n", "  L1: string;\n",
      "  L1: string;\n  L2: string;\n"},
     "table 'r_t': LSI 'lsi2' is added to an existing table; DynamoDB creates LSIs only with the table", "/r.dorm:6:7: error"},
    {"LSI removed", {"  lsi \"lsi1\" (L1: S) project keys_only;\n", ""}, "table 'r_t': LSI 'lsi1' is removed", "/r.dorm:2:"},
    {"LSI changed", {"(L1: S) project keys_only", "(L1: S) project all"},
     "table 'r_t': LSI 'lsi1' changes its sort key or projection", "/r.dorm:5:7: error"},
    {"GSI keys changed",
     {"gsi \"gsi1\" (G1PK: S)", "gsi \"gsi1\" (G1PK: S, G1SK: S)", "  key G1PK = \"G#{a}\";\n",
      "  key G1PK = \"G#{a}\";\n  key G1SK = \"S#{b}\";\n"},
     "table 'r_t': GSI 'gsi1' changes its keys (G1PK S -> G1PK S, G1SK S); DynamoDB cannot change an index's keys in "
     "place", "/r.dorm:4:7: error"},
    {"GSI projection changed", {"(G1PK: S) project all", "(G1PK: S) project keys_only"},
     "table 'r_t': GSI 'gsi1' changes its projection (ALL -> KEYS_ONLY)", "/r.dorm:4:7: error"},
    {"table key template changed", {"key PK = \"A#{a}\"", "key PK = \"Z#{a}\""},
     "model 'M': the template of table key 'PK' changes (A#{a} -> Z#{a}); existing items would keep their old "
     "primary keys", "/r.dorm:9:3: error"},
    {"table dropped", {"model U table \"r_u\" {\n  id: string @pk;\n}\n", ""},
     "table 'r_u' is dropped; DeleteTable deletes every item in it", "/r.dorm: error: table 'r_u'"},
    {"GSI dropped", {"  gsi \"gsi1\" (G1PK: S) project all;\n", "", "  key G1PK = \"G#{a}\";\n", ""},
     "table 'r_t': GSI 'gsi1' is dropped; queries on it stop working", "/r.dorm:2:"},
    {"field type changed", {"exp2: epoch?;", "exp2: string?;"},
     "model 'M': field 'exp2' changes its type (epoch? -> string?); the values already stored could no longer be read "
     "as string?", "/r.dorm:16:3: error"},
    {"field type narrowed", {"exp2: epoch?;", "exp2: time?;"}, "field 'exp2' changes its type (epoch? -> time?)",
     "/r.dorm:16:3: error"},
    /* @encrypted added or removed: the stored values are the other form (a
     * struct read an envelope as a Card with no number, without an error) */
    {"field becomes encrypted", {"memo: string?;", "memo: string? @encrypted(\"alias/r\");"},
     "model 'M': field 'memo' becomes @encrypted; the values already stored are plaintext, which the new code refuses "
     "to read as envelopes", "/r.dorm:17:3: error"},
    {"field no longer encrypted", {"card: Card? @encrypted(\"alias/r\");", "card: Card?;"},
     "model 'M': field 'card' is no longer @encrypted; the values already stored are envelopes, which the new code "
     "would read as plain values", "/r.dorm:18:3: error"},
    {"TTL removed", {"exp: epoch? @ttl;", "exp: epoch?;"}, "table 'r_t': TTL on 'exp' is removed; items stop expiring", "/r.dorm:2:"},
    {"TTL moved", {"exp: epoch? @ttl;", "exp: epoch?;", "exp2: epoch?;", "exp2: epoch? @ttl;"},
     "table 'r_t': TTL moves from 'exp' to 'exp2'", "/r.dorm:2:"},
};

static char *edit(const char *text, const char *const *edits) {
  char *s = strdup(text);
  for (size_t i = 0; i < 6 && edits[i]; i += 2) {
    char *p = strstr(s, edits[i]);
    if (!p) fail_msg("edit: '%s' not found", edits[i]);
    size_t fl = strlen(edits[i]), rl = strlen(edits[i + 1]);
    char *out = malloc(strlen(s) - fl + rl + 1);
    memcpy(out, s, (size_t)(p - s));
    memcpy(out + (p - s), edits[i + 1], rl);
    strcpy(out + (p - s) + rl, p + fl);
    free(s);
    s = out;
  }
  return s;
}

static void test_refusals(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    mt_env e;
    mt_setup(&e, NULL);
    char schema[400];
    snprintf(schema, sizeof schema, "%s/r.dorm", e.dir);
    assert_int_equal(ts_write_file(schema, base_schema, strlen(base_schema)), 0);
    assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", schema, "--name", "base", "--now",
                              "20260101000000", NULL),
                     0);
    char *changed = edit(base_schema, cases[k].edits);
    assert_int_equal(ts_write_file(schema, changed, strlen(changed)), 0);
    free(changed);
    int rc = mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", schema, "--name", "change", "--now",
                      "20260102000000", NULL);
    if (rc != 1 || !mt_has(mt_err, cases[k].message) || !mt_has(mt_err, "hint: ") || !mt_has(mt_err, cases[k].where))
      fail_msg("%s: exit %d, expected 1, \"%s\" and \"%s\" in:\n%s%s", cases[k].what, rc, cases[k].message,
               cases[k].where, mt_out, mt_err);
    assert_true(mt_has(mt_err, "no migration written"));
    assert_int_equal(count_migrations(e.migrations), 1);
    /* The destructive ones go through with the flag, as marked steps. */
    bool destructive = mt_has(mt_err, "hint: pass --allow-destructive to write this migration");
    rc = mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", schema, "--name", "change", "--now",
                  "20260102000000", "--allow-destructive", NULL);
    if (destructive) {
      assert_int_equal(rc, 0);
      assert_true(mt_has(mt_out, "[destructive]"));
    } else {
      assert_int_equal(rc, 1);
    }
    mt_teardown(&e);
  }
}

/* A snapshot written before fields recorded `encrypted` says nothing
 * about it: adding @encrypted against one is not judged (it would be
 * refused against one that records the field as plain, test_refusals). */
static void test_encrypted_unrecorded(void **state) {
  (void)state;
  mt_env e;
  mt_setup(&e, NULL);
  char schema[400], snap[600];
  snprintf(schema, sizeof schema, "%s/r.dorm", e.dir);
  assert_int_equal(ts_write_file(schema, base_schema, strlen(base_schema)), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", schema, "--name", "base", "--now",
                            "20260101000000", NULL),
                   0);
  snprintf(snap, sizeof snap, "%s/20260101000000_base/snapshot.json", e.migrations);
  size_t len;
  char *text = ts_read_file(snap, &len);
  assert_non_null(text);
  assert_non_null(strstr(text, "\"encrypted\": true"));
  /* drop every ,<space>"encrypted": true|false member */
  char *w = text;
  for (const char *r = text; *r;) {
    const char *m = strstr(r, "\"encrypted\": ");
    const char *comma = m ? m : r + strlen(r);
    while (m && comma > r && comma[-1] != ',') comma--;
    size_t keep = (size_t)((m ? comma - 1 : comma) - r);
    memmove(w, r, keep);
    w += keep;
    if (!m) break;
    r = m + strlen("\"encrypted\": ");
    r += strncmp(r, "true", 4) == 0 ? 4 : 5;
  }
  *w = '\0';
  assert_null(strstr(text, "encrypted"));
  assert_int_equal(ts_write_file(snap, text, strlen(text)), 0);
  free(text);
  assert_int_equal(mt_dormc("migrate", "hash", "--dir", e.migrations, NULL), 0);
  char *changed = edit(base_schema, (const char *const[]){"memo: string?;", "memo: string? @encrypted(\"alias/r\");",
                                                          NULL, NULL, NULL, NULL});
  assert_int_equal(ts_write_file(schema, changed, strlen(changed)), 0);
  free(changed);
  int rc = mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", schema, "--name", "change", "--now",
                    "20260102000000", NULL);
  if (rc != 0 || !mt_has(mt_out, "no migration needed")) fail_msg("exit %d:\n%s%s", rc, mt_out, mt_err);
  mt_teardown(&e);
}

typedef struct change_case {
  const char *what;
  const char *edits[6];
  const char *steps[4]; /* the summaries dormc prints, in order */
  const char *warning;  /* on stderr, or NULL */
} change_case;

static const change_case changes[] = {
    {"stream view type", {"  key (PK: S, SK: S);\n", "  key (PK: S, SK: S);\n  stream keys_only;\n"},
     {"1. enable the stream of r_t (KEYS_ONLY)"}, NULL},
    {"billing", {"  key (PK: S, SK: S);\n", "  key (PK: S, SK: S);\n  billing provisioned(read 3, write 4);\n"},
     {"1. set r_t to provisioned billing (read 3, write 4, the same for its GSIs)"}, NULL},
    {"index template", {"key G1PK = \"G#{a}\"", "key G1PK = \"H#{b}\""},
     {"1. backfill M items in r_t: G1PK = \"H#{b}\""}, NULL},
    {"new GSI with a constant and an untyped model",
     {"  gsi \"gsi1\" (G1PK: S) project all;\n",
      "  gsi \"gsi1\" (G1PK: S) project all;\n  gsi \"gsi2\" (G2PK: S, G2SK: S) project include(a);\n",
      "  key G1PK = \"G#{a}\";\n", "  key G1PK = \"G#{a}\";\n  key G2PK = \"ALL\";\n  key G2SK = \"{b}\";\n",
      "  type \"M\";\n", ""},
     {"1. create GSI gsi2 on r_t (G2PK S, G2SK S; projection INCLUDE(a))",
      "2. backfill M items in r_t: G2PK = \"ALL\", G2SK = \"{b}\""},
     NULL},
    {"new table with TTL", {"model U table \"r_u\" {\n", "model V table \"r_v\" {\n  t: epoch? @ttl;\n  id: string @pk;\n}\nmodel U table \"r_u\" {\n"},
     {"1. create table r_v (id S; on-demand; 0 GSIs, 0 LSIs; stream NONE)", "2. enable TTL on r_v.t"}, NULL},
    {"TTL moved (destructive)", {"exp: epoch? @ttl;", "exp: epoch?;", "exp2: epoch?;", "exp2: epoch? @ttl;"},
     {"1. disable TTL on r_t.exp [destructive]", "2. enable TTL on r_t.exp2"}, NULL},
};

/* Changes that go through: the steps, in order. */
static void test_changes(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof changes / sizeof changes[0]; k++) {
    mt_env e;
    mt_setup(&e, NULL);
    char schema[400];
    snprintf(schema, sizeof schema, "%s/r.dorm", e.dir);
    char *base = strdup(base_schema);
    if (k == 3) { /* a second model in the table, so that the missing `type` matters */
      char *with = edit(base_schema, (const char *[]){"model U table", "model N in T {\n  type \"N\";\n  key PK = "
                                                      "\"N#{a}\";\n  key SK = \"N\";\n  a: string;\n  L1: "
                                                      "string;\n}\nmodel U table", NULL, NULL, NULL, NULL});
      free(base);
      base = with;
    }
    assert_int_equal(ts_write_file(schema, base, strlen(base)), 0);
    assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", schema, "--name", "base", "--now",
                              "20260101000000", NULL),
                     0);
    char *changed = edit(base, changes[k].edits);
    assert_int_equal(ts_write_file(schema, changed, strlen(changed)), 0);
    free(changed);
    free(base);
    int rc = mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", schema, "--name", "change", "--now",
                      "20260102000000", "--allow-destructive", NULL);
    if (rc != 0) fail_msg("%s: exit %d\n%s%s", changes[k].what, rc, mt_out, mt_err);
    const char *at = mt_out;
    for (size_t i = 0; i < 4 && changes[k].steps[i]; i++) {
      const char *p = strstr(at, changes[k].steps[i]);
      if (!p) fail_msg("%s: expected \"%s\" (in order) in:\n%s", changes[k].what, changes[k].steps[i], mt_out);
      at = p;
    }
    /* (k == 3: the untyped model's keys start with "A#" and "B#", which its
     * backfill filters on: no warning, unlike a model keyed by a field) */
    assert_string_equal(mt_err, "");
    mt_teardown(&e);
  }
  /* The time from the environment when --now is not given. */
  mt_env e;
  mt_setup(&e, NULL);
  setenv("DORM_MIGRATE_NOW", "2030-05-06T07:08:09Z", 1);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 1), "--name", "env",
                            NULL),
                   0);
  unsetenv("DORM_MIGRATE_NOW");
  assert_true(mt_has(mt_out, "wrote ") && mt_has(mt_out, "/20300506070809_env (2 steps)"));
  mt_teardown(&e);
}

static void test_check_and_sum(void **state) {
  (void)state;
  mt_env e;
  mt_setup(&e, NULL);
  /* An empty directory and a schema with tables: a migration is missing. */
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 1), "--check", NULL), 2);
  assert_true(mt_has(mt_out, "a migration is missing"));
  assert_int_equal(count_migrations(e.migrations), 0); /* --check writes nothing */
  mt_diff(&e, 1, "init", false);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 1), "--check", NULL), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 2);
  assert_true(mt_has(mt_out, "create GSI gsi-status"));
  /* Errors are 1 with --check: a broken schema, a missing file, usage. */
  char bad[400];
  snprintf(bad, sizeof bad, "%s/bad.dorm", e.dir);
  assert_int_equal(ts_write_file(bad, "namespace x;\ntable {", 20), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", bad, "--check", NULL), 1);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", "/nonexistent.dorm", "--check", NULL),
                   1);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--check", NULL), 1);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", bad, "--name", "x", NULL), 1);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--name", "Bad-Name",
                            NULL),
                   2);
  assert_true(mt_has(mt_err, "--name 'Bad-Name'"));
  /* A migration time not after the last one. */
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--name", "x",
                            "--now", "2026-01-01T00:00:00Z", NULL),
                   2);
  assert_true(mt_has(mt_err, "is not after the last migration"));
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--name", "x",
                            "--now", "yesterday", NULL),
                   2);
  mt_diff(&e, 2, "add_status_index", false);

  /* An edited file: named, with the way out; --check says 1. */
  char plan[600];
  snprintf(plan, sizeof plan, "%s/20260101000000_init/plan.json", e.migrations);
  char *text = ts_read_file(plan, NULL);
  char *p = strstr(text, "\"mig_users\"");
  assert_non_null(p);
  p[1] = 'M';
  assert_int_equal(ts_write_file(plan, text, strlen(text)), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 1);
  assert_true(mt_has(mt_err, "20260101000000_init/plan.json was changed after dorm.sum was written"));
  assert_true(mt_has(mt_err, "dormc migrate hash"));
  p[1] = 'm';
  assert_int_equal(ts_write_file(plan, text, strlen(text)), 0);
  free(text);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 0);

  /* A renamed (reordered) migration and a removed file. */
  char from[600], to[600];
  snprintf(from, sizeof from, "%s/20260102000000_add_status_index", e.migrations);
  snprintf(to, sizeof to, "%s/20251231000000_add_status_index", e.migrations);
  assert_int_equal(rename(from, to), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 1);
  assert_true(mt_has(mt_err, "20251231000000_add_status_index is not in dorm.sum"));
  assert_int_equal(rename(to, from), 0);
  char script[700], moved[700];
  snprintf(script, sizeof script, "%s/apply.sh", from);
  snprintf(moved, sizeof moved, "%s/apply.sh.keep", e.dir);
  assert_int_equal(rename(script, moved), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 1);
  assert_true(mt_has(mt_err, "20260102000000_add_status_index/apply.sh is in dorm.sum but missing"));
  /* hash accepts the directory as it is now. */
  assert_int_equal(mt_dormc("migrate", "hash", "--dir", e.migrations, NULL), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 0);
  assert_int_equal(rename(moved, script), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 1);
  assert_true(mt_has(mt_err, "apply.sh was added after dorm.sum was written"));
  /* A migration without plan.json is no migration. */
  char stray[600];
  snprintf(stray, sizeof stray, "%s/20260105000000_stray", e.migrations);
  assert_int_equal(mkdir(stray, 0777), 0);
  assert_int_equal(mt_dormc("migrate", "diff", "--dir", e.migrations, "--schema", mt_schema(&e, 2), "--check", NULL), 1);
  assert_true(mt_has(mt_err, "20260105000000_stray: no plan.json"));
  mt_teardown(&e);
}

/* The CLI's hints where the library's words do not fit a shell user: no
 * region (the flag), no credentials against an endpoint of one's own
 * (DynamoDB Local takes any keys). Nothing is sent. */
static void test_cli_hints(void **state) {
  (void)state;
  mt_env e;
  mt_setup(&e, NULL);
  mt_diff(&e, 1, "init", false);
  static const char *const unset[] = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                                      "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                                      "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                      "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL_DYNAMODB"};
  for (size_t i = 0; i < sizeof unset / sizeof *unset; i++) unsetenv(unset[i]);
  setenv("AWS_CONFIG_FILE", "/nonexistent/dorm-config", 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/dorm-credentials", 1);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  int rc = mt_dorm("migrate", "status", "--dir", e.migrations, "--endpoint-url", "http://127.0.0.1:9", NULL);
  assert_int_equal(rc, 1);
  if (!mt_has(mt_err, "hint: or pass --region REGION")) fail_msg("no region hint in:\n%s", mt_err);
  rc = mt_dorm("migrate", "status", "--dir", e.migrations, "--endpoint-url", "http://127.0.0.1:9", "--region",
               "us-east-1", NULL);
  assert_int_not_equal(rc, 0);
  if (!mt_has(mt_err, "hint: DynamoDB Local accepts any keys")) fail_msg("no credentials hint in:\n%s", mt_err);
  mt_teardown(&e);
}

/* dorm migrate's own usage: --help anywhere prints the help (exit 0);
 * counts are whole numbers, not rounded. */
static void test_cli_usage(void **state) {
  (void)state;
  assert_int_equal(mt_dorm("migrate", "--help", NULL), 0);
  if (!mt_has(mt_out, "usage: dorm migrate deploy")) fail_msg("no help in:\n%s", mt_out);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", "x", "-h", NULL), 0);
  if (!mt_has(mt_out, "usage: dorm migrate deploy")) fail_msg("no help in:\n%s", mt_out);
  assert_int_equal(mt_dorm("migrate", "backfill", "--plan", "p.json", "--step", "2.5", NULL), 2);
  if (!mt_has(mt_err, "--step needs a step number, not '2.5'")) fail_msg("unexpected:\n%s", mt_err);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", "x", "--page-size", "10.5", NULL), 2);
  if (!mt_has(mt_err, "--page-size needs 1 to 10000, not '10.5'")) fail_msg("unexpected:\n%s", mt_err);
  assert_int_equal(mt_dorm("migrate", "deploy", "--dir", "x", "--segments", "1e400", NULL), 2);
  assert_int_equal(mt_dorm("migrate", "nope", NULL), 2);
  if (!mt_has(mt_err, "unknown subcommand 'nope'")) fail_msg("unexpected:\n%s", mt_err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cli_usage),
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_hostile_files),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_encrypted_unrecorded),
      cmocka_unit_test(test_changes),
      cmocka_unit_test(test_check_and_sum),
      cmocka_unit_test(test_cli_hints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
