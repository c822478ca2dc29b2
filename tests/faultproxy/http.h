/* Minimal HTTP/1.1 message heads for dorm-faultproxy: a growable byte buffer
 * and request/response head parsers. Only what a DynamoDB exchange uses:
 * Content-Length bodies; Transfer-Encoding is reported so the caller can
 * refuse it. Parsed fields point into the caller's buffer and are valid while
 * that buffer is unchanged.
 */
#ifndef FP_HTTP_H
#define FP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fp_buf {
  char *data;
  size_t len, cap;
} fp_buf;

/* Appends n bytes (grows as needed). Returns 0, or -1 when out of memory
 * (the buffer is unchanged). */
int fp_buf_append(fp_buf *b, const void *data, size_t n);

/* Appends printf-formatted text. Returns 0, or -1 (buffer unchanged). */
int fp_buf_printf(fp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for at least n more bytes. Returns 0, or -1. */
int fp_buf_reserve(fp_buf *b, size_t n);

/* Drops the first n bytes (n <= len). */
void fp_buf_consume(fp_buf *b, size_t n);

/* Frees the storage and leaves an empty buffer. */
void fp_buf_free(fp_buf *b);

#define FP_MAX_HEADERS 100

typedef struct fp_header {
  const char *name, *value;
  size_t name_len, value_len;
} fp_header;

typedef struct fp_head {
  size_t head_len;         /* bytes up to and including the blank line */
  int minor;               /* HTTP/1.<minor> */
  const char *method;      /* requests */
  size_t method_len;
  const char *target;
  size_t target_len;
  int status;              /* responses */
  long long content_length; /* -1: none */
  bool chunked;            /* a Transfer-Encoding header is present */
  bool conn_close, conn_keep_alive, expect_continue;
  fp_header headers[FP_MAX_HEADERS];
  size_t nheaders;
} fp_head;

typedef enum fp_parse {
  FP_PARSE_OK = 0,
  FP_PARSE_INCOMPLETE, /* the blank line has not arrived yet */
  FP_PARSE_BAD,        /* malformed: 400 */
  FP_PARSE_TOO_LARGE   /* head longer than max_head or too many headers: 431 */
} fp_parse;

/* Parses a request head at the start of buf. On FP_PARSE_BAD / TOO_LARGE,
 * *why (if not NULL) gets a static explanation. */
fp_parse fp_parse_request(const char *buf, size_t len, size_t max_head, fp_head *out, const char **why);

/* Same for a response head ("HTTP/1.x NNN reason"). */
fp_parse fp_parse_response(const char *buf, size_t len, size_t max_head, fp_head *out, const char **why);

/* Case-insensitive header-name comparison. */
bool fp_header_is(const fp_header *h, const char *name);

/* The first header called name, or NULL. */
const fp_header *fp_head_find(const fp_head *h, const char *name);

/* True for headers a proxy must not pass on (Connection, Keep-Alive,
 * Proxy-*, TE, Trailer, Upgrade, Expect). */
bool fp_header_hop_by_hop(const fp_header *h);

#endif
