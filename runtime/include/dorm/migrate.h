/* dorm/migrate.h: schema migrations for DynamoDB.
 *
 * The engine behind `dormc migrate diff` (offline: snapshots, the diff, the
 * files of a migration and the integrity file) and `dorm migrate deploy |
 * status | resolve | backfill` (online: applies plans, records them in a
 * history table, backfills computed attributes, finds drift). The file
 * formats are described in docs/migrations.md.
 *
 * A migration directory holds one folder per migration,
 * <yyyymmddhhmmss>_<name>/, with plan.json (the steps as data), apply.sh
 * (the same steps as an AWS CLI script) and snapshot.json (the schema after
 * the migration), plus dorm.sum, the integrity file that pins every file.
 *
 * Memory: everything these functions return lives in the dorm_arena passed
 * in; inputs are borrowed. Offline functions report failures in errbuf
 * (errcap bytes, may be NULL); online ones in errbuf too, with the client's
 * message included when DynamoDB refused something.
 */
#ifndef DORM_MIGRATE_H
#define DORM_MIGRATE_H

#include "dorm/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dorm/arena.h"
#include "dorm/client.h"
#include "dorm/status.h"
#include "dorm/tables.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- snapshots: the tables of a schema and how its models fill keys ---- */

/* Kinds of the fields a key template may use (the language allows these). */
typedef enum dorm_mig_kind {
  DORM_MIG_STRING = 1,
  DORM_MIG_INT,
  DORM_MIG_EPOCH,
  DORM_MIG_TIME,
  DORM_MIG_ENUM
} dorm_mig_kind;

typedef struct dorm_mig_index {
  const char *name;
  dorm_key_attr pk, sk;             /* sk.name NULL: none; an LSI's pk is the table's */
  dorm_projection projection;
} dorm_mig_index;

typedef struct dorm_mig_table {
  const char *name;                 /* physical table name */
  dorm_key_attr pk, sk;
  dorm_billing_mode billing;
  dorm_throughput throughput;       /* provisioned only (GSIs get the same) */
  dorm_stream_view stream;
  const char *ttl_attr;             /* NULL: TTL off */
  dorm_mig_index *gsis;
  size_t gsi_count;
  dorm_mig_index *lsis;
  size_t lsi_count;
} dorm_mig_table;

/* A field's default (`component: string = "general";`) in stored form. */
typedef struct dorm_mig_default {
  const char *type;                 /* "S", "N" or "BOOL"; NULL: no default */
  const char *value;                /* the S or N text; "true" or "false" for BOOL */
} dorm_mig_default;

/* One part of a key template: literal text, or a field's stored value. */
typedef struct dorm_mig_part {
  const char *literal;              /* NULL for a field part */
  const char *field;                /* field name (for messages) */
  const char *attr;                 /* the field's stored attribute name */
  dorm_mig_kind kind;
  const char *const *enum_values;   /* ENUM: the stored values of the members */
  size_t enum_count;
  /* The field's default, in plan.json's backfill steps only (snapshots do
   * not record it here): an item without the attribute reads as the
   * default, so the generated code keys it with the default and so does
   * the backfill. */
  dorm_mig_default dflt;
} dorm_mig_part;

/* How a model fills one key attribute of its table or of an index. */
typedef struct dorm_mig_key {
  const char *attr;
  dorm_key_type type;
  const char *field_attr;           /* stored directly by a field (its attribute == attr), or NULL */
  const char *template_text;        /* a template, as written (NULL for a direct field) */
  dorm_mig_part *parts;
  size_t part_count;
} dorm_mig_key;

/* A model field as snapshot.json records it, to judge how a schema change
 * meets the items already stored. */
typedef struct dorm_mig_field {
  const char *name;                 /* as written */
  const char *attr;                 /* stored attribute */
  const char *type_text;            /* as in the schema: "string", "list<int>", "Priority" */
  bool required;                    /* an item without the attribute cannot be read (not T?,
                                     * not a collection, not @omit_empty, no default) */
  dorm_mig_default dflt;
  /* @encrypted (stored as an envelope; docs/encryption.md). Snapshots
   * written before it was recorded lack it: encrypted_known is false and
   * a change of it is not judged. */
  bool encrypted, encrypted_known;
} dorm_mig_field;

typedef struct dorm_mig_model {
  const char *name;
  const char *table;                /* physical table name */
  const char *entity_type;          /* stored in "_type"; NULL: none */
  const char *version_attr;         /* the @version field's attribute, or NULL */
  dorm_mig_key *keys;               /* table keys first, then index keys */
  size_t key_count;
  dorm_mig_field *fields;           /* in declaration order */
  size_t field_count;
  bool has_fields;                  /* false: a snapshot written before fields were recorded */
} dorm_mig_model;

typedef struct dorm_mig_snapshot {
  dorm_mig_table *tables;           /* sorted by name */
  size_t table_count;
  dorm_mig_model *models;           /* sorted by name */
  size_t model_count;
} dorm_mig_snapshot;

/* Sorts tables, their indexes and models by name, so that two snapshots of
 * the same schema are equal whatever the declaration order. */
DORM_API void dorm_mig_snapshot_sort(dorm_mig_snapshot *s);

/* The snapshot as deterministic, indented JSON (snapshot.json), NUL-
 * terminated in the arena. DORM_ERR_NO_MEMORY only. */
DORM_API dorm_status dorm_mig_snapshot_json(const dorm_mig_snapshot *s, dorm_arena *a, const char **json);

/* Parses snapshot.json. DORM_ERR_BAD_RESPONSE with a message naming the
 * member for anything malformed. */
DORM_API dorm_status dorm_mig_snapshot_parse(const char *json, size_t len, dorm_arena *a, dorm_mig_snapshot *out,
                                    char *errbuf, size_t errcap);

/* ---- plans: the ordered steps of one migration ---- */

typedef enum dorm_mig_step_kind {
  DORM_MIG_CREATE_TABLE = 1,        /* CreateTable with all its indexes, stream and billing */
  DORM_MIG_UPDATE_TABLE,            /* UpdateTable creating or deleting exactly one GSI */
  DORM_MIG_UPDATE_BILLING,          /* UpdateTable: billing mode / provisioned throughput */
  DORM_MIG_UPDATE_STREAM,           /* UpdateTable: enable (a view type) or disable the stream */
  DORM_MIG_UPDATE_TTL,              /* UpdateTimeToLive */
  DORM_MIG_DELETE_TABLE,            /* DeleteTable */
  DORM_MIG_BACKFILL                 /* computes attributes of existing items (no AWS call of its own) */
} dorm_mig_step_kind;

typedef enum dorm_mig_wait {
  DORM_MIG_WAIT_NONE = 0,
  DORM_MIG_WAIT_TABLE_ACTIVE,       /* the table and every GSI ACTIVE (not backfilling) */
  DORM_MIG_WAIT_TABLE_DELETED
} dorm_mig_wait;

/* One attribute a backfill writes: attr = the template over the item's
 * fields, or, when dflt.type is set, the default of a field the model now
 * has, written only where the attribute is absent. */
typedef struct dorm_mig_fill {
  const char *attr;
  const char *template_text;
  dorm_mig_part *parts;
  size_t part_count;
  dorm_mig_default dflt;
} dorm_mig_fill;

/* A backfill of a model without an entity type reaches only the items
 * whose table key attributes start with (or equal) the literal text its
 * key templates start with: on a shared table the other models' items may
 * have the same fields. */
typedef struct dorm_mig_key_match {
  const char *attr;                 /* a table key attribute */
  const char *text;                 /* its template's leading literal */
  bool exact;                       /* the whole template is that literal (SK = "PROFILE") */
} dorm_mig_key_match;

typedef struct dorm_mig_step {
  dorm_mig_step_kind kind;
  const char *table;
  const char *summary;              /* one line for people */
  bool destructive;                 /* needed --allow-destructive */
  /* UPDATE_TABLE */
  const char *index;
  bool create_index;                /* true: Create, false: Delete */
  /* UPDATE_BILLING */
  dorm_billing_mode billing;
  dorm_throughput throughput;
  /* UPDATE_STREAM */
  dorm_stream_view stream;          /* NONE: disable */
  /* UPDATE_TTL */
  const char *ttl_attr;
  bool ttl_enabled;
  /* BACKFILL */
  const char *model;
  const char *entity_type;          /* filter on "_type", NULL: every item of the table */
  const char *version_attr;         /* condition and +1 on this attribute, or NULL */
  const char *reason;               /* why the items need it */
  dorm_mig_fill *fills;
  size_t fill_count;
  dorm_mig_key_match *key_match;    /* entity_type NULL: the items' key texts (0 entries: every item) */
  size_t key_match_count;
  /* AWS steps: the API operation and its exact request body (compact JSON) */
  const char *operation;
  const char *request;
  dorm_mig_wait wait;
} dorm_mig_step;

typedef struct dorm_mig_plan {
  const char *migration;            /* directory name */
  dorm_mig_step *steps;
  size_t step_count;
} dorm_mig_plan;

/* "create_table", "update_table", ... and the reverse (0 when unknown). */
DORM_API const char *dorm_mig_step_kind_name(dorm_mig_step_kind k);
DORM_API dorm_mig_step_kind dorm_mig_step_kind_from(const char *name);

/* A change the diff refuses (impossible, or destructive without the flag). */
typedef struct dorm_mig_refusal {
  const char *message;              /* what and why */
  const char *hint;                 /* what to do instead */
  /* What it is about, so that a caller holding the schema can point at it:
   * the table (its DynamoDB name) and, within it, an index; or a model and
   * one of its fields or key attributes (the stored attribute name). NULL
   * where the refusal is not about one (a dropped table has no place in the
   * new schema, only a name). */
  const char *table, *index, *model, *attr;
} dorm_mig_refusal;

/* Compares old (NULL or empty: nothing exists yet) with new and builds the
 * steps that turn one into the other, in an order DynamoDB accepts. Each
 * refused change adds a refusal; destructive changes (dropping a table or
 * an index, removing TTL) are refused unless allow_destructive. Returns
 * DORM_OK with the plan (step_count 0: nothing to do) when nothing was
 * refused, DORM_ERR_INVALID_ARGUMENT when something was (the plan is then
 * incomplete and must not be written), DORM_ERR_NO_MEMORY. plan->migration
 * is set to name. */
DORM_API dorm_status dorm_mig_diff(const dorm_mig_snapshot *old_snap, const dorm_mig_snapshot *new_snap,
                          bool allow_destructive, const char *name, dorm_arena *a, dorm_mig_plan *plan,
                          dorm_mig_refusal **refusals, size_t *refusal_count);

/* plan.json: deterministic, indented, NUL-terminated in the arena. */
DORM_API dorm_status dorm_mig_plan_json(const dorm_mig_plan *p, dorm_arena *a, const char **json);

/* Parses plan.json (DORM_ERR_BAD_RESPONSE naming the member when malformed). */
DORM_API dorm_status dorm_mig_plan_parse(const char *json, size_t len, dorm_arena *a, dorm_mig_plan *out, char *errbuf,
                                size_t errcap);

/* apply.sh: the plan as a bash script over the AWS CLI with the same waits.
 * Backfill steps run `dorm migrate backfill` on plan.json. */
DORM_API dorm_status dorm_mig_plan_script(const dorm_mig_plan *p, dorm_arena *a, const char **text);

/* ---- migration directories and the integrity file (dorm.sum) ---- */

#define DORM_MIG_SUM_FILE "dorm.sum"

typedef struct dorm_mig_file {
  const char *name;                 /* "plan.json" */
  const char *hash;                 /* "sha256:<hex>" of its bytes */
} dorm_mig_file;

typedef struct dorm_mig_entry {
  const char *name;                 /* "20260102030405_add_status_index" */
  const char *hash;                 /* over its files (names and contents) */
  dorm_mig_file *files;             /* sorted by name */
  size_t file_count;
} dorm_mig_entry;

typedef struct dorm_mig_dir {
  const char *path;
  dorm_mig_entry *migrations;       /* sorted by name, i.e. by time */
  size_t count;
  const char *total;                /* over the migrations' names and hashes, in order */
  bool has_sum;                     /* dorm.sum exists */
} dorm_mig_dir;

/* True when name is a valid migration directory name
 * (14 digits, '_', then [a-z0-9_], at most 128 characters). */
DORM_API bool dorm_mig_name_valid(const char *name);

/* Reads the directory (a missing one is empty) and hashes every file.
 * DORM_ERR_IO / DORM_ERR_INVALID_ARGUMENT (an entry that is neither a
 * migration nor dorm.sum, a migration without plan.json) with the path in
 * errbuf. */
DORM_API dorm_status dorm_mig_dir_read(const char *path, dorm_arena *a, dorm_mig_dir *out, char *errbuf, size_t errcap);

/* Checks the directory against dorm.sum. DORM_ERR_SCHEMA_MISMATCH when
 * something differs, errbuf naming the first file (or migration) that was
 * edited, added, removed or reordered and how to proceed; DORM_ERR_IO when
 * dorm.sum cannot be read. A directory without migrations and without
 * dorm.sum is fine; migrations without dorm.sum are not. */
DORM_API dorm_status dorm_mig_dir_verify(const dorm_mig_dir *d, char *errbuf, size_t errcap);

/* The text of dorm.sum for the directory as read. */
DORM_API dorm_status dorm_mig_sum_text(const dorm_mig_dir *d, dorm_arena *a, const char **text);

/* Reads DIR/<migration>/<file> into the arena (NUL-terminated). */
DORM_API dorm_status dorm_mig_read_file(const char *dir, const char *migration, const char *file, dorm_arena *a,
                               const char **data, size_t *len, char *errbuf, size_t errcap);

/* Writes data to path atomically (a temporary file renamed over it). */
DORM_API dorm_status dorm_mig_write_file(const char *path, const char *data, size_t len, char *errbuf, size_t errcap);

/* ---- deploy, status, resolve (online) ---- */

#define DORM_MIG_DEFAULT_HISTORY_TABLE "dorm_migrations"

/* Receives each line of the deploy log (also recorded in the history). */
typedef void (*dorm_mig_log_fn)(void *user, const char *line);

typedef struct dorm_mig_options {
  const char *dir;                  /* the migrations directory */
  const char *history_table;        /* NULL: DORM_MIG_DEFAULT_HISTORY_TABLE */
  bool dry_run;                     /* deploy: print what would be done, change nothing */
  long wait_timeout_ms;             /* per wait for tables/indexes; 0: 1 hour */
  double rate;                      /* backfill: items per second, 0: unlimited */
  uint32_t page_size;               /* backfill: items per scan page (progress saved per page); 0: 100 */
  uint32_t segments;                /* backfill: parallel scan segments (1..64); 0: 1. All run on the
                                     * caller's thread, as requests in flight on one connection pool.
                                     * A resumed backfill keeps the number it started with. */
  uint32_t in_flight;               /* backfill: conditional writes each segment keeps in flight (1..256); 0: 8 */
  long lock_ttl_ms;                 /* lock lease, renewed while working; 0: 60 s */
  long lock_wait_ms;                /* wait this long for a held lock; 0: fail at once */
  const char *owner;                /* lock owner; NULL: "<host>:<pid>" */
  const char *backfill_log;         /* items skipped or not updated, one JSON line each; NULL: none */
  bool progress;                    /* a progress line on stderr (callers pass isatty(2)) */
  dorm_mig_log_fn log;              /* NULL: nothing printed */
  void *log_user;
} dorm_mig_options;

/* Applies every pending migration in order (and resumes a failed or
 * interrupted one at its step), after checking dorm.sum and the recorded
 * checksums, under the lock. Creates the history table when missing.
 * Returns DORM_OK when everything is applied; otherwise the failure, with
 * dorm_client_errmsg(c) saying what and which migration/step/file.
 * DORM_ERR_RESOURCE_IN_USE: the lock is held by someone else (the message
 * names the holder). Like every call that takes a client, failures are
 * reported through the client (dorm_client_errmsg). */
DORM_API dorm_status dorm_mig_deploy(dorm_client *c, const dorm_mig_options *o);

typedef enum dorm_mig_state {
  DORM_MIG_PENDING = 0,
  DORM_MIG_APPLIED,
  DORM_MIG_FAILED,                  /* stopped at a step (error recorded) */
  DORM_MIG_RUNNING,                 /* started and not finished (a deploy now, or one that died) */
  DORM_MIG_ROLLED_BACK              /* resolved as rolled back: deploy applies it again */
} dorm_mig_state;

DORM_API const char *dorm_mig_state_name(dorm_mig_state s);

typedef struct dorm_mig_status_entry {
  const char *name;
  dorm_mig_state state;
  bool in_dir;                      /* false: recorded in the history but missing from the directory */
  bool checksum_ok;                 /* recorded checksum equals the directory's (true when not recorded) */
  const char *started, *finished;   /* RFC 3339 or NULL */
  uint32_t steps_applied, step_count;
  const char *error;                /* last error, or NULL */
  /* Backfill steps that left items without an attribute (it could not be
   * computed: a template field missing or unreadable) or failed items, one
   * line each ("backfill step 3 (Order): GSI2PK not computed for 7 of 5007
   * items (e.g. ...)"); the items are in the backfill log. */
  const char **backfill_notes;
  size_t backfill_note_count;
} dorm_mig_status_entry;

typedef struct dorm_mig_report {
  dorm_mig_status_entry *entries;
  size_t count;
  const char *sum_error;            /* dorm.sum mismatch, or NULL */
  const char **drift;               /* one line per difference found in DynamoDB */
  size_t drift_count;
  const char *drift_base;           /* the migration whose snapshot drift is measured against */
  bool up_to_date;                  /* nothing pending or failed, no drift, sums fine */
  bool backfill_gaps;               /* some entry has backfill_notes (`dorm migrate status --strict` fails) */
} dorm_mig_report;

/* What is applied, pending and failed, and drift of the live tables from
 * the snapshot of the last applied migration. Reads only. */
DORM_API dorm_status dorm_mig_status(dorm_client *c, const dorm_mig_options *o, dorm_arena *a, dorm_mig_report *out);

/* Marks migration name as applied (applied = true) or rolled back, under the
 * lock, for recovery after a manual fix. The migration must be in the
 * directory and, for --rolled-back, recorded as failed or running. */
DORM_API dorm_status dorm_mig_resolve(dorm_client *c, const dorm_mig_options *o, const char *name, bool applied);

/* Runs step `step` (1-based) of a plan, which must be a backfill, without
 * the history (what apply.sh calls). */
DORM_API dorm_status dorm_mig_backfill_run(dorm_client *c, const dorm_mig_options *o, const dorm_mig_plan *p,
                                           size_t step);

/* The live tables as a snapshot (tables only, no models): DescribeTable and
 * DescribeTimeToLive of each name; a missing table is left out. */
DORM_API dorm_status dorm_mig_live_snapshot(dorm_client *c, const char *const *tables, size_t n, dorm_arena *a,
                                            dorm_mig_snapshot *out);

/* Differences of live from expected (tables only), one line each in the
 * arena: indexes, keys, projections, billing, throughput, stream, TTL, and
 * tables that are missing. */
DORM_API dorm_status dorm_mig_compare(const dorm_mig_snapshot *expected, const dorm_mig_snapshot *live, dorm_arena *a,
                             const char ***lines, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
