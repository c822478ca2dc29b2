/* Shared by the model layer's DynamoDB Local tests: the test models' tables
 * (unique names per run) and small helpers. The client comes from
 * ts_ddb_client(). */
#ifndef DORM_TEST_MODEL_DDB_H
#define DORM_TEST_MODEL_DDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/client.h"
#include "dorm/model.h"
#include "test_ddb.h"
#include "test_models.h"

/* Creates the tables of the test models under unique names (written into
 * tm_*_table): shop (PK/SK, gsi-status, gsi-email keys_only, a
 * NEW_AND_OLD_IMAGES stream), kitchen (id, by-name) and users (PK/SK,
 * gsi-email). */
void md_create_tables(dorm_client *c);
void md_drop_tables(dorm_client *c);

/* The stored item as DynamoDB holds it (GetItem through the untyped API),
 * to check what was written; false when there is none. */
bool md_raw_item(dorm_client *c, const char *table, const char *k1, const char *v1, const char *k2, const char *v2,
                 dorm_arena *a, dorm_av *item);

/* Requests sent so far by c. */
uint64_t md_requests(dorm_client *c);

/* Fails the test with the client's message unless st is want. */
#define MD_EXPECT(c, st, want)                                                                                  \
  do {                                                                                                          \
    dorm_status md_st_ = (st);                                                                                  \
    if (md_st_ != (want))                                                                                       \
      fail_msg("%s:%d: expected %s, got %s: %s", __FILE__, __LINE__, dorm_strerror(want), dorm_strerror(md_st_), \
               dorm_client_errmsg(c));                                                                          \
  } while (0)
#define MD_OK(c, st) MD_EXPECT(c, st, DORM_OK)

#endif
