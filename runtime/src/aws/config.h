/* config: turns a user's dorm_config plus the environment and the shared
 * files into the settings a client runs with.
 *
 * Precedence (first match wins; "profile" means the active profile, where a
 * key in the credentials file's [name] beats the config file's [profile name]):
 *   profile:   dorm_config.profile, AWS_PROFILE, "default"
 *   region:    dorm_config.region, AWS_REGION, AWS_DEFAULT_REGION, profile region
 *   endpoint:  dorm_config.endpoint; then, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
 *              (or else the profile's ignore_configured_endpoint_urls) is true:
 *              AWS_ENDPOINT_URL_DYNAMODB, the profile's services section
 *              (dynamodb = / endpoint_url = ...), AWS_ENDPOINT_URL, the profile's
 *              endpoint_url; else https://dynamodb.<region>.amazonaws.com
 *              (.amazonaws.com.cn for cn-*, c2s.ic.gov / sc2s.sgov.gov for us-iso(b)-*)
 *   streams endpoint: dorm_config.endpoint; then, unless configured endpoints are
 *              ignored: AWS_ENDPOINT_URL_DYNAMODB_STREAMS, the services section's
 *              dynamodb_streams; then DynamoDB's endpoint when it was configured
 *              (local implementations serve both APIs on one port); else
 *              https://streams.dynamodb.<region>.amazonaws.com (same suffixes)
 *   retry mode: dorm_config.retry_mode, AWS_RETRY_MODE, profile retry_mode, standard
 *   max attempts: dorm_config.max_attempts, AWS_MAX_ATTEMPTS, profile max_attempts,
 *              the mode's default (standard 3, legacy 11)
 * Files: AWS_CONFIG_FILE (default ~/.aws/config), AWS_SHARED_CREDENTIALS_FILE
 * (default ~/.aws/credentials); a leading "~/" means $HOME. Missing files are
 * fine; a named profile (not "default") found in neither file is an error.
 * Environment variables that are set but empty count as unset.
 */
#ifndef DORM_CONFIG_INTERNAL_H
#define DORM_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "dorm/config.h"
#include "dorm/status.h"
#include "ini.h"
#include "retry.h"

#define DORM_DEFAULT_CONNECT_TIMEOUT_MS 3000L
#define DORM_DEFAULT_REQUEST_TIMEOUT_MS 30000L
#define DORM_DEFAULT_MAX_RESPONSE_BYTES ((size_t)64 * 1024 * 1024)
#define DORM_DEFAULT_PROCESS_TIMEOUT_MS 60000L  /* credential_process */
#define DORM_DEFAULT_METADATA_TIMEOUT_MS 1000L  /* container and IMDS, per try */

typedef struct dorm_resolved_config {
  char *profile;                /* active profile name */
  char profile_source[96];      /* "dorm_config.profile", "AWS_PROFILE", "default" */

  char *region;
  char region_source[256];      /* "AWS_REGION", "~/.aws/config:3", ... */

  char *endpoint_url;           /* "https://dynamodb.us-east-1.amazonaws.com/" (scheme://host[:port]/path) */
  char *host;                   /* Host header value: host, plus ":port" when not the scheme's default */
  char *path;                   /* the endpoint's path, "/" by default (SigV4 canonical URI) */
  bool https;
  char endpoint_source[256];    /* "dorm_config.endpoint", "AWS_ENDPOINT_URL_DYNAMODB", "~/.aws/config:9", "default" */

  /* DynamoDB Streams (GetRecords, ...): its own endpoint on AWS. */
  char *streams_endpoint_url;   /* "https://streams.dynamodb.us-east-1.amazonaws.com/" */
  char *streams_host;           /* its Host header value */
  char streams_endpoint_source[256]; /* as endpoint_source, or "AWS_ENDPOINT_URL_DYNAMODB_STREAMS" */

  dorm_retry_settings retry;
  long connect_timeout_ms;
  long request_timeout_ms;
  size_t max_response_bytes;

  /* Explicit credentials from dorm_config (NULL when not given). */
  char *access_key_id;
  char *secret_access_key;
  char *session_token;

  /* Credential-source tunables; resolve sets the defaults, tests may lower them. */
  long credential_process_timeout_ms;
  long metadata_timeout_ms;

  /* The shared files as read (empty when missing), and how to name them. */
  dorm_ini *config_file;
  dorm_ini *credentials_file;
} dorm_resolved_config;

/* Resolves cfg (NULL = all unset) against the environment and the shared
 * files. On DORM_OK *out is filled and owned by the caller, who releases it
 * with dorm__resolved_config_free(). On failure *out is left empty (free is
 * still safe) and errbuf says what and where, e.g.
 *   "AWS_MAX_ATTEMPTS: expected a whole number from 1 to 1000, got 'x'"
 *   "~/.aws/config:12: expected 'key = value'"
 *   "no region: set dorm_config.region, AWS_REGION or AWS_DEFAULT_REGION, or region in profile 'default' (~/.aws/config)"
 * Errors: DORM_ERR_CONFIG (bad or missing setting, malformed file),
 * DORM_ERR_INVALID_ARGUMENT (a bad dorm_config field), DORM_ERR_IO
 * (unreadable file), DORM_ERR_NO_MEMORY. */
dorm_status dorm__config_resolve(const dorm_config *cfg, dorm_resolved_config *out,
                                char *errbuf, size_t errcap);

void dorm__resolved_config_free(dorm_resolved_config *rc);

/* Overwrites a secret (NUL-terminated, may be NULL) before freeing it, so
 * keys do not linger in freed heap memory. */
void dorm__secret_free(char *s);

/* Looks a key up in the active profile (credentials file first, then the
 * config file). Returns the property or NULL; when found and where is not
 * NULL, where receives "file:line". Empty values count as absent. */
const dorm_ini_prop *dorm__config_profile_prop(const dorm_resolved_config *rc, const char *key,
                                              char *where, size_t wcap);

/* The same, returning just the value (NULL when absent). */
const char *dorm__config_profile_value(const dorm_resolved_config *rc, const char *key,
                                      char *where, size_t wcap);

/* The endpoint_url of `service` ("sts", "sso", "sso_oidc") in the active
 * profile's services section, or NULL in *url; where gets "file:line". An
 * unknown services section is DORM_ERR_CONFIG. */
dorm_status dorm__config_service_endpoint(const dorm_resolved_config *rc, const char *service,
                                         const char **url, char *where, size_t wcap, char *errbuf,
                                         size_t errcap);

/* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, else the profile's setting. */
dorm_status dorm__config_endpoints_ignored(const dorm_resolved_config *rc, bool *ignore, char *errbuf,
                                          size_t errcap);

/* Whether profile name has a section in either shared file. */
bool dorm__config_profile_exists(const dorm_resolved_config *rc, const char *name);

/* The config file's "[prefix name]" section ("sso-session", "services"), or NULL. */
const dorm_ini_section *dorm__config_section(const dorm_resolved_config *rc, const char *prefix,
                                            const char *name);

/* getenv(), except that an empty value counts as unset (returns NULL). */
const char *dorm__config_env(const char *name);

/* Parses a boolean setting "true"/"false" (case-insensitive, blanks
 * trimmed). Anything else is DORM_ERR_CONFIG naming origin. */
dorm_status dorm__config_parse_bool(const char *text, const char *origin, bool *out,
                                   char *errbuf, size_t errcap);

#endif
