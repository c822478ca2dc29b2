/* dormc migrate: write migrations from schema changes (diff), check that a
 * directory is up to date (diff --check), and rewrite dorm.sum (hash). The
 * engine is libdorm's dorm/migrate.h; nothing here touches the network. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "dormc_migrate.h"

static int run(int argc, char **argv);

const dormc_cli_command dormc_cmd_migrate = {
    .name = "migrate",
    .summary = "write DynamoDB migrations from schema changes: dormc migrate diff | hash",
    .usage =
        "usage: dormc migrate diff --dir DIR --schema FILE --name NAME [--allow-destructive] [--now TIME]\n"
        "       dormc migrate diff --dir DIR --schema FILE --check\n"
        "       dormc migrate hash --dir DIR\n"
        "\n"
        "diff compares the schema with the snapshot of the last migration in DIR (an\n"
        "empty or missing DIR: everything is new) and writes DIR/<yyyymmddhhmmss>_NAME/\n"
        "with plan.json (the steps), apply.sh (the same steps as AWS CLI calls) and\n"
        "snapshot.json (the schema after the migration), then updates DIR/dorm.sum.\n"
        "Changes DynamoDB cannot make are refused with the reason and what to do\n"
        "instead; dropping a table or an index and removing TTL need --allow-destructive.\n"
        "\n"
        "  --dir DIR             the migrations directory\n"
        "  --schema FILE         the root .dorm file\n"
        "  --name NAME           the migration's name (a-z, 0-9, _)\n"
        "  --allow-destructive   allow steps that delete data or indexes\n"
        "  --now TIME            the migration's UTC time, 2026-01-02T03:04:05Z or\n"
        "                        20260102030405 (default: DORM_MIGRATE_NOW, else now)\n"
        "  --check               write nothing; exit 0 when DIR matches the schema,\n"
        "                        2 when a migration is missing, 1 on any error\n"
        "\n"
        "hash rewrites DIR/dorm.sum after a deliberate change to a migration's files.\n"
        "\n"
        "Deploy with `dorm migrate deploy --dir DIR`; see docs/migrations.md.\n"
        "Exit status: 0 ok, 1 schema errors or refused changes, 2 usage or I/O errors\n"
        "(with --check: 0 up to date, 2 a migration is missing, 1 any error).\n",
    .run = run,
};

typedef struct opts {
  const char *dir, *schema, *name, *now;
  bool allow_destructive, check;
} opts;

static int fail(const opts *o, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(const opts *o, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dormc migrate: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return o->check ? 1 : code;
}

/* "2026-01-02T03:04:05Z" or "20260102030405" -> "20260102030405". */
static bool parse_now(const char *s, char out[15]) {
  size_t n = strlen(s);
  if (n == 14) {
    for (size_t i = 0; i < 14; i++)
      if (s[i] < '0' || s[i] > '9') return false;
    memcpy(out, s, 15);
    return true;
  }
  if (n != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
    return false;
  static const int pos[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
  for (size_t i = 0; i < 14; i++) {
    if (s[pos[i]] < '0' || s[pos[i]] > '9') return false;
    out[i] = s[pos[i]];
  }
  out[14] = '\0';
  return true;
}

static bool name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 100) return false;
  for (size_t i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_')) return false;
  return true;
}

/* Reads and verifies DIR; loads the last migration's snapshot (empty when none). */
static int load_dir(const opts *o, dorm_arena *a, dorm_mig_dir *d, dorm_mig_snapshot *last) {
  char err[1024];
  if (dorm_mig_dir_read(o->dir, a, d, err, sizeof err) != DORM_OK) return fail(o, DORMC_EXIT_USAGE, "%s", err);
  if (dorm_mig_dir_verify(d, err, sizeof err) != DORM_OK) return fail(o, DORMC_EXIT_SCHEMA, "%s", err);
  memset(last, 0, sizeof *last);
  if (d->count == 0) return 0;
  const char *name = d->migrations[d->count - 1].name, *text;
  size_t len;
  if (dorm_mig_read_file(o->dir, name, "snapshot.json", a, &text, &len, err, sizeof err) != DORM_OK)
    return fail(o, DORMC_EXIT_USAGE, "%s", err);
  if (dorm_mig_snapshot_parse(text, len, a, last, err, sizeof err) != DORM_OK)
    return fail(o, DORMC_EXIT_SCHEMA, "%s/%s/%s", o->dir, name, err);
  return 0;
}

static int write_sum(const opts *o, dorm_arena *a) {
  dorm_mig_dir d;
  char err[1024];
  const char *text;
  if (dorm_mig_dir_read(o->dir, a, &d, err, sizeof err) != DORM_OK) return fail(o, DORMC_EXIT_USAGE, "%s", err);
  if (dorm_mig_sum_text(&d, a, &text) != DORM_OK) return fail(o, DORMC_EXIT_USAGE, "out of memory");
  const char *path = dorm_arena_printf(a, "%s/%s", o->dir, DORM_MIG_SUM_FILE);
  if (!path || dorm_mig_write_file(path, text, strlen(text), err, sizeof err) != DORM_OK)
    return fail(o, DORMC_EXIT_USAGE, "%s", path ? err : "out of memory");
  return 0;
}

static void print_steps(FILE *f, const dorm_mig_plan *p) {
  for (size_t i = 0; i < p->step_count; i++)
    fprintf(f, "  %zu. %s%s\n", i + 1, p->steps[i].summary, p->steps[i].destructive ? " [destructive]" : "");
}

/* A backfill of a model without an entity type in a table other models
 * share cannot tell the items apart: every item with the fields gets the
 * attributes. Said before the migration is reviewed. */
static void warn_untyped(const dorm_mig_plan *p, const dorm_mig_snapshot *snap) {
  for (size_t i = 0; i < p->step_count; i++) {
    const dorm_mig_step *s = &p->steps[i];
    if (s->kind != DORM_MIG_BACKFILL || s->entity_type) continue;
    size_t sharing = 0;
    for (size_t m = 0; m < snap->model_count; m++) sharing += strcmp(snap->models[m].table, s->table) == 0;
    /* With key_match the backfill tells the model's items by their key
     * text; only a model whose table keys start with a field cannot. */
    if (sharing > 1 && s->key_match_count == 0)
      fprintf(stderr,
              "dormc migrate: warning: model '%s' has no `type` and its table key templates start with a field, so "
              "its backfill (step %zu) gives the attributes to every item of table '%s' that has the template's "
              "fields, other models' items included\n",
              s->model, i + 1, s->table);
  }
}

static int write_migration(const opts *o, dorm_arena *a, const char *name, const dorm_mig_plan *plan,
                           const dorm_mig_snapshot *snap) {
  const char *plan_json, *script, *snap_json;
  if (dorm_mig_plan_json(plan, a, &plan_json) != DORM_OK || dorm_mig_plan_script(plan, a, &script) != DORM_OK ||
      dorm_mig_snapshot_json(snap, a, &snap_json) != DORM_OK)
    return fail(o, DORMC_EXIT_USAGE, "out of memory");
  const char *mdir = dorm_arena_printf(a, "%s/%s", o->dir, name);
  if (!mdir) return fail(o, DORMC_EXIT_USAGE, "out of memory");
  if (cli_mkdir_p(o->dir) != 0) return fail(o, DORMC_EXIT_USAGE, "cannot create %s: %s", o->dir, strerror(errno));
  if (mkdir(mdir, 0777) != 0)
    return fail(o, DORMC_EXIT_USAGE, "cannot create %s: %s", mdir, errno == EEXIST ? "it exists" : strerror(errno));
  static const char *const names[] = {"plan.json", "apply.sh", "snapshot.json"};
  const char *texts[] = {plan_json, script, snap_json};
  char err[1024];
  for (size_t i = 0; i < 3; i++) {
    const char *path = dorm_arena_printf(a, "%s/%s", mdir, names[i]);
    if (!path || dorm_mig_write_file(path, texts[i], strlen(texts[i]), err, sizeof err) != DORM_OK)
      return fail(o, DORMC_EXIT_USAGE, "%s", path ? err : "out of memory");
    if (i == 1) chmod(path, 0755);
  }
  return write_sum(o, a);
}

static int diff(const opts *o) {
  dorm_arena a = DORM_ARENA_INIT;
  dorm_mig_dir d;
  dorm_mig_snapshot last;
  int rc = load_dir(o, &a, &d, &last);
  if (rc != 0) {
    dorm_arena_free(&a);
    return rc;
  }
  dormc_options co = cli_default_options();
  dormc_compilation *c = dormc_new(&co);
  if (!c) {
    dorm_arena_free(&a);
    return fail(o, DORMC_EXIT_USAGE, "out of memory");
  }
  int lrc = dormc_load_file(c, o->schema);
  if (lrc == 0) lrc = dormc_analyze(c);
  if (lrc != 0) {
    dormc_free(c);
    dorm_arena_free(&a);
    return o->check ? 1 : lrc == -2 ? DORMC_EXIT_USAGE : DORMC_EXIT_SCHEMA;
  }
  dorm_mig_snapshot snap;
  dorm_mig_plan plan;
  dorm_mig_refusal *refusals;
  size_t nref;
  char stamp[15];
  const char *name = NULL;
  if (!o->check) {
    const char *now = o->now ? o->now : getenv("DORM_MIGRATE_NOW");
    if (now && *now) {
      if (!parse_now(now, stamp)) {
        rc = fail(o, DORMC_EXIT_USAGE, "%s '%s' is not a UTC time like 2026-01-02T03:04:05Z or 20260102030405",
                  o->now ? "--now" : "DORM_MIGRATE_NOW", now);
        goto done;
      }
    } else {
      time_t t = time(NULL);
      struct tm tm;
      gmtime_r(&t, &tm);
      strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    }
    name = dorm_arena_printf(&a, "%s_%s", stamp, o->name);
    if (d.count && strncmp(d.migrations[d.count - 1].name, stamp, 14) >= 0) {
      rc = fail(o, DORMC_EXIT_USAGE, "the new migration's time %s is not after the last migration %s (check the "
                "clock or --now)", stamp, d.migrations[d.count - 1].name);
      goto done;
    }
  }
  if (dormc_migrate_snapshot(dormc_get_schema(c), &a, &snap) != DORM_OK) {
    rc = fail(o, DORMC_EXIT_USAGE, "out of memory");
    goto done;
  }
  dorm_status st = dorm_mig_diff(&last, &snap, o->allow_destructive || o->check, name, &a, &plan, &refusals, &nref);
  if (st == DORM_ERR_NO_MEMORY) {
    rc = fail(o, DORMC_EXIT_USAGE, "out of memory");
    goto done;
  }
  if (nref) {
    for (size_t i = 0; i < nref; i++) {
      /* At the field, index or table it is about, with the line, as the
       * compiler's own errors; a dropped table is only a name. */
      dormc_loc at = dormc_migrate_refusal_loc(dormc_get_schema(c), &refusals[i]);
      if (at.file) dormc_report(c, DORMC_SEV_ERROR, at, refusals[i].message);
      else fprintf(stderr, "%s: error: %s\n", o->schema, refusals[i].message);
      fprintf(stderr, "  hint: %s\n", refusals[i].hint);
    }
    rc = fail(o, DORMC_EXIT_SCHEMA, "%zu change%s refused; no migration written", nref, nref == 1 ? "" : "s");
    goto done;
  }
  const char *base = d.count ? d.migrations[d.count - 1].name : NULL;
  if (plan.step_count == 0) {
    if (base) printf("%s matches %s/%s: no migration needed\n", o->schema, o->dir, base);
    else printf("%s declares no tables: no migration needed\n", o->schema);
    rc = 0;
    goto done;
  }
  if (o->check) {
    printf("%s: a migration is missing: %s differs from %s in %zu step%s:\n", o->dir, o->schema,
           base ? base : "an empty directory", plan.step_count, plan.step_count == 1 ? "" : "s");
    print_steps(stdout, &plan);
    printf("write it with: dormc migrate diff --dir %s --schema %s --name NAME\n", o->dir, o->schema);
    rc = 2;
    goto done;
  }
  warn_untyped(&plan, &snap);
  rc = write_migration(o, &a, name, &plan, &snap);
  if (rc == 0) {
    printf("wrote %s/%s (%zu step%s):\n", o->dir, name, plan.step_count, plan.step_count == 1 ? "" : "s");
    print_steps(stdout, &plan);
  }
done:
  dormc_free(c);
  dorm_arena_free(&a);
  return rc;
}

static int run(int argc, char **argv) {
  opts o = {0};
  const dormc_cli_command *cmd = &dormc_cmd_migrate;
  if (argc < 2) return cli_usage_error(cmd, "missing subcommand (diff or hash)");
  const char *sub = argv[1];
  bool is_diff = strcmp(sub, "diff") == 0, is_hash = strcmp(sub, "hash") == 0;
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], "--check") == 0) o.check = true;
  if (!is_diff && !is_hash) return o.check ? 1 : cli_usage_error(cmd, "unknown subcommand '%s'", sub);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char **target = NULL;
    if (strcmp(a, "--dir") == 0) target = &o.dir;
    else if (strcmp(a, "--schema") == 0 && is_diff) target = &o.schema;
    else if (strcmp(a, "--name") == 0 && is_diff) target = &o.name;
    else if (strcmp(a, "--now") == 0 && is_diff) target = &o.now;
    else if (strcmp(a, "--allow-destructive") == 0 && is_diff) o.allow_destructive = true;
    else if (strcmp(a, "--check") == 0 && is_diff) continue;
    else {
      int rc = cli_usage_error(cmd, "unknown option '%s' for %s", a, sub);
      return o.check ? 1 : rc;
    }
    if (target) {
      if (i + 1 >= argc) {
        int rc = cli_usage_error(cmd, "%s needs a value", a);
        return o.check ? 1 : rc;
      }
      *target = argv[++i];
    }
  }
  if (!o.dir) {
    int rc = cli_usage_error(cmd, "--dir is required");
    return o.check ? 1 : rc;
  }
  if (is_hash) {
    dorm_arena a = DORM_ARENA_INIT;
    int rc = write_sum(&o, &a);
    dorm_arena_free(&a);
    if (rc == 0) printf("wrote %s/%s\n", o.dir, DORM_MIG_SUM_FILE);
    return rc;
  }
  if (!o.schema) {
    int rc = cli_usage_error(cmd, "--schema is required");
    return o.check ? 1 : rc;
  }
  if (!o.check && !o.name) return cli_usage_error(cmd, "--name is required (or --check)");
  if (!o.check && !name_ok(o.name))
    return cli_usage_error(cmd, "--name '%s': use 1 to 100 of a-z, 0-9 and _", o.name);
  return diff(&o);
}
