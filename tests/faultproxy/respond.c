#include "respond.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

const char *fp_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

static int date_header(fp_buf *out) {
  char date[64];
  time_t now = time(NULL);
  struct tm tm;
  if (!gmtime_r(&now, &tm) || strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0) {
    return 0; /* a missing Date header harms nobody */
  }
  return fp_buf_printf(out, "Date: %s\r\n", date);
}

static unsigned long body_crc(const char *body, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
    crc = crc32(crc, (const Bytef *)body, chunk);
    body += chunk;
    n -= chunk;
  }
  return (unsigned long)crc;
}

/* Bodies as DynamoDB sends them: __type is the error's shape id, message in lower case. */
static const struct {
  fp_fault fault;
  int status;
  const char *type, *message;
} fault_bodies[] = {
    {FP_500, 500, "com.amazonaws.dynamodb.v20120810#InternalServerError",
     "Internal server error (injected by dorm-faultproxy)"},
    {FP_503, 503, "com.amazonaws.dynamodb.v20120810#ServiceUnavailableException",
     "Service unavailable (injected by dorm-faultproxy)"},
    {FP_THROTTLE, 400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
     "The level of configured provisioned throughput for the table was exceeded. Consider increasing "
     "your provisioning level with the UpdateTable API. (injected by dorm-faultproxy)"},
    {FP_THROTTLING, 400, "com.amazon.coral.availability#ThrottlingException",
     "Rate of requests exceeds the allowed throughput. (injected by dorm-faultproxy)"},
    {FP_VALIDATION, 400, "com.amazon.coral.validate#ValidationException",
     "One or more parameter values were invalid (injected by dorm-faultproxy)"},
};

int fp_respond_fault(fp_buf *out, fp_fault f, unsigned long long request_no, bool close) {
  for (size_t i = 0; i < sizeof fault_bodies / sizeof fault_bodies[0]; i++) {
    if (fault_bodies[i].fault != f) continue;
    char body[512];
    int n = snprintf(body, sizeof body, "{\"__type\":\"%s\",\"message\":\"%s\"}", fault_bodies[i].type,
                     fault_bodies[i].message);
    if (n < 0 || (size_t)n >= sizeof body) return -1;
    size_t mark = out->len;
    int st = fault_bodies[i].status;
    if (fp_buf_printf(out,
                      "HTTP/1.1 %d %s\r\n"
                      "x-amzn-RequestId: FAULTPROXY%042llu\r\n"
                      "x-amz-crc32: %lu\r\n"
                      "Content-Type: application/x-amz-json-1.0\r\n"
                      "Content-Length: %d\r\n"
                      "x-dorm-faultproxy: %s\r\n"
                      "%s",
                      st, fp_reason(st), request_no, body_crc(body, (size_t)n), n, fp_fault_name(f),
                      close ? "Connection: close\r\n" : "") != 0 ||
        date_header(out) != 0 || fp_buf_append(out, "\r\n", 2) != 0 || fp_buf_append(out, body, (size_t)n) != 0) {
      out->len = mark;
      return -1;
    }
    return 0;
  }
  return -1;
}

int fp_respond_json(fp_buf *out, int status, const char *json, size_t json_len, bool close) {
  size_t mark = out->len;
  if (fp_buf_printf(out,
                    "HTTP/1.1 %d %s\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %zu\r\n"
                    "%s",
                    status, fp_reason(status), json_len, close ? "Connection: close\r\n" : "") != 0 ||
      date_header(out) != 0 || fp_buf_append(out, "\r\n", 2) != 0 || fp_buf_append(out, json, json_len) != 0) {
    out->len = mark;
    return -1;
  }
  return 0;
}

int fp_respond_relay(fp_buf *out, const char *resp, const fp_head *h, size_t body_len, fp_fault mode,
                     bool close) {
  size_t mark = out->len;
  const char *body = resp + h->head_len;
  const char *eol = memchr(resp, '\n', h->head_len);
  size_t line_len = (size_t)(eol - resp);
  if (line_len > 0 && resp[line_len - 1] == '\r') line_len--;
  if (fp_buf_append(out, resp, line_len) != 0 || fp_buf_append(out, "\r\n", 2) != 0) goto oom;
  bool crc_seen = false;
  for (size_t i = 0; i < h->nheaders; i++) {
    const fp_header *hd = &h->headers[i];
    if (fp_header_hop_by_hop(hd)) continue;
    if (mode == FP_BADCRC && fp_header_is(hd, "x-amz-crc32")) {
      /* Flipping bits guarantees a mismatch whatever the real value was. */
      unsigned long v = 0;
      for (size_t k = 0; k < hd->value_len && hd->value[k] >= '0' && hd->value[k] <= '9'; k++) {
        v = (v * 10 + (unsigned long)(hd->value[k] - '0')) & 0xFFFFFFFFul;
      }
      if (fp_buf_printf(out, "%.*s: %lu\r\n", (int)hd->name_len, hd->name, v ^ 0x5A5A5A5Aul) != 0) goto oom;
      crc_seen = true;
      continue;
    }
    if (fp_buf_printf(out, "%.*s: %.*s\r\n", (int)hd->name_len, hd->name, (int)hd->value_len, hd->value) != 0)
      goto oom;
  }
  if (mode == FP_BADCRC && !crc_seen &&
      fp_buf_printf(out, "x-amz-crc32: %lu\r\n", body_crc(body, body_len) ^ 0x5A5A5A5Aul) != 0)
    goto oom;
  if (mode != FP_PASS && fp_buf_printf(out, "x-dorm-faultproxy: %s\r\n", fp_fault_name(mode)) != 0) goto oom;
  if (close && fp_buf_append(out, "Connection: close\r\n", 19) != 0) goto oom;
  if (fp_buf_append(out, "\r\n", 2) != 0) goto oom;
  if (fp_buf_append(out, body, mode == FP_TRUNCATE ? body_len / 2 : body_len) != 0) goto oom;
  return 0;
oom:
  out->len = mark;
  return -1;
}

int fp_json_string(fp_buf *out, const char *s, size_t n) {
  size_t mark = out->len;
  if (fp_buf_append(out, "\"", 1) != 0) goto oom;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int rc;
    if (c == '"' || c == '\\') rc = fp_buf_printf(out, "\\%c", c);
    else if (c < 0x20 || c == 0x7f) rc = fp_buf_printf(out, "\\u%04x", c);
    else rc = fp_buf_append(out, &s[i], 1);
    if (rc != 0) goto oom;
  }
  if (fp_buf_append(out, "\"", 1) != 0) goto oom;
  return 0;
oom:
  out->len = mark;
  return -1;
}

int fp_stats_json(fp_buf *out, const fp_stats *s) {
  size_t mark = out->len;
  if (fp_buf_printf(out,
                    "{\"requests\":%llu,\"forwarded\":%llu,\"passed\":%llu,\"slow\":%llu,"
                    "\"upstream_connects\":%llu,\"injected\":{",
                    s->requests, s->forwarded, s->passed, s->slow, s->upstream_connects) != 0)
    goto oom;
  for (int f = 1; f < FP_FAULT_COUNT; f++) {
    if (fp_buf_printf(out, "%s\"%s\":%llu", f > 1 ? "," : "", fp_fault_name((fp_fault)f), s->injected[f]) != 0)
      goto oom;
  }
  if (fp_buf_printf(out,
                    "},\"upstream_errors\":%llu,\"bad_requests\":%llu,\"responses_lost\":%llu,"
                    "\"control\":%llu,\"connections\":{\"accepted\":%llu,\"rejected\":%llu,\"open\":%llu}}",
                    s->upstream_errors, s->bad_requests, s->responses_lost, s->control, s->accepted, s->rejected,
                    s->open) != 0)
    goto oom;
  return 0;
oom:
  out->len = mark;
  return -1;
}
