/* Small pieces the migration engine's files share: the
 * deterministic JSON printer every migration file is written with, cJSON
 * readers with messages that name the member, hashes and names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "plan_internal.h"

void dorm__mig_json_string(dorm__buf *b, const char *s) {
  dorm__buf_putc(b, '"');
  dorm__json_escape(b, s, strlen(s), 0, NULL); /* bytes from 0x80 up as they are */
  dorm__buf_putc(b, '"');
}

static void json_number(dorm__buf *b, double d) {
  if (isfinite(d) && d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d)
    dorm__buf_printf(b, "%lld", (long long)d);
  else if (isfinite(d)) dorm__buf_printf(b, "%.17g", d);
  else dorm__buf_puts(b, "null");
}

static void json_any(dorm__buf *b, const cJSON *j, int indent, bool pretty) {
  if (cJSON_IsNull(j) || !j) dorm__buf_puts(b, "null");
  else if (cJSON_IsTrue(j)) dorm__buf_puts(b, "true");
  else if (cJSON_IsFalse(j)) dorm__buf_puts(b, "false");
  else if (cJSON_IsNumber(j)) json_number(b, j->valuedouble);
  else if (cJSON_IsString(j)) dorm__mig_json_string(b, j->valuestring ? j->valuestring : "");
  else if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
    bool obj = cJSON_IsObject(j);
    const cJSON *c = j->child;
    if (!c) {
      dorm__buf_puts(b, obj ? "{}" : "[]");
      return;
    }
    /* Arrays of scalars and small objects of scalars stay on one line
     * (include lists, enum values, {"AttributeName": "PK", "KeyType": "HASH"}). */
    bool flat = true;
    size_t width = 0;
    for (const cJSON *e = c; e; e = e->next) {
      if (cJSON_IsArray(e) || cJSON_IsObject(e)) flat = false;
      width += (e->string ? strlen(e->string) + 4 : 0) + (cJSON_IsString(e) ? strlen(e->valuestring) + 4 : 8);
    }
    if (obj && width > 64) flat = false;
    if (!pretty) flat = true;
    dorm__buf_puts(b, obj ? "{" : "[");
    for (const cJSON *e = c; e; e = e->next) {
      if (!flat) dorm__buf_printf(b, "\n%*s", (indent + 1) * 2, "");
      if (obj) {
        dorm__mig_json_string(b, e->string ? e->string : "");
        dorm__buf_puts(b, flat && !pretty ? ":" : ": ");
      }
      json_any(b, e, indent + 1, pretty);
      if (e->next) dorm__buf_puts(b, flat && pretty ? ", " : ",");
    }
    if (!flat) dorm__buf_printf(b, "\n%*s", indent * 2, "");
    dorm__buf_puts(b, obj ? "}" : "]");
  }
}

void dorm__mig_json_pretty(dorm__buf *b, const cJSON *j, int indent) { json_any(b, j, indent, true); }
void dorm__mig_json_compact(dorm__buf *b, const cJSON *j) { json_any(b, j, 0, false); }

void dorm__mr_fail(mig_reader *r, const char *fmt, ...) {
  if (r->status != DORM_OK) return;
  r->status = DORM_ERR_BAD_RESPONSE;
  va_list ap;
  va_start(ap, fmt);
  dorm__vset_err_prefixed(r->errbuf, r->errcap, r->what ? r->what : "json", fmt, ap);
  va_end(ap);
}

static const cJSON *member(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path) {
  if (r->status != DORM_OK || !obj) return NULL;
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);
  if ((!m || cJSON_IsNull(m)) && required) dorm__mr_fail(r, "%s.%s: missing", path, name);
  return cJSON_IsNull(m) ? NULL : m;
}

const char *dorm__mr_str(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path) {
  const cJSON *m = member(r, obj, name, required, path);
  if (!m) return NULL;
  if (!cJSON_IsString(m)) {
    dorm__mr_fail(r, "%s.%s: not a string", path, name);
    return NULL;
  }
  const char *s = dorm_arena_strdup(r->a, m->valuestring);
  if (!s) r->status = DORM_ERR_NO_MEMORY;
  return s;
}

double dorm__mr_num(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path) {
  const cJSON *m = member(r, obj, name, required, path);
  if (!m) return 0;
  if (!cJSON_IsNumber(m)) {
    dorm__mr_fail(r, "%s.%s: not a number", path, name);
    return 0;
  }
  return m->valuedouble;
}

bool dorm__mr_bool(mig_reader *r, const cJSON *obj, const char *name, const char *path) {
  const cJSON *m = member(r, obj, name, false, path);
  if (!m) return false;
  if (!cJSON_IsBool(m)) {
    dorm__mr_fail(r, "%s.%s: not true or false", path, name);
    return false;
  }
  return cJSON_IsTrue(m);
}

const cJSON *dorm__mr_arr(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path) {
  const cJSON *m = member(r, obj, name, required, path);
  if (m && !cJSON_IsArray(m)) {
    dorm__mr_fail(r, "%s.%s: not an array", path, name);
    return NULL;
  }
  return m;
}

const cJSON *dorm__mr_obj(mig_reader *r, const cJSON *obj, const char *name, bool required, const char *path) {
  const cJSON *m = member(r, obj, name, required, path);
  if (m && !cJSON_IsObject(m)) {
    dorm__mr_fail(r, "%s.%s: not an object", path, name);
    return NULL;
  }
  return m;
}

dorm_key_type dorm__mig_key_type_from(const char *s) {
  if (!s) return DORM_KEY_NONE;
  if (strcmp(s, "S") == 0) return DORM_KEY_S;
  if (strcmp(s, "N") == 0) return DORM_KEY_N;
  if (strcmp(s, "B") == 0) return DORM_KEY_B;
  return DORM_KEY_NONE;
}

cJSON *dorm__mj_key_attr(const dorm_key_attr *k) {
  if (!k->name) return cJSON_CreateNull();
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "attribute", k->name);
  cJSON_AddStringToObject(o, "type", dorm_key_type_name(k->type));
  return o;
}

bool dorm__mig_key_attr_read(mig_reader *r, const cJSON *obj, const char *name, dorm_key_attr *out, const char *path) {
  out->name = NULL;
  out->type = DORM_KEY_NONE;
  const cJSON *k = dorm__mr_obj(r, obj, name, false, path);
  if (!k) return r->status == DORM_OK;
  char sub[256];
  snprintf(sub, sizeof sub, "%s.%s", path, name);
  out->name = dorm__mr_str(r, k, "attribute", true, sub);
  const char *t = dorm__mr_str(r, k, "type", true, sub);
  if (r->status != DORM_OK) return false;
  out->type = dorm__mig_key_type_from(t);
  if (out->type == DORM_KEY_NONE) dorm__mr_fail(r, "%s.type: \"%s\" is not S, N or B", sub, t);
  return r->status == DORM_OK;
}

static const char *const kind_names[] = {NULL, "string", "int", "epoch", "time", "enum"};

const char *dorm__mig_kind_name(dorm_mig_kind k) {
  return k >= DORM_MIG_STRING && k <= DORM_MIG_ENUM ? kind_names[k] : "?";
}

dorm_mig_kind dorm__mig_kind_from(const char *s) {
  for (int k = DORM_MIG_STRING; s && k <= DORM_MIG_ENUM; k++)
    if (strcmp(kind_names[k], s) == 0) return (dorm_mig_kind)k;
  return (dorm_mig_kind)0;
}

dorm_stream_view dorm__mig_stream_from(const char *s) {
  for (int v = DORM_STREAM_NONE; s && v <= DORM_STREAM_NEW_AND_OLD_IMAGES; v++)
    if (strcmp(dorm_stream_view_name((dorm_stream_view)v), s) == 0) return (dorm_stream_view)v;
  return (dorm_stream_view)-1;
}

dorm_projection_type dorm__mig_projection_from(const char *s, bool *ok) {
  *ok = true;
  for (int v = DORM_PROJECT_ALL; s && v <= DORM_PROJECT_INCLUDE; v++)
    if (strcmp(dorm_projection_type_name((dorm_projection_type)v), s) == 0) return (dorm_projection_type)v;
  *ok = false;
  return DORM_PROJECT_ALL;
}

void dorm__mj_default(cJSON *obj, const dorm_mig_default *d) {
  if (!d->type) return;
  cJSON *o = cJSON_AddObjectToObject(obj, "default");
  if (strcmp(d->type, "BOOL") == 0) cJSON_AddBoolToObject(o, "BOOL", strcmp(d->value, "true") == 0);
  else cJSON_AddStringToObject(o, d->type, d->value);
}

bool dorm__mig_default_read(mig_reader *r, const cJSON *obj, dorm_mig_default *out, const char *path) {
  const cJSON *d = dorm__mr_obj(r, obj, "default", false, path);
  if (!d) return r->status == DORM_OK;
  const cJSON *v = d->child;
  bool text = v && cJSON_IsString(v) && (strcmp(v->string, "S") == 0 || strcmp(v->string, "N") == 0);
  bool boolean = v && cJSON_IsBool(v) && strcmp(v->string, "BOOL") == 0;
  if (!v || v->next || (!text && !boolean)) {
    dorm__mr_fail(r, "%s.default: expected one of {\"S\": text}, {\"N\": text}, {\"BOOL\": true|false}", path);
    return false;
  }
  out->type = boolean ? "BOOL" : dorm_arena_strdup(r->a, v->string);
  out->value = boolean ? (cJSON_IsTrue(v) ? "true" : "false") : dorm_arena_strdup(r->a, v->valuestring);
  if (!out->type || !out->value) r->status = DORM_ERR_NO_MEMORY;
  return r->status == DORM_OK;
}

cJSON *dorm__mj_parts(const dorm_mig_part *parts, size_t n) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    const dorm_mig_part *p = &parts[i];
    cJSON *o = cJSON_CreateObject();
    if (p->literal) {
      cJSON_AddStringToObject(o, "literal", p->literal);
    } else {
      cJSON_AddStringToObject(o, "field", p->field);
      cJSON_AddStringToObject(o, "attribute", p->attr);
      cJSON_AddStringToObject(o, "kind", dorm__mig_kind_name(p->kind));
      if (p->kind == DORM_MIG_ENUM) {
        cJSON *vals = cJSON_CreateArray();
        for (size_t k = 0; k < p->enum_count; k++) cJSON_AddItemToArray(vals, cJSON_CreateString(p->enum_values[k]));
        cJSON_AddItemToObject(o, "enum_values", vals);
      }
      dorm__mj_default(o, &p->dflt);
    }
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

bool dorm__mig_parts_read(mig_reader *r, const cJSON *arr, dorm_mig_part **parts, size_t *n, const char *path) {
  *parts = NULL;
  *n = 0;
  if (!arr || r->status != DORM_OK) return r->status == DORM_OK;
  size_t count = (size_t)cJSON_GetArraySize(arr);
  dorm_mig_part *ps = dorm_arena_calloc(r->a, count ? count : 1, sizeof *ps);
  if (!ps) {
    r->status = DORM_ERR_NO_MEMORY;
    return false;
  }
  size_t i = 0;
  for (const cJSON *e = arr->child; e && r->status == DORM_OK; e = e->next, i++) {
    char sub[256];
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    dorm_mig_part *p = &ps[i];
    p->literal = dorm__mr_str(r, e, "literal", false, sub);
    if (p->literal) continue;
    p->field = dorm__mr_str(r, e, "field", true, sub);
    p->attr = dorm__mr_str(r, e, "attribute", true, sub);
    const char *kind = dorm__mr_str(r, e, "kind", true, sub);
    if (r->status != DORM_OK) break;
    p->kind = dorm__mig_kind_from(kind);
    if (!dorm__mig_default_read(r, e, &p->dflt, sub)) break;
    if (!p->kind) {
      dorm__mr_fail(r, "%s.kind: \"%s\" is not string, int, epoch, time or enum", sub, kind);
      break;
    }
    if (p->kind == DORM_MIG_ENUM) {
      const cJSON *vals = dorm__mr_arr(r, e, "enum_values", true, sub);
      if (!vals) break;
      size_t nv = (size_t)cJSON_GetArraySize(vals);
      const char **vs = dorm_arena_calloc(r->a, nv ? nv : 1, sizeof *vs);
      if (!vs) {
        r->status = DORM_ERR_NO_MEMORY;
        break;
      }
      size_t k = 0;
      for (const cJSON *v = vals->child; v; v = v->next, k++) {
        if (!cJSON_IsString(v)) {
          dorm__mr_fail(r, "%s.enum_values[%zu]: not a string", sub, k);
          break;
        }
        vs[k] = dorm_arena_strdup(r->a, v->valuestring);
      }
      p->enum_values = vs;
      p->enum_count = nv;
    }
  }
  *parts = ps;
  *n = count;
  return r->status == DORM_OK;
}

void dorm__mig_sha256(const void *data, size_t len, char out[80]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL)) mdlen = 0;
  memcpy(out, "sha256:", 7);
  dorm__hex_encode(md, mdlen, out + 7);
}

void dorm__mig_now_text(char out[32]) { dorm__civil_format_seconds((int64_t)time(NULL), out); }

bool dorm__mig_streq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

bool dorm__mig_key_eq(const dorm_key_attr *a, const dorm_key_attr *b) {
  if (!a->name || !b->name) return !a->name && !b->name;
  return strcmp(a->name, b->name) == 0 && a->type == b->type;
}

bool dorm__mig_projection_eq(const dorm_projection *a, const dorm_projection *b) {
  if (a->type != b->type) return false;
  if (a->type != DORM_PROJECT_INCLUDE) return true;
  if (a->attribute_count != b->attribute_count) return false;
  /* Order does not matter to DynamoDB (and DescribeTable may reorder). */
  for (size_t i = 0; i < a->attribute_count; i++) {
    bool found = false;
    for (size_t k = 0; k < b->attribute_count && !found; k++)
      found = strcmp(a->attributes[i], b->attributes[k]) == 0;
    if (!found) return false;
  }
  return true;
}

const char *dorm__mig_keys_text(dorm_arena *a, const dorm_key_attr *pk, const dorm_key_attr *sk) {
  if (sk && sk->name)
    return dorm_arena_printf(a, "%s %s, %s %s", pk->name ? pk->name : "?", dorm_key_type_name(pk->type), sk->name,
                             dorm_key_type_name(sk->type));
  return dorm_arena_printf(a, "%s %s", pk->name ? pk->name : "?", dorm_key_type_name(pk->type));
}

void dorm__mig_gsi_def(const dorm_mig_table *t, const dorm_mig_index *g, dorm_gsi_def *def) {
  memset(def, 0, sizeof *def);
  def->name = g->name;
  def->pk = g->pk;
  def->sk = g->sk;
  def->projection = g->projection;
  if (t->billing == DORM_BILLING_PROVISIONED) def->throughput = t->throughput;
}

dorm_status dorm__mig_table_def(const dorm_mig_table *t, dorm_arena *a, dorm_table_def *def) {
  memset(def, 0, sizeof *def);
  def->name = t->name;
  def->pk = t->pk;
  def->sk = t->sk;
  def->billing = t->billing;
  if (t->billing == DORM_BILLING_PROVISIONED) def->throughput = t->throughput;
  def->stream = t->stream;
  if (t->gsi_count) {
    dorm_gsi_def *g = dorm_arena_calloc(a, t->gsi_count, sizeof *g);
    if (!g) return DORM_ERR_NO_MEMORY;
    for (size_t i = 0; i < t->gsi_count; i++) dorm__mig_gsi_def(t, &t->gsis[i], &g[i]);
    def->gsis = g;
    def->gsi_count = t->gsi_count;
  }
  if (t->lsi_count) {
    dorm_lsi_def *l = dorm_arena_calloc(a, t->lsi_count, sizeof *l);
    if (!l) return DORM_ERR_NO_MEMORY;
    for (size_t i = 0; i < t->lsi_count; i++) {
      l[i].name = t->lsis[i].name;
      l[i].sk = t->lsis[i].sk;
      l[i].projection = t->lsis[i].projection;
    }
    def->lsis = l;
    def->lsi_count = t->lsi_count;
  }
  return DORM_OK;
}
