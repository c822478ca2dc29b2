/* The differential check of the hot path's parser (json_jsmn.c) against
 * cJSON (dorm__json_parse), shared by test_json_diff (every fixture and the
 * fuzz corpora) and the fuzz_jsmn target.
 *
 * On one input it compares, cJSON's reading against the default one (jsmn,
 * cJSON for what jsmn does not read) and against jsmn alone:
 *   - the trees: the same status and message, and node for node the same
 *     types, names, strings and numbers; jsmn alone never accepts what
 *     cJSON refuses, and what it accepts is cJSON's tree;
 *   - the values: dorm_av_from_json / dorm_item_from_json both ways give
 *     the same status and message or exactly the same value;
 *   - the structs: for each model given, dorm__model_decode_response and
 *     dorm__model_decode_item with and without MODEL_DECODE_CJSON (flags
 *     0, DORM_READ_PARTIAL, MODEL_DECODE_CHECK_TYPE) give the same status,
 *     message and failing item, and structs that write the same JSON. */
#ifndef DORM_TEST_JSON_DIFF_H
#define DORM_TEST_JSON_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "dorm/model.h"

typedef struct jd_stats {
  size_t inputs;
  size_t cjson_ok;      /* cJSON read the text */
  size_t jsmn_ok;       /* jsmn alone read it */
  size_t jsmn_refused;  /* cJSON read it, jsmn alone did not (the fallback then reads it) */
} jd_stats;

/* NULL when the two readings agree on buf (len bytes, not NUL-terminated),
 * else a message saying where they differ (static buffer). */
const char *jd_check(const char *buf, size_t len, const dorm_model_desc *const *models, size_t nmodels,
                     jd_stats *stats);

#endif
