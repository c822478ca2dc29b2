/* Internals of the dormc library shared by its phases: the arena, small
 * containers, sources, diagnostics and the compilation object. Not installed;
 * tests include it to reach the phases directly. */
#ifndef DORMC_INTERNAL_H
#define DORMC_INTERNAL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dormc.h"
#include "dormc_schema.h"

#if defined(__GNUC__)
#define DORMC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DORMC_PRINTF(f, a)
#endif

#define DORMC_DEFAULT_MAX_ERRORS 20u
#define DORMC_DEFAULT_MAX_FILE_SIZE ((size_t)64 << 20)
/* Warnings shown per compilation; the rest are summed up in one line. */
#define DORMC_MAX_WARNINGS 100u
/* Notes shown per diagnostic (a cycle through 10,000 structs is one line). */
#define DORMC_MAX_NOTES 10u

/* ---- arena: bump allocation freed in one call -------------------------- */

typedef struct arena_chunk arena_chunk;
typedef struct arena {
  arena_chunk *head;
  /* Called when malloc fails; must not return (longjmps to the entry point). */
  void (*oom)(void *);
  void *oom_user;
} arena;

void arena_init(arena *a, void (*oom)(void *), void *oom_user);
void arena_release(arena *a);
/* Zeroed memory; never returns NULL (calls a->oom instead). */
void *arena_alloc(arena *a, size_t size);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_printf(arena *a, const char *fmt, ...) DORMC_PRINTF(2, 3);
char *arena_vprintf(arena *a, const char *fmt, va_list ap);

/* A growable array of pointers in an arena (old storage is left behind). */
typedef struct vec {
  void **items;
  size_t n, cap;
} vec;
vec *vec_new(arena *a);
void vec_push(arena *a, vec *v, void *item);

/* String -> pointer hash map in an arena. Keys are borrowed. */
typedef struct symtab {
  const char **keys;
  void **vals;
  size_t n, cap;
} symtab;
void symtab_init(symtab *t);
void *symtab_get(const symtab *t, const char *key);
/* Inserts key if absent and returns NULL; returns the existing value if present. */
void *symtab_put(arena *a, symtab *t, const char *key, void *val);
/* Inserts or replaces. */
void symtab_set(arena *a, symtab *t, const char *key, void *val);

/* A malloc'd growing string (for texts handed to the caller). On OOM sets
 * oom and keeps what it had. */
typedef struct strbuf {
  char *data;
  size_t len, cap;
  bool oom;
} strbuf;
void sb_append(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_putc(strbuf *b, char ch);
void sb_printf(strbuf *b, const char *fmt, ...) DORMC_PRINTF(2, 3);
/* Takes the text (NUL-terminated, never NULL unless OOM) and resets b. */
char *sb_take(strbuf *b, size_t *len);
void sb_free(strbuf *b);

/* ---- names ------------------------------------------------------------- */

/* True for C's reserved words (and bool/true/false): generated C uses field
 * names as struct members, so a field may not be called one. */
bool dormc_is_c_keyword(const char *name);

/* The snake_case form of a field name (`createdAt` -> `created_at`,
 * `userID` -> `user_id`, `PK` -> `pk`), in the arena. */
const char *dormc_snake_case(arena *a, const char *name);

/* ---- sources ----------------------------------------------------------- */

struct ast_file;

typedef enum source_state { SRC_NEW, SRC_LOADING, SRC_DONE } source_state;

typedef struct dormc_source {
  const char *path;      /* display path, normalized */
  const char *text;      /* arena copy, NUL-terminated */
  size_t len;
  uint32_t *line_starts; /* byte offset of each line start (lazily built) */
  size_t nlines;
  struct ast_file *ast;  /* NULL until parsed (or when it failed to parse) */
  vec *comments;         /* ast_comment *, in source order */
  source_state state;
  struct dormc_source *importer; /* who imported it first (NULL: root) */
  dormc_loc import_loc;  /* the import statement there */
  bool syntax_errors;
  unsigned rank;         /* position in load order (imports first), for sorting */
} dormc_source;

/* Builds s->line_starts from s->text. */
void source_index_lines(dormc_compilation *c, dormc_source *s);
/* The line containing loc in its source: pointer and length (no newline). */
const char *source_line(const dormc_source *s, uint32_t line, size_t *len);
/* Normalizes a path lexically ("a/./b/../c" -> "a/c"). */
char *path_normalize(arena *a, const char *path);
/* dir of path joined with rel (rel absolute: rel itself). */
char *path_join_dir(arena *a, const char *path, const char *rel);

/* ---- the compilation --------------------------------------------------- */

typedef struct pending_note {
  dormc_loc loc;
  char *message;
} pending_note;

struct dormc_compilation {
  dormc_options opts;
  arena arena;
  jmp_buf *oom_jmp;         /* set by each public entry point */
  vec *sources;             /* dormc_source *, in load order */
  symtab sources_by_path;
  dormc_source *root;
  unsigned errors, warnings;
  bool stopped;             /* error limit reached: drop further diagnostics */
  bool loaded, load_failed, analyzed;
  const dormc_schema *schema;
  /* The diagnostic being built (notes attach to it until the next one). */
  bool has_pending;
  dormc_severity pending_sev;
  dormc_loc pending_loc;
  char *pending_msg;
  pending_note *pending_notes;
  size_t npending_notes, cap_pending_notes;
  /* While set, finished diagnostics are kept here and emitted by
   * diag_release() in source order. */
  bool buffering;
  vec *buffered;
  unsigned hidden_warnings; /* past DORMC_MAX_WARNINGS, counted but not shown */
  unsigned hidden_notes;    /* of the pending diagnostic, past DORMC_MAX_NOTES */
};

/* Reports "out of memory" and longjmps to the running entry point. */
void dormc_oom(void *compilation);

dormc_source *compilation_find_source(const dormc_compilation *c, const char *path);

/* ---- diagnostics ------------------------------------------------------- */

/* Starts a diagnostic (emitting the previous pending one). Later diag_note()
 * calls attach notes to it. The message is formatted now. */
void diag_error(dormc_compilation *c, dormc_loc loc, const char *fmt, ...) DORMC_PRINTF(3, 4);
void diag_warning(dormc_compilation *c, dormc_loc loc, const char *fmt, ...) DORMC_PRINTF(3, 4);
void diag_note(dormc_compilation *c, dormc_loc loc, const char *fmt, ...) DORMC_PRINTF(3, 4);
/* Emits the pending diagnostic, if any. Every entry point calls it last. */
void diag_flush(dormc_compilation *c);
/* Starts keeping diagnostics back; diag_release() emits them sorted by
 * file (load order) and position, then stops keeping them. */
void diag_hold(dormc_compilation *c);
void diag_release(dormc_compilation *c);

/* "did you mean 'x'?": the closest candidate within a small edit distance,
 * or NULL. */
const char *closest_name(const char *word, const char *const *cands, size_t n);

/* A location covering [a.start, b.end). */
dormc_loc loc_span(dormc_loc a, dormc_loc b);

#endif
