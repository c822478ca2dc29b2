/* State shared by the scanner (grammar/dorm.l), the parser (grammar/dorm.y)
 * and the parse driver (parse.c) while one source is parsed. */
#ifndef DORMC_PARSE_CTX_H
#define DORMC_PARSE_CTX_H

#include <setjmp.h>

#include "ast.h"

typedef struct parse_ctx {
  dormc_compilation *c;
  dormc_source *src;
  ast_file *file;
  /* Scanner position of the next character. */
  uint32_t line, col, off;
  /* The token before the lookahead and the lookahead itself, for messages
   * such as "expected ';' after field" placed right after the previous token. */
  dormc_loc prev_loc, cur_loc;
  const char *prev_text, *cur_text; /* word tokens' text, else NULL */
  /* Locations of the '{' not yet closed, innermost last. */
  dormc_loc *open_braces;
  size_t nopen, cap_open;
  unsigned errors;      /* lexical + syntax errors in this source */
  /* Tokens returned so far, and the count when the last lexical error was
   * reported: a syntax error right after one is its echo and is dropped. */
  unsigned long ntokens, lex_error_at;
  bool lex_error_seen;
  jmp_buf *fatal;       /* the scanner's fatal errors jump here */
} parse_ctx;

/* The scanner's fatal error (out of memory in flex): reports it and jumps
 * back to parse_source(). */
void lex_fatal(parse_ctx *pc, const char *msg);
/* Reports a syntax error at loc (counts it). */
void parse_error_at(parse_ctx *pc, dormc_loc loc, const char *fmt, ...) DORMC_PRINTF(3, 4);

#endif
