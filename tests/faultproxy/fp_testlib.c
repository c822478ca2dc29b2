#include "fp_testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

long long tl_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tl_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

unsigned long tl_crc32(const char *data, size_t n) {
  return crc32(crc32(0L, Z_NULL, 0), (const Bytef *)data, (uInt)n);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  tl_resp *r = ud;
  size_t add = size * n;
  char *d = realloc(r->body, r->body_len + add + 1);
  if (!d) return 0;
  memcpy(d + r->body_len, p, add);
  r->body_len += add;
  d[r->body_len] = '\0';
  r->body = d;
  return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  tl_resp *r = ud;
  size_t len = size * n;
  if (len > 12 && strncasecmp(p, "x-amz-crc32:", 12) == 0) {
    r->has_crc = true;
    r->crc = strtoul(p + 12, NULL, 10);
  } else if (len > 18 && strncasecmp(p, "x-dorm-faultproxy:", 18) == 0) {
    const char *v = p + 18;
    while (*v == ' ') v++;
    size_t k = 0;
    while (k + 1 < sizeof r->fault && v + k < p + len && v[k] != '\r' && v[k] != '\n') {
      r->fault[k] = v[k];
      k++;
    }
    r->fault[k] = '\0';
  } else if (len > 15 && strncasecmp(p, "content-length:", 15) == 0) {
    r->content_length = strtoll(p + 15, NULL, 10);
  }
  return len;
}

CURL *tl_handle(void) {
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  return h;
}

void tl_call(CURL *h, const char *endpoint, const char *op, const char *json, long timeout_ms, tl_resp *out) {
  memset(out, 0, sizeof *out);
  out->content_length = -1;
  out->body = calloc(1, 1);
  char target[128], url[256];
  snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", op);
  snprintf(url, sizeof url, "%s/", endpoint);
  struct curl_slist *hd = NULL;
  hd = curl_slist_append(hd, target);
  hd = curl_slist_append(hd, "Content-Type: application/x-amz-json-1.0");
  hd = curl_slist_append(hd, "X-Amz-Date: 20240101T000000Z");
  hd = curl_slist_append(hd,
                         "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/"
                         "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                         "Signature=0000000000000000000000000000000000000000000000000000000000000000");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
  out->cc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->new_connections);
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &out->seconds);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hd);
}

void tl_call1(const char *endpoint, const char *op, const char *json, long timeout_ms, tl_resp *out) {
  CURL *h = tl_handle();
  tl_call(h, endpoint, op, json, timeout_ms, out);
  curl_easy_cleanup(h);
}

void tl_resp_free(tl_resp *r) {
  free(r->body);
  r->body = NULL;
}

bool tl_crc_matches(const tl_resp *r) { return r->has_crc && r->crc == tl_crc32(r->body, r->body_len); }

int tl_create_table(const char *endpoint, const char *table) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"TableName\":\"%s\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],"
           "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}",
           table);
  tl_resp r;
  tl_call1(endpoint, "CreateTable", json, 0, &r);
  int ok = r.cc == CURLE_OK && (r.status == 200 || strstr(r.body, "ResourceInUseException"));
  if (!ok) fprintf(stderr, "CreateTable %s: curl %d, HTTP %ld: %s\n", table, r.cc, r.status, r.body);
  tl_resp_free(&r);
  return ok ? 0 : -1;
}

void tl_put(CURL *h, const char *endpoint, const char *table, const char *key, tl_resp *out) {
  char json[512];
  snprintf(json, sizeof json, "{\"TableName\":\"%s\",\"Item\":{\"pk\":{\"S\":\"%s\"},\"v\":{\"S\":\"value of %s\"}}}",
           table, key, key);
  tl_call(h, endpoint, "PutItem", json, 0, out);
}

bool tl_item_exists(const char *endpoint, const char *table, const char *key) {
  char json[512];
  snprintf(json, sizeof json, "{\"TableName\":\"%s\",\"Key\":{\"pk\":{\"S\":\"%s\"}},\"ConsistentRead\":true}", table,
           key);
  tl_resp r;
  tl_call1(endpoint, "GetItem", json, 0, &r);
  bool found = r.cc == CURLE_OK && r.status == 200 && strstr(r.body, "\"Item\"") != NULL;
  if (r.cc != CURLE_OK || r.status != 200) fprintf(stderr, "GetItem %s: curl %d, HTTP %ld\n", key, r.cc, r.status);
  tl_resp_free(&r);
  return found;
}

int tl_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int tl_send_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Waits for fd to be readable; false on timeout. */
static bool wait_readable(int fd, long long deadline) {
  for (;;) {
    long long left = deadline - tl_now_ms();
    if (left <= 0) return false;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true; /* let recv report it */
  }
}

char *tl_read_until_close(int fd, long timeout_ms, size_t *len, int *how) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  long long deadline = tl_now_ms() + timeout_ms;
  *how = 2;
  while (buf) {
    if (!wait_readable(fd, deadline)) break;
    if (cap - n < 2048) {
      char *b = realloc(buf, cap * 2);
      if (!b) break;
      buf = b;
      cap *= 2;
    }
    ssize_t k = recv(fd, buf + n, cap - n - 1, 0);
    if (k > 0) {
      n += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    *how = k == 0 ? 0 : 1;
    break;
  }
  if (buf) buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* The value after "\r\ncontent-length:" (any case) inside [buf, end), or -1. */
static long long find_content_length(const char *buf, const char *end) {
  for (const char *p = buf; p + 17 <= end; p++) {
    if (p[0] == '\r' && p[1] == '\n' && strncasecmp(p + 2, "content-length:", 15) == 0) return strtoll(p + 17, NULL, 10);
  }
  return -1;
}

char *tl_read_response(int fd, long timeout_ms, size_t *len) {
  size_t cap = 8192, n = 0;
  char *buf = malloc(cap);
  long long deadline = tl_now_ms() + timeout_ms;
  long long need = -1;
  while (buf) {
    char *end = n ? strstr(buf, "\r\n\r\n") : NULL;
    if (end && need < 0) {
      size_t head = (size_t)(end + 4 - buf);
      long long body = find_content_length(buf, end);
      if (body < 0) body = 0;
      need = (long long)head + body;
    }
    if (need >= 0 && (long long)n >= need) break;
    if (!wait_readable(fd, deadline)) goto fail;
    if (cap - n < 2048) {
      char *b = realloc(buf, cap * 2);
      if (!b) goto fail;
      buf = b;
      cap *= 2;
    }
    /* Read no further than this response so a pipelined next one stays queued. */
    size_t want = cap - n - 1;
    if (need >= 0 && (size_t)(need - (long long)n) < want) want = (size_t)(need - (long long)n);
    if (need < 0) want = 1; /* byte by byte until the head is known */
    ssize_t k = recv(fd, buf + n, want, 0);
    if (k <= 0) {
      if (k < 0 && errno == EINTR) continue;
      goto fail;
    }
    n += (size_t)k;
    buf[n] = '\0';
  }
  if (!buf) return NULL;
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
fail:
  free(buf);
  return NULL;
}

char *tl_request_text(int port, const char *op, const char *json) {
  size_t n = strlen(json) + 512;
  char *s = malloc(n);
  if (!s) return NULL;
  snprintf(s, n,
           "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
           "Content-Type: application/x-amz-json-1.0\r\n"
           "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/aws4_request, "
           "SignedHeaders=host, Signature=00\r\nContent-Length: %zu\r\n\r\n%s",
           port, op, strlen(json), json);
  return s;
}
