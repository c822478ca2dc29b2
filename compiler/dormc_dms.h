/* DynamORM's schema contract (DMS v0.1) to and from .dorm.
 *
 * Export turns a resolved schema into one DMS YAML document; import turns a
 * DMS document (YAML, parsed with libyaml) into canonical .dorm text. The
 * mapping, and what does not survive a round trip, is described in
 * docs/language.md ("DMS").
 */
#ifndef DORMC_DMS_H
#define DORMC_DMS_H

#include <stdbool.h>
#include <stddef.h>

#include "dormc.h"
#include "dormc_schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The DMS version both directions speak. */
#define DORMC_DMS_VERSION "0.1"

/* The largest document dormc_dms_import reads. Importing needs about 40
 * times a document's size in memory (libyaml's tree of the whole document,
 * the records read from it, then the compiler's tree of the .dorm made
 * from it: a 16 MiB document took 660 MB), and a DMS document of 3,000
 * models of a dozen attributes is about 4 MiB. */
#define DORMC_DMS_MAX_BYTES ((size_t)4 << 20)

/* Whether attribute name attr follows a DMS naming convention, as DMS v0.1
 * says readers validate it when a model declares one: camelCase is
 * ^[a-z][A-Za-z0-9]*$ (and "PK" and "SK"), snake_case
 * ^[a-z][a-z0-9]*(_[a-z0-9]+)*$. Export declares a model's convention only
 * when all its attribute names follow it; import refuses names that do not
 * follow the one declared. */
bool dormc_dms_name_follows(const char *attr, bool snake_case);

/* Writes every model of s as one DMS v0.1 YAML document into a malloc'd
 * NUL-terminated text (caller frees) and stores its length in *len (len may
 * be NULL). The output depends only on the schema (same schema, same bytes).
 * Returns NULL only when memory is exhausted. */
char *dormc_dms_export(const dormc_schema *s, size_t *len);

/* Reads the DMS document data/len (borrowed; path names it in diagnostics)
 * and stores the equivalent .dorm text, exactly as `dormc fmt` prints it,
 * in a malloc'd NUL-terminated *out (caller frees) with its length in
 * *out_len. Diagnostics (errors with the YAML line and column, warnings
 * for what is ignored) go to opts->on_diag; only on_diag/diag_user of opts
 * are used (opts may be NULL: diagnostics are dropped).
 * Returns 0 on success; -1 when the document is not valid DMS v0.1, has
 * no .dorm equivalent or is longer than DORMC_DMS_MAX_BYTES (nothing is
 * stored in *out); -2 when memory is exhausted. */
int dormc_dms_import(const dormc_options *opts, const char *path, const char *data, size_t len, char **out,
                     size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
