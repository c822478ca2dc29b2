/* dorm-contract: runs DynamORM's contract scenarios through dorm's
 * generated model code.
 *
 *   dorm-contract --endpoint URL --dms DIR [--no-reset] SCENARIO.yml|DIR...
 *
 * The models are compiled in (generated at build time from the DMS
 * documents of tests/contract/dms/); --dms names the documents the user
 * expects, which must describe the compiled models exactly. Every scenario
 * is read and checked before the first request. Exit status: 0 all steps
 * passed, 1 a step failed, 2 usage, I/O, YAML or scenario errors. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dorm/client.h>

#include "ct_models.h"
#include "ct_run.h"
#include "ct_scenario.h"

static void usage(FILE *f) {
  fputs("usage: dorm-contract --endpoint URL --dms DIR [--no-reset] SCENARIO.yml|DIR...\n"
        "\n"
        "Runs DynamORM contract scenarios against DynamoDB (Local) through dorm's\n"
        "generated model code, printing one line per step and a summary.\n"
        "\n"
        "  --endpoint URL  the DynamoDB endpoint (e.g. DynamoDB Local's http://127.0.0.1:8000)\n"
        "  --dms DIR       the DMS documents (*.yml, *.yaml, *.json) of the models the\n"
        "                  scenarios use; they must match the compiled-in models\n"
        "  --no-reset      keep the tables (default: delete and recreate each scenario's table)\n"
        "  SCENARIO        a scenario file, or a directory (its *.yml and *.yaml, sorted)\n"
        "\n"
        "Exit status: 0 every step passed, 1 a step failed, 2 usage, I/O or scenario errors.\n",
        f);
}

typedef struct paths {
  char **items;
  size_t count, cap;
} paths;

static int paths_add(paths *p, const char *s) {
  if (p->count == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 16;
    char **n = realloc(p->items, cap * sizeof *n);
    if (!n) return -1;
    p->items = n;
    p->cap = cap;
  }
  if (!(p->items[p->count] = strdup(s))) return -1;
  p->count++;
  return 0;
}

static void paths_free(paths *p) {
  for (size_t i = 0; i < p->count; i++) free(p->items[i]);
  free(p->items);
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool yaml_name(const char *n) {
  size_t l = strlen(n);
  return n[0] != '.' && ((l > 4 && !strcmp(n + l - 4, ".yml")) || (l > 5 && !strcmp(n + l - 5, ".yaml")));
}

/* A directory argument: its scenario files, sorted. */
static int add_dir(paths *out, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "dorm-contract: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  paths names = {0};
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d)))
    if (yaml_name(e->d_name)) rc = paths_add(&names, e->d_name);
  closedir(d);
  if (rc == 0 && names.count) qsort(names.items, names.count, sizeof *names.items, str_cmp);
  for (size_t i = 0; rc == 0 && i < names.count; i++) {
    size_t len = strlen(dir) + strlen(names.items[i]) + 2;
    char *path = malloc(len);
    if (!path) {
      rc = -1;
      break;
    }
    snprintf(path, len, "%s/%s", dir, names.items[i]);
    rc = paths_add(out, path);
    free(path);
  }
  paths_free(&names);
  if (rc) fprintf(stderr, "dorm-contract: out of memory\n");
  else if (!names.count) {
    fprintf(stderr, "dorm-contract: %s: no scenario files (*.yml, *.yaml)\n", dir);
    rc = -1;
  }
  return rc;
}

static dorm_client *make_client(const char *endpoint) {
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  /* DynamoDB Local accepts any region and credentials; use the
   * environment's when it has them. */
  if (!getenv("AWS_REGION") && !getenv("AWS_DEFAULT_REGION")) cfg.region = "us-east-1";
  if (!getenv("AWS_ACCESS_KEY_ID")) {
    cfg.access_key_id = "dormcontract";
    cfg.secret_access_key = "dormcontract";
  }
  dorm_client *c = NULL;
  char err[512];
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) {
    fprintf(stderr, "dorm-contract: cannot make a client for %s: %s\n", endpoint, err);
    return NULL;
  }
  return c;
}

/* Reads the models and every scenario, then runs them. Returns the exit status. */
static int run(const char *endpoint, const char *dms_dir, bool reset, const paths *files) {
  dorm_arena arena = DORM_ARENA_INIT;
  char err[2048];
  ct_models models;
  int rc = 2;
  ct_scenario *scenarios = calloc(files->count, sizeof *scenarios);
  if (!scenarios) {
    fprintf(stderr, "dorm-contract: out of memory\n");
    return 2;
  }
  if (ct_models_init(&models, &arena, err, sizeof err) != 0 ||
      ct_dms_load_dir(&models, dms_dir, &arena, err, sizeof err) != 0) {
    fprintf(stderr, "dorm-contract: %s\n", err);
    goto out;
  }
  /* Read everything first: a scenario that does not read runs nothing. */
  size_t bad = 0;
  for (size_t i = 0; i < files->count; i++) {
    bool io = false;
    if (ct_scenario_load(files->items[i], &models, &arena, &scenarios[i], err, sizeof err, &io) != 0) {
      fprintf(stderr, "%s\n", err);
      bad++;
    }
  }
  if (bad) {
    fprintf(stderr, "dorm-contract: %zu of %zu scenario file%s did not read; nothing was run\n", bad, files->count,
            files->count == 1 ? "" : "s");
    goto out;
  }
  dorm_client *c = make_client(endpoint);
  if (!c) goto out;
  ct_runner r;
  ct_runner_init(&r, c, reset, stdout);
  rc = 0;
  for (size_t i = 0; i < files->count && rc == 0; i++) {
    if (ct_run_scenario(&r, &scenarios[i], err, sizeof err) != 0) {
      fflush(stdout);
      fprintf(stderr, "dorm-contract: %s (%s): %s\n", scenarios[i].name, scenarios[i].path, err);
      rc = 2;
    }
  }
  printf("%zu passed, %zu failed\n", r.passed, r.failed);
  if (rc == 0 && r.failed) rc = 1;
  ct_runner_free(&r);
  dorm_client_free(c);
out:
  free(scenarios);
  dorm_arena_free(&arena);
  return rc;
}

int main(int argc, char **argv) {
  const char *endpoint = NULL, *dms_dir = NULL;
  bool reset = true;
  paths files = {0};
  int rc = 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      paths_free(&files);
      return 0;
    } else if (!strcmp(a, "--endpoint") || !strcmp(a, "--dms")) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "dorm-contract: %s needs a value\n", a);
        usage(stderr);
        goto done;
      }
      *(a[2] == 'e' ? &endpoint : &dms_dir) = argv[++i];
    } else if (!strcmp(a, "--no-reset")) {
      reset = false;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "dorm-contract: unknown option %s\n", a);
      usage(stderr);
      goto done;
    } else {
      struct stat st;
      if (stat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (add_dir(&files, a) != 0) goto done;
      } else if (paths_add(&files, a) != 0) {
        fprintf(stderr, "dorm-contract: out of memory\n");
        goto done;
      }
    }
  }
  if (!endpoint || !dms_dir || !files.count) {
    fprintf(stderr, "dorm-contract: %s\n",
            !endpoint ? "--endpoint is required" : !dms_dir ? "--dms is required" : "no scenarios given");
    usage(stderr);
    goto done;
  }
  rc = run(endpoint, dms_dir, reset, &files);
done:
  paths_free(&files);
  return rc;
}
