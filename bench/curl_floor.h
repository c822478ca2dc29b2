/* curl_floor.h: bare libcurl doing libdorm's request, for the benchmarks
 * that print a libdorm line beside it (client_bench, gen_put_get): one
 * easy handle set up as libdorm's transport sets up its own, the same
 * header lines (a fixed date and a signature of the real one's length;
 * DynamoDB Local does not check signatures), the body copied out in a write
 * callback, and no signing, JSON or CRC check. The including file includes
 * bench_util.h (die, now_s, cpu_s) first. */
#ifndef DORM_BENCH_CURL_FLOOR_H
#define DORM_BENCH_CURL_FLOOR_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
  char *buf;
  size_t len, cap;
} sink;

static size_t sink_body(char *data, size_t size, size_t nmemb, void *userp) {
  sink *k = userp;
  size_t n = size * nmemb;
  if (k->len + n + 1 > k->cap) {
    size_t cap = k->cap ? k->cap * 2 : 16384;
    while (cap < k->len + n + 1) cap *= 2;
    char *b = realloc(k->buf, cap);
    if (!b) return 0;
    k->buf = b;
    k->cap = cap;
  }
  memcpy(k->buf + k->len, data, n);
  k->len += n;
  return n;
}

static size_t sink_header(char *data, size_t size, size_t nmemb, void *userp) {
  (void)data;
  (void)userp;
  return size * nmemb;
}

typedef struct floor_req {
  CURL *curl;
  const char *body;
  struct curl_slist *headers;
  sink out;
} floor_req;

__attribute__((noinline)) static void floor_once(floor_req *f) {
  f->out.len = 0;
  CURL *c = f->curl;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, f->headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, f->body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(f->body));
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK || status != 200)
    die("libcurl floor: %s, HTTP %ld: %.*s", curl_easy_strerror(rc), status, (int)f->out.len,
        f->out.buf ? f->out.buf : "");
}

/* One function per request kind, so a profiler can count each alone
 * (valgrind --tool=callgrind --toggle-collect=floor_get; bench/README.md). */
__attribute__((noinline)) static void floor_put_once(floor_req *f) { floor_once(f); }
__attribute__((noinline)) static void floor_get_once(floor_req *f) { floor_once(f); }

/* The header lines libdorm sends (client.c), with a fixed date and a
 * signature of the same length; DynamoDB Local does not check signatures. */
static struct curl_slist *floor_headers(const char *host, const char *op, const char *access_key_id) {
  char line[512];
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.0");
  snprintf(line, sizeof line, "Host: %s", host);
  h = curl_slist_append(h, line);
  h = curl_slist_append(h, "X-Amz-Date: 20240101T000000Z");
  snprintf(line, sizeof line, "X-Amz-Target: DynamoDB_20120810.%s", op);
  h = curl_slist_append(h, line);
  /* DynamoDB Local keeps one database per access key id and region: the
   * same key as libdorm's requests, so the floor reads the same table. */
  snprintf(line, sizeof line,
           "Authorization: AWS4-HMAC-SHA256 Credential=%s/20240101/us-east-1/dynamodb/aws4_request, "
           "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
           "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
           access_key_id);
  h = curl_slist_append(h, line);
  h = curl_slist_append(h, "Expect:");
  if (!h) die("out of memory");
  return h;
}

/* The floor's easy handle, set up as libdorm's transport sets up its own. */
static void floor_init(floor_req *f, const char *endpoint) {
  memset(f, 0, sizeof *f);
  f->curl = curl_easy_init();
  if (!f->curl) die("curl_easy_init failed");
  CURL *c = f->curl;
  curl_easy_setopt(c, CURLOPT_URL, endpoint);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &f->out);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_header);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  /* No proxy, as libdorm tells libcurl when no proxy variable is set
   * (aws/http.c): without it libcurl reads the proxy variables on every
   * request, and the floor would pay work libdorm's requests do not. */
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_NOPROXY, "");
}

static void floor_free(floor_req *f) {
  curl_easy_cleanup(f->curl);
  free(f->out.buf);
}

/* The floor's request bodies from the item file ({"table", "hash_key",
 * "range_key", "item"}): {"TableName":T,"Item":{...}} and
 * {"TableName":T,"Key":{...}}, T the file's table unless table is given.
 * Both malloc'd (cJSON_PrintUnformatted); the caller frees them. */
static void floor_bodies(const char *item_text, const char *table, char **put, char **get) {
  cJSON *doc = cJSON_Parse(item_text);
  const cJSON *jt = doc ? cJSON_GetObjectItemCaseSensitive(doc, "table") : NULL;
  const cJSON *jh = doc ? cJSON_GetObjectItemCaseSensitive(doc, "hash_key") : NULL;
  const cJSON *jr = doc ? cJSON_GetObjectItemCaseSensitive(doc, "range_key") : NULL;
  const cJSON *ji = doc ? cJSON_GetObjectItemCaseSensitive(doc, "item") : NULL;
  if (!cJSON_IsString(jt) || !cJSON_IsString(jh) || !cJSON_IsObject(ji))
    die("item file: expected {\"table\", \"hash_key\", [\"range_key\"], \"item\"}");
  cJSON *fput = cJSON_CreateObject(), *fget = cJSON_CreateObject(), *fkey = cJSON_CreateObject();
  cJSON_AddStringToObject(fput, "TableName", table ? table : jt->valuestring);
  cJSON_AddItemReferenceToObject(fput, "Item", (cJSON *)ji);
  cJSON_AddStringToObject(fget, "TableName", table ? table : jt->valuestring);
  const char *key_names[2] = {jh->valuestring, cJSON_IsString(jr) ? jr->valuestring : NULL};
  for (int k = 0; k < 2 && key_names[k]; k++) {
    const cJSON *kv = cJSON_GetObjectItemCaseSensitive(ji, key_names[k]);
    if (kv) cJSON_AddItemToObject(fkey, key_names[k], cJSON_Duplicate(kv, 1));
  }
  cJSON_AddItemToObject(fget, "Key", fkey);
  *put = cJSON_PrintUnformatted(fput);
  *get = cJSON_PrintUnformatted(fget);
  cJSON_Delete(fput);
  cJSON_Delete(fget);
  cJSON_Delete(doc);
  if (!*put || !*get) die("out of memory");
}

/* The host part of an endpoint URL, for the Host header line. */
static void floor_host(const char *endpoint, char *buf, size_t cap) {
  const char *host = strstr(endpoint, "://");
  snprintf(buf, cap, "%s", host ? host + 3 : endpoint);
  buf[strcspn(buf, "/")] = '\0';
}

/* libdorm (op) and bare libcurl (fop) doing the same request, timed in
 * alternating blocks of FLOOR_BLOCK requests on one DynamoDB Local: on a
 * shared machine the load, the CPU's clock and the server's JIT drift over
 * seconds, and whichever ran first or last would pay for it; alternating,
 * both sides see the same conditions, so their ratio is what it measures.
 * Prints "<who> <name>", "libcurl <name>" and "<who>/libcurl <name>: client
 * cpu ratio R" (issue 13's targets: get 1.15, put 1.10, generated get
 * 1.20). */
#define FLOOR_BLOCK 50

/* FLOOR_EVICT_KB=K in the environment: before every request of either side,
 * K KB are written and read, evicting caches as the server and other
 * processes do between two requests on a busy machine. For cg_split.sh's
 * cold mode (callgrind's cache simulation with a last-level cache smaller
 * than K: the misses it counts per request are then the lines a request
 * touches from memory, the same every run); the eviction's CPU is in both
 * sides' time, so the printed ratios are not meant to be read with it. */
static void floor_evict(void) {
  static unsigned char *buf;
  static size_t bytes;
  static bool checked;
  static unsigned char v;
  if (!checked) {
    checked = true;
    const char *e = getenv("FLOOR_EVICT_KB");
    bytes = e ? (size_t)strtoul(e, NULL, 10) << 10 : 0;
    if (bytes && !(buf = malloc(bytes))) die("out of memory");
  }
  if (!bytes) return;
  v++;
  for (size_t i = 0; i < bytes; i += 64) buf[i] = (unsigned char)(v + i);
  unsigned s = 0;
  for (size_t i = 0; i < bytes; i += 64) s += buf[i];
  if (s == 1) v++; /* the reads are used */
}

static void floor_paired(const char *who, const char *name, void (*op)(void *), void *arg, floor_req *f,
                         void (*fop)(floor_req *), long warmup, long n) {
  for (long i = 0; i < warmup; i++) {
    floor_evict();
    op(arg);
    floor_evict();
    fop(f);
  }
  double wall[2] = {0, 0}, cpu[2] = {0, 0};
  for (long done = 0; done < n; done += FLOOR_BLOCK) {
    long k = n - done < FLOOR_BLOCK ? n - done : FLOOR_BLOCK;
    for (int side = 0; side < 2; side++) {
      double t0 = now_s(), c0 = cpu_s();
      for (long i = 0; i < k; i++) {
        floor_evict();
        if (side == 0) op(arg);
        else fop(f);
      }
      wall[side] += now_s() - t0;
      cpu[side] += cpu_s() - c0;
    }
  }
  printf("%s %s: %.0f ops/s, client cpu %.1f us/op, n=%ld\n", who, name, n / wall[0], cpu[0] / n * 1e6, n);
  printf("libcurl %s: %.0f ops/s, client cpu %.1f us/op, n=%ld\n", name, n / wall[1], cpu[1] / n * 1e6, n);
  printf("%s/libcurl %s: client cpu ratio %.2f, n=%ld\n", who, name, cpu[0] / cpu[1], n);
  fflush(stdout);
}

/* Bare libcurl alone (no libdorm requests between), for profiling the
 * floor by itself: "libcurl <name>: ..." in the peers' format. */
__attribute__((unused)) static void floor_alone(const char *name, floor_req *f, void (*fop)(floor_req *), long warmup, long n) {
  for (long i = 0; i < warmup; i++) fop(f);
  double t0 = now_s(), c0 = cpu_s();
  for (long i = 0; i < n; i++) fop(f);
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  printf("libcurl %s: %.0f ops/s, client cpu %.1f us/op, n=%ld\n", name, n / wall, cpu / n * 1e6, n);
  fflush(stdout);
}

#endif
