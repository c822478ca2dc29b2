/* credentials: where a client's AWS keys come from, and keeping them fresh.
 *
 * The chain follows the AWS SDKs; the first source that is configured is
 * used, and a configured source that fails is an error (the chain does not
 * silently fall through to the next one):
 *   1. explicit keys in dorm_config;
 *   2. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      (+ AWS_SESSION_TOKEN);
 *   3. the active profile (credentials file beats config file per key):
 *      aws_access_key_id + aws_secret_access_key (+ aws_session_token), else
 *      credential_process (run with /bin/sh -c, JSON on stdout);
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
 * A provider is used by one thread at a time.
 */
#ifndef DORM_CREDENTIALS_H
#define DORM_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
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
 * host that is not allowed, a profile that needs an unsupported feature such
 * as role_arn, IMDS disabled and nothing else found). */
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
 * "credential_process", "container" or "imds". Static string. */
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

#endif
