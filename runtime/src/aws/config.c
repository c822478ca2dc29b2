#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core_internal.h"

static dorm_status no_memory(char *errbuf, size_t errcap) {
  dorm__set_err(errbuf, errcap, "out of memory while resolving the configuration");
  return DORM_ERR_NO_MEMORY;
}

void dorm_config_init(dorm_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->retry_mode = DORM_RETRY_MODE_UNSET;
}

const char *dorm__config_env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

dorm_status dorm__config_parse_bool(const char *text, const char *origin, bool *out,
                                   char *errbuf, size_t errcap) {
  const char *t = text ? text : "";
  while (*t == ' ' || *t == '\t') t++;
  size_t n = strlen(t);
  while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
  if (n == 4 && strncasecmp(t, "true", 4) == 0) { *out = true; return DORM_OK; }
  if (n == 5 && strncasecmp(t, "false", 5) == 0) { *out = false; return DORM_OK; }
  dorm__set_err(errbuf, errcap, "%s: expected 'true' or 'false', got '%.64s'", origin, text ? text : "");
  return DORM_ERR_CONFIG;
}

/* ---- the shared files ---------------------------------------------------- */

/* Matches a config-file section name "prefix<blanks>name". */
static bool prefixed_name_is(const char *section, const char *prefix, const char *name) {
  size_t pl = strlen(prefix);
  if (strncmp(section, prefix, pl) != 0) return false;
  const char *s = section + pl;
  if (*s != ' ' && *s != '\t') return false;
  while (*s == ' ' || *s == '\t') s++;
  return strcmp(s, name) == 0;
}

static const dorm_ini_section *find_prefixed(const dorm_ini *ini, const char *prefix, const char *name) {
  if (!ini) return NULL;
  for (size_t i = 0; i < ini->nsections; i++)
    if (prefixed_name_is(ini->sections[i].name, prefix, name)) return &ini->sections[i];
  return NULL;
}

/* The config file's section for a profile: [profile name], and for the
 * default profile [profile default] (which wins) or [default]. */
static const dorm_ini_section *config_profile_section(const dorm_ini *ini, const char *name) {
  const dorm_ini_section *s = find_prefixed(ini, "profile", name);
  if (!s && strcmp(name, "default") == 0) s = dorm__ini_section_find(ini, "default");
  return s;
}

/* The credentials file uses bare names; "[profile x]" there is not a profile. */
static const dorm_ini_section *credentials_profile_section(const dorm_ini *ini, const char *name) {
  return dorm__ini_section_find(ini, name);
}

static void where_of(const dorm_ini *ini, const dorm_ini_prop *p, char *where, size_t wcap) {
  if (where && wcap) snprintf(where, wcap, "%s:%d", ini->path, p->line);
}

const dorm_ini_prop *dorm__config_profile_prop(const dorm_resolved_config *rc, const char *key,
                                              char *where, size_t wcap) {
  if (!rc || !rc->profile) return NULL;
  const dorm_ini *files[2] = {rc->credentials_file, rc->config_file};
  for (int i = 0; i < 2; i++) {
    if (!files[i]) continue;
    const dorm_ini_section *sec = i == 0 ? credentials_profile_section(files[i], rc->profile)
                                         : config_profile_section(files[i], rc->profile);
    const dorm_ini_prop *p = dorm__ini_get(sec, key);
    if (p && (p->value[0] || p->nsub > 0)) {
      where_of(files[i], p, where, wcap);
      return p;
    }
  }
  return NULL;
}

const char *dorm__config_profile_value(const dorm_resolved_config *rc, const char *key,
                                      char *where, size_t wcap) {
  const dorm_ini_prop *p = dorm__config_profile_prop(rc, key, where, wcap);
  return p && p->value[0] ? p->value : NULL;
}

/* Expands a leading "~/" with $HOME. Returns a new string or NULL (no HOME, or OOM). */
static char *expand_home(const char *path) {
  if (path[0] != '~' || (path[1] != '/' && path[1] != '\0')) return strdup(path);
  const char *home = dorm__config_env("HOME");
  if (!home) return NULL;
  size_t hl = strlen(home), pl = strlen(path + 1);
  char *out = malloc(hl + pl + 1);
  if (!out) return NULL;
  memcpy(out, home, hl);
  memcpy(out + hl, path + 1, pl + 1);
  return out;
}

static dorm_status load_shared_file(const char *env_name, const char *default_path, dorm_ini **out,
                                    char *errbuf, size_t errcap) {
  const char *given = dorm__config_env(env_name);
  const char *shown = given ? given : default_path;
  char *real = expand_home(shown);
  if (!real) {
    /* Without HOME there is no default file; that is the same as a missing one. */
    return dorm__ini_parse("", 0, shown, out, errbuf, errcap);
  }
  dorm_status st = dorm__ini_load(real, shown, out, NULL, errbuf, errcap);
  free(real);
  return st;
}

/* ---- region and endpoint ---------------------------------------------------- */

static bool valid_region(const char *r) {
  size_t n = strlen(r);
  if (n == 0 || n > 63 || r[0] == '-' || r[n - 1] == '-') return false;
  for (size_t i = 0; i < n; i++) {
    char c = r[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

static dorm_status resolve_region(const dorm_config *cfg, dorm_resolved_config *rc, char *errbuf,
                                  size_t errcap) {
  const char *v = NULL;
  char where[256] = "";
  if (cfg->region && *cfg->region) {
    v = cfg->region;
    snprintf(rc->region_source, sizeof rc->region_source, "dorm_config.region");
  } else if ((v = dorm__config_env("AWS_REGION"))) {
    snprintf(rc->region_source, sizeof rc->region_source, "AWS_REGION");
  } else if ((v = dorm__config_env("AWS_DEFAULT_REGION"))) {
    snprintf(rc->region_source, sizeof rc->region_source, "AWS_DEFAULT_REGION");
  } else if ((v = dorm__config_profile_value(rc, "region", where, sizeof where))) {
    snprintf(rc->region_source, sizeof rc->region_source, "%s", where);
  } else {
    dorm__set_err(errbuf, errcap,
            "no region: set dorm_config.region, AWS_REGION or AWS_DEFAULT_REGION, or region in "
            "profile '%s' (%s)", rc->profile, rc->config_file->path);
    return DORM_ERR_CONFIG;
  }
  if (!valid_region(v)) {
    dorm__set_err(errbuf, errcap, "%s: '%.64s' is not a region name (expected e.g. us-east-1)",
            rc->region_source, v);
    return DORM_ERR_CONFIG;
  }
  rc->region = strdup(v);
  return rc->region ? DORM_OK : no_memory(errbuf, errcap);
}

/* Checks and normalises an endpoint URL into rc->endpoint_url/host/path. */
static dorm_status set_endpoint(dorm_resolved_config *rc, const char *url, char *errbuf, size_t errcap) {
  const char *origin = rc->endpoint_source;
  if (!strstr(url, "://")) {
    dorm__set_err(errbuf, errcap, "%s: endpoint '%.200s' must be a URL starting with http:// or https://",
            origin, url);
    return DORM_ERR_CONFIG;
  }
  CURLU *u = curl_url();
  if (!u) return no_memory(errbuf, errcap);
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *frag = NULL,
       *user = NULL;
  dorm_status st = DORM_OK;
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc != CURLUE_OK) {
    dorm__set_err(errbuf, errcap, "%s: endpoint '%.200s' is not a valid URL (%s)", origin, url,
            curl_url_strerror(uc));
    st = DORM_ERR_CONFIG;
    goto done;
  }
  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u, CURLUPART_HOST, &host, 0);
  curl_url_get(u, CURLUPART_PORT, &port, 0);
  curl_url_get(u, CURLUPART_PATH, &path, 0);
  curl_url_get(u, CURLUPART_QUERY, &query, 0);
  curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
  curl_url_get(u, CURLUPART_USER, &user, 0);
  if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
    dorm__set_err(errbuf, errcap, "%s: endpoint '%.200s' must use http or https", origin, url);
    st = DORM_ERR_CONFIG;
    goto done;
  }
  if (!host || !*host) {
    dorm__set_err(errbuf, errcap, "%s: endpoint '%.200s' has no host", origin, url);
    st = DORM_ERR_CONFIG;
    goto done;
  }
  if (query || frag || user) {
    dorm__set_err(errbuf, errcap, "%s: endpoint '%.200s' must not contain a %s", origin, url,
            user ? "user name" : query ? "query string" : "fragment");
    st = DORM_ERR_CONFIG;
    goto done;
  }
  rc->https = strcmp(scheme, "https") == 0;
  const char *default_port = rc->https ? "443" : "80";
  bool show_port = port && strcmp(port, default_port) != 0;
  const char *p = path && *path ? path : "/";
  size_t hl = strlen(host) + (show_port ? 1 + strlen(port) : 0);
  rc->host = malloc(hl + 1);
  rc->path = strdup(p);
  rc->endpoint_url = malloc(strlen(scheme) + 3 + hl + strlen(p) + 1);
  if (!rc->host || !rc->path || !rc->endpoint_url) {
    st = no_memory(errbuf, errcap);
    goto done;
  }
  snprintf(rc->host, hl + 1, "%s%s%s", host, show_port ? ":" : "", show_port ? port : "");
  sprintf(rc->endpoint_url, "%s://%s%s", scheme, rc->host, p);
done:
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_free(frag);
  curl_free(user);
  curl_url_cleanup(u);
  return st;
}

static const char *dns_suffix(const char *region) {
  if (strncmp(region, "cn-", 3) == 0) return "amazonaws.com.cn";
  if (strncmp(region, "us-isob-", 8) == 0) return "sc2s.sgov.gov";
  if (strncmp(region, "us-iso-", 7) == 0) return "c2s.ic.gov";
  return "amazonaws.com";
}

/* The services section's endpoint for one service ("dynamodb",
 * "dynamodb_streams") for the active profile, if any. */
static dorm_status services_endpoint(dorm_resolved_config *rc, const char *service, const char **url,
                                     char *where, size_t wcap, char *errbuf, size_t errcap) {
  *url = NULL;
  char pwhere[256];
  const char *name = dorm__config_profile_value(rc, "services", pwhere, sizeof pwhere);
  if (!name) return DORM_OK;
  const dorm_ini_section *sec = find_prefixed(rc->config_file, "services", name);
  if (!sec) {
    dorm__set_err(errbuf, errcap, "%s: profile '%s' uses services '%s', but %s has no [services %s] section",
            pwhere, rc->profile, name, rc->config_file->path, name);
    return DORM_ERR_CONFIG;
  }
  const dorm_ini_prop *svc = dorm__ini_get(sec, service);
  const dorm_ini_prop *ep = dorm__ini_sub_get(svc, "endpoint_url");
  if (ep && ep->value[0]) {
    *url = ep->value;
    where_of(rc->config_file, ep, where, wcap);
  }
  return DORM_OK;
}

/* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, else the profile's
 * ignore_configured_endpoint_urls; false when neither is set. */
static dorm_status endpoints_ignored(dorm_resolved_config *rc, bool *ignore, char *errbuf, size_t errcap) {
  char where[256] = "";
  *ignore = false;
  const char *v = dorm__config_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  if (v) return dorm__config_parse_bool(v, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", ignore, errbuf, errcap);
  if ((v = dorm__config_profile_value(rc, "ignore_configured_endpoint_urls", where, sizeof where)))
    return dorm__config_parse_bool(v, where, ignore, errbuf, errcap);
  return DORM_OK;
}

dorm_status dorm__config_service_endpoint(const dorm_resolved_config *rc, const char *service,
                                         const char **url, char *where, size_t wcap, char *errbuf,
                                         size_t errcap) {
  /* services_endpoint only reads rc; it is not const because of its callers. */
  return services_endpoint((dorm_resolved_config *)rc, service, url, where, wcap, errbuf, errcap);
}

dorm_status dorm__config_endpoints_ignored(const dorm_resolved_config *rc, bool *ignore, char *errbuf,
                                          size_t errcap) {
  return endpoints_ignored((dorm_resolved_config *)rc, ignore, errbuf, errcap);
}

bool dorm__config_profile_exists(const dorm_resolved_config *rc, const char *name) {
  return config_profile_section(rc->config_file, name) || credentials_profile_section(rc->credentials_file, name);
}

const dorm_ini_section *dorm__config_section(const dorm_resolved_config *rc, const char *prefix,
                                            const char *name) {
  return find_prefixed(rc->config_file, prefix, name);
}

static dorm_status resolve_endpoint(const dorm_config *cfg, dorm_resolved_config *rc, char *errbuf,
                                    size_t errcap) {
  char where[256] = "";
  if (cfg->endpoint && *cfg->endpoint) {
    snprintf(rc->endpoint_source, sizeof rc->endpoint_source, "dorm_config.endpoint");
    return set_endpoint(rc, cfg->endpoint, errbuf, errcap);
  }
  bool ignore = false;
  dorm_status st = endpoints_ignored(rc, &ignore, errbuf, errcap);
  if (st != DORM_OK) return st;
  if (!ignore) {
    const char *url = NULL;
    if ((url = dorm__config_env("AWS_ENDPOINT_URL_DYNAMODB"))) {
      snprintf(rc->endpoint_source, sizeof rc->endpoint_source, "AWS_ENDPOINT_URL_DYNAMODB");
    } else {
      st = services_endpoint(rc, "dynamodb", &url, where, sizeof where, errbuf, errcap);
      if (st != DORM_OK) return st;
      if (url) {
        snprintf(rc->endpoint_source, sizeof rc->endpoint_source, "%s", where);
      } else if ((url = dorm__config_env("AWS_ENDPOINT_URL"))) {
        snprintf(rc->endpoint_source, sizeof rc->endpoint_source, "AWS_ENDPOINT_URL");
      } else if ((url = dorm__config_profile_value(rc, "endpoint_url", where, sizeof where))) {
        snprintf(rc->endpoint_source, sizeof rc->endpoint_source, "%s", where);
      }
    }
    if (url) return set_endpoint(rc, url, errbuf, errcap);
  }
  snprintf(rc->endpoint_source, sizeof rc->endpoint_source, "default");
  char url[160];
  snprintf(url, sizeof url, "https://dynamodb.%s.%s", rc->region, dns_suffix(rc->region));
  return set_endpoint(rc, url, errbuf, errcap);
}

/* DynamoDB Streams' endpoint (config.h has the order). Runs after
 * resolve_endpoint. set_endpoint checks and normalises the URL into a
 * scratch config whose results are moved over. */
static dorm_status resolve_streams_endpoint(const dorm_config *cfg, dorm_resolved_config *rc, char *errbuf,
                                            size_t errcap) {
  const char *url = NULL;
  char where[256] = "";
  dorm_resolved_config tmp;
  memset(&tmp, 0, sizeof tmp);
  bool explicit = cfg->endpoint && *cfg->endpoint, ignore = false;
  dorm_status st = explicit ? DORM_OK : endpoints_ignored(rc, &ignore, errbuf, errcap);
  if (st != DORM_OK) return st;
  if (!explicit && !ignore) {
    if ((url = dorm__config_env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS"))) {
      snprintf(tmp.endpoint_source, sizeof tmp.endpoint_source, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS");
    } else {
      st = services_endpoint(rc, "dynamodb_streams", &url, where, sizeof where, errbuf, errcap);
      if (st != DORM_OK) return st;
      if (url) snprintf(tmp.endpoint_source, sizeof tmp.endpoint_source, "%s", where);
    }
  }
  if (!url && strcmp(rc->endpoint_source, "default") != 0) {
    /* dorm_config.endpoint, or DynamoDB's configured endpoint: the same server. */
    url = rc->endpoint_url;
    snprintf(tmp.endpoint_source, sizeof tmp.endpoint_source, "%s", rc->endpoint_source);
  }
  char def[160];
  if (!url) {
    snprintf(def, sizeof def, "https://streams.dynamodb.%s.%s", rc->region, dns_suffix(rc->region));
    url = def;
    snprintf(tmp.endpoint_source, sizeof tmp.endpoint_source, "default");
  }
  st = set_endpoint(&tmp, url, errbuf, errcap);
  /* DynamoDB's own endpoint is checked for a path when the client is made. */
  if (st == DORM_OK && url != rc->endpoint_url && strcmp(tmp.path, "/") != 0) {
    dorm__set_err(errbuf, errcap, "%s: DynamoDB Streams endpoint '%.200s' has a path; endpoints have none",
                  tmp.endpoint_source, url);
    st = DORM_ERR_CONFIG;
  }
  if (st == DORM_OK) {
    rc->streams_endpoint_url = tmp.endpoint_url;
    rc->streams_host = tmp.host;
    tmp.endpoint_url = tmp.host = NULL;
    memcpy(rc->streams_endpoint_source, tmp.endpoint_source, sizeof rc->streams_endpoint_source);
  }
  free(tmp.endpoint_url);
  free(tmp.host);
  free(tmp.path);
  return st;
}

/* ---- retries, timeouts, credentials ----------------------------------------- */

static dorm_status resolve_retry(const dorm_config *cfg, dorm_resolved_config *rc, char *errbuf,
                                 size_t errcap) {
  char where[256];
  dorm_retry_mode mode = DORM_RETRY_MODE_STANDARD;
  const char *v;
  dorm_status st = DORM_OK;
  if (cfg->retry_mode == DORM_RETRY_MODE_STANDARD || cfg->retry_mode == DORM_RETRY_MODE_LEGACY) {
    mode = cfg->retry_mode;
  } else if (cfg->retry_mode != DORM_RETRY_MODE_UNSET) {
    dorm__set_err(errbuf, errcap, "dorm_config.retry_mode: unknown mode %d", (int)cfg->retry_mode);
    return DORM_ERR_INVALID_ARGUMENT;
  } else if ((v = dorm__config_env("AWS_RETRY_MODE"))) {
    st = dorm__retry_mode_parse(v, "AWS_RETRY_MODE", &mode, errbuf, errcap);
  } else if ((v = dorm__config_profile_value(rc, "retry_mode", where, sizeof where))) {
    st = dorm__retry_mode_parse(v, where, &mode, errbuf, errcap);
  }
  if (st != DORM_OK) return st;
  dorm__retry_settings_defaults(&rc->retry, mode);

  int attempts = rc->retry.max_attempts;
  /* The same bound as AWS_MAX_ATTEMPTS and the profile's (docs: 1 to 1000). */
  if (cfg->max_attempts < 0 || cfg->max_attempts > 1000) {
    dorm__set_err(errbuf, errcap, "dorm_config.max_attempts: must be 1 to 1000 (0 = default), got %d",
            cfg->max_attempts);
    return DORM_ERR_INVALID_ARGUMENT;
  } else if (cfg->max_attempts > 0) {
    attempts = cfg->max_attempts;
  } else if ((v = dorm__config_env("AWS_MAX_ATTEMPTS"))) {
    st = dorm__retry_max_attempts_parse(v, "AWS_MAX_ATTEMPTS", &attempts, errbuf, errcap);
  } else if ((v = dorm__config_profile_value(rc, "max_attempts", where, sizeof where))) {
    st = dorm__retry_max_attempts_parse(v, where, &attempts, errbuf, errcap);
  }
  if (st != DORM_OK) return st;
  rc->retry.max_attempts = attempts;
  return DORM_OK;
}

static dorm_status copy_opt(const char *src, char **dst, char *errbuf, size_t errcap) {
  if (!src || !*src) return DORM_OK;
  *dst = strdup(src);
  return *dst ? DORM_OK : no_memory(errbuf, errcap);
}

static dorm_status resolve_basics(const dorm_config *cfg, dorm_resolved_config *rc, char *errbuf,
                                  size_t errcap) {
  if (cfg->connect_timeout_ms < 0 || cfg->request_timeout_ms < 0) {
    dorm__set_err(errbuf, errcap, "dorm_config.%s: must not be negative",
            cfg->connect_timeout_ms < 0 ? "connect_timeout_ms" : "request_timeout_ms");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  rc->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : DORM_DEFAULT_CONNECT_TIMEOUT_MS;
  rc->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : DORM_DEFAULT_REQUEST_TIMEOUT_MS;
  rc->max_response_bytes = cfg->max_response_bytes ? cfg->max_response_bytes : DORM_DEFAULT_MAX_RESPONSE_BYTES;
  rc->credential_process_timeout_ms = DORM_DEFAULT_PROCESS_TIMEOUT_MS;
  rc->metadata_timeout_ms = DORM_DEFAULT_METADATA_TIMEOUT_MS;

  bool has_id = cfg->access_key_id && *cfg->access_key_id;
  bool has_secret = cfg->secret_access_key && *cfg->secret_access_key;
  bool has_token = cfg->session_token && *cfg->session_token;
  if (has_id != has_secret || (has_token && !has_id)) {
    dorm__set_err(errbuf, errcap, "dorm_config: %s",
            has_id ? "access_key_id is set but secret_access_key is not"
                   : has_secret ? "secret_access_key is set but access_key_id is not"
                                : "session_token is set without access_key_id and secret_access_key");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  dorm_status st = copy_opt(cfg->access_key_id, &rc->access_key_id, errbuf, errcap);
  if (st == DORM_OK) st = copy_opt(cfg->secret_access_key, &rc->secret_access_key, errbuf, errcap);
  if (st == DORM_OK) st = copy_opt(cfg->session_token, &rc->session_token, errbuf, errcap);
  return st;
}

static dorm_status resolve_profile(const dorm_config *cfg, dorm_resolved_config *rc, char *errbuf,
                                   size_t errcap) {
  const char *name;
  bool named = true;
  if (cfg->profile && *cfg->profile) {
    name = cfg->profile;
    snprintf(rc->profile_source, sizeof rc->profile_source, "dorm_config.profile");
  } else if ((name = dorm__config_env("AWS_PROFILE"))) {
    snprintf(rc->profile_source, sizeof rc->profile_source, "AWS_PROFILE");
  } else {
    name = "default";
    named = false;
    snprintf(rc->profile_source, sizeof rc->profile_source, "default");
  }
  rc->profile = strdup(name);
  if (!rc->profile) return no_memory(errbuf, errcap);
  dorm_status st = load_shared_file("AWS_CONFIG_FILE", "~/.aws/config", &rc->config_file, errbuf, errcap);
  if (st == DORM_OK)
    st = load_shared_file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", &rc->credentials_file,
                          errbuf, errcap);
  if (st != DORM_OK) return st;
  /* A profile someone asked for by name must exist (the SDKs refuse to run
   * with a mistyped profile rather than fall back to other credentials). */
  if (named && strcmp(name, "default") != 0 && !config_profile_section(rc->config_file, name) &&
      !credentials_profile_section(rc->credentials_file, name)) {
    dorm__set_err(errbuf, errcap, "profile '%s' (from %s) not found in %s or %s", name, rc->profile_source,
            rc->config_file->path, rc->credentials_file->path);
    return DORM_ERR_CONFIG;
  }
  return DORM_OK;
}

dorm_status dorm__config_resolve(const dorm_config *cfg, dorm_resolved_config *out, char *errbuf,
                                size_t errcap) {
  dorm_config none;
  dorm_config_init(&none);
  if (!cfg) cfg = &none;
  memset(out, 0, sizeof *out);
  if (errbuf && errcap) errbuf[0] = '\0';
  dorm_status st = resolve_basics(cfg, out, errbuf, errcap);
  if (st == DORM_OK) st = resolve_profile(cfg, out, errbuf, errcap);
  if (st == DORM_OK) st = resolve_region(cfg, out, errbuf, errcap);
  if (st == DORM_OK) st = resolve_endpoint(cfg, out, errbuf, errcap);
  if (st == DORM_OK) st = resolve_streams_endpoint(cfg, out, errbuf, errcap);
  if (st == DORM_OK) st = resolve_retry(cfg, out, errbuf, errcap);
  if (st != DORM_OK) {
    dorm__resolved_config_free(out);
    return st;
  }
  return DORM_OK;
}

void dorm__secret_free(char *s) {
  if (!s) return;
  volatile char *v = s;
  while (*v) *v++ = 0;
  free(s);
}

void dorm__resolved_config_free(dorm_resolved_config *rc) {
  if (!rc) return;
  free(rc->profile);
  free(rc->region);
  free(rc->endpoint_url);
  free(rc->host);
  free(rc->path);
  free(rc->streams_endpoint_url);
  free(rc->streams_host);
  free(rc->access_key_id);
  dorm__secret_free(rc->secret_access_key);
  dorm__secret_free(rc->session_token);
  dorm__ini_free(rc->config_file);
  dorm__ini_free(rc->credentials_file);
  memset(rc, 0, sizeof *rc);
}
