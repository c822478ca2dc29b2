/* dormc fmt: print, rewrite or check the canonical form of schemas. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int run(int argc, char **argv);

const dormc_cli_command dormc_cmd_fmt = {
    .name = "fmt",
    .summary = "format schemas in canonical form",
    .usage = "usage: dormc fmt [--write | --check] FILE...\n"
             "\n"
             "Formats each FILE in canonical form (two-space indent, one member per\n"
             "line, a blank line between declarations, comments kept in place).\n"
             "Imports are not followed. A file with syntax errors is never formatted.\n"
             "\n"
             "  (default)  print the formatted text to stdout\n"
             "  --write    rewrite each FILE in place when it is not formatted\n"
             "  --check    print the name of each FILE that is not formatted and exit 1\n"
             "\n"
             "Exit status: 0 ok, 1 syntax errors (or unformatted files with --check),\n"
             "2 usage or I/O errors.\n",
    .run = run,
};

#define MAX_SCHEMA_SIZE ((size_t)64 << 20)

static char *slurp(const char *path, size_t *len, int *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *err = errno;
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    *err = EISDIR;
    return NULL;
  }
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  if (!buf) *err = ENOMEM;
  while (buf) {
    if (n == cap) {
      if (n > MAX_SCHEMA_SIZE) {
        free(buf);
        buf = NULL;
        *err = EFBIG;
        break;
      }
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        *err = ENOMEM;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  if (buf && ferror(f)) {
    *err = errno ? errno : EIO;
    free(buf);
    buf = NULL;
  }
  if (buf && n > MAX_SCHEMA_SIZE) {
    *err = EFBIG;
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Writes text next to path and renames it over path, so a failure never
 * leaves a half-written schema. */
static int replace_file(const char *path, const char *text, size_t len) {
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 16);
  if (!tmp) return ENOMEM;
  snprintf(tmp, pl + 16, "%s.fmt-XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return e;
  }
  size_t off = 0;
  int err = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0) {
      err = errno;
      break;
    }
    off += (size_t)w;
  }
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) unlink(tmp);
  free(tmp);
  return err;
}

static int run(int argc, char **argv) {
  enum { PRINT, WRITE, CHECK } mode = PRINT;
  int nfiles = 0;
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!options_done && strcmp(a, "--") == 0) options_done = true;
    else if (!options_done && strcmp(a, "--write") == 0) {
      if (mode == CHECK) return cli_usage_error(&dormc_cmd_fmt, "--write and --check exclude each other");
      mode = WRITE;
    } else if (!options_done && strcmp(a, "--check") == 0) {
      if (mode == WRITE) return cli_usage_error(&dormc_cmd_fmt, "--write and --check exclude each other");
      mode = CHECK;
    } else if (!options_done && a[0] == '-' && a[1]) return cli_usage_error(&dormc_cmd_fmt, "unknown option '%s'", a);
    else nfiles++;
  }
  if (nfiles == 0) return cli_usage_error(&dormc_cmd_fmt, "no schema files given");
  int status = DORMC_EXIT_OK;
  options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *path = argv[i];
    if (!options_done && strcmp(path, "--") == 0) {
      options_done = true;
      continue;
    }
    if (!options_done && path[0] == '-' && path[1]) continue;
    int err = 0;
    size_t len = 0;
    char *src = slurp(path, &len, &err);
    if (!src) {
      fprintf(stderr, "dormc: error: cannot read '%s': %s\n", path,
              err == EFBIG ? "file is larger than the limit of 67108864 bytes" : strerror(err));
      status = DORMC_EXIT_USAGE;
      continue;
    }
    dormc_options o = cli_default_options();
    dormc_compilation *c = dormc_new(&o);
    char *out = NULL;
    size_t out_len = 0;
    int rc = c ? dormc_format(c, path, src, len, &out, &out_len) : -1;
    dormc_free(c);
    if (rc != 0) {
      if (status == DORMC_EXIT_OK) status = DORMC_EXIT_SCHEMA;
      free(src);
      continue;
    }
    bool same = out_len == len && memcmp(out, src, len) == 0;
    if (mode == PRINT) {
      fwrite(out, 1, out_len, stdout);
    } else if (mode == CHECK) {
      if (!same) {
        printf("%s\n", path);
        if (status == DORMC_EXIT_OK) status = DORMC_EXIT_SCHEMA;
      }
    } else if (!same) {
      int werr = replace_file(path, out, out_len);
      if (werr) {
        fprintf(stderr, "dormc: error: cannot write '%s': %s\n", path, strerror(werr));
        status = DORMC_EXIT_USAGE;
      }
    }
    free(out);
    free(src);
  }
  return status;
}
