#include "raw_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(size_t *line_out, size_t line, char *err, size_t cap, const char *fmt, ...) {
  if (line_out != NULL)
    *line_out = line;
  if (err != NULL && cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return false;
}

static bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool all_tchars(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_tchar((unsigned char)s[i]))
      return false;
  return true;
}

/* Copies up to 40 bytes of a line for an error message, '?' for
 * unprintable bytes, "..." when cut. */
static const char *show(const char *s, size_t n, char out[48]) {
  size_t i = 0;
  for (; i < n && i < 40; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  if (i < n) {
    memcpy(out + i, "...", 3);
    i += 3;
  }
  out[i] = '\0';
  return out;
}

static char *dupn(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static bool parse_request_line(const char *s, size_t n, raw_request *r, size_t *line, char *err,
                               size_t cap) {
  char ex[48];
  const char *sp1 = memchr(s, ' ', n);
  const char *sp2 = NULL;
  for (size_t i = n; i > 0; i--)
    if (s[i - 1] == ' ') {
      sp2 = s + i - 1;
      break;
    }
  if (sp1 == NULL || sp2 == sp1)
    return fail(line, 1, err, cap,
                "bad request line \"%s\": expected METHOD /path HTTP/1.1", show(s, n, ex));
  size_t mlen = (size_t)(sp1 - s);
  const char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  const char *version = sp2 + 1;
  size_t vlen = (size_t)(s + n - version);
  if (!all_tchars(s, mlen))
    return fail(line, 1, err, cap, "bad request line: method \"%s\" is not an HTTP token",
                show(s, mlen, ex));
  if (!(vlen == 8 && memcmp(version, "HTTP/", 5) == 0 && version[5] >= '0' &&
        version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9'))
    return fail(line, 1, err, cap, "bad request line: \"%s\" is not an HTTP version like HTTP/1.1",
                show(version, vlen, ex));
  if (tlen == 0 || target[0] != '/')
    return fail(line, 1, err, cap,
                "bad request line: the target \"%s\" must be a path starting with '/'",
                show(target, tlen, ex));
  for (size_t i = 0; i < tlen; i++)
    if ((unsigned char)target[i] < 0x20 || target[i] == 0x7f)
      return fail(line, 1, err, cap, "bad request line: control character in the target");

  const char *qm = memchr(target, '?', tlen);
  r->method = dupn(s, mlen);
  r->target = dupn(target, tlen);
  r->version = dupn(version, vlen);
  r->path = dupn(target, qm ? (size_t)(qm - target) : tlen);
  r->query = qm ? dupn(qm + 1, (size_t)(target + tlen - qm - 1)) : NULL;
  if (!r->method || !r->target || !r->version || !r->path || (qm && !r->query))
    return fail(line, 1, err, cap, "out of memory");
  return true;
}

static bool add_header(raw_request *r, const char *name, size_t nlen, const char *value,
                       size_t vlen, size_t lineno) {
  dorm_sigv4_header *h = realloc(r->headers, (r->header_count + 1) * sizeof *h);
  if (h == NULL)
    return false;
  r->headers = h;
  size_t *l = realloc(r->header_lines, (r->header_count + 1) * sizeof *l);
  if (l == NULL)
    return false;
  r->header_lines = l;
  char *n = dupn(name, nlen), *v = dupn(value, vlen);
  if (n == NULL || v == NULL) {
    free(n);
    free(v);
    return false;
  }
  h[r->header_count] = (dorm_sigv4_header){n, v};
  l[r->header_count] = lineno;
  r->header_count++;
  return true;
}

/* Appends "\n" + the continuation line to the last header's value. */
static bool continue_header(raw_request *r, const char *s, size_t n) {
  dorm_sigv4_header *h = &r->headers[r->header_count - 1];
  size_t old = strlen(h->value);
  char *v = realloc((char *)h->value, old + 1 + n + 1);
  if (v == NULL)
    return false;
  v[old] = '\n';
  memcpy(v + old + 1, s, n);
  v[old + 1 + n] = '\0';
  h->value = v;
  return true;
}

static bool parse(const char *text, size_t len, raw_request *r, size_t *line, char *err,
                  size_t cap) {
  char ex[48];
  if (len == 0)
    return fail(line, 1, err, cap, "empty input: expected a request line such as GET / HTTP/1.1");
  size_t pos = 0;
  for (size_t lineno = 1; pos < len; lineno++) {
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl != NULL);
    if (n > 0 && s[n - 1] == '\r')
      n--;
    if (memchr(s, '\0', n) != NULL)
      return fail(line, lineno, err, cap, "NUL byte in the %s",
                  lineno == 1 ? "request line" : "headers");
    if (lineno == 1) {
      if (!parse_request_line(s, n, r, line, err, cap))
        return false;
      continue;
    }
    if (n == 0) { /* the blank line: the rest is the body, byte for byte */
      r->has_blank_line = true;
      r->body_len = len - pos;
      r->body = dupn(text + pos, r->body_len);
      if (r->body == NULL)
        return fail(line, lineno, err, cap, "out of memory");
      return true;
    }
    if (s[0] == ' ' || s[0] == '\t') {
      if (r->header_count == 0)
        return fail(line, lineno, err, cap,
                    "continuation line \"%s\" with no header before it", show(s, n, ex));
      if (!continue_header(r, s, n))
        return fail(line, lineno, err, cap, "out of memory");
      continue;
    }
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
      return fail(line, lineno, err, cap,
                  "expected a \"Name:value\" header, got \"%s\"; if this is the body, "
                  "put a blank line before it",
                  show(s, n, ex));
    size_t nlen = (size_t)(colon - s);
    if (!all_tchars(s, nlen))
      return fail(line, lineno, err, cap,
                  "header name \"%s\" is not an HTTP token; if this is the body, put a blank "
                  "line before it",
                  show(s, nlen, ex));
    for (const char *c = colon + 1; c < s + n; c++)
      if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
        return fail(line, lineno, err, cap, "control character in the value of header \"%s\"",
                    show(s, nlen, ex));
    if (!add_header(r, s, nlen, colon + 1, (size_t)(s + n - colon - 1), lineno))
      return fail(line, lineno, err, cap, "out of memory");
  }
  r->body = dupn("", 0); /* input ended after the headers: no body */
  if (r->body == NULL)
    return fail(line, 1, err, cap, "out of memory");
  return true;
}

bool raw_request_parse(const char *text, size_t len, raw_request *out, size_t *line, char *err,
                       size_t errcap) {
  memset(out, 0, sizeof *out);
  if (line != NULL)
    *line = 0;
  if (err != NULL && errcap > 0)
    err[0] = '\0';
  if (!parse(text, len, out, line, err, errcap)) {
    raw_request_free(out);
    return false;
  }
  return true;
}

void raw_request_remove_header(raw_request *r, size_t i) {
  if (i >= r->header_count)
    return;
  free((char *)r->headers[i].name);
  free((char *)r->headers[i].value);
  memmove(&r->headers[i], &r->headers[i + 1], (r->header_count - i - 1) * sizeof *r->headers);
  memmove(&r->header_lines[i], &r->header_lines[i + 1],
          (r->header_count - i - 1) * sizeof *r->header_lines);
  r->header_count--;
}

char *raw_request_format_signed(const raw_request *r, const dorm_sigv4_result *res, size_t *len) {
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  if (f == NULL)
    return NULL;
  if (res->query_params != NULL) {
    fprintf(f, "%s %s?", r->method, r->path);
    if (r->query != NULL && r->query[0] != '\0')
      fprintf(f, "%s&", r->query);
    fprintf(f, "%s %s\n", res->query_params, r->version);
  } else {
    fprintf(f, "%s %s %s\n", r->method, r->target, r->version);
  }
  for (size_t i = 0; i < r->header_count; i++)
    fprintf(f, "%s:%s\n", r->headers[i].name, r->headers[i].value);
  for (size_t i = 0; i < res->header_count; i++)
    fprintf(f, "%s:%s\n", res->headers[i].name, res->headers[i].value);
  fputc('\n', f);
  fwrite(r->body, 1, r->body_len, f);
  if (ferror(f)) {
    fclose(f);
    free(text);
    return NULL;
  }
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  *len = n;
  return text;
}

void raw_request_free(raw_request *r) {
  if (r == NULL)
    return;
  free(r->method);
  free(r->target);
  free(r->version);
  free(r->path);
  free(r->query);
  for (size_t i = 0; i < r->header_count; i++) {
    free((char *)r->headers[i].name);
    free((char *)r->headers[i].value);
  }
  free(r->headers);
  free(r->header_lines);
  free(r->body);
  memset(r, 0, sizeof *r);
}
