/* The compiler's fuzz target: any bytes through read -> parse -> check ->
 * fmt -> DMS, with the properties that must hold checked on the way
 * (abort() on a violation, so libFuzzer reports it):
 *
 *   - fmt is idempotent: formatting formatted text changes nothing;
 *   - fmt preserves the schema: the formatted files check exactly when the
 *     originals do, to the same schema (equal dormc_schema_dump());
 *   - a schema that checks exports to DMS, the export imports again, and
 *     exporting that gives the same document (less the tags, which carry
 *     the key templates and entity types import restores when it can).
 *
 * Several files: the input is split at lines starting with "//@file NAME"
 * (a comment, so the seeds are plain schemas); the text before the first
 * marker is "root.dorm", each marker starts the file NAME. Imports of other
 * names are refused (ENOENT). Nothing touches the file system. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dormc.h"
#include "dormc_dms.h"
#include "dormc_schema.h"
#include "fuzz_dormc.h"

#define MAX_FILES 8
#define MARKER "//@file "

typedef struct mem_file {
  char name[64];
  const char *data;
  size_t len;
} mem_file;

typedef struct mem_fs {
  mem_file files[MAX_FILES];
  size_t n;
} mem_fs;

static int mem_read(void *user, const char *path, char **data, size_t *len) {
  const mem_fs *fs = user;
  for (size_t i = 0; i < fs->n; i++) {
    if (strcmp(fs->files[i].name, path) != 0) continue;
    char *copy = malloc(fs->files[i].len + 1);
    if (!copy) return ENOMEM;
    if (fs->files[i].len) memcpy(copy, fs->files[i].data, fs->files[i].len);
    copy[fs->files[i].len] = '\0';
    *data = copy;
    *len = fs->files[i].len;
    return 0;
  }
  return ENOENT;
}

static void split(const char *data, size_t size, mem_fs *fs) {
  memset(fs, 0, sizeof *fs);
  strcpy(fs->files[0].name, "root.dorm");
  fs->files[0].data = data;
  fs->n = 1;
  size_t ml = strlen(MARKER);
  for (size_t i = 0; i < size; i++) {
    if ((i != 0 && data[i - 1] != '\n') || size - i < ml || memcmp(data + i, MARKER, ml) != 0) continue;
    if (fs->n == MAX_FILES) break;
    mem_file *prev = &fs->files[fs->n - 1];
    prev->len = (size_t)(data + i - prev->data);
    size_t j = i + ml, k = 0;
    mem_file *f = &fs->files[fs->n++];
    while (j < size && data[j] != '\n' && k + 1 < sizeof f->name) f->name[k++] = data[j++];
    while (j < size && data[j] != '\n') j++;
    if (j < size) j++;
    f->data = data + j;
    i = j - 1;
  }
  mem_file *last = &fs->files[fs->n - 1];
  last->len = (size_t)(data + size - last->data);
}

/* Diagnostics are formatted (the printer is part of what is fuzzed) and
 * dropped. */
static void on_diag(const dormc_diagnostic *d, void *user) {
  (void)user;
  char *text = dormc_diag_format(d);
  if (text && !strstr(text, d->message)) {
    fprintf(stderr, "fuzz_dormc: diagnostic text lost its message: %s\n", d->message);
    abort();
  }
  free(text);
}

static void fail(const char *what, const char *a, const char *b) {
  fprintf(stderr, "fuzz_dormc: %s\n--- first:\n%s\n--- second:\n%s\n", what, a ? a : "(null)", b ? b : "(null)");
  abort();
}

/* Checks fs's root; returns the malloc'd schema dump, or NULL when it does
 * not check. *keep receives the compilation (caller frees) when wanted. */
static char *check(mem_fs *fs, dormc_compilation **keep) {
  dormc_options o = {.on_diag = on_diag, .read_file = mem_read, .read_user = fs};
  dormc_compilation *c = dormc_new(&o);
  if (!c) return NULL;
  char *dump = NULL;
  if (dormc_load_buffer(c, fs->files[0].name, fs->files[0].data, fs->files[0].len) == 0 && dormc_analyze(c) == 0) {
    const dormc_schema *s = dormc_get_schema(c);
    if (!s) fail("dormc_analyze returned 0 without a schema", "", "");
    dump = dormc_schema_dump(s);
  }
  if (keep) *keep = c;
  else dormc_free(c);
  return dump;
}

/* Formats one file; NULL when it does not parse. */
static char *format(const mem_file *f, size_t *len) {
  dormc_options o = {.on_diag = on_diag};
  dormc_compilation *c = dormc_new(&o);
  if (!c) return NULL;
  char *out = NULL;
  if (dormc_format(c, f->name, f->data, f->len, &out, len) != 0) out = NULL;
  dormc_free(c);
  return out;
}

/* The export without its informational "tags:" lines (templates and entity
 * types, which import does not restore). */
static char *strip_tags(const char *y) {
  size_t n = strlen(y);
  char *out = malloc(n + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (const char *p = y; *p;) {
    const char *nl = strchr(p, '\n');
    size_t ll = nl ? (size_t)(nl - p + 1) : strlen(p);
    if (!(ll >= 14 && memcmp(p, "        tags: ", 14) == 0)) {
      memcpy(out + o, p, ll);
      o += ll;
    }
    p += ll;
  }
  out[o] = '\0';
  return out;
}

static void dms_roundtrip(const dormc_schema *s) {
  size_t ylen = 0;
  char *y = dormc_dms_export(s, &ylen);
  if (!y) return; /* out of memory */
  if (strlen(y) != ylen) fail("dormc_dms_export: wrong length", y, "");
  dormc_options o = {.on_diag = on_diag};
  char *dorm = NULL;
  size_t dlen = 0;
  int rc = dormc_dms_import(&o, "export.yml", y, ylen, &dorm, &dlen);
  if (rc == -1) {
    fprintf(stderr, "fuzz_dormc: the DMS export of a clean schema does not import:\n%s\n", y);
    o.on_diag = dormc_diag_fprint;
    o.diag_user = stderr;
    dormc_dms_import(&o, "export.yml", y, ylen, &dorm, &dlen);
    abort();
  }
  if (rc == 0) {
    mem_fs fs = {.n = 1};
    strcpy(fs.files[0].name, "imported.dorm");
    fs.files[0].data = dorm;
    fs.files[0].len = dlen;
    dormc_compilation *c = NULL;
    char *dump = check(&fs, &c);
    if (!dump) fail("the import of an export does not check", y, dorm);
    char *y2 = dormc_dms_export(dormc_get_schema(c), NULL);
    char *a = strip_tags(y), *b = y2 ? strip_tags(y2) : NULL;
    if (b && a && strcmp(a, b) != 0) fail("export -> import -> export changed the document", a, b);
    free(a);
    free(b);
    free(y2);
    free(dump);
    dormc_free(c);
    free(dorm);
  }
  free(y);
}

int dormc_fuzz_one(const uint8_t *data, size_t size) {
  mem_fs fs;
  split((const char *)data, size, &fs);

  dormc_compilation *c = NULL;
  char *dump = check(&fs, &c);
  if (dump) dms_roundtrip(dormc_get_schema(c));
  dormc_free(c);

  /* Format every file; all must format twice to the same text. */
  char *formatted[MAX_FILES] = {0};
  size_t flen[MAX_FILES] = {0};
  bool all = true;
  for (size_t i = 0; i < fs.n; i++) {
    formatted[i] = format(&fs.files[i], &flen[i]);
    if (!formatted[i]) {
      all = false;
      continue;
    }
    mem_file again = fs.files[i];
    again.data = formatted[i];
    again.len = flen[i];
    size_t len2 = 0;
    char *twice = format(&again, &len2);
    if (!twice) fail("formatted text does not parse", fs.files[i].data, formatted[i]);
    if (len2 != flen[i] || memcmp(twice, formatted[i], len2) != 0) fail("fmt is not idempotent", formatted[i], twice);
    free(twice);
  }
  /* The formatted files are the same schema. */
  if (all) {
    mem_fs ffs = fs;
    for (size_t i = 0; i < fs.n; i++) {
      ffs.files[i].data = formatted[i];
      ffs.files[i].len = flen[i];
    }
    char *fdump = check(&ffs, NULL);
    if ((dump == NULL) != (fdump == NULL))
      fail(dump ? "the formatted schema does not check, the original does" : "the formatted schema checks, the original does not",
           fs.files[0].data, formatted[0]);
    if (dump && strcmp(dump, fdump) != 0) fail("fmt changed the schema", dump, fdump);
    free(fdump);
  }
  for (size_t i = 0; i < fs.n; i++) free(formatted[i]);
  free(dump);
  return 0;
}

#ifdef DORMC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return dormc_fuzz_one(data, size); }
#endif
