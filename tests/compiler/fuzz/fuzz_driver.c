/* Runs the fuzz logic over files without libFuzzer: every regular file of
 * every directory given (sorted by name), and every file given, so the seed
 * corpus and the regression inputs are checked in every build.
 * Usage: fuzz_dormc_driver PATH...   Exit 0 when every input passed; a
 * violated property aborts; an unreadable path exits 2. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_dormc.h"

static int run_file(const char *path, unsigned *count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 2;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) {
      fclose(f);
      fprintf(stderr, "%s: out of memory\n", path);
      return 2;
    }
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    char *bigger = realloc(buf, cap * 2);
    if (!bigger) free(buf);
    buf = bigger;
    cap *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    fprintf(stderr, "%s: read error\n", path);
    return 2;
  }
  fprintf(stderr, "%s\n", path);
  dormc_fuzz_one((const uint8_t *)buf, n);
  free(buf);
  (*count)++;
  return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_path(const char *path, unsigned *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return 2;
  }
  if (!S_ISDIR(st.st_mode)) return run_file(path, count);
  DIR *d = opendir(path);
  if (!d) {
    perror(path);
    return 2;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **bigger = realloc(names, cap * sizeof *names);
      if (!bigger) break;
      names = bigger;
    }
    size_t len = strlen(path) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (!names[n]) break;
    snprintf(names[n], len, "%s/%s", path, e->d_name);
    n++;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof *names, cmp);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    struct stat fst;
    if (rc == 0 && stat(names[i], &fst) == 0 && S_ISREG(fst.st_mode)) rc = run_file(names[i], count);
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fuzz_dormc_driver PATH...\n");
    return 2;
  }
  unsigned count = 0;
  for (int i = 1; i < argc; i++) {
    int rc = run_path(argv[i], &count);
    if (rc) return rc;
  }
  printf("%u passed, 0 failed\n", count);
  return count ? 0 : 2;
}
