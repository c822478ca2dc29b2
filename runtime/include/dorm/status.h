/* dorm_status: the result of every fallible libdorm call.
 *
 * Values are stable: they are never renumbered, new ones are appended.
 * 0 is success. dorm_strerror() gives a short fixed English text for a code;
 * the details of the last failure on a client (operation, AWS error code and
 * message, request id) are in dorm_client_errmsg() (see client.h).
 *
 * DynamORM (Go/TS/Python) error names map as follows:
 *   ErrItemNotFound        DORM_ERR_NOT_FOUND
 *   ErrConditionFailed     DORM_ERR_CONDITION_FAILED (also a transaction cancelled by a
 *                          ConditionalCheckFailed reason, as DynamORM's Go SDK reports it)
 *   ErrTableNotFound       DORM_ERR_TABLE_NOT_FOUND
 *   ErrInvalidModel, ErrMissingPrimaryKey, ErrInvalidTag, ErrInvalidOperator
 *                          DORM_ERR_INVALID_ARGUMENT (caught before any request)
 *   ErrTransactionFailed   DORM_ERR_TRANSACTION_CANCELLED (no reason is a failed condition) /
 *                          DORM_ERR_TRANSACTION_CONFLICT
 *   ErrInvalidCursor       DORM_ERR_BAD_CURSOR
 *   ErrBatchOperationFailed (partial batch)  DORM_ERR_THROTTLED after retries
 */
#ifndef DORM_STATUS_H
#define DORM_STATUS_H

#include "dorm/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dorm_status {
  DORM_OK = 0,
  DORM_ERR_INVALID_ARGUMENT = 1,  /* caller passed something unusable; nothing was sent */
  DORM_ERR_NO_MEMORY = 2,
  DORM_ERR_CONDITION_FAILED = 3,  /* ConditionalCheckFailedException */
  DORM_ERR_NOT_FOUND = 4,         /* GetItem (or a typed get) found no item */
  DORM_ERR_TABLE_NOT_FOUND = 5,   /* ResourceNotFoundException */
  DORM_ERR_VALIDATION = 6,        /* ValidationException and other 400s the request caused */
  DORM_ERR_THROTTLED = 7,         /* throttling that outlasted the retries */
  DORM_ERR_TRANSACTION_CANCELLED = 8, /* TransactionCanceledException; reasons per action */
  DORM_ERR_TRANSACTION_CONFLICT = 9,  /* TransactionConflictException / in-progress */
  DORM_ERR_AUTH = 10,             /* signature, credentials, access denied */
  DORM_ERR_NETWORK = 11,          /* could not connect, connection reset, DNS */
  DORM_ERR_TIMEOUT = 12,          /* connect or request timeout, or a waiter's deadline */
  DORM_ERR_SERVICE = 13,          /* 5xx that outlasted the retries */
  DORM_ERR_BAD_RESPONSE = 14,     /* malformed body, bad CRC32, too large, unexpected shape */
  DORM_ERR_CONFIG = 15,           /* no region, no credentials, unreadable config */
  DORM_ERR_RESOURCE_IN_USE = 16,  /* ResourceInUseException (table exists, being changed) */
  DORM_ERR_LIMIT_EXCEEDED = 17,   /* LimitExceededException */
  DORM_ERR_TOO_LARGE = 18,        /* item over 400 KB, request over the bound; nothing was sent */
  DORM_ERR_IO = 19,               /* local file or process I/O */
  DORM_ERR_BAD_CURSOR = 20,       /* a pagination cursor that is malformed or for another query */
  DORM_ERR_IDEMPOTENCY = 21,      /* IdempotentParameterMismatchException */
  DORM_ERR_SCHEMA_MISMATCH = 22,  /* stored item does not fit the model (type, required field) */
  DORM_ERR_UNAUTHORIZED = 23,     /* streamer: a token that does not verify (expired, bad signature, ...) */
  DORM_ERR_HANDLER = 24,          /* streamer: an endpoint handler reported a failure */
  DORM_ERR_CANCELLED = 25,        /* streamer: the request was cancelled (by its client or its timeout) */
  DORM_ERR_ENCRYPTION_NOT_CONFIGURED = 26, /* a model with encrypted fields and no KMS key to use */
  DORM_ERR_BAD_ENVELOPE = 27      /* an encrypted attribute that does not decrypt: not an envelope, another
                                   * version, another attribute's, key or altered bytes */
} dorm_status;

/* A short description of a status ("condition failed"). Never NULL; unknown
 * values give "unknown status". The string is static. */
DORM_API const char *dorm_strerror(dorm_status status);

/* DynamORM's error name for a status ("ErrConditionFailed"), or NULL when
 * DynamORM has no equivalent. Static string. */
DORM_API const char *dorm_status_dynamorm_name(dorm_status status);

#ifdef __cplusplus
}
#endif
#endif
