#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *ts_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) { free(buf); buf = NULL; break; }
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  if (!buf) return NULL;
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

int ts_write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t put = fwrite(data, 1, len, f);
  int rc = fclose(f);
  return (put == len && rc == 0) ? 0 : -1;
}

const char *ts_source_dir(void) {
  const char *d = getenv("DORM_SOURCE_DIR");
  return d && *d ? d : ".";
}

const char *ts_ddb_endpoint(void) {
  static char endpoint[256];
  const char *e = getenv("DORM_TEST_ENDPOINT");
  if (e && *e) return e;
  const char *file = getenv("DORM_TEST_ENDPOINT_FILE");
  if (!file) return NULL;
  FILE *f = fopen(file, "r");
  if (!f) return NULL;
  char *line = fgets(endpoint, sizeof endpoint, f);
  fclose(f);
  if (!line) return NULL;
  endpoint[strcspn(endpoint, "\r\n")] = '\0';
  return endpoint[0] ? endpoint : NULL;
}

void ts_unique_name(char *buf, size_t cap, const char *prefix) {
  static unsigned counter;
  snprintf(buf, cap, "%s_%ld_%u", prefix, (long)getpid(), counter++);
}
