#include "test_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct capture {
  char *text;
  size_t len;
  unsigned n;
} capture;

static void on_diag(const dormc_diagnostic *d, void *user) {
  capture *cap = user;
  char *t = dormc_diag_format(d);
  if (!t) return;
  size_t tl = strlen(t);
  char *bigger = realloc(cap->text, cap->len + tl + 1);
  if (bigger) {
    memcpy(bigger + cap->len, t, tl + 1);
    cap->text = bigger;
    cap->len += tl;
  }
  cap->n++;
  free(t);
}

typedef struct files_ctx {
  const tu_file *files;
  size_t n;
} files_ctx;

static int read_mem(void *user, const char *path, char **data, size_t *len) {
  files_ctx *fc = user;
  for (size_t i = 0; i < fc->n; i++) {
    if (strcmp(fc->files[i].path, path) != 0) continue;
    size_t l = fc->files[i].len ? fc->files[i].len : strlen(fc->files[i].text);
    char *copy = malloc(l + 1);
    if (!copy) return ENOMEM;
    memcpy(copy, fc->files[i].text, l);
    copy[l] = '\0';
    *data = copy;
    *len = l;
    return 0;
  }
  return ENOENT;
}

tu_result tu_compile(const tu_file *files, size_t n) {
  tu_result r;
  memset(&r, 0, sizeof r);
  capture *cap = calloc(1, sizeof *cap);
  files_ctx *fc = calloc(1, sizeof *fc);
  fc->files = files;
  fc->n = n;
  dormc_options o = {.on_diag = on_diag, .diag_user = cap, .read_file = read_mem, .read_user = fc};
  r.c = dormc_new(&o);
  size_t l0 = files[0].len ? files[0].len : strlen(files[0].text);
  r.load_rc = dormc_load_buffer(r.c, files[0].path, files[0].text, l0);
  r.analyze_rc = r.load_rc == 0 ? dormc_analyze(r.c) : -1;
  r.schema = dormc_get_schema(r.c);
  r.diags = cap->text ? cap->text : calloc(1, 1);
  r.diags_len = cap->len;
  r.ndiags = cap->n;
  free(cap);
  free(fc); /* the compilation reads no more files after analysis */
  return r;
}

tu_result tu_compile1(const char *text) {
  tu_file f = {"t.dorm", text, 0};
  return tu_compile(&f, 1);
}

void tu_free(tu_result *r) {
  dormc_free(r->c);
  free(r->diags);
  memset(r, 0, sizeof *r);
}

bool tu_has(const tu_result *r, const char *needle) { return r->diags && strstr(r->diags, needle) != NULL; }

char *tu_format(const char *path, const char *text, size_t len, char **diags) {
  capture cap = {0};
  dormc_options o = {.on_diag = on_diag, .diag_user = &cap};
  dormc_compilation *c = dormc_new(&o);
  char *out = NULL;
  size_t out_len = 0;
  int rc = dormc_format(c, path, text, len ? len : strlen(text), &out, &out_len);
  dormc_free(c);
  if (diags) *diags = cap.text ? cap.text : calloc(1, 1);
  else free(cap.text);
  return rc == 0 ? out : NULL;
}
