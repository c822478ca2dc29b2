/* Runs the fuzz logic (fuzz_faultproxy.c) without libFuzzer, in every build:
 * over the seed files given on the command line (files or directories), then
 * over deterministic mutations of them (a fixed-seed RNG, so a failure
 * reproduces). Prints "N inputs, all properties held" or aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_faultproxy.h"

#define MAX_SEEDS 256
#define MUTATIONS_PER_SEED 20000
#define FUZZ_MAX_INPUT 8192

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS], nseeds;

static void add_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f || nseeds >= MAX_SEEDS) {
    if (f) fclose(f);
    return;
  }
  uint8_t *buf = malloc(FUZZ_MAX_INPUT);
  size_t n = buf ? fread(buf, 1, FUZZ_MAX_INPUT, f) : 0;
  fclose(f);
  if (!buf) return;
  seeds[nseeds] = buf;
  seed_len[nseeds++] = n;
}

static void add_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "fuzz_driver: cannot read %s\n", path);
    exit(2);
  }
  if (!S_ISDIR(st.st_mode)) {
    add_file(path);
    return;
  }
  DIR *d = opendir(path);
  struct dirent *e;
  char full[4096];
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(full, sizeof full, "%s/%s", path, e->d_name);
    add_file(full);
  }
  if (d) closedir(d);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static const char *const tokens[] = {
    "\r\n", "\r\n\r\n", "\n", ":", " ", "Content-Length: ", "Transfer-Encoding: chunked", "Expect: 100-continue",
    "Connection: close", "x-amz-crc32: ", "HTTP/1.1 ", "HTTP/1.0 ", "/__proxy/plan", "/__proxy/stats", "--p-500 ",
    "--script ", "--only ", "slow+", "reset_after", ",", "'", "\"", "=", "0.5", "1e-320", "999999999999999",
    "-1", "\0", "\t", "--seed 18446744073709551615 ",
};

/* One random edit of buf (len bytes, capacity FUZZ_MAX_INPUT). Returns the new length. */
static size_t mutate(uint8_t *buf, size_t len) {
  size_t pos = len ? next() % (len + 1) : 0;
  switch (next() % 6) {
    case 0: /* flip a byte */
      if (len > 1) buf[1 + next() % (len - 1)] ^= (uint8_t)(1u << (next() % 8));
      return len;
    case 1: { /* insert a token */
      const char *t = tokens[next() % (sizeof tokens / sizeof tokens[0])];
      size_t tl = t[0] ? strlen(t) : 1;
      if (pos == 0) pos = 1;
      if (len + tl > FUZZ_MAX_INPUT || pos > len) return len;
      memmove(buf + pos + tl, buf + pos, len - pos);
      memcpy(buf + pos, t, tl);
      return len + tl;
    }
    case 2: { /* delete a range */
      if (pos >= len || pos == 0) return len;
      size_t n = 1 + next() % (len - pos);
      memmove(buf + pos, buf + pos + n, len - pos - n);
      return len - n;
    }
    case 3: /* truncate */
      return len > 1 ? 1 + next() % (len - 1) : len;
    case 4: { /* duplicate a range */
      if (pos >= len || pos == 0) return len;
      size_t n = 1 + next() % (len - pos);
      if (len + n > FUZZ_MAX_INPUT) return len;
      memmove(buf + pos + n, buf + pos, len - pos);
      return len + n;
    }
    default: /* switch the path */
      if (len) buf[0] = (uint8_t)(next() % 3);
      return len;
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) add_path(argv[i]);
  if (nseeds == 0) {
    fprintf(stderr, "fuzz_driver: no seed inputs\n");
    return 2;
  }
  size_t runs = 0;
  uint8_t *work = malloc(FUZZ_MAX_INPUT);
  for (size_t s = 0; s < nseeds; s++) {
    fp_fuzz_one(seeds[s], seed_len[s]);
    runs++;
    size_t len = seed_len[s];
    memcpy(work, seeds[s], len);
    for (int m = 0; m < MUTATIONS_PER_SEED; m++) {
      /* Stack a few edits, and start over from the seed now and then. */
      if (m % 4 == 0) {
        len = seed_len[s];
        memcpy(work, seeds[s], len);
      }
      len = mutate(work, len);
      fp_fuzz_one(work, len);
      runs++;
    }
  }
  for (size_t s = 0; s < nseeds; s++) free(seeds[s]);
  free(work);
  printf("fuzz_driver: %zu inputs, all properties held\n", runs);
  return 0;
}
