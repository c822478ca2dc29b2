/* sso: IAM Identity Center credentials, as the AWS CLI leaves them.
 *
 * `aws sso login` writes a token to ~/.aws/sso/cache/<sha1>.json, keyed by
 * the sso_session name (or, for legacy profiles, the start URL). We read
 * it, refresh it through SSO OIDC CreateToken (grant refresh_token) when it
 * is about to expire and the cache holds a client registration and a
 * refresh token (sso_session profiles only, as in the CLI), write the new
 * token back, and trade it for role credentials with the portal's
 * GetRoleCredentials (a plain GET with the bearer token, not SigV4). */
#include "credentials.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"

#define SSO_MAX_BODY (64 * 1024)
#define SSO_REFRESH_WINDOW_S 300

static dorm_status no_memory(char *errbuf, size_t errcap) {
  dorm__set_err(errbuf, errcap, "out of memory (SSO)");
  return DORM_ERR_NO_MEMORY;
}

void dorm__sso_source_clear(dorm_sso_source *s) {
  free(s->profile);
  free(s->session_name);
  free(s->start_url);
  free(s->sso_region);
  free(s->account_id);
  free(s->role_name);
  free(s->cache_path);
  free(s->portal_url);
  free(s->oidc_url);
  memset(s, 0, sizeof *s);
}

static char *dup_trim_slash(const char *url) {
  size_t n = strlen(url);
  while (n > 0 && url[n - 1] == '/') n--;
  return strndup(url, n);
}

/* An endpoint as the SDKs resolve it: AWS_ENDPOINT_URL_<SVC>, the services
 * section, AWS_ENDPOINT_URL, else the default. */
static dorm_status sso_endpoint(const dorm_resolved_config *view, const char *env, const char *service,
                                const char *deflt, char **out, char *errbuf, size_t errcap) {
  bool ignore = false;
  dorm_status st = dorm__config_endpoints_ignored(view, &ignore, errbuf, errcap);
  if (st != DORM_OK) return st;
  const char *url = NULL;
  if (!ignore) {
    url = dorm__config_env(env);
    if (!url) {
      st = dorm__config_service_endpoint(view, service, &url, NULL, 0, errbuf, errcap);
      if (st != DORM_OK) return st;
    }
    if (!url) url = dorm__config_env("AWS_ENDPOINT_URL");
  }
  *out = dup_trim_slash(url ? url : deflt);
  return *out ? DORM_OK : no_memory(errbuf, errcap);
}

static bool sha1_hex(const char *text, char out[41]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL) != 1 || n != 20) return false;
  dorm__hex_encode(md, n, out);
  return true;
}

dorm_status dorm__sso_source_init(const dorm_resolved_config *view, dorm_sso_source *out, bool *chosen,
                                 char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  *chosen = false;
  char w_sess[256] = "", w_url[256] = "", w_reg[256] = "", w_acct[256] = "", w_role[256] = "";
  const char *session = dorm__config_profile_value(view, "sso_session", w_sess, sizeof w_sess);
  const char *url = dorm__config_profile_value(view, "sso_start_url", w_url, sizeof w_url);
  const char *region = dorm__config_profile_value(view, "sso_region", w_reg, sizeof w_reg);
  const char *account = dorm__config_profile_value(view, "sso_account_id", w_acct, sizeof w_acct);
  const char *role = dorm__config_profile_value(view, "sso_role_name", w_role, sizeof w_role);
  if (!session && !url) return DORM_OK;
  *chosen = true;
  const char *where = session ? w_sess : w_url;
  if (session) {
    const dorm_ini_section *sec = dorm__config_section(view, "sso-session", session);
    if (!sec) {
      dorm__set_err(errbuf, errcap, "%s: profile '%s' uses sso_session '%s', but %s has no [sso-session %s] section",
                    w_sess, view->profile, session, view->config_file->path, session);
      return DORM_ERR_CONFIG;
    }
    const dorm_ini_prop *su = dorm__ini_get(sec, "sso_start_url");
    const dorm_ini_prop *sr = dorm__ini_get(sec, "sso_region");
    const char *s_url = su && su->value[0] ? su->value : NULL;
    const char *s_reg = sr && sr->value[0] ? sr->value : NULL;
    if (!s_url || !s_reg) {
      dorm__set_err(errbuf, errcap, "%s:%d: [sso-session %s] needs sso_start_url and sso_region",
                    view->config_file->path, sec->line, session);
      return DORM_ERR_CONFIG;
    }
    /* The CLI refuses a profile that says otherwise than its session. */
    if ((url && strcmp(url, s_url) != 0) || (region && strcmp(region, s_reg) != 0)) {
      dorm__set_err(errbuf, errcap, "%s: profile '%s' sets %s different from its [sso-session %s]",
                    url && strcmp(url, s_url) != 0 ? w_url : w_reg, view->profile,
                    url && strcmp(url, s_url) != 0 ? "sso_start_url" : "sso_region", session);
      return DORM_ERR_CONFIG;
    }
    url = s_url;
    region = s_reg;
  } else if (!region) {
    dorm__set_err(errbuf, errcap, "%s: profile '%s' has sso_start_url but no sso_region", w_url, view->profile);
    return DORM_ERR_CONFIG;
  }
  if (!account || !role) {
    dorm__set_err(errbuf, errcap, "%s: profile '%s' needs sso_account_id and sso_role_name for credentials", where,
                  view->profile);
    return DORM_ERR_CONFIG;
  }
  char key[41];
  if (!sha1_hex(session ? session : url, key)) {
    dorm__set_err(errbuf, errcap, "SSO: SHA-1 is not available (OpenSSL)");
    return DORM_ERR_CONFIG;
  }
  const char *home = dorm__config_env("HOME");
  if (!home) {
    dorm__set_err(errbuf, errcap, "%s: SSO profile '%s': HOME is not set, so ~/.aws/sso/cache cannot be found", where,
                  view->profile);
    return DORM_ERR_CONFIG;
  }
  size_t pl = strlen(home) + 64;
  out->cache_path = malloc(pl);
  if (out->cache_path) snprintf(out->cache_path, pl, "%s/.aws/sso/cache/%s.json", home, key);
  char portal[160], oidc[160];
  snprintf(portal, sizeof portal, "https://portal.sso.%.63s.amazonaws.com", region);
  snprintf(oidc, sizeof oidc, "https://oidc.%.63s.amazonaws.com", region);
  out->profile = strdup(view->profile);
  out->session_name = session ? strdup(session) : NULL;
  out->start_url = strdup(url);
  out->sso_region = strdup(region);
  out->account_id = strdup(account);
  out->role_name = strdup(role);
  out->timeout_ms = DORM_STS_DEFAULT_TIMEOUT_MS;
  if (!out->cache_path || !out->profile || (session && !out->session_name) || !out->start_url || !out->sso_region ||
      !out->account_id || !out->role_name)
    return no_memory(errbuf, errcap);
  dorm_status st = sso_endpoint(view, "AWS_ENDPOINT_URL_SSO", "sso", portal, &out->portal_url, errbuf, errcap);
  if (st == DORM_OK)
    st = sso_endpoint(view, "AWS_ENDPOINT_URL_SSO_OIDC", "sso_oidc", oidc, &out->oidc_url, errbuf, errcap);
  return st;
}

/* ---- the token cache --------------------------------------------------------------- */

static dorm_status read_file(const char *path, dorm__buf *b, char *errbuf, size_t errcap) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    dorm__set_err(errbuf, errcap, "%s", strerror(errno));
    return errno == ENOENT ? DORM_ERR_CONFIG : DORM_ERR_IO;
  }
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) dorm__buf_put(b, chunk, n);
  bool err = ferror(f) != 0;
  fclose(f);
  memset(chunk, 0, sizeof chunk);
  if (err || !dorm__buf_ok(b)) {
    dorm__set_err(errbuf, errcap, "%s", err ? "read error" : "larger than 64 KiB");
    return DORM_ERR_IO;
  }
  return DORM_OK;
}

/* Rewrites the cache file with the refreshed token (temp file + rename, so
 * a reader never sees half a file; mode 0600 as the CLI writes it). */
static dorm_status write_cache(const char *path, const cJSON *root, char *errbuf, size_t errcap) {
  char *text = cJSON_PrintUnformatted(root);
  if (!text) return no_memory(errbuf, errcap);
  size_t pl = strlen(path) + 16;
  char *tmp = malloc(pl);
  if (!tmp) {
    dorm__secret_free(text);
    return no_memory(errbuf, errcap);
  }
  snprintf(tmp, pl, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  dorm_status st = DORM_OK;
  if (fd < 0) {
    dorm__set_err(errbuf, errcap, "cannot write %s: %s", tmp, strerror(errno));
    st = DORM_ERR_IO;
  } else {
    size_t len = strlen(text);
    bool ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
      dorm__set_err(errbuf, errcap, "cannot write %s: %s", path, strerror(errno));
      unlink(tmp);
      st = DORM_ERR_IO;
    }
  }
  free(tmp);
  dorm__secret_free(text);
  return st;
}

static const char *jstr(const cJSON *o, const char *name) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(it) && it->valuestring && *it->valuestring ? it->valuestring : NULL;
}

/* A JSON error answer of the SSO services: "<type>: <message>". */
static void json_error(const dorm__buf *b, char *out, size_t cap) {
  cJSON *root = cJSON_ParseWithLengthOpts(dorm__buf_text(b), b->len, NULL, 0);
  const char *type = jstr(root, "__type");
  if (!type) type = jstr(root, "error");
  const char *msg = jstr(root, "message");
  if (!msg) msg = jstr(root, "Message");
  if (!msg) msg = jstr(root, "error_description");
  if (type || msg) {
    const char *t = type ? strrchr(type, '#') : NULL;
    snprintf(out, cap, "%.64s%s%.200s", t ? t + 1 : type ? type : "", type && msg ? ": " : "", msg ? msg : "");
  } else {
    size_t n = b->len < 100 ? b->len : 100;
    size_t i = 0;
    for (; i < n && i + 1 < cap; i++) out[i] = isprint((unsigned char)b->p[i]) ? b->p[i] : ' ';
    out[i < cap ? i : cap - 1] = '\0';
  }
  cJSON_Delete(root);
}

static void login_hint(const dorm_sso_source *s, char *out, size_t cap) {
  snprintf(out, cap, "run 'aws sso login --profile %s'", s->profile);
}

/* CreateToken with grant refresh_token; updates root (the cache document). */
static dorm_status refresh_token(const dorm_sso_source *s, cJSON *root, char *errbuf, size_t errcap) {
  const char *cid = jstr(root, "clientId"), *csecret = jstr(root, "clientSecret");
  const char *rtok = jstr(root, "refreshToken");
  cJSON *req = cJSON_CreateObject();
  if (!req || !cJSON_AddStringToObject(req, "clientId", cid) || !cJSON_AddStringToObject(req, "clientSecret", csecret) ||
      !cJSON_AddStringToObject(req, "grantType", "refresh_token") ||
      !cJSON_AddStringToObject(req, "refreshToken", rtok)) {
    cJSON_Delete(req);
    return no_memory(errbuf, errcap);
  }
  char *body = cJSON_PrintUnformatted(req);
  cJSON_Delete(req);
  if (!body) return no_memory(errbuf, errcap);
  char url[600], what[700];
  snprintf(url, sizeof url, "%.500s/token", s->oidc_url);
  snprintf(what, sizeof what, "SSO OIDC CreateToken (%s)", url);
  const char *headers[] = {"Content-Type: application/json", "Accept: application/json"};
  long http = 0;
  dorm__buf b;
  dorm__buf_init(&b, SSO_MAX_BODY);
  dorm_status st = dorm__creds_http(what, "POST", url, headers, 2, body, strlen(body), s->timeout_ms, &http, &b,
                                    errbuf, errcap);
  dorm__secret_free(body);
  if (st != DORM_OK) {
    dorm__buf_wipe(&b);
    return st;
  }
  if (http != 200) {
    char e[300];
    json_error(&b, e, sizeof e);
    dorm__set_err(errbuf, errcap, "%s: HTTP %ld: %s", what, http, e);
    dorm__buf_wipe(&b);
    return http == 400 || http == 401 || http == 403 ? DORM_ERR_AUTH : http == 429 ? DORM_ERR_THROTTLED
                                                                                   : DORM_ERR_SERVICE;
  }
  cJSON *ans = cJSON_ParseWithLengthOpts(dorm__buf_text(&b), b.len, NULL, 0);
  dorm__buf_wipe(&b);
  const char *tok = jstr(ans, "accessToken");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(ans, "expiresIn");
  if (!tok || !cJSON_IsNumber(exp) || exp->valuedouble <= 0) {
    dorm__set_err(errbuf, errcap, "%s: answer has no accessToken and expiresIn", what);
    cJSON_Delete(ans);
    return DORM_ERR_BAD_RESPONSE;
  }
  time_t until = time(NULL) + (time_t)exp->valuedouble;
  char when[32];
  dorm__civil_format_seconds(until, when);
  const char *newr = jstr(ans, "refreshToken");
  bool ok = cJSON_ReplaceItemInObjectCaseSensitive(root, "accessToken", cJSON_CreateString(tok)) &&
            (cJSON_DeleteItemFromObjectCaseSensitive(root, "expiresAt"), cJSON_AddStringToObject(root, "expiresAt", when)) &&
            (!newr || cJSON_ReplaceItemInObjectCaseSensitive(root, "refreshToken", cJSON_CreateString(newr)));
  cJSON_Delete(ans);
  if (!ok) return no_memory(errbuf, errcap);
  return DORM_OK;
}

/* The access token to use, refreshed when it can and must be. */
static dorm_status current_token(const dorm_sso_source *s, char **token, char *errbuf, size_t errcap) {
  *token = NULL;
  char hint[200];
  login_hint(s, hint, sizeof hint);
  dorm__buf b;
  dorm__buf_init(&b, SSO_MAX_BODY);
  char ferr[200];
  dorm_status st = read_file(s->cache_path, &b, ferr, sizeof ferr);
  if (st != DORM_OK) {
    dorm__buf_wipe(&b);
    dorm__set_err(errbuf, errcap, "no SSO token in %s (%s): %s", s->cache_path, ferr, hint);
    return st;
  }
  cJSON *root = cJSON_ParseWithLengthOpts(dorm__buf_text(&b), b.len, NULL, 0);
  dorm__buf_wipe(&b);
  const char *tok = jstr(root, "accessToken"), *exp = jstr(root, "expiresAt");
  time_t until = 0;
  if (!cJSON_IsObject(root) || !tok || !exp || !dorm__creds_parse_time(exp, &until)) {
    dorm__set_err(errbuf, errcap, "SSO token cache %s is not what aws sso login writes (accessToken, expiresAt): %s",
                  s->cache_path, hint);
    cJSON_Delete(root);
    return DORM_ERR_CONFIG;
  }
  time_t now = time(NULL);
  if (now >= until - SSO_REFRESH_WINDOW_S && s->session_name && jstr(root, "refreshToken") &&
      jstr(root, "clientId") && jstr(root, "clientSecret")) {
    time_t reg_until = 0;
    const char *reg = jstr(root, "registrationExpiresAt");
    if (!reg || (dorm__creds_parse_time(reg, &reg_until) && reg_until > now)) {
      char rerr[600];
      dorm_status rs = refresh_token(s, root, rerr, sizeof rerr);
      if (rs == DORM_OK) {
        char werr[300];
        /* A cache we cannot rewrite costs a refresh next time, nothing more. */
        (void)write_cache(s->cache_path, root, werr, sizeof werr);
        tok = jstr(root, "accessToken");
        until = now + 1;
        exp = jstr(root, "expiresAt");
        if (exp) dorm__creds_parse_time(exp, &until);
      } else if (now >= until) {
        dorm__set_err(errbuf, errcap, "the SSO session expired and could not be refreshed (%s): %s", rerr, hint);
        cJSON_Delete(root);
        return rs == DORM_ERR_NO_MEMORY ? rs : DORM_ERR_AUTH;
      }
    }
  }
  if (now >= until) {
    dorm__set_err(errbuf, errcap, "the SSO session expired at %s: %s", exp, hint);
    cJSON_Delete(root);
    return DORM_ERR_AUTH;
  }
  *token = strdup(tok);
  cJSON_Delete(root);
  return *token ? DORM_OK : no_memory(errbuf, errcap);
}

dorm_status dorm__sso_fetch(const dorm_sso_source *s, dorm_creds_value *out, char *errbuf, size_t errcap) {
  memset(out, 0, sizeof *out);
  char *token = NULL;
  dorm_status st = current_token(s, &token, errbuf, errcap);
  if (st != DORM_OK) return st;
  char *acct = curl_easy_escape(NULL, s->account_id, 0), *role = curl_easy_escape(NULL, s->role_name, 0);
  size_t hl = strlen(token) + 32;
  char *auth = malloc(hl);
  if (!acct || !role || !auth) {
    curl_free(acct);
    curl_free(role);
    free(auth);
    dorm__secret_free(token);
    return no_memory(errbuf, errcap);
  }
  snprintf(auth, hl, "x-amz-sso_bearer_token: %s", token);
  dorm__secret_free(token);
  char url[900], what[1000];
  snprintf(url, sizeof url, "%.500s/federation/credentials?account_id=%.64s&role_name=%.200s", s->portal_url, acct,
           role);
  curl_free(acct);
  curl_free(role);
  snprintf(what, sizeof what, "SSO GetRoleCredentials (%s)", s->portal_url);
  const char *headers[] = {auth, "Accept: application/json"};
  dorm__buf b;
  dorm__buf_init(&b, SSO_MAX_BODY);
  long http = 0;
  st = dorm__creds_http(what, "GET", url, headers, 2, NULL, 0, s->timeout_ms, &http, &b, errbuf, errcap);
  dorm__secret_free(auth);
  if (st == DORM_OK && http != 200) {
    char e[300], hint[200];
    json_error(&b, e, sizeof e);
    login_hint(s, hint, sizeof hint);
    if (http == 401) {
      dorm__set_err(errbuf, errcap, "%s: HTTP 401: %s: the SSO session is no longer valid: %s", what, e, hint);
      st = DORM_ERR_AUTH;
    } else {
      dorm__set_err(errbuf, errcap, "%s: HTTP %ld: %s (account %s, role %s)", what, http, e, s->account_id,
                    s->role_name);
      st = http == 403 ? DORM_ERR_AUTH : http == 429 ? DORM_ERR_THROTTLED : http >= 500 ? DORM_ERR_SERVICE
                                                                                       : DORM_ERR_BAD_RESPONSE;
    }
  } else if (st == DORM_OK) {
    cJSON *root = cJSON_ParseWithLengthOpts(dorm__buf_text(&b), b.len, NULL, 0);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(root, "roleCredentials");
    const char *akid = jstr(rc, "accessKeyId"), *secret = jstr(rc, "secretAccessKey");
    const char *stok = jstr(rc, "sessionToken");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rc, "expiration");
    if (!akid || !secret || !stok || !cJSON_IsNumber(exp)) {
      dorm__set_err(errbuf, errcap, "%s: answer has no roleCredentials with accessKeyId, secretAccessKey, "
                    "sessionToken and expiration", what);
      st = DORM_ERR_BAD_RESPONSE;
    } else {
      out->access_key_id = strdup(akid);
      out->secret_access_key = strdup(secret);
      out->session_token = strdup(stok);
      out->expiration = (time_t)(exp->valuedouble / 1000.0); /* milliseconds since the epoch */
      if (!out->access_key_id || !out->secret_access_key || !out->session_token) st = no_memory(errbuf, errcap);
    }
    if (root) {
      /* Wipe the secrets cJSON copied before freeing its tree. */
      cJSON *c = cJSON_GetObjectItemCaseSensitive(rc, "secretAccessKey");
      if (cJSON_IsString(c) && c->valuestring) memset(c->valuestring, 0, strlen(c->valuestring));
      c = cJSON_GetObjectItemCaseSensitive(rc, "sessionToken");
      if (cJSON_IsString(c) && c->valuestring) memset(c->valuestring, 0, strlen(c->valuestring));
    }
    cJSON_Delete(root);
  }
  dorm__buf_wipe(&b);
  if (st != DORM_OK) dorm__creds_value_clear(out);
  return st;
}
