/* client_bench: libdorm's client against a DynamoDB endpoint, doing what the
 * peer benchmarks do (bench/README.md): sequential PutItem and GetItem of the
 * shared ~1 KB item (bench/item.json) on one client, one kept-alive
 * connection, N timed requests after a warm-up. The item is built as a
 * dorm_av once; every put writes it with dorm_put_item (JSON writing, SigV4,
 * HTTP, CRC32 check), every get reads it back with dorm_get_item into an
 * arena that is reset per request (parse, CRC32, dorm_av building).
 * Prints, in the peers' format:
 *
 *   libdorm put: 1234 ops/s, client cpu 12.3 us/op, n=5000
 *   libdorm get: 1500 ops/s, client cpu 10.1 us/op, n=5000
 *
 * client cpu is this process's user + system time (getrusage) per request,
 * which on loopback includes the kernel's TCP work for the client's side.
 *
 * Unless --no-floor, each libdorm line comes with the same request through
 * bare libcurl, as libdorm's transport drives it (one easy handle, the same
 * options and header lines, a fixed signature of the real one's length, the
 * body copied out in a write callback) but with no signing, no JSON and no
 * CRC check, timed in blocks of 50 alternating with libdorm's so that both
 * see the same machine, and their ratio (issue 13's targets: get 1.15, put
 * 1.10):
 *
 *   libcurl put: 1300 ops/s, client cpu 60.1 us/op, n=5000
 *   libdorm/libcurl put: client cpu ratio 1.08, n=5000
 *
 * The gap between a libdorm line and its libcurl line is libdorm's own cost.
 * A benchmark, never a test: it prints numbers and asserts nothing about them.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dorm/dorm.h"

#define BENCH_NAME "client_bench"
#include "bench_util.h"

/* The key attribute's type from the item: S, N or B. */

typedef struct bench {
  dorm_client *c;
  const char *table;
  const dorm_av *item, *key;
  dorm_arena arena; /* GetItem results, reset per request */
} bench;

/* noinline: one symbol per request for callgrind (bench/cg_split.sh
 * collects inside these), whatever the build inlines (LTO). */
__attribute__((noinline)) static void put_once(bench *b) {
  dorm_put_input in = {.table = b->table, .item = b->item};
  if (dorm_put_item(b->c, &in, NULL, NULL) != DORM_OK) die("%s", dorm_client_errmsg(b->c));
}

__attribute__((noinline)) static void get_once(bench *b) {
  dorm_get_input in = {.table = b->table, .key = b->key};
  dorm_av got;
  dorm_arena_reset(&b->arena);
  if (dorm_get_item(b->c, &in, &b->arena, &got) != DORM_OK) die("%s", dorm_client_errmsg(b->c));
}

static void run(bench *b, const char *name, void (*op)(bench *), long warmup, long n) {
  for (long i = 0; i < warmup; i++) op(b);
  dorm_client_stats s0, s1;
  dorm_client_get_stats(b->c, &s0);
  double t0 = now_s(), c0 = cpu_s();
  for (long i = 0; i < n; i++) op(b);
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  dorm_client_get_stats(b->c, &s1);
  printf("libdorm %s: %.0f ops/s, client cpu %.1f us/op, n=%ld\n", name, n / wall, cpu / n * 1e6, n);
  fflush(stdout);
  /* Retries or reconnects would make the line measure something else. */
  if (s1.retries != s0.retries || s1.connections != s0.connections)
    fprintf(stderr, "client_bench: %s: %llu retries, %ld new connections during the timed run\n", name,
            (unsigned long long)(s1.retries - s0.retries), s1.connections - s0.connections);
}

#include "curl_floor.h"

/* floor_paired() on the bench's ops, with a check that nothing retried
 * or reconnected during the timed run. */
static void put_op(void *b) { put_once(b); }
static void get_op(void *b) { get_once(b); }

static void paired_run(bench *b, void (*op)(void *), floor_req *f, void (*fop)(floor_req *), const char *name,
                       long warmup, long n) {
  dorm_client_stats s0, s1;
  dorm_client_get_stats(b->c, &s0);
  floor_paired("libdorm", name, op, b, f, fop, warmup, n);
  dorm_client_get_stats(b->c, &s1);
  if (s1.retries != s0.retries || s1.connections != s0.connections)
    fprintf(stderr, "client_bench: %s: %llu retries, %ld new connections during the timed run\n", name,
            (unsigned long long)(s1.retries - s0.retries), s1.connections - s0.connections);
}

int main(int argc, char **argv) {
  const char *endpoint = getenv("DORM_TEST_ENDPOINT"), *item_path = DORM_BENCH_ITEM, *table_opt = NULL;
  long n = 5000, warmup = -1;
  bool with_floor = true, floor_only = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf("usage: client_bench [--endpoint http://HOST:PORT] [--n N] [--warmup N] [--item FILE] [--table NAME]\n"
             "                    [--no-floor | --floor-only]\n"
             "  --endpoint  DynamoDB endpoint (default: $DORM_TEST_ENDPOINT)\n"
             "  --n         timed requests per operation (default 5000)\n"
             "  --warmup    untimed requests first (default n/10, at most 1000)\n"
             "  --item      the benchmark item (default %s)\n"
             "  --table     table name (default: the item file's \"table\")\n"
             "  --no-floor  skip the bare-libcurl lines\n"
             "  --floor-only  only the bare-libcurl lines, not paired (for strace/perf of the floor alone)\n",
             DORM_BENCH_ITEM);
      return 0;
    }
    if (!strcmp(a, "--no-floor")) {
      with_floor = false;
      continue;
    }
    if (!strcmp(a, "--floor-only")) {
      floor_only = true;
      continue;
    }
    if (i + 1 >= argc) die("%s: missing value (see --help)", a);
    const char *v = argv[++i];
    if (!strcmp(a, "--endpoint")) endpoint = v;
    else if (!strcmp(a, "--n")) n = parse_count(a, v, 1, 100000000L);
    else if (!strcmp(a, "--warmup")) warmup = parse_count(a, v, 0, 100000000L);
    else if (!strcmp(a, "--item")) item_path = v;
    else if (!strcmp(a, "--table")) table_opt = v;
    else die("unknown option '%s' (see --help)", a);
  }
  if (!endpoint || !*endpoint) die("no endpoint: pass --endpoint or set DORM_TEST_ENDPOINT");
  if (warmup < 0) warmup = n / 10 < 1000 ? n / 10 : 1000;

  /* The item file's envelope through cJSON; the item itself through
   * libdorm's DynamoDB JSON reader, once. */
  char *text = read_file(item_path);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  if (!doc) die("%s: not valid JSON", item_path);
  const cJSON *jt = cJSON_GetObjectItemCaseSensitive(doc, "table");
  const cJSON *jh = cJSON_GetObjectItemCaseSensitive(doc, "hash_key");
  const cJSON *jr = cJSON_GetObjectItemCaseSensitive(doc, "range_key");
  const cJSON *ji = cJSON_GetObjectItemCaseSensitive(doc, "item");
  if (!cJSON_IsString(jt) || !cJSON_IsString(jh) || !cJSON_IsObject(ji))
    die("%s: expected {\"table\", \"hash_key\", [\"range_key\"], \"item\"}", item_path);
  char *item_json = cJSON_PrintUnformatted(ji);
  if (!item_json) die("out of memory");
  /* The floor's request bodies: {"TableName":T,"Item":{...}} and {"TableName":T,"Key":{...}}. */
  char *floor_put, *floor_get, *floor_text = read_file(item_path);
  floor_bodies(floor_text, table_opt, &floor_put, &floor_get);
  free(floor_text);

  dorm_arena keep = DORM_ARENA_INIT; /* the item, the key, the names */
  const char *table = dorm_arena_strdup(&keep, table_opt ? table_opt : jt->valuestring);
  const char *hk = dorm_arena_strdup(&keep, jh->valuestring);
  const char *rk = cJSON_IsString(jr) ? dorm_arena_strdup(&keep, jr->valuestring) : NULL;
  dorm_av item, key = dorm_av_empty(DORM_AV_M);
  char err[512];
  if (dorm_item_from_json(item_json, strlen(item_json), &keep, &item, err, sizeof err) != DORM_OK)
    die("%s: %s", item_path, err);
  free(item_json);
  cJSON_Delete(doc);
  const char *keys[2] = {hk, rk};
  for (int k = 0; k < 2 && keys[k]; k++) {
    const dorm_av *v = dorm_av_map_get(&item, keys[k]);
    if (!v) die("%s: the item has no key attribute '%s'", item_path, keys[k]);
    if (dorm_av_map_set(&keep, &key, keys[k], *v) != DORM_OK) die("out of memory");
  }

  /* The peers' credentials: DynamoDB Local keeps one database per access
   * key id and region, so all three benchmarks use the same table. */
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  cfg.region = "us-east-1";
  cfg.access_key_id = "AKIDEXAMPLE";
  cfg.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  bench b = {.table = table, .item = &item, .key = &key, .arena = DORM_ARENA_INIT};
  if (dorm_client_new(&cfg, &b.c, err, sizeof err) != DORM_OK) die("%s", err);

  dorm_table_def def;
  memset(&def, 0, sizeof def);
  def.name = table;
  def.pk = (dorm_key_attr){hk, key_type(&item, hk)};
  if (rk) def.sk = (dorm_key_attr){rk, key_type(&item, rk)};
  dorm_status st = dorm_create_table(b.c, &def, NULL, NULL);
  if (st != DORM_OK && st != DORM_ERR_RESOURCE_IN_USE) die("%s", dorm_client_errmsg(b.c));
  if (dorm_wait_table_active(b.c, table, 30000, NULL, NULL) != DORM_OK) die("%s", dorm_client_errmsg(b.c));

  /* Put once and read it back: the get loop measures a hit of this item. */
  put_once(&b);
  dorm_get_input gi = {.table = table, .key = &key};
  dorm_av back;
  if (dorm_get_item(b.c, &gi, &b.arena, &back) != DORM_OK) die("%s", dorm_client_errmsg(b.c));
  if (!dorm_av_equal(&back, &item)) die("GetItem returned a different item");

  if (floor_only || with_floor) {
    char hostbuf[300];
    floor_host(endpoint, hostbuf, sizeof hostbuf);
    floor_req f;
    floor_init(&f, endpoint);
    struct curl_slist *ph = floor_headers(hostbuf, "PutItem", cfg.access_key_id),
                      *gh = floor_headers(hostbuf, "GetItem", cfg.access_key_id);
    if (floor_only) {
      f.body = floor_put;
      f.headers = ph;
      floor_alone("put", &f, floor_put_once, warmup, n);
      f.body = floor_get;
      f.headers = gh;
      floor_alone("get", &f, floor_get_once, warmup, n);
    } else {
      f.body = floor_put;
      f.headers = ph;
      paired_run(&b, put_op, &f, floor_put_once, "put", warmup, n);
      f.body = floor_get;
      f.headers = gh;
      paired_run(&b, get_op, &f, floor_get_once, "get", warmup, n);
    }
    curl_slist_free_all(ph);
    curl_slist_free_all(gh);
    floor_free(&f);
  } else {
    run(&b, "put", put_once, warmup, n);
    run(&b, "get", get_once, warmup, n);
  }
  free(floor_put);
  free(floor_get);

  dorm_client_free(b.c);
  dorm_arena_free(&b.arena);
  dorm_arena_free(&keep);
  return 0;
}
