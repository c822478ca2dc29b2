#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_internal.h"

/* Shared config files are small; anything this big is a mistake (or /dev/zero). */
#define INI_MAX_BYTES (16u * 1024u * 1024u)

static bool is_blank(char c) { return c == ' ' || c == '\t'; }
static bool is_comment_char(char c) { return c == '#' || c == ';'; }

static char *dup_range(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static void trim(const char **s, size_t *n) {
  while (*n > 0 && is_blank(**s)) { (*s)++; (*n)--; }
  while (*n > 0 && is_blank((*s)[*n - 1])) (*n)--;
}

/* Cuts an inline comment: in property lines only a '#'/';' after whitespace
 * counts, so values such as base64 keys or URLs with '#' survive. */
static void cut_comment(const char *s, size_t *n, bool need_blank_before) {
  for (size_t i = 0; i < *n; i++) {
    if (is_comment_char(s[i]) && (!need_blank_before || (i > 0 && is_blank(s[i - 1])))) {
      *n = i;
      return;
    }
  }
}

typedef struct parser {
  dorm_ini *ini;
  dorm_ini_section *sec;  /* current section */
  size_t prop_index;      /* current property in sec, or SIZE_MAX */
  bool prop_has_subs;     /* current property was "key =" (sub-properties follow) */
  int line;
  char *errbuf;
  size_t errcap;
} parser;

static dorm_status syntax(parser *p, const char *fmt, const char *detail) {
  char what[256];
  snprintf(what, sizeof what, fmt, detail ? detail : "");
  dorm__set_err(p->errbuf, p->errcap, "%s:%d: %s", p->ini->path, p->line, what);
  return DORM_ERR_CONFIG;
}

static dorm_status oom(parser *p) {
  dorm__set_err(p->errbuf, p->errcap, "%s: out of memory while parsing", p->ini->path);
  return DORM_ERR_NO_MEMORY;
}

static void free_prop(dorm_ini_prop *pr) {
  for (size_t i = 0; i < pr->nsub; i++) free_prop(&pr->sub[i]);
  free(pr->sub);
  free(pr->key);
  free(pr->value);
}

/* Sets key = value in an array of properties; a repeated key replaces the old
 * value (the SDKs keep the last one). Returns the property, NULL on OOM. */
static dorm_ini_prop *put_prop(dorm_ini_prop **arr, size_t *n, size_t *cap, const char *key,
                               size_t klen, const char *val, size_t vlen, int line) {
  char *k = dup_range(key, klen);
  char *v = dup_range(val, vlen);
  if (!k || !v) { free(k); free(v); return NULL; }
  for (char *c = k; *c; c++) *c = (char)tolower((unsigned char)*c);
  for (size_t i = 0; i < *n; i++) {
    if (strcmp((*arr)[i].key, k) == 0) {
      dorm_ini_prop *pr = &(*arr)[i];
      free(k);
      free(pr->value);
      for (size_t j = 0; j < pr->nsub; j++) free_prop(&pr->sub[j]);
      pr->nsub = 0;
      pr->value = v;
      pr->line = line;
      return pr;
    }
  }
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    dorm_ini_prop *bigger = realloc(*arr, nc * sizeof **arr);
    if (!bigger) { free(k); free(v); return NULL; }
    *arr = bigger;
    *cap = nc;
  }
  dorm_ini_prop *pr = &(*arr)[(*n)++];
  memset(pr, 0, sizeof *pr);
  pr->key = k;
  pr->value = v;
  pr->line = line;
  return pr;
}

/* Splits "key = value" (comment already cut). Returns false with a message
 * when there is no '=' or no key. */
static dorm_status split_kv(parser *p, const char *s, size_t n, const char *what,
                            const char **k, size_t *kl, const char **v, size_t *vl) {
  const char *eq = memchr(s, '=', n);
  if (!eq) return syntax(p, "expected '%s = value'", what);
  *k = s;
  *kl = (size_t)(eq - s);
  *v = eq + 1;
  *vl = n - *kl - 1;
  trim(k, kl);
  trim(v, vl);
  if (*kl == 0) return syntax(p, "%s has no name before '='", what);
  return DORM_OK;
}

static dorm_status section_line(parser *p, const char *s, size_t n) {
  cut_comment(s, &n, false);
  trim(&s, &n);
  if (n < 2 || s[n - 1] != ']') return syntax(p, "section header must end with ']'", NULL);
  const char *name = s + 1;
  size_t nl = n - 2;
  trim(&name, &nl);
  if (nl == 0) return syntax(p, "empty section name '[]'", NULL);
  if (memchr(name, '[', nl) || memchr(name, ']', nl)) return syntax(p, "bad section header", NULL);
  p->prop_index = SIZE_MAX;
  p->prop_has_subs = false;
  for (size_t i = 0; i < p->ini->nsections; i++) {
    dorm_ini_section *sec = &p->ini->sections[i];
    if (strlen(sec->name) == nl && memcmp(sec->name, name, nl) == 0) {
      p->sec = sec; /* a repeated section continues the first one */
      return DORM_OK;
    }
  }
  dorm_ini *ini = p->ini;
  if (ini->nsections == ini->seccap) {
    size_t nc = ini->seccap ? ini->seccap * 2 : 8;
    dorm_ini_section *bigger = realloc(ini->sections, nc * sizeof *bigger);
    if (!bigger) return oom(p);
    ini->sections = bigger;
    ini->seccap = nc;
  }
  dorm_ini_section *sec = &ini->sections[ini->nsections];
  memset(sec, 0, sizeof *sec);
  sec->name = dup_range(name, nl);
  if (!sec->name) return oom(p);
  sec->line = p->line;
  ini->nsections++;
  p->sec = sec;
  return DORM_OK;
}

static dorm_status property_line(parser *p, const char *s, size_t n) {
  if (!p->sec) return syntax(p, "expected a section header such as [default] before the first property", NULL);
  cut_comment(s, &n, true);
  trim(&s, &n);
  const char *k, *v;
  size_t kl, vl;
  dorm_status st = split_kv(p, s, n, "key", &k, &kl, &v, &vl);
  if (st != DORM_OK) return st;
  dorm_ini_prop *pr = put_prop(&p->sec->props, &p->sec->nprops, &p->sec->propcap, k, kl, v, vl, p->line);
  if (!pr) return oom(p);
  p->prop_index = (size_t)(pr - p->sec->props);
  p->prop_has_subs = vl == 0;
  return DORM_OK;
}

static dorm_status continuation_line(parser *p, const char *s, size_t n) {
  dorm_ini_prop *pr = &p->sec->props[p->prop_index];
  if (p->prop_has_subs) {
    cut_comment(s, &n, true);
    trim(&s, &n);
    if (n == 0) return DORM_OK;
    const char *k, *v;
    size_t kl, vl;
    dorm_status st = split_kv(p, s, n, "sub-property", &k, &kl, &v, &vl);
    if (st != DORM_OK) return st;
    if (!put_prop(&pr->sub, &pr->nsub, &pr->subcap, k, kl, v, vl, p->line)) return oom(p);
    return DORM_OK;
  }
  trim(&s, &n);
  size_t old = strlen(pr->value);
  char *joined = realloc(pr->value, old + 1 + n + 1);
  if (!joined) return oom(p);
  joined[old] = '\n';
  memcpy(joined + old + 1, s, n);
  joined[old + 1 + n] = '\0';
  pr->value = joined;
  return DORM_OK;
}

static dorm_status parse_line(parser *p, const char *s, size_t n) {
  size_t i = 0;
  while (i < n && is_blank(s[i])) i++;
  if (i == n || is_comment_char(s[i])) return DORM_OK;
  if (i == 0 && s[0] == '[') return section_line(p, s, n);
  /* An indented first line of a section is an ordinary property (as the
   * Python CLI reads it); after a property, indentation continues it. */
  if (i > 0 && p->sec && p->prop_index != SIZE_MAX) return continuation_line(p, s, n);
  if (s[i] == '[') return section_line(p, s + i, n - i);
  return property_line(p, s + i, n - i);
}

dorm_status dorm__ini_parse(const char *text, size_t len, const char *display_path,
                           dorm_ini **out, char *errbuf, size_t errcap) {
  *out = NULL;
  dorm_ini *ini = calloc(1, sizeof *ini);
  if (!ini) { dorm__set_err(errbuf, errcap, "out of memory"); return DORM_ERR_NO_MEMORY; }
  ini->path = strdup(display_path ? display_path : "<config>");
  if (!ini->path) { free(ini); dorm__set_err(errbuf, errcap, "out of memory"); return DORM_ERR_NO_MEMORY; }
  parser p = {.ini = ini, .prop_index = SIZE_MAX, .errbuf = errbuf, .errcap = errcap};
  size_t pos = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3;
  dorm_status st = DORM_OK;
  while (pos < len && st == DORM_OK) {
    p.line++;
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl ? 1 : 0);
    if (memchr(start, '\0', n)) {
      st = syntax(&p, "contains a NUL byte (not a text file?)", NULL);
      break;
    }
    if (n > 0 && start[n - 1] == '\r') n--;
    st = parse_line(&p, start, n);
  }
  if (st != DORM_OK) {
    dorm__ini_free(ini);
    return st;
  }
  *out = ini;
  return DORM_OK;
}

dorm_status dorm__ini_load(const char *path, const char *display_path, dorm_ini **out,
                          bool *found, char *errbuf, size_t errcap) {
  *out = NULL;
  if (found) *found = false;
  const char *shown = display_path ? display_path : path;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return dorm__ini_parse("", 0, shown, out, errbuf, errcap);
    dorm__set_err(errbuf, errcap, "%s: cannot read: %s", shown, strerror(errno));
    return DORM_ERR_IO;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    dorm__set_err(errbuf, errcap, "%s: cannot read: %s", shown,
            S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
    close(fd);
    return DORM_ERR_IO;
  }
  if ((unsigned long long)sb.st_size > INI_MAX_BYTES) {
    dorm__set_err(errbuf, errcap, "%s: cannot read: larger than %u bytes", shown, INI_MAX_BYTES);
    close(fd);
    return DORM_ERR_IO;
  }
  dorm__buf b;
  dorm__buf_init(&b, INI_MAX_BYTES);
  dorm__buf_reserve(&b, (size_t)sb.st_size);
  for (;;) {
    /* The file may grow while we read it; keep going up to the bound. */
    if (!dorm__buf_reserve(&b, 1)) {
      bool too_large = b.overflow;
      if (too_large) dorm__set_err(errbuf, errcap, "%s: cannot read: larger than %u bytes", shown, INI_MAX_BYTES);
      else dorm__set_err(errbuf, errcap, "out of memory");
      dorm__buf_free(&b);
      close(fd);
      return too_large ? DORM_ERR_IO : DORM_ERR_NO_MEMORY;
    }
    ssize_t got = read(fd, b.p + b.len, b.cap - b.len - 1);
    if (got < 0) {
      if (errno == EINTR) continue;
      dorm__set_err(errbuf, errcap, "%s: cannot read: %s", shown, strerror(errno));
      dorm__buf_free(&b);
      close(fd);
      return DORM_ERR_IO;
    }
    if (got == 0) break;
    b.len += (size_t)got;
  }
  close(fd);
  b.p[b.len] = '\0';
  dorm_status st = dorm__ini_parse(b.p, b.len, shown, out, errbuf, errcap);
  dorm__buf_free(&b);
  if (st == DORM_OK && found) *found = true;
  return st;
}

void dorm__ini_free(dorm_ini *ini) {
  if (!ini) return;
  for (size_t i = 0; i < ini->nsections; i++) {
    dorm_ini_section *sec = &ini->sections[i];
    for (size_t j = 0; j < sec->nprops; j++) free_prop(&sec->props[j]);
    free(sec->props);
    free(sec->name);
  }
  free(ini->sections);
  free(ini->path);
  free(ini);
}

const dorm_ini_section *dorm__ini_section_find(const dorm_ini *ini, const char *name) {
  if (!ini || !name) return NULL;
  for (size_t i = 0; i < ini->nsections; i++)
    if (strcmp(ini->sections[i].name, name) == 0) return &ini->sections[i];
  return NULL;
}

const dorm_ini_prop *dorm__ini_get(const dorm_ini_section *sec, const char *key) {
  if (!sec || !key) return NULL;
  for (size_t i = 0; i < sec->nprops; i++)
    if (strcmp(sec->props[i].key, key) == 0) return &sec->props[i];
  return NULL;
}

const dorm_ini_prop *dorm__ini_sub_get(const dorm_ini_prop *prop, const char *key) {
  if (!prop || !key) return NULL;
  for (size_t i = 0; i < prop->nsub; i++)
    if (strcmp(prop->sub[i].key, key) == 0) return &prop->sub[i];
  return NULL;
}
