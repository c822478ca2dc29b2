/* dormc's side of migrations: the snapshot of a resolved schema, which the
 * migration engine (libdorm's dorm/migrate.h) diffs against the snapshot of
 * the last migration. */
#ifndef DORMC_MIGRATE_H
#define DORMC_MIGRATE_H

#include "dorm/migrate.h"
#include "dormc_schema.h"

/* The schema's tables and, per model, its key bindings (templates with the
 * stored attribute and kind of each field they use), sorted by name. Every
 * array is allocated in the arena; strings point into the schema, which
 * must outlive the snapshot. DORM_ERR_NO_MEMORY only. */
dorm_status dormc_migrate_snapshot(const dormc_schema *s, dorm_arena *a, dorm_mig_snapshot *out);

/* Where in the schema a refusal of dorm_mig_diff() belongs: the field or key
 * template of its model, else the model; the index of its table, else the
 * table. A loc with file NULL when the schema no longer has it (a dropped
 * table) or the refusal names nothing. */
dormc_loc dormc_migrate_refusal_loc(const dormc_schema *s, const dorm_mig_refusal *r);

#endif
