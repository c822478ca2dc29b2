/* The formatter: prints a parsed file in canonical form.
 *
 * Canonical form: two-space indentation, one member per line, single spaces
 * (no alignment), a blank line between top-level declarations (consecutive
 * imports stay together), blank lines inside bodies kept where the source
 * had them (at most one), strings re-escaped canonically. Comments stay where
 * they were: a comment on its own line stays on its own line before the next
 * thing; a comment after something on the same line stays at the end of
 * that line. Formatting is idempotent and does not change the schema. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

typedef struct fmt {
  strbuf b;
  vec *comments;
  size_t ci;        /* the next comment not yet printed */
} fmt;

static void indent(fmt *F, int level) {
  for (int i = 0; i < level; i++) sb_puts(&F->b, "  ");
}

static ast_comment *peek(fmt *F) { return F->ci < F->comments->n ? F->comments->items[F->ci] : NULL; }

static void put_string(fmt *F, const char *s, size_t len) {
  sb_putc(&F->b, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    switch (ch) {
    case '"': sb_puts(&F->b, "\\\""); break;
    case '\\': sb_puts(&F->b, "\\\\"); break;
    case '\n': sb_puts(&F->b, "\\n"); break;
    case '\t': sb_puts(&F->b, "\\t"); break;
    default:
      if (ch < 0x20 || ch == 0x7F) sb_printf(&F->b, "\\u%04X", ch);
      else sb_putc(&F->b, (char)ch);
    }
  }
  sb_putc(&F->b, '"');
}

static void put_str(fmt *F, const ast_str *s) { put_string(F, s->value, s->len); }

static void put_type(fmt *F, const ast_type *t) {
  sb_puts(&F->b, t->name.text);
  if (t->args) {
    sb_putc(&F->b, '<');
    for (size_t i = 0; i < t->args->n; i++) {
      if (i) sb_puts(&F->b, ", ");
      put_type(F, t->args->items[i]);
    }
    sb_putc(&F->b, '>');
  }
  if (t->optional) sb_putc(&F->b, '?');
}

static void put_value(fmt *F, const ast_value *v) {
  if (v->kind == AST_V_STRING) put_string(F, v->text, strlen(v->text));
  else sb_puts(&F->b, v->text);
}

static void put_parts(fmt *F, const vec *parts) {
  sb_putc(&F->b, '(');
  for (size_t i = 0; i < parts->n; i++) {
    const ast_keypart *k = parts->items[i];
    if (i) sb_puts(&F->b, ", ");
    sb_puts(&F->b, k->attr.text);
    if (k->type.text) sb_printf(&F->b, ": %s", k->type.text);
  }
  sb_putc(&F->b, ')');
}

/* Appends every comment that starts before `before` and on or before line
 * `line` (comments inside what was just printed, and those after it on its
 * last line) to the current line. */
static void trailing(fmt *F, uint32_t line, uint32_t before) {
  for (ast_comment *c = peek(F); c && c->loc.offset < before && c->loc.line <= line; c = peek(F)) {
    sb_putc(&F->b, ' ');
    sb_append(&F->b, c->text, c->len);
    F->ci++;
    if (!c->block) {
      /* Nothing may follow a line comment on its line. */
      ast_comment *n = peek(F);
      if (n && n->loc.offset < before && n->loc.line <= line) {
        sb_putc(&F->b, '\n');
        return;
      }
    }
  }
}

/* Prints the comments that start before `before` on their own lines.
 * *prev_end is the last source line printed so far (0: nothing yet in this
 * block, so no blank line first). */
static void leading(fmt *F, uint32_t before, int level, uint32_t *prev_end, bool *blank_pending) {
  for (ast_comment *c = peek(F); c && c->loc.offset < before; c = peek(F)) {
    if (*blank_pending || (*prev_end && c->loc.line > *prev_end + 1)) sb_putc(&F->b, '\n');
    *blank_pending = false;
    indent(F, level);
    sb_append(&F->b, c->text, c->len);
    sb_putc(&F->b, '\n');
    *prev_end = c->loc.end_line;
    F->ci++;
  }
}

static void block(fmt *F, const ast_block *b, int level);

static void member(fmt *F, const ast_member *m, int level) {
  indent(F, level);
  strbuf *B = &F->b;
  switch (m->kind) {
  case AST_M_FIELD:
    sb_printf(B, "%s: ", m->name.text);
    put_type(F, m->type);
    if (m->value) {
      sb_puts(B, " = ");
      put_value(F, m->value);
    }
    for (size_t i = 0; m->attrs && i < m->attrs->n; i++) {
      const ast_attr *a = m->attrs->items[i];
      sb_printf(B, " @%s", a->name.text);
      if (a->args) {
        sb_putc(B, '(');
        for (size_t k = 0; k < a->args->n; k++) {
          if (k) sb_puts(B, ", ");
          put_value(F, a->args->items[k]);
        }
        sb_putc(B, ')');
      }
    }
    sb_putc(B, ';');
    break;
  case AST_M_ENUM_VALUE:
    sb_puts(B, m->name.text);
    if (m->str) {
      sb_puts(B, " = ");
      put_str(F, m->str);
    }
    sb_putc(B, ';');
    break;
  case AST_M_KEY_DECL:
    sb_puts(B, "key ");
    put_parts(F, m->parts);
    sb_putc(B, ';');
    break;
  case AST_M_KEY_TEMPLATE:
    sb_printf(B, "key %s = ", m->name.text);
    put_str(F, m->str);
    sb_putc(B, ';');
    break;
  case AST_M_ENTITY_TYPE:
    sb_puts(B, "type ");
    put_str(F, m->str);
    sb_putc(B, ';');
    break;
  case AST_M_GSI:
  case AST_M_LSI:
    sb_puts(B, m->kind == AST_M_GSI ? "gsi " : "lsi ");
    put_str(F, m->str);
    sb_putc(B, ' ');
    put_parts(F, m->parts);
    if (m->proj.text) {
      sb_printf(B, " project %s", m->proj.text);
      if (m->proj_attrs) {
        sb_putc(B, '(');
        for (size_t i = 0; i < m->proj_attrs->n; i++)
          sb_printf(B, "%s%s", i ? ", " : "", ((ast_name *)m->proj_attrs->items[i])->text);
        sb_putc(B, ')');
      }
    }
    sb_putc(B, ';');
    break;
  case AST_M_BILLING:
    sb_printf(B, "billing %s", m->name.text);
    if (m->settings) {
      sb_putc(B, '(');
      for (size_t i = 0; i < m->settings->n; i++) {
        const ast_setting *s = m->settings->items[i];
        sb_printf(B, "%s%s %s", i ? ", " : "", s->name.text, s->value->text);
      }
      sb_putc(B, ')');
    }
    sb_putc(B, ';');
    break;
  case AST_M_NAMING:
  case AST_M_STREAM:
  case AST_M_TTL: sb_printf(B, "%s %s;", ast_member_kind_name(m->kind), m->name.text); break;
  case AST_M_AUTH:
    sb_printf(B, "auth %s(", m->name.text);
    for (size_t i = 0; i < m->strs->n; i++) {
      if (i) sb_puts(B, ", ");
      put_str(F, m->strs->items[i]);
    }
    sb_puts(B, ");");
    break;
  case AST_M_TIMEOUT: sb_printf(B, "timeout %s;", m->value->text); break;
  case AST_M_REQUEST:
  case AST_M_PROGRESS:
  case AST_M_RESULT:
    sb_printf(B, "%s ", ast_member_kind_name(m->kind));
    block(F, m->block, level);
    return;
  case AST_M_KIND_COUNT: break;
  }
}

/* Prints "{", the members and "}" (the caller printed what precedes). */
static void block(fmt *F, const ast_block *b, int level) {
  const vec *ms = b->members;
  ast_comment *c = peek(F);
  bool empty = ms->n == 0 && !(c && c->loc.offset < b->close.offset);
  if (empty) {
    sb_puts(&F->b, "{}");
    return;
  }
  sb_putc(&F->b, '{');
  /* Comments between the header and '{', or after '{' on its line. */
  uint32_t first_start = ms->n ? ((ast_member *)ms->items[0])->loc.offset : b->close.offset;
  trailing(F, b->open.end_line, first_start);
  if (F->b.len && F->b.data[F->b.len - 1] != '\n') sb_putc(&F->b, '\n');
  uint32_t prev_end = 0;
  bool blank = false;
  for (size_t i = 0; i < ms->n; i++) {
    const ast_member *m = ms->items[i];
    leading(F, m->loc.offset, level + 1, &prev_end, &blank);
    if (prev_end && m->loc.line > prev_end + 1) sb_putc(&F->b, '\n');
    uint32_t next = i + 1 < ms->n ? ((ast_member *)ms->items[i + 1])->loc.offset : b->close.offset;
    member(F, m, level + 1);
    trailing(F, m->loc.end_line, next);
    prev_end = m->loc.end_line;
    if (F->b.len && F->b.data[F->b.len - 1] != '\n') sb_putc(&F->b, '\n');
  }
  leading(F, b->close.offset, level + 1, &prev_end, &blank);
  indent(F, level);
  sb_putc(&F->b, '}');
}

static void item_header(fmt *F, const ast_item *it) {
  strbuf *B = &F->b;
  switch (it->kind) {
  case AST_I_ENUM: sb_printf(B, "enum %s ", it->name.text); break;
  case AST_I_STRUCT: sb_printf(B, "struct %s ", it->name.text); break;
  case AST_I_TABLE:
    sb_printf(B, "table %s ", it->name.text);
    if (it->str) {
      put_str(F, it->str);
      sb_putc(B, ' ');
    }
    break;
  case AST_I_MODEL:
    sb_printf(B, "model %s ", it->name.text);
    if (it->home == AST_HOME_IN) sb_printf(B, "in %s ", it->in_table.text);
    else if (it->home == AST_HOME_TABLE) {
      sb_puts(B, "table ");
      put_str(F, it->str);
      sb_putc(B, ' ');
    }
    break;
  case AST_I_ENDPOINT:
    sb_printf(B, "endpoint %s ", it->name.text);
    if (it->mode.text) sb_printf(B, "%s ", it->mode.text);
    break;
  default: break;
  }
}

static void item(fmt *F, const ast_item *it, uint32_t next) {
  strbuf *B = &F->b;
  if (it->kind == AST_I_NAMESPACE) {
    sb_puts(B, "namespace ");
    for (size_t i = 0; i < it->qname->n; i++) sb_printf(B, "%s%s", i ? "." : "", ((ast_name *)it->qname->items[i])->text);
    sb_putc(B, ';');
  } else if (it->kind == AST_I_IMPORT) {
    sb_puts(B, "import ");
    put_str(F, it->str);
    sb_putc(B, ';');
  } else {
    item_header(F, it);
    block(F, it->body, 0);
  }
  trailing(F, it->loc.end_line, next);
  sb_putc(B, '\n');
}

static char *format_file(const ast_file *file, size_t *len) {
  fmt F = {0};
  F.comments = file->src->comments;
  const vec *items = file->items;
  uint32_t prev_end = 0;
  bool blank = false;
  for (size_t i = 0; i < items->n; i++) {
    const ast_item *it = items->items[i];
    if (i > 0) {
      const ast_item *prev = items->items[i - 1];
      bool imports = prev->kind == AST_I_IMPORT && it->kind == AST_I_IMPORT;
      if (!imports) blank = true;
    }
    leading(&F, it->loc.offset, 0, &prev_end, &blank);
    if (blank || (prev_end && it->loc.line > prev_end + 1)) sb_putc(&F.b, '\n');
    blank = false;
    uint32_t next = i + 1 < items->n ? ((ast_item *)items->items[i + 1])->loc.offset : UINT32_MAX;
    item(&F, it, next);
    prev_end = it->loc.end_line;
  }
  leading(&F, UINT32_MAX, 0, &prev_end, &blank);
  return sb_take(&F.b, len);
}

static int format_inner(dormc_compilation *c, jmp_buf *saved, const char *path, const char *data, size_t len,
                        char **out, size_t *out_len) {
  char *owned = NULL;
  const char *norm = path_normalize(&c->arena, path);
  if (!data) {
    int err = c->opts.read_file ? c->opts.read_file(c->opts.read_user, norm, &owned, &len) : ENOSYS;
    if (!c->opts.read_file) {
      FILE *f = fopen(norm, "rb");
      err = f ? 0 : errno;
      if (f) {
        strbuf b = {0};
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= c->opts.max_file_size)
          sb_append(&b, chunk, got);
        if (ferror(f)) err = EIO;
        fclose(f);
        owned = sb_take(&b, &len);
        if (!owned && !err) err = ENOMEM;
      }
    }
    if (!err && len > c->opts.max_file_size) err = EFBIG;
    if (err) {
      free(owned);
      dormc_loc none = {0};
      if (err == EFBIG)
        diag_error(c, none, "cannot read '%s': file is larger than the limit of %zu bytes", norm,
                   c->opts.max_file_size);
      else diag_error(c, none, "cannot read '%s': %s", norm, strerror(err));
      diag_flush(c);
      c->oom_jmp = saved;
      return -1;
    }
    data = owned;
  } else if (len > c->opts.max_file_size) {
    dormc_loc none = {0};
    diag_error(c, none, "cannot read '%s': file is larger than the limit of %zu bytes", norm, c->opts.max_file_size);
    diag_flush(c);
    c->oom_jmp = saved;
    return -1;
  }
  dormc_source *s = arena_alloc(&c->arena, sizeof *s);
  s->path = norm;
  char *text = arena_alloc(&c->arena, len + 1);
  if (len) memcpy(text, data, len);
  free(owned);
  s->text = text;
  s->len = len;
  source_index_lines(c, s);
  symtab_set(&c->arena, &c->sources_by_path, s->path, s);
  int rc = parse_source(c, s);
  diag_flush(c);
  if (rc != 0) {
    c->oom_jmp = saved;
    return -1;
  }
  size_t n = 0;
  char *res = format_file(s->ast, &n);
  c->oom_jmp = saved;
  if (!res) {
    dormc_loc none = {0};
    diag_error(c, none, "out of memory");
    diag_flush(c);
    return -1;
  }
  *out = res;
  if (out_len) *out_len = n;
  return 0;
}

int dormc_format(dormc_compilation *c, const char *path, const char *data, size_t len, char **out,
                 size_t *out_len) {
  if (!c || !path || !out) return -1;
  *out = NULL;
  if (out_len) *out_len = 0;
  jmp_buf jb;
  jmp_buf *saved = c->oom_jmp;
  c->oom_jmp = &jb;
  if (setjmp(jb)) {
    c->oom_jmp = saved;
    return -1;
  }
  return format_inner(c, saved, path, data, len, out, out_len);
}
