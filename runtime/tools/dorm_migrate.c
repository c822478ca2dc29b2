/* dorm migrate: deploy, status, resolve and backfill, the online half of
 * migrations (dormc migrate diff writes them). A thin CLI over
 * dorm/migrate.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "dorm/migrate.h"

#define EXIT_NOT_UP_TO_DATE 3

void dorm_migrate_help(FILE *out) {
  fputs("usage: dorm migrate deploy  --dir DIR [options]\n"
        "       dorm migrate status  --dir DIR [--strict] [options]\n"
        "       dorm migrate resolve --dir DIR (--applied NAME | --rolled-back NAME) [options]\n"
        "       dorm migrate backfill --plan PLAN.json --step N [options]\n"
        "\n"
        "deploy applies the pending migrations of DIR (written by `dormc migrate diff`) in\n"
        "order, each step once, waiting for tables and indexes to become ACTIVE, and\n"
        "records them in the history table. A lock item keeps two deploys apart; a\n"
        "migration that failed or was interrupted resumes at its step. dorm.sum and the\n"
        "recorded checksums must match the files.\n"
        "status lists applied, pending and failed migrations, backfills that left items\n"
        "without an attribute (a template field missing) or failed items, and the drift\n"
        "of the live tables from the snapshot of the last applied migration.\n"
        "resolve records a migration as applied or rolled back after a manual fix.\n"
        "backfill runs one backfill step of a plan without the history (apply.sh uses it).\n"
        "\n"
        "options:\n"
        "  --history-table NAME   the history table (default dorm_migrations)\n"
        "  --endpoint-url URL     DynamoDB endpoint (default: AWS_ENDPOINT_URL_DYNAMODB, ...)\n"
        "  --region REGION        AWS region (default: AWS_REGION, the profile, ...)\n"
        "  --dry-run              deploy: print what would be done, change nothing\n"
        "  --timeout SECONDS      longest wait for a table or index (default 3600)\n"
        "  --rate N               backfill: at most N items per second (default: no limit)\n"
        "  --page-size N          backfill: items per scan page, progress is saved per page (100)\n"
        "  --segments N           backfill: N parallel scan segments, requests in flight on one thread\n"
        "                         (1..64, default 1; a resumed backfill keeps the number it started with)\n"
        "  --in-flight N          backfill: conditional writes each segment keeps in flight (1..256, default 8)\n"
        "  --backfill-log FILE    backfill: append skipped and failed items (JSON lines)\n"
        "                         (default: dorm-backfill.log in the current directory)\n"
        "  --lock-wait SECONDS    wait for a held lock this long (default: fail at once)\n"
        "  --lock-ttl SECONDS     the lock's lease, renewed while working (default 60)\n"
        "  --no-progress          no progress line (default: shown when stderr is a terminal)\n"
        "  --strict               status: also exit 3 when a backfill skipped or failed items\n"
        "\n"
        "exit status: 0 ok (status: up to date, no drift), 1 failure, 2 usage error,\n"
        "3 status: pending or failed migrations, drift, or a dorm.sum mismatch (with\n"
        "--strict also items a backfill skipped or failed).\n",
        out);
}

typedef struct args {
  const char *sub, *dir, *history, *endpoint, *region, *applied, *rolled_back, *plan, *backfill_log;
  dorm_mig_options o;
  long step;
  bool no_progress, strict;
} args;

static int usage(const char *fmt, const char *arg) {
  fputs("dorm migrate: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs(" (see 'dorm help migrate')\n", stderr);
  return DORM_EXIT_USAGE;
}

static bool number(const char *s, double min, double max, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < min || v > max) return false;
  *out = v;
  return true;
}

/* A whole number in [min, max]: a step, a page size or a count is not
 * rounded ("--step 2.5" would run step 2). */
static bool whole(const char *s, double min, double max, double *out) {
  return number(s, min, max, out) && *out == (double)(long)*out;
}

static int parse(int argc, char **argv, args *a) {
  if (argc < 2) return usage("missing subcommand%s (deploy, status, resolve or backfill)", "");
  a->sub = argv[1];
  if (strcmp(a->sub, "deploy") && strcmp(a->sub, "status") && strcmp(a->sub, "resolve") && strcmp(a->sub, "backfill"))
    return usage("unknown subcommand '%s'", a->sub);
  for (int i = 2; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--dry-run") == 0) {
      a->o.dry_run = true;
      continue;
    }
    if (strcmp(opt, "--no-progress") == 0) {
      a->no_progress = true;
      continue;
    }
    if (strcmp(opt, "--strict") == 0) {
      a->strict = true;
      continue;
    }
    if (i + 1 >= argc) return usage("%s needs a value", opt);
    const char *v = argv[++i];
    double num;
    if (strcmp(opt, "--dir") == 0) a->dir = v;
    else if (strcmp(opt, "--history-table") == 0) a->history = v;
    else if (strcmp(opt, "--endpoint-url") == 0) a->endpoint = v;
    else if (strcmp(opt, "--region") == 0) a->region = v;
    else if (strcmp(opt, "--applied") == 0) a->applied = v;
    else if (strcmp(opt, "--rolled-back") == 0) a->rolled_back = v;
    else if (strcmp(opt, "--plan") == 0) a->plan = v;
    else if (strcmp(opt, "--backfill-log") == 0) a->backfill_log = v;
    else if (strcmp(opt, "--step") == 0) {
      if (!whole(v, 1, 100000, &num)) return usage("--step needs a step number, not '%s'", v);
      a->step = (long)num;
    } else if (strcmp(opt, "--timeout") == 0) {
      if (!number(v, 1, 7 * 86400, &num)) return usage("--timeout needs seconds (1 to 604800), not '%s'", v);
      a->o.wait_timeout_ms = (long)(num * 1000);
    } else if (strcmp(opt, "--rate") == 0) {
      if (!number(v, 0.001, 1e7, &num)) return usage("--rate needs items per second (> 0), not '%s'", v);
      a->o.rate = num;
    } else if (strcmp(opt, "--page-size") == 0) {
      if (!whole(v, 1, 10000, &num)) return usage("--page-size needs 1 to 10000, not '%s'", v);
      a->o.page_size = (uint32_t)num;
    } else if (strcmp(opt, "--segments") == 0) {
      if (!whole(v, 1, 64, &num)) return usage("--segments needs 1 to 64, not '%s'", v);
      a->o.segments = (uint32_t)num;
    } else if (strcmp(opt, "--in-flight") == 0) {
      if (!whole(v, 1, 256, &num)) return usage("--in-flight needs 1 to 256, not '%s'", v);
      a->o.in_flight = (uint32_t)num;
    } else if (strcmp(opt, "--lock-wait") == 0) {
      if (!number(v, 0, 86400, &num)) return usage("--lock-wait needs seconds (0 to 86400), not '%s'", v);
      a->o.lock_wait_ms = (long)(num * 1000);
    } else if (strcmp(opt, "--lock-ttl") == 0) {
      if (!number(v, 5, 86400, &num)) return usage("--lock-ttl needs seconds (5 to 86400), not '%s'", v);
      a->o.lock_ttl_ms = (long)(num * 1000);
    } else return usage("unknown option '%s'", opt);
  }
  bool is_backfill = strcmp(a->sub, "backfill") == 0;
  if (!is_backfill && !a->dir) return usage("--dir is required%s", "");
  if (is_backfill && (!a->plan || !a->step)) return usage("backfill needs --plan and --step%s", "");
  if (a->strict && strcmp(a->sub, "status") != 0) return usage("--strict is an option of status%s", "");
  if (strcmp(a->sub, "resolve") == 0 && !a->applied == !a->rolled_back)
    return usage("resolve needs exactly one of --applied NAME and --rolled-back NAME%s", "");
  return 0;
}

static void print_line(void *user, const char *line) {
  (void)user;
  printf("%s\n", line);
  fflush(stdout);
}

static int status_cmd(dorm_client *c, const args *a) {
  dorm_arena arena = DORM_ARENA_INIT;
  dorm_mig_report r;
  if (dorm_mig_status(c, &a->o, &arena, &r) != DORM_OK) {
    fprintf(stderr, "dorm %s\n", dorm_client_errmsg(c));
    dorm_arena_free(&arena);
    return DORM_EXIT_FAILURE;
  }
  if (r.count == 0) printf("no migrations in %s\n", a->dir);
  for (size_t i = 0; i < r.count; i++) {
    const dorm_mig_status_entry *e = &r.entries[i];
    printf("%-8s %s", dorm_mig_state_name(e->state), e->name);
    if (e->state == DORM_MIG_APPLIED && e->finished) printf("  (%s)", e->finished);
    if (e->state == DORM_MIG_FAILED || e->state == DORM_MIG_RUNNING)
      printf("  (%u of %u steps applied)", e->steps_applied, e->step_count);
    if (!e->in_dir) printf("  [recorded, but missing from %s]", a->dir);
    if (!e->checksum_ok) printf("  [files changed since it ran]");
    printf("\n");
    if (e->error && e->state != DORM_MIG_APPLIED) printf("         error: %s\n", e->error);
    for (size_t k = 0; k < e->backfill_note_count; k++) printf("         %s\n", e->backfill_notes[k]);
  }
  if (r.sum_error) printf("integrity: %s\n", r.sum_error);
  if (r.drift_base) {
    if (r.drift_count == 0) printf("drift: none (DynamoDB matches %s)\n", r.drift_base);
    else printf("drift: DynamoDB differs from the snapshot of %s:\n", r.drift_base);
    for (size_t i = 0; i < r.drift_count; i++) printf("  %s\n", r.drift[i]);
    /* The steps a running or failed migration applied are part of the
     * difference: they are not to be undone by hand as drift. */
    for (size_t i = 0; r.drift_count && i < r.count; i++)
      if ((r.entries[i].state == DORM_MIG_RUNNING || r.entries[i].state == DORM_MIG_FAILED) &&
          r.entries[i].steps_applied > 0)
        printf("  (%s is %s with %u of %u steps applied: those steps account for some of this; deploy "
               "finishes it)\n", r.entries[i].name, dorm_mig_state_name(r.entries[i].state),
               r.entries[i].steps_applied, r.entries[i].step_count);
  }
  if (r.backfill_gaps)
    printf("backfill: some items did not get every attribute (the backfill log lists them)%s\n",
           a->strict ? "" : "; --strict fails on this");
  bool ok = r.up_to_date && !(a->strict && r.backfill_gaps);
  printf("%s\n", ok ? "up to date" : "not up to date");
  int rc = ok ? DORM_EXIT_OK : EXIT_NOT_UP_TO_DATE;
  dorm_arena_free(&arena);
  return rc;
}

static int backfill_cmd(dorm_client *c, const args *a) {
  FILE *f = fopen(a->plan, "rb");
  if (!f) {
    fprintf(stderr, "dorm migrate backfill: cannot read %s: %s\n", a->plan, strerror(errno));
    return DORM_EXIT_FAILURE;
  }
  char *text = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[8192];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n > cap) {
      cap = (len + n) * 2;
      char *bigger = realloc(text, cap);
      if (!bigger) {
        free(text);
        fclose(f);
        return DORM_EXIT_FAILURE;
      }
      text = bigger;
    }
    memcpy(text + len, chunk, n);
    len += n;
  }
  fclose(f);
  dorm_arena arena = DORM_ARENA_INIT;
  dorm_mig_plan p;
  char err[2048];
  int rc = DORM_EXIT_OK;
  if (dorm_mig_plan_parse(text ? text : "", len, &arena, &p, err, sizeof err) != DORM_OK) {
    fprintf(stderr, "dorm migrate backfill: %s\n", err);
    rc = DORM_EXIT_FAILURE;
  } else if (dorm_mig_backfill_run(c, &a->o, &p, (size_t)a->step) != DORM_OK) {
    fprintf(stderr, "dorm %s\n", dorm_client_errmsg(c));
    rc = DORM_EXIT_FAILURE;
  }
  free(text);
  dorm_arena_free(&arena);
  return rc;
}

/* The library's words for a C caller, turned toward a shell user: the
 * region has a flag; missing credentials against an endpoint of one's own
 * is most often DynamoDB Local, which checks no signature but wants one. */
static void print_hint(const char *endpoint, const char *msg) {
  if (!msg) return;
  if (strncmp(msg, "no region", 9) == 0)
    fprintf(stderr, "hint: or pass --region REGION (DynamoDB Local takes any, e.g. --region us-east-1)\n");
  else if (endpoint && strstr(msg, "credentials"))
    fprintf(stderr, "hint: DynamoDB Local accepts any keys: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local\n");
}

int dorm_migrate_main(int argc, char **argv) {
  args a;
  memset(&a, 0, sizeof a);
  /* `dorm migrate --help`, `dorm migrate deploy -h`: as `dorm help migrate`
   * (it was "unknown subcommand" or "--help needs a value"). */
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      dorm_migrate_help(stdout);
      return 0;
    }
  int rc = parse(argc, argv, &a);
  if (rc) return rc;
  struct stat sb;
  if (a.dir && (stat(a.dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
    fprintf(stderr, "dorm migrate %s: %s: no such directory (write migrations with `dormc migrate diff`)\n", a.sub,
            a.dir);
    return DORM_EXIT_FAILURE;
  }
  a.o.dir = a.dir;
  a.o.history_table = a.history;
  a.o.backfill_log = a.backfill_log ? a.backfill_log : "dorm-backfill.log";
  a.o.progress = !a.no_progress && isatty(STDERR_FILENO);
  a.o.log = print_line;
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = a.endpoint;
  cfg.region = a.region;
  dorm_client *c = NULL;
  char err[2048];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) {
    fprintf(stderr, "dorm migrate: %s\n", err);
    print_hint(a.endpoint, err);
    return DORM_EXIT_FAILURE;
  }
  dorm_status st = DORM_OK;
  if (strcmp(a.sub, "status") == 0) {
    rc = status_cmd(c, &a);
  } else if (strcmp(a.sub, "backfill") == 0) {
    rc = backfill_cmd(c, &a);
  } else {
    if (strcmp(a.sub, "deploy") == 0) st = dorm_mig_deploy(c, &a.o);
    else st = dorm_mig_resolve(c, &a.o, a.applied ? a.applied : a.rolled_back, a.applied != NULL);
    if (st != DORM_OK) fprintf(stderr, "dorm %s\n", dorm_client_errmsg(c));
    rc = st == DORM_OK ? DORM_EXIT_OK : DORM_EXIT_FAILURE;
  }
  if (rc != DORM_EXIT_OK) print_hint(a.endpoint, dorm_client_errmsg(c));
  dorm_client_free(c);
  return rc;
}
