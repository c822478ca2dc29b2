/* The .dorm grammar: a pure parser with locations whose actions only call
 * AST constructors (compiler/ast.c).
 *
 * Every body is one list of members: the parser accepts any member in any
 * body and semantic analysis says what belongs where, with a good location.
 * Keywords are tokens, but `word` accepts every one of them where a name is
 * expected, so they are reserved only where the grammar needs them.
 * Errors recover at ';' and '}' so one run reports many of them; the error
 * reporter (below) turns bison's expectations into messages with hints. */
%require "3.8"
%define api.pure full
%define api.prefix {dormyy}
%define api.token.prefix {TOK_}
%define api.location.type {dormc_loc}
%define parse.error custom
%locations
%expect 0
%param {void *scanner}
%parse-param {parse_ctx *pc}

%code requires {
#include "parse_ctx.h"
}

%code provides {
int dormyylex(DORMYYSTYPE *yylval, DORMYYLTYPE *yylloc, void *scanner);
int dormyyparse(void *scanner, parse_ctx *pc);
}

%code {
#include <stdio.h>
#include <string.h>

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
  do {                                                                \
    if (N) {                                                          \
      (Cur) = YYRHSLOC(Rhs, 1);                                       \
      (Cur).end_line = YYRHSLOC(Rhs, N).end_line;                     \
      (Cur).end_col = YYRHSLOC(Rhs, N).end_col;                       \
      (Cur).end_offset = YYRHSLOC(Rhs, N).end_offset;                 \
    } else {                                                          \
      (Cur) = YYRHSLOC(Rhs, 0);                                       \
      (Cur).line = (Cur).end_line;                                    \
      (Cur).col = (Cur).end_col;                                      \
      (Cur).offset = (Cur).end_offset;                                \
    }                                                                 \
  } while (0)

static void dormyyerror(const DORMYYLTYPE *loc, void *scanner, parse_ctx *pc, const char *msg);
}

%union {
  const char *text;
  ast_str *str;
  ast_value *num;
  ast_name *name;
  ast_type *type;
  ast_attr *attr;
  ast_value *value;
  ast_keypart *kpart;
  ast_setting *setting;
  ast_member *member;
  ast_block *block;
  ast_item *item;
  vec *list;
}

/* The AST lives in the compilation's arena, which is released in one call,
 * so a value dropped during error recovery needs no freeing; the destructors
 * only state that ownership. */
%destructor { (void)$$; } <text> <str> <num> <name> <type> <attr> <value>
%destructor { (void)$$; } <kpart> <setting> <member> <block> <item> <list>

%token <text> IDENT "identifier"
%token <str> STRING "string"
%token <num> INT "integer" DURATION "duration" NUMBER "number"
%token KW_NAMESPACE "namespace" KW_IMPORT "import" KW_ENUM "enum" KW_STRUCT "struct"
%token KW_TABLE "table" KW_MODEL "model" KW_ENDPOINT "endpoint" KW_IN "in"
%token KW_KEY "key" KW_TYPE "type" KW_NAMING "naming" KW_GSI "gsi" KW_LSI "lsi"
%token KW_PROJECT "project" KW_BILLING "billing" KW_STREAM "stream" KW_TTL "ttl"
%token KW_REQUEST "request" KW_PROGRESS "progress" KW_RESULT "result"
%token KW_AUTH "auth" KW_TIMEOUT "timeout"
%token LBRACE "{" RBRACE "}" LPAREN "(" RPAREN ")" LT "<" GT ">"
%token SEMI ";" COLON ":" COMMA "," EQ "=" QMARK "?" AT "@" DOT "."

%type <text> word
%type <name> any_name
%type <list> qname members type_args attrs attr_args key_parts settings strings names
%type <item> item
%type <block> block
%type <member> member projection
%type <type> type type_base
%type <attr> attr
%type <value> attr_arg number default_value
%type <kpart> key_part
%type <setting> setting

%%

file:
  items
;

items:
  %empty
| items item              { ast_file_add(pc, $2); }
| items error SEMI
| items error RBRACE
| items error block       { (void)$3; yyerrok; }
;

item:
  KW_NAMESPACE qname SEMI                  { $$ = ast_namespace(pc, $2, @1, @$); }
| KW_IMPORT STRING SEMI                    { $$ = ast_import(pc, $2, @1, @$); }
| KW_ENUM any_name block                   { $$ = ast_decl(pc, AST_I_ENUM, $2, $3, @1, @$); }
| KW_STRUCT any_name block                 { $$ = ast_decl(pc, AST_I_STRUCT, $2, $3, @1, @$); }
| KW_TABLE any_name STRING block           { $$ = ast_table_decl(pc, $2, $3, $4, @1, @$); }
| KW_TABLE any_name block                  { $$ = ast_table_decl(pc, $2, NULL, $3, @1, @$); }
| KW_MODEL any_name block                  { $$ = ast_model_decl(pc, $2, AST_HOME_NONE, NULL, NULL, $3, @1, @$); }
| KW_MODEL any_name KW_IN any_name block   { $$ = ast_model_decl(pc, $2, AST_HOME_IN, $4, NULL, $5, @1, @$); }
| KW_MODEL any_name KW_TABLE STRING block  { $$ = ast_model_decl(pc, $2, AST_HOME_TABLE, NULL, $4, $5, @1, @$); }
| KW_ENDPOINT any_name block               { $$ = ast_endpoint_decl(pc, $2, NULL, $3, @1, @$); }
| KW_ENDPOINT any_name any_name block      { $$ = ast_endpoint_decl(pc, $2, $3, $4, @1, @$); }
;

qname:
  any_name                 { $$ = ast_list1(pc, $1); }
| qname DOT any_name       { $$ = ast_list_add(pc, $1, $3); }
;

block:
  LBRACE members RBRACE        { $$ = ast_new_block(pc, $2, @1, @3); }
| LBRACE members error RBRACE  { $$ = ast_new_block(pc, $2, @1, @4); }
;

members:
  %empty                   { $$ = ast_list_empty(pc); }
| members member           { $$ = ast_list_add(pc, $1, $2); }
| members error SEMI       { $$ = $1; yyerrok; }
;

member:
  any_name COLON type attrs SEMI           { $$ = ast_field(pc, $1, $3, NULL, $4, @$); }
| any_name COLON type EQ default_value attrs SEMI
                                           { $$ = ast_field(pc, $1, $3, $5, $6, @$); }
| any_name SEMI                            { $$ = ast_enum_value(pc, $1, NULL, @$); }
| any_name EQ STRING SEMI                  { $$ = ast_enum_value(pc, $1, $3, @$); }
| KW_KEY LPAREN key_parts RPAREN SEMI      { $$ = ast_key_decl(pc, $3, @1, @$); }
| KW_KEY any_name EQ STRING SEMI           { $$ = ast_key_template(pc, $2, $4, @1, @$); }
| KW_TYPE STRING SEMI                      { $$ = ast_entity_type(pc, $2, @1, @$); }
| KW_NAMING any_name SEMI                  { $$ = ast_named_stmt(pc, AST_M_NAMING, $2, @1, @$); }
| KW_GSI STRING LPAREN key_parts RPAREN projection SEMI
                                           { $$ = ast_index(pc, AST_M_GSI, $2, $4, $6, @1, @$); }
| KW_LSI STRING LPAREN key_parts RPAREN projection SEMI
                                           { $$ = ast_index(pc, AST_M_LSI, $2, $4, $6, @1, @$); }
| KW_BILLING any_name SEMI                 { $$ = ast_billing(pc, $2, NULL, @1, @$); }
| KW_BILLING any_name LPAREN settings RPAREN SEMI
                                           { $$ = ast_billing(pc, $2, $4, @1, @$); }
| KW_STREAM any_name SEMI                  { $$ = ast_named_stmt(pc, AST_M_STREAM, $2, @1, @$); }
| KW_TTL any_name SEMI                     { $$ = ast_named_stmt(pc, AST_M_TTL, $2, @1, @$); }
| KW_REQUEST block                         { $$ = ast_payload(pc, AST_M_REQUEST, $2, @1, @$); }
| KW_PROGRESS block                        { $$ = ast_payload(pc, AST_M_PROGRESS, $2, @1, @$); }
| KW_RESULT block                          { $$ = ast_payload(pc, AST_M_RESULT, $2, @1, @$); }
| KW_AUTH any_name LPAREN strings RPAREN SEMI
                                           { $$ = ast_auth(pc, $2, $4, @1, @$); }
| KW_TIMEOUT number SEMI                   { $$ = ast_timeout(pc, $2, @1, @$); }
;

type:
  type_base                { $$ = $1; }
| type_base QMARK          { $$ = ast_type_optional(pc, $1, @$); }
;

type_base:
  any_name                 { $$ = ast_new_type(pc, $1, NULL, @$); }
| any_name LT type_args GT { $$ = ast_new_type(pc, $1, $3, @$); }
;

type_args:
  type                     { $$ = ast_list1(pc, $1); }
| type_args COMMA type     { $$ = ast_list_add(pc, $1, $3); }
;

attrs:
  %empty                   { $$ = ast_list_empty(pc); }
| attrs attr               { $$ = ast_list_add(pc, $1, $2); }
;

attr:
  AT any_name                          { $$ = ast_new_attr(pc, $2, NULL, @$); }
| AT any_name LPAREN RPAREN            { $$ = ast_new_attr(pc, $2, ast_list_empty(pc), @$); }
| AT any_name LPAREN attr_args RPAREN  { $$ = ast_new_attr(pc, $2, $4, @$); }
;

attr_args:
  attr_arg                 { $$ = ast_list1(pc, $1); }
| attr_args COMMA attr_arg { $$ = ast_list_add(pc, $1, $3); }
;

attr_arg:
  STRING                   { $$ = ast_value_str(pc, $1); }
| number                   { $$ = $1; }
| any_name                 { $$ = ast_value_name(pc, $1); }
;

 /* A field's default: "text", 3, -3, 1.5, true, an enum member. */
default_value:
  STRING                   { $$ = ast_value_str(pc, $1); }
| INT                      { $$ = $1; }
| NUMBER                   { $$ = $1; }
| any_name                 { $$ = ast_value_name(pc, $1); }
;

number:
  INT                      { $$ = $1; }
| DURATION                 { $$ = $1; }
;

key_parts:
  key_part                 { $$ = ast_list1(pc, $1); }
| key_parts COMMA key_part { $$ = ast_list_add(pc, $1, $3); }
;

key_part:
  any_name                 { $$ = ast_new_keypart(pc, $1, NULL, @$); }
| any_name COLON any_name  { $$ = ast_new_keypart(pc, $1, $3, @$); }
;

projection:
  %empty                                 { $$ = NULL; }
| KW_PROJECT any_name                    { $$ = ast_projection(pc, $2, NULL); }
| KW_PROJECT any_name LPAREN names RPAREN { $$ = ast_projection(pc, $2, $4); }
;

names:
  any_name                 { $$ = ast_list1(pc, $1); }
| names COMMA any_name     { $$ = ast_list_add(pc, $1, $3); }
;

settings:
  setting                  { $$ = ast_list1(pc, $1); }
| settings COMMA setting   { $$ = ast_list_add(pc, $1, $3); }
;

setting:
  any_name number          { $$ = ast_new_setting(pc, $1, $2, @$); }
;

strings:
  STRING                   { $$ = ast_list1(pc, $1); }
| strings COMMA STRING     { $$ = ast_list_add(pc, $1, $3); }
;

any_name:
  word                     { $$ = ast_new_name(pc, $1, @1); }
;

word:
  IDENT                    { $$ = $1; }
| KW_NAMESPACE             { $$ = "namespace"; }
| KW_IMPORT                { $$ = "import"; }
| KW_ENUM                  { $$ = "enum"; }
| KW_STRUCT                { $$ = "struct"; }
| KW_TABLE                 { $$ = "table"; }
| KW_MODEL                 { $$ = "model"; }
| KW_ENDPOINT              { $$ = "endpoint"; }
| KW_IN                    { $$ = "in"; }
| KW_KEY                   { $$ = "key"; }
| KW_TYPE                  { $$ = "type"; }
| KW_NAMING                { $$ = "naming"; }
| KW_GSI                   { $$ = "gsi"; }
| KW_LSI                   { $$ = "lsi"; }
| KW_PROJECT               { $$ = "project"; }
| KW_BILLING               { $$ = "billing"; }
| KW_STREAM                { $$ = "stream"; }
| KW_TTL                   { $$ = "ttl"; }
| KW_REQUEST               { $$ = "request"; }
| KW_PROGRESS              { $$ = "progress"; }
| KW_RESULT                { $$ = "result"; }
| KW_AUTH                  { $$ = "auth"; }
| KW_TIMEOUT               { $$ = "timeout"; }
;

%%

#include "parse_report.h"

/* Bison calls this only when its stack is exhausted (the input nests too
 * deeply); every syntax error goes through yyreport_syntax_error. */
static void dormyyerror(const DORMYYLTYPE *loc, void *scanner, parse_ctx *pc, const char *msg) {
  (void)scanner;
  (void)msg;
  parse_error_at(pc, *loc, "schema nested too deeply to parse (parser stack exhausted)");
}

static bool is_word_symbol(yysymbol_kind_t s) {
  return s == YYSYMBOL_IDENT || (s >= YYSYMBOL_KW_NAMESPACE && s <= YYSYMBOL_KW_TIMEOUT);
}

/* What the member (or statement) under construction is, from the symbols on
 * the parser stack since the enclosing '{' (or the start of the item). */
static const char *member_context(const yypcontext_t *ctx) {
  const yy_state_t *sp = ctx->yyssp;
  yysymbol_kind_t first = YYSYMBOL_YYEMPTY, second = YYSYMBOL_YYEMPTY;
  for (;; sp--) {
    yysymbol_kind_t s = YY_ACCESSING_SYMBOL(*sp);
    if (s == YYSYMBOL_YYEOF || s == YYSYMBOL_members || s == YYSYMBOL_items || s == YYSYMBOL_LBRACE) break;
    second = first;
    first = s;
  }
  switch (first) {
  case YYSYMBOL_any_name: return second == YYSYMBOL_COLON ? "field" : "enum member";
  case YYSYMBOL_KW_NAMESPACE: return "namespace";
  case YYSYMBOL_KW_IMPORT: return "import";
  case YYSYMBOL_KW_KEY: return "key";
  case YYSYMBOL_KW_TYPE: return "type";
  case YYSYMBOL_KW_NAMING: return "naming";
  case YYSYMBOL_KW_GSI: return "gsi";
  case YYSYMBOL_KW_LSI: return "lsi";
  case YYSYMBOL_KW_BILLING: return "billing";
  case YYSYMBOL_KW_STREAM: return "stream";
  case YYSYMBOL_KW_TTL: return "ttl";
  case YYSYMBOL_KW_AUTH: return "auth";
  case YYSYMBOL_KW_TIMEOUT: return "timeout";
  default: return NULL;
  }
}

/* True when the member under construction is a lone name right after '{' or
 * a previous member (so the name was meant as a statement keyword). */
static bool lone_name_in_body(const yypcontext_t *ctx) {
  yysymbol_kind_t top = YY_ACCESSING_SYMBOL(ctx->yyssp[0]);
  yysymbol_kind_t below = YY_ACCESSING_SYMBOL(ctx->yyssp[-1]);
  return (top == YYSYMBOL_any_name || top == YYSYMBOL_IDENT) && below == YYSYMBOL_members;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, parse_ctx *pc) {
  (void)scanner;
  enum { MAX_EXPECTED = 64 };
  yysymbol_kind_t expected[MAX_EXPECTED];
  int n = yypcontext_expected_tokens(ctx, expected, MAX_EXPECTED);
  if (n < 0) n = 0;
  report_input in = {0};
  yysymbol_kind_t la = yypcontext_token(ctx);
  in.at_eof = la == YYSYMBOL_YYEOF;
  in.is_rbrace = la == YYSYMBOL_RBRACE;
  in.is_ident = la == YYSYMBOL_IDENT;
  in.loc = *yypcontext_location(ctx);
  bool want_model = false, want_gsi = false;
  for (int i = 0; i < n; i++) {
    yysymbol_kind_t s = expected[i];
    if (s == YYSYMBOL_SEMI) in.want_semi = true;
    if (s == YYSYMBOL_RBRACE) in.want_rbrace = true;
    if (s == YYSYMBOL_IDENT) in.want_name = true;
    if (s == YYSYMBOL_KW_MODEL) want_model = true;
    if (s == YYSYMBOL_KW_GSI) want_gsi = true;
    if (is_word_symbol(s)) continue; /* shown as "a name" */
    if (in.nexpected < REPORT_MAX_NAMES) in.expected[in.nexpected++] = yysymbol_name(s);
    else in.too_many = true;
  }
  in.at_top = want_model && !in.want_name;
  in.at_member_start = want_gsi && in.want_rbrace;
  in.lookahead_name = in.at_eof ? "end of file" : yysymbol_name(la);
  in.lookahead_is_word = is_word_symbol(la);
  in.lookahead_is_keyword = in.lookahead_is_word && la != YYSYMBOL_IDENT;
  in.context = member_context(ctx);
  in.lone_name = lone_name_in_body(ctx);
  report_syntax_error(pc, &in);
  return 0;
}
