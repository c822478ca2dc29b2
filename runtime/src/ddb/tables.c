/* Table operations: CreateTable, UpdateTable, DeleteTable, DescribeTable,
 * the waiters, Time to Live and ListTables. Request bodies and response
 * parsing are in tables_json.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops_common.h"

#define WAIT_DEFAULT_MS (10L * 60 * 1000)
#define WAIT_FIRST_POLL_MS 100L
#define WAIT_MAX_POLL_MS 5000L

static dorm_status check_table(dorm_client *c, const char *op, const char *table) {
  char err[256];
  if (dorm__tables_check_name(table, "table", err, sizeof err) != DORM_OK)
    return dorm__client_fail(c, DORM_ERR_INVALID_ARGUMENT, op, "%s", err);
  return DORM_OK;
}

/* Sends the writer's body; on success parses the response into *root. */
static dorm_status call_json(dorm_client *c, const char *op, cJSON **root) {
  const char *resp;
  size_t len;
  dorm_status st = dorm__client_send(c, op, &resp, &len);
  if (st != DORM_OK) return st;
  return dorm__ops_parse(c, op, resp, len, root);
}

/* Reads root[member] (TableDescription or Table) into out when out is set. */
static dorm_status read_description(dorm_client *c, const char *op, const cJSON *root, const char *member,
                                    dorm_arena *a, dorm_table_description *out) {
  if (!out) return DORM_OK;
  char err[256];
  dorm_status st = dorm__tables_parse_description(cJSON_GetObjectItemCaseSensitive(root, member), a, out, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "response: %s: %s", member, err);
  return DORM_OK;
}

/* Sends the body in the writer and reads the description in member. */
static dorm_status call_describing(dorm_client *c, const char *op, const char *member, dorm_arena *a,
                                   dorm_table_description *out) {
  cJSON *root;
  dorm_status st = call_json(c, op, &root);
  if (st != DORM_OK) return st;
  st = read_description(c, op, root, member, a, out);
  cJSON_Delete(root);
  return st;
}

dorm_status dorm_create_table(dorm_client *c, const dorm_table_def *def, dorm_arena *a,
                              dorm_table_description *out) {
  static const char op[] = "CreateTable";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, !out || a, "an arena is required for the description");
  if (out) memset(out, 0, sizeof *out);
  char err[256] = "";
  dorm_jw *w = dorm__client_writer(c);
  dorm_status st = dorm__tables_write_create(w, def, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "%s", err);
  return call_describing(c, op, "TableDescription", a, out);
}

dorm_status dorm_update_table(dorm_client *c, const char *table, const dorm_table_change *change, dorm_arena *a,
                              dorm_table_description *out) {
  static const char op[] = "UpdateTable";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, !out || a, "an arena is required for the description");
  if (out) memset(out, 0, sizeof *out);
  char err[256] = "";
  dorm_jw *w = dorm__client_writer(c);
  dorm_status st = dorm__tables_write_update(w, table, change, err, sizeof err);
  if (st != DORM_OK) return dorm__client_fail(c, st, op, "%s", err);
  return call_describing(c, op, "TableDescription", a, out);
}

dorm_status dorm_describe_table(dorm_client *c, const char *table, dorm_arena *a, dorm_table_description *out) {
  static const char op[] = "DescribeTable";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, !out || a, "an arena is required for the description");
  if (out) memset(out, 0, sizeof *out);
  dorm_status st = check_table(c, op, table);
  if (st != DORM_OK) return st;
  dorm_jw *w = dorm__ops_begin(c, table);
  dorm__jw_end_object(w);
  return call_describing(c, op, "Table", a, out);
}

dorm_status dorm_delete_table(dorm_client *c, const char *table, dorm_arena *a, dorm_table_description *out) {
  static const char op[] = "DeleteTable";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, !out || a, "an arena is required for the description");
  if (out) memset(out, 0, sizeof *out);
  dorm_status st = check_table(c, op, table);
  if (st != DORM_OK) return st;
  dorm_jw *w = dorm__ops_begin(c, table);
  dorm__jw_end_object(w);
  return call_describing(c, op, "TableDescription", a, out);
}

/* ---- waiters ---- */

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct waiter {
  long start, slept, timeout, poll;
} waiter;

static void waiter_init(waiter *wt, long timeout_ms) {
  wt->start = now_ms();
  wt->slept = 0;
  wt->timeout = timeout_ms > 0 ? timeout_ms : WAIT_DEFAULT_MS;
  wt->poll = WAIT_FIRST_POLL_MS;
}

/* Sleeps before the next poll; false when the deadline has passed. Time is
 * the larger of the clock and the sleeps asked for, so that a client whose
 * sleep was replaced (tests) still reaches its deadline. */
static bool waiter_sleep(dorm_client *c, waiter *wt) {
  long elapsed = now_ms() - wt->start;
  if (elapsed < wt->slept) elapsed = wt->slept;
  long left = wt->timeout - elapsed;
  if (left <= 0) return false;
  long d = wt->poll < left ? wt->poll : left;
  dorm__client_sleep_ms(c, d);
  wt->slept += d;
  wt->poll = wt->poll * 2 > WAIT_MAX_POLL_MS ? WAIT_MAX_POLL_MS : wt->poll * 2;
  return true;
}

/* Appends to buf what keeps d from being ready; true when nothing does. */
static bool table_ready(const dorm_table_description *d, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
#define WHY(...)                                                                \
  do {                                                                          \
    if (len < cap) {                                                            \
      int k = snprintf(buf + len, cap - len, "%s", len ? "; " : "");            \
      if (k > 0) len += (size_t)k;                                              \
    }                                                                           \
    if (len < cap) {                                                            \
      int k = snprintf(buf + len, cap - len, __VA_ARGS__);                      \
      if (k > 0) len += (size_t)k;                                              \
    }                                                                           \
  } while (0)
  if (d->status != DORM_TABLE_ACTIVE) WHY("the table is %s", d->status_text[0] ? d->status_text : "in no status");
  for (size_t i = 0; i < d->gsi_count; i++) {
    const dorm_index_description *x = &d->gsis[i];
    if (x->status != DORM_INDEX_ACTIVE)
      WHY("index %s is %s%s", x->name, x->status_text[0] ? x->status_text : "in no status",
          x->backfilling ? " (backfilling)" : "");
    else if (x->backfilling)
      WHY("index %s is backfilling", x->name);
  }
#undef WHY
  return len == 0;
}

dorm_status dorm_wait_table_active(dorm_client *c, const char *table, long timeout_ms, dorm_arena *a,
                                   dorm_table_description *out) {
  static const char op[] = "DescribeTable";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, !out || a, "an arena is required for the description");
  if (out) memset(out, 0, sizeof *out);
  dorm_status st = check_table(c, op, table);
  if (st != DORM_OK) return st;
  waiter wt;
  waiter_init(&wt, timeout_ms);
  dorm_arena tmp = DORM_ARENA_INIT;
  char why[512];
  for (;;) {
    dorm_arena_reset(&tmp);
    dorm_table_description d;
    st = dorm_describe_table(c, table, &tmp, &d);
    if (st == DORM_ERR_TABLE_NOT_FOUND) {
      snprintf(why, sizeof why, "the table does not exist");
    } else if (st != DORM_OK) {
      break;
    } else if (table_ready(&d, why, sizeof why)) {
      /* The description lives in tmp; hand the caller its own copy. */
      if (out) st = dorm_describe_table(c, table, a, out);
      break;
    }
    if (!waiter_sleep(c, &wt)) {
      st = dorm__client_fail(c, DORM_ERR_TIMEOUT, op, "table %s not ready after %ld ms: %s", table, wt.timeout, why);
      break;
    }
  }
  if (st == DORM_OK) dorm__client_clear_error(c);
  dorm_arena_free(&tmp);
  return st;
}

dorm_status dorm_wait_table_deleted(dorm_client *c, const char *table, long timeout_ms) {
  static const char op[] = "DescribeTable";
  dorm__client_clear_error(c);
  dorm_status st = check_table(c, op, table);
  if (st != DORM_OK) return st;
  waiter wt;
  waiter_init(&wt, timeout_ms);
  dorm_arena tmp = DORM_ARENA_INIT;
  for (;;) {
    dorm_arena_reset(&tmp);
    dorm_table_description d;
    st = dorm_describe_table(c, table, &tmp, &d);
    if (st == DORM_ERR_TABLE_NOT_FOUND) {
      dorm__client_clear_error(c);
      st = DORM_OK;
      break;
    }
    if (st != DORM_OK) break;
    if (!waiter_sleep(c, &wt)) {
      st = dorm__client_fail(c, DORM_ERR_TIMEOUT, op, "table %s still exists after %ld ms (status %s)", table,
                            wt.timeout, d.status_text[0] ? d.status_text : "unknown");
      break;
    }
  }
  dorm_arena_free(&tmp);
  return st;
}

/* ---- Time to Live ---- */

dorm_status dorm_update_ttl(dorm_client *c, const char *table, const char *attribute, bool enabled) {
  static const char op[] = "UpdateTimeToLive";
  dorm__client_clear_error(c);
  dorm_status st = check_table(c, op, table);
  if (st != DORM_OK) return st;
  OPS_REQUIRE(c, op, attribute && *attribute, "the TTL attribute name is required");
  dorm_jw *w = dorm__ops_begin(c, table);
  dorm__jw_key(w, "TimeToLiveSpecification");
  dorm__jw_begin_object(w);
  dorm__jw_key(w, "Enabled");
  dorm__jw_bool(w, enabled);
  dorm__jw_member_string(w, "AttributeName", attribute);
  dorm__jw_end_object(w);
  dorm__jw_end_object(w);
  cJSON *root;
  st = call_json(c, op, &root);
  if (st == DORM_OK) cJSON_Delete(root);
  return st;
}

static dorm_ttl_status ttl_status_from(const char *s) {
  static const char *const names[] = {"", "ENABLING", "DISABLING", "ENABLED", "DISABLED"};
  for (int v = DORM_TTL_ENABLING; v <= DORM_TTL_DISABLED; v++)
    if (strcmp(s, names[v]) == 0) return (dorm_ttl_status)v;
  return DORM_TTL_UNKNOWN;
}

static const char *dup_member(dorm_arena *a, const cJSON *obj, const char *name, bool *oom) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!cJSON_IsString(j)) return "";
  char *s = dorm_arena_strdup(a, j->valuestring);
  if (!s) *oom = true;
  return s ? s : "";
}

dorm_status dorm_describe_ttl(dorm_client *c, const char *table, dorm_arena *a, dorm_ttl_description *out) {
  static const char op[] = "DescribeTimeToLive";
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, op, a && out, "an arena and out are required");
  memset(out, 0, sizeof *out);
  out->status_text = out->attribute = "";
  dorm_status st = check_table(c, op, table);
  if (st != DORM_OK) return st;
  dorm_jw *w = dorm__ops_begin(c, table);
  dorm__jw_end_object(w);
  cJSON *root;
  st = call_json(c, op, &root);
  if (st != DORM_OK) return st;
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "TimeToLiveDescription");
  if (!cJSON_IsObject(d)) {
    cJSON_Delete(root);
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: no TimeToLiveDescription");
  }
  bool oom = false;
  out->status_text = dup_member(a, d, "TimeToLiveStatus", &oom);
  out->attribute = dup_member(a, d, "AttributeName", &oom);
  out->status = ttl_status_from(out->status_text);
  cJSON_Delete(root);
  if (oom) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  return DORM_OK;
}

/* ---- ListTables ---- */

/* Appends the TableNames of root to *names (arena array grown as needed). */
static dorm_status append_names(dorm_client *c, const char *op, const cJSON *root, dorm_arena *a,
                                const char ***names, size_t *count, size_t *cap) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "TableNames"), *e;
  if (arr && !cJSON_IsArray(arr))
    return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: TableNames is not an array");
  cJSON_ArrayForEach(e, arr) {
    if (!cJSON_IsString(e))
      return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, op, "response: a table name is not a string");
    if (*count == *cap) {
      size_t ncap = *cap ? *cap * 2 : 16;
      const char **grown = dorm_arena_realloc(a, (void *)*names, *cap * sizeof **names, ncap * sizeof **names);
      if (!grown) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
      *names = grown;
      *cap = ncap;
    }
    const char *s = dorm_arena_strdup(a, e->valuestring);
    if (!s) return dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
    (*names)[(*count)++] = s;
  }
  return DORM_OK;
}

static dorm_status list_page(dorm_client *c, const char *start, uint32_t limit, dorm_arena *a,
                             const char ***names, size_t *count, size_t *cap, const char **next) {
  static const char op[] = "ListTables";
  *next = NULL;
  OPS_REQUIRE(c, op, limit <= 100, "ListTables returns at most 100 names per page");
  dorm_jw *w = dorm__client_writer(c);
  dorm__jw_begin_object(w);
  if (start) dorm__jw_member_string(w, "ExclusiveStartTableName", start);
  if (limit) dorm__jw_member_int(w, "Limit", limit);
  dorm__jw_end_object(w);
  cJSON *root;
  dorm_status st = call_json(c, op, &root);
  if (st != DORM_OK) return st;
  st = append_names(c, op, root, a, names, count, cap);
  const cJSON *last = cJSON_GetObjectItemCaseSensitive(root, "LastEvaluatedTableName");
  if (st == DORM_OK && cJSON_IsString(last)) {
    *next = dorm_arena_strdup(a, last->valuestring);
    if (!*next) st = dorm__client_fail(c, DORM_ERR_NO_MEMORY, op, "out of memory");
  }
  cJSON_Delete(root);
  return st;
}

dorm_status dorm_list_tables_page(dorm_client *c, const char *start, uint32_t limit, dorm_arena *a,
                                  const char ***names, size_t *count, const char **next) {
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, "ListTables", a && names && count && next, "arena, names, count and next are required");
  *names = NULL;
  *count = 0;
  size_t cap = 0;
  return list_page(c, start, limit, a, names, count, &cap, next);
}

dorm_status dorm_list_tables(dorm_client *c, uint32_t page_limit, dorm_arena *a, const char ***names,
                             size_t *count) {
  dorm__client_clear_error(c);
  OPS_REQUIRE(c, "ListTables", a && names && count, "arena, names and count are required");
  *names = NULL;
  *count = 0;
  size_t cap = 0;
  const char *start = NULL;
  for (;;) {
    const char *next;
    size_t before = *count;
    dorm_status st = list_page(c, start, page_limit, a, names, count, &cap, &next);
    if (st != DORM_OK) return st;
    if (!next) return DORM_OK;
    /* A page that ends where it started would loop forever. */
    if (*count == before || (start && strcmp(start, next) == 0))
      return dorm__client_fail(c, DORM_ERR_BAD_RESPONSE, "ListTables",
                              "response: LastEvaluatedTableName %s does not advance", next);
    start = next;
  }
}
