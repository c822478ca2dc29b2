/* delivery: API Gateway's management API, both sides.
 *
 * Client: POST {server}/@connections/{id} with the message as the body,
 * signed with SigV4 for service execute-api, exactly as a processor on AWS
 * posts to https://{domain}/{stage}/@connections/{id}. 410 means the
 * connection is gone.
 *
 * Server: the local server answers the same API for its own connections and
 * verifies the signature with the credentials it has itself (local mode: the
 * processes of one deployment share them). */
#include "streamer_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define REGION_FALLBACK "us-east-1"

typedef struct delivery_conn {
  CURL *curl;
  /* the SDKs' standard retry policy (retry.c): jittered backoff, 1 s base
   * for 429, a retry quota per thread as per client */
  dorm_retry_policy retry;
  bool retry_ready;
} delivery_conn;

static _Thread_local delivery_conn tl_conn;

static size_t discard(char *p, size_t size, size_t n, void *user) {
  (void)p;
  (void)user;
  return size * n;
}

/* Splits "http://host:port/base" into host[:port] and the base path. */
static bool split_url(const char *url, char *host, size_t hcap, char *base, size_t bcap) {
  const char *p = strstr(url, "://");
  if (!p) return false;
  p += 3;
  const char *slash = strchr(p, '/');
  size_t hl = slash ? (size_t)(slash - p) : strlen(p);
  if (hl == 0 || hl >= hcap) return false;
  memcpy(host, p, hl);
  host[hl] = '\0';
  snprintf(base, bcap, "%s", slash ? slash : "");
  size_t bl = strlen(base);
  if (bl && base[bl - 1] == '/') base[bl - 1] = '\0';
  return true;
}

static bool conn_id_ok(const char *id) {
  if (!id[0] || strlen(id) > 64) return false;
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '=') return false;
  return true;
}

/* One call of the management API: POST (text) or DELETE (no body), signed
 * for execute-api, retried as DynamoDB calls are on 429/5xx/network. */
static dorm_status management_call(dorm__streamer *s, const char *method, const char *server_url, const char *conn_id,
                                   const char *text, size_t len) {
  bool post = strcmp(method, "POST") == 0;
  if (!post) {
    text = "";
    len = 0;
  }
  if (!conn_id_ok(conn_id)) return DORM_ERR_INVALID_ARGUMENT;
  char host[256], base[256], path[400], url[700];
  if (!split_url(server_url, host, sizeof host, base, sizeof base)) return DORM_ERR_INVALID_ARGUMENT;
  snprintf(path, sizeof path, "%s/@connections/%s", base, conn_id);
  snprintf(url, sizeof url, "%.*s%s", (int)(strstr(server_url, "://") - server_url + 3), server_url, host);
  snprintf(url + strlen(url), sizeof url - strlen(url), "%s", path);

  dorm_client *c = dorm__st_client(s);
  if (!c) return DORM_ERR_CONFIG;
  dorm_credentials cr;
  if (dorm__client_credentials(c, &cr) != DORM_OK) return DORM_ERR_AUTH;
  const char *region = dorm_client_region(c);
  dorm_sigv4_header hdrs[] = {{"host", host}, {"content-type", "application/json"}};
  dorm_sigv4_request req = {method, path, NULL, hdrs, 2, text, len};
  dorm_sigv4_config cfg = {region && region[0] ? region : REGION_FALLBACK, "execute-api",
                           {cr.access_key_id, cr.secret_access_key, cr.session_token},
                           (int64_t)time(NULL), DORM_SIGV4_NORMALIZE_PATH, 0};
  dorm_sigv4_result sig;
  char err[256];
  if (dorm__sigv4_sign(&req, &cfg, &sig, err, sizeof err) != DORM_OK) return DORM_ERR_AUTH;

  if (!tl_conn.curl) tl_conn.curl = curl_easy_init();
  CURL *h = tl_conn.curl;
  if (!h) {
    dorm__sigv4_result_free(&sig);
    return DORM_ERR_NO_MEMORY;
  }
  curl_easy_reset(h);
  struct curl_slist *list = curl_slist_append(NULL, "Content-Type: application/json");
  for (size_t i = 0; i < sig.header_count; i++) {
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", sig.headers[i].name, sig.headers[i].value);
    list = curl_slist_append(list, line);
  }
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, url);
  if (post) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!tl_conn.retry_ready) {
    dorm_retry_settings rs;
    dorm__retry_settings_defaults(&rs, DORM_RETRY_MODE_STANDARD);
    dorm__retry_policy_init(&tl_conn.retry, &rs, NULL, NULL);
    tl_conn.retry_ready = true;
  }
  dorm_retry_state attempt;
  dorm__retry_begin(&attempt);
  dorm_status st = DORM_ERR_NETWORK;
  long code = 0;     /* the last answer's HTTP status, for the log */
  CURLcode rc = CURLE_OK;
  for (;;) {
    rc = curl_easy_perform(h);
    code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK && (code == 200 || (!post && code == 204))) {
      dorm__retry_succeeded(&tl_conn.retry, &attempt);
      st = DORM_OK;
      break;
    }
    if (rc == CURLE_OK && code == 410) {
      st = DORM_ERR_NOT_FOUND;
      break;
    }
    if (rc == CURLE_OK && code == 403) {
      st = DORM_ERR_AUTH;
      break;
    }
    st = rc == CURLE_OK ? DORM_ERR_SERVICE : DORM_ERR_NETWORK;
    /* 429 and 5xx and network faults: retried as DynamoDB calls are */
    long delay = 0;
    char why[96];
    if (!dorm__retry_next(&tl_conn.retry, &attempt, dorm__retry_classify(NULL, rc == CURLE_OK ? code : 0, (int)rc),
                          &delay, why, sizeof why))
      break;
    struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  curl_slist_free_all(list);
  dorm__sigv4_result_free(&sig);
  if (st != DORM_OK && st != DORM_ERR_NOT_FOUND) {
    char detail[128]; /* what the service or the network said: "service error" alone does not tell 403 from 500 */
    if (rc != CURLE_OK) snprintf(detail, sizeof detail, "%s", curl_easy_strerror(rc));
    else snprintf(detail, sizeof detail, "HTTP %ld", code);
    dorm__st_log("warn", "delivery_failed", NULL, conn_id, NULL, "%s %s: %s (%s)", method, path, dorm_strerror(st),
                 detail);
  }
  return st;
}

dorm_status dorm__st_deliver(dorm__streamer *s, const char *server_url, const char *conn_id, const char *text,
                             size_t len) {
  return management_call(s, "POST", server_url, conn_id, text, len);
}

dorm_status dorm__st_close_connection(dorm__streamer *s, const char *server_url, const char *conn_id) {
  return management_call(s, "DELETE", server_url, conn_id, NULL, 0);
}

/* "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/execute-api/aws4_request,
 *  SignedHeaders=a;b;c, Signature=hex" -> its parts. */
static bool parse_auth(const char *auth, char *akid, size_t akcap, char *scope_region, size_t rcap,
                       char *signed_headers, size_t shcap, char *signature, size_t sigcap) {
  if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0) return false;
  const char *cred = strstr(auth, "Credential=");
  const char *sh = strstr(auth, "SignedHeaders=");
  const char *sg = strstr(auth, "Signature=");
  if (!cred || !sh || !sg) return false;
  cred += 11;
  const char *end = strchr(cred, '/');
  if (!end || (size_t)(end - cred) >= akcap) return false;
  memcpy(akid, cred, (size_t)(end - cred));
  akid[end - cred] = '\0';
  const char *date_end = strchr(end + 1, '/');
  if (!date_end) return false;
  const char *reg_end = strchr(date_end + 1, '/');
  if (!reg_end || (size_t)(reg_end - date_end - 1) >= rcap) return false;
  memcpy(scope_region, date_end + 1, (size_t)(reg_end - date_end - 1));
  scope_region[reg_end - date_end - 1] = '\0';
  sh += 14;
  size_t n = strcspn(sh, ", ");
  if (n == 0 || n >= shcap) return false;
  memcpy(signed_headers, sh, n);
  signed_headers[n] = '\0';
  sg += 10;
  n = strcspn(sg, ", ");
  if (n != DORM_SIGV4_SIGNATURE_LEN || n >= sigcap) return false;
  memcpy(signature, sg, n);
  signature[n] = '\0';
  return true;
}

bool dorm__st_verify_sigv4(dorm__streamer *s, const char *method, const char *path, const char *host,
                           const char *amz_date, const char *authorization, const char *token, const void *body,
                           size_t len, char *why, size_t whycap) {
  char akid[130], region[64], signed_headers[256], signature[DORM_SIGV4_SIGNATURE_LEN + 1];
  if (!authorization || !amz_date || !host ||
      !parse_auth(authorization, akid, sizeof akid, region, sizeof region, signed_headers, sizeof signed_headers,
                  signature, sizeof signature)) {
    dorm__set_err(why, whycap, "missing or malformed SigV4 Authorization");
    return false;
  }
  int64_t t;
  if (!dorm__sigv4_parse_time(amz_date, &t)) {
    dorm__set_err(why, whycap, "bad X-Amz-Date");
    return false;
  }
  int64_t now = (int64_t)time(NULL);
  if (t < now - 300 || t > now + 300) {
    dorm__set_err(why, whycap, "request time is more than 5 minutes off");
    return false;
  }
  dorm_client *c = dorm__st_client(s);
  dorm_credentials cr;
  if (!c || dorm__client_credentials(c, &cr) != DORM_OK) {
    dorm__set_err(why, whycap, "no credentials to verify with");
    return false;
  }
  if (strcmp(akid, cr.access_key_id) != 0) {
    dorm__set_err(why, whycap, "unknown access key");
    return false;
  }
  /* We sign host and content-type (and the session token when there is one). */
  dorm_sigv4_header hdrs[] = {{"host", host}, {"content-type", "application/json"}};
  dorm_sigv4_request req = {method, path, NULL, hdrs, 2, body, len};
  dorm_sigv4_config cfg = {region, "execute-api", {cr.access_key_id, cr.secret_access_key, token}, t,
                           DORM_SIGV4_NORMALIZE_PATH, 0};
  dorm_sigv4_result sig;
  char err[256];
  if (dorm__sigv4_sign(&req, &cfg, &sig, err, sizeof err) != DORM_OK) {
    dorm__set_err(why, whycap, "cannot recompute the signature: %s", err);
    return false;
  }
  bool ok = dorm__sigv4_signature_equal(sig.signature, signature) && strcmp(sig.signed_headers, signed_headers) == 0;
  dorm__sigv4_result_free(&sig);
  if (!ok) dorm__set_err(why, whycap, "signature does not match");
  return ok;
}

void dorm__st_delivery_thread_end(void);
void dorm__st_delivery_thread_end(void) {
  if (tl_conn.curl) curl_easy_cleanup(tl_conn.curl);
  tl_conn.curl = NULL;
}
