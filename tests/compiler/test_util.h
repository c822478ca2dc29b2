/* Helpers for the compiler's unit tests: compile in-memory files and capture
 * the diagnostics as the text the default printer would show. */
#ifndef DORMC_TEST_UTIL_H
#define DORMC_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "dormc.h"
#include "dormc_schema.h"

typedef struct tu_file {
  const char *path;
  const char *text;
  size_t len; /* 0: strlen(text) */
} tu_file;

typedef struct tu_result {
  dormc_compilation *c;
  int load_rc, analyze_rc;
  char *diags;          /* every diagnostic, formatted, concatenated (malloc'd) */
  size_t diags_len;
  unsigned ndiags;
  const dormc_schema *schema; /* NULL unless clean */
} tu_result;

/* Loads files[0] as the root (the others are reachable by import) and
 * analyzes it if it loaded. Free with tu_free. */
tu_result tu_compile(const tu_file *files, size_t n);
/* One file called "t.dorm". */
tu_result tu_compile1(const char *text);
void tu_free(tu_result *r);
/* True when the captured diagnostics contain needle. */
bool tu_has(const tu_result *r, const char *needle);
/* Formats text; returns the malloc'd canonical text or NULL (diags captured
 * into *diags when not NULL). */
char *tu_format(const char *path, const char *text, size_t len, char **diags);

#endif
