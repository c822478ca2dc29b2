/* bench_util.h: what every benchmark program needs and would otherwise
 * write again: die with the program's name, read a file whole, parse a count
 * argument, wall-clock and process-CPU seconds, and the key type of an
 * attribute of the bench item. Header-only (static functions), like
 * curl_floor.h; the including file defines BENCH_NAME ("client_bench") first. */
#ifndef DORM_BENCH_UTIL_H
#define DORM_BENCH_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dorm/dorm.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_util.h"
#endif

#ifndef DORM_BENCH_ITEM
#define DORM_BENCH_ITEM "bench/item.json"
#endif

/* Prints "BENCH_NAME: <message>" on stderr and exits 1. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn, unused));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(BENCH_NAME ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* The file's bytes, NUL-terminated, malloc'd (the caller frees); dies on failure. */
static __attribute__((unused)) char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s: %s", path, strerror(errno));
  size_t cap = 8192, n = 0, got;
  char *s = malloc(cap);
  while (s && (got = fread(s + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n < 2) {
      char *t = realloc(s, cap * 2);
      if (!t) free(s);
      s = t;
      cap *= 2;
    }
  }
  fclose(f);
  if (!s) die("out of memory reading %s", path);
  s[n] = '\0';
  return s;
}

/* v as a whole number in [min, max]; dies naming the argument otherwise. */
static __attribute__((unused)) long parse_count(const char *name, const char *v, long min, long max) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (end == v || *end || errno || n < min || n > max)
    die("%s: expected a whole number from %ld to %ld, got '%s'", name, min, max, v);
  return n;
}

static __attribute__((unused)) double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* User + system CPU of the process so far. */
static __attribute__((unused)) double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* The key type of the item's attribute name (S, N or B); dies otherwise. */
static __attribute__((unused)) dorm_key_type key_type(const dorm_av *item, const char *name) {
  const dorm_av *v = dorm_av_map_get(item, name);
  if (!v) die("item: no key attribute '%s'", name);
  switch (v->type) {
  case DORM_AV_S: return DORM_KEY_S;
  case DORM_AV_N: return DORM_KEY_N;
  case DORM_AV_B: return DORM_KEY_B;
  default: die("item: key '%s' is of type %s", name, dorm_av_type_name(v->type));
  }
  return DORM_KEY_NONE;
}

#endif
