/* Helpers for the migration tests: a scratch directory with the schema
 * series under table names unique to the test, running dormc and dorm as
 * child processes (output captured), and a client for DynamoDB Local. */
#ifndef DORM_MIG_COMMON_H
#define DORM_MIG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dorm/dorm.h"

typedef struct mt_env {
  char dir[256];          /* scratch directory */
  char migrations[300];   /* <dir>/migrations */
  char schemas[300];      /* <dir>/schemas: shop_v1.dorm .. shop_v4.dorm */
  char shop[64], users[64], history[64]; /* table names */
  char log[320];          /* backfill log file */
} mt_env;

/* Makes the scratch directory and writes the schema series with "mig_shop"
 * and "mig_users" replaced by "<prefix>_shop" / "<prefix>_users" (prefix
 * NULL: keep the names, for golden files). Fails the test on error. */
void mt_setup(mt_env *e, const char *prefix);
/* Removes the scratch directory. */
void mt_teardown(mt_env *e);

/* Output of the last mt_run: stdout and stderr (NUL-terminated, static). */
extern char mt_out[1 << 16], mt_err[1 << 16];

/* Runs dormc / dorm with the arguments (NULL-terminated) and returns the
 * exit status (128 + signal when killed); output in mt_out / mt_err. */
int mt_dormc(const char *arg, ...);
int mt_dorm(const char *arg, ...);
/* Starts dorm in the background (output to files in e->dir); returns the pid. */
pid_t mt_dorm_bg(const mt_env *e, const char *tag, const char *arg, ...);
/* Waits for a background process; returns its exit status (128 + signal). */
int mt_wait(pid_t pid);
/* The captured output of a background run, read into mt_out / mt_err. */
void mt_bg_output(const mt_env *e, const char *tag);

/* "<dir>/schemas/shop_vN.dorm" in a static buffer (one at a time). */
const char *mt_schema(const mt_env *e, int version);
/* Writes a migration with dormc migrate diff at 2026-01-0N (asserts exit 0). */
void mt_diff(const mt_env *e, int version, const char *name, bool destructive);

/* Environment for dorm: the DynamoDB Local endpoint and test credentials. */
void mt_dorm_env(void);
/* A client for DynamoDB Local. */
dorm_client *mt_client(void);
/* Deletes the test's tables (ignoring missing ones). */
void mt_drop_tables(dorm_client *c, const mt_env *e);

/* Writes n Order items (and a few sparse/other-type items) with
 * dorm_batch_write; expected values are mt_expected_*(i). */
void mt_write_orders(dorm_client *c, const char *table, size_t n);
/* Rendering the generated code does for item i. */
const char *mt_status_of(size_t i);
void mt_expected_gsi1sk(size_t i, char out[64]);
/* Sparse Orders (no status) and items of another type written by mt_write_orders. */
#define MT_SPARSE 7
#define MT_OTHER 5

/* Writes schema version `version` from text, "@TABLE@" replaced by e->shop
 * (the first occurrence). */
void mt_write_schema_text(const mt_env *e, int version, const char *text);
/* Fails the test unless text contains want, showing text. */
void mt_expect(const char *text, const char *want);

/* True when haystack contains needle (for messages). */
bool mt_has(const char *haystack, const char *needle);

#endif
