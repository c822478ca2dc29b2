#include "aws_error.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

static void copy_trunc(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void dorm__aws_error_parse(const char *body, size_t len, dorm_aws_error *out) {
  out->code[0] = '\0';
  out->message[0] = '\0';
  if (!body || len == 0) return;
  cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
  if (!root) return;
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "__type");
  if (cJSON_IsString(type)) {
    /* "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" */
    const char *hash = strrchr(type->valuestring, '#');
    copy_trunc(out->code, sizeof out->code, hash ? hash + 1 : type->valuestring);
  }
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
  if (!cJSON_IsString(msg)) msg = cJSON_GetObjectItemCaseSensitive(root, "Message");
  if (cJSON_IsString(msg)) copy_trunc(out->message, sizeof out->message, msg->valuestring);
  cJSON_Delete(root);
}

static const struct {
  const char *code;
  dorm_status status;
} known[] = {
  {"ConditionalCheckFailedException", DORM_ERR_CONDITION_FAILED},
  {"ResourceNotFoundException", DORM_ERR_TABLE_NOT_FOUND},
  {"TableNotFoundException", DORM_ERR_TABLE_NOT_FOUND},
  {"ValidationException", DORM_ERR_VALIDATION},
  {"SerializationException", DORM_ERR_VALIDATION},
  {"ItemCollectionSizeLimitExceededException", DORM_ERR_VALIDATION},
  {"ProvisionedThroughputExceededException", DORM_ERR_THROTTLED},
  {"ThrottlingException", DORM_ERR_THROTTLED},
  {"RequestLimitExceeded", DORM_ERR_THROTTLED},
  {"TransactionCanceledException", DORM_ERR_TRANSACTION_CANCELLED},
  {"TransactionConflictException", DORM_ERR_TRANSACTION_CONFLICT},
  {"TransactionInProgressException", DORM_ERR_TRANSACTION_CONFLICT},
  {"UnrecognizedClientException", DORM_ERR_AUTH},
  {"InvalidSignatureException", DORM_ERR_AUTH},
  {"IncompleteSignatureException", DORM_ERR_AUTH},
  {"MissingAuthenticationTokenException", DORM_ERR_AUTH},
  {"AccessDeniedException", DORM_ERR_AUTH},
  {"ExpiredTokenException", DORM_ERR_AUTH},
  {"InvalidClientTokenId", DORM_ERR_AUTH},
  {"SignatureDoesNotMatch", DORM_ERR_AUTH},
  {"ResourceInUseException", DORM_ERR_RESOURCE_IN_USE},
  {"LimitExceededException", DORM_ERR_LIMIT_EXCEEDED},
  {"IdempotentParameterMismatchException", DORM_ERR_IDEMPOTENCY},
  /* DynamoDB Streams: a shard iterator that can no longer be read from
   * (older than 15 minutes; or pointing at records past the 24-hour
   * retention). Like a stale cursor: get a new one. Never retried. */
  {"ExpiredIteratorException", DORM_ERR_BAD_CURSOR},
  {"TrimmedDataAccessException", DORM_ERR_BAD_CURSOR},
  {"InternalServerError", DORM_ERR_SERVICE},
  {"ServiceUnavailable", DORM_ERR_SERVICE},
};

dorm_status dorm__aws_error_status(const char *code, long http_status) {
  if (code && *code) {
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      if (strcmp(code, known[i].code) == 0) return known[i].status;
  }
  if (http_status == 401 || http_status == 403) return DORM_ERR_AUTH;
  if (http_status == 429) return DORM_ERR_THROTTLED;
  if (http_status >= 500) return DORM_ERR_SERVICE;
  /* DynamoDB names every 4xx it sends; one without a code came from
   * something else (a proxy, another service, a wrong port). */
  if (!code || !*code) return DORM_ERR_BAD_RESPONSE;
  return DORM_ERR_VALIDATION;
}

void dorm__aws_error_excerpt(const char *body, size_t len, char *out, size_t cap) {
  if (!cap) return;
  size_t o = 0, i = 0;
  bool space = false;
  for (; i < len && o + 4 < cap; i++) {
    unsigned char ch = (unsigned char)body[i];
    if (ch <= ' ' || ch == 0x7f) {
      space = o > 0;
      continue;
    }
    if (space) out[o++] = ' ';
    space = false;
    if (o + 4 >= cap) break;
    out[o++] = ch < 0x80 ? (char)ch : '?';
  }
  while (i < len && ((unsigned char)body[i] <= ' ' || body[i] == 0x7f)) i++;
  if (i < len) memcpy(out + o, "...", 3), o += 3;
  out[o] = '\0';
}
