/* protocol: the wire format of docs/streamer.md. Client messages are parsed
 * with limits checked before anything else (size, depth, id charset); server
 * messages are built with cJSON so every string is escaped correctly. */
#include "streamer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const CODES[] = {
    "INVALID_MESSAGE", "UNKNOWN_ACTION", "INVALID_PAYLOAD",   "FORBIDDEN",          "NOT_FOUND", "DUPLICATE_REQUEST",
    "TIMEOUT",         "CANCELLED",      "HANDLER_FAILED",    "PAYLOAD_TOO_LARGE",  "RATE_LIMITED", "INTERNAL",
    "UNAUTHORIZED",
};

bool dorm__st_known_code(const char *code) {
  if (!code) return false;
  for (size_t i = 0; i < sizeof CODES / sizeof CODES[0]; i++)
    if (strcmp(code, CODES[i]) == 0) return true;
  return false;
}

int64_t dorm__st_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dorm__st_now_text(char out[40]) {
  char full[32];
  dorm_time_format(dorm_time_now(), full); /* 2026-12-06T17:00:00.123456789Z */
  /* milliseconds are enough on the wire */
  snprintf(out, 40, "%.23sZ", full);
}

/* Depth of nested arrays/objects in raw JSON text, stopping early: the text
 * is checked before cJSON (which recurses) sees it. Strings are skipped. */
static bool depth_ok(const char *s, size_t len, int max) {
  int depth = 0;
  bool in_str = false;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (in_str) {
      if (ch == '\\') i++;
      else if (ch == '"') in_str = false;
      continue;
    }
    if (ch == '"') in_str = true;
    else if (ch == '{' || ch == '[') {
      if (++depth > max) return false;
    } else if (ch == '}' || ch == ']') depth--;
  }
  return true;
}

static bool id_ok(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > DORM__ST_MAX_ID) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = id[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == ':' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

static bool fail(const char **code, const char *c, char *msg, size_t cap, const char *text) {
  *code = c;
  snprintf(msg, cap, "%s", text);
  return false;
}

/* Whether the (parsed, so well-formed) JSON text escapes a NUL character.
 * cJSON's strings are C strings: "a\u0000b" reads as "a", and a payload
 * would be run cut short without a word. Outside strings JSON has no
 * backslash, and an escaped backslash (\\u0000) is text, not an escape. */
static bool has_nul_escape(const char *s, size_t n) {
  const char *end = s + n;
  while ((s = memchr(s, '\\', (size_t)(end - s))) != NULL) {
    if (end - s >= 6 && memcmp(s + 1, "u0000", 5) == 0) return true;
    s += 2; /* past the escaped character */
    if (s >= end) break;
  }
  return false;
}

static int cmp_key(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A member name an object of v (at any depth) holds twice, or NULL. cJSON
 * reads the first (a sync call ran with it) while the stored payload holds
 * both, which the model layer refuses: an async call was answered INTERNAL,
 * retryable, for ever. Readers disagree on which one counts (JavaScript's
 * JSON.parse takes the last), so the payload is refused. Sorting keeps a
 * 128 KB object of many members from costing n^2 comparisons. */
static const char *twice_named(const cJSON *v) {
  if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) return NULL;
  size_t n = 0;
  for (const cJSON *k = v->child; k; k = k->next) {
    const char *t = twice_named(k);
    if (t) return t;
    n++;
  }
  if (!cJSON_IsObject(v) || n < 2) return NULL;
  const char *small[16], **keys = n <= 16 ? small : malloc(n * sizeof *keys);
  const char *found = NULL;
  if (!keys) { /* out of memory: compare in place */
    for (const cJSON *a = v->child; a && !found; a = a->next)
      for (const cJSON *b = a->next; b && !found; b = b->next)
        if (strcmp(a->string, b->string) == 0) found = a->string;
    return found;
  }
  size_t i = 0;
  for (const cJSON *k = v->child; k; k = k->next) keys[i++] = k->string;
  qsort(keys, n, sizeof *keys, cmp_key);
  for (i = 1; i < n && !found; i++)
    if (strcmp(keys[i - 1], keys[i]) == 0) found = keys[i];
  if (keys != small) free(keys);
  return found;
}

bool dorm__st_parse(const char *text, size_t len, cJSON **root, dorm__st_msg *out, const char **code, char *msg,
                    size_t msgcap) {
  memset(out, 0, sizeof *out);
  out->id = "";
  *root = NULL;
  if (len > DORM__ST_MAX_MESSAGE)
    return fail(code, "PAYLOAD_TOO_LARGE", msg, msgcap, "message larger than 131072 bytes");
  if (!depth_ok(text, len, DORM__ST_MAX_DEPTH))
    return fail(code, "INVALID_MESSAGE", msg, msgcap, "message nested deeper than 33 levels (a payload at most 32)");
  const char *end = NULL;
  *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!*root) { /* cJSON leaves `end` where the text stopped being JSON (a lone surrogate's \u escape, say) */
    *code = "INVALID_MESSAGE";
    size_t at = end && end >= text && end < text + len ? (size_t)(end - text) + 1 : len; /* 1-based */
    snprintf(msg, msgcap, "the message is not valid JSON (near byte %zu of %zu)", at, len);
    return false;
  }
  if (!cJSON_IsObject(*root))
    return fail(code, "INVALID_MESSAGE", msg, msgcap, "a message is a JSON object");
  while (end && end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
  if (!end || end != text + len)
    return fail(code, "INVALID_MESSAGE", msg, msgcap, "a message is one JSON object, with nothing after it");
  dorm__st_exact_numbers(*root, text, len);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(*root, "id");
  const cJSON *action = cJSON_GetObjectItemCaseSensitive(*root, "action");
  if (id && cJSON_IsString(id) && id_ok(id->valuestring)) out->id = id->valuestring;
  if (!action || !cJSON_IsString(action) || !action->valuestring[0])
    return fail(code, "INVALID_MESSAGE", msg, msgcap, "\"action\" must be a non-empty string");
  out->action = action->valuestring;
  if (strcmp(out->action, "ping") == 0) {
    out->kind = DORM__ST_PING;
    return true;
  }
  if (!id || !cJSON_IsString(id))
    return fail(code, "INVALID_MESSAGE", msg, msgcap, "\"id\" must be a string");
  if (!id_ok(id->valuestring))
    return fail(code, "INVALID_MESSAGE", msg, msgcap,
                "\"id\" must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
  if (strcmp(out->action, "status") == 0) out->kind = DORM__ST_STATUS;
  else if (strcmp(out->action, "cancel") == 0) out->kind = DORM__ST_CANCEL;
  else if (strcmp(out->action, "get_result") == 0) out->kind = DORM__ST_GET_RESULT;
  else if (strcmp(out->action, "resume") == 0) {
    out->kind = DORM__ST_RESUME;
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(*root, "last_seq");
    if (ls && (!cJSON_IsNumber(ls) || ls->valuedouble < 0 || ls->valuedouble > 9e15 ||
               ls->valuedouble != (double)(int64_t)ls->valuedouble))
      return fail(code, "INVALID_MESSAGE", msg, msgcap, "\"last_seq\" must be a non-negative integer");
    out->last_seq = ls ? (int64_t)ls->valuedouble : 0;
  } else {
    out->kind = DORM__ST_CALL;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(*root, "payload");
    if (p && !cJSON_IsObject(p) && !cJSON_IsNull(p))
      return fail(code, "INVALID_PAYLOAD", msg, msgcap, "\"payload\" must be an object");
    out->payload = cJSON_IsObject(p) ? p : NULL;
    const char *twice = twice_named(out->payload);
    if (twice) {
      char text[128];
      snprintf(text, sizeof text, "payload: an object names the member \"%.64s\" twice", twice);
      return fail(code, "INVALID_PAYLOAD", msg, msgcap, text);
    }
  }
  if (has_nul_escape(text, len))
    return fail(code, out->kind == DORM__ST_CALL ? "INVALID_PAYLOAD" : "INVALID_MESSAGE", msg, msgcap,
                "a string holds \\u0000 (NUL), which no string here can carry (binary data goes in a bytes "
                "field, as base64)");
  return true;
}

void dorm__st_json_str(dorm__buf *b, const char *s) {
  dorm__buf_putc(b, '"');
  /* text from handlers may not be UTF-8: a text frame must be */
  dorm__json_escape(b, s, strlen(s), DORM_JSON_ESC_SHORT_BF | DORM_JSON_ESC_UTF8_FIX, NULL);
  dorm__buf_putc(b, '"');
}

size_t dorm__st_utf8_copy(char *dst, size_t cap, const char *s) {
  size_t len = strlen(s), o = 0;
  for (size_t i = 0; i < len;) {
    const unsigned char *u = (const unsigned char *)s + i;
    size_t n = u[0] < 0x80 ? 1 : dorm_utf8_seq(u, len - i);
    const char *from = n ? s + i : "\xEF\xBF\xBD"; /* U+FFFD for one bad byte */
    size_t out = n ? n : 3;
    if (o + out >= cap) break;
    memcpy(dst + o, from, out);
    o += out;
    i += n ? n : 1;
  }
  dst[o] = '\0';
  return o;
}

char *dorm__st_utf8_dup(const char *s) {
  if (!s) return NULL;
  size_t cap = strlen(s) * 3 + 1;
  char *d = malloc(cap);
  if (d) dorm__st_utf8_copy(d, cap, s);
  return d;
}

/* Written straight into one buffer (this runs for every progress update):
 * the envelope, then the members of extra, an object's text, spliced in. */
char *dorm__st_message(const char *type, const char *request_id, int64_t seq, const char *extra) {
  dorm__buf b = DORM__BUF_INIT;
  char ts[40];
  dorm__st_now_text(ts);
  dorm__buf_puts(&b, "{\"type\":");
  dorm__st_json_str(&b, type);
  if (request_id) {
    dorm__buf_puts(&b, ",\"request_id\":");
    dorm__st_json_str(&b, request_id);
  }
  if (seq > 0) dorm__buf_printf(&b, ",\"seq\":%lld", (long long)seq);
  dorm__buf_printf(&b, ",\"ts\":\"%s\"", ts);
  if (extra) {
    const char *open = strchr(extra, '{');
    const char *close = strrchr(extra, '}');
    if (open && close && close > open) {
      const char *in = open + 1;
      while (in < close && (*in == ' ' || *in == '\n' || *in == '\t' || *in == '\r')) in++;
      if (in < close) {
        dorm__buf_putc(&b, ',');
        dorm__buf_put(&b, in, (size_t)(close - in));
      }
    }
  }
  dorm__buf_putc(&b, '}');
  return dorm__buf_take(&b);
}

char *dorm__st_error_message(const char *request_id, int64_t seq, const char *code, const char *message,
                             bool retryable) {
  dorm__buf e = DORM__BUF_INIT;
  dorm__buf_puts(&e, "{\"error\":{\"code\":");
  dorm__st_json_str(&e, code);
  dorm__buf_puts(&e, ",\"message\":");
  dorm__st_json_str(&e, message ? message : "");
  dorm__buf_puts(&e, retryable ? ",\"retryable\":true}}" : ",\"retryable\":false}}");
  char *text = dorm__buf_ok(&e) ? dorm__st_message("error", request_id, seq, dorm__buf_text(&e)) : NULL;
  dorm__buf_free(&e);
  return text;
}

char *dorm__st_status_extra(const char *status, const char *endpoint, double percent, const char *message,
                            const char *progress, int64_t last_seq) {
  /* the message escaped as in progress messages (valid UTF-8 whatever the
   * handler gave, the same size its limit was checked at) */
  dorm__buf b = DORM__BUF_INIT;
  dorm__buf_puts(&b, "{\"status\":");
  dorm__st_json_str(&b, status);
  dorm__buf_puts(&b, ",\"endpoint\":");
  dorm__st_json_str(&b, endpoint ? endpoint : "");
  dorm__buf_printf(&b, ",\"percent\":%.17g", percent);
  if (message) {
    dorm__buf_puts(&b, ",\"message\":");
    dorm__st_json_str(&b, message);
  }
  if (progress) {
    dorm__buf_puts(&b, ",\"progress\":");
    dorm__buf_puts(&b, progress);
  }
  dorm__buf_printf(&b, ",\"last_seq\":%lld}", (long long)last_seq);
  char *t = dorm__buf_ok(&b) ? dorm__buf_take(&b) : NULL;
  dorm__buf_free(&b);
  return t;
}

char *dorm__st_item_status(const char *rid, int64_t seq, const dorm_streamer_Request *r) {
  char *extra = dorm__st_status_extra(dorm_streamer_RequestStatus_to_string(r->status), r->endpoint, r->percent,
                                      r->message, r->progress, seq - 1);
  char *text = extra ? dorm__st_message("status", rid, seq, extra) : NULL;
  free(extra);
  return text;
}
