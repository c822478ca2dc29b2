#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int fp_buf_reserve(fp_buf *b, size_t n) {
  if (b->cap - b->len >= n) return 0;
  if (n > ((size_t)-1) / 2 - b->len) return -1;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap - b->len < n) cap *= 2;
  char *d = realloc(b->data, cap);
  if (!d) return -1;
  b->data = d;
  b->cap = cap;
  return 0;
}

int fp_buf_append(fp_buf *b, const void *data, size_t n) {
  if (n == 0) return 0;
  if (fp_buf_reserve(b, n) != 0) return -1;
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return 0;
}

int fp_buf_printf(fp_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || fp_buf_reserve(b, (size_t)n + 1) != 0) return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void fp_buf_consume(fp_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

void fp_buf_free(fp_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

bool fp_header_is(const fp_header *h, const char *name) {
  return strlen(name) == h->name_len && strncasecmp(h->name, name, h->name_len) == 0;
}

const fp_header *fp_head_find(const fp_head *h, const char *name) {
  for (size_t i = 0; i < h->nheaders; i++) {
    if (fp_header_is(&h->headers[i], name)) return &h->headers[i];
  }
  return NULL;
}

bool fp_header_hop_by_hop(const fp_header *h) {
  static const char *const names[] = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                                      "proxy-authorization", "te", "trailer", "upgrade", "expect"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (fp_header_is(h, names[i])) return true;
  }
  return false;
}

static bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Finds the end of the head (after CRLFCRLF or LFLF). Returns its length, or 0. */
static size_t head_end(const char *buf, size_t len) {
  for (size_t i = 0; i + 1 < len; i++) {
    if (buf[i] != '\n') continue;
    if (buf[i + 1] == '\n') return i + 2;
    if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n') return i + 3;
  }
  return 0;
}

/* Is the comma-separated value list v (n bytes) holding token tok? */
static bool list_has(const char *v, size_t n, const char *tok) {
  size_t tl = strlen(tok), i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t s = i;
    while (i < n && v[i] != ',') i++;
    size_t e = i;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
    if (e - s == tl && strncasecmp(v + s, tok, tl) == 0) return true;
  }
  return false;
}

/* Parses the header lines in [p, end) into out; end points at the blank line. */
static fp_parse parse_fields(const char *p, const char *end, fp_head *out, const char **why) {
  out->content_length = -1;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    size_t line_len = (size_t)(eol - p);
    if (line_len > 0 && p[line_len - 1] == '\r') line_len--;
    const char *line_end = p + line_len;
    const char *colon = memchr(p, ':', line_len);
    if (p < line_end && (*p == ' ' || *p == '\t')) {
      *why = "folded header lines are not allowed";
      return FP_PARSE_BAD;
    }
    if (!colon || colon == p) {
      *why = "header line without a name and colon";
      return FP_PARSE_BAD;
    }
    for (const char *c = p; c < colon; c++) {
      if (!is_tchar((unsigned char)*c)) {
        *why = "invalid character in a header name";
        return FP_PARSE_BAD;
      }
    }
    const char *v = colon + 1, *ve = line_end;
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    for (const char *c = v; c < ve; c++) {
      if (*c == '\0' || *c == '\r') {
        *why = "invalid character in a header value";
        return FP_PARSE_BAD;
      }
    }
    if (out->nheaders >= FP_MAX_HEADERS) {
      *why = "too many header lines";
      return FP_PARSE_TOO_LARGE;
    }
    fp_header *h = &out->headers[out->nheaders++];
    h->name = p;
    h->name_len = (size_t)(colon - p);
    h->value = v;
    h->value_len = (size_t)(ve - v);
    if (fp_header_is(h, "content-length")) {
      if (h->value_len == 0 || h->value_len > 15) {
        *why = "bad Content-Length";
        return FP_PARSE_BAD;
      }
      long long cl = 0;
      for (size_t i = 0; i < h->value_len; i++) {
        if (v[i] < '0' || v[i] > '9') {
          *why = "bad Content-Length";
          return FP_PARSE_BAD;
        }
        cl = cl * 10 + (v[i] - '0');
      }
      if (out->content_length >= 0 && out->content_length != cl) {
        *why = "conflicting Content-Length headers";
        return FP_PARSE_BAD;
      }
      out->content_length = cl;
    } else if (fp_header_is(h, "transfer-encoding")) {
      out->chunked = true;
    } else if (fp_header_is(h, "connection")) {
      if (list_has(v, h->value_len, "close")) out->conn_close = true;
      if (list_has(v, h->value_len, "keep-alive")) out->conn_keep_alive = true;
    } else if (fp_header_is(h, "expect")) {
      if (list_has(v, h->value_len, "100-continue")) out->expect_continue = true;
    }
    p = eol + 1;
  }
  return FP_PARSE_OK;
}

/* Common start: finds the head, splits off the first line. */
static fp_parse split_head(const char *buf, size_t len, size_t max_head, fp_head *out, const char **why,
                           const char **line, size_t *line_len, const char **fields) {
  memset(out, 0, sizeof *out);
  out->content_length = -1;
  size_t hl = head_end(buf, len);
  if (hl == 0) {
    if (len > max_head) {
      *why = "header section too large";
      return FP_PARSE_TOO_LARGE;
    }
    return FP_PARSE_INCOMPLETE;
  }
  if (hl > max_head) {
    *why = "header section too large";
    return FP_PARSE_TOO_LARGE;
  }
  out->head_len = hl;
  const char *eol = memchr(buf, '\n', hl);
  *line = buf;
  *line_len = (size_t)(eol - buf);
  if (*line_len > 0 && buf[*line_len - 1] == '\r') (*line_len)--;
  *fields = eol + 1;
  return FP_PARSE_OK;
}

/* The blank line's start inside the head (the fields end there). */
static const char *fields_end(const char *buf, size_t head_len) {
  const char *e = buf + head_len - 1; /* the final '\n' */
  if (e > buf && e[-1] == '\r') e--;
  return e;
}

static bool parse_version(const char *s, size_t n, int *minor) {
  if (n != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9') return false;
  *minor = s[7] - '0';
  return true;
}

fp_parse fp_parse_request(const char *buf, size_t len, size_t max_head, fp_head *out, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  const char *line, *fields;
  size_t ll;
  fp_parse r = split_head(buf, len, max_head, out, why, &line, &ll, &fields);
  if (r != FP_PARSE_OK) return r;
  const char *sp1 = memchr(line, ' ', ll);
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - line)) : NULL;
  if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1) {
    *why = "malformed request line";
    return FP_PARSE_BAD;
  }
  for (const char *c = line; c < sp1; c++) {
    if (!is_tchar((unsigned char)*c)) {
      *why = "malformed request method";
      return FP_PARSE_BAD;
    }
  }
  for (const char *c = sp1 + 1; c < sp2; c++) {
    if ((unsigned char)*c <= ' ' || *c == 0x7f) {
      *why = "malformed request target";
      return FP_PARSE_BAD;
    }
  }
  if (!parse_version(sp2 + 1, ll - (size_t)(sp2 + 1 - line), &out->minor)) {
    *why = "not an HTTP/1.x request";
    return FP_PARSE_BAD;
  }
  out->method = line;
  out->method_len = (size_t)(sp1 - line);
  out->target = sp1 + 1;
  out->target_len = (size_t)(sp2 - sp1 - 1);
  return parse_fields(fields, fields_end(buf, out->head_len), out, why);
}

fp_parse fp_parse_response(const char *buf, size_t len, size_t max_head, fp_head *out, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  const char *line, *fields;
  size_t ll;
  fp_parse r = split_head(buf, len, max_head, out, why, &line, &ll, &fields);
  if (r != FP_PARSE_OK) return r;
  if (ll < 12 || !parse_version(line, 8, &out->minor) || line[8] != ' ' || (ll > 12 && line[12] != ' ')) {
    *why = "malformed status line";
    return FP_PARSE_BAD;
  }
  int status = 0;
  for (int i = 9; i < 12; i++) {
    if (line[i] < '0' || line[i] > '9') {
      *why = "malformed status code";
      return FP_PARSE_BAD;
    }
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) {
    *why = "malformed status code";
    return FP_PARSE_BAD;
  }
  out->status = status;
  return parse_fields(fields, fields_end(buf, out->head_len), out, why);
}
