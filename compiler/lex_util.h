/* The scanner's actions (grammar/dorm.l calls these; kept in C so the
 * scanner file stays a plain list of patterns). */
#ifndef DORMC_LEX_UTIL_H
#define DORMC_LEX_UTIL_H

#include "parse_ctx.h"

/* Sets *loc to the span of text (the current match) and advances the scanner
 * position past it. Runs before every action. */
void lex_step(parse_ctx *pc, dormc_loc *loc, const char *text, size_t len);
/* Records the token for messages and returns tok (or end of file once the
 * error limit has been reached, so a hopeless input stops quickly). */
int lex_token(parse_ctx *pc, const dormc_loc *loc, int tok, const char *text);
/* The keyword token for a word, or 0; *text gets the keyword's static text. */
int lex_keyword(const char *word, size_t len, const char **text);
/* An arena copy of an identifier. */
const char *lex_word(parse_ctx *pc, const char *text, size_t len);
void lex_comment(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len, bool block);
void lex_unterminated_comment(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len);
/* Decodes a string literal (quotes included in text), reporting bad escapes,
 * NUL bytes and invalid UTF-8; terminated == false reports it unterminated. */
ast_str *lex_string(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len, bool terminated);
ast_value *lex_int(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len);
/* -12, 1.5, -2.5e3: a field default's number, kept as written. */
ast_value *lex_number(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len);
ast_value *lex_duration(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len);
ast_value *lex_bad_number(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len);
void lex_open_brace(parse_ctx *pc, const dormc_loc *loc);
void lex_close_brace(parse_ctx *pc);
void lex_stray(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len);
void lex_eof(parse_ctx *pc, dormc_loc *loc);

/* Length of the valid UTF-8 prefix of s[0..len) that has no NUL byte. */
size_t utf8_valid_prefix(const char *s, size_t len);
/* Number of UTF-8 sequence starts (code points) in s[0..len). */
uint32_t utf8_count(const char *s, size_t len);

#endif
