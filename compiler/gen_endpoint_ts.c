/* gen_endpoint_ts: <base>_endpoints.d.ts (`dormc gen --ts`), TypeScript
 * declarations of a file's endpoints as the streamer's JSON carries them
 * (runtime/src/streamer/payload.c is the codec, docs/streamer.md the
 * protocol): per endpoint E the interfaces ERequest, EProgress (when a
 * progress block is written) and EResult, the enums and structs they reach
 * (enums as unions of their stored values), and the action map Endpoints
 * { E: {mode, request, progress, result} } with Action = keyof Endpoints,
 * which the JavaScript client (clients/js) takes as its type parameter.
 *
 * JSON forms: string, decimal (exact text), bytes (base64), time (RFC 3339)
 * and enums are strings; int, epoch and float numbers; bool boolean; json
 * JsonValue; structs interfaces; sets and lists arrays; maps objects keyed
 * by string. Members carry the JSON name (the field's name or @name), quoted
 * when it is not an identifier; an optional field is `name?: T` (absent
 * when not set), an optional element `T | null`. A field whose TypeScript
 * type does not say its .dorm type has the .dorm type as a comment.
 *
 * Deterministic: declarations in schema order, nothing from the
 * environment. Two declarations of one TypeScript name (a struct called
 * EchoRequest next to endpoint Echo) fail, naming both. */
#include <stdio.h>
#include <string.h>

#include "gen_endpoint.h"

#define P(...) sb_printf(&x->g.out, __VA_ARGS__)

typedef struct ts_ctx {
  gen_ep_ctx *x;
  symtab names;  /* TypeScript name -> what it is for */
  symtab enums;  /* c_name -> enum reached */
  symtab structs; /* c_name -> struct reached */
  bool json;     /* JsonValue is used */
} ts_ctx;

/* A double-quoted JSON/TypeScript string literal. */
static const char *ts_str(gen_ctx *g, const char *s) {
  strbuf b = {0};
  sb_putc(&b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      sb_putc(&b, '\\');
      sb_putc(&b, (char)*p);
    } else if (*p < 0x20 || *p == 0x7f) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", *p);
      sb_puts(&b, esc);
    } else {
      sb_putc(&b, (char)*p);
    }
  }
  sb_putc(&b, '"');
  const char *out = arena_strdup(&g->mem, b.data ? b.data : "\"\"");
  sb_free(&b);
  return out;
}

static bool ts_ident(const char *s) {
  if (!s[0] || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_' || s[0] == '$'))
    return false;
  for (const char *p = s + 1; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '$'))
      return false;
  return true;
}

/* A comment's text that cannot end the comment it is in. */
static const char *ts_comment(gen_ctx *g, const char *s) {
  strbuf b = {0};
  for (const char *p = s; *p; p++) {
    if (*p == '*' && p[1] == '/') sb_puts(&b, "*\\");
    else if (*p == '\n' || *p == '\r') sb_putc(&b, ' ');
    else sb_putc(&b, *p);
  }
  const char *out = arena_strdup(&g->mem, b.data ? b.data : "");
  sb_free(&b);
  return out;
}

static void ts_declare(ts_ctx *t, const char *name, const char *what, const dormc_loc *loc) {
  gen_ctx *g = &t->x->g;
  const char *prev = symtab_put(&g->mem, &t->names, name, (void *)what);
  if (prev)
    gen_fail(g, loc ? *loc : (dormc_loc){.file = t->x->file},
             "the TypeScript name %s would be declared twice: for %s and for %s", name, prev, what);
}

/* Records the enums and structs t reaches (structs recursively, once). */
static void ts_reach(ts_ctx *t, const dormc_type *ty) {
  gen_ctx *g = &t->x->g;
  switch (ty->kind) {
  case DORMC_T_ENUM: symtab_put(&g->mem, &t->enums, ty->enum_->c_name, (void *)ty->enum_); break;
  case DORMC_T_STRUCT:
    if (!symtab_put(&g->mem, &t->structs, ty->struct_->c_name, (void *)ty->struct_))
      for (size_t i = 0; i < ty->struct_->nfields; i++) ts_reach(t, &ty->struct_->fields[i].type);
    break;
  case DORMC_T_SET:
  case DORMC_T_LIST:
  case DORMC_T_MAP: ts_reach(t, ty->elem); break;
  case DORMC_T_JSON: t->json = true; break;
  default: break;
  }
}

static const char *ts_type(ts_ctx *t, const dormc_type *ty);

/* An element type: `T | null` when optional. */
static const char *ts_elem(ts_ctx *t, const dormc_type *e) {
  const char *s = ts_type(t, e);
  return e->optional ? arena_printf(&t->x->g.mem, "%s | null", s) : s;
}

/* The TypeScript type of a value of ty (ty->optional aside). */
static const char *ts_type(ts_ctx *t, const dormc_type *ty) {
  gen_ctx *g = &t->x->g;
  switch (ty->kind) {
  case DORMC_T_STRING:
  case DORMC_T_DECIMAL:
  case DORMC_T_BYTES:
  case DORMC_T_TIME: return "string";
  case DORMC_T_INT:
  case DORMC_T_FLOAT:
  case DORMC_T_EPOCH: return "number";
  case DORMC_T_BOOL: return "boolean";
  case DORMC_T_JSON: return "JsonValue";
  case DORMC_T_ENUM: return ty->enum_->name;
  case DORMC_T_STRUCT: return ty->struct_->name;
  case DORMC_T_SET:
  case DORMC_T_LIST: {
    const char *e = ts_elem(t, ty->elem);
    return strchr(e, '|') ? arena_printf(&g->mem, "(%s)[]", e) : arena_printf(&g->mem, "%s[]", e);
  }
  case DORMC_T_MAP: return arena_printf(&g->mem, "{ [key: string]: %s }", ts_elem(t, ty->elem));
  }
  return "unknown";
}

static void ts_fields(ts_ctx *t, const dormc_field *f, size_t n) {
  gen_ctx *g = &t->x->g;
  gen_ep_ctx *x = t->x;
  for (size_t i = 0; i < n; i++) {
    const char *ty = ts_type(t, &f[i].type);
    char dorm[256];
    dormc_type_str(&f[i].type, dorm, sizeof dorm);
    size_t dl = strlen(dorm);
    if (dl && dorm[dl - 1] == '?') dorm[--dl] = '\0'; /* `?:` says it */
    const char *name = ts_ident(f[i].attr) ? f[i].attr : ts_str(g, f[i].attr);
    P("  %s%s: %s;", name, f[i].optional ? "?" : "", ty);
    if (strcmp(ty, dorm) != 0 && strcmp(dorm, "bool") != 0) P(" // %s", ts_comment(g, dorm));
    P("\n");
  }
}

/* An interface for a struct or a payload; an empty one admits only {}. */
static void ts_interface(ts_ctx *t, const char *name, const dormc_field *f, size_t n) {
  gen_ep_ctx *x = t->x;
  if (n == 0) {
    P("export type %s = Record<string, never>;\n", name);
    return;
  }
  P("export interface %s {\n", name);
  ts_fields(t, f, n);
  P("}\n");
}

static const char *ts_duration(gen_ctx *g, int64_t ms) {
  if (ms % 3600000 == 0) return arena_printf(&g->mem, "%lldh", (long long)(ms / 3600000));
  if (ms % 60000 == 0) return arena_printf(&g->mem, "%lldm", (long long)(ms / 60000));
  if (ms % 1000 == 0) return arena_printf(&g->mem, "%llds", (long long)(ms / 1000));
  return arena_printf(&g->mem, "%lldms", (long long)ms);
}

static const char *part_name(gen_ctx *g, const gen_ep_info *ep, const gen_ep_part *p) {
  return arena_printf(&g->mem, "%s%c%s", ep->e->name, p->block[0] - 'a' + 'A', p->block + 1);
}

void gen_endpoint_ts(gen_ep_ctx *x) {
  gen_ctx *g = &x->g;
  const dormc_schema *s = g->s;
  ts_ctx t = {.x = x};
  symtab_init(&t.names);
  symtab_init(&t.enums);
  symtab_init(&t.structs);
  for (size_t i = 0; i < x->neps; i++)
    for (size_t k = 0; k < x->eps[i].nparts; k++)
      for (size_t f = 0; f < x->eps[i].parts[k].nfields; f++) ts_reach(&t, &x->eps[i].parts[k].fields[f].type);

  /* every name the file declares, so that a clash fails naming both */
  static const char *const fixed[] = {"Endpoints", "Action", "JsonValue"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) ts_declare(&t, fixed[i], "the declarations' own types", NULL);
  for (size_t i = 0; i < s->nenums; i++)
    if (symtab_get(&t.enums, s->enums[i].c_name))
      ts_declare(&t, s->enums[i].name, arena_printf(&g->mem, "enum '%s'", s->enums[i].name), &s->enums[i].loc);
  for (size_t i = 0; i < s->nstructs; i++)
    if (symtab_get(&t.structs, s->structs[i].c_name))
      ts_declare(&t, s->structs[i].name, arena_printf(&g->mem, "struct '%s'", s->structs[i].name), &s->structs[i].loc);
  for (size_t i = 0; i < x->neps; i++)
    for (size_t k = 0; k < x->eps[i].nparts; k++)
      ts_declare(&t, part_name(g, &x->eps[i], &x->eps[i].parts[k]),
                 arena_printf(&g->mem, "the %s of endpoint '%s'", x->eps[i].parts[k].block, x->eps[i].e->name),
                 &x->eps[i].e->loc);
  if (g->failed) return;

  P("// Generated by dormc from %s. Do not edit: change the schema and run `dormc gen --ts`.\n", x->display);
  P("// The endpoints of namespace %s as the streamer's JSON carries them (docs/streamer.md).\n", s->namespace_);
  P("// With the JavaScript client (clients/js):\n");
  P("//   import type { Endpoints } from './%s_endpoints';\n", g->base);
  P("//   const client = await connect<Endpoints>(url, { token });\n\n");
  if (t.json) {
    P("/** Any JSON value (a `json` field). */\n");
    P("export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };\n\n");
  }
  for (size_t i = 0; i < s->nenums; i++) {
    const dormc_enum *e = &s->enums[i];
    if (!symtab_get(&t.enums, e->c_name)) continue;
    P("/** enum %s: its stored values. */\nexport type %s =", e->name, e->name);
    for (size_t m = 0; m < e->nmembers; m++) P("%s %s", m ? " |" : "", ts_str(g, e->members[m].value));
    P(";\n\n");
  }
  for (size_t i = 0; i < s->nstructs; i++) {
    const dormc_struct *st = &s->structs[i];
    if (!symtab_get(&t.structs, st->c_name)) continue;
    P("/** struct %s */\n", st->name);
    ts_interface(&t, st->name, st->fields, st->nfields);
    P("\n");
  }
  for (size_t i = 0; i < x->neps; i++) {
    const gen_ep_info *ep = &x->eps[i];
    const dormc_endpoint *e = ep->e;
    P("/* ---- %s: %s, timeout %s", e->name, e->mode == DORMC_ENDPOINT_ASYNC ? "async" : "sync",
      ts_duration(g, e->timeout_ms));
    if (e->nscopes) {
      P(", scopes");
      for (size_t k = 0; k < e->nscopes; k++) P(" %s", ts_comment(g, e->scopes[k]));
    }
    P(" ---- */\n\n");
    for (size_t k = 0; k < ep->nparts; k++) {
      ts_interface(&t, part_name(g, ep, &ep->parts[k]), ep->parts[k].fields, ep->parts[k].nfields);
      P("\n");
    }
  }
  P("/** Every endpoint of %s by action name: `mode`, and the types of `request`,\n"
    " * `progress` (never: the endpoint reports no typed progress) and `result`. */\n",
    x->display);
  P("export interface Endpoints {\n");
  for (size_t i = 0; i < x->neps; i++) {
    const gen_ep_info *ep = &x->eps[i];
    P("  %s: {\n    mode: \"%s\";\n    request: %s;\n    progress: %s;\n    result: %s;\n  };\n", ep->e->name,
      ep->e->mode == DORMC_ENDPOINT_ASYNC ? "async" : "sync", part_name(g, ep, ep->request),
      ep->progress ? part_name(g, ep, ep->progress) : "never", part_name(g, ep, ep->result));
  }
  P("}\n\n");
  P("/** The actions a client may call. */\nexport type Action = keyof Endpoints;\n");
}
