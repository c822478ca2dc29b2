/* ct_values: YAML values typed by model field types, contract equality,
 * and values as text (see ct_values.h). */
#include "ct_values.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ct_type_dynamo_name(const dorm_type_desc *t) {
  switch (t->kind) {
  case DORM_K_STRING:
  case DORM_K_TIME:
  case DORM_K_JSON:
  case DORM_K_ENUM: return "S";
  case DORM_K_INT:
  case DORM_K_FLOAT:
  case DORM_K_DECIMAL:
  case DORM_K_EPOCH: return "N";
  case DORM_K_BOOL: return "BOOL";
  case DORM_K_BYTES: return "B";
  case DORM_K_SET:
    if (t->elem && t->elem->kind == DORM_K_BYTES) return "BS";
    if (t->elem && !strcmp(ct_type_dynamo_name(t->elem), "N")) return "NS";
    return "SS";
  case DORM_K_LIST: return "L";
  case DORM_K_MAP:
  case DORM_K_STRUCT: return "M";
  default: return "?";
  }
}

static int b64_digit(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Standard base64 with padding into the arena; false when malformed. */
static bool b64_decode(const char *s, size_t len, dorm_arena *a, const char **out, size_t *outlen) {
  if (len % 4) return false;
  char *buf = dorm_arena_alloc(a, len / 4 * 3 + 1);
  if (!buf) return false;
  size_t n = 0;
  for (size_t i = 0; i < len; i += 4) {
    int d[4];
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      unsigned char c = (unsigned char)s[i + (size_t)k];
      if (c == '=' && i + 4 == len && k >= 2) {
        d[k] = 0;
        pad++;
      } else {
        if (pad) return false;
        d[k] = b64_digit(c);
        if (d[k] < 0) return false;
      }
    }
    unsigned v = (unsigned)d[0] << 18 | (unsigned)d[1] << 12 | (unsigned)d[2] << 6 | (unsigned)d[3];
    buf[n++] = (char)(v >> 16);
    if (pad < 2) buf[n++] = (char)(v >> 8 & 0xff);
    if (pad < 1) buf[n++] = (char)(v & 0xff);
  }
  *out = buf;
  *outlen = n;
  return true;
}

typedef struct conv {
  ct_yaml *y;
  int naming;
  const char *what;
  dorm_arena *a;
  char *err;
  size_t errcap;
} conv;

static int fail(conv *c, const yaml_node_t *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(conv *c, const yaml_node_t *n, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ct_yaml_errf(c->y, n, c->err, c->errcap, "%s: %s", c->what, msg);
  return -1;
}

static int oom(conv *c, const yaml_node_t *n) { return fail(c, n, "out of memory"); }

static int scalar_text(conv *c, const yaml_node_t *n, const char *want, dorm_av *out) {
  if (!ct_yaml_is_scalar(n) || ct_yaml_is_null(n)) return fail(c, n, "expected %s, got %s", want, ct_yaml_kind(n));
  /* Copies: the values outlive the YAML document. */
  if (dorm_av_str_copy(c->a, ct_yaml_text(n), ct_yaml_text_len(n), out) != DORM_OK) return oom(c, n);
  return 0;
}

static int number(conv *c, const yaml_node_t *n, dorm_av *out) {
  if (!ct_yaml_is_scalar(n) || ct_yaml_is_null(n)) return fail(c, n, "expected a number, got %s", ct_yaml_kind(n));
  char why[128];
  if (dorm_number_check(ct_yaml_text(n), ct_yaml_text_len(n), why, sizeof why) != DORM_OK)
    return fail(c, n, "expected a number, got \"%s\" (%s)", ct_yaml_text(n), why);
  if (dorm_av_str_copy(c->a, ct_yaml_text(n), ct_yaml_text_len(n), out) != DORM_OK) return oom(c, n);
  out->type = DORM_AV_N;
  return 0;
}

static int convert(conv *c, const yaml_node_t *n, const dorm_type_desc *t, dorm_av *out);

static int elements(conv *c, const yaml_node_t *n, const dorm_type_desc *t, dorm_av *out) {
  size_t count = ct_yaml_seq_len(n);
  bool set = t->kind == DORM_K_SET;
  const char *tn = ct_type_dynamo_name(t);
  *out = dorm_av_empty(set ? (!strcmp(tn, "BS") ? DORM_AV_BS : !strcmp(tn, "NS") ? DORM_AV_NS : DORM_AV_SS)
                           : DORM_AV_L);
  if (count && dorm_av_reserve(c->a, out, count) != DORM_OK) return oom(c, n);
  for (size_t i = 0; i < count; i++) {
    const yaml_node_t *e = ct_yaml_seq_at(c->y, n, i);
    dorm_av v;
    if (ct_yaml_is_null(e)) {
      if (set || !t->elem->optional) return fail(c, e, "element %zu: null is not allowed here", i);
      v = dorm_av_null();
    } else if (convert(c, e, t->elem, &v) != 0) {
      return -1;
    }
    if (set) {
      if (dorm_av_set_add(c->a, out, v.u.s.ptr, v.u.s.len) != DORM_OK) return oom(c, e);
    } else {
      dorm_av *slot = dorm_av_list_push(c->a, out);
      if (!slot) return oom(c, e);
      *slot = v;
    }
  }
  return 0;
}

static int mapping(conv *c, const yaml_node_t *n, const dorm_type_desc *t, dorm_av *out) {
  size_t count = ct_yaml_map_len(n);
  *out = dorm_av_empty(DORM_AV_M);
  if (count && dorm_av_reserve(c->a, out, count) != DORM_OK) return oom(c, n);
  for (size_t i = 0; i < count; i++) {
    const yaml_node_t *k = ct_yaml_map_key(c->y, n, i), *v = ct_yaml_map_value(c->y, n, i);
    const dorm_type_desc *vt = t->elem;
    if (t->kind == DORM_K_STRUCT) {
      vt = NULL;
      for (uint32_t f = 0; f < t->struct_->nfields && !vt; f++) {
        const dorm_field_desc *fd = &t->struct_->fields[f];
        if (!strcmp(fd->attr[c->naming ? 1 : 0], ct_yaml_text(k))) vt = &fd->type;
      }
      if (!vt) return fail(c, k, "%s has no attribute \"%s\"", t->struct_->name, ct_yaml_text(k));
      if (ct_yaml_is_null(v)) continue; /* absent member */
    }
    dorm_av val;
    if (ct_yaml_is_null(v)) {
      if (!vt->optional) return fail(c, v, "\"%s\": null is not allowed here", ct_yaml_text(k));
      val = dorm_av_null();
    } else if (convert(c, v, vt, &val) != 0) {
      return -1;
    }
    const char *name = dorm_arena_strndup(c->a, ct_yaml_text(k), ct_yaml_text_len(k));
    dorm_av *slot = name ? dorm_av_map_add(c->a, out, name, ct_yaml_text_len(k)) : NULL;
    if (!slot) return oom(c, k);
    *slot = val;
  }
  return 0;
}

static int convert(conv *c, const yaml_node_t *n, const dorm_type_desc *t, dorm_av *out) {
  switch (t->kind) {
  case DORM_K_STRING:
  case DORM_K_ENUM:
  case DORM_K_JSON: return scalar_text(c, n, "a string", out);
  case DORM_K_TIME: {
    int64_t ns;
    if (scalar_text(c, n, "an RFC 3339 time", out) != 0) return -1;
    if (!dorm_time_parse(out->u.s.ptr, out->u.s.len, &ns))
      return fail(c, n, "expected an RFC 3339 time, got \"%s\"", ct_yaml_text(n));
    return 0;
  }
  case DORM_K_INT:
  case DORM_K_FLOAT:
  case DORM_K_DECIMAL:
  case DORM_K_EPOCH: return number(c, n, out);
  case DORM_K_BOOL: {
    bool b;
    if (!ct_yaml_bool(n, &b)) return fail(c, n, "expected true or false, got %s", ct_yaml_kind(n));
    *out = dorm_av_bool(b);
    return 0;
  }
  case DORM_K_BYTES: {
    if (!ct_yaml_is_scalar(n) || ct_yaml_is_null(n)) return fail(c, n, "expected base64 text, got %s", ct_yaml_kind(n));
    const char *data;
    size_t len;
    if (!b64_decode(ct_yaml_text(n), ct_yaml_text_len(n), c->a, &data, &len))
      return fail(c, n, "expected base64 text, got \"%s\"", ct_yaml_text(n));
    *out = dorm_av_bytes(data, len);
    return 0;
  }
  case DORM_K_SET:
  case DORM_K_LIST:
    if (n->type != YAML_SEQUENCE_NODE) return fail(c, n, "expected a list, got %s", ct_yaml_kind(n));
    return elements(c, n, t, out);
  case DORM_K_MAP:
  case DORM_K_STRUCT:
    if (n->type != YAML_MAPPING_NODE) return fail(c, n, "expected a mapping, got %s", ct_yaml_kind(n));
    return mapping(c, n, t, out);
  default: return fail(c, n, "unsupported field type %u", (unsigned)t->kind);
  }
}

int ct_value_from_yaml(ct_yaml *y, const yaml_node_t *n, const dorm_type_desc *t, int naming, const char *what,
                       dorm_arena *a, dorm_av *out, char *err, size_t errcap) {
  conv c = {y, naming, what, a, err, errcap};
  return convert(&c, n, t, out);
}

bool ct_value_equal(const dorm_type_desc *t, const dorm_av *want, const dorm_av *have) {
  if (!want || !have) return want == have;
  if (t && t->kind == DORM_K_TIME && want->type == DORM_AV_S && have->type == DORM_AV_S) {
    int64_t a, b;
    if (dorm_time_parse(want->u.s.ptr, want->u.s.len, &a) && dorm_time_parse(have->u.s.ptr, have->u.s.len, &b))
      return a == b;
  }
  return dorm_av_equal(want, have);
}

/* ---- text ---- */

typedef struct tbuf {
  char *p;
  size_t len, cap;
  bool full;
} tbuf;

static void put(tbuf *b, const char *s, size_t n) {
  if (b->full) return;
  /* Keep room for "..." and the NUL. */
  if (b->len + n + 4 > b->cap) {
    size_t room = b->cap > b->len + 4 ? b->cap - b->len - 4 : 0;
    memcpy(b->p + b->len, s, room);
    b->len += room;
    memcpy(b->p + b->len, "...", 3);
    b->len += 3;
    b->full = true;
    return;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}
static void puts_(tbuf *b, const char *s) { put(b, s, strlen(s)); }

static void quoted(tbuf *b, const char *s, size_t n) {
  puts_(b, "\"");
  for (size_t i = 0; i < n && !b->full; i++) {
    unsigned char ch = (unsigned char)s[i];
    char esc[8];
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\', esc[1] = (char)ch;
      put(b, esc, 2);
    } else if (ch < 0x20 || ch == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", ch);
      puts_(b, esc);
    } else {
      put(b, (const char *)&s[i], 1);
    }
  }
  puts_(b, "\"");
}

static void text(tbuf *b, const dorm_av *v, int depth) {
  if (depth > 32) {
    puts_(b, "...");
    return;
  }
  char num[64];
  switch (v->type) {
  case DORM_AV_S: quoted(b, v->u.s.ptr, v->u.s.len); break;
  case DORM_AV_N: put(b, v->u.s.ptr, v->u.s.len); break;
  case DORM_AV_B:
    snprintf(num, sizeof num, "<%zu bytes>", v->u.s.len);
    puts_(b, num);
    break;
  case DORM_AV_BOOL: puts_(b, v->u.boolean ? "true" : "false"); break;
  case DORM_AV_NULL: puts_(b, "null"); break;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    puts_(b, "[");
    for (size_t i = 0; i < v->u.set.count && !b->full; i++) {
      if (i) puts_(b, ", ");
      if (v->type == DORM_AV_SS) quoted(b, v->u.set.items[i].ptr, v->u.set.items[i].len);
      else if (v->type == DORM_AV_NS) put(b, v->u.set.items[i].ptr, v->u.set.items[i].len);
      else {
        snprintf(num, sizeof num, "<%zu bytes>", v->u.set.items[i].len);
        puts_(b, num);
      }
    }
    puts_(b, "]");
    break;
  case DORM_AV_L:
    puts_(b, "[");
    for (size_t i = 0; i < v->u.list.count && !b->full; i++) {
      if (i) puts_(b, ", ");
      text(b, &v->u.list.items[i], depth + 1);
    }
    puts_(b, "]");
    break;
  case DORM_AV_M:
    puts_(b, "{");
    for (size_t i = 0; i < v->u.map.count && !b->full; i++) {
      if (i) puts_(b, ", ");
      quoted(b, v->u.map.items[i].name.ptr, v->u.map.items[i].name.len);
      puts_(b, ": ");
      text(b, &v->u.map.items[i].value, depth + 1);
    }
    puts_(b, "}");
    break;
  default: puts_(b, "(invalid)"); break;
  }
}

void ct_value_text(const dorm_av *v, char *buf, size_t cap) {
  if (!cap) return;
  if (cap < 8) {
    buf[0] = '\0';
    return;
  }
  tbuf b = {buf, 0, cap, false};
  if (!v) puts_(&b, "(absent)");
  else text(&b, v, 0);
  buf[b.len] = '\0';
}
