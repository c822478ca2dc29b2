/* credentials: where a client's AWS keys come from, and keeping them fresh.
 *
 * The chain follows the AWS SDKs; the first source that is configured is
 * used, and a configured source that fails is an error (the chain does not
 * silently fall through to the next one):
 *   1. explicit keys in dorm_config;
 *   2. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      (+ AWS_SESSION_TOKEN);
 *   3. the active profile (credentials file beats config file per key) and
 *      web identity, in the SDKs' order: role_arn with source_profile or
 *      credential_source (STS AssumeRole; source profiles may chain, cycles
 *      are errors), AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN or the
 *      profile's web_identity_token_file (AssumeRoleWithWebIdentity),
 *      sso_session / sso_start_url (IAM Identity Center, sso.c),
 *      aws_access_key_id + aws_secret_access_key (+ aws_session_token),
 *      credential_process (run with /bin/sh -c, JSON on stdout). A named
 *      profile whose role has a credential_source comes before step 2;
 *   4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *      (http://169.254.170.2<uri>), else AWS_CONTAINER_CREDENTIALS_FULL_URI
 *      (https, or http to a loopback / ECS / EKS host only), with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN
 *      as the Authorization header;
 *   5. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true;
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT (or the profile's
 *      ec2_metadata_service_endpoint) overrides http://169.254.169.254.
 * The source is chosen when the provider is created (no I/O beyond the
 * shared files); credentials are fetched on the first get.
 *
 * Expiring credentials are refreshed when fewer than 5 minutes remain. When
 * a refresh fails but the credentials in hand have not expired yet, get
 * keeps returning them (and tries again at most every 30 s).
 *
 * Providers are reference-counted and thread-safe (get_copy below): clones
 * of a client and the clients of one dorm_accounts role share one.
 * dorm__credentials_provider_get itself hands out strings the provider
 * owns, so it is for one user of the provider at a time (tests).
 */
#ifndef DORM_CREDENTIALS_H
#define DORM_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "core_internal.h"
#include "dorm/status.h"

#define DORM_CREDS_REFRESH_WINDOW_S 300
#define DORM_CREDS_RETRY_AFTER_FAILURE_S 30

typedef struct dorm_credentials {
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token;   /* NULL when the credentials have none */
  time_t expiration;           /* 0 when they do not expire */
} dorm_credentials;

typedef struct dorm_credentials_provider dorm_credentials_provider;

/* Picks the credential source for rc (which must outlive nothing: the
 * provider copies what it needs). On DORM_OK *out is a provider the caller
 * frees with dorm__credentials_provider_free(). Fails with DORM_ERR_CONFIG
 * when a source is configured wrongly (half a key pair, a FULL_URI to a
 * host that is not allowed, a source_profile cycle, mfa_serial, IMDS
 * disabled and nothing else found). */
dorm_status dorm__credentials_provider_new(const dorm_resolved_config *rc,
                                          dorm_credentials_provider **out, char *errbuf,
                                          size_t errcap);

/* Current credentials, fetched or refreshed as needed. The strings in *out
 * belong to the provider and stay valid until the next get or free. Errors:
 * DORM_ERR_CONFIG (credential_process printed unusable JSON, a source gave
 * credentials that already expired, IMDS has no role), DORM_ERR_BAD_RESPONSE
 * (a container/IMDS endpoint answered an unexpected status or body),
 * DORM_ERR_NETWORK / DORM_ERR_TIMEOUT (endpoint unreachable, after one
 * retry), DORM_ERR_AUTH (the endpoint answered 401/403), DORM_ERR_IO
 * (credential_process could not run, failed, or timed out; a token file could
 * not be read), DORM_ERR_NO_MEMORY. errbuf names the source. */
dorm_status dorm__credentials_provider_get(dorm_credentials_provider *p, dorm_credentials *out,
                                          char *errbuf, size_t errcap);

/* Which source the provider uses: "explicit", "environment", "profile",
 * "credential_process", "container", "imds", "assume_role", "web_identity"
 * or "sso". Static string. */
const char *dorm__credentials_provider_source(const dorm_credentials_provider *p);

void dorm__credentials_provider_free(dorm_credentials_provider *p);

/* ---- shared by the sources (credentials.c, creds_http.c); not for clients ---- */

typedef struct dorm_creds_value {
  char *access_key_id;
  char *secret_access_key;
  char *session_token;   /* NULL when none */
  time_t expiration;     /* 0: never */
} dorm_creds_value;

/* Frees (and wipes) the strings of v and zeroes it. */
void dorm__creds_value_clear(dorm_creds_value *v);

typedef enum dorm_creds_format {
  DORM_CREDS_PROCESS,    /* {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"} */
  DORM_CREDS_METADATA    /* {"AccessKeyId","SecretAccessKey","Token","Expiration"[,"Code"]} */
} dorm_creds_format;

/* Parses a credentials document. origin names the source in messages. On
 * failure DORM_ERR_CONFIG with what was wrong ("<origin>: missing AccessKeyId"). */
dorm_status dorm__creds_parse_json(const char *body, size_t len, dorm_creds_format fmt,
                                  const char *origin, dorm_creds_value *out, char *errbuf,
                                  size_t errcap);

/* Parses an RFC 3339 / ISO 8601 UTC time ("2024-05-01T12:00:00Z", optional
 * fraction, 'Z' or +hh:mm offset). Returns false when it is not one. */
bool dorm__creds_parse_time(const char *text, time_t *out);

typedef struct dorm_container_source {
  char *url;              /* full URL to GET */
  char *auth_token;       /* AWS_CONTAINER_AUTHORIZATION_TOKEN, or NULL */
  char *auth_token_file;  /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (wins), or NULL; read per fetch */
  long timeout_ms;        /* per try; one retry */
} dorm_container_source;

/* Checks that a FULL_URI may be used: https to any host, http only to a
 * loopback address, localhost, 169.254.170.2 (ECS) or 169.254.170.23 /
 * fd00:ec2::23 (EKS). DORM_ERR_CONFIG with the reason otherwise. */
dorm_status dorm__creds_container_url_check(const char *url, char *errbuf, size_t errcap);

dorm_status dorm__creds_fetch_container(const dorm_container_source *src, dorm_creds_value *out,
                                       char *errbuf, size_t errcap);

typedef struct dorm_imds_source {
  char *endpoint;         /* "http://169.254.169.254" (no trailing '/') */
  bool v1_disabled;       /* AWS_EC2_METADATA_V1_DISABLED: never fall back to IMDSv1 */
  long timeout_ms;        /* per try; one retry */
} dorm_imds_source;

/* IMDSv2: PUT /latest/api/token, GET .../security-credentials/ (role name),
 * GET .../security-credentials/<role>. Falls back to IMDSv1 (no token) only
 * when the token PUT is answered 403/404/405 and v1 is not disabled. */
dorm_status dorm__creds_fetch_imds(const dorm_imds_source *src, dorm_creds_value *out,
                                  char *errbuf, size_t errcap);

/* Sends one request for the AWS credential services (STS, SSO, SSO OIDC):
 * method "GET" or "POST" (send/send_len is a POST's body), the proxy
 * variables apply, one try (the callers retry by their own rules).
 * *status is the HTTP status on DORM_OK; body (bounded by its max) gets the
 * answer. Errors as the metadata sources'. */
dorm_status dorm__creds_http(const char *what, const char *method, const char *url,
                            const char *const *headers, size_t nheaders, const char *send,
                            size_t send_len, long timeout_ms, long *status, dorm__buf *body,
                            char *errbuf, size_t errcap);

/* ---- STS (sts.c) ------------------------------------------------------------ */

#define DORM_STS_DEFAULT_TIMEOUT_MS 5000L  /* per try */
#define DORM_STS_MAX_TRIES 3
#define DORM_TOKEN_FILE_MAX (64 * 1024)    /* web identity and SSO token files */

typedef struct dorm_sts_endpoint {
  char *url;              /* "https://sts.us-east-1.amazonaws.com" (no trailing '/') */
  char *region;           /* the signing region */
  char origin[256];       /* where the URL came from: "AWS_ENDPOINT_URL_STS", "default (regional)" */
} dorm_sts_endpoint;

/* The STS endpoint for region, as the SDKs pick it: AWS_ENDPOINT_URL_STS,
 * the profile's services section (sts = / endpoint_url), AWS_ENDPOINT_URL,
 * the profile's endpoint_url (unless configured endpoints are ignored);
 * else https://sts.<region>.<suffix>, or https://sts.amazonaws.com (signed
 * for us-east-1) when AWS_STS_REGIONAL_ENDPOINTS (or the profile's
 * sts_regional_endpoints) is "legacy" and region is one of the regions that
 * used the global endpoint. DORM_ERR_CONFIG for a bad setting. */
dorm_status dorm__sts_endpoint_resolve(const dorm_resolved_config *rc, const char *region,
                                      dorm_sts_endpoint *out, char *errbuf, size_t errcap);
void dorm__sts_endpoint_free(dorm_sts_endpoint *e);

/* A role to assume: AssumeRole with the credentials of `source`, or
 * AssumeRoleWithWebIdentity (unsigned) with the token in token_file, which
 * is read again at every fetch (Kubernetes rotates it). */
typedef struct dorm_role_source {
  char *role_arn;
  char *session_name;
  char *external_id;          /* NULL: none */
  int duration_s;             /* 0: STS's default (3600) */
  char *token_file;           /* web identity; NULL for AssumeRole */
  dorm_credentials_provider *source; /* AssumeRole: a reference, released with the role */
  dorm_sts_endpoint sts;
  long timeout_ms;
} dorm_role_source;

void dorm__role_source_clear(dorm_role_source *r);

/* Checks a role session name (2-64 of [A-Za-z0-9+=,.@_-]) and a duration
 * (900..43200 s). origin names the setting. DORM_ERR_CONFIG otherwise. */
dorm_status dorm__sts_check_session_name(const char *name, const char *origin, char *errbuf, size_t errcap);
dorm_status dorm__sts_parse_duration(const char *text, const char *origin, int *out, char *errbuf,
                                    size_t errcap);

/* Calls STS for r's role. Errors name the action, the role and the endpoint,
 * and STS's error code and message ("AccessDenied: ..."): DORM_ERR_AUTH
 * (AccessDenied, ExpiredToken, InvalidIdentityToken, InvalidClientTokenId,
 * SignatureDoesNotMatch, ...), DORM_ERR_THROTTLED, DORM_ERR_SERVICE,
 * DORM_ERR_VALIDATION (other 4xx), DORM_ERR_BAD_RESPONSE, DORM_ERR_NETWORK,
 * DORM_ERR_TIMEOUT, DORM_ERR_IO (token file), DORM_ERR_NO_MEMORY, or the
 * source provider's error. Throttling, 5xx, IDPCommunicationError and
 * transport failures are tried DORM_STS_MAX_TRIES times with backoff. */
dorm_status dorm__sts_fetch_role(const dorm_role_source *r, dorm_creds_value *out, char *errbuf,
                                size_t errcap);

/* ---- IAM Identity Center (sso.c) ------------------------------------------- */

typedef struct dorm_sso_source {
  char *profile;          /* for "run aws sso login --profile X" */
  char *session_name;     /* sso_session; NULL for a legacy profile (sso_start_url in the profile) */
  char *start_url;
  char *sso_region;
  char *account_id;
  char *role_name;
  char *cache_path;       /* ~/.aws/sso/cache/<sha1 of session name or start URL>.json */
  char *portal_url;       /* GetRoleCredentials: https://portal.sso.<region>.amazonaws.com */
  char *oidc_url;         /* CreateToken: https://oidc.<region>.amazonaws.com */
  long timeout_ms;
} dorm_sso_source;

/* Reads the SSO settings of profile `name` (view is rc with profile = name).
 * *chosen is false when the profile has none. DORM_ERR_CONFIG names a
 * missing or contradicting setting. */
dorm_status dorm__sso_source_init(const dorm_resolved_config *view, dorm_sso_source *out, bool *chosen,
                                 char *errbuf, size_t errcap);
void dorm__sso_source_clear(dorm_sso_source *s);

/* The cached token (refreshed through SSO OIDC CreateToken when it expires
 * within 5 minutes and the cache allows it; the cache file is rewritten),
 * then GetRoleCredentials. An expired or missing session says to run
 * "aws sso login --profile X" (DORM_ERR_AUTH / DORM_ERR_CONFIG). */
dorm_status dorm__sso_fetch(const dorm_sso_source *s, dorm_creds_value *out, char *errbuf, size_t errcap);

/* ---- sharing a provider between clients and threads ----------------------- */

/* Takes another reference; dorm__credentials_provider_free drops one. */
dorm_credentials_provider *dorm__credentials_provider_ref(dorm_credentials_provider *p);

/* Current credentials copied into *held (caller-owned; cleared with
 * dorm__creds_value_clear), refreshed as needed. *generation says which
 * credentials *held has: when the provider has not changed them since, the
 * copy is skipped. Thread-safe: one thread refreshes at a time, others keep
 * using credentials that have not expired yet meanwhile, or wait for it.
 * After a failed refresh with nothing valid in hand, the same error is
 * returned without a new attempt for DORM_CREDS_FAILURE_HOLD_MS, so retries
 * of many requests never turn into a storm of calls to the source. */
#define DORM_CREDS_FAILURE_HOLD_MS 1000L
dorm_status dorm__credentials_provider_get_copy(dorm_credentials_provider *p, dorm_creds_value *held,
                                               unsigned long *generation, char *errbuf, size_t errcap);

/* A provider that assumes a role (taking over *role on DORM_OK and on
 * failure alike); desc names it in messages. */
dorm_status dorm__credentials_provider_new_role(dorm_role_source *role, const char *desc,
                                               dorm_credentials_provider **out, char *errbuf,
                                               size_t errcap);

/* The service refused the credentials of `generation` as expired
 * (ExpiredTokenException: a clock off by minutes, keys revoked early):
 * they are dropped so that the next get fetches new ones. Returns whether
 * sending again may help: true when they were dropped or the provider
 * already holds newer ones, false for credentials that cannot be refreshed
 * (static keys). */
bool dorm__credentials_provider_invalidate(dorm_credentials_provider *p, unsigned long generation);

/* Where the provider's fetches and refreshes happened: how many (tests). */
unsigned long dorm__credentials_provider_fetches(dorm_credentials_provider *p);

#endif
