/* Helpers for the dorm-faultproxy integration tests: DynamoDB calls with
 * libcurl that record what a client sees, and raw-socket helpers for
 * misbehaving clients. Test code only. */
#ifndef FP_TESTLIB_H
#define FP_TESTLIB_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct tl_resp {
  CURLcode cc;            /* CURLE_OK, or how the transfer failed */
  long status;            /* HTTP status, 0 when none arrived */
  char *body;             /* malloc'd, NUL-terminated (may be empty) */
  size_t body_len;
  bool has_crc;
  unsigned long crc;      /* x-amz-crc32 value */
  char fault[32];         /* x-dorm-faultproxy value, "" when absent */
  long new_connections;   /* connections curl opened for this call */
  double seconds;         /* total time */
  long long content_length; /* announced Content-Length, -1 when unknown */
} tl_resp;

/* A curl handle for DynamoDB JSON calls (reuse it to keep the connection). */
CURL *tl_handle(void);

/* POSTs json as DynamoDB operation op (e.g. "PutItem") to endpoint with a
 * SigV4-looking Authorization header (DynamoDB Local does not check it).
 * timeout_ms 0 means 30 s. Never fails the test itself. */
void tl_call(CURL *h, const char *endpoint, const char *op, const char *json, long timeout_ms, tl_resp *out);

/* Same on a fresh handle. */
void tl_call1(const char *endpoint, const char *op, const char *json, long timeout_ms, tl_resp *out);

void tl_resp_free(tl_resp *r);

/* Does the x-amz-crc32 header match the body? */
bool tl_crc_matches(const tl_resp *r);

/* CRC32 of bytes, as DynamoDB computes x-amz-crc32. */
unsigned long tl_crc32(const char *data, size_t n);

/* Creates a table with a string hash key "pk" directly on endpoint (no-op if
 * it exists). Returns 0 on success. */
int tl_create_table(const char *endpoint, const char *table);

/* PutItem {pk: key, v: value} / does GetItem (consistent) find pk=key? */
void tl_put(CURL *h, const char *endpoint, const char *table, const char *key, tl_resp *out);
bool tl_item_exists(const char *endpoint, const char *table, const char *key);

/* Raw sockets: connect to 127.0.0.1:port (blocking), -1 on failure. */
int tl_connect(int port);

/* Sends all bytes; 0 or -1. */
int tl_send_all(int fd, const void *data, size_t n);

/* Reads until the peer closes, an error, or timeout_ms passes. Returns the
 * bytes (malloc'd, NUL-terminated) and in *how: 0 closed (FIN), 1 reset or
 * error, 2 timeout. */
char *tl_read_until_close(int fd, long timeout_ms, size_t *len, int *how);

/* Reads exactly one HTTP response (head + Content-Length body) from fd.
 * Returns it malloc'd (NUL-terminated) or NULL on EOF/timeout/error. */
char *tl_read_response(int fd, long timeout_ms, size_t *len);

/* A full request for op with a JSON body (HTTP/1.1, keep-alive). malloc'd. */
char *tl_request_text(int port, const char *op, const char *json);

/* Milliseconds on the monotonic clock. */
long long tl_now_ms(void);

void tl_sleep_ms(long ms);

#endif
