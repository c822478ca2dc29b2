/* dorm_config: how a libdorm client finds DynamoDB and its credentials.
 *
 * Every field is optional. What is left unset is resolved the way the AWS
 * SDKs do it, from the environment and the shared files (~/.aws/config,
 * ~/.aws/credentials); docs/runtime.md ("Configuration") gives the exact
 * precedence. Fields set here always win.
 *
 * The struct only borrows its strings: the library copies what it needs when
 * the client is created, so the caller may free them afterwards.
 *
 *   dorm_config cfg = DORM_CONFIG_INIT;
 *   cfg.region = "eu-west-1";
 *   cfg.endpoint = "http://localhost:8000";   // e.g. DynamoDB Local
 */
#ifndef DORM_CONFIG_H
#define DORM_CONFIG_H

#include "dorm/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dorm_retry_mode {
  DORM_RETRY_MODE_UNSET = 0,    /* AWS_RETRY_MODE, the profile's retry_mode, else standard */
  DORM_RETRY_MODE_STANDARD = 1, /* the SDKs' standard mode: jittered backoff, retry quota */
  DORM_RETRY_MODE_LEGACY = 2    /* the pre-standard DynamoDB behaviour: 10 retries, no quota */
} dorm_retry_mode;

typedef struct dorm_config {
  const char *region;            /* "us-east-1"; NULL: AWS_REGION, AWS_DEFAULT_REGION, profile */
  const char *endpoint;          /* "http://localhost:8000"; NULL: see the precedence rules */
  const char *profile;           /* NULL: AWS_PROFILE, else "default" */
  /* Explicit credentials: access key and secret together, or neither. They
   * win over every other source and never expire. */
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token;     /* optional */
  long connect_timeout_ms;       /* 0: 3000 */
  long request_timeout_ms;       /* whole request, 0: 30000 */
  int max_attempts;              /* total tries per request, 1 to 1000 (1 = no retries); 0: AWS_MAX_ATTEMPTS, profile, mode default */
  dorm_retry_mode retry_mode;    /* DORM_RETRY_MODE_UNSET: AWS_RETRY_MODE, profile, standard */
  size_t max_response_bytes;     /* 0: 64 MiB */
} dorm_config;

/* All fields unset. */
#define DORM_CONFIG_INIT {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, DORM_RETRY_MODE_UNSET, 0}

/* Sets every field of *cfg to "unset" (the same as DORM_CONFIG_INIT). */
DORM_API void dorm_config_init(dorm_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
