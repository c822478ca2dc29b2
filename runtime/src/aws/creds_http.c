/* creds_http: the two HTTP credential sources, container credentials and
 * EC2 instance metadata (IMDSv2). Each fetch uses its own short-lived curl
 * easy handle with short timeouts, no proxy (the metadata addresses are
 * link-local; a proxy would leak the token or fail), no redirects, and one
 * retry for connection failures and 5xx answers. */
#include "credentials.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core_internal.h"

#define META_MAX_BODY (64 * 1024)
#define TOKEN_FILE_MAX (16 * 1024)
#define IMDS_TOKEN_TTL "21600"

/* ---- FULL_URI host rules -------------------------------------------------- */

static bool allowed_http_host(const char *host) {
  static const char *const fixed[] = {"localhost", "169.254.170.2", "169.254.170.23",
                                      "[fd00:ec2::23]", "[::1]"};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    if (strcasecmp(host, fixed[i]) == 0) return true;
  struct in_addr a4;
  if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  size_t n = strlen(host);
  if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n < 64) {
    char inner[64];
    memcpy(inner, host + 1, n - 2);
    inner[n - 2] = '\0';
    struct in6_addr a6;
    if (inet_pton(AF_INET6, inner, &a6) == 1) {
      static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
      static const unsigned char eks6[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23};
      return memcmp(&a6, loop6, 16) == 0 || memcmp(&a6, eks6, 16) == 0;
    }
  }
  return false;
}

dorm_status dorm__creds_container_url_check(const char *url, char *errbuf, size_t errcap) {
  CURLU *u = curl_url();
  if (!u) {
    dorm__set_err(errbuf, errcap, "out of memory");
    return DORM_ERR_NO_MEMORY;
  }
  char *scheme = NULL, *host = NULL;
  dorm_status st = DORM_OK;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    dorm__set_err(errbuf, errcap, "AWS_CONTAINER_CREDENTIALS_FULL_URI: '%.200s' is not a valid URL", url);
    st = DORM_ERR_CONFIG;
  } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    dorm__set_err(errbuf, errcap, "AWS_CONTAINER_CREDENTIALS_FULL_URI: '%.200s' must use http or https", url);
    st = DORM_ERR_CONFIG;
  } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
    dorm__set_err(errbuf, errcap, "AWS_CONTAINER_CREDENTIALS_FULL_URI: '%.200s' has no host", url);
    st = DORM_ERR_CONFIG;
  } else if (strcmp(scheme, "https") == 0) {
    st = DORM_OK;
  } else if (!allowed_http_host(host)) {
    dorm__set_err(errbuf, errcap,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI: http to host '%.100s' is not allowed; plain http "
            "is only allowed to a loopback address, 169.254.170.2 (ECS) or 169.254.170.23 / "
            "fd00:ec2::23 (EKS); use https", host);
    st = DORM_ERR_CONFIG;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return st;
}

/* ---- one HTTP exchange ------------------------------------------------------ */

/* curl's write callback: the body into a dorm__buf bounded at META_MAX_BODY.
 * Bodies hold credentials, so they are wiped (dorm__buf_wipe), not just freed. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
  size_t n = size * nmemb;
  return dorm__buf_put(userp, data, n) ? n : 0;
}

/* Sends one request; *status gets the HTTP status on DORM_OK. what names the
 * request in messages. Tries `tries` times when the failure looks transient
 * (a 5xx answer is handed back on the last try). send (may be NULL) is the
 * request body of a POST; proxy says whether the proxy variables apply. */
static dorm_status http_send(const char *what, const char *method, const char *url,
                             const char *const *headers, size_t nheaders, const char *send,
                             size_t send_len, bool proxy, int tries, long timeout_ms,
                             long *status, dorm__buf *body, char *errbuf, size_t errcap) {
  dorm_status st = DORM_ERR_NETWORK;
  for (int attempt = 1; attempt <= tries; attempt++) {
    dorm__buf_wipe(body);
    *status = 0;
    CURL *c = curl_easy_init();
    if (!c) {
      dorm__set_err(errbuf, errcap, "%s: cannot create a curl handle", what);
      return DORM_ERR_NO_MEMORY;
    }
    struct curl_slist *hl = NULL;
    bool oom = false;
    for (size_t i = 0; i < nheaders && !oom; i++) {
      struct curl_slist *n = curl_slist_append(hl, headers[i]);
      if (!n) oom = true;
      else hl = n;
    }
    if (strcmp(method, "PUT") == 0 && !oom) {
      struct curl_slist *n = curl_slist_append(hl, "Content-Type:");
      if (!n) oom = true;
      else hl = n;
    }
    if (oom) {
      curl_slist_free_all(hl);
      curl_easy_cleanup(c);
      dorm__set_err(errbuf, errcap, "%s: out of memory", what);
      return DORM_ERR_NO_MEMORY;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!proxy) curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    if (strcmp(method, "PUT") == 0) {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp(method, "POST") == 0) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, send ? send : "");
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(send ? send_len : 0));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    bool transient = false;
    if (rc == CURLE_OK) {
      if (*status >= 500 && attempt < tries) {
        transient = true;
      } else {
        return DORM_OK;
      }
      st = DORM_ERR_SERVICE;
      dorm__set_err(errbuf, errcap, "%s: %s %s answered HTTP %ld", what, method, url, *status);
    } else if (body->oom) {
      dorm__set_err(errbuf, errcap, "%s: out of memory", what);
      return DORM_ERR_NO_MEMORY;
    } else if (body->overflow) {
      dorm__set_err(errbuf, errcap, "%s: %s %s: response larger than %d bytes", what, method, url, META_MAX_BODY);
      return DORM_ERR_BAD_RESPONSE;
    } else {
      st = rc == CURLE_OPERATION_TIMEDOUT ? DORM_ERR_TIMEOUT : DORM_ERR_NETWORK;
      dorm__set_err(errbuf, errcap, "%s: %s %s failed: %s", what, method, url,
              cerr[0] ? cerr : curl_easy_strerror(rc));
      transient = rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT ||
                  rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
                  rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST;
    }
    if (!transient) break;
  }
  dorm__buf_wipe(body);
  return st;
}

static dorm_status http_call(const char *what, const char *method, const char *url,
                             const char *const *headers, size_t nheaders, long timeout_ms,
                             long *status, dorm__buf *body, char *errbuf, size_t errcap) {
  return http_send(what, method, url, headers, nheaders, NULL, 0, false, 2, timeout_ms, status, body,
                   errbuf, errcap);
}

dorm_status dorm__creds_http(const char *what, const char *method, const char *url,
                            const char *const *headers, size_t nheaders, const char *send,
                            size_t send_len, long timeout_ms, long *status, dorm__buf *body,
                            char *errbuf, size_t errcap) {
  /* One try: the AWS callers (STS, SSO) run their own retry policy, which
   * also covers throttling answers. */
  return http_send(what, method, url, headers, nheaders, send, send_len, true, 1, timeout_ms, status,
                   body, errbuf, errcap);
}

/* A non-2xx answer as an error; 401/403 mean the endpoint refused us. */
static dorm_status http_status_error(const char *what, const char *url, long status, const dorm__buf *b,
                                     char *errbuf, size_t errcap) {
  char snippet[161] = "";
  if (b->len) {
    size_t n = b->len < sizeof snippet - 1 ? b->len : sizeof snippet - 1;
    for (size_t i = 0; i < n; i++)
      snippet[i] = isprint((unsigned char)b->p[i]) ? b->p[i] : ' ';
    snippet[n] = '\0';
  }
  dorm__set_err(errbuf, errcap, "%s: %s answered HTTP %ld%s%s", what, url, status, snippet[0] ? ": " : "", snippet);
  return status == 401 || status == 403 ? DORM_ERR_AUTH : DORM_ERR_BAD_RESPONSE;
}

static dorm_status parse_metadata(const char *what, dorm__buf *b, dorm_creds_value *out, char *errbuf,
                                  size_t errcap) {
  dorm_status st = dorm__creds_parse_json(dorm__buf_text(b), b->len, DORM_CREDS_METADATA, what, out,
                                         errbuf, errcap);
  return st == DORM_ERR_CONFIG ? DORM_ERR_BAD_RESPONSE : st;
}

/* ---- container credentials ------------------------------------------------ */

static dorm_status read_token_file(const char *path, char **out, char *errbuf, size_t errcap) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    dorm__set_err(errbuf, errcap, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (%.200s): cannot read: %s", path,
            strerror(errno));
    return DORM_ERR_IO;
  }
  char *buf = malloc(TOKEN_FILE_MAX + 1);
  if (!buf) {
    fclose(f);
    dorm__set_err(errbuf, errcap, "out of memory");
    return DORM_ERR_NO_MEMORY;
  }
  size_t n = fread(buf, 1, TOKEN_FILE_MAX + 1, f);
  bool err = ferror(f) != 0;
  fclose(f);
  if (err || n > TOKEN_FILE_MAX) {
    dorm__set_err(errbuf, errcap, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (%.200s): %s", path,
            err ? "read error" : "larger than 16 KiB");
    free(buf);
    return DORM_ERR_IO;
  }
  while (n > 0 && isspace((unsigned char)buf[n - 1])) n--;
  buf[n] = '\0';
  if (n == 0 || strpbrk(buf, "\r\n") || memchr(buf, '\0', n)) {
    dorm__set_err(errbuf, errcap, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (%.200s): %s", path,
            n == 0 ? "is empty" : "the token must be a single line");
    free(buf);
    return DORM_ERR_CONFIG;
  }
  *out = buf;
  return DORM_OK;
}

dorm_status dorm__creds_fetch_container(const dorm_container_source *src, dorm_creds_value *out,
                                       char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  const char *what = "container credentials";
  char *token = NULL;
  dorm_status st = DORM_OK;
  if (src->auth_token_file) {
    st = read_token_file(src->auth_token_file, &token, errbuf, errcap);
    if (st != DORM_OK) return st;
  }
  const char *tok = token ? token : src->auth_token;
  char *auth = NULL;
  const char *headers[2] = {"Accept: application/json", NULL};
  size_t nh = 1;
  if (tok) {
    auth = malloc(strlen("Authorization: ") + strlen(tok) + 1);
    if (!auth) {
      free(token);
      dorm__set_err(errbuf, errcap, "out of memory");
      return DORM_ERR_NO_MEMORY;
    }
    sprintf(auth, "Authorization: %s", tok);
    headers[nh++] = auth;
  }
  long status = 0;
  dorm__buf b;
  dorm__buf_init(&b, META_MAX_BODY);
  st = http_call(what, "GET", src->url, headers, nh, src->timeout_ms, &status, &b, errbuf, errcap);
  if (st == DORM_OK) {
    if (status != 200) st = http_status_error(what, src->url, status, &b, errbuf, errcap);
    else st = parse_metadata(what, &b, out, errbuf, errcap);
  }
  dorm__buf_wipe(&b);
  if (auth) {
    memset(auth, 0, strlen(auth));
    free(auth);
  }
  if (token) {
    memset(token, 0, strlen(token));
    free(token);
  }
  return st;
}

/* ---- IMDSv2 --------------------------------------------------------------------- */

static bool valid_role_name(const char *s) {
  if (!*s) return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    /* IAM names: letters, digits and +=,.@_- */
    if (!(isalnum(c) || strchr("+=,.@_-", c))) return false;
  }
  return true;
}

dorm_status dorm__creds_fetch_imds(const dorm_imds_source *src, dorm_creds_value *out, char *errbuf,
                                  size_t errcap) {
  memset(out, 0, sizeof *out);
  const char *what = "instance metadata";
  size_t base_len = strlen(src->endpoint);
  size_t url_cap = base_len + 200;
  char *url = malloc(url_cap);
  char *token_hdr = NULL;
  char role[129] = "";
  dorm__buf b;
  dorm__buf_init(&b, META_MAX_BODY);
  long status = 0;
  dorm_status st;
  if (!url) {
    dorm__set_err(errbuf, errcap, "out of memory");
    return DORM_ERR_NO_MEMORY;
  }

  snprintf(url, url_cap, "%s/latest/api/token", src->endpoint);
  const char *put_headers[] = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL};
  st = http_call(what, "PUT", url, put_headers, 1, src->timeout_ms, &status, &b, errbuf, errcap);
  if (st != DORM_OK) goto done;
  if (status == 200) {
    size_t n = b.len;
    while (n > 0 && isspace((unsigned char)b.p[n - 1])) n--;
    if (n == 0 || memchr(b.p, '\r', n) || memchr(b.p, '\n', n) || memchr(b.p, '\0', n)) {
      dorm__set_err(errbuf, errcap, "%s: PUT %s returned an unusable token", what, url);
      st = DORM_ERR_BAD_RESPONSE;
      goto done;
    }
    token_hdr = malloc(strlen("X-aws-ec2-metadata-token: ") + n + 1);
    if (!token_hdr) {
      dorm__set_err(errbuf, errcap, "out of memory");
      st = DORM_ERR_NO_MEMORY;
      goto done;
    }
    sprintf(token_hdr, "X-aws-ec2-metadata-token: %.*s", (int)n, b.p);
  } else if ((status == 403 || status == 404 || status == 405) && !src->v1_disabled) {
    /* No IMDSv2 here (or it is blocked): the SDKs then use IMDSv1. */
  } else {
    st = http_status_error(what, url, status, &b, errbuf, errcap);
    goto done;
  }

  const char *get_headers[1] = {token_hdr};
  size_t nget = token_hdr ? 1 : 0;
  snprintf(url, url_cap, "%s/latest/meta-data/iam/security-credentials/", src->endpoint);
  st = http_call(what, "GET", url, get_headers, nget, src->timeout_ms, &status, &b, errbuf, errcap);
  if (st != DORM_OK) goto done;
  if (status == 404) {
    dorm__set_err(errbuf, errcap, "%s: no IAM role is attached to this instance (GET %s answered 404)", what, url);
    st = DORM_ERR_CONFIG;
    goto done;
  }
  if (status != 200) {
    st = http_status_error(what, url, status, &b, errbuf, errcap);
    goto done;
  }
  {
    const char *s = dorm__buf_text(&b);
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strcspn(s, "\r\n");
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n == 0 || n >= sizeof role) {
      dorm__set_err(errbuf, errcap, "%s: GET %s returned no role name", what, url);
      st = n == 0 ? DORM_ERR_CONFIG : DORM_ERR_BAD_RESPONSE;
      goto done;
    }
    memcpy(role, s, n);
    role[n] = '\0';
    if (!valid_role_name(role)) {
      dorm__set_err(errbuf, errcap, "%s: GET %s returned an invalid role name", what, url);
      st = DORM_ERR_BAD_RESPONSE;
      goto done;
    }
  }

  snprintf(url, url_cap, "%s/latest/meta-data/iam/security-credentials/%s", src->endpoint, role);
  st = http_call(what, "GET", url, get_headers, nget, src->timeout_ms, &status, &b, errbuf, errcap);
  if (st != DORM_OK) goto done;
  if (status != 200) {
    st = http_status_error(what, url, status, &b, errbuf, errcap);
    goto done;
  }
  char origin[300];
  snprintf(origin, sizeof origin, "%s role '%s'", what, role);
  st = parse_metadata(origin, &b, out, errbuf, errcap);
done:
  dorm__buf_wipe(&b);
  if (token_hdr) {
    memset(token_hdr, 0, strlen(token_hdr));
    free(token_hdr);
  }
  free(url);
  return st;
}
