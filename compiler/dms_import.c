/* DMS v0.1 import: a DynamORM schema contract document as .dorm.
 *
 * Three steps: libyaml reads the document (a first pass over the events
 * refuses what DMS's JSON-compatible YAML excludes: anchors, aliases, tags,
 * several documents); the tree is checked member by member into the
 * dms_model records of dms_import.h (every error points at its YAML line and
 * column); and the .dorm text is written from those records
 * (dms_import_write.c), checked by the library (what the checker finds is
 * reported at the YAML entry each part was written for) and put through
 * the formatter before it is handed out, so the caller always gets a
 * canonical schema that checks clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "dms_import.h"

/* ---- diagnostics ------------------------------------------------------- */

static const char *line_at(const imp *I, size_t line1, size_t *len) {
  const char *p = I->data, *end = I->data + I->len;
  for (size_t l = 1; l < line1 && p < end; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return NULL;
    p = nl + 1;
  }
  if (p > end) return NULL;
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
  if (n && p[n - 1] == '\r') n--;
  *len = n;
  return p;
}

static dormc_loc mark_loc(const imp *I, yaml_mark_t start, yaml_mark_t end) {
  dormc_loc l = {.file = I->path};
  l.line = (uint32_t)start.line + 1;
  l.col = (uint32_t)start.column + 1;
  l.offset = (uint32_t)start.index;
  if (end.line == start.line && end.column > start.column) {
    l.end_line = l.line;
    l.end_col = (uint32_t)end.column + 1;
    l.end_offset = (uint32_t)end.index;
  } else {
    l.end_line = l.line;
    l.end_col = l.col + 1;
    l.end_offset = l.offset + 1;
  }
  return l;
}

/* A diagnostic at start..end, with a note at another node (note_at may be
 * NULL). */
static void vdiag_note(imp *I, dormc_severity sev, yaml_mark_t start, yaml_mark_t end, const yaml_node_t *note_at,
                       const char *note, const char *fmt, va_list ap) {
  if (sev == DORMC_SEV_ERROR && I->errors++ >= MAX_REPORTED_ERRORS) return;
  if (!I->on_diag) return;
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  dormc_diagnostic d = {.severity = sev, .message = msg};
  d.loc = mark_loc(I, start, end);
  d.line_text = line_at(I, d.loc.line, &d.line_len);
  dormc_note n = {.message = note};
  if (note_at) {
    n.loc = mark_loc(I, note_at->start_mark, note_at->end_mark);
    n.line_text = line_at(I, n.loc.line, &n.line_len);
    d.notes = &n;
    d.nnotes = 1;
  }
  I->on_diag(&d, I->diag_user);
  if (sev == DORMC_SEV_ERROR && I->errors == MAX_REPORTED_ERRORS) {
    dormc_diagnostic stop = {.severity = DORMC_SEV_NOTE,
                             .message = "too many errors; stopping (fix these and run again)"};
    I->on_diag(&stop, I->diag_user);
  }
}

static void vdiag(imp *I, dormc_severity sev, yaml_mark_t start, yaml_mark_t end, const char *fmt, va_list ap) {
  vdiag_note(I, sev, start, end, NULL, NULL, fmt, ap);
}

static void err_note_at(imp *I, const yaml_node_t *n, const yaml_node_t *note_at, const char *note, const char *fmt,
                        ...) DORMC_PRINTF(5, 6);
static void err_note_at(imp *I, const yaml_node_t *n, const yaml_node_t *note_at, const char *note, const char *fmt,
                        ...) {
  va_list ap;
  va_start(ap, fmt);
  vdiag_note(I, DORMC_SEV_ERROR, n->start_mark, n->end_mark, note_at, note, fmt, ap);
  va_end(ap);
}

static void err_at(imp *I, const yaml_node_t *n, const char *fmt, ...) DORMC_PRINTF(3, 4);
static void err_at(imp *I, const yaml_node_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdiag(I, DORMC_SEV_ERROR, n->start_mark, n->end_mark, fmt, ap);
  va_end(ap);
}

static void warn_at(imp *I, const yaml_node_t *n, const char *fmt, ...) DORMC_PRINTF(3, 4);
static void warn_at(imp *I, const yaml_node_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdiag(I, DORMC_SEV_WARNING, n->start_mark, n->end_mark, fmt, ap);
  va_end(ap);
}

static void err_mark(imp *I, yaml_mark_t m, const char *fmt, ...) DORMC_PRINTF(3, 4);
static void err_mark(imp *I, yaml_mark_t m, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdiag(I, DORMC_SEV_ERROR, m, m, fmt, ap);
  va_end(ap);
}

static void imp_oom(void *user) { longjmp(((imp *)user)->oom, 1); }

void dms_mark_at(imp *I, const strbuf *b, const yaml_node_t *n) {
  if (I->nmarks && I->marks[I->nmarks - 1].offset == b->len) {
    I->marks[I->nmarks - 1].node = n; /* nothing written for the one before */
    return;
  }
  if (I->nmarks == I->capmarks) {
    size_t cap = I->capmarks ? I->capmarks * 2 : 64;
    dms_mark *m = realloc(I->marks, cap * sizeof *m);
    if (!m) longjmp(I->oom, 1);
    I->marks = m;
    I->capmarks = cap;
  }
  I->marks[I->nmarks].offset = b->len;
  I->marks[I->nmarks++].node = n;
}

/* The YAML node the written .dorm text at offset came from (the document's
 * root when none is known). */
static const yaml_node_t *node_of_offset(imp *I, size_t offset) {
  size_t lo = 0, hi = I->nmarks; /* the last mark at or before offset */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (I->marks[mid].offset <= offset) lo = mid;
    else hi = mid;
  }
  const yaml_node_t *n = I->nmarks && I->marks[lo].offset <= offset ? I->marks[lo].node : NULL;
  return n ? n : yaml_document_get_root_node(&I->doc);
}

/* ---- YAML: the first pass and the tree --------------------------------- */

static void yaml_failure(imp *I, const yaml_parser_t *p) {
  if (p->error == YAML_MEMORY_ERROR) longjmp(I->oom, 1);
  yaml_mark_t m = p->problem_mark;
  if (p->error == YAML_READER_ERROR) {
    /* The reader reports a byte offset only. */
    m.index = p->problem_offset;
    m.line = 0;
    m.column = 0;
    for (size_t i = 0; i < p->problem_offset && i < I->len; i++) {
      if (I->data[i] == '\n') m.line++, m.column = 0;
      else if (((unsigned char)I->data[i] & 0xC0) != 0x80) m.column++;
    }
  }
  const char *problem = p->problem ? p->problem : "unknown error";
  if (p->context)
    err_mark(I, m, "invalid YAML: %s %s", problem, p->context);
  else
    err_mark(I, m, "invalid YAML: %s", problem);
}

/* Refuses what DMS's JSON-compatible YAML excludes. Returns false after
 * reporting. */
static bool first_pass(imp *I) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) longjmp(I->oom, 1);
  yaml_parser_set_input_string(&p, (const unsigned char *)I->data, I->len);
  bool ok = true, done = false;
  int docs = 0, depth = 0;
  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev)) {
      if (p.error == YAML_MEMORY_ERROR) {
        yaml_parser_delete(&p);
        longjmp(I->oom, 1);
      }
      yaml_failure(I, &p);
      ok = false;
      break;
    }
    const char *anchor = NULL, *what = NULL;
    const unsigned char *tag = NULL;
    switch (ev.type) {
    case YAML_DOCUMENT_START_EVENT:
      if (++docs == 2) {
        err_mark(I, ev.start_mark, "a DMS file holds one YAML document; this is a second one");
        ok = false;
      }
      break;
    case YAML_ALIAS_EVENT:
      err_mark(I, ev.start_mark, "aliases (*%s) are not allowed: DMS is JSON-compatible YAML", ev.data.alias.anchor);
      ok = false;
      break;
    case YAML_SCALAR_EVENT:
      anchor = (const char *)ev.data.scalar.anchor, tag = ev.data.scalar.tag, what = "a scalar";
      break;
    case YAML_SEQUENCE_START_EVENT:
      anchor = (const char *)ev.data.sequence_start.anchor, tag = ev.data.sequence_start.tag, what = "a sequence";
      depth++;
      break;
    case YAML_MAPPING_START_EVENT:
      anchor = (const char *)ev.data.mapping_start.anchor, tag = ev.data.mapping_start.tag, what = "a mapping";
      depth++;
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: depth--; break;
    case YAML_STREAM_END_EVENT: done = true; break;
    default: break;
    }
    if (anchor) {
      err_mark(I, ev.start_mark, "anchors (&%s) are not allowed: DMS is JSON-compatible YAML", anchor);
      ok = false;
    } else if (tag) {
      err_mark(I, ev.start_mark, "tags (%s on %s) are not allowed: DMS is JSON-compatible YAML", (const char *)tag,
               what);
      ok = false;
    }
    /* libyaml's scanner looks at every open level for each token it
     * reads, so deep nesting costs the square of its depth (30,000 '['
     * took 17 s, a 64 MB file hours): stop at DMS_MAX_DEPTH, well past
     * any DMS document's (the deepest, a projection's fields, is level 7). */
    bool too_deep = depth > DMS_MAX_DEPTH;
    if (too_deep) {
      err_mark(I, ev.start_mark, "nested deeper than %d levels: a DMS document nests 7 at most", DMS_MAX_DEPTH);
      ok = false;
    }
    yaml_event_delete(&ev);
    if (too_deep || I->errors >= MAX_REPORTED_ERRORS) break;
  }
  yaml_parser_delete(&p);
  if (ok && docs == 0) {
    yaml_mark_t m = {0};
    err_mark(I, m, "the file is empty: a DMS document starts with dms_version: \"" DORMC_DMS_VERSION "\"");
    ok = false;
  }
  return ok;
}

static bool load_tree(imp *I) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) longjmp(I->oom, 1);
  yaml_parser_set_input_string(&p, (const unsigned char *)I->data, I->len);
  bool ok = yaml_parser_load(&p, &I->doc) != 0;
  if (!ok) {
    if (p.error == YAML_MEMORY_ERROR) {
      yaml_parser_delete(&p);
      longjmp(I->oom, 1);
    }
    yaml_failure(I, &p);
  } else {
    I->have_doc = true;
  }
  yaml_parser_delete(&p);
  return ok;
}

static yaml_node_t *node(imp *I, int id) { return yaml_document_get_node(&I->doc, id); }

static const char *kind_name(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_SCALAR_NODE: return "a scalar";
  case YAML_SEQUENCE_NODE: return "a list";
  case YAML_MAPPING_NODE: return "a mapping";
  default: return "nothing";
  }
}

static bool is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *s = (const char *)n->data.scalar.value;
  size_t len = n->data.scalar.length;
  return len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
         strcmp(s, "NULL") == 0;
}

/* A non-empty string without NUL bytes, copied into the arena; NULL after
 * reporting. */
static const char *get_str(imp *I, const yaml_node_t *n, const char *what) {
  if (n->type != YAML_SCALAR_NODE || is_null(n)) {
    err_at(I, n, "%s must be a string, not %s", what, is_null(n) ? "null" : kind_name(n));
    return NULL;
  }
  const char *s = (const char *)n->data.scalar.value;
  size_t len = n->data.scalar.length;
  if (memchr(s, '\0', len)) {
    err_at(I, n, "%s contains a NUL character", what);
    return NULL;
  }
  if (len == 0) {
    err_at(I, n, "%s cannot be empty", what);
    return NULL;
  }
  return arena_strndup(&I->a, s, len);
}

/* true/false (YAML 1.2 core schema spellings, unquoted). */
static bool get_bool(imp *I, const yaml_node_t *n, const char *what, bool *out) {
  if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    const char *s = (const char *)n->data.scalar.value;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
      *out = true;
      return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
      *out = false;
      return true;
    }
  }
  err_at(I, n, "%s must be true or false%s", what,
         n->type == YAML_SCALAR_NODE && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ? " (without quotes)" : "");
  return false;
}

/* Collects the members of mapping n named in known[] into vals[] (NULL when
 * absent). Unknown members are reported as ignored, duplicates as errors.
 * Returns false (after reporting) when n is not a mapping. */
static bool members(imp *I, const yaml_node_t *n, const char *what, const char *const *known, size_t nknown,
                    yaml_node_t **vals) {
  for (size_t i = 0; i < nknown; i++) vals[i] = NULL;
  if (n->type != YAML_MAPPING_NODE) {
    err_at(I, n, "%s must be a mapping, not %s", what, is_null(n) ? "null" : kind_name(n));
    return false;
  }
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = node(I, p->key), *v = node(I, p->value);
    if (!k || !v) continue;
    if (k->type != YAML_SCALAR_NODE) {
      err_at(I, k, "keys in %s must be names, not %s", what, kind_name(k));
      continue;
    }
    const char *key = (const char *)k->data.scalar.value;
    size_t idx = nknown;
    for (size_t i = 0; i < nknown; i++)
      if (strlen(known[i]) == k->data.scalar.length && strcmp(known[i], key) == 0) idx = i;
    if (idx == nknown) {
      if (strcmp(key, "tags") != 0) /* extension metadata: ignored by design */
        warn_at(I, k, "unknown member '%.*s' in %s is ignored", (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length), key, what);
      continue;
    }
    if (vals[idx]) {
      err_at(I, k, "'%s' appears twice in %s", known[idx], what);
      continue;
    }
    vals[idx] = v;
  }
  return true;
}

static const yaml_node_t *required(imp *I, const yaml_node_t *map, yaml_node_t *v, const char *member,
                                   const char *what) {
  if (!v) err_at(I, map, "%s has no '%s'", what, member);
  return v;
}

/* ---- identifiers ------------------------------------------------------- */

bool dms_is_ident(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
  for (s++; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

/* An identifier made from s: other characters become '_', a leading digit
 * gets a '_' in front, and (for field names, which are C member names) a C
 * word gets a '_' after. */
char *dms_make_ident(imp *I, const char *s, bool field) {
  size_t n = strlen(s);
  char *out = arena_alloc(&I->a, n + 3);
  size_t o = 0;
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) out[o++] = '_';
  for (; *s; s++) {
    char ch = *s;
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (!ok && ((unsigned char)ch & 0xC0) == 0x80) continue; /* one '_' per UTF-8 character */
    out[o++] = ok ? ch : '_';
  }
  out[o] = '\0';
  if (field && dormc_is_c_keyword(out)) out[o++] = '_', out[o] = '\0';
  return out;
}

/* base, or base_2, base_3, ... whichever is not in used[0..n). */
/* A set of names taken, and for each base name handed out the next
 * suffix to try: names are only ever added, so every suffix below it is
 * taken. (Searching a list from suffix 2 each time made many attributes
 * of one base, "a-" "a." "a+" ..., cost the cube of their number.) */
typedef struct names {
  symtab used, next;
} names;

static void names_add(imp *I, names *t, const char *name) { symtab_put(&I->a, &t->used, name, (void *)name); }

static const char *unique_name(imp *I, const char *base, names *t) {
  if (!symtab_get(&t->used, base)) {
    names_add(I, t, base);
    return base;
  }
  unsigned *k = symtab_get(&t->next, base);
  if (!k) {
    k = arena_alloc(&I->a, sizeof *k);
    *k = 2;
    symtab_put(&I->a, &t->next, base, k);
  }
  const char *cand;
  do cand = arena_printf(&I->a, "%s_%u", base, (*k)++);
  while (symtab_get(&t->used, cand));
  names_add(I, t, cand);
  return cand;
}

/* ---- the document ------------------------------------------------------ */

/* DynamoDB's rule for table and index names. */
static bool valid_ddb_name(const char *s) {
  size_t n = strlen(s);
  if (n < 3 || n > 255) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          *s == '-' || *s == '.'))
      return false;
  return true;
}

static bool key_type_of(const char *t, char *out) {
  if (strcmp(t, "S") == 0 || strcmp(t, "N") == 0 || strcmp(t, "B") == 0) {
    *out = t[0];
    return true;
  }
  return false;
}

/* { attribute: "PK", type: "S" } */
static bool parse_key(imp *I, const yaml_node_t *n, const char *what, dms_key *out) {
  static const char *const known[] = {"attribute", "type"};
  yaml_node_t *v[2];
  out->node = n;
  if (!members(I, n, what, known, 2, v)) return false;
  bool ok = true;
  if (!required(I, n, v[0], "attribute", what) || !(out->attr = get_str(I, v[0], "a key's attribute"))) ok = false;
  if (!required(I, n, v[1], "type", what)) return false;
  const char *t = get_str(I, v[1], "a key's type");
  if (!t) return false;
  if (!key_type_of(t, &out->type)) {
    err_at(I, v[1], "unknown key type '%s'; a key attribute is S, N or B", t);
    return false;
  }
  return ok;
}

typedef struct type_map {
  const char *ddb, *format;
  bool json;
  const char *dorm;
  char key;
} type_map;

static const type_map type_maps[] = {
    {"S", NULL, false, "string", 'S'},       {"S", "rfc3339nano", false, "time", 'S'},
    {"S", NULL, true, "json", 0},            {"N", NULL, false, "decimal", 'N'},
    {"N", "int", false, "int", 'N'},         {"N", "unix_seconds", false, "epoch", 'N'},
    {"B", NULL, false, "bytes", 'B'},        {"BOOL", NULL, false, "bool", 0},
    {"SS", NULL, false, "set<string>", 0},   {"NS", NULL, false, "set<decimal>", 0},
    {"BS", NULL, false, "set<bytes>", 0},    {"L", NULL, false, "list<string>", 0},
    {"M", NULL, false, "map<string>", 0},
};

static const char *const ddb_types[] = {"S", "N", "B", "BOOL", "SS", "NS", "BS", "L", "M", "NULL"};
static const char *const formats[] = {"rfc3339nano", "unix_seconds", "int"};

/* Index roles are checked once the model's indexes are known. */
typedef struct index_role {
  const char *role;
  const yaml_node_t *node;
  const dms_attr *attr;
} index_role;

static bool parse_roles(imp *I, const yaml_node_t *n, dms_attr *a, vec *index_roles) {
  if (n->type != YAML_SEQUENCE_NODE) {
    err_at(I, n, "roles must be a list of names, not %s", kind_name(n));
    return false;
  }
  static const char *const names[] = {"pk", "sk", "created_at", "updated_at", "version", "ttl"};
  bool ok = true;
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    yaml_node_t *r = node(I, *it);
    if (!r) continue;
    const char *s = get_str(I, r, "a role");
    if (!s) {
      ok = false;
      continue;
    }
    int found = -1;
    for (int i = 0; i < 6; i++)
      if (strcmp(s, names[i]) == 0) found = i;
    if (found >= 0) {
      if (a->roles & (1u << found)) warn_at(I, r, "role '%s' is listed twice", s);
      a->roles |= 1u << found;
    } else if ((strncmp(s, "index_pk:", 9) == 0 && s[9]) || (strncmp(s, "index_sk:", 9) == 0 && s[9])) {
      index_role *x = arena_alloc(&I->a, sizeof *x);
      x->role = s;
      x->node = r;
      x->attr = a;
      vec_push(&I->a, index_roles, x);
    } else {
      const char *near = closest_name(s, names, 6);
      err_at(I, r,
             "unknown role '%s'%s%s%s; DMS v0.1 roles are pk, sk, created_at, updated_at, version, ttl, "
             "index_pk:<index>, index_sk:<index>",
             s, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
      ok = false;
    }
  }
  return ok;
}

/* encryption: {v: 1}, DynamORM's envelope version 1 (issue 15); the KMS key
 * is configuration, not part of the contract. Another version is refused:
 * reading it as version 1 would fail every read. */
static bool parse_encryption(imp *I, const yaml_node_t *n, dms_attr *a) {
  static const char *const known[] = {"v"};
  yaml_node_t *v[1];
  if (!members(I, n, "encryption", known, 1, v)) return false;
  if (!required(I, n, v[0], "v", "encryption")) return false;
  if (v[0]->type != YAML_SCALAR_NODE || v[0]->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
      strcmp((const char *)v[0]->data.scalar.value, "1") != 0) {
    err_at(I, v[0], "attribute '%s': encryption version must be 1 (DynamORM's envelope v1)", a->attr);
    return false;
  }
  a->encrypted = true;
  return true;
}

static bool parse_attr(imp *I, const yaml_node_t *n, dms_attr *a, vec *index_roles) {
  static const char *const known[] = {"attribute", "type",  "required", "optional", "omit_empty", "roles",
                                      "format",    "json",  "binary",   "encryption", "tags"};
  enum { K_ATTR, K_TYPE, K_REQ, K_OPT, K_OMIT, K_ROLES, K_FORMAT, K_JSON, K_BINARY, K_ENC, K_TAGS, K_N };
  yaml_node_t *v[K_N];
  memset(a, 0, sizeof *a);
  a->node = n;
  if (!members(I, n, "an attribute", known, K_N, v)) return false;
  bool ok = true;
  if (!required(I, n, v[K_ATTR], "attribute", "an attribute") || !(a->attr = get_str(I, v[K_ATTR], "attribute")))
    return false;
  a->attr_node = v[K_ATTR];
  const char *type = NULL, *format = NULL;
  bool req = false, opt = false, json = false, binary = false;
  if (!required(I, n, v[K_TYPE], "type", "an attribute") || !(type = get_str(I, v[K_TYPE], "type"))) ok = false;
  if (v[K_FORMAT] && !(format = get_str(I, v[K_FORMAT], "format"))) ok = false;
  if (v[K_REQ] && !get_bool(I, v[K_REQ], "required", &req)) ok = false;
  if (v[K_OPT] && !get_bool(I, v[K_OPT], "optional", &opt)) ok = false;
  if (v[K_OMIT] && !get_bool(I, v[K_OMIT], "omit_empty", &a->omit_empty)) ok = false;
  if (v[K_JSON] && !get_bool(I, v[K_JSON], "json", &json)) ok = false;
  if (v[K_BINARY] && !get_bool(I, v[K_BINARY], "binary", &binary)) ok = false;
  if (v[K_ENC] && !parse_encryption(I, v[K_ENC], a)) ok = false;
  if (v[K_ROLES] && !parse_roles(I, v[K_ROLES], a, index_roles)) ok = false;
  /* tags are extension metadata: only dormc's own are read, nothing in
   * them is an error. */
  if (v[K_TAGS] && v[K_TAGS]->type == YAML_MAPPING_NODE) {
    const yaml_node_t *t = v[K_TAGS];
    for (yaml_node_pair_t *p = t->data.mapping.pairs.start; p < t->data.mapping.pairs.top; p++) {
      yaml_node_t *k = node(I, p->key), *val = node(I, p->value);
      if (!k || !val || k->type != YAML_SCALAR_NODE || val->type != YAML_SCALAR_NODE || is_null(val) ||
          val->data.scalar.length == 0 || memchr(val->data.scalar.value, '\0', val->data.scalar.length))
        continue;
      const char *key = (const char *)k->data.scalar.value;
      const char *text = arena_strndup(&I->a, (const char *)val->data.scalar.value, val->data.scalar.length);
      if (strcmp(key, "dorm.template") == 0) a->tag_template = text;
      else if (strcmp(key, "dorm.entity_type") == 0) a->tag_entity = text;
    }
  }
  if (req && opt) {
    err_at(I, v[K_OPT], "attribute '%s' is both required and optional", a->attr);
    ok = false;
  }
  a->optional = opt;
  if (!type) return false;

  bool known_type = false;
  for (size_t i = 0; i < sizeof ddb_types / sizeof ddb_types[0]; i++) known_type |= strcmp(type, ddb_types[i]) == 0;
  if (!known_type) {
    const char *near = closest_name(type, ddb_types, sizeof ddb_types / sizeof ddb_types[0]);
    err_at(I, v[K_TYPE], "unknown type '%s'%s%s%s; DMS types are S, N, B, BOOL, SS, NS, BS, L, M and NULL", type,
           near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    return false;
  }
  if (strcmp(type, "NULL") == 0) {
    err_at(I, v[K_TYPE], "type NULL has no .dorm equivalent: an attribute that is always null stores nothing");
    return false;
  }
  if (format) {
    bool known_format = false;
    for (size_t i = 0; i < 3; i++) known_format |= strcmp(format, formats[i]) == 0;
    if (!known_format) {
      const char *near = closest_name(format, formats, 3);
      err_at(I, v[K_FORMAT], "unknown format '%s'%s%s%s; DMS v0.1 formats are rfc3339nano, unix_seconds and int",
             format, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
      return false;
    }
  }
  if (json && strcmp(type, "S") != 0) {
    err_at(I, v[K_JSON], "json: true needs type S (JSON text); .dorm's json type is stored as a string");
    return false;
  }
  if (json && format) {
    err_at(I, v[K_FORMAT], "a json attribute takes no format");
    return false;
  }
  if (binary && strcmp(type, "B") != 0) {
    err_at(I, v[K_BINARY], "binary: true needs type B");
    return false;
  }
  const type_map *tm = NULL;
  for (size_t i = 0; i < sizeof type_maps / sizeof type_maps[0]; i++) {
    const type_map *x = &type_maps[i];
    if (strcmp(x->ddb, type) == 0 && x->json == json &&
        ((!x->format && !format) || (x->format && format && strcmp(x->format, format) == 0)))
      tm = x;
  }
  if (!tm) {
    const char *needs = strcmp(format, "rfc3339nano") == 0 ? "S" : "N";
    err_at(I, v[K_FORMAT], "format '%s' needs type %s, and attribute '%s' is %s", format, needs, a->attr, type);
    return false;
  }
  a->dorm_type = tm->dorm;
  a->key_type = tm->key;
  if (strcmp(type, "L") == 0 || strcmp(type, "M") == 0)
    warn_at(I, v[K_TYPE],
            "DMS does not say what %s attribute '%s' holds; imported as %s: change the .dorm type to what it "
            "really holds (%s)",
            type[0] == 'L' ? "list" : "map", a->attr, tm->dorm,
            type[0] == 'L' ? "list<T>" : "a struct, or map<T>");
  /* Lifecycle roles fix the type, as DynamORM stores them. */
  struct {
    unsigned role;
    const char *name, *dorm, *shape;
  } const lifecycle[] = {
      {R_CREATED, "created_at", "time", "type S with format rfc3339nano"},
      {R_UPDATED, "updated_at", "time", "type S with format rfc3339nano"},
      {R_VERSION, "version", "int", "type N with format int"},
      {R_TTL, "ttl", "epoch", "type N with format unix_seconds"},
  };
  for (size_t i = 0; i < 4; i++) {
    if ((a->roles & lifecycle[i].role) && strcmp(a->dorm_type, lifecycle[i].dorm) != 0) {
      err_at(I, v[K_ROLES], "role '%s' needs %s, and attribute '%s' is %s%s%s", lifecycle[i].name,
             lifecycle[i].shape, a->attr, type, format ? " with format " : "", format ? format : "");
      ok = false;
    }
  }
  return ok;
}

/* A hash lookup: a linear search here made the duplicate check of a
 * model's attributes quadratic (32,000 attributes took 4.5 s, a 64 MB
 * file, which dormc reads, about an hour). */
const dms_attr *dms_find_attr(const dms_model *m, const char *attr) { return symtab_get(&m->by_attr, attr); }

/* A key (table or index) names an attribute of the model of the same key
 * type. */
static bool check_key_attr(imp *I, const dms_model *m, const dms_key *k, const char *what) {
  const dms_attr *a = dms_find_attr(m, k->attr);
  if (!a) {
    err_at(I, k->node, "%s '%s' is not among the attributes of model '%s'", what, k->attr, m->name);
    return false;
  }
  if (a->key_type != k->type) {
    err_at(I, k->node, "%s '%s' is declared %c, but the attribute is %s", what, k->attr, k->type, a->dorm_type);
    return false;
  }
  return true;
}

static bool parse_index(imp *I, const yaml_node_t *n, dms_model *m, dms_index *x) {
  static const char *const known[] = {"name", "type", "partition", "sort", "projection"};
  yaml_node_t *v[5];
  memset(x, 0, sizeof *x);
  x->node = n;
  x->projection = "all";
  if (!members(I, n, "an index", known, 5, v)) return false;
  if (!required(I, n, v[0], "name", "an index") || !(x->name = get_str(I, v[0], "an index name"))) return false;
  if (!valid_ddb_name(x->name)) {
    err_at(I, v[0], "invalid index name \"%s\": DynamoDB index names are 3 to 255 letters, digits, '_', '-' or '.'",
           x->name);
    return false;
  }
  bool ok = true;
  const char *type = NULL;
  if (!required(I, n, v[1], "type", "an index") || !(type = get_str(I, v[1], "an index type"))) return false;
  if (strcmp(type, "GSI") == 0) x->lsi = false;
  else if (strcmp(type, "LSI") == 0) x->lsi = true;
  else {
    err_at(I, v[1], "unknown index type '%s'; use GSI or LSI", type);
    return false;
  }
  if (!required(I, n, v[2], "partition", "an index") || !parse_key(I, v[2], "an index partition key", &x->pk))
    ok = false;
  if (v[3] && !parse_key(I, v[3], "an index sort key", &x->sk)) ok = false;
  if (!ok) return false;
  if (!check_key_attr(I, m, &x->pk, "index partition key")) ok = false;
  if (x->sk.attr && !check_key_attr(I, m, &x->sk, "index sort key")) ok = false;
  if (x->lsi) {
    if (!x->sk.attr) {
      err_at(I, n, "LSI \"%s\" has no sort key; an LSI sorts the table's partitions by another attribute", x->name);
      ok = false;
    }
    if (m->pk.attr && strcmp(x->pk.attr, m->pk.attr) != 0) {
      err_at(I, x->pk.node, "the partition key of LSI \"%s\" must be the table's ('%s'), not '%s'", x->name,
             m->pk.attr, x->pk.attr);
      ok = false;
    }
    if (!m->sk.attr) {
      err_at(I, n, "LSI \"%s\" needs a table with a sort key, and model '%s' has none", x->name, m->name);
      ok = false;
    }
  }
  if (v[4]) {
    static const char *const pknown[] = {"type", "fields"};
    yaml_node_t *pv[2];
    if (!members(I, v[4], "a projection", pknown, 2, pv)) return false;
    const char *pt = NULL;
    if (!required(I, v[4], pv[0], "type", "a projection") || !(pt = get_str(I, pv[0], "a projection type")))
      return false;
    if (strcmp(pt, "ALL") == 0) x->projection = "all";
    else if (strcmp(pt, "KEYS_ONLY") == 0) x->projection = "keys_only";
    else if (strcmp(pt, "INCLUDE") == 0) x->projection = "include";
    else {
      err_at(I, pv[0], "unknown projection type '%s'; use ALL, KEYS_ONLY or INCLUDE", pt);
      return false;
    }
    if (pv[1] && x->projection[0] != 'i') {
      err_at(I, pv[1], "fields are only for projection type INCLUDE");
      ok = false;
    } else if (x->projection[0] == 'i') {
      if (!pv[1] || pv[1]->type != YAML_SEQUENCE_NODE ||
          pv[1]->data.sequence.items.top == pv[1]->data.sequence.items.start) {
        err_at(I, pv[1] ? pv[1] : v[4], "projection INCLUDE needs fields: a non-empty list of attribute names");
        return false;
      }
      size_t cnt = (size_t)(pv[1]->data.sequence.items.top - pv[1]->data.sequence.items.start);
      x->include = arena_alloc(&I->a, cnt * sizeof *x->include);
      for (yaml_node_item_t *it = pv[1]->data.sequence.items.start; it < pv[1]->data.sequence.items.top; it++) {
        yaml_node_t *f = node(I, *it);
        const char *s = f ? get_str(I, f, "a projected attribute") : NULL;
        if (!s) {
          ok = false;
          continue;
        }
        if (!dms_is_ident(s)) {
          err_at(I, f,
                 "projected attribute '%s' cannot be written in .dorm, whose projections name attributes with "
                 "identifiers",
                 s);
          ok = false;
          continue;
        }
        x->include[x->ninclude++] = s;
      }
    }
  }
  return ok;
}

/* Picks the .dorm field name of every attribute: the attribute name itself
 * when the model's naming gives it back unchanged, otherwise an identifier
 * made from it plus @name("attribute"). */
static void name_fields(imp *I, dms_model *m) {
  names used = {0};
  for (size_t i = 0; i < m->nattrs; i++) {
    dms_attr *a = &m->attrs[i];
    bool plain = dms_is_ident(a->attr) && !dormc_is_c_keyword(a->attr);
    if (plain && m->snake)
      for (const char *p = a->attr; *p; p++) plain &= !(*p >= 'A' && *p <= 'Z');
    /* Keep names that are used as they are for the attributes that can. */
    a->field = plain ? a->attr : NULL;
    a->needs_name = !plain;
    if (a->field) names_add(I, &used, a->field);
  }
  for (size_t i = 0; i < m->nattrs; i++) {
    dms_attr *a = &m->attrs[i];
    if (a->field) continue;
    char *base = dms_make_ident(I, a->attr, true);
    if (m->snake)
      for (char *p = base; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    a->field = unique_name(I, base, &used);
  }
}

static bool parse_model(imp *I, const yaml_node_t *n, dms_model *m) {
  static const char *const known[] = {"name", "table", "naming", "keys", "attributes", "indexes"};
  enum { K_NAME, K_TABLE, K_NAMING, K_KEYS, K_ATTRS, K_INDEXES, K_N };
  yaml_node_t *v[K_N];
  memset(m, 0, sizeof *m); /* the slot may hold a model that failed */
  m->node = n;
  if (!members(I, n, "a model", known, K_N, v)) return false;
  bool ok = true;
  if (!required(I, n, v[K_NAME], "name", "a model") || !(m->name = get_str(I, v[K_NAME], "a model name"))) return false;
  const char *what = arena_printf(&I->a, "model '%s'", m->name);
  if (required(I, n, v[K_TABLE], "table", what)) {
    static const char *const tk[] = {"name"};
    yaml_node_t *tv[1];
    m->table_node = v[K_TABLE];
    if (!members(I, v[K_TABLE], "a table", tk, 1, tv) || !required(I, v[K_TABLE], tv[0], "name", "the table") ||
        !(m->table = get_str(I, tv[0], "a table name")))
      ok = false;
    else if (!valid_ddb_name(m->table)) {
      err_at(I, tv[0], "invalid table name \"%s\": DynamoDB table names are 3 to 255 letters, digits, '_', '-' or '.'",
             m->table);
      ok = false;
    }
  } else {
    ok = false;
  }
  if (v[K_NAMING]) {
    static const char *const nk[] = {"convention"};
    yaml_node_t *nv[1];
    if (!members(I, v[K_NAMING], "naming", nk, 1, nv)) ok = false;
    else if (nv[0]) {
      const char *conv = get_str(I, nv[0], "naming.convention");
      if (!conv) ok = false;
      else if (strcmp(conv, "snake_case") == 0) m->snake = true;
      else if (strcmp(conv, "camelCase") != 0) {
        err_at(I, nv[0], "unknown naming convention '%s'; use camelCase or snake_case", conv);
        ok = false;
      }
      if (conv && ok) m->naming_node = nv[0];
    }
  }
  if (required(I, n, v[K_KEYS], "keys", what)) {
    static const char *const kk[] = {"partition", "sort"};
    yaml_node_t *kv[2];
    m->keys_node = v[K_KEYS];
    if (!members(I, v[K_KEYS], "keys", kk, 2, kv)) ok = false;
    else {
      if (!required(I, v[K_KEYS], kv[0], "partition", "keys") || !parse_key(I, kv[0], "the partition key", &m->pk))
        ok = false;
      if (kv[1] && !parse_key(I, kv[1], "the sort key", &m->sk)) ok = false;
    }
  } else {
    ok = false;
  }
  vec *index_roles = vec_new(&I->a);
  if (required(I, n, v[K_ATTRS], "attributes", what)) {
    const yaml_node_t *an = v[K_ATTRS];
    if (an->type != YAML_SEQUENCE_NODE) {
      err_at(I, an, "attributes must be a list, not %s", kind_name(an));
      ok = false;
    } else {
      size_t cnt = (size_t)(an->data.sequence.items.top - an->data.sequence.items.start);
      m->attrs = arena_alloc(&I->a, (cnt + 1) * sizeof *m->attrs);
      for (yaml_node_item_t *it = an->data.sequence.items.start; it < an->data.sequence.items.top; it++) {
        yaml_node_t *x = node(I, *it);
        if (!x) continue;
        dms_attr *a = &m->attrs[m->nattrs];
        if (!parse_attr(I, x, a, index_roles)) {
          ok = false;
          if (!a->attr) continue;
        }
        if (symtab_put(&I->a, &m->by_attr, a->attr, a)) {
          err_at(I, x, "attribute '%s' is declared twice in model '%s'", a->attr, m->name);
          ok = false;
          continue;
        }
        /* DMS: "If naming.convention is present, implementations MUST
         * validate attribute names to that convention." */
        if (m->naming_node && !dormc_dms_name_follows(a->attr, m->snake)) {
          err_note_at(I, a->attr_node, m->naming_node,
                      m->snake ? "snake_case names are lower-case letters and digits, words joined by one '_'"
                               : "camelCase names start with a lower-case letter, then letters and digits (PK and "
                                 "SK are allowed)",
                      "attribute '%s' does not follow the naming convention the model declares (%s); rename it, or "
                      "remove naming (DMS readers validate the names against it)",
                      a->attr, m->snake ? "snake_case" : "camelCase");
          ok = false;
        }
        m->nattrs++;
      }
    }
  } else {
    ok = false;
  }
  /* Keys: the keys member is authoritative; roles must agree with it. */
  if (m->pk.attr && m->attrs) {
    if (!check_key_attr(I, m, &m->pk, "partition key")) ok = false;
    if (m->sk.attr && !check_key_attr(I, m, &m->sk, "sort key")) ok = false;
    for (size_t i = 0; i < m->nattrs; i++) {
      dms_attr *a = &m->attrs[i];
      bool is_pk = strcmp(a->attr, m->pk.attr) == 0, is_sk = m->sk.attr && strcmp(a->attr, m->sk.attr) == 0;
      if ((a->roles & R_PK) && !is_pk) {
        err_at(I, a->node, "attribute '%s' has role pk, but the partition key is '%s'", a->attr, m->pk.attr);
        ok = false;
      }
      if ((a->roles & R_SK) && !is_sk) {
        err_at(I, a->node, "attribute '%s' has role sk, but %s%s%s", a->attr,
               m->sk.attr ? "the sort key is '" : "model has no sort key", m->sk.attr ? m->sk.attr : "",
               m->sk.attr ? "'" : "");
        ok = false;
      }
      if ((is_pk || is_sk) && a->optional) {
        err_at(I, a->node, "attribute '%s' is the table's %s key and cannot be optional", a->attr,
               is_pk ? "partition" : "sort");
        ok = false;
      }
      if ((is_pk || is_sk) && a->encrypted) {
        err_at(I, a->node, "attribute '%s' is the table's %s key and cannot be encrypted (DynamORM refuses encrypted keys)",
               a->attr, is_pk ? "partition" : "sort");
        ok = false;
      }
      if (is_pk) a->roles |= R_PK;
      if (is_sk) a->roles |= R_SK;
    }
    /* One attribute per lifecycle role. */
    const char *const rn[] = {"pk", "sk", "created_at", "updated_at", "version", "ttl"};
    for (unsigned r = 2; r < 6; r++) {
      const dms_attr *first = NULL;
      for (size_t i = 0; i < m->nattrs; i++) {
        if (!(m->attrs[i].roles & (1u << r))) continue;
        if (first) {
          err_at(I, m->attrs[i].node, "role '%s' is given to '%s' and to '%s'; a model has one", rn[r], first->attr,
                 m->attrs[i].attr);
          ok = false;
        } else {
          first = &m->attrs[i];
        }
      }
    }
  }
  if (v[K_INDEXES] && !is_null(v[K_INDEXES])) {
    const yaml_node_t *xn = v[K_INDEXES];
    if (xn->type != YAML_SEQUENCE_NODE) {
      err_at(I, xn, "indexes must be a list, not %s", kind_name(xn));
      ok = false;
    } else if (m->attrs && m->pk.attr) {
      size_t cnt = (size_t)(xn->data.sequence.items.top - xn->data.sequence.items.start);
      m->indexes = arena_alloc(&I->a, (cnt + 1) * sizeof *m->indexes);
      for (yaml_node_item_t *it = xn->data.sequence.items.start; it < xn->data.sequence.items.top; it++) {
        yaml_node_t *x = node(I, *it);
        if (!x) continue;
        dms_index *ix = &m->indexes[m->nindexes];
        if (!parse_index(I, x, m, ix)) {
          ok = false;
          continue;
        }
        if (symtab_put(&I->a, &m->by_index, ix->name, ix)) {
          err_at(I, x, "index \"%s\" is declared twice in model '%s'", ix->name, m->name);
          ok = false;
        }
        m->nindexes++;
      }
    }
  }
  /* index_pk:<name> / index_sk:<name> say what the indexes already say;
   * they must agree, and are then implied by the .dorm indexes. */
  for (size_t i = 0; i < index_roles->n; i++) {
    const index_role *r = index_roles->items[i];
    bool sk = r->role[6] == 's';
    const char *iname = r->role + 9;
    const dms_index *x = symtab_get(&m->by_index, iname);
    const char *key = x ? (sk ? x->sk.attr : x->pk.attr) : NULL;
    if (!x) {
      err_at(I, r->node, "role '%s' names index \"%s\", which model '%s' does not declare", r->role, iname, m->name);
      ok = false;
    } else if (!key || strcmp(key, r->attr->attr) != 0) {
      err_at(I, r->node, "role '%s': the %s key of index \"%s\" is %s%s%s, not '%s'", r->role,
             sk ? "sort" : "partition", iname, key ? "'" : "", key ? key : "absent", key ? "'" : "", r->attr->attr);
      ok = false;
    }
  }
  if (ok) name_fields(I, m);
  return ok;
}

/* Models that share a physical table must agree on its keys and on the
 * indexes they both declare; they become one .dorm table. */
static bool same_key(const dms_key *a, const dms_key *b) {
  if (!a->attr || !b->attr) return !a->attr && !b->attr;
  return strcmp(a->attr, b->attr) == 0 && a->type == b->type;
}

static bool same_index(const dms_index *a, const dms_index *b) {
  if (a->lsi != b->lsi || !same_key(&a->pk, &b->pk) || !same_key(&a->sk, &b->sk) ||
      strcmp(a->projection, b->projection) != 0 || a->ninclude != b->ninclude)
    return false;
  for (size_t i = 0; i < a->ninclude; i++)
    if (strcmp(a->include[i], b->include[i]) != 0) return false;
  return true;
}

/* Models that name the same table share it. Every lookup is by hash: the
 * searches over all models (and all their indexes) made a document of many
 * models cost the square of their number. */
static bool group_tables(imp *I) {
  bool ok = true;
  names decls = {0};
  symtab model_names = {0}, tables = {0};
  for (size_t i = 0; i < I->nmodels; i++) {
    dms_model *m = &I->models[i];
    m->ident = unique_name(I, dms_is_ident(m->name) ? m->name : dms_make_ident(I, m->name, false), &decls);
    if (symtab_put(&I->a, &model_names, m->name, m)) {
      err_at(I, m->node, "model '%s' is declared twice", m->name);
      ok = false;
    }
    vec *group = symtab_get(&tables, m->table);
    if (!group) {
      group = vec_new(&I->a);
      symtab_put(&I->a, &tables, m->table, group);
    }
    vec_push(&I->a, group, m);
  }
  for (size_t i = 0; i < I->nmodels; i++) {
    dms_model *m = &I->models[i];
    const vec *group = symtab_get(&tables, m->table);
    if (group->n < 2 || group->items[0] != m) continue; /* alone, or handled with its table's first model */
    const char *ident = unique_name(I, dms_make_ident(I, m->table, false), &decls);
    const dms_model *owner = m;
    symtab seen = {0}; /* index name -> the first model declaring it */
    for (size_t g = 0; g < group->n; g++) {
      dms_model *o = group->items[g];
      o->table_ident = ident;
      if (!same_key(&o->pk, &owner->pk) || !same_key(&o->sk, &owner->sk)) {
        err_at(I, o->keys_node, "models '%s' and '%s' share table \"%s\" but declare different keys", owner->name,
               o->name, m->table);
        ok = false;
      }
      for (size_t x = 0; x < o->nindexes; x++) {
        const dms_index *ix = &o->indexes[x];
        const char *const parts[] = {ix->pk.attr, ix->sk.attr, o->pk.attr, o->sk.attr};
        for (size_t p = 0; p < 4; p++)
          if (parts[p] && !dms_is_ident(parts[p])) {
            err_at(I, ix->node,
                   "key attribute '%s' of shared table \"%s\" cannot be written in .dorm, whose table keys are "
                   "identifiers",
                   parts[p], m->table);
            ok = false;
            break;
          }
        const dms_model *p = symtab_get(&seen, ix->name);
        if (!p) {
          symtab_put(&I->a, &seen, ix->name, o);
        } else if (p != o && !same_index(symtab_get(&p->by_index, ix->name), ix)) {
          err_at(I, ix->node, "index \"%s\" of table \"%s\" differs between models '%s' and '%s'", ix->name,
                 m->table, p->name, o->name);
          ok = false;
        }
      }
    }
  }
  return ok;
}

static bool parse_document(imp *I) {
  yaml_node_t *root = yaml_document_get_root_node(&I->doc);
  if (!root) {
    yaml_mark_t m = {0};
    err_mark(I, m, "the file is empty: a DMS document starts with dms_version: \"" DORMC_DMS_VERSION "\"");
    return false;
  }
  static const char *const known[] = {"dms_version", "namespace", "models"};
  yaml_node_t *v[3];
  if (!members(I, root, "a DMS document", known, 3, v)) return false;
  if (!required(I, root, v[0], "dms_version", "the document")) return false;
  if (v[0]->type != YAML_SCALAR_NODE || strcmp((const char *)v[0]->data.scalar.value, DORMC_DMS_VERSION) != 0) {
    if (v[0]->type == YAML_SCALAR_NODE)
      err_at(I, v[0], "unsupported DMS version '%.*s'; dormc reads DMS " DORMC_DMS_VERSION,
             (int)(v[0]->data.scalar.length > 32 ? 32 : v[0]->data.scalar.length),
             (const char *)v[0]->data.scalar.value);
    else
      err_at(I, v[0], "dms_version must be \"" DORMC_DMS_VERSION "\", not %s", kind_name(v[0]));
    return false;
  }
  bool ok = true;
  if (v[1] && !is_null(v[1]) && !(I->ns = get_str(I, v[1], "namespace"))) ok = false;
  I->ns_node = v[1];
  if (!required(I, root, v[2], "models", "the document")) return false;
  if (v[2]->type != YAML_SEQUENCE_NODE) {
    err_at(I, v[2], "models must be a list, not %s", kind_name(v[2]));
    return false;
  }
  size_t cnt = (size_t)(v[2]->data.sequence.items.top - v[2]->data.sequence.items.start);
  I->models = arena_alloc(&I->a, (cnt + 1) * sizeof *I->models);
  for (yaml_node_item_t *it = v[2]->data.sequence.items.start; it < v[2]->data.sequence.items.top; it++) {
    yaml_node_t *x = node(I, *it);
    if (!x) continue;
    dms_model *m = &I->models[I->nmodels];
    if (!parse_model(I, x, m)) {
      ok = false;
      continue;
    }
    I->nmodels++;
  }
  return ok && group_tables(I);
}

/* ---- checking what was written ----------------------------------------- */

typedef struct verify_ctx {
  imp *I;
  unsigned errors;
} verify_ctx;

/* A location in the written .dorm text, as the YAML node it was written
 * for. */
static dormc_loc yaml_loc(imp *I, const dormc_loc *gen, const char **text, size_t *len) {
  const yaml_node_t *n = node_of_offset(I, gen->offset);
  yaml_mark_t zero = {0};
  dormc_loc l = n ? mark_loc(I, n->start_mark, n->end_mark) : mark_loc(I, zero, zero);
  *text = line_at(I, l.line, len);
  return l;
}

/* What the checker says about the .dorm made from the document is said at
 * the YAML: the file the user has (the .dorm text exists only in memory),
 * at the entry the construct was written for, with the .dorm line in a
 * note. */
static void forward_diag(const dormc_diagnostic *d, void *user) {
  verify_ctx *v = user;
  imp *I = v->I;
  if (d->severity == DORMC_SEV_ERROR) v->errors++;
  if (!I->on_diag) return;
  if (!d->loc.file) {
    I->on_diag(d, I->diag_user);
    return;
  }
  dormc_diagnostic y = *d;
  y.loc = yaml_loc(I, &d->loc, &y.line_text, &y.line_len);
  enum { MAX_NOTES = 8 };
  dormc_note notes[MAX_NOTES];
  size_t nn = 0;
  char made[200];
  if (d->line_text) {
    size_t skip = 0;
    while (skip < d->line_len && d->line_text[skip] == ' ') skip++;
    snprintf(made, sizeof made, "in the .dorm made from it: %.*s%s", (int)(d->line_len - skip > 160 ? 160 : d->line_len - skip),
             d->line_text + skip, d->line_len - skip > 160 ? "..." : "");
    notes[nn++] = (dormc_note){.loc = y.loc, .message = made};
  }
  for (size_t i = 0; i < d->nnotes && nn < MAX_NOTES; i++) {
    notes[nn] = d->notes[i];
    if (d->notes[i].loc.file) notes[nn].loc = yaml_loc(I, &d->notes[i].loc, &notes[nn].line_text, &notes[nn].line_len);
    nn++;
  }
  y.notes = notes;
  y.nnotes = nn;
  I->on_diag(&y, I->diag_user);
}

/* Checks the written text, reporting at the YAML, then formats it; on
 * success stores the canonical text. A document whose .dorm does not check
 * (e.g. a table with more than 20 GSIs) gets the checker's errors at its
 * own lines. */
static int format_and_check(imp *I, const char *text, size_t len, char **out, size_t *out_len) {
  verify_ctx v = {.I = I};
  dormc_options o = {.on_diag = forward_diag, .diag_user = &v};
  const char *gen_path = arena_printf(&I->a, "%s.dorm", I->path);
  dormc_compilation *c = dormc_new(&o);
  if (!c) return -2;
  int rc = dormc_load_buffer(c, gen_path, text, len);
  if (rc == 0) rc = dormc_analyze(c);
  dormc_free(c);
  I->errors += v.errors;
  if (rc != 0) { /* -2: over the compiler's size limit, reported */
    if (v.errors == 0) {
      yaml_mark_t m = {0};
      err_mark(I, m, "the .dorm made from this document does not check");
    }
    return -1;
  }
  c = dormc_new(&o);
  if (!c) return -2;
  char *formatted = NULL;
  size_t flen = 0;
  rc = dormc_format(c, gen_path, text, len, &formatted, &flen);
  dormc_free(c);
  if (rc != 0) {
    yaml_mark_t m = {0};
    err_mark(I, m, "the .dorm made from this document does not format (a dormc bug; please report it)");
    return -1;
  }
  *out = formatted;
  *out_len = flen;
  return 0;
}

int dormc_dms_import(const dormc_options *opts, const char *path, const char *data, size_t len, char **out,
                     size_t *out_len) {
  imp *I = calloc(1, sizeof *I);
  if (!I) return -2;
  I->path = path ? path : "<dms>";
  I->data = data ? data : "";
  I->len = data ? len : 0;
  if (opts) {
    I->on_diag = opts->on_diag;
    I->diag_user = opts->diag_user;
  }
  arena_init(&I->a, imp_oom, I);
  int rc;
  if (setjmp(I->oom)) {
    rc = -2;
  } else if (I->len > DORMC_DMS_MAX_BYTES) {
    yaml_mark_t m = {0};
    err_mark(I, m,
             "the document is %zu bytes; dormc imports DMS documents of at most %zu MiB (import needs about 40 "
             "times a document's size in memory; 3,000 models of a dozen attributes are about 4 MiB)",
             I->len, DORMC_DMS_MAX_BYTES >> 20);
    rc = -1;
  } else if (!first_pass(I) || !load_tree(I) || !parse_document(I)) {
    rc = -1;
  } else {
    rc = -1;
    bool restore = false;
    for (size_t i = 0; i < I->nmodels; i++) restore |= dms_plan_restore(I, &I->models[i]);
    if (restore) {
      /* Key templates and entity types that dormc exported come back when
       * the result checks; otherwise they stay plain fields. */
      dormc_diag_fn saved = I->on_diag;
      unsigned errors = I->errors;
      I->on_diag = NULL;
      dms_write_dorm(I, &I->out);
      rc = I->out.oom ? -2 : format_and_check(I, I->out.data, I->out.len, out, out_len);
      I->on_diag = saved;
      I->errors = errors;
      if (rc == -1) {
        for (size_t i = 0; i < I->nmodels; i++) dms_forget_restore(&I->models[i]);
        sb_free(&I->out);
        memset(&I->out, 0, sizeof I->out);
      }
    }
    if (rc == -1) {
      dms_write_dorm(I, &I->out);
      rc = I->out.oom ? -2 : format_and_check(I, I->out.data, I->out.len, out, out_len);
    }
  }
  sb_free(&I->out);
  free(I->marks);
  if (I->have_doc) yaml_document_delete(&I->doc);
  arena_release(&I->a);
  free(I);
  return rc;
}
