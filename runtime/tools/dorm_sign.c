/* dorm sign: signs a raw HTTP request read from stdin with SigV4 and prints
 * the signed request, in the layout of the AWS SigV4 test suite. Given a
 * request that is already signed (what a program sent and AWS refused), it
 * re-signs it with the same signed headers and time and says whether the
 * signatures agree, which is how SignatureDoesNotMatch gets debugged. */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "raw_request.h"
#include "sigv4.h"

#define DORM_EXIT_MISMATCH 3
#define SIGN_MAX_INPUT (64u << 20)
#define DEFAULT_EXPIRES 3600u

void dorm_sign_help(FILE *out) {
  fputs(
      "usage: dorm sign --region R --service S --access-key-id AK --secret-access-key SK\n"
      "                 [--session-token T] [--unsigned-session-token]\n"
      "                 [--time 20150830T123600Z] [--query] [--expires SECONDS]\n"
      "                 [--no-normalize] [--sign-body] [--verbose]  < raw-http-request\n"
      "\n"
      "Signs the raw HTTP/1.1 request on stdin with AWS Signature Version 4 and prints\n"
      "the signed request on stdout. Input: a request line (POST /path?query HTTP/1.1),\n"
      "Name:value header lines (a line starting with a space or tab continues the\n"
      "previous header), then a blank line and the body (the input may also end right\n"
      "after the headers). Every header present is signed.\n"
      "\n"
      "options:\n"
      "  --region R               region of the credential scope (us-east-1)\n"
      "  --service S              service of the credential scope (dynamodb)\n"
      "  --access-key-id AK       access key id; together with --secret-access-key,\n"
      "  --secret-access-key SK   default AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and\n"
      "                           AWS_SESSION_TOKEN from the environment\n"
      "  --session-token T        session token of temporary credentials\n"
      "  --unsigned-session-token add X-Amz-Security-Token after signing, unsigned\n"
      "  --time T                 signing time, 20150830T123600Z or 2015-08-30T12:36:00Z\n"
      "                           (default: the request's X-Amz-Date, else now)\n"
      "  --query                  presign: put the signature into the query string\n"
      "  --expires SECONDS        with --query: X-Amz-Expires, 1..604800\n"
      "                           (default: the request's X-Amz-Expires, else 3600)\n"
      "  --no-normalize           keep '.', '..' and empty segments of the path\n"
      "  --sign-body              add and sign x-amz-content-sha256\n"
      "  --verbose                first print the canonical request and the string to\n"
      "                           sign to stderr\n"
      "\n"
      "A request that is already signed (Authorization header, or X-Amz-Signature in\n"
      "the query with --query) is re-signed: its signature, X-Amz-Date and, when\n"
      "replaced by the options, its token and x-amz-content-sha256 are removed, only\n"
      "the headers it signed are signed, and the result is compared with its signature.\n"
      "\n"
      "exit status: 0 signed (and the request's own signature, if any, matches),\n"
      "1 bad input, 2 usage error, 3 the request's signature differs.\n",
      out);
}

/* ---- options -------------------------------------------------------------- */

typedef struct sign_opts {
  const char *region, *service, *access_key_id, *secret, *token, *time, *expires;
  int query, no_normalize, sign_body, verbose, unsigned_token, help;
} sign_opts;

typedef struct opt_def {
  const char *name;
  size_t value_off; /* offset of a const char * field, or */
  size_t flag_off;  /* offset of an int field */
  bool has_value;
} opt_def;

#define VALUE(n, f) {n, offsetof(sign_opts, f), 0, true}
#define FLAG(n, f) {n, 0, offsetof(sign_opts, f), false}

static const opt_def opt_defs[] = {
    VALUE("region", region),
    VALUE("service", service),
    VALUE("access-key-id", access_key_id),
    VALUE("secret-access-key", secret),
    VALUE("session-token", token),
    VALUE("time", time),
    VALUE("expires", expires),
    FLAG("query", query),
    FLAG("no-normalize", no_normalize),
    FLAG("sign-body", sign_body),
    FLAG("verbose", verbose),
    FLAG("unsigned-session-token", unsigned_token),
    FLAG("help", help),
};

static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dorm sign: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nusage: dorm sign --region R --service S --access-key-id AK --secret-access-key SK"
        " [options] < request\n(see 'dorm help sign')\n",
        stderr);
  return DORM_EXIT_USAGE;
}

static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dorm sign: note: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int failure(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dorm sign: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return DORM_EXIT_FAILURE;
}

/* Returns 0 or an exit status. Accepts "--name value" and "--name=value". */
static int parse_opts(int argc, char **argv, sign_opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-h") == 0) {
      o->help = 1;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0)
      return usage_error("unexpected argument '%s' (the request is read from stdin)", arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const opt_def *d = NULL;
    for (size_t k = 0; k < sizeof opt_defs / sizeof *opt_defs; k++)
      if (strlen(opt_defs[k].name) == nlen && strncmp(opt_defs[k].name, name, nlen) == 0)
        d = &opt_defs[k];
    if (d == NULL)
      return usage_error("unknown option '%.*s'", (int)(nlen + 2), arg);
    if (!d->has_value) {
      if (eq != NULL)
        return usage_error("option '--%s' takes no value", d->name);
      *(int *)((char *)o + d->flag_off) = 1;
      continue;
    }
    const char **field = (const char **)((char *)o + d->value_off);
    if (*field != NULL)
      return usage_error("option '--%s' given twice", d->name);
    if (eq != NULL) {
      *field = eq + 1;
    } else if (i + 1 < argc) {
      *field = argv[++i];
    } else {
      return usage_error("option '--%s' needs a value", d->name);
    }
  }
  return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static bool ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
    if (x != y)
      return false;
  }
  return *a == *b;
}

/* A malloc'd copy of s[0..n) without surrounding spaces and tabs. */
static char *trimmed(const char *s, size_t n) {
  while (n > 0 && (*s == ' ' || *s == '\t'))
    s++, n--;
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
    n--;
  char *p = malloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
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

/* A malloc'd percent-decoded copy of s[0..n) (bad escapes stay literal). */
static char *decoded(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p == NULL)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      p[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      p[o++] = s[i];
    }
  }
  p[o] = '\0';
  return p;
}

static char *read_all(FILE *in, size_t *len, int *err) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  *err = 0;
  if (buf == NULL) {
    *err = ENOMEM;
    return NULL;
  }
  for (;;) {
    if (n == cap) {
      if (cap >= SIGN_MAX_INPUT) {
        free(buf);
        *err = EFBIG;
        return NULL;
      }
      char *p = realloc(buf, cap * 2);
      if (p == NULL) {
        free(buf);
        *err = ENOMEM;
        return NULL;
      }
      buf = p;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, in);
    n += got;
    if (got == 0) {
      if (ferror(in)) {
        *err = errno ? errno : EIO;
        free(buf);
        return NULL;
      }
      break;
    }
  }
  *len = n;
  return buf;
}

/* ---- a signature already in the request ----------------------------------- */

typedef struct prior_sig {
  bool present;
  char *credential;     /* AK/date/region/service/aws4_request */
  char *signed_headers; /* "host;x-amz-date" */
  char *signature;
  char *date;           /* X-Amz-Date of the request, if any */
  char *expires;        /* X-Amz-Expires (query form) */
} prior_sig;

static void prior_free(prior_sig *p) {
  free(p->credential);
  free(p->signed_headers);
  free(p->signature);
  free(p->date);
  free(p->expires);
  memset(p, 0, sizeof *p);
}

/* Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". */
static bool parse_authorization(const char *v, prior_sig *p) {
  while (*v == ' ' || *v == '\t')
    v++;
  size_t alen = strlen(DORM_SIGV4_ALGORITHM);
  if (strncmp(v, DORM_SIGV4_ALGORITHM, alen) != 0 || (v[alen] != ' ' && v[alen] != '\t'))
    return false;
  for (const char *s = v + alen; *s;) {
    const char *end = strchr(s, ',');
    size_t n = end ? (size_t)(end - s) : strlen(s);
    char *part = trimmed(s, n);
    if (part == NULL)
      return false;
    char **slot = NULL;
    const char *val = NULL;
    if (strncmp(part, "Credential=", 11) == 0)
      slot = &p->credential, val = part + 11;
    else if (strncmp(part, "SignedHeaders=", 14) == 0)
      slot = &p->signed_headers, val = part + 14;
    else if (strncmp(part, "Signature=", 10) == 0)
      slot = &p->signature, val = part + 10;
    if (slot != NULL && *slot == NULL)
      *slot = strdup(val);
    free(part);
    s += n + (end != NULL);
  }
  return p->credential && p->signed_headers && p->signature;
}

/* Header form: takes Authorization, X-Amz-Date and the headers the options
 * replace out of the request. Returns 0 or an exit status. */
static int take_header_signature(raw_request *r, const sign_opts *o, prior_sig *p) {
  for (size_t i = 0; i < r->header_count;) {
    const char *name = r->headers[i].name;
    bool is_auth = ieq(name, "authorization"), is_date = ieq(name, "x-amz-date");
    if (is_auth || is_date) {
      char **slot = is_auth ? &p->signature : &p->date;
      if (*slot != NULL || (is_auth && p->present))
        return failure("stdin:%zu: the request has more than one %s header", r->header_lines[i],
                       name);
      if (is_auth) {
        if (!parse_authorization(r->headers[i].value, p))
          return failure("stdin:%zu: the Authorization header is not \"" DORM_SIGV4_ALGORITHM
                         " Credential=..., SignedHeaders=..., Signature=...\"; remove it to "
                         "sign the request afresh",
                         r->header_lines[i]);
        p->present = true;
      } else {
        const char *v = r->headers[i].value;
        p->date = trimmed(v, strlen(v));
      }
      raw_request_remove_header(r, i);
      continue;
    }
    bool replaced = (o->token && ieq(name, "x-amz-security-token")) ||
                    (o->sign_body && ieq(name, "x-amz-content-sha256"));
    if (replaced) {
      note("replacing the request's %s header", name);
      raw_request_remove_header(r, i);
      continue;
    }
    i++;
  }
  return 0;
}

/* Query form: takes the X-Amz-* signing parameters out of the request's
 * query (keeping the other parameters' raw text). Returns 0 or an exit
 * status. */
static int take_query_signature(raw_request *r, const sign_opts *o, prior_sig *p) {
  if (r->query == NULL)
    return 0;
  size_t qlen = strlen(r->query);
  char *kept = malloc(qlen + 1);
  if (kept == NULL)
    return failure("out of memory");
  size_t klen = 0;
  bool has_signature = false;
  /* Two passes: only a query that carries X-Amz-Signature is a signed one. */
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i <= qlen;) {
      size_t j = i;
      while (j < qlen && r->query[j] != '&')
        j++;
      const char *piece = r->query + i;
      size_t n = j - i;
      const char *eq = memchr(piece, '=', n);
      char *key = decoded(piece, eq ? (size_t)(eq - piece) : n);
      char *val = eq ? decoded(eq + 1, (size_t)(piece + n - eq - 1)) : strdup("");
      if (key == NULL || val == NULL) {
        free(key);
        free(val);
        free(kept);
        return failure("out of memory");
      }
      char **slot = NULL;
      bool drop = false;
      if (ieq(key, "X-Amz-Signature"))
        slot = &p->signature;
      else if (ieq(key, "X-Amz-Credential"))
        slot = &p->credential;
      else if (ieq(key, "X-Amz-SignedHeaders"))
        slot = &p->signed_headers;
      else if (ieq(key, "X-Amz-Date"))
        slot = &p->date;
      else if (ieq(key, "X-Amz-Expires"))
        slot = &p->expires;
      else if (ieq(key, "X-Amz-Algorithm"))
        drop = true;
      else if (o->token && ieq(key, "X-Amz-Security-Token"))
        drop = true;
      if (pass == 0) {
        has_signature = has_signature || slot == &p->signature;
      } else if (has_signature && (slot != NULL || drop)) {
        if (slot != NULL && *slot == NULL) {
          *slot = val;
          val = NULL;
        }
      } else if (n > 0) {
        if (klen > 0)
          kept[klen++] = '&';
        memcpy(kept + klen, piece, n);
        klen += n;
      }
      free(key);
      free(val);
      i = j + 1;
    }
    if (!has_signature)
      break;
  }
  if (has_signature) {
    kept[klen] = '\0';
    free(r->query);
    r->query = kept;
    p->present = true;
    if (p->credential == NULL || p->signed_headers == NULL)
      return failure("the query has X-Amz-Signature but no X-Amz-Credential or "
                     "X-Amz-SignedHeaders; remove the X-Amz-* parameters to sign afresh");
  } else {
    free(kept);
  }
  return 0;
}

/* Whether name (any case) is in the ';'-separated lowercase list. */
static bool in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *s = list; *s;) {
    const char *end = strchr(s, ';');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len == n) {
      bool same = true;
      for (size_t i = 0; i < n && same; i++) {
        char c = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
        same = c == s[i];
      }
      if (same)
        return true;
    }
    s += len + (end != NULL);
  }
  return false;
}

/* Points out where the request's credential scope differs from the options:
 * the usual cause of SignatureDoesNotMatch. */
static void compare_scope(const char *credential, const char *ak, const char *amz_date,
                          const char *region, const char *service) {
  char *c = strdup(credential);
  if (c == NULL)
    return;
  const char *field[5] = {0};
  char *s = c;
  for (int i = 0; i < 5 && s != NULL; i++) {
    field[i] = s;
    s = strchr(s, '/');
    if (s != NULL)
      *s++ = '\0';
  }
  if (field[4] == NULL) {
    note("the request's credential \"%s\" is not AK/date/region/service/aws4_request",
         credential);
  } else {
    if (strcmp(field[0], ak) != 0)
      note("the request was signed with access key id %s, not %s", field[0], ak);
    if (strncmp(field[1], amz_date, 8) != 0 || strlen(field[1]) != 8)
      note("the request's credential date is %s, the signing date is %.8s", field[1], amz_date);
    if (strcmp(field[2], region) != 0)
      note("the request was signed for region %s, not %s", field[2], region);
    if (strcmp(field[3], service) != 0)
      note("the request was signed for service %s, not %s", field[3], service);
  }
  free(c);
}

/* ---- the command ------------------------------------------------------------ */

typedef struct sign_job {
  sign_opts o;
  raw_request req;
  prior_sig prior;
  dorm_sigv4_header *to_sign;
  dorm_sigv4_result res;
  char *input;
} sign_job;

static int check_opts(sign_opts *o, dorm_sigv4_config *cfg) {
  if (o->region == NULL)
    return usage_error("missing --region (the region of the credential scope, e.g. us-east-1)");
  if (o->service == NULL)
    return usage_error("missing --service (the service of the credential scope, e.g. dynamodb)");
  if ((o->access_key_id == NULL) != (o->secret == NULL))
    return usage_error("give both --access-key-id and --secret-access-key, or neither to use "
                       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  if (o->access_key_id == NULL) {
    o->access_key_id = getenv("AWS_ACCESS_KEY_ID");
    o->secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (o->token == NULL)
      o->token = getenv("AWS_SESSION_TOKEN");
    if (o->access_key_id == NULL || o->secret == NULL || !*o->access_key_id || !*o->secret)
      return usage_error("missing --access-key-id and --secret-access-key (or AWS_ACCESS_KEY_ID "
                         "and AWS_SECRET_ACCESS_KEY in the environment)");
  }
  if (o->token != NULL && *o->token == '\0')
    o->token = NULL;
  if (o->unsigned_token && o->token == NULL)
    return usage_error("--unsigned-session-token needs a session token");
  if (o->expires != NULL && !o->query)
    return usage_error("--expires applies to presigned requests only (add --query)");
  memset(cfg, 0, sizeof *cfg);
  cfg->region = o->region;
  cfg->service = o->service;
  cfg->credentials = (dorm_sigv4_credentials){o->access_key_id, o->secret, o->token};
  cfg->flags = (o->no_normalize ? 0u : DORM_SIGV4_NORMALIZE_PATH) |
               (o->sign_body ? DORM_SIGV4_SIGN_BODY : 0u) | (o->query ? DORM_SIGV4_QUERY : 0u) |
               (o->unsigned_token ? DORM_SIGV4_UNSIGNED_SESSION_TOKEN : 0u);
  if (o->time != NULL && !dorm__sigv4_parse_time(o->time, &cfg->time))
    return usage_error("--time '%s' is not 20150830T123600Z or 2015-08-30T12:36:00Z", o->time);
  if (o->expires != NULL) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(o->expires, &end, 10);
    if (errno || end == o->expires || *end || o->expires[0] == '-' || v < 1 ||
        v > DORM_SIGV4_MAX_EXPIRES)
      return usage_error("--expires '%s' is not a number of seconds in 1..%u", o->expires,
                         DORM_SIGV4_MAX_EXPIRES);
    cfg->expires = (uint32_t)v;
  }
  return 0;
}

/* Settles time and expiry (options, else the request's own, else defaults). */
static int settle_time(sign_job *j, dorm_sigv4_config *cfg) {
  if (j->o.time == NULL) {
    if (j->prior.date != NULL) {
      if (!dorm__sigv4_parse_time(j->prior.date, &cfg->time))
        return failure("the request's X-Amz-Date \"%s\" is not a SigV4 time like "
                       "20150830T123600Z; give --time",
                       j->prior.date);
    } else {
      cfg->time = (int64_t)time(NULL);
    }
  }
  if (j->o.query && j->o.expires == NULL) {
    cfg->expires = DEFAULT_EXPIRES;
    if (j->prior.expires != NULL) {
      char *end;
      unsigned long v = strtoul(j->prior.expires, &end, 10);
      if (*end || end == j->prior.expires || v < 1 || v > DORM_SIGV4_MAX_EXPIRES)
        return failure("the request's X-Amz-Expires \"%s\" is not in 1..%u; give --expires",
                       j->prior.expires, DORM_SIGV4_MAX_EXPIRES);
      cfg->expires = (uint32_t)v;
    }
  }
  return 0;
}

/* The headers to sign: all of them, or those the request's own signature
 * covered. Notes what looks wrong. */
static int choose_headers(sign_job *j, size_t *count) {
  raw_request *r = &j->req;
  j->to_sign = calloc(r->header_count + 1, sizeof *j->to_sign);
  if (j->to_sign == NULL)
    return failure("out of memory");
  size_t n = 0;
  bool host = false;
  char unsigned_names[512] = "";
  size_t ulen = 0;
  for (size_t i = 0; i < r->header_count; i++) {
    const char *name = r->headers[i].name;
    host = host || ieq(name, "host");
    if (j->prior.present && !in_list(j->prior.signed_headers, name)) {
      int w = snprintf(unsigned_names + ulen, sizeof unsigned_names - ulen, "%s%s",
                       ulen ? ", " : "", name);
      if (w > 0 && (size_t)w < sizeof unsigned_names - ulen)
        ulen += (size_t)w;
      continue;
    }
    j->to_sign[n++] = r->headers[i];
  }
  if (ulen > 0)
    note("not signed, as the request's SignedHeaders do not list them: %s", unsigned_names);
  if (!host)
    note("the request has no Host header; AWS requires host to be signed");
  if (j->prior.present) {
    const char *list = j->prior.signed_headers;
    for (const char *s = list; *s;) {
      const char *end = strchr(s, ';');
      size_t len = end ? (size_t)(end - s) : strlen(s);
      char name[128];
      if (len > 0 && len < sizeof name) {
        memcpy(name, s, len);
        name[len] = '\0';
        bool added = !j->o.query && (strcmp(name, "x-amz-date") == 0 ||
                                     (j->o.token && !j->o.unsigned_token &&
                                      strcmp(name, "x-amz-security-token") == 0) ||
                                     (j->o.sign_body && strcmp(name, "x-amz-content-sha256") == 0));
        bool found = added;
        for (size_t i = 0; i < r->header_count && !found; i++)
          found = ieq(r->headers[i].name, name);
        if (!found)
          note("the request's SignedHeaders list %s, but the request has no such header", name);
      }
      s += len + (end != NULL);
    }
  }
  for (size_t i = 0; i < r->header_count; i++) {
    if (!ieq(r->headers[i].name, "content-length"))
      continue;
    char *end;
    const char *v = r->headers[i].value;
    unsigned long long cl = strtoull(v, &end, 10);
    if (end != v && cl != (unsigned long long)r->body_len)
      note("Content-Length is %llu but the body has %zu bytes", cl, r->body_len);
  }
  *count = n;
  return 0;
}

static int run(sign_job *j, int argc, char **argv) {
  int rc = parse_opts(argc, argv, &j->o);
  if (rc != 0)
    return rc;
  if (j->o.help) {
    dorm_sign_help(stdout);
    return DORM_EXIT_OK;
  }
  dorm_sigv4_config cfg;
  if ((rc = check_opts(&j->o, &cfg)) != 0)
    return rc;

  if (isatty(STDIN_FILENO))
    fputs("dorm sign: reading the request from the terminal; end it with Ctrl-D\n", stderr);
  size_t len = 0;
  int err = 0;
  j->input = read_all(stdin, &len, &err);
  if (j->input == NULL && err == EFBIG)
    return failure("the request on stdin is larger than 64 MiB");
  if (j->input == NULL)
    return failure("cannot read stdin: %s", strerror(err));
  size_t line = 0;
  char msg[256];
  if (!raw_request_parse(j->input, len, &j->req, &line, msg, sizeof msg))
    return failure("stdin:%zu: %s", line, msg);

  rc = j->o.query ? take_query_signature(&j->req, &j->o, &j->prior)
                  : take_header_signature(&j->req, &j->o, &j->prior);
  if (rc == 0)
    rc = settle_time(j, &cfg);
  size_t nsign = 0;
  if (rc == 0)
    rc = choose_headers(j, &nsign);
  if (rc != 0)
    return rc;

  dorm_sigv4_request req = {
      .method = j->req.method,
      .path = j->req.path,
      .query = j->req.query,
      .headers = j->to_sign,
      .header_count = nsign,
      .body = j->req.body,
      .body_len = j->req.body_len,
  };
  char serr[256];
  dorm_status st = dorm__sigv4_sign(&req, &cfg, &j->res, serr, sizeof serr);
  if (st != DORM_OK)
    return failure("%s", strncmp(serr, "sigv4: ", 7) == 0 ? serr + 7 : serr);

  if (j->o.verbose)
    fprintf(stderr,
            "----- canonical request -----\n%s\n----- string to sign -----\n%s\n"
            "----- end -----\n",
            j->res.canonical_request, j->res.string_to_sign);
  size_t out_len = 0;
  char *out = raw_request_format_signed(&j->req, &j->res, &out_len);
  if (out == NULL)
    return failure("out of memory");
  size_t put = fwrite(out, 1, out_len, stdout);
  free(out);
  if (put != out_len || fflush(stdout) != 0)
    return failure("cannot write the signed request to stdout");

  if (!j->prior.present)
    return DORM_EXIT_OK;
  compare_scope(j->prior.credential, j->o.access_key_id, j->res.amz_date, j->o.region,
                j->o.service);
  if (dorm__sigv4_signature_equal(j->prior.signature, j->res.signature)) {
    fputs("dorm sign: the request's signature matches\n", stderr);
    return DORM_EXIT_OK;
  }
  fprintf(stderr,
          "dorm sign: the request's signature differs\n  request:  %s\n  computed: %s\n"
          "compare the canonical request (--verbose) with the one in AWS's error message\n",
          j->prior.signature, j->res.signature);
  return DORM_EXIT_MISMATCH;
}

int dorm_sign_main(int argc, char **argv) {
  sign_job j;
  memset(&j, 0, sizeof j);
  int rc = run(&j, argc, argv);
  dorm__sigv4_result_free(&j.res);
  free(j.to_sign);
  prior_free(&j.prior);
  raw_request_free(&j.req);
  free(j.input);
  return rc;
}
