/* dormc dms: export a schema as DynamORM's DMS v0.1, import a DMS document
 * as .dorm. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dormc_dms.h"

static int run(int argc, char **argv);

const dormc_cli_command dormc_cmd_dms = {
    .name = "dms",
    .summary = "export or import DynamORM's schema contract (DMS v0.1)",
    .usage = "usage: dormc dms export FILE.dorm\n"
             "       dormc dms import FILE.yml\n"
             "\n"
             "export  checks FILE.dorm (and its imports) and prints every model as one\n"
             "        DMS v0.1 YAML document (dms_version, namespace, models) on stdout.\n"
             "import  reads a DMS v0.1 document (YAML or JSON) and prints the equivalent\n"
             "        .dorm schema on stdout, in canonical form (as `dormc fmt` prints it).\n"
             "\n"
             "The mapping, and what does not survive a round trip, is described in\n"
             "docs/language.md, section \"DMS\".\n"
             "\n"
             "Exit status: 0 ok, 1 schema or DMS errors, 2 usage or I/O errors.\n",
    .run = run,
};

/* Reads a whole file into a malloc'd buffer; on failure returns NULL with
 * an errno value in *err (EFBIG past DORMC_DMS_MAX_BYTES, the most import
 * reads: nothing past it is read). */
static char *read_all(const char *path, size_t *len, int *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *err = errno;
    return NULL;
  }
  size_t cap = 16384, n = 0;
  char *buf = malloc(cap);
  *err = buf ? 0 : ENOMEM;
  while (buf) {
    if (n == cap) {
      if (cap >= DORMC_DMS_MAX_BYTES) {
        char more;
        if (fread(&more, 1, 1, f) == 1) *err = EFBIG;
        else if (ferror(f)) *err = errno ? errno : EIO;
        break;
      }
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        *err = ENOMEM;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) {
      if (ferror(f)) *err = errno ? errno : EIO;
      break;
    }
    n += got;
  }
  fclose(f);
  if (*err) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

static int do_export(const char *path) {
  dormc_options o = cli_default_options();
  dormc_compilation *c = dormc_new(&o);
  if (!c) {
    fprintf(stderr, "dormc: out of memory\n");
    return DORMC_EXIT_USAGE;
  }
  int rc = dormc_load_file(c, path);
  if (rc == 0) rc = dormc_analyze(c);
  int status = DORMC_EXIT_OK;
  if (rc == -2) {
    status = DORMC_EXIT_USAGE;
  } else if (rc != 0) {
    status = DORMC_EXIT_SCHEMA;
  } else if (dormc_get_schema(c)->nmodels == 0) {
    /* models: [] is refused by DynamORM's loader ("DMS document must
     * include models[]"): exporting a schema of endpoints only wrote a
     * document nobody reads, with exit 0. */
    fprintf(stderr, "dormc: error: %s: no models to export (imports included): a DMS document describes models\n",
            path);
    status = DORMC_EXIT_SCHEMA;
  } else {
    size_t len = 0;
    char *text = dormc_dms_export(dormc_get_schema(c), &len);
    if (!text) {
      fprintf(stderr, "dormc: out of memory\n");
      status = DORMC_EXIT_USAGE;
    } else {
      fwrite(text, 1, len, stdout);
      free(text);
    }
  }
  dormc_free(c);
  return status;
}

static int do_import(const char *path) {
  int err = 0;
  size_t len = 0;
  char *data = read_all(path, &len, &err);
  if (!data) {
    if (err == EFBIG)
      fprintf(stderr,
              "dormc: error: '%s' is larger than %zu MiB, the most dms import reads (it needs about 40 times a "
              "document's size in memory; 3,000 models of a dozen attributes are about 4 MiB)\n",
              path, DORMC_DMS_MAX_BYTES >> 20);
    else fprintf(stderr, "dormc: error: cannot read '%s': %s\n", path, strerror(err));
    return DORMC_EXIT_USAGE;
  }
  dormc_options o = cli_default_options();
  char *out = NULL;
  size_t out_len = 0;
  int rc = dormc_dms_import(&o, path, data, len, &out, &out_len);
  free(data);
  if (rc == -2) {
    fprintf(stderr, "dormc: out of memory\n");
    return DORMC_EXIT_USAGE;
  }
  if (rc != 0) return DORMC_EXIT_SCHEMA;
  fwrite(out, 1, out_len, stdout);
  free(out);
  return DORMC_EXIT_OK;
}

static int run(int argc, char **argv) {
  const char *sub = NULL, *file = NULL;
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!options_done && strcmp(a, "--") == 0) {
      options_done = true;
      continue;
    }
    if (!options_done && a[0] == '-' && a[1]) return cli_usage_error(&dormc_cmd_dms, "unknown option '%s'", a);
    if (!sub) sub = a;
    else if (!file) file = a;
    else return cli_usage_error(&dormc_cmd_dms, "one file at a time ('%s' is extra)", a);
  }
  if (!sub) return cli_usage_error(&dormc_cmd_dms, "say export or import");
  bool export = strcmp(sub, "export") == 0;
  if (!export && strcmp(sub, "import") != 0)
    return cli_usage_error(&dormc_cmd_dms, "unknown subcommand '%s'; use export or import", sub);
  if (!file) return cli_usage_error(&dormc_cmd_dms, "no file given");
  fflush(stdout);
  int status = export ? do_export(file) : do_import(file);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "dormc: error: cannot write the output: %s\n", strerror(errno));
    return DORMC_EXIT_USAGE;
  }
  return status;
}
