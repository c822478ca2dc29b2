/* Helpers shared by dorm's tests (not part of any shipped library). */
#ifndef DORM_TEST_SUPPORT_H
#define DORM_TEST_SUPPORT_H

#include <stddef.h>

/* Reads a whole file into a NUL-terminated malloc'd buffer; *len (if not NULL)
 * gets the length without the NUL. Returns NULL if the file cannot be read. */
char *ts_read_file(const char *path, size_t *len);

/* Writes len bytes to path (created or truncated). Returns 0 on success. */
int ts_write_file(const char *path, const char *data, size_t len);

/* The project's source directory (DORM_SOURCE_DIR, set by ctest), or "." */
const char *ts_source_dir(void);

/* The DynamoDB Local endpoint for this test run: DORM_TEST_ENDPOINT, else the
 * first line of the file named by DORM_TEST_ENDPOINT_FILE. Returns a static
 * buffer, or NULL when no server was started (the test should then fail). */
const char *ts_ddb_endpoint(void);

/* Writes a per-process unique name "<prefix>_<pid>_<counter>" into buf. */
void ts_unique_name(char *buf, size_t cap, const char *prefix);

#endif
