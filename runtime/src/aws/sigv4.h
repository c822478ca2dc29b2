/* sigv4: AWS Signature Version 4 (internal to libdorm and the dorm tool).
 *
 * Two entry points:
 *
 * - dorm__sigv4_sign(): the general signer. It follows the rules of the AWS
 *   SigV4 test suite (tests/runtime/aws/sigv4) exactly, in the Authorization-header
 *   form and in the presigned-query form, and hands back every intermediate
 *   (canonical request, string to sign) so that `dorm sign` can show them.
 *   It allocates; it is for tools, tests and rare requests.
 *
 * - dorm__sigv4_sign_dynamodb(): the per-request fast path for what libdorm
 *   sends to DynamoDB (POST / with content-type, host, x-amz-date,
 *   x-amz-target and optionally x-amz-security-token). The signing key is
 *   derived once per (date, region, service, secret) and cached in a
 *   caller-owned dorm_sigv4_cache; a request then costs one SHA-256 of the
 *   body, one SHA-256 of the canonical request and one HMAC, and writes into
 *   caller buffers without allocating.
 *
 * Both produce identical signatures for the same request (tested).
 * Crypto is OpenSSL's (EVP digests, EVP_MAC HMAC, CRYPTO_memcmp; the fast
 * path's per-request digests are SHA256_Init/Update/Final on stack
 * contexts, its HMAC RFC 2104 from the cached key's two states:
 * sigv4_ddb.c says why).
 */
#ifndef DORM_SIGV4_H
#define DORM_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/configuration.h>
#ifdef OPENSSL_NO_DEPRECATED_3_0
#error "libdorm's SigV4 fast path needs OpenSSL's SHA256_CTX and SHA256_* (an OpenSSL built with no-deprecated lacks them)"
#endif
#include <openssl/sha.h>
#include <openssl/types.h>

#include "dorm/status.h"

#define DORM_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define DORM_SIGV4_SIGNATURE_LEN 64 /* lowercase hex of an HMAC-SHA256 */
#define DORM_SIGV4_AMZ_DATE_LEN 16  /* "20150830T123600Z" */
#define DORM_SIGV4_MAX_EXPIRES 604800u /* presigned requests live at most 7 days */
#define DORM_SIGV4_MAX_TIME INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* Credentials, borrowed for the duration of a call. session_token is NULL or
 * "" for long-term keys. */
typedef struct dorm_sigv4_credentials {
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token;
} dorm_sigv4_credentials;

/* One header as it appears on the wire. Names may repeat (their values are
 * joined with ',' in the order given); values may span lines (continuation
 * lines separated by '\n'); surrounding and repeated whitespace is folded. */
typedef struct dorm_sigv4_header {
  const char *name;
  const char *value;
} dorm_sigv4_header;

enum {
  /* Remove "." and ".." segments and empty segments from the path before
   * encoding it (every service except S3). */
  DORM_SIGV4_NORMALIZE_PATH = 1u << 0,
  /* Header form: add and sign x-amz-content-sha256 (the body's SHA-256). */
  DORM_SIGV4_SIGN_BODY = 1u << 1,
  /* Presigned form: the signature goes into the query string
   * (X-Amz-Algorithm ... X-Amz-Signature) instead of Authorization. */
  DORM_SIGV4_QUERY = 1u << 2,
  /* Add the session token after signing instead of signing it (some
   * services, e.g. IoT, expect this). */
  DORM_SIGV4_UNSIGNED_SESSION_TOKEN = 1u << 3,
};

/* A request to sign (all borrowed). path is the raw request-target path
 * without the query, as sent on the wire ("/example space/"); it is
 * URI-encoded for the canonical request (so an already-encoded path is
 * encoded twice, as every service but S3 expects). query is the raw query
 * string without '?' (NULL or "" for none); its parameters are decoded and
 * re-encoded canonically. Every header given is signed. */
typedef struct dorm_sigv4_request {
  const char *method;
  const char *path;
  const char *query;
  const dorm_sigv4_header *headers;
  size_t header_count;
  const void *body;
  size_t body_len;
} dorm_sigv4_request;

typedef struct dorm_sigv4_config {
  const char *region;              /* "us-east-1" */
  const char *service;             /* "dynamodb" */
  dorm_sigv4_credentials credentials;
  int64_t time;                    /* seconds since the epoch, 0..DORM_SIGV4_MAX_TIME */
  unsigned flags;                  /* DORM_SIGV4_* */
  uint32_t expires;                /* query form: X-Amz-Expires, 1..DORM_SIGV4_MAX_EXPIRES */
} dorm_sigv4_config;

/* A header the signer adds; name is static, value is owned by the result. */
typedef struct dorm_sigv4_added_header {
  const char *name;
  const char *value;
} dorm_sigv4_added_header;

/* What dorm__sigv4_sign() produces. Everything is owned by the result and
 * released by dorm__sigv4_result_free(). */
typedef struct dorm_sigv4_result {
  char *canonical_request;
  char *string_to_sign;
  char *signed_headers;            /* "host;x-amz-date" */
  char signature[DORM_SIGV4_SIGNATURE_LEN + 1];
  char amz_date[DORM_SIGV4_AMZ_DATE_LEN + 1];
  /* Header form: append these headers, in this order (X-Amz-Security-Token,
   * X-Amz-Date, x-amz-content-sha256, Authorization, each when it applies).
   * Query form: none. */
  dorm_sigv4_added_header headers[4];
  size_t header_count;
  /* Query form: "X-Amz-Algorithm=...&...&X-Amz-Signature=<hex>", already
   * URI-encoded, to append to the request's query after '&' (or '?' when it
   * has none). Header form: NULL. */
  char *query_params;
  char *owned_[4];                 /* private: storage behind header values */
} dorm_sigv4_result;

/* Signs req. On DORM_OK *out holds the result (free it with
 * dorm__sigv4_result_free()). On failure *out is left empty (freeing it is
 * harmless) and err (errcap bytes, may be NULL) says what was wrong:
 * DORM_ERR_INVALID_ARGUMENT for a bad request or configuration (a header
 * name that is not an HTTP token, a path not starting with '/', a header or
 * query parameter the signer itself adds such as Authorization or
 * X-Amz-Date, an out-of-range time or expiry, an empty region ...),
 * DORM_ERR_NO_MEMORY, DORM_ERR_AUTH if OpenSSL fails. */
dorm_status dorm__sigv4_sign(const dorm_sigv4_request *req, const dorm_sigv4_config *cfg,
                            dorm_sigv4_result *out, char *err, size_t errcap);

/* Releases what a result owns and empties it. NULL is ignored. */
void dorm__sigv4_result_free(dorm_sigv4_result *r);

/* Whether two signatures (hex strings) are equal, in time independent of
 * where they differ (CRYPTO_memcmp). Different lengths or NULL: false. */
bool dorm__sigv4_signature_equal(const char *a, const char *b);

/* Writes the SigV4 timestamp "YYYYMMDDTHHMMSSZ" of t into out (17 bytes).
 * Returns false (out = "") when t is outside 0..DORM_SIGV4_MAX_TIME. */
bool dorm__sigv4_format_time(int64_t t, char out[DORM_SIGV4_AMZ_DATE_LEN + 1]);

/* Parses "YYYYMMDDTHHMMSSZ" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) into seconds since
 * the epoch. Returns false for anything else, including impossible dates. */
bool dorm__sigv4_parse_time(const char *s, int64_t *out);

/* ---- DynamoDB fast path ------------------------------------------------ */

#define DORM_SIGV4_DDB_CONTENT_TYPE "application/x-amz-json-1.0"
#define DORM_SIGV4_MAX_REGION 63        /* longest region / service name accepted */
#define DORM_SIGV4_MAX_ACCESS_KEY 128
#define DORM_SIGV4_MAX_CACHED_SECRET 128 /* longer secrets work but are not cached */
#define DORM_SIGV4_AUTH_CAP 512          /* room for any Authorization value the fast path makes */

/* The per-client signing state: the signing key of the last (date, region,
 * service, secret), as HMAC states. Owned by the
 * caller (usually embedded in the client); one thread at a time. The secret
 * is kept (to know when the key is stale) and wiped by cleanup. */
typedef struct dorm_sigv4_cache {
  bool ready;                      /* set by dorm__sigv4_cache_init */
  /* HMAC-SHA256's two states (RFC 2104) after the cached signing key's ipad
   * and opad blocks: a request's HMAC copies them and hashes its string to
   * sign and the inner digest, no key blocks and no OpenSSL context. */
  SHA256_CTX inner, outer;
  bool key_valid;
  char date[9];                    /* YYYYMMDD of the cached key */
  char region[DORM_SIGV4_MAX_REGION + 1];
  char service[DORM_SIGV4_MAX_REGION + 1];
  unsigned char secret[DORM_SIGV4_MAX_CACHED_SECRET];
  size_t secret_len;
  char scope[9 + 2 * (DORM_SIGV4_MAX_REGION + 1) + 13]; /* date/region/service/aws4_request */
  size_t scope_len;
  uint64_t derivations;            /* how many times a key was derived (for tests) */
  bool amz_date_valid;             /* amz_date is the last request's time, amz_date_t */
  int64_t amz_date_t;
  char amz_date[DORM_SIGV4_AMZ_DATE_LEN + 1];
} dorm_sigv4_cache;

/* A DynamoDB request: POST / with content-type DORM_SIGV4_DDB_CONTENT_TYPE,
 * host, x-amz-date, x-amz-target (and x-amz-security-token when the
 * credentials have a session token). host and target are sent verbatim and
 * must be non-empty printable ASCII without spaces. All borrowed. */
typedef struct dorm_sigv4_ddb_request {
  const char *host;                /* "dynamodb.us-east-1.amazonaws.com", "localhost:8000" */
  const char *target;              /* "DynamoDB_20120810.PutItem" */
  const void *body;
  size_t body_len;
} dorm_sigv4_ddb_request;

/* The header lines of a signed DynamoDB request, written by the fast path
 * as libcurl takes them ("Name: value"), so the transport sends them as they
 * are: no copy of the values into lines of the caller's per request.
 * amz_date and authorization point at the values inside the lines (set by
 * each signing: a copied struct's pointers still point into the original). */
#define DORM_SIGV4_DATE_LINE_PREFIX "X-Amz-Date: "
#define DORM_SIGV4_AUTH_LINE_PREFIX "Authorization: "
typedef struct dorm_sigv4_ddb_headers {
  const char *amz_date;      /* X-Amz-Date's value */
  const char *authorization; /* Authorization's value */
  char date_line[sizeof DORM_SIGV4_DATE_LINE_PREFIX - 1 + DORM_SIGV4_AMZ_DATE_LEN + 1];
  char auth_line[sizeof DORM_SIGV4_AUTH_LINE_PREFIX - 1 + DORM_SIGV4_AUTH_CAP];
} dorm_sigv4_ddb_headers;

/* Prepares a cache (no key yet; nothing allocated, so it cannot fail: the
 * status stays for callers written against earlier versions). */
dorm_status dorm__sigv4_cache_init(dorm_sigv4_cache *c);

/* Wipes the secret and the key's states (a cleaned-up cache signs nothing
 * until initialised again). Safe on a zeroed or already cleaned-up cache. */
void dorm__sigv4_cache_cleanup(dorm_sigv4_cache *c);

/* Signs a DynamoDB request at time t and fills *out. The session token (if
 * any) must also be sent as X-Amz-Security-Token. Derives a new signing key
 * only when the date, region, service or secret changed. Nothing is
 * allocated per request, by libdorm or OpenSSL (bench/sigv4_bench counts
 * OpenSSL's allocations; only a key derivation makes some). DORM_ERR_INVALID_ARGUMENT (err says which field) for empty
 * or over-long region, service or access key, an empty secret, a host,
 * target or token with spaces or control characters, or a time out of
 * range; DORM_ERR_AUTH if OpenSSL fails. *out is undefined on failure. */
dorm_status dorm__sigv4_sign_dynamodb(dorm_sigv4_cache *c, const dorm_sigv4_credentials *creds,
                                     const char *region, const char *service, int64_t t,
                                     const dorm_sigv4_ddb_request *req,
                                     dorm_sigv4_ddb_headers *out, char *err, size_t errcap);

#endif
