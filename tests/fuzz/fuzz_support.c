#include "fuzz_support.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The copy ends where an inaccessible page starts: a read past the end
 * faults even in code ASan does not see (cJSON is the system's library).
 * Freed mappings are kept for reuse (mapping per input is slow). */
typedef struct guarded {
  char *base;
  size_t body; /* accessible bytes; a PROT_NONE page follows */
} guarded;
#define HEADER sizeof(guarded)
#define KEEP 4
static guarded kept[KEEP];

char *fuzz_exact_copy(const uint8_t *data, size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  guarded g = {NULL, 0};
  for (size_t i = 0; i < KEEP; i++)
    if (kept[i].base && kept[i].body >= size + HEADER) {
      g = kept[i];
      kept[i].base = NULL;
      break;
    }
  if (!g.base) {
    g.body = (size + HEADER + page - 1) / page * page;
    g.base = mmap(NULL, g.body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.base == MAP_FAILED) abort();
    if (mprotect(g.base + g.body, page, PROT_NONE) != 0) abort();
  }
  char *p = g.base + g.body - size;
  memcpy(p - HEADER, &g, sizeof g);
  if (size) memcpy(p, data, size);
  return p;
}

void fuzz_exact_free(char *p) {
  if (!p) return;
  guarded g;
  memcpy(&g, p - HEADER, sizeof g);
  for (size_t i = 0; i < KEEP; i++)
    if (!kept[i].base) {
      kept[i] = g;
      return;
    }
  munmap(g.base, g.body + (size_t)sysconf(_SC_PAGESIZE));
}

char *fuzz_cstr_copy(const uint8_t *data, size_t size) {
  char *p = malloc(size + 1);
  if (!p) abort();
  if (size) memcpy(p, data, size);
  p[size] = '\0';
  return p;
}

size_t fuzz_av_depth(const dorm_av *v, bool item) {
  size_t deepest = 0, d;
  switch (v->type) {
  case DORM_AV_L:
    for (size_t i = 0; i < v->u.list.count; i++)
      if ((d = fuzz_av_depth(&v->u.list.items[i], false)) > deepest) deepest = d;
    return deepest + 1;
  case DORM_AV_M:
    for (size_t i = 0; i < v->u.map.count; i++)
      if ((d = fuzz_av_depth(&v->u.map.items[i].value, false)) > deepest) deepest = d;
    return item ? deepest : deepest + 1;
  default: return 0;
  }
}

bool fuzz_av_writable(const dorm_av *v) {
  switch (v->type) {
  case DORM_AV_L:
    for (size_t i = 0; i < v->u.list.count; i++)
      if (!fuzz_av_writable(&v->u.list.items[i])) return false;
    return true;
  case DORM_AV_M:
    for (size_t i = 0; i < v->u.map.count; i++) {
      size_t n = v->u.map.items[i].name.len;
      if (n == 0 || n > 65535 || !fuzz_av_writable(&v->u.map.items[i].value)) return false;
    }
    return true;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    for (size_t j = 1; j < v->u.set.count; j++)
      for (size_t i = 0; i < j; i++) {
        dorm_str x = v->u.set.items[i], y = v->u.set.items[j];
        if (v->type == DORM_AV_NS ? dorm_number_equal(x.ptr, x.len, y.ptr, y.len)
                                  : x.len == y.len && (x.len == 0 || memcmp(x.ptr, y.ptr, x.len) == 0))
          return false;
      }
    return true;
  default: return true;
  }
}

static bool same_str(dorm_str a, dorm_str b) { return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0); }

bool fuzz_av_same(const dorm_av *a, const dorm_av *b) {
  if (a->type != b->type) return false;
  switch (a->type) {
  case DORM_AV_S:
  case DORM_AV_N:
  case DORM_AV_B: return same_str(a->u.s, b->u.s);
  case DORM_AV_BOOL: return a->u.boolean == b->u.boolean;
  case DORM_AV_NULL: return true;
  case DORM_AV_SS:
  case DORM_AV_NS:
  case DORM_AV_BS:
    if (a->u.set.count != b->u.set.count) return false;
    for (size_t i = 0; i < a->u.set.count; i++)
      if (!same_str(a->u.set.items[i], b->u.set.items[i])) return false;
    return true;
  case DORM_AV_L:
    if (a->u.list.count != b->u.list.count) return false;
    for (size_t i = 0; i < a->u.list.count; i++)
      if (!fuzz_av_same(&a->u.list.items[i], &b->u.list.items[i])) return false;
    return true;
  case DORM_AV_M:
    if (a->u.map.count != b->u.map.count) return false;
    for (size_t i = 0; i < a->u.map.count; i++)
      if (!same_str(a->u.map.items[i].name, b->u.map.items[i].name) ||
          !fuzz_av_same(&a->u.map.items[i].value, &b->u.map.items[i].value))
        return false;
    return true;
  default: return false;
  }
}

const char *fuzz_show(const char *s, size_t len) {
  static char buf[400];
  size_t o = 0;
  for (size_t i = 0; i < len && o + 8 < sizeof buf; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') buf[o++] = (char)c;
    else o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
  }
  if (o + 8 >= sizeof buf) o += (size_t)snprintf(buf + o, sizeof buf - o, "...");
  buf[o] = '\0';
  return buf;
}
