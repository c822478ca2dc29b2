/* Expression builder: parses paths, keeps condition trees in the arena and
 * renders them with #n/:v placeholders. */
#include "dorm/expr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_write.h"
#include "text.h"

/* ---- internal types ---- */

typedef struct pseg {
  const char *name; /* NULL for a list index */
  size_t len;
  size_t index;
} pseg;

typedef struct ppath {
  pseg *segs;
  size_t n;
} ppath;

typedef enum opd_kind {
  OPD_PATH, OPD_VALUE, OPD_SIZE, OPD_IF_NOT_EXISTS, OPD_LIST_APPEND, OPD_PLUS, OPD_MINUS
} opd_kind;

struct dorm_operand {
  opd_kind kind;
  ppath path;       /* OPD_PATH */
  dorm_av value;    /* OPD_VALUE */
  dorm_operand *a, *b;
};

typedef enum cond_kind {
  C_CMP, C_BETWEEN, C_IN, C_BEGINS, C_CONTAINS, C_EXISTS, C_NOT_EXISTS, C_TYPE, C_AND, C_OR, C_NOT
} cond_kind;

struct dorm_cond {
  cond_kind kind;
  dorm_cmp_op op;
  dorm_operand *a, *b, *c;   /* operands by kind */
  dorm_operand **list;       /* C_IN */
  size_t n;
  dorm_cond *l, *r;          /* C_AND / C_OR (l, r), C_NOT (l) */
};

typedef struct dorm_expr_sb sb;

/* ---- errors ---- */

static bool ok(const dorm_expr *x) { return x && x->status == DORM_OK; }

static dorm_status failf(dorm_expr *x, dorm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static dorm_status failf(dorm_expr *x, dorm_status st, const char *fmt, ...) {
  if (!x) return st;
  va_list ap;
  va_start(ap, fmt);
  st = dorm__vfail_first(&x->status, x->errmsg, sizeof x->errmsg, st, fmt, ap);
  va_end(ap);
  return st;
}

static void *xalloc(dorm_expr *x, size_t size) {
  void *p = dorm_arena_alloc(x->arena, size);
  if (!p) failf(x, DORM_ERR_NO_MEMORY, "out of memory building an expression");
  else memset(p, 0, size);
  return p;
}

void dorm_expr_init(dorm_expr *x, dorm_arena *arena) {
  memset(x, 0, sizeof *x);
  x->arena = arena;
  if (!arena) failf(x, DORM_ERR_INVALID_ARGUMENT, "dorm_expr_init: no arena");
}

dorm_status dorm_expr_status(const dorm_expr *x) { return x ? x->status : DORM_ERR_INVALID_ARGUMENT; }
const char *dorm_expr_errmsg(const dorm_expr *x) { return x ? x->errmsg : "no expression builder"; }

/* ---- text ---- */

static void sb_put(dorm_expr *x, sb *b, const char *s, size_t n) {
  if (!ok(x)) return;
  if (b->cap - b->len <= n) {
    size_t ncap = b->cap ? b->cap * 2 : 64;
    while (ncap - b->len <= n) ncap *= 2;
    char *p = dorm_arena_realloc(x->arena, b->p, b->cap, ncap);
    if (!p) {
      failf(x, DORM_ERR_NO_MEMORY, "out of memory building an expression");
      return;
    }
    b->p = p;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(dorm_expr *x, sb *b, const char *s) { sb_put(x, b, s, strlen(s)); }

static void sb_uint(dorm_expr *x, sb *b, size_t v) {
  char buf[24];
  size_t n = sizeof buf;
  do {
    buf[--n] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sb_put(x, b, buf + n, sizeof buf - n);
}

/* ---- placeholders ---- */

static size_t name_placeholder(dorm_expr *x, const char *name, size_t len) {
  for (size_t i = 0; i < x->name_count; i++)
    if (x->names[i].len == len && memcmp(x->names[i].ptr, name, len) == 0) return i;
  if (x->name_count == x->name_cap) {
    size_t ncap = x->name_cap ? x->name_cap * 2 : 8;
    dorm_str *n = dorm_arena_realloc(x->arena, x->names, x->name_cap * sizeof *n, ncap * sizeof *n);
    if (!n) {
      failf(x, DORM_ERR_NO_MEMORY, "out of memory building an expression");
      return 0;
    }
    x->names = n;
    x->name_cap = ncap;
  }
  x->names[x->name_count] = dorm_strn(name, len);
  return x->name_count++;
}

static size_t value_placeholder(dorm_expr *x, const dorm_av *v) {
  if (x->value_count == x->value_cap) {
    size_t ncap = x->value_cap ? x->value_cap * 2 : 8;
    dorm_av *n = dorm_arena_realloc(x->arena, x->values, x->value_cap * sizeof *n, ncap * sizeof *n);
    if (!n) {
      failf(x, DORM_ERR_NO_MEMORY, "out of memory building an expression");
      return 0;
    }
    x->values = n;
    x->value_cap = ncap;
  }
  x->values[x->value_count] = *v;
  return x->value_count++;
}

/* ---- paths ---- */

static bool parse_path(dorm_expr *x, const char *s, ppath *out) {
  if (!ok(x)) return false;
  if (!s || !*s) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "bad path: empty");
    return false;
  }
  size_t len = strlen(s), maxsegs = 1;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '.' || s[i] == '[') maxsegs++;
  pseg *segs = xalloc(x, maxsegs * sizeof *segs);
  char *names = segs ? dorm_arena_alloc_aligned(x->arena, len + 1, 1) : NULL;
  if (!segs) return false;
  if (!names) {
    failf(x, DORM_ERR_NO_MEMORY, "out of memory building an expression");
    return false;
  }
  size_t i = 0, n = 0, o = 0;
  for (;;) {
    /* a name */
    size_t start = o;
    while (i < len && s[i] != '.' && s[i] != '[') {
      if (s[i] == ']') goto bad_bracket;
      if (s[i] == '\\') {
        if (++i == len) {
          failf(x, DORM_ERR_INVALID_ARGUMENT, "bad path \"%.96s\": ends in a lone backslash", s);
          return false;
        }
      }
      names[o++] = s[i++];
    }
    if (o == start) {
      failf(x, DORM_ERR_INVALID_ARGUMENT, "bad path \"%.96s\": empty name at offset %zu", s, i);
      return false;
    }
    segs[n].name = names + start;
    segs[n].len = o - start;
    n++;
    /* list indexes */
    while (i < len && s[i] == '[') {
      size_t v = 0, d = 0;
      i++;
      while (i < len && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (size_t)(s[i++] - '0');
        if (++d > 9) {
          failf(x, DORM_ERR_INVALID_ARGUMENT, "bad path \"%.96s\": list index too large", s);
          return false;
        }
      }
      if (d == 0 || i == len || s[i] != ']') {
        failf(x, DORM_ERR_INVALID_ARGUMENT, "bad path \"%.96s\": expected digits and ']' at offset %zu", s, i);
        return false;
      }
      i++;
      segs[n].name = NULL;
      segs[n].len = 0;
      segs[n].index = v;
      n++;
    }
    if (i == len) break;
    if (s[i] != '.') goto bad_bracket;
    i++;
  }
  out->segs = segs;
  out->n = n;
  return true;
bad_bracket:
  failf(x, DORM_ERR_INVALID_ARGUMENT, "bad path \"%.96s\": unexpected '%c' at offset %zu", s, s[i], i);
  return false;
}

static void render_path(dorm_expr *x, sb *b, const ppath *p) {
  for (size_t i = 0; i < p->n && ok(x); i++) {
    const pseg *s = &p->segs[i];
    if (s->name) {
      size_t ph = name_placeholder(x, s->name, s->len);
      sb_put(x, b, i ? ".#n" : "#n", i ? 3 : 2);
      sb_uint(x, b, ph);
    } else {
      sb_put(x, b, "[", 1);
      sb_uint(x, b, s->index);
      sb_put(x, b, "]", 1);
    }
  }
}

/* ---- operands ---- */

static dorm_operand *new_opd(dorm_expr *x, opd_kind kind) {
  if (!ok(x)) return NULL;
  dorm_operand *o = xalloc(x, sizeof *o);
  if (o) o->kind = kind;
  return o;
}

dorm_operand *dorm_opd_path(dorm_expr *x, const char *path) {
  ppath p;
  if (!parse_path(x, path, &p)) return NULL;
  dorm_operand *o = new_opd(x, OPD_PATH);
  if (o) o->path = p;
  return o;
}

dorm_operand *dorm_opd_name(dorm_expr *x, const char *name, size_t len) {
  if (!ok(x)) return NULL;
  if (!name || len == 0) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "bad path: empty attribute name");
    return NULL;
  }
  dorm_operand *o = new_opd(x, OPD_PATH);
  pseg *seg = o ? xalloc(x, sizeof *seg) : NULL;
  char *copy = seg ? dorm_arena_memdup(x->arena, name, len) : NULL;
  if (!copy) {
    failf(x, DORM_ERR_NO_MEMORY, "out of memory building an expression");
    return NULL;
  }
  seg->name = copy;
  seg->len = len;
  o->path.segs = seg;
  o->path.n = 1;
  return o;
}

dorm_operand *dorm_opd_value(dorm_expr *x, dorm_av value) {
  dorm_operand *o = new_opd(x, OPD_VALUE);
  if (o) o->value = value;
  return o;
}

/* Records an error when an operand is missing (a NULL from a failed call or
 * the caller) and returns false. */
static bool need(dorm_expr *x, const void *p, const char *what) {
  if (!ok(x)) return false;
  if (!p) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "%s is NULL", what);
    return false;
  }
  return true;
}

static bool need_path(dorm_expr *x, const dorm_operand *o, const char *fn) {
  if (!need(x, o, "operand")) return false;
  if (o->kind != OPD_PATH) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "%s needs a document path operand", fn);
    return false;
  }
  return true;
}

dorm_operand *dorm_opd_size(dorm_expr *x, dorm_operand *path) {
  if (!need_path(x, path, "size()")) return NULL;
  dorm_operand *o = new_opd(x, OPD_SIZE);
  if (o) o->a = path;
  return o;
}

static bool simple(const dorm_operand *o) { return o->kind == OPD_PATH || o->kind == OPD_VALUE; }

dorm_operand *dorm_opd_if_not_exists(dorm_expr *x, dorm_operand *path, dorm_operand *value) {
  if (!need_path(x, path, "if_not_exists()") || !need(x, value, "operand")) return NULL;
  if (!simple(value)) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "if_not_exists() takes a path or a value as its second operand");
    return NULL;
  }
  dorm_operand *o = new_opd(x, OPD_IF_NOT_EXISTS);
  if (o) { o->a = path; o->b = value; }
  return o;
}

static bool set_operand(const dorm_operand *o) {
  return o->kind == OPD_PATH || o->kind == OPD_VALUE || o->kind == OPD_IF_NOT_EXISTS || o->kind == OPD_LIST_APPEND;
}

dorm_operand *dorm_opd_list_append(dorm_expr *x, dorm_operand *a, dorm_operand *b) {
  if (!need(x, a, "operand") || !need(x, b, "operand")) return NULL;
  if (!set_operand(a) || !set_operand(b)) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "list_append() takes paths, values or functions, not size() or +/-");
    return NULL;
  }
  dorm_operand *o = new_opd(x, OPD_LIST_APPEND);
  if (o) { o->a = a; o->b = b; }
  return o;
}

static dorm_operand *arith(dorm_expr *x, opd_kind kind, dorm_operand *a, dorm_operand *b) {
  if (!need(x, a, "operand") || !need(x, b, "operand")) return NULL;
  if (!set_operand(a) || !set_operand(b)) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "'%c' takes paths, values or functions and does not nest",
          kind == OPD_PLUS ? '+' : '-');
    return NULL;
  }
  dorm_operand *o = new_opd(x, kind);
  if (o) { o->a = a; o->b = b; }
  return o;
}

dorm_operand *dorm_opd_plus(dorm_expr *x, dorm_operand *a, dorm_operand *b) { return arith(x, OPD_PLUS, a, b); }
dorm_operand *dorm_opd_minus(dorm_expr *x, dorm_operand *a, dorm_operand *b) { return arith(x, OPD_MINUS, a, b); }

static void render_opd(dorm_expr *x, sb *b, const dorm_operand *o) {
  if (!ok(x)) return;
  switch (o->kind) {
  case OPD_PATH: render_path(x, b, &o->path); break;
  case OPD_VALUE: {
    size_t ph = value_placeholder(x, &o->value);
    sb_put(x, b, ":v", 2);
    sb_uint(x, b, ph);
    break;
  }
  case OPD_SIZE:
    sb_put(x, b, "size(", 5);
    render_opd(x, b, o->a);
    sb_put(x, b, ")", 1);
    break;
  case OPD_IF_NOT_EXISTS:
  case OPD_LIST_APPEND:
    sb_str(x, b, o->kind == OPD_IF_NOT_EXISTS ? "if_not_exists(" : "list_append(");
    render_opd(x, b, o->a);
    sb_put(x, b, ", ", 2);
    render_opd(x, b, o->b);
    sb_put(x, b, ")", 1);
    break;
  case OPD_PLUS:
  case OPD_MINUS:
    render_opd(x, b, o->a);
    sb_put(x, b, o->kind == OPD_PLUS ? " + " : " - ", 3);
    render_opd(x, b, o->b);
    break;
  }
}

/* ---- conditions ---- */

static dorm_cond *new_cond(dorm_expr *x, cond_kind kind) {
  if (!ok(x)) return NULL;
  dorm_cond *c = xalloc(x, sizeof *c);
  if (c) c->kind = kind;
  return c;
}

static bool cond_operand(dorm_expr *x, const dorm_operand *o) {
  if (!need(x, o, "operand")) return false;
  if (o->kind != OPD_PATH && o->kind != OPD_VALUE && o->kind != OPD_SIZE) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "conditions take paths, values and size(); "
                                        "if_not_exists, list_append and +/- belong in update SET actions");
    return false;
  }
  return true;
}

dorm_cond *dorm_cond_compare(dorm_expr *x, dorm_operand *a, dorm_cmp_op op, dorm_operand *b) {
  if (!cond_operand(x, a) || !cond_operand(x, b)) return NULL;
  if ((unsigned)op > DORM_GE) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "unknown comparison operator %d", (int)op);
    return NULL;
  }
  dorm_cond *c = new_cond(x, C_CMP);
  if (c) { c->op = op; c->a = a; c->b = b; }
  return c;
}

dorm_cond *dorm_cond_cmp(dorm_expr *x, const char *path, dorm_cmp_op op, dorm_av value) {
  dorm_operand *p = dorm_opd_path(x, path);
  return dorm_cond_compare(x, p, op, dorm_opd_value(x, value));
}

dorm_cond *dorm_cond_eq(dorm_expr *x, const char *path, dorm_av value) { return dorm_cond_cmp(x, path, DORM_EQ, value); }

dorm_cond *dorm_cond_between_opd(dorm_expr *x, dorm_operand *a, dorm_operand *lo, dorm_operand *hi) {
  if (!cond_operand(x, a) || !cond_operand(x, lo) || !cond_operand(x, hi)) return NULL;
  dorm_cond *c = new_cond(x, C_BETWEEN);
  if (c) { c->a = a; c->b = lo; c->c = hi; }
  return c;
}

dorm_cond *dorm_cond_between(dorm_expr *x, const char *path, dorm_av lo, dorm_av hi) {
  dorm_operand *p = dorm_opd_path(x, path);
  dorm_operand *l = dorm_opd_value(x, lo);
  return dorm_cond_between_opd(x, p, l, dorm_opd_value(x, hi));
}

dorm_cond *dorm_cond_in_opd(dorm_expr *x, dorm_operand *a, dorm_operand *const *values, size_t count) {
  if (!cond_operand(x, a)) return NULL;
  if (count == 0 || !values) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "IN needs at least one value");
    return NULL;
  }
  if (count > DORM_EXPR_MAX_IN) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "IN takes at most %d values, got %zu", DORM_EXPR_MAX_IN, count);
    return NULL;
  }
  for (size_t i = 0; i < count; i++)
    if (!cond_operand(x, values[i])) return NULL;
  dorm_cond *c = new_cond(x, C_IN);
  dorm_operand **list = c ? xalloc(x, count * sizeof *list) : NULL;
  if (!list) return NULL;
  memcpy(list, values, count * sizeof *list);
  c->a = a;
  c->list = list;
  c->n = count;
  return c;
}

dorm_cond *dorm_cond_in(dorm_expr *x, const char *path, const dorm_av *values, size_t count) {
  dorm_operand *p = dorm_opd_path(x, path);
  if (!ok(x)) return NULL;
  if (count == 0 || !values) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "IN needs at least one value");
    return NULL;
  }
  if (count > DORM_EXPR_MAX_IN) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "IN takes at most %d values, got %zu", DORM_EXPR_MAX_IN, count);
    return NULL;
  }
  dorm_operand *ops[DORM_EXPR_MAX_IN];
  for (size_t i = 0; i < count; i++) ops[i] = dorm_opd_value(x, values[i]);
  return dorm_cond_in_opd(x, p, ops, count);
}

static dorm_cond *func2(dorm_expr *x, cond_kind kind, dorm_operand *path, dorm_operand *arg, const char *fn) {
  if (!need_path(x, path, fn) || !cond_operand(x, arg)) return NULL;
  dorm_cond *c = new_cond(x, kind);
  if (c) { c->a = path; c->b = arg; }
  return c;
}

dorm_cond *dorm_cond_begins_with_opd(dorm_expr *x, dorm_operand *path, dorm_operand *prefix) {
  return func2(x, C_BEGINS, path, prefix, "begins_with()");
}
dorm_cond *dorm_cond_contains_opd(dorm_expr *x, dorm_operand *path, dorm_operand *operand) {
  return func2(x, C_CONTAINS, path, operand, "contains()");
}
dorm_cond *dorm_cond_begins_with(dorm_expr *x, const char *path, dorm_av prefix) {
  dorm_operand *p = dorm_opd_path(x, path);
  return dorm_cond_begins_with_opd(x, p, dorm_opd_value(x, prefix));
}
dorm_cond *dorm_cond_contains(dorm_expr *x, const char *path, dorm_av operand) {
  dorm_operand *p = dorm_opd_path(x, path);
  return dorm_cond_contains_opd(x, p, dorm_opd_value(x, operand));
}

static dorm_cond *func1(dorm_expr *x, cond_kind kind, dorm_operand *path, const char *fn) {
  if (!need_path(x, path, fn)) return NULL;
  dorm_cond *c = new_cond(x, kind);
  if (c) c->a = path;
  return c;
}

dorm_cond *dorm_cond_exists_opd(dorm_expr *x, dorm_operand *path) {
  return func1(x, C_EXISTS, path, "attribute_exists()");
}
dorm_cond *dorm_cond_not_exists_opd(dorm_expr *x, dorm_operand *path) {
  return func1(x, C_NOT_EXISTS, path, "attribute_not_exists()");
}
dorm_cond *dorm_cond_exists(dorm_expr *x, const char *path) { return dorm_cond_exists_opd(x, dorm_opd_path(x, path)); }
dorm_cond *dorm_cond_not_exists(dorm_expr *x, const char *path) {
  return dorm_cond_not_exists_opd(x, dorm_opd_path(x, path));
}

dorm_cond *dorm_cond_type(dorm_expr *x, const char *path, dorm_av_type type) {
  dorm_operand *p = dorm_opd_path(x, path);
  if (!ok(x)) return NULL;
  if (type < DORM_AV_S || type > DORM_AV_M) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "attribute_type(): unknown type %d", (int)type);
    return NULL;
  }
  return func2(x, C_TYPE, p, dorm_opd_value(x, dorm_av_str(dorm_av_type_name(type))), "attribute_type()");
}

static dorm_cond *boolean(dorm_expr *x, cond_kind kind, dorm_cond *l, dorm_cond *r) {
  if (!need(x, l, "condition") || (kind != C_NOT && !need(x, r, "condition"))) return NULL;
  dorm_cond *c = new_cond(x, kind);
  if (c) { c->l = l; c->r = r; }
  return c;
}

dorm_cond *dorm_cond_and(dorm_expr *x, dorm_cond *a, dorm_cond *b) { return boolean(x, C_AND, a, b); }
dorm_cond *dorm_cond_or(dorm_expr *x, dorm_cond *a, dorm_cond *b) { return boolean(x, C_OR, a, b); }
dorm_cond *dorm_cond_not(dorm_expr *x, dorm_cond *a) { return boolean(x, C_NOT, a, NULL); }

static dorm_cond *fold(dorm_expr *x, cond_kind kind, dorm_cond *const *conds, size_t n) {
  if (!ok(x)) return NULL;
  if (!conds || n == 0) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "%s of no conditions", kind == C_AND ? "AND" : "OR");
    return NULL;
  }
  dorm_cond *acc = conds[0];
  if (!need(x, acc, "condition")) return NULL;
  for (size_t i = 1; i < n; i++) acc = boolean(x, kind, acc, conds[i]);
  return acc;
}

dorm_cond *dorm_cond_all(dorm_expr *x, dorm_cond *const *conds, size_t n) { return fold(x, C_AND, conds, n); }
dorm_cond *dorm_cond_any(dorm_expr *x, dorm_cond *const *conds, size_t n) { return fold(x, C_OR, conds, n); }

/* Binding strength for parenthesisation: OR < AND < NOT < everything else. */
static int prec(const dorm_cond *c) {
  switch (c->kind) {
  case C_OR: return 1;
  case C_AND: return 2;
  case C_NOT: return 3;
  default: return 4;
  }
}

static bool is_function(const dorm_cond *c) {
  return c->kind == C_BEGINS || c->kind == C_CONTAINS || c->kind == C_EXISTS || c->kind == C_NOT_EXISTS ||
         c->kind == C_TYPE;
}

static void render_cond(dorm_expr *x, sb *b, const dorm_cond *c, int depth);

static void render_child(dorm_expr *x, sb *b, const dorm_cond *child, bool parens, int depth) {
  if (parens) sb_put(x, b, "(", 1);
  render_cond(x, b, child, depth + 1);
  if (parens) sb_put(x, b, ")", 1);
}

static void render_cond(dorm_expr *x, sb *b, const dorm_cond *c, int depth) {
  static const char *const ops[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};
  if (!ok(x)) return;
  if (depth > 200) {
    failf(x, DORM_ERR_INVALID_ARGUMENT, "condition nested too deeply");
    return;
  }
  switch (c->kind) {
  case C_CMP:
    render_opd(x, b, c->a);
    sb_str(x, b, ops[c->op]);
    render_opd(x, b, c->b);
    break;
  case C_BETWEEN:
    render_opd(x, b, c->a);
    sb_put(x, b, " BETWEEN ", 9);
    render_opd(x, b, c->b);
    sb_put(x, b, " AND ", 5);
    render_opd(x, b, c->c);
    break;
  case C_IN:
    render_opd(x, b, c->a);
    sb_put(x, b, " IN (", 5);
    for (size_t i = 0; i < c->n; i++) {
      if (i) sb_put(x, b, ", ", 2);
      render_opd(x, b, c->list[i]);
    }
    sb_put(x, b, ")", 1);
    break;
  case C_BEGINS:
  case C_CONTAINS:
  case C_TYPE:
    sb_str(x, b, c->kind == C_BEGINS ? "begins_with(" : c->kind == C_CONTAINS ? "contains(" : "attribute_type(");
    render_opd(x, b, c->a);
    sb_put(x, b, ", ", 2);
    render_opd(x, b, c->b);
    sb_put(x, b, ")", 1);
    break;
  case C_EXISTS:
  case C_NOT_EXISTS:
    sb_str(x, b, c->kind == C_EXISTS ? "attribute_exists(" : "attribute_not_exists(");
    render_opd(x, b, c->a);
    sb_put(x, b, ")", 1);
    break;
  case C_AND:
  case C_OR:
    render_child(x, b, c->l, prec(c->l) < prec(c), depth);
    sb_str(x, b, c->kind == C_AND ? " AND " : " OR ");
    render_child(x, b, c->r, prec(c->r) < prec(c), depth);
    break;
  case C_NOT:
    sb_put(x, b, "NOT ", 4);
    render_child(x, b, c->l, !is_function(c->l), depth);
    break;
  }
}

static dorm_status attach(dorm_expr *x, dorm_cond *cond, const char **slot, const char *what) {
  if (!ok(x)) return dorm_expr_status(x);
  if (!cond) return failf(x, DORM_ERR_INVALID_ARGUMENT, "%s: condition is NULL", what);
  if (*slot) return failf(x, DORM_ERR_INVALID_ARGUMENT, "%s is already set on this builder", what);
  sb b = {0};
  render_cond(x, &b, cond, 0);
  if (ok(x)) *slot = b.p;
  return x->status;
}

dorm_status dorm_expr_condition(dorm_expr *x, dorm_cond *cond) {
  return attach(x, cond, &x->condition, "ConditionExpression");
}
dorm_status dorm_expr_filter(dorm_expr *x, dorm_cond *cond) { return attach(x, cond, &x->filter, "FilterExpression"); }

static bool top_name(const dorm_operand *o) {
  return o && o->kind == OPD_PATH && o->path.n == 1 && o->path.segs[0].name;
}

/* One key condition term: name <op> value (not <>), BETWEEN or begins_with. */
static bool key_term(const dorm_cond *c, bool *is_eq) {
  *is_eq = false;
  switch (c->kind) {
  case C_CMP:
    *is_eq = c->op == DORM_EQ;
    return c->op != DORM_NE && top_name(c->a) && c->b->kind == OPD_VALUE;
  case C_BETWEEN: return top_name(c->a) && c->b->kind == OPD_VALUE && c->c->kind == OPD_VALUE;
  case C_BEGINS: return top_name(c->a) && c->b->kind == OPD_VALUE;
  default: return false;
  }
}

dorm_status dorm_expr_key_condition(dorm_expr *x, dorm_cond *cond) {
  if (!ok(x)) return dorm_expr_status(x);
  if (cond) {
    bool eq1, eq2, good;
    if (cond->kind == C_AND) good = key_term(cond->l, &eq1) && key_term(cond->r, &eq2) && (eq1 || eq2);
    else good = key_term(cond, &eq1) && eq1;
    if (!good)
      return failf(x, DORM_ERR_INVALID_ARGUMENT,
                   "KeyConditionExpression must be 'pk = v' optionally AND one sort key condition "
                   "(=, <, <=, >, >=, BETWEEN, begins_with) on top-level attribute names");
  }
  return attach(x, cond, &x->key_condition, "KeyConditionExpression");
}

dorm_status dorm_expr_projection(dorm_expr *x, const char *const *paths, size_t n) {
  if (!ok(x)) return dorm_expr_status(x);
  if (!paths || n == 0) return failf(x, DORM_ERR_INVALID_ARGUMENT, "ProjectionExpression needs at least one path");
  if (x->projection) return failf(x, DORM_ERR_INVALID_ARGUMENT, "ProjectionExpression is already set on this builder");
  sb b = {0};
  for (size_t i = 0; i < n && ok(x); i++) {
    ppath p;
    if (!parse_path(x, paths[i], &p)) break;
    if (i) sb_put(x, &b, ", ", 2);
    render_path(x, &b, &p);
  }
  if (ok(x)) x->projection = b.p;
  return x->status;
}

/* ---- updates ---- */

static dorm_status action(dorm_expr *x, sb *clause, const dorm_operand *path, const char *mid,
                          const dorm_operand *rhs) {
  if (!ok(x)) return dorm_expr_status(x);
  if (clause->len) sb_put(x, clause, ", ", 2);
  render_opd(x, clause, path);
  if (mid) sb_str(x, clause, mid);
  if (rhs) render_opd(x, clause, rhs);
  x->update_dirty = true;
  return x->status;
}

dorm_status dorm_update_set_opd(dorm_expr *x, dorm_operand *path, dorm_operand *rhs) {
  if (!need_path(x, path, "SET") || !need(x, rhs, "SET value")) return dorm_expr_status(x);
  if (rhs->kind == OPD_SIZE) return failf(x, DORM_ERR_INVALID_ARGUMENT, "size() cannot be used in SET");
  return action(x, &x->set, path, " = ", rhs);
}

dorm_status dorm_update_set(dorm_expr *x, const char *path, dorm_av value) {
  dorm_operand *p = dorm_opd_path(x, path);
  return dorm_update_set_opd(x, p, dorm_opd_value(x, value));
}

dorm_status dorm_update_set_if_not_exists(dorm_expr *x, const char *path, dorm_av value) {
  dorm_operand *p = dorm_opd_path(x, path);
  return dorm_update_set_opd(x, p, dorm_opd_if_not_exists(x, p, dorm_opd_value(x, value)));
}

dorm_status dorm_update_list_append(dorm_expr *x, const char *path, dorm_av list) {
  dorm_operand *p = dorm_opd_path(x, path);
  return dorm_update_set_opd(x, p, dorm_opd_list_append(x, p, dorm_opd_value(x, list)));
}

dorm_status dorm_update_increment(dorm_expr *x, const char *path, dorm_av by) {
  dorm_operand *p = dorm_opd_path(x, path);
  return dorm_update_set_opd(x, p, dorm_opd_plus(x, p, dorm_opd_value(x, by)));
}

dorm_status dorm_update_remove(dorm_expr *x, const char *path) {
  dorm_operand *p = dorm_opd_path(x, path);
  if (!need_path(x, p, "REMOVE")) return dorm_expr_status(x);
  return action(x, &x->remove, p, NULL, NULL);
}

static dorm_status add_or_delete(dorm_expr *x, sb *clause, const char *path, dorm_av value, const char *what) {
  dorm_operand *p = dorm_opd_path(x, path);
  dorm_operand *v = dorm_opd_value(x, value);
  if (!need_path(x, p, what) || !need(x, v, "value")) return dorm_expr_status(x);
  return action(x, clause, p, " ", v);
}

dorm_status dorm_update_add(dorm_expr *x, const char *path, dorm_av value) {
  return add_or_delete(x, &x->add, path, value, "ADD");
}
dorm_status dorm_update_delete(dorm_expr *x, const char *path, dorm_av subset) {
  return add_or_delete(x, &x->del, path, subset, "DELETE");
}

dorm_status dorm_expr_finish(dorm_expr *x) {
  if (!ok(x)) return dorm_expr_status(x);
  if (!x->update_dirty) return DORM_OK;
  const struct { const char *kw; const sb *clause; } parts[] = {
      {"SET ", &x->set}, {"REMOVE ", &x->remove}, {"ADD ", &x->add}, {"DELETE ", &x->del}};
  sb b = {0};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (!parts[i].clause->len) continue;
    if (b.len) sb_put(x, &b, " ", 1);
    sb_str(x, &b, parts[i].kw);
    sb_put(x, &b, parts[i].clause->p, parts[i].clause->len);
  }
  if (!ok(x)) return x->status;
  x->update = b.p;
  x->update_dirty = false;
  return DORM_OK;
}

/* ---- JSON ---- */

/* "#n12" / ":v3" into buf (NUL-terminated); returns the length. */
static size_t placeholder(char *buf, char c1, char c2, size_t i) {
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + i % 10);
    i /= 10;
  } while (i);
  buf[0] = c1;
  buf[1] = c2;
  for (size_t k = 0; k < n; k++) buf[2 + k] = digits[n - 1 - k];
  buf[2 + n] = '\0';
  return 2 + n;
}

void dorm__jw_expr(dorm_jw *w, dorm_expr *x) {
  if (dorm_jw_status(w) != DORM_OK) return;
  if (!x || dorm_expr_finish(x) != DORM_OK) {
    dorm__jw_fail(w, x ? x->status : DORM_ERR_INVALID_ARGUMENT, "%s", x ? x->errmsg : "no expression builder");
    return;
  }
  const struct { const char *key; const char *text; } members[] = {
      {"KeyConditionExpression", x->key_condition}, {"ConditionExpression", x->condition},
      {"FilterExpression", x->filter},              {"ProjectionExpression", x->projection},
      {"UpdateExpression", x->update}};
  for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
    if (members[i].text) dorm__jw_member_string(w, members[i].key, members[i].text);
  char ph[32];
  if (x->name_count) {
    dorm__jw_key(w, "ExpressionAttributeNames");
    dorm__jw_begin_object(w);
    for (size_t i = 0; i < x->name_count; i++) {
      dorm__jw_keyn(w, ph, placeholder(ph, '#', 'n', i));
      dorm__jw_stringn(w, x->names[i].ptr, x->names[i].len);
    }
    dorm__jw_end_object(w);
  }
  if (x->value_count) {
    dorm__jw_key(w, "ExpressionAttributeValues");
    dorm__jw_begin_object(w);
    for (size_t i = 0; i < x->value_count; i++) {
      size_t n = placeholder(ph, ':', 'v', i);
      dorm__jw_keyn(w, ph, n);
      char where[64];
      memcpy(where, "ExpressionAttributeValues.", 26);
      memcpy(where + 26, ph, n + 1);
      dorm__jw_av(w, &x->values[i], where);
    }
    dorm__jw_end_object(w);
  }
}
