/* dormc gen: generate the C model code (and endpoint code) of schema files. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"
#include "gen_endpoint.h"
#include "gen_infra.h"
#include "gen_model.h"

static int run(int argc, char **argv);

const dormc_cli_command dormc_cmd_gen = {
    .name = "gen",
    .summary = "generate C code per schema: <name>_models.h/.c, <name>_endpoints.h/.c (--ts: .d.ts, --infra: template)",
    .usage = "usage: dormc gen --out DIR [--stubs DIR] [--depfile FILE] SCHEMA.dorm...\n"
             "       dormc gen --stubs DIR SCHEMA.dorm...\n"
             "       dormc gen --ts --out DIR [--depfile FILE] SCHEMA.dorm...\n"
             "       dormc gen --infra DIR SCHEMA.dorm...\n"
             "\n"
             "Checks each schema and writes, for its own declarations, DIR/<name>_models.h\n"
             "and DIR/<name>_models.c (<name>: the file name without .dorm) and, when it\n"
             "declares endpoints, DIR/<name>_endpoints.h and DIR/<name>_endpoints.c.\n"
             "Declarations of an imported schema are generated from that schema: list it too.\n"
             "\n"
             "  --out DIR        where to write (created if missing)\n"
             "  --stubs DIR      also (or, without --out, only) write DIR/<name>_handlers.c,\n"
             "                   an empty handler for every endpoint to fill in, when that\n"
             "                   file does not exist; an existing one is kept as it is (never\n"
             "                   overwritten; a note names each handler it lacks). Without\n"
             "                   --out nothing else is written: what a project with\n"
             "                   dorm_generate() runs in its sources\n"
             "  --depfile FILE   also write a Makefile-style dependency file naming every\n"
             "                   schema read (imports included), for build systems\n"
             "  --ts             instead of C, write DIR/<name>_endpoints.d.ts: TypeScript\n"
             "                   declarations of the schema's endpoints (request, progress\n"
             "                   and result types, the action map Endpoints) for the\n"
             "                   streamer's JavaScript client; a schema must declare endpoints\n"
             "  --infra DIR      also (or, without --out, only) write DIR/<name>.template.json:\n"
             "                   an AWS CloudFormation template of the schema's tables and,\n"
             "                   when it declares endpoints, the streamer on Lambda behind an\n"
             "                   API Gateway WebSocket API (docs/streamer.md, On AWS)\n"
             "\n"
             "The generated API is described in docs/models.md and docs/streamer.md.\n"
             "Exit status: 0 ok, 1 schema errors, 2 usage or I/O errors.\n",
    .run = run,
};

/* The output base of a schema path: its file name without ".dorm". */
static char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  size_t n = strlen(name);
  if (n > 5 && strcmp(name + n - 5, ".dorm") == 0) n -= 5;
  char *b = malloc(n + 1);
  if (!b) return NULL;
  memcpy(b, name, n);
  b[n] = '\0';
  return b;
}

/* Writes data to path. Always rewritten (not only when changed) so that the
 * outputs are newer than the schemas a build system compares them with. */
static int write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "dormc gen: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t put = fwrite(data, 1, len, f);
  if (fclose(f) != 0 || put != len) {
    fprintf(stderr, "dormc gen: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* Make-style escaping of a path in a depfile. */
static void dep_path(FILE *f, const char *p) {
  for (; *p; p++) {
    if (*p == ' ' || *p == '#') fputc('\\', f);
    if (*p == '$') fputc('$', f);
    fputc(*p, f);
  }
}

typedef struct dep_list {
  char **items;
  size_t n, cap;
} dep_list;

static void dep_add(dep_list *d, const char *s) {
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->items[i], s) == 0) return;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 16;
    char **bigger = realloc(d->items, cap * sizeof *bigger);
    if (!bigger) return;
    d->items = bigger;
    d->cap = cap;
  }
  char *copy = strdup(s);
  if (copy) d->items[d->n++] = copy;
}

static void dep_free(dep_list *d) {
  for (size_t i = 0; i < d->n; i++) free(d->items[i]);
  free(d->items);
}

/* Every file that declares something in the schema, in schema order. */
static void schema_files(const dormc_schema *s, dep_list *out) {
  for (size_t i = 0; i < s->nenums; i++) dep_add(out, s->enums[i].loc.file);
  for (size_t i = 0; i < s->nstructs; i++) dep_add(out, s->structs[i].loc.file);
  for (size_t i = 0; i < s->ntables; i++)
    if (s->tables[i].loc.file) dep_add(out, s->tables[i].loc.file);
  for (size_t i = 0; i < s->nmodels; i++) dep_add(out, s->models[i].loc.file);
  for (size_t i = 0; i < s->nendpoints; i++) dep_add(out, s->endpoints[i].loc.file);
}

/* Writes DIR/<base><suffix>.h and .c (recorded in outputs when not NULL). 0
 * or an exit code. */
static int write_pair(const char *outdir, const char *base, const char *suffix, const char *h, size_t hl,
                      const char *src, size_t sl, dep_list *outputs) {
  size_t plen = strlen(outdir) + strlen(base) + strlen(suffix) + 8;
  char *hp = malloc(plen), *cp = malloc(plen);
  int result = DORMC_EXIT_OK;
  if (!hp || !cp) {
    fprintf(stderr, "dormc gen: out of memory\n");
    result = DORMC_EXIT_USAGE;
  } else {
    snprintf(hp, plen, "%s/%s%s.h", outdir, base, suffix);
    snprintf(cp, plen, "%s/%s%s.c", outdir, base, suffix);
    if (write_file(hp, h, hl) != 0 || write_file(cp, src, sl) != 0) result = DORMC_EXIT_USAGE;
    if (outputs) {
      dep_add(outputs, hp);
      dep_add(outputs, cp);
    }
  }
  free(hp);
  free(cp);
  return result;
}

/* The user's handlers file is kept as it is, so an endpoint added to the
 * schema later gets no handler there, and the program fails to link naming
 * it. Say so now: each handler of the schema whose name the file does not
 * mention (it may live in another file: a note, not an error). */
static void note_missing_handlers(const dormc_schema *s, const char *schema, const char *base, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return;
  char *text = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      size_t ncap = cap ? cap * 2 : 8192;
      while (ncap < len + n + 1) ncap *= 2;
      char *bigger = realloc(text, ncap);
      if (!bigger) break;
      text = bigger;
      cap = ncap;
    }
    memcpy(text + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (!text) return;
  text[len] = '\0';
  for (size_t i = 0; i < s->nendpoints; i++) {
    const dormc_endpoint *e = &s->endpoints[i];
    if (!e->loc.file || strcmp(e->loc.file, schema) != 0) continue;
    size_t nl = strlen(e->c_name) + 7;
    char *name = malloc(nl + 1);
    if (!name) break;
    snprintf(name, nl + 1, "%s_handle", e->c_name);
    const char *at = text;
    bool found = false;
    while (!found && (at = strstr(at, name)) != NULL) {
      /* a whole name: not the tail of a longer one nor the head of one */
      char after = at[nl];
      bool head = at == text || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
      found = head && !(isalnum((unsigned char)after) || after == '_');
      at += nl;
    }
    if (!found)
      printf("dormc gen: note: %s has no %s (endpoint %s): write it (its prototype is in %s_endpoints.h)\n", path,
             name, e->name, base);
    free(name);
  }
  free(text);
}

/* DIR/<base>_handlers.c, only when it does not exist: the user's file from
 * the first write on. Created exclusively ("wx"), so a file that appears
 * meanwhile is not clobbered either. */
static int write_stubs(dormc_compilation *c, const dormc_schema *s, const char *schema, const char *base,
                       const char *stubdir) {
  size_t plen = strlen(stubdir) + strlen(base) + 16;
  char *path = malloc(plen);
  if (!path) {
    fprintf(stderr, "dormc gen: out of memory\n");
    return DORMC_EXIT_USAGE;
  }
  snprintf(path, plen, "%s/%s_handlers.c", stubdir, base);
  char *text = NULL;
  size_t len = 0;
  int result = DORMC_EXIT_OK;
  int grc = dormc_gen_handler_stubs(c, s, schema, base, &text, &len);
  if (grc == -2) {
    fprintf(stderr, "dormc gen: out of memory\n");
    result = DORMC_EXIT_USAGE;
  } else if (grc == -1) {
    result = DORMC_EXIT_SCHEMA;
  } else {
    FILE *f = fopen(path, "wx");
    if (!f && errno == EEXIST) {
      printf("dormc gen: kept %s (it exists; dormc never overwrites handlers)\n", path);
      note_missing_handlers(s, schema, base, path);
    } else if (!f) {
      fprintf(stderr, "dormc gen: cannot write %s: %s\n", path, strerror(errno));
      result = DORMC_EXIT_USAGE;
    } else {
      size_t put = fwrite(text, 1, len, f);
      if (fclose(f) != 0 || put != len) {
        fprintf(stderr, "dormc gen: cannot write %s: %s\n", path, strerror(errno));
        result = DORMC_EXIT_USAGE;
      } else {
        printf("dormc gen: wrote %s\n", path);
      }
    }
  }
  free(text);
  free(path);
  return result;
}

/* --ts: DIR/<base>_endpoints.d.ts of one schema. */
static int gen_one_ts(dormc_compilation *c, const dormc_schema *s, const char *schema, const char *base,
                      const char *outdir, dep_list *outputs) {
  char *text = NULL;
  size_t len = 0;
  int grc = dormc_gen_endpoints_ts(c, s, schema, base, &text, &len);
  if (grc == -2) {
    fprintf(stderr, "dormc gen: out of memory\n");
    return DORMC_EXIT_USAGE;
  }
  if (grc == -1) return DORMC_EXIT_SCHEMA;
  size_t plen = strlen(outdir) + strlen(base) + 32;
  char *path = malloc(plen);
  int result = DORMC_EXIT_OK;
  if (!path) {
    fprintf(stderr, "dormc gen: out of memory\n");
    result = DORMC_EXIT_USAGE;
  } else {
    snprintf(path, plen, "%s/%s_endpoints.d.ts", outdir, base);
    if (write_file(path, text, len) != 0) result = DORMC_EXIT_USAGE;
    else dep_add(outputs, path);
  }
  free(path);
  free(text);
  return result;
}

static int gen_one(const char *schema, const char *outdir, const char *stubdir, bool ts, dep_list *deps,
                   dep_list *outputs) {
  dormc_options o = cli_default_options();
  dormc_compilation *c = dormc_new(&o);
  if (!c) {
    fprintf(stderr, "dormc gen: out of memory\n");
    return DORMC_EXIT_USAGE;
  }
  int rc = dormc_load_file(c, schema);
  if (rc == -2) {
    dormc_free(c);
    return DORMC_EXIT_USAGE;
  }
  if (rc != 0 || dormc_analyze(c) != 0) {
    dormc_free(c);
    return DORMC_EXIT_SCHEMA;
  }
  const dormc_schema *s = dormc_get_schema(c);
  dep_list files = {0};
  schema_files(s, &files);
  dep_add(deps, schema);
  for (size_t i = 0; i < files.n; i++) dep_add(deps, files.items[i]);

  /* The root's display path is the path as given. */
  char *base = base_of(schema);
  const char **others = calloc(files.n + 1, sizeof *others);
  char **other_store = calloc(files.n + 1, sizeof *other_store);
  size_t nothers = 0;
  int result = DORMC_EXIT_OK;
  if (!base || !others || !other_store) {
    fprintf(stderr, "dormc gen: out of memory\n");
    result = DORMC_EXIT_USAGE;
    goto done;
  }
  for (size_t i = 0; i < files.n; i++) {
    if (strcmp(files.items[i], schema) == 0) continue;
    other_store[nothers] = base_of(files.items[i]);
    if (!other_store[nothers]) continue;
    others[nothers] = other_store[nothers];
    nothers++;
  }
  if (ts) {
    result = gen_one_ts(c, s, schema, base, outdir, outputs);
    goto done;
  }
  char *h = NULL, *src = NULL;
  size_t hl = 0, sl = 0;
  if (!outdir) { /* --stubs alone: the handlers file and nothing else */
    if (dormc_file_has_endpoints(s, schema)) {
      result = write_stubs(c, s, schema, base, stubdir);
    } else {
      fprintf(stderr, "dormc gen: %s declares no endpoints: no handlers to write\n", schema);
      result = DORMC_EXIT_USAGE;
    }
    goto done;
  }
  int grc = dormc_gen_models(c, s, schema, base, others, nothers, &h, &hl, &src, &sl);
  if (grc == -2) {
    fprintf(stderr, "dormc gen: out of memory\n");
    result = DORMC_EXIT_USAGE;
  } else if (grc == -1) {
    result = DORMC_EXIT_SCHEMA; /* reported through the compilation's on_diag */
  } else {
    result = write_pair(outdir, base, "_models", h, hl, src, sl, outputs);
  }
  free(h);
  free(src);
  h = src = NULL;
  if (result == DORMC_EXIT_OK && dormc_file_has_endpoints(s, schema)) {
    grc = dormc_gen_endpoints(c, s, schema, base, &h, &hl, &src, &sl);
    if (grc == -2) {
      fprintf(stderr, "dormc gen: out of memory\n");
      result = DORMC_EXIT_USAGE;
    } else if (grc == -1) {
      result = DORMC_EXIT_SCHEMA;
    } else {
      /* Not depfile targets: a build that does not list them as outputs
       * (dorm_generate without ENDPOINTS) would be refused by Ninja. They
       * are written by the same run as the model files, which are. */
      result = write_pair(outdir, base, "_endpoints", h, hl, src, sl, NULL);
    }
    free(h);
    free(src);
    if (result == DORMC_EXIT_OK && stubdir) result = write_stubs(c, s, schema, base, stubdir);
  }
done:
  for (size_t i = 0; i < nothers; i++) free(other_store[i]);
  free(other_store);
  free(others);
  free(base);
  dep_free(&files);
  dormc_free(c);
  return result;
}

static int run(int argc, char **argv) {
  const char *outdir = NULL, *depfile = NULL, *stubdir = NULL, *infradir = NULL;
  bool ts = false;
  int first = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--ts") == 0) {
      ts = true;
    } else if (strcmp(argv[i], "--infra") == 0) {
      if (i + 1 >= argc) return cli_usage_error(&dormc_cmd_gen, "%s needs a value", argv[i]);
      infradir = argv[++i];
    } else if (strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "--depfile") == 0 || strcmp(argv[i], "--stubs") == 0) {
      if (i + 1 >= argc) return cli_usage_error(&dormc_cmd_gen, "%s needs a value", argv[i]);
      if (argv[i][2] == 'o') outdir = argv[++i];
      else if (argv[i][2] == 's') stubdir = argv[++i];
      else depfile = argv[++i];
    } else if (strcmp(argv[i], "--") == 0) {
      first = i + 1;
      break;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return cli_usage_error(&dormc_cmd_gen, "unknown option '%s'", argv[i]);
    } else {
      first = i;
      break;
    }
  }
  if (!outdir && !infradir && !stubdir) return cli_usage_error(&dormc_cmd_gen, "--out DIR is required");
  if (ts && stubdir) return cli_usage_error(&dormc_cmd_gen, "--stubs writes C handlers: it does not go with --ts");
  if (first == 0 || first >= argc) return cli_usage_error(&dormc_cmd_gen, "no schema files given");
  for (int i = first; i < argc; i++)
    if (argv[i][0] == '-' && argv[i][1])
      return cli_usage_error(&dormc_cmd_gen, "options go before the schema files ('%s')", argv[i]);
  if (infradir) {
    if (cli_mkdir_p(infradir) != 0) {
      fprintf(stderr, "dormc gen: cannot create %s: %s\n", infradir, strerror(errno));
      return DORMC_EXIT_USAGE;
    }
    int worst = DORMC_EXIT_OK;
    for (int i = first; i < argc; i++) {
      int rc = dormc_cli_gen_infra(argv[i], infradir);
      if (rc > worst) worst = rc;
    }
    if (worst != DORMC_EXIT_OK || (!outdir && !stubdir)) return worst;
  }
  if (outdir && cli_mkdir_p(outdir) != 0) {
    fprintf(stderr, "dormc gen: cannot create %s: %s\n", outdir, strerror(errno));
    return DORMC_EXIT_USAGE;
  }
  if (stubdir && cli_mkdir_p(stubdir) != 0) {
    fprintf(stderr, "dormc gen: cannot create %s: %s\n", stubdir, strerror(errno));
    return DORMC_EXIT_USAGE;
  }
  dep_list deps = {0}, outputs = {0};
  int worst = DORMC_EXIT_OK;
  for (int i = first; i < argc; i++) {
    int rc = gen_one(argv[i], outdir, stubdir, ts, &deps, &outputs);
    if (rc > worst) worst = rc;
  }
  if (depfile && worst == DORMC_EXIT_OK) {
    FILE *f = fopen(depfile, "w");
    if (!f) {
      fprintf(stderr, "dormc gen: cannot write %s: %s\n", depfile, strerror(errno));
      worst = DORMC_EXIT_USAGE;
    } else {
      for (size_t i = 0; i < outputs.n; i++) {
        if (i) fputc(' ', f);
        dep_path(f, outputs.items[i]);
      }
      fputs(":", f);
      for (size_t i = 0; i < deps.n; i++) {
        fputs(" \\\n  ", f);
        dep_path(f, deps.items[i]);
      }
      fputc('\n', f);
      if (fclose(f) != 0) worst = DORMC_EXIT_USAGE;
    }
  }
  dep_free(&deps);
  dep_free(&outputs);
  return worst;
}
