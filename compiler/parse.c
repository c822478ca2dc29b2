/* Parsing one source: runs the scanner and the parser, and turns syntax
 * errors into messages with hints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_ctx.h"
#include "parse_report.h"
/* Generated; after parse_ctx.h, which they need. */
#include "dorm_parser.h"
#define YYSTYPE DORMYYSTYPE
#define YYLTYPE DORMYYLTYPE
#include "dorm_lexer.h"

void parse_error_at(parse_ctx *pc, dormc_loc loc, const char *fmt, ...) {
  pc->errors++;
  pc->src->syntax_errors = true;
  va_list ap;
  va_start(ap, fmt);
  char *msg = pc->c->stopped ? NULL : arena_vprintf(&pc->c->arena, fmt, ap);
  va_end(ap);
  diag_error(pc->c, loc, "%s", msg ? msg : "");
}

void lex_fatal(parse_ctx *pc, const char *msg) {
  dormc_loc none = {0};
  diag_error(pc->c, none, "scanner failure: %s", msg);
  pc->errors++;
  pc->src->syntax_errors = true;
  longjmp(*pc->fatal, 1);
}

int parse_source(dormc_compilation *c, dormc_source *s) {
  parse_ctx pc;
  memset(&pc, 0, sizeof pc);
  pc.c = c;
  pc.src = s;
  pc.line = 1;
  pc.col = 1;
  s->comments = vec_new(&c->arena);
  pc.file = arena_alloc(&c->arena, sizeof *pc.file);
  pc.file->src = s;
  pc.file->items = vec_new(&c->arena);

  yyscan_t scanner;
  if (dormyylex_init_extra(&pc, &scanner) != 0) dormc_oom(c);
  /* Out of memory inside the scanner or the parser lands here too, so the
   * scanner is always destroyed. */
  jmp_buf jb;
  jmp_buf *outer = c->oom_jmp;
  pc.fatal = &jb;
  c->oom_jmp = &jb;
  int rc = 1;
  if (setjmp(jb) == 0) {
    dormyy_scan_bytes(s->text, (int)s->len, scanner);
    rc = dormyyparse(scanner, &pc);
  } else {
    pc.errors++;
  }
  c->oom_jmp = outer;
  dormyylex_destroy(scanner);
  if (rc != 0 && pc.errors == 0) {
    /* Cannot happen (every failure is reported), but never parse silently wrong. */
    parse_error_at(&pc, pc.cur_loc, "could not parse this file");
  }
  s->ast = pc.file;
  return pc.errors ? -1 : 0;
}

/* ---- syntax error messages --------------------------------------------- */

/* The innermost '{' whose location was kept (see lex_open_brace). */
static dormc_loc innermost_brace(const parse_ctx *pc) {
  size_t i = pc->nopen <= pc->cap_open ? pc->nopen : pc->cap_open;
  return pc->open_braces[i - 1];
}

static const char *const top_keywords[] = {"namespace", "import", "enum", "struct", "table", "model", "endpoint"};
static const char *const member_keywords[] = {"key",    "type", "naming",  "gsi",      "lsi",    "billing",
                                              "stream", "ttl",  "request", "progress", "result", "auth",
                                              "timeout"};

static bool plain_symbol(const char *name) {
  return strcmp(name, "identifier") == 0 || strcmp(name, "string") == 0 || strcmp(name, "integer") == 0 ||
         strcmp(name, "duration") == 0 || strcmp(name, "end of file") == 0;
}

static void describe_lookahead(parse_ctx *pc, const report_input *in, char *buf, size_t cap) {
  if (in->at_eof) snprintf(buf, cap, "end of file");
  else if (in->is_ident && pc->cur_text) snprintf(buf, cap, "identifier '%.60s'", pc->cur_text);
  else if (plain_symbol(in->lookahead_name)) snprintf(buf, cap, "%s", in->lookahead_name);
  else snprintf(buf, cap, "'%s'", in->lookahead_name);
}

static dormc_loc after(dormc_loc l) {
  dormc_loc a = l;
  a.line = a.end_line;
  a.col = a.end_col;
  a.end_col = a.col + 1;
  a.offset = a.end_offset;
  a.end_offset = a.offset;
  return a;
}

static bool is_top_keyword(const char *w) {
  for (size_t i = 0; i < sizeof top_keywords / sizeof *top_keywords; i++)
    if (strcmp(top_keywords[i], w) == 0) return true;
  return false;
}

void report_syntax_error(parse_ctx *pc, const report_input *in) {
  char what[128];
  /* A lexical error in the lookahead or the token before it already said
   * what is wrong; the syntax error that follows is its echo. */
  if (pc->lex_error_seen && pc->ntokens - pc->lex_error_at <= 2) {
    pc->errors++;
    pc->src->syntax_errors = true;
    return;
  }
  describe_lookahead(pc, in, what, sizeof what);

  if (in->at_eof && pc->nopen > 0) {
    parse_error_at(pc, in->loc, "unexpected end of file; missing '}'");
    diag_note(pc->c, innermost_brace(pc), "to close the '{' opened here");
    return;
  }
  if (in->want_semi && (in->at_eof || in->is_rbrace || in->loc.line > pc->prev_loc.end_line)) {
    if (in->context) parse_error_at(pc, after(pc->prev_loc), "expected ';' after %s", in->context);
    else parse_error_at(pc, after(pc->prev_loc), "expected ';'");
    return;
  }
  if (in->at_top) {
    if (in->is_ident && pc->cur_text) {
      const char *s = closest_name(pc->cur_text, top_keywords, sizeof top_keywords / sizeof *top_keywords);
      char hint[64] = "";
      if (s) snprintf(hint, sizeof hint, "; did you mean '%s'?", s);
      parse_error_at(pc, in->loc,
                     "unknown declaration '%.60s'%s (a schema has namespace, import, enum, struct, table, model "
                     "and endpoint statements)",
                     pc->cur_text, hint);
    } else if (in->is_rbrace) {
      parse_error_at(pc, in->loc, "unexpected '}': no block is open here");
    } else {
      parse_error_at(pc, in->loc,
                     "unexpected %s; expected a declaration (namespace, import, enum, struct, table, model or "
                     "endpoint)",
                     what);
    }
    return;
  }
  if (in->lone_name && !in->at_eof && !in->is_rbrace && pc->prev_text) {
    if (is_top_keyword(pc->prev_text) && pc->nopen > 0) {
      parse_error_at(pc, pc->prev_loc, "missing '}' before '%s'", pc->prev_text);
      diag_note(pc->c, innermost_brace(pc), "to close the '{' opened here");
      return;
    }
    const char *s =
        closest_name(pc->prev_text, member_keywords, sizeof member_keywords / sizeof *member_keywords);
    if (s) {
      parse_error_at(pc, pc->prev_loc, "unknown statement '%.60s'; did you mean '%s'?", pc->prev_text, s);
    } else if (in->lookahead_is_word) {
      parse_error_at(pc, after(pc->prev_loc), "expected ':' between field name '%.60s' and its type",
                     pc->prev_text);
    } else {
      parse_error_at(pc, pc->prev_loc, "unknown statement '%.60s' (a field is written 'name: type;')",
                     pc->prev_text);
    }
    return;
  }

  char list[256] = "";
  size_t used = 0;
  int total = in->nexpected + (in->want_name ? 1 : 0);
  if (!in->too_many && total > 0) {
    int k = 0;
    for (int i = 0; i < total; i++) {
      char item[64];
      if (in->want_name && i == 0) snprintf(item, sizeof item, "a name");
      else {
        const char *nm = in->expected[in->want_name ? i - 1 : i];
        if (plain_symbol(nm)) snprintf(item, sizeof item, "%s", strcmp(nm, "string") == 0 ? "a string" : nm);
        else snprintf(item, sizeof item, "'%s'", nm);
      }
      const char *sep = k == 0 ? "" : (i == total - 1 ? " or " : ", ");
      int w = snprintf(list + used, sizeof list - used, "%s%s", sep, item);
      if (w > 0 && (size_t)w < sizeof list - used) used += (size_t)w;
      k++;
    }
  }
  if (in->at_member_start)
    parse_error_at(pc, in->loc, "unexpected %s; expected a field, a statement or '}'", what);
  else if (used)
    parse_error_at(pc, in->loc, "unexpected %s; expected %s", what, list);
  else
    parse_error_at(pc, in->loc, "unexpected %s", what);
}
