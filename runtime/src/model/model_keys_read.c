/* Fields back from key attributes: an item read from an index that projects
 * only keys (or a projection) lacks the fields its key templates were made
 * of, but the keys still hold their values: PK "CUSTOMER#c1" under the
 * template "CUSTOMER#{customerId}" gives customerId "c1". */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* Finds needle in s[from..len) (returns the offset or len+1 when absent). */
static size_t find(const char *s, size_t len, size_t from, const char *needle, size_t n) {
  if (n == 0) return from;
  for (size_t i = from; i + n <= len; i++)
    if (memcmp(s + i, needle, n) == 0) return i;
  return len + 1;
}

static bool parse_i64(const char *s, size_t n, int64_t *out) {
  if (n == 0 || n > 20) return false;
  char buf[24];
  memcpy(buf, s, n);
  buf[n] = '\0';
  char *end;
  long long v = strtoll(buf, &end, 10);
  if (*end != '\0' || (buf[0] == '0' && n > 1) || (buf[0] == '-' && (n == 1 || buf[1] == '0'))) return false;
  *out = (int64_t)v;
  return true;
}

/* Stores text as the value of field f in obj; false when it does not fit
 * the field's type (the field then stays as it was). */
static bool set_field(const dorm_field_desc *f, const char *s, size_t n, dorm_arena *a, void *obj) {
  char *dst = (char *)obj + f->offset;
  switch (f->type.kind) {
  case DORM_K_STRING: {
    char *copy = dorm_arena_strndup(a, s, n);
    if (!copy) return false;
    memcpy(dst, &copy, sizeof copy);
    return true;
  }
  case DORM_K_INT:
  case DORM_K_EPOCH: {
    int64_t v;
    if (!parse_i64(s, n, &v)) return false;
    memcpy(dst, &v, sizeof v);
    return true;
  }
  case DORM_K_TIME: {
    int64_t ns;
    if (!dorm_time_parse(s, n, &ns)) return false;
    memcpy(dst, &ns, sizeof ns);
    return true;
  }
  case DORM_K_ENUM: {
    const dorm_enum_desc *e = f->type.enum_;
    for (uint32_t i = 0; e && i < e->count; i++)
      if (strlen(e->values[i]) == n && memcmp(e->values[i], s, n) == 0) {
        int v = (int)i + 1;
        memcpy(dst, &v, sizeof v);
        return true;
      }
    return false;
  }
  default:
    return false; /* templates hold scalar fields only */
  }
}

void dorm__model_fields_from_keys(const dorm_model_desc *m, model_item_lookup lookup, const void *item, dorm_arena *a,
                            void *obj) {
  for (uint32_t k = 0; k < m->nkeys; k++) {
    const dorm_key_desc *key = &m->keys[k];
    if (key->field >= 0 || key->nparts == 0) continue;
    dorm_str text = {NULL, 0};
    if (!lookup(item, key->attr, &text) || !text.ptr) continue;
    /* Match the template: literals must be where it says; a field runs to
     * the next literal (or the end). Two fields side by side are ambiguous. */
    struct {
      int32_t field;
      size_t at, len;
    } got[16];
    size_t ngot = 0, pos = 0;
    bool ok = true;
    for (uint32_t p = 0; ok && p < key->nparts; p++) {
      const dorm_tpl_part *part = &key->parts[p];
      if (part->field < 0) {
        ok = pos + part->literal_len <= text.len && memcmp(text.ptr + pos, part->literal, part->literal_len) == 0;
        pos += part->literal_len;
        continue;
      }
      const dorm_tpl_part *next = p + 1 < key->nparts ? &key->parts[p + 1] : NULL;
      if (next && next->field >= 0) {
        ok = false;
        break;
      }
      size_t end = next ? find(text.ptr, text.len, pos, next->literal, next->literal_len) : text.len;
      if (end > text.len || ngot == sizeof got / sizeof got[0]) {
        ok = false;
        break;
      }
      got[ngot].field = part->field;
      got[ngot].at = pos;
      got[ngot].len = end - pos;
      ngot++;
      pos = end;
    }
    if (!ok || pos != text.len) continue;
    for (size_t i = 0; i < ngot; i++) {
      const dorm_field_desc *f = &m->fields[got[i].field];
      /* Only fields the item did not carry itself. */
      dorm_str own;
      if (lookup(item, f->attr[m->naming], &own)) continue;
      set_field(f, text.ptr + got[i].at, got[i].len, a, obj);
    }
  }
}
