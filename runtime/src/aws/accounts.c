/* accounts: dorm_accounts, clients for other accounts' roles (dorm/accounts.h).
 *
 * One credential provider per registered role (an AssumeRole provider whose
 * source is the base provider), shared by every client made for the role:
 * that is the per-role cache, refreshed by credentials.c's rules. */
#include "dorm/accounts.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "config.h"
#include "credentials.h"

typedef struct account_role {
  char *name;
  char *region;                   /* NULL: the base's */
  dorm_credentials_provider *creds;
} account_role;

struct dorm_accounts {
  pthread_mutex_t mu;             /* guards roles */
  dorm_config base;               /* deep copy (strings owned) */
  char *strings[6];               /* the copies behind base's strings */
  dorm_resolved_config rc;        /* the base resolved: region, profile, shared files for STS */
  dorm_credentials_provider *base_creds;
  account_role *roles;
  size_t nroles, cap;
};

static char *dup_opt(const char *s, bool *oom) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *oom = true;
  return d;
}

void dorm_accounts_free(dorm_accounts *a) {
  if (!a) return;
  for (size_t i = 0; i < a->nroles; i++) {
    free(a->roles[i].name);
    free(a->roles[i].region);
    dorm__credentials_provider_free(a->roles[i].creds);
  }
  free(a->roles);
  dorm__credentials_provider_free(a->base_creds);
  dorm__resolved_config_free(&a->rc);
  for (size_t i = 0; i < 6; i++) dorm__secret_free(a->strings[i]);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

dorm_status dorm_accounts_new(const dorm_config *base, dorm_accounts **out, char *errbuf, size_t errcap) {
  char scratch[8];
  if (!errbuf) {
    errbuf = scratch;
    errcap = sizeof scratch;
  }
  if (!out) {
    snprintf(errbuf, errcap, "dorm_accounts_new: out is NULL");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  *out = NULL;
  dorm_accounts *a = calloc(1, sizeof *a);
  if (!a) {
    snprintf(errbuf, errcap, "out of memory");
    return DORM_ERR_NO_MEMORY;
  }
  pthread_mutex_init(&a->mu, NULL);
  dorm_config_init(&a->base);
  if (base) {
    bool oom = false;
    a->base = *base;
    a->base.region = a->strings[0] = dup_opt(base->region, &oom);
    a->base.endpoint = a->strings[1] = dup_opt(base->endpoint, &oom);
    a->base.profile = a->strings[2] = dup_opt(base->profile, &oom);
    a->base.access_key_id = a->strings[3] = dup_opt(base->access_key_id, &oom);
    a->base.secret_access_key = a->strings[4] = dup_opt(base->secret_access_key, &oom);
    a->base.session_token = a->strings[5] = dup_opt(base->session_token, &oom);
    if (oom) {
      dorm_accounts_free(a);
      snprintf(errbuf, errcap, "out of memory");
      return DORM_ERR_NO_MEMORY;
    }
  }
  dorm_status st = dorm__config_resolve(&a->base, &a->rc, errbuf, errcap);
  if (st == DORM_OK) st = dorm__credentials_provider_new(&a->rc, &a->base_creds, errbuf, errcap);
  if (st != DORM_OK) {
    dorm_accounts_free(a);
    return st;
  }
  *out = a;
  return DORM_OK;
}

/* "arn:<partition>:iam::<12 digits>:role/<path/name>"; *account gets the id. */
static bool parse_role_arn(const char *arn, char account[13]) {
  if (strncmp(arn, "arn:", 4) != 0) return false;
  const char *p = strchr(arn + 4, ':');
  if (!p || p == arn + 4 || strncmp(p, ":iam::", 6) != 0) return false;
  p += 6;
  for (int i = 0; i < 12; i++)
    if (!isdigit((unsigned char)p[i])) return false;
  memcpy(account, p, 12);
  account[12] = '\0';
  return strncmp(p + 12, ":role/", 6) == 0 && p[18] != '\0';
}

dorm_status dorm_accounts_add(dorm_accounts *a, const char *name, const dorm_role_config *role, char *errbuf,
                              size_t errcap) {
  char scratch[8];
  if (!errbuf) {
    errbuf = scratch;
    errcap = sizeof scratch;
  }
  if (!a || !name || !*name || !role) {
    snprintf(errbuf, errcap, "dorm_accounts_add: accounts, name and role are required");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  char account[13];
  if (!role->role_arn || !parse_role_arn(role->role_arn, account)) {
    snprintf(errbuf, errcap, "dorm_accounts_add '%.64s': role_arn '%.200s' is not a role ARN "
             "(arn:aws:iam::<12-digit account>:role/<name>)", name, role->role_arn ? role->role_arn : "(null)");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  char origin[128];
  snprintf(origin, sizeof origin, "dorm_accounts_add '%.64s'", name);
  dorm_role_source r;
  memset(&r, 0, sizeof r);
  char deflt[32];
  snprintf(deflt, sizeof deflt, "dorm-%s", account);
  const char *session = role->session_name ? role->session_name : deflt;
  dorm_status st = dorm__sts_check_session_name(session, origin, errbuf, errcap);
  if (st == DORM_OK && role->duration_seconds != 0 &&
      (role->duration_seconds < 900 || role->duration_seconds > 43200)) {
    snprintf(errbuf, errcap, "%s: duration_seconds must be 0 or from 900 to 43200, got %d", origin,
             role->duration_seconds);
    st = DORM_ERR_CONFIG;
  }
  if (st != DORM_OK) return DORM_ERR_INVALID_ARGUMENT;
  const char *region = role->region && *role->region ? role->region : a->rc.region;
  bool oom = false;
  r.role_arn = dup_opt(role->role_arn, &oom);
  r.session_name = dup_opt(session, &oom);
  r.external_id = role->external_id && *role->external_id ? dup_opt(role->external_id, &oom) : NULL;
  r.duration_s = role->duration_seconds;
  r.timeout_ms = DORM_STS_DEFAULT_TIMEOUT_MS;
  if (oom) {
    dorm__role_source_clear(&r);
    snprintf(errbuf, errcap, "out of memory");
    return DORM_ERR_NO_MEMORY;
  }
  st = dorm__sts_endpoint_resolve(&a->rc, region, &r.sts, errbuf, errcap);
  if (st != DORM_OK) {
    dorm__role_source_clear(&r);
    return st;
  }
  pthread_mutex_lock(&a->mu);
  for (size_t i = 0; i < a->nroles; i++) {
    if (strcmp(a->roles[i].name, name) == 0) {
      pthread_mutex_unlock(&a->mu);
      dorm__role_source_clear(&r);
      snprintf(errbuf, errcap, "dorm_accounts_add: '%.64s' is already registered", name);
      return DORM_ERR_INVALID_ARGUMENT;
    }
  }
  if (a->nroles == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 8;
    account_role *n = realloc(a->roles, cap * sizeof *n);
    if (!n) {
      pthread_mutex_unlock(&a->mu);
      dorm__role_source_clear(&r);
      snprintf(errbuf, errcap, "out of memory");
      return DORM_ERR_NO_MEMORY;
    }
    a->roles = n;
    a->cap = cap;
  }
  r.source = dorm__credentials_provider_ref(a->base_creds);
  char desc[320];
  snprintf(desc, sizeof desc, "account '%.64s' (role %.200s)", name, role->role_arn);
  account_role *e = &a->roles[a->nroles];
  memset(e, 0, sizeof *e);
  e->name = dup_opt(name, &oom);
  e->region = role->region && *role->region ? dup_opt(role->region, &oom) : NULL;
  st = oom ? DORM_ERR_NO_MEMORY : dorm__credentials_provider_new_role(&r, desc, &e->creds, errbuf, errcap);
  if (st != DORM_OK) {
    dorm__role_source_clear(&r);
    free(e->name);
    free(e->region);
    pthread_mutex_unlock(&a->mu);
    if (oom) snprintf(errbuf, errcap, "out of memory");
    return st;
  }
  a->nroles++;
  pthread_mutex_unlock(&a->mu);
  return DORM_OK;
}

dorm_status dorm_accounts_client(dorm_accounts *a, const char *name, dorm_client **out, char *errbuf,
                                 size_t errcap) {
  char scratch[8];
  if (!errbuf) {
    errbuf = scratch;
    errcap = sizeof scratch;
  }
  if (!out) {
    snprintf(errbuf, errcap, "dorm_accounts_client: out is NULL");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  *out = NULL;
  if (!a || !name) {
    snprintf(errbuf, errcap, "dorm_accounts_client: accounts and name are required");
    return DORM_ERR_INVALID_ARGUMENT;
  }
  pthread_mutex_lock(&a->mu);
  account_role *e = NULL;
  for (size_t i = 0; i < a->nroles && !e; i++)
    if (strcmp(a->roles[i].name, name) == 0) e = &a->roles[i];
  if (!e) {
    pthread_mutex_unlock(&a->mu);
    snprintf(errbuf, errcap, "dorm_accounts_client: no account registered as '%.64s'", name);
    return DORM_ERR_NOT_FOUND;
  }
  /* The client's own configuration is the base's in the role's region;
   * its credentials are the role's, never the base's. */
  dorm_config cfg = a->base;
  if (e->region) cfg.region = e->region;
  cfg.access_key_id = cfg.secret_access_key = cfg.session_token = NULL;
  dorm_credentials_provider *creds = dorm__credentials_provider_ref(e->creds);
  pthread_mutex_unlock(&a->mu);
  dorm_status st = dorm__client_new_shared(&cfg, creds, out, errbuf, errcap);
  dorm__credentials_provider_free(creds);
  return st;
}
