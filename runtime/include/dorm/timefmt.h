/* dorm/timefmt.h: `time` values (int64 nanoseconds since the Unix epoch,
 * UTC) to and from RFC 3339 text, as the model layer stores them.
 * Pure functions: no allocation, thread-safe. Included by dorm/model.h. */
#ifndef DORM_TIMEFMT_H
#define DORM_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Formats nanoseconds since the epoch as fixed-width UTC
 * "2026-11-25T13:18:44.123456789Z" (31 bytes + NUL). */
DORM_API void dorm_time_format(int64_t ns, char out[32]);
/* Parses any RFC 3339 date-time (fraction of 0-9 digits, 'Z' or an offset).
 * Returns false when text is not one (or lies outside 1677..2262, the range
 * of int64 nanoseconds). */
DORM_API bool dorm_time_parse(const char *text, size_t len, int64_t *ns);
/* Now, in nanoseconds since the epoch. */
DORM_API int64_t dorm_time_now(void);

#ifdef __cplusplus
}
#endif

#endif
