/* The scanner's actions: positions, tokens, literals and lexical errors. */
#include "lex_util.h"

#include <stdio.h>
#include <string.h>

#include "dorm_parser.h"

/* Every lexical error goes through here so the parser can drop its echo. */
#define parse_error_at lex_error_at
static void lex_error_at(parse_ctx *pc, dormc_loc loc, const char *fmt, ...) DORMC_PRINTF(3, 4);

static bool is_cont(unsigned char ch) { return (ch & 0xC0) == 0x80; }

uint32_t utf8_count(const char *s, size_t len) {
  uint32_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (!is_cont((unsigned char)s[i])) n++;
  return n;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len) {
  unsigned char c = s[0];
  if (c < 0x80) return c ? 1 : 0;
  if (c >= 0xC2 && c <= 0xDF) return len >= 2 && is_cont(s[1]) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (len < 3 || !is_cont(s[1]) || !is_cont(s[2])) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;
    if (c == 0xED && s[1] > 0x9F) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (len < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3])) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;
    if (c == 0xF4 && s[1] > 0x8F) return 0;
    return 4;
  }
  return 0;
}

size_t utf8_valid_prefix(const char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    size_t n = utf8_seq((const unsigned char *)s + i, len - i);
    if (!n) break;
    i += n;
  }
  return i;
}

/* The location of byte off inside a token that starts at start. */
static dormc_loc loc_inside(const dormc_loc *start, const char *text, size_t off, size_t width) {
  dormc_loc l = *start;
  for (size_t i = 0; i < off; i++) {
    if (text[i] == '\n') {
      l.line++;
      l.col = 1;
    } else if (!is_cont((unsigned char)text[i])) {
      l.col++;
    }
  }
  l.offset = start->offset + (uint32_t)off;
  l.end_line = l.line;
  l.end_col = l.col + (uint32_t)(width ? width : 1);
  l.end_offset = l.offset + (uint32_t)(width ? width : 1);
  return l;
}

void lex_step(parse_ctx *pc, dormc_loc *loc, const char *text, size_t len) {
  loc->file = pc->src->path;
  loc->line = pc->line;
  loc->col = pc->col;
  loc->offset = pc->off;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch == '\n') {
      pc->line++;
      pc->col = 1;
    } else if (!is_cont(ch)) {
      pc->col++;
    }
  }
  pc->off += (uint32_t)len;
  loc->end_line = pc->line;
  loc->end_col = pc->col;
  loc->end_offset = pc->off;
}

void lex_eof(parse_ctx *pc, dormc_loc *loc) {
  loc->file = pc->src->path;
  loc->line = loc->end_line = pc->line;
  loc->col = pc->col;
  loc->end_col = pc->col + 1;
  loc->offset = loc->end_offset = pc->off;
}

int lex_token(parse_ctx *pc, const dormc_loc *loc, int tok, const char *text) {
  pc->prev_loc = pc->cur_loc;
  pc->prev_text = pc->cur_text;
  pc->cur_loc = *loc;
  pc->cur_text = text;
  pc->ntokens++;
  if (pc->c->stopped) return TOK_YYEOF;
  return tok;
}

int lex_keyword(const char *word, size_t len, const char **text) {
  static const struct {
    const char *word;
    int tok;
  } kw[] = {
      {"namespace", TOK_KW_NAMESPACE}, {"import", TOK_KW_IMPORT},   {"enum", TOK_KW_ENUM},
      {"struct", TOK_KW_STRUCT},       {"table", TOK_KW_TABLE},     {"model", TOK_KW_MODEL},
      {"endpoint", TOK_KW_ENDPOINT},   {"in", TOK_KW_IN},           {"key", TOK_KW_KEY},
      {"type", TOK_KW_TYPE},           {"naming", TOK_KW_NAMING},   {"gsi", TOK_KW_GSI},
      {"lsi", TOK_KW_LSI},             {"project", TOK_KW_PROJECT}, {"billing", TOK_KW_BILLING},
      {"stream", TOK_KW_STREAM},       {"ttl", TOK_KW_TTL},         {"request", TOK_KW_REQUEST},
      {"progress", TOK_KW_PROGRESS},   {"result", TOK_KW_RESULT},   {"auth", TOK_KW_AUTH},
      {"timeout", TOK_KW_TIMEOUT},
  };
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
    if (strlen(kw[i].word) == len && memcmp(kw[i].word, word, len) == 0) {
      *text = kw[i].word;
      return kw[i].tok;
    }
  }
  *text = NULL;
  return 0;
}

const char *lex_word(parse_ctx *pc, const char *text, size_t len) {
  return arena_strndup(&pc->c->arena, text, len);
}

static void lex_error(parse_ctx *pc, dormc_loc loc, const char *fmt, const char *arg) {
  lex_error_at(pc, loc, fmt, arg);
}

/* Reports the first NUL byte or invalid UTF-8 sequence in text, if any. */
static bool check_utf8(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len, const char *what) {
  size_t ok = utf8_valid_prefix(text, len);
  if (ok == len) return true;
  dormc_loc at = loc_inside(loc, text, ok, 1);
  if (text[ok] == '\0')
    parse_error_at(pc, at, "NUL byte in %s", what);
  else
    parse_error_at(pc, at, "invalid UTF-8 byte 0x%02X in %s", (unsigned char)text[ok], what);
  return false;
}

void lex_comment(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len, bool block) {
  check_utf8(pc, loc, text, len, "comment");
  ast_comment *cm = arena_alloc(&pc->c->arena, sizeof *cm);
  cm->text = arena_strndup(&pc->c->arena, text, len);
  cm->len = len;
  cm->block = block;
  cm->loc = *loc;
  vec_push(&pc->c->arena, pc->src->comments, cm);
}

void lex_unterminated_comment(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len) {
  (void)text;
  (void)len;
  dormc_loc at = *loc;
  at.end_line = at.line;
  at.end_col = at.col + 2;
  at.end_offset = at.offset + 2;
  lex_error(pc, at, "unterminated comment%s", "; a '/*' comment must end with '*/'");
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static long hex4(const char *s, size_t avail) {
  if (avail < 4) return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(s[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

static size_t put_utf8(char *out, unsigned long cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

ast_str *lex_string(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len, bool terminated) {
  ast_str *s = arena_alloc(&pc->c->arena, sizeof *s);
  s->loc = *loc;
  if (!terminated) {
    dormc_loc at = *loc;
    at.end_col = at.col + 1;
    at.end_offset = at.offset + 1;
    parse_error_at(pc, at, "unterminated string; a string ends with '\"' on the same line");
  }
  size_t body_len = len - 1 - (terminated ? 1 : 0);
  const char *body = text + 1;
  /* Decoding never grows the text (an escape is at least as long as what it stands for). */
  char *out = arena_alloc(&pc->c->arena, body_len + 1);
  size_t n = 0;
  bool verbatim = true;
  bool reported = false;
  for (size_t i = 0; i < body_len;) {
    unsigned char ch = (unsigned char)body[i];
    if (ch != '\\') {
      size_t seq = utf8_seq((const unsigned char *)body + i, body_len - i);
      if (!seq) {
        if (!reported) {
          dormc_loc at = loc_inside(loc, text, i + 1, 1);
          if (ch == 0)
            parse_error_at(pc, at, "NUL byte in string");
          else
            parse_error_at(pc, at, "invalid UTF-8 byte 0x%02X in string", ch);
          reported = true;
        }
        i++;
        continue;
      }
      memcpy(out + n, body + i, seq);
      n += seq;
      i += seq;
      continue;
    }
    verbatim = false;
    if (i + 1 >= body_len) { /* a lone backslash at the end of an unterminated string */
      i++;
      continue;
    }
    char e = body[i + 1];
    switch (e) {
    case '"': out[n++] = '"'; i += 2; continue;
    case '\\': out[n++] = '\\'; i += 2; continue;
    case 'n': out[n++] = '\n'; i += 2; continue;
    case 't': out[n++] = '\t'; i += 2; continue;
    case 'u': {
      long cp = hex4(body + i + 2, body_len - i - 2);
      size_t used = 6;
      if (cp < 0) {
        parse_error_at(pc, loc_inside(loc, text, i + 1, 2), "'\\u' needs four hex digits (\\uXXXX)");
        i += 2;
        continue;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if (i + 7 < body_len && body[i + 6] == '\\' && body[i + 7] == 'u')
          lo = hex4(body + i + 8, body_len - i - 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          used = 12;
        } else {
          parse_error_at(pc, loc_inside(loc, text, i + 1, 6), "unpaired UTF-16 surrogate in '\\u' escape");
          i += 6;
          continue;
        }
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        parse_error_at(pc, loc_inside(loc, text, i + 1, 6), "unpaired UTF-16 surrogate in '\\u' escape");
        i += 6;
        continue;
      } else if (cp == 0) {
        parse_error_at(pc, loc_inside(loc, text, i + 1, 6), "'\\u0000' (NUL) is not allowed in a string");
        i += 6;
        continue;
      }
      n += put_utf8(out + n, (unsigned long)cp);
      i += used;
      continue;
    }
    default: {
      size_t seq = utf8_seq((const unsigned char *)body + i + 1, body_len - i - 1);
      if (!seq) seq = 1;
      char shown[8] = {0};
      if ((unsigned char)e >= 0x20 && e != 0x7F && seq <= 4 && e != 0)
        memcpy(shown, body + i + 1, seq);
      dormc_loc at = loc_inside(loc, text, i + 1, 2);
      if (shown[0])
        parse_error_at(pc, at, "invalid escape '\\%s' in string; valid escapes are \\\" \\\\ \\n \\t \\uXXXX", shown);
      else
        parse_error_at(pc, at, "invalid escape in string; valid escapes are \\\" \\\\ \\n \\t \\uXXXX");
      i += 1 + seq;
      continue;
    }
    }
  }
  out[n] = '\0';
  s->value = out;
  s->len = n;
  s->verbatim = verbatim;
  return s;
}

static ast_value *new_number(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len) {
  ast_value *v = arena_alloc(&pc->c->arena, sizeof *v);
  v->loc = *loc;
  v->text = arena_strndup(&pc->c->arena, text, len);
  return v;
}

/* Parses the leading digits; false on overflow past INT64_MAX. */
static bool parse_digits(const char *text, size_t len, int64_t *out, size_t *ndigits) {
  int64_t v = 0;
  size_t i = 0;
  bool ok = true;
  for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
    int d = text[i] - '0';
    if (v > (INT64_MAX - d) / 10) ok = false;
    if (ok) v = v * 10 + d;
  }
  *out = ok ? v : 0;
  *ndigits = i;
  return ok;
}

ast_value *lex_int(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len) {
  ast_value *v = new_number(pc, loc, text, len);
  v->kind = AST_V_INT;
  size_t nd;
  if (!parse_digits(text, len, &v->num, &nd))
    parse_error_at(pc, *loc, "integer '%s' is too large (the limit is 9223372036854775807)", v->text);
  return v;
}

ast_value *lex_number(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len) {
  ast_value *v = new_number(pc, loc, text, len);
  v->kind = AST_V_NUMBER;
  bool neg = len && text[0] == '-';
  /* An integer keeps its value (in int64's range, INT64_MIN included); a
   * decimal only its text. */
  uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  size_t i = neg;
  bool ok = true;
  for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
    unsigned d = (unsigned)(text[i] - '0');
    if (mag > (limit - d) / 10) ok = false;
    if (ok) mag = mag * 10 + d;
  }
  if (i == len) {
    if (!ok) parse_error_at(pc, *loc, "integer '%s' is out of range (int64: -9223372036854775808..9223372036854775807)",
                            v->text);
    else v->num = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
  }
  return v;
}

ast_value *lex_duration(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len) {
  ast_value *v = new_number(pc, loc, text, len);
  v->kind = AST_V_DURATION;
  size_t nd;
  bool ok = parse_digits(text, len, &v->num, &nd);
  v->unit = v->text + nd;
  int64_t mult = 1;
  if (strcmp(v->unit, "s") == 0) mult = 1000;
  else if (strcmp(v->unit, "m") == 0) mult = 60 * 1000;
  else if (strcmp(v->unit, "h") == 0) mult = 3600 * 1000;
  if (!ok || v->num > INT64_MAX / mult) {
    parse_error_at(pc, *loc, "duration '%s' is too large", v->text);
    v->ms = 0;
  } else {
    v->ms = v->num * mult;
  }
  return v;
}

ast_value *lex_bad_number(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len) {
  ast_value *v = new_number(pc, loc, text, len);
  v->kind = AST_V_DURATION;
  size_t nd;
  parse_digits(text, len, &v->num, &nd);
  v->unit = v->text + nd;
  parse_error_at(pc, *loc, "invalid number '%s'; a duration ends in ms, s, m or h (e.g. 15m)", v->text);
  return v;
}

/* Locations of at most this many open braces are kept (for the "to close
 * the '{' opened here" note); deeper ones are only counted. */
#define MAX_TRACKED_BRACES 4096u

void lex_open_brace(parse_ctx *pc, const dormc_loc *loc) {
  if (pc->nopen < MAX_TRACKED_BRACES) {
    if (pc->nopen == pc->cap_open) {
      size_t cap = pc->cap_open ? pc->cap_open * 2 : 16;
      dormc_loc *bigger = arena_alloc(&pc->c->arena, cap * sizeof *bigger);
      if (pc->nopen) memcpy(bigger, pc->open_braces, pc->nopen * sizeof *bigger);
      pc->open_braces = bigger;
      pc->cap_open = cap;
    }
    pc->open_braces[pc->nopen] = *loc;
  }
  pc->nopen++;
}

void lex_close_brace(parse_ctx *pc) {
  if (pc->nopen) pc->nopen--;
}

void lex_stray(parse_ctx *pc, const dormc_loc *loc, const char *text, size_t len) {
  unsigned char ch = (unsigned char)text[0];
  if (ch == 0) {
    parse_error_at(pc, *loc, "NUL byte in source");
  } else if (len > 1) {
    parse_error_at(pc, *loc, "unexpected character '%.*s' (only ASCII is allowed outside strings and comments)",
                   (int)len, text);
  } else if (ch >= 0x80) {
    parse_error_at(pc, *loc, "invalid UTF-8 byte 0x%02X", ch);
  } else if (ch == '"' || ch == '\'') {
    parse_error_at(pc, *loc, "stray '%c'; strings use double quotes", ch);
  } else if (ch == '[') {
    /* string[] and list[string] are how TypeScript, Go and Python write lists */
    parse_error_at(pc, *loc, "stray '[' in schema; a list is written list<T> (list<string>)");
  } else if (ch >= 0x21 && ch < 0x7F) {
    parse_error_at(pc, *loc, "stray '%c' in schema", ch);
  } else {
    parse_error_at(pc, *loc, "stray control character 0x%02X in schema", ch);
  }
}

#undef parse_error_at
static void lex_error_at(parse_ctx *pc, dormc_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = pc->c->stopped ? NULL : arena_vprintf(&pc->c->arena, fmt, ap);
  va_end(ap);
  pc->lex_error_at = pc->ntokens;
  pc->lex_error_seen = true;
  parse_error_at(pc, loc, "%s", msg ? msg : "");
}
