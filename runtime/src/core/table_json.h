/* table_json: the documents of the table operations, with no network: CreateTable and
 * UpdateTable bodies and DescribeTable parsing (table_json.c). Used by ddb/tables.c and
 * by the offline migration plan. */
#ifndef DORM_TABLE_JSON_H
#define DORM_TABLE_JSON_H

#include <cjson/cJSON.h>

#include "dorm/tables.h"
#include "json_write.h"

/* Checks def and writes the CreateTable body into w (which must be empty).
 * On failure errbuf says what is wrong, naming the field. */
dorm_status dorm__tables_write_create(dorm_jw *w, const dorm_table_def *def, char *errbuf, size_t errcap);

/* Checks change and writes the UpdateTable body into w. */
dorm_status dorm__tables_write_update(dorm_jw *w, const char *table, const dorm_table_change *change,
                                char *errbuf, size_t errcap);

/* Checks a table name (3..255 of [A-Za-z0-9_.-]); what names it in errbuf. */
dorm_status dorm__tables_check_name(const char *name, const char *what, char *errbuf, size_t errcap);

/* Reads a TableDescription object into out (strings and arrays in the
 * arena). Members that are absent stay zero / "". DORM_ERR_BAD_RESPONSE
 * when td is not an object or a member has the wrong JSON type. */
dorm_status dorm__tables_parse_description(const cJSON *td, dorm_arena *a, dorm_table_description *out,
                                     char *errbuf, size_t errcap);

/* Status text -> enum (UNKNOWN for anything else). */
dorm_table_status dorm__tables_status_from(const char *s);
dorm_index_status dorm__tables_index_status_from(const char *s);

#endif
