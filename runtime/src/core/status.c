#include "dorm/status.h"
#include "dorm/version.h"

#include <stddef.h>

const char *dorm_strerror(dorm_status status) {
  switch (status) {
  case DORM_OK: return "ok";
  case DORM_ERR_INVALID_ARGUMENT: return "invalid argument";
  case DORM_ERR_NO_MEMORY: return "out of memory";
  case DORM_ERR_CONDITION_FAILED: return "condition failed";
  case DORM_ERR_NOT_FOUND: return "item not found";
  case DORM_ERR_TABLE_NOT_FOUND: return "table not found";
  case DORM_ERR_VALIDATION: return "validation error";
  case DORM_ERR_THROTTLED: return "throttled";
  case DORM_ERR_TRANSACTION_CANCELLED: return "transaction cancelled";
  case DORM_ERR_TRANSACTION_CONFLICT: return "transaction conflict";
  case DORM_ERR_AUTH: return "authentication or authorization failed";
  case DORM_ERR_NETWORK: return "network error";
  case DORM_ERR_TIMEOUT: return "timeout";
  case DORM_ERR_SERVICE: return "service error";
  case DORM_ERR_BAD_RESPONSE: return "bad response";
  case DORM_ERR_CONFIG: return "configuration error";
  case DORM_ERR_RESOURCE_IN_USE: return "resource in use";
  case DORM_ERR_LIMIT_EXCEEDED: return "limit exceeded";
  case DORM_ERR_TOO_LARGE: return "too large";
  case DORM_ERR_IO: return "I/O error";
  case DORM_ERR_BAD_CURSOR: return "invalid cursor";
  case DORM_ERR_IDEMPOTENCY: return "idempotent parameter mismatch";
  case DORM_ERR_SCHEMA_MISMATCH: return "item does not match the model";
  case DORM_ERR_UNAUTHORIZED: return "unauthorized";
  case DORM_ERR_HANDLER: return "handler failed";
  case DORM_ERR_CANCELLED: return "cancelled";
  case DORM_ERR_ENCRYPTION_NOT_CONFIGURED: return "encryption not configured";
  case DORM_ERR_BAD_ENVELOPE: return "invalid encrypted envelope";
  }
  return "unknown status";
}

const char *dorm_status_dynamorm_name(dorm_status status) {
  switch (status) {
  case DORM_ERR_CONDITION_FAILED: return "ErrConditionFailed";
  case DORM_ERR_NOT_FOUND: return "ErrItemNotFound";
  case DORM_ERR_TABLE_NOT_FOUND: return "ErrTableNotFound";
  case DORM_ERR_INVALID_ARGUMENT: return "ErrInvalidModel";
  case DORM_ERR_TRANSACTION_CANCELLED:
  case DORM_ERR_TRANSACTION_CONFLICT: return "ErrTransactionFailed";
  case DORM_ERR_BAD_CURSOR: return "ErrInvalidCursor";
  case DORM_ERR_ENCRYPTION_NOT_CONFIGURED: return "ErrEncryptionNotConfigured";
  case DORM_ERR_BAD_ENVELOPE: return "ErrInvalidEncryptedEnvelope";
  default: return NULL;
  }
}

/* The headers and the build agree on one version (CMakeLists.txt checks it). */
_Static_assert(sizeof(DORM_VERSION_STRING) > 1, "DORM_VERSION_STRING is set");
const char *dorm_version(void) { return DORM_VERSION_STRING; }
