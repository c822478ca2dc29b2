/* sigv4.c: the general SigV4 signer (header and presigned-query forms) and
 * the SigV4 timestamp helpers. The rules are those of the AWS SigV4 test
 * suite; comments name the rule where it is not obvious. */
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core_internal.h"
#include "sigv4_crypto.h"

/* ---- errors --------------------------------------------------------------- */

/* A printable excerpt of untrusted text for an error message. */
static const char *excerpt(const char *s, size_t n, char out[64]) {
  size_t i = 0;
  for (; i < n && i < 60; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  if (i < n) {
    out[i - 3] = out[i - 2] = out[i - 1] = '.';
  }
  out[i] = '\0';
  return out;
}

/* ---- character classes ------------------------------------------------------ */

/* RFC 9110 token characters: what header names and methods are made of. */
static bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(const char *s) {
  if (s == NULL || *s == '\0')
    return false;
  for (; *s; s++)
    if (!is_tchar((unsigned char)*s))
      return false;
  return true;
}

/* SigV4 folds these in header values (the C locale's isspace set). */
static bool is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

/* Printable ASCII without space or '/': what may go into a credential scope. */
static bool is_scope_part(const char *s) {
  if (s == NULL || *s == '\0')
    return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= 0x20 || c >= 0x7f || c == '/')
      return false;
  }
  return true;
}

/* No control characters: safe to put into a header value. */
static bool is_header_safe(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static bool ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen)
    return false;
  for (size_t i = 0; i < alen; i++)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

/* ---- URI encoding -------------------------------------------------------- */

/* Percent-encodes everything but the unreserved characters (and '/' when
 * keep_slash), with uppercase hex, as SigV4 requires. */
static void put_encoded(dorm__buf *b, const char *s, size_t n, bool keep_slash) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      dorm__buf_putc(b, (char)c);
    } else {
      char e[3] = {'%', dorm__hex_upper[c >> 4], dorm__hex_upper[c & 15]};
      dorm__buf_put(b, e, 3);
    }
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes %XX escapes into out (room for n bytes); a '%' that does not start
 * a valid escape stays a literal '%'. '+' is not a space in SigV4. Returns
 * the decoded length. */
static size_t uri_decode(const char *s, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  return o;
}

/* ---- canonical path ------------------------------------------------------ */

/* Appends the canonical (encoded) form of path. With normalize, empty, "."
 * and ".." segments are resolved first; a trailing '/' is kept. */
static void add_canonical_path(dorm__buf *out, const char *path, bool normalize) {
  size_t n = strlen(path);
  if (n == 0) {
    dorm__buf_putc(out, '/');
    return;
  }
  if (!normalize) {
    put_encoded(out, path, n, true);
    return;
  }
  dorm__buf norm = DORM__BUF_INIT;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && path[j] != '/')
      j++;
    size_t seg = j - i;
    if (seg == 0 || (seg == 1 && path[i] == '.')) {
      /* nothing */
    } else if (seg == 2 && path[i] == '.' && path[i + 1] == '.') {
      while (norm.len > 0 && norm.p[norm.len - 1] != '/')
        norm.len--;
      if (norm.len > 0)
        norm.len--; /* the '/' before the popped segment */
    } else {
      dorm__buf_putc(&norm, '/');
      dorm__buf_put(&norm, path + i, seg);
    }
    i = j + 1;
  }
  if (!dorm__buf_ok(&norm)) {
    out->oom = true;
  } else if (norm.len == 0) {
    dorm__buf_putc(out, '/');
  } else {
    put_encoded(out, norm.p, norm.len, true);
    if (path[n - 1] == '/')
      dorm__buf_putc(out, '/');
  }
  dorm__buf_free(&norm);
}

/* ---- canonical headers ---------------------------------------------------- */

typedef struct canon_header {
  char *name;  /* lowercase */
  char *value; /* trimmed, whitespace folded */
  size_t index;
} canon_header;

static int cmp_header(const void *a, const void *b) {
  const canon_header *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0)
    return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

static char *dup_lower(const char *s) {
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p != NULL) {
    for (size_t i = 0; i < n; i++)
      p[i] = lower(s[i]);
    p[n] = '\0';
  }
  return p;
}

/* Trims and folds every run of whitespace (continuation line breaks
 * included) into one space. */
static char *dup_folded(const char *s) {
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p == NULL)
    return NULL;
  size_t o = 0;
  bool pending_space = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_ws(c)) {
      pending_space = o > 0;
      continue;
    }
    if (pending_space)
      p[o++] = ' ';
    pending_space = false;
    p[o++] = (char)c;
  }
  p[o] = '\0';
  return p;
}

/* ---- query parameters ---------------------------------------------------- */

typedef struct qparam {
  char *key;   /* canonically encoded */
  char *value; /* canonically encoded */
} qparam;

static int cmp_qparam(const void *a, const void *b) {
  const qparam *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c != 0 ? c : strcmp(x->value, y->value);
}

static char *dup_encoded(const char *s, size_t n) {
  dorm__buf b = DORM__BUF_INIT;
  put_encoded(&b, s, n, false);
  return dorm__buf_take(&b);
}

/* Query parameters the signer writes itself; one in the request would be
 * ambiguous, so it is refused (compared case-insensitively, after decoding). */
static const char *const reserved_params[] = {
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",     "X-Amz-SignedHeaders",
    "X-Amz-Expires",   "X-Amz-Signature",
};

/* ---- the signer ------------------------------------------------------------ */

typedef struct sign_state {
  canon_header *headers;
  size_t nheaders;
  qparam *params;
  size_t nparams;
  char *scratch; /* decode buffer for query pieces */
} sign_state;

static void state_free(sign_state *s) {
  for (size_t i = 0; i < s->nheaders; i++) {
    free(s->headers[i].name);
    free(s->headers[i].value);
  }
  free(s->headers);
  for (size_t i = 0; i < s->nparams; i++) {
    free(s->params[i].key);
    free(s->params[i].value);
  }
  free(s->params);
  free(s->scratch);
}

static bool push_header(sign_state *s, const char *name, const char *value) {
  canon_header *h = &s->headers[s->nheaders];
  h->name = dup_lower(name);
  h->value = dup_folded(value);
  h->index = s->nheaders;
  s->nheaders++; /* counted even on failure so that state_free frees it */
  return h->name != NULL && h->value != NULL;
}

static bool push_param(sign_state *s, const char *key, size_t klen, const char *value,
                       size_t vlen) {
  qparam *q = &s->params[s->nparams++];
  q->key = dup_encoded(key, klen);
  q->value = dup_encoded(value, vlen);
  return q->key != NULL && q->value != NULL;
}

static dorm_status check_config(const dorm_sigv4_request *req, const dorm_sigv4_config *cfg,
                                 char *err, size_t errcap) {
  if (req == NULL || cfg == NULL)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: no request or configuration");
  if ((cfg->flags & ~(unsigned)(DORM_SIGV4_NORMALIZE_PATH | DORM_SIGV4_SIGN_BODY |
                                DORM_SIGV4_QUERY | DORM_SIGV4_UNSIGNED_SESSION_TOKEN)) != 0)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: unknown flags 0x%x", cfg->flags);
  if (!is_scope_part(cfg->region))
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: region must be non-empty printable ASCII without spaces or '/'");
  if (!is_scope_part(cfg->service))
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: service must be non-empty printable ASCII without spaces or '/'");
  const dorm_sigv4_credentials *c = &cfg->credentials;
  if (!is_scope_part(c->access_key_id))
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: access key id must be non-empty printable ASCII without spaces or '/'");
  if (c->secret_access_key == NULL || c->secret_access_key[0] == '\0')
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: empty secret access key");
  if (c->session_token != NULL && !is_header_safe(c->session_token))
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: session token contains control characters");
  if (cfg->time < 0 || cfg->time > DORM_SIGV4_MAX_TIME)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: time %lld is outside 1970..9999", (long long)cfg->time);
  if ((cfg->flags & DORM_SIGV4_QUERY) &&
      (cfg->expires < 1 || cfg->expires > DORM_SIGV4_MAX_EXPIRES))
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: expiry %lu s is outside 1..%u s (7 days)", (unsigned long)cfg->expires,
                DORM_SIGV4_MAX_EXPIRES);
  if (!is_token(req->method))
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                "sigv4: method must be a non-empty HTTP token");
  if (req->path != NULL && req->path[0] != '\0' && req->path[0] != '/')
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: path must start with '/'");
  if (req->header_count > 0 && req->headers == NULL)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: header_count without headers");
  if (req->body_len > 0 && req->body == NULL)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: body_len without body");
  return DORM_OK;
}

/* Collects the request's headers plus the ones the signer signs itself. */
static dorm_status collect_headers(sign_state *s, const dorm_sigv4_request *req,
                                   const dorm_sigv4_config *cfg, bool has_token,
                                   const char *amz_date, const char *payload_hex, char *err,
                                   size_t errcap) {
  bool query = cfg->flags & DORM_SIGV4_QUERY;
  bool sign_body = !query && (cfg->flags & DORM_SIGV4_SIGN_BODY);
  char ex[64];
  s->headers = calloc(req->header_count + 3, sizeof *s->headers);
  if (s->headers == NULL)
    return dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
  for (size_t i = 0; i < req->header_count; i++) {
    const char *name = req->headers[i].name, *value = req->headers[i].value;
    if (name == NULL || value == NULL)
      return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: header %zu has no name or value",
                  i + 1);
    if (!is_token(name))
      return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                  "sigv4: header name \"%s\" is not an HTTP token",
                  excerpt(name, strlen(name), ex));
    size_t n = strlen(name);
    bool own = ieq(name, n, "authorization") || ieq(name, n, "x-amz-date") ||
               (sign_body && ieq(name, n, "x-amz-content-sha256")) ||
               (has_token && ieq(name, n, "x-amz-security-token"));
    if (own)
      return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                  "sigv4: the request already has %s, which the signer adds; remove it", name);
    if (!push_header(s, name, value))
      return dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
  }
  bool ok = true;
  if (!query) {
    if (has_token && !(cfg->flags & DORM_SIGV4_UNSIGNED_SESSION_TOKEN))
      ok = ok && push_header(s, "x-amz-security-token", cfg->credentials.session_token);
    ok = ok && push_header(s, "x-amz-date", amz_date);
    if (sign_body)
      ok = ok && push_header(s, "x-amz-content-sha256", payload_hex);
  }
  if (!ok)
    return dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
  qsort(s->headers, s->nheaders, sizeof *s->headers, cmp_header);
  return DORM_OK;
}

/* Writes "name:value\n" lines (repeated names joined with ',') into block
 * and "a;b;c" into signed_headers. */
static void canonical_headers(const sign_state *s, dorm__buf *block, dorm__buf *signed_headers) {
  for (size_t i = 0; i < s->nheaders; i++) {
    const canon_header *h = &s->headers[i];
    if (i > 0 && strcmp(h->name, s->headers[i - 1].name) == 0) {
      dorm__buf_putc(block, ',');
    } else {
      if (i > 0) {
        dorm__buf_putc(block, '\n');
        dorm__buf_putc(signed_headers, ';');
      }
      dorm__buf_puts(block, h->name);
      dorm__buf_putc(block, ':');
      dorm__buf_puts(signed_headers, h->name);
    }
    dorm__buf_puts(block, h->value);
  }
  if (s->nheaders > 0)
    dorm__buf_putc(block, '\n');
}

/* Parses the request's query into decoded-then-encoded parameters and, in
 * the query form, adds the signer's own (all but X-Amz-Signature). */
static dorm_status collect_params(sign_state *s, const char *query, const dorm_sigv4_config *cfg,
                                  bool has_token, const char *amz_date, const char *credential,
                                  const char *signed_headers, char *err, size_t errcap) {
  bool presign = cfg->flags & DORM_SIGV4_QUERY;
  size_t qlen = query ? strlen(query) : 0;
  size_t pieces = 1;
  for (size_t i = 0; i < qlen; i++)
    pieces += query[i] == '&';
  s->params = calloc(pieces + 6, sizeof *s->params);
  s->scratch = malloc(qlen + 1);
  if (s->params == NULL || s->scratch == NULL)
    return dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");

  for (size_t i = 0; i < qlen;) {
    size_t j = i;
    while (j < qlen && query[j] != '&')
      j++;
    if (j > i) { /* empty pieces ("a=1&&b=2") are not parameters */
      const char *eq = memchr(query + i, '=', j - i);
      size_t kraw = eq ? (size_t)(eq - (query + i)) : j - i;
      char *key = s->scratch;
      size_t klen = uri_decode(query + i, kraw, key);
      bool reserved = presign && has_token && ieq(key, klen, "X-Amz-Security-Token");
      for (size_t r = 0; r < sizeof reserved_params / sizeof *reserved_params; r++)
        reserved = reserved || ieq(key, klen, reserved_params[r]);
      if (reserved) {
        char ex[64];
        return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT,
                    "sigv4: the query already has %s, which the signer adds; remove it",
                    excerpt(key, klen, ex));
      }
      qparam *q = &s->params[s->nparams++];
      q->key = dup_encoded(key, klen);
      size_t vraw = eq ? (size_t)(query + j - (eq + 1)) : 0;
      size_t vlen = eq ? uri_decode(eq + 1, vraw, s->scratch) : 0;
      q->value = dup_encoded(s->scratch, vlen);
      if (q->key == NULL || q->value == NULL)
        return dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
    }
    i = j + 1;
  }

  if (presign) {
    char expires[16];
    snprintf(expires, sizeof expires, "%lu", (unsigned long)cfg->expires);
    bool ok = push_param(s, "X-Amz-Algorithm", 15, DORM_SIGV4_ALGORITHM,
                         strlen(DORM_SIGV4_ALGORITHM)) &&
              push_param(s, "X-Amz-Credential", 16, credential, strlen(credential)) &&
              push_param(s, "X-Amz-Date", 10, amz_date, strlen(amz_date)) &&
              push_param(s, "X-Amz-SignedHeaders", 19, signed_headers, strlen(signed_headers)) &&
              push_param(s, "X-Amz-Expires", 13, expires, strlen(expires));
    if (ok && has_token && !(cfg->flags & DORM_SIGV4_UNSIGNED_SESSION_TOKEN))
      ok = push_param(s, "X-Amz-Security-Token", 20, cfg->credentials.session_token,
                      strlen(cfg->credentials.session_token));
    if (!ok)
      return dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
  }
  qsort(s->params, s->nparams, sizeof *s->params, cmp_qparam);
  return DORM_OK;
}

static void add_param(dorm__buf *b, const char *key, const char *value) {
  if (b->len > 0)
    dorm__buf_putc(b, '&');
  dorm__buf_puts(b, key);
  dorm__buf_putc(b, '=');
  put_encoded(b, value, strlen(value), false);
}

dorm_status dorm__sigv4_sign(const dorm_sigv4_request *req, const dorm_sigv4_config *cfg,
                            dorm_sigv4_result *out, char *err, size_t errcap) {
  if (out == NULL)
    return dorm__fail(err, errcap, DORM_ERR_INVALID_ARGUMENT, "sigv4: no result");
  memset(out, 0, sizeof *out);
  if (err != NULL && errcap > 0)
    err[0] = '\0';
  dorm_status st = check_config(req, cfg, err, errcap);
  if (st != DORM_OK)
    return st;

  const dorm_sigv4_credentials *cred = &cfg->credentials;
  bool presign = cfg->flags & DORM_SIGV4_QUERY;
  bool has_token = cred->session_token != NULL && cred->session_token[0] != '\0';

  char amz_date[DORM_SIGV4_AMZ_DATE_LEN + 1];
  dorm__sigv4_format_time(cfg->time, amz_date);
  char date8[9];
  memcpy(date8, amz_date, 8);
  date8[8] = '\0';

  unsigned char hash[DORM_SIGV4_HASH_LEN];
  char payload_hex[2 * DORM_SIGV4_HASH_LEN + 1];
  if (!dorm__sigv4_sha256(req->body_len ? req->body : "", req->body_len, hash))
    return dorm__fail(err, errcap, DORM_ERR_AUTH, "sigv4: SHA-256 failed in OpenSSL");
  dorm__hex_encode(hash, sizeof hash, payload_hex);

  sign_state s = {0};
  dorm__buf scope = DORM__BUF_INIT, credential = DORM__BUF_INIT, block = DORM__BUF_INIT, signed_headers = DORM__BUF_INIT, creq = DORM__BUF_INIT, sts = DORM__BUF_INIT;
  dorm__buf extra = DORM__BUF_INIT;
  unsigned char key[DORM_SIGV4_HASH_LEN], mac[DORM_SIGV4_HASH_LEN];

  dorm__buf_puts(&scope, date8);
  dorm__buf_putc(&scope, '/');
  dorm__buf_puts(&scope, cfg->region);
  dorm__buf_putc(&scope, '/');
  dorm__buf_puts(&scope, cfg->service);
  dorm__buf_puts(&scope, "/aws4_request");
  dorm__buf_puts(&credential, cred->access_key_id);
  dorm__buf_putc(&credential, '/');
  if (scope.p != NULL)
    dorm__buf_puts(&credential, scope.p);

  st = collect_headers(&s, req, cfg, has_token, amz_date, payload_hex, err, errcap);
  if (st != DORM_OK)
    goto done;
  canonical_headers(&s, &block, &signed_headers);
  if (!dorm__buf_ok(&scope) || !dorm__buf_ok(&credential) || !dorm__buf_ok(&block) ||
      !dorm__buf_ok(&signed_headers)) {
    st = dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
    goto done;
  }
  const char *sh = signed_headers.p ? signed_headers.p : "";
  st = collect_params(&s, req->query, cfg, has_token, amz_date, credential.p, sh, err, errcap);
  if (st != DORM_OK)
    goto done;

  /* The canonical request. */
  dorm__buf_puts(&creq, req->method);
  dorm__buf_putc(&creq, '\n');
  add_canonical_path(&creq, req->path ? req->path : "", cfg->flags & DORM_SIGV4_NORMALIZE_PATH);
  dorm__buf_putc(&creq, '\n');
  for (size_t i = 0; i < s.nparams; i++) {
    if (i > 0)
      dorm__buf_putc(&creq, '&');
    dorm__buf_puts(&creq, s.params[i].key);
    dorm__buf_putc(&creq, '=');
    dorm__buf_puts(&creq, s.params[i].value);
  }
  dorm__buf_putc(&creq, '\n');
  if (block.p != NULL)
    dorm__buf_puts(&creq, block.p);
  dorm__buf_putc(&creq, '\n');
  dorm__buf_puts(&creq, sh);
  dorm__buf_putc(&creq, '\n');
  dorm__buf_puts(&creq, payload_hex);
  if (!dorm__buf_ok(&creq)) {
    st = dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
    goto done;
  }

  /* The string to sign and the signature. */
  char creq_hex[2 * DORM_SIGV4_HASH_LEN + 1];
  if (!dorm__sigv4_sha256(creq.p, creq.len, hash)) {
    st = dorm__fail(err, errcap, DORM_ERR_AUTH, "sigv4: SHA-256 failed in OpenSSL");
    goto done;
  }
  dorm__hex_encode(hash, sizeof hash, creq_hex);
  dorm__buf_puts(&sts, DORM_SIGV4_ALGORITHM "\n");
  dorm__buf_puts(&sts, amz_date);
  dorm__buf_putc(&sts, '\n');
  dorm__buf_puts(&sts, scope.p);
  dorm__buf_putc(&sts, '\n');
  dorm__buf_puts(&sts, creq_hex);
  if (!dorm__buf_ok(&sts)) {
    st = dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
    goto done;
  }
  if (!dorm__sigv4_derive_key(cred->secret_access_key, strlen(cred->secret_access_key), date8,
                             cfg->region, cfg->service, key) ||
      !dorm__sigv4_hmac(key, sizeof key, sts.p, sts.len, mac)) {
    st = dorm__fail(err, errcap, DORM_ERR_AUTH, "sigv4: HMAC-SHA256 failed in OpenSSL");
    goto done;
  }
  dorm__hex_encode(mac, sizeof mac, out->signature);
  memcpy(out->amz_date, amz_date, sizeof amz_date);

  /* What to add to the request. */
  if (presign) {
    add_param(&extra, "X-Amz-Algorithm", DORM_SIGV4_ALGORITHM);
    add_param(&extra, "X-Amz-Credential", credential.p);
    add_param(&extra, "X-Amz-Date", amz_date);
    add_param(&extra, "X-Amz-SignedHeaders", sh);
    char expires[16];
    snprintf(expires, sizeof expires, "%lu", (unsigned long)cfg->expires);
    add_param(&extra, "X-Amz-Expires", expires);
    if (has_token)
      add_param(&extra, "X-Amz-Security-Token", cred->session_token);
    add_param(&extra, "X-Amz-Signature", out->signature);
    out->query_params = dorm__buf_take(&extra);
    if (out->query_params == NULL)
      goto oom;
  } else {
    if (has_token) {
      out->owned_[0] = strdup(cred->session_token);
      if (out->owned_[0] == NULL)
        goto oom;
      out->headers[out->header_count++] =
          (dorm_sigv4_added_header){"X-Amz-Security-Token", out->owned_[0]};
    }
    out->owned_[3] = strdup(amz_date); /* not out->amz_date: results may be copied */
    if (out->owned_[3] == NULL)
      goto oom;
    out->headers[out->header_count++] = (dorm_sigv4_added_header){"X-Amz-Date", out->owned_[3]};
    if (cfg->flags & DORM_SIGV4_SIGN_BODY) {
      out->owned_[1] = strdup(payload_hex);
      if (out->owned_[1] == NULL)
        goto oom;
      out->headers[out->header_count++] =
          (dorm_sigv4_added_header){"x-amz-content-sha256", out->owned_[1]};
    }
    dorm__buf_puts(&extra, DORM_SIGV4_ALGORITHM " Credential=");
    dorm__buf_puts(&extra, credential.p);
    dorm__buf_puts(&extra, ", SignedHeaders=");
    dorm__buf_puts(&extra, sh);
    dorm__buf_puts(&extra, ", Signature=");
    dorm__buf_puts(&extra, out->signature);
    out->owned_[2] = dorm__buf_take(&extra);
    if (out->owned_[2] == NULL)
      goto oom;
    out->headers[out->header_count++] = (dorm_sigv4_added_header){"Authorization", out->owned_[2]};
  }
  out->signed_headers = dorm__buf_take(&signed_headers);
  out->canonical_request = dorm__buf_take(&creq);
  out->string_to_sign = dorm__buf_take(&sts);
  if (out->signed_headers == NULL || out->canonical_request == NULL || out->string_to_sign == NULL)
    goto oom;
  st = DORM_OK;
  goto done;

oom:
  st = dorm__fail(err, errcap, DORM_ERR_NO_MEMORY, "sigv4: out of memory");
done:
  if (st != DORM_OK)
    dorm__sigv4_result_free(out);
  OPENSSL_cleanse(key, sizeof key);
  state_free(&s);
  dorm__buf_free(&scope);
  dorm__buf_free(&credential);
  dorm__buf_free(&block);
  dorm__buf_free(&signed_headers);
  dorm__buf_free(&creq);
  dorm__buf_free(&sts);
  dorm__buf_free(&extra);
  return st;
}

void dorm__sigv4_result_free(dorm_sigv4_result *r) {
  if (r == NULL)
    return;
  free(r->canonical_request);
  free(r->string_to_sign);
  free(r->signed_headers);
  free(r->query_params);
  for (size_t i = 0; i < sizeof r->owned_ / sizeof *r->owned_; i++)
    free(r->owned_[i]);
  memset(r, 0, sizeof *r);
}

bool dorm__sigv4_signature_equal(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return false;
  size_t n = strlen(a);
  if (n != strlen(b))
    return false; /* lengths are public: a signature is always 64 hex digits */
  return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- time ------------------------------------------------------------------ */

DORM__HOT
bool dorm__sigv4_format_time(int64_t t, char out[DORM_SIGV4_AMZ_DATE_LEN + 1]) {
  if (t < 0 || t > DORM_SIGV4_MAX_TIME) {
    out[0] = '\0';
    return false;
  }
  dorm__civil_time c;
  dorm__civil_from_seconds(t, &c);
  unsigned v[6] = {(unsigned)c.year, (unsigned)c.month, (unsigned)c.day,
                   (unsigned)c.hour, (unsigned)c.minute, (unsigned)c.second};
  /* Fixed-width digits by hand: this runs on every request. */
  char *p = out;
  for (int i = 3; i >= 0; i--, v[0] /= 10)
    p[i] = (char)('0' + v[0] % 10);
  p += 4;
  for (int k = 1; k < 6; k++) {
    if (k == 3)
      *p++ = 'T';
    *p++ = (char)('0' + v[k] / 10);
    *p++ = (char)('0' + v[k] % 10);
  }
  *p++ = 'Z';
  *p = '\0';
  return true;
}

static bool digits(const char *s, int n, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

bool dorm__sigv4_parse_time(const char *s, int64_t *out) {
  if (s == NULL)
    return false;
  unsigned y, mo, d, h, mi, se;
  size_t n = strlen(s);
  bool ok;
  if (n == 16) { /* 20150830T123600Z */
    ok = digits(s, 4, &y) && digits(s + 4, 2, &mo) && digits(s + 6, 2, &d) && s[8] == 'T' &&
         digits(s + 9, 2, &h) && digits(s + 11, 2, &mi) && digits(s + 13, 2, &se) && s[15] == 'Z';
  } else if (n == 20) { /* 2015-08-30T12:36:00Z */
    ok = digits(s, 4, &y) && s[4] == '-' && digits(s + 5, 2, &mo) && s[7] == '-' &&
         digits(s + 8, 2, &d) && s[10] == 'T' && digits(s + 11, 2, &h) && s[13] == ':' &&
         digits(s + 14, 2, &mi) && s[16] == ':' && digits(s + 17, 2, &se) && s[19] == 'Z';
  } else {
    return false;
  }
  if (!ok || y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
    return false;
  if (d > (unsigned)dorm__civil_month_days(y, (int)mo))
    return false;
  dorm__civil_time c = {y, (int)mo, (int)d, (int)h, (int)mi, (int)se};
  *out = dorm__civil_to_seconds(&c);
  return true;
}
