/* raw_request: a raw HTTP/1.1 request as text, in the layout of the AWS
 * SigV4 test suite's request.txt files: a request line, "Name:value" header
 * lines (a line starting with a space or tab continues the previous value),
 * then optionally a blank line and the body. Lines end in LF or CRLF; input
 * may end right after the headers. Used by `dorm sign` and its tests. */
#ifndef DORM_RAW_REQUEST_H
#define DORM_RAW_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "sigv4.h"

typedef struct raw_request {
  char *method;
  char *target;   /* as on the request line: path plus optional "?query" */
  char *version;  /* "HTTP/1.1" */
  char *path;     /* target up to the first '?' */
  char *query;    /* after the first '?', NULL when there is none */
  /* Headers in order; name is as written, value is everything after the
   * ':' (leading spaces kept) with continuation lines appended after '\n'. */
  dorm_sigv4_header *headers;
  size_t *header_lines; /* line number of each header, for messages */
  size_t header_count;
  char *body;           /* NUL-terminated copy, may contain NULs */
  size_t body_len;
  bool has_blank_line;  /* the header section ended with a blank line */
} raw_request;

/* Parses len bytes of text into *out (owned; free with raw_request_free()).
 * Returns true on success. On failure *out is empty, *line (if not NULL) is
 * the 1-based line at fault and err receives a message without location. */
bool raw_request_parse(const char *text, size_t len, raw_request *out, size_t *line, char *err,
                       size_t errcap);

/* Removes header i (0-based), keeping the order of the others. */
void raw_request_remove_header(raw_request *r, size_t i);

/* The signed request as text, in the layout of the suite's
 * *-signed-request.txt: the request line (in the query form, res's
 * presigning parameters appended to the query), the request's headers in
 * order, the headers res adds, a blank line, the body. Lines end in LF.
 * Returns a malloc'd buffer (its length in *len), NULL when out of memory. */
char *raw_request_format_signed(const raw_request *r, const dorm_sigv4_result *res, size_t *len);

/* Frees what *r owns and empties it. */
void raw_request_free(raw_request *r);

#endif
