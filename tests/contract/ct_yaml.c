/* ct_yaml: loading JSON-compatible YAML with libyaml (see ct_yaml.h).
 *
 * Two passes: the event stream first (refusing anchors, aliases, tags,
 * several documents and deep nesting before any tree exists), then
 * libyaml's loader builds the tree, whose mappings are checked for
 * non-scalar and duplicate keys.
 */
#include "ct_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void verrf_at(const ct_yaml *y, size_t line, size_t col, char *err, size_t errcap, const char *fmt,
                     va_list ap) {
  if (!errcap) return;
  int n = snprintf(err, errcap, "%s:%zu:%zu: ", y->path, line + 1, col + 1);
  if (n < 0) n = 0;
  if ((size_t)n < errcap) vsnprintf(err + n, errcap - (size_t)n, fmt, ap);
}

static void errf_mark(const ct_yaml *y, yaml_mark_t m, char *err, size_t errcap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static void errf_mark(const ct_yaml *y, yaml_mark_t m, char *err, size_t errcap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verrf_at(y, m.line, m.column, err, errcap, fmt, ap);
  va_end(ap);
}

void ct_yaml_errf(const ct_yaml *y, const yaml_node_t *n, char *err, size_t errcap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verrf_at(y, n ? n->start_mark.line : 0, n ? n->start_mark.column : 0, err, errcap, fmt, ap);
  va_end(ap);
}

/* Reads the whole file; -1 with errno set on failure. */
static int read_file(const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    errno = e;
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    fclose(f);
    errno = EISDIR;
    return -1;
  }
  if (st.st_size < 0 || (size_t)st.st_size > CT_YAML_MAX_BYTES) {
    fclose(f);
    errno = EFBIG;
    return -1;
  }
  /* One byte more than the file: a read of the whole file is short, so EOF
   * needs no second buffer. */
  size_t cap = (size_t)st.st_size + 2, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    if (n + 1 >= cap) {
      /* The file grew while we read it: take what fits the limit. */
      if (cap > CT_YAML_MAX_BYTES) {
        free(buf);
        fclose(f);
        errno = EFBIG;
        return -1;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        errno = ENOMEM;
        return -1;
      }
      buf = nb;
      cap *= 2;
    }
    size_t want = cap - 1 - n, r = fread(buf + n, 1, want, f);
    n += r;
    if (r < want) break;
  }
  if (ferror(f)) {
    int e = errno ? errno : EIO;
    free(buf);
    fclose(f);
    errno = e;
    return -1;
  }
  fclose(f);
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return 0;
}

static void parser_error(const ct_yaml *y, const yaml_parser_t *p, char *err, size_t errcap) {
  yaml_mark_t m = p->problem_mark;
  if (p->error == YAML_MEMORY_ERROR) {
    snprintf(err, errcap, "%s: out of memory", y->path);
    return;
  }
  if (p->error == YAML_READER_ERROR) {
    /* The reader gives a byte offset only: count lines and characters. */
    m.line = 0;
    m.column = 0;
    for (size_t i = 0; i < p->problem_offset && i < y->len; i++) {
      if (y->data[i] == '\n') m.line++, m.column = 0;
      else if (((unsigned char)y->data[i] & 0xC0) != 0x80) m.column++;
    }
  }
  const char *problem = p->problem ? p->problem : "unknown error";
  if (p->context)
    errf_mark(y, m, err, errcap, "invalid YAML: %s %s", problem, p->context);
  else
    errf_mark(y, m, err, errcap, "invalid YAML: %s", problem);
}

/* The event pass. */
static int check_events(ct_yaml *y, char *err, size_t errcap) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    snprintf(err, errcap, "%s: out of memory", y->path);
    return -1;
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)y->data, y->len);
  int rc = 0, docs = 0, depth = 0;
  for (bool done = false; !done && rc == 0;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev)) {
      parser_error(y, &p, err, errcap);
      rc = -1;
      break;
    }
    const char *anchor = NULL;
    const unsigned char *tag = NULL;
    switch (ev.type) {
    case YAML_DOCUMENT_START_EVENT:
      if (++docs == 2) {
        errf_mark(y, ev.start_mark, err, errcap, "a second YAML document: a file holds one");
        rc = -1;
      }
      break;
    case YAML_ALIAS_EVENT:
      errf_mark(y, ev.start_mark, err, errcap, "aliases (*%s) are not supported", (const char *)ev.data.alias.anchor);
      rc = -1;
      break;
    case YAML_SCALAR_EVENT:
      anchor = (const char *)ev.data.scalar.anchor;
      /* An explicit tag on a plain scalar; quoted scalars carry the implicit "!". */
      if (!ev.data.scalar.plain_implicit && !ev.data.scalar.quoted_implicit) tag = ev.data.scalar.tag;
      if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
        errf_mark(y, ev.start_mark, err, errcap, "a NUL character in a string is not supported");
        rc = -1;
      }
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (ev.type == YAML_SEQUENCE_START_EVENT) {
        anchor = (const char *)ev.data.sequence_start.anchor;
        if (!ev.data.sequence_start.implicit) tag = ev.data.sequence_start.tag;
      } else {
        anchor = (const char *)ev.data.mapping_start.anchor;
        if (!ev.data.mapping_start.implicit) tag = ev.data.mapping_start.tag;
      }
      if (++depth > CT_YAML_MAX_DEPTH) {
        errf_mark(y, ev.start_mark, err, errcap, "nested deeper than %d levels", CT_YAML_MAX_DEPTH);
        rc = -1;
      }
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: depth--; break;
    case YAML_STREAM_END_EVENT: done = true; break;
    default: break;
    }
    if (rc == 0 && anchor) {
      errf_mark(y, ev.start_mark, err, errcap, "anchors (&%s) are not supported", anchor);
      rc = -1;
    } else if (rc == 0 && tag) {
      errf_mark(y, ev.start_mark, err, errcap, "tags (%s) are not supported", (const char *)tag);
      rc = -1;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  if (rc == 0 && docs == 0) {
    snprintf(err, errcap, "%s:1:1: the file is empty", y->path);
    rc = -1;
  }
  return rc;
}

typedef struct keyref {
  const yaml_node_t *node;
} keyref;

static int keyref_cmp(const void *a, const void *b) {
  const yaml_node_t *x = ((const keyref *)a)->node, *y = ((const keyref *)b)->node;
  size_t lx = x->data.scalar.length, ly = y->data.scalar.length;
  int c = memcmp(x->data.scalar.value, y->data.scalar.value, lx < ly ? lx : ly);
  if (c) return c;
  if (lx != ly) return lx < ly ? -1 : 1;
  /* Equal keys: the earlier one first, so the later one is reported. */
  if (x->start_mark.index != y->start_mark.index) return x->start_mark.index < y->start_mark.index ? -1 : 1;
  return 0;
}

/* Mapping keys: scalars, each once. */
static int check_tree(ct_yaml *y, char *err, size_t errcap) {
  for (yaml_node_t *n = y->doc.nodes.start; n < y->doc.nodes.top; n++) {
    if (n->type != YAML_MAPPING_NODE) continue;
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (count == 0) continue;
    keyref *keys = malloc(count * sizeof *keys);
    if (!keys) {
      snprintf(err, errcap, "%s: out of memory", y->path);
      return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
      yaml_node_t *k = yaml_document_get_node(&y->doc, n->data.mapping.pairs.start[i].key);
      if (!k || k->type != YAML_SCALAR_NODE) {
        ct_yaml_errf(y, k ? k : n, err, errcap, "mapping keys must be strings, not %s", k ? ct_yaml_kind(k) : "null");
        rc = -1;
      }
      keys[i].node = k;
    }
    if (rc == 0) {
      qsort(keys, count, sizeof *keys, keyref_cmp);
      for (size_t i = 1; i < count; i++) {
        const yaml_node_t *a = keys[i - 1].node, *b = keys[i].node;
        if (a->data.scalar.length == b->data.scalar.length &&
            memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0) {
          ct_yaml_errf(y, b, err, errcap, "duplicate key \"%s\" (first at line %zu)", (const char *)b->data.scalar.value,
                       a->start_mark.line + 1);
          rc = -1;
          break;
        }
      }
    }
    free(keys);
    if (rc) return rc;
  }
  return 0;
}

int ct_yaml_load(ct_yaml *y, const char *path, char *err, size_t errcap, bool *io_error) {
  memset(y, 0, sizeof *y);
  y->path = path;
  if (io_error) *io_error = false;
  if (read_file(path, &y->data, &y->len) != 0) {
    snprintf(err, errcap, "%s: cannot read: %s", path, errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
    if (io_error) *io_error = true;
    return -1;
  }
  if (check_events(y, err, errcap) != 0) return -1;
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    snprintf(err, errcap, "%s: out of memory", path);
    return -1;
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)y->data, y->len);
  if (!yaml_parser_load(&p, &y->doc)) {
    parser_error(y, &p, err, errcap);
    yaml_parser_delete(&p);
    return -1;
  }
  yaml_parser_delete(&p);
  y->loaded = true;
  if (!yaml_document_get_root_node(&y->doc)) {
    snprintf(err, errcap, "%s:1:1: the file is empty", path);
    return -1;
  }
  return check_tree(y, err, errcap);
}

void ct_yaml_free(ct_yaml *y) {
  if (y->loaded) yaml_document_delete(&y->doc);
  free(y->data);
  y->data = NULL;
  y->loaded = false;
}

yaml_node_t *ct_yaml_root(ct_yaml *y) { return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL; }
yaml_node_t *ct_yaml_node(ct_yaml *y, int id) { return yaml_document_get_node(&y->doc, id); }

bool ct_yaml_is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }
bool ct_yaml_is_plain(const yaml_node_t *n) {
  return ct_yaml_is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}
bool ct_yaml_is_null(const yaml_node_t *n) {
  if (!ct_yaml_is_plain(n)) return false;
  const char *s = (const char *)n->data.scalar.value;
  return n->data.scalar.length == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
         !strcmp(s, "NULL");
}
const char *ct_yaml_text(const yaml_node_t *n) { return ct_yaml_is_scalar(n) ? (const char *)n->data.scalar.value : ""; }
size_t ct_yaml_text_len(const yaml_node_t *n) { return ct_yaml_is_scalar(n) ? n->data.scalar.length : 0; }

const char *ct_yaml_kind(const yaml_node_t *n) {
  if (!n) return "nothing";
  switch (n->type) {
  case YAML_SCALAR_NODE:
    if (ct_yaml_is_null(n)) return "null";
    if (ct_yaml_is_plain(n)) {
      bool b;
      if (ct_yaml_bool(n, &b)) return "a boolean";
      if (ct_yaml_is_number(n)) return "a number";
    }
    return "a string";
  case YAML_SEQUENCE_NODE: return "a list";
  case YAML_MAPPING_NODE: return "a mapping";
  default: return "nothing";
  }
}

bool ct_yaml_bool(const yaml_node_t *n, bool *out) {
  if (!ct_yaml_is_plain(n)) return false;
  const char *s = ct_yaml_text(n);
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
    *out = true;
    return true;
  }
  if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
    *out = false;
    return true;
  }
  return false;
}

bool ct_yaml_int(const yaml_node_t *n, long long *out) {
  if (!ct_yaml_is_plain(n)) return false;
  const char *s = ct_yaml_text(n);
  const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
  if (!*d) return false;
  for (const char *p = d; *p; p++)
    if (*p < '0' || *p > '9') return false;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool ct_yaml_is_number(const yaml_node_t *n) {
  if (!ct_yaml_is_plain(n)) return false;
  const char *p = ct_yaml_text(n);
  if (*p == '-' || *p == '+') p++;
  bool digits = false;
  while (*p >= '0' && *p <= '9') p++, digits = true;
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') p++, digits = true;
  }
  if (!digits) return false;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '-' || *p == '+') p++;
    if (!(*p >= '0' && *p <= '9')) return false;
    while (*p >= '0' && *p <= '9') p++;
  }
  return *p == '\0';
}

size_t ct_yaml_seq_len(const yaml_node_t *n) {
  if (!n || n->type != YAML_SEQUENCE_NODE) return 0;
  return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}
yaml_node_t *ct_yaml_seq_at(ct_yaml *y, const yaml_node_t *n, size_t i) {
  if (i >= ct_yaml_seq_len(n)) return NULL;
  return yaml_document_get_node(&y->doc, n->data.sequence.items.start[i]);
}
size_t ct_yaml_map_len(const yaml_node_t *n) {
  if (!n || n->type != YAML_MAPPING_NODE) return 0;
  return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}
yaml_node_t *ct_yaml_map_key(ct_yaml *y, const yaml_node_t *n, size_t i) {
  if (i >= ct_yaml_map_len(n)) return NULL;
  return yaml_document_get_node(&y->doc, n->data.mapping.pairs.start[i].key);
}
yaml_node_t *ct_yaml_map_value(ct_yaml *y, const yaml_node_t *n, size_t i) {
  if (i >= ct_yaml_map_len(n)) return NULL;
  return yaml_document_get_node(&y->doc, n->data.mapping.pairs.start[i].value);
}

yaml_node_t *ct_yaml_get(ct_yaml *y, const yaml_node_t *map, const char *key) {
  size_t n = ct_yaml_map_len(map), klen = strlen(key);
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *k = ct_yaml_map_key(y, map, i);
    if (ct_yaml_is_scalar(k) && k->data.scalar.length == klen && !memcmp(k->data.scalar.value, key, klen))
      return ct_yaml_map_value(y, map, i);
  }
  return NULL;
}

int ct_yaml_check_keys(ct_yaml *y, const yaml_node_t *map, const char *const *known, const char *what,
                       char *err, size_t errcap) {
  size_t n = ct_yaml_map_len(map);
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *k = ct_yaml_map_key(y, map, i);
    bool ok = false;
    for (size_t j = 0; known[j] && !ok; j++) ok = strcmp(ct_yaml_text(k), known[j]) == 0;
    if (ok) continue;
    char list[512];
    size_t off = 0;
    list[0] = '\0';
    for (size_t j = 0; known[j] && off < sizeof list; j++) {
      int w = snprintf(list + off, sizeof list - off, "%s%s", j ? ", " : "", known[j]);
      if (w < 0) break;
      off += (size_t)w;
    }
    ct_yaml_errf(y, k, err, errcap, "unknown key \"%s\" in %s (known: %s)", ct_yaml_text(k), what, list);
    return -1;
  }
  return 0;
}
