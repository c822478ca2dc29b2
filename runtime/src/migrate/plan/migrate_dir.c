/* Migration directories and dorm.sum, the integrity file.
 *
 * dorm.sum pins every file of every migration (in the spirit of Atlas's
 * atlas.sum): a hash per file, a hash per migration over its files, and a
 * total over the migrations in order. An edited, added, removed or renamed
 * (reordered) migration no longer matches, and the message names it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan_internal.h"

#define SUM_HEADER "dorm.sum 1"
#define MAX_MIGRATION_FILE ((size_t)64 << 20)

bool dorm_mig_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n < 16 || n > 128 || name[14] != '_') return false;
  for (size_t i = 0; i < 14; i++)
    if (name[i] < '0' || name[i] > '9') return false;
  for (size_t i = 15; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_')) return false;
  return true;
}

/* Every failure writes errbuf, out of memory included (runtime/README.md). */
static dorm_status oom(char *errbuf, size_t errcap, const char *doing, const char *path) {
  return dorm__fail(errbuf, errcap, DORM_ERR_NO_MEMORY, "out of memory %s %s", doing, path ? path : "");
}

static dorm_status read_all(const char *path, dorm_arena *a, const char **data, size_t *len, char *errbuf,
                            size_t errcap) {
  FILE *f = fopen(path, "rb");
  if (!f) return dorm__fail(errbuf, errcap, errno == ENOENT ? DORM_ERR_NOT_FOUND : DORM_ERR_IO, "cannot read %s: %s",
                          path, strerror(errno));
  dorm__buf b;
  dorm__buf_init(&b, MAX_MIGRATION_FILE);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (!dorm__buf_put(&b, chunk, n)) break;
  bool err = ferror(f);
  fclose(f);
  if (err) {
    dorm__buf_free(&b);
    return dorm__fail(errbuf, errcap, DORM_ERR_IO, "cannot read %s", path);
  }
  if (b.overflow) {
    dorm__buf_free(&b);
    return dorm__fail(errbuf, errcap, DORM_ERR_TOO_LARGE, "%s is larger than 64 MiB", path);
  }
  *len = b.len;
  *data = dorm__buf_to_arena(&b, a);
  return *data ? DORM_OK : oom(errbuf, errcap, "reading", path);
}

dorm_status dorm_mig_read_file(const char *dir, const char *migration, const char *file, dorm_arena *a,
                               const char **data, size_t *len, char *errbuf, size_t errcap) {
  const char *path = migration ? dorm_arena_printf(a, "%s/%s/%s", dir, migration, file)
                               : dorm_arena_printf(a, "%s/%s", dir, file);
  if (!path) return oom(errbuf, errcap, "reading", file);
  return read_all(path, a, data, len, errbuf, errcap);
}

dorm_status dorm_mig_write_file(const char *path, const char *data, size_t len, char *errbuf, size_t errcap) {
  size_t n = strlen(path) + 32;
  char *tmp = malloc(n);
  if (!tmp) return oom(errbuf, errcap, "writing", path);
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    dorm_status st = dorm__fail(errbuf, errcap, DORM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  size_t put = fwrite(data, 1, len, f);
  bool ok = put == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    dorm_status st = dorm__fail(errbuf, errcap, DORM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  return DORM_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Sorted names of the entries of path (without . and ..); NULL *names with
 * DORM_ERR_NOT_FOUND when path does not exist. */
static dorm_status list_dir(const char *path, dorm_arena *a, char ***names, size_t *count, char *errbuf,
                            size_t errcap) {
  *names = NULL;
  *count = 0;
  DIR *d = opendir(path);
  if (!d) return dorm__fail(errbuf, errcap, errno == ENOENT ? DORM_ERR_NOT_FOUND : DORM_ERR_IO, "cannot read %s: %s",
                          path, strerror(errno));
  size_t n = 0, cap = 0;
  char **v = NULL;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      char **bigger = dorm_arena_realloc(a, v, cap * sizeof *v, nc * sizeof *v);
      if (!bigger) {
        closedir(d);
        return oom(errbuf, errcap, "listing", path);
      }
      v = bigger;
      cap = nc;
    }
    v[n] = dorm_arena_strdup(a, e->d_name);
    if (!v[n]) {
      closedir(d);
      return oom(errbuf, errcap, "listing", path);
    }
    n++;
  }
  closedir(d);
  if (n > 1) qsort(v, n, sizeof *v, cmp_str);
  *names = v;
  *count = n;
  return DORM_OK;
}

static dorm_status read_migration(const char *dir, const char *name, dorm_arena *a, dorm_mig_entry *m, char *errbuf,
                                  size_t errcap) {
  const char *path = dorm_arena_printf(a, "%s/%s", dir, name);
  if (!path) return oom(errbuf, errcap, "reading", name);
  char **names;
  size_t n;
  dorm_status st = list_dir(path, a, &names, &n, errbuf, errcap);
  if (st != DORM_OK) return st;
  m->name = name;
  m->files = dorm_arena_calloc(a, n ? n : 1, sizeof *m->files);
  if (!m->files) return oom(errbuf, errcap, "reading", path);
  dorm__buf lines = DORM__BUF_INIT;
  bool has_plan = false, has_snapshot = false;
  for (size_t i = 0; i < n; i++) {
    if (names[i][0] == '.') continue; /* editor and OS droppings are not part of a migration */
    const char *fpath = dorm_arena_printf(a, "%s/%s", path, names[i]);
    struct stat sb;
    if (!fpath || stat(fpath, &sb) != 0) {
      dorm__buf_free(&lines);
      return fpath ? dorm__fail(errbuf, errcap, DORM_ERR_IO, "cannot read %s: %s", fpath, strerror(errno))
                   : oom(errbuf, errcap, "reading", path);
    }
    if (!S_ISREG(sb.st_mode)) {
      dorm__buf_free(&lines);
      return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                      "%s is not a regular file (a migration holds only files)", fpath);
    }
    const char *data;
    size_t len;
    st = read_all(fpath, a, &data, &len, errbuf, errcap);
    if (st != DORM_OK) {
      dorm__buf_free(&lines);
      return st;
    }
    char hash[80];
    dorm__mig_sha256(data, len, hash);
    dorm_mig_file *f = &m->files[m->file_count++];
    f->name = names[i];
    f->hash = dorm_arena_strdup(a, hash);
    if (!f->hash) {
      dorm__buf_free(&lines);
      return oom(errbuf, errcap, "reading", fpath);
    }
    dorm__buf_printf(&lines, "%s %s\n", f->name, hash);
    has_plan |= strcmp(names[i], "plan.json") == 0;
    has_snapshot |= strcmp(names[i], "snapshot.json") == 0;
  }
  /* A hash over part of the lines would be a wrong hash, not an error. */
  if (!dorm__buf_ok(&lines)) {
    dorm__buf_free(&lines);
    return oom(errbuf, errcap, "hashing", path);
  }
  char hash[80];
  dorm__mig_sha256(lines.p ? lines.p : "", lines.len, hash);
  dorm__buf_free(&lines);
  m->hash = dorm_arena_strdup(a, hash);
  if (!has_plan || !has_snapshot)
    return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT, "%s: no %s (every migration has plan.json and "
                    "snapshot.json)", path, has_plan ? "snapshot.json" : "plan.json");
  return m->hash ? DORM_OK : oom(errbuf, errcap, "hashing", path);
}

dorm_status dorm_mig_dir_read(const char *path, dorm_arena *a, dorm_mig_dir *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  out->path = path;
  char **names;
  size_t n;
  dorm_status st = list_dir(path, a, &names, &n, errbuf, errcap);
  if (st == DORM_ERR_NOT_FOUND) n = 0;
  else if (st != DORM_OK) return st;
  out->migrations = dorm_arena_calloc(a, n ? n : 1, sizeof *out->migrations);
  if (!out->migrations) return oom(errbuf, errcap, "reading", path);
  dorm__buf lines = DORM__BUF_INIT;
  for (size_t i = 0; i < n; i++) {
    const char *name = names[i];
    if (strcmp(name, DORM_MIG_SUM_FILE) == 0) {
      out->has_sum = true;
      continue;
    }
    if (name[0] == '.') continue;
    const char *p = dorm_arena_printf(a, "%s/%s", path, name);
    struct stat sb;
    if (!p) {
      dorm__buf_free(&lines);
      return oom(errbuf, errcap, "reading", path);
    }
    if (stat(p, &sb) != 0) continue;
    if (!S_ISDIR(sb.st_mode)) continue; /* a README next to the migrations is fine */
    if (!dorm_mig_name_valid(name)) {
      dorm__buf_free(&lines);
      return dorm__fail(errbuf, errcap, DORM_ERR_INVALID_ARGUMENT,
                      "%s: not a migration directory name (yyyymmddhhmmss_name, name in a-z, 0-9, _)", p);
    }
    st = read_migration(path, name, a, &out->migrations[out->count], errbuf, errcap);
    if (st != DORM_OK) {
      dorm__buf_free(&lines);
      return st;
    }
    dorm__buf_printf(&lines, "%s %s\n", name, out->migrations[out->count].hash);
    out->count++;
  }
  if (!dorm__buf_ok(&lines)) {
    dorm__buf_free(&lines);
    return oom(errbuf, errcap, "hashing", path);
  }
  char hash[80];
  dorm__mig_sha256(lines.p ? lines.p : "", lines.len, hash);
  dorm__buf_free(&lines);
  out->total = dorm_arena_strdup(a, hash);
  return out->total ? DORM_OK : oom(errbuf, errcap, "hashing", path);
}

dorm_status dorm_mig_sum_text(const dorm_mig_dir *d, dorm_arena *a, const char **text) {
  dorm__buf b = DORM__BUF_INIT;
  dorm__buf_printf(&b, "%s\ntotal %s\n", SUM_HEADER, d->total);
  for (size_t i = 0; i < d->count; i++) {
    const dorm_mig_entry *m = &d->migrations[i];
    dorm__buf_printf(&b, "%s %s\n", m->name, m->hash);
    for (size_t k = 0; k < m->file_count; k++) dorm__buf_printf(&b, "%s/%s %s\n", m->name, m->files[k].name, m->files[k].hash);
  }
  *text = dorm__buf_to_arena(&b, a);
  return *text ? DORM_OK : DORM_ERR_NO_MEMORY;
}

typedef struct sum_line {
  char *name; /* "migration" or "migration/file" */
  char *hash;
  bool seen;
} sum_line;

static sum_line *sum_find(sum_line *v, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, name) == 0) return &v[i];
  return NULL;
}

#define REHASH_HINT "if the change is intended, run `dormc migrate hash --dir %s` to rewrite dorm.sum"

dorm_status dorm_mig_dir_verify(const dorm_mig_dir *d, char *errbuf, size_t errcap) {
  dorm_arena a = DORM_ARENA_INIT;
  const char *text;
  size_t len;
  char rerr[256];
  dorm_status st = dorm_mig_read_file(d->path, NULL, DORM_MIG_SUM_FILE, &a, &text, &len, rerr, sizeof rerr);
  if (st == DORM_ERR_NOT_FOUND) {
    dorm_arena_free(&a);
    if (d->count == 0) return DORM_OK;
    return dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                    "%s/dorm.sum is missing but the directory has migrations; " REHASH_HINT, d->path, d->path);
  }
  if (st != DORM_OK) {
    dorm_arena_free(&a);
    return dorm__fail(errbuf, errcap, st, "%s", rerr);
  }
  /* Parse: header, total, then "name hash" lines. */
  size_t cap = 16, n = 0;
  sum_line *lines = dorm_arena_calloc(&a, cap, sizeof *lines);
  const char *total = NULL;
  char *copy = dorm_arena_strdup(&a, text);
  bool header = false;
  dorm_status result = DORM_OK;
  if (!lines || !copy) result = oom(errbuf, errcap, "reading", "dorm.sum");
  /* Line by line, counting every line: blank ones are allowed (and
   * skipped), but a message's line number is the editor's. */
  unsigned lineno = 0;
  for (char *line = copy, *eol; line && *line && result == DORM_OK; line = eol ? eol + 1 : NULL) {
    eol = strchr(line, '\n');
    if (eol) *eol = '\0';
    lineno++;
    if (!*line) continue;
    if (!header) {
      if (strcmp(line, SUM_HEADER) != 0) {
        result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                          "%s/dorm.sum:%u: expected \"" SUM_HEADER "\" first; " REHASH_HINT, d->path, lineno,
                          d->path);
        break;
      }
      header = true;
      continue;
    }
    char *sp = strchr(line, ' ');
    if (!sp || strchr(sp + 1, ' ')) {
      result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH, "%s/dorm.sum:%u: malformed line; " REHASH_HINT,
                        d->path, lineno, d->path);
      break;
    }
    *sp = '\0';
    if (strcmp(line, "total") == 0) {
      total = sp + 1;
      continue;
    }
    if (n == cap) {
      sum_line *bigger = dorm_arena_realloc(&a, lines, cap * sizeof *lines, cap * 2 * sizeof *lines);
      if (!bigger) {
        result = oom(errbuf, errcap, "reading", "dorm.sum");
        break;
      }
      lines = bigger;
      cap *= 2;
    }
    lines[n].name = line;
    lines[n].hash = sp + 1;
    lines[n].seen = false;
    n++;
  }
  for (size_t i = 0; i < d->count && result == DORM_OK; i++) {
    const dorm_mig_entry *m = &d->migrations[i];
    sum_line *ml = sum_find(lines, n, m->name);
    if (!ml) {
      result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                        "%s/%s is not in dorm.sum (added by hand, renamed, or merged from another branch); if it "
                        "belongs here, run `dormc migrate hash --dir %s`, else remove it and write it again with "
                        "`dormc migrate diff`", d->path, m->name, d->path);
      break;
    }
    ml->seen = true;
    for (size_t k = 0; k < m->file_count && result == DORM_OK; k++) {
      char key[512];
      snprintf(key, sizeof key, "%s/%s", m->name, m->files[k].name);
      sum_line *fl = sum_find(lines, n, key);
      if (!fl)
        result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                          "%s/%s was added after dorm.sum was written; " REHASH_HINT, d->path, key, d->path);
      else if (strcmp(fl->hash, m->files[k].hash) != 0)
        result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                          "%s/%s was changed after dorm.sum was written; " REHASH_HINT, d->path, key, d->path);
      else fl->seen = true;
    }
  }
  for (size_t i = 0; i < n && result == DORM_OK; i++)
    if (!lines[i].seen)
      result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                        "%s/%s is in dorm.sum but missing from the directory (removed or renamed); restore it, or "
                        "run `dormc migrate hash --dir %s` if removing it is intended", d->path, lines[i].name, d->path);
  for (size_t i = 0; i < d->count && result == DORM_OK; i++) {
    const sum_line *ml = sum_find(lines, n, d->migrations[i].name);
    if (ml && strcmp(ml->hash, d->migrations[i].hash) != 0)
      result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                        "%s/dorm.sum: the hash of %s does not match its files (the line was edited); " REHASH_HINT,
                        d->path, d->migrations[i].name, d->path);
  }
  if (result == DORM_OK && (!total || strcmp(total, d->total) != 0))
    result = dorm__fail(errbuf, errcap, DORM_ERR_SCHEMA_MISMATCH,
                      "%s/dorm.sum: the total does not match its migrations (the file was edited); " REHASH_HINT,
                      d->path, d->path);
  dorm_arena_free(&a);
  return result;
}
