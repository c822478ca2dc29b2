/* AST constructors: the only functions grammar actions call. All nodes are
 * arena-allocated and zeroed. */
#include "ast.h"

#include <string.h>

#include "parse_ctx.h"

arena *ast_arena(parse_ctx *pc) { return &pc->c->arena; }

static void *node(parse_ctx *pc, size_t size) { return arena_alloc(&pc->c->arena, size); }

ast_name *ast_new_name(parse_ctx *pc, const char *text, dormc_loc loc) {
  ast_name *n = node(pc, sizeof *n);
  n->text = text;
  n->loc = loc;
  return n;
}

vec *ast_list_empty(parse_ctx *pc) { return vec_new(&pc->c->arena); }

vec *ast_list1(parse_ctx *pc, void *first) {
  vec *v = vec_new(&pc->c->arena);
  vec_push(&pc->c->arena, v, first);
  return v;
}

vec *ast_list_add(parse_ctx *pc, vec *list, void *item) {
  vec_push(&pc->c->arena, list, item);
  return list;
}

ast_type *ast_new_type(parse_ctx *pc, ast_name *name, vec *args, dormc_loc loc) {
  ast_type *t = node(pc, sizeof *t);
  t->name = *name;
  t->args = args;
  t->loc = loc;
  return t;
}

ast_type *ast_type_optional(parse_ctx *pc, ast_type *t, dormc_loc loc) {
  (void)pc;
  t->optional = true;
  t->loc = loc;
  return t;
}

ast_attr *ast_new_attr(parse_ctx *pc, ast_name *name, vec *args, dormc_loc loc) {
  ast_attr *a = node(pc, sizeof *a);
  a->name = *name;
  a->args = args;
  a->loc = loc;
  return a;
}

ast_value *ast_value_str(parse_ctx *pc, ast_str *s) {
  ast_value *v = node(pc, sizeof *v);
  v->kind = AST_V_STRING;
  v->text = s->value;
  v->loc = s->loc;
  return v;
}

ast_value *ast_value_name(parse_ctx *pc, ast_name *n) {
  ast_value *v = node(pc, sizeof *v);
  v->kind = AST_V_NAME;
  v->text = n->text;
  v->loc = n->loc;
  return v;
}

ast_keypart *ast_new_keypart(parse_ctx *pc, ast_name *attr, ast_name *type, dormc_loc loc) {
  ast_keypart *k = node(pc, sizeof *k);
  k->attr = *attr;
  if (type) k->type = *type;
  k->loc = loc;
  return k;
}

ast_setting *ast_new_setting(parse_ctx *pc, ast_name *name, ast_value *v, dormc_loc loc) {
  ast_setting *s = node(pc, sizeof *s);
  s->name = *name;
  s->value = v;
  s->loc = loc;
  return s;
}

ast_block *ast_new_block(parse_ctx *pc, vec *members, dormc_loc open, dormc_loc close) {
  ast_block *b = node(pc, sizeof *b);
  b->members = members;
  b->open = open;
  b->close = close;
  return b;
}

static ast_member *member(parse_ctx *pc, ast_member_kind kind, dormc_loc kw, dormc_loc loc) {
  ast_member *m = node(pc, sizeof *m);
  m->kind = kind;
  m->kw_loc = kw;
  m->loc = loc;
  return m;
}

ast_member *ast_field(parse_ctx *pc, ast_name *name, ast_type *type, ast_value *dflt, vec *attrs, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_FIELD, name->loc, loc);
  m->name = *name;
  m->type = type;
  m->value = dflt;
  m->attrs = attrs;
  return m;
}

ast_member *ast_enum_value(parse_ctx *pc, ast_name *name, ast_str *stored, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_ENUM_VALUE, name->loc, loc);
  m->name = *name;
  m->str = stored;
  return m;
}

ast_member *ast_key_decl(parse_ctx *pc, vec *parts, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_KEY_DECL, kw, loc);
  m->parts = parts;
  return m;
}

ast_member *ast_key_template(parse_ctx *pc, ast_name *target, ast_str *tpl, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_KEY_TEMPLATE, kw, loc);
  m->name = *target;
  m->str = tpl;
  return m;
}

ast_member *ast_entity_type(parse_ctx *pc, ast_str *type, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_ENTITY_TYPE, kw, loc);
  m->str = type;
  return m;
}

ast_member *ast_named_stmt(parse_ctx *pc, ast_member_kind kind, ast_name *name, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, kind, kw, loc);
  m->name = *name;
  return m;
}

ast_member *ast_projection(parse_ctx *pc, ast_name *kind, vec *attrs) {
  ast_member *m = node(pc, sizeof *m);
  m->proj = *kind;
  m->proj_attrs = attrs;
  return m;
}

ast_member *ast_index(parse_ctx *pc, ast_member_kind kind, ast_str *name, vec *parts, ast_member *projection,
                      dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, kind, kw, loc);
  m->str = name;
  m->parts = parts;
  if (projection) {
    m->proj = projection->proj;
    m->proj_attrs = projection->proj_attrs;
  }
  return m;
}

ast_member *ast_billing(parse_ctx *pc, ast_name *mode, vec *settings, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_BILLING, kw, loc);
  m->name = *mode;
  m->settings = settings;
  return m;
}

ast_member *ast_payload(parse_ctx *pc, ast_member_kind kind, ast_block *block, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, kind, kw, loc);
  m->block = block;
  return m;
}

ast_member *ast_auth(parse_ctx *pc, ast_name *kind, vec *strs, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_AUTH, kw, loc);
  m->name = *kind;
  m->strs = strs;
  return m;
}

ast_member *ast_timeout(parse_ctx *pc, ast_value *v, dormc_loc kw, dormc_loc loc) {
  ast_member *m = member(pc, AST_M_TIMEOUT, kw, loc);
  m->value = v;
  return m;
}

static ast_item *item(parse_ctx *pc, ast_item_kind kind, dormc_loc kw, dormc_loc loc) {
  ast_item *it = node(pc, sizeof *it);
  it->kind = kind;
  it->kw_loc = kw;
  it->loc = loc;
  return it;
}

ast_item *ast_namespace(parse_ctx *pc, vec *qname, dormc_loc kw, dormc_loc loc) {
  ast_item *it = item(pc, AST_I_NAMESPACE, kw, loc);
  it->qname = qname;
  return it;
}

ast_item *ast_import(parse_ctx *pc, ast_str *path, dormc_loc kw, dormc_loc loc) {
  ast_item *it = item(pc, AST_I_IMPORT, kw, loc);
  it->str = path;
  return it;
}

ast_item *ast_decl(parse_ctx *pc, ast_item_kind kind, ast_name *name, ast_block *body, dormc_loc kw,
                   dormc_loc loc) {
  ast_item *it = item(pc, kind, kw, loc);
  it->name = *name;
  it->body = body;
  return it;
}

ast_item *ast_table_decl(parse_ctx *pc, ast_name *name, ast_str *physical, ast_block *body, dormc_loc kw,
                         dormc_loc loc) {
  ast_item *it = ast_decl(pc, AST_I_TABLE, name, body, kw, loc);
  it->str = physical;
  return it;
}

ast_item *ast_model_decl(parse_ctx *pc, ast_name *name, ast_model_home home, ast_name *in_table,
                         ast_str *table_name, ast_block *body, dormc_loc kw, dormc_loc loc) {
  ast_item *it = ast_decl(pc, AST_I_MODEL, name, body, kw, loc);
  it->home = home;
  if (in_table) it->in_table = *in_table;
  it->str = table_name;
  return it;
}

ast_item *ast_endpoint_decl(parse_ctx *pc, ast_name *name, ast_name *mode, ast_block *body, dormc_loc kw,
                            dormc_loc loc) {
  ast_item *it = ast_decl(pc, AST_I_ENDPOINT, name, body, kw, loc);
  if (mode) it->mode = *mode;
  return it;
}

void ast_file_add(parse_ctx *pc, ast_item *it) { vec_push(&pc->c->arena, pc->file->items, it); }

const char *ast_member_kind_name(ast_member_kind k) {
  switch (k) {
  case AST_M_FIELD: return "field";
  case AST_M_ENUM_VALUE: return "enum member";
  case AST_M_KEY_DECL: return "key declaration";
  case AST_M_KEY_TEMPLATE: return "key template";
  case AST_M_ENTITY_TYPE: return "type";
  case AST_M_NAMING: return "naming";
  case AST_M_GSI: return "gsi";
  case AST_M_LSI: return "lsi";
  case AST_M_BILLING: return "billing";
  case AST_M_STREAM: return "stream";
  case AST_M_TTL: return "ttl";
  case AST_M_REQUEST: return "request";
  case AST_M_PROGRESS: return "progress";
  case AST_M_RESULT: return "result";
  case AST_M_AUTH: return "auth";
  case AST_M_TIMEOUT: return "timeout";
  case AST_M_KIND_COUNT: break;
  }
  return "member";
}

const char *ast_item_kind_name(ast_item_kind k) {
  switch (k) {
  case AST_I_NAMESPACE: return "namespace";
  case AST_I_IMPORT: return "import";
  case AST_I_ENUM: return "enum";
  case AST_I_STRUCT: return "struct";
  case AST_I_TABLE: return "table";
  case AST_I_MODEL: return "model";
  case AST_I_ENDPOINT: return "endpoint";
  }
  return "declaration";
}
