/* dormc: the .dorm compiler as a library.
 *
 * A compilation loads one root schema file (and, transitively, the files it
 * imports), checks it and produces one resolved schema (dormc_schema.h) that
 * the generators consume. Everything the compilation allocates (sources,
 * AST, resolved schema, diagnostic texts) lives in its arena and is released
 * by dormc_free(). The library never prints and never exits: diagnostics go
 * to the caller's callback, files are read through an optional callback.
 *
 * A compilation is used from one thread at a time; separate compilations are
 * independent (no global state).
 *
 * Typical use:
 *   dormc_options o = { .on_diag = dormc_diag_fprint, .diag_user = stderr };
 *   dormc_compilation *c = dormc_new(&o);
 *   if (c && dormc_load_file(c, "shop.dorm") == 0 && dormc_analyze(c) == 0)
 *     use(dormc_get_schema(c));
 *   dormc_free(c);
 */
#ifndef DORMC_H
#define DORMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A place in a source file. Lines and columns are 1-based; columns count
 * characters (UTF-8 code points; a tab is one column). end_line/end_col is
 * just past the last character (exclusive), so a one-character token at
 * column 3 has col 3 and end_col 4. offset/end_offset are byte offsets.
 * file is the path as displayed (relative paths stay relative); it is owned
 * by the compilation. A loc with file == NULL means "no location". */
typedef struct dormc_loc {
  const char *file;
  uint32_t line, col, end_line, end_col;
  uint32_t offset, end_offset;
} dormc_loc;

typedef enum dormc_severity {
  DORMC_SEV_ERROR = 0,
  DORMC_SEV_WARNING = 1,
  DORMC_SEV_NOTE = 2
} dormc_severity;

/* A note attached to a diagnostic: the other place involved. line_text is the
 * source line at loc (without its newline, line_len bytes, not NUL-terminated)
 * or NULL when there is no source to show. */
typedef struct dormc_note {
  dormc_loc loc;
  const char *message;
  const char *line_text;
  size_t line_len;
} dormc_note;

/* One diagnostic. All pointers are valid only during the callback. */
typedef struct dormc_diagnostic {
  dormc_severity severity;
  dormc_loc loc;
  const char *message;
  const char *line_text; /* source line at loc, or NULL */
  size_t line_len;
  const dormc_note *notes;
  size_t nnotes;
} dormc_diagnostic;

typedef void (*dormc_diag_fn)(const dormc_diagnostic *diag, void *user);

/* Reads a whole file. On success stores a malloc'd buffer (the library frees
 * it with free()) and its length, and returns 0. On failure returns an errno
 * value (ENOENT, EACCES, EFBIG for "too large", ...) and stores nothing. */
typedef int (*dormc_read_fn)(void *user, const char *path, char **data, size_t *len);

typedef struct dormc_options {
  dormc_diag_fn on_diag;  /* NULL: diagnostics are only counted */
  void *diag_user;
  dormc_read_fn read_file; /* NULL: read from the file system */
  void *read_user;
  unsigned max_errors;    /* after this many errors, stop (0: 20) */
  size_t max_file_size;   /* larger files are refused (0: 64 MiB) */
} dormc_options;

typedef struct dormc_compilation dormc_compilation;
struct dormc_schema;

/* Creates a compilation. opts is copied (NULL: all defaults). Returns NULL
 * only when memory is exhausted. */
dormc_compilation *dormc_new(const dormc_options *opts);

/* Releases the compilation and everything it owns (schema, AST, texts). */
void dormc_free(dormc_compilation *c);

/* Loads the root file at path and every file it imports (paths relative to
 * the importing file; a file imported twice is loaded once). Returns 0 when
 * everything was read and parsed without errors, -1 on schema errors
 * (syntax, a missing or cyclic import: reported as diagnostics), -2 when the
 * root file itself cannot be read or is over the size limit (also
 * reported). May be called once per compilation. */
int dormc_load_file(dormc_compilation *c, const char *path);

/* Same as dormc_load_file, but the root file's text is given (borrowed; the
 * compilation keeps its own copy). path names it in diagnostics and is the
 * base for its imports, which are read through the read callback. */
int dormc_load_buffer(dormc_compilation *c, const char *path, const char *data, size_t len);

/* Runs semantic analysis over what was loaded and builds the resolved
 * schema. Returns 0 when there are no errors (warnings allowed), -1
 * otherwise. Does nothing and returns -1 if loading failed. */
int dormc_analyze(dormc_compilation *c);

/* The resolved schema, or NULL unless dormc_analyze() returned 0. Owned by
 * the compilation. */
const struct dormc_schema *dormc_get_schema(const dormc_compilation *c);

/* Error and warning counts so far (errors past the limit included). */
unsigned dormc_error_count(const dormc_compilation *c);
unsigned dormc_warning_count(const dormc_compilation *c);

/* Formats one file in canonical form (imports are not followed). The text is
 * read through the read callback (or taken from data/len when data is not
 * NULL). On success stores a malloc'd NUL-terminated text (caller frees) and
 * its length and returns 0. Returns -1 on syntax errors (reported as
 * diagnostics; formatting never rewrites a file it could not parse) or I/O
 * errors. A compilation used for formatting may format several files. */
int dormc_format(dormc_compilation *c, const char *path, const char *data, size_t len,
                 char **out, size_t *out_len);

/* Writes a structural dump of the schema (everything but locations) to a
 * malloc'd NUL-terminated text; returns NULL on out-of-memory. Two schemas
 * are the same iff their dumps are equal. */
char *dormc_schema_dump(const struct dormc_schema *s);

/* Reports a diagnostic that a tool built on the compilation found (the
 * migration differ, say) through opts.on_diag, with the source line at loc
 * as the compiler's own diagnostics have it (loc.file NULL: no place).
 * Counts it like the compiler's own. message is copied. */
void dormc_report(dormc_compilation *c, dormc_severity severity, dormc_loc loc, const char *message);

/* The default printer, gcc-style, usable as an on_diag callback with
 * user = a FILE * (stderr when NULL):
 *   shop.dorm:12:3: error: duplicate field 'orderId'
 *      12 |   orderId: string;
 *         |   ^~~~~~~
 * followed by the notes in the same form. */
void dormc_diag_fprint(const dormc_diagnostic *diag, void *file);

/* The same text into a malloc'd NUL-terminated string (NULL on OOM). */
char *dormc_diag_format(const dormc_diagnostic *diag);

/* The compiler's version ("0.1.0"). */
const char *dormc_version(void);

#ifdef __cplusplus
}
#endif
#endif
