/* The compilation: options, loading the root file and its imports, and the
 * library's entry points. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ast.h"
#include "sema.h"

#ifndef DORM_VERSION
#define DORM_VERSION "0.0.0"
#endif

const char *dormc_version(void) { return DORM_VERSION; }

void dormc_oom(void *compilation) {
  dormc_compilation *c = compilation;
  /* No arena use here: the arena is what failed. */
  c->errors++;
  if (!c->stopped && c->opts.on_diag) {
    dormc_diagnostic d = {.severity = DORMC_SEV_ERROR, .message = "out of memory"};
    c->opts.on_diag(&d, c->opts.diag_user);
  }
  c->stopped = true;
  c->has_pending = false;
  if (c->oom_jmp) longjmp(*c->oom_jmp, 1);
  abort(); /* an allocation outside any entry point: a bug */
}

dormc_compilation *dormc_new(const dormc_options *opts) {
  dormc_compilation *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (opts) c->opts = *opts;
  if (!c->opts.max_errors) c->opts.max_errors = DORMC_DEFAULT_MAX_ERRORS;
  if (!c->opts.max_file_size) c->opts.max_file_size = DORMC_DEFAULT_MAX_FILE_SIZE;
  arena_init(&c->arena, dormc_oom, c);
  symtab_init(&c->sources_by_path);
  return c;
}

void dormc_free(dormc_compilation *c) {
  if (!c) return;
  arena_release(&c->arena);
  free(c);
}

unsigned dormc_error_count(const dormc_compilation *c) { return c ? c->errors : 0; }
unsigned dormc_warning_count(const dormc_compilation *c) { return c ? c->warnings : 0; }
const dormc_schema *dormc_get_schema(const dormc_compilation *c) { return c ? c->schema : NULL; }

dormc_source *compilation_find_source(const dormc_compilation *c, const char *path) {
  return symtab_get(&c->sources_by_path, path);
}

/* The default reader: the whole file, refusing files over the size limit. */
static int read_fs(size_t max, const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return errno ? errno : EIO;
  struct stat st;
  if (fstat(fileno(f), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      fclose(f);
      return EISDIR;
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > (uintmax_t)max) {
      fclose(f);
      return EFBIG;
    }
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return ENOMEM;
  }
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        free(buf);
        fclose(f);
        return EFBIG;
      }
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        fclose(f);
        return ENOMEM;
      }
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int err = ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (err) {
    free(buf);
    return err;
  }
  *data = buf;
  *len = n;
  return 0;
}

void source_index_lines(dormc_compilation *c, dormc_source *s) {
  size_t n = 1;
  for (size_t i = 0; i < s->len; i++)
    if (s->text[i] == '\n') n++;
  s->line_starts = arena_alloc(&c->arena, n * sizeof *s->line_starts);
  s->nlines = n;
  size_t k = 0;
  s->line_starts[k++] = 0;
  for (size_t i = 0; i < s->len; i++)
    if (s->text[i] == '\n') s->line_starts[k++] = (uint32_t)(i + 1);
}

static dormc_source *new_source(dormc_compilation *c, const char *path, const char *data, size_t len) {
  dormc_source *s = arena_alloc(&c->arena, sizeof *s);
  s->path = path;
  char *text = arena_alloc(&c->arena, len + 1);
  if (len) memcpy(text, data, len);
  s->text = text;
  s->len = len;
  source_index_lines(c, s);
  symtab_put(&c->arena, &c->sources_by_path, s->path, s);
  if (!c->sources) c->sources = vec_new(&c->arena);
  return s;
}

static const char *describe_errno(int err, size_t max, char *buf, size_t cap) {
  if (err == EFBIG) snprintf(buf, cap, "file is larger than the limit of %zu bytes", max);
  else snprintf(buf, cap, "%s", strerror(err));
  return buf;
}

static void report_cycle(dormc_compilation *c, dormc_source *from, dormc_source *target, dormc_loc at) {
  if (from == target) {
    diag_error(c, at, "'%s' imports itself", target->path);
    return;
  }
  diag_error(c, at, "import cycle: '%s' imports '%s', which is still being imported", from->path, target->path);
  for (dormc_source *x = from; x && x != target; x = x->importer)
    if (x->importer) diag_note(c, x->import_loc, "'%s' is imported from '%s' here", x->path, x->importer->path);
}

/* Loads (or finds) the source at path and, depth first, what it imports.
 * data != NULL: the text is given. Returns NULL when it could not be read. */
static dormc_source *load(dormc_compilation *c, const char *path, const char *data, size_t len,
                          dormc_source *importer, dormc_loc import_loc, bool *io_failed) {
  dormc_source *s = compilation_find_source(c, path);
  if (s) {
    if (s->state == SRC_LOADING) {
      report_cycle(c, importer, s, import_loc);
      c->load_failed = true;
    }
    return s; /* imported twice: loaded once */
  }
  char *owned = NULL;
  if (!data) {
    int err = c->opts.read_file ? c->opts.read_file(c->opts.read_user, path, &owned, &len)
                                : read_fs(c->opts.max_file_size, path, &owned, &len);
    if (err == 0 && len > c->opts.max_file_size) {
      free(owned);
      owned = NULL;
      err = EFBIG;
    }
    if (err) {
      char why[160];
      describe_errno(err, c->opts.max_file_size, why, sizeof why);
      if (importer) {
        diag_error(c, import_loc, "cannot import '%s': %s", path, why);
      } else {
        dormc_loc none = {0};
        diag_error(c, none, "cannot read '%s': %s", path, why);
        *io_failed = true;
      }
      c->load_failed = true;
      return NULL;
    }
    data = owned;
  } else if (len > c->opts.max_file_size) {
    dormc_loc none = {0};
    diag_error(c, none, "cannot read '%s': file is larger than the limit of %zu bytes", path,
               c->opts.max_file_size);
    *io_failed = true;
    c->load_failed = true;
    return NULL;
  }
  s = new_source(c, path, data, len);
  free(owned);
  s->importer = importer;
  s->import_loc = import_loc;
  s->state = SRC_LOADING;
  if (parse_source(c, s) != 0) c->load_failed = true;
  if (s->ast) {
    for (size_t i = 0; i < s->ast->items->n && !c->stopped; i++) {
      ast_item *it = s->ast->items->items[i];
      if (it->kind != AST_I_IMPORT) continue;
      if (it->str->len == 0 || strlen(it->str->value) != it->str->len) {
        diag_error(c, it->str->loc, "import path is empty");
        c->load_failed = true;
        continue;
      }
      const char *target = path_join_dir(&c->arena, s->path, it->str->value);
      load(c, target, NULL, 0, s, it->str->loc, io_failed);
    }
  }
  s->state = SRC_DONE;
  s->rank = (unsigned)c->sources->n;
  vec_push(&c->arena, c->sources, s); /* post-order: imports before importers */
  return s;
}

static int load_root(dormc_compilation *c, const char *path, const char *data, size_t len) {
  if (!c || !path) return -2;
  jmp_buf jb;
  jmp_buf *saved = c->oom_jmp;
  c->oom_jmp = &jb;
  if (setjmp(jb)) {
    c->oom_jmp = saved;
    c->load_failed = true;
    return -1;
  }
  if (c->loaded) {
    dormc_loc none = {0};
    diag_error(c, none, "a compilation loads one root file");
    diag_flush(c);
    c->oom_jmp = saved;
    return -2;
  }
  c->loaded = true;
  bool io_failed = false;
  dormc_loc none = {0};
  c->sources = vec_new(&c->arena);
  c->root = load(c, path_normalize(&c->arena, path), data, len, NULL, none, &io_failed);
  diag_flush(c);
  c->oom_jmp = saved;
  if (io_failed) return -2;
  return c->load_failed || c->errors ? -1 : 0;
}

int dormc_load_file(dormc_compilation *c, const char *path) { return load_root(c, path, NULL, 0); }

int dormc_load_buffer(dormc_compilation *c, const char *path, const char *data, size_t len) {
  if (!data) return -2;
  return load_root(c, path, data, len);
}

int dormc_analyze(dormc_compilation *c) {
  if (!c || !c->loaded || c->load_failed || !c->root) return -1;
  if (c->analyzed) return c->schema ? 0 : -1;
  c->analyzed = true;
  jmp_buf jb;
  jmp_buf *saved = c->oom_jmp;
  c->oom_jmp = &jb;
  if (setjmp(jb)) {
    c->oom_jmp = saved;
    c->schema = NULL;
    return -1;
  }
  unsigned before = c->errors;
  diag_hold(c);
  const dormc_schema *s = sema_run(c);
  diag_release(c);
  c->oom_jmp = saved;
  if (c->errors > before || !s) return -1;
  c->schema = s;
  return 0;
}
