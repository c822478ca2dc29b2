#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core_internal.h"
#include "crc32.h"

#define HTTP_MAX_HEADERS 24

struct dorm_http {
  CURL *curl;
  dorm_http_options opts;
  /* The response body, bounded at max_response_bytes with its NUL; reused
   * across requests so a warm client does not allocate per response. */
  dorm__buf body;
  dorm_http_response *resp; /* filled by the header callback during a request */
  /* curl reads the header list during the transfer only; these nodes point at
   * the caller's strings, so sending headers costs no allocation. */
  struct curl_slist nodes[HTTP_MAX_HEADERS + 1];
  char curl_err[CURL_ERROR_SIZE];
  long connects; /* new connections over the transport's life */
  char *url;     /* the URL last given to curl (a client always posts to one) */
  int sends;     /* times curl was about to send the current request */
};

DORM__HOT
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
  dorm_http *h = userp;
  size_t n = size * nmemb;
  return dorm__buf_put(&h->body, data, n) ? n : 0; /* 0 makes curl abort with CURLE_WRITE_ERROR */
}

/* Copies a header's value (trimmed) when its name matches. The name is
 * compared as sent by DynamoDB first (a memcmp of a literal's length is a few
 * inlined compares), then without case: names are case-insensitive. */
#define header_value(line, n, lit, val, vlen) header_value_n(line, n, lit, sizeof(lit) - 1, val, vlen)
static inline bool header_value_n(const char *line, size_t n, const char *name, size_t nl, const char **val,
                                  size_t *vlen) {
  if (n <= nl || line[nl] != ':' || (memcmp(line, name, nl) != 0 && strncasecmp(line, name, nl) != 0))
    return false;
  const char *v = line + nl + 1, *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  *val = v;
  *vlen = (size_t)(end - v);
  return true;
}

DORM__HOT
static size_t on_header(char *line, size_t size, size_t nmemb, void *userp) {
  dorm_http *h = userp;
  size_t n = size * nmemb;
  const char *v;
  size_t vlen;
  if (n == 0 || (line[0] | 0x20) != 'x') return n; /* the status line and the other headers */
  if (header_value(line, n, "x-amzn-RequestId", &v, &vlen)) {
    if (vlen >= sizeof h->resp->request_id) vlen = sizeof h->resp->request_id - 1;
    memcpy(h->resp->request_id, v, vlen);
    h->resp->request_id[vlen] = '\0';
  } else if (header_value(line, n, "x-amz-crc32", &v, &vlen)) {
    char tmp[24];
    char *endp = tmp;
    unsigned long long c = 0;
    if (vlen > 0 && vlen < sizeof tmp) {
      memcpy(tmp, v, vlen);
      tmp[vlen] = '\0';
      c = strtoull(tmp, &endp, 10);
    }
    h->resp->has_crc32 = true;
    /* A value that is not a 32-bit decimal can match no body. */
    h->resp->crc32_valid = vlen > 0 && vlen < sizeof tmp && *endp == '\0' && c <= 0xffffffffULL;
    h->resp->crc32 = (unsigned long)c;
  }
  return n;
}

#if LIBCURL_VERSION_NUM >= 0x075000 /* CURLOPT_PREREQFUNCTION: 7.80.0 */
/* libcurl resends a request by itself when a reused connection dies before
 * any response byte arrives, even a POST that the server may already have
 * applied (it cannot tell a stale keep-alive connection from a lost answer).
 * Such a resend bypasses the retry policy: it happens with max_attempts 1,
 * is not counted, waits no backoff, takes no quota. So the second send of
 * one request is refused here, and the caller's policy decides. */
DORM__HOT
static int on_prereq(void *userp, char *remote_ip, char *local_ip, int remote_port, int local_port) {
  (void)remote_ip;
  (void)local_ip;
  (void)remote_port;
  (void)local_port;
  dorm_http *h = userp;
  return ++h->sends > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}
#endif

/* True when any environment variable libcurl may take a proxy from is set
 * (7.88 reads <scheme>_proxy, HTTPS_PROXY, all_proxy and ALL_PROXY; the
 * uppercase HTTP_PROXY is checked too, to be safe). */
static bool proxy_in_environment(void) {
  static const char *const names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                      "ALL_PROXY"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (getenv(names[i])) return true;
  return false;
}

dorm_http *dorm__http_new(const dorm_http_options *opts) {
  dorm_http *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  if (opts) h->opts = *opts;
  if (h->opts.connect_timeout_ms <= 0) h->opts.connect_timeout_ms = 3000;
  if (h->opts.request_timeout_ms <= 0) h->opts.request_timeout_ms = 30000;
  if (h->opts.max_response_bytes == 0) h->opts.max_response_bytes = (size_t)64 << 20;
  dorm__buf_init(&h->body, h->opts.max_response_bytes - 1);
  h->curl = curl_easy_init();
  if (!h->curl) {
    free(h);
    return NULL;
  }
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->opts.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.request_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string form; the bitmask one is deprecated there */
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->opts.max_response_bytes);
  /* Without CURLOPT_PROXY, libcurl looks for a proxy in the environment on
   * every request (several getenv scans of the whole environment and URL
   * work), and for no_proxy too. The environment is read once here instead:
   * with no proxy variable set, "" tells curl there is no proxy and no
   * exception list; with any set, curl's own detection (its rules, no_proxy
   * included) stays in charge, per request as before. */
  if (!proxy_in_environment()) {
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "");
  }
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
  curl_easy_setopt(c, CURLOPT_PREREQDATA, h);
#endif
  return h;
}

void dorm__http_free(dorm_http *h) {
  if (!h) return;
  curl_easy_cleanup(h->curl);
  dorm__buf_free(&h->body);
  free(h->url);
  free(h);
}

const char *dorm__http_last_body(const dorm_http *h, size_t *len) {
  if (len) *len = h->body.len;
  return dorm__buf_text(&h->body);
}

long dorm__http_connections_opened(const dorm_http *h) {
  return h->connects;
}

static dorm_status map_curl_error(CURLcode rc, bool too_large) {
  if (too_large) return DORM_ERR_BAD_RESPONSE;
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT: return DORM_ERR_TIMEOUT;
  case CURLE_OUT_OF_MEMORY: return DORM_ERR_NO_MEMORY;
  case CURLE_FILESIZE_EXCEEDED: return DORM_ERR_BAD_RESPONSE;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL: return DORM_ERR_CONFIG;
  default: return DORM_ERR_NETWORK;
  }
}

DORM__HOT
dorm_status dorm__http_start(dorm_http *h, const char *url, const char *const *headers, size_t nheaders,
                             const char *body, size_t body_len, dorm_http_response *resp, char *errbuf,
                             size_t errcap) {
  if (nheaders > HTTP_MAX_HEADERS) {
    snprintf(errbuf, errcap, "too many request headers (%zu)", nheaders);
    return DORM_ERR_INVALID_ARGUMENT;
  }
  memset(resp, 0, sizeof *resp);
  h->resp = resp;
  dorm__buf_reset(&h->body);
  h->curl_err[0] = '\0';
  h->sends = 0;

  size_t k = 0;
  for (size_t i = 0; i < nheaders; i++, k++) {
    h->nodes[k].data = (char *)headers[i];
    h->nodes[k].next = &h->nodes[k + 1];
  }
  /* An empty "Expect:" stops curl from waiting for 100-continue on bodies
   * over 1 KiB, which would cost a round trip per request. */
  h->nodes[k].data = (char *)"Expect:";
  h->nodes[k].next = NULL;

  CURL *c = h->curl;
  /* curl copies the URL on every CURLOPT_URL; the endpoint does not change. */
  if (!h->url || strcmp(h->url, url) != 0) {
    char *copy = strdup(url);
    if (!copy) {
      snprintf(errbuf, errcap, "out of memory");
      return DORM_ERR_NO_MEMORY;
    }
    if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK) {
      free(copy);
      snprintf(errbuf, errcap, "libcurl refused the URL %s", url);
      return DORM_ERR_CONFIG;
    }
    free(h->url);
    h->url = copy;
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->nodes);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  return DORM_OK;
}

void *dorm__http_easy(dorm_http *h) { return h->curl; }

DORM__HOT
dorm_status dorm__http_finish(dorm_http *h, int curl_code, dorm_http_response *resp, char *errbuf,
                              size_t errcap) {
  CURLcode rc = (CURLcode)curl_code;
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  long fresh = 0;
  if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &fresh) == CURLE_OK) h->connects += fresh;
  h->resp = NULL;
  if (rc != CURLE_OK) {
    dorm_status st = map_curl_error(rc, h->body.overflow);
    if (rc == CURLE_ABORTED_BY_CALLBACK && h->sends > 1)
      snprintf(errbuf, errcap, "the connection closed after the request was sent, before any response "
                               "(the request may have been applied)");
    else if (h->body.overflow)
      snprintf(errbuf, errcap, "response larger than %zu bytes", h->opts.max_response_bytes);
    else
      snprintf(errbuf, errcap, "%s: %s", curl_easy_strerror(rc), h->curl_err[0] ? h->curl_err : "no detail");
    resp->status = 0;
    return st;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
  if (!dorm__buf_reserve(&h->body, 0)) return DORM_ERR_NO_MEMORY; /* the NUL of an empty body */
  resp->body = h->body.p;
  resp->body_len = h->body.len;
  if (resp->has_crc32) {
    unsigned long crc = dorm__crc32(h->body.p, h->body.len);
    if (!resp->crc32_valid || crc != resp->crc32) {
      resp->crc_mismatch = true;
      snprintf(errbuf, errcap, "response CRC32 mismatch (x-amz-crc32 %lu, body %lu, %zu bytes)",
               resp->crc32, crc, h->body.len);
      return DORM_ERR_BAD_RESPONSE;
    }
  }
  return DORM_OK;
}

DORM__HOT
dorm_status dorm__http_post(dorm_http *h, const char *url, const char *const *headers,
                           size_t nheaders, const char *body, size_t body_len,
                           dorm_http_response *resp, char *errbuf, size_t errcap) {
  dorm_status st = dorm__http_start(h, url, headers, nheaders, body, body_len, resp, errbuf, errcap);
  if (st != DORM_OK) return st;
  CURLcode rc = curl_easy_perform(h->curl);
  return dorm__http_finish(h, (int)rc, resp, errbuf, errcap);
}
