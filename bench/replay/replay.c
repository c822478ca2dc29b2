/* dorm-bench-replay: the ceiling of a DynamoDB endpoint as seen from one
 * client connection. It builds one PutItem and one GetItem request for the
 * shared benchmark item (bench/item.json) once, then sends the same bytes N
 * times over one kept-alive TCP connection (blocking sockets, responses read
 * by Content-Length) and prints ops/s and the client's CPU per op:
 *
 *   replay put: 1234 ops/s, client cpu 12.3 us/op, n=5000
 *   replay get: 1500 ops/s, client cpu 10.1 us/op, n=5000
 *
 * No signing, no JSON work, no allocation in the loop: whatever a real client
 * adds on top of these numbers is its own cost.
 *
 * With --bulk N it measures the bulk-write ceiling instead: N copies of the
 * item (pk "BULK#<8 digits>", everything else as in the file) written with
 * BatchWriteItem, 25 items a request, over --concurrency C kept-alive
 * connections (default 16: one thread each, blocking sockets), each request's
 * bytes assembled with memcpy from pre-printed pieces:
 *
 *   replay bulk-write: 1234 items/s, client cpu 1.2 us/item, n=100000
 *
 * The bulk benchmarks of libdorm (bench/bulk_bench.c) and of the JS SDK
 * (bench/node/bulk_write.js) write the same items to the same table
 * (--bulk-table, default dorm_bench_bulk). DynamoDB Local does not check
 * signatures, so a fixed, well-formed Authorization header is sent. The table
 * is created (CreateTable over the same socket) when it does not exist.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef DORM_BENCH_ITEM
#define DORM_BENCH_ITEM "bench/item.json"
#endif

typedef struct conn {
  int fd;
  char host[300];
  char *buf; /* response bytes */
  size_t len, cap;
  size_t used; /* bytes of the last response, dropped on the next read */
} conn;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dorm-bench-replay: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s: %s", path, strerror(errno));
  size_t cap = 8192, n = 0;
  char *s = malloc(cap);
  size_t got;
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

static void conn_open(conn *c, const char *endpoint) {
  if (strncmp(endpoint, "http://", 7) != 0) die("--endpoint: expected http://HOST:PORT, got '%s'", endpoint);
  const char *hp = endpoint + 7;
  size_t hl = strcspn(hp, "/");
  if (hl == 0 || hl >= sizeof c->host) die("--endpoint: expected http://HOST:PORT, got '%s'", endpoint);
  memcpy(c->host, hp, hl);
  c->host[hl] = '\0';
  char host[300];
  strcpy(host, c->host);
  char *colon = strrchr(host, ':');
  if (!colon || host[0] == '[') die("--endpoint: expected http://HOST:PORT (IPv4 or a name), got '%s'", endpoint);
  *colon = '\0';
  struct addrinfo hints = {0}, *res;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, colon + 1, &hints, &res);
  if (rc != 0) die("cannot resolve %s: %s", c->host, gai_strerror(rc));
  c->fd = socket(res->ai_family, SOCK_STREAM, 0);
  if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) != 0)
    die("cannot connect to %s: %s", c->host, strerror(errno));
  freeaddrinfo(res);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->cap = 1 << 16;
  c->buf = malloc(c->cap);
  if (!c->buf) die("out of memory");
}

static void send_all(conn *c, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) die("send to %s: %s", c->host, k < 0 ? strerror(errno) : "connection closed");
    p += k;
    n -= (size_t)k;
  }
}

static void fill(conn *c) {
  if (c->cap - c->len < 4096) {
    char *b = realloc(c->buf, c->cap * 2);
    if (!b) die("out of memory");
    c->buf = b;
    c->cap *= 2;
  }
  ssize_t k;
  do k = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
  while (k < 0 && errno == EINTR);
  if (k <= 0) die("reading from %s: %s", c->host, k < 0 ? strerror(errno) : "connection closed by the server");
  c->len += (size_t)k;
  c->buf[c->len] = '\0';
}

/* Reads one response. Returns its status; body and body_len (if not NULL) get
 * the body, valid until the next call. */
static int read_response(conn *c, const char **body, size_t *body_len) {
  char *end;
  memmove(c->buf, c->buf + c->used, c->len - c->used);
  c->len -= c->used;
  c->used = 0;
  c->buf[c->len] = '\0';
  while (!(end = strstr(c->buf, "\r\n\r\n"))) fill(c);
  size_t head = (size_t)(end + 4 - c->buf);
  long long cl = -1;
  for (char *p = c->buf; p < end; p++) {
    if (p[0] == '\n' && strncasecmp(p + 1, "content-length:", 15) == 0) {
      cl = strtoll(p + 16, NULL, 10);
      break;
    }
  }
  if (cl < 0) die("response from %s has no Content-Length", c->host);
  while (c->len < head + (size_t)cl) fill(c);
  int status = atoi(c->buf + 9);
  if (body) *body = c->buf + head;
  if (body_len) *body_len = (size_t)cl;
  c->used = head + (size_t)cl;
  return status;
}

/* The whole request as bytes on the wire. */
static char *build_request(const conn *c, const char *op, const char *body, size_t *len) {
  static const char fmt[] =
      "POST / HTTP/1.1\r\n"
      "Host: %s\r\n"
      "Content-Type: application/x-amz-json-1.0\r\n"
      "X-Amz-Target: DynamoDB_20120810.%s\r\n"
      "X-Amz-Date: 20240101T000000Z\r\n"
      "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7\r\n"
      "Content-Length: %zu\r\n"
      "\r\n"
      "%s";
  int n = snprintf(NULL, 0, fmt, c->host, op, strlen(body), body);
  char *s = malloc((size_t)n + 1);
  if (!s) die("out of memory");
  snprintf(s, (size_t)n + 1, fmt, c->host, op, strlen(body), body);
  *len = (size_t)n;
  return s;
}

static bool contains(const char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return true;
  return false;
}

static char *print_json(cJSON *j) {
  char *s = cJSON_PrintUnformatted(j);
  if (!s) die("out of memory");
  return s;
}

/* The key attribute's type letter (S, N or B) from the item. */
static const char *key_type(const cJSON *item, const char *name) {
  const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, name);
  if (!cJSON_IsObject(av) || !av->child) die("item.json: the item has no key attribute '%s'", name);
  const char *t = av->child->string;
  if (strcmp(t, "S") && strcmp(t, "N") && strcmp(t, "B")) die("item.json: key '%s' has type %s", name, t);
  return t;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static void run(conn *c, const char *name, const char *req, size_t req_len, long warmup, long n) {
  for (long i = 0; i < warmup; i++) {
    send_all(c, req, req_len);
    int st = read_response(c, NULL, NULL);
    if (st != 200) die("%s: HTTP %d during warm-up", name, st);
  }
  double t0 = now_s(), c0 = cpu_s();
  for (long i = 0; i < n; i++) {
    send_all(c, req, req_len);
    int st = read_response(c, NULL, NULL);
    if (st != 200) die("%s: HTTP %d", name, st);
  }
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  printf("replay %s: %.0f ops/s, client cpu %.1f us/op, n=%ld\n", name, n / wall, cpu / n * 1e6, n);
  fflush(stdout);
}


/* ---- bulk write over C connections ---- */

#define BULK_CHUNK 25

typedef struct bulk {
  const char *endpoint, *table, *hk;
  const char *rest;      /* the item without its hash key, after the '{' */
  long items;
  atomic_long next;      /* next request number to send */
  atomic_long unprocessed;
} bulk;

static void *bulk_worker(void *arg) {
  bulk *b = arg;
  conn c = {0};
  conn_open(&c, b->endpoint);
  size_t rest_len = strlen(b->rest), cap = 256 + BULK_CHUNK * (rest_len + 96);
  char *body = malloc(cap), *req = malloc(cap + 1024);
  if (!body || !req) die("out of memory");
  long nreq = (b->items + BULK_CHUNK - 1) / BULK_CHUNK;
  for (;;) {
    long r = atomic_fetch_add(&b->next, 1);
    if (r >= nreq) break;
    size_t n = (size_t)snprintf(body, cap, "{\"RequestItems\":{\"%s\":[", b->table);
    for (long i = r * BULK_CHUNK; i < (r + 1) * BULK_CHUNK && i < b->items; i++) {
      n += (size_t)snprintf(body + n, cap - n, "%s{\"PutRequest\":{\"Item\":{\"%s\":{\"S\":\"BULK#%08ld\"},",
                            i == r * BULK_CHUNK ? "" : ",", b->hk, i);
      memcpy(body + n, b->rest, rest_len);
      n += rest_len;
      memcpy(body + n, "}}", 2);
      n += 2;
    }
    memcpy(body + n, "]}}", 4);
    n += 3;
    int h = snprintf(req, 1024,
                     "POST / HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Content-Type: application/x-amz-json-1.0\r\n"
                     "X-Amz-Target: DynamoDB_20120810.BatchWriteItem\r\n"
                     "X-Amz-Date: 20240101T000000Z\r\n"
                     "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                     "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n",
                     c.host, n);
    memcpy(req + h, body, n);
    send_all(&c, req, (size_t)h + n);
    const char *rb;
    size_t rl;
    int st = read_response(&c, &rb, &rl);
    if (st != 200) die("BatchWriteItem: HTTP %d: %.*s", st, (int)rl, rb);
    if (!contains(rb, rl, "\"UnprocessedItems\":{}")) atomic_fetch_add(&b->unprocessed, 1);
  }
  close(c.fd);
  free(c.buf);
  free(body);
  free(req);
  return NULL;
}

static void run_bulk(const char *endpoint, const char *table, const char *hk, cJSON *item, long items,
                     long concurrency, const char *create_fmt_body) {
  conn c = {0};
  conn_open(&c, endpoint);
  size_t cl;
  char *create_req = build_request(&c, "CreateTable", create_fmt_body, &cl);
  send_all(&c, create_req, cl);
  const char *body;
  size_t body_len;
  int st = read_response(&c, &body, &body_len);
  if (st != 200 && !(st == 400 && contains(body, body_len, "ResourceInUseException")))
    die("CreateTable %s: HTTP %d: %.*s", table, st, (int)body_len, body);
  close(c.fd);
  free(c.buf);
  free(create_req);

  cJSON *copy = cJSON_Duplicate(item, 1);
  if (!copy) die("out of memory");
  cJSON_DeleteItemFromObjectCaseSensitive(copy, hk);
  char *rest = print_json(copy);
  cJSON_Delete(copy);
  if (rest[0] != '{' || rest[1] == '}') die("item.json: the item has nothing besides its hash key");
  bulk b = {.endpoint = endpoint, .table = table, .hk = hk, .rest = rest + 1, .items = items};
  atomic_init(&b.next, 0);
  atomic_init(&b.unprocessed, 0);
  /* rest + 1 ends with the item's closing '}', which closes "Item". */
  pthread_t th[256];
  double t0 = now_s(), c0 = cpu_s();
  for (long i = 0; i < concurrency; i++)
    if (pthread_create(&th[i], NULL, bulk_worker, &b) != 0) die("cannot start a thread");
  for (long i = 0; i < concurrency; i++) pthread_join(th[i], NULL);
  double wall = now_s() - t0, cpu = cpu_s() - c0;
  if (atomic_load(&b.unprocessed))
    fprintf(stderr, "dorm-bench-replay: %ld answers had UnprocessedItems (not resent)\n", atomic_load(&b.unprocessed));
  printf("replay bulk-write: %.0f items/s, client cpu %.2f us/item, n=%ld\n", items / wall, cpu / items * 1e6, items);
  fflush(stdout);
  free(rest);
}

static long parse_count(const char *name, const char *v, long min) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (end == v || *end || errno || n < min || n > 100000000L) die("%s: expected a whole number >= %ld, got '%s'", name, min, v);
  return n;
}

int main(int argc, char **argv) {
  const char *endpoint = getenv("DORM_TEST_ENDPOINT"), *item_path = DORM_BENCH_ITEM, *table_opt = NULL;
  long n = 5000, warmup = -1, bulk_items = 0, concurrency = 16;
  const char *bulk_table = "dorm_bench_bulk";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      printf("usage: dorm-bench-replay [--endpoint http://HOST:PORT] [--n N] [--warmup N] [--item FILE] [--table NAME]\n"
             "  --endpoint  DynamoDB endpoint (default: $DORM_TEST_ENDPOINT)\n"
             "  --n         timed requests per operation (default 5000)\n"
             "  --warmup    untimed requests first (default n/10, at most 1000)\n"
             "  --item      the benchmark item (default %s)\n"
             "  --table     table name (default: the item file's \"table\")\n"
             "  --bulk N    measure the bulk-write ceiling instead: N items, BatchWriteItem of 25\n"
             "  --concurrency C  connections (requests in flight) for --bulk (default 16)\n"
             "  --bulk-table NAME  table for --bulk (default dorm_bench_bulk)\n",
             DORM_BENCH_ITEM);
      return 0;
    }
    if (i + 1 >= argc) die("%s: missing value (see --help)", a);
    const char *v = argv[++i];
    if (!strcmp(a, "--endpoint")) endpoint = v;
    else if (!strcmp(a, "--n")) n = parse_count(a, v, 1);
    else if (!strcmp(a, "--warmup")) warmup = parse_count(a, v, 0);
    else if (!strcmp(a, "--item")) item_path = v;
    else if (!strcmp(a, "--table")) table_opt = v;
    else if (!strcmp(a, "--bulk")) bulk_items = parse_count(a, v, 1);
    else if (!strcmp(a, "--concurrency")) concurrency = parse_count(a, v, 1);
    else if (!strcmp(a, "--bulk-table")) bulk_table = v;
    else die("unknown option '%s' (see --help)", a);
  }
  if (!endpoint || !*endpoint) die("no endpoint: pass --endpoint or set DORM_TEST_ENDPOINT");
  if (warmup < 0) warmup = n / 10 < 1000 ? n / 10 : 1000;

  char *text = read_file(item_path);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  if (!doc) die("%s: not valid JSON", item_path);
  const cJSON *jt = cJSON_GetObjectItemCaseSensitive(doc, "table");
  const cJSON *jh = cJSON_GetObjectItemCaseSensitive(doc, "hash_key");
  const cJSON *jr = cJSON_GetObjectItemCaseSensitive(doc, "range_key");
  cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, "item");
  if (!cJSON_IsString(jt) || !cJSON_IsString(jh) || !cJSON_IsObject(item))
    die("%s: expected {\"table\", \"hash_key\", [\"range_key\"], \"item\"}", item_path);
  if (concurrency > 256) die("--concurrency: at most 256");
  const char *table = bulk_items ? bulk_table : table_opt ? table_opt : jt->valuestring;
  const char *hk = jh->valuestring, *rk = cJSON_IsString(jr) ? jr->valuestring : NULL;

  conn c = {0};
  if (!bulk_items) conn_open(&c, endpoint);

  /* CreateTable (if needed), PutItem and GetItem bodies, built once. */
  cJSON *create = cJSON_CreateObject(), *defs = cJSON_AddArrayToObject(create, "AttributeDefinitions");
  cJSON *schema = cJSON_AddArrayToObject(create, "KeySchema");
  cJSON_AddStringToObject(create, "TableName", table);
  cJSON *get = cJSON_CreateObject(), *key = cJSON_CreateObject();
  cJSON_AddStringToObject(get, "TableName", table);
  const char *keys[2] = {hk, rk};
  for (int k = 0; k < 2 && keys[k]; k++) {
    cJSON *d = cJSON_CreateObject(), *s = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "AttributeName", keys[k]);
    cJSON_AddStringToObject(d, "AttributeType", key_type(item, keys[k]));
    cJSON_AddItemToArray(defs, d);
    cJSON_AddStringToObject(s, "AttributeName", keys[k]);
    cJSON_AddStringToObject(s, "KeyType", k == 0 ? "HASH" : "RANGE");
    cJSON_AddItemToArray(schema, s);
    cJSON_AddItemToObject(key, keys[k], cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(item, keys[k]), 1));
  }
  cJSON_AddStringToObject(create, "BillingMode", "PAY_PER_REQUEST");
  cJSON_AddItemToObject(get, "Key", key);
  cJSON *put = cJSON_CreateObject();
  cJSON_AddStringToObject(put, "TableName", table);
  cJSON_AddItemReferenceToObject(put, "Item", item);
  char *create_body = print_json(create), *put_body = print_json(put), *get_body = print_json(get);
  cJSON_Delete(create);
  cJSON_Delete(get);
  cJSON_Delete(put);

  if (bulk_items) {
    run_bulk(endpoint, table, hk, item, bulk_items, concurrency, create_body);
    free(create_body);
    free(put_body);
    free(get_body);
    cJSON_Delete(doc);
    return 0;
  }
  size_t create_len, put_len, get_len;
  char *create_req = build_request(&c, "CreateTable", create_body, &create_len);
  char *put_req = build_request(&c, "PutItem", put_body, &put_len);
  char *get_req = build_request(&c, "GetItem", get_body, &get_len);

  const char *body;
  size_t body_len;
  send_all(&c, create_req, create_len);
  int st = read_response(&c, &body, &body_len);
  if (st != 200 && !(st == 400 && contains(body, body_len, "ResourceInUseException")))
    die("CreateTable %s: HTTP %d: %.*s", table, st, (int)body_len, body);

  /* Put once and read it back, so the get loop measures a hit. */
  send_all(&c, put_req, put_len);
  st = read_response(&c, &body, &body_len);
  if (st != 200) die("PutItem: HTTP %d: %.*s", st, (int)body_len, body);
  send_all(&c, get_req, get_len);
  st = read_response(&c, &body, &body_len);
  if (st != 200 || !contains(body, body_len, "\"Item\"")) die("GetItem did not return the item: HTTP %d: %.*s", st, (int)body_len, body);

  fprintf(stderr, "dorm-bench-replay: %s, PutItem request %zu bytes (body %zu), GetItem request %zu bytes\n", c.host,
          put_len, strlen(put_body), get_len);
  run(&c, "put", put_req, put_len, warmup, n);
  run(&c, "get", get_req, get_len, warmup, n);

  close(c.fd);
  free(c.buf);
  free(create_body);
  free(put_body);
  free(get_body);
  free(create_req);
  free(put_req);
  free(get_req);
  cJSON_Delete(doc);
  return 0;
}
