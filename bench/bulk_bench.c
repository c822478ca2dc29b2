/* bulk_bench: libdorm's bulk write against a DynamoDB endpoint, the work of
 * the peers' bulk lines (bench/README.md): N copies of the shared ~1 KB item
 * (bench/item.json), pk "BULK#<8 digits>", everything else as in the file,
 * written with ONE dorm_batch_write call (BatchWriteItem, 25 items a
 * request) at --concurrency requests in flight (default 16) from this one
 * thread (dorm/pool.h). The items are built as dorm_av before the clock
 * starts (an application holds its items already); the timed part is the
 * call: JSON writing, SigV4, HTTP over the multi interface, CRC32 and
 * reading the answers (UnprocessedItems). Prints, in the peers' format:
 *
 *   libdorm bulk-write: 1234 items/s, client cpu 1.2 us/item, n=100000
 *
 * client cpu is this process's user + system time (getrusage) per item,
 * which on loopback includes the kernel's TCP work for the client's side.
 * A second line, a comment to run-peers.sh, splits it:
 *
 *   # libdorm bulk-write: user 3.10 + system 4.20 us/item, 0.5 minor page faults and 40.1 context switches per 1000 items
 *
 * (user is libdorm, libcurl, OpenSSL and libc; system is the kernel's
 * sends, receives, polls and page faults for this process).
 * N: --n, or $DORM_BULK_N (run-peers.sh passes it), default 100000.
 * A benchmark, never a test: it prints numbers and asserts nothing about them.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dorm/dorm.h"

#define BENCH_NAME "bulk_bench"
#include "bench_util.h"

/* Microseconds from a to b (getrusage times). */
static double tv_us(struct timeval b, struct timeval a) {
  return (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_usec - a.tv_usec);
}

int main(int argc, char **argv) {
  const char *endpoint = getenv("DORM_TEST_ENDPOINT"), *item_path = DORM_BENCH_ITEM, *table = "dorm_bench_bulk";
  const char *env_n = getenv("DORM_BULK_N");
  long n = env_n && *env_n ? parse_count("DORM_BULK_N", env_n, 1, 10000000L) : 100000, concurrency = 16;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf("usage: bulk_bench [--endpoint http://HOST:PORT] [--n N] [--concurrency C] [--item FILE] [--table NAME]\n"
             "  --endpoint     DynamoDB endpoint (default: $DORM_TEST_ENDPOINT)\n"
             "  --n            items (default $DORM_BULK_N, else 100000)\n"
             "  --concurrency  BatchWriteItem requests in flight (default 16)\n"
             "  --item         the benchmark item (default %s)\n"
             "  --table        table (default dorm_bench_bulk, created when missing)\n",
             DORM_BENCH_ITEM);
      return 0;
    }
    if (i + 1 >= argc) die("%s: missing value (see --help)", a);
    const char *v = argv[++i];
    if (!strcmp(a, "--endpoint")) endpoint = v;
    else if (!strcmp(a, "--n")) n = parse_count(a, v, 1, 10000000L);
    else if (!strcmp(a, "--concurrency")) concurrency = parse_count(a, v, 1, 1024);
    else if (!strcmp(a, "--item")) item_path = v;
    else if (!strcmp(a, "--table")) table = v;
    else die("unknown option '%s' (see --help)", a);
  }
  if (!endpoint || !*endpoint) die("no endpoint: pass --endpoint or set DORM_TEST_ENDPOINT");

  char *text = read_file(item_path);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  if (!doc) die("%s: not valid JSON", item_path);
  const cJSON *jh = cJSON_GetObjectItemCaseSensitive(doc, "hash_key");
  const cJSON *jr = cJSON_GetObjectItemCaseSensitive(doc, "range_key");
  const cJSON *ji = cJSON_GetObjectItemCaseSensitive(doc, "item");
  if (!cJSON_IsString(jh) || !cJSON_IsObject(ji))
    die("%s: expected {\"table\", \"hash_key\", [\"range_key\"], \"item\"}", item_path);
  char *item_json = cJSON_PrintUnformatted(ji);
  if (!item_json) die("out of memory");

  dorm_arena keep = DORM_ARENA_INIT; /* the items */
  const char *hk = dorm_arena_strdup(&keep, jh->valuestring);
  const char *rk = cJSON_IsString(jr) ? dorm_arena_strdup(&keep, jr->valuestring) : NULL;
  dorm_av item;
  char err[512];
  if (dorm_item_from_json(item_json, strlen(item_json), &keep, &item, err, sizeof err) != DORM_OK)
    die("%s: %s", item_path, err);
  free(item_json);
  cJSON_Delete(doc);

  /* N items that share every value but the hash key (dorm_av values are
   * borrowed views: only the map and the key string are per item). */
  dorm_av *items = malloc((size_t)n * sizeof *items);
  dorm_batch_write_entry *e = malloc((size_t)n * sizeof *e);
  if (!items || !e) die("out of memory");
  for (long i = 0; i < n; i++) {
    char pk[32];
    snprintf(pk, sizeof pk, "BULK#%08ld", i);
    items[i] = item;
    items[i].u.map.items = dorm_arena_alloc(&keep, item.u.map.count * sizeof *item.u.map.items);
    if (!items[i].u.map.items) die("out of memory");
    memcpy(items[i].u.map.items, item.u.map.items, item.u.map.count * sizeof *item.u.map.items);
    items[i].u.map.cap = item.u.map.count;
    if (dorm_av_map_set(&keep, &items[i], hk, dorm_av_str(dorm_arena_strdup(&keep, pk))) != DORM_OK)
      die("out of memory");
    e[i] = (dorm_batch_write_entry){table, &items[i], NULL};
  }

  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  dorm_config cfg = DORM_CONFIG_INIT;
  cfg.endpoint = endpoint;
  cfg.region = "us-east-1";
  cfg.access_key_id = "AKIDEXAMPLE";
  cfg.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  dorm_client *c;
  if (dorm_client_new(&cfg, &c, err, sizeof err) != DORM_OK) die("%s", err);
  dorm_table_def def;
  memset(&def, 0, sizeof def);
  def.name = table;
  def.pk = (dorm_key_attr){hk, key_type(&item, hk)};
  if (rk) def.sk = (dorm_key_attr){rk, key_type(&item, rk)};
  dorm_status st = dorm_create_table(c, &def, NULL, NULL);
  if (st != DORM_OK && st != DORM_ERR_RESOURCE_IN_USE) die("%s", dorm_client_errmsg(c));
  if (dorm_wait_table_active(c, table, 30000, NULL, NULL) != DORM_OK) die("%s", dorm_client_errmsg(c));

  dorm_batch_write_options opts = {.max_in_flight = (uint32_t)concurrency};
  dorm_client_stats s0, s1;
  dorm_client_get_stats(c, &s0);
  size_t written = 0;
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  double t0 = now_s(), c0 = cpu_s();
  st = dorm_batch_write(c, e, (size_t)n, &opts, &written);
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  getrusage(RUSAGE_SELF, &r1);
  if (st != DORM_OK) die("%s (%zu written)", dorm_client_errmsg(c), written);
  dorm_client_get_stats(c, &s1);
  printf("libdorm bulk-write: %.0f items/s, client cpu %.2f us/item, n=%ld\n", n / wall, cpu / n * 1e6, n);
  printf("# libdorm bulk-write: user %.2f + system %.2f us/item, %.1f minor page faults and %.1f context "
         "switches per 1000 items\n",
         tv_us(r1.ru_utime, r0.ru_utime) / n, tv_us(r1.ru_stime, r0.ru_stime) / n,
         (double)(r1.ru_minflt - r0.ru_minflt) * 1000.0 / n,
         (double)(r1.ru_nvcsw - r0.ru_nvcsw + r1.ru_nivcsw - r0.ru_nivcsw) * 1000.0 / n);
  fflush(stdout);
  if (s1.retries != s0.retries)
    fprintf(stderr, "bulk_bench: %llu retries during the timed run\n", (unsigned long long)(s1.retries - s0.retries));
  dorm_client_free(c);
  free(items);
  free(e);
  dorm_arena_free(&keep);
  return 0;
}
