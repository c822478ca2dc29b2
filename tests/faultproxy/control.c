#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respond.h"

#define PREFIX "/__proxy/"

bool fp_control_target(const char *target, size_t len) {
  return len >= sizeof PREFIX - 1 && memcmp(target, PREFIX, sizeof PREFIX - 1) == 0;
}

static bool method_is(const fp_head *req, const char *m) {
  return req->method_len == strlen(m) && memcmp(req->method, m, req->method_len) == 0;
}

static bool path_is(const char *path, size_t len, const char *want) {
  return len == strlen(want) && memcmp(path, want, len) == 0;
}

/* Sends {"<key>":"<text>"} (plus "ok":true when ok) with status. */
static int respond_text(fp_buf *out, int status, bool ok, const char *key, const char *text, bool close) {
  fp_buf body = {0};
  int rc = -1;
  if (fp_buf_printf(&body, "{%s\"%s\":", ok ? "\"ok\":true," : "", key) == 0 &&
      fp_json_string(&body, text, strlen(text)) == 0 && fp_buf_append(&body, "}", 1) == 0) {
    rc = fp_respond_json(out, status, body.data, body.len, close);
  }
  fp_buf_free(&body);
  return rc;
}

static int method_not_allowed(fp_buf *out, const char *allowed, bool close) {
  char msg[128];
  snprintf(msg, sizeof msg, "use %s", allowed);
  return respond_text(out, 405, false, "error", msg, close);
}

int fp_control(const fp_head *req, const char *body, size_t body_len, fp_plan *plan, fp_stats *stats,
               fp_buf *out, bool close) {
  size_t plen = req->target_len;
  const char *q = memchr(req->target, '?', plen);
  if (q) plen = (size_t)(q - req->target);
  const char *path = req->target;

  if (path_is(path, plen, PREFIX "stats")) {
    if (!method_is(req, "GET")) return method_not_allowed(out, "GET", close);
    fp_buf json = {0};
    int rc = fp_stats_json(&json, stats);
    if (rc == 0) rc = fp_respond_json(out, 200, json.data, json.len, close);
    fp_buf_free(&json);
    return rc;
  }
  if (path_is(path, plen, PREFIX "stats/reset")) {
    if (!method_is(req, "POST")) return method_not_allowed(out, "POST", close);
    unsigned long long open = stats->open;
    memset(stats, 0, sizeof *stats);
    stats->open = open;
    return fp_respond_json(out, 200, "{\"ok\":true}", 11, close);
  }
  if (path_is(path, plen, PREFIX "plan")) {
    if (method_is(req, "GET")) {
      char *text = fp_plan_describe(plan);
      if (!text) return -1;
      int rc = respond_text(out, 200, false, "plan", text, close);
      free(text);
      return rc;
    }
    if (!method_is(req, "POST")) return method_not_allowed(out, "GET or POST", close);
    fp_plan next;
    char err[512];
    if (fp_plan_parse_text(body, body_len, &next, err, sizeof err) != 0) {
      return respond_text(out, 400, false, "error", err, close);
    }
    fp_plan_free(plan);
    *plan = next;
    char *text = fp_plan_describe(plan);
    if (!text) return -1;
    int rc = respond_text(out, 200, true, "plan", text, close);
    free(text);
    return rc;
  }
  return respond_text(out, 404, false, "error",
                      "unknown control path; use /__proxy/stats, /__proxy/stats/reset or /__proxy/plan", close);
}
