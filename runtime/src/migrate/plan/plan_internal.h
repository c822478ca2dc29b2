/* The offline half of migrations (runtime/src/migrate/plan/): directory, snapshot, diff,
 * plan, checksums. No network: dormc links this and core only. This header is the
 * boundary the online engine (../engine/) and the compiler see. */
#ifndef DORM_PLAN_INTERNAL_H
#define DORM_PLAN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core_internal.h"
#include "dorm/migrate.h"

#if defined(__GNUC__)
#define MIG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MIG_PRINTF(f, a)
#endif

/* Writes j as indented JSON (2 spaces, members in their order, integers
 * without exponent), the deterministic form of every file we write. */
void dorm__mig_json_pretty(dorm__buf *b, const cJSON *j, int indent);
/* Writes j compactly ({"a":1}). */
void dorm__mig_json_compact(dorm__buf *b, const cJSON *j);
/* A JSON string literal. */
void dorm__mig_json_string(dorm__buf *b, const char *s);

/* Reading cJSON trees with errors naming the member path. */
typedef struct mig_reader {
  dorm_arena *a;
  char *errbuf;
  size_t errcap;
  dorm_status status;
  const char *what; /* file name for messages */
} mig_reader;
const char *dorm__mr_str(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
double dorm__mr_num(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
bool dorm__mr_bool(mig_reader *r, const cJSON *obj, const char *name, const char *path);
const cJSON *dorm__mr_arr(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
const cJSON *dorm__mr_obj(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path);
void dorm__mr_fail(mig_reader *r, const char *fmt, ...) MIG_PRINTF(2, 3);

/* cJSON building helpers that keep going on OOM (the result is checked once). */
cJSON *dorm__mj_key_attr(const dorm_key_attr *k);
bool dorm__mig_key_attr_read(mig_reader *r, const cJSON *obj, const char *name, dorm_key_attr *out, const char *path);

/* Names <-> enums. */
dorm_key_type dorm__mig_key_type_from(const char *s);
const char *dorm__mig_kind_name(dorm_mig_kind k);
dorm_mig_kind dorm__mig_kind_from(const char *s);
dorm_stream_view dorm__mig_stream_from(const char *s);
dorm_projection_type dorm__mig_projection_from(const char *s, bool *ok);

/* A default ({"S": text}, {"N": text}, {"BOOL": b}) added to obj as member
 * "default" when d->type is set; read from obj's optional "default" (false
 * with r failed when malformed). */
void dorm__mj_default(cJSON *obj, const dorm_mig_default *d);
bool dorm__mig_default_read(mig_reader *r, const cJSON *obj, dorm_mig_default *out, const char *path);

/* Template parts to and from JSON. */
cJSON *dorm__mj_parts(const dorm_mig_part *parts, size_t n);
bool dorm__mig_parts_read(mig_reader *r, const cJSON *arr, dorm_mig_part **parts, size_t *n, const char *path);

/* SHA-256 of data as "sha256:<64 hex>" in out (72 bytes). */
void dorm__mig_sha256(const void *data, size_t len, char out[80]);

/* Now as RFC 3339 UTC with seconds ("2026-11-25T13:18:44Z"). */
void dorm__mig_now_text(char out[32]);

/* Strings equal, NULL only equal to NULL. */
bool dorm__mig_streq(const char *a, const char *b);
bool dorm__mig_key_eq(const dorm_key_attr *a, const dorm_key_attr *b);
bool dorm__mig_projection_eq(const dorm_projection *a, const dorm_projection *b);
/* "PK S" / "PK S, SK N": key text for messages. */
const char *dorm__mig_keys_text(dorm_arena *a, const dorm_key_attr *pk, const dorm_key_attr *sk);

/* The CreateTable definition of a snapshot table (arrays in the arena). */
dorm_status dorm__mig_table_def(const dorm_mig_table *t, dorm_arena *a, dorm_table_def *def);
/* The GSI definition of one index of t (throughput when provisioned). */
void dorm__mig_gsi_def(const dorm_mig_table *t, const dorm_mig_index *g, dorm_gsi_def *def);

#endif
