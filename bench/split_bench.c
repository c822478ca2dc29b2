/* split_bench: where a get's and a put's client CPU goes besides libcurl,
 * each part of libdorm's request path timed alone in-process (no network)
 * on the shared item (bench/item.json), with the same internal functions
 * dorm_get_item and dorm_put_item call:
 *
 *   dorm sigv4-get     dorm__sigv4_sign_dynamodb of the GetItem request
 *                      (warm signing-key cache, as every request after the
 *                      first of the day)
 *   dorm sigv4-put     the same for the PutItem request (its ~1.5 KB body
 *                      is hashed too)
 *   dorm json-put      the PutItem body written from the dorm_av item by
 *                      the JSON writer (dorm_put_item runs dorm_item_size
 *                      only for text over 400 KB)
 *   dorm crc32-get     the response CRC-32 (aws/crc32.c: libdeflate's, or
 *                      zlib's) of the GetItem response body
 *   dorm decode-get    the GetItem response body into a dorm_av in an
 *                      arena (jsmn's tokens read straight into it), as
 *                      dorm_get_item reads it
 *
 * one line each in the peers' format (bench/README.md):
 *   dorm sigv4-get: N ops/s, client cpu X us/op, n=N
 *
 * With --cold KB, each call is preceded by writing and reading a KB-sized
 * buffer (evicting the part's code and data from the L1 and L2 caches, as
 * the server and other processes do between two requests of a client that
 * waits on the network) and timed alone (CLOCK_MONOTONIC around the call,
 * median and mean over n):
 *   dorm sigv4-put cold: median X us, mean Y us, n=N
 * the cost of a part as a request meets it; the hot line is the cost with
 * everything cached. Comparing two builds' cold lines shows what a change
 * of code size or layout does, which instruction counts do not.
 * The libcurl part is client_bench's "libcurl get/put" line (the same
 * request through bare libcurl); together they are the split of
 * bench/notes/get-put.md, "Where a get's and a put's microseconds go".
 * Usage: split_bench [--n N] [--item FILE] [--cold KB]. A benchmark: it prints numbers
 * and asserts nothing about them. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "crc32.h"
#include "dorm/dorm.h"
#include "json_read.h"
#include "json_write.h"
#include "sigv4.h"

#define BENCH_NAME "split_bench"
#include "bench_util.h"

typedef struct ctx {
  dorm_sigv4_cache sig;
  dorm_sigv4_credentials creds;
  const char *get_body, *put_body, *resp;
  size_t get_len, put_len, resp_len;
  const dorm_av *item;
  const char *table;
  dorm_jw w;
  dorm_arena arena;
  unsigned long sink; /* keeps results alive */
} ctx;

static void sign(ctx *c, const char *target, const char *body, size_t len) {
  dorm_sigv4_ddb_request rq = {"127.0.0.1:8000", target, body, len};
  dorm_sigv4_ddb_headers h;
  char err[256];
  if (dorm__sigv4_sign_dynamodb(&c->sig, &c->creds, "us-east-1", "dynamodb", (int64_t)time(NULL), &rq, &h, err,
                                sizeof err) != DORM_OK)
    die("sigv4: %s", err);
  c->sink += (unsigned char)h.authorization[strlen(h.authorization) - 1];
}

/* noinline: one symbol per part, for callgrind --toggle-collect=split_<part>. */
__attribute__((noinline)) static void split_sigv4_get(ctx *c) {
  sign(c, "DynamoDB_20120810.GetItem", c->get_body, c->get_len);
}
__attribute__((noinline)) static void split_sigv4_put(ctx *c) {
  sign(c, "DynamoDB_20120810.PutItem", c->put_body, c->put_len);
}

__attribute__((noinline)) static void split_json_put(ctx *c) {
  dorm__jw_reset(&c->w);
  dorm__jw_begin_object(&c->w);
  dorm__jw_member_string(&c->w, "TableName", c->table);
  dorm__jw_key(&c->w, "Item");
  dorm__jw_item(&c->w, c->item, "Item");
  dorm__jw_end_object(&c->w);
  const char *body;
  size_t len;
  if (dorm__jw_finish(&c->w, &body, &len) != DORM_OK) die("json: %s", c->w.err);
  c->sink += len;
}

__attribute__((noinline)) static void split_crc32_get(ctx *c) {
  c->sink += dorm__crc32(c->resp, c->resp_len);
}

__attribute__((noinline)) static void split_decode_get(ctx *c) {
  char err[256];
  dorm_av item;
  bool found = false;
  dorm_arena_reset(&c->arena);
  if (dorm__json_read_response_item(DORM_JSON_FAST, c->resp, c->resp_len, &c->arena, &item, &found, err,
                                    sizeof err) != DORM_OK)
    die("decode: %s", err);
  if (!found) die("decode: no Item");
  c->sink += item.u.map.count;
}

static size_t cold_bytes; /* --cold KB: evict this much before each timed call */
static unsigned char *cold_buf;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Writes then reads the whole eviction buffer (a different value each
 * time, so no pass can be skipped). */
static void evict(ctx *c) {
  static unsigned char v;
  v++;
  for (size_t i = 0; i < cold_bytes; i += 64) cold_buf[i] = (unsigned char)(v + i);
  unsigned long s = 0;
  for (size_t i = 0; i < cold_bytes; i += 64) s += cold_buf[i];
  c->sink += s & 1;
}

static void cold_line(ctx *c, const char *name, void (*op)(ctx *), long n) {
  double *t = malloc((size_t)n * sizeof *t);
  if (!t) die("out of memory");
  for (long i = 0; i < n / 10 + 1; i++) op(c);
  double sum = 0;
  for (long i = 0; i < n; i++) {
    evict(c);
    double t0 = now_s();
    op(c);
    t[i] = now_s() - t0;
    sum += t[i];
  }
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  printf("dorm %s cold: median %.2f us, mean %.2f us, n=%ld\n", name, t[n / 2] * 1e6, sum / n * 1e6, n);
  fflush(stdout);
  free(t);
}

static void line(ctx *c, const char *name, void (*op)(ctx *), long n) {
  if (cold_bytes) {
    cold_line(c, name, op, n);
    return;
  }
  for (long i = 0; i < n / 10 + 1; i++) op(c);
  double t0 = now_s(), c0 = cpu_s();
  for (long i = 0; i < n; i++) op(c);
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  printf("dorm %s: %.0f ops/s, client cpu %.2f us/op, n=%ld\n", name, n / wall, cpu / n * 1e6, n);
  fflush(stdout);
}

int main(int argc, char **argv) {
  long n = 100000;
  const char *item_path = DORM_BENCH_ITEM;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atol(argv[++i]);
    else if (!strcmp(argv[i], "--item") && i + 1 < argc) item_path = argv[++i];
    else if (!strcmp(argv[i], "--cold") && i + 1 < argc) cold_bytes = (size_t)parse_count("--cold", argv[++i], 1, 1L << 20) << 10;
    else die("usage: split_bench [--n N] [--item FILE] [--cold KB]");
  }
  if (n <= 0) die("--n: expected a whole number >= 1");
  if (cold_bytes && !(cold_buf = malloc(cold_bytes))) die("out of memory");

  char *text = read_file(item_path);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  const cJSON *jt = doc ? cJSON_GetObjectItemCaseSensitive(doc, "table") : NULL;
  const cJSON *jh = doc ? cJSON_GetObjectItemCaseSensitive(doc, "hash_key") : NULL;
  const cJSON *jr = doc ? cJSON_GetObjectItemCaseSensitive(doc, "range_key") : NULL;
  const cJSON *ji = doc ? cJSON_GetObjectItemCaseSensitive(doc, "item") : NULL;
  if (!cJSON_IsString(jt) || !cJSON_IsString(jh) || !cJSON_IsObject(ji))
    die("%s: expected {\"table\", \"hash_key\", [\"range_key\"], \"item\"}", item_path);

  ctx c;
  memset(&c, 0, sizeof c);
  c.arena = (dorm_arena)DORM_ARENA_INIT;
  dorm_arena keep = DORM_ARENA_INIT;
  char *item_json = cJSON_PrintUnformatted(ji);
  if (!item_json) die("out of memory");
  dorm_av item;
  char err[256];
  if (dorm_item_from_json(item_json, strlen(item_json), &keep, &item, err, sizeof err) != DORM_OK)
    die("%s: %s", item_path, err);
  c.item = &item;
  c.table = jt->valuestring;

  /* The three bodies as the client sends and receives them. */
  cJSON *get = cJSON_CreateObject(), *key = cJSON_CreateObject(), *resp = cJSON_CreateObject();
  cJSON_AddStringToObject(get, "TableName", c.table);
  const char *keys[2] = {jh->valuestring, cJSON_IsString(jr) ? jr->valuestring : NULL};
  for (int k = 0; k < 2 && keys[k]; k++) {
    const cJSON *kv = cJSON_GetObjectItemCaseSensitive(ji, keys[k]);
    if (kv) cJSON_AddItemToObject(key, keys[k], cJSON_Duplicate(kv, 1));
  }
  cJSON_AddItemToObject(get, "Key", key);
  cJSON_AddItemReferenceToObject(resp, "Item", (cJSON *)ji);
  char *get_body = cJSON_PrintUnformatted(get), *resp_body = cJSON_PrintUnformatted(resp);
  if (!get_body || !resp_body) die("out of memory");
  dorm__jw_init(&c.w, 0);
  split_json_put(&c);
  const char *put_body;
  size_t put_len;
  if (dorm__jw_finish(&c.w, &put_body, &put_len) != DORM_OK) die("json: %s", c.w.err);
  char *put_copy = malloc(put_len + 1);
  if (!put_copy) die("out of memory");
  memcpy(put_copy, put_body, put_len + 1);
  c.get_body = get_body;
  c.get_len = strlen(get_body);
  c.put_body = put_copy;
  c.put_len = put_len;
  c.resp = resp_body;
  c.resp_len = strlen(resp_body);
  c.creds = (dorm_sigv4_credentials){"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
  if (dorm__sigv4_cache_init(&c.sig) != DORM_OK) die("OpenSSL: no SHA-256/HMAC");

  printf("# split_bench: GetItem body %zu bytes, PutItem body %zu bytes, GetItem response %zu bytes\n", c.get_len,
         c.put_len, c.resp_len);
  line(&c, "sigv4-get", split_sigv4_get, n);
  line(&c, "sigv4-put", split_sigv4_put, n);
  line(&c, "json-put", split_json_put, n);
  line(&c, "crc32-get", split_crc32_get, n);
  line(&c, "decode-get", split_decode_get, n);
  if (c.sink == 42) puts("#"); /* the results are used */

  dorm__sigv4_cache_cleanup(&c.sig);
  dorm__jw_free(&c.w);
  dorm_arena_free(&c.arena);
  dorm_arena_free(&keep);
  free(put_copy);
  free(get_body);
  free(resp_body);
  free(item_json);
  free(cold_buf);
  cJSON_Delete(get);
  cJSON_Delete(resp);
  cJSON_Delete(doc);
  return 0;
}
