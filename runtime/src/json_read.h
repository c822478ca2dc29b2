/* json_read: DynamoDB JSON (responses) -> dorm_av, via cJSON.
 *
 * Parsing always goes through cJSON_ParseWithLengthOpts (never the global
 * error pointer). cJSON refuses nesting deeper than CJSON_NESTING_LIMIT
 * (1000) and reports it as a parse error; DynamoDB never sends more than 32
 * levels, so the converter also stops at DORM_READ_MAX_DEPTH.
 *
 * Conversion is strict: every AttributeValue must be an object with exactly
 * one known type key and a value of the right JSON type; numbers must be
 * valid DynamoDB numbers, binaries strict base64, strings valid UTF-8 without
 * U+0000 (cJSON cannot represent it; refused rather than truncated). Any
 * violation is DORM_ERR_BAD_RESPONSE with a message naming the path
 * ("Items[3].address.M.city: N value is not a number: \"abc\""). All output
 * lives in the arena; nothing points into the cJSON tree.
 */
#ifndef DORM_JSON_READ_H
#define DORM_JSON_READ_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "dorm/arena.h"
#include "dorm/av.h"
#include "dorm/status.h"

#define DORM_READ_MAX_DEPTH 64

/* Parses len bytes of JSON (need not be NUL-terminated; trailing garbage other
 * than whitespace is an error). On DORM_OK *root must be released with
 * cJSON_Delete(). DORM_ERR_BAD_RESPONSE (offset in the message) or
 * DORM_ERR_NO_MEMORY. */
dorm_status dorm_json_parse(const char *json, size_t len, cJSON **root, char *errbuf, size_t errcap);

/* Converts one AttributeValue object ({"S":"x"}). `where` names it in error
 * messages (e.g. "Item.name"; may be NULL). */
dorm_status dorm_json_to_av(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where,
                            char *errbuf, size_t errcap);

/* Converts an item/key object ({"name":{"S":"x"},...}) into an M. */
dorm_status dorm_json_to_item(const cJSON *j, dorm_arena *a, dorm_av *out, const char *where,
                              char *errbuf, size_t errcap);

/* The map-valued member `member` of obj ("Item", "Attributes",
 * "LastEvaluatedKey"): *found says whether it was present (absent is DORM_OK
 * with *found false and *out an empty M); a present member that is not an
 * object of AttributeValues is DORM_ERR_BAD_RESPONSE. */
dorm_status dorm_json_member_item(const cJSON *obj, const char *member, dorm_arena *a, dorm_av *out,
                                  bool *found, char *errbuf, size_t errcap);

/* The array-of-items member `member` of obj ("Items", "Responses.<table>"
 * arrays): *items (arena) gets *count M values. Absent: DORM_OK, count 0. */
dorm_status dorm_json_member_items(const cJSON *obj, const char *member, dorm_arena *a, dorm_av **items,
                                   size_t *count, char *errbuf, size_t errcap);

#endif
