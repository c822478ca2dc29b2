/* sts: AssumeRole and AssumeRoleWithWebIdentity over STS's Query API.
 *
 * A request is a form-encoded POST (Action, Version=2011-06-15, parameters)
 * to the regional endpoint; AssumeRole is SigV4-signed for service "sts"
 * with the source credentials, AssumeRoleWithWebIdentity is sent unsigned
 * (the token is the proof). Answers are XML (aws_xml.c). */
#include "credentials.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws_xml.h"
#include "core_internal.h"
#include "sigv4.h"

#define STS_VERSION "2011-06-15"
#define STS_MAX_BODY (64 * 1024)

static dorm_status no_memory(char *errbuf, size_t errcap) {
  dorm__set_err(errbuf, errcap, "out of memory while calling STS");
  return DORM_ERR_NO_MEMORY;
}

/* ---- the endpoint --------------------------------------------------------------- */

/* The regions that used https://sts.amazonaws.com under the legacy setting. */
static bool legacy_global_region(const char *r) {
  static const char *const global[] = {"ap-northeast-1", "ap-south-1",   "ap-southeast-1", "ap-southeast-2",
                                       "aws-global",     "ca-central-1", "eu-central-1",   "eu-north-1",
                                       "eu-west-1",      "eu-west-2",    "eu-west-3",      "sa-east-1",
                                       "us-east-1",      "us-east-2",    "us-west-1",      "us-west-2"};
  for (size_t i = 0; i < sizeof global / sizeof *global; i++)
    if (strcmp(r, global[i]) == 0) return true;
  return false;
}

static const char *dns_suffix(const char *region) {
  if (strncmp(region, "cn-", 3) == 0) return "amazonaws.com.cn";
  if (strncmp(region, "us-isob-", 8) == 0) return "sc2s.sgov.gov";
  if (strncmp(region, "us-iso-", 7) == 0) return "c2s.ic.gov";
  return "amazonaws.com";
}

static dorm_status set_endpoint(dorm_sts_endpoint *out, const char *url, const char *region, char *errbuf,
                                size_t errcap) {
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
    dorm__set_err(errbuf, errcap, "%s: STS endpoint '%.200s' must start with http:// or https://", out->origin,
                  url);
    return DORM_ERR_CONFIG;
  }
  size_t n = strlen(url);
  while (n > 0 && url[n - 1] == '/') n--;
  out->url = strndup(url, n);
  out->region = strdup(region);
  if (!out->url || !out->region) return no_memory(errbuf, errcap);
  return DORM_OK;
}

dorm_status dorm__sts_endpoint_resolve(const dorm_resolved_config *rc, const char *region,
                                      dorm_sts_endpoint *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  char where[256] = "";
  bool ignore = false;
  dorm_status st = dorm__config_endpoints_ignored(rc, &ignore, errbuf, errcap);
  if (st != DORM_OK) return st;
  if (!ignore) {
    const char *url = dorm__config_env("AWS_ENDPOINT_URL_STS");
    if (url) {
      snprintf(out->origin, sizeof out->origin, "AWS_ENDPOINT_URL_STS");
    } else {
      st = dorm__config_service_endpoint(rc, "sts", &url, where, sizeof where, errbuf, errcap);
      if (st != DORM_OK) return st;
      if (url) snprintf(out->origin, sizeof out->origin, "%s", where);
      else if ((url = dorm__config_env("AWS_ENDPOINT_URL")))
        snprintf(out->origin, sizeof out->origin, "AWS_ENDPOINT_URL");
      else if ((url = dorm__config_profile_value(rc, "endpoint_url", where, sizeof where)))
        snprintf(out->origin, sizeof out->origin, "%s", where);
    }
    if (url) return set_endpoint(out, url, region, errbuf, errcap);
  }
  const char *mode = dorm__config_env("AWS_STS_REGIONAL_ENDPOINTS");
  const char *mode_origin = "AWS_STS_REGIONAL_ENDPOINTS";
  if (!mode && (mode = dorm__config_profile_value(rc, "sts_regional_endpoints", where, sizeof where)))
    mode_origin = where;
  bool legacy = false;
  if (mode) {
    if (strcasecmp(mode, "legacy") == 0) {
      legacy = true;
    } else if (strcasecmp(mode, "regional") != 0) {
      dorm__set_err(errbuf, errcap, "%s: expected 'regional' or 'legacy', got '%.64s'", mode_origin, mode);
      return DORM_ERR_CONFIG;
    }
  }
  char url[200];
  if (legacy && legacy_global_region(region)) {
    snprintf(out->origin, sizeof out->origin, "global endpoint (%.200s=legacy)", mode_origin);
    return set_endpoint(out, "https://sts.amazonaws.com", "us-east-1", errbuf, errcap);
  }
  snprintf(url, sizeof url, "https://sts.%.63s.%s", region, dns_suffix(region));
  snprintf(out->origin, sizeof out->origin, "regional endpoint");
  return set_endpoint(out, url, region, errbuf, errcap);
}

void dorm__sts_endpoint_free(dorm_sts_endpoint *e) {
  free(e->url);
  free(e->region);
  memset(e, 0, sizeof *e);
}

void dorm__role_source_clear(dorm_role_source *r) {
  free(r->role_arn);
  free(r->session_name);
  free(r->external_id);
  free(r->token_file);
  dorm__credentials_provider_free(r->source);
  dorm__sts_endpoint_free(&r->sts);
  memset(r, 0, sizeof *r);
}

/* ---- checks ------------------------------------------------------------------------ */

dorm_status dorm__sts_check_session_name(const char *name, const char *origin, char *errbuf, size_t errcap) {
  size_t n = strlen(name);
  bool ok = n >= 2 && n <= 64;
  for (size_t i = 0; ok && i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    ok = isalnum(c) || strchr("+=,.@_-", c);
  }
  if (!ok) {
    dorm__set_err(errbuf, errcap,
                  "%s: role session name '%.80s' must be 2 to 64 characters of letters, digits and +=,.@_-",
                  origin, name);
    return DORM_ERR_CONFIG;
  }
  return DORM_OK;
}

dorm_status dorm__sts_parse_duration(const char *text, const char *origin, int *out, char *errbuf,
                                    size_t errcap) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  while (end && isspace((unsigned char)*end)) end++;
  if (errno || end == text || !end || *end || v < 900 || v > 43200) {
    dorm__set_err(errbuf, errcap, "%s: duration_seconds must be a whole number from 900 to 43200, got '%.32s'",
                  origin, text);
    return DORM_ERR_CONFIG;
  }
  *out = (int)v;
  return DORM_OK;
}

/* ---- the request ------------------------------------------------------------------ */

/* RFC 3986 encoding, as the Query protocol expects for form values. */
static void form_add(dorm__buf *b, const char *name, const char *value) {
  if (b->len) dorm__buf_putc(b, '&');
  dorm__buf_puts(b, name);
  dorm__buf_putc(b, '=');
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      dorm__buf_putc(b, (char)*p);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      dorm__buf_put(b, e, 3);
    }
  }
}

/* Reads the web identity token (the whole file, trailing blanks trimmed). */
static dorm_status read_token(const char *path, char **out, char *errbuf, size_t errcap) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    dorm__set_err(errbuf, errcap, "web identity token file %.200s: cannot read: %s", path, strerror(errno));
    return DORM_ERR_IO;
  }
  char *buf = malloc(DORM_TOKEN_FILE_MAX + 1);
  if (!buf) {
    fclose(f);
    return no_memory(errbuf, errcap);
  }
  size_t n = fread(buf, 1, DORM_TOKEN_FILE_MAX + 1, f);
  bool err = ferror(f) != 0;
  fclose(f);
  while (n > 0 && isspace((unsigned char)buf[n - 1])) n--;
  buf[n < DORM_TOKEN_FILE_MAX ? n : DORM_TOKEN_FILE_MAX] = '\0';
  if (err || n > DORM_TOKEN_FILE_MAX || n == 0 || strlen(buf) != n) {
    dorm__set_err(errbuf, errcap, "web identity token file %.200s: %s", path,
                  err ? "read error" : n == 0 ? "is empty" : n > DORM_TOKEN_FILE_MAX ? "larger than 64 KiB"
                                                                                   : "contains a NUL byte");
    dorm__secret_free(buf);
    return n == 0 && !err ? DORM_ERR_CONFIG : DORM_ERR_IO;
  }
  *out = buf;
  return DORM_OK;
}

typedef struct url_parts {
  char *host_header; /* "Host: sts.us-east-1.amazonaws.com" */
  char *host;        /* the value alone, for signing */
  char *path;        /* "/" */
} url_parts;

static void url_parts_free(url_parts *u) {
  free(u->host_header);
  free(u->host);
  free(u->path);
}

static dorm_status split_url(const char *url, url_parts *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  CURLU *u = curl_url();
  if (!u) return no_memory(errbuf, errcap);
  char *host = NULL, *port = NULL, *path = NULL;
  dorm_status st = DORM_OK;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    dorm__set_err(errbuf, errcap, "'%.200s' is not a valid URL", url);
    st = DORM_ERR_CONFIG;
  } else {
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* only when the URL names one */
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    size_t hl = strlen(host) + (port ? strlen(port) + 1 : 0) + 1;
    out->host = malloc(hl);
    out->host_header = malloc(hl + 6);
    out->path = strdup(path && *path ? path : "/");
    if (!out->host || !out->host_header || !out->path) {
      st = no_memory(errbuf, errcap);
    } else {
      snprintf(out->host, hl, "%s%s%s", host, port ? ":" : "", port ? port : "");
      snprintf(out->host_header, hl + 6, "Host: %s", out->host);
    }
  }
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  if (st != DORM_OK) url_parts_free(out);
  return st;
}

static bool retryable_code(const char *code) {
  return strcmp(code, "Throttling") == 0 || strcmp(code, "ThrottlingException") == 0 ||
         strcmp(code, "RequestLimitExceeded") == 0 || strcmp(code, "IDPCommunicationError") == 0 ||
         strcmp(code, "ServiceUnavailable") == 0 || strcmp(code, "InternalFailure") == 0;
}

static dorm_status status_of(const char *code, long http) {
  if (strstr(code, "Throttl") || strcmp(code, "RequestLimitExceeded") == 0 || http == 429)
    return DORM_ERR_THROTTLED;
  static const char *const auth[] = {"AccessDenied", "ExpiredToken", "ExpiredTokenException",
                                     "InvalidIdentityToken", "InvalidClientTokenId", "SignatureDoesNotMatch",
                                     "IncompleteSignature", "MissingAuthenticationToken", "UnrecognizedClientException",
                                     "RegionDisabledException", "IDPRejectedClaim", "AccessDeniedException"};
  for (size_t i = 0; i < sizeof auth / sizeof *auth; i++)
    if (strcmp(code, auth[i]) == 0) return DORM_ERR_AUTH;
  if (http >= 500) return DORM_ERR_SERVICE;
  if (http == 401 || http == 403) return DORM_ERR_AUTH;
  return DORM_ERR_VALIDATION;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* Full jitter over 100 ms * 2^(try-1), as the SDKs' standard mode does. */
static long backoff_ms(int attempt) {
  unsigned int r = 0;
  if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) r = 0x7fffffff;
  long cap = 100L << (attempt - 1);
  return (long)((double)r / 4294967296.0 * (double)cap);
}

/* One answer: credentials on 200, else STS's error named. */
static dorm_status read_answer(const char *action, const char *what, long http, const dorm__buf *b,
                               dorm_creds_value *out, bool *retry, char *errbuf, size_t errcap) {
  char p_akid[128], p_secret[128], p_token[128], p_exp[128];
  if (http == 200) {
    snprintf(p_akid, sizeof p_akid, "%sResponse/%sResult/Credentials/AccessKeyId", action, action);
    snprintf(p_secret, sizeof p_secret, "%sResponse/%sResult/Credentials/SecretAccessKey", action, action);
    snprintf(p_token, sizeof p_token, "%sResponse/%sResult/Credentials/SessionToken", action, action);
    snprintf(p_exp, sizeof p_exp, "%sResponse/%sResult/Credentials/Expiration", action, action);
    const char *paths[4] = {p_akid, p_secret, p_token, p_exp};
    char *v[4];
    char xerr[160];
    dorm_status st = dorm__xml_find(dorm__buf_text(b), b->len, paths, 4, v, xerr, sizeof xerr);
    if (st != DORM_OK) {
      dorm__set_err(errbuf, errcap, "%s: answer: %s", what, xerr);
      return st;
    }
    if (!v[0] || !*v[0] || !v[1] || !*v[1] || !v[2] || !*v[2] || !v[3]) {
      dorm__set_err(errbuf, errcap, "%s: answer has no %s", what,
                    !v[0] || !*v[0] ? "Credentials/AccessKeyId" : !v[1] || !*v[1] ? "Credentials/SecretAccessKey"
                                      : !v[2] || !*v[2] ? "Credentials/SessionToken" : "Credentials/Expiration");
      dorm__xml_free_values(v, 4);
      return DORM_ERR_BAD_RESPONSE;
    }
    if (!dorm__creds_parse_time(v[3], &out->expiration)) {
      dorm__set_err(errbuf, errcap, "%s: Expiration '%.40s' is not an ISO 8601 time", what, v[3]);
      dorm__xml_free_values(v, 4);
      return DORM_ERR_BAD_RESPONSE;
    }
    out->access_key_id = v[0];
    out->secret_access_key = v[1];
    out->session_token = v[2];
    v[0] = v[1] = v[2] = NULL;
    dorm__xml_free_values(v, 4);
    return DORM_OK;
  }
  const char *paths[3] = {"ErrorResponse/Error/Code", "ErrorResponse/Error/Message", "ErrorResponse/RequestId"};
  char *v[3];
  char xerr[160];
  dorm_status st = dorm__xml_find(dorm__buf_text(b), b->len, paths, 3, v, xerr, sizeof xerr);
  if (st == DORM_ERR_NO_MEMORY) return no_memory(errbuf, errcap);
  if (st == DORM_OK && v[0] && *v[0]) {
    *retry = retryable_code(v[0]) || http >= 500;
    dorm__set_err(errbuf, errcap, "%s: %.64s: %.300s (HTTP %ld%s%.64s)", what, v[0], v[1] ? v[1] : "", http,
                  v[2] ? ", request id " : "", v[2] ? v[2] : "");
    st = status_of(v[0], http);
    dorm__xml_free_values(v, 3);
    return st;
  }
  dorm__xml_free_values(v, 3);
  /* Not STS's error document (a proxy's page, a wrong endpoint). */
  char snippet[121] = "";
  size_t n = b->len < sizeof snippet - 1 ? b->len : sizeof snippet - 1;
  for (size_t i = 0; i < n; i++) snippet[i] = isprint((unsigned char)b->p[i]) ? b->p[i] : ' ';
  snippet[n] = '\0';
  *retry = http >= 500 || http == 429;
  dorm__set_err(errbuf, errcap, "%s: HTTP %ld without an STS error document%s%s%s (is the endpoint STS?)", what,
                http, n ? ": \"" : "", snippet, n ? "\"" : "");
  return http >= 500 ? DORM_ERR_SERVICE : http == 429 ? DORM_ERR_THROTTLED : DORM_ERR_BAD_RESPONSE;
}

dorm_status dorm__sts_fetch_role(const dorm_role_source *r, dorm_creds_value *out, char *errbuf,
                                size_t errcap) {
  memset(out, 0, sizeof *out);
  bool web = r->token_file != NULL;
  const char *action = web ? "AssumeRoleWithWebIdentity" : "AssumeRole";
  char what[512];
  snprintf(what, sizeof what, "STS %s (role %.200s, %.200s)", action, r->role_arn, r->sts.url);

  /* The source's credentials (AssumeRole) or the token (web identity):
   * both are read anew for each fetch. */
  dorm_creds_value src;
  memset(&src, 0, sizeof src);
  char *token = NULL;
  dorm_status st;
  if (web) {
    st = read_token(r->token_file, &token, errbuf, errcap);
  } else {
    unsigned long gen = 0;
    char inner[512] = "";
    st = dorm__credentials_provider_get_copy(r->source, &src, &gen, inner, sizeof inner);
    if (st != DORM_OK) dorm__set_err(errbuf, errcap, "%s: source credentials: %s", what, inner);
  }
  if (st != DORM_OK) return st;

  dorm__buf form;
  dorm__buf_init(&form, STS_MAX_BODY);
  form_add(&form, "Action", action);
  form_add(&form, "Version", STS_VERSION);
  form_add(&form, "RoleArn", r->role_arn);
  form_add(&form, "RoleSessionName", r->session_name);
  if (r->duration_s > 0) {
    char d[16];
    snprintf(d, sizeof d, "%d", r->duration_s);
    form_add(&form, "DurationSeconds", d);
  }
  if (r->external_id && !web) form_add(&form, "ExternalId", r->external_id);
  if (web) form_add(&form, "WebIdentityToken", token);
  dorm__secret_free(token);
  token = NULL;

  url_parts up;
  char url[1100];
  snprintf(url, sizeof url, "%s/", r->sts.url);
  if (!dorm__buf_ok(&form)) {
    st = form.oom ? no_memory(errbuf, errcap) : DORM_ERR_INVALID_ARGUMENT;
    if (st != DORM_ERR_NO_MEMORY) dorm__set_err(errbuf, errcap, "%s: request too large", what);
    dorm__buf_wipe(&form);
    dorm__creds_value_clear(&src);
    return st;
  }
  st = split_url(url, &up, errbuf, errcap);
  if (st != DORM_OK) {
    dorm__buf_wipe(&form);
    dorm__creds_value_clear(&src);
    return st;
  }
  static const char ctype[] = "application/x-www-form-urlencoded; charset=utf-8";
  dorm__buf answer;
  dorm__buf_init(&answer, STS_MAX_BODY);
  for (int attempt = 1; attempt <= DORM_STS_MAX_TRIES; attempt++) {
    dorm_sigv4_result sig;
    memset(&sig, 0, sizeof sig);
    const char *headers[8];
    size_t nh = 0;
    char *lines[4] = {NULL, NULL, NULL, NULL}; /* the signer's headers as lines (may hold the token) */
    headers[nh++] = up.host_header;
    headers[nh++] = "Content-Type: application/x-www-form-urlencoded; charset=utf-8";
    headers[nh++] = "Accept: text/xml";
    if (!web) {
      dorm_sigv4_header sh[2] = {{"Host", up.host}, {"Content-Type", ctype}};
      dorm_sigv4_request req = {"POST", up.path, NULL, sh, 2, form.p, form.len};
      dorm_sigv4_config sc = {r->sts.region, "sts", {src.access_key_id, src.secret_access_key, src.session_token},
                              (int64_t)time(NULL), 0, 0};
      char serr[256];
      st = dorm__sigv4_sign(&req, &sc, &sig, serr, sizeof serr);
      if (st != DORM_OK) {
        dorm__set_err(errbuf, errcap, "%s: signing: %s", what, serr);
        break;
      }
      for (size_t i = 0; i < sig.header_count && i < 4; i++) {
        size_t need = strlen(sig.headers[i].name) + strlen(sig.headers[i].value) + 3;
        if (!(lines[i] = malloc(need))) {
          st = no_memory(errbuf, errcap);
          break;
        }
        snprintf(lines[i], need, "%s: %s", sig.headers[i].name, sig.headers[i].value);
        headers[nh++] = lines[i];
      }
      if (st != DORM_OK) {
        dorm__sigv4_result_free(&sig);
        for (int i = 0; i < 4; i++) dorm__secret_free(lines[i]);
        break;
      }
    }
    long http = 0;
    bool retry = false;
    st = dorm__creds_http(what, "POST", url, headers, nh, form.p, form.len, r->timeout_ms, &http, &answer, errbuf,
                          errcap);
    dorm__sigv4_result_free(&sig);
    for (int i = 0; i < 4; i++) dorm__secret_free(lines[i]);
    if (st == DORM_OK) {
      st = read_answer(action, what, http, &answer, out, &retry, errbuf, errcap);
    } else {
      retry = st == DORM_ERR_NETWORK || st == DORM_ERR_TIMEOUT;
    }
    dorm__buf_wipe(&answer);
    dorm__buf_init(&answer, STS_MAX_BODY);
    if (st == DORM_OK || !retry) break;
    if (attempt < DORM_STS_MAX_TRIES) sleep_ms(backoff_ms(attempt));
    else {
      size_t len = strlen(errbuf);
      if (len + 32 < errcap) snprintf(errbuf + len, errcap - len, " (after %d tries)", attempt);
    }
  }
  (void)ctype;
  dorm__buf_wipe(&answer);
  url_parts_free(&up);
  dorm__buf_wipe(&form);
  dorm__creds_value_clear(&src);
  if (st != DORM_OK) dorm__creds_value_clear(out);
  return st;
}
