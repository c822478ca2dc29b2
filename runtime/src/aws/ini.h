/* ini: the AWS shared config/credentials file format.
 *
 * The dialect is the one the AWS SDKs share (the "profile file" rules):
 *   - "[name]" starts a section; a '#' or ';' anywhere in a header line starts
 *     a comment. Sections that appear twice are merged.
 *   - "key = value"; keys are case-insensitive (stored lower-case), values are
 *     trimmed. A '#' or ';' preceded by whitespace starts an inline comment
 *     ("key = a#b" keeps "a#b"). A key that appears twice keeps the LAST value.
 *   - Lines whose first non-blank character is '#' or ';' are comments.
 *   - An indented line after "key =" (empty value) is a sub-property
 *     ("  endpoint_url = ..."); after "key = value" it continues the value
 *     (joined with '\n').
 *   - CRLF line ends and a UTF-8 byte-order mark are accepted.
 * Errors name the file and line: "~/.aws/config:12: expected 'key = value'".
 */
#ifndef DORM_INI_H
#define DORM_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "dorm/status.h"

typedef struct dorm_ini_prop {
  char *key;                  /* lower-case */
  char *value;                /* trimmed; "" for a property that holds sub-properties */
  int line;                   /* 1-based line of the (last) definition */
  struct dorm_ini_prop *sub;  /* sub-properties, nsub of them */
  size_t nsub, subcap;
} dorm_ini_prop;

typedef struct dorm_ini_section {
  char *name;                 /* between the brackets, trimmed: "profile dev", "default" */
  int line;                   /* line of its first header */
  dorm_ini_prop *props;
  size_t nprops, propcap;
} dorm_ini_section;

typedef struct dorm_ini {
  char *path;                 /* the name used in messages ("~/.aws/config") */
  dorm_ini_section *sections;
  size_t nsections, seccap;
} dorm_ini;

/* Parses len bytes of text. display_path names the file in error messages.
 * On DORM_OK *out is a new dorm_ini the caller frees with dorm__ini_free().
 * Malformed text gives DORM_ERR_CONFIG and "path:line: what" in errbuf;
 * out of memory gives DORM_ERR_NO_MEMORY. *out is NULL on failure. */
dorm_status dorm__ini_parse(const char *text, size_t len, const char *display_path,
                           dorm_ini **out, char *errbuf, size_t errcap);

/* Reads and parses the file at path. A file that does not exist is not an
 * error: *out is then an empty dorm_ini and *found (if not NULL) false. A file
 * that exists but cannot be read gives DORM_ERR_IO ("path: cannot read: ..."). */
dorm_status dorm__ini_load(const char *path, const char *display_path, dorm_ini **out,
                          bool *found, char *errbuf, size_t errcap);

void dorm__ini_free(dorm_ini *ini);

/* Lookups; names compare exactly for sections, keys are given lower-case.
 * The results are owned by the dorm_ini. NULL when absent. */
const dorm_ini_section *dorm__ini_section_find(const dorm_ini *ini, const char *name);
const dorm_ini_prop *dorm__ini_get(const dorm_ini_section *sec, const char *key);
const dorm_ini_prop *dorm__ini_sub_get(const dorm_ini_prop *prop, const char *key);

#endif
