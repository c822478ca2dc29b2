/* DMS v0.1 export: the resolved schema as DynamORM's schema contract.
 *
 * The YAML is written by hand: the shape is fixed and small, every string
 * is double-quoted (so nothing is ever read back as a number, a boolean or
 * null), and the key order follows DynamORM's contract files, so the output
 * is deterministic and diffs well against them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dormc_dms.h"
#include "internal.h"

/* Decodes one UTF-8 sequence at s (n bytes left). Returns its length and
 * stores the code point, or returns 0 for an invalid sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((s[0] & 0xE0) == 0xC0) len = 2, min = 0x80, *cp = s[0] & 0x1Fu;
  else if ((s[0] & 0xF0) == 0xE0) len = 3, min = 0x800, *cp = s[0] & 0x0Fu;
  else if ((s[0] & 0xF8) == 0xF0) len = 4, min = 0x10000, *cp = s[0] & 0x07u;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (s[i] & 0x3Fu);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

/* YAML's printable set (YAML 1.2, 5.1); everything else is escaped. */
static bool yaml_printable(uint32_t cp) {
  return (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 || (cp >= 0xA0 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* A double-quoted YAML scalar. Invalid UTF-8 (which a checked schema does
 * not contain) becomes U+FFFD rather than an unreadable document. */
static void put_q(strbuf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  sb_putc(b, '"');
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t len = utf8_decode(p + i, n - i, &cp);
    if (len == 0) {
      sb_puts(b, "\\uFFFD");
      i++;
      continue;
    }
    if (cp == '"') sb_puts(b, "\\\"");
    else if (cp == '\\') sb_puts(b, "\\\\");
    else if (cp == '\n') sb_puts(b, "\\n");
    else if (cp == '\t') sb_puts(b, "\\t");
    else if (cp == '\r') sb_puts(b, "\\r");
    else if (!yaml_printable(cp)) sb_printf(b, cp > 0xFFFF ? "\\U%08X" : "\\u%04X", (unsigned)cp);
    else sb_append(b, s + i, len);
    i += len;
  }
  sb_putc(b, '"');
}

static void put_key_attr(strbuf *b, const char *indent, const char *member, const char *attr, dormc_key_type t) {
  sb_printf(b, "%s%s: { attribute: ", indent, member);
  put_q(b, attr);
  sb_printf(b, ", type: \"%s\" }\n", dormc_key_type_str(t));
}

static const char *projection_name(dormc_projection p) {
  switch (p) {
  case DORMC_PROJECT_ALL: return "ALL";
  case DORMC_PROJECT_KEYS_ONLY: return "KEYS_ONLY";
  case DORMC_PROJECT_INCLUDE: return "INCLUDE";
  }
  return "ALL";
}

/* The attribute entry of a key attribute computed by a template: always a
 * required string. The template itself travels in tags, which DMS readers
 * ignore, so a DynamORM user can see how the key is built. */
static void put_template_attr(strbuf *b, const dormc_model *m, const dormc_key_binding *kb) {
  sb_puts(b, "      - attribute: ");
  put_q(b, kb->attr);
  sb_puts(b, "\n        type: \"S\"\n        required: true\n");
  if (kb == m->pk) sb_puts(b, "        roles: [\"pk\"]\n");
  else if (kb == m->sk) sb_puts(b, "        roles: [\"sk\"]\n");
  sb_puts(b, "        tags: { \"dorm.template\": ");
  put_q(b, kb->template_text ? kb->template_text : "");
  sb_puts(b, " }\n");
}

static void put_field_attr(strbuf *b, const dormc_model *m, const dormc_field *f) {
  sb_puts(b, "      - attribute: ");
  put_q(b, f->attr);
  sb_printf(b, "\n        type: \"%s\"\n", dormc_type_ddb(&f->type));
  const char *format = dormc_type_dms_format(&f->type);
  if (format) sb_printf(b, "        format: \"%s\"\n", format);
  bool is_pk = (f->roles & DORMC_ROLE_PK) || (m->pk && m->pk->field == f);
  bool is_sk = (f->roles & DORMC_ROLE_SK) || (m->sk && m->sk->field == f);
  /* The library fills lifecycle fields itself, so DynamORM's contract marks
   * them neither required nor optional; every other non-optional field must
   * be present in every item. */
  unsigned lifecycle = DORMC_ROLE_CREATED_AT | DORMC_ROLE_UPDATED_AT | DORMC_ROLE_VERSION;
  if (f->optional) sb_puts(b, "        optional: true\n");
  else if (is_pk || is_sk || !(f->roles & lifecycle)) sb_puts(b, "        required: true\n");
  const char *roles[6];
  size_t nroles = 0;
  if (is_pk) roles[nroles++] = "pk";
  if (is_sk) roles[nroles++] = "sk";
  if (f->roles & DORMC_ROLE_CREATED_AT) roles[nroles++] = "created_at";
  if (f->roles & DORMC_ROLE_UPDATED_AT) roles[nroles++] = "updated_at";
  if (f->roles & DORMC_ROLE_VERSION) roles[nroles++] = "version";
  if (f->roles & DORMC_ROLE_TTL) roles[nroles++] = "ttl";
  if (nroles) {
    sb_puts(b, "        roles: [");
    for (size_t i = 0; i < nroles; i++) sb_printf(b, "%s\"%s\"", i ? ", " : "", roles[i]);
    sb_puts(b, "]\n");
  }
  if (f->omit_empty) sb_puts(b, "        omit_empty: true\n");
  if (f->type.kind == DORMC_T_JSON) sb_puts(b, "        json: true\n");
  /* DMS v0.1 says only that the attribute is an envelope of version 1; the
   * KMS key is configuration, as in DynamORM. */
  if (f->encrypted) sb_puts(b, "        encryption:\n          v: 1\n");
}

static void put_index(strbuf *b, const dormc_index *x) {
  sb_puts(b, "      - name: ");
  put_q(b, x->name);
  sb_printf(b, "\n        type: \"%s\"\n", x->kind == DORMC_GSI ? "GSI" : "LSI");
  if (x->pk.attr) put_key_attr(b, "        ", "partition", x->pk.attr, x->pk.type);
  if (x->sk.attr) put_key_attr(b, "        ", "sort", x->sk.attr, x->sk.type);
  sb_printf(b, "        projection: { type: \"%s\"", projection_name(x->projection));
  if (x->projection == DORMC_PROJECT_INCLUDE) {
    sb_puts(b, ", fields: [");
    for (size_t i = 0; i < x->ninclude; i++) {
      if (i) sb_puts(b, ", ");
      put_q(b, x->include[i]);
    }
    sb_putc(b, ']');
  }
  sb_puts(b, " }\n");
}

static bool lower(char c) { return c >= 'a' && c <= 'z'; }
static bool digit(char c) { return c >= '0' && c <= '9'; }

bool dormc_dms_name_follows(const char *attr, bool snake_case) {
  if (!attr || !lower(*attr)) return !snake_case && attr && (!strcmp(attr, "PK") || !strcmp(attr, "SK"));
  for (const char *p = attr + 1; *p; p++) {
    if (lower(*p) || digit(*p)) continue;
    if (!snake_case && *p >= 'A' && *p <= 'Z') continue;
    /* snake_case: one '_' between runs of lower-case letters and digits */
    if (snake_case && *p == '_' && (lower(p[1]) || digit(p[1]))) continue;
    return false;
  }
  return true;
}

/* Whether every attribute the model exports follows its naming convention:
 * DMS readers validate the names against a declared convention, so a model
 * whose names do not follow it (GSI1PK, _type, customer_note under
 * camelCase) declares none; DMS says the document is explicit anyway, every
 * attribute named as stored. */
static bool names_follow(const dormc_model *m) {
  bool snake = m->naming == DORMC_NAMING_SNAKE;
  if (m->entity_type && !dormc_dms_name_follows("_type", snake)) return false;
  for (size_t i = 0; i < m->nbindings; i++)
    if (!m->bindings[i].field && !dormc_dms_name_follows(m->bindings[i].attr, snake)) return false;
  for (size_t i = 0; i < m->nfields; i++)
    if (!dormc_dms_name_follows(m->fields[i].attr, snake)) return false;
  return true;
}

static void put_model(strbuf *b, const dormc_model *m) {
  const dormc_table *t = m->table;
  sb_puts(b, "  - name: ");
  put_q(b, m->name);
  sb_puts(b, "\n    table:\n      name: ");
  put_q(b, t ? t->physical_name : "");
  sb_putc(b, '\n');
  if (names_follow(m))
    sb_printf(b, "    naming:\n      convention: \"%s\"\n", m->naming == DORMC_NAMING_SNAKE ? "snake_case" : "camelCase");
  if (t && t->pk.attr) {
    sb_puts(b, "    keys:\n");
    put_key_attr(b, "      ", "partition", t->pk.attr, t->pk.type);
    if (t->sk.attr) put_key_attr(b, "      ", "sort", t->sk.attr, t->sk.type);
  }
  size_t nattrs = m->nfields + (m->entity_type ? 1 : 0);
  for (size_t i = 0; i < m->nbindings; i++)
    if (!m->bindings[i].field) nattrs++;
  /* A checked model always has key attributes; keep the YAML valid anyway. */
  sb_puts(b, nattrs ? "    attributes:\n" : "    attributes: []\n");
  for (size_t i = 0; i < m->nbindings; i++)
    if (!m->bindings[i].field) put_template_attr(b, m, &m->bindings[i]);
  if (m->entity_type) {
    /* DynamORM has no entity types: to it, "_type" is a plain required
     * string that this model always writes with the same value. */
    sb_puts(b, "      - attribute: \"_type\"\n        type: \"S\"\n        required: true\n");
    sb_puts(b, "        tags: { \"dorm.entity_type\": ");
    put_q(b, m->entity_type);
    sb_puts(b, " }\n");
  }
  for (size_t i = 0; i < m->nfields; i++) put_field_attr(b, m, &m->fields[i]);
  if (m->nindexes) {
    sb_puts(b, "    indexes:\n");
    for (size_t i = 0; i < m->nindexes; i++) put_index(b, m->indexes[i]);
  }
}

char *dormc_dms_export(const dormc_schema *s, size_t *len) {
  strbuf b = {0};
  sb_puts(&b, "dms_version: \"" DORMC_DMS_VERSION "\"\n");
  if (s->namespace_) {
    sb_puts(&b, "namespace: ");
    put_q(&b, s->namespace_);
    sb_putc(&b, '\n');
  }
  if (s->nmodels == 0) {
    sb_puts(&b, "models: []\n");
  } else {
    sb_puts(&b, "models:\n");
    for (size_t i = 0; i < s->nmodels; i++) put_model(&b, &s->models[i]);
  }
  if (b.oom) {
    sb_free(&b);
    return NULL;
  }
  size_t n = 0;
  char *text = sb_take(&b, &n);
  if (len) *len = n;
  return text;
}
