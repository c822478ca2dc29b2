/* Helpers for the libdorm integration tests against DynamoDB Local: tables
 * with unique names, items. The client comes from ts_ddb_client(). */
#ifndef DORM_IT_COMMON_H
#define DORM_IT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/dorm.h"
#include "test_ddb.h"

/* A table name unique to this process and call: "<prefix>_<pid>_<n>". */
void it_name(char *buf, size_t cap, const char *prefix);

/* Creates an on-demand table (sk NULL: none) and waits until it is ACTIVE. */
void it_create_table(dorm_client *c, const char *name, const char *pk, dorm_key_type pkt, const char *sk,
                     dorm_key_type skt);

/* Deletes a table and waits until it is gone (ignores a missing table). */
void it_drop_table(dorm_client *c, const char *name);

/* HTTP requests the client has sent so far. */
uint64_t it_attempts(dorm_client *c);
uint64_t it_operations(dorm_client *c);

/* An empty M and attribute setters (names and strings are copied into a). */
dorm_av it_map(void);
void it_set_s(dorm_arena *a, dorm_av *m, const char *name, const char *value);
void it_set_n(dorm_arena *a, dorm_av *m, const char *name, int64_t value);
void it_set_av(dorm_arena *a, dorm_av *m, const char *name, dorm_av value);

/* {pk: S} and {pk: S, sk: N} keys. */
dorm_av it_key_s(dorm_arena *a, const char *pk, const char *pkv);
dorm_av it_key_sn(dorm_arena *a, const char *pk, const char *pkv, const char *sk, int64_t skv);

/* The S / N value of attribute name in item, or NULL / INT64_MIN when it is
 * absent or of another type. */
const char *it_get_s(const dorm_av *item, const char *name);
int64_t it_get_n(const dorm_av *item, const char *name);

/* Asserts that dorm_client_errmsg(c) contains every given substring (NULL-terminated list). */
void it_assert_msg(dorm_client *c, ...);

/* Milliseconds on the monotonic clock (for the timing printed by tests). */
double it_now_ms(void);

#endif
