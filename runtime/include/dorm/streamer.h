/*
 * dorm/streamer.h - typed long-running endpoints over WebSocket.
 *
 * A .dorm file declares `endpoint` blocks; `dormc gen` writes, per schema,
 * <ns>_endpoints.h/.c: a C struct for each endpoint's request, progress and
 * result, their descriptors (dorm_struct_desc, as for models), a handler
 * prototype the user implements, and a const dorm_endpoint_desc per endpoint.
 * This header is what that code and the user's handlers see of the runtime:
 *
 *   - JWT verification (the identity of a connection comes only from here);
 *   - payload codecs: plain JSON <-> the generated structs, by descriptor;
 *   - the handler context: identity, request id, cancellation, deadline,
 *     progress reporting, typed failures;
 *   - the server: dorm_streamer_main() runs the local WebSocket server (and,
 *     later, the Lambda roles) for a set of endpoints.
 *
 * The protocol on the wire is normative in docs/streamer.md.
 *
 * Threads: a verifier is immutable after creation and may be shared by
 * threads. A handler context is used by the one thread running the handler.
 */
#ifndef DORM_STREAMER_H
#define DORM_STREAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/export.h"
#include "dorm/arena.h"
#include "dorm/client.h"
#include "dorm/model.h"
#include "dorm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* Bumped whenever dorm_endpoint_desc or the handler types change; generated
 * <base>_endpoints.h files check it and ask to be regenerated. */
#define DORM_STREAMER_ABI 1

/* ---- identity and JWT ---- */

/* Algorithms a verifier accepts (an allow-list; `none` never is). */
enum {
  DORM_JWT_HS256 = 1u << 0,
  DORM_JWT_RS256 = 1u << 1,
  DORM_JWT_ES256 = 1u << 2
};

typedef struct dorm_jwt_config {
  /* DORM_JWT_* bits. 0: every algorithm the configured keys can verify
   * (HS256 with a secret, RS256/ES256 with a public key or JWKS). A token
   * whose `alg` is not allowed, or does not fit its key's type (an HS256
   * token against an RSA key), is refused. */
  unsigned algorithms;
  const char *hs256_secret_file;  /* the HMAC secret (whole file, trailing newline dropped) */
  const char *public_key_file;    /* PEM: RSA or EC P-256 public key */
  const char *jwks_file;          /* a JWKS document; the token's `kid` picks the key */
  const char *issuer;             /* `iss` must equal it when set */
  const char *audience;           /* `aud` (string or array) must contain it when set */
  long leeway_s;                  /* for exp, nbf, iat; 0: 60 s; negative: none */
  const char *tenant_claim;       /* NULL: "tenant_id" */
  const char *scope_claim;        /* NULL: "scope" (space-separated) or else "scopes" (array) */
  size_t max_token_bytes;         /* 0: 8192; longer tokens are refused unread */
} dorm_jwt_config;

typedef struct dorm_jwt_verifier dorm_jwt_verifier;

/* The longest sub or tenant claim dorm_jwt_verify accepts (bytes): keys are
 * built from them; a longer one is refused (DORM_ERR_UNAUTHORIZED). */
#define DORM_JWT_MAX_CLAIM 128

/* The verified identity of a connection. Strings live in the arena given
 * to dorm_jwt_verify. */
typedef struct dorm_identity {
  const char *sub;                /* required */
  const char *tenant;             /* "" when the token has none */
  const char *const *scopes;
  size_t nscopes;
  int64_t exp;                    /* seconds since the epoch (exp is required) */
} dorm_identity;

/* Loads the keys of cfg (copied; the files are read now). Fails with
 * DORM_ERR_INVALID_ARGUMENT (DORM_ERR_NO_MEMORY when out of memory) and a
 * message in errbuf naming the file and the problem; *out is NULL then. A
 * JWKS key is chosen by the token's kid; without a kid, the secret or PEM
 * key, or the JWKS's only key of the token's type. */
DORM_API dorm_status dorm_jwt_verifier_new(const dorm_jwt_config *cfg, dorm_jwt_verifier **out, char *errbuf,
                                           size_t errcap);
DORM_API void dorm_jwt_verifier_free(dorm_jwt_verifier *v);

/* Verifies a compact JWS (header.payload.signature) at time now_s (seconds
 * since the epoch): algorithm, signature (constant-time for HMAC), exp, nbf,
 * iat (not in the future), iss, aud, sub. On success fills *out (in a).
 * On failure returns DORM_ERR_UNAUTHORIZED (DORM_ERR_INVALID_ARGUMENT for
 * NULL arguments, DORM_ERR_NO_MEMORY) with the reason in errbuf
 * ("token expired", "signature does not verify", ...); the token itself is
 * never copied into the message. */
DORM_API dorm_status dorm_jwt_verify(const dorm_jwt_verifier *v, const char *token, size_t len, int64_t now_s,
                                     dorm_arena *a, dorm_identity *out, char *errbuf, size_t errcap);

DORM_API bool dorm_identity_has_scope(const dorm_identity *id, const char *scope);

/* ---- payloads: plain JSON <-> generated structs ---- */

/* Reads a JSON object into obj (a struct described by d, zeroed first):
 * members by field name (or @name), unknown members ignored, optional fields
 * absent when missing or null; json NULL or a JSON null reads as {}. Values
 * nest at most 32 levels deep. A wrong type or a missing required field
 * fails with DORM_ERR_INVALID_ARGUMENT and errbuf naming the path, prefixed
 * by `path` ("payload.range.from: expected an RFC 3339 time"); obj is zeroed
 * again then. JSON forms: string, decimal (text) -> string; int, epoch ->
 * integer (cJSON reads numbers as doubles: beyond 2^53 they arrive rounded);
 * float -> number; bool; bytes -> base64 string; time -> RFC 3339 string;
 * json -> any JSON value (kept as canonical text); enum -> its stored value;
 * struct -> object; set/list -> array; map -> object (entries in the
 * object's order). Everything lands in a; nothing points into json. */
DORM_API dorm_status dorm_payload_from_cjson(const dorm_struct_desc *d, const struct cJSON *json, const char *path,
                                             dorm_arena *a, void *obj, char *errbuf, size_t errcap);
/* The same from text. */
DORM_API dorm_status dorm_payload_from_json(const dorm_struct_desc *d, const char *json, size_t len,
                                            const char *path, dorm_arena *a, void *obj, char *errbuf,
                                            size_t errcap);
/* Writes obj as a JSON object (the forms above; absent optional fields are
 * left out; time as fixed-width UTC) as NUL-terminated text in a. A value
 * that cannot be written (a required string that is NULL, invalid UTF-8, a
 * bad decimal, a non-finite float, an enum out of range, nesting deeper than
 * 32) fails with DORM_ERR_INVALID_ARGUMENT naming its path
 * ("Echo.result.text: required"); *json is NULL then. */
DORM_API dorm_status dorm_payload_to_json(const dorm_struct_desc *d, const void *obj, dorm_arena *a,
                                          const char **json, size_t *len, char *errbuf, size_t errcap);

/* ---- endpoints (described by generated code) ---- */

typedef struct dorm_stream_ctx dorm_stream_ctx;
typedef struct dorm_progress dorm_progress;

typedef enum dorm_endpoint_mode { DORM_ENDPOINT_SYNC = 0, DORM_ENDPOINT_ASYNC = 1 } dorm_endpoint_mode;

/* Handlers fill *res (a zeroed result struct) from *req. Memory for the
 * result comes from dorm_stream_arena(ctx). DORM_OK: success; anything else
 * is a failure (dorm_stream_fail says which). */
typedef dorm_status (*dorm_sync_handler)(dorm_stream_ctx *ctx, const void *req, void *res);
typedef dorm_status (*dorm_async_handler)(dorm_stream_ctx *ctx, const void *req, dorm_progress *pr, void *res);

typedef struct dorm_endpoint_desc {
  const char *name;                       /* "GenerateReport": the message's action */
  uint8_t mode;                           /* dorm_endpoint_mode */
  int64_t timeout_ms;
  const char *const *scopes;              /* the JWT must carry all of them */
  uint32_t nscopes;
  const dorm_struct_desc *request;
  const dorm_struct_desc *progress;       /* NULL: no typed progress */
  const dorm_struct_desc *result;
  dorm_sync_handler sync_handler;         /* mode SYNC */
  dorm_async_handler async_handler;       /* mode ASYNC */
} dorm_endpoint_desc;

/* ---- inside a handler ---- */

DORM_API const dorm_identity *dorm_stream_identity(const dorm_stream_ctx *ctx);
DORM_API const char *dorm_stream_request_id(const dorm_stream_ctx *ctx);
/* True once the client asked to cancel (or the job timed out): the handler
 * should return soon; whatever it returns then ends the request CANCELLED. */
DORM_API bool dorm_stream_cancelled(const dorm_stream_ctx *ctx);
/* The job's deadline, milliseconds since the epoch. */
DORM_API int64_t dorm_stream_deadline_ms(const dorm_stream_ctx *ctx);
/* The arena for the result (freed after the result is persisted and sent). */
DORM_API dorm_arena *dorm_stream_arena(dorm_stream_ctx *ctx);
/* A DynamoDB client the handler may use (the runtime's own). */
DORM_API dorm_client *dorm_stream_client(dorm_stream_ctx *ctx);
/* Marks the request failed with an error code of the protocol's closed set
 * (NULL: "HANDLER_FAILED") and a message for the client; retryable failures
 * of async endpoints are queued again with backoff (bounded attempts).
 * Returns DORM_ERR_HANDLER so a handler can `return dorm_stream_fail(...)`. */
DORM_API dorm_status dorm_stream_fail(dorm_stream_ctx *ctx, const char *code, bool retryable, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Reports progress: percent (0-100, never goes backwards: smaller values are
 * raised to the last one), a message (may be NULL) and the typed progress
 * payload (may be NULL; described by the endpoint's progress descriptor).
 * Updates are coalesced (newest wins, at most the configured rate), each one
 * sent is persisted with its seq before it is delivered. Returns
 * DORM_ERR_CANCELLED once the request is cancelled, and DORM_ERR_TOO_LARGE,
 * sending nothing, when the message (escaped as JSON) and the progress's
 * JSON text together do not fit one WebSocket frame (128 KB less ~0.5 KB
 * and the endpoint's name): the handler may go on, or return that status
 * (the job then fails PAYLOAD_TOO_LARGE saying how large the update was). */
DORM_API dorm_status dorm_progress_report(dorm_progress *pr, double percent, const char *message,
                                          const void *progress);

/* ---- the server ---- */

/* Runs the streamer for these endpoints as a command-line program would:
 * the flags of streamer-demo (docs/streamer.md: --port, --ddb-endpoint,
 * --create-tables, --jwt-hs256-secret-file, --jwt-public-key-file,
 * --jwks-file, --jwt-issuer, --jwt-audience, ...). Returns the process exit
 * status (0 after a clean SIGINT/SIGTERM shutdown). */
DORM_API int dorm_streamer_main(int argc, char **argv, const dorm_endpoint_desc *const *endpoints,
                                size_t nendpoints);

#ifdef __cplusplus
}
#endif

#endif
