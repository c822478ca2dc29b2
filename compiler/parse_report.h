/* What the grammar's error reporter hands to report_syntax_error() (parse.c),
 * which turns it into a message with a hint. */
#ifndef DORMC_PARSE_REPORT_H
#define DORMC_PARSE_REPORT_H

#include "parse_ctx.h"

#define REPORT_MAX_NAMES 6

typedef struct report_input {
  bool at_eof, is_rbrace, is_ident; /* what the unexpected token is */
  const char *lookahead_name;    /* "identifier", "}", "end of file", ... */
  bool lookahead_is_word, lookahead_is_keyword;
  dormc_loc loc;                 /* the unexpected token */
  const char *expected[REPORT_MAX_NAMES]; /* symbol names, words folded into want_name */
  int nexpected;
  bool too_many;                 /* more alternatives than listed */
  bool want_semi, want_rbrace, want_name;
  bool at_top;                   /* a declaration was expected */
  bool at_member_start;          /* a member or '}' was expected */
  bool lone_name;                /* a body member is a lone name so far */
  const char *context;           /* "field", "gsi", ... or NULL */
} report_input;

void report_syntax_error(parse_ctx *pc, const report_input *in);

#endif
